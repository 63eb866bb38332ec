/* xrem embed: the report corpus as the reference builds it, tokenized and embedded with the
 * retrieval model's ITC text encoder, cached in corpus.h5 for `xrem run`. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "xrem/run.h"

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
    int ok = 1;
    int threads = (int)xrem_arg_int(argc, argv, "--threads", 0, 0, 1024, &ok);
    if (!ok) return 2;
    xrem_job_opts *o = NULL;
    int rc = xrem_arg_job_opts(argc, argv, "embed", XREM_JOB_EMBED, embed_known, NULL, &o);
    xrem_backend *be = NULL;
    if (!rc && xrem_arg_backend_create(argc, argv, "embed", threads, &be)) rc = 1;
    xrem_progress progress = xrem_cli_progress("embed");
    if (!rc) xrem_job_opts_set_progress(o, progress.fn, progress.user);
    if (!rc && xrem_job_run(o, be)) {
        fprintf(stderr, "xrem embed: %s\n", xrem_last_error());
        rc = 1;
    } else if (!rc) {
        int64_t n, na, dup;
        xrem_job_embed_counts(o, &n, &na, &dup);
        fprintf(stderr, "xrem embed: %lld reports (%lld empty/NaN and %lld duplicates dropped, as the reference does)\n",
                (long long)n, (long long)na, (long long)dup);
    }
    xrem_job_opts_free(o);
    xrem_backend_free(be);
    return rc;
}
