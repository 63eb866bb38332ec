/* The CLI's command table. Each command gets argv starting at its own name and returns the
 * process exit status: 0 ok, 1 failure (message printed), 2 usage error. */
#ifndef XREM_CLI_COMMANDS_H
#define XREM_CLI_COMMANDS_H

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis; /* one line for `xrem --help`: arguments, then what it does */
} xrem_cli_command;

extern const xrem_cli_command xrem_cli_commands[];

int xrem_cmd_inspect(int argc, char **argv);
int xrem_cmd_forward(int argc, char **argv);
int xrem_cmd_bench(int argc, char **argv);
int xrem_cmd_prep(int argc, char **argv);
int xrem_cmd_version(int argc, char **argv);
int xrem_cmd_embed(int argc, char **argv);
int xrem_cmd_run(int argc, char **argv);
int xrem_cmd_demo(int argc, char **argv);
int xrem_cmd_sweep(int argc, char **argv);
int xrem_cmd_dev(int argc, char **argv);

#endif
