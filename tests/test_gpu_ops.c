/* Every op of the CUDA backend against the CPU backend (the reference), fp32 mode.
 *
 * Each case fills its inputs with the same seeded random values on both backends, runs the op on
 * both, downloads the outputs and checks every element: |gpu - cpu| <= atol + rtol·|cpu|. The
 * bounds are stated per case (DESIGN §6: GPU fp32 mode <= 1e-4 on O(1) data; ops that are a
 * single correctly rounded operation or a pure copy must match exactly; row reductions whose
 * outputs are small use a relative bound). Besides the values it checks that
 *   - the reference is not all zero (a comparison of two untouched buffers cannot pass),
 *   - the GPU wrote every output element (outputs start as a sentinel on both backends),
 *   - nothing was written past the end of an output (each GPU buffer carries a guard zone),
 *   - the backend's sticky status is clean after the op.
 * Attention runs twice: on the default backend and on one whose scores scratch is capped at
 * 64 KiB (XREM_CUDA_ATTN_SCRATCH_KB), which forces the chunked paths.
 *
 * The op contracts (src/backend.h) are the CPU backend's too: a forked child calls the GPU copy2d
 * with leading dimensions 0 (the ITM copy that xrem_albef_itm_sets used to make) and must abort
 * with "op contract violated: copy2d on cuda" before any CUDA call.
 *
 * Exit 77 (skip) when the CUDA backend cannot be created (no GPU, or built without CUDA).
 * XREM_GPU_BENCH=1 also times each GPU op (mean of 20 runs after 3 warm-ups, host clock around a
 * sync, so launch overhead is included) and prints GFLOP/s or GB/s.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "testutil.h"

#define SENTINEL -777.0f /* outputs start as this on both backends */
#define GUARD 64         /* floats past the end of every GPU buffer, checked after each op */

static xrem_backend *cpu, *gpu;
static int bench, failures, cases;

/* ---- deterministic random numbers (xorshift64*) ------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float urand(float lo, float hi)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    const uint64_t r = rng_state * 2685821657736338717ull;
    return lo + (hi - lo) * (float)((double)(r >> 40) / 16777216.0);
}

/* ---- per-case host and device allocations, released together ------------------------------------ */

typedef struct {
    xrem_tensor c, g; /* the same values on the CPU and the GPU backend */
    int64_t n;
} pair;

#define MAX_LIVE 32
static pair *live_pairs[MAX_LIVE];
static void *live_host[MAX_LIVE];
static int n_pairs, n_host;

static void *hold_host(void *p)
{
    if (!p || n_host == MAX_LIVE) {
        fprintf(stderr, "test_gpu_ops: out of host memory or slots\n");
        exit(1);
    }
    return live_host[n_host++] = p;
}

static float *hrand(int64_t n, float lo, float hi)
{
    float *h = hold_host(malloc((size_t)n * sizeof(float)));
    for (int64_t i = 0; i < n; i++) h[i] = urand(lo, hi);
    return h;
}

