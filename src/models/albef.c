#include "models/albef.h"

#include <stdlib.h>
#include <string.h>

struct xrem_albef {
    xrem_albef_kind kind;
    xrem_backend *be;
    xrem_vit vit;
    xrem_bert bert;
    int E;                            /* ITC dim (retrieval) */
    xrem_tensor vproj_w, vproj_b;     /* [E, Cv] */
    xrem_tensor tproj_w, tproj_b;     /* [E, C] */
    int has_itm;
    xrem_tensor itm_w, itm_b;         /* retrieval itm_head [2, C] */
    xrem_tensor cls0_w, cls0_b;       /* ITM cls_head.0 [C, C] */
    xrem_tensor cls2_w, cls2_b;       /* ITM cls_head.2 [3, C] */
    xrem_arena arena;
    char *sha256;
    char **vocab;
    int64_t nvocab;
};

static xrem_status albef_load_heads(xrem_albef *m, xrem_weights *w)
{
    xrem_backend *be = m->be;
    const int64_t C = m->bert.cfg.C, Cv = m->vit.cfg.C;
    xrem_status s = XREM_OK;
    if (m->kind == XREM_ALBEF_RETRIEVAL) {
        int64_t E;
        s = xrem_weights_config(w, "embed_dim", 1, 65536, &E);
        m->E = (int)E;
        if (!s) s = xrem_weights_load(w, be, "vision_proj.weight", 2, (int64_t[]){E, Cv}, &m->vproj_w);
        if (!s) s = xrem_weights_load(w, be, "vision_proj.bias", 1, (int64_t[]){E}, &m->vproj_b);
        if (!s) s = xrem_weights_load(w, be, "text_proj.weight", 2, (int64_t[]){E, C}, &m->tproj_w);
        if (!s) s = xrem_weights_load(w, be, "text_proj.bias", 1, (int64_t[]){E}, &m->tproj_b);
        m->has_itm = xrem_weights_has(w, "itm_head.weight");
        if (!s && m->has_itm) s = xrem_weights_load(w, be, "itm_head.weight", 2, (int64_t[]){2, C}, &m->itm_w);
        if (!s && m->has_itm) s = xrem_weights_load(w, be, "itm_head.bias", 1, (int64_t[]){2}, &m->itm_b);
    } else {
        s = xrem_weights_load(w, be, "cls_head.0.weight", 2, (int64_t[]){C, C}, &m->cls0_w);
        if (!s) s = xrem_weights_load(w, be, "cls_head.0.bias", 1, (int64_t[]){C}, &m->cls0_b);
        if (!s) s = xrem_weights_load(w, be, "cls_head.2.weight", 2, (int64_t[]){3, C}, &m->cls2_w);
        if (!s) s = xrem_weights_load(w, be, "cls_head.2.bias", 1, (int64_t[]){3}, &m->cls2_b);
    }
    return s;
}

xrem_status xrem_albef_load(const char *path, xrem_backend *be, int res, xrem_albef **out)
{
    *out = NULL;
    xrem_weights *w = NULL;
    xrem_status s = xrem_weights_open(path, &w);
    if (s) return s;
    xrem_albef *m = calloc(1, sizeof *m);
    if (!m) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = xrem_weights_expect_arch(w, "albef_retrieval,albef_itm");
    if (!s) s = xrem_backend_check(be);
    if (!s) {
        m->be = be;
        m->kind = strcmp(xrem_weights_arch(w), "albef_itm") == 0 ? XREM_ALBEF_ITM : XREM_ALBEF_RETRIEVAL;
        s = xrem_vit_load(w, be, res, &m->vit);
    }
    if (!s) s = xrem_bert_load(w, be, "text_encoder.", &m->bert);
    if (!s && m->bert.cfg.enc_width != m->vit.cfg.C)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: config encoder_width %d differs from vision_width %d", path,
                      m->bert.cfg.enc_width, m->vit.cfg.C);
    if (!s) s = albef_load_heads(m, w);
    if (!s && !(m->sha256 = strdup(xrem_weights_sha256(w)))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    /* ALBEF's sequences are [CLS] tokens, padded with [PAD]; [UNK] stands for what the vocabulary lacks */
    static const char *const need[] = {"[PAD]", "[CLS]", "[UNK]", NULL};
    if (!s && xrem_weights_has(w, "tokenizer/vocab"))
        s = xrem_weights_vocab_checked(w, m->bert.cfg.vocab, 0, need, &m->vocab, &m->nvocab);
    xrem_weights_close(w);
    if (s) {
        if (m) m->be = be;
        xrem_albef_free(m);
        /* most messages already name the file; add it where one does not */
        return strstr(xrem_last_error(), path) ? s : xrem_fail_context(s, "loading %s", path);
    }
    *out = m;
    return XREM_OK;
}

