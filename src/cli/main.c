/* xrem: the command-line front end. Each command parses its flags and calls the library. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static void xrem__usage(FILE *out)
{
    fprintf(out,
            "usage: xrem <command> [options]\n"
            "\n"
            "commands:\n"
            "  inspect FILE.h5            arch, config, parameter count, dtype, validation verdict\n"
            "  forward --weights W.h5 ... run one converted model on raw images/texts, write its outputs\n"
            "  bench vit|bert|itm ...     forward throughput on random full-size weights (JSON)\n"
            "  eval --gt GT.csv --pred P.csv --out DIR ...   report-generation metrics\n"
            "  version                    print the version and build\n"
            "\n"
            "'xrem <command> --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
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
        if (!strcmp(c->name, cmd)) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "xrem: unknown command '%s'\n", cmd);
    xrem__usage(stderr);
    return 2;
}
