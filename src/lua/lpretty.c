/*
 * lpretty.c - Lua values as readable text (lpretty.h).
 *
 * Everything is built on the Lua stack (pieces in a Lua table, joined with
 * a luaL_Buffer), so an error half-way -- a __tostring that fails, memory
 * -- leaks nothing.  A table's entries are rendered first and the layout
 * chosen after: one line when every piece is one line and the whole fits
 * the width, otherwise one entry per line.
 */
#include "lua/lpretty.h"
#include "lua/lbind.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 32
#define STRING_MAX 200   /* bytes of a string shown; the rest is counted */
#define INDENT 2

static int print_width = 80;

void cwb_lua_set_print_width(int cols) { print_width = cols >= 20 ? cols : 20; }

void cwb_pretty_defaults(cwb_pretty_opts *o) {
    o->depth = 4;
    o->items = 50;
    o->width = print_width;
}

typedef struct {
    lua_State *L;
    const cwb_pretty_opts *o;
    int path;  /* absolute index of a table: the tables being rendered (cycles) */
} pctx;

/* ---- scalars ---------------------------------------------------------------- */

static void add_quoted(luaL_Buffer *b, const char *s, size_t n) {
    size_t shown = n > STRING_MAX ? STRING_MAX : n;
    while (shown < n && shown > 0 && ((unsigned char)s[shown] & 0xC0) == 0x80) shown--;
    luaL_addchar(b, '"');
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        switch (c) {
        case '"': luaL_addstring(b, "\\\""); break;
        case '\\': luaL_addstring(b, "\\\\"); break;
        case '\n': luaL_addstring(b, "\\n"); break;
        case '\t': luaL_addstring(b, "\\t"); break;
        case '\r': luaL_addstring(b, "\\r"); break;
        default:
            if (c < 32 || c == 127) {
                snprintf(esc, sizeof esc, "\\%u", c);
                luaL_addstring(b, esc);
            } else
                luaL_addchar(b, (char)c);
        }
    }
    luaL_addchar(b, '"');
    if (shown < n) {
        char more[48];
        snprintf(more, sizeof more, "...(%zu bytes)", n);
        luaL_addstring(b, more);
    }
}

/* Push the text of a non-table value (or a table with __tostring). */
static void push_scalar(lua_State *L, int idx, int quote) {
    if (quote && lua_type(L, idx) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        add_quoted(&b, s, n);
        luaL_pushresult(&b);
    } else
        luaL_tolstring(L, idx, NULL);
}

static int is_identifier(const char *s, size_t n) {
    static const char *const KW[] = {"and", "break", "do", "else", "elseif", "end", "false",
                                     "for", "function", "goto", "if", "in", "local", "nil",
                                     "not", "or", "repeat", "return", "then", "true", "until",
                                     "while", NULL};
    if (n == 0 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return 0;
    for (int i = 0; KW[i]; i++)
        if (strlen(KW[i]) == n && memcmp(KW[i], s, n) == 0) return 0;
    return 1;
}

/* Push "name = " or "[key] = " for the key at idx. */
static void push_key(lua_State *L, int idx) {
    size_t n;
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, idx, &n);
        if (is_identifier(s, n)) {
            lua_pushfstring(L, "%s = ", s);
            return;
        }
    }
    push_scalar(L, idx, 1);
    lua_pushfstring(L, "[%s] = ", lua_tostring(L, -1));
    lua_remove(L, -2);
}

/* ---- key order -------------------------------------------------------------- */

typedef struct {
    int rank;          /* 0 number, 1 string, 2 boolean, 3 anything else */
    double num;
    const char *s;
    size_t len;
    int pos;           /* 1-based slot in the keys table; ties keep it */
} keyref;

static int cmp_key(const void *pa, const void *pb) {
    const keyref *a = pa, *b = pb;
    if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
    if (a->rank == 0 || a->rank == 2) {
        if (a->num != b->num) return a->num < b->num ? -1 : 1;
    } else if (a->rank == 1) {
        size_t m = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->s, b->s, m);
        if (c) return c;
        if (a->len != b->len) return a->len < b->len ? -1 : 1;
    }
    return a->pos - b->pos;
}

/* ---- tables ----------------------------------------------------------------- */

/* indent: the column of the line the value's entry starts on (a multi-line
 * table closes there); col: the column the value itself starts at. */
static void render(pctx *c, int idx, int indent, int col, int level);

