/* BLEU parity with fast_bleu 0.0.90, NLTK and sacreBLEU (goldens: scripts/make_bleu_goldens.py).
 *
 * 1. Hand-made edge cases (tests/golden/bleu_edge.csv, our own strings): every score to 1e-12.
 * 2. str.lower() on every code point (tests/golden/pylower_blocks.txt: sha256 per 4096-block).
 * 3. Real IU X-Ray report pairs rebuilt from $XREM_DATA_DIR/NLMCXR_reports.tgz by the rule in
 *    scripts/make_bleu_goldens.py; each pair's sha256 prefix is checked before its scores, then
 *    fast_bleu BLEU-2, NLTK sentence BLEU-2 (method1), sacreBLEU sentence BLEU per pair and the
 *    corpus NLTK BLEU-1..4 / sacreBLEU scores. Skipped (exit 77) when the data is absent.
 * Tolerance 1e-12 on the [0, 1] scale (sacreBLEU's 0..100 scores are divided by 100).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "bleu.h"
#include "core/csv.h"
#include "text/pylower.h"
#include "testutil.h"

#define TOL 1e-12

/* --- sha256 (FIPS 180-4) -------------------------------------------------------------------- */
typedef struct {
    uint32_t h[8];
    uint64_t n;
    unsigned char buf[64];
    size_t nb;
} sha256_ctx;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
    0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
    0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(sha256_ctx *c, const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
        h = g; g = f; f = e; e = d + t1; d = cc; cc = b; b = a; a = t1 + t2;
    }
    c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d; c->h[4] += e; c->h[5] += f; c->h[6] += g; c->h[7] += h;
}

static void sha_init(sha256_ctx *c)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, h0, sizeof h0);
    c->n = 0;
    c->nb = 0;
}

static void sha_update(sha256_ctx *c, const void *data, size_t n)
{
    const unsigned char *p = data;
    c->n += n;
    while (n) {
        size_t k = 64 - c->nb < n ? 64 - c->nb : n;
        memcpy(c->buf + c->nb, p, k);
        c->nb += k;
        p += k;
        n -= k;
        if (c->nb == 64) {
            sha_block(c, c->buf);
            c->nb = 0;
        }
    }
}