void xrem_albef_free(xrem_albef *m)
{
    if (!m) return;
    xrem_backend *be = m->be;
    xrem_vit_release(&m->vit, be);
    xrem_bert_release(&m->bert, be);
    xrem_tensor *ts[] = {&m->vproj_w, &m->vproj_b, &m->tproj_w, &m->tproj_b, &m->itm_w,
                         &m->itm_b,   &m->cls0_w,  &m->cls0_b,  &m->cls2_w,  &m->cls2_b};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) xrem_tensor_release(be, ts[i]);
    xrem_arena_release(&m->arena);
    xrem_strings_free(m->vocab, m->nvocab);
    free(m->sha256);
    free(m);
}

xrem_albef_kind xrem_albef_kind_of(const xrem_albef *m) { return m->kind; }
const xrem_vit *xrem_albef_vit(const xrem_albef *m) { return &m->vit; }
const xrem_bert *xrem_albef_bert(const xrem_albef *m) { return &m->bert; }
int xrem_albef_embed_dim(const xrem_albef *m) { return m->kind == XREM_ALBEF_RETRIEVAL ? m->E : 0; }
int xrem_albef_has_itm_head(const xrem_albef *m) { return m->has_itm; }
const char *xrem_albef_sha256(const xrem_albef *m) { return m->sha256; }

char *const *xrem_albef_vocab(const xrem_albef *m, int64_t *n)
{
    *n = m->nvocab;
    return m->vocab;
}

size_t xrem_albef_params(const xrem_albef *m)
{
    size_t n = xrem_vit_params(&m->vit) + xrem_bert_params(&m->bert);
    const size_t C = m->bert.cfg.C, Cv = m->vit.cfg.C, E = (size_t)m->E;
    if (m->kind == XREM_ALBEF_RETRIEVAL) n += E * Cv + E + E * C + E + (m->has_itm ? 2 * C + 2 : 0);
    else n += C * C + C + 3 * C + 3;
    return n;
}

/* Make the arena at least `bytes`; grows only, so steady-state calls allocate nothing. */
static xrem_status albef_reserve(xrem_albef *m, size_t bytes)
{
    xrem_arena_reset(&m->arena);
    if (bytes <= m->arena.cap) return XREM_OK;
    xrem_arena_release(&m->arena);
    return xrem_arena_init(&m->arena, m->be, bytes);
}

static xrem_status albef_check_images(const xrem_albef *m, int B, int Cin)
{
    if (B <= 0) return xrem_fail(XREM_ERR_ARG, "no images");
    if (Cin != 1 && Cin != 3) return xrem_fail(XREM_ERR_SHAPE, "images have %d channels, expected 1 or 3", Cin);
    (void)m;
    return XREM_OK;
}

static xrem_tensor albef_upload_images(xrem_albef *m, const float *img, int B, int Cin)
{
    const int R = m->vit.cfg.res;
    int64_t ne[4] = {B, Cin, R, R};
    xrem_tensor t = xrem_arena_f32(&m->arena, 4, ne);
    m->be->upload(m->be, t.data, img, xrem_tensor_bytes(&t));
    return t;
}

