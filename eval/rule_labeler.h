/* eval/rule_labeler.h — a rule-based CheXbert-style labeler: the transparent fallback for users
 * without CheXbert weights (DESIGN §3).
 *
 * What it is: phrase matching plus negation/uncertainty cues, aggregated the CheXpert way, driven
 * entirely by plain-text lists in data/labeler/ (see data/labeler/README.md). Every label can be
 * traced to one phrase and at most one cue, file and line (xrem_rule_labeler_explain). Its output
 * has CheXbert's shape and encoding, so eval/labels.h scores it unchanged.
 * What it is not: CheXbert. It has no learned context and no parse: it misses findings phrased
 * in ways the lists do not hold, mis-scopes negation in comma-spliced sentences ("no
 * pneumothorax, small effusion" negates the effusion), reads disclaimers and recommendations
 * ("evaluation for pneumothorax is limited", "fractures may not be demonstrated") as mentions,
 * and hedges are decided by word lists, not meaning. Its labels are not CheXbert's and its F1
 * is not comparable with CheXbert-based F1: every output must name the labeler
 * (xrem_rule_labeler_signature), and a table built with it must say so. Agreement with the
 * IU X-Ray MeSH terms: results/rule_labeler_agreement.md.
 *
 * Output: [n,14] int32 classes in CheXbert's head encoding and order (labels.h), the layout
 * xrem_chexbert_run writes (models/chexbert.h), so a caller can take either labeler and narrow
 * to uint8 for labels.h the same way:
 *     0 blank (not mentioned), 1 positive, 2 negative, 3 uncertain; No Finding is 1 or 0 only.
 *
 * The algorithm, per report:
 *  1. ASCII lower-casing. Words are runs of [a-z0-9] and bytes >= 0x80; '-', '\'', '/' and other
 *     symbols separate words; ',', ':', '(' and ')' are kept as punctuation (they break phrases
 *     and gaps, and stop post cues). Sentences end at '.', '!', '?', ';' and at a blank line; a
 *     single newline is a space. A '.' is not an end inside a number ("2.5"), before a letter or
 *     digit ("e.g"), or after "vs", "approx", "dr", "mr", "mrs", "ms", "st". A run of more than
 *     256 tokens without a sentence end is cut into pieces of 256 (a guard against pathological
 *     input; report sentences are far shorter), so the cost stays linear in the text.
 *  2. Mentions: every phrase of mentions.txt is matched at every word of the sentence (word*
 *     as a prefix, "..." as 0..gap words, no punctuation inside a match). Matches that share a
 *     word compete: more literal words wins, then a strong over a weak mention, then the
 *     shorter span, then the leftmost. Identical matches from two sections both stand.
 *  3. Cues: on the words no mention took, cues (negation.txt, uncertainty.txt), pseudo cues
 *     (pseudo.txt) and terminators (scope.txt) are found left to right, longest first.
 *  4. Each mention takes the nearest applicable cue: a pre cue that ends before the mention's
 *     last word, or a post cue that starts after its first word, with at most `scope` (or the
 *     cue's @N) words between them (words of other mentions and of pseudo cues do not count,
 *     so a list of findings under one "no" costs only its modifiers), no terminator between
 *     them and, for a post cue, no punctuation between them. A cue inside a mention's "..."
 *     gap is at distance 0 ("heart is not enlarged"). Ties: uncertainty over negation. No cue:
 *     positive; but a weak (~) mention without a cue is dropped ("heart size is stable").
 *  5. Per observation over the report: any positive -> 1, else any uncertain -> 3, else any
 *     negative -> 2, else 0 (so {neg, unc} -> uncertain, {neg, pos} -> positive).
 *     No Finding = 1 when no observation other than Support Devices, and no mention of the
 *     [No Finding] section's other abnormalities, is positive or uncertain; else 0. An empty
 *     report therefore gets No Finding = 1 and nothing else.
 *
 *   xrem_rule_labeler *lab;
 *   if (xrem_rule_labeler_load(NULL, &lab) != XREM_OK)        // data/labeler (or $XREM_LABELER_DIR)
 *       { fprintf(stderr, "xrem: %s\n", xrem_last_error()); return 1; }
 *   int32_t *cls = malloc(sizeof *cls * (size_t)n * XREM_NCOND); // [n,14]
 *   xrem_rule_labeler_label(lab, texts, n, cls);
 *   printf("labeler %s\n", xrem_rule_labeler_signature(lab)); // "rule:<64 hex>"
 *   // as with CheXbert's classes: narrow to uint8 and score with labels.h
 *   for (int64_t k = 0; k < n * XREM_NCOND; k++) pred[k] = (uint8_t)cls[k];
 *   xrem_labels_f1_rrg(gt, pred, n, &f1);
 *   xrem_rule_labeler_free(lab);
 *
 * A loaded labeler is read-only: xrem_rule_labeler_label may run on it from several threads.
 */
