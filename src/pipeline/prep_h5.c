/* Streaming HDF5 writes for xrem prep (see prep_internal.h): chunked + deflate datasets written a
 * few rows at a time, so a 377k-image split never has to sit in memory (rows are read back with
 * core/h5.h). Same atomic-write convention as core/h5.c: a temporary "<path>.tmp.<pid>", renamed on
 * commit, removed on close. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/prep_internal.h"

struct xrem__h5s {
    hid_t id;
    char *path;
    char *tmp; /* non-NULL while an uncommitted write is open */
};

static xrem_status xrem__h5s_new(const char *path, xrem__h5s **out)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    *out = NULL;
    xrem__h5s *f = calloc(1, sizeof *f);
    size_t n = strlen(path) + 32;
    if (!f || !(f->path = malloc(n)) || !(f->tmp = malloc(n))) {
        if (f) free(f->path);
        free(f);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    snprintf(f->path, n, "%s", path);
    snprintf(f->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    f->id = -1;
    *out = f;
    return XREM_OK;
}

xrem_status xrem__h5s_create(const char *path, xrem__h5s **out)
{
    xrem__h5s *f;
    xrem_status s = xrem__h5s_new(path, &f);
    if (s) return s;
    f->id = H5Fcreate(f->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f->id < 0) {
        s = xrem_fail(XREM_ERR_IO, "%s: cannot create (temporary %s)", path, f->tmp);
        xrem__h5s_close(f);
        return s;
    }
    *out = f;
    return XREM_OK;
}

xrem_status xrem__h5s_commit(xrem__h5s *f)
{
    xrem_status s = XREM_OK;
    if (H5Fclose(f->id) < 0) s = xrem_fail(XREM_ERR_IO, "%s: error closing HDF5 file", f->path);
    f->id = -1;
    if (!s && f->tmp && rename(f->tmp, f->path) != 0)
        s = xrem_fail(XREM_ERR_IO, "%s: cannot rename %s into place", f->path, f->tmp);
    if (s && f->tmp) remove(f->tmp);
    free(f->tmp);
    free(f->path);
    free(f);
    return s;
}

void xrem__h5s_close(xrem__h5s *f)
{
    if (!f) return;
    if (f->id >= 0) H5Fclose(f->id);
    if (f->tmp) remove(f->tmp);
    free(f->tmp);
    free(f->path);
    free(f);
}

xrem_status xrem__h5s_create_f32(xrem__h5s *f, const char *name, int ndim, const int64_t *ne, int deflate, int shuffle)
{
    hsize_t dims[8], chunk[8];
    if (ndim < 1 || ndim > 8) return xrem_fail(XREM_ERR_ARG, "%s: rank %d for '%s'", f->path, ndim, name);
    for (int i = 0; i < ndim; i++) {
        dims[i] = (hsize_t)ne[i];
        chunk[i] = i ? (hsize_t)ne[i] : 1;
    }
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    xrem_status s = XREM_OK;
    if (H5Pset_chunk(dcpl, ndim, chunk) < 0 || (shuffle && H5Pset_shuffle(dcpl) < 0) ||
        (deflate > 0 && H5Pset_deflate(dcpl, (unsigned)deflate) < 0))
        s = xrem_fail(XREM_ERR_UNSUPPORTED, "%s: cannot set chunking/deflate for '%s' (libhdf5 without zlib?)", f->path,
                      name);
    hid_t ds = s ? -1 : H5Dcreate2(f->id, name, H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (!s && ds < 0) s = xrem_fail(XREM_ERR_IO, "%s: cannot create dataset '%s'", f->path, name);
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return s;
}

/* Select rows [row0, row0+nrows) of ds in a file space; mem space of the same shape. */
static xrem_status xrem__h5s_rows(xrem__h5s *f, const char *name, hid_t ds, int64_t row0, int64_t nrows, hid_t *fsp,
                                  hid_t *msp)
{
    hsize_t dims[8], start[8] = {0}, count[8];
    *fsp = H5Dget_space(ds);
    int nd = H5Sget_simple_extent_ndims(*fsp);
    if (nd < 1 || nd > 8) {
        H5Sclose(*fsp);
        return xrem_fail(XREM_ERR_SHAPE, "%s: dataset '%s' has rank %d", f->path, name, nd);
    }
    H5Sget_simple_extent_dims(*fsp, dims, NULL);
    if (row0 < 0 || nrows < 0 || (hsize_t)(row0 + nrows) > dims[0]) {
        H5Sclose(*fsp);
        return xrem_fail(XREM_ERR_SHAPE, "%s: rows %lld..%lld outside dataset '%s' of %llu rows", f->path,
                         (long long)row0, (long long)(row0 + nrows), name, (unsigned long long)dims[0]);
    }
    memcpy(count, dims, sizeof count);
    start[0] = (hsize_t)row0;
    count[0] = (hsize_t)nrows;
    H5Sselect_hyperslab(*fsp, H5S_SELECT_SET, start, NULL, count, NULL);
    *msp = H5Screate_simple(nd, count, NULL);
    return XREM_OK;
}

static xrem_status xrem__h5s_rows_io(xrem__h5s *f, const char *name, int64_t row0, int64_t nrows, const void *data)
{
    hid_t ds = H5Dopen2(f->id, name, H5P_DEFAULT);
    if (ds < 0) return xrem_fail(XREM_ERR_FORMAT, "%s: missing dataset '%s'", f->path, name);
    hid_t fsp = -1, msp = -1;
    xrem_status s = xrem__h5s_rows(f, name, ds, row0, nrows, &fsp, &msp);
    if (!s) {
        if (H5Dwrite(ds, H5T_NATIVE_FLOAT, msp, fsp, H5P_DEFAULT, data) < 0)
            s = xrem_fail(XREM_ERR_IO, "%s: cannot write rows %lld..%lld of '%s' (disk full?)", f->path,
                          (long long)row0, (long long)(row0 + nrows), name);
        H5Sclose(msp);
        H5Sclose(fsp);
    }
    H5Dclose(ds);
    return s;
}

xrem_status xrem__h5s_write_rows(xrem__h5s *f, const char *name, int64_t row0, int64_t nrows, const float *data)
{
    return xrem__h5s_rows_io(f, name, row0, nrows, data);
}

static xrem_status xrem__h5s_write1d(xrem__h5s *f, const char *name, int64_t n, hid_t mt, const void *v)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t ds = H5Dcreate2(f->id, name, mt, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    xrem_status s = XREM_OK;
    if (ds < 0 || (n > 0 && H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0))
        s = xrem_fail(XREM_ERR_IO, "%s: cannot write dataset '%s'", f->path, name);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    return s;
}

xrem_status xrem__h5s_write_i64(xrem__h5s *f, const char *name, int64_t n, const int64_t *v)
{
    return xrem__h5s_write1d(f, name, n, H5T_NATIVE_INT64, v);
}

xrem_status xrem__h5s_write_strings(xrem__h5s *f, const char *name, int64_t n, const char *const *str)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    xrem_status s = xrem__h5s_write1d(f, name, n, t, str);
    H5Tclose(t);
    return s;
}

static xrem_status xrem__h5s_attr(xrem__h5s *f, const char *obj, const char *attr, hid_t t, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(f->id, obj, attr, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    xrem_status s = XREM_OK;
    if (a < 0 || H5Awrite(a, t, v) < 0)
        s = xrem_fail(XREM_ERR_IO, "%s: cannot write attribute '%s' on '%s'", f->path, attr, obj);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return s;
}

xrem_status xrem__h5s_attr_str(xrem__h5s *f, const char *obj, const char *attr, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    xrem_status s = xrem__h5s_attr(f, obj, attr, t, &v);
    H5Tclose(t);
    return s;
}

xrem_status xrem__h5s_attr_i64(xrem__h5s *f, const char *obj, const char *attr, int64_t v)
{
    return xrem__h5s_attr(f, obj, attr, H5T_NATIVE_INT64, &v);
}

xrem_status xrem__h5s_attr_f64(xrem__h5s *f, const char *obj, const char *attr, double v)
{
    return xrem__h5s_attr(f, obj, attr, H5T_NATIVE_DOUBLE, &v);
}
