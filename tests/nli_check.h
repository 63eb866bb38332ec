/* Shared by test_nli.c (CPU) and test_gpu_nli.c (CUDA): the NLI model (ifcc BERTNLI) against the
 * committed goldens (scripts/make_nli_goldens.py), on whatever backend the model was loaded on:
 * ifcc's encoding of every pair (identical ids and types), the network on the golden ids
 * (xrem_nli_forward) and end to end from the texts (xrem_nli_classify, all pairs at once and in
 * other groupings): logits to 1e-4, identical labels. Failures are counted in xrem_test_failures. */
#ifndef XREM_TEST_NLI_CHECK_H
#define XREM_TEST_NLI_CHECK_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/nli.h"
#include "testutil.h"

#define TOL 1e-4 /* DESIGN §6: fp32 (CPU, and CUDA in its fp32 mode) vs PyTorch fp32 */

typedef struct {
    char **prem, **hyp, **name;
    int64_t n, T;
    int32_t *ids, *types, *mask, *lens, *labels;
    float *logits;
} golden_set;

static void golden_free(golden_set *s)
{
    xrem_strings_free(s->prem, s->n);
    xrem_strings_free(s->hyp, s->n);
    xrem_strings_free(s->name, s->n);
    free(s->ids);
    free(s->types);
    free(s->mask);
    free(s->lens);
    free(s->labels);
    free(s->logits);
    memset(s, 0, sizeof *s);
}

/* suffix "" (max_len 384) or "_64" */
static int golden_read(xrem_h5 *g, const char *suffix, golden_set *s)
{
    char k[64];
    int64_t ne[XREM_MAX_DIMS], n1, n2, n3;
    CHECK_OK(xrem_h5_read_strings(g, "premise", &s->prem, &n1));
    CHECK_OK(xrem_h5_read_strings(g, "hypothesis", &s->hyp, &n2));
    CHECK_OK(xrem_h5_read_strings(g, "name", &s->name, &n3));
    s->n = n1;
    CHECK(n1 == n2 && n1 == n3, "premise/hypothesis/name counts differ");
    snprintf(k, sizeof k, "ids%s", suffix);
    CHECK_OK(xrem_h5_read_i32(g, k, 2, (int64_t[]){s->n, -1}, &s->ids, ne));
    s->T = ne[1];
    snprintf(k, sizeof k, "types%s", suffix);
    CHECK_OK(xrem_h5_read_i32(g, k, 2, ne, &s->types, ne));
    snprintf(k, sizeof k, "mask%s", suffix);
    CHECK_OK(xrem_h5_read_i32(g, k, 2, ne, &s->mask, ne));
    snprintf(k, sizeof k, "lens%s", suffix);
    CHECK_OK(xrem_h5_read_i32(g, k, 1, (int64_t[]){s->n}, &s->lens, ne));
    snprintf(k, sizeof k, "labels%s", suffix);
    CHECK_OK(xrem_h5_read_i32(g, k, 1, (int64_t[]){s->n}, &s->labels, ne));
    snprintf(k, sizeof k, "logits%s", suffix);
    CHECK_OK(xrem_h5_read_f32(g, k, 2, (int64_t[]){s->n, 3}, &s->logits, ne));
    return 0;
}

/* xrem_nli_encode of every pair equals the golden ids/types (their first lens[i] entries). */
static int check_encode(xrem_nli *m, const golden_set *s, int max_len)
{
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)max_len), *types = malloc(sizeof(int32_t) * (size_t)max_len);
    int bad = 0;
    for (int64_t i = 0; i < s->n; i++) {
        int len = -1;
        CHECK_OK(xrem_nli_encode(m, s->prem[i], s->hyp[i], max_len, ids, types, &len));
        int ok = len == s->lens[i];
        for (int t = 0; ok && t < len; t++)
            ok = ids[t] == s->ids[i * s->T + t] && types[t] == s->types[i * s->T + t];
        if (!ok && bad++ < 5)
            fprintf(stderr, "  encode: pair %s differs (len %d, golden %d)\n", s->name[i], len, s->lens[i]);
    }
    printf("  encode max_len %-3d %lld pairs, %d differ\n", max_len, (long long)s->n, bad);
    CHECK(bad == 0, "%d pairs encoded differently", bad);
    free(ids);
    free(types);
    return 0;
}

