/* test_project.c - PCA to two dimensions (project.h). */
#include "engine/eval/project.h"
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

/* Axis a recovered from the projections: Xc^T p_a is proportional to the
 * eigenvector (Xc^T Xc v = (n-1) lambda v), returned normalised. */
static void axis_from_projection(const float *x, const float *out, int n, int d, int a, double *v) {
    double *mean = calloc((size_t)d, sizeof(double)), s = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += x[i * d + j] / n;
    for (int j = 0; j < d; j++) {
        v[j] = 0;
        for (int i = 0; i < n; i++) v[j] += (x[i * d + j] - mean[j]) * out[i * 2 + a];
        s += v[j] * v[j];
    }
    for (int j = 0; j < d; j++) v[j] /= sqrt(s);
    free(mean);
}

int main(void) {
    cwb_rng r;
    cwb_rng_seed(&r, 31, CWB_STREAM_USER);
    const int n = 600, d = 12;

    /* Two known orthonormal directions u (std 3) and v (std 1), isotropic
     * noise of std 0.1, everything offset by a large mean. */
    double u[12], v[12], su = 0, sv = 0, uv = 0;
    for (int j = 0; j < d; j++) {
        u[j] = cwb_rng_normal(&r);
        v[j] = cwb_rng_normal(&r);
    }
    for (int j = 0; j < d; j++) su += u[j] * u[j];
    for (int j = 0; j < d; j++) u[j] /= sqrt(su);
    for (int j = 0; j < d; j++) uv += u[j] * v[j];
    for (int j = 0; j < d; j++) v[j] -= uv * u[j];
    for (int j = 0; j < d; j++) sv += v[j] * v[j];
    for (int j = 0; j < d; j++) v[j] /= sqrt(sv);

    float *x = malloc((size_t)n * d * sizeof(float)), *neg = malloc((size_t)n * d * sizeof(float));
    float *out = malloc((size_t)n * 2 * sizeof(float)), *outn = malloc((size_t)n * 2 * sizeof(float));
    for (int i = 0; i < n; i++) {
        double t1 = 3 * cwb_rng_normal(&r), t2 = cwb_rng_normal(&r);
        for (int j = 0; j < d; j++)
            x[i * d + j] = (float)(20 + t1 * u[j] + t2 * v[j] + 0.1 * cwb_rng_normal(&r));
    }

    float ex[2] = {-1, -1};
    ok(cwb_pca2(x, n, d, out, ex) == CWB_OK, "pca2 on data with a dominant direction");
    double a0[12], a1[12], c0 = 0, c1 = 0;
    axis_from_projection(x, out, n, d, 0, a0);
    axis_from_projection(x, out, n, d, 1, a1);
    for (int j = 0; j < d; j++) {
        c0 += a0[j] * u[j];
        c1 += a1[j] * v[j];
    }
    ok(fabs(c0) > 0.99, "first axis recovers the dominant direction (|cos| = %.5f)", fabs(c0));
    ok(fabs(c1) > 0.99, "second axis recovers the second direction (|cos| = %.5f)", fabs(c1));

    /* Sign convention: the largest-|.| component of each axis is positive. */
    int big0 = 0, big1 = 0;
    for (int j = 1; j < d; j++) {
        if (fabs(a0[j]) > fabs(a0[big0])) big0 = j;
        if (fabs(a1[j]) > fabs(a1[big1])) big1 = j;
    }
    ok(a0[big0] > 0 && a1[big1] > 0, "each axis has its largest component positive");

    /* Projections are centred, uncorrelated and ordered by variance. */
    double m0 = 0, m1 = 0, v0 = 0, v1 = 0, cov = 0, total = 0;
    for (int i = 0; i < n; i++) {
        m0 += out[2 * i] / n;
        m1 += out[2 * i + 1] / n;
    }
    for (int i = 0; i < n; i++) {
        v0 += (out[2 * i] - m0) * (out[2 * i] - m0);
        v1 += (out[2 * i + 1] - m1) * (out[2 * i + 1] - m1);
        cov += (out[2 * i] - m0) * (out[2 * i + 1] - m1);
    }
    ok(fabs(m0) < 1e-3 && fabs(m1) < 1e-3, "projections are centred (means %.2g, %.2g)", m0, m1);
    ok(fabs(cov) / sqrt(v0 * v1) < 1e-3, "the two projections are uncorrelated (r = %.2g)", cov / sqrt(v0 * v1));

    /* Explained fractions: the projections' variances over the total variance. */
    for (int j = 0; j < d; j++) {
        double mj = 0, s = 0;
        for (int i = 0; i < n; i++) mj += x[i * d + j] / (double)n;
        for (int i = 0; i < n; i++) s += (x[i * d + j] - mj) * (x[i * d + j] - mj);
        total += s;
    }
    ok(ex[0] >= ex[1] && ex[1] >= 0 && ex[0] + ex[1] <= 1 + 1e-6, "explained fractions ordered, sum %.4f <= 1",
       ex[0] + ex[1]);
    ok(tap_close(ex[0], v0 / total, 1e-3, 0) && tap_close(ex[1], v1 / total, 1e-3, 0),
       "explained fractions equal the projections' variance shares (%.4f, %.4f vs %.4f, %.4f)", ex[0], ex[1],
       v0 / total, v1 / total);
    /* expected shares: 9 and 1 out of 9 + 1 + 12 * 0.01 */
    ok(fabs(ex[0] - 9 / 10.12) < 0.05 && fabs(ex[1] - 1 / 10.12) < 0.02, "explained fractions near 0.89 and 0.10");

    /* Sign convention: reversing the coordinate order permutes the axes'
     * components (and changes LAPACK's arithmetic), but the largest component
     * stays the same one, so the projections must not change sign. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) neg[i * d + j] = x[i * d + (d - 1 - j)];
    ok(cwb_pca2(neg, n, d, outn, NULL) == CWB_OK, "pca2 with explained = NULL");
    double worst = 0;
    for (int t = 0; t < 2 * n; t++) worst = fmax(worst, fabs(outn[t] - out[t]));
    ok(worst < 1e-3, "reversed coordinates give the same projections, signs included (worst %.2g)", worst);
    float again[1200];
    cwb_pca2(x, n, d, again, NULL);
    ok(!memcmp(again, out, sizeof again), "pca2 is deterministic");

    /* d = 1: one axis; the second coordinate and its share are 0. */
    float x1[5] = {1, 2, 3, 4, 10}, o1[10], e1[2];
    ok(cwb_pca2(x1, 5, 1, o1, e1) == CWB_OK, "pca2 with d = 1");
    int good = e1[1] == 0 && tap_close(e1[0], 1, 1e-6, 0);
    for (int i = 0; i < 5; i++) good &= o1[2 * i + 1] == 0 && tap_close(o1[2 * i], x1[i] - 4.0, 1e-5, 1e-5);
    ok(good, "d = 1: projection is x - mean, explained (1, 0)");

    /* Constant data: zero variance, zero projections, zero shares. */
    float cst[12] = {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3}, oc[8], ec[2];
    ok(cwb_pca2(cst, 4, 3, oc, ec) == CWB_OK && ec[0] == 0 && ec[1] == 0 && oc[0] == 0 && oc[7] == 0,
       "constant data: zero projections and shares");

    cwb_clear_error();
    ok(cwb_pca2(x, 1, d, out, NULL) == CWB_EINVAL && msg_has("n >= 2"), "pca2 rejects n = 1");
    cwb_clear_error();
    ok(cwb_pca2(x, n, 0, out, NULL) == CWB_EINVAL && msg_has("shape"), "pca2 rejects d = 0");
    cwb_clear_error();
    ok(cwb_pca2(NULL, n, d, out, NULL) == CWB_EINVAL && msg_has("NULL"), "pca2 rejects NULL input");
    cwb_clear_error();
    ok(cwb_pca2(x, n, d, NULL, NULL) == CWB_EINVAL && msg_has("output"), "pca2 rejects NULL output");
    x[7] = INFINITY;
    cwb_clear_error();
    ok(cwb_pca2(x, n, d, out, NULL) == CWB_ENAN && msg_has("NaN"), "pca2 rejects non-finite input");

    free(x);
    free(neg);
    free(out);
    free(outn);
    return done_testing();
}
