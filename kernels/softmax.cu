/* Row softmax in place, fp32, numerically stable:
 *   x[r,j] = exp(x[r,j] - max_r) / Σ_j exp(x[r,j] - max_r)
 * optionally after adding the attention mask term (1 - mask[j]) · (-10000) (HF BERT's extended
 * attention mask), which is how attention.cu uses it.
 *
 * One warp per row, XREM_CUDA_ROW_WARPS rows per block, any number of columns. Two passes:
 * pass 1 keeps a running (max m, sum s of exp(x - m)) per lane ("online softmax": when a larger
 * value arrives the sum is rescaled by exp(m_old - m_new)), then the 32 lane pairs are merged by
 * a butterfly; pass 2 writes exp(x - m) / s. Lanes that saw no element (C < 32) hold
 * (m = -inf, s = 0) and are merged as zero, never as exp(-inf - -inf) = NaN.
 * expf is CUDA's accurate one (≤ 2 ulp).
 */
#include <limits.h>
#include <math.h>

#include "cuda_common.cuh"

template <bool MASKED>
static __global__ void softmax_kernel(float *x, int64_t rows, int C, const float *mask, int64_t rows_per_mask)
{
    const int64_t row = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return; /* uniform across the warp */
    float *xr = x + row * C;
    const float *mr = MASKED ? mask + (row / rows_per_mask) * C : NULL;

    float m = -INFINITY, s = 0.0f;
    for (int i = lane; i < C; i += 32) {
        float v = xr[i];
        if (MASKED) v += (1.0f - mr[i]) * -10000.0f;
        if (v > m) {
            s = s * expf(m - v) + 1.0f;
            m = v;
        } else {
            s += expf(v - m);
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        const float mo = __shfl_xor_sync(0xffffffffu, m, o);
        const float so = __shfl_xor_sync(0xffffffffu, s, o);
        const float mn = fmaxf(m, mo);
        s = (s > 0.0f ? s * expf(m - mn) : 0.0f) + (so > 0.0f ? so * expf(mo - mn) : 0.0f);
        m = mn;
    }
    const float inv = 1.0f / s;
    for (int i = lane; i < C; i += 32) {
        float v = xr[i];
        if (MASKED) v += (1.0f - mr[i]) * -10000.0f;
        xr[i] = expf(v - m) * inv;
    }
}

void xrem_cuda_softmax_rows(xrem_backend *be, float *x, int64_t rows, int64_t C, const float *mask,
                            int64_t rows_per_mask)
{
    XREM_ASSERT(C <= INT_MAX && (mask == NULL || rows_per_mask > 0));
    if (rows == 0 || C == 0) return;
    const int64_t blocks = (rows + XREM_CUDA_ROW_WARPS - 1) / XREM_CUDA_ROW_WARPS;
    XREM_ASSERT(blocks <= INT_MAX);
    cudaStream_t st = xrem_cuda_ctx_of(be)->stream;
    if (mask)
        softmax_kernel<true><<<(unsigned)blocks, 32 * XREM_CUDA_ROW_WARPS, 0, st>>>(x, rows, (int)C, mask,
                                                                                   rows_per_mask);
    else
        softmax_kernel<false><<<(unsigned)blocks, 32 * XREM_CUDA_ROW_WARPS, 0, st>>>(x, rows, (int)C, NULL, 1);
    launchCheck(be, "softmax_kernel");
}

void xrem_cuda_softmax(xrem_backend *be, xrem_tensor *x)
{
    xrem_op_check_softmax(be, x);
    xrem_cuda_softmax_rows(be, (float *)x->data, xrem_tensor_rows(x), xrem_tensor_cols(x), NULL, 1);
}
