/* The op interface every backend implements (DESIGN §5).
 *
 * The model code (src/models/) is written once against this struct; src/cpu/ implements all of
 * it (the readable reference) and kernels/ implements it for CUDA. Tensors passed to an op live
 * on the backend's device (t->device == be->device) and are fp32 unless stated. An entry that
 * is NULL is not provided by that backend (xrem_backend_supports tells callers).
 *
 * Ops do not return a status: shape mismatches are bugs (XREM_ASSERT); device failures are kept
 * as a sticky status that sync() returns, so a whole forward pass is checked once.
 *
 * Dimension letters: B batch, T tokens, C channels, NH heads, HS head size, M/N/K gemm sizes.
 */
#ifndef XREM_BACKEND_H
#define XREM_BACKEND_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdint.h>

#include "core/tensor.h"
#include "xrem/backend.h"

typedef enum { XREM_ACT_GELU = 0, XREM_ACT_RELU, XREM_ACT_TANH } xrem_act;

struct xrem_backend {
    const char *name;
    xrem_device device;
    int threads; /* CPU threads the backend may use (CPU backend) */
    void *ctx;   /* backend private state */
    xrem_status sticky; /* first device failure since the last sync */

    /* memory: raw device bytes; upload/download copy host<->device */
    void *(*alloc)(xrem_backend *be, size_t bytes);
    void (*free)(xrem_backend *be, void *p);
    void (*upload)(xrem_backend *be, void *dst, const void *src, size_t bytes);
    void (*download)(xrem_backend *be, void *dst, const void *src, size_t bytes);
    /* dst[r*dld + c] = src[r*sld + c] for r<rows, c<cols (floats, device to device) */
    void (*copy2d)(xrem_backend *be, float *dst, int64_t dld, const float *src, int64_t sld,
                   int64_t rows, int64_t cols);

    /* y[M,N] = x[M,K] · W[N,K]ᵀ + b[N]   (PyTorch nn.Linear layout; b may be NULL) */
    void (*linear)(xrem_backend *be, xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *W,
                   const xrem_tensor *b);
    /* y = (x - mean) / sqrt(var + eps) * g + b over the last dim; y may alias x */
    void (*layernorm)(xrem_backend *be, xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *g,
                      const xrem_tensor *b, float eps);
    /* in place: GELU (exact, erf), ReLU or tanh */
    void (*act)(xrem_backend *be, xrem_tensor *x, xrem_act kind);
    /* in place softmax over the last dim */
    void (*softmax)(xrem_backend *be, xrem_tensor *x);
    /* y = a + b, b broadcast over a's leading elements (numel(a) % numel(b) == 0); y may alias a */
    void (*add)(xrem_backend *be, xrem_tensor *y, const xrem_tensor *a, const xrem_tensor *b);
    /* rows of x scaled to unit L2 norm, as F.normalize(x, dim=-1) (eps 1e-12) */
    void (*l2norm)(xrem_backend *be, xrem_tensor *x);
    /* out[i,:] = table[ids[i],:]; ids on the host, already range-checked by the caller */
    void (*embed)(xrem_backend *be, xrem_tensor *out, const xrem_tensor *table,
                  const int32_t *ids, int64_t n);
    /* Multi-head attention. q: [B,Tq,*] with head h of the query at column qoff + h*HS (likewise
     * k, v: [Bk,Tk,*]); out: [B,Tq,NH*HS]. B must be a multiple of Bk: query batch b attends to
     * key/value batch b / (B/Bk), so one image's cross-attention keys/values serve all of its
     * candidate texts (pairs ordered image-major). mask: host array [Bk*Tk] of 0/1 key validity
     * or NULL. softmax(q kᵀ / sqrt(HS) + (1-mask)·(-10000)) v, as HF BERT / timm ViT compute it. */
    void (*attention)(xrem_backend *be, xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                      const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff,
                      const float *mask, int NH);
    /* im2col for a stride = kernel = P convolution: img [B,Cin,H,W] -> cols [B*(H/P)*(W/P), Cin*P*P],
     * column order (cin, ky, kx) as a flattened Conv2d weight */
    void (*patchify)(xrem_backend *be, xrem_tensor *cols, const xrem_tensor *img, int P);

    xrem_status (*sync)(xrem_backend *be);
    void (*destroy)(xrem_backend *be);
};

/* The per-backend constructors behind xrem_backend_create (include/xrem/backend.h), which is
 * the one way callers create a backend; only the factory calls these.
 * CPU: BLAS sgemm, OpenMP over rows and heads; threads <= 0: all cores.
 * CUDA on GPU `device`: XREM_ERR_UNSUPPORTED when built without CUDA, XREM_ERR_DEVICE when there
 * is no driver or no device, XREM_ERR_ARG when `device` is out of range. */
xrem_status xrem_backend_cpu_create(int threads, xrem_backend **out);
xrem_status xrem_backend_cuda_create(int device, xrem_backend **out);
/* XREM_ERR_UNSUPPORTED (naming the op) unless the backend provides every op the models use. */
xrem_status xrem_backend_check(const xrem_backend *be);

/* Tensor helpers that go through a backend */
xrem_status xrem_tensor_alloc(xrem_backend *be, xrem_dtype dt, int ndim, const int64_t *ne,
                              xrem_tensor *t);
void xrem_tensor_release(xrem_backend *be, xrem_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
