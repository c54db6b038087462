/*
 * lmetrics.c - cwb.metrics, cwb.pca and cwb.tsne: evaluation of embeddings
 * and their 2-D projections (docs/methods.md, "Metrics"), and the two
 * probes of the SimCLR protocol (weighted kNN, linear probe; knn.h,
 * linprobe.h).  Inputs are taken as given: normalise rows first
 * (t:normalize_rows()) where the metric assumes unit vectors.  Class labels
 * are tables of integers from 1, as ds:labels() gives them.
 */
#include "lua/lbind.h"
#include "engine/core/error.h"
#include "engine/eval/knn.h"
#include "engine/eval/linprobe.h"
#include "engine/eval/metrics.h"
#include "engine/eval/project.h"
#include "engine/eval/tsne.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

/* a and b at args 1, 2 with the same shape. */
static void check_pair(lua_State *L, cwb_tensor **a, cwb_tensor **b) {
    *a = cwb_lua_checktensor(L, 1);
    *b = cwb_lua_checktensor(L, 2);
    if ((*a)->rows != (*b)->rows || (*a)->cols != (*b)->cols)
        luaL_argerror(L, 2, lua_pushfstring(L, "b is %dx%d, a is %dx%d", (*b)->rows, (*b)->cols,
                                            (*a)->rows, (*a)->cols));
}

static int check_chunk(lua_State *L, int arg) {
    lua_Integer c = luaL_optinteger(L, arg, 0);
    if (c < 0 || c > INT_MAX) luaL_argerror(L, arg, "chunk must be >= 0");
    return (int)c;
}

static int m_alignment(lua_State *L) {
    cwb_tensor *a, *b;
    check_pair(L, &a, &b);
    lua_pushnumber(L, cwb_alignment(a->data, b->data, a->rows, a->cols));
    return 1;
}

static int m_uniformity(lua_State *L) {
    cwb_tensor *x = cwb_lua_checktensor(L, 1);
    if (x->rows < 2) return luaL_argerror(L, 1, "need at least 2 rows");
    lua_pushnumber(L, cwb_uniformity(x->data, x->rows, x->cols, check_chunk(L, 2)));
    return 1;
}

static int m_collapse_std(lua_State *L) {
    cwb_tensor *x = cwb_lua_checktensor(L, 1);
    lua_pushnumber(L, cwb_collapse_std(x->data, x->rows, x->cols));
    return 1;
}

static int m_gap_centroid(lua_State *L) {
    cwb_tensor *a, *b;
    check_pair(L, &a, &b);
    lua_pushnumber(L, cwb_gap_centroid(a->data, b->data, a->rows, a->cols));
    return 1;
}

static int m_gap_paired(lua_State *L) {
    cwb_tensor *a, *b;
    check_pair(L, &a, &b);
    lua_pushnumber(L, cwb_gap_paired(a->data, b->data, a->rows, a->cols));
    return 1;
}

static int m_top1(lua_State *L) {
    cwb_tensor *a, *b;
    check_pair(L, &a, &b);
    double acc;
    if (cwb_top1(a->data, b->data, a->rows, a->cols, check_chunk(L, 3), &acc) != CWB_OK)
        return cwb_lua_engine_error(L, "top1");
    lua_pushnumber(L, acc);
    return 1;
}

/* recall(a, b [, ks]) -> table indexed by K (default {1, 5, 10}). */
static int m_recall(lua_State *L) {
    cwb_tensor *a, *b;
    check_pair(L, &a, &b);
    int chunk = check_chunk(L, 4); /* before anything is pushed above the arguments */
    int def[3] = {1, 5, 10}, nk = 3;
    int *ks = def;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_Integer n = luaL_len(L, 3);
        if (n < 1 || n > 64) return luaL_argerror(L, 3, "1..64 values of K expected");
        ks = lua_newuserdatauv(L, (size_t)n * sizeof(int), 0);
        nk = (int)n;
        for (int i = 0; i < nk; i++) {
            int isint = 0;
            lua_geti(L, 3, i + 1);
            lua_Integer v = lua_tointegerx(L, -1, &isint);
            if (!isint || v < 1 || v > INT_MAX)
                return luaL_argerror(L, 3, lua_pushfstring(L, "K[%d] must be a positive integer",
                                                           i + 1));
            ks[i] = (int)v;
            lua_pop(L, 1);
        }
    }
    double *out = lua_newuserdatauv(L, (size_t)nk * sizeof(double), 0);
    if (cwb_recall_at(a->data, b->data, a->rows, a->cols, chunk, ks, nk, out) !=
        CWB_OK)
        return cwb_lua_engine_error(L, "recall");
    lua_createtable(L, 0, nk);
    for (int i = 0; i < nk; i++) {
        lua_pushnumber(L, out[i]);
        lua_rawseti(L, -2, ks[i]);
    }
    return 1;
}

