/* Shared by the CUDA backend's kernel files: the backend context, the error-check macros, the
 * launch-size helpers and the few device helpers (warp reductions) that more than one op uses.
 *
 * Every op runs on the one stream in the context (cuBLAS is bound to it), so ops are ordered
 * and a forward pass needs one sync at the end. A failure does not abort: the first one is kept
 * in be->sticky with its statement, function, file and line, and sync() returns it.
 * Set XREM_CUDA_SYNC=1 to synchronise after every launch, so the failing launch (rather than a
 * later sync) is the one named.
 */
#ifndef XREM_KERNELS_CUDA_COMMON_CUH
#define XREM_KERNELS_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

typedef struct {
    int device;
    int sm_count;
    int debug_sync;        /* XREM_CUDA_SYNC=1: synchronise after each launch */
    cudaStream_t stream;   /* every op of this backend runs here */
    cublasHandle_t cublas; /* bound to `stream`, default (fp32, no TF32) math */
    /* attention scores scratch, grown on demand; att_limit caps how much one pass uses */
    float *att;            /* (chunk of NH*Tq*Tk) */
    size_t att_cap;        /* bytes allocated */
    size_t att_limit;      /* floats one attention chunk may use */
    /* the attention mask on the device, and a host copy of it so repeat masks skip the upload */
    float *mask;           /* (Bk*Tk) */
    size_t mask_cap;       /* bytes allocated */
    float *mask_host;      /* (Bk*Tk) */
    size_t mask_host_cap;  /* floats allocated */
    size_t mask_n;         /* floats valid in both; 0: none */
    int32_t *ids;          /* (n) embedding ids, uploaded per call */
    size_t ids_cap;        /* bytes allocated */
    char msg[768];         /* why be->sticky was set */
} xrem_cuda_ctx;

static inline xrem_cuda_ctx *xrem_cuda_ctx_of(xrem_backend *be) { return (xrem_cuda_ctx *)be->ctx; }

/* Record a failure (first one wins) in be->sticky and the message; returns 1 on failure. */
int xrem_cuda_check(xrem_backend *be, cudaError_t err, const char *stmt, const char *func,
                    const char *file, int line);
int xrem_cublas_check(xrem_backend *be, cublasStatus_t st, const char *stmt, const char *func,
                      const char *file, int line);
/* Expressions, not statements: they evaluate to nonzero when `stmt` failed, so a caller that
 * cannot go on (a failed scratch allocation) can return. */
#define cudaCheck(be, stmt) xrem_cuda_check((be), (stmt), #stmt, __func__, __FILE__, __LINE__)
#define cublasCheck(be, stmt) xrem_cublas_check((be), (stmt), #stmt, __func__, __FILE__, __LINE__)
/* After a kernel launch: launch-configuration errors now, execution errors when debug_sync. */
int xrem_cuda_launched(xrem_backend *be, const char *kernel, const char *func, const char *file,
                       int line);
#define launchCheck(be, kernel) xrem_cuda_launched((be), (kernel), __func__, __FILE__, __LINE__)

/* Make sure *buf holds at least `bytes` (device memory; stream-synchronised before a regrow so
 * no queued kernel still reads the old buffer). Returns 0 on success, 1 on failure (recorded). */
int xrem_cuda_reserve(xrem_backend *be, void **buf, size_t *cap_bytes, size_t bytes);

/* Every op entry starts with xrem_op_check_<op> (src/core/backend.c): the contract in backend.h
 * (fp32, on this device, shapes, aliasing, int-sized dims), shared with the CPU backend. */

/* Grid-stride launches: enough blocks to fill the GPU a few times over, no more. */
static inline unsigned xrem_cuda_blocks(const xrem_cuda_ctx *c, int64_t n, int threads)
{
    int64_t b = (n + threads - 1) / threads, cap = (int64_t)c->sm_count * 32;
    if (b > cap) b = cap;
    return (unsigned)(b > 0 ? b : 1);
}

/* Row-wise kernels put one warp on a row; this many warps (rows) per block. */
#define XREM_CUDA_ROW_WARPS 8

/* ---- the op entries installed in the backend struct (one file per op family) ---- */
void xrem_cuda_linear(xrem_backend *be, xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *W,
                      const xrem_tensor *b);
void xrem_cuda_layernorm(xrem_backend *be, xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *g,
                         const xrem_tensor *b, float eps);
void xrem_cuda_act(xrem_backend *be, xrem_tensor *x, xrem_act kind);
void xrem_cuda_softmax(xrem_backend *be, xrem_tensor *x);
void xrem_cuda_add(xrem_backend *be, xrem_tensor *y, const xrem_tensor *a, const xrem_tensor *b);
void xrem_cuda_l2norm(xrem_backend *be, xrem_tensor *x);
void xrem_cuda_embed(xrem_backend *be, xrem_tensor *out, const xrem_tensor *table, const int32_t *ids,
                     int64_t n);
void xrem_cuda_attention(xrem_backend *be, xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                         const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff,
                         const float *mask, int NH);
void xrem_cuda_attention_packed(xrem_backend *be, xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                                const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff,
                                const xrem_seqs *sq, int NH);
void xrem_cuda_patchify(xrem_backend *be, xrem_tensor *cols, const xrem_tensor *img, int P);

/* Row softmax in place over x[rows, C] (device), used by softmax() and attention().
 * mask: NULL, or device [*, C] of 0/1 key validity; row r adds (1 - mask[r / rows_per_mask][j])
 * * -10000 to element j before the softmax. */
void xrem_cuda_softmax_rows(xrem_backend *be, float *x, int64_t rows, int64_t C, const float *mask,
                            int64_t rows_per_mask);

/* ---- device helpers ---- */
#ifdef __CUDACC__
static __device__ __forceinline__ float xrem_warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
#endif

#endif