/* Labels must equal the golden's, except where the golden's own logits of the two labels are within
 * 2 * TOL (a near tie that rounding on another CPU may order either way: compared as a set). */
static void check_labels(const char *what, const int *got, const int32_t *want, const float *logits, int64_t n)
{
    int bad = 0, ties = 0;
    for (int64_t i = 0; i < n; i++) {
        if (got[i] == want[i]) continue;
        int tie = got[i] >= 0 && got[i] < 3 && fabsf(logits[i * 3 + got[i]] - logits[i * 3 + want[i]]) <= 2 * TOL;
        ties += tie;
        bad += !tie;
    }
    printf("  %-28s %d/%lld labels differ (%d more in near ties)\n", what, bad, (long long)n, ties);
    CHECK(bad == 0, "%s: %d labels differ", what, bad);
}

static double compare(const char *what, const float *got, const float *want, int64_t n)
{
    int64_t w;
    double e = xrem_test_max_abs(got, want, n, &w);
    printf("  %-28s max abs err %.3g (tol %.0e)%s\n", what, e, TOL, e <= TOL ? "" : "  <-- FAIL");
    CHECK(e <= TOL, "%s: max abs err %g at %lld (got %g, golden %g)", what, e, (long long)w, got[w], want[w]);
    return e;
}

/* End to end in groups of `step` pairs taken in reverse order (other batch compositions). */
static int check_groups(xrem_nli *m, const golden_set *s, int max_len, int step, float *logits, int *labels)
{
    const int n = (int)s->n;
    const char **p = malloc(sizeof(char *) * (size_t)n), **h = malloc(sizeof(char *) * (size_t)n);
    for (int i = 0; i < n; i++) {
        p[i] = s->prem[n - 1 - i];
        h[i] = s->hyp[n - 1 - i];
    }
    float *lg = malloc(sizeof(float) * 3 * (size_t)n);
    int *lb = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i += step) {
        int k = n - i < step ? n - i : step;
        CHECK_OK(xrem_nli_classify(m, p + i, h + i, k, max_len, lg + 3 * i, lb + i));
    }
    for (int i = 0; i < n; i++) {
        memcpy(logits + 3 * (n - 1 - i), lg + 3 * i, sizeof(float) * 3);
        labels[n - 1 - i] = lb[i];
    }
    free(p);
    free(h);
    free(lg);
    free(lb);
    return 0;
}

/* full: also the network on the golden (padded) ids and other groupings; else only classify. */
static int check_set(xrem_nli *m, xrem_h5 *g, const char *suffix, int max_len, int full)
{
    golden_set s = {0};
    if (golden_read(g, suffix, &s)) return 1;
    const int64_t n = s.n;
    float *logits = malloc(sizeof(float) * 3 * (size_t)n);
    int *labels = malloc(sizeof(int) * (size_t)n);
    char what[64];
    if (check_encode(m, &s, max_len)) return 1;
    if (full) {
        CHECK_OK(xrem_nli_forward(m, s.ids, s.types, s.mask, (int)n, (int)s.T, logits));
        snprintf(what, sizeof what, "forward%s (golden ids)", suffix);
        compare(what, logits, s.logits, 3 * n);
    }
    CHECK_OK(
        xrem_nli_classify(m, (const char *const *)s.prem, (const char *const *)s.hyp, (int)n, max_len, logits, labels));
    snprintf(what, sizeof what, "classify%s (all pairs)", suffix);
    compare(what, logits, s.logits, 3 * n);
    check_labels(what, labels, s.labels, s.logits, n);
    for (int step = 1; full && step <= 7; step += 6) {
        if (check_groups(m, &s, max_len, step, logits, labels)) return 1;
        snprintf(what, sizeof what, "classify%s (groups of %d)", suffix, step);
        compare(what, logits, s.logits, 3 * n);
        check_labels(what, labels, s.labels, s.logits, n);
    }
    /* labels only */
    memset(labels, 0xff, sizeof(int) * (size_t)n);
    CHECK_OK(
        xrem_nli_classify(m, (const char *const *)s.prem, (const char *const *)s.hyp, (int)n, max_len, NULL, labels));
    check_labels("classify (labels only)", labels, s.labels, s.logits, n);
    free(logits);
    free(labels);
    golden_free(&s);
    return 0;
}

#endif
