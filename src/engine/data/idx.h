/*
 * idx.h - the IDX file format (LeCun's MNIST format, also Fashion-MNIST's),
 * plain or gzip-compressed, read into a cwb tensor.
 *
 * Layer: engine/data.  Included by the data loaders (fmnist.c), the Lua
 * binding (src/lua/ldata.c) and tests; nothing else needs it.
 *
 * The format (methods.md, "Real data"): bytes 0-1 are zero, byte 2 is the
 * type code (0x08 unsigned byte, 0x09 signed byte, 0x0B 16-bit int, 0x0C
 * 32-bit int, 0x0D float, 0x0E double), byte 3 the rank r >= 1, then r
 * big-endian 32-bit sizes, then the values in row-major order, big-endian.
 * A file is read through zlib's gzread, so `name.gz` and an uncompressed
 * file are read the same way.
 *
 * Every malformed file is refused with CWB_EIO and one line naming the file,
 * what is wrong and where (a byte offset into the uncompressed stream):
 * a header or data section that ends early, a bad magic, an unknown type
 * code, rank 0, a zero size, sizes whose product overflows, bytes after the
 * last value, a corrupt or cut-off gzip stream, a NaN or infinite float, a
 * double out of float range.  No short read is ever returned as data.
 */
#ifndef CWB_IDX_H
#define CWB_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "engine/core/tensor.h"

/* At most this many values (2^31 floats = 8 GiB), and rows and columns each
 * fit an int, so a header cannot ask for an impossible allocation. */
#define CWB_IDX_MAX_VALUES ((int64_t)1 << 31)

typedef struct {
    int type;            /* type code: 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E */
    int rank;            /* number of dimensions, >= 1 */
    uint32_t *dims;      /* rank sizes, as in the header */
    cwb_tensor *x;       /* dims[0] x (product of the other sizes; 1 for rank 1),
                          * the values converted to float exactly as stored
                          * (no scaling: 0..255 for unsigned bytes) */
    int *labels;         /* rank-1 files of an integer type: the values as
                          * ints (class labels); NULL otherwise */
} cwb_idx;

/* Read the whole file.  NULL with CWB_EIO (malformed, missing, unreadable)
 * or CWB_ENOMEM and a one-line message "PATH: what is wrong (byte N)". */
cwb_idx *cwb_idx_read(const char *path);
void cwb_idx_free(cwb_idx *f);

/* "ubyte", "byte", "short", "int", "float", "double"; NULL for another code. */
const char *cwb_idx_type_name(int code);
/* Bytes per value of a type code (0 for an unknown code). */
int cwb_idx_type_size(int code);
/* The sizes as text, "60000 x 28 x 28" (cut with " x ..." to fit len). */
void cwb_idx_shape(const cwb_idx *f, char *buf, size_t len);

#endif
