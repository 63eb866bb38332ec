/* xrem eval: score PRED reports against GT reports (BLEU family, CheXbert label F1 from label
 * files or from the CheXbert model, CheXbert s_emb, RadCliQ), with bootstrap CIs and a paired test
 * against a second system.
 *
 * Everything is read and computed before anything is written; the three outputs are written to
 * temporary names in DIR and renamed only when all three are complete, so an error never leaves a
 * half-written file behind.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli/cmd_eval.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "bleu.h"
#include "bertscore.h"
#include "bootstrap.h"
#include "core/csv.h"
#include "core/outpath.h"
#include "core/pandas_na.h"
#include "labels.h"
#include "models/chexbert.h"
#include "radcliq.h"
#include "rule_labeler.h"
#include "reports.h"
#include "xrem/status.h"

#ifndef XREM_GIT_COMMIT
#define XREM_GIT_COMMIT "unknown"
#endif

#define EV_SHOW_IDS 10 /* unmatched ids listed on stdout */

static void ev_usage(FILE *o)
{
    fprintf(o,
            "usage: xrem eval --gt GT.csv --pred PRED.csv --out DIR [options]\n"
            "\n"
            "Scores each PRED report against the GT report with the same study_id (CSV columns\n"
            "study_id and report, as CXR-Report-Metric reads them) and writes DIR/per_report.csv,\n"
            "DIR/summary.json and DIR/summary.md (DIR is created if missing).\n"
            "\n"
            "options:\n"
            "  --metrics LIST        comma-separated, default bleu (+ labels when label files are given,\n"
            "                        + chexbert,semb when --chexbert is given):\n"
            "                          bleu2   BLEU-2 per report as CXR-Report-Metric (fast_bleu 0.0.90)\n"
            "                          bleu    bleu2 + NLTK corpus BLEU-1..4 + sacreBLEU (13a) corpus/sentence\n"
            "                          labels  CheXbert label F1 (f1chexbert rrg mode; CXR-RePaiR macro F1),\n"
            "                                  labels from --labels-gt/--labels-pred, else from --chexbert\n"
            "                          chexbert  labels: GT and PRED labelled by the CheXbert model (--chexbert)\n"
            "                          bertscore  BERTScore F1 per report (bert_score 0.3.x; --bertscore-model;\n"
            "                                  rescaled with bert_score's baseline for distilroberta-base, else\n"
            "                                  with a proxy baseline from random GT pairs, named in the summary)\n"
            "                          semb    CheXbert s_emb: cosine of the GT and PRED reports' raw last-layer\n"
            "                                  [CLS] vectors, per report (CXR-Report-Metric)\n"
            "                          radcliq RadCliQ v0 and v1 per report (CXR-Report-Metric); needs a\n"
            "                                  'radgraph' column (per-report RadGraph F1) in PRED or GT, and\n"
            "                                  bertscore, semb and bleu2 (bleu2, semb, bertscore are added)\n"
            "  --bertscore-model M.h5  encoder for bertscore (scripts/convert_hf.py; distilroberta-base for\n"
            "                        the exact metric, any BERT-family model as a proxy)\n"
            "  --bertscore-layer L   hidden state after layer L (default 5, distilroberta-base's)\n"
            "  --bertscore-idf       idf weights over the GT reports (default off, as CXR-Report-Metric)\n"
            "  --labeler-dir DIR     phrase lists of the rule-based labeler (default data/labeler or\n"
            "                        $XREM_LABELER_DIR); it labels both sides when 'labels' has neither\n"
            "                        label files nor --chexbert\n"
            "  --labels-gt L.csv     CheXbert labels of the GT reports (study_id + the 14 conditions;\n"
            "  --labels-pred L.csv     values '', 1, 0, -1 as CheXbert's label.py writes them)\n"
            "  --chexbert W.h5       CheXbert weights (scripts/convert_chexbert.py) for chexbert, semb and\n"
            "                        labels without label files; per_report.csv then holds each side's 14\n"
            "                        labels (gt:<condition>, pred:<condition>: '', 1, 0, -1 as label files)\n"
            "  --threads N           CPU threads for the CheXbert model (default 0: all cores)\n"
            "  --backend cpu|cuda|cuda:N  where the CheXbert and BERTScore models run (default cpu)\n"
            "  --pred-b B.csv        a second system: per-report BLEU-2 and a paired bootstrap test B vs PRED\n"
            "  --bootstrap N         resamples for the CIs and the paired test (default 1000; 0: none)\n"
            "  --seed S              seed of every resampling (default 12345)\n"
            "  --allow-unmatched     score the shared study ids when the id sets differ (default: error)\n"
            "  --pandas-na           read empty and pandas NA strings ('NA', 'null', 'nan', ...) as the\n"
            "                        text 'nan', as CXR-Report-Metric's str(NaN) does (default: empty)\n"
            "  --pandas 1|2          whose NA strings --pandas-na uses (default 1, the reference's pandas\n"
            "                        1.x, which keeps 'None'; 2 also reads 'None' as NaN)\n"
            "  --id-col NAME         study id column (default study_id)\n"
            "  --text-col NAME       report column (default report)\n"
            "\n"
            "RadGraph is not computed: radcliq reads per-report RadGraph F1 from a 'radgraph' column.\n");
}

/* --- options ---------------------------------------------------------------------------------------- */
enum { M_BLEU2 = 1, M_BLEU = 2, M_LABELS = 4, M_CHEXBERT = 8, M_SEMB = 16, M_RADCLIQ = 32, M_BERTSCORE = 64 };

/* Per-report BERTScore (s->bertscore) needs --bertscore-model; RadCliQ needs it and says so. */
#define ev_have_bertscore (o->bertscore_model != NULL)

#define EV_RADGRAPH_COL "radgraph"
#define EV_DEFAULT_PROXY "data/assets/minilm.h5"

typedef struct {
    const char *gt, *pred, *pred_b, *out, *labels_gt, *labels_pred, *id_col, *text_col, *metrics_arg;
    const char *chexbert, *backend, *labeler_dir, *bertscore_model;
    int bs_layer, bs_idf, bs_layer_set;
    int rule; /* labels from the rule-based labeler (no label files, no --chexbert) */
    int metrics, allow_unmatched, pandas_na, pandas, B, threads;
    uint64_t seed;
} ev_opts;

static int ev_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "xrem eval: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(try 'xrem eval --help')\n");
    va_end(ap);
    return 2;
}

static int ev_parse_u64(const char *s, uint64_t max, uint64_t *v)
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