/* A tensor of shape ne on both backends, holding `host` (or the sentinel when NULL). */
static pair *pnew(const float *host, int ndim, const int64_t *ne)
{
    pair *p = calloc(1, sizeof *p);
    if (!p || n_pairs == MAX_LIVE) exit(1);
    live_pairs[n_pairs++] = p;
    p->n = 1;
    for (int i = 0; i < ndim; i++) p->n *= ne[i];
    float *init = malloc((size_t)(p->n + GUARD) * sizeof(float));
    if (!init) exit(1);
    for (int64_t i = 0; i < p->n + GUARD; i++) init[i] = (host && i < p->n) ? host[i] : SENTINEL;
    xrem_tensor *ts[2] = {&p->c, &p->g};
    xrem_backend *bs[2] = {cpu, gpu};
    for (int k = 0; k < 2; k++) {
        xrem_tensor *t = ts[k];
        t->dtype = XREM_F32;
        t->device = bs[k]->device;
        t->ndim = ndim;
        memcpy(t->ne, ne, (size_t)ndim * sizeof(int64_t));
        const size_t bytes = (size_t)(p->n + (k ? GUARD : 0)) * sizeof(float);
        t->data = bs[k]->alloc(bs[k], bytes);
        if (!t->data) {
            fprintf(stderr, "test_gpu_ops: cannot allocate %zu bytes on %s: %s\n", bytes, bs[k]->name,
                    xrem_last_error());
            exit(1);
        }
        bs[k]->upload(bs[k], t->data, init, bytes);
    }
    free(init);
    return p;
}
#define PNEW(host, ...) \
    pnew((host), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static void release_all(void)
{
    for (int i = 0; i < n_pairs; i++) {
        cpu->free(cpu, live_pairs[i]->c.data);
        gpu->free(gpu, live_pairs[i]->g.data);
        free(live_pairs[i]);
    }
    for (int i = 0; i < n_host; i++) free(live_host[i]);
    n_pairs = n_host = 0;
}

/* ---- one op, described so that it can be run on either backend (and re-run for timing) ---------- */

typedef enum {
    OP_COPY2D,
    OP_LINEAR,
    OP_LAYERNORM,
    OP_ACT,
    OP_SOFTMAX,
    OP_ADD,
    OP_L2NORM,
    OP_EMBED,
    OP_ATTENTION,
    OP_ATTENTION_PACKED,
    OP_PATCHIFY
} op_kind;

typedef struct {
    const char *name;
    char shape[96];
    op_kind kind;
    pair *out, *a, *b, *c, *d; /* roles per op, see run() */
    float eps;
    xrem_act act;
    int NH, P;
    int64_t qoff, koff, voff;
    const float *mask;
    const xrem_seqs *seqs; /* attention_packed */
    const int32_t *ids;
    int64_t n;
    int64_t rows, cols, dld, sld, doff, soff; /* copy2d */
    double atol, rtol;                        /* pass: |gpu - cpu| <= atol + rtol·|cpu| */
    double flops, bytes;                      /* work, for the timing mode */
} tcase;

static void run(xrem_backend *be, const tcase *t)
{
    const int g = be != cpu;
#define T(p) ((p) ? (g ? &(p)->g : &(p)->c) : NULL)
    switch (t->kind) {
    case OP_COPY2D:
        be->copy2d(be, (float *)T(t->out)->data + t->doff, t->dld, (const float *)T(t->a)->data + t->soff,
                   t->sld, t->rows, t->cols);
        break;
    case OP_LINEAR: be->linear(be, T(t->out), T(t->a), T(t->b), T(t->c)); break;
    case OP_LAYERNORM: be->layernorm(be, T(t->out), T(t->a), T(t->b), T(t->c), t->eps); break;
    case OP_ACT: be->act(be, T(t->out), t->act); break;
    case OP_SOFTMAX: be->softmax(be, T(t->out)); break;
    case OP_ADD: be->add(be, T(t->out), T(t->a), T(t->b)); break;
    case OP_L2NORM: be->l2norm(be, T(t->out)); break;
    case OP_EMBED: be->embed(be, T(t->out), T(t->a), t->ids, t->n); break;
    case OP_ATTENTION:
        be->attention(be, T(t->out), T(t->a), t->qoff, T(t->b), t->koff, T(t->c), t->voff, t->mask, t->NH);
        break;
    case OP_ATTENTION_PACKED:
        be->attention_packed(be, T(t->out), T(t->a), t->qoff, T(t->b), t->koff, T(t->c), t->voff, t->seqs, t->NH);
        break;
    case OP_PATCHIFY: be->patchify(be, T(t->out), T(t->a), t->P); break;
    }
#undef T
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Run t on both backends, compare, print one table row; frees the case's buffers. */
static void check(tcase *t)
{
    cases++;
    run(cpu, t);
    xrem_status sc = cpu->sync(cpu);
    run(gpu, t);
    xrem_status sg = gpu->sync(gpu);
    const char *why = NULL;
    char whybuf[1200];
    if (sc != XREM_OK) {
        snprintf(whybuf, sizeof whybuf, "CPU backend failed: %s", xrem_last_error());
        why = whybuf;
    } else if (sg != XREM_OK) {
        snprintf(whybuf, sizeof whybuf, "GPU backend failed: %s", xrem_last_error());
        why = whybuf;
    }

    const int64_t n = t->out->n;
    float *ref = hold_host(malloc((size_t)n * sizeof(float)));
    float *got = hold_host(malloc((size_t)(n + GUARD) * sizeof(float)));
    cpu->download(cpu, ref, t->out->c.data, (size_t)n * sizeof(float));
    gpu->download(gpu, got, t->out->g.data, (size_t)(n + GUARD) * sizeof(float));
    if (!why && gpu->sync(gpu) != XREM_OK) {
        snprintf(whybuf, sizeof whybuf, "GPU download failed: %s", xrem_last_error());
        why = whybuf;
    }

    double max_abs = 0, max_rel = 0, max_ref = 0, worst_ratio = 0;
    int64_t worst = 0, unwritten = 0;
    for (int64_t i = 0; i < n; i++) max_ref = fmax(max_ref, fabs((double)ref[i]));
    for (int64_t i = 0; i < n; i++) {
        const double r = ref[i], d = fabs((double)got[i] - r), bound = t->atol + t->rtol * fabs(r);
        if (got[i] == SENTINEL && ref[i] != SENTINEL) unwritten++;
        if (isnan(d) || d > max_abs) max_abs = isnan(d) ? INFINITY : d;
        if (fabs(r) >= 1e-3 * max_ref && fabs(r) > 0) max_rel = fmax(max_rel, isnan(d) ? INFINITY : d / fabs(r));
        const double ratio = isnan(d) ? INFINITY : (bound > 0 ? d / bound : (d > 0 ? INFINITY : 0));
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            worst = i;
        }
    }
    int64_t guard_hit = 0;
    for (int64_t i = n; i < n + GUARD; i++) guard_hit += got[i] != SENTINEL;

    if (!why && !(max_ref > 0)) why = "reference output is all zero (vacuous comparison)";
    if (!why && guard_hit) {
        snprintf(whybuf, sizeof whybuf, "%lld floats written past the end of the output", (long long)guard_hit);
        why = whybuf;
    }
    if (!why && unwritten) {
        snprintf(whybuf, sizeof whybuf, "%lld output elements not written by the GPU", (long long)unwritten);
        why = whybuf;
    }
    if (!why && !(worst_ratio <= 1.0)) {
        snprintf(whybuf, sizeof whybuf, "worst at flat index %lld: gpu %.9g cpu %.9g", (long long)worst,
                 got[worst], ref[worst]);
        why = whybuf;
    }

    printf("%-10s %-34s %10.3g %10.3g %8.0e %8.0e  %s", t->name, t->shape, max_abs, max_rel, t->atol, t->rtol,
           why ? "FAIL" : "ok");
    if (bench && !why) {
        for (int i = 0; i < 3; i++) run(gpu, t);
        gpu->sync(gpu);
        const int iters = 20;
        const double t0 = now_s();
        for (int i = 0; i < iters; i++) run(gpu, t);
        const xrem_status sb = gpu->sync(gpu);
        const double ms = (now_s() - t0) / iters * 1e3;
        if (sb != XREM_OK) printf("  bench failed: %s", xrem_last_error());
        else if (t->flops > 0) printf("  %9.3f ms %9.1f GFLOP/s", ms, t->flops / (ms * 1e-3) / 1e9);
        else printf("  %9.3f ms %9.1f GB/s", ms, t->bytes / (ms * 1e-3) / 1e9);
    }
    printf("\n");
    if (why) {
        printf("    -> %s\n", why);
        failures++;
    }
    fflush(stdout);
    release_all();
}

/* ---- the cases ------------------------------------------------------------------------------------ */

static void case_copy2d(void)
{
    tcase t = {.name = "copy2d", .kind = OP_COPY2D, .atol = 0, .rtol = 0};
    t.a = PNEW(hrand(197 * 2304, -1, 1), 197, 2304);
    t.out = PNEW(NULL, 197, 1000);
    t.rows = 197, t.cols = 768, t.sld = 2304, t.soff = 768, t.dld = 1000, t.doff = 100;
    t.bytes = 2.0 * 197 * 768 * 4;
    snprintf(t.shape, sizeof t.shape, "197x768 [.,2304]+768->[.,1000]+100");
    check(&t);
}

static void case_linear(int64_t B, int64_t T, int64_t K, int64_t N, int bias)
{
    tcase t = {.name = "linear", .kind = OP_LINEAR, .atol = 1e-4, .rtol = 0};
    const float ws = 1.0f / sqrtf((float)K);
    t.a = PNEW(hrand(B * T * K, -1, 1), B, T, K);
    t.b = PNEW(hrand(N * K, -ws, ws), N, K);
    t.c = bias ? PNEW(hrand(N, -1, 1), N) : NULL;
    t.out = PNEW(NULL, B, T, N);
    t.flops = 2.0 * (double)(B * T) * (double)N * (double)K;
    snprintf(t.shape, sizeof t.shape, "[%lld,%lld,%lld]x[%lld,%lld]%s", (long long)B, (long long)T, (long long)K,
             (long long)N, (long long)K, bias ? "+b" : "");
    check(&t);
}

static void case_layernorm(int64_t R, int64_t C, float eps, int inplace)
{
    tcase t = {.name = "layernorm", .kind = OP_LAYERNORM, .atol = 1e-4, .rtol = 0, .eps = eps};
    /* mean 3, spread 2: a one-pass E[x²]-E[x]² would lose digits here */
    float *x = hrand(R * C, 1, 5);
    t.a = PNEW(x, R, C);
    t.b = PNEW(hrand(C, 0.5f, 1.5f), C);
    t.c = PNEW(hrand(C, -0.5f, 0.5f), C);
    t.out = inplace ? t.a : PNEW(NULL, R, C);
    t.bytes = 3.0 * (double)(R * C) * 4;
    snprintf(t.shape, sizeof t.shape, "[%lld,%lld] eps %.0e%s", (long long)R, (long long)C, eps,
             inplace ? " in place" : "");
    check(&t);
}

static void case_act(xrem_act kind, int64_t R, int64_t C)
{
    static const char *names[] = {"gelu", "relu", "tanh"};
    /* erff/tanhf: a few ulp apart between CUDA and glibc; GELU's 1+erf(x/√2) loses digits for
     * x << 0, where an ulp of erf (6e-8) times |x|/2 gives up to ~6e-7 absolute */
    tcase t = {.name = names[kind], .kind = OP_ACT, .act = kind, .atol = 2e-6, .rtol = 1e-5};
    t.out = PNEW(hrand(R * C, -6, 6), R, C);
    t.bytes = 2.0 * (double)(R * C) * 4;
    snprintf(t.shape, sizeof t.shape, "[%lld,%lld]", (long long)R, (long long)C);
    check(&t);
}

static void case_softmax(int64_t R, int64_t C)
{
    /* outputs are probabilities down to ~1e-7: bound relative to each. The CPU sums the row
     * sequentially in fp32 (error grows ~sqrt(C)·eps), hence 1e-4 and not tighter. */
    tcase t = {.name = "softmax", .kind = OP_SOFTMAX, .atol = 1e-7, .rtol = 1e-4};
    t.out = PNEW(hrand(R * C, -8, 8), R, C);
    t.bytes = 2.0 * (double)(R * C) * 4;
    snprintf(t.shape, sizeof t.shape, "[%lld,%lld]", (long long)R, (long long)C);
    check(&t);
}

static void case_add(int64_t R, int64_t NB, int inplace)
{
    /* one correctly rounded fp32 add per element on both sides: exact */
    tcase t = {.name = "add", .kind = OP_ADD, .atol = 0, .rtol = 0};
    t.a = PNEW(hrand(R * NB, -1, 1), R, NB);
    t.b = PNEW(hrand(NB, -1, 1), NB);
    t.out = inplace ? t.a : PNEW(NULL, R, NB);
    t.bytes = (2.0 * (double)(R * NB) + (double)NB) * 4;
    snprintf(t.shape, sizeof t.shape, "[%lld,%lld]+[%lld]%s", (long long)R, (long long)NB, (long long)NB,
             inplace ? " in place" : "");
    check(&t);
}

static void case_l2norm(int64_t R, int64_t C)
{
    /* the CPU sums squares in double, the GPU in fp32: ~1e-6 relative */
    tcase t = {.name = "l2norm", .kind = OP_L2NORM, .atol = 1e-6, .rtol = 1e-5};
    float *x = hrand(R * C, -1, 1);
    if (R > 3) memset(x + 3 * C, 0, (size_t)C * sizeof(float)); /* a zero row: eps keeps it 0, not NaN */
    t.out = PNEW(x, R, C);
    t.bytes = 2.0 * (double)(R * C) * 4;
    snprintf(t.shape, sizeof t.shape, "[%lld,%lld] (row 3 zero)", (long long)R, (long long)C);
    check(&t);
}

static void case_embed(int64_t V, int64_t C, int64_t n)
{
    tcase t = {.name = "embed", .kind = OP_EMBED, .atol = 0, .rtol = 0, .n = n};
    t.a = PNEW(hrand(V * C, -1, 1), V, C);
    int32_t *ids = hold_host(malloc((size_t)n * sizeof(int32_t)));
    for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)(urand(0, 1) * (float)V) % (int32_t)V;
    ids[0] = 0;
    ids[n - 1] = (int32_t)(V - 1);
    t.ids = ids;
    t.out = PNEW(NULL, n, C);
    t.bytes = 2.0 * (double)(n * C) * 4;
    snprintf(t.shape, sizeof t.shape, "table [%lld,%lld], %lld ids", (long long)V, (long long)C, (long long)n);
    check(&t);
}

