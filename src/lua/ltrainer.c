/*
 * ltrainer.c - cwb.trainer: the engine's training step driven from Lua.
 *
 * trainer:run{steps=...} loops in C (no Lua call per step unless on_step is
 * given), records the run and its metrics in the session store and shows
 * progress; trainer:step() is the same step one at a time, for recipes and
 * the UI that want to drive it themselves.  A NaN or Inf stops the run with
 * the engine's "step N: <quantity> is not finite" as a Lua error, and the
 * run is marked failed.
 */
#include "lua/lbind.h"
#include "engine/core/error.h"
#include "engine/train/trainer.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define TRAINER_MT "cwb.trainer"

typedef struct {
    cwb_trainer *t;
    char name[96];
} ltrainer;

static ltrainer *check_trainer(lua_State *L, int arg) {
    ltrainer *tr = luaL_checkudata(L, arg, TRAINER_MT);
    if (!tr->t) luaL_argerror(L, arg, "trainer was freed");
    return tr;
}

static const char *const top_keys[] = {
    "seed",     "data",   "aug",     "batch", "batch_noise", "pair_noise", "importance",
    "encoder",  "optim",  "schedule", "loss", "tau",         "learn_tau",  "eval_chunk",
    "name",     NULL};
static const char *const data_keys[] = {"n",         "clusters",  "latent_dim", "dim", "spread",
                                        "obs_noise", "nonlinear", NULL};
static const char *const enc_keys[] = {"dims", "act", "l2norm", "shared", NULL};
static const char *const optim_keys[] = {"kind",  "lr",    "momentum", "weight_decay",
                                         "beta1", "beta2", "eps",      NULL};
static const char *const sched_keys[] = {"kind", "warmup", "total", "min_frac", NULL};
static const char *const loss_keys[] = {"kind",  "symmetric", "alpha",   "gamma",
                                        "noise", "chunk",     "n_total", "estep_first",
                                        "jensen", NULL};

/* The parameters recorded with each run, as JSON. */
static void push_params(lua_State *L, const cwb_trainer_cfg *c, int external_data) {
    static const char *const sched_names[] = {"constant", "warmup", "cosine"};
    cwb_json j;
    cwb_json_init(&j);
    cwb_json_open(&j, NULL);
    cwb_json_int(&j, "seed", (long long)c->seed);
    if (external_data) cwb_json_str(&j, "data", "dataset object");
    else {
        cwb_json_open(&j, "data");
        cwb_json_int(&j, "n", c->data.n);
        cwb_json_int(&j, "clusters", c->data.clusters);
        cwb_json_int(&j, "latent_dim", c->data.latent_dim);
        cwb_json_int(&j, "dim", c->data.dim);
        cwb_json_num(&j, "spread", c->data.spread);
        cwb_json_num(&j, "obs_noise", c->data.obs_noise);
        cwb_json_bool(&j, "nonlinear", c->data.nonlinear);
        cwb_json_close(&j);
    }
    cwb_json_open(&j, "aug");
    cwb_json_num(&j, "jitter", c->aug.jitter);
    cwb_json_num(&j, "mask", c->aug.mask);
    cwb_json_num(&j, "flip", c->aug.flip);
    cwb_json_num(&j, "scale", c->aug.scale);
    cwb_json_close(&j);
    cwb_json_int(&j, "batch", c->batch);
    cwb_json_num(&j, "batch_noise", c->batch_noise);
    cwb_json_num(&j, "pair_noise", c->pair_noise);
    cwb_json_bool(&j, "importance", c->importance);
    cwb_json_open(&j, "encoder");
    cwb_json_ints(&j, "dims", c->enc.dims, c->enc.n_layers + 1);
    cwb_json_str(&j, "act", cwb_act_name(c->enc.act));
    cwb_json_bool(&j, "l2norm", c->enc.l2norm);
    cwb_json_bool(&j, "shared", c->shared_tower);
    cwb_json_close(&j);
    cwb_json_open(&j, "optim");
    cwb_json_str(&j, "kind", c->opt.kind == CWB_OPT_SGD ? "sgd" : "adamw");
    cwb_json_num(&j, "lr", c->opt.lr);
    cwb_json_num(&j, "momentum", c->opt.momentum);
    cwb_json_num(&j, "weight_decay", c->opt.weight_decay);
    if (c->opt.kind == CWB_OPT_ADAMW) {
        cwb_json_num(&j, "beta1", c->opt.beta1);
        cwb_json_num(&j, "beta2", c->opt.beta2);
        cwb_json_num(&j, "eps", c->opt.eps);
    }
    cwb_json_close(&j);
    cwb_json_open(&j, "schedule");
    cwb_json_str(&j, "kind", sched_names[c->sched.kind]);
    cwb_json_int(&j, "warmup", c->sched.warmup);
    cwb_json_int(&j, "total", c->sched.total);
    cwb_json_num(&j, "min_frac", c->sched.min_frac);
    cwb_json_close(&j);
    cwb_json_open(&j, "loss");
    cwb_json_str(&j, "kind", cwb_loss_name(c->loss.kind));
    cwb_json_bool(&j, "symmetric", c->loss.symmetric);
    cwb_json_num(&j, "alpha", c->loss.alpha);
    cwb_json_num(&j, "gamma", c->loss.gamma);
    cwb_json_num(&j, "noise", c->loss.noise_sigma);
    cwb_json_int(&j, "chunk", c->loss.chunk);
    cwb_json_int(&j, "n_total", c->loss.n_total);
    cwb_json_bool(&j, "estep_first", c->loss.estep_first);
    cwb_json_bool(&j, "jensen", c->loss.jensen);
    cwb_json_close(&j);
    cwb_json_num(&j, "tau", c->tau);
    cwb_json_bool(&j, "learn_tau", c->learn_tau);
    cwb_json_close(&j);
    cwb_json_push(L, &j); /* raises only if j.s is NULL: nothing to free then */
    cwb_json_free(&j);
}

