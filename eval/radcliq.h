/* eval/radcliq.h — RadCliQ (Yu et al. 2023, rajpurkarlab/CXR-Report-Metric), the composite metric of
 * radiologist-aligned errors: lower is better. Per report, from four per-report metrics in this
 * order (CXR-Report-Metric's COLS):
 *     x = [radgraph, bertscore, semb, bleu2]
 *   radgraph   RadGraph F1, (entity F1 + relation F1) / 2 ("radgraph_combined"; supplied by the user)
 *   bertscore  BERTScore F1, distilroberta-base, rescale_with_baseline=True
 *   semb       CheXbert s_emb (models/chexbert.h)
 *   bleu2      BLEU-2 as CXR-Report-Metric (eval/bleu.h xrem_bleu2)
 * z = (x − mean) / scale (sklearn StandardScaler.transform), then
 *   v0 (composite_metric_model.pkl + normalizer.pkl): score = coef · z + intercept;
 *   v1 (radcliq-v1.pkl, CompositeMetric.predict):       score = [z, 1] · coefs.
 * Constants: v0 as DESIGN §3 gives them (6 digits); v1 with the digits jbdel/RadEval's RadCliQv1
 * (RadEval/metrics/RadCliQv1/radcliq.py) read out of radcliq-v1.pkl — they round to DESIGN's values —
 * including the two "~0" entries DESIGN leaves out: the bleu2 coefficient 4.31504841e-12 and the
 * intercept 2.46655256e-10 (both contribute < 1e-9 to any score).
 *
 *   double *score = malloc(n * sizeof *score);
 *   xrem_radcliq(XREM_RADCLIQ_V1, radgraph, bertscore, semb, bleu2, n, score);
 */
#ifndef XREM_EVAL_RADCLIQ_H
#define XREM_EVAL_RADCLIQ_H

#include <stdint.h>

#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { XREM_RADCLIQ_V0 = 0, XREM_RADCLIQ_V1 = 1 } xrem_radcliq_version;

typedef struct {
    const char *name; /* "radcliq-v0", "radcliq-v1" */
    double mean[4];   /* StandardScaler mean_, feature order radgraph, bertscore, semb, bleu2 */
    double scale[4];  /* StandardScaler scale_ */
    double coef[4];
    double intercept;
} xrem_radcliq_model;

/* The constants of a version (static storage); NULL for an unknown version. */
const xrem_radcliq_model *xrem_radcliq_constants(xrem_radcliq_version v);

/* score[i] for the n reports (any input may alias none of the outputs). Fails (XREM_ERR_VALUE,
 * naming the feature and the report index) on a non-finite input; n == 0 does nothing. */
xrem_status xrem_radcliq(xrem_radcliq_version v, const double *radgraph, const double *bertscore, const double *semb,
                         const double *bleu2, int64_t n, double *score);

#ifdef __cplusplus
}
#endif
#endif