/* [CLS] rows: out [B, C] <- x [B, T, C] */
static xrem_tensor albef_cls(xrem_albef *m, const xrem_tensor *x)
{
    const int64_t B = x->ne[0], T = x->ne[1], C = x->ne[2];
    xrem_tensor c = xrem_arena_f32_2d(&m->arena, B, C);
    m->be->copy2d(m->be, c.data, C, x->data, T * C, B, C);
    return c;
}

static xrem_tensor albef_project(xrem_albef *m, const xrem_tensor *cls, const xrem_tensor *W, const xrem_tensor *b)
{
    xrem_tensor f = xrem_arena_f32_2d(&m->arena, cls->ne[0], W->ne[0]);
    m->be->linear(m->be, &f, cls, W, b);
    m->be->l2norm(m->be, &f);
    return f;
}

static size_t albef_small_bytes(int rows, int cols) { return (size_t)rows * cols * sizeof(float) + 64; }

xrem_status xrem_albef_encode_images(xrem_albef *m, const float *img, int B, int Cin, float *embeds, float *feat,
                                     xrem_trace_fn trace, void *user)
{
    xrem_status s = albef_check_images(m, B, Cin);
    if (!s && feat && m->kind != XREM_ALBEF_RETRIEVAL)
        s = xrem_fail(XREM_ERR_ARG, "image features need a retrieval model (this is an ITM model)");
    const int R = m->vit.cfg.res, C = m->vit.cfg.C, T = xrem_vit_tokens(&m->vit);
    size_t bytes = xrem_vit_arena_bytes(&m->vit, B) + albef_small_bytes(B * Cin, R * R) +
                   albef_small_bytes(B, C) + albef_small_bytes(B, m->E + 1);
    if (!s) s = albef_reserve(m, bytes);
    if (s) return s;
    xrem_tensor x = albef_upload_images(m, img, B, Cin), e;
    xrem_vit_forward(&m->vit, m->be, &m->arena, &x, &e, trace, user);
    if (embeds) m->be->download(m->be, embeds, e.data, sizeof(float) * (size_t)B * T * C);
    if (feat) {
        xrem_tensor cls = albef_cls(m, &e);
        xrem_tensor f = albef_project(m, &cls, &m->vproj_w, &m->vproj_b);
        m->be->download(m->be, feat, f.data, sizeof(float) * (size_t)B * m->E);
    }
    return m->be->sync(m->be);
}

/* Tokens of each text that the packed layout keeps: up to its last unmasked one (padding is right
 * of it; masked tokens inside stay, masked). A text with no unmasked token keeps all L, as the
 * padded computation attends uniformly over all of them then. */
static int64_t albef_text_len(const int32_t *mask, int L)
{
    if (!mask) return L;
    int64_t n = L;
    while (n > 0 && !mask[n - 1])
        n--;
    return n ? n : L;
}

/* The packed layout of ITM pairs (host arrays): texts and pairs as sequences, the pairs' rows as
 * rows of the packed texts, the image tokens as key sequences. */
typedef struct {
    int64_t *tofs, *pofs, *iofs;         /* [M+1], [P+1], [B+1] */
    int32_t *tids, *prow, *cls, *img_of; /* [Nt], [Np], [P], [P] */
    float *tmask, *pmask;                /* [Nt], [Np]; NULL when every kept token is unmasked */
} albef_pack;

static void albef_pack_free(albef_pack *k)
{
    void *ps[] = {k->tofs, k->pofs, k->iofs, k->tids, k->prow, k->cls, k->img_of, k->tmask, k->pmask};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        free(ps[i]);
    memset(k, 0, sizeof *k);
}

