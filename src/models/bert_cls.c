/* The BERT-family classifiers' shared machinery: see bert_cls.h. */
#include "models/bert_cls.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Loading */

static xrem_status bc_load_vocab(xrem_bert_cls *enc, xrem_weights *w, const char *path)
{
    static const char *const names[4] = {"[CLS]", "[SEP]", "[PAD]", "[UNK]"};
    char **tok = NULL;
    int64_t n = 0;
    xrem_status s = xrem_weights_vocab_checked(
        w, enc->bert.cfg.vocab, 1, (const char *const[]){names[0], names[1], names[2], names[3], NULL}, &tok, &n);
    if (!s) s = xrem_vocab_from_strings((const char *const *)tok, n, &enc->vocab);
    xrem_strings_free(tok, n);
    if (s) return s;
    int32_t *ids[3] = {&enc->cls, &enc->sep, &enc->pad};
    for (int i = 0; i < 3; i++)
        if ((*ids[i] = xrem_vocab_id(enc->vocab, names[i])) < 0)
            return xrem_fail(XREM_ERR_FORMAT, "%s: the vocabulary lacks %s", path, names[i]);
    return XREM_OK;
}

xrem_status xrem_bert_cls_load(xrem_bert_cls *enc, const char *path, xrem_backend *be, const char *arch,
                               const char *who, xrem_bert_cls_heads_fn heads, void *user)
{
    if (enc) enc->be = be;
    xrem_weights *w = NULL;
    xrem_status s = xrem_weights_open(path, &w);
    if (s) return s;
    if (!enc) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = xrem_weights_expect_arch(w, arch);
    if (!s) s = xrem_backend_check(be);
    if (!s) s = xrem_bert_load(w, be, "bert.", &enc->bert);
    if (!s && enc->bert.cfg.fusion_layer != enc->bert.cfg.L)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: config fusion_layer %d: %s has no cross-attention", path,
                      enc->bert.cfg.fusion_layer, who);
    if (!s) s = heads(user, w);
    if (!s && !(enc->sha256 = strdup(xrem_weights_sha256(w)))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s && xrem_weights_has(w, "tokenizer/vocab")) s = bc_load_vocab(enc, w, path);
    xrem_weights_close(w);
    if (s) return strstr(xrem_last_error(), path) ? s : xrem_fail_context(s, "loading %s", path);
    return XREM_OK;
}

