/* eval/bootstrap.h — resampling statistics for per-report metrics.
 *
 * RNG: xoshiro256** (Blackman & Vigna 2018) whose 256-bit state is filled by four splitmix64 draws
 * from the 64-bit seed; a uniform index in [0, n) uses Lemire's multiply-shift with rejection
 * (unbiased). Matching numpy's generator is not a goal; the same seed gives the same numbers on
 * every platform.
 *
 * Percentile bootstrap CI of a mean (xrem_bootstrap_mean_ci): B resamples of the n values with
 * replacement; the CI is the (1-level)/2 and (1+level)/2 quantiles of the B resampled means, by
 * linear interpolation between order statistics (numpy.percentile's default "linear" method).
 *
 * CXR-RePaiR's t-interval (xrem_t_interval95): mean ± t(0.975, R-1) · sd / sqrt(R), sd with
 * ddof = 1 (scipy.stats.sem), as st.t.interval(0.95, df=R-1, loc=mean, scale=sem) gives. The t
 * quantiles for 1..30 degrees of freedom are the 40-digit roots of the regularised incomplete beta
 * function computed with mpmath (I_{df/(df+t^2)}(df/2, 1/2) = 0.05), rounded to double; for df = 9
 * that is 2.2621571627982053 (scipy.stats.t.ppf(0.975, 9) = 2.262157162798205, one ulp away).
 *
 * Paired bootstrap test (xrem_bootstrap_paired): per-report differences d_i = a_i - b_i; the
 * observed statistic is mean(d). B resamples of the n pairs give means m_k; the two-sided p-value
 * is (1 + #{k : |m_k - mean(d)| >= |mean(d)|}) / (B + 1), i.e. how often the resampled difference,
 * shifted to the null hypothesis of no difference, is at least as extreme as the observed one
 * (Efron & Tibshirani's shift method; the +1 keeps p > 0). Identical systems give p = 1.
 *
 *   xrem_ci ci;
 *   xrem_bootstrap_mean_ci(bleu, n, 1000, 0.95, 12345, &ci);   // ci.mean, ci.lo, ci.hi
 *   xrem_paired_test t;
 *   xrem_bootstrap_paired(bleu_a, bleu_b, n, 1000, 12345, &t);  // t.diff, t.p_value
 */
#ifndef XREM_EVAL_BOOTSTRAP_H
#define XREM_EVAL_BOOTSTRAP_H

#include <stdint.h>

#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XREM_BOOTSTRAP_DEFAULT 1000

typedef struct {
    uint64_t s[4];
} xrem_rng;

void xrem_rng_seed(xrem_rng *r, uint64_t seed);
uint64_t xrem_rng_next(xrem_rng *r);
/* Uniform in [0, n), n >= 1. */
uint64_t xrem_rng_below(xrem_rng *r, uint64_t n);
/* Uniform double in [0, 1) (53 bits). */
double xrem_rng_uniform(xrem_rng *r);
/* n indices drawn uniformly from [0, n) with replacement. */
void xrem_bootstrap_indices(xrem_rng *r, int64_t n, int64_t *idx);

typedef struct {
    double mean;  /* of the data */
    double lo, hi;
    double level; /* e.g. 0.95 */
    int B;
    int64_t n;
} xrem_ci;

/* Percentile bootstrap CI of the mean of x[0..n). B >= 1, 0 < level < 1. Non-finite x fail. */
xrem_status xrem_bootstrap_mean_ci(const double *x, int64_t n, int B, double level, uint64_t seed, xrem_ci *out);

/* mean and t-interval half-width of x[0..R), 2 <= R <= 31 (df = R-1 in 1..30). */
xrem_status xrem_t_interval95(const double *x, int R, double *mean, double *half);
/* t(0.975, df) for df in 1..30; NAN otherwise. */
double xrem_t975(int df);

typedef struct {
    double mean_a, mean_b;
    double diff;    /* mean(a - b) */
    double lo, hi;  /* percentile CI of the difference at 95% */
    double p_value; /* two-sided, see above */
    int B;
    int64_t n;
} xrem_paired_test;

xrem_status xrem_bootstrap_paired(const double *a, const double *b, int64_t n, int B, uint64_t seed, xrem_paired_test *out);

/* Quantile q in [0,1] of sorted v[0..n) with numpy's linear interpolation. */
double xrem_quantile_sorted(const double *v, int64_t n, double q);

#ifdef __cplusplus
}
#endif
#endif
