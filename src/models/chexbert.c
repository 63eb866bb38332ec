/* CheXbert report labeler: see chexbert.h for what a report goes through. */
#include "models/chexbert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/bert_cls.h"
#include "text/pylower.h"
#include "text/unicode_tables.h"

#define CHX_BATCH 32          /* reports per forward pass */
#define CHX_BATCH_TOKENS 4096 /* padded tokens (B*T) per forward pass, beyond the first report */

struct xrem_chexbert {
    xrem_bert_cls enc;          /* encoder, vocabulary, arena */
    xrem_tensor head_w, head_b; /* the 14 linear_heads stacked: [54, C], [54] */
    int max_len;                /* min(512, position table) */
};

/* ---------------------------------------------------------------------------------------------
 * Step 1: CheXbert's cleaning. Python's str.isspace() / re's \s set, recognised on the UTF-8
 * bytes (a lead byte starts a match, so valid UTF-8 is never misread; other bytes pass through). */

/* Bytes of the whitespace character starting at s[0..n), or 0 when none starts there. */
static size_t chx_space_len(const unsigned char *s, size_t n)
{
    const unsigned c = s[0];
    if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20)) return 1;
    if (c == 0xC2 && n >= 2 && (s[1] == 0x85 || s[1] == 0xA0)) return 2;
    if (n < 3) return 0;
    if (c == 0xE1 && s[1] == 0x9A && s[2] == 0x80) return 3; /* U+1680 */
    if (c == 0xE2 && s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8A) || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF))
        return 3;                                            /* U+2000..200A, 2028/9, 202F */
    if (c == 0xE2 && s[1] == 0x81 && s[2] == 0x9F) return 3; /* U+205F */
    if (c == 0xE3 && s[1] == 0x80 && s[2] == 0x80) return 3; /* U+3000 */
    return 0;
}

xrem_status xrem_chexbert_clean(const char *text, char **out)
{
    *out = NULL;
    if (!text) return xrem_fail(XREM_ERR_ARG, "CheXbert: text is NULL");
    const unsigned char *s = (const unsigned char *)text;
    const size_t n = strlen(text);
    char *o = malloc(n + 1);
    if (!o) return xrem_fail(XREM_ERR_NOMEM, "out of memory cleaning a text of %zu bytes", n);
    size_t k = 0;
    int pending = 0; /* a whitespace run seen after some text */
    for (size_t i = 0; i < n;) {
        size_t w = chx_space_len(s + i, n - i);
        if (w) {
            pending = k > 0;
            i += w;
            continue;
        }
        if (pending) o[k++] = ' ';
        pending = 0;
        o[k++] = (char)s[i++];
    }
    o[k] = 0;
    *out = o;
    return XREM_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Step 2a: transformers' tokenize() lowercasing: one character at a time (chr(c).lower(), so no
 * Final_Sigma context, unlike nli.c's whole-text str.lower()), special-token strings kept. Bytes
 * that are not UTF-8 pass through unchanged (the tokenizer drops them). */

static const char *const chx_specials[5] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};

static size_t chx_special_at(const char *s)
{
    for (int k = 0; k < 5; k++) {
        size_t l = strlen(chx_specials[k]);
        if (!strncmp(s, chx_specials[k], l)) return l;
    }
    return 0;
}

static xrem_status chx_lower(const char *s, char **out)
{
    const size_t n = strlen(s), per = 4 * XREM_UC_MAX_LOWER; /* bytes one code point can lower to */
    *out = NULL;
    if (n > (SIZE_MAX - 1) / per) return xrem_fail(XREM_ERR_NOMEM, "text of %zu bytes is too long", n);
    char *o = malloc(n * per + 1);
    if (!o) return xrem_fail(XREM_ERR_NOMEM, "out of memory lowercasing a text of %zu bytes", n);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t l = chx_special_at(s + i);
        if (l) {
            memcpy(o + k, s + i, l);
            k += l;
            i += l;
            continue;
        }
        uint32_t cp;
        l = xrem_utf8_decode(s + i, n - i, &cp);
        if (cp == XREM_UTF8_INVALID)
            o[k++] = s[i];
        else
            k += xrem_pylower_char(cp, o + k);
        i += l;
    }
    o[k] = 0;
    *out = o;
    return XREM_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Loading */

int xrem_chexbert_head_offset(int j)
{
    return 4 * j; /* No Finding (j = 13) starts at 52 */
}

int xrem_chexbert_head_classes(int j)
{
    return j == XREM_CHEXBERT_NCOND - 1 ? 2 : 4;
}

