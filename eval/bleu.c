/* BLEU family: fast_bleu 0.0.90 / CXR-Report-Metric BLEU-2, NLTK corpus BLEU, sacreBLEU 13a
 * (see bleu.h for the exact semantics each one reproduces).
 *
 * How a pair is scored: both texts are tokenized into byte spans; tokens are interned into dense
 * ids shared by the two texts (hash + exact byte compare); n-gram ids are built level by level by
 * interning (id of the (n-1)-gram, id of the next token) pairs, so every n-gram, whatever its
 * length, is an exact dense id; clipped matches are then counts over dense ids. Nothing depends
 * on hash quality for correctness.
 */
#include "bleu.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text/pylower.h"

/* A token: bytes txt[side][off .. off+len), its hash and first 8 bytes (zero-padded). */
typedef struct {
    size_t off;
    uint32_t len, side;
    uint64_t hash, pre;
} bleu_tok;

/* Open-addressing slot: in use iff stamp == the workspace's current generation. */
typedef struct {
    uint64_t key; /* token hash (level 1) or (id << 32 | id) (n-gram levels) */
    uint64_t pre; /* level 1: the token's first 8 bytes */
    uint32_t len; /* level 1: the token's length */
    uint32_t stamp;
    int32_t val;
    int32_t pad;
} bleu_slot;

struct xrem_bleu_ws {
    char *txt[2];         /* processed text of the reference (0) and hypothesis (1), >= 8 bytes of slack */
    size_t captxt[2];
    char *pass;           /* 13a scratch, swapped with txt[side] */
    size_t cappass;
    bleu_tok *tok;        /* [T] reference tokens, then hypothesis tokens */
    size_t captok;
    int32_t *ids, *lvl, *rep, *cref; /* [T] */
    size_t capid;
    bleu_slot *ht;        /* [htcap] */
    size_t htcap;
    int htshift;          /* 64 - log2(htcap) */
    uint32_t gen;
};

/* --- small helpers ---------------------------------------------------------------------------- */
static int ws__reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap : 256;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return 0;
        nc *= 2;
    }
    if (nc > SIZE_MAX / elem) return 0;
    void *q = realloc(*p, nc * elem);
    if (!q) return 0;
    *p = q;
    *cap = nc;
    return 1;
}

static xrem_status ws__nomem(void) { return xrem_fail(XREM_ERR_NOMEM, "bleu: out of memory"); }

xrem_status xrem_bleu_ws_create(xrem_bleu_ws **out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "xrem_bleu_ws_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return ws__nomem();
    return XREM_OK;
}

void xrem_bleu_ws_free(xrem_bleu_ws *ws)
{
    if (!ws) return;
    free(ws->txt[0]);
    free(ws->txt[1]);
    free(ws->pass);
    free(ws->tok);
    free(ws->ids);
    free(ws->lvl);
    free(ws->rep);
    free(ws->cref);
    free(ws->ht);
    free(ws);
}

/* --- Python whitespace (str.isspace / str.split()) ------------------------------------------ */
/* Byte length of the whitespace character starting at s[i], or 0. */
static size_t py__space_at(const unsigned char *s, size_t n, size_t i)
{
    unsigned c = s[i];
    if (c < 0x80) return (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) ? 1 : 0;
    if (c == 0xC2 && i + 1 < n) return (s[i + 1] == 0x85 || s[i + 1] == 0xA0) ? 2 : 0;
    if (i + 2 >= n) return 0;
    unsigned b = s[i + 1], d = s[i + 2];
    if (c == 0xE1) return (b == 0x9A && d == 0x80) ? 3 : 0;                              /* U+1680 */
    if (c == 0xE2 && b == 0x80) return (d <= 0x8A && d >= 0x80) || d == 0xA8 || d == 0xA9 || d == 0xAF ? 3 : 0;
    if (c == 0xE2 && b == 0x81) return d == 0x9F ? 3 : 0;                                /* U+205F */
    if (c == 0xE3) return (b == 0x80 && d == 0x80) ? 3 : 0;                              /* U+3000 */
    return 0;
}

