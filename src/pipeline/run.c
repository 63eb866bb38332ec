#include "pipeline/run.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/csv.h"
#include "core/dist.h"
#include "core/h5.h"
#include "core/outlock.h"
#include "core/outpath.h"
#include "core/tmpfile.h"
#include "core/strmap.h"
#include "models/albef.h"
#include "models/preprocess.h"
#include "pipeline/corpus.h"
#include "pipeline/itc.h"
#include "text/wordpiece.h"

#define DELIM "[SEP]"

/* ---- strings ---------------------------------------------------------------------------------- */

xrem_status xrem_str_split(const char *s, const char *delim, char ***pieces, int64_t *n)
{
    const size_t dl = strlen(delim);
    int64_t count = 1;
    for (const char *p = s; (p = strstr(p, delim)); p += dl) count++;
    char **out = calloc((size_t)count, sizeof *out);
    if (!out) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    const char *start = s;
    for (int64_t i = 0; i < count; i++) {
        const char *e = i + 1 < count ? strstr(start, delim) : start + strlen(start);
        if (!(out[i] = strndup(start, (size_t)(e - start)))) {
            xrem_strings_free(out, count);
            return xrem_fail(XREM_ERR_NOMEM, "out of memory");
        }
        start = e + dl;
    }
    *pieces = out;
    *n = count;
    return XREM_OK;
}

/* concat(texts[order[k]] + delim for k < K) */
static char *join_with(char *const *texts, const int32_t *order, int K, const char *delim)
{
    size_t len = 1, dl = strlen(delim);
    for (int k = 0; k < K; k++) len += strlen(texts[order ? order[k] : k]) + dl;
    char *r = malloc(len), *p = r;
    if (!r) return NULL;
    for (int k = 0; k < K; k++) {
        const char *t = texts[order ? order[k] : k];
        size_t tl = strlen(t);
        memcpy(p, t, tl);
        memcpy(p + tl, delim, dl);
        p += tl + dl;
    }
    *p = 0;
    return r;
}

/* One image's stage-3 loop: the report so far (room for every piece), the piece judged next. */
typedef struct {
    char *report;
    size_t len;
    int64_t next;
    int added;
} filter_loop;

/* One lock-step step: the decisions for k pairs. A failed batch is redone pair by pair, so the error
 * (*bad: the pair) names the image whose pair failed. */
static xrem_status filter_judge_step(const xrem_filter *f, const char **prem, const char **hyp, int k, int *accept,
                                     int *bad)
{
    *bad = -1;
    if (f->judge_batch && !f->judge_batch(f->ctx, prem, hyp, k, accept)) return XREM_OK;
    for (int j = 0; j < k; j++) {
        xrem_status s = f->judge(f->ctx, prem[j], hyp[j], &accept[j]);
        if (s) {
            *bad = j;
            return s;
        }
    }
    return XREM_OK;
}

static xrem_status filter_loops_init(filter_loop *st, char *const *const *pieces, const int64_t *n, int m)
{
    for (int j = 0; j < m; j++) {
        size_t cap = 1;
        for (int64_t i = 0; i < n[j]; i++) cap += strlen(pieces[j][i]) + 1;
        if (!(st[j].report = malloc(cap))) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
        st[j].len = strlen(pieces[j][0]);
        memcpy(st[j].report, pieces[j][0], st[j].len + 1);
        st[j].next = 1;
        st[j].added = 1;
    }
    return XREM_OK;
}

/* Image j's decision on its piece l->next: append ' ' + piece when accepted; the loop ends once k3
 * texts are in, checked after every test as the reference does. */
static void filter_loop_advance(filter_loop *l, const char *piece, int accept, int64_t n, int k3)
{
    if (accept) {
        const size_t pl = strlen(piece);
        l->report[l->len] = ' ';
        memcpy(l->report + l->len + 1, piece, pl + 1);
        l->len += pl + 1;
        l->added++;
    }
    l->next = l->added >= k3 ? n : l->next + 1;
}

xrem_status xrem_filter_apply_many(const xrem_filter *f, char *const *const *pieces, const int64_t *n, int m, int k3,
                                   char **out, int *failed)
{
    if (failed) *failed = -1;
    if (m <= 0) return XREM_OK;
    filter_loop *st = calloc((size_t)m, sizeof *st);
    const char **prem = malloc(sizeof *prem * (size_t)m), **hyp = malloc(sizeof *hyp * (size_t)m);
    int *who = malloc(sizeof *who * (size_t)m), *accept = malloc(sizeof *accept * (size_t)m);
    xrem_status s = st && prem && hyp && who && accept ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = filter_loops_init(st, pieces, n, m);
    while (!s) {
        int k = 0, bad = -1;
        for (int j = 0; j < m; j++)
            if (st[j].next < n[j]) {
                who[k] = j;
                prem[k] = st[j].report;
                hyp[k++] = pieces[j][st[j].next];
            }
        if (!k) break;
        s = filter_judge_step(f, prem, hyp, k, accept, &bad);
        if (s && failed && bad >= 0) *failed = who[bad];
        for (int q = 0; !s && q < k; q++)
            filter_loop_advance(&st[who[q]], hyp[q], accept[q], n[who[q]], k3);
    }
    for (int j = 0; j < m; j++) {
        out[j] = s || !st ? NULL : st[j].report;
        if (s && st) free(st[j].report);
    }
    free(st);
    free(prem);
    free(hyp);
    free(who);
    free(accept);
    return s;
}

xrem_status xrem_filter_apply(const xrem_filter *f, char *const *pieces, int64_t n, int k3, char **out)
{
    return xrem_filter_apply_many(f, &pieces, &n, 1, k3, out, NULL);
}

/* ---- the images and their ids ---------------------------------------------------------------- */

typedef struct {
    xrem_h5 *f;
    int64_t N, H, W;
    char **dicom;     /* [N] */
    int64_t *study;   /* [N] */
    int64_t *sel;     /* rows to run, in file order */
    int64_t nsel;
} run_images;

static void images_release(run_images *im)
{
    xrem_h5_close(im->f);
    xrem_strings_free(im->dicom, im->N);
    free(im->study);
    free(im->sel);
    memset(im, 0, sizeof *im);
}

