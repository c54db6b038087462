/*
 * atomic.h - writing a file so that a reader never sees half of it.
 *
 * Layer: util (libc and POSIX only).  Every file cwb writes goes through
 * here: tensors (.npy, CSV), exported runs, figures (gnuplot writes the
 * temporary file itself), recipe outputs (cwb.write_file).
 *
 * A regular file (or a new one) is written to a temporary file in the same
 * folder (".NAME.tmp.XXXXXX", so `ls` does not show it), flushed, fsync'ed
 * and renamed over the target; the folder is fsync'ed so the rename is
 * durable.  On any error the temporary file is removed and the target is
 * left as it was.
 *
 * Temp-and-rename is for regular files only: renaming over /dev/null or a
 * FIFO would replace the device node with a plain file.  A path that exists
 * and is a character device, a FIFO or a socket is written in place; a
 * directory (or a block device) is refused with a message.
 */
#ifndef CWB_ATOMIC_H
#define CWB_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *f;            /* where to write (NULL after cwb_atomic_reserve) */
    char *tmp;          /* malloc'ed temporary name; NULL when in place */
    char *path;         /* malloc'ed target */
} cwb_atomic;

/* 0, or -1 with a one-line message ("PATH: reason") in err. */
int cwb_atomic_open(cwb_atomic *a, const char *path, char *err, size_t errlen);
/* For a writer that opens the file by name itself (gnuplot's `set output`):
 * like cwb_atomic_open but a->f stays NULL; cwb_atomic_name is where to
 * write (the temporary file, or the target when written in place).  Commit
 * afterwards as usual. */
int cwb_atomic_reserve(cwb_atomic *a, const char *path, char *err, size_t errlen);
const char *cwb_atomic_name(const cwb_atomic *a);
/* Finish: flush, fsync and rename.  0, or -1 with a message (the temporary
 * file is removed).  Releases a in every case. */
int cwb_atomic_commit(cwb_atomic *a, char *err, size_t errlen);
/* Give up: remove the temporary file, release a.  Safe on a zeroed a. */
void cwb_atomic_abort(cwb_atomic *a);
/* Write n bytes to path atomically.  0 or -1 with a message. */
int cwb_atomic_write(const char *path, const void *data, size_t n, char *err, size_t errlen);

/* mkdir -p: path and its missing parents (0777 before the umask).  0, or -1
 * with errno set (ENOTDIR when path exists and is not a folder), for the
 * folders files are written into: --out, the lessons' state folder. */
int cwb_mkdir_p(const char *path);

#endif
