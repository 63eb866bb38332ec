/* BERTScore (bert_score 0.3.x): see bertscore.h for the contract.
 *
 * score() runs in three passes: tokenize every text once; then, chunk by chunk of pairs, encode
 * the chunk's distinct token sequences (sorted by length, batched under a token budget) and keep
 * their L2-normalised layer-L states on the host; then match each pair of the chunk (one sgemm
 * for its similarity matrix, row and column maxima, weighted means). Memory stays bounded by the
 * chunk, whatever n is.
 */
#include "bertscore.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/bert.h"
#include "models/weights.h"
#include "text/bpe.h"
#include "text/wordpiece.h"

struct xrem_bertscore {
    xrem_backend *be;
    xrem_bert bert;
    int layer;
    int max_len;    /* ids per text, cls and sep included */
    xrem_bpe *bpe;  /* RoBERTa */
    xrem_vocab *wp; /* BERT */
    int32_t cls, sep, pad;
    xrem_arena arena;
    char *name, *arch, *sha256;
};

/* ---------------------------------------------------------------------------------------------
 * Loading */

static xrem_status bs_attr_str_opt(xrem_h5 *f, const char *attr, char **out)
{
    *out = NULL;
    return xrem_h5_has_attr(f, "tokenizer", attr) ? xrem_h5_attr_str(f, "tokenizer", attr, out) : XREM_OK;
}

static unsigned bs_roles_mask(const char *list)
{
    static const char *names[XREM_BPE_NSPECIAL] = {"cls", "sep", "bos", "eos", "pad", "unk", "mask"};
    unsigned m = 0;
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        for (int r = 0; r < XREM_BPE_NSPECIAL; r++)
            if (strlen(names[r]) == len && !strncmp(p, names[r], len)) m |= 1u << r;
        p += len + (e ? 1 : 0);
    }
    return m;
}

static xrem_status bs_load_bpe(xrem_bertscore *bs, xrem_weights *w)
{
    static const char *attrs[XREM_BPE_NSPECIAL] = {"cls_token", "sep_token", "bos_token", "eos_token",
                                                   "pad_token", "unk_token", "mask_token"};
    xrem_h5 *f = xrem_weights_file(w);
    char **vocab = NULL, **merges = NULL, *tok[XREM_BPE_NSPECIAL] = {0}, *ls = NULL, *rs = NULL;
    int64_t nv = 0, nm = 0;
    xrem_status s = xrem_h5_read_strings(f, "tokenizer/vocab", &vocab, &nv);
    if (!s) s = xrem_h5_read_strings(f, "tokenizer/merges", &merges, &nm);
    xrem_bpe_specials sp;
    xrem_bpe_specials_roberta(&sp);
    for (int r = 0; !s && r < XREM_BPE_NSPECIAL; r++) {
        s = bs_attr_str_opt(f, attrs[r], &tok[r]);
        if (tok[r]) sp.tok[r] = tok[r];
    }
    if (!s) s = bs_attr_str_opt(f, "lstrip_roles", &ls);
    if (!s) s = bs_attr_str_opt(f, "rstrip_roles", &rs);
    if (!s && ls) sp.lstrip = bs_roles_mask(ls);
    if (!s && rs) sp.rstrip = bs_roles_mask(rs);
    if (!s && nv > bs->bert.cfg.vocab)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: tokenizer has %lld tokens, the model's vocabulary %d", xrem_weights_path(w),
                      (long long)nv, bs->bert.cfg.vocab);
    if (!s) s = xrem_bpe_from_strings((const char *const *)vocab, nv, (const char *const *)merges, nm, &sp, &bs->bpe);
    if (!s) {
        bs->cls = xrem_bpe_special_id(bs->bpe, XREM_BPE_CLS);
        bs->sep = xrem_bpe_special_id(bs->bpe, XREM_BPE_SEP);
        bs->pad = xrem_bpe_special_id(bs->bpe, XREM_BPE_PAD);
    }
    xrem_strings_free(vocab, nv);
    xrem_strings_free(merges, nm);
    for (int r = 0; r < XREM_BPE_NSPECIAL; r++)
        free(tok[r]);
    free(ls);
    free(rs);
    return s;
}

