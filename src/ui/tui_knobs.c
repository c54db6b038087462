/*
 * tui_knobs.c - the knob line under the status line, the keys that turn a
 * knob while a run trains, knob_line(), and the primitives the workbench's
 * Lua side (lua/cwb/workbench.lua) uses: package.loaded["cwb.ui"].
 *
 * The line shows the knobs of the run going on (else of the last run that
 * had any) as the binding reports them (lua/observer.h, run_knobs):
 * `τ 0.10  lr 0.10  B 32  σ 0.50`, the chosen one in reverse video.  On an
 * empty prompt `]` and `[` turn the chosen knob one step up and down the
 * ladder of round values (engine/core/knob.h) and the left and right arrows
 * choose another; anywhere else the keys type and move as usual, so Lua's
 * t[1] is unaffected.  A key press goes through cwb.knob like a typed
 * knob("tau", 0.15): the binding sets it between two steps, records the
 * event and tells the workbench, which marks the curve pane.
 *
 * A teacher hides knobs with knob_line{hide = {"lr", "batch"}}: they leave
 * the line and the keys skip them (knob() from Lua still reaches them).
 */
#include "ui/tui_internal.h"
#include "lua/lcwb.h"
#include "store/store.h"

#include <curses.h>
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *tui_knob_symbol(const char *name) {
    static const char *const map[][2] = {
        {"tau", "τ"}, {"batch", "B"}, {"noise", "σ"}, {"alpha", "α"}, {"gamma", "γ"}, {"theta", "θ"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], name) == 0) return map[i][1];
    return name;
}

/* Two significant digits, at least as "0.10" shows them; whole numbers as such. */
static void fmt_value(char *buf, size_t n, double v, int integer) {
    if (integer || (v == floor(v) && fabs(v) < 1e6)) snprintf(buf, n, "%.0f", v);
    else if (fabs(v) >= 1) snprintf(buf, n, "%.3g", v);
    else if (fabs(v) < 1e-3) snprintf(buf, n, "%.2g", v); /* 1e-05, not 0.000010 */
    else {
        int dec = 1 - (int)floor(log10(fabs(v) * (1 + 1e-6))); /* a float 0.01 is 0.0099999998 */
        snprintf(buf, n, "%.*f", dec < 2 ? 2 : dec > 6 ? 6 : dec, v);
    }
}

static int hidden(const char *name) {
    for (int i = 0; i < tui.nknob_hide; i++)
        if (strcmp(tui.knob_hide[i], name) == 0) return 1;
    return 0;
}

/* The run whose knobs the line shows: the one going on, else the last with knobs. */
static const tui_run *knob_run(void) {
    if (tui.cur && tui.cur->nknobs > 0) return tui.cur;
    for (int i = tui.nruns - 1; i >= 0; i--)
        if (tui.runs[i]->nknobs > 0) return tui.runs[i];
    return NULL;
}

int tui_knobs_shown(void) { return tui.knob_line && (knob_run() || tui.status_note[0]); }

/* The chosen knob of r (the first shown when none is chosen), or NULL. */
static const cwb_knob *chosen(const tui_run *r) {
    const cwb_knob *first = NULL;
    for (int i = 0; r && i < r->nknobs; i++) {
        if (hidden(r->knobs[i].name)) continue;
        if (!first) first = &r->knobs[i];
        if (strcmp(r->knobs[i].name, tui.knob_sel) == 0) return &r->knobs[i];
    }
    return first;
}

