/*
 * tui_lua.c - the workbench's own commands, as Lua globals with doc strings
 * (help(run) ...): run a recipe with the panes live, pause/resume/stop the
 * current run, quit, save the curves or the geometry as PNG or SVG, pick the
 * plotted metric and the runs shown (show, only, hide, clear_runs), open a
 * gnuplot window that follows the pane, clear the output area, choose the
 * geometry pane's projection and what its points are coloured by.
 */
#include "ui/tui_internal.h"
#include "ui/repl_cmds.h"
#include "lua/lcwb.h"
#include "store/store.h"

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

/* png([path] [, "curves" | "geometry" | "both"]) and svg(...): ext is the
 * upvalue.  Without a path both panes, named after the run; with a path the
 * curves unless a pane is named. */
static int l_png(lua_State *L) {
    const char *ext = lua_tostring(L, lua_upvalueindex(1));
    const char *path = luaL_optstring(L, 1, NULL);
    static const char *const panes[] = {"curves", "geometry", "both", NULL};
    int pane = luaL_checkoption(L, 2, path ? "curves" : "both", panes);
    if (path && strcmp(ext, ".svg") == 0) { /* svg("slide") writes slide.svg */
        size_t n = strlen(path);
        if (n < 4 || strcmp(path + n - 4, ".svg") != 0) path = lua_pushfstring(L, "%s.svg", path);
    }
    if (pane == 2) {
        if (path) return luaL_argerror(L, 2, "\"both\" names its files after the run: no path");
        if (tui_panes_save(ext) != 0) return luaL_error(L, "%s: nothing to save yet", ext + 1);
        return 0;
    }
    char msg[1400];
    int rc = pane ? tui_geom_png(path, ext, msg, sizeof msg) : tui_plot_png(path, ext, msg, sizeof msg);
    if (rc != 0) return luaL_error(L, "%s", msg);
    tui_msg(TUI_ATTR_INFO, "%s", msg);
    return 0;
}

/* The metric names of the session's runs, live and stored, into b. */
typedef struct {
    char names[64][32];
    int n;
} name_set;

static void add_name(name_set *ns, const char *nm) {
    for (int k = 0; k < ns->n; k++)
        if (strcmp(ns->names[k], nm) == 0) return;
    if (ns->n < 64) snprintf(ns->names[ns->n++], 32, "%s", nm);
}

static int add_stored(const cwb_metric_summary *m, void *ud) {
    add_name(ud, m->name);
    return 0;
}

static void metric_names(lua_State *L, name_set *ns) {
    ns->n = 0;
    cwb_store *s = NULL;
    for (int i = 0; i < tui.nruns; i++) {
        for (int j = 0; j < tui.runs[i]->nseries; j++) add_name(ns, tui.runs[i]->series[j].name);
        if (tui.runs[i]->id > 0 && (s || (s = cwb_lua_store(L))))
            cwb_store_metric_summaries(s, tui.runs[i]->id, add_stored, ns);
    }
}

static void add_names(luaL_Buffer *b, const name_set *ns) {
    for (int k = 0; k < ns->n; k++) {
        if (k) luaL_addchar(b, ' ');
        luaL_addstring(b, ns->names[k]);
    }
    if (!ns->n) luaL_addstring(b, "(no runs yet)");
}

/* After a change of what is shown: draw the pane again and say what it shows. */
void tui_say_shown(void) {
    tui.plot_dirty = 1;
    tui_plot_update(1);
    tui.need_draw = 1;
    char cap[96];
    tui_plot_caption(cap, sizeof cap);
    tui_msg(TUI_ATTR_INFO, "%s: %s%s", tui.metric, cap,
            tui.nonly ? " (only(...); only() shows the most recent again)" : "");
}

