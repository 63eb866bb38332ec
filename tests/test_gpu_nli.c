/* The committed NLI goldens (scripts/make_nli_goldens.py) on the CUDA backend, in its fp32 mode:
 * the checks of test_nli.c (nli_check.h) for max_len 384 and 64, the network on the golden ids and
 * end to end from the texts in several groupings: logits to 1e-4 as on the CPU (DESIGN §6),
 * identical labels. Exit 77 (skip) in a build without CUDA or where no GPU is usable. */
#include "nli_check.h"

int main(void)
{
    const char *wpath = xrem_test_src("tests/golden/nli_small.weights.h5");
    const char *gpath = xrem_test_src("tests/golden/nli_small.golden.h5");
    xrem_backend *be = NULL;
    const int rc = xrem_test_backend("cuda", 0, &be);
    if (rc) return rc;
    xrem_h5 *g = NULL;
    xrem_nli *m = NULL;
    int64_t max_len = 0, short_len = 0;
    CHECK_OK(xrem_h5_open(gpath, &g));
    CHECK_OK(xrem_h5_attr_i64(g, "/", "max_len", &max_len));
    CHECK_OK(xrem_h5_attr_i64(g, "/", "max_len_short", &short_len));
    printf("%s (cuda backend)\n", wpath);
    CHECK_OK(xrem_nli_load(wpath, be, &m));
    if (check_set(m, g, "", (int)max_len, 1) || check_set(m, g, "_64", (int)short_len, 1)) return 1;
    xrem_nli_free(m);
    xrem_backend_free(be);
    xrem_h5_close(g);
    if (xrem_test_failures) fprintf(stderr, "%d checks failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
