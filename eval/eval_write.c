/* The outputs of an evaluation: per_report.csv, summary.json, summary.md and the text summary
 * `xrem eval` prints, to a FILE, to memory, or as the three files of an output folder (written
 * under temporary names and renamed only when all three are complete). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/csv.h"
#include "core/outpath.h"
#include "core/tmpfile.h"
#include "eval_internal.h"

static void ev_json_str(FILE *f, const char *s)
{
    size_t n = strlen(s);
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t bad;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else if (c >= 0x80 && !xrem_utf8_valid(s + i, n - i, &bad) && bad == 0)
            fputs("\\ufffd", f);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void ev_json_num(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    char b[40];
    for (int p = 15; p <= 17; p++) {
        snprintf(b, sizeof b, "%.*g", p, v);
        if (strtod(b, NULL) == v) break;
    }
    fputs(b, f);
}

static void ev_json_prf(FILE *f, const char *key, const xrem_prf *p, const char *trail)
{
    fprintf(f, "      \"%s\": {\"precision\": ", key);
    ev_json_num(f, p->precision);
    fputs(", \"recall\": ", f);
    ev_json_num(f, p->recall);
    fputs(", \"f1\": ", f);
    ev_json_num(f, p->f1);
    fprintf(f, ", \"support\": %" PRId64 "}%s\n", p->support, trail);
}

static void ev_json_report(FILE *f, const char *key, const xrem_label_report *r, const int *cols)
{
    fprintf(f, "    \"%s\": {\n", key);
    for (int j = 0; j < r->ncond; j++)
        ev_json_prf(f, xrem_chexbert_conditions[cols[j]], &r->cond[j], ",");
    ev_json_prf(f, "micro avg", &r->micro, ",");
    ev_json_prf(f, "macro avg", &r->macro, ",");
    ev_json_prf(f, "weighted avg", &r->weighted, ",");
    ev_json_prf(f, "samples avg", &r->samples, "");
    fprintf(f, "    },\n");
}

static void ev_json_ci(FILE *f, int have, const xrem_ci *ci)
{
    if (!have) return;
    fputs(", \"ci95\": [", f);
    ev_json_num(f, ci->lo);
    fputs(", ", f);
    ev_json_num(f, ci->hi);
    fputs("]", f);
}

void xrem_eval__write_json(FILE *f, const xrem_eval_result *s)
{
    const xrem_eval_opts *o = &s->o;
    static const int all14[XREM_NCOND] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    fputs("{\n  \"signature\": ", f);
    ev_json_str(f, s->sig);
    fputs(",\n  \"inputs\": {\"gt\": ", f);
    ev_json_str(f, s->gt->path);
    fputs(", \"pred\": ", f);
    ev_json_str(f, s->pred->path);
    if (s->pb) {
        fputs(", \"pred_b\": ", f);
        ev_json_str(f, s->pb->path);
    }
    fprintf(f,
            ", \"gt_reports\": %" PRId64 ", \"pred_reports\": %" PRId64 ", \"shared\": %" PRId64
            ", \"gt_empty\": %" PRId64 ", \"pred_empty\": %" PRId64 "},\n",
            s->gt->n, s->pred->n, s->n, s->gt_empty, s->pred_empty);
    fputs("  \"metrics\": {\n", f);
    int first = 1;
    if (o->metrics & XREM_M_BLEU2) {
        fputs("    \"bleu2\": {\"mean\": ", f);
        ev_json_num(f, xrem_eval__mean(s->bleu2, s->n));
        if (s->have_ci) {
            fputs(", \"ci95\": [", f);
            ev_json_num(f, s->ci_bleu2.lo);
            fputs(", ", f);
            ev_json_num(f, s->ci_bleu2.hi);
            fputs("]", f);
        }
        fputs("}", f);
        first = 0;
    }
    if (o->metrics & XREM_M_BLEU) {
        fputs(",\n    \"nltk_corpus_bleu\": {", f);
        for (int nn = 1; nn <= 4; nn++) {
            fprintf(f, "%s\"bleu%d\": ", nn > 1 ? ", " : "", nn);
            ev_json_num(f, xrem_bleu_nltk_score(&s->nltk, nn, XREM_BLEU_SMOOTH_NONE));
        }
        fputs("},\n    \"sacrebleu\": {\"corpus\": ", f);
        ev_json_num(f, xrem_sacrebleu_score(&s->sac, 0));
        fputs(", \"sentence_mean\": ", f);
        ev_json_num(f, xrem_eval__mean(s->sacre, s->n));
        fprintf(f, ", \"sys_len\": %" PRId64 ", \"ref_len\": %" PRId64 "}", s->sac.hyp_len, s->sac.ref_len);
    }
    if (s->pb) {
        fprintf(f, "%s    \"bleu2_b\": {\"mean\": ", first ? "" : ",\n");
        ev_json_num(f, xrem_eval__mean(s->bleu2_b, s->n));
        if (s->have_ci) {
            fputs(", \"ci95\": [", f);
            ev_json_num(f, s->ci_bleu2_b.lo);
            fputs(", ", f);
            ev_json_num(f, s->ci_bleu2_b.hi);
            fputs("]", f);
        }
        fputs("}", f);
        if (s->have_paired) {
            fputs(",\n    \"paired_bleu2_b_minus_pred\": {\"diff\": ", f);
            ev_json_num(f, s->paired.diff);
            fputs(", \"ci95\": [", f);
            ev_json_num(f, s->paired.lo);
            fputs(", ", f);
            ev_json_num(f, s->paired.hi);
            fputs("], \"p_value\": ", f);
            ev_json_num(f, s->paired.p_value);
            fputs("}", f);
        }
        first = 0;
    }
    if (s->bertscore) {
        fprintf(f, "%s    \"bertscore\": {\"setting\": ", first ? "" : ",\n");
        ev_json_str(f, s->bs_sig);
        fputs(", \"f1_mean\": ", f);
        ev_json_num(f, xrem_eval__mean(s->bertscore, s->n));
        fputs(", \"p_mean\": ", f);
        ev_json_num(f, s->bs_mean_p);
        fputs(", \"r_mean\": ", f);
        ev_json_num(f, s->bs_mean_r);
        ev_json_ci(f, s->o.B > 0, &s->ci_bertscore);
        fputs("}", f);
        first = 0;
    }
    if (s->semb) {
        fprintf(f, "%s    \"semb\": {\"model\": ", first ? "" : ",\n");
        ev_json_str(f, s->chexbert_sig);
        fputs(", \"mean\": ", f);
        ev_json_num(f, xrem_eval__mean(s->semb, s->n));
        ev_json_ci(f, s->o.B > 0, &s->ci_semb);
        fputs("}", f);
        first = 0;
    }
    for (int v = 0; v < 2 && s->radcliq[0]; v++) {
        fprintf(f, "%s    \"radcliq_v%d\": {\"mean\": ", first ? "" : ",\n", v);
        ev_json_num(f, xrem_eval__mean(s->radcliq[v], s->n));
        ev_json_ci(f, s->o.B > 0, &s->ci_radcliq[v]);
        fputs(", \"radgraph_from\": ", f);
        ev_json_str(f, s->radgraph_src);
        fputs("}", f);
        first = 0;
    }
    fputs("\n  },\n", f);
    if (o->metrics & XREM_M_LABELS) {
        fputs("  \"labels\": {\n    \"labeler\": ", f);
        ev_json_str(f, o->rule                      ? s->rule_sig
                       : xrem_eval__model_labels(o) ? s->chexbert_sig
                                                    : "CheXbert labels from files");
        fputs(",\n", f);
        ev_json_report(f, "rrg_all14", &s->lf.all, all14);
        ev_json_report(f, "rrg_top5", &s->lf.top5, xrem_chexbert_top5);
        fputs("    \"accuracy_top5\": ", f);
        ev_json_num(f, s->lf.accuracy5);
        fputs(",\n    \"accuracy_all14\": ", f);
        ev_json_num(f, s->lf.accuracy14);
        fputs(",\n    \"repair_macro_f1\": ", f);
        ev_json_num(f, s->repair_f1);
        fputs(",\n    \"repair_bootstrap10\": {\"mean\": ", f);
        ev_json_num(f, s->repair_mean);
        fputs(", \"half_width95\": ", f);
        ev_json_num(f, s->repair_half);
        fputs(", \"scores\": [", f);
        for (int r = 0; r < 10; r++) {
            if (r) fputs(", ", f);
            ev_json_num(f, s->repair_scores[r]);
        }
        fputs("]}\n  },\n", f);
    }
    fputs("  \"timing_s\": {\"load\": ", f);
    ev_json_num(f, s->t_load);
    fputs(", \"bleu2\": ", f);
    ev_json_num(f, s->t_bleu2);
    fputs(", \"bleu2_cpu\": ", f);
    ev_json_num(f, s->t_bleu2_cpu);
    fputs(", \"bleu_corpus_and_sacre\": ", f);
    ev_json_num(f, s->t_bleu);
    fputs(", \"labels\": ", f);
    ev_json_num(f, s->t_labels);
    fputs(", \"chexbert\": ", f);
    ev_json_num(f, s->t_chexbert);
    fputs(", \"bootstrap\": ", f);
    ev_json_num(f, s->t_boot);
    fputs("}\n}\n", f);
}

void xrem_eval__write_md(FILE *f, const xrem_eval_result *s)
{
    const xrem_eval_opts *o = &s->o;
    fprintf(f, "# xrem eval\n\n");
    fprintf(f, "- GT: `%s` (%" PRId64 " reports, %" PRId64 " empty among the scored)\n", s->gt->path, s->gt->n,
            s->gt_empty);
    fprintf(f, "- PRED: `%s` (%" PRId64 " reports, %" PRId64 " empty among the scored)\n", s->pred->path, s->pred->n,
            s->pred_empty);
    if (s->pb) fprintf(f, "- PRED-B: `%s` (%" PRId64 " reports)\n", s->pb->path, s->pb->n);
    fprintf(f, "- scored study ids: %" PRId64 "\n\n", s->n);
    fprintf(f, "| metric | value | 95%% CI |\n|---|---|---|\n");
    if (o->metrics & XREM_M_BLEU2) {
        fprintf(f, "| BLEU-2 (CXR-Report-Metric, mean) | %.4f |", xrem_eval__mean(s->bleu2, s->n));
        if (s->have_ci)
            fprintf(f, " %.4f – %.4f |\n", s->ci_bleu2.lo, s->ci_bleu2.hi);
        else
            fprintf(f, " |\n");
    }
    if (o->metrics & XREM_M_BLEU) {
        for (int nn = 1; nn <= 4; nn++)
            fprintf(f, "| NLTK corpus BLEU-%d | %.4f | |\n", nn,
                    xrem_bleu_nltk_score(&s->nltk, nn, XREM_BLEU_SMOOTH_NONE));
        fprintf(f, "| sacreBLEU corpus (13a) | %.2f | |\n", xrem_sacrebleu_score(&s->sac, 0));
        fprintf(f, "| sacreBLEU sentence mean | %.2f | |\n", xrem_eval__mean(s->sacre, s->n));
    }
    if (s->pb) {
        fprintf(f, "| BLEU-2 of PRED-B (mean) | %.4f |", xrem_eval__mean(s->bleu2_b, s->n));
        if (s->have_ci)
            fprintf(f, " %.4f – %.4f |\n", s->ci_bleu2_b.lo, s->ci_bleu2_b.hi);
        else
            fprintf(f, " |\n");
        if (s->have_paired)
            fprintf(f, "| BLEU-2 PRED-B − PRED (paired bootstrap) | %+.4f (p = %.4f) | %.4f – %.4f |\n", s->paired.diff,
                    s->paired.p_value, s->paired.lo, s->paired.hi);
    }
    if (o->metrics & XREM_M_LABELS) {
        fprintf(f, "| label micro-F1, 14 (rrg) | %.4f | |\n", s->lf.all.micro.f1);
        fprintf(f, "| CheXbert macro-F1, 14 (rrg) | %.4f | |\n", s->lf.all.macro.f1);
        fprintf(f, "| CheXbert weighted-F1, 14 (rrg) | %.4f | |\n", s->lf.all.weighted.f1);
        fprintf(f, "| label micro-F1, top 5 (rrg) | %.4f | |\n", s->lf.top5.micro.f1);
        fprintf(f, "| CheXbert macro-F1, top 5 (rrg) | %.4f | |\n", s->lf.top5.macro.f1);
        fprintf(f, "| CheXbert accuracy, top 5 | %.4f | |\n", s->lf.accuracy5);
        fprintf(f, "| CXR-RePaiR macro-F1, 14 (all reports) | %.4f | |\n", s->repair_f1);
        fprintf(f, "| CXR-RePaiR macro-F1, 14 (mean of 10 resamples) | %.4f | ± %.4f (t, 9 d.o.f.) |\n", s->repair_mean,
                s->repair_half);
    }
    if (s->bertscore) {
        fprintf(f, "| BERTScore F1 (mean, rescaled) | %.4f |", xrem_eval__mean(s->bertscore, s->n));
        if (o->B > 0)
            fprintf(f, " %.4f – %.4f |\n", s->ci_bertscore.lo, s->ci_bertscore.hi);
        else
            fprintf(f, " |\n");
    }
    if (s->semb) {
        fprintf(f, "| CheXbert s_emb (mean) | %.4f |", xrem_eval__mean(s->semb, s->n));
        if (o->B > 0)
            fprintf(f, " %.4f – %.4f |\n", s->ci_semb.lo, s->ci_semb.hi);
        else
            fprintf(f, " |\n");
    }
    for (int v = 0; v < 2 && s->radcliq[0]; v++) {
        fprintf(f, "| RadCliQ-v%d (mean, lower is better) | %.4f |", v, xrem_eval__mean(s->radcliq[v], s->n));
        if (o->B > 0)
            fprintf(f, " %.4f – %.4f |\n", s->ci_radcliq[v].lo, s->ci_radcliq[v].hi);
        else
            fprintf(f, " |\n");
    }
    if ((o->metrics & XREM_M_LABELS) && !xrem_eval__model_labels(o))
        fprintf(f, "\nLabels: CheXbert labels read from `%s` and `%s`.\n", o->labels_gt, o->labels_pred);
    if (o->rule)
        fprintf(f,
                "\nLabels: GT and PRED labelled by xrem's rule-based labeler (%s; phrase lists in data/labeler/), "
                "a transparent fallback, not CheXbert.\n",
                s->rule_sig);
    else if (xrem_eval__model_labels(o))
        fprintf(f,
                "\nLabels: GT and PRED labelled by the CheXbert model `%s` (%s, reports cut at %d tokens); "
                "per_report.csv holds both sides' labels ('' blank, 1 positive, 0 negative, -1 uncertain).\n",
                o->chexbert, s->chexbert_sig, s->chexbert_max_len);
    if (s->semb)
        fprintf(f, "\ns_emb: cosine of the raw last-layer [CLS] vectors of each GT/PRED pair (%s).\n", s->chexbert_sig);
    if (s->radcliq[0])
        fprintf(f, "\nRadCliQ: from radgraph (column '%s' of `%s`), bertscore, semb and bleu2 per report.\n",
                XREM_EVAL_RADGRAPH_COL, s->radgraph_src);
    fprintf(f, "\nSignature (every setting that changes a number):\n\n```\n%s\n```\n", s->sig);
}

/* mkdir -p */
static int ev_mkdirs(const char *dir)
{
    char p[4096];
    size_t n = strlen(dir);
    if (n >= sizeof p) {
        xrem_fail(XREM_ERR_IO, "%s: path too long", dir);
        return 0;
    }
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != 0) continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            xrem_fail(XREM_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
            return 0;
        }
        p[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        xrem_fail(XREM_ERR_IO, "%s: not a directory", dir);
        return 0;
    }
    return 1;
}

