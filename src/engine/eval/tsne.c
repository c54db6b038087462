/*
 * tsne.c - exact t-SNE to two dimensions (tsne.h; van der Maaten & Hinton,
 * "Visualizing Data using t-SNE", JMLR 9, 2008, cited as [vdMH]).
 *
 * Precision: the input's squared distances come from sgemm in float (the
 * data are centred first, in double, so that embeddings far from the origin
 * do not lose their spread to cancellation in |x_i|^2 + |x_j|^2 - 2 x_i.x_j);
 * everything after that (P, the layout, the gradient, KL) is double.  P's
 * entries go down to 1e-10 and below and the layout's first steps are of
 * order 1e-4, where float would round the attractive and repulsive forces
 * into each other.
 *
 * Determinism: no random numbers (the start is the PCA projection) and
 * every sum runs in a fixed order, so equal inputs give equal bits on one
 * BLAS kernel.
 */
#include "engine/eval/tsne.h"
#include "engine/core/error.h"
#include "engine/eval/project.h"
#include "engine/core/tensor.h"

#include <math.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows of the distance matrix computed per sgemm. */
#define BLOCK_ROWS 256
/* Bisection on a row's precision stops at this entropy error (nats), or
 * after MAX_BISECT halvings (which reach a double's resolution). */
#define ENTROPY_TOL 1e-5
#define MAX_BISECT 200
/* The reference optimiser's constants [vdMH, section 3.4]: momentum 0.5
 * while the exaggerated early phase lasts, 0.8 after; the per-coordinate
 * gains of Jacobs' delta-bar-delta rule grow by 0.2 while the gradient keeps
 * pointing the way the last step went, shrink by 0.8 when it turns back,
 * and never fall below 0.01. */
#define MOMENTUM_EARLY 0.5
#define MOMENTUM_LATE 0.8
#define GAIN_UP 0.2
#define GAIN_DOWN 0.8
#define GAIN_MIN 0.01
#define EARLY_ITERS_MAX 250
/* The PCA start is shrunk to this std so that the early phase begins with
 * all points close together, as a random N(0, 1e-4) start would [vdMH]. */
#define INIT_STD 1e-4

void cwb_tsne_defaults(cwb_tsne_cfg *c) {
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->perplexity = 30;
    c->iterations = 1000;
    c->learning_rate = 0;
    c->exaggeration = 12;
    c->exaggeration_iters = -1;
    c->init = NULL;
    c->stop = NULL;
    c->stop_ctx = NULL;
}

/* ---- workspace ------------------------------------------------------------ */

/* Every array of a call, carved out of one block: the doubles first, so
 * that the block's own alignment serves them, then the floats. */
typedef struct {
    double *P;              /* n x n */
    double *Y, *upd, *gains, *grad, *gwork;   /* 2n each */
    double *sq, *drow;      /* n each */
    float *xc;              /* n x d, the centred input */
    float *block;           /* rows x n inner products */
    float *yinit;           /* n x 2 */
    int rows;
} tsne_ws;

static int block_rows(int n) { return n < BLOCK_ROWS ? n : BLOCK_ROWS; }

static int shape_ok(int n, int d) { return n >= 4 && n <= CWB_TSNE_MAX_N && d >= 1; }

size_t cwb_tsne_work_bytes(int n, int d) {
    if (!shape_ok(n, d)) return 0;
    size_t N = (size_t)n, B = (size_t)block_rows(n);
    if ((size_t)d > (SIZE_MAX / 4 - B * N) / N / sizeof(float)) return 0;
    size_t doubles = N * N + 12 * N;
    size_t floats = N * (size_t)d + B * N + 2 * N;
    return doubles * sizeof(double) + floats * sizeof(float);
}

static void ws_carve(tsne_ws *w, void *base, int n, int d) {
    size_t N = (size_t)n;
    double *p = base;
    w->P = p;
    p += N * N;
    w->Y = p;
    p += 2 * N;
    w->upd = p;
    p += 2 * N;
    w->gains = p;
    p += 2 * N;
    w->grad = p;
    p += 2 * N;
    w->gwork = p;
    p += 2 * N;
    w->sq = p;
    p += N;
    w->drow = p;
    p += N;
    float *f = (float *)p;
    w->rows = block_rows(n);
    w->xc = f;
    f += N * (size_t)d;
    w->block = f;
    f += (size_t)w->rows * N;
    w->yinit = f;
}

/* ---- affinities ------------------------------------------------------------ */

