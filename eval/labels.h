/* eval/labels.h — CheXbert label F1, as f1chexbert 0.0.2 ("rrg" mode) and CXR-RePaiR compute it.
 *
 * Input encoding (the library API): [n,14] uint8 matrices of CheXbert's raw head classes,
 *     0 = blank (not mentioned), 1 = positive, 2 = negative, 3 = uncertain,
 * conditions in CheXbert order (xrem_chexbert_conditions). Label CSV files (xrem_labels_load)
 * use CheXbert label.py's written convention instead: "" blank, 1 positive, 0 negative,
 * -1 uncertain ("1.0", "0.0", "-1.0" too); they are converted to the raw classes on load.
 *
 * f1chexbert "rrg" mode (xrem_labels_f1_rrg): positive or uncertain -> 1, blank or negative -> 0;
 * then sklearn.metrics.classification_report on the 14 conditions and on the top 5
 * (Cardiomegaly, Edema, Consolidation, Atelectasis, Pleural Effusion): per-condition precision,
 * recall, F1 and support; micro, macro, weighted and samples averages; and accuracy_score on the
 * top 5 (a report counts when all 5 agree), which f1chexbert returns as "accuracy".
 * CXR-RePaiR mode (xrem_labels_f1_repair): uncertain -> 0 (blank -> 0 by fillna(0)), so only
 * positive -> 1; sklearn f1_score(average='macro') over the 14 conditions.
 *
 * Zero division: f1chexbert calls classification_report and CXR-RePaiR f1_score with sklearn's
 * default zero_division="warn", which yields 0.0 (with a warning). So: precision = 0 when nothing
 * is predicted, recall = 0 when nothing is true, F1 = 2tp/(2tp+fp+fn) = 0 when both are empty
 * (sklearn >= 1.3 computes F1 this way, not from P and R). Weighted averages with zero total
 * support fall back to the plain mean (as sklearn's _nanaverage does). Means are summed in
 * numpy's pairwise order so the numbers match sklearn to the last bit where possible.
 *
 *   uint8_t *gt, *pred;   // [n,14]
 *   xrem_label_f1 f;
 *   xrem_labels_f1_rrg(gt, pred, n, &f);
 *   printf("micro-F1 (14) %.4f, macro-F1 (5) %.4f\n", f.all.micro.f1, f.top5.macro.f1);
 */
#ifndef XREM_EVAL_LABELS_H
#define XREM_EVAL_LABELS_H

#include <stdint.h>

#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XREM_NCOND 14
#define XREM_NTOP5 5

enum { XREM_LBL_BLANK = 0, XREM_LBL_POS = 1, XREM_LBL_NEG = 2, XREM_LBL_UNC = 3 };

extern const char *const xrem_chexbert_conditions[XREM_NCOND];
extern const int xrem_chexbert_top5[XREM_NTOP5]; /* {1, 4, 5, 7, 9} */

typedef struct {
    double precision, recall, f1;
    int64_t support; /* true positives + false negatives (rows labelled 1 in GT) */
} xrem_prf;

typedef struct {
    int ncond;                  /* 14 or 5 */
    xrem_prf cond[XREM_NCOND];  /* per condition, in the subset's order */
    xrem_prf micro, macro, weighted, samples;
} xrem_label_report;

typedef struct {
    int64_t n;              /* reports */
    xrem_label_report all;  /* the 14 conditions */
    xrem_label_report top5; /* the 5 */
    double accuracy5;       /* f1chexbert's accuracy: exact match over the top 5 */
    double accuracy14;      /* exact match over all 14 (not in f1chexbert; for reference) */
} xrem_label_f1;

/* f1chexbert rrg mode over [n,14] raw classes. Values outside 0..3 fail (XREM_ERR_VALUE). */
xrem_status xrem_labels_f1_rrg(const uint8_t *gt, const uint8_t *pred, int64_t n, xrem_label_f1 *out);

/* CXR-RePaiR macro F1 over the rows idx[0..m) (with repetition, as a bootstrap sample); idx NULL
 * means all n rows in order. */
xrem_status xrem_labels_f1_repair(const uint8_t *gt, const uint8_t *pred, int64_t n, const int64_t *idx, int64_t m,
                                  double *macro_f1);

/* Per-report agreement over the top 5 in rrg mode: ok[i] = 1 when all 5 binarised labels agree
 * (f1chexbert's per-example accuracy). */
xrem_status xrem_labels_example_acc5(const uint8_t *gt, const uint8_t *pred, int64_t n, double *ok);

/* CXR-RePaiR's interval: R bootstrap resamples of the n rows (indices from xrem_rng seeded with
 * seed, or the caller's idx[R*n] when not NULL), the macro F1 of each (scores[R] if not NULL),
 * their mean and the half-width t(0.975, R-1) * sd / sqrt(R) (scipy's st.t.interval(0.95, df=R-1,
 * loc=mean, scale=st.sem(scores))). 2 <= R <= 31. When all R scores are equal the half-width is 0
 * (scipy returns nan there, because scale 0 is outside its domain). */
xrem_status xrem_labels_repair_interval(const uint8_t *gt, const uint8_t *pred, int64_t n, int R, uint64_t seed,
                                        const int64_t *idx, double *scores, double *mean, double *half);

/* A label CSV: study_id plus the 14 condition columns (CheXbert names), CheXbert label.py values.
 * Refuses, naming file, row, line and field: missing columns, bad or duplicate study ids, values
 * other than "", 1, 0, -1 (and their ".0" forms). */
typedef struct {
    char *path;
    int64_t n;
    int64_t *id;    /* [n] */
    int64_t *by_id; /* [n] rows sorted by id */
    int64_t *line;  /* [n] */
    uint8_t *lab;   /* [n,14] raw classes */
} xrem_label_table;

xrem_status xrem_labels_load(const char *path, xrem_label_table **out);
void xrem_labels_free(xrem_label_table *t);

#ifdef __cplusplus
}
#endif
#endif
