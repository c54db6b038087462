/*
 * lrng.c - cwb.rng: seedable random streams (xoshiro256**, see rng.h).
 *
 * The generator state lives inside the userdata, so an rng costs no
 * allocation and needs no __gc.  The same (seed, stream) gives the same
 * numbers as the engine's streams of that id.
 */
#include "lua/lbind.h"

#include <limits.h>
#include <math.h>

cwb_rng *cwb_lua_checkrng(lua_State *L, int arg) {
    return luaL_checkudata(L, arg, CWB_RNG_MT);
}

uint64_t cwb_lua_checkseed(lua_State *L, int arg) {
    return (uint64_t)luaL_checkinteger(L, arg);
}

/* The session's default stream `stream`: seeded from cwb.seed() on first
 * use and kept in the registry, so calls without an rng draw fresh numbers
 * each time yet a recipe is reproducible from --seed. */
static cwb_rng *default_rng(lua_State *L, uint64_t stream) {
    static const char KEY[] = "cwb.default_rngs";
    if (lua_getfield(L, LUA_REGISTRYINDEX, KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, KEY);
    }
    cwb_rng *r;
    if (lua_rawgeti(L, -1, (lua_Integer)stream) == LUA_TUSERDATA) r = lua_touserdata(L, -1);
    else {
        lua_pop(L, 1);
        r = cwb_lua_newobject(L, sizeof *r, 0, CWB_RNG_MT);
        cwb_rng_seed(r, cwb_lua_seed(), stream);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, (lua_Integer)stream);
    }
    lua_pop(L, 2); /* the registry keeps it alive */
    return r;
}

cwb_rng *cwb_lua_torng(lua_State *L, int arg, cwb_rng *tmp, uint64_t stream) {
    cwb_rng *r = luaL_testudata(L, arg, CWB_RNG_MT);
    if (r) return r;
    if (lua_isnoneornil(L, arg)) return default_rng(L, stream);
    if (!lua_isinteger(L, arg)) {
        if (lua_type(L, arg) == LUA_TNUMBER) luaL_checkinteger(L, arg); /* "no integer representation" */
        luaL_typeerror(L, arg, "cwb.rng or integer seed");
    }
    cwb_rng_seed(tmp, (uint64_t)lua_tointeger(L, arg), stream);
    return tmp;
}

static int r_new(lua_State *L) {
    uint64_t seed = cwb_lua_checkseed(L, 1);
    uint64_t stream = (uint64_t)luaL_optinteger(L, 2, CWB_STREAM_USER);
    cwb_rng *r = cwb_lua_newobject(L, sizeof *r, 0, CWB_RNG_MT);
    cwb_rng_seed(r, seed, stream);
    return 1;
}

/* uniform() in [0, 1); uniform(a, b) in [a, b) */
static int m_uniform(lua_State *L) {
    cwb_rng *r = cwb_lua_checkrng(L, 1);
    double u = cwb_rng_uniform(r);
    if (lua_isnoneornil(L, 2)) {
        lua_pushnumber(L, u);
        return 1;
    }
    double a = luaL_checknumber(L, 2), b = luaL_checknumber(L, 3);
    lua_pushnumber(L, a + (b - a) * u);
    return 1;
}

static int m_normal(lua_State *L) {
    cwb_rng *r = cwb_lua_checkrng(L, 1);
    double mean = luaL_optnumber(L, 2, 0.0), sd = luaL_optnumber(L, 3, 1.0);
    lua_pushnumber(L, mean + sd * cwb_rng_normal(r));
    return 1;
}

static int m_gamma(lua_State *L) {
    cwb_rng *r = cwb_lua_checkrng(L, 1);
    double shape = luaL_checknumber(L, 2);
    double rate = luaL_optnumber(L, 3, 1.0);
    if (!(shape > 0) || !isfinite(shape))
        luaL_argerror(L, 2, "shape must be positive and finite");
    if (!(rate > 0) || !isfinite(rate)) luaL_argerror(L, 3, "rate must be positive and finite");
    lua_pushnumber(L, cwb_rng_gamma(r, shape, rate));
    return 1;
}

