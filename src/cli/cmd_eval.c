/* xrem eval: flag parsing and printing around xrem_eval_run (include/xrem/eval.h), which reads,
 * scores and writes: BLEU family, CheXbert label F1 from label files, the CheXbert model or the
 * rule-based labeler, CheXbert s_emb, BERTScore, RadCliQ, with bootstrap CIs and a paired test
 * against a second system. Nothing in this file decides a number.
 *
 * Everything is read and computed before anything is written; the three outputs are written to
 * temporary names in DIR and renamed only when all three are complete, so an error never leaves a
 * half-written file behind.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli/cmd_eval.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xrem/eval.h"
#include "xrem/status.h"

static void ev_usage(FILE *o)
{
    fprintf(o, "usage: xrem eval --gt GT.csv --pred PRED.csv --out DIR [options]\n"
               "\n"
               "Scores each PRED report against the GT report with the same study_id (CSV columns\n"
               "study_id and report, as CXR-Report-Metric reads them) and writes DIR/per_report.csv,\n"
               "DIR/summary.json and DIR/summary.md (DIR is created if missing).\n"
               "\n"
               "options:\n"
               "  --metrics LIST        comma-separated, default bleu (+ labels when label files are given,\n"
               "                        + chexbert,semb when --chexbert is given):\n"
               "                          bleu2   BLEU-2 per report as CXR-Report-Metric (fast_bleu 0.0.90)\n"
               "                          bleu    bleu2 + NLTK corpus BLEU-1..4 + sacreBLEU (13a) corpus/sentence\n"
               "                          labels  CheXbert label F1 (f1chexbert rrg mode; CXR-RePaiR macro F1),\n"
               "                                  labels from --labels-gt/--labels-pred, else from --chexbert\n"
               "                          chexbert  labels: GT and PRED labelled by the CheXbert model (--chexbert)\n"
               "                          bertscore  BERTScore F1 per report (bert_score 0.3.x; --bertscore-model;\n"
               "                                  rescaled with bert_score's baseline for distilroberta-base, else\n"
               "                                  with a proxy baseline from random GT pairs, named in the summary)\n"
               "                          semb    CheXbert s_emb: cosine of the GT and PRED reports' raw last-layer\n"
               "                                  [CLS] vectors, per report (CXR-Report-Metric)\n"
               "                          radcliq RadCliQ v0 and v1 per report (CXR-Report-Metric); needs a\n"
               "                                  'radgraph' column (per-report RadGraph F1) in PRED or GT, and\n"
               "                                  bertscore, semb and bleu2 (bleu2, semb, bertscore are added)\n"
               "  --bertscore-model M.h5  encoder for bertscore (scripts/convert_hf.py; distilroberta-base for\n"
               "                        the exact metric, any BERT-family model as a proxy)\n"
               "  --bertscore-layer L   hidden state after layer L (default 5, distilroberta-base's)\n"
               "  --bertscore-idf       idf weights over the GT reports (default off, as CXR-Report-Metric)\n"
               "  --labeler-dir DIR     phrase lists of the rule-based labeler (default data/labeler or\n"
               "                        $XREM_LABELER_DIR); it labels both sides when 'labels' has neither\n"
               "                        label files nor --chexbert\n"
               "  --labels-gt L.csv     CheXbert labels of the GT reports (study_id + the 14 conditions;\n"
               "  --labels-pred L.csv     values '', 1, 0, -1 as CheXbert's label.py writes them)\n"
               "  --chexbert W.h5       CheXbert weights (scripts/convert_chexbert.py) for chexbert, semb and\n"
               "                        labels without label files; per_report.csv then holds each side's 14\n"
               "                        labels (gt:<condition>, pred:<condition>: '', 1, 0, -1 as label files)\n"
               "  --threads N           CPU threads for the CheXbert model (default 0: all cores)\n"
               "  --backend cpu|cuda|cuda:N  where the CheXbert and BERTScore models run (default cpu)\n"
               "  --pred-b B.csv        a second system: per-report BLEU-2 and a paired bootstrap test B vs PRED\n"
               "  --bootstrap N         resamples for the CIs and the paired test (default 1000; 0: none)\n"
               "  --seed S              seed of every resampling (default 12345)\n"
               "  --allow-unmatched     score the shared study ids when the id sets differ (default: error)\n"
               "  --pandas-na           read empty and pandas NA strings ('NA', 'null', 'nan', ...) as the\n"
               "                        text 'nan', as CXR-Report-Metric's str(NaN) does (default: empty)\n"
               "  --pandas 1|2          whose NA strings --pandas-na uses (default 1, the reference's pandas\n"
               "                        1.x, which keeps 'None'; 2 also reads 'None' as NaN)\n"
               "  --id-col NAME         study id column (default study_id)\n"
               "  --text-col NAME       report column (default report)\n"
               "\n"
               "RadGraph is not computed: radcliq reads per-report RadGraph F1 from a 'radgraph' column.\n");
}

typedef struct {
    const char *gt, *pred, *pred_b, *out;
} ev_files;

static int ev_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "xrem eval: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(try 'xrem eval --help')\n");
    va_end(ap);
    return 2;
}

static int ev_fail(void)
{
    fprintf(stderr, "xrem eval: %s\n", xrem_last_error());
    return 1;
}

/* Notes from the library: indented lines continue the one before; warnings go to stderr. */
static void ev_progress(void *user, xrem_eval_level level, const char *line)
{
    (void)user;
    if (level == XREM_EVAL_WARN)
        fprintf(stderr, "xrem eval: %s\n", line);
    else
        printf("%s%s\n", line[0] == ' ' ? "" : "xrem eval: ", line);
}