static void case_patchify(int64_t B, int64_t Cin, int64_t H, int64_t W, int P)
{
    tcase t = {.name = "patchify", .kind = OP_PATCHIFY, .atol = 0, .rtol = 0, .P = P};
    t.a = PNEW(hrand(B * Cin * H * W, -1, 1), B, Cin, H, W);
    t.out = PNEW(NULL, B * (H / P) * (W / P), Cin * P * P);
    t.bytes = 2.0 * (double)(B * Cin * H * W) * 4;
    snprintf(t.shape, sizeof t.shape, "[%lld,%lld,%lld,%lld] P=%d", (long long)B, (long long)Cin, (long long)H,
             (long long)W, P);
    check(&t);
}

/* Attention. fused: q, k, v are one [B,T,3C] tensor (self-attention, Tq == Tk, Bk == B).
 * Otherwise q [B,Tq,ldq] at qoff, and k/v in one [Bk,Tk,2C(+extra)] tensor at koff/voff.
 * mask_mode: 0 none, 1 padding tails and scattered zeros. */
static float *attention_mask(int64_t Bk, int64_t Tk)
{
    float *m = hold_host(malloc((size_t)(Bk * Tk) * sizeof(float)));
    for (int64_t b = 0; b < Bk; b++) {
        const int64_t valid = Tk - (b * Tk) / (2 * Bk); /* batch b pads its last b/(2Bk) of keys */
        for (int64_t j = 0; j < Tk; j++) m[b * Tk + j] = j < valid ? 1.0f : 0.0f;
        if (Tk > 4) m[b * Tk + 1 + b % (Tk - 2)] = 0.0f; /* and one key inside */
    }
    return m;
}

