/*
 * tui_geom.c - the geometry pane: where the two views (or modalities) sit.
 *
 * The run's current embeddings of both views are sampled into a pool (at
 * most SAMPLE rows per view, always the same ones, with their class labels
 * when the data has them) and projected to the plane (docs/methods.md "2-D
 * projections"): by default on their top two principal axes (cwb_pca2), or
 * with projection("tsne") by exact t-SNE (cwb_tsne) of TSNE_SAMPLE of them,
 * whose cost is quadratic.  The points are drawn as dots coloured by class
 * when there are labels, so that clusters show (a cell takes the colour of
 * most of its points), or with colour_by("view") by view (view a cyan, view
 * b yellow, both in one cell white); the two centroids A and B and the
 * modality-gap vector between them are drawn over them.  The caption gives
 * alignment, uniformity and the centroid gap of the full data set
 * (methods.md "Metrics").  When the run names its classes (a Fashion-MNIST
 * run: its test split's labels and names) a legend above the caption shows
 * each name in its class's colour, the names cut short when whole ones
 * would take more than a third of the pane.  The pool outlives the run, so projection() can
 * project the last picture again at once, paused or after the run (a
 * running run is sampled afresh first).  Frames move rather than jump: each PCA axis keeps
 * the sign it had in the last frame, and each t-SNE frame continues from the
 * last layout with a short descent (TSNE_ITERS_WARM iterations, no early
 * exaggeration, which would tear the settled layout apart) instead of
 * starting over.  Updates are throttled to about once a second and ~1.5%
 * of the time whichever projection is on: a t-SNE frame costs more, so
 * frames come less often.
 */
#include "ui/tui_internal.h"
#include "engine/eval/metrics.h"
#include "engine/eval/project.h"
#include "engine/eval/tsne.h"

#include <curses.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE 512
/* 128 rows per view (256 points) fill a pane of a few thousand cells; the
 * first (cold) frame then costs ~0.035 s, a 20k-step run ~4% of its time. */
#define TSNE_SAMPLE 128
#define TSNE_ITERS_COLD 250
#define TSNE_ITERS_WARM 100
#define GEOM_MIN_PERIOD 1.0
#define GEOM_BUDGET 0.015
#define COLOR_A 6 /* cyan */
#define COLOR_B 3 /* yellow */

static size_t cappool, capplab, capbuf, capprev, caplab, capwork;

/* The projection asked for, and what the points on screen (tui.gprev) are
 * (the caption describes those until the next frame): a warm start or a
 * sign check only makes sense against the same kind of picture of the same
 * run. */
static int proj = TUI_PROJ_PCA;
static double tsne_perplexity = 30;
static int shown_proj = -1, shown_serial = -1, shown_haslab, shown_classes;
static double shown_perplexity, shown_kl;
static void *tsne_work;

static int grow(void **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    void *q = realloc(*p, need);
    if (!q) return -1;
    *p = q;
    *cap = need;
    return 0;
}

const char *tui_geom_projection(double *perplexity) {
    if (perplexity) *perplexity = tsne_perplexity;
    return proj == TUI_PROJ_TSNE ? "tsne" : "pca";
}

static int by_class(void) { return shown_haslab && tui.colour_by != TUI_COLOUR_VIEW; }

const char *tui_geom_colour(const char **shown) {
    if (shown) *shown = !tui.g_valid ? "nothing yet" : by_class() ? "class" : "view";
    return tui.colour_by == TUI_COLOUR_CLASS ? "class" : tui.colour_by == TUI_COLOUR_VIEW ? "view" : "auto";
}

/* The pane's title: the longest of a few forms that fits `room` columns,
 * so that a narrow pane (80x24) still shows the step whole. */
const char *tui_geom_title(int room) {
    static char t[160];
    if (!tui.g_valid) return "geometry";
    char proj_name[48], colour[40];
    if (shown_proj == TUI_PROJ_TSNE)
        snprintf(proj_name, sizeof proj_name, "t-SNE, perplexity %g", shown_perplexity);
    else
        snprintf(proj_name, sizeof proj_name, "PCA");
    if (by_class()) snprintf(colour, sizeof colour, "by class (%d)", shown_classes);
    else snprintf(colour, sizeof colour, "by view%s", tui.colour_by == TUI_COLOUR_CLASS ? " (no labels)" : "");
    const char *kind = shown_proj == TUI_PROJ_TSNE ? "t-SNE" : "PCA";
    for (int form = 0; form < 5; form++) {
        switch (form) {
        case 0: snprintf(t, sizeof t, "geometry (%s), step %ld, %s", proj_name, tui.gp_step, colour); break;
        case 1: snprintf(t, sizeof t, "geometry (%s), step %ld", proj_name, tui.gp_step); break;
        case 2: snprintf(t, sizeof t, "%s, step %ld, %s", kind, tui.gp_step, by_class() ? "class" : "view"); break;
        case 3: snprintf(t, sizeof t, "%s, step %ld", kind, tui.gp_step); break;
        default: snprintf(t, sizeof t, "step %ld", tui.gp_step);
        }
        if ((int)strlen(t) <= room) break;
    }
    return t;
}

