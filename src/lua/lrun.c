/*
 * lrun.c - trainers as Lua sees them: the one run function every trainer
 * class uses (tr:run), and reset, params, name and step on top of the
 * trainer interface (engine/train/driver.h; lbind.h, "trainers").
 *
 * A run is cwb_drive() with hooks that record the step metrics and the
 * evaluations in the session store, build the history table, feed the
 * workbench's observer (lua/observer.h), draw progress (the text formatted
 * only when a line is drawn), check Ctrl-C and call on_step.  The loop
 * itself is the engine's, so every trainer has the same options, defaults
 * and result table, and a new trainer needs nothing here.
 *
 * The store record is closed exactly once whatever happens: a to-be-closed
 * guard on the Lua stack (lua_toclose).  If a Lua error leaves the loop (a
 * NaN, an error in on_step, Ctrl-C) -- cwb_drive holds no resources, so a
 * longjmp out of a hook is safe -- Lua calls the guard's __close while
 * unwinding and the run is marked "failed" or "interrupted", after the
 * message handler has taken its traceback at the error point, so recipes
 * see where the error really happened.
 *
 * While the interactive workbench is up it registers live-run hooks
 * (lua/observer.h): each run's start, metrics, progress ticks and end are
 * forwarded to it, a tick may ask the loop to stop, and nothing is printed
 * on stderr (the workbench shows the progress itself).
 *
 * Live knobs (engine/core/knob.h).  The guard of the innermost run is kept
 * in the registry (ACTIVE_KEY) while the run goes on, so that cwb.knob --
 * called from a tick (a line typed in the workbench, a knob key) or from
 * on_step -- reaches the trainer that is training: the value is set between
 * two steps, recorded as an event in the store at the step it follows, and
 * the observer marks it on the curve pane.  With no run going, cwb.knob
 * keeps the value for the next run, which starts with it.
 *
 * Rebuilding a run.  Each trainer constructor records its arguments (a deep
 * copy) and itself (cwb_lua_trainer_origin); tr:origin() gives them back,
 * so `rerun{tau = 0.5}` (lua/cwb/session.lua) builds the same trainer with
 * one change and runs it with the options of the last run (cwb.last_run).
 */
#include "lua/lbind.h"
#include "engine/core/error.h"
#include "store/store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_MT "cwb.runguard"
#define TRAINER_FIELD "__cwb_trainer"
#define ACTIVE_KEY "cwb.run.active"    /* the guard of the innermost run going on */
#define NEXT_KEY "cwb.knobs.next"      /* {name = value}: knobs for the next run */
#define LAST_KEY "cwb.run.last"        /* {trainer, options, run, name} of the last run */
#define ORIGINS_KEY "cwb.trainer.origins" /* weak keys: trainer -> {fn, n, args...} */

/* ---- the run record ------------------------------------------------------------ */

typedef struct {
    struct cwb_store *store;   /* NULL: not recorded */
    int64_t run;
    int done;
    cwb_progress prog;
    char label[96];
    const cwb_run_observer *hooks; /* the workbench's, or NULL when headless */
    void *ui;                  /* its handle for this run, or NULL */
    const cwb_train_ops *ops;  /* the trainer that trains, for the knobs */
    void *self;
    int outer;                 /* registry ref of the run this one started inside */
} runguard;

/* status: "done", "stopped", "failed" or "interrupted". */
static void end_run(lua_State *L, runguard *g, const char *status) {
    if (g->done) return;
    g->done = 1;
    /* the run this one started inside (if any) is the active one again */
    lua_rawgeti(L, LUA_REGISTRYINDEX, g->outer);
    lua_setfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    luaL_unref(L, LUA_REGISTRYINDEX, g->outer);
    g->outer = LUA_NOREF;
    g->ops = NULL;
    g->self = NULL;
    if (g->ui && g->hooks->run_end) g->hooks->run_end(g->ui, status);
    g->ui = NULL;
    if (g->prog.active) { /* leave the bar's line before anything else prints */
        fputc('\n', stderr);
        fflush(stderr);
        g->prog.active = 0;
    }
    if (g->store && g->run > 0) cwb_store_run_end(g->store, g->run, status);
}

