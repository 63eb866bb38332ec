/* xrem/eval.h — score generated chest X-ray reports against ground truth, as `xrem eval` does.
 *
 * One entry, xrem_eval_run, computes every metric the CLI offers (BLEU-2 as CXR-Report-Metric,
 * NLTK corpus BLEU and sacreBLEU, CheXbert label F1 from label files, the CheXbert model or the
 * rule-based labeler, CheXbert s_emb, BERTScore, RadCliQ) with bootstrap CIs and a paired test
 * against a second system. `xrem eval`, the Python package and this header call the same code, so
 * their numbers cannot disagree: every rule that decides a number (text cleaning, baselines, the
 * metric set a flag implies, resampling seeds) lives behind it.
 *
 *   #include <xrem/xrem.h>
 *
 *   int main(void)
 *   {
 *       const char *ids[] = {"1", "2"};
 *       const char *gt[] = {"No acute disease.", "Small left effusion."};
 *       const char *pred[] = {"No acute cardiopulmonary disease.", "Left effusion."};
 *       xrem_eval_opts *o = NULL;
 *       xrem_eval_table *g = NULL, *p = NULL;
 *       xrem_eval_result *r = NULL;
 *       double bleu2;
 *       if (xrem_eval_opts_create(&o) || xrem_eval_opts_set(o, "metrics", "bleu") ||
 *           xrem_eval_opts_set(o, "bootstrap", "200") ||
 *           xrem_eval_table_arrays("gt", 2, ids, gt, &g) ||
 *           xrem_eval_table_arrays("pred", 2, ids, pred, &p) ||
 *           xrem_eval_run(o, &(xrem_eval_inputs){.gt = g, .pred = p}, &r) ||
 *           xrem_eval_result_number(r, "bleu2.mean", &bleu2)) {
 *           fprintf(stderr, "eval: %s\n", xrem_last_error());
 *           return 1;
 *       }
 *       printf("BLEU-2 %.4f over %lld reports\n%s\n", bleu2, (long long)xrem_eval_result_rows(r),
 *              xrem_eval_result_signature(r));
 *       xrem_eval_result_free(r);
 *       xrem_eval_table_free(g);
 *       xrem_eval_table_free(p);
 *       xrem_eval_opts_free(o);
 *       return 0;
 *   }
 *
 * Options (xrem_eval_opts_set, keys are `xrem eval`'s long options without the dashes; every
 * value is a string, copied):
 *   metrics           comma-separated: bleu2, bleu, labels, chexbert, semb, bertscore, radcliq
 *                     (default: bleu, + labels with label files, + chexbert,semb with "chexbert",
 *                     + bertscore with "bertscore-model"); radcliq adds bleu2, semb, bertscore
 *   chexbert          CheXbert weights (.h5) for chexbert, semb and labels without label files
 *   bertscore-model   BERTScore encoder (.h5); bertscore-layer (default 5); bertscore-idf ("1"/"0")
 *   labels-gt, labels-pred   CheXbert label CSVs of the two sides (go together)
 *   labeler-dir       the rule-based labeler's phrase lists (labels with neither files nor model)
 *   backend           "cpu", "cuda", "cuda:N" (default cpu); threads (0: all cores)
 *   bootstrap         resamples for CIs and the paired test (default 1000; 0: none); seed (12345)
 *   pandas-na         "1": read empty and pandas NA strings as the text 'nan' (CXR-Report-Metric's
 *                     str(NaN)); pandas "1" or "2": whose NA list (default 1)
 *   id-col, text-col  column names (default study_id, report)
 *   allow-unmatched   "1": score the shared study ids when the id sets differ (default: error)
 * A bad value fails with XREM_ERR_ARG and a message that starts with the key. The cross-checks
 * (a metric without what it needs, label files without 'labels', ...) run in xrem_eval_opts_check,
 * which xrem_eval_run calls when the caller has not: XREM_ERR_ARG for a wrong combination,
 * XREM_ERR_UNSUPPORTED for a metric this build does not compute (radgraph).
 *
 * Inputs are tables of reports keyed by study id, read from a CSV file (xrem_eval_table_csv) or
 * given as arrays of strings (xrem_eval_table_new + xrem_eval_table_add_column, or
 * xrem_eval_table_arrays). Array tables follow the CSV rules exactly (their cells are the fields
 * of a CSV whose rows are numbered from 1 in messages): study ids are non-negative integers
 * written in decimal, a NULL cell is an empty field (pandas writes NaN so), text must be UTF-8.
 * A column "radgraph" (per-report RadGraph F1) in PRED or GT feeds radcliq.
 *
 * Progress: the library never prints. Notes ("392 shared study ids", model timings, the labeler
 * used) go to the callback set with xrem_eval_opts_set_progress, one line per call, without a
 * newline; XREM_EVAL_WARN marks a line the CLI sends to stderr.
 *
 * Ownership: every create/new has a free (NULL is fine for each free). The caller owns the opts,
 * tables and result it created; xrem_eval_run copies what it needs from opts and tables, so they
 * may be freed once it returns. Pointers returned by the result accessors (column data, names,
 * the signature) belong to the result and live until xrem_eval_result_free; text from
 * xrem_eval_result_format is the caller's, freed with xrem_eval_text_free. Handles are used from
 * one thread at a time; different handles may be used from different threads.
 */
