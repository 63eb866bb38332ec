/* xrem_eval_run: read and match the reports, run the table of metrics, keep the result (see
 * include/xrem/eval.h). Everything is computed here; nothing is printed (notes go to the
 * caller's progress callback) and nothing is written (eval_write.c writes). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "core/pandas_na.h"
#include "eval_internal.h"
#include "npsum.h"
#include "xrem/xrem.h"

#define EV_SHOW_IDS 10 /* unmatched ids listed in the note */

/* --- helpers ---------------------------------------------------------------------------------------- */
double xrem_eval__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double xrem_eval__cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double xrem_eval__mean(const double *x, int64_t n)
{
    return n > 0 ? xrem_np_sum(x, n) / (double)n : NAN;
}

void xrem_eval__sigf(char *b, size_t *k, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b + (*k < cap ? *k : cap), *k < cap ? cap - *k : 0, fmt, ap);
    va_end(ap);
    if (w > 0) *k += (size_t)w;
}

void xrem_eval__note(const xrem_eval_result *r, xrem_eval_level level, const char *fmt, ...)
{
    if (!r->o.progress) return;
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->o.progress(r->o.progress_user, level, line);
}

xrem_status xrem_eval__add_col(xrem_eval_result *r, const char *name, xrem_eval_col_kind kind, const double *f64,
                               const uint8_t *lab, int cond)
{
    if (r->ncols == r->cap_cols) {
        int cap = r->cap_cols ? 2 * r->cap_cols : 16;
        xrem_eval_col *c = realloc(r->cols, sizeof *c * (size_t)cap);
        if (!c) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
        r->cols = c;
        r->cap_cols = cap;
    }
    xrem_eval_col *c = &r->cols[r->ncols++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->kind = kind;
    c->f64 = f64;
    c->lab = lab;
    c->cond = cond;
    return XREM_OK;
}

/* --- tables ------------------------------------------------------------------------------------------- */
xrem_status xrem_eval_table_csv(const char *path, xrem_eval_table **t)
{
    if (!t) return xrem_fail(XREM_ERR_ARG, "xrem_eval_table_csv: out is NULL");
    *t = NULL;
    if (!path) return xrem_fail(XREM_ERR_ARG, "xrem_eval_table_csv: path is NULL");
    xrem_eval_table *x = calloc(1, sizeof *x);
    if (!x || !(x->path = strdup(path))) {
        free(x);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    *t = x;
    return XREM_OK;
}

xrem_status xrem_eval_table_new(const char *name, int64_t nrows, xrem_eval_table **t)
{
    if (!t) return xrem_fail(XREM_ERR_ARG, "xrem_eval_table_new: out is NULL");
    *t = NULL;
    if (nrows < 0 || (uint64_t)nrows > SIZE_MAX / sizeof(char *))
        return xrem_fail(XREM_ERR_ARG, "xrem_eval_table_new: %" PRId64 " rows", nrows);
    xrem_eval_table *x = calloc(1, sizeof *x);
    if (!x || !(x->name = strdup(name ? name : "<memory>"))) {
        free(x);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    x->n = nrows;
    *t = x;
    return XREM_OK;
}

xrem_status xrem_eval_table_add_column(xrem_eval_table *t, const char *col, const char *const *cells)
{
    if (!t || !col || (!cells && t->n > 0)) return xrem_fail(XREM_ERR_ARG, "xrem_eval_table_add_column: NULL argument");
    if (t->path) return xrem_fail(XREM_ERR_ARG, "%s: a CSV table's columns come from the file", t->path);
    char **names = realloc(t->colname, sizeof *names * (size_t)(t->ncols + 1));
    if (!names) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    t->colname = names;
    char ***cells2 = realloc(t->cells, sizeof *cells2 * (size_t)(t->ncols + 1));
    if (!cells2) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    t->cells = cells2;
    char **c = calloc((size_t)t->n + 1, sizeof *c);
    char *nm = strdup(col);
    int bad = !c || !nm;
    for (int64_t i = 0; i < t->n && !bad; i++)
        if (cells[i] && !(c[i] = strdup(cells[i]))) bad = 1;
    if (bad) {
        for (int64_t i = 0; c && i < t->n; i++)
            free(c[i]);
        free(c);
        free(nm);
        return xrem_fail(XREM_ERR_NOMEM, "%s: out of memory for column '%s'", t->name, col);
    }
    t->colname[t->ncols] = nm;
    t->cells[t->ncols] = c;
    t->ncols++;
    return XREM_OK;
}

xrem_status xrem_eval_table_arrays(const char *name, int64_t n, const char *const *study_id, const char *const *report,
                                   xrem_eval_table **t)
{
    xrem_status st = xrem_eval_table_new(name, n, t);
    if (!st) st = xrem_eval_table_add_column(*t, XREM_REPORTS_ID_COL, study_id);
    if (!st) st = xrem_eval_table_add_column(*t, XREM_REPORTS_TEXT_COL, report);
    if (st) {
        xrem_eval_table_free(*t);
        *t = NULL;
    }
    return st;
}

void xrem_eval_table_free(xrem_eval_table *t)
{
    if (!t) return;
    for (int c = 0; c < t->ncols; c++) {
        for (int64_t i = 0; i < t->n; i++)
            free(t->cells[c][i]);
        free(t->cells[c]);
        free(t->colname[c]);
    }
    free(t->cells);
    free(t->colname);
    free(t->path);
    free(t->name);
    free(t);
}

/* An in-memory table as the CSV the reader takes (every field quoted, NULL cells empty), so its
 * cells meet exactly the rules a file's fields do. */
static xrem_status table_csv_text(const xrem_eval_table *t, char **out, size_t *len)
{
    size_t cap = 0;
    FILE *f = open_memstream(out, &cap);
    if (!f) return xrem_fail(XREM_ERR_NOMEM, "%s: out of memory", t->name);
    for (int64_t i = -1; i < t->n; i++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *s = i < 0 ? t->colname[c] : t->cells[c][i];
            if (c) fputc(',', f);
            if (!s) continue;
            fputc('"', f);
            for (; *s; s++) {
                if (*s == '"') fputc('"', f);
                fputc(*s, f);
            }
            fputc('"', f);
        }
        fputc('\n', f);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(*out);
        *out = NULL;
        return xrem_fail(XREM_ERR_NOMEM, "%s: out of memory", t->name);
    }
    *len = cap;
    return XREM_OK;
}

static xrem_status table_load(const xrem_eval_table *t, const xrem_eval_opts *o, xrem_reports **out)
{
    if (t->path) return xrem_reports_load(t->path, o->id_col, o->text_col, out);
    if (t->ncols == 0) return xrem_fail(XREM_ERR_FORMAT, "%s: a table without columns", t->name);
    char *text = NULL;
    size_t len = 0;
    xrem_status st = table_csv_text(t, &text, &len);
    if (st) return st;
    st = xrem_reports_parse(t->name, text, len, o->id_col, o->text_col, out);
    free(text);
    return st;
}

/* --- the run ------------------------------------------------------------------------------------------- */
void xrem_eval_result_free(xrem_eval_result *r)
{
    if (!r) return;
    xrem_reports_free(r->gt);
    xrem_reports_free(r->pred);
    xrem_reports_free(r->pb);
    void *p[] = {r->rg,      r->rp,   r->rb,       r->ids,       r->tg,         r->tp,         r->tb,     r->lg,
                 r->lp,      r->lb,   r->bleu2,    r->bleu2_b,   r->sacre,      r->acc5,       r->lab[0], r->lab[1],
                 r->cls_emb, r->semb, r->radgraph, r->bertscore, r->radcliq[0], r->radcliq[1], r->cols};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++)
        free(p[i]);
    if (r->be_owned) xrem_backend_free(r->be);
    xrem_eval__opts_clear(&r->o);
    free(r);
}

static void note_unmatched(const xrem_eval_result *r, const char *what, const xrem_reports *t, const int64_t *rows,
                           int64_t k)
{
    char line[1024];
    size_t w = 0;
    xrem_eval__sigf(line, &w, sizeof line, "  only in %s (%s): %" PRId64 " id%s:", t->path, what, k, k == 1 ? "" : "s");
    for (int64_t i = 0; i < k && i < EV_SHOW_IDS; i++)
        xrem_eval__sigf(line, &w, sizeof line, " %" PRId64, t->id[rows[i]]);
    xrem_eval__sigf(line, &w, sizeof line, "%s", k > EV_SHOW_IDS ? " ..." : "");
    xrem_eval__note(r, XREM_EVAL_NOTE, "%s", line);
}

static const char *id_col(const xrem_eval_opts *o)
{
    return o->id_col ? o->id_col : XREM_REPORTS_ID_COL;
}

/* GT and PRED share their ids (or allow-unmatched), PRED-B covers them: the rows to score. */
static xrem_status match(xrem_eval_result *r)
{
    const xrem_eval_opts *o = &r->o;
    xrem_report_match m;
    xrem_status st = xrem_reports_match(r->gt, r->pred, &m);
    if (st) return st;
    xrem_eval__note(r, XREM_EVAL_NOTE, "%s: %" PRId64 " reports, %s: %" PRId64 " reports, %" PRId64 " shared study ids",
                    r->gt->path, r->gt->n, r->pred->path, r->pred->n, m.n);
    if (m.n_gt_only) note_unmatched(r, "not in PRED", r->gt, m.gt_only, m.n_gt_only);
    if (m.n_pred_only) note_unmatched(r, "not in GT", r->pred, m.pred_only, m.n_pred_only);
    int64_t ngo = m.n_gt_only, npo = m.n_pred_only;
    int64_t fg = ngo ? m.gt_only[0] : -1, fp = npo ? m.pred_only[0] : -1;
    xrem_report_match_free(&m);
    if ((ngo || npo) && !o->allow_unmatched) {
        if (fp >= 0)
            return xrem_fail(XREM_ERR_FORMAT,
                             "%s: row %" PRId64 " (line %" PRId64 ") field '%s': study id %" PRId64
                             " is not in %s (%" PRId64 " PRED id%s unmatched, %" PRId64
                             " GT id%s unmatched); pass --allow-unmatched to score the shared ids only",
                             r->pred->path, fp + 1, r->pred->line[fp], id_col(o), r->pred->id[fp], r->gt->path, npo,
                             npo == 1 ? "" : "s", ngo, ngo == 1 ? "" : "s");
        return xrem_fail(
            XREM_ERR_FORMAT,
            "%s: row %" PRId64 " (line %" PRId64 ") field '%s': study id %" PRId64 " has no report in %s (%" PRId64
            " GT id%s unmatched); pass --allow-unmatched to score the shared ids only",
            r->gt->path, fg + 1, r->gt->line[fg], id_col(o), r->gt->id[fg], r->pred->path, ngo, ngo == 1 ? "" : "s");
    }
    int k = r->pb ? 3 : 2;
    const int64_t *ids[3] = {r->gt->id, r->pred->id, r->pb ? r->pb->id : NULL};
    const int64_t *by[3] = {r->gt->by_id, r->pred->by_id, r->pb ? r->pb->by_id : NULL};
    int64_t nn[3] = {r->gt->n, r->pred->n, r->pb ? r->pb->n : 0};
    int64_t *rows[3] = {NULL, NULL, NULL};
    if ((st = xrem_ids_intersect(ids, by, nn, k, rows, &r->n))) return st;
    r->rg = rows[0];
    r->rp = rows[1];
    r->rb = rows[2];
    if (r->pb) {
        int64_t missing = 0, first = -1;
        for (int64_t i = 0; i < r->gt->n; i++) {
            if (xrem_ids_find(r->pred->id, r->pred->by_id, r->pred->n, r->gt->id[i]) < 0) continue;
            if (xrem_ids_find(r->pb->id, r->pb->by_id, r->pb->n, r->gt->id[i]) >= 0) continue;
            if (!missing++) first = i;
        }
        int64_t extra = r->pb->n - r->n;
        xrem_eval__note(r, XREM_EVAL_NOTE, "  %s: %" PRId64 " reports, %" PRId64 " shared with GT and PRED",
                        r->pb->path, r->pb->n, r->n);
        if ((missing || extra) && !o->allow_unmatched) {
            if (missing)
                return xrem_fail(XREM_ERR_FORMAT,
                                 "%s: no report for study id %" PRId64 " (%s row %" PRId64 "; %" PRId64
                                 " id%s missing); pass --allow-unmatched to score the shared ids only",
                                 r->pb->path, r->gt->id[first], r->gt->path, first + 1, missing,
                                 missing == 1 ? "" : "s");
            return xrem_fail(XREM_ERR_FORMAT,
                             "%s: %" PRId64 " study id%s not in both GT and PRED; pass --allow-unmatched to score the "
                             "shared ids only",
                             r->pb->path, extra, extra == 1 ? "" : "s");
        }
    }
    if (r->n == 0) return xrem_fail(XREM_ERR_FORMAT, "%s and %s share no study id", r->gt->path, r->pred->path);
    return XREM_OK;
}

/* The texts as scored: pandas-na turns NA strings into 'nan' as CXR-Report-Metric's str(NaN) does. */
static xrem_status texts(xrem_eval_result *r)
{
    const xrem_eval_opts *o = &r->o;
    size_t n = (size_t)r->n;
    int k = r->pb ? 3 : 2;
    r->ids = malloc(n * sizeof *r->ids);
    r->tg = malloc(n * sizeof *r->tg);
    r->tp = malloc(n * sizeof *r->tp);
    r->lg = malloc(n * sizeof *r->lg);
    r->lp = malloc(n * sizeof *r->lp);
    if (r->pb) {
        r->tb = malloc(n * sizeof *r->tb);
        r->lb = malloc(n * sizeof *r->lb);
    }
    if (!r->ids || !r->tg || !r->tp || !r->lg || !r->lp || (r->pb && (!r->tb || !r->lb)))
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    const xrem_reports *src[3] = {r->gt, r->pred, r->pb};
    const int64_t *rr[3] = {r->rg, r->rp, r->rb};
    const char **tt[3] = {r->tg, r->tp, r->tb};
    size_t *ll[3] = {r->lg, r->lp, r->lb};
    int64_t *ne[3] = {&r->gt_empty, &r->pred_empty, &r->b_empty};
    for (size_t i = 0; i < n; i++) {
        r->ids[i] = r->gt->id[r->rg[i]];
        for (int t = 0; t < k; t++) {
            int64_t row = rr[t][i];
            const char *txt = src[t]->text[row];
            size_t len = src[t]->len[row];
            if (xrem_report_is_empty(txt, len)) (*ne[t])++;
            if (o->pandas_na && xrem_pandas_is_na(txt, len, o->pandas)) {
                txt = "nan";
                len = 3;
            }
            tt[t][i] = txt;
            ll[t][i] = len;
        }
    }
    for (int t = 0; t < k; t++)
        if (*ne[t])
            xrem_eval__note(r, XREM_EVAL_NOTE, "  %s: %" PRId64 " empty report%s among the shared ids", src[t]->path,
                            *ne[t], *ne[t] == 1 ? "" : "s");
    return XREM_OK;
}

static xrem_status load(xrem_eval_result *r, const xrem_eval_inputs *in)
{
    double t0 = xrem_eval__now();
    xrem_status st;
    if ((st = table_load(in->gt, &r->o, &r->gt))) return st;
    if ((st = table_load(in->pred, &r->o, &r->pred))) return st;
    if (in->pred_b && (st = table_load(in->pred_b, &r->o, &r->pb))) return st;
    if ((st = match(r)) || (st = texts(r))) return st;
    r->t_load = xrem_eval__now() - t0;
    return XREM_OK;
}

static void signature(xrem_eval_result *r)
{
    const xrem_eval_opts *o = &r->o;
    char *b = r->sig;
    size_t k = 0, cap = sizeof r->sig;
    xrem_eval__sigf(b, &k, cap, "xrem-eval:%s|n:%" PRId64, xrem_build_commit(), r->n);
    for (int i = 0; i < xrem_eval_nmetrics; i++) {
        const xrem_eval_metric *m = &xrem_eval_metrics[i];
        if (m->sig && xrem_eval__row_on(m, r)) m->sig(r, b, &k, cap);
    }
    if (o->pandas_na)
        xrem_eval__sigf(b, &k, cap, "|na:pandas%d-nan", o->pandas);
    else
        xrem_eval__sigf(b, &k, cap, "|na:empty");
    xrem_eval__sigf(b, &k, cap, "|unmatched:%s", o->allow_unmatched ? "dropped" : "error");
    if (o->metrics & (XREM_M_BLEU2 | XREM_M_SEMB | XREM_M_RADCLIQ))
        xrem_eval__sigf(b, &k, cap, "|bootstrap:%d,percentile", o->B);
    xrem_eval__sigf(b, &k, cap, "|rng:xoshiro256**|seed:%" PRIu64, o->seed);
}

static xrem_status run(xrem_eval_result *r, const xrem_eval_inputs *in)
{
    xrem_eval_opts *o = &r->o;
    xrem_status st;
    if (!o->checked && (st = xrem_eval_opts_check(o))) return st;
    if (in->pred_b && !(o->metrics & XREM_M_BLEU2))
        return xrem_fail(XREM_ERR_ARG, "--pred-b compares BLEU-2: add bleu2 to --metrics");
    /* the backend is made before anything is read, so a missing GPU is said first */
    if (xrem_eval__need_chexbert(o) || (o->metrics & XREM_M_BERTSCORE)) {
        if (o->be_user)
            r->be = o->be_user;
        else if ((st = xrem_backend_create(o->backend ? o->backend : "cpu", o->threads, &r->be)))
            return st;
        else
            r->be_owned = 1;
    }
    if ((st = load(r, in))) return st;
    for (int i = 0; i < xrem_eval_nmetrics; i++) {
        const xrem_eval_metric *m = &xrem_eval_metrics[i];
        if (m->prepare && xrem_eval__row_on(m, r) && (st = m->prepare(r))) return st;
    }
    if (xrem_eval__need_chexbert(o) && (st = xrem_eval__chexbert_pass(r))) return st;
    for (int i = 0; i < xrem_eval_nmetrics; i++) {
        const xrem_eval_metric *m = &xrem_eval_metrics[i];
        if (m->compute && xrem_eval__row_on(m, r) && (st = m->compute(r))) return st;
    }
    if ((st = xrem_eval__add_col(r, "empty", XREM_EVAL_COL_EMPTY, NULL, NULL, 0))) return st;
    for (int i = 0; i < xrem_eval_nmetrics; i++) {
        const xrem_eval_metric *m = &xrem_eval_metrics[i];
        if (m->columns && xrem_eval__row_on(m, r) && (st = m->columns(r))) return st;
    }
    signature(r);
    return XREM_OK;
}

xrem_status xrem_eval_run(const xrem_eval_opts *o, const xrem_eval_inputs *in, xrem_eval_result **out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "xrem_eval_run: out is NULL");
    *out = NULL;
    if (!o || !in || !in->gt || !in->pred)
        return xrem_fail(XREM_ERR_ARG, "xrem_eval_run: options, GT and PRED are required");
    xrem_eval_result *r = calloc(1, sizeof *r);
    if (!r) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    xrem_status st = xrem_eval__opts_copy(&r->o, o);
    if (!st) st = run(r, in);
    if (st) {
        xrem_eval_result_free(r);
        return st;
    }
    *out = r;
    return XREM_OK;
}