static int guard_close(lua_State *L) {
    runguard *g = luaL_checkudata(L, 1, GUARD_MT);
    end_run(L, g, cwb_lua_interrupted() ? "interrupted" : "failed");
    return 0;
}

static void warn_once(const char *what) {
    static int warned;
    if (warned) return;
    warned = 1;
    fprintf(stderr, "cwb: warning: %s; runs are not recorded\n", what);
    fflush(stderr);
}

/* Push the to-be-closed guard of a new run: recorded in the session store
 * (unless record is 0 or the store cannot be opened: then a one-time
 * warning), followed by the workbench when it is up. */
static runguard *run_begin(lua_State *L, const cwb_train_ops *ops, void *self, int record, const char *name,
                           const char *params, long total, int progress) {
    const uint64_t seed = ops->seed(self);
    if (luaL_newmetatable(L, GUARD_MT)) {
        lua_pushcfunction(L, guard_close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, guard_close);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    struct cwb_store *store = record ? cwb_lua_store(L) : NULL;
    runguard *g = cwb_lua_newobject(L, sizeof *g, 0, GUARD_MT);
    g->outer = LUA_NOREF;
    lua_toclose(L, -1);
    g->ops = ops;
    g->self = self;
    lua_getfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    g->outer = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    snprintf(g->label, sizeof g->label, "%s", name && *name ? name : "run");
    if (record && !store) {
        char msg[700];
        const char *why = cwb_lua_store_error();
        snprintf(msg, sizeof msg, "the run store could not be opened%s%s%s", why && *why ? " (" : "",
                 why && *why ? why : "", why && *why ? ")" : "");
        warn_once(msg);
    }
    if (store) {
        g->run = cwb_store_run_begin(store, cwb_lua_recipe(), g->label, params, seed);
        if (g->run > 0) g->store = store;
        else {
            char msg[300];
            snprintf(msg, sizeof msg, "the run store refused a new run (%s)", cwb_store_errmsg(store));
            warn_once(msg);
        }
    }
    g->hooks = cwb_lua_observer(L);
    if (g->hooks && g->hooks->run_begin)
        g->ui = g->hooks->run_begin(g->hooks->ud, L, g->label, params, total, g->store ? g->run : -1);
    cwb_progress_start(&g->prog, g->label, ops->headline, total, !progress || g->hooks);
    return g;
}

/* The knobs as they are now, to the workbench (its knob line). */
static void show_knobs(runguard *g) {
    if (!g->ui || !g->hooks->run_knobs) return;
    cwb_knob k[CWB_KNOBS_MAX];
    int n = cwb_train_knobs(g->ops, g->self, k, CWB_KNOBS_MAX);
    g->hooks->run_knobs(g->ui, k, n);
}

/* The guard of the innermost run going on, or NULL. */
static runguard *active_run(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    runguard *g = luaL_testudata(L, -1, GUARD_MT);
    lua_pop(L, 1);
    return g && !g->done && g->self ? g : NULL;
}

/* Turn a knob of the running run: set between two steps, recorded as an
 * event at the step it follows, marked by the workbench.  Raises on a bad
 * name or value (the engine's message).  Returns the value now. */
static double knob_turn(lua_State *L, runguard *g, const char *name, double value) {
    if (cwb_train_set(g->ops, g->self, name, value) != CWB_OK) cwb_lua_engine_error(L, "knob");
    cwb_knob k[CWB_KNOBS_MAX];
    const cwb_knob *kn = cwb_knob_find(k, cwb_train_knobs(g->ops, g->self, k, CWB_KNOBS_MAX), name);
    const double now = kn ? kn->value : value;
    const long step = g->ops->steps(g->self);
    if (g->store && g->run > 0 && cwb_store_event(g->store, g->run, step, "knob", name, value) != 0)
        warn_once(cwb_store_errmsg(g->store));
    if (g->ui && g->hooks->run_knob) g->hooks->run_knob(g->ui, step, name, value);
    show_knobs(g);
    return now;
}

/* The knobs kept for the next run (cwb.knob with nothing running) go into
 * this trainer before its parameters are recorded, so the run's record
 * says what it starts from; a knob the trainer lacks is said and dropped. */
static void apply_next_knobs(lua_State *L, const cwb_train_ops *ops, void *self) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, NEXT_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        const char *name = lua_tostring(L, -2);
        if (name && ops->set && cwb_train_set(ops, self, name, lua_tonumber(L, -1)) != CWB_OK) {
            fprintf(stderr, "cwb: knob %s for this run: %s; left out\n", name, cwb_errmsg());
            fflush(stderr);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, NEXT_KEY);
}

