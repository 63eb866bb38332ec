/* Byte-level BPE tokenizer vs HF's slow RobertaTokenizer (transformers 4.30.2), goldens from
 * scripts/make_bertscore_goldens.py (tests/golden/bertscore/bpe_cases.tsv over the committed
 * tokenizer in tests/golden/bertscore/bpe/).
 *
 * 1. Every golden row, exact ids: tokenize without and with add_prefix_space, and bert_score's
 *    sent_encode (strip, prefix space, <s> … </s>, cut at 512) — once with the tokenizer read from
 *    vocab.json + merges.txt, once built from the strings convert_hf.py stored in
 *    tiny_roberta.weights.h5.
 * 2. str.strip(), lookups, file parsing (JSON escapes, merges.txt's dropped first/last lines,
 *    CRLF), errors naming the file and line, hostile input (random bytes) and a timing.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/h5.h"
#include "testutil.h"
#include "text/bpe.h"
#include "xrem/status.h"

#define REQUIRE_OK(expr)                                                                                               \
    do {                                                                                                               \
        xrem_status st_ = (expr);                                                                                      \
        if (st_ != XREM_OK) {                                                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, xrem_last_error());                   \
            xrem_test_failures++;                                                                                      \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* bert_score's sent_encode for a RoBERTa tokenizer. */
static xrem_status sent_encode(const xrem_bpe *b, const char *text, int32_t **ids, int64_t *n)
{
    size_t off, len;
    xrem_utf8_strip_py(text, strlen(text), &off, &len);
    char *s = strndup(text + off, len);
    if (!s) return xrem_fail(XREM_ERR_NOMEM, "oom");
    xrem_status st = xrem_bpe_encode(b, s, XREM_BPE_PREFIX_SPACE, 512, ids, n);
    free(s);
    return st;
}

static int hexval(char c)
{
    return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Checks every row of the golden table against b; returns rows checked. */
static int check_cases(const xrem_bpe *b, const char *tsv, const char *what)
{
    FILE *f = fopen(tsv, "r");
    CHECK(f != NULL, "cannot open %s", tsv);
    if (!f) return 0;
    char *line = NULL;
    size_t cap = 0;
    int rows = 0, bad = 0;
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *mode = line, *hex = strchr(mode, '\t'), *ids_s = hex ? strchr(hex + 1, '\t') : NULL;
        char *end = ids_s ? strchr(ids_s + 1, '\t') : NULL;
        if (!end) {
            CHECK(0, "%s: malformed row %d", tsv, rows + 1);
            continue;
        }
        *hex++ = 0;
        *ids_s++ = 0;
        *end = 0;
        size_t hl = strlen(hex);
        char *text = malloc(hl / 2 + 1);
        for (size_t i = 0; i + 1 < hl + 1 && i / 2 < hl / 2; i += 2)
            text[i / 2] = (char)(hexval(hex[i]) * 16 + hexval(hex[i + 1]));
        text[hl / 2] = 0;
        int64_t want[2048], nw = 0;
        for (char *p = ids_s; *p && *p != '\n';) {
            char *e;
            long v = strtol(p, &e, 10);
            if (e == p) break;
            want[nw++] = v;
            p = e;
        }
        int32_t *got = NULL;
        int64_t ng = 0;
        xrem_status st;
        if (!strcmp(mode, "sent"))
            st = sent_encode(b, text, &got, &ng);
        else
            st = xrem_bpe_tokenize(b, text, !strcmp(mode, "tok1") ? XREM_BPE_PREFIX_SPACE : 0, &got, &ng);
        int same = !st && ng == nw;
        for (int64_t i = 0; same && i < ng; i++)
            same = got[i] == want[i];
        if (!same && bad++ < 10) {
            fprintf(stderr, "MISMATCH (%s) %s row %d [%s] text %s: got %lld ids:", what, tsv, rows + 1, mode, hex,
                    (long long)ng);
            for (int64_t i = 0; i < ng && i < 40; i++)
                fprintf(stderr, " %d", got[i]);
            fprintf(stderr, "\n  want %lld ids:", (long long)nw);
            for (int64_t i = 0; i < nw && i < 40; i++)
                fprintf(stderr, " %lld", (long long)want[i]);
            fprintf(stderr, "\n");
        }
        CHECK(same || bad > 10, "row %d", rows + 1);
        free(got);
        free(text);
        rows++;
    }
    free(line);
    fclose(f);
    CHECK(bad == 0, "%s: %d of %d rows differ", what, bad, rows);
    printf("bpe %s: %d golden rows, %d mismatches\n", what, rows, bad);
    return rows;
}