static xrem_status images_ids_from_csv(run_images *im, const char *path)
{
    xrem_csv *c = NULL;
    int cd, cs;
    xrem_status s = xrem_csv_read(path, &c);
    if (!s) s = xrem_csv_column(c, "dicom_id", &cd);
    if (!s) s = xrem_csv_column(c, "study_id", &cs);
    if (!s && xrem_csv_nrows(c) != im->N)
        s = xrem_fail(XREM_ERR_SHAPE, "%s has %lld rows but the images file has %lld images (rows must match, in order)",
                      path, (long long)xrem_csv_nrows(c), (long long)im->N);
    for (int64_t r = 0; !s && r < im->N; r++) {
        char *end;
        const char *v = xrem_csv_get(c, r, cs, NULL);
        errno = 0;
        im->study[r] = strtoll(v, &end, 10);
        if (!*v || *end || errno || im->study[r] < 0)
            s = xrem_fail(XREM_ERR_VALUE, "%s row %lld field study_id: '%s' is not a non-negative integer", path,
                          (long long)r + 1, v);
        if (!s && !(im->dicom[r] = strdup(xrem_csv_get(c, r, cd, NULL)))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    xrem_csv_free(c);
    return s;
}

static xrem_status images_ids(run_images *im, const char *reports)
{
    if (!(im->dicom = calloc((size_t)im->N, sizeof *im->dicom)) || !(im->study = calloc((size_t)im->N, sizeof *im->study)))
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (reports) return images_ids_from_csv(im, reports);
    const int has_d = xrem_h5_exists(im->f, "dicom_id"), has_s = xrem_h5_exists(im->f, "study_id");
    /* half the ids is a broken file, not an id-less one: row numbers would silently mislabel it */
    if (has_d != has_s)
        return xrem_fail(XREM_ERR_FORMAT,
                         "%s: has dataset '%s' but no dataset '%s' (image ids need both, or neither for row "
                         "numbers); add it or pass --reports with both columns",
                         xrem_h5_path(im->f), has_d ? "dicom_id" : "study_id", has_d ? "study_id" : "dicom_id");
    if (has_d) {
        char **d = NULL;
        int64_t nd = 0, ne[XREM_MAX_DIMS];
        int64_t *st = NULL;
        xrem_status s = xrem_h5_read_strings(im->f, "dicom_id", &d, &nd);
        if (!s && nd != im->N) s = xrem_fail(XREM_ERR_SHAPE, "%s: dicom_id has %lld entries for %lld images",
                                             xrem_h5_path(im->f), (long long)nd, (long long)im->N);
        if (!s) s = xrem_h5_read_i64(im->f, "study_id", 1, (int64_t[]){im->N}, &st, ne);
        for (int64_t i = 0; !s && i < im->N; i++) {
            im->dicom[i] = d[i];
            d[i] = NULL;
            im->study[i] = st[i];
        }
        xrem_strings_free(d, nd);
        free(st);
        return s;
    }
    /* no ids anywhere: the image's row stands in for both */
    for (int64_t i = 0; i < im->N; i++) {
        char b[32];
        snprintf(b, sizeof b, "%lld", (long long)i);
        if (!(im->dicom[i] = strdup(b))) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
        im->study[i] = i;
    }
    return XREM_OK;
}

static xrem_status images_select(run_images *im, const char *ids)
{
    if (!(im->sel = malloc(sizeof(int64_t) * (size_t)im->N))) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!ids) {
        for (int64_t i = 0; i < im->N; i++) im->sel[i] = i;
        im->nsel = im->N;
        return XREM_OK;
    }
    xrem_csv *c = NULL;
    xrem_strmap *want = NULL;
    int col;
    xrem_status s = xrem_csv_read(ids, &c);
    if (!s) s = xrem_csv_column(c, "dicom_id", &col);
    if (!s) s = xrem_strmap_create(xrem_csv_nrows(c), &want);
    for (int64_t r = 0; !s && r < xrem_csv_nrows(c); r++) {
        int fresh;
        s = xrem_strmap_insert(want, xrem_csv_get(c, r, col, NULL), r, &fresh, NULL);
    }
    xrem_strmap *have = NULL;
    if (!s) s = xrem_strmap_create(im->N, &have);
    for (int64_t i = 0; !s && i < im->N; i++) {
        int fresh;
        s = xrem_strmap_insert(have, im->dicom[i], i, &fresh, NULL);
        if (!s && xrem_strmap_get(want, im->dicom[i]) >= 0) im->sel[im->nsel++] = i;
    }
    for (int64_t r = 0; !s && r < xrem_csv_nrows(c); r++)
        if (xrem_strmap_get(have, xrem_csv_get(c, r, col, NULL)) < 0)
            s = xrem_fail(XREM_ERR_VALUE, "%s row %lld: dicom_id '%s' is not in the images file %s", ids,
                          (long long)r + 1, xrem_csv_get(c, r, col, NULL), xrem_h5_path(im->f));
    xrem_strmap_free(want);
    xrem_strmap_free(have);
    xrem_csv_free(c);
    return s;
}

/* 'cxr' is N×H×W, N >= 1 and H, W >= 16 (one ViT patch: anything smaller is no radiograph; the
 * models see the images resized to --res-retrieval / --res-itm, so H and W need not be multiples). */
static xrem_status images_check_shape(const char *path, int nd, const int64_t *ne)
{
    if (nd != 3) return xrem_fail(XREM_ERR_SHAPE, "%s: dataset 'cxr' must be N×H×W images (got rank %d)", path, nd);
    if (ne[0] < 1)
        return xrem_fail(XREM_ERR_SHAPE, "%s: dataset 'cxr' has 0 images (shape [0,%lld,%lld]); expected N×H×W, N >= 1",
                         path, (long long)ne[1], (long long)ne[2]);
    for (int d = 1; d < 3; d++)
        if (ne[d] < 16)
            return xrem_fail(XREM_ERR_SHAPE,
                             "%s: dataset 'cxr' has images of %s %lld < 16 (shape [%lld,%lld,%lld]); expected N×H×W "
                             "images with H and W >= 16",
                             path, d == 1 ? "height" : "width", (long long)ne[d], (long long)ne[0], (long long)ne[1],
                             (long long)ne[2]);
    return XREM_OK;
}

static xrem_status images_open(run_images *im, const xrem_run_config *cfg)
{
    memset(im, 0, sizeof *im);
    int nd;
    int64_t ne[XREM_MAX_DIMS];
    xrem_dtype dt = XREM_F32;
    xrem_status s = xrem_h5_open(cfg->images, &im->f);
    if (!s) s = xrem_h5_info(im->f, "cxr", &nd, ne, &dt);
    if (!s && dt == XREM_I32)
        s = xrem_fail(XREM_ERR_DTYPE, "%s: dataset 'cxr' holds integers; expected float32 pixels in 0..255 (CXR-RePaiR "
                                      "layout, as xrem prep writes it)",
                      cfg->images);
    if (!s) s = images_check_shape(cfg->images, nd, ne);
    if (!s) {
        im->N = ne[0];
        im->H = ne[1];
        im->W = ne[2];
        s = images_ids(im, cfg->reports);
    }
    if (!s) s = images_select(im, cfg->ids);
    if (!s && im->nsel == 0) s = xrem_fail(XREM_ERR_VALUE, "no images selected from %s", cfg->images);
    return s;
}

/* ---- one chunk of images ---------------------------------------------------------------------- */

typedef struct {
    const xrem_run_config *cfg;
    xrem_backend *be;
    run_images im;
    xrem_corpus corpus;
    xrem_albef *ret, *itm;
    xrem_itc *itc;
    xrem_vocab *itm_vocab;
    int C;                 /* candidates per image, at most: K1 (+1 empty) + the corpus' extra pieces */
    int64_t split_reports; /* corpus reports holding the delimiter (ITM runs) */
    int64_t *nsep;         /* [corpus n] delimiters in each report (ITM runs) */
    int max_len;   /* ITM text cap */
    char *config;  /* everything that changes a number, for resume checks */
} run_ctx;

typedef struct {
    int n;
    int32_t *rows;       /* [n] image rows */
    int32_t *itc_idx;    /* [n, K1] corpus indices, best first */
    float *itc_score;    /* [n, K1] */
    float *itm_score;    /* [n, C] (ITM logit 2 per candidate position) */
    int32_t *stage2;     /* [n, K2] candidate positions, best first */
    char **impression;   /* [n] "Report Impression" */
    char **filtered;     /* [n] final report */
} run_chunk;

static void chunk_release(run_chunk *c)
{
    free(c->rows);
    free(c->itc_idx);
    free(c->itc_score);
    free(c->itm_score);
    free(c->stage2);
    xrem_strings_free(c->impression, c->n);
    xrem_strings_free(c->filtered, c->n);
    memset(c, 0, sizeof *c);
}

static xrem_status chunk_alloc(run_chunk *c, int n, const xrem_run_config *cfg, int C)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->rows = calloc((size_t)n, sizeof *c->rows);
    c->itc_idx = calloc((size_t)n * cfg->k1, sizeof *c->itc_idx);
    c->itc_score = calloc((size_t)n * cfg->k1, sizeof *c->itc_score);
    c->itm_score = calloc((size_t)n * C, sizeof *c->itm_score);
    c->stage2 = calloc((size_t)n * cfg->k2, sizeof *c->stage2);
    c->impression = calloc((size_t)n, sizeof *c->impression);
    c->filtered = calloc((size_t)n, sizeof *c->filtered);
    if (!c->rows || !c->itc_idx || !c->itc_score || !c->itm_score || !c->stage2 || !c->impression || !c->filtered)
        return xrem_fail(XREM_ERR_NOMEM, "out of memory for a chunk of %d images", n);
    return XREM_OK;
}

