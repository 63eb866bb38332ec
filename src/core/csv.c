/* RFC 4180 CSV reader and writer (see csv.h for what is accepted and refused). */
#define _POSIX_C_SOURCE 200809L
#include "core/csv.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct xrem_csv {
    char *name;
    char *buf;          /* unescaped fields, each NUL-terminated */
    size_t nbuf, capbuf;
    size_t *off, *len;  /* per field, records one after the other; header first */
    size_t nf, capf;
    int64_t *line;      /* physical start line of each record (record 0 = header) */
    int64_t nrec;
    size_t caprec;
    int ncols;
};

/* --- growth helpers (overflow-checked) ------------------------------------------------------ */
static int csv__grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return 0;
        nc *= 2;
    }
    if (nc > SIZE_MAX / elem) return 0;
    void *q = realloc(*p, nc * elem);
    if (!q) return 0;
    *p = q;
    *cap = nc;
    return 1;
}

int xrem_utf8_valid(const char *s, size_t n, size_t *bad)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* ASCII without NUL, eight bytes at a time */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, u + i, 8);
            uint64_t zero = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;
            if ((w & 0x8080808080808080ULL) | zero) break;
            i += 8;
        }
        if (i >= n) break;
        unsigned c = u[i];
        if (c >= 0x01 && c < 0x80) { i++; continue; }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) { need = 2; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) need = 2;
        else if (c == 0xED) { need = 2; hi = 0x9F; } /* no surrogates */
        else if (c >= 0xEE && c <= 0xEF) need = 2;
        else if (c == 0xF0) { need = 3; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        else if (c == 0xF4) { need = 3; hi = 0x8F; } /* <= U+10FFFF */
        else goto fail; /* NUL, stray continuation, C0/C1, F5..FF */
        if (n - i - 1 < need) goto fail;
        if (u[i + 1] < lo || u[i + 1] > hi) goto fail;
        for (size_t k = 2; k <= need; k++)
            if (u[i + k] < 0x80 || u[i + k] > 0xBF) goto fail;
        i += need + 1;
        continue;
    fail:
        if (bad) *bad = i;
        return 0;
    }
    return 1;
}

static const char *csv__colname(const xrem_csv *c, int col, char *tmp, size_t cap)
{
    if (c->nrec > 0 && col < c->ncols) {
        snprintf(tmp, cap, "'%s'", c->buf + c->off[col]);
    } else {
        snprintf(tmp, cap, "column %d", col + 1);
    }
    return tmp;
}

/* Validate the field just appended (index fi, starting on physical line fline). */
static xrem_status csv__check_field(const xrem_csv *c, size_t fi, int64_t rec, int col, int64_t fline)
{
    const char *f = c->buf + c->off[fi];
    size_t flen = c->len[fi], bad = 0;
    if (xrem_utf8_valid(f, flen, &bad)) return XREM_OK;
    int64_t line = fline;
    for (size_t k = 0; k < bad; k++)
        if (f[k] == '\n' || (f[k] == '\r' && (k + 1 >= flen || f[k + 1] != '\n'))) line++;
    char tmp[160];
    const char *what = f[bad] == 0 ? "NUL byte" : "invalid UTF-8";
    if (rec == 0)
        return xrem_fail(XREM_ERR_FORMAT, "%s: header (line %" PRId64 ") column %d: %s (byte 0x%02X at line %" PRId64 ")",
                         c->name, fline, col + 1, what, (unsigned)(unsigned char)f[bad], line);
    return xrem_fail(XREM_ERR_FORMAT, "%s: row %" PRId64 " (line %" PRId64 ") field %s: %s (byte 0x%02X at line %" PRId64 ", offset %zu in the field)",
                     c->name, rec, c->line[rec], csv__colname(c, col, tmp, sizeof tmp), what,
                     (unsigned)(unsigned char)f[bad], line, bad);
}

/* off[] and len[] share one capacity. */
static int csv__grow_fields(xrem_csv *c, size_t need)
{
    if (need <= c->capf) return 1;
    size_t cap_off = c->capf, cap_len = c->capf;
    if (!csv__grow((void **)&c->off, &cap_off, need, sizeof *c->off)) return 0;
    if (!csv__grow((void **)&c->len, &cap_len, cap_off, sizeof *c->len)) return 0;
    c->capf = cap_off;
    return 1;
}

