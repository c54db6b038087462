/*
 * lnpy.c - NumPy .npy files for cwb.tensor.load_npy / t:save_npy.
 *
 * The format (NumPy's NEP 1): the magic "\x93NUMPY", a major and minor
 * version byte, the header length (2 bytes little-endian in v1.0, 4 bytes
 * in v2.0 and v3.0), then an ASCII (v3: UTF-8) Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and ended by '\n', then the raw array data.
 *
 * cwb reads little-endian float32 ('<f4'), float64 ('<f8') and float16
 * ('<f2'), and integers ('|u1', '|i1', '|b1', '<i2', '<u2', '<i4', '<u4',
 * '<i8', '<u8': labels as NumPy writes them), all converted to float32 (an
 * integer beyond 2^24 in magnitude, which float32 cannot hold exactly, is
 * refused; a double beyond float range becomes inf), C order, 1-D (as an n x 1
 * tensor) and 2-D arrays; anything else is refused with "path: what is
 * wrong".  It writes '<f4' 2-D arrays with a
 * v1.0 header padded so the data starts on a 64-byte boundary, as NumPy
 * does.
 */
#include "lua/lbind.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NPY_MAX_HEADER (1 << 20)   /* a sane header is a few hundred bytes */
#define NPY_MAX_ELEMS ((int64_t)1 << 31)

typedef struct {
    char descr[16];
    int have_descr, have_order, have_shape;
    int fortran;
    int ndim;
    int64_t shape[8];
} npy_header;

/* ---- header parser: just enough of Python's literal syntax ------------------ */

typedef struct {
    const char *s, *end;
    char *err;
    size_t errlen;
} parser;

static void skip_ws(parser *p) {
    while (p->s < p->end && isspace((unsigned char)*p->s)) p->s++;
}

static int perr(parser *p, const char *what) {
    snprintf(p->err, p->errlen, "malformed header: %s", what);
    return -1;
}

/* 'text' or "text" -> out (truncated to n-1 chars). */
static int parse_string(parser *p, char *out, size_t n) {
    skip_ws(p);
    if (p->s >= p->end || (*p->s != '\'' && *p->s != '"')) return perr(p, "string expected");
    char q = *p->s++;
    size_t k = 0;
    while (p->s < p->end && *p->s != q) {
        if (*p->s == '\\') return perr(p, "escapes in strings are not supported");
        if (k + 1 < n) out[k++] = *p->s;
        p->s++;
    }
    if (p->s >= p->end) return perr(p, "unterminated string");
    p->s++;
    out[k] = '\0';
    return 0;
}

static int parse_int(parser *p, int64_t *v) {
    skip_ws(p);
    if (p->s >= p->end || !isdigit((unsigned char)*p->s)) return perr(p, "integer expected in shape");
    int64_t x = 0;
    while (p->s < p->end && isdigit((unsigned char)*p->s)) {
        x = x * 10 + (*p->s - '0');
        if (x > ((int64_t)1 << 40)) return perr(p, "shape entry too large");
        p->s++;
    }
    if (p->s < p->end && (*p->s == 'L' || *p->s == 'l')) p->s++; /* Python 2 long */
    *v = x;
    return 0;
}

static int parse_tuple(parser *p, npy_header *h) {
    skip_ws(p);
    if (p->s >= p->end || *p->s != '(') return perr(p, "shape must be a tuple");
    p->s++;
    h->ndim = 0;
    for (;;) {
        skip_ws(p);
        if (p->s < p->end && *p->s == ')') break;
        int64_t v;
        if (parse_int(p, &v) != 0) return -1;
        if (h->ndim >= 8) return perr(p, "shape has too many dimensions");
        h->shape[h->ndim++] = v;
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') p->s++;
        else if (p->s < p->end && *p->s == ')') break;
        else return perr(p, "',' or ')' expected in shape");
    }
    p->s++;
    return 0;
}

