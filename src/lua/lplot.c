/*
 * lplot.c - cwb.plot: figures for recipes, drawn by gnuplot (docs/plot.md).
 *
 *   local fig = cwb.plot.figure{terminal = "pngcairo", output = "out.png",
 *                               layout = {1, 2}, title = "..."}
 *   fig:panel{title = "theta / theta*", xlabel = "step", logy = true}
 *   fig:line(steps, ratio, {color = "red", title = "decomposable"})
 *   fig:hline(1.0, {label = "optimum"})
 *   fig:draw()
 *
 * A figure object is glue around the figure model (plot/figure.h), which
 * keeps the data, the palette and the datablocks (sent once, re-sent only
 * when a series changes: fig:update), plus its own gnuplot process.
 * Without gnuplot, draw() warns once on stderr and returns nil plus the
 * reason; the recipe goes on.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "lua/lbind.h"
#include "plot/figure.h"
#include "plot/gnuplot.h"
#include "plot/image_grid.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIGURE_MT "cwb.figure"

/* A figure object: the figure model (plot/figure.h) plus where it goes and
 * its own gnuplot. */
typedef struct {
    cwb_plot_term term;
    char *output;
    int width, height, ansi;
    cwb_figure fig;
    int cur;                /* current panel, -1 before the first */
    cwb_gnuplot *g;
    int closed;
} figure;

static int warned;   /* "gnuplot not found" is said once per process */

/* ---- small helpers ------------------------------------------------------------ */

static char *dupstr(lua_State *L, const char *s) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) luaL_error(L, "out of memory");
    return d;
}

static void replace_str(lua_State *L, char **slot, const char *s) {
    if (cwb_fig_set_str(slot, s)) luaL_error(L, "out of memory");
}

/* Colours go into gnuplot commands: names, "#rrggbb" or "#aarrggbb" only. */
static void check_color(cwb_opts *o, const char *key, const char *c, char *out, size_t len) {
    if (!cwb_fig_color_ok(c))
        cwb_opts_error(o, key, "'%s' is not a colour (a name such as \"red\" or \"#1f77b4\")", c);
    snprintf(out, len, "%s", c);
}

static figure *check_figure(lua_State *L, int arg) {
    figure *f = luaL_checkudata(L, arg, FIGURE_MT);
    if (f->closed) luaL_argerror(L, arg, "the figure is closed");
    return f;
}

static void free_figure(figure *f) {
    cwb_gnuplot_close(f->g);
    f->g = NULL;
    cwb_figure_free(&f->fig);
    free(f->output);
    f->output = NULL;
    f->closed = 1;
}

/* ---- reading numbers ------------------------------------------------------------ */

/* Length of the vector at arg (a table of numbers or a tensor), checking
 * every element so that copying afterwards cannot raise. */
static size_t check_vector(lua_State *L, int arg, const char *what) {
    cwb_tensor *t = cwb_lua_testtensor(L, arg);
    if (t) {
        if (t->rows != 1 && t->cols != 1)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s: a vector expected, got a %dx%d tensor",
                                                  what, t->rows, t->cols));
        return cwb_tensor_size(t);
    }
    if (lua_type(L, arg) != LUA_TTABLE) luaL_typeerror(L, arg, "table or tensor");
    lua_Integer n = luaL_len(L, arg);
    for (lua_Integer i = 1; i <= n; i++) {
        int t2 = lua_geti(L, arg, i);
        if (t2 != LUA_TNUMBER)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s[%d]: number expected, got %s", what,
                                                  (int)i, luaL_typename(L, -1)));
        lua_pop(L, 1);
    }
    return (size_t)n;
}