void xrem_eval__write_text(FILE *f, const xrem_eval_result *s)
{
    if (s->bleu2) {
        fprintf(f, "  BLEU-2 mean %.4f", xrem_eval__mean(s->bleu2, s->n));
        if (s->have_ci) fprintf(f, " (95%% CI %.4f-%.4f, %d resamples)", s->ci_bleu2.lo, s->ci_bleu2.hi, s->o.B);
        fprintf(f, "; %" PRId64 " pairs in %.3f s (%.0f pairs/s)\n", s->n * (s->pb ? 2 : 1), s->t_bleu2,
                s->t_bleu2 > 0 ? (double)(s->n * (s->pb ? 2 : 1)) / s->t_bleu2 : 0.0);
    }
    if (s->sacre)
        fprintf(f, "  NLTK corpus BLEU-4 %.4f, sacreBLEU corpus %.2f\n",
                xrem_bleu_nltk_score(&s->nltk, 4, XREM_BLEU_SMOOTH_NONE), xrem_sacrebleu_score(&s->sac, 0));
    if (s->have_paired) fprintf(f, "  BLEU-2 B - PRED %+.4f (p = %.4f)\n", s->paired.diff, s->paired.p_value);
    if (s->acc5)
        fprintf(f, "  label micro-F1 14 %.4f, top-5 %.4f; CXR-RePaiR macro-F1 %.4f +- %.4f (labels: %s)\n",
                s->lf.all.micro.f1, s->lf.top5.micro.f1, s->repair_mean, s->repair_half,
                s->o.rule                        ? s->rule_sig
                : xrem_eval__model_labels(&s->o) ? s->chexbert_sig
                                                 : "files");
    if (s->semb) {
        fprintf(f, "  s_emb mean %.4f", xrem_eval__mean(s->semb, s->n));
        if (s->o.B > 0) fprintf(f, " (95%% CI %.4f-%.4f)", s->ci_semb.lo, s->ci_semb.hi);
        fprintf(f, "\n");
    }
    if (s->radcliq[0])
        fprintf(f, "  RadCliQ-v0 mean %.4f, RadCliQ-v1 mean %.4f\n", xrem_eval__mean(s->radcliq[0], s->n),
                xrem_eval__mean(s->radcliq[1], s->n));
}

