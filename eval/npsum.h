/* numpy's pairwise summation of float64 (what np.sum and np.mean do on a contiguous array): the
 * metrics' means, sklearn's averages and the bootstrap all add in this order, so their numbers match
 * the reference's to the last bit where the inputs do. */
#ifndef XREM_EVAL_NPSUM_H
#define XREM_EVAL_NPSUM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

double xrem_np_sum(const double *a, int64_t n);

#ifdef __cplusplus
}
#endif

#endif