static int parse_bool(parser *p, int *v) {
    skip_ws(p);
    size_t left = (size_t)(p->end - p->s);
    if (left >= 4 && memcmp(p->s, "True", 4) == 0) {
        *v = 1;
        p->s += 4;
    } else if (left >= 5 && memcmp(p->s, "False", 5) == 0) {
        *v = 0;
        p->s += 5;
    } else
        return perr(p, "fortran_order must be True or False");
    return 0;
}

static int parse_header(const char *text, size_t n, npy_header *h, char *err, size_t errlen) {
    parser p = {text, text + n, err, errlen};
    memset(h, 0, sizeof *h);
    skip_ws(&p);
    if (p.s >= p.end || *p.s != '{') return perr(&p, "'{' expected");
    p.s++;
    for (;;) {
        skip_ws(&p);
        if (p.s < p.end && *p.s == '}') break;
        char key[32];
        if (parse_string(&p, key, sizeof key) != 0) return -1;
        skip_ws(&p);
        if (p.s >= p.end || *p.s != ':') return perr(&p, "':' expected after a key");
        p.s++;
        if (strcmp(key, "descr") == 0) {
            if (parse_string(&p, h->descr, sizeof h->descr) != 0) return -1;
            h->have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (parse_bool(&p, &h->fortran) != 0) return -1;
            h->have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (parse_tuple(&p, h) != 0) return -1;
            h->have_shape = 1;
        } else {
            snprintf(err, errlen, "malformed header: unexpected key '%s'", key);
            return -1;
        }
        skip_ws(&p);
        if (p.s < p.end && *p.s == ',') p.s++;
        else if (p.s < p.end && *p.s == '}') break;
        else return perr(&p, "',' or '}' expected");
    }
    p.s++;
    skip_ws(&p);
    if (p.s != p.end) return perr(&p, "text after the dict");
    if (!h->have_descr) return perr(&p, "no 'descr' key");
    if (!h->have_order) return perr(&p, "no 'fortran_order' key");
    if (!h->have_shape) return perr(&p, "no 'shape' key");
    return 0;
}

/* ---- reading ------------------------------------------------------------------ */

static uint32_t le32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64(const unsigned char *b) {
    return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
}

static void shape_str(const npy_header *h, char *out, size_t n) {
    size_t k = (size_t)snprintf(out, n, "(");
    for (int i = 0; i < h->ndim && k < n; i++)
        k += (size_t)snprintf(out + k, n - k, i ? ", %lld" : "%lld", (long long)h->shape[i]);
    if (k < n) snprintf(out + k, n - k, h->ndim == 1 ? ",)" : ")");
}

/* The element types read, and how each becomes a float32. */
typedef struct {
    const char *descr;
    int size;
    char kind;           /* 'f' float, 'i' signed, 'u' unsigned (and bool) */
    double limit;        /* largest magnitude accepted */
} npy_dtype;

static const npy_dtype DTYPES[] = {
    /* a double beyond float range becomes +-inf, as a C cast does */
    {"<f4", 4, 'f', INFINITY}, {"<f8", 8, 'f', INFINITY}, {"<f2", 2, 'f', INFINITY},
    {"|u1", 1, 'u', 16777216}, {"|i1", 1, 'i', 16777216}, {"|b1", 1, 'u', 16777216},
    {"<i2", 2, 'i', 16777216}, {"<u2", 2, 'u', 16777216}, {"<i4", 4, 'i', 16777216},
    {"<u4", 4, 'u', 16777216}, {"<i8", 8, 'i', 16777216}, {"<u8", 8, 'u', 16777216},
};

static const npy_dtype *find_dtype(const char *descr) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof *DTYPES; i++)
        if (strcmp(descr, DTYPES[i].descr) == 0) return &DTYPES[i];
    return NULL;
}

/* IEEE half to float (subnormals, infinities and NaN included). */
static float half_to_float(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY)
                                                       : ldexpf((float)(m | 0x400), e - 25);
    return h & 0x8000 ? -v : v;
}

