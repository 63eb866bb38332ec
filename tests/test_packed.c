/* Packed sequences (no padding) give what the padded computation gives on the real tokens:
 *   1. attention_packed against attention on the same sequences padded to a common length with a
 *      0/1 mask (self-attention with masked tokens inside some sequences; cross-attention where
 *      consecutive query sequences share a key sequence, as an image's ITM candidates do), CPU;
 *   2. the ITM path (xrem_albef_itm_sets, packed) against the padded BERT layers on every pair
 *      (xrem_bert_layers), on the small ITM golden's model and inputs with a mask that has a masked
 *      token inside a text and a text with no unmasked token (which the padded computation attends
 *      over uniformly): the last fusion layer's states on every kept token;
 *   3. the ITC text features (xrem_albef_encode_texts, packed) the same way on the small retrieval
 *      golden: the last text-only layer's states. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "models/albef.h"
#include "testutil.h"

#define TOL 1e-5 /* same fp32 sums up to the GEMMs' blocking */

static xrem_backend *be;

static uint64_t rng = 0x243F6A8885A308D3ull;
static float urand(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) / 16777216.0) * 4.0f - 2.0f;
}

static xrem_tensor host_tensor(int ndim, const int64_t *ne, int fill)
{
    xrem_tensor t;
    if (xrem_tensor_alloc(be, XREM_F32, ndim, ne, &t)) {
        fprintf(stderr, "alloc: %s\n", xrem_last_error());
        exit(1);
    }
    float *p = t.data;
    for (int64_t i = 0; i < xrem_tensor_numel(&t); i++)
        p[i] = fill ? urand() : NAN;
    return t;
}
#define HT(fill, ...)                                                                                                  \
    host_tensor((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}, fill)

/* max |packed - padded| over the real rows of each sequence */
static double rows_err(const float *packed, const float *padded, const int64_t *ofs, int64_t n, int64_t T, int64_t C)
{
    double e = 0;
    for (int64_t s = 0; s < n; s++)
        for (int64_t t = 0; t < ofs[s + 1] - ofs[s]; t++)
            for (int64_t c = 0; c < C; c++) {
                const double d = fabs((double)packed[(ofs[s] + t) * C + c] - padded[(s * T + t) * C + c]);
                e = isnan(d) ? INFINITY : fmax(e, d);
            }
    return e;
}

static int check_self(void)
{
    enum { n = 5, T = 40, NH = 4, HS = 16, C = NH * HS };
    const int64_t len[n] = {1, 7, 40, 3, 25};
    int64_t ofs[n + 1] = {0};
    for (int s = 0; s < n; s++)
        ofs[s + 1] = ofs[s] + len[s];
    const int64_t N = ofs[n];
    xrem_tensor pad = HT(1, n, T, 3 * C), pk = HT(0, N, 3 * C), po = HT(0, n, T, C), ko = HT(0, N, C);
    float *pmask = malloc(sizeof(float) * n * T), *kmask = malloc(sizeof(float) * (size_t)N);
    for (int s = 0; s < n; s++)
        for (int64_t t = 0; t < T; t++) {
            const float v = t < len[s] && !(t == 2 && (s == 1 || s == 4)) ? 1.0f : 0.0f; /* holes inside */
            pmask[s * T + t] = v;
            if (t < len[s]) {
                kmask[ofs[s] + t] = v;
                memcpy((float *)pk.data + (ofs[s] + t) * 3 * C, (float *)pad.data + (s * T + t) * 3 * C,
                       sizeof(float) * 3 * C);
            }
        }
    be->attention(be, &po, &pad, 0, &pad, C, &pad, 2 * C, pmask, NH);
    const xrem_seqs sq = {n, ofs, n, ofs, NULL, kmask};
    be->attention_packed(be, &ko, &pk, 0, &pk, C, &pk, 2 * C, &sq, NH);
    CHECK_OK(be->sync(be));
    const double e = rows_err(ko.data, po.data, ofs, n, T, C);
    printf("  self-attention, masked tokens inside    max abs err %.3g (tol %.0e)\n", e, TOL);
    CHECK(e <= TOL, "self-attention packed vs padded: %g", e);
    /* without the holes the mask can be left out: padding is simply absent */
    for (int s = 0; s < n; s++)
        for (int64_t t = 0; t < T; t++)
            pmask[s * T + t] = t < len[s];
    const xrem_seqs nomask = {n, ofs, n, ofs, NULL, NULL};
    be->attention(be, &po, &pad, 0, &pad, C, &pad, 2 * C, pmask, NH);
    be->attention_packed(be, &ko, &pk, 0, &pk, C, &pk, 2 * C, &nomask, NH);
    CHECK_OK(be->sync(be));
    const double e2 = rows_err(ko.data, po.data, ofs, n, T, C);
    printf("  self-attention, padding only, no mask   max abs err %.3g (tol %.0e)\n", e2, TOL);
    CHECK(e2 <= TOL, "self-attention packed (no mask) vs padded: %g", e2);
    xrem_tensor *ts[] = {&pad, &pk, &po, &ko};
    for (int i = 0; i < 4; i++)
        xrem_tensor_release(be, ts[i]);
    free(pmask);
    free(kmask);
    return 0;
}

