/*
 * lruns.c - cwb.runs: the run store from Lua.
 *
 * Two ways in: cwb.runs.open(path) gives a store object (methods below),
 * and the module-level functions use the session store, opened on first use
 * at --db / $CWB_DB / ./cwb-runs.db and kept in the registry of the Lua
 * state, so that lua_close (or Ctrl-C unwinding to main.c) closes it and
 * marks unfinished runs "interrupted".
 *
 * Failures of the store itself (locked file, full disk) do not stop a
 * recipe: log/finish return false plus the message, plot/export/show
 * return nil plus the message, like io.open.  Wrong arguments raise.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "lua/lbind.h"
#include "plot/runs_plot.h"
#include "store/export.h"
#include "store/store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STORE_MT "cwb.store"
static const char SESSION_KEY[] = "cwb.session_store";

typedef struct {
    cwb_store *s;
    int session;            /* the session store: close() is refused */
} lstore;

/* ---- the session store ------------------------------------------------------ */

static char *session_path;        /* from --db; NULL: CWB_DB or the default */
static char session_err[600];

void cwb_lua_set_store_path(const char *path) {
    free(session_path);
    session_path = path && *path ? strdup(path) : NULL;
}

const char *cwb_lua_store_error(void) { return session_err; }

static const char *store_path(void) {
    if (session_path) return session_path;
    const char *env = getenv("CWB_DB");
    return env && *env ? env : "cwb-runs.db";
}

struct cwb_store *cwb_lua_store(lua_State *L) {
    int t = lua_getfield(L, LUA_REGISTRYINDEX, SESSION_KEY);
    if (t == LUA_TUSERDATA) {
        lstore *ls = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return ls->s;
    }
    lua_pop(L, 1);
    if (t == LUA_TSTRING) return NULL;   /* failed before: do not wait for a lock again */
    char err[512];
    cwb_store *s = cwb_store_open(store_path(), err, sizeof err);
    if (!s) {
        snprintf(session_err, sizeof session_err, "%s", err);
        lua_pushstring(L, err);
        lua_setfield(L, LUA_REGISTRYINDEX, SESSION_KEY);
        return NULL;
    }
    session_err[0] = '\0';
    lstore *ls = cwb_lua_newobject(L, sizeof *ls, 0, STORE_MT);
    ls->s = s;
    ls->session = 1;
    lua_setfield(L, LUA_REGISTRYINDEX, SESSION_KEY);
    return s;
}

static cwb_store *session_or_raise(lua_State *L) {
    cwb_store *s = cwb_lua_store(L);
    if (!s) {
        lua_getfield(L, LUA_REGISTRYINDEX, SESSION_KEY);
        luaL_error(L, "cwb.runs: no run store: %s", lua_tostring(L, -1));
    }
    return s;
}

static cwb_store *check_store(lua_State *L, int arg) {
    lstore *ls = luaL_checkudata(L, arg, STORE_MT);
    if (!ls->s) luaL_argerror(L, arg, "the store is closed");
    return ls->s;
}

/* ---- JSON from a Lua table ---------------------------------------------------- */

static void push_json(lua_State *L, int idx, int depth, const char *where);

static void push_json_string(lua_State *L, const char *s, size_t n) {
    cwb_buf b = CWB_BUF_INIT;
    if (cwb_json_escape(&b, s, n)) {
        cwb_buf_free(&b);
        luaL_error(L, "out of memory");
    }
    lua_pushlstring(L, b.p, b.n);
    cwb_buf_free(&b);
}

static void push_json_number(lua_State *L, int idx) {
    if (lua_isinteger(L, idx)) {
        lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, idx));
        return;
    }
    char buf[CWB_JSON_NUM_MAX];
    lua_pushstring(L, cwb_json_fmt_double(buf, lua_tonumber(L, idx)));
}

/* Keys of the table at idx as a sorted Lua array (pushed); returns its
 * length, or -1 if the table is a proper sequence 1..n (n > 0). */
