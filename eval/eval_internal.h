/* eval/eval_internal.h — what eval.c, eval_opts.c, eval_metrics.c and eval_write.c share behind
 * include/xrem/eval.h: the options, the result (the whole state of one evaluation) and the table
 * of metrics. Not installed; nothing outside eval/ includes it.
 */
#ifndef XREM_EVAL_INTERNAL_H
#define XREM_EVAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bleu.h"
#include "bootstrap.h"
#include "labels.h"
#include "reports.h"
#include "xrem/eval.h"

/* Metric bits (the --metrics names map onto these through the table in eval_metrics.c). */
enum {
    XREM_M_BLEU2 = 1,
    XREM_M_BLEU = 2,
    XREM_M_LABELS = 4,
    XREM_M_CHEXBERT = 8,
    XREM_M_SEMB = 16,
    XREM_M_RADCLIQ = 32,
    XREM_M_BERTSCORE = 64,
};

#define XREM_EVAL_RADGRAPH_COL "radgraph"
/* the default proxy encoder when bertscore has no model: all-MiniLM-L6-v2 as
 * scripts/fetch_assets.sh converts it (relative to the working directory, as the CLI always had it) */
#define XREM_EVAL_DEFAULT_PROXY "data/assets/minilm.h5"

struct xrem_eval_opts {
    char *labels_gt, *labels_pred, *id_col, *text_col, *metrics_arg, *chexbert, *backend, *labeler_dir;
    char *bertscore_model;
    int bs_layer, bs_idf, bs_layer_set;
    int allow_unmatched, pandas_na, pandas, B, threads;
    uint64_t seed;
    xrem_backend *be_user; /* borrowed */
    xrem_eval_progress_fn progress;
    void *progress_user;
    /* resolved by xrem_eval_opts_check */
    int checked;
    int metrics; /* XREM_M_* */
    int rule;    /* labels from the rule-based labeler (no label files, no CheXbert weights) */
};

/* Deep copy (strings duplicated); dst is cleared first. */
xrem_status xrem_eval__opts_copy(xrem_eval_opts *dst, const xrem_eval_opts *src);
void xrem_eval__opts_clear(xrem_eval_opts *o);

typedef enum { XREM_EVAL_COL_F64 = 0, XREM_EVAL_COL_LABEL, XREM_EVAL_COL_EMPTY } xrem_eval_col_kind;

typedef struct {
    char name[64];
    xrem_eval_col_kind kind;
    const double *f64;  /* [n] for F64 */
    const uint8_t *lab; /* [n,14] raw classes for LABEL; cond in 0..13 */
    int cond;
} xrem_eval_col;

struct xrem_eval_table {
    char *path; /* CSV file, or NULL */
    char *name; /* in-memory: how messages name it */
    int64_t n;  /* in-memory rows */
    int ncols;
    char **colname; /* [ncols] */
    char ***cells;  /* [ncols][n], NULL cells allowed */
};

/* One evaluation: options, inputs as read, and every number. */
struct xrem_eval_result {
    xrem_eval_opts o;
    xrem_reports *gt, *pred, *pb;
    int64_t n;                   /* shared ids */
    int64_t *rg, *rp, *rb;       /* [n] rows in gt, pred, pred-b; GT row order */
    int64_t *ids;                /* [n] study ids */
    const char **tg, **tp, **tb; /* [n] texts as scored */
    size_t *lg, *lp, *lb;
    double *bleu2, *bleu2_b, *sacre, *acc5; /* [n] per report (NULL when not computed) */
    xrem_bleu_stats nltk, sac;
    xrem_ci ci_bleu2, ci_bleu2_b;
    int have_ci, have_paired;
    xrem_paired_test paired;
    xrem_label_f1 lf;
    double repair_f1, repair_mean, repair_half, repair_scores[10];
    int64_t gt_empty, pred_empty, b_empty;
    /* CheXbert (labels without label files, semb) */
    uint8_t *lab[2]; /* [n,14] raw classes of GT and PRED from the model or the rule labeler */
    float *cls_emb;  /* [2n, C] [CLS] vectors between the CheXbert pass and semb */
    double *semb;    /* [n] */
    xrem_ci ci_semb;
    char chexbert_sig[96]; /* "chexbert:<sha256 of the source checkpoint>" */
    char rule_sig[96];     /* "rule:<sha256 of the phrase lists>" */
    int chexbert_C, chexbert_max_len;
    /* RadCliQ */
    double *radgraph;         /* [n] the user's column */
    const char *radgraph_src; /* the table it came from */
    double *bertscore;        /* [n] per-report BERTScore F1 (rescaled) */
    double bs_mean_p, bs_mean_r;
    xrem_ci ci_bertscore;
    char bs_sig[256];   /* model, layer, idf, baseline */
    double *radcliq[2]; /* [n] v0, v1 */
    xrem_ci ci_radcliq[2];
    double t_load, t_bleu2, t_bleu2_cpu, t_bleu, t_labels, t_boot, t_chexbert;
    xrem_backend *be; /* where the model metrics run */
    int be_owned;
    /* per-report columns after study_id, in per_report.csv's order */
    xrem_eval_col *cols;
    int ncols, cap_cols;
    char sig[1024];
};