static int check_cross(void)
{
    enum { n = 6, T = 30, nk = 2, Tk = 50, NH = 3, HS = 8, C = NH * HS };
    const int64_t len[n] = {4, 9, 1, 30, 12, 2};
    const int32_t kv_of[n] = {0, 0, 0, 1, 1, 1};
    int64_t ofs[n + 1] = {0}, kofs[nk + 1] = {0, Tk, 2 * Tk};
    for (int s = 0; s < n; s++)
        ofs[s + 1] = ofs[s] + len[s];
    const int64_t N = ofs[n];
    xrem_tensor q = HT(1, n, T, C), kv = HT(1, nk, Tk, 2 * C), qp = HT(0, N, C), po = HT(0, n, T, C), ko = HT(0, N, C);
    for (int s = 0; s < n; s++)
        memcpy((float *)qp.data + ofs[s] * C, (float *)q.data + s * T * C, sizeof(float) * (size_t)(len[s] * C));
    xrem_tensor kv2 = kv;
    kv2.ndim = 2;
    kv2.ne[0] = nk * Tk;
    kv2.ne[1] = 2 * C;
    be->attention(be, &po, &q, 0, &kv, 0, &kv, C, NULL, NH);
    const xrem_seqs sq = {n, ofs, nk, kofs, kv_of, NULL};
    be->attention_packed(be, &ko, &qp, 0, &kv2, 0, &kv2, C, &sq, NH);
    CHECK_OK(be->sync(be));
    const double e = rows_err(ko.data, po.data, ofs, n, T, C);
    printf("  cross-attention, 3 sequences per key    max abs err %.3g (tol %.0e)\n", e, TOL);
    CHECK(e <= TOL, "cross-attention packed vs padded: %g", e);
    xrem_tensor *ts[] = {&q, &kv, &qp, &po, &ko};
    for (int i = 0; i < 5; i++)
        xrem_tensor_release(be, ts[i]);
    return 0;
}

/* ---- 2. the ITM path ----------------------------------------------------------------------------- */

typedef struct {
    char want[64];
    float *got;
    int64_t n;
} fusion_grab;

static void grab(const char *what, int i, const xrem_tensor *x, void *user)
{
    fusion_grab *g = user;
    char name[96];
    snprintf(name, sizeof name, "%s.%d", what, i);
    if (strcmp(name, g->want)) return;
    free(g->got);
    g->n = xrem_tensor_numel(x);
    g->got = malloc(sizeof(float) * (size_t)g->n);
    be->download(be, g->got, x->data, sizeof(float) * (size_t)g->n);
}

