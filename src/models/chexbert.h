/* CheXbert (Smit et al. 2020, stanfordmlgroup/CheXbert): the report labeler behind CheXbert label
 * F1 and s_emb (DESIGN §3), converted by scripts/convert_chexbert.py (arch "chexbert").
 *
 *   xrem_backend *be; xrem_backend_create("cpu", 0, &be);
 *   xrem_chexbert *m;
 *   if (xrem_chexbert_load("chexbert.h5", be, &m)) { puts(xrem_last_error()); ... }
 *   const char *texts[] = {"Small left pleural effusion.", "No acute cardiopulmonary process."};
 *   int32_t cls[2 * XREM_CHEXBERT_NCOND];          // [n,14] classes
 *   float *emb = malloc(2 * C * sizeof(float));    // [n,C] raw last-layer [CLS]; C = hidden size
 *   xrem_chexbert_run(m, texts, 2, cls, emb);
 *   double semb = xrem_chexbert_semb(emb, emb + C, C);   // s_emb of the pair
 *   xrem_chexbert_free(m); xrem_backend_free(be);
 *
 * What a report goes through (CheXbert src/bert_tokenizer.py get_impressions_from_csv + tokenize,
 * as label.py and CXR-Report-Metric's encode.py run them; f1chexbert does the same):
 *  1. pandas: str.strip(); replace('\n', ' ', regex=True); replace('\s+', ' ', regex=True);
 *     str.strip(). Net effect: every run of Python whitespace (str.isspace(): \t \n \v \f \r,
 *     U+001C..U+001F, space, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F,
 *     U+205F, U+3000) becomes one space, and the ends are stripped (xrem_chexbert_clean). This
 *     matters beyond tidiness: \v, \f, U+001C..U+001F and U+0085 are control characters the
 *     BERT tokenizer would silently drop ("a\vb" -> "ab"), here they separate words.
 *  2. tokenizer.tokenize(text) (bert-base-uncased, do_lower_case): transformers' tokenize()
 *     first lowercases the text outside the special-token strings ONE CHARACTER AT A TIME
 *     (re.sub over '(specials)|(.+?)'), so a word-final capital sigma becomes σ, never ς; then
 *     the WordPiece tokenizer (text/wordpiece.h), which splits out "[SEP]", "[CLS]", ... as
 *     special tokens.
 *  3. No tokens: [CLS] [SEP]. Otherwise [CLS] tokens [SEP] (encode_plus of the token list), and
 *     when that is longer than 512: the first 511 ids + [SEP]. xrem caps at min(512, the position
 *     table) (512 for the real model).
 *  4. BertModel (token type 0, attention over the report's own tokens) -> last hidden state's
 *     [CLS] row (dropout is the identity at inference) -> 14 linear heads: 13 with 4 classes,
 *     No Finding with 2 -> argmax (the first on a tie, as torch.argmax).
 * Classes: 0 blank, 1 positive, 2 negative, 3 uncertain (No Finding: 0 blank, 1 positive).
 * Conditions in CheXbert's order: Enlarged Cardiomediastinum, Cardiomegaly, Lung Opacity, Lung
 * Lesion, Edema, Consolidation, Pneumonia, Atelectasis, Pneumothorax, Pleural Effusion, Pleural
 * Other, Fracture, Support Devices, No Finding.
 * s_emb (CXR-Report-Metric add_semb_col): the cosine of the two reports' raw [CLS] vectors (the
 * last layer's, before the pooler: encode.py's bert_encoder returns final_hidden[:, 0]).
 *
 * Batching and padding do not change a report's outputs (padding is masked out; beyond float
 * rounding): reports are sorted by length and run in batches of similar length (at most 32
 * reports and 4096 padded tokens, beyond the first report).
 *
 * All arrays are host memory owned by the caller. The model keeps an activation arena that grows
 * to the largest batch seen. Not thread-safe: one model per thread.
 */
#ifndef XREM_MODELS_CHEXBERT_H
#define XREM_MODELS_CHEXBERT_H

#include "models/bert.h"
#include "text/wordpiece.h"

#define XREM_CHEXBERT_NCOND 14
#define XREM_CHEXBERT_NLOGITS 54 /* 13 heads x 4 + No Finding x 2, stacked in condition order */
#define XREM_CHEXBERT_MAX_LEN 512

enum { XREM_CHEXBERT_BLANK = 0, XREM_CHEXBERT_POS = 1, XREM_CHEXBERT_NEG = 2, XREM_CHEXBERT_UNC = 3 };

typedef struct xrem_chexbert xrem_chexbert;

/* Load a chexbert weights file; any other arch is refused (XREM_ERR_FORMAT naming the file and its
 * arch). A file without a tokenizer group loads, but only xrem_chexbert_forward can run on it. The
 * backend must outlive the model. */
xrem_status xrem_chexbert_load(const char *path, xrem_backend *be, xrem_chexbert **out);
void xrem_chexbert_free(xrem_chexbert *m); /* NULL ok */

const xrem_bert *xrem_chexbert_bert(const xrem_chexbert *m);
int xrem_chexbert_hidden(const xrem_chexbert *m);         /* C: the length of a [CLS] vector */
int xrem_chexbert_max_len(const xrem_chexbert *m);        /* min(512, position table) */
const char *xrem_chexbert_sha256(const xrem_chexbert *m); /* source checkpoint's, or "" */
size_t xrem_chexbert_params(const xrem_chexbert *m);
const xrem_vocab *xrem_chexbert_vocab(const xrem_chexbert *m); /* NULL when the file has none */
/* First logit of condition j's head in the stacked [54] logits (4 per head, No Finding last). */
int xrem_chexbert_head_offset(int j);
/* Classes of condition j: 4, or 2 for No Finding. */
int xrem_chexbert_head_classes(int j);

/* Step 1 alone: *out = the cleaned text, malloc'd (caller frees). Never fails but for memory. */
xrem_status xrem_chexbert_clean(const char *text, char **out);

/* Steps 1-3: ids [xrem_chexbert_max_len(m)], *len = ids written (2 .. max_len). */
xrem_status xrem_chexbert_encode(const xrem_chexbert *m, const char *text, int32_t *ids, int *len);

/* The network alone: ids, mask [B,T] (mask 1 for real tokens, 0 for padding; NULL = all real)
 * -> logits [B,54] (xrem_chexbert_head_offset), and cls [B,C] the raw last-layer [CLS] vectors;
 * either output may be NULL. */
xrem_status xrem_chexbert_forward(xrem_chexbert *m, const int32_t *ids, const int32_t *mask, int B, int T,
                                  float *logits, float *cls);

/* n reports -> classes [n,14] (argmax per head) and cls [n,C]; either may be NULL. n == 0 does
 * nothing; a NULL text fails naming its index. */
xrem_status xrem_chexbert_run(xrem_chexbert *m, const char *const *texts, int n, int32_t *classes, float *cls);

/* s_emb: a·b / (|a| |b|) over C floats, summed in double. NaN when a norm is 0 (numpy gives nan
 * there too; a LayerNorm output is never all zeros). */
double xrem_chexbert_semb(const float *a, const float *b, int C);

#endif
