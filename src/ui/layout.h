/*
 * layout.h - where the workbench's panes go for a terminal size.
 *
 * A pure function of (rows, cols), so it can be tested without a terminal.
 * From the top: the curve pane and the geometry pane (side by side on a wide
 * terminal, stacked on a narrow tall one, the geometry pane left out on a
 * narrow short one), the scrolling output area, the status line, the knob
 * line (when asked for and the terminal has a row to spare) and the input
 * line at the bottom.  Panes include their one-cell border.
 */
#ifndef CWB_LAYOUT_H
#define CWB_LAYOUT_H

#define CWB_LAYOUT_MIN_ROWS 12
#define CWB_LAYOUT_MIN_COLS 40

typedef struct {
    int y, x, h, w;
} cwb_rect;

typedef enum {
    CWB_LAYOUT_SIDE,     /* plot | geometry */
    CWB_LAYOUT_STACKED,  /* plot over geometry */
    CWB_LAYOUT_PLOT_ONLY /* no room for the geometry pane */
} cwb_layout_mode;

typedef struct {
    int ok;                  /* 0: too small, see msg */
    int rows, cols;
    cwb_layout_mode mode;
    cwb_rect plot, geom;     /* geom.h == 0 in PLOT_ONLY mode */
    cwb_rect output, status, input;
    cwb_rect knobs;          /* under the status line; h == 0 when there is none */
    char msg[96];            /* the too-small verdict, for the screen */
} cwb_layout;

/* What the layout makes room for besides the panes (flags, or-ed). */
#define CWB_LAYOUT_KNOBS 1       /* a knob line under the status line (when there are more
                                    than CWB_LAYOUT_MIN_ROWS rows: the row comes from the
                                    output area, or from the panes at its minimum) */
#define CWB_LAYOUT_TALL_OUTPUT 2 /* a lesson is on: the output area takes up to 45% of the
                                    rows (its steps are read there), the panes keep 12 */

/* Fill lo for a rows x cols terminal.  Returns 0, or -1 (lo->ok = 0) when
 * the terminal is smaller than CWB_LAYOUT_MIN_COLS x CWB_LAYOUT_MIN_ROWS. */
int cwb_layout_compute(int rows, int cols, int flags, cwb_layout *lo);

#endif