/* Byte length of a whitespace character ending s[0..n), or 0. */
static size_t py__space_suffix(const unsigned char *s, size_t n)
{
    if (n == 0) return 0;
    if (s[n - 1] < 0x80) return py__space_at(s, n, n - 1);
    if (n >= 2 && py__space_at(s, n, n - 2) == 2) return 2;
    if (n >= 3 && py__space_at(s, n, n - 3) == 3) return 3;
    return 0;
}

/* --- tokenizers ---------------------------------------------------------------------------------- */
/* The first len (< 8 -> zero-padded) bytes of p as a word; p must have 8 readable bytes. */
static uint64_t load_pre(const char *p, size_t len)
{
    uint64_t w;
    memcpy(&w, p, 8);
    if (len >= 8) return w;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return len ? w & (~UINT64_C(0) << (64 - 8 * len)) : 0;
#else
    return len ? w & (~UINT64_C(0) >> (64 - 8 * len)) : 0;
#endif
}

/* Hash of a token, word at a time (reads up to 7 bytes past the token: the buffers have slack). */
static void tok__hash(const char *p, bleu_tok *t)
{
    size_t len = t->len;
    uint64_t w = load_pre(p, len);
    t->pre = w;
    uint64_t h = (w ^ (uint64_t)len) * 0x9E3779B97F4A7C15ULL;
    for (size_t i = 8; i < len; i += 8) {
        h ^= h >> 29;
        h = (h ^ load_pre(p + i, len - i)) * 0xff51afd7ed558ccdULL;
    }
    /* the table index takes the top bits; fold the low ones in (correctness never depends on it) */
    t->hash = h ^ (h >> 31) * 0xc4ceb9fe1a85ec53ULL;
}

/* ASCII A-Z -> a-z in each byte of a word (SWAR); other bytes unchanged. */
static inline uint64_t lower8(uint64_t x)
{
    const uint64_t L7 = 0x7F7F7F7F7F7F7F7FULL, H8 = 0x8080808080808080ULL, B1 = 0x0101010101010101ULL;
    uint64_t h7 = x & L7;
    uint64_t upper = (h7 + B1 * (0x80 - 'A')) & ~(h7 + B1 * (0x7F - 'Z')) & ~x & H8;
    return x | (upper >> 2);
}

/* Room for `more` tokens after the first T. */
static int tok__room(xrem_bleu_ws *ws, size_t T, size_t more)
{
    return ws__reserve((void **)&ws->tok, &ws->captok, T + more + 1, sizeof *ws->tok);
}

/* Cut tokens [T0, T) at their first NUL (fast_bleu sees C strings); then hash them. */
static void tok__finish(xrem_bleu_ws *ws, int side, size_t T0, size_t T, size_t m, int cut_nul)
{
    const char *t = ws->txt[side];
    if (cut_nul && memchr(t, 0, m)) {
        for (size_t k = T0; k < T; k++) {
            const char *z = memchr(t + ws->tok[k].off, 0, ws->tok[k].len);
            if (z) ws->tok[k].len = (uint32_t)(z - (t + ws->tok[k].off));
        }
    }
    for (size_t k = T0; k < T; k++) tok__hash(t + ws->tok[k].off, &ws->tok[k]);
}

/* Bit 1: s has a byte >= 0x80; bit 2: s has a NUL byte. One pass, eight bytes at a time. */
static int scan__flags(const char *s, size_t n)
{
    const uint64_t H8 = 0x8080808080808080ULL, B1 = 0x0101010101010101ULL;
    uint64_t high = 0, zero = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        high |= w & H8;
        zero |= (w - B1) & ~w & H8; /* nonzero iff some byte is 0 */
    }
    for (; i < n; i++) {
        high |= (unsigned char)s[i] & 0x80;
        zero |= s[i] == 0;
    }
    return (high ? 1 : 0) | (zero ? 2 : 0);
}

/* lower + "." -> " ." + split on ' ' (drop empty): a '.' starts a token, a ' ' ends one. ASCII
 * text is lowered in the same pass; other text goes through str.lower() first. */