static int check_itm(void)
{
    xrem_h5 *g = NULL;
    xrem_albef *m = NULL;
    float *img = NULL;
    int32_t *ids = NULL, *mask = NULL;
    int64_t ine[4], tne[4], res = 0;
    CHECK_OK(xrem_h5_open(xrem_test_src("tests/golden/albef_small_itm.golden.h5"), &g));
    CHECK_OK(xrem_h5_attr_i64(g, "/", "res", &res));
    CHECK_OK(xrem_albef_load(xrem_test_src("tests/golden/albef_small_itm.weights.h5"), be, (int)res, &m));
    CHECK_OK(xrem_h5_read_f32(g, "image", 4, NULL, &img, ine));
    CHECK_OK(xrem_h5_read_i32(g, "text.ids", 2, NULL, &ids, tne));
    CHECK_OK(xrem_h5_read_i32(g, "text.mask", 2, tne, &mask, tne));
    const int B = (int)ine[0], Cin = (int)ine[1], M = (int)tne[0], L = (int)tne[1];
    const xrem_bert *bert = xrem_albef_bert(m);
    const int T = xrem_vit_tokens(xrem_albef_vit(m)), Cv = xrem_albef_vit(m)->cfg.C, C = bert->cfg.C, P = B * M;
    CHECK(M >= 3 && L >= 5, "golden has %d texts of %d tokens, the test needs 3 of 5", M, L);
    if (M < 3 || L < 5) return 1;
    /* text 0: a masked token inside; text 1: no unmasked token; the rest as the golden has them */
    mask[2] = 0;
    for (int t = 0; t < L; t++)
        mask[L + t] = 0;
    int64_t len[64];
    CHECK(M <= 64, "%d texts", M);
    for (int j = 0; j < M && j < 64; j++) {
        int64_t n = L;
        while (n > 0 && !mask[j * L + n - 1])
            n--;
        len[j] = n ? n : L;
    }
    CHECK(len[1] == L && len[0] > 3, "lengths %lld %lld", (long long)len[0], (long long)len[1]);

    fusion_grab fg = {{0}, NULL, 0};
    snprintf(fg.want, sizeof fg.want, "bert.fusion.layer.%d", bert->cfg.L - 1);
    float *logits = malloc(sizeof(float) * (size_t)P * 3), *emb = malloc(sizeof(float) * (size_t)B * T * Cv);
    CHECK_OK(xrem_albef_itm(m, img, B, Cin, ids, mask, M, L, logits, grab, &fg));
    CHECK_OK(xrem_albef_encode_images(m, img, B, Cin, emb, NULL, NULL, NULL));
    CHECK(fg.got && fg.n == (int64_t)P * L * C, "no %s trace of [%d, %d, %d]", fg.want, P, L, C);
    int finite = 1;
    for (int p = 0; p < P * 3; p++)
        finite &= isfinite(logits[p]) != 0;
    CHECK(finite, "ITM logits not finite");

    /* the padded reference: every pair through all layers */
    int32_t *pid = malloc(sizeof(int32_t) * (size_t)P * L);
    float *pmask = malloc(sizeof(float) * (size_t)P * L), *out = malloc(sizeof(float) * (size_t)P * L * C);
    xrem_test_pairs(ids, mask, M, L, P, pid, pmask);
    xrem_arena a;
    CHECK_OK(
        xrem_arena_init(&a, be, xrem_bert_arena_bytes(bert, P, L, B, T) + sizeof(float) * (size_t)B * T * Cv + 4 * 64));
    xrem_tensor enc = xrem_arena_f32_3d(&a, B, T, Cv);
    be->upload(be, enc.data, emb, sizeof(float) * (size_t)B * T * Cv);
    xrem_tensor x = xrem_bert_embed(bert, be, &a, pid, NULL, P, L);
    xrem_bert_layers(bert, be, &a, &x, pmask, 0, bert->cfg.L, &enc, NULL, NULL);
    be->download(be, out, x.data, sizeof(float) * (size_t)P * L * C);
    CHECK_OK(be->sync(be));
    double e = 0;
    int64_t kept = 0;
    for (int p = 0; fg.got && p < P; p++)
        for (int64_t t = 0; t < len[p % M]; t++, kept++)
            for (int c = 0; c < C; c++) {
                const int64_t i = ((int64_t)p * L + t) * C + c;
                const double d = fabs((double)fg.got[i] - out[i]);
                e = isnan(d) ? INFINITY : fmax(e, d);
            }
    printf("  ITM pairs, %s on %lld kept tokens  max abs err %.3g (tol 1e-4)\n", fg.want, (long long)kept, e);
    CHECK(kept > 0 && e <= 1e-4, "ITM packed vs padded last fusion layer: %g over %lld tokens", e, (long long)kept);
    xrem_arena_release(&a);
    free(pid);
    free(pmask);
    free(out);
    free(fg.got);
    free(logits);
    free(emb);
    free(img);
    free(ids);
    free(mask);
    xrem_albef_free(m);
    xrem_h5_close(g);
    return 0;
}