/*
 * Entropy (nats) of row i's conditional distribution at precision beta,
 * leaving the unnormalised weights in p and their sum in *sum.  Distances
 * are taken relative to the row's smallest one, so the nearest neighbour
 * weighs exp(0) = 1: the sum cannot underflow to 0 however large beta is.
 * With e_j = exp(-beta (d_j - dmin)) and S = sum e_j, p_j = e_j / S and
 * H = -sum p_j ln p_j = ln S + beta sum_j p_j (d_j - dmin).
 */
static double row_entropy(const double *dist, int n, int self, double dmin, double beta, double *p,
                          double *sum) {
    double s = 0, sd = 0;
    for (int j = 0; j < n; j++) {
        if (j == self) {
            p[j] = 0;
            continue;
        }
        double t = dist[j] - dmin;
        double e = exp(-beta * t);
        p[j] = e;
        s += e;
        sd += e * t;
    }
    *sum = s;
    return log(s) + beta * sd / s;
}

/*
 * One row's precision [vdMH, section 2]: H(P_i) falls monotonically as
 * beta grows, so bisection finds the beta whose entropy is ln(perplexity).
 * The upper end is unknown at first and is found by doubling; the start,
 * 1 / mean (d_j - dmin), puts beta near the data's own scale so that few
 * steps are needed whatever units the embeddings are in.
 */
static double calibrate_row(const double *dist, int n, int self, double target, double *p) {
    double dmin = INFINITY, mean = 0;
    for (int j = 0; j < n; j++)
        if (j != self && dist[j] < dmin) dmin = dist[j];
    for (int j = 0; j < n; j++)
        if (j != self) mean += dist[j] - dmin;
    mean /= n - 1;
    double beta = mean > 0 ? 1.0 / mean : 1.0, lo = 0, hi = INFINITY, sum = 1;
    int converged = 0;
    for (int it = 0; it < MAX_BISECT; it++) {
        double h = row_entropy(dist, n, self, dmin, beta, p, &sum);
        if (fabs(h - target) < ENTROPY_TOL) {
            converged = 1;
            break;
        }
        if (h > target) { /* too flat: sharpen */
            lo = beta;
            beta = isinf(hi) ? 2 * beta : 0.5 * (lo + hi);
        } else {
            hi = beta;
            beta = 0.5 * (lo + hi);
        }
    }
    /* Unreachable targets (ties at the nearest distance) end here with the
     * weights of the last beta tried, still a valid distribution. */
    if (!converged) row_entropy(dist, n, self, dmin, beta, p, &sum);
    for (int j = 0; j < n; j++) p[j] /= sum;
    return beta;
}

static int affinities_ws(const float *x, int n, int d, double perplexity, double *P, double *beta,
                         tsne_ws *w) {
    /* centre in double (see the top of the file) */
    for (int j = 0; j < d; j++) {
        double m = 0;
        for (int i = 0; i < n; i++) m += x[(size_t)i * d + j];
        m /= n;
        for (int i = 0; i < n; i++) w->xc[(size_t)i * d + j] = (float)(x[(size_t)i * d + j] - m);
    }
    for (int i = 0; i < n; i++) w->sq[i] = cwb_sumsq(w->xc + (size_t)i * d, (size_t)d);

    double target = log(perplexity);
    for (int r0 = 0; r0 < n; r0 += w->rows) {
        int nr = n - r0 < w->rows ? n - r0 : w->rows;
        cwb_gemm(0, 1, nr, n, d, 1.0f, w->xc + (size_t)r0 * d, d, w->xc, d, 0.0f, w->block, n);
        for (int r = 0; r < nr; r++) {
            int i = r0 + r;
            const float *g = w->block + (size_t)r * n;
            for (int j = 0; j < n; j++) {
                double d2 = w->sq[i] + w->sq[j] - 2.0 * g[j];
                w->drow[j] = d2 > 0 ? d2 : 0;
            }
            double b = calibrate_row(w->drow, n, i, target, P + (size_t)i * n);
            if (beta) beta[i] = b;
        }
    }
    return CWB_OK;
}