static lua_Integer sorted_keys(lua_State *L, int idx, const char *where) {
    lua_Integer n = 0, nint = 0, maxint = 0;
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        int kt = lua_type(L, -1);
        if (kt == LUA_TNUMBER && lua_isinteger(L, -1)) {
            lua_Integer k = lua_tointeger(L, -1);
            if (k >= 1) nint++;
            if (k > maxint) maxint = k;
        } else if (kt != LUA_TSTRING && kt != LUA_TNUMBER) {
            luaL_error(L, "%s: keys must be strings or numbers, got %s", where,
                       luaL_typename(L, -1));
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++n);
    }
    if (n > 0 && nint == n && maxint == n) return -1;
    /* insertion sort by the keys' text: params tables are small */
    for (lua_Integer i = 2; i <= n; i++) {
        lua_rawgeti(L, keys, i);
        const char *ki = luaL_tolstring(L, -1, NULL);
        lua_Integer j = i - 1;
        for (; j >= 1; j--) {
            lua_rawgeti(L, keys, j);
            const char *kj = luaL_tolstring(L, -1, NULL);
            int gt = strcmp(kj, ki) > 0;
            lua_pop(L, 2);
            if (!gt) break;
            lua_rawgeti(L, keys, j);
            lua_rawseti(L, keys, j + 1);
        }
        lua_pop(L, 1);   /* ki's string; the key itself is still at -1 */
        lua_rawseti(L, keys, j + 1);
    }
    return n;
}

static void push_json_table(lua_State *L, int idx, int depth, const char *where) {
    if (depth > 32) luaL_error(L, "%s: tables nested too deeply (or a cycle)", where);
    luaL_checkstack(L, 8, "params");
    lua_Integer n = sorted_keys(L, idx, where);
    int keys = lua_gettop(L);
    int pieces = 0;
    if (n < 0) {   /* a sequence: JSON array */
        lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
        lua_pushliteral(L, "[");
        pieces++;
        for (lua_Integer i = 1; i <= len; i++) {
            if (i > 1) { lua_pushliteral(L, ","); pieces++; }
            lua_rawgeti(L, idx, i);
            push_json(L, lua_gettop(L), depth + 1, where);
            lua_remove(L, -2);
            pieces++;
            if (pieces > 16) { lua_concat(L, pieces); pieces = 1; }
        }
        lua_pushliteral(L, "]");
    } else {
        lua_pushliteral(L, "{");
        pieces++;
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1) { lua_pushliteral(L, ","); pieces++; }
            lua_rawgeti(L, keys, i);
            size_t kl;
            const char *k = luaL_tolstring(L, -1, &kl);
            push_json_string(L, k, kl);
            lua_remove(L, -2);                       /* tolstring copy */
            lua_pushliteral(L, ":");
            lua_pushvalue(L, -3);                    /* the key */
            lua_rawget(L, idx);
            push_json(L, lua_gettop(L), depth + 1, where);
            lua_remove(L, -2);                       /* the raw value */
            lua_remove(L, -4);                       /* the key */
            pieces += 3;
            if (pieces > 16) { lua_concat(L, pieces); pieces = 1; }
        }
        lua_pushliteral(L, "}");
    }
    lua_concat(L, pieces + 1);
    lua_remove(L, keys);
}

/* Push the JSON text of the value at idx. */
static void push_json(lua_State *L, int idx, int depth, const char *where) {
    switch (lua_type(L, idx)) {
    case LUA_TNIL: lua_pushliteral(L, "null"); break;
    case LUA_TBOOLEAN: lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false"); break;
    case LUA_TNUMBER: push_json_number(L, idx); break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        push_json_string(L, s, n);
        break;
    }
    case LUA_TTABLE: push_json_table(L, idx, depth, where); break;
    default: {
        /* functions, objects: recorded by their description, not lost silently */
        size_t n;
        const char *s = luaL_tolstring(L, idx, &n);
        push_json_string(L, s, n);
        lua_remove(L, -2);
    }
    }
}

