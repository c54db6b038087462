/*
 * idx.c - read IDX files, plain or gzip-compressed (idx.h).
 *
 * The file is read once, front to back, through zlib's gzread (which reads
 * an uncompressed file as it is).  Offsets in messages count bytes of the
 * uncompressed stream, which is what the IDX header describes.  The data
 * section goes into a buffer that grows as bytes actually arrive (doubling,
 * util/buf.h), so a header that claims more values than the file holds is
 * caught as a truncation instead of provoking one huge allocation; only then
 * is the float tensor allocated and filled.  After the last value one more
 * byte is requested: it must not exist, and asking for it makes zlib check
 * the gzip trailer (CRC and length), so a corrupt or cut-off .gz file fails
 * here rather than passing as data.
 */
#include "engine/data/idx.h"
#include "engine/core/error.h"
#include "util/buf.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_CHUNK ((size_t)1 << 22)   /* bytes requested per gzread of the data */

const char *cwb_idx_type_name(int code) {
    switch (code) {
    case 0x08: return "ubyte";
    case 0x09: return "byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return NULL;
    }
}

int cwb_idx_type_size(int code) {
    switch (code) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

void cwb_idx_free(cwb_idx *f) {
    if (!f) return;
    free(f->dims);
    cwb_tensor_free(f->x);
    free(f->labels);
    free(f);
}

typedef struct {
    gzFile gz;
    const char *path;
    long long pos;       /* bytes of the uncompressed stream consumed so far */
} reader;

/* A gzread that failed or came up short: the stream's own error if it has
 * one (corrupt or cut-off gzip, a read error), else 0. */
static int stream_error(reader *r) {
    int err = Z_OK;
    const char *m = gzerror(r->gz, &err);
    if (err == Z_OK || err == Z_STREAM_END) return 0;
    if (err == Z_ERRNO)
        return cwb_fail(CWB_EIO, "%s: read error after byte %lld: %s", r->path, r->pos,
                        strerror(errno));
    if (err == Z_MEM_ERROR)
        return cwb_fail(CWB_ENOMEM, "%s: out of memory decompressing after byte %lld", r->path,
                        r->pos);
    /* zlib's message repeats the path: drop it */
    size_t np = strlen(r->path);
    if (m && strncmp(m, r->path, np) == 0 && m[np] == ':' && m[np + 1] == ' ') m += np + 2;
    return cwb_fail(CWB_EIO, "%s: corrupt or cut-off gzip data at or after byte %lld of the "
                             "uncompressed stream (zlib: %s)", r->path, r->pos, m ? m : "?");
}

/* Read up to n bytes; returns how many arrived (< n at the end of the
 * stream), or -1 with the message set. */
static long long read_some(reader *r, void *dst, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t want = n - got < IDX_CHUNK ? n - got : IDX_CHUNK;
        int k = gzread(r->gz, (char *)dst + got, (unsigned)want);
        if (k < 0) {
            r->pos += (long long)got;
            if (!stream_error(r))
                cwb_fail(CWB_EIO, "%s: read error after byte %lld", r->path, r->pos);
            return -1;
        }
        if (k == 0) break;
        got += (size_t)k;
    }
    r->pos += (long long)got;
    if (got < n && stream_error(r)) return -1;
    return (long long)got;
}

