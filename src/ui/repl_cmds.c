/*
 * repl_cmds.c - run() for both REPLs, and the plain REPL's versions of the
 * workbench's commands (repl_cmds.h).
 *
 * In the plain REPL a line runs to its end before the next is read, so
 * nothing is ever running while one types: pause(), resume() and stop() say
 * so, as the workbench does when no run is going.  The panes do not exist:
 * show(), png(), window(), projection() and colour_by() say where the same
 * pictures come from without them; clear() has nothing to clear.
 */
#include "ui/repl_cmds.h"
#include "lua/lcwb.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char cwb_repl_run_doc[] =
    "run(\"recipe.lua\", ...) -> results: run a recipe (arg = {[0] = path, ...}) with the "
    "session's --out folder and seed, as `cwb run` does; in the workbench the panes follow it "
    "and the prompt stays live";

int cwb_repl_run(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int nargs = lua_gettop(L) - 1;
    char old_recipe[1024];
    snprintf(old_recipe, sizeof old_recipe, "%s", cwb_lua_recipe());
    if (luaL_loadfile(L, path) != LUA_OK) return lua_error(L);
    lua_insert(L, 2); /* the chunk below its arguments */
    lua_getglobal(L, "arg");
    int old_arg = lua_gettop(L);
    lua_createtable(L, nargs, 1);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 0);
    for (int i = 1; i <= nargs; i++) {
        lua_pushvalue(L, 2 + i);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "arg");
    cwb_lua_set_context(path, cwb_lua_outdir(), cwb_lua_seed());
    /* call chunk(...) keeping the stack below: copy the function and args up */
    int top = lua_gettop(L);
    for (int i = 2; i <= 2 + nargs; i++) lua_pushvalue(L, i);
    int st = lua_pcall(L, nargs, LUA_MULTRET, 0);
    cwb_lua_set_context(old_recipe, cwb_lua_outdir(), cwb_lua_seed());
    lua_pushvalue(L, old_arg);
    lua_setglobal(L, "arg");
    if (st != LUA_OK) return lua_error(L);
    return lua_gettop(L) - top;
}

/* ---- the plain REPL ------------------------------------------------------------- */

static int quit_asked;

int cwb_repl_quit_asked(void) { return quit_asked; }

static int p_quit(lua_State *L) {
    (void)L;
    quit_asked = 1;
    return 0;
}

static int p_clear(lua_State *L) {
    (void)L;
    return 0;
}

/* pause, resume, stop: the name is the upvalue */
static int p_no_run(lua_State *L) {
    const char *name = lua_tostring(L, lua_upvalueindex(1));
    return luaL_error(L, "%s: nothing is running (the plain REPL runs one line at a time; "
                         "Ctrl-C interrupts it)", name);
}

/* show, png, window, projection, colour_by: name and pane are the upvalues */
static int p_no_pane(lua_State *L) {
    const char *name = lua_tostring(L, lua_upvalueindex(1));
    const char *pane = lua_tostring(L, lua_upvalueindex(2));
    return luaL_error(L, "%s: the %s is part of the workbench (cwb on a terminal, without "
                         "--plain); here cwb.runs.plot(id, metric) or `cwb runs plot ID METRIC` "
                         "draw recorded runs", name, pane);
}

static const struct {
    const char *name, *pane; /* pane NULL: a run command */
    const char *doc;
} PLAIN[] = {
    {"pause", NULL, "pause(): in the workbench, hold the current run; in the plain REPL nothing "
                    "runs while you type, so it says so"},
    {"resume", NULL, "resume(): in the workbench, go on with the paused run; nothing to resume "
                     "in the plain REPL"},
    {"stop", NULL, "stop(): in the workbench, end the current run early; nothing to stop in the "
                   "plain REPL (Ctrl-C interrupts a line)"},
    {"show", "curve pane", "show([metric]): the workbench's curve pane; in the plain REPL it says "
                           "how to draw recorded runs (cwb.runs.plot)"},
    {"png", "curve pane", "png([path]): save the workbench's curve pane; in the plain REPL it says "
                          "how to draw recorded runs (cwb.runs.plot(id, metric, file))"},
    {"svg", "curve pane", "svg([path]): save the workbench's panes as SVG; in the plain REPL it says "
                          "how to draw recorded runs (cwb.runs.plot(id, metric, \"file.svg\"))"},
    {"knob_line", "knob line", "knob_line(...): the workbench's knob line under its status line; not "
                               "in the plain REPL (knob() and cwb.knobs() list the knobs)"},
    {"window", "curve pane", "window([on]): a gnuplot window following the workbench's curve "
                             "pane; not in the plain REPL"},
    {"projection", "geometry pane", "projection(...): the workbench's geometry pane; not in the "
                                    "plain REPL (cwb.pca and cwb.tsne project embeddings)"},
    {"colour_by", "geometry pane", "colour_by(...): the workbench's geometry pane; not in the "
                                   "plain REPL"},
};

static const char *session_path;

void cwb_repl_set_session(const char *path) { session_path = path; }
const char *cwb_repl_session(void) { return session_path; }

void cwb_repl_session_line(char *buf, size_t len) {
    size_t n = (size_t)snprintf(buf, len, "load_session(\"");
    for (const char *p = session_path ? session_path : ""; *p && n + 4 < len; p++) {
        if (*p == '"' || *p == '\\') buf[n++] = '\\';
        buf[n++] = *p;
    }
    snprintf(buf + n, len > n ? len - n : 0, "\")");
}

void cwb_repl_open_workbench(lua_State *L) {
    int top = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cwb.workbench");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_getfield(L, -1, "install") == LUA_TFUNCTION) {
        if (lua_pcall(L, 0, 0, 0) == LUA_OK) {
            lua_settop(L, top);
            return;
        }
    }
    fprintf(stderr, "cwb: the workbench's Lua commands could not be loaded: %s\n",
            lua_isstring(L, -1) ? lua_tostring(L, -1) : "cwb.workbench has no install()");
    fflush(stderr);
    lua_settop(L, top);
}

void cwb_repl_open_plain(lua_State *L) {
    quit_asked = 0;
    /* what the Lua commands ask of this front end (lua/cwb/workbench.lua) */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "plain");
    lua_setfield(L, -2, "kind");
    lua_pushboolean(L, isatty(STDOUT_FILENO));
    lua_setfield(L, -2, "tty");
    lua_setfield(L, -2, "cwb.ui");
    lua_pop(L, 1);
    lua_pushcfunction(L, cwb_repl_run);
    cwb_lua_setdoc(L, -1, cwb_repl_run_doc);
    lua_setglobal(L, "run");
    lua_pushcfunction(L, p_quit);
    cwb_lua_setdoc(L, -1, "quit(): leave the REPL (as Ctrl-D / end of input); exit status 0");
    lua_setglobal(L, "quit");
    lua_pushcfunction(L, p_clear);
    cwb_lua_setdoc(L, -1, "clear(): empty the workbench's output area; nothing to clear in the "
                          "plain REPL");
    lua_setglobal(L, "clear");
    for (size_t i = 0; i < sizeof PLAIN / sizeof PLAIN[0]; i++) {
        lua_pushstring(L, PLAIN[i].name);
        if (PLAIN[i].pane) {
            lua_pushstring(L, PLAIN[i].pane);
            lua_pushcclosure(L, p_no_pane, 2);
        } else
            lua_pushcclosure(L, p_no_run, 1);
        cwb_lua_setdoc(L, -1, PLAIN[i].doc);
        lua_setglobal(L, PLAIN[i].name);
    }
    cwb_repl_open_workbench(L);
}