static void copy_vector(lua_State *L, int arg, double *out, size_t n) {
    cwb_tensor *t = cwb_lua_testtensor(L, arg);
    if (t) {
        for (size_t i = 0; i < n; i++) out[i] = t->data[i];
        return;
    }
    for (size_t i = 0; i < n; i++) {
        lua_geti(L, arg, (lua_Integer)i + 1);
        out[i] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
}

/* Option key as a pair {a, b} of finite numbers: -1 absent, 0 something
 * else, 1 read. */
static int read_pair(cwb_opts *o, const char *key, double *a, double *b) {
    lua_State *L = o->L;
    int t = cwb_opts_get(o, key), got = t == LUA_TNIL ? -1 : 0;
    if (t == LUA_TTABLE) {
        lua_geti(L, -1, 1);
        lua_geti(L, -2, 2);
        int ia = 0, ib = 0;
        *a = lua_tonumberx(L, -2, &ia);
        *b = lua_tonumberx(L, -1, &ib);
        lua_pop(L, 2);
        got = ia && ib && isfinite(*a) && isfinite(*b);
    }
    lua_pop(L, 1);
    return got;
}

/* ---- cwb.plot.figure -------------------------------------------------------------- */

static const char *const TERMS[] = {"pngcairo", "svg", "dumb", "window", "png", NULL};

static int f_figure(lua_State *L) {
    static const char *const keys[] = {"terminal", "output", "width", "height", "layout",
                                       "title", "ansi", NULL};
    cwb_opts o;
    cwb_opts_init(&o, L, 1, keys);
    const char *term = cwb_opts_str(&o, "terminal", "pngcairo");
    int k = 0;
    while (TERMS[k] && strcmp(TERMS[k], term) != 0) k++;
    if (!TERMS[k])
        cwb_opts_error(&o, "terminal", "'%s' is not one of pngcairo, svg, dumb, window", term);
    static const cwb_plot_term kinds[] = {CWB_PLOT_PNG, CWB_PLOT_SVG, CWB_PLOT_DUMB,
                                          CWB_PLOT_WINDOW, CWB_PLOT_PNG};
    cwb_plot_term kind = kinds[k];
    const char *output = cwb_opts_str(&o, "output", NULL);
    if ((kind == CWB_PLOT_PNG || kind == CWB_PLOT_SVG) && (!output || !*output))
        cwb_opts_error(&o, "output", "a %s figure needs an output file", term);
    int pixels = kind != CWB_PLOT_DUMB;
    lua_Integer w = cwb_opts_range(&o, "width", pixels ? 900 : 79, pixels ? 16 : 10,
                                   pixels ? 20000 : 1000);
    lua_Integer h = cwb_opts_range(&o, "height", pixels ? 600 : 24, pixels ? 16 : 10,
                                   pixels ? 20000 : 1000);
    int rows = 1, cols = 1;
    double r, c;
    int has = read_pair(&o, "layout", &r, &c);
    if (has >= 0) {
        if (!(has && r == floor(r) && c == floor(c) && r >= 1 && c >= 1 &&
              r * c <= CWB_FIG_MAX_PANELS))
            cwb_opts_error(&o, "layout", "{rows, cols} of positive integers expected "
                                         "(at most %d panels)", CWB_FIG_MAX_PANELS);
        rows = (int)r;
        cols = (int)c;
    }
    const char *title = cwb_opts_str(&o, "title", NULL);
    int ansi = cwb_opts_bool(&o, "ansi", 0);

    figure *f = cwb_lua_newobject(L, sizeof *f, 0, FIGURE_MT);
    f->term = kind;
    f->width = (int)w;
    f->height = (int)h;
    f->ansi = ansi;
    f->cur = -1;
    f->output = dupstr(L, output);
    if (cwb_figure_init(&f->fig, rows, cols) || cwb_fig_set_str(&f->fig.title, title))
        return luaL_error(L, "out of memory");
    return 1;
}

/* ---- panels ------------------------------------------------------------------------ */

static void read_range(cwb_opts *o, const char *key, int *has, double *lo, double *hi) {
    int got = read_pair(o, key, lo, hi);
    if (got < 0) return;
    if (!(got && *lo < *hi)) cwb_opts_error(o, key, "{lo, hi} with lo < hi expected");
    *has = 1;
}

/* Apply panel options at arg to p. */
static void panel_options(lua_State *L, cwb_fig_panel *p, int arg) {
    static const char *const keys[] = {"title", "xlabel", "ylabel", "logx", "logy", "xrange",
                                       "yrange", "key", NULL};
    cwb_opts o;
    cwb_opts_init(&o, L, arg, keys);
    if (cwb_opts_has(&o, "title")) replace_str(L, &p->title, cwb_opts_str(&o, "title", NULL));
    if (cwb_opts_has(&o, "xlabel")) replace_str(L, &p->xlabel, cwb_opts_str(&o, "xlabel", NULL));
    if (cwb_opts_has(&o, "ylabel")) replace_str(L, &p->ylabel, cwb_opts_str(&o, "ylabel", NULL));
    p->logx = cwb_opts_bool(&o, "logx", p->logx);
    p->logy = cwb_opts_bool(&o, "logy", p->logy);
    read_range(&o, "xrange", &p->has_xr, &p->xlo, &p->xhi);
    read_range(&o, "yrange", &p->has_yr, &p->ylo, &p->yhi);
    if (p->logx && p->has_xr && p->xlo <= 0) cwb_opts_error(&o, "xrange", "must be > 0 with logx");
    if (p->logy && p->has_yr && p->ylo <= 0) cwb_opts_error(&o, "yrange", "must be > 0 with logy");
    int kt = cwb_opts_get(&o, "key");
    if (kt == LUA_TBOOLEAN) {
        snprintf(p->key, sizeof p->key, "%s", lua_toboolean(L, -1) ? "" : "off");
    } else if (kt == LUA_TSTRING) {
        const char *k = lua_tostring(L, -1);
        if (!cwb_fig_key_ok(k))
            cwb_opts_error(&o, "key", "a position such as \"top left\", \"below\" or "
                                      "\"outside\" expected");
        snprintf(p->key, sizeof p->key, "%s", k);
    } else if (kt != LUA_TNIL) {
        cwb_opts_error(&o, "key", "boolean or position string expected, got %s",
                       luaL_typename(L, -1));
    }
    lua_pop(L, 1);
}

static int m_panel(lua_State *L) {
    figure *f = check_figure(L, 1);
    if (lua_isinteger(L, 2)) {   /* fig:panel(n [, opts]): select an existing panel */
        lua_Integer n = lua_tointeger(L, 2);
        luaL_argcheck(L, n >= 1 && n <= f->fig.np, 2,
                      lua_pushfstring(L, "panel %d does not exist (the figure has %d)", (int)n,
                                      f->fig.np));
        f->cur = (int)n - 1;
        if (!lua_isnoneornil(L, 3)) panel_options(L, &f->fig.p[f->cur], 3);
        lua_pushinteger(L, n);
        return 1;
    }
    cwb_fig_panel *p = cwb_figure_add_panel(&f->fig);
    if (!p)
        return luaL_error(L, "fig:panel: the %dx%d layout is full (%d panels)", f->fig.rows,
                          f->fig.cols, f->fig.np);
    f->cur = f->fig.np - 1;
    panel_options(L, p, 2);
    lua_pushinteger(L, f->fig.np);
    return 1;
}

static cwb_fig_panel *current_panel(lua_State *L, figure *f) {
    if (f->cur < 0) {   /* drawing before any fig:panel: a default one */
        if (!cwb_figure_add_panel(&f->fig)) luaL_error(L, "out of memory");
        f->cur = 0;
    }
    return &f->fig.p[f->cur];
}

/* ---- series -------------------------------------------------------------------------- */

/* Options of a series, read (and checked) before anything is allocated. */
typedef struct {
    char color[CWB_FIG_COLOR_MAX];
    int has_color, has_title, dash;
    double width, size;
    const char *title;      /* on the Lua stack, valid during the call */
} series_opts;

static void read_series_options(lua_State *L, int arg, const cwb_fig_series *old,
                                series_opts *so) {
    static const char *const keys[] = {"color", "width", "title", "dash", "size", NULL};
    cwb_opts o;
    cwb_opts_init(&o, L, arg, keys);
    memset(so, 0, sizeof *so);
    const char *c = cwb_opts_str(&o, "color", NULL);
    if (c) {
        check_color(&o, "color", c, so->color, sizeof so->color);
        so->has_color = 1;
    }
    so->width = cwb_opts_num(&o, "width", old && old->width > 0 ? old->width : 1.0);
    if (!(so->width > 0 && so->width <= 50)) cwb_opts_error(&o, "width", "must be in (0, 50]");
    so->size = cwb_opts_num(&o, "size", old && old->size > 0 ? old->size : 1.0);
    if (!(so->size > 0 && so->size <= 20)) cwb_opts_error(&o, "size", "must be in (0, 20]");
    so->dash = old ? old->dash : 0;
    int dt = cwb_opts_get(&o, "dash");
    if (dt == LUA_TBOOLEAN) so->dash = lua_toboolean(L, -1) ? 2 : 0;
    else if (dt == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 &&
             lua_tointeger(L, -1) <= 5)
        so->dash = (int)lua_tointeger(L, -1);
    else if (dt != LUA_TNIL)
        cwb_opts_error(&o, "dash", "boolean or a dash type 0..5 expected");
    lua_pop(L, 1);
    so->has_title = cwb_opts_has(&o, "title");
    if (so->has_title) so->title = cwb_opts_str(&o, "title", NULL);
}

static void apply_series_options(lua_State *L, cwb_fig_series *s, const series_opts *so) {
    if (so->has_color) snprintf(s->color, sizeof s->color, "%s", so->color);
    s->width = so->width;
    s->size = so->size;
    s->dash = so->dash;
    s->sent = 0;
    if (so->has_title) replace_str(L, &s->label, so->title);
}

/* Read xs (arg, may be nil: 1..n) and ys (arg + 1) into malloc'd *x, *y. */
static size_t read_data(lua_State *L, int arg, double **x, double **y) {
    size_t ny = check_vector(L, arg + 1, "ys");
    size_t nx = ny;
    if (!lua_isnil(L, arg)) {
        nx = check_vector(L, arg, "xs");
        if (nx != ny)
            luaL_argerror(L, arg + 1, lua_pushfstring(L, "ys has %d values but xs has %d",
                                                      (int)ny, (int)nx));
    }
    *x = malloc((ny ? ny : 1) * sizeof **x);
    *y = malloc((ny ? ny : 1) * sizeof **y);
    if (!*x || !*y) {
        free(*x);
        free(*y);
        luaL_error(L, "out of memory");
    }
    /* from here on nothing raises: the copies were checked above */
    if (lua_isnil(L, arg))
        for (size_t i = 0; i < ny; i++) (*x)[i] = (double)(i + 1);
    else
        copy_vector(L, arg, *x, nx);
    copy_vector(L, arg + 1, *y, ny);
    return ny;
}

static int add_series(lua_State *L, int points) {
    figure *f = check_figure(L, 1);
    cwb_fig_panel *p = current_panel(L, f);
    series_opts so;
    read_series_options(L, 4, NULL, &so);
    double *x, *y;
    size_t n = read_data(L, 2, &x, &y);
    cwb_fig_series *s = cwb_fig_add_series(p, x, y, n);
    free(x);
    free(y);
    if (!s) return luaL_error(L, "out of memory");
    s->points = points;
    apply_series_options(L, s, &so);
    /* a handle for fig:update: panel * 65536 + series, opaque to recipes */
    lua_pushinteger(L, (lua_Integer)f->cur * 65536 + p->ns);
    return 1;
}

static int m_line(lua_State *L) { return add_series(L, 0); }
static int m_points(lua_State *L) { return add_series(L, 1); }

static int m_update(lua_State *L) {
    figure *f = check_figure(L, 1);
    lua_Integer h = luaL_checkinteger(L, 2);
    lua_Integer pi = h / 65536, si = h % 65536 - 1;
    luaL_argcheck(L, pi >= 0 && pi < f->fig.np && si >= 0 && si < f->fig.p[pi].ns, 2,
                  "not a series of this figure (use the value fig:line returned)");
    cwb_fig_series *s = &f->fig.p[pi].s[si];
    series_opts so;
    int has_opts = !lua_isnoneornil(L, 5);
    if (has_opts) read_series_options(L, 5, s, &so);
    double *x, *y;
    size_t n = read_data(L, 3, &x, &y);
    int rc = cwb_fig_series_data(s, x, y, n);
    free(x);
    free(y);
    if (rc) return luaL_error(L, "out of memory");
    if (has_opts) apply_series_options(L, s, &so);
    return 0;
}

static int m_hline(lua_State *L) {
    figure *f = check_figure(L, 1);
    double y = luaL_checknumber(L, 2);
    luaL_argcheck(L, isfinite(y), 2, "a finite number expected");
    cwb_fig_panel *p = current_panel(L, f);
    static const char *const keys[] = {"label", "color", "dash", "width", NULL};
    cwb_opts o;
    cwb_opts_init(&o, L, 3, keys);
    char color[CWB_FIG_COLOR_MAX] = "";
    const char *c = cwb_opts_str(&o, "color", NULL);
    if (c) check_color(&o, "color", c, color, sizeof color);
    double width = cwb_opts_num(&o, "width", 1.0);
    if (!(width > 0 && width <= 50)) cwb_opts_error(&o, "width", "must be in (0, 50]");
    int dash = 2;
    int dt = cwb_opts_get(&o, "dash");
    if (dt == LUA_TBOOLEAN) dash = lua_toboolean(L, -1) ? 2 : 0;
    else if (dt != LUA_TNIL) cwb_opts_error(&o, "dash", "boolean expected");
    lua_pop(L, 1);
    const char *label = cwb_opts_str(&o, "label", NULL);
    cwb_fig_ref *r = cwb_fig_add_ref(p, 0, y, label);
    if (!r) return luaL_error(L, "out of memory");
    snprintf(r->color, sizeof r->color, "%s", color);
    r->width = width;
    r->dash = dash;
    return 0;
}

/* ---- drawing -------------------------------------------------------------------------- */

/* Open (or reopen after a crash) this figure's gnuplot.  0 plus a
 * message on the stack's top when it cannot. */
static int ensure_gnuplot(lua_State *L, figure *f) {
    if (f->g && cwb_gnuplot_dead(f->g)) {
        cwb_gnuplot_close(f->g);
        f->g = NULL;
        f->fig.sent_to = NULL;   /* a new process may reuse the old handle's address */
    }
    if (f->g) return 1;
    char err[512];
    f->g = cwb_gnuplot_open(err, sizeof err);
    f->fig.sent_to = NULL;
    if (!f->g) {
        if (!warned) {
            warned = 1;
            fprintf(stderr, "cwb: %s; figures are skipped\n", err);
            fflush(stderr);
        }
        lua_pushstring(L, err);
        return 0;
    }
    return 1;
}

static int m_draw(lua_State *L) {
    figure *f = check_figure(L, 1);
    int any = 0;
    for (int i = 0; i < f->fig.np; i++) any |= f->fig.p[i].ns > 0 || f->fig.p[i].nr > 0;
    if (!any) return luaL_error(L, "fig:draw: nothing to draw (add fig:line, fig:points or "
                                   "fig:hline first)");
    if (!ensure_gnuplot(L, f)) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    cwb_plot_target tg = {.term = f->term, .output = f->output, .width = f->width,
                          .height = f->height, .ansi = f->ansi};
    char *out = NULL, err[1024];
    if (cwb_figure_render(&f->fig, f->g, &tg, f->term == CWB_PLOT_DUMB ? &out : NULL, err,
                          sizeof err)) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    if (out) {
        lua_pushstring(L, out);
        free(out);
    } else if (f->output && f->term != CWB_PLOT_WINDOW) {
        lua_pushstring(L, f->output);
    } else {
        lua_pushboolean(L, 1);
    }
    return 1;
}

static int m_close(lua_State *L) {
    figure *f = luaL_checkudata(L, 1, FIGURE_MT);
    if (!f->closed) free_figure(f);
    return 0;
}

static int mm_tostring(lua_State *L) {
    figure *f = luaL_checkudata(L, 1, FIGURE_MT);
    if (f->closed) {
        lua_pushliteral(L, "cwb.figure(closed)");
        return 1;
    }
    static const char *names[] = {"pngcairo", "svg", "dumb", "window"};
    lua_pushfstring(L, "cwb.figure(%s%s%s, %d of %dx%d panels)", names[f->term],
                    f->output ? " -> " : "", f->output ? f->output : "", f->fig.np, f->fig.rows,
                    f->fig.cols);
    return 1;
}

static int f_available(lua_State *L) {
    char msg[512];
    if (cwb_gnuplot_available(NULL, 0, msg, sizeof msg)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    lua_pushstring(L, msg);
    return 2;
}

/* Option `key`, a table of n strings (nil entries allowed), into out[n]:
 * pointers into the table's strings, so the table is left on the stack. */
static void string_list(lua_State *L, cwb_opts *o, const char *key, int n, const char **out) {
    int t = cwb_opts_get(o, key);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        out[0] = NULL;
        return;
    }
    if (t != LUA_TTABLE) cwb_opts_error(o, key, "table expected, got %s", luaL_typename(L, -1));
    for (int i = 0; i < n; i++) {
        lua_geti(L, -1, i + 1);
        if (!lua_isnil(L, -1) && !lua_isstring(L, -1))
            cwb_opts_error(o, key, "entry %d: string expected, got %s", i + 1, luaL_typename(L, -1));
        out[i] = lua_tostring(L, -1);
        lua_pop(L, 1);   /* the string stays referenced by the table, which stays on the stack */
    }
}

/* cwb.plot.images(x, opts): a PNG grid of the rows of x as grey images. */
static int f_images(lua_State *L) {
    static const char *const keys[] = {"height", "width", "cols", "output", "title", "titles",
                                       "row_titles", "scale", "range", NULL};
    cwb_tensor *x = cwb_lua_checktensor(L, 1);
    cwb_opts o;
    cwb_opts_init(&o, L, 2, keys);
    int side = (int)floor(sqrt((double)x->cols) + 0.5);
    if (side * side != x->cols && !cwb_opts_has(&o, "height"))
        cwb_opts_error(&o, "height", "rows of %d values are not square images: give height= and "
                       "width=", x->cols);
    cwb_image_grid g = {0};
    g.height = (int)cwb_opts_range(&o, "height", side, 1, 4096);
    g.width = (int)cwb_opts_range(&o, "width", x->cols / g.height, 1, 4096);
    if (g.height * g.width != x->cols)
        cwb_opts_error(&o, "height", "%d x %d images do not match rows of %d values", g.height,
                       g.width, x->cols);
    g.cols = (int)cwb_opts_range(&o, "cols", x->rows < 8 ? x->rows : 8, 1, 4096);
    const char *output = cwb_opts_str(&o, "output", NULL);
    if (!output) cwb_opts_error(&o, "output", "a PNG file name is required");
    g.title = cwb_opts_str(&o, "title", NULL);
    g.scale = (int)cwb_opts_range(&o, "scale", 4, 1, 64);
    g.lo = 0;
    g.hi = 1;
    if (cwb_opts_get(&o, "range") == LUA_TTABLE) {
        lua_geti(L, -1, 1);
        lua_geti(L, -2, 2);
        if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1) || !(lua_tonumber(L, -2) < lua_tonumber(L, -1)))
            cwb_opts_error(&o, "range", "{lo, hi} with lo < hi expected");
        g.lo = lua_tonumber(L, -2);
        g.hi = lua_tonumber(L, -1);
        lua_pop(L, 2);
    } else if (!lua_isnil(L, -1))
        cwb_opts_error(&o, "range", "table expected, got %s", luaL_typename(L, -1));
    lua_pop(L, 1);
    int rows = (x->rows + g.cols - 1) / g.cols;
    const char **titles = lua_newuserdatauv(L, sizeof *titles * ((size_t)x->rows + (size_t)rows + 2), 0);
    const char **row_titles = titles + x->rows + 1;
    string_list(L, &o, "titles", x->rows, titles);   /* leaves the table on the stack */
    string_list(L, &o, "row_titles", rows, row_titles);
    g.titles = cwb_opts_has(&o, "titles") ? titles : NULL;
    g.row_titles = cwb_opts_has(&o, "row_titles") ? row_titles : NULL;
    char err[512];
    if (cwb_plot_image_grid(&g, x->data, x->rows, output, err, sizeof err) != 0) {
        if (!cwb_gnuplot_available(NULL, 0, NULL, 0)) {
            if (!warned) {
                warned = 1;
                fprintf(stderr, "cwb: %s; figures are skipped\n", err);
                fflush(stderr);
            }
            lua_pushnil(L);
            lua_pushstring(L, err);
            return 2;
        }
        return luaL_error(L, "images: %s", err);
    }
    lua_pushstring(L, output);
    return 1;
}

