#include "models/bert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Optional integer config attribute: def when absent. */
static xrem_status bert_config_opt(xrem_weights *w, const char *name, int64_t lo, int64_t hi, int64_t def, int64_t *v)
{
    if (!xrem_h5_has_attr(xrem_weights_file(w), "config", name)) {
        *v = def;
        return XREM_OK;
    }
    return xrem_weights_config(w, name, lo, hi, v);
}

static xrem_status bert_config(xrem_weights *w, xrem_bert_config *c)
{
    static const char *names[] = {"hidden_size", "num_layers", "num_heads", "intermediate_size",
                                  "vocab_size",  "max_position", "type_vocab_size"};
    static const int64_t lo[] = {1, 1, 1, 1, 5, 1, 1};
    static const int64_t hi[] = {16384, 256, 256, 65536, 1 << 24, 1 << 16, 64};
    int64_t v[7], fusion, enc, pos_off;
    for (int i = 0; i < 7; i++) {
        xrem_status s = xrem_weights_config(w, names[i], lo[i], hi[i], &v[i]);
        if (s) return s;
    }
    /* plain BERT-family encoders (NLI, CheXbert, BERTScore) have no cross-attention; RoBERTa's
     * positions start at padding_idx + 1 (position_offset 2) */
    xrem_status s = bert_config_opt(w, "fusion_layer", 0, 256, v[1], &fusion);
    if (!s) s = bert_config_opt(w, "encoder_width", 1, 16384, v[0], &enc);
    if (!s) s = bert_config_opt(w, "position_offset", 0, 1 << 16, 0, &pos_off);
    double eps = 1e-12;
    if (!s && xrem_h5_has_attr(xrem_weights_file(w), "config", "bert_ln_eps"))
        s = xrem_h5_attr_f64(xrem_weights_file(w), "config", "bert_ln_eps", &eps);
    if (s) return s;
    if (!(eps > 0 && eps < 1))
        return xrem_fail(XREM_ERR_VALUE, "%s: config.bert_ln_eps = %g, expected (0, 1)", xrem_weights_path(w), eps);
    *c = (xrem_bert_config){(int)v[0], (int)v[1], (int)v[2], (int)v[3],       (int)v[4],  (int)v[5],
                            (int)v[6], (int)fusion, (int)enc, (float)eps, (int)pos_off};
    if (c->C % c->NH)
        return xrem_fail(XREM_ERR_FORMAT, "%s: hidden_size %d not divisible by num_heads %d", xrem_weights_path(w),
                         c->C, c->NH);
    if (c->fusion_layer > c->L)
        return xrem_fail(XREM_ERR_FORMAT, "%s: fusion_layer %d > num_layers %d", xrem_weights_path(w),
                         c->fusion_layer, c->L);
    if (c->pos_offset >= c->max_pos)
        return xrem_fail(XREM_ERR_FORMAT, "%s: position_offset %d >= max_position %d", xrem_weights_path(w),
                         c->pos_offset, c->max_pos);
    return XREM_OK;
}

/* Read n row-blocks (e.g. query, key, value) and stack them into one [sum rows, cols] tensor. */
static xrem_status bert_load_stacked(xrem_weights *w, xrem_backend *be, const char *const *names, int n,
                                     int64_t rows, int64_t cols, xrem_tensor *t)
{
    const int is_bias = cols == 0;
    const int64_t per = rows * (is_bias ? 1 : cols);
    float *all = malloc(sizeof(float) * (size_t)(per * n));
    if (!all) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    xrem_status s = XREM_OK;
    for (int i = 0; !s && i < n; i++) {
        float *part = NULL;
        int64_t ne[XREM_MAX_DIMS];
        s = xrem_weights_read(w, names[i], is_bias ? 1 : 2, (int64_t[]){rows, cols}, &part, ne);
        if (!s) memcpy(all + i * per, part, sizeof(float) * (size_t)per);
        free(part);
    }
    if (!s) {
        if (is_bias) s = xrem_tensor_from_host(be, all, 1, (int64_t[]){rows * n}, t);
        else s = xrem_tensor_from_host(be, all, 2, (int64_t[]){rows * n, cols}, t);
    }
    free(all);
    return s;
}