static int tok__cxr(xrem_bleu_ws *ws, int side, const char *s, size_t n, int cut_nul, size_t *T)
{
    const char *src = s;
    size_t m = n;
    int flags = scan__flags(s, n);
    if (flags & 1) {
        m = xrem_pylower_into(s, n, &ws->txt[side], &ws->captxt[side]); /* leaves >= 16 bytes of slack */
        if (m == SIZE_MAX) return 0;
        src = ws->txt[side];
    } else if (!ws__reserve((void **)&ws->txt[side], &ws->captxt[side], n + 16, 1)) {
        return 0;
    }
    if (!tok__room(ws, *T, m)) return 0;
    char *dst = ws->txt[side];
    bleu_tok *tk = ws->tok;
    size_t t = *T, T0 = *T, start = 0;
    /* tokens are hashed as they are emitted, unless some must first be cut at a NUL */
    int late = cut_nul && (flags & 2); /* str.lower() keeps NULs, so the flag still holds */
    /* A ' ' at p ends the token [start, p) (if not empty) and the next one starts after it; a '.'
     * at p ends [start, p) and starts the next token at p. Eight bytes at a time (SWAR): lower
     * A-Z and find the ' ' and '.' bytes; src is ASCII here (str.lower() already ran otherwise,
     * and lowering its ASCII letters again changes nothing). A token's bytes are all lowered
     * (stored) by the time it is emitted; its hash may read up to 7 bytes past it (slack). */
    const uint64_t L7 = 0x7F7F7F7F7F7F7F7FULL, H8 = 0x8080808080808080ULL, B1 = 0x0101010101010101ULL;
    size_t i = 0;
    for (;; i += 8) {
        uint64_t x;
        size_t k = m - i < 8 ? m - i : 8;
        if (k == 0) break;
        if (k == 8) memcpy(&x, src + i, 8);
        else {
            x = 0;
            memcpy(&x, src + i, k);
        }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        x = __builtin_bswap64(x); /* first byte in the low bits, as below assumes */
#endif
        uint64_t lo = lower8(x);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap64(lo);
#endif
        memcpy(dst + i, &lo, 8); /* dst has 16 bytes of slack */
        uint64_t ts = x ^ (B1 * ' '), td = x ^ (B1 * '.');
        uint64_t sp = ~(((ts & L7) + L7) | ts) & H8, dt = ~(((td & L7) + L7) | td) & H8;
        if (k < 8) { /* ignore the zero padding */
            uint64_t keep = (~UINT64_C(0)) >> (64 - 8 * k);
            sp &= keep;
            dt &= keep;
        }
        uint64_t d = sp | dt;
        while (d) {
            int bit = __builtin_ctzll(d);
            size_t p = i + (size_t)(bit >> 3);
            if (p > start) {
                tk[t].off = start;
                tk[t].len = (uint32_t)(p - start);
                tk[t].side = (uint32_t)side;
                if (!late) tok__hash(dst + tk[t].off, &tk[t]);
                t++;
            }
            start = (dt >> bit) & 1 ? p : p + 1;
            d &= d - 1;
        }
        if (k < 8) break;
    }
    memset(dst + m, 0, 8);
    if (m > start) {
        tk[t].off = start;
        tk[t].len = (uint32_t)(m - start);
        tk[t].side = (uint32_t)side;
        if (!late) tok__hash(dst + tk[t].off, &tk[t]);
        t++;
    }
    if (late) tok__finish(ws, side, T0, t, m, 1);
    *T = t;
    return 1;
}

/* One 13a pass: in -> ws->pass, then swap so the result is in txt[side]. cap_factor bounds growth. */
typedef size_t (*pass_fn)(const char *in, size_t n, char *out);

static int tok__pass(xrem_bleu_ws *ws, int side, size_t *n, size_t factor, pass_fn f)
{
    if (*n > (SIZE_MAX - 8) / factor) return 0;
    if (!ws__reserve((void **)&ws->pass, &ws->cappass, *n * factor + 8, 1)) return 0;
    *n = f(ws->txt[side], *n, ws->pass);
    char *t = ws->txt[side];
    size_t c = ws->captxt[side];
    ws->txt[side] = ws->pass;
    ws->captxt[side] = ws->cappass;
    ws->pass = t;
    ws->cappass = c;
    return 1;
}