void tui_geom_set_colour(int by) {
    tui.colour_by = by;
    tui.need_draw = 1;
}

/* Sample the run's embeddings as they are now into the pool, and measure
 * the caption's metrics on the whole data set.  0 on success. */
static int take_sample(tui_run *r) {
    const float *a, *b;
    int n, k;
    if (!r->efn || r->efn(r->esrc, &a, &b, &n, &k) != 0 || n < 2 || k < 2) return -1;
    int m = n < SAMPLE ? n : SAMPLE; /* n >= 2: t-SNE's 4 points at least */
    if (grow((void **)&tui.gpool, &cappool, (size_t)2 * m * k * sizeof(float)) ||
        grow((void **)&tui.gplab, &capplab, (size_t)m * sizeof(int)))
        return -1;
    /* evenly spread rows: the same ones every frame */
    for (int i = 0; i < m; i++) {
        long row = (long)i * n / m;
        memcpy(tui.gpool + (size_t)i * k, a + (size_t)row * k, (size_t)k * sizeof(float));
        memcpy(tui.gpool + (size_t)(m + i) * k, b + (size_t)row * k, (size_t)k * sizeof(float));
        tui.gplab[i] = r->elabels ? r->elabels[row] : 0;
    }
    tui.gpm = m;
    tui.gpk = k;
    tui.gp_haslab = r->elabels != NULL;
    tui.gp_names = r->elabels ? r->enames : NULL;
    tui.gp_nnames = tui.gp_names ? r->enn : 0;
    tui.gp_serial = r->serial;
    tui.gp_step = r->done;
    tui.g_align = cwb_alignment(a, b, n, k);
    tui.g_unif = cwb_uniformity(tui.gpool, m, k, 0);
    tui.g_gap = cwb_gap_centroid(a, b, n, k);
    return 0;
}

/* t-SNE of the 2m points x into out, continuing from the last frame when it
 * was t-SNE of the same run; 0 on success. */
static int tsne_frame(const float *x, int m, int k, float *out, int warm) {
    size_t need = cwb_tsne_work_bytes(2 * m, k);
    if (!need || grow(&tsne_work, &capwork, need)) return -1;
    cwb_tsne_cfg c;
    cwb_tsne_defaults(&c);
    c.perplexity = tsne_perplexity;
    c.iterations = warm ? TSNE_ITERS_WARM : TSNE_ITERS_COLD;
    if (warm) {
        c.init = tui.gprev;
        c.exaggeration_iters = 0;
    }
    cwb_tsne_info info;
    if (cwb_tsne(x, 2 * m, k, &c, out, &info, tsne_work, need) != 0) return -1;
    shown_perplexity = info.perplexity;
    shown_kl = info.kl;
    return 0;
}

static int cmp_int(const void *pa, const void *pb) {
    int a = *(const int *)pa, b = *(const int *)pb;
    return (a > b) - (a < b);
}

/* Project the pool with the projection asked for: the points, centroids
 * and title the pane draws.  0 on success. */
