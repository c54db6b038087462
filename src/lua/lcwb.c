/*
 * lcwb.c - the `cwb` module: the doc registry behind help(), the session
 * context (recipe, --out, --seed, --quiet, Ctrl-C), and luaopen_cwb, which
 * assembles the areas opened by the other binding files.
 *
 * Docs live in a weak-keyed registry table mapping a function or table to
 * its one-line doc string, so anything reachable from Lua can be asked
 * about, whatever name it was stored under.  Classes' method tables are
 * listed separately so that help() can show "tensor methods" too.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "lua/lbind.h"
#include "lua/lchunk.h"
#include "lua/lpretty.h"
#include "engine/core/error.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0"
#endif

static const char DOCS_KEY[] = "cwb.docs";       /* weak keys: value -> doc */
static const char CLASSES_KEY[] = "cwb.classes"; /* sequence of {label, methods} */

/* ---- doc registry ------------------------------------------------------- */

/* Push registry[key], creating it (with the given __mode, or none) if absent. */
static void push_regtable(lua_State *L, const char *key, const char *mode) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, key) == LUA_TTABLE) return;
    lua_pop(L, 1);
    lua_newtable(L);
    if (mode) {
        lua_createtable(L, 0, 1);
        lua_pushstring(L, mode);
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
}

