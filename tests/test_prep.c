/* xrem prep against Pillow (tests/golden/prep, scripts/make_prep_goldens.py), and its bad inputs.
 *
 * 1. Goldens: each committed JPEG/PNG is decoded (libjpeg-turbo / libpng; the decoded pixels'
 *    sha256 must equal Pillow's), letterboxed, and compared with Pillow's CXR-RePaiR letterbox.
 *    Tolerance: 0 gray levels (bit-exact). The largest difference per case is printed.
 * 2. Small hand cases: Pillow's LANCZOS on an impulse, RGB -> L, the new-size arithmetic.
 * 3. The CLI ($XREM_BUILD_DIR/xrem): a MIMIC-CXR-JPG tree made from the goldens, `xrem prep` with
 *    a gzip split, a reports CSV (order, empty report, quoted multi-line fields), --ids, --views;
 *    `xrem prep --cache` checked bit for bit against xrem_image_preprocess_gray and the sha256;
 *    then bad inputs: each must fail with a message naming the file/row/field or dicom_id and path,
 *    and leave nothing at the output path (no temporary either).
 * XREM_BENCH=1 also times the letterbox of the largest golden (images/s).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/sha256.h"
#include "models/preprocess.h"
#include "pipeline/prep.h"
#include "testutil.h"
#include "xrem/status.h"

#define R XREM_PREP_SIZE

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) b[n] = 0;
    if (len) *len = (size_t)n;
    return b;
}

static int write_all(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

static void sha_hex(const void *p, size_t n, char hex[65])
{
    xrem_sha256_hex(p, n, hex);
}

/* ---- 1. goldens ------------------------------------------------------------------------------- */

typedef struct {
    char name[64], file[64];
    uint8_t *out; /* [R, R] Pillow's letterbox */
} golden_case;

static golden_case g_cases[32];
static int g_ncases;

static int check_case(xrem_h5 *g, const char *name, golden_case *gc)
{
    char *file = NULL, *mode = NULL, *sha = NULL, path[1200], outname[128];
    int64_t W, H, NW, NH, ne[XREM_MAX_DIMS];
    CHECK_OK(xrem_h5_attr_str(g, name, "file", &file));
    CHECK_OK(xrem_h5_attr_str(g, name, "mode", &mode));
    CHECK_OK(xrem_h5_attr_str(g, name, "decoded_sha256", &sha));
    CHECK_OK(xrem_h5_attr_i64(g, name, "width", &W));
    CHECK_OK(xrem_h5_attr_i64(g, name, "height", &H));
    CHECK_OK(xrem_h5_attr_i64(g, name, "new_width", &NW));
    CHECK_OK(xrem_h5_attr_i64(g, name, "new_height", &NH));
    snprintf(path, sizeof path, "%s/%s", xrem_test_src("tests/golden/prep"), file);
    snprintf(outname, sizeof outname, "%s/out", name);
    int32_t *ref = NULL;
    int64_t want[2] = {R, R};
    CHECK_OK(xrem_h5_read_i32(g, outname, 2, want, &ref, ne));

    xrem_image_u8 im;
    CHECK_OK(xrem_image_read(path, &im));
    char hex[65];
    sha_hex(im.px, (size_t)im.W * im.H * im.C, hex);
    CHECK(im.W == W && im.H == H && im.C == (strcmp(mode, "RGB") ? 1 : 3), "%s: decoded %dx%dx%d, Pillow %lldx%lld %s",
          name, im.W, im.H, im.C, (long long)W, (long long)H, mode);
    int dec_same = !strcmp(hex, sha);
    CHECK(dec_same, "%s: decoded pixels differ from Pillow's (sha256 %s vs %s)", name, hex, sha);
    int nw, nh;
    CHECK_OK(xrem_prep_letterbox_size(im.W, im.H, R, &nw, &nh));
    CHECK(nw == NW && nh == NH, "%s: new size %dx%d, reference %lldx%lld", name, nw, nh, (long long)NW, (long long)NH);

    uint8_t *out = malloc(R * R), *out2 = malloc(R * R);
    CHECK_OK(xrem_prep_letterbox(&im, R, out));
    CHECK_OK(xrem_prep_letterbox_file(path, R, out2));
    CHECK(!memcmp(out, out2, R * R), "%s: letterbox of the file differs from letterbox of its pixels", name);
    int maxd = 0, ndiff = 0;
    for (int i = 0; i < R * R; i++) {
        int d = abs((int)out[i] - ref[i]);
        maxd = d > maxd ? d : maxd;
        ndiff += d != 0;
    }
    printf("  %-22s %4lldx%-4lld %-3s -> %3dx%-3d decode %s  max gray diff vs Pillow %d (%d px)\n", name, (long long)W,
           (long long)H, mode, nw, nh, dec_same ? "identical" : "DIFFERS  ", maxd, ndiff);
    CHECK(maxd == 0, "%s: letterbox differs from Pillow's by up to %d gray levels at %d pixels", name, maxd, ndiff);

    snprintf(gc->name, sizeof gc->name, "%s", name);
    snprintf(gc->file, sizeof gc->file, "%s", file);
    gc->out = malloc(R * R);
    for (int i = 0; i < R * R; i++)
        gc->out[i] = (uint8_t)ref[i];
    xrem_image_free(&im);
    free(out);
    free(out2);
    free(ref);
    free(file);
    free(mode);
    free(sha);
    return 0;
}

