/* LayerNorm over the last dim, fp32, as torch.nn.LayerNorm:
 *   y[r,:] = (x[r,:] - mean) / sqrt(var + eps) * g + b,  var biased (divide by C).
 *
 * One warp per row, XREM_CUDA_ROW_WARPS rows per block; any C (a lane strides the row by 32,
 * so C need not be a multiple of 32). Two passes over the row for the statistics (mean, then
 * the sum of squared deviations: no cancellation when |mean| >> std), a third to write; a row
 * of 3072 floats is 12 KiB, so passes 2 and 3 mostly hit L1/L2.
 *
 * y may alias x: every element is read by the lane that writes it, and all reads of the
 * statistics passes finish before the warp-wide shuffles that precede the writes.
 */
#include <limits.h>

#include "cuda_common.cuh"

static __global__ void layernorm_kernel(float *y, const float *x, const float *g, const float *b,
                                        int64_t rows, int C, float eps)
{
    const int64_t row = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return; /* row is uniform across the warp: the whole warp leaves */
    const float *xr = x + row * C;
    float *yr = y + row * C;

    float s = 0.0f;
    for (int i = lane; i < C; i += 32) s += xr[i];
    const float mean = xrem_warp_sum(s) / (float)C;

    float v = 0.0f;
    for (int i = lane; i < C; i += 32) {
        const float d = xr[i] - mean;
        v += d * d;
    }
    const float rstd = 1.0f / sqrtf(xrem_warp_sum(v) / (float)C + eps);

    for (int i = lane; i < C; i += 32) yr[i] = (xr[i] - mean) * rstd * g[i] + b[i];
}

void xrem_cuda_layernorm(xrem_backend *be, xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *g,
                         const xrem_tensor *b, float eps)
{
    xrem_op_check_layernorm(be, y, x, g, b, eps);
    const int64_t R = xrem_tensor_rows(x), C = xrem_tensor_cols(x);
    if (R == 0 || C == 0) return;
    const int64_t blocks = (R + XREM_CUDA_ROW_WARPS - 1) / XREM_CUDA_ROW_WARPS;
    XREM_ASSERT(blocks <= INT_MAX);
    layernorm_kernel<<<(unsigned)blocks, 32 * XREM_CUDA_ROW_WARPS, 0, xrem_cuda_ctx_of(be)->stream>>>(
        (float *)y->data, (const float *)x->data, (const float *)g->data, (const float *)b->data, R, (int)C,
        eps);
    launchCheck(be, "layernorm_kernel");
}