void cwb_lua_setdoc(lua_State *L, int idx, const char *doc) {
    idx = lua_absindex(L, idx);
    push_regtable(L, DOCS_KEY, "k");
    lua_pushvalue(L, idx);
    lua_pushstring(L, doc);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Push the doc of the value at idx, or nil. */
static int push_doc(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    push_regtable(L, DOCS_KEY, "k");
    lua_pushvalue(L, idx);
    int t = lua_rawget(L, -2);
    lua_remove(L, -2);
    return t != LUA_TNIL;
}

void cwb_lua_newlib(lua_State *L, const luaL_Reg *fns, const cwb_lua_doc *docs) {
    int n = 0;
    for (const luaL_Reg *f = fns; f->name; f++) n++;
    lua_createtable(L, 0, n);
    luaL_setfuncs(L, fns, 0);
    if (!docs) return;
    for (const cwb_lua_doc *d = docs; d->name; d++) {
        if (lua_getfield(L, -1, d->name) != LUA_TNIL) cwb_lua_setdoc(L, -1, d->doc);
        lua_pop(L, 1);
    }
}

void cwb_lua_newclass(lua_State *L, const char *tname, const char *label,
                      const char *doc, const luaL_Reg *methods,
                      const cwb_lua_doc *docs, const luaL_Reg *meta) {
    if (!luaL_newmetatable(L, tname)) { /* already registered by an earlier open */
        lua_pop(L, 1);
        return;
    }
    if (meta) luaL_setfuncs(L, meta, 0);
    cwb_lua_newlib(L, methods, docs);
    if (doc) cwb_lua_setdoc(L, -1, doc);
    push_regtable(L, CLASSES_KEY, NULL);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, label);
    lua_setfield(L, -2, "label");
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "methods");
    lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
    lua_pop(L, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

int cwb_lua_engine_error(lua_State *L, const char *where) {
    const char *m = cwb_errmsg();
    if (!m || !*m) m = "engine error";
    /* Engine messages often start with the C function's name
     * ("cwb_synth_new: n = 0 ...") or the area's ("optim: lr=-1 ..."); the
     * Lua-side name in `where` replaces it rather than stutter. */
    const char *p = m;
    while (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) p++;
    if (p > m && p[0] == ':' && p[1] == ' ') {
        size_t w = (size_t)(p - m);
        if (strncmp(m, "cwb_", 4) == 0 ||
            (where && strncmp(where, m, w) == 0 && (where[w] == '\0' || where[w] == ':' || where[w] == '.')))
            m = p + 2;
    }
    if (!where) return luaL_error(L, "%s", m);
    return luaL_error(L, "%s: %s", where, m);
}

/* ---- session context ------------------------------------------------------ */

static char ctx_recipe[1024] = "(none)";
static char ctx_outdir[1024] = ".";
static unsigned long long ctx_seed = 1;
static int ctx_quiet;
static volatile sig_atomic_t ctx_interrupted;

static void copy_str(char *dst, size_t n, const char *src, const char *def) {
    /* the workbench's run() passes cwb_lua_outdir() back in: snprintf onto
     * its own source is undefined (glibc left "" and recipes wrote to /) */
    if (src == dst) return;
    snprintf(dst, n, "%s", src && *src ? src : def);
}

void cwb_lua_set_context(const char *recipe, const char *outdir, unsigned long long seed) {
    copy_str(ctx_recipe, sizeof ctx_recipe, recipe, "(none)");
    copy_str(ctx_outdir, sizeof ctx_outdir, outdir, ".");
    ctx_seed = seed;
}
const char *cwb_lua_recipe(void) { return ctx_recipe; }
const char *cwb_lua_outdir(void) { return ctx_outdir; }
unsigned long long cwb_lua_seed(void) { return ctx_seed; }
void cwb_lua_set_quiet(int quiet) { ctx_quiet = quiet; }
int cwb_lua_quiet(void) { return ctx_quiet; }
void cwb_lua_interrupt(void) { ctx_interrupted = 1; }
int cwb_lua_interrupted(void) { return ctx_interrupted != 0; }
void cwb_lua_clear_interrupt(void) { ctx_interrupted = 0; }

int cwb_lua_check_interrupt(lua_State *L) {
    if (!ctx_interrupted) return 0;
    /* main.c's handler also armed a hook to stop Lua code; C loops that
     * notice the flag first raise the error themselves, so the hook must
     * not fire again later (e.g. inside the message handler). */
    lua_sethook(L, NULL, 0, 0);
    return 1;
}

/* ---- help ------------------------------------------------------------------ */

/* The help text is gathered as pieces in a Lua table (so that errors cannot
 * leak memory and the stack stays simple) and concatenated at the end. */
typedef struct {
    lua_State *L;
    int t;              /* absolute index of the pieces table */
    lua_Integer n;      /* pieces so far */
} sbuf;

static void sb_init(sbuf *s, lua_State *L) {
    s->L = L;
    lua_newtable(L);
    s->t = lua_gettop(L);
    s->n = 0;
}
/* Append the string on top of the stack (popped). */
static void sb_addtop(sbuf *s) { lua_rawseti(s->L, s->t, ++s->n); }
static void sb_trunc(sbuf *s, lua_Integer n) {
    while (s->n > n) {
        lua_pushnil(s->L);
        lua_rawseti(s->L, s->t, s->n--);
    }
}
/* Replace the pieces table by their concatenation. */
static void sb_result(sbuf *s) {
    luaL_Buffer b;
    luaL_buffinit(s->L, &b);
    for (lua_Integer i = 1; i <= s->n; i++) {
        lua_rawgeti(s->L, s->t, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_remove(s->L, s->t);
}

/* Case-insensitive substring test (strcasestr is a GNU extension). */
static int contains(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return n == 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One line per documented member of the table at idx, sorted by name:
 * "  <doc>".  Undocumented functions are listed by name so that a missing
 * doc shows; with a filter, only lines containing it (any case). */
static void add_members(sbuf *s, int idx, const char *filter) {
    lua_State *L = s->L;
    idx = lua_absindex(L, idx);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) == LUA_TSTRING) n++;
        lua_pop(L, 1);
    }
    if (n == 0) return;
    /* names as a Lua array userdata, so a later error cannot leak it */
    const char **names = lua_newuserdatauv(L, (size_t)n * sizeof *names, 0);
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        /* the keys stay alive: they are the table's own strings */
        if (lua_type(L, -2) == LUA_TSTRING && k < n) names[k++] = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    qsort(names, (size_t)k, sizeof *names, cmp_str);
    for (int i = 0; i < k; i++) {
        int t = lua_getfield(L, idx, names[i]);
        if (t == LUA_TFUNCTION || t == LUA_TTABLE) {
            int has = push_doc(L, -1);
            const char *doc = has ? lua_tostring(L, -1) : NULL;
            /* undocumented tables are data, not API */
            if ((t == LUA_TFUNCTION || has) &&
                (!filter || (doc && contains(doc, filter)) || contains(names[i], filter))) {
                if (doc && t == LUA_TTABLE) lua_pushfstring(L, "  %s: %s\n", names[i], doc);
                else if (doc) lua_pushfstring(L, "  %s\n", doc);
                else lua_pushfstring(L, "  %s: (undocumented)\n", names[i]);
                sb_addtop(s);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* names */
}

/* The cwb module table, or nil. */
static int push_cwb(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    int t = lua_getfield(L, -1, "cwb");
    lua_remove(L, -2);
    return t == LUA_TTABLE;
}

/* The areas of the module, in the order help() lists them (luaopen_cwb
 * opens them from the same table). */
typedef int (*opener)(lua_State *);
static const struct {
    const char *name;
    opener open;
} AREAS[] = {{"tensor", cwb_lua_open_tensor},   {"rng", cwb_lua_open_rng},
             {"data", cwb_lua_open_data},       {"nn", cwb_lua_open_nn},
             {"loss", cwb_lua_open_loss},       {"metrics", cwb_lua_open_metrics},
             {"trainer", cwb_lua_open_trainer}, {"scalefit", cwb_lua_open_scalefit},
             {"runs", cwb_lua_open_runs},       {"plot", cwb_lua_open_plot},
             {"mm", cwb_lua_open_mm}};
#define N_AREAS (sizeof AREAS / sizeof AREAS[0])

/* Add a section: its heading (on top of the stack, popped) and the members
 * of the table at idx; with a filter, a section without matches is dropped. */
static void add_section(sbuf *s, int idx, const char *filter) {
    idx = lua_absindex(s->L, idx);
    lua_Integer before = s->n;
    sb_addtop(s);
    lua_Integer head = s->n;
    add_members(s, idx, filter);
    if (filter && s->n == head) sb_trunc(s, before);
}

/* The whole listing (filter NULL) or the entries matching filter. */
static void add_listing(sbuf *s, const char *filter) {
    lua_State *L = s->L;
    if (!push_cwb(L)) {
        lua_pop(L, 1);
        return;
    }
    int cwb = lua_gettop(L);
    lua_newtable(L); /* the top-level functions only */
    lua_pushnil(L);
    while (lua_next(L, cwb)) {
        if (lua_type(L, -1) == LUA_TFUNCTION) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        } else
            lua_pop(L, 1);
    }
    lua_pushliteral(L, "cwb\n");
    add_section(s, -2, filter);
    lua_pop(L, 1);
    for (size_t i = 0; i < N_AREAS; i++) {
        if (lua_getfield(L, cwb, AREAS[i].name) == LUA_TTABLE) {
            int has = push_doc(L, -1);
            lua_pushfstring(L, "\ncwb.%s%s%s\n", AREAS[i].name, has ? ": " : "",
                            has ? lua_tostring(L, -1) : "");
            lua_remove(L, -2);
            add_section(s, -2, filter);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* cwb */
    /* the REPLs' own commands: documented global functions (run, knob, lesson, ...) */
    lua_newtable(L);
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        int doc = lua_type(L, -1) == LUA_TFUNCTION && lua_type(L, -2) == LUA_TSTRING &&
                  strcmp(lua_tostring(L, -2), "help") != 0;
        if (doc) {
            doc = push_doc(L, -1);
            lua_pop(L, 1);
        }
        if (doc) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -5);
        } else
            lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    int any = lua_next(L, -2);
    if (any) lua_pop(L, 2);
    if (any) {
        lua_pushliteral(L, "\nworkbench commands (globals)\n");
        add_section(s, -2, filter);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, CWB_LUA_HELP_KEYS) == LUA_TSTRING &&
        (!filter || strstr(lua_tostring(L, -1), filter))) {
        lua_pushfstring(L, "\nworkbench keys\n%s\n", lua_tostring(L, -1));
        sb_addtop(s);
    }
    lua_pop(L, 1);
    push_regtable(L, CLASSES_KEY, NULL);
    lua_Integer nc = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= nc; i++) {
        lua_geti(L, -1, i);
        lua_getfield(L, -1, "label");
        lua_getfield(L, -2, "methods");
        int has = push_doc(L, -1);
        lua_pushfstring(L, "\n%s%s%s\n", lua_tostring(L, -3), has ? ": " : "",
                        has ? lua_tostring(L, -1) : "");
        lua_remove(L, -2);
        add_section(s, -2, filter);
        lua_pop(L, 3);
    }
    lua_pop(L, 1);
}

/* The methods table of a userdata's class, pushed; 0 if none. */
static int push_class_methods(lua_State *L, int idx) {
    if (!lua_getmetatable(L, idx)) return 0;
    if (lua_getfield(L, -1, "__index") != LUA_TTABLE) {
        lua_pop(L, 2);
        return 0;
    }
    lua_remove(L, -2);
    return 1;
}

/* "cwb.rng" if the table at idx is one of the module's areas, else NULL. */
static const char *area_name(lua_State *L, int idx) {
    static char buf[64];
    const char *found = NULL;
    idx = lua_absindex(L, idx);
    if (push_cwb(L)) {
        for (size_t i = 0; i < N_AREAS && !found; i++) {
            lua_getfield(L, -1, AREAS[i].name);
            if (lua_rawequal(L, -1, idx)) {
                snprintf(buf, sizeof buf, "cwb.%s", AREAS[i].name);
                found = buf;
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    return found;
}

/* ---- help for a name that does not exist ---------------------------------- */

#define NAME_MAX_PARTS 8
#define NAME_PART_MAX 64
#define NEAREST 3

/* Optimal string alignment distance (edits and swaps of neighbours), any
 * case; 99 for parts too long to compare. */
static int distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n >= NAME_PART_MAX || m >= NAME_PART_MAX) return 99;
    int d[NAME_PART_MAX + 1][NAME_PART_MAX + 1];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

/* How far a typed name is from a real one (0: too far to suggest); a real
 * name that starts with what was typed, or differs only in case, counts as
 * one edit away. */
static int near_enough(const char *typed, const char *real) {
    size_t n = strlen(typed);
    if (n >= 3 && strncasecmp(real, typed, n) == 0) return 1;
    int d = distance(typed, real), limit = n <= 3 ? 1 : n <= 6 ? 2 : 3;
    return d > limit ? 0 : d > 0 ? d : 1;
}

typedef struct {
    char name[NEAREST][160];
    int dist[NEAREST];
    int n;
} nearest;

static void consider(nearest *nr, const char *name, int d) {
    if (d <= 0) return;
    for (int i = 0; i < nr->n; i++)
        if (strcmp(nr->name[i], name) == 0) return;
    int at = nr->n;
    while (at > 0 && nr->dist[at - 1] > d) at--;
    if (at >= NEAREST) return;
    int last = nr->n < NEAREST ? nr->n : NEAREST - 1;
    for (int i = last; i > at; i--) {
        memcpy(nr->name[i], nr->name[i - 1], sizeof nr->name[i]);
        nr->dist[i] = nr->dist[i - 1];
    }
    snprintf(nr->name[at], sizeof nr->name[at], "%s", name);
    nr->dist[at] = d;
    if (nr->n < NEAREST) nr->n++;
}

/* Push the table of names the value at idx has: itself when a table, its
 * metatable's __index when that is a table (objects, classes); nil else. */
static int push_members(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_istable(L, idx)) {
        lua_pushvalue(L, idx);
        return 1;
    }
    if (push_class_methods(L, idx)) return 1;
    lua_pushnil(L);
    return 0;
}

/* Suggest members of the table at idx near `part`, named prefix..sep..key. */
static void near_members(lua_State *L, int idx, const char *prefix, char sep, const char *part,
                         nearest *nr) {
    if (!push_members(L, idx)) {
        lua_pop(L, 1);
        return;
    }
    char sepstr[2] = {sep, '\0'};
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) continue;
        const char *k = lua_tostring(L, -1);
        char full[160];
        snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? sepstr : "", k);
        consider(nr, full, near_enough(part, k));
    }
    lua_pop(L, 1);
}

