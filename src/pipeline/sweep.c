#include "pipeline/sweep.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bleu.h"
#include "core/csv.h"
#include "core/tmpfile.h"
#include "core/h5.h"
#include "core/outpath.h"
#include "core/strmap.h"
#include "pipeline/corpus.h"
#include "pipeline/itc.h"
#include "reports.h"

#define DELIM "[SEP]"

typedef struct {
    int64_t N;
    int K1, C;                /* run's K1 and candidates per image (K1 or K1 + the empty one) */
    int scored_itm;           /* 1: the run scored with ITM (0: --no-itm, itm_score holds nothing) */
    int32_t *itc_idx;         /* [N, K1] */
    float *itm;               /* [N, C] */
    int64_t *study;           /* [N] (int64 in run.h5; older int32 files widen) */
    char reports_sha[65];     /* the run's corpus: sha256 over its reports (config's corpus_reports) */
    int64_t corpus_n;         /* and their number (config's corpus_n) */
    char *corpus_path;        /* where that corpus was found (run_find_corpus) */
    xrem_corpus corpus;
} sweep_run;

static void run_free(sweep_run *r)
{
    free(r->itc_idx);
    free(r->itm);
    free(r->study);
    free(r->corpus_path);
    xrem_corpus_release(&r->corpus);
}

/* The value of "key=value" in run.h5's 'config' attribute (the run's resume key, written by
 * run.c: space-separated, the paths last). 0 when absent or longer than cap. */
static int config_get(const char *config, const char *key, char *val, size_t cap)
{
    const size_t kl = strlen(key);
    for (const char *p = strstr(config, key); p; p = strstr(p + kl, key)) {
        if ((p != config && p[-1] != ' ') || p[kl] != '=') continue;
        const size_t n = strcspn(p + kl + 1, " ");
        if (n >= cap) return 0;
        memcpy(val, p + kl + 1, n);
        val[n] = 0;
        return 1;
    }
    return 0;
}

static xrem_status config_int(const char *path, const char *config, const char *key, int64_t lo, int64_t hi,
                              int64_t *out)
{
    char v[32], *end;
    if (!config_get(config, key, v, sizeof v))
        return xrem_fail(XREM_ERR_FORMAT, "%s: attribute 'config' has no %s= (not a run.h5 written by xrem run?)", path,
                         key);
    errno = 0;
    const long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi)
        return xrem_fail(XREM_ERR_VALUE, "%s: attribute 'config' has %s=%s, expected an integer in %lld..%lld", path,
                         key, v, (long long)lo, (long long)hi);
    *out = x;
    return XREM_OK;
}

/* A root attribute of run.h5 that must be an integer in lo..hi (why: what the range follows from). */
static xrem_status run_attr_int(xrem_h5 *f, const char *attr, int64_t lo, int64_t hi, const char *why, int64_t *v)
{
    xrem_status s = xrem_h5_attr_i64(f, "/", attr, v);
    if (!s && (*v < lo || *v > hi))
        s = xrem_fail(XREM_ERR_VALUE, "%s: attribute '%s' is %lld, expected %lld..%lld%s", xrem_h5_path(f), attr,
                      (long long)*v, (long long)lo, (long long)hi, why);
    return s;
}

