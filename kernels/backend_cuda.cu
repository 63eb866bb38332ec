/* The CUDA backend (DESIGN §5): context, memory, copies, sync, and the table of op entries.
 *
 * One GPU, one stream, one cuBLAS handle bound to that stream; every op is enqueued there, so a
 * forward pass is ordered without events and checked by one sync() at the end. This is the fp32
 * mode: cuBLAS runs in its default math mode (fp32 FMA, no TF32), the custom kernels accumulate
 * in fp32 and use the accurate expf/erff/tanhf, so results match the CPU backend to <= 1e-4.
 *
 * The ops live one family per file (matmul.cu, layernorm.cu, activation.cu, softmax.cu,
 * elementwise.cu, attention.cu); tests/test_gpu_ops.c compares each with the CPU backend.
 *
 * Environment: XREM_CUDA_SYNC=1 synchronises after every launch so a failure is reported at
 * the launch that caused it; XREM_CUDA_ATTN_SCRATCH_KB caps the attention scores scratch
 * (default 262144 KiB = 256 MiB; the test sets it small to exercise the chunked path).
 *
 * The backend must be used from one host thread at a time (it owns one stream and scratch).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_common.cuh"

/* ---- failure recording -------------------------------------------------------------------------- */

static void cuda_record(xrem_backend *be, const char *fmt, ...)
{
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    if (be->sticky != XREM_OK) return; /* the first failure is the one worth reporting */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    be->sticky = XREM_ERR_DEVICE;
    xrem_fail(XREM_ERR_DEVICE, "%s", c->msg);
}

int xrem_cuda_check(xrem_backend *be, cudaError_t err, const char *stmt, const char *func,
                    const char *file, int line)
{
    if (err == cudaSuccess) return 0;
    cuda_record(be, "CUDA error %s (%s) from %s in %s at %s:%d", cudaGetErrorName(err),
                cudaGetErrorString(err), stmt, func, file, line);
    return 1;
}

int xrem_cublas_check(xrem_backend *be, cublasStatus_t st, const char *stmt, const char *func,
                      const char *file, int line)
{
    if (st == CUBLAS_STATUS_SUCCESS) return 0;
    cuda_record(be, "cuBLAS error %s (%s) from %s in %s at %s:%d", cublasGetStatusName(st),
                cublasGetStatusString(st), stmt, func, file, line);
    return 1;
}

int xrem_cuda_launched(xrem_backend *be, const char *kernel, const char *func, const char *file,
                       int line)
{
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    cudaError_t err = cudaGetLastError();
    if (err == cudaSuccess && c->debug_sync) err = cudaStreamSynchronize(c->stream);
    if (err == cudaSuccess) return 0;
    cuda_record(be, "CUDA error %s (%s) launching %s in %s at %s:%d", cudaGetErrorName(err),
                cudaGetErrorString(err), kernel, func, file, line);
    return 1;
}

int xrem_cuda_reserve(xrem_backend *be, void **buf, size_t *cap_bytes, size_t bytes)
{
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    if (*buf && *cap_bytes >= bytes) return 0;
    /* queued kernels may still read the old buffer: let them finish before freeing it */
    if (cudaCheck(be, cudaStreamSynchronize(c->stream))) return 1;
    if (*buf && cudaCheck(be, cudaFree(*buf))) return 1;
    *buf = NULL;
    *cap_bytes = 0;
    if (cudaCheck(be, cudaMalloc(buf, bytes ? bytes : 1))) {
        *buf = NULL;
        return 1;
    }
    *cap_bytes = bytes;
    return 0;
}

/* ---- memory ------------------------------------------------------------------------------------- */

