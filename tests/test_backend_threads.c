/* The CPU backend leaves the process's thread settings alone (issue 9): with the caller's OpenMP
 * default and OpenBLAS count at 3, creating a 1-thread backend and running a GEMM (linear) and
 * attention on it must leave both at 3; the op's results are those of a 2-thread backend (same
 * GEMM inputs; OpenBLAS splits sgemm by output blocks, so the values are the same bit for bit on
 * these sizes, checked to 1e-6). xrem_threads_set, which the CLI calls for --threads, does set them. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "core/tensor.h"
#include "testutil.h"

void openblas_set_num_threads(int);
int openblas_get_num_threads(void);

static int run_ops(int threads, float *y_out, float *att_out)
{
    xrem_backend *be = NULL;
    CHECK_OK(xrem_backend_create("cpu", threads, &be));
    CHECK(omp_get_max_threads() == 3 && openblas_get_num_threads() == 3,
          "creating a %d-thread backend changed the process: OpenMP %d, OpenBLAS %d (want 3, 3)", threads,
          omp_get_max_threads(), openblas_get_num_threads());
    xrem_arena a;
    CHECK_OK(xrem_arena_init(&a, be, 8u << 20));
    const int64_t M = 96, K = 200, N = 130, T = 24, C = 64;
    xrem_tensor x = xrem_arena_f32_2d(&a, M, K), W = xrem_arena_f32_2d(&a, N, K), y = xrem_arena_f32_2d(&a, M, N);
    xrem_tensor q = xrem_arena_f32_3d(&a, 4, T, C), o = xrem_arena_f32_3d(&a, 4, T, C);
    srand(7);
    for (int64_t i = 0; i < M * K; i++)
        ((float *)x.data)[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int64_t i = 0; i < N * K; i++)
        ((float *)W.data)[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int64_t i = 0; i < 4 * T * C; i++)
        ((float *)q.data)[i] = (float)rand() / RAND_MAX - 0.5f;
    be->linear(be, &y, &x, &W, NULL);
    be->attention(be, &o, &q, 0, &q, 0, &q, 0, NULL, 4);
    CHECK_OK(be->sync(be));
    CHECK(omp_get_max_threads() == 3 && openblas_get_num_threads() == 3,
          "ops on a %d-thread backend changed the process: OpenMP %d, OpenBLAS %d (want 3, 3)", threads,
          omp_get_max_threads(), openblas_get_num_threads());
    memcpy(y_out, y.data, sizeof(float) * (size_t)(M * N));
    memcpy(att_out, o.data, sizeof(float) * (size_t)(4 * T * C));
    xrem_arena_release(&a);
    xrem_backend_free(be);
    return 0;
}

int main(void)
{
    omp_set_num_threads(3);
    openblas_set_num_threads(3);
    static float y1[96 * 130], y2[96 * 130], a1[4 * 24 * 64], a2[4 * 24 * 64];
    if (run_ops(1, y1, a1) || run_ops(2, y2, a2)) return 1;
    double dy = xrem_test_max_abs(y1, y2, 96 * 130, NULL), da = xrem_test_max_abs(a1, a2, 4 * 24 * 64, NULL);
    CHECK(dy <= 1e-6 && da <= 1e-6, "1 vs 2 threads: linear differs by %g, attention by %g", dy, da);
    xrem_threads_set(2);
    CHECK(omp_get_max_threads() == 2 && openblas_get_num_threads() == 2, "xrem_threads_set(2): OpenMP %d, OpenBLAS %d",
          omp_get_max_threads(), openblas_get_num_threads());
    printf("threads: process settings kept; 1 vs 2 threads differ by %g (linear), %g (attention)\n", dy, da);
    return xrem_test_failures ? 1 : 0;
}
