/* The BERTScore redundancy filter (X-REM's ablation): append a candidate when the rescaled
 * BERTScore F1 between the report so far and the candidate is below 0.5. Built into xrem_eval,
 * since it scores with the metrics library (DESIGN §5). */
#include <stdio.h>
#include <stdlib.h>

#include "bertscore.h"
#include "pipeline/filters.h"

typedef struct {
    xrem_filter f;
    xrem_bertscore *bs;
    double b[3];
    char name[200];
} bs_filter;

static xrem_status bs_judge(void *ctx, const char *premise, const char *hypothesis, int *accept)
{
    bs_filter *c = ctx;
    double P, R, F;
    xrem_status s = xrem_bertscore_score(c->bs, &hypothesis, &premise, 1, NULL, &P, &R, &F);
    if (s) return s;
    xrem_bertscore_rescale(c->b, 1, &P, &R, &F);
    *accept = F < 0.5;
    return XREM_OK;
}

static void bs_release(void *ctx)
{
    bs_filter *c = ctx;
    xrem_bertscore_free(c->bs);
    free(c);
}

xrem_status xrem_bertscore_filter_create(const char *weights, int layer, xrem_backend *be, xrem_filter **out)
{
    *out = NULL;
    if (!weights)
        return xrem_fail(XREM_ERR_ARG, "--filter bertscore needs --bertscore-model M.h5 (distilroberta-base converted "
                                       "with scripts/convert_hf.py)");
    bs_filter *c = calloc(1, sizeof *c);
    if (!c) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    xrem_status s = xrem_bertscore_create(weights, layer, be, &c->bs);
    const char *model = s ? "" : xrem_bertscore_model_name(c->bs);
    if (!s && !xrem_bertscore_known_baseline(model, xrem_bertscore_layer(c->bs), c->b))
        s = xrem_fail(XREM_ERR_UNSUPPORTED, "%s: no published rescaling baseline for model '%s' layer %d; the "
                                            "BERTScore filter compares rescaled F1 with 0.5 (X-REM used "
                                            "distilroberta-base, layer 5)",
                      weights, model, xrem_bertscore_layer(c->bs));
    if (s) {
        bs_release(c);
        return s;
    }
    snprintf(c->name, sizeof c->name, "bertscore:%s:L%d:%.64s", model, xrem_bertscore_layer(c->bs),
             xrem_bertscore_sha256(c->bs));
    c->f = (xrem_filter){c->name, c, bs_judge, bs_release, NULL};
    *out = &c->f;
    return XREM_OK;
}
