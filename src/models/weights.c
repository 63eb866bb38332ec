#include "models/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xrem_weights {
    xrem_h5 *f;
    char *arch;
    char *sha256;
};

xrem_status xrem_weights_open(const char *path, xrem_weights **out)
{
    *out = NULL;
    xrem_weights *w = calloc(1, sizeof *w);
    if (!w) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    xrem_status s = xrem_h5_open(path, &w->f);
    char *fmt = NULL;
    int64_t version = 0;
    if (!s && !xrem_h5_has_attr(w->f, "/", "xrem_format"))
        s = xrem_fail(XREM_ERR_FORMAT, "%s: not an xrem weights file (no root attribute 'xrem_format'; convert the "
                                       "checkpoint with scripts/convert_albef.py)",
                      path);
    if (!s) s = xrem_h5_attr_str(w->f, "/", "xrem_format", &fmt);
    if (!s && strcmp(fmt, "weights") != 0)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: xrem_format is '%s', expected 'weights'", path, fmt);
    if (!s) s = xrem_h5_attr_i64(w->f, "/", "version", &version);
    if (!s && version != 1)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: weights format version %lld, this xrem reads version 1", path,
                      (long long)version);
    if (!s) s = xrem_h5_attr_str(w->f, "/", "arch", &w->arch);
    if (!s && xrem_h5_has_attr(w->f, "/", "source_sha256")) s = xrem_h5_attr_str(w->f, "/", "source_sha256", &w->sha256);
    free(fmt);
    if (s) {
        xrem_weights_close(w);
        return s;
    }
    *out = w;
    return XREM_OK;
}

void xrem_weights_close(xrem_weights *w)
{
    if (!w) return;
    xrem_h5_close(w->f);
    free(w->arch);
    free(w->sha256);
    free(w);
}

const char *xrem_weights_path(const xrem_weights *w) { return xrem_h5_path(w->f); }
const char *xrem_weights_arch(const xrem_weights *w) { return w->arch; }
const char *xrem_weights_sha256(const xrem_weights *w) { return w->sha256 ? w->sha256 : ""; }
xrem_h5 *xrem_weights_file(xrem_weights *w) { return w->f; }
int xrem_weights_has(xrem_weights *w, const char *name) { return xrem_h5_exists(w->f, name); }

xrem_status xrem_weights_expect_arch(const xrem_weights *w, const char *archs)
{
    size_t n = strlen(w->arch);
    for (const char *p = archs; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, w->arch, n)) return XREM_OK;
        p += len + (e ? 1 : 0);
    }
    return xrem_fail(XREM_ERR_FORMAT, "%s: arch is '%s', expected %s", xrem_weights_path(w), w->arch, archs);
}

xrem_status xrem_weights_config(xrem_weights *w, const char *name, int64_t lo, int64_t hi, int64_t *out)
{
    xrem_status s = xrem_h5_attr_i64(w->f, "config", name, out);
    if (s) return s;
    if (*out < lo || *out > hi)
        return xrem_fail(XREM_ERR_VALUE, "%s: config.%s = %lld, expected %lld..%lld", xrem_weights_path(w), name,
                         (long long)*out, (long long)lo, (long long)hi);
    return XREM_OK;
}

xrem_status xrem_weights_read(xrem_weights *w, const char *name, int ndim, const int64_t *want_ne, float **out,
                              int64_t ne[XREM_MAX_DIMS])
{
    xrem_status s = xrem_h5_read_f32(w->f, name, ndim, want_ne, out, ne);
    if (s) return s;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= ne[i];
    for (int64_t i = 0; i < n; i++)
        if (!isfinite((*out)[i])) {
            xrem_status e = xrem_fail(XREM_ERR_VALUE, "%s: dataset '%s' holds a non-finite value (%g) at flat index %lld",
                                      xrem_weights_path(w), name, (double)(*out)[i], (long long)i);
            free(*out);
            *out = NULL;
            return e;
        }
    return XREM_OK;
}

xrem_status xrem_tensor_from_host(xrem_backend *be, const float *src, int ndim, const int64_t *ne, xrem_tensor *t)
{
    xrem_status s = xrem_tensor_alloc(be, XREM_F32, ndim, ne, t);
    if (s) return s;
    be->upload(be, t->data, src, xrem_tensor_bytes(t));
    return XREM_OK;
}

xrem_status xrem_weights_load(xrem_weights *w, xrem_backend *be, const char *name, int ndim, const int64_t *want_ne,
                              xrem_tensor *t)
{
    /* Stored shapes may carry leading singleton dims (cls_token [1,1,C]); match on the file's rank. */
    int nd_file = 0;
    int64_t ne_file[XREM_MAX_DIMS];
    xrem_status s = xrem_h5_info(w->f, name, &nd_file, ne_file, NULL);
    if (s) return s;
    int lead = nd_file - ndim;
    int64_t want_file[XREM_MAX_DIMS];
    for (int i = 0; i < nd_file; i++) want_file[i] = i < lead ? 1 : want_ne[i - lead];
    if (lead < 0) return xrem_fail(XREM_ERR_SHAPE, "%s: dataset '%s' has rank %d, expected %d", xrem_weights_path(w),
                                   name, nd_file, ndim);
    float *host = NULL;
    int64_t ne[XREM_MAX_DIMS];
    s = xrem_weights_read(w, name, nd_file, want_file, &host, ne);
    if (s) return s;
    s = xrem_tensor_from_host(be, host, ndim, ne + lead, t);
    free(host);
    return s;
}

xrem_status xrem_weights_vocab(xrem_weights *w, char ***tokens, int64_t *n)
{
    if (!xrem_h5_exists(w->f, "tokenizer/vocab"))
        return xrem_fail(XREM_ERR_FORMAT, "%s: no vocabulary (dataset 'tokenizer/vocab')", xrem_weights_path(w));
    return xrem_h5_read_strings(w->f, "tokenizer/vocab", tokens, n);
}

xrem_status xrem_weights_vocab_checked(xrem_weights *w, int64_t rows, int exact, const char *const *need,
                                       char ***tokens, int64_t *n)
{
    const char *path = xrem_weights_path(w);
    xrem_status s = xrem_weights_vocab(w, tokens, n);
    if (!s && (*n > rows || (exact && *n != rows)))
        s = xrem_fail(XREM_ERR_FORMAT,
                      "%s: the vocabulary (tokenizer/vocab) has %lld tokens, the word embeddings %lld "
                      "rows (config vocab_size): ids would %s",
                      path, (long long)*n, (long long)rows,
                      *n > rows ? "fall outside the table" : "not match the table");
    for (int k = 0; !s && need[k]; k++) {
        int64_t i = 0;
        while (i < *n && strcmp((*tokens)[i], need[k]))
            i++;
        if (i == *n)
            s = xrem_fail(XREM_ERR_FORMAT, "%s: the vocabulary (tokenizer/vocab) lacks the special token %s", path,
                          need[k]);
    }
    if (s) {
        xrem_strings_free(*tokens, *n);
        *tokens = NULL;
        *n = 0;
    }
    return s;
}
