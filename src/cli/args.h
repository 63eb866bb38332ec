/* Minimal flag parsing shared by the commands: --name value and --flag. */
#ifndef XREM_CLI_ARGS_H
#define XREM_CLI_ARGS_H

#include <stdio.h>

#include "xrem/backend.h"
#include "xrem/run.h"

/* Value of --name (NULL if absent). A flag given without a value is a usage error (exit 2). */
const char *xrem_arg_str(int argc, char **argv, const char *name);
int xrem_arg_flag(int argc, char **argv, const char *name);
/* Integer value of --name within [lo, hi], def if absent; on a bad value prints and returns -1
 * through *ok = 0. */
long xrem_arg_int(int argc, char **argv, const char *name, long def, long lo, long hi, int *ok);
/* Reject flags not in the NULL-terminated list (values are skipped). Returns 0 if all known. */
int xrem_arg_check(int argc, char **argv, const char *cmd, const char *const *known, const char *const *bool_flags);
/* The --backend flag every command that runs a model takes: cpu|cuda|cuda:N, default cpu. */
#define XREM_ARG_BACKEND_USAGE "[--backend " XREM_BACKEND_NAMES "]"
const char *xrem_arg_backend(int argc, char **argv);
/* Create the backend --backend names (threads for the CPU one). On failure prints one line,
 * "xrem CMD: <why>", and returns 1; 0 on success (*be then owned by the caller). Commands call
 * it before they create any output, so an unusable backend leaves nothing behind. */
int xrem_arg_backend_create(int argc, char **argv, const char *cmd, int threads, xrem_backend **be);

/* The library job's options from the command line: every flag of known (but --threads and
 * --backend, which the command keeps) and of bool_flags (NULL: none) goes to xrem_job_opts_set
 * under its name without the dashes, then xrem_job_opts_check. On a bad value or combination
 * prints "xrem CMD: <why>" and returns 2 (*o then NULL); 0 with *o the caller's. */
int xrem_arg_job_opts(int argc, char **argv, const char *cmd, xrem_job_kind kind, const char *const *known,
                      const char *const *bool_flags, xrem_job_opts **o);

#endif