static void *cuda_alloc(xrem_backend *be, size_t bytes)
{
    void *p = NULL;
    cudaError_t err = cudaMalloc(&p, bytes ? bytes : 1);
    if (err == cudaErrorMemoryAllocation) {
        /* recoverable: clear it and let the caller report NULL (xrem_tensor_alloc does) */
        (void)cudaGetLastError();
        xrem_fail(XREM_ERR_NOMEM, "cudaMalloc of %zu bytes on GPU %d: out of device memory", bytes,
                  xrem_cuda_ctx_of(be)->device);
        return NULL;
    }
    if (cudaCheck(be, err)) return NULL;
    return p;
}

static void cuda_free(xrem_backend *be, void *p)
{
    if (p) cudaCheck(be, cudaFree(p));
}

/* Both copies return with the data in place: the caller may reuse or read its host buffer. */
static void cuda_upload(xrem_backend *be, void *dst, const void *src, size_t bytes)
{
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    if (!bytes) return;
    if (cudaCheck(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->stream))) return;
    cudaCheck(be, cudaStreamSynchronize(c->stream));
}

static void cuda_download(xrem_backend *be, void *dst, const void *src, size_t bytes)
{
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    if (!bytes) return;
    if (cudaCheck(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->stream))) return;
    cudaCheck(be, cudaStreamSynchronize(c->stream));
}

/* dst[r*dld + c] = src[r*sld + c], device to device, stream-ordered like every op */
static void cuda_copy2d(xrem_backend *be, float *dst, int64_t dld, const float *src, int64_t sld,
                        int64_t rows, int64_t cols)
{
    xrem_op_check_copy2d(be, dst, dld, src, sld, rows, cols);
    if (rows == 0 || cols == 0) return;
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    cudaCheck(be, cudaMemcpy2DAsync(dst, (size_t)dld * sizeof(float), src, (size_t)sld * sizeof(float),
                                    (size_t)cols * sizeof(float), (size_t)rows, cudaMemcpyDeviceToDevice,
                                    c->stream));
}

/* ---- sync, destroy, create ---------------------------------------------------------------------- */

static xrem_status cuda_sync(xrem_backend *be)
{
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    cudaCheck(be, cudaStreamSynchronize(c->stream));
    xrem_status s = be->sticky;
    if (s != XREM_OK) xrem_fail(s, "GPU %d: %s", c->device, c->msg);
    be->sticky = XREM_OK;
    c->msg[0] = '\0';
    return s;
}

static void cuda_destroy(xrem_backend *be)
{
    if (!be) return;
    xrem_cuda_ctx *c = xrem_cuda_ctx_of(be);
    if (c) {
        /* nobody is left to report to: errors here are dropped */
        if (c->stream) (void)cudaStreamSynchronize(c->stream);
        if (c->att) (void)cudaFree(c->att);
        if (c->mask) (void)cudaFree(c->mask);
        if (c->ids) (void)cudaFree(c->ids);
        free(c->mask_host);
        if (c->cublas) (void)cublasDestroy(c->cublas);
        if (c->stream) (void)cudaStreamDestroy(c->stream);
        (void)cudaGetLastError();
        free(c);
    }
    free(be);
}

/* Launched by nobody: cudaFuncGetAttributes on it tells whether this binary holds code the
 * device can run (SASS for its arch or PTX the driver can JIT). */
static __global__ void probe_kernel(int *p)
{
    if (p) *p = 0;
}

static size_t env_size(const char *name, size_t dflt)
{
    const char *s = getenv(name);
    if (!s || !*s) return dflt;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    return (end && *end == '\0' && v > 0) ? (size_t)v : dflt;
}

int xrem_backend_cuda_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

