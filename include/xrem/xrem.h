/* xrem/xrem.h — the whole public C API of libxrem, in one include.
 *
 * xrem runs X-REM (retrieval-based chest X-ray report generation) and evaluates generated reports
 * with the metrics the field reports. The library is the product; the `xrem` command and the
 * Python package are thin layers over these headers:
 *
 *   xrem/status.h   how every function reports failure (xrem_status, xrem_last_error)
 *   xrem/backend.h  where models run: xrem_backend_create("cpu" | "cuda" | "cuda:N")
 *   xrem/eval.h     report-generation metrics: xrem_eval_run and its result
 *   xrem/run.h      X-REM itself: embed a corpus, generate reports (xrem_job_run)
 *   xrem/progress.h how long work reports how far it has got (the library never prints)
 *
 * Build against the installed library with pkg-config:
 *
 *   cc -std=c11 my_eval.c $(pkg-config --cflags --libs xrem) -o my_eval
 *
 *   #include <stdio.h>
 *   #include <xrem/xrem.h>
 *
 *   int main(int argc, char **argv)        // my_eval GT.csv PRED.csv
 *   {
 *       xrem_eval_opts *o = NULL;
 *       xrem_eval_table *gt = NULL, *pred = NULL;
 *       xrem_eval_result *r = NULL;
 *       char *md = NULL;
 *       int rc = 1;
 *       if (argc == 3 && !xrem_eval_opts_create(&o) && !xrem_eval_table_csv(argv[1], &gt) &&
 *           !xrem_eval_table_csv(argv[2], &pred) &&
 *           !xrem_eval_run(o, &(xrem_eval_inputs){.gt = gt, .pred = pred}, &r) &&
 *           !xrem_eval_result_format(r, XREM_EVAL_SUMMARY_MD, &md, NULL)) {
 *           fputs(md, stdout);
 *           rc = 0;
 *       } else {
 *           fprintf(stderr, "my_eval: %s\n", argc == 3 ? xrem_last_error() : "usage: my_eval GT.csv PRED.csv");
 *       }
 *       xrem_eval_text_free(md);                 // every create has a free; NULL is fine
 *       xrem_eval_result_free(r);
 *       xrem_eval_table_free(gt);
 *       xrem_eval_table_free(pred);
 *       xrem_eval_opts_free(o);
 *       return rc;
 *   }
 *
 * Conventions of every header: names are xrem_noun_verb; handles are opaque and made by a
 * create/new function that has a matching free (which accepts NULL); a function returns an
 * xrem_status (XREM_OK is 0) and leaves a one-line reason naming the file, row or field in
 * xrem_last_error(); pointers returned by accessors belong to the handle they came from and live
 * until it is freed; the library never prints and never exits.
 */
#ifndef XREM_PUBLIC_XREM_H
#define XREM_PUBLIC_XREM_H

#include "xrem/status.h"
#include "xrem/backend.h"
#include "xrem/eval.h"
#include "xrem/progress.h"
#include "xrem/run.h"

#define XREM_VERSION_MAJOR 0
#define XREM_VERSION_MINOR 1
#define XREM_VERSION_PATCH 0

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version "MAJOR.MINOR.PATCH" and the commit it was built from (static strings). */
const char *xrem_version(void);
const char *xrem_build_commit(void);

#ifdef __cplusplus
}
#endif
#endif
