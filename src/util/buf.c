/*
 * buf.c - the growable byte buffer (buf.h).  Capacity doubles, so n
 * appends cost O(n) copies in total.
 */
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cwb_buf_free(cwb_buf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
    b->oom = 0;
}

void cwb_buf_reset(cwb_buf *b) {
    b->n = 0;
    b->oom = 0;
    if (b->p) b->p[0] = '\0';
}

int cwb_buf_reserve(cwb_buf *b, size_t extra) {
    if (b->oom) return -1;
    if (extra > (size_t)-1 / 2 - b->n - 1) {
        b->oom = 1;
        return -1;
    }
    if (b->n + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int cwb_buf_add(cwb_buf *b, const void *s, size_t n) {
    if (cwb_buf_reserve(b, n)) return -1;
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

int cwb_buf_str(cwb_buf *b, const char *s) { return cwb_buf_add(b, s, strlen(s)); }

int cwb_buf_char(cwb_buf *b, char c) { return cwb_buf_add(b, &c, 1); }

int cwb_buf_vprintf(cwb_buf *b, const char *fmt, va_list ap) {
    if (b->oom) return -1;
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->oom = 1; /* an encoding error: treat the record as incomplete */
        return -1;
    }
    if ((size_t)n < sizeof small) return cwb_buf_add(b, small, (size_t)n);
    if (cwb_buf_reserve(b, (size_t)n)) return -1;
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    b->n += (size_t)n;
    return 0;
}

int cwb_buf_printf(cwb_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = cwb_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *cwb_buf_text(const cwb_buf *b) { return b->p && !b->oom ? b->p : ""; }

char *cwb_buf_take(cwb_buf *b) {
    char *p = b->oom || !b->n ? NULL : b->p;
    if (!p) free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
    b->oom = 0;
    return p;
}
