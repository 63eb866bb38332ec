/* Bicubic resize with PyTorch 1.13 CPU semantics, and the DESIGN §2 image preprocessing.
 *
 * What torch 1.13 computes for float32 (ATen/native/cpu/UpSampleKernel.cpp, HelperInterpCubic
 * and the generic N-d kernel), established against Debian's python3-torch 1.13.1 by impulse
 * responses and random inputs, bit for bit:
 *
 *   scale  = (float)in / (float)out                     float division
 *   src    = (double)scale * (o + 0.5) - 0.5            kept in double (as with float's CPU
 *   i0     = floor((float)src)                          accumulate type, double), but floorf()
 *   t      = (float)(src - i0)                          sees it rounded to float, so t can be a
 *                                                       hair below 0 (77 -> 257, o = 128)
 *   w      = { far(t + 1), near(t), near(1 - t), far(2 - t) }    in float, a = -0.75
 *            near(x) = fma(a + 2, x, -(a + 3)) * x * x + 1
 *            far(x)  = fma(fma(a, x, -5a), x, 8a) * x - 4a
 *   taps   = clamp(i0 - 1 + k, 0, in - 1), k = 0..3
 *   value  = horizontal pass per source row, then vertical pass over the 4 row results, each
 *            v = x1*w1; v = fma(x0, w0, v); v = fma(x2, w2, v); v = fma(x3, w3, v)
 *
 * The fused/unfused pattern is what that AVX2 build's compiler made of torch's C++ (it fused
 * some multiply-adds, not all); we write the fmas explicitly and switch contraction off for this
 * file so that the unfused ones stay unfused whatever -march says. A torch build that contracts
 * differently differs by float rounding only (<= ~1.5e-4 on random 0..255 data). torch's CUDA
 * kernel is another matter: it rounds src to float, which moves 320 -> 384 outputs of the CXR
 * goldens by up to 4e-3 on 0..255 (5e-5 after normalisation). align_corners=True uses
 * scale = (float)(in-1)/(out-1) (0 when out == 1) and src = (double)scale * o.
 *
 * Resizing is separable and each output value depends on its 4x4 taps through exactly the
 * arithmetic above, so computing every source row's horizontal pass once (tmp [H, OW]) and
 * then the vertical pass gives the same bits as torch's per-pixel recursion, at a quarter of
 * the work.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "models/preprocess.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/tensor.h"

/* Per output coordinate along one axis: the 4 clamped source indices and their weights. */
typedef struct {
    int32_t idx[4];
    float w[4];
} xrem__tap4;

#define XREM__CUBIC_A (-0.75f)

/* Cubic convolution kernel for |x| <= 1 and for 1 < |x| < 2 (torch's cubic_convolution1/2). */
static float cubic_near(float x)
{
    const float a = XREM__CUBIC_A;
    return fmaf(a + 2.0f, x, -(a + 3.0f)) * x * x + 1.0f;
}

static float cubic_far(float x)
{
    const float a = XREM__CUBIC_A;
    return fmaf(fmaf(a, x, -5.0f * a), x, 8.0f * a) * x - 4.0f * a;
}

/* Taps for `out` output positions reading an axis of `in` samples. */
static void axis_plan(int in, int out, int align_corners, xrem__tap4 *taps)
{
    float scale;
    if (align_corners)
        scale = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    else
        scale = (float)in / (float)out;
    for (int o = 0; o < out; o++) {
        double src = align_corners ? (double)scale * o : (double)scale * (o + 0.5) - 0.5;
        int64_t i0 = (int64_t)floorf((float)src);
        float t = (float)(src - (double)i0);
        float u = 1.0f - t;
        taps[o].w[0] = cubic_far(t + 1.0f);
        taps[o].w[1] = cubic_near(t);
        taps[o].w[2] = cubic_near(u);
        taps[o].w[3] = cubic_far(u + 1.0f);
        for (int k = 0; k < 4; k++) {
            int64_t i = i0 - 1 + k;
            taps[o].idx[k] = (int32_t)(i < 0 ? 0 : i > in - 1 ? in - 1 : i);
        }
    }
}

/* The 4-tap sum in torch's order (see the file comment). */
static inline float tap_sum(float x0, float x1, float x2, float x3, const float *w)
{
    float v = x1 * w[1];
    v = fmaf(x0, w[0], v);
    v = fmaf(x2, w[2], v);
    return fmaf(x3, w[3], v);
}

