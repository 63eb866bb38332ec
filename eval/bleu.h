/* eval/bleu.h — the BLEU family as the reference stack computes it, in double precision.
 *
 * Three references, each reproduced to 1e-12 (tests/test_bleu.c checks thousands of real pairs):
 *
 * 1. BLEU-2 of CXR-Report-Metric (fast_bleu 0.0.90, called once per report with one reference).
 *    Tokens: Python str.lower() (text/pylower.h: full Unicode mappings, U+0130 -> "i\u0307",
 *    Final_Sigma, Python 3.11's Unicode 14 tables), then "." -> " .", then split on
 *    U+0020 only, empty strings dropped. So a '.' always starts a new token ("a.b" -> "a", ".b")
 *    and tabs/newlines stay inside tokens. fast_bleu receives the tokens as C strings, so a token
 *    is cut at its first NUL byte (the token still counts toward the length). Score: modified
 *    precisions p_n = clipped matches / max(1, hypothesis n-grams); 0 if p_1's numerator is 0;
 *    a zero numerator for n >= 2 becomes 1/(10·denominator) (NLTK method1, eps 0.1);
 *    BP = 1 if c > r, 0 if c == 0, else exp(1 - r/c); score = BP·exp(Σ w_n ln p_n) with
 *    float32 weights (0.5, 0.5) and the logs taken in long double, as fast_bleu does.
 * 2. NLTK corpus_bleu (and sentence_bleu = a corpus of one) on the same tokens (no NUL cut):
 *    numerators and max(1, ·) denominators pooled over the corpus, BP from pooled lengths,
 *    weights 1/N; smoothing none (method0: a zero precision becomes DBL_MIN, so the score is tiny
 *    but not 0) or method1 (eps 0.1). Scores in [0, 1].
 * 3. sacreBLEU 2.x with the 13a tokenizer (rstrip of Unicode whitespace, "<skipped>" and "-\n"
 *    removed, "\n" -> " ", &quot; &amp; &lt; &gt; unescaped, the mteval-v13a punctuation rules,
 *    split on Unicode whitespace), 4-gram, 'exp' smoothing, case kept; sentence BLEU uses
 *    effective order (sacrebleu.sentence_bleu's default), corpus BLEU does not. Scores 0..100.
 *
 * Inputs are UTF-8 byte strings with explicit lengths (NUL bytes allowed: see 1). Invalid UTF-8
 * is not refused here (the CSV reader refuses it): such bytes pass through lowercasing unchanged.
 *
 *   xrem_bleu_ws *ws;
 *   xrem_bleu_ws_create(&ws);
 *   double b2;
 *   xrem_bleu2(ws, ref, strlen(ref), hyp, strlen(hyp), &b2);            // CXR-Report-Metric BLEU-2
 *   xrem_bleu_stats s, corpus = {0};
 *   xrem_bleu_pair_stats(ws, XREM_BLEU_TOK_NLTK, ref, rl, hyp, hl, 4, &s);
 *   xrem_bleu_stats_add(&corpus, &s);                                   // ... for every pair
 *   double b4 = xrem_bleu_nltk_score(&corpus, 4, XREM_BLEU_SMOOTH_NONE);
 *   xrem_bleu_ws_free(ws);
 *
 * A workspace holds scratch buffers reused across calls; use one per thread.
 */
#ifndef XREM_EVAL_BLEU_H
#define XREM_EVAL_BLEU_H

#include <stddef.h>
#include <stdint.h>

#include "xrem/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XREM_BLEU_MAX_N 4

typedef enum {
    XREM_BLEU_TOK_FASTBLEU = 0, /* lower + "." -> " ." + split on ' ', tokens cut at NUL */
    XREM_BLEU_TOK_NLTK = 1,     /* the same tokens, not cut at NUL (Python tuples) */
    XREM_BLEU_TOK_13A = 2,      /* sacreBLEU's 13a tokenizer, case kept */
} xrem_bleu_tok;

typedef enum {
    XREM_BLEU_SMOOTH_NONE = 0,    /* NLTK method0 */
    XREM_BLEU_SMOOTH_METHOD1 = 1, /* NLTK method1, epsilon 0.1 */
} xrem_bleu_smooth;

/* Sufficient statistics of one pair; add them up for a corpus. */
typedef struct {
    int64_t match[XREM_BLEU_MAX_N]; /* clipped n-gram matches, n = 1..4 */
    int64_t total[XREM_BLEU_MAX_N]; /* hypothesis n-grams (sacreBLEU's denominators) */
    int64_t denom[XREM_BLEU_MAX_N]; /* max(1, total) per pair, summed (NLTK/fast_bleu's) */
    int64_t hyp_len, ref_len;       /* tokens */
} xrem_bleu_stats;

typedef struct xrem_bleu_ws xrem_bleu_ws;

xrem_status xrem_bleu_ws_create(xrem_bleu_ws **out);
void xrem_bleu_ws_free(xrem_bleu_ws *ws);

/* Statistics of one (reference, hypothesis) pair for n-grams 1..max_n (1 <= max_n <= 4; orders
 * above max_n are left 0). */
xrem_status xrem_bleu_pair_stats(xrem_bleu_ws *ws, xrem_bleu_tok tok, const char *ref, size_t ref_len,
                                 const char *hyp, size_t hyp_len, int max_n, xrem_bleu_stats *st);
void xrem_bleu_stats_add(xrem_bleu_stats *acc, const xrem_bleu_stats *s);

/* fast_bleu's score of one pair (stats from XREM_BLEU_TOK_FASTBLEU), uniform float32 weights
 * 1/max_n, method1 smoothing (fast_bleu's default smoothing_func=1). */
double xrem_bleu_fast_score(const xrem_bleu_stats *st, int max_n);
/* CXR-Report-Metric's BLEU-2 of one pair: stats + xrem_bleu_fast_score(., 2). */
xrem_status xrem_bleu2(xrem_bleu_ws *ws, const char *ref, size_t ref_len, const char *hyp, size_t hyp_len, double *score);

/* NLTK corpus_bleu from pooled stats (XREM_BLEU_TOK_NLTK), weights 1/max_n. */
double xrem_bleu_nltk_score(const xrem_bleu_stats *st, int max_n, xrem_bleu_smooth smooth);

/* sacreBLEU's BLEU (0..100) from stats (XREM_BLEU_TOK_13A, max_n 4); effective_order 1 for
 * sentence BLEU as sacrebleu.sentence_bleu computes it, 0 for corpus BLEU. */
double xrem_sacrebleu_score(const xrem_bleu_stats *st, int effective_order);

/* Tokens of one text under a tokenizer, for tests and debugging: *out is a malloc'd buffer of the
 * tokens, each followed by a NUL, *n_tok their count (for FASTBLEU, each token as cut at NUL). */
xrem_status xrem_bleu_tokens(xrem_bleu_ws *ws, xrem_bleu_tok tok, const char *s, size_t len, char **out,
                             size_t *out_len, int64_t *n_tok);

#ifdef __cplusplus
}
#endif
#endif
