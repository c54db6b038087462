/*
 * metrics.c - embedding metrics (metrics.h; methods.md "Metrics").
 *
 * Sums are accumulated in double; similarity blocks come from cwb_gemm in
 * row blocks of `chunk` rows so that an evaluation set of any size needs
 * only chunk x n floats at a time.
 */
#include "engine/eval/metrics.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"

#include <math.h>
#include <stdlib.h>

#define DEFAULT_CHUNK 256

static int bad_shape(const char *fn, const void *a, const void *b, int n, int k) {
    if (!a || !b) return cwb_fail(CWB_EINVAL, "%s: NULL embeddings", fn);
    if (n < 1 || k < 1) return cwb_fail(CWB_EINVAL, "%s: shape %d x %d, both must be >= 1", fn, n, k);
    return CWB_OK;
}

static int chunk_rows(const char *fn, int chunk, int n, int *rows) {
    if (chunk < 0) return cwb_fail(CWB_EINVAL, "%s: chunk = %d, must be >= 0 (0 = %d)", fn, chunk, DEFAULT_CHUNK);
    int c = chunk ? chunk : DEFAULT_CHUNK;
    *rows = c < n ? c : n;
    return CWB_OK;
}

/* Alignment [AU]. */
double cwb_alignment(const float *a, const float *b, int n, int k) {
    if (bad_shape("cwb_alignment", a, b, n, k)) return NAN;
    double s = 0;
    for (size_t t = 0, nk = (size_t)n * k; t < nk; t++) {
        double e = (double)a[t] - b[t];
        s += e * e;
    }
    return s / n;
}

/*
 * Uniformity [AU]: log mean_{i<j} exp(-2 ||x_i - x_j||^2), with
 * ||x_i - x_j||^2 = |x_i|^2 + |x_j|^2 - 2 <x_i, x_j> from one sgemm per block
 * (upper triangle only), and a running log-sum-exp (max, scaled sum) merged
 * block by block so that nothing underflows even for far-apart points.
 */
double cwb_uniformity(const float *x, int n, int k, int chunk) {
    if (bad_shape("cwb_uniformity", x, x, n, k)) return NAN;
    if (n < 2) {
        cwb_fail(CWB_EINVAL, "cwb_uniformity: n = %d, need at least 2 points", n);
        return NAN;
    }
    int rows = 1;
    if (chunk_rows("cwb_uniformity", chunk, n, &rows)) return NAN;
    if (cwb_has_nonfinite(x, (size_t)n * k)) {
        cwb_fail(CWB_ENAN, "cwb_uniformity: the embeddings hold a NaN or Inf");
        return NAN;
    }
    double *sq = malloc((size_t)n * sizeof *sq);
    float *g = cwb_alloc((size_t)rows * n);
    if (!sq || !g) {
        free(sq);
        cwb_free(g);
        cwb_fail(CWB_ENOMEM, "cwb_uniformity: out of memory for a %d x %d block", rows, n);
        return NAN;
    }
    for (int i = 0; i < n; i++) sq[i] = cwb_sumsq(x + (size_t)i * k, (size_t)k);

    double run_max = -INFINITY, run_sum = 0;
    for (int r0 = 0; r0 < n - 1; r0 += rows) {
        int nr = n - r0 < rows ? n - r0 : rows, nc = n - r0;
        /* g[r][c] = <x_{r0+r}, x_{r0+c}> */
        cwb_gemm(0, 1, nr, nc, k, 1.0f, x + (size_t)r0 * k, k, x + (size_t)r0 * k, k, 0.0f, g, nc);
        double bmax = -INFINITY;
        for (int r = 0; r < nr; r++)
            for (int c = r + 1; c < nc; c++) {
                double d2 = sq[r0 + r] + sq[r0 + c] - 2.0 * g[(size_t)r * nc + c];
                double v = -2.0 * (d2 > 0 ? d2 : 0);
                if (v > bmax) bmax = v;
            }
        if (bmax == -INFINITY) continue; /* last row: no j > i */
        double bsum = 0;
        for (int r = 0; r < nr; r++)
            for (int c = r + 1; c < nc; c++) {
                double d2 = sq[r0 + r] + sq[r0 + c] - 2.0 * g[(size_t)r * nc + c];
                bsum += exp(-2.0 * (d2 > 0 ? d2 : 0) - bmax);
            }
        if (bmax > run_max) {
            run_sum = run_sum * exp(run_max - bmax) + bsum;
            run_max = bmax;
        } else {
            run_sum += bsum * exp(bmax - run_max);
        }
    }
    free(sq);
    cwb_free(g);
    double pairs = 0.5 * (double)n * (double)(n - 1);
    return run_max + log(run_sum) - log(pairs);
}

