/* scripts/bench_pipeline.py's NLI timer: times xrem_nli_classify on given pairs, BATCH pairs per call
 * (default 1: one pair per call, as the sequential stage-3 loop asks; see src/pipeline/filters.c).
 * Built by CMake beside xrem (target xrem_nli_timer, from the same xrem_lib), so it runs on every
 * build, CUDA enabled or not.
 *
 *   xrem_nli_timer NLI.h5 PAIRS THREADS MIN_CALLS [BATCH]
 *
 * PAIRS: premise\0hypothesis\0 repeated (UTF-8). One warm-up call on the first pair, then the pairs,
 * repeated until at least MIN_CALLS pairs were classified, BATCH at a time (the last group of a pass
 * may be smaller). Prints one JSON line: load_s, warmup_s, pairs, reps, calls (pairs classified),
 * batch, seconds (the timed loop), labels (one letter per pair of the last pass: e, n, c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "models/nli.h"
#include "xrem/status.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The whole file, NUL-terminated; the texts are its NUL-separated pieces. */
static char *read_pairs(const char *path, const char ***texts, int *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long sz = -1;
    if (!fseek(f, 0, SEEK_END) && (sz = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf) return NULL;
    buf[sz] = 0;
    int ns = 0;
    for (long i = 0; i < sz; i++) ns += !buf[i];
    const char **s = malloc(sizeof *s * (size_t)(ns + 1));
    if (!s) {
        free(buf);
        return NULL;
    }
    for (long i = 0, k = 0, st = 0; i < sz; i++)
        if (!buf[i]) {
            s[k++] = buf + st;
            st = i + 1;
        }
    *texts = s;
    *n = ns;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: xrem_nli_timer NLI.h5 PAIRS(NUL-separated) THREADS MIN_CALLS [BATCH]\n");
        return 2;
    }
    const char **s = NULL;
    int ns = 0;
    char *buf = read_pairs(argv[2], &s, &ns);
    const int np = ns / 2, minc = atoi(argv[4]), B = argc == 6 ? atoi(argv[5]) : 1;
    if (!buf || np < 1 || B < 1) {
        fprintf(stderr, "xrem_nli_timer: %s: no pairs read (or BATCH < 1)\n", argv[2]);
        return 2;
    }
    /* premises and hypotheses apart, so BATCH consecutive pairs are two arrays */
    const char **prem = malloc(sizeof *prem * (size_t)np), **hyp = malloc(sizeof *hyp * (size_t)np);
    int *lab = malloc(sizeof *lab * (size_t)np);
    char *labels = calloc((size_t)np + 1, 1);
    if (!prem || !hyp || !lab || !labels) return 2;
    for (int i = 0; i < np; i++) {
        prem[i] = s[2 * i];
        hyp[i] = s[2 * i + 1];
    }
    xrem_backend *be = NULL;
    xrem_nli *m = NULL;
    double t0 = now();
    if (xrem_backend_cpu_create(atoi(argv[3]), &be) || xrem_nli_load(argv[1], be, &m)) {
        fprintf(stderr, "%s\n", xrem_last_error());
        return 1;
    }
    const double load = now() - t0;
    t0 = now();
    if (xrem_nli_classify(m, prem, hyp, 1, XREM_NLI_MAX_LEN, NULL, lab)) {
        fprintf(stderr, "%s\n", xrem_last_error());
        return 1;
    }
    const double warm = now() - t0;
    int reps = (minc + np - 1) / np;
    if (reps < 1) reps = 1;
    t0 = now();
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < np; i += B) {
            const int k = np - i < B ? np - i : B;
            if (xrem_nli_classify(m, prem + i, hyp + i, k, XREM_NLI_MAX_LEN, NULL, lab + i)) {
                fprintf(stderr, "%s\n", xrem_last_error());
                return 1;
            }
        }
    const double t = now() - t0;
    for (int i = 0; i < np; i++) labels[i] = "enc?"[lab[i] >= 0 && lab[i] < 3 ? lab[i] : 3];
    printf("{\"load_s\":%.4f,\"warmup_s\":%.4f,\"pairs\":%d,\"reps\":%d,\"calls\":%d,\"batch\":%d,\"seconds\":%.6f,"
           "\"labels\":\"%s\"}\n",
           load, warm, np, reps, np * reps, B, t, labels);
    xrem_nli_free(m);
    xrem_backend_free(be);
    free(prem);
    free(hyp);
    free(lab);
    free(labels);
    free(s);
    free(buf);
    return 0;
}
