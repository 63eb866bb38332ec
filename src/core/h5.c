/* HDF5 I/O (see core/h5.h). All libhdf5 calls of the project live here. */
#include "core/h5.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct xrem_h5 {
    hid_t id;
    char *path;     /* the target path */
    char *tmp_path; /* non-NULL while an uncommitted write is open */
};

/* Set when libhdf5 failed to close an id (a file or dataset whose last flush hit a full disk).
 * HDF5 1.10 frees the object but keeps the id in its table, and its own exit handler then closes
 * it a second time (SIGSEGV in H5F__close_cb). So the library's handler is turned off and ours
 * shuts HDF5 down only while no id is in that state; otherwise the process just exits. */
static int xrem__h5_broken;

static void xrem__h5_atexit(void)
{
    if (!xrem__h5_broken) H5close();
}

/* Every entry point into libhdf5 (open, create) passes here first. */
static void xrem__h5_quiet(void)
{
    static int registered;
    if (!registered) {
        registered = 1;
        H5dont_atexit(); /* only effective before the library initialises: the first HDF5 call */
        atexit(xrem__h5_atexit);
    }
    /* libhdf5 prints its own error stack by default; xrem reports through xrem_status. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Close a file or dataset id; a failure (the flush of dirty metadata or chunks failed) is
 * returned and marks the library as holding a dangling id (see xrem__h5_broken). */
static int xrem__h5_close_id(hid_t id, herr_t (*close_fn)(hid_t))
{
    if (id < 0) return 0;
    if (close_fn(id) >= 0) return 0;
    xrem__h5_broken = 1;
    return -1;
}

static char *xrem__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

const char *xrem_h5_path(const xrem_h5 *f) { return f->path; }

xrem_status xrem_h5_open(const char *path, xrem_h5 **out)
{
    xrem__h5_quiet();
    *out = NULL;
    FILE *probe = fopen(path, "rb");
    if (!probe) return xrem_fail(XREM_ERR_IO, "%s: cannot open for reading", path);
    fclose(probe);
#if H5_VERSION_GE(1, 12, 0)
    if (H5Fis_accessible(path, H5P_DEFAULT) <= 0)
#else
    if (H5Fis_hdf5(path) <= 0)
#endif
        return xrem_fail(XREM_ERR_FORMAT, "%s: not an HDF5 file (or truncated)", path);
    hid_t id = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id < 0) return xrem_fail(XREM_ERR_FORMAT, "%s: HDF5 file cannot be opened (truncated?)", path);
    xrem_h5 *f = calloc(1, sizeof *f);
    if (!f || !(f->path = xrem__strdup(path))) {
        H5Fclose(id);
        free(f);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    f->id = id;
    *out = f;
    return XREM_OK;
}

xrem_status xrem_h5_create(const char *path, xrem_h5 **out)
{
    xrem__h5_quiet();
    *out = NULL;
    xrem_h5 *f = calloc(1, sizeof *f);
    size_t n = strlen(path) + 32;
    if (!f || !(f->path = xrem__strdup(path)) || !(f->tmp_path = malloc(n))) {
        if (f) free(f->path);
        free(f);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    snprintf(f->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0); /* the root group: no creation times, so same content = same bytes */
    f->id = H5Fcreate(f->tmp_path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (f->id < 0) {
        /* H5Fcreate may have made the file before its first write failed (a full disk). */
        xrem_status s =
            xrem_fail(XREM_ERR_IO, "%s: cannot create (temporary %s; disk full or not writable?)", path, f->tmp_path);
        remove(f->tmp_path);
        free(f->tmp_path);
        free(f->path);
        free(f);
        return s;
    }
    *out = f;
    return XREM_OK;
}

xrem_status xrem_h5_commit(xrem_h5 *f)
{
    xrem_status s = XREM_OK;
    if (xrem__h5_close_id(f->id, H5Fclose) < 0)
        s = xrem_fail(XREM_ERR_IO, "%s: cannot finish writing %s (disk full?)", f->path,
                      f->tmp_path ? f->tmp_path : f->path);
    f->id = -1;
    if (s == XREM_OK && f->tmp_path && rename(f->tmp_path, f->path) != 0)
        s = xrem_fail(XREM_ERR_IO, "%s: cannot rename %s into place", f->path, f->tmp_path);
    if (s != XREM_OK && f->tmp_path) remove(f->tmp_path);
    free(f->tmp_path);
    free(f->path);
    free(f);
    return s;
}

void xrem_h5_close(xrem_h5 *f)
{
    if (!f) return;
    xrem__h5_close_id(f->id, H5Fclose);
    if (f->tmp_path) remove(f->tmp_path);
    free(f->tmp_path);
    free(f->path);
    free(f);
}

int xrem_h5_exists(xrem_h5 *f, const char *name)
{
    if (!name || !*name || strcmp(name, "/") == 0) return 1;
    /* H5Lexists needs every intermediate group to exist; walk the path. */
    char buf[1024];
    if (strlen(name) >= sizeof buf) return 0;
    strcpy(buf, name);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int ok = H5Lexists(f->id, buf, H5P_DEFAULT) > 0;
        *p = '/';
        if (!ok) return 0;
    }
    return H5Lexists(f->id, buf, H5P_DEFAULT) > 0;
}

/* On-disk element class: float (with its size), integer, string, or other. */
static xrem_status xrem__h5_dtype(xrem_h5 *f, const char *name, hid_t ds, xrem_dtype *out)
{
    hid_t t = H5Dget_type(ds);
    H5T_class_t cls = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    xrem_status s = XREM_OK;
    if (cls == H5T_FLOAT && sz == 4) *out = XREM_F32;
    else if (cls == H5T_FLOAT && sz == 8) *out = XREM_F32; /* widened/narrowed on read */
    else if (cls == H5T_FLOAT && sz == 2) *out = XREM_F16;
    else if (cls == H5T_INTEGER && sz == 2 && H5Aexists(ds, "bfloat16") > 0) *out = XREM_BF16;
    else if (cls == H5T_INTEGER) *out = XREM_I32;
    else
        s = xrem_fail(XREM_ERR_DTYPE, "%s: dataset '%s' has an unsupported element type (class %d, %zu bytes)",
                      f->path, name, (int)cls, sz);
    H5Tclose(t);
    return s;
}

/* deflate cannot compress better than about 1032:1; other filters (shuffle, szip) do less. */
#define XREM_H5_MAX_RATIO 1100u

/* The declared shape must be backed by what the file stores for the dataset: every element of a
 * dataset that xrem or h5py writes is on disk (or deflated at most XREM_H5_MAX_RATIO:1). A shape
 * that HDF5 accepts but the file cannot hold (chunked or unlimited layout, never written) is
 * refused here, with the numbers, before any caller sizes a buffer from it. */
static xrem_status xrem__h5_backed(xrem_h5 *f, const char *name, hid_t ds, int nd, const hsize_t *dims)
{
    hid_t t = H5Dget_type(ds);
    size_t el = t < 0 ? 0 : H5Tget_size(t);
    if (t >= 0) H5Tclose(t);
    size_t bytes = el ? el : 1, n = 1;
    char shape[160] = "[";
    for (int i = 0; i < nd; i++) {
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), i ? ",%llu" : "%llu",
                 (unsigned long long)dims[i]);
        if (!xrem_size_mul(n, (size_t)dims[i], &n) || !xrem_size_mul(bytes, (size_t)dims[i], &bytes))
            return xrem_fail(XREM_ERR_SHAPE, "%s: dataset '%s' declares shape %s]: the element count overflows",
                             f->path, name, shape);
    }
    strcat(shape, "]");
    if (n == 0) return XREM_OK;
    hid_t dcpl = H5Dget_create_plist(ds);
    int nfilters = dcpl < 0 ? 0 : H5Pget_nfilters(dcpl);
    if (dcpl >= 0) H5Pclose(dcpl);
    unsigned long long stored = (unsigned long long)H5Dget_storage_size(ds);
    unsigned long long most = stored * (nfilters > 0 ? XREM_H5_MAX_RATIO : 1u);
    if (stored > 0 && most / stored != (nfilters > 0 ? XREM_H5_MAX_RATIO : 1u)) return XREM_OK; /* cannot be short */
    if ((unsigned long long)bytes <= most) return XREM_OK;
    return xrem_fail(XREM_ERR_SHAPE,
                     "%s: dataset '%s' declares shape %s (%zu bytes) but the file stores only %llu bytes for it%s; "
                     "refusing to allocate",
                     f->path, name, shape, bytes, stored, nfilters > 0 ? " (compressed)" : "");
}

