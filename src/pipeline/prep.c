/* xrem prep (see prep.h): Pillow's LANCZOS resize and CXR-RePaiR's letterbox, bit for bit; the
 * MIMIC-CXR-JPG -> cxr.h5 driver; the cxr.h5 -> resized/normalised cache driver.
 *
 * Pillow's resample (libImaging/Resample.c, unchanged since Pillow 4) in short:
 *   scale = in/out, filterscale = max(scale, 1), support = 3 * filterscale,
 *   ksize = 2 * ceil(support) + 1; for output xx: center = (xx + 0.5) * scale,
 *   xmin = max((int)(center - support + 0.5), 0), xmax = min((int)(center + support + 0.5), in),
 *   k[x] = lanczos((x + xmin - center + 0.5) / filterscale), normalised by their double sum,
 *   then rounded to int32 with 22 fraction bits (away from zero). A pass sums k * pixel into an
 *   int starting at 2^21 and stores clamp(sum >> 22, 0, 255). Horizontal first, then vertical.
 * The coefficients are computed in double exactly in Pillow's order; FMA contraction is off for this
 * file so that `a * b + c` rounds twice, as in Pillow's baseline x86-64 build.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "core/outpath.h"
#include "pipeline/prep.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/h5.h"
#include "core/sha256.h"
#include "models/preprocess.h"
#include "pipeline/prep_internal.h"

#define XREM__PREC 22 /* Pillow's PRECISION_BITS = 32 - 8 - 2 */

/* ---- Pillow's LANCZOS ------------------------------------------------------------------------- */

