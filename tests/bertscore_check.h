/* Shared by test_bertscore.c (CPU) and test_gpu_bertscore.c (CUDA): score a BERTScore golden
 * (scripts/make_bertscore_goldens.py) on a given backend and compare the sent_encode ids (exact)
 * and every case's P, R, F (NaN where bert_score gives NaN). Failures are counted in
 * xrem_test_failures. Define _POSIX_C_SOURCE (clock_gettime) before including it. */
#ifndef XREM_TEST_BERTSCORE_CHECK_H
#define XREM_TEST_BERTSCORE_CHECK_H

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bertscore.h"
#include "core/h5.h"
#include "testutil.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A float64 dataset of n values (HDF5 directly: core/h5 reads floats as float32). */
static double *read_f64(const char *path, const char *name, int64_t n)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return NULL;
    double *out = NULL;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d >= 0) {
        hid_t sp = H5Dget_space(d);
        if (H5Sget_simple_extent_npoints(sp) == n && (out = malloc((size_t)n * sizeof *out)) &&
            H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
            free(out);
            out = NULL;
        }
        H5Sclose(sp);
        H5Dclose(d);
    }
    H5Fclose(f);
    return out;
}

typedef struct {
    char names[32][64];
    int n;
} case_list;

static xrem_status collect_case(const char *name, void *user)
{
    case_list *c = user;
    size_t len = strlen(name);
    if (!strncmp(name, "cases/", 6)) { /* names are relative to the visited group in some versions */
        name += 6;
        len -= 6;
    }
    if (len > 2 && !strcmp(name + len - 2, "/P") && c->n < 32) {
        snprintf(c->names[c->n], sizeof c->names[0], "cases/%.*s", (int)(len - 2), name);
        c->n++;
    }
    return XREM_OK;
}

/* max |a-b| over n, NaN == NaN; a NaN on one side only is +inf. */
static double max_err(const double *a, const double *b, int64_t n, int64_t *where)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (isnan(a[i]) && isnan(b[i])) ? 0 : (isnan(a[i]) || isnan(b[i])) ? INFINITY : fabs(a[i] - b[i]);
        if (d > m) {
            m = d;
            *where = i;
        }
    }
    return m;
}

typedef struct {
    xrem_bertscore *bs[8]; /* by layer */
    xrem_backend *be;
    const char *weights;
} scorers;

static xrem_bertscore *scorer_for(scorers *s, int layer)
{
    if (layer < 0 || layer >= 8) return NULL;
    if (!s->bs[layer] && xrem_bertscore_create(s->weights, layer, s->be, &s->bs[layer])) {
        fprintf(stderr, "create %s layer %d: %s\n", s->weights, layer, xrem_last_error());
        return NULL;
    }
    return s->bs[layer];
}

/* Everything one golden file says, scored on backend `be` (the caller's), P/R/F within tol; returns
 * the worst error seen (inf on a failure to run). */
