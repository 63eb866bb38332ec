/* Bootstrap statistics: checks that fail when the statistics are wrong.
 *  - the RNG: same seed same stream; index draws uniform (chi-square);
 *  - percentile CI: deterministic per seed; coverage of the true mean of Uniform(0,1) samples
 *    close to the nominal 95% over 300 independent data sets;
 *  - t-interval: scipy's number for 1..10, the t table at df 1 and 9;
 *  - quantiles: numpy.percentile's linear interpolation;
 *  - paired test: p = 1 for identical systems, p at its floor for a clearly better one, and
 *    roughly uniform p-values (few below 0.05) when the two systems only differ by noise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "testutil.h"

static int test_rng(void)
{
    xrem_rng a, b;
    xrem_rng_seed(&a, 42);
    xrem_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= xrem_rng_next(&a) == xrem_rng_next(&b);
    CHECK(same, "same seed must give the same stream");
    xrem_rng_seed(&b, 43);
    CHECK(xrem_rng_next(&a) != xrem_rng_next(&b), "different seeds should differ");

    /* chi-square of 200000 draws over 10 cells (df 9; 27.88 is the 0.999 quantile) */
    int64_t cnt[10] = {0};
    xrem_rng_seed(&a, 7);
    const int N = 200000;
    for (int i = 0; i < N; i++) cnt[xrem_rng_below(&a, 10)]++;
    double chi = 0;
    for (int k = 0; k < 10; k++) chi += (cnt[k] - N / 10.0) * (cnt[k] - N / 10.0) / (N / 10.0);
    printf("rng: chi-square of 10 cells = %.2f (df 9)\n", chi);
    CHECK(chi < 27.88, "index draws not uniform: chi2 %.2f", chi);
    /* a non-power-of-two range near 2^63 must stay in range */
    uint64_t big = (UINT64_C(1) << 63) + 12345;
    int in_range = 1;
    for (int i = 0; i < 1000; i++) in_range &= xrem_rng_below(&a, big) < big;
    CHECK(in_range, "xrem_rng_below out of range");
    double u = xrem_rng_uniform(&a);
    CHECK(u >= 0 && u < 1, "uniform %g", u);
    return 0;
}

static int test_ci(void)
{
    double x[50];
    xrem_rng g;
    xrem_rng_seed(&g, 1);
    for (int i = 0; i < 50; i++) x[i] = xrem_rng_uniform(&g);
    xrem_ci c1, c2, c3;
    CHECK_OK(xrem_bootstrap_mean_ci(x, 50, 1000, 0.95, 99, &c1));
    CHECK_OK(xrem_bootstrap_mean_ci(x, 50, 1000, 0.95, 99, &c2));
    CHECK_OK(xrem_bootstrap_mean_ci(x, 50, 1000, 0.95, 100, &c3));
    CHECK(c1.lo == c2.lo && c1.hi == c2.hi, "same seed, different CI");
    CHECK(c1.lo != c3.lo || c1.hi != c3.hi, "different seed, identical CI");
    CHECK(c1.lo < c1.mean && c1.mean < c1.hi, "CI [%g, %g] does not hold the mean %g", c1.lo, c1.hi, c1.mean);
    /* the bootstrap SE of a mean of Uniform(0,1) n=50 is about 0.289/sqrt(50) = 0.041: width ~ 0.16 */
    double w = c1.hi - c1.lo;
    CHECK(w > 0.10 && w < 0.22, "CI width %g far from 2*1.96*0.041", w);

    /* coverage over independent data sets */
    int hits = 0, T = 300;
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < 50; i++) x[i] = xrem_rng_uniform(&g);
        xrem_ci c;
        CHECK_OK(xrem_bootstrap_mean_ci(x, 50, 400, 0.95, (uint64_t)t, &c));
        hits += c.lo <= 0.5 && 0.5 <= c.hi;
    }
    double cov = (double)hits / T;
    printf("percentile CI: coverage of the true mean %.3f over %d data sets (nominal 0.95)\n", cov, T);
    CHECK(cov > 0.89 && cov < 0.99, "coverage %.3f", cov);

    double one = 0.25;
    xrem_ci c;
    CHECK_OK(xrem_bootstrap_mean_ci(&one, 1, 10, 0.95, 1, &c));
    CHECK(c.lo == 0.25 && c.hi == 0.25, "one value: [%g, %g]", c.lo, c.hi);
    double bad[2] = {0.1, NAN};
    CHECK(xrem_bootstrap_mean_ci(bad, 2, 10, 0.95, 1, &c) == XREM_ERR_VALUE, "NaN must be refused");
    CHECK(xrem_bootstrap_mean_ci(x, 0, 10, 0.95, 1, &c) == XREM_ERR_ARG, "n = 0 must be refused");
    CHECK(xrem_bootstrap_mean_ci(x, 5, 10, 1.5, 1, &c) == XREM_ERR_ARG, "level 1.5 must be refused");
    return 0;
}