/* Returns 0 to go on, or an exit status. */
static int ev_parse(int argc, char **argv, ev_opts *o)
{
    memset(o, 0, sizeof *o);
    o->B = XREM_BOOTSTRAP_DEFAULT;
    o->seed = 12345;
    o->pandas = XREM_PANDAS_DEFAULT;
    o->bs_layer = 5; /* distilroberta-base's layer in bert_score */
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *val = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            ev_usage(stdout);
            return -1;
        }
        if (strncmp(a, "--", 2)) return ev_usage_error("unexpected argument '%s'", a);
        char name[64];
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof name) return ev_usage_error("unknown option '%s'", a);
        memcpy(name, a, nl);
        name[nl] = 0;
        int flag = !strcmp(name, "--allow-unmatched") || !strcmp(name, "--pandas-na") || !strcmp(name, "--bertscore-idf");
        if (flag) {
            if (eq) return ev_usage_error("option %s takes no value", name);
            if (!strcmp(name, "--allow-unmatched")) o->allow_unmatched = 1;
            else if (!strcmp(name, "--bertscore-idf")) o->bs_idf = 1;
            else o->pandas_na = 1;
            continue;
        }
        if (eq) val = (char *)eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else return ev_usage_error("option %s needs a value", name);
        if (!strcmp(name, "--gt")) o->gt = val;
        else if (!strcmp(name, "--pred")) o->pred = val;
        else if (!strcmp(name, "--pred-b")) o->pred_b = val;
        else if (!strcmp(name, "--out")) o->out = val;
        else if (!strcmp(name, "--labels-gt")) o->labels_gt = val;
        else if (!strcmp(name, "--labels-pred")) o->labels_pred = val;
        else if (!strcmp(name, "--id-col")) o->id_col = val;
        else if (!strcmp(name, "--text-col")) o->text_col = val;
        else if (!strcmp(name, "--metrics")) o->metrics_arg = val;
        else if (!strcmp(name, "--chexbert")) o->chexbert = val;
        else if (!strcmp(name, "--labeler-dir")) o->labeler_dir = val;
        else if (!strcmp(name, "--bertscore-model")) o->bertscore_model = val;
        else if (!strcmp(name, "--bertscore-layer")) {
            uint64_t l;
            if (!ev_parse_u64(val, 256, &l)) return ev_usage_error("--bertscore-layer '%s': want 0..256", val);
            o->bs_layer = (int)l;
            o->bs_layer_set = 1;
        }
        else if (!strcmp(name, "--backend")) o->backend = val; /* checked by xrem_backend_create */
        else if (!strcmp(name, "--threads")) {
            uint64_t t;
            if (!ev_parse_u64(val, 4096, &t)) return ev_usage_error("--threads '%s': want an integer 0..4096", val);
            o->threads = (int)t;
        } else if (!strcmp(name, "--bootstrap")) {
            uint64_t b;
            if (!ev_parse_u64(val, 10000000, &b)) return ev_usage_error("--bootstrap '%s': want an integer 0..10000000", val);
            o->B = (int)b;
        } else if (!strcmp(name, "--seed")) {
            if (!ev_parse_u64(val, UINT64_MAX, &o->seed)) return ev_usage_error("--seed '%s': want a non-negative integer", val);
        } else if (!strcmp(name, "--pandas")) {
            if (strcmp(val, "1") && strcmp(val, "2")) return ev_usage_error("--pandas '%s': want 1 or 2", val);
            o->pandas = val[0] - '0';
        } else {
            return ev_usage_error("unknown option '%s'", name);
        }
    }
    if (!o->gt || !o->pred || !o->out) return ev_usage_error("--gt, --pred and --out are required");
    if (!*o->out) return ev_usage_error("--out is empty");
    if (!o->labels_gt != !o->labels_pred) return ev_usage_error("--labels-gt and --labels-pred go together");
    if (o->chexbert && !*o->chexbert) return ev_usage_error("--chexbert is empty");
    if (!o->backend) o->backend = "cpu";
    if (!o->metrics_arg) {
        o->metrics = M_BLEU2 | M_BLEU | (o->labels_gt ? M_LABELS : 0) | (o->chexbert ? M_SEMB : 0);
        if (o->chexbert && !o->labels_gt) o->metrics |= M_LABELS | M_CHEXBERT;
    } else {
        char buf[256];
        if (strlen(o->metrics_arg) >= sizeof buf) return ev_usage_error("--metrics list too long");
        strcpy(buf, o->metrics_arg);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            if (!strcmp(tok, "bleu")) o->metrics |= M_BLEU | M_BLEU2;
            else if (!strcmp(tok, "bleu2")) o->metrics |= M_BLEU2;
            else if (!strcmp(tok, "labels")) o->metrics |= M_LABELS;
            else if (!strcmp(tok, "chexbert")) o->metrics |= M_LABELS | M_CHEXBERT;
            else if (!strcmp(tok, "semb")) o->metrics |= M_SEMB;
            else if (!strcmp(tok, "radcliq")) o->metrics |= M_RADCLIQ;
            else if (!strcmp(tok, "bertscore")) o->metrics |= M_BERTSCORE;
            else if (!strcmp(tok, "radgraph")) {
                fprintf(stderr, "xrem eval: metric '%s' is not available yet in this build (available: bleu2, bleu, labels, chexbert, semb%s)\n",
                        tok, !strcmp(tok, "radgraph") ? "; radcliq reads RadGraph F1 from a 'radgraph' column" : "");
                return 1;
            } else {
                return ev_usage_error("unknown metric '%s' (available: bleu2, bleu, labels, chexbert, semb, radcliq)", tok);
            }
        }
        if (!o->metrics) return ev_usage_error("--metrics is empty");
    }
    /* RadCliQ's inputs: bleu2 always, semb when the model is there (what is still missing is reported
     * after loading, with the radgraph column's check) */
    if (o->metrics & M_RADCLIQ) o->metrics |= M_BLEU2 | (o->chexbert ? M_SEMB : 0) | (ev_have_bertscore ? M_BERTSCORE : 0);
    if (!o->metrics_arg && o->bertscore_model) o->metrics |= M_BERTSCORE;
    if ((o->metrics & M_CHEXBERT) && o->labels_gt)
        return ev_usage_error("metric 'chexbert' labels the reports with the model; drop --labels-gt/--labels-pred (or use 'labels' with the files)");
    if ((o->metrics & M_CHEXBERT) && !o->chexbert) return ev_usage_error("--metrics chexbert needs --chexbert W.h5");
    /* without label files or CheXbert weights, the rule-based labeler labels both sides (and says so) */
    o->rule = (o->metrics & M_LABELS) && !o->labels_gt && !o->chexbert;
    if ((o->metrics & M_SEMB) && !o->chexbert) return ev_usage_error("--metrics semb needs --chexbert W.h5");
    /* default proxy encoder: all-MiniLM-L6-v2 as scripts/fetch_assets.sh (run by setup.sh) converts it */
    if ((o->metrics & M_BERTSCORE) && !o->bertscore_model && access(EV_DEFAULT_PROXY, R_OK) == 0) {
        o->bertscore_model = EV_DEFAULT_PROXY;
        if (!o->bs_layer_set) o->bs_layer = -1; /* its last layer */
        fprintf(stderr, "xrem eval: bertscore: no --bertscore-model, using the proxy encoder %s (all-MiniLM-L6-v2); "
                        "the exact metric needs distilroberta-base\n",
                EV_DEFAULT_PROXY);
    }
    if ((o->metrics & M_BERTSCORE) && !o->bertscore_model)
        return ev_usage_error("--metrics bertscore needs --bertscore-model M.h5 (distilroberta-base converted with "
                              "scripts/convert_hf.py --name distilroberta-base, or any BERT-family encoder as a proxy)");
    if (o->labels_gt && !(o->metrics & M_LABELS)) return ev_usage_error("label files given but 'labels' is not in --metrics");
    if (o->chexbert && !(o->metrics & (M_CHEXBERT | M_SEMB)) && !((o->metrics & M_LABELS) && !o->labels_gt))
        return ev_usage_error("--chexbert given but no metric uses it (chexbert, semb, labels without label files, radcliq)");
    if (o->pred_b && !(o->metrics & M_BLEU2)) return ev_usage_error("--pred-b compares BLEU-2: add bleu2 to --metrics");
    return 0;
}

/* --- state --------------------------------------------------------------------------------------------- */
typedef struct {
    ev_opts o;
    xrem_reports *gt, *pred, *pb;
    int64_t n;                    /* shared ids */
    int64_t *rg, *rp, *rb;        /* [n] rows in gt, pred, pred-b; GT row order */
    const char **tg, **tp, **tb;  /* [n] texts as scored */
    size_t *lg, *lp, *lb;
    double *bleu2, *bleu2_b, *sacre, *acc5; /* [n] per report (NULL when not computed) */
    xrem_bleu_stats nltk, sac;
    xrem_ci ci_bleu2, ci_bleu2_b;
    int have_ci, have_paired;
    xrem_paired_test paired;
    xrem_label_f1 lf;
    double repair_f1, repair_mean, repair_half, repair_scores[10];
    int64_t gt_empty, pred_empty, b_empty;
    /* CheXbert (labels without label files, semb) */
    uint8_t *lab[2];              /* [n,14] raw classes of GT and PRED from the model (NULL otherwise) */
    double *semb;                 /* [n] */
    xrem_ci ci_semb;
    char chexbert_sig[96];        /* "chexbert:<sha256 of the source checkpoint>" */
    char rule_sig[96];            /* "rule:<sha256 of the phrase lists>" */
    int chexbert_C, chexbert_max_len;
    /* RadCliQ */
    double *radgraph;             /* [n] the user's column */
    const char *radgraph_src;     /* the file it came from */
    double *bertscore;            /* [n] per-report BERTScore F1 (rescaled when a baseline is known) */
    double bs_mean_p, bs_mean_r;  /* means of rescaled P and R */
    xrem_ci ci_bertscore;
    char bs_sig[256];             /* model, layer, idf, baseline */
    double *radcliq[2];           /* [n] v0, v1 */
    xrem_ci ci_radcliq[2];
    double t_load, t_bleu2, t_bleu2_cpu, t_bleu, t_labels, t_boot, t_chexbert;
    xrem_backend *be; /* where the model metrics run, made before anything is read or written */
} ev_state;