static double xrem__sinc(double x)
{
    if (x == 0.0) return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

static double xrem__lanczos(double x)
{
    if (-3.0 <= x && x < 3.0) return xrem__sinc(x) * xrem__sinc(x / 3);
    return 0.0;
}

typedef struct {
    int ksize;
    int *bounds; /* [out, 2]: xmin, count */
    int32_t *k;  /* [out, ksize] fixed-point taps */
} xrem__taps;

static void xrem__taps_free(xrem__taps *t)
{
    free(t->bounds);
    free(t->k);
}

/* Pillow's precompute_coeffs + normalize_coeffs_8bpc for in -> out along one axis. */
static xrem_status xrem__taps_make(int in, int out, xrem__taps *t)
{
    double scale = (double)(float)in / out, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 3.0 * filterscale, ss = 1.0 / filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    t->ksize = ksize;
    t->bounds = malloc(sizeof(int) * 2 * (size_t)out);
    t->k = calloc((size_t)out * (size_t)ksize, sizeof(int32_t));
    double *w = malloc(sizeof(double) * (size_t)ksize);
    if (!t->bounds || !t->k || !w) {
        free(w);
        xrem__taps_free(t);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory for %d-tap resampling coefficients", ksize);
    }
    for (int xx = 0; xx < out; xx++) {
        double center = 0.0f + (xx + 0.5) * scale, ww = 0.0;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in) xmax = in;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = xrem__lanczos((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            t->k[(size_t)xx * ksize + x] =
                v < 0 ? (int32_t)(-0.5 + v * (1 << XREM__PREC)) : (int32_t)(0.5 + v * (1 << XREM__PREC));
        }
        t->bounds[2 * xx] = xmin;
        t->bounds[2 * xx + 1] = xmax;
    }
    free(w);
    return XREM_OK;
}

static inline uint8_t xrem__clip8(int32_t ss)
{
    int32_t v = ss >> XREM__PREC;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Horizontal pass over rows [0, H) of one plane: src [H, W] -> dst [H, OW]. Eight rows at a time
 * are transposed into strip [W, 8] so that each tap updates a contiguous 8-row vector; each value
 * still sums its own taps in order (and integer sums are exact in any order). */
#define XREM__HROWS 8
static void xrem__pass_h(const uint8_t *src, int W, int H, uint8_t *dst, int OW, const xrem__taps *t, uint8_t *strip)
{
    for (int y0 = 0; y0 < H; y0 += XREM__HROWS) {
        int nr = H - y0 < XREM__HROWS ? H - y0 : XREM__HROWS;
        const uint8_t *rows[XREM__HROWS];
        for (int r = 0; r < XREM__HROWS; r++)
            rows[r] = src + (size_t)(y0 + (r < nr ? r : 0)) * W;
        for (int x = 0; x < W; x++)
            for (int r = 0; r < XREM__HROWS; r++)
                strip[x * XREM__HROWS + r] = rows[r][x];
        for (int xx = 0; xx < OW; xx++) {
            const int32_t *k = t->k + (size_t)xx * t->ksize;
            const uint8_t *p = strip + (size_t)t->bounds[2 * xx] * XREM__HROWS;
            int n = t->bounds[2 * xx + 1];
            int32_t acc[XREM__HROWS];
            for (int r = 0; r < XREM__HROWS; r++)
                acc[r] = 1 << (XREM__PREC - 1);
            for (int x = 0; x < n; x++)
                for (int r = 0; r < XREM__HROWS; r++)
                    acc[r] += p[x * XREM__HROWS + r] * k[x];
            for (int r = 0; r < nr; r++)
                dst[(size_t)(y0 + r) * OW + xx] = xrem__clip8(acc[r]);
        }
    }
}

/* Vertical pass: src [H, RW] (RW = row width in bytes) -> dst [OH, RW]. Each output value sums its
 * taps in Pillow's order; only the loop over the row is moved inside (integer sums, same result). */
static void xrem__pass_v(const uint8_t *src, int RW, uint8_t *dst, int OH, const xrem__taps *t, int32_t *acc)
{
    for (int yy = 0; yy < OH; yy++) {
        const int32_t *k = t->k + (size_t)yy * t->ksize;
        int ymin = t->bounds[2 * yy], n = t->bounds[2 * yy + 1];
        for (int i = 0; i < RW; i++)
            acc[i] = 1 << (XREM__PREC - 1);
        for (int y = 0; y < n; y++) {
            const uint8_t *row = src + (size_t)(ymin + y) * RW;
            int32_t ky = k[y];
            for (int i = 0; i < RW; i++)
                acc[i] += row[i] * ky;
        }
        uint8_t *o = dst + (size_t)yy * RW;
        for (int i = 0; i < RW; i++)
            o[i] = xrem__clip8(acc[i]);
    }
}

/* One plane [H, W] -> [OH, OW]; tmp holds [H, OW], acc OW ints, strip [W, 8]. */
static void xrem__resize_plane(const uint8_t *src, int W, int H, uint8_t *dst, int OW, int OH, const xrem__taps *th,
                               const xrem__taps *tv, uint8_t *tmp, int32_t *acc, uint8_t *strip)
{
    /* Pillow resamples only the rows the vertical pass reads; each row is independent, so
     * resampling all of them (they are all read when downscaling) gives the same pixels. */
    const uint8_t *mid = src;
    if (OW != W) {
        xrem__pass_h(src, W, H, OH != H ? tmp : dst, OW, th, strip);
        mid = tmp;
    }
    if (OH != H) xrem__pass_v(mid, OW, dst, OH, tv, acc);
}

/* Interleaved channels <-> planes (channels are resampled independently, as Pillow does). */
static void xrem__deinterleave(const uint8_t *src, size_t n, int C, int c, uint8_t *plane)
{
    for (size_t i = 0; i < n; i++)
        plane[i] = src[i * C + c];
}

static void xrem__interleave(const uint8_t *plane, size_t n, int C, int c, uint8_t *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i * C + c] = plane[i];
}

xrem_status xrem_pillow_resize_lanczos(const uint8_t *src, int W, int H, int C, uint8_t *dst, int OW, int OH)
{
    if (W <= 0 || H <= 0 || OW <= 0 || OH <= 0 || C < 1 || C > 4)
        return xrem_fail(XREM_ERR_ARG, "resize %dx%dx%d -> %dx%d: bad size", W, H, C, OW, OH);
    if (OW == W && OH == H) {
        memcpy(dst, src, (size_t)W * H * C);
        return XREM_OK;
    }
    xrem__taps th = {0}, tv = {0};
    size_t nin = (size_t)W * H, nout = (size_t)OW * OH;
    uint8_t *tmp = malloc((size_t)H * OW + 1), *pin = C > 1 ? malloc(nin) : NULL, *pout = C > 1 ? malloc(nout) : NULL;
    int32_t *acc = malloc(sizeof(int32_t) * (size_t)OW);
    uint8_t *strip = malloc((size_t)W * XREM__HROWS);
    xrem_status s = XREM_OK;
    if (!tmp || !acc || !strip || (C > 1 && (!pin || !pout)))
        s = xrem_fail(XREM_ERR_NOMEM, "resize %dx%d -> %dx%d: out of memory", W, H, OW, OH);
    if (!s && OW != W) s = xrem__taps_make(W, OW, &th);
    if (!s && OH != H) s = xrem__taps_make(H, OH, &tv);
    for (int c = 0; !s && c < C; c++) {
        if (C == 1) {
            xrem__resize_plane(src, W, H, dst, OW, OH, &th, &tv, tmp, acc, strip);
            break;
        }
        xrem__deinterleave(src, nin, C, c, pin);
        xrem__resize_plane(pin, W, H, pout, OW, OH, &th, &tv, tmp, acc, strip);
        xrem__interleave(pout, nout, C, c, dst);
    }
    free(acc);
    free(strip);
    free(tmp);
    free(pin);
    free(pout);
    xrem__taps_free(&th);
    xrem__taps_free(&tv);
    return s;
}

void xrem_pillow_rgb_to_l(const uint8_t *rgb, size_t n, uint8_t *gray)
{
    for (size_t i = 0; i < n; i++, rgb += 3)
        gray[i] =
            (uint8_t)(((uint32_t)rgb[0] * 19595 + (uint32_t)rgb[1] * 38470 + (uint32_t)rgb[2] * 7471 + 0x8000) >> 16);
}

/* ---- the letterbox ------------------------------------------------------------------------------ */

xrem_status xrem_prep_letterbox_size(int W, int H, int R, int *new_w, int *new_h)
{
    if (W <= 0 || H <= 0 || R <= 0) return xrem_fail(XREM_ERR_ARG, "letterbox of a %dx%d image into %d", W, H, R);
    double ratio = (double)R / (double)(W > H ? W : H); /* float(320) / max(img.size) */
    *new_w = (int)((double)W * ratio);                  /* int(x * ratio) */
    *new_h = (int)((double)H * ratio);
    if (*new_w < 1 || *new_h < 1)
        return xrem_fail(XREM_ERR_SHAPE, "a %dx%d image would be resized to %dx%d (Pillow refuses a zero side)", W, H,
                         *new_w, *new_h);
    return XREM_OK;
}

xrem_status xrem_prep_letterbox(const xrem_image_u8 *img, int R, uint8_t *out)
{
    int nw = 0, nh = 0;
    xrem_status s = xrem_prep_letterbox_size(img->W, img->H, R, &nw, &nh);
    if (s) return s;
    if (img->C != 1 && img->C != 3) return xrem_fail(XREM_ERR_ARG, "letterbox of a %d-channel image", img->C);
    size_t n = (size_t)nw * nh;
    uint8_t *small = malloc(n * img->C), *gray = img->C == 3 ? malloc(n) : small;
    if (!small || !gray) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = xrem_pillow_resize_lanczos(img->px, img->W, img->H, img->C, small, nw, nh);
    if (!s && img->C == 3) xrem_pillow_rgb_to_l(small, n, gray); /* paste() converts RGB to the canvas' 'L' */
    if (!s) {
        int x0 = (R - nw) / 2, y0 = (R - nh) / 2;
        memset(out, 0, (size_t)R * R);
        for (int y = 0; y < nh; y++)
            memcpy(out + (size_t)(y0 + y) * R + x0, gray + (size_t)y * nw, (size_t)nw);
    }
    if (gray != small) free(gray);
    free(small);
    return s;
}

xrem_status xrem_prep_letterbox_file(const char *path, int R, uint8_t *out)
{
    xrem_image_u8 img;
    xrem_status s = xrem_image_read(path, &img);
    if (!s) {
        s = xrem_prep_letterbox(&img, R, out);
        if (s) s = xrem_fail_context(s, "%s", path);
    }
    xrem_image_free(&img);
    return s;
}

/* ---- (a) MIMIC -> cxr.h5 ------------------------------------------------------------------------ */

#define XREM__PREP_BATCH 32
#define XREM__PREP_FILTER                                                                                              \
    "Pillow Image.resize LANCZOS (Image.ANTIALIAS, 8-bit fixed point), long side to 320, pasted centred on a "         \
    "black 320x320 'L' canvas (RGB converted by paste: L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16); "             \
    "CXR-RePaiR create_bootstrapped_testset.py preprocess()"

static double xrem__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Letterbox images [i0, i0+n) in parallel into out [n, R, R] float; the first failure in file
 * order is reported (each thread keeps its message, xrem_last_error is per thread). */
static xrem_status xrem__prep_batch(const xrem__prep_list *l, int64_t i0, int n, float *out, uint8_t *u8)
{
    const int R = XREM_PREP_SIZE;
    xrem_status st[XREM__PREP_BATCH];
    char msg[XREM__PREP_BATCH][512];
#pragma omp parallel for schedule(dynamic, 1)
    for (int b = 0; b < n; b++) {
        int64_t i = i0 + b;
        st[b] = xrem_prep_letterbox_file(l->path[i], R, u8 + (size_t)b * R * R);
        if (st[b]) snprintf(msg[b], sizeof msg[b], "%s", xrem_last_error());
        for (size_t p = 0; !st[b] && p < (size_t)R * R; p++)
            out[(size_t)b * R * R + p] = u8[(size_t)b * R * R + p];
    }
    for (int b = 0; b < n; b++)
        if (st[b])
            return xrem_fail(st[b], "image %lld (dicom_id %s): %s", (long long)(i0 + b), l->dicom[i0 + b], msg[b]);
    return XREM_OK;
}

static xrem_status xrem__prep_attrs(xrem_h5 *f, const xrem_prep_mimic_opts *o, const xrem__prep_list *l)
{
    xrem_status s = xrem_h5_set_attr_str(f, "/", "xrem_format", "cxr_images");
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "version", 1);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "size", XREM_PREP_SIZE);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "n", l->n);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "resample", XREM__PREP_FILTER);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "jpg_root", o->jpg_root);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "split_csv", o->split_csv);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "split", o->split_name ? o->split_name : "test");
    if (!s && o->reports_csv) s = xrem_h5_set_attr_str(f, "/", "reports_csv", o->reports_csv);
    if (!s && o->ids_csv) s = xrem_h5_set_attr_str(f, "/", "ids_csv", o->ids_csv);
    if (!s && o->views) s = xrem_h5_set_attr_str(f, "/", "views", o->views);
    if (!s && o->views) s = xrem_h5_set_attr_str(f, "/", "metadata_csv", o->metadata_csv);
    return s;
}

