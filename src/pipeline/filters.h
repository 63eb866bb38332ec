/* Stage-3 redundancy filters behind xrem_filter (pipeline/run.h): "nli" appends a candidate
 * when the NLI model calls (report, candidate) neutral; "bertscore" when the rescaled
 * BERTScore F1 is below 0.5 (DESIGN §2). */
#ifndef XREM_PIPELINE_FILTERS_H
#define XREM_PIPELINE_FILTERS_H

#include "pipeline/run.h"

/* kind: "nli" (needs nli_weights) or "bertscore" (needs bs_weights). */
xrem_status xrem_filter_create(const char *kind, const char *nli_weights, const char *bs_weights, xrem_backend *be,
                               xrem_filter **out);
void xrem_filter_free(xrem_filter *f);

#endif