static xrem_status bert_load_attn(xrem_weights *w, xrem_backend *be, const char *base, int64_t C, int64_t kvw,
                                  int fuse_q, xrem_tensor *qkv_w, xrem_tensor *qkv_b, xrem_tensor *q_w,
                                  xrem_tensor *q_b)
{
    char nw[3][400], nb[3][400];
    const char *parts[] = {"query", "key", "value"};
    for (int i = 0; i < 3; i++) {
        snprintf(nw[i], sizeof nw[i], "%s.self.%s.weight", base, parts[i]);
        snprintf(nb[i], sizeof nb[i], "%s.self.%s.bias", base, parts[i]);
    }
    const char *w3[] = {nw[0], nw[1], nw[2]}, *b3[] = {nb[0], nb[1], nb[2]};
    if (fuse_q) { /* self-attention: q|k|v all from x */
        xrem_status s = bert_load_stacked(w, be, w3, 3, C, C, qkv_w);
        return s ? s : bert_load_stacked(w, be, b3, 3, C, 0, qkv_b);
    }
    /* cross-attention: q from text [C, C], k|v from image states [2C, kvw] */
    xrem_status s = xrem_weights_load(w, be, nw[0], 2, (int64_t[]){C, C}, q_w);
    if (!s) s = xrem_weights_load(w, be, nb[0], 1, (int64_t[]){C}, q_b);
    if (!s) s = bert_load_stacked(w, be, w3 + 1, 2, C, kvw, qkv_w);
    if (!s) s = bert_load_stacked(w, be, b3 + 1, 2, C, 0, qkv_b);
    return s;
}

static xrem_status bert_load_dense(xrem_weights *w, xrem_backend *be, const char *base, int64_t out, int64_t in,
                                   int ln, xrem_tensor *W, xrem_tensor *b, xrem_tensor *g, xrem_tensor *beta)
{
    char n[320];
    snprintf(n, sizeof n, "%s.dense.weight", base);
    xrem_status s = xrem_weights_load(w, be, n, 2, (int64_t[]){out, in}, W);
    snprintf(n, sizeof n, "%s.dense.bias", base);
    if (!s) s = xrem_weights_load(w, be, n, 1, (int64_t[]){out}, b);
    if (!ln || s) return s;
    snprintf(n, sizeof n, "%s.LayerNorm.weight", base);
    s = xrem_weights_load(w, be, n, 1, (int64_t[]){out}, g);
    snprintf(n, sizeof n, "%s.LayerNorm.bias", base);
    if (!s) s = xrem_weights_load(w, be, n, 1, (int64_t[]){out}, beta);
    return s;
}

static xrem_status bert_load_layer(xrem_weights *w, xrem_backend *be, const char *prefix, const xrem_bert_config *c,
                                   int i, xrem_bert_layer *l)
{
    const int64_t C = c->C;
    char base[256], sub[320];
    snprintf(base, sizeof base, "%sencoder.layer.%d", prefix, i);
    snprintf(sub, sizeof sub, "%s.attention", base);
    xrem_status s = bert_load_attn(w, be, sub, C, C, 1, &l->qkv_w, &l->qkv_b, NULL, NULL);
    snprintf(sub, sizeof sub, "%s.attention.output", base);
    if (!s) s = bert_load_dense(w, be, sub, C, C, 1, &l->ao_w, &l->ao_b, &l->ao_g, &l->ao_beta);
    l->cross = i >= c->fusion_layer;
    snprintf(sub, sizeof sub, "%s.crossattention", base);
    if (!s && l->cross) s = bert_load_attn(w, be, sub, C, c->enc_width, 0, &l->xkv_w, &l->xkv_b, &l->xq_w, &l->xq_b);
    snprintf(sub, sizeof sub, "%s.crossattention.output", base);
    if (!s && l->cross) s = bert_load_dense(w, be, sub, C, C, 1, &l->xo_w, &l->xo_b, &l->xo_g, &l->xo_beta);
    snprintf(sub, sizeof sub, "%s.intermediate", base);
    if (!s) s = bert_load_dense(w, be, sub, c->inter, C, 0, &l->in_w, &l->in_b, NULL, NULL);
    snprintf(sub, sizeof sub, "%s.output", base);
    if (!s) s = bert_load_dense(w, be, sub, C, c->inter, 1, &l->out_w, &l->out_b, &l->out_g, &l->out_beta);
    return s;
}

