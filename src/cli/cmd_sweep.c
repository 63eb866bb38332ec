/* xrem sweep: metrics for many (K1, K2, K3) settings from one run's cached scores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "xrem/run.h"

static const char *const sweep_known[] = {"--run",     "--k1",  "--k2",     "--k3",      "--gt",
                                          "--nli",     "--out", "--preset", "--threads", "--bertscore-model",
                                          "--backend", NULL};

/* The plot, when this is the source tree and Debian's Python has matplotlib (the CLI's convenience;
 * the library never shells out). Paths with a quote are not put on a shell line. */
static void sweep_plot(const char *out)
{
    char cmd[8400];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1 && /usr/bin/python3 scripts/plot_sweep.py "
             "'%s/table.csv' '%s/sweep.png' >/dev/null 2>&1",
             out, out);
    if (!strchr(out, '\'') && access("scripts/plot_sweep.py", R_OK) == 0 && system(cmd) == 0)
        fprintf(stderr, "xrem sweep: plot %s/sweep.png\n", out);
    else
        fprintf(stderr,
                "xrem sweep: for the plot run /usr/bin/python3 scripts/plot_sweep.py %s/table.csv %s/sweep.png "
                "(needs matplotlib)\n",
                out, out);
}

int xrem_cmd_sweep(int argc, char **argv)
{
    if (argc < 2 || xrem_arg_flag(argc, argv, "--help")) {
        fprintf(
            argc < 2 ? stderr : stdout,
            "usage: xrem sweep --run RUN/ [--k1 10,25,50 --k2 1,5,10 --k3 1,2,3] [--preset paper]\n"
            "                  [--gt GT.csv] [--nli NLI.h5] [--bertscore-model M.h5] [--out RUN/sweep] [--threads N]\n"
            "                  " XREM_ARG_BACKEND_USAGE " (where the NLI and BERTScore filters re-decide)\n");
        return argc < 2 ? 2 : 0;
    }
    if (xrem_arg_check(argc, argv, "sweep", sweep_known, NULL)) return 2;
    int ok = 1;
    int threads = (int)xrem_arg_int(argc, argv, "--threads", 0, 0, 1024, &ok);
    if (!ok) return 2;
    xrem_job_opts *o = NULL;
    int rc = xrem_arg_job_opts(argc, argv, "sweep", XREM_JOB_SWEEP, sweep_known, NULL, &o);
    xrem_backend *be = NULL;
    if (!rc && xrem_arg_backend_create(argc, argv, "sweep", threads, &be)) rc = 1;
    xrem_progress progress = xrem_cli_progress("sweep");
    if (!rc) xrem_job_opts_set_progress(o, progress.fn, progress.user);
    if (!rc && xrem_job_run(o, be)) {
        fprintf(stderr, "xrem sweep: %s\n", xrem_last_error());
        rc = 1;
    } else if (!rc) {
        int done, skipped, left_out;
        xrem_job_sweep_counts(o, &done, &skipped, &left_out);
        const char *out = xrem_job_out(o);
        fprintf(stderr, "xrem sweep: %d settings", done);
        if (skipped) fprintf(stderr, " (%d skipped: no filter model for them)", skipped);
        if (left_out) fprintf(stderr, " (%d grid points left out: K2 above that K1's candidates)", left_out);
        fprintf(stderr, " -> %s/table.csv, table.md, preds/\n", out);
        sweep_plot(out);
    }
    xrem_job_opts_free(o);
    xrem_backend_free(be);
    return rc;
}
