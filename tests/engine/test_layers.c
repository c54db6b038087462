/* test_layers.c - forward values and gradients of linear, activations, L2 norm.
 *
 * Gradients are checked against central differences of a double-precision
 * reference forward pass of the scalar L = sum(w . f(x)), with w random, so
 * the reference is accurate to ~1e-9 and the float32 backward can be held to
 * 1e-3 relative: a missing factor of 2, a wrong sign or a transposed product
 * fails by orders of magnitude. */
#include "engine/nn/layers.h"
#include "engine/core/rng.h"
#include "../tap.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static cwb_rng R;

static void fill(float *x, long n, float scale) {
    for (long i = 0; i < n; i++) x[i] = scale * (float)cwb_rng_normal(&R);
}

/* Every element within rtol relative or 1e-4 of the array's scale; the
 * reference must not be all zeros (a check of nothing). */
static int match(const float *got, const double *want, long n, double rtol,
                 const char *what) {
    double scale = 0, worst = 0;
    long at = 0;
    for (long i = 0; i < n; i++)
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    int good = scale > 0;
    for (long i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        double lim = rtol * fabs(want[i]) + 1e-4 * scale;
        if (!(err <= lim)) good = 0;
        if (!(err / (lim > 0 ? lim : 1) <= worst)) {
            worst = err / (lim > 0 ? lim : 1);
            at = i;
        }
    }
    if (!good)
        diag("%s: element %ld got %.8g want %.8g (scale %.3g)", what, at,
             (double)got[at], want[at], scale);
    return good;
}

/* ---- double references --------------------------------------------------- */

/* L = sum_ij w_ij (x W + b)_ij with x, W, b in double. */
static double linear_loss(const double *x, const double *W, const double *b,
                          const float *w, int B, int in, int out) {
    double L = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < out; j++) {
            double s = b[j];
            for (int k = 0; k < in; k++) s += x[i * in + k] * W[k * out + j];
            L += w[i * out + j] * s;
        }
    return L;
}

/* Central difference of f over every entry of v (double, in place). */
#define NUMGRAD(v, n, h, expr, grad)                       \
    for (long q_ = 0; q_ < (n); q_++) {                    \
        double s_ = (v)[q_];                               \
        (v)[q_] = s_ + (h);                                \
        double p_ = (expr);                                \
        (v)[q_] = s_ - (h);                                \
        double m_ = (expr);                                \
        (v)[q_] = s_;                                      \
        (grad)[q_] = (p_ - m_) / (2 * (h));                \
    }

/* ---- linear -------------------------------------------------------------- */

static void test_linear_values(void) {
    /* [1 2 3; -1 0 2] @ [1 0; 0 1; 2 -1] + [0.5 -0.5] = [7.5 -1.5; 3.5 -2.5] */
    const float x[] = {1, 2, 3, -1, 0, 2}, W[] = {1, 0, 0, 1, 2, -1}, b[] = {0.5f, -0.5f};
    float out[4];
    cwb_linear_forward(out, x, W, b, 2, 3, 2);
    ok(out[0] == 7.5f && out[1] == -1.5f && out[2] == 3.5f && out[3] == -2.5f,
       "linear forward on a hand example: [%g %g; %g %g]", out[0], out[1], out[2], out[3]);
}

