#include "core/tmpfile.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

xrem_status xrem_tmpfile_open(xrem_tmpfile *t, const char *path)
{
    memset(t, 0, sizeof *t);
    if ((size_t)snprintf(t->path, sizeof t->path, "%s", path) >= sizeof t->path)
        return xrem_fail(XREM_ERR_ARG, "%.200s...: path too long", path);
    snprintf(t->tmp, sizeof t->tmp, "%s.tmp.%ld", path, (long)getpid());
    if (!(t->f = fopen(t->tmp, "wb")))
        return xrem_fail(XREM_ERR_IO, "%s: cannot create (temporary %s): %s", path, t->tmp, strerror(errno));
    return XREM_OK;
}

xrem_status xrem_tmpfile_close(xrem_tmpfile *t)
{
    if (!t->f) return XREM_OK;
    int err = 0;
    if (fflush(t->f) != 0 || ferror(t->f)) err = errno ? errno : EIO;
    /* EINVAL: a file system without fsync (a pipe, some FUSE mounts) */
    if (!err && fsync(fileno(t->f)) != 0 && errno != EINVAL) err = errno;
    if (fclose(t->f) != 0 && !err) err = errno ? errno : EIO;
    t->f = NULL;
    if (!err) return XREM_OK;
    unlink(t->tmp);
    t->tmp[0] = 0;
    return xrem_fail(XREM_ERR_IO, "%s: write failed (temporary %s): %s", t->path, t->tmp, strerror(err));
}

xrem_status xrem_tmpfile_commit(xrem_tmpfile *t)
{
    if (!t->tmp[0]) return xrem_fail(XREM_ERR_ARG, "%s: nothing to commit", t->path);
    if (rename(t->tmp, t->path) == 0) {
        t->tmp[0] = 0;
        return XREM_OK;
    }
    int err = errno;
    unlink(t->tmp);
    t->tmp[0] = 0;
    return xrem_fail(XREM_ERR_IO, "%s: cannot rename %s into place: %s", t->path, t->tmp, strerror(err));
}

void xrem_tmpfile_discard(xrem_tmpfile *t)
{
    if (t->f) fclose(t->f);
    t->f = NULL;
    if (t->tmp[0]) unlink(t->tmp);
    t->tmp[0] = 0;
}

xrem_status xrem_tmpfile_finish(xrem_tmpfile *t, xrem_status s)
{
    if (s) {
        xrem_tmpfile_discard(t);
        return s;
    }
    s = xrem_tmpfile_close(t);
    return s ? s : xrem_tmpfile_commit(t);
}