static int m_population_loss(lua_State *L) {
    cwb_tensor *a, *b;
    check_pair(L, &a, &b);
    double scale = luaL_checknumber(L, 3);
    double loss, d1, d2;
    if (cwb_population_loss(a->data, b->data, a->rows, a->cols, scale, check_chunk(L, 4), &loss,
                            &d1, &d2) != CWB_OK)
        return cwb_lua_engine_error(L, "population_loss");
    lua_pushnumber(L, loss);
    lua_pushnumber(L, d1);
    lua_pushnumber(L, d2);
    return 3;
}

static int m_pca(lua_State *L) {
    cwb_tensor *x = cwb_lua_checktensor(L, 1);
    if (x->rows < 2) return luaL_argerror(L, 1, "need at least 2 rows");
    cwb_tensor *out = cwb_lua_newtensor(L, x->rows, 2);
    float explained[2] = {0, 0};
    if (cwb_pca2(x->data, x->rows, x->cols, out->data, explained) != CWB_OK)
        return cwb_lua_engine_error(L, "pca");
    lua_createtable(L, 2, 0);
    lua_pushnumber(L, explained[0]);
    lua_rawseti(L, -2, 1);
    lua_pushnumber(L, explained[1]);
    lua_rawseti(L, -2, 2);
    return 2;
}

/* The engine cannot be interrupted by a Lua error (its workspace would
 * leak): Ctrl-C only sets a flag, which ends the descent at the next
 * iteration; the error is raised once the engine has cleaned up. */
static int tsne_interrupted(void *ctx, int it) {
    (void)ctx;
    (void)it;
    return cwb_lua_interrupted();
}

static const char *const tsne_keys[] = {"perplexity", "iterations", "lr", "init", NULL};

/* tsne(x [, {perplexity=, iterations=, lr=, init=}]) -> tensor n x 2, kl */
static int m_tsne(lua_State *L) {
    cwb_tensor *x = cwb_lua_checktensor(L, 1);
    if (x->rows < 4) return luaL_argerror(L, 1, "need at least 4 rows");
    if (x->rows > CWB_TSNE_MAX_N)
        return luaL_argerror(L, 1, lua_pushfstring(L, "%d rows, at most %d (exact t-SNE is O(n^2))", x->rows,
                                                   CWB_TSNE_MAX_N));
    cwb_opts o;
    cwb_opts_init(&o, L, 2, tsne_keys);
    cwb_tsne_cfg c;
    cwb_tsne_defaults(&c);
    c.perplexity = cwb_opts_num(&o, "perplexity", c.perplexity);
    if (!(c.perplexity > 0) || !isfinite(c.perplexity))
        cwb_opts_error(&o, "perplexity", "%f must be positive and finite", c.perplexity);
    c.iterations = (int)cwb_opts_range(&o, "iterations", c.iterations, 1, 1000000);
    c.learning_rate = cwb_opts_num(&o, "lr", 0);
    if (!(c.learning_rate >= 0) || !isfinite(c.learning_rate))
        cwb_opts_error(&o, "lr", "%f must be >= 0 and finite (0 = automatic)", c.learning_rate);
    int t = cwb_opts_get(&o, "init");
    if (t != LUA_TNIL) {
        cwb_tensor *init = cwb_lua_testtensor(L, -1);
        if (!init) cwb_opts_error(&o, "init", "cwb.tensor expected, got %s", luaL_typename(L, -1));
        if (init->rows != x->rows || init->cols != 2)
            cwb_opts_error(&o, "init", "%dx%d, need %dx2 (a previous layout of the same points)", init->rows,
                           init->cols, x->rows);
        c.init = init->data; /* kept alive by the options table */
        /* a warm start continues a layout: no exaggerated phase to undo it */
        c.exaggeration_iters = 0;
    }
    lua_pop(L, 1);
    c.stop = tsne_interrupted;
    cwb_tensor *out = cwb_lua_newtensor(L, x->rows, 2);
    cwb_tsne_info info;
    int rc = cwb_tsne(x->data, x->rows, x->cols, &c, out->data, &info, NULL, 0);
    if (cwb_lua_check_interrupt(L)) return luaL_error(L, "interrupted");
    if (rc != CWB_OK) return cwb_lua_engine_error(L, "tsne");
    lua_pushnumber(L, info.kl);
    return 2;
}

/* Labels at stack index idx for n rows: 0-based into a scratch array kept
 * on the stack; *K raised to the largest label. */