static xrem_status bs_load_wordpiece(xrem_bertscore *bs, xrem_weights *w)
{
    xrem_h5 *f = xrem_weights_file(w);
    int64_t lower = 1, chinese = 1;
    char *accents = NULL;
    xrem_status s = XREM_OK;
    if (xrem_h5_has_attr(f, "tokenizer", "do_lower_case"))
        s = xrem_h5_attr_i64(f, "tokenizer", "do_lower_case", &lower);
    if (!s && xrem_h5_has_attr(f, "tokenizer", "tokenize_chinese_chars"))
        s = xrem_h5_attr_i64(f, "tokenizer", "tokenize_chinese_chars", &chinese);
    if (!s) s = bs_attr_str_opt(f, "strip_accents", &accents);
    if (!s && (!lower || !chinese || (accents && strcmp(accents, "none") && strcmp(accents, "true"))))
        s = xrem_fail(XREM_ERR_UNSUPPORTED,
                      "%s: WordPiece settings do_lower_case=%lld tokenize_chinese_chars=%lld strip_accents=%s: xrem's "
                      "WordPiece tokenizer is the uncased one (1, 1, none/true)",
                      xrem_weights_path(w), (long long)lower, (long long)chinese, accents ? accents : "none");
    free(accents);
    char **vocab = NULL;
    int64_t nv = 0;
    if (!s) s = xrem_weights_vocab(w, &vocab, &nv);
    if (!s && nv > bs->bert.cfg.vocab)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: tokenizer has %lld tokens, the model's vocabulary %d", xrem_weights_path(w),
                      (long long)nv, bs->bert.cfg.vocab);
    if (!s) s = xrem_vocab_from_strings((const char *const *)vocab, nv, &bs->wp);
    xrem_strings_free(vocab, nv);
    if (s) return s;
    bs->cls = xrem_vocab_id(bs->wp, "[CLS]");
    bs->sep = xrem_vocab_id(bs->wp, "[SEP]");
    bs->pad = xrem_vocab_id(bs->wp, "[PAD]");
    if (bs->cls < 0 || bs->sep < 0)
        return xrem_fail(XREM_ERR_FORMAT, "%s: the WordPiece vocabulary has no [CLS] or [SEP]", xrem_weights_path(w));
    return XREM_OK;
}

static xrem_status bs_load_tokenizer(xrem_bertscore *bs, xrem_weights *w)
{
    xrem_h5 *f = xrem_weights_file(w);
    char *kind = NULL;
    xrem_status s = XREM_OK;
    if (!xrem_h5_exists(f, "tokenizer/vocab"))
        return xrem_fail(XREM_ERR_FORMAT,
                         "%s: no tokenizer (dataset 'tokenizer/vocab'); convert the model with "
                         "scripts/convert_hf.py",
                         xrem_weights_path(w));
    if (xrem_h5_has_attr(f, "tokenizer", "kind")) s = xrem_h5_attr_str(f, "tokenizer", "kind", &kind);
    const int bpe = kind ? !strcmp(kind, "bpe") : !strcmp(xrem_weights_arch(w), "roberta");
    if (!s && kind && !bpe && strcmp(kind, "wordpiece"))
        s = xrem_fail(XREM_ERR_FORMAT, "%s: tokenizer kind '%s', expected bpe or wordpiece", xrem_weights_path(w),
                      kind);
    free(kind);
    if (!s) s = bpe ? bs_load_bpe(bs, w) : bs_load_wordpiece(bs, w);
    if (s) return s;
    if (bs->pad < 0) bs->pad = bs->cls; /* padded positions are masked: any valid id will do */
    /* model_max_length, capped by the position table (HF would fail beyond it) */
    const int table = bs->bert.cfg.max_pos - bs->bert.cfg.pos_offset;
    int64_t ml = table;
    if (xrem_h5_has_attr(f, "tokenizer", "model_max_length")) {
        s = xrem_h5_attr_i64(f, "tokenizer", "model_max_length", &ml);
        if (s) return s;
        if (ml < 2)
            return xrem_fail(XREM_ERR_FORMAT, "%s: tokenizer model_max_length %lld", xrem_weights_path(w),
                             (long long)ml);
        if (ml > table) ml = table;
    }
    bs->max_len = (int)ml;
    if (bs->max_len < 2)
        return xrem_fail(XREM_ERR_FORMAT, "%s: position table of %d leaves no room for cls and sep",
                         xrem_weights_path(w), table);
    return XREM_OK;
}

