/* The CPU backend: the readable reference for every op in backend.h.
 *
 * fp32 throughout. GEMMs go to OpenBLAS (its OpenMP build, so an sgemm issued inside one of our
 * parallel regions runs single-threaded instead of oversubscribing); row-wise ops and attention
 * heads are split across threads with OpenMP.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

void openblas_set_num_threads(int); /* OpenBLAS extensions, not in every cblas.h */
int openblas_get_num_threads(void);

/* OpenBLAS's thread count is process-wide, and its OpenMP build also sets the calling thread's
 * OpenMP default: set both for one call and put back what the caller had, so creating or using
 * a backend never changes the process's thread settings (our own loops say num_threads). */
typedef struct {
    int blas, omp;
} cpu_threads_saved;

static cpu_threads_saved cpu_blas_threads_enter(const xrem_backend *be)
{
    cpu_threads_saved had = {openblas_get_num_threads(), omp_get_max_threads()};
    if (had.blas != be->threads) openblas_set_num_threads(be->threads);
    return had;
}

static void cpu_blas_threads_leave(cpu_threads_saved had)
{
    if (openblas_get_num_threads() != had.blas) openblas_set_num_threads(had.blas);
    if (omp_get_max_threads() != had.omp) omp_set_num_threads(had.omp);
}

typedef struct {
    float *scratch; /* attention scores, one [Tq,Tk] slab per thread */
    size_t scratch_cap;
} xrem_cpu_ctx;

#define F32(t) ((float *)(t)->data)
#define CF32(t) ((const float *)(t)->data)

static void *cpu_alloc(xrem_backend *be, size_t bytes)
{
    (void)be;
    void *p = NULL;
    size_t n = (bytes + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) return NULL;
    return p;
}

static void cpu_free(xrem_backend *be, void *p)
{
    (void)be;
    free(p);
}

static void cpu_copy(xrem_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes) memcpy(dst, src, bytes);
}

static void cpu_copy2d(xrem_backend *be, float *dst, int64_t dld, const float *src, int64_t sld, int64_t rows,
                       int64_t cols)
{
    xrem_op_check_copy2d(be, dst, dld, src, sld, rows, cols);
    for (int64_t r = 0; r < rows; r++) memcpy(dst + r * dld, src + r * sld, (size_t)cols * sizeof(float));
}

/* y[M,N] = x[M,K] W[N,K]^T + b */
static void cpu_linear(xrem_backend *be, xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *W,
                       const xrem_tensor *b)
{
    xrem_op_check_linear(be, y, x, W, b);
    const int64_t M = xrem_tensor_rows(x), K = xrem_tensor_cols(x), N = W->ne[0];
    float *Y = F32(y);
    if (b) {
#pragma omp parallel for schedule(static) num_threads(be->threads)
        for (int64_t i = 0; i < M; i++) memcpy(Y + i * N, CF32(b), (size_t)N * sizeof(float));
    }
    if (M == 0) return;
    cpu_threads_saved had = cpu_blas_threads_enter(be);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, CF32(x), (int)K, CF32(W),
                (int)K, b ? 1.0f : 0.0f, Y, (int)N);
    cpu_blas_threads_leave(had);
}

static void cpu_layernorm(xrem_backend *be, xrem_tensor *y, const xrem_tensor *x, const xrem_tensor *g,
                          const xrem_tensor *b, float eps)
{
    xrem_op_check_layernorm(be, y, x, g, b, eps);
    const int64_t R = xrem_tensor_rows(x), C = xrem_tensor_cols(x);
    const float *G = CF32(g), *Bv = CF32(b);
#pragma omp parallel for schedule(static) num_threads(be->threads)
    for (int64_t r = 0; r < R; r++) {
        const float *xr = CF32(x) + r * C;
        float *yr = F32(y) + r * C;
        double mean = 0, var = 0;
        for (int64_t c = 0; c < C; c++) mean += xr[c];
        mean /= (double)C;
        for (int64_t c = 0; c < C; c++) var += (xr[c] - mean) * (xr[c] - mean);
        var /= (double)C; /* biased, as torch.nn.LayerNorm */
        const float m = (float)mean, rs = (float)(1.0 / sqrt(var + eps));
        for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] - m) * rs * G[c] + Bv[c];
    }
}

