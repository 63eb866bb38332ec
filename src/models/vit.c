#include "models/vit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/preprocess.h"

#define VE "visual_encoder."

static xrem_status vit_config(xrem_weights *w, int res, xrem_vit_config *c)
{
    int64_t v[7];
    static const char *names[] = {"vision_width", "vit_depth", "vit_heads", "vit_mlp", "patch_size", "image_res"};
    static const int64_t hi[] = {16384, 256, 256, 65536, 64, 8192};
    for (int i = 0; i < 6; i++) {
        xrem_status s = xrem_weights_config(w, names[i], 1, hi[i], &v[i]);
        if (s) return s;
    }
    *c = (xrem_vit_config){(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4], (int)v[5], res, 1e-6f};
    if (res == 0) c->res = c->ckpt_res;
    if (c->C % c->NH)
        return xrem_fail(XREM_ERR_FORMAT, "%s: config vision_width %d is not divisible by vit_heads %d",
                         xrem_weights_path(w), c->C, c->NH);
    if (c->ckpt_res % c->P)
        return xrem_fail(XREM_ERR_FORMAT, "%s: config image_res %d is not a multiple of patch_size %d",
                         xrem_weights_path(w), c->ckpt_res, c->P);
    if (c->res <= 0 || c->res % c->P)
        return xrem_fail(XREM_ERR_SHAPE, "image size %d is not a positive multiple of the patch size %d", c->res, c->P);
    return XREM_OK;
}

/* pos_embed [1, 1+g*g, C] at the checkpoint grid -> [1+g'*g', C] at the run grid. */
static xrem_status vit_load_pos(xrem_weights *w, xrem_backend *be, xrem_vit *v)
{
    const xrem_vit_config *c = &v->cfg;
    const int g = c->ckpt_res / c->P, g2 = c->res / c->P, C = c->C;
    float *src = NULL, *grid = NULL, *grid2 = NULL, *dst = NULL;
    int64_t ne[XREM_MAX_DIMS];
    xrem_status s = xrem_weights_read(w, VE "pos_embed", 3, (int64_t[]){1, 1 + (int64_t)g * g, C}, &src, ne);
    if (s) return s;
    const int64_t T2 = 1 + (int64_t)g2 * g2;
    if (g == g2) {
        s = xrem_tensor_from_host(be, src, 2, (int64_t[]){T2, C}, &v->pos);
        free(src);
        return s;
    }
    /* [g*g, C] token-major -> [C, g, g] planes, resize, back to token-major. */
    grid = malloc(sizeof(float) * (size_t)g * g * C);
    grid2 = malloc(sizeof(float) * (size_t)g2 * g2 * C);
    dst = malloc(sizeof(float) * (size_t)T2 * C);
    if (!grid || !grid2 || !dst) s = xrem_fail(XREM_ERR_NOMEM, "out of memory interpolating pos_embed");
    for (int64_t t = 0; !s && t < (int64_t)g * g; t++)
        for (int ch = 0; ch < C; ch++) grid[(int64_t)ch * g * g + t] = src[(1 + t) * C + ch];
    if (!s) s = xrem_resize_bicubic(grid, C, g, g, grid2, g2, g2);
    if (!s) {
        memcpy(dst, src, sizeof(float) * (size_t)C);
        for (int64_t t = 0; t < (int64_t)g2 * g2; t++)
            for (int ch = 0; ch < C; ch++) dst[(1 + t) * C + ch] = grid2[(int64_t)ch * g2 * g2 + t];
        s = xrem_tensor_from_host(be, dst, 2, (int64_t[]){T2, C}, &v->pos);
    }
    free(src);
    free(grid);
    free(grid2);
    free(dst);
    return s;
}

static xrem_status vit_load_patch(xrem_weights *w, xrem_backend *be, xrem_vit *v)
{
    const int C = v->cfg.C, P = v->cfg.P, PP = P * P;
    float *pw = NULL;
    int64_t ne[XREM_MAX_DIMS];
    xrem_status s = xrem_weights_read(w, VE "patch_embed.proj.weight", 4, (int64_t[]){C, 3, P, P}, &pw, ne);
    if (s) return s;
    s = xrem_tensor_from_host(be, pw, 2, (int64_t[]){C, 3 * PP}, &v->patch_w);
    /* Gray inputs replicate one channel three times: conv(w, [x,x,x]) = conv(w0+w1+w2, x). */
    float *gray = s ? NULL : malloc(sizeof(float) * (size_t)C * PP);
    if (!s && !gray) s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int64_t o = 0; !s && o < C; o++)
        for (int k = 0; k < PP; k++)
            gray[o * PP + k] = pw[(o * 3 + 0) * PP + k] + pw[(o * 3 + 1) * PP + k] + pw[(o * 3 + 2) * PP + k];
    if (!s) s = xrem_tensor_from_host(be, gray, 2, (int64_t[]){C, PP}, &v->patch_w_gray);
    free(pw);
    free(gray);
    if (!s) s = xrem_weights_load(w, be, VE "patch_embed.proj.bias", 1, (int64_t[]){C}, &v->patch_b);
    return s;
}

