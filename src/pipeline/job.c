/* The library entries behind `xrem embed` and `xrem run` (include/xrem/run.h): options as
 * key/value strings, their defaults and cross-checks, and the filter the run needs. The CLI only
 * passes its flags through, so a program gets the same runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/outpath.h"
#include "core/pandas_na.h"
#include "models/albef.h"
#include "pipeline/corpus.h"
#include "pipeline/filters.h"
#include "pipeline/run.h"
#include "pipeline/sweep.h"
#include "xrem/run.h"

enum { JOB_MAX_KEYS = 24 };

typedef struct {
    const char *key;
    long lo, hi; /* integer range; lo > hi: a string; lo == hi == -1: a flag */
} job_key;

static const job_key embed_keys[] = {{"weights", 1, 0},   {"corpus", 1, 0},    {"out", 1, 0},    {"column", 1, 0},
                                     {"max-len", 2, 512}, {"batch", 1, 65536}, {"pandas", 1, 2}, {NULL, 0, 0}};
static const job_key run_keys[] = {{"retrieval", 1, 0},
                                   {"itm", 1, 0},
                                   {"nli", 1, 0},
                                   {"bertscore-model", 1, 0},
                                   {"images", 1, 0},
                                   {"corpus", 1, 0},
                                   {"out", 1, 0},
                                   {"reports", 1, 0},
                                   {"ids", 1, 0},
                                   {"filter", 1, 0},
                                   {"k1", 0, 1 << 20},
                                   {"k2", 0, 1 << 20},
                                   {"k3", 0, 1 << 20},
                                   {"batch", 1, 4096},
                                   {"res-retrieval", 16, 8192},
                                   {"res-itm", 16, 8192},
                                   {"no-itm", -1, -1},
                                   {"drop-empty-candidate", -1, -1},
                                   {"resume", -1, -1},
                                   {NULL, 0, 0}};

static const job_key sweep_keys[] = {{"run", 1, 0}, {"k1", 1, 0},     {"k2", 1, 0},
                                     {"k3", 1, 0},  {"gt", 1, 0},     {"nli", 1, 0},
                                     {"out", 1, 0}, {"preset", 1, 0}, {"bertscore-model", 1, 0},
                                     {NULL, 0, 0}};

struct xrem_job_opts {
    xrem_job_kind kind;
    const job_key *keys;
    char *val[JOB_MAX_KEYS];
    xrem_progress progress;
    int64_t kept, dropped_na, dropped_dup;
    xrem_sweep_summary swept;
    char out[4200]; /* the output as resolved by the last xrem_job_run */
};

xrem_status xrem_job_opts_create(xrem_job_kind kind, xrem_job_opts **o)
{
    if (!o) return xrem_fail(XREM_ERR_ARG, "xrem_job_opts_create: NULL argument");
    if (kind != XREM_JOB_EMBED && kind != XREM_JOB_RUN && kind != XREM_JOB_SWEEP)
        return xrem_fail(XREM_ERR_ARG, "job kind %d: want embed, run or sweep", (int)kind);
    if (!(*o = calloc(1, sizeof **o))) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    (*o)->kind = kind;
    (*o)->keys = kind == XREM_JOB_EMBED ? embed_keys : kind == XREM_JOB_RUN ? run_keys : sweep_keys;
    return XREM_OK;
}

void xrem_job_opts_free(xrem_job_opts *o)
{
    if (!o) return;
    for (int i = 0; i < JOB_MAX_KEYS; i++)
        free(o->val[i]);
    free(o);
}

static const char *job_name(const xrem_job_opts *o)
{
    return o->kind == XREM_JOB_EMBED ? "embed" : o->kind == XREM_JOB_RUN ? "run" : "sweep";
}

static int job_find(const xrem_job_opts *o, const char *key)
{
    for (int i = 0; o->keys[i].key; i++)
        if (!strcmp(o->keys[i].key, key)) return i;
    return -1;
}

/* the value of key, or NULL when unset */
static const char *job_str(const xrem_job_opts *o, const char *key)
{
    int i = job_find(o, key);
    return i >= 0 ? o->val[i] : NULL;
}

static long job_int(const xrem_job_opts *o, const char *key, long def)
{
    const char *v = job_str(o, key);
    return v ? strtol(v, NULL, 10) : def; /* checked by xrem_job_opts_set */
}

xrem_status xrem_job_opts_set(xrem_job_opts *o, const char *key, const char *value)
{
    if (!o || !key) return xrem_fail(XREM_ERR_ARG, "xrem_job_opts_set: NULL argument");
    int i = job_find(o, key);
    if (i < 0) return xrem_fail(XREM_ERR_ARG, "--%s: unknown option for %s", key, job_name(o));
    const job_key *k = &o->keys[i];
    if (value && k->lo == -1 && strcmp(value, "0") && strcmp(value, "1"))
        return xrem_fail(XREM_ERR_ARG, "--%s is a flag: 1 or 0, got '%s'", key, value);
    if (value && k->lo <= k->hi && k->lo >= 0) {
        char *end;
        errno = 0;
        long x = strtol(value, &end, 10);
        if (!*value || *end || errno || x < k->lo || x > k->hi)
            return xrem_fail(XREM_ERR_ARG, "--%s must be an integer in %ld..%ld, got '%s'", key, k->lo, k->hi, value);
    }
    if (value && k->lo > k->hi && !*value) return xrem_fail(XREM_ERR_ARG, "--%s is empty", key);
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    free(o->val[i]);
    o->val[i] = copy;
    return XREM_OK;
}

