/* The byte-level BPE tokenizer (GPT-2 / RoBERTa): see bpe.h for the contract.
 *
 * Strings live in one pool per tokenizer. Two string maps index it: the vocabulary (token -> id)
 * and the symbol table (every string a merge mentions or makes, plus the 256 byte characters ->
 * symbol number). A merge is a pair of symbol numbers -> (rank, merged symbol), kept in an
 * open-addressing hash on the packed pair. BPE then runs on arrays of symbol numbers, and each
 * final symbol's vocabulary id was worked out once at load.
 */
#include "text/bpe.h"
#include "text/utf8.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/bpe_unicode.h"

/* ---------------------------------------------------------------------------------------------
 * Unicode helpers */

static uint8_t uc_props(uint32_t cp)
{
    int lo = 0, hi = XREM_BPE_UC_NRANGES - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (xrem_bpe_uc_ranges[mid].lo <= cp)
            lo = mid;
        else
            hi = mid - 1;
    }
    return xrem_bpe_uc_ranges[lo].props;
}

/* One code point at s[*i..n), ill-formed input as CPython's errors="replace" counts it. */
static inline uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    uint32_t cp;
    *i += xrem_utf8_decode_replace((const char *)s + *i, n - *i, &cp);
    return cp;
}

static inline int utf8_put(uint32_t cp, char *o) { return (int)xrem_utf8_encode(cp, o); }

void xrem_utf8_strip_py(const char *s, size_t n, size_t *off, size_t *len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, start = n, end = 0;
    while (i < n) { /* first and one-past-last non-space code point */
        size_t at = i;
        uint32_t cp = utf8_next(u, n, &i);
        if (!(uc_props(cp) & XREM_BPE_UC_PYSPACE)) {
            if (start == n) start = at;
            end = i;
        }
    }
    if (start == n) {
        *off = n;
        *len = 0;
        return;
    }
    *off = start;
    *len = end - start;
}

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 bytes to
 * U+0100 upwards in byte order. */
static uint32_t byte_char(int b)
{
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (uint32_t)b;
    int n = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) n++;
    return 256u + (uint32_t)n;
}

/* ---------------------------------------------------------------------------------------------
 * String pool and string -> int map */

#define FNV_OFFSET 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
    }
    return h;
}

typedef struct {
    char *pool; /* NUL-terminated strings back to back */
    size_t used, cap;
} strpool;

/* Appends s[0..n) + NUL; *off = its offset. */
static xrem_status pool_add(strpool *p, const char *s, size_t n, size_t *off)
{
    if (p->cap - p->used < n + 1) {
        size_t nc = p->cap ? p->cap : 1 << 16;
        while (nc - p->used < n + 1) {
            if (nc > SIZE_MAX / 2) return xrem_fail(XREM_ERR_NOMEM, "bpe: string pool overflow");
            nc *= 2;
        }
        char *np = realloc(p->pool, nc);
        if (!np) return xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory (string pool of %zu bytes)", nc);
        p->pool = np;
        p->cap = nc;
    }
    memcpy(p->pool + p->used, s, n);
    p->pool[p->used + n] = 0;
    *off = p->used;
    p->used += n + 1;
    return XREM_OK;
}

/* Entries (pool offset, length, value) and an open-addressing index of entry numbers. */
typedef struct {
    size_t *off;
    uint32_t *len;
    int32_t *val;
    int64_t n, ncap;
    int32_t *slot; /* [cap] entry number or -1 */
    uint64_t cap;  /* power of two; kept at least 2n */
} strmap;

static void strmap_free(strmap *m)
{
    free(m->off);
    free(m->len);
    free(m->val);
    free(m->slot);
    memset(m, 0, sizeof *m);
}

