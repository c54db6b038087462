/*
 * tui_plot.c - the runs the workbench has seen and the curve pane.
 *
 * Every run's metrics are kept in memory, thinned so that a long run costs
 * a bounded amount; metrics a recipe records itself (cwb.runs.log) arrive
 * through the observer, and show("name") reads the rest from the run store.
 * The curve pane overlays the chosen metric of the runs it shows -- by
 * default the TUI_PLOT_DEFAULT_RUNS most recent, since 40 curves in a text
 * pane are a wall; only(...), hide(...) and show(metric, n) choose -- as a
 * figure of the figure model (plot/figure.h): a colour per run that stays
 * with the run, a legend of what differs between the runs (plot/legend.h)
 * placed beside or under the axes, never over a curve, and the reference
 * lines the recipe recorded.  gnuplot's dumb terminal draws it with ANSI
 * colours, read back into coloured cells; without gnuplot a small built-in
 * plotter draws the same figure.  Rendering is throttled: never more than 4
 * times a second and, measured, at most ~1.5% of the time.
 */
#include "ui/tui_internal.h"
#include "lua/lcwb.h"
#include "plot/figure.h"
#include "plot/gnuplot.h"
#include "plot/legend.h"
#include "store/store.h"

#include <curses.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_MIN_PERIOD 0.25   /* seconds between renders, at most 4 per second */
#define PLOT_BUDGET 0.015      /* fraction of the time the curves may take */
#define WINDOW_PERIOD 1.0

/* ---- runs and series ---------------------------------------------------------------- */

static void run_free(tui_run *r) {
    if (!r) return;
    for (int i = 0; i < r->nseries; i++) {
        free(r->series[i].x);
        free(r->series[i].y);
    }
    free(r->params);
    free(r);
}

/* The legend labels of the runs shown last, by serial: they change only
 * when the set of runs shown does. */
static struct {
    int serial[TUI_PLOT_MAX_RUNS];
    char *label[TUI_PLOT_MAX_RUNS];
    int n;
} labels;

static void labels_free(void) {
    for (int i = 0; i < labels.n; i++) free(labels.label[i]);
    labels.n = 0;
}

tui_run *tui_run_new(const char *name, const char *params, long total, int64_t id) {
    tui_run *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->params = strdup(params && *params ? params : "{}");
    if (!r->params) {
        free(r);
        return NULL;
    }
    if (tui.nruns == TUI_MAX_RUNS) { /* forget the oldest finished run */
        int k = 0;
        while (k < tui.nruns && tui.runs[k]->active) k++;
        if (k == tui.nruns) {
            run_free(r);
            return NULL;
        }
        run_free(tui.runs[k]);
        memmove(tui.runs + k, tui.runs + k + 1, (size_t)(tui.nruns - k - 1) * sizeof *tui.runs);
        tui.nruns--;
        tui.forgotten++;
        labels_free();
    }
    r->serial = ++tui.serial;
    snprintf(r->name, sizeof r->name, "%s", name && *name ? name : "run");
    r->id = id;
    r->total = total;
    r->t0 = r->rate_t = tui_now();
    snprintf(r->status, sizeof r->status, "running");
    r->active = 1;
    tui.runs[tui.nruns++] = r;
    return r;
}

