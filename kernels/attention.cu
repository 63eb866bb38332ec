/* Multi-head attention, fp32, as backend.h specifies (HF BERT / timm ViT):
 *   out[b,t,h*HS:(h+1)*HS] = softmax(q_h k_hᵀ / sqrt(HS) + (1 - mask)·(-10000)) v_h
 * with q_h = q[b, :, qoff + h*HS : +HS]   (row stride ldq = q's last dim)
 *      k_h = k[bk, :, koff + h*HS : +HS], v_h likewise, bk = b / G, G = B / Bk
 * (G query batches share one key/value batch: one image's keys serve all its candidate texts).
 *
 * Because q and out are contiguous [B,Tq,*], the G query batches that share key batch bk are one
 * matrix of G*Tq rows with the same row stride. So per key batch bk and over all heads at once
 * (cublasSgemmStridedBatched, batch = NH, head stride HS):
 *   1. S[h] = scale · Q_h K_hᵀ        [Tq',Tk] into the scores scratch, Tq' = G*Tq
 *   2. softmax over each row of S, with the mask row of bk        (softmax.cu)
 *   3. O_h = S[h] V_h                 written straight into out's head columns
 * Column-major, as cuBLAS sees row-major data (see matmul.cu):
 *   1. Sᵀ[Tk,Tq'] = K_h[Tk,HS] · Q_hᵀ[HS,Tq']: gemm(T, N, m=Tk, n=Tq', k=HS, K_h ld ldk, Q_h ld ldq, S ld Tk)
 *   3. O_hᵀ[HS,Tq'] = V_hᵀ[HS,Tk] · Sᵀ[Tk,Tq']: gemm(N, N, m=HS, n=Tq', k=Tk, V_h ld ldv, S ld Tk, O ld C)
 * The scale rides in sgemm's alpha (the CPU multiplies after the product: same to an ulp).
 *
 * The scores scratch is bounded (ctx->att_limit floats): key batches are processed in chunks
 * (several per softmax launch when they fit), and a single key batch whose scores do not fit is
 * split into row blocks of Tq'. The mask is copied to the device once and reused while the host
 * mask is unchanged (every layer of a forward pass passes the same one).
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_common.cuh"

/* Copy the host mask [n] to ctx->mask unless the device already holds the same values. */
static const float *upload_mask(xrem_backend *be, const float *mask, size_t n)
{
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    if (c->mask && c->mask_host && c->mask_n == n && memcmp(c->mask_host, mask, n * sizeof(float)) == 0)
        return c->mask;
    c->mask_n = 0; /* invalid until the copy below succeeded */
    if (xrem_cuda_reserve(be, (void **)&c->mask, &c->mask_cap, n * sizeof(float))) return NULL;
    if (c->mask_host_cap < n) {
        free(c->mask_host);
        c->mask_host_cap = 0;
        if (!(c->mask_host = (float *)malloc(n * sizeof(float)))) {
            cudaCheck(be, cudaErrorMemoryAllocation);
            return NULL;
        }
        c->mask_host_cap = n;
    }
    /* synchronous: the caller may change its mask right after this call */
    if (cudaCheck(be, cudaMemcpyAsync(c->mask, mask, n * sizeof(float), cudaMemcpyHostToDevice, c->stream)) ||
        cudaCheck(be, cudaStreamSynchronize(c->stream)))
        return NULL;
    memcpy(c->mask_host, mask, n * sizeof(float));
    c->mask_n = n;
    return c->mask;
}

void xrem_cuda_attention(xrem_backend *be, xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                         const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff,
                         const float *mask, int NH)
{
    xrem_op_check_attention(be, out, q, qoff, k, koff, v, voff, mask, NH);
    const int64_t B = q->ne[0], Tq = q->ne[1], Bk = k->ne[0], Tk = k->ne[1], C = out->ne[2], HS = C / NH;
    const int64_t ldq = q->ne[2], ldk = k->ne[2], ldv = v->ne[2];
    if (B == 0 || Tq == 0 || C == 0) return;

    const int64_t G = B / Bk, Tqg = G * Tq; /* query rows per key batch */
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);

    /* chunking: nt query rows per unit (all Tq' when they fit), nb key batches per pass */
    const int64_t lim = (int64_t)c->att_limit, per_row = NH * Tk;
    const int64_t nt = Tqg * per_row <= lim ? Tqg : (lim / per_row > 0 ? lim / per_row : 1);
    const int64_t unit = NH * nt * Tk; /* floats of scores per (key batch, row block) */
    int64_t nb = nt == Tqg ? lim / unit : 1;
    if (nb < 1) nb = 1;
    if (nb > Bk) nb = Bk;
    if (xrem_cuda_reserve(be, (void **)&c->att, &c->att_cap, (size_t)(nb * unit) * sizeof(float))) return;

    const float *dmask = NULL;
    if (mask && !(dmask = upload_mask(be, mask, (size_t)(Bk * Tk)))) return;

    const float scale = 1.0f / sqrtf((float)HS), one = 1.0f, zero = 0.0f;
    const float *Q = (const float *)q->data, *K = (const float *)k->data, *V = (const float *)v->data;
    float *O = (float *)out->data, *S = c->att;
    for (int64_t b0 = 0; b0 < Bk; b0 += nb) {
        const int64_t nbc = Bk - b0 < nb ? Bk - b0 : nb;
        for (int64_t t0 = 0; t0 < Tqg; t0 += nt) {
            const int64_t ntc = Tqg - t0 < nt ? Tqg - t0 : nt;
            const int64_t ustride = NH * ntc * Tk; /* scores of one key batch in this pass */
            for (int64_t i = 0; i < nbc; i++) {
                const int64_t bk = b0 + i;
                if (cublasCheck(be, cublasSgemmStridedBatched(
                                        c->cublas, CUBLAS_OP_T, CUBLAS_OP_N, (int)Tk, (int)ntc, (int)HS, &scale,
                                        K + bk * Tk * ldk + koff, (int)ldk, HS,
                                        Q + (bk * Tqg + t0) * ldq + qoff, (int)ldq, HS, &zero,
                                        S + i * ustride, (int)Tk, ntc * Tk, NH)))
                    return;
            }
            xrem_cuda_softmax_rows(be, S, nbc * NH * ntc, Tk, dmask ? dmask + b0 * Tk : NULL, NH * ntc);
            for (int64_t i = 0; i < nbc; i++) {
                const int64_t bk = b0 + i;
                if (cublasCheck(be, cublasSgemmStridedBatched(
                                        c->cublas, CUBLAS_OP_N, CUBLAS_OP_N, (int)HS, (int)ntc, (int)Tk, &one,
                                        V + bk * Tk * ldv + voff, (int)ldv, HS, S + i * ustride, (int)Tk,
                                        ntc * Tk, &zero, O + (bk * Tqg + t0) * C, (int)C, HS, NH)))
                    return;
            }
        }
    }
}

