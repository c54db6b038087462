/*
 * ui.h - the interactive front ends of `cwb` run without a command.
 *
 * cwb_repl_main picks one: the curses TUI when stdin and stdout are
 * terminals and `plain` is 0, otherwise the plain line REPL.  Both evaluate
 * chunks in the given state, which main.c has set up (libraries, the cwb
 * module, package.path, the session context).  Return the exit status.
 */
#ifndef CWB_UI_H
#define CWB_UI_H

#include <lua.h>

int cwb_repl_main(lua_State *L, int plain);

/* The plain line REPL (src/ui/repl_plain.c): reads lines (readline when
 * stdin is a terminal), continues incomplete chunks, prints the values of
 * expressions, reports errors on one line and goes on; EOF exits 0. */
int cwb_repl_plain(lua_State *L);

#endif