/* raw rows -> preprocessed single-channel images at R */
static xrem_status chunk_images(run_ctx *x, const run_chunk *c, int R, float *raw, float *out)
{
    const int64_t HW = x->im.H * x->im.W;
    for (int i = 0; i < c->n; i++) {
        xrem_status s = xrem_h5_read_f32_rows(x->im.f, "cxr", c->rows[i], 1, raw + i * HW);
        if (s) return s;
    }
    /* one image at a time so a bad pixel is reported with its row in the file */
    const size_t RR = (size_t)R * R;
    for (int i = 0; i < c->n; i++) {
        xrem_status s = xrem_image_preprocess_gray(raw + i * HW, 1, (int)x->im.H, (int)x->im.W, R, out + i * RR);
        if (s) return xrem_fail_context(s, "%s: dataset 'cxr' row %d", x->cfg->images, c->rows[i]);
    }
    return XREM_OK;
}

static xrem_status chunk_stage1(run_ctx *x, run_chunk *c, float *raw)
{
    const int R = xrem_albef_vit(x->ret)->cfg.res, E = xrem_albef_embed_dim(x->ret);
    float *img = malloc(sizeof(float) * (size_t)c->n * R * R), *feat = malloc(sizeof(float) * (size_t)c->n * E);
    xrem_status s = img && feat ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = chunk_images(x, c, R, raw, img);
    if (!s) s = xrem_albef_encode_images(x->ret, img, c->n, 1, NULL, feat, NULL, NULL);
    if (!s) s = xrem_itc_topk(x->itc, feat, c->n, x->cfg->k1, c->itc_idx, c->itc_score);
    free(img);
    free(feat);
    return s;
}

/* Stage 2's candidates of image i, as XREM.forward makes them: stage 1's K1 reports joined, each
 * followed by "[SEP]", then split on "[SEP]" (Python str.split: no strip, empty pieces kept). A
 * report holding the delimiter gives one candidate per piece; the trailing delimiter gives the
 * empty last one, dropped with --drop-empty-candidate. On failure *cand is NULL. */
static xrem_status chunk_candidates(run_ctx *x, const run_chunk *c, int i, char ***cand, int64_t *n)
{
    *cand = NULL;
    *n = 0;
    char *s1 = join_with(x->corpus.text, c->itc_idx + (int64_t)i * x->cfg->k1, x->cfg->k1, DELIM);
    if (!s1) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    char **p = NULL;
    int64_t np = 0;
    xrem_status s = xrem_str_split(s1, DELIM, &p, &np);
    free(s1);
    if (s) return s;
    if (x->cfg->drop_empty) { /* the last piece is the one after the trailing delimiter: always "" */
        free(p[np - 1]);
        p[--np] = NULL;
    }
    if (np > x->C) { /* cannot happen: x->C bounds every image's count (run_candidates_bound) */
        xrem_strings_free(p, np);
        return xrem_fail(XREM_ERR_VALUE, "image row %d: %lld candidates, more than the bound %d", c->rows[i],
                         (long long)np, x->C);
    }
    *cand = p;
    *n = np;
    return XREM_OK;
}

/* Distinct candidate texts of the chunk (a report retrieved for several images is encoded once). */
typedef struct {
    xrem_strmap *map;
    char **text;   /* [m] borrowed from the candidate lists */
    int m;
    int32_t *of;   /* [n*C] text index per (image, candidate) */
} distinct_texts;

/* ITM over every image's candidates. Images may have different counts (a report holding the
 * delimiter adds pieces): the model call uses the chunk's largest count K, a shorter list padded
 * with its own first text, and the padded positions' scores are stored as NaN. */
