#include "pipeline/corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/csv.h"
#include "core/pandas_na.h"
#include "core/sha256.h"
#include "core/strmap.h"
#include "text/wordpiece.h"

void xrem_corpus_release(xrem_corpus *c)
{
    if (c->text)
        for (int64_t i = 0; i < c->n; i++) free(c->text[i]);
    free(c->text);
    free(c->row);
    free(c->feat);
    free(c->model_sha);
    memset(c, 0, sizeof *c);
}

xrem_status xrem_corpus_read_csv(const char *path, const char *column, int pandas_major, xrem_corpus *c)
{
    memset(c, 0, sizeof *c);
    xrem_csv *csv = NULL;
    int col;
    xrem_status s = xrem_csv_read(path, &csv);
    if (!s) s = xrem_csv_column(csv, column, &col);
    const int64_t rows = s ? 0 : xrem_csv_nrows(csv);
    xrem_strmap *seen = NULL;
    if (!s) s = xrem_strmap_create(rows, &seen);
    if (!s && (!(c->text = calloc((size_t)(rows ? rows : 1), sizeof *c->text)) ||
               !(c->row = calloc((size_t)(rows ? rows : 1), sizeof *c->row))))
        s = xrem_fail(XREM_ERR_NOMEM, "out of memory reading %s", path);
    for (int64_t r = 0; !s && r < rows; r++) {
        size_t len;
        const char *v = xrem_csv_get(csv, r, col, &len);
        if (xrem_pandas_is_na(v, len, pandas_major)) {
            c->dropped_na++;
            continue;
        }
        int fresh = 0;
        s = xrem_strmap_insert(seen, v, c->n, &fresh, NULL);
        if (s || !fresh) {
            c->dropped_dup += !s;
            continue;
        }
        if (!(c->text[c->n] = strdup(v))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
        c->row[c->n++] = r;
    }
    if (!s && c->n == 0)
        s = xrem_fail(XREM_ERR_VALUE, "%s: column '%s' has no non-empty reports (%lld rows)", path, column,
                      (long long)rows);
    xrem_strmap_free(seen);
    xrem_csv_free(csv);
    if (s) xrem_corpus_release(c);
    return s;
}

static xrem_status corpus_embed_batches(xrem_corpus *c, xrem_albef *m, const xrem_vocab *v, int max_len, int batch,
                                        int32_t *ids_all, int32_t *len_all, const xrem_progress *progress)
{
    const int E = c->E;
    xrem_status s = XREM_OK;
    for (int64_t b = 0; !s && b < c->n; b += batch) {
        const int nb = (int)(c->n - b < batch ? c->n - b : batch);
        xrem_text_batch tb;
        s = xrem_text_batch_encode(v, (const char *const *)c->text + b, nb, max_len, &tb);
        if (s) return xrem_fail_context(s, "corpus report %lld", (long long)c->row[b]);
        s = xrem_albef_encode_texts(m, tb.ids, tb.mask, nb, tb.T, c->feat + b * E, NULL, NULL);
        for (int i = 0; !s && i < nb; i++) {
            len_all[b + i] = tb.len[i];
            memcpy(ids_all + (b + i) * max_len, tb.ids + (int64_t)i * tb.T, sizeof(int32_t) * (size_t)tb.T);
        }
        xrem_text_batch_free(&tb);
        xrem_progress_report(progress, "reports", b + nb, c->n, NULL);
    }
    xrem_progress_end(progress);
    return s;
}

static void corpus_hash(xrem_corpus *c)
{
    xrem_sha256 h;
    xrem_sha256_init(&h);
    for (int64_t i = 0; i < c->n; i++) xrem_sha256_update(&h, c->text[i], strlen(c->text[i]) + 1);
    xrem_sha256_final_hex(&h, c->reports_sha);
}

static xrem_status corpus_write(const xrem_corpus *c, const int32_t *ids, const int32_t *len, int max_len,
                                const char *source, const char *path)
{
    xrem_h5 *f = NULL;
    int64_t *rows64 = NULL;
    xrem_status s = xrem_h5_create(path, &f);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "xrem_format", "corpus");
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "version", 1);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "model_sha256", c->model_sha);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "source", source);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "reports_sha256", c->reports_sha);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "max_len", max_len);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "dropped_na", c->dropped_na);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "dropped_duplicates", c->dropped_dup);
    if (!s) s = xrem_h5_write_strings(f, "reports", (const char *const *)c->text, c->n);
    int32_t *r32 = s ? NULL : malloc(sizeof(int32_t) * (size_t)c->n);
    for (int64_t i = 0; r32 && i < c->n; i++) r32[i] = (int32_t)c->row[i];
    if (!s && !r32) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = xrem_h5_write_i32(f, "source_row", 1, (int64_t[]){c->n}, r32);
    if (!s) s = xrem_h5_write_i32(f, "token_ids", 2, (int64_t[]){c->n, max_len}, ids);
    if (!s) s = xrem_h5_write_i32(f, "token_len", 1, (int64_t[]){c->n}, len);
    if (!s) s = xrem_h5_write_f32(f, "text_feat", 2, (int64_t[]){c->n, c->E}, c->feat);
    free(r32);
    free(rows64);
    if (s) {
        xrem_h5_close(f);
        return s;
    }
    return xrem_h5_commit(f);
}