/* The root attributes: format, K1, the candidates per image and how the run was made. */
static xrem_status run_read_attrs(xrem_h5 *f, sweep_run *r, char **corpus)
{
    const char *path = xrem_h5_path(f);
    char *fmt = NULL, *config = NULL;
    int64_t k1 = 0, ck1 = 0, cand = 0, itm = 0, drop = 0;
    xrem_status s = xrem_h5_attr_str(f, "/", "xrem_format", &fmt);
    if (!s && strcmp(fmt, "run"))
        s = xrem_fail(XREM_ERR_FORMAT, "%s: attribute 'xrem_format' is '%s', expected 'run'", path, fmt);
    if (!s) s = xrem_h5_attr_str(f, "/", "config", &config);
    if (!s) s = config_int(path, config, "itm", 0, 1, &itm);
    if (!s) s = config_int(path, config, "drop_empty", 0, 1, &drop);
    if (!s) s = config_int(path, config, "k1", 1, INT32_MAX - 1, &ck1);
    if (!s) s = config_int(path, config, "corpus_n", 1, INT64_MAX / 8, &r->corpus_n);
    if (!s && (!config_get(config, "corpus_reports", r->reports_sha, sizeof r->reports_sha) ||
               strlen(r->reports_sha) != 64 || strspn(r->reports_sha, "0123456789abcdef") != 64))
        s = xrem_fail(XREM_ERR_FORMAT, "%s: attribute 'config' has no corpus_reports=<sha256 of 64 hex digits>", path);
    if (!s) s = run_attr_int(f, "k1", 1, INT32_MAX - 1, "", &k1);
    if (!s && k1 != ck1)
        s = xrem_fail(XREM_ERR_VALUE, "%s: attribute 'k1' is %lld but 'config' has k1=%lld", path, (long long)k1,
                      (long long)ck1);
    const int64_t want = k1 + !drop;
    int64_t split = 0; /* reports holding "[SEP]" give an image more candidates than ranks */
    if (!s && xrem_h5_has_attr(f, "/", "split_reports") && !xrem_h5_attr_i64(f, "/", "split_reports", &split) &&
        split > 0)
        s = xrem_fail(XREM_ERR_UNSUPPORTED,
                      "%s: its corpus has %lld report(s) holding \"[SEP]\", which the reference splits into several "
                      "candidates; sweep cannot re-cut such a run yet: run `xrem run` once per setting",
                      path, (long long)split);
    if (!s) s = xrem_h5_attr_i64(f, "/", "candidates", &cand);
    if (!s && cand != want)
        s = xrem_fail(XREM_ERR_VALUE,
                      "%s: attribute 'candidates' is %lld, expected %lld (K1 = %lld%s, drop_empty=%d in "
                      "'config')",
                      path, (long long)cand, (long long)want, (long long)k1, drop ? "" : " + the empty candidate",
                      (int)drop);
    if (!s) s = xrem_h5_attr_str(f, "/", "corpus", corpus);
    if (!s && !**corpus)
        s = xrem_fail(XREM_ERR_VALUE, "%s: attribute 'corpus' is empty, expected a corpus.h5 path", path);
    r->K1 = (int)k1;
    r->C = (int)cand;
    r->scored_itm = (int)itm;
    free(fmt);
    free(config);
    return s;
}

/* The per-image datasets: shapes against the attributes, then every value's range. */
static xrem_status run_read_data(xrem_h5 *f, sweep_run *r)
{
    const char *path = xrem_h5_path(f);
    int64_t ne[XREM_MAX_DIMS];
    xrem_status s = xrem_h5_read_i32(f, "itc_idx", 2, (int64_t[]){-1, r->K1}, &r->itc_idx, ne);
    if (!s) r->N = ne[0];
    if (!s && r->N < 1)
        s = xrem_fail(XREM_ERR_SHAPE, "%s: dataset 'itc_idx' has no rows, expected one per image", path);
    if (!s) s = xrem_h5_read_f32(f, "itm_score", 2, (int64_t[]){r->N, r->C}, &r->itm, ne);
    if (!s) s = xrem_h5_read_i64(f, "study_id", 1, (int64_t[]){r->N}, &r->study, ne);
    for (int64_t i = 0; !s && i < r->N * r->C; i++)
        if (!isfinite(r->itm[i]))
            s = xrem_fail(XREM_ERR_VALUE,
                          "%s: dataset 'itm_score' image %lld candidate %lld is %g, expected a finite "
                          "score",
                          path, (long long)(i / r->C), (long long)(i % r->C), (double)r->itm[i]);
    for (int64_t i = 0; !s && i < r->N; i++)
        if (r->study[i] < 0)
            s = xrem_fail(XREM_ERR_VALUE, "%s: dataset 'study_id' image %lld is %lld, expected a non-negative id", path,
                          (long long)i, (long long)r->study[i]);
    return s;
}