static xrem_status csv__nomem(const xrem_csv *c)
{
    return xrem_fail(XREM_ERR_NOMEM, "%s: out of memory while parsing CSV", c->name);
}

static xrem_status csv__parse(xrem_csv *c, const char *d, size_t n)
{
    size_t pos = 0;
    int64_t line = 1;
    if (n >= 3 && (unsigned char)d[0] == 0xEF && (unsigned char)d[1] == 0xBB && (unsigned char)d[2] == 0xBF) pos = 3;

    while (pos < n) {
        /* pandas' C parser (skip_blank_lines) skips a line of only spaces and tabs, unquoted */
        size_t ws = pos;
        while (ws < n && (d[ws] == ' ' || d[ws] == '\t')) ws++;
        if (ws > pos && (ws >= n || d[ws] == '\n' || d[ws] == '\r')) {
            pos = ws;
            if (pos < n && d[pos] == '\r') pos++;
            if (pos < n && d[pos] == '\n') pos++;
            line++;
            continue;
        }
        /* one record */
        int64_t rec = c->nrec;
        int64_t rec_line = line;
        if (!csv__grow((void **)&c->line, &c->caprec, (size_t)rec + 1, sizeof *c->line)) return csv__nomem(c);
        c->line[rec] = rec_line;
        size_t first_field = c->nf;
        int col = 0, only_empty_unquoted = 1;
        for (;;) {
            if (!csv__grow_fields(c, c->nf + 1)) return csv__nomem(c);
            size_t start = c->nbuf;
            int64_t fline = line;
            if (pos < n && d[pos] == '"') {
                only_empty_unquoted = 0;
                int64_t open_line = line;
                pos++;
                for (;;) {
                    if (pos >= n) {
                        char tmp[160];
                        if (rec == 0)
                            return xrem_fail(XREM_ERR_FORMAT, "%s: header column %d: quoted field opened on line %" PRId64 " is never closed (file cut mid-row?)",
                                             c->name, col + 1, open_line);
                        return xrem_fail(XREM_ERR_FORMAT, "%s: row %" PRId64 " (line %" PRId64 ") field %s: quoted field opened on line %" PRId64
                                         " is never closed (file cut mid-row?)",
                                         c->name, rec, rec_line, csv__colname(c, col, tmp, sizeof tmp), open_line);
                    }
                    /* copy a run of ordinary bytes at once */
                    const char *q = memchr(d + pos, '"', n - pos);
                    size_t run = q ? (size_t)(q - (d + pos)) : n - pos;
                    if (run) {
                        if (!csv__grow((void **)&c->buf, &c->capbuf, c->nbuf + run + 1, 1)) return csv__nomem(c);
                        memcpy(c->buf + c->nbuf, d + pos, run);
                        for (size_t k = 0; k < run; k++) {
                            char ch = d[pos + k];
                            if (ch == '\n' || (ch == '\r' && (pos + k + 1 >= n || d[pos + k + 1] != '\n'))) line++;
                        }
                        c->nbuf += run;
                        pos += run;
                        continue;
                    }
                    /* d[pos] == '"' */
                    if (pos + 1 < n && d[pos + 1] == '"') {
                        if (!csv__grow((void **)&c->buf, &c->capbuf, c->nbuf + 2, 1)) return csv__nomem(c);
                        c->buf[c->nbuf++] = '"';
                        pos += 2;
                        continue;
                    }
                    pos++; /* closing quote */
                    break;
                }
                if (pos < n && d[pos] != ',' && d[pos] != '\n' && d[pos] != '\r') {
                    char tmp[160];
                    unsigned ch = (unsigned char)d[pos];
                    if (rec == 0)
                        return xrem_fail(XREM_ERR_FORMAT, "%s: header (line %" PRId64 ") column %d: unexpected byte 0x%02X after a closing quote",
                                         c->name, line, col + 1, ch);
                    return xrem_fail(XREM_ERR_FORMAT, "%s: row %" PRId64 " (line %" PRId64 ") field %s: unexpected byte 0x%02X ('%c') after a closing quote (line %" PRId64 ")",
                                     c->name, rec, rec_line, csv__colname(c, col, tmp, sizeof tmp), ch,
                                     (ch >= 0x20 && ch < 0x7F) ? (int)ch : '?', line);
                }
            } else {
                size_t e = pos;
                while (e < n && d[e] != ',' && d[e] != '\n' && d[e] != '\r') e++;
                size_t run = e - pos;
                if (run) only_empty_unquoted = 0;
                if (!csv__grow((void **)&c->buf, &c->capbuf, c->nbuf + run + 1, 1)) return csv__nomem(c);
                memcpy(c->buf + c->nbuf, d + pos, run);
                c->nbuf += run;
                pos = e;
            }
            if (!csv__grow((void **)&c->buf, &c->capbuf, c->nbuf + 1, 1)) return csv__nomem(c);
            c->buf[c->nbuf++] = 0;
            c->off[c->nf] = start;
            c->len[c->nf] = c->nbuf - start - 1;
            c->nf++;
            if (rec > 0 && col >= c->ncols) {
                /* too many fields: report before validating the extra one */
                size_t e = pos;
                while (e < n && d[e] != '\n' && d[e] != '\r') e++;
                return xrem_fail(XREM_ERR_FORMAT, "%s: row %" PRId64 " (line %" PRId64 ") has more than %d fields, the header has %d (unquoted comma in a report?)",
                                 c->name, rec, rec_line, c->ncols, c->ncols);
            }
            xrem_status st = csv__check_field(c, c->nf - 1, rec, col, fline);
            if (st != XREM_OK) return st;
            col++;
            if (col == INT32_MAX) return xrem_fail(XREM_ERR_FORMAT, "%s: line %" PRId64 ": too many fields", c->name, rec_line);
            if (pos < n && d[pos] == ',') {
                pos++;
                continue;
            }
            break;
        }
        /* record end: consume the line ending */
        int at_eof_without_newline = pos >= n;
        if (pos < n && d[pos] == '\r') pos++;
        if (pos < n && d[pos] == '\n') pos++;
        if (!at_eof_without_newline) line++;

        if (col == 1 && only_empty_unquoted) { /* blank line: skip */
            c->nf = first_field;
            continue;
        }
        if (rec == 0) {
            c->ncols = col;
        } else if (col != c->ncols) {
            return xrem_fail(XREM_ERR_FORMAT, "%s: row %" PRId64 " (line %" PRId64 ") has %d field%s, the header has %d%s", c->name, rec,
                             rec_line, col, col == 1 ? "" : "s", c->ncols,
                             pos >= n ? " (file cut mid-row?)" : "");
        }
        c->nrec++;
    }
    if (c->nrec == 0) return xrem_fail(XREM_ERR_FORMAT, "%s: empty CSV (no header line)", c->name);
    return XREM_OK;
}