static double check_golden(xrem_backend *be, const char *weights, const char *golden, int enc_tokens, int chunk_tokens,
                           double tol, int quiet)
{
    scorers sc = {.be = be, .weights = weights};
    xrem_h5 *g = NULL;
    char **cands = NULL, **refs = NULL;
    int64_t n = 0, nr = 0, ne[4];
    int32_t *ids = NULL, *off = NULL;
    int64_t file_layer = 0;
    double worst = 0;
    case_list cl = {.n = 0};
    if (xrem_h5_open(golden, &g) || xrem_h5_read_strings(g, "cands", &cands, &n) ||
        xrem_h5_read_strings(g, "refs", &refs, &nr) || xrem_h5_read_i32(g, "ids", 1, (int64_t[]){-1}, &ids, ne) ||
        xrem_h5_read_i32(g, "ids_off", 1, (int64_t[]){2 * n + 1}, &off, ne) ||
        xrem_h5_attr_i64(g, "/", "layer", &file_layer) || xrem_h5_visit(g, "cases", collect_case, &cl)) {
        CHECK(0, "reading %s: %s", golden, xrem_last_error());
        worst = INFINITY;
        goto done;
    }
    CHECK(n == nr && n > 0 && cl.n > 0, "%s: %lld cands, %lld refs, %d cases", golden, (long long)n, (long long)nr,
          cl.n);
    /* tokens */
    xrem_bertscore *bs = scorer_for(&sc, (int)file_layer);
    if (!bs) {
        CHECK(0, "cannot load %s", weights);
        worst = INFINITY;
        goto done;
    }
    int bad_ids = 0;
    for (int64_t t = 0; t < 2 * n; t++) {
        int32_t *got = NULL;
        int64_t ng = 0;
        xrem_status st = xrem_bertscore_tokenize(bs, (t & 1) ? refs[t / 2] : cands[t / 2], &got, &ng);
        int same = !st && ng == off[t + 1] - off[t];
        for (int64_t i = 0; same && i < ng; i++)
            same = got[i] == ids[off[t] + i];
        if (!same && bad_ids++ < 3)
            fprintf(stderr, "%s: text %lld: %lld ids, golden %d\n", golden, (long long)t, (long long)ng,
                    off[t + 1] - off[t]);
        free(got);
    }
    CHECK(bad_ids == 0, "%s: %d texts tokenized differently", golden, bad_ids);
    double *P = malloc((size_t)n * 3 * sizeof *P), *R = P + n, *F = P + 2 * n;
    for (int c = 0; c < cl.n; c++) {
        const char *cn = cl.names[c];
        int64_t idf = 0, mb = 0, rescale = 0, layer = file_layer;
        xrem_h5_attr_i64(g, cn, "idf", &idf);
        xrem_h5_attr_i64(g, cn, "match_batch", &mb);
        xrem_h5_attr_i64(g, cn, "rescale", &rescale);
        if (xrem_h5_has_attr(g, cn, "layer")) xrem_h5_attr_i64(g, cn, "layer", &layer);
        xrem_bertscore *b = scorer_for(&sc, (int)layer);
        if (!b) {
            CHECK(0, "%s: no scorer for layer %lld", cn, (long long)layer);
            continue;
        }
        xrem_bertscore_opts o;
        xrem_bertscore_opts_default(&o);
        o.idf = (int)idf;
        o.match_batch = (int)mb;
        o.enc_tokens = enc_tokens;
        o.chunk_tokens = chunk_tokens;
        double t0 = now_s();
        xrem_status st = xrem_bertscore_score(b, (const char *const *)cands, (const char *const *)refs, n, &o, P, R, F);
        double dt = now_s() - t0;
        CHECK(st == XREM_OK, "%s: score: %s", cn, xrem_last_error());
        if (st) continue;
        char name[96];
        if (rescale) {
            snprintf(name, sizeof name, "%s/baseline", cn);
            double *bl = read_f64(golden, name, 3);
            CHECK(bl != NULL, "%s: no baseline", cn);
            if (bl) xrem_bertscore_rescale(bl, n, P, R, F);
            free(bl);
        }
        static const char *k3 = "PRF";
        double case_worst = 0;
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "%s/%c", cn, k3[k]);
            double *want = read_f64(golden, name, n);
            int64_t at = 0;
            double e = want ? max_err(P + k * n, want, n, &at) : INFINITY;
            if (e > worst) worst = e;
            if (e > case_worst) case_worst = e;
            CHECK(e <= tol, "%s %s: max error %.3g at pair %lld (got %.9g, want %.9g)", golden, name, e, (long long)at,
                  P[k * n + at], want ? want[at] : NAN);
            if (!quiet && k == 2)
                printf("  %-26s layer %lld idf %lld batch %-3lld rescale %lld: max err P/R/F <= %.2e  (%.3f s)\n", cn,
                       (long long)layer, (long long)idf, (long long)mb, (long long)rescale, case_worst, dt);
            free(want);
        }
    }
    free(P);
done:
    for (int l = 0; l < 8; l++)
        xrem_bertscore_free(sc.bs[l]);
    xrem_strings_free(cands, n);
    xrem_strings_free(refs, nr);
    free(ids);
    free(off);
    xrem_h5_close(g);
    return worst;
}

#endif