/* Try dir/name (dir NULL: name alone), appending it to the paths tried: 1 when it is a file, with
 * *found its malloc'd path (NULL when out of memory). */
static int corpus_try(const char *dir, const char *name, char *tried, size_t cap, char **found)
{
    char p[8300];
    snprintf(p, sizeof p, "%s%s%s", dir ? dir : "", dir && dir[strlen(dir) - 1] != '/' ? "/" : "", name);
    const size_t used = strlen(tried);
    snprintf(tried + used, cap - used, "%s%s", used ? ", " : "", p);
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    *found = strdup(p);
    return 1;
}

/* The corpus that run.h5 names: its path as given to xrem run, so a relative one is relative to
 * the folder the run was started from, which sweep does not know. Try the run folder, the
 * working folder, then the run folder's parents (the usual `--out runs/a` puts the start folder
 * there); the first file found is used, and its reports' sha256 is checked against the run's. */
static xrem_status run_find_corpus(const char *h5path, const char *dir, const char *stored, char **found)
{
    char tried[16384] = "", cwd[4096] = "", real[4096];
    int hit = 0;
    if (stored[0] == '/') hit = corpus_try(NULL, stored, tried, sizeof tried, found);
    if (stored[0] != '/') hit = corpus_try(dir, stored, tried, sizeof tried, found);
    if (!hit && stored[0] != '/' && getcwd(cwd, sizeof cwd)) hit = corpus_try(cwd, stored, tried, sizeof tried, found);
    if (!hit && stored[0] != '/' && realpath(dir, real)) {
        for (char *slash = strrchr(real, '/'); !hit && slash; slash = slash == real ? NULL : strrchr(real, '/')) {
            slash[slash == real] = 0; /* the parent folder; the root keeps its slash */
            if (strcmp(real, cwd)) hit = corpus_try(real, stored, tried, sizeof tried, found);
        }
    }
    if (hit && !*found) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (hit) return XREM_OK;
    return xrem_fail(XREM_ERR_IO, "%s: its corpus '%s' (attribute 'corpus', as given to xrem run) is not at any of: %s",
                     h5path, stored, tried);
}

static xrem_status run_open(const char *dir, sweep_run *r)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/run.h5", dir);
    xrem_h5 *f = NULL;
    char *corpus = NULL;
    xrem_status s = xrem_h5_open(path, &f);
    if (!s) s = run_read_attrs(f, r, &corpus);
    if (!s) s = run_read_data(f, r);
    if (!s) s = run_find_corpus(path, dir, corpus, &r->corpus_path);
    if (!s) s = xrem_corpus_load(r->corpus_path, NULL, &r->corpus);
    if (!s && (strcmp(r->corpus.reports_sha, r->reports_sha) || r->corpus.n != r->corpus_n))
        s = xrem_fail(XREM_ERR_VALUE,
                      "%s was made from a corpus of %lld reports with sha256 %s, but %s now holds %lld reports with "
                      "sha256 %s (re-embedded from other reports?): sweep needs the run's own corpus",
                      path, (long long)r->corpus_n, r->reports_sha, r->corpus_path, (long long)r->corpus.n,
                      r->corpus.reports_sha);
    if (!s && r->K1 > r->corpus.n)
        s = xrem_fail(XREM_ERR_VALUE, "%s: attribute 'k1' is %d, more than the %lld reports of its corpus %s", path,
                      r->K1, (long long)r->corpus.n, r->corpus_path);
    for (int64_t i = 0; !s && i < r->N * r->K1; i++)
        if (r->itc_idx[i] < 0 || r->itc_idx[i] >= r->corpus.n)
            s = xrem_fail(XREM_ERR_VALUE,
                          "%s: dataset 'itc_idx' image %lld rank %lld is %d, outside the corpus %s "
                          "(0..%lld)",
                          path, (long long)(i / r->K1), (long long)(i % r->K1), r->itc_idx[i], r->corpus_path,
                          (long long)r->corpus.n - 1);
    free(corpus);
    xrem_h5_close(f);
    return s;
}

