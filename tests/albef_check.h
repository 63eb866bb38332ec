/* Shared by test_albef_golden.c, test_gpu_albef_golden.c and test_ref_albef_full.c: run a converted
 * ALBEF model on a golden's inputs, on a named backend, and compare every stored tensor (per-layer
 * traces and outputs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/albef.h"
#include "testutil.h"

typedef struct {
    xrem_h5 *g;
    xrem_backend *be;
    double tol; /* per-layer traces */
    int compared;
    const int32_t *mask; /* text.mask [M, L] */
    int M, L;
} albef_trace_ctx;

/* BERT states [N, L, C] of texts (N == M) or image-major pairs (text n % M): the ITM path keeps no
 * padding (a text's tokens after its last unmasked one), so those rows are not compared (its trace
 * gives them as 0). Returns the rows left out. */
static int64_t albef_trace_unpad(const albef_trace_ctx *c, const float *got, float *ref, const int64_t *ne, int nd)
{
    if (nd != 3 || !c->mask || ne[1] != c->L || c->M <= 0 || ne[0] % c->M) return 0;
    int64_t skipped = 0;
    for (int64_t n = 0; n < ne[0]; n++) {
        const int32_t *mk = c->mask + (n % c->M) * c->L;
        int64_t len = c->L;
        while (len > 0 && !mk[len - 1])
            len--;
        for (int64_t t = len ? len : c->L; t < c->L; t++, skipped++)
            memcpy(ref + (n * c->L + t) * ne[2], got + (n * c->L + t) * ne[2], sizeof(float) * (size_t)ne[2]);
    }
    return skipped;
}

static void albef_compare_bert(albef_trace_ctx *c, const char *name, const float *got, int64_t n)
{
    float *ref = NULL;
    int64_t ne[XREM_MAX_DIMS];
    int nd = 0;
    if (xrem_h5_info(c->g, name, &nd, ne, NULL) != XREM_OK || xrem_h5_read_f32(c->g, name, nd, NULL, &ref, ne)) {
        fprintf(stderr, "  %-28s cannot read golden: %s\n", name, xrem_last_error());
        xrem_test_failures++;
        return;
    }
    int64_t numel = 1;
    for (int i = 0; i < nd; i++)
        numel *= ne[i];
    if (numel != n) {
        fprintf(stderr, "  %-28s size %lld, golden has %lld\n", name, (long long)n, (long long)numel);
        xrem_test_failures++;
        free(ref);
        return;
    }
    const int64_t skipped = albef_trace_unpad(c, got, ref, ne, nd);
    int64_t w = 0;
    const double e = xrem_test_max_abs(got, ref, n, &w);
    printf("  %-28s max abs err %.3g (tol %.0e, %lld padding rows left out)%s\n", name, e, c->tol, (long long)skipped,
           e <= c->tol ? "" : "  <-- FAIL");
    if (!(e <= c->tol)) {
        fprintf(stderr, "  %s: worst at flat index %lld: got %.7g, golden %.7g\n", name, (long long)w, got[w], ref[w]);
        xrem_test_failures++;
    }
    free(ref);
}

static void albef_trace(const char *what, int i, const xrem_tensor *x, void *user)
{
    albef_trace_ctx *c = user;
    char name[128];
    if (i < 0)
        snprintf(name, sizeof name, "%s", what);
    else
        snprintf(name, sizeof name, "%s.%d", what, i);
    if (!xrem_h5_exists(c->g, name)) return; /* full-size goldens keep only some layers */
    int64_t n = xrem_tensor_numel(x);
    float *host = malloc(sizeof(float) * (size_t)n);
    c->be->download(c->be, host, x->data, sizeof(float) * (size_t)n);
    if (!strncmp(name, "bert.", 5))
        albef_compare_bert(c, name, host, n);
    else
        xrem_test_compare(c->g, name, host, n, c->tol);
    c->compared++;
    free(host);
}

/* On backend `backend` ("cpu", "cuda", ...; threads for the CPU backend). Returns 0 when it ran
 * (failures counted in xrem_test_failures), TEST_SKIP when that backend is absent (a build without
 * CUDA, no device), 1 on a setup error.
 * tol: outputs (features, scores, logits, image_embeds); trace_tol: per-layer activations. */