#ifndef XREM_PUBLIC_EVAL_H
#define XREM_PUBLIC_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "xrem/backend.h"
#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xrem_eval_opts xrem_eval_opts;
typedef struct xrem_eval_table xrem_eval_table;
typedef struct xrem_eval_result xrem_eval_result;

/* --- options ------------------------------------------------------------------------------- */
typedef enum { XREM_EVAL_NOTE = 0, XREM_EVAL_WARN = 1 } xrem_eval_level;
/* One line of progress or information (no trailing newline); the text is valid during the call. */
typedef void (*xrem_eval_progress_fn)(void *user, xrem_eval_level level, const char *line);

/* Options with the defaults listed above. *o is the caller's: xrem_eval_opts_free. */
xrem_status xrem_eval_opts_create(xrem_eval_opts **o);
void xrem_eval_opts_free(xrem_eval_opts *o);
/* Set one option (value copied; NULL resets it to its default). */
xrem_status xrem_eval_opts_set(xrem_eval_opts *o, const char *key, const char *value);
void xrem_eval_opts_set_progress(xrem_eval_opts *o, xrem_eval_progress_fn fn, void *user);
/* Run the model metrics on be (borrowed: it must outlive every xrem_eval_run using o) instead of
 * creating the "backend" option's backend. NULL goes back to creating one. */
void xrem_eval_opts_use_backend(xrem_eval_opts *o, xrem_backend *be);
/* Resolve the metric set and check the options against each other (see above). Later changes to
 * o need another check. */
xrem_status xrem_eval_opts_check(xrem_eval_opts *o);
/* 1 when the checked options compute the metric `name` (one of xrem_eval_metric_names()). */
int xrem_eval_opts_has_metric(const xrem_eval_opts *o, const char *name);
/* The metric names "metrics" accepts, comma-separated (static string). */
const char *xrem_eval_metric_names(void);

/* --- inputs -------------------------------------------------------------------------------- */
/* A CSV file, read when xrem_eval_run runs (path copied). */
xrem_status xrem_eval_table_csv(const char *path, xrem_eval_table **t);
/* An empty in-memory table of nrows rows; name stands for a path in messages and summaries. */
xrem_status xrem_eval_table_new(const char *name, int64_t nrows, xrem_eval_table **t);
/* Add a column of nrows cells (copied; NULL cells are empty fields). Fails on a CSV table. */
xrem_status xrem_eval_table_add_column(xrem_eval_table *t, const char *col, const char *const *cells);
/* new + columns "study_id" and "report". */
xrem_status xrem_eval_table_arrays(const char *name, int64_t n, const char *const *study_id, const char *const *report,
                                   xrem_eval_table **t);
