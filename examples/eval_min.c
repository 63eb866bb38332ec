/* eval_min: the smallest program against the installed libxrem (include/xrem/xrem.h).
 *
 *   cc -std=c11 eval_min.c $(pkg-config --cflags --libs xrem) -o eval_min
 *   ./eval_min GT.csv PRED.csv [METRICS]      # METRICS as `xrem eval --metrics`, default bleu
 *
 * Prints the number of scored reports, a few summary numbers as key=value (17 significant digits,
 * so they read back exactly) and the signature; tests/test_install_example.sh checks them against
 * `xrem eval` on the same files.
 */
#include <stdio.h>

#include <xrem/xrem.h>

static void on_note(void *user, xrem_eval_level level, const char *line)
{
    (void)user;
    fprintf(stderr, "%s%s\n", level == XREM_EVAL_WARN ? "warning: " : "", line);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: eval_min GT.csv PRED.csv [METRICS]\n");
        return 2;
    }
    xrem_eval_opts *o = NULL;
    xrem_eval_table *gt = NULL, *pred = NULL;
    xrem_eval_result *r = NULL;
    int rc = 1;
    if (xrem_eval_opts_create(&o) || xrem_eval_opts_set(o, "metrics", argc == 4 ? argv[3] : "bleu") ||
        xrem_eval_table_csv(argv[1], &gt) || xrem_eval_table_csv(argv[2], &pred))
        goto done;
    xrem_eval_opts_set_progress(o, on_note, NULL);
    xrem_eval_inputs in = {.gt = gt, .pred = pred};
    if (xrem_eval_run(o, &in, &r)) goto done;
    printf("xrem %s (%s)\nrows=%lld\n", xrem_version(), xrem_build_commit(), (long long)xrem_eval_result_rows(r));
    static const char *const keys[] = {"bleu2.mean",
                                       "bleu2.ci95.lo",
                                       "bleu2.ci95.hi",
                                       "nltk_corpus_bleu.bleu4",
                                       "sacrebleu.corpus",
                                       "sacrebleu.sentence_mean",
                                       "labels.rrg_all14.micro.f1",
                                       "labels.repair_macro_f1",
                                       NULL};
    for (int k = 0; keys[k]; k++) {
        double v;
        if (xrem_eval_result_number(r, keys[k], &v) == XREM_OK) printf("%s=%.17g\n", keys[k], v);
    }
    printf("signature=%s\n", xrem_eval_result_signature(r));
    rc = 0;
done:
    if (rc) fprintf(stderr, "eval_min: %s\n", xrem_last_error());
    xrem_eval_result_free(r);
    xrem_eval_table_free(gt);
    xrem_eval_table_free(pred);
    xrem_eval_opts_free(o);
    return rc;
}
