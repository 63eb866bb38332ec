/* fuzz_wordpiece — the WordPiece tokenizer (src/text/wordpiece.c) on arbitrary bytes.
 * Input: byte 0 chooses max_len (1 + low 6 bits); the rest is text a, NUL, text b (b optional).
 * Vocabulary: the 600-token test vocabulary (tests/golden/bertscore/wordpiece/vocab.txt), which has
 * every special token, so tokenizing must never fail.
 * Checks: ids in range; encode = [CLS] + the first max_len-1 tokens; pairs are [CLS] a [SEP] b [SEP]
 * with types 0 then 1 and at most max_len ids; a batch is padded with [PAD] under a 0 mask. */
#include "fuzz.h"

#include <stdbool.h>

#include "text/wordpiece.h"

/* The committed test vocabulary, never the real one: a regression input must replay the same way on
 * every machine, with or without ../shared/data. */
static const xrem_vocab *wp_vocab(void)
{
    static xrem_vocab *v;
    if (v) return v;
    xrem_status st = xrem_vocab_load_txt(xrem_fuzz_src("tests/golden/bertscore/wordpiece/vocab.txt"), &v);
    FUZZ_CHECK(st == XREM_OK, "cannot load the test vocabulary: %s", xrem_last_error());
    return v;
}

static void wp_check_single(const xrem_vocab *v, const char *text, int max_len)
{
    int64_t nv = xrem_vocab_size(v);
    int32_t *tok = NULL;
    int64_t n = 0;
    FUZZ_CLEAR_ERROR();
    xrem_status st = xrem_wordpiece_tokenize(v, text, &tok, &n);
    FUZZ_CHECK(st == XREM_OK, "tokenize failed: %s", xrem_last_error());
    FUZZ_CHECK(tok != NULL && n >= 0, "tokenize gave no array");
    for (int64_t i = 0; i < n; i++)
        FUZZ_CHECK(tok[i] >= 0 && tok[i] < nv, "id %d out of range", tok[i]);

    int32_t *ids = malloc(sizeof *ids * (size_t)max_len);
    int len = -1;
    FUZZ_CHECK(ids != NULL, "out of memory");
    st = xrem_wordpiece_encode(v, text, max_len, ids, &len);
    FUZZ_CHECK(st == XREM_OK, "encode failed: %s", xrem_last_error());
    FUZZ_CHECK(len >= 1 && len <= max_len, "encode length %d for max_len %d", len, max_len);
    FUZZ_CHECK(ids[0] == xrem_vocab_id(v, "[CLS]"), "encode does not start with [CLS]");
    FUZZ_CHECK(len - 1 == (n < max_len - 1 ? n : max_len - 1), "encode kept %d of %lld tokens", len - 1, (long long)n);
    for (int i = 1; i < len; i++)
        FUZZ_CHECK(ids[i] == tok[i - 1], "encode token %d differs from tokenize", i);
    free(ids);
    free(tok);
}

static void wp_check_pair(const xrem_vocab *v, const char *a, const char *b, int max_len)
{
    if (max_len < 3) max_len = 3;
    int32_t *ids = malloc(sizeof *ids * (size_t)max_len), *types = malloc(sizeof *types * (size_t)max_len);
    FUZZ_CHECK(ids && types, "out of memory");
    int len = -1;
    xrem_status st = xrem_wordpiece_encode_pair(v, a, b, max_len, ids, types, &len);
    FUZZ_CHECK(st == XREM_OK, "encode_pair failed: %s", xrem_last_error());
    FUZZ_CHECK(len >= 3 && len <= max_len, "pair length %d for max_len %d", len, max_len);
    int32_t cls = xrem_vocab_id(v, "[CLS]"), sep = xrem_vocab_id(v, "[SEP]");
    FUZZ_CHECK(ids[0] == cls && ids[len - 1] == sep, "pair not [CLS] ... [SEP]");
    /* types: 0 up to and including the [SEP] after a, 1 after it (a may hold "[SEP]" itself) */
    int first_b = len;
    for (int i = 0; i < len; i++) {
        FUZZ_CHECK(types[i] == 0 || types[i] == 1, "type %d at %d", types[i], i);
        if (types[i] == 1 && first_b == len) first_b = i;
        FUZZ_CHECK(types[i] == (i >= first_b), "types not 0...0 1...1 (at %d)", i);
    }
    FUZZ_CHECK(first_b >= 2 && first_b < len && ids[first_b - 1] == sep, "a does not end with [SEP] (b at %d)",
               first_b);
    free(ids);
    free(types);
}

static void wp_check_batch(const xrem_vocab *v, const char *a, const char *b, int max_len)
{
    const char *texts[2] = {a, b};
    xrem_text_batch tb;
    xrem_status st = xrem_text_batch_encode(v, texts, 2, max_len, &tb);
    FUZZ_CHECK(st == XREM_OK, "batch failed: %s", xrem_last_error());
    FUZZ_CHECK(tb.B == 2 && tb.T >= 1 && tb.T <= max_len, "batch shape %d x %d", tb.B, tb.T);
    int32_t pad = xrem_vocab_id(v, "[PAD]");
    bool full = false;
    for (int r = 0; r < 2; r++) {
        FUZZ_CHECK(tb.len[r] >= 1 && tb.len[r] <= tb.T, "row %d length %d", r, tb.len[r]);
        full |= tb.len[r] == tb.T;
        for (int t = 0; t < tb.T; t++) {
            size_t k = (size_t)r * (size_t)tb.T + (size_t)t;
            FUZZ_CHECK(tb.mask[k] == (t < tb.len[r]), "mask at %d,%d", r, t);
            FUZZ_CHECK(tb.types[k] == 0, "type at %d,%d", r, t);
            if (t >= tb.len[r]) FUZZ_CHECK(tb.ids[k] == pad, "padding at %d,%d is not [PAD]", r, t);
        }
    }
    FUZZ_CHECK(full, "T %d is longer than every row", tb.T);
    xrem_text_batch_free(&tb);
}

int xrem_fuzz_wordpiece(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const xrem_vocab *v = wp_vocab();
    int max_len = 1 + (data[0] & 63);
    char *a = xrem_fuzz_cstr(data + 1, size - 1);
    FUZZ_CHECK(a != NULL, "out of memory");
    size_t la = strlen(a);
    const char *b = la < size - 1 ? a + la + 1 : "";
    wp_check_single(v, a, max_len);
    wp_check_single(v, b, max_len);
    wp_check_pair(v, a, b, max_len);
    wp_check_batch(v, a, b, max_len);
    free(a);
    return 0;
}

XREM_FUZZ_ENTRY(xrem_fuzz_wordpiece)
