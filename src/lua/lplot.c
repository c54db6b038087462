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
 * A figure keeps its data in C arrays and its own gnuplot process.  Each
 * series becomes a datablock that is sent once and re-sent only when it
 * changes (fig:update), so redrawing a figure whose data grows costs the new
 * data, not all of it.  Without gnuplot, draw() warns once on stderr and
 * returns nil plus the reason; the recipe goes on.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "lua/lbind.h"
#include "plot/gnuplot.h"
#include "plot/image_grid.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIGURE_MT "cwb.figure"
#define MAX_PANELS 64

typedef struct {
    int points;             /* 0 line, 1 points */
    size_t n;
    double *x, *y;
    char color[40];         /* "" = gnuplot's next colour */
    double width, size;
    int dash;               /* gnuplot dashtype, 0 = solid */
    char *title;            /* NULL = not in the legend */
    int sent;               /* datablock is current in this figure's gnuplot */
} series;

typedef struct {
    double y;
    char *label;
    char color[40];
    int dash;
    double width;
} hline;

typedef struct {
    char *title, *xlabel, *ylabel;
    int logx, logy;
    int has_xr, has_yr;
    double xlo, xhi, ylo, yhi;
    char key[40];           /* "" default placement, "off" hidden, or a position */
    series *s;
    int ns, cs;
    hline *h;
    int nh, ch;
} panel;

typedef struct {
    cwb_plot_term term;
    char *output;
    int width, height, ansi;
    int rows, cols;
    char *title;
    panel *p;
    int np, cur;
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
    char *d = dupstr(L, s);
    free(*slot);
    *slot = d;
}

/* Colours go into gnuplot commands: names, "#rrggbb" or "#aarrggbb" only. */
static void check_color(cwb_opts *o, const char *key, const char *c, char *out, size_t len) {
    size_t n = strlen(c);
    int okc = n > 0 && n < len;
    for (size_t i = 0; okc && i < n; i++) {
        char ch = c[i];
        okc = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || (ch == '#' && i == 0);
    }
    if (!okc)
        cwb_opts_error(o, key, "'%s' is not a colour (a name such as \"red\" or \"#1f77b4\")", c);
    snprintf(out, len, "%s", c);
}

static figure *check_figure(lua_State *L, int arg) {
    figure *f = luaL_checkudata(L, arg, FIGURE_MT);
    if (f->closed) luaL_argerror(L, arg, "the figure is closed");
    return f;
}

static void free_panel(panel *p) {
    free(p->title);
    free(p->xlabel);
    free(p->ylabel);
    for (int i = 0; i < p->cs; i++) {   /* cs: slots that may hold data */
        free(p->s[i].x);
        free(p->s[i].y);
        free(p->s[i].title);
    }
    free(p->s);
    for (int i = 0; i < p->nh; i++) free(p->h[i].label);
    free(p->h);
}

static void free_figure(figure *f) {
    cwb_gnuplot_close(f->g);
    f->g = NULL;
    for (int i = 0; i < f->np; i++) free_panel(&f->p[i]);
    free(f->p);
    f->p = NULL;
    f->np = 0;
    free(f->output);
    free(f->title);
    f->output = f->title = NULL;
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
    int lt = cwb_opts_get(&o, "layout");
    if (lt != LUA_TNIL) {
        int okl = lt == LUA_TTABLE;
        if (okl) {
            lua_geti(L, -1, 1);
            lua_geti(L, -2, 2);
            int ir = 0, ic = 0;
            lua_Integer r = lua_tointegerx(L, -2, &ir), c = lua_tointegerx(L, -1, &ic);
            lua_pop(L, 2);
            okl = ir && ic && r >= 1 && c >= 1 && r * c <= MAX_PANELS;
            rows = (int)r;
            cols = (int)c;
        }
        if (!okl)
            cwb_opts_error(&o, "layout", "{rows, cols} of positive integers expected "
                                         "(at most %d panels)", MAX_PANELS);
    }
    lua_pop(L, 1);
    const char *title = cwb_opts_str(&o, "title", NULL);
    int ansi = cwb_opts_bool(&o, "ansi", 0);

    figure *f = cwb_lua_newobject(L, sizeof *f, 0, FIGURE_MT);
    f->term = kind;
    f->width = (int)w;
    f->height = (int)h;
    f->ansi = ansi;
    f->rows = rows;
    f->cols = cols;
    f->cur = -1;
    f->output = dupstr(L, output);
    f->title = dupstr(L, title);
    f->p = calloc((size_t)(rows * cols), sizeof *f->p);
    if (!f->p) return luaL_error(L, "out of memory");
    return 1;
}