/* ITC text features (xrem_albef_encode_texts, packed) against the padded text layers, same mask edits */
static int check_texts(void)
{
    xrem_h5 *g = NULL;
    xrem_albef *m = NULL;
    int32_t *ids = NULL, *mask = NULL;
    int64_t tne[4];
    CHECK_OK(xrem_h5_open(xrem_test_src("tests/golden/albef_small_retrieval.golden.h5"), &g));
    CHECK_OK(xrem_albef_load(xrem_test_src("tests/golden/albef_small_retrieval.weights.h5"), be, 0, &m));
    CHECK_OK(xrem_h5_read_i32(g, "text.ids", 2, NULL, &ids, tne));
    CHECK_OK(xrem_h5_read_i32(g, "text.mask", 2, tne, &mask, tne));
    const int M = (int)tne[0], L = (int)tne[1];
    const xrem_bert *bert = xrem_albef_bert(m);
    const int C = bert->cfg.C, E = xrem_albef_embed_dim(m);
    CHECK(M >= 3 && L >= 5 && M <= 64, "golden has %d texts of %d tokens", M, L);
    if (M < 3 || L < 5 || M > 64) return 1;
    mask[2] = 0;
    for (int t = 0; t < L; t++)
        mask[L + t] = 0;
    int64_t len[64];
    for (int j = 0; j < M; j++) {
        int64_t n = L;
        while (n > 0 && !mask[j * L + n - 1])
            n--;
        len[j] = n ? n : L;
    }
    fusion_grab fg = {{0}, NULL, 0};
    snprintf(fg.want, sizeof fg.want, "bert.text.layer.%d", bert->cfg.fusion_layer - 1);
    float *feat = malloc(sizeof(float) * (size_t)M * E), *fm = malloc(sizeof(float) * (size_t)M * L);
    float *out = malloc(sizeof(float) * (size_t)M * L * C);
    CHECK_OK(xrem_albef_encode_texts(m, ids, mask, M, L, feat, grab, &fg));
    CHECK(fg.got && fg.n == (int64_t)M * L * C, "no %s trace of [%d, %d, %d]", fg.want, M, L, C);
    for (int i = 0; i < M * L; i++)
        fm[i] = mask[i] != 0;
    xrem_arena a;
    CHECK_OK(xrem_arena_init(&a, be, xrem_bert_arena_bytes(bert, M, L, 0, 0)));
    xrem_tensor x = xrem_bert_embed(bert, be, &a, ids, NULL, M, L);
    xrem_bert_layers(bert, be, &a, &x, fm, 0, bert->cfg.fusion_layer, NULL, NULL, NULL);
    be->download(be, out, x.data, sizeof(float) * (size_t)M * L * C);
    CHECK_OK(be->sync(be));
    double e = 0;
    int64_t kept = 0;
    for (int j = 0; fg.got && j < M; j++)
        for (int64_t t = 0; t < len[j]; t++, kept++)
            for (int c = 0; c < C; c++) {
                const int64_t i = ((int64_t)j * L + t) * C + c;
                const double d = fabs((double)fg.got[i] - out[i]);
                e = isnan(d) ? INFINITY : fmax(e, d);
            }
    printf("  ITC texts, %s on %lld kept tokens  max abs err %.3g (tol 1e-4)\n", fg.want, (long long)kept, e);
    CHECK(kept > 0 && e <= 1e-4, "ITC packed vs padded last text layer: %g over %lld tokens", e, (long long)kept);
    xrem_arena_release(&a);
    free(fg.got);
    free(feat);
    free(fm);
    free(out);
    free(ids);
    free(mask);
    xrem_albef_free(m);
    xrem_h5_close(g);
    return 0;
}

int main(void)
{
    CHECK_OK(xrem_backend_create("cpu", 1, &be));
    printf("attention_packed vs attention (CPU)\n");
    if (check_self() || check_cross()) xrem_test_failures++;
    printf("ITM, packed vs padded\n");
    if (check_itm()) xrem_test_failures++;
    printf("ITC text features, packed vs padded\n");
    if (check_texts()) xrem_test_failures++;
    xrem_backend_free(be);
    return xrem_test_failures ? 1 : 0;
}
