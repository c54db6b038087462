/*
 * repl_cmds.h - the commands both REPLs give as Lua globals: run() is the
 * same in each; the plain REPL (repl_plain.c) also gets every workbench
 * command with its headless meaning, so that a line written for the
 * workbench never fails with "attempt to call a nil value" there.
 *
 * Layer: ui.  Included by repl_plain.c and tui_lua.c.
 */
#ifndef CWB_REPL_CMDS_H
#define CWB_REPL_CMDS_H

#include <stddef.h>

#include <lua.h>

/* run("recipe.lua", ...) -> what the recipe returns: the recipe as a chunk
 * with arg = {[0] = path, ...}, recorded with its runs under its path, as
 * `cwb run` does; the output folder and seed stay the session's. */
int cwb_repl_run(lua_State *L);
extern const char cwb_repl_run_doc[];

/* The plain REPL's globals: run, quit, and pause, resume, stop, show, png,
 * window, projection, colour_by, clear with what they mean without panes
 * (docs/tour.md, "The plain REPL"). */
void cwb_repl_open_plain(lua_State *L);
/* quit() was called in the plain REPL: leave after the current chunk. */
int cwb_repl_quit_asked(void);

/* The commands written in Lua (lua/cwb/workbench.lua: knob, rerun, compare,
 * presets, the lessons, the sessions), for both REPLs, once the front end
 * has put its primitives in package.loaded["cwb.ui"].  A failure to load
 * them is one line on stderr; the REPL goes on without them. */
void cwb_repl_open_workbench(lua_State *L);

/* `cwb --session FILE`: the REPL restores the session once it is up (the
 * workbench types load_session("FILE") at its prompt; the plain REPL runs it
 * before the first line).  cwb_repl_session() is NULL when none was given. */
void cwb_repl_set_session(const char *path);
const char *cwb_repl_session(void);
/* The Lua line that restores it: load_session("FILE"), the name quoted. */
void cwb_repl_session_line(char *buf, size_t len);

#endif