static const char *bs_basename(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

xrem_status xrem_bertscore_create(const char *weights_path, int layer, xrem_backend *be, xrem_bertscore **out)
{
    if (!out || !weights_path || !be) return xrem_fail(XREM_ERR_ARG, "bertscore: NULL argument");
    *out = NULL;
    xrem_weights *w = NULL;
    xrem_status s = xrem_weights_open(weights_path, &w);
    if (s) return s;
    xrem_bertscore *bs = calloc(1, sizeof *bs);
    if (!bs) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = xrem_weights_expect_arch(w, "bert,roberta");
    if (!s) s = xrem_backend_check(be);
    if (!s) {
        bs->be = be;
        s = xrem_bert_load(w, be, "bert.", &bs->bert);
    }
    if (!s && bs->bert.cfg.fusion_layer < bs->bert.cfg.L)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: the encoder has cross-attention layers (fusion_layer %d)", weights_path,
                      bs->bert.cfg.fusion_layer);
    if (!s) {
        bs->layer = layer < 0 ? bs->bert.cfg.L : layer;
        if (bs->layer > bs->bert.cfg.L)
            s = xrem_fail(XREM_ERR_ARG, "%s: layer %d, the encoder has %d", weights_path, layer, bs->bert.cfg.L);
    }
    if (!s) s = bs_load_tokenizer(bs, w);
    xrem_h5 *f = w ? xrem_weights_file(w) : NULL;
    if (!s && xrem_h5_has_attr(f, "/", "model_name")) s = xrem_h5_attr_str(f, "/", "model_name", &bs->name);
    if (!s && !bs->name && !(bs->name = strdup(bs_basename(weights_path))))
        s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s && !(bs->arch = strdup(xrem_weights_arch(w)))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s && !(bs->sha256 = strdup(xrem_weights_sha256(w)))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    xrem_weights_close(w);
    if (s) {
        if (bs) bs->be = be;
        xrem_bertscore_free(bs);
        return strstr(xrem_last_error(), weights_path) ? s : xrem_fail_context(s, "loading %s", weights_path);
    }
    *out = bs;
    return XREM_OK;
}

void xrem_bertscore_free(xrem_bertscore *bs)
{
    if (!bs) return;
    if (bs->be) {
        xrem_bert_release(&bs->bert, bs->be);
        xrem_arena_release(&bs->arena);
    }
    xrem_bpe_free(bs->bpe);
    xrem_vocab_free(bs->wp);
    free(bs->name);
    free(bs->arch);
    free(bs->sha256);
    free(bs);
}

const char *xrem_bertscore_model_name(const xrem_bertscore *bs)
{
    return bs->name;
}
const char *xrem_bertscore_arch(const xrem_bertscore *bs)
{
    return bs->arch;
}
const char *xrem_bertscore_sha256(const xrem_bertscore *bs)
{
    return bs->sha256;
}
int xrem_bertscore_layer(const xrem_bertscore *bs)
{
    return bs->layer;
}
int xrem_bertscore_num_layers(const xrem_bertscore *bs)
{
    return bs->bert.cfg.L;
}
int xrem_bertscore_max_len(const xrem_bertscore *bs)
{
    return bs->max_len;
}

void xrem_bertscore_opts_default(xrem_bertscore_opts *o)
{
    memset(o, 0, sizeof *o);
    o->match_batch = 64;
}

/* ---------------------------------------------------------------------------------------------
 * Tokenizing */

