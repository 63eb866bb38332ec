/* The library entries behind `xrem embed` and `xrem run` (include/xrem/run.h): options as
 * key/value strings, their defaults and cross-checks, and the filter the run needs. The CLI only
 * passes its flags through, so a program gets the same runs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/outpath.h"
#include "core/pandas_na.h"
#include "models/albef.h"
#include "pipeline/corpus.h"
#include "pipeline/filters.h"
#include "pipeline/run.h"
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

struct xrem_job_opts {
    xrem_job_kind kind;
    const job_key *keys;
    char *val[JOB_MAX_KEYS];
    xrem_progress progress;
    int64_t kept, dropped_na, dropped_dup;
};

xrem_status xrem_job_opts_create(xrem_job_kind kind, xrem_job_opts **o)
{
    if (!o) return xrem_fail(XREM_ERR_ARG, "xrem_job_opts_create: NULL argument");
    if (kind != XREM_JOB_EMBED && kind != XREM_JOB_RUN)
        return xrem_fail(XREM_ERR_ARG, "job kind %d: want embed or run", (int)kind);
    if (!(*o = calloc(1, sizeof **o))) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    (*o)->kind = kind;
    (*o)->keys = kind == XREM_JOB_EMBED ? embed_keys : run_keys;
    return XREM_OK;
}

void xrem_job_opts_free(xrem_job_opts *o)
{
    if (!o) return;
    for (int i = 0; i < JOB_MAX_KEYS; i++)
        free(o->val[i]);
    free(o);
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
    if (i < 0)
        return xrem_fail(XREM_ERR_ARG, "--%s: unknown option for %s", key, o->kind == XREM_JOB_EMBED ? "embed" : "run");
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

xrem_status xrem_job_opts_check(const xrem_job_opts *o)
{
    if (!o) return xrem_fail(XREM_ERR_ARG, "xrem_job_opts_check: NULL argument");
    if (o->kind == XREM_JOB_EMBED) {
        if (!job_str(o, "weights") || !job_str(o, "corpus") || !job_str(o, "out"))
            return xrem_fail(XREM_ERR_ARG, "--weights, --corpus and --out are required");
        return XREM_OK;
    }
    xrem_run_config c;
    const char *filter;
    return job_run_config(o, &c, &filter);
}

xrem_status xrem_job_run(xrem_job_opts *o, xrem_backend *be)
{
    if (!o || !be) return xrem_fail(XREM_ERR_ARG, "xrem_job_run: NULL argument");
    return o->kind == XREM_JOB_EMBED ? job_embed(o, be) : job_run(o, be);
}
