/* Reports tables keyed by study id, and matching (see reports.h). */
#define _POSIX_C_SOURCE 200809L
#include "reports.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int xrem_study_id_parse(const char *s, size_t n, int64_t *v)
{
    if (!s || n == 0 || n > 18) return 0;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        x = x * 10 + (s[i] - '0'); /* 18 digits < 2^63: no overflow */
    }
    if (v) *v = x;
    return 1;
}

int xrem_report_is_empty(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

typedef struct {
    int64_t id, row;
} ids__pair;

static int ids__cmp(const void *a, const void *b)
{
    const ids__pair *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

void xrem_ids_sort(const int64_t *id, int64_t n, int64_t *out)
{
    if (n <= 0) return;
    ids__pair *p = malloc((size_t)n * sizeof *p);
    if (!p) { /* fall back to insertion sort: slow but correct */
        for (int64_t i = 0; i < n; i++) {
            int64_t j = i;
            while (j > 0 && id[out[j - 1]] > id[i]) {
                out[j] = out[j - 1];
                j--;
            }
            out[j] = i;
        }
        return;
    }
    for (int64_t i = 0; i < n; i++)
        p[i] = (ids__pair){id[i], i};
    qsort(p, (size_t)n, sizeof *p, ids__cmp);
    for (int64_t i = 0; i < n; i++)
        out[i] = p[i].row;
    free(p);
}

int xrem_ids_first_duplicate(const int64_t *id, const int64_t *by_id, int64_t n, int64_t *a, int64_t *b)
{
    int found = 0;
    int64_t best_a = 0, best_b = 0, run = 0; /* run: sorted position where the current id starts */
    for (int64_t i = 1; i < n; i++) {
        if (id[by_id[i]] != id[by_id[i - 1]]) {
            run = i;
            continue;
        }
        /* rows of equal ids are sorted by row, so by_id[run] is the first occurrence */
        if (i == run + 1 && (!found || by_id[i] < best_b)) {
            best_a = by_id[run];
            best_b = by_id[i];
            found = 1;
        }
    }
    if (found) {
        *a = best_a;
        *b = best_b;
    }
    return found;
}

void xrem_reports_free(xrem_reports *r)
{
    if (!r) return;
    free(r->path);
    free(r->id);
    free(r->text);
    free(r->len);
    free(r->line);
    free(r->by_id);
    xrem_csv_free(r->csv);
    free(r);
}

/* The table of r->csv (read or parsed from `path`, the name messages use). Frees r on failure. */
static xrem_status reports_from_csv(xrem_reports *r, const char *path, const char *id_col, const char *text_col,
                                    xrem_reports **out)
{
    xrem_status st;
    if (!id_col) id_col = XREM_REPORTS_ID_COL;
    if (!text_col) text_col = XREM_REPORTS_TEXT_COL;
    int cid, ctext;
    if ((st = xrem_csv_column(r->csv, id_col, &cid)) != XREM_OK) goto fail;
    if ((st = xrem_csv_column(r->csv, text_col, &ctext)) != XREM_OK) goto fail;

    int64_t n = xrem_csv_nrows(r->csv);
    r->n = n;
    r->path = strdup(path);
    size_t nn = n > 0 ? (size_t)n : 1;
    r->id = malloc(nn * sizeof *r->id);
    r->text = malloc(nn * sizeof *r->text);
    r->len = malloc(nn * sizeof *r->len);
    r->line = malloc(nn * sizeof *r->line);
    r->by_id = malloc(nn * sizeof *r->by_id);
    if (!r->path || !r->id || !r->text || !r->len || !r->line || !r->by_id) {
        st = xrem_fail(XREM_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (int64_t i = 0; i < n; i++) {
        size_t il;
        const char *s = xrem_csv_get(r->csv, i, cid, &il);
        r->line[i] = xrem_csv_line(r->csv, i);
        if (!xrem_study_id_parse(s, il, &r->id[i])) {
            char shown[48];
            size_t k = il < 40 ? il : 40;
            memcpy(shown, s, k);
            shown[k] = 0;
            for (size_t j = 0; j < k; j++)
                if ((unsigned char)shown[j] < 0x20) shown[j] = '?';
            st = xrem_fail(
                XREM_ERR_FORMAT,
                "%s: row %" PRId64 " (line %" PRId64 ") field '%s': study id '%s%s' is not a non-negative integer%s",
                path, i + 1, r->line[i], id_col, shown, il > 40 ? "..." : "",
                il == 0 ? " (empty)" : (il > 18 && strspn(s, "0123456789") == il ? " (more than 18 digits)" : ""));
            goto fail;
        }
        r->text[i] = xrem_csv_get(r->csv, i, ctext, &r->len[i]);
        if (xrem_report_is_empty(r->text[i], r->len[i])) r->n_empty++;
    }
    xrem_ids_sort(r->id, n, r->by_id);
    int64_t a, b;
    if (xrem_ids_first_duplicate(r->id, r->by_id, n, &a, &b)) {
        st = xrem_fail(XREM_ERR_FORMAT,
                       "%s: field '%s': study id %" PRId64 " appears twice: row %" PRId64 " (line %" PRId64
                       ") and row %" PRId64 " (line %" PRId64 ")",
                       path, id_col, r->id[a], a + 1, r->line[a], b + 1, r->line[b]);
        goto fail;
    }
    *out = r;
    return XREM_OK;
fail:
    xrem_reports_free(r);
    return st;
}

xrem_status xrem_reports_load(const char *path, const char *id_col, const char *text_col, xrem_reports **out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "xrem_reports_load: out is NULL");
    *out = NULL;
    if (!path) return xrem_fail(XREM_ERR_ARG, "xrem_reports_load: path is NULL");
    xrem_reports *r = calloc(1, sizeof *r);
    if (!r) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    xrem_status st = xrem_csv_read(path, &r->csv);
    if (st != XREM_OK) {
        xrem_reports_free(r);
        return st;
    }
    return reports_from_csv(r, path, id_col, text_col, out);
}

xrem_status xrem_reports_parse(const char *name, const char *data, size_t len, const char *id_col, const char *text_col,
                               xrem_reports **out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "xrem_reports_parse: out is NULL");
    *out = NULL;
    if (!name || !data) return xrem_fail(XREM_ERR_ARG, "xrem_reports_parse: NULL argument");
    xrem_reports *r = calloc(1, sizeof *r);
    if (!r) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    xrem_status st = xrem_csv_parse(name, data, len, &r->csv);
    if (st != XREM_OK) {
        xrem_reports_free(r);
        return st;
    }
    return reports_from_csv(r, name, id_col, text_col, out);
}

int64_t xrem_ids_find(const int64_t *id, const int64_t *by_id, int64_t n, int64_t key)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (id[by_id[mid]] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < n && id[by_id[lo]] == key) ? by_id[lo] : -1;
}

/* Row of key, trying row `hint` first (files usually list the same ids in the same order). */
static int64_t ids__find_hint(const int64_t *id, const int64_t *by_id, int64_t n, int64_t key, int64_t hint)
{
    if (hint >= 0 && hint < n && id[hint] == key) return hint;
    return xrem_ids_find(id, by_id, n, key);
}

xrem_status xrem_ids_intersect(const int64_t *const *ids, const int64_t *const *by_id, const int64_t *n, int k,
                               int64_t **rows, int64_t *n_shared)
{
    if (!ids || !by_id || !n || !rows || !n_shared || k < 1)
        return xrem_fail(XREM_ERR_ARG, "xrem_ids_intersect: bad arguments");
    for (int t = 0; t < k; t++)
        rows[t] = NULL;
    *n_shared = 0;
    size_t cap = n[0] > 0 ? (size_t)n[0] : 1;
    for (int t = 0; t < k; t++) {
        rows[t] = malloc(cap * sizeof **rows);
        if (!rows[t]) {
            for (int u = 0; u < t; u++) {
                free(rows[u]);
                rows[u] = NULL;
            }
            return xrem_fail(XREM_ERR_NOMEM, "out of memory");
        }
    }
    int64_t m = 0;
    for (int64_t i = 0; i < n[0]; i++) {
        int ok = 1;
        for (int t = 1; t < k && ok; t++) {
            int64_t r = ids__find_hint(ids[t], by_id[t], n[t], ids[0][i], i);
            if (r < 0)
                ok = 0;
            else
                rows[t][m] = r;
        }
        if (!ok) continue;
        rows[0][m] = i;
        m++;
    }
    *n_shared = m;
    return XREM_OK;
}

xrem_status xrem_reports_match(const xrem_reports *gt, const xrem_reports *pred, xrem_report_match *m)
{
    if (!gt || !pred || !m) return xrem_fail(XREM_ERR_ARG, "xrem_reports_match: NULL argument");
    memset(m, 0, sizeof *m);
    const int64_t *ids[2] = {gt->id, pred->id};
    const int64_t *by[2] = {gt->by_id, pred->by_id};
    int64_t n[2] = {gt->n, pred->n};
    int64_t *rows[2];
    xrem_status st = xrem_ids_intersect(ids, by, n, 2, rows, &m->n);
    if (st != XREM_OK) return st;
    m->gt = rows[0];
    m->pred = rows[1];
    m->gt_only = malloc((size_t)(gt->n - m->n + 1) * sizeof *m->gt_only);
    m->pred_only = malloc((size_t)(pred->n - m->n + 1) * sizeof *m->pred_only);
    if (!m->gt_only || !m->pred_only) {
        xrem_report_match_free(m);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < gt->n; i++)
        if (ids__find_hint(pred->id, pred->by_id, pred->n, gt->id[i], i) < 0) m->gt_only[m->n_gt_only++] = i;
    for (int64_t i = 0; i < pred->n; i++)
        if (ids__find_hint(gt->id, gt->by_id, gt->n, pred->id[i], i) < 0) m->pred_only[m->n_pred_only++] = i;
    return XREM_OK;
}

void xrem_report_match_free(xrem_report_match *m)
{
    if (!m) return;
    free(m->gt);
    free(m->pred);
    free(m->gt_only);
    free(m->pred_only);
    memset(m, 0, sizeof *m);
}
