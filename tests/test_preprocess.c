/* Bicubic resize and image preprocessing against PyTorch goldens
 * (scripts/make_preprocess_goldens.py, torch 1.13 CPU), plus bad-input checks.
 *
 * Tolerances: 1e-4 absolute on 0..255 data and on normalised images (torch builds that contract
 * multiply-adds differently disagree by float rounding, ~3e-5 on 0..255); 1e-5 on the N(0,1)
 * position-embedding planes. Against the torch the goldens were made with, xrem is bit-exact.
 *
 * XREM_BENCH=1 also times 320 -> 384 preprocessing (images/s with the OpenMP threads given).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "models/preprocess.h"
#include "testutil.h"
#include "xrem/status.h"

#define TOL_PIXEL 1e-4
#define TOL_NORMAL 1e-5

/* One resize case: <name>/input [C,H,W] -> <name>/output [C,OH,OW], attribute align_corners. */
static int check_resize_case(xrem_h5 *g, const char *name)
{
    char in_name[256], out_name[256];
    snprintf(in_name, sizeof in_name, "%s/input", name);
    snprintf(out_name, sizeof out_name, "%s/output", name);
    int64_t ne[XREM_MAX_DIMS], one[XREM_MAX_DIMS];
    int nd = 0;
    float *x = NULL;
    int64_t ac = 0;
    CHECK_OK(xrem_h5_read_f32(g, in_name, 3, NULL, &x, ne));
    CHECK_OK(xrem_h5_info(g, out_name, &nd, one, NULL));
    CHECK_OK(xrem_h5_attr_i64(g, name, "align_corners", &ac));
    CHECK(nd == 3 && one[0] == ne[0], "%s: output shape does not match input", name);
    if (nd != 3 || one[0] != ne[0]) {
        free(x);
        return 0;
    }
    int C = (int)ne[0], H = (int)ne[1], W = (int)ne[2], OH = (int)one[1], OW = (int)one[2];
    float *y = malloc(sizeof(float) * C * OH * OW);
    CHECK_OK(xrem_resize_bicubic_ex(x, C, H, W, y, OH, OW, (int)ac));
    double tol = strncmp(name, "pos_", 4) == 0 ? TOL_NORMAL : TOL_PIXEL;
    printf("[%d,%d,%d] -> [%d,%d]%s\n", C, H, W, OH, OW, ac ? " align_corners" : "");
    xrem_test_compare(g, out_name, y, (int64_t)C * OH * OW, tol);
    if (!ac) { /* the plain entry point is the same function */
        float *y2 = malloc(sizeof(float) * C * OH * OW);
        CHECK_OK(xrem_resize_bicubic(x, C, H, W, y2, OH, OW));
        CHECK(memcmp(y, y2, sizeof(float) * C * OH * OW) == 0, "%s: entry points differ", name);
        free(y2);
    }
    free(y);
    free(x);
    return 0;
}

