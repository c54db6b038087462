/*
 * test_layout.c - the workbench's pane arithmetic (src/ui/layout.c).
 *
 * Invariants over every terminal size up to 300 x 120, with and without the
 * knob line: rectangles stay on screen, never overlap, leave no row unused,
 * keep the input line at the bottom, the knob line above it and the status
 * line above that; the too-small verdict is given exactly below the
 * documented minimum; plus the shapes at familiar sizes.
 */
#include "../tap.h"
#include "ui/layout.h"

#include <string.h>

static int inside(cwb_rect r, int rows, int cols) {
    return r.y >= 0 && r.x >= 0 && r.h >= 0 && r.w >= 0 && r.y + r.h <= rows && r.x + r.w <= cols;
}

static int overlap(cwb_rect a, cwb_rect b) {
    if (a.h == 0 || a.w == 0 || b.h == 0 || b.w == 0) return 0;
    return a.y < b.y + b.h && b.y < a.y + a.h && a.x < b.x + b.w && b.x < a.x + a.w;
}

/* Every cell covered exactly once by the six rectangles. */
static int tiles(const cwb_layout *lo) {
    static unsigned char cover[120][300];
    memset(cover, 0, sizeof cover);
    const cwb_rect *rs[] = {&lo->plot, &lo->geom, &lo->output, &lo->status, &lo->input, &lo->knobs};
    for (int k = 0; k < 6; k++)
        for (int y = rs[k]->y; y < rs[k]->y + rs[k]->h; y++)
            for (int x = rs[k]->x; x < rs[k]->x + rs[k]->w; x++) cover[y][x]++;
    for (int y = 0; y < lo->rows; y++)
        for (int x = 0; x < lo->cols; x++)
            if (cover[y][x] != 1) return 0;
    return 1;
}