xrem_status xrem_bertscore_tokenize(const xrem_bertscore *bs, const char *text, int32_t **ids, int64_t *n)
{
    *ids = NULL;
    *n = 0;
    size_t off, len;
    xrem_utf8_strip_py(text, strlen(text), &off, &len);
    if (len == 0) { /* bert_score: build_inputs_with_special_tokens([]) */
        int32_t *o = malloc(2 * sizeof *o);
        if (!o) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
        o[0] = bs->cls;
        o[1] = bs->sep;
        *ids = o;
        *n = 2;
        return XREM_OK;
    }
    char *s = malloc(len + 1);
    if (!s) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    memcpy(s, text + off, len);
    s[len] = 0;
    xrem_status st;
    if (bs->bpe) {
        st = xrem_bpe_encode(bs->bpe, s, XREM_BPE_PREFIX_SPACE, bs->max_len, ids, n);
    } else {
        int32_t *t = NULL;
        int64_t nt = 0;
        st = xrem_wordpiece_tokenize(bs->wp, s, &t, &nt);
        if (!st) {
            if (nt > bs->max_len - 2) nt = bs->max_len - 2;
            int32_t *o = malloc((size_t)(nt + 2) * sizeof *o);
            if (!o)
                st = xrem_fail(XREM_ERR_NOMEM, "out of memory");
            else {
                o[0] = bs->cls;
                memcpy(o + 1, t, (size_t)nt * sizeof *o);
                o[nt + 1] = bs->sep;
                *ids = o;
                *n = nt + 2;
            }
        }
        free(t);
    }
    free(s);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Scoring */

typedef struct {
    int32_t *ids;
    int64_t len;
} bs_seq;

/* One chunk of pairs [p0, p1): its distinct sequences and their states. */
typedef struct {
    int64_t *useq; /* [nu] index (into the text list) of each distinct sequence */
    int64_t nu, ucap;
    int64_t *slot; /* open-addressing hash of distinct sequences: useq position or -1 */
    uint64_t scap;
    int64_t *pair_u; /* [2*(p1-p0)] distinct index of cand, ref */
    int64_t *off;    /* [nu] row offset of each distinct sequence's states in emb */
    float *emb;      /* [rows, C] L2-normalised states */
    int64_t rows;
} bs_chunk;

static uint64_t bs_hash_seq(const bs_seq *q)
{
    uint64_t h = 14695981039346656037ull;
    for (int64_t i = 0; i < q->len; i++) {
        h ^= (uint32_t)q->ids[i];
        h *= 1099511628211ull;
    }
    return h ^ (uint64_t)q->len;
}

static int bs_seq_eq(const bs_seq *a, const bs_seq *b)
{
    return a->len == b->len && !memcmp(a->ids, b->ids, (size_t)a->len * sizeof *a->ids);
}

/* Index of text t's sequence among the chunk's distinct ones (added when new). -1: no memory. */
static int64_t bs_chunk_add(bs_chunk *c, const bs_seq *seqs, int64_t t)
{
    for (uint64_t i = bs_hash_seq(&seqs[t]) & (c->scap - 1);; i = (i + 1) & (c->scap - 1)) {
        if (c->slot[i] < 0) {
            if (c->nu == c->ucap) return -1;
            c->slot[i] = c->nu;
            c->useq[c->nu] = t;
            return c->nu++;
        }
        if (bs_seq_eq(&seqs[c->useq[c->slot[i]]], &seqs[t])) return c->slot[i];
    }
}

typedef struct {
    int64_t len, u;
} bs_len_u;

/* longest first; ties by distinct index, so the order is deterministic */
static int bs_cmp_len(const void *a, const void *b)
{
    const bs_len_u *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? 1 : -1;
    return (x->u > y->u) - (x->u < y->u);
}

static xrem_status bs_reserve(xrem_bertscore *bs, size_t bytes)
{
    xrem_arena_reset(&bs->arena);
    if (bytes <= bs->arena.cap) return XREM_OK;
    xrem_arena_release(&bs->arena);
    return xrem_arena_init(&bs->arena, bs->be, bytes);
}

/* Encode the chunk's distinct sequences into c->emb (layer-L states, rows L2-normalised). */
static xrem_status bs_encode_chunk(xrem_bertscore *bs, const bs_seq *seqs, bs_chunk *c, int enc_tokens)
{
    const int64_t C = bs->bert.cfg.C;
    bs_len_u *order = malloc((size_t)c->nu * sizeof *order);
    if (!order) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    c->rows = 0;
    for (int64_t u = 0; u < c->nu; u++) {
        order[u] = (bs_len_u){seqs[c->useq[u]].len, u};
        c->off[u] = c->rows;
        c->rows += seqs[c->useq[u]].len;
    }
    qsort(order, (size_t)c->nu, sizeof *order, bs_cmp_len);
    free(c->emb);
    c->emb = malloc((size_t)(c->rows ? c->rows : 1) * (size_t)C * sizeof(float));
    const int64_t Tmax = order[0].len;
    int32_t *ids = malloc((size_t)(enc_tokens > Tmax ? enc_tokens : Tmax) * sizeof *ids);
    float *host = malloc((size_t)(enc_tokens > Tmax ? enc_tokens : Tmax) * (size_t)C * sizeof *host);
    xrem_status s = (!c->emb || !ids || !host) ? xrem_fail(XREM_ERR_NOMEM, "out of memory") : XREM_OK;
    int64_t *ofs = malloc(sizeof(int64_t) * (size_t)(c->nu + 1));
    if (!s && !ofs) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; !s && i < c->nu;) {
        /* longest first, packed (no padding): take texts while their tokens fit the budget */
        int64_t B = 0, N = 0;
        ofs[0] = 0;
        while (i + B < c->nu && (B == 0 || N + order[i + B].len <= enc_tokens)) {
            const bs_seq *q = &seqs[c->useq[order[i + B].u]];
            memcpy(ids + N, q->ids, sizeof(int32_t) * (size_t)q->len);
            N += q->len;
            ofs[++B] = N;
        }
        for (int64_t b = 0; !s && b < B; b++)
            s = xrem_bert_check_input(&bs->bert, ids + ofs[b], 1, (int)(ofs[b + 1] - ofs[b]));
        if (!s) s = bs_reserve(bs, xrem_bert_packed_arena_bytes(&bs->bert, N, 0, 0));
        xrem_tensor x;
        if (!s) s = xrem_bert_embed_packed(&bs->bert, bs->be, &bs->arena, ids, NULL, ofs, B, &x);
        if (s) break;
        const xrem_seqs sq = {B, ofs, B, ofs, NULL, NULL};
        xrem_bert_layers_packed(&bs->bert, bs->be, &bs->arena, &x, &sq, 0, bs->layer, NULL, NULL, 0, NULL, NULL);
        bs->be->l2norm(bs->be, &x);
        bs->be->download(bs->be, host, x.data, (size_t)N * C * sizeof(float));
        s = bs->be->sync(bs->be);
        for (int64_t b = 0; !s && b < B; b++) {
            const int64_t u = order[i + b].u;
            memcpy(c->emb + c->off[u] * C, host + ofs[b] * C, (size_t)(ofs[b + 1] - ofs[b]) * C * sizeof(float));
        }
        i += B;
    }
    free(ofs);
    free(order);
    free(ids);
    free(host);
    return s;
}