void cwb_column_moments(const float *x, int n, int k, int j, double *mean, double *var) {
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += x[(size_t)i * k + j];
    m /= n;
    for (int i = 0; i < n; i++) {
        double e = x[(size_t)i * k + j] - m;
        v += e * e;
    }
    *mean = m;
    *var = v / n;
}

/* Collapse monitor: population std per dimension, averaged over dimensions. */
double cwb_collapse_std(const float *x, int n, int k) {
    if (bad_shape("cwb_collapse_std", x, x, n, k)) return NAN;
    double total = 0;
    for (int j = 0; j < k; j++) {
        double mean, var;
        cwb_column_moments(x, n, k, j, &mean, &var);
        total += sqrt(var);
    }
    return total / k;
}

/* Modality gap [GAP]: distance between the two centroids. */
double cwb_gap_centroid(const float *a, const float *b, int n, int k) {
    if (bad_shape("cwb_gap_centroid", a, b, n, k)) return NAN;
    double s = 0;
    for (int j = 0; j < k; j++) {
        double e = 0;
        for (int i = 0; i < n; i++) e += (double)a[(size_t)i * k + j] - b[(size_t)i * k + j];
        e /= n;
        s += e * e;
    }
    return sqrt(s);
}

/* Paired gap [P2]: mean distance between the two members of a pair. */
double cwb_gap_paired(const float *a, const float *b, int n, int k) {
    if (bad_shape("cwb_gap_paired", a, b, n, k)) return NAN;
    double s = 0;
    for (int i = 0; i < n; i++) {
        double r = 0;
        for (int j = 0; j < k; j++) {
            double e = (double)a[(size_t)i * k + j] - b[(size_t)i * k + j];
            r += e * e;
        }
        s += sqrt(r);
    }
    return s / n;
}

/*
 * Retrieval: the rank of query i is the number of b_j (j != i) whose score
 * is >= the positive's, so a tie is a miss; hit@K iff rank < K.  The
 * positive's score is taken from the same sgemm block as the others', so a
 * duplicate of b_i scores exactly as b_i does and really ties.
 */
int cwb_recall_at(const float *a, const float *b, int n, int k, int chunk,
                  const int *ks, int nk, double *out) {
    int rc = bad_shape("cwb_recall_at", a, b, n, k);
    if (rc) return rc;
    if (!ks || !out || nk < 1)
        return cwb_fail(CWB_EINVAL, "cwb_recall_at: need nk >= 1 cut-offs and an output (nk = %d)", nk);
    for (int t = 0; t < nk; t++)
        if (ks[t] < 1) return cwb_fail(CWB_EINVAL, "cwb_recall_at: ks[%d] = %d, must be >= 1", t, ks[t]);
    int rows = 1;
    if ((rc = chunk_rows("cwb_recall_at", chunk, n, &rows))) return rc;
    float *s = cwb_alloc((size_t)rows * n);
    long *hits = calloc((size_t)nk, sizeof *hits);
    if (!s || !hits) {
        cwb_free(s);
        free(hits);
        return cwb_fail(CWB_ENOMEM, "cwb_recall_at: out of memory for a %d x %d block", rows, n);
    }
    for (int r0 = 0; r0 < n; r0 += rows) {
        int nr = n - r0 < rows ? n - r0 : rows;
        cwb_gemm(0, 1, nr, n, k, 1.0f, a + (size_t)r0 * k, k, b, k, 0.0f, s, n);
        for (int r = 0; r < nr; r++) {
            const float *row = s + (size_t)r * n;
            int i = r0 + r;
            float pos = row[i];
            long rank = 0;
            for (int j = 0; j < n; j++)
                if (j != i && !(row[j] < pos)) rank++; /* NaN scores count against too */
            for (int t = 0; t < nk; t++)
                if (rank < ks[t]) hits[t]++;
        }
    }
    for (int t = 0; t < nk; t++) out[t] = (double)hits[t] / n;
    cwb_free(s);
    free(hits);
    return CWB_OK;
}