void tui_knobs_draw(cwb_rect r) {
    if (r.h <= 0) return;
    const tui_run *run = knob_run();
    const cwb_knob *sel = run && run->active ? chosen(run) : NULL;
    move(r.y, r.x);
    clrtoeol();
    int x = r.x, end = r.x + r.w;
    for (int i = 0; run && i < run->nknobs; i++) {
        const cwb_knob *k = &run->knobs[i];
        if (hidden(k->name)) continue;
        char val[32], item[64];
        fmt_value(val, sizeof val, k->value, k->integer);
        snprintf(item, sizeof item, " %s %s ", tui_knob_symbol(k->name), val);
        int w = tui_u8_width(item, strlen(item));
        if (x + w + 1 > end) break;
        attrset(k == sel ? A_REVERSE : A_NORMAL);
        mvaddstr(r.y, x, item);
        attrset(A_NORMAL);
        x += w + 1;
    }
    char right[160];
    const char *hint = run && run->active ? "[ ] turn  <- -> pick" : run ? "knobs of the last run" : "";
    snprintf(right, sizeof right, "%s%s%s", tui.status_note, *tui.status_note && *hint ? "  |  " : "", hint);
    int rw = tui_u8_width(right, strlen(right));
    if (rw > 0 && x + rw + 2 <= end) {
        attrset(tui_color_attr(6, 0));
        mvaddstr(r.y, end - rw - 1, right);
        attrset(A_NORMAL);
    } else if (*tui.status_note && x + 2 < end) { /* no room for both: the lesson's note */
        size_t n = tui_u8_fit(tui.status_note, strlen(tui.status_note), end - x - 2, NULL);
        attrset(tui_color_attr(6, 0));
        mvaddnstr(r.y, end - 1 - tui_u8_width(tui.status_note, n), tui.status_note, (int)n);
        attrset(A_NORMAL);
    }
}

void tui_knob_pick(int dir) {
    const tui_run *r = knob_run();
    const cwb_knob *cur = chosen(r);
    if (!cur) return;
    int n = r->nknobs, at = (int)(cur - r->knobs);
    for (int step = 1; step <= n; step++) {
        const cwb_knob *k = &r->knobs[((at + dir * step) % n + n) % n];
        if (!hidden(k->name)) {
            snprintf(tui.knob_sel, sizeof tui.knob_sel, "%s", k->name);
            break;
        }
    }
    tui.need_draw = 1;
}

void tui_knob_key(int dir) {
    const tui_run *r = tui.cur;
    const cwb_knob *k = r && r->active ? chosen(r) : NULL;
    if (!k) {
        tui_msg(TUI_ATTR_INFO, "[ and ] turn a knob while a run trains; knob(\"tau\", 0.2) now sets "
                               "one for the next run");
        return;
    }
    double v = cwb_knob_step(k, dir);
    char val[32];
    if (v == k->value) {
        fmt_value(val, sizeof val, v, k->integer);
        tui_msg(TUI_ATTR_INFO, "%s is at its %s, %s", k->name, dir > 0 ? "largest" : "smallest", val);
        return;
    }
    snprintf(tui.knob_sel, sizeof tui.knob_sel, "%s", k->name);
    const char *name = k->name; /* a literal: valid after the list is refreshed */
    lua_State *L = tui_lua();
    int top = lua_gettop(L);
    lua_getglobal(L, "knob"); /* the workbench's knob(), which says what it did */
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        lua_getglobal(L, "cwb");
        lua_getfield(L, -1, "knob");
        lua_remove(L, -2);
    }
    lua_pushstring(L, name);
    lua_pushnumber(L, v);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        tui_out_sync();
        tui_msg(TUI_ATTR_ERROR, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "knob failed");
    }
    lua_settop(L, top);
    tui_out_sync();
    tui.need_draw = 1;
}

void tui_run_knobs(tui_run *r, const cwb_knob *k, int n) {
    int had = tui_knobs_shown();
    r->nknobs = n < CWB_KNOBS_MAX ? n : CWB_KNOBS_MAX;
    memcpy(r->knobs, k, (size_t)r->nknobs * sizeof *k);
    if (tui_knobs_shown() != had) tui.need_layout = 1;
    tui.need_draw = 1;
}

