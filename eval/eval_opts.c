/* Evaluation options: defaults, setting by key, and the checks that decide the metric set (see
 * include/xrem/eval.h). The messages name the options as `xrem eval` spells them. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/pandas_na.h"
#include "eval_internal.h"

static void opts_defaults(xrem_eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->B = XREM_BOOTSTRAP_DEFAULT;
    o->seed = 12345;
    o->pandas = XREM_PANDAS_DEFAULT;
    o->bs_layer = 5; /* distilroberta-base's layer in bert_score */
}

xrem_status xrem_eval_opts_create(xrem_eval_opts **out)
{
    if (!out) return xrem_fail(XREM_ERR_ARG, "xrem_eval_opts_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    opts_defaults(*out);
    return XREM_OK;
}

void xrem_eval__opts_clear(xrem_eval_opts *o)
{
    char **s[] = {&o->labels_gt, &o->labels_pred, &o->id_col,      &o->text_col,       &o->metrics_arg,
                  &o->chexbert,  &o->backend,     &o->labeler_dir, &o->bertscore_model};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        free(*s[i]);
        *s[i] = NULL;
    }
}

void xrem_eval_opts_free(xrem_eval_opts *o)
{
    if (!o) return;
    xrem_eval__opts_clear(o);
    free(o);
}

