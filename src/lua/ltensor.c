/*
 * ltensor.c - cwb.tensor: row-major float32 matrices for recipes.
 *
 * A tensor is a userdata holding a cwb_tensor whose storage comes from
 * cwb_alloc (64-byte aligned, as the engine expects) and is released by
 * __gc.  Every operation returns a new tensor except set/fill, so a value
 * handed to the engine is never changed behind a recipe's back.  Rows and
 * columns count from 1.
 */
#include "lua/lbind.h"
#include "engine/data/data.h"
#include "engine/nn/layers.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Largest tensor the binding creates: the engine indexes with int strides. */
#define MAX_ELEMS ((lua_Integer)1 << 31)

cwb_tensor *cwb_lua_testtensor(lua_State *L, int arg) {
    return luaL_testudata(L, arg, CWB_TENSOR_MT);
}

cwb_tensor *cwb_lua_checktensor(lua_State *L, int arg) {
    cwb_tensor *t = luaL_checkudata(L, arg, CWB_TENSOR_MT);
    if (!t->data) luaL_argerror(L, arg, "tensor has no storage");
    return t;
}

cwb_tensor *cwb_lua_newtensor(lua_State *L, int rows, int cols) {
    if (rows < 1 || cols < 1)
        luaL_error(L, "tensor shape %dx%d: both sizes must be positive", rows, cols);
    if ((lua_Integer)rows * cols > MAX_ELEMS)
        luaL_error(L, "tensor shape %dx%d is too large", rows, cols);
    cwb_tensor *t = cwb_lua_newobject(L, sizeof *t, 0, CWB_TENSOR_MT);
    /* storage after the metatable: if it fails, __gc sees data == NULL */
    t->data = cwb_alloc((size_t)rows * (size_t)cols);
    if (!t->data) luaL_error(L, "tensor %dx%d: out of memory", rows, cols);
    t->rows = rows;
    t->cols = cols;
    return t;
}

cwb_tensor *cwb_lua_pushtensor(lua_State *L, const float *data, int rows, int cols) {
    cwb_tensor *t = cwb_lua_newtensor(L, rows, cols);
    memcpy(t->data, data, cwb_tensor_size(t) * sizeof(float));
    return t;
}

static int check_size(lua_State *L, int arg, const char *what) {
    lua_Integer v = luaL_checkinteger(L, arg);
    if (v < 1 || v > INT_MAX)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be positive, got %I", what, v));
    return (int)v;
}

/* 1-based row index -> 0-based, checked. */
static int check_row(lua_State *L, int arg, const cwb_tensor *t) {
    lua_Integer i = luaL_checkinteger(L, arg);
    if (i < 1 || i > t->rows)
        luaL_argerror(L, arg, lua_pushfstring(L, "row %I out of range 1..%d", i, t->rows));
    return (int)i - 1;
}

static int check_col(lua_State *L, int arg, const cwb_tensor *t) {
    lua_Integer j = luaL_checkinteger(L, arg);
    if (j < 1 || j > t->cols)
        luaL_argerror(L, arg, lua_pushfstring(L, "column %I out of range 1..%d", j, t->cols));
    return (int)j - 1;
}

/* ---- constructors ---------------------------------------------------------- */

static int t_new(lua_State *L) {
    int r = check_size(L, 1, "rows"), c = check_size(L, 2, "cols");
    float fill = (float)luaL_optnumber(L, 3, 0.0);
    cwb_tensor *t = cwb_lua_newtensor(L, r, c);
    if (fill != 0.0f)
        for (size_t i = 0; i < cwb_tensor_size(t); i++) t->data[i] = fill;
    return 1;
}

static int t_zeros(lua_State *L) {
    cwb_lua_newtensor(L, check_size(L, 1, "rows"), check_size(L, 2, "cols"));
    return 1;
}

static int t_ones(lua_State *L) {
    cwb_tensor *t = cwb_lua_newtensor(L, check_size(L, 1, "rows"), check_size(L, 2, "cols"));
    for (size_t i = 0; i < cwb_tensor_size(t); i++) t->data[i] = 1.0f;
    return 1;
}

static int t_eye(lua_State *L) {
    int n = check_size(L, 1, "n");
    cwb_tensor *t = cwb_lua_newtensor(L, n, n);
    for (int i = 0; i < n; i++) t->data[(size_t)i * n + i] = 1.0f;
    return 1;
}

