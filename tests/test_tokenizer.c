/* WordPiece tokenizer vs HF's slow BertTokenizer (goldens from scripts/make_tokenizer_goldens.py).
 *
 * 1. Hand-made hard cases (tests/golden/tokenizer_cases.tsv): exact ids of tokenize, encode
 *    (ALBEF [CLS] + N-1 tokens) and encode_pair (HF longest_first) for each.
 * 2. Every IMPRESSION and FINDINGS of the Indiana reports, read from the shared
 *    NLMCXR_reports.tgz at run time: id count and sha256 prefix of ",".join(ids) against
 *    tests/golden/tokenizer_reports.tsv, and (IMPRESSION, FINDINGS) pairs against
 *    tokenizer_report_pairs.tsv.
 * 3. A batch, greedy longest match on a toy vocab, vocab file parsing, errors, hostile input.
 * Needs the shared data folder (vocab and reports); exits 77 without it.
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r, strdup, mkstemp, clock_gettime */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/sha256.h"
#include "testutil.h"
#include "text/wordpiece.h"
#include "xrem/status.h"

/* CHECK_OK for functions returning void. */
#define REQUIRE_OK(expr) \
    do { \
        xrem_status st_ = (expr); \
        if (st_ != XREM_OK) { \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, xrem_last_error()); \
            xrem_test_failures++; \
            return; \
        } \
    } while (0)

/* First 16 hex digits of sha256(",".join(ids)), as the golden script writes them. */
static void ids_sha16(const int32_t *ids, int64_t n, char out[17])
{
    xrem_sha256 c;
    xrem_sha256_init(&c);
    char num[16];
    for (int64_t i = 0; i < n; i++) {
        int l = snprintf(num, sizeof num, i ? ",%d" : "%d", ids[i]);
        xrem_sha256_update(&c, num, (size_t)l);
    }
    char hex[65];
    xrem_sha256_final_hex(&c, hex);
    memcpy(out, hex, 16);
    out[16] = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Small helpers. */

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            b = realloc(b, cap);
        }
        size_t got = fread(b + len, 1, cap - len - 1, f);
        if (got == 0)
            break;
        len += got;
    }
    fclose(f);
    b[len] = 0;
    if (n)
        *n = len;
    return b;
}

/* Splits s in place at `sep`; returns the number of fields (at most max). */
static int split(char *s, char sep, char **f, int max)
{
    int n = 0;
    f[n++] = s;
    for (char *p = s; *p && n < max; p++)
        if (*p == sep) {
            *p = 0;
            f[n++] = p + 1;
        }
    return n;
}

/* "1,2,3" or "-" into a malloc'd array. */
static int32_t *parse_ids(const char *s, int64_t *n)
{
    int64_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    int32_t *v = malloc((size_t)cap * sizeof *v);
    *n = 0;
    if (strcmp(s, "-") == 0)
        return v;
    const char *p = s;
    while (*p) {
        char *e;
        v[(*n)++] = (int32_t)strtol(p, &e, 10);
        p = *e == ',' ? e + 1 : e;
        if (e == p && *p)
            break;
    }
    return v;
}

static char *hex_decode(const char *h)
{
    if (strcmp(h, "-") == 0)
        return strdup("");
    size_t n = strlen(h) / 2;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        s[i] = (char)v;
    }
    s[n] = 0;
    return s;
}

static int same_ids(const int32_t *a, int64_t na, const int32_t *b, int64_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof *a) == 0);
}

static void print_ids(const char *what, const int32_t *ids, int64_t n)
{
    fprintf(stderr, "    %s (%lld):", what, (long long)n);
    for (int64_t i = 0; i < n && i < 40; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 40 ? " ...\n" : "\n");
}

/* ---------------------------------------------------------------------------------------------
 * 1. Hand-made cases. */

#define MAX_CASES 256

typedef struct {
    char *name;
    char *text;
    int32_t *ids; /* golden tokenize */
    int64_t n;
} tcase;

static tcase cases[MAX_CASES];
static int ncases;

static const char *case_text(const char *name)
{
    for (int i = 0; i < ncases; i++)
        if (strcmp(cases[i].name, name) == 0)
            return cases[i].text;
    return NULL;
}

