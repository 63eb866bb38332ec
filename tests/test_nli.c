/* Parity of the NLI model (ifcc BERTNLI) with PyTorch on the committed goldens
 * (scripts/make_nli_goldens.py): for max_len 384 (the reference's) and 64,
 *   - ifcc's encoding of every pair (str.lower(), [CLS] a [SEP] b [SEP], types, the cut from the end):
 *     identical ids and types;
 *   - the network on the golden ids (xrem_nli_forward) and end to end from the texts
 *     (xrem_nli_classify, all pairs at once and in other groupings): logits to 1e-4, identical labels;
 * (those checks are in nli_check.h, shared with test_gpu_nli.c), and bad input: a weights file of
 * another arch, a missing file, a file without a vocabulary, bad arguments. */
#include <hdf5.h>
#include <unistd.h>

#include "nli_check.h"

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
