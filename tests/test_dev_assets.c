/* The library pieces behind `xrem dev` and the pipeline parity goldens:
 *  1. SHA-256: FIPS 180-4 / NIST example vectors (empty, "abc", the 448- and 896-bit messages, a million
 *     'a'), every split of a message into two updates, and the block-boundary lengths 55..64 against a
 *     one-shot hash.
 *  2. IU report sections (xrem_iu_section): entities, character references, CR/CRLF, self-closing and
 *     absent elements, and the refusals (markup inside, unknown entity, unclosed element).
 *  3. The tgz reader on archives written here with zlib: ustar members with a prefix, a GNU long name,
 *     a pax path, a directory, a non-XML member; a truncated archive and a bad size field are refused
 *     with the archive's name; the corpus/gt split (ordering by file number, every k-th, --corpus-max).
 *  4. Synthetic images: deterministic, image i independent of N, values in 0..255, black letterbox
 *     borders, a bright torso over darker lungs.
 * No shared data needed.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/csv.h"
#include "core/sha256.h"
#include "pipeline/iu_reports.h"
#include "pipeline/synth.h"
#include "testutil.h"



/* ---- 1. SHA-256 ---------------------------------------------------------------------------------- */

static void check_sha(const char *what, const void *msg, size_t n, const char *want)
{
    char got[65];
    xrem_sha256_hex(msg, n, got);
    CHECK(!strcmp(got, want), "sha256(%s) = %s, want %s", what, got, want);
}