static void cpu_act(xrem_backend *be, xrem_tensor *x, xrem_act kind)
{
    xrem_op_check_act(be, x, kind);
    const int64_t n = xrem_tensor_numel(x);
    float *v = F32(x);
#pragma omp parallel for schedule(static) num_threads(be->threads)
    for (int64_t i = 0; i < n; i++) {
        float a = v[i];
        switch (kind) {
        case XREM_ACT_GELU: v[i] = 0.5f * a * (1.0f + erff(a * 0.70710678118654752f)); break;
        case XREM_ACT_RELU: v[i] = a > 0.0f ? a : 0.0f; break;
        case XREM_ACT_TANH: v[i] = tanhf(a); break;
        }
    }
}

static void cpu_softmax_row(float *r, int64_t n)
{
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = r[i] > mx ? r[i] : mx;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += (r[i] = expf(r[i] - mx));
    const float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; i++) r[i] *= inv;
}

static void cpu_softmax(xrem_backend *be, xrem_tensor *x)
{
    xrem_op_check_softmax(be, x);
    const int64_t R = xrem_tensor_rows(x), C = xrem_tensor_cols(x);
#pragma omp parallel for schedule(static) num_threads(be->threads)
    for (int64_t r = 0; r < R; r++) cpu_softmax_row(F32(x) + r * C, C);
}

static void cpu_add(xrem_backend *be, xrem_tensor *y, const xrem_tensor *a, const xrem_tensor *b)
{
    xrem_op_check_add(be, y, a, b);
    const int64_t n = xrem_tensor_numel(a), nb = xrem_tensor_numel(b);
    const float *A = CF32(a), *Bv = CF32(b);
    float *Y = F32(y);
#pragma omp parallel for schedule(static) num_threads(be->threads)
    for (int64_t r = 0; r < n / nb; r++)
        for (int64_t i = 0; i < nb; i++) Y[r * nb + i] = A[r * nb + i] + Bv[i];
}

static void cpu_l2norm(xrem_backend *be, xrem_tensor *x)
{
    xrem_op_check_l2norm(be, x);
    const int64_t R = xrem_tensor_rows(x), C = xrem_tensor_cols(x);
#pragma omp parallel for schedule(static) num_threads(be->threads)
    for (int64_t r = 0; r < R; r++) {
        float *v = F32(x) + r * C;
        double ss = 0;
        for (int64_t c = 0; c < C; c++) ss += (double)v[c] * v[c];
        double nrm = sqrt(ss);
        const float inv = (float)(1.0 / (nrm > 1e-12 ? nrm : 1e-12)); /* F.normalize: x / max(||x||, eps) */
        for (int64_t c = 0; c < C; c++) v[c] *= inv;
    }
}

static void cpu_embed(xrem_backend *be, xrem_tensor *out, const xrem_tensor *table, const int32_t *ids, int64_t n)
{
    xrem_op_check_embed(be, out, table, ids, n);
    const int64_t C = xrem_tensor_cols(table);
#pragma omp parallel for schedule(static) num_threads(be->threads)
    for (int64_t i = 0; i < n; i++)
        memcpy(F32(out) + i * C, CF32(table) + (int64_t)ids[i] * C, (size_t)C * sizeof(float));
}

static float *cpu_scratch(xrem_backend *be, size_t per_thread, int nthreads)
{
    xrem_cpu_ctx *c = be->ctx;
    size_t need = per_thread * (size_t)nthreads;
    if (need > c->scratch_cap) {
        free(c->scratch);
        c->scratch = malloc(need * sizeof(float));
        c->scratch_cap = c->scratch ? need : 0;
    }
    return c->scratch;
}

