/*
 * lbind.c - the binding's shared conventions: objects, option tables,
 * index tables, atomic file writes and progress lines (see lbind.h).
 */
#include "lua/lbind.h"
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void *cwb_lua_newobject(lua_State *L, size_t size, int nuv, const char *tname) {
    void *p = lua_newuserdatauv(L, size, nuv);
    memset(p, 0, size);
    luaL_setmetatable(L, tname);
    return p;
}

int cwb_lua_freed(lua_State *L, const void *obj, const char *what) {
    if (obj) return 0;
    lua_pushfstring(L, "%s (freed)", what);
    return 1;
}

/* ---- option tables ------------------------------------------------------ */

int cwb_opts_error(cwb_opts *o, const char *key, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lua_pushfstring(o->L, "option '%s%s': %s", o->prefix, key, msg);
    return luaL_argerror(o->L, o->arg, lua_tostring(o->L, -1));
}

static int is_known(const char *k, const char *const known[]) {
    for (int i = 0; known[i]; i++)
        if (strcmp(k, known[i]) == 0) return 1;
    return 0;
}

static void check_keys(cwb_opts *o, const char *const known[]) {
    lua_State *L = o->L;
    lua_pushnil(L);
    while (lua_next(L, o->idx)) {
        lua_pop(L, 1); /* value */
        if (lua_type(L, -1) != LUA_TSTRING) {
            const char *tn = luaL_typename(L, -1);
            if (o->prefix[0]) /* prefix is "data.": name the table without the dot */
                lua_pushfstring(L, "option '%s': option names must be strings, got %s",
                                lua_pushlstring(L, o->prefix, strlen(o->prefix) - 1), tn);
            else
                lua_pushfstring(L, "option names must be strings, got %s", tn);
            luaL_argerror(L, o->arg, lua_tostring(L, -1));
        }
        const char *k = lua_tostring(L, -1);
        if (!is_known(k, known)) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            lua_pushfstring(L, "unknown option '%s%s' (known: ", o->prefix, k);
            luaL_addvalue(&b);
            for (int i = 0; known[i]; i++) {
                if (i) luaL_addstring(&b, ", ");
                luaL_addstring(&b, known[i]);
            }
            luaL_addchar(&b, ')');
            luaL_pushresult(&b);
            luaL_argerror(L, o->arg, lua_tostring(L, -1));
        }
    }
}

void cwb_opts_init(cwb_opts *o, lua_State *L, int arg, const char *const known[]) {
    o->L = L;
    o->arg = arg;
    o->prefix[0] = '\0';
    o->idx = 0;
    if (lua_isnoneornil(L, arg)) return;
    luaL_checktype(L, arg, LUA_TTABLE);
    o->idx = lua_absindex(L, arg);
    check_keys(o, known);
}

int cwb_opts_sub(cwb_opts *o, const char *key, const char *const known[], cwb_opts *sub) {
    sub->L = o->L;
    sub->arg = o->arg;
    sub->idx = 0;
    int n = snprintf(sub->prefix, sizeof sub->prefix, "%s%s", o->prefix, key);
    if (n >= 0 && (size_t)n + 1 < sizeof sub->prefix) {
        sub->prefix[n] = '.';
        sub->prefix[n + 1] = '\0';
    }
    int t = cwb_opts_get(o, key);
    if (t == LUA_TNIL) {
        lua_pop(o->L, 1);
        return 0;
    }
    if (t != LUA_TTABLE)
        cwb_opts_error(o, key, "table expected, got %s", luaL_typename(o->L, -1));
    sub->idx = lua_gettop(o->L);
    check_keys(sub, known);
    return 1;
}

int cwb_opts_get(cwb_opts *o, const char *key) {
    if (!o->idx) {
        lua_pushnil(o->L);
        return LUA_TNIL;
    }
    return lua_getfield(o->L, o->idx, key);
}

int cwb_opts_has(cwb_opts *o, const char *key) {
    int t = cwb_opts_get(o, key);
    lua_pop(o->L, 1);
    return t != LUA_TNIL;
}

double cwb_opts_num(cwb_opts *o, const char *key, double def) {
    double v = def;
    int t = cwb_opts_get(o, key);
    if (t != LUA_TNIL) {
        if (t != LUA_TNUMBER)
            cwb_opts_error(o, key, "number expected, got %s", luaL_typename(o->L, -1));
        v = lua_tonumber(o->L, -1);
    }
    lua_pop(o->L, 1);
    return v;
}