static xrem_status xrem__prep_write_ids(xrem_h5 *f, const xrem__prep_list *l)
{
    xrem_status s = xrem_h5_write_strings(f, "dicom_id", (const char *const *)l->dicom, l->n);
    if (!s) s = xrem_h5_write_i64(f, "study_id", 1, (int64_t[]){l->n}, l->study);
    if (!s) s = xrem_h5_write_i64(f, "subject_id", 1, (int64_t[]){l->n}, l->subject);
    return s;
}

static xrem_status xrem__prep_images(xrem_h5 *f, const xrem__prep_list *l, const xrem_progress *progress)
{
    const int R = XREM_PREP_SIZE;
    const int64_t ne[3] = {l->n, R, R};
    float *buf = malloc(sizeof(float) * XREM__PREP_BATCH * R * R);
    uint8_t *u8 = malloc((size_t)XREM__PREP_BATCH * R * R);
    xrem_status s = buf && u8 ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = xrem_h5_create_f32(f, "cxr", 3, ne, 4, 0);
    for (int64_t i = 0; !s && i < l->n; i += XREM__PREP_BATCH) {
        int n = (int)(l->n - i < XREM__PREP_BATCH ? l->n - i : XREM__PREP_BATCH);
        s = xrem__prep_batch(l, i, n, buf, u8);
        if (!s) s = xrem_h5_write_f32_rows(f, "cxr", i, n, buf);
        xrem_progress_report(progress, "images", i + n, l->n, NULL);
    }
    xrem_progress_end(progress);
    free(u8);
    free(buf);
    return s;
}