void xrem_eval_table_free(xrem_eval_table *t);

typedef struct {
    const xrem_eval_table *gt;     /* required */
    const xrem_eval_table *pred;   /* required */
    const xrem_eval_table *pred_b; /* optional: a second system, compared by paired bootstrap */
} xrem_eval_inputs;

/* --- the evaluation ------------------------------------------------------------------------- */
/* Read, match and score. *out is the caller's (xrem_eval_result_free); NULL on failure. */
xrem_status xrem_eval_run(const xrem_eval_opts *o, const xrem_eval_inputs *in, xrem_eval_result **out);
void xrem_eval_result_free(xrem_eval_result *r);

/* Scored study ids (rows of per_report.csv), in GT row order. */
int64_t xrem_eval_result_rows(const xrem_eval_result *r);
const int64_t *xrem_eval_result_study_ids(const xrem_eval_result *r);
/* Per-report columns after study_id, as per_report.csv has them ("empty", "bleu2", ...,
 * "gt:Cardiomegaly", ...). */
int xrem_eval_result_ncols(const xrem_eval_result *r);
const char *xrem_eval_result_col_name(const xrem_eval_result *r, int col);
/* The column's values as doubles ([rows]), or NULL when it is absent or not numeric (the "empty"
 * flag and the label columns are text). */
const double *xrem_eval_result_col_f64(const xrem_eval_result *r, const char *name);
/* A cell as per_report.csv writes it (copied into buf, NUL-terminated); returns buf. */
const char *xrem_eval_result_cell(const xrem_eval_result *r, int64_t row, int col, char *buf, size_t cap);
/* Every setting that changes a number, one line. */
const char *xrem_eval_result_signature(const xrem_eval_result *r);
/* A summary number by its summary.json path: "bleu2.mean", "bleu2.ci95.lo", "bleu2_b.mean",
 * "paired.diff", "paired.p_value", "nltk_corpus_bleu.bleu1".."bleu4", "sacrebleu.corpus",
 * "sacrebleu.sentence_mean", "bertscore.f1_mean", "bertscore.p_mean", "bertscore.r_mean",
 * "semb.mean", "radcliq_v0.mean", "radcliq_v1.mean" (each mean with .ci95.lo/.ci95.hi when
 * resampled), "labels.rrg_all14.micro.f1" (and macro, weighted; rrg_top5), "labels.accuracy_top5",
 * "labels.accuracy_all14", "labels.repair_macro_f1", "labels.repair_bootstrap10.mean",
 * "labels.repair_bootstrap10.half_width95". XREM_ERR_ARG when the metric was not computed. */
xrem_status xrem_eval_result_number(const xrem_eval_result *r, const char *key, double *v);

/* --- outputs ------------------------------------------------------------------------------- */
typedef enum {
    XREM_EVAL_PER_REPORT_CSV = 0, /* per_report.csv */
    XREM_EVAL_SUMMARY_JSON,       /* summary.json */
    XREM_EVAL_SUMMARY_MD,         /* summary.md */
    XREM_EVAL_SUMMARY_TEXT,       /* the lines `xrem eval` prints */
} xrem_eval_format;

/* The output as text (*text NUL-terminated, *len bytes; len may be NULL): xrem_eval_text_free. */
xrem_status xrem_eval_result_format(const xrem_eval_result *r, xrem_eval_format f, char **text, size_t *len);
void xrem_eval_text_free(char *text);
/* Before any work: dir can be made and none of its outputs would replace an input. */
xrem_status xrem_eval_check_outdir(const char *dir, const xrem_eval_opts *o, const xrem_eval_inputs *in);
/* dir/per_report.csv, summary.json, summary.md, made complete under temporary names and renamed
 * only when all three are written (an error leaves no new file behind). dir is created. */
xrem_status xrem_eval_result_write(const xrem_eval_result *r, const char *dir);

#ifdef __cplusplus
}
#endif
#endif