/* One little-endian element into *out; returns its value in double for the
 * range check. */
static double decode(const npy_dtype *dt, const unsigned char *b, float *out) {
    double v;
    if (dt->kind == 'f') {
        if (dt->size == 4) {
            uint32_t u = le32(b);
            memcpy(out, &u, 4);
            return *out;
        }
        if (dt->size == 2) {
            *out = half_to_float((uint16_t)(b[0] | b[1] << 8));
            return *out;
        }
        uint64_t u = le64(b);
        memcpy(&v, &u, 8);
    } else {
        uint64_t u = dt->size == 1 ? b[0] : dt->size == 2 ? (uint64_t)(b[0] | b[1] << 8)
                     : dt->size == 4 ? le32(b) : le64(b);
        if (dt->kind == 'i') {
            int sh = 64 - 8 * dt->size;   /* sign-extend */
            v = (double)((int64_t)(u << sh) >> sh);
        } else
            v = (double)u;
    }
    *out = (float)v;
    return v;
}

/* Read the whole file's array into t (whose data is NULL); no Lua calls, so
 * the FILE cannot leak.  0 or -1 with err set. */
static int npy_read(const char *path, cwb_tensor *t, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    int rc = -1;
    char *text = NULL;
    unsigned char pre[12];
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        goto out;
    }
    size_t got = fread(pre, 1, 10, f);
    if (got < 6 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        snprintf(err, errlen, "not a .npy file (bad magic)");
        goto out;
    }
    if (got < 10) {
        snprintf(err, errlen, "truncated header (file is %zu bytes)", got);
        goto out;
    }
    int major = pre[6], minor = pre[7];
    size_t hlen, off;
    if (major == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            snprintf(err, errlen, "truncated header (file is %zu bytes)", got);
            goto out;
        }
        hlen = le32(pre + 8);
        off = 12;
    } else {
        snprintf(err, errlen, "unsupported .npy version %d.%d (cwb reads 1.0, 2.0 and 3.0)",
                 major, minor);
        goto out;
    }
    if (hlen == 0 || hlen > NPY_MAX_HEADER) {
        snprintf(err, errlen, "malformed header: length %zu", hlen);
        goto out;
    }
    if ((uint64_t)st.st_size < off + hlen) {
        snprintf(err, errlen, "truncated header (expected %zu bytes, file is %lld)", off + hlen,
                 (long long)st.st_size);
        goto out;
    }
    text = malloc(hlen);
    if (!text || fread(text, 1, hlen, f) != hlen) {
        snprintf(err, errlen, text ? "read error in the header" : "out of memory");
        goto out;
    }
    if (text[hlen - 1] != '\n') {
        snprintf(err, errlen, "malformed header: does not end with a newline");
        goto out;
    }
    npy_header h;
    if (parse_header(text, hlen, &h, err, errlen) != 0) goto out;
    const npy_dtype *dt = find_dtype(h.descr);
    if (!dt) {
        snprintf(err, errlen, "unsupported dtype '%s' (cwb reads '<f4', '<f8', '<f2' and "
                              "integers such as '<i8')", h.descr);
        goto out;
    }
    const int itemsize = dt->size;
    char shp[128];
    shape_str(&h, shp, sizeof shp);
    if (h.fortran) {
        snprintf(err, errlen, "fortran_order True is not supported (save a C-ordered array, "
                              "e.g. np.ascontiguousarray(x))");
        goto out;
    }
    if (h.ndim == 0) {
        snprintf(err, errlen, "0-d arrays are not supported (shape ())");
        goto out;
    }
    if (h.ndim > 2) {
        snprintf(err, errlen, "%d-d arrays are not supported (shape %s): cwb reads 1-D and 2-D",
                 h.ndim, shp);
        goto out;
    }
    int64_t rows = h.shape[0], cols = h.ndim == 2 ? h.shape[1] : 1;
    if (rows == 0 || cols == 0) {
        snprintf(err, errlen, "empty array (shape %s)", shp);
        goto out;
    }
    if (rows * cols > NPY_MAX_ELEMS) {
        snprintf(err, errlen, "array too large (shape %s)", shp);
        goto out;
    }
    uint64_t need = (uint64_t)(rows * cols) * (uint64_t)itemsize;
    uint64_t have = (uint64_t)st.st_size - (off + hlen);
    if (have < need) {
        snprintf(err, errlen, "truncated data (shape %s needs %llu bytes, found %llu)", shp,
                 (unsigned long long)need, (unsigned long long)have);
        goto out;
    }
    if (have > need) {
        snprintf(err, errlen, "%llu unexpected bytes after the data",
                 (unsigned long long)(have - need));
        goto out;
    }
    size_t n = (size_t)(rows * cols);
    float *data = cwb_alloc(n);
    if (!data) {
        snprintf(err, errlen, "out of memory for shape %s", shp);
        goto out;
    }
    /* decode in chunks: portable whatever the host's byte order */
    unsigned char buf[8 * 1024];
    size_t per = sizeof buf / (size_t)itemsize, done = 0;
    while (done < n) {
        size_t m = n - done < per ? n - done : per;
        if (fread(buf, (size_t)itemsize, m, f) != m) {
            snprintf(err, errlen, "read error in the data");
            cwb_free(data);
            goto out;
        }
        for (size_t i = 0; i < m; i++) {
            double v = decode(dt, buf + (size_t)itemsize * i, &data[done + i]);
            if (isfinite(v) && fabs(v) > dt->limit) {   /* NaN and Inf pass, as values */
                snprintf(err, errlen, "element %zu (%g) does not fit float32%s", done + i, v,
                         dt->kind == 'f' ? "" : " exactly (integers up to 2^24)");
                cwb_free(data);
                goto out;
            }
        }
        done += m;
    }
    t->data = data;
    t->rows = (int)rows;
    t->cols = (int)cols;
    rc = 0;
