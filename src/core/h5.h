/* HDF5 I/O: the one place that talks to libhdf5 (weights, goldens, images, run outputs).
 *
 * Every reader validates rank, dims and dtype before allocating, and every failure message
 * names the file and the dataset or attribute. Files opened for writing are written under a
 * temporary name and renamed over the target by xrem_h5_commit(); xrem_h5_close() on an
 * uncommitted file removes the temporary, so a failed write never leaves a half-written file.
 */
#ifndef XREM_CORE_H5_H
#define XREM_CORE_H5_H

#include <stdint.h>

#include "core/tensor.h"

typedef struct xrem_h5 xrem_h5;

xrem_status xrem_h5_open(const char *path, xrem_h5 **out);   /* read-only */
xrem_status xrem_h5_create(const char *path, xrem_h5 **out); /* write to path.tmp.<pid> */
xrem_status xrem_h5_commit(xrem_h5 *f);                      /* flush, close, rename; frees f */
void xrem_h5_close(xrem_h5 *f);                              /* NULL ok; discards uncommitted */
const char *xrem_h5_path(const xrem_h5 *f);

int xrem_h5_exists(xrem_h5 *f, const char *name); /* dataset, group or link */
/* Shape and element type of a dataset. dtype: float32 for any float on disk; stored_dtype
 * (optional) is the on-disk one (F16 / BF16 are widened by the readers). */
xrem_status xrem_h5_info(xrem_h5 *f, const char *name, int *ndim, int64_t ne[XREM_MAX_DIMS],
                         xrem_dtype *stored_dtype);

/* Read a float dataset as float32. want_ndim and want_ne (entries < 0 mean "any") are
 * checked before allocating; on success *out is malloc'd (caller frees) and ne is filled. */
xrem_status xrem_h5_read_f32(xrem_h5 *f, const char *name, int want_ndim, const int64_t *want_ne,
                             float **out, int64_t ne[XREM_MAX_DIMS]);
/* Rows [row0, row0+nrows) of a float dataset along its first dimension (the rest whole), read
 * as float32 into out (caller-sized). The dataset's shape must already be known (xrem_h5_info). */
xrem_status xrem_h5_read_f32_rows(xrem_h5 *f, const char *name, int64_t row0, int64_t nrows, float *out);
/* Same for integer datasets, read as int32 (values outside int32 are rejected by HDF5). */
xrem_status xrem_h5_read_i32(xrem_h5 *f, const char *name, int want_ndim, const int64_t *want_ne,
                             int32_t **out, int64_t ne[XREM_MAX_DIMS]);
/* Same read as int64 (ids: int32 datasets of older files widen). */
xrem_status xrem_h5_read_i64(xrem_h5 *f, const char *name, int want_ndim, const int64_t *want_ne, int64_t **out,
                             int64_t ne[XREM_MAX_DIMS]);
/* A 1-D dataset of strings (variable- or fixed-length). *out is an array of n malloc'd
 * strings, caller frees each and the array (xrem_strings_free). */
xrem_status xrem_h5_read_strings(xrem_h5 *f, const char *name, char ***out, int64_t *n);
void xrem_strings_free(char **s, int64_t n);

xrem_status xrem_h5_write_f32(xrem_h5 *f, const char *name, int ndim, const int64_t *ne,
                              const float *data);
xrem_status xrem_h5_write_i32(xrem_h5 *f, const char *name, int ndim, const int64_t *ne,
                              const int32_t *data);
xrem_status xrem_h5_write_i64(xrem_h5 *f, const char *name, int ndim, const int64_t *ne, const int64_t *data);
/* A float32 dataset [ne0, ...] written later a few rows at a time (chunked one row per chunk;
 * deflate level 0..9, byte shuffle on/off), so large image sets never sit in memory. */
xrem_status xrem_h5_create_f32(xrem_h5 *f, const char *name, int ndim, const int64_t *ne, int deflate, int shuffle);
/* Rows [row0, row0+nrows) of a float dataset, data holding nrows full rows. */
xrem_status xrem_h5_write_f32_rows(xrem_h5 *f, const char *name, int64_t row0, int64_t nrows, const float *data);
xrem_status xrem_h5_write_strings(xrem_h5 *f, const char *name, const char *const *s, int64_t n);

/* Attributes on an object ("/" for the root, or a group/dataset path). */
int xrem_h5_has_attr(xrem_h5 *f, const char *obj, const char *attr);
xrem_status xrem_h5_attr_str(xrem_h5 *f, const char *obj, const char *attr, char **out);
xrem_status xrem_h5_attr_i64(xrem_h5 *f, const char *obj, const char *attr, int64_t *out);
xrem_status xrem_h5_attr_f64(xrem_h5 *f, const char *obj, const char *attr, double *out);
xrem_status xrem_h5_set_attr_str(xrem_h5 *f, const char *obj, const char *attr, const char *v);
xrem_status xrem_h5_set_attr_i64(xrem_h5 *f, const char *obj, const char *attr, int64_t v);
xrem_status xrem_h5_set_attr_f64(xrem_h5 *f, const char *obj, const char *attr, double v);

/* Visit the datasets under group (recursively); names passed are full paths without the
 * leading '/'. Stops and returns the callback's status if it is not XREM_OK. */
typedef xrem_status (*xrem_h5_visit_fn)(const char *name, void *user);
xrem_status xrem_h5_visit(xrem_h5 *f, const char *group, xrem_h5_visit_fn fn, void *user);

#endif