static size_t rep__all(const char *in, size_t n, char *out, const char *pat, const char *rep)
{
    size_t pl = strlen(pat), rl = strlen(rep), o = 0, i = 0;
    while (i < n) {
        if (in[i] == pat[0] && n - i >= pl && memcmp(in + i, pat, pl) == 0) {
            memcpy(out + o, rep, rl);
            o += rl;
            i += pl;
        } else {
            out[o++] = in[i++];
        }
    }
    return o;
}
static size_t p13__skipped(const char *in, size_t n, char *out) { return rep__all(in, n, out, "<skipped>", ""); }
static size_t p13__hyphen_nl(const char *in, size_t n, char *out) { return rep__all(in, n, out, "-\n", ""); }
static size_t p13__nl(const char *in, size_t n, char *out) { return rep__all(in, n, out, "\n", " "); }
static size_t p13__quot(const char *in, size_t n, char *out) { return rep__all(in, n, out, "&quot;", "\""); }
static size_t p13__amp(const char *in, size_t n, char *out) { return rep__all(in, n, out, "&amp;", "&"); }
static size_t p13__lt(const char *in, size_t n, char *out) { return rep__all(in, n, out, "&lt;", "<"); }
static size_t p13__gt(const char *in, size_t n, char *out) { return rep__all(in, n, out, "&gt;", ">"); }

static size_t p13__wrap(const char *in, size_t n, char *out)
{
    out[0] = ' ';
    memcpy(out + 1, in, n);
    out[n + 1] = ' ';
    return n + 2;
}

/* ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 ' */
static int p13__r1(unsigned c)
{
    return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0x2B) ||
           (c >= 0x3A && c <= 0x40) || c == 0x2F;
}
static size_t p13__rule1(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)in[i];
        if (p13__r1(c)) {
            out[o++] = ' ';
            out[o++] = (char)c;
            out[o++] = ' ';
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

static int is__digit(char c) { return c >= '0' && c <= '9'; }
static int is__pc(char c) { return c == '.' || c == ','; }

/* ([^0-9])([\.,]) -> '\1 \2 ' (leftmost, non-overlapping, as re.sub) */
static size_t p13__rule2(const char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        if (i + 1 < n && !is__digit(in[i]) && is__pc(in[i + 1])) {
            out[o++] = in[i];
            out[o++] = ' ';
            out[o++] = in[i + 1];
            out[o++] = ' ';
            i += 2;
        } else {
            out[o++] = in[i++];
        }
    }
    return o;
}
/* ([\.,])([^0-9]) -> ' \1 \2' */
static size_t p13__rule3(const char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        if (i + 1 < n && is__pc(in[i]) && !is__digit(in[i + 1])) {
            out[o++] = ' ';
            out[o++] = in[i];
            out[o++] = ' ';
            out[o++] = in[i + 1];
            i += 2;
        } else {
            out[o++] = in[i++];
        }
    }
    return o;
}
/* ([0-9])(-) -> '\1 \2 ' */
static size_t p13__rule4(const char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        if (i + 1 < n && is__digit(in[i]) && in[i + 1] == '-') {
            out[o++] = in[i];
            out[o++] = ' ';
            out[o++] = '-';
            out[o++] = ' ';
            i += 2;
        } else {
            out[o++] = in[i++];
        }
    }
    return o;
}

static int tok__13a(xrem_bleu_ws *ws, int side, const char *s, size_t n, size_t *T)
{
    while (n > 0) { /* sent.rstrip() */
        size_t k = py__space_suffix((const unsigned char *)s, n);
        if (!k) break;
        n -= k;
    }
    if (!ws__reserve((void **)&ws->txt[side], &ws->captxt[side], n + 8, 1)) return 0;
    memcpy(ws->txt[side], s, n);
    if (!tok__pass(ws, side, &n, 1, p13__skipped)) return 0;
    if (!tok__pass(ws, side, &n, 1, p13__hyphen_nl)) return 0;
    if (!tok__pass(ws, side, &n, 1, p13__nl)) return 0;
    if (memchr(ws->txt[side], '&', n)) {
        if (!tok__pass(ws, side, &n, 1, p13__quot)) return 0;
        if (!tok__pass(ws, side, &n, 1, p13__amp)) return 0;
        if (!tok__pass(ws, side, &n, 1, p13__lt)) return 0;
        if (!tok__pass(ws, side, &n, 1, p13__gt)) return 0;
    }
    if (!tok__pass(ws, side, &n, 1, p13__wrap)) return 0; /* n + 2 fits: reserve adds 8 */
    if (!tok__pass(ws, side, &n, 3, p13__rule1)) return 0;
    if (!tok__pass(ws, side, &n, 2, p13__rule2)) return 0;
    if (!tok__pass(ws, side, &n, 2, p13__rule3)) return 0;
    if (!tok__pass(ws, side, &n, 2, p13__rule4)) return 0;
    /* split on Python whitespace */
    const unsigned char *t = (const unsigned char *)ws->txt[side];
    if (!tok__room(ws, *T, n)) return 0;
    size_t i = 0, start = SIZE_MAX, k = *T, T0 = *T;
    while (i <= n) {
        size_t sp = i < n ? py__space_at(t, n, i) : 1;
        if (sp) {
            if (start != SIZE_MAX) {
                ws->tok[k].off = start;
                ws->tok[k].len = (uint32_t)(i - start);
                ws->tok[k].side = (uint32_t)side;
                k++;
            }
            start = SIZE_MAX;
            i += sp;
        } else {
            if (start == SIZE_MAX) start = i;
            i++;
        }
    }
    memset(ws->txt[side] + n, 0, 8);
    tok__finish(ws, side, T0, k, n, 0);
    *T = k;
    return 1;
}