static void test_sha256(void)
{
    check_sha("\"\"", "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha("abc", "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_sha("448-bit", m448, strlen(m448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                       "mnopqrstnopqrstu";
    check_sha("896-bit", m896, strlen(m896), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    xrem_sha256 c;
    char a[1000], hex[65];
    memset(a, 'a', sizeof a);
    xrem_sha256_init(&c);
    for (int i = 0; i < 1000; i++) xrem_sha256_update(&c, a, sizeof a);
    xrem_sha256_final_hex(&c, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "a million 'a': %s", hex);
    /* every split of the 896-bit message into two updates */
    const size_t n = strlen(m896);
    int bad = 0;
    for (size_t k = 0; k <= n; k++) {
        xrem_sha256_init(&c);
        xrem_sha256_update(&c, m896, k);
        xrem_sha256_update(&c, m896 + k, n - k);
        xrem_sha256_final_hex(&c, hex);
        bad += strcmp(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1") != 0;
    }
    CHECK(bad == 0, "%d of %zu two-part splits give another digest", bad, n + 1);
    /* lengths around the padding boundary, byte by byte vs one shot */
    for (size_t len = 50; len <= 130; len++) {
        char one[65];
        xrem_sha256_hex(a, len, one);
        xrem_sha256_init(&c);
        for (size_t i = 0; i < len; i++) xrem_sha256_update(&c, a + i, 1);
        xrem_sha256_final_hex(&c, hex);
        CHECK(!strcmp(one, hex), "length %zu: byte-wise %s, one-shot %s", len, hex, one);
    }
    printf("sha256: NIST vectors, %zu splits, lengths 50..130 checked\n", n + 1);
}

/* ---- 2. sections ---------------------------------------------------------------------------------- */

static void section_is(const char *xml, const char *label, const char *want)
{
    char *got = NULL;
    xrem_status s = xrem_iu_section(xml, label, "case.xml", &got);
    if (!want) {
        CHECK(s != XREM_OK, "%s: accepted (%s)", xml, got ? got : "");
        CHECK(strstr(xrem_last_error(), "case.xml") != NULL, "message does not name the member: %s", xrem_last_error());
    } else {
        CHECK(s == XREM_OK && got && !strcmp(got, want), "%s -> '%s', want '%s' (%s)", xml, got ? got : "(null)", want,
              s ? xrem_last_error() : "");
    }
    free(got);
}

static void test_sections(void)
{
    section_is("<a><AbstractText Label=\"IMPRESSION\">No acute disease.</AbstractText></a>", "IMPRESSION",
               "No acute disease.");
    section_is("<AbstractText Label=\"FINDINGS\">x</AbstractText><AbstractText Label=\"IMPRESSION\">y</AbstractText>",
               "IMPRESSION", "y");
    section_is("<AbstractText Label=\"IMPRESSION\">a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#65;&#x42;</AbstractText>",
               "IMPRESSION", "a <b> & \"c\" 'd' AB");
    section_is("<AbstractText Label=\"IMPRESSION\">one\r\ntwo\rthree\nfour  </AbstractText>", "IMPRESSION",
               "one\ntwo\nthree\nfour  ");
    section_is("<AbstractText Label=\"IMPRESSION\"/>", "IMPRESSION", "");
    section_is("<AbstractText Label=\"FINDINGS\">x</AbstractText>", "IMPRESSION", "");
    section_is("<AbstractText Label=\"IMPRESSION\"></AbstractText>", "IMPRESSION", "");
    section_is("<AbstractText Label=\"IMPRESSION\">a <b>bold</b></AbstractText>", "IMPRESSION", NULL);
    section_is("<AbstractText Label=\"IMPRESSION\">a &nbsp; b</AbstractText>", "IMPRESSION", NULL);
    section_is("<AbstractText Label=\"IMPRESSION\">a &#233; b</AbstractText>", "IMPRESSION", NULL);
    section_is("<AbstractText Label=\"IMPRESSION\">never closed", "IMPRESSION", NULL);
    section_is("<AbstractText Label=\"IMPRESSION\" extra=\"1\">x</AbstractText>", "IMPRESSION", NULL);
    printf("sections: entity, newline, empty/absent and refusal cases checked\n");
}

/* ---- 3. archives ---------------------------------------------------------------------------------- */

static void tar_header(char *h, const char *name, const char *prefix, size_t size, char type)
{
    memset(h, 0, 512);
    snprintf(h, 100, "%s", name);
    snprintf(h + 100, 8, "%07o", 0644);
    snprintf(h + 108, 8, "%07o", 0);
    snprintf(h + 116, 8, "%07o", 0);
    char num[32];
    snprintf(num, sizeof num, "%011llo", (unsigned long long)size);
    memcpy(h + 124, num, 11);
    snprintf(h + 136, 12, "%011o", 0);
    h[156] = type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    if (prefix) snprintf(h + 345, 155, "%s", prefix);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
}

static void tar_member(gzFile z, const char *name, const char *prefix, const char *data, char type)
{
    char h[512], pad[512] = {0};
    size_t n = strlen(data);
    tar_header(h, name, prefix, n, type);
    gzwrite(z, h, 512);
    if (n) gzwrite(z, data, (unsigned)n);
    if (n % 512) gzwrite(z, pad, (unsigned)(512 - n % 512));
}

static const char *xml_of(const char *imp, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "<?xml version=\"1.0\"?>\n<eCitation><Abstract>\n<AbstractText Label=\"FINDINGS\">Lungs clear.</AbstractText>\n"
             "%s%s%s</Abstract></eCitation>\n",
             imp ? "<AbstractText Label=\"IMPRESSION\">" : "", imp ? imp : "", imp ? "</AbstractText>\n" : "");
    return buf;
}

/* 12 reports: 1..10 plain, 11 with a GNU long name, 12 with a pax path; 4 and 9 have no IMPRESSION. */
static void write_archive(const char *path, int cut, int bad_size)
{
    gzFile z = gzopen(path, "wb");
    char x[1024], longname[200];
    tar_member(z, "ecgen-radiology/", NULL, "", '5');
    tar_member(z, "ecgen-radiology/README.txt", NULL, "not a report", '0');
    const int order[] = {10, 2, 1, 3, 5, 4, 7, 6, 9, 8}; /* archive order is not file-number order */
    for (int k = 0; k < 10; k++) {
        const int i = order[k];
        char name[64], imp[64];
        snprintf(name, sizeof name, "%d.xml", i);
        snprintf(imp, sizeof imp, "Impression %d, with \"quotes\" &amp; a comma.", i);
        tar_member(z, name, "ecgen-radiology", xml_of(i == 4 || i == 9 ? NULL : imp, x, sizeof x), '0');
        if (bad_size && k == 3) {
            char h[512];
            tar_header(h, "broken.xml", NULL, 10, '0');
            memcpy(h + 124, "zzzzzzzzzzz", 11);
            gzwrite(z, h, 512);
        }
    }
    snprintf(longname, sizeof longname, "ecgen-radiology/%0120d11.xml", 0); /* > 100 chars: GNU 'L' */
    tar_member(z, "././@LongLink", NULL, longname, 'L');
    tar_member(z, "ignored-short-name", NULL, xml_of("Eleven\r\nlines.", x, sizeof x), '0');
    char pax[200];
    const char *p12 = "path=ecgen-radiology/12.xml\n";
    snprintf(pax, sizeof pax, "%zu %s", strlen(p12) + 3, p12);
    tar_member(z, "PaxHeaders/12", NULL, pax, 'x');
    tar_member(z, "whatever", NULL, cut ? "" : xml_of("Twelve.", x, sizeof x), '0');
    if (!cut) {
        char zero[1024] = {0};
        gzwrite(z, zero, sizeof zero);
    }
    gzclose(z);
    if (cut) { /* cut the compressed file in the middle of the last members */
        FILE *f = fopen(path, "r+b");
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fclose(f);
        CHECK(truncate(path, n - 60) == 0, "cannot truncate %s", path);
    }
}

static char *slurp_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = calloc(1, 1 << 16);
    fread(b, 1, (1 << 16) - 1, f);
    fclose(f);
    return b;
}

static void test_archive(const char *dir)
{
    char tgz[512], corpus[512], gt[512];
    snprintf(tgz, sizeof tgz, "%s/reports.tgz", dir);
    snprintf(corpus, sizeof corpus, "%s/corpus.csv", dir);
    snprintf(gt, sizeof gt, "%s/gt.csv", dir);
    write_archive(tgz, 0, 0);
    xrem_iu_reports r;
    xrem_status s = xrem_iu_reports_read(tgz, &r);
    CHECK(s == XREM_OK, "read: %s", xrem_last_error());
    if (s) return;
    CHECK(r.n == 12, "%lld reports, want 12", (long long)r.n);
    int seen = 0;
    for (int64_t i = 0; i < r.n; i++) {
        const xrem_iu_report *it = &r.item[i];
        CHECK(!strcmp(it->findings, "Lungs clear."), "%s findings '%s'", it->file, it->findings);
        if (it->number == 11) {
            seen |= 1;
            CHECK(!strcmp(it->impression, "Eleven\nlines."), "11: '%s'", it->impression);
        } else if (it->number == 12) {
            seen |= 2;
            CHECK(!strcmp(it->impression, "Twelve."), "12: '%s'", it->impression);
        } else if (it->number == 4) {
            seen |= 4;
            CHECK(it->impression[0] == 0, "4 has an impression '%s'", it->impression);
        } else if (it->number == 7) {
            seen |= 8;
            CHECK(!strcmp(it->impression, "Impression 7, with \"quotes\" & a comma."), "7: '%s'", it->impression);
        }
    }
    CHECK(seen == 15, "long name / pax path / empty / entity members not all found (%d)", seen);
    CHECK(!strcmp(r.item[0].file, "10.xml") && r.item[0].number == 10, "first member %s", r.item[0].file);

    /* split, every 3rd report with an impression: with impressions 1 2 3 5 6 7 8 10 11 12 -> test 3, 7, 11 */
    int64_t nt = 0, nc = 0;
    s = xrem_iu_reports_write_split(&r, 3, -1, corpus, gt, &nt, &nc);
    CHECK(s == XREM_OK && nt == 3 && nc == 9, "split: %lld test, %lld corpus (%s)", (long long)nt, (long long)nc,
          s ? xrem_last_error() : "");
    char *g = slurp_text(gt), *c = slurp_text(corpus);
    const char *want_gt = "study_id,report\n3,\"Impression 3, with \"\"quotes\"\" & a comma.\"\n"
                          "7,\"Impression 7, with \"\"quotes\"\" & a comma.\"\n11,\"Eleven\nlines.\"\n";
    CHECK(g && !strcmp(g, want_gt), "gt.csv is\n%s\nwant\n%s", g ? g : "(none)", want_gt);
    xrem_csv *cc = NULL;
    int col;
    CHECK(xrem_csv_read(corpus, &cc) == XREM_OK && xrem_csv_column(cc, "report", &col) == XREM_OK,
          "corpus.csv: %s", xrem_last_error());
    /* blank lines (4, 9: no impression) are skipped by the reader, as by pandas */
    const int want_num[] = {1, 2, 5, 6, 8, 10, 12};
    CHECK(cc && xrem_csv_nrows(cc) == 7, "corpus rows %lld, want 7", cc ? (long long)xrem_csv_nrows(cc) : -1LL);
    for (int i = 0; cc && i < 7 && i < xrem_csv_nrows(cc); i++) {
        char want[80];
        if (want_num[i] == 12) snprintf(want, sizeof want, "Twelve.");
        else snprintf(want, sizeof want, "Impression %d, with \"quotes\" & a comma.", want_num[i]);
        CHECK(!strcmp(xrem_csv_get(cc, i, col, NULL), want), "corpus row %d '%s', want '%s'", i,
              xrem_csv_get(cc, i, col, NULL), want);
    }
    xrem_csv_free(cc);
    free(g);
    free(c);
    s = xrem_iu_reports_write_split(&r, 3, 2, corpus, gt, &nt, &nc);
    CHECK(s == XREM_OK && nt == 3 && nc == 2, "--corpus-max 2: %lld test, %lld corpus", (long long)nt, (long long)nc);
    CHECK(xrem_iu_reports_write_split(&r, 1, -1, corpus, gt, NULL, NULL) != XREM_OK, "every = 1 accepted");
    xrem_iu_reports_free(&r);
    CHECK(r.n == 0 && r.item == NULL, "free does not reset");

    /* refusals name the archive */
    write_archive(tgz, 1, 0);
    s = xrem_iu_reports_read(tgz, &r);
    CHECK(s != XREM_OK && strstr(xrem_last_error(), "reports.tgz"), "truncated archive: %s",
          s ? xrem_last_error() : "accepted");
    CHECK(r.n == 0, "a failed read leaves %lld reports", (long long)r.n);
    write_archive(tgz, 0, 1);
    s = xrem_iu_reports_read(tgz, &r);
    CHECK(s != XREM_OK && strstr(xrem_last_error(), "size"), "bad size field: %s", s ? xrem_last_error() : "accepted");
    s = xrem_iu_reports_read("/nonexistent/reports.tgz", &r);
    CHECK(s == XREM_ERR_IO && strstr(xrem_last_error(), "/nonexistent/reports.tgz"), "missing file: %s", xrem_last_error());
    printf("archive: members, long names, pax paths, the split and refusals checked\n");
}

/* ---- 4. synthetic images -------------------------------------------------------------------------- */

static void test_synth(void)
{
    const int S = 128, N = 5;
    float *a = malloc(sizeof(float) * N * S * S), *b = malloc(sizeof(float) * N * S * S);
    CHECK(xrem_synth_cxr(N, S, 7, a) == XREM_OK, "synth: %s", xrem_last_error());
    CHECK(xrem_synth_cxr(2, S, 7, b) == XREM_OK, "synth 2: %s", xrem_last_error());
    CHECK(!memcmp(a, b, sizeof(float) * 2 * S * S), "image i depends on N");
    CHECK(xrem_synth_cxr(N, S, 8, b) == XREM_OK && memcmp(a, b, sizeof(float) * N * S * S), "the seed changes nothing");
    int range_bad = 0, border_bad = 0, contrast_bad = 0;
    for (int i = 0; i < N; i++) {
        const float *x = a + (int64_t)i * S * S;
        for (int p = 0; p < S * S; p++) range_bad += !(x[p] >= 0 && x[p] <= 255);
        /* letterbox: either the left/right or the top/bottom edge lines are exactly 0 */
        int lr = 1, tb = 1;
        for (int k = 0; k < S; k++) {
            lr &= x[k * S] == 0 && x[k * S + S - 1] == 0;
            tb &= x[k] == 0 && x[(S - 1) * S + k] == 0;
        }
        border_bad += !(lr || tb);
        /* the mediastinum (centre column band) is brighter than the lung fields (left/right of it) */
        double mid = 0, lung = 0;
        for (int y = S * 3 / 10; y < S / 2; y++) {
            mid += x[y * S + S / 2];
            lung += 0.5 * (x[y * S + S * 3 / 10] + x[y * S + S * 7 / 10]);
        }
        contrast_bad += !(mid > lung + 20 * (S / 2 - S * 3 / 10));
    }
    CHECK(range_bad == 0, "%d pixels outside 0..255", range_bad);
    CHECK(border_bad == 0, "%d images without a black letterbox border", border_bad);
    CHECK(contrast_bad == 0, "%d images whose lungs are not darker than the mediastinum", contrast_bad);
    CHECK(xrem_synth_cxr(0, S, 7, a) == XREM_ERR_ARG && xrem_synth_cxr(1, 16, 7, a) == XREM_ERR_ARG, "bad sizes accepted");
    free(a);
    free(b);
    printf("synth: determinism, prefix property, range, borders, contrast checked\n");
}

int main(void)
{
    char dir[] = "/tmp/xrem_dev_assets.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_sha256();
    test_sections();
    test_archive(dir);
    test_synth();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    if (xrem_test_failures) {
        printf("test_dev_assets: %d failure(s)\n", xrem_test_failures);
        return 1;
    }
    printf("test_dev_assets: PASS\n");
    return 0;
}
