/*
 * tui_geom.c - the geometry pane: where the two views (or modalities) sit.
 *
 * The run's current embeddings of both views are pooled and projected to
 * the plane (docs/methods.md "2-D projections"): by default on their top
 * two principal axes (cwb_pca2), or with projection("tsne") by exact t-SNE
 * (cwb_tsne), drawn as coloured dots (view a cyan, view b yellow, both in
 * one cell white), with the two centroids A and B and the modality-gap vector
 * between them.  The caption gives alignment, uniformity and the centroid
 * gap of the full data set (methods.md "Metrics").  At most SAMPLE rows per
 * view are projected (TSNE_SAMPLE for t-SNE, whose cost is quadratic),
 * always the same ones.  Frames move rather than jump: each PCA axis keeps
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

static size_t capbuf, capidx, capprev, capwork;

/* The projection asked for, and what the points on screen (tui.gprev) are
 * (the caption describes those until the next frame): a warm start or a
 * sign check only makes sense against the same kind of picture of the same
 * run. */
static int proj = TUI_PROJ_PCA;
static double tsne_perplexity = 30;
static int shown_proj = -1, shown_serial = -1;
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

void tui_geom_set_projection(int kind, double perplexity) {
    proj = kind == TUI_PROJ_TSNE ? TUI_PROJ_TSNE : TUI_PROJ_PCA;
    if (perplexity > 0) tsne_perplexity = perplexity;
    shown_serial = -1; /* no warm start: the next t-SNE frame starts afresh */
    tui.geom_next = 0;
    tui.need_draw = 1;
}

const char *tui_geom_projection(double *perplexity) {
    if (perplexity) *perplexity = tsne_perplexity;
    return proj == TUI_PROJ_TSNE ? "tsne" : "pca";
}

/* t-SNE of the 2m pooled points into out, continuing from the last frame
 * when it was t-SNE of the same run; 0 on success. */
static int tsne_frame(const tui_run *r, const float *pool, int m, int k, float *out) {
    size_t need = cwb_tsne_work_bytes(2 * m, k);
    if (!need || grow(&tsne_work, &capwork, need)) return -1;
    cwb_tsne_cfg c;
    cwb_tsne_defaults(&c);
    c.perplexity = tsne_perplexity;
    int warm = tui.g_valid && tui.gn == m && shown_proj == TUI_PROJ_TSNE && shown_serial == r->serial;
    c.iterations = warm ? TSNE_ITERS_WARM : TSNE_ITERS_COLD;
    if (warm) {
        c.init = tui.gprev;
        c.exaggeration_iters = 0;
    }
    cwb_tsne_info info;
    if (cwb_tsne(pool, 2 * m, k, &c, out, &info, tsne_work, need) != 0) return -1;
    shown_perplexity = info.perplexity;
    shown_kl = info.kl;
    return 0;
}