static int project_pool(void) {
    int mp = tui.gpm, k = tui.gpk, kind = proj;
    if (mp < 2) return -1;
    int m = kind == TUI_PROJ_TSNE && mp > TSNE_SAMPLE ? TSNE_SAMPLE : mp;
    int same = tui.g_valid && tui.gn == m && shown_proj == kind && shown_serial == tui.gp_serial;
    if (grow((void **)&tui.gbuf, &capbuf, ((size_t)2 * m * k + (size_t)4 * m) * sizeof(float)) ||
        grow((void **)&tui.gprev, &capprev, (size_t)4 * m * sizeof(float)) ||
        grow((void **)&tui.glab, &caplab, (size_t)2 * m * sizeof(int)))
        return -1;
    float *x = tui.gbuf, *out = tui.gbuf + (size_t)2 * m * k;
    for (int i = 0; i < m; i++) { /* t-SNE: every (mp/m)-th pooled pair */
        long src = (long)i * mp / m;
        memcpy(x + (size_t)i * k, tui.gpool + (size_t)src * k, (size_t)k * sizeof(float));
        memcpy(x + (size_t)(m + i) * k, tui.gpool + (size_t)(mp + src) * k, (size_t)k * sizeof(float));
        tui.glab[i] = tui.gplab[src];
    }
    float expl[2] = {0, 0};
    int rc = kind == TUI_PROJ_TSNE ? tsne_frame(x, m, k, out, same) : cwb_pca2(x, 2 * m, k, out, expl);
    if (rc != 0) return -1;
    /* keep each PCA axis pointing the way it did (same points, same order) */
    if (kind == TUI_PROJ_PCA && same) {
        for (int ax = 0; ax < 2; ax++) {
            double dot = 0;
            for (int i = 0; i < 2 * m; i++) dot += (double)out[2 * i + ax] * tui.gprev[2 * i + ax];
            if (dot < 0)
                for (int i = 0; i < 2 * m; i++) out[2 * i + ax] = -out[2 * i + ax];
        }
    }
    memcpy(tui.gprev, out, (size_t)4 * m * sizeof(float));
    tui.gpts = tui.gprev;
    tui.gn = m;
    for (int ax = 0; ax < 2; ax++) {
        double sa = 0, sb = 0;
        for (int i = 0; i < m; i++) {
            sa += out[2 * i + ax];
            sb += out[2 * (m + i) + ax];
        }
        tui.ca[ax] = (float)(sa / m);
        tui.cb[ax] = (float)(sb / m);
    }
    tui.g_expl[0] = expl[0];
    tui.g_expl[1] = expl[1];
    tui.g_valid = 1;
    shown_proj = kind;
    shown_serial = tui.gp_serial;
    shown_haslab = tui.gp_haslab;
    shown_classes = 0;
    if (shown_haslab) { /* distinct labels, counted on a sorted copy */
        int *tmp = tui.glab + m;
        memcpy(tmp, tui.glab, (size_t)m * sizeof(int));
        qsort(tmp, (size_t)m, sizeof(int), cmp_int);
        for (int i = 0; i < m; i++) shown_classes += i == 0 || tmp[i] != tmp[i - 1];
    }
    tui.need_draw = 1;
    return 0;
}

void tui_geom_update(tui_run *r, int force) {
    if (!r || !r->efn) return;
    double now = tui_now();
    if (!force && now < tui.geom_next) return;
    double t0 = now;
    if (take_sample(r) != 0 || project_pool() != 0) {
        tui.geom_next = now + GEOM_MIN_PERIOD;
        return;
    }
    double cost = tui_now() - t0;
    tui.geom_cost = cost;
    double wait = cost / GEOM_BUDGET;
    tui.geom_next = now + (wait > GEOM_MIN_PERIOD ? wait : GEOM_MIN_PERIOD);
}

int tui_geom_set_projection(int kind, double perplexity) {
    proj = kind == TUI_PROJ_TSNE ? TUI_PROJ_TSNE : TUI_PROJ_PCA;
    if (perplexity > 0) tsne_perplexity = perplexity;
    shown_serial = -1; /* no warm start: this t-SNE frame starts afresh */
    tui.need_draw = 1;
    /* the run going on as it is now (paused or between two ticks), else
     * the last picture's pool */
    if (tui.cur && tui.cur->efn) take_sample(tui.cur);
    double t0 = tui_now();
    if (project_pool() != 0) {
        tui.geom_next = 0; /* the next tick of a run draws it */
        return -1;
    }
    double wait = (tui_now() - t0) / GEOM_BUDGET;
    tui.geom_next = t0 + (wait > GEOM_MIN_PERIOD ? wait : GEOM_MIN_PERIOD);
    return 0;
}

void tui_geom_free(void) {
    free(tui.gpool);
    free(tui.gplab);
    free(tui.gbuf);
    free(tui.glab);
    free(tui.gprev);
    free(tsne_work);
    tsne_work = NULL;
    tui.gpool = tui.gbuf = NULL;
    tui.gplab = tui.glab = NULL;
    tui.gprev = tui.gpts = NULL;
    tui.gn = tui.gpm = 0;
    tui.g_valid = 0;
    cappool = capplab = capbuf = caplab = capprev = capwork = 0;
    shown_proj = -1;
    shown_haslab = 0;
    tui.gp_names = NULL;
    tui.gp_nnames = 0;
}

static void put(int y, int x, chtype ch, int attr) { mvaddch(y, x, ch | (chtype)attr); }

/* A class's colour: the six colours that show on a dark or light
 * background, then the same six bold (bright on most terminals). */
