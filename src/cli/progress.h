/* The CLI's progress line: what the library reports through xrem_progress, drawn on stderr as
 * one line rewritten in place, only when stderr is a terminal. */
#ifndef XREM_CLI_PROGRESS_H
#define XREM_CLI_PROGRESS_H

#include "xrem/progress.h"

/* A progress sink that draws "\rxrem <cmd>: done/total what note" (cmd is kept, not copied). */
xrem_progress xrem_cli_progress(const char *cmd);

#endif
