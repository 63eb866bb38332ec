/* CheXbert label F1 in f1chexbert "rrg" and CXR-RePaiR modes (see labels.h). */
#define _POSIX_C_SOURCE 200809L
#include "labels.h"
#include "npsum.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "core/csv.h"
#include "reports.h"

const char *const xrem_chexbert_conditions[XREM_NCOND] = {
    "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
    "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion",
    "Pleural Other", "Fracture", "Support Devices", "No Finding"};

const int xrem_chexbert_top5[XREM_NTOP5] = {1, 4, 5, 7, 9};

/* sklearn _prf_divide with zero_division="warn": 0 where the denominator is 0. */
static double prf__div(double num, double den) { return den == 0.0 ? 0.0 : num / den; }

static xrem_status labels__check(const uint8_t *gt, const uint8_t *pred, int64_t n)
{
    if (n < 0 || (n > 0 && (!gt || !pred))) return xrem_fail(XREM_ERR_ARG, "labels: NULL matrix or negative row count");
    for (int64_t i = 0; i < n * XREM_NCOND; i++) {
        if (gt[i] > 3)
            return xrem_fail(XREM_ERR_VALUE, "labels: GT row %" PRId64 " condition '%s': class %u not in 0..3", i / XREM_NCOND + 1,
                             xrem_chexbert_conditions[i % XREM_NCOND], gt[i]);
        if (pred[i] > 3)
            return xrem_fail(XREM_ERR_VALUE, "labels: PRED row %" PRId64 " condition '%s': class %u not in 0..3", i / XREM_NCOND + 1,
                             xrem_chexbert_conditions[i % XREM_NCOND], pred[i]);
    }
    return XREM_OK;
}

static int bin__rrg(uint8_t c) { return c == XREM_LBL_POS || c == XREM_LBL_UNC; }
static int bin__repair(uint8_t c) { return c == XREM_LBL_POS; }

/* classification_report over the columns cols[0..k) of binarised rows idx (or 0..m). */
static xrem_status labels__report(const uint8_t *gt, const uint8_t *pred, const int64_t *idx, int64_t m, const int *cols, int k,
                                  int (*bin)(uint8_t), xrem_label_report *r)
{
    int64_t tp[XREM_NCOND] = {0}, ps[XREM_NCOND] = {0}, ts[XREM_NCOND] = {0};
    double *sp = NULL, *sr = NULL, *sf = NULL;
    if (m > 0) {
        sp = malloc((size_t)m * sizeof *sp);
        sr = malloc((size_t)m * sizeof *sr);
        sf = malloc((size_t)m * sizeof *sf);
        if (!sp || !sr || !sf) {
            free(sp);
            free(sr);
            free(sf);
            return xrem_fail(XREM_ERR_NOMEM, "labels: out of memory");
        }
    }
    for (int64_t s = 0; s < m; s++) {
        int64_t row = idx ? idx[s] : s;
        int64_t stp = 0, spr = 0, str = 0;
        for (int j = 0; j < k; j++) {
            int t = bin(gt[row * XREM_NCOND + cols[j]]), p = bin(pred[row * XREM_NCOND + cols[j]]);
            tp[j] += t & p;
            ps[j] += p;
            ts[j] += t;
            stp += t & p;
            spr += p;
            str += t;
        }
        sp[s] = prf__div((double)stp, (double)spr);
        sr[s] = prf__div((double)stp, (double)str);
        sf[s] = prf__div(2.0 * (double)stp, (double)(str + spr));
    }
    r->ncond = k;
    double P[XREM_NCOND], Rc[XREM_NCOND], F[XREM_NCOND], W[XREM_NCOND], PW[XREM_NCOND], RW[XREM_NCOND], FW[XREM_NCOND];
    int64_t TP = 0, PS = 0, TS = 0;
    for (int j = 0; j < k; j++) {
        P[j] = prf__div((double)tp[j], (double)ps[j]);
        Rc[j] = prf__div((double)tp[j], (double)ts[j]);
        F[j] = prf__div(2.0 * (double)tp[j], (double)(ts[j] + ps[j]));
        r->cond[j] = (xrem_prf){P[j], Rc[j], F[j], ts[j]};
        W[j] = (double)ts[j];
        PW[j] = P[j] * W[j];
        RW[j] = Rc[j] * W[j];
        FW[j] = F[j] * W[j];
        TP += tp[j];
        PS += ps[j];
        TS += ts[j];
    }
    r->micro = (xrem_prf){prf__div((double)TP, (double)PS), prf__div((double)TP, (double)TS),
                          prf__div(2.0 * (double)TP, (double)(TS + PS)), TS};
    r->macro = (xrem_prf){xrem_np_sum(P, k) / k, xrem_np_sum(Rc, k) / k, xrem_np_sum(F, k) / k, TS};
    double wsum = xrem_np_sum(W, k);
    if (wsum == 0.0) /* np.average raises ZeroDivisionError; sklearn falls back to the mean */
        r->weighted = (xrem_prf){r->macro.precision, r->macro.recall, r->macro.f1, TS};
    else
        r->weighted = (xrem_prf){xrem_np_sum(PW, k) / wsum, xrem_np_sum(RW, k) / wsum, xrem_np_sum(FW, k) / wsum, TS};
    if (m > 0)
        r->samples = (xrem_prf){xrem_np_sum(sp, m) / (double)m, xrem_np_sum(sr, m) / (double)m, xrem_np_sum(sf, m) / (double)m, TS};
    else
        r->samples = (xrem_prf){NAN, NAN, NAN, 0};
    free(sp);
    free(sr);
    free(sf);
    return XREM_OK;
}

