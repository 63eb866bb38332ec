/* xrem run: X-REM from test images and an embedded corpus to generated reports. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "core/dist.h"
#include "pipeline/filters.h"
#include "pipeline/run.h"

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
    xrem_run_config c = {0};
    c.retrieval = xrem_arg_str(argc, argv, "--retrieval");
    c.itm = xrem_arg_str(argc, argv, "--itm");
    c.images = xrem_arg_str(argc, argv, "--images");
    c.corpus = xrem_arg_str(argc, argv, "--corpus");
    c.out = xrem_arg_str(argc, argv, "--out");
    c.reports = xrem_arg_str(argc, argv, "--reports");
    c.ids = xrem_arg_str(argc, argv, "--ids");
    c.use_itm = !xrem_arg_flag(argc, argv, "--no-itm");
    c.drop_empty = xrem_arg_flag(argc, argv, "--drop-empty-candidate");
    c.resume = xrem_arg_flag(argc, argv, "--resume");
    const char *filter = xrem_arg_str(argc, argv, "--filter");
    if (!filter) filter = c.use_itm ? "nli" : "none";
    const int is_bs = !strcmp(filter, "bertscore");
    c.k1 = (int)xrem_arg_int(argc, argv, "--k1", c.use_itm ? 50 : 2, 0, 1 << 20, &ok);
    c.k2 = (int)xrem_arg_int(argc, argv, "--k2", 10, 0, 1 << 20, &ok);
    c.k3 = (int)xrem_arg_int(argc, argv, "--k3", is_bs ? 3 : 2, 0, 1 << 20, &ok);
    c.batch = (int)xrem_arg_int(argc, argv, "--batch", 4, 1, 4096, &ok);
    c.threads = (int)xrem_arg_int(argc, argv, "--threads", 0, 0, 1024, &ok);
    c.res_retrieval = (int)xrem_arg_int(argc, argv, "--res-retrieval", 256, 16, 8192, &ok);
    c.res_itm = (int)xrem_arg_int(argc, argv, "--res-itm", 384, 16, 8192, &ok);
    if (!ok) return 2;
    if (!c.retrieval || !c.images || !c.corpus || !c.out || (c.use_itm && !c.itm)) {
        fprintf(stderr, "xrem run: --retrieval, --images, --corpus, --out (and --itm unless --no-itm) are required\n");
        return 2;
    }
    if (!c.use_itm && strcmp(filter, "none")) {
        fprintf(stderr, "xrem run: --no-itm runs the cosine ablation (top-K1 joined with a space): use --filter none\n");
        return 2;
    }
    xrem_backend *be = NULL;
    xrem_filter *f = NULL;
    if (xrem_arg_backend_create(argc, argv, "run", c.threads, &be)) return 1;
    xrem_status s = XREM_OK;
    if (is_bs) s = xrem_bertscore_filter_create(xrem_arg_str(argc, argv, "--bertscore-model"), 5, be, &f);
    else if (!s && strcmp(filter, "none")) s = xrem_filter_create(filter, xrem_arg_str(argc, argv, "--nli"), be, &f);
    c.filter = f;
    xrem_progress progress = xrem_cli_progress("run");
    c.progress = &progress;
    if (!s) s = xrem_run(&c, be);
    if (s && xrem_dist_should_print()) fprintf(stderr, "xrem run: %s\n", xrem_last_error());
    else if (!s && xrem_dist_rank() == 0) fprintf(stderr, "xrem run: wrote %s/run.h5, reports.csv, pred.csv\n", c.out);
    xrem_filter_free(f);
    xrem_backend_free(be);
    return s ? 1 : 0;
}
