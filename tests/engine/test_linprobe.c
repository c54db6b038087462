/* test_linprobe.c - logistic regression by L-BFGS and the linear probe
 * (linprobe.h): convergence reached and reported truthfully on separable
 * data (objective and gradient recomputed here in double), max_iter
 * reported as not converged, the chosen l2 is the validation winner and
 * does not depend on the test rows, determinism, and the error cases. */
#include "engine/eval/linprobe.h"
#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "../tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* n rows of k features in K Gaussian blobs (centres sep apart), the first
 * `informative` features carrying the class, the rest noise; a share
 * `flip` of labels replaced at random.  Features get an offset and scale
 * per column, so standardisation matters. */
static void blobs(int n, int k, int K, int informative, double sep, double flip, uint64_t seed,
                  float *x, int *y) {
    cwb_rng r;
    cwb_rng_seed(&r, seed, CWB_STREAM_USER);
    double centre[8][64];
    cwb_rng cr;
    cwb_rng_seed(&cr, 99, CWB_STREAM_USER);   /* the same centres for every seed */
    for (int c = 0; c < K; c++)
        for (int j = 0; j < k; j++) centre[c][j] = j < informative ? sep * cwb_rng_normal(&cr) : 0;
    for (int i = 0; i < n; i++) {
        int c = (int)cwb_rng_below(&r, (uint64_t)K);
        for (int j = 0; j < k; j++)
            x[i * k + j] = (float)((centre[c][j] + cwb_rng_normal(&r)) * (1 + j % 3) + 5.0 * (j % 4));
        y[i] = cwb_rng_uniform(&r) < flip ? (int)cwb_rng_below(&r, (uint64_t)K) : c;
    }
}

/* The objective and its gradient norm at raw weights W (k x K), b, in the
 * standardised parametrisation of linprobe.h, in double. */
static void objective(const float *x, const int *y, int n, int k, int K, double l2,
                      const float *W, const float *b, double *f, double *gnorm) {
    double *mean = calloc((size_t)k, sizeof *mean), *sd = calloc((size_t)k, sizeof *sd);
    for (int j = 0; j < k; j++) {
        for (int i = 0; i < n; i++) mean[j] += x[i * k + j];
        mean[j] /= n;
        for (int i = 0; i < n; i++) sd[j] += (x[i * k + j] - mean[j]) * (x[i * k + j] - mean[j]);
        sd[j] = sqrt(sd[j] / n);
        if (!(sd[j] * sd[j] > 1e-12)) sd[j] = 1;
    }
    /* standardised weights: Ws = W sd, bs = b + mean . W */
    double *Ws = malloc(sizeof(double) * k * K), *bs = malloc(sizeof(double) * K);
    double *gW = calloc((size_t)k * K, sizeof *gW), *gb = calloc((size_t)K, sizeof *gb);
    for (int l = 0; l < K; l++) {
        bs[l] = b[l];
        for (int j = 0; j < k; j++) {
            Ws[j * K + l] = W[j * K + l] * sd[j];
            bs[l] += mean[j] * W[j * K + l];
        }
    }
    double loss = 0, pen = 0;
    double *z = malloc(sizeof(double) * K), *xs = malloc(sizeof(double) * k);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < k; j++) xs[j] = (x[i * k + j] - mean[j]) / sd[j];
        double m = -INFINITY;
        for (int l = 0; l < K; l++) {
            z[l] = bs[l];
            for (int j = 0; j < k; j++) z[l] += xs[j] * Ws[j * K + l];
            m = z[l] > m ? z[l] : m;
        }
        double s = 0;
        for (int l = 0; l < K; l++) s += exp(z[l] - m);
        loss += m + log(s) - z[y[i]];
        for (int l = 0; l < K; l++) {
            double g = (exp(z[l] - m) / s - (l == y[i])) / n;
            gb[l] += g;
            for (int j = 0; j < k; j++) gW[j * K + l] += g * xs[j];
        }
    }
    double gn = 0;
    for (int q = 0; q < k * K; q++) {
        pen += Ws[q] * Ws[q];
        double g = gW[q] + l2 * Ws[q];
        gn += g * g;
    }
    for (int l = 0; l < K; l++) gn += gb[l] * gb[l];
    *f = loss / n + 0.5 * l2 * pen;
    *gnorm = sqrt(gn);
    free(mean); free(sd); free(Ws); free(bs); free(gW); free(gb); free(z); free(xs);
}

