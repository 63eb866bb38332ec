/* Parity of the CheXbert labeler with CheXbert's own code path on the committed goldens
 * (scripts/make_chexbert_goldens.py: a random bert_labeler run through CheXbert's bert_tokenizer.py
 * and label.py, CXR-Report-Metric's encode.py and add_semb_col):
 *   - the cleaning (strip, newline -> space, runs of Python whitespace -> one space): identical text;
 *   - the encoding (per-character lowering, WordPiece, [CLS] ... [SEP], the cut at 512): identical ids;
 *   - the network on the golden ids (xrem_chexbert_forward, all texts in one padded batch): logits and
 *     the raw [CLS] vectors to 1e-4;
 *   - end to end from the texts (xrem_chexbert_run, all at once and in other groupings, 1 and 2
 *     threads): identical classes, [CLS] to 1e-4; s_emb of the golden pairs to 1e-4;
 * (the model checks are in chexbert_check.h, shared with test_gpu_chexbert.c), and bad input: a
 * weights file of another arch, a missing file, a file without a vocabulary, NULL texts, ids
 * outside the vocabulary, bytes that are not UTF-8. */
#include <hdf5.h>
#include <unistd.h>

#include "chexbert_check.h"

/* Cleaning and encoding of every text equal the golden's. */
static int check_text_path(xrem_chexbert *m, const golden *g)
{
    int bad_clean = 0, bad_ids = 0;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)xrem_chexbert_max_len(m));
    for (int64_t i = 0; i < g->n; i++) {
        char *c = NULL;
        CHECK_OK(xrem_chexbert_clean(g->text[i], &c));
        if (strcmp(c, g->clean[i]) && bad_clean++ < 5)
            fprintf(stderr, "  clean: %s: got '%s', golden '%s'\n", g->name[i], c, g->clean[i]);
        free(c);
        int len = -1;
        CHECK_OK(xrem_chexbert_encode(m, g->text[i], ids, &len));
        int ok = len == g->lens[i];
        for (int t = 0; ok && t < len; t++)
            ok = ids[t] == g->ids[i * g->T + t];
        if (!ok && bad_ids++ < 5)
            fprintf(stderr, "  encode: %s differs (len %d, golden %d)\n", g->name[i], len, g->lens[i]);
    }
    printf("  clean, encode %lld texts: %d / %d differ\n", (long long)g->n, bad_clean, bad_ids);
    CHECK(bad_clean == 0 && bad_ids == 0, "%d cleaned texts and %d encodings differ", bad_clean, bad_ids);
    free(ids);
    return 0;
}

static void expect_fail(const char *what, xrem_status got, xrem_status want, const char *n1, const char *n2)
{
    const char *msg = xrem_last_error();
    printf("  %-30s -> [%s] %s\n", what, xrem_status_name(got), msg);
    CHECK(got == want, "%s: status %s, expected %s", what, xrem_status_name(got), xrem_status_name(want));
    CHECK(!n1 || strstr(msg, n1), "%s: message lacks '%s'", what, n1);
    CHECK(!n2 || strstr(msg, n2), "%s: message lacks '%s'", what, n2);
}

static int check_bad_input(xrem_backend *be, xrem_chexbert *m, const golden *g)
{
    xrem_chexbert *x = NULL;
    const char *nli = xrem_test_src("tests/golden/nli_small.weights.h5");
    expect_fail("NLI weights file", xrem_chexbert_load(nli, be, &x), XREM_ERR_FORMAT, nli,
                "'bert_nli', expected chexbert");
    CHECK(x == NULL, "a failed load returned a model");
    expect_fail("missing file", xrem_chexbert_load("no/such/chexbert.h5", be, &x), XREM_ERR_IO, "no/such/chexbert.h5",
                NULL);
    const char *t[3] = {"No effusion.", "Edema.", NULL};
    int32_t cl[3 * NC];
    expect_fail("NULL text", xrem_chexbert_run(m, t, 3, cl, NULL), XREM_ERR_ARG, "report 2", NULL);
    expect_fail("negative n", xrem_chexbert_run(m, t, -1, cl, NULL), XREM_ERR_ARG, "-1", NULL);
    CHECK(xrem_chexbert_run(m, t, 0, cl, NULL) == XREM_OK, "n == 0 must do nothing");
    int32_t ids[3] = {2, 5000, 3};
    float lg[NL];
    expect_fail("id outside vocab", xrem_chexbert_forward(m, ids, NULL, 1, 3, lg, NULL), XREM_ERR_VALUE, "5000", NULL);
    /* bytes that are not UTF-8 and a long run of whitespace: no crash, [CLS] ... [SEP] */
    const char *odd[2] = {"Small \xff\xfe effusion \xe2\x80 \xc2", "\xe2\x80\x80\xe3\x80\x80 \xc2\xa0"};
    int32_t oc[2 * NC];
    CHECK_OK(xrem_chexbert_run(m, odd, 2, oc, NULL));
    int32_t e[512];
    int len = 0;
    CHECK_OK(xrem_chexbert_encode(m, odd[1], e, &len));
    CHECK(len == 2, "whitespace-only text: %d ids, want 2 ([CLS] [SEP])", len);
    /* s_emb: a text with itself is 1, the zero vector is NaN */
    float zero[64] = {0};
    CHECK(fabs(xrem_chexbert_semb(g->cls, g->cls, (int)g->C) - 1.0) < 1e-12, "s_emb(a, a) != 1");
    CHECK(isnan(xrem_chexbert_semb(zero, g->cls, (int)g->C)), "s_emb with a zero vector should be NaN");
    CHECK(xrem_chexbert_head_offset(13) == 52 && xrem_chexbert_head_classes(13) == 2 &&
              xrem_chexbert_head_classes(12) == 4,
          "head layout");
    return 0;
}