xrem_status xrem_csv_parse(const char *name, const char *data, size_t len, xrem_csv **out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "xrem_csv_parse: out is NULL");
    *out = NULL;
    if (!data && len) return xrem_fail(XREM_ERR_ARG, "xrem_csv_parse: data is NULL");
    xrem_csv *c = calloc(1, sizeof *c);
    if (!c) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    c->name = strdup(name ? name : "<csv>");
    if (!c->name) {
        free(c);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    xrem_status st = csv__parse(c, data ? data : "", len);
    if (st != XREM_OK) {
        xrem_csv_free(c);
        return st;
    }
    *out = c;
    return XREM_OK;
}

xrem_status xrem_csv_read(const char *path, xrem_csv **out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "xrem_csv_read: out is NULL");
    *out = NULL;
    if (!path) return xrem_fail(XREM_ERR_ARG, "xrem_csv_read: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return xrem_fail(XREM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (!csv__grow((void **)&data, &cap, n + 65536, 1)) {
            free(data);
            fclose(f);
            return xrem_fail(XREM_ERR_NOMEM, "%s: out of memory while reading", path);
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(data);
        return xrem_fail(XREM_ERR_IO, "%s: read error", path);
    }
    xrem_status st = xrem_csv_parse(path, data, n, out);
    free(data);
    return st;
}

void xrem_csv_free(xrem_csv *c)
{
    if (!c) return;
    free(c->name);
    free(c->buf);
    free(c->off);
    free(c->len);
    free(c->line);
    free(c);
}