static void case_attention(const char *label, int64_t B, int64_t Bk, int64_t Tq, int64_t Tk, int NH, int64_t HS,
                           int fused, int masked, int64_t qpad)
{
    /* scores of O(1..5) (q, k in [-2,2]); outputs are convex combinations of v in [-1,1] */
    tcase t = {.name = "attention", .kind = OP_ATTENTION, .atol = 1e-4, .rtol = 0, .NH = NH};
    const int64_t C = NH * HS;
    if (fused) {
        pair *qkv = PNEW(hrand(B * Tq * 3 * C, -2, 2), B, Tq, 3 * C);
        t.a = t.b = t.c = qkv;
        t.qoff = 0, t.koff = C, t.voff = 2 * C;
    } else {
        t.a = PNEW(hrand(B * Tq * (C + qpad), -2, 2), B, Tq, C + qpad);
        t.b = t.c = PNEW(hrand(Bk * Tk * (2 * C + qpad), -2, 2), Bk, Tk, 2 * C + qpad);
        t.qoff = qpad / 2, t.koff = qpad, t.voff = qpad + C;
    }
    t.mask = masked ? attention_mask(Bk, Tk) : NULL;
    t.out = PNEW(NULL, B, Tq, C);
    t.flops = 4.0 * (double)B * NH * (double)Tq * (double)Tk * (double)HS;
    snprintf(t.shape, sizeof t.shape, "%sB%lld/%lld T%lld/%lld NH%d HS%lld%s%s", label, (long long)B, (long long)Bk,
             (long long)Tq, (long long)Tk, NH, (long long)HS, fused ? " qkv" : "", masked ? " mask" : "");
    check(&t);
}

