/*
 * runs_plot.h - figures of recorded runs, read from the run store.
 *
 * Layer: plot (above store: it reads runs and draws them).  Used by `cwb
 * runs plot` (app/runs_cli.c) and cwb.runs.plot (lua/lruns.c).
 */
#ifndef CWB_RUNS_PLOT_H
#define CWB_RUNS_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* METRIC against step through gnuplot, into file (PNG, or SVG when the
 * name ends in ".svg") or, when file is NULL, as text (width x height
 * characters, 0 for 79 x 24) returned in *text (malloc'd).  Returns 0, 1
 * when the run or metric does not exist, or -1 on failure, with a one-line
 * message in err. */
int cwb_plot_run(cwb_store *s, int64_t run, const char *metric, const char *file,
                 int width, int height, char **text, char *err, size_t errlen);

#endif
