/*
 * tui_plot.c - the runs the workbench has seen and the curve pane.
 *
 * Every run's metrics are kept in memory, thinned so that a long run costs
 * a bounded amount; the curve pane overlays the chosen metric (show "name")
 * of the recent runs, drawn by gnuplot's dumb terminal with ANSI colours
 * (src/plot/gnuplot.h) and read back into coloured cells.  Without gnuplot
 * a small built-in plotter draws the same points.  Rendering is throttled:
 * never more than 4 times a second and, measured, at most ~1.5% of the time.
 * Runs are coloured as in the article's figure: decomposable red,
 * conventional (infonce) blue, standard grey, others from a palette.
 */
#include "ui/tui_internal.h"
#include "lua/lcwb.h"
#include "plot/gnuplot.h"

#include <curses.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_MIN_PERIOD 0.25   /* seconds between renders, at most 4 per second */
#define PLOT_BUDGET 0.015      /* fraction of the time the curves may take */
#define PLOT_MAX_RUNS 32       /* runs overlaid in the pane (the sweeps run 30) */
#define WINDOW_PERIOD 1.0

static const char *const COLOR_NAMES[8] = {"black", "red",     "web-green", "goldenrod",
                                           "blue",  "magenta", "dark-cyan", "grey50"};

/* ---- runs and series ---------------------------------------------------------------- */

static int run_color(const char *name, int serial) {
    static const int palette[] = {2, 5, 6, 3};
    if (strstr(name, "decomposable")) return 1;
    if (strstr(name, "infonce") || strstr(name, "conventional")) return 4;
    if (strstr(name, "standard")) return 7;
    return palette[serial % 4];
}

static void run_free(tui_run *r) {
    if (!r) return;
    for (int i = 0; i < r->nseries; i++) {
        free(r->series[i].x);
        free(r->series[i].y);
    }
    free(r);
}

tui_run *tui_run_new(const char *name, long total, int64_t id) {
    tui_run *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    if (tui.nruns == TUI_MAX_RUNS) { /* forget the oldest finished run */
        int k = 0;
        while (k < tui.nruns && tui.runs[k]->active) k++;
        if (k == tui.nruns) {
            free(r);
            return NULL;
        }
        run_free(tui.runs[k]);
        memmove(tui.runs + k, tui.runs + k + 1, (size_t)(tui.nruns - k - 1) * sizeof *tui.runs);
        tui.nruns--;
    }
    r->serial = ++tui.serial;
    snprintf(r->name, sizeof r->name, "%s", name && *name ? name : "run");
    r->id = id;
    r->total = total;
    r->t0 = r->rate_t = tui_now();
    snprintf(r->status, sizeof r->status, "running");
    r->color = run_color(r->name, r->serial);
    r->active = 1;
    tui.runs[tui.nruns++] = r;
    return r;
}

const tui_series *tui_run_find(const tui_run *r, const char *name) {
    for (int i = 0; i < r->nseries; i++)
        if (strcmp(r->series[i].name, name) == 0) return r->series[i].n > 0 ? &r->series[i] : NULL;
    return NULL;
}

void tui_run_metric(tui_run *r, long step, const char *name, double value) {
    tui_series *s = NULL;
    for (int i = 0; i < r->nseries && !s; i++)
        if (strcmp(r->series[i].name, name) == 0) s = &r->series[i];
    if (!s) {
        if (r->nseries == TUI_MAX_SERIES) return;
        s = &r->series[r->nseries];
        memset(s, 0, sizeof *s);
        s->x = malloc(TUI_SERIES_CAP * sizeof *s->x);
        s->y = malloc(TUI_SERIES_CAP * sizeof *s->y);
        if (!s->x || !s->y) {
            free(s->x);
            free(s->y);
            return;
        }
        snprintf(s->name, sizeof s->name, "%s", name);
        s->stride = 1;
        r->nseries++;
    }
    if (step > r->step) r->step = step;
    /* the last value always shows: it replaces the thinned-out slot */
    if (s->seen++ % s->stride != 0 && s->n > 0) {
        s->x[s->n - 1] = (double)step;
        s->y[s->n - 1] = value;
        goto changed;
    }
    if (s->n == TUI_SERIES_CAP) { /* keep every other point, take every other from now on */
        for (int i = 0; i < TUI_SERIES_CAP / 2; i++) {
            s->x[i] = s->x[2 * i];
            s->y[i] = s->y[2 * i];
        }
        s->n = TUI_SERIES_CAP / 2;
        s->stride *= 2;
    }
    s->x[s->n] = (double)step;
    s->y[s->n] = value;
    s->n++;
changed:
    if (strcmp(name, tui.metric) == 0) tui.plot_dirty = 1;
}