/* The mask cache must notice a caller that edits its mask buffer in place between calls. */
static void case_attention_mask_change(void)
{
    const int64_t B = 2, T = 40, NH = 4, HS = 16, C = NH * HS;
    tcase t = {.name = "attention", .kind = OP_ATTENTION, .atol = 1e-4, .rtol = 0, .NH = (int)NH};
    pair *qkv = PNEW(hrand(B * T * 3 * C, -2, 2), B, T, 3 * C);
    t.a = t.b = t.c = qkv;
    t.koff = C, t.voff = 2 * C;
    float *mask = attention_mask(B, T);
    t.mask = mask;
    t.out = PNEW(NULL, B, T, C);
    run(gpu, &t); /* the GPU now caches this mask */
    gpu->sync(gpu);
    for (int64_t j = 0; j < T; j++) mask[j] = j < 10 ? 1.0f : 0.0f; /* same buffer, new values */
    snprintf(t.shape, sizeof t.shape, "mask edited in place, B%lld T%lld", (long long)B, (long long)T);
    check(&t);
}

/* Packed attention. Self (cross = 0): n text sequences of the given lengths in one [N, 3C] tensor,
 * a mask with one zero inside some sequences. Cross: the sequences are queries [N, C] against nk
 * images of Tk tokens each ([nk*Tk, 2C] keys|values), query sequence s on image s*nk/n (several
 * candidates per image, consecutive). */
