/* xrem bench vit|bert|itm: forward throughput on random full-size weights (ViT-B/16, BERT-base),
 * one JSON object per run, so results can be collected under results/. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "models/albef_random.h"

#ifndef XREM_GIT_COMMIT
#define XREM_GIT_COMMIT "unknown"
#endif

char *openblas_get_corename(void); /* OpenBLAS extension */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void machine_name(char *buf, size_t cap)
{
    snprintf(buf, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p += 2;
                p[strcspn(p, "\n")] = 0;
                snprintf(buf, cap, "%s (%ld cores)", p, sysconf(_SC_NPROCESSORS_ONLN));
            }
            break;
        }
    if (f) fclose(f);
}

typedef struct {
    const char *what;
    int res, batch, threads, iters, len;
    int skewed;      /* per-sequence lengths drawn like IU reports; len = the longest drawn */
    double mean_len; /* real tokens per sequence */
    const char *backend;
} bench_cfg;

/* Deterministic lengths like the IU corpus's report lengths (mean 30 tokens, 99th percentile 113,
 * maximum 144): a log-normal with median 24 and sigma 0.666, clamped to [3, 144]. Returns the longest. */
static int bench_skewed_lengths(int *len, int n)
{
    uint64_t st = 0x9E3779B97F4A7C15ull;
    int longest = 1;
    for (int i = 0; i < n; i++) {
        double u[2];
        for (int k = 0; k < 2; k++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            u[k] = ((double)(st >> 11) + 0.5) / 9007199254740992.0;
        }
        const double z = sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
        const double l = exp(log(24.05) + 0.6655 * z);
        len[i] = l < 3 ? 3 : (l > 144 ? 144 : (int)lround(l));
        if (len[i] > longest) longest = len[i];
    }
    return longest;
}

static xrem_status bench_run(xrem_albef *m, bench_cfg *b, double *per_iter)
{
    int *lens = malloc(sizeof(int) * (size_t)b->batch);
    if (!lens) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int i = 0; i < b->batch; i++)
        lens[i] = b->len;
    if (b->skewed) b->len = bench_skewed_lengths(lens, b->batch);
    double total = 0;
    for (int i = 0; i < b->batch; i++)
        total += lens[i];
    b->mean_len = total / b->batch;
    const int R = xrem_albef_vit(m)->cfg.res, E = xrem_albef_embed_dim(m), L = b->len;
    const int nimg = strcmp(b->what, "bert") ? (strcmp(b->what, "itm") ? b->batch : 1) : 0;
    float *img = calloc((size_t)(nimg ? nimg : 1) * R * R, sizeof(float));
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)b->batch * L),
            *mask = malloc(sizeof(int32_t) * (size_t)b->batch * L);
    float *out = malloc(sizeof(float) * (size_t)b->batch * (E > 3 ? E : 3) + 64);
    float *emb = NULL;
    if (!img || !ids || !mask || !out) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nimg * R * R; i++)
        img[i] = (float)((i * 2654435761u >> 16) % 255) / 64.0f - 2.0f;
    for (int i = 0; i < b->batch * L; i++) {
        const int real = i % L < lens[i / L];
        ids[i] = i % L ? (real ? 1000 + (int32_t)((i * 7919u) % 28000) : 0) : 101;
        mask[i] = real;
    }
    free(lens);
    xrem_status s = XREM_OK;
    double t0 = 0;
    for (int it = -1; !s && it < b->iters; it++) { /* iteration -1 warms up (arena, caches) */
        if (it == 0) t0 = now_s();
        if (!strcmp(b->what, "vit"))
            s = xrem_albef_encode_images(m, img, b->batch, 1, emb, E ? out : NULL, NULL, NULL);
        else if (!strcmp(b->what, "bert"))
            s = xrem_albef_encode_texts(m, ids, mask, b->batch, L, out, NULL, NULL);
        else
            s = xrem_albef_itm(m, img, 1, 1, ids, mask, b->batch, L, out, NULL, NULL);
    }
    *per_iter = (now_s() - t0) / b->iters;
    free(img);
    free(ids);
    free(mask);
    free(out);
    return s;
}

static const char *const bench_known[] = {"--res", "--batch",   "--threads", "--iters",
                                          "--len", "--backend", "--weights", NULL};
static const char *const bench_flags[] = {"--json", "--skewed", NULL};

static int bench_usage(FILE *out, int rc)
{
    fprintf(out, "usage: xrem bench vit|bert|itm [--res R] [--batch B] [--threads N] [--iters I] [--len L] [--skewed]\n"
                 "                  " XREM_ARG_BACKEND_USAGE " [--weights W.h5] [--json]\n"
                 "  --weights: time this converted model instead of random full-size weights\n"
                 "  --skewed: bert, itm: per-sequence lengths drawn like IU reports (mean 30, max 144 tokens),\n"
                 "            padded to the longest drawn (--len is then ignored)\n"
                 "  vit: images/s of the ViT-B/16 (default --res 384 --batch 8)\n"
                 "  bert: text-mode sequences/s of BERT-base (default --batch 64 --len 25)\n"
                 "  itm: (image, report) pairs/s of the ITM model, one image with --batch candidates\n"
                 "       (default 51, X-REM's K1+1) of --len tokens (default 40)\n");
    return rc;
}

