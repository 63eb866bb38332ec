/* eval/bertscore.h — BERTScore as bert_score 0.3.x computes it (DESIGN §3), for any BERT-family
 * encoder xrem can load: distilroberta-base (the published metric) or a proxy.
 *
 *   xrem_backend *be; xrem_backend_create("cpu", 0, &be);
 *   xrem_bertscore *bs;
 *   if (xrem_bertscore_create("distilroberta-base.h5", 5, be, &bs)) { puts(xrem_last_error()); ... }
 *   xrem_bertscore_opts o; xrem_bertscore_opts_default(&o);   // idf off, bert_score's batch 64
 *   double *P = ..., *R = ..., *F = ...;                       // [n] each
 *   xrem_bertscore_score(bs, cands, refs, n, &o, P, R, F);     // raw scores
 *   double b[3];
 *   if (xrem_bertscore_known_baseline(xrem_bertscore_model_name(bs), 5, b))
 *       xrem_bertscore_rescale(b, n, P, R, F);                 // rescale_with_baseline=True
 *   xrem_bertscore_free(bs); xrem_backend_free(be);
 *
 * The weights file comes from scripts/convert_hf.py (arch "roberta" with a BPE tokenizer group,
 * or "bert" with a WordPiece one); the encoder runs on the given backend (models/bert.c), the
 * matching on the host.
 *
 * What one pair (cand, ref) goes through, as bert_score.score(cands, refs, model_type=...,
 * num_layers=layer) does it:
 *  1. Python's str.strip(); an empty result is just <s> </s> ([CLS] [SEP]). Otherwise RoBERTa:
 *     byte-level BPE with add_prefix_space (text/bpe.h); BERT: the WordPiece tokenizer
 *     (text/wordpiece.h, lowercasing models only); then cls + tokens + sep, truncated to the
 *     tokenizer's model_max_length (512; when the file has none, the position table's length).
 *  2. The hidden state after `layer` encoder layers (bert_score's num_layers: 5 for
 *     distilroberta-base; 0 = the embedding output), each token vector L2-normalised.
 *  3. Greedy matching over all tokens, <s> and </s> included: sim = cand · refᵀ;
 *     P = Σ_j w_j max_k sim[j,k] / Σ_j w_j over the candidate's tokens, R likewise over the
 *     reference's, F = 2PR/(P+R). Weights: idf off: 1, but 0 for the cls and sep ids wherever
 *     they occur; idf on: ln((M+1)/(df+1)) with df the number of the M idf documents (the
 *     references, each counted as often as it occurs) whose ids contain the token — <s> and </s>
 *     are in every document, so they weigh 0 too.
 *  4. A candidate or reference that is empty after strip() gets P = R = F = 0. F = 0 when
 *     P + R = 0 or P or R is NaN. A NaN P or R is kept: it happens with idf on when every token of
 *     a text has idf 0 (all of them occur in every reference), as in bert_score.
 *  5. bert_score's batching quirk (match_batch > 0): pairs are matched in batches of
 *     match_batch (bert_score's batch_size, default 64) whose candidates and references are
 *     zero-padded to the batch's longest; the similarity of padded positions is 0, not masked
 *     out, so a token whose real cosines are all negative gets max 0 when its partner text is
 *     shorter than the longest in its batch. Real contextual embeddings practically never have
 *     an all-negative row (the effect is nil for distilroberta-base); match_batch = 0 gives the
 *     greedy matching without the quirk.
 * Rescaling is separate: X' = (X − b)/(1 − b) for P, R and F with their own b.
 *
 * Precision: encoder fp32 (backend), similarities fp32 (sgemm), sums in double; agrees with
 * bert_score to ~1e-7 on the committed goldens. Scores are doubles.
 *
 * A scorer is not thread-safe (it owns the activation arena); it parallelises internally.
 */
#ifndef XREM_EVAL_BERTSCORE_H
#define XREM_EVAL_BERTSCORE_H

