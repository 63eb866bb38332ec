#include "pipeline/filters.h"

#include <stdlib.h>
#include <string.h>

xrem_status xrem_filter_create(const char *kind, const char *nli_weights, const char *bs_weights, xrem_backend *be,
                               xrem_filter **out)
{
    (void)nli_weights;
    (void)bs_weights;
    (void)be;
    *out = NULL;
    if (strcmp(kind, "nli") && strcmp(kind, "bertscore"))
        return xrem_fail(XREM_ERR_ARG, "--filter must be nli, bertscore or none (got '%s')", kind);
    return xrem_fail(XREM_ERR_UNSUPPORTED, "the %s filter is not in this build yet; use --filter none", kind);
}

void xrem_filter_free(xrem_filter *f) { free(f); }
