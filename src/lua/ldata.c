/*
 * ldata.c - cwb.data: synthetic data sets, Fashion-MNIST and IDX files,
 * augmentations, batch samplers.
 *
 * The generative model and the sampler's noise knobs are the engine's
 * (data.h, docs/data.md); the IDX reader and the Fashion-MNIST loader are
 * idx.h and fmnist.h.  Sample indices and cluster labels count from 1 in
 * Lua.  A sampler keeps its data set alive through a user value.
 */
#include "lua/lbind.h"
#include "engine/data/data.h"
#include "engine/data/fmnist.h"
#include "engine/data/idx.h"
#include "engine/data/image_augment.h"
#include "engine/core/error.h"

#include <math.h>

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

const char *const cwb_lua_imaug_keys[] = {"height",     "width",    "crop_pad", "crop_scale",
                                           "flip",       "brightness", "contrast", "noise",
                                           "erase",      "erase_area", "erase_ratio", NULL};

void cwb_lua_imaug_opts(cwb_opts *o, cwb_imaug_cfg *c) {
    c->height = (int)cwb_opts_range(o, "height", c->height, 1, INT_MAX);
    c->width = (int)cwb_opts_range(o, "width", c->width, 1, INT_MAX);
    c->crop_pad = (int)cwb_opts_range(o, "crop_pad", c->crop_pad, 0, INT_MAX);
    c->crop_scale = (float)cwb_opts_num(o, "crop_scale", c->crop_scale);
    c->flip = (float)cwb_opts_num(o, "flip", c->flip);
    c->brightness = (float)cwb_opts_num(o, "brightness", c->brightness);
    c->contrast = (float)cwb_opts_num(o, "contrast", c->contrast);
    c->noise = (float)cwb_opts_num(o, "noise", c->noise);
    c->erase = (float)cwb_opts_num(o, "erase", c->erase);
    c->erase_ratio = (float)cwb_opts_num(o, "erase_ratio", c->erase_ratio);
    int t = cwb_opts_get(o, "erase_area");
    if (t == LUA_TTABLE) {
        lua_geti(o->L, -1, 1);
        lua_geti(o->L, -2, 2);
        if (!lua_isnumber(o->L, -2) || !lua_isnumber(o->L, -1))
            cwb_opts_error(o, "erase_area", "{min, max} expected");
        c->erase_min = (float)lua_tonumber(o->L, -2);
        c->erase_max = (float)lua_tonumber(o->L, -1);
        lua_pop(o->L, 2);
    } else if (t != LUA_TNIL)
        cwb_opts_error(o, "erase_area", "table expected, got %s", luaL_typename(o->L, -1));
    lua_pop(o->L, 1);
}

/* cwb.data.image_augment(x [, opts [, rng|seed]]): square rows by default. */
static int d_image_augment(lua_State *L) {
    cwb_tensor *x = cwb_lua_checktensor(L, 1);
    cwb_opts o;
    cwb_opts_init(&o, L, 2, cwb_lua_imaug_keys);
    int side = (int)floor(sqrt((double)x->cols) + 0.5);
    if (side * side != x->cols && !cwb_opts_has(&o, "height"))
        return cwb_opts_error(&o, "height", "rows of %d values are not square images: give "
                              "height= and width=", x->cols);
    cwb_imaug_cfg c = cwb_imaug_defaults(side, side);
    cwb_lua_imaug_opts(&o, &c);
    if (!cwb_opts_has(&o, "width")) c.width = x->cols / c.height;
    if ((long)c.height * c.width != x->cols)
        return cwb_opts_error(&o, "height", "%d x %d images do not match rows of %d values",
                              c.height, c.width, x->cols);
    cwb_rng tmp;
    cwb_rng *r = cwb_lua_torng(L, 3, &tmp, CWB_STREAM_AUG);
    cwb_imaug *a = cwb_imaug_new(&c);
    if (!a) return cwb_lua_engine_error(L, "image_augment");
    cwb_tensor *out = cwb_lua_newtensor(L, x->rows, x->cols);
    int st = cwb_imaug_apply(a, x->data, out->data, x->rows, r);
    cwb_imaug_free(a);
    if (st != CWB_OK) return cwb_lua_engine_error(L, "image_augment");
    return 1;
}

