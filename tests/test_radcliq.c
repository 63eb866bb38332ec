/* RadCliQ v0/v1 (eval/radcliq.h) against numpy: the expected scores below were computed with
 *   z = (X - mean) / scale;  v0 = z @ coef + intercept;  v1 = np.hstack([z, ones]) @ [coef, intercept]
 * (what sklearn's StandardScaler.transform, LinearRegression.predict and CXR-Report-Metric's
 * CompositeMetric.predict do) on the constants of radcliq.c, to 1e-12; plus the constants themselves
 * against DESIGN §3's rounded values, and bad input. */
#include <math.h>
#include <string.h>

#include "radcliq.h"
#include "testutil.h"

int main(void)
{
    /* rows: radgraph, bertscore, semb, bleu2 */
    static const double X[5][4] = {
        {0.5, 0.6, 0.8, 0.4}, {0, 0, 0, 0}, {1, 1, 1, 1}, {0.123, 0.456, 0.789, 0.012}, {0.9, -0.2, 0.95, 0.3}};
    static const double want[5][2] = {{1.7026264368231299, 0.04121034401809081},
                                      {5.5161622637249099, 2.4501430996030669},
                                      {-0.24213145933619074, -1.4406903118732055},
                                      {2.4787056467787902, 0.75932112396607576},
                                      {3.1224704509891001, 0.71458434371958202}};
    double f[4][5], got[5];
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 4; k++)
            f[k][i] = X[i][k];
    for (int v = 0; v < 2; v++) {
        CHECK_OK(xrem_radcliq((xrem_radcliq_version)v, f[0], f[1], f[2], f[3], 5, got));
        double e = 0;
        for (int i = 0; i < 5; i++)
            e = fmax(e, fabs(got[i] - want[i][v]));
        printf("  %s: max abs err %.3g vs numpy (tol 1e-12)\n", xrem_radcliq_constants(v)->name, e);
        CHECK(e <= 1e-12, "radcliq v%d: max abs err %g", v, e);
    }
    /* v1's digits round to DESIGN §3's 6-digit values */
    const xrem_radcliq_model *m1 = xrem_radcliq_constants(XREM_RADCLIQ_V1);
    static const double d_mean[4] = {0.537923, 0.617573, 0.764794, 0.447383},
                        d_scale[4] = {0.302826, 0.224309, 0.253944, 0.298927},
                        d_coef[3] = {-0.377084, -0.370300, -0.252616};
    for (int k = 0; k < 4; k++) {
        CHECK(fabs(m1->mean[k] - d_mean[k]) <= 5e-7 && fabs(m1->scale[k] - d_scale[k]) <= 5e-7, "v1 scaler %d", k);
        if (k < 3) CHECK(fabs(m1->coef[k] - d_coef[k]) <= 5e-7, "v1 coef %d", k);
    }
    CHECK(fabs(m1->coef[3]) < 1e-9 && fabs(m1->intercept) < 1e-9, "v1 bleu coefficient / intercept ~0");
    CHECK(xrem_radcliq_constants((xrem_radcliq_version)2) == NULL, "unknown version has constants");
    /* bad input */
    f[2][3] = NAN;
    xrem_status s = xrem_radcliq(XREM_RADCLIQ_V0, f[0], f[1], f[2], f[3], 5, got);
    printf("  NaN semb -> %s\n", xrem_last_error());
    CHECK(s == XREM_ERR_VALUE && strstr(xrem_last_error(), "semb of report 4"), "NaN input not named");
    CHECK(xrem_radcliq(XREM_RADCLIQ_V1, NULL, NULL, NULL, NULL, 0, NULL) == XREM_OK, "n == 0 must do nothing");
    CHECK(xrem_radcliq((xrem_radcliq_version)7, f[0], f[1], f[2], f[3], 5, got) == XREM_ERR_ARG, "bad version");
    if (xrem_test_failures) fprintf(stderr, "%d checks failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
