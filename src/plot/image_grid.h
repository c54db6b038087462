/*
 * image_grid.h - a grid of grey images drawn by gnuplot into a PNG, to see
 * what data and augmentations look like (docs/data.md, "Image
 * augmentations").
 *
 * Layer: plot (on the gnuplot driver, plot/gnuplot.h).  Used by
 * cwb.plot.images (src/lua/lplot.c).
 *
 * The images are one mosaic sent as a single datablock (x, y, grey) and
 * drawn `with image`, the gaps between cells as NaN (transparent); cell
 * titles and row titles are gnuplot labels.
 */
#ifndef CWB_IMAGE_GRID_H
#define CWB_IMAGE_GRID_H

#include <stddef.h>

typedef struct {
    int height, width;              /* image shape: each image is height*width floats, row-major */
    int cols;                       /* images per grid row (>= 1) */
    const char *title;              /* figure title, or NULL */
    const char *const *titles;      /* one caption per image (NULL entries allowed), or NULL */
    const char *const *row_titles;  /* one label per grid row, left of it, or NULL */
    int scale;                      /* screen pixels per image pixel, 1..64 (0 = 4) */
    double lo, hi;                  /* grey scale: lo black, hi white (lo < hi) */
} cwb_image_grid;

/* Draw n images (n x height*width floats) into the PNG `output`, written
 * atomically.  0, or -1 with a one-line message in err (gnuplot missing:
 * the driver's CWB_GNUPLOT_NOT_FOUND message). */
int cwb_plot_image_grid(const cwb_image_grid *g, const float *images, int n, const char *output,
                        char *err, size_t errlen);

#endif