tui_run *tui_run_by_id(int64_t id) {
    for (int i = tui.nruns - 1; id > 0 && i >= 0; i--)
        if (tui.runs[i]->id == id) return tui.runs[i];
    return NULL;
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

void tui_run_ref(tui_run *r, const char *metric, double y, const char *label) {
    tui_ref *f = NULL;
    for (int i = 0; i < r->nrefs && !f; i++)
        if (strcmp(r->refs[i].metric, metric) == 0 && r->refs[i].y == y) f = &r->refs[i];
    if (!f) {
        if (r->nrefs == TUI_MAX_REFS) return;
        f = &r->refs[r->nrefs++];
    }
    snprintf(f->metric, sizeof f->metric, "%s", metric);
    f->y = y;
    snprintf(f->label, sizeof f->label, "%s", label ? label : "");
    if (strcmp(metric, tui.metric) == 0) tui.plot_dirty = 1;
}

/* A recorded run joins the workbench, named as in the store, with its knob
 * changes as markers (its metrics come with tui_runs_load). */
typedef struct {
    char name[96];
    char *params;
} stored_run;

static int grab_run(const cwb_run_info *r, void *ud) {
    stored_run *sr = ud;
    snprintf(sr->name, sizeof sr->name, "%s", r->name);
    sr->params = strdup(r->params ? r->params : "{}");
    return 0;
}

static int load_mark(long step, const char *kind, const char *name, double value, void *ud) {
    if (strcmp(kind, "knob") == 0) tui_run_mark(ud, step, name, value);
    return 0;
}

tui_run *tui_run_stored(lua_State *L, int64_t id) {
    tui_run *r = tui_run_by_id(id);
    if (r) return r;
    cwb_store *s = cwb_lua_store(L);
    stored_run sr = {"", NULL};
    if (!s || cwb_store_run_get(s, id, grab_run, &sr) != 1) return NULL;
    r = tui_run_new(sr.name, sr.params, 0, id);
    free(sr.params);
    if (!r) return NULL;
    r->active = 0;
    r->t1 = tui_now();
    snprintf(r->status, sizeof r->status, "recorded");
    cwb_store_events(s, id, load_mark, r);
    return r;
}

static int load_ref(const char *metric, double value, const char *label, void *ud) {
    tui_run_ref(ud, metric, value, label);
    return 0;
}

int tui_runs_load(const char *metric) {
    cwb_store *s = NULL;
    for (int i = 0; i < tui.nruns; i++) {
        tui_run *r = tui.runs[i];
        if (r->id <= 0) continue;
        if (!s && !(s = cwb_lua_store(tui_lua()))) return -1;
        if (!tui_run_find(r, metric)) {
            long *steps;
            double *values;
            long n = cwb_store_metric_series(s, r->id, metric, &steps, &values);
            for (long k = 0; k < n; k++) tui_run_metric(r, steps[k], metric, values[k]);
            free(steps);
            free(values);
        }
        cwb_store_refs(s, r->id, metric, load_ref, r);
    }
    return 0;
}

void tui_runs_free(void) {
    for (int i = 0; i < tui.nruns; i++) run_free(tui.runs[i]);
    tui.nruns = 0;
    tui.cur = NULL;
    labels_free();
}

void tui_runs_forget(void) {
    int k = 0;
    for (int i = 0; i < tui.nruns; i++) {
        if (tui.runs[i]->active) tui.runs[k++] = tui.runs[i];
        else run_free(tui.runs[i]);
    }
    tui.nruns = k;
    tui.forgotten = 0;
    labels_free();
    tui.plot_dirty = 1;
}

/* ---- which runs the pane shows ---------------------------------------------------- */

/* "tau=0.5" matches a run whose parameters hold "tau": 0.5 at any depth:
 * numbers compare as numbers to float precision (a float parameter is
 * recorded as 0.899999976 where the user wrote 0.9), strings as text. */
static int params_match(const char *params, const char *pat) {
    const char *eq = strchr(pat, '=');
    if (!eq || eq == pat || !params) return 0;
    char key[80];
    snprintf(key, sizeof key, "\"%.*s\":", (int)(eq - pat) < 70 ? (int)(eq - pat) : 70, pat);
    const char *want = eq + 1;
    char *end;
    double wv = strtod(want, &end);
    int want_num = end != want && *end == '\0';
    size_t wl = strlen(want);
    for (const char *at = strstr(params, key); at; at = strstr(at + 1, key)) {
        const char *v = at + strlen(key);
        while (*v == ' ') v++;
        if (*v == '"') {
            if (strncmp(v + 1, want, wl) == 0 && v[1 + wl] == '"') return 1;
        } else if (want_num) {
            double pv = strtod(v, &end);
            double scale = fabs(pv) > fabs(wv) ? fabs(pv) : fabs(wv);
            if (end != v && fabs(pv - wv) <= 1e-6 * (scale > 1e-30 ? scale : 1)) return 1;
        } else if (strncmp(v, want, wl) == 0 && strchr(",}] ", v[wl])) {
            return 1;   /* true, false, null */
        }
    }
    return 0;
}

int tui_run_matches(const tui_run *r, const tui_sel *s) {
    if (s->id > 0) return r->id == s->id;
    return strstr(r->name, s->pat) != NULL || params_match(r->params, s->pat);
}

static int selected(const tui_run *r) {
    if (r->hidden) return 0;
    if (tui.nonly == 0) return 1;
    for (int i = 0; i < tui.nonly; i++)
        if (tui_run_matches(r, &tui.only[i])) return 1;
    return 0;
}

int tui_plot_runs(tui_run **out, int *total) {
    int n = 0, all = 0;
    int limit = tui.nonly ? TUI_PLOT_MAX_RUNS : tui.show_n > 0 ? tui.show_n : TUI_PLOT_DEFAULT_RUNS;
    if (limit > TUI_PLOT_MAX_RUNS) limit = TUI_PLOT_MAX_RUNS;
    for (int i = tui.nruns - 1; i >= 0; i--) {
        if (!tui_run_find(tui.runs[i], tui.metric)) continue;
        all++;
        if (n < limit && selected(tui.runs[i])) out[n++] = tui.runs[i];
    }
    for (int i = 0; i < n / 2; i++) { /* oldest first, so the newest is drawn on top */
        tui_run *t = out[i];
        out[i] = out[n - 1 - i];
        out[n - 1 - i] = t;
    }
    if (total) *total = all;
    return n;
}

void tui_plot_caption(char *buf, size_t len) {
    tui_run *runs[TUI_PLOT_MAX_RUNS];
    int total, n = tui_plot_runs(runs, &total);
    if (n == total) snprintf(buf, len, "%d run%s", n, n == 1 ? "" : "s");
    else snprintf(buf, len, "showing %d of %d runs", n, total);
}

/* Legend labels for the runs shown: cached while the same runs are shown. */
static void shown_labels(tui_run **runs, int n) {
    int same = labels.n == n;
    for (int i = 0; i < n && same; i++) same = labels.serial[i] == runs[i]->serial;
    if (same) return;
    labels_free();
    cwb_legend_run lr[TUI_PLOT_MAX_RUNS];
    for (int i = 0; i < n; i++) lr[i] = (cwb_legend_run){runs[i]->name, runs[i]->params, runs[i]->id};
    /* without a store (recording off) the labels are the names */
    cwb_store *s = cwb_lua_store(tui_lua());
    if (cwb_legend_labels(s, lr, n, labels.label)) return;
    for (int i = 0; i < n; i++) labels.serial[i] = runs[i]->serial;
    labels.n = n;
}

static long run_key(const tui_run *r) { return r->id > 0 ? (long)r->id : r->serial; }

/* ---- the figure ---------------------------------------------------------------------- */

int tui_plot_gnuplot(void) {
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

/* A run's points, at most maxpts: a longer series is cut into buckets and
 * each bucket gives its mean, so the pane shows the trend of a noisy loss
 * rather than a sample of it.  bx, by: room for maxpts. */
static cwb_fig_series *add_run(cwb_fig_panel *p, const tui_series *s, int maxpts, double *bx,
                               double *by) {
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
    return cwb_fig_add_series(p, bx, by, (size_t)k);
}

/* Where a legend of these labels fits a w x h pane: beside the axes when
 * there is room, else under them, else nowhere (NULL). */
static const char *key_place(const cwb_fig_panel *p, int with_refs, int w, int h) {
    int entries = 0, longest = 0;
    for (int i = 0; i < p->ns + (with_refs ? p->nr : 0); i++) {
        const char *l = i < p->ns ? p->s[i].label : p->r[i - p->ns].label;
        if (!l) continue;
        entries++;
        if ((int)strlen(l) > longest) longest = (int)strlen(l);
    }
    int per_row = w / (longest + 7);
    if (entries == 0) return "off";
    if (w - (longest + 8) >= 36 && entries <= h - 4) return "outside";
    if (per_row >= 1 && (entries + per_row - 1) / per_row <= (h - 4) / 2) return "below";
    return NULL;
}

/* The pane's legend never covers a curve: it goes where it fits; when the
 * runs' entries fit only without the reference lines', those lose theirs
 * (the dashed line stays); when nothing fits it is left out (png() has it). */
static void pane_key(cwb_fig_panel *p, int w, int h) {
    const char *key = key_place(p, 1, w, h);
    if (!key && (key = key_place(p, 0, w, h)))
        for (int i = 0; i < p->nr; i++) cwb_fig_set_str(&p->r[i].label, NULL);
    snprintf(p->key, sizeof p->key, "%s", key ? key : "off");
}

int tui_plot_figure(cwb_figure *f, int pretty, int w, int h) {
    tui_run *runs[TUI_PLOT_MAX_RUNS];
    int total, n = tui_plot_runs(runs, &total);
    if (n == 0 || cwb_figure_init(f, 1, 1)) return -1;
    cwb_fig_panel *p = cwb_figure_add_panel(f);
    int maxpts = pretty ? 2048 : 3 * (w > 10 ? w : 10);
    double *bx = malloc((size_t)maxpts * 2 * sizeof *bx);
    if (!p || !bx) {
        free(bx);
        cwb_figure_free(f);
        return -1;
    }
    shown_labels(runs, n);
    for (int i = 0; i < n; i++) {
        cwb_fig_series *s = add_run(p, tui_run_find(runs[i], tui.metric), maxpts, bx, bx + maxpts);
        if (!s) continue;
        s->key = run_key(runs[i]);
        s->width = pretty ? 2 : 1;
        cwb_fig_set_str(&s->label, labels.n == n ? labels.label[i] : runs[i]->name);
    }
    free(bx);
    /* the knob changes of the runs shown, each (step, change) once */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < runs[i]->nmarks; j++) {
            const tui_mark *m = &runs[i]->marks[j];
            int dup = 0;
            for (int k = 0; k < p->nr && !dup; k++)
                dup = p->r[k].vertical && p->r[k].at == (double)m->step && p->r[k].label &&
                      strcmp(p->r[k].label, m->label) == 0;
            if (!dup) cwb_fig_add_ref(p, 1, (double)m->step, m->label);
        }
    /* the reference lines of the runs shown, each value once */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < runs[i]->nrefs; j++) {
            const tui_ref *r = &runs[i]->refs[j];
            int dup = strcmp(r->metric, tui.metric) != 0;
            for (int k = 0; k < p->nr && !dup; k++) dup = p->r[k].at == r->y;
            if (!dup) cwb_fig_add_ref(p, 0, r->y, r->label[0] ? r->label : NULL);
        }
    if (pretty) {
        char title[160];
        if (n == total) snprintf(title, sizeof title, "cwb: %s", tui.metric);
        else snprintf(title, sizeof title, "cwb: %s (%d of %d runs)", tui.metric, n, total);
        cwb_fig_set_str(&f->title, title);
        cwb_fig_set_str(&p->xlabel, "step");
        cwb_fig_set_str(&p->ylabel, tui.metric);
        snprintf(p->key, sizeof p->key, "outside");
    } else {
        p->compact = 1;
        p->nogrid = 1;
        pane_key(p, w, h);
    }
    return 0;
}