static int test_goldens(void)
{
    xrem_h5 *g = NULL;
    char **cases = NULL;
    int64_t n = 0;
    char *pil = NULL, *jt = NULL;
    CHECK_OK(xrem_h5_open(xrem_test_src("tests/golden/prep/prep_golden.h5"), &g));
    CHECK_OK(xrem_h5_read_strings(g, "cases", &cases, &n));
    CHECK_OK(xrem_h5_attr_str(g, "/", "pillow_version", &pil));
    CHECK_OK(xrem_h5_attr_str(g, "/", "libjpeg_turbo_version", &jt));
    printf("goldens: Pillow %s (libjpeg-turbo %s), %lld cases\n", pil, jt, (long long)n);
    CHECK(n >= 8 && n <= 32, "%lld golden cases", (long long)n);
    for (int64_t i = 0; i < n && i < 32; i++) {
        if (check_case(g, cases[i], &g_cases[g_ncases])) return 1;
        g_ncases++;
    }
    free(pil);
    free(jt);
    xrem_strings_free(cases, n);
    xrem_h5_close(g);
    return 0;
}

/* ---- 2. hand cases ---------------------------------------------------------------------------- */

static int test_small(void)
{
    /* values from Pillow 13: Image.fromarray(impulse).resize(..., LANCZOS), Image.new('RGB', c).convert('L') */
    uint8_t imp[7] = {0, 0, 0, 255, 0, 0, 0}, o3[3], o13[13];
    static const uint8_t want3[3] = {0, 106, 0}, want13[13] = {0, 3, 6, 0, 0, 143, 255, 143, 0, 0, 6, 3, 0};
    CHECK_OK(xrem_pillow_resize_lanczos(imp, 7, 1, 1, o3, 3, 1));
    CHECK(!memcmp(o3, want3, 3), "impulse 7 -> 3: %d %d %d", o3[0], o3[1], o3[2]);
    CHECK_OK(xrem_pillow_resize_lanczos(imp, 7, 1, 1, o13, 13, 1));
    CHECK(!memcmp(o13, want13, 13), "impulse 7 -> 13 (horizontal) differs from Pillow");
    CHECK_OK(xrem_pillow_resize_lanczos(imp, 1, 7, 1, o13, 1, 13));
    CHECK(!memcmp(o13, want13, 13), "impulse 7 -> 13 (vertical) differs from Pillow");
    static const uint8_t rgb[7][3] = {{100, 150, 200}, {1, 2, 3},       {255, 0, 0},  {0, 255, 0},
                                      {0, 0, 255},     {128, 128, 127}, {37, 201, 99}};
    static const uint8_t wantl[7] = {141, 2, 76, 150, 29, 128, 140};
    uint8_t l[7];
    xrem_pillow_rgb_to_l(&rgb[0][0], 7, l);
    CHECK(!memcmp(l, wantl, 7), "RGB -> L differs from Pillow: %d %d %d %d %d %d %d", l[0], l[1], l[2], l[3], l[4],
          l[5], l[6]);
    /* a constant image stays constant through any resize (the taps sum to 1 within rounding) */
    uint8_t *c = malloc(97 * 61), *co = malloc(320 * 203);
    memset(c, 200, 97 * 61);
    CHECK_OK(xrem_pillow_resize_lanczos(c, 97, 61, 1, co, 320, 203));
    int bad = 0;
    for (int i = 0; i < 320 * 203; i++)
        bad += co[i] != 200;
    CHECK(bad == 0, "constant image changed at %d pixels", bad);
    free(c);
    free(co);
    static const int sz[][4] = {{2544, 3056, 266, 320}, {3056, 2544, 320, 266}, {200, 321, 199, 320},
                                {320, 256, 320, 256},   {150, 120, 320, 256},   {2539, 2539, 320, 320},
                                {4020, 4892, 262, 320}};
    for (int i = 0; i < 7; i++) {
        int nw, nh;
        CHECK_OK(xrem_prep_letterbox_size(sz[i][0], sz[i][1], R, &nw, &nh));
        CHECK(nw == sz[i][2] && nh == sz[i][3], "%dx%d -> %dx%d, want %dx%d", sz[i][0], sz[i][1], nw, nh, sz[i][2],
              sz[i][3]);
    }
    int nw, nh;
    CHECK(xrem_prep_letterbox_size(1, 5000, R, &nw, &nh) == XREM_ERR_SHAPE, "1x5000 must be refused (zero width)");
    printf("  Pillow LANCZOS impulse 7 -> 3 / 13 (both axes), RGB -> L on 7 colours, constant image, new sizes: "
           "checked\n");
    return 0;
}

/* ---- decoder bad inputs ------------------------------------------------------------------------ */

static char g_tmp[1024];

static void expect_fail(xrem_status st, const char *what, const char *want1, const char *want2)
{
    const char *m = xrem_last_error();
    CHECK(st != XREM_OK, "%s: accepted", what);
    if (st == XREM_OK) return;
    printf("  refused %-26s %s\n", what, m);
    CHECK(strstr(m, want1) != NULL, "%s: message does not name '%s': %s", what, want1, m);
    CHECK(!want2 || strstr(m, want2) != NULL, "%s: message does not say '%s': %s", what, want2, m);
}

