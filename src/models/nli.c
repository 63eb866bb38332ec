/* ifcc's BERTNLI (X-REM's redundancy filter): see nli.h for what a pair goes through. */
#include "models/nli.h"

#include <stdlib.h>
#include <string.h>

#include "text/pylower.h"
#include "text/wordpiece.h"

#define NLI_BATCH 32            /* pairs per forward pass */
#define NLI_BATCH_TOKENS 4096   /* padded tokens (B*T) per forward pass, beyond the first pair */

struct xrem_nli {
    xrem_backend *be;
    xrem_bert bert;
    xrem_tensor pool_w, pool_b; /* bert.pooler.dense [C, C], [C] */
    xrem_tensor lin_w, lin_b;   /* linear [3, C], [3] */
    xrem_arena arena;
    xrem_vocab *vocab;     /* NULL when the file has no tokenizer group */
    int32_t cls, sep, pad; /* special token ids */
    char *sha256;
};

/* ---------------------------------------------------------------------------------------------
 * Loading */

static xrem_status nli_load_vocab(xrem_nli *m, xrem_weights *w, const char *path)
{
    char **tok = NULL;
    int64_t n = 0;
    xrem_status s = xrem_weights_vocab(w, &tok, &n);
    if (!s && n != m->bert.cfg.vocab)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: the vocabulary has %lld tokens, the word embeddings %d rows", path,
                      (long long)n, m->bert.cfg.vocab);
    if (!s) s = xrem_vocab_from_strings((const char *const *)tok, n, &m->vocab);
    xrem_strings_free(tok, n);
    if (s) return s;
    static const char *const names[3] = {"[CLS]", "[SEP]", "[PAD]"};
    int32_t *ids[3] = {&m->cls, &m->sep, &m->pad};
    for (int i = 0; i < 3; i++)
        if ((*ids[i] = xrem_vocab_id(m->vocab, names[i])) < 0)
            return xrem_fail(XREM_ERR_FORMAT, "%s: the vocabulary lacks %s", path, names[i]);
    return XREM_OK;
}

static xrem_status nli_load_heads(xrem_nli *m, xrem_weights *w)
{
    const int64_t C = m->bert.cfg.C;
    xrem_status s = xrem_weights_load(w, m->be, "bert.pooler.dense.weight", 2, (int64_t[]){C, C}, &m->pool_w);
    if (!s) s = xrem_weights_load(w, m->be, "bert.pooler.dense.bias", 1, (int64_t[]){C}, &m->pool_b);
    if (!s) s = xrem_weights_load(w, m->be, "linear.weight", 2, (int64_t[]){XREM_NLI_LABELS, C}, &m->lin_w);
    if (!s) s = xrem_weights_load(w, m->be, "linear.bias", 1, (int64_t[]){XREM_NLI_LABELS}, &m->lin_b);
    return s;
}

xrem_status xrem_nli_load(const char *path, xrem_backend *be, xrem_nli **out)
{
    *out = NULL;
    xrem_weights *w = NULL;
    xrem_status s = xrem_weights_open(path, &w);
    if (s) return s;
    xrem_nli *m = calloc(1, sizeof *m);
    if (!m) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = xrem_weights_expect_arch(w, "bert_nli");
    if (!s) s = xrem_backend_check(be);
    if (!s) {
        m->be = be;
        s = xrem_bert_load(w, be, "bert.", &m->bert);
    }
    if (!s && m->bert.cfg.fusion_layer != m->bert.cfg.L)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: config fusion_layer %d: an NLI model has no cross-attention", path,
                      m->bert.cfg.fusion_layer);
    if (!s && m->bert.cfg.type_vocab < 2)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: %d token types; a sentence pair needs 2", path, m->bert.cfg.type_vocab);
    if (!s) s = nli_load_heads(m, w);
    if (!s && !(m->sha256 = strdup(xrem_weights_sha256(w)))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s && xrem_weights_has(w, "tokenizer/vocab")) s = nli_load_vocab(m, w, path);
    xrem_weights_close(w);
    if (s) {
        if (m) m->be = be;
        xrem_nli_free(m);
        return strstr(xrem_last_error(), path) ? s : xrem_fail_context(s, "loading %s", path);
    }
    *out = m;
    return XREM_OK;
}

