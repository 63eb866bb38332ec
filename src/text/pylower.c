/* Python's str.lower() on UTF-8: see pylower.h for the contract.
 *
 * One pass over the bytes. ASCII runs are lowered byte by byte without decoding; every other code
 * point is decoded, looked up in the generated lowercase table (binary search) and re-encoded, or
 * copied as it is when it has no mapping or is not valid UTF-8. A capital sigma decides
 * Final_Sigma by decoding its neighbours in place, backwards and forwards, so no code point array
 * is ever built. The backward decoder agrees with the forward one on every byte string: a lead
 * byte always starts a forward step, so reading back to the nearest lead byte (at most 3
 * continuation bytes away) and decoding forward from there finds the same code point, or the same
 * single invalid byte.
 */
#include "text/pylower.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/unicode_tables.h"

#define PL_INVALID XREM_UTF8_INVALID /* a byte that is not valid UTF-8 */
#define PL_SLACK 16           /* room kept past the output: one code point lowers to <= 12 bytes, + NUL */

/* Grow *buf (1-byte elements) to at least need bytes: 256, then doubling. */
static int pl_reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap : 256;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return 0;
        nc *= 2;
    }
    char *q = realloc(*buf, nc);
    if (!q) return 0;
    *buf = q;
    *cap = nc;
    return 1;
}

/* Decode the code point at s[i] (i < n); an invalid byte decodes as PL_INVALID of length 1. */
static inline size_t pl_dec(const unsigned char *s, size_t n, size_t i, uint32_t *cp)
{
    return xrem_utf8_decode((const char *)s + i, n - i, cp);
}

static inline size_t pl_enc(uint32_t cp, char *o) { return xrem_utf8_encode(cp, o); }

/* The code point ending just before s[j] (0 < j <= n), as forward decoding splits s; its start in
 * *start. */
static uint32_t pl_prev(const unsigned char *s, size_t n, size_t j, size_t *start)
{
    size_t k = j - 1;
    while (k > 0 && (s[k] & 0xC0) == 0x80 && j - k < 4)
        k--;
    uint32_t cp;
    if (pl_dec(s, n, k, &cp) == j - k) {
        *start = k;
        return cp;
    }
    *start = j - 1; /* a stray continuation byte */
    return PL_INVALID;
}

/* Properties of a code point; an invalid byte is neither cased nor case-ignorable. */
static unsigned pl_props(uint32_t cp)
{
    if (cp < 0x80) return xrem_uc_ascii[cp].props;
    if (cp == PL_INVALID) return 0;
    size_t lo = 0, hi = XREM_UC_NRANGES; /* the last range with .lo <= cp */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (xrem_uc_ranges[mid].lo <= cp)
            lo = mid;
        else
            hi = mid;
    }
    return xrem_uc_ranges[lo].props;
}

static const xrem_uc_map *pl_lower_map(uint32_t cp)
{
    size_t lo = 0, hi = XREM_UC_NLOWER;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (xrem_uc_lower[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < XREM_UC_NLOWER && xrem_uc_lower[lo].cp == cp) ? &xrem_uc_lower[lo] : NULL;
}

/* CPython's handle_capital_sigma for the U+03A3 at s[i .. i+2):
 * \p{cased} \p{case-ignorable}* U+03A3 !(\p{case-ignorable}* \p{cased}). XREM_UC_CASED marks the
 * cased characters that are not also case-ignorable (those are skipped). */
static int pl_final_sigma(const unsigned char *s, size_t n, size_t i)
{
    size_t j = i;
    int final = 0;
    while (j > 0) {
        size_t st;
        uint32_t c = pl_prev(s, n, j, &st);
        j = st;
        unsigned p = pl_props(c);
        if (p & XREM_UC_CASE_IGNORABLE) continue;
        final = (p & XREM_UC_CASED) != 0;
        break;
    }
    if (!final) return 0;
    size_t k = i + 2;
    while (k < n) {
        uint32_t c;
        size_t l = pl_dec(s, n, k, &c);
        unsigned p = pl_props(c);
        if (p & XREM_UC_CASE_IGNORABLE) {
            k += l;
            continue;
        }
        return (p & XREM_UC_CASED) == 0;
    }
    return 1;
}

size_t xrem_pylower_into(const char *src, size_t n, char **buf, size_t *cap)
{
    const unsigned char *s = (const unsigned char *)src;
    /* output <= 12 bytes per input byte, so on + (n - i) + PL_SLACK below cannot overflow */
    if (n > (SIZE_MAX - 4 * PL_SLACK) / 16) return SIZE_MAX;
    if (!pl_reserve(buf, cap, n + PL_SLACK)) return SIZE_MAX;
    /* invariant at the top of the loop: *cap - on >= (n - i) + PL_SLACK */
    char *o = *buf;
    size_t on = 0, i = 0;
    while (i < n) {
        while (i < n && s[i] < 0x80) { /* an ASCII run: one output byte per input byte */
            unsigned c = s[i++];
            o[on++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        if (i >= n) break;
        uint32_t cp;
        size_t l = pl_dec(s, n, i, &cp);
        if (cp == 0x3A3) {
            on += pl_enc(pl_final_sigma(s, n, i) ? 0x3C2 : 0x3C3, o + on);
        } else {
            const xrem_uc_map *m = cp == PL_INVALID ? NULL : pl_lower_map(cp);
            if (m) {
                for (unsigned k = 0; k < m->len; k++)
                    on += pl_enc(xrem_uc_lower_pool[m->off + k], o + on); /* <= 12 bytes: fits the slack */
            } else {
                memcpy(o + on, s + i, l);
                on += l;
            }
        }
        i += l;
        if (*cap - on < n - i + PL_SLACK) {
            if (!pl_reserve(buf, cap, on + (n - i) + PL_SLACK)) return SIZE_MAX;
            o = *buf;
        }
    }
    o[on] = 0;
    return on;
}

size_t xrem_pylower_char(uint32_t cp, char *o)
{
    if (cp >= 'A' && cp <= 'Z') return pl_enc(cp + 32, o);
    const xrem_uc_map *m = cp < 0x80 ? NULL : pl_lower_map(cp);
    if (!m) return pl_enc(cp, o);
    size_t k = 0;
    for (unsigned j = 0; j < m->len; j++)
        k += pl_enc(xrem_uc_lower_pool[m->off + j], o + k);
    return k;
}

xrem_status xrem_pystr_lower(const char *s, size_t len, char **out, size_t *out_len)
{
    if (!out || (!s && len)) return xrem_fail(XREM_ERR_ARG, "xrem_pystr_lower: NULL argument");
    char *b = NULL;
    size_t cap = 0;
    size_t n = xrem_pylower_into(s ? s : "", len, &b, &cap);
    if (n == SIZE_MAX) {
        free(b);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory lowercasing a text of %zu bytes", len);
    }
    *out = b;
    if (out_len) *out_len = n;
    return XREM_OK;
}