/* Without FMA in the target ISA (x86-64 built with -DXREM_NATIVE=OFF) every fmaf() is a libm
 * call and the resize runs ~15x slower; so also build an FMA clone of the hot loop and let the
 * loader pick it on CPUs that have FMA. Results are the same bits either way (fmaf is exact). */
#if defined(__x86_64__) && !defined(__FMA__) && defined(__GNUC__) && !defined(__clang__)
#define XREM__FMA_CLONES __attribute__((target_clones("fma", "default")))
#else
#define XREM__FMA_CLONES
#endif

/* One plane: src [H, W] -> dst [OH, OW]; tmp is scratch of H * OW floats. */
XREM__FMA_CLONES static void resize_plane(const float *src, int H, int W, float *dst, int OH,
                                          int OW, const xrem__tap4 *tx, const xrem__tap4 *ty,
                                          float *tmp)
{
    for (int y = 0; y < H; y++) {
        const float *s = src + (size_t)y * W;
        float *t = tmp + (size_t)y * OW;
        for (int ox = 0; ox < OW; ox++) {
            const xrem__tap4 *p = &tx[ox];
            t[ox] = tap_sum(s[p->idx[0]], s[p->idx[1]], s[p->idx[2]], s[p->idx[3]], p->w);
        }
    }
    for (int oy = 0; oy < OH; oy++) {
        const xrem__tap4 *p = &ty[oy];
        const float *r0 = tmp + (size_t)p->idx[0] * OW, *r1 = tmp + (size_t)p->idx[1] * OW;
        const float *r2 = tmp + (size_t)p->idx[2] * OW, *r3 = tmp + (size_t)p->idx[3] * OW;
        const float w0 = p->w[0], w1 = p->w[1], w2 = p->w[2], w3 = p->w[3];
        float *d = dst + (size_t)oy * OW;
        /* Same arithmetic as tap_sum, spelled out so the loop vectorises over ox. */
        for (int ox = 0; ox < OW; ox++) {
            float v = r1[ox] * w1;
            v = fmaf(r0[ox], w0, v);
            v = fmaf(r2[ox], w2, v);
            d[ox] = fmaf(r3[ox], w3, v);
        }
    }
}

/* Element counts n*h*w as size_t, or 0 on overflow. */
static size_t count3(int n, int h, int w)
{
    size_t a, b;
    if (!xrem_size_mul((size_t)n, (size_t)h, &a) || !xrem_size_mul(a, (size_t)w, &b)) return 0;
    return b;
}

/* Taps for both axes in one allocation (caller frees *tx; *ty points inside it). */
static xrem_status plans_make(int H, int W, int OH, int OW, int align_corners,
                              xrem__tap4 **tx, xrem__tap4 **ty)
{
    *tx = malloc(sizeof(xrem__tap4) * ((size_t)OW + (size_t)OH));
    if (!*tx) return xrem_fail(XREM_ERR_NOMEM, "resize: no memory for %d+%d taps", OW, OH);
    *ty = *tx + OW;
    axis_plan(W, OW, align_corners, *tx);
    axis_plan(H, OH, align_corners, *ty);
    return XREM_OK;
}

/* Per-thread scratch of H * OW floats for up to nt threads. */
static xrem_status scratch_make(int nt, int H, int OW, float **tmp, size_t *per)
{
    size_t total;
    *per = count3(1, H, OW);
    if (!*per || !xrem_size_mul(*per, (size_t)nt, &total) ||
        !xrem_size_mul(total, sizeof(float), &total))
        return xrem_fail(XREM_ERR_NOMEM, "resize: scratch for %d threads x %dx%d overflows", nt,
                         H, OW);
    *tmp = malloc(total);
    if (!*tmp)
        return xrem_fail(XREM_ERR_NOMEM, "resize: no memory for %zu bytes of scratch", total);
    return XREM_OK;
}

static int threads_for(int jobs)
{
    int nt = omp_get_max_threads();
    return nt < 1 ? 1 : nt > jobs ? jobs : nt;
}