static int check_input(const char *fn, const float *x, int n, int d) {
    if (!x) return cwb_fail(CWB_EINVAL, "%s: NULL input", fn);
    if (n < 4 || d < 1)
        return cwb_fail(CWB_EINVAL, "%s: shape %d x %d, need n >= 4 points and d >= 1", fn, n, d);
    if (n > CWB_TSNE_MAX_N)
        return cwb_fail(CWB_EINVAL, "%s: n = %d points, exact t-SNE is O(n^2): at most %d", fn, n,
                        CWB_TSNE_MAX_N);
    if (cwb_has_nonfinite(x, (size_t)n * d)) return cwb_fail(CWB_ENAN, "%s: the input holds a NaN or Inf", fn);
    return CWB_OK;
}

int cwb_tsne_affinities(const float *x, int n, int d, double perplexity, double *P, double *beta) {
    int rc = check_input("cwb_tsne_affinities", x, n, d);
    if (rc) return rc;
    if (!P) return cwb_fail(CWB_EINVAL, "cwb_tsne_affinities: NULL output P");
    if (!(perplexity > 0) || !(perplexity <= n - 1))
        return cwb_fail(CWB_EINVAL, "cwb_tsne_affinities: perplexity = %g, must be in (0, n - 1 = %d]",
                        perplexity, n - 1);
    /* the same carving as cwb_tsne's, with P supplied by the caller */
    size_t N = (size_t)n, B = (size_t)block_rows(n);
    size_t bytes = 2 * N * sizeof(double) + (N * (size_t)d + B * N) * sizeof(float);
    void *mem = cwb_alloc((bytes + sizeof(float) - 1) / sizeof(float));
    if (!mem) return cwb_fail(CWB_ENOMEM, "cwb_tsne_affinities: out of memory for %d x %d", n, d);
    tsne_ws w = {0};
    w.sq = mem;
    w.drow = w.sq + N;
    w.xc = (float *)(w.drow + N);
    w.block = w.xc + N * (size_t)d;
    w.rows = (int)B;
    rc = affinities_ws(x, n, d, perplexity, P, beta, &w);
    cwb_free(mem);
    return rc;
}

int cwb_tsne_symmetrize(double *P, int n) {
    if (!P) return cwb_fail(CWB_EINVAL, "cwb_tsne_symmetrize: NULL P");
    if (n < 2) return cwb_fail(CWB_EINVAL, "cwb_tsne_symmetrize: n = %d, need n >= 2", n);
    /* [vdMH, section 3.1]: averaging both conditionals gives every point,
     * outliers included, a total affinity of at least 1/2n, so each one
     * pulls on the layout. */
    double s = 1.0 / (2.0 * n);
    for (int i = 0; i < n; i++) {
        P[(size_t)i * n + i] = 0;
        for (int j = i + 1; j < n; j++) {
            double v = (P[(size_t)i * n + j] + P[(size_t)j * n + i]) * s;
            P[(size_t)i * n + j] = v;
            P[(size_t)j * n + i] = v;
        }
    }
    return CWB_OK;
}

/* ---- objective and gradient -------------------------------------------------- */

/*
 * [vdMH, eq. 5] splits into an attractive and a repulsive sum: with
 * w_ij = (1 + |y_i - y_j|^2)^-1 and q_ij = w_ij / Z,
 *
 *   grad_i = 4 (alpha A_i - R_i / Z),  A_i = sum_j p_ij w_ij (y_i - y_j),
 *                                      R_i = sum_j w_ij^2 (y_i - y_j),
 *
 * so one pass over the pairs gathers A, R and Z together, and Z is applied
 * at the end; the pair (i, j) adds to i and subtracts from j.  KL(P || Q) =
 * sum p ln p - sum p ln w + (sum p) ln Z needs logarithms, so it has its own
 * pass, taken only when asked for.  P is read in its upper triangle.
 */
