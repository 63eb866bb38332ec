/* RadCliQ v0 and v1 (see radcliq.h). */
#include "radcliq.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>

static const xrem_radcliq_model radcliq__models[2] = {
    {"radcliq-v0",
     {0.539838, 0.631255, 0.771680, 0.460737},
     {0.301834, 0.224670, 0.247503, 0.303367},
     {-0.479625, -0.676217, -0.463666, 0.216586},
     1.641667},
    {"radcliq-v1",
     {0.53792312, 0.61757256, 0.76479421, 0.44738335},
     {0.30282584, 0.22430938, 0.25394391, 0.29892717},
     {-3.77083683e-01, -3.70300100e-01, -2.52616218e-01, 4.31504841e-12},
     2.46655256e-10},
};

const xrem_radcliq_model *xrem_radcliq_constants(xrem_radcliq_version v)
{
    return v == XREM_RADCLIQ_V0 || v == XREM_RADCLIQ_V1 ? &radcliq__models[v] : NULL;
}

xrem_status xrem_radcliq(xrem_radcliq_version v, const double *radgraph, const double *bertscore, const double *semb,
                         const double *bleu2, int64_t n, double *score)
{
    const xrem_radcliq_model *m = xrem_radcliq_constants(v);
    if (!m) return xrem_fail(XREM_ERR_ARG, "RadCliQ: unknown version %d", (int)v);
    if (n < 0) return xrem_fail(XREM_ERR_ARG, "RadCliQ: %" PRId64 " reports", n);
    if (n > 0 && (!radgraph || !bertscore || !semb || !bleu2 || !score))
        return xrem_fail(XREM_ERR_ARG, "RadCliQ: NULL array");
    static const char *const names[4] = {"radgraph", "bertscore", "semb", "bleu2"};
    const double *x[4] = {radgraph, bertscore, semb, bleu2};
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < 4; k++) {
            if (!isfinite(x[k][i]))
                return xrem_fail(XREM_ERR_VALUE, "RadCliQ: %s of report %" PRId64 " is %g", names[k], i + 1, x[k][i]);
            s += m->coef[k] * ((x[k][i] - m->mean[k]) / m->scale[k]);
        }
        score[i] = s + m->intercept;
    }
    return XREM_OK;
}
