/* xrem embed: the report corpus as the reference builds it, tokenized and embedded with the
 * retrieval model's ITC text encoder, cached in corpus.h5 for `xrem run`. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "core/outpath.h"
#include "core/pandas_na.h"
#include "pipeline/corpus.h"

static const char *const embed_known[] = {"--weights", "--corpus", "--out", "--column", "--threads", "--batch",
                                          "--max-len", "--backend", "--pandas", NULL};

int xrem_cmd_embed(int argc, char **argv)
{
    if (argc < 2 || xrem_arg_flag(argc, argv, "--help")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: xrem embed --weights RETRIEVAL.h5 --corpus train_impressions.csv --out corpus.h5\n"
                "                  [--column report] [--max-len 25] [--batch 256] [--threads N]\n"
                "                  " XREM_ARG_BACKEND_USAGE " [--pandas 1|2]\n"
                "  --pandas 1|2  whose default NA strings are dropped from the corpus (default 1, the\n"
                "                reference's pandas 1.x, which keeps the report \"None\"; 2 drops it)\n");
        return argc < 2 ? 2 : 0;
    }
    if (xrem_arg_check(argc, argv, "embed", embed_known, NULL)) return 2;
    const char *w = xrem_arg_str(argc, argv, "--weights"), *in = xrem_arg_str(argc, argv, "--corpus");
    const char *out = xrem_arg_str(argc, argv, "--out"), *col = xrem_arg_str(argc, argv, "--column");
    int ok = 1;
    int threads = (int)xrem_arg_int(argc, argv, "--threads", 0, 0, 1024, &ok);
    int batch = (int)xrem_arg_int(argc, argv, "--batch", 256, 1, 65536, &ok);
    int max_len = (int)xrem_arg_int(argc, argv, "--max-len", 25, 2, 512, &ok);
    int pandas = (int)xrem_arg_int(argc, argv, "--pandas", XREM_PANDAS_DEFAULT, 1, 2, &ok);
    if (!ok) return 2;
    if (!w || !in || !out) {
        fprintf(stderr, "xrem embed: --weights, --corpus and --out are required\n");
        return 2;
    }
    xrem_backend *be = NULL;
    xrem_albef *m = NULL;
    xrem_corpus c = {0};
    if (xrem_out_not_input(NULL, out, (const char *const[]){w, in, NULL})) {
        fprintf(stderr, "xrem embed: %s\n", xrem_last_error());
        return 1;
    }
    if (xrem_arg_backend_create(argc, argv, "embed", threads, &be)) return 1;
    xrem_status s = xrem_albef_load(w, be, 0, &m);
    if (!s) s = xrem_corpus_read_csv(in, col ? col : "report", pandas, &c);
    if (!s)
        fprintf(stderr, "xrem embed: %lld reports (%lld empty/NaN and %lld duplicates dropped, as the reference does)\n",
                (long long)c.n, (long long)c.dropped_na, (long long)c.dropped_dup);
    xrem_progress progress = xrem_cli_progress("embed");
    if (!s) s = xrem_corpus_embed(&c, m, max_len, batch, in, out, &progress);
    if (s) fprintf(stderr, "xrem embed: %s\n", xrem_last_error());
    xrem_corpus_release(&c);
    xrem_albef_free(m);
    xrem_backend_free(be);
    return s ? 1 : 0;
}
