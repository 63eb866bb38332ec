/* xrem/backend.h — where the models run: one factory for every backend.
 *
 * Every xrem model (ALBEF retrieval and ITM, the NLI filter, CheXbert, BERTScore's encoder) runs
 * on a backend that the caller creates once and hands to the model's load function. The name
 * picks it:
 *
 *   "cpu"     BLAS and OpenMP on this machine; `threads` CPU threads (<= 0: all cores)
 *   "cuda"    the first GPU (same as "cuda:0"); `threads` is not used
 *   "cuda:N"  GPU N (0-based, as CUDA counts devices)
 *
 *   xrem_backend *be = NULL;
 *   if (xrem_backend_create("cuda", 0, &be) != XREM_OK) {
 *       fprintf(stderr, "xrem: %s\n", xrem_last_error()); // e.g. "backend 'cuda': no CUDA device ..."
 *       return 1;
 *   }
 *   xrem_albef *m;
 *   xrem_albef_load("retrieval.h5", be, 0, &m);  // the model uses be; it does not own it
 *   ...
 *   xrem_albef_free(m);
 *   xrem_backend_free(be);                       // after every model that uses it
 *
 * Failures (nothing is created, *be is NULL):
 *   XREM_ERR_ARG          unknown name (the message lists the valid ones), or device index N out
 *                         of range ("device index 3 out of range: 1 device(s)")
 *   XREM_ERR_UNSUPPORTED  "cuda" in a build without CUDA
 *   XREM_ERR_DEVICE       no CUDA driver, no device, or a GPU this build has no kernels for
 * The message is one line that says which, so a command can print it and exit before it writes
 * anything.
 *
 * Ownership: the caller owns *be and frees it with xrem_backend_free (NULL is fine) once no model
 * uses it. A backend is used from one host thread at a time.
 *
 * Threads: the CPU backend uses `threads` threads for its own ops and sets OpenBLAS to that count
 * only for the duration of each GEMM, restoring what the caller had; creating or using a backend
 * never changes the process's OpenMP or OpenBLAS settings. Host-side work outside a backend
 * (image resizing, BERTScore's greedy matching, the labelers) uses the process's OpenMP default;
 * a program that wants that bounded too calls xrem_threads_set (the xrem CLI does for --threads).
 */
#ifndef XREM_PUBLIC_BACKEND_H
#define XREM_PUBLIC_BACKEND_H

#ifdef __cplusplus
extern "C" {
#endif

#include "xrem/status.h"

typedef struct xrem_backend xrem_backend;

/* The names xrem_backend_create accepts, for usage lines: "cpu|cuda|cuda:N". */
#define XREM_BACKEND_NAMES "cpu|cuda|cuda:N"

/* Create the backend `name` ("cpu", "cuda", "cuda:N"; NULL means "cpu"). */
xrem_status xrem_backend_create(const char *name, int threads, xrem_backend **be);
/* Free a backend from xrem_backend_create; NULL is a no-op. */
void xrem_backend_free(xrem_backend *be);
/* Set the process-wide OpenMP default and OpenBLAS thread count to `threads` (> 0; <= 0 does
 * nothing). Process-wide by nature: the library itself never calls it. */
void xrem_threads_set(int threads);

#ifdef __cplusplus
}
#endif
#endif