static xrem_status xrem__h5_shape(xrem_h5 *f, const char *name, hid_t ds, int *ndim, int64_t ne[XREM_MAX_DIMS])
{
    hid_t sp = H5Dget_space(ds);
    int nd = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[H5S_MAX_RANK];
    if (nd < 0 || nd > XREM_MAX_DIMS) {
        H5Sclose(sp);
        return xrem_fail(XREM_ERR_SHAPE, "%s: dataset '%s' has rank %d (at most %d supported)", f->path, name,
                         nd, XREM_MAX_DIMS);
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    *ndim = nd;
    for (int i = 0; i < nd; i++) {
        if (dims[i] > (hsize_t)INT64_MAX / 8)
            return xrem_fail(XREM_ERR_SHAPE, "%s: dataset '%s' dimension %d is too large (%llu)", f->path, name, i,
                             (unsigned long long)dims[i]);
        ne[i] = (int64_t)dims[i];
    }
    return xrem__h5_backed(f, name, ds, nd, dims);
}

static xrem_status xrem__h5_open_ds(xrem_h5 *f, const char *name, hid_t *ds)
{
    if (!xrem_h5_exists(f, name)) return xrem_fail(XREM_ERR_FORMAT, "%s: missing dataset '%s'", f->path, name);
    *ds = H5Dopen2(f->id, name, H5P_DEFAULT);
    if (*ds < 0) return xrem_fail(XREM_ERR_FORMAT, "%s: '%s' is not a dataset", f->path, name);
    return XREM_OK;
}

xrem_status xrem_h5_info(xrem_h5 *f, const char *name, int *ndim, int64_t ne[XREM_MAX_DIMS], xrem_dtype *stored)
{
    hid_t ds = -1;
    xrem_status s = xrem__h5_open_ds(f, name, &ds);
    if (s) return s;
    xrem_dtype dt;
    s = xrem__h5_shape(f, name, ds, ndim, ne);
    if (!s) s = xrem__h5_dtype(f, name, ds, &dt);
    if (!s && stored) *stored = dt;
    H5Dclose(ds);
    return s;
}

static xrem_status xrem__check_shape(xrem_h5 *f, const char *name, int nd, const int64_t *ne, int want_ndim,
                                     const int64_t *want_ne)
{
    char got[128] = "[", want[128] = "[";
    int bad = want_ndim >= 0 && nd != want_ndim;
    for (int i = 0; !bad && want_ne && i < nd; i++)
        if (want_ne[i] >= 0 && want_ne[i] != ne[i]) bad = 1;
    if (!bad) return XREM_OK;
    for (int i = 0; i < nd; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), i ? ",%lld" : "%lld", (long long)ne[i]);
    for (int i = 0; want_ne && i < want_ndim; i++) {
        if (want_ne[i] < 0) snprintf(want + strlen(want), sizeof want - strlen(want), i ? ",*" : "*");
        else snprintf(want + strlen(want), sizeof want - strlen(want), i ? ",%lld" : "%lld", (long long)want_ne[i]);
    }
    snprintf(got + strlen(got), sizeof got - strlen(got), "]");
    snprintf(want + strlen(want), sizeof want - strlen(want), "]");
    if (!want_ne) snprintf(want, sizeof want, "rank %d", want_ndim);
    return xrem_fail(XREM_ERR_SHAPE, "%s: dataset '%s' has shape %s, expected %s", f->path, name, got, want);
}

