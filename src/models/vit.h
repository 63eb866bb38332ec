/* ALBEF's ViT-B/16 image encoder (timm layout, pre-norm), written once against backend.h.
 *
 * Loaded from weights whose datasets start with `visual_encoder.`; the position table is
 * bicubic-interpolated at load time when the run resolution differs from the checkpoint's,
 * exactly as ALBEF's interpolate_pos_embed does.
 */
#ifndef XREM_MODELS_VIT_H
#define XREM_MODELS_VIT_H

#include "models/weights.h"

typedef struct {
    int C;        /* width (768) */
    int L;        /* blocks (12) */
    int NH;       /* heads (12) */
    int mlp;      /* MLP hidden (3072) */
    int P;        /* patch size (16) */
    int ckpt_res; /* the checkpoint's image resolution (256) */
    int res;      /* the resolution this instance runs at (256 or 384) */
    float eps;    /* LayerNorm eps (1e-6) */
} xrem_vit_config;

typedef struct {
    xrem_tensor ln1_g, ln1_b;   /* [C] */
    xrem_tensor qkv_w, qkv_b;   /* [3C, C], [3C] */
    xrem_tensor proj_w, proj_b; /* [C, C], [C] */
    xrem_tensor ln2_g, ln2_b;   /* [C] */
    xrem_tensor fc1_w, fc1_b;   /* [mlp, C], [mlp] */
    xrem_tensor fc2_w, fc2_b;   /* [C, mlp], [C] */
} xrem_vit_block;

typedef struct {
    xrem_vit_config cfg;
    xrem_tensor patch_w;      /* [C, 3*P*P] flattened Conv2d weight */
    xrem_tensor patch_w_gray; /* [C, P*P] channel-summed, for 3 identical input channels */
    xrem_tensor patch_b;      /* [C] */
    xrem_tensor cls;          /* [C] */
    xrem_tensor pos;          /* [T, C], T = 1 + (res/P)^2, already at the run resolution */
    xrem_vit_block *blocks;   /* [L] */
    xrem_tensor norm_g, norm_b;
} xrem_vit;

/* Load from `w` for images of res×res (0 = the checkpoint's resolution). */
xrem_status xrem_vit_load(xrem_weights *w, xrem_backend *be, int res, xrem_vit *vit);
void xrem_vit_release(xrem_vit *vit, xrem_backend *be);
static inline int xrem_vit_tokens(const xrem_vit *v) { return 1 + (v->cfg.res / v->cfg.P) * (v->cfg.res / v->cfg.P); }
size_t xrem_vit_params(const xrem_vit *v);

/* Arena bytes a forward pass over B images needs. */
size_t xrem_vit_arena_bytes(const xrem_vit *v, int B);
/* img: [B, Cin, res, res] preprocessed (Cin 3, or 1 for gray replicated to 3 channels).
 * out: [B, T, C] allocated from the arena (the ViT's last hidden state, after the final norm).
 * trace (optional): called after the embedding (-1) and after every block i with x [B,T,C]. */
typedef void (*xrem_trace_fn)(const char *what, int i, const xrem_tensor *x, void *user);
void xrem_vit_forward(const xrem_vit *v, xrem_backend *be, xrem_arena *a, const xrem_tensor *img, xrem_tensor *out,
                      xrem_trace_fn trace, void *user);

#endif