static int t_randn(lua_State *L) {
    int r = check_size(L, 1, "rows"), c = check_size(L, 2, "cols");
    cwb_rng tmp;
    cwb_rng *g = cwb_lua_torng(L, 3, &tmp, CWB_STREAM_USER);
    cwb_tensor *t = cwb_lua_newtensor(L, r, c);
    cwb_rng_fill_normal(g, t->data, (long)cwb_tensor_size(t), 0.0f, 1.0f);
    return 1;
}

static float check_elem(lua_State *L, int arg, int idx, lua_Integer i, lua_Integer j) {
    int isnum = 0;
    lua_Number v = lua_tonumberx(L, idx, &isnum);
    if (!isnum) {
        if (j > 0)
            luaL_argerror(L, arg, lua_pushfstring(L, "element [%I][%I]: number expected, got %s",
                                                  i, j, luaL_typename(L, idx)));
        luaL_argerror(L, arg, lua_pushfstring(L, "element [%I]: number expected, got %s", i,
                                              luaL_typename(L, idx)));
    }
    return (float)v;
}

/* from({{1,2},{3,4}}) or from({1,2,3,4,5,6}, 2, 3) or from({1,2,3}) (1 x n). */
static int t_from(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 1);
    if (n < 1) luaL_argerror(L, 1, "empty table");
    int first = lua_geti(L, 1, 1);
    lua_pop(L, 1);
    if (first == LUA_TTABLE) {
        if (!lua_isnoneornil(L, 2)) luaL_argerror(L, 2, "no shape expected with a table of rows");
        lua_geti(L, 1, 1);
        lua_Integer c = luaL_len(L, -1);
        lua_pop(L, 1);
        if (c < 1) luaL_argerror(L, 1, "row 1 is empty");
        if (n > INT_MAX || c > INT_MAX) luaL_argerror(L, 1, "too many rows or columns");
        cwb_tensor *t = cwb_lua_newtensor(L, (int)n, (int)c);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_geti(L, 1, i) != LUA_TTABLE)
                luaL_argerror(L, 1, lua_pushfstring(L, "row %I: table expected, got %s", i,
                                                    luaL_typename(L, -1)));
            if (luaL_len(L, -1) != c)
                luaL_argerror(L, 1, lua_pushfstring(L, "row %I has %I values, row 1 has %I", i,
                                                    luaL_len(L, -1), c));
            for (lua_Integer j = 1; j <= c; j++) {
                lua_geti(L, -1, j);
                t->data[(i - 1) * c + (j - 1)] = check_elem(L, 1, -1, i, j);
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        return 1;
    }
    lua_Integer r = 1, c = n;
    if (!lua_isnoneornil(L, 2)) {
        r = check_size(L, 2, "rows");
        c = check_size(L, 3, "cols");
        if (r * c != n)
            luaL_argerror(L, 1, lua_pushfstring(L, "%I values do not fill a %Ix%I tensor", n, r, c));
    }
    if (c > INT_MAX) luaL_argerror(L, 1, "too many values");
    cwb_tensor *t = cwb_lua_newtensor(L, (int)r, (int)c);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        t->data[i - 1] = check_elem(L, 1, -1, i, 0);
        lua_pop(L, 1);
    }
    return 1;
}

/* vstack{a, b, ...} / hstack{a, b, ...} */
static int stack(lua_State *L, int vertical) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 1);
    if (n < 1) luaL_argerror(L, 1, "no tensors to stack");
    lua_Integer total = 0;
    int other = -1;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        cwb_tensor *t = cwb_lua_testtensor(L, -1);
        if (!t)
            luaL_argerror(L, 1, lua_pushfstring(L, "element %I: tensor expected, got %s", i,
                                                luaL_typename(L, -1)));
        int along = vertical ? t->rows : t->cols, across = vertical ? t->cols : t->rows;
        if (other < 0) other = across;
        else if (across != other)
            luaL_argerror(L, 1, lua_pushfstring(L, "element %I is %dx%d: %s must all be %d", i,
                                                t->rows, t->cols, vertical ? "cols" : "rows",
                                                other));
        total += along;
        lua_pop(L, 1);
    }
    if (total > INT_MAX) luaL_argerror(L, 1, "result too large");
    cwb_tensor *out = vertical ? cwb_lua_newtensor(L, (int)total, other)
                               : cwb_lua_newtensor(L, other, (int)total);
    int off = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        cwb_tensor *t = cwb_lua_testtensor(L, -1);
        if (vertical) {
            memcpy(out->data + (size_t)off * other, t->data, cwb_tensor_size(t) * sizeof(float));
            off += t->rows;
        } else {
            for (int r = 0; r < other; r++)
                memcpy(out->data + (size_t)r * total + off, t->data + (size_t)r * t->cols,
                       (size_t)t->cols * sizeof(float));
            off += t->cols;
        }
        lua_pop(L, 1);
    }
    return 1;
}
static int t_vstack(lua_State *L) { return stack(L, 1); }
static int t_hstack(lua_State *L) { return stack(L, 0); }