/* Greedy matching of one pair. pad_c / pad_r: the quirk's padded zero takes part in the maxima
 * over the candidate's (recall) / the reference's (precision) positions. */
static void bs_match(const float *ec, int64_t Tc, const float *wc, const float *er, int64_t Tr, const float *wr,
                     int64_t C, int pad_c, int pad_r, float *sim, double *P, double *R, double *F)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Tc, (int)Tr, (int)C, 1.0f, ec, (int)C, er, (int)C, 0.0f,
                sim, (int)Tr);
    double num = 0, den = 0;
    for (int64_t j = 0; j < Tc; j++) {
        float m = pad_r ? 0.0f : -INFINITY;
        for (int64_t k = 0; k < Tr; k++)
            m = sim[j * Tr + k] > m ? sim[j * Tr + k] : m;
        num += (double)wc[j] * m;
        den += wc[j];
    }
    *P = num / den;
    num = den = 0;
    for (int64_t k = 0; k < Tr; k++) {
        float m = pad_c ? 0.0f : -INFINITY;
        for (int64_t j = 0; j < Tc; j++)
            m = sim[j * Tr + k] > m ? sim[j * Tr + k] : m;
        num += (double)wr[k] * m;
        den += wr[k];
    }
    *R = num / den;
    *F = 2 * *P * *R / (*P + *R);
    if (isnan(*F)) *F = 0;
    if (Tc == 2 || Tr == 2) *P = *R = 0; /* an empty text (bert_score: mask sum == 2) */
}

