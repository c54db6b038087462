/*
 * lloss.c - cwb.loss: the contrastive losses on given embeddings.
 *
 *   loss, grad_a, grad_b, dloss_dtau, surrogate = cwb.loss.infonce(a, b, opts)
 *   (also dcl, sogclr, decomposable, ntxent)
 *
 * As the encoder does, the rows are L2-normalised inside (normalize = true,
 * the default) and the gradients are back-propagated through the
 * normalisation, so grad_a is dL/da for the raw a given.  dloss_dtau is the
 * derivative of the surrogate (whose gradient grad_a/grad_b are) with
 * respect to the temperature: dL/dscale * dscale/dtau = -dL/dscale / tau^2.
 * For DECOMPOSABLE the first value is the population-loss estimate
 * -s_ii + log zhat_i and the fifth the surrogate -s_ii + u_i Zb_i, as in
 * docs/methods.md ("Decomposable loss by Bayesian augmentation").
 *
 * The stateful kinds (sogclr, decomposable) called as plain functions start
 * from a fresh state each call (zhat_i = Zbatch_i on the first visit);
 * cwb.loss.new{kind=...} keeps the state across :eval calls.
 */
#include "lua/lbind.h"
#include "engine/core/error.h"
#include "engine/core/mem.h"
#include "engine/nn/layers.h"
#include "engine/loss/loss.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOSS_MT "cwb.loss"

typedef struct {
    cwb_loss_cfg cfg;
    cwb_loss *L;          /* created on the first eval, when the width is known */
    int max_batch, dim;
    uint64_t seed;
    double tau;
    int normalize;
    /* scratch, max_batch x dim (normalised rows, their gradients) and
     * max_batch (norms, indices, weights) */
    float *an, *bn, *na, *nb, *gan, *gbn, *w;
    int *idx;
    cwb_mem mem;          /* owns the scratch */
} lloss;

static void free_scratch(lloss *s) {
    cwb_loss_free(s->L);
    cwb_mem_free(&s->mem);
    s->L = NULL;
    s->an = s->bn = s->na = s->nb = s->gan = s->gbn = s->w = NULL;
    s->idx = NULL;
}

static int loss_gc(lua_State *L) {
    free_scratch(luaL_checkudata(L, 1, LOSS_MT));
    return 0;
}

/* Options shared by the plain functions and cwb.loss.new. */
static void read_cfg(cwb_opts *o, lloss *s) {
    s->tau = cwb_opts_num(o, "tau", 0.1);
    if (!(s->tau > 0) || !isfinite(s->tau))
        cwb_opts_error(o, "tau", "%f must be positive and finite", s->tau);
    s->cfg.symmetric = cwb_opts_bool(o, "symmetric", 0);
    s->normalize = cwb_opts_bool(o, "normalize", 1);
    s->cfg.chunk = (int)cwb_opts_range(o, "chunk", 0, 0, INT_MAX);
    s->cfg.n_total = (long)cwb_opts_range(o, "n_total", 0, 0, INT_MAX);
    cwb_lua_loss_opts(o, &s->cfg);
    s->seed = (uint64_t)cwb_opts_int(o, "seed", (lua_Integer)cwb_lua_seed());
}

void cwb_lua_loss_opts(cwb_opts *o, cwb_loss_cfg *c) {
    c->both_views = cwb_opts_bool(o, "both_views", c->both_views);
    c->alpha = cwb_opts_num(o, "alpha", c->alpha);
    c->gamma = cwb_opts_num(o, "gamma", c->gamma);
    c->noise_sigma = cwb_opts_num(o, "noise", c->noise_sigma);
    c->estep_first = cwb_opts_bool(o, "estep_first", c->estep_first);
    c->jensen = cwb_opts_bool(o, "jensen", c->jensen);
}

cwb_loss_kind cwb_lua_loss_kind(cwb_opts *o, const char *key, cwb_loss_kind def) {
    const char *name = cwb_opts_str(o, key, NULL);
    if (!name) return def;
    int k = cwb_loss_from_name(name);
    if (k < 0) {
        char kinds[128] = "";
        for (int i = 0; i < CWB_LOSS_NKINDS; i++)
            snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s", i ? ", " : "",
                     cwb_loss_name((cwb_loss_kind)i));
        cwb_opts_error(o, key, "unknown loss '%s' (%s)", name, kinds);
    }
    return (cwb_loss_kind)k;
}

const char *const cwb_lua_loss_keys[] = {CWB_LUA_LOSS_KEYS, NULL};