/* linear_heads.0..13 stacked into one [54, C] matrix and [54] bias: one GEMM for all heads. */
static xrem_status chx_load_heads(xrem_chexbert *m, xrem_weights *w)
{
    const int64_t C = m->enc.bert.cfg.C, K = XREM_CHEXBERT_NLOGITS;
    float *W = malloc(sizeof(float) * (size_t)(K * C)), *b = malloc(sizeof(float) * (size_t)K);
    xrem_status s = W && b ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int j = 0; !s && j < XREM_CHEXBERT_NCOND; j++) {
        const int64_t k = xrem_chexbert_head_classes(j), off = xrem_chexbert_head_offset(j);
        char name[64];
        float *part = NULL;
        int64_t ne[XREM_MAX_DIMS];
        snprintf(name, sizeof name, "linear_heads.%d.weight", j);
        s = xrem_weights_read(w, name, 2, (int64_t[]){k, C}, &part, ne);
        if (!s) memcpy(W + off * C, part, sizeof(float) * (size_t)(k * C));
        free(part);
        part = NULL;
        snprintf(name, sizeof name, "linear_heads.%d.bias", j);
        if (!s) s = xrem_weights_read(w, name, 1, (int64_t[]){k}, &part, ne);
        if (!s) memcpy(b + off, part, sizeof(float) * (size_t)k);
        free(part);
    }
    if (!s && xrem_weights_has(w, "linear_heads.14.weight"))
        s = xrem_fail(XREM_ERR_FORMAT, "%s: a 15th head (linear_heads.14); CheXbert has 14", xrem_weights_path(w));
    if (!s) s = xrem_tensor_from_host(m->enc.be, W, 2, (int64_t[]){K, C}, &m->head_w);
    if (!s) s = xrem_tensor_from_host(m->enc.be, b, 1, (int64_t[]){K}, &m->head_b);
    free(W);
    free(b);
    return s;
}

/* After the encoder: the usable length, then the heads. */
static xrem_status chx_load_rest(void *user, xrem_weights *w)
{
    xrem_chexbert *m = user;
    const int P = m->enc.bert.cfg.max_pos - m->enc.bert.cfg.pos_offset;
    m->max_len = P < XREM_CHEXBERT_MAX_LEN ? P : XREM_CHEXBERT_MAX_LEN;
    if (m->max_len < 2)
        return xrem_fail(XREM_ERR_FORMAT, "%s: %d positions; [CLS] [SEP] needs 2", xrem_weights_path(w), P);
    return chx_load_heads(m, w);
}

xrem_status xrem_chexbert_load(const char *path, xrem_backend *be, xrem_chexbert **out)
{
    *out = NULL;
    xrem_chexbert *m = calloc(1, sizeof *m);
    xrem_status s = xrem_bert_cls_load(m ? &m->enc : NULL, path, be, "chexbert", "CheXbert", chx_load_rest, m);
    if (s) {
        xrem_chexbert_free(m);
        return s;
    }
    *out = m;
    return XREM_OK;
}

void xrem_chexbert_free(xrem_chexbert *m)
{
    if (!m) return;
    xrem_tensor_release(m->enc.be, &m->head_w);
    xrem_tensor_release(m->enc.be, &m->head_b);
    xrem_bert_cls_release(&m->enc);
    free(m);
}

const xrem_bert *xrem_chexbert_bert(const xrem_chexbert *m)
{
    return &m->enc.bert;
}
int xrem_chexbert_hidden(const xrem_chexbert *m)
{
    return m->enc.bert.cfg.C;
}
int xrem_chexbert_max_len(const xrem_chexbert *m)
{
    return m->max_len;
}
const char *xrem_chexbert_sha256(const xrem_chexbert *m)
{
    return m->enc.sha256;
}
const xrem_vocab *xrem_chexbert_vocab(const xrem_chexbert *m)
{
    return m->enc.vocab;
}

size_t xrem_chexbert_params(const xrem_chexbert *m)
{
    return xrem_bert_params(&m->enc.bert) + (size_t)XREM_CHEXBERT_NLOGITS * ((size_t)m->enc.bert.cfg.C + 1);
}

/* ---------------------------------------------------------------------------------------------
 * Encoding */

static xrem_status chx_check_vocab(const xrem_chexbert *m)
{
    if (!m->enc.vocab)
        return xrem_fail(XREM_ERR_ARG, "this CheXbert weights file has no vocabulary (convert it with --vocab)");
    return XREM_OK;
}

