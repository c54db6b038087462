/*
 * figure.c - the figure model (figure.h) and its gnuplot script.
 *
 * Each series becomes a datablock $f<panel>_<series>, sent once to a given
 * gnuplot and again only when its data changes, so a live figure that is
 * redrawn as it grows costs the new data, not all of it.  gnuplot keeps its
 * settings from panel to panel of a multiplot, so every panel sets (or
 * unsets) everything it uses.
 */
#include "plot/figure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the palette ------------------------------------------------------------------ */

/* Hues in the same order on paper and on a terminal, so that a run has the
 * same colour in the pane and in its PNG.  The terminal column is what
 * gnuplot 5.4's dumb ANSI mode turns into the intended SGR code (bold or
 * not): 1;31 1;34 1;32 22;35 22;36 22;33 1;35 22;31 1;36 1;33; none is
 * black (30) or white (37), which vanish on one kind of terminal each.
 * tests/plot/test_figure.c checks that mapping against the real gnuplot. */
static const struct {
    const char *paper, *text;
    signed char fg, bold;   /* the SGR code the text colour becomes: 30 + fg, bold or not */
} PALETTE[CWB_PALETTE_N] = {
    {"#d62728", "#c00000", 1, 1},   /* red */
    {"#1f77b4", "#0000c0", 4, 1},   /* blue */
    {"#2ca02c", "#008000", 2, 1},   /* green */
    {"#d01c8b", "#ff00ff", 5, 0},   /* magenta */
    {"#17becf", "#00c0c0", 6, 0},   /* cyan */
    {"#e6a000", "goldenrod", 3, 0}, /* gold */
    {"#7b3294", "#800080", 5, 1},   /* purple */
    {"#e9735a", "#ff6060", 1, 0},   /* salmon */
    {"#00798c", "#008080", 6, 1},   /* teal */
    {"#8c8c00", "#808000", 3, 1},   /* olive */
};

static int wrap_index(int i) {
    i %= CWB_PALETTE_N;
    return i < 0 ? i + CWB_PALETTE_N : i;
}

const char *cwb_palette_color(int i, cwb_plot_term term) {
    i = wrap_index(i);
    return term == CWB_PLOT_DUMB ? PALETTE[i].text : PALETTE[i].paper;
}

void cwb_palette_ansi(int i, int *fg, int *bold) {
    i = wrap_index(i);
    *fg = PALETTE[i].fg;
    *bold = PALETTE[i].bold;
}

cwb_plot_term cwb_plot_term_for_file(const char *path) {
    size_t n = path ? strlen(path) : 0;
    return n > 4 && strcasecmp(path + n - 4, ".svg") == 0 ? CWB_PLOT_SVG : CWB_PLOT_PNG;
}

int cwb_fig_color_ok(const char *c) {
    size_t n = c ? strlen(c) : 0;
    if (n == 0 || n >= CWB_FIG_COLOR_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = c[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || (ch == '#' && i == 0)))
            return 0;
    }
    return 1;
}

int cwb_fig_key_ok(const char *k) {
    if (!k || strlen(k) >= CWB_FIG_KEY_MAX) return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || *k == ' ')) return 0;
    return 1;
}

/* ---- building ------------------------------------------------------------------------ */

int cwb_figure_init(cwb_figure *f, int rows, int cols) {
    memset(f, 0, sizeof *f);
    if (rows < 1 || cols < 1 || rows * cols > CWB_FIG_MAX_PANELS) return -1;
    f->p = calloc((size_t)(rows * cols), sizeof *f->p);
    if (!f->p) return -1;
    f->rows = rows;
    f->cols = cols;
    return 0;
}

static void panel_free(cwb_fig_panel *p) {
    free(p->title);
    free(p->xlabel);
    free(p->ylabel);
    for (int i = 0; i < p->ns; i++) {
        free(p->s[i].x);
        free(p->s[i].y);
        free(p->s[i].label);
    }
    free(p->s);
    for (int i = 0; i < p->nr; i++) free(p->r[i].label);
    free(p->r);
    memset(p, 0, sizeof *p);
}

void cwb_figure_free(cwb_figure *f) {
    if (!f) return;
    for (int i = 0; i < f->np; i++) panel_free(&f->p[i]);
    free(f->p);
    free(f->title);
    memset(f, 0, sizeof *f);
}

cwb_fig_panel *cwb_figure_add_panel(cwb_figure *f) {
    if (!f->p || f->np >= f->rows * f->cols) return NULL;
    cwb_fig_panel *p = &f->p[f->np++];
    memset(p, 0, sizeof *p);
    return p;
}

int cwb_fig_set_str(char **slot, const char *s) {
    char *d = NULL;
    if (s && !(d = strdup(s))) return -1;
    free(*slot);
    *slot = d;
    return 0;
}