/* --- the table of metrics (eval_metrics.c) ---------------------------------------------------- */
/* What a metric needs besides the two report columns. */
enum {
    XREM_NEED_CHEXBERT = 1,        /* the CheXbert model ("chexbert"): one pass over GT and PRED */
    XREM_NEED_BERTSCORE_MODEL = 2, /* a BERTScore encoder ("bertscore-model") */
    XREM_NEED_RADGRAPH_COL = 4,    /* a per-report "radgraph" column in PRED or GT */
    XREM_NEED_PRED_B = 8,          /* a second system */
    XREM_NEED_LABELS = 16,         /* labels: files, the CheXbert model or the rule labeler */
};

typedef struct {
    const char *name;                            /* as "metrics" names it; NULL: not selectable (on when `on` says) */
    int bit;                                     /* XREM_M_* it stands for (0 for unselectable rows) */
    int implies;                                 /* bits selecting it also sets */
    int needs;                                   /* XREM_NEED_* */
    const char *cols;                            /* per-report columns it adds, for the documentation ("" none) */
    int (*on)(const xrem_eval_result *r);        /* NULL: on when bit is in the metric set */
    xrem_status (*prepare)(xrem_eval_result *r); /* before any model runs (inputs present) */
    xrem_status (*compute)(xrem_eval_result *r); /* in table order */
    xrem_status (*columns)(xrem_eval_result *r); /* add its per-report columns */
    void (*sig)(const xrem_eval_result *r, char *b, size_t *k, size_t cap); /* its part of the signature */
} xrem_eval_metric;

extern const xrem_eval_metric xrem_eval_metrics[];
extern const int xrem_eval_nmetrics;

int xrem_eval__row_on(const xrem_eval_metric *m, const xrem_eval_result *r);
/* The CheXbert pass GT+PRED (labels when they come from the model, [CLS] vectors for semb). */
xrem_status xrem_eval__chexbert_pass(xrem_eval_result *r);
int xrem_eval__model_labels(const xrem_eval_opts *o);
int xrem_eval__need_chexbert(const xrem_eval_opts *o);

/* --- helpers ------------------------------------------------------------------------------------- */
void xrem_eval__note(const xrem_eval_result *r, xrem_eval_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void xrem_eval__opts_note(const xrem_eval_opts *o, xrem_eval_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
double xrem_eval__mean(const double *x, int64_t n);
double xrem_eval__now(void);
double xrem_eval__cpu(void);
xrem_status xrem_eval__add_col(xrem_eval_result *r, const char *name, xrem_eval_col_kind kind, const double *f64,
                               const uint8_t *lab, int cond);
/* appends printf output at b + *k (cap bytes in all), keeping *k the length it would have */
void xrem_eval__sigf(char *b, size_t *k, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* eval_write.c */
void xrem_eval__write_per_report(FILE *f, const xrem_eval_result *r);
void xrem_eval__write_json(FILE *f, const xrem_eval_result *r);
void xrem_eval__write_md(FILE *f, const xrem_eval_result *r);
void xrem_eval__write_text(FILE *f, const xrem_eval_result *r);

#endif
