/* xrem sweep: metrics for many (K1, K2, K3) settings from one run's cached scores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "pipeline/filters.h"
#include "pipeline/sweep.h"

/* "10,25,50" -> values; returns count or -1 (not a list of 1..4096, or more than cap values) */
static int parse_list(const char *s, int *v, int cap)
{
    int n = 0;
    while (s && *s && n < cap) {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s || x < 1 || x > 4096) return -1;
        v[n++] = (int)x;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return s && *s ? -1 : n;
}

static int paper_preset(xrem_sweep_setting *st)
{
    /* the paper's ablation rows (X-REM README): X-REM, no ITM, no filter, BERTScore filter */
    st[0] = (xrem_sweep_setting){50, 10, 2, 1, 1, "xrem_50_10_2_nli"};
    st[1] = (xrem_sweep_setting){2, 0, 0, 0, 0, "no_itm_cosine_top2"};
    st[2] = (xrem_sweep_setting){50, 1, 1, 1, 0, "no_filter_itm_top1"};
    st[3] = (xrem_sweep_setting){50, 10, 3, 1, 2, "bertscore_filter_50_10_3"};
    return 4;
}

static const char *const sweep_known[] = {"--run", "--k1", "--k2", "--k3", "--gt", "--nli", "--out", "--preset",
                                          "--threads", "--bertscore-model", "--backend", NULL};

int xrem_cmd_sweep(int argc, char **argv)
{
    if (argc < 2 || xrem_arg_flag(argc, argv, "--help")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: xrem sweep --run RUN/ [--k1 10,25,50 --k2 1,5,10 --k3 1,2,3] [--preset paper]\n"
                "                  [--gt GT.csv] [--nli NLI.h5] [--bertscore-model M.h5] [--out RUN/sweep] [--threads N]\n"
                "                  " XREM_ARG_BACKEND_USAGE " (where the NLI and BERTScore filters re-decide)\n");
        return argc < 2 ? 2 : 0;
    }
    if (xrem_arg_check(argc, argv, "sweep", sweep_known, NULL)) return 2;
    const char *run = xrem_arg_str(argc, argv, "--run"), *preset = xrem_arg_str(argc, argv, "--preset");
    int k1[64], k2[64], k3[64], n1, n2, n3, ok = 1;
    int threads = (int)xrem_arg_int(argc, argv, "--threads", 0, 0, 1024, &ok);
    n1 = parse_list(xrem_arg_str(argc, argv, "--k1") ? xrem_arg_str(argc, argv, "--k1") : "10,25,50", k1, 64);
    n2 = parse_list(xrem_arg_str(argc, argv, "--k2") ? xrem_arg_str(argc, argv, "--k2") : "1,5,10", k2, 64);
    n3 = parse_list(xrem_arg_str(argc, argv, "--k3") ? xrem_arg_str(argc, argv, "--k3") : "1,2,3", k3, 64);
    if (!run || n1 < 1 || n2 < 1 || n3 < 1 || !ok || (preset && strcmp(preset, "paper"))) {
        fprintf(stderr, "xrem sweep: --run is required; --k1/--k2/--k3 are comma lists of at most 64 values in "
                        "1..4096; --preset paper\n");
        return 2;
    }
    xrem_sweep_setting st[8];
    const int n = preset ? paper_preset(st) : 0;
    char out[4096];
    snprintf(out, sizeof out, "%s", xrem_arg_str(argc, argv, "--out") ? xrem_arg_str(argc, argv, "--out") : "");
    if (!*out) snprintf(out, sizeof out, "%s/sweep", run);
    xrem_backend *be = NULL;
    if (xrem_arg_backend_create(argc, argv, "sweep", threads, &be)) return 1;
    xrem_filter *f = NULL, *fbs = NULL;
    const char *bsm = xrem_arg_str(argc, argv, "--bertscore-model");
    const char *nli = xrem_arg_str(argc, argv, "--nli");
    xrem_status s = XREM_OK;
    if (nli) s = xrem_filter_create("nli", nli, be, &f);
    if (!s && bsm) s = xrem_bertscore_filter_create(bsm, 5, be, &fbs);
    xrem_sweep_config c = {.run_dir = run,
                           .out = out,
                           .gt = xrem_arg_str(argc, argv, "--gt"),
                           .settings = preset ? st : NULL,
                           .nsettings = n,
                           .filter = f,
                           .filter_bs = fbs,
                           .grid_k1 = k1,
                           .grid_k2 = k2,
                           .grid_k3 = k3,
                           .n1 = n1,
                           .n2 = n2,
                           .n3 = n3,
                           .inputs = (const char *const[]){nli ? nli : "", bsm ? bsm : "", NULL}};
    xrem_progress progress = xrem_cli_progress("sweep");
    c.progress = &progress;
    xrem_sweep_summary sum = {0, 0, 0};
    if (!s) s = xrem_sweep(&c, &sum);
    if (s) fprintf(stderr, "xrem sweep: %s\n", xrem_last_error());
    else {
        fprintf(stderr, "xrem sweep: %d settings", sum.computed);
        if (sum.skipped) fprintf(stderr, " (%d skipped: no filter model for them)", sum.skipped);
        if (sum.left_out) fprintf(stderr, " (%d grid points left out: K2 above that K1's candidates)", sum.left_out);
        fprintf(stderr, " -> %s/table.csv, table.md, preds/\n", out);
        char cmd[8400];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1 && /usr/bin/python3 scripts/plot_sweep.py "
                 "'%s/table.csv' '%s/sweep.png' >/dev/null 2>&1",
                 out, out);
        if (access("scripts/plot_sweep.py", R_OK) == 0 && system(cmd) == 0)
            fprintf(stderr, "xrem sweep: plot %s/sweep.png\n", out);
        else
            fprintf(stderr, "xrem sweep: for the plot run /usr/bin/python3 scripts/plot_sweep.py %s/table.csv "
                            "%s/sweep.png (needs matplotlib)\n",
                    out, out);
    }
    xrem_filter_free(f);
    xrem_filter_free(fbs);
    xrem_backend_free(be);
    return s ? 1 : 0;
}