static uint16_t *xrem__u16(void *p) { return p; }

/* as_int: 0 float32 (bf16 widened), 1 int32, 2 int64 (int32 datasets of older files widen). */
static xrem_status xrem__h5_read(xrem_h5 *f, const char *name, int want_ndim, const int64_t *want_ne, int as_int,
                                 void **out, int64_t ne[XREM_MAX_DIMS])
{
    hid_t ds = -1;
    *out = NULL;
    xrem_status s = xrem__h5_open_ds(f, name, &ds);
    if (s) return s;
    int nd = 0;
    int64_t shape[XREM_MAX_DIMS] = {0};
    xrem_dtype dt = XREM_F32;
    if (!s) s = xrem__h5_shape(f, name, ds, &nd, shape);
    if (!s) s = xrem__h5_dtype(f, name, ds, &dt);
    if (!s) s = xrem__check_shape(f, name, nd, shape, want_ndim, want_ne);
    if (!s && as_int && dt != XREM_I32)
        s = xrem_fail(XREM_ERR_DTYPE, "%s: dataset '%s' is %s, expected integers", f->path, name, xrem_dtype_name(dt));
    if (!s && !as_int && dt == XREM_I32)
        s = xrem_fail(XREM_ERR_DTYPE, "%s: dataset '%s' holds integers, expected floats", f->path, name);
    size_t bytes = as_int == 2 ? 8 : 4;
    for (int i = 0; !s && i < nd; i++)
        if (!xrem_size_mul(bytes, (size_t)shape[i], &bytes))
            s = xrem_fail(XREM_ERR_NOMEM, "%s: dataset '%s' is too large", f->path, name);
    void *buf = NULL;
    if (!s && !(buf = malloc(bytes ? bytes : 1)))
        s = xrem_fail(XREM_ERR_NOMEM, "%s: cannot allocate %zu bytes for '%s'", f->path, bytes, name);
    herr_t rc = 0;
    if (!s && as_int == 2) {
        rc = H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    } else if (!s && dt == XREM_BF16) {
        /* bfloat16 is stored as uint16 with a 'bfloat16' attribute: read the halves into the
         * upper 16 bits of each float, back to front so the buffer can be reused in place. */
        rc = H5Dread(ds, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        size_t n = bytes / 4;
        uint16_t *h = xrem__u16(buf);
        uint32_t *w = buf;
        for (size_t i = n; i-- > 0;) w[i] = (uint32_t)h[i] << 16;
    } else if (!s) {
        rc = H5Dread(ds, as_int ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    }
    if (!s && rc < 0)
        s = xrem_fail(XREM_ERR_IO, "%s: cannot read dataset '%s' (file truncated or corrupt?)", f->path, name);
    H5Dclose(ds);
    if (s) {
        free(buf);
        return s;
    }
    for (int i = 0; i < XREM_MAX_DIMS; i++) ne[i] = i < nd ? shape[i] : 0;
    *out = buf;
    return XREM_OK;
}

xrem_status xrem_h5_read_f32(xrem_h5 *f, const char *name, int want_ndim, const int64_t *want_ne, float **out,
                             int64_t ne[XREM_MAX_DIMS])
{
    return xrem__h5_read(f, name, want_ndim, want_ne, 0, (void **)out, ne);
}

/* Select rows [row0, row0+nrows) of ds (the other dimensions whole) into *fsp, with a memory space
 * of the same shape in *msp. */
static xrem_status xrem__h5_rows(xrem_h5 *f, const char *name, hid_t ds, int64_t row0, int64_t nrows, hid_t *fsp,
                                 hid_t *msp)
{
    hsize_t dims[H5S_MAX_RANK] = {0}, start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
    *fsp = H5Dget_space(ds);
    int nd = H5Sget_simple_extent_ndims(*fsp);
    xrem_status s = XREM_OK;
    if (nd < 1 || nd > XREM_MAX_DIMS) s = xrem_fail(XREM_ERR_SHAPE, "%s: dataset '%s' rank %d", f->path, name, nd);
    if (!s) H5Sget_simple_extent_dims(*fsp, dims, NULL);
    if (!s && (row0 < 0 || nrows < 0 || (hsize_t)(row0 + nrows) > dims[0]))
        s = xrem_fail(XREM_ERR_SHAPE, "%s: rows %lld..%lld of '%s' out of range (%llu rows)", f->path, (long long)row0,
                      (long long)(row0 + nrows), name, (unsigned long long)dims[0]);
    if (s) {
        H5Sclose(*fsp);
        return s;
    }
    for (int i = 0; i < nd; i++) count[i] = dims[i];
    start[0] = (hsize_t)row0;
    count[0] = (hsize_t)nrows;
    H5Sselect_hyperslab(*fsp, H5S_SELECT_SET, start, NULL, count, NULL);
    *msp = H5Screate_simple(nd, count, NULL);
    return XREM_OK;
}

/* Read (write = 0) or write rows of a float dataset. */
static xrem_status xrem__h5_rows_io(xrem_h5 *f, const char *name, int64_t row0, int64_t nrows, float *data, int write)
{
    hid_t ds = -1, fsp = -1, msp = -1;
    xrem_status s = xrem__h5_open_ds(f, name, &ds);
    if (s) return s;
    s = xrem__h5_rows(f, name, ds, row0, nrows, &fsp, &msp);
    if (!s) {
        herr_t rc = write ? H5Dwrite(ds, H5T_NATIVE_FLOAT, msp, fsp, H5P_DEFAULT, data)
                          : H5Dread(ds, H5T_NATIVE_FLOAT, msp, fsp, H5P_DEFAULT, data);
        if (rc < 0)
            s = xrem_fail(XREM_ERR_IO, "%s: cannot %s rows %lld..%lld of '%s' (%s)", f->path, write ? "write" : "read",
                          (long long)row0, (long long)(row0 + nrows), name,
                          write ? "disk full?" : "truncated or not float?");
        H5Sclose(msp);
        H5Sclose(fsp);
    }
    /* Closing flushes the chunk cache: on a full disk the rows are lost here, not in H5Dwrite. */
    if (xrem__h5_close_id(ds, H5Dclose) < 0 && !s)
        s = xrem_fail(XREM_ERR_IO, "%s: cannot write rows %lld..%lld of '%s' (disk full?)", f->path, (long long)row0,
                      (long long)(row0 + nrows), name);
    return s;
}

xrem_status xrem_h5_read_f32_rows(xrem_h5 *f, const char *name, int64_t row0, int64_t nrows, float *out)
{
    return xrem__h5_rows_io(f, name, row0, nrows, out, 0);
}

xrem_status xrem_h5_write_f32_rows(xrem_h5 *f, const char *name, int64_t row0, int64_t nrows, const float *data)
{
    return xrem__h5_rows_io(f, name, row0, nrows, (float *)data, 1);
}

xrem_status xrem_h5_create_f32(xrem_h5 *f, const char *name, int ndim, const int64_t *ne, int deflate, int shuffle)
{
    hsize_t dims[XREM_MAX_DIMS], chunk[XREM_MAX_DIMS];
    if (ndim < 1 || ndim > XREM_MAX_DIMS) return xrem_fail(XREM_ERR_ARG, "%s: rank %d for '%s'", f->path, ndim, name);
    for (int i = 0; i < ndim; i++) {
        dims[i] = (hsize_t)ne[i];
        chunk[i] = i ? (hsize_t)ne[i] : 1; /* one row per chunk */
    }
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    xrem_status s = XREM_OK;
    if (H5Pset_chunk(dcpl, ndim, chunk) < 0 || (shuffle && H5Pset_shuffle(dcpl) < 0) ||
        (deflate > 0 && H5Pset_deflate(dcpl, (unsigned)deflate) < 0))
        s = xrem_fail(XREM_ERR_UNSUPPORTED, "%s: cannot set chunking/deflate for '%s' (libhdf5 without zlib?)", f->path,
                      name);
    hid_t ds = s ? -1 : H5Dcreate2(f->id, name, H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (!s && ds < 0) s = xrem_fail(XREM_ERR_IO, "%s: cannot create dataset '%s'", f->path, name);
    if (xrem__h5_close_id(ds, H5Dclose) < 0 && !s)
        s = xrem_fail(XREM_ERR_IO, "%s: cannot create dataset '%s' (disk full?)", f->path, name);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return s;
}

xrem_status xrem_h5_read_i32(xrem_h5 *f, const char *name, int want_ndim, const int64_t *want_ne, int32_t **out,
                             int64_t ne[XREM_MAX_DIMS])
{
    return xrem__h5_read(f, name, want_ndim, want_ne, 1, (void **)out, ne);
}

void xrem_strings_free(char **s, int64_t n)
{
    if (!s) return;
    for (int64_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

/* Variable-length strings live in the file's global heap, uncompressed, one heap object per string
 * (as h5py and xrem write them), so together they cannot exceed the file's size. libhdf5 takes each
 * string's length from the file and allocates it (length + 1 bytes) through the transfer list's
 * allocator, then copies that many bytes: this allocator stops once the total passes the file's
 * size plus the terminators, so a file declaring 4 GiB strings gets a message, not 4 GiB copied
 * per string (libhdf5 itself is not hardened against hostile files: see the README). */
typedef struct {
    size_t left; /* bytes the strings may still take */
    int refused;
} xrem__vlen_budget;

static void *xrem__vlen_alloc(size_t size, void *info)
{
    xrem__vlen_budget *b = info;
    if (size > b->left) {
        b->refused = 1;
        return NULL;
    }
    b->left -= size;
    return malloc(size ? size : 1);
}

static void xrem__vlen_free(void *p, void *info)
{
    (void)info;
    free(p);
}

static xrem_status xrem__read_vlen_strings(xrem_h5 *f, const char *name, hid_t ds, size_t count, char **res)
{
    hsize_t fsz = 0;
    if (H5Fget_filesize(f->id, &fsz) < 0) return xrem_fail(XREM_ERR_IO, "%s: cannot get the file size", f->path);
    xrem__vlen_budget b = {(size_t)fsz + count, 0};
    char **raw = calloc(count ? count : 1, sizeof *raw);
    hid_t mt = H5Tcopy(H5T_C_S1), xfer = H5Pcreate(H5P_DATASET_XFER);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    H5Pset_vlen_mem_manager(xfer, xrem__vlen_alloc, &b, xrem__vlen_free, NULL);
    xrem_status s = XREM_OK;
    herr_t rc = raw ? H5Dread(ds, mt, H5S_ALL, H5S_ALL, xfer, raw) : -1;
    if (!raw)
        s = xrem_fail(XREM_ERR_NOMEM, "out of memory reading '%s'", name);
    else if (rc < 0 && b.refused)
        s = xrem_fail(XREM_ERR_SHAPE,
                      "%s: dataset '%s' declares %zu strings longer than the file (%llu bytes) in all; the file is "
                      "corrupt or hostile, refusing to allocate",
                      f->path, name, count, (unsigned long long)fsz);
    else if (rc < 0)
        s = xrem_fail(XREM_ERR_IO, "%s: cannot read strings '%s'", f->path, name);
    for (size_t i = 0; !s && i < count; i++)
        if (!(res[i] = xrem__strdup(raw[i] ? raw[i] : "")))
            s = xrem_fail(XREM_ERR_NOMEM, "out of memory reading '%s'", name);
    if (raw) {
        hid_t sp = H5Dget_space(ds);
        H5Dvlen_reclaim(mt, sp, xfer, raw);
        H5Sclose(sp);
    }
    H5Pclose(xfer);
    H5Tclose(mt);
    free(raw);
    return s;
}

xrem_status xrem_h5_read_strings(xrem_h5 *f, const char *name, char ***out, int64_t *n)
{
    hid_t ds = -1;
    *out = NULL;
    *n = 0;
    xrem_status s = xrem__h5_open_ds(f, name, &ds);
    if (s) return s;
    int nd = 0;
    int64_t ne[XREM_MAX_DIMS];
    s = xrem__h5_shape(f, name, ds, &nd, ne);
    hid_t ft = H5Dget_type(ds);
    if (!s && nd != 1) s = xrem_fail(XREM_ERR_SHAPE, "%s: dataset '%s' must be 1-D strings", f->path, name);
    if (!s && H5Tget_class(ft) != H5T_STRING)
        s = xrem_fail(XREM_ERR_DTYPE, "%s: dataset '%s' must hold strings", f->path, name);
    char **res = NULL;
    size_t count = s ? 0 : (size_t)ne[0];
    if (!s && !(res = calloc(count ? count : 1, sizeof *res)))
        s = xrem_fail(XREM_ERR_NOMEM, "out of memory reading '%s'", name);
    if (!s && H5Tis_variable_str(ft) > 0) {
        s = xrem__read_vlen_strings(f, name, ds, count, res);
    } else if (!s) {
        size_t w = H5Tget_size(ft), bytes;
        char *raw = NULL;
        if (!xrem_size_mul(w, count, &bytes) || !(raw = malloc(bytes + 1)))
            s = xrem_fail(XREM_ERR_NOMEM, "dataset '%s' too large", name);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, w);
        if (!s && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0)
            s = xrem_fail(XREM_ERR_IO, "%s: cannot read strings '%s'", f->path, name);
        for (size_t i = 0; !s && i < count; i++) {
            char *e = malloc(w + 1);
            if (!e) {
                s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
                break;
            }
            memcpy(e, raw + i * w, w);
            e[w] = 0;
            res[i] = e;
        }
        H5Tclose(mt);
        free(raw);
    }
    H5Tclose(ft);
    H5Dclose(ds);
    if (s) {
        xrem_strings_free(res, (int64_t)count);
        return s;
    }
    *out = res;
    *n = (int64_t)count;
    return XREM_OK;
}

static xrem_status xrem__h5_write(xrem_h5 *f, const char *name, int ndim, const int64_t *ne, hid_t mt,
                                  const void *data)
{
    hsize_t dims[XREM_MAX_DIMS] = {0};
    for (int i = 0; i < ndim; i++) dims[i] = (hsize_t)ne[i];
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0); /* no creation times: a rerun writes the same bytes */
    hid_t ds = H5Dcreate2(f->id, name, mt, sp, lcpl, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    xrem_status s = XREM_OK;
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= ne[i];
    if (ds < 0 || (numel > 0 && H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
        s = xrem_fail(XREM_ERR_IO, "%s: cannot write dataset '%s' (disk full?)", f->path, name);
    if (xrem__h5_close_id(ds, H5Dclose) < 0 && !s)
        s = xrem_fail(XREM_ERR_IO, "%s: cannot write dataset '%s' (disk full?)", f->path, name);
    H5Pclose(lcpl);
    H5Sclose(sp);
    return s;
}

xrem_status xrem_h5_write_f32(xrem_h5 *f, const char *name, int ndim, const int64_t *ne, const float *data)
{
    return xrem__h5_write(f, name, ndim, ne, H5T_NATIVE_FLOAT, data);
}

xrem_status xrem_h5_write_i32(xrem_h5 *f, const char *name, int ndim, const int64_t *ne, const int32_t *data)
{
    return xrem__h5_write(f, name, ndim, ne, H5T_NATIVE_INT32, data);
}

xrem_status xrem_h5_write_i64(xrem_h5 *f, const char *name, int ndim, const int64_t *ne, const int64_t *data)
{
    return xrem__h5_write(f, name, ndim, ne, H5T_NATIVE_INT64, data);
}

xrem_status xrem_h5_write_strings(xrem_h5 *f, const char *name, const char *const *str, int64_t n)
{
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    int64_t ne[1] = {n};
    xrem_status s = xrem__h5_write(f, name, 1, ne, mt, str);
    H5Tclose(mt);
    return s;
}

/* ---- attributes ---------------------------------------------------------------------------- */

int xrem_h5_has_attr(xrem_h5 *f, const char *obj, const char *attr)
{
    if (!xrem_h5_exists(f, obj)) return 0;
    return H5Aexists_by_name(f->id, obj, attr, H5P_DEFAULT) > 0;
}

static xrem_status xrem__attr_open(xrem_h5 *f, const char *obj, const char *attr, hid_t *a)
{
    if (!xrem_h5_has_attr(f, obj, attr))
        return xrem_fail(XREM_ERR_FORMAT, "%s: missing attribute '%s' on '%s'", f->path, attr, obj);
    *a = H5Aopen_by_name(f->id, obj, attr, H5P_DEFAULT, H5P_DEFAULT);
    if (*a < 0) return xrem_fail(XREM_ERR_FORMAT, "%s: cannot open attribute '%s' on '%s'", f->path, attr, obj);
    return XREM_OK;
}

xrem_status xrem_h5_attr_str(xrem_h5 *f, const char *obj, const char *attr, char **out)
{
    hid_t a = -1;
    *out = NULL;
    xrem_status s = xrem__attr_open(f, obj, attr, &a);
    if (s) return s;
    hid_t t = H5Aget_type(a);
    if (H5Tget_class(t) != H5T_STRING) {
        s = xrem_fail(XREM_ERR_DTYPE, "%s: attribute '%s' on '%s' is not a string", f->path, attr, obj);
    } else if (H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (H5Aread(a, mt, &v) < 0 || !v) s = xrem_fail(XREM_ERR_IO, "%s: cannot read attribute '%s'", f->path, attr);
        else {
            *out = xrem__strdup(v);
            H5free_memory(v);
        }
        H5Tclose(mt);
    } else {
        size_t w = H5Tget_size(t);
        char *v = calloc(w + 1, 1);
        if (!v || H5Aread(a, t, v) < 0) {
            free(v);
            s = xrem_fail(XREM_ERR_IO, "%s: cannot read attribute '%s'", f->path, attr);
        } else *out = v;
    }
    H5Tclose(t);
    H5Aclose(a);
    if (!s && !*out) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    return s;
}

static xrem_status xrem__attr_num(xrem_h5 *f, const char *obj, const char *attr, hid_t mt, void *out)
{
    hid_t a = -1;
    xrem_status s = xrem__attr_open(f, obj, attr, &a);
    if (s) return s;
    hid_t t = H5Aget_type(a);
    hid_t sp = H5Aget_space(a);
    H5T_class_t c = H5Tget_class(t);
    if ((c != H5T_INTEGER && c != H5T_FLOAT) || H5Sget_simple_extent_npoints(sp) != 1)
        s = xrem_fail(XREM_ERR_DTYPE, "%s: attribute '%s' on '%s' must be a single number", f->path, attr, obj);
    else if (H5Aread(a, mt, out) < 0)
        s = xrem_fail(XREM_ERR_IO, "%s: cannot read attribute '%s' on '%s'", f->path, attr, obj);
    H5Sclose(sp);
    H5Tclose(t);
    H5Aclose(a);
    return s;
}

xrem_status xrem_h5_attr_i64(xrem_h5 *f, const char *obj, const char *attr, int64_t *out)
{
    double d;
    xrem_status s = xrem__attr_num(f, obj, attr, H5T_NATIVE_DOUBLE, &d);
    if (s) return s;
    if (d != floor(d) || fabs(d) > 9e15)
        return xrem_fail(XREM_ERR_VALUE, "%s: attribute '%s' on '%s' must be an integer, got %g", f->path, attr, obj,
                         d);
    *out = (int64_t)d;
    return XREM_OK;
}

xrem_status xrem_h5_attr_f64(xrem_h5 *f, const char *obj, const char *attr, double *out)
{
    return xrem__attr_num(f, obj, attr, H5T_NATIVE_DOUBLE, out);
}

static xrem_status xrem__ensure_obj(xrem_h5 *f, const char *obj)
{
    if (xrem_h5_exists(f, obj)) return XREM_OK;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(gcpl, 0);
    hid_t g = H5Gcreate2(f->id, obj, lcpl, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    H5Pclose(lcpl);
    if (g < 0) return xrem_fail(XREM_ERR_IO, "%s: cannot create group '%s'", f->path, obj);
    H5Gclose(g);
    return XREM_OK;
}

static xrem_status xrem__set_attr(xrem_h5 *f, const char *obj, const char *attr, hid_t t, const void *v)
{
    xrem_status s = xrem__ensure_obj(f, obj);
    if (s) return s;
    if (H5Aexists_by_name(f->id, obj, attr, H5P_DEFAULT) > 0) H5Adelete_by_name(f->id, obj, attr, H5P_DEFAULT);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(f->id, obj, attr, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, t, v) < 0) s = xrem_fail(XREM_ERR_IO, "%s: cannot write attribute '%s'", f->path, attr);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return s;
}

xrem_status xrem_h5_set_attr_str(xrem_h5 *f, const char *obj, const char *attr, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    xrem_status s = xrem__set_attr(f, obj, attr, t, &v);
    H5Tclose(t);
    return s;
}

xrem_status xrem_h5_set_attr_i64(xrem_h5 *f, const char *obj, const char *attr, int64_t v)
{
    return xrem__set_attr(f, obj, attr, H5T_NATIVE_INT64, &v);
}

xrem_status xrem_h5_set_attr_f64(xrem_h5 *f, const char *obj, const char *attr, double v)
{
    return xrem__set_attr(f, obj, attr, H5T_NATIVE_DOUBLE, &v);
}

/* ---- visiting ------------------------------------------------------------------------------- */

typedef struct {
    xrem_h5_visit_fn fn;
    void *user;
    xrem_status status;
} xrem__visit_ctx;

static herr_t xrem__visit_cb(hid_t grp, const char *name, const H5L_info_t *info, void *op)
{
    xrem__visit_ctx *c = op;
    if (info->type != H5L_TYPE_HARD) return 0;
    /* H5Oopen/H5Iget_type are the same across HDF5 1.10 and 1.12, unlike H5O_info_t. */
    hid_t o = H5Oopen(grp, name, H5P_DEFAULT);
    if (o < 0) return 0;
    int is_ds = H5Iget_type(o) == H5I_DATASET;
    H5Oclose(o);
    if (!is_ds) return 0;
    c->status = c->fn(name, c->user);
    return c->status == XREM_OK ? 0 : 1;
}

xrem_status xrem_h5_visit(xrem_h5 *f, const char *group, xrem_h5_visit_fn fn, void *user)
{
    xrem__visit_ctx c = {fn, user, XREM_OK};
    hid_t g = H5Gopen2(f->id, group, H5P_DEFAULT);
    if (g < 0) return xrem_fail(XREM_ERR_FORMAT, "%s: missing group '%s'", f->path, group);
    herr_t rc = H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, xrem__visit_cb, &c);
    H5Gclose(g);
    if (c.status) return c.status;
    if (rc < 0) return xrem_fail(XREM_ERR_IO, "%s: cannot list '%s'", f->path, group);
    return XREM_OK;
}

/* Integers as int64 (int32 datasets of older files widen; xrem's own ids are int64). */
xrem_status xrem_h5_read_i64(xrem_h5 *f, const char *name, int want_ndim, const int64_t *want_ne, int64_t **out,
                             int64_t ne[XREM_MAX_DIMS])
{
    return xrem__h5_read(f, name, want_ndim, want_ne, 2, (void **)out, ne);
}
