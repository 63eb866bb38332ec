/* fuzz_labeler — the rule labeler (eval/rule_labeler.c, lists from data/labeler/) on arbitrary
 * report text. Input: up to 4 reports separated by NUL bytes.
 * Checks: labeling never fails; every class is 0..3 and No Finding 0 or 1; a report gets the
 * same row alone as in a batch; explain() succeeds and ends with the same classes. */
#include "fuzz.h"

#include "rule_labeler.h"

#define LB_MAX 4

static const xrem_rule_labeler *lb_labeler(void)
{
    static xrem_rule_labeler *lab;
    if (lab) return lab;
    xrem_status st = xrem_rule_labeler_load(xrem_fuzz_src("data/labeler"), &lab);
    FUZZ_CHECK(st == XREM_OK, "cannot load data/labeler: %s", xrem_last_error());
    return lab;
}

static int lb_no_finding(void)
{
    for (int o = 0; o < XREM_NCOND; o++)
        if (strcmp(xrem_chexbert_conditions[o], "No Finding") == 0) return o;
    return -1;
}

int xrem_fuzz_labeler(const uint8_t *data, size_t size)
{
    const xrem_rule_labeler *lab = lb_labeler();
    char *all = xrem_fuzz_cstr(data, size);
    FUZZ_CHECK(all != NULL, "out of memory");
    const char *texts[LB_MAX];
    int n = 0;
    for (size_t i = 0; n < LB_MAX;) {
        texts[n++] = all + i;
        i += strlen(all + i) + 1;
        if (i > size) break;
    }
    int32_t cls[LB_MAX * XREM_NCOND], one[XREM_NCOND];
    FUZZ_CLEAR_ERROR();
    xrem_status st = xrem_rule_labeler_label(lab, texts, n, cls);
    FUZZ_CHECK(st == XREM_OK, "label failed: %s", xrem_last_error());
    int nf = lb_no_finding();
    for (int r = 0; r < n; r++)
        for (int o = 0; o < XREM_NCOND; o++) {
            int32_t c = cls[r * XREM_NCOND + o];
            FUZZ_CHECK(c >= 0 && c <= 3 && (o != nf || c <= 1), "report %d condition %d: class %d", r, o, c);
        }
    st = xrem_rule_labeler_label(lab, texts, 1, one);
    FUZZ_CHECK(st == XREM_OK && memcmp(one, cls, sizeof one) == 0, "report 0 labeled differently alone");

    char *ex = NULL;
    st = xrem_rule_labeler_explain(lab, texts[0], &ex);
    FUZZ_CHECK(st == XREM_OK && ex != NULL, "explain failed: %s", xrem_last_error());
    char want[16 * XREM_NCOND + 16];
    int w = snprintf(want, sizeof want, "classes:");
    for (int o = 0; o < XREM_NCOND; o++)
        w += snprintf(want + w, sizeof want - (size_t)w, " %d", cls[o]);
    snprintf(want + w, sizeof want - (size_t)w, "\n");
    size_t le = strlen(ex), lw = strlen(want);
    FUZZ_CHECK(le >= lw && strcmp(ex + le - lw, want) == 0, "explain ends differently from the labels");
    free(ex);
    free(all);
    return 0;
}

XREM_FUZZ_ENTRY(xrem_fuzz_labeler)
