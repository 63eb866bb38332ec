/* CSV reader/writer and reports tables: RFC 4180 details, error messages, matching, a writer
 * round trip, and random inputs (no crash, every field valid UTF-8) for the sanitizer build. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bleu.h"
#include "bootstrap.h"
#include "core/csv.h"
#include "reports.h"
#include "testutil.h"

static xrem_csv *parse(const char *s) { /* NUL-free literal */
    xrem_csv *c = NULL;
    if (xrem_csv_parse("t.csv", s, strlen(s), &c) != XREM_OK) return NULL;
    return c;
}

static void expect_field(const xrem_csv *c, int64_t r, int k, const char *want)
{
    size_t n;
    const char *f = xrem_csv_get(c, r, k, &n);
    CHECK(f && n == strlen(want) && !memcmp(f, want, n), "row %" PRId64 " col %d: got '%s' want '%s'", r, k, f ? f : "(null)", want);
}

static void expect_error(const char *data, size_t n, const char *want)
{
    xrem_csv *c = NULL;
    xrem_status st = xrem_csv_parse("t.csv", data, n, &c);
    CHECK(st != XREM_OK && strstr(xrem_last_error(), want), "input %.40s...: want error containing '%s', got %s '%s'", data, want,
          st == XREM_OK ? "success" : "", xrem_last_error());
    xrem_csv_free(c);
}

static int test_reader(void)
{
    xrem_csv *c = parse("\xef\xbb\xbfstudy_id,report,x\r\n"
                        "1,\"a, b\",\r\n"
                        "\n"
                        "2,\"say \"\"hi\"\"\nnext line\r\nthird\",z\r"
                        "3,plain \"quote\" inside,\"\"\n"
                        "4,,last");
    CHECK(c != NULL, "parse failed: %s", xrem_last_error());
    if (!c) return 0;
    CHECK(xrem_csv_ncols(c) == 3 && xrem_csv_nrows(c) == 4, "shape %d x %" PRId64, xrem_csv_ncols(c), xrem_csv_nrows(c));
    CHECK(!strcmp(xrem_csv_header(c, 0), "study_id"), "BOM not skipped: '%s'", xrem_csv_header(c, 0));
    expect_field(c, 0, 1, "a, b");
    expect_field(c, 0, 2, "");
    expect_field(c, 1, 1, "say \"hi\"\nnext line\r\nthird");
    expect_field(c, 1, 2, "z");
    expect_field(c, 2, 1, "plain \"quote\" inside");
    expect_field(c, 2, 2, "");
    expect_field(c, 3, 1, "");
    expect_field(c, 3, 2, "last");
    int64_t lines[4] = {2, 4, 7, 8};
    for (int r = 0; r < 4; r++) CHECK(xrem_csv_line(c, r) == lines[r], "row %d line %" PRId64 " want %" PRId64, r, xrem_csv_line(c, r), lines[r]);
    int col;
    CHECK_OK(xrem_csv_column(c, "report", &col));
    CHECK(col == 1, "column index %d", col);
    CHECK(xrem_csv_column(c, "Report", &col) == XREM_ERR_FORMAT && strstr(xrem_last_error(), "'study_id', 'report', 'x'"),
          "missing column message: %s", xrem_last_error());
    CHECK(xrem_csv_get(c, 4, 0, NULL) == NULL && xrem_csv_get(c, -1, 0, NULL) == NULL && xrem_csv_get(c, 0, 3, NULL) == NULL,
          "out-of-range access must give NULL");
    xrem_csv_free(c);

    c = parse("a,a\n1,2\n");
    CHECK(c && xrem_csv_column(c, "a", &col) == XREM_ERR_FORMAT && strstr(xrem_last_error(), "appears twice"), "duplicate header");
    xrem_csv_free(c);

    expect_error("a,b\n1,\"open\n\n", 13, "row 1 (line 2) field 'b': quoted field opened on line 2 is never closed (file cut mid-row?)");
    expect_error("a,b\n1,2\n3\n", 10, "row 2 (line 3) has 1 field, the header has 2");
    expect_error("a,b\n1,2,3\n", 10, "row 1 (line 2) has more than 2 fields");
    expect_error("a,b\n1,\"x\"y\n", 12, "row 1 (line 2) field 'b': unexpected byte 0x79");
    expect_error("a,b\n1,\"x\ny\xff\"\n", 14, "row 1 (line 2) field 'b': invalid UTF-8 (byte 0xFF at line 3, offset 3");
    expect_error("a,b\n1,x\xed\xa0\x80\n", 11, "invalid UTF-8 (byte 0xED"); /* surrogate */
    expect_error("a,b\n1,\xf4\x90\x80\x80\n", 10, "invalid UTF-8");        /* > U+10FFFF */
    expect_error("a,b\n1,\xe2\x82\n", 9, "invalid UTF-8");                  /* cut sequence */
    expect_error("a,\xc3\n", 5, "header (line 1) column 2: invalid UTF-8");
    expect_error("a,b\n1,x\0y\n", 10, "field 'b': NUL byte");
    expect_error("", 0, "empty CSV");
    expect_error("\n\n", 2, "empty CSV");
    CHECK(xrem_utf8_valid("\xf0\x9f\x99\x82 \xc3\xa9\xe2\x82\xac", 10, NULL), "valid UTF-8 refused");
    return 0;
}

