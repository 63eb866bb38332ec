/* The report corpus as the reference builds it, and its embedding cache (corpus.h5).
 *
 * Reading (DESIGN §2): column `report` of a CSV as pandas.read_csv reads it (core/csv.h: lines of
 * only spaces/tabs skipped); empty and NaN values dropped (pandas' default NA strings as whole
 * fields, core/pandas_na.h: pandas 1.x's list by default, the reference's, which keeps "None" as a
 * report; pandas_major 2 drops it too), then duplicate strings dropped keeping the first; file
 * order kept.
 *
 * The cache holds the reports, their ALBEF token ids (max 25) and L2-normalised ITC text
 * features, with the retrieval model's sha256: a cache made by another model is refused.
 */
#ifndef XREM_PIPELINE_CORPUS_H
#define XREM_PIPELINE_CORPUS_H

#include "models/albef.h"
#include "xrem/progress.h"

typedef struct {
    int64_t n;
    char **text;     /* [n] owned */
    int64_t *row;    /* [n] 0-based data row in the source CSV */
    int64_t dropped_na, dropped_dup;
    int E;           /* feature size (0 when not embedded) */
    float *feat;     /* [n, E] L2-normalised text features, or NULL */
    char *model_sha; /* sha256 recorded by the model that made feat */
    char reports_sha[65]; /* sha256 over the reports (each followed by a NUL): the content's identity */
} xrem_corpus;

/* pandas_major: 1 (XREM_PANDAS_DEFAULT) or 2, whose NA strings are dropped. */
xrem_status xrem_corpus_read_csv(const char *path, const char *column, int pandas_major, xrem_corpus *c);
void xrem_corpus_release(xrem_corpus *c);

/* Tokenize (ALBEF, max_len ids) and embed every report with the retrieval model, writing the
 * cache atomically. Reports each batch of reports to progress (may be NULL). */
xrem_status xrem_corpus_embed(xrem_corpus *c, xrem_albef *retrieval, int max_len, int batch, const char *source,
                              const char *out_path, const xrem_progress *progress);
/* Load a cache; when model_sha is non-NULL the cache must have been made by that model. */
xrem_status xrem_corpus_load(const char *path, const char *model_sha, xrem_corpus *c);

#endif
