/* models/bert_cls.h — what the BERT-family sequence classifiers (CheXbert in chexbert.c, ifcc's
 * NLI in nli.c) share: the encoder + vocabulary loaded from a weights file of a given arch, an
 * activation arena that only grows, the last-layer [CLS] rows of a batch, and the length-sorted
 * batching of many token sequences under a padded-token budget. Each model keeps its own heads.
 *
 *   xrem_bert_cls enc = {0};                    // inside the model's struct
 *   s = xrem_bert_cls_load(&enc, path, be, "chexbert", "CheXbert", load_heads, model);
 *   xrem_tensor h;                              // [B, C] in enc.arena, valid until the next call
 *   s = xrem_bert_cls_forward(&enc, ids, NULL, mask, B, T, head_bytes, &h);
 *   ... the head on h, download, be->sync ...
 *   xrem_bert_cls_release(&enc);
 *
 * Internal to xrem (src/models); not a public header.
 */
#ifndef XREM_MODELS_BERT_CLS_H
#define XREM_MODELS_BERT_CLS_H

#include "models/bert.h"
#include "models/weights.h"
#include "text/wordpiece.h"

typedef struct {
    xrem_backend *be;
    xrem_bert bert;
    xrem_arena arena;
    float *fmask; /* host [fmask_n] the attention mask as floats, kept until the next forward */
    size_t fmask_n;
    xrem_vocab *vocab;     /* NULL when the file has no tokenizer group */
    int32_t cls, sep, pad; /* special token ids */
    char *sha256;          /* the source checkpoint's, or "" */
} xrem_bert_cls;

/* Loads the model's own tensors once the encoder is in (user: the model). */
typedef xrem_status (*xrem_bert_cls_heads_fn)(void *user, xrem_weights *w);

/* Opens path, checks its arch, loads the encoder under "bert." (no cross-attention allowed: `who`
 * names the model in that message), calls heads, then the checkpoint hash and the vocabulary when
 * the file has one. enc NULL (the model's allocation failed) fails with XREM_ERR_NOMEM once the file
 * opened. Failures after the open name path. On failure the caller releases enc (and its heads). */
xrem_status xrem_bert_cls_load(xrem_bert_cls *enc, const char *path, xrem_backend *be, const char *arch,
                               const char *who, xrem_bert_cls_heads_fn heads, void *user);
void xrem_bert_cls_release(xrem_bert_cls *enc); /* NULL ok; frees what enc owns, not enc */

/* Bytes an arena block of rows x cols floats takes (with alignment slack). */
size_t xrem_bert_cls_small_bytes(int64_t rows, int64_t cols);

/* Embeddings + every layer on ids/types/mask [B,T] (types NULL = all 0, mask NULL = all ones;
 * checked by the caller); *h = x[:, 0] [B, C] in enc->arena, which is reset and grown to hold the
 * encoder's activations, h and head_bytes more for the caller's head. Nothing is synced. */
xrem_status xrem_bert_cls_forward(xrem_bert_cls *enc, const int32_t *ids, const int32_t *types, const int32_t *mask,
                                  int B, int T, size_t head_bytes, xrem_tensor *h);

/* Many token sequences, kept back to back, then ordered by increasing length (ties: input order). */
typedef struct {
    int32_t *ids; /* every sequence's ids, back to back */
    int64_t *off; /* [n] */
    int *len;     /* [n] */
    int *order;   /* [n] sequences by increasing length, after xrem_bert_seqs_sort */
    int n;
    size_t used, cap;
    const char *what; /* "reports", "NLI pairs": for messages */
} xrem_bert_seqs;

xrem_status xrem_bert_seqs_init(xrem_bert_seqs *p, int n, const char *what);
/* Sequence i (added in order 0, 1, ...) = ids[0..len). */
xrem_status xrem_bert_seqs_add(xrem_bert_seqs *p, int i, const int32_t *ids, int len);
xrem_status xrem_bert_seqs_sort(xrem_bert_seqs *p);
void xrem_bert_seqs_free(xrem_bert_seqs *p);

/* One batch: idx [B] the sequences (indices into the caller's arrays), ids/mask [B,T] filled
 * (padding: pad, mask 0), types [B,T] scratch for the callback to fill if it needs token types. */
typedef xrem_status (*xrem_bert_batch_fn)(void *user, const int *idx, int B, int T, const int32_t *ids, int32_t *types,
                                          const int32_t *mask);

/* Runs sorted p (n > 0) in batches of at most max_B sequences of similar length whose padded size
 * B*T stays within max_tokens (beyond the first sequence) and is at most 5/4 of their real tokens,
 * calling fn for each. */
xrem_status xrem_bert_seqs_run(const xrem_bert_seqs *p, int32_t pad, int max_B, int max_tokens, xrem_bert_batch_fn fn,
                               void *user);

#endif