xrem_status xrem_chexbert_encode(const xrem_chexbert *m, const char *text, int32_t *ids, int *len)
{
    xrem_status s = chx_check_vocab(m);
    if (s) return s;
    if (!text) return xrem_fail(XREM_ERR_ARG, "CheXbert: text is NULL");
    if (!ids || !len) return xrem_fail(XREM_ERR_ARG, "xrem_chexbert_encode: NULL output");
    char *clean = NULL, *low = NULL;
    int32_t *tok = NULL;
    int64_t n = 0;
    s = xrem_chexbert_clean(text, &clean);
    if (!s) s = chx_lower(clean, &low);
    if (!s) s = xrem_wordpiece_tokenize(m->enc.vocab, low, &tok, &n);
    if (!s) {
        /* [CLS] tokens [SEP]; longer than max_len: the first max_len-1 + [SEP] */
        const int64_t keep = n + 1 < m->max_len ? n : m->max_len - 2;
        ids[0] = m->enc.cls;
        memcpy(ids + 1, tok, sizeof(int32_t) * (size_t)keep);
        ids[keep + 1] = m->enc.sep;
        *len = (int)keep + 2;
    }
    free(clean);
    free(low);
    free(tok);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * The network */

xrem_status xrem_chexbert_forward(xrem_chexbert *m, const int32_t *ids, const int32_t *mask, int B, int T,
                                  float *logits, float *cls)
{
    if (B <= 0 || T <= 0 || !ids) return xrem_fail(XREM_ERR_ARG, "CheXbert: no input (B %d, T %d)", B, T);
    xrem_status s = xrem_bert_check_input(&m->enc.bert, ids, B, T);
    const int64_t C = m->enc.bert.cfg.C, K = XREM_CHEXBERT_NLOGITS;
    xrem_tensor h; /* final_hidden[:, 0] */
    if (!s) s = xrem_bert_cls_forward(&m->enc, ids, NULL, mask, B, T, xrem_bert_cls_small_bytes(B, K), &h);
    if (s) return s;
    xrem_backend *be = m->enc.be;
    xrem_tensor o = xrem_arena_f32_2d(&m->enc.arena, B, K);
    be->linear(be, &o, &h, &m->head_w, &m->head_b);
    if (logits) be->download(be, logits, o.data, sizeof(float) * (size_t)(B * K));
    if (cls) be->download(be, cls, h.data, sizeof(float) * (size_t)(B * C));
    return be->sync(be);
}

/* ---------------------------------------------------------------------------------------------
 * Many reports: encode all, sort by length, run batches of similar length. */

static xrem_status chx_encode_all(const xrem_chexbert *m, const char *const *texts, int n, xrem_bert_seqs *p)
{
    int32_t *tmp = malloc(sizeof(int32_t) * (size_t)m->max_len);
    xrem_status s = tmp ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory for %d reports", n);
    for (int i = 0; !s && i < n; i++) {
        int len = 0;
        s = texts[i] ? xrem_chexbert_encode(m, texts[i], tmp, &len) : xrem_fail(XREM_ERR_ARG, "CheXbert: text is NULL");
        if (!s) s = xrem_bert_seqs_add(p, i, tmp, len);
        if (s) xrem_fail_context(s, "CheXbert report %d", i);
    }
    free(tmp);
    return s ? s : xrem_bert_seqs_sort(p);
}

/* torch.argmax: the first maximum. */
static int chx_argmax(const float *x, int k)
{
    int best = 0;
    for (int j = 1; j < k; j++)
        if (x[j] > x[best]) best = j;
    return best;
}

typedef struct {
    xrem_chexbert *m;
    float *lg, *h;    /* [CHX_BATCH, 54], [CHX_BATCH, C] */
    int32_t *classes; /* [n, 14] or NULL */
    float *cls;       /* [n, C] or NULL */
} chx_batch;

/* One batch of the sorted reports; results scattered back to the callers' order. */
static xrem_status chx_run_batch(void *user, const int *idx, int B, int T, const int32_t *ids, int32_t *types,
                                 const int32_t *mask)
{
    (void)types;
    chx_batch *c = user;
    const int64_t C = c->m->enc.bert.cfg.C, K = XREM_CHEXBERT_NLOGITS;
    xrem_status s = xrem_chexbert_forward(c->m, ids, mask, B, T, c->lg, c->cls ? c->h : NULL);
    for (int b = 0; !s && b < B; b++) {
        const int i = idx[b];
        for (int j = 0; c->classes && j < XREM_CHEXBERT_NCOND; j++)
            c->classes[(size_t)i * XREM_CHEXBERT_NCOND + j] =
                chx_argmax(c->lg + b * K + xrem_chexbert_head_offset(j), xrem_chexbert_head_classes(j));
        if (c->cls) memcpy(c->cls + (size_t)i * C, c->h + b * C, sizeof(float) * (size_t)C);
    }
    return s;
}

xrem_status xrem_chexbert_run(xrem_chexbert *m, const char *const *texts, int n, int32_t *classes, float *cls)
{
    if (n < 0) return xrem_fail(XREM_ERR_ARG, "CheXbert: %d reports", n);
    if (n == 0) return XREM_OK;
    if (!texts) return xrem_fail(XREM_ERR_ARG, "CheXbert: the text array is NULL");
    xrem_status s = chx_check_vocab(m);
    if (s) return s;
    const int64_t C = m->enc.bert.cfg.C, K = XREM_CHEXBERT_NLOGITS;
    chx_batch c = {m, malloc(sizeof(float) * (size_t)(CHX_BATCH * K)), malloc(sizeof(float) * (size_t)(CHX_BATCH * C)),
                   classes, cls};
    xrem_bert_seqs p;
    s = xrem_bert_seqs_init(&p, n, "reports");
    if (!s && !(c.lg && c.h)) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = chx_encode_all(m, texts, n, &p);
    if (!s) s = xrem_bert_seqs_run(&p, m->enc.pad, CHX_BATCH, CHX_BATCH_TOKENS, chx_run_batch, &c);
    xrem_bert_seqs_free(&p);
    free(c.lg);
    free(c.h);
    return s;
}

double xrem_chexbert_semb(const float *a, const float *b, int C)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < C; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    if (aa == 0 || bb == 0) return NAN;
    return ab / (sqrt(aa) * sqrt(bb));
}
