/* Stage-3 redundancy filters behind xrem_filter (pipeline/run.h): "nli" appends a candidate
 * when the NLI model calls (report, candidate) neutral; "bertscore" when the rescaled
 * BERTScore F1 is below 0.5 (DESIGN §2). */
#ifndef XREM_PIPELINE_FILTERS_H
#define XREM_PIPELINE_FILTERS_H

#include "pipeline/run.h"

/* kind "nli" (needs nli_weights). The BERTScore filter needs the metrics library and is made by
 * xrem_bertscore_filter_create (pipeline/filter_bertscore.c, built into xrem_eval). */
xrem_status xrem_filter_create(const char *kind, const char *nli_weights, xrem_backend *be, xrem_filter **out);
/* "bertscore": append when the rescaled BERTScore F1 of (report so far, candidate) is below 0.5,
 * as X-REM's BERTScore ablation (distilroberta-base, layer 5, bert_score's baseline). */
xrem_status xrem_bertscore_filter_create(const char *weights, int layer, xrem_backend *be, xrem_filter **out);
void xrem_filter_free(xrem_filter *f);

#endif