static int64_t strmap_find(const strmap *m, const char *pool, const char *s, size_t n)
{
    if (!m->cap) return -1;
    for (uint64_t i = hash_bytes(s, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        int32_t e = m->slot[i];
        if (e < 0) return -1;
        if (m->len[e] == n && memcmp(pool + m->off[e], s, n) == 0) return e;
    }
}

static xrem_status strmap_rehash(strmap *m, const char *pool, uint64_t cap)
{
    int32_t *slot = malloc(cap * sizeof *slot);
    if (!slot) return xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory (hash of %llu slots)", (unsigned long long)cap);
    memset(slot, 0xff, cap * sizeof *slot);
    for (int64_t e = 0; e < m->n; e++) {
        uint64_t i = hash_bytes(pool + m->off[e], m->len[e]) & (cap - 1);
        while (slot[i] >= 0)
            i = (i + 1) & (cap - 1);
        slot[i] = (int32_t)e;
    }
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return XREM_OK;
}

/* Finds s or adds it (copied into the pool) with value val; *entry = its entry number, *added
 * whether it was new. The pool may move: callers hold offsets, never pointers. */
static xrem_status strmap_intern(strmap *m, strpool *p, const char *s, size_t n, int32_t val, int64_t *entry,
                                 int *added)
{
    int64_t e = strmap_find(m, p->pool, s, n);
    if (added) *added = e < 0;
    if (e >= 0) {
        *entry = e;
        return XREM_OK;
    }
    if (m->n >= INT32_MAX - 1) return xrem_fail(XREM_ERR_NOMEM, "bpe: more than 2^31 strings");
    if (m->n == m->ncap) {
        int64_t nc = m->ncap ? m->ncap * 2 : 1024;
        size_t *o = realloc(m->off, (size_t)nc * sizeof *o);
        if (o) m->off = o;
        uint32_t *l = realloc(m->len, (size_t)nc * sizeof *l);
        if (l) m->len = l;
        int32_t *v = realloc(m->val, (size_t)nc * sizeof *v);
        if (v) m->val = v;
        if (!o || !l || !v) return xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory (%lld strings)", (long long)nc);
        m->ncap = nc;
    }
    size_t off = 0;
    xrem_status st = pool_add(p, s, n, &off);
    if (st) return st;
    e = m->n++;
    m->off[e] = off;
    m->len[e] = (uint32_t)n;
    m->val[e] = val;
    if ((uint64_t)m->n * 2 > m->cap) {
        st = strmap_rehash(m, p->pool, m->cap ? m->cap * 2 : 2048);
        if (st) return st;
    } else {
        uint64_t i = hash_bytes(s, n) & (m->cap - 1);
        while (m->slot[i] >= 0)
            i = (i + 1) & (m->cap - 1);
        m->slot[i] = (int32_t)e;
    }
    *entry = e;
    return XREM_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The tokenizer */

typedef struct {
    uint64_t key; /* (first << 32 | second) + 1; 0 = empty */
    int32_t rank, merged;
} pair_slot;

struct xrem_bpe {
    strpool pool;
    strmap vocab;      /* token -> id */
    int64_t nid;       /* largest id + 1 */
    int64_t *id_entry; /* [nid] vocab entry of each id, -1 if none */
    strmap sym;        /* symbol string -> symbol number (= entry number) */
    int32_t *sym_id;   /* [nsym] vocabulary id of each symbol, -1 if absent */
    int32_t byte_sym[256];
    pair_slot *pairs; /* [pcap] */
    uint64_t pcap, npairs;
    int64_t nmerges;
    int32_t special_id[XREM_BPE_NSPECIAL];
    int64_t special_entry[XREM_BPE_NSPECIAL]; /* vocab entry of the role's string, -1 if none */
    unsigned lstrip, rstrip;
    uint8_t ascii[128]; /* uc_props of ASCII */
};

static uint64_t pair_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

static const pair_slot *pair_find(const xrem_bpe *b, int32_t first, int32_t second)
{
    uint64_t key = ((uint64_t)(uint32_t)first << 32 | (uint32_t)second) + 1;
    for (uint64_t i = pair_hash(key) & (b->pcap - 1);; i = (i + 1) & (b->pcap - 1)) {
        if (b->pairs[i].key == key) return &b->pairs[i];
        if (b->pairs[i].key == 0) return NULL;
    }
}

static xrem_status pair_put(xrem_bpe *b, int32_t first, int32_t second, int32_t rank, int32_t merged)
{
    if ((b->npairs + 1) * 2 > b->pcap) {
        uint64_t nc = b->pcap ? b->pcap * 2 : 4096;
        pair_slot *np = calloc(nc, sizeof *np);
        if (!np)
            return xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory (merge table of %llu slots)", (unsigned long long)nc);
        for (uint64_t i = 0; i < b->pcap; i++) {
            if (!b->pairs[i].key) continue;
            uint64_t j = pair_hash(b->pairs[i].key) & (nc - 1);
            while (np[j].key)
                j = (j + 1) & (nc - 1);
            np[j] = b->pairs[i];
        }
        free(b->pairs);
        b->pairs = np;
        b->pcap = nc;
    }
    uint64_t key = ((uint64_t)(uint32_t)first << 32 | (uint32_t)second) + 1;
    uint64_t i = pair_hash(key) & (b->pcap - 1);
    while (b->pairs[i].key && b->pairs[i].key != key)
        i = (i + 1) & (b->pcap - 1);
    if (!b->pairs[i].key) b->npairs++;
    b->pairs[i] = (pair_slot){key, rank, merged}; /* a repeated pair takes the later rank, like HF's dict */
    return XREM_OK;
}

void xrem_bpe_specials_roberta(xrem_bpe_specials *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->tok[XREM_BPE_CLS] = "<s>";
    sp->tok[XREM_BPE_BOS] = "<s>";
    sp->tok[XREM_BPE_SEP] = "</s>";
    sp->tok[XREM_BPE_EOS] = "</s>";
    sp->tok[XREM_BPE_PAD] = "<pad>";
    sp->tok[XREM_BPE_UNK] = "<unk>";
    sp->tok[XREM_BPE_MASK] = "<mask>";
    sp->lstrip = 1u << XREM_BPE_MASK;
}

void xrem_bpe_free(xrem_bpe *b)
{
    if (!b) return;
    free(b->pool.pool);
    strmap_free(&b->vocab);
    strmap_free(&b->sym);
    free(b->id_entry);
    free(b->sym_id);
    free(b->pairs);
    free(b);
}

int64_t xrem_bpe_vocab_size(const xrem_bpe *b)
{
    return b ? b->nid : 0;
}
int64_t xrem_bpe_merges(const xrem_bpe *b)
{
    return b ? b->nmerges : 0;
}

int32_t xrem_bpe_id(const xrem_bpe *b, const char *token)
{
    int64_t e = strmap_find(&b->vocab, b->pool.pool, token, strlen(token));
    return e < 0 ? -1 : b->vocab.val[e];
}

const char *xrem_bpe_token(const xrem_bpe *b, int32_t id)
{
    if (id < 0 || id >= b->nid || b->id_entry[id] < 0) return NULL;
    return b->pool.pool + b->vocab.off[b->id_entry[id]];
}

int32_t xrem_bpe_special_id(const xrem_bpe *b, xrem_bpe_role r)
{
    return (r >= 0 && r < XREM_BPE_NSPECIAL) ? b->special_id[r] : -1;
}

/* Splits a merges line on str.isspace() characters into at most 3 parts (3 = "more than 2"). */
static int split_ws(const char *s, size_t n, size_t off[3], size_t len[3])
{
    const unsigned char *u = (const unsigned char *)s;
    int parts = 0;
    size_t i = 0, start = 0;
    int in = 0;
    while (i < n) {
        size_t at = i;
        uint32_t cp = utf8_next(u, n, &i);
        int sp = (uc_props(cp) & XREM_BPE_UC_PYSPACE) != 0;
        if (!sp && !in) {
            in = 1;
            start = at;
        } else if (sp && in) {
            in = 0;
            if (parts < 3) {
                off[parts] = start;
                len[parts] = at - start;
            }
            parts++;
        }
    }
    if (in) {
        if (parts < 3) {
            off[parts] = start;
            len[parts] = n - start;
        }
        parts++;
    }
    return parts > 3 ? 3 : parts;
}

static xrem_status bpe_add_merge(xrem_bpe *b, const char *line, int64_t rank)
{
    size_t off[3], len[3];
    if (split_ws(line, strlen(line), off, len) != 2)
        return XREM_OK; /* HF keeps it as a tuple that never equals a pair: no effect */
    char stack[512], *ab = stack;
    size_t n = len[0] + len[1];
    if (n > sizeof stack && !(ab = malloc(n))) return xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory");
    memcpy(ab, line + off[0], len[0]);
    memcpy(ab + len[0], line + off[1], len[1]);
    int64_t sa, sb, sab;
    xrem_status st = strmap_intern(&b->sym, &b->pool, line + off[0], len[0], 0, &sa, NULL);
    if (!st) st = strmap_intern(&b->sym, &b->pool, line + off[1], len[1], 0, &sb, NULL);
    if (!st) st = strmap_intern(&b->sym, &b->pool, ab, n, 0, &sab, NULL);
    if (!st) st = pair_put(b, (int32_t)sa, (int32_t)sb, (int32_t)rank, (int32_t)sab);
    if (ab != stack) free(ab);
    return st;
}

/* Does a occur inside b (a != b)? */
static int str_inside(const char *a, const char *b)
{
    return strcmp(a, b) != 0 && strstr(b, a) != NULL;
}

static xrem_status bpe_finish(xrem_bpe *b, const xrem_bpe_specials *sp_in)
{
    xrem_bpe_specials def;
    if (!sp_in) {
        xrem_bpe_specials_roberta(&def);
        sp_in = &def;
    }
    xrem_status st = XREM_OK;
    for (int c = 0; !st && c < 256; c++) {
        char buf[4];
        int n = utf8_put(byte_char(c), buf);
        int64_t e;
        st = strmap_intern(&b->sym, &b->pool, buf, (size_t)n, 0, &e, NULL);
        b->byte_sym[c] = (int32_t)e;
    }
    if (st) return st;
    b->sym_id = malloc((size_t)(b->sym.n ? b->sym.n : 1) * sizeof *b->sym_id);
    if (!b->sym_id) return xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory");
    for (int64_t s = 0; s < b->sym.n; s++) {
        int64_t e = strmap_find(&b->vocab, b->pool.pool, b->pool.pool + b->sym.off[s], b->sym.len[s]);
        b->sym_id[s] = e < 0 ? -1 : b->vocab.val[e];
    }
    for (int r = 0; r < XREM_BPE_NSPECIAL; r++) {
        b->special_id[r] = -1;
        b->special_entry[r] = -1;
        const char *t = sp_in->tok[r];
        if (!t || !*t) continue;
        int64_t e = strmap_find(&b->vocab, b->pool.pool, t, strlen(t));
        if (e < 0) return xrem_fail(XREM_ERR_FORMAT, "bpe: special token '%s' is not in the vocabulary", t);
        b->special_id[r] = b->vocab.val[e];
        b->special_entry[r] = e;
        for (int q = 0; q < r; q++)
            if (sp_in->tok[q] && (str_inside(t, sp_in->tok[q]) || str_inside(sp_in->tok[q], t)))
                return xrem_fail(XREM_ERR_UNSUPPORTED,
                                 "bpe: special tokens '%s' and '%s' overlap (one inside the other): not supported",
                                 sp_in->tok[q], t);
    }
    if (b->special_id[XREM_BPE_CLS] < 0 || b->special_id[XREM_BPE_SEP] < 0)
        return xrem_fail(XREM_ERR_FORMAT, "bpe: the tokenizer needs cls and sep tokens");
    b->lstrip = sp_in->lstrip;
    b->rstrip = sp_in->rstrip;
    for (uint32_t c = 0; c < 128; c++)
        b->ascii[c] = uc_props(c);
    return XREM_OK;
}

/* Adds token -> id to the vocabulary (a repeated token: the later id wins). */
static xrem_status bpe_add_token(xrem_bpe *b, const char *s, size_t n, int64_t id, int64_t **id_entry, int64_t *id_cap)
{
    if (id < 0 || id >= INT32_MAX) return xrem_fail(XREM_ERR_FORMAT, "bpe: token id %lld out of range", (long long)id);
    int64_t e;
    int added;
    xrem_status st = strmap_intern(&b->vocab, &b->pool, s, n, (int32_t)id, &e, &added);
    if (st) return st;
    if (!added) { /* the old id no longer names this token */
        int32_t old = b->vocab.val[e];
        if ((*id_entry)[old] == e) (*id_entry)[old] = -1;
        b->vocab.val[e] = (int32_t)id;
    }
    if (id >= *id_cap) {
        int64_t nc = *id_cap ? *id_cap : 1024;
        while (nc <= id)
            nc *= 2;
        int64_t *ne = realloc(*id_entry, (size_t)nc * sizeof *ne);
        if (!ne) return xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory");
        for (int64_t i = *id_cap; i < nc; i++)
            ne[i] = -1;
        *id_entry = ne;
        *id_cap = nc;
    }
    (*id_entry)[id] = e;
    if (id + 1 > b->nid) b->nid = id + 1;
    return XREM_OK;
}

xrem_status xrem_bpe_from_strings(const char *const *vocab, int64_t nvocab, const char *const *merges, int64_t nmerges,
                                  const xrem_bpe_specials *sp, xrem_bpe **out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "bpe: out is NULL");
    *out = NULL;
    if (nvocab < 0 || nmerges < 0 || (nvocab && !vocab) || (nmerges && !merges))
        return xrem_fail(XREM_ERR_ARG, "bpe: bad vocabulary or merges arguments");
    if (nvocab >= INT32_MAX || nmerges >= INT32_MAX)
        return xrem_fail(XREM_ERR_ARG, "bpe: more than 2^31 tokens or merges");
    xrem_bpe *b = calloc(1, sizeof *b);
    if (!b) return xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory");
    int64_t cap = 0;
    xrem_status st = XREM_OK;
    for (int64_t i = 0; !st && i < nvocab; i++)
        if (vocab[i] && vocab[i][0]) st = bpe_add_token(b, vocab[i], strlen(vocab[i]), i, &b->id_entry, &cap);
    for (int64_t r = 0; !st && r < nmerges; r++)
        st = merges[r] ? bpe_add_merge(b, merges[r], r) : XREM_OK;
    b->nmerges = nmerges;
    if (!st && !b->id_entry && !(b->id_entry = calloc(1, sizeof *b->id_entry)))
        st = xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory");
    if (!st) st = bpe_finish(b, sp);
    if (st) {
        xrem_bpe_free(b);
        return st;
    }
    *out = b;
    return XREM_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Files */

static xrem_status read_file(const char *path, char **buf, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return xrem_fail(XREM_ERR_IO, "%s: cannot open", path);
    char *b = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            size_t nc = cap ? cap * 2 : 1 << 20;
            if (nc > ((size_t)1 << 34)) {
                free(b);
                fclose(f);
                return xrem_fail(XREM_ERR_FORMAT, "%s: larger than 16 GiB", path);
            }
            char *nb = realloc(b, nc);
            if (!nb) {
                free(b);
                fclose(f);
                return xrem_fail(XREM_ERR_NOMEM, "%s: out of memory reading it", path);
            }
            b = nb;
            cap = nc;
        }
        size_t got = fread(b + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(b);
        return xrem_fail(XREM_ERR_IO, "%s: read error", path);
    }
    b[len] = 0;
    *buf = b;
    *n = len;
    return XREM_OK;
}

/* Line number (1-based) of byte offset at in s. */
static long line_of(const char *s, size_t at)
{
    long line = 1;
    for (size_t i = 0; i < at; i++)
        line += s[i] == '\n';
    return line;
}

typedef struct {
    const char *path, *s;
    size_t n, i;
    char *str; /* decoded string buffer */
    size_t str_cap;
} json_ctx;

static xrem_status json_err(json_ctx *j, const char *what)
{
    return xrem_fail(XREM_ERR_FORMAT, "%s: line %ld: %s", j->path, line_of(j->s, j->i < j->n ? j->i : j->n), what);
}

static void json_ws(json_ctx *j)
{
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static int hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0) return 0;
        *v = *v << 4 | (uint32_t)d;
    }
    return 1;
}