/* user values: 1 = the data set object (if one was given), 2 = params JSON */
static int tr_new(lua_State *L) {
    cwb_opts o, sub;
    cwb_opts_init(&o, L, 1, top_keys);
    cwb_trainer_cfg c = cwb_trainer_defaults();
    c.seed = (uint64_t)cwb_opts_int(&o, "seed", (lua_Integer)cwb_lua_seed());

    const cwb_dataset *ds = NULL;
    int ds_idx = 0;
    if (cwb_opts_get(&o, "data") == LUA_TUSERDATA) {
        ds = cwb_lua_testdataset(L, -1);
        if (!ds) cwb_opts_error(&o, "data", "table or dataset expected, got %s", luaL_typename(L, -1));
        ds_idx = lua_gettop(L);
    } else {
        lua_pop(L, 1);
        if (cwb_opts_sub(&o, "data", data_keys, &sub)) cwb_lua_synth_opts(&sub, &c.data);
    }
    int data_dim = ds ? ds->dim : c.data.dim;
    c.enc.dims[0] = data_dim; /* the default encoder fits the data */
    if (cwb_opts_sub(&o, "aug", cwb_lua_aug_keys, &sub)) cwb_lua_aug_opts(&sub, &c.aug);
    c.batch = (int)cwb_opts_range(&o, "batch", c.batch, 2, INT_MAX);
    c.batch_noise = (float)cwb_opts_num(&o, "batch_noise", c.batch_noise);
    c.pair_noise = (float)cwb_opts_num(&o, "pair_noise", c.pair_noise);
    c.importance = cwb_opts_bool(&o, "importance", c.importance);
    if (cwb_opts_sub(&o, "encoder", enc_keys, &sub)) {
        cwb_lua_mlp_opts(&sub, &c.enc);
        c.shared_tower = cwb_opts_bool(&sub, "shared", c.shared_tower);
    }
    if (cwb_opts_sub(&o, "optim", optim_keys, &sub)) {
        cwb_lua_optim_opts(&sub, &c.opt);
        cwb_lua_check_optim(L, &c.opt, "trainer");
    }
    if (cwb_opts_sub(&o, "schedule", sched_keys, &sub)) cwb_lua_sched_opts(&sub, &c.sched);
    if (cwb_opts_sub(&o, "loss", loss_keys, &sub)) {
        const char *kind = cwb_opts_str(&sub, "kind", NULL);
        if (kind) {
            int k = cwb_loss_from_name(kind);
            if (k < 0)
                cwb_opts_error(&sub, "kind", "unknown loss '%s' (infonce, dcl, sogclr, "
                                             "decomposable)", kind);
            c.loss = cwb_loss_defaults((cwb_loss_kind)k);
        }
        c.loss.symmetric = cwb_opts_bool(&sub, "symmetric", c.loss.symmetric);
        cwb_lua_loss_opts(&sub, &c.loss);
        c.loss.chunk = (int)cwb_opts_range(&sub, "chunk", c.loss.chunk, 0, INT_MAX);
        c.loss.n_total = (long)cwb_opts_range(&sub, "n_total", c.loss.n_total, 0, INT_MAX);
    }
    c.tau = (float)cwb_opts_num(&o, "tau", c.tau);
    c.learn_tau = cwb_opts_bool(&o, "learn_tau", c.learn_tau);
    c.eval_chunk = (int)cwb_opts_range(&o, "eval_chunk", c.eval_chunk, 0, INT_MAX);
    const char *name = cwb_opts_str(&o, "name", NULL);

    ltrainer *tr = cwb_lua_newobject(L, sizeof *tr, 2, TRAINER_MT);
    int self = lua_gettop(L);
    if (ds_idx) {
        lua_pushvalue(L, ds_idx);
        lua_setiuservalue(L, self, 1);
    }
    if (name) snprintf(tr->name, sizeof tr->name, "%s", name);
    else
        snprintf(tr->name, sizeof tr->name, "%s-B%d-seed%llu", cwb_loss_name(c.loss.kind),
                 c.batch, (unsigned long long)c.seed);
    tr->t = cwb_trainer_new(&c, ds);
    if (!tr->t) return cwb_lua_engine_error(L, "trainer");
    push_params(L, cwb_trainer_config(tr->t), ds != NULL);
    lua_setiuservalue(L, self, 2);
    lua_settop(L, self);
    return 1;
}