static void cpu_attention(xrem_backend *be, xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                          const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff, const float *mask,
                          int NH)
{
    xrem_op_check_attention(be, out, q, qoff, k, koff, v, voff, mask, NH);
    const int64_t B = q->ne[0], Tq = q->ne[1], Tk = k->ne[1], C = out->ne[2], HS = C / NH;
    const int64_t ldq = q->ne[2], ldk = k->ne[2], ldv = v->ne[2], Bk = k->ne[0];
    const int64_t group = B / Bk;
    /* the `group` query batches that share one key/value batch are consecutive rows of q (pairs
     * are image-major), so each (key batch, head) is one GEMM of group*Tq query rows */
    const int64_t M = group * Tq;
    const int nt = be->threads;
    float *scratch = cpu_scratch(be, (size_t)(M * Tk), nt);
    if (!scratch) {
        if (!be->sticky) be->sticky = xrem_fail(XREM_ERR_NOMEM, "cannot allocate attention scratch");
        return;
    }
    const float scale = 1.0f / sqrtf((float)HS);
#pragma omp parallel for collapse(2) schedule(static) num_threads(be->threads)
    for (int64_t bk = 0; bk < Bk; bk++) {
        for (int h = 0; h < NH; h++) {
            float *S = scratch + (size_t)omp_get_thread_num() * (size_t)(M * Tk);
            const int64_t b0 = bk * group;
            const float *Q = CF32(q) + b0 * Tq * ldq + qoff + h * HS;
            const float *Kp = CF32(k) + bk * Tk * ldk + koff + h * HS;
            const float *Vp = CF32(v) + bk * Tk * ldv + voff + h * HS;
            float *O = F32(out) + b0 * Tq * C + h * HS;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)Tk, (int)HS, 1.0f, Q, (int)ldq, Kp,
                        (int)ldk, 0.0f, S, (int)Tk);
            const float *mb = mask ? mask + bk * Tk : NULL;
            for (int64_t i = 0; i < M; i++) {
                float *row = S + i * Tk;
                for (int64_t j = 0; j < Tk; j++) row[j] = row[j] * scale + (mb ? (1.0f - mb[j]) * -10000.0f : 0.0f);
                cpu_softmax_row(row, Tk);
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)HS, (int)Tk, 1.0f, S, (int)Tk, Vp,
                        (int)ldv, 0.0f, O, (int)C);
        }
    }
}

/* One (query rows, key rows, head) block of attention: scores S [M, Tk] in the caller's scratch. */
static void cpu_attention_block(const float *Q, int64_t ldq, const float *Kp, int64_t ldk, const float *Vp, int64_t ldv,
                                float *O, int64_t ldo, int64_t M, int64_t Tk, int64_t HS, const float *mb, float *S)
{
    const float scale = 1.0f / sqrtf((float)HS);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)Tk, (int)HS, 1.0f, Q, (int)ldq, Kp, (int)ldk,
                0.0f, S, (int)Tk);
    for (int64_t i = 0; i < M; i++) {
        float *row = S + i * Tk;
        for (int64_t j = 0; j < Tk; j++)
            row[j] = row[j] * scale + (mb ? (1.0f - mb[j]) * -10000.0f : 0.0f);
        cpu_softmax_row(row, Tk);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)HS, (int)Tk, 1.0f, S, (int)Tk, Vp, (int)ldv,
                0.0f, O, (int)ldo);
}

/* Packed attention: consecutive query sequences that share a key sequence (an image's candidate
 * texts) are one run of rows, so each (run, head) is one GEMM pair; runs vary in size, so the
 * (run, head) blocks are handed out dynamically. */