static int check_cases(const xrem_vocab *v)
{
    size_t len;
    char *buf = slurp(xrem_test_src("tests/golden/tokenizer_cases.tsv"), &len);
    if (!buf) {
        fprintf(stderr, "cannot read tests/golden/tokenizer_cases.tsv\n");
        xrem_test_failures++;
        return 0;
    }
    int ntok = 0, nenc = 0, npair = 0, bad = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *f[7];
        if (split(line, '\t', f, 7) != 7) {
            fprintf(stderr, "tokenizer_cases.tsv: malformed line\n");
            xrem_test_failures++;
            continue;
        }
        int64_t ng, nt = 0;
        int32_t *gold = parse_ids(f[5], &ng);
        if (strcmp(f[0], "tok") == 0) {
            if (ncases == MAX_CASES)
                break;
            tcase *c = &cases[ncases++];
            c->name = strdup(f[1]);
            c->text = hex_decode(f[3]);
            c->ids = gold;
            c->n = ng;
            int32_t *got;
            int64_t n;
            xrem_status st = xrem_wordpiece_tokenize(v, c->text, &got, &n);
            CHECK(st == XREM_OK, "tokenize %s: %s", c->name, xrem_last_error());
            if (st == XREM_OK && !same_ids(got, n, gold, ng)) {
                fprintf(stderr, "MISMATCH tokenize case %s\n", c->name);
                print_ids("want", gold, ng);
                print_ids("got ", got, n);
                bad++;
            }
            free(got);
            ntok++;
            continue;
        }
        int N = atoi(f[2]);
        int32_t *ids = malloc((size_t)N * sizeof *ids), *types = malloc((size_t)N * sizeof *types);
        int got_len = 0;
        if (strcmp(f[0], "enc") == 0) {
            const char *t = case_text(f[3]);
            CHECK(t != NULL, "enc row names unknown case %s", f[3]);
            if (t) {
                xrem_status st = xrem_wordpiece_encode(v, t, N, ids, &got_len);
                CHECK(st == XREM_OK, "encode %s: %s", f[1], xrem_last_error());
                if (!same_ids(ids, got_len, gold, ng)) {
                    fprintf(stderr, "MISMATCH encode case %s max_len %d\n", f[1], N);
                    print_ids("want", gold, ng);
                    print_ids("got ", ids, got_len);
                    bad++;
                }
            }
            nenc++;
        } else if (strcmp(f[0], "pair") == 0) {
            const char *a = case_text(f[3]), *b = case_text(f[4]);
            CHECK(a && b, "pair row names unknown cases %s/%s", f[3], f[4]);
            int32_t *gtypes = parse_ids(f[6], &nt);
            if (a && b) {
                xrem_status st = xrem_wordpiece_encode_pair(v, a, b, N, ids, types, &got_len);
                CHECK(st == XREM_OK, "encode_pair %s: %s", f[1], xrem_last_error());
                if (!same_ids(ids, got_len, gold, ng) || !same_ids(types, got_len, gtypes, nt)) {
                    fprintf(stderr, "MISMATCH encode_pair case %s max_len %d\n", f[1], N);
                    print_ids("want ids  ", gold, ng);
                    print_ids("got ids   ", ids, got_len);
                    print_ids("want types", gtypes, nt);
                    print_ids("got types ", types, got_len);
                    bad++;
                }
            }
            free(gtypes);
            npair++;
        } else {
            fprintf(stderr, "tokenizer_cases.tsv: unknown kind %s\n", f[0]);
            xrem_test_failures++;
        }
        free(ids);
        free(types);
        free(gold);
    }
    free(buf);
    printf("cases: %d tokenize, %d encode, %d encode_pair checked, %d mismatches\n", ntok, nenc, npair, bad);
    CHECK(ntok >= 40 && nenc >= 100 && npair >= 50, "too few golden cases (%d/%d/%d)", ntok, nenc, npair);
    xrem_test_failures += bad;
    return ntok;
}