static void test_linear_grad(int B, int in, int out) {
    long nx = (long)B * in, nW = (long)in * out;
    long ny = (long)B * out;
    float *x = malloc(nx * sizeof *x), *W = malloc(nW * sizeof *W);
    float *b = malloc(out * sizeof *b), *y = malloc(ny * sizeof *y), *w = malloc(ny * sizeof *w);
    float *din = malloc(nx * sizeof *din), *dW = malloc(nW * sizeof *dW);
    float *db = malloc(out * sizeof *db);
    double *xd = malloc(nx * sizeof *xd), *Wd = malloc(nW * sizeof *Wd);
    double *bd = malloc(out * sizeof *bd), *gx = malloc(nx * sizeof *gx);
    double *gW = malloc(nW * sizeof *gW), *gb = malloc(out * sizeof *gb);
    double *yd = malloc(ny * sizeof *yd);
    fill(x, nx, 1);
    fill(W, nW, 0.5f);
    fill(b, out, 0.5f);
    fill(w, (long)B * out, 1);
    for (long i = 0; i < nx; i++) xd[i] = x[i];
    for (long i = 0; i < nW; i++) Wd[i] = W[i];
    for (int i = 0; i < out; i++) bd[i] = b[i];

    cwb_linear_forward(y, x, W, b, B, in, out);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < out; j++) {
            double s = bd[j];
            for (int k = 0; k < in; k++) s += xd[i * in + k] * Wd[k * out + j];
            yd[i * out + j] = s;
        }
    ok(match(y, yd, (long)B * out, 1e-5, "linear forward"),
       "linear forward %dx%d -> %d matches double reference", B, in, out);

    /* Parameter grads accumulate: start from 0.25 everywhere. */
    for (long i = 0; i < nW; i++) dW[i] = 0.25f;
    for (int i = 0; i < out; i++) db[i] = 0.25f;
    for (long i = 0; i < nx; i++) din[i] = 1e30f;     /* must be overwritten */
    cwb_linear_backward(din, dW, db, w, x, W, B, in, out);

    double h = 1e-3; /* L is linear in each argument: differences are exact */
    NUMGRAD(xd, nx, h, linear_loss(xd, Wd, bd, w, B, in, out), gx);
    NUMGRAD(Wd, nW, h, linear_loss(xd, Wd, bd, w, B, in, out), gW);
    NUMGRAD(bd, out, h, linear_loss(xd, Wd, bd, w, B, in, out), gb);
    ok(match(din, gx, nx, 1e-3, "linear din"), "linear din (%dx%d -> %d) = dout W^T", B, in, out);
    for (long i = 0; i < nW; i++) gW[i] += 0.25;
    for (int i = 0; i < out; i++) gb[i] += 0.25;
    ok(match(dW, gW, nW, 1e-3, "linear dW"), "linear dW accumulates in^T dout");
    ok(match(db, gb, out, 1e-3, "linear db"), "linear db accumulates colsum(dout)");

    /* din may be NULL; dW/db still accumulate a second time. */
    cwb_linear_backward(NULL, dW, db, w, x, W, B, in, out);
    for (long i = 0; i < nW; i++) gW[i] = 2 * (gW[i] - 0.25) + 0.25;
    for (int i = 0; i < out; i++) gb[i] = 2 * (gb[i] - 0.25) + 0.25;
    ok(match(dW, gW, nW, 1e-3, "linear dW x2") && match(db, gb, out, 1e-3, "linear db x2"),
       "second backward (din NULL) adds the same gradient again");

    free(x); free(W); free(b); free(y); free(w); free(din); free(dW); free(db);
    free(xd); free(Wd); free(bd); free(gx); free(gW); free(gb); free(yd);
}

/* ---- activations ------------------------------------------------------------ */

