#include "core/tensor.h"

#include <stdio.h>
#include <stdlib.h>

#include "backend.h"

size_t xrem_dtype_size(xrem_dtype t)
{
    switch (t) {
    case XREM_F32: return 4;
    case XREM_F16: return 2;
    case XREM_BF16: return 2;
    case XREM_I32: return 4;
    }
    return 0;
}

const char *xrem_dtype_name(xrem_dtype t)
{
    switch (t) {
    case XREM_F32: return "float32";
    case XREM_F16: return "float16";
    case XREM_BF16: return "bfloat16";
    case XREM_I32: return "int32";
    }
    return "?";
}

int64_t xrem_tensor_numel(const xrem_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->ne[i];
    return n;
}

size_t xrem_tensor_bytes(const xrem_tensor *t)
{
    return (size_t)xrem_tensor_numel(t) * xrem_dtype_size(t->dtype);
}

int64_t xrem_tensor_cols(const xrem_tensor *t) { return t->ndim ? t->ne[t->ndim - 1] : 1; }

int64_t xrem_tensor_rows(const xrem_tensor *t)
{
    int64_t c = xrem_tensor_cols(t);
    return c ? xrem_tensor_numel(t) / c : 0;
}

const char *xrem_tensor_shape_str(const xrem_tensor *t, char *buf, size_t cap)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < t->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ",%lld" : "%lld", (long long)t->ne[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

int xrem_size_mul(size_t a, size_t b, size_t *out)
{
    if (a && b > (size_t)-1 / a) return 0;
    *out = a * b;
    return 1;
}

void xrem__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "xrem: internal error: %s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}

xrem_status xrem_arena_init(xrem_arena *a, struct xrem_backend *be, size_t cap)
{
    a->be = be;
    a->cap = cap;
    a->used = 0;
    a->base = cap ? be->alloc(be, cap) : NULL;
    if (cap && !a->base)
        return xrem_fail(XREM_ERR_NOMEM, "cannot allocate a %.1f MiB activation arena on %s",
                         cap / 1048576.0, be->name);
    return XREM_OK;
}

void xrem_arena_release(xrem_arena *a)
{
    if (a->base) a->be->free(a->be, a->base);
    a->base = NULL;
    a->cap = a->used = 0;
}

xrem_tensor xrem_arena_f32(xrem_arena *a, int ndim, const int64_t *ne)
{
    xrem_tensor t = {0};
    t.dtype = XREM_F32;
    t.device = a->be->device;
    t.ndim = ndim;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        t.ne[i] = ne[i];
        n *= (size_t)ne[i];
    }
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63; /* 64-byte aligned slices */
    XREM_ASSERT(a->used + bytes <= a->cap);
    t.data = a->base + a->used;
    a->used += bytes;
    return t;
}

xrem_tensor xrem_arena_f32_2d(xrem_arena *a, int64_t rows, int64_t cols)
{
    int64_t ne[2] = {rows, cols};
    return xrem_arena_f32(a, 2, ne);
}

xrem_tensor xrem_arena_f32_3d(xrem_arena *a, int64_t d0, int64_t d1, int64_t d2)
{
    int64_t ne[3] = {d0, d1, d2};
    return xrem_arena_f32(a, 3, ne);
}
