#include "models/albef_random.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

xrem_albef_random_spec xrem_albef_random_full(xrem_albef_kind kind, uint64_t seed)
{
    return (xrem_albef_random_spec){kind, 768, 12, 12, 3072, 16, 256, 768, 12, 12, 3072, 30522, 512, 6, 256, seed};
}

typedef struct {
    xrem_h5 *f;
    uint64_t state;
    float *buf;
    size_t cap;
    double std;
} rnd_writer;

static double rnd_uniform(rnd_writer *w)
{
    /* splitmix64: tiny, seedable, good enough for random test weights */
    uint64_t z = (w->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

/* kind: 'n' normal(0, std), '1' ones, '0' zeros */
static xrem_status rnd_put(rnd_writer *w, const char *name, int nd, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                           char kind)
{
    int64_t ne[4] = {d0, d1, d2, d3};
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)ne[i];
    if (n > w->cap) {
        free(w->buf);
        w->buf = malloc(n * sizeof(float));
        w->cap = w->buf ? n : 0;
        if (!w->buf) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i += 2) { /* Box-Muller, two normals per draw */
        double u1 = rnd_uniform(w), u2 = rnd_uniform(w), r = sqrt(-2.0 * log(u1));
        float a = kind == 'n' ? (float)(w->std * r * cos(6.283185307179586 * u2)) : (kind == '1' ? 1.0f : 0.0f);
        float b = kind == 'n' ? (float)(w->std * r * sin(6.283185307179586 * u2)) : a;
        w->buf[i] = a;
        if (i + 1 < n) w->buf[i + 1] = b;
    }
    return xrem_h5_write_f32(w->f, name, nd, ne, w->buf);
}

#define PUT(nd, a, b, c, d, k, ...) \
    do { \
        snprintf(name, sizeof name, __VA_ARGS__); \
        if ((st = rnd_put(w, name, nd, a, b, c, d, k))) return st; \
    } while (0)

static xrem_status rnd_vit(rnd_writer *w, const xrem_albef_random_spec *s)
{
    char name[256];
    xrem_status st;
    const int64_t C = s->vision_width, g = s->image_res / s->patch;
    PUT(3, 1, 1, C, 0, 'n', "visual_encoder.cls_token");
    PUT(3, 1, 1 + g * g, C, 0, 'n', "visual_encoder.pos_embed");
    PUT(4, C, 3, s->patch, s->patch, 'n', "visual_encoder.patch_embed.proj.weight");
    PUT(1, C, 0, 0, 0, 'n', "visual_encoder.patch_embed.proj.bias");
    for (int i = 0; i < s->vit_depth; i++) {
        const char *p = "visual_encoder.blocks";
        PUT(1, C, 0, 0, 0, '1', "%s.%d.norm1.weight", p, i);
        PUT(1, C, 0, 0, 0, '0', "%s.%d.norm1.bias", p, i);
        PUT(2, 3 * C, C, 0, 0, 'n', "%s.%d.attn.qkv.weight", p, i);
        PUT(1, 3 * C, 0, 0, 0, 'n', "%s.%d.attn.qkv.bias", p, i);
        PUT(2, C, C, 0, 0, 'n', "%s.%d.attn.proj.weight", p, i);
        PUT(1, C, 0, 0, 0, 'n', "%s.%d.attn.proj.bias", p, i);
        PUT(1, C, 0, 0, 0, '1', "%s.%d.norm2.weight", p, i);
        PUT(1, C, 0, 0, 0, '0', "%s.%d.norm2.bias", p, i);
        PUT(2, s->vit_mlp, C, 0, 0, 'n', "%s.%d.mlp.fc1.weight", p, i);
        PUT(1, s->vit_mlp, 0, 0, 0, 'n', "%s.%d.mlp.fc1.bias", p, i);
        PUT(2, C, s->vit_mlp, 0, 0, 'n', "%s.%d.mlp.fc2.weight", p, i);
        PUT(1, C, 0, 0, 0, 'n', "%s.%d.mlp.fc2.bias", p, i);
    }
    PUT(1, C, 0, 0, 0, '1', "visual_encoder.norm.weight");
    PUT(1, C, 0, 0, 0, '0', "visual_encoder.norm.bias");
    return XREM_OK;
}

static xrem_status rnd_dense(rnd_writer *w, const char *base, int64_t out, int64_t in, int ln)
{
    char name[320];
    xrem_status st;
    PUT(2, out, in, 0, 0, 'n', "%s.dense.weight", base);
    PUT(1, out, 0, 0, 0, 'n', "%s.dense.bias", base);
    if (ln) {
        PUT(1, out, 0, 0, 0, '1', "%s.LayerNorm.weight", base);
        PUT(1, out, 0, 0, 0, '0', "%s.LayerNorm.bias", base);
    }
    return XREM_OK;
}

static xrem_status rnd_attn(rnd_writer *w, const char *base, int64_t C, int64_t kvw)
{
    char name[320];
    xrem_status st;
    const char *parts[] = {"query", "key", "value"};
    for (int k = 0; k < 3; k++) {
        PUT(2, C, k ? kvw : C, 0, 0, 'n', "%s.self.%s.weight", base, parts[k]);
        PUT(1, C, 0, 0, 0, 'n', "%s.self.%s.bias", base, parts[k]);
    }
    snprintf(name, sizeof name, "%s.output", base);
    return rnd_dense(w, name, C, C, 1);
}

static xrem_status rnd_bert(rnd_writer *w, const xrem_albef_random_spec *s)
{
    char name[256], base[256];
    xrem_status st;
    const int64_t C = s->hidden;
    PUT(2, s->vocab, C, 0, 0, 'n', "text_encoder.embeddings.word_embeddings.weight");
    PUT(2, s->max_pos, C, 0, 0, 'n', "text_encoder.embeddings.position_embeddings.weight");
    PUT(2, 2, C, 0, 0, 'n', "text_encoder.embeddings.token_type_embeddings.weight");
    PUT(1, C, 0, 0, 0, '1', "text_encoder.embeddings.LayerNorm.weight");
    PUT(1, C, 0, 0, 0, '0', "text_encoder.embeddings.LayerNorm.bias");
    for (int i = 0; i < s->layers; i++) {
        snprintf(base, sizeof base, "text_encoder.encoder.layer.%d.attention", i);
        if ((st = rnd_attn(w, base, C, C))) return st;
        snprintf(base, sizeof base, "text_encoder.encoder.layer.%d.crossattention", i);
        if (i >= s->fusion_layer && (st = rnd_attn(w, base, C, s->vision_width))) return st;
        snprintf(base, sizeof base, "text_encoder.encoder.layer.%d.intermediate", i);
        if ((st = rnd_dense(w, base, s->inter, C, 0))) return st;
        snprintf(base, sizeof base, "text_encoder.encoder.layer.%d.output", i);
        if ((st = rnd_dense(w, base, C, s->inter, 1))) return st;
    }
    return XREM_OK;
}

static xrem_status rnd_heads(rnd_writer *w, const xrem_albef_random_spec *s)
{
    char name[64];
    xrem_status st;
    const int64_t C = s->hidden, E = s->embed_dim;
    if (s->kind == XREM_ALBEF_RETRIEVAL) {
        PUT(2, E, s->vision_width, 0, 0, 'n', "vision_proj.weight");
        PUT(1, E, 0, 0, 0, 'n', "vision_proj.bias");
        PUT(2, E, C, 0, 0, 'n', "text_proj.weight");
        PUT(1, E, 0, 0, 0, 'n', "text_proj.bias");
        PUT(2, 2, C, 0, 0, 'n', "itm_head.weight");
        PUT(1, 2, 0, 0, 0, 'n', "itm_head.bias");
    } else {
        PUT(2, C, C, 0, 0, 'n', "cls_head.0.weight");
        PUT(1, C, 0, 0, 0, 'n', "cls_head.0.bias");
        PUT(2, 3, C, 0, 0, 'n', "cls_head.2.weight");
        PUT(1, 3, 0, 0, 0, 'n', "cls_head.2.bias");
    }
    return XREM_OK;
}

static xrem_status rnd_attrs(xrem_h5 *f, const xrem_albef_random_spec *s, double std)
{
    const char *arch = s->kind == XREM_ALBEF_RETRIEVAL ? "albef_retrieval" : "albef_itm";
    struct {
        const char *k;
        int64_t v;
    } cfg[] = {{"vision_width", s->vision_width}, {"vit_depth", s->vit_depth},   {"vit_heads", s->vit_heads},
               {"vit_mlp", s->vit_mlp},           {"patch_size", s->patch},      {"image_res", s->image_res},
               {"hidden_size", s->hidden},        {"num_layers", s->layers},     {"num_heads", s->heads},
               {"intermediate_size", s->inter},   {"vocab_size", s->vocab},      {"max_position", s->max_pos},
               {"type_vocab_size", 2},            {"fusion_layer", s->fusion_layer}, {"encoder_width", s->vision_width},
               {"embed_dim", s->embed_dim}};
    xrem_status st = xrem_h5_set_attr_str(f, "/", "xrem_format", "weights");
    if (!st) st = xrem_h5_set_attr_i64(f, "/", "version", 1);
    if (!st) st = xrem_h5_set_attr_str(f, "/", "arch", arch);
    if (!st) st = xrem_h5_set_attr_str(f, "/", "source", "random (xrem_albef_random_write)");
    char seed[64];
    if (std != 0.02) /* the std changes every number: it must change the identity too */
        snprintf(seed, sizeof seed, "random-seed-%llu-std-%g", (unsigned long long)s->seed, std);
    else
        snprintf(seed, sizeof seed, "random-seed-%llu", (unsigned long long)s->seed);
    if (!st) st = xrem_h5_set_attr_str(f, "/", "source_sha256", seed);
    for (size_t i = 0; !st && i < sizeof cfg / sizeof cfg[0]; i++) st = xrem_h5_set_attr_i64(f, "config", cfg[i].k, cfg[i].v);
    if (!st) st = xrem_h5_set_attr_f64(f, "config", "vit_ln_eps", 1e-6);
    if (!st) st = xrem_h5_set_attr_f64(f, "config", "bert_ln_eps", 1e-12);
    return st;
}

xrem_status xrem_albef_random_write(const char *path, const xrem_albef_random_spec *s, char *const *vocab,
                                    int64_t nvocab)
{
    return xrem_albef_random_write_std(path, s, 0.02, vocab, nvocab);
}

xrem_status xrem_albef_random_write_std(const char *path, const xrem_albef_random_spec *s, double std,
                                        char *const *vocab, int64_t nvocab)
{
    if (!(std > 0)) return xrem_fail(XREM_ERR_ARG, "random weights: std must be > 0 (got %g)", std);
    rnd_writer w = {0};
    w.state = s->seed;
    w.std = std;
    xrem_status st = xrem_h5_create(path, &w.f);
    if (st) return st;
    st = rnd_attrs(w.f, s, std);
    if (!st) st = rnd_vit(&w, s);
    if (!st) st = rnd_bert(&w, s);
    if (!st) st = rnd_heads(&w, s);
    if (!st && vocab) st = xrem_h5_write_strings(w.f, "tokenizer/vocab", (const char *const *)vocab, nvocab);
    if (!st && vocab) st = xrem_h5_set_attr_str(w.f, "tokenizer", "kind", "wordpiece");
    free(w.buf);
    if (st) {
        xrem_h5_close(w.f);
        return st;
    }
    return xrem_h5_commit(w.f);
}