static xrem_status chunk_stage2(run_ctx *x, run_chunk *c, float *raw)
{
    const int C = x->C, R = xrem_albef_vit(x->itm)->cfg.res;
    char ***cand = calloc((size_t)c->n, sizeof *cand);
    int64_t *ncand = calloc((size_t)c->n, sizeof *ncand);
    distinct_texts d = {0};
    d.text = calloc((size_t)c->n * C, sizeof *d.text);
    d.of = calloc((size_t)c->n * C, sizeof *d.of);
    float *img = malloc(sizeof(float) * (size_t)c->n * R * R), *logits = malloc(sizeof(float) * (size_t)c->n * C * 3);
    xrem_text_batch tb = {0};
    xrem_status s = cand && ncand && d.text && d.of && img && logits ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = xrem_strmap_create((int64_t)c->n * C, &d.map);
    int K = 1;
    for (int i = 0; !s && i < c->n; i++) {
        s = chunk_candidates(x, c, i, &cand[i], &ncand[i]);
        if (!s && ncand[i] > K) K = (int)ncand[i];
    }
    for (int i = 0; !s && i < c->n; i++)
        for (int k = 0; !s && k < ncand[i]; k++) {
            int fresh;
            int64_t id;
            s = xrem_strmap_insert(d.map, cand[i][k], d.m, &fresh, &id);
            if (!s && fresh) d.text[d.m++] = cand[i][k];
            d.of[(int64_t)i * K + k] = (int32_t)id;
        }
    for (int i = 0; !s && i < c->n; i++)
        for (int k = (int)ncand[i]; k < K; k++)
            d.of[(int64_t)i * K + k] = d.of[(int64_t)i * K];
    if (!s) s = xrem_text_batch_encode(x->itm_vocab, (const char *const *)d.text, d.m, x->max_len, &tb);
    if (!s) s = chunk_images(x, c, R, raw, img);
    if (!s) s = xrem_albef_itm_sets(x->itm, img, c->n, 1, tb.ids, tb.mask, tb.B, tb.T, d.of, K, logits, NULL, NULL);
    for (int i = 0; !s && i < c->n; i++)
        for (int k = 0; k < C; k++)
            c->itm_score[(int64_t)i * C + k] = k < ncand[i] ? logits[((int64_t)i * K + k) * 3 + 2] : NAN;
    for (int i = 0; !s && i < c->n; i++) {
        int32_t *order = c->stage2 + (int64_t)i * x->cfg->k2;
        xrem_topk_desc(c->itm_score + (int64_t)i * C, ncand[i], x->cfg->k2, order);
        if (!(c->impression[i] = join_with(cand[i], order, x->cfg->k2, DELIM))) s = xrem_fail(XREM_ERR_NOMEM, "oom");
    }
    if (tb.ids) xrem_text_batch_free(&tb);
    for (int i = 0; cand && i < c->n; i++) xrem_strings_free(cand[i], ncand[i]);
    xrem_strmap_free(d.map);
    free(cand);
    free(ncand);
    free(d.text);
    free(d.of);
    free(img);
    free(logits);
    return s;
}

/* Stage 3 for the chunk's images in lock-step: one judge call per step over every image still in its
 * loop (the NLI model runs a batch instead of one pair), the same decisions as image by image. */
static xrem_status chunk_stage3(run_ctx *x, run_chunk *c)
{
    char ***p = calloc((size_t)c->n, sizeof *p);
    int64_t *np = calloc((size_t)c->n, sizeof *np);
    xrem_status s = p && np ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    int bad = -1;
    for (int i = 0; !s && i < c->n; i++)
        if ((s = xrem_str_split(c->impression[i], DELIM, &p[i], &np[i]))) bad = i;
    if (!s && x->cfg->filter)
        s = xrem_filter_apply_many(x->cfg->filter, (char *const *const *)p, np, c->n, x->cfg->k3, c->filtered, &bad);
    for (int i = 0; !s && !x->cfg->filter && i < c->n; i++)
        if (!(c->filtered[i] = strdup(p[i][0]))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int i = 0; p && i < c->n; i++) xrem_strings_free(p[i], np[i]);
    free(p);
    free(np);
    if (s && bad >= 0) return xrem_fail_context(s, "filter, image row %d", c->rows[bad]);
    if (s) return xrem_fail_context(s, "filter, image rows %d..%d", c->rows[0], c->rows[c->n - 1]);
    return XREM_OK;
}

/* ablation without ITM: the K1 cosine-best reports, each followed by a space */
static xrem_status chunk_no_itm(run_ctx *x, run_chunk *c)
{
    for (int i = 0; i < c->n; i++) {
        c->impression[i] = join_with(x->corpus.text, c->itc_idx + (int64_t)i * x->cfg->k1, x->cfg->k1, " ");
        c->filtered[i] = c->impression[i] ? strdup(c->impression[i]) : NULL;
        if (!c->filtered[i]) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    return XREM_OK;
}

static xrem_status chunk_compute(run_ctx *x, run_chunk *c)
{
    float *raw = malloc(sizeof(float) * (size_t)c->n * x->im.H * x->im.W);
    xrem_status s = raw ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s) s = chunk_stage1(x, c, raw);
    if (!s && x->cfg->use_itm) s = chunk_stage2(x, c, raw);
    if (!s && x->cfg->use_itm) s = chunk_stage3(x, c);
    if (!s && !x->cfg->use_itm) s = chunk_no_itm(x, c);
    free(raw);
    return s;
}

/* ---- chunk files ------------------------------------------------------------------------------ */

static void chunk_path(const run_ctx *x, int64_t k, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/chunks/chunk_%06lld.h5", x->cfg->out, (long long)k);
}

static xrem_status chunk_write(const run_ctx *x, const run_chunk *c, const char *path)
{
    const xrem_run_config *cfg = x->cfg;
    xrem_h5 *f = NULL;
    xrem_status s = xrem_h5_create(path, &f);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "config", x->config);
    if (!s) s = xrem_h5_write_i32(f, "rows", 1, (int64_t[]){c->n}, c->rows);
    if (!s) s = xrem_h5_write_i32(f, "itc_idx", 2, (int64_t[]){c->n, cfg->k1}, c->itc_idx);
    if (!s) s = xrem_h5_write_f32(f, "itc_score", 2, (int64_t[]){c->n, cfg->k1}, c->itc_score);
    if (!s) s = xrem_h5_write_f32(f, "itm_score", 2, (int64_t[]){c->n, x->C}, c->itm_score);
    if (!s) s = xrem_h5_write_i32(f, "stage2", 2, (int64_t[]){c->n, cfg->k2}, c->stage2);
    if (!s) s = xrem_h5_write_strings(f, "impression", (const char *const *)c->impression, c->n);
    if (!s) s = xrem_h5_write_strings(f, "filtered", (const char *const *)c->filtered, c->n);
    if (s) {
        xrem_h5_close(f);
        return s;
    }
    return xrem_h5_commit(f);
}

