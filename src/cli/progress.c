#include "cli/progress.h"

#include <stdio.h>
#include <unistd.h>

static int line_open; /* a progress line is on the terminal without its newline */

static void cli_draw(void *user, const char *what, int64_t done, int64_t total, const char *note)
{
    if (!what) {
        if (line_open) fputc('\n', stderr);
        line_open = 0;
        return;
    }
    fprintf(stderr, "\rxrem %s: %lld/%lld %s%s", (const char *)user, (long long)done, (long long)total, what,
            note ? note : "");
    line_open = 1;
}

xrem_progress xrem_cli_progress(const char *cmd)
{
    xrem_progress p = {isatty(2) ? cli_draw : NULL, (void *)cmd};
    return p;
}