/* ---- panels ------------------------------------------------------------------------ */

static void read_range(cwb_opts *o, const char *key, int *has, double *lo, double *hi) {
    lua_State *L = o->L;
    int t = cwb_opts_get(o, key);
    if (t != LUA_TNIL) {
        int okr = t == LUA_TTABLE;
        if (okr) {
            lua_geti(L, -1, 1);
            lua_geti(L, -2, 2);
            int a = 0, b = 0;
            *lo = lua_tonumberx(L, -2, &a);
            *hi = lua_tonumberx(L, -1, &b);
            lua_pop(L, 2);
            okr = a && b && isfinite(*lo) && isfinite(*hi) && *lo < *hi;
        }
        if (!okr) cwb_opts_error(o, key, "{lo, hi} with lo < hi expected");
        *has = 1;
    }
    lua_pop(L, 1);
}

/* Apply panel options at arg to p. */
static void panel_options(lua_State *L, panel *p, int arg) {
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
        int okk = strlen(k) < sizeof p->key;
        for (const char *c = k; okk && *c; c++) okk = (*c >= 'a' && *c <= 'z') || *c == ' ';
        if (!okk) cwb_opts_error(&o, "key", "a position such as \"top left\" expected");
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
        luaL_argcheck(L, n >= 1 && n <= f->np, 2,
                      lua_pushfstring(L, "panel %d does not exist (the figure has %d)", (int)n,
                                      f->np));
        f->cur = (int)n - 1;
        if (!lua_isnoneornil(L, 3)) panel_options(L, &f->p[f->cur], 3);
        lua_pushinteger(L, n);
        return 1;
    }
    if (f->np >= f->rows * f->cols)
        return luaL_error(L, "fig:panel: the %dx%d layout is full (%d panels)", f->rows, f->cols,
                          f->np);
    panel *p = &f->p[f->np];
    memset(p, 0, sizeof *p);
    f->np++;
    f->cur = f->np - 1;
    panel_options(L, p, 2);
    lua_pushinteger(L, f->np);
    return 1;
}

static panel *current_panel(lua_State *L, figure *f) {
    if (f->cur < 0) {   /* drawing before any fig:panel: a default one */
        memset(&f->p[0], 0, sizeof f->p[0]);
        f->np = 1;
        f->cur = 0;
    }
    (void)L;
    return &f->p[f->cur];
}

/* ---- series -------------------------------------------------------------------------- */

static void series_options(lua_State *L, series *s, int arg, int points) {
    static const char *const keys[] = {"color", "width", "title", "dash", "size", NULL};
    cwb_opts o;
    cwb_opts_init(&o, L, arg, keys);
    const char *c = cwb_opts_str(&o, "color", NULL);
    if (c) check_color(&o, "color", c, s->color, sizeof s->color);
    s->width = cwb_opts_num(&o, "width", s->width > 0 ? s->width : 1.0);
    if (!(s->width > 0 && s->width <= 50)) cwb_opts_error(&o, "width", "must be in (0, 50]");
    s->size = cwb_opts_num(&o, "size", s->size > 0 ? s->size : 1.0);
    if (!(s->size > 0 && s->size <= 20)) cwb_opts_error(&o, "size", "must be in (0, 20]");
    int dt = cwb_opts_get(&o, "dash");
    if (dt == LUA_TBOOLEAN) s->dash = lua_toboolean(L, -1) ? 2 : 0;
    else if (dt == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 &&
             lua_tointeger(L, -1) <= 5)
        s->dash = (int)lua_tointeger(L, -1);
    else if (dt != LUA_TNIL)
        cwb_opts_error(&o, "dash", "boolean or a dash type 0..5 expected");
    lua_pop(L, 1);
    if (cwb_opts_has(&o, "title")) replace_str(L, &s->title, cwb_opts_str(&o, "title", NULL));
    (void)points;
}

