/* text/wordpiece.h — the bert-base-uncased WordPiece tokenizer, as ALBEF / X-REM run it.
 *
 * Gives the same ids as the full call of HF transformers 4.x's slow BertTokenizer(vocab_file,
 * do_lower_case=True, tokenize_chinese_chars=True, strip_accents=None) — `tok(text)`, as ALBEF
 * (transformers 4.8) and bert_score run it — checked by tests/test_tokenizer.c against goldens
 * made by scripts/make_tokenizer_goldens.py with transformers 4.30.
 *
 *   xrem_vocab *v;
 *   if (xrem_vocab_load_txt("bert-base-uncased-vocab.txt", &v) != XREM_OK) { report xrem_last_error() }
 *   int32_t ids[25]; int len;
 *   xrem_wordpiece_encode(v, "No acute cardiopulmonary process.", 25, ids, &len);
 *       // ids = [CLS] no acute card ##io ##pu ##lm ##ona ##ry process .  (len 11, no [SEP])
 *   xrem_text_batch b;
 *   xrem_text_batch_encode(v, texts, B, 25, &b);   // b.ids/b.mask/b.types are [B,T]
 *   xrem_text_batch_free(&b);
 *   xrem_vocab_free(v);
 *
 * What a text goes through (HF's order):
 *  1. Special tokens: every exact occurrence of "[UNK]", "[SEP]", "[PAD]", "[CLS]" or "[MASK]" in
 *     the raw text becomes that token (so "a [SEP] b" is 3 ids, as in X-REM's joined reports);
 *     the text between occurrences is tokenized on its own. Only step 1 recognises them: a
 *     word that spells one after cleaning ("[S<U+200B>EP]", KELVIN SIGN in "[UNK]") is text, as
 *     HF lowercases it before its never_split check. (The goldens' tokenizer is built as
 *     from_pretrained builds it, with the special tokens registered as never-split.)
 *  2. UTF-8 decoding. Invalid UTF-8 (stray or truncated bytes, overlong forms, surrogates,
 *     > U+10FFFF) is read as U+FFFD, as Python's errors="replace" would, and step 3 drops U+FFFD
 *     like every HF version does: bad bytes vanish without splitting the word ("a\xffb" -> "ab").
 *     Never an error, never a crash.
 *  3. Cleaning: NUL, U+FFFD and every category-C* character except \t \n \r are dropped
 *     (control, format such as U+200D ZWJ and U+00AD, private use, unassigned); " \t\n\r", Zs,
 *     U+2028 and U+2029 separate words. Each CJK ideograph (HF's _is_chinese_char ranges) is a
 *     word of its own.
 *  4. Python str.lower() of each character (full mappings, U+0130 -> "i\u0307"). HF's PreTrainedTokenizer.tokenize()
 *     lowercases the text one character at a time (re.sub with "(.+?)") before BasicTokenizer
 *     sees it, so Final_Sigma never applies: a capital sigma is always "σ", never "ς".
 *     NFD (canonical ordering, Hangul), drop category Mn, then split before and after every
 *     punctuation character (ASCII 33-47, 58-64, 91-96, 123-126 and every P*).
 *  5. WordPiece on each piece: greedy longest match first, "##" marks a continuation; a piece
 *     longer than 100 code points, or one that cannot be matched to the end, is a single [UNK].
 * Unicode properties come from Python 3.11's unicodedata (14.0.0), generated into
 * src/text/unicode_tables.c by scripts/gen_unicode_tables.py.
 *
 * A special token split out of the raw text (step 1) but absent from the vocabulary maps to
 * [UNK]. Tokenizing fails with XREM_ERR_FORMAT only when the vocabulary lacks a token it needs:
 * [UNK] for an unknown word, [CLS]/[SEP] for the encoders, [PAD] for batches.
 * A vocab is read-only after loading: any number of threads may tokenize with one vocab.
 */
#ifndef XREM_TEXT_WORDPIECE_H
#define XREM_TEXT_WORDPIECE_H

#include <stdint.h>

#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Words (in code points, after lowercasing and accent stripping) longer than this are [UNK]. */
#define XREM_WORDPIECE_MAX_WORD_CHARS 100

typedef struct xrem_vocab xrem_vocab;

/* Load a vocabulary, one token per line, id = 0-based line number. Lines end at \n, \r\n or \r
 * (Python's universal newlines); a final line without a newline counts, an empty file is an
 * error. A token listed twice gets the later line's id (as HF's dict does). The file must be
 * UTF-8 without NUL bytes. *out is owned by the caller: xrem_vocab_free. */
xrem_status xrem_vocab_load_txt(const char *path, xrem_vocab **out);
/* Build a vocabulary from n NUL-terminated tokens (id = index); the strings are copied. */
xrem_status xrem_vocab_from_strings(const char *const *tok, int64_t n, xrem_vocab **out);
void xrem_vocab_free(xrem_vocab *v);
int64_t xrem_vocab_size(const xrem_vocab *v);
/* Id of an exact token string, -1 if absent. */
int32_t xrem_vocab_id(const xrem_vocab *v, const char *token);
/* Token string of an id (owned by v), NULL when out of range. */
const char *xrem_vocab_token(const xrem_vocab *v, int32_t id);

/* Basic + WordPiece tokenization without added [CLS]/[SEP]. *ids is malloc'd (never NULL on
 * success, even when *n == 0); the caller frees it. On failure *ids = NULL, *n = 0. */
xrem_status xrem_wordpiece_tokenize(const xrem_vocab *v, const char *utf8, int32_t **ids, int64_t *n);

/* ALBEF single sequence: [CLS] followed by the text's first max_len-1 tokens, NO trailing [SEP]
 * (ALBEF's quirk). ids: [max_len]; *len = ids written (1 .. max_len). max_len >= 1. */
xrem_status xrem_wordpiece_encode(const xrem_vocab *v, const char *utf8, int max_len, int32_t *ids, int *len);

/* A pair as HF's tokenizer(a, b, truncation='longest_first', max_length=max_len) gives it:
 * [CLS] a [SEP] b [SEP]; types 0 up to and including the first [SEP], 1 after. When too long,
 * tokens are removed from the end of the longer of a and b one at a time (b when equally long)
 * until the total is max_len. ids, types: [max_len]; *len = ids written. max_len >= 3. */
xrem_status xrem_wordpiece_encode_pair(const xrem_vocab *v, const char *a, const char *b, int max_len,
                                       int32_t *ids, int32_t *types, int *len);

/* B texts encoded with xrem_wordpiece_encode, right-padded with [PAD] to the longest (HF
 * padding='longest'). All arrays are malloc'd by xrem_text_batch_encode and released by
 * xrem_text_batch_free (which also zeroes the struct; safe on a zeroed struct). */
typedef struct {
    int B, T;
    int32_t *ids;   /* [B,T] token ids, [PAD] after len[b] */
    int32_t *mask;  /* [B,T] 1 for real tokens, 0 for padding */
    int32_t *types; /* [B,T] token type ids, all 0 for single sequences */
    int *len;       /* [B] real tokens per row, 1 .. T */
} xrem_text_batch;

/* B >= 1, max_len >= 1, texts[i] non-NULL. On failure *out is zeroed. */
xrem_status xrem_text_batch_encode(const xrem_vocab *v, const char *const *texts, int B, int max_len,
                                   xrem_text_batch *out);
void xrem_text_batch_free(xrem_text_batch *b);

#ifdef __cplusplus
}
#endif
#endif