/* NLI decisions cached by (premise, hypothesis) across every setting */
typedef struct {
    const xrem_filter *inner;
    xrem_strmap *cache;
    int64_t hits, calls;
} cached_filter;

static xrem_status cached_judge(void *ctx, const char *premise, const char *hyp, int *accept)
{
    cached_filter *c = ctx;
    size_t lp = strlen(premise), lh = strlen(hyp);
    char *key = malloc(lp + lh + 2);
    if (!key) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    memcpy(key, premise, lp);
    key[lp] = '\x1f';
    memcpy(key + lp + 1, hyp, lh + 1);
    int64_t v = xrem_strmap_get(c->cache, key);
    xrem_status s = XREM_OK;
    if (v >= 0) {
        *accept = (int)v;
        c->hits++;
    } else {
        int fresh;
        s = c->inner->judge(c->inner->ctx, premise, hyp, accept);
        c->calls++;
        if (!s) s = xrem_strmap_insert(c->cache, key, *accept, &fresh, NULL);
    }
    free(key);
    return s;
}

/* join texts[order[k]] + delim, with candidate position p < k1 a corpus report and p == k1 the empty one */
static char *sweep_join(const sweep_run *r, int64_t i, const int32_t *order, int n, int k1, const char *delim)
{
    size_t len = 1, dl = strlen(delim);
    for (int k = 0; k < n; k++)
        len += (order[k] < k1 ? strlen(r->corpus.text[r->itc_idx[i * r->K1 + order[k]]]) : 0) + dl;
    char *out = malloc(len), *p = out;
    if (!out) return NULL;
    for (int k = 0; k < n; k++) {
        const char *t = order[k] < k1 ? r->corpus.text[r->itc_idx[i * r->K1 + order[k]]] : "";
        size_t tl = strlen(t);
        memcpy(p, t, tl);
        memcpy(p + tl, delim, dl);
        p += tl + dl;
    }
    *p = 0;
    return out;
}