void xrem_nli_free(xrem_nli *m)
{
    if (!m) return;
    xrem_bert_release(&m->bert, m->be);
    xrem_tensor *ts[] = {&m->pool_w, &m->pool_b, &m->lin_w, &m->lin_b};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        xrem_tensor_release(m->be, ts[i]);
    xrem_arena_release(&m->arena);
    xrem_vocab_free(m->vocab);
    free(m->sha256);
    free(m);
}

const xrem_bert *xrem_nli_bert(const xrem_nli *m)
{
    return &m->bert;
}

const char *xrem_nli_label_name(int label)
{
    static const char *const names[XREM_NLI_LABELS] = {"entailment", "neutral", "contradiction"};
    return label >= 0 && label < XREM_NLI_LABELS ? names[label] : "?";
}
const char *xrem_nli_sha256(const xrem_nli *m)
{
    return m->sha256;
}
const xrem_vocab *xrem_nli_vocab(const xrem_nli *m)
{
    return m->vocab;
}

size_t xrem_nli_params(const xrem_nli *m)
{
    const size_t C = m->bert.cfg.C;
    return xrem_bert_params(&m->bert) + C * C + C + XREM_NLI_LABELS * (C + 1);
}

/* ---------------------------------------------------------------------------------------------
 * Encoding */

static xrem_status nli_check_max_len(const xrem_nli *m, int max_len)
{
    const int P = m->bert.cfg.max_pos - m->bert.cfg.pos_offset;
    if (max_len < 1 || max_len > P)
        return xrem_fail(XREM_ERR_ARG, "NLI max_len %d outside 1..%d (the model's position table)", max_len, P);
    return XREM_OK;
}

/* Token ids of str.lower(text) (ifcc lowercases the whole text before tokenizing: final sigma is
 * decided over the whole text, whose context can span characters the tokenizer later drops, such as
 * a control character between two letters); *ids malloc'd. */
static xrem_status nli_tokenize(const xrem_nli *m, const char *text, int32_t **ids, int64_t *n)
{
    char *low = NULL;
    xrem_status s = xrem_pystr_lower(text, strlen(text), &low, NULL);
    if (!s) s = xrem_wordpiece_tokenize(m->vocab, low, ids, n);
    free(low);
    return s;
}

/* Token p of [CLS] a [SEP] b [SEP]. */
static int32_t nli_token_at(const xrem_nli *m, const int32_t *a, int64_t na, const int32_t *b, int64_t nb, int64_t p)
{
    if (p == 0) return m->cls;
    if (p <= na) return a[p - 1];
    p -= na + 2; /* index into b */
    return p >= 0 && p < nb ? b[p] : m->sep;
}

/* The first max_len tokens of [CLS] a [SEP] b [SEP] into ids (ifcc's tokens[:max_len]); *bound =
 * na + 2, the first type-1 position. Returns the length. */
static int nli_assemble(const xrem_nli *m, const int32_t *a, int64_t na, const int32_t *b, int64_t nb, int max_len,
                        int32_t *ids, int64_t *bound)
{
    const int64_t total = na + nb + 3, len = total < max_len ? total : max_len;
    for (int64_t p = 0; p < len; p++)
        ids[p] = nli_token_at(m, a, na, b, nb, p);
    *bound = na + 2;
    return (int)len;
}