/* The padded batch of every case text must be the encode goldens, padded. */
static void check_batch(const xrem_vocab *v)
{
    const char *texts[MAX_CASES];
    for (int i = 0; i < ncases; i++)
        texts[i] = cases[i].text;
    xrem_text_batch b;
    xrem_status st = xrem_text_batch_encode(v, texts, ncases, 25, &b);
    CHECK(st == XREM_OK, "batch: %s", xrem_last_error());
    if (st != XREM_OK)
        return;
    int T = 1, bad = 0;
    int32_t pad = xrem_vocab_id(v, "[PAD]"), cls = xrem_vocab_id(v, "[CLS]");
    for (int i = 0; i < ncases; i++) {
        int64_t want = cases[i].n + 1 < 25 ? cases[i].n + 1 : 25;
        if (want > T)
            T = (int)want;
        if (b.len[i] != want) {
            bad++;
            continue;
        }
        const int32_t *row = b.ids + (size_t)i * b.T;
        if (row[0] != cls || (want > 1 && memcmp(row + 1, cases[i].ids, (size_t)(want - 1) * 4) != 0))
            bad++;
        for (int t = 0; t < b.T; t++) {
            int real = t < want;
            if (b.mask[(size_t)i * b.T + t] != real || b.types[(size_t)i * b.T + t] != 0 || (!real && row[t] != pad))
                bad++;
        }
    }
    CHECK(b.B == ncases && b.T == T, "batch shape [%d,%d], want [%d,%d]", b.B, b.T, ncases, T);
    CHECK(bad == 0, "batch: %d wrong rows/cells", bad);
    printf("batch: [%d,%d] padded to the longest, %d problems\n", b.B, b.T, bad);
    xrem_text_batch_free(&b);
    CHECK(b.ids == NULL && b.B == 0, "batch free does not reset");
}

/* ---------------------------------------------------------------------------------------------
 * 2. Reports, read from the tgz with zlib and a minimal ustar reader. */

typedef struct {
    char file[64];
    int64_t n[2];
    char sha[2][17];
    int seen;
} report_gold;

typedef struct {
    char file[64];
    int max_len;
    int64_t n;
    char sha_ids[17], sha_types[17];
} pair_gold;

static const char *const SECTIONS[2] = {"IMPRESSION", "FINDINGS"};

/* The text of <AbstractText Label="sec">, entities decoded, into a malloc'd string; "" for a
 * self-closing element. NULL (and a message) when absent or not plain text. */
static char *section_text(const char *xml, const char *sec, const char *file)
{
    char tag[64];
    snprintf(tag, sizeof tag, "<AbstractText Label=\"%s\"", sec);
    const char *p = strstr(xml, tag);
    if (!p) {
        fprintf(stderr, "%s: no %s element\n", file, sec);
        return NULL;
    }
    p += strlen(tag);
    if (strncmp(p, "/>", 2) == 0)
        return strdup("");
    if (*p != '>') {
        fprintf(stderr, "%s: unexpected %s start tag\n", file, sec);
        return NULL;
    }
    p++;
    const char *end = strstr(p, "</AbstractText>");
    if (!end) {
        fprintf(stderr, "%s: unterminated %s\n", file, sec);
        return NULL;
    }
    char *out = malloc((size_t)(end - p) + 1), *o = out;
    while (p < end) {
        if (*p == '<') {
            fprintf(stderr, "%s: markup inside %s is not supported\n", file, sec);
            free(out);
            return NULL;
        }
        if (*p == '\r') { /* XML end-of-line normalisation */
            *o++ = '\n';
            p += p[1] == '\n' ? 2 : 1;
            continue;
        }
        if (*p != '&') {
            *o++ = *p++;
            continue;
        }
        static const char *const ent[5] = {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;"};
        static const char rep[5] = {'<', '>', '&', '"', '\''};
        int k;
        for (k = 0; k < 5; k++)
            if (strncmp(p, ent[k], strlen(ent[k])) == 0)
                break;
        if (k < 5) {
            *o++ = rep[k];
            p += strlen(ent[k]);
            continue;
        }
        if (p[1] == '#') { /* character reference, ASCII only here */
            char *e;
            long cp = p[2] == 'x' ? strtol(p + 3, &e, 16) : strtol(p + 2, &e, 10);
            if (*e == ';' && cp > 0 && cp < 128) {
                *o++ = (char)cp;
                p = e + 1;
                continue;
            }
        }
        fprintf(stderr, "%s: unsupported entity in %s\n", file, sec);
        free(out);
        return NULL;
    }
    *o = 0;
    return out;
}

static int64_t octal(const char *s, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n && s[i] >= '0' && s[i] <= '7'; i++)
        v = v * 8 + (s[i] - '0');
    return v;
}

