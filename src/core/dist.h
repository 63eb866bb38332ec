/* Several xrem processes working on one command (`mpirun -np N xrem run ...`). Every MPI call of
 * xrem is in core/dist.c; the rest of xrem sees this interface. A build without MPI, and a process
 * not started by a launcher (mpirun, srun), is rank 0 of 1 and every call here is a no-op.
 *
 *   xrem_dist_init();                        // CLI main: MPI_Init when launched by mpirun/srun
 *   s = xrem_dist_agree(s);                  // every rank: the first failing rank's error, on all
 *   if (xrem_dist_rank() == 0) ...write...
 *   xrem_dist_finalize();
 */
#ifndef XREM_CORE_DIST_H
#define XREM_CORE_DIST_H

#include "xrem/status.h"

/* 1 when the environment says a launcher started this process (OMPI_COMM_WORLD_SIZE, PMI_SIZE,
 * PMIX_RANK): only then is MPI initialised, so a plain `xrem ...` never starts an MPI runtime. */
int xrem_dist_launched(void);
/* MPI_Init when launched and built with MPI; 0, or -1 with xrem_last_error() set. */
int xrem_dist_init(void);
void xrem_dist_finalize(void);
int xrem_dist_rank(void); /* 0 unless initialised */
int xrem_dist_size(void); /* 1 unless initialised */
/* the rank among those on this node (for picking a GPU); 0 when not launched */
int xrem_dist_local_rank(void);
/* Collective: every rank passes its own status. XREM_OK when all succeeded; otherwise every rank
 * returns the lowest failing rank's code, with its message prefixed "rank R of N: ". */
xrem_status xrem_dist_agree(xrem_status mine);
/* 0 on a rank other than 0 whose last failure came from another rank through xrem_dist_agree
 * (rank 0 prints it, so the job prints it once); 1 otherwise. */
int xrem_dist_should_print(void);

#endif
