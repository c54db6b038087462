/*
 * runs_plot.c - a figure of a recorded run's metric (runs_plot.h), for
 * `cwb runs plot` and cwb.runs.plot.
 */
#include "plot/runs_plot.h"
#include "plot/gnuplot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char recipe[128], name[128];
} run_names;

static int grab_names(const cwb_run_info *r, void *ud) {
    run_names *n = ud;
    snprintf(n->recipe, sizeof n->recipe, "%s", r->recipe);
    snprintf(n->name, sizeof n->name, "%s", r->name);
    return 0;
}

static int append_name(const cwb_metric_summary *m, void *ud) {
    char *list = ud;
    size_t n = strlen(list);
    if (n + strlen(m->name) + 3 < 512)
        snprintf(list + n, 512 - n, "%s%s", n ? ", " : "", m->name);
    return 0;
}

int cwb_plot_run(cwb_store *s, int64_t id, const char *metric, const char *file, int width,
                  int height, char **text, char *err, size_t errlen) {
    if (text) *text = NULL;
    run_names rn;
    int r = cwb_store_run_get(s, id, grab_names, &rn);
    if (r < 0) {
        snprintf(err, errlen, "%s", cwb_store_errmsg(s));
        return -1;
    }
    if (r == 0) {
        snprintf(err, errlen, "no run %lld in %s", (long long)id, cwb_store_path(s));
        return 1;
    }
    long *steps;
    double *values;
    long n = cwb_store_metric_series(s, id, metric, &steps, &values);
    if (n < 0) {
        snprintf(err, errlen, "%s", cwb_store_errmsg(s));
        return -1;
    }
    if (n == 0) {
        char names[512] = "";
        cwb_store_metric_summaries(s, id, append_name, names);
        snprintf(err, errlen, "run %lld has no metric '%s' (it has: %s)", (long long)id, metric,
                 *names ? names : "none");
        return 1;
    }
    double *x = malloc((size_t)n * sizeof *x);
    if (!x) {
        free(steps);
        free(values);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (long i = 0; i < n; i++) x[i] = (double)steps[i];
    free(steps);

    int rc = 0;
    cwb_gnuplot *g = cwb_gnuplot_open(err, errlen);
    if (!g) {
        free(x);
        free(values);
        return -1;
    }
    const double *cols[2] = {x, values};
    char title[600], qt[1300], qm[600], script[4096];
    snprintf(title, sizeof title, "run %lld: %s / %s", (long long)id, rn.recipe, rn.name);
    cwb_gnuplot_quote(qt, sizeof qt, title);
    cwb_gnuplot_quote(qm, sizeof qm, metric);
    snprintf(script, sizeof script,
             "set title %s\nset xlabel 'step'\nset ylabel %s\nset key off\nset grid\n"
             "plot $m using 1:2 with lines lw 1.5 lc rgb '#1f77b4' title %s\n",
             qt, qm, qm);
    cwb_plot_target t = {0};
    if (file) {
        size_t fl = strlen(file);
        t.term = fl > 4 && strcmp(file + fl - 4, ".svg") == 0 ? CWB_PLOT_SVG : CWB_PLOT_PNG;
        t.output = file;
    } else {
        t.term = CWB_PLOT_DUMB;
        t.width = width;
        t.height = height;
    }
    if (cwb_gnuplot_datablock(g, "m", 2, (size_t)n, cols) ||
        cwb_gnuplot_render(g, &t, script, t.term == CWB_PLOT_DUMB ? text : NULL)) {
        snprintf(err, errlen, "%s", cwb_gnuplot_errmsg(g));
        rc = -1;
    }
    cwb_gnuplot_close(g);
    free(x);
    free(values);
    return rc;
}