xrem_status xrem_prep_mimic(const xrem_prep_mimic_opts *o, const char *out_path, xrem_prep_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    if (!o->jpg_root || !o->split_csv || !out_path)
        return xrem_fail(XREM_ERR_ARG, "prep: jpg_root, split_csv and out are required");
    if (o->views && !o->metadata_csv)
        return xrem_fail(XREM_ERR_ARG, "prep: views need the metadata CSV (ViewPosition)");
    const char *const inputs[] = {o->split_csv, o->reports_csv ? o->reports_csv : "", o->ids_csv ? o->ids_csv : "",
                                  o->metadata_csv ? o->metadata_csv : "", NULL};
    xrem_status s = xrem_out_not_input(NULL, out_path, inputs);
    if (s) return s;
    xrem__prep_list l;
    s = xrem__prep_select(o, &l, sum);
    if (s) return s;
    int saved = omp_get_max_threads();
    if (o->threads > 0) omp_set_num_threads(o->threads);
    double t0 = xrem__now();
    xrem_h5 *f = NULL;
    s = xrem_h5_create(out_path, &f);
    if (!s) s = xrem__prep_images(f, &l, o->progress);
    if (!s) s = xrem__prep_write_ids(f, &l);
    if (!s) s = xrem__prep_attrs(f, o, &l);
    if (!s) {
        s = xrem_h5_commit(f);
        f = NULL;
    }
    xrem_h5_close(f);
    omp_set_num_threads(saved);
    sum->n_images = s ? 0 : l.n;
    sum->seconds = xrem__now() - t0;
    xrem__prep_list_free(&l);
    return s;
}