/* Read xs (arg, may be nil: 1..n) and ys (arg + 1) into s, replacing its data. */
static void series_data(lua_State *L, series *s, int arg) {
    size_t ny = check_vector(L, arg + 1, "ys");
    size_t nx = ny;
    if (!lua_isnil(L, arg)) {
        nx = check_vector(L, arg, "xs");
        if (nx != ny)
            luaL_argerror(L, arg + 1, lua_pushfstring(L, "ys has %d values but xs has %d",
                                                      (int)ny, (int)nx));
    }
    double *x = malloc((ny ? ny : 1) * sizeof *x);
    double *y = malloc((ny ? ny : 1) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        luaL_error(L, "out of memory");
    }
    /* from here on nothing raises: the copies were checked above */
    if (lua_isnil(L, arg))
        for (size_t i = 0; i < ny; i++) x[i] = (double)(i + 1);
    else
        copy_vector(L, arg, x, nx);
    copy_vector(L, arg + 1, y, ny);
    free(s->x);
    free(s->y);
    s->x = x;
    s->y = y;
    s->n = ny;
    s->sent = 0;
}

static int add_series(lua_State *L, int points) {
    figure *f = check_figure(L, 1);
    panel *p = current_panel(L, f);
    if (p->ns == p->cs) {
        int cap = p->cs ? 2 * p->cs : 8;
        series *ns = realloc(p->s, (size_t)cap * sizeof *ns);
        if (!ns) return luaL_error(L, "out of memory");
        memset(ns + p->cs, 0, (size_t)(cap - p->cs) * sizeof *ns);
        p->s = ns;
        p->cs = cap;
    }
    /* The slot belongs to the figure before anything can raise, so __gc frees
     * whatever a failed call left in it; it only counts once complete. */
    series *s = &p->s[p->ns];
    free(s->x);
    free(s->y);
    free(s->title);
    memset(s, 0, sizeof *s);
    s->points = points;
    series_options(L, s, 4, points);
    series_data(L, s, 2);
    p->ns++;
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
    luaL_argcheck(L, pi >= 0 && pi < f->np && si >= 0 && si < f->p[pi].ns, 2,
                  "not a series of this figure (use the value fig:line returned)");
    series *s = &f->p[pi].s[si];
    series_data(L, s, 3);
    if (!lua_isnoneornil(L, 5)) series_options(L, s, 5, s->points);
    return 0;
}

static int m_hline(lua_State *L) {
    figure *f = check_figure(L, 1);
    double y = luaL_checknumber(L, 2);
    luaL_argcheck(L, isfinite(y), 2, "a finite number expected");
    panel *p = current_panel(L, f);
    static const char *const keys[] = {"label", "color", "dash", "width", NULL};
    cwb_opts o;
    cwb_opts_init(&o, L, 3, keys);
    hline h = {.y = y, .dash = 2, .width = 1.0};
    snprintf(h.color, sizeof h.color, "black");
    const char *c = cwb_opts_str(&o, "color", NULL);
    if (c) check_color(&o, "color", c, h.color, sizeof h.color);
    h.width = cwb_opts_num(&o, "width", 1.0);
    if (!(h.width > 0 && h.width <= 50)) cwb_opts_error(&o, "width", "must be in (0, 50]");
    int dt = cwb_opts_get(&o, "dash");
    if (dt == LUA_TBOOLEAN) h.dash = lua_toboolean(L, -1) ? 2 : 0;
    else if (dt != LUA_TNIL) cwb_opts_error(&o, "dash", "boolean expected");
    lua_pop(L, 1);
    const char *label = cwb_opts_str(&o, "label", NULL);
    if (p->nh == p->ch) {
        int cap = p->ch ? 2 * p->ch : 4;
        hline *nh = realloc(p->h, (size_t)cap * sizeof *nh);
        if (!nh) return luaL_error(L, "out of memory");
        p->h = nh;
        p->ch = cap;
    }
    h.label = dupstr(L, label);
    p->h[p->nh++] = h;
    return 0;
}

/* ---- drawing -------------------------------------------------------------------------- */

static void style(cwb_buf *t, const char *color, double width, int dash) {
    cwb_buf_printf(t, " lw %g", width);
    if (*color) {
        cwb_buf_str(t, " lc rgb ");
        cwb_gnuplot_quote_buf(t, color);
    }
    if (dash) cwb_buf_printf(t, " dt %d", dash);
}

static void label_cmd(cwb_buf *t, const char *cmd, const char *value) {
    if (value) {
        cwb_buf_printf(t, "set %s ", cmd);
        cwb_gnuplot_quote_buf(t, value);
        cwb_buf_str(t, "\n");
    } else {
        cwb_buf_printf(t, "unset %s\n", cmd);
    }
}

/* gnuplot puts log-axis tics at powers of ten only, which leaves a range
 * such as [0.25, 4] with a single label; give it 1-2-5 tics instead. */
