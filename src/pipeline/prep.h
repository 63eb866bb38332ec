/* xrem prep: MIMIC-CXR-JPG images -> a CXR-RePaiR `cxr.h5`, and cxr.h5 -> model-ready tensors.
 *
 * (a) xrem_prep_mimic() reproduces CXR-RePaiR's test-set preparation
 *     (data_preprocessing/create_bootstrapped_testset.py) pixel for pixel:
 *
 *         img = Image.open(path)                              # 'L' or 'RGB', no convert
 *         ratio = float(320) / max(img.size)
 *         new_size = tuple([int(x * ratio) for x in img.size])
 *         img = img.resize(new_size, Image.ANTIALIAS)         # Pillow LANCZOS, 8-bit fixed point
 *         new = Image.new('L', (320, 320)); new.paste(img, ((320 - w) // 2, (320 - h) // 2))
 *         cxr[i] = new                                        # float32 0..255
 *
 *     Pillow's resample (libImaging/Resample.c): Lanczos a = 3, support 3 * max(scale, 1), taps
 *     normalised to sum 1 in double, then rounded to 22-bit fixed point (PRECISION_BITS = 32-8-2,
 *     away from zero); horizontal pass first (into an 8-bit image, rounded with +2^21 and clipped
 *     to 0..255), then the vertical pass the same way; a pass is skipped when that side keeps its
 *     size. RGB sources are resized per channel and then converted by paste() with Pillow's
 *     L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16 (ITU-R 601-2 luma, Convert.c L24).
 *
 *     Which images, in which order: the rows of the reports CSV when one is given (the reference
 *     builds cxr.h5 from reports.csv, so row i of cxr.h5 pairs with the i-th kept report), else the
 *     rows of the split CSV whose split is `split_name`; rows whose report is empty/NaN (pandas'
 *     NA strings) are dropped as the reference's notnull() filter drops them; then the optional id
 *     list and view filter keep a subset, order unchanged. Image path:
 *     <jpg_root>[/files]/p<subject[:2]>/p<subject>/s<study>/<dicom_id>.jpg.
 *     Output (written under a temporary name, renamed when complete):
 *         cxr        float32 [N, 320, 320]  chunks [1, 320, 320], deflate
 *         dicom_id   strings [N]
 *         study_id   int64   [N]
 *         subject_id int64   [N]
 *     plus root attributes saying how it was made (xrem_format = "cxr_images").
 *
 * (b) xrem_prep_cache() turns any cxr.h5 (CXR-RePaiR's or xrem's) into res<R> datasets
 *     float32 [N, 1, R, R] = xrem_image_preprocess_gray() (bicubic a = -0.75, align_corners=False,
 *     no antialias, then (x - 101.48761) / 83.43944), chunked per image, deflate + shuffle, with the
 *     parameters and the source's sha256 as attributes (xrem_format = "image_cache").
 *
 *   xrem_prep_mimic_opts o = {.jpg_root = "mimic-cxr-jpg/2.0.0", .split_csv = "split.csv.gz",
 *                             .reports_csv = "reports.csv"};
 *   xrem_prep_summary sum;
 *   if (xrem_prep_mimic(&o, "cxr.h5", &sum) != XREM_OK) fprintf(stderr, "%s\n", xrem_last_error());
 *   int res[2] = {256, 384};
 *   xrem_prep_cache("cxr.h5", "cache.h5", res, 2, 0, NULL);
 *
 * CSV files may be gzip-compressed (mimic-cxr-2.0.0-split.csv.gz). Every failure names the file
 * and row/field, or the dicom_id and path, at fault; nothing is left at the output path.
 */
#ifndef XREM_PIPELINE_PREP_H
#define XREM_PIPELINE_PREP_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/image_io.h"
#include "xrem/progress.h"
#include "xrem/status.h"

#define XREM_PREP_SIZE 320 /* CXR-RePaiR's letterbox side */

/* ---- Pillow-exact pieces (tested against Pillow directly) ------------------------------------ */

/* Image.resize((OW, OH), LANCZOS) of an 8-bit image with C interleaved channels (1..4).
 * src [H, W, C], dst [OH, OW, C] caller-owned; all sizes > 0. */
xrem_status xrem_pillow_resize_lanczos(const uint8_t *src, int W, int H, int C, uint8_t *dst, int OW, int OH);
/* Image.convert('L') of RGB: n pixels rgb [n, 3] -> gray [n]. */
void xrem_pillow_rgb_to_l(const uint8_t *rgb, size_t n, uint8_t *gray);
/* The reference's new size for a W x H image letterboxed into R x R (fails when a side would be 0). */
xrem_status xrem_prep_letterbox_size(int W, int H, int R, int *new_w, int *new_h);
/* Decoded image -> out [R, R] uint8 (resize, RGB -> L, paste centred on black). */
xrem_status xrem_prep_letterbox(const xrem_image_u8 *img, int R, uint8_t *out);
/* Read + letterbox one file (messages name the file). */
xrem_status xrem_prep_letterbox_file(const char *path, int R, uint8_t *out);

/* ---- (a) MIMIC-CXR-JPG -> cxr.h5 ------------------------------------------------------------- */

typedef struct {
    const char *jpg_root;     /* MIMIC-CXR-JPG root (holding files/), or the files/ folder itself */
    const char *split_csv;    /* mimic-cxr-2.0.0-split.csv[.gz]: dicom_id,study_id,subject_id,split */
    const char *split_name;   /* NULL -> "test" */
    const char *reports_csv;  /* optional: dicom_id[,study_id,subject_id][,report] */
    const char *ids_csv;      /* optional: dicom ids to keep (column dicom_id, or one per line) */
    const char *views;        /* optional: "AP,PA" (needs metadata_csv) */
    const char *metadata_csv; /* mimic-cxr-2.0.0-metadata.csv[.gz]: dicom_id,...,ViewPosition,... */
    int threads;              /* 0: OpenMP default */
    const xrem_progress *progress; /* images done, per batch (NULL: none) */
} xrem_prep_mimic_opts;

typedef struct {
    int64_t n_images;        /* written */
    int64_t n_candidates;    /* rows of the reports CSV (or the split) considered */
    int64_t n_dropped_na;    /* reports CSV rows with an empty/NaN report */
    int64_t n_dropped_ids;   /* not in the id list */
    int64_t n_dropped_views; /* view not in the list */
    double seconds;          /* decode + resize + write */
} xrem_prep_summary;

xrem_status xrem_prep_mimic(const xrem_prep_mimic_opts *o, const char *out_path, xrem_prep_summary *sum);

/* ---- (b) cxr.h5 -> cache.h5 -------------------------------------------------------------------- */

/* res[nres] resolutions (each 1..4096, distinct). threads 0: OpenMP default. */
xrem_status xrem_prep_cache(const char *cxr_path, const char *out_path, const int *res, int nres, int threads,
                            const xrem_progress *progress);

#endif
