/* X-REM end to end (DESIGN §2): ITC top-K1 → ITM re-rank to K2 → redundancy filter to K3,
 * reproducing the reference's string handling (candidates joined and split on "[SEP]", the
 * extra empty candidate, the filter loop), batched over images, resumable by chunks.
 *
 * Output directory: chunks/chunk_NNNNNN.h5 (one per --batch images, written atomically;
 * --resume reuses those made with the same configuration), then run.h5 (every stage's indices
 * and scores + config), reports.csv (dicom_id, study_id, "Report Impression", filtered) and
 * pred.csv (study_id, report) for `xrem eval`.
 */
#ifndef XREM_PIPELINE_RUN_H
#define XREM_PIPELINE_RUN_H

#include "backend.h"

/* A pairwise redundancy test for stage 3: accept = 1 appends the hypothesis to the report. */
typedef struct {
    const char *name; /* goes into the run's configuration, e.g. "nli:<sha256>" */
    void *ctx;
    xrem_status (*judge)(void *ctx, const char *premise, const char *hypothesis, int *accept);
    void (*release)(void *ctx); /* frees ctx (and the filter when it lives inside ctx) */
} xrem_filter;

typedef struct {
    const char *retrieval, *itm;  /* weights */
    const char *images, *corpus;  /* cxr.h5, corpus.h5 (xrem embed) */
    const char *reports;          /* optional CSV with dicom_id, study_id in image order */
    const char *ids;              /* optional CSV/list of dicom_ids to run */
    const char *out;              /* output directory */
    int k1, k2, k3;
    int use_itm;                  /* 0: cosine top-K1 joined with a space (ablation) */
    int drop_empty;               /* drop the reference's extra empty candidate */
    int batch;                    /* images per chunk */
    int resume;
    int threads;
    int res_retrieval, res_itm;   /* 0: 256 and 384 as X-REM runs them */
    const xrem_filter *filter;    /* NULL: no filter (final = ITM top-1) */
} xrem_run_config;

xrem_status xrem_run(const xrem_run_config *cfg, xrem_backend *be);

/* Split s on delimiter exactly as Python's str.split(delim): n+1 pieces for n occurrences.
 * Pieces are malloc'd; free with xrem_strings_free. */
xrem_status xrem_str_split(const char *s, const char *delim, char ***pieces, int64_t *n);
/* The reference's stage-3 loop over pieces (see m2trans_nli_filter.py): report = p[0]; for
 * i >= 1: judge(report, p[i]) and append ' ' + p[i] when accepted; stop once k3 are in. */
xrem_status xrem_filter_apply(const xrem_filter *f, char *const *pieces, int64_t n, int k3, char **out);

#endif
