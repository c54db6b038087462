/*
 * repl_plain.c - the plain line REPL: `cwb --plain`, or `cwb` when stdin is
 * not a terminal (a pipe, a here-document, a test).
 *
 * As lua.c does: a line is first tried as an expression ("return <line>")
 * so that `1+1` prints 2; otherwise as a statement; a chunk whose syntax
 * error is at "<eof>" is incomplete and the next line is appended.  Errors
 * are reported on one line and the loop goes on; end of input exits 0.
 * Prompts and history only when stdin is a terminal (GNU readline).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "ui/ui.h"
#include "ui/tui.h"
#include "ui/repl_cmds.h"
#include "lua/lchunk.h"
#include "lua/lcwb.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0"
#endif

static int interactive;

/* One line without its newline, malloc'ed; NULL at end of input. */
static char *read_line(const char *prompt) {
    if (interactive) {
        char *l = readline(prompt);
        if (l && *l) add_history(l);
        return l;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
    if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
    return line;
}

/* A line the front end's Lua side takes (a lesson's answer, lchunk.h):
 * 1 when it was taken (or failed: reported), 0 to run it as Lua. */
static void report(lua_State *L);
static int line_hook(lua_State *L, const char *line) {
    if (!cwb_lua_push_line_hook(L, line)) return 0;
    int st = cwb_lua_docall(L, 1, 1, CWB_CALL_SIGINT);
    int taken = st != LUA_OK || lua_toboolean(L, -1);
    if (st != LUA_OK) report(L);
    lua_settop(L, 0);
    cwb_lua_clear_interrupt();
    fflush(stdout);
    return taken;
}

/* Read and compile one chunk, asking for more lines while it is incomplete.
 * Returns -1 at end of input, 1 for a line taken by line_hook, else the
 * load status (function or message on top of the stack). */
static int load_chunk(lua_State *L) {
    char *line = read_line(interactive ? "> " : "");
    if (!line) return -1;
    if (*line && line_hook(L, line)) {
        free(line);
        return CWB_LUA_INCOMPLETE; /* nothing to run */
    }
    int status = cwb_lua_load_typed(L, line, 1, "=stdin");
    if (status != CWB_LUA_INCOMPLETE) {
        free(line);
        return status;
    }
    luaL_Buffer b;
    lua_pushstring(L, line); /* the text so far, at a fixed slot */
    free(line);
    int text = lua_gettop(L);
    for (;;) {
        char *more = read_line(interactive ? ">> " : "");
        const char *s = lua_tostring(L, text);
        if (!more) { /* end of input inside a chunk: report what it lacks */
            status = luaL_loadbuffer(L, s, strlen(s), "=stdin");
            lua_remove(L, text);
            return status;
        }
        luaL_buffinit(L, &b);
        lua_pushvalue(L, text);
        luaL_addvalue(&b);
        luaL_addchar(&b, '\n');
        luaL_addstring(&b, more);
        free(more);
        luaL_pushresult(&b);
        lua_replace(L, text);
        status = cwb_lua_load_typed(L, lua_tostring(L, text), 0, "=stdin");
        if (status != CWB_LUA_INCOMPLETE) {
            lua_remove(L, text);
            return status;
        }
    }
}

static void report(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    if (!msg) {
        if (luaL_callmeta(L, -1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
            lua_remove(L, -2);
            msg = lua_tostring(L, -1);
        } else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, -1));
    }
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
    lua_settop(L, 0);
}

int cwb_repl_plain(lua_State *L) {
    interactive = isatty(STDIN_FILENO);
    if (interactive) {
        printf("cwb %s (%s). help() lists the API, Ctrl-D quits.\n", PACKAGE_VERSION,
               LUA_RELEASE);
        fflush(stdout);
    }
    lua_settop(L, 0);
    cwb_repl_open_plain(L);
    if (cwb_repl_session()) { /* cwb --session FILE */
        char line[1200];
        cwb_repl_session_line(line, sizeof line);
        if (luaL_loadstring(L, line) == LUA_OK) {
            if (cwb_lua_docall(L, 0, 0, CWB_CALL_SIGINT) != LUA_OK) report(L);
        } else
            report(L);
        cwb_lua_clear_interrupt();
        lua_settop(L, 0);
        fflush(stdout);
    }
    while (!cwb_repl_quit_asked()) {
        int status = load_chunk(L);
        if (status == -1) break;
        if (status == CWB_LUA_INCOMPLETE) continue; /* a line the lesson took */
        if (status == LUA_OK) status = cwb_lua_docall(L, 0, LUA_MULTRET, CWB_CALL_SIGINT);
        if (status == LUA_OK) status = cwb_lua_print_results(L, 0);
        if (status != LUA_OK) report(L);
        cwb_lua_clear_interrupt();
        lua_settop(L, 0);
        fflush(stdout);
    }
    if (interactive) putchar('\n');
    fflush(stdout);
    return 0;
}

/* The workbench (ui/tui.h) when stdin and stdout are terminals and --plain
 * was not given; the plain REPL otherwise, or if the terminal cannot be
 * used by curses. */
int cwb_repl_main(lua_State *L, int plain) {
    if (!plain && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
        int rc = cwb_tui_main(L);
        if (rc >= 0) return rc;
    }
    return cwb_repl_plain(L);
}