static int *check_labels(lua_State *L, int idx, int arg, int n, int *K, const char *what) {
    int *y = lua_newuserdatauv(L, (size_t)n * sizeof *y, 0);
    cwb_lua_checkindices(L, idx, arg, n, INT_MAX, y, what);
    for (int i = 0; i < n; i++)
        if (y[i] + 1 > *K) *K = y[i] + 1;
    return y;
}

/* Arguments 1 and 3 of a probe: training and test rows of one width; the
 * optional arguments padded, so scratch pushed later sits above them all. */
static void check_probe_rows(lua_State *L, cwb_tensor **tr, cwb_tensor **te) {
    lua_settop(L, 5);
    *tr = cwb_lua_checktensor(L, 1);
    *te = cwb_lua_checktensor(L, 3);
    if ((*te)->cols != (*tr)->cols)
        luaL_argerror(L, 3, lua_pushfstring(L, "test rows are %d wide, training rows %d",
                                            (*te)->cols, (*tr)->cols));
}

static const char *const knn_keys[] = {"k", "temperature", "leave_one_out", NULL};

/* knn(train, ytrain, test [, ytest [, opts]]) -> accuracy | nil, predictions */
static int m_knn(lua_State *L) {
    cwb_tensor *tr, *te;
    check_probe_rows(L, &tr, &te);
    cwb_opts o;
    cwb_opts_init(&o, L, 5, knn_keys);
    int knn = (int)cwb_opts_range(&o, "k", CWB_KNN_K, 1, INT_MAX);
    double temp = cwb_opts_num(&o, "temperature", CWB_KNN_TEMPERATURE);
    int loo = cwb_opts_bool(&o, "leave_one_out", 0);
    int K = 0;
    int *ytr = check_labels(L, 2, 2, tr->rows, &K, "ytrain");
    int *yte = lua_isnoneornil(L, 4) ? NULL : check_labels(L, 4, 4, te->rows, &K, "ytest");
    int *pred = lua_newuserdatauv(L, (size_t)te->rows * sizeof *pred, 0);
    double acc = 0;
    if (cwb_knn_weighted(tr->data, ytr, tr->rows, te->data, yte, te->rows, tr->cols, K, knn, temp,
                         loo, yte ? &acc : NULL, pred) != CWB_OK)
        return cwb_lua_engine_error(L, "knn");
    if (yte) lua_pushnumber(L, acc);
    else lua_pushnil(L);
    cwb_lua_pushints(L, pred, te->rows, 1);
    return 2;
}

static const char *const probe_keys[] = {"l2", "val_frac", "max_iter", "grad_tol", "rel_tol",
                                         "seed", NULL};

/* t[key] = v for the table on top. */
static void set_number(lua_State *L, const char *key, double v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, key);
}

static void push_fit(lua_State *L, const cwb_logreg_fit *f) {
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, f->iterations);
    lua_setfield(L, -2, "iterations");
    lua_pushboolean(L, f->converged);
    lua_setfield(L, -2, "converged");
    lua_pushstring(L, f->stop);
    lua_setfield(L, -2, "stop");
    set_number(L, "loss", f->loss);
    set_number(L, "grad_norm", f->grad_norm);
}