typedef struct {
    int64_t texts, ids, pairs, files;
    double seconds;
} report_stats;

static void check_report(const xrem_vocab *v, const char *file, const char *xml, report_gold *g, int ng,
                         const pair_gold *pg, int npg, report_stats *rs)
{
    report_gold *r = NULL;
    for (int i = 0; i < ng; i++)
        if (strcmp(g[i].file, file) == 0) {
            r = &g[i];
            break;
        }
    if (!r) {
        fprintf(stderr, "MISMATCH %s: in the tgz but not in the goldens\n", file);
        xrem_test_failures++;
        return;
    }
    r->seen++;
    rs->files++;
    char *text[2] = {NULL, NULL};
    for (int s = 0; s < 2; s++) {
        text[s] = section_text(xml, SECTIONS[s], file);
        if (!text[s]) {
            xrem_test_failures++;
            continue;
        }
        int32_t *ids;
        int64_t n;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        xrem_status st = xrem_wordpiece_tokenize(v, text[s], &ids, &n);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        rs->seconds += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        if (st != XREM_OK) {
            fprintf(stderr, "%s %s: %s\n", file, SECTIONS[s], xrem_last_error());
            xrem_test_failures++;
            continue;
        }
        char sha[17];
        ids_sha16(ids, n, sha);
        if (n != r->n[s] || strcmp(sha, r->sha[s]) != 0) {
            fprintf(stderr, "MISMATCH %s %s: %lld ids sha %s, golden %lld ids sha %s\n", file, SECTIONS[s],
                    (long long)n, sha, (long long)r->n[s], r->sha[s]);
            print_ids("got", ids, n);
            xrem_test_failures++;
        }
        /* ALBEF retrieval input: [CLS] + the first 24 of the same ids. */
        int32_t e[25];
        int elen;
        st = xrem_wordpiece_encode(v, text[s], 25, e, &elen);
        int64_t want = n + 1 < 25 ? n + 1 : 25;
        if (st != XREM_OK || elen != want || e[0] != 101 || !same_ids(e + 1, elen - 1, ids, elen - 1)) {
            fprintf(stderr, "MISMATCH %s %s: encode(25) is not [CLS] + the first 24 ids\n", file, SECTIONS[s]);
            xrem_test_failures++;
        }
        rs->texts++;
        rs->ids += n;
        free(ids);
    }
    for (int i = 0; i < npg && text[0] && text[1]; i++) {
        if (strcmp(pg[i].file, file) != 0)
            continue;
        int N = pg[i].max_len, len = 0;
        int32_t *ids = malloc((size_t)N * 4), *types = malloc((size_t)N * 4);
        xrem_status st = xrem_wordpiece_encode_pair(v, text[0], text[1], N, ids, types, &len);
        char si[17], stt[17];
        ids_sha16(ids, len, si);
        ids_sha16(types, len, stt);
        if (st != XREM_OK || len != pg[i].n || strcmp(si, pg[i].sha_ids) || strcmp(stt, pg[i].sha_types)) {
            fprintf(stderr, "MISMATCH %s pair max_len %d: %d ids sha %s/%s, golden %lld sha %s/%s\n", file, N, len,
                    si, stt, (long long)pg[i].n, pg[i].sha_ids, pg[i].sha_types);
            xrem_test_failures++;
        }
        rs->pairs++;
        free(ids);
        free(types);
    }
    free(text[0]);
    free(text[1]);
}

