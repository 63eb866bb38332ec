/* The evaluation as a library entry (include/xrem/eval.h): in-memory tables and the same rows in
 * CSV files give byte-identical per_report.csv and summary.json; the summary numbers equal their
 * definition (mean of the per-report column, as numpy sums); bad input in memory is refused with
 * the table, row and field named; option errors start with the key; notes reach the callback. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npsum.h"
#include "testutil.h"
#include "xrem/eval.h"

static const char *ids[] = {"3", "1", "2", "4"};
static const char *gt[] = {"Small left effusion, no pneumothorax.", "No acute disease.",
                           "Heart size normal.\nLungs clear.", "Mild \"cardiomegaly\", stable."};
static const char *pred[] = {"Small effusion on the left.", "No acute cardiopulmonary disease.", NULL,
                             "Mild cardiomegaly."};

static int notes;
static void on_note(void *user, xrem_eval_level level, const char *line)
{
    (void)user;
    (void)level;
    if (strstr(line, "4 shared study ids")) notes++;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (b) b[n] = 0;
    fclose(f);
    return b;
}

/* per_report.csv and summary.json of one run, inputs names blanked (they differ by design) */
static int run(xrem_eval_opts *o, xrem_eval_table *g, xrem_eval_table *p, char **csv, char **json, double *bleu2,
               xrem_eval_result **keep)
{
    xrem_eval_result *r = NULL;
    CHECK_OK(xrem_eval_run(o, &(xrem_eval_inputs){.gt = g, .pred = p}, &r));
    CHECK_OK(xrem_eval_result_format(r, XREM_EVAL_PER_REPORT_CSV, csv, NULL));
    CHECK_OK(xrem_eval_result_format(r, XREM_EVAL_SUMMARY_JSON, json, NULL));
    CHECK_OK(xrem_eval_result_number(r, "bleu2.mean", bleu2));
    char *a = strstr(*json, "\"inputs\""), *b = a ? strstr(a, "\"gt_reports\"") : NULL;
    if (a && b) memmove(a, b, strlen(b) + 1); /* paths */
    char *t = strstr(*json, "\"timing_s\"");
    if (t) *t = 0;
    *keep = r;
    return 0;
}

