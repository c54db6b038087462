/*
 * tui_export.c - png() and svg(): the curve pane and the geometry pane into
 * files, for slides.
 *
 * The terminal follows the file's extension (".svg" SVG, else PNG:
 * plot/figure.h), so png("/tmp/x/slide.svg") writes an SVG.  Without a
 * path a file is named after the run the panes show (the one going on, else
 * the last): OUTDIR/<run>-<metric>.png and OUTDIR/<run>-geometry.png (.svg
 * for svg()), the run's name kept to letters, digits and ._=+- ("temperature
 * tau=0.05" -> "temperature-tau=0.05"), and "-2", "-3", ... added when the
 * name is taken, so pressing F2 twice keeps both figures.  The figures are
 * drawn through the pane's own gnuplot.
 */
#include "ui/tui_internal.h"
#include "lua/lcwb.h"
#include "plot/figure.h"
#include "plot/gnuplot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The run the panes show: the one going on, else the last; NULL before any. */
static const tui_run *shown_run(void) {
    return tui.cur ? tui.cur : tui.nruns > 0 ? tui.runs[tui.nruns - 1] : NULL;
}

/* OUTDIR/<run>-WHAT.EXT, or -2, -3, ... before the extension when taken. */
static void named(char *buf, size_t len, const char *what, const char *ext) {
    const char *dir = cwb_lua_outdir();
    const tui_run *r = shown_run();
    char base[100];
    size_t k = 0;
    for (const char *p = r ? r->name : "cwb"; *p && k + 1 < sizeof base; p++) {
        int c = (unsigned char)*p;
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   strchr("._=+-", c);
        if (keep) base[k++] = (char)c;
        else if (k > 0 && base[k - 1] != '-') base[k++] = '-';
    }
    while (k > 0 && base[k - 1] == '-') k--;
    base[k] = '\0';
    struct stat st;
    for (int n = 1; n < 100000; n++) {
        if (n == 1) snprintf(buf, len, "%s/%s-%s%s", dir && *dir ? dir : ".", k ? base : "cwb", what, ext);
        else snprintf(buf, len, "%s/%s-%s-%d%s", dir && *dir ? dir : ".", k ? base : "cwb", what, n, ext);
        if (stat(buf, &st) != 0) return;
    }
}

static int save(cwb_figure *f, const char *path, int w, int h, const char *what, char *msg,
                size_t len) {
    if (!tui_plot_gnuplot()) {
        snprintf(msg, len, "png: %s", tui.gp_msg);
        return -1;
    }
    cwb_plot_target t = {cwb_plot_term_for_file(path), path, w, h, 0};
    char err[800];
    int rc = cwb_figure_render(f, tui.gp, &t, NULL, err, sizeof err);
    if (rc) snprintf(msg, len, "png: %s", err);
    else snprintf(msg, len, "saved %s to %s", what, path);
    tui.plot_dirty = 1; /* the pane is drawn again with its own datablocks */
    return rc;
}

int tui_plot_png(const char *path, const char *ext, char *msg, size_t len) {
    cwb_figure fig;
    if (tui_plot_figure(&fig, 1, 1000, 600)) {
        snprintf(msg, len, "png: no '%s' curves to save yet", tui.metric);
        return -1;
    }
    char def[1200], what[160];
    if (!path || !*path) {
        named(def, sizeof def, tui.metric, ext);
        path = def;
    }
    int n = fig.p[0].ns;
    snprintf(what, sizeof what, "the %s curves of %d run%s", tui.metric, n, n == 1 ? "" : "s");
    int rc = save(&fig, path, 1000, 600, what, msg, len);
    cwb_figure_free(&fig);
    return rc;
}