static void test_fit(void) {
    enum { N = 400, D = 6, K = 3 };
    float *x = malloc(sizeof(float) * N * D), W[D * K] = {0}, b[K] = {0};
    int y[N];
    blobs(N, D, K, 4, 4.0, 0.0, 1, x, y);
    cwb_linprobe_cfg c = cwb_linprobe_defaults();
    cwb_logreg_fit info;
    int st = cwb_logreg_fit_lbfgs(&c, x, y, N, D, K, 1e-3, W, b, &info);
    ok(st == CWB_OK && info.converged && info.iterations > 0 && info.iterations < c.max_iter,
       "separable blobs, l2 = 1e-3: converged in %d iterations, stopped by the %s criterion (%s)",
       info.iterations, info.stop, st ? cwb_errmsg() : "ok");
    double f, gn;
    objective(x, y, N, D, K, 1e-3, W, b, &f, &gn);
    ok(fabs(f - info.loss) < 1e-5 * (1 + f) && fabs(gn - info.grad_norm) < 1e-3 * (gn + 1e-3),
       "the reported objective %.7f and gradient norm %.2e are the ones recomputed in double "
       "(%.7f, %.2e)", info.loss, info.grad_norm, f, gn);
    ok(strcmp(info.stop, "gradient") != 0 || gn <= 1.001 * c.grad_tol * fmax(1, info.xnorm),
       "when the gradient criterion stopped it, ||g|| = %.2e <= grad_tol max(1, ||w||) = %.2e", gn,
       c.grad_tol * fmax(1, info.xnorm));
    ok(f < 0.2 * log(K), "the objective fell from log K = %.3f to %.4f", log(K), f);
    /* predictions on the training rows: all right on separable data */
    int hit = 0;
    for (int i = 0; i < N; i++) {
        int best = 0;
        double sb = -INFINITY;
        for (int l = 0; l < K; l++) {
            double s = b[l];
            for (int j = 0; j < D; j++) s += (double)x[i * D + j] * W[j * K + l];
            if (s > sb) { sb = s; best = l; }
        }
        hit += best == y[i];
    }
    ok(hit == N, "raw-unit weights classify every training row (%d / %d)", hit, N);

    /* a tighter tolerance costs iterations and still converges */
    cwb_linprobe_cfg t = c;
    t.grad_tol = 1e-6;
    t.rel_tol = 0;
    float W2[D * K] = {0}, b2[K] = {0};
    cwb_logreg_fit i2;
    st = cwb_logreg_fit_lbfgs(&t, x, y, N, D, K, 1e-3, W2, b2, &i2);
    ok(st == CWB_OK && i2.converged && i2.grad_norm <= 10 * t.grad_tol * fmax(1, i2.xnorm) &&
           i2.iterations >= info.iterations,
       "grad_tol 1e-6, no loss-change test: %d iterations, ||g|| %.2e (%s)", i2.iterations,
       i2.grad_norm, i2.stop);

    /* max_iter is reported as such */
    cwb_linprobe_cfg m = c;
    m.max_iter = 3;
    float W3[D * K] = {0}, b3[K] = {0};
    cwb_logreg_fit i3;
    st = cwb_logreg_fit_lbfgs(&m, x, y, N, D, K, 1e-6, W3, b3, &i3);
    ok(st == CWB_OK && !i3.converged && strcmp(i3.stop, "max_iter") == 0 && i3.iterations == 3,
       "max_iter = 3: not converged, stop \"%s\" after %d iterations", i3.stop, i3.iterations);
    /* a warm start from the solution needs (almost) nothing */
    cwb_logreg_fit i4;
    st = cwb_logreg_fit_lbfgs(&c, x, y, N, D, K, 1e-3, W, b, &i4);
    ok(st == CWB_OK && i4.converged && i4.iterations <= 3,
       "warm start at the solution: %d iterations", i4.iterations);
    free(x);
}

static int argmax_stronger(const cwb_linprobe_result *r, const cwb_linprobe_cfg *c) {
    int best = 0;
    for (int i = 1; i < c->n_l2; i++)
        if (r->val_acc[i] > r->val_acc[best] ||
            (r->val_acc[i] == r->val_acc[best] && c->l2[i] > c->l2[best]))
            best = i;
    return best;
}