int xrem_cmd_bench(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) return bench_usage(stdout, 0);
    if (argc < 2 || (strcmp(argv[1], "vit") && strcmp(argv[1], "bert") && strcmp(argv[1], "itm")))
        return bench_usage(stderr, 2);
    if (xrem_arg_check(argc - 1, argv + 1, "bench", bench_known, bench_flags)) return 2;
    bench_cfg b = {argv[1], 0, 0, 0, 0, 0, 0, 0, NULL};
    int ok = 1, is_bert = !strcmp(b.what, "bert"), is_itm = !strcmp(b.what, "itm");
    b.res = (int)xrem_arg_int(argc, argv, "--res", is_itm ? 384 : 384, 16, 4096, &ok);
    b.batch = (int)xrem_arg_int(argc, argv, "--batch", is_bert ? 64 : (is_itm ? 51 : 8), 1, 4096, &ok);
    b.threads = (int)xrem_arg_int(argc, argv, "--threads", 0, 0, 1024, &ok);
    b.iters = (int)xrem_arg_int(argc, argv, "--iters", 3, 1, 100000, &ok);
    b.len = (int)xrem_arg_int(argc, argv, "--len", is_itm ? 40 : 25, 1, 512, &ok);
    b.skewed = xrem_arg_flag(argc, argv, "--skewed");
    b.backend = xrem_arg_backend(argc, argv);
    if (!ok) return 2;
    if (b.res % 16) {
        fprintf(stderr, "xrem bench: --res %d is not a multiple of the patch size 16\n", b.res);
        return 2;
    }
    char path[256], machine[256];
    snprintf(path, sizeof path, "%s/xrem-bench-%ld.h5", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    machine_name(machine, sizeof machine);
    xrem_albef_random_spec spec = xrem_albef_random_full(is_itm ? XREM_ALBEF_ITM : XREM_ALBEF_RETRIEVAL, 1234);
    xrem_backend *be = NULL;
    xrem_albef *m = NULL;
    double per = 0;
    if (xrem_arg_backend_create(argc, argv, "bench", b.threads, &be)) return 1;
    xrem_status s = XREM_OK;
    const char *given = xrem_arg_str(argc, argv, "--weights");
    if (!s) {
        b.threads = be->threads;
        if (!given) fprintf(stderr, "xrem bench: writing random full-size weights to %s\n", path);
        if (!given) s = xrem_albef_random_write(path, &spec, NULL, 0);
    }
    if (!s) s = xrem_albef_load(given ? given : path, be, is_bert ? 0 : b.res, &m);
    if (!given) remove(path);
    const int kind_itm = m && xrem_albef_kind_of(m) == XREM_ALBEF_ITM;
    if (!s && is_bert && kind_itm) s = xrem_fail(XREM_ERR_ARG, "bench bert needs retrieval weights (text features)");
    if (!s && is_itm && !kind_itm && !xrem_albef_has_itm_head(m))
        s = xrem_fail(XREM_ERR_ARG, "bench itm needs ITM weights (or a retrieval model with itm_head)");
    if (!s) s = bench_run(m, &b, &per);
    if (s) {
        fprintf(stderr, "xrem bench: %s\n", xrem_last_error());
        xrem_albef_free(m);
        xrem_backend_free(be);
        return 1;
    }
    const char *unit = is_bert ? "sequences_per_s" : (is_itm ? "pairs_per_s" : "images_per_s");
    double rate = b.batch / per;
    if (xrem_arg_flag(argc, argv, "--json"))
        printf("{\"bench\":\"%s\",\"backend\":\"%s\",\"res\":%d,\"batch\":%d,\"len\":%d,\"mean_len\":%.2f,\"threads\":%"
               "d,\"iters\":%d,"
               "\"seconds_per_iter\":%.6f,\"%s\":%.3f,\"weights\":\"%s\",\"blas_core\":\"%s\",\"machine\":\"%s\","
               "\"commit\":\"%s\"}\n",
               b.what, b.backend, is_bert ? 0 : b.res, b.batch, is_bert || is_itm ? b.len : 0, b.mean_len, b.threads,
               b.iters, per, unit, rate, given ? given : "random", openblas_get_corename(), machine, XREM_GIT_COMMIT);
    else
        printf("%s on %s: %.3f %s (batch %d, len %d, mean len %.1f, %d threads, %.3f s/iter) on %s\n", b.what,
               b.backend, rate, unit, b.batch, b.len, b.mean_len, b.threads, per, machine);
    xrem_albef_free(m);
    xrem_backend_free(be);
    return 0;
}