static const luaL_Reg methods[] = {
    {"panel", m_panel}, {"line", m_line},   {"points", m_points}, {"hline", m_hline},
    {"update", m_update}, {"draw", m_draw}, {"close", m_close},   {NULL, NULL}};

static const cwb_lua_doc method_docs[] = {
    {"panel", "fig:panel{title=, xlabel=, ylabel=, logx=, logy=, xrange={lo,hi}, "
              "yrange={lo,hi}, key=true|false|\"below\"|\"outside\"|\"top left\"} -> n: start the next panel of the "
              "layout (fig:panel(n [, opts]) selects panel n again)"},
    {"line", "fig:line(xs, ys [, {color=, width=1, dash=false, title=}]) -> handle: a line in "
             "the current panel; xs, ys tables or tensors (xs nil: 1..n); no title: not in "
             "the legend"},
    {"points", "fig:points(xs, ys [, {color=, size=1, title=}]) -> handle: points in the "
               "current panel"},
    {"hline", "fig:hline(y [, {label=, color=\"black\", dash=true, width=1}]): a horizontal "
              "line across the current panel, e.g. a known optimum"},
    {"update", "fig:update(handle, xs, ys [, opts]): replace a series' data (only it is "
               "re-sent on the next draw)"},
    {"draw", "fig:draw() -> text | file | true | nil, msg: render every panel (dumb: the "
             "text; pngcairo/svg: the file, written atomically)"},
    {"close", "fig:close(): stop the figure's gnuplot and free its data"},
    {NULL, NULL}};

