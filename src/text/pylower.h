/* text/pylower.h — Python's str.lower() on UTF-8 bytes, as the reference stack lowercases whole
 * texts (CXR-Report-Metric's BLEU tokens in eval/bleu.c, ifcc's BERTNLI in src/models/nli.c).
 *
 * Exactly Python 3.11's str.lower() (Unicode 14, the tables of src/text/unicode_tables.c):
 *  - full lowercase mappings, so one character can become several (U+0130 -> "i\u0307");
 *  - Final_Sigma: U+03A3 becomes U+03C2 when a cased character precedes it and none follows it
 *    (case-ignorable characters in between skipped, as CPython's handle_capital_sigma does), and
 *    U+03C3 otherwise. The context is the whole text given, not a word.
 * Bytes that are not valid UTF-8 (stray continuation bytes, C0/C1/F5..FF, truncated sequences,
 * overlong forms, surrogates, > U+10FFFF) pass through unchanged, one byte at a time, and count
 * as neither cased nor case-ignorable: the result is Python's
 *     s.decode("utf-8", "surrogateescape").lower().encode("utf-8", "surrogateescape").
 * NUL bytes are ordinary characters (lengths are explicit).
 *
 *   char *buf = NULL; size_t cap = 0;                  // reused across calls
 *   size_t n = xrem_pylower_into(text, len, &buf, &cap);
 *   if (n == SIZE_MAX) { out of memory }               // buf[0..n) is the lowered text
 *   free(buf);
 *
 * Internal to xrem (src/text is below both src/models and eval/); not a public header.
 */
#ifndef XREM_TEXT_PYLOWER_H
#define XREM_TEXT_PYLOWER_H

#include <stddef.h>
#include <stdint.h>

#include "text/utf8.h"
#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* str.lower() of s[0..n) into *buf, grown with realloc as needed (*buf is NULL or a malloc'd block
 * of *cap bytes; s must not overlap it). Returns the length, or SIZE_MAX when memory runs out (then
 * *buf and *cap stay valid, *buf for the caller to free). On success (*buf)[length] is NUL and
 * *cap >= length + 16: callers may read or write up to 15 bytes past the end (word-at-a-time
 * scanning). Never reads s beyond n. */
size_t xrem_pylower_into(const char *s, size_t n, char **buf, size_t *cap);

/* The same into a fresh buffer: *out malloc'd (NUL-terminated, the caller frees it), *out_len its
 * length (out_len may be NULL). XREM_ERR_ARG for a NULL out or a NULL s with len > 0,
 * XREM_ERR_NOMEM when memory runs out. */
xrem_status xrem_pystr_lower(const char *s, size_t len, char **out, size_t *out_len);

/* The pieces, for callers that lowercase one character at a time (CheXbert: transformers'
 * tokenize() lowers each character outside special tokens, so there is no Final_Sigma context). */
/* (xrem_utf8_decode, xrem_utf8_encode and XREM_UTF8_INVALID: text/utf8.h) */
/* chr(cp).lower() into o (room for 4 * XREM_UC_MAX_LOWER = 12 bytes); returns the bytes written. */
size_t xrem_pylower_char(uint32_t cp, char *o);

#ifdef __cplusplus
}
#endif
#endif
