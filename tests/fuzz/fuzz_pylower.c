/* fuzz_pylower — Python's str.lower() (src/text/pylower.c) on arbitrary bytes.
 * Checks: the result is NUL-terminated with 16 spare bytes; the reusable-buffer and fresh-buffer
 * calls agree (also on a prefix, into the grown buffer); without U+03A3 in the text (the one
 * context-dependent mapping) the result is the concatenation of chr(c).lower() per code point, with
 * bytes that are not UTF-8 passed through one by one. */
#include "fuzz.h"

#include "text/pylower.h"

static void pl_per_char(const uint8_t *data, size_t size, const char *got, size_t ngot)
{
    char *want = malloc(size * 12 + 1);
    FUZZ_CHECK(want != NULL, "out of memory");
    size_t nw = 0, i = 0;
    while (i < size) {
        uint32_t cp;
        size_t k = xrem_utf8_decode((const char *)data + i, size - i, &cp);
        FUZZ_CHECK(k >= 1 && k <= 4 && k <= size - i, "decode length %zu at %zu", k, i);
        if (cp == XREM_UTF8_INVALID) {
            FUZZ_CHECK(k == 1, "an invalid byte of length %zu", k);
            want[nw++] = (char)data[i];
        } else {
            FUZZ_CHECK(cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF), "decoded U+%X", cp);
            char enc[4];
            FUZZ_CHECK(xrem_utf8_encode(cp, enc) == k && memcmp(enc, data + i, k) == 0,
                       "U+%X does not encode back to its %zu bytes", cp, k);
            nw += xrem_pylower_char(cp, want + nw);
        }
        i += k;
    }
    FUZZ_CHECK(nw == ngot && memcmp(want, got, nw) == 0, "lower() differs from per-character lower (%zu vs %zu bytes)",
               ngot, nw);
    free(want);
}

int xrem_fuzz_pylower(const uint8_t *data, size_t size)
{
    char *buf = NULL;
    size_t cap = 0;
    size_t n = xrem_pylower_into((const char *)data, size, &buf, &cap);
    FUZZ_CHECK(n != SIZE_MAX, "out of memory for %zu bytes", size);
    FUZZ_CHECK(buf != NULL && buf[n] == '\0' && cap >= n + 16, "length %zu, capacity %zu", n, cap);

    char *fresh = NULL;
    size_t nf = 0;
    FUZZ_CLEAR_ERROR();
    xrem_status st = xrem_pystr_lower((const char *)data, size, &fresh, &nf);
    FUZZ_FAILED_WITH_MESSAGE(st);
    FUZZ_CHECK(st == XREM_OK, "pystr_lower: %s", xrem_last_error());
    FUZZ_CHECK(nf == n && memcmp(fresh, buf, n) == 0 && fresh[nf] == '\0', "the two calls differ");

    int sigma = 0;
    for (size_t i = 0; i + 1 < size && !sigma; i++)
        sigma = data[i] == 0xCE && data[i + 1] == 0xA3;
    if (!sigma) pl_per_char(data, size, buf, n);

    /* the buffer reused for a shorter text: same result as a fresh call */
    size_t half = size / 2;
    char *again = NULL;
    size_t na = 0;
    FUZZ_CHECK(xrem_pystr_lower((const char *)data, half, &again, &na) == XREM_OK, "pystr_lower on a prefix");
    size_t n2 = xrem_pylower_into((const char *)data, half, &buf, &cap);
    FUZZ_CHECK(n2 == na && memcmp(again, buf, na) == 0 && buf[n2] == '\0', "the reused buffer differs");
    free(again);
    free(fresh);
    free(buf);
    return 0;
}

XREM_FUZZ_ENTRY(xrem_fuzz_pylower)