xrem_status xrem_backend_cuda_create(int device, xrem_backend **out)
{
    *out = NULL;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        /* the three answers a user can act on: install a driver, find a GPU, or something else */
        const char *why = err == cudaErrorNoDevice            ? "no CUDA device"
                          : err == cudaErrorInsufficientDriver ? "no CUDA driver (or one older than this build's runtime)"
                                                               : "no usable CUDA driver or device";
        return xrem_fail(XREM_ERR_DEVICE, "%s (cudaGetDeviceCount: %s)", why, cudaGetErrorName(err));
    }
    if (n == 0) return xrem_fail(XREM_ERR_DEVICE, "no CUDA device (cudaGetDeviceCount found 0)");
    if (device < 0 || device >= n)
        return xrem_fail(XREM_ERR_ARG, "device index %d out of range: %d device(s)", device, n);

    cudaDeviceProp prop;
    if ((err = cudaSetDevice(device)) != cudaSuccess ||
        (err = cudaGetDeviceProperties(&prop, device)) != cudaSuccess) {
        (void)cudaGetLastError();
        return xrem_fail(XREM_ERR_DEVICE, "GPU %d: %s (%s)", device, cudaGetErrorName(err),
                         cudaGetErrorString(err));
    }
    cudaFuncAttributes fa;
    if ((err = cudaFuncGetAttributes(&fa, probe_kernel)) != cudaSuccess) {
        (void)cudaGetLastError();
        return xrem_fail(XREM_ERR_DEVICE,
                         "GPU %d (%s, sm_%d%d) cannot run this build's kernels (%s): rebuild with "
                         "CMAKE_CUDA_ARCHITECTURES=%d%d",
                         device, prop.name, prop.major, prop.minor, cudaGetErrorString(err), prop.major,
                         prop.minor);
    }

    xrem_backend *be = (xrem_backend *)calloc(1, sizeof *be);
    xrem_cuda_ctx *c = (xrem_cuda_ctx *)calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return xrem_fail(XREM_ERR_NOMEM, "out of memory creating the CUDA backend");
    }
    be->name = "cuda";
    be->device = XREM_DEV_CUDA;
    be->threads = 0;
    be->ctx = c;
    be->sticky = XREM_OK;
    c->device = device;
    c->sm_count = prop.multiProcessorCount > 0 ? prop.multiProcessorCount : 1;
    const char *dbg = getenv("XREM_CUDA_SYNC");
    c->debug_sync = dbg && *dbg && strcmp(dbg, "0") != 0;
    c->att_limit = env_size("XREM_CUDA_ATTN_SCRATCH_KB", 262144) * 1024 / sizeof(float);
    if (c->att_limit == 0) c->att_limit = 1;

    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    if ((err = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking)) != cudaSuccess) {
        c->stream = NULL;
        (void)cudaGetLastError();
        cuda_destroy(be);
        return xrem_fail(XREM_ERR_DEVICE, "GPU %d: cudaStreamCreate: %s", device, cudaGetErrorString(err));
    }
    cublasHandle_t h = NULL;
    if ((st = cublasCreate(&h)) != CUBLAS_STATUS_SUCCESS) h = NULL;
    c->cublas = h;
    if (st != CUBLAS_STATUS_SUCCESS || (st = cublasSetStream(h, c->stream)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasSetMathMode(h, CUBLAS_DEFAULT_MATH)) != CUBLAS_STATUS_SUCCESS) {
        cuda_destroy(be);
        return xrem_fail(XREM_ERR_DEVICE, "GPU %d: cuBLAS setup failed: %s", device,
                         cublasGetStatusString(st));
    }

    be->alloc = cuda_alloc;
    be->free = cuda_free;
    be->upload = cuda_upload;
    be->download = cuda_download;
    be->copy2d = cuda_copy2d;
    be->linear = xrem_cuda_linear;
    be->layernorm = xrem_cuda_layernorm;
    be->act = xrem_cuda_act;
    be->softmax = xrem_cuda_softmax;
    be->add = xrem_cuda_add;
    be->l2norm = xrem_cuda_l2norm;
    be->embed = xrem_cuda_embed;
    be->attention = xrem_cuda_attention;
    be->attention_packed = xrem_cuda_attention_packed;
    be->patchify = xrem_cuda_patchify;
    be->sync = cuda_sync;
    be->destroy = cuda_destroy;
    *out = be;
    return XREM_OK;
}