static int test_t_and_quantile(void)
{
    double x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, m, h;
    CHECK_OK(xrem_t_interval95(x, 10, &m, &h));
    /* scipy: st.t.interval(0.95, 9, loc=5.5, scale=st.sem(range(1, 11))) */
    CHECK(m == 5.5 && fabs(h - 2.165850589668169) < 1e-14, "t-interval 1..10: %.17g %.17g", m, h);
    CHECK(xrem_t975(9) == 2.2621571627982053, "t(0.975, 9) = %.17g", xrem_t975(9));
    CHECK(fabs(xrem_t975(1) - tan(0.475 * M_PI)) < 1e-13, "t(0.975, 1) = %.17g vs tan(0.475 pi)", xrem_t975(1));
    CHECK(isnan(xrem_t975(31)), "df 31 has no table entry");
    double v[5] = {0.1, 0.4, 0.45, 0.9, 2.0};
    double q[6] = {0.025, 0.5, 0.975, 0, 1, 0.333};
    double want[6] = {0.13, 0.45, 1.89, 0.1, 2.0, 0.4166}; /* numpy.percentile */
    for (int k = 0; k < 6; k++)
        CHECK(fabs(xrem_quantile_sorted(v, 5, q[k]) - want[k]) < 1e-15, "quantile %g: %.17g vs %g", q[k],
              xrem_quantile_sorted(v, 5, q[k]), want[k]);
    return 0;
}

static int test_paired(void)
{
    enum { N = 200 };
    double a[N], b[N];
    xrem_rng g;
    xrem_rng_seed(&g, 5);
    for (int i = 0; i < N; i++) a[i] = b[i] = xrem_rng_uniform(&g);
    xrem_paired_test t;
    CHECK_OK(xrem_bootstrap_paired(a, b, N, 1000, 3, &t));
    printf("paired test, identical systems: diff %g, p = %.4f\n", t.diff, t.p_value);
    CHECK(t.diff == 0 && t.p_value == 1.0, "identical systems: diff %g p %g", t.diff, t.p_value);

    for (int i = 0; i < N; i++) a[i] = b[i] + 0.05 + 0.1 * (xrem_rng_uniform(&g) - 0.5);
    CHECK_OK(xrem_bootstrap_paired(a, b, N, 1000, 3, &t));
    printf("paired test, A better by 0.05: diff %.4f [%.4f, %.4f], p = %.4f\n", t.diff, t.lo, t.hi, t.p_value);
    CHECK(t.p_value <= 2.0 / 1001 && t.diff > 0.04 && t.diff < 0.06 && t.lo > 0, "clearly better: p %g diff %g", t.p_value, t.diff);

    /* no true difference: p-values should rarely fall below 0.05 */
    int low = 0, T = 120;
    double psum = 0;
    for (int r = 0; r < T; r++) {
        for (int i = 0; i < 60; i++) {
            a[i] = xrem_rng_uniform(&g);
            b[i] = xrem_rng_uniform(&g);
        }
        CHECK_OK(xrem_bootstrap_paired(a, b, 60, 300, (uint64_t)r, &t));
        low += t.p_value < 0.05;
        psum += t.p_value;
    }
    printf("paired test, no difference: %d/%d p < 0.05, mean p %.3f\n", low, T, psum / T);
    CHECK(low <= 15 && psum / T > 0.35, "null p-values: %d below 0.05, mean %.3f", low, psum / T);
    CHECK(xrem_bootstrap_paired(a, b, 0, 10, 1, &t) == XREM_ERR_ARG, "n = 0 must be refused");
    return 0;
}

int main(void)
{
    if (test_rng() || test_ci() || test_t_and_quantile() || test_paired()) return 1;
    if (xrem_test_failures) {
        printf("test_bootstrap: %d failure(s)\n", xrem_test_failures);
        return 1;
    }
    printf("test_bootstrap: ok\n");
    return 0;
}