/* A 4x4 16-bit gray PNG, through libpng (linked with the library). */
#include <png.h>
static int write_png16(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    if (setjmp(png_jmpbuf(p))) {
        fclose(f);
        return -1;
    }
    png_init_io(p, f);
    png_set_IHDR(p, info, 4, 4, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    uint8_t row[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (int y = 0; y < 4; y++)
        png_write_row(p, row);
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    fclose(f);
    return 0;
}

static int test_decode_bad(void)
{
    char src[1200], path[1200];
    size_t n = 0;
    snprintf(src, sizeof src, "%s/portrait_gray.jpg", xrem_test_src("tests/golden/prep"));
    char *jpg = read_all(src, &n);
    CHECK(jpg && n > 1000, "cannot read %s", src);
    if (!jpg) return 1;
    xrem_image_u8 im;
    snprintf(path, sizeof path, "%s/cut.jpg", g_tmp);
    write_all(path, jpg, n / 2);
    expect_fail(xrem_image_read(path, &im), "truncated JPEG", path, "truncated");
    CHECK(im.px == NULL, "pixels left allocated after a failure");
    memset(jpg + 3, 0x00, 20); /* a JPEG start, then garbage where the markers should be */
    snprintf(path, sizeof path, "%s/corrupt.jpg", g_tmp);
    write_all(path, jpg, n);
    expect_fail(xrem_image_read(path, &im), "corrupt JPEG", path, "JPEG");
    snprintf(path, sizeof path, "%s/text.jpg", g_tmp);
    write_all(path, "hello, not an image\n", 20);
    expect_fail(xrem_image_read(path, &im), "text file named .jpg", path, "not a JPEG or PNG");
    snprintf(path, sizeof path, "%s/empty.jpg", g_tmp);
    write_all(path, "", 0);
    expect_fail(xrem_image_read(path, &im), "empty file", path, "empty");
    snprintf(path, sizeof path, "%s/missing.jpg", g_tmp);
    expect_fail(xrem_image_read(path, &im), "missing file", path, "cannot open");
    free(jpg);
    snprintf(src, sizeof src, "%s/rgb.png", xrem_test_src("tests/golden/prep"));
    char *png = read_all(src, &n);
    if (!png) return 1;
    snprintf(path, sizeof path, "%s/cut.png", g_tmp);
    write_all(path, png, n / 3);
    expect_fail(xrem_image_read(path, &im), "truncated PNG", path, "PNG");
    for (size_t i = n / 2; i < n / 2 + 40; i++)
        png[i] ^= 0x5A; /* IDAT CRC and data */
    snprintf(path, sizeof path, "%s/corrupt.png", g_tmp);
    write_all(path, png, n);
    expect_fail(xrem_image_read(path, &im), "corrupt PNG", path, "PNG");
    free(png);
    snprintf(path, sizeof path, "%s/gray16.png", g_tmp);
    CHECK(write_png16(path) == 0, "cannot write %s", path);
    expect_fail(xrem_image_read(path, &im), "16-bit PNG", path, "bit depth 16");
    return 0;
}

/* ---- 3. the CLI --------------------------------------------------------------------------------- */

static char g_bin[1024];

/* Run `xrem ARGS` with stdout/stderr to files; returns the exit status, *err gets stderr. */
static int run_xrem(const char *args, char **err)
{
    char cmd[8192], ef[1200];
    snprintf(ef, sizeof ef, "%s/stderr.txt", g_tmp);
    /* In a sanitizer build a sanitizer report must not pass for an expected failure (both exit 1). */
    const char *ao = getenv("ASAN_OPTIONS"), *uo = getenv("UBSAN_OPTIONS");
    snprintf(
        cmd, sizeof cmd,
        "cd '%s' && ASAN_OPTIONS='%s%sexitcode=86' UBSAN_OPTIONS='%s%sexitcode=86' '%s' %s >'%s/stdout.txt' 2>'%s'",
        g_tmp, ao ? ao : "", ao && *ao ? ":" : "", uo ? uo : "", uo && *uo ? ":" : "", g_bin, args, g_tmp, ef);
    int rc = system(cmd);
    char *e = read_all(ef, NULL);
    CHECK(!e || !strstr(e, "Sanitizer"), "xrem %s: sanitizer report:\n%s", args, e ? e : "");
    if (err)
        *err = e;
    else
        free(e);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int exists(const char *rel)
{
    char p[1200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", g_tmp, rel);
    return stat(p, &st) == 0;
}

/* Nothing named <out>* may remain in g_tmp (no output, no temporary). */
static int leftovers(const char *out)
{
    DIR *d = opendir(g_tmp);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, out, strlen(out))) n++;
    if (d) closedir(d);
    return n;
}

static void expect_cli_fail(const char *what, const char *args, int want_rc, const char *out, const char *w1,
                            const char *w2)
{
    char *err = NULL;
    int rc = run_xrem(args, &err);
    char *nl = err ? strchr(err, '\n') : NULL;
    if (nl && want_rc == 1) *nl = 0;
    printf("  refused %-28s rc %d: %.300s\n", what, rc, err ? err : "");
    CHECK(rc == want_rc, "%s: exit %d, want %d", what, rc, want_rc);
    CHECK(err && strstr(err, w1), "%s: message does not name '%s'", what, w1);
    CHECK(!w2 || (err && strstr(err, w2)), "%s: message does not say '%s'", what, w2);
    CHECK(leftovers(out) == 0, "%s: something named %s* was left behind", what, out);
    free(err);
}

static const char *dicom_of(int k)
{
    static char b[8][64];
    static int r;
    char *s = b[r++ & 7];
    snprintf(s, 64, "%08x-1a2b3c4d-%08x-5e6f7a8b-%08x", 0x10000000u + (unsigned)k * 7919u, (unsigned)k,
             0xabc00000u + (unsigned)k);
    return s;
}

static int mkdirs(const char *path)
{
    char b[1200];
    snprintf(b, sizeof b, "%s", path);
    for (char *p = b + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(b, 0755);
            *p = '/';
        }
    return mkdir(b, 0755) == 0 || errno == EEXIST;
}

/* Lay the golden files out as MIMIC-CXR-JPG: subject 100000k+1, study 5000000k+1. */
static int make_tree(void)
{
    for (int k = 0; k < g_ncases; k++) {
        char src[1200], dir[1200], dst[1400];
        size_t n;
        snprintf(src, sizeof src, "%s/%s", xrem_test_src("tests/golden/prep"), g_cases[k].file);
        snprintf(dir, sizeof dir, "%s/mimic/files/p10/p%d/s%d", g_tmp, 10000001 + k, 50000001 + k);
        mkdirs(dir);
        snprintf(dst, sizeof dst, "%s/%s.jpg", dir, dicom_of(k));
        char *data = read_all(src, &n);
        CHECK(data && write_all(dst, data, n) == 0, "cannot copy %s to %s", src, dst);
        free(data);
    }
    return 0;
}

/* split.csv.gz: every case in 'test' (+ one test row without a file, + train rows). */
static int write_split(const char *name, const char *bad_row)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", g_tmp, name);
    gzFile g = gzopen(path, "wb");
    if (!g) return -1;
    gzprintf(g, "dicom_id,study_id,subject_id,split\r\n");
    gzprintf(g, "train0-aaaa,59999991,19999991,train\r\n");
    for (int k = 0; k < g_ncases; k++)
        gzprintf(g, "%s,%d,%d,test\r\n", dicom_of(k), 50000001 + k, 10000001 + k);
    gzprintf(g, "nofile-bbbb,58888888,18888888,test\r\n");
    gzprintf(g, "train1-cccc,59999992,19999992,validate\r\n");
    if (bad_row) gzprintf(g, "%s\r\n", bad_row);
    gzclose(g);
    return 0;
}

/* reports.csv: cases in reverse order; case 1's report empty; nofile-bbbb has an empty report too. */
static int write_reports(const char *name, const char *extra)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", g_tmp, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "dicom_id,study_id,subject_id,report\n");
    for (int k = g_ncases - 1; k >= 0; k--)
        fprintf(f, "%s,%d,%d,%s\n", dicom_of(k), 50000001 + k, 10000001 + k,
                k == 1   ? ""
                : k == 2 ? "\"1. No acute process,\nsee \"\"FINDINGS\"\".\""
                         : "No acute cardiopulmonary process.");
    fprintf(f, "nofile-bbbb,58888888,18888888,NaN\n");
    if (extra) fputs(extra, f);
    fclose(f);
    return 0;
}

