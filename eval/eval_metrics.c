/* The table of metrics behind xrem_eval_run: one row per metric (its name in "metrics", what it
 * needs, its per-report columns, how it is computed, its part of the signature), and the compute
 * functions. Rows run in table order; their columns and signature parts appear in that order.
 * Adding a metric is a row here and its compute function (a file of its own when it is large).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bertscore.h"
#include "eval_internal.h"
#include "models/chexbert.h"
#include "radcliq.h"
#include "rule_labeler.h"

#define NOMEM() xrem_fail(XREM_ERR_NOMEM, "out of memory")

static double *alloc_n(const xrem_eval_result *r)
{
    return malloc(sizeof(double) * (size_t)(r->n > 0 ? r->n : 1));
}

static xrem_status ci(const xrem_eval_result *r, const double *x, xrem_ci *out)
{
    return xrem_bootstrap_mean_ci(x, r->n, r->o.B, 0.95, r->o.seed, out);
}

/* --- BLEU ------------------------------------------------------------------------------------------ */
static xrem_status bleu2_compute(xrem_eval_result *r)
{
    size_t n = (size_t)r->n;
    xrem_bleu_ws *ws;
    xrem_status st = xrem_bleu_ws_create(&ws);
    if (st) return st;
    if (!(r->bleu2 = alloc_n(r))) {
        xrem_bleu_ws_free(ws);
        return NOMEM();
    }
    double t0 = xrem_eval__now(), c0 = xrem_eval__cpu();
    for (size_t i = 0; i < n && !st; i++)
        st = xrem_bleu2(ws, r->tg[i], r->lg[i], r->tp[i], r->lp[i], &r->bleu2[i]);
    xrem_bleu_ws_free(ws);
    r->t_bleu2 += xrem_eval__now() - t0;
    r->t_bleu2_cpu += xrem_eval__cpu() - c0;
    if (st || r->o.B <= 0) return st;
    t0 = xrem_eval__now();
    if ((st = ci(r, r->bleu2, &r->ci_bleu2))) return st;
    r->have_ci = 1;
    r->t_boot += xrem_eval__now() - t0;
    return XREM_OK;
}

static xrem_status bleu2_columns(xrem_eval_result *r)
{
    return xrem_eval__add_col(r, "bleu2", XREM_EVAL_COL_F64, r->bleu2, NULL, 0);
}

static void bleu2_sig(const xrem_eval_result *r, char *b, size_t *k, size_t cap)
{
    (void)r;
    xrem_eval__sigf(b, k, cap, "|bleu2:fast_bleu-0.0.90|tok:pylower+period+split-space|smooth:method1-0.1|w:0.5,0.5");
}

/* NLTK corpus BLEU-1..4 and sacreBLEU (corpus, and per sentence with effective order) */
static xrem_status bleu_compute(xrem_eval_result *r)
{
    size_t n = (size_t)r->n;
    xrem_bleu_ws *ws;
    xrem_status st = xrem_bleu_ws_create(&ws);
    if (st) return st;
    if (!(r->sacre = alloc_n(r))) {
        xrem_bleu_ws_free(ws);
        return NOMEM();
    }
    double t0 = xrem_eval__now();
    memset(&r->nltk, 0, sizeof r->nltk);
    memset(&r->sac, 0, sizeof r->sac);
    for (size_t i = 0; i < n && !st; i++) {
        xrem_bleu_stats a, b;
        st = xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_NLTK, r->tg[i], r->lg[i], r->tp[i], r->lp[i], 4, &a);
        if (!st) st = xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_13A, r->tg[i], r->lg[i], r->tp[i], r->lp[i], 4, &b);
        if (st) break;
        xrem_bleu_stats_add(&r->nltk, &a);
        xrem_bleu_stats_add(&r->sac, &b);
        r->sacre[i] = xrem_sacrebleu_score(&b, 1);
    }
    xrem_bleu_ws_free(ws);
    r->t_bleu = xrem_eval__now() - t0;
    return st;
}