int cwb_tsne_gradient(const double *P, const double *Y, int n, double exaggeration, double *grad,
                      double *kl, double *work) {
    if (!P || !Y || !grad || !work)
        return cwb_fail(CWB_EINVAL, "cwb_tsne_gradient: NULL %s",
                        !P ? "P" : !Y ? "layout Y" : !grad ? "gradient" : "workspace");
    if (n < 2) return cwb_fail(CWB_EINVAL, "cwb_tsne_gradient: n = %d, need n >= 2", n);
    double *rep = work;
    memset(grad, 0, (size_t)2 * n * sizeof *grad);
    memset(rep, 0, (size_t)2 * n * sizeof *rep);
    double z = 0;
    for (int i = 0; i < n; i++) {
        const double *pi = P + (size_t)i * n;
        double yi0 = Y[2 * i], yi1 = Y[2 * i + 1];
        double ax = 0, ay = 0, rx = 0, ry = 0, zi = 0;
        for (int j = i + 1; j < n; j++) {
            double dx = yi0 - Y[2 * j], dy = yi1 - Y[2 * j + 1];
            double w = 1.0 / (1.0 + dx * dx + dy * dy);
            double a = pi[j] * w, r = w * w;
            zi += w;
            ax += a * dx;
            ay += a * dy;
            rx += r * dx;
            ry += r * dy;
            grad[2 * j] -= a * dx;
            grad[2 * j + 1] -= a * dy;
            rep[2 * j] -= r * dx;
            rep[2 * j + 1] -= r * dy;
        }
        z += zi;
        grad[2 * i] += ax;
        grad[2 * i + 1] += ay;
        rep[2 * i] += rx;
        rep[2 * i + 1] += ry;
    }
    z *= 2; /* both (i, j) and (j, i) */
    for (int k = 0; k < 2 * n; k++) grad[k] = 4.0 * (exaggeration * grad[k] - rep[k] / z);

    if (kl) {
        double plogp = 0, plogw = 0, psum = 0;
        for (int i = 0; i < n; i++) {
            const double *pi = P + (size_t)i * n;
            for (int j = i + 1; j < n; j++) {
                double p = pi[j];
                if (!(p > 0)) continue; /* 0 ln 0 = 0 */
                double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
                plogp += p * log(p);
                plogw -= p * log1p(dx * dx + dy * dy);
                psum += p;
            }
        }
        *kl = 2 * (plogp - plogw) + 2 * psum * log(z);
    }
    return CWB_OK;
}

/* ---- the optimiser ------------------------------------------------------------ */

static void centre(double *Y, int n) {
    double m0 = 0, m1 = 0;
    for (int i = 0; i < n; i++) {
        m0 += Y[2 * i];
        m1 += Y[2 * i + 1];
    }
    m0 /= n;
    m1 /= n;
    for (int i = 0; i < n; i++) {
        Y[2 * i] -= m0;
        Y[2 * i + 1] -= m1;
    }
}

/* The PCA projection shrunk so that its first axis has std INIT_STD: the
 * layout starts as the data's broad shape, deterministically (sklearn's
 * init="pca" does the same; Kobak & Linderman 2021 show it keeps more of
 * the global structure than a random start). */
static int pca_start(const float *x, int n, int d, tsne_ws *w) {
    int rc = cwb_pca2(x, n, d, w->yinit, NULL);
    if (rc) return rc;
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += w->yinit[2 * i];
    m /= n;
    for (int i = 0; i < n; i++) v += (w->yinit[2 * i] - m) * (w->yinit[2 * i] - m);
    double sd = sqrt(v / n);
    /* constant data: every point at the origin, which P (uniform) keeps */
    double scale = sd > 0 ? INIT_STD / sd : 0;
    for (int k = 0; k < 2 * n; k++) w->Y[k] = w->yinit[k] * scale;
    return CWB_OK;
}

static int check_cfg(const cwb_tsne_cfg *c, int n) {
    if (!(c->perplexity > 0) || !isfinite(c->perplexity))
        return cwb_fail(CWB_EINVAL, "cwb_tsne: perplexity = %g, must be positive and finite", c->perplexity);
    if (c->iterations < 1) return cwb_fail(CWB_EINVAL, "cwb_tsne: iterations = %d, must be >= 1", c->iterations);
    if (!(c->learning_rate >= 0) || !isfinite(c->learning_rate))
        return cwb_fail(CWB_EINVAL, "cwb_tsne: learning rate = %g, must be >= 0 (0 = automatic)",
                        c->learning_rate);
    if (!(c->exaggeration >= 1) || !isfinite(c->exaggeration))
        return cwb_fail(CWB_EINVAL, "cwb_tsne: exaggeration = %g, must be >= 1", c->exaggeration);
    if (c->exaggeration_iters < -1 || c->exaggeration_iters > c->iterations)
        return cwb_fail(CWB_EINVAL, "cwb_tsne: exaggeration_iters = %d outside -1..iterations = %d",
                        c->exaggeration_iters, c->iterations);
    if (c->init && cwb_has_nonfinite(c->init, (size_t)n * 2))
        return cwb_fail(CWB_ENAN, "cwb_tsne: the initial layout holds a NaN or Inf");
    return CWB_OK;
}

