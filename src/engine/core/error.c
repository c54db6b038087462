/* error.c - thread-local error messages for the engine (see error.h). */
#include "engine/core/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[512];

int cwb_fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

const char *cwb_errmsg(void) { return last_error; }

void cwb_clear_error(void) { last_error[0] = '\0'; }

const char *cwb_status_name(int code) {
    switch (code) {
    case CWB_OK: return "ok";
    case CWB_EINVAL: return "invalid argument";
    case CWB_ENOMEM: return "out of memory";
    case CWB_ENAN: return "non-finite value";
    case CWB_ESTATE: return "bad state";
    case CWB_EIO: return "file error";
    default: return "unknown error";
    }
}
