/*
 * mem.h - the buffers an engine object owns, allocated through one list so
 * that a constructor checks for failure once and a destructor frees them
 * with one call.
 *
 * Layer: engine/core; every engine file may include it.
 *
 * An object embeds a cwb_mem (all zero: calloc'd with the object, or
 * CWB_MEM_INIT), takes its buffers from it, calls cwb_mem_check once after
 * a batch of allocations, and cwb_mem_free when it is destroyed, also after
 * a construction that stopped half-way.  A failure is sticky: once an
 * allocation has failed, the later ones return NULL without trying, and
 * cwb_mem_check reports CWB_ENOMEM with the caller's message.  A buffer
 * allocated on first use (evaluation set-up) leaves nothing behind when it
 * fails, so a later call tries again.  Every buffer is zero-filled; float buffers
 * are cwb_alloc's 64-byte aligned ones.  Nothing here is for a training
 * step: steps use what construction allocated.
 */
#ifndef CWB_MEM_H
#define CWB_MEM_H

#include <stddef.h>

typedef struct {
    void **p;       /* the buffers, in allocation order */
    int n, cap;
    int failed;     /* an allocation failed (sticky) */
} cwb_mem;
#define CWB_MEM_INIT {NULL, 0, 0, 0}

/* n floats, 64-byte aligned and zeroed, owned by m; NULL after a failure. */
float *cwb_mem_floats(cwb_mem *m, size_t n);
/* count objects of size bytes, zeroed, owned by m; NULL after a failure. */
void *cwb_mem_zeroed(cwb_mem *m, size_t count, size_t size);
/* CWB_OK if every allocation from m succeeded; otherwise CWB_ENOMEM with
 * the message fmt (printf-style, e.g. "trainer: out of memory for batch
 * buffers (B = %d)"). */
int cwb_mem_check(cwb_mem *m, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* *p, allocated as n floats owned by m on its first use; NULL if memory is
 * short (then nothing changes, and the failure is not sticky). */
float *cwb_mem_lazy_floats(cwb_mem *m, float **p, size_t n);
/* Free every buffer and the list; m is all zero again. */
void cwb_mem_free(cwb_mem *m);

/* size zeroed bytes for an object itself, or NULL with the message
 * "<who>: out of memory", who formatted printf-style ("loss %s", name). */
void *cwb_zalloc(size_t size, const char *who, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
