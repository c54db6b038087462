/*
 * ltrainer.c - cwb.trainer: the engine's training step driven from Lua.
 *
 * tr:run{steps=...} is the run function every trainer shares (lrun.c): it
 * loops in C (no Lua call per step unless on_step is given), records the
 * run and its metrics in the session store and shows progress;
 * tr:step() is the same step one at a time, for recipes and the UI that
 * want to drive it themselves.  A NaN or Inf stops the run with the
 * engine's "step N: <quantity> is not finite" as a Lua error, and the run
 * is marked failed.
 */
#include "lua/lbind.h"
#include "engine/core/error.h"
#include "engine/train/trainer.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define TRAINER_MT "cwb.trainer"

static cwb_trainer *check_trainer(lua_State *L, int arg) {
    cwb_lua_trainer *tr = luaL_checkudata(L, arg, TRAINER_MT);
    if (!tr->self) luaL_argerror(L, arg, "trainer was freed");
    return tr->self;
}

/* Each sub-table is read by its reader and takes that reader's keys. */
static const char *const top_keys[] = {
    "seed",     "data",   "aug",     "batch", "batch_max", "batch_noise", "pair_noise", "importance",
    "encoder",  "optim",  "schedule", "loss", "tau",         "learn_tau",  "eval_chunk",
    "shuffle",  "eval",   "name",     NULL};
static const char *const data_keys[] = {CWB_LUA_SYNTH_KEYS, NULL};
static const char *const enc_keys[] = {CWB_LUA_MLP_KEYS, "shared", "head", NULL};
static const char *const eval_keys[] = {"test", "knn", "temperature", "linear", "l2", "max_iter",
                                        "grad_tol", "rel_tol", "val_frac", NULL};

/* A data set object at o[key], or NULL when absent; anything else is an
 * error naming the key.  Leaves the object on the stack (or nothing). */
static const cwb_dataset *opt_dataset(cwb_opts *o, const char *key) {
    lua_State *L = o->L;
    int t = cwb_opts_get(o, key);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return NULL;
    }
    const cwb_dataset *ds = cwb_lua_testdataset(L, -1);
    if (!ds) cwb_opts_error(o, key, "dataset expected, got %s", luaL_typename(L, -1));
    return ds;
}

/* eval = {...}: the probes of an evaluation on a test split (trainer.h). */
static const cwb_dataset *eval_opts(cwb_opts *o, cwb_probe_cfg *c) {
    const cwb_dataset *test = opt_dataset(o, "test");
    c->knn = (int)cwb_opts_range(o, "knn", c->knn, 0, INT_MAX);
    c->knn_temperature = cwb_opts_num(o, "temperature", c->knn_temperature);
    c->linear = cwb_opts_bool(o, "linear", c->linear);
    double l2[CWB_LINPROBE_MAX_L2];
    int t = cwb_opts_get(o, "l2");
    if (t == LUA_TTABLE) {
        lua_Integer n = luaL_len(o->L, -1);
        if (n < 1 || n > CWB_LINPROBE_MAX_L2)
            cwb_opts_error(o, "l2", "%d strengths given, need 1..%d", (int)n, CWB_LINPROBE_MAX_L2);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(o->L, -1, i);
            int isnum = 0;
            l2[i - 1] = lua_tonumberx(o->L, -1, &isnum);
            if (!isnum || !(l2[i - 1] >= 0)) cwb_opts_error(o, "l2", "entry %d must be a number >= 0", (int)i);
            lua_pop(o->L, 1);
        }
        c->probe.n_l2 = (int)n;
        memcpy(c->probe.l2, l2, (size_t)n * sizeof *l2);
    } else if (t != LUA_TNIL)
        cwb_opts_error(o, "l2", "table of strengths expected, got %s", luaL_typename(o->L, -1));
    lua_pop(o->L, 1);
    c->probe.max_iter = (int)cwb_opts_range(o, "max_iter", c->probe.max_iter, 1, INT_MAX);
    c->probe.grad_tol = cwb_opts_num(o, "grad_tol", c->probe.grad_tol);
    c->probe.rel_tol = cwb_opts_num(o, "rel_tol", c->probe.rel_tol);
    c->probe.val_frac = cwb_opts_num(o, "val_frac", c->probe.val_frac);
    return test;
}

/* user value 1: the data set object, if one was given, 2: the test split
 * (both must outlive the trainer) */
