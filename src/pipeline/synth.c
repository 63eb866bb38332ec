#define _POSIX_C_SOURCE 200809L /* strdup */
#include "pipeline/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/h5.h"

typedef struct {
    uint64_t s;
} synth_rng;

static uint64_t synth_next(synth_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in (0, 1) */
static double synth_u(synth_rng *r) { return ((double)(synth_next(r) >> 11) + 0.5) / 9007199254740992.0; }
static double synth_range(synth_rng *r, double lo, double hi) { return lo + (hi - lo) * synth_u(r); }
static double synth_normal(synth_rng *r)
{
    const double u1 = synth_u(r), u2 = synth_u(r); /* initialisers are sequenced: a fixed draw order */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Soft inside-ness of an axis-aligned ellipse: 1 inside, 0 outside, a smooth rim of width w
 * (in units of the normalised radius). */
static double ellipse(double x, double y, double cx, double cy, double rx, double ry, double w)
{
    const double dx = (x - cx) / rx, dy = (y - cy) / ry, d = sqrt(dx * dx + dy * dy);
    if (d <= 1.0 - w) return 1.0;
    if (d >= 1.0) return 0.0;
    const double t = (1.0 - d) / w;
    return t * t * (3.0 - 2.0 * t);
}

typedef struct {
    int x0, y0, w, h;            /* content rectangle inside the letterbox */
    double tissue, torso, lung;  /* base intensities */
    double lcx, rcx, lcy, lrx, lry; /* lung centres/radii (content units 0..1) */
    double hx, hy, hrx, hry, heart;
    double rib_amp, rib_period, rib_curve, rib_phase;
    double spine, noise;
} synth_params;

static synth_params synth_draw(synth_rng *r, int S)
{
    synth_params p;
    /* letterbox: the film's aspect ratio is 0.75..0.97 (always a black border); the long side fills
     * the square */
    const double aspect = synth_range(r, 0.75, 0.97);
    const int portrait = synth_u(r) < 0.5, shortside = (int)lround(S * aspect);
    p.w = portrait ? shortside : S;
    p.h = portrait ? S : shortside;
    p.x0 = (S - p.w) / 2;
    p.y0 = (S - p.h) / 2;
    p.tissue = synth_range(r, 25, 55);
    p.torso = synth_range(r, 165, 205);
    p.lung = synth_range(r, 55, 95);
    p.lcy = synth_range(r, 0.42, 0.50);
    p.lrx = synth_range(r, 0.14, 0.19);
    p.lry = synth_range(r, 0.25, 0.32);
    p.lcx = 0.5 - synth_range(r, 0.17, 0.22);
    p.rcx = 0.5 + synth_range(r, 0.17, 0.22);
    p.hx = 0.5 + synth_range(r, 0.03, 0.10); /* the heart sits left of the patient: image right */
    p.hy = synth_range(r, 0.58, 0.66);
    p.hrx = synth_range(r, 0.11, 0.16);
    p.hry = synth_range(r, 0.09, 0.13);
    p.heart = p.torso + synth_range(r, 12, 35);
    p.rib_amp = synth_range(r, 18, 34);
    p.rib_period = synth_range(r, 0.055, 0.075);
    p.rib_curve = synth_range(r, 0.9, 1.4);
    p.rib_phase = synth_range(r, 0, 6.283185307179586);
    p.spine = synth_range(r, 20, 45);
    p.noise = synth_range(r, 2.5, 6.0);
    return p;
}

static void synth_one(uint64_t seed, int i, int S, float *img)
{
    synth_rng r = {seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(i + 1))};
    synth_next(&r);
    const synth_params p = synth_draw(&r, S);
    memset(img, 0, sizeof(float) * (size_t)S * S);
    for (int y = 0; y < p.h; y++)
        for (int x = 0; x < p.w; x++) {
            const double u = (x + 0.5) / p.w, v = (y + 0.5) / p.h; /* content coordinates 0..1 */
            double val = p.tissue;
            const double torso = ellipse(u, v, 0.5, 0.58, 0.46, 0.52, 0.15);
            val += (p.torso - p.tissue) * torso;
            const double lungs = ellipse(u, v, p.lcx, p.lcy, p.lrx, p.lry, 0.25) +
                                 ellipse(u, v, p.rcx, p.lcy, p.lrx, p.lry, 0.25);
            val += (p.lung - p.torso) * lungs * torso;
            /* ribs: bands that curve down away from the midline, visible over the lungs */
            const double band = sin(6.283185307179586 * (v - p.rib_curve * (u - 0.5) * (u - 0.5)) / p.rib_period +
                                    p.rib_phase);
            val += p.rib_amp * (0.5 + 0.5 * band) * lungs;
            val += p.spine * ellipse(u, v, 0.5, 0.55, 0.035, 0.6, 0.5) * torso;
            val += (p.heart - val) * ellipse(u, v, p.hx, p.hy, p.hrx, p.hry, 0.35);
            val += p.noise * synth_normal(&r);
            img[(int64_t)(p.y0 + y) * S + p.x0 + x] = (float)(val < 0 ? 0 : val > 255 ? 255 : val);
        }
}

xrem_status xrem_synth_cxr(int N, int S, uint64_t seed, float *out)
{
    if (N < 1 || S < 32 || S > 8192) return xrem_fail(XREM_ERR_ARG, "synthetic images: N = %d, S = %d (need N >= 1, 32 <= S <= 8192)", N, S);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) synth_one(seed, i, S, out + (int64_t)i * S * S);
    return XREM_OK;
}

xrem_status xrem_synth_cxr_write(const char *path, int N, int S, uint64_t seed, const int32_t *study_ids)
{
    if (N < 1 || S < 32 || S > 8192) return xrem_fail(XREM_ERR_ARG, "synthetic images: N = %d, S = %d (need N >= 1, 32 <= S <= 8192)", N, S);
    const size_t n = (size_t)N * S * S;
    if (n / (size_t)N / (size_t)S != (size_t)S || n > ((size_t)1 << 40) / sizeof(float))
        return xrem_fail(XREM_ERR_NOMEM, "synthetic images: %d x %d x %d is too large", N, S, S);
    float *img = malloc(n * sizeof *img);
    int32_t *study = malloc(sizeof *study * (size_t)N);
    char **dic = calloc((size_t)N, sizeof *dic);
    xrem_status s = img && study && dic ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory for %d images", N);
    for (int i = 0; !s && i < N; i++) {
        char b[64];
        snprintf(b, sizeof b, "synth%llu_%06d", (unsigned long long)seed, i);
        study[i] = study_ids ? study_ids[i] : i;
        if (!(dic[i] = strdup(b))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    if (!s) s = xrem_synth_cxr(N, S, seed, img);
    xrem_h5 *f = NULL;
    if (!s) s = xrem_h5_create(path, &f);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "source", "xrem synthetic chest-X-ray-like images (not medical data)");
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "seed", (int64_t)seed);
    if (!s) s = xrem_h5_write_f32(f, "cxr", 3, (int64_t[]){N, S, S}, img);
    if (!s) s = xrem_h5_write_strings(f, "dicom_id", (const char *const *)dic, N);
    if (!s) s = xrem_h5_write_i32(f, "study_id", 1, (int64_t[]){N}, study);
    if (!s) s = xrem_h5_commit(f);
    else xrem_h5_close(f);
    free(img);
    free(study);
    xrem_strings_free(dic, dic ? N : 0);
    return s;
}