static int read_cxr(const char *rel, float **cxr, char ***ids, int64_t *n, int32_t **study)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", g_tmp, rel);
    xrem_h5 *f = NULL;
    int64_t ne[XREM_MAX_DIMS], ne1[XREM_MAX_DIMS], want[3] = {-1, R, R}, nid = 0;
    CHECK_OK(xrem_h5_open(p, &f));
    CHECK_OK(xrem_h5_read_f32(f, "cxr", 3, want, cxr, ne));
    CHECK_OK(xrem_h5_read_strings(f, "dicom_id", ids, &nid));
    CHECK_OK(xrem_h5_read_i32(f, "study_id", 1, &ne[0], study, ne1));
    CHECK(nid == ne[0], "%s: %lld ids for %lld images", rel, (long long)nid, (long long)ne[0]);
    char *fmt = NULL;
    CHECK_OK(xrem_h5_attr_str(f, "/", "xrem_format", &fmt));
    CHECK(!strcmp(fmt, "cxr_images"), "%s: xrem_format %s", rel, fmt);
    free(fmt);
    xrem_h5_close(f);
    *n = ne[0];
    return 0;
}

static int case_of(const char *dicom)
{
    for (int k = 0; k < g_ncases; k++)
        if (!strcmp(dicom, dicom_of(k))) return k;
    return -1;
}