void tui_runs_free(void) {
    for (int i = 0; i < tui.nruns; i++) run_free(tui.runs[i]);
    tui.nruns = 0;
    tui.cur = NULL;
}

/* ---- rendering ------------------------------------------------------------------------ */

/* The runs that have the metric, oldest first (at most PLOT_MAX_RUNS). */
static int plotted(tui_run **out) {
    int n = 0;
    for (int i = tui.nruns - 1; i >= 0 && n < PLOT_MAX_RUNS; i--)
        if (tui_run_find(tui.runs[i], tui.metric)) out[n++] = tui.runs[i];
    for (int i = 0; i < n / 2; i++) { /* oldest first, so the newest is drawn on top */
        tui_run *t = out[i];
        out[i] = out[n - 1 - i];
        out[n - 1 - i] = t;
    }
    return n;
}

static int ensure_gnuplot(void) {
    if (tui.gp && !cwb_gnuplot_dead(tui.gp)) return 1;
    if (tui.gp) {
        cwb_gnuplot_close(tui.gp);
        tui.gp = NULL;
    }
    if (tui.gp_failed) return 0;
    tui.gp = cwb_gnuplot_open(tui.gp_msg, sizeof tui.gp_msg);
    if (!tui.gp) {
        tui.gp_failed = 1;
        tui_msg(TUI_ATTR_INFO, "%s; the curve pane draws without it", tui.gp_msg);
        return 0;
    }
    cwb_gnuplot_set_timeout(tui.gp, 5000);
    return 1;
}

/* Send the runs' points as datablocks $r<serial>, at most maxpts per run:
 * a longer series is cut into buckets and each bucket sends its mean, so
 * the pane shows the trend of a noisy loss rather than a sample of it. */
static int send_blocks(struct cwb_gnuplot *g, tui_run **runs, int n, int maxpts) {
    double *bx = malloc((size_t)maxpts * 2 * sizeof *bx);
    if (!bx) return -1;
    double *by = bx + maxpts;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const tui_series *s = tui_run_find(runs[i], tui.metric);
        int k = 0, every = s->n > maxpts ? (s->n + maxpts - 1) / maxpts : 1;
        for (int j = 0; j < s->n && k < maxpts; j += every) {
            int end = j + every < s->n ? j + every : s->n, m = 0;
            double sx = 0, sy = 0;
            for (int q = j; q < end; q++)
                if (isfinite(s->y[q])) {
                    sx += s->x[q];
                    sy += s->y[q];
                    m++;
                }
            bx[k] = m ? sx / m : s->x[j];
            by[k++] = m ? sy / m : NAN;
        }
        char name[32];
        snprintf(name, sizeof name, "r%d", runs[i]->serial);
        const double *cols[2] = {bx, by};
        rc = cwb_gnuplot_datablock(g, name, 2, (size_t)k, cols);
    }
    free(bx);
    return rc;
}

/* Step tics a round distance apart, few enough for the width, labelled
 * short (500, 20k, 1.5M) so that they never run into each other. */