/* One image under one setting: the final report (malloc'd). */
static xrem_status sweep_image(const sweep_run *r, int64_t i, const xrem_sweep_setting *st, const xrem_filter *f,
                               char **out)
{
    int32_t order[4097]; /* K2 <= 4096 + the empty candidate */
    if (!st->use_itm) {
        for (int k = 0; k < st->k1; k++) order[k] = k;
        *out = sweep_join(r, i, order, st->k1, st->k1, " ");
        return *out ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    /* the first k1 candidates, then the empty one (the run keeps its score last) */
    const int has_empty = r->C == r->K1 + 1, n = st->k1 + has_empty;
    float sc[4097];
    for (int k = 0; k < st->k1; k++) sc[k] = r->itm[i * r->C + k];
    if (has_empty) sc[st->k1] = r->itm[i * r->C + r->K1];
    xrem_topk_desc(sc, n, st->k2, order);
    char *imp = sweep_join(r, i, order, st->k2, st->k1, DELIM), **p = NULL;
    int64_t np = 0;
    xrem_status s = imp ? xrem_str_split(imp, DELIM, &p, &np) : xrem_fail(XREM_ERR_NOMEM, "out of memory");
    if (!s && st->filter) s = xrem_filter_apply(f, p, np, st->k3, out);
    else if (!s && !(*out = strdup(p[0]))) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    xrem_strings_free(p, np);
    free(imp);
    return s;
}

typedef struct {
    double bleu2;     /* mean over images with a ground truth */
    double words;     /* mean length in space-separated words */
    int64_t scored;
} sweep_metrics;

static xrem_status sweep_score(const sweep_run *r, char **pred, const xrem_reports *gt, xrem_bleu_ws *ws,
                               sweep_metrics *m)
{
    memset(m, 0, sizeof *m);
    for (int64_t i = 0; i < r->N; i++) {
        int64_t w = 0;
        for (const char *p = pred[i]; *p; p++) w += (*p != ' ' && (p == pred[i] || p[-1] == ' '));
        m->words += (double)w / (double)r->N;
        int64_t row = gt ? xrem_ids_find(gt->id, gt->by_id, gt->n, r->study[i]) : -1;
        if (row < 0) continue;
        double b = 0;
        xrem_status s = xrem_bleu2(ws, gt->text[row], gt->len[row], pred[i], strlen(pred[i]), &b);
        if (s) return s;
        m->bleu2 += b;
        m->scored++;
    }
    if (m->scored) m->bleu2 /= (double)m->scored;
    return XREM_OK;
}

static xrem_status sweep_write_pred(const char *dir, const xrem_sweep_setting *st, const sweep_run *r, char **pred)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/preds/%s.csv", dir, st->name);
    xrem_tmpfile t;
    xrem_status s = xrem_tmpfile_open(&t, path);
    if (s) return s;
    xrem_csv_writer w;
    xrem_csv_writer_init(&w, t.f);
    xrem_csv_put(&w, "study_id", (size_t)-1);
    xrem_csv_put(&w, "report", (size_t)-1);
    xrem_csv_end_row(&w);
    for (int64_t i = 0; i < r->N; i++) {
        xrem_csv_put_i64(&w, r->study[i]);
        xrem_csv_put(&w, pred[i], (size_t)-1);
        xrem_csv_end_row(&w);
    }
    return xrem_tmpfile_finish(&t, XREM_OK);
}

/* An explicit setting (a preset's) against the run: the K it asks for must be in the cached scores. */
static xrem_status sweep_check(const sweep_run *r, const char *run_dir, const xrem_sweep_setting *st)
{
    const int k1max = r->K1 < 4096 ? r->K1 : 4096, e = r->C == r->K1 + 1;
    if (st->k1 < 1 || st->k1 > k1max)
        return xrem_fail(XREM_ERR_ARG, "setting %s: K1 %d outside 1..%d (the run's K1 is %d)", st->name, st->k1, k1max,
                         r->K1);
    if (st->use_itm && !r->scored_itm)
        return xrem_fail(XREM_ERR_ARG, "setting %s needs ITM scores, but %s/run.h5 was made with --no-itm (itm=0)",
                         st->name, run_dir);
    const int n = st->k1 + e;
    if (st->use_itm && (st->k2 < 1 || st->k2 > n))
        return xrem_fail(XREM_ERR_ARG, "setting %s: K2 %d outside 1..%d (K1 %d%s)", st->name, st->k2, n, st->k1,
                         e ? " + the empty candidate" : "; the run dropped the empty candidate");
    if (st->use_itm && st->filter && st->k3 < 1) return xrem_fail(XREM_ERR_ARG, "setting %s: K3 must be >= 1", st->name);
    return XREM_OK;
}

static void list_add(char *buf, size_t cap, const char *fmt, int a, int b)
{
    const size_t u = strlen(buf);
    if (u + 1 < cap) snprintf(buf + u, cap - u, u ? "," : "");
    const size_t v = strlen(buf);
    if (v + 1 < cap) snprintf(buf + v, cap - v, fmt, a, b);
}

