/* The op interface every backend implements (DESIGN §5).
 *
 * The model code (src/models/) is written once against this struct; src/cpu/ implements all of
 * it (the readable reference) and kernels/ implements it for CUDA. An entry that is NULL is not
 * provided by that backend (xrem_backend_check tells callers).
 *
 * Ops do not return a status: a broken precondition is a bug in the caller; device failures are
 * kept as a sticky status that sync() returns, so a whole forward pass is checked once.
 *
 * Op contracts. The comment on each op below is its whole contract, checked in one place
 * (xrem_op_check_<op> in src/core/backend.c) that every backend calls first thing in each op,
 * so a caller that would break the CUDA backend breaks the CPU one the same way. A violation
 * prints "xrem: op contract violated: <op> on <backend>: <condition> (<values>)" and aborts.
 * Besides what each op states:
 *   - every tensor argument is non-NULL, of rank 1..4 with dims >= 0, fp32, on the backend's
 *     device (t->device == be->device), with data non-NULL when it has elements;
 *   - "rows" of a tensor is the product of all but its last dim, "cols" the last dim;
 *   - "disjoint" means the byte ranges [data, data + 4·numel) do not overlap; an output that
 *     "may alias" an input is either exactly that input (same data pointer) or disjoint from it;
 *   - every size handed to BLAS or a kernel as an int (gemm sizes and leading dims, row lengths,
 *     image sides) is <= INT_MAX.
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

/* Packed sequences for attention_packed (all on the host). Query sequence s is the rows
 * qofs[s] .. qofs[s+1]-1 of q and out; it attends to key sequence j = kv_of ? kv_of[s] : s, the
 * rows kofs[j] .. kofs[j+1]-1 of k and v. Self-attention: kofs == qofs, kv_of NULL. ITM
 * cross-attention: the keys are the images' patch tokens (kofs[j] = j*T) and kv_of names each
 * pair's image, so one image's keys serve all its candidate texts. mask: [kofs[nk]] 0/1 key
 * validity or NULL (all valid): padding needs none, it is left out; the mask is for texts whose
 * tokens inside the length are masked. */
