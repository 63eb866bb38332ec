/* xrem run: X-REM from test images and an embedded corpus to generated reports. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "core/dist.h"
#include "xrem/run.h"

static const char *const run_known[] = {"--retrieval", "--itm", "--nli", "--images", "--corpus", "--out", "--reports",
                                        "--ids", "--k1", "--k2", "--k3", "--filter", "--batch", "--threads",
                                        "--bertscore-model", "--res-retrieval", "--res-itm", "--backend", NULL};
static const char *const run_flags[] = {"--no-itm", "--drop-empty-candidate", "--resume", NULL};

static void run_usage(FILE *f)
{
    fprintf(f, "usage: xrem run --retrieval R.h5 --itm I.h5 [--nli N.h5] --images cxr.h5 --corpus corpus.h5 --out RUN/\n"
               "                [--k1 50 --k2 10 --k3 2] [--filter nli|bertscore|none] [--no-itm]\n"
               "                [--drop-empty-candidate] [--reports test.csv] [--ids ids.csv] [--batch 4]\n"
               "                [--threads N] [--resume] [--bertscore-model M.h5]\n"
               "                [--res-retrieval 256] [--res-itm 384] " XREM_ARG_BACKEND_USAGE "\n");
}

int xrem_cmd_run(int argc, char **argv)
{
    if (argc < 2 || xrem_arg_flag(argc, argv, "--help")) {
        run_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (xrem_arg_check(argc, argv, "run", run_known, run_flags)) return 2;
    int ok = 1;
    int threads = (int)xrem_arg_int(argc, argv, "--threads", 0, 0, 1024, &ok);
    if (!ok) return 2;
    xrem_job_opts *o = NULL;
    int rc = xrem_arg_job_opts(argc, argv, "run", XREM_JOB_RUN, run_known, run_flags, &o);
    xrem_backend *be = NULL;
    if (!rc && xrem_arg_backend_create(argc, argv, "run", threads, &be)) rc = 1;
    xrem_progress progress = xrem_cli_progress("run");
    if (!rc) xrem_job_opts_set_progress(o, progress.fn, progress.user);
    if (!rc && xrem_job_run(o, be)) {
        if (xrem_dist_should_print()) fprintf(stderr, "xrem run: %s\n", xrem_last_error()); /* once under MPI */
        rc = 1;
    } else if (!rc && xrem_dist_rank() == 0) {
        fprintf(stderr, "xrem run: wrote %s/run.h5, reports.csv, pred.csv\n", xrem_arg_str(argc, argv, "--out"));
    }
    xrem_job_opts_free(o);
    xrem_backend_free(be);
    return rc;
}