/* One list of the grid: not empty, no repeats, every value in lo..hi (why: where hi comes from). */
static xrem_status grid_list_check(const char *flag, const int *v, int n, int lo, int hi, const char *why)
{
    char bad[512] = "", rep[512] = "";
    if (n < 1) return xrem_fail(XREM_ERR_ARG, "%s is empty: give values in %d..%d%s", flag, lo, hi, why);
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= v[j] == v[i];
        if (v[i] < lo || v[i] > hi)
            list_add(bad, sizeof bad, "%d", v[i], 0);
        else if (seen)
            list_add(rep, sizeof rep, "%d", v[i], 0);
    }
    if (*bad) return xrem_fail(XREM_ERR_ARG, "%s %s: outside %d..%d%s", flag, bad, lo, hi, why);
    if (*rep) return xrem_fail(XREM_ERR_ARG, "%s: %s given twice (each setting is swept once)", flag, rep);
    return XREM_OK;
}

/* The grid: every (K1, K2, K3) of the lists that the run's cached scores can give, each with the
 * NLI filter. A value that no setting can use is refused with the allowed range; a pair whose K2
 * exceeds that K1's candidates (K1, + 1 when the run kept the empty one) is left out and listed
 * in left. *out is malloc'd. */
static xrem_status sweep_grid(const sweep_run *r, const xrem_sweep_config *c, xrem_sweep_setting **out, int *n,
                              char *left, size_t cap, int *nleft)
{
    const int e = r->C == r->K1 + 1, k1max = r->K1 < 4096 ? r->K1 : 4096;
    char why[200];
    *out = NULL;
    *n = *nleft = 0;
    if (!r->scored_itm)
        return xrem_fail(XREM_ERR_ARG,
                         "%s/run.h5 was made with --no-itm (itm=0 in 'config'): it has no ITM scores to derive a "
                         "(K1, K2, K3) grid from",
                         c->run_dir);
    snprintf(why, sizeof why, " (the run's K1 is %d)", r->K1);
    xrem_status s = grid_list_check("--k1", c->grid_k1, c->n1, 1, k1max, why);
    int top = 0;
    for (int a = 0; !s && a < c->n1; a++)
        top = c->grid_k1[a] > top ? c->grid_k1[a] : top;
    snprintf(why, sizeof why, " (the most ITM candidates: K1 %d%s)", top,
             e ? " + the empty candidate" : "; the run dropped the empty candidate");
    if (!s) s = grid_list_check("--k2", c->grid_k2, c->n2, 1, top + e, why);
    if (!s) s = grid_list_check("--k3", c->grid_k3, c->n3, 1, 4096, "");
    if (s) return s;
    if ((int64_t)c->n1 * c->n2 * c->n3 > 100000)
        return xrem_fail(XREM_ERR_ARG, "a grid of %lld settings: at most 100000", (long long)c->n1 * c->n2 * c->n3);
    if (!(*out = calloc((size_t)c->n1 * c->n2 * c->n3, sizeof **out)))
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int a = 0; a < c->n1; a++)
        for (int b = 0; b < c->n2; b++) {
            const int k1 = c->grid_k1[a], k2 = c->grid_k2[b];
            if (k2 > k1 + e) { /* more than this K1's candidates */
                list_add(left, cap, "K1 %d with K2 %d", k1, k2);
                *nleft += c->n3;
                continue;
            }
            for (int k = 0; k < c->n3; k++) {
                xrem_sweep_setting *st = &(*out)[(*n)++];
                *st = (xrem_sweep_setting){k1, k2, c->grid_k3[k], 1, 1, ""};
                snprintf(st->name, sizeof st->name, "k1_%d_k2_%d_k3_%d", k1, k2, c->grid_k3[k]);
            }
        }
    return XREM_OK;
}

/* The settings to sweep (the explicit ones, else the grid), each checked against the run; at
 * least one must be computable with the filters given. */