const char *xrem_csv_name(const xrem_csv *c) { return c ? c->name : ""; }
int64_t xrem_csv_nrows(const xrem_csv *c) { return c && c->nrec > 0 ? c->nrec - 1 : 0; }
int xrem_csv_ncols(const xrem_csv *c) { return c ? c->ncols : 0; }

const char *xrem_csv_header(const xrem_csv *c, int col)
{
    if (!c || col < 0 || col >= c->ncols) return NULL;
    return c->buf + c->off[col];
}

xrem_status xrem_csv_column(const xrem_csv *c, const char *name, int *col)
{
    if (!c || !name || !col) return xrem_fail(XREM_ERR_ARG, "xrem_csv_column: NULL argument");
    int found = -1;
    for (int k = 0; k < c->ncols; k++) {
        if (strcmp(c->buf + c->off[k], name) != 0) continue;
        if (found >= 0)
            return xrem_fail(XREM_ERR_FORMAT, "%s: column '%s' appears twice in the header (columns %d and %d)", c->name, name,
                             found + 1, k + 1);
        found = k;
    }
    if (found >= 0) {
        *col = found;
        return XREM_OK;
    }
    char have[512];
    size_t h = 0;
    have[0] = 0;
    for (int k = 0; k < c->ncols && h < sizeof have - 8; k++) {
        int w = snprintf(have + h, sizeof have - h, "%s'%s'", k ? ", " : "", c->buf + c->off[k]);
        if (w < 0) break;
        h += (size_t)w;
    }
    if (h >= sizeof have - 8) memcpy(have + sizeof have - 8, "...", 4);
    return xrem_fail(XREM_ERR_FORMAT, "%s: missing column '%s' (the header has %d column%s: %s)", c->name, name, c->ncols,
                     c->ncols == 1 ? "" : "s", have);
}

const char *xrem_csv_get(const xrem_csv *c, int64_t row, int col, size_t *len)
{
    if (!c || row < 0 || row >= xrem_csv_nrows(c) || col < 0 || col >= c->ncols) return NULL;
    size_t fi = (size_t)(row + 1) * (size_t)c->ncols + (size_t)col;
    if (len) *len = c->len[fi];
    return c->buf + c->off[fi];
}

int64_t xrem_csv_line(const xrem_csv *c, int64_t row)
{
    if (!c || row < 0 || row >= xrem_csv_nrows(c)) return 0;
    return c->line[row + 1];
}

/* --- writer --------------------------------------------------------------------------------- */
void xrem_csv_writer_init(xrem_csv_writer *w, FILE *f)
{
    w->f = f;
    w->col = 0;
}

void xrem_csv_put(xrem_csv_writer *w, const char *s, size_t len)
{
    if (!s) s = "";
    if (len == (size_t)-1) len = strlen(s);
    if (w->col++) fputc(',', w->f);
    int quote = 0;
    for (size_t i = 0; i < len && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') quote = 1;
    size_t blank = 0; /* a row of only spaces/tabs would be skipped on reading (pandas too): quote it */
    while (blank < len && (s[blank] == ' ' || s[blank] == '\t')) blank++;
    if (len > 0 && blank == len) quote = 1;
    if (!quote) {
        fwrite(s, 1, len, w->f);
        return;
    }
    fputc('"', w->f);
    size_t a = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '"') continue;
        fwrite(s + a, 1, i + 1 - a, w->f); /* including this quote */
        fputc('"', w->f);
        a = i + 1;
    }
    fwrite(s + a, 1, len - a, w->f);
    fputc('"', w->f);
}

void xrem_csv_put_i64(xrem_csv_writer *w, int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRId64, v);
    xrem_csv_put(w, b, (size_t)-1);
}

void xrem_csv_put_f64(xrem_csv_writer *w, double v)
{
    char b[40];
    if (isnan(v)) {
        xrem_csv_put(w, "nan", 3);
        return;
    }
    snprintf(b, sizeof b, "%.17g", v); /* 17 significant digits always read back exactly */
    xrem_csv_put(w, b, (size_t)-1);
}

void xrem_csv_end_row(xrem_csv_writer *w)
{
    fputc('\n', w->f);
    w->col = 0;
}