/* Join the pieces (a sequence of strings at index pieces, nseq of them
 * sequence items first, the last one a "... (N more)" note when more) into
 * one table constructor, pushed. */
static void join(pctx *c, int pieces, int np, int nseq, int more, int indent, int col) {
    lua_State *L = c->L;
    size_t total = 2;
    int multi = 0;
    for (int i = 1; i <= np; i++) {
        size_t n;
        lua_rawgeti(L, pieces, i);
        const char *s = lua_tolstring(L, -1, &n);
        total += n + (i > 1 ? 2 : 0);
        if (memchr(s, '\n', n)) multi = 1;
        lua_pop(L, 1);
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (!multi && (size_t)col + total <= (size_t)c->o->width) {
        luaL_addchar(&b, '{');
        for (int i = 1; i <= np; i++) {
            if (i > 1) luaL_addstring(&b, ", ");
            lua_rawgeti(L, pieces, i);
            luaL_addvalue(&b);
        }
        luaL_addchar(&b, '}');
        luaL_pushresult(&b);
        return;
    }
    /* one entry per line; sequence items that are one line each share lines */
    int inner = indent + INDENT, at = -1; /* at: column on the current line, -1 = fresh line */
    luaL_addchar(&b, '{');
    for (int i = 1; i <= np; i++) {
        /* look at the piece, then let it go: the buffer may need the top */
        size_t n;
        lua_rawgeti(L, pieces, i);
        const char *s = lua_tolstring(L, -1, &n);
        int packable = i <= nseq && !memchr(s, '\n', n);
        lua_pop(L, 1);
        if (packable && at >= 0 && (size_t)at + 1 + n + 1 <= (size_t)c->o->width) {
            luaL_addchar(&b, ' ');
            at += 1;
        } else {
            luaL_addchar(&b, '\n');
            for (int k = 0; k < inner; k++) luaL_addchar(&b, ' ');
            at = inner;
        }
        lua_rawgeti(L, pieces, i);
        luaL_addvalue(&b);
        if (!(more && i == np)) luaL_addchar(&b, ',');
        at = packable ? at + (int)n + 1 : -1;
    }
    luaL_addchar(&b, '\n');
    for (int k = 0; k < indent; k++) luaL_addchar(&b, ' ');
    luaL_addchar(&b, '}');
    luaL_pushresult(&b);
}

static void render_table(pctx *c, int t, int indent, int col, int level) {
    lua_State *L = c->L;
    /* the sequence part: 1..nseq all present */
    lua_Integer nseq = 0;
    while (lua_rawgeti(L, t, nseq + 1) != LUA_TNIL) {
        lua_pop(L, 1);
        nseq++;
    }
    lua_pop(L, 1);
    /* the other keys, in a Lua table so that they stay alive */
    lua_newtable(L);
    int keys = lua_gettop(L);
    int nk = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_isinteger(L, -1)) {
            lua_Integer k = lua_tointeger(L, -1);
            if (k >= 1 && k <= nseq) continue;
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++nk);
    }
    if (nseq == 0 && nk == 0) {
        lua_pop(L, 1);
        lua_pushliteral(L, "{}");
        return;
    }
    if (level >= c->o->depth) {
        lua_pop(L, 1);
        lua_pushliteral(L, "{...}");
        return;
    }
    keyref *ref = nk ? lua_newuserdatauv(L, (size_t)nk * sizeof *ref, 0) : NULL;
    if (!nk) lua_pushnil(L); /* keep the slots the same either way */
    for (int i = 0; i < nk; i++) {
        lua_rawgeti(L, keys, i + 1);
        keyref *r = &ref[i];
        memset(r, 0, sizeof *r);
        r->pos = i + 1;
        switch (lua_type(L, -1)) {
        case LUA_TNUMBER: r->rank = 0, r->num = lua_tonumber(L, -1); break;
        case LUA_TSTRING: r->rank = 1, r->s = lua_tolstring(L, -1, &r->len); break;
        case LUA_TBOOLEAN: r->rank = 2, r->num = lua_toboolean(L, -1); break;
        default: r->rank = 3;
        }
        lua_pop(L, 1); /* the string stays alive in keys */
    }
    if (nk > 1) qsort(ref, (size_t)nk, sizeof *ref, cmp_key);

    lua_pushvalue(L, t);
    lua_pushboolean(L, 1);
    lua_rawset(L, c->path);

    lua_newtable(L);
    int pieces = lua_gettop(L), np = 0;
    lua_Integer total = nseq + nk, limit = c->o->items;
    int shown_seq = 0;
    for (lua_Integer i = 1; i <= nseq && np < limit; i++) {
        lua_rawgeti(L, t, i);
        render(c, lua_gettop(L), indent + INDENT, indent + INDENT, level + 1);
        lua_rawseti(L, pieces, ++np);
        lua_pop(L, 1);
        shown_seq++;
    }
    for (int i = 0; i < nk && np < limit; i++) {
        lua_rawgeti(L, keys, ref[i].pos);
        int k = lua_gettop(L);
        push_key(L, k);
        size_t kl;
        lua_tolstring(L, -1, &kl);
        lua_pushvalue(L, k);
        lua_rawget(L, t);
        render(c, lua_gettop(L), indent + INDENT, indent + INDENT + (int)kl, level + 1);
        lua_remove(L, -2); /* the value */
        lua_concat(L, 2);  /* "key = " .. text */
        lua_rawseti(L, pieces, ++np);
        lua_pop(L, 1);     /* the key */
    }
    int more = total > np;
    if (more) {
        lua_pushfstring(L, "... (%I more)", (LUA_INTEGER)(total - np));
        lua_rawseti(L, pieces, ++np);
    }

    lua_pushvalue(L, t);
    lua_pushnil(L);
    lua_rawset(L, c->path);

    join(c, pieces, np, shown_seq, more, indent, col);
    lua_replace(L, keys); /* the result where the keys were */
    lua_settop(L, keys);
}

