/*
 * lmm.c - cwb.mm: two-modality data with an information gap, two-tower
 * training with the modality-structure regularisers, the unimodal baseline
 * and the downstream evaluation (docs/multimodal.md; the engine's mmdata.h,
 * mmtrain.h, probe.h).
 *
 * A trainer always works on a data object: given a data= table, the binding
 * builds one (with the trainer's seed) and keeps it as the trainer's first
 * user value, so tr:data() can hand it back and it outlives the trainer.
 * Labels count from 1 in Lua.  NaN in an evaluation table means "does not
 * apply" (zero-shot of a unimodal model, say).
 */
#include "lua/lbind.h"
#include "engine/core/error.h"
#include "engine/data/mmdata.h"
#include "engine/train/mmtrain.h"
#include "engine/eval/probe.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MMDATA_MT "cwb.mmdata"
#define MMTRAINER_MT "cwb.mmtrainer"

typedef struct {
    cwb_mm_data *d;
    double knn_v, knn_t;   /* kNN accuracy on the raw observations (NaN if knn_k = 0) */
} lmmdata;


static const cwb_mm_data *check_data(lua_State *L, int arg) {
    lmmdata *d = luaL_checkudata(L, arg, MMDATA_MT);
    if (!d->d) luaL_argerror(L, arg, "data set was freed");
    return d->d;
}

static cwb_mm_trainer *check_trainer(lua_State *L, int arg) {
    cwb_lua_trainer *t = luaL_checkudata(L, arg, MMTRAINER_MT);
    if (!t->self) luaL_argerror(L, arg, "trainer was freed");
    return t->self;
}

