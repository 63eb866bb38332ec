/* Linear layer, fp32: y[M,N] = x[M,K] · W[N,K]ᵀ + b[N]  (PyTorch nn.Linear layout).
 *
 * The GEMM is cuBLAS sgemm in its default math mode: fp32 inputs, fp32 FMA accumulation, no TF32
 * (the handle is created with CUBLAS_DEFAULT_MATH), which is the ≤1e-4 parity mode of DESIGN §6.
 * The bias is added afterwards by one small kernel (one read-modify-write of y).
 *
 * cuBLAS is column-major. A row-major [R,C] matrix is, read column-major, its transpose [C,R]
 * with leading dimension C. So with everything read column-major:
 *   yᵀ[N,M] = W[N,K] · xᵀ[K,M],  where W is stored as Wᵀ[K,N] (ld K) -> op T,
 *                                       xᵀ is stored as xᵀ[K,M] (ld K) -> op N,
 *                                       yᵀ is stored as [N,M] (ld N).
 * i.e. sgemm(T, N, m=N, n=M, k=K, W, lda=K, x, ldb=K, y, ldc=N), as llm.c's matmul_forward.
 */
#include <limits.h>

#include "cuda_common.cuh"

/* y[r, j] += b[j]: threads along a row (coalesced), rows strided over gridDim.y */
static __global__ void add_bias_kernel(float *y, const float *b, int64_t M, int N)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= N) return;
    const float bj = b[j];
    for (int64_t r = blockIdx.y; r < M; r += gridDim.y) y[r * N + j] += bj;
}

static void add_bias(xrem_backend *be, float *y, const float *b, int64_t M, int N)
{
    const int threads = 256;
    dim3 grid((unsigned)((N + threads - 1) / threads), (unsigned)(M < 65535 ? M : 65535));
    add_bias_kernel<<<grid, threads, 0, xrem_cuda_ctx_of(be)->stream>>>(y, b, M, N);
    launchCheck(be, "add_bias_kernel");
}

void xrem_cuda_linear(xrem_backend *be, xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *W,
                      const xrem_tensor *b)
{
    xrem_op_check_linear(be, y, x, W, b); /* incl. y disjoint from x and W: sgemm output must not alias */
    const int64_t M = xrem_tensor_rows(x), K = xrem_tensor_cols(x), N = W->ne[0];
    if (M == 0 || N == 0) return;

    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    if (K == 0) {
        /* empty sum: y = 0 (+ b); cuBLAS may return early without touching C when k == 0 */
        cudaCheck(be, cudaMemsetAsync(y->data, 0, (size_t)(M * N) * sizeof(float), c->stream));
    } else {
        const float one = 1.0f, zero = 0.0f;
        cublasCheck(be, cublasSgemm(c->cublas, CUBLAS_OP_T, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one,
                                    (const float *)W->data, (int)K, (const float *)x->data, (int)K, &zero,
                                    (float *)y->data, (int)N));
    }
    if (b) add_bias(be, (float *)y->data, (const float *)b->data, M, (int)N);
}