static int class_attr(int label, int strong) {
    static const int six[] = {1, 2, 3, 4, 5, 6};
    unsigned u = (unsigned)label % 12u;
    return tui_color_attr(six[u % 6], u >= 6 || strong);
}

typedef struct {
    int cell, label;
} cell_label;

static int cmp_cell_label(const void *pa, const void *pb) {
    const cell_label *a = pa, *b = pb;
    if (a->cell != b->cell) return (a->cell > b->cell) - (a->cell < b->cell);
    return (a->label > b->label) - (a->label < b->label);
}

static chtype density(int k) { return k == 1 ? '.' : k <= 3 ? 'o' : 'O'; }

/* Points by class: each cell shows how many points fell in it and the
 * colour of the class most of them have (ties: the smaller label). */
static void draw_by_class(cwb_rect r, const int *cellof, int npts) {
    cell_label *cl = malloc((size_t)npts * sizeof *cl);
    if (!cl) return;
    int n = 0, m = tui.gn;
    for (int i = 0; i < npts; i++)
        if (cellof[i] >= 0) cl[n++] = (cell_label){cellof[i], tui.glab[i % m]};
    qsort(cl, (size_t)n, sizeof *cl, cmp_cell_label);
    int pw = r.w;
    for (int i = 0; i < n;) {
        int j = i, best = cl[i].label, bestn = 0;
        while (j < n && cl[j].cell == cl[i].cell) {
            int q = j;
            while (q < n && cl[q].cell == cl[i].cell && cl[q].label == cl[j].label) q++;
            if (q - j > bestn) bestn = q - j, best = cl[j].label;
            j = q;
        }
        int k = j - i;
        put(r.y + cl[i].cell / pw, r.x + cl[i].cell % pw, density(k), class_attr(best, k > 3));
        i = j;
    }
    free(cl);
}

/* Points by view: view a cyan, view b yellow, a cell holding both white. */
static void draw_by_view(cwb_rect r, const int *cellof, int npts) {
    int ph = r.h, pw = r.w, m = tui.gn;
    unsigned short *na = calloc((size_t)ph * pw * 2, sizeof *na);
    if (!na) return;
    unsigned short *nb = na + (size_t)ph * pw;
    for (int i = 0; i < npts; i++)
        if (cellof[i] >= 0) (i < m ? na : nb)[cellof[i]]++;
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            int ka = na[y * pw + x], kb = nb[y * pw + x];
            if (!ka && !kb) continue;
            int k = ka + kb;
            int attr = ka && kb ? tui_color_attr(7, 1) : tui_color_attr(ka ? COLOR_A : COLOR_B, k > 3);
            put(r.y + y, r.x + x, density(k), attr);
        }
    free(na);
}

/* The rows the legend of class names takes on a pane `w` wide when each
 * name is cut to `cut` bytes (0: whole), two spaces between names. */
static int legend_rows(int w, int cut) {
    int rows = 1, x = 0;
    for (int c = 0; c < tui.gp_nnames; c++) {
        int len = (int)strlen(tui.gp_names[c] ? tui.gp_names[c] : "?");
        if (cut > 0 && len > cut) len = cut;
        if (len > w) return INT_MAX;
        if (x > 0 && x + 2 + len > w) rows++, x = 0;
        x += (x > 0 ? 2 : 0) + len;
    }
    return rows;
}

/* Draw the legend in the rows from y down (each name in its class's
 * colour); returns the rows it took, 0 when there is none or it does not
 * fit in max_rows.  The cut that fits is the longest of whole names, 8, 6,
 * 4 or 3 bytes. */
static int draw_legend(int y, int x0, int w, int max_rows, int draw) {
    if (!by_class() || !tui.gp_names || tui.gp_nnames < 1 || max_rows < 1) return 0;
    static const int cuts[] = {0, 8, 6, 4, 3};
    int cut = -1, rows = 0;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0] && cut < 0; i++)
        if ((rows = legend_rows(w, cuts[i])) <= max_rows) cut = cuts[i];
    if (cut < 0) return 0;
    if (!draw) return rows;
    int row = 0, x = 0;
    for (int c = 0; c < tui.gp_nnames; c++) {
        const char *name = tui.gp_names[c] ? tui.gp_names[c] : "?";
        int len = (int)strlen(name);
        if (cut > 0 && len > cut) len = cut;
        if (x > 0 && x + 2 + len > w) row++, x = 0;
        if (x > 0) x += 2;
        attron(class_attr(c, 0));
        mvaddnstr(y + row, x0 + x, name, len);
        attroff(class_attr(c, 0));
        x += len;
    }
    return rows;
}

