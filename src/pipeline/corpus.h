/* The report corpus as the reference builds it, and its embedding cache (corpus.h5).
 *
 * Reading (DESIGN §2): column `report` of a CSV; empty and NaN values dropped (pandas' default
 * NA strings: "", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "<NA>", "#N/A", ... as whole
 * fields), then duplicate strings dropped keeping the first; file order kept.
 *
 * The cache holds the reports, their ALBEF token ids (max 25) and L2-normalised ITC text
 * features, with the retrieval model's sha256: a cache made by another model is refused.
 */
#ifndef XREM_PIPELINE_CORPUS_H
#define XREM_PIPELINE_CORPUS_H

#include "models/albef.h"

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

xrem_status xrem_corpus_read_csv(const char *path, const char *column, xrem_corpus *c);
void xrem_corpus_release(xrem_corpus *c);
/* 1 when s is one of pandas' default NA strings */
int xrem_is_pandas_na(const char *s);

/* Tokenize (ALBEF, max_len ids) and embed every report with the retrieval model, writing the
 * cache atomically. Shows progress on stderr when it is a terminal. */
xrem_status xrem_corpus_embed(xrem_corpus *c, xrem_albef *retrieval, int max_len, int batch, const char *source,
                              const char *out_path);
/* Load a cache; when model_sha is non-NULL the cache must have been made by that model. */
xrem_status xrem_corpus_load(const char *path, const char *model_sha, xrem_corpus *c);

#endif
