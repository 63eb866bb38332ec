/* The committed BERTScore goldens (scripts/make_bertscore_goldens.py: a tiny RoBERTa with byte-level
 * BPE and a tiny BERT with WordPiece) scored on the CUDA backend, in its fp32 mode: the checks of
 * test_bertscore.c (bertscore_check.h), the token ids exact and every case's P, R, F within 1e-4
 * of bert_score (DESIGN §6's fp32 bound; the CPU test holds 1e-5), with the default encoder batches
 * and with small batches and many chunks. Exit 77 (skip) in a build without CUDA or where no GPU is
 * usable. */
#define _POSIX_C_SOURCE 200809L

#include "bertscore_check.h"

int main(void)
{
    xrem_backend *be = NULL;
    const int rc = xrem_test_backend("cuda", 0, &be);
    if (rc) return rc;
    static const char *models[] = {"tiny_roberta", "tiny_bert"};
    for (size_t m = 0; m < 2; m++) {
        char w[256], g[256];
        snprintf(w, sizeof w, "tests/golden/bertscore/%s.weights.h5", models[m]);
        snprintf(g, sizeof g, "tests/golden/bertscore/%s.golden.h5", models[m]);
        const char *wp = xrem_test_src(w), *gp = xrem_test_src(g);
        printf("%s (cuda backend):\n", models[m]);
        double e1 = check_golden(be, wp, gp, 0, 0, 1e-4, 0);
        double e2 = check_golden(be, wp, gp, 160, 40, 1e-4, 1); /* small batches, many chunks */
        printf("%s: max error %.3g (default batches), %.3g (160-token batches, 40-token chunks)\n", models[m], e1, e2);
    }
    xrem_backend_free(be);
    if (xrem_test_failures) fprintf(stderr, "%d checks failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
