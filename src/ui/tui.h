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

#include <lua.h>

/* Run the workbench on L (set up by main.c) until Ctrl-D or quit().  Returns
 * the exit status (0), or -1 if the terminal cannot be used (no curses
 * terminal for $TERM, ...): the caller then falls back to the plain REPL. */
int cwb_tui_main(lua_State *L);

#endif