int cwb_fig_series_data(cwb_fig_series *s, const double *x, const double *y, size_t n) {
    size_t m = n ? n : 1;
    double *nx = malloc(m * sizeof *nx), *ny = malloc(m * sizeof *ny);
    if (!nx || !ny) {
        free(nx);
        free(ny);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        nx[i] = x ? x[i] : (double)(i + 1);
        ny[i] = y[i];
    }
    free(s->x);
    free(s->y);
    s->x = nx;
    s->y = ny;
    s->n = n;
    s->sent = 0;
    return 0;
}

/* Room for one more item in *items (n used of *cap, each size bytes). */
static int grow(void **items, int n, int *cap, size_t size) {
    if (n < *cap) return 0;
    int nc = *cap ? 2 * *cap : 8;
    void *p = realloc(*items, (size_t)nc * size);
    if (!p) return -1;
    *items = p;
    *cap = nc;
    return 0;
}

cwb_fig_series *cwb_fig_add_series(cwb_fig_panel *p, const double *x, const double *y,
                                   size_t n) {
    if (grow((void **)&p->s, p->ns, &p->cs, sizeof *p->s)) return NULL;
    cwb_fig_series *s = &p->s[p->ns];
    memset(s, 0, sizeof *s);
    s->key = -1;
    if (cwb_fig_series_data(s, x, y, n)) return NULL;
    p->ns++;
    return s;
}

cwb_fig_ref *cwb_fig_add_ref(cwb_fig_panel *p, int vertical, double at, const char *label) {
    if (grow((void **)&p->r, p->nr, &p->cr, sizeof *p->r)) return NULL;
    cwb_fig_ref *r = &p->r[p->nr];
    memset(r, 0, sizeof *r);
    r->vertical = vertical;
    r->at = at;
    r->dash = 2;
    if (cwb_fig_set_str(&r->label, label)) return NULL;
    p->nr++;
    return r;
}

/* ---- the script ------------------------------------------------------------------------- */

static void quoted(cwb_buf *t, const char *s) { cwb_gnuplot_quote_buf(t, s); }

