/*
 * tui.h - the interactive workbench: curses panes, a readline prompt and
 * live runs (docs/tour.md).
 *
 * Two contracts live here:
 *
 *  1. cwb_tui_main, the entry point used by cwb_repl_main (ui/repl_plain.c)
 *     when stdin and stdout are terminals and --plain was not given.
 *
 *  2. The live-run hooks.  The binding's C loops (trainer:run,
 *     scalefit:run) report through the recorded-run helpers of lrun.c; while
 *     the workbench is up it registers a cwb_ui_hooks table in the Lua
 *     registry under CWB_UI_HOOKS_KEY, and lrun.c forwards each run's start,
 *     metrics, progress ticks and end to it.  A tick is where the workbench
 *     reads the keyboard, redraws (throttled) and runs chunks typed while the
 *     run goes on, so training continues as you type; a non-zero return from
 *     a tick asks the loop to stop early (stop()), exactly as an on_step
 *     callback returning false does.  Headless (no hooks registered) nothing
 *     changes.  This header needs only lua.h, so the binding can include it
 *     without curses or readline.
 */
#ifndef CWB_TUI_H
#define CWB_TUI_H

#include <stdint.h>
#include <lua.h>

/* Run the workbench on L (set up by main.c) until Ctrl-D or quit().  Returns
 * the exit status (0), or -1 if the terminal cannot be used (no curses
 * terminal for $TERM, ...): the caller then falls back to the plain REPL. */
int cwb_tui_main(lua_State *L);

/* ---- live-run hooks -------------------------------------------------------- */

#define CWB_UI_HOOKS_KEY "cwb.ui.hooks"

/* Embeddings of a run for the geometry pane: a and b are n x k row-major,
 * owned by the source and valid until the next call.  0 on success. */
typedef int (*cwb_ui_embed_fn)(void *src, const float **a, const float **b, int *n, int *k);

typedef struct cwb_ui_hooks {
    void *ud;
    /* A recorded run starts: its label, planned steps (0 if unknown) and
     * store id (-1 if not recorded).  Returns the handle passed to the other
     * calls (NULL: the UI does not follow this run). */
    void *(*run_begin)(void *ud, lua_State *L, const char *name, long total, int64_t id);
    /* Where the geometry pane can read the run's current embeddings; valid
     * until run_end. */
    void (*run_embed)(void *run, cwb_ui_embed_fn fn, void *src);
    void (*run_metric)(void *run, long step, const char *name, double value);
    /* After a step (or a group of steps): done of total.  May run Lua on L.
     * Non-zero: stop the loop early. */
    int (*run_tick)(void *run, lua_State *L, long done);
    /* status: "done", "failed", "interrupted", "stopped". */
    void (*run_end)(void *run, const char *status);
} cwb_ui_hooks;

/* The hooks registered in L, or NULL when no workbench is up. */
static inline const cwb_ui_hooks *cwb_ui_hooks_get(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, CWB_UI_HOOKS_KEY);
    const cwb_ui_hooks *h = (const cwb_ui_hooks *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return h;
}

#endif
