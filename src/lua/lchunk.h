/*
 * lchunk.h - running chunks of Lua the way lua.c does, for every front end
 * of the program: `cwb run` / `cwb -e` (app/main.c), the plain REPL
 * (ui/repl_plain.c) and the workbench's prompt (ui/tui_main.c).
 *
 * Layer: lua (the binding).  One message handler, one "is this chunk
 * incomplete?" test, one way to compile a line typed at a prompt and one
 * way to show the values it returned, so both REPLs behave alike.
 */
#ifndef CWB_LCHUNK_H
#define CWB_LCHUNK_H

#include <lua.h>

/* The message handler of a protected call: the message (or the error
 * object's __tostring) with a traceback. */
int cwb_lua_msghandler(lua_State *L);

/* Call the function on top (nargs arguments above it) in protected mode.
 * flags: CWB_CALL_TRACEBACK, errors carry one (cwb_lua_msghandler);
 * CWB_CALL_SIGINT, while it runs SIGINT (Ctrl-C) is handled as lua.c does:
 * the signal sets the binding's interrupt flag and arms a hook that raises
 * "interrupted" in Lua code; a second Ctrl-C kills at once.  (The workbench
 * has its own SIGINT handler and passes only the traceback flag.)  Returns
 * the lua_pcall status, with the message on top on failure. */
#define CWB_CALL_TRACEBACK 1
#define CWB_CALL_SIGINT 2
int cwb_lua_docall(lua_State *L, int nargs, int nres, int flags);

/* Syntax error at the end of the text (status and message on top): the
 * chunk may continue on the next line. */
int cwb_lua_incomplete(lua_State *L, int status);

#define CWB_LUA_INCOMPLETE 100   /* beside the LUA_* status codes */
/* The registry field holding the text last compiled by cwb_lua_load_typed,
 * so that help(misspelt.name) can read back what was typed (lcwb.c). */
#define CWB_LUA_TYPED_KEY "cwb.typed"
/* Compile what was typed at a prompt (one line, or the lines of a chunk
 * joined by '\n'), named chunkname.  With try_expression, first as "return
 * <text>;" so that `1+1` shows 2.  Returns LUA_OK with the function on top,
 * CWB_LUA_INCOMPLETE (nothing pushed) when more lines are needed, or a
 * syntax error status with its message on top. */
int cwb_lua_load_typed(lua_State *L, const char *text, int try_expression,
                       const char *chunkname);

/* A line typed at a prompt may be for the front end's Lua side rather than
 * Lua itself: an answer to a lesson's question ("b", "0.3").  When
 * package.loaded["cwb.ui"].on_line is a function, push it and the line and
 * return 1: the REPL calls it (one argument, one result) as it would call a
 * chunk, and a true result means the line was taken; else push nothing and
 * return 0. */
int cwb_lua_push_line_hook(lua_State *L, const char *line);

/* Show the values above base, as a REPL does: tables as readable text
 * (lua/lpretty.h, the same as cwb.pp), all of it through the global print.
 * Returns LUA_OK, or a status with the message on top when printing
 * failed.  The values are consumed. */
int cwb_lua_print_results(lua_State *L, int base);

#endif
