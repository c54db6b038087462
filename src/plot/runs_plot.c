/*
 * runs_plot.c - a figure of recorded runs' metric (runs_plot.h), for
 * `cwb runs plot` and cwb.runs.plot.
 */
#include "plot/runs_plot.h"
#include "plot/figure.h"
#include "plot/gnuplot.h"
#include "plot/legend.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char recipe[128], name[128];
    char *params;
} run_names;

static int grab_names(const cwb_run_info *r, void *ud) {
    run_names *n = ud;
    snprintf(n->recipe, sizeof n->recipe, "%s", r->recipe);
    snprintf(n->name, sizeof n->name, "%s", r->name);
    n->params = strdup(r->params ? r->params : "{}");
    return 0;
}

static int append_name(const cwb_metric_summary *m, void *ud) {
    char *list = ud;
    size_t n = strlen(list);
    if (n + strlen(m->name) + 3 < 512)
        snprintf(list + n, 512 - n, "%s%s", n ? ", " : "", m->name);
    return 0;
}

/* Reference lines of every run, each value once. */
static int add_ref(const char *metric, double value, const char *label, void *ud) {
    (void)metric;
    cwb_fig_panel *p = ud;
    for (int i = 0; i < p->nr; i++)
        if (p->r[i].at == value) return 0;
    return cwb_fig_add_ref(p, 0, value, label) ? 0 : 1;
}

/* A knob change of a run as a vertical marker at its step, "tau=0.5" beside
 * it (ASCII: the text pane's cells hold ASCII), each (step, label) once. */
static int add_event(long step, const char *kind, const char *name, double value, void *ud) {
    (void)kind;
    cwb_fig_panel *p = ud;
    char label[64];
    snprintf(label, sizeof label, "%s=%.3g", name, value);
    for (int i = 0; i < p->nr; i++)
        if (p->r[i].vertical && p->r[i].at == (double)step && p->r[i].label && strcmp(p->r[i].label, label) == 0)
            return 0;
    return cwb_fig_add_ref(p, 1, (double)step, label) ? 0 : 1;
}

int cwb_plot_runs(cwb_store *s, const int64_t *ids, int n, const char *metric,
                  const char *file, int width, int height, char **text, char *err,
                  size_t errlen) {
    if (text) *text = NULL;
    if (n < 1) {
        snprintf(err, errlen, "no run to plot");
        return 1;
    }
    run_names *rn = calloc((size_t)n, sizeof *rn);
    cwb_legend_run *lr = calloc((size_t)n, sizeof *lr);
    char **labels = calloc((size_t)n, sizeof *labels);
    cwb_figure fig;
    int figok = cwb_figure_init(&fig, 1, 1) == 0;
    int rc = -1;
    cwb_gnuplot *g = NULL;
    cwb_fig_panel *p = figok ? cwb_figure_add_panel(&fig) : NULL;
    if (!rn || !lr || !labels || !p) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        int r = cwb_store_run_get(s, ids[i], grab_names, &rn[i]);
        if (r < 0) {
            snprintf(err, errlen, "%s", cwb_store_errmsg(s));
            goto out;
        }
        if (r == 0) {
            snprintf(err, errlen, "no run %lld in %s", (long long)ids[i], cwb_store_path(s));
            rc = 1;
            goto out;
        }
        long *steps;
        double *values;
        long m = cwb_store_metric_series(s, ids[i], metric, &steps, &values);
        if (m < 0) {
            snprintf(err, errlen, "%s", cwb_store_errmsg(s));
            goto out;
        }
        if (m == 0) {
            char names[512] = "";
            cwb_store_metric_summaries(s, ids[i], append_name, names);
            snprintf(err, errlen, "run %lld has no metric '%s' (it has: %s)", (long long)ids[i],
                     metric, *names ? names : "none");
            rc = 1;
            goto out;
        }
        double *x = malloc((size_t)m * sizeof *x);
        cwb_fig_series *se = NULL;
        if (x) {
            for (long k = 0; k < m; k++) x[k] = (double)steps[k];
            se = cwb_fig_add_series(p, x, values, (size_t)m);
        }
        free(x);
        free(steps);
        free(values);
        if (!se || cwb_store_refs(s, ids[i], metric, add_ref, p) || cwb_store_events(s, ids[i], add_event, p)) {
            snprintf(err, errlen, "%s", se ? cwb_store_errmsg(s) : "out of memory");
            goto out;
        }
        se->key = (long)ids[i];
        se->width = 1.5;
        lr[i] = (cwb_legend_run){rn[i].name, rn[i].params, ids[i]};
    }
    cwb_buf title = CWB_BUF_INIT;
    if (n == 1) {
        cwb_buf_printf(&title, "run %lld: %s / %s", (long long)ids[0], rn[0].recipe, rn[0].name);
        p->s[0].label = strdup(metric);
        int hrefs = 0; /* the legend is for the reference lines; markers carry their own text */
        for (int i = 0; i < p->nr; i++) hrefs += !p->r[i].vertical;
        snprintf(p->key, sizeof p->key, "%s", hrefs ? (file ? "outside" : "below") : "off");
    } else {
        if (cwb_legend_labels(s, lr, n, labels)) title.oom = 1;
        for (int i = 0; i < n && !title.oom; i++) {
            p->s[i].label = labels[i];
            labels[i] = NULL;
        }
        int same = 1;
        for (int i = 1; i < n; i++) same &= strcmp(rn[i].recipe, rn[0].recipe) == 0;
        cwb_buf_str(&title, "runs ");
        for (int i = 0; i < n; i++) cwb_buf_printf(&title, "%s%lld", i ? ", " : "", (long long)ids[i]);
        /* the recipe's file name: the title of several runs has no room for its folder */
        const char *slash = strrchr(rn[0].recipe, '/');
        if (same) cwb_buf_printf(&title, ": %s", slash ? slash + 1 : rn[0].recipe);
        /* the legend goes beside (files) or under (text) the axes, never over a curve */
        snprintf(p->key, sizeof p->key, "%s", file ? "outside" : "below");
    }
    if (title.oom || cwb_fig_set_str(&fig.title, cwb_buf_text(&title)) ||
        cwb_fig_set_str(&p->xlabel, "step") || cwb_fig_set_str(&p->ylabel, metric)) {
        cwb_buf_free(&title);
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    cwb_buf_free(&title);

    g = cwb_gnuplot_open(err, errlen);
    if (!g) goto out;
    cwb_plot_target t = {0};
    if (file) {
        t.term = cwb_plot_term_for_file(file);
        t.output = file;
        t.width = n > 1 ? 1000 : 0;
    } else {
        t.term = CWB_PLOT_DUMB;
        t.width = width;
        t.height = height;
    }
    rc = cwb_figure_render(&fig, g, &t, t.term == CWB_PLOT_DUMB ? text : NULL, err, errlen) ? -1
                                                                                           : 0;
out:
    cwb_gnuplot_close(g);
    if (figok) cwb_figure_free(&fig);
    for (int i = 0; rn && i < n; i++) free(rn[i].params);
    for (int i = 0; labels && i < n; i++) free(labels[i]);
    free(rn);
    free(lr);
    free(labels);
    return rc;
}