typedef struct {
    int64_t nq;           /* query sequences */
    const int64_t *qofs;  /* [nq + 1] */
    int64_t nk;           /* key/value sequences */
    const int64_t *kofs;  /* [nk + 1] */
    const int32_t *kv_of; /* [nq] or NULL (then nk == nq) */
    const float *mask;    /* [kofs[nk]] or NULL */
} xrem_seqs;

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
    /* dst[r*dld + c] = src[r*sld + c] for r<rows, c<cols (floats, device to device).
     * rows, cols >= 0; dld, sld > 0 and >= cols; dst, src non-NULL when rows*cols > 0; the spans
     * dst[0 .. (rows-1)*dld + cols) and src[0 .. (rows-1)*sld + cols) are disjoint. */
    void (*copy2d)(xrem_backend *be, float *dst, int64_t dld, const float *src, int64_t sld,
                   int64_t rows, int64_t cols);

    /* y[M,N] = x[M,K] · W[N,K]ᵀ + b[N]   (PyTorch nn.Linear layout; b may be NULL).
     * M = rows(x), K = cols(x); W rank 2 with W->ne[1] == K; rows(y) == M, cols(y) == N;
     * numel(b) == N; y disjoint from x, W and b. */
    void (*linear)(xrem_backend *be, xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *W,
                   const xrem_tensor *b);
    /* y = (x - mean) / sqrt(var + eps) * g + b over the last dim.
     * rows(y) == rows(x), cols(y) == cols(x) = C; numel(g) == numel(b) == C; eps >= 0;
     * y may alias x; y disjoint from g and b. */
    void (*layernorm)(xrem_backend *be, xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *g,
                      const xrem_tensor *b, float eps);
    /* in place: GELU (exact, erf), ReLU or tanh; kind one of those three */
    void (*act)(xrem_backend *be, xrem_tensor *x, xrem_act kind);
    /* in place softmax over the last dim */
    void (*softmax)(xrem_backend *be, xrem_tensor *x);
    /* y = a + b, b broadcast over a's leading elements: y[r*nb + j] = a[r*nb + j] + b[j].
     * nb = numel(b) > 0; numel(a) % nb == 0; numel(y) == numel(a); y may alias a; y disjoint
     * from b. */
    void (*add)(xrem_backend *be, xrem_tensor *y, const xrem_tensor *a, const xrem_tensor *b);
    /* rows of x scaled to unit L2 norm, as F.normalize(x, dim=-1) (eps 1e-12), in place */
    void (*l2norm)(xrem_backend *be, xrem_tensor *x);
    /* Row gather: out[i,:] = table[ids[i],:] for i < n (the embedding lookup, and the ITM copy
     * of each pair's text states with the states viewed as [texts, L*C]). ids on the host.
     * table rank 2 [V, C]; n >= 0; ids non-NULL when n > 0, each in [0, V); cols(out) == C and
     * numel(out) == n*C; out disjoint from table. */
    void (*embed)(xrem_backend *be, xrem_tensor *out, const xrem_tensor *table,
                  const int32_t *ids, int64_t n);
    /* Multi-head attention. q: [B,Tq,*] with head h of the query at column qoff + h*HS (likewise
     * k, v: [Bk,Tk,*]); out: [B,Tq,NH*HS]. B must be a multiple of Bk: query batch b attends to
     * key/value batch b / (B/Bk), so one image's cross-attention keys/values serve all of its
     * candidate texts (pairs ordered image-major). mask: host array [Bk*Tk] of 0/1 key validity
     * or NULL. softmax(q kᵀ / sqrt(HS) + (1-mask)·(-10000)) v, as HF BERT / timm ViT compute it.
     * q, k, v, out rank 3; NH > 0; C = out->ne[2] == NH*HS; Bk = k->ne[0] > 0, B % Bk == 0;
     * v->ne[0] == Bk, v->ne[1] == k->ne[1] = Tk; out->ne[0] == B, out->ne[1] == Tq; offsets
     * >= 0 and every head inside its row (qoff + C <= q->ne[2], likewise k, v); Tk > 0 when
     * the output has elements; mask entries 0 or 1; out disjoint from q, k and v (q, k, v may be
     * one tensor). */
    void (*attention)(xrem_backend *be, xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                      const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff,
                      const float *mask, int NH);
    /* Multi-head attention over packed sequences (xrem_seqs above): for each query sequence s
     * with key sequence j, rows qofs[s].. of out = softmax(q kᵀ / sqrt(HS) + (1-mask)·(-10000)) v
     * over the rows of sequence j only, heads at column offsets as in attention. The result is
     * that of attention on the sequences padded to a common length, to rounding (padded keys
     * have weight exactly 0 in fp32), without the work on padding.
     * q, k, v, out rank 2; NH > 0; C = cols(out) == NH*HS; nq >= 0, nk >= 0; qofs, kofs
     * non-NULL, qofs[0] == kofs[0] == 0, both non-decreasing, rows(q) == rows(out) == qofs[nq],
     * rows(k) == rows(v) == kofs[nk]; kv_of NULL needs nk == nq, else each kv_of[s] in [0, nk);
     * a query sequence with rows has a key sequence with rows; offsets >= 0 and every head inside
     * its row (as attention); sizes <= INT_MAX; mask entries 0 or 1; out disjoint from q, k and v
     * (q, k, v may be one tensor). */
    void (*attention_packed)(xrem_backend *be, xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                             const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff,
                             const xrem_seqs *sq, int NH);
    /* im2col for a stride = kernel = P convolution: img [B,Cin,H,W] -> cols [B*(H/P)*(W/P), Cin*P*P],
     * column order (cin, ky, kx) as a flattened Conv2d weight. img rank 4; P > 0; P divides H
     * and W; rows(cols) == B*(H/P)*(W/P), cols(cols) == Cin*P*P; cols disjoint from img. */
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
/* the CUDA devices this process sees (CUDA_VISIBLE_DEVICES applied); 0 without CUDA, a driver or a GPU */
int xrem_backend_cuda_count(void);
/* XREM_ERR_UNSUPPORTED (naming the op) unless the backend provides every op the models use. */
xrem_status xrem_backend_check(const xrem_backend *be);

/* The op contracts above, one function per op: each backend calls the one for an op first thing
 * in that op, with the op's own arguments. Return only when the contract holds (else abort). */
void xrem_op_check_copy2d(const xrem_backend *be, const float *dst, int64_t dld, const float *src, int64_t sld,
                          int64_t rows, int64_t cols);
void xrem_op_check_linear(const xrem_backend *be, const xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *W,
                          const xrem_tensor *b);
void xrem_op_check_layernorm(const xrem_backend *be, const xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *g,
                             const xrem_tensor *b, float eps);
void xrem_op_check_act(const xrem_backend *be, const xrem_tensor *x, xrem_act kind);
void xrem_op_check_softmax(const xrem_backend *be, const xrem_tensor *x);
void xrem_op_check_add(const xrem_backend *be, const xrem_tensor *y, const xrem_tensor *a, const xrem_tensor *b);
void xrem_op_check_l2norm(const xrem_backend *be, const xrem_tensor *x);
void xrem_op_check_embed(const xrem_backend *be, const xrem_tensor *out, const xrem_tensor *table, const int32_t *ids,
                         int64_t n);
void xrem_op_check_attention(const xrem_backend *be, const xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                             const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff, const float *mask,
                             int NH);
void xrem_op_check_attention_packed(const xrem_backend *be, const xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                                    const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff,
                                    const xrem_seqs *sq, int NH);
void xrem_op_check_patchify(const xrem_backend *be, const xrem_tensor *cols, const xrem_tensor *img, int P);

/* Tensor helpers that go through a backend */
xrem_status xrem_tensor_alloc(xrem_backend *be, xrem_dtype dt, int ndim, const int64_t *ne,
                              xrem_tensor *t);
void xrem_tensor_release(xrem_backend *be, xrem_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
