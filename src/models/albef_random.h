/* Seeded random ALBEF weights in the converted format: full-size models for `xrem bench`
 * and small ones for demos, with exactly the datasets a converted checkpoint has. */
#ifndef XREM_MODELS_ALBEF_RANDOM_H
#define XREM_MODELS_ALBEF_RANDOM_H

#include "models/albef.h"

typedef struct {
    xrem_albef_kind kind;
    int vision_width, vit_depth, vit_heads, vit_mlp, patch, image_res;
    int hidden, layers, heads, inter, vocab, max_pos, fusion_layer, embed_dim;
    uint64_t seed;
} xrem_albef_random_spec;

/* ViT-B/16 at 256 + BERT-base (fusion from layer 6), as the X-REM checkpoints. */
xrem_albef_random_spec xrem_albef_random_full(xrem_albef_kind kind, uint64_t seed);
/* Write weights (N(0, 0.02) matrices, LayerNorm 1/0) to path; vocab may be NULL (no tokenizer
 * group) or n tokens. Atomic (temporary + rename). */
xrem_status xrem_albef_random_write(const char *path, const xrem_albef_random_spec *s, char *const *vocab,
                                    int64_t nvocab);
/* Same with N(0, std) for every random tensor (std > 0). Small configs want ~0.08 (0.02 at
 * width 768 scaled by sqrt(768/48)) for realistic activation scales; std != 0.02 is recorded in
 * the weights' identity (source_sha256 "random-seed-S-std-X"). */
xrem_status xrem_albef_random_write_std(const char *path, const xrem_albef_random_spec *s, double std,
                                        char *const *vocab, int64_t nvocab);

#endif