/* Each row must be the golden letterbox of its dicom_id, exactly, and rows follow `order`. */
static void check_rows(const char *what, const float *cxr, char **ids, const int32_t *study, int64_t n,
                       const int *order, int norder)
{
    CHECK(n == norder, "%s: %lld images, want %d", what, (long long)n, norder);
    for (int64_t i = 0; i < n && i < norder; i++) {
        int k = case_of(ids[i]);
        CHECK(k == order[i], "%s: row %lld is case %d, want %d", what, (long long)i, k, order[i]);
        if (k < 0) continue;
        CHECK(study[i] == 50000001 + k, "%s: row %lld study_id %d", what, (long long)i, study[i]);
        double md = 0;
        for (int p = 0; p < R * R; p++)
            md = fmax(md, fabs(cxr[i * R * R + p] - g_cases[k].out[p]));
        CHECK(md == 0, "%s: row %lld (%s) differs from Pillow by %g", what, (long long)i, g_cases[k].name, md);
    }
}

static int test_cli_prep(void)
{
    char *err = NULL;
    make_tree();
    write_split("split.csv.gz", NULL);
    write_reports("reports.csv", NULL);
    int rc =
        run_xrem("prep --jpg-root mimic --split split.csv.gz --reports reports.csv --out cxr.h5 --threads 2", &err);
    CHECK(rc == 0, "xrem prep failed (%d): %s", rc, err ? err : "");
    free(err);
    if (rc) return 0;
    float *cxr = NULL;
    char **ids = NULL;
    int32_t *study = NULL;
    int64_t n = 0;
    int order[32], no = 0;
    for (int k = g_ncases - 1; k >= 0; k--)
        if (k != 1) order[no++] = k; /* reports order, empty report dropped */
    if (read_cxr("cxr.h5", &cxr, &ids, &n, &study)) return 1;
    check_rows("prep --reports", cxr, ids, study, n, order, no);
    printf("  xrem prep --reports: %lld images in the reports' order, all identical to Pillow\n", (long long)n);
    free(cxr);
    free(study);
    xrem_strings_free(ids, n);

    /* --ids (headerless list) and --views (case 3 is LATERAL); no --reports: split order */
    char p[1200];
    snprintf(p, sizeof p, "%s/ids.txt", g_tmp);
    FILE *f = fopen(p, "w");
    fprintf(f, "%s\n%s\n\n%s\n%s\n", dicom_of(5), dicom_of(3), dicom_of(0), dicom_of(2));
    fclose(f);
    snprintf(p, sizeof p, "%s/meta.csv", g_tmp);
    f = fopen(p, "w");
    fprintf(f, "dicom_id,subject_id,study_id,ViewPosition,Rows,Columns\n");
    for (int k = 0; k < g_ncases; k++)
        fprintf(f, "%s,1,2,%s,3,4\n", dicom_of(k), k == 3 ? "LATERAL" : k % 2 ? "AP" : "PA");
    fprintf(f, "nofile-bbbb,1,2,,3,4\n");
    fclose(f);
    rc = run_xrem(
        "prep --jpg-root mimic/files --split split.csv.gz --ids ids.txt --views AP,PA --metadata meta.csv --out sub.h5",
        &err);
    CHECK(rc == 0, "xrem prep --ids --views failed (%d): %s", rc, err ? err : "");
    free(err);
    if (rc) return 0;
    if (read_cxr("sub.h5", &cxr, &ids, &n, &study)) return 1;
    int order2[3] = {0, 2, 5};
    check_rows("prep --ids --views", cxr, ids, study, n, order2, 3);
    printf("  xrem prep --ids --views (files/ as root): %lld images in split order\n", (long long)n);
    free(cxr);
    free(study);
    xrem_strings_free(ids, n);
    return 0;
}

static int test_cli_cache(void)
{
    char *err = NULL;
    int rc = run_xrem("prep --cache cxr.h5 --out cache.h5 --res 256,384", &err);
    CHECK(rc == 0, "xrem prep --cache failed (%d): %s", rc, err ? err : "");
    free(err);
    if (rc) return 0;
    char p[1200];
    float *cxr = NULL, *got = NULL;
    char **ids = NULL, *sha = NULL, *filter = NULL, *fmt = NULL;
    int32_t *study = NULL;
    int64_t n = 0, ne[XREM_MAX_DIMS], nid = 0;
    double mean = 0, std = 0;
    if (read_cxr("cxr.h5", &cxr, &ids, &n, &study)) return 1;
    snprintf(p, sizeof p, "%s/cache.h5", g_tmp);
    xrem_h5 *f = NULL;
    CHECK_OK(xrem_h5_open(p, &f));
    static const int res[2] = {256, 384};
    for (int r = 0; r < 2; r++) {
        char name[16];
        snprintf(name, sizeof name, "res%d", res[r]);
        int64_t want[4] = {n, 1, res[r], res[r]};
        CHECK_OK(xrem_h5_read_f32(f, name, 4, want, &got, ne));
        float *ref = malloc(sizeof(float) * n * res[r] * res[r]);
        CHECK_OK(xrem_image_preprocess_gray(cxr, (int)n, R, R, res[r], ref));
        int same = !memcmp(ref, got, sizeof(float) * n * res[r] * res[r]);
        CHECK(same, "%s differs from xrem_image_preprocess_gray", name);
        printf("  xrem prep --cache: %s [%lld,1,%d,%d] %s\n", name, (long long)n, res[r], res[r],
               same ? "bit-identical" : "DIFFERS");
        CHECK_OK(xrem_h5_attr_f64(f, name, "mean", &mean));
        CHECK_OK(xrem_h5_attr_f64(f, name, "std", &std));
        CHECK(mean == XREM_IMAGE_MEAN && std == XREM_IMAGE_STD, "%s: mean %g std %g", name, mean, std);
        free(ref);
        free(got);
    }
    CHECK_OK(xrem_h5_attr_str(f, "/", "xrem_format", &fmt));
    CHECK_OK(xrem_h5_attr_str(f, "/", "filter", &filter));
    CHECK_OK(xrem_h5_attr_str(f, "/", "source_cxr_sha256", &sha));
    char hex[65];
    sha_hex(cxr, sizeof(float) * n * R * R, hex);
    CHECK(!strcmp(fmt, "image_cache"), "xrem_format %s", fmt);
    CHECK(!strcmp(filter, "bicubic a=-0.75 align_corners=False no-antialias"), "filter %s", filter);
    CHECK(!strcmp(sha, hex), "source_cxr_sha256 %s, want %s", sha, hex);
    char **ids2 = NULL;
    CHECK_OK(xrem_h5_read_strings(f, "dicom_id", &ids2, &nid));
    CHECK(nid == n && !strcmp(ids2[0], ids[0]) && !strcmp(ids2[n - 1], ids[n - 1]), "cache dicom_id not copied");
    xrem_strings_free(ids2, nid);
    xrem_h5_close(f);
    free(fmt);
    free(filter);
    free(sha);
    free(cxr);
    free(study);
    xrem_strings_free(ids, n);
    return 0;
}

