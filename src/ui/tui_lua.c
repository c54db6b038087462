/*
 * tui_lua.c - the workbench's own commands, as Lua globals with doc strings
 * (help(run) ...): run a recipe with the panes live, pause/resume/stop the
 * current run, quit, save the curves as PNG, pick the plotted metric, open a
 * gnuplot window that follows the pane, clear the output area, choose the
 * geometry pane's projection and what its points are coloured by.
 */
#include "ui/tui_internal.h"
#include "ui/repl_cmds.h"
#include "lua/lcwb.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int l_pause(lua_State *L) {
    if (!tui.cur) return luaL_error(L, "pause: nothing is running");
    tui.paused = 1;
    tui_msg(TUI_ATTR_INFO, "paused %s at step %ld: resume() goes on, stop() ends it",
            tui.cur->name, tui.cur->done);
    return 0;
}

static int l_resume(lua_State *L) {
    if (!tui.paused) return luaL_error(L, "resume: nothing is paused");
    tui.paused = 0;
    tui.need_draw = 1;
    return 0;
}

static int l_stop(lua_State *L) {
    if (!tui.cur) return luaL_error(L, "stop: nothing is running");
    tui.cur->stop = 1;
    tui.paused = 0;
    tui_msg(TUI_ATTR_INFO, "stopping %s at step %ld", tui.cur->name, tui.cur->done);
    return 0;
}

static int l_quit(lua_State *L) {
    (void)L;
    tui_request_quit();
    return 0;
}

static int l_png(lua_State *L) {
    const char *path = luaL_optstring(L, 1, NULL);
    char msg[1400];
    if (tui_plot_png(path, msg, sizeof msg) != 0) return luaL_error(L, "%s", msg);
    tui_msg(TUI_ATTR_INFO, "%s", msg);
    return 0;
}

/* Push the metrics the runs have, "loss top1 ..." ("(no runs yet)"). */
static void push_metric_names(lua_State *L) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char seen[TUI_MAX_SERIES * 4][32];
    int nseen = 0;
    for (int i = 0; i < tui.nruns; i++)
        for (int j = 0; j < tui.runs[i]->nseries; j++) {
            const char *nm = tui.runs[i]->series[j].name;
            int dup = 0;
            for (int k = 0; k < nseen && !dup; k++) dup = strcmp(seen[k], nm) == 0;
            if (dup || nseen == (int)(sizeof seen / sizeof seen[0])) continue;
            snprintf(seen[nseen++], 32, "%s", nm);
            if (nseen > 1) luaL_addchar(&b, ' ');
            luaL_addstring(&b, nm);
        }
    if (!nseen) luaL_addstring(&b, "(no runs yet)");
    luaL_pushresult(&b);
}

static int l_show(lua_State *L) {
    if (lua_isnoneornil(L, 1)) { /* list what there is */
        push_metric_names(L);
        lua_pushfstring(L, "showing '%s'; the runs have: %s", tui.metric, lua_tostring(L, -1));
        return 1;
    }
    const char *m = luaL_checkstring(L, 1);
    luaL_argcheck(L, *m && strlen(m) < sizeof tui.metric, 1, "a metric name such as 'loss'");
    snprintf(tui.metric, sizeof tui.metric, "%s", m);
    int have = 0;
    for (int i = 0; i < tui.nruns && !have; i++) have = tui_run_find(tui.runs[i], m) != NULL;
    if (!have) { /* a typo would show an empty pane: say what there is */
        push_metric_names(L);
        tui_msg(TUI_ATTR_ERROR, "show: no run has '%s' values (yet); the runs have: %s", m,
                lua_tostring(L, -1));
    }
    tui.plot_dirty = 1;
    tui_plot_update(1);
    tui.need_draw = 1;
    return 0;
}

static int l_window(lua_State *L) {
    int on = lua_isnone(L, 1) ? 1 : lua_toboolean(L, 1);
    char msg[300];
    if (tui_plot_window(on, msg, sizeof msg) != 0) return luaL_error(L, "%s", msg);
    tui_msg(TUI_ATTR_INFO, "%s", msg);
    return 0;
}

static int l_clear(lua_State *L) {
    (void)L;
    tui_out_sync();
    tui_sb_free(&tui.sb);
    tui_sb_init(&tui.sb, 5000);
    tui.scroll = 0;
    tui.need_draw = 1;
    return 0;
}