static void check_strip(void)
{
    struct {
        const char *in, *out;
    } c[] = {{"  a b  ", "a b"},
             {"", ""},
             {" \t\n", ""},
             {"\x1c"
              "x"
              "\x1f",
              "x"},
             {"\xc2\xa0x\xe3\x80\x80", "x"},
             {"\xe2\x80\x8bx", "\xe2\x80\x8bx"}, /* ZWSP is not isspace */
             {"\xff x \xff", "\xff x \xff"},
             {"\xe2\x80\xa8y\xe2\x80\xa9", "y"},
             {"\xc2\x85z", "z"},
             {"\x85z", "\x85z"}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        size_t off, len;
        xrem_utf8_strip_py(c[i].in, strlen(c[i].in), &off, &len);
        CHECK(len == strlen(c[i].out) && !memcmp(c[i].in + off, c[i].out, len), "strip case %zu", i);
    }
}

/* A temporary file holding content; the caller unlinks and frees the returned path. */
static char *write_tmp(const char *content, size_t n)
{
    char *p = strdup("/tmp/xrem_bpe_XXXXXX");
    int fd = p ? mkstemp(p) : -1;
    if (fd < 0 || write(fd, content, n) != (ssize_t)n) {
        if (fd >= 0) close(fd);
        free(p);
        return NULL;
    }
    close(fd);
    return p;
}

