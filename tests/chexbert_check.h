/* Shared by test_chexbert.c (CPU) and test_gpu_chexbert.c (CUDA): the CheXbert labeler against the
 * committed goldens (scripts/make_chexbert_goldens.py), on whatever backend the model was loaded
 * on: the network on the golden ids (xrem_chexbert_forward, one padded batch): logits and the raw
 * [CLS] vectors to 1e-4; end to end from the texts (xrem_chexbert_run, all at once and in other
 * groupings): identical classes, [CLS] to 1e-4, s_emb of the golden pairs to 1e-4. Failures are
 * counted in xrem_test_failures. */
#ifndef XREM_TEST_CHEXBERT_CHECK_H
#define XREM_TEST_CHEXBERT_CHECK_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/chexbert.h"
#include "testutil.h"

#define TOL 1e-4 /* DESIGN §6: fp32 (CPU, and CUDA in its fp32 mode) vs PyTorch fp32 */
#define NC XREM_CHEXBERT_NCOND
#define NL XREM_CHEXBERT_NLOGITS

typedef struct {
    char **text, **name, **clean;
    int64_t n, T, C, P;
    int32_t *ids, *lens, *classes, *pair_a, *pair_b;
    float *logits, *cls, *semb;
} golden;

static void golden_free(golden *g)
{
    xrem_strings_free(g->text, g->n);
    xrem_strings_free(g->name, g->n);
    xrem_strings_free(g->clean, g->n);
    free(g->ids);
    free(g->lens);
    free(g->classes);
    free(g->pair_a);
    free(g->pair_b);
    free(g->logits);
    free(g->cls);
    free(g->semb);
}

static int golden_read(xrem_h5 *h, golden *g)
{
    int64_t ne[XREM_MAX_DIMS], n2, n3;
    CHECK_OK(xrem_h5_read_strings(h, "text", &g->text, &g->n));
    CHECK_OK(xrem_h5_read_strings(h, "name", &g->name, &n2));
    CHECK_OK(xrem_h5_read_strings(h, "clean", &g->clean, &n3));
    CHECK_OK(n2 == g->n && n3 == g->n ? XREM_OK : xrem_fail(XREM_ERR_FORMAT, "text/name/clean counts differ"));
    CHECK_OK(xrem_h5_read_i32(h, "ids", 2, (int64_t[]){g->n, -1}, &g->ids, ne));
    g->T = ne[1];
    CHECK_OK(xrem_h5_read_i32(h, "lens", 1, (int64_t[]){g->n}, &g->lens, ne));
    CHECK_OK(xrem_h5_read_i32(h, "classes", 2, (int64_t[]){g->n, NC}, &g->classes, ne));
    CHECK_OK(xrem_h5_read_f32(h, "logits", 2, (int64_t[]){g->n, NL}, &g->logits, ne));
    CHECK_OK(xrem_h5_read_f32(h, "cls", 2, (int64_t[]){g->n, -1}, &g->cls, ne));
    g->C = ne[1];
    CHECK_OK(xrem_h5_read_i32(h, "pair_a", 1, NULL, &g->pair_a, ne));
    g->P = ne[0];
    CHECK_OK(xrem_h5_read_i32(h, "pair_b", 1, (int64_t[]){g->P}, &g->pair_b, ne));
    CHECK_OK(xrem_h5_read_f32(h, "semb", 1, (int64_t[]){g->P}, &g->semb, ne));
    return 0;
}

static double compare(const char *what, const float *got, const float *want, int64_t n)
{
    int64_t w;
    double e = xrem_test_max_abs(got, want, n, &w);
    printf("  %-34s max abs err %.3g (tol %.0e)%s\n", what, e, TOL, e <= TOL ? "" : "  <-- FAIL");
    CHECK(e <= TOL, "%s: max abs err %g at %lld (got %g, golden %g)", what, e, (long long)w, got[w], want[w]);
    return e;
}

/* Classes must equal the golden's, except where the golden's own logits of the two classes are within
 * 2 * TOL (a near tie that rounding on another CPU may order either way: compared as a set). Head c
 * has 4 logits at 4c (No Finding, the last, has 2). */
