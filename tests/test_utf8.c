/* src/text/utf8.c against CPython: xrem_utf8_decode_replace must split every input of
 * tests/golden/utf8_replace.txt (from scripts/make_utf8_goldens.py: bytes.decode("utf-8",
 * errors="replace") on edge cases and 2,000 random byte strings) into the same code points, and
 * xrem_utf8_decode must agree with it wherever the input is valid, report an invalid byte as
 * XREM_UTF8_INVALID of length 1, and round-trip through xrem_utf8_encode. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "text/utf8.h"

static size_t unhex(const char *h, unsigned char *out)
{
    size_t n = 0;
    if (h[0] == '-') return 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (unsigned char)v;
    }
    return n;
}

/* one golden line: decode both ways and compare; returns the failures seen */
static int check_line(int line, const unsigned char *s, size_t n, const uint32_t *want, size_t nwant)
{
    size_t k = 0, got = 0;
    int bad = 0;
    while (k < n) {
        uint32_t cp, strict;
        size_t l = xrem_utf8_decode_replace((const char *)s + k, n - k, &cp);
        size_t ls = xrem_utf8_decode((const char *)s + k, n - k, &strict);
        if (got >= nwant || cp != want[got]) bad = 1;
        if (cp != 0xFFFD || strict != XREM_UTF8_INVALID) {
            char enc[4];
            if (strict != cp || ls != l || xrem_utf8_encode(cp, enc) != l || memcmp(enc, s + k, l) != 0) bad = 1;
        } else if (ls != 1) {
            bad = 1;
        }
        got++;
        k += l;
    }
    CHECK(!bad && got == nwant, "line %d: decoding differs from CPython's (%zu vs %zu code points)", line, got, nwant);
    return bad || got != nwant;
}

int main(void)
{
    FILE *f = fopen(xrem_test_src("tests/golden/utf8_replace.txt"), "r");
    if (!f) {
        fprintf(stderr, "tests/golden/utf8_replace.txt: cannot open\n");
        return 1;
    }
    char line[4096];
    int nline = 0, nfail = 0;
    while (fgets(line, sizeof line, f)) {
        nline++;
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        unsigned char s[1024];
        size_t n = unhex(line, s);
        uint32_t want[1024];
        size_t nwant = 0;
        for (char *p = tab + 1; *p && *p != '\n';) {
            char *e;
            want[nwant++] = (uint32_t)strtoul(p, &e, 16);
            p = *e == ' ' ? e + 1 : e;
        }
        nfail += check_line(nline, s, n, want, nwant);
    }
    fclose(f);
    CHECK(nline >= 2000, "golden has %d lines", nline);
    printf("utf8: %d inputs, %d differ from CPython\n", nline, nfail);
    return xrem_test_failures ? 1 : 0;
}
