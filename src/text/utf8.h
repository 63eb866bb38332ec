/* UTF-8 decoding and encoding, the one copy the tokenizers and the lowercasing share.
 *
 * Two ways to treat ill-formed input, because the references differ: xrem_utf8_decode reports an
 * invalid byte as XREM_UTF8_INVALID of length 1 (the caller decides: pylower copies it through,
 * WordPiece drops it), and xrem_utf8_decode_replace gives U+FFFD over the "maximal subpart" as
 * CPython's bytes.decode(errors="replace") does (the byte-level BPE counts those characters).
 * Valid means shortest form, no surrogates, at most U+10FFFF. */
#ifndef XREM_TEXT_UTF8_H
#define XREM_TEXT_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define XREM_UTF8_INVALID UINT32_MAX

/* The code point starting s[0..n) (n > 0): returns its length in bytes; a byte that does not start
 * valid UTF-8 gives *cp = XREM_UTF8_INVALID and length 1. */
size_t xrem_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* As xrem_utf8_decode, but an ill-formed sequence gives *cp = U+FFFD and consumes its maximal
 * subpart (the lead byte and the continuation bytes that could still have completed it). */
size_t xrem_utf8_decode_replace(const char *s, size_t n, uint32_t *cp);
/* UTF-8 of cp (<= 0x10FFFF) into o (room for 4); returns the bytes written. */
size_t xrem_utf8_encode(uint32_t cp, char *o);

#endif