static void cpu_attention_packed(xrem_backend *be, xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                                 const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff,
                                 const xrem_seqs *sq, int NH)
{
    xrem_op_check_attention_packed(be, out, q, qoff, k, koff, v, voff, sq, NH);
    const int64_t C = out->ne[1], HS = C / NH, ldq = q->ne[1], ldk = k->ne[1], ldv = v->ne[1];
    int64_t *run = malloc(sizeof(int64_t) * (size_t)(sq->nq + 1)); /* first query sequence of each run */
    if (!run) {
        if (!be->sticky) be->sticky = xrem_fail(XREM_ERR_NOMEM, "cannot allocate attention runs");
        return;
    }
    int64_t nrun = 0, need = 0;
    for (int64_t s = 0; s < sq->nq;) {
        const int64_t j = sq->kv_of ? sq->kv_of[s] : s;
        int64_t e = s + 1;
        while (e < sq->nq && sq->kv_of && sq->kv_of[e] == j)
            e++;
        const int64_t rows = sq->qofs[e] - sq->qofs[s], keys = sq->kofs[j + 1] - sq->kofs[j];
        if (rows > 0) {
            run[nrun++] = s;
            if (rows * keys > need) need = rows * keys;
        }
        s = e;
    }
    float *scratch = need ? cpu_scratch(be, (size_t)need, be->threads) : NULL;
    if (need && !scratch) {
        if (!be->sticky) be->sticky = xrem_fail(XREM_ERR_NOMEM, "cannot allocate attention scratch");
        free(run);
        return;
    }
#pragma omp parallel for schedule(dynamic) num_threads(be->threads)
    for (int64_t w = 0; w < nrun * NH; w++) {
        const int64_t s = run[w / NH], h = w % NH, j = sq->kv_of ? sq->kv_of[s] : s;
        int64_t e = s + 1;
        while (e < sq->nq && sq->kv_of && sq->kv_of[e] == j)
            e++;
        const int64_t r0 = sq->qofs[s], k0 = sq->kofs[j], M = sq->qofs[e] - r0, Tk = sq->kofs[j + 1] - k0;
        float *S = scratch + (size_t)omp_get_thread_num() * (size_t)need;
        cpu_attention_block(CF32(q) + r0 * ldq + qoff + h * HS, ldq, CF32(k) + k0 * ldk + koff + h * HS, ldk,
                            CF32(v) + k0 * ldv + voff + h * HS, ldv, F32(out) + r0 * C + h * HS, C, M, Tk, HS,
                            sq->mask ? sq->mask + k0 : NULL, S);
    }
    free(run);
}

static void cpu_patchify(xrem_backend *be, xrem_tensor *cols, const xrem_tensor *img, int P)
{
    xrem_op_check_patchify(be, cols, img, P);
    const int64_t B = img->ne[0], Cin = img->ne[1], H = img->ne[2], W = img->ne[3];
    const int64_t gh = H / P, gw = W / P, K = Cin * P * P;
#pragma omp parallel for collapse(2) schedule(static) num_threads(be->threads)
    for (int64_t b = 0; b < B; b++)
        for (int64_t py = 0; py < gh; py++)
            for (int64_t px = 0; px < gw; px++) {
                float *dst = F32(cols) + ((b * gh + py) * gw + px) * K;
                for (int64_t c = 0; c < Cin; c++)
                    for (int ky = 0; ky < P; ky++)
                        memcpy(dst + (c * P + ky) * P,
                               CF32(img) + ((b * Cin + c) * H + py * P + ky) * W + px * P,
                               (size_t)P * sizeof(float));
            }
}

static xrem_status cpu_sync(xrem_backend *be)
{
    xrem_status s = be->sticky;
    be->sticky = XREM_OK;
    return s;
}

static void cpu_destroy(xrem_backend *be)
{
    xrem_cpu_ctx *c = be->ctx;
    if (c) free(c->scratch);
    free(c);
    free(be);
}

void xrem_threads_set(int threads)
{
    if (threads <= 0) return;
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
}

xrem_status xrem_backend_cpu_create(int threads, xrem_backend **out)
{
    xrem_backend *be = calloc(1, sizeof *be);
    xrem_cpu_ctx *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory creating the CPU backend");
    }
    if (threads <= 0) threads = omp_get_num_procs();
    *be = (xrem_backend){
        .name = "cpu",
        .device = XREM_DEV_CPU,
        .threads = threads,
        .ctx = c,
        .alloc = cpu_alloc,
        .free = cpu_free,
        .upload = cpu_copy,
        .download = cpu_copy,
        .copy2d = cpu_copy2d,
        .linear = cpu_linear,
        .layernorm = cpu_layernorm,
        .act = cpu_act,
        .softmax = cpu_softmax,
        .add = cpu_add,
        .l2norm = cpu_l2norm,
        .embed = cpu_embed,
        .attention = cpu_attention,
        .attention_packed = cpu_attention_packed,
        .patchify = cpu_patchify,
        .sync = cpu_sync,
        .destroy = cpu_destroy,
    };
    *out = be;
    return XREM_OK;
}