/* A JSON string at j->i (on the opening quote) into j->str; *len its UTF-8 length. */
static xrem_status json_string(json_ctx *j, size_t *len)
{
    if (j->i >= j->n || j->s[j->i] != '"') return json_err(j, "expected a string");
    j->i++;
    size_t o = 0;
    for (;;) {
        if (j->str_cap - o < 8) {
            size_t nc = j->str_cap ? j->str_cap * 2 : 256;
            char *ns = realloc(j->str, nc);
            if (!ns) return xrem_fail(XREM_ERR_NOMEM, "%s: out of memory", j->path);
            j->str = ns;
            j->str_cap = nc;
        }
        if (j->i >= j->n) return json_err(j, "unterminated string");
        unsigned char c = (unsigned char)j->s[j->i];
        if (c == '"') {
            j->i++;
            break;
        }
        if (c < 0x20) return json_err(j, "control character in a string");
        if (c == '\\') {
            if (j->i + 1 >= j->n) return json_err(j, "unterminated escape");
            char e = j->s[j->i + 1];
            const char *map = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *p = strchr(map, e);
            if (e && p) {
                j->str[o++] = to[p - map];
                j->i += 2;
                continue;
            }
            if (e != 'u') return json_err(j, "bad escape in a string");
            uint32_t cp, lo;
            if (j->i + 6 > j->n || !hex4(j->s + j->i + 2, &cp)) return json_err(j, "bad \\u escape");
            j->i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF && j->i + 6 <= j->n && j->s[j->i] == '\\' && j->s[j->i + 1] == 'u' &&
                hex4(j->s + j->i + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                j->i += 6;
            } else if (cp >= 0xD800 && cp <= 0xDFFF)
                return json_err(j, "lone surrogate escape (not representable in UTF-8)");
            o += (size_t)utf8_put(cp, j->str + o);
            continue;
        }
        size_t at = j->i;
        uint32_t cp = utf8_next((const unsigned char *)j->s, j->n, &j->i);
        if (cp == 0xFFFD && !(j->i - at == 3 && memcmp(j->s + at, "\xEF\xBF\xBD", 3) == 0))
            return json_err(j, "invalid UTF-8");
        memcpy(j->str + o, j->s + at, j->i - at);
        o += j->i - at;
    }
    *len = o;
    return XREM_OK;
}

