/* core/csv.h — RFC 4180 CSV reading and writing (reports, corpora, metric tables).
 *
 * The reader takes a whole file (or a buffer) and gives a table of unescaped, NUL-terminated
 * fields addressed by (row, column). What it accepts:
 *   - fields separated by ',', records ended by LF, CRLF or a lone CR; the last record may lack
 *     its line ending;
 *   - quoted fields ("..."), with embedded commas, line breaks and doubled quotes ("");
 *     a '"' inside an unquoted field is kept as a literal character (as pandas does);
 *   - a UTF-8 byte-order mark at the start (skipped);
 *   - blank lines (an empty record) and lines of only spaces and tabs (unquoted) are skipped, as
 *     pandas' C parser does (skip_blank_lines=True, pandas 1.x and 2.x alike).
 * What it refuses, with a message naming the file, the 1-based data row, the physical line and
 * the field (column name): invalid UTF-8 (overlong forms, surrogates, > U+10FFFF, cut
 * sequences), NUL bytes, a quoted field left open at end of file ("cut mid-row"), text after a
 * closing quote, and a record whose field count differs from the header's.
 * The first record is the header. Data rows are numbered from 1 in messages and from 0 in the API.
 *
 *   xrem_csv *c;
 *   if (xrem_csv_read("gt.csv", &c) != XREM_OK) { fprintf(stderr, "%s\n", xrem_last_error()); ... }
 *   int col;
 *   if (xrem_csv_column(c, "report", &col) != XREM_OK) { ... }   // message lists the columns
 *   for (int64_t r = 0; r < xrem_csv_nrows(c); r++) puts(xrem_csv_get(c, r, col, NULL));
 *   xrem_csv_free(c);
 *
 * The writer quotes a field only when it must (it holds ',', '"', CR or LF, or only spaces and tabs,
 * which the reader would skip as a blank line) and ends rows with LF.
 * Writing to a temporary name and renaming is the caller's business (see src/cli/cmd_eval.c).
 */
#ifndef XREM_CORE_CSV_H
#define XREM_CORE_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xrem_csv xrem_csv;

/* Read and parse a whole file. *out is owned by the caller: xrem_csv_free. */
xrem_status xrem_csv_read(const char *path, xrem_csv **out);
/* Parse len bytes of data; name is used in messages. The data is copied. */
xrem_status xrem_csv_parse(const char *name, const char *data, size_t len, xrem_csv **out);
void xrem_csv_free(xrem_csv *c);

const char *xrem_csv_name(const xrem_csv *c);
int64_t xrem_csv_nrows(const xrem_csv *c); /* data rows (the header not counted) */
int xrem_csv_ncols(const xrem_csv *c);
const char *xrem_csv_header(const xrem_csv *c, int col);
/* The column called name (exact, case-sensitive). Fails (XREM_ERR_FORMAT) when it is missing,
 * naming the file and the columns it has, or when it appears more than once. */
xrem_status xrem_csv_column(const xrem_csv *c, const char *name, int *col);
/* Field of data row `row` (0-based), NUL-terminated, valid UTF-8, owned by c. *len (may be
 * NULL) gets its length in bytes. Out-of-range indices give NULL. */
const char *xrem_csv_get(const xrem_csv *c, int64_t row, int col, size_t *len);
/* Physical line (1-based) on which data row `row` (0-based) starts; 0 when out of range. */
int64_t xrem_csv_line(const xrem_csv *c, int64_t row);

/* 1 when s[0..n) is valid UTF-8 without NUL bytes; else 0 and *bad (may be NULL) gets the
 * offset of the first offending byte. */
int xrem_utf8_valid(const char *s, size_t n, size_t *bad);

/* --- writer --------------------------------------------------------------------------------- */
typedef struct {
    FILE *f;
    int col; /* fields written on the current row */
} xrem_csv_writer;

void xrem_csv_writer_init(xrem_csv_writer *w, FILE *f);
/* One field; len == (size_t)-1 means strlen(s). */
void xrem_csv_put(xrem_csv_writer *w, const char *s, size_t len);
void xrem_csv_put_i64(xrem_csv_writer *w, int64_t v);
/* "%.17g", which reads back to the same double; NaN as "nan". */
void xrem_csv_put_f64(xrem_csv_writer *w, double v);
void xrem_csv_end_row(xrem_csv_writer *w);

#ifdef __cplusplus
}
#endif
#endif
