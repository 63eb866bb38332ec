/* Bad input to the engine: every case must fail with the right status and a message naming the
 * file and the field, never crash (this test runs under ASan/UBSan in `make test`), and the CLI
 * must exit non-zero without leaving an output file behind. */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/albef_random.h"
#include "testutil.h"

static char dir[256];

static const char *tmp(const char *name)
{
    static char bufs[4][512];
    static int k;
    char *b = bufs[k++ & 3];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

static xrem_albef_random_spec small_spec(xrem_albef_kind kind)
{
    return (xrem_albef_random_spec){kind, 32, 2, 2, 64, 16, 32, 32, 2, 2, 64, 50, 16, 1, 16, 7};
}

/* Expect load(path) to fail with status want and a message containing both needles. */
static void expect_load_fail(const char *what, const char *path, int res, xrem_status want, const char *n1,
                             const char *n2)
{
    xrem_backend *be = NULL;
    xrem_albef *m = NULL;
    xrem_backend_create("cpu", 1, &be);
    xrem_status s = xrem_albef_load(path, be, res, &m);
    const char *msg = xrem_last_error();
    printf("  %-22s -> [%s] %s\n", what, xrem_status_name(s), msg);
    CHECK(s == want, "%s: status %s, expected %s", what, xrem_status_name(s), xrem_status_name(want));
    CHECK(!n1 || strstr(msg, n1), "%s: message lacks '%s'", what, n1);
    CHECK(!n2 || strstr(msg, n2), "%s: message lacks '%s'", what, n2);
    xrem_albef_free(m);
    xrem_backend_free(be);
}

static int copy_file(const char *from, const char *to, long limit)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) return -1;
    char buf[65536];
    long total = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0 && (limit < 0 || total < limit)) {
        if (limit >= 0 && total + (long)n > limit) n = (size_t)(limit - total);
        fwrite(buf, 1, n, b);
        total += (long)n;
    }
    fclose(a);
    fclose(b);
    return 0;
}

/* Replace dataset `name` in an existing file by one of the given shape, filled with `fill`. */
static void h5_replace(const char *path, const char *name, int nd, const hsize_t *dims, hid_t type, double fill)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, name, H5P_DEFAULT);
    if (nd > 0) {
        hsize_t n = 1;
        for (int i = 0; i < nd; i++) n *= dims[i];
        double *v = malloc(sizeof(double) * n);
        for (hsize_t i = 0; i < n; i++) v[i] = fill;
        hid_t sp = H5Screate_simple(nd, dims, NULL);
        hid_t ds = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        H5Dclose(ds);
        H5Sclose(sp);
        free(v);
    }
    H5Fclose(f);
}

static void set_arch(const char *path, const char *arch)
{
    xrem_h5 *f = NULL;
    hid_t id = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    (void)f;
    H5Adelete(id, "arch");
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(id, "arch", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, &arch);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(id);
}