void xrem_job_opts_set_progress(xrem_job_opts *o, xrem_progress_fn fn, void *user)
{
    if (o) o->progress = (xrem_progress){fn, user};
}

void xrem_job_embed_counts(const xrem_job_opts *o, int64_t *kept, int64_t *dropped_na, int64_t *dropped_dup)
{
    if (kept) *kept = o ? o->kept : 0;
    if (dropped_na) *dropped_na = o ? o->dropped_na : 0;
    if (dropped_dup) *dropped_dup = o ? o->dropped_dup : 0;
}

static xrem_status job_embed(xrem_job_opts *o, xrem_backend *be)
{
    const char *w = job_str(o, "weights"), *in = job_str(o, "corpus"), *out = job_str(o, "out");
    xrem_status s = xrem_job_opts_check(o);
    if (!s) s = xrem_out_not_input(NULL, out, (const char *const[]){w, in, NULL});
    xrem_albef *m = NULL;
    xrem_corpus c = {0};
    if (!s) s = xrem_albef_load(w, be, 0, &m);
    const char *col = job_str(o, "column");
    if (!s) s = xrem_corpus_read_csv(in, col ? col : "report", (int)job_int(o, "pandas", XREM_PANDAS_DEFAULT), &c);
    if (!s) {
        o->kept = c.n;
        o->dropped_na = c.dropped_na;
        o->dropped_dup = c.dropped_dup;
        s = xrem_corpus_embed(&c, m, (int)job_int(o, "max-len", 25), (int)job_int(o, "batch", 256), in, out,
                              &o->progress);
    }
    xrem_corpus_release(&c);
    xrem_albef_free(m);
    return s;
}

/* The run's configuration with X-REM's defaults, which depend on each other: without ITM the
 * cosine ablation keeps K1 = 2 and no filter; the BERTScore filter keeps K3 = 3. */
static xrem_status job_run_config(const xrem_job_opts *o, xrem_run_config *c, const char **filter)
{
    memset(c, 0, sizeof *c);
    c->retrieval = job_str(o, "retrieval");
    c->itm = job_str(o, "itm");
    c->images = job_str(o, "images");
    c->corpus = job_str(o, "corpus");
    c->out = job_str(o, "out");
    c->reports = job_str(o, "reports");
    c->ids = job_str(o, "ids");
    c->use_itm = !job_int(o, "no-itm", 0);
    c->drop_empty = (int)job_int(o, "drop-empty-candidate", 0);
    c->resume = (int)job_int(o, "resume", 0);
    *filter = job_str(o, "filter");
    if (!*filter) *filter = c->use_itm ? "nli" : "none";
    const int is_bs = !strcmp(*filter, "bertscore");
    c->k1 = (int)job_int(o, "k1", c->use_itm ? 50 : 2);
    c->k2 = (int)job_int(o, "k2", 10);
    c->k3 = (int)job_int(o, "k3", is_bs ? 3 : 2);
    c->batch = (int)job_int(o, "batch", 4);
    c->res_retrieval = (int)job_int(o, "res-retrieval", 256);
    c->res_itm = (int)job_int(o, "res-itm", 384);
    if (!c->retrieval || !c->images || !c->corpus || !c->out || (c->use_itm && !c->itm))
        return xrem_fail(XREM_ERR_ARG,
                         "--retrieval, --images, --corpus, --out (and --itm unless --no-itm) are required");
    if (!c->use_itm && strcmp(*filter, "none"))
        return xrem_fail(XREM_ERR_ARG,
                         "--no-itm runs the cosine ablation (top-K1 joined with a space): use --filter none");
    return XREM_OK;
}

static xrem_status job_run(xrem_job_opts *o, xrem_backend *be)
{
    xrem_run_config c;
    const char *filter;
    xrem_status s = job_run_config(o, &c, &filter);
    xrem_filter *f = NULL;
    if (!s && !strcmp(filter, "bertscore"))
        s = xrem_bertscore_filter_create(job_str(o, "bertscore-model"), 5, be, &f);
    else if (!s && strcmp(filter, "none"))
        s = xrem_filter_create(filter, job_str(o, "nli"), be, &f);
    c.filter = f;
    c.threads = be ? be->threads : 0;
    c.progress = &o->progress;
    if (!s) s = xrem_run(&c, be);
    xrem_filter_free(f);
    return s;
}

/* "10,25,50" -> values in 1..4096; returns the count, or -1 (not such a list, or more than cap) */
static int job_list(const char *s, int *v, int cap)
{
    int n = 0;
    while (s && *s && n < cap) {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s || x < 1 || x > 4096 || (*end && *end != ',')) return -1;
        v[n++] = (int)x;
        s = *end == ',' ? end + 1 : end;
    }
    return s && *s ? -1 : n;
}

