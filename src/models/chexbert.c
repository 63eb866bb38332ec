/* CheXbert report labeler: see chexbert.h for what a report goes through. */
#include "models/chexbert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/unicode_tables.h"

#define CHX_BATCH 32          /* reports per forward pass */
#define CHX_BATCH_TOKENS 4096 /* padded tokens (B*T) per forward pass, beyond the first report */

struct xrem_chexbert {
    xrem_backend *be;
    xrem_bert bert;
    xrem_tensor head_w, head_b; /* the 14 linear_heads stacked: [54, C], [54] */
    xrem_arena arena;
    xrem_vocab *vocab;     /* NULL when the file has no tokenizer group */
    int32_t cls, sep, pad; /* special token ids */
    int max_len;           /* min(512, position table) */
    char *sha256;
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
 * Step 2a: transformers' tokenize() lowercasing: one character at a time, special-token strings
 * kept. Bytes that are not UTF-8 pass through unchanged (the tokenizer drops them). */

static const char *const chx_specials[5] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};

static size_t chx_special_at(const char *s)
{
    for (int k = 0; k < 5; k++) {
        size_t l = strlen(chx_specials[k]);
        if (!strncmp(s, chx_specials[k], l)) return l;
    }
    return 0;
}

/* Decode one code point at s[0..n): *len bytes; returns -1 for an invalid sequence (*len = 1). */
static int64_t chx_utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    const unsigned c = s[0];
    unsigned l = c < 0x80                 ? 1
                 : c >= 0xC2 && c <= 0xDF ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4
                                          : 0;
    unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80, hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    int ok = l > 0 && l <= n && (l == 1 || (s[1] >= lo && s[1] <= hi));
    for (unsigned j = 2; ok && j < l; j++)
        ok = s[j] >= 0x80 && s[j] <= 0xBF;
    *len = ok ? l : 1;
    if (!ok) return -1;
    uint32_t v = l == 1 ? c : c & (0xFFu >> (l + 1));
    for (unsigned j = 1; j < l; j++)
        v = v << 6 | (s[j] & 0x3F);
    return v;
}