static int weights_cases(void)
{
    char good[512];
    snprintf(good, sizeof good, "%s", tmp("good.h5"));
    xrem_albef_random_spec sp = small_spec(XREM_ALBEF_RETRIEVAL);
    CHECK_OK(xrem_albef_random_write(good, &sp, NULL, 0));

    expect_load_fail("missing file", tmp("nope.h5"), 0, XREM_ERR_IO, "nope.h5", NULL);
    FILE *f = fopen(tmp("text.h5"), "w");
    fputs("this is not HDF5\n", f);
    fclose(f);
    expect_load_fail("not HDF5", tmp("text.h5"), 0, XREM_ERR_FORMAT, "text.h5", "not an HDF5");
    struct stat st;
    stat(good, &st);
    copy_file(good, tmp("trunc.h5"), st.st_size / 2);
    {
        xrem_backend *be = NULL;
        xrem_albef *m = NULL;
        xrem_backend_create("cpu", 1, &be);
        xrem_status s = xrem_albef_load(tmp("trunc.h5"), be, 0, &m);
        printf("  %-22s -> [%s] %s\n", "truncated", xrem_status_name(s), xrem_last_error());
        CHECK(s != XREM_OK && strstr(xrem_last_error(), "trunc.h5"), "truncated file accepted or unnamed");
        xrem_albef_free(m);
        xrem_backend_free(be);
    }
    const char *key = "visual_encoder.blocks.1.mlp.fc1.weight";
    copy_file(good, tmp("missing.h5"), -1);
    h5_replace(tmp("missing.h5"), key, 0, NULL, 0, 0);
    expect_load_fail("missing dataset", tmp("missing.h5"), 0, XREM_ERR_FORMAT, "missing.h5", key);
    copy_file(good, tmp("shape.h5"), -1);
    h5_replace(tmp("shape.h5"), key, 2, (hsize_t[]){63, 32}, H5T_NATIVE_FLOAT, 0.01);
    expect_load_fail("wrong shape", tmp("shape.h5"), 0, XREM_ERR_SHAPE, "shape.h5", key);
    copy_file(good, tmp("dtype.h5"), -1);
    h5_replace(tmp("dtype.h5"), key, 2, (hsize_t[]){64, 32}, H5T_NATIVE_INT32, 1);
    expect_load_fail("wrong dtype", tmp("dtype.h5"), 0, XREM_ERR_DTYPE, "dtype.h5", key);
    copy_file(good, tmp("nan.h5"), -1);
    h5_replace(tmp("nan.h5"), "text_proj.weight", 2, (hsize_t[]){16, 32}, H5T_NATIVE_FLOAT, NAN);
    expect_load_fail("NaN weights", tmp("nan.h5"), 0, XREM_ERR_VALUE, "nan.h5", "text_proj.weight");
    copy_file(good, tmp("arch.h5"), -1);
    set_arch(tmp("arch.h5"), "bert_nli");
    expect_load_fail("wrong arch", tmp("arch.h5"), 0, XREM_ERR_FORMAT, "arch.h5", "bert_nli");
    expect_load_fail("image size % 16", good, 50, XREM_ERR_SHAPE, "50", "16");

    /* a text longer than the position table (16 here) */
    xrem_backend *be = NULL;
    xrem_albef *m = NULL;
    CHECK_OK(xrem_backend_create("cpu", 1, &be));
    CHECK_OK(xrem_albef_load(good, be, 0, &m));
    int32_t ids[20] = {0}, mask[20];
    for (int i = 0; i < 20; i++) mask[i] = 1;
    float feat[16];
    xrem_status s = xrem_albef_encode_texts(m, ids, mask, 1, 20, feat, NULL, NULL);
    printf("  %-22s -> [%s] %s\n", "text too long", xrem_status_name(s), xrem_last_error());
    CHECK(s == XREM_ERR_SHAPE && strstr(xrem_last_error(), "position"), "long text not refused");
    ids[3] = 50; /* == vocab size */
    s = xrem_albef_encode_texts(m, ids, mask, 1, 10, feat, NULL, NULL);
    printf("  %-22s -> [%s] %s\n", "token id out of range", xrem_status_name(s), xrem_last_error());
    CHECK(s == XREM_ERR_VALUE, "out-of-vocabulary id not refused");
    xrem_albef_free(m);
    xrem_backend_free(be);
    return 0;
}

/* The CLI on bad images: non-zero exit, message names file and dataset, no output file. */
static void cli_case(const char *what, const char *images, const char *needle)
{
    const char *bdir = getenv("XREM_BUILD_DIR");
    char cmd[2048], out[512];
    snprintf(out, sizeof out, "%s", tmp("out.h5"));
    snprintf(cmd, sizeof cmd, "%s/xrem forward --weights %s --images %s --out %s --threads 1 > %s 2>&1",
             bdir ? bdir : "build", tmp("good.h5"), images, out, tmp("cli.log"));
    int rc = system(cmd);
    char log[1024] = "";
    FILE *f = fopen(tmp("cli.log"), "r");
    if (f) {
        size_t n = fread(log, 1, sizeof log - 1, f);
        log[n] = 0;
        fclose(f);
    }
    struct stat st;
    printf("  cli %-18s -> rc %d: %s", what, WEXITSTATUS(rc), log);
    CHECK(WEXITSTATUS(rc) == 1, "%s: exit status %d, expected 1", what, WEXITSTATUS(rc));
    CHECK(strstr(log, needle) != NULL, "%s: message lacks '%s'", what, needle);
    CHECK(stat(out, &st) != 0, "%s: an output file was left behind", what);
}

static void write_images(const char *path, int nd, const hsize_t *dims, double fill, int nan_at)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t n = 1;
    for (int i = 0; i < nd; i++) n *= dims[i];
    float *v = malloc(sizeof(float) * n);
    for (hsize_t i = 0; i < n; i++) v[i] = (float)fill;
    if (nan_at >= 0) v[nan_at] = NAN;
    hid_t sp = H5Screate_simple(nd, dims, NULL);
    hid_t ds = H5Dcreate2(f, "cxr", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(f);
    free(v);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/xrem-badinput-%ld", (long)getpid());
    mkdir(dir, 0700);
    if (weights_cases()) return 1;
    write_images(tmp("img2d.h5"), 2, (hsize_t[]){320, 320}, 10, -1);
    cli_case("images rank 2", tmp("img2d.h5"), "cxr");
    write_images(tmp("imgnan.h5"), 3, (hsize_t[]){2, 40, 40}, 10, 40 * 40 + 7);
    cli_case("NaN pixel", tmp("imgnan.h5"), "imgnan.h5");
    cli_case("missing images", tmp("absent.h5"), "absent.h5");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    if (xrem_test_failures) fprintf(stderr, "%d checks failed\n", xrem_test_failures);
    return xrem_test_failures ? 1 : 0;
}
