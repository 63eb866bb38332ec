/* A file that appears whole or not at all: written as "<path>.tmp.<pid>" next to path, flushed and
 * fsynced, and renamed onto path only when complete, so a crash, a full disk or an error never
 * leaves a partial final-named file (and `xrem run --resume` can tell its own stale temporaries by
 * the pid). Files that must appear together close each one first and commit them all at the end.
 *
 *   xrem_tmpfile t;
 *   xrem_status s = xrem_tmpfile_open(&t, "out/pred.csv");
 *   if (!s) { fputs("study_id,report\n", t.f); s = xrem_tmpfile_finish(&t, XREM_OK); }
 *
 * HDF5 outputs do the same inside src/core/h5.c (xrem_h5_create / xrem_h5_commit). */
#ifndef XREM_CORE_TMPFILE_H
#define XREM_CORE_TMPFILE_H

#include <stdio.h>

#include "xrem/status.h"

typedef struct {
    FILE *f;         /* open for writing between open and close */
    char path[4200]; /* the final name */
    char tmp[4240];  /* where it is written */
} xrem_tmpfile;

/* Create the temporary (messages name path and the temporary). */
xrem_status xrem_tmpfile_open(xrem_tmpfile *t, const char *path);
/* Flush, fsync and close; on a write error the temporary is removed and the error names path. */
xrem_status xrem_tmpfile_close(xrem_tmpfile *t);
/* Rename the closed temporary onto path; on failure it is removed. */
xrem_status xrem_tmpfile_commit(xrem_tmpfile *t);
/* Close if open and remove the temporary (path is untouched). Safe on a zeroed or finished t. */
void xrem_tmpfile_discard(xrem_tmpfile *t);
/* s == XREM_OK: close and commit; else discard. Returns s or the first failure of close/commit. */
xrem_status xrem_tmpfile_finish(xrem_tmpfile *t, xrem_status s);

#endif