out:
    free(text);
    fclose(f);
    return rc;
}

void cwb_npy_load(lua_State *L, const char *path) {
    /* the empty object first: after fopen no Lua call may raise */
    cwb_tensor *t = cwb_lua_newobject(L, sizeof *t, 0, CWB_TENSOR_MT);
    char err[320];
    if (npy_read(path, t, err, sizeof err) != 0) luaL_error(L, "%s: %s", path, err);
}

/* ---- writing ------------------------------------------------------------------ */

void cwb_npy_save(lua_State *L, const cwb_tensor *t, const char *path) {
    char header[128];
    int n = snprintf(header, sizeof header,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", t->rows,
                     t->cols);
    /* pad with spaces so that magic + version + length + header is a
     * multiple of 64, the header ending in '\n' */
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    int hlen = n + pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    char err[512];
    cwb_atomic a;
    if (cwb_atomic_open(&a, path, err, sizeof err) != 0) {
        luaL_error(L, "%s", err);
        return;
    }
    fwrite(pre, 1, sizeof pre, a.f);
    fwrite(header, 1, (size_t)n, a.f);
    for (int i = 0; i < pad; i++) fputc(' ', a.f);
    fputc('\n', a.f);
    unsigned char buf[4 * 1024];
    size_t total_n = cwb_tensor_size(t), done = 0;
    while (done < total_n) {
        size_t m = total_n - done < 1024 ? total_n - done : 1024;
        for (size_t i = 0; i < m; i++) {
            uint32_t u;
            memcpy(&u, &t->data[done + i], 4);
            buf[4 * i] = (unsigned char)u;
            buf[4 * i + 1] = (unsigned char)(u >> 8);
            buf[4 * i + 2] = (unsigned char)(u >> 16);
            buf[4 * i + 3] = (unsigned char)(u >> 24);
        }
        fwrite(buf, 4, m, a.f);
        done += m;
    }
    if (cwb_atomic_commit(&a, err, sizeof err) != 0) luaL_error(L, "%s", err);
}
