/* The Indiana University chest X-ray reports (Open-i, NLMCXR_reports.tgz; CC BY-NC-ND 4.0): real
 * report text for the demo corpus, the demo's ground truth and the pipeline parity tests
 * (DESIGN §7). Nothing read from it is ever committed.
 *
 *   xrem_iu_reports r;
 *   if (xrem_iu_reports_read("../shared/data/NLMCXR_reports.tgz", &r)) { print xrem_last_error() }
 *   for (int64_t i = 0; i < r.n; i++) printf("%s: %s\n", r.item[i].file, r.item[i].impression);
 *   xrem_iu_reports_free(&r);
 *
 * Reading: the gzip'd tar is streamed with zlib (ustar names with prefix, GNU long names and pax
 * headers handled; other members skipped); every regular member whose name ends in ".xml" is a
 * report. A section's text is the raw content of its <AbstractText Label="IMPRESSION"> (or
 * "FINDINGS") element: the five predefined XML entities and ASCII character references decoded,
 * CR and CRLF read as LF (XML end-of-line handling), nothing trimmed; a self-closing or absent
 * element gives "". Markup inside the element, another entity or an unterminated element is an
 * error naming the member. This is the rule tests/test_tokenizer.c applies.
 *
 * The split for the demo and the parity tests (xrem_iu_reports_write_split): reports ordered by
 * their file number (1.xml, 2.xml, ...); among those with a non-empty IMPRESSION, every
 * `every`-th one (the every-th, 2·every-th, ...) is a test study: gt.csv gets
 * study_id (= the file number), report (= its IMPRESSION). Every other report, in the same order,
 * is a corpus row: corpus.csv has one column, report (its IMPRESSION; empty when it has none, so
 * the corpus reader's NaN rule is exercised). Both CSVs are RFC 4180, written atomically.
 */
#ifndef XREM_PIPELINE_IU_REPORTS_H
#define XREM_PIPELINE_IU_REPORTS_H

#include <stdint.h>

#include "xrem/status.h"

typedef struct {
    char *file;        /* member base name, e.g. "1234.xml" */
    int64_t number;    /* the file name's number (1234), -1 when the name is not <digits>.xml */
    char *impression;  /* IMPRESSION text, "" when absent or empty */
    char *findings;    /* FINDINGS text, "" when absent or empty */
} xrem_iu_report;

typedef struct {
    int64_t n;
    xrem_iu_report *item; /* [n] in archive order; owned */
} xrem_iu_reports;

/* Read every report of the archive. On failure *out is empty. Free with xrem_iu_reports_free. */
xrem_status xrem_iu_reports_read(const char *tgz, xrem_iu_reports *out);
void xrem_iu_reports_free(xrem_iu_reports *r);

/* The text of <AbstractText Label="label"> in xml (rule above) into *out (malloc'd, caller frees);
 * "" when the element is absent. name is used in messages. */
xrem_status xrem_iu_section(const char *xml, const char *label, const char *name, char **out);

/* Write the deterministic split described above. every >= 2; corpus_max >= 0 keeps only the
 * first corpus_max corpus rows (the test split is unchanged), < 0 keeps all. n_test / n_corpus
 * (may be NULL) get the row counts written. */
xrem_status xrem_iu_reports_write_split(const xrem_iu_reports *r, int every, int64_t corpus_max,
                                        const char *corpus_csv, const char *gt_csv, int64_t *n_test,
                                        int64_t *n_corpus);

#endif