/* --cache on a CXR-RePaiR-style file: contiguous `cxr` written by core/h5, no ids; then one NaN. */
static int test_cli_cache_plain(void)
{
    char p[1200];
    int n = 3;
    float *x = malloc(sizeof(float) * n * R * R);
    for (int i = 0; i < n; i++)
        for (int q = 0; q < R * R; q++)
            x[(size_t)i * R * R + q] = g_cases[i].out[q];
    int64_t ne[3] = {n, R, R};
    for (int bad = 0; bad < 2; bad++) {
        if (bad) x[(size_t)2 * R * R + 5 * R + 7] = NAN;
        snprintf(p, sizeof p, "%s/%s", g_tmp, bad ? "plain_nan.h5" : "plain.h5");
        xrem_h5 *f = NULL;
        CHECK_OK(xrem_h5_create(p, &f));
        CHECK_OK(xrem_h5_write_f32(f, "cxr", 3, ne, x));
        CHECK_OK(xrem_h5_commit(f));
    }
    char *err = NULL;
    int rc = run_xrem("prep --cache plain.h5 --out plain_cache.h5 --res 256", &err);
    CHECK(rc == 0, "xrem prep --cache on a contiguous file failed (%d): %s", rc, err ? err : "");
    free(err);
    if (!rc) {
        snprintf(p, sizeof p, "%s/plain_cache.h5", g_tmp);
        xrem_h5 *f = NULL;
        float *got = NULL, *ref = malloc(sizeof(float) * n * 256 * 256);
        int64_t want[4] = {n, 1, 256, 256}, gne[XREM_MAX_DIMS];
        char *sha = NULL, hex[65];
        x[(size_t)2 * R * R + 5 * R + 7] = g_cases[2].out[5 * R + 7];
        CHECK_OK(xrem_h5_open(p, &f));
        CHECK_OK(xrem_h5_read_f32(f, "res256", 4, want, &got, gne));
        CHECK_OK(xrem_image_preprocess_gray(x, n, R, R, 256, ref));
        CHECK(!memcmp(got, ref, sizeof(float) * n * 256 * 256), "contiguous source: res256 differs");
        CHECK_OK(xrem_h5_attr_str(f, "/", "source_cxr_sha256", &sha));
        sha_hex(x, sizeof(float) * n * R * R, hex);
        CHECK(!strcmp(sha, hex), "contiguous source: sha256 %s, want %s", sha, hex);
        CHECK(!xrem_h5_exists(f, "dicom_id"), "contiguous source: dicom_id invented");
        printf("  xrem prep --cache on a contiguous cxr without ids: res256 bit-identical, sha256 matches\n");
        xrem_h5_close(f);
        free(sha);
        free(got);
        free(ref);
    }
    expect_cli_fail("NaN pixel", "prep --cache plain_nan.h5 --out badn.h5 --res 256", 1, "badn.h5", "plain_nan.h5",
                    "images 0..2");
    free(x);
    return 0;
}

/* --cache keeps study ids past 2^31 (issue 7 item 8): int64 in, the same int64 out (an int32 read
 * would turn 3000000000 into 2147483647 or -1294967296). */