/* linear_probe(train, ytrain, test, ytest [, opts]) -> table */
static int m_linear_probe(lua_State *L) {
    cwb_tensor *tr, *te;
    check_probe_rows(L, &tr, &te);
    cwb_opts o;
    cwb_opts_init(&o, L, 5, probe_keys);
    cwb_linprobe_cfg c = cwb_linprobe_defaults();
    if (cwb_opts_get(&o, "l2") != LUA_TNIL) {
        if (!lua_istable(L, -1)) cwb_opts_error(&o, "l2", "table expected, got %s", luaL_typename(L, -1));
        lua_Integer n = luaL_len(L, -1);
        if (n < 1 || n > CWB_LINPROBE_MAX_L2)
            cwb_opts_error(&o, "l2", "%d candidates, need 1..%d", (int)n, CWB_LINPROBE_MAX_L2);
        c.n_l2 = (int)n;
        for (int i = 0; i < c.n_l2; i++) {
            lua_geti(L, -1, i + 1);
            if (!lua_isnumber(L, -1)) cwb_opts_error(&o, "l2", "entry %d: number expected", i + 1);
            c.l2[i] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    c.val_frac = cwb_opts_num(&o, "val_frac", c.val_frac);
    c.max_iter = (int)cwb_opts_range(&o, "max_iter", c.max_iter, 1, INT_MAX);
    c.grad_tol = cwb_opts_num(&o, "grad_tol", c.grad_tol);
    c.rel_tol = cwb_opts_num(&o, "rel_tol", c.rel_tol);
    c.seed = (uint64_t)cwb_opts_int(&o, "seed", (lua_Integer)cwb_lua_seed());
    int K = 0;
    int *ytr = check_labels(L, 2, 2, tr->rows, &K, "ytrain");
    int *yte = check_labels(L, 4, 4, te->rows, &K, "ytest");
    cwb_linprobe_result r;
    if (cwb_linprobe(&c, tr->data, ytr, tr->rows, te->data, yte, te->rows, tr->cols, K < 2 ? 2 : K,
                     &r) != CWB_OK)
        return cwb_lua_engine_error(L, "linear_probe");
    lua_createtable(L, 0, 10);
    set_number(L, "test_acc", r.test_acc);
    set_number(L, "train_acc", r.train_acc);
    set_number(L, "l2", r.l2);
    lua_pushinteger(L, r.n_fit);
    lua_setfield(L, -2, "n_fit");
    lua_pushinteger(L, r.n_val);
    lua_setfield(L, -2, "n_val");
    set_number(L, "seconds", r.seconds);
    push_fit(L, &r.fit);
    lua_setfield(L, -2, "fit");
    lua_createtable(L, r.n_l2, 0);
    for (int i = 0; i < r.n_l2; i++) {
        push_fit(L, &r.val_fit[i]);
        set_number(L, "l2", c.l2[i]);
        set_number(L, "val_acc", r.val_acc[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "candidates");
    return 1;
}

static const luaL_Reg fns[] = {{"alignment", m_alignment},
                               {"uniformity", m_uniformity},
                               {"collapse_std", m_collapse_std},
                               {"gap_centroid", m_gap_centroid},
                               {"gap_paired", m_gap_paired},
                               {"top1", m_top1},
                               {"recall", m_recall},
                               {"population_loss", m_population_loss},
                               {"pca", m_pca},
                               {"tsne", m_tsne},
                               {"knn", m_knn},
                               {"linear_probe", m_linear_probe},
                               {NULL, NULL}};
static const cwb_lua_doc docs[] = {
    {"alignment", "cwb.metrics.alignment(a, b) -> number: mean_i ||a_i - b_i||^2"},
    {"uniformity", "cwb.metrics.uniformity(x [, chunk]) -> number: log mean_{i<j} "
                   "exp(-2 ||x_i - x_j||^2)"},
    {"collapse_std", "cwb.metrics.collapse_std(x) -> number: mean per-dimension std (about "
                     "1/sqrt(k) when healthy, 0 when collapsed)"},
    {"gap_centroid", "cwb.metrics.gap_centroid(a, b) -> number: modality gap ||mean a - mean b||"},
    {"gap_paired", "cwb.metrics.gap_paired(a, b) -> number: mean_i ||a_i - b_i||"},
    {"top1", "cwb.metrics.top1(a, b [, chunk]) -> number: fraction of a_i whose nearest b_j "
             "(dot product) is b_i"},
    {"recall", "cwb.metrics.recall(a, b [, ks [, chunk]]) -> table: recall@K for K in ks "
               "(default {1, 5, 10}), indexed by K"},
    {"population_loss", "cwb.metrics.population_loss(a, b, scale [, chunk]) -> loss, d1, d2: "
                        "InfoNCE with all n-1 negatives at logit scale, and its derivatives"},
    {"pca", "cwb.pca(x) -> tensor, explained: x projected on its top two principal axes "
            "(n x 2), and the fraction of variance of each {e1, e2}"},
    {"tsne", "cwb.tsne(x [, {perplexity=30, iterations=1000, lr=0 (auto), init=}]) -> tensor, kl: exact "
             "t-SNE of x to n x 2 (PCA start, deterministic; init = a previous n x 2 layout to continue "
             "from), and the final KL(P||Q)"},
    {"knn", "cwb.metrics.knn(train, ytrain, test [, ytest [, {k=20, temperature=0.07, "
            "leave_one_out=false}]]) -> accuracy | nil, predictions: weighted cosine kNN, each of "
            "the k nearest training rows votes exp(s/temperature) (InstDisc); labels from 1"},
    {"linear_probe", "cwb.metrics.linear_probe(train, ytrain, test, ytest [, {l2={1e-1, ..., "
                     "1e-6}, val_frac=0.1, max_iter=500, grad_tol=1e-4, rel_tol=1e-6, seed=}]) -> "
                     "{test_acc, train_acc, l2, fit, candidates, n_fit, n_val, seconds}: "
                     "multinomial logistic regression on standardised features by L-BFGS, l2 "
                     "chosen on a validation split of the training rows"},
    {NULL, NULL}};

int cwb_lua_open_metrics(lua_State *L) {
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "evaluation of embeddings (alignment, uniformity, gap, retrieval, "
                          "kNN, linear probe)");
    return 1;
}