/* --- accessors ----------------------------------------------------------------------------------------- */
int64_t xrem_eval_result_rows(const xrem_eval_result *r)
{
    return r ? r->n : 0;
}
const int64_t *xrem_eval_result_study_ids(const xrem_eval_result *r)
{
    return r ? r->ids : NULL;
}
int xrem_eval_result_ncols(const xrem_eval_result *r)
{
    return r ? r->ncols : 0;
}
const char *xrem_eval_result_col_name(const xrem_eval_result *r, int col)
{
    return r && col >= 0 && col < r->ncols ? r->cols[col].name : NULL;
}
const char *xrem_eval_result_signature(const xrem_eval_result *r)
{
    return r ? r->sig : "";
}

const double *xrem_eval_result_col_f64(const xrem_eval_result *r, const char *name)
{
    for (int c = 0; r && name && c < r->ncols; c++)
        if (r->cols[c].kind == XREM_EVAL_COL_F64 && !strcmp(r->cols[c].name, name)) return r->cols[c].f64;
    return NULL;
}

/* the "empty" flag of row i: which side has an empty (whitespace-only) report */
static const char *empty_flag(const xrem_eval_result *r, int64_t i)
{
    int eg = xrem_report_is_empty(r->gt->text[r->rg[i]], r->gt->len[r->rg[i]]);
    int ep = xrem_report_is_empty(r->pred->text[r->rp[i]], r->pred->len[r->rp[i]]);
    return eg && ep ? "both" : eg ? "gt" : ep ? "pred" : "";
}