int main(void)
{
    char dir[] = "/tmp/xrem_eval_api.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char gp[128], pp[128];
    snprintf(gp, sizeof gp, "%s/gt.csv", dir);
    snprintf(pp, sizeof pp, "%s/pred.csv", dir);
    FILE *f = fopen(gp, "w");
    fputs("study_id,report\n3,\"Small left effusion, no pneumothorax.\"\n1,No acute disease.\n"
          "2,\"Heart size normal.\nLungs clear.\"\n4,\"Mild \"\"cardiomegaly\"\", stable.\"\n",
          f);
    fclose(f);
    f = fopen(pp, "w");
    fputs("study_id,report\n1,No acute cardiopulmonary disease.\n3,Small effusion on the left.\n2,\n4,Mild "
          "cardiomegaly.\n",
          f);
    fclose(f);

    xrem_eval_opts *o = NULL;
    CHECK_OK(xrem_eval_opts_create(&o));
    xrem_eval_opts_set_progress(o, on_note, NULL);
    CHECK_OK(xrem_eval_opts_set(o, "metrics", "bleu,labels"));
    CHECK_OK(xrem_eval_opts_set(o, "bootstrap", "100"));
    CHECK_OK(xrem_eval_opts_set(o, "labeler-dir", xrem_test_src("data/labeler")));

    xrem_eval_table *gm = NULL, *pm = NULL, *gc = NULL, *pc = NULL;
    CHECK_OK(xrem_eval_table_arrays("gt-memory", 4, ids, gt, &gm));
    CHECK_OK(xrem_eval_table_arrays("pred-memory", 4, ids, pred, &pm));
    CHECK_OK(xrem_eval_table_csv(gp, &gc));
    CHECK_OK(xrem_eval_table_csv(pp, &pc));
    char *csv1, *json1, *csv2, *json2;
    double b1, b2;
    xrem_eval_result *r1, *r2;
    if (run(o, gm, pm, &csv1, &json1, &b1, &r1) || run(o, gc, pc, &csv2, &json2, &b2, &r2)) return 1;
    CHECK(!strcmp(csv1, csv2), "per_report.csv differs:\n%s\nvs\n%s", csv1, csv2);
    CHECK(!strcmp(json1, json2), "summary.json differs:\n%s\nvs\n%s", json1, json2);
    CHECK(b1 == b2, "bleu2 mean %.17g vs %.17g", b1, b2);
    CHECK(notes == 2, "the progress callback saw the match note %d times, want 2", notes);
    printf("  memory and CSV: per_report.csv, summary.json and bleu2.mean %.6f identical\n", b1);

    /* the mean is numpy's sum over the column / n; the empty PRED is flagged and scores 0 */
    const double *col = xrem_eval_result_col_f64(r1, "bleu2");
    CHECK(col && xrem_eval_result_rows(r1) == 4, "bleu2 column");
    if (col) {
        CHECK(b1 == xrem_np_sum(col, 4) / 4, "mean %.17g vs column %.17g", b1, xrem_np_sum(col, 4) / 4);
        CHECK(col[2] == 0, "empty prediction scored %g", col[2]);
    }
    CHECK(xrem_eval_result_study_ids(r1)[0] == 3, "rows in GT order");
    char cell[32];
    CHECK(!strcmp(xrem_eval_result_col_name(r1, 0), "empty") &&
              !strcmp(xrem_eval_result_cell(r1, 2, 0, cell, sizeof cell), "pred"),
          "empty flag of row 2: '%s'", cell);
    double v;
    CHECK(xrem_eval_result_number(r1, "semb.mean", &v) == XREM_ERR_ARG, "semb not computed but has a number");
    CHECK_OK(xrem_eval_result_number(r1, "labels.rrg_all14.micro.f1", &v));
    CHECK(v >= 0 && v <= 1, "micro F1 %g", v);
    CHECK(strstr(xrem_eval_result_signature(r1), "|labeler:rule:") != NULL, "signature: %s",
          xrem_eval_result_signature(r1));

    /* writing: the three files, and their CSV is the formatted one */
    char out[160], path[200];
    snprintf(out, sizeof out, "%s/out", dir);
    CHECK_OK(xrem_eval_result_write(r2, out));
    snprintf(path, sizeof path, "%s/per_report.csv", out);
    char *w = slurp(path);
    CHECK(w && !strcmp(w, csv2), "per_report.csv on disk differs from the formatted one");
    free(w);

    /* bad input in memory: named by table, row and field */
    const char *bad_ids[] = {"1", "x7", "2", "4"};
    xrem_eval_table *gb = NULL;
    xrem_eval_result *rb = NULL;
    CHECK_OK(xrem_eval_table_arrays("gt-frame", 4, bad_ids, gt, &gb));
    CHECK(xrem_eval_run(o, &(xrem_eval_inputs){.gt = gb, .pred = pm}, &rb) == XREM_ERR_FORMAT && !rb,
          "bad id accepted");
    CHECK(strstr(xrem_last_error(), "gt-frame: row 2") && strstr(xrem_last_error(), "field 'study_id'"), "message: %s",
          xrem_last_error());
    xrem_eval_table_free(gb);
    const char *dup_ids[] = {"1", "3", "2", "1"};
    CHECK_OK(xrem_eval_table_arrays("dup-frame", 4, dup_ids, gt, &gb));
    CHECK(xrem_eval_run(o, &(xrem_eval_inputs){.gt = gb, .pred = pm}, &rb) != XREM_OK, "duplicate id accepted");
    CHECK(strstr(xrem_last_error(), "study id 1 appears twice: row 1"), "message: %s", xrem_last_error());
    xrem_eval_table_free(gb);

    /* option errors */
    CHECK(xrem_eval_opts_set(o, "bootstrap", "many") == XREM_ERR_ARG &&
              !strncmp(xrem_last_error(), "bootstrap 'many'", 16),
          "message: %s", xrem_last_error());
    CHECK(xrem_eval_opts_set(o, "frobnicate", "1") == XREM_ERR_ARG, "unknown key accepted");
    CHECK_OK(xrem_eval_opts_set(o, "metrics", "semb"));
    CHECK(xrem_eval_opts_check(o) == XREM_ERR_ARG && strstr(xrem_last_error(), "needs --chexbert"), "message: %s",
          xrem_last_error());
    CHECK_OK(xrem_eval_opts_set(o, "metrics", "radgraph"));
    CHECK(xrem_eval_opts_check(o) == XREM_ERR_UNSUPPORTED, "radgraph: %s", xrem_last_error());

    xrem_eval_result_free(r1);
    xrem_eval_result_free(r2);
    xrem_eval_text_free(csv1);
    xrem_eval_text_free(csv2);
    xrem_eval_text_free(json1);
    xrem_eval_text_free(json2);
    xrem_eval_table_free(gm);
    xrem_eval_table_free(pm);
    xrem_eval_table_free(gc);
    xrem_eval_table_free(pc);
    xrem_eval_opts_free(o);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return xrem_test_failures ? 1 : 0;
}
