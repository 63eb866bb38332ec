/* The committed CheXbert goldens (scripts/make_chexbert_goldens.py) on the CUDA backend, in its fp32
 * mode: the model checks of test_chexbert.c (chexbert_check.h), the network on the golden ids and
 * end to end from the texts in several groupings: logits, [CLS] vectors and s_emb to 1e-4 as on the
 * CPU (DESIGN §6), identical classes. Exit 77 (skip) in a build without CUDA or where no GPU is
 * usable. */
#include "chexbert_check.h"

int main(void)
{
    const char *wpath = xrem_test_src("tests/golden/chexbert_small.weights.h5");
    const char *gpath = xrem_test_src("tests/golden/chexbert_small.golden.h5");
    xrem_backend *be = NULL;
    const int rc = xrem_test_backend("cuda", 0, &be);
    if (rc) return rc;
    xrem_h5 *h = NULL;
    golden g = {0};
    CHECK_OK(xrem_h5_open(gpath, &h));
    if (golden_read(h, &g)) return 1;
    xrem_h5_close(h);
    xrem_chexbert *m = NULL;
    printf("%s (cuda backend, %lld texts)\n", wpath, (long long)g.n);
    CHECK_OK(xrem_chexbert_load(wpath, be, &m));
    if (check_forward(m, &g) || check_run(m, &g, 1)) return 1;
    xrem_chexbert_free(m);
    xrem_backend_free(be);
    golden_free(&g);
    if (xrem_test_failures) fprintf(stderr, "%d checks failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