/* Labels come from the CheXbert model: the labels metric without label files (incl. 'chexbert'). */
static int ev_model_labels(const ev_opts *o) { return (o->metrics & M_LABELS) && !o->labels_gt; }
static int ev_need_chexbert(const ev_opts *o) { return (ev_model_labels(o) && !o->rule) || (o->metrics & M_SEMB); }

static double ev_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double ev_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int ev_fail(void)
{
    fprintf(stderr, "xrem eval: %s\n", xrem_last_error());
    return 1;
}

static void ev_free(ev_state *s)
{
    xrem_reports_free(s->gt);
    xrem_reports_free(s->pred);
    xrem_reports_free(s->pb);
    free(s->rg);
    free(s->rp);
    free(s->rb);
    free(s->tg);
    free(s->tp);
    free(s->tb);
    free(s->lg);
    free(s->lp);
    free(s->lb);
    free(s->bleu2);
    free(s->bleu2_b);
    free(s->sacre);
    free(s->acc5);
    free(s->lab[0]);
    free(s->lab[1]);
    free(s->semb);
    free(s->radgraph);
    free(s->bertscore);
    free(s->radcliq[0]);
    free(s->radcliq[1]);
}

static void ev_print_unmatched(const char *what, const xrem_reports *r, const int64_t *rows, int64_t k)
{
    printf("  only in %s (%s): %" PRId64 " id%s:", r->path, what, k, k == 1 ? "" : "s");
    for (int64_t i = 0; i < k && i < EV_SHOW_IDS; i++) printf(" %" PRId64, r->id[rows[i]]);
    printf("%s\n", k > EV_SHOW_IDS ? " ..." : "");
}

static int ev_load(ev_state *s)
{
    double t0 = ev_now();
    const ev_opts *o = &s->o;
    if (xrem_reports_load(o->gt, o->id_col, o->text_col, &s->gt) != XREM_OK) return ev_fail();
    if (xrem_reports_load(o->pred, o->id_col, o->text_col, &s->pred) != XREM_OK) return ev_fail();
    if (o->pred_b && xrem_reports_load(o->pred_b, o->id_col, o->text_col, &s->pb) != XREM_OK) return ev_fail();

    xrem_report_match m;
    if (xrem_reports_match(s->gt, s->pred, &m) != XREM_OK) return ev_fail();
    printf("xrem eval: %s: %" PRId64 " reports, %s: %" PRId64 " reports, %" PRId64 " shared study ids\n", s->gt->path, s->gt->n,
           s->pred->path, s->pred->n, m.n);
    if (m.n_gt_only) ev_print_unmatched("not in PRED", s->gt, m.gt_only, m.n_gt_only);
    if (m.n_pred_only) ev_print_unmatched("not in GT", s->pred, m.pred_only, m.n_pred_only);
    int64_t ngo = m.n_gt_only, npo = m.n_pred_only;
    int64_t fg = ngo ? m.gt_only[0] : -1, fp = npo ? m.pred_only[0] : -1;
    xrem_report_match_free(&m);
    if ((ngo || npo) && !o->allow_unmatched) {
        if (fp >= 0)
            xrem_fail(XREM_ERR_FORMAT, "%s: row %" PRId64 " (line %" PRId64 ") field '%s': study id %" PRId64 " is not in %s (%" PRId64
                      " PRED id%s unmatched, %" PRId64 " GT id%s unmatched); pass --allow-unmatched to score the shared ids only",
                      s->pred->path, fp + 1, s->pred->line[fp], o->id_col ? o->id_col : XREM_REPORTS_ID_COL, s->pred->id[fp],
                      s->gt->path, npo, npo == 1 ? "" : "s", ngo, ngo == 1 ? "" : "s");
        else
            xrem_fail(XREM_ERR_FORMAT, "%s: row %" PRId64 " (line %" PRId64 ") field '%s': study id %" PRId64 " has no report in %s (%" PRId64
                      " GT id%s unmatched); pass --allow-unmatched to score the shared ids only",
                      s->gt->path, fg + 1, s->gt->line[fg], o->id_col ? o->id_col : XREM_REPORTS_ID_COL, s->gt->id[fg], s->pred->path,
                      ngo, ngo == 1 ? "" : "s");
        return ev_fail();
    }

    int k = s->pb ? 3 : 2;
    const int64_t *ids[3] = {s->gt->id, s->pred->id, s->pb ? s->pb->id : NULL};
    const int64_t *by[3] = {s->gt->by_id, s->pred->by_id, s->pb ? s->pb->by_id : NULL};
    int64_t nn[3] = {s->gt->n, s->pred->n, s->pb ? s->pb->n : 0};
    int64_t *rows[3] = {NULL, NULL, NULL};
    if (xrem_ids_intersect(ids, by, nn, k, rows, &s->n) != XREM_OK) return ev_fail();
    s->rg = rows[0];
    s->rp = rows[1];
    s->rb = rows[2];
    if (s->pb) {
        int64_t missing = 0, first = -1;
        for (int64_t i = 0; i < s->gt->n; i++) {
            if (xrem_ids_find(s->pred->id, s->pred->by_id, s->pred->n, s->gt->id[i]) < 0) continue;
            if (xrem_ids_find(s->pb->id, s->pb->by_id, s->pb->n, s->gt->id[i]) >= 0) continue;
            if (!missing++) first = i;
        }
        int64_t extra = s->pb->n - s->n;
        printf("  %s: %" PRId64 " reports, %" PRId64 " shared with GT and PRED\n", s->pb->path, s->pb->n, s->n);
        if ((missing || extra) && !o->allow_unmatched) {
            if (missing)
                xrem_fail(XREM_ERR_FORMAT, "%s: no report for study id %" PRId64 " (%s row %" PRId64 "; %" PRId64 " id%s missing); pass --allow-unmatched to score the shared ids only",
                          s->pb->path, s->gt->id[first], s->gt->path, first + 1, missing, missing == 1 ? "" : "s");
            else
                xrem_fail(XREM_ERR_FORMAT, "%s: %" PRId64 " study id%s not in both GT and PRED; pass --allow-unmatched to score the shared ids only",
                          s->pb->path, extra, extra == 1 ? "" : "s");
            return ev_fail();
        }
    }
    if (s->n == 0) {
        xrem_fail(XREM_ERR_FORMAT, "%s and %s share no study id", s->gt->path, s->pred->path);
        return ev_fail();
    }

    size_t n = (size_t)s->n;
    s->tg = malloc(n * sizeof *s->tg);
    s->tp = malloc(n * sizeof *s->tp);
    s->lg = malloc(n * sizeof *s->lg);
    s->lp = malloc(n * sizeof *s->lp);
    if (s->pb) {
        s->tb = malloc(n * sizeof *s->tb);
        s->lb = malloc(n * sizeof *s->lb);
    }
    if (!s->tg || !s->tp || !s->lg || !s->lp || (s->pb && (!s->tb || !s->lb))) {
        xrem_fail(XREM_ERR_NOMEM, "out of memory");
        return ev_fail();
    }
    for (size_t i = 0; i < n; i++) {
        const xrem_reports *src[3] = {s->gt, s->pred, s->pb};
        const int64_t *rr[3] = {s->rg, s->rp, s->rb};
        const char **tt[3] = {s->tg, s->tp, s->tb};
        size_t *ll[3] = {s->lg, s->lp, s->lb};
        int64_t *ne[3] = {&s->gt_empty, &s->pred_empty, &s->b_empty};
        for (int t = 0; t < k; t++) {
            int64_t r = rr[t][i];
            const char *txt = src[t]->text[r];
            size_t len = src[t]->len[r];
            if (xrem_report_is_empty(txt, len)) (*ne[t])++;
            if (o->pandas_na && xrem_pandas_is_na(txt, len, o->pandas)) {
                txt = "nan";
                len = 3;
            }
            tt[t][i] = txt;
            ll[t][i] = len;
        }
    }
    if (s->gt_empty) printf("  %s: %" PRId64 " empty report%s among the shared ids\n", s->gt->path, s->gt_empty, s->gt_empty == 1 ? "" : "s");
    if (s->pred_empty) printf("  %s: %" PRId64 " empty report%s among the shared ids\n", s->pred->path, s->pred_empty, s->pred_empty == 1 ? "" : "s");
    if (s->b_empty) printf("  %s: %" PRId64 " empty report%s among the shared ids\n", s->pb->path, s->b_empty, s->b_empty == 1 ? "" : "s");
    s->t_load = ev_now() - t0;
    return 0;
}

