#include "pipeline/itc.h"

#include <stdlib.h>
#include <string.h>

struct xrem_itc {
    xrem_backend *be;
    xrem_tensor corpus; /* [M, E] */
    int64_t M;
    int E;
    float *scores;      /* host [rows, M] */
    int rows_cap;
    xrem_tensor x, y;   /* device scratch [rows_cap, E], [rows_cap, M] */
};

/* a before b in the ranking */
static int better(float sa, int64_t ia, float sb, int64_t ib) { return sa > sb || (sa == sb && ia < ib); }

void xrem_topk_desc(const float *v, int64_t n, int K, int32_t *idx)
{
    /* insertion into a sorted window: O(n) for typical data, K is small (<= a few hundred) */
    int have = 0;
    for (int64_t i = 0; i < n; i++) {
        if (have == K && !better(v[i], i, v[idx[K - 1]], idx[K - 1])) continue;
        int j = have < K ? have++ : K - 1;
        while (j > 0 && better(v[i], i, v[idx[j - 1]], idx[j - 1])) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = (int32_t)i;
    }
}

xrem_status xrem_itc_create(xrem_backend *be, const float *corpus_feat, int64_t M, int E, xrem_itc **out)
{
    xrem_itc *t = calloc(1, sizeof *t);
    if (!t) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    t->be = be;
    t->M = M;
    t->E = E;
    xrem_status s = xrem_tensor_alloc(be, XREM_F32, 2, (int64_t[]){M, E}, &t->corpus);
    if (s) {
        free(t);
        return s;
    }
    be->upload(be, t->corpus.data, corpus_feat, sizeof(float) * (size_t)M * E);
    *out = t;
    return XREM_OK;
}

void xrem_itc_free(xrem_itc *t)
{
    if (!t) return;
    xrem_tensor_release(t->be, &t->corpus);
    xrem_tensor_release(t->be, &t->x);
    xrem_tensor_release(t->be, &t->y);
    free(t->scores);
    free(t);
}

static xrem_status itc_reserve(xrem_itc *t, int n)
{
    if (n <= t->rows_cap) return XREM_OK;
    xrem_tensor_release(t->be, &t->x);
    xrem_tensor_release(t->be, &t->y);
    free(t->scores);
    t->scores = malloc(sizeof(float) * (size_t)n * t->M);
    xrem_status s = t->scores ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory for %d×%lld scores", n, (long long)t->M);
    if (!s) s = xrem_tensor_alloc(t->be, XREM_F32, 2, (int64_t[]){n, t->E}, &t->x);
    if (!s) s = xrem_tensor_alloc(t->be, XREM_F32, 2, (int64_t[]){n, t->M}, &t->y);
    t->rows_cap = s ? 0 : n;
    return s;
}

xrem_status xrem_itc_topk(xrem_itc *t, const float *img_feat, int n, int K, int32_t *idx, float *score)
{
    if (K < 1 || K > t->M) return xrem_fail(XREM_ERR_ARG, "K1 = %d, expected 1..%lld (corpus size)", K, (long long)t->M);
    xrem_status s = itc_reserve(t, n);
    if (s) return s;
    xrem_tensor x = t->x, y = t->y;
    x.ne[0] = y.ne[0] = n;
    t->be->upload(t->be, x.data, img_feat, sizeof(float) * (size_t)n * t->E);
    t->be->linear(t->be, &y, &x, &t->corpus, NULL); /* y = img · corpusᵀ */
    t->be->download(t->be, t->scores, y.data, sizeof(float) * (size_t)n * t->M);
    if ((s = t->be->sync(t->be))) return s;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *row = t->scores + (int64_t)i * t->M;
        xrem_topk_desc(row, t->M, K, idx + (int64_t)i * K);
        for (int k = 0; k < K; k++) score[(int64_t)i * K + k] = row[idx[(int64_t)i * K + k]];
    }
    return XREM_OK;
}