int cwb_top1(const float *a, const float *b, int n, int k, int chunk, double *acc) {
    if (!acc) return cwb_fail(CWB_EINVAL, "cwb_top1: NULL output");
    const int one = 1;
    return cwb_recall_at(a, b, n, k, chunk, &one, 1, acc);
}

/*
 * Population InfoNCE in the logit scale (methods.md, "Why batches must be
 * large [P1]", with all n-1 negatives): with p_ij = softmax_j(scale s_ij),
 *   dL/dscale   = mean_i ( -s_ii + E_p[s_ij] )
 *   d2L/dscale2 = mean_i Var_p[s_ij]            (>= 0: L is convex in scale)
 * The variance is taken about the mean in a second pass over the row rather
 * than as E[s^2] - E[s]^2, which cancels badly once p is peaked.
 */
int cwb_population_loss(const float *a, const float *b, int n, int k,
                        double scale, int chunk, double *loss, double *d1,
                        double *d2) {
    int rc = bad_shape("cwb_population_loss", a, b, n, k);
    if (rc) return rc;
    if (!isfinite(scale)) return cwb_fail(CWB_EINVAL, "cwb_population_loss: scale = %g is not finite", scale);
    int rows = 1;
    if ((rc = chunk_rows("cwb_population_loss", chunk, n, &rows))) return rc;
    float *s = cwb_alloc((size_t)rows * n);
    if (!s) return cwb_fail(CWB_ENOMEM, "cwb_population_loss: out of memory for a %d x %d block", rows, n);

    double L = 0, D1 = 0, D2 = 0;
    for (int r0 = 0; r0 < n; r0 += rows) {
        int nr = n - r0 < rows ? n - r0 : rows;
        cwb_gemm(0, 1, nr, n, k, 1.0f, a + (size_t)r0 * k, k, b, k, 0.0f, s, n);
        for (int r = 0; r < nr; r++) {
            const float *row = s + (size_t)r * n;
            double sii = row[r0 + r];
            double mx = -INFINITY;
            for (int j = 0; j < n; j++)
                if (scale * row[j] > mx) mx = scale * row[j];
            double z = 0, m1 = 0;
            for (int j = 0; j < n; j++) {
                double e = exp(scale * row[j] - mx);
                z += e;
                m1 += e * row[j];
            }
            m1 /= z;
            double var = 0;
            for (int j = 0; j < n; j++) {
                double e = row[j] - m1;
                var += exp(scale * row[j] - mx) * e * e;
            }
            L += -scale * sii + mx + log(z);
            D1 += -sii + m1;
            D2 += var / z;
        }
    }
    cwb_free(s);
    L /= n;
    D1 /= n;
    D2 /= n;
    if (!isfinite(L) || !isfinite(D1) || !isfinite(D2))
        return cwb_fail(CWB_ENAN, "cwb_population_loss: non-finite result (loss %g) at scale %g", L, scale);
    if (loss) *loss = L;
    if (d1) *d1 = D1;
    if (d2) *d2 = D2;
    return CWB_OK;
}