static int ev_bleu(ev_state *s)
{
    size_t n = (size_t)s->n;
    xrem_bleu_ws *ws;
    if (xrem_bleu_ws_create(&ws) != XREM_OK) return ev_fail();
    s->bleu2 = malloc(n * sizeof *s->bleu2);
    if (s->pb) s->bleu2_b = malloc(n * sizeof *s->bleu2_b);
    if (s->o.metrics & M_BLEU) s->sacre = malloc(n * sizeof *s->sacre);
    if (!s->bleu2 || (s->pb && !s->bleu2_b) || ((s->o.metrics & M_BLEU) && !s->sacre)) {
        xrem_bleu_ws_free(ws);
        xrem_fail(XREM_ERR_NOMEM, "out of memory");
        return ev_fail();
    }
    double t0 = ev_now(), c0 = ev_cpu();
    for (size_t i = 0; i < n; i++)
        if (xrem_bleu2(ws, s->tg[i], s->lg[i], s->tp[i], s->lp[i], &s->bleu2[i]) != XREM_OK) goto fail;
    for (size_t i = 0; s->pb && i < n; i++)
        if (xrem_bleu2(ws, s->tg[i], s->lg[i], s->tb[i], s->lb[i], &s->bleu2_b[i]) != XREM_OK) goto fail;
    s->t_bleu2 = ev_now() - t0;
    s->t_bleu2_cpu = ev_cpu() - c0;
    if (s->o.metrics & M_BLEU) {
        t0 = ev_now();
        memset(&s->nltk, 0, sizeof s->nltk);
        memset(&s->sac, 0, sizeof s->sac);
        for (size_t i = 0; i < n; i++) {
            xrem_bleu_stats a, b;
            if (xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_NLTK, s->tg[i], s->lg[i], s->tp[i], s->lp[i], 4, &a) != XREM_OK) goto fail;
            if (xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_13A, s->tg[i], s->lg[i], s->tp[i], s->lp[i], 4, &b) != XREM_OK) goto fail;
            xrem_bleu_stats_add(&s->nltk, &a);
            xrem_bleu_stats_add(&s->sac, &b);
            s->sacre[i] = xrem_sacrebleu_score(&b, 1);
        }
        s->t_bleu = ev_now() - t0;
    }
    xrem_bleu_ws_free(ws);
    if (s->o.B > 0) {
        t0 = ev_now();
        if (xrem_bootstrap_mean_ci(s->bleu2, s->n, s->o.B, 0.95, s->o.seed, &s->ci_bleu2) != XREM_OK) return ev_fail();
        if (s->pb) {
            if (xrem_bootstrap_mean_ci(s->bleu2_b, s->n, s->o.B, 0.95, s->o.seed, &s->ci_bleu2_b) != XREM_OK) return ev_fail();
            if (xrem_bootstrap_paired(s->bleu2_b, s->bleu2, s->n, s->o.B, s->o.seed, &s->paired) != XREM_OK) return ev_fail();
            s->have_paired = 1;
        }
        s->have_ci = 1;
        s->t_boot = ev_now() - t0;
    }
    return 0;
fail:
    xrem_bleu_ws_free(ws);
    return ev_fail();
}

/* Label matrices [n,14] from the two label files, in the scored (GT row) order. */
static int ev_label_files(ev_state *s, uint8_t *m[2])
{
    xrem_label_table *lt[2] = {NULL, NULL};
    const char *paths[2] = {s->o.labels_gt, s->o.labels_pred};
    int rc = 1;
    size_t n = (size_t)s->n;
    for (int t = 0; t < 2; t++) {
        if (xrem_labels_load(paths[t], &lt[t]) != XREM_OK) {
            ev_fail();
            goto done;
        }
        m[t] = malloc(n * XREM_NCOND);
        if (!m[t]) {
            xrem_fail(XREM_ERR_NOMEM, "out of memory");
            ev_fail();
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            int64_t id = s->gt->id[s->rg[i]];
            int64_t r = xrem_ids_find(lt[t]->id, lt[t]->by_id, lt[t]->n, id);
            if (r < 0) {
                xrem_fail(XREM_ERR_FORMAT, "%s: no labels for study id %" PRId64 " (%s row %" PRId64 ")", paths[t], id, s->gt->path,
                          s->rg[i] + 1);
                ev_fail();
                goto done;
            }
            memcpy(m[t] + i * XREM_NCOND, lt[t]->lab + r * XREM_NCOND, XREM_NCOND);
        }
        if (lt[t]->n > s->n)
            printf("  %s: %" PRId64 " labelled reports, %" PRId64 " of them not scored\n", paths[t], lt[t]->n, lt[t]->n - s->n);
    }
    rc = 0;
done:
    for (int t = 0; t < 2; t++) xrem_labels_free(lt[t]);
    return rc;
}

/* Label F1 (both modes) from label files or from the CheXbert labels already in s->lab. */
static int ev_labels(ev_state *s)
{
    double t0 = ev_now();
    uint8_t *files[2] = {NULL, NULL};
    uint8_t *m[2] = {s->lab[0], s->lab[1]};
    int rc = 1;
    size_t n = (size_t)s->n;
    if (!m[0]) {
        if (ev_label_files(s, files)) goto done;
        m[0] = files[0];
        m[1] = files[1];
    }
    s->acc5 = malloc(n * sizeof *s->acc5);
    if (!s->acc5) {
        xrem_fail(XREM_ERR_NOMEM, "out of memory");
        ev_fail();
        goto done;
    }
    if (xrem_labels_f1_rrg(m[0], m[1], s->n, &s->lf) != XREM_OK || xrem_labels_example_acc5(m[0], m[1], s->n, s->acc5) != XREM_OK ||
        xrem_labels_f1_repair(m[0], m[1], s->n, NULL, 0, &s->repair_f1) != XREM_OK ||
        xrem_labels_repair_interval(m[0], m[1], s->n, 10, s->o.seed, NULL, s->repair_scores, &s->repair_mean, &s->repair_half) != XREM_OK) {
        ev_fail();
        goto done;
    }
    rc = 0;
done:
    free(files[0]);
    free(files[1]);
    s->t_labels = ev_now() - t0;
    return rc;
}

/* --- CheXbert: labels and s_emb --------------------------------------------------------------------------- */
/* GT and PRED texts through the model in one call (2n reports): s->lab (when the labels come from
 * the model) and s->semb (when asked). */