/* The texts' part of the layout: tofs, tids, tmask (NULL when no kept token is masked) */
static xrem_status albef_pack_texts(albef_pack *k, const int32_t *ids, const int32_t *mask, int M, int L, int *holes)
{
    *holes = 0;
    if (!(k->tofs = malloc(sizeof(int64_t) * (size_t)(M + 1)))) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    k->tofs[0] = 0;
    for (int j = 0; j < M; j++) {
        const int32_t *mj = mask ? mask + (int64_t)j * L : NULL;
        const int64_t n = albef_text_len(mj, L);
        for (int64_t t = 0; mj && t < n; t++)
            *holes |= !mj[t];
        k->tofs[j + 1] = k->tofs[j] + n;
    }
    const int64_t Nt = k->tofs[M];
    if (Nt > INT32_MAX)
        return xrem_fail(XREM_ERR_ARG, "%lld tokens in the texts, at most %d", (long long)Nt, INT32_MAX);
    k->tids = malloc(sizeof(int32_t) * (size_t)(Nt ? Nt : 1));
    k->cls = malloc(sizeof(int32_t) * (size_t)M);
    if (*holes) k->tmask = malloc(sizeof(float) * (size_t)(Nt ? Nt : 1));
    if (!k->tids || !k->cls || (*holes && !k->tmask)) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int j = 0; j < M; j++) {
        k->cls[j] = (int32_t)k->tofs[j];
        for (int64_t t = 0; t < k->tofs[j + 1] - k->tofs[j]; t++) {
            k->tids[k->tofs[j] + t] = ids[(int64_t)j * L + t];
            if (*holes) k->tmask[k->tofs[j] + t] = mask[(int64_t)j * L + t] != 0;
        }
    }
    return XREM_OK;
}

/* The texts, then the pairs: pofs, prow (rows of the packed texts), pmask, cls (each pair's
 * [CLS] row), img_of and iofs (image b's tokens are key sequence b). */
static xrem_status albef_pack_make(albef_pack *k, const int32_t *ids, const int32_t *mask, int M, int L,
                                   const int32_t *text_of, int B, int K, int T)
{
    const int64_t P = (int64_t)B * K;
    memset(k, 0, sizeof *k);
    int holes = 0;
    xrem_status s = albef_pack_texts(k, ids, mask, M, L, &holes);
    if (s) return s;
    free(k->cls);
    k->pofs = malloc(sizeof(int64_t) * (size_t)(P + 1));
    k->iofs = malloc(sizeof(int64_t) * (size_t)(B + 1));
    k->cls = malloc(sizeof(int32_t) * (size_t)P);
    k->img_of = malloc(sizeof(int32_t) * (size_t)P);
    if (!k->pofs || !k->iofs || !k->cls || !k->img_of) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    k->pofs[0] = 0;
    for (int64_t p = 0; p < P; p++) {
        const int32_t j = text_of[p];
        k->pofs[p + 1] = k->pofs[p] + (k->tofs[j + 1] - k->tofs[j]);
        k->img_of[p] = (int32_t)(p / K);
    }
    for (int b = 0; b <= B; b++)
        k->iofs[b] = (int64_t)b * T;
    const int64_t Np = k->pofs[P];
    if (Np > INT32_MAX)
        return xrem_fail(XREM_ERR_ARG, "%lld tokens in the ITM pairs, at most %d", (long long)Np, INT32_MAX);
    k->prow = malloc(sizeof(int32_t) * (size_t)(Np ? Np : 1));
    if (holes) k->pmask = malloc(sizeof(float) * (size_t)(Np ? Np : 1));
    if (!k->prow || (holes && !k->pmask)) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t p = 0; p < P; p++) {
        const int32_t j = text_of[p];
        k->cls[p] = (int32_t)k->pofs[p];
        for (int64_t t = 0; t < k->pofs[p + 1] - k->pofs[p]; t++) {
            k->prow[k->pofs[p] + t] = (int32_t)(k->tofs[j] + t);
            if (holes) k->pmask[k->pofs[p] + t] = k->tmask[k->tofs[j] + t];
        }
    }
    return XREM_OK;
}

/* Texts without padding: each text's kept tokens packed, the layers on all of them at once with
 * attention per text. */