/* Push a table {name=, value=, min=, max=, option=, integer=} per knob. */
static void push_knobs(lua_State *L, const cwb_train_ops *ops, const void *self) {
    cwb_knob k[CWB_KNOBS_MAX];
    int n = cwb_train_knobs(ops, self, k, CWB_KNOBS_MAX);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        const struct { const char *key; double v; } num[] = {
            {"value", k[i].value}, {"min", k[i].min}, {"max", k[i].max}};
        lua_createtable(L, 0, 6);
        for (int q = 0; q < 3; q++) {
            lua_pushnumber(L, num[q].v);
            lua_setfield(L, -2, num[q].key);
        }
        lua_pushstring(L, k[i].name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, k[i].option);
        lua_setfield(L, -2, "option");
        lua_pushboolean(L, k[i].integer);
        lua_setfield(L, -2, "integer");
        lua_rawseti(L, -2, i + 1);
    }
}

/* The trainer of the last run (LAST_KEY.trainer), pushed, or nil. */
static cwb_lua_trainer *push_last_trainer(lua_State *L) {
    cwb_lua_trainer *tr = NULL;
    if (lua_getfield(L, LUA_REGISTRYINDEX, LAST_KEY) == LUA_TTABLE) {
        lua_getfield(L, -1, "trainer");
        lua_remove(L, -2);
        tr = lua_touserdata(L, -1);
        if (tr && !tr->self) tr = NULL;
    }
    return tr;
}

/* cwb.knob(name [, value]) */
int cwb_lua_knob(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    runguard *g = active_run(L);
    if (lua_isnoneornil(L, 2)) { /* the value now: the running run's, else the next run's, else the last's */
        cwb_knob k[CWB_KNOBS_MAX];
        const cwb_knob *kn = g ? cwb_knob_find(k, cwb_train_knobs(g->ops, g->self, k, CWB_KNOBS_MAX), name) : NULL;
        if (kn) {
            lua_pushnumber(L, kn->value);
            return 1;
        }
        if (!g && lua_getfield(L, LUA_REGISTRYINDEX, NEXT_KEY) == LUA_TTABLE &&
            lua_getfield(L, -1, name) == LUA_TNUMBER)
            return 1;
        cwb_lua_trainer *tr = push_last_trainer(L);
        kn = tr ? cwb_knob_find(k, cwb_train_knobs(tr->ops, tr->self, k, CWB_KNOBS_MAX), name) : NULL;
        if (kn) lua_pushnumber(L, kn->value);
        else lua_pushnil(L);
        return 1;
    }
    const double v = luaL_checknumber(L, 2);
    if (g) {
        lua_pushnumber(L, knob_turn(L, g, name, v));
        lua_pushboolean(L, 1);
        lua_pushinteger(L, g->ops->steps(g->self));
        return 3;
    }
    /* nothing runs: for the next run */
    if (lua_getfield(L, LUA_REGISTRYINDEX, NEXT_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, NEXT_KEY);
    }
    lua_pushnumber(L, v);
    lua_setfield(L, -2, name);
    lua_pushnumber(L, v);
    lua_pushboolean(L, 0);
    return 2;
}