static size_t chx_utf8_put(uint32_t c, char *o)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | c >> 6);
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | c >> 12);
        o[1] = (char)(0x80 | (c >> 6 & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | c >> 18);
    o[1] = (char)(0x80 | (c >> 12 & 0x3F));
    o[2] = (char)(0x80 | (c >> 6 & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

static const xrem_uc_map *chx_lower_map(uint32_t cp)
{
    size_t lo = 0, hi = XREM_UC_NLOWER;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (xrem_uc_lower[mid].cp == cp) return &xrem_uc_lower[mid];
        if (xrem_uc_lower[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* str.lower() of one code point into o; returns the bytes written (12 at most). */
static size_t chx_lower_cp(uint32_t c, char *o)
{
    if (c >= 'A' && c <= 'Z') return chx_utf8_put(c + 32, o);
    const xrem_uc_map *m = c < 0x80 ? NULL : chx_lower_map(c);
    if (!m) return chx_utf8_put(c, o);
    size_t k = 0;
    for (int j = 0; j < m->len; j++)
        k += chx_utf8_put(xrem_uc_lower_pool[m->off + j], o + k);
    return k;
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
        int64_t cp = chx_utf8_next((const unsigned char *)s + i, n - i, &l);
        if (cp < 0)
            o[k++] = s[i];
        else
            k += chx_lower_cp((uint32_t)cp, o + k);
        i += l;
    }
    o[k] = 0;
    *out = o;
    return XREM_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Loading */

static const char *const chx_special_names[3] = {"[CLS]", "[SEP]", "[PAD]"};

static xrem_status chx_load_vocab(xrem_chexbert *m, xrem_weights *w, const char *path)
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
    int32_t *ids[3] = {&m->cls, &m->sep, &m->pad};
    for (int i = 0; i < 3; i++)
        if ((*ids[i] = xrem_vocab_id(m->vocab, chx_special_names[i])) < 0)
            return xrem_fail(XREM_ERR_FORMAT, "%s: the vocabulary lacks %s", path, chx_special_names[i]);
    return XREM_OK;
}

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
    const int64_t C = m->bert.cfg.C, K = XREM_CHEXBERT_NLOGITS;
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
    if (!s) s = xrem_tensor_from_host(m->be, W, 2, (int64_t[]){K, C}, &m->head_w);
    if (!s) s = xrem_tensor_from_host(m->be, b, 1, (int64_t[]){K}, &m->head_b);
    free(W);
    free(b);
    return s;
}

xrem_status xrem_chexbert_load(const char *path, xrem_backend *be, xrem_chexbert **out)
{
    *out = NULL;
    xrem_weights *w = NULL;
    xrem_status s = xrem_weights_open(path, &w);
    if (s) return s;
    xrem_chexbert *m = calloc(1, sizeof *m);
    if (!m) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = xrem_weights_expect_arch(w, "chexbert");
    if (!s) s = xrem_backend_check(be);
    if (!s) {
        m->be = be;
        s = xrem_bert_load(w, be, "bert.", &m->bert);
    }
    if (!s && m->bert.cfg.fusion_layer != m->bert.cfg.L)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: config fusion_layer %d: CheXbert has no cross-attention", path,
                      m->bert.cfg.fusion_layer);
    if (!s) {
        const int P = m->bert.cfg.max_pos - m->bert.cfg.pos_offset;
        m->max_len = P < XREM_CHEXBERT_MAX_LEN ? P : XREM_CHEXBERT_MAX_LEN;
        if (m->max_len < 2) s = xrem_fail(XREM_ERR_FORMAT, "%s: %d positions; [CLS] [SEP] needs 2", path, P);
    }
    if (!s) s = chx_load_heads(m, w);
    if (!s && !(m->sha256 = strdup(xrem_weights_sha256(w)))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s && xrem_weights_has(w, "tokenizer/vocab")) s = chx_load_vocab(m, w, path);
    xrem_weights_close(w);
    if (s) {
        if (m) m->be = be;
        xrem_chexbert_free(m);
        return strstr(xrem_last_error(), path) ? s : xrem_fail_context(s, "loading %s", path);
    }
    *out = m;
    return XREM_OK;
}

void xrem_chexbert_free(xrem_chexbert *m)
{
    if (!m) return;
    xrem_bert_release(&m->bert, m->be);
    xrem_tensor_release(m->be, &m->head_w);
    xrem_tensor_release(m->be, &m->head_b);
    xrem_arena_release(&m->arena);
    xrem_vocab_free(m->vocab);
    free(m->sha256);
    free(m);
}

const xrem_bert *xrem_chexbert_bert(const xrem_chexbert *m)
{
    return &m->bert;
}
int xrem_chexbert_hidden(const xrem_chexbert *m)
{
    return m->bert.cfg.C;
}
int xrem_chexbert_max_len(const xrem_chexbert *m)
{
    return m->max_len;
}
const char *xrem_chexbert_sha256(const xrem_chexbert *m)
{
    return m->sha256;
}
const xrem_vocab *xrem_chexbert_vocab(const xrem_chexbert *m)
{
    return m->vocab;
}

size_t xrem_chexbert_params(const xrem_chexbert *m)
{
    return xrem_bert_params(&m->bert) + (size_t)XREM_CHEXBERT_NLOGITS * ((size_t)m->bert.cfg.C + 1);
}

/* ---------------------------------------------------------------------------------------------
 * Encoding */

static xrem_status chx_check_vocab(const xrem_chexbert *m)
{
    if (!m->vocab)
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
    if (!s) s = xrem_wordpiece_tokenize(m->vocab, low, &tok, &n);
    if (!s) {
        /* [CLS] tokens [SEP]; longer than max_len: the first max_len-1 + [SEP] */
        const int64_t keep = n + 1 < m->max_len ? n : m->max_len - 2;
        ids[0] = m->cls;
        memcpy(ids + 1, tok, sizeof(int32_t) * (size_t)keep);
        ids[keep + 1] = m->sep;
        *len = (int)keep + 2;
    }
    free(clean);
    free(low);
    free(tok);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * The network */

/* Make the arena at least `bytes`; grows only, so steady-state calls allocate nothing. */
static xrem_status chx_reserve(xrem_chexbert *m, size_t bytes)
{
    xrem_arena_reset(&m->arena);
    if (bytes <= m->arena.cap) return XREM_OK;
    xrem_arena_release(&m->arena);
    return xrem_arena_init(&m->arena, m->be, bytes);
}

static size_t chx_small_bytes(int64_t rows, int64_t cols)
{
    return (size_t)(rows * cols) * sizeof(float) + 64;
}

xrem_status xrem_chexbert_forward(xrem_chexbert *m, const int32_t *ids, const int32_t *mask, int B, int T,
                                  float *logits, float *cls)
{
    if (B <= 0 || T <= 0 || !ids) return xrem_fail(XREM_ERR_ARG, "CheXbert: no input (B %d, T %d)", B, T);
    xrem_status s = xrem_bert_check_input(&m->bert, ids, B, T);
    if (s) return s;
    const int64_t BT = (int64_t)B * T, C = m->bert.cfg.C, K = XREM_CHEXBERT_NLOGITS;
    float *fm = mask ? malloc(sizeof(float) * (size_t)BT) : NULL;
    if (mask && !fm) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; fm && i < BT; i++)
        fm[i] = mask[i] != 0;
    s = chx_reserve(m, xrem_bert_arena_bytes(&m->bert, B, T, 0, 0) + chx_small_bytes(B, C) + chx_small_bytes(B, K));
    if (!s) {
        xrem_backend *be = m->be;
        xrem_tensor x = xrem_bert_embed(&m->bert, be, &m->arena, ids, NULL, B, T);
        xrem_bert_layers(&m->bert, be, &m->arena, &x, fm, 0, m->bert.cfg.L, NULL, NULL, NULL);
        xrem_tensor h = xrem_arena_f32_2d(&m->arena, B, C); /* final_hidden[:, 0] */
        be->copy2d(be, h.data, C, x.data, T * C, B, C);
        xrem_tensor o = xrem_arena_f32_2d(&m->arena, B, K);
        be->linear(be, &o, &h, &m->head_w, &m->head_b);
        if (logits) be->download(be, logits, o.data, sizeof(float) * (size_t)(B * K));
        if (cls) be->download(be, cls, h.data, sizeof(float) * (size_t)(B * C));
        s = be->sync(be);
    }
    free(fm);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Many reports: encode all, sort by length, run batches of similar length. */

typedef struct {
    int32_t *ids; /* every report's ids, back to back */
    int64_t *off; /* [n] */
    int *len;     /* [n] */
    int *order;   /* [n] reports by increasing length */
} chx_set;

static void chx_set_free(chx_set *p)
{
    free(p->ids);
    free(p->off);
    free(p->len);
    free(p->order);
}

/* Sort key: length in the high half, report index in the low half (ties keep the callers' order). */
static int chx_cmp_key(const void *x, const void *y)
{
    const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Append len ids to the pool (grown by doubling). */
static xrem_status chx_pool_append(chx_set *p, size_t *used, size_t *cap, const int32_t *ids, int len)
{
    if (*used + (size_t)len > *cap) {
        size_t c = 2 * *cap + (size_t)len;
        int32_t *g = realloc(p->ids, sizeof(int32_t) * c);
        if (!g) return xrem_fail(XREM_ERR_NOMEM, "out of memory for the reports' token ids");
        p->ids = g;
        *cap = c;
    }
    memcpy(p->ids + *used, ids, sizeof(int32_t) * (size_t)len);
    *used += (size_t)len;
    return XREM_OK;
}

static xrem_status chx_encode_all(const xrem_chexbert *m, const char *const *texts, int n, chx_set *p)
{
    int32_t *tmp = malloc(sizeof(int32_t) * (size_t)m->max_len);
    size_t used = 0, cap = 0;
    p->off = malloc(sizeof(int64_t) * (size_t)n);
    p->len = malloc(sizeof(int) * (size_t)n);
    p->order = malloc(sizeof(int) * (size_t)n);
    int64_t *key = malloc(sizeof(int64_t) * (size_t)n);
    xrem_status s = tmp && p->off && p->len && p->order && key
                        ? XREM_OK
                        : xrem_fail(XREM_ERR_NOMEM, "out of memory for %d reports", n);
    for (int i = 0; !s && i < n; i++) {
        p->off[i] = (int64_t)used;
        s = texts[i] ? xrem_chexbert_encode(m, texts[i], tmp, &p->len[i])
                     : xrem_fail(XREM_ERR_ARG, "CheXbert: text is NULL");
        if (!s) s = chx_pool_append(p, &used, &cap, tmp, p->len[i]);
        if (s)
            xrem_fail_context(s, "CheXbert report %d", i);
        else
            key[i] = (int64_t)p->len[i] << 32 | i;
    }
    free(tmp);
    if (!s) {
        qsort(key, (size_t)n, sizeof *key, chx_cmp_key);
        for (int i = 0; i < n; i++)
            p->order[i] = (int)(key[i] & 0xFFFFFFFF);
    }
    free(key);
    return s;
}

/* torch.argmax: the first maximum. */
static int chx_argmax(const float *x, int k)
{
    int best = 0;
    for (int j = 1; j < k; j++)
        if (x[j] > x[best]) best = j;
    return best;
}

static xrem_status chx_run_sorted(xrem_chexbert *m, const chx_set *p, int n, int32_t *classes, float *cls)
{
    const int Tmax = p->len[p->order[n - 1]];
    const int64_t C = m->bert.cfg.C, K = XREM_CHEXBERT_NLOGITS;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)CHX_BATCH * (size_t)Tmax * 2);
    float *lg = malloc(sizeof(float) * (size_t)(CHX_BATCH * K)), *h = malloc(sizeof(float) * (size_t)(CHX_BATCH * C));
    xrem_status s = ids && lg && h ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int k0 = 0, B; !s && k0 < n; k0 += B) {
        int T = p->len[p->order[k0]];
        for (B = 1; k0 + B < n && B < CHX_BATCH; B++) {
            const int t = p->len[p->order[k0 + B]];
            if ((int64_t)(B + 1) * t > CHX_BATCH_TOKENS) break;
            T = t;
        }
        int32_t *mask = ids + (size_t)B * T;
        for (int b = 0; b < B; b++) {
            const int i = p->order[k0 + b];
            for (int t = 0; t < T; t++) {
                const int real = t < p->len[i];
                ids[b * T + t] = real ? p->ids[p->off[i] + t] : m->pad;
                mask[b * T + t] = real;
            }
        }
        s = xrem_chexbert_forward(m, ids, mask, B, T, lg, cls ? h : NULL);
        for (int b = 0; !s && b < B; b++) {
            const int i = p->order[k0 + b];
            for (int j = 0; classes && j < XREM_CHEXBERT_NCOND; j++)
                classes[(size_t)i * XREM_CHEXBERT_NCOND + j] =
                    chx_argmax(lg + b * K + xrem_chexbert_head_offset(j), xrem_chexbert_head_classes(j));
            if (cls) memcpy(cls + (size_t)i * C, h + b * C, sizeof(float) * (size_t)C);
        }
    }
    free(ids);
    free(lg);
    free(h);
    return s;
}

xrem_status xrem_chexbert_run(xrem_chexbert *m, const char *const *texts, int n, int32_t *classes, float *cls)
{
    if (n < 0) return xrem_fail(XREM_ERR_ARG, "CheXbert: %d reports", n);
    if (n == 0) return XREM_OK;
    if (!texts) return xrem_fail(XREM_ERR_ARG, "CheXbert: the text array is NULL");
    xrem_status s = chx_check_vocab(m);
    if (s) return s;
    chx_set p = {0};
    s = chx_encode_all(m, texts, n, &p);
    if (!s) s = chx_run_sorted(m, &p, n, classes, cls);
    chx_set_free(&p);
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