/* ---- (b) cxr.h5 -> cache ----------------------------------------------------------------------- */

#define XREM__CACHE_BATCH 16
#define XREM__CACHE_FILTER "bicubic a=-0.75 align_corners=False no-antialias"

typedef struct {
    const char *src_path;
    int64_t N, H, W;
    char sha[65];
    char **dicom;   /* [N] or NULL */
    int64_t *study; /* [N] or NULL; int64 as everywhere ids are stored (MIMIC ids pass 2^31) */
} xrem__cache_src;

/* The optional id datasets, copied to the cache (whole small datasets). */
static xrem_status xrem__cache_ids(xrem_h5 *h, xrem__cache_src *S)
{
    int64_t n = 0, ne[XREM_MAX_DIMS], want[1] = {S->N};
    xrem_status s = XREM_OK;
    if (xrem_h5_exists(h, "dicom_id")) {
        s = xrem_h5_read_strings(h, "dicom_id", &S->dicom, &n);
        if (!s && n != S->N)
            s = xrem_fail(XREM_ERR_SHAPE, "%s: dicom_id has %lld entries, cxr has %lld images", S->src_path,
                          (long long)n, (long long)S->N);
    }
    if (!s && xrem_h5_exists(h, "study_id")) s = xrem_h5_read_i64(h, "study_id", 1, want, &S->study, ne);
    return s;
}

