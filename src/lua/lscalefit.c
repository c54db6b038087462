/*
 * lscalefit.c - cwb.scalefit: the gradient-bias experiment with a known
 * optimum (docs/methods.md, "The experiments the product must reproduce",
 * 1; scalefit.h).  Fixed embeddings, one parameter (the logit scale theta),
 * plain SGD on a minibatch loss; theta* from Newton on the population loss.
 *
 * s:run(steps, every) loops in C: the main recipe runs 10 starts x 3 losses
 * x ~40k steps, so there is no Lua call per step.
 */
#include "lua/lbind.h"
#include "engine/core/error.h"
#include "engine/train/scalefit.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCALEFIT_MT "cwb.scalefit"

typedef struct {
    cwb_scalefit *s;
    cwb_scalefit_cfg cfg;
    double theta;
    long step;
    int n;
    char name[96];
} lscalefit;

static lscalefit *check_sf(lua_State *L, int arg) {
    lscalefit *sf = luaL_checkudata(L, arg, SCALEFIT_MT);
    if (!sf->s) luaL_argerror(L, arg, "scalefit was freed");
    return sf;
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

static const char *const new_keys[] = {"a",       "b",           "labels",     "loss",  "alpha",
                                       "gamma",   "noise",       "batch",      "batch_noise",
                                       "importance", "lr",       "theta0",     "seed",  "unscaled",
                                       "name",    "estep_first", "jensen", NULL};

/* new(a, b [, opts]) or new{a=, b=, ...} */
static int sf_new(lua_State *L) {
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
    const char *kind = cwb_opts_str(&o, "loss", "infonce");
    int kk = cwb_loss_from_name(kind);
    if (kk < 0)
        cwb_opts_error(&o, "loss", "unknown loss '%s' (infonce, dcl, sogclr, decomposable)", kind);
    cwb_scalefit_cfg c;
    memset(&c, 0, sizeof c);
    c.loss = cwb_loss_defaults((cwb_loss_kind)kk);
    cwb_lua_loss_opts(&o, &c.loss);
    c.batch = (int)cwb_opts_range(&o, "batch", 8, 2, INT_MAX);
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
    lscalefit *sf = cwb_lua_newobject(L, sizeof *sf, 0, SCALEFIT_MT);
    sf->cfg = c;
    sf->theta = c.theta0;
    sf->n = a->rows;
    if (name) snprintf(sf->name, sizeof sf->name, "%s", name);
    else
        snprintf(sf->name, sizeof sf->name, "scalefit-%s%s-B%d-seed%llu",
                 c.unscaled ? "unscaled-" : "", kind, c.batch, (unsigned long long)c.seed);
    sf->s = cwb_scalefit_new(&c, a->data, b->data, labels, a->rows, a->cols);
    if (!sf->s) return cwb_lua_engine_error(L, "scalefit");
    return 1;
}

static int sf_step(lua_State *L) {
    lscalefit *sf = check_sf(L, 1);
    double theta, loss;
    if (cwb_scalefit_step(sf->s, &theta, &loss) != CWB_OK) return cwb_lua_engine_error(L, NULL);
    sf->theta = theta;
    sf->step++;
    lua_pushnumber(L, theta);
    lua_pushnumber(L, loss);
    return 2;
}

static int sf_theta(lua_State *L) {
    lua_pushnumber(L, check_sf(L, 1)->theta);
    return 1;
}

static int sf_steps(lua_State *L) {
    lua_pushinteger(L, check_sf(L, 1)->step);
    return 1;
}

static void push_params(lua_State *L, const lscalefit *sf) {
    const cwb_scalefit_cfg *c = &sf->cfg;
    cwb_json j;
    cwb_json_init(&j);
    cwb_json_open(&j, NULL);
    cwb_json_str(&j, "experiment", "scalefit");
    cwb_json_str(&j, "loss", cwb_loss_name(c->loss.kind));
    cwb_json_bool(&j, "unscaled", c->unscaled);
    cwb_json_num(&j, "alpha", c->loss.alpha);
    cwb_json_num(&j, "gamma", c->loss.gamma);
    cwb_json_num(&j, "noise", c->loss.noise_sigma);
    cwb_json_bool(&j, "estep_first", c->loss.estep_first);
    cwb_json_bool(&j, "jensen", c->loss.jensen);
    cwb_json_int(&j, "batch", c->batch);
    cwb_json_num(&j, "batch_noise", c->batch_noise);
    cwb_json_bool(&j, "importance", c->importance);
    cwb_json_num(&j, "lr", c->lr);
    cwb_json_num(&j, "theta0", c->theta0);
    cwb_json_int(&j, "seed", (long long)c->seed);
    cwb_json_int(&j, "n", sf->n);
    cwb_json_close(&j);
    cwb_json_push(L, &j);
    cwb_json_free(&j);
}

static const char *const run_keys[] = {"steps", "every", "record", "progress", "name", NULL};

/* run(steps [, every]) or run{steps=, every=1, record=true, progress=true, name=}
 * -> steps, thetas, losses (tables, one entry every `every` steps and at the end),
 *    run id (nil when not recorded) */
static int sf_run(lua_State *L) {
    lscalefit *sf = check_sf(L, 1);
    long steps, every = 1;
    int record = 1, progress = 1;
    const char *name = sf->name;
    if (lua_type(L, 2) == LUA_TTABLE) {
        cwb_opts o;
        cwb_opts_init(&o, L, 2, run_keys);
        if (!cwb_opts_has(&o, "steps")) cwb_opts_error(&o, "steps", "required");
        steps = (long)cwb_opts_range(&o, "steps", 0, 0, INT_MAX);
        every = (long)cwb_opts_range(&o, "every", 1, 1, LONG_MAX);
        record = cwb_opts_bool(&o, "record", 1);
        progress = cwb_opts_bool(&o, "progress", 1);
        name = cwb_opts_str(&o, "name", sf->name);
    } else {
        lua_Integer s = luaL_checkinteger(L, 2);
        lua_Integer e = luaL_optinteger(L, 3, 1);
        if (s < 0 || s > INT_MAX) return luaL_argerror(L, 2, "steps must be >= 0");
        if (e < 1) return luaL_argerror(L, 3, "every must be >= 1");
        steps = (long)s;
        every = (long)e;
    }
    lua_settop(L, 2);
    long n_out = steps / every + 2;
    lua_createtable(L, (int)(n_out < INT_MAX ? n_out : 0), 0); /* 3: steps */
    lua_createtable(L, (int)(n_out < INT_MAX ? n_out : 0), 0); /* 4: thetas */
    lua_createtable(L, (int)(n_out < INT_MAX ? n_out : 0), 0); /* 5: losses */
    push_params(L, sf);
    cwb_runguard *g = cwb_run_begin(L, record, name, lua_tostring(L, -1), sf->cfg.seed, steps,
                                    progress);
    int gidx = lua_gettop(L);
    lua_Integer k = 0;
    double theta = sf->theta, loss = NAN;
    char extra[64] = "";
    int stopped = 0;
    long i;
    for (i = 1; i <= steps && !stopped; i++) {
        if ((i & 255) == 1 && cwb_lua_check_interrupt(L)) return luaL_error(L, "interrupted");
        if (cwb_scalefit_step(sf->s, &theta, &loss) != CWB_OK) return cwb_lua_engine_error(L, NULL);
        sf->theta = theta;
        sf->step++;
        /* the workbench may stop the loop at a progress tick: that step is
         * then the last one and is kept like the final step */
        if ((i & 255) == 0 || i == steps) {
            snprintf(extra, sizeof extra, "theta %.4g", theta);
            if (cwb_run_progress(L, g, i, extra)) stopped = 1;
        }
        if (i % every == 0 || i == steps || stopped) {
            k++;
            lua_pushinteger(L, sf->step);
            lua_rawseti(L, 3, k);
            lua_pushnumber(L, theta);
            lua_rawseti(L, 4, k);
            lua_pushnumber(L, loss);
            lua_rawseti(L, 5, k);
            cwb_run_metric(g, sf->step, "theta", theta);
            cwb_run_metric(g, sf->step, "loss", loss);
        }
    }
    snprintf(extra, sizeof extra, "theta %.4g", theta);
    int64_t id = cwb_run_id(g);
    cwb_run_finish(L, g, gidx, i - 1, extra, stopped);
    lua_settop(L, 5);
    /* the run's id in the store, so a recipe can log more metrics to it */
    if (id > 0) lua_pushinteger(L, (lua_Integer)id);
    else lua_pushnil(L);
    return 4;
}

static int sf_gc(lua_State *L) {
    lscalefit *sf = luaL_checkudata(L, 1, SCALEFIT_MT);
    cwb_scalefit_free(sf->s);
    sf->s = NULL;
    return 0;
}

static int sf_tostring(lua_State *L) {
    lscalefit *sf = luaL_checkudata(L, 1, SCALEFIT_MT);
    lua_pushfstring(L, "scalefit '%s': theta %f after %d steps", sf->name, sf->theta,
                    (int)sf->step);
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
            "\"infonce\", alpha=10, gamma=, noise=0, batch=8, batch_noise=0, importance=false, "
            "lr=0.1, theta0=10, seed=, unscaled=false, labels=, name=, estep_first=false, jensen=false}: "
            "SGD on theta alone; estep_first draws u from zhat before the batch updates it, "
            "jensen corrects u's mean for E[1/zhat] > 1/Z"},
    {NULL, NULL}};

static const luaL_Reg methods[] = {{"step", sf_step},   {"run", sf_run},
                                   {"theta", sf_theta}, {"steps", sf_steps},
                                   {NULL, NULL}};
static const cwb_lua_doc method_docs[] = {
    {"step", "s:step() -> theta, loss: one SGD step on the logit scale"},
    {"run", "s:run(steps [, every]) or s:run{steps=, every=1, record=true, progress=true, name=} "
            "-> steps, thetas, losses, run: tables sampled every `every` steps (and the last) "
            "and the store's run id (nil if not recorded); runs in C, recorded in the store"},
    {"theta", "s:theta() -> number: the current logit scale"},
    {"steps", "s:steps() -> integer: steps taken so far"},
    {NULL, NULL}};
static const luaL_Reg meta[] = {{"__gc", sf_gc}, {"__tostring", sf_tostring}, {NULL, NULL}};

int cwb_lua_open_scalefit(lua_State *L) {
    cwb_lua_newclass(L, SCALEFIT_MT, "scalefit methods",
                     "scalefit: SGD on the logit scale over fixed embeddings", methods,
                     method_docs, meta);
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "the gradient-bias experiment with a known optimum theta*");
    return 1;
}
