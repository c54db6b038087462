/*
 * lnn.c - cwb.nn: MLP encoder towers, optimisers and learning-rate
 * schedules, for recipes that write their own training loop.
 *
 * cwb_mlp borrows its forward input until backward; a Lua tensor could be
 * collected or changed in between, so the binding copies the input into a
 * buffer the mlp object owns (max_batch rows, allocated at creation).
 */
#include "lua/lbind.h"
#include "engine/core/error.h"
#include "engine/nn/mlp.h"
#include "engine/nn/optim.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MLP_MT "cwb.mlp"
#define OPTIM_MT "cwb.optim"
#define SCHED_MT "cwb.schedule"

typedef struct {
    cwb_mlp *m;
    float *in;          /* max_batch x in_dim: copy of the last forward input */
} lmlp;

typedef struct {
    cwb_optim_cfg cfg;
    cwb_optim *o;       /* created on the first step, for that many parameters */
    size_t n;
} loptim;

static lmlp *check_mlp(lua_State *L, int arg) {
    lmlp *m = luaL_checkudata(L, arg, MLP_MT);
    if (!m->m) luaL_argerror(L, arg, "mlp was freed");
    return m;
}

/* ---- encoder config (shared with the trainer's encoder= option) -------------- */

/* dims = {in, hidden..., out}: 2..CWB_MLP_MAX_LAYERS+1 positive integers. */
void cwb_lua_mlp_opts(cwb_opts *o, cwb_mlp_cfg *c) {
    int n = cwb_opts_ints(o, "dims", c->dims, 2, CWB_MLP_MAX_LAYERS + 1);
    if (n > 0) c->n_layers = n - 1;
    const char *act = cwb_opts_str(o, "act", NULL);
    if (act) {
        int a = cwb_act_from_name(act);
        if (a < 0)
            cwb_opts_error(o, "act", "unknown activation '%s' (identity, relu, gelu, tanh)", act);
        c->act = (cwb_act)a;
    }
    c->l2norm = cwb_opts_bool(o, "l2norm", c->l2norm);
}

static const char *const mlp_keys[] = {CWB_LUA_MLP_KEYS, "seed", "max_batch", NULL};

static int n_mlp(lua_State *L) {
    cwb_opts o;
    cwb_opts_init(&o, L, 1, mlp_keys);
    cwb_mlp_cfg c;
    memset(&c, 0, sizeof c);
    c.n_layers = 2;
    c.dims[0] = 64;
    c.dims[1] = 256;
    c.dims[2] = 64;
    c.act = CWB_ACT_RELU;
    c.l2norm = 1;
    cwb_lua_mlp_opts(&o, &c);
    uint64_t seed = (uint64_t)cwb_opts_int(&o, "seed", (lua_Integer)cwb_lua_seed());
    int max_batch = (int)cwb_opts_range(&o, "max_batch", 1024, 1, INT_MAX);
    lmlp *m = cwb_lua_newobject(L, sizeof *m, 0, MLP_MT);
    cwb_rng init;
    cwb_rng_seed(&init, seed, CWB_STREAM_INIT);
    m->m = cwb_mlp_new(&c, max_batch, &init);
    if (!m->m) return cwb_lua_engine_error(L, "mlp");
    m->in = cwb_alloc((size_t)max_batch * (size_t)c.dims[0]);
    if (!m->in) return luaL_error(L, "mlp: out of memory");
    return 1;
}

static int mlp_forward(lua_State *L) {
    lmlp *m = check_mlp(L, 1);
    cwb_tensor *x = cwb_lua_checktensor(L, 2);
    int din = cwb_mlp_in_dim(m->m);
    if (x->cols != din)
        return luaL_argerror(L, 2, lua_pushfstring(L, "input has %d columns, the mlp takes %d",
                                                   x->cols, din));
    if (x->rows > m->m->max_batch)
        return luaL_argerror(L, 2, lua_pushfstring(L, "%d rows > max_batch %d", x->rows,
                                                   m->m->max_batch));
    cwb_tensor *out = cwb_lua_newtensor(L, x->rows, cwb_mlp_out_dim(m->m));
    memcpy(m->in, x->data, cwb_tensor_size(x) * sizeof(float));
    const float *y;
    if (cwb_mlp_forward(m->m, m->in, x->rows, &y) != CWB_OK)
        return cwb_lua_engine_error(L, "mlp:forward");
    memcpy(out->data, y, cwb_tensor_size(out) * sizeof(float));
    return 1;
}