/* Per-token weights of every text: [total ids], text t's at woff[t]. */
static xrem_status bs_weights(const xrem_bertscore *bs, const bs_seq *seqs, int64_t nt, const xrem_bertscore_opts *o,
                              int64_t n, float **w_out, int64_t **woff_out)
{
    int64_t total = 0;
    for (int64_t t = 0; t < nt; t++)
        total += seqs[t].len;
    float *w = malloc((size_t)total * sizeof *w);
    int64_t *woff = malloc((size_t)nt * sizeof *woff);
    double *idf = NULL;
    int64_t *df = NULL, *last = NULL;
    xrem_status s = (!w || !woff) ? xrem_fail(XREM_ERR_NOMEM, "out of memory") : XREM_OK;
    const int64_t V = bs->bert.cfg.vocab;
    if (!s && o->idf) {
        const char *const *docs = o->idf_docs;
        const int64_t M = o->idf_docs ? o->n_idf_docs : n;
        df = calloc((size_t)V, sizeof *df);
        last = malloc((size_t)V * sizeof *last);
        idf = malloc((size_t)V * sizeof *idf);
        if (!df || !last || !idf) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
        for (int64_t v = 0; !s && v < V; v++)
            last[v] = -1;
        for (int64_t d = 0; !s && d < M; d++) {
            int32_t *ids = NULL;
            int64_t len = 0;
            if (!o->idf_docs) { /* the references: already tokenized (text 2d+1) */
                ids = seqs[2 * d + 1].ids;
                len = seqs[2 * d + 1].len;
            } else if (!docs[d]) {
                s = xrem_fail(XREM_ERR_ARG, "bertscore: idf document %lld is NULL", (long long)d);
            } else {
                s = xrem_bertscore_tokenize(bs, docs[d], &ids, &len);
            }
            for (int64_t i = 0; !s && i < len; i++)
                if (last[ids[i]] != d) { /* set(ids) per document */
                    last[ids[i]] = d;
                    df[ids[i]]++;
                }
            if (o->idf_docs) free(ids);
        }
        for (int64_t v = 0; !s && v < V; v++)
            idf[v] = log((double)(M + 1) / (double)(df[v] + 1));
    }
    for (int64_t t = 0, at = 0; !s && t < nt; t++) {
        woff[t] = at;
        for (int64_t i = 0; i < seqs[t].len; i++) {
            const int32_t id = seqs[t].ids[i];
            w[at++] = o->idf ? (float)idf[id] : (id == bs->cls || id == bs->sep) ? 0.0f : 1.0f;
        }
    }
    free(idf);
    free(df);
    free(last);
    if (s) {
        free(w);
        free(woff);
        return s;
    }
    *w_out = w;
    *woff_out = woff;
    return XREM_OK;
}

static void bs_chunk_free(bs_chunk *c)
{
    free(c->useq);
    free(c->slot);
    free(c->pair_u);
    free(c->off);
    free(c->emb);
}