xrem_status xrem_bert_load(xrem_weights *w, xrem_backend *be, const char *prefix, xrem_bert *m)
{
    memset(m, 0, sizeof *m);
    xrem_status s = bert_config(w, &m->cfg);
    if (s) return s;
    const xrem_bert_config *c = &m->cfg;
    char n[256];
    struct {
        const char *suffix;
        xrem_tensor *t;
        int nd;
        int64_t ne[2];
    } emb[] = {
        {"embeddings.word_embeddings.weight", &m->word, 2, {c->vocab, c->C}},
        {"embeddings.position_embeddings.weight", &m->pos, 2, {c->max_pos, c->C}},
        {"embeddings.token_type_embeddings.weight", &m->type, 2, {c->type_vocab, c->C}},
        {"embeddings.LayerNorm.weight", &m->emb_g, 1, {c->C}},
        {"embeddings.LayerNorm.bias", &m->emb_b, 1, {c->C}},
    };
    for (size_t k = 0; !s && k < sizeof emb / sizeof emb[0]; k++) {
        snprintf(n, sizeof n, "%s%s", prefix, emb[k].suffix);
        s = xrem_weights_load(w, be, n, emb[k].nd, emb[k].ne, emb[k].t);
    }
    if (!s && !(m->layers = calloc((size_t)c->L, sizeof *m->layers))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < c->L; i++) s = bert_load_layer(w, be, prefix, c, i, &m->layers[i]);
    if (s) xrem_bert_release(m, be);
    return s;
}

void xrem_bert_release(xrem_bert *m, xrem_backend *be)
{
    xrem_tensor *fixed[] = {&m->word, &m->pos, &m->type, &m->emb_g, &m->emb_b};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) xrem_tensor_release(be, fixed[i]);
    if (m->layers) {
        for (int i = 0; i < m->cfg.L; i++) {
            xrem_bert_layer *l = &m->layers[i];
            xrem_tensor *ts[] = {&l->qkv_w, &l->qkv_b, &l->ao_w,  &l->ao_b,   &l->ao_g,  &l->ao_beta, &l->xq_w,
                                 &l->xq_b,  &l->xkv_w, &l->xkv_b, &l->xo_w,   &l->xo_b,  &l->xo_g,    &l->xo_beta,
                                 &l->in_w,  &l->in_b,  &l->out_w, &l->out_b,  &l->out_g, &l->out_beta};
            for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) xrem_tensor_release(be, ts[k]);
        }
        free(m->layers);
    }
    m->layers = NULL;
}

size_t xrem_bert_params(const xrem_bert *m)
{
    const xrem_bert_config *c = &m->cfg;
    const size_t C = c->C, I = c->inter, E = c->enc_width;
    size_t n = ((size_t)c->vocab + c->max_pos + c->type_vocab) * C + 2 * C;
    size_t self = 4 * C * C + 4 * C + 2 * C, ffn = 2 * C * I + I + C + 2 * C;
    size_t cross = 2 * C * C + 2 * C * E + 4 * C + 2 * C;
    for (int i = 0; i < c->L; i++) n += self + ffn + (i >= c->fusion_layer ? cross : 0);
    return n;
}

xrem_status xrem_bert_check_input(const xrem_bert *m, const int32_t *ids, int B, int T)
{
    if (T > m->cfg.max_pos - m->cfg.pos_offset)
        return xrem_fail(XREM_ERR_SHAPE, "text of %d tokens is longer than the model's position table (%d)", T,
                         m->cfg.max_pos - m->cfg.pos_offset);
    for (int64_t i = 0; i < (int64_t)B * T; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab)
            return xrem_fail(XREM_ERR_VALUE, "token id %d (text %lld, position %lld) outside the vocabulary (%d)",
                             ids[i], (long long)(i / T), (long long)(i % T), m->cfg.vocab);
    return XREM_OK;
}

size_t xrem_bert_arena_bytes(const xrem_bert *m, int B, int T, int Bk, int Te)
{
    const size_t C = m->cfg.C, BT = (size_t)B * T;
    size_t floats = BT * C /* x */ + BT * C /* type rows */ + BT * (3 * C + 2 * C + m->cfg.inter) +
                    (size_t)Bk * Te * 2 * C;
    return floats * sizeof(float) + 16 * 64;
}

xrem_tensor xrem_bert_embed(const xrem_bert *m, xrem_backend *be, xrem_arena *a, const int32_t *ids,
                            const int32_t *types, int B, int T)
{
    const int64_t C = m->cfg.C;
    xrem_tensor x = xrem_arena_f32_3d(a, B, T, C);
    const size_t mark = a->used;
    be->embed(be, &x, &m->word, ids, (int64_t)B * T);
    /* absolute positions offset..offset+T-1, shared by every sequence (RoBERTa: offset 2) */
    xrem_tensor pos = m->pos;
    pos.ne[0] = T;
    pos.data = (float *)m->pos.data + (int64_t)m->cfg.pos_offset * C;
    be->add(be, &x, &x, &pos);
    xrem_tensor ty = xrem_arena_f32_3d(a, B, T, C);
    if (types) {
        be->embed(be, &ty, &m->type, types, (int64_t)B * T);
        be->add(be, &x, &x, &ty);
    } else {
        xrem_tensor t0 = m->type;
        t0.ndim = 1;
        t0.ne[0] = C;
        be->add(be, &x, &x, &t0);
    }
    be->layernorm(be, &x, &x, &m->emb_g, &m->emb_b, m->cfg.eps);
    a->used = mark;
    return x;
}