static int mlp_backward(lua_State *L) {
    lmlp *m = check_mlp(L, 1);
    cwb_tensor *d = cwb_lua_checktensor(L, 2);
    int B = m->m->last_B, dout = cwb_mlp_out_dim(m->m);
    if (B == 0) return luaL_error(L, "mlp:backward: no forward pass to go back through");
    if (d->rows != B || d->cols != dout)
        return luaL_argerror(L, 2, lua_pushfstring(L, "gradient is %dx%d, the last forward gave "
                                                   "%dx%d", d->rows, d->cols, B, dout));
    cwb_tensor *dx = cwb_lua_newtensor(L, B, cwb_mlp_in_dim(m->m));
    if (cwb_mlp_backward(m->m, d->data, dx->data) != CWB_OK)
        return cwb_lua_engine_error(L, "mlp:backward");
    return 1;
}

static int mlp_zero_grad(lua_State *L) {
    cwb_mlp_zero_grad(check_mlp(L, 1)->m);
    lua_settop(L, 1);
    return 1;
}

static int mlp_params(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)check_mlp(L, 1)->m->n_params);
    return 1;
}

static int mlp_weights(lua_State *L) {
    lmlp *m = check_mlp(L, 1);
    cwb_lua_pushtensor(L, m->m->params, 1, (int)m->m->n_params);
    return 1;
}

static int mlp_grads(lua_State *L) {
    lmlp *m = check_mlp(L, 1);
    cwb_lua_pushtensor(L, m->m->grads, 1, (int)m->m->n_params);
    return 1;
}

static int mlp_set_weights(lua_State *L) {
    lmlp *m = check_mlp(L, 1);
    cwb_tensor *w = cwb_lua_checktensor(L, 2);
    if (cwb_tensor_size(w) != m->m->n_params)
        return luaL_argerror(L, 2, lua_pushfstring(L, "%d values for %d parameters",
                                                   (int)cwb_tensor_size(w), (int)m->m->n_params));
    memcpy(m->m->params, w->data, m->m->n_params * sizeof(float));
    lua_settop(L, 1);
    return 1;
}

static int mlp_dims(lua_State *L) {
    lmlp *m = check_mlp(L, 1);
    cwb_lua_pushints(L, m->m->cfg.dims, m->m->cfg.n_layers + 1, 0);
    return 1;
}

static int mlp_gc(lua_State *L) {
    lmlp *m = luaL_checkudata(L, 1, MLP_MT);
    cwb_mlp_free(m->m);
    cwb_free(m->in);
    m->m = NULL;
    m->in = NULL;
    return 0;
}

static int mlp_tostring(lua_State *L) {
    lmlp *m = luaL_checkudata(L, 1, MLP_MT);
    if (cwb_lua_freed(L, m->m, "mlp")) return 1;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "mlp ");
    for (int l = 0; l <= m->m->cfg.n_layers; l++) {
        lua_pushfstring(L, l ? "-%d" : "%d", m->m->cfg.dims[l]);
        luaL_addvalue(&b);
    }
    lua_pushfstring(L, " %s%s, %d params", cwb_act_name(m->m->cfg.act),
                    m->m->cfg.l2norm ? " l2norm" : "", (int)m->m->n_params);
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    return 1;
}

/* ---- optimisers ------------------------------------------------------------------ */

const char *const cwb_lua_optim_keys[] = {CWB_LUA_OPTIM_KEYS, NULL};

void cwb_lua_optim_opts(cwb_opts *o, cwb_optim_cfg *c) {
    const char *kind = cwb_opts_str(o, "kind", NULL);
    if (kind) {
        int k = cwb_opt_from_name(kind);
        if (k < 0) cwb_opts_error(o, "kind", "unknown optimiser '%s' (sgd, adamw)", kind);
        *c = cwb_optim_defaults((cwb_opt_kind)k);
    }
    c->lr = (float)cwb_opts_num(o, "lr", c->lr);
    c->momentum = (float)cwb_opts_num(o, "momentum", c->momentum);
    c->weight_decay = (float)cwb_opts_num(o, "weight_decay", c->weight_decay);
    c->beta1 = (float)cwb_opts_num(o, "beta1", c->beta1);
    c->beta2 = (float)cwb_opts_num(o, "beta2", c->beta2);
    c->eps = (float)cwb_opts_num(o, "eps", c->eps);
}