xrem_status xrem_corpus_embed(xrem_corpus *c, xrem_albef *m, int max_len, int batch, const char *source,
                              const char *out_path, const xrem_progress *progress)
{
    if (xrem_albef_kind_of(m) != XREM_ALBEF_RETRIEVAL)
        return xrem_fail(XREM_ERR_ARG, "embedding the corpus needs the retrieval model (arch albef_retrieval)");
    int64_t nv = 0;
    char *const *vocab = xrem_albef_vocab(m, &nv);
    if (!vocab) return xrem_fail(XREM_ERR_FORMAT, "the retrieval weights have no tokenizer vocabulary");
    xrem_vocab *v = NULL;
    xrem_status s = xrem_vocab_from_strings((const char *const *)vocab, nv, &v);
    c->E = xrem_albef_embed_dim(m);
    free(c->feat);
    free(c->model_sha);
    c->model_sha = strdup(xrem_albef_sha256(m));
    c->feat = malloc(sizeof(float) * (size_t)c->n * c->E);
    int32_t *ids = calloc((size_t)c->n * max_len, sizeof(int32_t)), *len = malloc(sizeof(int32_t) * (size_t)c->n);
    if (!s && (!c->feat || !ids || !len || !c->model_sha)) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) corpus_hash(c);
    if (!s) s = corpus_embed_batches(c, m, v, max_len, batch, ids, len, progress);
    if (!s) s = corpus_write(c, ids, len, max_len, source, out_path);
    xrem_vocab_free(v);
    free(ids);
    free(len);
    return s;
}

xrem_status xrem_corpus_load(const char *path, const char *model_sha, xrem_corpus *c)
{
    memset(c, 0, sizeof *c);
    xrem_h5 *f = NULL;
    char *fmt = NULL;
    int64_t ne[XREM_MAX_DIMS];
    int32_t *rows = NULL;
    xrem_status s = xrem_h5_open(path, &f);
    if (!s) s = xrem_h5_attr_str(f, "/", "xrem_format", &fmt);
    if (!s && strcmp(fmt, "corpus"))
        s = xrem_fail(XREM_ERR_FORMAT, "%s: xrem_format is '%s', expected 'corpus' (make one with xrem embed)", path, fmt);
    if (!s) s = xrem_h5_attr_str(f, "/", "model_sha256", &c->model_sha);
    if (!s && model_sha && strcmp(model_sha, c->model_sha))
        s = xrem_fail(XREM_ERR_FORMAT,
                      "%s: corpus cache was made by another retrieval model (sha256 %.16s…, this one %.16s…); "
                      "rebuild it with xrem embed",
                      path, c->model_sha, model_sha);
    if (!s) s = xrem_h5_read_strings(f, "reports", &c->text, &c->n);
    if (!s) s = xrem_h5_read_f32(f, "text_feat", 2, (int64_t[]){c->n, -1}, &c->feat, ne);
    if (!s) c->E = (int)ne[1];
    if (!s) s = xrem_h5_read_i32(f, "source_row", 1, (int64_t[]){c->n}, &rows, ne);
    if (!s && !(c->row = malloc(sizeof(int64_t) * (size_t)(c->n ? c->n : 1))))
        s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; !s && i < c->n; i++) c->row[i] = rows[i];
    if (!s && c->n == 0) s = xrem_fail(XREM_ERR_VALUE, "%s: the corpus is empty", path);
    if (!s) corpus_hash(c);
    free(rows);
    free(fmt);
    xrem_h5_close(f);
    if (s) xrem_corpus_release(c);
    return s;
}
