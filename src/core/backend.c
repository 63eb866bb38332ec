/* Backend-independent helpers over the op interface. */
#include "backend.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "cuda" -> 0, "cuda:N" -> N; -1 when the name is not a CUDA name */
static long backend_cuda_index(const char *name)
{
    if (!strcmp(name, "cuda")) return 0;
    if (strncmp(name, "cuda:", 5) || name[5] < '0' || name[5] > '9') return -1;
    char *end = NULL;
    errno = 0;
    long n = strtol(name + 5, &end, 10);
    return (errno || *end || n > INT_MAX) ? -1 : n;
}

xrem_status xrem_backend_create(const char *name, int threads, xrem_backend **be)
{
    *be = NULL;
    if (!name || !strcmp(name, "cpu")) return xrem_backend_cpu_create(threads, be);
    const long dev = backend_cuda_index(name);
    if (dev < 0)
        return xrem_fail(XREM_ERR_ARG, "unknown backend '%s': valid names are cpu, cuda, cuda:N (N a GPU index)", name);
    xrem_status s = xrem_backend_cuda_create((int)dev, be);
    if (s) xrem_fail_context(s, "backend '%s'", name);
    return s;
}

void xrem_backend_free(xrem_backend *be)
{
    if (be) be->destroy(be);
}

xrem_status xrem_tensor_alloc(xrem_backend *be, xrem_dtype dt, int ndim, const int64_t *ne, xrem_tensor *t)
{
    size_t bytes = xrem_dtype_size(dt);
    if (ndim < 1 || ndim > XREM_MAX_DIMS) return xrem_fail(XREM_ERR_ARG, "tensor rank %d", ndim);
    t->dtype = dt;
    t->device = be->device;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (ne[i] < 0 || !xrem_size_mul(bytes, (size_t)ne[i], &bytes))
            return xrem_fail(XREM_ERR_NOMEM, "tensor size overflows");
        t->ne[i] = ne[i];
    }
    t->data = be->alloc(be, bytes ? bytes : 1);
    if (!t->data) return xrem_fail(XREM_ERR_NOMEM, "cannot allocate %zu bytes on %s", bytes, be->name);
    return XREM_OK;
}

void xrem_tensor_release(xrem_backend *be, xrem_tensor *t)
{
    if (t->data) be->free(be, t->data);
    t->data = NULL;
}

xrem_status xrem_backend_check(const xrem_backend *be)
{
    struct {
        const char *name;
        int present;
    } ops[] = {{"alloc", !!be->alloc},
               {"upload", !!be->upload},
               {"download", !!be->download},
               {"copy2d", !!be->copy2d},
               {"linear", !!be->linear},
               {"layernorm", !!be->layernorm},
               {"act", !!be->act},
               {"softmax", !!be->softmax},
               {"add", !!be->add},
               {"l2norm", !!be->l2norm},
               {"embed", !!be->embed},
               {"attention", !!be->attention},
               {"attention_packed", !!be->attention_packed},
               {"patchify", !!be->patchify},
               {"sync", !!be->sync}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!ops[i].present)
            return xrem_fail(XREM_ERR_UNSUPPORTED, "the %s backend does not implement '%s' yet", be->name, ops[i].name);
    return XREM_OK;
}

/* ---- op contracts (documented with each op in backend.h) -------------------------------------- */

/* A broken contract is a bug in the caller: say which op, on which backend, which condition and
 * the values involved, then abort (as XREM_ASSERT does). */
static _Noreturn void op_violated(const xrem_backend *be, const char *op, const char *cond, const char *fmt, ...)
{
    fprintf(stderr, "xrem: op contract violated: %s on %s: %s", op, be && be->name ? be->name : "?", cond);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs(" (", stderr);
        vfprintf(stderr, fmt, ap);
        fputs(")", stderr);
        va_end(ap);
    }
    fputs("\n", stderr);
    fflush(stderr);
    abort();
}