static void case_attention_packed(const char *label, const int64_t *len, int64_t n, int cross, int64_t nk, int64_t Tk,
                                  int NH, int64_t HS)
{
    tcase t = {.name = "att_packed", .kind = OP_ATTENTION_PACKED, .atol = 1e-4, .rtol = 0, .NH = NH};
    const int64_t C = NH * HS;
    xrem_seqs *sq = hold_host(calloc(1, sizeof *sq));
    int64_t *qofs = hold_host(malloc(sizeof(int64_t) * (size_t)(n + 1)));
    qofs[0] = 0;
    for (int64_t s = 0; s < n; s++)
        qofs[s + 1] = qofs[s] + len[s];
    const int64_t N = qofs[n];
    sq->nq = n;
    sq->qofs = qofs;
    if (!cross) {
        pair *qkv = PNEW(hrand(N * 3 * C, -2, 2), N, 3 * C);
        t.a = t.b = t.c = qkv;
        t.koff = C, t.voff = 2 * C;
        sq->nk = n;
        sq->kofs = qofs;
        float *mask = hold_host(malloc(sizeof(float) * (size_t)(N ? N : 1)));
        for (int64_t i = 0; i < N; i++)
            mask[i] = 1.0f;
        for (int64_t s = 0; s < n; s += 2)
            if (len[s] > 2) mask[qofs[s] + 1] = 0.0f;
        sq->mask = mask;
        t.flops = 0;
        for (int64_t s = 0; s < n; s++)
            t.flops += 4.0 * NH * (double)len[s] * (double)len[s] * (double)HS;
    } else {
        int64_t *kofs = hold_host(malloc(sizeof(int64_t) * (size_t)(nk + 1)));
        int32_t *kv_of = hold_host(malloc(sizeof(int32_t) * (size_t)n));
        for (int64_t j = 0; j <= nk; j++)
            kofs[j] = j * Tk;
        for (int64_t s = 0; s < n; s++)
            kv_of[s] = (int32_t)(s * nk / n);
        t.a = PNEW(hrand(N * C, -2, 2), N, C);
        t.b = t.c = PNEW(hrand(nk * Tk * 2 * C, -2, 2), nk * Tk, 2 * C);
        t.voff = C;
        sq->nk = nk;
        sq->kofs = kofs;
        sq->kv_of = kv_of;
        t.flops = 4.0 * NH * (double)N * (double)Tk * (double)HS;
    }
    t.seqs = sq;
    t.out = PNEW(NULL, N, C);
    snprintf(t.shape, sizeof t.shape, "%s%s n%lld N%lld nk%lld NH%d HS%lld", label, cross ? "cross" : "self",
             (long long)n, (long long)N, (long long)sq->nk, NH, (long long)HS);
    check(&t);
}