/* x = LN(x + W·ctx + b) */
static void bert_residual(xrem_backend *be, xrem_tensor *x, xrem_tensor *tmp, const xrem_tensor *ctx,
                          const xrem_tensor *W, const xrem_tensor *b, const xrem_tensor *g, const xrem_tensor *beta,
                          float eps)
{
    be->linear(be, tmp, ctx, W, b);
    be->add(be, tmp, tmp, x);
    be->layernorm(be, x, tmp, g, beta, eps);
}

/* A tensor of x's leading dims with `cols` columns: [B,T,cols] padded, [N,cols] packed */
static xrem_tensor bert_like(xrem_arena *a, const xrem_tensor *x, int64_t cols)
{
    int64_t ne[XREM_MAX_DIMS];
    memcpy(ne, x->ne, sizeof(int64_t) * (size_t)x->ndim);
    ne[x->ndim - 1] = cols;
    return xrem_arena_f32(a, x->ndim, ne);
}

/* One layer on padded x [B,T,C] (self NULL: mask and enc [Bk,Te,Cv]) or packed x [N,C] (self and,
 * with cross-attention, cross and enc [rows, Cv]). Only the attention calls differ. */
static void bert_layer(const xrem_bert *m, const xrem_bert_layer *l, xrem_backend *be, xrem_arena *a, xrem_tensor *x,
                       const float *mask, const xrem_tensor *enc, const xrem_seqs *self, const xrem_seqs *cross)
{
    const int64_t C = m->cfg.C;
    const size_t mark = a->used;
    xrem_tensor qkv = bert_like(a, x, 3 * C);
    xrem_tensor ctx = bert_like(a, x, C);
    xrem_tensor tmp = bert_like(a, x, C);
    be->linear(be, &qkv, x, &l->qkv_w, &l->qkv_b);
    if (self)
        be->attention_packed(be, &ctx, &qkv, 0, &qkv, C, &qkv, 2 * C, self, m->cfg.NH);
    else
        be->attention(be, &ctx, &qkv, 0, &qkv, C, &qkv, 2 * C, mask, m->cfg.NH);
    bert_residual(be, x, &tmp, &ctx, &l->ao_w, &l->ao_b, &l->ao_g, &l->ao_beta, m->cfg.eps);
    if (l->cross) {
        /* keys/values once per image; the image mask is all ones */
        xrem_tensor kv = bert_like(a, enc, 2 * C);
        be->linear(be, &kv, enc, &l->xkv_w, &l->xkv_b);
        xrem_tensor q = qkv;
        q.ne[q.ndim - 1] = C;
        be->linear(be, &q, x, &l->xq_w, &l->xq_b);
        if (self)
            be->attention_packed(be, &ctx, &q, 0, &kv, 0, &kv, C, cross, m->cfg.NH);
        else
            be->attention(be, &ctx, &q, 0, &kv, 0, &kv, C, NULL, m->cfg.NH);
        bert_residual(be, x, &tmp, &ctx, &l->xo_w, &l->xo_b, &l->xo_g, &l->xo_beta, m->cfg.eps);
    }
    xrem_tensor h = bert_like(a, x, m->cfg.inter);
    be->linear(be, &h, x, &l->in_w, &l->in_b);
    be->act(be, &h, XREM_ACT_GELU);
    bert_residual(be, x, &tmp, &h, &l->out_w, &l->out_b, &l->out_g, &l->out_beta, m->cfg.eps);
    a->used = mark;
}

void xrem_bert_layers(const xrem_bert *m, xrem_backend *be, xrem_arena *a, xrem_tensor *x, const float *mask,
                      int from, int to, const xrem_tensor *enc, xrem_trace_fn trace, void *user)
{
    for (int i = from; i < to; i++) {
        XREM_ASSERT(!m->layers[i].cross || (enc && enc->ne[2] == m->cfg.enc_width && x->ne[0] % enc->ne[0] == 0));
        bert_layer(m, &m->layers[i], be, a, x, mask, enc, NULL, NULL);
        if (trace) trace(i < m->cfg.fusion_layer ? "bert.text.layer" : "bert.fusion.layer", i, x, user);
    }
}

/* ---- packed sequences ----------------------------------------------------------------------------- */