static void compare_classes(const char *what, const int32_t *got, const int32_t *want, const float *logits, int64_t n)
{
    int bad = 0, ties = 0;
    for (int64_t i = 0; i < n * NC; i++) {
        if (got[i] == want[i]) continue;
        int c = (int)(i % NC), width = c == NC - 1 ? 2 : 4;
        const float *l = logits + (i / NC) * NL + 4 * c;
        int tie = got[i] >= 0 && got[i] < width && fabsf(l[got[i]] - l[want[i]]) <= 2 * TOL;
        ties += tie;
        bad += !tie;
    }
    printf("  %-34s %d/%lld classes differ (%d more in near ties)\n", what, bad, (long long)(n * NC), ties);
    CHECK(bad == 0, "%s: %d classes differ", what, bad);
}

/* The network on the golden ids, all texts as one batch padded to T. */
static int check_forward(xrem_chexbert *m, const golden *g)
{
    int32_t *mask = malloc(sizeof(int32_t) * (size_t)(g->n * g->T));
    float *lg = malloc(sizeof(float) * (size_t)(g->n * NL)), *cls = malloc(sizeof(float) * (size_t)(g->n * g->C));
    for (int64_t i = 0; i < g->n; i++)
        for (int64_t t = 0; t < g->T; t++)
            mask[i * g->T + t] = t < g->lens[i];
    CHECK_OK(xrem_chexbert_forward(m, g->ids, mask, (int)g->n, (int)g->T, lg, cls));
    compare("forward logits (golden ids)", lg, g->logits, g->n * NL);
    compare("forward [CLS] (golden ids)", cls, g->cls, g->n * g->C);
    free(mask);
    free(lg);
    free(cls);
    return 0;
}

/* End to end in groups of `step` texts taken in reverse order (other batch compositions). */
static int run_groups(xrem_chexbert *m, const golden *g, int step, int32_t *classes, float *cls)
{
    const int n = (int)g->n, C = (int)g->C;
    const char **t = malloc(sizeof(char *) * (size_t)n);
    int32_t *c2 = malloc(sizeof(int32_t) * (size_t)n * NC);
    float *e2 = malloc(sizeof(float) * (size_t)n * (size_t)C);
    for (int i = 0; i < n; i++)
        t[i] = g->text[n - 1 - i];
    for (int i = 0; i < n; i += step) {
        int k = n - i < step ? n - i : step;
        CHECK_OK(xrem_chexbert_run(m, t + i, k, c2 + (size_t)i * NC, e2 + (size_t)i * C));
    }
    for (int i = 0; i < n; i++) {
        memcpy(classes + (size_t)(n - 1 - i) * NC, c2 + (size_t)i * NC, sizeof(int32_t) * NC);
        memcpy(cls + (size_t)(n - 1 - i) * C, e2 + (size_t)i * C, sizeof(float) * (size_t)C);
    }
    free(t);
    free(c2);
    free(e2);
    return 0;
}

static void check_semb(const char *what, const golden *g, const float *cls)
{
    float *s = malloc(sizeof(float) * (size_t)g->P);
    for (int64_t k = 0; k < g->P; k++)
        s[k] = (float)xrem_chexbert_semb(cls + g->pair_a[k] * g->C, cls + g->pair_b[k] * g->C, (int)g->C);
    compare(what, s, g->semb, g->P);
    free(s);
}

static int check_run(xrem_chexbert *m, const golden *g, int full)
{
    const int64_t n = g->n;
    int32_t *classes = malloc(sizeof(int32_t) * (size_t)(n * NC));
    float *cls = malloc(sizeof(float) * (size_t)(n * g->C));
    CHECK_OK(xrem_chexbert_run(m, (const char *const *)g->text, (int)n, classes, cls));
    compare_classes("run (all texts)", classes, g->classes, g->logits, n);
    compare("run [CLS] (all texts)", cls, g->cls, n * g->C);
    check_semb("s_emb of the pairs (run)", g, cls);
    for (int step = 1; full && step <= 7; step += 6) {
        char what[64];
        if (run_groups(m, g, step, classes, cls)) return 1;
        snprintf(what, sizeof what, "run (groups of %d, reversed)", step);
        compare_classes(what, classes, g->classes, g->logits, n);
        snprintf(what, sizeof what, "run [CLS] (groups of %d)", step);
        compare(what, cls, g->cls, n * g->C);
    }
    memset(classes, 0xff, sizeof(int32_t) * (size_t)(n * NC));
    CHECK_OK(xrem_chexbert_run(m, (const char *const *)g->text, (int)n, classes, NULL));
    compare_classes("run (classes only)", classes, g->classes, g->logits, n);
    free(classes);
    free(cls);
    return 0;
}

#endif
