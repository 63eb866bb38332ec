/* xrem: the command-line front end. Each command parses its flags and calls the library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/dist.h"

static void xrem__usage(FILE *out)
{
    fprintf(out, "usage: xrem <command> [options]\n\ncommands:\n");
    for (const xrem_cli_command *c = xrem_cli_commands; c->name; c++)
        fprintf(out, "  %-8s %s\n", c->name, c->synopsis);
    fprintf(out, "\n'xrem <command> --help' shows a command's options.\n");
}

char *openblas_get_corename(void); /* OpenBLAS extension */

/* OpenBLAS picks its sgemm kernel from the CPU model when it loads. Models it does not know
 * (common under virtualisation and on CPUs newer than the library) fall back to the SSE3
 * "Prescott" kernel, several times slower than the AVX2/AVX-512 one the CPU can run. The choice
 * is made before main(), so when that happened we set OPENBLAS_CORETYPE and re-execute once. */
static void xrem__blas_kernel_fixup(char **argv)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (getenv("OPENBLAS_CORETYPE") || getenv("XREM_NO_BLAS_FIXUP")) return;
    const char *core = openblas_get_corename();
    if (!core || (strcasecmp(core, "prescott") && strcasecmp(core, "core2") && strcasecmp(core, "nehalem") &&
                  strcasecmp(core, "sandybridge")))
        return;
    const char *want = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                         : NULL;
    if (!want) return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    execv("/proc/self/exe", argv); /* on failure, carry on with the slow kernel */
#else
    (void)argv;
#endif
}

/* Under mpirun/srun only `xrem run` shares its work between the ranks; any other command would
 * have every rank write the same outputs, so it is refused. */
static int xrem__run_command(const xrem_cli_command *c, int argc, char **argv)
{
    if (xrem_dist_init()) {
        fprintf(stderr, "xrem %s: %s\n", c->name, xrem_last_error());
        return 1;
    }
    int rc;
    if (xrem_dist_size() > 1 && strcmp(c->name, "run")) {
        if (xrem_dist_rank() == 0)
            fprintf(stderr, "xrem %s: only 'xrem run' runs under MPI (%d ranks); start it as one process\n", c->name,
                    xrem_dist_size());
        rc = 2;
    } else
        rc = c->run(argc, argv);
    xrem_dist_finalize();
    return rc;
}

int main(int argc, char **argv)
{
    xrem__blas_kernel_fixup(argv);
    if (argc < 2) {
        xrem__usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        xrem__usage(stdout);
        return 0;
    }
    for (const xrem_cli_command *c = xrem_cli_commands; c->name; c++)
        if (!strcmp(c->name, cmd)) return xrem__run_command(c, argc - 1, argv + 1);
    fprintf(stderr, "xrem: unknown command '%s'\n", cmd);
    xrem__usage(stderr);
    return 2;
}
