/*
 * lscalefit.c - cwb.scalefit: the gradient-bias experiment with a known
 * optimum (docs/methods.md, "The experiments the product must reproduce",
 * 1; scalefit.h).  Fixed embeddings, one parameter (the logit scale theta),
 * plain SGD on a minibatch loss; theta* from Newton on the population loss.
 *
 * s:run{...} is the run function every trainer shares (lrun.c): the main
 * recipe runs 10 starts x 4 losses x ~200k steps, so it loops in C with no
 * Lua call per step, and history = true gives the theta curve.
 */
#include "lua/lbind.h"
#include "engine/core/error.h"
#include "engine/train/scalefit.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define SCALEFIT_MT "cwb.scalefit"

static cwb_scalefit *check_sf(lua_State *L, int arg) {
    cwb_lua_trainer *sf = luaL_checkudata(L, arg, SCALEFIT_MT);
    if (!sf->self) luaL_argerror(L, arg, "scalefit was freed");
    return sf->self;
}

static const char *const pairs_keys[] = {"n", "k", "clusters", "spread", "pair_noise", "seed",
                                         NULL};

static int sf_pairs(lua_State *L) {
    cwb_opts o;
    cwb_opts_init(&o, L, 1, pairs_keys);
    int n = (int)cwb_opts_range(&o, "n", 1024, 2, INT_MAX);
    int k = (int)cwb_opts_range(&o, "k", 32, 2, INT_MAX);
    int clusters = (int)cwb_opts_range(&o, "clusters", 16, 1, INT_MAX);
    float spread = (float)cwb_opts_num(&o, "spread", 0.5);
    float pair_noise = (float)cwb_opts_num(&o, "pair_noise", 0.5);
    uint64_t seed = (uint64_t)cwb_opts_int(&o, "seed", (lua_Integer)cwb_lua_seed());
    cwb_tensor *a = cwb_lua_newtensor(L, n, k);
    cwb_tensor *b = cwb_lua_newtensor(L, n, k);
    int *labels = lua_newuserdatauv(L, (size_t)n * sizeof(int), 0);
    if (cwb_scalefit_pairs(n, k, clusters, spread, pair_noise, seed, a->data, b->data, labels) !=
        CWB_OK)
        return cwb_lua_engine_error(L, "pairs");
    cwb_lua_pushints(L, labels, n, 1);
    lua_remove(L, -2);
    return 3;
}

static int sf_optimum(lua_State *L) {
    cwb_tensor *a = cwb_lua_checktensor(L, 1), *b = cwb_lua_checktensor(L, 2);
    if (a->rows != b->rows || a->cols != b->cols)
        return luaL_argerror(L, 2, lua_pushfstring(L, "b is %dx%d, a is %dx%d", b->rows, b->cols,
                                                   a->rows, a->cols));
    double theta0 = luaL_optnumber(L, 3, 1.0);
    lua_Integer chunk = luaL_optinteger(L, 4, 0);
    if (chunk < 0 || chunk > INT_MAX) return luaL_argerror(L, 4, "chunk must be >= 0");
    double ts;
    if (cwb_scale_optimum(a->data, b->data, a->rows, a->cols, (int)chunk, theta0, &ts) != CWB_OK)
        return cwb_lua_engine_error(L, "optimum");
    lua_pushnumber(L, ts);
    return 1;
}

static const char *const new_keys[] = {"a",      "b",          "labels",     "loss", "batch", "batch_max",
                                       "batch_noise", "importance", "lr",  "theta0", "seed",
                                       "unscaled",    "name",       CWB_LUA_LOSS_KNOB_KEYS, NULL};