static xrem_status bleu_columns(xrem_eval_result *r)
{
    return xrem_eval__add_col(r, "sacrebleu", XREM_EVAL_COL_F64, r->sacre, NULL, 0);
}

static void bleu_sig(const xrem_eval_result *r, char *b, size_t *k, size_t cap)
{
    (void)r;
    xrem_eval__sigf(b, k, cap,
                    "|nltk-corpus:bleu1-4,smooth:none|sacrebleu:2.x,tok:13a,smooth:exp,case:mixed,sent-eff:yes,"
                    "corpus-eff:no");
}

/* A second system: its BLEU-2 per report and the paired bootstrap test B vs PRED. */
static int bleu2_b_on(const xrem_eval_result *r)
{
    return r->pb != NULL;
}

static xrem_status bleu2_b_compute(xrem_eval_result *r)
{
    size_t n = (size_t)r->n;
    xrem_bleu_ws *ws;
    xrem_status st = xrem_bleu_ws_create(&ws);
    if (st) return st;
    if (!(r->bleu2_b = alloc_n(r))) {
        xrem_bleu_ws_free(ws);
        return NOMEM();
    }
    double t0 = xrem_eval__now(), c0 = xrem_eval__cpu();
    for (size_t i = 0; i < n && !st; i++)
        st = xrem_bleu2(ws, r->tg[i], r->lg[i], r->tb[i], r->lb[i], &r->bleu2_b[i]);
    xrem_bleu_ws_free(ws);
    r->t_bleu2 += xrem_eval__now() - t0;
    r->t_bleu2_cpu += xrem_eval__cpu() - c0;
    if (st || r->o.B <= 0) return st;
    t0 = xrem_eval__now();
    if ((st = ci(r, r->bleu2_b, &r->ci_bleu2_b))) return st;
    if ((st = xrem_bootstrap_paired(r->bleu2_b, r->bleu2, r->n, r->o.B, r->o.seed, &r->paired))) return st;
    r->have_paired = 1;
    r->t_boot += xrem_eval__now() - t0;
    return XREM_OK;
}

static xrem_status bleu2_b_columns(xrem_eval_result *r)
{
    return xrem_eval__add_col(r, "bleu2_b", XREM_EVAL_COL_F64, r->bleu2_b, NULL, 0);
}

/* --- labels ---------------------------------------------------------------------------------------- */
/* Label matrices [n,14] from the two label files, in the scored (GT row) order. */
static xrem_status label_files(xrem_eval_result *r, uint8_t *m[2])
{
    xrem_label_table *lt[2] = {NULL, NULL};
    const char *paths[2] = {r->o.labels_gt, r->o.labels_pred};
    xrem_status st = XREM_OK;
    size_t n = (size_t)r->n;
    for (int t = 0; t < 2 && !st; t++) {
        if ((st = xrem_labels_load(paths[t], &lt[t]))) break;
        if (!(m[t] = malloc(n * XREM_NCOND + 1))) {
            st = NOMEM();
            break;
        }
        for (size_t i = 0; i < n; i++) {
            int64_t id = r->ids[i];
            int64_t row = xrem_ids_find(lt[t]->id, lt[t]->by_id, lt[t]->n, id);
            if (row < 0) {
                st = xrem_fail(XREM_ERR_FORMAT, "%s: no labels for study id %" PRId64 " (%s row %" PRId64 ")", paths[t],
                               id, r->gt->path, r->rg[i] + 1);
                break;
            }
            memcpy(m[t] + i * XREM_NCOND, lt[t]->lab + row * XREM_NCOND, XREM_NCOND);
        }
        if (!st && lt[t]->n > r->n)
            xrem_eval__note(r, XREM_EVAL_NOTE, "  %s: %" PRId64 " labelled reports, %" PRId64 " of them not scored",
                            paths[t], lt[t]->n, lt[t]->n - r->n);
    }
    for (int t = 0; t < 2; t++)
        xrem_labels_free(lt[t]);
    return st;
}

