#include "pipeline/sweep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bleu.h"
#include "core/csv.h"
#include "core/h5.h"
#include "core/strmap.h"
#include "pipeline/corpus.h"
#include "pipeline/itc.h"
#include "reports.h"

#define DELIM "[SEP]"

typedef struct {
    int64_t N;
    int K1, C;                /* run's K1 and candidates per image (K1 or K1 + the empty one) */
    int32_t *itc_idx;         /* [N, K1] */
    float *itm;               /* [N, C] */
    int64_t *study;           /* [N] (int64 in run.h5; older int32 files widen) */
    xrem_corpus corpus;
} sweep_run;

static void run_free(sweep_run *r)
{
    free(r->itc_idx);
    free(r->itm);
    free(r->study);
    xrem_corpus_release(&r->corpus);
}

static xrem_status run_open(const char *dir, sweep_run *r)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/run.h5", dir);
    xrem_h5 *f = NULL;
    int64_t k1 = 0, cand = 0, ne[XREM_MAX_DIMS];
    char *corpus = NULL;
    xrem_status s = xrem_h5_open(path, &f);
    if (!s) s = xrem_h5_attr_i64(f, "/", "k1", &k1);
    if (!s) s = xrem_h5_attr_i64(f, "/", "candidates", &cand);
    if (!s) s = xrem_h5_attr_str(f, "/", "corpus", &corpus);
    if (!s) s = xrem_h5_read_i32(f, "itc_idx", 2, (int64_t[]){-1, k1}, &r->itc_idx, ne);
    if (!s) r->N = ne[0];
    if (!s) s = xrem_h5_read_f32(f, "itm_score", 2, (int64_t[]){r->N, cand}, &r->itm, ne);
    if (!s) s = xrem_h5_read_i64(f, "study_id", 1, (int64_t[]){r->N}, &r->study, ne);
    r->K1 = (int)k1;
    r->C = (int)cand;
    if (!s) s = xrem_corpus_load(corpus, NULL, &r->corpus);
    for (int64_t i = 0; !s && i < r->N * r->K1; i++)
        if (r->itc_idx[i] < 0 || r->itc_idx[i] >= r->corpus.n)
            s = xrem_fail(XREM_ERR_VALUE, "%s: itc_idx %d outside corpus %s (%lld reports)", path, r->itc_idx[i], corpus,
                          (long long)r->corpus.n);
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
    int32_t order[4096];
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
    char path[4400], tmp[4500];
    snprintf(path, sizeof path, "%s/preds/%s.csv", dir, st->name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) return xrem_fail(XREM_ERR_IO, "%s: cannot create", tmp);
    xrem_csv_writer w;
    xrem_csv_writer_init(&w, fp);
    xrem_csv_put(&w, "study_id", (size_t)-1);
    xrem_csv_put(&w, "report", (size_t)-1);
    xrem_csv_end_row(&w);
    for (int64_t i = 0; i < r->N; i++) {
        xrem_csv_put_i64(&w, r->study[i]);
        xrem_csv_put(&w, pred[i], (size_t)-1);
        xrem_csv_end_row(&w);
    }
    int bad = ferror(fp) | (fclose(fp) != 0);
    if (bad || rename(tmp, path)) {
        remove(tmp);
        return xrem_fail(XREM_ERR_IO, "%s: write failed", path);
    }
    return XREM_OK;
}

static xrem_status sweep_check(const sweep_run *r, const xrem_sweep_setting *st)
{
    if (st->k1 < 1 || st->k1 > r->K1 || st->k1 > 4096)
        return xrem_fail(XREM_ERR_ARG, "setting %s: K1 %d outside 1..%d (the run's K1)", st->name, st->k1, r->K1);
    const int n = st->k1 + (r->C == r->K1 + 1);
    if (st->use_itm && (st->k2 < 1 || st->k2 > n))
        return xrem_fail(XREM_ERR_ARG, "setting %s: K2 %d outside 1..%d", st->name, st->k2, n);
    if (st->use_itm && st->filter && st->k3 < 1) return xrem_fail(XREM_ERR_ARG, "setting %s: K3 must be >= 1", st->name);
    return XREM_OK;
}