static void set_num(lua_State *L, const char *k, double v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

/* ---- data -------------------------------------------------------------------- */

static const char *const data_keys[] = {
    "n_train", "n_test", "classes", "shared_dim", "v_private_dim", "t_private_dim", "v_dim",
    "t_dim",   "hidden", "gap",     "signal",     "spread",        "v_noise",       "t_noise",
    "knn_k",   "seed",   NULL};

static void data_opts(cwb_opts *o, cwb_mm_cfg *c) {
    c->n_train = (int)cwb_opts_range(o, "n_train", c->n_train, 1, INT_MAX);
    c->n_test = (int)cwb_opts_range(o, "n_test", c->n_test, 1, INT_MAX);
    c->classes = (int)cwb_opts_range(o, "classes", c->classes, 2, INT_MAX);
    c->shared_dim = (int)cwb_opts_range(o, "shared_dim", c->shared_dim, 1, INT_MAX);
    c->v_private_dim = (int)cwb_opts_range(o, "v_private_dim", c->v_private_dim, 1, INT_MAX);
    c->t_private_dim = (int)cwb_opts_range(o, "t_private_dim", c->t_private_dim, 1, INT_MAX);
    c->v_dim = (int)cwb_opts_range(o, "v_dim", c->v_dim, 1, INT_MAX);
    c->t_dim = (int)cwb_opts_range(o, "t_dim", c->t_dim, 1, INT_MAX);
    c->hidden = (int)cwb_opts_range(o, "hidden", c->hidden, 1, INT_MAX);
    c->gap = (float)cwb_opts_num(o, "gap", c->gap);
    c->signal = (float)cwb_opts_num(o, "signal", c->signal);
    c->spread = (float)cwb_opts_num(o, "spread", c->spread);
    c->v_noise = (float)cwb_opts_num(o, "v_noise", c->v_noise);
    c->t_noise = (float)cwb_opts_num(o, "t_noise", c->t_noise);
}

/* Push a new data object built from the options at o (seed: its "seed" key,
 * else `seed`). */
static void push_new_data(lua_State *L, cwb_opts *o, uint64_t seed) {
    cwb_mm_cfg c = cwb_mm_defaults();
    int knn_k = 10;
    if (o) {
        data_opts(o, &c);
        knn_k = (int)cwb_opts_range(o, "knn_k", knn_k, 0, INT_MAX);
        seed = (uint64_t)cwb_opts_int(o, "seed", (lua_Integer)seed);
    }
    lmmdata *d = cwb_lua_newobject(L, sizeof *d, 0, MMDATA_MT);
    d->knn_v = d->knn_t = NAN;
    d->d = cwb_mm_data_new(&c, seed);
    if (!d->d) cwb_lua_engine_error(L, "mm.data");
    if (knn_k > 0 && cwb_mm_knn_baseline(d->d, knn_k, &d->knn_v, &d->knn_t) != CWB_OK)
        cwb_lua_engine_error(L, "mm.data");
}

static int f_data(lua_State *L) {
    cwb_opts o;
    cwb_opts_init(&o, L, 1, data_keys);
    push_new_data(L, &o, cwb_lua_seed());
    return 1;
}

static int d_xv(lua_State *L) {
    const cwb_mm_data *d = check_data(L, 1);
    cwb_lua_pushtensor(L, d->xv->data, d->xv->rows, d->xv->cols);
    return 1;
}

static int d_xt(lua_State *L) {
    const cwb_mm_data *d = check_data(L, 1);
    cwb_lua_pushtensor(L, d->xt->data, d->xt->rows, d->xt->cols);
    return 1;
}

static int d_latent(lua_State *L) {
    const cwb_mm_data *d = check_data(L, 1);
    cwb_lua_pushtensor(L, d->latent->data, d->latent->rows, d->latent->cols);
    return 1;
}

static int d_captions(lua_State *L) {
    const cwb_mm_data *d = check_data(L, 1);
    cwb_lua_pushtensor(L, d->captions->data, d->captions->rows, d->captions->cols);
    return 1;
}

static int d_labels(lua_State *L) {
    const cwb_mm_data *d = check_data(L, 1);
    cwb_lua_pushints(L, d->labels, d->n, 1);
    return 1;
}

static int d_questions(lua_State *L) {
    const cwb_mm_data *d = check_data(L, 1);
    cwb_lua_pushints(L, d->question, d->n, 0);
    return 1;
}

static int d_size(lua_State *L) {
    lua_pushinteger(L, check_data(L, 1)->n);
    return 1;
}

static int d_info(lua_State *L) {
    const cwb_mm_data *d = check_data(L, 1);
    const lmmdata *ld = lua_touserdata(L, 1);
    lua_createtable(L, 0, 12);
    set_num(L, "gap", d->cfg.gap);
    set_num(L, "bayes_v", d->bayes_v);
    set_num(L, "bayes_t", d->bayes_t);
    set_num(L, "mi_v", d->mi_v);
    set_num(L, "mi_t", d->mi_t);
    set_num(L, "info_gap", d->info_gap);
    set_num(L, "knn_v", ld->knn_v);
    set_num(L, "knn_t", ld->knn_t);
    lua_pushinteger(L, d->cfg.n_train);
    lua_setfield(L, -2, "n_train");
    lua_pushinteger(L, d->cfg.n_test);
    lua_setfield(L, -2, "n_test");
    lua_pushinteger(L, d->cfg.classes);
    lua_setfield(L, -2, "classes");
    return 1;
}

static int d_gc(lua_State *L) {
    lmmdata *d = luaL_checkudata(L, 1, MMDATA_MT);
    cwb_mm_data_free(d->d);
    d->d = NULL;
    return 0;
}

static int d_tostring(lua_State *L) {
    lmmdata *d = luaL_checkudata(L, 1, MMDATA_MT);
    if (cwb_lua_freed(L, d->d, "mmdata")) return 1;
    const cwb_mm_data *x = d->d;
    lua_pushfstring(L, "mmdata: %d + %d samples, %d classes, gap %f (Bayes V %f, T %f)",
                    x->cfg.n_train, x->cfg.n_test, x->cfg.classes, (double)x->cfg.gap, x->bayes_v,
                    x->bayes_t);
    return 1;
}

/* ---- trainer ------------------------------------------------------------------- */

static const char *const top_keys[] = {
    "seed",     "data",   "modality",  "aug_v",     "aug_t",     "batch",
    "hidden",   "body_layers", "dim",  "act",       "optim",     "schedule",
    "loss",     "tau",    "learn_tau", "four_term", "w_sep",     "w_bridge",
    "w_gc",     "w_itm",  "sep_tau",   "bridge_t",  "bridge_t_sampled",
    "fusion_hidden",      "eval_fusion_steps",      "fewshot_episodes",
    "probe_steps",        "eval_chunk",             "lr_fewshot","name",      NULL};
/* user value 1: the data object (kept alive with the trainer; tr:data()) */
static int new_trainer(lua_State *L, int unimodal) {
    const int nargs = lua_gettop(L);
    const char *fname = unimodal ? "mm.unimodal" : "mm.trainer";
    cwb_opts o, sub;
    cwb_opts_init(&o, L, 1, top_keys);
    cwb_mm_train_cfg c = cwb_mm_train_defaults();
    c.mode = unimodal ? CWB_MM_UNIMODAL : CWB_MM_TWO_TOWER;
    c.seed = (uint64_t)cwb_opts_int(&o, "seed", (lua_Integer)cwb_lua_seed());

    /* The data object, given or built, sits at data_idx. */
    int data_idx;
    if (cwb_opts_get(&o, "data") == LUA_TUSERDATA) {
        if (!luaL_testudata(L, -1, MMDATA_MT))
            cwb_opts_error(&o, "data", "table or mmdata expected, got %s", luaL_typename(L, -1));
        check_data(L, lua_gettop(L));
        data_idx = lua_gettop(L);
    } else {
        lua_pop(L, 1);
        int has = cwb_opts_sub(&o, "data", data_keys, &sub);
        push_new_data(L, has ? &sub : NULL, c.seed);
        data_idx = lua_gettop(L);
    }
    const cwb_mm_data *data = check_data(L, data_idx);

    const char *mod = cwb_opts_str(&o, "modality", NULL);
    if (mod) {
        if (!unimodal) cwb_opts_error(&o, "modality", "only for cwb.mm.unimodal");
        if (strcasecmp(mod, "v") == 0 || strcasecmp(mod, "image") == 0) c.uni_modality = CWB_MOD_V;
        else if (strcasecmp(mod, "t") == 0 || strcasecmp(mod, "text") == 0) c.uni_modality = CWB_MOD_T;
        else cwb_opts_error(&o, "modality", "'%s' is not \"v\" (image) or \"t\" (text)", mod);
    }
    if (cwb_opts_sub(&o, "aug_v", cwb_lua_aug_keys, &sub)) cwb_lua_aug_opts(&sub, &c.aug_v);
    if (cwb_opts_sub(&o, "aug_t", cwb_lua_aug_keys, &sub)) cwb_lua_aug_opts(&sub, &c.aug_t);
    c.batch = (int)cwb_opts_range(&o, "batch", c.batch, 2, INT_MAX);
    c.hidden = (int)cwb_opts_range(&o, "hidden", c.hidden, 1, INT_MAX);
    c.body_layers = (int)cwb_opts_range(&o, "body_layers", c.body_layers, 1, CWB_MLP_MAX_LAYERS);
    c.dim = (int)cwb_opts_range(&o, "dim", c.dim, 1, INT_MAX);
    const char *act = cwb_opts_str(&o, "act", NULL);
    if (act) {
        int a = cwb_act_from_name(act);
        if (a < 0) cwb_opts_error(&o, "act", "unknown activation '%s' (identity, relu, gelu, tanh)", act);
        c.act = (cwb_act)a;
    }
    if (cwb_opts_sub(&o, "optim", cwb_lua_optim_keys, &sub)) cwb_lua_optim_opts(&sub, &c.opt);
    if (cwb_opts_sub(&o, "schedule", cwb_lua_sched_keys, &sub)) cwb_lua_sched_opts(&sub, &c.sched);
    if (cwb_opts_sub(&o, "loss", cwb_lua_loss_keys, &sub)) {
        if (cwb_opts_has(&sub, "symmetric"))
            cwb_opts_error(&sub, "symmetric", "the two-tower L_con is always symmetric (the CLIP form)");
        cwb_lua_loss_cfg_opts(&sub, &c.loss);
    }
    c.tau = (float)cwb_opts_num(&o, "tau", c.tau);
    c.learn_tau = cwb_opts_bool(&o, "learn_tau", c.learn_tau);
    c.four_term = cwb_opts_bool(&o, "four_term", c.four_term);
    c.w_sep = (float)cwb_opts_num(&o, "w_sep", c.w_sep);
    c.w_bridge = (float)cwb_opts_num(&o, "w_bridge", c.w_bridge);
    c.w_gc = (float)cwb_opts_num(&o, "w_gc", c.w_gc);
    c.w_itm = (float)cwb_opts_num(&o, "w_itm", c.w_itm);
    if (unimodal) {
        static const char *const two_only[] = {"four_term", "w_sep", "w_bridge", "w_gc", "w_itm", NULL};
        for (int i = 0; two_only[i]; i++)
            if (cwb_opts_has(&o, two_only[i]))
                cwb_opts_error(&o, two_only[i], "only for the two-tower cwb.mm.trainer");
    }
    c.sep_tau = (float)cwb_opts_num(&o, "sep_tau", c.sep_tau);
    c.bridge_t = (float)cwb_opts_num(&o, "bridge_t", c.bridge_t);
    c.bridge_sample_t = cwb_opts_bool(&o, "bridge_t_sampled", c.bridge_sample_t);
    c.fusion_hidden = (int)cwb_opts_range(&o, "fusion_hidden", c.fusion_hidden, 1, INT_MAX);
    c.eval_fusion_steps = (int)cwb_opts_range(&o, "eval_fusion_steps", c.eval_fusion_steps, 0, INT_MAX);
    c.fewshot_episodes = (int)cwb_opts_range(&o, "fewshot_episodes", c.fewshot_episodes, 1, INT_MAX);
    c.probe_steps = (int)cwb_opts_range(&o, "probe_steps", c.probe_steps, 0, INT_MAX);
    c.eval_chunk = (int)cwb_opts_range(&o, "eval_chunk", c.eval_chunk, 0, INT_MAX);
    c.lr_fewshot = cwb_opts_bool(&o, "lr_fewshot", c.lr_fewshot);
    const char *name = cwb_opts_str(&o, "name", NULL);

    cwb_lua_trainer *tr = cwb_lua_newobject(L, sizeof *tr, 1, MMTRAINER_MT);
    int self = lua_gettop(L);
    lua_pushvalue(L, data_idx);
    lua_setiuservalue(L, self, 1);
    if (name) snprintf(tr->name, sizeof tr->name, "%s", name);
    else if (unimodal)
        snprintf(tr->name, sizeof tr->name, "unimodal-%s-gap%.2f-seed%llu",
                 c.uni_modality == CWB_MOD_V ? "v" : "t", (double)data->cfg.gap, (unsigned long long)c.seed);
    else
        snprintf(tr->name, sizeof tr->name, "two-tower-%s-gap%.2f-seed%llu", cwb_loss_name(c.loss.kind),
                 (double)data->cfg.gap, (unsigned long long)c.seed);
    tr->self = cwb_mm_trainer_new(&c, data);
    if (!tr->self) return cwb_lua_engine_error(L, fname);
    tr->ops = cwb_mm_trainer_ops(tr->self);
    lua_settop(L, self);
    cwb_lua_trainer_origin(L, self, nargs);
    return 1;
}

static int f_trainer(lua_State *L) { return new_trainer(L, 0); }
static int f_unimodal(lua_State *L) { return new_trainer(L, 1); }

/* ---- trainer methods ---------------------------------------------------------------- */

/* its own function (not cwb_lua_trainer_step itself): help() finds a doc by function */
static int t_step(lua_State *L) {
    check_trainer(L, 1);
    return cwb_lua_trainer_step(L);
}

/* eval([lr_fewshot]): the argument overrides the trainer's lr_fewshot */
static int t_eval(lua_State *L) {
    cwb_mm_trainer *t = check_trainer(L, 1);
    int lr = lua_isnoneornil(L, 2) ? cwb_mm_trainer_config(t)->lr_fewshot : lua_toboolean(L, 2);
    cwb_metrics m;
    if (cwb_mm_trainer_eval_metrics(t, lr, &m) != CWB_OK) return cwb_lua_engine_error(L, "mm:eval");
    cwb_lua_push_metrics(L, &m, -1);
    return 1;
}

static int t_embed(lua_State *L) {
    cwb_mm_trainer *t = check_trainer(L, 1);
    const float *zv, *zt, *ziv, *zit, *caps;
    if (cwb_mm_trainer_embed(t, &zv, &zt, &ziv, &zit, &caps) != CWB_OK)
        return cwb_lua_engine_error(L, "mm:embed");
    const cwb_mm_data *d = cwb_mm_trainer_data(t);
    const int n = d->n, k = cwb_mm_trainer_dim(t);
    const float *z[4] = {zv, zt, ziv, zit};
    lua_createtable(L, 0, 5);
    static const char *const names[4] = {"v", "t", "iv", "it"};
    for (int i = 0; i < 4; i++)
        if (z[i]) {
            cwb_lua_pushtensor(L, z[i], n, k);
            lua_setfield(L, -2, names[i]);
        }
    if (caps) {
        cwb_lua_pushtensor(L, caps, d->cfg.classes, k);
        lua_setfield(L, -2, "captions");
    }
    return 1;
}

static int t_data(lua_State *L) {
    check_trainer(L, 1);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int t_tostring(lua_State *L) {
    cwb_lua_trainer *tr = luaL_checkudata(L, 1, MMTRAINER_MT);
    if (cwb_lua_freed(L, tr->self, "mm trainer")) return 1;
    const cwb_mm_train_cfg *c = cwb_mm_trainer_config(tr->self);
    lua_pushfstring(L, "mm trainer '%s': %s, batch %d, dim %d", tr->name,
                    c->mode == CWB_MM_TWO_TOWER ? "two towers" : "unimodal", c->batch, c->dim);
    return 1;
}

/* ---- probes on any embeddings ------------------------------------------------------- */

/* Labels at idx (a table of n integers >= 1) into out (0-based); returns
 * the number of classes, the largest label. */
static int check_labels(lua_State *L, int idx, int arg, int n, int *out, const char *what) {
    cwb_lua_checkindices(L, idx, arg, n, INT_MAX, out, what);
    int K = 0;
    for (int i = 0; i < n; i++)
        if (out[i] + 1 > K) K = out[i] + 1;
    return K;
}

static int *alloc_ints(lua_State *L, int n) {
    int *p = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof(int), 0);
    return p;   /* owned by the stack: freed with it */
}

/* zero_shot(x, labels, prototypes) -> accuracy, predictions */
static int f_zero_shot(lua_State *L) {
    cwb_tensor *x = cwb_lua_checktensor(L, 1);
    cwb_tensor *p = cwb_lua_checktensor(L, 3);
    if (p->cols != x->cols)
        return luaL_argerror(L, 3, lua_pushfstring(L, "prototypes have %d columns, x has %d", p->cols, x->cols));
    int *y = alloc_ints(L, x->rows), *pred = alloc_ints(L, x->rows);
    check_labels(L, 2, 2, x->rows, y, "labels");
    double acc;
    if (cwb_zero_shot(x->data, y, x->rows, x->cols, p->data, p->rows, &acc, pred) != CWB_OK)
        return cwb_lua_engine_error(L, "zero_shot");
    lua_pushnumber(L, acc);
    cwb_lua_pushints(L, pred, x->rows, 1);
    return 2;
}

/* The (train, ytrain, test, ytest) quadruple at args 1..4. */
typedef struct {
    cwb_tensor *tr, *te;
    int *ytr, *yte, K;
} split;

static void check_split(lua_State *L, split *s) {
    s->tr = cwb_lua_checktensor(L, 1);
    s->te = cwb_lua_checktensor(L, 3);
    if (s->te->cols != s->tr->cols)
        luaL_argerror(L, 3, lua_pushfstring(L, "test rows have %d columns, training rows %d", s->te->cols,
                                            s->tr->cols));
    s->ytr = alloc_ints(L, s->tr->rows);
    s->yte = alloc_ints(L, s->te->rows);
    int k1 = check_labels(L, 2, 2, s->tr->rows, s->ytr, "labels");
    int k2 = check_labels(L, 4, 4, s->te->rows, s->yte, "labels");
    s->K = k1 > k2 ? k1 : k2;
    if (s->K < 2) s->K = 2;
}

static const char *const fewshot_keys[] = {"shots", "episodes", "probe", "seed", NULL};

/* fewshot(train, ytrain, test, ytest [, {shots=5, episodes=20, probe="centroid", seed=}]) -> mean, sd */
static int f_fewshot(lua_State *L) {
    split s;
    check_split(L, &s);
    cwb_opts o;
    cwb_opts_init(&o, L, 5, fewshot_keys);
    int shots = (int)cwb_opts_range(&o, "shots", 5, 1, INT_MAX);
    int episodes = (int)cwb_opts_range(&o, "episodes", 20, 1, INT_MAX);
    const char *probe = cwb_opts_str(&o, "probe", "centroid");
    cwb_probe_kind kind;
    if (strcasecmp(probe, "centroid") == 0) kind = CWB_PROBE_CENTROID;
    else if (strcasecmp(probe, "logreg") == 0) kind = CWB_PROBE_LOGREG;
    else return cwb_opts_error(&o, "probe", "'%s' is not \"centroid\" or \"logreg\"", probe);
    uint64_t seed = (uint64_t)cwb_opts_int(&o, "seed", (lua_Integer)cwb_lua_seed());
    double mean, sd;
    if (cwb_fewshot(kind, s.tr->data, s.ytr, s.tr->rows, s.te->data, s.yte, s.te->rows, s.tr->cols, s.K,
                    shots, episodes, seed, &mean, &sd) != CWB_OK)
        return cwb_lua_engine_error(L, "fewshot");
    lua_pushnumber(L, mean);
    lua_pushnumber(L, sd);
    return 2;
}

static const char *const probe_keys[] = {"steps", "l2", NULL};

/* linear_probe(train, ytrain, test, ytest [, {steps=300, l2=1e-4}]) -> accuracy */
static int f_linear_probe(lua_State *L) {
    split s;
    check_split(L, &s);
    cwb_opts o;
    cwb_opts_init(&o, L, 5, probe_keys);
    int steps = (int)cwb_opts_range(&o, "steps", 0, 0, INT_MAX);
    float l2 = (float)cwb_opts_num(&o, "l2", -1);
    double acc;
    if (cwb_logreg_probe(s.tr->data, s.ytr, s.tr->rows, s.te->data, s.yte, s.te->rows, s.tr->cols, s.K,
                         steps, l2, &acc) != CWB_OK)
        return cwb_lua_engine_error(L, "linear_probe");
    lua_pushnumber(L, acc);
    return 1;
}

/* knn(train, ytrain, test, ytest [, k=10]) -> accuracy */
static int f_knn(lua_State *L) {
    split s;
    check_split(L, &s);
    lua_Integer k = luaL_optinteger(L, 5, 10);
    if (k < 1 || k > s.tr->rows) return luaL_argerror(L, 5, "k must be in 1..#train");
    double acc;
    if (cwb_knn_accuracy(s.tr->data, s.ytr, s.tr->rows, s.te->data, s.yte, s.te->rows, s.tr->cols, s.K,
                         (int)k, &acc) != CWB_OK)
        return cwb_lua_engine_error(L, "knn");
    lua_pushnumber(L, acc);
    return 1;
}

/* retrieval(a, b [, chunk]) -> {r1, r5, r10} a->b, {r1, r5, r10} b->a */
static int f_retrieval(lua_State *L) {
    cwb_tensor *a = cwb_lua_checktensor(L, 1), *b = cwb_lua_checktensor(L, 2);
    if (a->rows != b->rows || a->cols != b->cols)
        return luaL_argerror(L, 2, lua_pushfstring(L, "b is %dx%d, a is %dx%d", b->rows, b->cols, a->rows, a->cols));
    lua_Integer chunk = luaL_optinteger(L, 3, 0);
    if (chunk < 0 || chunk > INT_MAX) return luaL_argerror(L, 3, "chunk must be >= 0");
    double ab[3], ba[3];
    if (cwb_retrieval(a->data, b->data, a->rows, a->cols, (int)chunk, ab, ba) != CWB_OK)
        return cwb_lua_engine_error(L, "retrieval");
    for (int d = 0; d < 2; d++) {
        const double *r = d ? ba : ab;
        lua_createtable(L, 0, 3);
        set_num(L, "r1", r[0]);
        set_num(L, "r5", r[1]);
        set_num(L, "r10", r[2]);
    }
    return 2;
}

/* ---- registration ------------------------------------------------------------------- */

static const luaL_Reg fns[] = {{"data", f_data},
                               {"trainer", f_trainer},
                               {"unimodal", f_unimodal},
                               {"zero_shot", f_zero_shot},
                               {"fewshot", f_fewshot},
                               {"linear_probe", f_linear_probe},
                               {"knn", f_knn},
                               {"retrieval", f_retrieval},
                               {NULL, NULL}};
static const cwb_lua_doc docs[] = {
    {"data", "cwb.mm.data{n_train=2000, n_test=1000, classes=10, shared_dim=8, v_private_dim=8, "
             "t_private_dim=4, v_dim=48, t_dim=32, hidden=64, gap=0, signal=1.6, spread=0.5, "
             "v_noise=0.05, t_noise=0.05, knn_k=10, seed=} -> mmdata: image (V) and text (T) "
             "with an information gap in [0,1] (docs/multimodal.md)"},
    {"trainer", "cwb.mm.trainer{seed=, data={...}|mmdata, aug_v={...}, aug_t={...}, batch=128, "
                "hidden=128, body_layers=1, dim=32, act=\"relu\", optim={kind=\"adamw\", lr=2e-3, "
                "weight_decay=1e-4}, schedule={...}, loss={kind=\"infonce\", alpha=, gamma=, noise=, chunk=, "
                "n_total=, estep_first=false, jensen=false}, "
                "tau=0.1, learn_tau=false, four_term=false, w_sep=0, w_bridge=0, w_gc=0, w_itm=0, "
                "sep_tau=, bridge_t=0.25, bridge_t_sampled=false, fusion_hidden=64, "
                "eval_fusion_steps=300, fewshot_episodes=20, probe_steps=, eval_chunk=, lr_fewshot=false, "
                "name=} -> "
                "two-tower trainer with the modality-structure regularisers"},
    {"unimodal", "cwb.mm.unimodal{modality=\"v\"|\"t\", seed=, data=, aug_v=, aug_t=, batch=, "
                 "hidden=, body_layers=, dim=, act=, optim=, schedule=, tau=, ...} -> trainer: the "
                 "same tower plus a linear classifier, cross-entropy on one modality's labels"},
    {"zero_shot", "cwb.mm.zero_shot(x, labels, prototypes) -> accuracy, predictions: nearest "
                  "prototype by dot product (labels 1-based)"},
    {"fewshot", "cwb.mm.fewshot(train, ytrain, test, ytest [, {shots=5, episodes=20, "
                "probe=\"centroid\"|\"logreg\", seed=}]) -> mean, sd: few-shot accuracy over episodes"},
    {"linear_probe", "cwb.mm.linear_probe(train, ytrain, test, ytest [, {steps=300, l2=1e-4}]) -> "
                     "accuracy: multinomial logistic regression (standardised, full-batch Adam)"},
    {"knn", "cwb.mm.knn(train, ytrain, test, ytest [, k=10]) -> accuracy: majority of the k "
            "nearest training rows (Euclidean)"},
    {"retrieval", "cwb.mm.retrieval(a, b [, chunk]) -> {r1, r5, r10}, {r1, r5, r10}: recall a->b "
                  "and b->a, a_i's positive is b_i"},
    {NULL, NULL}};

static const luaL_Reg d_methods[] = {{"xv", d_xv},         {"xt", d_xt},
                                     {"latent", d_latent}, {"captions", d_captions},
                                     {"labels", d_labels}, {"questions", d_questions},
                                     {"info", d_info},     {"size", d_size},
                                     {NULL, NULL}};
static const cwb_lua_doc d_docs[] = {
    {"xv", "d:xv() -> tensor: image observations, n x v_dim (train rows first, then test)"},
    {"xt", "d:xt() -> tensor: text observations, n x t_dim"},
    {"latent", "d:latent() -> tensor: latent factors [s, u_V, u_T], n x (shared + v_private + t_private)"},
    {"captions", "d:captions() -> tensor: one text caption per class (zero-shot prototypes), K x t_dim"},
    {"labels", "d:labels() -> table: class of each sample, 1-based"},
    {"questions", "d:questions() -> table: the fusion task's answer (0 or 1) for each sample"},
    {"info", "d:info() -> {gap, bayes_v, bayes_t, mi_v, mi_t, info_gap, knn_v, knn_t, n_train, "
             "n_test, classes}: the gap it was built with and its estimates"},
    {"size", "d:size() -> integer: n_train + n_test"},
    {NULL, NULL}};
static const luaL_Reg d_meta[] = {{"__gc", d_gc}, {"__tostring", d_tostring}, {NULL, NULL}};

static const luaL_Reg t_methods[] = {{"step", t_step}, {"eval", t_eval}, {"embed", t_embed},
                                     {"data", t_data}, CWB_LUA_TRAINER_METHODS, {NULL, NULL}};
static const cwb_lua_doc t_docs[] = {
    {"step", "tr:step() -> info: one step; {step, loss, con and the regularisers that are on (sep, "
             "bridge, gc, itm) | train_acc (unimodal), lr, tau, grad_norm}"},
    {"eval", "tr:eval([lr_fewshot]) -> {zero_shot, fewshot1/5/10 (nearest centroid), fewshot*_std, "
             "fewshot_lr*, linear_probe, head_acc, r1/r5/r10_v2t, r*_t2v, gap_centroid, gap_paired, "
             "alignment, uniformity_v, uniformity_t, collapse_std, fusion_acc, feat_dim}; a quantity "
             "that does not apply is absent"},
    {"embed", "tr:embed() -> {v, t, iv, it, captions}: clean embeddings of all samples (tensors; "
              "iv/it with separation heads, absent modalities missing)"},
    {"data", "tr:data() -> mmdata: the data set the trainer uses"},
    CWB_LUA_TRAINER_DOCS,
    {NULL, NULL}};

int cwb_lua_open_mm(lua_State *L) {
    cwb_lua_newclass(L, MMDATA_MT, "mmdata methods",
                     "mmdata: two modalities with an information gap, captions, questions", d_methods,
                     d_docs, d_meta);
    cwb_lua_newtrainerclass(L, MMTRAINER_MT, "mm trainer methods",
                            "mm trainer: two towers (or one, unimodal), regularisers, evaluation",
                            t_methods, t_docs, t_tostring);
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "two modalities: data with an information gap, CLIP-like training with "
                          "modality-structure regularisers, zero-/few-shot and retrieval probes");
    return 1;
}