/* A copy of the weights without its tokenizer group loads; the network runs, texts are refused. */
static int check_no_vocab(xrem_backend *be, const char *wpath)
{
    char path[256], buf[65536];
    snprintf(path, sizeof path, "%s/xrem_test_chexbert_%d.h5", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    FILE *a = fopen(wpath, "rb"), *b = fopen(path, "wb");
    CHECK_OK(a && b ? XREM_OK : xrem_fail(XREM_ERR_IO, "cannot copy %s to %s", wpath, path));
    for (size_t k; (k = fread(buf, 1, sizeof buf, a)) > 0;)
        fwrite(buf, 1, k, b);
    fclose(a);
    fclose(b);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "tokenizer", H5P_DEFAULT);
    H5Fclose(f);
    xrem_chexbert *m = NULL;
    CHECK_OK(xrem_chexbert_load(path, be, &m));
    CHECK(xrem_chexbert_vocab(m) == NULL, "a vocabulary appeared");
    const char *t[1] = {"No effusion."};
    int32_t cl[NC], ids[8] = {2, 7, 3};
    int len = 0;
    float lg[NL];
    expect_fail("no vocabulary: run", xrem_chexbert_run(m, t, 1, cl, NULL), XREM_ERR_ARG, "no vocabulary", NULL);
    expect_fail("no vocabulary: encode", xrem_chexbert_encode(m, t[0], ids, &len), XREM_ERR_ARG, "no vocabulary", NULL);
    CHECK(xrem_chexbert_forward(m, ids, NULL, 1, 3, lg, NULL) == XREM_OK, "forward without a vocabulary: %s",
          xrem_last_error());
    xrem_chexbert_free(m);
    remove(path);
    return 0;
}

int main(void)
{
    const char *wpath = xrem_test_src("tests/golden/chexbert_small.weights.h5");
    const char *gpath = xrem_test_src("tests/golden/chexbert_small.golden.h5");
    xrem_h5 *h = NULL;
    golden g = {0};
    CHECK_OK(xrem_h5_open(gpath, &h));
    if (golden_read(h, &g)) return 1;
    xrem_h5_close(h);
    for (int threads = 1; threads <= 2; threads++) {
        xrem_backend *be = NULL;
        xrem_chexbert *m = NULL;
        printf("%s (%d thread%s, %lld texts)\n", wpath, threads, threads > 1 ? "s" : "", (long long)g.n);
        CHECK_OK(xrem_backend_create("cpu", threads, &be));
        CHECK_OK(xrem_chexbert_load(wpath, be, &m));
        CHECK(xrem_chexbert_hidden(m) == g.C && xrem_chexbert_max_len(m) == 512, "hidden %d, max_len %d",
              xrem_chexbert_hidden(m), xrem_chexbert_max_len(m));
        if (threads == 1 && (check_text_path(m, &g) || check_forward(m, &g))) return 1;
        if (check_run(m, &g, threads == 1)) return 1;
        if (threads == 1 && (check_bad_input(be, m, &g) || check_no_vocab(be, wpath))) return 1;
        xrem_chexbert_free(m);
        xrem_backend_free(be);
    }
    golden_free(&g);
    if (xrem_test_failures) fprintf(stderr, "%d checks failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
