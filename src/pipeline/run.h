/* X-REM end to end (DESIGN §2): ITC top-K1 → ITM re-rank to K2 → redundancy filter to K3,
 * reproducing the reference's string handling (candidates joined and split on "[SEP]", the
 * extra empty candidate, the filter loop), batched over images, resumable by chunks.
 *
 * Output directory: chunks/chunk_NNNNNN.h5 (one per --batch images, written atomically;
 * --resume reuses those made with the same configuration), then run.h5 (every stage's indices
 * and scores + config), reports.csv (dicom_id, study_id, "Report Impression", filtered) and
 * pred.csv (study_id, report) for `xrem eval`.
 *
 * Corpus reports that hold the text "[SEP]" (e.g. a corpus built from an earlier run's "Report
 * Impression") are split as the reference splits them, not refused: stage 1's string is
 * "".join(r + "[SEP]" for r in top-K1) and stage 2's candidates are its Python str.split("[SEP]")
 * pieces — no strip, empty pieces kept — so a report "a [SEP] b" gives the two candidates "a " and
 * " b", a report "[SEP]" two empty ones, and --drop-empty-candidate drops only the last piece (the
 * one after the trailing delimiter). Stage 3 splits stage 2's joined string again; its pieces hold no
 * delimiter, so it gets K2 texts + the empty last one as usual. An image then has more than K1 (+1)
 * candidates, and images differ in how many: run.h5's `candidates` attribute is the bound
 * K1 + (the K1 largest delimiter counts in the corpus) (+1), `itm_score` [N, candidates] is NaN past an
 * image's own candidates, `candidate_rank` [N, candidates] (int32) names the stage-1 rank each
 * candidate is a piece of (K1: the empty last piece, -1: past the image's candidates) and the
 * `split_reports` attribute counts the corpus reports holding the delimiter (0: every image has exactly
 * K1 (+1) candidates, position k = stage-1 rank k, as before).
 */
#ifndef XREM_PIPELINE_RUN_H
#define XREM_PIPELINE_RUN_H

#include "backend.h"
#include "xrem/progress.h"

/* A pairwise redundancy test for stage 3: accept = 1 appends the hypothesis to the report. */
typedef struct {
    const char *name; /* goes into the run's configuration, e.g. "nli:<sha256>" */
    void *ctx;
    xrem_status (*judge)(void *ctx, const char *premise, const char *hypothesis, int *accept);
    void (*release)(void *ctx); /* frees ctx (and the filter when it lives inside ctx) */
    /* Optional: n pairs at once, accept[i] for (premise[i], hypothesis[i]); must give each pair the
     * decision judge gives it alone. NULL: stage 3 calls judge pair by pair. */
    xrem_status (*judge_batch)(void *ctx, const char *const *premise, const char *const *hypothesis, int n,
                               int *accept);
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
    const xrem_progress *progress; /* images done, per chunk (NULL: none) */
} xrem_run_config;

xrem_status xrem_run(const xrem_run_config *cfg, xrem_backend *be);

/* Split s on delimiter exactly as Python's str.split(delim): n+1 pieces for n occurrences.
 * Pieces are malloc'd; free with xrem_strings_free. */
xrem_status xrem_str_split(const char *s, const char *delim, char ***pieces, int64_t *n);
/* The reference's stage-3 loop over pieces (see m2trans_nli_filter.py): report = p[0]; for
 * i >= 1: judge(report, p[i]) and append ' ' + p[i] when accepted; stop once k3 are in. */
xrem_status xrem_filter_apply(const xrem_filter *f, char *const *pieces, int64_t n, int k3, char **out);
/* xrem_filter_apply for m images in lock-step: at each step one judge_batch call over every image
 * still in its loop (its report so far, its next piece); judge pair by pair when the filter has no
 * judge_batch. pieces[j], n[j]: image j's pieces; out [m]. Each image gets exactly the judge calls,
 * in the same order, and the report xrem_filter_apply gives it. On failure out is all NULL and
 * *failed (if not NULL) is the image whose pair failed, or -1 (e.g. out of memory). */
xrem_status xrem_filter_apply_many(const xrem_filter *f, char *const *const *pieces, const int64_t *n, int m, int k3,
                                   char **out, int *failed);

#endif