static void log_tics(cwb_buf *t, const char *axis, double lo, double hi) {
    double v[40];
    int n = 0;
    if (lo > 0 && hi > lo && hi / lo < 1e4)
        for (int e = (int)floor(log10(lo)); e <= (int)ceil(log10(hi)) && n < 40; e++)
            for (int k = 0; k < 3 && n < 40; k++) {
                double x = (k == 0 ? 1 : k == 1 ? 2 : 5) * pow(10, e);
                if (x >= lo * (1 - 1e-9) && x <= hi * (1 + 1e-9)) v[n++] = x;
            }
    if (n < 3 || n > 12) {
        cwb_buf_printf(t, "set %stics autofreq\n", axis);
        return;
    }
    cwb_buf_printf(t, "set %stics (", axis);
    for (int i = 0; i < n; i++) cwb_buf_printf(t, "%s%g", i ? ", " : "", v[i]);
    cwb_buf_str(t, ")\n");
}

/* The range a log axis will show: the set range, else the positive data. */
static int log_range(const panel *p, int y, double *lo, double *hi) {
    if (y ? p->has_yr : p->has_xr) {
        *lo = y ? p->ylo : p->xlo;
        *hi = y ? p->yhi : p->xhi;
        return 1;
    }
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < p->ns; i++) {
        const double *v = y ? p->s[i].y : p->s[i].x;
        for (size_t j = 0; j < p->s[i].n; j++)
            if (v[j] > 0 && isfinite(v[j])) {
                if (v[j] < *lo) *lo = v[j];
                if (v[j] > *hi) *hi = v[j];
            }
    }
    if (y)
        for (int i = 0; i < p->nh; i++)
            if (p->h[i].y > 0) {
                if (p->h[i].y < *lo) *lo = p->h[i].y;
                if (p->h[i].y > *hi) *hi = p->h[i].y;
            }
    return *lo <= *hi;
}

static void panel_script(cwb_buf *t, const figure *f, int pi) {
    const panel *p = &f->p[pi];
    const char *title = p->title;
    if (!title && f->np == 1 && f->rows * f->cols == 1) title = f->title;
    label_cmd(t, "title", title);
    label_cmd(t, "xlabel", p->xlabel);
    label_cmd(t, "ylabel", p->ylabel);
    cwb_buf_str(t, p->logx ? "set logscale x\n" : "unset logscale x\n");
    cwb_buf_str(t, p->logy ? "set logscale y\n" : "unset logscale y\n");
    if (p->has_xr) cwb_buf_printf(t, "set xrange [%.17g:%.17g]\n", p->xlo, p->xhi);
    else cwb_buf_str(t, "set autoscale x\n");
    if (p->has_yr) cwb_buf_printf(t, "set yrange [%.17g:%.17g]\n", p->ylo, p->yhi);
    else cwb_buf_str(t, "set autoscale y\n");
    if (strcmp(p->key, "off") == 0) cwb_buf_str(t, "set key off\n");
    else cwb_buf_printf(t, "set key default\nset key %s\n", *p->key ? p->key : "top right");
    for (int y = 0; y < 2; y++) {
        double lo, hi;
        if ((y ? p->logy : p->logx) && log_range(p, y, &lo, &hi)) log_tics(t, y ? "y" : "x", lo, hi);
        else cwb_buf_printf(t, "set %stics autofreq\n", y ? "y" : "x");
    }
    int points = 0;
    for (int i = 0; i < p->ns; i++) points |= p->s[i].points;
    /* markers on the frame are hard to see: leave them some room */
    cwb_buf_str(t, points ? "set offsets graph 0.04, graph 0.04, graph 0.04, graph 0.04\n"
                     : "set offsets 0, 0, 0, 0\n");
    cwb_buf_str(t, "set grid\n");
    if (p->ns == 0 && p->nh == 0) {
        cwb_buf_str(t, "set multiplot next\n");
        return;
    }
    cwb_buf_str(t, "plot ");
    int first = 1;
    for (int i = 0; i < p->ns; i++) {
        const series *s = &p->s[i];
        if (!first) cwb_buf_str(t, ", \\\n     ");
        first = 0;
        cwb_buf_printf(t, "$s%d_%d using 1:2", pi, i);
        if (s->points) {
            cwb_buf_printf(t, " with points pt 7 ps %g", s->size);
            if (*s->color) {
                cwb_buf_str(t, " lc rgb ");
                cwb_gnuplot_quote_buf(t, s->color);
            }
        } else {
            cwb_buf_str(t, " with lines");
            style(t, s->color, s->width, s->dash);
        }
        if (s->title) {
            cwb_buf_str(t, " title ");
            cwb_gnuplot_quote_buf(t, s->title);
        } else {
            cwb_buf_str(t, " notitle");
        }
    }
    for (int i = 0; i < p->nh; i++) {
        const hline *h = &p->h[i];
        if (!first) cwb_buf_str(t, ", \\\n     ");
        first = 0;
        /* a constant function spans whatever x range the data gives */
        cwb_buf_printf(t, "%.17g with lines", h->y);
        style(t, h->color, h->width, h->dash);
        if (h->label) {
            cwb_buf_str(t, " title ");
            cwb_gnuplot_quote_buf(t, h->label);
        } else {
            cwb_buf_str(t, " notitle");
        }
    }
    cwb_buf_str(t, "\n");
}