/* ---- results as tables ----------------------------------------------------------- */

static void set_num(lua_State *L, const char *k, double v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void push_info(lua_State *L, const cwb_step_info *in) {
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, in->step);
    lua_setfield(L, -2, "step");
    set_num(L, "loss", in->loss);
    set_num(L, "surrogate", in->surrogate);
    set_num(L, "lr", in->lr);
    set_num(L, "tau", in->tau);
    set_num(L, "grad_norm", in->grad_norm);
}

static const struct {
    const char *name;
    size_t off;
} EVAL_FIELDS[] = {
    {"top1", offsetof(cwb_eval_info, top1)},
    {"pop_loss", offsetof(cwb_eval_info, pop_loss)},
    {"alignment", offsetof(cwb_eval_info, alignment)},
    {"uniformity", offsetof(cwb_eval_info, uniformity)},
    {"collapse_std", offsetof(cwb_eval_info, collapse_std)},
    {"gap_centroid", offsetof(cwb_eval_info, gap_centroid)},
    {"gap_paired", offsetof(cwb_eval_info, gap_paired)},
};
#define N_EVAL (sizeof EVAL_FIELDS / sizeof EVAL_FIELDS[0])

static double eval_field(const cwb_eval_info *e, size_t i) {
    return *(const double *)((const char *)e + EVAL_FIELDS[i].off);
}

static void push_eval(lua_State *L, const cwb_eval_info *e) {
    lua_createtable(L, 0, (int)N_EVAL);
    for (size_t i = 0; i < N_EVAL; i++) set_num(L, EVAL_FIELDS[i].name, eval_field(e, i));
}

/* ---- methods --------------------------------------------------------------------- */

static int tr_step(lua_State *L) {
    ltrainer *tr = check_trainer(L, 1);
    cwb_step_info in;
    if (cwb_trainer_step(tr->t, &in) != CWB_OK) return cwb_lua_engine_error(L, NULL);
    push_info(L, &in);
    return 1;
}

static int tr_eval(lua_State *L) {
    ltrainer *tr = check_trainer(L, 1);
    cwb_eval_info e;
    if (cwb_trainer_eval(tr->t, &e) != CWB_OK) return cwb_lua_engine_error(L, "trainer:eval");
    push_eval(L, &e);
    return 1;
}

static int tr_embed(lua_State *L) {
    ltrainer *tr = check_trainer(L, 1);
    const float *a, *b;
    if (cwb_trainer_embed(tr->t, &a, &b) != CWB_OK)
        return cwb_lua_engine_error(L, "trainer:embed");
    const cwb_trainer_cfg *c = cwb_trainer_config(tr->t);
    int n = cwb_trainer_data(tr->t)->n, k = c->enc.dims[c->enc.n_layers];
    cwb_lua_pushtensor(L, a, n, k);
    cwb_lua_pushtensor(L, b, n, k);
    return 2;
}

static int tr_labels(lua_State *L) {
    ltrainer *tr = check_trainer(L, 1);
    const cwb_dataset *d = cwb_trainer_data(tr->t);
    cwb_lua_pushints(L, d->labels, d->n, 1);
    return 1;
}

static int tr_x(lua_State *L) {
    ltrainer *tr = check_trainer(L, 1);
    const cwb_dataset *d = cwb_trainer_data(tr->t);
    cwb_lua_pushtensor(L, d->x->data, d->x->rows, d->x->cols);
    return 1;
}

