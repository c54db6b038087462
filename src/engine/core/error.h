/*
 * error.h - how the engine reports failure.
 *
 * Engine functions return a cwb_status (0 = success) or NULL, and leave a
 * one-line message for the caller in a thread-local buffer.  The engine never
 * prints and never exits: only main.c and the REPL decide what to show.
 */
#ifndef CWB_ERROR_H
#define CWB_ERROR_H

typedef enum {
    CWB_OK = 0,
    CWB_EINVAL,   /* bad argument: shape, range, NULL */
    CWB_ENOMEM,   /* allocation failed */
    CWB_ENAN,     /* a NaN or Inf appeared in an input or a result */
    CWB_ESTATE,   /* call out of order (e.g. backward before forward) */
    CWB_EIO,      /* a file is missing, unreadable, malformed or truncated */
} cwb_status;

/* Record a message (printf-style) and return `code`, so callers can write
 * `return cwb_fail(CWB_EINVAL, "batch %d < 2", B);`. */
int cwb_fail(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The optional "who: " prefix of a message, as two %s arguments:
 * cwb_fail(CWB_EINVAL, "%s%sjitter = %g ...", CWB_WHO(who), x) reads
 * "trainer: aug: jitter = inf ..." or, with who NULL, "jitter = inf ...". */
#define CWB_WHO(who) ((who) ? (who) : ""), ((who) ? ": " : "")

/* The last message recorded on this thread ("" if none). */
const char *cwb_errmsg(void);

/* Forget the last message. */
void cwb_clear_error(void);

/* Name of a status code, e.g. "invalid argument". */
const char *cwb_status_name(int code);

#endif
