/* Minimal flag parsing shared by the commands: --name value and --flag. */
#ifndef XREM_CLI_ARGS_H
#define XREM_CLI_ARGS_H

#include <stdio.h>

/* Value of --name (NULL if absent). A flag given without a value is a usage error (exit 2). */
const char *xrem_arg_str(int argc, char **argv, const char *name);
int xrem_arg_flag(int argc, char **argv, const char *name);
/* Integer value of --name within [lo, hi], def if absent; on a bad value prints and returns -1
 * through *ok = 0. */
long xrem_arg_int(int argc, char **argv, const char *name, long def, long lo, long hi, int *ok);
/* Reject flags not in the NULL-terminated list (values are skipped). Returns 0 if all known. */
int xrem_arg_check(int argc, char **argv, const char *cmd, const char *const *known, const char *const *bool_flags);

#endif