static int tok__run(xrem_bleu_ws *ws, xrem_bleu_tok tok, int side, const char *s, size_t n, size_t *T)
{
    if (tok == XREM_BLEU_TOK_13A) return tok__13a(ws, side, s, n, T);
    return tok__cxr(ws, side, s, n, tok == XREM_BLEU_TOK_FASTBLEU, T);
}

/* --- interning ------------------------------------------------------------------------------------ */
/* Make room for T tokens and a table with more than 2T slots. */
static int ws__prepare(xrem_bleu_ws *ws, size_t T)
{
    if (T + 1 > ws->capid) {
        size_t need = ws->capid ? ws->capid : 256;
        while (need < T + 1) {
            if (need > SIZE_MAX / 4) return 0;
            need *= 2;
        }
        int32_t **arrs[4] = {&ws->ids, &ws->lvl, &ws->rep, &ws->cref};
        ws->capid = 0;
        for (int k = 0; k < 4; k++) {
            free(*arrs[k]);
            *arrs[k] = malloc(need * sizeof(int32_t));
            if (!*arrs[k]) return 0;
        }
        ws->capid = need;
    }
    size_t want = 64;
    int bits = 6;
    while (want < 2 * T + 2) {
        want *= 2;
        bits++;
    }
    if (want > ws->htcap) {
        free(ws->ht);
        ws->ht = calloc(want, sizeof *ws->ht);
        ws->htcap = ws->ht ? want : 0;
        ws->gen = 0;
        if (!ws->htcap) return 0;
        ws->htshift = 64 - bits;
    }
    return 1;
}

static void ws__newgen(xrem_bleu_ws *ws)
{
    if (++ws->gen == 0) {
        memset(ws->ht, 0, ws->htcap * sizeof *ws->ht);
        ws->gen = 1;
    }
}