static int n_optim(lua_State *L) {
    cwb_opts o;
    cwb_opts_init(&o, L, 1, cwb_lua_optim_keys);
    cwb_optim_cfg c = cwb_optim_defaults(CWB_OPT_SGD);
    cwb_lua_optim_opts(&o, &c);
    /* the engine's check now, not at the first step */
    if (cwb_optim_check(&c, "optim") != CWB_OK) return cwb_lua_engine_error(L, NULL);
    loptim *op = cwb_lua_newobject(L, sizeof *op, 0, OPTIM_MT);
    op->cfg = c;
    return 1;
}

/* step(mlp [, lr]) or step(params, grads [, lr]) */
static int optim_step(lua_State *L) {
    loptim *op = luaL_checkudata(L, 1, OPTIM_MT);
    float *params, *grads;
    size_t n;
    int lr_arg;
    lmlp *m = luaL_testudata(L, 2, MLP_MT);
    if (m) {
        if (!m->m) return luaL_argerror(L, 2, "mlp was freed");
        params = m->m->params;
        grads = m->m->grads;
        n = m->m->n_params;
        lr_arg = 3;
    } else {
        cwb_tensor *p = cwb_lua_testtensor(L, 2);
        if (!p) return luaL_typeerror(L, 2, "cwb.mlp or cwb.tensor");
        cwb_tensor *g = cwb_lua_checktensor(L, 3);
        if (cwb_tensor_size(g) != cwb_tensor_size(p))
            return luaL_argerror(L, 3, lua_pushfstring(L, "gradient is %dx%d, parameters %dx%d",
                                                       g->rows, g->cols, p->rows, p->cols));
        params = p->data;
        grads = g->data;
        n = cwb_tensor_size(p);
        lr_arg = 4;
    }
    float lr = (float)luaL_optnumber(L, lr_arg, op->cfg.lr);
    if (!op->o) {
        op->o = cwb_optim_new(&op->cfg, n);
        if (!op->o) return cwb_lua_engine_error(L, "optim:step");
        op->n = n;
    } else if (n != op->n)
        return luaL_argerror(L, 2, lua_pushfstring(L, "optimiser is bound to %d parameters, got %d",
                                                   (int)op->n, (int)n));
    if (cwb_optim_step(op->o, params, grads, lr) != CWB_OK)
        return cwb_lua_engine_error(L, "optim:step");
    return 0;
}

static int optim_lr(lua_State *L) {
    loptim *op = luaL_checkudata(L, 1, OPTIM_MT);
    lua_pushnumber(L, op->cfg.lr);
    return 1;
}

static int optim_gc(lua_State *L) {
    loptim *op = luaL_checkudata(L, 1, OPTIM_MT);
    cwb_optim_free(op->o);
    op->o = NULL;
    return 0;
}

static int optim_tostring(lua_State *L) {
    loptim *op = luaL_checkudata(L, 1, OPTIM_MT);
    lua_pushfstring(L, "optim %s lr=%f", op->cfg.kind == CWB_OPT_SGD ? "sgd" : "adamw",
                    (double)op->cfg.lr);
    return 1;
}

/* ---- schedules ------------------------------------------------------------------- */

const char *const cwb_lua_sched_keys[] = {CWB_LUA_SCHED_KEYS, NULL};

void cwb_lua_sched_opts(cwb_opts *o, cwb_schedule *s) {
    const char *kind = cwb_opts_str(o, "kind", NULL);
    if (kind) {
        int k = cwb_sched_from_name(kind);
        if (k < 0)
            cwb_opts_error(o, "kind", "unknown schedule '%s' (constant, warmup, cosine)", kind);
        s->kind = (cwb_sched_kind)k;
    }
    s->warmup = (long)cwb_opts_range(o, "warmup", s->warmup, 0, LONG_MAX);
    s->total = (long)cwb_opts_range(o, "total", s->total, 0, LONG_MAX);
    s->min_frac = (float)cwb_opts_num(o, "min_frac", s->min_frac);
}

static int n_schedule(lua_State *L) {
    cwb_opts o;
    cwb_opts_init(&o, L, 1, cwb_lua_sched_keys);
    cwb_schedule s = {CWB_SCHED_CONSTANT, 0, 0, 0.0f};
    cwb_lua_sched_opts(&o, &s);
    if (cwb_schedule_check(&s, "schedule") != CWB_OK) return cwb_lua_engine_error(L, NULL);
    cwb_schedule *u = cwb_lua_newobject(L, sizeof *u, 0, SCHED_MT);
    *u = s;
    return 1;
}

static int sched_factor(lua_State *L) {
    cwb_schedule *s = luaL_checkudata(L, 1, SCHED_MT);
    lua_Integer step = luaL_checkinteger(L, 2);
    if (step < 0) luaL_argerror(L, 2, "step must be >= 0");
    lua_pushnumber(L, cwb_schedule_factor(s, (long)step));
    return 1;
}