static size_t xtics(char *s, size_t cap, tui_run **runs, int n, int want) {
    double hi = 0;
    for (int i = 0; i < n; i++) {
        const tui_series *se = tui_run_find(runs[i], tui.metric);
        if (se->x[se->n - 1] > hi) hi = se->x[se->n - 1];
    }
    if (want < 2) want = 2;
    if (hi <= 0) return (size_t)snprintf(s, cap, "set xtics autofreq\n");
    double raw = hi / want, mag = pow(10, floor(log10(raw))), step = mag;
    if (raw / mag > 5) step = 10 * mag;
    else if (raw / mag > 2) step = 5 * mag;
    else if (raw / mag > 1) step = 2 * mag;
    const char *fmt = step >= 1e6 ? (fmod(step, 1e6) == 0 ? "%.0s%c" : "%.1s%c")
                      : step >= 1e3 ? (fmod(step, 1e3) == 0 ? "%.0s%c" : "%.1s%c")
                                    : "%g";
    return (size_t)snprintf(s, cap, "set xtics 0,%g\nset format x '%s'\nset format y '%%g'\n",
                            step, fmt);
}

/* The plot command for the runs; pretty adds titles and labels (PNG, window). */
static char *plot_script(tui_run **runs, int n, int pretty) {
    size_t cap = 512 + (size_t)n * 200;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t len = 0;
    char q[200];
    len += (size_t)snprintf(s + len, cap - len, "set border 3\nset tics nomirror\n");
    len += xtics(s + len, cap - len, runs, n, pretty ? 10 : tui.plot_w / 12);
    if (pretty) {
        cwb_gnuplot_quote(q, sizeof q, tui.metric);
        len += (size_t)snprintf(s + len, cap - len,
                                "set title 'cwb: %s' \nset xlabel 'step'\nset ylabel %s\n"
                                "set key outside right\nset grid\n",
                                tui.metric, q);
    } else if (n <= 6)
        len += (size_t)snprintf(s + len, cap - len, "set key top right\n");
    else len += (size_t)snprintf(s + len, cap - len, "unset key\n");
    len += (size_t)snprintf(s + len, cap - len, "plot ");
    for (int i = 0; i < n; i++) {
        cwb_gnuplot_quote(q, sizeof q, runs[i]->name);
        len += (size_t)snprintf(s + len, cap - len,
                                "%s$r%d using 1:2 with lines lw %d lc rgb '%s' title %s",
                                i ? ", " : "", runs[i]->serial, pretty ? 2 : 1,
                                COLOR_NAMES[runs[i]->color], q);
    }
    snprintf(s + len, cap - len, "\n");
    return s;
}

/* Without gnuplot: the points in coloured cells, y labels at the left. */
static void builtin_plot(tui_run **runs, int n, tui_cell *cells, int h, int w) {
    for (int i = 0; i < h * w; i++) cells[i] = (tui_cell){' ', -1, 0};
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < n; i++) {
        const tui_series *s = tui_run_find(runs[i], tui.metric);
        for (int j = 0; j < s->n; j++) {
            if (!isfinite(s->y[j])) continue;
            if (s->x[j] < x0) x0 = s->x[j];
            if (s->x[j] > x1) x1 = s->x[j];
            if (s->y[j] < y0) y0 = s->y[j];
            if (s->y[j] > y1) y1 = s->y[j];
        }
    }
    if (!(x1 >= x0) || !(y1 >= y0) || h < 3 || w < 12) return;
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) y1 = y0 + 1;
    int lw = 9, gh = h - 1, gw = w - lw;
    char lab[32];
    for (int k = 0; k < 3; k++) {
        int row = k == 0 ? 0 : k == 1 ? (gh - 1) / 2 : gh - 1;
        snprintf(lab, sizeof lab, "%8.3g", y1 - (y1 - y0) * row / (gh > 1 ? gh - 1 : 1));
        for (int c = 0; c < 8 && lab[c]; c++) cells[row * w + c].ch = lab[c];
    }
    for (int y = 0; y < gh; y++) cells[y * w + lw - 1].ch = '|';
    for (int x = lw - 1; x < w; x++) cells[gh * w + x].ch = '-';
    snprintf(lab, sizeof lab, "%.0f", x0);
    for (int c = 0; lab[c] && lw + c < w; c++) cells[gh * w + lw + c].ch = lab[c];
    snprintf(lab, sizeof lab, "%.0f", x1);
    int len = (int)strlen(lab);
    for (int c = 0; c < len && w - len + c >= lw; c++) cells[gh * w + w - len + c].ch = lab[c];
    for (int i = 0; i < n; i++) {
        const tui_series *s = tui_run_find(runs[i], tui.metric);
        for (int j = 0; j < s->n; j++) {
            if (!isfinite(s->y[j])) continue;
            int cx = lw + (int)lround((s->x[j] - x0) / (x1 - x0) * (gw - 1));
            int cy = (int)lround((y1 - s->y[j]) / (y1 - y0) * (gh - 1));
            if (cx >= lw && cx < w && cy >= 0 && cy < gh)
                cells[cy * w + cx] = (tui_cell){'*', (signed char)runs[i]->color, 1};
        }
    }
}

