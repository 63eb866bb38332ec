/* Converted model weights (DESIGN §4): one HDF5 file per model, datasets named by the
 * checkpoint's own keys, shapes in group `config`, vocabulary in group `tokenizer`.
 *
 *   xrem_weights *w;
 *   if (xrem_weights_open("itm.h5", &w)) ...;            // checks format, version, arch
 *   int64_t L; xrem_weights_config(w, "num_layers", &L);
 *   xrem_tensor t; xrem_weights_load(w, be, "cls_head.2.weight", 2, (int64_t[]){3, 768}, &t);
 *   xrem_weights_close(w);
 *
 * Every tensor read is checked for shape (against what the config implies) and for NaN/Inf
 * before it reaches a backend; errors name the file and the dataset.
 */
#ifndef XREM_MODELS_WEIGHTS_H
#define XREM_MODELS_WEIGHTS_H

#include "backend.h"
#include "core/h5.h"

typedef struct xrem_weights xrem_weights;

xrem_status xrem_weights_open(const char *path, xrem_weights **out);
void xrem_weights_close(xrem_weights *w);

const char *xrem_weights_path(const xrem_weights *w);
const char *xrem_weights_arch(const xrem_weights *w);          /* "albef_itm", ... */
const char *xrem_weights_sha256(const xrem_weights *w);        /* source checkpoint's, or "" */
xrem_h5 *xrem_weights_file(xrem_weights *w);
/* Check the file's arch is one of the comma-separated list, e.g. "albef_retrieval,albef_itm". */
xrem_status xrem_weights_expect_arch(const xrem_weights *w, const char *archs);

/* An integer in group `config`; must be in [lo, hi]. */
xrem_status xrem_weights_config(xrem_weights *w, const char *name, int64_t lo, int64_t hi, int64_t *out);
int xrem_weights_has(xrem_weights *w, const char *name);

/* Read dataset `name`, check its shape (want_ne entries < 0 mean any) and finiteness. Host copy:
 * *out malloc'd, caller frees. */
xrem_status xrem_weights_read(xrem_weights *w, const char *name, int ndim, const int64_t *want_ne, float **out,
                              int64_t ne[XREM_MAX_DIMS]);
/* Same, then placed on the backend as an fp32 tensor of the given logical shape (which may
 * differ from the stored one only by dropping leading 1s, e.g. cls_token [1,1,C] -> [C]). */
xrem_status xrem_weights_load(xrem_weights *w, xrem_backend *be, const char *name, int ndim,
                              const int64_t *want_ne, xrem_tensor *t);
/* Upload a host array as a new backend tensor (helper for derived weights). */
xrem_status xrem_tensor_from_host(xrem_backend *be, const float *src, int ndim, const int64_t *ne,
                                  xrem_tensor *t);

/* The vocabulary stored in group `tokenizer` (dataset `vocab`): n strings, caller frees with
 * xrem_strings_free. */
xrem_status xrem_weights_vocab(xrem_weights *w, char ***tokens, int64_t *n);
/* The vocabulary checked against the model it ships with: at most `rows` tokens (exactly, when
 * `exact`; ids index the word-embedding table) and every special token of the NULL-terminated
 * `need` present, so a bad file is refused when it loads rather than at its first text. */
xrem_status xrem_weights_vocab_checked(xrem_weights *w, int64_t rows, int exact, const char *const *need,
                                       char ***tokens, int64_t *n);

#endif
