/*
 * json.h - writing JSON text: the run parameters every trainer records
 * (engine/train/), tables turned into parameter records (lua/), and
 * anything else cwb writes as JSON.  Reading JSON is left to SQLite's json
 * functions, where the records are stored (store/).
 *
 * Layer: util (depends on util/buf.h and libc).
 *
 * One escaper for every JSON string cwb writes: '"' and '\\' escaped, \n
 * \r \t as their short escapes, other control characters and DEL as \u00XX;
 * bytes >= 0x80 pass through (the text is UTF-8).
 *
 * Numbers: non-finite values become null (JSON has no NaN or infinity).  A
 * double is written with the fewest digits that read back to the same
 * double; cwb_json_float does the same for a float, so a parameter the user
 * gave as 0.2 and the engine keeps as a float is recorded as 0.2, not as
 * 0.200000003 (or 0.20000000298023224, the float's exact double).  Whole
 * numbers below 1e15 are written without an exponent (10, not 1e+01).
 * cwb_json_num picks the float or the double writer from the type of its
 * value, so a config struct's float fields are recorded as the floats they
 * are without each caller having to know which fields are floats.
 */
#ifndef CWB_JSON_H
#define CWB_JSON_H

#include <stddef.h>

#include "util/buf.h"

/* Append s (n bytes) to b as a quoted JSON string.  0 or -1 (out of memory). */
int cwb_json_escape(cwb_buf *b, const char *s, size_t n);
/* The shortest decimal text of v that reads back exactly ("null" if not
 * finite), into buf of at least CWB_JSON_NUM_MAX bytes.  Returns buf. */
#define CWB_JSON_NUM_MAX 32
char *cwb_json_fmt_double(char *buf, double v);
char *cwb_json_fmt_float(char *buf, float v);

/* A writer for records of known shape: objects, keyed members, arrays of
 * ints.  Errors (out of memory) are sticky in w->b.oom. */
typedef struct {
    cwb_buf b;
    int first;          /* no comma needed before the next member */
} cwb_json;

void cwb_json_init(cwb_json *j);
void cwb_json_free(cwb_json *j);
void cwb_json_open(cwb_json *j, const char *key);   /* key NULL at top level: "{" */
void cwb_json_close(cwb_json *j);                   /* "}" */
void cwb_json_double(cwb_json *j, const char *key, double v);
void cwb_json_float(cwb_json *j, const char *key, float v);
/* A number member, written as a float when v is one (see above). */
#define cwb_json_num(j, key, v) \
    _Generic((v), float: cwb_json_float, default: cwb_json_double)((j), (key), (v))
void cwb_json_int(cwb_json *j, const char *key, long long v);
void cwb_json_bool(cwb_json *j, const char *key, int v);
void cwb_json_str(cwb_json *j, const char *key, const char *v);
void cwb_json_ints(cwb_json *j, const char *key, const int *v, int n);
/* A record's members as keyed JSON values, in table order: each field names
 * a member of the struct at `base` by its offset and C type.  One table per
 * config type, next to the type, serves every record that contains it. */
typedef enum {
    CWB_JSON_INT,        /* int */
    CWB_JSON_LONG,       /* long */
    CWB_JSON_U64,        /* uint64_t (a seed), written as a signed 64-bit integer */
    CWB_JSON_BOOL,       /* int, 0 = false */
    CWB_JSON_FLOAT,      /* float, with cwb_json_float */
    CWB_JSON_DOUBLE      /* double */
} cwb_json_type;
typedef struct {
    const char *key;
    cwb_json_type type;
    size_t offset;
} cwb_json_field;
/* {"member", type, offsetof(T, member)} for a member whose key is its name */
#define CWB_JSON_FIELD(T, member, type) {#member, type, offsetof(T, member)}
#define CWB_JSON_NFIELDS(table) ((int)(sizeof(table) / sizeof((table)[0])))
void cwb_json_fields(cwb_json *j, const void *base, const cwb_json_field *f, int n);
/* A config as one object, the member `key` (NULL: at the top level):
 * "kind": kind first when kind is not NULL, then the fields. */
void cwb_json_record(cwb_json *j, const char *key, const char *kind, const void *base,
                     const cwb_json_field *f, int n);

/* The text so far, or NULL after an allocation failure. */
const char *cwb_json_text(const cwb_json *j);

#endif