void cwb_lua_loss_cfg_opts(cwb_opts *o, cwb_loss_cfg *c) {
    if (cwb_opts_has(o, "kind")) *c = cwb_loss_defaults(cwb_lua_loss_kind(o, "kind", c->kind));
    c->symmetric = cwb_opts_bool(o, "symmetric", c->symmetric);
    c->chunk = (int)cwb_opts_range(o, "chunk", c->chunk, 0, INT_MAX);
    c->n_total = (long)cwb_opts_range(o, "n_total", c->n_total, 0, INT_MAX);
    cwb_lua_loss_opts(o, c);
}

/* Create the engine loss and scratch for batches up to max_batch rows of
 * width dim; engine errors are raised. */
static void make(lua_State *L, lloss *s, int max_batch, int dim) {
    s->max_batch = max_batch;
    s->dim = dim;
    s->L = cwb_loss_new(&s->cfg, max_batch, dim, s->seed);
    if (!s->L) cwb_lua_engine_error(L, NULL);
    size_t n = (size_t)max_batch * (size_t)dim;
    s->an = cwb_mem_floats(&s->mem, n);
    s->bn = cwb_mem_floats(&s->mem, n);
    s->gan = cwb_mem_floats(&s->mem, n);
    s->gbn = cwb_mem_floats(&s->mem, n);
    s->na = cwb_mem_floats(&s->mem, (size_t)max_batch);
    s->nb = cwb_mem_floats(&s->mem, (size_t)max_batch);
    s->w = cwb_mem_floats(&s->mem, (size_t)max_batch);
    s->idx = cwb_mem_zeroed(&s->mem, (size_t)max_batch, sizeof(int));
    if (cwb_mem_check(&s->mem, "%s: out of memory", cwb_loss_name(s->cfg.kind)))
        luaL_error(L, "%s", cwb_errmsg());   /* the scratch made so far is freed by __gc */
}

/* Evaluate on a (arg ia), b (ia+1); idx at stack index iidx, weights at iw
 * (0 = none), reported as argument `oarg` named by the `what` strings.
 * Pushes loss, grad_a, grad_b, dloss_dtau, surrogate. */
static int eval(lua_State *L, lloss *s, int ia, int iidx, int iw, int iarg, int warg,
                const char *iwhat, const char *wwhat) {
    cwb_tensor *a = cwb_lua_checktensor(L, ia), *b = cwb_lua_checktensor(L, ia + 1);
    if (a->rows != b->rows || a->cols != b->cols)
        return luaL_argerror(L, ia + 1, lua_pushfstring(L, "b is %dx%d, a is %dx%d", b->rows,
                                                        b->cols, a->rows, a->cols));
    int B = a->rows, k = a->cols;
    if (B < 2) return luaL_argerror(L, ia, lua_pushfstring(L, "batch of %d rows, need >= 2", B));
    if (!s->L) {
        int mb = s->max_batch > B ? s->max_batch : B;
        make(L, s, mb, k);
    }
    if (k != s->dim)
        return luaL_argerror(L, ia, lua_pushfstring(L, "rows are %d wide, this loss was first "
                                                    "used with %d", k, s->dim));
    if (B > s->max_batch)
        return luaL_argerror(L, ia, lua_pushfstring(L, "batch of %d rows > max_batch %d", B,
                                                    s->max_batch));
    const int *idx = NULL;
    if (iidx && !lua_isnoneornil(L, iidx)) {
        long hi = s->cfg.n_total > 0 ? s->cfg.n_total : B;
        cwb_lua_checkindices(L, iidx, iarg, B, (int)hi, s->idx, iwhat);
        idx = s->idx;
    }
    const float *w = NULL;
    if (iw && !lua_isnoneornil(L, iw)) {
        cwb_lua_checkfloats(L, iw, warg, B, s->w, wwhat);
        w = s->w;
    }
    cwb_tensor *ga = cwb_lua_newtensor(L, B, k);
    cwb_tensor *gb = cwb_lua_newtensor(L, B, k);
    cwb_loss_out out;
    float scale = (float)(1.0 / s->tau);
    int st;
    if (s->normalize) {
        cwb_l2norm_forward(s->an, s->na, a->data, B, k);
        cwb_l2norm_forward(s->bn, s->nb, b->data, B, k);
        st = cwb_loss_eval(s->L, s->an, s->bn, B, k, idx, w, scale, &out, s->gan, s->gbn);
        if (st == CWB_OK) {
            cwb_l2norm_backward(ga->data, s->gan, s->an, s->na, B, k);
            cwb_l2norm_backward(gb->data, s->gbn, s->bn, s->nb, B, k);
        }
    } else
        st = cwb_loss_eval(s->L, a->data, b->data, B, k, idx, w, scale, &out, ga->data, gb->data);
    if (st != CWB_OK) return cwb_lua_engine_error(L, NULL);
    lua_pushnumber(L, out.value);
    lua_insert(L, -3);
    lua_pushnumber(L, -out.dscale / (s->tau * s->tau));
    lua_pushnumber(L, out.surrogate);
    return 5;
}

