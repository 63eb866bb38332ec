/* Internals shared by prep.c, prep_select.c and prep_h5.c (not part of the library's API).
 *
 *  - gzip-transparent reading of the MIMIC tables with core/csv.h;
 *  - the selection of images (split / reports / ids / views) as prep.h describes it;
 *  - a streaming HDF5 writer: chunked, deflate-compressed datasets written a few rows at a time,
 *    which core/h5.h (whole datasets) does not offer yet. It keeps core/h5's conventions: write
 *    to "<path>.tmp.<pid>", rename on commit, remove on close.
 */
#ifndef XREM_PIPELINE_PREP_INTERNAL_H
#define XREM_PIPELINE_PREP_INTERNAL_H

#include <stdint.h>

#include "core/csv.h"
#include "pipeline/prep.h"

/* ---- CSV -------------------------------------------------------------------------------------- */

/* core/csv.h's parser over a file that may be gzip-compressed (mimic-cxr-2.0.0-split.csv.gz). */
xrem_status xrem__csv_read_gz(const char *path, xrem_csv **out);
int xrem__csv_col(const xrem_csv *c, const char *name); /* -1 when absent */

/* ---- selection -------------------------------------------------------------------------------- */

typedef struct {
    int64_t n;
    char **dicom;     /* [n] owned */
    int64_t *study;   /* [n] */
    int64_t *subject; /* [n] */
    char **path;      /* [n] owned image paths */
} xrem__prep_list;

xrem_status xrem__prep_select(const xrem_prep_mimic_opts *o, xrem__prep_list *l, xrem_prep_summary *sum);
void xrem__prep_list_free(xrem__prep_list *l);

#endif
