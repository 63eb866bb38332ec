/* BERTScore vs bert_score 0.3.13 (transformers 4.30.2, torch 1.13) on the committed tiny goldens
 * (scripts/make_bertscore_goldens.py): a RoBERTa with a byte-level BPE tokenizer and a BERT with a
 * WordPiece one, both random, converted by scripts/convert_hf.py.
 *
 *   test_bertscore                      the committed goldens (cpu label)
 *   test_bertscore WEIGHTS GOLDEN ...   any pairs of files (the reference tests pass the full-size
 *                                       ones they generate)
 *
 * Per golden: the sent_encode ids of every text (exact), then every case — idf off/on, bert_score's
 * batch_size (the padded-zero quirk) or none, a rescaled one, several layers — P, R, F within 1e-5
 * (NaN where bert_score gives NaN), on 1 thread, and on 2 with small encoder batches and many
 * chunks (check_golden, in bertscore_check.h, shared with test_gpu_bertscore.c). Then the API
 * around it: known baselines, rescaling, the seeded proxy baseline, errors.
 */
#define _POSIX_C_SOURCE 200809L

#include "bertscore_check.h"

#define TOL 1e-5 /* P/R/F: ours on the CPU vs bert_score */

/* check_golden on a CPU backend of `threads` threads (0: all cores) */
static double check_golden_cpu(const char *weights, const char *golden, int threads, int enc_tokens, int chunk_tokens,
                               int quiet)
{
    xrem_backend *be = NULL;
    if (xrem_backend_create("cpu", threads, &be)) {
        CHECK(0, "cpu backend: %s", xrem_last_error());
        return INFINITY;
    }
    double e = check_golden(be, weights, golden, enc_tokens, chunk_tokens, TOL, quiet);
    xrem_backend_free(be);
    return e;
}

/* The quirk matters in the committed goldens: without it (match_batch 0) the l0_b3 case differs. */
static void check_quirk_needed(const char *weights, const char *golden)
{
    xrem_backend *be = NULL;
    xrem_bertscore *bs = NULL;
    xrem_h5 *g = NULL;
    char **c = NULL, **r = NULL;
    int64_t n = 0, nr = 0;
    if (xrem_backend_create("cpu", 1, &be) || xrem_bertscore_create(weights, 0, be, &bs) || xrem_h5_open(golden, &g) ||
        xrem_h5_read_strings(g, "cands", &c, &n) || xrem_h5_read_strings(g, "refs", &r, &nr)) {
        CHECK(0, "quirk check setup: %s", xrem_last_error());
    } else {
        double *P = malloc((size_t)n * 3 * sizeof *P);
        double *want = read_f64(golden, "cases/l0_b3/R", n);
        xrem_bertscore_opts o;
        xrem_bertscore_opts_default(&o);
        o.match_batch = 0;
        int64_t at = 0;
        if (want &&
            !xrem_bertscore_score(bs, (const char *const *)c, (const char *const *)r, n, &o, P, P + n, P + 2 * n))
            CHECK(max_err(P + n, want, n, &at) > 1e-3, "%s: l0_b3 does not depend on the padding quirk", golden);
        else
            CHECK(0, "quirk check: %s", xrem_last_error());
        free(want);
        free(P);
    }
    xrem_strings_free(c, n);
    xrem_strings_free(r, nr);
    xrem_h5_close(g);
    xrem_bertscore_free(bs);
    xrem_backend_free(be);
}

