/* Parity of the NLI model (ifcc BERTNLI) with PyTorch on the committed goldens
 * (scripts/make_nli_goldens.py): for max_len 384 (the reference's) and 64,
 *   - ifcc's encoding of every pair (str.lower(), [CLS] a [SEP] b [SEP], types, the cut from the end):
 *     identical ids and types;
 *   - the network on the golden ids (xrem_nli_forward) and end to end from the texts
 *     (xrem_nli_classify, all pairs at once and in other groupings): logits to 1e-4, identical labels;
 * and bad input: a weights file of another arch, a missing file, a file without a vocabulary, bad
 * arguments. */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/nli.h"
#include "testutil.h"

#define TOL 1e-4 /* DESIGN §6: CPU fp32 vs PyTorch fp32 */

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

static void expect_fail(const char *what, xrem_status got, xrem_status want, const char *n1, const char *n2)
{
    const char *msg = xrem_last_error();
    printf("  %-26s -> [%s] %s\n", what, xrem_status_name(got), msg);
    CHECK(got == want, "%s: status %s, expected %s", what, xrem_status_name(got), xrem_status_name(want));
    CHECK(!n1 || strstr(msg, n1), "%s: message lacks '%s'", what, n1);
    CHECK(!n2 || strstr(msg, n2), "%s: message lacks '%s'", what, n2);
}

static int check_bad_input(xrem_backend *be, xrem_nli *m)
{
    xrem_nli *x = NULL;
    const char *albef = xrem_test_src("tests/golden/albef_small_itm.weights.h5");
    expect_fail("albef file", xrem_nli_load(albef, be, &x), XREM_ERR_FORMAT, albef, "'albef_itm', expected bert_nli");
    CHECK(x == NULL, "a failed load returned a model");
    expect_fail("missing file", xrem_nli_load("no/such/nli.h5", be, &x), XREM_ERR_IO, "no/such/nli.h5", NULL);
    const char *p[2] = {"No effusion.", NULL}, *h[2] = {"Effusion.", "x"};
    float lg[6];
    int lb[2];
    expect_fail("NULL premise", xrem_nli_classify(m, p, h, 2, 0, lg, lb), XREM_ERR_ARG, "pair 1", NULL);
    expect_fail("max_len too big", xrem_nli_classify(m, p, h, 1, 513, lg, lb), XREM_ERR_ARG, "513", "512");
    expect_fail("negative n", xrem_nli_classify(m, p, h, -1, 0, lg, lb), XREM_ERR_ARG, "-1", NULL);
    CHECK(xrem_nli_classify(m, p, h, 0, 0, lg, lb) == XREM_OK, "n == 0 must do nothing");
    CHECK(!strcmp(xrem_nli_label_name(XREM_NLI_NEUTRAL), "neutral") && !strcmp(xrem_nli_label_name(3), "?"),
          "label names");
    int32_t ids[3] = {2, 5000, 3}, types[3] = {0, 0, 1};
    expect_fail("id outside vocab", xrem_nli_forward(m, ids, types, NULL, 1, 3, lg), XREM_ERR_VALUE, "5000", NULL);
    ids[1] = 7;
    types[2] = 2;
    expect_fail("token type 2", xrem_nli_forward(m, ids, types, NULL, 1, 3, lg), XREM_ERR_VALUE, "token type 2", NULL);
    return 0;
}

/* A copy of the weights without its tokenizer group loads; the network runs, texts are refused. */
static int check_no_vocab(xrem_backend *be, const char *wpath)
{
    char path[256], buf[65536];
    snprintf(path, sizeof path, "%s/xrem_test_nli_%d.h5", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    FILE *a = fopen(wpath, "rb"), *b = fopen(path, "wb");
    CHECK_OK(a && b ? XREM_OK : xrem_fail(XREM_ERR_IO, "cannot copy %s to %s", wpath, path));
    for (size_t k; (k = fread(buf, 1, sizeof buf, a)) > 0;)
        fwrite(buf, 1, k, b);
    fclose(a);
    fclose(b);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "tokenizer", H5P_DEFAULT);
    H5Fclose(f);
    xrem_nli *m = NULL;
    CHECK_OK(xrem_nli_load(path, be, &m));
    CHECK(xrem_nli_vocab(m) == NULL, "a vocabulary appeared");
    const char *p[1] = {"No effusion."}, *h[1] = {"Effusion."};
    float lg[3];
    int32_t ids[8] = {2, 7, 3}, types[8] = {0, 0, 0};
    int len = 0;
    expect_fail("no vocabulary: classify", xrem_nli_classify(m, p, h, 1, 0, lg, NULL), XREM_ERR_ARG, "no vocabulary",
                NULL);
    expect_fail("no vocabulary: encode", xrem_nli_encode(m, p[0], h[0], 8, ids, types, &len), XREM_ERR_ARG,
                "no vocabulary", NULL);
    CHECK(xrem_nli_forward(m, ids, types, NULL, 1, 3, lg) == XREM_OK, "forward without a vocabulary: %s",
          xrem_last_error());
    xrem_nli_free(m);
    remove(path);
    return 0;
}

int main(void)
{
    const char *wpath = xrem_test_src("tests/golden/nli_small.weights.h5");
    const char *gpath = xrem_test_src("tests/golden/nli_small.golden.h5");
    xrem_h5 *g = NULL;
    int64_t max_len = 0, short_len = 0;
    CHECK_OK(xrem_h5_open(gpath, &g));
    CHECK_OK(xrem_h5_attr_i64(g, "/", "max_len", &max_len));
    CHECK_OK(xrem_h5_attr_i64(g, "/", "max_len_short", &short_len));
    CHECK(max_len == XREM_NLI_MAX_LEN, "golden max_len %lld", (long long)max_len);
    for (int threads = 1; threads <= 2; threads++) {
        xrem_backend *be = NULL;
        xrem_nli *m = NULL;
        printf("%s (%d thread%s)\n", wpath, threads, threads > 1 ? "s" : "");
        CHECK_OK(xrem_backend_create("cpu", threads, &be));
        CHECK_OK(xrem_nli_load(wpath, be, &m));
        if (check_set(m, g, "", (int)max_len, threads == 1) || check_set(m, g, "_64", (int)short_len, threads == 1))
            return 1;
        if (threads == 1 && (check_bad_input(be, m) || check_no_vocab(be, wpath))) return 1;
        xrem_nli_free(m);
        xrem_backend_free(be);
    }
    xrem_h5_close(g);
    if (xrem_test_failures) fprintf(stderr, "%d checks failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
