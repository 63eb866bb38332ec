/* xrem sweep: every (K1, K2, K3) setting derived from one run's cached scores. ITM scores depend
 * only on (image, report), so the run's scores for its largest K1 serve every smaller K1; NLI
 * decisions are cached per (report so far, candidate) pair and shared across settings. */
#ifndef XREM_PIPELINE_SWEEP_H
#define XREM_PIPELINE_SWEEP_H

#include "pipeline/run.h"

typedef struct {
    int k1, k2, k3;
    int use_itm;   /* 0: cosine top-k1 joined with a space */
    int filter;    /* 1: NLI filter, 2: BERTScore filter, 0: none (ITM top-1) */
    char name[64];
} xrem_sweep_setting;

typedef struct {
    const char *run_dir;          /* holds run.h5 (and names its corpus.h5) */
    const char *out;              /* table.csv, table.md, preds/ */
    const char *gt;               /* optional ground truth CSV (study_id, report) for metrics */
    const xrem_sweep_setting *settings;
    int nsettings;
    const xrem_filter *filter;    /* NLI; NULL: settings with filter=1 are skipped with a note */
    const xrem_filter *filter_bs; /* BERTScore; NULL: settings with filter=2 are skipped */
} xrem_sweep_config;

xrem_status xrem_sweep(const xrem_sweep_config *c);

#endif