/* ---- pushing records ---------------------------------------------------------- */

static void set_str(lua_State *L, const char *k, const char *v) {
    if (!v) return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_num(lua_State *L, const char *k, double v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, lua_Integer v) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

static int push_run(const cwb_run_info *r, void *ud) {
    lua_State *L = ud;
    lua_createtable(L, 0, 10);
    set_int(L, "id", (lua_Integer)r->id);
    set_str(L, "recipe", r->recipe);
    set_str(L, "name", r->name);
    set_str(L, "params", r->params);
    set_int(L, "seed", (lua_Integer)r->seed);   /* > 2^63 wraps, as in the file */
    set_str(L, "version", r->version);
    set_str(L, "status", r->status);
    set_str(L, "started", r->started);
    set_str(L, "ended", r->ended);             /* nil while running */
    set_num(L, "duration", r->duration);
    return 0;
}

static int append_run(const cwb_run_info *r, void *ud) {
    lua_State *L = ud;
    push_run(r, L);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

static int append_event(long step, const char *kind, const char *name, double value, void *ud) {
    lua_State *L = ud;
    lua_createtable(L, 0, 4);
    set_int(L, "step", step);
    set_str(L, "kind", kind);
    set_str(L, "name", name);
    set_num(L, "value", value);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

static int set_summary(const cwb_metric_summary *m, void *ud) {
    lua_State *L = ud;
    lua_createtable(L, 0, 7);
    set_int(L, "count", m->count);
    set_num(L, "first", m->first);
    set_num(L, "last", m->last);
    set_num(L, "min", m->min);
    set_num(L, "max", m->max);
    set_int(L, "first_step", m->first_step);
    set_int(L, "last_step", m->last_step);
    lua_setfield(L, -2, m->name);
    return 0;
}

static int fail_nil(lua_State *L, const char *msg) {
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
}

static int fail_false(lua_State *L, const char *msg) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, msg);
    return 2;
}

static int64_t check_id(lua_State *L, int arg) {
    lua_Integer id = luaL_checkinteger(L, arg);
    luaL_argcheck(L, id > 0, arg, "run ids start at 1");
    return (int64_t)id;
}

/* ---- the operations (a: index of the first argument after the store) ---------- */

static int do_list(lua_State *L, cwb_store *s, int a) {
    (void)a;
    lua_newtable(L);
    if (cwb_store_runs(s, append_run, L)) return fail_nil(L, cwb_store_errmsg(s));
    return 1;
}

/* The run at argument a: pushed by fn (NULL: nothing) when it exists; else
 * nil and why are pushed and 0 returned (the caller returns 2). */
static int get_run(lua_State *L, cwb_store *s, int a, int64_t *id, cwb_run_fn fn) {
    *id = check_id(L, a);
    int r = cwb_store_run_get(s, *id, fn, L);
    if (r > 0) return 1;
    lua_pushnil(L);
    if (r < 0) lua_pushstring(L, cwb_store_errmsg(s));
    else lua_pushfstring(L, "no run %I in %s", (LUAI_UACINT)*id, cwb_store_path(s));
    return 0;
}

static int do_show(lua_State *L, cwb_store *s, int a) {
    int64_t id;
    if (!get_run(L, s, a, &id, push_run)) return 2;
    lua_newtable(L);
    if (cwb_store_metric_summaries(s, id, set_summary, L)) return fail_nil(L, cwb_store_errmsg(s));
    lua_setfield(L, -2, "metrics");
    lua_newtable(L);
    if (cwb_store_events(s, id, append_event, L)) return fail_nil(L, cwb_store_errmsg(s));
    lua_setfield(L, -2, "events");
    return 1;
}

/* params(id) -> {["loss.kind"] = "infonce", tau = 0.1, ...}: one entry per
 * parameter, nested keys dotted (store.h, cwb_store_run_params) */
static int set_param(const cwb_run_param *p, void *ud) {
    lua_State *L = ud;
    if (strcmp(p->type, "integer") == 0) lua_pushinteger(L, (lua_Integer)p->inum);
    else if (strcmp(p->type, "real") == 0) lua_pushnumber(L, p->num);
    else if (strcmp(p->type, "true") == 0 || strcmp(p->type, "false") == 0) lua_pushboolean(L, p->type[0] == 't');
    else if (strcmp(p->type, "null") == 0) return 0;
    else lua_pushstring(L, p->text);
    lua_setfield(L, -2, p->key);
    return 0;
}

static int do_params(lua_State *L, cwb_store *s, int a) {
    int64_t id;
    if (!get_run(L, s, a, &id, NULL)) return 2;
    lua_newtable(L);
    if (cwb_store_run_params(s, id, set_param, L)) return fail_nil(L, cwb_store_errmsg(s));
    return 1;
}

static int do_metrics(lua_State *L, cwb_store *s, int a) {
    int64_t id = check_id(L, a);
    const char *name = luaL_checkstring(L, a + 1);
    long *steps;
    double *values;
    long n = cwb_store_metric_series(s, id, name, &steps, &values);
    if (n < 0) return fail_nil(L, cwb_store_errmsg(s));
    /* (only a memory error can raise below, and it would leak these two arrays) */
    int ok = lua_checkstack(L, 4);
    if (ok) {
        lua_createtable(L, (int)n, 0);
        lua_createtable(L, (int)n, 0);
        for (long i = 0; i < n; i++) {
            lua_pushinteger(L, steps[i]);
            lua_rawseti(L, -3, i + 1);
            lua_pushnumber(L, values[i]);
            lua_rawseti(L, -2, i + 1);
        }
    }
    free(steps);
    free(values);
    if (!ok) return luaL_error(L, "cwb.runs.metrics: stack overflow");
    return 2;
}

static int do_export(lua_State *L, cwb_store *s, int a) {
    int64_t id = check_id(L, a);
    const char *path = luaL_checkstring(L, a + 1);
    static const char *const keys[] = {"wide", NULL};
    cwb_opts o;
    cwb_opts_init(&o, L, a + 2, keys);
    int wide = cwb_opts_bool(&o, "wide", 0);
    char err[1024];
    if (cwb_store_export_csv(s, id, path, wide, err, sizeof err)) return fail_nil(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

#define PLOT_MAX_IDS 64

static int do_plot(lua_State *L, cwb_store *s, int a) {
    int64_t ids[PLOT_MAX_IDS];
    int n = 0;
    if (lua_type(L, a) == LUA_TTABLE) {   /* {46, 47, 48}: several runs in one figure */
        lua_Integer len = luaL_len(L, a);
        luaL_argcheck(L, len >= 1 && len <= PLOT_MAX_IDS, a,
                      "a list of 1 to 64 run ids expected");
        for (lua_Integer i = 1; i <= len; i++) {
            lua_geti(L, a, i);
            int isint = 0;
            lua_Integer id = lua_tointegerx(L, -1, &isint);
            lua_pop(L, 1);
            if (!isint || id <= 0)
                return luaL_argerror(L, a, lua_pushfstring(L, "run ids start at 1 (item %d)",
                                                          (int)i));
            ids[n++] = (int64_t)id;
        }
    } else {
        ids[n++] = check_id(L, a);
    }
    const char *metric = luaL_checkstring(L, a + 1);
    const char *file = luaL_optstring(L, a + 2, NULL);
    char err[1024], *text = NULL;
    if (cwb_plot_runs(s, ids, n, metric, file, 0, 0, file ? NULL : &text, err, sizeof err))
        return fail_nil(L, err);
    if (text) {
        lua_pushstring(L, text);
        free(text);
    } else {
        lua_pushstring(L, file);
    }
    return 1;
}

static int do_ref(lua_State *L, cwb_store *s, int a) {
    int64_t id = check_id(L, a);
    const char *metric = luaL_checkstring(L, a + 1);
    double v = luaL_checknumber(L, a + 2);
    const char *label = luaL_optstring(L, a + 3, NULL);
    luaL_argcheck(L, *metric, a + 1, "empty metric name");
    luaL_argcheck(L, isfinite(v), a + 2, "a finite number expected");
    if (cwb_store_ref(s, id, metric, v, label)) return fail_false(L, cwb_store_errmsg(s));
    lua_pushboolean(L, 1);
    return 1;
}

static int do_begin(lua_State *L, cwb_store *s, int a) {
    const char *name = luaL_checkstring(L, a);
    uint64_t seed = (uint64_t)cwb_lua_seed();
    if (!lua_isnoneornil(L, a + 2)) seed = (uint64_t)luaL_checkinteger(L, a + 2);
    int pt = lua_type(L, a + 1);
    if (pt == LUA_TTABLE) {
        push_json(L, a + 1, 0, "params");
    } else if (pt == LUA_TSTRING) {
        lua_pushvalue(L, a + 1);              /* JSON text; the store checks it */
    } else if (pt == LUA_TNIL || pt == LUA_TNONE) {
        lua_pushliteral(L, "{}");
    } else {
        return luaL_typeerror(L, a + 1, "table or JSON string");
    }
    const char *json = lua_tostring(L, -1);
    int64_t id = cwb_store_run_begin(s, cwb_lua_recipe(), name, json, seed);
    if (id < 0) return luaL_error(L, "cwb.runs.begin: %s", cwb_store_errmsg(s));
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

static int do_log(lua_State *L, cwb_store *s, int a) {
    int64_t id = check_id(L, a);
    lua_Integer step = luaL_checkinteger(L, a + 1);
    const char *name = luaL_checkstring(L, a + 2);
    double v = luaL_checknumber(L, a + 3);
    luaL_argcheck(L, *name, a + 2, "empty metric name");
    if (cwb_store_metric(s, id, (long)step, name, v)) return fail_false(L, cwb_store_errmsg(s));
    lua_pushboolean(L, 1);
    return 1;
}

static int do_finish(lua_State *L, cwb_store *s, int a) {
    int64_t id = check_id(L, a);
    static const char *const st[] = {"done", "stopped", "failed", "interrupted", NULL};
    const char *status = st[luaL_checkoption(L, a + 1, "done", st)];
    if (cwb_store_run_end(s, id, status)) return fail_false(L, cwb_store_errmsg(s));
    lua_pushboolean(L, 1);
    return 1;
}

static int do_flush(lua_State *L, cwb_store *s, int a) {
    (void)a;
    if (cwb_store_flush(s)) return fail_false(L, cwb_store_errmsg(s));
    lua_pushboolean(L, 1);
    return 1;
}

static int do_path(lua_State *L, cwb_store *s, int a) {
    (void)a;
    lua_pushstring(L, cwb_store_path(s));
    return 1;
}

/* Methods (store at 1) and module functions (session store) share the code. */
#define BOTH(name)                                                                 \
    static int m_##name(lua_State *L) { return do_##name(L, check_store(L, 1), 2); } \
    static int f_##name(lua_State *L) { return do_##name(L, session_or_raise(L), 1); }
BOTH(list)
BOTH(show)
BOTH(params)
BOTH(metrics)
BOTH(export)
BOTH(plot)
BOTH(begin)
BOTH(finish)
BOTH(flush)

/* log and ref on the session store also tell the workbench, if it is up
 * (lua/observer.h), so that a metric a recipe records itself shows live. */
static int m_log(lua_State *L) { return do_log(L, check_store(L, 1), 2); }
static int m_ref(lua_State *L) { return do_ref(L, check_store(L, 1), 2); }

static int f_log(lua_State *L) {
    int r = do_log(L, session_or_raise(L), 1);
    const cwb_run_observer *o = cwb_lua_observer(L);
    if (lua_toboolean(L, -r) && o && o->stored_metric)
        o->stored_metric(o->ud, L, (int64_t)lua_tointeger(L, 1), (long)lua_tointeger(L, 2),
                         lua_tostring(L, 3), lua_tonumber(L, 4));
    return r;
}

static int f_ref(lua_State *L) {
    int r = do_ref(L, session_or_raise(L), 1);
    const cwb_run_observer *o = cwb_lua_observer(L);
    if (lua_toboolean(L, -r) && o && o->stored_ref)
        o->stored_ref(o->ud, L, (int64_t)lua_tointeger(L, 1), lua_tostring(L, 2),
                      lua_tonumber(L, 3), lua_isnoneornil(L, 4) ? NULL : lua_tostring(L, 4));
    return r;
}

static int f_path(lua_State *L) {
    cwb_store *s = cwb_lua_store(L);
    lua_pushstring(L, s ? cwb_store_path(s) : store_path());
    return 1;
}

static int m_path(lua_State *L) { return do_path(L, check_store(L, 1), 2); }

static int f_open(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    lstore *ls = cwb_lua_newobject(L, sizeof *ls, 0, STORE_MT);
    char err[512];
    ls->s = cwb_store_open(path, err, sizeof err);
    if (!ls->s) return luaL_error(L, "cwb.runs.open: %s", err);
    return 1;
}

static int m_close(lua_State *L) {
    lstore *ls = luaL_checkudata(L, 1, STORE_MT);
    if (ls->session) return luaL_error(L, "the session store closes by itself at exit");
    cwb_store_close(ls->s);
    ls->s = NULL;
    return 0;
}

static int mm_gc(lua_State *L) {
    lstore *ls = luaL_checkudata(L, 1, STORE_MT);
    cwb_store_close(ls->s);   /* flushes; unfinished runs become "interrupted" */
    ls->s = NULL;
    return 0;
}

static int mm_tostring(lua_State *L) {
    lstore *ls = luaL_checkudata(L, 1, STORE_MT);
    if (ls->s) lua_pushfstring(L, "cwb.store(%s)", cwb_store_path(ls->s));
    else lua_pushliteral(L, "cwb.store(closed)");
    return 1;
}

static const luaL_Reg methods[] = {
    {"list", m_list},     {"show", m_show},     {"metrics", m_metrics}, {"export", m_export},
    {"plot", m_plot},     {"begin", m_begin},   {"log", m_log},         {"finish", m_finish},
    {"params", m_params},
    {"flush", m_flush},   {"path", m_path},     {"close", m_close},     {"ref", m_ref},
    {NULL, NULL}};

static const cwb_lua_doc method_docs[] = {
    {"list", "st:list() -> {run, ...}: every run (id, recipe, name, params, seed, version, "
             "status, started, ended, duration)"},
    {"show", "st:show(id) -> run | nil, msg: one run with metrics = {name = {count, first, "
             "last, min, max, first_step, last_step}} and events = {{step, kind, name, value}, "
             "...} (knob changes)"},
    {"params", "st:params(id) -> {key = value} | nil, msg: the run's parameters, nested keys "
               "dotted (\"loss.kind\")"},
    {"metrics", "st:metrics(id, name) -> steps, values: one metric of a run in step order"},
    {"export", "st:export(id, path [, {wide=false}]) -> true | nil, msg: the run's metrics as "
               "CSV (step,name,value; wide: one column per metric); path \"-\" is stdout"},
    {"plot", "st:plot(id | {id, ...}, metric [, file]) -> text | file | nil, msg: metric "
             "against step for one run or several in one figure (legend: what differs), as "
             "text or into a PNG (SVG if file ends in .svg)"},
    {"ref", "st:ref(run, metric, y [, label]) -> true | false, msg: a reference line at y "
            "that figures of the run's metric draw (e.g. theta_ratio at 1)"},
    {"begin", "st:begin(name, params [, seed]) -> id: record a new run (params: table or JSON "
              "text; seed defaults to --seed)"},
    {"log", "st:log(run, step, name, value) -> true | false, msg: buffer one metric value"},
    {"finish", "st:finish(run [, status]) -> true | false, msg: end a run as \"done\" "
               "(default), \"stopped\", \"failed\" or \"interrupted\""},
    {"flush", "st:flush() -> true | false, msg: write buffered metrics now"},
    {"path", "st:path() -> string: the store's file"},
    {"close", "st:close(): flush and close; unfinished runs become \"interrupted\""},
    {NULL, NULL}};

static const luaL_Reg meta[] = {
    {"__gc", mm_gc}, {"__close", mm_gc}, {"__tostring", mm_tostring}, {NULL, NULL}};

static const luaL_Reg fns[] = {
    {"open", f_open},       {"list", f_list},     {"show", f_show},   {"metrics", f_metrics},
    {"export", f_export},   {"plot", f_plot},     {"begin", f_begin}, {"log", f_log},
    {"params", f_params},
    {"finish", f_finish},   {"flush", f_flush},   {"path", f_path},   {"ref", f_ref},
    {NULL, NULL}};

static const cwb_lua_doc fn_docs[] = {
    {"open", "cwb.runs.open(path) -> store: open (or create) a run store file; it has the "
             "same functions as methods"},
    {"list", "cwb.runs.list() -> {run, ...}: every run of the session store (id, recipe, "
             "name, params, seed, version, status, started, ended, duration)"},
    {"show", "cwb.runs.show(id) -> run | nil, msg: one run with metrics = {name = {count, "
             "first, last, min, max, first_step, last_step}} and events = {{step, kind, name, "
             "value}, ...}: the knob changes (kind \"knob\"; value from step + 1 on)"},
    {"params", "cwb.runs.params(id) -> {key = value} | nil, msg: the run's parameters, one "
               "entry each, nested keys dotted (\"loss.kind\", \"optim.lr\")"},
    {"metrics", "cwb.runs.metrics(id, name) -> steps, values: one metric of a run in step "
                "order"},
    {"export", "cwb.runs.export(id, path [, {wide=false}]) -> true | nil, msg: metrics as CSV "
               "(step,name,value; wide: one column per metric), written atomically"},
    {"plot", "cwb.runs.plot(id | {id, ...}, metric [, file]) -> text | file | nil, msg: "
             "metric against step for one run or several in one figure (legend: what differs), "
             "as text, or into a PNG (SVG if file ends in .svg)"},
    {"ref", "cwb.runs.ref(run, metric, y [, label]) -> true | false, msg: record a reference "
            "line at y for the run's metric (e.g. theta_ratio at 1, \"optimum\"); cwb runs "
            "plot, cwb.runs.plot and the workbench's curve pane draw it"},
    {"begin", "cwb.runs.begin(name, params [, seed]) -> id: record a new run of this recipe "
              "(params: table or JSON text; seed defaults to --seed)"},
    {"log", "cwb.runs.log(run, step, name, value) -> true | false, msg: record one metric "
            "value (buffered, written in batches)"},
    {"finish", "cwb.runs.finish(run [, status]) -> true | false, msg: end a run as \"done\" "
               "(default), \"stopped\", \"failed\" or \"interrupted\""},
    {"flush", "cwb.runs.flush() -> true | false, msg: write buffered metrics now"},
    {"path", "cwb.runs.path() -> string: the session store's file (--db, CWB_DB or "
             "cwb-runs.db)"},
    {NULL, NULL}};

int cwb_lua_open_runs(lua_State *L) {
    cwb_lua_newclass(L, STORE_MT, "store methods",
                     "a run store (cwb.runs.open): runs and their metrics in SQLite",
                     methods, method_docs, meta);
    cwb_lua_newlib(L, fns, fn_docs);
    cwb_lua_setdoc(L, -1, "the run store: runs and metrics recorded in SQLite "
                          "(docs/store.md)");
    return 1;
}
