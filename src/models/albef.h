/* ALBEF models as X-REM uses them: the retrieval (pretraining) model — ViT + BERT text mode +
 * ITC projections, and its 2-way itm_head — and the ITM model (ALBEF fine-tuned for visual
 * entailment: ViT + BERT multimodal + cls_head, X-REM's score is logit 2).
 *
 *   xrem_backend *be; xrem_backend_create("cpu", 2, &be);
 *   xrem_albef *m;
 *   if (xrem_albef_load("itm.h5", be, 384, &m)) { puts(xrem_last_error()); ... }
 *   xrem_albef_itm(m, images, B, 1, ids, mask, M, L, logits, NULL, NULL);   // logits [B,M,3]
 *   xrem_albef_free(m); xrem_backend_free(be);
 *
 * All array arguments are host memory, row-major, owned by the caller. The model keeps one
 * activation arena that grows to the largest batch seen, so steady-state calls allocate nothing.
 */
#ifndef XREM_MODELS_ALBEF_H
#define XREM_MODELS_ALBEF_H

#include "models/bert.h"

typedef enum { XREM_ALBEF_RETRIEVAL = 0, XREM_ALBEF_ITM = 1 } xrem_albef_kind;

typedef struct xrem_albef xrem_albef;

/* res: the image resolution to run at (0 = the checkpoint's). The backend must outlive the model. */
xrem_status xrem_albef_load(const char *path, xrem_backend *be, int res, xrem_albef **out);
void xrem_albef_free(xrem_albef *m);

xrem_albef_kind xrem_albef_kind_of(const xrem_albef *m);
const xrem_vit *xrem_albef_vit(const xrem_albef *m);
const xrem_bert *xrem_albef_bert(const xrem_albef *m);
int xrem_albef_embed_dim(const xrem_albef *m); /* ITC feature size; 0 for an ITM model */
int xrem_albef_has_itm_head(const xrem_albef *m); /* retrieval checkpoint with itm_head */
size_t xrem_albef_params(const xrem_albef *m);
const char *xrem_albef_sha256(const xrem_albef *m);
/* The vocabulary from the weights file (NULL when the file has none). n set. Owned by the model. */
char *const *xrem_albef_vocab(const xrem_albef *m, int64_t *n);

/* img [B,Cin,R,R] preprocessed (Cin 3, or 1 = three identical channels). embeds [B,T,C] and/or
 * feat [B,E] (L2-normalised ITC features, retrieval model only) — either may be NULL. */
xrem_status xrem_albef_encode_images(xrem_albef *m, const float *img, int B, int Cin, float *embeds, float *feat,
                                     xrem_trace_fn trace, void *user);
/* ids, mask [M,L] (ALBEF single sequences). feat [M,E]: L2-normalised ITC text features. */
xrem_status xrem_albef_encode_texts(xrem_albef *m, const int32_t *ids, const int32_t *mask, int M, int L,
                                    float *feat, xrem_trace_fn trace, void *user);
/* Every (image b, text j) pair, ordered b*M + j. logits [B,M,K]: K = 3 (cls_head) for an ITM
 * model, 2 (itm_head) for a retrieval model that has one. */
xrem_status xrem_albef_itm(xrem_albef *m, const float *img, int B, int Cin, const int32_t *ids, const int32_t *mask,
                           int M, int L, float *logits, xrem_trace_fn trace, void *user);

/* Per-image candidate sets (X-REM's re-rank): image b meets K of the M distinct texts, pair
 * p = b*K + k using text text_of[p]. Text-only layers run once per distinct text; logits
 * [B*K, 3] (or 2). */
xrem_status xrem_albef_itm_sets(xrem_albef *m, const float *img, int B, int Cin, const int32_t *ids,
                                const int32_t *mask, int M, int L, const int32_t *text_of, int K, float *logits,
                                xrem_trace_fn trace, void *user);

#endif
