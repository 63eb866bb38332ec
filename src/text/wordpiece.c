/* The bert-base-uncased WordPiece tokenizer: see wordpiece.h for the contract.
 *
 * One pass over the text. Code points are gathered into a word (the text between separators
 * after cleaning); each word goes through three streaming stages:
 *   A  str.lower() of each character (HF's tokenize(); no Final_Sigma) and full NFD decomposition,
 *   B  canonical ordering of each run of non-starters, dropping Mn as it goes,
 *   C  punctuation split into pieces, each piece WordPiece-matched against the vocab hash.
 * A piece never needs more than 101 code points, since anything longer is [UNK] whatever it holds.
 */
#include "text/wordpiece.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/unicode_tables.h"
#include "text/utf8.h"

/* ---------------------------------------------------------------------------------------------
 * Vocabulary: tokens in one pool, an open-addressing hash of ids. */

struct xrem_vocab {
    int64_t n;        /* tokens */
    char *pool;       /* every token NUL-terminated, back to back */
    size_t *off;      /* [n] start of token i in pool */
    uint32_t *len;    /* [n] byte length of token i */
    int32_t *slot;    /* [cap] token id or -1 */
    uint64_t cap;     /* power of two, >= 2n */
    uint32_t max_len; /* longest token in bytes: bounds the WordPiece search */
    int32_t unk, cls, sep, pad;
};

#define FNV_OFFSET 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

static uint64_t hash_bytes(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* Lookup of ("##" if cont) + s[0..n). The prefix is hashed in instead of copied so the
 * WordPiece inner loop can probe substrings of one buffer. */
static int32_t vocab_find(const xrem_vocab *v, int cont, const char *s, size_t n)
{
    size_t pre = cont ? 2 : 0;
    if (n + pre > v->max_len) return -1;
    uint64_t h = FNV_OFFSET;
    if (cont) h = hash_bytes(h, "##", 2);
    h = hash_bytes(h, s, n);
    for (uint64_t i = h & (v->cap - 1);; i = (i + 1) & (v->cap - 1)) {
        int32_t id = v->slot[i];
        if (id < 0) return -1;
        const char *t = v->pool + v->off[id];
        if (v->len[id] == n + pre && (!cont || (t[0] == '#' && t[1] == '#')) && memcmp(t + pre, s, n) == 0) return id;
    }
}

/* Builds off/len/slot over v->pool (n tokens already laid out NUL-separated). */
static xrem_status vocab_index(xrem_vocab *v)
{
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)v->n)
        cap *= 2;
    if (cap > SIZE_MAX / sizeof(int32_t))
        return xrem_fail(XREM_ERR_NOMEM, "vocab: %lld tokens are too many", (long long)v->n);
    v->slot = malloc(cap * sizeof(int32_t));
    if (!v->slot)
        return xrem_fail(XREM_ERR_NOMEM, "vocab: cannot allocate a hash of %llu slots", (unsigned long long)cap);
    memset(v->slot, 0xff, cap * sizeof(int32_t));
    v->cap = cap;
    v->max_len = 0;
    for (int64_t id = 0; id < v->n; id++) {
        const char *t = v->pool + v->off[id];
        uint32_t n = v->len[id];
        if (n > v->max_len) v->max_len = n;
        uint64_t i = hash_bytes(FNV_OFFSET, t, n) & (cap - 1);
        for (;; i = (i + 1) & (cap - 1)) {
            int32_t o = v->slot[i];
            if (o < 0 || (v->len[o] == n && memcmp(v->pool + v->off[o], t, n) == 0)) break;
        }
        v->slot[i] = (int32_t)id; /* a repeated token takes the later id, like HF's dict */
    }
    v->unk = xrem_vocab_id(v, "[UNK]");
    v->cls = xrem_vocab_id(v, "[CLS]");
    v->sep = xrem_vocab_id(v, "[SEP]");
    v->pad = xrem_vocab_id(v, "[PAD]");
    return XREM_OK;
}

void xrem_vocab_free(xrem_vocab *v)
{
    if (!v) return;
    free(v->pool);
    free(v->off);
    free(v->len);
    free(v->slot);
    free(v);
}