static xrem_status parse_vocab_json(xrem_bpe *b, const char *path, const char *s, size_t n)
{
    json_ctx j = {path, s, n, 0, NULL, 0};
    int64_t cap = 0;
    xrem_status st = XREM_OK;
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        return json_err(&j, "starts with a byte order mark (json.load refuses it)");
    json_ws(&j);
    if (j.i >= n || s[j.i] != '{') return json_err(&j, "expected a JSON object {\"token\": id, ...}");
    j.i++;
    json_ws(&j);
    if (j.i < n && s[j.i] == '}')
        j.i++;
    else
        for (;;) {
            size_t len = 0;
            json_ws(&j);
            if ((st = json_string(&j, &len))) break;
            json_ws(&j);
            if (j.i >= n || s[j.i] != ':') {
                st = json_err(&j, "expected ':'");
                break;
            }
            j.i++;
            json_ws(&j);
            size_t d = j.i;
            int64_t id = 0;
            while (j.i < n && s[j.i] >= '0' && s[j.i] <= '9' && id < INT32_MAX)
                id = id * 10 + (s[j.i++] - '0');
            if (j.i == d ||
                (j.i < n && (s[j.i] == '.' || s[j.i] == 'e' || s[j.i] == 'E' || (s[j.i] >= '0' && s[j.i] <= '9'))) ||
                (j.i - d > 1 && s[d] == '0')) {
                st = json_err(&j, "a token id must be a non-negative integer below 2^31");
                break;
            }
            if ((st = bpe_add_token(b, j.str, len, id, &b->id_entry, &cap))) break;
            json_ws(&j);
            if (j.i < n && s[j.i] == ',') {
                j.i++;
                continue;
            }
            if (j.i < n && s[j.i] == '}') {
                j.i++;
                break;
            }
            st = json_err(&j, "expected ',' or '}'");
            break;
        }
    if (!st) {
        json_ws(&j);
        if (j.i != n) st = json_err(&j, "extra data after the JSON object");
    }
    free(j.str);
    if (!st && !b->id_entry && !(b->id_entry = calloc(1, sizeof *b->id_entry)))
        st = xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory");
    return st;
}

