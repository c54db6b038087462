/*
 * lmetrics.c - cwb.metrics, cwb.pca and cwb.tsne: evaluation of embeddings
 * and their 2-D projections (docs/methods.md, "Metrics").  Inputs are taken
 * as given: normalise rows first (t:normalize_rows()) where the metric
 * assumes unit vectors.
 */
#include "lua/lbind.h"
#include "engine/core/error.h"
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
    {NULL, NULL}};

int cwb_lua_open_metrics(lua_State *L) {
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "evaluation of embeddings (alignment, uniformity, gap, retrieval)");
    return 1;
}
