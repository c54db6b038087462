/*
 * figure.h - one figure model for every figure cwb draws (docs/plot.md).
 *
 * Layer: plot.  Included by plot/runs_plot.c (`cwb runs plot`,
 * cwb.runs.plot), lua/lplot.c (cwb.plot) and the workbench's curve and
 * geometry panes (ui/tui_plot.c, ui/tui_export.c).  Nothing here knows Lua
 * or curses.
 *
 * A figure is a layout of panels; a panel has axes (labels, log scales,
 * ranges), a legend placement, series (x/y data drawn as lines or points,
 * with a label, a colour and a style) and reference lines (horizontal, such
 * as theta/theta* = 1, or vertical markers at a step).  cwb_figure_render
 * turns the model into a gnuplot script for a target (PNG or SVG file,
 * chosen by cwb_plot_term_for_file from the extension; dumb text, with
 * ANSI colours for the curve pane) and draws it through plot/gnuplot.h.
 *
 * The figure owns the colour palette.  A series without an explicit colour
 * takes the palette entry of its key (a run's id), so the same run keeps
 * its colour from one redraw to the next; two series of one panel never
 * share an entry while the palette has a free one.  Every entry is visible
 * on white paper and on dark and light terminals: no black, white or grey.
 */
#ifndef CWB_FIGURE_H
#define CWB_FIGURE_H

#include <stddef.h>

#include "plot/gnuplot.h"
#include "util/buf.h"

#define CWB_FIG_COLOR_MAX 40
#define CWB_FIG_KEY_MAX 40
#define CWB_FIG_MAX_PANELS 64

/* Entries of the palette (cwb_palette_color). */
#define CWB_PALETTE_N 10

typedef struct {
    char *label;                    /* legend entry; NULL keeps it out of the legend */
    char color[CWB_FIG_COLOR_MAX];  /* a gnuplot colour; "" = the palette's for key */
    long key;                       /* identity for the palette (a run id); < 0: position */
    int points;                     /* 0 lines, 1 points */
    double width;                   /* line width (0: 1) */
    double size;                    /* point size (0: 1) */
    int dash;                       /* gnuplot dash type, 0 = solid */
    size_t n;
    double *x, *y;                  /* owned by the figure */
    int sent;                       /* its datablock is current in the last gnuplot drawn on */
} cwb_fig_series;

typedef struct {
    int vertical;                   /* 0: y = at across the panel; 1: x = at (a marker) */
    double at;
    char *label;                    /* legend entry (horizontal) or text by the marker */
    char color[CWB_FIG_COLOR_MAX];  /* "" = black on paper, the text colour on a terminal */
    int dash;                       /* gnuplot dash type (default 2: dashed) */
    double width;                   /* 0: 1 */
} cwb_fig_ref;

typedef struct {
    char *title, *xlabel, *ylabel;
    int logx, logy;
    int has_xr, has_yr;
    double xlo, xhi, ylo, yhi;
    /* Legend placement: "" top right inside the axes, "off", "below" (under
     * the axes, never over a curve), "outside" (right of the axes), or a
     * gnuplot position of lowercase words ("top left"). */
    char key[CWB_FIG_KEY_MAX];
    int nogrid;                     /* no grid lines (default: grid) */
    int equal_scales;               /* a unit is as long on x as on y (projections) */
    /* Text figures in a small pane: an L-shaped border, few round step
     * tics labelled short (500, 20k, 1.5M) and y tics at most every third
     * row, so that no two labels run together. */
    int compact;
    cwb_fig_series *s;
    int ns, cs;
    cwb_fig_ref *r;
    int nr, cr;
} cwb_fig_panel;

typedef struct cwb_figure {
    char *title;                    /* over the whole layout (or the single panel) */
    int rows, cols;
    cwb_fig_panel *p;               /* rows * cols slots */
    int np;                         /* panels added */
    const void *sent_to;            /* the gnuplot whose datablocks are current */
} cwb_figure;

/* An empty figure of rows x cols panels (1..CWB_FIG_MAX_PANELS in all).
 * 0 or -1 (bad layout, out of memory). */
int cwb_figure_init(cwb_figure *f, int rows, int cols);
void cwb_figure_free(cwb_figure *f);

/* The next panel of the layout (cleared), NULL when the layout is full or
 * memory is short. */
cwb_fig_panel *cwb_figure_add_panel(cwb_figure *f);

/* Replace *slot with a copy of s (NULL clears it).  0 or -1. */
int cwb_fig_set_str(char **slot, const char *s);

/* A series of n points copied from x (NULL: 1..n) and y, drawn as lines,
 * key -1; NULL when out of memory. */
cwb_fig_series *cwb_fig_add_series(cwb_fig_panel *p, const double *x, const double *y,
                                   size_t n);
/* Replace a series' data (x NULL: 1..n); it is sent again.  0 or -1. */
int cwb_fig_series_data(cwb_fig_series *s, const double *x, const double *y, size_t n);
/* A reference line; NULL when out of memory. */
cwb_fig_ref *cwb_fig_add_ref(cwb_fig_panel *p, int vertical, double at, const char *label);

/* Non-zero when c may go into a gnuplot command as a colour: a name of
 * letters, digits, '-' and '_', or "#rrggbb" / "#aarrggbb". */
int cwb_fig_color_ok(const char *c);
/* Non-zero when k is a legend placement cwb_fig_panel.key accepts. */
int cwb_fig_key_ok(const char *k);

/* Palette entry i (mod CWB_PALETTE_N) for a target: on paper a colour
 * that prints well on white; for the dumb terminal one that gnuplot's ANSI
 * mode renders as a distinct terminal colour other than black or white. */
const char *cwb_palette_color(int i, cwb_plot_term term);
/* The terminal colour entry i becomes: SGR 30 + *fg (1 red ... 6 cyan),
 * bold or not; for painting cells without gnuplot. */
void cwb_palette_ansi(int i, int *fg, int *bold);
/* The palette entry of each series of p (pal[i], -1 for a series with its
 * own colour): the entry of the series' key (its position when the key is
 * < 0), moved on to the next free one when an earlier series of the panel
 * has it, while any is free. */
void cwb_fig_colors(const cwb_fig_panel *p, int *pal);

/* The terminal a file name asks for: SVG for ".svg" (any case), else PNG. */
cwb_plot_term cwb_plot_term_for_file(const char *path);

/* The gnuplot script for the figure on a target of width x height (pixels
 * or characters) into out, using the datablocks $f<panel>_<series>.
 * 0 or -1 (out of memory). */
int cwb_figure_script(const cwb_figure *f, cwb_plot_term term, int width, int height,
                      cwb_buf *out);

/* Draw the figure on t through g: the datablocks not yet sent to g, then
 * the script.  For DUMB, *text receives the figure (malloc'd).  0, or -1
 * with the message in cwb_gnuplot_errmsg(g) (or "nothing to draw" /
 * out of memory in err when the figure itself is at fault). */
int cwb_figure_render(cwb_figure *f, cwb_gnuplot *g, const cwb_plot_target *t, char **text,
                      char *err, size_t errlen);

#endif