static void window_update(tui_run **runs, int n) {
    if (!tui.gpwin || n == 0) return;
    double now = tui_now();
    if (now < tui.win_next) return;
    tui.win_next = now + WINDOW_PERIOD;
    char *script = plot_script(runs, n, 1);
    if (!script) return;
    cwb_plot_target t = {CWB_PLOT_WINDOW, NULL, 900, 560, 0};
    if (send_blocks(tui.gpwin, runs, n, 2048) != 0 ||
        cwb_gnuplot_render(tui.gpwin, &t, script, NULL) != 0) {
        tui_msg(TUI_ATTR_ERROR, "plot window: %s", cwb_gnuplot_errmsg(tui.gpwin));
        cwb_gnuplot_close(tui.gpwin);
        tui.gpwin = NULL;
    }
    free(script);
}

void tui_plot_update(int force) {
    if (!tui.curses_on || !tui.lo.ok) return;
    int h = tui.lo.plot.h - 2, w = tui.lo.plot.w - 2;
    if (h <= 0 || w <= 0) return;
    if (h != tui.plot_h || w != tui.plot_w || !tui.plot_cells) {
        tui_cell *c = realloc(tui.plot_cells, (size_t)h * (size_t)w * sizeof *c);
        if (!c) return;
        tui.plot_cells = c;
        tui.plot_h = h;
        tui.plot_w = w;
        for (int i = 0; i < h * w; i++) c[i] = (tui_cell){' ', -1, 0};
        force = 1;
    }
    double now = tui_now();
    if (!force && (!tui.plot_dirty || now < tui.plot_next)) return;
    tui.plot_dirty = 0;
    tui_run *runs[PLOT_MAX_RUNS];
    int n = plotted(runs);
    if (n == 0) {
        for (int i = 0; i < h * w; i++) tui.plot_cells[i] = (tui_cell){' ', -1, 0};
        tui.need_draw = 1;
        return;
    }
    double t0 = now;
    int drawn = 0;
    if (ensure_gnuplot()) {
        char *script = plot_script(runs, n, 0);
        char *text = NULL;
        cwb_plot_target t = {CWB_PLOT_DUMB, NULL, w, h, 1};
        if (script && send_blocks(tui.gp, runs, n, 3 * w) == 0 &&
            cwb_gnuplot_render(tui.gp, &t, script, &text) == 0 && text) {
            tui_ansi_grid(text, strlen(text), tui.plot_cells, h, w);
            drawn = 1;
        } else if (tui.gp && cwb_gnuplot_errmsg(tui.gp)[0]) {
            tui_msg(TUI_ATTR_ERROR, "curve pane: %s", cwb_gnuplot_errmsg(tui.gp));
        }
        free(text);
        free(script);
    }
    if (!drawn) builtin_plot(runs, n, tui.plot_cells, h, w);
    window_update(runs, n);
    double cost = tui_now() - t0;
    tui.plot_cost = cost;
    double wait = cost / PLOT_BUDGET;
    tui.plot_next = now + (wait > PLOT_MIN_PERIOD ? wait : PLOT_MIN_PERIOD);
    tui.need_draw = 1;
}

