#include "cli/args.h"
#include "backend.h"
#include "core/dist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int in_list(const char *s, const char *const *list)
{
    for (; list && *list; list++)
        if (!strcmp(s, *list)) return 1;
    return 0;
}

const char *xrem_arg_str(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return NULL;
}

int xrem_arg_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], name)) return 1;
    return 0;
}

long xrem_arg_int(int argc, char **argv, const char *name, long def, long lo, long hi, int *ok)
{
    const char *v = xrem_arg_str(argc, argv, name);
    if (!v) return def;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "xrem %s: %s must be an integer in %ld..%ld, got '%s'\n", argv[0], name, lo, hi, v);
        *ok = 0;
        return def;
    }
    return x;
}

int xrem_arg_check(int argc, char **argv, const char *cmd, const char *const *known, const char *const *bool_flags)
{
    for (int i = 1; i < argc; i++)
        for (int j = 1; j < i; j++)
            if (argv[i][0] == '-' && argv[i][1] == '-' && !strcmp(argv[i], argv[j]) &&
                (in_list(argv[i], known) || in_list(argv[i], bool_flags))) {
                fprintf(stderr, "xrem %s: %s given twice\n", cmd, argv[i]);
                return 1;
            }
    for (int i = 1; i < argc; i++) {
        if (in_list(argv[i], bool_flags)) continue;
        if (in_list(argv[i], known)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "xrem %s: %s needs a value\n", cmd, argv[i]);
                return 1;
            }
            i++;
            continue;
        }
        if (argv[i][0] == '-') fprintf(stderr, "xrem %s: unknown option '%s'\n", cmd, argv[i]);
        else fprintf(stderr, "xrem %s: unexpected argument '%s'\n", cmd, argv[i]);
        return 1;
    }
    return 0;
}

const char *xrem_arg_backend(int argc, char **argv)
{
    const char *v = xrem_arg_str(argc, argv, "--backend");
    return v ? v : "cpu";
}

/* Under MPI, a bare "cuda" means this rank's GPU: the node-local rank modulo the GPUs this process
 * sees (so one rank per GPU, and several ranks share a GPU when there are more ranks than GPUs; under
 * srun --gpus-per-task=1 each rank sees one GPU, its cuda:0). */
static const char *xrem__rank_device(const char *name, char *buf, size_t cap)
{
    if (strcmp(name, "cuda") || xrem_dist_size() == 1) return name;
    const int n = xrem_backend_cuda_count();
    if (n < 1) return name; /* xrem_backend_create says why there is no GPU */
    snprintf(buf, cap, "cuda:%d", xrem_dist_local_rank() % n);
    return buf;
}

int xrem_arg_backend_create(int argc, char **argv, const char *cmd, int threads, xrem_backend **be)
{
    xrem_threads_set(threads); /* --threads bounds the whole command, host-side loops too */
    char dev[32];
    if (xrem_backend_create(xrem__rank_device(xrem_arg_backend(argc, argv), dev, sizeof dev), threads, be) == XREM_OK)
        return 0;
    fprintf(stderr, "xrem %s: %s\n", cmd, xrem_last_error());
    return 1;
}

int xrem_arg_job_opts(int argc, char **argv, const char *cmd, xrem_job_kind kind, const char *const *known,
                      const char *const *bool_flags, xrem_job_opts **o)
{
    xrem_status s = xrem_job_opts_create(kind, o);
    for (int i = 0; !s && known[i]; i++) {
        if (!strcmp(known[i], "--threads") || !strcmp(known[i], "--backend")) continue;
        const char *v = xrem_arg_str(argc, argv, known[i]);
        if (v) s = xrem_job_opts_set(*o, known[i] + 2, v);
    }
    for (int i = 0; !s && bool_flags && bool_flags[i]; i++)
        if (xrem_arg_flag(argc, argv, bool_flags[i])) s = xrem_job_opts_set(*o, bool_flags[i] + 2, "1");
    if (!s) s = xrem_job_opts_check(*o);
    if (!s) return 0;
    fprintf(stderr, "xrem %s: %s\n", cmd, xrem_last_error());
    xrem_job_opts_free(*o);
    *o = NULL;
    return s == XREM_ERR_ARG ? 2 : 1;
}