/* The paper's ablation rows (X-REM's README): X-REM, no ITM, no filter, the BERTScore filter. */
static int job_paper_preset(xrem_sweep_setting *st)
{
    st[0] = (xrem_sweep_setting){50, 10, 2, 1, 1, "xrem_50_10_2_nli"};
    st[1] = (xrem_sweep_setting){2, 0, 0, 0, 0, "no_itm_cosine_top2"};
    st[2] = (xrem_sweep_setting){50, 1, 1, 1, 0, "no_filter_itm_top1"};
    st[3] = (xrem_sweep_setting){50, 10, 3, 1, 2, "bertscore_filter_50_10_3"};
    return 4;
}

typedef struct {
    int k[3][64], n[3];
} job_grid;

/* The default grid is X-REM's K1 10,25,50 x K2 1,5,10 x K3 1,2,3. */
static xrem_status job_sweep_grid(const xrem_job_opts *o, job_grid *g)
{
    static const char *const keys[3] = {"k1", "k2", "k3"}, *const defs[3] = {"10,25,50", "1,5,10", "1,2,3"};
    if (!job_str(o, "run")) return xrem_fail(XREM_ERR_ARG, "--run is required");
    for (int i = 0; i < 3; i++) {
        const char *v = job_str(o, keys[i]);
        g->n[i] = job_list(v ? v : defs[i], g->k[i], 64);
        if (g->n[i] < 1)
            return xrem_fail(XREM_ERR_ARG, "--%s '%s': want a comma list of at most 64 values in 1..4096", keys[i], v);
    }
    const char *preset = job_str(o, "preset");
    if (preset && strcmp(preset, "paper"))
        return xrem_fail(XREM_ERR_ARG, "--preset '%s': the one preset is paper", preset);
    return XREM_OK;
}

static xrem_status job_sweep(xrem_job_opts *o, xrem_backend *be)
{
    job_grid g;
    xrem_status s = job_sweep_grid(o, &g);
    if (s) return s;
    const char *run = job_str(o, "run"), *nli = job_str(o, "nli"), *bsm = job_str(o, "bertscore-model");
    const char *out = job_str(o, "out");
    if (out)
        snprintf(o->out, sizeof o->out, "%s", out);
    else
        snprintf(o->out, sizeof o->out, "%s/sweep", run);
    xrem_sweep_setting st[8];
    const int n = job_str(o, "preset") ? job_paper_preset(st) : 0;
    xrem_filter *f = NULL, *fbs = NULL;
    if (nli) s = xrem_filter_create("nli", nli, be, &f);
    if (!s && bsm) s = xrem_bertscore_filter_create(bsm, 5, be, &fbs);
    xrem_sweep_config c = {.run_dir = run,
                           .out = o->out,
                           .gt = job_str(o, "gt"),
                           .settings = n ? st : NULL,
                           .nsettings = n,
                           .filter = f,
                           .filter_bs = fbs,
                           .grid_k1 = g.k[0],
                           .grid_k2 = g.k[1],
                           .grid_k3 = g.k[2],
                           .n1 = g.n[0],
                           .n2 = g.n[1],
                           .n3 = g.n[2],
                           .inputs = (const char *const[]){nli ? nli : "", bsm ? bsm : "", NULL},
                           .progress = &o->progress};
    memset(&o->swept, 0, sizeof o->swept);
    if (!s) s = xrem_sweep(&c, &o->swept);
    xrem_filter_free(f);
    xrem_filter_free(fbs);
    return s;
}

void xrem_job_sweep_counts(const xrem_job_opts *o, int *computed, int *skipped, int *left_out)
{
    if (computed) *computed = o ? o->swept.computed : 0;
    if (skipped) *skipped = o ? o->swept.skipped : 0;
    if (left_out) *left_out = o ? o->swept.left_out : 0;
}

const char *xrem_job_out(const xrem_job_opts *o)
{
    return o && o->out[0] ? o->out : o ? job_str(o, "out") : NULL;
}

xrem_status xrem_job_opts_check(const xrem_job_opts *o)
{
    if (!o) return xrem_fail(XREM_ERR_ARG, "xrem_job_opts_check: NULL argument");
    if (o->kind == XREM_JOB_EMBED) {
        if (!job_str(o, "weights") || !job_str(o, "corpus") || !job_str(o, "out"))
            return xrem_fail(XREM_ERR_ARG, "--weights, --corpus and --out are required");
        return XREM_OK;
    }
    if (o->kind == XREM_JOB_SWEEP) {
        job_grid g;
        return job_sweep_grid(o, &g);
    }
    xrem_run_config c;
    const char *filter;
    return job_run_config(o, &c, &filter);
}

xrem_status xrem_job_run(xrem_job_opts *o, xrem_backend *be)
{
    if (!o || !be) return xrem_fail(XREM_ERR_ARG, "xrem_job_run: NULL argument");
    return o->kind == XREM_JOB_EMBED ? job_embed(o, be) : o->kind == XREM_JOB_RUN ? job_run(o, be) : job_sweep(o, be);
}