static double labels__exact(const uint8_t *gt, const uint8_t *pred, int64_t n, const int *cols, int k, double *ok)
{
    int64_t good = 0;
    for (int64_t i = 0; i < n; i++) {
        int same = 1;
        for (int j = 0; j < k && same; j++)
            same = bin__rrg(gt[i * XREM_NCOND + cols[j]]) == bin__rrg(pred[i * XREM_NCOND + cols[j]]);
        if (ok) ok[i] = same;
        good += same;
    }
    return n > 0 ? (double)good / (double)n : NAN;
}

static const int all14[XREM_NCOND] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};

xrem_status xrem_labels_f1_rrg(const uint8_t *gt, const uint8_t *pred, int64_t n, xrem_label_f1 *out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "labels: out is NULL");
    xrem_status st = labels__check(gt, pred, n);
    if (st != XREM_OK) return st;
    memset(out, 0, sizeof *out);
    out->n = n;
    if ((st = labels__report(gt, pred, NULL, n, all14, XREM_NCOND, bin__rrg, &out->all)) != XREM_OK) return st;
    if ((st = labels__report(gt, pred, NULL, n, xrem_chexbert_top5, XREM_NTOP5, bin__rrg, &out->top5)) != XREM_OK) return st;
    out->accuracy5 = labels__exact(gt, pred, n, xrem_chexbert_top5, XREM_NTOP5, NULL);
    out->accuracy14 = labels__exact(gt, pred, n, all14, XREM_NCOND, NULL);
    return XREM_OK;
}

xrem_status xrem_labels_example_acc5(const uint8_t *gt, const uint8_t *pred, int64_t n, double *ok)
{
    if (!ok && n > 0) return xrem_fail(XREM_ERR_ARG, "labels: ok is NULL");
    xrem_status st = labels__check(gt, pred, n);
    if (st != XREM_OK) return st;
    labels__exact(gt, pred, n, xrem_chexbert_top5, XREM_NTOP5, ok);
    return XREM_OK;
}

xrem_status xrem_labels_f1_repair(const uint8_t *gt, const uint8_t *pred, int64_t n, const int64_t *idx, int64_t m,
                                  double *macro_f1)
{
    if (!macro_f1) return xrem_fail(XREM_ERR_ARG, "labels: macro_f1 is NULL");
    xrem_status st = labels__check(gt, pred, n);
    if (st != XREM_OK) return st;
    if (!idx) m = n;
    for (int64_t s = 0; idx && s < m; s++)
        if (idx[s] < 0 || idx[s] >= n) return xrem_fail(XREM_ERR_ARG, "labels: bootstrap index %" PRId64 " out of 0..%" PRId64, idx[s], n - 1);
    xrem_label_report r;
    if ((st = labels__report(gt, pred, idx, m, all14, XREM_NCOND, bin__repair, &r)) != XREM_OK) return st;
    *macro_f1 = r.macro.f1;
    return XREM_OK;
}

xrem_status xrem_labels_repair_interval(const uint8_t *gt, const uint8_t *pred, int64_t n, int R, uint64_t seed,
                                        const int64_t *idx, double *scores, double *mean, double *half)
{
    if (!mean || !half) return xrem_fail(XREM_ERR_ARG, "labels: mean/half is NULL");
    if (R < 2 || R > 31) return xrem_fail(XREM_ERR_ARG, "labels: %d resamples; the t-interval needs 2..31", R);
    if (n < 1) return xrem_fail(XREM_ERR_ARG, "labels: no reports to resample");
    double sc[31];
    int64_t *buf = NULL;
    if (!idx) {
        buf = malloc((size_t)n * sizeof *buf);
        if (!buf) return xrem_fail(XREM_ERR_NOMEM, "labels: out of memory");
    }
    xrem_rng rng;
    xrem_rng_seed(&rng, seed);
    for (int r = 0; r < R; r++) {
        const int64_t *ix = idx ? idx + (size_t)r * (size_t)n : buf;
        if (!idx) xrem_bootstrap_indices(&rng, n, buf);
        xrem_status st = xrem_labels_f1_repair(gt, pred, n, ix, n, &sc[r]);
        if (st != XREM_OK) {
            free(buf);
            return st;
        }
    }
    free(buf);
    if (scores) memcpy(scores, sc, (size_t)R * sizeof *sc);
    return xrem_t_interval95(sc, R, mean, half);
}

