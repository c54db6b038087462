/*
 * lrun.c - a recorded run as seen from a C loop in the binding
 * (trainer:run, scalefit:run): the store record, metric buffering and the
 * progress display, closed exactly once whatever happens.
 *
 * The guard is a to-be-closed stack slot (lua_toclose): if a Lua error
 * leaves the loop (NaN, an error in on_step, Ctrl-C), Lua calls its __close
 * while unwinding and the run is marked "failed" or "interrupted" -- after
 * the message handler has already taken its traceback at the error point,
 * so recipes see where the error really happened.
 *
 * While the interactive workbench is up it registers live-run hooks
 * (lua/observer.h): each run's start, metrics, progress ticks and end are
 * forwarded to it, a tick may ask the loop to stop, and nothing is printed
 * on stderr (the workbench shows the progress itself).
 */
#include "lua/lbind.h"
#include "store/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_MT "cwb.runguard"

struct cwb_runguard {
    struct cwb_store *store;   /* NULL: not recorded */
    int64_t run;
    int done;
    long step;                 /* last step seen, for the final progress line */
    cwb_progress prog;
    char label[96];
    const cwb_run_observer *hooks; /* the workbench's, or NULL when headless */
    void *ui;                  /* its handle for this run, or NULL */
};

/* status: "done", "failed", "interrupted" or "stopped" (stored as done). */
static void end_run(cwb_runguard *g, const char *status) {
    if (g->done) return;
    g->done = 1;
    if (g->ui && g->hooks->run_end) g->hooks->run_end(g->ui, status);
    g->ui = NULL;
    if (strcmp(status, "stopped") == 0) status = "done";
    if (g->prog.active) { /* leave the bar's line before anything else prints */
        fputc('\n', stderr);
        fflush(stderr);
        g->prog.active = 0;
    }
    if (g->store && g->run > 0) cwb_store_run_end(g->store, g->run, status);
}

static int guard_close(lua_State *L) {
    cwb_runguard *g = luaL_checkudata(L, 1, GUARD_MT);
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

cwb_runguard *cwb_run_begin(lua_State *L, int record, const char *name, const char *params,
                            uint64_t seed, long total, int progress) {
    if (luaL_newmetatable(L, GUARD_MT)) {
        lua_pushcfunction(L, guard_close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, guard_close);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    struct cwb_store *store = record ? cwb_lua_store(L) : NULL;
    cwb_runguard *g = cwb_lua_newobject(L, sizeof *g, 0, GUARD_MT);
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
        g->run = cwb_store_run_begin(store, cwb_lua_recipe(), g->label, params ? params : "{}",
                                     seed);
        if (g->run > 0) g->store = store;
        else {
            char msg[300];
            snprintf(msg, sizeof msg, "the run store refused a new run (%s)",
                     cwb_store_errmsg(store));
            warn_once(msg);
        }
    }
    g->hooks = cwb_lua_observer(L);
    if (g->hooks && g->hooks->run_begin)
        g->ui = g->hooks->run_begin(g->hooks->ud, L, g->label, params ? params : "{}", total,
                                    cwb_run_id(g));
    cwb_progress_start(&g->prog, g->label, total, !progress || g->hooks);
    return g;
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

void cwb_run_embed(cwb_runguard *g, cwb_run_embed_fn fn, void *src, const int *labels) {
    if (g->ui && g->hooks->run_embed) g->hooks->run_embed(g->ui, fn, src, labels);
}

int64_t cwb_run_id(const cwb_runguard *g) { return g->store ? g->run : -1; }

void cwb_run_metric(cwb_runguard *g, long step, const char *name, double value) {
    if (g->store) cwb_store_metric(g->store, g->run, step, name, value);
    if (g->ui && g->hooks->run_metric) g->hooks->run_metric(g->ui, step, name, value);
}

int cwb_run_progress(lua_State *L, cwb_runguard *g, long done, const char *extra) {
    g->step = done;
    cwb_progress_update(&g->prog, done, extra);
    if (g->ui && g->hooks->run_tick) return g->hooks->run_tick(g->ui, L, done);
    return 0;
}

void cwb_run_finish(lua_State *L, cwb_runguard *g, int idx, long done, const char *extra,
                    int stopped) {
    if (!g->done) {
        cwb_progress_end(&g->prog, done, extra);
        g->prog.active = 0;
        end_run(g, stopped ? "stopped" : "done");
    }
    lua_closeslot(L, idx);
}

int cwb_run_hook(lua_State *L, int fn) {
    lua_pushvalue(L, fn);
    lua_insert(L, -2);
    lua_call(L, 1, 1);
    int stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
    lua_pop(L, 1);
    return stop;
}

void cwb_run_push_summary(lua_State *L, int64_t id, long done, long step, int stopped, int nrec) {
    lua_createtable(L, 0, nrec);
    if (id > 0) {
        lua_pushinteger(L, (lua_Integer)id);
        lua_setfield(L, -2, "run");
    }
    lua_pushinteger(L, done);
    lua_setfield(L, -2, "steps");
    lua_pushinteger(L, step);
    lua_setfield(L, -2, "step");
    lua_pushstring(L, stopped ? "stopped" : "done");
    lua_setfield(L, -2, "status");
}

void cwb_json_push(lua_State *L, const cwb_json *j) {
    const char *t = cwb_json_text(j);
    if (!t) luaL_error(L, "out of memory building the run parameters");
    lua_pushstring(L, t);
}