static void sha_hex(sha256_ctx *c, char out[65])
{
    uint64_t bits = c->n * 8;
    unsigned char pad = 0x80, z = 0;
    sha_update(c, &pad, 1);
    while (c->nb != 56) sha_update(c, &z, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha_update(c, len, 8);
    for (int i = 0; i < 8; i++) sprintf(out + 8 * i, "%08x", c->h[i]);
}

/* --- IU X-Ray reports from the tgz --------------------------------------------------------------- */
typedef struct {
    int64_t id;
    char *imp, *fin; /* NULL when absent */
} study;

static int study_cmp(const void *a, const void *b)
{
    const study *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Section text per scripts/make_bleu_goldens.py: first '<AbstractText Label="L">' up to the next
 * '</AbstractText>', entities decoded left to right; NULL when absent or empty. */
static char *xml_section(const char *xml, const char *label)
{
    char tag[64];
    snprintf(tag, sizeof tag, "<AbstractText Label=\"%s\">", label);
    const char *a = strstr(xml, tag);
    if (!a) return NULL;
    a += strlen(tag);
    const char *b = strstr(a, "</AbstractText>");
    if (!b || b == a) return NULL;
    char *o = malloc((size_t)(b - a) + 1);
    size_t n = 0;
    static const char *ent[5][2] = {{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
    for (const char *p = a; p < b;) {
        int done = 0;
        for (int k = 0; k < 5 && !done; k++) {
            size_t l = strlen(ent[k][0]);
            if ((size_t)(b - p) >= l && !memcmp(p, ent[k][0], l)) {
                o[n++] = ent[k][1][0];
                p += l;
                done = 1;
            }
        }
        if (!done) o[n++] = *p++;
    }
    o[n] = 0;
    if (n == 0) {
        free(o);
        return NULL;
    }
    return o;
}

/* Read every ecgen-radiology/<N>.xml of the tgz. Returns the count, -1 on error. */
static int64_t iu_read(const char *tgz, study **out)
{
    gzFile g = gzopen(tgz, "rb");
    if (!g) return -1;
    study *s = NULL;
    int64_t n = 0, cap = 0;
    unsigned char hdr[512];
    for (;;) {
        if (gzread(g, hdr, 512) != 512) break;
        int zero = 1;
        for (int i = 0; i < 512; i++) zero &= hdr[i] == 0;
        if (zero) break;
        char name[101];
        memcpy(name, hdr, 100);
        name[100] = 0;
        char szs[13];
        memcpy(szs, hdr + 124, 12);
        szs[12] = 0;
        uint64_t size = strtoull(szs, NULL, 8);
        if (size > (1u << 26)) break;
        size_t padded = (size_t)((size + 511) / 512 * 512);
        char *data = malloc(padded + 1);
        if (!data || gzread(g, data, (unsigned)padded) != (int)padded) {
            free(data);
            break;
        }
        data[size] = 0;
        const char *pre = "ecgen-radiology/";
        char *end;
        if ((hdr[156] == '0' || hdr[156] == 0) && !strncmp(name, pre, strlen(pre))) {
            long long id = strtoll(name + strlen(pre), &end, 10);
            if (end != name + strlen(pre) && !strcmp(end, ".xml")) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 4096;
                    s = realloc(s, (size_t)cap * sizeof *s);
                }
                s[n].id = id;
                s[n].imp = xml_section(data, "IMPRESSION");
                s[n].fin = xml_section(data, "FINDINGS");
                n++;
            }
        }
        free(data);
    }
    gzclose(g);
    *out = s;
    return n;
}

static uint64_t splitmix64(uint64_t *st)
{
    uint64_t z = (*st += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* --- helpers ----------------------------------------------------------------------------------- */
static double num(const xrem_csv *c, int64_t r, const char *col)
{
    int k;
    if (xrem_csv_column(c, col, &k) != XREM_OK) return NAN;
    const char *s = xrem_csv_get(c, r, k, NULL);
    return s ? strtod(s, NULL) : NAN;
}

static const char *str(const xrem_csv *c, int64_t r, const char *col)
{
    int k;
    if (xrem_csv_column(c, col, &k) != XREM_OK) return "";
    return xrem_csv_get(c, r, k, NULL);
}

static char *unhex(const char *h, size_t *n)
{
    size_t L = strlen(h) / 2;
    char *o = malloc(L + 1);
    for (size_t i = 0; i < L; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        o[i] = (char)v;
    }
    o[L] = 0;
    *n = L;
    return o;
}

typedef struct {
    double max_err;
    int64_t n, worst;
} errstat;

static void err_add(errstat *e, double got, double want, int64_t i)
{
    double d = fabs(got - want);
    if (isnan(got) != isnan(want)) d = INFINITY;
    if (d > e->max_err || (isnan(d))) {
        e->max_err = isnan(d) ? INFINITY : d;
        e->worst = i;
    }
    e->n++;
}

static void err_report(const char *what, const errstat *e, double tol)
{
    printf("  %-28s %6" PRId64 " values, max |err| %.3g%s\n", what, e->n, e->max_err, e->max_err > tol ? "  FAIL" : "");
    CHECK(e->max_err <= tol, "%s: max error %.3g at %" PRId64, what, e->max_err, e->worst);
}

/* The "long" edge case texts (scripts/make_bleu_goldens.py long_texts). */
static char *long_text(int which, size_t *n)
{
    size_t cap = 64000, o = 0;
    char *b = malloc(cap);
    int count = which ? 2500 : 3000, mod = which ? 89 : 97;
    for (int i = 0; i < count; i++)
        o += (size_t)snprintf(b + o, cap - o, which ? "%sWord%d" : "%sword%d.", i ? " " : "", i % mod);
    *n = o;
    return b;
}

/* --- parts ------------------------------------------------------------------------------------------ */
static int test_edge(xrem_bleu_ws *ws)
{
    xrem_csv *c;
    CHECK_OK(xrem_csv_read(xrem_test_src("tests/golden/bleu_edge.csv"), &c));
    errstat efb = {0}, enl = {0}, esa = {0}, e4n = {0}, e4m = {0};
    for (int64_t r = 0; r < xrem_csv_nrows(c); r++) {
        const char *name = str(c, r, "name");
        size_t rl, hl;
        char *ref, *hyp;
        if (!strcmp(name, "long")) {
            ref = long_text(0, &rl);
            hyp = long_text(1, &hl);
        } else {
            ref = unhex(str(c, r, "ref_hex"), &rl);
            hyp = unhex(str(c, r, "hyp_hex"), &hl);
        }
        double fb;
        xrem_bleu_stats sn, ss;
        CHECK_OK(xrem_bleu2(ws, ref, rl, hyp, hl, &fb));
        CHECK_OK(xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_NLTK, ref, rl, hyp, hl, 4, &sn));
        CHECK_OK(xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_13A, ref, rl, hyp, hl, 4, &ss));
        double nl = xrem_bleu_nltk_score(&sn, 2, XREM_BLEU_SMOOTH_METHOD1);
        double sa = xrem_sacrebleu_score(&ss, 1);
        double b4n = xrem_bleu_nltk_score(&sn, 4, XREM_BLEU_SMOOTH_NONE);
        double b4m = xrem_bleu_nltk_score(&sn, 4, XREM_BLEU_SMOOTH_METHOD1);
        double w[5] = {num(c, r, "fast_bleu2"), num(c, r, "nltk_bleu2"), num(c, r, "sacre_sent") / 100,
                       num(c, r, "nltk_bleu4_none"), num(c, r, "nltk_bleu4_method1")};
        double g[5] = {fb, nl, sa / 100, b4n, b4m};
        for (int k = 0; k < 5; k++)
            if (!(fabs(g[k] - w[k]) <= TOL))
                printf("  edge %-18s score %d: got %.17g want %.17g\n", name, k, g[k], w[k]);
        err_add(&efb, g[0], w[0], r);
        err_add(&enl, g[1], w[1], r);
        err_add(&esa, g[2], w[2], r);
        err_add(&e4n, g[3], w[3], r);
        err_add(&e4m, g[4], w[4], r);
        free(ref);
        free(hyp);
    }
    printf("edge cases (%" PRId64 "):\n", xrem_csv_nrows(c));
    err_report("fast_bleu BLEU-2", &efb, TOL);
    err_report("nltk sentence BLEU-2 m1", &enl, TOL);
    err_report("sacreBLEU sentence /100", &esa, TOL);
    err_report("nltk sentence BLEU-4 m0", &e4n, TOL);
    err_report("nltk sentence BLEU-4 m1", &e4m, TOL);
    xrem_csv_free(c);

    /* a few token lists spelled out, so a failure above is easy to read */
    struct {
        xrem_bleu_tok tok;
        const char *in, *want; /* tokens joined by '|' */
    } T[] = {
        {XREM_BLEU_TOK_FASTBLEU, "No acute.Disease.. X", "no|acute|.disease|.|.|x"},
        {XREM_BLEU_TOK_FASTBLEU, " a\tb  c\n", "a\tb|c\n"},
        {XREM_BLEU_TOK_FASTBLEU, "ΟΔΟΣ.", "οδος|."},
        {XREM_BLEU_TOK_FASTBLEU, "İ", "i\xcc\x87"},
        {XREM_BLEU_TOK_13A, "Hello, world (x-ray) 1,000.5 end.", "Hello|,|world|(|x-ray|)|1,000.5|end|."},
        {XREM_BLEU_TOK_13A, "a &amp;lt; b-\nc\n", "a|<|bc"},
    };
    for (size_t k = 0; k < sizeof T / sizeof T[0]; k++) {
        char *toks;
        size_t tl;
        int64_t nt;
        CHECK_OK(xrem_bleu_tokens(ws, T[k].tok, T[k].in, strlen(T[k].in), &toks, &tl, &nt));
        char joined[256] = "";
        size_t o = 0;
        for (size_t i = 0; i < tl && o < 250; i++) joined[o++] = toks[i] ? toks[i] : '|';
        if (o && joined[o - 1] == '|') o--;
        joined[o] = 0;
        CHECK(!strcmp(joined, T[k].want), "tokens of \"%s\": got \"%s\", want \"%s\"", T[k].in, joined, T[k].want);
        free(toks);
    }
    return 0;
}

static int test_lower(void)
{
    FILE *f = fopen(xrem_test_src("tests/golden/pylower_blocks.txt"), "r");
    CHECK(f != NULL, "cannot open pylower_blocks.txt");
    if (!f) return 0;
    char line[256];
    int blocks = 0, bad = 0;
    char *s = malloc(0x1000 * 9 + 16);
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        unsigned b;
        char want[80];
        if (sscanf(line, "%x %64s", &b, want) != 2) continue;
        size_t n = 0;
        char tmp[4];
        for (int pass = 0; pass < 2; pass++) {
            int first = 1;
            for (uint32_t cp = b; cp < b + 0x1000; cp++) {
                if (cp >= 0xD800 && cp <= 0xDFFF) continue;
                if (pass == 0 && !first) s[n++] = ' ';
                first = 0;
                size_t l;
                if (cp < 0x80) { tmp[0] = (char)cp; l = 1; }
                else if (cp < 0x800) { tmp[0] = (char)(0xC0 | (cp >> 6)); tmp[1] = (char)(0x80 | (cp & 0x3F)); l = 2; }
                else if (cp < 0x10000) { tmp[0] = (char)(0xE0 | (cp >> 12)); tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); tmp[2] = (char)(0x80 | (cp & 0x3F)); l = 3; }
                else { tmp[0] = (char)(0xF0 | (cp >> 18)); tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); tmp[3] = (char)(0x80 | (cp & 0x3F)); l = 4; }
                memcpy(s + n, tmp, l);
                n += l;
            }
            if (pass == 0) s[n++] = '\n';
        }
        char *low;
        size_t ln;
        CHECK_OK(xrem_pystr_lower(s, n, &low, &ln));
        sha256_ctx c;
        char got[65];
        sha_init(&c);
        sha_update(&c, low, ln);
        sha_hex(&c, got);
        free(low);
        blocks++;
        if (strcmp(got, want)) {
            bad++;
            printf("  str.lower() differs in block U+%05X\n", b);
        }
    }
    fclose(f);
    free(s);
    printf("str.lower(): %d blocks of 4096 code points, %d differ\n", blocks, bad);
    CHECK(blocks == 272 && bad == 0, "str.lower() parity: %d/%d blocks differ", bad, blocks);
    return 0;
}