static int ev_chexbert(ev_state *s)
{
    const ev_opts *o = &s->o;
    double t0 = ev_now();
    const int64_t n = s->n;
    if (2 * n > INT32_MAX) {
        xrem_fail(XREM_ERR_ARG, "CheXbert: %" PRId64 " reports is too many for one run", 2 * n);
        return ev_fail();
    }
    xrem_backend *be = s->be;
    xrem_chexbert *m = NULL;
    const char **texts = malloc(sizeof *texts * (size_t)(2 * n));
    int32_t *cls = malloc(sizeof *cls * (size_t)(2 * n) * XREM_NCOND);
    float *emb = NULL;
    int rc = 1;
    if (!texts || !cls) {
        xrem_fail(XREM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (xrem_chexbert_load(o->chexbert, be, &m) != XREM_OK) goto fail;
    const int C = xrem_chexbert_hidden(m);
    const char *sha = xrem_chexbert_sha256(m);
    snprintf(s->chexbert_sig, sizeof s->chexbert_sig, "chexbert:%s", sha && *sha ? sha : "unknown");
    s->chexbert_C = C;
    s->chexbert_max_len = xrem_chexbert_max_len(m);
    if ((o->metrics & M_SEMB) && !(emb = malloc(sizeof *emb * (size_t)(2 * n) * (size_t)C))) {
        xrem_fail(XREM_ERR_NOMEM, "out of memory for %" PRId64 " [CLS] vectors", 2 * n);
        goto fail;
    }
    for (int64_t i = 0; i < n; i++) {
        texts[i] = s->tg[i];
        texts[n + i] = s->tp[i];
    }
    if (xrem_chexbert_run(m, texts, (int)(2 * n), cls, emb) != XREM_OK) goto fail;
    if (ev_model_labels(o)) {
        for (int t = 0; t < 2; t++) {
            if (!(s->lab[t] = malloc((size_t)n * XREM_NCOND))) {
                xrem_fail(XREM_ERR_NOMEM, "out of memory");
                goto fail;
            }
            for (int64_t k = 0; k < n * XREM_NCOND; k++) s->lab[t][k] = (uint8_t)cls[t * n * XREM_NCOND + k];
        }
    }
    if (emb) {
        if (!(s->semb = malloc(sizeof *s->semb * (size_t)n))) {
            xrem_fail(XREM_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (int64_t i = 0; i < n; i++) s->semb[i] = xrem_chexbert_semb(emb + i * C, emb + (n + i) * C, C);
        if (o->B > 0 && xrem_bootstrap_mean_ci(s->semb, n, o->B, 0.95, o->seed, &s->ci_semb) != XREM_OK) goto fail;
    }
    s->t_chexbert = ev_now() - t0;
    printf("  CheXbert (%s, %s): %" PRId64 " reports in %.2f s\n", o->chexbert, s->chexbert_sig, 2 * n, s->t_chexbert);
    rc = 0;
fail:
    if (rc) ev_fail();
    xrem_chexbert_free(m);
    free(texts);
    free(cls);
    free(emb);
    return rc;
}

/* GT and PRED labelled by the rule-based labeler (users without CheXbert weights). */
static int ev_rule_labels(ev_state *s)
{
    const int64_t n = s->n;
    const char **texts = malloc(sizeof *texts * (size_t)(2 * n + 1));
    int32_t *cls = malloc(sizeof *cls * (size_t)(2 * n + 1) * XREM_NCOND);
    xrem_rule_labeler *lab = NULL;
    int rc = 1;
    if (!texts || !cls) {
        xrem_fail(XREM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int64_t i = 0; i < n; i++) {
        texts[i] = s->tg[i];
        texts[n + i] = s->tp[i];
    }
    if (xrem_rule_labeler_load(s->o.labeler_dir, &lab) != XREM_OK ||
        xrem_rule_labeler_label(lab, texts, 2 * n, cls) != XREM_OK)
        goto fail;
    for (int t = 0; t < 2; t++) {
        if (!(s->lab[t] = malloc((size_t)n * XREM_NCOND + 1))) {
            xrem_fail(XREM_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (int64_t k = 0; k < n * XREM_NCOND; k++) s->lab[t][k] = (uint8_t)cls[t * n * XREM_NCOND + k];
    }
    snprintf(s->rule_sig, sizeof s->rule_sig, "%s", xrem_rule_labeler_signature(lab));
    printf("  labels: rule-based labeler (%s), not CheXbert: pass --chexbert W.h5 for CheXbert labels\n", s->rule_sig);
    rc = 0;
fail:
    if (rc) ev_fail();
    xrem_rule_labeler_free(lab);
    free(texts);
    free(cls);
    return rc;
}

static double ev_mean(const double *x, int64_t n);

/* CXR-Report-Metric collapses runs of spaces before BERTScore: re.sub(r' +', ' ', s) */
static char *ev_squeeze_spaces(const char *t)
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
static int ev_bertscore(ev_state *s)
{
    const ev_opts *o = &s->o;
    const int64_t n = s->n;
    double t0 = ev_now(), b[3] = {0, 0, 0};
    xrem_backend *be = s->be;
    xrem_bertscore *bs = NULL;
    char **c = calloc((size_t)n + 1, sizeof *c), **r = calloc((size_t)n + 1, sizeof *r);
    double *P = malloc(sizeof *P * (size_t)(n + 1)), *R = malloc(sizeof *R * (size_t)(n + 1));
    s->bertscore = malloc(sizeof *s->bertscore * (size_t)(n + 1));
    int rc = 1;
    if (!c || !r || !P || !R || !s->bertscore) {
        xrem_fail(XREM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int64_t i = 0; i < n; i++)
        if (!(c[i] = ev_squeeze_spaces(s->tp[i])) || !(r[i] = ev_squeeze_spaces(s->tg[i]))) {
            xrem_fail(XREM_ERR_NOMEM, "out of memory");
            goto fail;
        }
    if (xrem_bertscore_create(o->bertscore_model, o->bs_layer, be, &bs) != XREM_OK)
        goto fail;
    xrem_bertscore_opts opt;
    xrem_bertscore_opts_default(&opt);
    opt.idf = o->bs_idf;
    if (xrem_bertscore_score(bs, (const char *const *)c, (const char *const *)r, n, &opt, P, R, s->bertscore) != XREM_OK)
        goto fail;
    const char *model = xrem_bertscore_model_name(bs), *base = "published";
    if (!xrem_bertscore_known_baseline(model, xrem_bertscore_layer(bs), b)) {
        base = "proxy:gt-random-pairs";
        if (n < 2 || xrem_bertscore_baseline(bs, (const char *const *)r, n, n * 4 < 2000 ? n * 4 : 2000, o->seed, NULL,
                                             b) != XREM_OK)
            goto fail;
    }
    xrem_bertscore_rescale(b, n, P, R, s->bertscore);
    s->bs_mean_p = ev_mean(P, n);
    s->bs_mean_r = ev_mean(R, n);
    if (o->B > 0 && xrem_bootstrap_mean_ci(s->bertscore, n, o->B, 0.95, o->seed, &s->ci_bertscore) != XREM_OK) goto fail;
    snprintf(s->bs_sig, sizeof s->bs_sig, "bertscore:%s,L%d,idf:%d,baseline:%s(%.6g,%.6g,%.6g),sha:%.16s", model,
             xrem_bertscore_layer(bs), o->bs_idf, base, b[0], b[1], b[2], xrem_bertscore_sha256(bs));
    printf("  BERTScore F1 mean %.4f (%s) in %.2f s\n", ev_mean(s->bertscore, n), s->bs_sig, ev_now() - t0);
    rc = 0;
fail:
    if (rc) ev_fail();
    for (int64_t i = 0; i < n; i++) {
        if (c) free(c[i]);
        if (r) free(r[i]);
    }
    free(c);
    free(r);
    free(P);
    free(R);
    xrem_bertscore_free(bs);
    return rc;
}

/* --- RadCliQ ------------------------------------------------------------------------------------------------ */
/* The user's per-report RadGraph F1: column 'radgraph' of PRED, else of GT. 0 when neither has it. */
static int ev_find_radgraph(const ev_state *s, const xrem_reports **r, int *col)
{
    const xrem_reports *src[2] = {s->pred, s->gt};
    for (int t = 0; t < 2; t++)
        for (int c = 0; c < xrem_csv_ncols(src[t]->csv); c++)
            if (!strcmp(xrem_csv_header(src[t]->csv, c), EV_RADGRAPH_COL)) {
                *r = src[t];
                *col = c;
                return 1;
            }
    return 0;
}

static int ev_read_radgraph(ev_state *s, const xrem_reports *r, int col)
{
    const int64_t *rows = r == s->pred ? s->rp : s->rg;
    if (!(s->radgraph = malloc(sizeof *s->radgraph * (size_t)s->n))) {
        xrem_fail(XREM_ERR_NOMEM, "out of memory");
        return ev_fail();
    }
    for (int64_t i = 0; i < s->n; i++) {
        size_t len;
        const char *v = xrem_csv_get(r->csv, rows[i], col, &len);
        char *end = NULL;
        double x = len ? strtod(v, &end) : NAN;
        if (!len || end != v + len || !isfinite(x) || x < 0 || x > 1) {
            xrem_fail(XREM_ERR_FORMAT, "%s: row %" PRId64 " (line %" PRId64 ") field '%s': '%.40s' is not a RadGraph F1 in [0, 1]",
                      r->path, rows[i] + 1, r->line[rows[i]], EV_RADGRAPH_COL, v);
            return ev_fail();
        }
        s->radgraph[i] = x;
    }
    s->radgraph_src = r->path;
    return 0;
}

/* Before any model runs: every RadCliQ input is there, or one message says which are not. */
static int ev_radcliq_inputs(ev_state *s)
{
    const ev_opts *o = &s->o;
    const xrem_reports *r = NULL;
    int col = -1;
    char missing[640];
    size_t k = 0;
    missing[0] = 0;
#define MISSING(...) k += (size_t)snprintf(missing + k, k < sizeof missing ? sizeof missing - k : 0, __VA_ARGS__)
    if (!ev_have_bertscore) MISSING("%sbertscore (pass --bertscore-model: distilroberta-base, rescaled)", k ? "; " : "");
    if (!o->chexbert) MISSING("%ssemb (pass --chexbert W.h5)", k ? "; " : "");
    if (!ev_find_radgraph(s, &r, &col))
        MISSING("%sradgraph (no '%s' column of per-report RadGraph F1 in %s or %s)", k ? "; " : "", EV_RADGRAPH_COL, s->pred->path, s->gt->path);
#undef MISSING
    if (k) {
        xrem_fail(XREM_ERR_ARG, "metric 'radcliq' needs per-report radgraph, bertscore, semb and bleu2; missing: %s",
                  missing);
        return ev_fail();
    }
    return ev_read_radgraph(s, r, col);
}

static int ev_radcliq(ev_state *s)
{
    for (int v = 0; v < 2; v++) {
        if (!(s->radcliq[v] = malloc(sizeof(double) * (size_t)s->n))) {
            xrem_fail(XREM_ERR_NOMEM, "out of memory");
            return ev_fail();
        }
        if (xrem_radcliq((xrem_radcliq_version)v, s->radgraph, s->bertscore, s->semb, s->bleu2, s->n, s->radcliq[v]) != XREM_OK)
            return ev_fail();
        if (s->o.B > 0 && xrem_bootstrap_mean_ci(s->radcliq[v], s->n, s->o.B, 0.95, s->o.seed, &s->ci_radcliq[v]) != XREM_OK)
            return ev_fail();
    }
    return 0;
}

/* --- outputs --------------------------------------------------------------------------------------------- */
static void ev_signature(const ev_state *s, char *b, size_t cap)
{
    const ev_opts *o = &s->o;
    size_t k = 0;
#define SIG(...) k += (size_t)snprintf(b + k, k < cap ? cap - k : 0, __VA_ARGS__)
    SIG("xrem-eval:%s|n:%" PRId64, XREM_GIT_COMMIT, s->n);
    if (o->metrics & M_BLEU2) SIG("|bleu2:fast_bleu-0.0.90|tok:pylower+period+split-space|smooth:method1-0.1|w:0.5,0.5");
    if (o->metrics & M_BLEU) SIG("|nltk-corpus:bleu1-4,smooth:none|sacrebleu:2.x,tok:13a,smooth:exp,case:mixed,sent-eff:yes,corpus-eff:no");
    if (o->metrics & M_LABELS) {
        if (o->rule) SIG("|labeler:%s", s->rule_sig);
        else if (ev_model_labels(o)) SIG("|labeler:%s,max_len:%d", s->chexbert_sig, s->chexbert_max_len);
        else SIG("|labeler:files");
        SIG("|labels:f1chexbert-0.0.2-rrg(pos+unc=1),zero_div:0,repair(pos=1,macro,R:10,t975)");
    }
    if (o->metrics & M_SEMB) SIG("|semb:%s,cls-raw,cosine", s->chexbert_sig);
    if (o->metrics & M_BERTSCORE) SIG("|%s,squeeze-spaces,match-batch:64", s->bs_sig);
    if (o->metrics & M_RADCLIQ) SIG("|radcliq:v0,v1,radgraph:user-column");
    if (o->pandas_na)
        SIG("|na:pandas%d-nan", o->pandas);
    else
        SIG("|na:empty");
    SIG("|unmatched:%s", o->allow_unmatched ? "dropped" : "error");
    if (o->metrics & (M_BLEU2 | M_SEMB | M_RADCLIQ)) SIG("|bootstrap:%d,percentile", o->B);
    SIG("|rng:xoshiro256**|seed:%" PRIu64, o->seed);
#undef SIG
}

static void ev_json_str(FILE *f, const char *s)
{
    size_t n = strlen(s);
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t bad;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else if (c >= 0x80 && !xrem_utf8_valid(s + i, n - i, &bad) && bad == 0) fputs("\\ufffd", f);
        else fputc(c, f);
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
    for (int j = 0; j < r->ncond; j++) ev_json_prf(f, xrem_chexbert_conditions[cols[j]], &r->cond[j], ",");
    ev_json_prf(f, "micro avg", &r->micro, ",");
    ev_json_prf(f, "macro avg", &r->macro, ",");
    ev_json_prf(f, "weighted avg", &r->weighted, ",");
    ev_json_prf(f, "samples avg", &r->samples, "");
    fprintf(f, "    },\n");
}

static double ev_mean(const double *x, int64_t n) { return n > 0 ? xrem_np_sum(x, n) / (double)n : NAN; }

static void ev_json_ci(FILE *f, int have, const xrem_ci *ci)
{
    if (!have) return;
    fputs(", \"ci95\": [", f);
    ev_json_num(f, ci->lo);
    fputs(", ", f);
    ev_json_num(f, ci->hi);
    fputs("]", f);
}

static void ev_write_json(FILE *f, const ev_state *s, const char *sig)
{
    const ev_opts *o = &s->o;
    static const int all14[XREM_NCOND] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    fputs("{\n  \"signature\": ", f);
    ev_json_str(f, sig);
    fputs(",\n  \"inputs\": {\"gt\": ", f);
    ev_json_str(f, s->gt->path);
    fputs(", \"pred\": ", f);
    ev_json_str(f, s->pred->path);
    if (s->pb) {
        fputs(", \"pred_b\": ", f);
        ev_json_str(f, s->pb->path);
    }
    fprintf(f, ", \"gt_reports\": %" PRId64 ", \"pred_reports\": %" PRId64 ", \"shared\": %" PRId64
               ", \"gt_empty\": %" PRId64 ", \"pred_empty\": %" PRId64 "},\n",
            s->gt->n, s->pred->n, s->n, s->gt_empty, s->pred_empty);
    fputs("  \"metrics\": {\n", f);
    int first = 1;
    if (o->metrics & M_BLEU2) {
        fputs("    \"bleu2\": {\"mean\": ", f);
        ev_json_num(f, ev_mean(s->bleu2, s->n));
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
    if (o->metrics & M_BLEU) {
        fputs(",\n    \"nltk_corpus_bleu\": {", f);
        for (int nn = 1; nn <= 4; nn++) {
            fprintf(f, "%s\"bleu%d\": ", nn > 1 ? ", " : "", nn);
            ev_json_num(f, xrem_bleu_nltk_score(&s->nltk, nn, XREM_BLEU_SMOOTH_NONE));
        }
        fputs("},\n    \"sacrebleu\": {\"corpus\": ", f);
        ev_json_num(f, xrem_sacrebleu_score(&s->sac, 0));
        fputs(", \"sentence_mean\": ", f);
        ev_json_num(f, ev_mean(s->sacre, s->n));
        fprintf(f, ", \"sys_len\": %" PRId64 ", \"ref_len\": %" PRId64 "}", s->sac.hyp_len, s->sac.ref_len);
    }
    if (s->pb) {
        fprintf(f, "%s    \"bleu2_b\": {\"mean\": ", first ? "" : ",\n");
        ev_json_num(f, ev_mean(s->bleu2_b, s->n));
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
        ev_json_num(f, ev_mean(s->bertscore, s->n));
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
        ev_json_num(f, ev_mean(s->semb, s->n));
        ev_json_ci(f, s->o.B > 0, &s->ci_semb);
        fputs("}", f);
        first = 0;
    }
    for (int v = 0; v < 2 && s->radcliq[0]; v++) {
        fprintf(f, "%s    \"radcliq_v%d\": {\"mean\": ", first ? "" : ",\n", v);
        ev_json_num(f, ev_mean(s->radcliq[v], s->n));
        ev_json_ci(f, s->o.B > 0, &s->ci_radcliq[v]);
        fputs(", \"radgraph_from\": ", f);
        ev_json_str(f, s->radgraph_src);
        fputs("}", f);
        first = 0;
    }
    fputs("\n  },\n", f);
    if (o->metrics & M_LABELS) {
        fputs("  \"labels\": {\n    \"labeler\": ", f);
        ev_json_str(f, o->rule ? s->rule_sig : ev_model_labels(o) ? s->chexbert_sig : "CheXbert labels from files");
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

static void ev_write_md(FILE *f, const ev_state *s, const char *sig)
{
    const ev_opts *o = &s->o;
    fprintf(f, "# xrem eval\n\n");
    fprintf(f, "- GT: `%s` (%" PRId64 " reports, %" PRId64 " empty among the scored)\n", s->gt->path, s->gt->n, s->gt_empty);
    fprintf(f, "- PRED: `%s` (%" PRId64 " reports, %" PRId64 " empty among the scored)\n", s->pred->path, s->pred->n, s->pred_empty);
    if (s->pb) fprintf(f, "- PRED-B: `%s` (%" PRId64 " reports)\n", s->pb->path, s->pb->n);
    fprintf(f, "- scored study ids: %" PRId64 "\n\n", s->n);
    fprintf(f, "| metric | value | 95%% CI |\n|---|---|---|\n");
    if (o->metrics & M_BLEU2) {
        fprintf(f, "| BLEU-2 (CXR-Report-Metric, mean) | %.4f |", ev_mean(s->bleu2, s->n));
        if (s->have_ci) fprintf(f, " %.4f – %.4f |\n", s->ci_bleu2.lo, s->ci_bleu2.hi);
        else fprintf(f, " |\n");
    }
    if (o->metrics & M_BLEU) {
        for (int nn = 1; nn <= 4; nn++)
            fprintf(f, "| NLTK corpus BLEU-%d | %.4f | |\n", nn, xrem_bleu_nltk_score(&s->nltk, nn, XREM_BLEU_SMOOTH_NONE));
        fprintf(f, "| sacreBLEU corpus (13a) | %.2f | |\n", xrem_sacrebleu_score(&s->sac, 0));
        fprintf(f, "| sacreBLEU sentence mean | %.2f | |\n", ev_mean(s->sacre, s->n));
    }
    if (s->pb) {
        fprintf(f, "| BLEU-2 of PRED-B (mean) | %.4f |", ev_mean(s->bleu2_b, s->n));
        if (s->have_ci) fprintf(f, " %.4f – %.4f |\n", s->ci_bleu2_b.lo, s->ci_bleu2_b.hi);
        else fprintf(f, " |\n");
        if (s->have_paired)
            fprintf(f, "| BLEU-2 PRED-B − PRED (paired bootstrap) | %+.4f (p = %.4f) | %.4f – %.4f |\n", s->paired.diff,
                    s->paired.p_value, s->paired.lo, s->paired.hi);
    }
    if (o->metrics & M_LABELS) {
        fprintf(f, "| label micro-F1, 14 (rrg) | %.4f | |\n", s->lf.all.micro.f1);
        fprintf(f, "| CheXbert macro-F1, 14 (rrg) | %.4f | |\n", s->lf.all.macro.f1);
        fprintf(f, "| CheXbert weighted-F1, 14 (rrg) | %.4f | |\n", s->lf.all.weighted.f1);
        fprintf(f, "| label micro-F1, top 5 (rrg) | %.4f | |\n", s->lf.top5.micro.f1);
        fprintf(f, "| CheXbert macro-F1, top 5 (rrg) | %.4f | |\n", s->lf.top5.macro.f1);
        fprintf(f, "| CheXbert accuracy, top 5 | %.4f | |\n", s->lf.accuracy5);
        fprintf(f, "| CXR-RePaiR macro-F1, 14 (all reports) | %.4f | |\n", s->repair_f1);
        fprintf(f, "| CXR-RePaiR macro-F1, 14 (mean of 10 resamples) | %.4f | ± %.4f (t, 9 d.o.f.) |\n", s->repair_mean, s->repair_half);
    }
    if (s->bertscore) {
        fprintf(f, "| BERTScore F1 (mean, rescaled) | %.4f |", ev_mean(s->bertscore, s->n));
        if (o->B > 0) fprintf(f, " %.4f – %.4f |\n", s->ci_bertscore.lo, s->ci_bertscore.hi);
        else fprintf(f, " |\n");
    }
    if (s->semb) {
        fprintf(f, "| CheXbert s_emb (mean) | %.4f |", ev_mean(s->semb, s->n));
        if (o->B > 0) fprintf(f, " %.4f – %.4f |\n", s->ci_semb.lo, s->ci_semb.hi);
        else fprintf(f, " |\n");
    }
    for (int v = 0; v < 2 && s->radcliq[0]; v++) {
        fprintf(f, "| RadCliQ-v%d (mean, lower is better) | %.4f |", v, ev_mean(s->radcliq[v], s->n));
        if (o->B > 0) fprintf(f, " %.4f – %.4f |\n", s->ci_radcliq[v].lo, s->ci_radcliq[v].hi);
        else fprintf(f, " |\n");
    }
    if ((o->metrics & M_LABELS) && !ev_model_labels(o))
        fprintf(f, "\nLabels: CheXbert labels read from `%s` and `%s`.\n", o->labels_gt, o->labels_pred);
    if (o->rule)
        fprintf(f, "\nLabels: GT and PRED labelled by xrem's rule-based labeler (%s; phrase lists in data/labeler/), "
                   "a transparent fallback, not CheXbert.\n",
                s->rule_sig);
    else if (ev_model_labels(o))
        fprintf(f, "\nLabels: GT and PRED labelled by the CheXbert model `%s` (%s, reports cut at %d tokens); "
                   "per_report.csv holds both sides' labels ('' blank, 1 positive, 0 negative, -1 uncertain).\n",
                o->chexbert, s->chexbert_sig, s->chexbert_max_len);
    if (s->semb) fprintf(f, "\ns_emb: cosine of the raw last-layer [CLS] vectors of each GT/PRED pair (%s).\n", s->chexbert_sig);
    if (s->radcliq[0])
        fprintf(f, "\nRadCliQ: from radgraph (column '%s' of `%s`), bertscore, semb and bleu2 per report.\n", EV_RADGRAPH_COL,
                s->radgraph_src);
    fprintf(f, "\nSignature (every setting that changes a number):\n\n```\n%s\n```\n", sig);
}

static void ev_write_per_report(FILE *f, const ev_state *s)
{
    xrem_csv_writer w;
    xrem_csv_writer_init(&w, f);
    xrem_csv_put(&w, "study_id", (size_t)-1);
    xrem_csv_put(&w, "empty", (size_t)-1);
    if (s->bleu2) xrem_csv_put(&w, "bleu2", (size_t)-1);
    if (s->sacre) xrem_csv_put(&w, "sacrebleu", (size_t)-1);
    if (s->bleu2_b) xrem_csv_put(&w, "bleu2_b", (size_t)-1);
    if (s->acc5) xrem_csv_put(&w, "labels_acc5", (size_t)-1);
    for (int t = 0; t < 2 && s->lab[0]; t++)
        for (int j = 0; j < XREM_NCOND; j++) {
            char h[64];
            snprintf(h, sizeof h, "%s:%s", t ? "pred" : "gt", xrem_chexbert_conditions[j]);
            xrem_csv_put(&w, h, (size_t)-1);
        }
    if (s->semb) xrem_csv_put(&w, "semb", (size_t)-1);
    if (s->radgraph) xrem_csv_put(&w, "radgraph", (size_t)-1);
    if (s->bertscore) xrem_csv_put(&w, "bertscore", (size_t)-1);
    if (s->radcliq[0]) {
        xrem_csv_put(&w, "radcliq_v0", (size_t)-1);
        xrem_csv_put(&w, "radcliq_v1", (size_t)-1);
    }
    xrem_csv_end_row(&w);
    for (int64_t i = 0; i < s->n; i++) {
        xrem_csv_put_i64(&w, s->gt->id[s->rg[i]]);
        int eg = xrem_report_is_empty(s->gt->text[s->rg[i]], s->gt->len[s->rg[i]]);
        int ep = xrem_report_is_empty(s->pred->text[s->rp[i]], s->pred->len[s->rp[i]]);
        xrem_csv_put(&w, eg && ep ? "both" : eg ? "gt" : ep ? "pred" : "", (size_t)-1);
        if (s->bleu2) xrem_csv_put_f64(&w, s->bleu2[i]);
        if (s->sacre) xrem_csv_put_f64(&w, s->sacre[i]);
        if (s->bleu2_b) xrem_csv_put_f64(&w, s->bleu2_b[i]);
        if (s->acc5) xrem_csv_put_f64(&w, s->acc5[i]);
        /* label.py's written convention, as in label files: '' blank, 1 positive, 0 negative, -1 uncertain */
        static const char *const lv[4] = {"", "1", "0", "-1"};
        for (int t = 0; t < 2 && s->lab[0]; t++)
            for (int j = 0; j < XREM_NCOND; j++) xrem_csv_put(&w, lv[s->lab[t][i * XREM_NCOND + j] & 3], (size_t)-1);
        if (s->semb) xrem_csv_put_f64(&w, s->semb[i]);
        if (s->radgraph) xrem_csv_put_f64(&w, s->radgraph[i]);
        if (s->bertscore) xrem_csv_put_f64(&w, s->bertscore[i]);
        if (s->radcliq[0]) {
            xrem_csv_put_f64(&w, s->radcliq[0][i]);
            xrem_csv_put_f64(&w, s->radcliq[1][i]);
        }
        xrem_csv_end_row(&w);
    }
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

typedef void (*ev_writer)(FILE *, const ev_state *, const char *);
static void ev_w_csv(FILE *f, const ev_state *s, const char *sig)
{
    (void)sig;
    ev_write_per_report(f, s);
}

static int ev_write_all(const ev_state *s)
{
    char sig[1024];
    ev_signature(s, sig, sizeof sig);
    if (!ev_mkdirs(s->o.out)) return ev_fail();
    const char *names[3] = {"per_report.csv", "summary.json", "summary.md"};
    ev_writer fns[3] = {ev_w_csv, ev_write_json, ev_write_md};
    char final[3][4200], tmp[3][4200];
    int made = 0, ok = 1;
    for (int k = 0; k < 3 && ok; k++) {
        snprintf(final[k], sizeof final[k], "%s/%s", s->o.out, names[k]);
        snprintf(tmp[k], sizeof tmp[k], "%s/.%s.tmp.%ld", s->o.out, names[k], (long)getpid());
        FILE *f = fopen(tmp[k], "wb");
        if (!f) {
            xrem_fail(XREM_ERR_IO, "%s: cannot create: %s", tmp[k], strerror(errno));
            ok = 0;
            break;
        }
        made = k + 1;
        fns[k](f, s, sig);
        int bad = fflush(f) != 0 || ferror(f);
        if (!bad && fsync(fileno(f)) != 0 && errno != EINVAL) bad = 1;
        if (fclose(f) != 0) bad = 1;
        if (bad) {
            xrem_fail(XREM_ERR_IO, "%s: write failed (temporary %s): %s", final[k], tmp[k], strerror(errno));
            ok = 0;
        }
    }
    for (int k = 0; k < made && ok; k++) {
        if (rename(tmp[k], final[k]) != 0) {
            xrem_fail(XREM_ERR_IO, "%s: cannot rename to %s: %s", tmp[k], final[k], strerror(errno));
            ok = 0;
        }
    }
    if (!ok) {
        for (int k = 0; k < made; k++) unlink(tmp[k]);
        return ev_fail();
    }
    printf("  wrote %s, %s, %s\n", final[0], final[1], final[2]);
    printf("  signature: %s\n", sig);
    return 0;
}

static void ev_print_summary(const ev_state *s)
{
    if (s->bleu2) {
        printf("  BLEU-2 mean %.4f", ev_mean(s->bleu2, s->n));
        if (s->have_ci) printf(" (95%% CI %.4f-%.4f, %d resamples)", s->ci_bleu2.lo, s->ci_bleu2.hi, s->o.B);
        printf("; %" PRId64 " pairs in %.3f s (%.0f pairs/s)\n", s->n * (s->pb ? 2 : 1), s->t_bleu2,
               s->t_bleu2 > 0 ? (double)(s->n * (s->pb ? 2 : 1)) / s->t_bleu2 : 0.0);
    }
    if (s->sacre)
        printf("  NLTK corpus BLEU-4 %.4f, sacreBLEU corpus %.2f\n", xrem_bleu_nltk_score(&s->nltk, 4, XREM_BLEU_SMOOTH_NONE),
               xrem_sacrebleu_score(&s->sac, 0));
    if (s->have_paired)
        printf("  BLEU-2 B - PRED %+.4f (p = %.4f)\n", s->paired.diff, s->paired.p_value);
    if (s->acc5)
        printf("  label micro-F1 14 %.4f, top-5 %.4f; CXR-RePaiR macro-F1 %.4f +- %.4f (labels: %s)\n", s->lf.all.micro.f1,
               s->lf.top5.micro.f1, s->repair_mean, s->repair_half,
               s->o.rule ? s->rule_sig : ev_model_labels(&s->o) ? s->chexbert_sig : "files");
    if (s->semb) {
        printf("  s_emb mean %.4f", ev_mean(s->semb, s->n));
        if (s->o.B > 0) printf(" (95%% CI %.4f-%.4f)", s->ci_semb.lo, s->ci_semb.hi);
        printf("\n");
    }
    if (s->radcliq[0]) printf("  RadCliQ-v0 mean %.4f, RadCliQ-v1 mean %.4f\n", ev_mean(s->radcliq[0], s->n), ev_mean(s->radcliq[1], s->n));
}

/* Before any metric is computed: --out can be made, and none of its files is an input. */
static int ev_check_out(const ev_state *s)
{
    const ev_opts *o = &s->o;
    const char *inputs[] = {o->gt,
                            o->pred ? o->pred : "",
                            o->pred_b ? o->pred_b : "",
                            o->labels_gt ? o->labels_gt : "",
                            o->labels_pred ? o->labels_pred : "",
                            NULL};
    static const char *const names[] = {"per_report.csv", "summary.json", "summary.md", NULL};
    xrem_status st = xrem_outdir_check(o->out);
    for (int k = 0; !st && names[k]; k++)
        st = xrem_out_not_input(o->out, names[k], inputs);
    return st ? ev_fail() : 0;
}

int xrem_cmd_eval(int argc, char **argv)
{
    ev_state s;
    memset(&s, 0, sizeof s);
    int rc = ev_parse(argc, argv, &s.o);
    if (rc) return rc < 0 ? 0 : rc;
    if ((rc = ev_check_out(&s)) != 0) goto done;
    if ((ev_need_chexbert(&s.o) || (s.o.metrics & M_BERTSCORE)) &&
        xrem_backend_create(s.o.backend, s.o.threads, &s.be) != XREM_OK) {
        rc = ev_fail();
        goto done;
    }
    if ((rc = ev_load(&s)) != 0) goto done;
    if ((s.o.metrics & M_RADCLIQ) && (rc = ev_radcliq_inputs(&s)) != 0) goto done;
    if ((s.o.metrics & (M_BLEU | M_BLEU2)) && (rc = ev_bleu(&s)) != 0) goto done;
    if (ev_need_chexbert(&s.o) && (rc = ev_chexbert(&s)) != 0) goto done;
    if (s.o.rule && (rc = ev_rule_labels(&s)) != 0) goto done;
    if ((s.o.metrics & M_LABELS) && (rc = ev_labels(&s)) != 0) goto done;
    if ((s.o.metrics & M_BERTSCORE) && (rc = ev_bertscore(&s)) != 0) goto done;
    if ((s.o.metrics & M_RADCLIQ) && (rc = ev_radcliq(&s)) != 0) goto done;
    ev_print_summary(&s);
    rc = ev_write_all(&s);
done:
    ev_free(&s);
    xrem_backend_free(s.be);
    return rc;
}
