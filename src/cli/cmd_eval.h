/* `xrem eval`: report-generation metrics for a GT and a PRED reports CSV (see cmd_eval.c for the
 * options; `xrem eval --help` prints them). Returns the process exit status: 0 ok, 1 error
 * (message printed as "xrem eval: <message>"), 2 usage error. argv[0] is "eval". */
#ifndef XREM_CLI_CMD_EVAL_H
#define XREM_CLI_CMD_EVAL_H

int xrem_cmd_eval(int argc, char **argv);

#endif