/* new(a, b [, opts]) or new{a=, b=, ...} */
static int sf_new(lua_State *L) {
    const int nargs = lua_gettop(L);
    int ia, ib, io;
    if (cwb_lua_testtensor(L, 1)) {
        ia = 1;
        ib = 2;
        io = 3;
        cwb_lua_checktensor(L, 2);
    } else {
        io = 1;
        luaL_checktype(L, 1, LUA_TTABLE);
        lua_getfield(L, 1, "a");
        lua_getfield(L, 1, "b");
        ib = lua_gettop(L);
        ia = ib - 1;
        if (!cwb_lua_testtensor(L, ia))
            return luaL_argerror(L, 1, lua_pushfstring(L, "option 'a': cwb.tensor expected, got %s",
                                                       luaL_typename(L, ia)));
        if (!cwb_lua_testtensor(L, ib))
            return luaL_argerror(L, 1, lua_pushfstring(L, "option 'b': cwb.tensor expected, got %s",
                                                       luaL_typename(L, ib)));
    }
    cwb_tensor *a = cwb_lua_checktensor(L, ia), *b = cwb_lua_checktensor(L, ib);
    if (a->rows != b->rows || a->cols != b->cols)
        return luaL_argerror(L, io == 1 ? 1 : 2,
                             lua_pushfstring(L, "b is %dx%d, a is %dx%d", b->rows, b->cols,
                                             a->rows, a->cols));
    cwb_opts o;
    cwb_opts_init(&o, L, io, new_keys);
    if (io == 3 && (cwb_opts_has(&o, "a") || cwb_opts_has(&o, "b")))
        cwb_opts_error(&o, cwb_opts_has(&o, "a") ? "a" : "b", "given twice (argument and option)");
    cwb_scalefit_cfg c;
    memset(&c, 0, sizeof c);
    c.loss = cwb_loss_defaults(cwb_lua_loss_kind(&o, "loss", CWB_LOSS_INFONCE));
    cwb_lua_loss_opts(&o, &c.loss);
    c.batch = (int)cwb_opts_range(&o, "batch", 8, 2, INT_MAX);
    c.batch_max = (int)cwb_opts_range(&o, "batch_max", 0, 0, INT_MAX);
    c.batch_noise = (float)cwb_opts_num(&o, "batch_noise", 0.0);
    c.importance = cwb_opts_bool(&o, "importance", 0);
    c.lr = cwb_opts_num(&o, "lr", 0.1);
    c.theta0 = cwb_opts_num(&o, "theta0", 10.0);
    c.seed = (uint64_t)cwb_opts_int(&o, "seed", (lua_Integer)cwb_lua_seed());
    c.unscaled = cwb_opts_bool(&o, "unscaled", 0);
    const char *name = cwb_opts_str(&o, "name", NULL);
    int *labels = NULL;
    int t = cwb_opts_get(&o, "labels");
    if (t != LUA_TNIL) {
        if (t != LUA_TTABLE)
            cwb_opts_error(&o, "labels", "table expected, got %s", luaL_typename(L, -1));
        labels = lua_newuserdatauv(L, (size_t)a->rows * sizeof(int), 0);
        cwb_lua_checkindices(L, -2, io, a->rows, INT_MAX, labels, "option 'labels'");
    }
    cwb_lua_trainer *sf = cwb_lua_newobject(L, sizeof *sf, 0, SCALEFIT_MT);
    if (name) snprintf(sf->name, sizeof sf->name, "%s", name);
    else
        snprintf(sf->name, sizeof sf->name, "scalefit-%s%s-B%d-seed%llu",
                 c.unscaled ? "unscaled-" : "", cwb_loss_name(c.loss.kind), c.batch, (unsigned long long)c.seed);
    sf->ops = &cwb_scalefit_ops;
    sf->self = cwb_scalefit_new(&c, a->data, b->data, labels, a->rows, a->cols);
    if (!sf->self) return cwb_lua_engine_error(L, "scalefit");
    int self = lua_gettop(L);
    cwb_lua_trainer_origin(L, self, nargs);
    lua_settop(L, self);
    return 1;
}

static int sf_step(lua_State *L) {
    cwb_scalefit *s = check_sf(L, 1);
    double theta, loss;
    if (cwb_scalefit_step(s, &theta, &loss) != CWB_OK) return cwb_lua_engine_error(L, NULL);
    lua_pushnumber(L, theta);
    lua_pushnumber(L, loss);
    return 2;
}

static int sf_theta(lua_State *L) {
    lua_pushnumber(L, cwb_scalefit_theta(check_sf(L, 1)));
    return 1;
}

static int sf_steps(lua_State *L) {
    lua_pushinteger(L, cwb_scalefit_steps(check_sf(L, 1)));
    return 1;
}

static int sf_tostring(lua_State *L) {
    cwb_lua_trainer *sf = luaL_checkudata(L, 1, SCALEFIT_MT);
    if (cwb_lua_freed(L, sf->self, "scalefit")) return 1;
    lua_pushfstring(L, "scalefit '%s': theta %f after %d steps", sf->name, cwb_scalefit_theta(sf->self),
                    (int)cwb_scalefit_steps(sf->self));
    return 1;
}

static const luaL_Reg fns[] = {
    {"pairs", sf_pairs}, {"optimum", sf_optimum}, {"new", sf_new}, {NULL, NULL}};
static const cwb_lua_doc docs[] = {
    {"pairs", "cwb.scalefit.pairs{n=1024, k=32, clusters=16, spread=0.5, pair_noise=0.5, seed=} "
              "-> a, b, labels: fixed unit-norm embeddings of clustered pairs"},
    {"optimum", "cwb.scalefit.optimum(a, b [, theta0 [, chunk]]) -> theta*: the logit scale "
                "minimising the population InfoNCE (Newton)"},
    {"new", "cwb.scalefit.new(a, b [, opts]) or new{a=, b=, ...} -> scalefit; opts {loss="
            "\"infonce\", alpha=10, gamma=, noise=0, batch=8, batch_max=batch, batch_noise=0, importance=false, "
            "lr=0.1, theta0=10, seed=, unscaled=false, labels=, name=, estep_first=false, jensen=false}: "
            "SGD on theta alone; estep_first draws u from zhat before the batch updates it, "
            "jensen corrects u's mean for E[1/zhat] > 1/Z"},
    {NULL, NULL}};

static const luaL_Reg methods[] = {{"step", sf_step}, {"theta", sf_theta}, {"steps", sf_steps},
                                   CWB_LUA_TRAINER_METHODS, {NULL, NULL}};
static const cwb_lua_doc method_docs[] = {
    {"step", "s:step() -> theta, loss: one SGD step on the logit scale"},
    {"theta", "s:theta() -> number: the current logit scale"},
    {"steps", "s:steps() -> integer: steps taken so far"},
    CWB_LUA_TRAINER_DOCS,
    {NULL, NULL}};

int cwb_lua_open_scalefit(lua_State *L) {
    cwb_lua_newtrainerclass(L, SCALEFIT_MT, "scalefit methods",
                            "scalefit: SGD on the logit scale over fixed embeddings", methods,
                            method_docs, sf_tostring);
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "the gradient-bias experiment with a known optimum theta*");
    return 1;
}