/* cwb.knobs() */
int cwb_lua_knobs(lua_State *L) {
    runguard *g = active_run(L);
    if (g) {
        push_knobs(L, g->ops, g->self);
        lua_pushboolean(L, 1);
        return 2;
    }
    cwb_lua_trainer *tr = push_last_trainer(L);
    if (tr) push_knobs(L, tr->ops, tr->self);
    else lua_newtable(L);
    lua_pushboolean(L, 0);
    return 2;
}

int cwb_lua_last_run(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, LAST_KEY) != LUA_TTABLE) lua_pushnil(L);
    return 1;
}

static void run_metric(runguard *g, long step, const char *name, double value) {
    if (g->store) cwb_store_metric(g->store, g->run, step, name, value);
    if (g->ui && g->hooks->run_metric) g->hooks->run_metric(g->ui, step, name, value);
}

#define OBSERVER_KEY "cwb.observer"

void cwb_lua_set_observer(lua_State *L, const cwb_run_observer *obs) {
    if (obs) lua_pushlightuserdata(L, (void *)obs);
    else lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, OBSERVER_KEY);
}

const cwb_run_observer *cwb_lua_observer(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, OBSERVER_KEY);
    const cwb_run_observer *h = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return h;
}

/* ---- trainer objects ----------------------------------------------------------- */

void cwb_lua_trainer_class(lua_State *L, const char *tname) {
    luaL_getmetatable(L, tname);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, TRAINER_FIELD);
    lua_pop(L, 1);
}

void cwb_lua_newtrainerclass(lua_State *L, const char *tname, const char *label, const char *doc,
                             const luaL_Reg *methods, const cwb_lua_doc *docs, lua_CFunction tostring) {
    const luaL_Reg meta[] = {{"__gc", cwb_lua_trainer_gc}, {"__tostring", tostring}, {NULL, NULL}};
    cwb_lua_newclass(L, tname, label, doc, methods, docs, meta);
    cwb_lua_trainer_class(L, tname);
}

cwb_lua_trainer *cwb_lua_checktrainer(lua_State *L, int arg) {
    cwb_lua_trainer *tr = lua_touserdata(L, arg);
    int is = 0;
    if (tr && lua_getmetatable(L, arg)) {
        is = lua_getfield(L, -1, TRAINER_FIELD) == LUA_TBOOLEAN;
        lua_pop(L, 2);
    }
    if (!is) luaL_typeerror(L, arg, "cwb trainer");
    if (!tr->self) luaL_argerror(L, arg, "trainer was freed");
    return tr;
}

void cwb_lua_push_metrics(lua_State *L, const cwb_metrics *m, long step) {
    lua_createtable(L, 0, m->n + 1);
    if (step >= 0) {
        lua_pushinteger(L, step);
        lua_setfield(L, -2, "step");
    }
    for (int i = 0; i < m->n; i++) {
        lua_pushnumber(L, m->m[i].value);
        lua_setfield(L, -2, m->m[i].name);
    }
}

void cwb_json_push(lua_State *L, const cwb_json *j) {
    const char *t = cwb_json_text(j);
    if (!t) luaL_error(L, "out of memory building the run parameters");
    lua_pushstring(L, t);
}

void cwb_lua_push_params(lua_State *L, const cwb_train_ops *ops, const void *self) {
    cwb_json j;
    cwb_json_init(&j);
    int rc = ops->describe(self, &j);
    const char *t = cwb_json_text(&j);
    if (!rc && t) lua_pushstring(L, t);
    cwb_json_free(&j);
    if (rc) cwb_lua_engine_error(L, ops->kind);
    if (!t) luaL_error(L, "out of memory building the run parameters");
}

int cwb_lua_trainer_gc(lua_State *L) {
    cwb_lua_trainer *tr = lua_touserdata(L, 1);
    if (tr && tr->self && tr->ops && tr->ops->destroy) tr->ops->destroy(tr->self);
    if (tr) tr->self = NULL;
    return 0;
}

int cwb_lua_trainer_params(lua_State *L) {
    cwb_lua_trainer *tr = cwb_lua_checktrainer(L, 1);
    cwb_lua_push_params(L, tr->ops, tr->self);
    return 1;
}

