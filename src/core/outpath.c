#include "core/outpath.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

xrem_status xrem_outdir_check(const char *dir)
{
    char p[4096];
    if (!dir || !*dir) return xrem_fail(XREM_ERR_ARG, "the output folder is empty");
    if (strlen(dir) >= sizeof p) return xrem_fail(XREM_ERR_ARG, "%s: path too long", dir);
    strcpy(p, dir);
    for (;;) {
        struct stat st;
        if (stat(p, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                return xrem_fail(XREM_ERR_IO, "%s: cannot hold the output folder %s: %s is not a directory", dir, dir,
                                 p);
            if (access(p, W_OK | X_OK) != 0)
                return xrem_fail(XREM_ERR_IO, "%s: cannot write the output folder %s (%s)", p, dir, strerror(errno));
            return XREM_OK;
        }
        if (errno != ENOENT) return xrem_fail(XREM_ERR_IO, "%s: %s (output folder %s)", p, strerror(errno), dir);
        char *slash = strrchr(p, '/');
        while (slash && slash > p && slash[1] == 0) { /* trailing slashes */
            *slash = 0;
            slash = strrchr(p, '/');
        }
        if (!slash) {
            strcpy(p, ".");
            continue;
        }
        if (slash == p)
            slash[1] = 0; /* the root */
        else
            *slash = 0;
    }
}

xrem_status xrem_out_not_input(const char *dir, const char *name, const char *const *inputs)
{
    char out[4200];
    snprintf(out, sizeof out, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
    struct stat so;
    if (stat(out, &so) != 0) return XREM_OK;
    for (int i = 0; inputs[i]; i++) {
        struct stat si;
        if (!*inputs[i] || stat(inputs[i], &si) != 0) continue;
        if (si.st_dev == so.st_dev && si.st_ino == so.st_ino)
            return xrem_fail(XREM_ERR_ARG, "%s: this output would replace the input %s; choose another output", out,
                             inputs[i]);
    }
    return XREM_OK;
}