static void attention_cases(const char *label)
{
    static const int64_t skewed[] = {7, 40, 1, 23, 113, 3, 30, 30, 0, 144, 12, 25};
    enum { NSK = sizeof skewed / sizeof skewed[0] };
    case_attention_packed(label, skewed, NSK, 0, 0, 0, 12, 64);   /* text self-attention, IU-like lengths */
    case_attention_packed(label, skewed, NSK, 1, 3, 577, 12, 64); /* pairs -> their image's tokens */
    case_attention_packed(label, skewed, 3, 1, 3, 5, 2, 7);       /* one sequence per image, odd sizes */
    case_attention(label, 2, 2, 197, 197, 12, 64, 1, 0, 0);   /* ViT-B/16 self-attention */
    case_attention(label, 2, 2, 25, 577, 12, 64, 0, 1, 0);    /* text -> 24x24+1 image tokens */
    case_attention(label, 6, 2, 25, 577, 12, 64, 0, 1, 0);    /* 3 candidates per image share k/v */
    case_attention(label, 4, 4, 40, 40, 12, 64, 1, 1, 0);     /* padded text self-attention */
    case_attention(label, 3, 3, 5, 9, 2, 7, 0, 1, 6);         /* odd sizes, offsets, strides */
    case_attention(label, 8, 8, 50, 50, 2, 16, 1, 1, 0);      /* several key batches per chunk */
    case_attention_mask_change();
}

/* The shared contract check aborts the CUDA copy2d with leading dimensions 0 (no CUDA call made:
 * the child never touches the device, so forking a process that holds a CUDA context is safe). */
static void case_contract(void)
{
    cases++;
    int fd[2];
    const char *why = NULL;
    char err[1024] = "";
    float *p = gpu->alloc(gpu, 64 * sizeof(float)); /* in the parent: the child makes no CUDA call */
    if (!p) {
        why = "alloc failed";
    } else if (pipe(fd)) {
        why = "pipe failed";
    } else {
        fflush(stdout);
        fflush(stderr);
        const pid_t pid = fork();
        if (pid == 0) {
            dup2(fd[1], 2);
            close(fd[0]);
            close(fd[1]);
            gpu->copy2d(gpu, p, 0, p + 32, 0, 1, 16);
            _exit(0);
        }
        close(fd[1]);
        size_t n = 0;
        for (ssize_t k; n < sizeof err - 1 && (k = read(fd[0], err + n, sizeof err - 1 - n)) > 0;)
            n += (size_t)k;
        err[n] = '\0';
        close(fd[0]);
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid)
            why = "fork/wait failed";
        else if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
            why = "child did not abort";
        else if (!strstr(err, "op contract violated: copy2d on cuda: dld > 0"))
            why = "message lacks the op and condition";
    }
    if (p) gpu->free(gpu, p);
    printf("%-10s %-34s %10s %10s %8s %8s  %s\n", "contract", "copy2d ld 0 aborts", "-", "-", "-", "-",
           why ? "FAIL" : "ok");
    if (why) {
        printf("    -> %s; child stderr: %s\n", why, err);
        failures++;
    }
}

