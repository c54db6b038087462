/*
 * ldata.c - cwb.data: synthetic data sets, augmentations, batch samplers.
 *
 * The generative model and the sampler's noise knobs are the engine's
 * (data.h, docs/data.md).  Sample indices and cluster labels count from 1
 * in Lua.  A sampler keeps its data set alive through a user value.
 */
#include "lua/lbind.h"
#include "engine/data/data.h"
#include "engine/core/error.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define DATASET_MT "cwb.dataset"
#define SAMPLER_MT "cwb.sampler"

typedef struct {
    cwb_dataset *d;
} ldataset;

typedef struct {
    cwb_sampler *s;
    int batch, n;
    int *idx, *pos;       /* batch buffers (malloc) */
    float *w;
} lsampler;

const cwb_dataset *cwb_lua_checkdataset(lua_State *L, int arg) {
    ldataset *ds = luaL_checkudata(L, arg, DATASET_MT);
    if (!ds->d) luaL_argerror(L, arg, "data set was freed");
    return ds->d;
}

const cwb_dataset *cwb_lua_testdataset(lua_State *L, int arg) {
    ldataset *ds = luaL_testudata(L, arg, DATASET_MT);
    return ds ? ds->d : NULL;
}

const char *const cwb_lua_synth_keys[] = {CWB_LUA_SYNTH_KEYS, "seed", NULL};

/* Shared with the trainer's data= option. */
void cwb_lua_synth_opts(cwb_opts *o, cwb_synth_cfg *c) {
    c->n = (int)cwb_opts_range(o, "n", c->n, 1, INT_MAX);
    c->clusters = (int)cwb_opts_range(o, "clusters", c->clusters, 1, INT_MAX);
    c->latent_dim = (int)cwb_opts_range(o, "latent_dim", c->latent_dim, 1, INT_MAX);
    c->dim = (int)cwb_opts_range(o, "dim", c->dim, 1, INT_MAX);
    c->spread = (float)cwb_opts_num(o, "spread", c->spread);
    c->obs_noise = (float)cwb_opts_num(o, "obs_noise", c->obs_noise);
    c->nonlinear = cwb_opts_bool(o, "nonlinear", c->nonlinear);
}

static int d_synth(lua_State *L) {
    cwb_opts o;
    cwb_opts_init(&o, L, 1, cwb_lua_synth_keys);
    cwb_synth_cfg c = cwb_synth_defaults();
    cwb_lua_synth_opts(&o, &c);
    uint64_t seed = (uint64_t)cwb_opts_int(&o, "seed", (lua_Integer)cwb_lua_seed());
    ldataset *ds = cwb_lua_newobject(L, sizeof *ds, 0, DATASET_MT);
    ds->d = cwb_synth_new(&c, seed);
    if (!ds->d) return cwb_lua_engine_error(L, "synth");
    return 1;
}

const char *const cwb_lua_aug_keys[] = {CWB_LUA_AUG_KEYS, NULL};

void cwb_lua_aug_opts(cwb_opts *o, cwb_aug_cfg *c) {
    c->jitter = (float)cwb_opts_num(o, "jitter", c->jitter);
    c->mask = (float)cwb_opts_num(o, "mask", c->mask);
    c->flip = (float)cwb_opts_num(o, "flip", c->flip);
    c->scale = (float)cwb_opts_num(o, "scale", c->scale);
}

static int d_augment(lua_State *L) {
    cwb_tensor *x = cwb_lua_checktensor(L, 1);
    cwb_opts o;
    cwb_opts_init(&o, L, 2, cwb_lua_aug_keys);
    cwb_aug_cfg c = cwb_aug_defaults();
    cwb_lua_aug_opts(&o, &c);
    cwb_rng tmp;
    cwb_rng *r = cwb_lua_torng(L, 3, &tmp, CWB_STREAM_AUG);
    cwb_tensor *out = cwb_lua_newtensor(L, x->rows, x->cols);
    if (cwb_augment(&c, x->data, out->data, x->rows, x->cols, r) != CWB_OK)
        return cwb_lua_engine_error(L, "augment");
    return 1;
}

static const char *const sampler_keys[] = {"batch", "noise", "pair_noise", "seed", NULL};