/* merges.txt as HF reads it: universal newlines, split("\n")[1:-1]. */
static xrem_status parse_merges(xrem_bpe *b, const char *path, char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) { /* \r\n and \r -> \n, in place */
        if (s[i] == '\r') {
            s[o++] = '\n';
            if (i + 1 < n && s[i + 1] == '\n') i++;
        } else
            s[o++] = s[i];
    }
    s[o] = 0;
    n = o;
    for (size_t i = 0; i < n; i++)
        if (s[i] == 0) return xrem_fail(XREM_ERR_FORMAT, "%s: line %ld: NUL byte", path, line_of(s, i));
    /* validate UTF-8 (Python would refuse to read the file otherwise) */
    for (size_t i = 0; i < n;) {
        size_t at = i;
        uint32_t cp = utf8_next((const unsigned char *)s, n, &i);
        if (cp == 0xFFFD && !(i - at == 3 && memcmp(s + at, "\xEF\xBF\xBD", 3) == 0))
            return xrem_fail(XREM_ERR_FORMAT, "%s: line %ld: invalid UTF-8", path, line_of(s, at));
    }
    /* elements of split("\n"): lines[0] and the last one are dropped */
    int64_t nel = 1;
    for (size_t i = 0; i < n; i++)
        nel += s[i] == '\n';
    int64_t rank = 0, el = 0;
    size_t start = 0;
    xrem_status st = XREM_OK;
    for (size_t i = 0; !st && i <= n; i++) {
        if (i < n && s[i] != '\n') continue;
        if (el > 0 && el < nel - 1) {
            s[i] = 0;
            st = bpe_add_merge(b, s + start, rank++);
        }
        el++;
        start = i + 1;
    }
    b->nmerges = rank;
    return st;
}

