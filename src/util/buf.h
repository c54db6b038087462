/*
 * buf.h - a growable, NUL-terminated byte buffer.
 *
 * Layer: util (the bottom; depends on libc only).  Used by every layer that
 * builds text whose length it does not know in advance: JSON parameter
 * records (util/json.c), gnuplot scripts and datablocks (plot/), the
 * workbench's lines (ui/).
 *
 * Out of memory is sticky: after the first failed growth every call is a
 * no-op returning -1 and b->oom stays set, so a caller may append a whole
 * record and check once at the end.
 */
#ifndef CWB_BUF_H
#define CWB_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *p;        /* NUL-terminated once anything was added; NULL before */
    size_t n;       /* bytes, without the NUL */
    size_t cap;
    int oom;        /* an allocation failed: the contents are incomplete */
} cwb_buf;

#define CWB_BUF_INIT {NULL, 0, 0, 0}

void cwb_buf_free(cwb_buf *b);
/* Empty the buffer, keeping its memory (and clearing oom). */
void cwb_buf_reset(cwb_buf *b);
/* Room for `extra` more bytes (plus the NUL).  0 or -1. */
int cwb_buf_reserve(cwb_buf *b, size_t extra);
int cwb_buf_add(cwb_buf *b, const void *s, size_t n);
int cwb_buf_str(cwb_buf *b, const char *s);
int cwb_buf_char(cwb_buf *b, char c);
int cwb_buf_printf(cwb_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
int cwb_buf_vprintf(cwb_buf *b, const char *fmt, va_list ap);
/* The text ("" for an empty buffer, never NULL). */
const char *cwb_buf_text(const cwb_buf *b);
/* Hand the malloc'ed text to the caller (NULL if empty or out of memory)
 * and leave the buffer empty. */
char *cwb_buf_take(cwb_buf *b);

#endif