static int test_writer(void)
{
    const char *vals[] = {"plain", "with,comma", "with \"quote\"", "multi\nline", "cr\rhere", "", "ünïcode"};
    char path[64];
    snprintf(path, sizeof path, "/tmp/xrem_test_csv_%d.csv", (int)getpid());
    FILE *f = fopen(path, "wb");
    xrem_csv_writer w;
    xrem_csv_writer_init(&w, f);
    for (int k = 0; k < 7; k++) {
        char h[8];
        snprintf(h, sizeof h, "c%d", k);
        xrem_csv_put(&w, h, (size_t)-1);
    }
    xrem_csv_end_row(&w);
    for (int k = 0; k < 7; k++) xrem_csv_put(&w, vals[k], (size_t)-1);
    xrem_csv_end_row(&w);
    double d[3] = {0.1, 1.0 / 3.0, 5e-300};
    for (int k = 0; k < 3; k++) xrem_csv_put_f64(&w, d[k]);
    xrem_csv_put_i64(&w, -42);
    xrem_csv_put_f64(&w, 0.0 / 0.0);
    xrem_csv_put(&w, "x", 1);
    xrem_csv_put(&w, "y", 1);
    xrem_csv_end_row(&w);
    fclose(f);
    xrem_csv *c;
    CHECK_OK(xrem_csv_read(path, &c));
    CHECK(xrem_csv_nrows(c) == 2, "round trip rows");
    for (int k = 0; k < 7; k++) expect_field(c, 0, k, vals[k]);
    for (int k = 0; k < 3; k++) CHECK(strtod(xrem_csv_get(c, 1, k, NULL), NULL) == d[k], "double %d does not round-trip", k);
    expect_field(c, 1, 3, "-42");
    expect_field(c, 1, 4, "nan");
    xrem_csv_free(c);
    unlink(path);
    return 0;
}

static int test_reports(void)
{
    char path[2][64];
    const char *body[2] = {"report,study_id,extra\nalpha,10,x\n,007,y\n\"  \",3,z\nlast,12,w\n",
                           "study_id,report\n12,a\n3,b\n99,c\n7,d\n"};
    for (int k = 0; k < 2; k++) {
        snprintf(path[k], sizeof path[k], "/tmp/xrem_test_rep%d_%d.csv", k, (int)getpid());
        FILE *f = fopen(path[k], "wb");
        fputs(body[k], f);
        fclose(f);
    }
    xrem_reports *g, *p;
    CHECK_OK(xrem_reports_load(path[0], NULL, NULL, &g));
    CHECK_OK(xrem_reports_load(path[1], NULL, NULL, &p));
    CHECK(g->n == 4 && g->id[1] == 7 && g->n_empty == 2, "gt table: n %" PRId64 " id %" PRId64 " empty %" PRId64, g->n, g->id[1], g->n_empty);
    xrem_report_match m;
    CHECK_OK(xrem_reports_match(g, p, &m));
    CHECK(m.n == 3, "shared %" PRId64, m.n);
    /* GT order: 10 (unmatched), 7, 3, 12 */
    CHECK(m.n == 3 && m.gt[0] == 1 && m.pred[0] == 3 && m.gt[1] == 2 && m.pred[1] == 1 && m.gt[2] == 3 && m.pred[2] == 0, "match rows");
    CHECK(m.n_gt_only == 1 && g->id[m.gt_only[0]] == 10, "gt only");
    CHECK(m.n_pred_only == 1 && p->id[m.pred_only[0]] == 99, "pred only");
    xrem_report_match_free(&m);
    xrem_reports_free(g);
    xrem_reports_free(p);
    int64_t v;
    CHECK(xrem_study_id_parse("123456789012345678", 18, &v) && v == 123456789012345678LL, "18 digits");
    CHECK(!xrem_study_id_parse("1234567890123456789", 19, &v), "19 digits refused");
    CHECK(!xrem_study_id_parse("1e5", 3, &v) && !xrem_study_id_parse(" 1", 2, &v) && !xrem_study_id_parse("1.0", 3, &v), "non-digits");
    for (int k = 0; k < 2; k++) unlink(path[k]);
    return 0;
}