xrem_status xrem_eval__opts_copy(xrem_eval_opts *dst, const xrem_eval_opts *src)
{
    *dst = *src;
    char **d[] = {&dst->labels_gt, &dst->labels_pred, &dst->id_col,      &dst->text_col,       &dst->metrics_arg,
                  &dst->chexbert,  &dst->backend,     &dst->labeler_dir, &dst->bertscore_model};
    int bad = 0;
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        if (*d[i] && !(*d[i] = strdup(*d[i]))) bad = 1;
    if (bad) {
        xrem_eval__opts_clear(dst); /* strdup failures left NULLs; the rest are ours */
        return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    return XREM_OK;
}

void xrem_eval_opts_set_progress(xrem_eval_opts *o, xrem_eval_progress_fn fn, void *user)
{
    if (!o) return;
    o->progress = fn;
    o->progress_user = user;
}

void xrem_eval_opts_use_backend(xrem_eval_opts *o, xrem_backend *be)
{
    if (o) o->be_user = be;
}

void xrem_eval__opts_note(const xrem_eval_opts *o, xrem_eval_level level, const char *fmt, ...)
{
    if (!o->progress) return;
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->progress(o->progress_user, level, line);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
    if (!s || !*s) return 0;
    uint64_t x = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        if (x > (UINT64_MAX - 9) / 10) return 0;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    if (x > max) return 0;
    *v = x;
    return 1;
}

static xrem_status set_str(char **slot, const char *v)
{
    char *c = v ? strdup(v) : NULL;
    if (v && !c) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    free(*slot);
    *slot = c;
    return XREM_OK;
}

static xrem_status set_bool(int *slot, const char *key, const char *v)
{
    if (!v || !strcmp(v, "0") || !strcmp(v, "false"))
        *slot = 0;
    else if (!strcmp(v, "1") || !strcmp(v, "true"))
        *slot = 1;
    else
        return xrem_fail(XREM_ERR_ARG, "%s '%s': want 1 or 0", key, v);
    return XREM_OK;
}

xrem_status xrem_eval_opts_set(xrem_eval_opts *o, const char *key, const char *v)
{
    if (!o || !key) return xrem_fail(XREM_ERR_ARG, "xrem_eval_opts_set: NULL argument");
    o->checked = 0;
    static const struct {
        const char *key;
        size_t off;
    } strs[] = {
        {"labels-gt", offsetof(xrem_eval_opts, labels_gt)},
        {"labels-pred", offsetof(xrem_eval_opts, labels_pred)},
        {"id-col", offsetof(xrem_eval_opts, id_col)},
        {"text-col", offsetof(xrem_eval_opts, text_col)},
        {"metrics", offsetof(xrem_eval_opts, metrics_arg)},
        {"chexbert", offsetof(xrem_eval_opts, chexbert)},
        {"backend", offsetof(xrem_eval_opts, backend)}, /* checked by xrem_backend_create */
        {"labeler-dir", offsetof(xrem_eval_opts, labeler_dir)},
        {"bertscore-model", offsetof(xrem_eval_opts, bertscore_model)},
    };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        if (!strcmp(key, strs[i].key)) return set_str((char **)((char *)o + strs[i].off), v);
    if (!strcmp(key, "allow-unmatched")) return set_bool(&o->allow_unmatched, key, v);
    if (!strcmp(key, "pandas-na")) return set_bool(&o->pandas_na, key, v);
    if (!strcmp(key, "bertscore-idf")) return set_bool(&o->bs_idf, key, v);
    uint64_t x;
    if (!strcmp(key, "bertscore-layer")) {
        if (!v) {
            o->bs_layer = 5;
            o->bs_layer_set = 0;
        } else if (!parse_u64(v, 256, &x)) {
            return xrem_fail(XREM_ERR_ARG, "bertscore-layer '%s': want 0..256", v);
        } else {
            o->bs_layer = (int)x;
            o->bs_layer_set = 1;
        }
    } else if (!strcmp(key, "threads")) {
        if (v && !parse_u64(v, 4096, &x)) return xrem_fail(XREM_ERR_ARG, "threads '%s': want an integer 0..4096", v);
        o->threads = v ? (int)x : 0;
    } else if (!strcmp(key, "bootstrap")) {
        if (v && !parse_u64(v, 10000000, &x))
            return xrem_fail(XREM_ERR_ARG, "bootstrap '%s': want an integer 0..10000000", v);
        o->B = v ? (int)x : XREM_BOOTSTRAP_DEFAULT;
    } else if (!strcmp(key, "seed")) {
        if (v && !parse_u64(v, UINT64_MAX, &x))
            return xrem_fail(XREM_ERR_ARG, "seed '%s': want a non-negative integer", v);
        o->seed = v ? x : 12345;
    } else if (!strcmp(key, "pandas")) {
        if (v && strcmp(v, "1") && strcmp(v, "2")) return xrem_fail(XREM_ERR_ARG, "pandas '%s': want 1 or 2", v);
        o->pandas = v ? v[0] - '0' : XREM_PANDAS_DEFAULT;
    } else {
        return xrem_fail(XREM_ERR_ARG, "unknown option '%s'", key);
    }
    return XREM_OK;
}

const char *xrem_eval_metric_names(void)
{
    static char names[256];
    if (!names[0]) {
        size_t k = 0;
        for (int i = 0; i < xrem_eval_nmetrics; i++)
            if (xrem_eval_metrics[i].name)
                xrem_eval__sigf(names, &k, sizeof names, "%s%s", k ? ", " : "", xrem_eval_metrics[i].name);
    }
    return names;
}

static xrem_status parse_metrics(xrem_eval_opts *o)
{
    char buf[256];
    if (strlen(o->metrics_arg) >= sizeof buf) return xrem_fail(XREM_ERR_ARG, "--metrics list too long");
    strcpy(buf, o->metrics_arg);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int i = 0; i < xrem_eval_nmetrics && !found; i++) {
            const xrem_eval_metric *m = &xrem_eval_metrics[i];
            if (m->name && !strcmp(tok, m->name)) {
                o->metrics |= m->bit | m->implies;
                found = 1;
            }
        }
        if (found) continue;
        if (!strcmp(tok, "radgraph"))
            return xrem_fail(XREM_ERR_UNSUPPORTED,
                             "metric '%s' is not available yet in this build (available: %s; radcliq reads RadGraph F1 "
                             "from a '" XREM_EVAL_RADGRAPH_COL "' column)",
                             tok, xrem_eval_metric_names());
        return xrem_fail(XREM_ERR_ARG, "unknown metric '%s' (available: %s)", tok, xrem_eval_metric_names());
    }
    if (!o->metrics) return xrem_fail(XREM_ERR_ARG, "--metrics is empty");
    return XREM_OK;
}

