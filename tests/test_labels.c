/* Label F1 parity with scikit-learn (goldens: scripts/make_label_goldens.py), to 1e-12:
 * f1chexbert rrg-mode classification_report (14 and top 5), accuracy, CXR-RePaiR macro F1 and its
 * 10-resample t-interval on the golden's own bootstrap indices. Then the label CSV loader on good
 * and bad files. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootstrap.h"
#include "labels.h"
#include "testutil.h"

#define TOL 1e-12

static double max_err = 0;
static int64_t n_vals = 0;

static void cmp(const char *cs, const char *what, double got, double want)
{
    double d = fabs(got - want);
    if (isnan(got) || isnan(want)) d = (isnan(got) && isnan(want)) ? 0 : INFINITY;
    n_vals++;
    if (d > max_err) max_err = d;
    CHECK(d <= TOL, "case %s %s: got %.17g want %.17g", cs, what, got, want);
}

static void cmp_prf(const char *cs, const char *what, const xrem_prf *p, const double *w)
{
    char b[64];
    snprintf(b, sizeof b, "%s precision", what);
    cmp(cs, b, p->precision, w[0]);
    snprintf(b, sizeof b, "%s recall", what);
    cmp(cs, b, p->recall, w[1]);
    snprintf(b, sizeof b, "%s f1", what);
    cmp(cs, b, p->f1, w[2]);
    CHECK(p->support == (int64_t)w[3], "case %s %s support %" PRId64 " vs %g", cs, what, p->support, w[3]);
}

static int run_golden(void)
{
    FILE *f = fopen(xrem_test_src("tests/golden/labels.txt"), "r");
    CHECK(f != NULL, "cannot open tests/golden/labels.txt");
    if (!f) return 1;
    size_t cap = 1 << 16;
    char *line = malloc(cap);
    char name[64] = "";
    int64_t n = 0, ig = 0, ip = 0, cases = 0;
    uint8_t *gt = NULL, *pred = NULL;
    int64_t *boot = NULL;
    double boot_scores[10];
    int nboot = 0;
    xrem_label_f1 r;
    double rep = NAN;
    while (fgets(line, (int)cap, f)) {
        line[strcspn(line, "\n")] = 0;
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        *sp = 0;
        const char *key = line, *val = sp + 1;
        double w[4];
        int j;
        if (!strcmp(key, "case")) {
            sscanf(val, "%63s %" SCNd64, name, &n);
            free(gt);
            free(pred);
            free(boot);
            gt = calloc((size_t)n * 14 + 1, 1);
            pred = calloc((size_t)n * 14 + 1, 1);
            boot = malloc((size_t)n * 10 * sizeof *boot + 8);
            ig = ip = 0;
            nboot = 0;
            cases++;
        } else if (!strcmp(key, "gt") || !strcmp(key, "pred")) {
            uint8_t *m = key[0] == 'g' ? gt : pred;
            int64_t *row = key[0] == 'g' ? &ig : &ip;
            for (int k = 0; k < 14; k++) m[*row * 14 + k] = (uint8_t)(val[k] - '0');
            (*row)++;
            if (ig == n && ip == n && key[0] == 'p') {
                CHECK_OK(xrem_labels_f1_rrg(gt, pred, n, &r));
                CHECK_OK(xrem_labels_f1_repair(gt, pred, n, NULL, 0, &rep));
            }
        } else if (sscanf(val, "%d %lf %lf %lf %lf", &j, &w[0], &w[1], &w[2], &w[3]) == 5 && strstr(key, "_cond")) {
            const xrem_label_report *lr = !strncmp(key, "all", 3) ? &r.all : &r.top5;
            char what[32];
            snprintf(what, sizeof what, "%s[%d]", key, j);
            cmp_prf(name, what, &lr->cond[j], w);
        } else if ((!strncmp(key, "all_", 4) || !strncmp(key, "top5_", 5)) &&
                   sscanf(val, "%lf %lf %lf %lf", &w[0], &w[1], &w[2], &w[3]) == 4) {
            const xrem_label_report *lr = !strncmp(key, "all", 3) ? &r.all : &r.top5;
            const char *avg = strchr(key, '_') + 1;
            const xrem_prf *p = !strcmp(avg, "micro") ? &lr->micro : !strcmp(avg, "macro") ? &lr->macro
                                : !strcmp(avg, "weighted") ? &lr->weighted : &lr->samples;
            cmp_prf(name, key, p, w);
        } else if (!strcmp(key, "accuracy5")) {
            cmp(name, key, r.accuracy5, strtod(val, NULL));
        } else if (!strcmp(key, "accuracy14")) {
            cmp(name, key, r.accuracy14, strtod(val, NULL));
        } else if (!strcmp(key, "repair_macro")) {
            cmp(name, key, rep, strtod(val, NULL));
        } else if (!strcmp(key, "boot")) {
            int b;
            char *e;
            b = (int)strtol(val, &e, 10);
            for (int64_t i = 0; i < n; i++) boot[(int64_t)b * n + i] = strtoll(e, &e, 10);
            nboot++;
        } else if (!strcmp(key, "boot_scores")) {
            CHECK(nboot == 10, "case %s: %d bootstrap rows", name, nboot);
            double mean, half;
            CHECK_OK(xrem_labels_repair_interval(gt, pred, n, 10, 0, boot, boot_scores, &mean, &half));
            char *e = (char *)val;
            for (int b = 0; b < 10; b++) cmp(name, "boot score", boot_scores[b], strtod(e, &e));
            if (fgets(line, (int)cap, f)) cmp(name, "boot_mean", mean, strtod(strchr(line, ' ') + 1, NULL));
            if (fgets(line, (int)cap, f)) {
                /* scipy gives nan when all 10 scores are equal (scale 0); xrem gives the true 0 */
                double want = strtod(strchr(line, ' ') + 1, NULL);
                if (isnan(want)) {
                    CHECK(half == 0.0, "case %s: equal scores must give half-width 0, got %g", name, half);
                    want = 0.0;
                }
                cmp(name, "boot_half", half, want);
            }
        }
    }
    fclose(f);
    free(line);
    free(gt);
    free(pred);
    free(boot);
    printf("label F1 vs scikit-learn: %" PRId64 " cases, %" PRId64 " values, max |err| %.3g\n", cases, n_vals, max_err);
    CHECK(cases >= 10 && n_vals > 1000, "too few golden values (%" PRId64 ")", n_vals);
    return 0;
}