static int tr_size(lua_State *L) {
    lua_pushinteger(L, cwb_trainer_data(check_trainer(L, 1)->t)->n);
    return 1;
}

static int tr_params(lua_State *L) {
    check_trainer(L, 1);
    lua_getiuservalue(L, 1, 2);
    return 1;
}

static int tr_name(lua_State *L) {
    lua_pushstring(L, check_trainer(L, 1)->name);
    return 1;
}

/* The workbench's geometry pane reads the current embeddings through this. */
static int embed_fn(void *src, const float **a, const float **b, int *n, int *k) {
    cwb_trainer *t = src;
    if (cwb_trainer_embed(t, a, b) != CWB_OK) return -1;
    const cwb_trainer_cfg *c = cwb_trainer_config(t);
    *n = cwb_trainer_data(t)->n;
    *k = c->enc.dims[c->enc.n_layers];
    return 0;
}

static const char *const run_keys[] = {"steps", "eval_every", "on_step", "record",
                                       "log_every", "progress", "name", "eval", NULL};

/* run{steps=, eval_every=0, on_step=, record=true, log_every=, progress=true,
 * name=, eval=true} -> summary table.  log_every defaults to steps/1000
 * (at least 1): about a thousand points per curve is what a figure needs,
 * and logging every step made the main recipe's store 86 MB. */
static int tr_run(lua_State *L) {
    ltrainer *tr = check_trainer(L, 1);
    cwb_opts o;
    cwb_opts_init(&o, L, 2, run_keys);
    if (!o.idx) return luaL_typeerror(L, 2, "table");
    if (!cwb_opts_has(&o, "steps")) cwb_opts_error(&o, "steps", "required");
    long steps = (long)cwb_opts_range(&o, "steps", 0, 0, LONG_MAX);
    long eval_every = (long)cwb_opts_range(&o, "eval_every", 0, 0, LONG_MAX);
    long log_every = (long)cwb_opts_range(&o, "log_every", steps > 1000 ? steps / 1000 : 1, 1, LONG_MAX);
    int record = cwb_opts_bool(&o, "record", 1);
    int progress = cwb_opts_bool(&o, "progress", 1);
    int final_eval = cwb_opts_bool(&o, "eval", 1);
    const char *name = cwb_opts_str(&o, "name", tr->name);
    int t = cwb_opts_get(&o, "on_step");
    if (t != LUA_TNIL && t != LUA_TFUNCTION)
        cwb_opts_error(&o, "on_step", "function expected, got %s", luaL_typename(L, -1));
    int fn = t == LUA_TFUNCTION ? lua_gettop(L) : 0;
    if (!fn) lua_pop(L, 1);

    const cwb_trainer_cfg *c = cwb_trainer_config(tr->t);
    lua_getiuservalue(L, 1, 2);
    const char *params = lua_tostring(L, -1);
    cwb_runguard *g = cwb_run_begin(L, record, name, params, c->seed, steps, progress);
    int gidx = lua_gettop(L);
    cwb_run_embed(g, embed_fn, tr->t, cwb_trainer_data(tr->t)->labels);

    cwb_step_info in = {0};
    cwb_eval_info ev;
    int have_eval = 0, stopped = 0;
    long done = 0;
    char extra[64] = "";
    while (done < steps && !stopped) {
        if (cwb_lua_check_interrupt(L)) return luaL_error(L, "interrupted");
        if (cwb_trainer_step(tr->t, &in) != CWB_OK) return cwb_lua_engine_error(L, NULL);
        done++;
        if (in.step % log_every == 0 || done == steps) {
            cwb_run_metric(g, in.step, "loss", in.loss);
            cwb_run_metric(g, in.step, "tau", in.tau);
            cwb_run_metric(g, in.step, "lr", in.lr);
            cwb_run_metric(g, in.step, "grad_norm", in.grad_norm);
        }
        int evaluated = 0;
        if (eval_every > 0 && in.step % eval_every == 0) {
            if (cwb_trainer_eval(tr->t, &ev) != CWB_OK)
                return cwb_lua_engine_error(L, "trainer:eval");
            for (size_t i = 0; i < N_EVAL; i++)
                cwb_run_metric(g, in.step, EVAL_FIELDS[i].name, eval_field(&ev, i));
            evaluated = have_eval = 1;
        }
        snprintf(extra, sizeof extra, "loss %.4f", in.loss);
        if (cwb_run_progress(L, g, done, extra)) stopped = 1;
        if (fn) {
            push_info(L, &in);
            if (evaluated) {
                push_eval(L, &ev);
                lua_setfield(L, -2, "eval");
            }
            if (cwb_run_hook(L, fn)) stopped = 1;
        }
    }
    /* the final evaluation, unless the last step just had one */
    if (final_eval && done > 0 && !(have_eval && in.step % eval_every == 0)) {
        if (cwb_trainer_eval(tr->t, &ev) != CWB_OK) return cwb_lua_engine_error(L, "trainer:eval");
        for (size_t i = 0; i < N_EVAL; i++)
            cwb_run_metric(g, in.step, EVAL_FIELDS[i].name, eval_field(&ev, i));
        have_eval = 1;
    }
    int64_t id = cwb_run_id(g);
    cwb_run_finish(L, g, gidx, done, extra[0] ? extra : NULL, stopped);

    cwb_run_push_summary(L, id, done, in.step, stopped, 8);
    if (done > 0) {
        set_num(L, "loss", in.loss);
        set_num(L, "tau", in.tau);
        set_num(L, "lr", in.lr);
    }
    if (have_eval) {
        push_eval(L, &ev);
        lua_setfield(L, -2, "eval");
    }
    return 1;
}