/* Open (or reopen after a crash) this figure's gnuplot.  NULL plus a
 * message on the stack's top when it cannot. */
static int ensure_gnuplot(lua_State *L, figure *f) {
    if (f->g && cwb_gnuplot_dead(f->g)) {
        cwb_gnuplot_close(f->g);
        f->g = NULL;
    }
    if (f->g) return 1;
    char err[512];
    f->g = cwb_gnuplot_open(err, sizeof err);
    if (!f->g) {
        if (!warned) {
            warned = 1;
            fprintf(stderr, "cwb: %s; figures are skipped\n", err);
            fflush(stderr);
        }
        lua_pushstring(L, err);
        return 0;
    }
    for (int i = 0; i < f->np; i++)
        for (int j = 0; j < f->p[i].ns; j++) f->p[i].s[j].sent = 0;
    return 1;
}

static int m_draw(lua_State *L) {
    figure *f = check_figure(L, 1);
    int any = 0;
    for (int i = 0; i < f->np; i++) any |= f->p[i].ns > 0 || f->p[i].nh > 0;
    if (!any) return luaL_error(L, "fig:draw: nothing to draw (add fig:line, fig:points or "
                                   "fig:hline first)");
    if (!ensure_gnuplot(L, f)) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    for (int i = 0; i < f->np; i++)
        for (int j = 0; j < f->p[i].ns; j++) {
            series *s = &f->p[i].s[j];
            if (s->sent) continue;
            char name[32];
            snprintf(name, sizeof name, "s%d_%d", i, j);
            const double *cols[2] = {s->x, s->y};
            if (cwb_gnuplot_datablock(f->g, name, 2, s->n, cols)) {
                lua_pushnil(L);
                lua_pushstring(L, cwb_gnuplot_errmsg(f->g));
                return 2;
            }
            s->sent = 1;
        }
    cwb_buf t = CWB_BUF_INIT;
    int multi = f->rows * f->cols > 1;
    if (multi) {
        cwb_buf_printf(&t, "set multiplot layout %d,%d", f->rows, f->cols);
        if (f->title) {
            cwb_buf_str(&t, " title ");
            cwb_gnuplot_quote_buf(&t, f->title);
        }
        cwb_buf_str(&t, "\n");
    }
    for (int i = 0; i < f->np; i++) panel_script(&t, f, i);
    if (multi) cwb_buf_str(&t, "unset multiplot\n");
    if (t.oom) {
        cwb_buf_free(&t);
        return luaL_error(L, "out of memory");
    }
    cwb_plot_target tg = {.term = f->term, .output = f->output, .width = f->width,
                          .height = f->height, .ansi = f->ansi};
    char *out = NULL;
    int rc = cwb_gnuplot_render(f->g, &tg, t.p, f->term == CWB_PLOT_DUMB ? &out : NULL);
    cwb_buf_free(&t);
    if (rc) {
        /* a datablock may not have arrived if gnuplot died: send all next time */
        if (cwb_gnuplot_dead(f->g))
            for (int i = 0; i < f->np; i++)
                for (int j = 0; j < f->p[i].ns; j++) f->p[i].s[j].sent = 0;
        lua_pushnil(L);
        lua_pushstring(L, cwb_gnuplot_errmsg(f->g));
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
                    f->output ? " -> " : "", f->output ? f->output : "", f->np, f->rows, f->cols);
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
              "yrange={lo,hi}, key=true|false|\"top left\"} -> n: start the next panel of the "
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
