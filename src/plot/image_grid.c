/*
 * image_grid.c - a PNG grid of grey images through gnuplot (image_grid.h).
 *
 * Mosaic coordinates: cell (r, c) holds image r * cols + c; its pixel (i, j)
 * sits at X = c (width + GAP) + j, Y = r (height + band) + band + i, where
 * the band above each grid row leaves room for the captions.  gnuplot's y
 * grows upwards, so the datablock holds -Y.  Every point of the mosaic is
 * sent (gaps as NaN, drawn transparent) because `with image` wants a full
 * regular grid.  The margins are set in screen coordinates from the pixel
 * sizes, so one image pixel is exactly `scale` screen pixels.
 */
#include "plot/image_grid.h"
#include "plot/gnuplot.h"
#include "util/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define GAP 2   /* image pixels between cells */

int cwb_plot_image_grid(const cwb_image_grid *g, const float *images, int n, const char *output,
                        char *err, size_t errlen) {
    if (!g || !images || !output || n < 1) {
        snprintf(err, errlen, "image grid: %s", !g ? "no configuration" : !images ? "no images"
                 : !output ? "no output file" : "no images (n < 1)");
        return -1;
    }
    const int H = g->height, W = g->width, cols = g->cols < n ? g->cols : n;
    const int scale = g->scale ? g->scale : 4;
    if (H < 1 || W < 1 || H > 4096 || W > 4096 || cols < 1 || scale < 1 || scale > 64 ||
        !(g->lo < g->hi)) {
        snprintf(err, errlen, "image grid: bad layout (images %d x %d, cols %d, scale %d, grey "
                 "range %g..%g)", H, W, g->cols, scale, g->lo, g->hi);
        return -1;
    }
    const int rows = (n + cols - 1) / cols, band = g->titles ? 7 : GAP;
    const long X = (long)cols * (W + GAP) - GAP, Y = (long)rows * (H + band);
    if (X * Y > 4L << 20) {
        snprintf(err, errlen, "image grid: %d images of %d x %d is too many to draw", n, H, W);
        return -1;
    }
    double *px = malloc((size_t)(X * Y) * sizeof *px), *py = malloc((size_t)(X * Y) * sizeof *py);
    double *pv = malloc((size_t)(X * Y) * sizeof *pv);
    cwb_buf s = CWB_BUF_INIT;
    cwb_gnuplot *gp = NULL;
    int rc = -1;
    if (!px || !py || !pv) {
        snprintf(err, errlen, "image grid: out of memory");
        goto out;
    }
    size_t q = 0;
    for (long y = 0; y < Y; y++)
        for (long x = 0; x < X; x++, q++) {
            long r = y / (H + band), i = y % (H + band) - band, c = x / (W + GAP), j = x % (W + GAP);
            long k = r * cols + c;
            px[q] = (double)x;
            py[q] = (double)-y;
            pv[q] = i >= 0 && j < W && k < n ? images[(size_t)k * H * W + (size_t)i * W + j] : NAN;
        }

    const int left = g->row_titles ? 96 : 8, right = 8, top = g->title ? 40 : 6, bottom = 6;
    const long cw = X * scale + left + right, ch = Y * scale + top + bottom;
    cwb_buf_printf(&s, "unset border\nunset tics\nunset key\nunset colorbox\nset palette grey\n"
                       "set cbrange [%.17g:%.17g]\nset xrange [-0.5:%ld.5]\nset yrange [%ld.5:0.5]\n"
                       "set lmargin at screen %.6f\nset rmargin at screen %.6f\n"
                       "set tmargin at screen %.6f\nset bmargin at screen %.6f\n",
                   g->lo, g->hi, X - 1, -Y, (double)left / cw, 1.0 - (double)right / cw,
                   1.0 - (double)top / ch, (double)bottom / ch);
    if (g->title) {
        cwb_buf_str(&s, "set title ");
        cwb_gnuplot_quote_buf(&s, g->title);
        cwb_buf_str(&s, " font ',10' noenhanced\n");
    }
    for (int k = 0; g->titles && k < n; k++) {
        if (!g->titles[k]) continue;
        cwb_buf_str(&s, "set label ");
        cwb_gnuplot_quote_buf(&s, g->titles[k]);
        cwb_buf_printf(&s, " at %.2f,%.2f center font ',8' noenhanced\n", (k % cols) * (W + GAP) + (W - 1) / 2.0,
                       -((k / cols) * (H + band) + band / 2.0));
    }
    for (int r = 0; g->row_titles && r < rows; r++) {
        if (!g->row_titles[r]) continue;
        cwb_buf_str(&s, "set label ");
        cwb_gnuplot_quote_buf(&s, g->row_titles[r]);
        cwb_buf_printf(&s, " at %.2f,%.2f right font ',10' noenhanced\n", -1.5,
                       -(r * (H + band) + band + (H - 1) / 2.0));
    }
    cwb_buf_str(&s, "plot $img using 1:2:3 with image\n");
    if (s.oom) {
        snprintf(err, errlen, "image grid: out of memory");
        goto out;
    }
    if (!(gp = cwb_gnuplot_open(err, errlen))) goto out;
    const double *data[3] = {px, py, pv};
    cwb_plot_target t = {.term = CWB_PLOT_PNG, .output = output, .width = (int)cw, .height = (int)ch};
    if (cwb_gnuplot_datablock(gp, "img", 3, q, data) || cwb_gnuplot_render(gp, &t, s.p, NULL)) {
        snprintf(err, errlen, "%s", cwb_gnuplot_errmsg(gp));
        goto out;
    }
    rc = 0;
out:
    cwb_gnuplot_close(gp);
    cwb_buf_free(&s);
    free(px);
    free(py);
    free(pv);
    return rc;
}