/* Without gnuplot: the points in coloured cells, y labels at the left. */
static void builtin_plot(const cwb_fig_panel *p, tui_cell *cells, int h, int w) {
    for (int i = 0; i < h * w; i++) cells[i] = (tui_cell){' ', -1, 0};
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < p->ns; i++) {
        const cwb_fig_series *s = &p->s[i];
        for (size_t j = 0; j < s->n; j++) {
            if (!isfinite(s->y[j])) continue;
            if (s->x[j] < x0) x0 = s->x[j];
            if (s->x[j] > x1) x1 = s->x[j];
            if (s->y[j] < y0) y0 = s->y[j];
            if (s->y[j] > y1) y1 = s->y[j];
        }
    }
    for (int i = 0; i < p->nr; i++)
        if (!p->r[i].vertical) {
            if (p->r[i].at < y0) y0 = p->r[i].at;
            if (p->r[i].at > y1) y1 = p->r[i].at;
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
    for (int i = 0; i < p->nr; i++) {
        if (p->r[i].vertical) continue;
        int cy = (int)lround((y1 - p->r[i].at) / (y1 - y0) * (gh - 1));
        for (int x = lw; x < w && cy >= 0 && cy < gh; x += 2) cells[cy * w + x].ch = '-';
    }
    int pal[TUI_PLOT_MAX_RUNS];
    if (p->ns > TUI_PLOT_MAX_RUNS) return;
    cwb_fig_colors(p, pal);
    for (int i = 0; i < p->ns; i++) {
        const cwb_fig_series *s = &p->s[i];
        int fg, bold;
        cwb_palette_ansi(pal[i] >= 0 ? pal[i] : i, &fg, &bold);
        for (size_t j = 0; j < s->n; j++) {
            if (!isfinite(s->y[j])) continue;
            int cx = lw + (int)lround((s->x[j] - x0) / (x1 - x0) * (gw - 1));
            int cy = (int)lround((y1 - s->y[j]) / (y1 - y0) * (gh - 1));
            if (cx >= lw && cx < w && cy >= 0 && cy < gh)
                cells[cy * w + cx] = (tui_cell){'*', (signed char)fg, (unsigned char)bold};
        }
    }
}

