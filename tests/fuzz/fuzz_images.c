/* fuzz_images — the images loader on mutated images files (HDF5: dataset `cxr` N×H×W float32
 * pixels, optional `dicom_id` strings and `study_id` integers, as xrem prep writes them). The bytes
 * are written to a temporary file and read the way `xrem run` opens its images (the steps of
 * images_open/images_ids in src/pipeline/run.c, which are static there, through the same core/h5
 * calls: info of cxr, the id datasets, one row at a time) and the way `xrem forward` does (the whole
 * of cxr at once), then every other dataset is read.
 * Seeds: small synthetic images files (tests/fuzz/seeds/images/, from `xrem dev synth-images`).
 * Checks: every failure has a message; no HDF5 object is left open afterwards. */
#include "fuzz.h"

#include "core/h5.h"

static void im_ids(xrem_h5 *f, int64_t N)
{
    if (!xrem_h5_exists(f, "dicom_id") || !xrem_h5_exists(f, "study_id")) return;
    char **d = NULL;
    int64_t nd = 0, ne[XREM_MAX_DIMS];
    int32_t *st = NULL;
    FUZZ_CLEAR_ERROR();
    xrem_status s = xrem_h5_read_strings(f, "dicom_id", &d, &nd);
    FUZZ_FAILED_WITH_MESSAGE(s);
    if (s == XREM_OK) {
        FUZZ_CHECK(nd >= 0 && (nd == 0 || d != NULL), "%lld strings without an array", (long long)nd);
        for (int64_t i = 0; i < nd; i++)
            FUZZ_CHECK(d[i] != NULL, "dicom_id %lld is NULL", (long long)i);
        if (nd == N) {
            FUZZ_CLEAR_ERROR();
            s = xrem_h5_read_i32(f, "study_id", 1, (int64_t[]){N}, &st, ne);
            FUZZ_FAILED_WITH_MESSAGE(s);
            if (s == XREM_OK) FUZZ_CHECK(ne[0] == N, "study_id has %lld entries", (long long)ne[0]);
        }
    }
    xrem_strings_free(d, nd);
    free(st);
}

static void im_rows(xrem_h5 *f, int64_t N, int64_t H, int64_t W)
{
    if (H > XREM_FUZZ_MAX_READ / W) return; /* too big to read here */
    float *row = malloc(sizeof(float) * (size_t)(H * W));
    FUZZ_CHECK(row != NULL, "out of memory");
    int64_t rows[3] = {0, N / 2, N - 1};
    for (int i = 0; i < 3; i++) {
        FUZZ_CLEAR_ERROR();
        xrem_status s = xrem_h5_read_f32_rows(f, "cxr", rows[i], 1, row);
        FUZZ_FAILED_WITH_MESSAGE(s);
        if (s) break;
    }
    free(row);
    if (N <= XREM_FUZZ_MAX_READ / (H * W)) {
        float *all = NULL;
        int64_t ne[XREM_MAX_DIMS];
        FUZZ_CLEAR_ERROR();
        xrem_status s = xrem_h5_read_f32(f, "cxr", 3, NULL, &all, ne);
        FUZZ_FAILED_WITH_MESSAGE(s);
        if (s == XREM_OK) FUZZ_CHECK(ne[0] == N && ne[1] == H && ne[2] == W, "cxr read with another shape");
        free(all);
    }
}

int xrem_fuzz_images(const uint8_t *data, size_t size)
{
    const char *path = xrem_fuzz_tmpfile(data, size, ".images.h5");
    if (!path) return 0;
    xrem_h5 *f = NULL;
    FUZZ_CLEAR_ERROR();
    xrem_status s = xrem_h5_open(path, &f);
    FUZZ_FAILED_WITH_MESSAGE(s);
    if (s == XREM_OK) {
        int nd = 0;
        int64_t ne[XREM_MAX_DIMS];
        xrem_dtype dt = XREM_F32;
        FUZZ_CLEAR_ERROR();
        s = xrem_h5_info(f, "cxr", &nd, ne, &dt);
        FUZZ_FAILED_WITH_MESSAGE(s);
        if (s == XREM_OK && dt != XREM_I32 && nd == 3 && ne[0] >= 1 && ne[1] >= 16 && ne[2] >= 16) {
            im_ids(f, ne[0]);
            im_rows(f, ne[0], ne[1], ne[2]);
        }
        xrem_fuzz_h5_walk(f);
        xrem_h5_close(f);
    }
    FUZZ_CHECK(xrem_fuzz_h5_open_objects() == 0, "%ld HDF5 objects left open", xrem_fuzz_h5_open_objects());
    remove(path);
    return 0;
}

XREM_FUZZ_ENTRY(xrem_fuzz_images)
