/*
 * gnuplot.h - drive a gnuplot process through pipes (docs/plot.md).
 *
 * Data goes in as named datablocks ($name << EOD ... EOD), so a figure can be
 * redrawn as its data grows by re-sending only the blocks that changed.
 * Commands are sent in batches; after each command the driver asks gnuplot
 * to print a marker on its stderr and reads up to it, so an error message is
 * attributed to the call (and the line of the caller's script) that caused it.
 * gnuplot is found through $CWB_GNUPLOT or PATH; when it is missing every
 * call fails with one clear message and the caller carries on without plots.
 */
#ifndef CWB_GNUPLOT_H
#define CWB_GNUPLOT_H

#include <stddef.h>

#include "util/buf.h"

typedef struct cwb_gnuplot cwb_gnuplot;

/* Where a figure goes. */
typedef enum {
    CWB_PLOT_PNG,     /* pngcairo, file written atomically (temp + rename) */
    CWB_PLOT_SVG,     /* svg, file written atomically */
    CWB_PLOT_DUMB,    /* text, returned to the caller */
    CWB_PLOT_WINDOW   /* qt or x11 window; needs DISPLAY */
} cwb_plot_term;

typedef struct {
    cwb_plot_term term;
    const char *output;  /* file for PNG/SVG (ignored otherwise) */
    int width, height;   /* pixels (PNG/SVG/window) or characters (dumb); 0 = default */
    int ansi;            /* dumb: non-zero for ANSI colour escapes */
} cwb_plot_target;

/* The message every call gives when gnuplot cannot be found. */
#define CWB_GNUPLOT_NOT_FOUND \
    "gnuplot not found: install the Debian package gnuplot-nox or set CWB_GNUPLOT"

/* Locate gnuplot without starting it: 1 and its path in path (if non-NULL),
 * or 0 with the not-found message in msg. */
int cwb_gnuplot_available(char *path, size_t pathlen, char *msg, size_t msglen);

/* Start gnuplot and check that it answers.  NULL on failure with a one-line
 * message in err (CWB_GNUPLOT_NOT_FOUND when it is missing). */
cwb_gnuplot *cwb_gnuplot_open(char *err, size_t errlen);
/* Ask gnuplot to exit (killing it if it does not) and free the handle. */
void cwb_gnuplot_close(cwb_gnuplot *g);

/* The message of the last failed call ("" if none), e.g.
 * "gnuplot: line 3: undefined variable: foo". */
const char *cwb_gnuplot_errmsg(const cwb_gnuplot *g);
/* Other text gnuplot wrote to stderr during the last batch (warnings, print). */
const char *cwb_gnuplot_output(const cwb_gnuplot *g);
/* Non-zero once gnuplot has died or stopped answering; every call then fails. */
int cwb_gnuplot_dead(const cwb_gnuplot *g);
/* How long to wait for gnuplot to finish a batch (default 30000 ms). */
void cwb_gnuplot_set_timeout(cwb_gnuplot *g, int ms);

/* Queue a datablock $name with ncols columns of n rows (cols[c][i]); sent
 * with the next batch.  Non-finite values are written as NaN (a gap).  name
 * is an identifier without the '$'.  0 or -1. */
int cwb_gnuplot_datablock(cwb_gnuplot *g, const char *name, int ncols, size_t n,
                          const double *const *cols);

/* Run a batch of commands (several lines) and wait for it.  Returns 0, or -1
 * with the first error in cwb_gnuplot_errmsg (line numbers count from 1 in
 * script).  Datablocks and brace blocks may span lines. */
int cwb_gnuplot_cmd(cwb_gnuplot *g, const char *script);

/* Render script (plot commands using the datablocks) on a target: sets the
 * terminal and output, runs script, closes the output.  PNG/SVG go to a temp
 * file next to t->output that is renamed over it only on success.  For DUMB,
 * *text receives the figure (malloc'd, caller frees).  0 or -1. */
int cwb_gnuplot_render(cwb_gnuplot *g, const cwb_plot_target *t, const char *script,
                       char **text);

/* Append s to buf as a gnuplot single-quoted string literal (quotes doubled,
 * control characters replaced by spaces).  Returns the length it needs
 * (like snprintf). */
size_t cwb_gnuplot_quote(char *buf, size_t len, const char *s);
/* The same, appended to a buffer.  0 or -1 (out of memory). */
int cwb_gnuplot_quote_buf(cwb_buf *b, const char *s);

#endif