static xrem_status bleu__stats(xrem_bleu_ws *ws, xrem_bleu_tok tok, const char *ref, size_t rl, const char *hyp,
                               size_t hl, int max_n, xrem_bleu_stats *st)
{
    if (!ws || !st || (!ref && rl) || (!hyp && hl)) return xrem_fail(XREM_ERR_ARG, "bleu: NULL argument");
    if (max_n < 1 || max_n > XREM_BLEU_MAX_N) return xrem_fail(XREM_ERR_ARG, "bleu: max n-gram order %d not in 1..4", max_n);
    if (tok != XREM_BLEU_TOK_FASTBLEU && tok != XREM_BLEU_TOK_NLTK && tok != XREM_BLEU_TOK_13A)
        return xrem_fail(XREM_ERR_ARG, "bleu: unknown tokenizer %d", (int)tok);
    if (rl > INT32_MAX / 8 || hl > INT32_MAX / 8) return xrem_fail(XREM_ERR_ARG, "bleu: text longer than %d bytes", INT32_MAX / 8);
    memset(st, 0, sizeof *st);
    size_t T = 0;
    if (!tok__run(ws, tok, 0, ref ? ref : "", rl, &T)) return ws__nomem();
    size_t R = T;
    if (!tok__run(ws, tok, 1, hyp ? hyp : "", hl, &T)) return ws__nomem();
    size_t H = T - R;
    st->ref_len = (int64_t)R;
    st->hyp_len = (int64_t)H;
    if (!ws__prepare(ws, T)) return ws__nomem();

    /* Clipped matches by consumption: count the reference's n-grams, then each hypothesis n-gram
     * that finds a count left matches and uses it up; that sums min(hyp count, ref count).
     * Level 1 interns the token strings (reference first, so its counts are complete before the
     * first hypothesis token) and counts unigram matches in the same pass. */
    ws__newgen(ws);
    size_t mask = ws->htcap - 1;
    int sh = ws->htshift;
    uint32_t gen = ws->gen;
    bleu_slot *ht = ws->ht;
    int32_t *cref = ws->cref;
    int32_t D = 0;
    int64_t match1 = 0;
    for (size_t t = 0; t < T; t++) {
        const bleu_tok *tk = &ws->tok[t];
        size_t slot = (size_t)(tk->hash >> sh);
        int32_t id;
        for (;;) {
            bleu_slot *e = &ht[slot];
            if (e->stamp != gen) {
                e->stamp = gen;
                e->key = tk->hash;
                e->pre = tk->pre;
                e->len = tk->len;
                e->val = D;
                ws->rep[D] = (int32_t)t;
                cref[D] = 0;
                id = D++;
                break;
            }
            if (e->key == tk->hash && e->pre == tk->pre && e->len == tk->len) {
                const bleu_tok *r;
                if (tk->len <= 8 || (r = &ws->tok[ws->rep[e->val]],
                                     memcmp(ws->txt[tk->side] + tk->off, ws->txt[r->side] + r->off, tk->len) == 0)) {
                    id = e->val;
                    break;
                }
            }
            slot = (slot + 1) & mask;
        }
        ws->ids[t] = id;
        if (t < R) {
            cref[id]++;
        } else if (cref[id] > 0) {
            cref[id]--;
            match1++;
        }
    }
    st->match[0] = match1;
    st->total[0] = (int64_t)H;
    st->denom[0] = H > 0 ? (int64_t)H : 1;
    if (max_n >= 3) memcpy(ws->lvl, ws->ids, T * sizeof *ws->lvl);
    const int32_t *prev = max_n >= 3 ? ws->lvl : ws->ids; /* ids of the (n-1)-grams */

    for (int n = 2; n <= max_n; n++) {
        size_t nr = R >= (size_t)n ? R - (size_t)n + 1 : 0, nh = H >= (size_t)n ? H - (size_t)n + 1 : 0;
        int64_t match = 0;
        if (n == max_n) {
            /* last order: no n-gram ids needed, only counts keyed by (id of the (n-1)-gram, token) */
            ws__newgen(ws);
            gen = ws->gen;
            for (size_t p = 0; p < nr; p++) {
                uint64_t k = ((uint64_t)(uint32_t)prev[p] << 32) | (uint32_t)ws->ids[p + (size_t)n - 1];
                size_t slot = (size_t)((k * 0x9E3779B97F4A7C15ULL) >> sh);
                for (;;) {
                    bleu_slot *e = &ht[slot];
                    if (e->stamp != gen) {
                        e->stamp = gen;
                        e->key = k;
                        e->val = 1;
                        break;
                    }
                    if (e->key == k) {
                        e->val++;
                        break;
                    }
                    slot = (slot + 1) & mask;
                }
            }
            for (size_t p = R; p < R + nh; p++) {
                uint64_t k = ((uint64_t)(uint32_t)prev[p] << 32) | (uint32_t)ws->ids[p + (size_t)n - 1];
                size_t slot = (size_t)((k * 0x9E3779B97F4A7C15ULL) >> sh);
                for (;;) {
                    bleu_slot *e = &ht[slot];
                    if (e->stamp != gen) break;
                    if (e->key == k) {
                        if (e->val > 0) {
                            e->val--;
                            match++;
                        }
                        break;
                    }
                    slot = (slot + 1) & mask;
                }
            }
        } else {
            /* lvl[p] = id of the n-gram starting at p, from the (n-1)-gram and token p+n-1 */
            ws__newgen(ws);
            gen = ws->gen;
            D = 0;
            for (int side = 0; side < 2; side++) {
                size_t b0 = side ? R : 0, cnt = side ? nh : nr;
                for (size_t p = b0; p < b0 + cnt; p++) {
                    uint64_t k = ((uint64_t)(uint32_t)ws->lvl[p] << 32) | (uint32_t)ws->ids[p + (size_t)n - 1];
                    size_t slot = (size_t)((k * 0x9E3779B97F4A7C15ULL) >> sh);
                    for (;;) {
                        bleu_slot *e = &ht[slot];
                        if (e->stamp != gen) {
                            e->stamp = gen;
                            e->key = k;
                            e->val = D++;
                            ws->lvl[p] = e->val;
                            break;
                        }
                        if (e->key == k) {
                            ws->lvl[p] = e->val;
                            break;
                        }
                        slot = (slot + 1) & mask;
                    }
                }
            }
            memset(cref, 0, (size_t)D * sizeof *cref);
            for (size_t p = 0; p < nr; p++) cref[ws->lvl[p]]++;
            for (size_t p = R; p < R + nh; p++) {
                int32_t id = ws->lvl[p];
                if (cref[id] > 0) {
                    cref[id]--;
                    match++;
                }
            }
        }
        st->match[n - 1] = match;
        st->total[n - 1] = (int64_t)nh;
        st->denom[n - 1] = nh > 0 ? (int64_t)nh : 1;
    }
    return XREM_OK;
}