static int load_report_goldens(report_gold **g, int *ng, pair_gold **pg, int *npg)
{
    char *buf = slurp(xrem_test_src("tests/golden/tokenizer_reports.tsv"), NULL);
    char *pbuf = slurp(xrem_test_src("tests/golden/tokenizer_report_pairs.tsv"), NULL);
    if (!buf || !pbuf) {
        fprintf(stderr, "cannot read tests/golden/tokenizer_report*.tsv\n");
        free(buf);
        free(pbuf);
        return 0;
    }
    int cap = 8192, pcap = 4096;
    *g = calloc((size_t)cap, sizeof **g);
    *pg = calloc((size_t)pcap, sizeof **pg);
    *ng = *npg = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[5];
        if (line[0] == '#' || *ng == cap)
            continue;
        if (split(line, '\t', f, 5) != 5 || strlen(f[0]) >= 64 || strlen(f[2]) != 16 || strlen(f[4]) != 16) {
            fprintf(stderr, "tokenizer_reports.tsv: malformed line\n");
            xrem_test_failures++;
            continue;
        }
        report_gold *r = &(*g)[(*ng)++];
        snprintf(r->file, sizeof r->file, "%s", f[0]);
        r->n[0] = atoll(f[1]);
        r->n[1] = atoll(f[3]);
        memcpy(r->sha[0], f[2], 17);
        memcpy(r->sha[1], f[4], 17);
    }
    for (char *line = strtok_r(pbuf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[5];
        if (line[0] == '#' || *npg == pcap)
            continue;
        if (split(line, '\t', f, 5) != 5 || strlen(f[0]) >= 64 || strlen(f[3]) != 16 || strlen(f[4]) != 16) {
            fprintf(stderr, "tokenizer_report_pairs.tsv: malformed line\n");
            xrem_test_failures++;
            continue;
        }
        pair_gold *p = &(*pg)[(*npg)++];
        snprintf(p->file, sizeof p->file, "%s", f[0]);
        p->max_len = atoi(f[1]);
        p->n = atoll(f[2]);
        memcpy(p->sha_ids, f[3], 17);
        memcpy(p->sha_types, f[4], 17);
    }
    free(buf);
    free(pbuf);
    return 1;
}

static void check_reports(const xrem_vocab *v, const char *tgz)
{
    report_gold *g;
    pair_gold *pg;
    int ng, npg;
    if (!load_report_goldens(&g, &ng, &pg, &npg)) {
        xrem_test_failures++;
        return;
    }
    gzFile z = gzopen(tgz, "rb");
    CHECK(z != NULL, "cannot open %s", tgz);
    if (!z) {
        free(g);
        free(pg);
        return;
    }
    report_stats rs = {0};
    char hdr[512];
    char longname[1024] = "";
    for (;;) {
        if (gzread(z, hdr, 512) != 512)
            break;
        int zero = 1;
        for (int i = 0; i < 512; i++)
            zero &= hdr[i] == 0;
        if (zero)
            break; /* end-of-archive block */
        int64_t size = octal(hdr + 124, 12);
        char type = hdr[156];
        if (size < 0 || size > (64 << 20)) {
            fprintf(stderr, "%s: implausible member size %lld\n", tgz, (long long)size);
            xrem_test_failures++;
            break;
        }
        int64_t padded = (size + 511) / 512 * 512;
        char *data = malloc((size_t)padded + 1);
        if (padded && gzread(z, data, (unsigned)padded) != (int)padded) {
            free(data);
            fprintf(stderr, "%s: truncated\n", tgz);
            xrem_test_failures++;
            break;
        }
        data[size] = 0;
        char name[1024];
        if (longname[0]) {
            snprintf(name, sizeof name, "%s", longname);
            longname[0] = 0;
        } else if (memcmp(hdr + 257, "ustar", 5) == 0 && hdr[345])
            snprintf(name, sizeof name, "%.155s/%.100s", hdr + 345, hdr);
        else
            snprintf(name, sizeof name, "%.100s", hdr);
        if (type == 'L') /* GNU long name for the next member */
            snprintf(longname, sizeof longname, "%s", data);
        else if (type == '0' || type == 0) {
            size_t l = strlen(name);
            if (l > 4 && strcmp(name + l - 4, ".xml") == 0) {
                const char *base = strrchr(name, '/');
                check_report(v, base ? base + 1 : name, data, g, ng, pg, npg, &rs);
            }
        }
        free(data);
    }
    gzclose(z);
    int missing = 0;
    for (int i = 0; i < ng; i++)
        if (g[i].seen != 1)
            missing++;
    CHECK(missing == 0, "%d golden reports not found exactly once in the tgz", missing);
    CHECK(rs.pairs == npg, "checked %lld of %d report pairs", (long long)rs.pairs, npg);
    printf("reports: %lld files, %lld texts (IMPRESSION+FINDINGS), %lld ids checked against %d golden rows; "
           "%lld pair encodings; tokenize %.3f s (%.0f texts/s)\n",
           (long long)rs.files, (long long)rs.texts, (long long)rs.ids, ng, (long long)rs.pairs, rs.seconds,
           rs.seconds > 0 ? (double)rs.texts / rs.seconds : 0.0);
    CHECK(rs.texts == 2 * (int64_t)ng && ng > 3000, "only %lld texts for %d golden reports", (long long)rs.texts,
          ng);
    free(g);
    free(pg);
}

