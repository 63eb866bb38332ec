/* The one file holding MPI calls (see dist.h). Built with XREM_HAVE_MPI when CMake found MPI. */
#include "core/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef XREM_HAVE_MPI
#include <mpi.h>
#endif

/* dist_failed: an agreed failure happened; every rank holds it, so later agrees need no message */
static int dist_rank = 0, dist_size = 1, dist_quiet = 0, dist_failed = 0;
#ifdef XREM_HAVE_MPI
static int dist_active = 0; /* MPI_Init was called */
#endif

int xrem_dist_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

int xrem_dist_init(void)
{
#ifdef XREM_HAVE_MPI
    if (!xrem_dist_launched() || dist_active) return 0;
    int done = 0;
    MPI_Initialized(&done);
    if (!done && MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        xrem_fail(XREM_ERR_DEVICE, "MPI_Init failed");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &dist_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &dist_size);
    dist_active = 1;
#else
    /* N copies of a build without MPI would each run everything into the same --out */
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", NULL};
    for (int i = 0; vars[i]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 1) {
            xrem_fail(XREM_ERR_UNSUPPORTED,
                      "started as one of %s processes (%s), but this xrem was built without MPI "
                      "(configure with -DXREM_MPI=ON)",
                      v, vars[i]);
            return -1;
        }
    }
#endif
    return 0;
}

void xrem_dist_finalize(void)
{
#ifdef XREM_HAVE_MPI
    if (dist_active) MPI_Finalize();
    dist_active = 0;
#endif
}

int xrem_dist_rank(void)
{
    return dist_rank;
}

int xrem_dist_size(void)
{
    return dist_size;
}

int xrem_dist_local_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID",
                                       "PMI_LOCAL_RANK", NULL};
    for (int i = 0; vars[i]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v);
    }
    return 0;
}

xrem_status xrem_dist_agree(xrem_status mine)
{
    if (dist_size == 1 || (mine && dist_failed)) return mine;
#ifdef XREM_HAVE_MPI
    /* the lowest failing rank speaks for the job: its code and message go to every rank */
    int me = mine ? dist_rank : dist_size, first = dist_size;
    MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == dist_size) return XREM_OK;
    struct {
        int code;
        char text[2048];
    } msg = {0};
    if (dist_rank == first) {
        msg.code = (int)mine;
        snprintf(msg.text, sizeof msg.text, "%s", xrem_last_error());
    }
    MPI_Bcast(&msg, (int)sizeof msg, MPI_BYTE, first, MPI_COMM_WORLD);
    dist_quiet = dist_rank != 0;
    dist_failed = 1;
    return xrem_fail((xrem_status)msg.code, "rank %d of %d: %s", first, dist_size, msg.text);
#else
    return mine;
#endif
}

int xrem_dist_should_print(void)
{
    return !dist_quiet;
}