static xrem_status sweep_settings(const sweep_run *r, const xrem_sweep_config *c, xrem_sweep_setting **grid,
                                  const xrem_sweep_setting **st, int *n, char *left, size_t cap, int *nleft)
{
    xrem_status s = XREM_OK;
    *grid = NULL;
    *nleft = 0;
    *st = c->settings;
    *n = c->nsettings;
    if (!c->settings) {
        s = sweep_grid(r, c, grid, n, left, cap, nleft);
        *st = *grid;
    }
    if (!s && *n < 1 && c->settings) s = xrem_fail(XREM_ERR_ARG, "no setting to sweep: the list of settings is empty");
    if (!s && *n < 1)
        s = xrem_fail(XREM_ERR_ARG,
                      "no setting to sweep: every (K1, K2) pair of the grid has K2 above that K1's "
                      "candidates (%s)",
                      left);
    int computable = 0;
    for (int k = 0; !s && k < *n; k++) {
        s = sweep_check(r, c->run_dir, &(*st)[k]);
        const int f = (*st)[k].use_itm ? (*st)[k].filter : 0;
        computable += !f || (f == 1 ? c->filter != NULL : c->filter_bs != NULL);
    }
    if (!s && !computable)
        s = xrem_fail(XREM_ERR_ARG, "every setting re-decides with a filter model that was not given (--nli for the "
                                    "NLI filter, --bertscore-model for BERTScore)");
    return s;
}

/* Before anything is written: --out can be made and none of its files (table.csv, table.md, the
 * plot the CLI draws, preds/<setting>.csv) is an input. */
static xrem_status sweep_check_out(const xrem_sweep_config *c, const sweep_run *r, const xrem_sweep_setting *st, int n)
{
    char h5[4200];
    snprintf(h5, sizeof h5, "%s/run.h5", c->run_dir);
    const char *in[20] = {h5, r->corpus_path, c->gt ? c->gt : ""};
    int k = 3;
    for (int i = 0; c->inputs && c->inputs[i] && k < 19; i++)
        in[k++] = c->inputs[i];
    in[k] = NULL;
    static const char *const names[] = {"table.csv", "table.md", "sweep.png"};
    xrem_status s = xrem_outdir_check(c->out);
    for (int i = 0; !s && i < 3; i++)
        s = xrem_out_not_input(c->out, names[i], in);
    for (int i = 0; !s && i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "preds/%s.csv", st[i].name);
        s = xrem_out_not_input(c->out, name, in);
    }
    return s;
}

