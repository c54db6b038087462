/*
 * project.c - PCA to two dimensions for plots (project.h; methods.md
 * "Metrics", 2-D projections).
 *
 * The covariance C = Xc^T Xc / (n-1) of the centred data is d x d, small for
 * embeddings, so a full symmetric eigensolve (LAPACKE_ssyevd) is cheaper and
 * simpler than an iterative method.  An eigenvector's sign is arbitrary;
 * each axis is flipped so that its largest-magnitude component (the first
 * such on a tie) is positive, so the same data always plots the same way up.
 */
#include "engine/eval/project.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

int cwb_pca2(const float *x, int n, int d, float *out, float *explained) {
    if (!x || !out) return cwb_fail(CWB_EINVAL, "cwb_pca2: NULL %s", !x ? "input" : "output");
    if (n < 2 || d < 1) return cwb_fail(CWB_EINVAL, "cwb_pca2: shape %d x %d, need n >= 2 points and d >= 1", n, d);
    if (cwb_has_nonfinite(x, (size_t)n * d))
        return cwb_fail(CWB_ENAN, "cwb_pca2: the input holds a NaN or Inf");

    float *xc = cwb_alloc((size_t)n * d);
    float *cov = cwb_alloc((size_t)d * d);
    float *w = cwb_alloc((size_t)d);
    float *axes = cwb_alloc((size_t)d * 2);
    double *mean = calloc((size_t)d, sizeof *mean);
    int rc = CWB_OK;
    if (!xc || !cov || !w || !axes || !mean) {
        rc = cwb_fail(CWB_ENOMEM, "cwb_pca2: out of memory for %d x %d", n, d);
        goto out;
    }

    /* Centre in double: embeddings far from the origin would otherwise lose
     * their spread to cancellation in the float covariance. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += x[(size_t)i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) xc[(size_t)i * d + j] = (float)(x[(size_t)i * d + j] - mean[j]);

    cwb_gemm(1, 0, d, d, n, 1.0f / (float)(n - 1), xc, d, xc, d, 0.0f, cov, d);

    /* Eigenvalues ascending; row-major, so eigenvector t is column t of cov. */
    lapack_int info = LAPACKE_ssyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, cov, d, w);
    if (info != 0) {
        rc = cwb_fail(CWB_ENAN, "cwb_pca2: LAPACKE_ssyevd failed (info %d) on a %d x %d covariance",
                      (int)info, d, d);
        goto out;
    }

    double total = 0;
    for (int t = 0; t < d; t++) total += w[t] > 0 ? w[t] : 0;
    for (int a = 0; a < 2; a++) {
        int col = d - 1 - a;
        if (col < 0) { /* d == 1: no second axis, project to 0 */
            if (explained) explained[a] = 0;
            continue;
        }
        int big = 0;
        for (int j = 1; j < d; j++)
            if (fabsf(cov[(size_t)j * d + col]) > fabsf(cov[(size_t)big * d + col])) big = j;
        float sign = cov[(size_t)big * d + col] < 0 ? -1.0f : 1.0f;
        for (int j = 0; j < d; j++) axes[(size_t)j * 2 + a] = sign * cov[(size_t)j * d + col];
        if (explained) explained[a] = total > 0 && w[col] > 0 ? (float)(w[col] / total) : 0.0f;
    }

    cwb_gemm(0, 0, n, 2, d, 1.0f, xc, d, axes, 2, 0.0f, out, 2);

out:
    cwb_free(xc);
    cwb_free(cov);
    cwb_free(w);
    cwb_free(axes);
    free(mean);
    return rc;
}