xrem_status xrem_sweep(const xrem_sweep_config *c)
{
    sweep_run r = {0};
    xrem_reports *gt = NULL;
    xrem_bleu_ws *ws = NULL;
    /* one decision cache per filter kind: [0] NLI, [1] BERTScore */
    cached_filter cf[2] = {{c->filter, NULL, 0, 0}, {c->filter_bs, NULL, 0, 0}};
    xrem_filter f[2] = {{"cached-nli", &cf[0], cached_judge, NULL}, {"cached-bertscore", &cf[1], cached_judge, NULL}};
    char path[4200];
    FILE *csv = NULL, *md = NULL;
    xrem_status s = run_open(c->run_dir, &r);
    if (!s && c->gt) s = xrem_reports_load(c->gt, NULL, NULL, &gt);
    if (!s) s = xrem_bleu_ws_create(&ws);
    for (int k = 0; !s && k < 2; k++) s = xrem_strmap_create(1 << 16, &cf[k].cache);
    for (int k = 0; !s && k < c->nsettings; k++) s = sweep_check(&r, &c->settings[k]);
    snprintf(path, sizeof path, "%s/preds", c->out);
    if (!s && ((mkdir(c->out, 0777) && errno != EEXIST) || (mkdir(path, 0777) && errno != EEXIST)))
        s = xrem_fail(XREM_ERR_IO, "%s: cannot create", path);
    snprintf(path, sizeof path, "%s/table.csv.tmp", c->out);
    if (!s && !(csv = fopen(path, "w"))) s = xrem_fail(XREM_ERR_IO, "%s: cannot create", path);
    snprintf(path, sizeof path, "%s/table.md.tmp", c->out);
    if (!s && !(md = fopen(path, "w"))) s = xrem_fail(XREM_ERR_IO, "%s: cannot create", path);
    if (!s) {
        fprintf(csv, "setting,k1,k2,k3,itm,filter,bleu2,words,scored\n");
        fprintf(md, "# xrem sweep of %s\n\n| setting | K1 | K2 | K3 | ITM | filter | BLEU-2 | words |\n"
                    "|---|---|---|---|---|---|---|---|\n",
                c->run_dir);
    }
    char **pred = s ? NULL : calloc((size_t)r.N, sizeof *pred);
    for (int k = 0; !s && k < c->nsettings; k++) {
        const xrem_sweep_setting *st = &c->settings[k];
        const int fk = st->filter == 2 ? 1 : 0;
        if (st->filter && st->use_itm && !cf[fk].inner) {
            fprintf(md, "| %s | — skipped: needs %s | | | | | | |\n", st->name, fk ? "--bertscore-model" : "--nli");
            continue;
        }
        for (int64_t i = 0; !s && i < r.N; i++) s = sweep_image(&r, i, st, &f[fk], &pred[i]);
        sweep_metrics m;
        if (!s) s = sweep_score(&r, pred, gt, ws, &m);
        if (!s) s = sweep_write_pred(c->out, st, &r, pred);
        if (!s) {
            char b[32];
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
        if (isatty(2)) fprintf(stderr, "\rxrem sweep: %d/%d settings", k + 1, c->nsettings);
    }
    if (isatty(2)) fprintf(stderr, "\n");
    if (md && !s) fprintf(md, "\nFilter calls: %lld (cache hits %lld). BLEU-2 as CXR-Report-Metric computes it.\n",
                          (long long)(cf[0].calls + cf[1].calls), (long long)(cf[0].hits + cf[1].hits));
    int bad = (csv && fclose(csv) != 0) | (md && fclose(md) != 0);
    if (!s && bad) s = xrem_fail(XREM_ERR_IO, "%s: write failed", c->out);
    const char *names[] = {"table.csv", "table.md"};
    for (int k = 0; k < 2; k++) {
        char a[4300], b[4300];
        snprintf(a, sizeof a, "%s/%s.tmp", c->out, names[k]);
        snprintf(b, sizeof b, "%s/%s", c->out, names[k]);
        if (!s && rename(a, b)) s = xrem_fail(XREM_ERR_IO, "%s: cannot rename into place", b);
        if (s) remove(a);
    }
    free(pred);
    xrem_strmap_free(cf[0].cache);
    xrem_strmap_free(cf[1].cache);
    xrem_bleu_ws_free(ws);
    xrem_reports_free(gt);
    run_free(&r);
    return s;
}