/* The member `part` of the value on top, replacing it (nil when absent),
 * read without running code: raw fields, then the __index table. */
static void raw_member(lua_State *L, const char *part) {
    int v = lua_gettop(L);
    lua_pushnil(L);
    if (lua_istable(L, v)) {
        lua_pushstring(L, part);
        lua_rawget(L, v);
        lua_replace(L, v + 1);
    }
    if (lua_isnil(L, v + 1) && push_class_methods(L, v)) {
        lua_getfield(L, -1, part);
        lua_replace(L, v + 1);
        lua_pop(L, 1);
    }
    lua_replace(L, v);
}

/* A dotted name ("cwb.trainer.new", "trainer.new", "tr:run") cut into parts. */
typedef struct {
    char part[NAME_MAX_PARTS][NAME_PART_MAX];
    char sep[NAME_MAX_PARTS];  /* the separator before part[i + 1] */
    int n;
    char found[160];           /* the part that exists, as a name ("cwb.trainer") */
} dotted;

/* Push the local variable `name` of the function calling help (level 1);
 * 0 (nothing pushed) if it has none of that name. */
static int push_caller_local(lua_State *L, const char *name) {
    lua_Debug ar;
    if (!lua_getstack(L, 1, &ar)) return 0;
    int found = 0;
    const char *n;
    for (int i = 1; (n = lua_getlocal(L, &ar, i)) != NULL; i++) {
        if (strcmp(n, name) == 0 && n[0] != '(') { /* the last one of the name is in scope */
            if (found) lua_remove(L, -2);
            found = 1;
        } else
            lua_pop(L, 1);
    }
    return found;
}

