#include "pipeline/filters.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/nli.h"

/* A batched pair's logits differ from the same pair alone by float rounding (other GEMM shapes, other
 * padding). A decision whose neutral-vs-rest margin is this small is re-decided alone, so batching
 * never changes one; measured: batched and alone differ by at most 1.3e-5 (tests/test_filter_batch.c). */
#define NLI_RECHECK_MARGIN 1e-3f

typedef struct {
    xrem_filter f;
    xrem_nli *nli;
    char name[160];
    int64_t calls, rechecked;
} nli_filter;

/* X-REM appends a candidate when NLI(report, candidate) is "neutral" (label 1). */
static xrem_status nli_judge(void *ctx, const char *premise, const char *hypothesis, int *accept)
{
    nli_filter *n = ctx;
    int label = -1;
    xrem_status s = xrem_nli_classify(n->nli, &premise, &hypothesis, 1, XREM_NLI_MAX_LEN, NULL, &label);
    n->calls++;
    *accept = !s && label == 1;
    return s;
}

/* Every pair in one xrem_nli_classify call (it pads per batch of similar lengths; padding is masked).
 * accept = neutral is the argmax (first on a tie): logit 1 > logit 0 and >= logit 2. */
static xrem_status nli_judge_batch(void *ctx, const char *const *premise, const char *const *hypothesis, int B,
                                   int *accept)
{
    nli_filter *n = ctx;
    if (B <= 0) return XREM_OK;
    float *logits = malloc(sizeof(float) * XREM_NLI_LABELS * (size_t)B);
    xrem_status s = logits ? XREM_OK : xrem_fail(XREM_ERR_NOMEM, "out of memory for %d NLI pairs", B);
    if (!s) s = xrem_nli_classify(n->nli, premise, hypothesis, B, XREM_NLI_MAX_LEN, logits, NULL);
    for (int b = 0; !s && b < B; b++) {
        const float *l = logits + (size_t)b * XREM_NLI_LABELS;
        const float margin = l[1] - fmaxf(l[0], l[2]);
        accept[b] = margin > 0;
        if (!(fabsf(margin) > NLI_RECHECK_MARGIN) || !isfinite(l[0]) || !isfinite(l[2])) {
            s = nli_judge(ctx, premise[b], hypothesis[b], &accept[b]);
            n->rechecked++;
        } else {
            n->calls++;
        }
    }
    free(logits);
    return s;
}

static void nli_release(void *ctx)
{
    nli_filter *n = ctx;
    xrem_nli_free(n->nli);
    free(n);
}

static xrem_status nli_filter_create(const char *weights, xrem_backend *be, xrem_filter **out)
{
    if (!weights) return xrem_fail(XREM_ERR_ARG, "--filter nli needs --nli NLI.h5 (convert with scripts/convert_nli.py)");
    nli_filter *n = calloc(1, sizeof *n);
    if (!n) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    xrem_status s = xrem_nli_load(weights, be, &n->nli);
    if (s) {
        free(n);
        return s;
    }
    snprintf(n->name, sizeof n->name, "nli:%.64s", xrem_nli_sha256(n->nli));
    n->f = (xrem_filter){n->name, n, nli_judge, nli_release, nli_judge_batch};
    *out = &n->f;
    return XREM_OK;
}

xrem_status xrem_filter_create(const char *kind, const char *nli_weights, xrem_backend *be, xrem_filter **out)
{
    *out = NULL;
    if (!strcmp(kind, "nli")) return nli_filter_create(nli_weights, be, out);
    return xrem_fail(XREM_ERR_ARG, "--filter must be nli, bertscore or none (got '%s')", kind);
}

void xrem_filter_free(xrem_filter *f)
{
    if (f && f->release) f->release(f->ctx);
}