/* Random bytes, biased towards CSV structure: parse must succeed or fail cleanly, and every
 * field of a success must be valid UTF-8; BLEU on the same bytes must stay in [0, 1]. */
static int test_fuzz(void)
{
    /* pieces: whole UTF-8 characters, CSV structure, and (odd iterations only) invalid bytes */
    static const char *const alpha[] = {"a", ",", "\"", "\n", "\r", " ", ".", "\xc3\xa9", "Z", "\xce\xa3", "\"\"", "1", "\xff", "\xc3"};
    const size_t n_valid = 12, n_all = 14;
    xrem_rng r;
    xrem_rng_seed(&r, 2024);
    xrem_bleu_ws *ws;
    CHECK_OK(xrem_bleu_ws_create(&ws));
    int ok = 0, fail = 0;
    char buf[256];
    for (int it = 0; it < 20000; it++) {
        size_t want = xrem_rng_below(&r, sizeof buf - 4), n = 0;
        while (n < want) {
            const char *piece = alpha[xrem_rng_below(&r, (it & 1) ? n_all : n_valid)];
            size_t l = strlen(piece);
            memcpy(buf + n, piece, l);
            n += l;
        }
        xrem_csv *c = NULL;
        if (xrem_csv_parse("fuzz", buf, n, &c) == XREM_OK) {
            ok++;
            for (int64_t row = 0; row < xrem_csv_nrows(c); row++)
                for (int k = 0; k < xrem_csv_ncols(c); k++) {
                    size_t l;
                    const char *f = xrem_csv_get(c, row, k, &l);
                    CHECK(xrem_utf8_valid(f, l, NULL), "fuzz %d: invalid field accepted", it);
                }
            xrem_csv_free(c);
        } else {
            fail++;
            CHECK(strlen(xrem_last_error()) > 0, "fuzz %d: failure without a message", it);
        }
        size_t h = n / 2;
        double s;
        xrem_bleu_stats st;
        CHECK_OK(xrem_bleu2(ws, buf, h, buf + h, n - h, &s));
        CHECK(s >= 0 && s <= 1, "fuzz %d: bleu2 %g", it, s);
        CHECK_OK(xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_13A, buf, h, buf + h, n - h, 4, &st));
        CHECK_OK(xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_NLTK, buf, h, buf + h, n - h, 3, &st));
    }
    xrem_bleu_ws_free(ws);
    printf("fuzz: 20000 random inputs, %d parsed, %d refused with a message\n", ok, fail);

    /* round trip: random tables written by the writer read back field for field */
    int trips = 0;
    for (int it = 0; it < 2000; it++) {
        int rows = 1 + (int)xrem_rng_below(&r, 5), cols = 1 + (int)xrem_rng_below(&r, 4);
        char cell[5][4][40];
        size_t cl[5][4];
        char *mem = NULL;
        size_t memn = 0;
        FILE *f = open_memstream(&mem, &memn);
        xrem_csv_writer w;
        xrem_csv_writer_init(&w, f);
        for (int k = 0; k < cols; k++) xrem_csv_put(&w, "h", 1);
        xrem_csv_end_row(&w);
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < cols; k++) {
                size_t l = 0, want = xrem_rng_below(&r, 8);
                if (cols == 1 && want == 0) want = 1; /* a lone empty field is a blank line */
                while (l < want) {
                    const char *piece = alpha[xrem_rng_below(&r, n_valid)];
                    size_t pl = strlen(piece);
                    memcpy(cell[i][k] + l, piece, pl);
                    l += pl;
                }
                cl[i][k] = l;
                xrem_csv_put(&w, cell[i][k], l);
            }
            xrem_csv_end_row(&w);
        }
        fclose(f);
        xrem_csv *c = NULL;
        if (xrem_csv_parse("trip", mem, memn, &c) != XREM_OK) {
            CHECK(0, "round trip %d: %s", it, xrem_last_error());
        } else {
            int same = xrem_csv_nrows(c) == rows && xrem_csv_ncols(c) == cols;
            for (int i = 0; same && i < rows; i++)
                for (int k = 0; same && k < cols; k++) {
                    size_t l;
                    const char *g = xrem_csv_get(c, i, k, &l);
                    same = l == cl[i][k] && !memcmp(g, cell[i][k], l);
                }
            CHECK(same, "round trip %d differs", it);
            trips += same;
        }
        xrem_csv_free(c);
        free(mem);
    }
    printf("writer/reader round trip: %d/2000 random tables identical\n", trips);
    return 0;
}

int main(void)
{
    if (test_reader() || test_writer() || test_reports() || test_fuzz()) return 1;
    if (xrem_test_failures) {
        printf("test_csv: %d failure(s)\n", xrem_test_failures);
        return 1;
    }
    printf("test_csv: ok\n");
    return 0;
}
