/* xrem/run.h — X-REM itself from a program: embed a report corpus, generate reports for test
 * images and sweep (K1, K2, K3) settings over a run, as `xrem embed`, `xrem run` and `xrem sweep`
 * do (they call these entries, so the defaults and the checks are the same).
 *
 *   #include <xrem/xrem.h>
 *
 *   xrem_backend *be = NULL;
 *   xrem_job_opts *e = NULL, *r = NULL;
 *   if (xrem_backend_create("cpu", 0, &be) ||
 *       xrem_job_opts_create(XREM_JOB_EMBED, &e) || xrem_job_opts_set(e, "weights", "retrieval.h5") ||
 *       xrem_job_opts_set(e, "corpus", "train_impressions.csv") || xrem_job_opts_set(e, "out", "corpus.h5") ||
 *       xrem_job_run(e, be) ||
 *       xrem_job_opts_create(XREM_JOB_RUN, &r) || xrem_job_opts_set(r, "retrieval", "retrieval.h5") ||
 *       xrem_job_opts_set(r, "itm", "itm.h5") || xrem_job_opts_set(r, "nli", "nli.h5") ||
 *       xrem_job_opts_set(r, "images", "cxr.h5") || xrem_job_opts_set(r, "corpus", "corpus.h5") ||
 *       xrem_job_opts_set(r, "out", "run") || xrem_job_run(r, be))
 *       fprintf(stderr, "xrem: %s\n", xrem_last_error());
 *   // run/pred.csv: study_id, report
 *   xrem_job_opts_free(r);
 *   xrem_job_opts_free(e);
 *   xrem_backend_free(be);
 *
 * Options (xrem_job_opts_set): keys are the command's long options without the dashes, values are
 * strings (copied); a flag takes "1" or "0".
 *   embed: weights, corpus, out (required); column (report), max-len (25), batch (256),
 *          pandas ("1": pandas 1.x NA strings, the reference's; "2")
 *   run:   retrieval, images, corpus, out (required), itm (required unless no-itm), nli (for the
 *          NLI filter), bertscore-model (for filter bertscore), reports, ids, k1 (50; 2 with no-itm),
 *          k2 (10), k3 (2; 3 with the BERTScore filter), filter (nli | bertscore | none; default
 *          nli, none with no-itm), batch (4), res-retrieval (256), res-itm (384); flags no-itm,
 *          drop-empty-candidate, resume
 *   sweep: run (required: a run's folder), k1, k2, k3 (comma lists; default 10,25,50 x 1,5,10 x 1,2,3,
 *          each value one the run can give), preset ("paper": the paper's ablation rows instead of the
 *          grid), gt (GT CSV for BLEU-2), nli, bertscore-model (the filters' models), out (RUN/sweep)
 * A bad value fails at once with XREM_ERR_ARG and a message naming the key; what needs the whole
 * set (required keys, a filter without its model, no-itm with a filter) is checked by xrem_job_run
 * before anything is written. Outputs appear whole or not at all (see the README).
 *
 * Ownership: the caller owns the opts (xrem_job_opts_free; NULL is fine) and the backend, which
 * xrem_job_run borrows. Progress goes to the callback set with xrem_job_opts_set_progress.
 */
#ifndef XREM_PUBLIC_RUN_H
#define XREM_PUBLIC_RUN_H

#include "xrem/backend.h"
#include "xrem/progress.h"
#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { XREM_JOB_EMBED = 0, XREM_JOB_RUN = 1, XREM_JOB_SWEEP = 2 } xrem_job_kind;
typedef struct xrem_job_opts xrem_job_opts;

xrem_status xrem_job_opts_create(xrem_job_kind kind, xrem_job_opts **o);
void xrem_job_opts_free(xrem_job_opts *o);
/* Set one option (value copied; NULL resets it to its default). Unknown keys are XREM_ERR_ARG. */
xrem_status xrem_job_opts_set(xrem_job_opts *o, const char *key, const char *value);
void xrem_job_opts_set_progress(xrem_job_opts *o, xrem_progress_fn fn, void *user);
/* The checks that need the whole set (required keys, no-itm with a filter): XREM_ERR_ARG with a
 * message. xrem_job_run does them too. */
xrem_status xrem_job_opts_check(const xrem_job_opts *o);
/* Check the whole set and do the job on be (borrowed). */
xrem_status xrem_job_run(xrem_job_opts *o, xrem_backend *be);
/* For messages: the number of reports embed kept and dropped, after a successful embed run
 * (kept, empty/NaN, duplicates; NULL pointers are skipped). */
void xrem_job_embed_counts(const xrem_job_opts *o, int64_t *kept, int64_t *dropped_na, int64_t *dropped_dup);
/* After a sweep: settings computed, skipped (their filter model not given), grid points left out. */
void xrem_job_sweep_counts(const xrem_job_opts *o, int *computed, int *skipped, int *left_out);
/* The output the last xrem_job_run wrote (sweep: out, or RUN/sweep), or the "out" option. */
const char *xrem_job_out(const xrem_job_opts *o);

#ifdef __cplusplus
}
#endif
#endif