int main(void) {
    int bad_small = 0, bad_inside = 0, bad_overlap = 0, bad_tile = 0, bad_lines = 0;
    int bad_min = 0, bad_out = 0, n_ok = 0, n_small = 0, modes[3] = {0, 0, 0};
    int bad_knobs = 0;
    for (int fl = 0; fl < 4; fl++)
    for (int rows = 0; rows <= 120; rows++)
        for (int cols = 0; cols <= 300; cols++) {
            cwb_layout lo;
            const int kn = fl & CWB_LAYOUT_KNOBS;
            int rc = cwb_layout_compute(rows, cols, fl, &lo);
            int small = rows < CWB_LAYOUT_MIN_ROWS || cols < CWB_LAYOUT_MIN_COLS;
            if (small != (rc == -1) || small == lo.ok) bad_small++;
            if (small) {
                n_small++;
                if (!strstr(lo.msg, "too small")) bad_small++;
                continue;
            }
            n_ok++;
            modes[lo.mode]++;
            const cwb_rect *rs[] = {&lo.plot, &lo.geom, &lo.output, &lo.status, &lo.input, &lo.knobs};
            for (int a = 0; a < 6; a++) {
                if (!inside(*rs[a], rows, cols)) bad_inside++;
                for (int b = a + 1; b < 6; b++)
                    if (overlap(*rs[a], *rs[b])) bad_overlap++;
            }
            if (!tiles(&lo)) bad_tile++;
            const int has = kn && rows > CWB_LAYOUT_MIN_ROWS;
            if (lo.input.y != rows - 1 || lo.input.h != 1 || lo.input.w != cols ||
                lo.status.y != rows - 2 - has || lo.status.h != 1 || lo.status.w != cols)
                bad_lines++;
            if (lo.knobs.h != has || (has && (lo.knobs.y != rows - 2 || lo.knobs.w != cols))) bad_knobs++;
            if (lo.output.h < 3 || lo.output.h > ((fl & CWB_LAYOUT_TALL_OUTPUT) ? rows : 12) ||
                lo.output.w != cols)
                bad_out++;
            /* every pane shown keeps a border and at least 5 x 20 cells inside */
            if (lo.plot.h < 7 || lo.plot.w < 22) bad_min++;
            if (lo.mode != CWB_LAYOUT_PLOT_ONLY && (lo.geom.h < 7 || lo.geom.w < 22)) bad_min++;
            if ((lo.mode == CWB_LAYOUT_PLOT_ONLY) != (lo.geom.h == 0)) bad_min++;
        }
    diag("%d usable sizes (side %d, stacked %d, plot only %d), %d too small", n_ok, modes[0],
         modes[1], modes[2], n_small);
    ok(bad_small == 0, "too-small verdict exactly below %dx%d, with a message (%d wrong)",
       CWB_LAYOUT_MIN_COLS, CWB_LAYOUT_MIN_ROWS, bad_small);
    ok(bad_inside == 0, "every rectangle on screen (%d off)", bad_inside);
    ok(bad_overlap == 0, "no two rectangles overlap (%d pairs)", bad_overlap);
    ok(bad_tile == 0, "the rectangles tile the screen: no cell unused or used twice (%d sizes)",
       bad_tile);
    ok(bad_lines == 0, "input on the last row, status above it (and the knob line), full width (%d sizes)",
       bad_lines);
    ok(bad_knobs == 0, "the knob line, when asked for, sits between status and input from 13 rows (%d sizes)",
       bad_knobs);
    ok(bad_out == 0, "output area 3..12 rows (more for a lesson), full width (%d sizes)", bad_out);
    ok(bad_min == 0, "panes shown are at least 7 x 22 with border (%d sizes)", bad_min);
    ok(modes[0] > 0 && modes[1] > 0 && modes[2] > 0, "all three arrangements occur");

    cwb_layout lo;
    cwb_layout_compute(40, 120, 0, &lo);
    ok(lo.ok && lo.mode == CWB_LAYOUT_SIDE && lo.plot.x == 0 && lo.geom.x == lo.plot.w &&
           lo.plot.h == lo.geom.h && lo.plot.w > lo.geom.w,
       "120x40: curves left, wider; geometry right, same height");
    ok(lo.output.h == 9 && lo.plot.h == 29, "120x40: 9 output rows, panes 29 rows (got %d, %d)",
       lo.output.h, lo.plot.h);
    /* the geometry pane is about square on screen: columns ~ 2 x rows */
    double aspect = (double)(lo.geom.w - 2) / (2.0 * (lo.geom.h - 2));
    ok(aspect > 0.8 && aspect <= 1.05, "120x40: geometry content about square (w/2h = %.2f)",
       aspect);
    /* the classic terminal, laid out on purpose (issue 9, item 18): an
     * answer of a few lines stays readable under panes that still show a
     * curve, a cloud of points and the welcome's placeholders */
    cwb_layout_compute(24, 80, 0, &lo);
    ok(lo.ok && lo.mode == CWB_LAYOUT_SIDE && lo.output.h == 7 && lo.plot.h == 15,
       "80x24: side by side, 15 rows of panes over 7 output rows (mode %d, %d and %d rows)",
       (int)lo.mode, lo.plot.h, lo.output.h);
    ok(lo.plot.w - 2 >= 48 && lo.geom.w - 2 >= 26,
       "80x24: curves get %d columns inside, geometry %d (>= 48 and 26)", lo.plot.w - 2,
       lo.geom.w - 2);
    cwb_layout_compute(24, 80, CWB_LAYOUT_KNOBS, &lo);
    ok(lo.ok && lo.output.h == 7 && lo.plot.h == 14 && lo.knobs.y == 22 && lo.status.y == 21,
       "80x24 with the knob line: the panes give it a row (14 rows over 7 of output, knobs on row 23)");
    cwb_layout_compute(40, 120, CWB_LAYOUT_KNOBS | CWB_LAYOUT_TALL_OUTPUT, &lo);
    ok(lo.ok && lo.output.h == 16 && lo.plot.h == 21, "120x40 in a lesson: 16 output rows to read a step, panes 21 (%d, %d)",
       lo.output.h, lo.plot.h);
    cwb_layout_compute(24, 80, CWB_LAYOUT_KNOBS | CWB_LAYOUT_TALL_OUTPUT, &lo);
    ok(lo.ok && lo.output.h == 9 && lo.plot.h == 12, "80x24 in a lesson: 9 output rows, panes still 12 (%d, %d)",
       lo.output.h, lo.plot.h);
    int grew = 1;
    for (int r = 20; r <= 30; r++) {
        cwb_layout a;
        cwb_layout_compute(r, 80, 0, &a);
        if (a.output.h < (r - 2 - 12 < 7 ? r - 2 - 12 : 7) || a.plot.h < 12) grew = 0;
    }
    ok(grew, "20 to 30 rows: at least 7 output rows while the panes keep 12");
    cwb_layout_compute(50, 60, 0, &lo);
    ok(lo.ok && lo.mode == CWB_LAYOUT_STACKED && lo.geom.y == lo.plot.h && lo.geom.w == 60,
       "60x50: geometry stacked under the curves");
    cwb_layout_compute(14, 60, 0, &lo);
    ok(lo.ok && lo.mode == CWB_LAYOUT_PLOT_ONLY && lo.plot.w == 60,
       "60x14: only the curve pane");
    cwb_layout_compute(8, 30, 0, &lo);
    ok(!lo.ok && strstr(lo.msg, "30x8") && strstr(lo.msg, "40x12"),
       "30x8: message names the size and the minimum (%s)", lo.msg);
    cwb_layout_compute(-3, -1, 1, &lo);
    ok(!lo.ok, "negative sizes (a failed ioctl) are too small, not a crash");
    return done_testing();
}