/* Resolve d's parts from the caller's locals, the globals, or the cwb
 * module when the first is none of those; push the deepest value found
 * (the globals table when not even the first part exists).  Returns how
 * many parts resolved (d->n: the whole name exists). */
static int resolve(lua_State *L, dotted *d, const char *name) {
    d->n = 0;
    d->found[0] = '\0';
    for (const char *p = name; *p && d->n < NAME_MAX_PARTS;) {
        size_t n = strcspn(p, ".:");
        snprintf(d->part[d->n], NAME_PART_MAX, "%.*s", (int)n, p);
        d->sep[d->n++] = p[n] ? p[n] : '.';
        p += n + (p[n] ? 1 : 0);
    }
    lua_pushglobaltable(L);
    int i = 0;
    if (d->n > 0 && push_caller_local(L, d->part[0])) {
        if (lua_isnil(L, -1)) lua_pop(L, 1);
        else {
            lua_remove(L, -2);
            snprintf(d->found, sizeof d->found, "%s", d->part[0]);
            i = 1;
        }
    }
    if (d->n > 0 && i == 0) {
        lua_pushvalue(L, -1);
        raw_member(L, d->part[0]);
        int missing = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (missing) {
            if (push_cwb(L)) {
                lua_pushvalue(L, -1);
                raw_member(L, d->part[0]);
                missing = lua_isnil(L, -1);
                lua_pop(L, 1);
            }
            if (!missing) {
                lua_remove(L, -2);
                snprintf(d->found, sizeof d->found, "cwb");
            } else
                lua_pop(L, 1);
        }
    }
    for (; i < d->n; i++) {
        lua_pushvalue(L, -1);
        raw_member(L, d->part[i]);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        lua_remove(L, -2);
        size_t fl = strlen(d->found);
        char sep[2] = {i ? d->sep[i - 1] : '.', '\0'};
        snprintf(d->found + fl, sizeof d->found - fl, "%s%s", fl ? sep : "", d->part[i]);
    }
    return i;
}