static void test_act_values(void) {
    float in[] = {-2, 0, 3, 1, -1, 2, 0.5f}, out[7];
    cwb_act_forward(CWB_ACT_RELU, out, in, 3);
    ok(out[0] == 0 && out[1] == 0 && out[2] == 3, "relu(-2, 0, 3) = (0, 0, 3)");
    {
        /* NaN passes through ReLU in the vector lanes and the scalar tail, so
         * that a corrupted weight reaches the loss's finiteness check. */
        float v[9] = {NAN, -1, 2, -INFINITY, INFINITY, 0, -3, 4, NAN}, w[9];
        cwb_act_forward(CWB_ACT_RELU, w, v, 9);
        ok(isnan(w[0]) && isnan(w[8]) && w[1] == 0 && w[2] == 2 && w[3] == 0 &&
               w[4] == INFINITY && w[5] == 0 && w[6] == 0 && w[7] == 4,
           "relu keeps NaN (vector lane and tail), zeroes negatives and -inf, keeps +inf");
    }
    cwb_act_forward(CWB_ACT_GELU, out, in + 3, 3);
    /* 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))) at 1, -1, 2 */
    ok(tap_close(out[0], 0.841192, 0, 2e-6) && tap_close(out[1], -0.158808, 0, 2e-6) &&
           tap_close(out[2], 1.954598, 0, 2e-6),
       "gelu(1, -1, 2) = (%.6f, %.6f, %.6f) ~ (0.841192, -0.158808, 1.954598)",
       out[0], out[1], out[2]);
    cwb_act_forward(CWB_ACT_TANH, out, in + 6, 1);
    ok(tap_close(out[0], 0.462117, 0, 1e-6), "tanh(0.5) = %.6f", out[0]);
    cwb_act_forward(CWB_ACT_IDENTITY, out, in, 7);
    ok(memcmp(out, in, sizeof in) == 0, "identity copies");

    /* Known derivatives at 0: gelu' = 1/2, tanh' = 1; relu' = 0 at 0 (PyTorch). */
    float z = 0, t0 = 0, one = 1, d;
    cwb_act_backward(CWB_ACT_GELU, &d, &one, &z, NULL, 1);
    ok(tap_close(d, 0.5, 0, 1e-7), "gelu'(0) = %g", d);
    cwb_act_backward(CWB_ACT_TANH, &d, &one, &z, &t0, 1);
    ok(tap_close(d, 1.0, 0, 1e-7), "tanh'(0) = %g", d);
    cwb_act_backward(CWB_ACT_RELU, &d, &one, &z, &z, 1);
    ok(d == 0, "relu'(0) = 0");

    for (int a = CWB_ACT_IDENTITY; a <= CWB_ACT_TANH; a++)
        ok(cwb_act_from_name(cwb_act_name((cwb_act)a)) == a, "act name round trip: %s",
           cwb_act_name((cwb_act)a));
    ok(cwb_act_from_name("gelu") == CWB_ACT_GELU && cwb_act_from_name("relu") == CWB_ACT_RELU &&
           cwb_act_from_name("tanh") == CWB_ACT_TANH &&
           cwb_act_from_name("identity") == CWB_ACT_IDENTITY,
       "act names map to their enums");
    ok(cwb_act_from_name("swish") == -1 && cwb_act_from_name("") == -1 &&
           cwb_act_from_name(NULL) == -1,
       "unknown / empty / NULL act names give -1");
}

static void test_act_grad(cwb_act a) {
    enum { N = 400 };
    float x[N], y[N], w[N], din[N], buf[N];
    double xd[N], g[N], yd[N];
    for (int i = 0; i < N; i++) {
        /* Spread over [-4, 4], away from relu's kink at 0. */
        float v = -4.0f + 8.0f * (float)cwb_rng_uniform(&R);
        if (fabsf(v) < 0.01f) v = 0.5f;
        x[i] = v;
        xd[i] = v;
        yd[i] = tu_act(a, v);
    }
    fill(w, N, 1);
    cwb_act_forward(a, y, x, N);
    ok(match(y, yd, N, 1e-5, "act forward"), "%s forward matches double reference",
       cwb_act_name(a));
    cwb_act_backward(a, din, w, x, y, N);
    double h = 1e-5;
    for (int i = 0; i < N; i++)
        g[i] = w[i] * (tu_act(a, xd[i] + h) - tu_act(a, xd[i] - h)) / (2 * h);
    ok(match(din, g, N, 1e-3, cwb_act_name(a)), "%s backward matches central differences",
       cwb_act_name(a));

    /* In place: out aliasing in, din aliasing dout. */
    memcpy(buf, x, sizeof x);
    cwb_act_forward(a, buf, buf, N);
    int same = memcmp(buf, y, sizeof y) == 0;
    memcpy(buf, w, sizeof w);
    cwb_act_backward(a, buf, buf, x, y, N);
    same &= memcmp(buf, din, sizeof din) == 0;
    ok(same, "%s forward/backward give the same result in place", cwb_act_name(a));
}

/* ---- L2 normalisation -------------------------------------------------------- */

