/* fuzz_csv — the CSV reader (src/core/csv.c) on arbitrary bytes.
 * Checks: a refusal has a message; an accepted table has ncols fields per row, each valid UTF-8
 * of the stated length, physical lines that never go back; column lookup by each header name
 * finds a column of that name; writing the table with the CSV writer and reading it back gives the
 * same fields (except where the format cannot say it: a one-column row holding "" is a blank
 * line, which the reader skips, and a header starting with U+FEFF reads back as a byte-order mark). */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"

#include "core/csv.h"

static int csv_round_trippable(const xrem_csv *c)
{
    const char *h0 = xrem_csv_header(c, 0);
    if (h0 && strncmp(h0, "\xEF\xBB\xBF", 3) == 0) return 0;
    if (xrem_csv_ncols(c) != 1) return 1;
    for (int64_t r = -1; r < xrem_csv_nrows(c); r++) {
        const char *v = r < 0 ? h0 : xrem_csv_get(c, r, 0, NULL);
        if (!v || !*v) return 0;
    }
    return 1;
}

static void csv_round_trip(const xrem_csv *c)
{
    char *mem = NULL;
    size_t nmem = 0;
    FILE *f = open_memstream(&mem, &nmem);
    if (!f) return;
    xrem_csv_writer w;
    xrem_csv_writer_init(&w, f);
    int nc = xrem_csv_ncols(c);
    for (int k = 0; k < nc; k++)
        xrem_csv_put(&w, xrem_csv_header(c, k), (size_t)-1);
    xrem_csv_end_row(&w);
    for (int64_t r = 0; r < xrem_csv_nrows(c); r++) {
        for (int k = 0; k < nc; k++) {
            size_t len;
            const char *v = xrem_csv_get(c, r, k, &len);
            xrem_csv_put(&w, v, len);
        }
        xrem_csv_end_row(&w);
    }
    fclose(f);
    xrem_csv *b = NULL;
    xrem_status st = xrem_csv_parse("round-trip", mem, nmem, &b);
    FUZZ_CHECK(st == XREM_OK, "the writer's output does not read back: %s", xrem_last_error());
    FUZZ_CHECK(xrem_csv_ncols(b) == nc && xrem_csv_nrows(b) == xrem_csv_nrows(c), "shape %d x %lld became %d x %lld",
               nc, (long long)xrem_csv_nrows(c), xrem_csv_ncols(b), (long long)xrem_csv_nrows(b));
    for (int k = 0; k < nc; k++)
        FUZZ_CHECK(strcmp(xrem_csv_header(b, k), xrem_csv_header(c, k)) == 0, "header %d changed", k);
    for (int64_t r = 0; r < xrem_csv_nrows(c); r++)
        for (int k = 0; k < nc; k++) {
            size_t la, lb;
            const char *va = xrem_csv_get(c, r, k, &la), *vb = xrem_csv_get(b, r, k, &lb);
            FUZZ_CHECK(la == lb && memcmp(va, vb, la) == 0, "row %lld field %d changed", (long long)r, k);
        }
    xrem_csv_free(b);
    free(mem);
}

int xrem_fuzz_csv(const uint8_t *data, size_t size)
{
    xrem_csv *c = NULL;
    FUZZ_CLEAR_ERROR();
    xrem_status st = xrem_csv_parse("fuzz.csv", (const char *)data, size, &c);
    FUZZ_FAILED_WITH_MESSAGE(st);
    if (st != XREM_OK) {
        FUZZ_CHECK(c == NULL, "a failed parse left a table");
        return 0;
    }
    int nc = xrem_csv_ncols(c);
    FUZZ_CHECK(nc >= 1, "%d columns", nc);
    int64_t prev = 0;
    for (int64_t r = -1; r < xrem_csv_nrows(c); r++) {
        if (r >= 0) {
            int64_t line = xrem_csv_line(c, r);
            FUZZ_CHECK(line > prev, "row %lld starts on line %lld after %lld", (long long)r, (long long)line,
                       (long long)prev);
            prev = line;
        }
        for (int k = 0; k < nc; k++) {
            size_t len = 0;
            const char *v = r < 0 ? xrem_csv_header(c, k) : xrem_csv_get(c, r, k, &len);
            FUZZ_CHECK(v != NULL, "row %lld field %d missing", (long long)r, k);
            if (r < 0) len = strlen(v);
            FUZZ_CHECK(strlen(v) == len, "row %lld field %d: length %zu, strlen %zu", (long long)r, k, len, strlen(v));
            FUZZ_CHECK(xrem_utf8_valid(v, len, NULL), "row %lld field %d is not valid UTF-8", (long long)r, k);
        }
    }
    FUZZ_CHECK(xrem_csv_get(c, xrem_csv_nrows(c), 0, NULL) == NULL, "a row past the end");
    FUZZ_CHECK(xrem_csv_get(c, 0, nc, NULL) == NULL, "a column past the end");
    for (int k = 0; k < nc; k++) {
        int col = -1;
        FUZZ_CLEAR_ERROR();
        if (xrem_csv_column(c, xrem_csv_header(c, k), &col) == XREM_OK)
            FUZZ_CHECK(strcmp(xrem_csv_header(c, col), xrem_csv_header(c, k)) == 0, "column lookup of %d", k);
        else
            FUZZ_CHECK(xrem_last_error()[0] != '\0', "column lookup failed without a message");
    }
    if (csv_round_trippable(c)) csv_round_trip(c);
    xrem_csv_free(c);
    return 0;
}

XREM_FUZZ_ENTRY(xrem_fuzz_csv)