size_t xrem_bert_packed_arena_bytes(const xrem_bert *m, int64_t N, int64_t enc_rows, int64_t trace_rows)
{
    const size_t C = m->cfg.C;
    size_t floats =
        (size_t)N * (C + C + 3 * C + 2 * C + m->cfg.inter) + (size_t)enc_rows * 2 * C + (size_t)trace_rows * C;
    return floats * sizeof(float) + 16 * 64;
}

xrem_status xrem_bert_embed_packed(const xrem_bert *m, xrem_backend *be, xrem_arena *a, const int32_t *ids,
                                   const int32_t *types, const int64_t *ofs, int64_t n, xrem_tensor *out)
{
    const int64_t C = m->cfg.C, N = ofs[n];
    if (N > INT32_MAX) return xrem_fail(XREM_ERR_SHAPE, "%lld packed tokens, at most %d", (long long)N, INT32_MAX);
    int32_t *pos = malloc(sizeof(int32_t) * (size_t)(N ? N : 1));
    if (!pos) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t s = 0; s < n; s++) {
        const int64_t len = ofs[s + 1] - ofs[s];
        if (len > m->cfg.max_pos - m->cfg.pos_offset) {
            free(pos);
            return xrem_fail(XREM_ERR_SHAPE, "text %lld of %lld tokens is longer than the model's position table (%d)",
                             (long long)s, (long long)len, m->cfg.max_pos - m->cfg.pos_offset);
        }
        for (int64_t i = 0; i < len; i++)
            pos[ofs[s] + i] = (int32_t)(m->cfg.pos_offset + i);
    }
    xrem_tensor x = xrem_arena_f32_2d(a, N, C);
    const size_t mark = a->used;
    xrem_tensor ty = xrem_arena_f32_2d(a, N, C);
    /* the padded embedding's sums in its order: word + position, + type, then LayerNorm */
    be->embed(be, &x, &m->word, ids, N);
    be->embed(be, &ty, &m->pos, pos, N);
    be->add(be, &x, &x, &ty);
    if (types) {
        be->embed(be, &ty, &m->type, types, N);
        be->add(be, &x, &x, &ty);
    } else {
        xrem_tensor t0 = m->type;
        t0.ndim = 1;
        t0.ne[0] = C;
        be->add(be, &x, &x, &t0);
    }
    be->layernorm(be, &x, &x, &m->emb_g, &m->emb_b, m->cfg.eps);
    /* the ops are queued (CUDA): the position ids must outlive them */
    xrem_status s = be->sync(be);
    free(pos);
    a->used = mark;
    *out = x;
    return s;
}

/* The trace of packed states: the padded [n, L, C] layout the goldens store, padding rows 0. */
void xrem_bert_trace_packed(xrem_backend *be, xrem_arena *a, const xrem_tensor *x, const xrem_seqs *sq, int64_t L,
                            const char *what, int i, xrem_trace_fn trace, void *user)
{
    const int64_t C = x->ne[1], n = sq->nq;
    const size_t mark = a->used;
    xrem_tensor p = xrem_arena_f32_3d(a, n, L, C);
    float *zero = calloc((size_t)(n * L * C) + 1, sizeof(float));
    if (!zero) return; /* tracing is for tests: nothing to trace into */
    be->upload(be, p.data, zero, xrem_tensor_bytes(&p));
    for (int64_t s = 0; s < n; s++)
        be->copy2d(be, (float *)p.data + s * L * C, C, (const float *)x->data + sq->qofs[s] * C, C,
                   sq->qofs[s + 1] - sq->qofs[s], C);
    trace(what, i, &p, user);
    be->sync(be);
    free(zero);
    a->used = mark;
}

void xrem_bert_layers_packed(const xrem_bert *m, xrem_backend *be, xrem_arena *a, xrem_tensor *x, const xrem_seqs *self,
                             int from, int to, const xrem_tensor *enc, const xrem_seqs *cross, int64_t trace_len,
                             xrem_trace_fn trace, void *user)
{
    XREM_ASSERT(x->ndim == 2 && self && self->qofs[self->nq] == x->ne[0]);
    for (int i = from; i < to; i++) {
        XREM_ASSERT(!m->layers[i].cross || (enc && cross && enc->ndim == 2 && enc->ne[1] == m->cfg.enc_width));
        bert_layer(m, &m->layers[i], be, a, x, NULL, enc, self, cross);
        if (trace)
            xrem_bert_trace_packed(be, a, x, self, trace_len,
                                   i < m->cfg.fusion_layer ? "bert.text.layer" : "bert.fusion.layer", i, trace, user);
    }
}
