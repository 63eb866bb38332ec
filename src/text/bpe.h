/* text/bpe.h — the byte-level BPE tokenizer of GPT-2 / RoBERTa (distilroberta-base), as
 * BERTScore runs it.
 *
 * Gives the same ids as HF transformers' slow RobertaTokenizer (4.x; GPT2Tokenizer is the same
 * algorithm) — checked by tests/test_bpe.c against goldens that
 * scripts/make_bertscore_goldens.py makes with transformers 4.30.2.
 *
 *   xrem_bpe *b;
 *   if (xrem_bpe_load_files("vocab.json", "merges.txt", NULL, &b) != XREM_OK) { report xrem_last_error() }
 *   int32_t *ids; int64_t n;
 *   xrem_bpe_encode(b, "No acute process.", XREM_BPE_PREFIX_SPACE, 512, &ids, &n);
 *       // ids = <s> Ġno Ġacute Ġprocess . </s>   (bert_score's sent_encode after strip())
 *   free(ids);
 *   xrem_bpe_free(b);
 *
 * What a text goes through (HF's order):
 *  1. UTF-8 decoding; an invalid sequence becomes one U+FFFD per maximal ill-formed subpart, as
 *     Python's bytes.decode("utf-8", "replace") gives it (and U+FFFD is then just a character).
 *  2. add_prefix_space (XREM_BPE_PREFIX_SPACE): " " is prepended when the text is non-empty and
 *     does not start with a str.isspace() character (prepare_for_tokenization).
 *  3. Special tokens: every occurrence of a special token string (<s> </s> <unk> <pad> <mask> by
 *     default) becomes that token; leftmost first, longest at one position (HF's Trie.split; the
 *     same thing for special sets where no token is a substring of another, which the loader
 *     checks). A token with lstrip (RoBERTa's <mask>) removes str.isspace() characters at the end
 *     of the text before it, one with rstrip those at the start of the text after it.
 *  4. Pre-tokenization of each text between special tokens with the GPT-2 pattern
 *       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *     implemented by hand (src/text/bpe_unicode.c holds \p{L}, \p{N}, \s as the `regex` module
 *     defines them). The contractions are case-sensitive; " ?" is U+0020 only.
 *  5. Each piece's UTF-8 bytes are mapped through GPT-2's bytes_to_unicode table and merged by
 *     rank: repeatedly the adjacent pair with the lowest rank in merges.txt is merged, every
 *     non-overlapping occurrence left to right, until no adjacent pair has a rank.
 *  6. Each symbol is looked up in the vocabulary; one absent from it is <unk>.
 * Encoding (step 7) adds <s> … </s> (cls, sep) and keeps the first max_len-2 tokens when longer
 * (truncation=True, max_length=max_len, as bert_score's sent_encode asks).
 *
 * Files, as HF reads them: vocab.json is a JSON object token -> id (a repeated key: the later
 * one wins); merges.txt is read with universal newlines, split on "\n", and its first and last
 * elements dropped (the "#version" line and the empty string after the final newline: HF drops
 * them whatever they hold); each remaining line is split on whitespace and counts as a merge
 * when it has exactly two parts; rank = position (a repeated pair keeps the later rank).
 * A tokenizer is read-only after loading: any number of threads may encode with one (there is
 * no word cache). Cost: BPE of one pre-tokenized word of m bytes is O(m·k) for the k distinct
 * merges it applies, like HF's (a 16 kB run of letters: 3 ms); xrem_bpe_encode stops after the
 * words that fill max_len. About 17 MB/s of report text on one core.
 */
#ifndef XREM_TEXT_BPE_H
#define XREM_TEXT_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xrem_bpe xrem_bpe;

/* Special token strings and their whitespace stripping. NULL strings = absent. Passing NULL
 * for the whole struct gives RobertaTokenizer's defaults: cls/bos "<s>", sep/eos "</s>", pad
 * "<pad>", unk "<unk>", mask "<mask>" with lstrip, nothing else stripped. */
typedef enum {
    XREM_BPE_CLS = 0,
    XREM_BPE_SEP,
    XREM_BPE_BOS,
    XREM_BPE_EOS,
    XREM_BPE_PAD,
    XREM_BPE_UNK,
    XREM_BPE_MASK,
    XREM_BPE_NSPECIAL
} xrem_bpe_role;
typedef struct {
    const char *tok[XREM_BPE_NSPECIAL]; /* indexed by xrem_bpe_role */
    unsigned lstrip;                    /* bit r: role r eats whitespace on its left */
    unsigned rstrip;                    /* bit r: role r eats whitespace on its right */
} xrem_bpe_specials;
void xrem_bpe_specials_roberta(xrem_bpe_specials *sp);

/* vocab.json + merges.txt. *out owned by the caller: xrem_bpe_free. The files must be UTF-8;
 * errors name the file and line. The special tokens must be in the vocabulary. */
xrem_status xrem_bpe_load_files(const char *vocab_json, const char *merges_txt, const xrem_bpe_specials *sp,
                                xrem_bpe **out);
/* From strings: vocab[i] is the token of id i (NULL or "" = no token has that id; a repeated
 * token maps to its later id); merges[r] is the rank-r line of merges.txt after the first and
 * last elements were dropped ("Ġ t"), each split on whitespace as above. Strings are copied. */
xrem_status xrem_bpe_from_strings(const char *const *vocab, int64_t nvocab, const char *const *merges, int64_t nmerges,
                                  const xrem_bpe_specials *sp, xrem_bpe **out);
void xrem_bpe_free(xrem_bpe *b);

int64_t xrem_bpe_vocab_size(const xrem_bpe *b); /* largest id + 1 */
int64_t xrem_bpe_merges(const xrem_bpe *b);     /* merge lines (ranks), usable or not */
/* Id of an exact token string, -1 if absent. */
int32_t xrem_bpe_id(const xrem_bpe *b, const char *token);
/* Token string of an id (owned by b), NULL when no token has it. */
const char *xrem_bpe_token(const xrem_bpe *b, int32_t id);
/* Id of a special role, -1 when the tokenizer has none. */
int32_t xrem_bpe_special_id(const xrem_bpe *b, xrem_bpe_role r);

enum { XREM_BPE_PREFIX_SPACE = 1 };

/* Steps 1-6: ids without <s>/</s>. *ids malloc'd (never NULL on success, even when *n == 0);
 * the caller frees it. On failure *ids = NULL, *n = 0. */
xrem_status xrem_bpe_tokenize(const xrem_bpe *b, const char *utf8, unsigned flags, int32_t **ids, int64_t *n);
/* cls + the first max_len-2 tokens + sep (max_len <= 0: no truncation; otherwise >= 2). */
xrem_status xrem_bpe_encode(const xrem_bpe *b, const char *utf8, unsigned flags, int max_len, int32_t **ids,
                            int64_t *n);

/* Python's str.strip() on UTF-8 text: the byte range [*off, *off + *len) of s[0..n) without
 * leading and trailing str.isspace() characters. Invalid UTF-8 is never whitespace. */
void xrem_utf8_strip_py(const char *s, size_t n, size_t *off, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