/* 1 = loaded (same configuration), 0 = absent or made by another configuration */
static int chunk_read(const run_ctx *x, run_chunk *c, const char *path)
{
    xrem_h5 *f = NULL;
    if (access(path, R_OK) != 0 || xrem_h5_open(path, &f)) return 0;
    char *conf = NULL, **imp = NULL, **fil = NULL;
    int64_t ne[XREM_MAX_DIMS], ni = 0, nf = 0;
    int32_t *rows = NULL, *idx = NULL, *st2 = NULL;
    float *sc = NULL, *itm = NULL;
    const xrem_run_config *cfg = x->cfg;
    int ok = !xrem_h5_attr_str(f, "/", "config", &conf) && !strcmp(conf, x->config) &&
             !xrem_h5_read_i32(f, "rows", 1, (int64_t[]){c->n}, &rows, ne) &&
             !memcmp(rows, c->rows, sizeof(int32_t) * (size_t)c->n) &&
             !xrem_h5_read_i32(f, "itc_idx", 2, (int64_t[]){c->n, cfg->k1}, &idx, ne) &&
             !xrem_h5_read_f32(f, "itc_score", 2, (int64_t[]){c->n, cfg->k1}, &sc, ne) &&
             !xrem_h5_read_f32(f, "itm_score", 2, (int64_t[]){c->n, x->C}, &itm, ne) &&
             !xrem_h5_read_i32(f, "stage2", 2, (int64_t[]){c->n, cfg->k2}, &st2, ne) &&
             !xrem_h5_read_strings(f, "impression", &imp, &ni) && ni == c->n &&
             !xrem_h5_read_strings(f, "filtered", &fil, &nf) && nf == c->n;
    if (ok) {
        memcpy(c->itc_idx, idx, sizeof(int32_t) * (size_t)c->n * cfg->k1);
        memcpy(c->itc_score, sc, sizeof(float) * (size_t)c->n * cfg->k1);
        memcpy(c->itm_score, itm, sizeof(float) * (size_t)c->n * x->C);
        memcpy(c->stage2, st2, sizeof(int32_t) * (size_t)c->n * cfg->k2);
        for (int i = 0; i < c->n; i++) {
            c->impression[i] = imp[i];
            c->filtered[i] = fil[i];
            imp[i] = fil[i] = NULL;
        }
    }
    xrem_strings_free(imp, ni);
    xrem_strings_free(fil, nf);
    free(conf);
    free(rows);
    free(idx);
    free(sc);
    free(itm);
    free(st2);
    xrem_h5_close(f);
    return ok;
}

/* ---- outputs ---------------------------------------------------------------------------------- */

/* reports.csv (pred 0) or pred.csv (pred 1) as a closed temporary, committed with the others */
static xrem_status write_csv_tmp(xrem_tmpfile *t, const char *path, const run_ctx *x, const run_chunk *all, int pred)
{
    xrem_status s = xrem_tmpfile_open(t, path);
    if (s) return s;
    xrem_csv_writer w;
    xrem_csv_writer_init(&w, t->f);
    const char *head_pred[] = {"study_id", "report"}, *head_rep[] = {"dicom_id", "study_id", "Report Impression", "filtered"};
    for (int i = 0; i < (pred ? 2 : 4); i++) xrem_csv_put(&w, pred ? head_pred[i] : head_rep[i], (size_t)-1);
    xrem_csv_end_row(&w);
    for (int i = 0; i < all->n; i++) {
        const int64_t r = all->rows[i];
        if (!pred) xrem_csv_put(&w, x->im.dicom[r], (size_t)-1);
        xrem_csv_put_i64(&w, x->im.study[r]);
        if (!pred) xrem_csv_put(&w, all->impression[i], (size_t)-1);
        xrem_csv_put(&w, all->filtered[i], (size_t)-1);
        xrem_csv_end_row(&w);
    }
    return xrem_tmpfile_close(t);
}

/* rank[i, p]: the stage-1 rank of the retrieved report candidate p of image i is a piece of, K1
 * for the empty last piece, -1 past the image's candidates (so a sweep can re-derive a smaller K1:
 * its candidates are those of rank < K1' followed by the empty one). */
static int32_t *run_candidate_rank(const run_ctx *x, const run_chunk *a)
{
    const int K1 = x->cfg->k1, C = x->C;
    int32_t *rank = malloc(sizeof(int32_t) * (size_t)a->n * C);
    for (int64_t i = 0; rank && i < a->n; i++) {
        int32_t *r = rank + i * C;
        int p = 0;
        for (int k = 0; k < K1; k++)
            for (int64_t q = 0; q <= (x->nsep ? x->nsep[a->itc_idx[i * K1 + k]] : 0) && p < C; q++)
                r[p++] = k;
        if (!x->cfg->drop_empty && p < C) r[p++] = K1;
        while (p < C)
            r[p++] = -1;
    }
    return rank;
}

static xrem_status write_run_h5(const run_ctx *x, const run_chunk *a, const char *path)
{
    const xrem_run_config *cfg = x->cfg;
    xrem_h5 *f = NULL;
    const char **dic = malloc(sizeof(char *) * (size_t)a->n);
    int64_t *study = malloc(sizeof(int64_t) * (size_t)a->n);
    int32_t *rank = run_candidate_rank(x, a);
    xrem_status s = dic && study && rank ? xrem_h5_create(path, &f) : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < a->n; i++) {
        dic[i] = x->im.dicom[a->rows[i]];
        study[i] = x->im.study[a->rows[i]];
    }
    if (!s) s = xrem_h5_set_attr_str(f, "/", "xrem_format", "run");
    if (!s) s = xrem_h5_set_attr_str(f, "/", "config", x->config);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "k1", cfg->k1);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "k2", cfg->k2);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "k3", cfg->k3);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "candidates", x->C);
    if (!s) s = xrem_h5_set_attr_i64(f, "/", "split_reports", x->split_reports);
    if (!s) s = xrem_h5_set_attr_str(f, "/", "corpus", cfg->corpus);
    if (!s) s = xrem_h5_write_i32(f, "image_row", 1, (int64_t[]){a->n}, a->rows);
    if (!s) s = xrem_h5_write_strings(f, "dicom_id", dic, a->n);
    if (!s) s = xrem_h5_write_i64(f, "study_id", 1, (int64_t[]){a->n}, study);
    if (!s) s = xrem_h5_write_i32(f, "itc_idx", 2, (int64_t[]){a->n, cfg->k1}, a->itc_idx);
    if (!s) s = xrem_h5_write_f32(f, "itc_score", 2, (int64_t[]){a->n, cfg->k1}, a->itc_score);
    if (!s) s = xrem_h5_write_f32(f, "itm_score", 2, (int64_t[]){a->n, x->C}, a->itm_score);
    if (!s) s = xrem_h5_write_i32(f, "candidate_rank", 2, (int64_t[]){a->n, x->C}, rank);
    if (!s) s = xrem_h5_write_i32(f, "stage2_pos", 2, (int64_t[]){a->n, cfg->k2}, a->stage2);
    if (!s) s = xrem_h5_write_strings(f, "report_impression", (const char *const *)a->impression, a->n);
    if (!s) s = xrem_h5_write_strings(f, "filtered", (const char *const *)a->filtered, a->n);
    free(dic);
    free(study);
    free(rank);
    if (s) {
        xrem_h5_close(f);
        return s;
    }
    return xrem_h5_commit(f);
}

