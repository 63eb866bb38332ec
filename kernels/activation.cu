/* Activations in place, fp32, elementwise:
 *   GELU (exact, as nn.GELU()):  x/2 · (1 + erf(x/√2))
 *   ReLU:                        x > 0 ? x : 0
 *   tanh:                        tanh(x)
 * erff and tanhf are CUDA's accurate versions (no --use_fast_math), a few ulp from glibc's.
 * One grid-stride kernel per kind (the kind is a template parameter, not a per-element branch).
 */
#include "cuda_common.cuh"

template <int KIND>
static __global__ void act_kernel(float *x, int64_t n)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        const float a = x[i];
        if (KIND == XREM_ACT_GELU) x[i] = 0.5f * a * (1.0f + erff(a * 0.70710678118654752f));
        else if (KIND == XREM_ACT_RELU) x[i] = a > 0.0f ? a : 0.0f;
        else x[i] = tanhf(a);
    }
}

void xrem_cuda_act(xrem_backend *be, xrem_tensor *x, xrem_act kind)
{
    xrem_op_check_act(be, x, kind);
    const int64_t n = xrem_tensor_numel(x);
    if (n == 0) return;
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    const int threads = 256;
    const unsigned blocks = xrem_cuda_blocks(c, n, threads);
    float *p = (float *)x->data;
    switch (kind) {
    case XREM_ACT_GELU: act_kernel<XREM_ACT_GELU><<<blocks, threads, 0, c->stream>>>(p, n); break;
    case XREM_ACT_RELU: act_kernel<XREM_ACT_RELU><<<blocks, threads, 0, c->stream>>>(p, n); break;
    case XREM_ACT_TANH: act_kernel<XREM_ACT_TANH><<<blocks, threads, 0, c->stream>>>(p, n); break;
    default: XREM_ASSERT(!"unknown activation"); return;
    }
    launchCheck(be, "act_kernel");
}