static void test_choice(void) {
    /* few noisy rows, many noise features: strong regularisation should win */
    enum { N = 80, M = 400, D = 40, K = 3 };
    float *x = malloc(sizeof(float) * N * D), *xt = malloc(sizeof(float) * M * D);
    int y[N], yt[M], yshuf[M];
    blobs(N, D, K, 2, 2.0, 0.2, 2, x, y);
    blobs(M, D, K, 2, 2.0, 0.2, 3, xt, yt);
    cwb_linprobe_cfg c = cwb_linprobe_defaults();
    c.n_l2 = 6;
    const double grid[6] = {1e-4, 10, 1e-2, 1, 1e-3, 1e-1};   /* not in order */
    memcpy(c.l2, grid, sizeof grid);
    c.val_frac = 0.25;
    cwb_linprobe_result r;
    int st = cwb_linprobe(&c, x, y, N, xt, yt, M, D, K, &r);
    if (!ok(st == CWB_OK, "noisy small set: probe runs (%s)", st ? cwb_errmsg() : "ok")) return;
    int w = argmax_stronger(&r, &c);
    ok(r.l2 == c.l2[w], "the chosen l2 = %g is the validation winner (accuracies %.2f %.2f %.2f "
       "%.2f %.2f %.2f for l2 %g %g %g %g %g %g)", r.l2, r.val_acc[0], r.val_acc[1], r.val_acc[2],
       r.val_acc[3], r.val_acc[4], r.val_acc[5], c.l2[0], c.l2[1], c.l2[2], c.l2[3], c.l2[4], c.l2[5]);
    ok(r.n_val == 20 && r.n_fit == 60, "val_frac 0.25 of 80 rows: 20 to validate, 60 to fit");
    ok(r.l2 >= 1e-2, "with 60 noisy rows in 40 dimensions a strong l2 wins (%g)", r.l2);
    int all_conv = r.fit.converged;
    for (int i = 0; i < c.n_l2; i++) all_conv &= r.val_fit[i].converged;
    ok(all_conv, "every fit converged (final: %d iterations, %s)", r.fit.iterations, r.fit.stop);
    ok(r.test_acc > 0.5 && r.seconds >= 0, "test accuracy %.3f, %.3f s", r.test_acc, r.seconds);

    /* the test rows play no part in the choice */
    for (int i = 0; i < M; i++) yshuf[i] = yt[(i * 7 + 3) % M];
    cwb_linprobe_result r2;
    st = cwb_linprobe(&c, x, y, N, xt, yshuf, M, D, K, &r2);
    ok(st == CWB_OK && r2.l2 == r.l2 && !memcmp(r.val_acc, r2.val_acc, sizeof r.val_acc) &&
           r2.train_acc == r.train_acc && r2.test_acc != r.test_acc,
       "other test labels: the same choice and validation scores, another test accuracy");
    cwb_linprobe_result r3;
    cwb_linprobe(&c, x, y, N, xt, yt, M, D, K, &r3);
    ok(!memcmp(&r.val_acc, &r3.val_acc, sizeof r.val_acc) && r3.test_acc == r.test_acc,
       "the same seed gives the same probe");
    c.seed = 5;
    cwb_linprobe_result r4;
    cwb_linprobe(&c, x, y, N, xt, yt, M, D, K, &r4);
    ok(memcmp(&r.val_acc, &r4.val_acc, sizeof r.val_acc) != 0, "another seed, another split");

    /* plenty of clean rows: a weak l2 wins */
    enum { N2 = 2000 };
    float *x2 = malloc(sizeof(float) * N2 * D);
    int *y2 = malloc(sizeof(int) * N2);
    blobs(N2, D, K, 30, 0.5, 0.0, 4, x2, y2);
    cwb_linprobe_cfg c2 = cwb_linprobe_defaults();
    cwb_linprobe_result r5;
    st = cwb_linprobe(&c2, x2, y2, N2, xt, yt, M, D, K, &r5);
    ok(st == CWB_OK && r5.l2 == c2.l2[argmax_stronger(&r5, &c2)] && r5.l2 <= 1e-2,
       "2000 clean rows: the validation winner is a weak l2 (%g)", r5.l2);
    free(x);
    free(xt);
    free(x2);
    free(y2);
}

static void test_bad(void) {
    float x[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    int y[6] = {0, 1, 0, 1, 0, 1}, bad[6] = {0, 1, 2, 0, 1, 0};
    cwb_linprobe_cfg c = cwb_linprobe_defaults();
    cwb_linprobe_result r;
#define BAD(call, word)                                                                     \
    cwb_clear_error();                                                                      \
    ok((call) != CWB_OK && strstr(cwb_errmsg(), word) && !strchr(cwb_errmsg(), '\n'),       \
       "%s: \"%s\"", word, cwb_errmsg())
    BAD(cwb_linprobe(&c, x, bad, 6, x, y, 6, 2, 2, &r), "training label[2] = 2 outside 0..1");
    BAD(cwb_linprobe(&c, x, y, 6, x, bad, 6, 2, 2, &r), "test label[2] = 2");
    cwb_linprobe_cfg v = c;
    v.val_frac = 1;
    BAD(cwb_linprobe(&v, x, y, 6, x, y, 6, 2, 2, &r), "val_frac = 1 outside (0, 1)");
    v = c;
    v.val_frac = 0.01;
    BAD(cwb_linprobe(&v, x, y, 6, x, y, 6, 2, 2, &r), "split into 6 to fit and 0 to validate");
    v = c;
    v.n_l2 = 0;
    BAD(cwb_linprobe(&v, x, y, 6, x, y, 6, 2, 2, &r), "0 l2 candidates");
    v = c;
    v.l2[2] = -1;
    BAD(cwb_linprobe(&v, x, y, 6, x, y, 6, 2, 2, &r), "l2[2] = -1");
    v = c;
    v.max_iter = 0;
    BAD(cwb_linprobe(&v, x, y, 6, x, y, 6, 2, 2, &r), "max_iter = 0");
    float n[12];
    memcpy(n, x, sizeof n);
    n[7] = INFINITY;
    BAD(cwb_linprobe(&c, n, y, 6, x, y, 6, 2, 2, &r), "non-finite value in the training rows");
    BAD(cwb_linprobe(&c, x, y, 6, x, y, 6, 2, 1, &r), "K = 1");
    float W[4] = {0}, b[2] = {0};
    BAD(cwb_logreg_fit_lbfgs(&c, x, y, 6, 2, 2, NAN, W, b, NULL), "l2 = nan");
}

int main(void) {
    test_fit();
    test_choice();
    test_bad();
    return done_testing();
}
