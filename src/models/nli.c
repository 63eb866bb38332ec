/* ifcc's BERTNLI (X-REM's redundancy filter): see nli.h for what a pair goes through. */
#include "models/nli.h"

#include <stdlib.h>
#include <string.h>

#include "models/bert_cls.h"
#include "text/pylower.h"
#include "text/wordpiece.h"

#define NLI_BATCH 32          /* pairs per forward pass */
#define NLI_BATCH_TOKENS 4096 /* padded tokens (B*T) per forward pass, beyond the first pair */

struct xrem_nli {
    xrem_bert_cls enc;          /* encoder, vocabulary, arena */
    xrem_tensor pool_w, pool_b; /* bert.pooler.dense [C, C], [C] */
    xrem_tensor lin_w, lin_b;   /* linear [3, C], [3] */
};

/* ---------------------------------------------------------------------------------------------
 * Loading */

/* After the encoder: the pair checks, then the pooler and the 3-way linear. */
static xrem_status nli_load_heads(void *user, xrem_weights *w)
{
    xrem_nli *m = user;
    xrem_backend *be = m->enc.be;
    const int64_t C = m->enc.bert.cfg.C;
    if (m->enc.bert.cfg.type_vocab < 2)
        return xrem_fail(XREM_ERR_FORMAT, "%s: %d token types; a sentence pair needs 2", xrem_weights_path(w),
                         m->enc.bert.cfg.type_vocab);
    xrem_status s = xrem_weights_load(w, be, "bert.pooler.dense.weight", 2, (int64_t[]){C, C}, &m->pool_w);
    if (!s) s = xrem_weights_load(w, be, "bert.pooler.dense.bias", 1, (int64_t[]){C}, &m->pool_b);
    if (!s) s = xrem_weights_load(w, be, "linear.weight", 2, (int64_t[]){XREM_NLI_LABELS, C}, &m->lin_w);
    if (!s) s = xrem_weights_load(w, be, "linear.bias", 1, (int64_t[]){XREM_NLI_LABELS}, &m->lin_b);
    return s;
}

xrem_status xrem_nli_load(const char *path, xrem_backend *be, xrem_nli **out)
{
    *out = NULL;
    xrem_nli *m = calloc(1, sizeof *m);
    xrem_status s = xrem_bert_cls_load(m ? &m->enc : NULL, path, be, "bert_nli", "an NLI model", nli_load_heads, m);
    if (s) {
        xrem_nli_free(m);
        return s;
    }
    *out = m;
    return XREM_OK;
}

void xrem_nli_free(xrem_nli *m)
{
    if (!m) return;
    xrem_tensor *ts[] = {&m->pool_w, &m->pool_b, &m->lin_w, &m->lin_b};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        xrem_tensor_release(m->enc.be, ts[i]);
    xrem_bert_cls_release(&m->enc);
    free(m);
}

const xrem_bert *xrem_nli_bert(const xrem_nli *m)
{
    return &m->enc.bert;
}

const char *xrem_nli_label_name(int label)
{
    static const char *const names[XREM_NLI_LABELS] = {"entailment", "neutral", "contradiction"};
    return label >= 0 && label < XREM_NLI_LABELS ? names[label] : "?";
}
const char *xrem_nli_sha256(const xrem_nli *m)
{
    return m->enc.sha256;
}
const xrem_vocab *xrem_nli_vocab(const xrem_nli *m)
{
    return m->enc.vocab;
}

size_t xrem_nli_params(const xrem_nli *m)
{
    const size_t C = m->enc.bert.cfg.C;
    return xrem_bert_params(&m->enc.bert) + C * C + C + XREM_NLI_LABELS * (C + 1);
}

/* ---------------------------------------------------------------------------------------------
 * Encoding */

static xrem_status nli_check_max_len(const xrem_nli *m, int max_len)
{
    const int P = m->enc.bert.cfg.max_pos - m->enc.bert.cfg.pos_offset;
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
    if (!s) s = xrem_wordpiece_tokenize(m->enc.vocab, low, ids, n);
    free(low);
    return s;
}

