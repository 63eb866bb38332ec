/* Parity of the CPU ALBEF models with PyTorch on the committed small goldens
 * (scripts/make_goldens.py): every per-layer activation and output at max abs error <= 1e-4. */
#include "albef_check.h"

int main(void)
{
    static const char *cases[] = {"albef_small_retrieval", "albef_small_itm"};
    const double tol = 1e-4; /* DESIGN §6: CPU fp32 vs PyTorch fp32 */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char w[256], g[256];
        snprintf(w, sizeof w, "tests/golden/%s.weights.h5", cases[i]);
        snprintf(g, sizeof g, "tests/golden/%s.golden.h5", cases[i]);
        for (int threads = 1; threads <= 2; threads++)
            if (albef_check("cpu", xrem_test_src(w), xrem_test_src(g), threads, tol, tol)) return 1;
    }
    if (xrem_test_failures) fprintf(stderr, "%d comparisons failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