static int tr_new(lua_State *L) {
    const int nargs = lua_gettop(L);
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
    const int images = ds && ds->height > 0;
    if (images) { /* image augmentations, every image once an epoch */
        c.imaug = cwb_imaug_defaults(ds->height, ds->width);
        if (cwb_opts_sub(&o, "aug", cwb_lua_imaug_keys, &sub)) cwb_lua_imaug_opts(&sub, &c.imaug);
        c.shuffle = 1;
    } else if (cwb_opts_sub(&o, "aug", cwb_lua_aug_keys, &sub))
        cwb_lua_aug_opts(&sub, &c.aug);
    c.shuffle = cwb_opts_bool(&o, "shuffle", c.shuffle);
    c.batch = (int)cwb_opts_range(&o, "batch", c.batch, 2, INT_MAX);
    c.batch_max = (int)cwb_opts_range(&o, "batch_max", 0, 0, INT_MAX);
    c.batch_noise = (float)cwb_opts_num(&o, "batch_noise", c.batch_noise);
    c.pair_noise = (float)cwb_opts_num(&o, "pair_noise", c.pair_noise);
    c.importance = cwb_opts_bool(&o, "importance", c.importance);
    if (cwb_opts_sub(&o, "encoder", enc_keys, &sub)) {
        cwb_lua_mlp_opts(&sub, &c.enc);
        c.shared_tower = cwb_opts_bool(&sub, "shared", c.shared_tower);
        /* head = {widths...}: its input is the tower's output */
        int n = cwb_opts_ints(&sub, "head", c.head.dims + 1, 1, CWB_MLP_MAX_LAYERS);
        if (n > 0) {
            c.head.n_layers = n;
            c.head.dims[0] = c.enc.dims[c.enc.n_layers];
        }
    }
    if (cwb_opts_sub(&o, "optim", cwb_lua_optim_keys, &sub)) cwb_lua_optim_opts(&sub, &c.opt);
    if (cwb_opts_sub(&o, "schedule", cwb_lua_sched_keys, &sub)) cwb_lua_sched_opts(&sub, &c.sched);
    if (cwb_opts_sub(&o, "loss", cwb_lua_loss_keys, &sub)) cwb_lua_loss_cfg_opts(&sub, &c.loss);
    c.tau = (float)cwb_opts_num(&o, "tau", c.tau);
    c.learn_tau = cwb_opts_bool(&o, "learn_tau", c.learn_tau);
    c.eval_chunk = (int)cwb_opts_range(&o, "eval_chunk", c.eval_chunk, 0, INT_MAX);
    const cwb_dataset *test = NULL;
    int test_idx = 0;
    if (cwb_opts_sub(&o, "eval", eval_keys, &sub)) {
        int top = lua_gettop(L);
        test = eval_opts(&sub, &c.eval);
        if (test) test_idx = lua_gettop(L);
        else lua_settop(L, top);
    }
    const char *name = cwb_opts_str(&o, "name", NULL);

    cwb_lua_trainer *tr = cwb_lua_newobject(L, sizeof *tr, 2, TRAINER_MT);
    int self = lua_gettop(L);
    if (ds_idx) {
        lua_pushvalue(L, ds_idx);
        lua_setiuservalue(L, self, 1);
    }
    if (test_idx) {
        lua_pushvalue(L, test_idx);
        lua_setiuservalue(L, self, 2);
    }
    if (name) snprintf(tr->name, sizeof tr->name, "%s", name);
    else
        snprintf(tr->name, sizeof tr->name, "%s-B%d-seed%llu", cwb_loss_name(c.loss.kind),
                 c.batch, (unsigned long long)c.seed);
    tr->ops = &cwb_trainer_ops;
    tr->self = cwb_trainer_new_split(&c, ds, test);
    if (!tr->self) return cwb_lua_engine_error(L, "trainer");
    lua_settop(L, self);
    cwb_lua_trainer_origin(L, self, nargs);
    return 1;
}

/* ---- methods --------------------------------------------------------------------- */

/* its own function (not cwb_lua_trainer_step itself): help() finds a doc by function */
static int tr_step(lua_State *L) {
    check_trainer(L, 1);
    return cwb_lua_trainer_step(L);
}

static int tr_eval(lua_State *L) {
    cwb_trainer *t = check_trainer(L, 1);
    cwb_metrics m;
    if (cwb_trainer_ops.evaluate(t, &m) != CWB_OK) return cwb_lua_engine_error(L, "trainer:eval");
    cwb_lua_push_metrics(L, &m, -1);
    return 1;
}

static int tr_embed(lua_State *L) {
    cwb_trainer *t = check_trainer(L, 1);
    const float *a, *b;
    int n, k;
    if (cwb_trainer_ops.embed(t, &a, &b, &n, &k) != CWB_OK) return cwb_lua_engine_error(L, "trainer:embed");
    cwb_lua_pushtensor(L, a, n, k);
    cwb_lua_pushtensor(L, b, n, k);
    return 2;
}