/* --- label CSV ---------------------------------------------------------------------------------------- */
void xrem_labels_free(xrem_label_table *t)
{
    if (!t) return;
    free(t->path);
    free(t->id);
    free(t->by_id);
    free(t->line);
    free(t->lab);
    free(t);
}

/* CheXbert label.py values -> raw class; -1 when not one of them. */
static int labels__parse(const char *s, size_t n)
{
    if (n == 0) return XREM_LBL_BLANK;
    if ((n == 1 && s[0] == '1') || (n == 3 && !memcmp(s, "1.0", 3))) return XREM_LBL_POS;
    if ((n == 1 && s[0] == '0') || (n == 3 && !memcmp(s, "0.0", 3))) return XREM_LBL_NEG;
    if ((n == 2 && !memcmp(s, "-1", 2)) || (n == 4 && !memcmp(s, "-1.0", 4))) return XREM_LBL_UNC;
    return -1;
}

xrem_status xrem_labels_load(const char *path, xrem_label_table **out)
{
    if (!out || !path) return xrem_fail(XREM_ERR_ARG, "xrem_labels_load: NULL argument");
    *out = NULL;
    xrem_csv *c = NULL;
    xrem_status st = xrem_csv_read(path, &c);
    if (st != XREM_OK) return st;
    xrem_label_table *t = calloc(1, sizeof *t);
    int cid, cc[XREM_NCOND];
    if (!t) {
        st = xrem_fail(XREM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = xrem_csv_column(c, XREM_REPORTS_ID_COL, &cid)) != XREM_OK) goto done;
    for (int j = 0; j < XREM_NCOND; j++)
        if ((st = xrem_csv_column(c, xrem_chexbert_conditions[j], &cc[j])) != XREM_OK) goto done;
    int64_t n = xrem_csv_nrows(c);
    size_t nn = n > 0 ? (size_t)n : 1;
    t->n = n;
    t->path = strdup(path);
    t->id = malloc(nn * sizeof *t->id);
    t->by_id = malloc(nn * sizeof *t->by_id);
    t->line = malloc(nn * sizeof *t->line);
    t->lab = malloc(nn * XREM_NCOND);
    if (!t->path || !t->id || !t->by_id || !t->line || !t->lab) {
        st = xrem_fail(XREM_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        size_t l;
        const char *s = xrem_csv_get(c, i, cid, &l);
        t->line[i] = xrem_csv_line(c, i);
        if (!xrem_study_id_parse(s, l, &t->id[i])) {
            st = xrem_fail(XREM_ERR_FORMAT, "%s: row %" PRId64 " (line %" PRId64 ") field '%s': study id '%.40s' is not a non-negative integer",
                           path, i + 1, t->line[i], XREM_REPORTS_ID_COL, s);
            goto done;
        }
        for (int j = 0; j < XREM_NCOND; j++) {
            s = xrem_csv_get(c, i, cc[j], &l);
            int v = labels__parse(s, l);
            if (v < 0) {
                st = xrem_fail(XREM_ERR_FORMAT, "%s: row %" PRId64 " (line %" PRId64 ") field '%s': label '%.40s' is not one of '', 1, 0, -1",
                               path, i + 1, t->line[i], xrem_chexbert_conditions[j], s);
                goto done;
            }
            t->lab[i * XREM_NCOND + j] = (uint8_t)v;
        }
    }
    xrem_ids_sort(t->id, n, t->by_id);
    int64_t a, b;
    if (xrem_ids_first_duplicate(t->id, t->by_id, n, &a, &b)) {
        st = xrem_fail(XREM_ERR_FORMAT, "%s: field '%s': study id %" PRId64 " appears twice: row %" PRId64 " (line %" PRId64 ") and row %" PRId64 " (line %" PRId64 ")",
                       path, XREM_REPORTS_ID_COL, t->id[a], a + 1, t->line[a], b + 1, t->line[b]);
        goto done;
    }
done:
    xrem_csv_free(c);
    if (st != XREM_OK) {
        xrem_labels_free(t);
        return st;
    }
    *out = t;
    return XREM_OK;
}