xrem_status xrem_bertscore_score(xrem_bertscore *bs, const char *const *cands, const char *const *refs, int64_t n,
                                 const xrem_bertscore_opts *o_in, double *P, double *R, double *F)
{
    if (!bs || (n > 0 && (!cands || !refs || !P || !R || !F)) || n < 0)
        return xrem_fail(XREM_ERR_ARG, "bertscore: NULL or negative argument");
    xrem_bertscore_opts o;
    if (o_in)
        o = *o_in;
    else
        xrem_bertscore_opts_default(&o);
    if (o.match_batch < 0 || o.enc_tokens < 0 || o.chunk_tokens < 0 || (o.idf && o.idf_docs && o.n_idf_docs < 0))
        return xrem_fail(XREM_ERR_ARG, "bertscore: negative option");
    if (!o.enc_tokens) o.enc_tokens = 8192;
    if (!o.chunk_tokens) o.chunk_tokens = 16384;
    if (n == 0) return XREM_OK;
    /* 1. every text's ids: text 2i is cands[i], 2i+1 is refs[i] */
    const int64_t nt = 2 * n, C = bs->bert.cfg.C;
    bs_seq *seqs = calloc((size_t)nt, sizeof *seqs);
    if (!seqs) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    xrem_status s = XREM_OK;
    for (int64_t t = 0; !s && t < nt; t++) {
        const char *text = (t & 1) ? refs[t / 2] : cands[t / 2];
        if (!text)
            s = xrem_fail(XREM_ERR_ARG, "bertscore: %s %lld is NULL", (t & 1) ? "reference" : "candidate",
                          (long long)(t / 2));
        else
            s = xrem_bertscore_tokenize(bs, text, &seqs[t].ids, &seqs[t].len);
    }
    float *w = NULL;
    int64_t *woff = NULL;
    if (!s) s = bs_weights(bs, seqs, nt, &o, n, &w, &woff);
    /* the quirk's padded zeros: a text shorter than the longest of its side in its match batch */
    unsigned char *padded = s ? NULL : calloc((size_t)nt, 1);
    if (!s && !padded) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t b0 = 0; !s && o.match_batch && b0 < n; b0 += o.match_batch) {
        const int64_t b1 = b0 + o.match_batch < n ? b0 + o.match_batch : n;
        for (int side = 0; side < 2; side++) {
            int64_t mx = 0;
            for (int64_t i = b0; i < b1; i++)
                mx = seqs[2 * i + side].len > mx ? seqs[2 * i + side].len : mx;
            for (int64_t i = b0; i < b1; i++)
                padded[2 * i + side] = seqs[2 * i + side].len < mx;
        }
    }
    /* 2-3. chunks of pairs */
    bs_chunk c = {0};
    c.ucap = nt < 2 * 4096 ? nt : 2 * 4096;
    for (c.scap = 16; c.scap < 2 * (uint64_t)c.ucap; c.scap *= 2) {
    }
    if (!s) {
        c.useq = malloc((size_t)c.ucap * sizeof *c.useq);
        c.off = malloc((size_t)c.ucap * sizeof *c.off);
        c.slot = malloc(c.scap * sizeof *c.slot);
        c.pair_u = malloc((size_t)c.ucap * sizeof *c.pair_u);
        if (!c.useq || !c.off || !c.slot || !c.pair_u) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    for (int64_t p0 = 0; !s && p0 < n;) {
        c.nu = 0;
        memset(c.slot, 0xff, c.scap * sizeof *c.slot);
        int64_t p1 = p0, tokens = 0;
        while (p1 < n && 2 * (p1 - p0) + 2 <= c.ucap && (p1 == p0 || tokens < o.chunk_tokens)) {
            for (int side = 0; side < 2; side++) {
                const int64_t before = c.nu;
                c.pair_u[2 * (p1 - p0) + side] = bs_chunk_add(&c, seqs, 2 * p1 + side);
                if (c.nu > before) tokens += seqs[2 * p1 + side].len;
            }
            p1++;
        }
        s = bs_encode_chunk(bs, seqs, &c, o.enc_tokens);
        if (s) break;
        int failed = 0;
#pragma omp parallel
        {
            float *sim = malloc((size_t)bs->max_len * bs->max_len * sizeof *sim);
            if (!sim) {
#pragma omp atomic write
                failed = 1;
            }
#pragma omp for schedule(dynamic, 4)
            for (int64_t i = p0; i < p1; i++) {
                if (!sim) continue;
                const int64_t uc = c.pair_u[2 * (i - p0)], ur = c.pair_u[2 * (i - p0) + 1];
                const int64_t tc = 2 * i, tr = 2 * i + 1;
                bs_match(c.emb + c.off[uc] * C, seqs[tc].len, w + woff[tc], c.emb + c.off[ur] * C, seqs[tr].len,
                         w + woff[tr], C, padded[tc], padded[tr], sim, &P[i], &R[i], &F[i]);
            }
            free(sim);
        }
        if (failed) s = xrem_fail(XREM_ERR_NOMEM, "out of memory (similarity buffers)");
        p0 = p1;
    }
    bs_chunk_free(&c);
    for (int64_t t = 0; t < nt; t++)
        free(seqs[t].ids);
    free(seqs);
    free(w);
    free(woff);
    free(padded);
    return s;
}