#ifndef XREM_EVAL_RULE_LABELER_H
#define XREM_EVAL_RULE_LABELER_H

#include <stdint.h>

#include "labels.h"
#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xrem_rule_labeler xrem_rule_labeler;

/* Where the lists live when load is given NULL: $XREM_LABELER_DIR if set and not empty, else
 * the first of xrem_data_find("labeler")'s places (core/datapath.h: next to the executable's
 * installed share/xrem/ or the build tree's data/, the compiled-in install and source data
 * directories, then data/labeler in the working directory). */

/* Load mentions.txt, negation.txt, uncertainty.txt, pseudo.txt and scope.txt from dir (NULL:
 * the default above). Refuses, naming file and line: a missing file, an unknown, repeated or
 * out-of-order section, a phrase outside a section, a character outside [a-z0-9 *-'~@.], a
 * misplaced '*', '...', '~' or '@N', more than 8 words, a phrase given twice in one section,
 * a cue that is both negation and uncertainty on the same side, a bad setting. *out is owned
 * by the caller (xrem_rule_labeler_free); NULL on failure. */
xrem_status xrem_rule_labeler_load(const char *dir, xrem_rule_labeler **out);
void xrem_rule_labeler_free(xrem_rule_labeler *lab);

/* Label n reports: texts[i] is NUL-terminated (NULL reads as ""); classes is [n,14], written
 * row by row in CheXbert order. Fails only on bad arguments, a text of 2 GiB or more, or memory. */
xrem_status xrem_rule_labeler_label(const xrem_rule_labeler *lab, const char *const *texts, int64_t n,
                                    int32_t *classes);

/* "rule:" + the lower-case hex sha256 of the byte string
 *     "xrem-rule-labeler/1\n" then, for mentions.txt, negation.txt, uncertainty.txt, pseudo.txt,
 *     scope.txt in that order: <name> "\n" <decimal byte count> "\n" <the file's bytes>.
 * The leading tag is the algorithm's version: a change to the rules above bumps it. The string
 * is owned by lab. */
const char *xrem_rule_labeler_signature(const xrem_rule_labeler *lab);

/* The directory the lists were read from (owned by lab). */
const char *xrem_rule_labeler_dir(const xrem_rule_labeler *lab);

/* Why: one line per sentence that has a mention, then one per mention kept, e.g.
 *   s2: "there is no pleural effusion or pneumothorax"
 *     Pleural Effusion "pleural effusion" mentions.txt:147 -> negative (pre "no" negation.txt:10, 0 words)
 *     Pneumothorax "pneumothorax" mentions.txt:141 -> negative (pre "no" negation.txt:10, 1 word)
 * ("(other finding)" for the [No Finding] section; weak mentions without a cue say "ignored"),
 * then "classes: c0 ... c13". The text is shown lower-cased. *out is malloc'd; the caller frees
 * it with free(). tests/test_rule_labeler --explain "TEXT" prints it. */
xrem_status xrem_rule_labeler_explain(const xrem_rule_labeler *lab, const char *text, char **out);

#ifdef __cplusplus
}
#endif
#endif