/* show([metric [, n]]) */
static int l_show(lua_State *L) {
    if (lua_isnoneornil(L, 1)) { /* what is shown, and what there is */
        name_set ns;
        metric_names(L, &ns);
        tui_run *runs[TUI_PLOT_MAX_RUNS];
        int total, n = tui_plot_runs(runs, &total);
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        lua_pushfstring(L, "showing '%s' for %d of %d runs (%s; show(metric, n), only(...), "
                        "hide(...) choose; the last %d runs are kept",
                        tui.metric, n, total, tui.nonly ? "only(...)" : "the most recent",
                        TUI_MAX_RUNS);
        luaL_addvalue(&b);
        if (tui.forgotten) {
            lua_pushfstring(L, ", %d older forgotten", tui.forgotten);
            luaL_addvalue(&b);
        }
        luaL_addstring(&b, "); metrics: ");
        add_names(&b, &ns);
        luaL_pushresult(&b);
        return 1;
    }
    const char *m = luaL_checkstring(L, 1);
    luaL_argcheck(L, *m && strlen(m) < sizeof tui.metric, 1, "a metric name such as 'loss'");
    int n = (int)luaL_optinteger(L, 2, tui.show_n > 0 ? tui.show_n : TUI_PLOT_DEFAULT_RUNS);
    luaL_argcheck(L, n >= 1 && n <= TUI_PLOT_MAX_RUNS, 2,
                  lua_pushfstring(L, "runs to show: 1 to %d", TUI_PLOT_MAX_RUNS));
    char old[sizeof tui.metric];
    snprintf(old, sizeof old, "%s", tui.metric);
    snprintf(tui.metric, sizeof tui.metric, "%s", m);
    tui_runs_load(m); /* values the store has and the workbench did not see */
    int any = 0, active = 0;
    for (int i = 0; i < tui.nruns; i++) {
        any |= tui_run_find(tui.runs[i], m) != NULL;
        active |= tui.runs[i]->active;
    }
    if (!any && tui.nruns > 0 && !active) { /* a typo: say what there is */
        snprintf(tui.metric, sizeof tui.metric, "%s", old);
        name_set ns;
        metric_names(L, &ns);
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        lua_pushfstring(L, "show: no run has a metric '%s'; they have: ", m);
        luaL_addvalue(&b);
        add_names(&b, &ns);
        luaL_pushresult(&b);
        return lua_error(L);
    }
    tui.show_n = n;
    tui_say_shown();
    return 0;
}

/* The arguments of only/hide: run ids (numbers) and patterns (strings). */
static int read_sels(lua_State *L, tui_sel *out, int max, const char *fn) {
    int n = lua_gettop(L);
    if (n > max) luaL_error(L, "%s: at most %d runs or patterns", fn, max);
    for (int i = 1; i <= n; i++) {
        memset(&out[i - 1], 0, sizeof out[i - 1]);
        if (lua_type(L, i) == LUA_TNUMBER) {
            lua_Integer id = luaL_checkinteger(L, i);
            luaL_argcheck(L, id > 0, i, "run ids start at 1");
            out[i - 1].id = id;
        } else {
            const char *p = luaL_checkstring(L, i);
            luaL_argcheck(L, *p && strlen(p) < sizeof out[i - 1].pat, i,
                          "a run id, or part of a run's name or a parameter such as \"tau=0.5\"");
            snprintf(out[i - 1].pat, sizeof out[i - 1].pat, "%s", p);
        }
    }
    /* each argument must find a run: a typo would silently show nothing */
    for (int k = 0; k < n; k++) {
        int found = 0;
        for (int i = 0; i < tui.nruns && !found; i++) found = tui_run_matches(tui.runs[i], &out[k]);
        if (!found) {
            if (out[k].id > 0) luaL_error(L, "%s: no run #%d in the workbench", fn, (int)out[k].id);
            luaL_error(L, "%s: no run matches '%s' (a part of a name, or a parameter such as "
                          "\"tau=0.5\")", fn, out[k].pat);
        }
    }
    return n;
}

/* only(sel, ...): these runs alone; only(): the most recent again, none hidden */
static int l_only(lua_State *L) {
    tui_sel sels[TUI_MAX_ONLY];
    int n = read_sels(L, sels, TUI_MAX_ONLY, "only");
    memcpy(tui.only, sels, (size_t)n * sizeof *sels);
    tui.nonly = n;
    if (n == 0)
        for (int i = 0; i < tui.nruns; i++) tui.runs[i]->hidden = 0;
    tui_say_shown();
    return 0;
}

