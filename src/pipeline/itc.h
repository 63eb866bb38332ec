/* Stage 1: ITC retrieval. score(image, report) = dot of the two L2-normalised features; keep
 * the K best per image, best first, ties to the lower corpus index (DESIGN §2; the reference's
 * standardise + softmax does not change the order). */
#ifndef XREM_PIPELINE_ITC_H
#define XREM_PIPELINE_ITC_H

#include "backend.h"

typedef struct xrem_itc xrem_itc;

/* The corpus features [M, E] are placed on the backend once. */
xrem_status xrem_itc_create(xrem_backend *be, const float *corpus_feat, int64_t M, int E, xrem_itc **out);
void xrem_itc_free(xrem_itc *t);
/* img_feat [n, E] -> idx [n, K], score [n, K] */
xrem_status xrem_itc_topk(xrem_itc *t, const float *img_feat, int n, int K, int32_t *idx, float *score);

/* Host helper shared with stage 2: the K best of v[0..n) (ties: lower index first), best first. */
void xrem_topk_desc(const float *v, int64_t n, int K, int32_t *idx);

#endif