static const luaL_Reg meta[] = {
    {"__gc", m_close}, {"__close", m_close}, {"__tostring", mm_tostring}, {NULL, NULL}};

static const luaL_Reg fns[] = {
    {"figure", f_figure}, {"available", f_available}, {"images", f_images}, {NULL, NULL}};

static const cwb_lua_doc fn_docs[] = {
    {"figure", "cwb.plot.figure{terminal=\"pngcairo\"|\"svg\"|\"dumb\"|\"window\", output=, "
               "width=, height=, layout={rows, cols}, title=, ansi=false} -> figure"},
    {"available", "cwb.plot.available() -> true | false, msg: whether gnuplot can be found "
                  "(CWB_GNUPLOT or PATH)"},
    {"images", "cwb.plot.images(x, {output=, height=, width= (default: square rows), cols=8, "
               "title=, titles={...}, row_titles={...}, scale=4, range={0, 1}}) -> file | nil, "
               "msg: the rows of x as a PNG grid of grey images (range: black to white)"},
    {NULL, NULL}};

int cwb_lua_open_plot(lua_State *L) {
    cwb_lua_newclass(L, FIGURE_MT, "figure methods",
                     "a figure drawn by gnuplot (cwb.plot.figure)", methods, method_docs, meta);
    cwb_lua_newlib(L, fns, fn_docs);
    cwb_lua_setdoc(L, -1, "figures drawn by gnuplot: panels, lines, points, a line for a "
                          "known optimum (docs/plot.md)");
    return 1;
}