/* help for a name that is not there ("nothing matches" after a search for
 * a word, else "no such function or table") and the nearest names --
 * members of the part of the name that exists (the globals and the module
 * for a first part), else anything in the module with a near last part. */
static void add_no_such(sbuf *s, const char *name, int searched) {
    lua_State *L = s->L;
    dotted d;
    int i = resolve(L, &d, name);
    nearest nr = {.n = 0};
    char sep = lua_isuserdata(L, -1) ? ':' : i ? d.sep[i - 1] : '.'; /* objects: methods */
    if (i < d.n) near_members(L, -1, d.found, sep, d.part[i], &nr);
    lua_pop(L, 1);
    if (i == 0 && d.n > 0) {
        if (push_cwb(L)) near_members(L, -1, "cwb", '.', d.part[0], &nr);
        lua_pop(L, 1);
    }
    if (nr.n == 0 && d.n > 0) { /* anywhere in the module */
        const char *last = d.part[d.n - 1];
        if (push_cwb(L)) {
            near_members(L, -1, "cwb", '.', last, &nr);
            for (size_t a = 0; a < N_AREAS; a++) {
                char area[64];
                snprintf(area, sizeof area, "cwb.%s", AREAS[a].name);
                lua_getfield(L, -1, AREAS[a].name);
                near_members(L, -1, area, '.', last, &nr);
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    lua_pushfstring(L, "help: %s '%s'", searched ? "nothing matches" : "no such function or table",
                    name);
    sb_addtop(s);
    for (int k = 0; k < nr.n; k++) {
        lua_pushfstring(L, "%s%s", k == 0 ? "; did you mean " : k == nr.n - 1 ? " or " : ", ",
                        nr.name[k]);
        sb_addtop(s);
    }
    lua_pushstring(L, nr.n ? "?\n" : searched ? "\n" : "; help(\"word\") searches the API\n");
    sb_addtop(s);
}

/* The name written as the argument of the help call that is running, when
 * it can be read back from the caller's source line: a typed line (the
 * REPLs keep it under CWB_LUA_TYPED_KEY), a file, or a loaded string. */
static int typed_name(lua_State *L, char *out, size_t cap) {
    lua_Debug ar;
    if (!lua_getstack(L, 1, &ar) || !lua_getinfo(L, "Sl", &ar) || ar.currentline < 1) return 0;
    char line[1024] = "";
    const char *text = NULL;
    if (strcmp(ar.source, "=stdin") == 0) {
        lua_getfield(L, LUA_REGISTRYINDEX, CWB_LUA_TYPED_KEY);
        text = lua_tostring(L, -1);
        lua_pop(L, 1); /* the registry keeps the string alive */
    } else if (ar.source[0] != '=' && ar.source[0] != '@')
        text = ar.source;
    if (text) {
        for (int n = 1; n < ar.currentline && text; n++) {
            text = strchr(text, '\n');
            if (text) text++;
        }
        if (!text) return 0;
        snprintf(line, sizeof line, "%.*s", (int)strcspn(text, "\n"), text);
    } else if (ar.source[0] == '@') {
        FILE *f = fopen(ar.source + 1, "r");
        if (!f) return 0;
        for (int n = 0; n < ar.currentline && fgets(line, sizeof line, f); n++) {
        }
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
    }
    /* help ( name ) or helptext ( name ), name a dotted path */
    for (const char *p = line; (p = strstr(p, "help")) != NULL; p += 4) {
        if (p > line && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) continue;
        const char *q = p + 4;
        if (strncmp(q, "text", 4) == 0) q += 4; /* cwb.helptext(x) */
        while (*q == ' ' || *q == '\t') q++;
        if (*q++ != '(') continue;
        while (*q == ' ' || *q == '\t') q++;
        size_t n = 0;
        while (isalnum((unsigned char)q[n]) || q[n] == '_' || q[n] == '.' || q[n] == ':') n++;
        const char *e = q + n;
        while (*e == ' ' || *e == '\t') e++;
        if (n == 0 || n >= cap || *e != ')' || !(isalpha((unsigned char)q[0]) || q[0] == '_') ||
            (n == 3 && strncmp(q, "nil", 3) == 0))
            continue;
        snprintf(out, cap, "%.*s", (int)n, q);
        return 1;
    }
    return 0;
}

/* Is the word a name (a.b, a:b), so that "nothing matches" can suggest? */
static int is_name(const char *w) {
    if (!(isalpha((unsigned char)w[0]) || w[0] == '_')) return 0;
    for (; *w; w++)
        if (!(isalnum((unsigned char)*w) || *w == '_' || *w == '.' || *w == ':')) return 0;
    return 1;
}

/* Push the help text for the value at arg: the whole API when there is no
 * argument (given = 0); a nil argument is a name that does not exist. */
static void help_text(lua_State *L, int arg, int given) {
    sbuf s;
    int t = lua_type(L, arg);
    sb_init(&s, L);
    if (!given) {
        lua_pushfstring(L, "cwb %s: the Lua API. help(f) shows one entry, help(\"word\") "
                           "searches. Indices count from 1.\n\n", PACKAGE_VERSION);
        sb_addtop(&s);
        add_listing(&s, NULL);
    } else if (t == LUA_TNIL) {
        char name[160];
        if (typed_name(L, name, sizeof name)) add_no_such(&s, name, 0);
        else {
            lua_pushliteral(L, "help: the argument is nil: no such function or table (a "
                               "misspelt name?); help() lists the API, help(\"word\") searches "
                               "it\n");
            sb_addtop(&s);
        }
    } else if (t == LUA_TSTRING) {
        const char *w = lua_tostring(L, arg);
        add_listing(&s, w);
        if (s.n == 0 && is_name(w)) { /* help "trainer.new", help "trainer.nwe" */
            dotted d;
            int parts = resolve(L, &d, w);
            if (parts == d.n) {
                help_text(L, lua_gettop(L), 1);
                lua_remove(L, -2);
                sb_addtop(&s);
            } else {
                lua_pop(L, 1);
                add_no_such(&s, w, strpbrk(w, ".:") == NULL);
            }
        } else if (s.n == 0) {
            lua_pushfstring(L, "help: nothing matches '%s'\n", w);
            sb_addtop(&s);
        }
    } else if (t == LUA_TUSERDATA && push_class_methods(L, arg)) {
        int has = push_doc(L, -1);
        lua_pushfstring(L, "%s%s%s\n", luaL_typename(L, arg), has ? ": " : "",
                        has ? lua_tostring(L, -1) : "");
        lua_remove(L, -2);
        sb_addtop(&s);
        add_members(&s, -1, NULL);
        lua_pop(L, 1);
    } else if (push_doc(L, arg)) {
        const char *name = t == LUA_TTABLE ? area_name(L, arg) : NULL;
        lua_pushfstring(L, "%s%s%s\n", name ? name : "", name ? ": " : "", lua_tostring(L, -1));
        lua_remove(L, -2);
        sb_addtop(&s);
        if (t == LUA_TTABLE) add_members(&s, arg, NULL);
    } else {
        lua_pop(L, 1);
        lua_pushfstring(L, "help: no documentation for this %s\n", luaL_typename(L, arg));
        sb_addtop(&s);
    }
    sb_result(&s);
}

/* Printed through the global print, so that a front end which redirects
 * print (the workbench's output pane) shows help too. */
static int l_help(lua_State *L) {
    int given = lua_gettop(L) > 0;
    lua_settop(L, 1);
    help_text(L, 1, given);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (n > 0 && s[n - 1] == '\n') n--; /* print adds its own */
    lua_getglobal(L, "print");
    lua_pushlstring(L, s, n);
    lua_call(L, 1, 0);
    return 0;
}

static int l_helptext(lua_State *L) {
    int given = lua_gettop(L) > 0;
    lua_settop(L, 1);
    help_text(L, 1, given);
    return 1;
}

static int l_doc(lua_State *L) {
    luaL_checkany(L, 1);
    if (lua_type(L, 1) == LUA_TUSERDATA && push_class_methods(L, 1)) {
        if (push_doc(L, -1)) return 1;
        lua_pushnil(L);
        return 1;
    }
    if (!push_doc(L, 1)) lua_pushnil(L);
    return 1;
}

/* mkdir(path) -> path: the folder and its missing parents */
static int l_mkdir(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    if (cwb_mkdir_p(path) != 0) return luaL_error(L, "mkdir: %s: %s", path, strerror(errno));
    lua_settop(L, 1);
    return 1;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* dir(path) -> {names...} sorted, without . and ..; nil, message if unreadable */
static int l_dir(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    DIR *d = opendir(path);
    if (!d) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    lua_newtable(L);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -2, ++n);
    }
    closedir(d);
    /* sorted in C: the names are few, and the order must not depend on the file system */
    const char **names = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *names, 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, -2, i + 1);
        names[i] = lua_tostring(L, -1);
        lua_pop(L, 1); /* the table keeps the string */
    }
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_setdoc(lua_State *L) {
    luaL_argcheck(L, lua_isfunction(L, 1) || lua_istable(L, 1), 1, "a function or a table");
    cwb_lua_setdoc(L, 1, luaL_checkstring(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int l_seed(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)cwb_lua_seed());
    return 1;
}

static int l_outdir(lua_State *L) {
    lua_pushstring(L, cwb_lua_outdir());
    return 1;
}

static int l_outpath(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    const char *dir = cwb_lua_outdir();
    if (name[0] == '/' || strcmp(dir, ".") == 0) lua_pushstring(L, name);
    else lua_pushfstring(L, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    return 1;
}

/* write_file(path, text): the one way a recipe writes a file, atomically
 * (util/atomic.h); raises "path: reason". */
static int l_write_file(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const char *text = luaL_checklstring(L, 2, &n);
    char err[1200];
    if (cwb_atomic_write(path, text, n, err, sizeof err)) return luaL_error(L, "%s", err);
    lua_pushstring(L, path);
    return 1;
}

static int l_recipe(lua_State *L) {
    lua_pushstring(L, cwb_lua_recipe());
    return 1;
}

static int l_quiet(lua_State *L) {
    lua_pushboolean(L, cwb_lua_quiet());
    return 1;
}

static int l_clock(lua_State *L) {
    lua_pushnumber(L, cwb_now());
    return 1;
}

static int l_threads(lua_State *L) {
    lua_pushinteger(L, cwb_blas_threads());
    return 1;
}

/* cwb.analyze{...}: lua/cwb/analyze.lua's run, so `cwb analyze` and recipes
 * share one implementation. */
static int l_analyze(lua_State *L) {
    lua_settop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cwb.analyze");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "run");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

static const luaL_Reg cwb_fns[] = {
    {"help", l_help},     {"helptext", l_helptext}, {"doc", l_doc},
    {"seed", l_seed},     {"outdir", l_outdir},     {"outpath", l_outpath},
    {"write_file", l_write_file}, {"recipe", l_recipe}, {"quiet", l_quiet},
    {"clock", l_clock},   {"threads", l_threads},
    {"pretty", cwb_lua_l_pretty}, {"pp", cwb_lua_l_pp}, {"analyze", l_analyze},
    {"knob", cwb_lua_knob}, {"knobs", cwb_lua_knobs}, {"last_run", cwb_lua_last_run},
    {"setdoc", l_setdoc}, {"mkdir", l_mkdir}, {"dir", l_dir},
    {NULL, NULL}};

static const cwb_lua_doc cwb_docs[] = {
    {"help", "help([x]) -> nothing: print the API (no argument), the doc of a function, table "
             "or object, or the entries matching a word; a misspelt name (nil) or a name that "
             "matches nothing gets \"no such function\" and the nearest names"},
    {"helptext", "cwb.helptext([x]) -> string: what help(x) would print"},
    {"doc", "cwb.doc(x) -> string|nil: the one-line doc string of a function, table or object"},
    {"seed", "cwb.seed() -> integer: the session seed (--seed N, default 1); the default of "
             "every seed= option"},
    {"outdir", "cwb.outdir() -> string: the output folder (--out DIR, default \".\")"},
    {"outpath", "cwb.outpath(name) -> string: name inside the output folder"},
    {"write_file", "cwb.write_file(path, text) -> path: write text to path atomically (a "
                   "temporary file renamed over it; devices and FIFOs are written in place)"},
    {"recipe", "cwb.recipe() -> string: the running recipe's path (recorded with each run)"},
    {"quiet", "cwb.quiet() -> boolean: true under --quiet (no progress output)"},
    {"clock", "cwb.clock() -> seconds: a monotonic wall clock (only differences mean anything), "
              "for timing a run; os.clock() is CPU time"},
    {"threads", "cwb.threads() -> integer: the OpenBLAS threads cwb computes with (--threads)"},
    {"pretty", "cwb.pretty(v [, {depth=4, items=50, width=}]) -> string: v as readable text; a "
               "table as a constructor (keys sorted, nested, bounded, cycles marked <cycle>)"},
    {"pp", "cwb.pp(...): print the values as the REPL shows results (tables as cwb.pretty "
           "writes them)"},
    {"analyze", "cwb.analyze{a=, b=, labels=, out=cwb.outdir(), tsne_max=2000, seed=} -> report: "
                "two sets of paired embeddings (tensors or .npy files) measured on their "
                "L2-normalised rows: gap, alignment, uniformity, recall, kNN with labels; "
                "report.csv, vectors.tsv, metadata.tsv, pca.png, tsne.png (docs/real-data.md)"},
    {"knob", "cwb.knob(name [, value]) -> value, live, step: turn a live knob (tau, lr, batch, noise, "
             "alpha, gamma, w_sep, ...) of the run going on, from its next step (recorded as an "
             "event, marked on the curve pane); with nothing running, the next run starts with it "
             "(live = false); cwb.knob(name): the value now"},
    {"knobs", "cwb.knobs() -> {{name=, value=, min=, max=, option=, integer=}, ...}, live: the "
              "knobs of the run going on (live = true), else of the last run's trainer"},
    {"mkdir", "cwb.mkdir(path) -> path: create the folder and its missing parents (mkdir -p)"},
    {"dir", "cwb.dir(path) -> {name, ...} | nil, msg: the entries of a folder, sorted by name "
            "(without . and ..)"},
    {"setdoc", "cwb.setdoc(f, text) -> f: give a function or table of your own (a lesson's "
               "helper, a recipe's command) a doc string that help(f) shows; a documented global "
               "function is listed by help() among the workbench commands"},
    {"last_run", "cwb.last_run() -> {trainer=, options=, run=, name=} | nil: the last tr:run "
                 "(its trainer, a copy of its options, its store id, its name), for rerun"},
    {NULL, NULL}};

int luaopen_cwb(lua_State *L) {
    cwb_lua_newlib(L, cwb_fns, cwb_docs);
    cwb_lua_setdoc(L, -1, "cwb: the contrastive-learning workbench (help() lists everything)");
    for (size_t i = 0; i < N_AREAS; i++) {
        AREAS[i].open(L);
        lua_setfield(L, -2, AREAS[i].name);
    }
    /* cwb.pca and cwb.tsne live with the metrics but read better at the top level */
    lua_getfield(L, -1, "metrics");
    lua_getfield(L, -1, "pca");
    lua_setfield(L, -3, "pca");
    lua_getfield(L, -1, "tsne");
    lua_setfield(L, -3, "tsne");
    lua_pop(L, 1);
    lua_pushstring(L, PACKAGE_VERSION);
    lua_setfield(L, -2, "version");
    /* cwb.sanitized: a sanitizer build (-fsanitize=address) runs several
     * times slower, which tests that time runs must allow for */
#if defined(__SANITIZE_ADDRESS__)
    lua_pushboolean(L, 1);
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    lua_pushboolean(L, 1);
#else
    lua_pushboolean(L, 0);
#endif
#else
    lua_pushboolean(L, 0);
#endif
    lua_setfield(L, -2, "sanitized");
    /* help() is a global, as in an interactive shell */
    lua_getfield(L, -1, "help");
    lua_setglobal(L, "help");
    return 1;
}
