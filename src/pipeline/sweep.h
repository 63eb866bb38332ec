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
    const xrem_sweep_setting *settings; /* explicit settings (a preset), each checked against the run; */
    int nsettings;                      /* NULL: the grid below */
    const xrem_filter *filter;    /* NLI; NULL: settings with filter=1 are skipped with a note */
    const xrem_filter *filter_bs; /* BERTScore; NULL: settings with filter=2 are skipped */
    /* The grid: every (K1, K2, K3) of these lists, with the NLI filter. Each value must be one the
     * run can give (K1 <= the run's K1; K2 <= the largest K1, + 1 when the run kept the empty
     * candidate; no repeats), else the sweep is refused with the allowed ranges; a pair whose K2 is
     * above that K1's candidates is left out and listed in table.md. */
    const int *grid_k1, *grid_k2, *grid_k3;
    int n1, n2, n3;
    /* Further input files (the filter models' weights), NULL-terminated, or NULL. No output may
     * replace an input: these, run.h5, its corpus and gt are checked before anything is written. */
    const char *const *inputs;
    const xrem_progress *progress; /* settings done (NULL: none) */
} xrem_sweep_config;

typedef struct {
    int computed; /* settings swept */
    int skipped;  /* settings whose filter model was not given */
    int left_out; /* grid settings with K2 above their K1's candidates */
} xrem_sweep_summary;

/* Refused, before any output, when no setting can be computed (an empty grid, every setting
 * needing a filter model not given). sum (optional) says what was done. */
xrem_status xrem_sweep(const xrem_sweep_config *c, xrem_sweep_summary *sum);

#endif