static xrem_status vit_load_block(xrem_weights *w, xrem_backend *be, const xrem_vit_config *c, int i,
                                  xrem_vit_block *b)
{
    const int64_t C = c->C, M = c->mlp;
    struct {
        const char *suffix;
        xrem_tensor *t;
        int nd;
        int64_t ne[2];
    } items[] = {
        {"norm1.weight", &b->ln1_g, 1, {C}},          {"norm1.bias", &b->ln1_b, 1, {C}},
        {"attn.qkv.weight", &b->qkv_w, 2, {3 * C, C}}, {"attn.qkv.bias", &b->qkv_b, 1, {3 * C}},
        {"attn.proj.weight", &b->proj_w, 2, {C, C}},   {"attn.proj.bias", &b->proj_b, 1, {C}},
        {"norm2.weight", &b->ln2_g, 1, {C}},          {"norm2.bias", &b->ln2_b, 1, {C}},
        {"mlp.fc1.weight", &b->fc1_w, 2, {M, C}},      {"mlp.fc1.bias", &b->fc1_b, 1, {M}},
        {"mlp.fc2.weight", &b->fc2_w, 2, {C, M}},      {"mlp.fc2.bias", &b->fc2_b, 1, {C}},
    };
    for (size_t k = 0; k < sizeof items / sizeof items[0]; k++) {
        char name[256];
        snprintf(name, sizeof name, VE "blocks.%d.%s", i, items[k].suffix);
        xrem_status s = xrem_weights_load(w, be, name, items[k].nd, items[k].ne, items[k].t);
        if (s) return s;
    }
    return XREM_OK;
}

xrem_status xrem_vit_load(xrem_weights *w, xrem_backend *be, int res, xrem_vit *v)
{
    memset(v, 0, sizeof *v);
    xrem_status s = vit_config(w, res, &v->cfg);
    if (!s) s = vit_load_patch(w, be, v);
    if (!s) s = xrem_weights_load(w, be, VE "cls_token", 1, (int64_t[]){v->cfg.C}, &v->cls);
    if (!s) s = vit_load_pos(w, be, v);
    if (!s && !(v->blocks = calloc((size_t)v->cfg.L, sizeof *v->blocks)))
        s = xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < v->cfg.L; i++) s = vit_load_block(w, be, &v->cfg, i, &v->blocks[i]);
    if (!s) s = xrem_weights_load(w, be, VE "norm.weight", 1, (int64_t[]){v->cfg.C}, &v->norm_g);
    if (!s) s = xrem_weights_load(w, be, VE "norm.bias", 1, (int64_t[]){v->cfg.C}, &v->norm_b);
    if (s) xrem_vit_release(v, be);
    return s;
}

void xrem_vit_release(xrem_vit *v, xrem_backend *be)
{
    xrem_tensor *fixed[] = {&v->patch_w, &v->patch_w_gray, &v->patch_b, &v->cls, &v->pos, &v->norm_g, &v->norm_b};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) xrem_tensor_release(be, fixed[i]);
    if (v->blocks) {
        for (int i = 0; i < v->cfg.L; i++) {
            xrem_tensor *t = (xrem_tensor *)&v->blocks[i];
            for (size_t k = 0; k < sizeof(xrem_vit_block) / sizeof(xrem_tensor); k++) xrem_tensor_release(be, &t[k]);
        }
        free(v->blocks);
    }
    v->blocks = NULL;
}

size_t xrem_vit_params(const xrem_vit *v)
{
    const size_t C = v->cfg.C, M = v->cfg.mlp, PP = (size_t)v->cfg.P * v->cfg.P;
    const size_t T0 = 1 + (size_t)(v->cfg.ckpt_res / v->cfg.P) * (v->cfg.ckpt_res / v->cfg.P);
    size_t per_block = 4 * C + 3 * C * C + 3 * C + C * C + C + M * C + M + C * M + C;
    return C * 3 * PP + C + C + T0 * C + v->cfg.L * per_block + 2 * C;
}