void xrem_eval__write_per_report(FILE *f, const xrem_eval_result *s)
{
    xrem_csv_writer w;
    xrem_csv_writer_init(&w, f);
    xrem_csv_put(&w, "study_id", (size_t)-1);
    for (int c = 0; c < s->ncols; c++)
        xrem_csv_put(&w, s->cols[c].name, (size_t)-1);
    xrem_csv_end_row(&w);
    char cell[64];
    for (int64_t i = 0; i < s->n; i++) {
        xrem_csv_put_i64(&w, s->ids[i]);
        for (int c = 0; c < s->ncols; c++) {
            if (s->cols[c].kind == XREM_EVAL_COL_F64)
                xrem_csv_put_f64(&w, s->cols[c].f64[i]);
            else
                xrem_csv_put(&w, xrem_eval_result_cell(s, i, c, cell, sizeof cell), (size_t)-1);
        }
        xrem_csv_end_row(&w);
    }
}

typedef void (*ev_writer)(FILE *, const xrem_eval_result *);
static const ev_writer ev_writers[] = {xrem_eval__write_per_report, xrem_eval__write_json, xrem_eval__write_md,
                                       xrem_eval__write_text};

xrem_status xrem_eval_result_format(const xrem_eval_result *r, xrem_eval_format fmt, char **text, size_t *len)
{
    if (!text) return xrem_fail(XREM_ERR_ARG, "xrem_eval_result_format: text is NULL");
    *text = NULL;
    if (len) *len = 0;
    if (!r || (int)fmt < 0 || (size_t)fmt >= sizeof ev_writers / sizeof *ev_writers)
        return xrem_fail(XREM_ERR_ARG, "xrem_eval_result_format: bad result or format %d", (int)fmt);
    size_t n = 0;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    ev_writers[fmt](f, r);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(buf);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory formatting the result");
    }
    *text = buf;
    if (len) *len = n;
    return XREM_OK;
}