static int test_iu(xrem_bleu_ws *ws, const char *dir, int *skipped)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/NLMCXR_reports.tgz", dir ? dir : "");
    FILE *probe = dir ? fopen(path, "rb") : NULL;
    if (!probe) {
        printf("IU X-Ray pairs: SKIPPED, %s not found (set XREM_DATA_DIR to the shared data folder)\n", path);
        *skipped = 1;
        return 0;
    }
    fclose(probe);
    study *S = NULL;
    int64_t ns = iu_read(path, &S);
    CHECK(ns > 3000, "read %" PRId64 " studies from %s", ns, path);
    if (ns <= 0) return 0;
    qsort(S, (size_t)ns, sizeof *S, study_cmp);
    int64_t n = 0; /* keep the studies with an IMPRESSION, in id order */
    for (int64_t i = 0; i < ns; i++) {
        if (S[i].imp) S[n++] = S[i];
        else free(S[i].fin);
    }
    xrem_csv *g;
    CHECK_OK(xrem_csv_read(xrem_test_src("tests/golden/bleu_iu.csv"), &g));
    CHECK(xrem_csv_nrows(g) == n, "golden has %" PRId64 " pairs, the tgz gives %" PRId64, xrem_csv_nrows(g), n);

    errstat efb = {0}, enl = {0}, esa = {0};
    int64_t hash_bad = 0;
    uint64_t st = 0x58524D45ULL;
    xrem_bleu_stats cn = {0}, cs = {0};
    sha256_ctx all;
    sha_init(&all);
    double fb_sum = 0, t_fast = 0;
    for (int64_t i = 0; i < n && i < xrem_csv_nrows(g); i++) {
        int64_t j = (int64_t)(splitmix64(&st) % (uint64_t)n);
        int kind = (int)(i % 3);
        const char *ref = S[i].imp, *hyp;
        int64_t hid;
        if (kind == 0) { hyp = S[j].imp; hid = S[j].id; }
        else if (kind == 1) { hyp = S[j].fin ? S[j].fin : S[j].imp; hid = S[j].id; }
        else if (S[i].fin) { hyp = S[i].fin; hid = S[i].id; }
        else { hyp = S[j].imp; hid = S[j].id; }
        size_t rl = strlen(ref), hl = strlen(hyp);
        sha256_ctx c;
        char hex[65];
        sha_init(&c);
        sha_update(&c, ref, rl);
        sha_update(&c, "", 1);
        sha_update(&c, hyp, hl);
        sha_hex(&c, hex);
        sha_update(&all, ref, rl);
        sha_update(&all, "", 1);
        sha_update(&all, hyp, hl);
        sha_update(&all, "", 1);
        if (strncmp(hex, str(g, i, "sha16"), 16) || (int64_t)num(g, i, "ref_id") != S[i].id || (int64_t)num(g, i, "hyp_id") != hid) {
            if (hash_bad++ < 5) printf("  pair %" PRId64 ": texts differ from the golden's (sha %.16s vs %s)\n", i, hex, str(g, i, "sha16"));
            continue;
        }
        double fb;
        clock_t t0 = clock();
        CHECK_OK(xrem_bleu2(ws, ref, rl, hyp, hl, &fb));
        t_fast += (double)(clock() - t0) / CLOCKS_PER_SEC;
        xrem_bleu_stats sn, ss;
        CHECK_OK(xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_NLTK, ref, rl, hyp, hl, 4, &sn));
        CHECK_OK(xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_13A, ref, rl, hyp, hl, 4, &ss));
        xrem_bleu_stats_add(&cn, &sn);
        xrem_bleu_stats_add(&cs, &ss);
        fb_sum += fb;
        err_add(&efb, fb, num(g, i, "fast_bleu2"), i);
        err_add(&enl, xrem_bleu_nltk_score(&sn, 2, XREM_BLEU_SMOOTH_METHOD1), num(g, i, "nltk_bleu2"), i);
        err_add(&esa, xrem_sacrebleu_score(&ss, 1) / 100, num(g, i, "sacre_sent") / 100, i);
    }
    CHECK(hash_bad == 0, "%" PRId64 " IU pairs do not match the golden's texts", hash_bad);
    printf("IU X-Ray pairs (%" PRId64 ", rebuilt from %s; BLEU-2 alone %.0f pairs/s):\n", n, path, t_fast > 0 ? efb.n / t_fast : 0.0);
    err_report("fast_bleu BLEU-2", &efb, TOL);
    err_report("nltk sentence BLEU-2 m1", &enl, TOL);
    err_report("sacreBLEU sentence /100", &esa, TOL);

    /* corpus values */
    FILE *f = fopen(xrem_test_src("tests/golden/bleu_iu_corpus.txt"), "r");
    CHECK(f != NULL, "cannot open bleu_iu_corpus.txt");
    char k[64], v[128], all_hex[65];
    sha_hex(&all, all_hex);
    errstat ec = {0};
    while (f && fscanf(f, "%63s %127s", k, v) == 2) {
        double want = strtod(v, NULL), got = NAN;
        int order;
        char sm[16];
        if (!strcmp(k, "pairs")) { CHECK((int64_t)want == n, "pairs %s vs %" PRId64, v, n); continue; }
        if (!strcmp(k, "sha256_all")) { CHECK(!strcmp(v, all_hex), "sha256 of all pairs differs"); continue; }
        if (sscanf(k, "nltk_corpus_bleu%d_%15s", &order, sm) == 2)
            got = xrem_bleu_nltk_score(&cn, order, !strcmp(sm, "method1") ? XREM_BLEU_SMOOTH_METHOD1 : XREM_BLEU_SMOOTH_NONE);
        else if (!strcmp(k, "sacre_corpus")) { got = xrem_sacrebleu_score(&cs, 0) / 100; want /= 100; }
        else if (!strcmp(k, "fast_bleu2_mean")) got = fb_sum / (double)n;
        if (fabs(got - want) > TOL) printf("  %s: got %.17g want %.17g\n", k, got, want);
        err_add(&ec, got, want, 0);
    }
    if (f) fclose(f);
    err_report("corpus NLTK/sacre/mean", &ec, TOL);
    xrem_csv_free(g);
    for (int64_t i = 0; i < n; i++) {
        free(S[i].imp);
        free(S[i].fin);
    }
    free(S);
    return 0;
}