void tui_plot_draw(cwb_rect r) {
    int any = 0;
    for (int i = 0; i < tui.nruns && !any; i++) any = tui_run_find(tui.runs[i], tui.metric) != NULL;
    if (!any || !tui.plot_cells || tui.plot_h != r.h || tui.plot_w != r.w) {
        char msg[160];
        snprintf(msg, sizeof msg, tui.nruns ? "no '%s' values yet (show \"metric\" picks another)"
                                            : "no runs yet: run \"recipe.lua\" or a trainer's run{}",
                 tui.metric);
        tui_draw_note(r, msg);
        return;
    }
    for (int y = 0; y < r.h; y++) {
        move(r.y + y, r.x);
        for (int x = 0; x < r.w; x++) {
            const tui_cell *c = &tui.plot_cells[y * r.w + x];
            int a = tui_color_attr(c->fg, c->bold);
            addch((chtype)(unsigned char)c->ch | (chtype)a);
        }
    }
}

/* ---- PNG and window ------------------------------------------------------------------ */

int tui_plot_png(const char *path, char *err, size_t errlen) {
    tui_run *runs[PLOT_MAX_RUNS];
    int n = plotted(runs);
    if (n == 0) {
        snprintf(err, errlen, "png: no '%s' curves to save yet", tui.metric);
        return -1;
    }
    char def[1200];
    if (!path || !*path) {
        const char *dir = cwb_lua_outdir();
        snprintf(def, sizeof def, "%s/cwb-%s.png", dir && *dir ? dir : ".", tui.metric);
        path = def;
    }
    if (!ensure_gnuplot()) {
        snprintf(err, errlen, "png: %s", tui.gp_msg);
        return -1;
    }
    char *script = plot_script(runs, n, 1);
    cwb_plot_target t = {CWB_PLOT_PNG, path, 1000, 600, 0};
    int rc = script ? send_blocks(tui.gp, runs, n, 2048) : -1;
    if (rc == 0) rc = cwb_gnuplot_render(tui.gp, &t, script, NULL);
    free(script);
    if (rc != 0) snprintf(err, errlen, "png: %s", cwb_gnuplot_errmsg(tui.gp));
    else snprintf(err, errlen, "saved the %s curves of %d run%s to %s", tui.metric, n,
                  n == 1 ? "" : "s", path);
    tui.plot_dirty = 1; /* the dumb figure is drawn again with the pane's blocks */
    return rc;
}

int tui_plot_window(int on, char *err, size_t errlen) {
    if (!on) {
        if (tui.gpwin) cwb_gnuplot_close(tui.gpwin);
        tui.gpwin = NULL;
        snprintf(err, errlen, "plot window closed");
        return 0;
    }
    const char *d = getenv("DISPLAY"), *wd = getenv("WAYLAND_DISPLAY");
    if ((!d || !*d) && (!wd || !*wd)) {
        snprintf(err, errlen, "plot window: no display (DISPLAY is not set)");
        return -1;
    }
    if (tui.gpwin) {
        snprintf(err, errlen, "plot window already open");
        return 0;
    }
    tui.gpwin = cwb_gnuplot_open(err, errlen);
    if (!tui.gpwin) return -1;
    tui.win_next = 0;
    tui.plot_dirty = 1;
    snprintf(err, errlen, "plot window open: it follows the curve pane");
    return 0;
}

/* Start gnuplot before the first run needs it, so that no run pays for it. */
void tui_plot_warm(void) { ensure_gnuplot(); }

void tui_plot_close(void) {
    if (tui.gp) cwb_gnuplot_close(tui.gp);
    if (tui.gpwin) cwb_gnuplot_close(tui.gpwin);
    tui.gp = tui.gpwin = NULL;
    free(tui.plot_cells);
    tui.plot_cells = NULL;
    tui.plot_h = tui.plot_w = 0;
}
