/* test_tsne.c - exact t-SNE (tsne.h): calibration, gradient, layout quality,
 * determinism and argument checks, each against an independent reference. */
#include "engine/eval/tsne.h"
#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "../tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int msg_has(const char *word) {
    const char *m = cwb_errmsg();
    return m && m[0] && strstr(m, word) != NULL;
}

/* An error code and a message naming the problem. */
static int rejects(int rc, int code, const char *word) {
    int pass = rc == code && msg_has(word);
    if (!pass) diag("got %d (want %d), message \"%s\", want it to mention \"%s\"", rc, code, cwb_errmsg(), word);
    cwb_clear_error();
    return pass;
}

static float *randn(cwb_rng *r, int n, int d, double scale) {
    float *x = malloc((size_t)n * d * sizeof *x);
    for (int t = 0; t < n * d; t++) x[t] = (float)(scale * cwb_rng_normal(r));
    return x;
}

/* Z = sum_{k != l} (1 + |y_k - y_l|^2)^-1, the Student-t normaliser, the
 * long way: every ordered pair. */
static double z_naive(const double *Y, int n) {
    double z = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j) {
                double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
                z += 1 / (1 + dx * dx + dy * dy);
            }
    return z;
}

/* KL(P || Q) the long way, for the finite differences: every ordered pair,
 * Q normalised explicitly. */
static double kl_naive(const double *P, const double *Y, int n) {
    double z = z_naive(Y, n), kl = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j && P[i * n + j] > 0) {
                double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
                double q = 1 / (1 + dx * dx + dy * dy) / z;
                kl += P[i * n + j] * log(P[i * n + j] / q);
            }
    return kl;
}

/* Fraction of points whose 5 nearest neighbours in the plane (leave one
 * out) mostly carry their own label; a tie goes to the nearest such label. */
static double knn5_accuracy(const float *y, const int *label, int n, int nlab) {
    int good = 0;
    for (int i = 0; i < n; i++) {
        int nb[5];
        double nd[5];
        int m = 0;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1], dd = dx * dx + dy * dy;
            int at = m < 5 ? m++ : 5;
            while (at > 0 && nd[at - 1] > dd) {
                if (at < 5) {
                    nd[at] = nd[at - 1];
                    nb[at] = nb[at - 1];
                }
                at--;
            }
            if (at < 5) {
                nd[at] = dd;
                nb[at] = j;
            }
        }
        int count[16] = {0}, best = label[nb[0]];
        for (int t = 0; t < 5; t++) count[label[nb[t]]]++;
        for (int c = 0; c < nlab; c++)
            if (count[c] > count[best]) best = c;
        good += best == label[i];
    }
    return (double)good / n;
}

static int stop_at_7(void *ctx, int it) {
    (void)ctx;
    return it >= 7;
}

