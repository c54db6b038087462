/*
 * lchunk.c - lua.c's chunk helpers, shared by the program and both REPLs
 * (lchunk.h).
 */
#include "lua/lchunk.h"
#include "lua/lcwb.h"
#include "lua/lpretty.h"

#include <lauxlib.h>
#include <signal.h>
#include <string.h>

int cwb_lua_msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ---- Ctrl-C, as lua.c: the handler arms a hook that raises in Lua code ---------- */

static lua_State *volatile globalL;

static void lstop(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    /* a hook runs as part of the interrupted function: level 0 is its line */
    luaL_where(L, 0);
    lua_pushliteral(L, "interrupted");
    lua_concat(L, 2);
    lua_error(L);
}

static void laction(int sig) {
    int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    signal(sig, SIG_DFL); /* a second Ctrl-C kills at once */
    cwb_lua_interrupt();
    if (globalL) lua_sethook(globalL, lstop, mask, 1);
}

int cwb_lua_docall(lua_State *L, int nargs, int nres, int flags) {
    const int traceback = flags & CWB_CALL_TRACEBACK, sigint = flags & CWB_CALL_SIGINT;
    int base = lua_gettop(L) - nargs;
    if (traceback) {
        lua_pushcfunction(L, cwb_lua_msghandler);
        lua_insert(L, base);
    }
    lua_State *outer = globalL;
    struct sigaction sa, old;
    if (sigint) {
        globalL = L;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = laction;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old);
    }
    int status = lua_pcall(L, nargs, nres, traceback ? base : 0);
    if (sigint) {
        sigaction(SIGINT, &old, NULL);
        globalL = outer;
    }
    if (traceback) lua_remove(L, base);
    return status;
}

int cwb_lua_incomplete(lua_State *L, int status) {
    static const char mark[] = "<eof>";
    if (status != LUA_ERRSYNTAX) return 0;
    size_t n;
    const char *msg = lua_tolstring(L, -1, &n);
    return msg && n >= sizeof mark - 1 && strcmp(msg + n - (sizeof mark - 1), mark) == 0;
}

int cwb_lua_load_typed(lua_State *L, const char *text, int try_expression,
                       const char *chunkname) {
    lua_pushstring(L, text);
    lua_setfield(L, LUA_REGISTRYINDEX, CWB_LUA_TYPED_KEY);
    if (try_expression) {
        const char *ret = lua_pushfstring(L, "return %s;", text);
        int status = luaL_loadbuffer(L, ret, strlen(ret), chunkname);
        lua_remove(L, -2);
        if (status == LUA_OK) return LUA_OK;
        lua_pop(L, 1);
    }
    int status = luaL_loadbuffer(L, text, strlen(text), chunkname);
    if (cwb_lua_incomplete(L, status)) {
        lua_pop(L, 1);
        return CWB_LUA_INCOMPLETE;
    }
    return status;
}

int cwb_lua_push_line_hook(lua_State *L, const char *line) {
    int top = lua_gettop(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "cwb.ui") == LUA_TTABLE && lua_getfield(L, -1, "on_line") == LUA_TFUNCTION) {
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
        lua_pushstring(L, line);
        return 1;
    }
    lua_settop(L, top);
    return 0;
}

int cwb_lua_print_results(lua_State *L, int base) {
    int n = lua_gettop(L) - base;
    if (n <= 0) return LUA_OK;
    if (!lua_checkstack(L, LUA_MINSTACK)) {
        lua_settop(L, base);
        lua_pushliteral(L, "too many results to print");
        return LUA_ERRRUN;
    }
    /* cwb.pp: tables readable, everything else as print shows it */
    lua_pushcfunction(L, cwb_lua_l_pp);
    lua_insert(L, base + 1);
    int status = lua_pcall(L, n, 0, 0);
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        lua_pushfstring(L, "error calling 'print' (%s)", msg ? msg : "?");
        lua_remove(L, -2);
    }
    return status;
}