/* The three outputs, as nearly together as a file system allows: both CSVs are written and closed
 * under temporary names first (where a full disk would stop them), then run.h5 is written and
 * renamed, and only then the CSVs are renamed; a failure before that leaves no new output. */
static xrem_status run_write_outputs(const run_ctx *x, const run_chunk *all)
{
    const char *out = x->cfg->out;
    char path[4200];
    xrem_tmpfile t[2];
    memset(t, 0, sizeof t);
    snprintf(path, sizeof path, "%s/reports.csv", out);
    xrem_status s = write_csv_tmp(&t[0], path, x, all, 0);
    snprintf(path, sizeof path, "%s/pred.csv", out);
    if (!s) s = write_csv_tmp(&t[1], path, x, all, 1);
    snprintf(path, sizeof path, "%s/run.h5", out);
    if (!s) s = write_run_h5(x, all, path);
    for (int k = 0; k < 2 && !s; k++)
        s = xrem_tmpfile_commit(&t[k]);
    for (int k = 0; k < 2; k++)
        xrem_tmpfile_discard(&t[k]);
    return s;
}

/* ---- the run ---------------------------------------------------------------------------------- */

static xrem_status run_check_config(const xrem_run_config *c)
{
    if (c->k1 < 1 || c->k2 < 1 || c->k3 < 1)
        return xrem_fail(XREM_ERR_ARG, "K values must be >= 1 (K1 %d, K2 %d, K3 %d)", c->k1, c->k2, c->k3);
    const int C = c->k1 + (c->drop_empty ? 0 : 1);
    if (c->use_itm && c->k2 > C)
        return xrem_fail(XREM_ERR_ARG, "K2 = %d is larger than the %d ITM candidates (K1 = %d%s)", c->k2, C, c->k1,
                         c->drop_empty ? "" : " + the empty one");
    if (c->batch < 1) return xrem_fail(XREM_ERR_ARG, "--batch must be >= 1");
    return XREM_OK;
}

static int cmp_desc_i64(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Candidates per image, at most: each retrieved report gives 1 + (its delimiter count) pieces, plus
 * the empty last one unless dropped. So the bound is K1 + the K1 largest delimiter counts in the
 * corpus (+ 1); for a corpus without the delimiter it is the reference's K1 + 1 exactly. */
static xrem_status run_candidates_bound(run_ctx *x)
{
    const xrem_run_config *cfg = x->cfg;
    const size_t dl = strlen(DELIM);
    int64_t C = (int64_t)cfg->k1 + (cfg->drop_empty ? 0 : 1);
    x->C = (int)C;
    if (!cfg->use_itm) return XREM_OK; /* the cosine ablation joins with a space: no split */
    if (!(x->nsep = calloc((size_t)x->corpus.n, sizeof *x->nsep))) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t j = 0; j < x->corpus.n; j++) {
        for (const char *p = x->corpus.text[j]; (p = strstr(p, DELIM)); p += dl)
            x->nsep[j]++;
        x->split_reports += x->nsep[j] > 0;
    }
    if (!x->split_reports) return XREM_OK;
    int64_t *cnt = malloc(sizeof *cnt * (size_t)x->corpus.n);
    if (!cnt) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    memcpy(cnt, x->nsep, sizeof *cnt * (size_t)x->corpus.n);
    qsort(cnt, (size_t)x->corpus.n, sizeof *cnt, cmp_desc_i64);
    for (int64_t j = 0; j < cfg->k1 && C <= (1 << 24); j++)
        C += cnt[j];
    free(cnt);
    if (C > (1 << 24))
        return xrem_fail(XREM_ERR_VALUE,
                         "%s: the corpus reports hold so many \"" DELIM "\" delimiters that an image could have over "
                         "%d stage-2 candidates (the reference splits a report on each one); not supported",
                         cfg->corpus, 1 << 24);
    x->C = (int)C;
    return XREM_OK;
}