void tui_run_mark(tui_run *r, long step, const char *name, double value) {
    if (r->nmarks == TUI_MAX_MARKS) { /* the oldest marker goes */
        memmove(r->marks, r->marks + 1, (TUI_MAX_MARKS - 1) * sizeof *r->marks);
        r->nmarks--;
    }
    tui_mark *m = &r->marks[r->nmarks++];
    m->step = step;
    snprintf(m->label, sizeof m->label, "%s=%.3g", name, value);
    tui.plot_dirty = 1;
}

/* ---- knob_line() ------------------------------------------------------------------- */

static void push_hidden(lua_State *L) {
    lua_createtable(L, tui.nknob_hide, 0);
    for (int i = 0; i < tui.nknob_hide; i++) {
        lua_pushstring(L, tui.knob_hide[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

/* knob_line() -> on, {hidden...}; knob_line(true | false); knob_line{hide = {...}} */
static int l_knob_line(lua_State *L) {
    if (lua_isnoneornil(L, 1)) {
        lua_pushboolean(L, tui.knob_line);
        push_hidden(L);
        return 2;
    }
    if (lua_isboolean(L, 1)) {
        tui.knob_line = lua_toboolean(L, 1);
    } else {
        luaL_checktype(L, 1, LUA_TTABLE);
        lua_getfield(L, 1, "hide");
        if (!lua_isnil(L, -1)) {
            luaL_argcheck(L, lua_istable(L, -1), 1, "hide = {\"lr\", ...}: a list of knob names");
            int n = (int)luaL_len(L, -1);
            luaL_argcheck(L, n <= CWB_KNOBS_MAX, 1, "too many knobs to hide");
            tui.nknob_hide = 0;
            for (int i = 1; i <= n; i++) {
                lua_rawgeti(L, -1, i);
                const char *k = lua_tostring(L, -1);
                luaL_argcheck(L, k && strlen(k) < sizeof tui.knob_hide[0], 1, "hide: knob names");
                snprintf(tui.knob_hide[tui.nknob_hide++], sizeof tui.knob_hide[0], "%s", k);
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
        tui.knob_line = 1;
    }
    tui.need_layout = 1;
    tui.need_draw = 1;
    return 0;
}

/* ---- package.loaded["cwb.ui"]: what lua/cwb/workbench.lua asks of the front end ------- */

/* ui.highlight(s): s marked for the output area (shift-out ... shift-in,
 * drawn bold and coloured; tui_text.h) */
static int ui_highlight(lua_State *L) {
    luaL_checkstring(L, 1);
    lua_pushliteral(L, TUI_HL_ON);
    lua_pushvalue(L, 1);
    lua_pushliteral(L, TUI_HL_OFF);
    lua_concat(L, 3);
    return 1;
}

/* ui.status(text | nil): a note at the right of the knob line (the lesson step) */
static int ui_status(lua_State *L) {
    int had = tui_knobs_shown(), tall = tui.status_note[0] != '\0';
    snprintf(tui.status_note, sizeof tui.status_note, "%s", luaL_optstring(L, 1, ""));
    /* a lesson's note also makes the output area tall (layout.h) */
    if (tui_knobs_shown() != had || (tui.status_note[0] != '\0') != tall) tui.need_layout = 1;
    tui.need_draw = 1;
    return 0;
}

/* ui.state() -> {metric, projection, perplexity, colour_by, knob_line, hide} */
static int ui_state(lua_State *L) {
    double perp;
    const char *shown;
    lua_createtable(L, 0, 6);
    lua_pushstring(L, tui.metric);
    lua_setfield(L, -2, "metric");
    lua_pushstring(L, tui_geom_projection(&perp));
    lua_setfield(L, -2, "projection");
    lua_pushnumber(L, perp);
    lua_setfield(L, -2, "perplexity");
    lua_pushstring(L, tui_geom_colour(&shown));
    lua_setfield(L, -2, "colour_by");
    lua_pushboolean(L, tui.knob_line);
    lua_setfield(L, -2, "knob_line");
    push_hidden(L);
    lua_setfield(L, -2, "hide");
    return 1;
}

/* ui.overlay({id | "name", ...} [, metric]): stored runs into the curve pane,
 * alone; a name (part of one) stands for a run about to start (rerun) */
static int ui_overlay(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    char metric[sizeof tui.metric];
    const char *m = luaL_optstring(L, 2, tui.metric);
    luaL_argcheck(L, *m && strlen(m) < sizeof tui.metric, 2, "a metric name");
    snprintf(metric, sizeof metric, "%s", m);
    int n = (int)luaL_len(L, 1);
    luaL_argcheck(L, n >= 1 && n <= TUI_MAX_ONLY, 1, lua_pushfstring(L, "1 to %d run ids", TUI_MAX_ONLY));
    tui_sel sels[TUI_MAX_ONLY];
    for (int i = 0; i < n; i++) {
        memset(&sels[i], 0, sizeof sels[i]);
        lua_rawgeti(L, 1, i + 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            snprintf(sels[i].pat, sizeof sels[i].pat, "%s", lua_tostring(L, -1));
            lua_pop(L, 1);
            continue;
        }
        lua_Integer id = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (id <= 0) return luaL_argerror(L, 1, "run ids start at 1");
        if (!tui_run_stored(L, id)) return luaL_error(L, "compare: no run #%d in the store", (int)id);
        sels[i].id = id;
    }
    snprintf(tui.metric, sizeof tui.metric, "%s", metric);
    tui_runs_load(metric);
    memcpy(tui.only, sels, (size_t)n * sizeof *sels);
    tui.nonly = n;
    for (int i = 0; i < tui.nruns; i++) tui.runs[i]->hidden = 0;
    tui_say_shown();
    return 0;
}

/* ui.show(metric): the curve pane's metric, even one no run has yet (a lesson
 * sets it before its run starts; show() would call that a typo) */
static int ui_show(lua_State *L) {
    const char *m = luaL_checkstring(L, 1);
    luaL_argcheck(L, *m && strlen(m) < sizeof tui.metric, 1, "a metric name such as 'loss'");
    snprintf(tui.metric, sizeof tui.metric, "%s", m);
    tui_runs_load(tui.metric);
    tui.plot_dirty = 1;
    tui_plot_update(1);
    tui.need_draw = 1;
    return 0;
}

static const luaL_Reg ui_fns[] = {{"highlight", ui_highlight}, {"status", ui_status}, {"show", ui_show},
                                  {"state", ui_state},         {"overlay", ui_overlay},
                                  {NULL, NULL}};

static const char keys_help[] =
    "  ]  [            on an empty prompt: turn the chosen knob one step up / down (recorded, marked)\n"
    "  ->  <-          on an empty prompt: choose the knob on the knob line\n"
    "  F2, Ctrl-X p    save the curve pane, as png() does\n"
    "  PgUp  PgDn      scroll the output area\n"
    "  Tab             complete a name; Up/Down: history\n"
    "  Ctrl-C          interrupt the running chunk or run; at the prompt, clear the line\n"
    "  Ctrl-D          on an empty line: quit (twice while a run goes on)";

void tui_knobs_open(lua_State *L) {
    tui.knob_line = 1;
    lua_pushstring(L, keys_help);
    lua_setfield(L, LUA_REGISTRYINDEX, CWB_LUA_HELP_KEYS);
    lua_pushcfunction(L, l_knob_line);
    cwb_lua_setdoc(L, -1, "knob_line() -> on, hidden: the knob line under the status line; "
                          "knob_line(false) hides it, knob_line(true) shows it, knob_line{hide = "
                          "{\"lr\", \"batch\"}} leaves knobs off it (the keys skip them; for a "
                          "class: save_session keeps it)");
    lua_setglobal(L, "knob_line");
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    luaL_newlib(L, ui_fns);
    lua_pushliteral(L, "workbench");
    lua_setfield(L, -2, "kind");
    lua_setfield(L, -2, "cwb.ui");
    lua_pop(L, 1);
}