static int albef_check(const char *backend, const char *weights, const char *golden, int threads, double tol,
                       double trace_tol)
{
    xrem_backend *be = NULL;
    xrem_h5 *g = NULL;
    xrem_albef *m = NULL;
    float *img = NULL;
    int32_t *ids = NULL, *mask = NULL;
    int64_t ine[4], tne[4];
    int64_t res = 0;
    printf("%s (%s backend)\n", golden, backend);
    const int rc = xrem_test_backend(backend, threads, &be);
    if (rc) return rc;
    CHECK_OK(xrem_h5_open(golden, &g));
    CHECK_OK(xrem_h5_attr_i64(g, "/", "res", &res));
    CHECK_OK(xrem_albef_load(weights, be, (int)res, &m));
    CHECK_OK(xrem_h5_read_f32(g, "image", 4, NULL, &img, ine));
    CHECK_OK(xrem_h5_read_i32(g, "text.ids", 2, NULL, &ids, tne));
    CHECK_OK(xrem_h5_read_i32(g, "text.mask", 2, tne, &mask, tne));
    const int B = (int)ine[0], Cin = (int)ine[1], M = (int)tne[0], L = (int)tne[1];
    const int T = xrem_vit_tokens(xrem_albef_vit(m)), Cv = xrem_albef_vit(m)->cfg.C;
    albef_trace_ctx ctx = {g, be, trace_tol, 0, mask, M, L};

    float *emb = malloc(sizeof(float) * (size_t)B * T * Cv);
    if (xrem_albef_kind_of(m) == XREM_ALBEF_RETRIEVAL) {
        const int E = xrem_albef_embed_dim(m);
        float *ifeat = malloc(sizeof(float) * (size_t)B * E), *tfeat = malloc(sizeof(float) * (size_t)M * E);
        float *score = malloc(sizeof(float) * (size_t)B * M), *l2 = malloc(sizeof(float) * (size_t)B * M * 2);
        CHECK_OK(xrem_albef_encode_images(m, img, B, Cin, emb, ifeat, albef_trace, &ctx));
        xrem_test_compare(g, "image_embeds", emb, (int64_t)B * T * Cv, tol);
        xrem_test_compare(g, "image_feat", ifeat, (int64_t)B * E, tol);
        CHECK_OK(xrem_albef_encode_texts(m, ids, mask, M, L, tfeat, albef_trace, &ctx));
        xrem_test_compare(g, "text_feat", tfeat, (int64_t)M * E, tol);
        for (int b = 0; b < B; b++)
            for (int j = 0; j < M; j++) {
                double d = 0;
                for (int e = 0; e < E; e++)
                    d += (double)ifeat[b * E + e] * tfeat[j * E + e];
                score[b * M + j] = (float)d;
            }
        xrem_test_compare(g, "itc_score", score, (int64_t)B * M, tol);
        if (xrem_albef_has_itm_head(m) && xrem_h5_exists(g, "itm2_logits")) {
            CHECK_OK(xrem_albef_itm(m, img, B, Cin, ids, mask, M, L, l2, albef_trace, &ctx));
            xrem_test_compare(g, "itm2_logits", l2, (int64_t)B * M * 2, tol);
        }
        free(ifeat);
        free(tfeat);
        free(score);
        free(l2);
    } else {
        float *logits = malloc(sizeof(float) * (size_t)B * M * 3), *score = malloc(sizeof(float) * (size_t)B * M);
        CHECK_OK(xrem_albef_encode_images(m, img, B, Cin, emb, NULL, albef_trace, &ctx));
        xrem_test_compare(g, "image_embeds", emb, (int64_t)B * T * Cv, tol);
        CHECK_OK(xrem_albef_itm(m, img, B, Cin, ids, mask, M, L, logits, albef_trace, &ctx));
        xrem_test_compare(g, "itm_logits", logits, (int64_t)B * M * 3, tol);
        for (int p = 0; p < B * M; p++)
            score[p] = logits[p * 3 + 2]; /* X-REM's ITM score */
        xrem_test_compare(g, "itm_score", score, (int64_t)B * M, tol);
        free(logits);
        free(score);
    }
    printf("  (%d per-layer traces compared)\n", ctx.compared);
    CHECK(ctx.compared > 0, "no per-layer tensors were compared");
    free(emb);
    free(img);
    free(ids);
    free(mask);
    xrem_albef_free(m);
    xrem_h5_close(g);
    xrem_backend_free(be);
    return 0;
}
