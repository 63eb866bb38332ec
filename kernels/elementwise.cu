/* Elementwise and gather ops, fp32:
 *   add       y = a + b, b broadcast over a's leading elements: y[r*NB + j] = a[r*NB + j] + b[j]
 *   l2norm    x[r,:] /= max(||x[r,:]||₂, 1e-12)              (F.normalize(x, dim=-1))
 *   embed     out[i,:] = table[ids[i],:]                        (ids copied from the host)
 *   patchify  im2col for a stride = kernel = P convolution:
 *             cols[(b*GH + gy)*GW + gx, (ci*P + ky)*P + kx] = img[b, ci, gy*P + ky, gx*P + kx]
 * add and embed use a 2D grid: threads along the contiguous row (coalesced, no 64-bit div/mod
 * per element), rows strided over gridDim.y. l2norm is one warp per row like layernorm.
 */
#include <limits.h>

#include "cuda_common.cuh"

/* ---- add ------------------------------------------------------------------------------------------ */

/* y may alias a: each element is read and written by the same thread */
static __global__ void add_bcast_kernel(float *y, const float *a, const float *b, int64_t R, int64_t NB)
{
    const int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= NB) return;
    const float bj = b[j];
    for (int64_t r = blockIdx.y; r < R; r += gridDim.y) y[r * NB + j] = a[r * NB + j] + bj;
}

void xrem_cuda_add(xrem_backend *be, xrem_tensor *y, const xrem_tensor *a, const xrem_tensor *b)
{
    xrem_op_check_add(be, y, a, b);
    const int64_t n = xrem_tensor_numel(a), nb = xrem_tensor_numel(b);
    if (n == 0) return;
    const int64_t R = n / nb;
    const int threads = 256;
    const int64_t gx = (nb + threads - 1) / threads;
    XREM_ASSERT(gx <= INT_MAX);
    dim3 grid((unsigned)gx, (unsigned)(R < 65535 ? R : 65535));
    add_bcast_kernel<<<grid, threads, 0, xrem_cuda_ctx_of(be)->stream>>>(
        (float *)y->data, (const float *)a->data, (const float *)b->data, R, nb);
    launchCheck(be, "add_bcast_kernel");
}

/* ---- l2norm --------------------------------------------------------------------------------------- */

static __global__ void l2norm_kernel(float *x, int64_t rows, int C)
{
    const int64_t row = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return; /* uniform across the warp */
    float *xr = x + row * C;
    float ss = 0.0f;
    for (int i = lane; i < C; i += 32) ss += xr[i] * xr[i];
    const float nrm = fmaxf(sqrtf(xrem_warp_sum(ss)), 1e-12f);
    for (int i = lane; i < C; i += 32) xr[i] = xr[i] / nrm;
}

void xrem_cuda_l2norm(xrem_backend *be, xrem_tensor *x)
{
    xrem_op_check_l2norm(be, x);
    const int64_t R = xrem_tensor_rows(x), C = xrem_tensor_cols(x);
    if (R == 0 || C == 0) return;
    const int64_t blocks = (R + XREM_CUDA_ROW_WARPS - 1) / XREM_CUDA_ROW_WARPS;
    XREM_ASSERT(blocks <= INT_MAX);
    l2norm_kernel<<<(unsigned)blocks, 32 * XREM_CUDA_ROW_WARPS, 0, xrem_cuda_ctx_of(be)->stream>>>(
        (float *)x->data, R, (int)C);
    launchCheck(be, "l2norm_kernel");
}

/* ---- embed ---------------------------------------------------------------------------------------- */

static __global__ void embed_kernel(float *out, const float *table, const int32_t *ids, int64_t n, int64_t C)
{
    const int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= C) return;
    for (int64_t i = blockIdx.y; i < n; i += gridDim.y) out[i * C + j] = table[(int64_t)ids[i] * C + j];
}

void xrem_cuda_embed(xrem_backend *be, xrem_tensor *out, const xrem_tensor *table, const int32_t *ids,
                     int64_t n)
{
    xrem_op_check_embed(be, out, table, ids, n);
    const int64_t C = xrem_tensor_cols(table);
    if (n == 0 || C == 0) return;
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    const size_t bytes = (size_t)n * sizeof(int32_t);
    if (xrem_cuda_reserve(be, (void **)&c->ids, &c->ids_cap, bytes)) return;
    /* synchronous so the caller may reuse `ids` at once (one small copy per forward pass) */
    if (cudaCheck(be, cudaMemcpyAsync(c->ids, ids, bytes, cudaMemcpyHostToDevice, c->stream))) return;
    if (cudaCheck(be, cudaStreamSynchronize(c->stream))) return;
    const int threads = 256;
    const int64_t gx = (C + threads - 1) / threads;
    XREM_ASSERT(gx <= INT_MAX);
    dim3 grid((unsigned)gx, (unsigned)(n < 65535 ? n : 65535));
    embed_kernel<<<grid, threads, 0, c->stream>>>((float *)out->data, (const float *)table->data, c->ids, n, C);
    launchCheck(be, "embed_kernel");
}

/* ---- patchify ------------------------------------------------------------------------------------- */

/* One thread per output element (coalesced writes; reads are runs of P contiguous floats). */
static __global__ void patchify_kernel(float *cols, const float *img, int64_t total, int Cin, int H, int W,
                                       int P, int GH, int GW)
{
    const int K = Cin * P * P;
    for (int64_t o = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; o < total;
         o += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = o / K; /* patch row: (b*GH + gy)*GW + gx */
        const int c = (int)(o - r * K);
        const int kx = c % P, ky = (c / P) % P, ci = c / (P * P);
        const int gx = (int)(r % GW), gy = (int)((r / GW) % GH);
        const int64_t b = r / ((int64_t)GW * GH);
        cols[o] = img[((b * Cin + ci) * H + (int64_t)gy * P + ky) * W + (int64_t)gx * P + kx];
    }
}

void xrem_cuda_patchify(xrem_backend *be, xrem_tensor *cols, const xrem_tensor *img, int P)
{
    xrem_op_check_patchify(be, cols, img, P);
    const int64_t B = img->ne[0], Cin = img->ne[1], H = img->ne[2], W = img->ne[3];
    const int64_t GH = H / P, GW = W / P, K = Cin * P * P;
    const int64_t total = B * GH * GW * K;
    if (total == 0) return;
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    const int threads = 256;
    patchify_kernel<<<xrem_cuda_blocks(c, total, threads), threads, 0, c->stream>>>(
        (float *)cols->data, (const float *)img->data, total, (int)Cin, (int)H, (int)W, P, (int)GH, (int)GW);
    launchCheck(be, "patchify_kernel");
}