#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xrem_bertscore xrem_bertscore;

/* layer: hidden state after this many layers, 0..num_layers; < 0 = num_layers. The backend must
 * outlive the scorer. *out owned by the caller: xrem_bertscore_free. */
xrem_status xrem_bertscore_create(const char *weights_path, int layer, xrem_backend *be, xrem_bertscore **out);
void xrem_bertscore_free(xrem_bertscore *bs);

/* For the report: the model (root attr model_name, else the file's base name), arch ("bert" |
 * "roberta"), source sha256, the layer used, the encoder's layer count, the token cap. Strings
 * owned by the scorer. */
const char *xrem_bertscore_model_name(const xrem_bertscore *bs);
const char *xrem_bertscore_arch(const xrem_bertscore *bs);
const char *xrem_bertscore_sha256(const xrem_bertscore *bs);
int xrem_bertscore_layer(const xrem_bertscore *bs);
int xrem_bertscore_num_layers(const xrem_bertscore *bs);
int xrem_bertscore_max_len(const xrem_bertscore *bs);

typedef struct {
    int idf;                     /* 0: weights 1 (cls/sep 0); 1: idf weights over idf_docs */
    const char *const *idf_docs; /* idf documents; NULL = the references (bert_score.score); pass
                                  * BERTScorer's idf_sents here to mirror that class */
    int64_t n_idf_docs;
    int match_batch;  /* bert_score's batch_size for the padding quirk (64); 0 = none */
    int enc_tokens;   /* encoder batch budget B·T (speed and memory only); 0 = 8192 */
    int chunk_tokens; /* distinct tokens whose layer states are held on the host at once
                       * (memory only: chunk_tokens·C floats); 0 = 16384 */
} xrem_bertscore_opts;
void xrem_bertscore_opts_default(xrem_bertscore_opts *o);

/* Step 1 for one text: ids (malloc'd, caller frees), *n >= 2. */
xrem_status xrem_bertscore_tokenize(const xrem_bertscore *bs, const char *text, int32_t **ids, int64_t *n);

/* n pairs (cands[i], refs[i]), UTF-8, non-NULL. P, R, F: [n], raw (not rescaled). o NULL =
 * defaults. */
xrem_status xrem_bertscore_score(xrem_bertscore *bs, const char *const *cands, const char *const *refs, int64_t n,
                                 const xrem_bertscore_opts *o, double *P, double *R, double *F);

/* X = (X - b[k]) / (1 - b[k]) for P (k = 0), R (1), F (2), in double. Any of P, R, F may be NULL. */
void xrem_bertscore_rescale(const double b[3], int64_t n, double *P, double *R, double *F);

/* bert_score's published baseline (rescale_baseline/en/<model>.tsv, row `layer`) for the model
 * name, as bert_score uses it (rounded to float32). Known: "distilroberta-base" (and any name
 * ending in "/distilroberta-base"), layers 0..6. Returns 1 and fills b, or 0. */
int xrem_bertscore_known_baseline(const char *model, int layer, double b[3]);

/* A proxy baseline, bert_score's recipe: the mean P, R, F over npairs random pairs (texts[i],
 * texts[j]), i != j, drawn with a splitmix64 stream from `seed` (same seed, same pairs), idf off,
 * match_batch from o (NULL = defaults). n >= 2 texts. A pair whose P or R is NaN (a text of special
 * tokens only, such as "[SEP]": no token carries weight, bert_score's 0/0) is left out of the
 * means, so one such report cannot make the baseline NaN; XREM_ERR_DATA when no pair is left. */
xrem_status xrem_bertscore_baseline(xrem_bertscore *bs, const char *const *texts, int64_t n, int64_t npairs,
                                    uint64_t seed, const xrem_bertscore_opts *o, double b[3]);

#ifdef __cplusplus
}
#endif
#endif
