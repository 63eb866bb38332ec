/* LD_PRELOAD shim for the disk-full and interruption tests: makes writes to chosen files fail
 * with ENOSPC (or stall, so the test can kill the process mid-write) after a byte budget.
 *
 *   XREM_SHIM_MATCH   substring of the path; only files opened for writing whose path contains
 *                     it are watched (unset: the shim does nothing)
 *   XREM_SHIM_AFTER   bytes the watched files may take in total before writes fail (default 0)
 *   XREM_SHIM_MODE    "enospc" (default): the write that crosses the budget writes what fits and
 *                     later ones fail with ENOSPC, like a full disk. "stall": that write first
 *                     creates the file named by XREM_SHIM_READY, then sleeps until killed.
 *   XREM_SHIM_REPORT  at exit, append "<pid> <bytes written to watched files>" to this file (a
 *                     test measures a good run this way, then sets budgets below it; children
 *                     inherit the variable and exit first, so the parent's line is the last)
 *
 * Covers open/openat/creat (what libhdf5's sec2 driver uses), dup/dup2/dup3, write/pwrite/writev, ftruncate
 * (growing a watched file counts the new bytes, as on a filesystem without sparse files), and fopen:
 * a watched fopen returns an fopencookie stream whose writes go through the same budget, since
 * glibc's stdio writes through internal calls that a preload cannot see. fileno() of such a
 * stream gives the real descriptor so fsync works. Not thread-safe beyond what the tests need
 * (xrem writes files from one thread).
 *
 * Built by CMake as libxrem_shim_enospc.so (tests only, never sanitised: a sanitised build preloads
 * its sanitizer runtime first, then this, see tests/test_diskfull.sh); used by tests/test_diskfull.sh.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SHIM_MAX_FD 4096
#define SHIM_MAX_STREAMS 64

static unsigned char watched[SHIM_MAX_FD];
static long long budget_used;
static struct {
    FILE *f;
    int fd;
} streams[SHIM_MAX_STREAMS];

/* open(2)'s optional third argument, present when the flags create a file */
#define SHIM_OPEN_MODE(mode, flags)                                                                                    \
    mode_t mode = 0;                                                                                                   \
    if ((flags) & (O_CREAT | O_TMPFILE)) {                                                                             \
        va_list ap;                                                                                                    \
        va_start(ap, flags);                                                                                           \
        mode = (mode_t)va_arg(ap, int);                                                                                \
        va_end(ap);                                                                                                    \
    }
#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

static int shim_matches(const char *path, int flags)
{
    const char *m = getenv("XREM_SHIM_MATCH");
    if (!m || !*m || !path) return 0;
    if ((flags & O_ACCMODE) == O_RDONLY) return 0;
    return strstr(path, m) != NULL;
}

static void shim_watch(int fd, const char *path, int flags)
{
    if (fd >= 0 && fd < SHIM_MAX_FD) watched[fd] = (unsigned char)shim_matches(path, flags);
}