/* projection("pca" | "tsne" [, perplexity]); projection() -> name, perplexity */
static int l_projection(lua_State *L) {
    double perp;
    if (lua_isnoneornil(L, 1)) {
        lua_pushstring(L, tui_geom_projection(&perp));
        lua_pushnumber(L, perp);
        return 2;
    }
    const char *name = luaL_checkstring(L, 1);
    int kind;
    if (strcmp(name, "pca") == 0) kind = TUI_PROJ_PCA;
    else if (strcmp(name, "tsne") == 0) kind = TUI_PROJ_TSNE;
    else return luaL_argerror(L, 1, lua_pushfstring(L, "unknown projection '%s' (pca, tsne)", name));
    tui_geom_projection(&perp);
    perp = luaL_optnumber(L, 2, perp);
    luaL_argcheck(L, perp > 0 && isfinite(perp), 2, "the perplexity must be positive and finite");
    if (kind == TUI_PROJ_PCA && !lua_isnoneornil(L, 2))
        return luaL_argerror(L, 2, "a perplexity goes with \"tsne\" only");
    /* projected at once: the run as it is now, paused or not, else the last picture */
    const char *when = tui_geom_set_projection(kind, perp) == 0 ? "" : " from the first frame of a run";
    if (kind == TUI_PROJ_TSNE)
        tui_msg(TUI_ATTR_INFO, "geometry: t-SNE, perplexity %g%s", perp, when);
    else
        tui_msg(TUI_ATTR_INFO, "geometry: PCA%s", when);
    return 0;
}

/* colour_by("class" | "view" | "auto"); colour_by() -> setting, shown */
static int l_colour_by(lua_State *L) {
    static const char *const names[] = {"auto", "class", "view", NULL};
    static const int kinds[] = {TUI_COLOUR_AUTO, TUI_COLOUR_CLASS, TUI_COLOUR_VIEW};
    const char *shown;
    if (!lua_isnoneornil(L, 1)) {
        tui_geom_set_colour(kinds[luaL_checkoption(L, 1, NULL, names)]);
        tui_geom_colour(&shown);
        if (tui.g_valid) tui_msg(TUI_ATTR_INFO, "geometry: points coloured by %s", shown);
        return 0;
    }
    lua_pushstring(L, tui_geom_colour(&shown));
    lua_pushstring(L, shown);
    return 2;
}

static const luaL_Reg fns[] = {{"run", cwb_repl_run},   {"pause", l_pause}, {"resume", l_resume},
                               {"stop", l_stop}, {"quit", l_quit},   {"png", l_png},
                               {"show", l_show}, {"window", l_window}, {"clear", l_clear},
                               {"projection", l_projection}, {"colour_by", l_colour_by},
                               {NULL, NULL}};

static const cwb_lua_doc docs[] = {
    {"run", cwb_repl_run_doc},
    {"pause", "pause(): hold the current run between two steps (the prompt stays live)"},
    {"resume", "resume(): go on with the paused run"},
    {"stop", "stop(): end the current run early, as if its steps were done (Ctrl-C aborts the "
             "whole chunk instead)"},
    {"quit", "quit(): leave the workbench (as Ctrl-D on an empty line); exit status 0"},
    {"png", "png([path]): save the curve pane's runs as a PNG figure (default "
            "OUTDIR/cwb-METRIC.png); also the F2 key"},
    {"show", "show([metric]): plot that metric of every run in the curve pane (\"loss\", "
             "\"top1\", \"theta\", ...; one no run has gets the list of those there are); "
             "without an argument, list the metrics there are"},
    {"window", "window([on]): open (or with false close) a gnuplot window that follows the "
               "curve pane; needs a display; also cwb.plot.window"},
    {"clear", "clear(): empty the output area"},
    {"projection", "projection(\"pca\" | \"tsne\" [, perplexity]): how the geometry pane projects the "
                   "embeddings, PCA (default) or exact t-SNE (perplexity 30, at most 128 rows per view), "
                   "at once (paused, or the last picture after a run); projection() -> name, perplexity"},
    {"colour_by", "colour_by(\"class\" | \"view\" | \"auto\"): what the geometry pane colours the points "
                  "by: the data's classes (clusters), or the two views; auto (default) is class when "
                  "the data has labels; colour_by() -> setting, what is shown"},
    {NULL, NULL}};

void tui_lua_open(lua_State *L) {
    int top = lua_gettop(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        for (const cwb_lua_doc *d = docs; d->name; d++)
            if (strcmp(d->name, f->name) == 0) cwb_lua_setdoc(L, -1, d->doc);
        lua_setglobal(L, f->name);
    }
    /* plot.window(true), where the plotting module leaves the name free */
    if (lua_getglobal(L, "cwb") == LUA_TTABLE && lua_getfield(L, -1, "plot") == LUA_TTABLE) {
        if (lua_getfield(L, -1, "window") == LUA_TNIL) {
            lua_getglobal(L, "window");
            lua_setfield(L, -3, "window");
        }
    }
    lua_settop(L, top);
}