static xrem_status xrem__cache_check_res(const int *res, int nres)
{
    if (nres < 1 || nres > 8) return xrem_fail(XREM_ERR_ARG, "prep --cache: 1..8 resolutions, got %d", nres);
    for (int i = 0; i < nres; i++) {
        if (res[i] < 1 || res[i] > 4096)
            return xrem_fail(XREM_ERR_ARG, "prep --cache: resolution %d outside 1..4096", res[i]);
        for (int j = 0; j < i; j++)
            if (res[j] == res[i]) return xrem_fail(XREM_ERR_ARG, "prep --cache: resolution %d given twice", res[i]);
    }
    return XREM_OK;
}

static xrem_status xrem__cache_create(xrem_h5 *f, const xrem__cache_src *S, const int *res, int nres)
{
    xrem_status s = XREM_OK;
    for (int r = 0; !s && r < nres; r++) {
        char name[32];
        snprintf(name, sizeof name, "res%d", res[r]);
        int64_t ne[4] = {S->N, 1, res[r], res[r]};
        s = xrem_h5_create_f32(f, name, 4, ne, 4, 1);
        if (!s) s = xrem_h5_set_attr_i64(f, name, "resolution", res[r]);
        if (!s) s = xrem_h5_set_attr_f64(f, name, "mean", XREM_IMAGE_MEAN);
        if (!s) s = xrem_h5_set_attr_f64(f, name, "std", XREM_IMAGE_STD);
        if (!s) s = xrem_h5_set_attr_str(f, name, "filter", XREM__CACHE_FILTER);
    }
    return s;
}

/* Read, hash, preprocess and write the images batch by batch. */
static xrem_status xrem__cache_run(xrem_h5 *src, xrem_h5 *dst, xrem__cache_src *S, const int *res, int nres,
                                   const xrem_progress *progress)
{
    int rmax = 0;
    for (int r = 0; r < nres; r++)
        rmax = res[r] > rmax ? res[r] : rmax;
    size_t img = (size_t)(S->H * S->W);
    float *in = malloc(sizeof(float) * XREM__CACHE_BATCH * img);
    float *out = malloc(sizeof(float) * XREM__CACHE_BATCH * (size_t)rmax * rmax);
    xrem_status s = in && out ? XREM_OK
                              : xrem_fail(XREM_ERR_NOMEM, "out of memory for a batch of %lldx%lld images",
                                          (long long)S->H, (long long)S->W);
    xrem_sha256 sha;
    xrem_sha256_init(&sha);
    for (int64_t i = 0; !s && i < S->N; i += XREM__CACHE_BATCH) {
        int n = (int)(S->N - i < XREM__CACHE_BATCH ? S->N - i : XREM__CACHE_BATCH);
        s = xrem_h5_read_f32_rows(src, "cxr", i, n, in);
        if (!s) xrem_sha256_update(&sha, in, sizeof(float) * n * img);
        for (int r = 0; !s && r < nres; r++) {
            char name[32];
            snprintf(name, sizeof name, "res%d", res[r]);
            s = xrem_image_preprocess_gray(in, n, (int)S->H, (int)S->W, res[r], out);
            if (s) s = xrem_fail_context(s, "%s: images %lld..%lld", S->src_path, (long long)i, (long long)(i + n - 1));
            if (!s) s = xrem_h5_write_f32_rows(dst, name, i, n, out);
        }
        xrem_progress_report(progress, "images", i + n, S->N, NULL);
    }
    xrem_progress_end(progress);
    if (!s) xrem_sha256_final_hex(&sha, S->sha);
    free(out);
    free(in);
    return s;
}