static void render(pctx *c, int idx, int indent, int col, int level) {
    lua_State *L = c->L;
    luaL_checkstack(L, 12, "table too deep to print");
    if (lua_type(L, idx) != LUA_TTABLE) {
        push_scalar(L, idx, 1);
        return;
    }
    if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
        lua_pop(L, 1);
        push_scalar(L, idx, 0);
        return;
    }
    lua_pushvalue(L, idx);
    if (lua_rawget(L, c->path) != LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushliteral(L, "<cycle>");
        return;
    }
    lua_pop(L, 1);
    render_table(c, idx, indent, col, level);
}

void cwb_lua_pretty(lua_State *L, int idx, const cwb_pretty_opts *o) {
    idx = lua_absindex(L, idx);
    cwb_pretty_opts d = *o;
    if (d.depth < 1) d.depth = 1;
    if (d.depth > DEPTH_MAX) d.depth = DEPTH_MAX;
    if (d.items < 1) d.items = 1;
    if (d.width < 20) d.width = 20;
    lua_newtable(L);
    pctx c = {L, &d, lua_gettop(L)};
    render(&c, idx, 0, 0, 0);
    lua_remove(L, c.path);
}

static int is_plain_table(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    if (luaL_getmetafield(L, idx, "__tostring") == LUA_TNIL) return 1;
    lua_pop(L, 1);
    return 0;
}

void cwb_lua_pretty_values(lua_State *L, int base) {
    cwb_pretty_opts o;
    cwb_pretty_defaults(&o);
    for (int i = base + 1; i <= lua_gettop(L); i++)
        if (is_plain_table(L, i)) {
            cwb_lua_pretty(L, i, &o);
            lua_replace(L, i);
        }
}

/* ---- Lua ---------------------------------------------------------------------- */

static const char *const PRETTY_KEYS[] = {"depth", "items", "width", NULL};

int cwb_lua_l_pretty(lua_State *L) {
    luaL_checkany(L, 1);
    cwb_pretty_opts o;
    cwb_pretty_defaults(&o);
    cwb_opts opts;
    cwb_opts_init(&opts, L, 2, PRETTY_KEYS);
    o.depth = (int)cwb_opts_range(&opts, "depth", o.depth, 1, DEPTH_MAX);
    o.items = (int)cwb_opts_range(&opts, "items", o.items, 1, 1000000);
    o.width = (int)cwb_opts_range(&opts, "width", o.width, 20, 100000);
    cwb_lua_pretty(L, 1, &o);
    return 1;
}

int cwb_lua_l_pp(lua_State *L) {
    int n = lua_gettop(L);
    cwb_lua_pretty_values(L, 0);
    lua_getglobal(L, "print"); /* the front end's print: the workbench shows it */
    lua_insert(L, 1);
    lua_call(L, n, 0);
    return 0;
}