int cwb_lua_trainer_name(lua_State *L) {
    lua_pushstring(L, cwb_lua_checktrainer(L, 1)->name);
    return 1;
}

int cwb_lua_trainer_reset(lua_State *L) {
    cwb_lua_trainer *tr = cwb_lua_checktrainer(L, 1);
    if (tr->ops->reset(tr->self) != CWB_OK) return cwb_lua_engine_error(L, "reset");
    lua_settop(L, 1);
    return 1;
}

/* tr:set(name, value): on the running run (recorded, marked) when tr is
 * the one training, else on the trainer for its next step. */
int cwb_lua_trainer_set(lua_State *L) {
    cwb_lua_trainer *tr = cwb_lua_checktrainer(L, 1);
    const char *name = luaL_checkstring(L, 2);
    const double v = luaL_checknumber(L, 3);
    runguard *g = active_run(L);
    if (g && g->self == tr->self) {
        knob_turn(L, g, name, v);
    } else if (cwb_train_set(tr->ops, tr->self, name, v) != CWB_OK) {
        return cwb_lua_engine_error(L, "set");
    }
    lua_settop(L, 1);
    return 1;
}

int cwb_lua_trainer_knobs(lua_State *L) {
    cwb_lua_trainer *tr = cwb_lua_checktrainer(L, 1);
    push_knobs(L, tr->ops, tr->self);
    return 1;
}

/* A deep copy of the value at idx (tables copied, cycles kept as cycles,
 * everything else shared), pushed; seen: stack index of a table mapping
 * originals to copies. */
static void deep_copy(lua_State *L, int idx, int seen) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE) {
        lua_pushvalue(L, idx);
        return;
    }
    lua_pushvalue(L, idx);
    if (lua_rawget(L, seen) != LUA_TNIL) return;
    lua_pop(L, 1);
    luaL_checkstack(L, 6, "copying options");
    lua_newtable(L);
    lua_pushvalue(L, idx);
    lua_pushvalue(L, -2);
    lua_rawset(L, seen);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        deep_copy(L, -2, seen);
        deep_copy(L, -2, seen);
        lua_rawset(L, -5);
        lua_pop(L, 1);
    }
}

/* Push a copy of arguments first..first+n-1 as {n = n, ...}. */
static void copy_args(lua_State *L, int first, int n) {
    lua_newtable(L);
    int seen = lua_gettop(L);
    lua_createtable(L, n, 1);
    for (int i = 0; i < n; i++) {
        deep_copy(L, first + i, seen);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushinteger(L, n);
    lua_setfield(L, -2, "n");
    lua_remove(L, seen);
}

void cwb_lua_trainer_origin(lua_State *L, int self, int nargs) {
    self = lua_absindex(L, self);
    if (lua_getfield(L, LUA_REGISTRYINDEX, ORIGINS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, ORIGINS_KEY);
    }
    lua_pushvalue(L, self);
    copy_args(L, 1, nargs);
    lua_Debug ar; /* the constructor running now: level 0 */
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "f", &ar)) lua_setfield(L, -2, "fn");
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* tr:origin() -> constructor, {n = , args...}: a fresh copy each call */
int cwb_lua_trainer_origin_fn(lua_State *L) {
    cwb_lua_checktrainer(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, ORIGINS_KEY) != LUA_TTABLE) return luaL_error(L, "origin: unknown");
    lua_pushvalue(L, 1);
    if (lua_rawget(L, -2) != LUA_TTABLE)
        return luaL_error(L, "origin: this trainer's constructor did not record its options");
    int rec = lua_gettop(L);
    lua_getfield(L, rec, "fn");
    lua_getfield(L, rec, "n");
    int n = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    for (int i = 1; i <= n; i++) lua_rawgeti(L, rec, i);
    copy_args(L, lua_gettop(L) - n + 1, n);
    lua_replace(L, rec + 2);
    lua_settop(L, rec + 2);
    return 2;
}