xrem_status xrem_sweep(const xrem_sweep_config *c, xrem_sweep_summary *sum)
{
    xrem_sweep_summary done = {0, 0, 0};
    xrem_sweep_setting *grid = NULL;
    const xrem_sweep_setting *sts = NULL;
    int nst = 0;
    char left[2048] = "";
    sweep_run r = {0};
    xrem_reports *gt = NULL;
    xrem_bleu_ws *ws = NULL;
    /* one decision cache per filter kind: [0] NLI, [1] BERTScore */
    cached_filter cf[2] = {{c->filter, NULL, 0, 0}, {c->filter_bs, NULL, 0, 0}};
    xrem_filter f[2] = {{"cached-nli", &cf[0], cached_judge, NULL, NULL},
                        {"cached-bertscore", &cf[1], cached_judge, NULL, NULL}};
    char path[4200];
    xrem_tmpfile tcsv = {0}, tmd = {0};
    FILE *csv = NULL, *md = NULL;
    xrem_status s = run_open(c->run_dir, &r);
    if (!s && c->gt) s = xrem_reports_load(c->gt, NULL, NULL, &gt);
    if (!s) s = xrem_bleu_ws_create(&ws);
    for (int k = 0; !s && k < 2; k++) s = xrem_strmap_create(1 << 16, &cf[k].cache);
    if (!s) s = sweep_settings(&r, c, &grid, &sts, &nst, left, sizeof left, &done.left_out);
    if (!s) s = sweep_check_out(c, &r, sts, nst);
    snprintf(path, sizeof path, "%s/preds", c->out);
    if (!s && ((mkdir(c->out, 0777) && errno != EEXIST) || (mkdir(path, 0777) && errno != EEXIST)))
        s = xrem_fail(XREM_ERR_IO, "%s: cannot create", path);
    snprintf(path, sizeof path, "%s/table.csv", c->out);
    if (!s && !(s = xrem_tmpfile_open(&tcsv, path))) csv = tcsv.f;
    snprintf(path, sizeof path, "%s/table.md", c->out);
    if (!s && !(s = xrem_tmpfile_open(&tmd, path))) md = tmd.f;
    if (!s) {
        fprintf(csv, "setting,k1,k2,k3,itm,filter,bleu2,words,scored\n");
        fprintf(md, "# xrem sweep of %s\n\n| setting | K1 | K2 | K3 | ITM | filter | BLEU-2 | words |\n"
                    "|---|---|---|---|---|---|---|---|\n",
                c->run_dir);
    }
    char **pred = s ? NULL : calloc((size_t)r.N, sizeof *pred);
    for (int k = 0; !s && k < nst; k++) {
        const xrem_sweep_setting *st = &sts[k];
        const int fk = st->filter == 2 ? 1 : 0;
        if (st->filter && st->use_itm && !cf[fk].inner) {
            fprintf(md, "| %s | — skipped: needs %s | | | | | | |\n", st->name, fk ? "--bertscore-model" : "--nli");
            done.skipped++;
            continue;
        }
        for (int64_t i = 0; !s && i < r.N; i++) s = sweep_image(&r, i, st, &f[fk], &pred[i]);
        sweep_metrics m;
        if (!s) s = sweep_score(&r, pred, gt, ws, &m);
        if (!s) s = sweep_write_pred(c->out, st, &r, pred);
        if (!s) {
            char b[32];
            done.computed++;
            snprintf(b, sizeof b, "%.4f", m.bleu2);
            fprintf(csv, "%s,%d,%d,%d,%d,%d,%.10g,%.6g,%lld\n", st->name, st->k1, st->k2, st->k3, st->use_itm,
                    st->filter, gt ? m.bleu2 : -1.0, m.words, (long long)m.scored);
            fprintf(md, "| %s | %d | %d | %d | %s | %s | %s | %.1f |\n", st->name, st->k1, st->use_itm ? st->k2 : 0,
                    st->use_itm && st->filter ? st->k3 : 0, st->use_itm ? "yes" : "no",
                    !st->use_itm || !st->filter ? "none" : st->filter == 2 ? "bertscore" : "nli", gt ? b : "-", m.words);
        }
        for (int64_t i = 0; pred && i < r.N; i++) {
            free(pred[i]);
            pred[i] = NULL;
        }
        xrem_progress_report(c->progress, "settings", k + 1, nst, NULL);
    }
    xrem_progress_end(c->progress);
    if (md && !s) fprintf(md, "\nFilter calls: %lld (cache hits %lld). BLEU-2 as CXR-Report-Metric computes it.\n",
                          (long long)(cf[0].calls + cf[1].calls), (long long)(cf[0].hits + cf[1].hits));
    if (md && !s && done.left_out)
        fprintf(md, "Left out of the grid, K2 above that K1's candidates (%s): %s.\n",
                r.C == r.K1 + 1 ? "K1 + the empty one" : "K1: the run dropped the empty one", left);
    /* the two tables appear together */
    if (!s) s = xrem_tmpfile_close(&tcsv);
    if (!s) s = xrem_tmpfile_close(&tmd);
    if (!s) s = xrem_tmpfile_commit(&tcsv);
    if (!s) s = xrem_tmpfile_commit(&tmd);
    xrem_tmpfile_discard(&tcsv);
    xrem_tmpfile_discard(&tmd);
    if (sum) *sum = done;
    free(pred);
    free(grid);
    xrem_strmap_free(cf[0].cache);
    xrem_strmap_free(cf[1].cache);
    xrem_bleu_ws_free(ws);
    xrem_reports_free(gt);
    run_free(&r);
    return s;
}