static const char *write_tmp(const char *content)
{
    static char path[8][64];
    static int k = 0;
    char *p = path[k++ & 7];
    snprintf(p, 64, "/tmp/xrem_test_labels_%d_%d.csv", (int)getpid(), k);
    FILE *f = fopen(p, "wb");
    fputs(content, f);
    fclose(f);
    return p;
}

static int run_loader(void)
{
    const char *hdr = "study_id,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,"
                      "Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices,No Finding\n";
    char buf[4096];
    snprintf(buf, sizeof buf, "%s5,1.0,,0.0,-1.0,1,0,-1,,,,,,,1\n3,,,,,,,,,,,,,,\n", hdr);
    xrem_label_table *t;
    CHECK_OK(xrem_labels_load(write_tmp(buf), &t));
    CHECK(t->n == 2 && t->id[0] == 5 && t->id[1] == 3, "ids");
    const uint8_t want[14] = {1, 0, 2, 3, 1, 2, 3, 0, 0, 0, 0, 0, 0, 1};
    CHECK(!memcmp(t->lab, want, 14), "label conversion");
    xrem_labels_free(t);

    struct {
        const char *body, *expect;
    } bad[] = {
        {"5,2,,,,,,,,,,,,,\n", "field 'Enlarged Cardiomediastinum': label '2'"},
        {"5,,,,,,,,,,,,,,yes\n", "field 'No Finding': label 'yes'"},
        {"x5,,,,,,,,,,,,,,\n", "row 1 (line 2) field 'study_id'"},
        {"5,,,,,,,,,,,,,,\n7,,,,,,,,,,,,,,\n5,,,,,,,,,,,,,,\n", "study id 5 appears twice: row 1 (line 2) and row 3 (line 4)"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(buf, sizeof buf, "%s%s", hdr, bad[k].body);
        xrem_status st = xrem_labels_load(write_tmp(buf), &t);
        CHECK(st != XREM_OK && strstr(xrem_last_error(), bad[k].expect), "bad label file %zu: '%s' lacks '%s'", k,
              xrem_last_error(), bad[k].expect);
    }
    xrem_status st = xrem_labels_load(write_tmp("study_id,Cardiomegaly\n1,1\n"), &t);
    CHECK(st != XREM_OK && strstr(xrem_last_error(), "missing column 'Enlarged Cardiomediastinum'"), "missing column: %s",
          xrem_last_error());

    /* out-of-range classes through the API */
    uint8_t g[14] = {0}, p[14] = {0};
    p[3] = 4;
    xrem_label_f1 r;
    CHECK(xrem_labels_f1_rrg(g, p, 1, &r) == XREM_ERR_VALUE, "class 4 must be refused");
    int64_t idx[1] = {3};
    double m;
    CHECK(xrem_labels_f1_repair(g, g, 1, idx, 1, &m) == XREM_ERR_ARG, "bad bootstrap index must be refused");
    return 0;
}

int main(void)
{
    if (run_golden()) return 1;
    if (run_loader()) return 1;
    if (xrem_test_failures) {
        printf("test_labels: %d failure(s)\n", xrem_test_failures);
        return 1;
    }
    printf("test_labels: ok\n");
    return 0;
}