/* int(n) in 1..n; int(a, b) in a..b */
static int m_int(lua_State *L) {
    cwb_rng *r = cwb_lua_checkrng(L, 1);
    lua_Integer a = 1, b;
    if (lua_isnoneornil(L, 3)) b = luaL_checkinteger(L, 2);
    else {
        a = luaL_checkinteger(L, 2);
        b = luaL_checkinteger(L, 3);
    }
    if (b < a) luaL_argerror(L, lua_isnoneornil(L, 3) ? 2 : 3, "interval is empty");
    uint64_t span = (uint64_t)b - (uint64_t)a + 1;
    uint64_t v = span == 0 ? cwb_rng_u64(r) : cwb_rng_below(r, span);
    lua_pushinteger(L, (lua_Integer)((uint64_t)a + v));
    return 1;
}

static int m_permutation(lua_State *L) {
    cwb_rng *r = cwb_lua_checkrng(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    if (n < 0 || n > INT_MAX / 2) luaL_argerror(L, 2, "size out of range");
    int *p = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(int), 0);
    cwb_rng_permutation(r, p, (int)n);
    cwb_lua_pushints(L, p, (int)n, 1);
    return 1;
}

static int m_randn(lua_State *L) {
    cwb_rng *r = cwb_lua_checkrng(L, 1);
    lua_Integer rows = luaL_checkinteger(L, 2), cols = luaL_checkinteger(L, 3);
    if (rows < 1 || rows > INT_MAX) luaL_argerror(L, 2, "rows must be positive");
    if (cols < 1 || cols > INT_MAX) luaL_argerror(L, 3, "cols must be positive");
    double mean = luaL_optnumber(L, 4, 0.0), sd = luaL_optnumber(L, 5, 1.0);
    cwb_tensor *t = cwb_lua_newtensor(L, (int)rows, (int)cols);
    cwb_rng_fill_normal(r, t->data, (long)cwb_tensor_size(t), (float)mean, (float)sd);
    return 1;
}

static int m_clone(lua_State *L) {
    cwb_rng *r = cwb_lua_checkrng(L, 1);
    cwb_rng *c = cwb_lua_newobject(L, sizeof *c, 0, CWB_RNG_MT);
    *c = *r;
    return 1;
}

static int mm_tostring(lua_State *L) {
    cwb_rng *r = cwb_lua_checkrng(L, 1);
    lua_pushfstring(L, "cwb.rng (%p)", (void *)r);
    return 1;
}

static const luaL_Reg fns[] = {{"new", r_new}, {NULL, NULL}};
static const cwb_lua_doc docs[] = {
    {"new", "cwb.rng.new(seed [, stream]) -> rng: a xoshiro256** stream seeded by (seed, "
            "stream); stream defaults to 100 (user)"},
    {NULL, NULL}};

static const luaL_Reg methods[] = {{"uniform", m_uniform},
                                   {"normal", m_normal},
                                   {"gamma", m_gamma},
                                   {"int", m_int},
                                   {"permutation", m_permutation},
                                   {"randn", m_randn},
                                   {"clone", m_clone},
                                   {NULL, NULL}};
static const cwb_lua_doc method_docs[] = {
    {"uniform", "r:uniform([a, b]) -> number: uniform in [0, 1), or in [a, b)"},
    {"normal", "r:normal([mean, std]) -> number: normal (Box-Muller), default N(0, 1)"},
    {"gamma", "r:gamma(shape [, rate]) -> number: Gamma(shape, rate), mean shape/rate "
              "(Marsaglia-Tsang)"},
    {"int", "r:int(n) or r:int(a, b) -> integer: uniform in 1..n or a..b"},
    {"permutation", "r:permutation(n) -> table: a random permutation of 1..n"},
    {"randn", "r:randn(rows, cols [, mean, std]) -> tensor: normal values"},
    {"clone", "r:clone() -> rng: an independent copy of the current state"},
    {NULL, NULL}};
static const luaL_Reg meta[] = {{"__tostring", mm_tostring}, {NULL, NULL}};

int cwb_lua_open_rng(lua_State *L) {
    cwb_lua_newclass(L, CWB_RNG_MT, "rng methods", "rng: a seeded random stream", methods,
                     method_docs, meta);
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "seedable random streams (same seed and stream, same numbers)");
    return 1;
}