static xrem_status run_setup(run_ctx *x)
{
    const xrem_run_config *cfg = x->cfg;
    xrem_status s = images_open(&x->im, cfg);
    if (!s) s = xrem_albef_load(cfg->retrieval, x->be, cfg->res_retrieval ? cfg->res_retrieval : 256, &x->ret);
    if (!s && xrem_albef_kind_of(x->ret) != XREM_ALBEF_RETRIEVAL)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: --retrieval needs arch albef_retrieval", cfg->retrieval);
    if (!s) s = xrem_corpus_load(cfg->corpus, xrem_albef_sha256(x->ret), &x->corpus);
    if (!s && x->corpus.E != xrem_albef_embed_dim(x->ret))
        s = xrem_fail(XREM_ERR_SHAPE, "%s: features of size %d, the retrieval model makes %d", cfg->corpus, x->corpus.E,
                      xrem_albef_embed_dim(x->ret));
    if (!s && cfg->k1 > x->corpus.n)
        s = xrem_fail(XREM_ERR_ARG, "K1 = %d is larger than the corpus (%lld reports)", cfg->k1, (long long)x->corpus.n);
    if (!s) s = xrem_itc_create(x->be, x->corpus.feat, x->corpus.n, x->corpus.E, &x->itc);
    if (!s && cfg->use_itm) s = xrem_albef_load(cfg->itm, x->be, cfg->res_itm ? cfg->res_itm : 384, &x->itm);
    if (!s && cfg->use_itm && xrem_albef_kind_of(x->itm) != XREM_ALBEF_ITM)
        s = xrem_fail(XREM_ERR_FORMAT, "%s: --itm needs arch albef_itm", cfg->itm);
    int64_t nv = 0;
    char *const *v = x->itm ? xrem_albef_vocab(x->itm, &nv) : NULL;
    if (!s && cfg->use_itm && !v) s = xrem_fail(XREM_ERR_FORMAT, "%s: no tokenizer vocabulary", cfg->itm);
    if (!s && cfg->use_itm) s = xrem_vocab_from_strings((const char *const *)v, nv, &x->itm_vocab);
    if (!s && cfg->use_itm) {
        int cap = xrem_albef_bert(x->itm)->cfg.max_pos;
        x->max_len = cap < 512 ? cap : 512; /* the reference does not truncate; 512 is BERT's table */
    }
    if (!s) s = run_candidates_bound(x);
    /* the images file's size and mtime stand for its content in the resume key */
    struct stat st = {0};
    if (!s && stat(cfg->images, &st) != 0) s = xrem_fail(XREM_ERR_IO, "%s: cannot stat", cfg->images);
    char conf[2048];
    snprintf(conf, sizeof conf,
             "res=%d/%d k1=%d k2=%d k3=%d itm=%d drop_empty=%d filter=%s retrieval=%s itm_model=%s corpus_model=%s corpus_n=%lld "
             "corpus_reports=%s images=%s images_size=%lld images_mtime=%lld",
             x->ret ? xrem_albef_vit(x->ret)->cfg.res : 0, x->itm ? xrem_albef_vit(x->itm)->cfg.res : 0,
             cfg->k1, cfg->k2, cfg->k3, cfg->use_itm, cfg->drop_empty, cfg->filter ? cfg->filter->name : "none",
             x->ret ? xrem_albef_sha256(x->ret) : "", x->itm ? xrem_albef_sha256(x->itm) : "-",
             x->corpus.model_sha ? x->corpus.model_sha : "", (long long)x->corpus.n, x->corpus.reports_sha, cfg->images,
             (long long)st.st_size, (long long)st.st_mtime);
    if (!s && !(x->config = strdup(conf))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    return s;
}

static void run_release(run_ctx *x)
{
    images_release(&x->im);
    xrem_corpus_release(&x->corpus);
    xrem_itc_free(x->itc);
    xrem_albef_free(x->ret);
    xrem_albef_free(x->itm);
    xrem_vocab_free(x->itm_vocab);
    free(x->nsep);
    free(x->config);
}

/* copy chunk c into the run-wide arrays at image offset o */
static xrem_status run_gather(const run_ctx *x, run_chunk *all, run_chunk *c, int64_t o)
{
    const xrem_run_config *cfg = x->cfg;
    memcpy(all->rows + o, c->rows, sizeof(int32_t) * (size_t)c->n);
    memcpy(all->itc_idx + o * cfg->k1, c->itc_idx, sizeof(int32_t) * (size_t)c->n * cfg->k1);
    memcpy(all->itc_score + o * cfg->k1, c->itc_score, sizeof(float) * (size_t)c->n * cfg->k1);
    memcpy(all->itm_score + o * x->C, c->itm_score, sizeof(float) * (size_t)c->n * x->C);
    memcpy(all->stage2 + o * cfg->k2, c->stage2, sizeof(int32_t) * (size_t)c->n * cfg->k2);
    for (int i = 0; i < c->n; i++) {
        all->impression[o + i] = c->impression[i];
        all->filtered[o + i] = c->filtered[i];
        c->impression[i] = c->filtered[i] = NULL;
    }
    return XREM_OK;
}

/* 1 when name is "<something>.tmp.<pid>" for a pid that is no longer running (or is ours) */
static int stale_tmp(const char *name)
{
    const char *t = strstr(name, ".tmp.");
    while (t && strstr(t + 1, ".tmp."))
        t = strstr(t + 1, ".tmp.");
    if (!t || t == name || !t[5]) return 0;
    char *end;
    errno = 0;
    long pid = strtol(t + 5, &end, 10);
    if (*end || errno || pid <= 0) return 0;
    return pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

/* --resume: remove the temporaries an interrupted run (kill -9, SIGINT, a crash) left in --out and
 * --out/chunks. Only files of xrem's own "<output>.tmp.<pid>" form whose pid is dead; the lock is held,
 * so no other xrem writes here. */
static xrem_status run_remove_stale(const char *out)
{
    char dir[4200], p[4600];
    for (int d = 0; d < 2; d++) {
        snprintf(dir, sizeof dir, d ? "%s/chunks" : "%s", out);
        DIR *h = opendir(dir);
        if (!h) continue;
        for (struct dirent *e; (e = readdir(h));) {
            if (!stale_tmp(e->d_name)) continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (remove(p) != 0 && errno != ENOENT) {
                closedir(h);
                return xrem_fail(XREM_ERR_IO, "%s: cannot remove the stale temporary: %s", p, strerror(errno));
            }
        }
        closedir(h);
    }
    return XREM_OK;
}

static const char *const run_outputs[] = {"chunks/chunk_000000.h5", "run.h5", "reports.csv", "pred.csv", NULL};

/* Without --resume, --out must hold no run (chunks or finished outputs): a run is never mixed into
 * another's folder. */
static xrem_status run_check_no_run(const xrem_run_config *cfg)
{
    char p[4200];
    for (int i = 0; !cfg->resume && run_outputs[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", cfg->out, run_outputs[i]);
        if (access(p, F_OK) == 0)
            return xrem_fail(XREM_ERR_ARG,
                             "%s already holds a run (%s); pass --resume to continue it or choose another --out",
                             cfg->out, run_outputs[i]);
    }
    return XREM_OK;
}

static const char *or_empty(const char *p)
{
    return p ? p : "";
}

/* Everything about --out that can be known before the run makes it: a folder xrem can create or
 * write, holding no other run, none of whose outputs (the chunk files included, the lock too: its
 * holder writes its pid into it) is an input. Called after run_setup read and checked every input,
 * so a refused run creates nothing and leaves an existing --out as it was. */
static xrem_status run_check_out(const run_ctx *x)
{
    const xrem_run_config *cfg = x->cfg;
    const char *const in[] = {or_empty(cfg->images),
                              or_empty(cfg->corpus),
                              or_empty(cfg->retrieval),
                              or_empty(cfg->itm),
                              or_empty(cfg->reports),
                              or_empty(cfg->ids),
                              NULL};
    static const char *const fixed[] = {"run.h5", "reports.csv", "pred.csv", ".xrem.lock", NULL};
    xrem_status s = xrem_outdir_check(cfg->out);
    for (int i = 0; !s && fixed[i]; i++)
        s = xrem_out_not_input(cfg->out, fixed[i], in);
    for (int64_t k = 0; !s && k * cfg->batch < x->im.nsel; k++) {
        char name[64];
        snprintf(name, sizeof name, "chunks/chunk_%06lld.h5", (long long)k);
        s = xrem_out_not_input(cfg->out, name, in);
    }
    if (!s) s = run_check_no_run(cfg);
    return s;
}

/* Makes --out and locks it for the whole run (a second run into it is refused, naming the holder's
 * pid, so two runs never mix their outputs), then checks again, under the lock, that it holds no run
 * (run_check_out's look was before the lock). */
static xrem_status run_prepare_dir(const xrem_run_config *cfg, xrem_outlock **lock)
{
    char p[4200];
    if (mkdir(cfg->out, 0777) != 0 && errno != EEXIST) return xrem_fail(XREM_ERR_IO, "%s: cannot create", cfg->out);
    xrem_status s = xrem_outlock_acquire(cfg->out, lock);
    if (!s && cfg->resume) s = run_remove_stale(cfg->out);
    if (!s) s = run_check_no_run(cfg);
    if (s) return s;
    snprintf(p, sizeof p, "%s/chunks", cfg->out);
    if (mkdir(p, 0777) != 0 && errno != EEXIST) return xrem_fail(XREM_ERR_IO, "%s: cannot create", p);
    return XREM_OK;
}

/* The chunks this process computes (or, with --resume, reuses): chunk k belongs to rank k % size.
 * One process (size 1) keeps each chunk in memory as it goes (gather); under MPI (gather NULL) each
 * rank only writes its chunk files and rank 0 reads them all afterwards (run_read_chunks). */
static xrem_status run_own_chunks(run_ctx *x, run_chunk *gather)
{
    const xrem_run_config *cfg = x->cfg;
    const int rank = xrem_dist_rank(), size = xrem_dist_size();
    /* one progress line for the job: rank 0 reports its own share */
    const xrem_progress *progress = rank == 0 ? cfg->progress : NULL;
    int64_t mine = 0, done = 0, reused = 0;
    for (int64_t o = 0, k = 0; o < x->im.nsel; o += cfg->batch, k++)
        if (k % size == rank) mine += x->im.nsel - o < cfg->batch ? x->im.nsel - o : cfg->batch;
    /* in rounds of one chunk per rank, agreeing after each, so a rank's failure stops the others
     * after their current chunk */
    const int64_t nk = (x->im.nsel + cfg->batch - 1) / cfg->batch;
    xrem_status s = XREM_OK;
    for (int64_t round = 0; !s && round * size < nk; round++) {
        const int64_t k = round * size + rank, o = k * cfg->batch;
        if (k < nk) {
            const int n = (int)(x->im.nsel - o < cfg->batch ? x->im.nsel - o : cfg->batch);
            run_chunk c;
            char path[4200];
            chunk_path(x, k, path, sizeof path);
            s = chunk_alloc(&c, n, cfg, x->C);
            for (int i = 0; !s && i < n; i++) c.rows[i] = (int32_t)x->im.sel[o + i];
            if (!s && cfg->resume && chunk_read(x, &c, path)) reused++;
            else if (!s) {
                s = chunk_compute(x, &c);
                if (!s) s = chunk_write(x, &c, path);
            }
            if (!s && gather) s = run_gather(x, gather, &c, o);
            chunk_release(&c);
            done += n;
            char note[64];
            snprintf(note, sizeof note, " (%lld chunks reused)", (long long)reused);
            xrem_progress_report(progress, "images", done, mine, note);
        }
        s = xrem_dist_agree(s);
    }
    xrem_progress_end(progress);
    return s;
}

/* Rank 0, after every rank wrote its chunks: the whole run from the chunk files, in order. */
static xrem_status run_read_chunks(run_ctx *x, run_chunk *all)
{
    const xrem_run_config *cfg = x->cfg;
    xrem_status s = XREM_OK;
    for (int64_t o = 0, k = 0; !s && o < x->im.nsel; o += cfg->batch, k++) {
        const int n = (int)(x->im.nsel - o < cfg->batch ? x->im.nsel - o : cfg->batch);
        run_chunk c;
        char path[4200];
        chunk_path(x, k, path, sizeof path);
        s = chunk_alloc(&c, n, cfg, x->C);
        for (int i = 0; !s && i < n; i++) c.rows[i] = (int32_t)x->im.sel[o + i];
        if (!s && !chunk_read(x, &c, path))
            s = xrem_fail(XREM_ERR_FORMAT,
                          "%s: rank %lld reported this chunk written, but it is missing or not this run's "
                          "(another run into --out?)",
                          path, (long long)(k % xrem_dist_size()));
        if (!s) s = run_gather(x, all, &c, o);
        chunk_release(&c);
    }
    return s;
}

/* Under MPI (`mpirun -np N xrem run`) every rank reads the inputs and computes its chunks; rank 0
 * alone checks, creates and locks --out, and writes run.h5, reports.csv and pred.csv, the same bytes
 * as one process writes. Every step that can fail on one rank is followed by xrem_dist_agree, so a
 * failure anywhere stops every rank with the failing rank's message. */
xrem_status xrem_run(const xrem_run_config *cfg, xrem_backend *be)
{
    run_ctx x = {0};
    x.cfg = cfg;
    x.be = be;
    run_chunk all = {0};
    xrem_outlock *lock = NULL;
    const int root = xrem_dist_rank() == 0, many = xrem_dist_size() > 1;
    /* every input is read and checked before --out is touched */
    xrem_status s = run_check_config(cfg);
    if (!s) s = run_setup(&x);
    s = xrem_dist_agree(s);
    if (!s && root) s = run_check_out(&x);
    if (!s && root) s = run_prepare_dir(cfg, &lock);
    s = xrem_dist_agree(s);
    if (!s && root) s = chunk_alloc(&all, (int)x.im.nsel, cfg, x.C);
    if (!s) s = run_own_chunks(&x, many ? NULL : &all);
    s = xrem_dist_agree(s);
    if (!s && root && many) s = run_read_chunks(&x, &all);
    if (!s && root) s = run_write_outputs(&x, &all);
    s = xrem_dist_agree(s);
    chunk_release(&all);
    run_release(&x);
    xrem_outlock_release(lock);
    return s;
}
