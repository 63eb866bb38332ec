/* Backend-independent helpers over the op interface. */
#include "backend.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* "cuda" -> 0, "cuda:N" -> N; -1 when the name is not a CUDA name */
static long backend_cuda_index(const char *name)
{
    if (!strcmp(name, "cuda")) return 0;
    if (strncmp(name, "cuda:", 5) || name[5] < '0' || name[5] > '9') return -1;
    char *end = NULL;
    errno = 0;
    long n = strtol(name + 5, &end, 10);
    return (errno || *end || n > INT_MAX) ? -1 : n;
}

xrem_status xrem_backend_create(const char *name, int threads, xrem_backend **be)
{
    *be = NULL;
    if (!name || !strcmp(name, "cpu")) return xrem_backend_cpu_create(threads, be);
    const long dev = backend_cuda_index(name);
    if (dev < 0)
        return xrem_fail(XREM_ERR_ARG, "unknown backend '%s': valid names are cpu, cuda, cuda:N (N a GPU index)", name);
    xrem_status s = xrem_backend_cuda_create((int)dev, be);
    if (s) xrem_fail_context(s, "backend '%s'", name);
    return s;
}

void xrem_backend_free(xrem_backend *be)
{
    if (be) be->destroy(be);
}

xrem_status xrem_tensor_alloc(xrem_backend *be, xrem_dtype dt, int ndim, const int64_t *ne,
                              xrem_tensor *t)
{
    size_t bytes = xrem_dtype_size(dt);
    if (ndim < 1 || ndim > XREM_MAX_DIMS) return xrem_fail(XREM_ERR_ARG, "tensor rank %d", ndim);
    t->dtype = dt;
    t->device = be->device;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (ne[i] < 0 || !xrem_size_mul(bytes, (size_t)ne[i], &bytes))
            return xrem_fail(XREM_ERR_NOMEM, "tensor size overflows");
        t->ne[i] = ne[i];
    }
    t->data = be->alloc(be, bytes ? bytes : 1);
    if (!t->data)
        return xrem_fail(XREM_ERR_NOMEM, "cannot allocate %zu bytes on %s", bytes, be->name);
    return XREM_OK;
}

void xrem_tensor_release(xrem_backend *be, xrem_tensor *t)
{
    if (t->data) be->free(be, t->data);
    t->data = NULL;
}

xrem_status xrem_backend_check(const xrem_backend *be)
{
    struct {
        const char *name;
        int present;
    } ops[] = {{"alloc", !!be->alloc},         {"upload", !!be->upload},   {"download", !!be->download},
               {"copy2d", !!be->copy2d},       {"linear", !!be->linear},   {"layernorm", !!be->layernorm},
               {"act", !!be->act},             {"softmax", !!be->softmax}, {"add", !!be->add},
               {"l2norm", !!be->l2norm},       {"embed", !!be->embed},     {"attention", !!be->attention},
               {"patchify", !!be->patchify},   {"sync", !!be->sync}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!ops[i].present)
            return xrem_fail(XREM_ERR_UNSUPPORTED, "the %s backend does not implement '%s' yet", be->name, ops[i].name);
    return XREM_OK;
}