xrem_status xrem_resize_bicubic_ex(const float *src, int C, int H, int W, float *dst, int OH,
                                   int OW, int align_corners)
{
    if (!src || !dst) return xrem_fail(XREM_ERR_ARG, "resize: NULL buffer");
    if (C <= 0 || H <= 0 || W <= 0 || OH <= 0 || OW <= 0)
        return xrem_fail(XREM_ERR_SHAPE, "resize: bad sizes [%d,%d,%d] -> [%d,%d,%d]", C, H, W,
                         C, OH, OW);
    if (!count3(C, H, W) || !count3(C, OH, OW))
        return xrem_fail(XREM_ERR_NOMEM, "resize: [%d,%d,%d] -> [%d,%d,%d] overflows", C, H, W,
                         C, OH, OW);
    xrem__tap4 *tx, *ty;
    float *tmp;
    size_t per;
    int nt = threads_for(C);
    xrem_status s = plans_make(H, W, OH, OW, align_corners, &tx, &ty);
    if (s) return s;
    if ((s = scratch_make(nt, H, OW, &tmp, &per))) {
        free(tx);
        return s;
    }
    const size_t in_plane = (size_t)H * W, out_plane = (size_t)OH * OW;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int c = 0; c < C; c++)
        resize_plane(src + c * in_plane, H, W, dst + c * out_plane, OH, OW, tx, ty,
                     tmp + (size_t)omp_get_thread_num() * per);
    free(tmp);
    free(tx);
    return XREM_OK;
}

xrem_status xrem_resize_bicubic(const float *src, int C, int H, int W, float *dst, int OH, int OW)
{
    return xrem_resize_bicubic_ex(src, C, H, W, dst, OH, OW, 0);
}

/* gray [N, H, W] -> out [N, CH, R, R], CH = 1 or 3 identical channels. */
static xrem_status image_preprocess(const float *gray, int N, int H, int W, int R, int CH,
                                    float *out)
{
    if (!gray || !out) return xrem_fail(XREM_ERR_ARG, "preprocess: NULL buffer");
    if (N <= 0 || H <= 0 || W <= 0 || R <= 0)
        return xrem_fail(XREM_ERR_SHAPE, "preprocess: bad sizes: %d images of %dx%d to %dx%d", N,
                         H, W, R, R);
    const size_t in_img = count3(1, H, W), out_plane = count3(1, R, R);
    size_t out_total;
    if (!count3(N, H, W) || !out_plane || !xrem_size_mul(count3(N, R, R), (size_t)CH, &out_total) ||
        !out_total)
        return xrem_fail(XREM_ERR_NOMEM, "preprocess: %d images of %dx%d to %dx%d overflows", N,
                         H, W, R, R);

    /* First non-finite pixel, as a flat index; the smallest one so the message is stable. */
    const size_t total = (size_t)N * in_img;
    size_t bad = total;
#pragma omp parallel for schedule(static) reduction(min : bad)
    for (size_t i = 0; i < total; i++)
        if (!isfinite(gray[i]) && i < bad) bad = i;
    if (bad < total) {
        size_t n = bad / in_img, p = bad % in_img;
        return xrem_fail(XREM_ERR_VALUE, "image %zu: pixel (y=%zu, x=%zu) is %s", n, p / W, p % W,
                         isnan(gray[bad]) ? "NaN" : "Inf");
    }

    xrem__tap4 *tx, *ty;
    float *tmp;
    size_t per;
    int nt = threads_for(N);
    xrem_status s = plans_make(H, W, R, R, 0, &tx, &ty);
    if (s) return s;
    if ((s = scratch_make(nt, H, R, &tmp, &per))) {
        free(tx);
        return s;
    }
#pragma omp parallel for schedule(dynamic, 4) num_threads(nt)
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * CH * out_plane;
        resize_plane(gray + n * in_img, H, W, o, R, R, tx, ty,
                     tmp + (size_t)omp_get_thread_num() * per);
        /* torchvision Normalize: a float subtraction then a float division (not a reciprocal). */
        for (size_t i = 0; i < out_plane; i++) o[i] = (o[i] - XREM_IMAGE_MEAN) / XREM_IMAGE_STD;
        for (int c = 1; c < CH; c++) memcpy(o + c * out_plane, o, out_plane * sizeof(float));
    }
    free(tmp);
    free(tx);
    return XREM_OK;
}

xrem_status xrem_image_preprocess(const float *gray, int N, int H, int W, int R, float *out)
{
    return image_preprocess(gray, N, H, W, R, 3, out);
}

xrem_status xrem_image_preprocess_gray(const float *gray, int N, int H, int W, int R, float *out)
{
    return image_preprocess(gray, N, H, W, R, 1, out);
}