#define OP_REQUIRE(cond, ...)                                                                                          \
    do {                                                                                                               \
        if (!(cond)) op_violated(be, op, #cond, __VA_ARGS__);                                                          \
    } while (0)

#define I64 "%" PRId64

/* a*b into *out; 0 when it overflows int64 (both >= 0) */
static int op_mul(int64_t a, int64_t b, int64_t *out)
{
    if (a != 0 && b > INT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* The checks common to every tensor argument (backend.h). */
static void op_tensor(const xrem_backend *be, const char *op, const char *name, const xrem_tensor *t)
{
    if (!t) op_violated(be, op, "tensor != NULL", "%s", name);
    if (t->ndim < 1 || t->ndim > XREM_MAX_DIMS) op_violated(be, op, "1 <= ndim <= 4", "%s ndim %d", name, t->ndim);
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        if (t->ne[i] < 0 || !op_mul(n, t->ne[i], &n) || n > INT64_MAX / 4)
            op_violated(be, op, "dims >= 0, numel fits", "%s dim %d = " I64, name, i, t->ne[i]);
    if (t->dtype != XREM_F32) op_violated(be, op, "dtype == float32", "%s is %s", name, xrem_dtype_name(t->dtype));
    if (t->device != be->device)
        op_violated(be, op, "t->device == be->device", "%s on %s, backend on %s", name,
                    t->device == XREM_DEV_CPU ? "cpu" : "cuda", be->device == XREM_DEV_CPU ? "cpu" : "cuda");
    if (n > 0 && !t->data) op_violated(be, op, "data != NULL", "%s has " I64 " elements", name, n);
}

/* Byte ranges; empty ones overlap nothing. Compared as integers: they may come from different
 * allocations. */
typedef struct {
    uintptr_t lo, hi;
} op_span;

static op_span op_span_of(const xrem_tensor *t)
{
    const uintptr_t lo = (uintptr_t)t->data;
    return (op_span){lo, lo + (uintptr_t)xrem_tensor_numel(t) * sizeof(float)};
}

static int op_overlap(op_span a, op_span b)
{
    return a.lo < a.hi && b.lo < b.hi && a.lo < b.hi && b.lo < a.hi;
}

static int op_disjoint(const xrem_tensor *a, const xrem_tensor *b)
{
    return !op_overlap(op_span_of(a), op_span_of(b));
}

/* y is exactly x (in place) or does not touch it */
static int op_alias_or_disjoint(const xrem_tensor *y, const xrem_tensor *x)
{
    return y->data == x->data || op_disjoint(y, x);
}

void xrem_op_check_copy2d(const xrem_backend *be, const float *dst, int64_t dld, const float *src, int64_t sld,
                          int64_t rows, int64_t cols)
{
    const char *op = "copy2d";
    OP_REQUIRE(rows >= 0 && cols >= 0, "rows " I64 ", cols " I64, rows, cols);
    OP_REQUIRE(dld > 0 && dld >= cols, "dld " I64 ", cols " I64, dld, cols);
    OP_REQUIRE(sld > 0 && sld >= cols, "sld " I64 ", cols " I64, sld, cols);
    if (rows == 0 || cols == 0) return;
    OP_REQUIRE(dst != NULL && src != NULL, "dst %p, src %p", (const void *)dst, (const void *)src);
    int64_t dn = 0, sn = 0;
    OP_REQUIRE(op_mul(rows - 1, dld, &dn) && dn <= INT64_MAX / 4 - cols, "rows " I64 ", dld " I64, rows, dld);
    OP_REQUIRE(op_mul(rows - 1, sld, &sn) && sn <= INT64_MAX / 4 - cols, "rows " I64 ", sld " I64, rows, sld);
    const op_span d = {(uintptr_t)dst, (uintptr_t)dst + (uintptr_t)(dn + cols) * sizeof(float)};
    const op_span s = {(uintptr_t)src, (uintptr_t)src + (uintptr_t)(sn + cols) * sizeof(float)};
    OP_REQUIRE(!op_overlap(d, s), "dst and src spans overlap: dst %p + " I64 " floats, src %p + " I64 " floats",
               (const void *)dst, dn + cols, (const void *)src, sn + cols);
}

void xrem_op_check_linear(const xrem_backend *be, const xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *W,
                          const xrem_tensor *b)
{
    const char *op = "linear";
    op_tensor(be, op, "y", y);
    op_tensor(be, op, "x", x);
    op_tensor(be, op, "W", W);
    if (b) op_tensor(be, op, "b", b);
    const int64_t M = xrem_tensor_rows(x), K = xrem_tensor_cols(x);
    OP_REQUIRE(W->ndim == 2 && W->ne[1] == K, "W rank %d, W->ne[1] " I64 ", K " I64, W->ndim, W->ne[W->ndim - 1], K);
    const int64_t N = W->ne[0];
    OP_REQUIRE(xrem_tensor_rows(y) == M && xrem_tensor_cols(y) == N, "y rows " I64 " cols " I64 ", want " I64 "x" I64,
               xrem_tensor_rows(y), xrem_tensor_cols(y), M, N);
    OP_REQUIRE(!b || xrem_tensor_numel(b) == N, "numel(b) " I64 ", N " I64, b ? xrem_tensor_numel(b) : 0, N);
    OP_REQUIRE(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX, "M " I64 ", N " I64 ", K " I64, M, N, K);
    OP_REQUIRE(op_disjoint(y, x) && op_disjoint(y, W) && (!b || op_disjoint(y, b)), "y overlaps an input");
}

void xrem_op_check_layernorm(const xrem_backend *be, const xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *g,
                             const xrem_tensor *b, float eps)
{
    const char *op = "layernorm";
    op_tensor(be, op, "y", y);
    op_tensor(be, op, "x", x);
    op_tensor(be, op, "g", g);
    op_tensor(be, op, "b", b);
    const int64_t R = xrem_tensor_rows(x), C = xrem_tensor_cols(x);
    OP_REQUIRE(xrem_tensor_rows(y) == R && xrem_tensor_cols(y) == C, "y " I64 "x" I64 ", x " I64 "x" I64,
               xrem_tensor_rows(y), xrem_tensor_cols(y), R, C);
    OP_REQUIRE(xrem_tensor_numel(g) == C && xrem_tensor_numel(b) == C, "numel(g) " I64 ", numel(b) " I64 ", C " I64,
               xrem_tensor_numel(g), xrem_tensor_numel(b), C);
    OP_REQUIRE(eps >= 0.0f, "eps %g", (double)eps); /* false for NaN too */
    OP_REQUIRE(C <= INT_MAX, "C " I64, C);
    OP_REQUIRE(op_alias_or_disjoint(y, x), "y partly overlaps x");
    OP_REQUIRE(op_disjoint(y, g) && op_disjoint(y, b), "y overlaps g or b");
}

void xrem_op_check_act(const xrem_backend *be, const xrem_tensor *x, xrem_act kind)
{
    const char *op = "act";
    op_tensor(be, op, "x", x);
    OP_REQUIRE(kind == XREM_ACT_GELU || kind == XREM_ACT_RELU || kind == XREM_ACT_TANH, "kind %d", (int)kind);
}

void xrem_op_check_softmax(const xrem_backend *be, const xrem_tensor *x)
{
    const char *op = "softmax";
    op_tensor(be, op, "x", x);
    OP_REQUIRE(xrem_tensor_cols(x) <= INT_MAX, "C " I64, xrem_tensor_cols(x));
}

void xrem_op_check_add(const xrem_backend *be, const xrem_tensor *y, const xrem_tensor *a, const xrem_tensor *b)
{
    const char *op = "add";
    op_tensor(be, op, "y", y);
    op_tensor(be, op, "a", a);
    op_tensor(be, op, "b", b);
    const int64_t n = xrem_tensor_numel(a), nb = xrem_tensor_numel(b);
    OP_REQUIRE(nb > 0 && n % nb == 0, "numel(a) " I64 ", numel(b) " I64, n, nb);
    OP_REQUIRE(xrem_tensor_numel(y) == n, "numel(y) " I64 ", numel(a) " I64, xrem_tensor_numel(y), n);
    OP_REQUIRE(op_alias_or_disjoint(y, a), "y partly overlaps a");
    OP_REQUIRE(op_disjoint(y, b), "y overlaps b");
}

void xrem_op_check_l2norm(const xrem_backend *be, const xrem_tensor *x)
{
    const char *op = "l2norm";
    op_tensor(be, op, "x", x);
    OP_REQUIRE(xrem_tensor_cols(x) <= INT_MAX, "C " I64, xrem_tensor_cols(x));
}

void xrem_op_check_embed(const xrem_backend *be, const xrem_tensor *out, const xrem_tensor *table, const int32_t *ids,
                         int64_t n)
{
    const char *op = "embed";
    op_tensor(be, op, "out", out);
    op_tensor(be, op, "table", table);
    OP_REQUIRE(table->ndim == 2, "table rank %d", table->ndim);
    const int64_t V = table->ne[0], C = table->ne[1];
    OP_REQUIRE(n >= 0 && (n == 0 || ids != NULL), "n " I64 ", ids %p", n, (const void *)ids);
    int64_t nc = 0;
    OP_REQUIRE(xrem_tensor_cols(out) == C && op_mul(n, C, &nc) && xrem_tensor_numel(out) == nc,
               "out cols " I64 " numel " I64 ", n " I64 ", C " I64, xrem_tensor_cols(out), xrem_tensor_numel(out), n,
               C);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V)
            op_violated(be, op, "0 <= ids[i] < V", "ids[" I64 "] = %d, V " I64, i, ids[i], V);
    OP_REQUIRE(op_disjoint(out, table), "out overlaps table");
}

/* The operands of both attention ops: fp32 tensors on the device. */
static void op_qkv(const xrem_backend *be, const char *op, const xrem_tensor *out, const xrem_tensor *q,
                   const xrem_tensor *k, const xrem_tensor *v)
{
    op_tensor(be, op, "out", out);
    op_tensor(be, op, "q", q);
    op_tensor(be, op, "k", k);
    op_tensor(be, op, "v", v);
}

/* out written apart from what it reads */
static void op_qkv_disjoint(const xrem_backend *be, const char *op, const xrem_tensor *out, const xrem_tensor *q,
                            const xrem_tensor *k, const xrem_tensor *v)
{
    OP_REQUIRE(op_disjoint(out, q) && op_disjoint(out, k) && op_disjoint(out, v), "out overlaps q, k or v");
}

/* a key mask holds 0 and 1 only */
static void op_mask01(const xrem_backend *be, const char *op, const float *mask, int64_t n)
{
    for (int64_t i = 0; mask && i < n; i++)
        if (mask[i] != 0.0f && mask[i] != 1.0f)
            op_violated(be, op, "mask[i] == 0 || mask[i] == 1", "mask[" I64 "] = %g", i, (double)mask[i]);
}

void xrem_op_check_attention(const xrem_backend *be, const xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                             const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff, const float *mask,
                             int NH)
{
    const char *op = "attention";
    op_qkv(be, op, out, q, k, v);
    OP_REQUIRE(q->ndim == 3 && k->ndim == 3 && v->ndim == 3 && out->ndim == 3, "ranks q %d k %d v %d out %d", q->ndim,
               k->ndim, v->ndim, out->ndim);
    OP_REQUIRE(NH > 0, "NH %d", NH);
    const int64_t B = q->ne[0], Tq = q->ne[1], Bk = k->ne[0], Tk = k->ne[1], C = out->ne[2], HS = C / NH;
    OP_REQUIRE(HS * NH == C, "C " I64 ", NH %d", C, NH);
    OP_REQUIRE(Bk > 0 && B % Bk == 0, "B " I64 ", Bk " I64, B, Bk);
    OP_REQUIRE(v->ne[0] == Bk && v->ne[1] == Tk, "v [" I64 "," I64 ",.], k [" I64 "," I64 ",.]", v->ne[0], v->ne[1], Bk,
               Tk);
    OP_REQUIRE(out->ne[0] == B && out->ne[1] == Tq, "out [" I64 "," I64 ",.], q [" I64 "," I64 ",.]", out->ne[0],
               out->ne[1], B, Tq);
    OP_REQUIRE(qoff >= 0 && koff >= 0 && voff >= 0, "qoff " I64 ", koff " I64 ", voff " I64, qoff, koff, voff);
    OP_REQUIRE(qoff <= q->ne[2] - C && koff <= k->ne[2] - C && voff <= v->ne[2] - C,
               "heads outside the row: C " I64 ", q " I64 "+C <= " I64 ", k " I64 "+C <= " I64 ", v " I64 "+C <= " I64,
               C, qoff, q->ne[2], koff, k->ne[2], voff, v->ne[2]);
    OP_REQUIRE(Tk > 0 || B * Tq * C == 0, "Tk " I64, Tk);
    OP_REQUIRE(Tq * (B / Bk) <= INT_MAX && Tk <= INT_MAX && q->ne[2] <= INT_MAX && k->ne[2] <= INT_MAX &&
                   v->ne[2] <= INT_MAX && C <= INT_MAX,
               "sizes past INT_MAX");
    op_mask01(be, op, mask, Bk * Tk);
    op_qkv_disjoint(be, op, out, q, k, v);
}

/* offsets [n+1] from 0, non-decreasing, ending at rows */
static void op_offsets(const xrem_backend *be, const char *op, const char *name, const int64_t *ofs, int64_t n,
                       int64_t rows)
{
    if (!ofs) op_violated(be, op, "offsets != NULL", "%s", name);
    if (ofs[0] != 0) op_violated(be, op, "offsets[0] == 0", "%s[0] = " I64, name, ofs[0]);
    for (int64_t s = 0; s < n; s++)
        if (ofs[s + 1] < ofs[s])
            op_violated(be, op, "offsets non-decreasing", "%s[" I64 "] = " I64 " < %s[" I64 "] = " I64, name, s + 1,
                        ofs[s + 1], name, s, ofs[s]);
    if (ofs[n] != rows)
        op_violated(be, op, "offsets[n] == rows", "%s[" I64 "] = " I64 ", rows " I64, name, n, ofs[n], rows);
}

void xrem_op_check_attention_packed(const xrem_backend *be, const xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                                    const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff,
                                    const xrem_seqs *sq, int NH)
{
    const char *op = "attention_packed";
    op_qkv(be, op, out, q, k, v);
    OP_REQUIRE(q->ndim == 2 && k->ndim == 2 && v->ndim == 2 && out->ndim == 2, "ranks q %d k %d v %d out %d", q->ndim,
               k->ndim, v->ndim, out->ndim);
    OP_REQUIRE(NH > 0, "NH %d", NH);
    OP_REQUIRE(sq != NULL, "%s", "");
    const int64_t C = out->ne[1], HS = C / NH, Nq = q->ne[0], Nk = k->ne[0];
    OP_REQUIRE(HS * NH == C, "C " I64 ", NH %d", C, NH);
    OP_REQUIRE(sq->nq >= 0 && sq->nk >= 0, "nq " I64 ", nk " I64, sq->nq, sq->nk);
    OP_REQUIRE(out->ne[0] == Nq && v->ne[0] == Nk, "rows out " I64 ", q " I64 ", v " I64 ", k " I64, out->ne[0], Nq,
               v->ne[0], Nk);
    op_offsets(be, op, "qofs", sq->qofs, sq->nq, Nq);
    op_offsets(be, op, "kofs", sq->kofs, sq->nk, Nk);
    OP_REQUIRE(sq->kv_of || sq->nk == sq->nq, "kv_of NULL, nq " I64 ", nk " I64, sq->nq, sq->nk);
    int64_t longest = 0;
    for (int64_t s = 0; s < sq->nq; s++) {
        const int64_t j = sq->kv_of ? sq->kv_of[s] : s;
        if (j < 0 || j >= sq->nk)
            op_violated(be, op, "0 <= kv_of[s] < nk", "kv_of[" I64 "] = " I64 ", nk " I64, s, j, sq->nk);
        const int64_t nrows = sq->qofs[s + 1] - sq->qofs[s], nkeys = sq->kofs[j + 1] - sq->kofs[j];
        if (nrows > 0 && nkeys == 0)
            op_violated(be, op, "keys for every query sequence",
                        "sequence " I64 " has " I64 " rows, key sequence " I64 " none", s, nrows, j);
        if (nkeys > longest) longest = nkeys;
    }
    OP_REQUIRE(qoff >= 0 && koff >= 0 && voff >= 0, "qoff " I64 ", koff " I64 ", voff " I64, qoff, koff, voff);
    OP_REQUIRE(qoff <= q->ne[1] - C && koff <= k->ne[1] - C && voff <= v->ne[1] - C,
               "heads outside the row: C " I64 ", q " I64 "+C <= " I64 ", k " I64 "+C <= " I64 ", v " I64 "+C <= " I64,
               C, qoff, q->ne[1], koff, k->ne[1], voff, v->ne[1]);
    OP_REQUIRE(Nq <= INT_MAX && longest <= INT_MAX && q->ne[1] <= INT_MAX && k->ne[1] <= INT_MAX && v->ne[1] <= INT_MAX,
               "sizes past INT_MAX");
    op_mask01(be, op, sq->mask, Nk);
    op_qkv_disjoint(be, op, out, q, k, v);
}

void xrem_op_check_patchify(const xrem_backend *be, const xrem_tensor *cols, const xrem_tensor *img, int P)
{
    const char *op = "patchify";
    op_tensor(be, op, "cols", cols);
    op_tensor(be, op, "img", img);
    OP_REQUIRE(img->ndim == 4, "img rank %d", img->ndim);
    OP_REQUIRE(P > 0, "P %d", P);
    const int64_t B = img->ne[0], Cin = img->ne[1], H = img->ne[2], W = img->ne[3];
    OP_REQUIRE(H % P == 0 && W % P == 0, "H " I64 ", W " I64 ", P %d", H, W, P);
    int64_t K = 0;
    OP_REQUIRE(H <= INT_MAX && W <= INT_MAX && op_mul(Cin, (int64_t)P * P, &K) && K <= INT_MAX,
               "H " I64 ", W " I64 ", Cin " I64 ", P %d", H, W, Cin, P);
    OP_REQUIRE(xrem_tensor_rows(cols) == B * (H / P) * (W / P) && xrem_tensor_cols(cols) == K,
               "cols " I64 "x" I64 ", want " I64 "x" I64, xrem_tensor_rows(cols), xrem_tensor_cols(cols),
               B * (H / P) * (W / P), K);
    OP_REQUIRE(op_disjoint(cols, img), "cols overlaps img");
}
