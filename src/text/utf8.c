#include "text/utf8.h"

/* The sequence length a lead byte announces and the range its second byte must lie in (which
 * rules out overlong forms, surrogates and code points above U+10FFFF); 0 for a byte that cannot
 * start a sequence. */
static size_t utf8_lead(unsigned c, unsigned *lo, unsigned *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0) *lo = 0xA0;
        if (c == 0xED) *hi = 0x9F;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0) *lo = 0x90;
        if (c == 0xF4) *hi = 0x8F;
        return 4;
    }
    return 0;
}

/* How many bytes of s[0..n) form a prefix of a valid sequence (at least 1), and its full length. */
static size_t utf8_prefix(const unsigned char *s, size_t n, size_t *len)
{
    unsigned lo, hi;
    *len = utf8_lead(s[0], &lo, &hi);
    if (*len == 0 || n < 2 || s[1] < lo || s[1] > hi) return 1;
    size_t k = 2;
    while (k < *len && k < n && s[k] >= 0x80 && s[k] <= 0xBF)
        k++;
    return k;
}

static uint32_t utf8_value(const unsigned char *s, size_t len)
{
    uint32_t cp = (len == 2) ? (s[0] & 0x1Fu) : (len == 3) ? (s[0] & 0x0Fu) : (s[0] & 0x07u);
    for (size_t m = 1; m < len; m++)
        cp = (cp << 6) | (s[m] & 0x3Fu);
    return cp;
}

size_t xrem_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    size_t len, k = utf8_prefix(u, n, &len);
    if (len == 0 || k < len) {
        *cp = XREM_UTF8_INVALID;
        return 1;
    }
    *cp = utf8_value(u, len);
    return len;
}

size_t xrem_utf8_decode_replace(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    size_t len, k = utf8_prefix(u, n, &len);
    if (len == 0 || k < len) {
        *cp = 0xFFFD;
        return k;
    }
    *cp = utf8_value(u, len);
    return len;
}

size_t xrem_utf8_encode(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