int main(void) {
    cwb_rng r;
    cwb_rng_seed(&r, 2008, CWB_STREAM_USER);

    /* ---- (a) perplexity calibration ------------------------------------ */
    {
        const int n = 150, d = 10;
        float *x = randn(&r, n, d, 3.0);
        double *P = malloc((size_t)n * n * sizeof *P), beta[150];
        const double perps[] = {2, 5, 30, 100};
        for (int t = 0; t < 4; t++) {
            double perp = perps[t];
            int rc = cwb_tsne_affinities(x, n, d, perp, P, beta);
            double worst = 0, worst_sum = 0, diag_max = 0, worst_kernel = 0;
            for (int i = 0; i < n; i++) {
                double h = 0, s = 0;
                for (int j = 0; j < n; j++) {
                    double p = P[i * n + j];
                    s += p;
                    if (p > 0) h -= p * log(p);
                }
                worst = fmax(worst, fabs(h - log(perp)));
                worst_sum = fmax(worst_sum, fabs(s - 1));
                diag_max = fmax(diag_max, fabs(P[i * n + i]));
                /* the Gaussian kernel itself: p_j|i / p_k|i = exp(-beta_i (d_ij^2 - d_ik^2)),
                 * k = the row's first other point, distances in double here */
                int k = i == 0 ? 1 : 0;
                double dk = 0;
                for (int c = 0; c < d; c++) dk += (double)(x[i * d + c] - x[k * d + c]) * (x[i * d + c] - x[k * d + c]);
                for (int j = 0; j < n; j++) {
                    if (j == i || P[i * n + j] < 1e-12 || P[i * n + k] < 1e-12) continue;
                    double dj = 0;
                    for (int c = 0; c < d; c++)
                        dj += (double)(x[i * d + c] - x[j * d + c]) * (x[i * d + c] - x[j * d + c]);
                    double want = -beta[i] * (dj - dk), got = log(P[i * n + j] / P[i * n + k]);
                    worst_kernel = fmax(worst_kernel, fabs(got - want) / (1 + fabs(want)));
                }
            }
            ok(rc == CWB_OK && worst < 1e-3,
               "perplexity %g: every row's entropy is ln(perplexity) (worst error %.2g nats)", perp, worst);
            ok(worst_sum < 1e-12 && diag_max == 0, "perplexity %g: rows sum to 1 (%.2g), p_i|i = 0", perp, worst_sum);
            ok(worst_kernel < 1e-3, "perplexity %g: p_j|i is a Gaussian in d_ij^2 with the returned beta_i (%.2g)",
               perp, worst_kernel);
        }
        /* the same data 100x larger: beta scales by 1e-4, P does not change */
        double *P2 = malloc((size_t)n * n * sizeof *P2), beta2[150];
        float *x2 = malloc((size_t)n * d * sizeof *x2);
        for (int t = 0; t < n * d; t++) x2[t] = 100 * x[t];
        cwb_tsne_affinities(x, n, d, 30, P, beta);
        cwb_tsne_affinities(x2, n, d, 30, P2, beta2);
        double wp = 0, wb = 0;
        for (int t = 0; t < n * n; t++) wp = fmax(wp, fabs(P[t] - P2[t]));
        for (int i = 0; i < n; i++) wb = fmax(wb, fabs(beta2[i] * 1e4 / beta[i] - 1));
        ok(wp < 1e-5 && wb < 1e-3, "scaling the data by 100 leaves P (%.2g) and scales beta by 1e-4 (%.2g)", wp, wb);

        ok(cwb_tsne_symmetrize(P, n) == CWB_OK, "symmetrize");
        double asym = 0, total = 0, rowmin = 1;
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < n; j++) {
                asym = fmax(asym, fabs(P[i * n + j] - P[j * n + i]));
                s += P[i * n + j];
            }
            total += s;
            rowmin = fmin(rowmin, s);
        }
        ok(asym == 0 && fabs(total - 1) < 1e-12, "joint P is symmetric and sums to 1 (%.15f)", total);
        ok(rowmin >= 0.5 / n * (1 - 1e-12), "every point keeps a total affinity >= 1/2n (%.3g vs %.3g)", rowmin,
           0.5 / n);
        free(P2);
        free(x2);
        free(P);
        free(x);
    }

    /* ---- (b) the gradient against central differences of KL -------------- */
    {
        const int n = 12, d = 5;
        float *x = randn(&r, n, d, 1.0);
        double *P = malloc((size_t)n * n * sizeof *P), Y[24], g[24], g4[24], work[24], kl;
        cwb_tsne_affinities(x, n, d, 3, P, NULL);
        cwb_tsne_symmetrize(P, n);
        for (int k = 0; k < 2 * n; k++) Y[k] = cwb_rng_normal(&r);
        int rc = cwb_tsne_gradient(P, Y, n, 1.0, g, &kl, work);
        double want = kl_naive(P, Y, n);
        ok(rc == CWB_OK && tap_close(kl, want, 1e-12, 1e-14), "KL(P||Q) = %.12f matches the direct sum %.12f", kl,
           want);
        double worst = 0, h = 1e-6;
        for (int k = 0; k < 2 * n; k++) {
            double keep = Y[k];
            Y[k] = keep + h;
            double up = kl_naive(P, Y, n);
            Y[k] = keep - h;
            double dn = kl_naive(P, Y, n);
            Y[k] = keep;
            double fd = (up - dn) / (2 * h);
            worst = fmax(worst, fabs(fd - g[k]) / (1e-3 + fabs(fd)));
        }
        ok(worst < 1e-6, "the gradient matches central differences of KL (worst relative error %.2g)", worst);

        /* exaggeration: 4 sum (alpha p_ij - q_ij) w_ij (y_i - y_j), term by term */
        cwb_tsne_gradient(P, Y, n, 4.0, g4, NULL, work);
        double z = z_naive(Y, n), werr = 0;
        for (int i = 0; i < n; i++) {
            double e[2] = {0, 0};
            for (int j = 0; j < n; j++) {
                if (j == i) continue;
                double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1], w = 1 / (1 + dx * dx + dy * dy);
                e[0] += 4 * (4 * P[i * n + j] - w / z) * w * dx;
                e[1] += 4 * (4 * P[i * n + j] - w / z) * w * dy;
            }
            for (int c = 0; c < 2; c++) werr = fmax(werr, fabs(e[c] - g4[2 * i + c]) / (1e-9 + fabs(e[c])));
        }
        ok(werr < 1e-9, "exaggerated gradient (alpha = 4) matches eq. 5 with alpha p_ij (%.2g)", werr);
        free(P);
        free(x);
    }

    /* ---- (c) separated clusters, (d) determinism --------------------------- */
    {
        const int K = 4, per = 50, n = K * per, d = 20;
        float *x = malloc((size_t)n * d * sizeof *x), *y = malloc((size_t)n * 2 * sizeof *y);
        float *y2 = malloc((size_t)n * 2 * sizeof *y2), *y3 = malloc((size_t)n * 2 * sizeof *y3);
        int label[200];
        double centres[4][20];
        for (int c = 0; c < K; c++)
            for (int t = 0; t < d; t++) centres[c][t] = 5 * cwb_rng_normal(&r);
        /* interleaved labels, so that nothing depends on the points' order */
        for (int i = 0; i < n; i++) {
            label[i] = i % K;
            for (int t = 0; t < d; t++) x[i * d + t] = (float)(centres[label[i]][t] + cwb_rng_normal(&r));
        }
        cwb_tsne_info info;
        memset(&info, 0, sizeof info);
        int rc = cwb_tsne(x, n, d, NULL, y, &info, NULL, 0);
        ok(rc == CWB_OK, "t-SNE of 4 clusters x 50 points in 20-D (%s)", cwb_errmsg());
        double acc = knn5_accuracy(y, label, n, K);
        ok(acc >= 0.95, "5-NN label accuracy in the plane %.3f >= 0.95", acc);
        ok(info.kl < info.kl_initial && info.kl > 0, "KL falls from %.4f to %.4f", info.kl_initial, info.kl);
        ok(info.perplexity == 30 && info.iterations == 1000 && info.exaggeration_iters == 250 &&
               info.learning_rate == 50,
           "defaults: perplexity 30, 1000 iterations, 250 exaggerated, learning rate max(200/48, 50) = 50");
        double spread = 0;
        for (int k = 0; k < 2 * n; k++) spread = fmax(spread, fabs(y[k]));
        ok(spread > 1 && spread < 1e3, "the layout has grown from std 1e-4 to a plot's size (max |y| %.1f)", spread);

        rc = cwb_tsne(x, n, d, NULL, y2, NULL, NULL, 0);
        ok(rc == CWB_OK && !memcmp(y, y2, (size_t)n * 2 * sizeof *y), "two calls give bit-identical layouts");
        size_t wb = cwb_tsne_work_bytes(n, d);
        void *work = malloc(wb);
        rc = cwb_tsne(x, n, d, NULL, y3, NULL, work, wb);
        ok(rc == CWB_OK && !memcmp(y, y3, (size_t)n * 2 * sizeof *y),
           "a caller's workspace (%zu bytes) gives the same bits", wb);

        /* warm start from the result: a short descent without exaggeration
         * keeps the layout where it was and does not undo the fit */
        cwb_tsne_cfg c;
        cwb_tsne_defaults(&c);
        c.init = y;
        c.iterations = 100;
        c.exaggeration_iters = 0;
        cwb_tsne_info wi;
        rc = cwb_tsne(x, n, d, &c, y2, &wi, work, wb);
        double moved = 0;
        for (int k = 0; k < 2 * n; k++) moved = fmax(moved, fabs(y2[k] - y[k]));
        ok(rc == CWB_OK && tap_close(wi.kl_initial, info.kl, 1e-5, 0) && wi.kl <= wi.kl_initial + 1e-6,
           "warm start begins at the previous KL %.5f (%.5f) and ends no worse (%.5f)", info.kl, wi.kl_initial,
           wi.kl);
        ok(moved < 0.1 * spread && knn5_accuracy(y2, label, n, K) >= 0.95,
           "warm start moves points by at most %.3f (layout size %.1f)", moved, spread);
        /* in place: y is both the start and the result */
        memcpy(y3, y, (size_t)n * 2 * sizeof *y);
        c.init = y3;
        rc = cwb_tsne(x, n, d, &c, y3, NULL, NULL, 0);
        ok(rc == CWB_OK && !memcmp(y2, y3, (size_t)n * 2 * sizeof *y), "y may be the initial layout itself");

        c.init = NULL;
        c.iterations = 1000;
        c.exaggeration_iters = -1;
        c.stop = stop_at_7;
        rc = cwb_tsne(x, n, d, &c, y2, &wi, NULL, 0);
        ok(rc == CWB_OK && wi.iterations == 7 && isfinite(wi.kl), "a stop callback ends the descent (%d iterations)",
           wi.iterations);

        /* small n: the perplexity is clamped to (n - 1) / 3 */
        c.stop = NULL;
        c.iterations = 200;
        rc = cwb_tsne(x, 10, d, &c, y2, &wi, NULL, 0);
        ok(rc == CWB_OK && wi.perplexity == 3.0, "n = 10: perplexity 30 is clamped to (n-1)/3 = %g", wi.perplexity);
        free(work);
        free(x);
        free(y);
        free(y2);
        free(y3);
    }

    /* ---- degenerate data: constant, 1-D -------------------------------- */
    {
        float cst[8 * 3], y[16];
        for (int t = 0; t < 24; t++) cst[t] = (float)(t % 3);
        cwb_tsne_cfg c;
        cwb_tsne_defaults(&c);
        c.iterations = 50;
        int rc = cwb_tsne(cst, 8, 3, &c, y, NULL, NULL, 0);
        int finite = 1;
        for (int k = 0; k < 16; k++) finite &= isfinite(y[k]);
        ok(rc == CWB_OK && finite, "constant data gives a finite layout");
        float line[8];
        for (int i = 0; i < 8; i++) line[i] = (float)(i * i);
        rc = cwb_tsne(line, 8, 1, &c, y, NULL, NULL, 0);
        finite = 1;
        for (int k = 0; k < 16; k++) finite &= isfinite(y[k]);
        ok(rc == CWB_OK && finite, "d = 1 gives a finite layout");
    }

    /* ---- (e) bad inputs ------------------------------------------------- */
    {
        const int n = 20, d = 3;
        float *x = randn(&r, n, d, 1.0), y[40], bad_init[40];
        double P[400], Y[40], g[40], w[40];
        cwb_tsne_cfg c;
        cwb_clear_error();
        ok(rejects(cwb_tsne(x, 3, d, NULL, y, NULL, NULL, 0), CWB_EINVAL, "n >= 4"), "rejects n = 3");
        ok(rejects(cwb_tsne(x, n, 0, NULL, y, NULL, NULL, 0), CWB_EINVAL, "d >= 1"), "rejects d = 0");
        ok(rejects(cwb_tsne(x, CWB_TSNE_MAX_N + 1, d, NULL, y, NULL, NULL, 0), CWB_EINVAL, "O(n^2)"),
           "rejects n > CWB_TSNE_MAX_N");
        ok(rejects(cwb_tsne(NULL, n, d, NULL, y, NULL, NULL, 0), CWB_EINVAL, "NULL input"), "rejects NULL input");
        ok(rejects(cwb_tsne(x, n, d, NULL, NULL, NULL, NULL, 0), CWB_EINVAL, "NULL output"), "rejects NULL output");
        cwb_tsne_defaults(&c);
        c.perplexity = 0;
        ok(rejects(cwb_tsne(x, n, d, &c, y, NULL, NULL, 0), CWB_EINVAL, "perplexity = 0"), "rejects perplexity 0");
        c.perplexity = -5;
        ok(rejects(cwb_tsne(x, n, d, &c, y, NULL, NULL, 0), CWB_EINVAL, "perplexity = -5"),
           "rejects a negative perplexity");
        c.perplexity = NAN;
        ok(rejects(cwb_tsne(x, n, d, &c, y, NULL, NULL, 0), CWB_EINVAL, "perplexity"), "rejects perplexity NaN");
        cwb_tsne_defaults(&c);
        c.iterations = 0;
        ok(rejects(cwb_tsne(x, n, d, &c, y, NULL, NULL, 0), CWB_EINVAL, "iterations"), "rejects 0 iterations");
        cwb_tsne_defaults(&c);
        c.learning_rate = -1;
        ok(rejects(cwb_tsne(x, n, d, &c, y, NULL, NULL, 0), CWB_EINVAL, "learning rate"),
           "rejects a negative learning rate");
        cwb_tsne_defaults(&c);
        c.exaggeration = 0.5;
        ok(rejects(cwb_tsne(x, n, d, &c, y, NULL, NULL, 0), CWB_EINVAL, "exaggeration"),
           "rejects exaggeration < 1");
        cwb_tsne_defaults(&c);
        c.exaggeration_iters = 1001;
        ok(rejects(cwb_tsne(x, n, d, &c, y, NULL, NULL, 0), CWB_EINVAL, "exaggeration_iters"),
           "rejects more exaggerated iterations than iterations");
        cwb_tsne_defaults(&c);
        for (int k = 0; k < 40; k++) bad_init[k] = 0;
        bad_init[5] = NAN;
        c.init = bad_init;
        ok(rejects(cwb_tsne(x, n, d, &c, y, NULL, NULL, 0), CWB_ENAN, "initial layout"),
           "rejects a NaN in the initial layout");
        char small[64];
        ok(rejects(cwb_tsne(x, n, d, NULL, y, NULL, small, sizeof small), CWB_EINVAL, "workspace"),
           "rejects a workspace that is too small");
        ok(cwb_tsne_work_bytes(3, d) == 0 && cwb_tsne_work_bytes(n, 0) == 0, "work_bytes is 0 for a bad shape");
        x[7] = NAN;
        ok(rejects(cwb_tsne(x, n, d, NULL, y, NULL, NULL, 0), CWB_ENAN, "NaN"), "rejects a NaN in the input");
        ok(rejects(cwb_tsne_affinities(x, n, d, 5, P, NULL), CWB_ENAN, "NaN"), "affinities reject a NaN");
        x[7] = 0;
        ok(rejects(cwb_tsne_affinities(x, n, d, 20, P, NULL), CWB_EINVAL, "perplexity = 20"),
           "affinities reject perplexity > n - 1");
        ok(rejects(cwb_tsne_affinities(x, n, d, 5, NULL, NULL), CWB_EINVAL, "NULL output P"),
           "affinities reject NULL P");
        ok(rejects(cwb_tsne_symmetrize(NULL, n), CWB_EINVAL, "NULL P"), "symmetrize rejects NULL");
        ok(rejects(cwb_tsne_gradient(P, Y, n, 1, g, NULL, NULL), CWB_EINVAL, "workspace"),
           "gradient rejects a NULL workspace");
        ok(rejects(cwb_tsne_gradient(P, Y, 1, 1, g, NULL, w), CWB_EINVAL, "n = 1"), "gradient rejects n = 1");
        free(x);
    }
    return done_testing();
}