void tui_geom_draw(cwb_rect r) {
    if (r.h < 3 || r.w < 10) return;
    if (!tui.g_valid) {
        tui_draw_note(r, "embeddings appear here during a trainer run");
        return;
    }
    /* the last row is the caption, the legend (if any) above it, at most a
     * third of the pane */
    int lrows = draw_legend(0, 0, r.w, (r.h - 1) / 3, 0);
    if (lrows > 0) draw_legend(r.y + r.h - 1 - lrows, r.x, r.w, lrows, 1);
    int ph = r.h - 1 - lrows, pw = r.w;
    int m = tui.gn;
    const float *p = tui.gpts;
    float x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < 2 * m; i++) {
        if (p[2 * i] < x0) x0 = p[2 * i];
        if (p[2 * i] > x1) x1 = p[2 * i];
        if (p[2 * i + 1] < y0) y0 = p[2 * i + 1];
        if (p[2 * i + 1] > y1) y1 = p[2 * i + 1];
    }
    float rx = x1 - x0 > 1e-6f ? x1 - x0 : 1e-6f, ry = y1 - y0 > 1e-6f ? y1 - y0 : 1e-6f;
    /* equal scales on screen: a cell is about twice as tall as wide */
    float sy = (float)(ph - 1) / ry, sx = (float)(pw - 1) / rx;
    if (sx > 2 * sy) sx = 2 * sy;
    else sy = sx / 2;
    float cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
#define COL(v) ((int)lroundf(((v)-cx) * sx + (float)(pw - 1) / 2))
#define ROW(v) ((int)lroundf((cy - (v)) * sy + (float)(ph - 1) / 2))
    int *cellof = malloc((size_t)2 * m * sizeof *cellof);
    if (!cellof) return;
    for (int i = 0; i < 2 * m; i++) {
        int c = COL(p[2 * i]), rr = ROW(p[2 * i + 1]);
        cellof[i] = c < 0 || c >= pw || rr < 0 || rr >= ph ? -1 : rr * pw + c;
    }
    cwb_rect plane = {r.y, r.x, ph, pw};
    if (by_class()) draw_by_class(plane, cellof, 2 * m);
    else draw_by_view(plane, cellof, 2 * m);
    free(cellof);
    /* the gap vector from centroid A to centroid B */
    int ax = COL(tui.ca[0]), ay = ROW(tui.ca[1]), bx = COL(tui.cb[0]), by = ROW(tui.cb[1]);
    int steps = abs(bx - ax) > abs(by - ay) ? abs(bx - ax) : abs(by - ay);
    for (int s = 1; s < steps; s++) {
        int x = ax + (int)lround((double)(bx - ax) * s / steps);
        int y = ay + (int)lround((double)(by - ay) * s / steps);
        if (x >= 0 && x < pw && y >= 0 && y < ph) put(r.y + y, r.x + x, '-', tui_color_attr(-1, 1));
    }
    if (ax >= 0 && ax < pw && ay >= 0 && ay < ph) put(r.y + ay, r.x + ax, 'A', tui_color_attr(COLOR_A, 1) | A_REVERSE);
    if (bx >= 0 && bx < pw && by >= 0 && by < ph) put(r.y + by, r.x + bx, 'B', tui_color_attr(COLOR_B, 1) | A_REVERSE);
#undef COL
#undef ROW
    /* the caption, shorter forms on a narrow pane so that no number is cut */
    char cap[160];
    for (int form = 0; form < 3; form++) {
        if (form == 0 && shown_proj == TUI_PROJ_TSNE)
            snprintf(cap, sizeof cap, "align %.3f  unif %.2f  gap %.3f  KL %.2f", tui.g_align,
                     tui.g_unif, tui.g_gap, shown_kl);
        else if (form == 0)
            snprintf(cap, sizeof cap, "align %.3f  unif %.2f  gap %.3f  (PCA %.0f%%+%.0f%%)",
                     tui.g_align, tui.g_unif, tui.g_gap, 100 * tui.g_expl[0], 100 * tui.g_expl[1]);
        else if (form == 1)
            snprintf(cap, sizeof cap, "align %.3f unif %.2f gap %.3f", tui.g_align, tui.g_unif,
                     tui.g_gap);
        else
            snprintf(cap, sizeof cap, "al %.2f un %.2f gap %.3f", tui.g_align, tui.g_unif, tui.g_gap);
        if ((int)strlen(cap) <= r.w) break;
    }
    size_t n = tui_u8_fit(cap, strlen(cap), r.w, NULL);
    mvaddnstr(r.y + r.h - 1, r.x, cap, (int)n);
}