int tui_geom_png(const char *path, const char *ext, char *msg, size_t len) {
    if (!tui.g_valid || tui.gn < 1) {
        snprintf(msg, len, "png: the geometry pane is empty (it fills during a trainer run)");
        return -1;
    }
    cwb_figure fig;
    cwb_fig_panel *p = cwb_figure_init(&fig, 1, 1) == 0 ? cwb_figure_add_panel(&fig) : NULL;
    int m = tui.gn;
    double *xy = p ? malloc((size_t)m * 2 * sizeof *xy) : NULL;
    if (!xy) {
        cwb_figure_free(&fig);
        snprintf(msg, len, "png: out of memory");
        return -1;
    }
    const char *shown;
    tui_geom_colour(&shown);
    const int by_class = strcmp(shown, "class") == 0 && tui.glab;
    int K = 1;
    if (by_class)
        for (int i = 0; i < m; i++)
            if (tui.glab[i] + 1 > K) K = tui.glab[i] + 1;
    /* As the pane: one colour per class (view a as larger points, view b as
     * smaller ones of the same colour), or one per view.  The plane holds
     * view a's points 0..m-1 then view b's m..2m-1 (x, y interleaved). */
    for (int c = 0; c < (by_class ? K : 1); c++)
        for (int v = 0; v < 2; v++) {
            size_t k = 0;
            for (int i = 0; i < m; i++) {
                if (by_class && tui.glab[i] != c) continue;
                xy[k] = tui.gpts[2 * (v * m + i)];
                xy[m + k] = tui.gpts[2 * (v * m + i) + 1];
                k++;
            }
            if (!k) continue;
            cwb_fig_series *s = cwb_fig_add_series(p, xy, xy + m, k);
            if (!s) continue;
            s->points = 1;
            s->size = v ? 0.35 : 0.6;
            s->key = by_class ? c : v;
            char label[48];
            if (!by_class) snprintf(label, sizeof label, "%s", v ? "view b" : "view a");
            else if (v == 0) snprintf(label, sizeof label, "class %d", c + 1);
            else label[0] = '\0'; /* the class's colour is already in the legend */
            if (*label) cwb_fig_set_str(&s->label, label);
        }
    double cx[2] = {tui.ca[0], tui.cb[0]}, cy[2] = {tui.ca[1], tui.cb[1]};
    cwb_fig_series *gap = cwb_fig_add_series(p, cx, cy, 2);
    if (gap) {
        gap->points = 0;
        gap->width = 2;
        snprintf(gap->color, sizeof gap->color, "black");
        cwb_fig_set_str(&gap->label, "gap (centroid a to b)");
    }
    free(xy);
    char title[300];
    const tui_run *run = shown_run();
    snprintf(title, sizeof title, "%s%s%s: align %.3f, unif %.3f, gap %.3f", run ? run->name : "",
             run ? ", " : "", tui_geom_title(120), tui.g_align, tui.g_unif, tui.g_gap);
    cwb_fig_set_str(&fig.title, title);
    cwb_fig_set_str(&p->xlabel, "axis 1");
    cwb_fig_set_str(&p->ylabel, "axis 2");
    snprintf(p->key, sizeof p->key, "below");
    p->equal_scales = 1;   /* distances as the projection has them, as in the pane */
    char def[1200];
    if (!path || !*path) {
        named(def, sizeof def, "geometry", ext);
        path = def;
    }
    int rc = save(&fig, path, 900, 700, "the geometry pane", msg, len);
    cwb_figure_free(&fig);
    return rc;
}

int tui_panes_save(const char *ext) {
    char msg[1400];
    int saved = 0;
    if (tui_plot_png(NULL, ext, msg, sizeof msg) == 0) saved++;
    tui_msg(saved ? TUI_ATTR_INFO : TUI_ATTR_ERROR, "%s", msg);
    if (tui.g_valid && tui.gn > 0) {
        int rc = tui_geom_png(NULL, ext, msg, sizeof msg);
        saved += rc == 0;
        tui_msg(rc == 0 ? TUI_ATTR_INFO : TUI_ATTR_ERROR, "%s", msg);
    }
    return saved ? 0 : -1;
}
