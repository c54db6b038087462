/*
 * knn.c - weighted cosine kNN (knn.h; methods.md "Real data": k = 20,
 * weights exp(s / 0.07) as in InstDisc).
 *
 * The rows are not copied to normalise them: a block of dot products
 * D = X_blk T^T (one sgemm) is scaled by the inverse norms of both sides,
 * s_ij = D_ij / (|x_i| |t_j|), and each row's neighbours are kept by
 * cwb_topk_offer.  The vote sums exp((s - s_max) / T) in double, which
 * ranks the classes as exp(s / T) does without overflow for any T.
 */
#include "engine/eval/knn.h"
#include "engine/eval/topk.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KNN_BLOCK 128

/* 1/|row| for n rows of width k (0 for a zero row: similarity 0). */
static void inv_norms(const float *x, int n, int k, float *out) {
    for (int i = 0; i < n; i++) {
        double s = cwb_sumsq(x + (size_t)i * k, (size_t)k);
        out[i] = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
    }
}

static int check_labels(const int *y, int n, int K, const char *what) {
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K)
            return cwb_fail(CWB_EINVAL, "knn: %s label[%d] = %d outside 0..%d", what, i, y[i], K - 1);
    return CWB_OK;
}

int cwb_knn_weighted(const float *train, const int *ytrain, int ntrain, const float *test,
                     const int *ytest, int ntest, int k, int K, int knn, double temperature,
                     int leave_one_out, double *acc, int *pred) {
    if (!train || !ytrain || !test || (acc && !ytest))
        return cwb_fail(CWB_EINVAL, "knn: NULL %s", !train ? "training rows" : !ytrain ? "training labels"
                        : !test ? "test rows" : "test labels (asked for the accuracy)");
    if (ntrain < 1 || ntest < 1 || k < 1 || K < 1)
        return cwb_fail(CWB_EINVAL, "knn: ntrain = %d, ntest = %d, k = %d, K = %d must all be >= 1",
                        ntrain, ntest, k, K);
    if (leave_one_out && ntest != ntrain)
        return cwb_fail(CWB_EINVAL, "knn: leave-one-out needs the training rows as test rows "
                                    "(ntest = %d, ntrain = %d)", ntest, ntrain);
    const int avail = ntrain - (leave_one_out ? 1 : 0);
    if (knn < 1 || knn > avail)
        return cwb_fail(CWB_EINVAL, "knn: k = %d neighbours outside 1..%d", knn, avail);
    if (!(temperature > 0) || !isfinite(temperature))
        return cwb_fail(CWB_EINVAL, "knn: temperature = %g must be positive and finite", temperature);
    int rc = check_labels(ytrain, ntrain, K, "training");
    if (!rc && ytest) rc = check_labels(ytest, ntest, K, "test");
    if (rc) return rc;
    if (cwb_has_nonfinite(train, (size_t)ntrain * k) || cwb_has_nonfinite(test, (size_t)ntest * k))
        return cwb_fail(CWB_ENAN, "knn: non-finite value in the %s rows",
                        cwb_has_nonfinite(train, (size_t)ntrain * k) ? "training" : "test");

    float *s = cwb_alloc((size_t)KNN_BLOCK * ntrain), *tn = cwb_alloc((size_t)ntrain);
    float *qn = cwb_alloc((size_t)ntest), *best = malloc((size_t)knn * sizeof *best);
    int *bi = malloc((size_t)knn * sizeof *bi);
    double *score = malloc((size_t)K * sizeof *score);
    if (!s || !tn || !qn || !best || !bi || !score) {
        rc = cwb_fail(CWB_ENOMEM, "knn: out of memory (%d training rows)", ntrain);
        goto out;
    }
    inv_norms(train, ntrain, k, tn);
    inv_norms(test, ntest, k, qn);
    long hit = 0;
    for (int r0 = 0; r0 < ntest; r0 += KNN_BLOCK) {
        int rows = ntest - r0 < KNN_BLOCK ? ntest - r0 : KNN_BLOCK;
        cwb_gemm(0, 1, rows, ntrain, k, 1.0f, test + (size_t)r0 * k, k, train, k, 0.0f, s, ntrain);
        for (int r = 0; r < rows; r++) {
            const int i = r0 + r;
            float *si = s + (size_t)r * ntrain;
            const float q = qn[i];
            for (int j = 0; j < ntrain; j++) si[j] *= q * tn[j];
            int m = 0;
            for (int j = 0; j < ntrain; j++)
                if (!(leave_one_out && j == i)) m = cwb_topk_offer(best, bi, m, knn, si[j], j);
            memset(score, 0, (size_t)K * sizeof *score);
            for (int t = 0; t < m; t++)
                score[ytrain[bi[t]]] += exp(((double)best[t] - best[0]) / temperature);
            int c = 0;
            for (int l = 1; l < K; l++)
                if (score[l] > score[c]) c = l;
            if (pred) pred[i] = c;
            if (ytest) hit += c == ytest[i];
        }
    }
    if (acc) *acc = (double)hit / ntest;
out:
    cwb_free(s);
    cwb_free(tn);
    cwb_free(qn);
    free(best);
    free(bi);
    free(score);
    return rc;
}