/* A toy tokenizer written to files: JSON escapes, merges.txt rules, special tokens, errors. */
static void check_files(void)
{
    /* ids: <s>0 <pad>1 </s>2 <unk>3 <mask>4 a5 b6 ab7 Ġ8 Ġab9 é10 (escaped) c11 abc12 */
    const char vocab[] = "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3, \"<mask>\": 4, \"a\": 5, \"b\": 6,"
                         " \"ab\": 7, \"\\u0120\": 8, \"\\u0120ab\": 9, \"\\u00c3\\u00a9\": 10, \"c\": 11,"
                         " \"abc\": 12, \"b\": 6}\n";
    /* first line dropped whatever it holds; "a b c" (3 parts) never matches; CRLF; no final newline: the
     * last element ("b c") is dropped by HF's [1:-1] */
    const char merges[] = "a b\r\na b\r\nĠ ab\r\na b c\r\nab c\r\n\xc3\x83 \xc2\xa9\nb c";
    char *vp = write_tmp(vocab, sizeof vocab - 1), *mp = write_tmp(merges, sizeof merges - 1);
    CHECK(vp && mp, "temp files");
    if (!vp || !mp) return;
    xrem_bpe *b = NULL;
    REQUIRE_OK(xrem_bpe_load_files(vp, mp, NULL, &b));
    CHECK(xrem_bpe_vocab_size(b) == 13, "vocab size %lld", (long long)xrem_bpe_vocab_size(b));
    CHECK(xrem_bpe_merges(b) == 5, "merges %lld", (long long)xrem_bpe_merges(b));
    CHECK(xrem_bpe_id(b, "\xc4\xa0"
                         "ab") == 9 &&
              xrem_bpe_id(b, "zz") == -1,
          "ids");
    CHECK(xrem_bpe_token(b, 10) && !strcmp(xrem_bpe_token(b, 10), "\xc3\x83\xc2\xa9"), "token 10");
    CHECK(xrem_bpe_special_id(b, XREM_BPE_MASK) == 4 && xrem_bpe_special_id(b, XREM_BPE_SEP) == 2, "specials");
    struct {
        const char *text;
        unsigned flags;
        int32_t want[8];
        int n;
    } c[] = {
        {"ab", 0, {7}, 1},
        {"ab", XREM_BPE_PREFIX_SPACE, {9}, 1},
        {"abc", 0, {12}, 1},      /* a b -> ab, then ab c (rank 3) */
        {"bc", 0, {6, 11}, 2},    /* "b c" was the dropped last line */
        {"\xc3\xa9", 0, {10}, 1}, /* é -> bytes C3 A9 -> "Ã" "©" -> merged "Ã©" */
        {"\xc3\xa9"
         "b",
         0,
         {10, 6},
         2},
        {"a<mask>", 0, {5, 4}, 2},
        {"a <mask>", 0, {5, 4}, 2}, /* <mask> lstrip eats the space */
        {"<s> ab", 0, {0, 9}, 2},
        {"zz", 0, {3, 3}, 2}, /* no token: <unk> per symbol */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int32_t *ids = NULL;
        int64_t n = 0;
        xrem_status st = xrem_bpe_tokenize(b, c[i].text, c[i].flags, &ids, &n);
        int ok = !st && n == c[i].n;
        for (int k = 0; ok && k < n; k++)
            ok = ids[k] == c[i].want[k];
        CHECK(ok, "toy case %zu '%s': got %lld ids (first %d)", i, c[i].text, (long long)n, n ? ids[0] : -1);
        free(ids);
    }
    int32_t *ids = NULL;
    int64_t n = 0;
    REQUIRE_OK(xrem_bpe_encode(b, "ab ab ab", 0, 3, &ids, &n));
    CHECK(n == 3 && ids[0] == 0 && ids[1] == 7 && ids[2] == 2, "truncated encode");
    free(ids);
    CHECK(xrem_bpe_encode(b, "ab", 0, 1, &ids, &n) == XREM_ERR_ARG && !ids, "max_len 1 refused");
    xrem_bpe_free(b);

    /* errors: each names the file and line */
    struct {
        const char *vocab, *want;
    } bad[] = {{"{\"a\": 1,\n \"b\" 2}", "line 2: expected ':'"},
               {"[1, 2]", "expected a JSON object"},
               {"{\"a\": -1}", "non-negative integer"},
               {"{\"a\": 1.5}", "non-negative integer"},
               {"{\"\\ud800\": 1}", "lone surrogate"},
               {"{\"a\xff\": 1}", "invalid UTF-8"},
               {"{\"a\": 1} x", "extra data"},
               {"{\"a\": 1, \"<s>\": 0}", "special token '</s>' is not in the vocabulary"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *p = write_tmp(bad[i].vocab, strlen(bad[i].vocab));
        xrem_bpe *x = NULL;
        xrem_status st = xrem_bpe_load_files(p, mp, NULL, &x);
        CHECK(st != XREM_OK && !x && strstr(xrem_last_error(), bad[i].want), "bad vocab %zu: %s", i, xrem_last_error());
        if (strstr(bad[i].want, "special") == NULL)
            CHECK(strstr(xrem_last_error(), p) != NULL, "bad vocab %zu: message names the file: %s", i,
                  xrem_last_error());
        unlink(p);
        free(p);
    }
    char *bm = write_tmp("#v\nab \xc3\n", 8);
    xrem_bpe *x = NULL;
    CHECK(xrem_bpe_load_files(vp, bm, NULL, &x) == XREM_ERR_FORMAT &&
              strstr(xrem_last_error(), "line 2: invalid UTF-8"),
          "bad merges: %s", xrem_last_error());
    CHECK(xrem_bpe_load_files("/nonexistent/vocab.json", mp, NULL, &x) == XREM_ERR_IO, "missing file");
    unlink(bm);
    free(bm);
    /* overlapping special tokens are refused */
    xrem_bpe_specials sp;
    xrem_bpe_specials_roberta(&sp);
    sp.tok[XREM_BPE_MASK] = "ab";
    sp.tok[XREM_BPE_UNK] = "abc";
    CHECK(xrem_bpe_load_files(vp, mp, &sp, &x) == XREM_ERR_UNSUPPORTED, "overlapping specials");
    unlink(vp);
    unlink(mp);
    free(vp);
    free(mp);
}

/* Random bytes never crash and always give ids inside the vocabulary; BPE never splits across
 * what tokenizing the pieces separately gives for texts without spaces. */
static void check_hostile(const xrem_bpe *b)
{
    uint64_t s = 12345;
    const char alpha[] = "ab 'sS\t\n\xc3\xa9\xe2\x80\xa8\xf0\x9f\x99\x82<mask></s>1.\xff\x80";
    char buf[257];
    int bad = 0;
    for (int it = 0; it < 3000; it++) {
        int len = (int)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 33) % 256;
        for (int i = 0; i < len; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            buf[i] = (it & 1) ? alpha[(s >> 33) % (sizeof alpha - 1)] : (char)(1 + (s >> 33) % 255);
        }
        buf[len] = 0;
        int32_t *ids = NULL;
        int64_t n = 0;
        if (xrem_bpe_tokenize(b, buf, it & 2 ? XREM_BPE_PREFIX_SPACE : 0, &ids, &n)) bad++;
        for (int64_t i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= xrem_bpe_vocab_size(b)) bad++;
        free(ids);
    }
    CHECK(bad == 0, "hostile input: %d failures", bad);
}