static int d_sampler(lua_State *L) {
    const cwb_dataset *d = cwb_lua_checkdataset(L, 1);
    cwb_opts o;
    cwb_opts_init(&o, L, 2, sampler_keys);
    int batch = (int)cwb_opts_range(&o, "batch", d->n < 256 ? d->n : 256, 1, INT_MAX);
    float noise = (float)cwb_opts_num(&o, "noise", 0.0);
    float pair_noise = (float)cwb_opts_num(&o, "pair_noise", 0.0);
    uint64_t seed = (uint64_t)cwb_opts_int(&o, "seed", (lua_Integer)cwb_lua_seed());
    lsampler *s = cwb_lua_newobject(L, sizeof *s, 1, SAMPLER_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    s->batch = batch;
    s->n = d->n;
    s->s = cwb_sampler_new(d, batch, noise, pair_noise, seed);
    if (!s->s) return cwb_lua_engine_error(L, "sampler");
    s->idx = malloc((size_t)batch * sizeof(int));
    s->pos = malloc((size_t)batch * sizeof(int));
    s->w = malloc((size_t)batch * sizeof(float));
    if (!s->idx || !s->pos || !s->w) return luaL_error(L, "sampler: out of memory");
    return 1;
}

/* ---- dataset methods ----------------------------------------------------------- */

static int ds_x(lua_State *L) {
    const cwb_dataset *d = cwb_lua_checkdataset(L, 1);
    cwb_lua_pushtensor(L, d->x->data, d->x->rows, d->x->cols);
    return 1;
}

static int ds_z(lua_State *L) {
    const cwb_dataset *d = cwb_lua_checkdataset(L, 1);
    cwb_lua_pushtensor(L, d->z->data, d->z->rows, d->z->cols);
    return 1;
}

static int ds_labels(lua_State *L) {
    const cwb_dataset *d = cwb_lua_checkdataset(L, 1);
    cwb_lua_pushints(L, d->labels, d->n, 1);
    return 1;
}

static int ds_size(lua_State *L) {
    lua_pushinteger(L, cwb_lua_checkdataset(L, 1)->n);
    return 1;
}

static int ds_dim(lua_State *L) {
    lua_pushinteger(L, cwb_lua_checkdataset(L, 1)->dim);
    return 1;
}

static int ds_clusters(lua_State *L) {
    lua_pushinteger(L, cwb_lua_checkdataset(L, 1)->clusters);
    return 1;
}

static int ds_gc(lua_State *L) {
    ldataset *ds = luaL_checkudata(L, 1, DATASET_MT);
    cwb_dataset_free(ds->d);
    ds->d = NULL;
    return 0;
}

static int ds_tostring(lua_State *L) {
    ldataset *ds = luaL_checkudata(L, 1, DATASET_MT);
    if (!ds->d) lua_pushliteral(L, "dataset (freed)");
    else
        lua_pushfstring(L, "dataset n=%d dim=%d clusters=%d", ds->d->n, ds->d->dim,
                        ds->d->clusters);
    return 1;
}

/* ---- sampler methods ----------------------------------------------------------- */

static int sm_next(lua_State *L) {
    lsampler *s = luaL_checkudata(L, 1, SAMPLER_MT);
    if (!s->s) return luaL_argerror(L, 1, "sampler was freed");
    if (cwb_sampler_next(s->s, s->idx, s->pos, s->w) != CWB_OK)
        return cwb_lua_engine_error(L, "sampler:next");
    cwb_lua_pushints(L, s->idx, s->batch, 1);
    cwb_lua_pushints(L, s->pos, s->batch, 1);
    lua_createtable(L, s->batch, 0);
    for (int i = 0; i < s->batch; i++) {
        lua_pushnumber(L, s->w[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 3;
}

static int sm_batch(lua_State *L) {
    lsampler *s = luaL_checkudata(L, 1, SAMPLER_MT);
    lua_pushinteger(L, s->batch);
    return 1;
}

static int sm_gc(lua_State *L) {
    lsampler *s = luaL_checkudata(L, 1, SAMPLER_MT);
    cwb_sampler_free(s->s);
    free(s->idx);
    free(s->pos);
    free(s->w);
    memset(s, 0, sizeof *s);
    return 0;
}

static int sm_tostring(lua_State *L) {
    lsampler *s = luaL_checkudata(L, 1, SAMPLER_MT);
    lua_pushfstring(L, "sampler batch=%d of n=%d", s->batch, s->n);
    return 1;
}

static const luaL_Reg fns[] = {
    {"synth", d_synth}, {"augment", d_augment}, {"sampler", d_sampler}, {NULL, NULL}};
static const cwb_lua_doc docs[] = {
    {"synth", "cwb.data.synth{n=2048, clusters=16, latent_dim=16, dim=64, spread=0.5, "
              "obs_noise=0.1, nonlinear=true, seed=} -> dataset: clustered synthetic data "
              "(docs/data.md)"},
    {"augment", "cwb.data.augment(x, {jitter=0.1, mask=0.1, flip=0, scale=0.2} [, rng|seed]) "
                "-> tensor: an augmented copy of the rows of x"},
    {"sampler", "cwb.data.sampler(ds, {batch=256, noise=0, pair_noise=0, seed=}) -> sampler: "
                "batches without repeats; noise skews them towards one cluster"},
    {NULL, NULL}};

static const luaL_Reg ds_methods[] = {{"x", ds_x},       {"z", ds_z},
                                      {"labels", ds_labels}, {"size", ds_size},
                                      {"dim", ds_dim},   {"clusters", ds_clusters},
                                      {NULL, NULL}};
static const cwb_lua_doc ds_docs[] = {
    {"x", "ds:x() -> tensor: the n x dim observations (a copy)"},
    {"z", "ds:z() -> tensor: the n x latent_dim latent points (a copy)"},
    {"labels", "ds:labels() -> table: cluster label of each sample, 1..clusters"},
    {"size", "ds:size() -> integer: number of samples (also #ds)"},
    {"dim", "ds:dim() -> integer: observed dimension"},
    {"clusters", "ds:clusters() -> integer: number of clusters"},
    {NULL, NULL}};
static const luaL_Reg ds_meta[] = {
    {"__gc", ds_gc}, {"__tostring", ds_tostring}, {"__len", ds_size}, {NULL, NULL}};

static const luaL_Reg sm_methods[] = {{"next", sm_next}, {"batch", sm_batch}, {NULL, NULL}};
static const cwb_lua_doc sm_docs[] = {
    {"next", "s:next() -> idx, pos, weights: a batch's anchor indices (1-based), their "
             "positives' indices and importance weights (tables)"},
    {"batch", "s:batch() -> integer: the batch size"},
    {NULL, NULL}};
static const luaL_Reg sm_meta[] = {{"__gc", sm_gc}, {"__tostring", sm_tostring}, {NULL, NULL}};

int cwb_lua_open_data(lua_State *L) {
    cwb_lua_newclass(L, DATASET_MT, "dataset methods", "dataset: synthetic samples and labels",
                     ds_methods, ds_docs, ds_meta);
    cwb_lua_newclass(L, SAMPLER_MT, "sampler methods", "sampler: draws batches of indices",
                     sm_methods, sm_docs, sm_meta);
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "synthetic data, augmentations and batch samplers");
    return 1;
}