int cwb_lua_trainer_step(lua_State *L) {
    cwb_lua_trainer *tr = cwb_lua_checktrainer(L, 1);
    cwb_metrics m;
    if (tr->ops->step(tr->self, &m) != CWB_OK) return cwb_lua_engine_error(L, NULL);
    cwb_lua_push_metrics(L, &m, tr->ops->steps(tr->self));
    return 1;
}

/* ---- the run function ---------------------------------------------------------- */

typedef struct {
    lua_State *L;
    runguard *g;
    int on_step;               /* stack index of on_step, 0 if none */
    int hist;                  /* stack index of the history table, 0 if none */
    lua_Integer nhist;         /* points in it */
    int hist_size;             /* preallocation of its arrays */
} run_ctx;

/* history[key][k] = value, creating history[key] on first use */
static void hist_set(run_ctx *c, const char *key, lua_Integer k, int isint, double v) {
    lua_State *L = c->L;
    if (lua_getfield(L, c->hist, key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, c->hist_size, 0);
        lua_pushvalue(L, -1);
        lua_setfield(L, c->hist, key);
    }
    if (isint) lua_pushinteger(L, (lua_Integer)v);
    else lua_pushnumber(L, v);
    lua_rawseti(L, -2, k);
    lua_pop(L, 1);
}

static int h_log(void *ud, long step, const cwb_metrics *m) {
    run_ctx *c = ud;
    for (int i = 0; i < m->n; i++) run_metric(c->g, step, m->m[i].name, m->m[i].value);
    if (c->hist) {
        c->nhist++;
        hist_set(c, "step", c->nhist, 1, (double)step);
        for (int i = 0; i < m->n; i++) hist_set(c, m->m[i].name, c->nhist, 0, m->m[i].value);
    }
    return CWB_DRIVE_GO;
}

static int h_eval(void *ud, long step, const cwb_metrics *m) {
    run_ctx *c = ud;
    for (int i = 0; i < m->n; i++) run_metric(c->g, step, m->m[i].name, m->m[i].value);
    return CWB_DRIVE_GO;
}

static int h_tick(void *ud, long done, const cwb_metrics *m) {
    run_ctx *c = ud;
    runguard *g = c->g;
    if (cwb_lua_check_interrupt(c->L)) luaL_error(c->L, "interrupted");
    cwb_progress_update(&g->prog, done, m);
    if (g->ui && g->hooks->run_tick && g->hooks->run_tick(g->ui, c->L, done)) return CWB_DRIVE_STOP;
    return CWB_DRIVE_GO;
}

/* on_step(info): info = {step, <step metrics>, eval = {...} on evaluation
 * steps}; returning false stops the run. */
static int h_each(void *ud, long step, const cwb_metrics *m, const cwb_metrics *ev) {
    run_ctx *c = ud;
    lua_State *L = c->L;
    lua_pushvalue(L, c->on_step);
    cwb_lua_push_metrics(L, m, step);
    if (ev) {
        cwb_lua_push_metrics(L, ev, -1);
        lua_setfield(L, -2, "eval");
    }
    lua_call(L, 1, 1);
    int stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
    lua_pop(L, 1);
    return stop ? CWB_DRIVE_STOP : CWB_DRIVE_GO;
}

static const char *const run_keys[] = {"steps", "log_every", "eval_every", "eval", "on_step", "record",
                                       "progress", "name", "history", NULL};