/* cwb.data.idx(path) -> tensor, info */
static int d_idx(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    cwb_idx *f = cwb_idx_read(path);
    if (!f) return luaL_error(L, "%s", cwb_errmsg());
    cwb_lua_pushtensor(L, f->x->data, f->x->rows, f->x->cols);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, cwb_idx_type_name(f->type));
    lua_setfield(L, -2, "type");
    lua_createtable(L, f->rank, 0);
    for (int i = 0; i < f->rank; i++) {
        lua_pushinteger(L, (lua_Integer)f->dims[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "dims");
    if (f->labels) {
        cwb_lua_pushints(L, f->labels, f->x->rows, 0);
        lua_setfield(L, -2, "labels");
    }
    cwb_idx_free(f);
    return 2;
}

static const char *const fmnist_keys[] = {"dir", "split", "n", "subset", "seed", NULL};

/* The folder: dir=, else $CWB_DATA (cwb --data-dir sets it), else Debian's. */
static int d_fashion_mnist(lua_State *L) {
    cwb_opts o;
    cwb_opts_init(&o, L, 1, fmnist_keys);
    cwb_fmnist_cfg c = cwb_fmnist_defaults();
    const char *env = getenv("CWB_DATA");
    c.dir = cwb_opts_str(&o, "dir", env && *env ? env : CWB_FMNIST_DIR);
    const char *split = cwb_opts_str(&o, "split", "train");
    if (strcmp(split, "train") == 0) c.split = CWB_FMNIST_TRAIN;
    else if (strcmp(split, "test") == 0) c.split = CWB_FMNIST_TEST;
    else cwb_opts_error(&o, "split", "'%s' is neither \"train\" nor \"test\"", split);
    c.n = (int)cwb_opts_range(&o, "n", 0, 0, INT_MAX);
    const char *subset = cwb_opts_str(&o, "subset", "first");
    if (strcmp(subset, "random") == 0) c.random_subset = 1;
    else if (strcmp(subset, "first") != 0)
        cwb_opts_error(&o, "subset", "'%s' is neither \"first\" nor \"random\"", subset);
    c.seed = (uint64_t)cwb_opts_int(&o, "seed", (lua_Integer)cwb_lua_seed());
    char pi[4096], pl[4096];
    if (cwb_fmnist_find(c.dir, c.split, pi, pl, sizeof pi) != CWB_OK)
        return luaL_error(L, "%s (dir=, cwb --data-dir DIR or CWB_DATA)", cwb_errmsg());
    ldataset *ds = cwb_lua_newobject(L, sizeof *ds, 0, DATASET_MT);
    ds->d = cwb_fmnist_load(&c);
    if (!ds->d) return luaL_error(L, "%s", cwb_errmsg());
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
    if (!d->z) return 0;   /* real data has no latent points */
    cwb_lua_pushtensor(L, d->z->data, d->z->rows, d->z->cols);
    return 1;
}

static int ds_class_names(lua_State *L) {
    const cwb_dataset *d = cwb_lua_checkdataset(L, 1);
    if (!d->class_names) return 0;
    lua_createtable(L, d->clusters, 0);
    for (int k = 0; k < d->clusters; k++) {
        lua_pushstring(L, d->class_names[k]);
        lua_rawseti(L, -2, k + 1);
    }
    return 1;
}

static int ds_image_size(lua_State *L) {
    const cwb_dataset *d = cwb_lua_checkdataset(L, 1);
    if (!d->height) return 0;
    lua_pushinteger(L, d->height);
    lua_pushinteger(L, d->width);
    return 2;
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
    if (cwb_lua_freed(L, ds->d, "dataset")) return 1;
    if (ds->d->height)
        lua_pushfstring(L, "dataset n=%d dim=%d (%dx%d images) classes=%d", ds->d->n, ds->d->dim,
                        ds->d->height, ds->d->width, ds->d->clusters);
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

static const luaL_Reg fns[] = {{"synth", d_synth},
                               {"fashion_mnist", d_fashion_mnist},
                               {"idx", d_idx},
                               {"augment", d_augment},
                               {"image_augment", d_image_augment},
                               {"sampler", d_sampler},
                               {NULL, NULL}};
static const cwb_lua_doc docs[] = {
    {"synth", "cwb.data.synth{n=2048, clusters=16, latent_dim=16, dim=64, spread=0.5, "
              "obs_noise=0.1, nonlinear=true, seed=} -> dataset: clustered synthetic data "
              "(docs/data.md)"},
    {"fashion_mnist", "cwb.data.fashion_mnist{dir=$CWB_DATA or " CWB_FMNIST_DIR ", "
                      "split=\"train\"|\"test\", n=0 (all), subset=\"first\"|\"random\", seed=} "
                      "-> dataset: 28x28 images as rows of 784 pixels in [0, 1] (byte/255), "
                      "10 classes (ds:class_names()); Debian package " CWB_FMNIST_PACKAGE},
    {"idx", "cwb.data.idx(path) -> tensor, {type=, dims=, labels=}: any IDX file, plain or .gz; "
            "rows = first size, columns = the product of the others, values as stored; "
            "labels (rank-1 integer files) are the stored values"},
    {"augment", "cwb.data.augment(x, {jitter=0.1, mask=0.1, flip=0, scale=0.2} [, rng|seed]) "
                "-> tensor: an augmented copy of the rows of x"},
    {"image_augment", "cwb.data.image_augment(x [, {height=, width= (default: square rows), "
                      "crop_pad=0, crop_scale=0.25, flip=0.5, brightness=0.4, contrast=0.4, "
                      "noise=0, erase=0, erase_area={0.02, 0.33}, erase_ratio=3.3} [, rng|seed]]) "
                      "-> tensor: an augmented view of each image row (docs/data.md)"},
    {"sampler", "cwb.data.sampler(ds, {batch=256, noise=0, pair_noise=0, seed=}) -> sampler: "
                "batches without repeats; noise skews them towards one cluster"},
    {NULL, NULL}};

static const luaL_Reg ds_methods[] = {{"x", ds_x},
                                      {"z", ds_z},
                                      {"labels", ds_labels},
                                      {"size", ds_size},
                                      {"dim", ds_dim},
                                      {"clusters", ds_clusters},
                                      {"class_names", ds_class_names},
                                      {"image_size", ds_image_size},
                                      {NULL, NULL}};
static const cwb_lua_doc ds_docs[] = {
    {"x", "ds:x() -> tensor: the n x dim observations (a copy)"},
    {"z", "ds:z() -> tensor | nil: the n x latent_dim latent points (a copy; nil for real data)"},
    {"class_names", "ds:class_names() -> table | nil: the name of each class, in label order"},
    {"image_size", "ds:image_size() -> height, width | nil: the image shape of image data"},
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
    cwb_lua_newclass(L, DATASET_MT, "dataset methods", "dataset: samples (synthetic or real) and labels",
                     ds_methods, ds_docs, ds_meta);
    cwb_lua_newclass(L, SAMPLER_MT, "sampler methods", "sampler: draws batches of indices",
                     sm_methods, sm_docs, sm_meta);
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "synthetic data, Fashion-MNIST, IDX files, augmentations and batch samplers");
    return 1;
}