/* GT and PRED labelled by the rule-based labeler (users without CheXbert weights). */
static xrem_status rule_labels(xrem_eval_result *r)
{
    const int64_t n = r->n;
    const char **texts = malloc(sizeof *texts * (size_t)(2 * n + 1));
    int32_t *cls = malloc(sizeof *cls * (size_t)(2 * n + 1) * XREM_NCOND);
    xrem_rule_labeler *lab = NULL;
    xrem_status st = XREM_OK;
    if (!texts || !cls) {
        st = NOMEM();
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        texts[i] = r->tg[i];
        texts[n + i] = r->tp[i];
    }
    if ((st = xrem_rule_labeler_load(r->o.labeler_dir, &lab)) || (st = xrem_rule_labeler_label(lab, texts, 2 * n, cls)))
        goto done;
    for (int t = 0; t < 2; t++) {
        if (!(r->lab[t] = malloc((size_t)n * XREM_NCOND + 1))) {
            st = NOMEM();
            goto done;
        }
        for (int64_t k = 0; k < n * XREM_NCOND; k++)
            r->lab[t][k] = (uint8_t)cls[t * n * XREM_NCOND + k];
    }
    snprintf(r->rule_sig, sizeof r->rule_sig, "%s", xrem_rule_labeler_signature(lab));
    xrem_eval__note(r, XREM_EVAL_NOTE,
                    "  labels: rule-based labeler (%s), not CheXbert: pass --chexbert W.h5 for CheXbert labels",
                    r->rule_sig);
done:
    xrem_rule_labeler_free(lab);
    free(texts);
    free(cls);
    return st;
}

/* Label F1 (f1chexbert rrg and CXR-RePaiR) from label files, the CheXbert pass or the rule labeler. */
static xrem_status labels_compute(xrem_eval_result *r)
{
    xrem_status st;
    if (r->o.rule && (st = rule_labels(r))) return st;
    double t0 = xrem_eval__now();
    uint8_t *files[2] = {NULL, NULL};
    uint8_t *m[2] = {r->lab[0], r->lab[1]};
    if (!m[0]) {
        if ((st = label_files(r, files))) goto done;
        m[0] = files[0];
        m[1] = files[1];
    }
    if (!(r->acc5 = alloc_n(r))) {
        st = NOMEM();
        goto done;
    }
    if ((st = xrem_labels_f1_rrg(m[0], m[1], r->n, &r->lf)) ||
        (st = xrem_labels_example_acc5(m[0], m[1], r->n, r->acc5)) ||
        (st = xrem_labels_f1_repair(m[0], m[1], r->n, NULL, 0, &r->repair_f1)) ||
        (st = xrem_labels_repair_interval(m[0], m[1], r->n, 10, r->o.seed, NULL, r->repair_scores, &r->repair_mean,
                                          &r->repair_half)))
        goto done;
done:
    free(files[0]);
    free(files[1]);
    r->t_labels = xrem_eval__now() - t0;
    return st;
}

static xrem_status labels_columns(xrem_eval_result *r)
{
    xrem_status st = xrem_eval__add_col(r, "labels_acc5", XREM_EVAL_COL_F64, r->acc5, NULL, 0);
    for (int t = 0; t < 2 && !st && r->lab[0]; t++)
        for (int j = 0; j < XREM_NCOND && !st; j++) {
            char h[64];
            snprintf(h, sizeof h, "%s:%s", t ? "pred" : "gt", xrem_chexbert_conditions[j]);
            st = xrem_eval__add_col(r, h, XREM_EVAL_COL_LABEL, NULL, r->lab[t], j);
        }
    return st;
}