xrem_status xrem_bleu_pair_stats(xrem_bleu_ws *ws, xrem_bleu_tok tok, const char *ref, size_t ref_len,
                                 const char *hyp, size_t hyp_len, int max_n, xrem_bleu_stats *st)
{
    return bleu__stats(ws, tok, ref, ref_len, hyp, hyp_len, max_n, st);
}

void xrem_bleu_stats_add(xrem_bleu_stats *acc, const xrem_bleu_stats *s)
{
    for (int i = 0; i < XREM_BLEU_MAX_N; i++) {
        acc->match[i] += s->match[i];
        acc->total[i] += s->total[i];
        acc->denom[i] += s->denom[i];
    }
    acc->hyp_len += s->hyp_len;
    acc->ref_len += s->ref_len;
}

/* --- scores --------------------------------------------------------------------------------------- */
/* BP as NLTK and fast_bleu define it: 1 if c > r, 0 if c == 0, else exp(1 - r/c). */
static double bleu__bp(int64_t r, int64_t c)
{
    if (c > r) return 1.0;
    if (c == 0) return 0.0;
    return exp(1.0 - (double)r / (double)c);
}

double xrem_bleu_fast_score(const xrem_bleu_stats *st, int max_n)
{
    if (!st || max_n < 1 || max_n > XREM_BLEU_MAX_N) return NAN;
    double bp = bleu__bp(st->ref_len, st->hyp_len);
    if (st->match[0] == 0) return 0.0;
    float w = (float)(1.0 / max_n); /* fast_bleu keeps weights as float32 */
    double s = 0.0;
    for (int i = 0; i < max_n; i++) {
        long long num = st->match[i], den = st->denom[i];
        if (num == 0) { /* smooth_1: numerator epsilon.numerator (1), denominator x 10 */
            num = 1;
            den *= 10;
        }
        s += (double)w * logl((long double)num / (long double)den);
    }
    return bp * exp(s);
}

xrem_status xrem_bleu2(xrem_bleu_ws *ws, const char *ref, size_t ref_len, const char *hyp, size_t hyp_len, double *score)
{
    if (!score) return xrem_fail(XREM_ERR_ARG, "xrem_bleu2: score is NULL");
    xrem_bleu_stats st;
    xrem_status s = bleu__stats(ws, XREM_BLEU_TOK_FASTBLEU, ref, ref_len, hyp, hyp_len, 2, &st);
    if (s != XREM_OK) return s;
    *score = xrem_bleu_fast_score(&st, 2);
    return XREM_OK;
}