int cwb_lua_trainer_run(lua_State *L) {
    cwb_lua_trainer *tr = cwb_lua_checktrainer(L, 1);
    const cwb_train_ops *ops = tr->ops;
    cwb_opts o;
    cwb_opts_init(&o, L, 2, run_keys);
    if (!o.idx) return luaL_typeerror(L, 2, "table");
    if (!cwb_opts_has(&o, "steps")) cwb_opts_error(&o, "steps", "required");
    cwb_drive_opts d;
    memset(&d, 0, sizeof d);
    d.steps = (long)cwb_opts_range(&o, "steps", 0, 0, LONG_MAX);
    d.log_every = (long)cwb_opts_range(&o, "log_every", cwb_drive_log_every(d.steps), 1, LONG_MAX);
    d.eval_every = (long)cwb_opts_range(&o, "eval_every", 0, 0, LONG_MAX);
    d.final_eval = cwb_opts_bool(&o, "eval", 1);
    const int record = cwb_opts_bool(&o, "record", 1);
    const int progress = cwb_opts_bool(&o, "progress", 1);
    const int history = cwb_opts_bool(&o, "history", 0);
    const char *name = cwb_opts_str(&o, "name", tr->name);
    run_ctx c = {L, NULL, 0, 0, 0, 0};
    int t = cwb_opts_get(&o, "on_step");
    if (t != LUA_TNIL && t != LUA_TFUNCTION)
        cwb_opts_error(&o, "on_step", "function expected, got %s", luaL_typename(L, -1));
    if (t == LUA_TFUNCTION) c.on_step = lua_gettop(L);
    else lua_pop(L, 1);
    if (history) {
        long pts = d.steps / d.log_every + 2;
        c.hist_size = pts < 65536 ? (int)pts : 65536;
        lua_createtable(L, 0, 4);
        c.hist = lua_gettop(L);
        lua_createtable(L, c.hist_size, 0);
        lua_setfield(L, c.hist, "step");
    }

    apply_next_knobs(L, ops, tr->self);
    cwb_lua_push_params(L, ops, tr->self);
    c.g = run_begin(L, ops, tr->self, record, name, lua_tostring(L, -1), d.steps, progress);
    const int gidx = lua_gettop(L);
    if (ops->embed && c.g->ui && c.g->hooks->run_embed) {
        int n_names = 0;
        const char *const *names = ops->class_names ? ops->class_names(tr->self, &n_names) : NULL;
        c.g->hooks->run_embed(c.g->ui, ops->embed, tr->self,
                              ops->labels ? ops->labels(tr->self) : NULL, names, names ? n_names : 0);
    }
    show_knobs(c.g);
    /* the last run, for rerun{...}: its trainer, its options, its id and name */
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "trainer");
    copy_args(L, 2, 1);
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
    lua_setfield(L, -2, "options");
    if (c.g->store) {
        lua_pushinteger(L, (lua_Integer)c.g->run);
        lua_setfield(L, -2, "run");
    }
    lua_pushstring(L, c.g->label);
    lua_setfield(L, -2, "name");
    lua_setfield(L, LUA_REGISTRYINDEX, LAST_KEY);

    cwb_drive_hooks h = {&c, h_log, h_eval, h_tick, c.on_step ? h_each : NULL};
    cwb_drive_result r;
    if (cwb_drive(ops, tr->self, &d, &h, &r) != CWB_OK) return cwb_lua_engine_error(L, NULL);

    runguard *g = c.g;
    const int64_t id = g->store ? g->run : -1;
    cwb_progress_end(&g->prog, r.done, &r.last);
    g->prog.active = 0;
    end_run(L, g, r.stopped ? "stopped" : "done");
    lua_closeslot(L, gidx);

    lua_createtable(L, 0, 7);
    if (id > 0) {
        lua_pushinteger(L, (lua_Integer)id);
        lua_setfield(L, -2, "run");
    }
    lua_pushstring(L, r.stopped ? "stopped" : "done");
    lua_setfield(L, -2, "status");
    lua_pushinteger(L, r.done);
    lua_setfield(L, -2, "steps");
    lua_pushinteger(L, r.step);
    lua_setfield(L, -2, "step");
    if (r.done > 0) {
        cwb_lua_push_metrics(L, &r.last, r.step);
        lua_setfield(L, -2, "last");
    }
    if (r.evaluated) {
        cwb_lua_push_metrics(L, &r.eval, -1);
        lua_setfield(L, -2, "eval");
    }
    if (c.hist) {
        lua_pushvalue(L, c.hist);
        lua_setfield(L, -2, "history");
    }
    return 1;
}