/* How many of n bytes the next write to fd may take; 0 with errno set when none. */
static size_t shim_allow(int fd, size_t n)
{
    if (fd < 0 || fd >= SHIM_MAX_FD || !watched[fd] || n == 0) return n;
    const char *a = getenv("XREM_SHIM_AFTER");
    long long limit = a ? atoll(a) : 0, left = limit - budget_used;
    if (left >= (long long)n) {
        budget_used += (long long)n;
        return n;
    }
    const char *mode = getenv("XREM_SHIM_MODE");
    if (mode && strcmp(mode, "stall") == 0) {
        const char *ready = getenv("XREM_SHIM_READY");
        if (ready) {
            int r = REAL(open)(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (r >= 0) REAL(close)(r);
        }
        for (;;) {
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
        }
    }
    if (left > 0) {
        budget_used += left;
        return (size_t)left;
    }
    errno = ENOSPC;
    return 0;
}

int open(const char *path, int flags, ...)
{
    SHIM_OPEN_MODE(mode, flags);
    int fd = REAL(open)(path, flags, mode);
    shim_watch(fd, path, flags);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    SHIM_OPEN_MODE(mode, flags);
    int fd = REAL(open64)(path, flags, mode);
    shim_watch(fd, path, flags);
    return fd;
}

int openat(int dir, const char *path, int flags, ...)
{
    SHIM_OPEN_MODE(mode, flags);
    int fd = REAL(openat)(dir, path, flags, mode);
    shim_watch(fd, path, flags);
    return fd;
}

int creat(const char *path, mode_t mode)
{
    return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int close(int fd)
{
    if (fd >= 0 && fd < SHIM_MAX_FD) watched[fd] = 0;
    return REAL(close)(fd);
}

/* A duplicate of a watched descriptor is watched (dd and shells dup2 the file onto stdout). */
static int shim_dup_to(int from, int to)
{
    if (to >= 0 && to < SHIM_MAX_FD) watched[to] = from >= 0 && from < SHIM_MAX_FD ? watched[from] : 0;
    return to;
}

int dup(int fd)
{
    return shim_dup_to(fd, REAL(dup)(fd));
}

int dup2(int fd, int to)
{
    return shim_dup_to(fd, REAL(dup2)(fd, to));
}

int dup3(int fd, int to, int flags)
{
    return shim_dup_to(fd, REAL(dup3)(fd, to, flags));
}

ssize_t write(int fd, const void *buf, size_t n)
{
    size_t k = shim_allow(fd, n);
    if (n && !k) return -1;
    return REAL(write)(fd, buf, k);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    size_t k = shim_allow(fd, n);
    if (n && !k) return -1;
    return REAL(pwrite)(fd, buf, k, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    size_t k = shim_allow(fd, n);
    if (n && !k) return -1;
    return REAL(pwrite64)(fd, buf, k, off);
}

static int shim_grow(int fd, off_t len)
{
    struct stat st;
    if (fd < 0 || fd >= SHIM_MAX_FD || !watched[fd] || fstat(fd, &st) != 0 || len <= st.st_size) return 0;
    size_t n = (size_t)(len - st.st_size);
    return shim_allow(fd, n) == n ? 0 : (errno = ENOSPC, -1);
}

int ftruncate(int fd, off_t len)
{
    if (shim_grow(fd, len)) return -1;
    return REAL(ftruncate)(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
    if (shim_grow(fd, (off_t)len)) return -1;
    return REAL(ftruncate64)(fd, len);
}

__attribute__((destructor)) static void shim_report(void)
{
    const char *r = getenv("XREM_SHIM_REPORT");
    if (!r || !*r) return;
    int fd = REAL(open)(r, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return;
    char b[64];
    int n = snprintf(b, sizeof b, "%ld %lld\n", (long)getpid(), budget_used);
    if (n > 0 && REAL(write)(fd, b, (size_t)n) < 0) n = 0;
    REAL(close)(fd);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    /* Write the vectors one by one so a partial budget behaves like a short write. */
    ssize_t total = 0;
    for (int i = 0; i < cnt; i++) {
        ssize_t r = write(fd, iov[i].iov_base, iov[i].iov_len);
        if (r < 0) return total ? total : -1;
        total += r;
        if ((size_t)r < iov[i].iov_len) break;
    }
    return total;
}

/* ---- stdio streams ------------------------------------------------------------------------------ */

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
    int fd = (int)(intptr_t)c;
    size_t done = 0;
    while (done < n) {
        ssize_t r = write(fd, buf + done, n - done);
        if (r <= 0) return done ? (ssize_t)done : -1;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

static ssize_t cookie_read(void *c, char *buf, size_t n)
{
    return read((int)(intptr_t)c, buf, n);
}

static int cookie_seek(void *c, off64_t *pos, int whence)
{
    off64_t r = lseek64((int)(intptr_t)c, *pos, whence);
    if (r < 0) return -1;
    *pos = r;
    return 0;
}

static int cookie_close(void *c)
{
    int fd = (int)(intptr_t)c;
    for (int i = 0; i < SHIM_MAX_STREAMS; i++)
        if (streams[i].f && streams[i].fd == fd) streams[i].f = NULL;
    return close(fd);
}

static FILE *shim_fopen(const char *path, const char *mode, FILE *(*real)(const char *, const char *))
{
    int w = strchr(mode, 'w') != NULL, a = strchr(mode, 'a') != NULL, plus = strchr(mode, '+') != NULL;
    int flags = (w || a) ? (plus ? O_RDWR : O_WRONLY) | O_CREAT | (w ? O_TRUNC : O_APPEND) : O_RDONLY;
    if (!shim_matches(path, flags)) return real(path, mode);
    int fd = open(path, flags | O_CLOEXEC, 0666);
    if (fd < 0) return NULL;
    cookie_io_functions_t io = {cookie_read, cookie_write, cookie_seek, cookie_close};
    FILE *f = fopencookie((void *)(intptr_t)fd, mode, io);
    if (!f) {
        close(fd);
        return NULL;
    }
    for (int i = 0; i < SHIM_MAX_STREAMS; i++)
        if (!streams[i].f) {
            streams[i].f = f;
            streams[i].fd = fd;
            break;
        }
    return f;
}

FILE *fopen(const char *path, const char *mode)
{
    return shim_fopen(path, mode, REAL(fopen));
}

FILE *fopen64(const char *path, const char *mode)
{
    return shim_fopen(path, mode, REAL(fopen64));
}

int fileno(FILE *f)
{
    for (int i = 0; i < SHIM_MAX_STREAMS; i++)
        if (streams[i].f == f) return streams[i].fd;
    return REAL(fileno)(f);
}
