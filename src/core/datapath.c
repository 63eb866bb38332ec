#include "core/datapath.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef XREM_INSTALL_DATADIR
#define XREM_INSTALL_DATADIR "/usr/local/share/xrem"
#endif
#ifndef XREM_SOURCE_DATADIR
#define XREM_SOURCE_DATADIR "data"
#endif

/* The directory of the running executable (Linux /proc), or "" when it cannot be read. */
static void exe_dir(char *d, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", d, cap - 1);
    d[n > 0 ? n : 0] = 0;
    char *slash = strrchr(d, '/');
    if (slash)
        *slash = 0;
    else
        d[0] = 0;
}

xrem_status xrem_data_find(const char *rel, char *out, size_t cap)
{
    char exe[PATH_MAX], cand[5][PATH_MAX + 64];
    exe_dir(exe, sizeof exe);
    int n = 0;
    if (exe[0]) {
        snprintf(cand[n++], sizeof cand[0], "%s/../share/xrem/%s", exe, rel);
        snprintf(cand[n++], sizeof cand[0], "%s/../data/%s", exe, rel);
    }
    snprintf(cand[n++], sizeof cand[0], "%s/%s", XREM_INSTALL_DATADIR, rel);
    snprintf(cand[n++], sizeof cand[0], "%s/%s", XREM_SOURCE_DATADIR, rel);
    snprintf(cand[n++], sizeof cand[0], "data/%s", rel);
    for (int i = 0; i < n; i++)
        if (access(cand[i], R_OK | X_OK) == 0) {
            if ((size_t)snprintf(out, cap, "%s", cand[i]) >= cap)
                return xrem_fail(XREM_ERR_ARG, "data path %s: longer than %zu bytes", cand[i], cap);
            return XREM_OK;
        }
    char tried[5 * (PATH_MAX + 64) + 16];
    size_t k = 0;
    for (int i = 0; i < n && k < sizeof tried; i++)
        k += (size_t)snprintf(tried + k, sizeof tried - k, "%s%s", i ? ", " : "", cand[i]);
    return xrem_fail(XREM_ERR_IO, "xrem's data directory '%s' not found; tried %s", rel, tried);
}