static const char *const fn_keys[] = {"tau",  "symmetric", "normalize", "chunk", "n_total",
                                      "seed", "idx",       "weights",   "both_views", CWB_LUA_LOSS_KNOB_KEYS,
                                      NULL};

/* The plain functions: a temporary loss object per call, collected later. */
static int plain(lua_State *L, cwb_loss_kind kind) {
    cwb_lua_checktensor(L, 1);
    cwb_lua_checktensor(L, 2);
    cwb_opts o;
    cwb_opts_init(&o, L, 3, fn_keys);
    lloss *s = cwb_lua_newobject(L, sizeof *s, 0, LOSS_MT);
    s->cfg = cwb_loss_defaults(kind);
    read_cfg(&o, s);
    int B = cwb_lua_checktensor(L, 1)->rows;
    if (cwb_loss_is_stateful(kind) && s->cfg.n_total == 0) {
        /* a fresh state over the batch itself, or over the largest index given */
        long hi = B;
        if (cwb_opts_get(&o, "idx") == LUA_TTABLE) {
            lua_Integer n = luaL_len(L, -1);
            for (lua_Integer i = 1; i <= n; i++) {
                lua_geti(L, -1, i);
                lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
                if (v > hi && v <= INT_MAX) hi = (long)v;
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
        s->cfg.n_total = hi;
    }
    /* idx and weights as stack values, so eval can check them like arguments */
    int top = lua_gettop(L);
    int t = cwb_opts_get(&o, "idx");
    if (t != LUA_TNIL && t != LUA_TTABLE)
        cwb_opts_error(&o, "idx", "table expected, got %s", luaL_typename(L, -1));
    t = cwb_opts_get(&o, "weights");
    if (t != LUA_TNIL && t != LUA_TTABLE && !cwb_lua_testtensor(L, -1))
        cwb_opts_error(&o, "weights", "table or tensor expected, got %s", luaL_typename(L, -1));
    return eval(L, s, 1, top + 1, top + 2, 3, 3, "option 'idx'", "option 'weights'");
}

static int l_infonce(lua_State *L) { return plain(L, CWB_LOSS_INFONCE); }
static int l_dcl(lua_State *L) { return plain(L, CWB_LOSS_DCL); }
static int l_sogclr(lua_State *L) { return plain(L, CWB_LOSS_SOGCLR); }
static int l_decomposable(lua_State *L) { return plain(L, CWB_LOSS_DECOMPOSABLE); }
static int l_ntxent(lua_State *L) { return plain(L, CWB_LOSS_NTXENT); }

static const char *const new_keys[] = {"kind",    "tau",  "symmetric", "normalize", "chunk",
                                       "n_total", "seed", "max_batch", "both_views", CWB_LUA_LOSS_KNOB_KEYS,
                                       NULL};

static int l_new(lua_State *L) {
    cwb_opts o;
    cwb_opts_init(&o, L, 1, new_keys);
    cwb_loss_kind k = cwb_lua_loss_kind(&o, "kind", CWB_LOSS_INFONCE);
    lloss *s = cwb_lua_newobject(L, sizeof *s, 0, LOSS_MT);
    s->cfg = cwb_loss_defaults(k);
    read_cfg(&o, s);
    s->max_batch = (int)cwb_opts_range(&o, "max_batch", 1024, 2, INT_MAX);
    if (cwb_loss_is_stateful(s->cfg.kind) && s->cfg.n_total < 2)
        cwb_opts_error(&o, "n_total", "a %s loss keeps per-sample state: give the data set size",
                       cwb_loss_name(k));
    return 1;
}

static int m_eval(lua_State *L) {
    lloss *s = luaL_checkudata(L, 1, LOSS_MT);
    return eval(L, s, 2, 4, 5, 4, 5, "idx", "weights");
}

static int m_reset(lua_State *L) {
    lloss *s = luaL_checkudata(L, 1, LOSS_MT);
    cwb_loss_reset(s->L);
    lua_settop(L, 1);
    return 1;
}

static int m_config(lua_State *L) {
    lloss *s = luaL_checkudata(L, 1, LOSS_MT);
    lua_createtable(L, 0, 12);
    lua_pushstring(L, cwb_loss_name(s->cfg.kind));
    lua_setfield(L, -2, "kind");
    lua_pushnumber(L, s->tau);
    lua_setfield(L, -2, "tau");
    lua_pushboolean(L, s->normalize);
    lua_setfield(L, -2, "normalize");
    /* symmetric, both_views, chunk, n_total and the knobs, as the run records them */
    cwb_lua_setfields(L, &s->cfg, cwb_loss_fields, CWB_LOSS_NFIELDS);
    return 1;
}

static int loss_tostring(lua_State *L) {
    lloss *s = luaL_checkudata(L, 1, LOSS_MT);
    lua_pushfstring(L, "loss %s tau=%f%s%s", cwb_loss_name(s->cfg.kind), s->tau,
                    s->cfg.symmetric ? " symmetric" : "", s->cfg.both_views ? " both_views" : "");
    return 1;
}

#define OPTS_DOC "opts {tau=0.1, symmetric=false, normalize=true, chunk=, n_total=, noise=, " \
                 "seed=, idx=, weights=}"

static const luaL_Reg fns[] = {{"infonce", l_infonce},
                               {"dcl", l_dcl},
                               {"sogclr", l_sogclr},
                               {"decomposable", l_decomposable},
                               {"ntxent", l_ntxent},
                               {"new", l_new},
                               {NULL, NULL}};
static const cwb_lua_doc docs[] = {
    {"infonce", "cwb.loss.infonce(a, b [, opts]) -> loss, grad_a, grad_b, dloss_dtau, "
                "surrogate: InfoNCE (n_total=N scales negatives by (N-1)/(B-1): the "
                "conventional minibatch estimate); " OPTS_DOC},
    {"dcl", "cwb.loss.dcl(a, b [, opts]) -> loss, grad_a, grad_b, dloss_dtau, surrogate: "
            "decoupled contrastive loss (no positive in the denominator); same opts + "
            "both_views=false (2B anchors, each against both views' 2B-2 negatives, as the DCL "
            "authors' code)"},
    {"ntxent", "cwb.loss.ntxent(a, b [, opts]) -> loss, grad_a, grad_b, dloss_dtau, surrogate: "
               "SimCLR's NT-Xent: the 2B rows of a and b are anchors, each against the other "
               "2B-1 (lightly's NTXentLoss); same opts but symmetric"},
    {"sogclr", "cwb.loss.sogclr(a, b [, opts]) -> loss, grad_a, grad_b, dloss_dtau, surrogate: "
               "SogCLR, running zhat (gamma=0.9), fresh state per call; same opts + gamma, "
               "estep_first=false (weights 1/zhat from before this batch's update), jensen=false"},
    {"decomposable", "cwb.loss.decomposable(a, b [, opts]) -> loss, grad_a, grad_b, dloss_dtau, "
                     "surrogate: the gamma-augmented decomposable loss (alpha=10, gamma=0.02); "
                     "loss is -s_ii + log zhat_i, fresh state per call; same opts + alpha, gamma, "
                     "estep_first=false (draw u from zhat before this batch updates it, so u is "
                     "independent of the Zbatch it multiplies), jensen=false (divide u's mean by 1 + c, "
                     "c = gamma/(2-gamma) x running relative variance of Zbatch)"},
    {"new", "cwb.loss.new{kind=\"infonce\"|\"dcl\"|\"sogclr\"|\"decomposable\"|\"ntxent\", "
            "tau=, symmetric=, both_views= (dcl), normalize=, chunk=, n_total=, alpha=, gamma=, "
            "noise=, seed=, estep_first=false, jensen=false, max_batch=1024} -> loss: a loss "
            "object that keeps its per-sample state"},
    {NULL, NULL}};

static const luaL_Reg methods[] = {
    {"eval", m_eval}, {"reset", m_reset}, {"config", m_config}, {NULL, NULL}};
static const cwb_lua_doc method_docs[] = {
    {"eval", "l:eval(a, b [, idx [, weights]]) -> loss, grad_a, grad_b, dloss_dtau, surrogate: "
             "evaluate on a batch; idx = the rows' data-set indices (1-based)"},
    {"reset", "l:reset() -> l: forget the running estimates zhat"},
    {"config", "l:config() -> table: kind, tau, symmetric, both_views, normalize, chunk, "
               "n_total, alpha, gamma, noise, estep_first, jensen"},
    {NULL, NULL}};
static const luaL_Reg meta[] = {{"__gc", loss_gc}, {"__tostring", loss_tostring}, {NULL, NULL}};

int cwb_lua_open_loss(lua_State *L) {
    cwb_lua_newclass(L, LOSS_MT, "loss methods", "loss: a contrastive loss with its state",
                     methods, method_docs, meta);
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "contrastive losses on given embeddings (rows normalised inside)");
    return 1;
}
