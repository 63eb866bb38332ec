/* A lock on an output location, held for a whole writing command (run, sweep, embed, eval), so
 * that two xrem processes never write the same outputs at once: the second one is refused.
 *
 *   xrem_outlock *lk = NULL;
 *   xrem_status s = xrem_outlock_acquire("RUN", &lk);   // RUN/ must exist: locks RUN/.xrem.lock
 *   ...write...
 *   xrem_outlock_release(lk);
 *
 * path an existing directory: the lock is the file `.xrem.lock` inside it; otherwise path names
 * a file to be written and the lock is `<path>.lock` beside it. flock(LOCK_EX | LOCK_NB): the lock
 * goes with the process (kill -9 included), so a crashed command never leaves it held — the file a
 * killed holder leaves behind is simply locked again (a stale lock is taken over). The holder writes
 * its pid into the file; a refused acquire names the location and that pid. The lock file is removed
 * on release; acquire re-checks that the file it locked is still the one at the path, so a release
 * racing with an acquire cannot hand out two locks. Local file systems only (flock over NFS is not
 * dependable).
 */
#ifndef XREM_CORE_OUTLOCK_H
#define XREM_CORE_OUTLOCK_H

#include "xrem/status.h"

typedef struct xrem_outlock xrem_outlock;

xrem_status xrem_outlock_acquire(const char *dir_or_file, xrem_outlock **lock);
void xrem_outlock_release(xrem_outlock *lock); /* NULL ok */

#endif