size_t xrem_vit_arena_bytes(const xrem_vit *v, int B)
{
    const size_t C = v->cfg.C, T = (size_t)xrem_vit_tokens(v), Pn = T - 1, PP = (size_t)v->cfg.P * v->cfg.P;
    /* cols + patch out, then x, h, qkv, ctx, mlp live at once; + out; 64 B slack per slice */
    size_t floats = (size_t)B * Pn * (3 * PP + C) + (size_t)B * T * (C * 4 + 3 * C + v->cfg.mlp);
    return floats * sizeof(float) + 16 * 64;
}

/* x = [cls; patch_embed(img)] + pos */
static xrem_tensor vit_embed(const xrem_vit *v, xrem_backend *be, xrem_arena *a, const xrem_tensor *img)
{
    const int64_t B = img->ne[0], Cin = img->ne[1], C = v->cfg.C, P = v->cfg.P, T = xrem_vit_tokens(v);
    XREM_ASSERT((Cin == 1 || Cin == 3) && img->ne[2] == v->cfg.res && img->ne[3] == v->cfg.res);
    xrem_tensor cols = xrem_arena_f32_2d(a, B * (T - 1), Cin * P * P);
    be->patchify(be, &cols, img, (int)P);
    xrem_tensor pe = xrem_arena_f32_2d(a, B * (T - 1), C);
    be->linear(be, &pe, &cols, Cin == 1 ? &v->patch_w_gray : &v->patch_w, &v->patch_b);
    xrem_tensor x = xrem_arena_f32_3d(a, B, T, C);
    for (int64_t b = 0; b < B; b++) be->copy2d(be, (float *)x.data + b * T * C, C, v->cls.data, C, 1, C);
    be->copy2d(be, (float *)x.data + C, T * C, pe.data, (T - 1) * C, B, (T - 1) * C);
    be->add(be, &x, &x, &v->pos);
    return x;
}

static void vit_block(const xrem_vit *v, const xrem_vit_block *bl, xrem_backend *be, xrem_arena *a, xrem_tensor *x)
{
    const int64_t B = x->ne[0], T = x->ne[1], C = v->cfg.C;
    const size_t mark = a->used;
    xrem_tensor h = xrem_arena_f32_3d(a, B, T, C);
    xrem_tensor qkv = xrem_arena_f32_3d(a, B, T, 3 * C);
    xrem_tensor ctx = xrem_arena_f32_3d(a, B, T, C);
    be->layernorm(be, &h, x, &bl->ln1_g, &bl->ln1_b, v->cfg.eps);
    be->linear(be, &qkv, &h, &bl->qkv_w, &bl->qkv_b);
    be->attention(be, &ctx, &qkv, 0, &qkv, C, &qkv, 2 * C, NULL, v->cfg.NH);
    be->linear(be, &h, &ctx, &bl->proj_w, &bl->proj_b);
    be->add(be, x, x, &h);
    be->layernorm(be, &h, x, &bl->ln2_g, &bl->ln2_b, v->cfg.eps);
    xrem_tensor m = xrem_arena_f32_3d(a, B, T, v->cfg.mlp);
    be->linear(be, &m, &h, &bl->fc1_w, &bl->fc1_b);
    be->act(be, &m, XREM_ACT_GELU);
    be->linear(be, &h, &m, &bl->fc2_w, &bl->fc2_b);
    be->add(be, x, x, &h);
    a->used = mark; /* block scratch is dead once x is updated */
}

void xrem_vit_forward(const xrem_vit *v, xrem_backend *be, xrem_arena *a, const xrem_tensor *img, xrem_tensor *out,
                      xrem_trace_fn trace, void *user)
{
    /* out is carved first so it survives the scratch released after the pass */
    const int64_t B = img->ne[0], T = xrem_vit_tokens(v), C = v->cfg.C;
    *out = xrem_arena_f32_3d(a, B, T, C);
    const size_t mark = a->used;
    xrem_tensor x = vit_embed(v, be, a, img);
    if (trace) trace("vit.embed", -1, &x, user);
    for (int i = 0; i < v->cfg.L; i++) {
        vit_block(v, &v->blocks[i], be, a, &x);
        if (trace) trace("vit.block", i, &x, user);
    }
    be->layernorm(be, out, &x, &v->norm_g, &v->norm_b, v->cfg.eps);
    a->used = mark;
}