/* ---------------------------------------------------------------------------------------------
 * 3. Toy vocab, vocab files, errors, hostile input. */

static int ids_are(const xrem_vocab *v, const char *text, const int32_t *want, int64_t nwant)
{
    int32_t *ids;
    int64_t n;
    if (xrem_wordpiece_tokenize(v, text, &ids, &n) != XREM_OK)
        return 0;
    int ok = same_ids(ids, n, want, nwant);
    if (!ok)
        print_ids("got", ids, n);
    free(ids);
    return ok;
}

static void check_toy(void)
{
    /* HF's docstring example: greedy longest match first, "##" continuations. */
    const char *toks[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "##a", "##ff", "a", "runn",
                          "##ing", "run", "##n", "é"};
    xrem_vocab *v;
    REQUIRE_OK(xrem_vocab_from_strings(toks, 15, &v));
    CHECK(xrem_vocab_size(v) == 15 && xrem_vocab_id(v, "##able") == 6 && xrem_vocab_id(v, "able") == -1,
          "toy vocab lookups");
    CHECK(strcmp(xrem_vocab_token(v, 10), "runn") == 0 && xrem_vocab_token(v, 15) == NULL &&
              xrem_vocab_token(v, -1) == NULL,
          "toy vocab tokens");
    CHECK(ids_are(v, "unaffable", (const int32_t[]){4, 5, 6}, 3), "unaffable -> un ##aff ##able");
    CHECK(ids_are(v, "running RUNNING", (const int32_t[]){10, 11, 10, 11}, 4), "longest prefix first");
    CHECK(ids_are(v, "unaffablex a", (const int32_t[]){1, 9}, 2), "an unmatchable word is one [UNK]");
    CHECK(ids_are(v, "é e\xcc\x81", (const int32_t[]){1, 1}, 2), "accents stripped before matching");
    xrem_vocab_free(v);

    /* Canonical ordering (NFD) is invisible with the BERT vocab, whose tokens hold no non-Mn
     * non-starters; here the vocab spells the orders Python's NFD gives: U+1D165 (ccc 216),
     * U+1D16D (226) and U+1D166 (216) sort stably; the Mn U+0301 (230) stays inside the run and
     * the Mn starter U+034F (ccc 0) ends it. */
    const char *marks[] = {"[UNK]", "a\xf0\x9d\x85\xa5\xf0\x9d\x85\xa6\xf0\x9d\x85\xad",
                           "a\xf0\x9d\x85\xad\xf0\x9d\x85\xa5", "a\xf0\x9d\x85\xa5\xf0\x9d\x85\xad"};
    REQUIRE_OK(xrem_vocab_from_strings(marks, 4, &v));
    CHECK(ids_are(v, "a\xf0\x9d\x85\xa5\xf0\x9d\x85\xad\xf0\x9d\x85\xa6", (const int32_t[]){1}, 1),
          "216 226 216 -> 216 216 226");
    CHECK(ids_are(v, "a\xf0\x9d\x85\xad\xcd\x8f\xf0\x9d\x85\xa5", (const int32_t[]){2}, 1),
          "a ccc-0 Mn ends the run");
    CHECK(ids_are(v, "a\xf0\x9d\x85\xad\xcc\x81\xf0\x9d\x85\xa5", (const int32_t[]){3}, 1),
          "an Mn non-starter stays in the run");
    xrem_vocab_free(v);

    /* Missing specials: errors, not crashes. */
    const char *bare[] = {"a", "##a"};
    REQUIRE_OK(xrem_vocab_from_strings(bare, 2, &v));
    int32_t *ids, buf[8], types[8];
    int64_t n;
    int len;
    CHECK(ids_are(v, "aaa", (const int32_t[]){0, 1, 1}, 3), "no [UNK] needed");
    CHECK(xrem_wordpiece_tokenize(v, "b", &ids, &n) == XREM_ERR_FORMAT && ids == NULL, "missing [UNK] is an error");
    CHECK(xrem_wordpiece_encode(v, "a", 8, buf, &len) == XREM_ERR_FORMAT, "missing [CLS] is an error");
    CHECK(xrem_wordpiece_encode_pair(v, "a", "a", 8, buf, types, &len) == XREM_ERR_FORMAT, "missing [SEP]");
    xrem_vocab_free(v);
    CHECK(xrem_vocab_from_strings(bare, 0, &v) == XREM_ERR_ARG && v == NULL, "empty vocab rejected");
}