static void check_api(const char *weights)
{
    double b[3];
    CHECK(xrem_bertscore_known_baseline("distilroberta-base", 5, b) && b[0] == (double)0.84732f &&
              b[1] == (double)0.84759504f && b[2] == (double)0.8473319f,
          "distilroberta-base layer 5 baseline");
    CHECK(xrem_bertscore_known_baseline("/models/distilroberta-base", 6, b) && b[2] == (double)0.8933471f, "path name");
    CHECK(!xrem_bertscore_known_baseline("roberta-base", 5, b) &&
              !xrem_bertscore_known_baseline("distilroberta-base", 7, b) &&
              !xrem_bertscore_known_baseline("xdistilroberta-base", 5, b),
          "unknown baselines");
    double P[2] = {0.9, 0.5}, R[2] = {1.0, 0.2}, F[2] = {0.8, 0.3}, bb[3] = {0.5, 0.2, 0.8};
    xrem_bertscore_rescale(bb, 2, P, R, F);
    CHECK(fabs(P[0] - 0.8) < 1e-15 && fabs(P[1]) < 1e-15 && fabs(R[0] - 1) < 1e-15 && fabs(R[1]) < 1e-15 &&
              fabs(F[0]) < 1e-15 && fabs(F[1] + 2.5) < 1e-12,
          "rescale");

    xrem_backend *be = NULL;
    xrem_bertscore *bs = NULL;
    if (xrem_backend_create("cpu", 2, &be) || xrem_bertscore_create(weights, -1, be, &bs)) {
        CHECK(0, "api setup: %s", xrem_last_error());
        xrem_backend_free(be);
        return;
    }
    CHECK(xrem_bertscore_layer(bs) == xrem_bertscore_num_layers(bs) && xrem_bertscore_max_len(bs) == 512 &&
              !strcmp(xrem_bertscore_arch(bs), "roberta") &&
              !strcmp(xrem_bertscore_model_name(bs), "xrem-tiny-roberta") && strlen(xrem_bertscore_sha256(bs)) == 64,
          "scorer info: layer %d/%d max_len %d arch %s name %s", xrem_bertscore_layer(bs),
          xrem_bertscore_num_layers(bs), xrem_bertscore_max_len(bs), xrem_bertscore_arch(bs),
          xrem_bertscore_model_name(bs));
    const char *texts[] = {"No acute process.", "Small left effusion.",           "The heart is enlarged.",
                           "Clear lungs.",      "Stable post-operative changes.", "Right lower lobe opacity."};
    double b1[3], b2[3], b3[3];
    CHECK(!xrem_bertscore_baseline(bs, texts, 6, 40, 7, NULL, b1) &&
              !xrem_bertscore_baseline(bs, texts, 6, 40, 7, NULL, b2) &&
              !xrem_bertscore_baseline(bs, texts, 6, 40, 8, NULL, b3),
          "baseline: %s", xrem_last_error());
    CHECK(b1[0] == b2[0] && b1[1] == b2[1] && b1[2] == b2[2], "baseline: same seed, same value");
    CHECK(b1[2] != b3[2], "baseline: another seed, other pairs");
    CHECK(b1[0] > 0 && b1[0] < 1 && b1[2] > 0 && b1[2] < 1, "baseline in (0,1): %g %g %g", b1[0], b1[1], b1[2]);
    /* a pair with itself is 1 (cls/sep weigh 0; every token matches itself) */
    double p, r, f;
    const char *x = "Moderate cardiomegaly.";
    CHECK(!xrem_bertscore_score(bs, &x, &x, 1, NULL, &p, &r, &f) && fabs(p - 1) < 1e-6 && fabs(f - 1) < 1e-6, "self");
    /* idf documents given explicitly equal to the references: same as the default */
    const char *c2[] = {"Small effusion.", "No pneumothorax."},
               *r2[] = {"Small left effusion.", "No pneumothorax seen."};
    double Pa[6], Pb[6];
    xrem_bertscore_opts o;
    xrem_bertscore_opts_default(&o);
    o.idf = 1;
    CHECK(!xrem_bertscore_score(bs, c2, r2, 2, &o, Pa, Pa + 2, Pa + 4), "idf: %s", xrem_last_error());
    o.idf_docs = r2;
    o.n_idf_docs = 2;
    CHECK(!xrem_bertscore_score(bs, c2, r2, 2, &o, Pb, Pb + 2, Pb + 4), "idf docs: %s", xrem_last_error());
    CHECK(!memcmp(Pa, Pb, sizeof Pa), "idf_docs = refs gives the default");
    /* errors */
    const char *null_text[] = {NULL};
    CHECK(xrem_bertscore_score(bs, null_text, r2, 1, NULL, Pa, Pa + 1, Pa + 2) == XREM_ERR_ARG, "NULL text");
    CHECK(xrem_bertscore_score(bs, c2, r2, 0, NULL, NULL, NULL, NULL) == XREM_OK, "n = 0");
    xrem_bertscore *x2 = NULL;
    CHECK(xrem_bertscore_create(weights, 9, be, &x2) == XREM_ERR_ARG && !x2 && strstr(xrem_last_error(), "layer 9"),
          "layer past the encoder: %s", xrem_last_error());
    CHECK(xrem_bertscore_create("/nonexistent.h5", 1, be, &x2) != XREM_OK && !x2, "missing file");
    CHECK(xrem_bertscore_create(xrem_test_src("tests/golden/albef_small_itm.weights.h5"), 1, be, &x2) ==
                  XREM_ERR_FORMAT &&
              strstr(xrem_last_error(), "arch"),
          "wrong arch: %s", xrem_last_error());
    xrem_bertscore_free(bs);
    xrem_backend_free(be);
}

