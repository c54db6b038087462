/*
 * layout.c - terminal size -> pane rectangles (see layout.h).
 *
 * The proportions favour the panes: the output area takes a quarter of the
 * rows (3 to 12), the status and input lines one each, the panes the rest.
 * A short terminal would leave the output area too few lines to read an
 * answer (5 on the classic 80x24), so it gets at least OUT_SHORT_H rows
 * while the panes keep TOP_KEEP_H: 80x24 is 15 rows of panes over 7 of
 * output.
 * The geometry pane wants to be about square on screen, and a terminal cell
 * is about twice as tall as it is wide, so it is given twice as many columns
 * as rows, within 45% of the width.
 */
#include "ui/layout.h"

#include <stdio.h>
#include <string.h>

/* Smallest useful pane: a border plus 5 x 20 cells of content. */
#define PANE_MIN_H 7
#define PANE_MIN_W 22
/* Side by side from this width; stacked below it when tall enough. */
#define SIDE_MIN_COLS 72
#define STACK_MIN_TOP 18
/* The output area of a short terminal. */
#define OUT_SHORT_H 7
#define TOP_KEEP_H 12

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static cwb_rect rect(int y, int x, int h, int w) {
    cwb_rect r = {y, x, h, w};
    return r;
}

int cwb_layout_compute(int rows, int cols, int flags, cwb_layout *lo) {
    memset(lo, 0, sizeof *lo);
    lo->rows = rows;
    lo->cols = cols;
    if (rows < CWB_LAYOUT_MIN_ROWS || cols < CWB_LAYOUT_MIN_COLS) {
        snprintf(lo->msg, sizeof lo->msg, "terminal too small (%dx%d): cwb needs at least %dx%d",
                 cols < 0 ? 0 : cols, rows < 0 ? 0 : rows, CWB_LAYOUT_MIN_COLS,
                 CWB_LAYOUT_MIN_ROWS);
        return -1;
    }
    lo->ok = 1;
    const int kn = (flags & CWB_LAYOUT_KNOBS) && rows > CWB_LAYOUT_MIN_ROWS;
    const int below = 2 + kn; /* the rows under the output area */
    int out_h = clamp((rows - below) / 4, 3, 12);
    int short_h = rows - below - TOP_KEEP_H < OUT_SHORT_H ? rows - below - TOP_KEEP_H : OUT_SHORT_H;
    if (out_h < short_h) out_h = short_h;
    if (flags & CWB_LAYOUT_TALL_OUTPUT) { /* a lesson's text: as much as the panes can spare */
        int tall = (rows - below) * 45 / 100;
        if (tall > rows - below - TOP_KEEP_H) tall = rows - below - TOP_KEEP_H;
        if (tall > out_h) out_h = tall;
    }
    int top_h = rows - below - out_h; /* >= 7 since rows >= 12 (13 with the knob line) */
    lo->input = rect(rows - 1, 0, 1, cols);
    lo->knobs = rect(rows - 2, 0, kn, kn ? cols : 0);
    lo->status = rect(rows - below, 0, 1, cols);
    lo->output = rect(top_h, 0, out_h, cols);

    if (cols >= SIDE_MIN_COLS) {
        int gw = 2 * (top_h - 2) + 2;
        if (gw > cols * 45 / 100) gw = cols * 45 / 100;
        gw = clamp(gw, PANE_MIN_W + 6, cols - PANE_MIN_W - 18);
        lo->mode = CWB_LAYOUT_SIDE;
        lo->plot = rect(0, 0, top_h, cols - gw);
        lo->geom = rect(0, cols - gw, top_h, gw);
    } else if (top_h >= STACK_MIN_TOP) {
        int ph = (top_h + 1) / 2;
        lo->mode = CWB_LAYOUT_STACKED;
        lo->plot = rect(0, 0, ph, cols);
        lo->geom = rect(ph, 0, top_h - ph, cols);
    } else {
        lo->mode = CWB_LAYOUT_PLOT_ONLY;
        lo->plot = rect(0, 0, top_h, cols);
        lo->geom = rect(0, 0, 0, 0);
    }
    (void)PANE_MIN_H;
    return 0;
}