static xrem_status xrem__cache_meta(xrem_h5 *f, const xrem__cache_src *S)
{
    struct stat st;
    xrem_status s = xrem_h5_set_attr_str(f, "/", "xrem_format", "image_cache");
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "version", 1);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "source", S->src_path);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "source_cxr_sha256", S->sha);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "source_cxr_sha256_of", "dataset cxr as float32 little-endian, row-major");
    if (!s && stat(S->src_path, &st) == 0) s = xrem_h5_set_attr_i64(f, "/", "source_size", (int64_t)st.st_size);
    if (!s && stat(S->src_path, &st) == 0) s = xrem_h5_set_attr_i64(f, "/", "source_mtime", (int64_t)st.st_mtime);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "n", S->N);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "source_height", S->H);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "source_width", S->W);
    if (!s) s = xrem_h5_set_attr_f64(f, "/", "mean", XREM_IMAGE_MEAN);
    if (!s) s = xrem_h5_set_attr_f64(f, "/", "std", XREM_IMAGE_STD);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "filter", XREM__CACHE_FILTER);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "channels", "1 (gray; the 3 identical model channels are this one)");
    if (!s && S->dicom) s = xrem_h5_write_strings(f, "dicom_id", (const char *const *)S->dicom, S->N);
    if (!s && S->study) s = xrem_h5_write_i64(f, "study_id", 1, (int64_t[]){S->N}, S->study);
    return s;
}

/* Open the source and check `cxr` is [N, H, W] numbers. */
static xrem_status xrem__cache_open(const char *path, xrem_h5 **src, xrem__cache_src *S)
{
    int nd = 0;
    int64_t ne[XREM_MAX_DIMS];
    xrem_status s = xrem_h5_open(path, src);
    if (!s) s = xrem_h5_info(*src, "cxr", &nd, ne, NULL);
    if (!s && nd != 3)
        s = xrem_fail(XREM_ERR_SHAPE, "%s: dataset 'cxr' must be [N, H, W] images, has rank %d", path, nd);
    if (!s && (ne[0] < 1 || ne[1] < 1 || ne[2] < 1 || ne[1] > 65536 || ne[2] > 65536))
        s = xrem_fail(XREM_ERR_SHAPE,
                      "%s: dataset 'cxr' has shape [%lld,%lld,%lld]; expected [N, H, W] with N, H, W >= 1 "
                      "(H, W <= 65536)",
                      path, (long long)ne[0], (long long)ne[1], (long long)ne[2]);
    if (!s) {
        S->N = ne[0];
        S->H = ne[1];
        S->W = ne[2];
    }
    return s;
}

xrem_status xrem_prep_cache(const char *cxr_path, const char *out_path, const int *res, int nres, int threads,
                            const xrem_progress *progress)
{
    xrem__cache_src S = {cxr_path, 0, 0, 0, "", NULL, NULL};
    xrem_h5 *src = NULL;
    xrem_h5 *dst = NULL;
    xrem_status s = xrem__cache_check_res(res, nres);
    if (!s) s = xrem_out_not_input(NULL, out_path, (const char *const[]){cxr_path, NULL});
    if (!s) s = xrem__cache_open(cxr_path, &src, &S);
    if (!s) s = xrem__cache_ids(src, &S);
    int saved = omp_get_max_threads();
    if (threads > 0) omp_set_num_threads(threads);
    if (!s) s = xrem_h5_create(out_path, &dst);
    if (!s) s = xrem__cache_create(dst, &S, res, nres);
    if (!s) s = xrem__cache_run(src, dst, &S, res, nres, progress);
    if (!s) s = xrem__cache_meta(dst, &S);
    if (!s) {
        s = xrem_h5_commit(dst);
        dst = NULL;
    }
    omp_set_num_threads(saved);
    xrem_h5_close(dst);
    xrem_h5_close(src);
    if (S.dicom) xrem_strings_free(S.dicom, S.N);
    free(S.study);
    return s;
}