static double l2_loss(const double *x, const float *w, int B, int k) {
    double L = 0;
    for (int i = 0; i < B; i++) {
        double ss = 0;
        for (int j = 0; j < k; j++) ss += x[i * k + j] * x[i * k + j];
        double n = sqrt(ss);
        for (int j = 0; j < k; j++) L += w[i * k + j] * x[i * k + j] / n;
    }
    return L;
}

typedef struct {
    const double *x;
    const float *w;
    int B, k;
} l2_at;

static double l2_of(const void *ctx) {
    const l2_at *a = ctx;
    return l2_loss(a->x, a->w, a->B, a->k);
}

static void test_l2norm(void) {
    enum { B = 6, K = 9 };
    float x[B * K], y[B * K], w[B * K], din[B * K], buf[B * K], norms[B];
    double xd[B * K], g[B * K], nd[B];
    fill(x, B * K, 1);
    /* Rows of very different norms: the gradient scales as 1/||x||. */
    for (int j = 0; j < K; j++) {
        x[1 * K + j] *= 100.0f;
        x[2 * K + j] *= 0.01f;
    }
    fill(w, B * K, 1);
    for (int i = 0; i < B * K; i++) xd[i] = x[i];
    for (int i = 0; i < B; i++) {
        double ss = 0;
        for (int j = 0; j < K; j++) ss += xd[i * K + j] * xd[i * K + j];
        nd[i] = sqrt(ss);
    }
    cwb_l2norm_forward(y, norms, x, B, K);
    ok(match(norms, nd, B, 1e-6, "norms"), "l2norm keeps the row norms");
    int unit = 1;
    for (int i = 0; i < B; i++) {
        double ss = 0;
        for (int j = 0; j < K; j++) ss += (double)y[i * K + j] * y[i * K + j];
        if (!tap_close(ss, 1.0, 0, 1e-5)) unit = 0;
    }
    ok(unit, "l2norm output rows have unit norm");
    int parallel = 1;
    for (int i = 0; i < B * K; i++)
        if (!tap_close(y[i], xd[i] / nd[i / K], 1e-5, 1e-7)) parallel = 0;
    ok(parallel, "l2norm output is x / ||x||");

    cwb_l2norm_backward(din, w, y, norms, B, K);
    const l2_at at = {xd, w, B, K};
    for (int i = 0; i < B * K; i++) g[i] = tu_central_diff(&xd[i], 1e-6 * nd[i / K], l2_of, &at);
    /* Compare row by row: rows differ in scale by 1e4. */
    int good = 1;
    for (int i = 0; i < B; i++)
        if (!match(din + i * K, g + i * K, K, 1e-3, "l2norm din")) good = 0;
    ok(good, "l2norm backward matches central differences (norms 0.01x..100x)");

    memcpy(buf, w, sizeof w);
    cwb_l2norm_backward(buf, buf, y, norms, B, K);
    ok(memcmp(buf, din, sizeof din) == 0, "l2norm backward in place (din == dout)");

    /* A zero row: no NaN, output zero, finite gradient (in / eps convention). */
    float zx[3] = {0, 0, 0}, zy[3], zn, zd[3], zg[3] = {1, -1, 0.5f};
    cwb_l2norm_forward(zy, &zn, zx, 1, 3);
    cwb_l2norm_backward(zd, zg, zy, &zn, 1, 3);
    ok(zy[0] == 0 && zy[1] == 0 && zy[2] == 0 && zn == 0 && isfinite(zd[0]) &&
           isfinite(zd[1]) && isfinite(zd[2]),
       "l2norm of a zero row is zero with a finite gradient");
}

int main(void) {
    cwb_rng_seed(&R, 11, CWB_STREAM_USER);
    test_linear_values();
    test_linear_grad(1, 3, 2);
    test_linear_grad(5, 7, 4);
    test_linear_grad(16, 33, 17);
    test_act_values();
    test_act_grad(CWB_ACT_IDENTITY);
    test_act_grad(CWB_ACT_RELU);
    test_act_grad(CWB_ACT_GELU);
    test_act_grad(CWB_ACT_TANH);
    test_l2norm();
    return done_testing();
}