/* options that take no value, and those whose value the library checks (xrem_eval_opts_set keys) */
static const char *const ev_flags[] = {"allow-unmatched", "pandas-na", "bertscore-idf", NULL};
static const char *const ev_keys[] = {
    "labels-gt", "labels-pred",     "id-col",  "text-col",  "metrics", "chexbert", "labeler-dir", "bertscore-model",
    "backend",   "bertscore-layer", "threads", "bootstrap", "seed",    "pandas",   NULL};

static int ev_in(const char *const *list, const char *name)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(list[i], name)) return 1;
    return 0;
}

/* Returns 0 to go on, -1 after --help, or an exit status. */
static int ev_parse(int argc, char **argv, ev_files *fl, xrem_eval_opts *o)
{
    memset(fl, 0, sizeof *fl);
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *val = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            ev_usage(stdout);
            return -1;
        }
        if (strncmp(a, "--", 2)) return ev_usage_error("unexpected argument '%s'", a);
        char name[64];
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof name) return ev_usage_error("unknown option '%s'", a);
        memcpy(name, a, nl);
        name[nl] = 0;
        const char *key = name + 2;
        if (ev_in(ev_flags, key)) {
            if (eq) return ev_usage_error("option %s takes no value", name);
            if (xrem_eval_opts_set(o, key, "1") != XREM_OK) return ev_fail();
            continue;
        }
        int file = !strcmp(key, "gt") || !strcmp(key, "pred") || !strcmp(key, "pred-b") || !strcmp(key, "out");
        if (!file && !ev_in(ev_keys, key)) return ev_usage_error("unknown option '%s'", name);
        if (eq)
            val = (char *)eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return ev_usage_error("option %s needs a value", name);
        if (!strcmp(key, "gt"))
            fl->gt = val;
        else if (!strcmp(key, "pred"))
            fl->pred = val;
        else if (!strcmp(key, "pred-b"))
            fl->pred_b = val;
        else if (!strcmp(key, "out"))
            fl->out = val;
        else if (xrem_eval_opts_set(o, key, val) != XREM_OK)
            return xrem_last_error()[0] && strncmp(xrem_last_error(), "out of memory", 13)
                       ? ev_usage_error("--%s", xrem_last_error())
                       : ev_fail();
        else if (!strcmp(key, "threads"))
            xrem_threads_set(atoi(val)); /* validated above; bounds the host-side loops too */
    }
    if (!fl->gt || !fl->pred || !fl->out) return ev_usage_error("--gt, --pred and --out are required");
    if (!*fl->out) return ev_usage_error("--out is empty");
    xrem_status st = xrem_eval_opts_check(o);
    if (st == XREM_ERR_ARG) return ev_usage_error("%s", xrem_last_error());
    if (st) return ev_fail();
    if (fl->pred_b && !xrem_eval_opts_has_metric(o, "bleu2"))
        return ev_usage_error("--pred-b compares BLEU-2: add bleu2 to --metrics");
    return 0;
}

static int ev_print_text(const xrem_eval_result *r)
{
    char *text = NULL;
    if (xrem_eval_result_format(r, XREM_EVAL_SUMMARY_TEXT, &text, NULL) != XREM_OK) return ev_fail();
    fputs(text, stdout);
    xrem_eval_text_free(text);
    return 0;
}

int xrem_cmd_eval(int argc, char **argv)
{
    ev_files fl;
    xrem_eval_opts *o = NULL;
    xrem_eval_table *t[3] = {NULL, NULL, NULL};
    xrem_eval_result *r = NULL;
    if (xrem_eval_opts_create(&o) != XREM_OK) return ev_fail();
    xrem_eval_opts_set_progress(o, ev_progress, NULL);
    int rc = ev_parse(argc, argv, &fl, o);
    if (rc) {
        rc = rc < 0 ? 0 : rc;
        goto done;
    }
    const char *paths[3] = {fl.gt, fl.pred, fl.pred_b};
    for (int k = 0; k < 3; k++)
        if (paths[k] && xrem_eval_table_csv(paths[k], &t[k]) != XREM_OK) {
            rc = ev_fail();
            goto done;
        }
    xrem_eval_inputs in = {.gt = t[0], .pred = t[1], .pred_b = t[2]};
    if (xrem_eval_check_outdir(fl.out, o, &in) != XREM_OK || xrem_eval_run(o, &in, &r) != XREM_OK) {
        rc = ev_fail();
        goto done;
    }
    if ((rc = ev_print_text(r)) != 0) goto done;
    if (xrem_eval_result_write(r, fl.out) != XREM_OK) {
        rc = ev_fail();
        goto done;
    }
    printf("  wrote %s/per_report.csv, %s/summary.json, %s/summary.md\n", fl.out, fl.out, fl.out);
    printf("  signature: %s\n", xrem_eval_result_signature(r));
done:
    xrem_eval_result_free(r);
    for (int k = 0; k < 3; k++)
        xrem_eval_table_free(t[k]);
    xrem_eval_opts_free(o);
    return rc;
}