/* Encode one pair: ids [max_len], *len, *bound. */
static xrem_status nli_encode_ids(const xrem_nli *m, const char *premise, const char *hypothesis, int max_len,
                                  int32_t *ids, int *len, int64_t *bound)
{
    int32_t *a = NULL, *b = NULL;
    int64_t na = 0, nb = 0;
    xrem_status s = nli_tokenize(m, premise, &a, &na);
    if (!s) s = nli_tokenize(m, hypothesis, &b, &nb);
    if (!s) *len = nli_assemble(m, a, na, b, nb, max_len, ids, bound);
    free(a);
    free(b);
    return s;
}

static xrem_status nli_check_texts(const xrem_nli *m, const char *premise, const char *hypothesis)
{
    if (!m->vocab) return xrem_fail(XREM_ERR_ARG, "this NLI weights file has no vocabulary (convert it with --vocab)");
    if (!premise || !hypothesis) return xrem_fail(XREM_ERR_ARG, "NLI: a premise or hypothesis is NULL");
    return XREM_OK;
}

xrem_status xrem_nli_encode(const xrem_nli *m, const char *premise, const char *hypothesis, int max_len, int32_t *ids,
                            int32_t *types, int *len)
{
    xrem_status s = nli_check_texts(m, premise, hypothesis);
    if (!s) s = nli_check_max_len(m, max_len);
    if (!s && (!ids || !types || !len)) s = xrem_fail(XREM_ERR_ARG, "xrem_nli_encode: NULL output");
    int64_t bound = 0;
    if (!s) s = nli_encode_ids(m, premise, hypothesis, max_len, ids, len, &bound);
    if (s) return s;
    for (int p = 0; p < *len; p++)
        types[p] = p < bound ? 0 : 1;
    return XREM_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The network */

/* Make the arena at least `bytes`; grows only, so steady-state calls allocate nothing. */
static xrem_status nli_reserve(xrem_nli *m, size_t bytes)
{
    xrem_arena_reset(&m->arena);
    if (bytes <= m->arena.cap) return XREM_OK;
    xrem_arena_release(&m->arena);
    return xrem_arena_init(&m->arena, m->be, bytes);
}

static size_t nli_small_bytes(int64_t rows, int64_t cols)
{
    return (size_t)(rows * cols) * sizeof(float) + 64;
}

static xrem_status nli_check_batch(const xrem_nli *m, const int32_t *ids, const int32_t *types, int B, int T)
{
    if (B <= 0 || T <= 0 || !ids || !types) return xrem_fail(XREM_ERR_ARG, "NLI: no input (B %d, T %d)", B, T);
    xrem_status s = xrem_bert_check_input(&m->bert, ids, B, T);
    for (int64_t i = 0; !s && i < (int64_t)B * T; i++)
        if (types[i] < 0 || types[i] >= m->bert.cfg.type_vocab)
            s = xrem_fail(XREM_ERR_VALUE, "token type %d (pair %lld, position %lld) outside 0..%d", types[i],
                          (long long)(i / T), (long long)(i % T), m->bert.cfg.type_vocab - 1);
    return s;
}

/* logits [B,3] <- linear(tanh(pooler(x[:, 0]))) */
static xrem_tensor nli_head(xrem_nli *m, const xrem_tensor *x)
{
    const int64_t B = x->ne[0], T = x->ne[1], C = x->ne[2];
    xrem_backend *be = m->be;
    xrem_tensor cls = xrem_arena_f32_2d(&m->arena, B, C);
    be->copy2d(be, cls.data, C, x->data, T * C, B, C);
    xrem_tensor pooled = xrem_arena_f32_2d(&m->arena, B, C);
    be->linear(be, &pooled, &cls, &m->pool_w, &m->pool_b);
    be->act(be, &pooled, XREM_ACT_TANH);
    xrem_tensor o = xrem_arena_f32_2d(&m->arena, B, XREM_NLI_LABELS);
    be->linear(be, &o, &pooled, &m->lin_w, &m->lin_b);
    return o;
}

xrem_status xrem_nli_forward(xrem_nli *m, const int32_t *ids, const int32_t *types, const int32_t *mask, int B, int T,
                             float *logits)
{
    xrem_status s = nli_check_batch(m, ids, types, B, T);
    if (s) return s;
    const int64_t BT = (int64_t)B * T, C = m->bert.cfg.C;
    float *fm = mask ? malloc(sizeof(float) * (size_t)BT) : NULL;
    if (mask && !fm) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; fm && i < BT; i++)
        fm[i] = mask[i] != 0;
    s = nli_reserve(m, xrem_bert_arena_bytes(&m->bert, B, T, 0, 0) + 2 * nli_small_bytes(B, C) +
                           nli_small_bytes(B, XREM_NLI_LABELS));
    if (!s) {
        xrem_tensor x = xrem_bert_embed(&m->bert, m->be, &m->arena, ids, types, B, T);
        xrem_bert_layers(&m->bert, m->be, &m->arena, &x, fm, 0, m->bert.cfg.L, NULL, NULL, NULL);
        xrem_tensor o = nli_head(m, &x);
        m->be->download(m->be, logits, o.data, sizeof(float) * (size_t)B * XREM_NLI_LABELS);
        s = m->be->sync(m->be);
    }
    free(fm);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Classifying many pairs: encode all, sort by length, run batches of similar length. */

typedef struct {
    int32_t *ids;   /* every pair's tokens, back to back */
    int64_t *off;   /* [n] */
    int64_t *bound; /* [n] first type-1 position */
    int *len;       /* [n] */
    int *order;     /* [n] pairs by increasing length */
} nli_pairs;

static void nli_pairs_free(nli_pairs *p)
{
    free(p->ids);
    free(p->off);
    free(p->bound);
    free(p->len);
    free(p->order);
}

/* Sort key: length in the high half, pair index in the low half (ties keep the callers' order). */
static int nli_cmp_key(const void *x, const void *y)
{
    const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* p->order = pair indices by increasing length. */
static xrem_status nli_sort(nli_pairs *p, int n)
{
    int64_t *key = malloc(sizeof(int64_t) * (size_t)n);
    if (!key) return xrem_fail(XREM_ERR_NOMEM, "out of memory for %d NLI pairs", n);
    for (int i = 0; i < n; i++)
        key[i] = (int64_t)p->len[i] << 32 | i;
    qsort(key, (size_t)n, sizeof *key, nli_cmp_key);
    for (int i = 0; i < n; i++)
        p->order[i] = (int)(key[i] & 0xFFFFFFFF);
    free(key);
    return XREM_OK;
}

/* Append len ids to the pool (grown by doubling). */
static xrem_status nli_pool_append(nli_pairs *p, size_t *used, size_t *cap, const int32_t *ids, int len)
{
    if (*used + (size_t)len > *cap) {
        size_t c = 2 * *cap + (size_t)len;
        int32_t *g = realloc(p->ids, sizeof(int32_t) * c);
        if (!g) return xrem_fail(XREM_ERR_NOMEM, "out of memory for the NLI pairs' tokens");
        p->ids = g;
        *cap = c;
    }
    memcpy(p->ids + *used, ids, sizeof(int32_t) * (size_t)len);
    *used += (size_t)len;
    return XREM_OK;
}

static xrem_status nli_encode_all(const xrem_nli *m, const char *const *prem, const char *const *hyp, int n,
                                  int max_len, nli_pairs *p)
{
    int32_t *tmp = malloc(sizeof(int32_t) * (size_t)max_len);
    size_t cap = 0, used = 0;
    p->off = malloc(sizeof(int64_t) * (size_t)n);
    p->bound = malloc(sizeof(int64_t) * (size_t)n);
    p->len = malloc(sizeof(int) * (size_t)n);
    p->order = malloc(sizeof(int) * (size_t)n);
    xrem_status s = tmp && p->off && p->bound && p->len && p->order
                        ? XREM_OK
                        : xrem_fail(XREM_ERR_NOMEM, "out of memory for %d NLI pairs", n);
    for (int i = 0; !s && i < n; i++) {
        p->off[i] = (int64_t)used;
        s = nli_check_texts(m, prem[i], hyp[i]);
        if (!s) s = nli_encode_ids(m, prem[i], hyp[i], max_len, tmp, &p->len[i], &p->bound[i]);
        if (!s) s = nli_pool_append(p, &used, &cap, tmp, p->len[i]);
        if (s) xrem_fail_context(s, "NLI pair %d", i);
    }
    free(tmp);
    return s ? s : nli_sort(p, n);
}

/* Pairs order[k0 .. k0+B) padded to T (the longest of them: the last) into ids/types/mask [B,T]. */
static void nli_fill(const xrem_nli *m, const nli_pairs *p, int k0, int B, int T, int32_t *ids, int32_t *types,
                     int32_t *mask)
{
    for (int b = 0; b < B; b++) {
        const int i = p->order[k0 + b];
        for (int t = 0; t < T; t++) {
            const int real = t < p->len[i];
            ids[b * T + t] = real ? p->ids[p->off[i] + t] : m->pad;
            types[b * T + t] = t < p->bound[i] ? 0 : 1; /* padding: 1, as ifcc builds it */
            mask[b * T + t] = real;
        }
    }
}

static int nli_argmax(const float *x)
{
    int k = 0;
    for (int j = 1; j < XREM_NLI_LABELS; j++)
        if (x[j] > x[k]) k = j;
    return k;
}

/* Batches over the sorted pairs; results scattered back to the callers' order. */
static xrem_status nli_run(xrem_nli *m, const nli_pairs *p, int n, float *logits, int *labels)
{
    const int Tmax = n ? p->len[p->order[n - 1]] : 0;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)NLI_BATCH * Tmax * 3);
    float *out = malloc(sizeof(float) * NLI_BATCH * XREM_NLI_LABELS);
    xrem_status s = ids && out ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int k0 = 0, B; !s && k0 < n; k0 += B) {
        int T = p->len[p->order[k0]];
        for (B = 1; k0 + B < n && B < NLI_BATCH; B++) {
            const int t = p->len[p->order[k0 + B]];
            if ((int64_t)(B + 1) * t > NLI_BATCH_TOKENS) break;
            T = t;
        }
        int32_t *types = ids + (size_t)B * T, *mask = types + (size_t)B * T;
        nli_fill(m, p, k0, B, T, ids, types, mask);
        s = xrem_nli_forward(m, ids, types, mask, B, T, out);
        for (int b = 0; !s && b < B; b++) {
            const int i = p->order[k0 + b];
            if (logits) memcpy(logits + (size_t)i * XREM_NLI_LABELS, out + b * XREM_NLI_LABELS, sizeof(float) * 3);
            if (labels) labels[i] = nli_argmax(out + b * XREM_NLI_LABELS);
        }
    }
    free(ids);
    free(out);
    return s;
}

xrem_status xrem_nli_classify(xrem_nli *m, const char *const *premise, const char *const *hypothesis, int n,
                              int max_len, float *logits, int *labels)
{
    if (n < 0) return xrem_fail(XREM_ERR_ARG, "NLI: %d pairs", n);
    if (n == 0) return XREM_OK;
    if (!premise || !hypothesis) return xrem_fail(XREM_ERR_ARG, "NLI: premise or hypothesis array is NULL");
    if (!m->vocab) return nli_check_texts(m, "", "");
    if (max_len == 0) max_len = XREM_NLI_MAX_LEN;
    xrem_status s = nli_check_max_len(m, max_len);
    if (s) return s;
    nli_pairs p = {0};
    s = nli_encode_all(m, premise, hypothesis, n, max_len, &p);
    if (!s) s = nli_run(m, &p, n, logits, labels);
    nli_pairs_free(&p);
    return s;
}
