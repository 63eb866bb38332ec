/* Small helpers shared by the C tests: skip/fail reporting, golden loading, comparisons. */
#ifndef XREM_TESTUTIL_H
#define XREM_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>

#include "core/h5.h"
#include "xrem/backend.h"

#define TEST_SKIP 77

extern int xrem_test_failures;

/* Abort the test with a message (the library's last error appended when st != XREM_OK). */
#define CHECK_OK(expr)                                                                                                 \
    do {                                                                                                               \
        xrem_status st__ = (expr);                                                                                     \
        if (st__ != XREM_OK) {                                                                                         \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, xrem_last_error());                   \
            return 1;                                                                                                  \
        }                                                                                                              \
    } while (0)
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                                   \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, "\n");                                                                                     \
            xrem_test_failures++;                                                                                      \
        }                                                                                                              \
    } while (0)

/* Path under the source tree ($XREM_SOURCE_DIR or "."); static buffer rotated over 8 calls. */
const char *xrem_test_src(const char *rel);
/* The shared data folder ($XREM_DATA_DIR, else ../shared/data); NULL if absent. */
const char *xrem_test_data_dir(void);

/* max |a-b| over n; reports index of the worst element in *where (may be NULL). */
double xrem_test_max_abs(const float *a, const float *b, int64_t n, int64_t *where);
/* Compare `got` with golden dataset `name` in g (same numel); prints "name: max abs err"; counts a
 * failure when above tol. Returns the max error (or +inf when the golden cannot be read). */
double xrem_test_compare(xrem_h5 *g, const char *name, const float *got, int64_t n, double tol);

/* xrem_backend_create(name, threads, be) for a test: 0 when created; TEST_SKIP, after a "SKIP:"
 * line with the factory's reason, when the backend is absent (a build without CUDA, no driver,
 * no device); 1, after printing why, on any other failure. */
int xrem_test_backend(const char *name, int threads, xrem_backend **be);

/* The P image-major (image, text) pairs over M texts of L tokens: row p is text p % M
 * (pid [P, L] from ids [M, L]; pmask [P, L] as 0/1 floats from mask [M, L]). */
void xrem_test_pairs(const int32_t *ids, const int32_t *mask, int M, int L, int P, int32_t *pid, float *pmask);

#endif
