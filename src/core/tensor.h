/* Tensors, dtypes, devices and activation arenas.
 *
 * A tensor is a view: shape (up to 4 dims, row-major, contiguous), dtype, device and a data
 * pointer it does not own. Storage comes from a backend buffer or an arena. fp32 is what every
 * op computes in today; bf16/fp16 are representable so weights stored that way can be described
 * (they are widened to fp32 when loaded onto the CPU backend).
 */
#ifndef XREM_CORE_TENSOR_H
#define XREM_CORE_TENSOR_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>
#include <stdint.h>

#include "xrem/status.h"

typedef enum { XREM_F32 = 0, XREM_F16, XREM_BF16, XREM_I32 } xrem_dtype;
typedef enum { XREM_DEV_CPU = 0, XREM_DEV_CUDA } xrem_device;

#define XREM_MAX_DIMS 4

typedef struct {
    void *data;             /* not owned */
    xrem_dtype dtype;
    xrem_device device;
    int ndim;
    int64_t ne[XREM_MAX_DIMS]; /* ne[0] is the outermost dimension */
} xrem_tensor;

size_t xrem_dtype_size(xrem_dtype t);
const char *xrem_dtype_name(xrem_dtype t);
int64_t xrem_tensor_numel(const xrem_tensor *t);
size_t xrem_tensor_bytes(const xrem_tensor *t);
/* Product of all but the last dimension: the "rows" an op over the last dim iterates. */
int64_t xrem_tensor_rows(const xrem_tensor *t);
int64_t xrem_tensor_cols(const xrem_tensor *t);
/* "[2,197,768]" into buf; returns buf. */
const char *xrem_tensor_shape_str(const xrem_tensor *t, char *buf, size_t cap);

/* Multiply sizes with overflow checking; returns 0 on overflow. */
int xrem_size_mul(size_t a, size_t b, size_t *out);

/* An arena: one backend allocation, bump-allocated, reset between forward passes, so a
 * forward pass allocates nothing per call. The backend owns the bytes. */
struct xrem_backend;
typedef struct {
    struct xrem_backend *be;
    char *base;
    size_t cap, used;
} xrem_arena;

xrem_status xrem_arena_init(xrem_arena *a, struct xrem_backend *be, size_t cap);
void xrem_arena_release(xrem_arena *a);
static inline void xrem_arena_reset(xrem_arena *a) { a->used = 0; }
/* A new fp32 tensor of the given shape carved from the arena; aborts (a bug, not bad input)
 * if the arena was sized too small, since sizes are computed before the pass. */
xrem_tensor xrem_arena_f32(xrem_arena *a, int ndim, const int64_t *ne);
xrem_tensor xrem_arena_f32_2d(xrem_arena *a, int64_t rows, int64_t cols);
xrem_tensor xrem_arena_f32_3d(xrem_arena *a, int64_t d0, int64_t d1, int64_t d2);

/* Internal invariants: a failure is a bug, reported with file and line, then abort. */
void xrem__assert_fail(const char *expr, const char *file, int line);
#define XREM_ASSERT(x) \
    do { \
        if (!(x)) xrem__assert_fail(#x, __FILE__, __LINE__); \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