static int test_cli_cache_ids64(void)
{
    char p[1200];
    const int n = 3;
    float *x = malloc(sizeof(float) * n * 16 * 16);
    for (int i = 0; i < n * 16 * 16; i++)
        x[i] = (float)(i % 256);
    const int64_t ne[3] = {n, 16, 16}, study[3] = {3000000000LL, 7, INT64_C(1) << 40};
    const char *const dicom[3] = {"big-aaaa", "small-bbbb", "huge-cccc"};
    snprintf(p, sizeof p, "%s/ids64.h5", g_tmp);
    xrem_h5 *f = NULL;
    CHECK_OK(xrem_h5_create(p, &f));
    CHECK_OK(xrem_h5_write_f32(f, "cxr", 3, ne, x));
    CHECK_OK(xrem_h5_write_strings(f, "dicom_id", dicom, n));
    CHECK_OK(xrem_h5_write_i64(f, "study_id", 1, (int64_t[]){n}, study));
    CHECK_OK(xrem_h5_commit(f));
    free(x);
    char *err = NULL;
    int rc = run_xrem("prep --cache ids64.h5 --out ids64_cache.h5 --res 32", &err);
    CHECK(rc == 0, "xrem prep --cache with int64 study ids failed (%d): %s", rc, err ? err : "");
    free(err);
    if (rc) return 0;
    snprintf(p, sizeof p, "%s/ids64_cache.h5", g_tmp);
    int64_t *got = NULL, gne[XREM_MAX_DIMS];
    CHECK_OK(xrem_h5_open(p, &f));
    CHECK_OK(xrem_h5_read_i64(f, "study_id", 1, (int64_t[]){n}, &got, gne));
    for (int i = 0; i < n; i++)
        CHECK(got[i] == study[i], "cache study_id[%d] = %lld, want %lld", i, (long long)got[i], (long long)study[i]);
    printf("  xrem prep --cache keeps study_id %lld and %lld (int64)\n", (long long)got[0], (long long)got[2]);
    free(got);
    xrem_h5_close(f);
    return 0;
}