xrem_status xrem_bpe_load_files(const char *vocab_json, const char *merges_txt, const xrem_bpe_specials *sp,
                                xrem_bpe **out)
{
    if (!out || !vocab_json || !merges_txt) return xrem_fail(XREM_ERR_ARG, "bpe: path or out is NULL");
    *out = NULL;
    xrem_bpe *b = calloc(1, sizeof *b);
    if (!b) return xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory");
    char *buf = NULL;
    size_t n = 0;
    xrem_status st = read_file(vocab_json, &buf, &n);
    if (!st) st = parse_vocab_json(b, vocab_json, buf, n);
    free(buf);
    buf = NULL;
    if (!st) st = read_file(merges_txt, &buf, &n);
    if (!st) st = parse_merges(b, merges_txt, buf, n);
    free(buf);
    if (!st) st = bpe_finish(b, sp);
    if (st) {
        xrem_bpe_free(b);
        return st;
    }
    *out = b;
    return XREM_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Tokenizing */

typedef struct {
    const xrem_bpe *b;
    char *u; /* the text as valid UTF-8 (prefix space added) */
    size_t nu;
    uint32_t *cp; /* [ncp] code points */
    size_t *at;   /* [ncp + 1] byte offset of each in u */
    size_t ncp;
    int32_t *ids;
    int64_t n, cap, limit;     /* stop once n >= limit (limit < 0: never) */
    int32_t *sym, *tmp, *rank; /* BPE work arrays */
    size_t wcap;
    xrem_status st;
} tok_ctx;

static uint8_t ctx_props(const tok_ctx *c, size_t k)
{
    uint32_t cp = c->cp[k];
    return cp < 128 ? c->b->ascii[cp] : uc_props(cp);
}

static void emit(tok_ctx *c, int32_t id)
{
    if (c->st) return;
    if (c->n == c->cap) {
        int64_t nc = c->cap ? c->cap * 2 : 64;
        int32_t *ni = realloc(c->ids, (size_t)nc * sizeof *ni);
        if (!ni) {
            c->st = xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory");
            return;
        }
        c->ids = ni;
        c->cap = nc;
    }
    c->ids[c->n++] = id;
}

static int done(const tok_ctx *c)
{
    return c->st || (c->limit >= 0 && c->n >= c->limit);
}

static int32_t sym_rank(const xrem_bpe *b, int32_t first, int32_t second, int32_t *merged)
{
    const pair_slot *p = b->pcap ? pair_find(b, first, second) : NULL;
    if (!p) return INT32_MAX;
    *merged = p->merged;
    return p->rank;
}

/* BPE of the bytes u[lo..hi): HF's bpe(): merge every occurrence of the lowest-ranked adjacent
 * pair, left to right, until no pair has a rank. */
static void bpe_piece(tok_ctx *c, size_t lo, size_t hi)
{
    const xrem_bpe *b = c->b;
    size_t m = hi - lo;
    if (m > c->wcap) {
        size_t nc = c->wcap ? c->wcap : 64;
        while (nc < m)
            nc *= 2;
        int32_t *s = realloc(c->sym, nc * sizeof *s), *t = s ? realloc(c->tmp, nc * sizeof *t) : NULL;
        if (s) c->sym = s;
        if (t) c->tmp = t;
        int32_t *r = t ? realloc(c->rank, nc * sizeof *r) : NULL;
        if (r) c->rank = r;
        if (!r) {
            c->st = xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory (a word of %zu bytes)", m);
            return;
        }
        c->wcap = nc;
    }
    int32_t *sym = c->sym, *tmp = c->tmp, *rank = c->rank;
    for (size_t i = 0; i < m; i++)
        sym[i] = b->byte_sym[(unsigned char)c->u[lo + i]];
    int32_t merged = -1;
    for (size_t i = 0; i + 1 < m; i++)
        rank[i] = sym_rank(b, sym[i], sym[i + 1], &merged);
    while (m > 1) {
        size_t best = 0;
        for (size_t i = 1; i + 1 < m; i++)
            if (rank[i] < rank[best]) best = i;
        if (rank[best] == INT32_MAX) break;
        const int32_t first = sym[best], second = sym[best + 1];
        sym_rank(b, first, second, &merged);
        size_t w = 0;
        for (size_t i = 0; i < m;) {
            if (i + 1 < m && sym[i] == first && sym[i + 1] == second) {
                tmp[w++] = merged;
                i += 2;
            } else
                tmp[w++] = sym[i++];
        }
        m = w;
        int32_t *x = sym;
        sym = tmp;
        tmp = x;
        for (size_t i = 0; i + 1 < m; i++) /* the ranks around every merge changed; recompute all */
            rank[i] = sym_rank(b, sym[i], sym[i + 1], &merged);
    }
    for (size_t i = 0; i < m && !c->st; i++) {
        int32_t id = b->sym_id[sym[i]];
        if (id < 0) {
            id = b->special_id[XREM_BPE_UNK];
            if (id < 0) {
                c->st = xrem_fail(XREM_ERR_FORMAT, "bpe: token '%s' is not in the vocabulary and there is no unk token",
                                  b->pool.pool + b->sym.off[sym[i]]);
                return;
            }
        }
        emit(c, id);
    }
    if (sym != c->sym) { /* keep the buffers owned by the context */
        c->tmp = c->sym;
        c->sym = sym;
    }
}

/* k = 0: \p{L}, 1: \p{N}, 2: [^\s\p{L}\p{N}] */
static int in_class(const tok_ctx *c, int k, size_t j)
{
    uint8_t p = ctx_props(c, j);
    if (k == 0) return (p & XREM_BPE_UC_L) != 0;
    if (k == 1) return (p & XREM_BPE_UC_N) != 0;
    return !(p & (XREM_BPE_UC_S | XREM_BPE_UC_L | XREM_BPE_UC_N));
}

/* The GPT-2 pattern over code points [a, b); each match goes through BPE. */
static void pretokenize(tok_ctx *c, size_t a, size_t b)
{
    size_t i = a;
    while (i < b && !done(c)) {
        size_t e = i;
        const uint32_t ch = c->cp[i];
        if (ch == '\'' && i + 1 < b) { /* 's|'t|'re|'ve|'m|'ll|'d */
            uint32_t n1 = c->cp[i + 1], n2 = i + 2 < b ? c->cp[i + 2] : 0;
            if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd')
                e = i + 2;
            else if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l'))
                e = i + 3;
        }
        /* ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: the optional U+0020 is tried first;
         * without it the class must match at i itself (never true for a space) */
        for (int k = 0; k < 3 && e == i; k++) {
            size_t s = (ch == ' ' && i + 1 < b && in_class(c, k, i + 1)) ? i + 1 : i;
            size_t j = s;
            while (j < b && in_class(c, k, j))
                j++;
            if (j > s) e = j;
        }
        if (e == i) { /* \s+(?!\S) | \s+ */
            size_t j = i;
            while (j < b && (ctx_props(c, j) & XREM_BPE_UC_S))
                j++;
            if (j == b || j - i == 1)
                e = j;
            else
                e = j - 1; /* leave the last space to prefix the next word */
        }
        if (e == i) /* unreachable: every character matches one alternative */
            e = i + 1;
        bpe_piece(c, c->at[i], c->at[e]);
        i = e;
    }
}

static int is_pyspace(const tok_ctx *c, size_t k)
{
    return (ctx_props(c, k) & XREM_BPE_UC_PYSPACE) != 0;
}

/* Which special role's string starts at code point k (longest), -1 if none; *end = cp index after. */
static int special_at(const tok_ctx *c, size_t k, size_t *end)
{
    const xrem_bpe *b = c->b;
    int best = -1;
    size_t best_len = 0;
    for (int r = 0; r < XREM_BPE_NSPECIAL; r++) {
        if (b->special_entry[r] < 0) continue;
        size_t len = b->vocab.len[b->special_entry[r]];
        if (len > best_len && c->nu - c->at[k] >= len &&
            memcmp(c->u + c->at[k], b->pool.pool + b->vocab.off[b->special_entry[r]], len) == 0) {
            best = r;
            best_len = len;
        }
    }
    if (best >= 0) {
        size_t e = k;
        while (c->at[e] < c->at[k] + best_len)
            e++;
        *end = e;
    }
    return best;
}

static xrem_status tokenize_into(tok_ctx *c, const char *text, unsigned flags)
{
    const size_t n = strlen(text);
    /* 1-2: decode (invalid -> U+FFFD), prefix space */
    if (!(c->u = malloc(3 * n + 2)) || !(c->cp = malloc((n + 2) * sizeof *c->cp)) ||
        !(c->at = malloc((n + 3) * sizeof *c->at)))
        return xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory (a text of %zu bytes)", n);
    const unsigned char *t = (const unsigned char *)text;
    size_t i = 0;
    c->nu = 0;
    c->ncp = 0;
    while (i < n) {
        uint32_t cp = utf8_next(t, n, &i);
        if (c->ncp == 0 && (flags & XREM_BPE_PREFIX_SPACE) && !(uc_props(cp) & XREM_BPE_UC_PYSPACE)) {
            c->cp[c->ncp] = ' ';
            c->at[c->ncp++] = c->nu;
            c->u[c->nu++] = ' ';
        }
        c->cp[c->ncp] = cp;
        c->at[c->ncp++] = c->nu;
        c->nu += (size_t)utf8_put(cp, c->u + c->nu);
    }
    c->at[c->ncp] = c->nu;
    /* 3: special tokens split the text; each piece of text between them is pre-tokenized */
    size_t seg = 0;        /* start of the pending text */
    int prev_special = -1; /* role of the special token just before seg */
    for (size_t k = 0; k <= c->ncp && !done(c);) {
        size_t end = k;
        int r = k < c->ncp ? special_at(c, k, &end) : -1;
        if (r < 0 && k < c->ncp) {
            k++;
            continue;
        }
        size_t a = seg, z = k; /* the text seg..k, stripped where a neighbour asks for it */
        if (prev_special >= 0 && (c->b->rstrip >> prev_special & 1))
            while (a < z && is_pyspace(c, a))
                a++;
        if (r >= 0 && (c->b->lstrip >> r & 1))
            while (z > a && is_pyspace(c, z - 1))
                z--;
        if (z > a) pretokenize(c, a, z);
        if (r < 0 || done(c)) break;
        emit(c, c->b->special_id[r]);
        prev_special = r;
        seg = k = end;
    }
    return c->st;
}

static void ctx_free(tok_ctx *c)
{
    free(c->u);
    free(c->cp);
    free(c->at);
    free(c->sym);
    free(c->tmp);
    free(c->rank);
}

static xrem_status tokenize_limit(const xrem_bpe *b, const char *utf8, unsigned flags, int64_t limit, int32_t **ids,
                                  int64_t *n)
{
    tok_ctx c;
    memset(&c, 0, sizeof c);
    c.b = b;
    c.limit = limit;
    xrem_status st = tokenize_into(&c, utf8, flags);
    ctx_free(&c);
    if (!st && !c.ids && !(c.ids = malloc(sizeof *c.ids))) st = xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory");
    if (st) {
        free(c.ids);
        return st;
    }
    *ids = c.ids;
    *n = c.n;
    return XREM_OK;
}

xrem_status xrem_bpe_tokenize(const xrem_bpe *b, const char *utf8, unsigned flags, int32_t **ids, int64_t *n)
{
    if (ids) *ids = NULL;
    if (n) *n = 0;
    if (!b || !utf8 || !ids || !n) return xrem_fail(XREM_ERR_ARG, "bpe: tokenizer, text or output is NULL");
    return tokenize_limit(b, utf8, flags, -1, ids, n);
}

xrem_status xrem_bpe_encode(const xrem_bpe *b, const char *utf8, unsigned flags, int max_len, int32_t **ids, int64_t *n)
{
    if (ids) *ids = NULL;
    if (n) *n = 0;
    if (!b || !utf8 || !ids || !n) return xrem_fail(XREM_ERR_ARG, "bpe: tokenizer, text or output is NULL");
    if (max_len > 0 && max_len < 2)
        return xrem_fail(XREM_ERR_ARG, "bpe: max_len %d leaves no room for <s> and </s>", max_len);
    int32_t *t = NULL;
    int64_t nt = 0;
    xrem_status st = tokenize_limit(b, utf8, flags, max_len > 0 ? max_len - 2 : -1, &t, &nt);
    if (st) return st;
    if (max_len > 0 && nt > max_len - 2) nt = max_len - 2;
    int32_t *o = malloc((size_t)(nt + 2) * sizeof *o);
    if (!o) {
        free(t);
        return xrem_fail(XREM_ERR_NOMEM, "bpe: out of memory");
    }
    o[0] = b->special_id[XREM_BPE_CLS];
    memcpy(o + 1, t, (size_t)nt * sizeof *o);
    o[nt + 1] = b->special_id[XREM_BPE_SEP];
    free(t);
    *ids = o;
    *n = nt + 2;
    return XREM_OK;
}
