/* mem.c - an object's buffers in one list (see mem.h). */
#include "engine/core/mem.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Take ownership of p (freed if the list cannot grow). */
static void *own(cwb_mem *m, void *p) {
    if (!p) {
        m->failed = 1;
        return NULL;
    }
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 16;
        void **q = realloc(m->p, (size_t)cap * sizeof *q);
        if (!q) {
            free(p);
            m->failed = 1;
            return NULL;
        }
        m->p = q;
        m->cap = cap;
    }
    m->p[m->n++] = p;
    return p;
}

float *cwb_mem_floats(cwb_mem *m, size_t n) {
    if (m->failed) return NULL;
    return own(m, cwb_alloc(n));
}

void *cwb_mem_zeroed(cwb_mem *m, size_t count, size_t size) {
    if (m->failed) return NULL;
    if (size && count > SIZE_MAX / size) return own(m, NULL);
    return own(m, calloc(count ? count : 1, size ? size : 1));
}

int cwb_mem_check(cwb_mem *m, const char *fmt, ...) {
    if (!m->failed) return CWB_OK;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cwb_fail(CWB_ENOMEM, "%s", msg);
}

float *cwb_mem_lazy_floats(cwb_mem *m, float **p, size_t n) {
    if (!*p && !(*p = own(m, cwb_alloc(n)))) m->failed = 0;
    return *p;
}

void cwb_mem_free(cwb_mem *m) {
    for (int i = 0; i < m->n; i++) cwb_free(m->p[i]);
    free(m->p);
    *m = (cwb_mem)CWB_MEM_INIT;
}

void *cwb_zalloc(size_t size, const char *who, ...) {
    void *p = calloc(1, size);
    if (!p) {
        char name[200];
        va_list ap;
        va_start(ap, who);
        vsnprintf(name, sizeof name, who, ap);
        va_end(ap);
        cwb_fail(CWB_ENOMEM, "%s: out of memory", name);
    }
    return p;
}