static int sched_tostring(lua_State *L) {
    cwb_schedule *s = luaL_checkudata(L, 1, SCHED_MT);
    lua_pushfstring(L, "schedule %s warmup=%d total=%d min_frac=%f", cwb_sched_name(s->kind),
                    (int)s->warmup, (int)s->total, (double)s->min_frac);
    return 1;
}

static const luaL_Reg fns[] = {
    {"mlp", n_mlp}, {"optim", n_optim}, {"schedule", n_schedule}, {NULL, NULL}};
static const cwb_lua_doc docs[] = {
    {"mlp", "cwb.nn.mlp{dims={64,256,64}, act=\"relu\", l2norm=true, seed=, max_batch=1024} -> "
            "mlp: an encoder tower Linear-act-...-Linear [-L2 norm], PyTorch-style init"},
    {"optim", "cwb.nn.optim{kind=\"sgd\"|\"adamw\", lr=, momentum=, weight_decay=, beta1=, "
              "beta2=, eps=} -> optim (defaults: sgd lr 0.1 momentum 0.9; adamw lr 1e-3 wd 0.01)"},
    {"schedule", "cwb.nn.schedule{kind=\"constant\"|\"warmup\"|\"cosine\", warmup=0, total=, "
                 "min_frac=0} -> schedule: learning-rate multiplier by step"},
    {NULL, NULL}};

static const luaL_Reg mlp_methods[] = {
    {"forward", mlp_forward}, {"backward", mlp_backward},       {"zero_grad", mlp_zero_grad},
    {"params", mlp_params},   {"weights", mlp_weights},         {"grads", mlp_grads},
    {"set_weights", mlp_set_weights}, {"dims", mlp_dims},       {NULL, NULL}};
static const cwb_lua_doc mlp_docs[] = {
    {"forward", "m:forward(x) -> tensor: encode the rows of x (B x dims[1])"},
    {"backward", "m:backward(dout) -> dx: back-propagate dL/dout of the last forward; "
                 "accumulates parameter gradients, returns dL/dx"},
    {"zero_grad", "m:zero_grad() -> m: clear the accumulated gradients"},
    {"params", "m:params() -> integer: number of parameters"},
    {"weights", "m:weights() -> tensor: all parameters as a 1 x n copy"},
    {"grads", "m:grads() -> tensor: accumulated gradients as a 1 x n copy"},
    {"set_weights", "m:set_weights(t) -> m: load parameters from a tensor of n values"},
    {"dims", "m:dims() -> table: layer sizes {in, hidden..., out}"},
    {NULL, NULL}};
static const luaL_Reg mlp_meta[] = {{"__gc", mlp_gc}, {"__tostring", mlp_tostring}, {NULL, NULL}};

static const luaL_Reg optim_methods[] = {{"step", optim_step}, {"lr", optim_lr}, {NULL, NULL}};
static const cwb_lua_doc optim_docs[] = {
    {"step", "o:step(mlp [, lr]) or o:step(params, grads [, lr]): one update (lr defaults to "
             "the base lr)"},
    {"lr", "o:lr() -> number: the base learning rate"},
    {NULL, NULL}};
static const luaL_Reg optim_meta[] = {
    {"__gc", optim_gc}, {"__tostring", optim_tostring}, {NULL, NULL}};

static const luaL_Reg sched_methods[] = {{"factor", sched_factor}, {NULL, NULL}};
static const cwb_lua_doc sched_docs[] = {
    {"factor", "s:factor(step) -> number: lr multiplier in [0, 1] at step (from 0); also s(step)"},
    {NULL, NULL}};
static const luaL_Reg sched_meta[] = {
    {"__call", sched_factor}, {"__tostring", sched_tostring}, {NULL, NULL}};

int cwb_lua_open_nn(lua_State *L) {
    cwb_lua_newclass(L, MLP_MT, "mlp methods", "mlp: an encoder tower", mlp_methods, mlp_docs,
                     mlp_meta);
    cwb_lua_newclass(L, OPTIM_MT, "optim methods", "optim: SGD or AdamW over a parameter block",
                     optim_methods, optim_docs, optim_meta);
    cwb_lua_newclass(L, SCHED_MT, "schedule methods", "schedule: a learning-rate schedule",
                     sched_methods, sched_docs, sched_meta);
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "encoders (MLP towers), optimisers and learning-rate schedules");
    return 1;
}