static int tr_gc(lua_State *L) {
    ltrainer *tr = luaL_checkudata(L, 1, TRAINER_MT);
    cwb_trainer_free(tr->t);
    tr->t = NULL;
    return 0;
}

static int tr_tostring(lua_State *L) {
    ltrainer *tr = luaL_checkudata(L, 1, TRAINER_MT);
    if (!tr->t) {
        lua_pushliteral(L, "trainer (freed)");
        return 1;
    }
    const cwb_trainer_cfg *c = cwb_trainer_config(tr->t);
    lua_pushfstring(L, "trainer '%s': %s loss, batch %d, N %d", tr->name,
                    cwb_loss_name(c->loss.kind), c->batch, cwb_trainer_data(tr->t)->n);
    return 1;
}

static const luaL_Reg fns[] = {{"new", tr_new}, {NULL, NULL}};
static const cwb_lua_doc docs[] = {
    {"new", "cwb.trainer.new{seed=, data={n=, clusters=, latent_dim=, dim=, spread=, "
            "obs_noise=, nonlinear=} | dataset, aug={jitter=, mask=, flip=, scale=}, batch=256, "
            "batch_noise=0, pair_noise=0, importance=false, encoder={dims=, act=, l2norm=, "
            "shared=true}, optim={kind=, lr=, momentum=, weight_decay=}, schedule={kind=, "
            "warmup=, total=, min_frac=}, loss={kind=, symmetric=, alpha=, gamma=, noise=, "
            "chunk=, n_total=, estep_first=false, jensen=false}, tau=0.1, learn_tau=false, eval_chunk=, name=} -> trainer"},
    {NULL, NULL}};

static const luaL_Reg methods[] = {{"step", tr_step},     {"eval", tr_eval},
                                   {"embed", tr_embed},   {"run", tr_run},
                                   {"labels", tr_labels}, {"x", tr_x},
                                   {"size", tr_size},     {"params", tr_params},
                                   {"name", tr_name},     {NULL, NULL}};
static const cwb_lua_doc method_docs[] = {
    {"step", "tr:step() -> info: one training step; info = {step, loss, surrogate, lr, tau, "
             "grad_norm}"},
    {"eval", "tr:eval() -> table: {top1, pop_loss, alignment, uniformity, collapse_std, "
             "gap_centroid, gap_paired} on two fixed augmented views of the whole data set"},
    {"embed", "tr:embed() -> a, b: the embeddings (N x k tensors) of the two evaluation views"},
    {"run", "tr:run{steps=, eval_every=0, on_step=function(info) end, record=true, "
            "log_every=steps/1000, progress=true, name=, eval=true} -> summary: steps in C, records "
            "the run in the store; on_step returning false stops early"},
    {"labels", "tr:labels() -> table: cluster labels of the training data (1-based)"},
    {"x", "tr:x() -> tensor: the training data (a copy)"},
    {"size", "tr:size() -> integer: number of training samples"},
    {"params", "tr:params() -> string: the effective configuration as JSON (as recorded)"},
    {"name", "tr:name() -> string: the run name used in the store"},
    {NULL, NULL}};
static const luaL_Reg meta[] = {{"__gc", tr_gc}, {"__tostring", tr_tostring}, {NULL, NULL}};

int cwb_lua_open_trainer(lua_State *L) {
    cwb_lua_newclass(L, TRAINER_MT, "trainer methods",
                     "trainer: batches, augmentations, encoder, loss and optimiser", methods,
                     method_docs, meta);
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "contrastive training, step by step or as recorded runs");
    return 1;
}