/* Exactly n bytes of the header part `what`, or a truncation message. */
static int read_header(reader *r, void *dst, size_t n, const char *what) {
    long long start = r->pos;
    long long got = read_some(r, dst, n);
    if (got < 0) return CWB_EIO;
    if ((size_t)got < n)
        return cwb_fail(CWB_EIO, "%s: truncated header: the file ends at byte %lld but bytes "
                                 "%lld-%lld hold %s", r->path, r->pos, start,
                        start + (long long)n - 1, what);
    return CWB_OK;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void shape_text(const uint32_t *dims, int rank, char *buf, size_t len) {
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < rank && n + 16 < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%u", i ? " x " : "", dims[i]);
    if (n + 16 >= len && len > 8) snprintf(buf + len - 8, 8, " x ...");
}

void cwb_idx_shape(const cwb_idx *f, char *buf, size_t len) {
    if (!buf || !len) return;
    if (!f) buf[0] = '\0';
    else shape_text(f->dims, f->rank, buf, len);
}

/* Check the sizes; rows and cols of the tensor, the number of values. */
static int check_dims(const char *path, const uint32_t *dims, int rank, int64_t *rows,
                      int64_t *cols) {
    for (int i = 0; i < rank; i++)
        if (dims[i] == 0)
            return cwb_fail(CWB_EIO, "%s: size %d of %d is 0 (bytes %d-%d): no values", path,
                            i + 1, rank, 4 + 4 * i, 7 + 4 * i);
    int64_t c = 1;
    for (int i = 1; i < rank; i++) {
        c *= dims[i];   /* c <= INT_MAX before, dims <= 2^32: no int64 overflow */
        if (c > INT_MAX) break;
    }
    if (dims[0] > INT_MAX || c > INT_MAX || (int64_t)dims[0] * c > CWB_IDX_MAX_VALUES) {
        char shape[96];
        shape_text(dims, rank, shape, sizeof shape);
        return cwb_fail(CWB_EIO, "%s: sizes %s (bytes 4-%d) are too large: more than %d rows, "
                                 "%d values per row or %lld values", path, shape, 3 + 4 * rank,
                        INT_MAX, INT_MAX, (long long)CWB_IDX_MAX_VALUES);
    }
    *rows = dims[0];
    *cols = c;
    return CWB_OK;
}

/* Values from big-endian bytes to floats (and labels); NaN, infinities and
 * doubles beyond float range are refused, naming the value and its byte. */
static int convert(const char *path, int type, const unsigned char *p, size_t n, long long data0,
                   float *x, int *labels) {
    const int sz = cwb_idx_type_size(type);
    for (size_t i = 0; i < n; i++, p += sz) {
        double v;
        switch (type) {
        case 0x08: v = p[0]; break;
        case 0x09: v = (signed char)p[0]; break;
        case 0x0B: v = (int16_t)(uint16_t)(p[0] << 8 | p[1]); break;
        case 0x0C: v = (int32_t)be32(p); break;
        case 0x0D: {
            uint32_t u = be32(p);
            float f;
            memcpy(&f, &u, sizeof f);
            v = f;
            break;
        }
        default: {
            uint64_t u = (uint64_t)be32(p) << 32 | be32(p + 4);
            memcpy(&v, &u, sizeof v);
            break;
        }
        }
        if (!isfinite(v) || fabs(v) > FLT_MAX)
            return cwb_fail(CWB_EIO, "%s: value %zu (byte %lld) is %s", path, i,
                            data0 + (long long)(i * (size_t)sz),
                            isnan(v) ? "NaN" : isinf(v) ? "infinite" : "beyond float range");
        x[i] = (float)v;
        if (labels) labels[i] = (int)v;
    }
    return CWB_OK;
}

cwb_idx *cwb_idx_read(const char *path) {
    if (!path || !*path) {
        cwb_fail(CWB_EINVAL, "idx: no file name");
        return NULL;
    }
    errno = 0;
    reader r = { gzopen(path, "rb"), path, 0 };
    if (!r.gz) {
        cwb_fail(errno == ENOMEM ? CWB_ENOMEM : CWB_EIO, "%s: cannot open: %s", path,
                 errno ? strerror(errno) : "unknown error");
        return NULL;
    }
    gzbuffer(r.gz, 1 << 17);
    cwb_idx *f = calloc(1, sizeof *f);
    cwb_buf raw = CWB_BUF_INIT;
    unsigned char magic[4];
    if (!f) {
        cwb_fail(CWB_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    if (read_header(&r, magic, 4, "the magic number") != CWB_OK) goto fail;
    if (magic[0] || magic[1]) {
        cwb_fail(CWB_EIO, "%s: bad magic 0x%02x%02x at byte 0: an IDX file starts with two zero "
                          "bytes", path, magic[0], magic[1]);
        goto fail;
    }
    f->type = magic[2];
    if (!cwb_idx_type_name(f->type)) {
        cwb_fail(CWB_EIO, "%s: unknown type code 0x%02x at byte 2 (IDX types: 0x08 ubyte, 0x09 "
                          "byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)", path, f->type);
        goto fail;
    }
    f->rank = magic[3];
    if (f->rank == 0) {
        cwb_fail(CWB_EIO, "%s: rank 0 at byte 3: an IDX file has at least one dimension", path);
        goto fail;
    }
    unsigned char hdr[4 * 255];
    char what[48];
    snprintf(what, sizeof what, "the %d size%s", f->rank, f->rank == 1 ? "" : "s");
    if (read_header(&r, hdr, 4 * (size_t)f->rank, what) != CWB_OK) goto fail;
    f->dims = malloc((size_t)f->rank * sizeof *f->dims);
    if (!f->dims) {
        cwb_fail(CWB_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (int i = 0; i < f->rank; i++) f->dims[i] = be32(hdr + 4 * i);
    int64_t rows = 0, cols = 0;
    if (check_dims(path, f->dims, f->rank, &rows, &cols) != CWB_OK) goto fail;

    const int sz = cwb_idx_type_size(f->type);
    const size_t nval = (size_t)rows * (size_t)cols, nbytes = nval * (size_t)sz;
    const long long data0 = r.pos;
    for (size_t left = nbytes; left > 0;) {
        size_t want = left < IDX_CHUNK ? left : IDX_CHUNK;
        if (cwb_buf_reserve(&raw, want)) {
            cwb_fail(CWB_ENOMEM, "%s: out of memory for %zu bytes of data", path, nbytes);
            goto fail;
        }
        long long got = read_some(&r, raw.p + raw.n, want);
        if (got < 0) goto fail;
        raw.n += (size_t)got;
        if ((size_t)got < want) {
            cwb_fail(CWB_EIO, "%s: truncated data: the file ends at byte %lld, %zu %s values "
                              "need bytes %lld-%lld", path, r.pos, nval,
                     cwb_idx_type_name(f->type), data0, data0 + (long long)nbytes - 1);
            goto fail;
        }
        left -= want;
    }
    unsigned char extra[64];
    long long more = read_some(&r, extra, sizeof extra);
    if (more < 0) goto fail;
    if (more > 0) {
        cwb_fail(CWB_EIO, "%s: unexpected bytes after the data, which ends at byte %lld (the "
                          "sizes in the header do not match the file)", path,
                 data0 + (long long)nbytes - 1);
        goto fail;
    }

    f->x = cwb_tensor_new((int)rows, (int)cols);
    int integer = f->type == 0x08 || f->type == 0x09 || f->type == 0x0B || f->type == 0x0C;
    if (f->rank == 1 && integer) f->labels = malloc(nval * sizeof *f->labels);
    if (!f->x || (f->rank == 1 && integer && !f->labels)) {
        cwb_fail(CWB_ENOMEM, "%s: out of memory for %zu values", path, nval);
        goto fail;
    }
    if (convert(path, f->type, (const unsigned char *)raw.p, nval, data0, f->x->data,
                f->labels) != CWB_OK)
        goto fail;
    cwb_buf_free(&raw);
    gzclose(r.gz);
    return f;

fail:
    cwb_buf_free(&raw);
    gzclose(r.gz);
    cwb_idx_free(f);
    return NULL;
}