/* hide(sel, ...): leave these runs out; hide(): none hidden */
static int l_hide(lua_State *L) {
    tui_sel sels[TUI_MAX_ONLY];
    int n = read_sels(L, sels, TUI_MAX_ONLY, "hide");
    for (int i = 0; i < tui.nruns; i++) {
        tui_run *r = tui.runs[i];
        if (n == 0) r->hidden = 0;
        for (int k = 0; k < n; k++)
            if (tui_run_matches(r, &sels[k])) r->hidden = 1;
    }
    tui_say_shown();
    return 0;
}

static int l_clear_runs(lua_State *L) {
    (void)L;
    int before = tui.nruns;
    tui_runs_forget();
    tui.nonly = 0;
    tui_plot_update(1);
    tui.need_draw = 1;
    tui_msg(TUI_ATTR_INFO, "forgot %d finished run%s", before - tui.nruns,
            before - tui.nruns == 1 ? "" : "s");
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
                               {"show", l_show}, {"only", l_only},   {"hide", l_hide},
                               {"clear_runs", l_clear_runs},
                               {"window", l_window}, {"clear", l_clear},
                               {"projection", l_projection}, {"colour_by", l_colour_by},
                               {NULL, NULL}};

static const cwb_lua_doc docs[] = {
    {"run", cwb_repl_run_doc},
    {"pause", "pause(): hold the current run between two steps (the prompt stays live)"},
    {"resume", "resume(): go on with the paused run"},
    {"stop", "stop(): end the current run early, as if its steps were done (Ctrl-C aborts the "
             "whole chunk instead)"},
    {"quit", "quit(): leave the workbench (as Ctrl-D on an empty line); exit status 0"},
    {"png", "png([path] [, \"curves\" | \"geometry\"]): save both panes as figures for slides, named "
            "after the run (OUTDIR/<run>-<metric>.png, <run>-geometry.png; -2, -3 ... when taken); "
            "with a path the curve pane (or the pane named) there, SVG if it ends in .svg; F2 does "
            "png()"},
    {"svg", "svg([path] [, \"curves\" | \"geometry\"]): as png(), in SVG (OUTDIR/<run>-<metric>.svg, "
            "<run>-geometry.svg; a path gets .svg if it lacks it)"},
    {"show", "show([metric [, n]]): plot that metric (\"loss\", \"top1\", \"theta_ratio\", "
             "...; also those a recipe records with cwb.runs.log) for the n most recent runs "
             "that have it (default 8, at most 32), with the recipe's reference lines; without "
             "an argument, say what is shown and list every metric of the session's runs"},
    {"only", "only(id | \"pattern\", ...): show these runs alone (a store id as in \"run ... "
             "#46\", part of a name, or a parameter such as \"tau=0.5\"); only(): the most "
             "recent runs again, none hidden"},
    {"hide", "hide(id | \"pattern\", ...): leave these runs out of the curve pane; hide(): "
             "hide none"},
    {"clear_runs", "clear_runs(): forget every finished run (the curve pane starts empty)"},
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
        int png = f->func == l_png;
        if (png) {
            lua_pushliteral(L, ".png");
            lua_pushcclosure(L, l_png, 1);
        } else
            lua_pushcfunction(L, f->func);
        for (const cwb_lua_doc *d = docs; d->name; d++)
            if (strcmp(d->name, f->name) == 0) cwb_lua_setdoc(L, -1, d->doc);
        lua_setglobal(L, f->name);
    }
    lua_pushliteral(L, ".svg");
    lua_pushcclosure(L, l_png, 1);
    for (const cwb_lua_doc *d = docs; d->name; d++)
        if (strcmp(d->name, "svg") == 0) cwb_lua_setdoc(L, -1, d->doc);
    lua_setglobal(L, "svg");
    /* plot.window(true), where the plotting module leaves the name free */
    if (lua_getglobal(L, "cwb") == LUA_TTABLE && lua_getfield(L, -1, "plot") == LUA_TTABLE) {
        if (lua_getfield(L, -1, "window") == LUA_TNIL) {
            lua_getglobal(L, "window");
            lua_setfield(L, -3, "window");
        }
    }
    lua_settop(L, top);
}