/* Inputs that must not crash and must give defined numbers. */
static int test_robust(xrem_bleu_ws *ws)
{
    const char *bad[] = {"\xff\xfe", "\xc3", "\xed\xa0\x80 x", "\xf4\x90\x80\x80", "a\xce\xa3\xff", "\xce\xa3", "\xe2\x80"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        double s;
        xrem_bleu_stats st;
        CHECK_OK(xrem_bleu2(ws, bad[k], strlen(bad[k]), bad[k], strlen(bad[k]), &s));
        CHECK(s >= 0 && s <= 1, "bleu2 of invalid UTF-8 %zu: %g", k, s);
        CHECK_OK(xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_13A, bad[k], strlen(bad[k]), "x", 1, 4, &st));
    }
    double s;
    CHECK(xrem_bleu2(ws, NULL, 3, "a", 1, &s) == XREM_ERR_ARG, "NULL text with a length must fail");
    xrem_bleu_stats st;
    CHECK(xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_NLTK, "a", 1, "a", 1, 5, &st) == XREM_ERR_ARG, "max_n 5 must fail");
    CHECK_OK(xrem_bleu2(ws, NULL, 0, NULL, 0, &s));
    CHECK(s == 0.0, "empty pair: %g", s);
    return 0;
}

int main(void)
{
    xrem_bleu_ws *ws;
    CHECK_OK(xrem_bleu_ws_create(&ws));
    int skipped = 0;
    if (test_edge(ws)) return 1;
    if (test_lower()) return 1;
    if (test_robust(ws)) return 1;
    if (test_iu(ws, xrem_test_data_dir(), &skipped)) return 1;
    xrem_bleu_ws_free(ws);
    if (xrem_test_failures) {
        printf("test_bleu: %d failure(s)\n", xrem_test_failures);
        return 1;
    }
    if (skipped) return TEST_SKIP;
    printf("test_bleu: ok\n");
    return 0;
}
