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

/* ---- the run record ------------------------------------------------------------ */

typedef struct {
    struct cwb_store *store;   /* NULL: not recorded */
    int64_t run;
    int done;
    cwb_progress prog;
    char label[96];
    const cwb_run_observer *hooks; /* the workbench's, or NULL when headless */
    void *ui;                  /* its handle for this run, or NULL */
} runguard;

/* status: "done", "stopped", "failed" or "interrupted". */
static void end_run(runguard *g, const char *status) {
    if (g->done) return;
    g->done = 1;
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
    end_run(g, cwb_lua_interrupted() ? "interrupted" : "failed");
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
static runguard *run_begin(lua_State *L, int record, const char *name, const char *params, uint64_t seed,
                           long total, int progress, const char *headline) {
    if (luaL_newmetatable(L, GUARD_MT)) {
        lua_pushcfunction(L, guard_close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, guard_close);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    struct cwb_store *store = record ? cwb_lua_store(L) : NULL;
    runguard *g = cwb_lua_newobject(L, sizeof *g, 0, GUARD_MT);
    lua_toclose(L, -1);
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
    cwb_progress_start(&g->prog, g->label, headline, total, !progress || g->hooks);
    return g;
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

    cwb_lua_push_params(L, ops, tr->self);
    c.g = run_begin(L, record, name, lua_tostring(L, -1), ops->seed(tr->self), d.steps, progress, ops->headline);
    const int gidx = lua_gettop(L);
    if (ops->embed && c.g->ui && c.g->hooks->run_embed) {
        int n_names = 0;
        const char *const *names = ops->class_names ? ops->class_names(tr->self, &n_names) : NULL;
        c.g->hooks->run_embed(c.g->ui, ops->embed, tr->self,
                              ops->labels ? ops->labels(tr->self) : NULL, names, names ? n_names : 0);
    }

    cwb_drive_hooks h = {&c, h_log, h_eval, h_tick, c.on_step ? h_each : NULL};
    cwb_drive_result r;
    if (cwb_drive(ops, tr->self, &d, &h, &r) != CWB_OK) return cwb_lua_engine_error(L, NULL);

    runguard *g = c.g;
    const int64_t id = g->store ? g->run : -1;
    cwb_progress_end(&g->prog, r.done, &r.last);
    g->prog.active = 0;
    end_run(g, r.stopped ? "stopped" : "done");
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