int cwb_tsne(const float *x, int n, int d, const cwb_tsne_cfg *cfg, float *y, cwb_tsne_info *info,
             void *work, size_t work_bytes) {
    cwb_tsne_cfg c;
    if (cfg) c = *cfg;
    else cwb_tsne_defaults(&c);
    int rc = check_input("cwb_tsne", x, n, d);
    if (rc) return rc;
    if (!y) return cwb_fail(CWB_EINVAL, "cwb_tsne: NULL output");
    if ((rc = check_cfg(&c, n))) return rc;
    size_t need = cwb_tsne_work_bytes(n, d);
    if (!need) return cwb_fail(CWB_ENOMEM, "cwb_tsne: workspace for %d x %d does not fit in memory", n, d);
    if (work && work_bytes < need)
        return cwb_fail(CWB_EINVAL, "cwb_tsne: workspace of %zu bytes, need %zu", work_bytes, need);
    if (work && (uintptr_t)work % alignof(double))
        return cwb_fail(CWB_EINVAL, "cwb_tsne: workspace not aligned for doubles");

    double perplexity = c.perplexity < (n - 1) / 3.0 ? c.perplexity : (n - 1) / 3.0;
    int early = c.exaggeration_iters >= 0 ? c.exaggeration_iters
                : c.iterations / 4 < EARLY_ITERS_MAX ? c.iterations / 4 : EARLY_ITERS_MAX;
    double lr = c.learning_rate > 0 ? c.learning_rate : fmax(n / c.exaggeration / 4.0, 50.0);

    void *mem = work;
    if (!mem) {
        mem = cwb_alloc((need + sizeof(float) - 1) / sizeof(float));
        if (!mem) return cwb_fail(CWB_ENOMEM, "cwb_tsne: out of memory for %zu bytes (n = %d)", need, n);
    }
    tsne_ws w;
    ws_carve(&w, mem, n, d);

    double kl0 = NAN, kl = NAN;
    int done = 0;
    rc = affinities_ws(x, n, d, perplexity, w.P, NULL, &w);
    if (!rc) rc = cwb_tsne_symmetrize(w.P, n);
    if (rc) goto out;
    if (c.init) {
        for (int k = 0; k < 2 * n; k++) w.Y[k] = c.init[k];
    } else if ((rc = pca_start(x, n, d, &w))) {
        goto out;
    }
    /* KL and Q do not move under translation; keeping the layout centred
     * keeps its coordinates small. */
    centre(w.Y, n);
    for (int k = 0; k < 2 * n; k++) {
        w.upd[k] = 0;
        w.gains[k] = 1;
    }
    if ((rc = cwb_tsne_gradient(w.P, w.Y, n, 1.0, w.grad, &kl0, w.gwork))) goto out;

    for (int it = 0; it < c.iterations; it++) {
        int is_early = it < early;
        double alpha = is_early ? c.exaggeration : 1.0;
        double mom = is_early ? MOMENTUM_EARLY : MOMENTUM_LATE;
        cwb_tsne_gradient(w.P, w.Y, n, alpha, w.grad, NULL, w.gwork);
        for (int k = 0; k < 2 * n; k++) {
            /* the step goes against the gradient: same signs mean the
             * gradient has turned back on the last step */
            double g = w.grad[k];
            double gain = (g > 0) != (w.upd[k] > 0) ? w.gains[k] + GAIN_UP : w.gains[k] * GAIN_DOWN;
            w.gains[k] = gain > GAIN_MIN ? gain : GAIN_MIN;
            w.upd[k] = mom * w.upd[k] - lr * w.gains[k] * g;
            w.Y[k] += w.upd[k];
        }
        centre(w.Y, n);
        done = it + 1;
        if (c.stop && c.stop(c.stop_ctx, done)) break;
    }
    cwb_tsne_gradient(w.P, w.Y, n, 1.0, w.grad, &kl, w.gwork);
    for (int k = 0; k < 2 * n; k++)
        if (!isfinite(w.Y[k])) {
            rc = cwb_fail(CWB_ENAN, "cwb_tsne: the layout diverged (learning rate %g too large?)", lr);
            goto out;
        }
    for (int k = 0; k < 2 * n; k++) y[k] = (float)w.Y[k];

out:
    if (info) {
        info->kl_initial = kl0;
        info->kl = rc ? NAN : kl;
        info->perplexity = perplexity;
        info->learning_rate = lr;
        info->exaggeration_iters = early;
        info->iterations = done;
    }
    if (!work) cwb_free(mem);
    return rc;
}