/* Python's math.fsum (Shewchuk's exact partials, round-half-even at the end) for finite x. */
static double py__fsum(const double *x, int n)
{
    double p[XREM_BLEU_MAX_N + 2];
    int np = 0;
    for (int k = 0; k < n; k++) {
        double v = x[k];
        int i = 0;
        for (int j = 0; j < np; j++) {
            double y = p[j];
            if (fabs(v) < fabs(y)) {
                double t = v;
                v = y;
                y = t;
            }
            double hi = v + y;
            double yr = hi - v;
            double lo = y - yr;
            if (lo != 0.0) p[i++] = lo;
            v = hi;
        }
        np = i;
        if (v != 0.0) p[np++] = v;
    }
    double hi = 0.0;
    if (np > 0) {
        double lo = 0.0;
        hi = p[--np];
        while (np > 0) {
            double v = hi, y = p[--np];
            hi = v + y;
            double yr = hi - v;
            lo = y - yr;
            if (lo != 0.0) break;
        }
        if (np > 0 && ((lo < 0.0 && p[np - 1] < 0.0) || (lo > 0.0 && p[np - 1] > 0.0))) {
            double y = lo * 2.0;
            double v = hi + y;
            double yr = v - hi;
            if (y == yr) hi = v;
        }
    }
    return hi;
}

double xrem_bleu_nltk_score(const xrem_bleu_stats *st, int max_n, xrem_bleu_smooth smooth)
{
    if (!st || max_n < 1 || max_n > XREM_BLEU_MAX_N) return NAN;
    if (st->match[0] == 0) return 0.0;
    double bp = bleu__bp(st->ref_len, st->hyp_len);
    double w = 1.0 / max_n, terms[XREM_BLEU_MAX_N];
    for (int i = 0; i < max_n; i++) {
        double p;
        if (st->match[i] == 0)
            p = smooth == XREM_BLEU_SMOOTH_METHOD1 ? 0.1 / (double)st->denom[i] : DBL_MIN;
        else
            p = (double)st->match[i] / (double)st->denom[i];
        terms[i] = w * log(p);
    }
    return bp * exp(py__fsum(terms, max_n));
}

double xrem_sacrebleu_score(const xrem_bleu_stats *st, int effective_order)
{
    if (!st) return NAN;
    double bp = 1.0;
    if (st->hyp_len < st->ref_len) bp = st->hyp_len > 0 ? exp(1.0 - (double)st->ref_len / (double)st->hyp_len) : 0.0;
    int any = 0;
    for (int i = 0; i < XREM_BLEU_MAX_N; i++) any |= st->match[i] != 0;
    if (!any) return 0.0;
    double prec[XREM_BLEU_MAX_N] = {0, 0, 0, 0}, smooth = 1.0;
    int eff = XREM_BLEU_MAX_N;
    for (int n = 1; n <= XREM_BLEU_MAX_N; n++) {
        if (st->total[n - 1] == 0) break;
        if (effective_order) eff = n;
        if (st->match[n - 1] == 0) {
            smooth *= 2;
            prec[n - 1] = 100.0 / (smooth * (double)st->total[n - 1]);
        } else {
            prec[n - 1] = 100.0 * (double)st->match[n - 1] / (double)st->total[n - 1];
        }
    }
    double s = 0.0; /* Python's sum(): left to right from 0 */
    for (int i = 0; i < eff; i++) s += prec[i] == 0.0 ? -9999999999.0 : log(prec[i]);
    return bp * exp(s / eff);
}

xrem_status xrem_bleu_tokens(xrem_bleu_ws *ws, xrem_bleu_tok tok, const char *s, size_t len, char **out,
                             size_t *out_len, int64_t *n_tok)
{
    if (!ws || !out || (!s && len)) return xrem_fail(XREM_ERR_ARG, "xrem_bleu_tokens: NULL argument");
    if (tok != XREM_BLEU_TOK_FASTBLEU && tok != XREM_BLEU_TOK_NLTK && tok != XREM_BLEU_TOK_13A)
        return xrem_fail(XREM_ERR_ARG, "xrem_bleu_tokens: unknown tokenizer %d", (int)tok);
    size_t T = 0;
    if (!tok__run(ws, tok, 0, s ? s : "", len, &T)) return ws__nomem();
    size_t total = 1;
    for (size_t t = 0; t < T; t++) total += ws->tok[t].len + 1;
    char *b = malloc(total);
    if (!b) return ws__nomem();
    size_t o = 0;
    for (size_t t = 0; t < T; t++) {
        memcpy(b + o, ws->txt[0] + ws->tok[t].off, ws->tok[t].len);
        o += ws->tok[t].len;
        b[o++] = 0;
    }
    b[o] = 0;
    *out = b;
    if (out_len) *out_len = o;
    if (n_tok) *n_tok = (int64_t)T;
    return XREM_OK;
}