static void window_update(void) {
    if (!tui.gpwin) return;
    double now = tui_now();
    if (now < tui.win_next) return;
    tui.win_next = now + WINDOW_PERIOD;
    cwb_figure fig;
    if (tui_plot_figure(&fig, 1, 900, 560)) return;
    cwb_plot_target t = {CWB_PLOT_WINDOW, NULL, 900, 560, 0};
    char err[600];
    if (cwb_figure_render(&fig, tui.gpwin, &t, NULL, err, sizeof err) != 0) {
        tui_msg(TUI_ATTR_ERROR, "plot window: %s", err);
        cwb_gnuplot_close(tui.gpwin);
        tui.gpwin = NULL;
    }
    cwb_figure_free(&fig);
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
    cwb_figure fig;
    if (tui_plot_figure(&fig, 0, w, h)) {
        for (int i = 0; i < h * w; i++) tui.plot_cells[i] = (tui_cell){' ', -1, 0};
        tui.need_draw = 1;
        return;
    }
    double t0 = now;
    int drawn = 0;
    if (tui_plot_gnuplot()) {
        char *text = NULL, err[600];
        cwb_plot_target t = {CWB_PLOT_DUMB, NULL, w, h, 1};
        if (cwb_figure_render(&fig, tui.gp, &t, &text, err, sizeof err) == 0 && text) {
            tui_ansi_grid(text, strlen(text), tui.plot_cells, h, w);
            drawn = 1;
        } else if (*err) {
            tui_msg(TUI_ATTR_ERROR, "curve pane: %s", err);
        }
        free(text);
    }
    if (!drawn) builtin_plot(&fig.p[0], tui.plot_cells, h, w);
    cwb_figure_free(&fig);
    window_update();
    double cost = tui_now() - t0;
    tui.plot_cost = cost;
    double wait = cost / PLOT_BUDGET;
    tui.plot_next = now + (wait > PLOT_MIN_PERIOD ? wait : PLOT_MIN_PERIOD);
    tui.need_draw = 1;
}

void tui_plot_draw(cwb_rect r) {
    int any = 0;
    for (int i = 0; i < tui.nruns && !any; i++) any = tui_run_find(tui.runs[i], tui.metric) != NULL;
    tui_run *runs[TUI_PLOT_MAX_RUNS];
    int shown = any ? tui_plot_runs(runs, NULL) : 0;
    if (!shown || !tui.plot_cells || tui.plot_h != r.h || tui.plot_w != r.w) {
        char msg[160];
        if (any)
            snprintf(msg, sizeof msg, "every run with '%s' is hidden: only() shows them again",
                     tui.metric);
        else
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

/* ---- window ----------------------------------------------------------------------------- */

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
void tui_plot_warm(void) { tui_plot_gnuplot(); }

void tui_plot_close(void) {
    if (tui.gp) cwb_gnuplot_close(tui.gp);
    if (tui.gpwin) cwb_gnuplot_close(tui.gpwin);
    tui.gp = tui.gpwin = NULL;
    free(tui.plot_cells);
    tui.plot_cells = NULL;
    tui.plot_h = tui.plot_w = 0;
}