void xrem_eval_text_free(char *text)
{
    free(text);
}

static const char *const ev_out_names[3] = {"per_report.csv", "summary.json", "summary.md"};

xrem_status xrem_eval_check_outdir(const char *dir, const xrem_eval_opts *o, const xrem_eval_inputs *in)
{
    if (!dir || !o || !in) return xrem_fail(XREM_ERR_ARG, "xrem_eval_check_outdir: NULL argument");
    const xrem_eval_table *t[3] = {in->gt, in->pred, in->pred_b};
    const char *inputs[6];
    for (int k = 0; k < 3; k++)
        inputs[k] = t[k] && t[k]->path ? t[k]->path : "";
    inputs[3] = o->labels_gt ? o->labels_gt : "";
    inputs[4] = o->labels_pred ? o->labels_pred : "";
    inputs[5] = NULL;
    xrem_status st = xrem_outdir_check(dir);
    for (int k = 0; !st && k < 3; k++)
        st = xrem_out_not_input(dir, ev_out_names[k], inputs);
    return st;
}

xrem_status xrem_eval_result_write(const xrem_eval_result *r, const char *dir)
{
    if (!r || !dir) return xrem_fail(XREM_ERR_ARG, "xrem_eval_result_write: NULL argument");
    if (!ev_mkdirs(dir)) return XREM_ERR_IO;
    xrem_tmpfile t[3];
    memset(t, 0, sizeof t);
    xrem_status st = XREM_OK;
    /* all three are written and closed before any is renamed: they appear together */
    for (int k = 0; k < 3 && !st; k++) {
        char final[4200];
        snprintf(final, sizeof final, "%s/%s", dir, ev_out_names[k]);
        st = xrem_tmpfile_open(&t[k], final);
        if (!st) ev_writers[k](t[k].f, r);
        if (!st) st = xrem_tmpfile_close(&t[k]);
    }
    for (int k = 0; k < 3 && !st; k++)
        st = xrem_tmpfile_commit(&t[k]);
    for (int k = 0; k < 3; k++)
        xrem_tmpfile_discard(&t[k]);
    return st;
}
