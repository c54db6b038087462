/*
 * json.c - the JSON writer and escaper (json.h).
 */
#include "util/json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cwb_json_escape(cwb_buf *b, const char *s, size_t n) {
    cwb_buf_char(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': cwb_buf_add(b, "\\\"", 2); break;
        case '\\': cwb_buf_add(b, "\\\\", 2); break;
        case '\n': cwb_buf_add(b, "\\n", 2); break;
        case '\r': cwb_buf_add(b, "\\r", 2); break;
        case '\t': cwb_buf_add(b, "\\t", 2); break;
        default:
            if (c < 0x20 || c == 0x7f) cwb_buf_printf(b, "\\u%04x", c);
            else cwb_buf_char(b, (char)c);
        }
    }
    return cwb_buf_char(b, '"');
}

/* Whole numbers below 1e15 (exact in a double, and in a float when the
 * value came from one) print as integers: %g's shortest form of 10 is
 * "1e+01". */
static int plain_integer(char *buf, double v) {
    if (!(fabs(v) < 1e15) || v != floor(v)) return 0;
    snprintf(buf, CWB_JSON_NUM_MAX, "%.0f", v);
    return 1;
}

/* The fewest %g digits, up to max (17 for a double, 9 for a float), whose
 * text reads back as v: as a float (strtof) when v is one, else as a double. */
static char *shortest(char *buf, double v, int max, int is_float) {
    if (!isfinite(v)) {
        snprintf(buf, CWB_JSON_NUM_MAX, "null");
        return buf;
    }
    if (plain_integer(buf, v)) return buf;
    for (int p = 1; p <= max; p++) {
        snprintf(buf, CWB_JSON_NUM_MAX, "%.*g", p, v);
        if (is_float ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v) break;
    }
    return buf;
}

char *cwb_json_fmt_double(char *buf, double v) { return shortest(buf, v, 17, 0); }
char *cwb_json_fmt_float(char *buf, float v) { return shortest(buf, v, 9, 1); }

void cwb_json_init(cwb_json *j) {
    cwb_buf empty = CWB_BUF_INIT;
    j->b = empty;
    j->first = 1;
    cwb_buf_reserve(&j->b, 256);
    if (j->b.p) j->b.p[0] = '\0';
}

void cwb_json_free(cwb_json *j) { cwb_buf_free(&j->b); }

static void key(cwb_json *j, const char *k) {
    if (!j->first) cwb_buf_char(&j->b, ',');
    j->first = 0;
    if (k) {
        cwb_json_escape(&j->b, k, strlen(k));
        cwb_buf_char(&j->b, ':');
    }
}

void cwb_json_open(cwb_json *j, const char *k) {
    if (k) key(j, k);
    else if (!j->first) cwb_buf_char(&j->b, ',');
    cwb_buf_char(&j->b, '{');
    j->first = 1;
}

void cwb_json_close(cwb_json *j) {
    cwb_buf_char(&j->b, '}');
    j->first = 0;
}

void cwb_json_double(cwb_json *j, const char *k, double v) {
    char t[CWB_JSON_NUM_MAX];
    key(j, k);
    cwb_buf_str(&j->b, cwb_json_fmt_double(t, v));
}

void cwb_json_float(cwb_json *j, const char *k, float v) {
    char t[CWB_JSON_NUM_MAX];
    key(j, k);
    cwb_buf_str(&j->b, cwb_json_fmt_float(t, v));
}

void cwb_json_int(cwb_json *j, const char *k, long long v) {
    key(j, k);
    cwb_buf_printf(&j->b, "%lld", v);
}

void cwb_json_bool(cwb_json *j, const char *k, int v) {
    key(j, k);
    cwb_buf_str(&j->b, v ? "true" : "false");
}

void cwb_json_str(cwb_json *j, const char *k, const char *v) {
    key(j, k);
    if (!v) v = "";
    cwb_json_escape(&j->b, v, strlen(v));
}

void cwb_json_ints(cwb_json *j, const char *k, const int *v, int n) {
    key(j, k);
    cwb_buf_char(&j->b, '[');
    for (int i = 0; i < n; i++) cwb_buf_printf(&j->b, i ? ",%d" : "%d", v[i]);
    cwb_buf_char(&j->b, ']');
}

void cwb_json_fields(cwb_json *j, const void *base, const cwb_json_field *f, int n) {
    for (int i = 0; i < n; i++) {
        const char *p = (const char *)base + f[i].offset;
        int iv;
        long lv;
        uint64_t uv;
        float fv;
        double dv;
        switch (f[i].type) {
        case CWB_JSON_INT: memcpy(&iv, p, sizeof iv); cwb_json_int(j, f[i].key, iv); break;
        case CWB_JSON_LONG: memcpy(&lv, p, sizeof lv); cwb_json_int(j, f[i].key, lv); break;
        case CWB_JSON_U64: memcpy(&uv, p, sizeof uv); cwb_json_int(j, f[i].key, (long long)uv); break;
        case CWB_JSON_BOOL: memcpy(&iv, p, sizeof iv); cwb_json_bool(j, f[i].key, iv); break;
        case CWB_JSON_FLOAT: memcpy(&fv, p, sizeof fv); cwb_json_float(j, f[i].key, fv); break;
        case CWB_JSON_DOUBLE: memcpy(&dv, p, sizeof dv); cwb_json_num(j, f[i].key, dv); break;
        }
    }
}

void cwb_json_record(cwb_json *j, const char *key, const char *kind, const void *base,
                     const cwb_json_field *f, int n) {
    cwb_json_open(j, key);
    if (kind) cwb_json_str(j, "kind", kind);
    cwb_json_fields(j, base, f, n);
    cwb_json_close(j);
}

const char *cwb_json_text(const cwb_json *j) { return j->b.oom ? NULL : cwb_buf_text(&j->b); }