/* A text of special tokens only ("[SEP]" for a BERT vocabulary) has no weighted token: bert_score
 * gives that pair P = 0/0 = NaN and F = 0; the proxy baseline leaves such pairs out. Texts: the
 * special-only one and two equal reports, so the only pairs left score 1: the baseline must be 1. */
static void check_special_only(const char *weights)
{
    xrem_backend *be = NULL;
    xrem_bertscore *bs = NULL;
    if (xrem_backend_create("cpu", 1, &be) || xrem_bertscore_create(weights, -1, be, &bs)) {
        CHECK(0, "special-only setup: %s", xrem_last_error());
        xrem_backend_free(be);
        return;
    }
    const char *sep = "[SEP]", *rep = "Clear lungs.";
    double p, r, f, b[3];
    CHECK(!xrem_bertscore_score(bs, &sep, &rep, 1, NULL, &p, &r, &f) && isnan(p) && isfinite(r) && f == 0,
          "\"[SEP]\" vs a report: P %g R %g F %g (bert_score: NaN, finite, 0)", p, r, f);
    const char *texts[] = {"[SEP]", "Clear lungs.", "Clear lungs."};
    CHECK(!xrem_bertscore_baseline(bs, texts, 3, 40, 7, NULL, b), "baseline with a [SEP] text: %s", xrem_last_error());
    CHECK(fabs(b[0] - 1) < 1e-6 && fabs(b[1] - 1) < 1e-6 && fabs(b[2] - 1) < 1e-6,
          "baseline with a [SEP] text: %g %g %g, want 1 1 1 (its pairs left out)", b[0], b[1], b[2]);
    const char *only[] = {"[SEP]", "[CLS]"};
    CHECK(xrem_bertscore_baseline(bs, only, 2, 10, 7, NULL, b) == XREM_ERR_VALUE && strstr(xrem_last_error(), "finite"),
          "baseline of special-only texts: %s", xrem_last_error());
    xrem_bertscore_free(bs);
    xrem_backend_free(be);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        if (argc % 2 != 1) {
            fprintf(stderr, "usage: test_bertscore [WEIGHTS GOLDEN]...\n");
            return 2;
        }
        for (int i = 1; i + 1 < argc; i += 2) {
            printf("%s vs %s\n", argv[i], argv[i + 1]);
            double e = check_golden_cpu(argv[i], argv[i + 1], 0, 0, 0, 0);
            printf("max error %.3g\n", e);
        }
        if (xrem_test_failures) fprintf(stderr, "%d checks failed\n", xrem_test_failures);
        return xrem_test_failures ? 1 : 0;
    }
    static const char *models[] = {"tiny_roberta", "tiny_bert"};
    for (size_t m = 0; m < 2; m++) {
        char w[256], g[256];
        snprintf(w, sizeof w, "tests/golden/bertscore/%s.weights.h5", models[m]);
        snprintf(g, sizeof g, "tests/golden/bertscore/%s.golden.h5", models[m]);
        const char *wp = xrem_test_src(w), *gp = xrem_test_src(g);
        printf("%s (1 thread):\n", models[m]);
        double t0 = now_s();
        double e1 = check_golden_cpu(wp, gp, 1, 0, 0, 0);
        double t1 = now_s();
        double e2 = check_golden_cpu(wp, gp, 2, 160, 40, 1); /* small batches, many chunks: same scores */
        double t2 = now_s();
        printf("%s: max error %.3g (1 thread, %.2f s), %.3g (2 threads, 160-token batches, 40-token chunks, %.2f s)\n",
               models[m], e1, t1 - t0, e2, t2 - t1);
        check_quirk_needed(wp, gp);
        printf("quirk check %.2f s\n", now_s() - t2);
    }
    double t0 = now_s();
    check_api(xrem_test_src("tests/golden/bertscore/tiny_roberta.weights.h5"));
    check_special_only(xrem_test_src("tests/golden/bertscore/tiny_bert.weights.h5"));
    printf("api checks %.2f s\n", now_s() - t0);
    if (xrem_test_failures) fprintf(stderr, "%d checks failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
