/* Per-thread failure reasons for xrem_status (see include/xrem/status.h). */
#include "xrem/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define XREM_MSG_CAP 1024
static _Thread_local char xrem__msg[XREM_MSG_CAP];

const char *xrem_status_name(xrem_status s)
{
    switch (s) {
    case XREM_OK: return "ok";
    case XREM_ERR_IO: return "io";
    case XREM_ERR_FORMAT: return "format";
    case XREM_ERR_SHAPE: return "shape";
    case XREM_ERR_DTYPE: return "dtype";
    case XREM_ERR_VALUE: return "value";
    case XREM_ERR_ARG: return "argument";
    case XREM_ERR_NOMEM: return "memory";
    case XREM_ERR_DEVICE: return "device";
    case XREM_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown";
}

const char *xrem_last_error(void) { return xrem__msg; }

xrem_status xrem_fail(xrem_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(xrem__msg, sizeof xrem__msg, fmt, ap);
    va_end(ap);
    return s;
}

xrem_status xrem_fail_context(xrem_status s, const char *fmt, ...)
{
    char old[XREM_MSG_CAP], ctx[XREM_MSG_CAP];
    memcpy(old, xrem__msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    snprintf(xrem__msg, sizeof xrem__msg, "%.400s: %.600s", ctx, old);
    return s;
}