xrem_status xrem_eval_opts_check(xrem_eval_opts *o)
{
    if (!o) return xrem_fail(XREM_ERR_ARG, "xrem_eval_opts_check: opts is NULL");
    o->checked = 0;
    o->metrics = 0;
    o->rule = 0;
    if (!o->labels_gt != !o->labels_pred) return xrem_fail(XREM_ERR_ARG, "--labels-gt and --labels-pred go together");
    if (o->chexbert && !*o->chexbert) return xrem_fail(XREM_ERR_ARG, "--chexbert is empty");
    if (!o->metrics_arg) {
        o->metrics = XREM_M_BLEU2 | XREM_M_BLEU | (o->labels_gt ? XREM_M_LABELS : 0) | (o->chexbert ? XREM_M_SEMB : 0);
        if (o->chexbert && !o->labels_gt) o->metrics |= XREM_M_LABELS | XREM_M_CHEXBERT;
    } else {
        xrem_status st = parse_metrics(o);
        if (st) return st;
    }
    /* RadCliQ's inputs: bleu2 always, semb and bertscore when their models are there (what is still
     * missing is reported after loading, with the radgraph column's check) */
    if (o->metrics & XREM_M_RADCLIQ)
        o->metrics |= XREM_M_BLEU2 | (o->chexbert ? XREM_M_SEMB : 0) | (o->bertscore_model ? XREM_M_BERTSCORE : 0);
    if (!o->metrics_arg && o->bertscore_model) o->metrics |= XREM_M_BERTSCORE;
    if ((o->metrics & XREM_M_CHEXBERT) && o->labels_gt)
        return xrem_fail(XREM_ERR_ARG,
                         "metric 'chexbert' labels the reports with the model; drop --labels-gt/--labels-pred "
                         "(or use 'labels' with the files)");
    if ((o->metrics & XREM_M_CHEXBERT) && !o->chexbert)
        return xrem_fail(XREM_ERR_ARG, "--metrics chexbert needs --chexbert W.h5");
    /* without label files or CheXbert weights, the rule-based labeler labels both sides (and says so) */
    o->rule = (o->metrics & XREM_M_LABELS) && !o->labels_gt && !o->chexbert;
    if ((o->metrics & XREM_M_SEMB) && !o->chexbert)
        return xrem_fail(XREM_ERR_ARG, "--metrics semb needs --chexbert W.h5");
    if ((o->metrics & XREM_M_BERTSCORE) && !o->bertscore_model && access(XREM_EVAL_DEFAULT_PROXY, R_OK) == 0) {
        xrem_status st = set_str(&o->bertscore_model, XREM_EVAL_DEFAULT_PROXY);
        if (st) return st;
        if (!o->bs_layer_set) o->bs_layer = -1; /* its last layer */
        xrem_eval__opts_note(o, XREM_EVAL_WARN,
                             "bertscore: no --bertscore-model, using the proxy encoder %s (all-MiniLM-L6-v2); "
                             "the exact metric needs distilroberta-base",
                             XREM_EVAL_DEFAULT_PROXY);
    }
    if ((o->metrics & XREM_M_BERTSCORE) && !o->bertscore_model)
        return xrem_fail(XREM_ERR_ARG, "--metrics bertscore needs --bertscore-model M.h5 (distilroberta-base converted "
                                       "with scripts/convert_hf.py --name distilroberta-base, or any BERT-family "
                                       "encoder as a proxy)");
    if (o->labels_gt && !(o->metrics & XREM_M_LABELS))
        return xrem_fail(XREM_ERR_ARG, "label files given but 'labels' is not in --metrics");
    if (o->chexbert && !(o->metrics & (XREM_M_CHEXBERT | XREM_M_SEMB)) &&
        !((o->metrics & XREM_M_LABELS) && !o->labels_gt))
        return xrem_fail(XREM_ERR_ARG, "--chexbert given but no metric uses it (chexbert, semb, labels without label "
                                       "files, radcliq)");
    o->checked = 1;
    return XREM_OK;
}

/* Labels come from the CheXbert model: the labels metric without label files (incl. 'chexbert'). */
int xrem_eval__model_labels(const xrem_eval_opts *o)
{
    return (o->metrics & XREM_M_LABELS) && !o->labels_gt;
}
int xrem_eval__need_chexbert(const xrem_eval_opts *o)
{
    return (xrem_eval__model_labels(o) && !o->rule) || (o->metrics & XREM_M_SEMB);
}

int xrem_eval_opts_has_metric(const xrem_eval_opts *o, const char *name)
{
    if (!o || !name || !o->checked) return 0;
    for (int i = 0; i < xrem_eval_nmetrics; i++)
        if (xrem_eval_metrics[i].name && !strcmp(xrem_eval_metrics[i].name, name))
            return (o->metrics & xrem_eval_metrics[i].bit) != 0;
    return 0;
}