xrem_status xrem_vocab_from_strings(const char *const *tok, int64_t n, xrem_vocab **out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "vocab: out is NULL");
    *out = NULL;
    if (!tok || n <= 0 || n > INT32_MAX)
        return xrem_fail(XREM_ERR_ARG, "vocab: need 1 .. %d tokens, got %lld", INT32_MAX, (long long)n);
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!tok[i]) return xrem_fail(XREM_ERR_ARG, "vocab: token %lld is NULL", (long long)i);
        size_t l = strlen(tok[i]);
        if (l > UINT32_MAX - 3 || total > SIZE_MAX - l - 1)
            return xrem_fail(XREM_ERR_NOMEM, "vocab: token %lld is too long", (long long)i);
        total += l + 1;
    }
    xrem_vocab *v = calloc(1, sizeof *v);
    if (!v) return xrem_fail(XREM_ERR_NOMEM, "vocab: out of memory");
    v->n = n;
    v->pool = malloc(total);
    v->off = malloc((size_t)n * sizeof *v->off);
    v->len = malloc((size_t)n * sizeof *v->len);
    if (!v->pool || !v->off || !v->len) {
        xrem_vocab_free(v);
        return xrem_fail(XREM_ERR_NOMEM, "vocab: out of memory for %lld tokens", (long long)n);
    }
    size_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t l = strlen(tok[i]);
        memcpy(v->pool + at, tok[i], l + 1);
        v->off[i] = at;
        v->len[i] = (uint32_t)l;
        at += l + 1;
    }
    xrem_status st = vocab_index(v);
    if (st != XREM_OK) {
        xrem_vocab_free(v);
        return st;
    }
    *out = v;
    return XREM_OK;
}

/* Reads the whole file; NUL-terminates it for convenience. */
static xrem_status read_file(const char *path, char **buf, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return xrem_fail(XREM_ERR_IO, "vocab %s: cannot open", path);
    char *b = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            size_t nc = cap ? cap * 2 : 1 << 20;
            if (nc < cap || nc > ((size_t)1 << 40)) {
                free(b);
                fclose(f);
                return xrem_fail(XREM_ERR_FORMAT, "vocab %s: larger than 1 TiB", path);
            }
            char *nb = realloc(b, nc);
            if (!nb) {
                free(b);
                fclose(f);
                return xrem_fail(XREM_ERR_NOMEM, "vocab %s: out of memory reading it", path);
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
        return xrem_fail(XREM_ERR_IO, "vocab %s: read error", path);
    }
    b[len] = 0;
    *buf = b;
    *n = len;
    return XREM_OK;
}

/* Length of the valid UTF-8 sequence at s[0..n), 0 if invalid (overlong, surrogate, too big,
 * truncated). */
static int utf8_valid_len(const unsigned char *s, size_t n)
{
    uint32_t cp;
    size_t l = xrem_utf8_decode((const char *)s, n, &cp);
    return cp == XREM_UTF8_INVALID ? 0 : (int)l;
}

/* One code point at s[*i..n); an invalid byte gives U+FFFD and consumes that byte only (how many
 * U+FFFDs there are does not matter: the tokenizer drops them all, as BERT's does). */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    uint32_t cp;
    *i += xrem_utf8_decode((const char *)s + *i, n - *i, &cp);
    return cp == XREM_UTF8_INVALID ? 0xFFFD : cp;
}

static inline int utf8_put(uint32_t cp, char *o) { return (int)xrem_utf8_encode(cp, o); }