static int t_is(lua_State *L) {
    lua_pushboolean(L, cwb_lua_testtensor(L, 1) != NULL);
    return 1;
}

static int t_load_npy(lua_State *L) {
    cwb_npy_load(L, luaL_checkstring(L, 1));
    return 1;
}

/* ---- methods ---------------------------------------------------------------- */

static int m_shape(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    lua_pushinteger(L, t->rows);
    lua_pushinteger(L, t->cols);
    return 2;
}

static int m_rows(lua_State *L) {
    lua_pushinteger(L, cwb_lua_checktensor(L, 1)->rows);
    return 1;
}

static int m_cols(lua_State *L) {
    lua_pushinteger(L, cwb_lua_checktensor(L, 1)->cols);
    return 1;
}

/* get(i, j), or get(i) on a vector (one row or one column). */
static size_t elem_offset(lua_State *L, cwb_tensor *t) {
    if (lua_isnoneornil(L, 3) && (t->rows == 1 || t->cols == 1)) {
        lua_Integer i = luaL_checkinteger(L, 2);
        lua_Integer n = (lua_Integer)cwb_tensor_size(t);
        if (i < 1 || i > n)
            luaL_argerror(L, 2, lua_pushfstring(L, "index %I out of range 1..%I", i, n));
        return (size_t)(i - 1);
    }
    int i = check_row(L, 2, t), j = check_col(L, 3, t);
    return (size_t)i * t->cols + j;
}

static int m_get(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    lua_pushnumber(L, t->data[elem_offset(L, t)]);
    return 1;
}

/* set(i, j, v), or set(i, v) on a vector. */
static int m_set(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    int vector_form = (t->rows == 1 || t->cols == 1) && lua_gettop(L) == 3;
    int varg = vector_form ? 3 : 4;
    lua_Number v = luaL_checknumber(L, varg);
    size_t off;
    if (vector_form) {
        lua_pushnil(L); /* makes elem_offset see no column */
        lua_replace(L, 3);
        off = elem_offset(L, t);
    } else
        off = elem_offset(L, t);
    t->data[off] = (float)v;
    lua_settop(L, 1);
    return 1;
}

static int m_row(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    int i = check_row(L, 2, t);
    cwb_lua_pushtensor(L, t->data + (size_t)i * t->cols, 1, t->cols);
    return 1;
}

static int m_col(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    int j = check_col(L, 2, t);
    cwb_tensor *o = cwb_lua_newtensor(L, t->rows, 1);
    for (int i = 0; i < t->rows; i++) o->data[i] = t->data[(size_t)i * t->cols + j];
    return 1;
}

/* slice(r0 [, r1]): rows r0..r1 inclusive (r1 defaults to the last row). */
static int m_slice(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    int r0 = check_row(L, 2, t);
    int r1 = lua_isnoneornil(L, 3) ? t->rows - 1 : check_row(L, 3, t);
    if (r1 < r0)
        luaL_argerror(L, 3, lua_pushfstring(L, "last row %d is before first row %d", r1 + 1,
                                            r0 + 1));
    cwb_lua_pushtensor(L, t->data + (size_t)r0 * t->cols, r1 - r0 + 1, t->cols);
    return 1;
}

/* gather(idx): rows idx[1], idx[2], ... as a new tensor. */
static int m_gather(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 2);
    if (n < 1 || n > INT_MAX) luaL_argerror(L, 2, "empty index table");
    int *idx = lua_newuserdatauv(L, (size_t)n * sizeof(int), 0);
    cwb_lua_checkindices(L, 2, 2, (int)n, t->rows, idx, "idx");
    cwb_tensor *o = cwb_lua_newtensor(L, (int)n, t->cols);
    cwb_gather_rows(t, idx, (int)n, o->data);
    return 1;
}