void tui_geom_update(tui_run *r, int force) {
    if (!r || !r->efn) return;
    double now = tui_now();
    if (!force && now < tui.geom_next) return;
    double t0 = now;
    const float *a, *b;
    int n, k;
    if (r->efn(r->esrc, &a, &b, &n, &k) != 0 || n < 2 || k < 2) {
        tui.geom_next = now + GEOM_MIN_PERIOD;
        return;
    }
    int kind = proj, limit = kind == TUI_PROJ_TSNE ? TSNE_SAMPLE : SAMPLE;
    int m = n < limit ? n : limit; /* n >= 2: t-SNE's 4 points at least */
    int have_prev = tui.g_valid && tui.gn == m && shown_proj == kind;
    if (grow((void **)&tui.gbuf, &capbuf, (size_t)2 * m * k * sizeof(float) + (size_t)4 * m * sizeof(float)) ||
        grow((void **)&tui.gidx, &capidx, (size_t)m * sizeof(int)) ||
        grow((void **)&tui.gprev, &capprev, (size_t)4 * m * sizeof(float)))
        return;
    tui.gpts = tui.gprev;
    /* evenly spread rows: the same ones every frame */
    for (int i = 0; i < m; i++) tui.gidx[i] = (int)((long)i * n / m);
    float *pool = tui.gbuf, *out = tui.gbuf + (size_t)2 * m * k;
    for (int i = 0; i < m; i++) {
        memcpy(pool + (size_t)i * k, a + (size_t)tui.gidx[i] * k, (size_t)k * sizeof(float));
        memcpy(pool + (size_t)(m + i) * k, b + (size_t)tui.gidx[i] * k, (size_t)k * sizeof(float));
    }
    float expl[2] = {0, 0};
    int rc = kind == TUI_PROJ_TSNE ? tsne_frame(r, pool, m, k, out) : cwb_pca2(pool, 2 * m, k, out, expl);
    if (rc != 0) {
        tui.geom_next = now + GEOM_MIN_PERIOD;
        return;
    }
    /* keep each PCA axis pointing the way it did (same points, same order) */
    if (kind == TUI_PROJ_PCA && have_prev) {
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
    tui.g_align = cwb_alignment(a, b, n, k);
    tui.g_unif = cwb_uniformity(pool, m, k, 0);
    tui.g_gap = cwb_gap_centroid(a, b, n, k);
    tui.g_expl[0] = expl[0];
    tui.g_expl[1] = expl[1];
    tui.g_valid = 1;
    shown_proj = kind;
    shown_serial = r->serial;
    if (kind == TUI_PROJ_TSNE)
        snprintf(tui.g_title, sizeof tui.g_title, "geometry (t-SNE, perplexity %g), step %ld", shown_perplexity,
                 r->step);
    else
        snprintf(tui.g_title, sizeof tui.g_title, "geometry (PCA), step %ld", r->step);
    double cost = tui_now() - t0;
    tui.geom_cost = cost;
    double wait = cost / GEOM_BUDGET;
    tui.geom_next = now + (wait > GEOM_MIN_PERIOD ? wait : GEOM_MIN_PERIOD);
    tui.need_draw = 1;
}

void tui_geom_free(void) {
    free(tui.gbuf);
    free(tui.gidx);
    free(tui.gprev);
    free(tsne_work);
    tsne_work = NULL;
    tui.gbuf = NULL;
    tui.gidx = NULL;
    tui.gprev = tui.gpts = NULL;
    tui.gn = 0;
    tui.g_valid = 0;
    capbuf = capidx = capprev = capwork = 0;
    shown_proj = -1;
}

static void put(int y, int x, chtype ch, int attr) { mvaddch(y, x, ch | (chtype)attr); }

void tui_geom_draw(cwb_rect r) {
    if (r.h < 3 || r.w < 10) return;
    if (!tui.g_valid) {
        const char *m = "embeddings appear here during a trainer run";
        int len = (int)strlen(m) < r.w ? (int)strlen(m) : r.w;
        mvaddnstr(r.y + r.h / 2, r.x + (r.w - len) / 2, m, len);
        return;
    }
    int ph = r.h - 1, pw = r.w; /* the last row is the caption */
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
    unsigned short *na = calloc((size_t)ph * pw * 2, sizeof *na);
    if (!na) return;
    unsigned short *nb = na + (size_t)ph * pw;
    for (int i = 0; i < 2 * m; i++) {
        int c = COL(p[2 * i]), rr = ROW(p[2 * i + 1]);
        if (c < 0 || c >= pw || rr < 0 || rr >= ph) continue;
        if (i < m) na[rr * pw + c]++;
        else nb[rr * pw + c]++;
    }
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            int ka = na[y * pw + x], kb = nb[y * pw + x];
            if (!ka && !kb) continue;
            int k = ka + kb;
            chtype ch = k == 1 ? '.' : k <= 3 ? 'o' : 'O';
            int attr = ka && kb ? tui_color_attr(7, 1) : tui_color_attr(ka ? COLOR_A : COLOR_B, k > 3);
            put(r.y + y, r.x + x, ch, attr);
        }
    free(na);
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
    char cap[160];
    if (shown_proj == TUI_PROJ_TSNE)
        snprintf(cap, sizeof cap, "align %.3f  unif %.2f  gap %.3f  KL %.2f", tui.g_align, tui.g_unif,
                 tui.g_gap, shown_kl);
    else
        snprintf(cap, sizeof cap, "align %.3f  unif %.2f  gap %.3f  (PCA %.0f%%+%.0f%%)", tui.g_align,
                 tui.g_unif, tui.g_gap, 100 * tui.g_expl[0], 100 * tui.g_expl[1]);
    size_t n = tui_u8_fit(cap, strlen(cap), r.w, NULL);
    mvaddnstr(r.y + r.h - 1, r.x, cap, (int)n);
}