const char *xrem_eval_result_cell(const xrem_eval_result *r, int64_t row, int col, char *buf, size_t cap)
{
    if (!buf || cap == 0) return buf;
    buf[0] = 0;
    if (!r || row < 0 || row >= r->n || col < 0 || col >= r->ncols) return buf;
    const xrem_eval_col *c = &r->cols[col];
    /* label.py's written convention, as in label files: '' blank, 1 positive, 0 negative, -1 uncertain */
    static const char *const lv[4] = {"", "1", "0", "-1"};
    if (c->kind == XREM_EVAL_COL_EMPTY)
        snprintf(buf, cap, "%s", empty_flag(r, row));
    else if (c->kind == XREM_EVAL_COL_LABEL)
        snprintf(buf, cap, "%s", lv[c->lab[row * XREM_NCOND + c->cond] & 3]);
    else if (isnan(c->f64[row]))
        snprintf(buf, cap, "nan");
    else
        snprintf(buf, cap, "%.17g", c->f64[row]);
    return buf;
}

/* summary numbers by their summary.json path */
static int prf_key(const char *k, const xrem_label_report *rep, double *v)
{
    static const char *const avg[3] = {"micro", "macro", "weighted"};
    for (int a = 0; a < 3; a++) {
        size_t n = strlen(avg[a]);
        if (strncmp(k, avg[a], n) || k[n] != '.') continue;
        const xrem_prf *p = a == 0 ? &rep->micro : a == 1 ? &rep->macro : &rep->weighted;
        const char *f = k + n + 1;
        if (!strcmp(f, "f1"))
            *v = p->f1;
        else if (!strcmp(f, "precision"))
            *v = p->precision;
        else if (!strcmp(f, "recall"))
            *v = p->recall;
        else
            return 0;
        return 1;
    }
    return 0;
}

