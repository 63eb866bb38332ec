/* eval/reports.h — a `study_id,report` CSV as a table, and GT/PRED matching by study id.
 *
 * The CSV layout is CXR-Report-Metric's: a column `study_id` (non-negative integers) and a
 * column `report`; other columns are ignored. Loading refuses, naming file, row, line and field:
 * a missing column, a study id that is not a non-negative decimal integer (digits only, at most
 * 18 of them; "007" reads as 7, so it matches 7 as pandas' integer column would), and a study id
 * given twice (both rows named). An empty report (no characters other than spaces, tabs, CR and
 * LF) is allowed; such reports are counted (n_empty) so callers can say so.
 *
 *   xrem_reports *gt, *pred;
 *   xrem_reports_load("gt.csv", NULL, NULL, &gt);      // NULL: the default column names
 *   xrem_reports_load("pred.csv", NULL, NULL, &pred);
 *   xrem_report_match m;
 *   xrem_reports_match(gt, pred, &m);                  // m.n shared ids, in GT row order
 *   for (int64_t i = 0; i < m.n; i++) score(gt->text[m.gt[i]], pred->text[m.pred[i]]);
 *   xrem_report_match_free(&m);
 *   xrem_reports_free(gt); xrem_reports_free(pred);
 */
#ifndef XREM_EVAL_REPORTS_H
#define XREM_EVAL_REPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/csv.h"
#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XREM_REPORTS_ID_COL "study_id"
#define XREM_REPORTS_TEXT_COL "report"

typedef struct {
    char *path;        /* as given to load */
    int64_t n;         /* rows */
    int64_t *id;       /* [n] study ids */
    const char **text; /* [n] report text: NUL-terminated valid UTF-8, owned by csv */
    size_t *len;       /* [n] bytes */
    int64_t *line;     /* [n] physical line where each row starts */
    int64_t *by_id;    /* [n] row indices sorted by id */
    int64_t n_empty;   /* reports that are empty or whitespace only */
    xrem_csv *csv;
} xrem_reports;

/* Load a reports CSV. id_col / text_col may be NULL for "study_id" / "report".
 * *out is owned by the caller: xrem_reports_free. */
xrem_status xrem_reports_load(const char *path, const char *id_col, const char *text_col, xrem_reports **out);
/* The same from len bytes of CSV text (copied); name stands for the path in messages. */
xrem_status xrem_reports_parse(const char *name, const char *data, size_t len, const char *id_col, const char *text_col,
                               xrem_reports **out);
void xrem_reports_free(xrem_reports *r);

/* 1 if s[0..n) is a non-negative decimal integer of 1..18 digits (stored in *v), else 0. */
int xrem_study_id_parse(const char *s, size_t n, int64_t *v);

/* 1 if the text has no character other than ' ', '\t', '\r', '\n'. */
int xrem_report_is_empty(const char *s, size_t n);

/* Rows with equal study ids in two tables. All arrays malloc'd; xrem_report_match_free. */
typedef struct {
    int64_t n;           /* shared ids */
    int64_t *gt, *pred;  /* [n] row indices into each table, in GT row order */
    int64_t n_gt_only;   /* GT ids absent from PRED */
    int64_t *gt_only;    /* [n_gt_only] GT row indices, in row order */
    int64_t n_pred_only; /* PRED ids absent from GT */
    int64_t *pred_only;  /* [n_pred_only] PRED row indices, in row order */
} xrem_report_match;

xrem_status xrem_reports_match(const xrem_reports *gt, const xrem_reports *pred, xrem_report_match *m);
/* Ids shared by every one of k tables (k >= 1), rows given per table in the first table's row
 * order: rows[t][i] is the row of shared id i in table t; rows[t] is malloc'd (free each). */
xrem_status xrem_ids_intersect(const int64_t *const *ids, const int64_t *const *by_id, const int64_t *n, int k,
                               int64_t **rows, int64_t *n_shared);
void xrem_report_match_free(xrem_report_match *m);

/* Sort rows [0,n) by (id, row); out[n] receives the order. Used for tables keyed by study id. */
void xrem_ids_sort(const int64_t *id, int64_t n, int64_t *out);
/* Row whose id is key, given rows sorted by id (by_id); -1 when absent. */
int64_t xrem_ids_find(const int64_t *id, const int64_t *by_id, int64_t n, int64_t key);
/* After sorting: the first duplicate (smallest second row). Returns 1 and the two rows (a < b)
 * if some id appears twice, else 0. */
int xrem_ids_first_duplicate(const int64_t *id, const int64_t *by_id, int64_t n, int64_t *a, int64_t *b);

#ifdef __cplusplus
}
#endif
#endif