int main(void)
{
    bench = getenv("XREM_GPU_BENCH") && atoi(getenv("XREM_GPU_BENCH")) > 0;
    int rc = xrem_test_backend("cuda", 0, &gpu);
    if (rc) return rc;
    if ((rc = xrem_test_backend("cpu", 0, &cpu))) return rc;

    printf("%-10s %-34s %10s %10s %8s %8s  %s%s\n", "op", "shape", "max|d|", "max rel", "atol", "rtol", "result",
           bench ? "  gpu time / throughput" : "");
    case_contract();
    case_copy2d();

    case_linear(2, 197, 768, 2304, 1); /* ViT qkv projection */
    case_linear(1, 37, 129, 65, 1);    /* odd sizes */
    case_linear(1, 37, 129, 65, 0);    /* no bias */
    case_linear(1, 5, 3072, 768, 1);   /* MLP fc2, few rows */

    case_layernorm(2 * 197, 768, 1e-6f, 0);
    case_layernorm(37, 1000, 1e-12f, 0);
    case_layernorm(3, 3072, 1e-12f, 1);
    case_layernorm(250000, 7, 1e-5f, 1); /* many rows, fewer columns than lanes */

    case_act(XREM_ACT_GELU, 2 * 197, 3072);
    case_act(XREM_ACT_GELU, 1, 12345);
    case_act(XREM_ACT_RELU, 2 * 197, 3072);
    case_act(XREM_ACT_TANH, 37, 129);

    case_softmax(2 * 12 * 25, 577);   /* cross-attention rows */
    case_softmax(24 * 577, 25);
    case_softmax(1000000, 5);         /* a million rows */
    case_softmax(64, 3072);
    case_softmax(4, 30522);           /* vocabulary-sized rows */

    case_add(2 * 197, 768, 0);        /* bias-like broadcast */
    case_add(2, 197 * 768, 1);        /* position embeddings, in place */
    case_add(1, 37 * 65, 0);          /* same shape */
    case_add(100000, 3, 1);           /* tiny broadcast, rows beyond one grid dimension */

    case_l2norm(64, 256);
    case_l2norm(1000, 768);
    case_l2norm(300000, 3);

    case_embed(5000, 768, 300);
    case_embed(10, 5, 70000);         /* more ids than one grid dimension */
    case_embed(17, 40 * 768, 2 * 51); /* ITM pair gather: 51 candidates per image over 17 texts [L*C] */

    case_patchify(2, 3, 224, 224, 16);
    case_patchify(3, 2, 21, 35, 7);

    attention_cases("");
    /* the same on a backend whose attention scratch holds 16384 floats: row blocks and chunks */
    xrem_backend *gpu_big = gpu;
    setenv("XREM_CUDA_ATTN_SCRATCH_KB", "64", 1);
    xrem_status s = xrem_backend_create("cuda", 0, &gpu);
    unsetenv("XREM_CUDA_ATTN_SCRATCH_KB");
    if (s != XREM_OK) {
        fprintf(stderr, "second CUDA backend: %s\n", xrem_last_error());
        failures++;
        gpu = gpu_big;
    } else {
        attention_cases("64K ");
        xrem_backend_free(gpu);
        gpu = gpu_big;
    }

    xrem_backend_free(gpu);
    xrem_backend_free(cpu);
    printf("%d of %d cases failed\n", failures, cases);
    return failures ? 1 : 0;
}