static int mean_key(const char *k, const char *base, const double *x, int64_t n, int have_ci, const xrem_ci *ci,
                    double *v)
{
    size_t b = strlen(base);
    if (!x || strncmp(k, base, b) || k[b] != '.') return 0;
    k += b + 1;
    if (!strcmp(k, "mean"))
        *v = xrem_eval__mean(x, n);
    else if (have_ci && !strcmp(k, "ci95.lo"))
        *v = ci->lo;
    else if (have_ci && !strcmp(k, "ci95.hi"))
        *v = ci->hi;
    else
        return 0;
    return 1;
}

xrem_status xrem_eval_result_number(const xrem_eval_result *r, const char *key, double *v)
{
    if (!r || !key || !v) return xrem_fail(XREM_ERR_ARG, "xrem_eval_result_number: NULL argument");
    int B = r->o.B > 0, ok = 0;
    ok = mean_key(key, "bleu2", r->bleu2, r->n, r->have_ci, &r->ci_bleu2, v) ||
         mean_key(key, "bleu2_b", r->bleu2_b, r->n, r->have_ci, &r->ci_bleu2_b, v) ||
         mean_key(key, "semb", r->semb, r->n, B, &r->ci_semb, v) ||
         mean_key(key, "radcliq_v0", r->radcliq[0], r->n, B, &r->ci_radcliq[0], v) ||
         mean_key(key, "radcliq_v1", r->radcliq[1], r->n, B, &r->ci_radcliq[1], v);
    if (!ok && r->have_paired) {
        ok = 1;
        if (!strcmp(key, "paired.diff"))
            *v = r->paired.diff;
        else if (!strcmp(key, "paired.p_value"))
            *v = r->paired.p_value;
        else if (!strcmp(key, "paired.ci95.lo"))
            *v = r->paired.lo;
        else if (!strcmp(key, "paired.ci95.hi"))
            *v = r->paired.hi;
        else
            ok = 0;
    }
    if (!ok && r->sacre) {
        ok = 1;
        if (!strncmp(key, "nltk_corpus_bleu.bleu", 21) && key[21] >= '1' && key[21] <= '4' && !key[22])
            *v = xrem_bleu_nltk_score(&r->nltk, key[21] - '0', XREM_BLEU_SMOOTH_NONE);
        else if (!strcmp(key, "sacrebleu.corpus"))
            *v = xrem_sacrebleu_score(&r->sac, 0);
        else if (!strcmp(key, "sacrebleu.sentence_mean"))
            *v = xrem_eval__mean(r->sacre, r->n);
        else
            ok = 0;
    }
    if (!ok && r->bertscore) {
        ok = 1;
        if (!strcmp(key, "bertscore.f1_mean"))
            *v = xrem_eval__mean(r->bertscore, r->n);
        else if (!strcmp(key, "bertscore.p_mean"))
            *v = r->bs_mean_p;
        else if (!strcmp(key, "bertscore.r_mean"))
            *v = r->bs_mean_r;
        else if (B && !strcmp(key, "bertscore.ci95.lo"))
            *v = r->ci_bertscore.lo;
        else if (B && !strcmp(key, "bertscore.ci95.hi"))
            *v = r->ci_bertscore.hi;
        else
            ok = 0;
    }
    if (!ok && r->acc5 && !strncmp(key, "labels.", 7)) {
        const char *k = key + 7;
        ok = 1;
        if (!strncmp(k, "rrg_all14.", 10))
            ok = prf_key(k + 10, &r->lf.all, v);
        else if (!strncmp(k, "rrg_top5.", 9))
            ok = prf_key(k + 9, &r->lf.top5, v);
        else if (!strcmp(k, "accuracy_top5"))
            *v = r->lf.accuracy5;
        else if (!strcmp(k, "accuracy_all14"))
            *v = r->lf.accuracy14;
        else if (!strcmp(k, "repair_macro_f1"))
            *v = r->repair_f1;
        else if (!strcmp(k, "repair_bootstrap10.mean"))
            *v = r->repair_mean;
        else if (!strcmp(k, "repair_bootstrap10.half_width95"))
            *v = r->repair_half;
        else
            ok = 0;
    }
    if (!ok)
        return xrem_fail(XREM_ERR_ARG, "summary number '%s': not computed in this evaluation (or no such key)", key);
    return XREM_OK;
}