static int m_copy(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    cwb_lua_pushtensor(L, t->data, t->rows, t->cols);
    return 1;
}

static int m_fill(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    float v = (float)luaL_checknumber(L, 2);
    for (size_t i = 0; i < cwb_tensor_size(t); i++) t->data[i] = v;
    lua_settop(L, 1);
    return 1;
}

static int m_totable(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    lua_createtable(L, t->rows, 0);
    for (int i = 0; i < t->rows; i++) {
        lua_createtable(L, t->cols, 0);
        for (int j = 0; j < t->cols; j++) {
            lua_pushnumber(L, t->data[(size_t)i * t->cols + j]);
            lua_rawseti(L, -2, j + 1);
        }
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_flat(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    size_t n = cwb_tensor_size(t);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushnumber(L, t->data[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int m_matmul(lua_State *L) {
    cwb_tensor *a = cwb_lua_checktensor(L, 1), *b = cwb_lua_checktensor(L, 2);
    if (a->cols != b->rows)
        luaL_argerror(L, 2, lua_pushfstring(L, "matmul of %dx%d by %dx%d: inner sizes differ",
                                            a->rows, a->cols, b->rows, b->cols));
    cwb_tensor *c = cwb_lua_newtensor(L, a->rows, b->cols);
    cwb_gemm(0, 0, a->rows, b->cols, a->cols, 1.0f, a->data, a->cols, b->data, b->cols, 0.0f,
             c->data, c->cols);
    return 1;
}

static int m_transpose(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    cwb_tensor *o = cwb_lua_newtensor(L, t->cols, t->rows);
    for (int i = 0; i < t->rows; i++)
        for (int j = 0; j < t->cols; j++)
            o->data[(size_t)j * t->rows + i] = t->data[(size_t)i * t->cols + j];
    return 1;
}

/* sum()/mean() over everything (a number), or along dim 1 (down the rows:
 * a 1 x cols tensor) or dim 2 (across the columns: a rows x 1 tensor).
 * Accumulated in double. */
static int reduce(lua_State *L, int mean) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    if (lua_isnoneornil(L, 2)) {
        double s = 0;
        size_t n = cwb_tensor_size(t);
        for (size_t i = 0; i < n; i++) s += t->data[i];
        lua_pushnumber(L, mean ? s / (double)n : s);
        return 1;
    }
    lua_Integer dim = luaL_checkinteger(L, 2);
    if (dim != 1 && dim != 2) luaL_argerror(L, 2, "dim must be 1 (rows) or 2 (columns)");
    if (dim == 1) {
        cwb_tensor *o = cwb_lua_newtensor(L, 1, t->cols);
        for (int j = 0; j < t->cols; j++) {
            double s = 0;
            for (int i = 0; i < t->rows; i++) s += t->data[(size_t)i * t->cols + j];
            o->data[j] = (float)(mean ? s / t->rows : s);
        }
    } else {
        cwb_tensor *o = cwb_lua_newtensor(L, t->rows, 1);
        for (int i = 0; i < t->rows; i++) {
            double s = 0;
            for (int j = 0; j < t->cols; j++) s += t->data[(size_t)i * t->cols + j];
            o->data[i] = (float)(mean ? s / t->cols : s);
        }
    }
    return 1;
}
static int m_sum(lua_State *L) { return reduce(L, 0); }
static int m_mean(lua_State *L) { return reduce(L, 1); }

static int m_norm(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    lua_pushnumber(L, sqrt(cwb_sumsq(t->data, cwb_tensor_size(t))));
    return 1;
}

static int m_rownorms(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    cwb_tensor *o = cwb_lua_newtensor(L, t->rows, 1);
    for (int i = 0; i < t->rows; i++)
        o->data[i] = (float)sqrt(cwb_sumsq(t->data + (size_t)i * t->cols, (size_t)t->cols));
    return 1;
}

static int m_normalize_rows(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    float *norms = lua_newuserdatauv(L, (size_t)t->rows * sizeof(float), 0);
    cwb_tensor *o = cwb_lua_newtensor(L, t->rows, t->cols);
    cwb_l2norm_forward(o->data, norms, t->data, t->rows, t->cols);
    return 1;
}

static int m_minmax(lua_State *L, int want_max) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    float m = t->data[0];
    for (size_t i = 1; i < cwb_tensor_size(t); i++)
        if (want_max ? t->data[i] > m : t->data[i] < m) m = t->data[i];
    lua_pushnumber(L, m);
    return 1;
}
static int m_max(lua_State *L) { return m_minmax(L, 1); }
static int m_min(lua_State *L) { return m_minmax(L, 0); }

static int m_save_npy(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    cwb_npy_save(L, t, luaL_checkstring(L, 2));
    lua_settop(L, 1);
    return 1;
}

/* save_csv(path [, header]): header is a table of column names or a string
 * written as the first line. */
static int m_save_csv(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    const char *path = luaL_checkstring(L, 2);
    luaL_Buffer b;
    int ht = lua_type(L, 3);
    if (ht != LUA_TNONE && ht != LUA_TNIL && ht != LUA_TTABLE && ht != LUA_TSTRING)
        luaL_typeerror(L, 3, "table or string");
    /* Build the header first: a Lua error later could leak the open file. */
    luaL_buffinit(L, &b);
    if (ht == LUA_TSTRING) {
        lua_pushvalue(L, 3);
        luaL_addvalue(&b);
        luaL_addchar(&b, '\n');
    } else if (ht == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, 3);
        if (n != t->cols)
            luaL_argerror(L, 3, lua_pushfstring(L, "%I column names for %d columns", n, t->cols));
        for (lua_Integer j = 1; j <= n; j++) {
            if (j > 1) luaL_addchar(&b, ',');
            if (lua_geti(L, 3, j) != LUA_TSTRING)
                luaL_argerror(L, 3, lua_pushfstring(L, "column name %I: string expected, got %s",
                                                    j, luaL_typename(L, -1)));
            luaL_addvalue(&b);
        }
        luaL_addchar(&b, '\n');
    }
    luaL_pushresult(&b);
    size_t hlen;
    const char *header = lua_tolstring(L, -1, &hlen);
    char err[512];
    cwb_atomic a;
    if (cwb_atomic_open(&a, path, err, sizeof err) != 0) return luaL_error(L, "%s", err);
    fwrite(header, 1, hlen, a.f);
    for (int i = 0; i < t->rows; i++) {
        for (int j = 0; j < t->cols; j++)
            fprintf(a.f, j ? ",%.9g" : "%.9g", (double)t->data[(size_t)i * t->cols + j]);
        fputc('\n', a.f);
    }
    if (cwb_atomic_commit(&a, err, sizeof err) != 0) return luaL_error(L, "%s", err);
    lua_settop(L, 1);
    return 1;
}

/* ---- metamethods ------------------------------------------------------------ */

static int mm_gc(lua_State *L) {
    cwb_tensor *t = luaL_checkudata(L, 1, CWB_TENSOR_MT);
    cwb_free(t->data);
    t->data = NULL;
    return 0;
}

static int mm_len(lua_State *L) {
    lua_pushinteger(L, cwb_lua_checktensor(L, 1)->rows);
    return 1;
}

static void add_num(luaL_Buffer *b, float v) {
    char s[32];
    snprintf(s, sizeof s, "%.6g", (double)v);
    luaL_addstring(b, s);
}

/* Small tensors show their values (handy in the REPL), large ones their shape. */
static int mm_tostring(lua_State *L) {
    cwb_tensor *t = luaL_checkudata(L, 1, CWB_TENSOR_MT);
    if (cwb_lua_freed(L, t->data, "tensor")) return 1;
    if (t->rows > 8 || t->cols > 8) {
        lua_pushfstring(L, "tensor %dx%d", t->rows, t->cols);
        return 1;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char head[48];
    snprintf(head, sizeof head, "tensor %dx%d {", t->rows, t->cols);
    luaL_addstring(&b, head);
    for (int i = 0; i < t->rows; i++) {
        luaL_addstring(&b, i ? ", {" : "{");
        for (int j = 0; j < t->cols; j++) {
            if (j) luaL_addstring(&b, ", ");
            add_num(&b, t->data[(size_t)i * t->cols + j]);
        }
        luaL_addchar(&b, '}');
    }
    luaL_addchar(&b, '}');
    luaL_pushresult(&b);
    return 1;
}

static int mm_eq(lua_State *L) {
    cwb_tensor *a = cwb_lua_testtensor(L, 1), *b = cwb_lua_testtensor(L, 2);
    /* compared as numbers: +0 == -0, NaN != NaN */
    int eq = a && b && a->data && b->data && a->rows == b->rows && a->cols == b->cols;
    for (size_t i = 0; eq && i < cwb_tensor_size(a); i++) eq = a->data[i] == b->data[i];
    lua_pushboolean(L, eq);
    return 1;
}

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV };

static float apply(int op, float x, float y) {
    switch (op) {
    case OP_ADD: return x + y;
    case OP_SUB: return x - y;
    case OP_MUL: return x * y;
    default: return x / y;
    }
}

/* Elementwise with 2-D broadcasting: each size must match or be 1, as in
 * NumPy; a number acts as a 1 x 1 tensor. */
static int arith(lua_State *L, int op) {
    static const char *const names[] = {"+", "-", "*", "/"};
    cwb_tensor *a = cwb_lua_testtensor(L, 1), *b = cwb_lua_testtensor(L, 2);
    float sa = 0, sb = 0;
    if (!a) {
        if (!lua_isnumber(L, 1))
            return luaL_error(L, "tensor %s: number or tensor expected, got %s", names[op],
                              luaL_typename(L, 1));
        sa = (float)lua_tonumber(L, 1);
    }
    if (!b) {
        if (!lua_isnumber(L, 2))
            return luaL_error(L, "tensor %s: number or tensor expected, got %s", names[op],
                              luaL_typename(L, 2));
        sb = (float)lua_tonumber(L, 2);
    }
    int ar = a ? a->rows : 1, ac = a ? a->cols : 1, br = b ? b->rows : 1, bc = b ? b->cols : 1;
    if ((ar != br && ar != 1 && br != 1) || (ac != bc && ac != 1 && bc != 1))
        return luaL_error(L, "tensor %s: shapes %dx%d and %dx%d do not match", names[op], ar, ac,
                          br, bc);
    int R = ar > br ? ar : br, C = ac > bc ? ac : bc;
    const float *pa = a ? a->data : &sa, *pb = b ? b->data : &sb;
    cwb_tensor *o = cwb_lua_newtensor(L, R, C);
    /* stride 0 repeats a size-1 axis */
    size_t ars = ar == 1 ? 0 : (size_t)ac, acs = ac == 1 ? 0 : 1;
    size_t brs = br == 1 ? 0 : (size_t)bc, bcs = bc == 1 ? 0 : 1;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++)
            o->data[(size_t)i * C + j] =
                apply(op, pa[i * ars + j * acs], pb[i * brs + j * bcs]);
    return 1;
}
static int mm_add(lua_State *L) { return arith(L, OP_ADD); }
static int mm_sub(lua_State *L) { return arith(L, OP_SUB); }
static int mm_mul(lua_State *L) { return arith(L, OP_MUL); }
static int mm_div(lua_State *L) { return arith(L, OP_DIV); }

static int mm_unm(lua_State *L) {
    cwb_tensor *t = cwb_lua_checktensor(L, 1);
    cwb_tensor *o = cwb_lua_newtensor(L, t->rows, t->cols);
    for (size_t i = 0; i < cwb_tensor_size(t); i++) o->data[i] = -t->data[i];
    return 1;
}

static const luaL_Reg fns[] = {
    {"new", t_new},       {"zeros", t_zeros},       {"ones", t_ones},     {"eye", t_eye},
    {"randn", t_randn},   {"from", t_from},         {"vstack", t_vstack}, {"hstack", t_hstack},
    {"is", t_is},         {"load_npy", t_load_npy}, {NULL, NULL}};

static const cwb_lua_doc docs[] = {
    {"new", "cwb.tensor.new(rows, cols [, fill]) -> tensor: a rows x cols float32 tensor "
            "filled with fill (default 0)"},
    {"zeros", "cwb.tensor.zeros(rows, cols) -> tensor: all zeros"},
    {"ones", "cwb.tensor.ones(rows, cols) -> tensor: all ones"},
    {"eye", "cwb.tensor.eye(n) -> tensor: the n x n identity"},
    {"randn", "cwb.tensor.randn(rows, cols [, rng|seed]) -> tensor: standard normal values "
              "(default: the session's stream, seeded by cwb.seed())"},
    {"from", "cwb.tensor.from(rows_table | flat_table [, rows, cols]) -> tensor: from "
             "{{1,2},{3,4}}, or a flat table and a shape ({1,2,3} alone is 1 x 3)"},
    {"vstack", "cwb.tensor.vstack{t1, t2, ...} -> tensor: rows of t1, then t2, ... (same cols)"},
    {"hstack", "cwb.tensor.hstack{t1, t2, ...} -> tensor: columns side by side (same rows)"},
    {"is", "cwb.tensor.is(x) -> boolean: whether x is a tensor"},
    {"load_npy", "cwb.tensor.load_npy(path) -> tensor: read a NumPy .npy file (v1/v2/v3 header, "
                 "'<f4', '<f8', '<f2' or integers up to 2^24 as float32, C order, 1-D as n x 1 "
                 "or 2-D)"},
    {NULL, NULL}};

static const luaL_Reg methods[] = {
    {"shape", m_shape},       {"rows", m_rows},
    {"cols", m_cols},         {"get", m_get},
    {"set", m_set},           {"row", m_row},
    {"col", m_col},           {"slice", m_slice},
    {"gather", m_gather},     {"copy", m_copy},
    {"fill", m_fill},         {"totable", m_totable},
    {"flat", m_flat},         {"matmul", m_matmul},
    {"transpose", m_transpose}, {"sum", m_sum},
    {"mean", m_mean},         {"norm", m_norm},
    {"rownorms", m_rownorms}, {"normalize_rows", m_normalize_rows},
    {"max", m_max},           {"min", m_min},
    {"save_npy", m_save_npy}, {"save_csv", m_save_csv},
    {NULL, NULL}};

static const cwb_lua_doc method_docs[] = {
    {"shape", "t:shape() -> rows, cols"},
    {"rows", "t:rows() -> integer: number of rows (also #t)"},
    {"cols", "t:cols() -> integer: number of columns"},
    {"get", "t:get(i, j) -> number: element at row i, column j (t:get(i) on a vector)"},
    {"set", "t:set(i, j, v) -> t: set one element in place (t:set(i, v) on a vector)"},
    {"row", "t:row(i) -> tensor: a 1 x cols copy of row i"},
    {"col", "t:col(j) -> tensor: a rows x 1 copy of column j"},
    {"slice", "t:slice(r0 [, r1]) -> tensor: a copy of rows r0..r1 inclusive"},
    {"gather", "t:gather(idx) -> tensor: a copy of rows idx[1], idx[2], ..."},
    {"copy", "t:copy() -> tensor: a deep copy"},
    {"fill", "t:fill(v) -> t: set every element to v in place"},
    {"totable", "t:totable() -> table: rows as tables of numbers"},
    {"flat", "t:flat() -> table: all values in row-major order"},
    {"matmul", "t:matmul(u) -> tensor: matrix product t u (through sgemm)"},
    {"transpose", "t:transpose() -> tensor: cols x rows copy"},
    {"sum", "t:sum([dim]) -> number | tensor: total, or sums down the rows (dim 1, 1 x cols) "
            "or across the columns (dim 2, rows x 1)"},
    {"mean", "t:mean([dim]) -> number | tensor: mean, as t:sum"},
    {"norm", "t:norm() -> number: Frobenius norm"},
    {"rownorms", "t:rownorms() -> tensor: rows x 1 Euclidean norms of the rows"},
    {"normalize_rows", "t:normalize_rows() -> tensor: rows scaled to unit L2 norm"},
    {"max", "t:max() -> number: largest element"},
    {"min", "t:min() -> number: smallest element"},
    {"save_npy", "t:save_npy(path) -> t: write a NumPy .npy file ('<f4', 2-D), atomically"},
    {"save_csv", "t:save_csv(path [, header]) -> t: write CSV (header: table of column names "
                 "or a string line), atomically"},
    {NULL, NULL}};

static const luaL_Reg meta[] = {
    {"__gc", mm_gc},   {"__len", mm_len}, {"__tostring", mm_tostring},
    {"__eq", mm_eq},   {"__add", mm_add},  {"__sub", mm_sub}, {"__mul", mm_mul},
    {"__div", mm_div}, {"__unm", mm_unm},  {NULL, NULL}};

int cwb_lua_open_tensor(lua_State *L) {
    cwb_lua_newclass(L, CWB_TENSOR_MT, "tensor methods",
                     "tensor: rows x cols float32, row-major; + - * / elementwise with "
                     "broadcasting, #t = rows, t1 == t2 compares values",
                     methods, method_docs, meta);
    cwb_lua_newlib(L, fns, docs);
    cwb_lua_setdoc(L, -1, "row-major float32 matrices (rows and columns count from 1)");
    return 1;
}
