/* tests/fuzz/common.c — helpers for the fuzz harnesses (see fuzz.h). */
#include "fuzz.h"

#include <hdf5.h>

#include "core/h5.h"
#include <unistd.h>

#ifndef XREM_FUZZ_SOURCE_DIR
#define XREM_FUZZ_SOURCE_DIR "."
#endif

char *xrem_fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return NULL;
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

const char *xrem_fuzz_src(const char *rel)
{
    static char buf[4][4096];
    static int next;
    const char *root = getenv("XREM_SOURCE_DIR");
    if (!root || !*root) root = XREM_FUZZ_SOURCE_DIR;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", root, rel);
    return b;
}

const char *xrem_fuzz_tmpfile(const uint8_t *data, size_t size, const char *ext)
{
    static char path[4096];
    /* scripts/fuzz.sh points XREM_FUZZ_TMPDIR at a folder of its own, removed afterwards, so that
     * the files of runs that crashed do not pile up */
    const char *dir = getenv("XREM_FUZZ_TMPDIR");
    if (!dir || !*dir) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    snprintf(path, sizeof path, "%s/xrem_fuzz_%ld%s", dir, (long)getpid(), ext);
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || w != size) {
        remove(path);
        return NULL;
    }
    return path;
}

long xrem_fuzz_h5_open_objects(void)
{
    return (long)H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
}

static xrem_status walk_one(const char *name, void *user)
{
    xrem_h5 *f = user;
    int nd = 0;
    int64_t ne[XREM_MAX_DIMS];
    xrem_dtype dt = XREM_F32;
    FUZZ_CLEAR_ERROR();
    xrem_status st = xrem_h5_info(f, name, &nd, ne, &dt);
    FUZZ_FAILED_WITH_MESSAGE(st);
    if (st != XREM_OK) {
        /* not a number dataset: perhaps strings */
        char **s = NULL;
        int64_t n = 0;
        FUZZ_CLEAR_ERROR();
        st = xrem_h5_read_strings(f, name, &s, &n);
        FUZZ_FAILED_WITH_MESSAGE(st);
        if (st == XREM_OK) {
            for (int64_t i = 0; i < n; i++)
                FUZZ_CHECK(s[i] != NULL, "%s: string %lld is NULL", name, (long long)i);
            xrem_strings_free(s, n);
        }
        return XREM_OK;
    }
    FUZZ_CHECK(nd >= 0 && nd <= XREM_MAX_DIMS, "%s: rank %d", name, nd);
    int64_t numel = 1;
    for (int i = 0; i < nd; i++) {
        FUZZ_CHECK(ne[i] >= 0, "%s: dimension %d is %lld", name, i, (long long)ne[i]);
        if (ne[i] > 0 && numel > XREM_FUZZ_MAX_READ / ne[i]) return XREM_OK; /* too big to read here */
        numel *= ne[i];
    }
    int64_t got[XREM_MAX_DIMS];
    void *out = NULL;
    FUZZ_CLEAR_ERROR();
    st = dt == XREM_I32 ? xrem_h5_read_i32(f, name, nd, ne, (int32_t **)&out, got)
                        : xrem_h5_read_f32(f, name, nd, ne, (float **)&out, got);
    FUZZ_FAILED_WITH_MESSAGE(st);
    if (st == XREM_OK) {
        for (int i = 0; i < nd; i++)
            FUZZ_CHECK(got[i] == ne[i], "%s: read shape differs from info", name);
        FUZZ_CHECK(out != NULL || numel == 0, "%s: no data", name);
    }
    free(out);
    if (nd >= 1 && ne[0] >= 1 && dt != XREM_I32 && numel / ne[0] <= XREM_FUZZ_MAX_READ) {
        float *row = malloc(sizeof(float) * (size_t)(numel / ne[0] + 1));
        FUZZ_CHECK(row != NULL, "out of memory");
        FUZZ_CLEAR_ERROR();
        st = xrem_h5_read_f32_rows(f, name, ne[0] - 1, 1, row);
        FUZZ_FAILED_WITH_MESSAGE(st);
        free(row);
    }
    return XREM_OK;
}

void xrem_fuzz_h5_walk(struct xrem_h5 *f)
{
    FUZZ_CLEAR_ERROR();
    xrem_status st = xrem_h5_visit(f, "/", walk_one, f);
    FUZZ_FAILED_WITH_MESSAGE(st);
}