xrem_status xrem_vocab_load_txt(const char *path, xrem_vocab **out)
{
    if (!out || !path) return xrem_fail(XREM_ERR_ARG, "vocab: path or out is NULL");
    *out = NULL;
    char *buf = NULL;
    size_t n = 0;
    xrem_status st = read_file(path, &buf, &n);
    if (st != XREM_OK) return st;
    if (n == 0) {
        free(buf);
        return xrem_fail(XREM_ERR_FORMAT, "vocab %s: empty file", path);
    }
    /* Validate, and turn each line end (\n, \r\n, \r) into one NUL in place: the buffer becomes
     * the pool. */
    int64_t lines = 0;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)buf[i];
        if (c == 0) {
            free(buf);
            return xrem_fail(XREM_ERR_FORMAT, "vocab %s line %lld: NUL byte", path, (long long)lines + 1);
        }
        if (c == '\n' || c == '\r') {
            i += (c == '\r' && i + 1 < n && buf[i + 1] == '\n') ? 2 : 1;
            buf[w++] = 0;
            lines++;
            continue;
        }
        int l = utf8_valid_len((const unsigned char *)buf + i, n - i);
        if (l == 0) {
            free(buf);
            return xrem_fail(XREM_ERR_FORMAT, "vocab %s line %lld: invalid UTF-8 at byte %zu", path,
                             (long long)lines + 1, i);
        }
        memmove(buf + w, buf + i, (size_t)l);
        w += (size_t)l;
        i += (size_t)l;
    }
    if (w > 0 && buf[w - 1] != 0) { /* last line without a newline */
        buf[w++] = 0;
        lines++;
    }
    if (lines > INT32_MAX) {
        free(buf);
        return xrem_fail(XREM_ERR_FORMAT, "vocab %s: %lld lines, more than int32 ids", path, (long long)lines);
    }
    xrem_vocab *v = calloc(1, sizeof *v);
    if (!v) {
        free(buf);
        return xrem_fail(XREM_ERR_NOMEM, "vocab %s: out of memory", path);
    }
    v->pool = buf;
    v->n = lines;
    v->off = malloc((size_t)lines * sizeof *v->off);
    v->len = malloc((size_t)lines * sizeof *v->len);
    if (!v->off || !v->len) {
        xrem_vocab_free(v);
        return xrem_fail(XREM_ERR_NOMEM, "vocab %s: out of memory for %lld tokens", path, (long long)lines);
    }
    size_t at = 0;
    for (int64_t i = 0; i < lines; i++) {
        size_t l = strlen(buf + at);
        if (l > UINT32_MAX - 3) {
            xrem_vocab_free(v);
            return xrem_fail(XREM_ERR_FORMAT, "vocab %s line %lld: token too long", path, (long long)i + 1);
        }
        v->off[i] = at;
        v->len[i] = (uint32_t)l;
        at += l + 1;
    }
    st = vocab_index(v);
    if (st != XREM_OK) {
        xrem_vocab_free(v);
        return xrem_fail_context(st, "vocab %s", path);
    }
    *out = v;
    return XREM_OK;
}

int64_t xrem_vocab_size(const xrem_vocab *v)
{
    return v ? v->n : 0;
}

int32_t xrem_vocab_id(const xrem_vocab *v, const char *token)
{
    if (!v || !token) return -1;
    return vocab_find(v, 0, token, strlen(token));
}

const char *xrem_vocab_token(const xrem_vocab *v, int32_t id)
{
    if (!v || id < 0 || id >= v->n) return NULL;
    return v->pool + v->off[id];
}

/* ---------------------------------------------------------------------------------------------
 * Unicode lookups over the generated tables. */

static const xrem_uc_range *uc_range(uint32_t cp)
{
    if (cp < 128) return &xrem_uc_ascii[cp];
    int lo = 0, hi = XREM_UC_NRANGES - 1; /* last entry with .lo <= cp */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (xrem_uc_ranges[mid].lo <= cp)
            lo = mid;
        else
            hi = mid - 1;
    }
    return &xrem_uc_ranges[lo];
}