static void check_vocab_files(void)
{
    char path[] = "/tmp/xrem_tok_vocab_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    close(fd);
    xrem_vocab *v = NULL;
    /* CRLF and CR line ends (Python universal newlines), a duplicate (later id wins), an empty
     * token, no final newline. */
    FILE *f = fopen(path, "wb");
    fputs("[PAD]\r\n[UNK]\rx\n\n##y\nx\n[CLS]", f);
    fclose(f);
    CHECK(xrem_vocab_load_txt(path, &v) == XREM_OK, "CRLF vocab: %s", xrem_last_error());
    if (v) {
        CHECK(xrem_vocab_size(v) == 7, "CRLF vocab size %lld", (long long)xrem_vocab_size(v));
        CHECK(xrem_vocab_id(v, "[UNK]") == 1 && xrem_vocab_id(v, "x") == 5 && xrem_vocab_id(v, "") == 3 &&
                  xrem_vocab_id(v, "[CLS]") == 6,
              "CRLF vocab ids");
        CHECK(strcmp(xrem_vocab_token(v, 2), "x") == 0, "duplicate token keeps its string");
        xrem_vocab_free(v);
    }
    f = fopen(path, "wb");
    fputs("ok\nbad\xff\n", f);
    fclose(f);
    CHECK(xrem_vocab_load_txt(path, &v) == XREM_ERR_FORMAT && v == NULL, "invalid UTF-8 vocab rejected");
    printf("  (expected) %s\n", xrem_last_error());
    f = fopen(path, "wb");
    fwrite("a\n\0b\n", 1, 5, f);
    fclose(f);
    CHECK(xrem_vocab_load_txt(path, &v) == XREM_ERR_FORMAT, "NUL in vocab rejected");
    f = fopen(path, "wb");
    fclose(f);
    CHECK(xrem_vocab_load_txt(path, &v) == XREM_ERR_FORMAT, "empty vocab file rejected");
    unlink(path);
    CHECK(xrem_vocab_load_txt("/nonexistent/vocab.txt", &v) == XREM_ERR_IO, "missing vocab is an IO error");
}

