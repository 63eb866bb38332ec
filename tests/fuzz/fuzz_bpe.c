/* fuzz_bpe — the byte-level BPE tokenizer (src/text/bpe.c) on arbitrary bytes, with the small
 * test vocabulary and merges (tests/golden/bertscore/bpe/) and RoBERTa's special tokens.
 * Input: byte 0 holds the flags (bit 0: add_prefix_space) and max_len (bits 1-6: 0 = no
 * truncation, else 2 + that); the rest is the text (up to a NUL).
 * Checks: tokenizing never fails; every id has a token; encode = <s> + the first max_len-2 tokens
 * + </s>; str.strip() gives a range inside the text. */
#include "fuzz.h"

#include "text/bpe.h"

static const xrem_bpe *bpe_tok(void)
{
    static xrem_bpe *b;
    if (b) return b;
    xrem_status st = xrem_bpe_load_files(xrem_fuzz_src("tests/golden/bertscore/bpe/vocab.json"),
                                         xrem_fuzz_src("tests/golden/bertscore/bpe/merges.txt"), NULL, &b);
    FUZZ_CHECK(st == XREM_OK, "cannot load the test BPE files: %s", xrem_last_error());
    return b;
}

int xrem_fuzz_bpe(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const xrem_bpe *b = bpe_tok();
    unsigned flags = data[0] & 1 ? XREM_BPE_PREFIX_SPACE : 0;
    int ml = (data[0] >> 1) & 63, max_len = ml ? 2 + ml : 0;
    char *text = xrem_fuzz_cstr(data + 1, size - 1);
    FUZZ_CHECK(text != NULL, "out of memory");

    int32_t *tok = NULL;
    int64_t n = 0;
    FUZZ_CLEAR_ERROR();
    xrem_status st = xrem_bpe_tokenize(b, text, flags, &tok, &n);
    FUZZ_CHECK(st == XREM_OK, "tokenize failed: %s", xrem_last_error());
    FUZZ_CHECK(tok != NULL && n >= 0, "no array");
    for (int64_t i = 0; i < n; i++)
        FUZZ_CHECK(xrem_bpe_token(b, tok[i]) != NULL, "id %d has no token", tok[i]);

    int32_t *ids = NULL;
    int64_t ne = 0;
    st = xrem_bpe_encode(b, text, flags, max_len, &ids, &ne);
    FUZZ_CHECK(st == XREM_OK, "encode failed: %s", xrem_last_error());
    int64_t keep = max_len > 0 && n > max_len - 2 ? max_len - 2 : n;
    FUZZ_CHECK(ne == keep + 2, "encode gave %lld ids for %lld tokens, max_len %d", (long long)ne, (long long)n,
               max_len);
    FUZZ_CHECK(ids[0] == xrem_bpe_special_id(b, XREM_BPE_CLS) && ids[ne - 1] == xrem_bpe_special_id(b, XREM_BPE_SEP),
               "encode is not <s> ... </s>");
    for (int64_t i = 0; i < keep; i++)
        FUZZ_CHECK(ids[i + 1] == tok[i], "encode token %lld differs", (long long)i);

    size_t len = strlen(text), off = SIZE_MAX, sl = SIZE_MAX;
    xrem_utf8_strip_py(text, len, &off, &sl);
    FUZZ_CHECK(off <= len && sl <= len - off, "strip range %zu+%zu of %zu", off, sl, len);
    free(ids);
    free(tok);
    free(text);
    return 0;
}

XREM_FUZZ_ENTRY(xrem_fuzz_bpe)
