/* ALBEF's BERT text / fusion encoder (HF BertModel layout, post-norm), written against backend.h.
 *
 * Layers [0, fusion_layer) are self-attention only ("text" mode); layers [fusion_layer, L) add
 * cross-attention to image tokens ("fusion" mode); "multimodal" runs both. Query, key and value
 * weights are fused into one [3C, C] matrix at load (one GEMM instead of three); the
 * cross-attention key and value into one [2C, Cv] matrix computed once per image.
 */
#ifndef XREM_MODELS_BERT_H
#define XREM_MODELS_BERT_H

#include "models/vit.h"

typedef struct {
    int C;            /* hidden (768) */
    int L;            /* layers (12) */
    int NH;           /* heads (12) */
    int inter;        /* intermediate (3072) */
    int vocab;        /* 30522 */
    int max_pos;      /* 512 */
    int type_vocab;   /* 2 */
    int fusion_layer; /* first layer with cross-attention (6); L means none */
    int enc_width;    /* width of the cross-attended states (768) */
    float eps;        /* LayerNorm eps: 1e-12 (BERT), 1e-5 (RoBERTa); config.bert_ln_eps */
    int pos_offset;   /* first position id: 0 (BERT), 2 (RoBERTa: padding_idx + 1) */
} xrem_bert_config;

typedef struct {
    xrem_tensor qkv_w, qkv_b;         /* [3C, C], [3C] */
    xrem_tensor ao_w, ao_b;           /* attention.output.dense [C, C] */
    xrem_tensor ao_g, ao_beta;        /* attention.output.LayerNorm [C] */
    int cross;                        /* has cross-attention */
    xrem_tensor xq_w, xq_b;           /* crossattention.self.query [C, C] */
    xrem_tensor xkv_w, xkv_b;         /* key|value [2C, Cv] */
    xrem_tensor xo_w, xo_b, xo_g, xo_beta;
    xrem_tensor in_w, in_b;           /* intermediate.dense [inter, C] */
    xrem_tensor out_w, out_b;         /* output.dense [C, inter] */
    xrem_tensor out_g, out_beta;      /* output.LayerNorm */
} xrem_bert_layer;

typedef struct {
    xrem_bert_config cfg;
    xrem_tensor word, pos, type;      /* [vocab, C], [max_pos, C], [type_vocab, C] */
    xrem_tensor emb_g, emb_b;         /* embeddings.LayerNorm */
    xrem_bert_layer *layers;          /* [L] */
} xrem_bert;

/* prefix: "text_encoder." for ALBEF weights. */
xrem_status xrem_bert_load(xrem_weights *w, xrem_backend *be, const char *prefix, xrem_bert *m);
void xrem_bert_release(xrem_bert *m, xrem_backend *be);
size_t xrem_bert_params(const xrem_bert *m);

/* Check ids [B*T] against the vocabulary and T against the position table. */
xrem_status xrem_bert_check_input(const xrem_bert *m, const int32_t *ids, int B, int T);

/* Arena bytes for a batch of B sequences of T tokens, with Bk images of Te tokens when fusing. */
size_t xrem_bert_arena_bytes(const xrem_bert *m, int B, int T, int Bk, int Te);

/* Embeddings: x [B,T,C] from the arena (ids, types on the host; types NULL = all 0). */
xrem_tensor xrem_bert_embed(const xrem_bert *m, xrem_backend *be, xrem_arena *a, const int32_t *ids,
                            const int32_t *types, int B, int T);
/* Layers [from, to) in place on x [B,T,C]. mask: host [B*T] 0/1 (float). enc [Bk,Te,Cv] with B a
 * multiple of Bk (query batch b uses image b / (B/Bk)), needed when a layer has cross-attention.
 * trace: called after each layer with its index. */
void xrem_bert_layers(const xrem_bert *m, xrem_backend *be, xrem_arena *a, xrem_tensor *x, const float *mask,
                      int from, int to, const xrem_tensor *enc, xrem_trace_fn trace, void *user);

/* Packed sequences (no padding): n sequences, sequence s is rows ofs[s] .. ofs[s+1]-1 of x [ofs[n], C],
 * ids and types ([ofs[n]], host, types NULL = all 0) packed the same way; positions restart at each
 * sequence. The results are those of the padded calls on the real tokens, to rounding. */
size_t xrem_bert_packed_arena_bytes(const xrem_bert *m, int64_t N, int64_t enc_rows, int64_t trace_rows);
/* x [ofs[n], C] from the arena. XREM_ERR_SHAPE when a sequence is longer than the position table. */
xrem_status xrem_bert_embed_packed(const xrem_bert *m, xrem_backend *be, xrem_arena *a, const int32_t *ids,
                                   const int32_t *types, const int64_t *ofs, int64_t n, xrem_tensor *x);
/* Layers [from, to) in place on packed x [N, C]; self: its sequences (self-attention: kofs == qofs,
 * kv_of NULL, mask for masked tokens inside the lengths). Cross-attention layers attend to enc
 * [rows, Cv] as `cross` says (its qofs those of self). trace: called after each layer with the
 * states padded to trace_len tokens ([n, trace_len, C], padding rows 0; the arena then needs
 * n*trace_len*C more floats). */
void xrem_bert_layers_packed(const xrem_bert *m, xrem_backend *be, xrem_arena *a, xrem_tensor *x, const xrem_seqs *self,
                             int from, int to, const xrem_tensor *enc, const xrem_seqs *cross, int64_t trace_len,
                             xrem_trace_fn trace, void *user);
/* Call trace(what, i) with packed x [ofs[n], C] in the padded layout [n, L, C], padding rows 0
 * (the arena needs n*L*C floats). */
void xrem_bert_trace_packed(xrem_backend *be, xrem_arena *a, const xrem_tensor *x, const xrem_seqs *sq, int64_t L,
                            const char *what, int i, xrem_trace_fn trace, void *user);

#endif
