/* The committed small ALBEF goldens (retrieval with ITC and its ITM head, and the ITM model;
 * scripts/make_goldens.py) on the CUDA backend, in its fp32 mode: every per-layer activation and
 * output at max abs error <= 1e-4, as on the CPU (tests/test_albef_golden.c; DESIGN §6).
 * Exit 77 (skip) in a build without CUDA or where no GPU is usable. */
#include "albef_check.h"

int main(void)
{
    static const char *cases[] = {"albef_small_retrieval", "albef_small_itm"};
    const double tol = 1e-4; /* DESIGN §6: GPU fp32 mode vs PyTorch fp32 */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char w[256], g[256];
        snprintf(w, sizeof w, "tests/golden/%s.weights.h5", cases[i]);
        snprintf(g, sizeof g, "tests/golden/%s.golden.h5", cases[i]);
        const int rc = albef_check("cuda", xrem_test_src(w), xrem_test_src(g), 0, tol, tol);
        if (rc) return rc;
    }
    if (xrem_test_failures) fprintf(stderr, "%d comparisons failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
