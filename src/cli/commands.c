#include "cli/commands.h"

#include <stdio.h>

#ifdef XREM_HAVE_EVAL
#include "cli/cmd_eval.h"
#endif

#ifndef XREM_GIT_COMMIT
#define XREM_GIT_COMMIT "unknown"
#endif

int xrem_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
#ifdef XREM_HAVE_CUDA
    const char *cuda = "cuda";
#else
    const char *cuda = "no-cuda";
#endif
    printf("xrem 0.1.0 (commit %s, %s)\n", XREM_GIT_COMMIT, cuda);
    return 0;
}

const xrem_cli_command xrem_cli_commands[] = {
    {"inspect", xrem_cmd_inspect},
    {"forward", xrem_cmd_forward},
    {"bench", xrem_cmd_bench},
    {"prep", xrem_cmd_prep},
    {"embed", xrem_cmd_embed},
    {"run", xrem_cmd_run},
    {"demo", xrem_cmd_demo},
    {"sweep", xrem_cmd_sweep},
    {"dev", xrem_cmd_dev},
#ifdef XREM_HAVE_EVAL
    {"eval", xrem_cmd_eval},
#endif
    {"version", xrem_cmd_version},
    {0, 0},
};