static void label_cmd(cwb_buf *t, const char *cmd, const char *value) {
    if (value) {
        cwb_buf_printf(t, "set %s ", cmd);
        quoted(t, value);
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

/* The range a log axis will show: the set range, else the positive data
 * and the reference lines on that axis. */
static int log_range(const cwb_fig_panel *p, int y, double *lo, double *hi) {
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
    for (int i = 0; i < p->nr; i++)
        if (p->r[i].vertical != y && p->r[i].at > 0) {
            if (p->r[i].at < *lo) *lo = p->r[i].at;
            if (p->r[i].at > *hi) *hi = p->r[i].at;
        }
    return *lo <= *hi;
}

/* A round distance (1, 2 or 5 times a power of ten) giving about `want`
 * steps over span. */
static double round_step(double span, int want) {
    double raw = span / (want < 2 ? 2 : want), mag = pow(10, floor(log10(raw)));
    if (raw / mag > 5) return 10 * mag;
    if (raw / mag > 2) return 5 * mag;
    if (raw / mag > 1) return 2 * mag;
    return mag;
}

/* Compact panels: step tics a round distance apart, about `want` of them,
 * labelled short (500, 20k, 1.5M), and y tics at most every other row, so
 * that no two labels run into each other in a small pane. */
static void compact_tics(cwb_buf *t, const cwb_fig_panel *p, int wantx, int wanty) {
    double hi = 0, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < p->ns; i++)
        for (size_t j = 0; j < p->s[i].n; j++) {
            if (isfinite(p->s[i].x[j]) && p->s[i].x[j] > hi) hi = p->s[i].x[j];
            double y = p->s[i].y[j];
            if (isfinite(y) && y < ylo) ylo = y;
            if (isfinite(y) && y > yhi) yhi = y;
        }
    for (int i = 0; i < p->nr; i++)
        if (!p->r[i].vertical) {
            if (p->r[i].at < ylo) ylo = p->r[i].at;
            if (p->r[i].at > yhi) yhi = p->r[i].at;
        }
    if (hi <= 0) {
        cwb_buf_str(t, "set xtics autofreq\n");
    } else {
        double step = round_step(hi, wantx);
        const char *fmt = step >= 1e6 ? (fmod(step, 1e6) == 0 ? "%.0s%c" : "%.1s%c")
                          : step >= 1e3 ? (fmod(step, 1e3) == 0 ? "%.0s%c" : "%.1s%c")
                                        : "%g";
        cwb_buf_printf(t, "set xtics 0,%g\nset format x '%s'\n", step, fmt);
    }
    if (yhi > ylo && !p->has_yr && !p->logy) cwb_buf_printf(t, "set ytics %g\n", round_step(yhi - ylo, wanty));
    else if (!p->logy) cwb_buf_str(t, "set ytics autofreq\n");
}

static void line_style(cwb_buf *t, const char *color, double width, int dash, int text_ref) {
    cwb_buf_printf(t, " lw %g", width > 0 ? width : 1.0);
    if (*color) {
        cwb_buf_str(t, " lc rgb ");
        quoted(t, color);
    } else if (text_ref) {
        cwb_buf_str(t, " lt -1");   /* the terminal's own text colour */
    }
    if (dash) cwb_buf_printf(t, " dt %d", dash);
}

static void title_of(cwb_buf *t, const char *label) {
    if (label) {
        cwb_buf_str(t, " title ");
        quoted(t, label);
    } else {
        cwb_buf_str(t, " notitle");
    }
}

void cwb_fig_colors(const cwb_fig_panel *p, int *pal) {
    int used[CWB_PALETTE_N] = {0}, nused = 0, pos = 0;
    for (int i = 0; i < p->ns; i++) {
        pal[i] = -1;
        if (p->s[i].color[0]) continue;
        long key = p->s[i].key >= 0 ? p->s[i].key : pos;
        pos++;
        int k = (int)(key % CWB_PALETTE_N);
        if (nused < CWB_PALETTE_N)
            while (used[k]) k = (k + 1) % CWB_PALETTE_N;
        if (!used[k]) nused++;
        used[k] = 1;
        pal[i] = k;
    }
}

static int panel_empty(const cwb_fig_panel *p) {
    int nh = 0;
    for (int i = 0; i < p->nr; i++) nh += !p->r[i].vertical;
    return p->ns == 0 && nh == 0;
}

static void panel_script(cwb_buf *t, const cwb_figure *f, int pi, cwb_plot_term term, int width,
                         int height) {
    const cwb_fig_panel *p = &f->p[pi];
    int text = term == CWB_PLOT_DUMB;
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
    else if (strcmp(p->key, "below") == 0)
        cwb_buf_str(t, "set key default\nset key below horizontal samplen 2 width 2\n");
    else if (strcmp(p->key, "outside") == 0)
        cwb_buf_str(t, "set key default\nset key outside right top vertical samplen 2\n");
    else cwb_buf_printf(t, "set key default\nset key %s\n", *p->key ? p->key : "top right");
    cwb_buf_str(t, p->compact ? "set border 3\nset tics nomirror\n"
                              : "set border 31\nset xtics mirror\nset ytics mirror\n");
    cwb_buf_str(t, "set format x '%g'\nset format y '%g'\n");
    if (p->compact) compact_tics(t, p, width / 12, height / 3);
    for (int y = 0; y < 2; y++) {
        double lo, hi;
        int log = y ? p->logy : p->logx;
        if (log && log_range(p, y, &lo, &hi)) log_tics(t, y ? "y" : "x", lo, hi);
        else if (!p->compact) cwb_buf_printf(t, "set %stics autofreq\n", y ? "y" : "x");
    }
    int points = 0;
    for (int i = 0; i < p->ns; i++) points |= p->s[i].points;
    int hrefs = 0;
    for (int i = 0; i < p->nr; i++) hrefs += !p->r[i].vertical;
    /* markers on the frame are hard to see: leave them some room; so is a
     * reference line on the frame (a ratio falling to its optimum 1) */
    if (points) cwb_buf_str(t, "set offsets graph 0.04, graph 0.04, graph 0.04, graph 0.04\n");
    else if (hrefs && !p->has_yr) cwb_buf_str(t, "set offsets 0, 0, graph 0.06, graph 0.06\n");
    else cwb_buf_str(t, "set offsets 0, 0, 0, 0\n");
    cwb_buf_str(t, p->nogrid ? "unset grid\n" : "set grid\n");
    cwb_buf_str(t, p->equal_scales ? "set size ratio -1\n" : "set size noratio\n");
    /* vertical markers: an arrow from the bottom to the top of the axes */
    cwb_buf_str(t, "unset arrow\nunset label\n");
    int nv = 0;
    for (int i = 0; i < p->nr; i++) {
        const cwb_fig_ref *r = &p->r[i];
        if (!r->vertical) continue;
        const int row = 1 + nv++ % 3; /* markers close together: their texts on three rows */
        cwb_buf_printf(t, "set arrow from %.17g, graph 0 to %.17g, graph 1 nohead", r->at, r->at);
        line_style(t, r->color, r->width, r->dash, text);
        cwb_buf_str(t, " front\n");
        if (r->label) {
            cwb_buf_str(t, "set label ");
            quoted(t, r->label);
            /* on a text terminal one character right of the marker's column
             * is where the marker itself may land after rounding: two */
            cwb_buf_printf(t, " at %.17g, graph 1 offset %d,-%d front\n", r->at, text ? 2 : 1, row);
        }
    }
    if (panel_empty(p)) {
        if (f->rows * f->cols > 1) cwb_buf_str(t, "set multiplot next\n");
        return;
    }
    int pal_small[64], *pal = p->ns <= 64 ? pal_small : malloc((size_t)p->ns * sizeof *pal);
    if (!pal) {
        t->oom = 1;
        return;
    }
    cwb_fig_colors(p, pal);
    cwb_buf_str(t, "plot ");
    int first = 1;
    for (int i = 0; i < p->ns; i++) {
        const cwb_fig_series *s = &p->s[i];
        const char *color = pal[i] >= 0 ? cwb_palette_color(pal[i], term) : s->color;
        if (!first) cwb_buf_str(t, ", \\\n     ");
        first = 0;
        cwb_buf_printf(t, "$f%d_%d using 1:2", pi, i);
        if (s->points) {
            cwb_buf_printf(t, " with points pt 7 ps %g lc rgb ", s->size > 0 ? s->size : 1.0);
            quoted(t, color);
        } else {
            cwb_buf_str(t, " with lines");
            line_style(t, color, s->width, s->dash, 0);
        }
        title_of(t, s->label);
    }
    if (pal != pal_small) free(pal);
    for (int i = 0; i < p->nr; i++) {
        const cwb_fig_ref *r = &p->r[i];
        if (r->vertical) continue;
        if (!first) cwb_buf_str(t, ", \\\n     ");
        first = 0;
        /* a constant function spans whatever x range the data gives */
        cwb_buf_printf(t, "%.17g with lines", r->at);
        line_style(t, *r->color || text ? r->color : "black", r->width, r->dash, text);
        title_of(t, r->label);
    }
    cwb_buf_str(t, "\n");
}

int cwb_figure_script(const cwb_figure *f, cwb_plot_term term, int width, int height,
                      cwb_buf *t) {
    int multi = f->rows * f->cols > 1;
    if (multi) {
        cwb_buf_printf(t, "set multiplot layout %d,%d", f->rows, f->cols);
        if (f->title) {
            cwb_buf_str(t, " title ");
            quoted(t, f->title);
        }
        cwb_buf_str(t, "\n");
    }
    for (int i = 0; i < f->np; i++) panel_script(t, f, i, term, width, height);
    if (multi) cwb_buf_str(t, "unset multiplot\n");
    return t->oom ? -1 : 0;
}

int cwb_figure_render(cwb_figure *f, cwb_gnuplot *g, const cwb_plot_target *t, char **text,
                      char *err, size_t errlen) {
    if (text) *text = NULL;
    if (err && errlen) err[0] = '\0';
    int any = 0;
    for (int i = 0; i < f->np; i++) any |= !panel_empty(&f->p[i]);
    if (!any) {
        if (err && errlen) snprintf(err, errlen, "nothing to draw");
        return -1;
    }
    if (f->sent_to != g)
        for (int i = 0; i < f->np; i++)
            for (int j = 0; j < f->p[i].ns; j++) f->p[i].s[j].sent = 0;
    f->sent_to = g;
    for (int i = 0; i < f->np; i++)
        for (int j = 0; j < f->p[i].ns; j++) {
            cwb_fig_series *s = &f->p[i].s[j];
            if (s->sent) continue;
            char name[32];
            snprintf(name, sizeof name, "f%d_%d", i, j);
            const double *cols[2] = {s->x, s->y};
            if (cwb_gnuplot_datablock(g, name, 2, s->n, cols)) {
                if (err && errlen) snprintf(err, errlen, "%s", cwb_gnuplot_errmsg(g));
                return -1;
            }
            s->sent = 1;
        }
    cwb_buf script = CWB_BUF_INIT;
    int width = t->width > 0 ? t->width : t->term == CWB_PLOT_DUMB ? 79 : 800;
    int height = t->height > 0 ? t->height : t->term == CWB_PLOT_DUMB ? 24 : 600;
    if (cwb_figure_script(f, t->term, width, height, &script)) {
        cwb_buf_free(&script);
        if (err && errlen) snprintf(err, errlen, "out of memory building a figure");
        return -1;
    }
    int rc = cwb_gnuplot_render(g, t, script.p, t->term == CWB_PLOT_DUMB ? text : NULL);
    cwb_buf_free(&script);
    if (rc) {
        /* a datablock may not have arrived if gnuplot died: send all next time */
        if (cwb_gnuplot_dead(g)) f->sent_to = NULL;
        if (err && errlen) snprintf(err, errlen, "%s", cwb_gnuplot_errmsg(g));
    }
    return rc;
}