xrem_status xrem_albef_encode_texts(xrem_albef *m, const int32_t *ids, const int32_t *mask, int M, int L, float *feat,
                                    xrem_trace_fn trace, void *user)
{
    if (M <= 0 || L <= 0) return xrem_fail(XREM_ERR_ARG, "no texts");
    if (m->kind != XREM_ALBEF_RETRIEVAL)
        return xrem_fail(XREM_ERR_ARG, "text features need a retrieval model (this is an ITM model)");
    xrem_status s = xrem_bert_check_input(&m->bert, ids, M, L);
    if (s) return s;
    const int C = m->bert.cfg.C;
    albef_pack k;
    memset(&k, 0, sizeof k);
    int holes = 0;
    s = albef_pack_texts(&k, ids, mask, M, L, &holes);
    const int64_t trace_rows = trace ? (int64_t)M * L : 0;
    if (!s)
        s = albef_reserve(m, xrem_bert_packed_arena_bytes(&m->bert, k.tofs[M], 0, trace_rows) +
                                 albef_small_bytes(M, C) + albef_small_bytes(M, m->E));
    const xrem_seqs texts = {M, k.tofs, M, k.tofs, NULL, k.tmask};
    xrem_tensor x;
    if (!s) s = xrem_bert_embed_packed(&m->bert, m->be, &m->arena, k.tids, NULL, k.tofs, M, &x);
    if (!s) {
        if (trace) xrem_bert_trace_packed(m->be, &m->arena, &x, &texts, L, "bert.embed", -1, trace, user);
        xrem_bert_layers_packed(&m->bert, m->be, &m->arena, &x, &texts, 0, m->bert.cfg.fusion_layer, NULL, NULL, L,
                                trace, user);
        xrem_tensor cls = xrem_arena_f32_2d(&m->arena, M, C);
        m->be->embed(m->be, &cls, &x, k.cls, M);
        xrem_tensor f = albef_project(m, &cls, &m->tproj_w, &m->tproj_b);
        m->be->download(m->be, feat, f.data, sizeof(float) * (size_t)M * m->E);
        s = m->be->sync(m->be);
    }
    albef_pack_free(&k);
    return s;
}

/* logits [P, K] from the fused [CLS] rows */
static xrem_tensor albef_head(xrem_albef *m, const xrem_tensor *cls)
{
    const int64_t P = cls->ne[0];
    if (m->kind == XREM_ALBEF_RETRIEVAL) {
        xrem_tensor o = xrem_arena_f32_2d(&m->arena, P, 2);
        m->be->linear(m->be, &o, cls, &m->itm_w, &m->itm_b);
        return o;
    }
    xrem_tensor h = xrem_arena_f32_2d(&m->arena, P, cls->ne[1]);
    m->be->linear(m->be, &h, cls, &m->cls0_w, &m->cls0_b);
    m->be->act(m->be, &h, XREM_ACT_RELU);
    xrem_tensor o = xrem_arena_f32_2d(&m->arena, P, 3);
    m->be->linear(m->be, &o, &h, &m->cls2_w, &m->cls2_b);
    return o;
}

/* Each of the B images meets K texts: pair p = b*K + k is (image b, text text_of[p]). The texts
 * are packed (no padding): the text-only layers run once per distinct text on its real tokens, the
 * pairs gather those rows, and the fusion layers run on all pairs' tokens at once with attention
 * per pair (self) and per image (cross: an image's K candidates share its keys/values). */