lua_Integer cwb_opts_int(cwb_opts *o, const char *key, lua_Integer def) {
    lua_Integer v = def;
    int t = cwb_opts_get(o, key);
    if (t != LUA_TNIL) {
        int isint = 0;
        if (t != LUA_TNUMBER)
            cwb_opts_error(o, key, "number expected, got %s", luaL_typename(o->L, -1));
        v = lua_tointegerx(o->L, -1, &isint);
        if (!isint) cwb_opts_error(o, key, "number has no integer representation");
    }
    lua_pop(o->L, 1);
    return v;
}

lua_Integer cwb_opts_range(cwb_opts *o, const char *key, lua_Integer def,
                           lua_Integer lo, lua_Integer hi) {
    lua_Integer v = cwb_opts_int(o, key, def);
    if (v < lo || v > hi) {
        if (hi == LUA_MAXINTEGER || hi == INT_MAX)
            cwb_opts_error(o, key, "%lld is out of range (>= %lld)", (long long)v, (long long)lo);
        cwb_opts_error(o, key, "%lld is out of range %lld..%lld", (long long)v,
                       (long long)lo, (long long)hi);
    }
    return v;
}

int cwb_opts_ints(cwb_opts *o, const char *key, int *out, int lo_n, int hi_n) {
    lua_State *L = o->L;
    int t = cwb_opts_get(o, key);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return -1;
    }
    if (t != LUA_TTABLE) cwb_opts_error(o, key, "table expected, got %s", luaL_typename(L, -1));
    lua_Integer n = luaL_len(L, -1);
    if (n < lo_n || n > hi_n) cwb_opts_error(o, key, "%d sizes given, need %d..%d", (int)n, lo_n, hi_n);
    for (lua_Integer i = 1; i <= n; i++) {
        int isint = 0;
        lua_geti(L, -1, i);
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        if (!isint || v < 1 || v > INT_MAX) cwb_opts_error(o, key, "entry %d must be a positive integer", (int)i);
        out[i - 1] = (int)v;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return (int)n;
}

int cwb_opts_bool(cwb_opts *o, const char *key, int def) {
    int v = def;
    int t = cwb_opts_get(o, key);
    if (t != LUA_TNIL) {
        if (t != LUA_TBOOLEAN)
            cwb_opts_error(o, key, "boolean expected, got %s", luaL_typename(o->L, -1));
        v = lua_toboolean(o->L, -1);
    }
    lua_pop(o->L, 1);
    return v;
}

/* The string stays valid while the options table holds it (the caller's
 * argument), so it can be returned after popping. */
const char *cwb_opts_str(cwb_opts *o, const char *key, const char *def) {
    const char *v = def;
    int t = cwb_opts_get(o, key);
    if (t != LUA_TNIL) {
        if (t != LUA_TSTRING)
            cwb_opts_error(o, key, "string expected, got %s", luaL_typename(o->L, -1));
        v = lua_tostring(o->L, -1);
    }
    lua_pop(o->L, 1);
    return v;
}

/* ---- config fields ------------------------------------------------------- */

void cwb_lua_setfields(lua_State *L, const void *base, const cwb_json_field *f, int n) {
    for (int i = 0; i < n; i++) {
        const char *p = (const char *)base + f[i].offset;
        switch (f[i].type) {
        case CWB_JSON_INT: lua_pushinteger(L, *(const int *)p); break;
        case CWB_JSON_LONG: lua_pushinteger(L, *(const long *)p); break;
        case CWB_JSON_U64: lua_pushinteger(L, (lua_Integer)*(const uint64_t *)p); break;
        case CWB_JSON_BOOL: lua_pushboolean(L, *(const int *)p); break;
        case CWB_JSON_FLOAT: lua_pushnumber(L, *(const float *)p); break;
        case CWB_JSON_DOUBLE: lua_pushnumber(L, *(const double *)p); break;
        }
        lua_setfield(L, -2, f[i].key);
    }
}

/* ---- index tables -------------------------------------------------------- */