static void check_errors_and_hostile(const xrem_vocab *v)
{
    int32_t ids[600], types[600];
    int len;
    CHECK(xrem_wordpiece_encode(v, "x", 0, ids, &len) == XREM_ERR_ARG, "max_len 0 rejected");
    CHECK(xrem_wordpiece_encode_pair(v, "x", "y", 2, ids, types, &len) == XREM_ERR_ARG, "pair max_len 2 rejected");
    CHECK(xrem_wordpiece_encode(v, NULL, 5, ids, &len) == XREM_ERR_ARG, "NULL text rejected");
    xrem_text_batch b;
    const char *t1[] = {"a", NULL};
    CHECK(xrem_text_batch_encode(v, t1, 2, 5, &b) == XREM_ERR_ARG && b.ids == NULL, "NULL text in batch");
    CHECK(xrem_text_batch_encode(v, t1, 0, 5, &b) == XREM_ERR_ARG, "B = 0 rejected");

    /* Vocab facts of bert-base-uncased. */
    CHECK(xrem_vocab_size(v) == 30522, "vocab size %lld", (long long)xrem_vocab_size(v));
    CHECK(xrem_vocab_id(v, "[PAD]") == 0 && xrem_vocab_id(v, "[UNK]") == 100 && xrem_vocab_id(v, "[CLS]") == 101 &&
              xrem_vocab_id(v, "[SEP]") == 102 && xrem_vocab_id(v, "[MASK]") == 103,
          "special ids");
    CHECK(strcmp(xrem_vocab_token(v, 2053), "no") == 0 && xrem_vocab_id(v, "##ing") == 2075, "lookups");

    /* Random bytes: must not crash (ASan/UBSan build) and must be deterministic. */
    uint64_t s = 12345;
    size_t N = 1 << 20;
    char *junk = malloc(N + 1);
    for (size_t i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        junk[i] = (char)((s >> 33) % 255 + 1);
    }
    junk[N] = 0;
    int32_t *a, *c;
    int64_t na, nc;
    CHECK(xrem_wordpiece_tokenize(v, junk, &a, &na) == XREM_OK, "random bytes: %s", xrem_last_error());
    CHECK(xrem_wordpiece_tokenize(v, junk, &c, &nc) == XREM_OK && same_ids(a, na, c, nc), "deterministic");
    CHECK(xrem_wordpiece_encode_pair(v, junk, junk, 512, ids, types, &len) == XREM_OK && len == 512, "junk pair");
    printf("hostile: 1 MiB of random bytes -> %lld ids\n", (long long)na);
    free(a);
    free(c);

    /* One word of 100k alternating non-Mn marks (ccc 216/226): the canonical-ordering sort must
     * stay linear, and the word is > 100 chars so it is one [UNK]. */
    size_t k = 0;
    junk[k++] = 'a';
    for (int i = 0; i < 100000; i++) {
        const char *m = (i & 1) ? "\xf0\x9d\x85\xad" : "\xf0\x9d\x85\xa5"; /* U+1D16D, U+1D165 */
        memcpy(junk + k, m, 4);
        k += 4;
    }
    junk[k] = 0;
    CHECK(ids_are(v, junk, (const int32_t[]){100}, 1), "long mark run -> [UNK]");
    /* 1M-char word without separators, and 200k special tokens. */
    memset(junk, 'a', N);
    junk[N] = 0;
    CHECK(ids_are(v, junk, (const int32_t[]){100}, 1), "1M-char word -> [UNK]");
    for (size_t i = 0; i + 5 <= N; i += 5)
        memcpy(junk + i, "[SEP]", 5);
    junk[N / 5 * 5] = 0;
    CHECK(xrem_wordpiece_encode(v, junk, 600, ids, &len) == XREM_OK && len == 600 && ids[599] == 102,
          "many [SEP]");
    free(junk);
}

int main(void)
{
    const char *data = xrem_test_data_dir();
    char vocab_path[1100], tgz[1100];
    if (!data) {
        printf("SKIP: shared data folder not found (set XREM_DATA_DIR)\n");
        return TEST_SKIP;
    }
    snprintf(vocab_path, sizeof vocab_path, "%s/bert-base-uncased-vocab.txt", data);
    snprintf(tgz, sizeof tgz, "%s/NLMCXR_reports.tgz", data);
    if (access(vocab_path, R_OK) != 0) {
        printf("SKIP: %s not found\n", vocab_path);
        return TEST_SKIP;
    }
    xrem_vocab *v;
    CHECK_OK(xrem_vocab_load_txt(vocab_path, &v));

    check_toy();
    check_vocab_files();
    check_errors_and_hostile(v);
    check_cases(v);
    check_batch(v);
    if (access(tgz, R_OK) == 0)
        check_reports(v, tgz);
    else {
        printf("%s not found: report goldens NOT checked\n", tgz);
        xrem_test_failures++;
    }

    for (int i = 0; i < ncases; i++) {
        free(cases[i].name);
        free(cases[i].text);
        free(cases[i].ids);
    }
    xrem_vocab_free(v);
    printf("%s (%d failures)\n", xrem_test_failures ? "FAIL" : "OK", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