static int test_resize_goldens(void)
{
    xrem_h5 *g = NULL;
    char **cases = NULL;
    int64_t n = 0;
    CHECK_OK(xrem_h5_open(xrem_test_src("tests/golden/preprocess_resize.h5"), &g));
    CHECK_OK(xrem_h5_read_strings(g, "cases", &cases, &n));
    CHECK(n >= 10, "only %lld resize cases", (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (check_resize_case(g, cases[i])) return 1;
    xrem_strings_free(cases, n);
    xrem_h5_close(g);
    return 0;
}

/* Full preprocessing of the synthetic CXR images at R, 3-channel and gray entry points. */
static int check_cxr(xrem_h5 *g, const float *gray, int N, int H, int W, int R)
{
    const size_t plane = (size_t)R * R;
    float *out3 = malloc(sizeof(float) * N * 3 * plane);
    float *out1 = malloc(sizeof(float) * N * plane);
    float *chan = malloc(sizeof(float) * N * plane);
    char name[64];
    snprintf(name, sizeof name, "cxr/out%d", R);
    CHECK_OK(xrem_image_preprocess(gray, N, H, W, R, out3));
    CHECK_OK(xrem_image_preprocess_gray(gray, N, H, W, R, out1));
    printf("%d images %dx%d -> %dx%d normalised\n", N, H, W, R, R);
    for (int c = 0; c < 3; c++) {
        for (int i = 0; i < N; i++)
            memcpy(chan + i * plane, out3 + ((size_t)i * 3 + c) * plane, plane * sizeof(float));
        xrem_test_compare(g, name, chan, (int64_t)(N * plane), TOL_PIXEL);
    }
    xrem_test_compare(g, name, out1, (int64_t)(N * plane), TOL_PIXEL);
    free(chan);
    free(out1);
    free(out3);
    return 0;
}

static int test_cxr_goldens(void)
{
    xrem_h5 *g = NULL;
    float *gray = NULL;
    int64_t ne[XREM_MAX_DIMS];
    CHECK_OK(xrem_h5_open(xrem_test_src("tests/golden/preprocess_cxr.h5"), &g));
    CHECK_OK(xrem_h5_read_f32(g, "cxr/input", 3, NULL, &gray, ne));
    for (int r = 256; r <= 384; r += 128)
        if (check_cxr(g, gray, (int)ne[0], (int)ne[1], (int)ne[2], r)) return 1;
    free(gray);
    xrem_h5_close(g);
    return 0;
}

static void expect_fail(xrem_status got, xrem_status want, const char *needle, const char *what)
{
    CHECK(got == want, "%s: status %s, want %s (%s)", what, xrem_status_name(got),
          xrem_status_name(want), xrem_last_error());
    if (needle)
        CHECK(strstr(xrem_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", what,
              xrem_last_error(), needle);
}

static int test_bad_input(void)
{
    enum { N = 3, H = 6, W = 5, R = 4 };
    float gray[N * H * W], out[N * 3 * R * R];
    for (int i = 0; i < N * H * W; i++) gray[i] = (float)(i % 256);
    CHECK_OK(xrem_image_preprocess(gray, N, H, W, R, out));

    gray[1 * H * W + 2 * W + 3] = NAN; /* image 1, y=2, x=3 */
    gray[2 * H * W] = INFINITY;        /* a later one must not be the one reported */
    expect_fail(xrem_image_preprocess(gray, N, H, W, R, out), XREM_ERR_VALUE,
                "image 1: pixel (y=2, x=3) is NaN", "NaN pixel");
    expect_fail(xrem_image_preprocess_gray(gray, N, H, W, R, out), XREM_ERR_VALUE, "image 1",
                "NaN pixel, gray");
    gray[1 * H * W + 2 * W + 3] = 0;
    expect_fail(xrem_image_preprocess(gray, N, H, W, R, out), XREM_ERR_VALUE,
                "image 2: pixel (y=0, x=0) is Inf", "Inf pixel");
    gray[2 * H * W] = 0;

    expect_fail(xrem_image_preprocess(gray, 0, H, W, R, out), XREM_ERR_SHAPE, NULL, "N = 0");
    expect_fail(xrem_image_preprocess(gray, N, 0, W, R, out), XREM_ERR_SHAPE, NULL, "H = 0");
    expect_fail(xrem_image_preprocess(gray, N, H, -1, R, out), XREM_ERR_SHAPE, NULL, "W < 0");
    expect_fail(xrem_image_preprocess_gray(gray, N, H, W, 0, out), XREM_ERR_SHAPE, NULL, "R = 0");
    expect_fail(xrem_image_preprocess(NULL, N, H, W, R, out), XREM_ERR_ARG, NULL, "NULL input");
    expect_fail(xrem_resize_bicubic(gray, 0, H, W, out, R, R), XREM_ERR_SHAPE, NULL, "C = 0");
    expect_fail(xrem_resize_bicubic(gray, 1, H, W, out, 0, R), XREM_ERR_SHAPE, NULL, "OH = 0");
    expect_fail(xrem_resize_bicubic(gray, 1, H, W, out, R, 0), XREM_ERR_SHAPE, NULL, "OW = 0");
    expect_fail(xrem_resize_bicubic(gray, 1, H, W, NULL, R, R), XREM_ERR_ARG, NULL, "NULL dst");
    /* Sizes whose products overflow are refused before anything is allocated or read. */
    expect_fail(xrem_image_preprocess(gray, 1 << 30, 1 << 30, 1 << 30, R, out), XREM_ERR_NOMEM,
                NULL, "overflow");
    return 0;
}

/* XREM_BENCH=1: throughput of the 320 -> 384 path on synthetic images. */
static void bench(void)
{
    enum { N = 256, S = 320, R = 384 };
    float *gray = malloc(sizeof(float) * N * S * S), *out = malloc(sizeof(float) * N * 3 * R * R);
    if (!gray || !out) return;
    for (size_t i = 0; i < (size_t)N * S * S; i++) gray[i] = (float)((i * 2654435761u) >> 24);
    xrem_image_preprocess(gray, N, S, S, R, out); /* warm up: first touch of every page */
    double t0 = omp_get_wtime();
    xrem_image_preprocess_gray(gray, N, S, S, R, out);
    double t1 = omp_get_wtime();
    xrem_image_preprocess(gray, N, S, S, R, out);
    double t2 = omp_get_wtime();
    xrem_resize_bicubic(gray, N, S, S, out, R, R);
    double t3 = omp_get_wtime();
    printf("bench (%d threads): 320->384 gray %.0f img/s, 3-channel %.0f img/s, "
           "bare resize %.0f img/s\n",
           omp_get_max_threads(), N / (t1 - t0), N / (t2 - t1), N / (t3 - t2));
    free(gray);
    free(out);
}

int main(void)
{
    if (test_resize_goldens() || test_cxr_goldens() || test_bad_input()) return 1;
    const char *b = getenv("XREM_BENCH");
    if (b && *b == '1') bench();
    if (xrem_test_failures) {
        fprintf(stderr, "test_preprocess: %d failure(s)\n", xrem_test_failures);
        return 1;
    }
    printf("test_preprocess: ok\n");
    return 0;
}