static const xrem_uc_map *uc_map_find(const xrem_uc_map *m, int n, uint32_t cp)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (m[mid].cp == cp) return &m[mid];
        if (m[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* HF's _is_chinese_char: the CJK ideograph blocks, not Hangul/kana. */
static int is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* ---------------------------------------------------------------------------------------------
 * The tokenizer state. */

#define PIECE_CAP (XREM_WORDPIECE_MAX_WORD_CHARS + 1)

typedef struct {
    const xrem_vocab *v;
    int32_t *out; /* ids so far */
    int64_t nout;
    size_t capout;
    int64_t limit;  /* stop once this many ids exist (INT64_MAX: no limit) */
    int done;       /* limit reached */
    xrem_status st; /* first failure; XREM_OK otherwise */
    uint32_t *word; /* the current word's code points, after cleaning */
    size_t nword, capword;
    uint32_t *run; /* stage B: pending non-Mn non-starters, cp | ccc << 24 */
    size_t nrun, caprun;
    uint32_t piece[PIECE_CAP]; /* stage C: the current piece, its first PIECE_CAP cps */
    size_t npiece;             /* the piece's true length */
} tok_ctx;

static void ctx_fail(tok_ctx *c, xrem_status st)
{
    if (c->st == XREM_OK) c->st = st;
    c->done = 1;
}

/* p grown (doubling) to hold `need` elements: the new pointer, or NULL with p untouched. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem) return NULL;
        nc *= 2;
    }
    void *np = realloc(p, nc * elem);
    if (np) *cap = nc;
    return np;
}

static void emit_ids(tok_ctx *c, const int32_t *ids, int64_t n)
{
    if (c->done) return;
    if (n > c->limit - c->nout) n = c->limit - c->nout;
    int32_t *np = grow(c->out, &c->capout, (size_t)(c->nout + n), sizeof(int32_t));
    if (!np) {
        ctx_fail(c, xrem_fail(XREM_ERR_NOMEM, "tokenize: out of memory for %lld ids", (long long)(c->nout + n)));
        return;
    }
    c->out = np;
    memcpy(c->out + c->nout, ids, (size_t)n * sizeof(int32_t));
    c->nout += n;
    if (c->nout >= c->limit) c->done = 1;
}

static void emit_unk(tok_ctx *c)
{
    if (c->v->unk < 0) {
        ctx_fail(c, xrem_fail(XREM_ERR_FORMAT, "tokenize: the vocabulary has no [UNK] token"));
        return;
    }
    emit_ids(c, &c->v->unk, 1);
}

/* Stage C end: WordPiece over the finished piece. */
static void piece_flush(tok_ctx *c)
{
    size_t n = c->npiece;
    c->npiece = 0;
    if (n == 0 || c->done) return;
    if (n > XREM_WORDPIECE_MAX_WORD_CHARS) {
        emit_unk(c);
        return;
    }
    char buf[PIECE_CAP * 4];
    int off[PIECE_CAP + 1]; /* byte offset of each code point */
    off[0] = 0;
    for (size_t k = 0; k < n; k++)
        off[k + 1] = off[k] + utf8_put(c->piece[k], buf + off[k]);
    int32_t sub[XREM_WORDPIECE_MAX_WORD_CHARS];
    int nsub = 0;
    size_t start = 0;
    while (start < n) {
        int32_t id = -1;
        size_t end = n;
        for (; end > start; end--) {
            id = vocab_find(c->v, start > 0, buf + off[start], (size_t)(off[end] - off[start]));
            if (id >= 0) break;
        }
        if (id < 0) { /* HF: the whole piece is one [UNK], matched prefixes are discarded */
            emit_unk(c);
            return;
        }
        sub[nsub++] = id;
        start = end;
    }
    emit_ids(c, sub, nsub);
}

/* Stage C: punctuation split. */
static void stage_c(tok_ctx *c, uint32_t cp, uint8_t props)
{
    if (props & XREM_UC_MN) return;
    if (props & XREM_UC_PUNCT) {
        piece_flush(c);
        c->piece[0] = cp;
        c->npiece = 1;
        piece_flush(c);
        return;
    }
    if (c->npiece < PIECE_CAP) c->piece[c->npiece] = cp;
    c->npiece++;
}

/* Stage B end: stable sort of the pending non-starters by combining class (counting sort: runs
 * can be long in hostile input), then on to stage C. Entries are cp | ccc << 24. */
static void run_flush(tok_ctx *c)
{
    size_t n = c->nrun;
    c->nrun = 0;
    if (n == 0) return;
    if (n > 1) {
        size_t count[257] = {0};
        for (size_t k = 0; k < n; k++)
            count[(c->run[k] >> 24) + 1]++;
        for (int k = 1; k < 257; k++)
            count[k] += count[k - 1];
        uint32_t small[16];
        uint32_t *tmp = n <= 16 ? small : malloc(n * sizeof *tmp);
        if (!tmp) {
            ctx_fail(c, xrem_fail(XREM_ERR_NOMEM, "tokenize: out of memory"));
            return;
        }
        for (size_t k = 0; k < n; k++)
            tmp[count[c->run[k] >> 24]++] = c->run[k];
        memcpy(c->run, tmp, n * sizeof *tmp);
        if (tmp != small) free(tmp);
    }
    for (size_t k = 0; k < n; k++) {
        uint32_t cp = c->run[k] & 0xFFFFFF;
        stage_c(c, cp, uc_range(cp)->props);
    }
}

/* Stage B: canonical ordering. Mn characters are dropped later anyway, and a stable sort of a
 * run restricted to the survivors equals sorting the survivors alone; but an Mn still belongs to
 * the run (it does not end it), and an Mn starter (ccc 0) does end it. */
static void stage_b(tok_ctx *c, uint32_t cp)
{
    const xrem_uc_range *r = uc_range(cp);
    if (r->ccc == 0) {
        run_flush(c);
        stage_c(c, cp, r->props);
        return;
    }
    if (r->props & XREM_UC_MN) return;
    uint32_t *np = grow(c->run, &c->caprun, c->nrun + 1, sizeof(uint32_t));
    if (!np) {
        ctx_fail(c, xrem_fail(XREM_ERR_NOMEM, "tokenize: out of memory"));
        return;
    }
    c->run = np;
    c->run[c->nrun++] = cp | (uint32_t)r->ccc << 24;
}

/* Full NFD of one code point into stage B. */
static void decompose(tok_ctx *c, uint32_t cp)
{
    if (cp < 0xC0) { /* nothing below U+00C0 decomposes */
        stage_b(c, cp);
        return;
    }
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllable: L V (T), Unicode ch. 3.12 */
        uint32_t s = cp - 0xAC00;
        stage_b(c, 0x1100 + s / (21 * 28));
        stage_b(c, 0x1161 + (s % (21 * 28)) / 28);
        if (s % 28) stage_b(c, 0x11A7 + s % 28);
        return;
    }
    const xrem_uc_map *m = uc_map_find(xrem_uc_decomp, XREM_UC_NDECOMP, cp);
    if (!m) {
        stage_b(c, cp);
        return;
    }
    for (int k = 0; k < m->len; k++)
        stage_b(c, xrem_uc_decomp_pool[m->off + k]);
}

/* HF's all_special_tokens: recognised in any text, whatever the vocabulary. */
static const char *const special_names[5] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};