/* Token p of [CLS] a [SEP] b [SEP]. */
static int32_t nli_token_at(const xrem_nli *m, const int32_t *a, int64_t na, const int32_t *b, int64_t nb, int64_t p)
{
    if (p == 0) return m->enc.cls;
    if (p <= na) return a[p - 1];
    p -= na + 2; /* index into b */
    return p >= 0 && p < nb ? b[p] : m->enc.sep;
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
    if (!m->enc.vocab)
        return xrem_fail(XREM_ERR_ARG, "this NLI weights file has no vocabulary (convert it with --vocab)");
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

static xrem_status nli_check_batch(const xrem_nli *m, const int32_t *ids, const int32_t *types, int B, int T)
{
    if (B <= 0 || T <= 0 || !ids || !types) return xrem_fail(XREM_ERR_ARG, "NLI: no input (B %d, T %d)", B, T);
    xrem_status s = xrem_bert_check_input(&m->enc.bert, ids, B, T);
    for (int64_t i = 0; !s && i < (int64_t)B * T; i++)
        if (types[i] < 0 || types[i] >= m->enc.bert.cfg.type_vocab)
            s = xrem_fail(XREM_ERR_VALUE, "token type %d (pair %lld, position %lld) outside 0..%d", types[i],
                          (long long)(i / T), (long long)(i % T), m->enc.bert.cfg.type_vocab - 1);
    return s;
}

xrem_status xrem_nli_forward(xrem_nli *m, const int32_t *ids, const int32_t *types, const int32_t *mask, int B, int T,
                             float *logits)
{
    xrem_status s = nli_check_batch(m, ids, types, B, T);
    const int64_t C = m->enc.bert.cfg.C;
    xrem_tensor cls;
    if (!s)
        s = xrem_bert_cls_forward(&m->enc, ids, types, mask, B, T,
                                  xrem_bert_cls_small_bytes(B, C) + xrem_bert_cls_small_bytes(B, XREM_NLI_LABELS),
                                  &cls);
    if (s) return s;
    /* logits [B,3] <- linear(tanh(pooler(x[:, 0]))) */
    xrem_backend *be = m->enc.be;
    xrem_tensor pooled = xrem_arena_f32_2d(&m->enc.arena, B, C);
    be->linear(be, &pooled, &cls, &m->pool_w, &m->pool_b);
    be->act(be, &pooled, XREM_ACT_TANH);
    xrem_tensor o = xrem_arena_f32_2d(&m->enc.arena, B, XREM_NLI_LABELS);
    be->linear(be, &o, &pooled, &m->lin_w, &m->lin_b);
    be->download(be, logits, o.data, sizeof(float) * (size_t)B * XREM_NLI_LABELS);
    return be->sync(be);
}

/* ---------------------------------------------------------------------------------------------
 * Classifying many pairs: encode all, sort by length, run batches of similar length. */

/* Every pair's tokens (p) and first type-1 position (bound [n]). */
static xrem_status nli_encode_all(const xrem_nli *m, const char *const *prem, const char *const *hyp, int n,
                                  int max_len, xrem_bert_seqs *p, int64_t *bound)
{
    int32_t *tmp = malloc(sizeof(int32_t) * (size_t)max_len);
    xrem_status s = tmp ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory for %d NLI pairs", n);
    for (int i = 0; !s && i < n; i++) {
        int len = 0;
        s = nli_check_texts(m, prem[i], hyp[i]);
        if (!s) s = nli_encode_ids(m, prem[i], hyp[i], max_len, tmp, &len, &bound[i]);
        if (!s) s = xrem_bert_seqs_add(p, i, tmp, len);
        if (s) xrem_fail_context(s, "NLI pair %d", i);
    }
    free(tmp);
    return s ? s : xrem_bert_seqs_sort(p);
}

static int nli_argmax(const float *x)
{
    int k = 0;
    for (int j = 1; j < XREM_NLI_LABELS; j++)
        if (x[j] > x[k]) k = j;
    return k;
}

typedef struct {
    xrem_nli *m;
    const int64_t *bound; /* [n] first type-1 position */
    float *out;           /* [NLI_BATCH, 3] */
    float *logits;        /* [n, 3] or NULL */
    int *labels;          /* [n] or NULL */
} nli_batch;

/* One batch of the sorted pairs; results scattered back to the callers' order. */
static xrem_status nli_run_batch(void *user, const int *idx, int B, int T, const int32_t *ids, int32_t *types,
                                 const int32_t *mask)
{
    nli_batch *c = user;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            types[b * T + t] = t < c->bound[idx[b]] ? 0 : 1; /* padding: 1, as ifcc builds it */
    xrem_status s = xrem_nli_forward(c->m, ids, types, mask, B, T, c->out);
    for (int b = 0; !s && b < B; b++) {
        const int i = idx[b];
        if (c->logits) memcpy(c->logits + (size_t)i * XREM_NLI_LABELS, c->out + b * XREM_NLI_LABELS, sizeof(float) * 3);
        if (c->labels) c->labels[i] = nli_argmax(c->out + b * XREM_NLI_LABELS);
    }
    return s;
}

xrem_status xrem_nli_classify(xrem_nli *m, const char *const *premise, const char *const *hypothesis, int n,
                              int max_len, float *logits, int *labels)
{
    if (n < 0) return xrem_fail(XREM_ERR_ARG, "NLI: %d pairs", n);
    if (n == 0) return XREM_OK;
    if (!premise || !hypothesis) return xrem_fail(XREM_ERR_ARG, "NLI: premise or hypothesis array is NULL");
    if (!m->enc.vocab) return nli_check_texts(m, "", "");
    if (max_len == 0) max_len = XREM_NLI_MAX_LEN;
    xrem_status s = nli_check_max_len(m, max_len);
    if (s) return s;
    xrem_bert_seqs p;
    nli_batch c = {m, NULL, NULL, logits, labels};
    int64_t *bound = malloc(sizeof(int64_t) * (size_t)n);
    c.out = malloc(sizeof(float) * NLI_BATCH * XREM_NLI_LABELS);
    c.bound = bound;
    s = xrem_bert_seqs_init(&p, n, "NLI pairs");
    if (!s && !(bound && c.out)) s = xrem_fail(XREM_ERR_NOMEM, "out of memory for %d NLI pairs", n);
    if (!s) s = nli_encode_all(m, premise, hypothesis, n, max_len, &p, bound);
    if (!s) s = xrem_bert_seqs_run(&p, m->enc.pad, NLI_BATCH, NLI_BATCH_TOKENS, nli_run_batch, &c);
    xrem_bert_seqs_free(&p);
    free(bound);
    free(c.out);
    return s;
}