void xrem_bertscore_rescale(const double b[3], int64_t n, double *P, double *R, double *F)
{
    double *x[3] = {P, R, F};
    for (int k = 0; k < 3; k++)
        for (int64_t i = 0; x[k] && i < n; i++)
            x[k][i] = (x[k][i] - b[k]) / (1 - b[k]);
}

int xrem_bertscore_known_baseline(const char *model, int layer, double b[3])
{
    /* bert_score 0.3.13 rescale_baseline/en/distilroberta-base.tsv: LAYER,P,R,F */
    static const float distilroberta[7][3] = {
        {0.42608285f, 0.4272089f, 0.42462298f}, {0.7367886f, 0.7370362f, 0.736573f},
        {0.79922664f, 0.799593f, 0.7991632f},   {0.8329021f, 0.8333321f, 0.83291864f},
        {0.8442f, 0.84462386f, 0.84425896f},    {0.84732f, 0.84759504f, 0.8473319f},
        {0.89334005f, 0.8935088f, 0.8933471f},
    };
    if (!model) return 0;
    const char *name = "distilroberta-base";
    size_t lm = strlen(model), ln = strlen(name);
    int match = !strcmp(model, name) || (lm > ln && model[lm - ln - 1] == '/' && !strcmp(model + lm - ln, name));
    if (!match || layer < 0 || layer > 6) return 0;
    for (int k = 0; k < 3; k++)
        b[k] = distilroberta[layer][k];
    return 1;
}

static uint64_t bs_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The means of P, R, F over the pairs where all three are finite. A text of special tokens only
 * ("[SEP]") has no weighted token: bert_score gives it P or R = 0/0 = NaN (and F = 0) for that pair
 * alone, so such a pair is left out instead of turning the whole baseline into NaN. */
static xrem_status bs_mean_finite(const double *P, int64_t npairs, double b[3])
{
    double sum[3] = {0, 0, 0};
    int64_t used = 0;
    for (int64_t i = 0; i < npairs; i++) {
        if (!isfinite(P[i]) || !isfinite(P[npairs + i]) || !isfinite(P[2 * npairs + i])) continue;
        for (int k = 0; k < 3; k++)
            sum[k] += P[k * npairs + i];
        used++;
    }
    if (used == 0)
        return xrem_fail(XREM_ERR_VALUE, "bertscore baseline: none of the %lld random pairs has a finite P and R "
                                        "(every text is empty or special tokens only)",
                         (long long)npairs);
    for (int k = 0; k < 3; k++)
        b[k] = sum[k] / (double)used;
    return XREM_OK;
}

xrem_status xrem_bertscore_baseline(xrem_bertscore *bs, const char *const *texts, int64_t n, int64_t npairs,
                                    uint64_t seed, const xrem_bertscore_opts *o_in, double b[3])
{
    if (!bs || !texts || n < 2 || npairs < 1)
        return xrem_fail(XREM_ERR_ARG, "bertscore baseline: need >= 2 texts and >= 1 pair");
    xrem_bertscore_opts o;
    if (o_in)
        o = *o_in;
    else
        xrem_bertscore_opts_default(&o);
    o.idf = 0;
    const char **c = malloc((size_t)npairs * sizeof *c), **r = malloc((size_t)npairs * sizeof *r);
    double *P = malloc((size_t)npairs * 3 * sizeof *P);
    if (!c || !r || !P) {
        free(c);
        free(r);
        free(P);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    uint64_t st = seed;
    for (int64_t k = 0; k < npairs; k++) { /* i uniform, j uniform over the others (rejection-free) */
        int64_t i = (int64_t)(bs_splitmix(&st) % (uint64_t)n);
        int64_t j = (int64_t)(bs_splitmix(&st) % (uint64_t)(n - 1));
        if (j >= i) j++;
        c[k] = texts[i];
        r[k] = texts[j];
    }
    xrem_status s = xrem_bertscore_score(bs, c, r, npairs, &o, P, P + npairs, P + 2 * npairs);
    if (!s) s = bs_mean_finite(P, npairs, b);
    free(c);
    free(r);
    free(P);
    return s;
}