/* A special token split out of the raw text: its id, [UNK] when the vocabulary lacks it. */
static void emit_special(tok_ctx *c, const char *name)
{
    int32_t id = xrem_vocab_id(c->v, name);
    if (id >= 0)
        emit_ids(c, &id, 1);
    else
        emit_unk(c);
}

/* Stage A over the finished word, then flush every stage. */
static void word_flush(tok_ctx *c)
{
    size_t n = c->nword;
    if (n == 0 || c->done) {
        c->nword = 0;
        return;
    }
    for (size_t i = 0; i < n && !c->done; i++) {
        uint32_t cp = c->word[i];
        if (cp < 0x80) {
            stage_b(c, (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp);
            continue;
        }
        if (cp == 0x3A3) { /* HF lowercases one character at a time: never the final form */
            decompose(c, 0x3C3);
            continue;
        }
        const xrem_uc_map *m = uc_map_find(xrem_uc_lower, XREM_UC_NLOWER, cp);
        if (!m) {
            decompose(c, cp);
            continue;
        }
        for (int k = 0; k < m->len; k++)
            decompose(c, xrem_uc_lower_pool[m->off + k]);
    }
    run_flush(c);
    piece_flush(c);
    c->nword = 0;
}

static void word_push(tok_ctx *c, uint32_t cp)
{
    uint32_t *np = grow(c->word, &c->capword, c->nword + 1, sizeof(uint32_t));
    if (!np) {
        ctx_fail(c, xrem_fail(XREM_ERR_NOMEM, "tokenize: out of memory for a %zu-char word", c->nword + 1));
        return;
    }
    c->word = np;
    c->word[c->nword++] = cp;
}

/* Length of the special token string at s (raw text), 0 if none. transformers 4.x splits these out
 * of the raw text, byte for byte, before any cleaning, and lowercases every other character, so a
 * word that only spells a special token after cleaning ("[S<U+200B>EP]", a KELVIN SIGN in "[UNK]")
 * is ordinary text: HF's never_split (case-sensitive) cannot match it once lowercased. */
static int raw_special(const char *s, int32_t *which)
{
    if (s[0] != '[') return 0;
    for (int k = 0; k < 5; k++) {
        size_t l = strlen(special_names[k]);
        if (strncmp(s, special_names[k], l) == 0) {
            *which = k;
            return (int)l;
        }
    }
    return 0;
}

static void tokenize_text(tok_ctx *c, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    for (size_t i = 0; i < n && !c->done;) {
        int32_t which;
        int sl = raw_special(text + i, &which);
        if (sl) {
            word_flush(c);
            emit_special(c, special_names[which]);
            i += (size_t)sl;
            continue;
        }
        uint32_t cp = utf8_next(s, n, &i);
        uint8_t cls = uc_range(cp)->props & XREM_UC_CLASS_MASK;
        if (cls == XREM_UC_DROP) continue;
        if (cls == XREM_UC_SPACE) {
            word_flush(c);
            continue;
        }
        if (is_cjk(cp)) {
            word_flush(c);
            word_push(c, cp);
            word_flush(c);
            continue;
        }
        word_push(c, cp);
    }
    word_flush(c);
}

static void ctx_free(tok_ctx *c)
{
    free(c->word);
    free(c->run);
}

/* Tokenizes text into a fresh id array, stopping after `limit` ids. */
static xrem_status tokenize_limit(const xrem_vocab *v, const char *text, int64_t limit, int32_t **ids, int64_t *n)
{
    tok_ctx c;
    memset(&c, 0, sizeof c);
    c.v = v;
    c.limit = limit;
    c.done = limit <= 0;
    c.out = grow(NULL, &c.capout, 64, sizeof(int32_t));
    if (!c.out) return xrem_fail(XREM_ERR_NOMEM, "tokenize: out of memory");
    tokenize_text(&c, text);
    ctx_free(&c);
    if (c.st != XREM_OK) {
        free(c.out);
        return c.st;
    }
    *ids = c.out;
    *n = c.nout;
    return XREM_OK;
}

xrem_status xrem_wordpiece_tokenize(const xrem_vocab *v, const char *utf8, int32_t **ids, int64_t *n)
{
    if (ids) *ids = NULL;
    if (n) *n = 0;
    if (!v || !utf8 || !ids || !n) return xrem_fail(XREM_ERR_ARG, "tokenize: NULL argument");
    return tokenize_limit(v, utf8, INT64_MAX, ids, n);
}

xrem_status xrem_wordpiece_encode(const xrem_vocab *v, const char *utf8, int max_len, int32_t *ids, int *len)
{
    if (len) *len = 0;
    if (!v || !utf8 || !ids || !len) return xrem_fail(XREM_ERR_ARG, "encode: NULL argument");
    if (max_len < 1) return xrem_fail(XREM_ERR_ARG, "encode: max_len %d < 1", max_len);
    if (v->cls < 0) return xrem_fail(XREM_ERR_FORMAT, "encode: the vocabulary has no [CLS] token");
    int32_t *tok;
    int64_t n;
    xrem_status st = tokenize_limit(v, utf8, max_len - 1, &tok, &n);
    if (st != XREM_OK) return st;
    ids[0] = v->cls;
    memcpy(ids + 1, tok, (size_t)n * sizeof(int32_t));
    *len = (int)n + 1;
    free(tok);
    return XREM_OK;
}

xrem_status xrem_wordpiece_encode_pair(const xrem_vocab *v, const char *a, const char *b, int max_len, int32_t *ids,
                                       int32_t *types, int *len)
{
    if (len) *len = 0;
    if (!v || !a || !b || !ids || !types || !len) return xrem_fail(XREM_ERR_ARG, "encode_pair: NULL argument");
    if (max_len < 3) return xrem_fail(XREM_ERR_ARG, "encode_pair: max_len %d < 3 ([CLS] a [SEP] b [SEP])", max_len);
    if (v->cls < 0 || v->sep < 0) return xrem_fail(XREM_ERR_FORMAT, "encode_pair: the vocabulary lacks [CLS] or [SEP]");
    /* Only the first max_len ids of either text can survive, and the truncation rule below
     * gives the same cut for any length >= max_len, so tokenizing further is wasted. */
    int32_t *ta, *tb;
    int64_t la, lb;
    xrem_status st = tokenize_limit(v, a, max_len, &ta, &la);
    if (st != XREM_OK) return st;
    st = tokenize_limit(v, b, max_len, &tb, &lb);
    if (st != XREM_OK) {
        free(ta);
        return st;
    }
    /* HF truncate_sequences 'longest_first': drop one id at a time from the end of the longer
     * sequence, from b when they are equally long. */
    int64_t budget = max_len - 3;
    while (la + lb > budget) {
        if (la > lb)
            la--;
        else
            lb--;
    }
    int k = 0;
    ids[k] = v->cls;
    types[k++] = 0;
    for (int64_t i = 0; i < la; i++) {
        ids[k] = ta[i];
        types[k++] = 0;
    }
    ids[k] = v->sep;
    types[k++] = 0;
    for (int64_t i = 0; i < lb; i++) {
        ids[k] = tb[i];
        types[k++] = 1;
    }
    ids[k] = v->sep;
    types[k++] = 1;
    *len = k;
    free(ta);
    free(tb);
    return XREM_OK;
}

void xrem_text_batch_free(xrem_text_batch *b)
{
    if (!b) return;
    free(b->ids);
    free(b->mask);
    free(b->types);
    free(b->len);
    memset(b, 0, sizeof *b);
}

xrem_status xrem_text_batch_encode(const xrem_vocab *v, const char *const *texts, int B, int max_len,
                                   xrem_text_batch *out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "text batch: out is NULL");
    memset(out, 0, sizeof *out);
    if (!v || !texts || B < 1 || max_len < 1)
        return xrem_fail(XREM_ERR_ARG, "text batch: need a vocab, texts, B >= 1 (got %d), max_len >= 1 (got %d)", B,
                         max_len);
    if (v->pad < 0) return xrem_fail(XREM_ERR_FORMAT, "text batch: the vocabulary has no [PAD] token");
    if ((size_t)B > SIZE_MAX / sizeof(int32_t) / (size_t)max_len)
        return xrem_fail(XREM_ERR_NOMEM, "text batch: %d x %d ids overflow", B, max_len);
    size_t cells = (size_t)B * (size_t)max_len;
    int32_t *all = malloc(cells * sizeof(int32_t));
    out->len = malloc((size_t)B * sizeof(int));
    if (!all || !out->len) {
        free(all);
        xrem_text_batch_free(out);
        return xrem_fail(XREM_ERR_NOMEM, "text batch: out of memory for %d x %d ids", B, max_len);
    }
    int T = 1;
    for (int i = 0; i < B; i++) {
        if (!texts[i]) {
            free(all);
            xrem_text_batch_free(out);
            return xrem_fail(XREM_ERR_ARG, "text batch: text %d is NULL", i);
        }
        xrem_status st = xrem_wordpiece_encode(v, texts[i], max_len, all + (size_t)i * max_len, &out->len[i]);
        if (st != XREM_OK) {
            free(all);
            xrem_text_batch_free(out);
            return xrem_fail_context(st, "text batch: text %d", i);
        }
        if (out->len[i] > T) T = out->len[i];
    }
    size_t n = (size_t)B * (size_t)T;
    out->ids = malloc(n * sizeof(int32_t));
    out->mask = malloc(n * sizeof(int32_t));
    out->types = calloc(n, sizeof(int32_t));
    if (!out->ids || !out->mask || !out->types) {
        free(all);
        xrem_text_batch_free(out);
        return xrem_fail(XREM_ERR_NOMEM, "text batch: out of memory for %d x %d ids", B, T);
    }
    for (int i = 0; i < B; i++) {
        for (int t = 0; t < T; t++) {
            int real = t < out->len[i];
            out->ids[(size_t)i * T + t] = real ? all[(size_t)i * max_len + t] : v->pad;
            out->mask[(size_t)i * T + t] = real;
        }
    }
    free(all);
    out->B = B;
    out->T = T;
    return XREM_OK;
}