static void labels_sig(const xrem_eval_result *r, char *b, size_t *k, size_t cap)
{
    const xrem_eval_opts *o = &r->o;
    if (o->rule)
        xrem_eval__sigf(b, k, cap, "|labeler:%s", r->rule_sig);
    else if (xrem_eval__model_labels(o))
        xrem_eval__sigf(b, k, cap, "|labeler:%s,max_len:%d", r->chexbert_sig, r->chexbert_max_len);
    else
        xrem_eval__sigf(b, k, cap, "|labeler:files");
    xrem_eval__sigf(b, k, cap, "|labels:f1chexbert-0.0.2-rrg(pos+unc=1),zero_div:0,repair(pos=1,macro,R:10,t975)");
}

/* --- CheXbert: one pass over GT and PRED gives labels and the [CLS] vectors of s_emb ---------------- */
xrem_status xrem_eval__chexbert_pass(xrem_eval_result *r)
{
    const xrem_eval_opts *o = &r->o;
    double t0 = xrem_eval__now();
    const int64_t n = r->n;
    if (2 * n > INT32_MAX)
        return xrem_fail(XREM_ERR_ARG, "CheXbert: %" PRId64 " reports is too many for one run", 2 * n);
    xrem_chexbert *m = NULL;
    const char **texts = malloc(sizeof *texts * (size_t)(2 * n));
    int32_t *cls = malloc(sizeof *cls * (size_t)(2 * n) * XREM_NCOND);
    xrem_status st = XREM_OK;
    if (!texts || !cls) {
        st = NOMEM();
        goto done;
    }
    if ((st = xrem_chexbert_load(o->chexbert, r->be, &m))) goto done;
    const int C = xrem_chexbert_hidden(m);
    const char *sha = xrem_chexbert_sha256(m);
    snprintf(r->chexbert_sig, sizeof r->chexbert_sig, "chexbert:%s", sha && *sha ? sha : "unknown");
    r->chexbert_C = C;
    r->chexbert_max_len = xrem_chexbert_max_len(m);
    if ((o->metrics & XREM_M_SEMB) && !(r->cls_emb = malloc(sizeof *r->cls_emb * (size_t)(2 * n) * (size_t)C))) {
        st = xrem_fail(XREM_ERR_NOMEM, "out of memory for %" PRId64 " [CLS] vectors", 2 * n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        texts[i] = r->tg[i];
        texts[n + i] = r->tp[i];
    }
    if ((st = xrem_chexbert_run(m, texts, (int)(2 * n), cls, r->cls_emb))) goto done;
    if (xrem_eval__model_labels(o)) {
        for (int t = 0; t < 2; t++) {
            if (!(r->lab[t] = malloc((size_t)n * XREM_NCOND + 1))) {
                st = NOMEM();
                goto done;
            }
            for (int64_t k = 0; k < n * XREM_NCOND; k++)
                r->lab[t][k] = (uint8_t)cls[t * n * XREM_NCOND + k];
        }
    }
    r->t_chexbert = xrem_eval__now() - t0;
    xrem_eval__note(r, XREM_EVAL_NOTE, "  CheXbert (%s, %s): %" PRId64 " reports in %.2f s", o->chexbert,
                    r->chexbert_sig, 2 * n, r->t_chexbert);
done:
    xrem_chexbert_free(m);
    free(texts);
    free(cls);
    return st;
}

/* s_emb: cosine of the GT and PRED reports' raw last-layer [CLS] vectors (CXR-Report-Metric) */
static xrem_status semb_compute(xrem_eval_result *r)
{
    const int64_t n = r->n, C = r->chexbert_C;
    if (!r->cls_emb) return xrem_fail(XREM_ERR_ARG, "semb: the CheXbert pass did not run");
    if (!(r->semb = alloc_n(r))) return NOMEM();
    for (int64_t i = 0; i < n; i++)
        r->semb[i] = xrem_chexbert_semb(r->cls_emb + i * C, r->cls_emb + (n + i) * C, (int)C);
    free(r->cls_emb);
    r->cls_emb = NULL;
    return r->o.B > 0 ? ci(r, r->semb, &r->ci_semb) : XREM_OK;
}

static xrem_status semb_columns(xrem_eval_result *r)
{
    return xrem_eval__add_col(r, "semb", XREM_EVAL_COL_F64, r->semb, NULL, 0);
}

static void semb_sig(const xrem_eval_result *r, char *b, size_t *k, size_t cap)
{
    xrem_eval__sigf(b, k, cap, "|semb:%s,cls-raw,cosine", r->chexbert_sig);
}

/* --- BERTScore --------------------------------------------------------------------------------------- */
/* CXR-Report-Metric collapses runs of spaces before BERTScore: re.sub(r' +', ' ', s) */
static char *squeeze_spaces(const char *t)
{
    char *o = malloc(strlen(t) + 1), *p = o;
    if (!o) return NULL;
    for (; *t; t++)
        if (!(*t == ' ' && p > o && p[-1] == ' ')) *p++ = *t;
    *p = 0;
    return o;
}

/* BERTScore F1 of each (PRED, GT) pair, rescaled with bert_score's published baseline when the
 * model has one, else with a proxy baseline from random pairs of the GT reports (stated). */
static xrem_status bertscore_compute(xrem_eval_result *r)
{
    const xrem_eval_opts *o = &r->o;
    const int64_t n = r->n;
    double t0 = xrem_eval__now(), b[3] = {0, 0, 0};
    xrem_bertscore *bs = NULL;
    char **c = calloc((size_t)n + 1, sizeof *c), **rf = calloc((size_t)n + 1, sizeof *rf);
    double *P = malloc(sizeof *P * (size_t)(n + 1)), *R = malloc(sizeof *R * (size_t)(n + 1));
    r->bertscore = malloc(sizeof *r->bertscore * (size_t)(n + 1));
    xrem_status st = XREM_OK;
    if (!c || !rf || !P || !R || !r->bertscore) {
        st = NOMEM();
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        if (!(c[i] = squeeze_spaces(r->tp[i])) || !(rf[i] = squeeze_spaces(r->tg[i]))) {
            st = NOMEM();
            goto done;
        }
    if ((st = xrem_bertscore_create(o->bertscore_model, o->bs_layer, r->be, &bs))) goto done;
    xrem_bertscore_opts opt;
    xrem_bertscore_opts_default(&opt);
    opt.idf = o->bs_idf;
    if ((st = xrem_bertscore_score(bs, (const char *const *)c, (const char *const *)rf, n, &opt, P, R, r->bertscore)))
        goto done;
    const char *model = xrem_bertscore_model_name(bs), *base = "published";
    if (!xrem_bertscore_known_baseline(model, xrem_bertscore_layer(bs), b)) {
        base = "proxy:gt-random-pairs";
        if (n < 2) {
            st = xrem_fail(XREM_ERR_ARG, "bertscore: a proxy baseline needs at least 2 GT reports, got %" PRId64, n);
            goto done;
        }
        if ((st = xrem_bertscore_baseline(bs, (const char *const *)rf, n, n * 4 < 2000 ? n * 4 : 2000, o->seed, NULL,
                                          b)))
            goto done;
    }
    xrem_bertscore_rescale(b, n, P, R, r->bertscore);
    r->bs_mean_p = xrem_eval__mean(P, n);
    r->bs_mean_r = xrem_eval__mean(R, n);
    if (o->B > 0 && (st = ci(r, r->bertscore, &r->ci_bertscore))) goto done;
    snprintf(r->bs_sig, sizeof r->bs_sig, "bertscore:%s,L%d,idf:%d,baseline:%s(%.6g,%.6g,%.6g),sha:%.16s", model,
             xrem_bertscore_layer(bs), o->bs_idf, base, b[0], b[1], b[2], xrem_bertscore_sha256(bs));
    xrem_eval__note(r, XREM_EVAL_NOTE, "  BERTScore F1 mean %.4f (%s) in %.2f s", xrem_eval__mean(r->bertscore, n),
                    r->bs_sig, xrem_eval__now() - t0);
done:
    for (int64_t i = 0; i < n; i++) {
        if (c) free(c[i]);
        if (rf) free(rf[i]);
    }
    free(c);
    free(rf);
    free(P);
    free(R);
    xrem_bertscore_free(bs);
    return st;
}

static xrem_status bertscore_columns(xrem_eval_result *r)
{
    return xrem_eval__add_col(r, "bertscore", XREM_EVAL_COL_F64, r->bertscore, NULL, 0);
}

static void bertscore_sig(const xrem_eval_result *r, char *b, size_t *k, size_t cap)
{
    xrem_eval__sigf(b, k, cap, "|%s,squeeze-spaces,match-batch:64", r->bs_sig);
}

/* --- RadCliQ ------------------------------------------------------------------------------------------- */
/* The user's per-report RadGraph F1: column 'radgraph' of PRED, else of GT. 0 when neither has it. */
static int find_radgraph(const xrem_eval_result *r, const xrem_reports **t, int *col)
{
    const xrem_reports *src[2] = {r->pred, r->gt};
    for (int s = 0; s < 2; s++)
        for (int c = 0; c < xrem_csv_ncols(src[s]->csv); c++)
            if (!strcmp(xrem_csv_header(src[s]->csv, c), XREM_EVAL_RADGRAPH_COL)) {
                *t = src[s];
                *col = c;
                return 1;
            }
    return 0;
}

static xrem_status read_radgraph(xrem_eval_result *r, const xrem_reports *t, int col)
{
    const int64_t *rows = t == r->pred ? r->rp : r->rg;
    if (!(r->radgraph = alloc_n(r))) return NOMEM();
    for (int64_t i = 0; i < r->n; i++) {
        size_t len;
        const char *v = xrem_csv_get(t->csv, rows[i], col, &len);
        char *end = NULL;
        double x = len ? strtod(v, &end) : NAN;
        if (!len || end != v + len || !isfinite(x) || x < 0 || x > 1)
            return xrem_fail(XREM_ERR_FORMAT,
                             "%s: row %" PRId64 " (line %" PRId64
                             ") field '%s': '%.40s' is not a RadGraph F1 in [0, 1]",
                             t->path, rows[i] + 1, t->line[rows[i]], XREM_EVAL_RADGRAPH_COL, v);
        r->radgraph[i] = x;
    }
    r->radgraph_src = t->path;
    return XREM_OK;
}

/* Before any model runs: every RadCliQ input is there, or one message says which are not. */
static xrem_status radcliq_prepare(xrem_eval_result *r)
{
    const xrem_eval_opts *o = &r->o;
    const xrem_reports *t = NULL;
    int col = -1;
    char missing[640];
    size_t k = 0;
    missing[0] = 0;
    if (!o->bertscore_model)
        xrem_eval__sigf(missing, &k, sizeof missing,
                        "%sbertscore (pass --bertscore-model: distilroberta-base, rescaled)", k ? "; " : "");
    if (!o->chexbert) xrem_eval__sigf(missing, &k, sizeof missing, "%ssemb (pass --chexbert W.h5)", k ? "; " : "");
    if (!find_radgraph(r, &t, &col))
        xrem_eval__sigf(missing, &k, sizeof missing,
                        "%sradgraph (no '%s' column of per-report RadGraph F1 in %s or %s)", k ? "; " : "",
                        XREM_EVAL_RADGRAPH_COL, r->pred->path, r->gt->path);
    if (k)
        return xrem_fail(XREM_ERR_ARG,
                         "metric 'radcliq' needs per-report radgraph, bertscore, semb and bleu2; missing: %s", missing);
    return read_radgraph(r, t, col);
}

static xrem_status radcliq_compute(xrem_eval_result *r)
{
    for (int v = 0; v < 2; v++) {
        xrem_status st;
        if (!(r->radcliq[v] = alloc_n(r))) return NOMEM();
        if ((st = xrem_radcliq((xrem_radcliq_version)v, r->radgraph, r->bertscore, r->semb, r->bleu2, r->n,
                               r->radcliq[v])))
            return st;
        if (r->o.B > 0 && (st = ci(r, r->radcliq[v], &r->ci_radcliq[v]))) return st;
    }
    return XREM_OK;
}

static xrem_status radcliq_columns(xrem_eval_result *r)
{
    xrem_status st = xrem_eval__add_col(r, "radcliq_v0", XREM_EVAL_COL_F64, r->radcliq[0], NULL, 0);
    return st ? st : xrem_eval__add_col(r, "radcliq_v1", XREM_EVAL_COL_F64, r->radcliq[1], NULL, 0);
}

static void radcliq_sig(const xrem_eval_result *r, char *b, size_t *k, size_t cap)
{
    (void)r;
    xrem_eval__sigf(b, k, cap, "|radcliq:v0,v1,radgraph:user-column");
}

/* RadGraph F1 is the user's column (RadCliQ's input), shown beside the metrics */
static int radgraph_on(const xrem_eval_result *r)
{
    return r->radgraph != NULL;
}
static xrem_status radgraph_columns(xrem_eval_result *r)
{
    return xrem_eval__add_col(r, "radgraph", XREM_EVAL_COL_F64, r->radgraph, NULL, 0);
}

/* --- the table ------------------------------------------------------------------------------------------ */
const xrem_eval_metric xrem_eval_metrics[] = {
    {"bleu2", XREM_M_BLEU2, 0, 0, "bleu2", NULL, NULL, bleu2_compute, bleu2_columns, bleu2_sig},
    {"bleu", XREM_M_BLEU, XREM_M_BLEU2, 0, "sacrebleu", NULL, NULL, bleu_compute, bleu_columns, bleu_sig},
    {NULL, 0, 0, XREM_NEED_PRED_B, "bleu2_b", bleu2_b_on, NULL, bleu2_b_compute, bleu2_b_columns, NULL},
    {"labels", XREM_M_LABELS, 0, XREM_NEED_LABELS, "labels_acc5 gt:<condition> pred:<condition>", NULL, NULL,
     labels_compute, labels_columns, labels_sig},
    /* labels from the model: computed by the labels row from the CheXbert pass */
    {"chexbert", XREM_M_CHEXBERT, XREM_M_LABELS, XREM_NEED_CHEXBERT, "", NULL, NULL, NULL, NULL, NULL},
    {"semb", XREM_M_SEMB, 0, XREM_NEED_CHEXBERT, "semb", NULL, NULL, semb_compute, semb_columns, semb_sig},
    {NULL, 0, 0, XREM_NEED_RADGRAPH_COL, "radgraph", radgraph_on, NULL, NULL, radgraph_columns, NULL},
    {"bertscore", XREM_M_BERTSCORE, 0, XREM_NEED_BERTSCORE_MODEL, "bertscore", NULL, NULL, bertscore_compute,
     bertscore_columns, bertscore_sig},
    {"radcliq", XREM_M_RADCLIQ, XREM_M_BLEU2, XREM_NEED_RADGRAPH_COL | XREM_NEED_CHEXBERT | XREM_NEED_BERTSCORE_MODEL,
     "radcliq_v0 radcliq_v1", NULL, radcliq_prepare, radcliq_compute, radcliq_columns, radcliq_sig},
};
const int xrem_eval_nmetrics = (int)(sizeof xrem_eval_metrics / sizeof *xrem_eval_metrics);

int xrem_eval__row_on(const xrem_eval_metric *m, const xrem_eval_result *r)
{
    return m->on ? m->on(r) : (r->o.metrics & m->bit) != 0;
}