static int tr_labels(lua_State *L) {
    const cwb_dataset *d = cwb_trainer_data(check_trainer(L, 1));
    cwb_lua_pushints(L, d->labels, d->n, 1);
    return 1;
}

static int tr_x(lua_State *L) {
    const cwb_dataset *d = cwb_trainer_data(check_trainer(L, 1));
    cwb_lua_pushtensor(L, d->x->data, d->x->rows, d->x->cols);
    return 1;
}

static int tr_size(lua_State *L) {
    lua_pushinteger(L, cwb_trainer_data(check_trainer(L, 1))->n);
    return 1;
}

static int tr_tostring(lua_State *L) {
    cwb_lua_trainer *tr = luaL_checkudata(L, 1, TRAINER_MT);
    if (cwb_lua_freed(L, tr->self, "trainer")) return 1;
    const cwb_trainer_cfg *c = cwb_trainer_config(tr->self);
    lua_pushfstring(L, "trainer '%s': %s loss, batch %d, N %d", tr->name,
                    cwb_loss_name(c->loss.kind), c->batch, cwb_trainer_data(tr->self)->n);
    return 1;
}

static const luaL_Reg fns[] = {{"new", tr_new}, {NULL, NULL}};
static const cwb_lua_doc docs[] = {
    {"new", "cwb.trainer.new{seed=, data={n=, clusters=, latent_dim=, dim=, spread=, "
            "obs_noise=, nonlinear=} | dataset, aug={jitter=, mask=, flip=, scale=} (vector data) | "
            "{crop_pad=, crop_scale=, flip=, brightness=, contrast=, noise=, erase=, erase_area=, "
            "erase_ratio=} (a data set of images: cwb.data.image_augment's options), shuffle= (true "
            "on images: every image once an epoch), batch=256, batch_max=batch (how far the batch knob "
            "may go up), "
            "batch_noise=0, pair_noise=0, importance=false, encoder={dims=, act=, l2norm=, "
            "shared=true, head={widths...} (a projection head on the tower's output: the loss on "
            "its output, evaluation on the tower's)}, optim={kind=, lr=, momentum=, weight_decay=}, schedule={kind=, "
            "warmup=, total=, min_frac=}, loss={kind=, symmetric=, both_views=, alpha=, gamma=, noise=, "
            "chunk=, n_total=, estep_first=false, jensen=false}, tau=0.1, learn_tau=false, eval_chunk=, "
            "eval={test=dataset, knn=20, temperature=0.07, linear=true, l2={1e-1..1e-6}, max_iter=500, "
            "grad_tol=1e-4, rel_tol=1e-6, val_frac=0.1} (probes on a test split), name=} -> trainer"},
    {NULL, NULL}};

static const luaL_Reg methods[] = {{"step", tr_step}, {"eval", tr_eval},
                                   {"embed", tr_embed}, {"labels", tr_labels}, {"x", tr_x},
                                   {"size", tr_size}, CWB_LUA_TRAINER_METHODS, {NULL, NULL}};
static const cwb_lua_doc method_docs[] = {
    {"step", "tr:step() -> info: one training step; info = {step, loss, surrogate, lr, tau, "
             "grad_norm}"},
    {"eval", "tr:eval() -> table: {top1, pop_loss, alignment, uniformity, collapse_std, "
             "gap_centroid, gap_paired} on two fixed augmented views of the whole data set; with "
             "eval={test=...}: {knn_acc, knn_seconds, linear_acc, linear_l2, linear_converged, "
             "linear_seconds, embed_seconds} of the probes on the representation before the head"},
    {"embed", "tr:embed() -> a, b: the embeddings (n x k tensors, after the head) of the two "
              "evaluation views of the data set, or of the test split's first 2048 rows"},
    {"labels", "tr:labels() -> table: cluster labels of the training data (1-based)"},
    {"x", "tr:x() -> tensor: the training data (a copy)"},
    {"size", "tr:size() -> integer: number of training samples"},
    CWB_LUA_TRAINER_DOCS,
    {NULL, NULL}};

int cwb_lua_open_trainer(lua_State *L) {
    cwb_lua_newtrainerclass(L, TRAINER_MT, "trainer methods",
                            "trainer: batches, augmentations, encoder, loss and optimiser", methods,
                            method_docs, tr_tostring);
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "contrastive training, step by step or as recorded runs");
    return 1;
}
