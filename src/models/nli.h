/* The NLI model X-REM's redundancy filter asks (DESIGN §2 stage 3): ifcc's BERTNLI with RadNLI
 * weights, converted by scripts/convert_nli.py (arch "bert_nli").
 *
 *   xrem_backend *be; xrem_backend_create("cpu", 0, &be);
 *   xrem_nli *m;
 *   if (xrem_nli_load("radnli.h5", be, &m)) { puts(xrem_last_error()); ... }
 *   const char *prem[] = {"No pneumothorax."}, *hyp[] = {"Small left pneumothorax."};
 *   float logits[3]; int label;
 *   xrem_nli_classify(m, prem, hyp, 1, XREM_NLI_MAX_LEN, logits, &label);  // label 2: contradiction
 *   xrem_nli_free(m); xrem_backend_free(be);
 *
 * What a pair goes through (ifcc clinicgen/models/bertnli.py, BERTNLI(length=384,
 * force_lowercase=True) as ifcc's SimpleNLI and X-REM's M2TransNLI build it):
 *  1. each text lowercased whole with Python's str.lower() (so "[SEP]" in a text is ordinary text,
 *     "[sep]", and final sigma is decided over the whole text), then WordPiece-tokenized
 *     (text/wordpiece.h) on its own;
 *  2. [CLS] a [SEP] b [SEP]; token type 0 up to and including the first [SEP], 1 after;
 *  3. cut to max_len from the end (tokens[:max_len]: the hypothesis goes first, then the final
 *     [SEP]; NOT HF's longest_first): a premise of max_len-2 tokens or more leaves no hypothesis;
 *  4. BERT (attention over the pair's tokens only) -> pooler tanh(dense(h[CLS])) -> linear -> 3
 *     logits (ifcc's dropout is the identity at inference).
 * Batching and padding do not change a pair's logits (padding is masked out; beyond float rounding),
 * so pairs are sorted by length and run in batches of similar length (at most 32 pairs, 4096
 * padded tokens).
 *
 * All arrays are host memory owned by the caller. The model keeps an activation arena that grows
 * to the largest batch seen. Not thread-safe: one model per thread.
 */
#ifndef XREM_MODELS_NLI_H
#define XREM_MODELS_NLI_H

#include "models/bert.h"
#include "text/wordpiece.h"

enum { XREM_NLI_ENTAILMENT = 0, XREM_NLI_NEUTRAL = 1, XREM_NLI_CONTRADICTION = 2 };
#define XREM_NLI_LABELS 3
#define XREM_NLI_MAX_LEN 384 /* ifcc's BERTNLI length */

typedef struct xrem_nli xrem_nli;

/* Load a bert_nli weights file; any other arch is refused (XREM_ERR_FORMAT naming the file and its
 * arch). A file without a tokenizer group loads, but only xrem_nli_forward can run on it. The
 * backend must outlive the model. */
xrem_status xrem_nli_load(const char *path, xrem_backend *be, xrem_nli **out);
void xrem_nli_free(xrem_nli *m); /* NULL ok */

/* "entailment", "neutral", "contradiction" (static strings); "?" for anything else. */
const char *xrem_nli_label_name(int label);
const xrem_bert *xrem_nli_bert(const xrem_nli *m);
const char *xrem_nli_sha256(const xrem_nli *m); /* source checkpoint's, or "" */
size_t xrem_nli_params(const xrem_nli *m);
/* The vocabulary (owned by the model), or NULL when the file has none. */
const xrem_vocab *xrem_nli_vocab(const xrem_nli *m);

/* One pair as ifcc encodes it (steps 1-3). max_len in [1, the position table]; ids, types:
 * [max_len]; *len = tokens written. */
xrem_status xrem_nli_encode(const xrem_nli *m, const char *premise, const char *hypothesis, int max_len, int32_t *ids,
                            int32_t *types, int *len);

/* The network alone: ids, types, mask [B,T] (mask 1 for real tokens, 0 for padding; NULL = all
 * real) -> logits [B,3]. */
xrem_status xrem_nli_forward(xrem_nli *m, const int32_t *ids, const int32_t *types, const int32_t *mask, int B, int T,
                             float *logits);

/* n pairs (premise[i], hypothesis[i]), each encoded with max_len (0 = XREM_NLI_MAX_LEN). logits
 * [n,3] and/or labels [n] (argmax, the first on a tie: XREM_NLI_ENTAILMENT, _NEUTRAL,
 * _CONTRADICTION); either may be NULL. n == 0 does nothing. */
xrem_status xrem_nli_classify(xrem_nli *m, const char *const *premise, const char *const *hypothesis, int n,
                              int max_len, float *logits, int *labels);

#endif