static void check_timing(const xrem_bpe *b)
{
    const char *s = "Compared to the prior study from 03/12/2019, there's no significant change in the small left "
                    "pleural effusion; the endotracheal tube terminates 4 cm above the carina. ";
    size_t one = strlen(s), reps = 4000;
    char *big = malloc(one * reps + 1);
    for (size_t i = 0; i < reps; i++)
        memcpy(big + i * one, s, one);
    big[one * reps] = 0;
    int32_t *ids = NULL;
    int64_t n = 0;
    double t0 = now_s();
    REQUIRE_OK(xrem_bpe_tokenize(b, big, XREM_BPE_PREFIX_SPACE, &ids, &n));
    double dt = now_s() - t0;
    printf("bpe timing: %.2f MB in %.3f s (%.1f MB/s), %lld ids\n", one * reps / 1e6, dt, one * reps / 1e6 / dt,
           (long long)n);
    free(ids);
    free(big);
}

int main(void)
{
    const char *tsv = xrem_test_src("tests/golden/bertscore/bpe_cases.tsv");
    xrem_bpe *b = NULL;
    CHECK_OK(xrem_bpe_load_files(xrem_test_src("tests/golden/bertscore/bpe/vocab.json"),
                                 xrem_test_src("tests/golden/bertscore/bpe/merges.txt"), NULL, &b));
    int rows = check_cases(b, tsv, "files");
    CHECK(rows > 200, "only %d golden rows", rows);

    /* the same tokenizer as convert_hf.py stored it */
    xrem_h5 *f = NULL;
    CHECK_OK(xrem_h5_open(xrem_test_src("tests/golden/bertscore/tiny_roberta.weights.h5"), &f));
    char **vocab = NULL, **merges = NULL;
    int64_t nv = 0, nm = 0;
    CHECK_OK(xrem_h5_read_strings(f, "tokenizer/vocab", &vocab, &nv));
    CHECK_OK(xrem_h5_read_strings(f, "tokenizer/merges", &merges, &nm));
    xrem_h5_close(f);
    xrem_bpe *b2 = NULL;
    CHECK_OK(xrem_bpe_from_strings((const char *const *)vocab, nv, (const char *const *)merges, nm, NULL, &b2));
    CHECK(xrem_bpe_vocab_size(b2) == xrem_bpe_vocab_size(b) && xrem_bpe_merges(b2) == xrem_bpe_merges(b),
          "weights-file tokenizer: %lld tokens %lld merges vs %lld %lld", (long long)xrem_bpe_vocab_size(b2),
          (long long)xrem_bpe_merges(b2), (long long)xrem_bpe_vocab_size(b), (long long)xrem_bpe_merges(b));
    check_cases(b2, tsv, "weights file");
    xrem_strings_free(vocab, nv);
    xrem_strings_free(merges, nm);
    xrem_bpe_free(b2);

    check_strip();
    check_files();
    check_hostile(b);
    check_timing(b);
    xrem_bpe_free(b);
    if (xrem_test_failures) fprintf(stderr, "%d checks failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