static int test_cli_bad(void)
{
    char p[1200];
    /* a missing image listed with a report */
    write_reports("rep_missing.csv", NULL);
    snprintf(p, sizeof p, "%s/rep_missing.csv", g_tmp);
    char *rep = read_all(p, NULL);
    char *na = strstr(rep, "nofile-bbbb,58888888,18888888,NaN");
    memcpy(na + strlen("nofile-bbbb,58888888,18888888,"), "yes", 3);
    write_all(p, rep, strlen(rep));
    free(rep);
    expect_cli_fail("missing image",
                    "prep --jpg-root mimic --split split.csv.gz --reports rep_missing.csv --out bad.h5", 1, "bad.h5",
                    "nofile-bbbb", "mimic/files/p18/p18888888/s58888888/nofile-bbbb.jpg");
    /* a corrupt image: case 0 truncated in its own tree */
    char dst[1400];
    snprintf(dst, sizeof dst, "%s/mimic/files/p10/p%d/s%d/%s.jpg", g_tmp, 10000001, 50000001, dicom_of(0));
    size_t n;
    char *orig = read_all(dst, &n);
    write_all(dst, orig, n / 2);
    expect_cli_fail("truncated image", "prep --jpg-root mimic --split split.csv.gz --reports reports.csv --out bad.h5",
                    1, "bad.h5", dicom_of(0), "truncated");
    write_all(dst, orig, n);
    free(orig);
    /* CSV errors */
    write_split("split_badid.csv.gz", "xx-1,5000x001,10000001,test");
    expect_cli_fail("bad study_id", "prep --jpg-root mimic --split split_badid.csv.gz --out bad.h5", 1, "bad.h5",
                    "split_badid.csv.gz data row", "study_id: '5000x001' is not a positive integer");
    write_split("split_short.csv.gz", "xx-2,50000001");
    expect_cli_fail("short row", "prep --jpg-root mimic --split split_short.csv.gz --out bad.h5", 1, "bad.h5",
                    "split_short.csv.gz: row 13 (line 14)", "has 2 fields, the header has 4");
    write_split("split_dup.csv.gz", "train0-aaaa,1,2,train");
    expect_cli_fail("duplicate dicom_id", "prep --jpg-root mimic --split split_dup.csv.gz --out bad.h5", 1, "bad.h5",
                    "train0-aaaa", "appears twice");
    snprintf(p, sizeof p, "%s/nosplitcol.csv", g_tmp);
    write_all(p, "dicom_id,study_id,subject_id\na,1,2\n", strlen("dicom_id,study_id,subject_id\na,1,2\n"));
    expect_cli_fail("missing column", "prep --jpg-root mimic --split nosplitcol.csv --out bad.h5", 1, "bad.h5",
                    "nosplitcol.csv: missing column 'split'", NULL);
    write_reports("rep_quote.csv", "zz-1,1,2,\"never closed\n");
    expect_cli_fail("open quote", "prep --jpg-root mimic --split split.csv.gz --reports rep_quote.csv --out bad.h5", 1,
                    "bad.h5", "rep_quote.csv: row 11 (line 13)", "never closed");
    write_reports("rep_unknown.csv", "zz-2,50000001,10000001,text\n");
    expect_cli_fail("report not in split",
                    "prep --jpg-root mimic --split split.csv.gz --reports rep_unknown.csv --out bad.h5", 1, "bad.h5",
                    "rep_unknown.csv data row", "dicom_id 'zz-2' is not in split.csv.gz");
    write_reports("rep_train.csv", "train0-aaaa,59999991,19999991,text\n");
    expect_cli_fail("report in train split",
                    "prep --jpg-root mimic --split split.csv.gz --reports rep_train.csv --out bad.h5", 1, "bad.h5",
                    "train0-aaaa", "split 'train'");
    write_reports("rep_study.csv", NULL);
    snprintf(p, sizeof p, "%s/rep_study.csv", g_tmp);
    rep = read_all(p, NULL);
    char *st = strstr(rep, "50000001,10000001");
    memcpy(st, "50000009", 8);
    write_all(p, rep, strlen(rep));
    free(rep);
    expect_cli_fail("study_id mismatch",
                    "prep --jpg-root mimic --split split.csv.gz --reports rep_study.csv --out bad.h5", 1, "bad.h5",
                    "field study_id: 50000009", "split.csv.gz says 50000001");
    snprintf(p, sizeof p, "%s/ids_bad.csv", g_tmp);
    write_all(p, "dicom_id\nnot-a-real-id\n", strlen("dicom_id\nnot-a-real-id\n"));
    expect_cli_fail("unknown id in --ids", "prep --jpg-root mimic --split split.csv.gz --ids ids_bad.csv --out bad.h5",
                    1, "bad.h5", "ids_bad.csv: 1 of 1 ids", "not-a-real-id");
    expect_cli_fail("no such split", "prep --jpg-root mimic --split split.csv.gz --split-name nope --out bad.h5", 1,
                    "bad.h5", "no images selected", "'nope'");
    expect_cli_fail("views without metadata", "prep --jpg-root mimic --split split.csv.gz --views AP --out bad.h5", 2,
                    "bad.h5", "--views and --metadata go together", NULL);
    expect_cli_fail("missing split file", "prep --jpg-root mimic --split nothere.csv --out bad.h5", 1, "bad.h5",
                    "nothere.csv: cannot open", NULL);
    snprintf(p, sizeof p, "%s/notgz.csv.gz", g_tmp);
    write_all(p, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage", 17);
    expect_cli_fail("corrupt gzip", "prep --jpg-root mimic --split notgz.csv.gz --out bad.h5", 1, "bad.h5",
                    "notgz.csv.gz", NULL);
    size_t gzn = 0;
    snprintf(p, sizeof p, "%s/split.csv.gz", g_tmp);
    char *gz = read_all(p, &gzn);
    snprintf(p, sizeof p, "%s/split_cut.csv.gz", g_tmp);
    write_all(p, gz, gzn / 2);
    free(gz);
    expect_cli_fail("truncated gzip", "prep --jpg-root mimic --split split_cut.csv.gz --out bad.h5", 1, "bad.h5",
                    "split_cut.csv.gz: corrupt or truncated gzip", NULL);
    expect_cli_fail("unknown flag", "prep --jpg-root mimic --split split.csv.gz --out bad.h5 --bogus 1", 2, "bad.h5",
                    "--bogus", NULL);
    /* --cache */
    expect_cli_fail("cache of a CSV", "prep --cache reports.csv --out badc.h5", 1, "badc.h5", "reports.csv",
                    "not an HDF5");
    expect_cli_fail("cache without cxr", "prep --cache cache.h5 --out badc.h5", 1, "badc.h5",
                    "cache.h5: missing dataset 'cxr'", NULL);
    expect_cli_fail("cache bad --res", "prep --cache cxr.h5 --out badc.h5 --res 256,0", 2, "badc.h5", "--res", NULL);
    expect_cli_fail("cache with --split", "prep --cache cxr.h5 --out badc.h5 --split s.csv", 2, "badc.h5", "--split",
                    NULL);
    CHECK(exists("cxr.h5") && exists("cache.h5"), "earlier outputs disappeared");
    return 0;
}

static void bench(void)
{
    const golden_case *big = &g_cases[0];
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", xrem_test_src("tests/golden/prep"), big->file);
    uint8_t *out = malloc(R * R);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int n = 200;
    for (int i = 0; i < n; i++)
        xrem_prep_letterbox_file(path, R, out);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
    printf("bench: %s decode + letterbox %.2f ms/image (%.0f images/s, one thread)\n", big->file, 1e3 * s / n, n / s);
    free(out);
}

int main(void)
{
    const char *tmpdir = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/xrem_test_prep.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(g_tmp)) {
        fprintf(stderr, "cannot create a temporary folder\n");
        return 1;
    }
    printf("Pillow parity (tolerance 0 gray levels):\n");
    if (test_goldens()) return 1;
    printf("hand cases:\n");
    if (test_small()) return 1;
    printf("decoder bad inputs:\n");
    if (test_decode_bad()) return 1;
    const char *bd = getenv("XREM_BUILD_DIR");
    snprintf(g_bin, sizeof g_bin, "%s/xrem", bd && *bd ? bd : ".");
    if (access(g_bin, X_OK) == 0) {
        printf("CLI (%s):\n", g_bin);
        if (test_cli_prep() || test_cli_cache() || test_cli_cache_plain() || test_cli_cache_ids64() || test_cli_bad())
            return 1;
    } else {
        printf("CLI: %s not found (set XREM_BUILD_DIR): CLI checks not run\n", g_bin);
        xrem_test_failures++;
    }
    if (getenv("XREM_BENCH")) bench();
    for (int k = 0; k < g_ncases; k++)
        free(g_cases[k].out);
    if (!getenv("XREM_KEEP_TMP")) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    }
    if (xrem_test_failures) {
        printf("test_prep: %d failure(s)\n", xrem_test_failures);
        return 1;
    }
    printf("test_prep: ok\n");
    return 0;
}
