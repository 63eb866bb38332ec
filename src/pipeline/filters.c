#include "pipeline/filters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/nli.h"

typedef struct {
    xrem_filter f;
    xrem_nli *nli;
    char name[160];
    int64_t calls;
} nli_filter;

/* X-REM appends a candidate when NLI(report, candidate) is "neutral" (label 1). */
static xrem_status nli_judge(void *ctx, const char *premise, const char *hypothesis, int *accept)
{
    nli_filter *n = ctx;
    int label = -1;
    xrem_status s = xrem_nli_classify(n->nli, &premise, &hypothesis, 1, 384, NULL, &label);
    n->calls++;
    *accept = !s && label == 1;
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
    n->f = (xrem_filter){n->name, n, nli_judge, nli_release};
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
