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

/* The usage text is made from this table, so a command cannot be missing from `xrem --help`. */
const xrem_cli_command xrem_cli_commands[] = {
    {"prep", xrem_cmd_prep, "--jpg-root DIR --split S.csv --out cxr.h5 ...   MIMIC-CXR JPEGs -> CXR-RePaiR cxr.h5"},
    {"embed", xrem_cmd_embed, "--weights R.h5 --corpus C.csv --out corpus.h5   ITC features of the report corpus"},
    {"run", xrem_cmd_run, "--retrieval R.h5 --itm I.h5 --images cxr.h5 --corpus corpus.h5 --out RUN/ ...   X-REM"},
    {"sweep", xrem_cmd_sweep, "--run RUN/ --k1 .. --k2 .. --k3 .. --gt GT.csv ...   other (K1, K2, K3) from a run"},
#ifdef XREM_HAVE_EVAL
    {"eval", xrem_cmd_eval, "--gt GT.csv --pred P.csv --out DIR ...   report-generation metrics"},
#endif
    {"demo", xrem_cmd_demo, "--assets DIR --out DIR   X-REM end to end on the IU reports and synthetic images"},
    {"inspect", xrem_cmd_inspect, "FILE.h5   arch, config, parameter count, dtype, validation verdict"},
    {"forward", xrem_cmd_forward, "--weights W.h5 ...   run one converted model on raw images/texts"},
    {"bench", xrem_cmd_bench, "vit|bert|itm ...   forward throughput on random full-size weights (JSON)"},
    {"dev", xrem_cmd_dev, "random-weights|synth-images|iu-reports ...   assets for demos and tests"},
    {"version", xrem_cmd_version, "   print the version and build"},
    {0, 0, 0},
};