void xrem_bert_cls_release(xrem_bert_cls *enc)
{
    if (!enc) return;
    xrem_bert_release(&enc->bert, enc->be);
    xrem_arena_release(&enc->arena);
    free(enc->fmask);
    xrem_vocab_free(enc->vocab);
    free(enc->sha256);
    enc->fmask = NULL;
    enc->vocab = NULL;
    enc->sha256 = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * The encoder */

/* Make the arena at least `bytes`; grows only, so steady-state calls allocate nothing. */
static xrem_status bc_reserve(xrem_bert_cls *enc, size_t bytes)
{
    xrem_arena_reset(&enc->arena);
    if (bytes <= enc->arena.cap) return XREM_OK;
    xrem_arena_release(&enc->arena);
    return xrem_arena_init(&enc->arena, enc->be, bytes);
}

size_t xrem_bert_cls_small_bytes(int64_t rows, int64_t cols)
{
    return (size_t)(rows * cols) * sizeof(float) + 64;
}

/* The packed layout of a padded batch: sequence b keeps its tokens up to its last unmasked one
 * (all T when none is unmasked: the padded computation attends uniformly over them then), with
 * enc->fmask over the kept tokens when one of them is masked. */
typedef struct {
    int64_t *ofs;         /* [B+1] */
    int32_t *ids, *types; /* [N] */
    int32_t *cls;         /* [B] each sequence's first row */
    int holes;
} bc_pack;

static void bc_pack_free(bc_pack *p)
{
    free(p->ofs);
    free(p->ids);
    free(p->types);
    free(p->cls);
}

static xrem_status bc_pack_make(xrem_bert_cls *enc, const int32_t *ids, const int32_t *types, const int32_t *mask,
                                int B, int T, bc_pack *p)
{
    memset(p, 0, sizeof *p);
    if (!(p->ofs = malloc(sizeof(int64_t) * (size_t)(B + 1))) || !(p->cls = malloc(sizeof(int32_t) * (size_t)B)))
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    p->ofs[0] = 0;
    for (int b = 0; b < B; b++) {
        const int32_t *mb = mask ? mask + (int64_t)b * T : NULL;
        int64_t n = T;
        while (mb && n > 0 && !mb[n - 1])
            n--;
        if (!n) n = T;
        for (int64_t t = 0; mb && t < n; t++)
            p->holes |= !mb[t];
        p->cls[b] = (int32_t)p->ofs[b];
        p->ofs[b + 1] = p->ofs[b] + n;
    }
    const int64_t N = p->ofs[B];
    p->ids = malloc(sizeof(int32_t) * (size_t)(N ? N : 1));
    if (types) p->types = malloc(sizeof(int32_t) * (size_t)(N ? N : 1));
    if (!p->ids || (types && !p->types)) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (p->holes && (size_t)N > enc->fmask_n) {
        float *f = realloc(enc->fmask, sizeof(float) * (size_t)N);
        if (!f) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
        enc->fmask = f;
        enc->fmask_n = (size_t)N;
    }
    for (int b = 0; b < B; b++)
        for (int64_t t = 0; t < p->ofs[b + 1] - p->ofs[b]; t++) {
            const int64_t i = (int64_t)b * T + t, o = p->ofs[b] + t;
            p->ids[o] = ids[i];
            if (types) p->types[o] = types[i];
            if (p->holes) enc->fmask[o] = mask[i] != 0;
        }
    return XREM_OK;
}

/* Without padding: the kept tokens of all B sequences at once, attention per sequence. */
xrem_status xrem_bert_cls_forward(xrem_bert_cls *enc, const int32_t *ids, const int32_t *types, const int32_t *mask,
                                  int B, int T, size_t head_bytes, xrem_tensor *h)
{
    const int64_t C = enc->bert.cfg.C;
    bc_pack p;
    xrem_status s = bc_pack_make(enc, ids, types, mask, B, T, &p);
    if (!s)
        s = bc_reserve(enc, xrem_bert_packed_arena_bytes(&enc->bert, p.ofs[B], 0, 0) + xrem_bert_cls_small_bytes(B, C) +
                                head_bytes);
    xrem_backend *be = enc->be;
    xrem_tensor x;
    if (!s) s = xrem_bert_embed_packed(&enc->bert, be, &enc->arena, p.ids, p.types, p.ofs, B, &x);
    if (!s) {
        const xrem_seqs sq = {B, p.ofs, B, p.ofs, NULL, p.holes ? enc->fmask : NULL};
        xrem_bert_layers_packed(&enc->bert, be, &enc->arena, &x, &sq, 0, enc->bert.cfg.L, NULL, NULL, 0, NULL, NULL);
        *h = xrem_arena_f32_2d(&enc->arena, B, C); /* final_hidden[:, 0] */
        be->embed(be, h, &x, p.cls, B);
    }
    bc_pack_free(&p);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Many sequences: kept back to back, sorted by length, run in batches of similar length. */

xrem_status xrem_bert_seqs_init(xrem_bert_seqs *p, int n, const char *what)
{
    memset(p, 0, sizeof *p);
    p->n = n;
    p->what = what;
    p->off = malloc(sizeof(int64_t) * (size_t)n);
    p->len = malloc(sizeof(int) * (size_t)n);
    p->order = malloc(sizeof(int) * (size_t)n);
    return p->off && p->len && p->order ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory for %d %s", n, what);
}

void xrem_bert_seqs_free(xrem_bert_seqs *p)
{
    free(p->ids);
    free(p->off);
    free(p->len);
    free(p->order);
    memset(p, 0, sizeof *p);
}

/* Append to the pool (grown by doubling). */
xrem_status xrem_bert_seqs_add(xrem_bert_seqs *p, int i, const int32_t *ids, int len)
{
    if (p->used + (size_t)len > p->cap) {
        size_t c = 2 * p->cap + (size_t)len;
        int32_t *g = realloc(p->ids, sizeof(int32_t) * c);
        if (!g) return xrem_fail(XREM_ERR_NOMEM, "out of memory for the %s' token ids", p->what);
        p->ids = g;
        p->cap = c;
    }
    memcpy(p->ids + p->used, ids, sizeof(int32_t) * (size_t)len);
    p->off[i] = (int64_t)p->used;
    p->len[i] = len;
    p->used += (size_t)len;
    return XREM_OK;
}

/* Sort key: length in the high half, index in the low half (ties keep the callers' order). */
static int bc_cmp_key(const void *x, const void *y)
{
    const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

xrem_status xrem_bert_seqs_sort(xrem_bert_seqs *p)
{
    const int n = p->n;
    int64_t *key = malloc(sizeof(int64_t) * (size_t)n);
    if (!key) return xrem_fail(XREM_ERR_NOMEM, "out of memory for %d %s", n, p->what);
    for (int i = 0; i < n; i++)
        key[i] = (int64_t)p->len[i] << 32 | i;
    qsort(key, (size_t)n, sizeof *key, bc_cmp_key);
    for (int i = 0; i < n; i++)
        p->order[i] = (int)(key[i] & 0xFFFFFFFF);
    free(key);
    return XREM_OK;
}

/* Sequences order[k0 .. k0+B) padded to T (the longest of them: the last) into ids/mask [B,T]. */
static void bc_fill(const xrem_bert_seqs *p, int32_t pad, int k0, int B, int T, int32_t *ids, int32_t *mask)
{
    for (int b = 0; b < B; b++) {
        const int i = p->order[k0 + b];
        for (int t = 0; t < T; t++) {
            const int real = t < p->len[i];
            ids[b * T + t] = real ? p->ids[p->off[i] + t] : pad;
            mask[b * T + t] = real;
        }
    }
}

xrem_status xrem_bert_seqs_run(const xrem_bert_seqs *p, int32_t pad, int max_B, int max_tokens, xrem_bert_batch_fn fn,
                               void *user)
{
    const int n = p->n, Tmax = p->len[p->order[n - 1]];
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)max_B * (size_t)Tmax * 3);
    xrem_status s = ids ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int k0 = 0, B; !s && k0 < n; k0 += B) {
        int T = p->len[p->order[k0]];
        int64_t real = T;
        for (B = 1; k0 + B < n && B < max_B; B++) {
            const int t = p->len[p->order[k0 + B]];
            /* padded tokens cost as much as real ones: a longer sequence that would make more than a
             * fifth of the batch padding starts the next batch (few sequences of mixed lengths, e.g.
             * stage 3's pairs of one step, would otherwise run mostly on padding) */
            if ((int64_t)(B + 1) * t > max_tokens || (int64_t)(B + 1) * t * 4 > (real + t) * 5) break;
            T = t;
            real += t;
        }
        int32_t *types = ids + (size_t)B * T, *mask = types + (size_t)B * T;
        bc_fill(p, pad, k0, B, T, ids, mask);
        s = fn(user, p->order + k0, B, T, ids, types, mask);
    }
    free(ids);
    return s;
}
