#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xrem/status.h"

int xrem_test_failures = 0;

const char *xrem_test_src(const char *rel)
{
    static char bufs[8][1024];
    static int k = 0;
    char *b = bufs[k++ & 7];
    const char *root = getenv("XREM_SOURCE_DIR");
    snprintf(b, 1024, "%s/%s", root && *root ? root : ".", rel);
    return b;
}

const char *xrem_test_data_dir(void)
{
    static char buf[1024];
    const char *d = getenv("XREM_DATA_DIR");
    struct stat st;
    if (d && *d && stat(d, &st) == 0) return d;
    snprintf(buf, sizeof buf, "%s", xrem_test_src("../shared/data"));
    if (stat(buf, &st) == 0) return buf;
    if (stat("/work/shared/data", &st) == 0) return "/work/shared/data";
    return NULL;
}

double xrem_test_max_abs(const float *a, const float *b, int64_t n, int64_t *where)
{
    double m = 0;
    int64_t w = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || isnan(d)) {
            m = isnan(d) ? INFINITY : d;
            w = i;
        }
    }
    if (where) *where = w;
    return m;
}

double xrem_test_compare(xrem_h5 *g, const char *name, const float *got, int64_t n, double tol)
{
    float *ref = NULL;
    int64_t ne[XREM_MAX_DIMS];
    int nd = 0;
    if (xrem_h5_info(g, name, &nd, ne, NULL) != XREM_OK || xrem_h5_read_f32(g, name, nd, NULL, &ref, ne) != XREM_OK) {
        fprintf(stderr, "  %-28s cannot read golden: %s\n", name, xrem_last_error());
        xrem_test_failures++;
        return INFINITY;
    }
    int64_t numel = 1;
    for (int i = 0; i < nd; i++)
        numel *= ne[i];
    if (numel != n) {
        fprintf(stderr, "  %-28s size %lld, golden has %lld\n", name, (long long)n, (long long)numel);
        xrem_test_failures++;
        free(ref);
        return INFINITY;
    }
    int64_t w;
    double e = xrem_test_max_abs(got, ref, n, &w);
    printf("  %-28s max abs err %.3g (tol %.0e)%s\n", name, e, tol, e <= tol ? "" : "  <-- FAIL");
    if (!(e <= tol)) {
        fprintf(stderr, "  %s: worst at flat index %lld: got %.7g, golden %.7g\n", name, (long long)w, got[w], ref[w]);
        xrem_test_failures++;
    }
    free(ref);
    return e;
}

int xrem_test_backend(const char *name, int threads, xrem_backend **be)
{
    xrem_status s = xrem_backend_create(name, threads, be);
    if (s == XREM_OK) return 0;
    if (s == XREM_ERR_DEVICE || s == XREM_ERR_UNSUPPORTED) {
        printf("SKIP: %s\n", xrem_last_error());
        return TEST_SKIP;
    }
    fprintf(stderr, "backend %s: %s\n", name, xrem_last_error());
    return 1;
}

void xrem_test_pairs(const int32_t *ids, const int32_t *mask, int M, int L, int P, int32_t *pid, float *pmask)
{
    for (int p = 0; p < P; p++)
        for (int t = 0; t < L; t++) {
            pid[p * L + t] = ids[(p % M) * L + t];
            pmask[p * L + t] = mask[(p % M) * L + t] != 0;
        }
}
