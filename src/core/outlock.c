#include "core/outlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct xrem_outlock {
    int fd;
    char path[4200];
};

static xrem_status outlock_path(const char *target, char *buf, size_t cap, const char **where)
{
    struct stat st;
    int is_dir = stat(target, &st) == 0 && S_ISDIR(st.st_mode);
    int n = is_dir ? snprintf(buf, cap, "%s/.xrem.lock", target) : snprintf(buf, cap, "%s.lock", target);
    if (n < 0 || (size_t)n >= cap) return xrem_fail(XREM_ERR_IO, "%s: path too long for its lock file", target);
    *where = is_dir ? "folder" : "output";
    return XREM_OK;
}

/* the holder's pid, as it wrote it (0 when not yet written or unreadable) */
static long outlock_holder(int fd)
{
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    char *end;
    long pid = strtol(buf, &end, 10);
    return end != buf && *end == '\n' ? pid : 0;
}

static void outlock_write_pid(int fd)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    /* best effort: the pid only names the holder in the second process's message */
    if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) == n) return;
}

xrem_status xrem_outlock_acquire(const char *target, xrem_outlock **out)
{
    *out = NULL;
    xrem_outlock *lk = calloc(1, sizeof *lk);
    if (!lk) return xrem_fail(XREM_ERR_NOMEM, "out of memory");
    const char *where = "";
    xrem_status s = outlock_path(target, lk->path, sizeof lk->path, &where);
    for (int tries = 0; !s; tries++) {
        lk->fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (lk->fd < 0) {
            s = xrem_fail(XREM_ERR_IO, "%s: cannot create the lock file: %s", lk->path, strerror(errno));
            break;
        }
        if (flock(lk->fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            long pid = outlock_holder(lk->fd);
            close(lk->fd);
            char who[48] = "another xrem process";
            if (pid > 0) snprintf(who, sizeof who, "another xrem process (pid %ld)", pid);
            s = e == EWOULDBLOCK ? xrem_fail(XREM_ERR_IO,
                                             "%s: %s is writing to this %s (it holds %s); wait for it to finish or "
                                             "choose another output",
                                             target, who, where, lk->path)
                                 : xrem_fail(XREM_ERR_IO, "%s: cannot lock: %s", lk->path, strerror(e));
            break;
        }
        /* the holder before us may have removed the file between our open and flock */
        struct stat a, b;
        if (fstat(lk->fd, &a) == 0 && stat(lk->path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            outlock_write_pid(lk->fd); /* a file left by a killed holder is taken over here */
            *out = lk;
            return XREM_OK;
        }
        close(lk->fd);
        if (tries > 100) s = xrem_fail(XREM_ERR_IO, "%s: the lock file keeps being replaced", lk->path);
    }
    free(lk);
    return s;
}

void xrem_outlock_release(xrem_outlock *lk)
{
    if (!lk) return;
    unlink(lk->path); /* while still locked: a waiting acquirer sees the inode change and retries */
    close(lk->fd);
    free(lk);
}
