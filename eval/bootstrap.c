/* Bootstrap CIs, the CXR-RePaiR t-interval and the paired bootstrap test (see bootstrap.h). */
#include "bootstrap.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npsum.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void xrem_rng_seed(xrem_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t xrem_rng_next(xrem_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Lemire (2019): the high word of x*n is uniform once the low word clears the threshold. */
uint64_t xrem_rng_below(xrem_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    unsigned __int128 m = (unsigned __int128)xrem_rng_next(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t thresh = (0 - n) % n;
        while (lo < thresh) {
            m = (unsigned __int128)xrem_rng_next(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double xrem_rng_uniform(xrem_rng *r) { return (double)(xrem_rng_next(r) >> 11) * 0x1.0p-53; }

void xrem_bootstrap_indices(xrem_rng *r, int64_t n, int64_t *idx)
{
    for (int64_t i = 0; i < n; i++) idx[i] = (int64_t)xrem_rng_below(r, (uint64_t)n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double xrem_quantile_sorted(const double *v, int64_t n, double q)
{
    if (n <= 0 || !(q >= 0 && q <= 1)) return NAN;
    double pos = q * (double)(n - 1);
    int64_t lo = (int64_t)floor(pos);
    if (lo >= n - 1) return v[n - 1];
    double t = pos - (double)lo, a = v[lo], b = v[lo + 1];
    /* numpy's _lerp: a + (b-a)t, computed from the upper end when t >= 0.5 */
    return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

static xrem_status check_finite(const double *x, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return xrem_fail(XREM_ERR_VALUE, "bootstrap: %s[%" PRId64 "] is not finite (%g)", what, i, x[i]);
    return XREM_OK;
}

xrem_status xrem_bootstrap_mean_ci(const double *x, int64_t n, int B, double level, uint64_t seed, xrem_ci *out)
{
    if (!x || !out || n < 1) return xrem_fail(XREM_ERR_ARG, "bootstrap: need at least one value");
    if (B < 1 || B > 10000000) return xrem_fail(XREM_ERR_ARG, "bootstrap: %d resamples not in 1..10^7", B);
    if (!(level > 0 && level < 1)) return xrem_fail(XREM_ERR_ARG, "bootstrap: level %g not in (0, 1)", level);
    xrem_status st = check_finite(x, n, "x");
    if (st != XREM_OK) return st;
    double *means = malloc((size_t)B * sizeof *means);
    if (!means) return xrem_fail(XREM_ERR_NOMEM, "bootstrap: out of memory");
    xrem_rng r;
    xrem_rng_seed(&r, seed);
    for (int b = 0; b < B; b++) {
        double s = 0; /* resampled values are summed in draw order */
        for (int64_t i = 0; i < n; i++) s += x[xrem_rng_below(&r, (uint64_t)n)];
        means[b] = s / (double)n;
    }
    qsort(means, (size_t)B, sizeof *means, cmp_double);
    out->mean = xrem_np_sum(x, n) / (double)n;
    out->lo = xrem_quantile_sorted(means, B, (1 - level) / 2);
    out->hi = xrem_quantile_sorted(means, B, (1 + level) / 2);
    out->level = level;
    out->B = B;
    out->n = n;
    free(means);
    return XREM_OK;
}

/* t(0.975, df), df = 1..30: mpmath roots (see bootstrap.h). */
static const double T975[30] = {
    12.706204736174705, 4.302652729749464, 3.1824463052837095, 2.7764451051977943, 2.5705818356363155,
    2.44691185114497, 2.3646242515927853, 2.3060041352041667, 2.2621571627982053, 2.228138851986275,
    2.2009851600916397, 2.178812829667229, 2.1603686564627926, 2.144786687917804, 2.1314495455597755,
    2.1199052992212546, 2.109815577833317, 2.1009220402410387, 2.0930240544083096, 2.085963447265865,
    2.0796138447276804, 2.0738730679040263, 2.0686576104190486, 2.063898561628026, 2.0595385527532977,
    2.055529438642873, 2.0518305164802855, 2.048407141795245, 2.0452296421327043, 2.042272456301238};

double xrem_t975(int df) { return df >= 1 && df <= 30 ? T975[df - 1] : NAN; }

xrem_status xrem_t_interval95(const double *x, int R, double *mean, double *half)
{
    if (!x || !mean || !half) return xrem_fail(XREM_ERR_ARG, "t-interval: NULL argument");
    if (R < 2 || R > 31) return xrem_fail(XREM_ERR_ARG, "t-interval: %d values; need 2..31", R);
    xrem_status st = check_finite(x, R, "scores");
    if (st != XREM_OK) return st;
    double m = xrem_np_sum(x, R) / R, d[31];
    for (int i = 0; i < R; i++) d[i] = (x[i] - m) * (x[i] - m);
    double sd = sqrt(xrem_np_sum(d, R) / (R - 1));
    *mean = m;
    *half = xrem_t975(R - 1) * (sd / sqrt((double)R));
    return XREM_OK;
}

xrem_status xrem_bootstrap_paired(const double *a, const double *b, int64_t n, int B, uint64_t seed, xrem_paired_test *out)
{
    if (!a || !b || !out || n < 1) return xrem_fail(XREM_ERR_ARG, "paired bootstrap: need at least one pair");
    if (B < 1 || B > 10000000) return xrem_fail(XREM_ERR_ARG, "paired bootstrap: %d resamples not in 1..10^7", B);
    xrem_status st = check_finite(a, n, "a");
    if (st == XREM_OK) st = check_finite(b, n, "b");
    if (st != XREM_OK) return st;
    double *d = malloc((size_t)n * sizeof *d), *means = malloc((size_t)B * sizeof *means);
    if (!d || !means) {
        free(d);
        free(means);
        return xrem_fail(XREM_ERR_NOMEM, "paired bootstrap: out of memory");
    }
    for (int64_t i = 0; i < n; i++) d[i] = a[i] - b[i];
    double obs = xrem_np_sum(d, n) / (double)n;
    xrem_rng r;
    xrem_rng_seed(&r, seed);
    int64_t extreme = 0;
    for (int k = 0; k < B; k++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += d[xrem_rng_below(&r, (uint64_t)n)];
        means[k] = s / (double)n;
        if (fabs(means[k] - obs) >= fabs(obs)) extreme++;
    }
    qsort(means, (size_t)B, sizeof *means, cmp_double);
    out->mean_a = xrem_np_sum(a, n) / (double)n;
    out->mean_b = xrem_np_sum(b, n) / (double)n;
    out->diff = obs;
    out->lo = xrem_quantile_sorted(means, B, 0.025);
    out->hi = xrem_quantile_sorted(means, B, 0.975);
    out->p_value = (double)(1 + extreme) / (double)(B + 1);
    out->B = B;
    out->n = n;
    free(d);
    free(means);
    return XREM_OK;
}