void cwb_lua_checkindices(lua_State *L, int idx, int arg, int n, int hi, int *out,
                          const char *what) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s: table expected, got %s", what,
                                              luaL_typename(L, idx)));
    lua_Integer len = luaL_len(L, idx);
    if (len != n)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s: %d indices expected, got %d", what, n,
                                              (int)len));
    for (int i = 0; i < n; i++) {
        int isint = 0;
        lua_geti(L, idx, i + 1);
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        if (!isint)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s[%d]: integer expected, got %s", what,
                                                  i + 1, luaL_typename(L, -1)));
        if (v < 1 || v > hi)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s[%d] = %I is out of range 1..%d", what,
                                                  i + 1, v, hi));
        out[i] = (int)v - 1;
        lua_pop(L, 1);
    }
}

void cwb_lua_checkfloats(lua_State *L, int idx, int arg, int n, float *out, const char *what) {
    idx = lua_absindex(L, idx);
    cwb_tensor *t = cwb_lua_testtensor(L, idx);
    if (t) {
        if ((long)cwb_tensor_size(t) != n)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s: %d values expected, got a %dx%d tensor",
                                                  what, n, t->rows, t->cols));
        memcpy(out, t->data, (size_t)n * sizeof(float));
        return;
    }
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s: table or tensor expected, got %s", what,
                                              luaL_typename(L, idx)));
    lua_Integer len = luaL_len(L, idx);
    if (len != n)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s: %d values expected, got %d", what, n,
                                              (int)len));
    for (int i = 0; i < n; i++) {
        int isnum = 0;
        lua_geti(L, idx, i + 1);
        lua_Number v = lua_tonumberx(L, -1, &isnum);
        if (!isnum)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s[%d]: number expected, got %s", what,
                                                  i + 1, luaL_typename(L, -1)));
        out[i] = (float)v;
        lua_pop(L, 1);
    }
}

void cwb_lua_pushints(lua_State *L, const int *v, int n, int base) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushinteger(L, (lua_Integer)v[i] + base);
        lua_rawseti(L, -2, i + 1);
    }
}

/* ---- progress ------------------------------------------------------------ */

double cwb_now(void) { return cwb_clock_seconds(); }

static void fmt_duration(char *buf, size_t n, double s) {
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void cwb_progress_start(cwb_progress *p, const char *label, const char *key, long total, int quiet) {
    memset(p, 0, sizeof *p);
    p->label = label && *label ? label : "run";
    p->key = key;
    p->total = total > 0 ? total : 1;
    p->quiet = quiet || cwb_lua_quiet();
    p->tty = isatty(STDERR_FILENO);
    p->t0 = cwb_now();
    p->next_line = (p->total + 9) / 10;
}

static void draw(cwb_progress *p, long done, const cwb_metrics *m, int final) {
    double el = cwb_now() - p->t0;
    double frac = (double)done / (double)p->total;
    if (frac > 1) frac = 1;
    char eta[32], elapsed[32], extra[64] = "";
    fmt_duration(elapsed, sizeof eta, el);
    fmt_duration(eta, sizeof eta, done > 0 ? el * (double)(p->total - done) / (double)done : 0);
    const double *v = p->key && m ? cwb_metrics_get(m, p->key) : NULL;
    if (v) snprintf(extra, sizeof extra, "  %s %.4g", p->key, *v);
    if (p->tty) {
        enum { W = 24 };
        char bar[W + 1];
        int fill = (int)(frac * W + 0.5);
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
        bar[W] = '\0';
        fprintf(stderr, "\r\033[K%s [%s] %3d%% %ld/%ld %s %s%s", p->label, bar, (int)(frac * 100), done,
                p->total, final ? "in" : "ETA", final ? elapsed : eta, extra);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: step %ld/%ld (%d%%)%s, %s elapsed\n", p->label, done, p->total,
                (int)(frac * 100), extra, elapsed);
    }
    fflush(stderr);
    p->active = p->tty && !final;
}

void cwb_progress_update(cwb_progress *p, long done, const cwb_metrics *m) {
    if (p->quiet) return;
    if (p->tty) {
        double now = cwb_now();
        if (now - p->last_draw < 0.1 && done < p->total) return;
        p->last_draw = now;
        draw(p, done, m, 0);
    } else if (done >= p->next_line && done < p->total) {
        while (p->next_line <= done) p->next_line += (p->total + 9) / 10;
        draw(p, done, m, 0);
    }
}

void cwb_progress_end(cwb_progress *p, long done, const cwb_metrics *m) {
    if (p->quiet) return;
    draw(p, done, m, 1);
}