/* Packed sequences (backend.h xrem_seqs): each run of consecutive query sequences that share a key
 * sequence (one image's candidate texts; one text in self-attention) is one "key batch" of the
 * scheme above with Tq' = the run's rows and Tk = that key sequence's length: two strided-batched
 * GEMMs over the heads and one softmax launch per run (per row block when its scores exceed the
 * scratch). The offsets live on the host, so the launches are planned there; the mask, when given,
 * is [kofs[nk]] and uploaded as for attention. */
void xrem_cuda_attention_packed(xrem_backend *be, xrem_tensor *out, const xrem_tensor *q, int64_t qoff,
                                const xrem_tensor *k, int64_t koff, const xrem_tensor *v, int64_t voff,
                                const xrem_seqs *sq, int NH)
{
    xrem_op_check_attention_packed(be, out, q, qoff, k, koff, v, voff, sq, NH);
    const int64_t C = out->ne[1], HS = C / NH, ldq = q->ne[1], ldk = k->ne[1], ldv = v->ne[1];
    if (q->ne[0] == 0 || C == 0) return;
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    const int64_t lim = (int64_t)c->att_limit;

    /* the scores scratch: the largest (row block x keys) over the runs */
    int64_t need = 1;
    for (int64_t s = 0; s < sq->nq;) {
        const int64_t j = sq->kv_of ? sq->kv_of[s] : s;
        int64_t e = s + 1;
        while (e < sq->nq && sq->kv_of && sq->kv_of[e] == j)
            e++;
        const int64_t rows = sq->qofs[e] - sq->qofs[s], Tk = sq->kofs[j + 1] - sq->kofs[j];
        if (rows > 0) {
            const int64_t per_row = NH * Tk,
                          nt = rows * per_row <= lim ? rows : (lim / per_row > 0 ? lim / per_row : 1);
            if (nt * per_row > need) need = nt * per_row;
        }
        s = e;
    }
    if (xrem_cuda_reserve(be, (void **)&c->att, &c->att_cap, (size_t)need * sizeof(float))) return;
    const float *dmask = NULL;
    if (sq->mask && !(dmask = upload_mask(be, sq->mask, (size_t)sq->kofs[sq->nk]))) return;

    const float scale = 1.0f / sqrtf((float)HS), one = 1.0f, zero = 0.0f;
    const float *Q = (const float *)q->data, *K = (const float *)k->data, *V = (const float *)v->data;
    float *O = (float *)out->data, *S = c->att;
    for (int64_t s = 0; s < sq->nq;) {
        const int64_t j = sq->kv_of ? sq->kv_of[s] : s;
        int64_t e = s + 1;
        while (e < sq->nq && sq->kv_of && sq->kv_of[e] == j)
            e++;
        const int64_t r0 = sq->qofs[s], rows = sq->qofs[e] - r0, k0 = sq->kofs[j], Tk = sq->kofs[j + 1] - k0;
        s = e;
        if (rows == 0) continue;
        const int64_t per_row = NH * Tk, nt = rows * per_row <= lim ? rows : (lim / per_row > 0 ? lim / per_row : 1);
        for (int64_t t0 = 0; t0 < rows; t0 += nt) {
            const int64_t ntc = rows - t0 < nt ? rows - t0 : nt;
            if (cublasCheck(be, cublasSgemmStridedBatched(c->cublas, CUBLAS_OP_T, CUBLAS_OP_N, (int)Tk, (int)ntc,
                                                          (int)HS, &scale, K + k0 * ldk + koff, (int)ldk, HS,
                                                          Q + (r0 + t0) * ldq + qoff, (int)ldq, HS, &zero, S, (int)Tk,
                                                          ntc * Tk, NH)))
                return;
            xrem_cuda_softmax_rows(be, S, NH * ntc, Tk, dmask ? dmask + k0 : NULL, NH * ntc);
            if (cublasCheck(be, cublasSgemmStridedBatched(c->cublas, CUBLAS_OP_N, CUBLAS_OP_N, (int)HS, (int)ntc,
                                                          (int)Tk, &one, V + k0 * ldv + voff, (int)ldv, HS, S, (int)Tk,
                                                          ntc * Tk, &zero, O + (r0 + t0) * C, (int)C, HS, NH)))
                return;
        }
    }
}
