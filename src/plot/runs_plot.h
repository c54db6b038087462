/*
 * runs_plot.h - figures of recorded runs, read from the run store.
 *
 * Layer: plot (above store: it reads runs and draws them through the
 * figure model, plot/figure.h).  Used by `cwb runs plot` (app/runs_cli.c)
 * and cwb.runs.plot (lua/lruns.c).
 */
#ifndef CWB_RUNS_PLOT_H
#define CWB_RUNS_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* METRIC against step for the runs ids[0..n-1] in one figure, with the
 * reference lines recorded for it (cwb_store_ref), through gnuplot: into
 * file (SVG when the name ends in ".svg", else PNG) or, when file is NULL,
 * as text (width x height characters, 0 for 79 x 24) returned in *text
 * (malloc'd).  Several runs get a legend of what differs between them
 * (plot/legend.h) and a colour each.  Each knob change recorded for a run
 * (cwb_store_event) is a vertical marker at its step labelled "tau=0.5".  Returns 0, 1 when a run or its metric
 * does not exist, or -1 on failure, with a one-line message in err. */
int cwb_plot_runs(cwb_store *s, const int64_t *ids, int n, const char *metric,
                  const char *file, int width, int height, char **text, char *err,
                  size_t errlen);

#endif