xrem_status xrem_albef_itm_sets(xrem_albef *m, const float *img, int B, int Cin, const int32_t *ids,
                                const int32_t *mask, int M, int L, const int32_t *text_of, int K, float *logits,
                                xrem_trace_fn trace, void *user)
{
    xrem_status s = albef_check_images(m, B, Cin);
    if (!s && (M <= 0 || L <= 0 || K <= 0)) s = xrem_fail(XREM_ERR_ARG, "no texts");
    if (!s && m->kind == XREM_ALBEF_RETRIEVAL && !m->has_itm)
        s = xrem_fail(XREM_ERR_ARG, "this retrieval model has no itm_head");
    for (int64_t p = 0; !s && p < (int64_t)B * K; p++)
        if (text_of[p] < 0 || text_of[p] >= M) s = xrem_fail(XREM_ERR_ARG, "pair %lld names text %d of %d", (long long)p,
                                                            text_of[p], M);
    if (!s) s = xrem_bert_check_input(&m->bert, ids, M, L);
    if (s) return s;
    const int R = m->vit.cfg.res, Cv = m->vit.cfg.C, C = m->bert.cfg.C, T = xrem_vit_tokens(&m->vit);
    const int64_t P = (int64_t)B * K;
    albef_pack k;
    s = albef_pack_make(&k, ids, mask, M, L, text_of, B, K, T);
    if (s) {
        albef_pack_free(&k);
        return s;
    }
    const int64_t Nt = k.tofs[M], Np = k.pofs[P];
    const int64_t trace_rows = trace ? (P > M ? P : M) * (int64_t)L : 0;
    size_t bytes = albef_small_bytes(B * Cin, R * R) + albef_small_bytes(B * T, Cv) + xrem_vit_arena_bytes(&m->vit, B) +
                   xrem_bert_packed_arena_bytes(&m->bert, Nt, 0, trace_rows) +
                   xrem_bert_packed_arena_bytes(&m->bert, Np, (int64_t)B * T, trace_rows) +
                   3 * albef_small_bytes((int)P, C);
    s = albef_reserve(m, bytes);
    if (s) {
        albef_pack_free(&k);
        return s;
    }
    xrem_tensor x = albef_upload_images(m, img, B, Cin), enc;
    xrem_vit_forward(&m->vit, m->be, &m->arena, &x, &enc, trace, user);
    xrem_tensor enc2 = enc; /* [B*T, Cv] rows: image b's tokens are key sequence b */
    enc2.ndim = 2;
    enc2.ne[0] = (int64_t)B * T;
    enc2.ne[1] = Cv;
    const xrem_seqs texts = {M, k.tofs, M, k.tofs, NULL, k.tmask};
    const xrem_seqs pairs_self = {P, k.pofs, P, k.pofs, NULL, k.pmask};
    const xrem_seqs pairs_img = {P, k.pofs, B, k.iofs, k.img_of, NULL};
    xrem_tensor t, pairs;
    s = xrem_bert_embed_packed(&m->bert, m->be, &m->arena, k.tids, NULL, k.tofs, M, &t);
    if (!s) {
        xrem_bert_layers_packed(&m->bert, m->be, &m->arena, &t, &texts, 0, m->bert.cfg.fusion_layer, NULL, NULL, L,
                                trace, user);
        pairs = xrem_arena_f32_2d(&m->arena, Np, C);
        m->be->embed(m->be, &pairs, &t, k.prow, Np);
        xrem_bert_layers_packed(&m->bert, m->be, &m->arena, &pairs, &pairs_self, m->bert.cfg.fusion_layer,
                                m->bert.cfg.L, &enc2, &pairs_img, L, trace, user);
        xrem_tensor cls = xrem_arena_f32_2d(&m->arena, P, C);
        m->be->embed(m->be, &cls, &pairs, k.cls, P);
        xrem_tensor o = albef_head(m, &cls);
        m->be->download(m->be, logits, o.data, sizeof(float) * (size_t)P * o.ne[1]);
        s = m->be->sync(m->be);
    }
    albef_pack_free(&k);
    return s;
}

xrem_status xrem_albef_itm(xrem_albef *m, const float *img, int B, int Cin, const int32_t *ids, const int32_t *mask,
                           int M, int L, float *logits, xrem_trace_fn trace, void *user)
{
    if (B <= 0 || M <= 0) return xrem_fail(XREM_ERR_ARG, "no images or texts");
    int32_t *text_of = malloc(sizeof(int32_t) * (size_t)B * M);
    if (!text_of) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t p = 0; p < (int64_t)B * M; p++) text_of[p] = (int32_t)(p % M);
    xrem_status s = xrem_albef_itm_sets(m, img, B, Cin, ids, mask, M, L, text_of, M, logits, trace, user);
    free(text_of);
    return s;
}
