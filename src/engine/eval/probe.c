/*
 * probe.c - zero-shot, few-shot, linear and kNN probes on frozen embeddings,
 * and two-way retrieval (probe.h; methods.md "Metrics").
 *
 * Scores for many rows against many classes or neighbours are one sgemm per
 * block; the per-row work after it is an argmax or a short insertion sort.
 */
#include "engine/eval/probe.h"
#include "engine/core/error.h"
#include "engine/eval/linprobe.h"
#include "engine/eval/metrics.h"
#include "engine/eval/topk.h"
#include "engine/core/rng.h"
#include "engine/core/tensor.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_BLOCK 256
#define LOGREG_STEPS 300
#define LOGREG_LR 0.05
#define LOGREG_L2 1e-4f

double cwb_accuracy(const int *pred, const int *labels, int n) {
    if (!pred || !labels || n < 1) return NAN;
    long hit = 0;
    for (int i = 0; i < n; i++) hit += pred[i] == labels[i];
    return (double)hit / n;
}

static int check_labels(const char *fn, const int *y, int n, int K) {
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K)
            return cwb_fail(CWB_EINVAL, "%s: label[%d] = %d outside 0..%d", fn, i, y[i], K - 1);
    return CWB_OK;
}

int cwb_zero_shot(const float *x, const int *labels, int n, int k,
                  const float *protos, int K, double *acc, int *pred) {
    if (!x || !protos)
        return cwb_fail(CWB_EINVAL, "cwb_zero_shot: NULL %s", !x ? "embeddings" : "prototypes");
    if (n < 1 || k < 1 || K < 1)
        return cwb_fail(CWB_EINVAL, "cwb_zero_shot: n = %d, k = %d, K = %d must all be >= 1", n, k, K);
    if (acc && !labels) return cwb_fail(CWB_EINVAL, "cwb_zero_shot: accuracy asked without labels");
    if (labels) {
        int rc = check_labels("cwb_zero_shot", labels, n, K);
        if (rc) return rc;
    }
    if (cwb_has_nonfinite(x, (size_t)n * k) || cwb_has_nonfinite(protos, (size_t)K * k))
        return cwb_fail(CWB_ENAN, "cwb_zero_shot: non-finite value in the embeddings or prototypes");
    float *s = cwb_alloc((size_t)PROBE_BLOCK * K);
    if (!s) return CWB_ENOMEM;
    long hit = 0;
    for (int r0 = 0; r0 < n; r0 += PROBE_BLOCK) {
        int rows = n - r0 < PROBE_BLOCK ? n - r0 : PROBE_BLOCK;
        cwb_gemm(0, 1, rows, K, k, 1.0f, x + (size_t)r0 * k, k, protos, k, 0.0f, s, K);
        for (int i = 0; i < rows; i++) {
            const float *si = s + (size_t)i * K;
            int best = 0;
            for (int c = 1; c < K; c++)
                if (si[c] > si[best]) best = c;
            if (pred) pred[r0 + i] = best;
            if (labels) hit += best == labels[r0 + i];
        }
    }
    cwb_free(s);
    if (acc) *acc = (double)hit / n;
    return CWB_OK;
}

/* ---- shared validation for train/test probes ---------------------------- */

static int check_split(const char *fn, const float *train, const int *ytrain, int ntrain,
                       const float *test, const int *ytest, int ntest, int k, int K) {
    if (!train || !ytrain || !test || !ytest)
        return cwb_fail(CWB_EINVAL, "%s: NULL %s", fn,
                        !train ? "training rows" : !ytrain ? "training labels"
                        : !test ? "test rows" : "test labels");
    if (ntrain < 1 || ntest < 1 || k < 1)
        return cwb_fail(CWB_EINVAL, "%s: ntrain = %d, ntest = %d, k = %d must all be >= 1", fn,
                        ntrain, ntest, k);
    if (K < 2) return cwb_fail(CWB_EINVAL, "%s: K = %d classes, need at least 2", fn, K);
    int rc = check_labels(fn, ytrain, ntrain, K);
    if (!rc) rc = check_labels(fn, ytest, ntest, K);
    if (rc) return rc;
    if (cwb_has_nonfinite(train, (size_t)ntrain * k) || cwb_has_nonfinite(test, (size_t)ntest * k))
        return cwb_fail(CWB_ENAN, "%s: non-finite value in the embeddings", fn);
    return CWB_OK;
}

/* Predict argmax_c (test_i . W_c + bias_c) for every test row; W is k x K. */
static long score_argmax(const float *test, const int *ytest, int ntest, int k, int K,
                         const float *W, const float *bias, float *s) {
    long hit = 0;
    for (int r0 = 0; r0 < ntest; r0 += PROBE_BLOCK) {
        int rows = ntest - r0 < PROBE_BLOCK ? ntest - r0 : PROBE_BLOCK;
        cwb_gemm(0, 0, rows, K, k, 1.0f, test + (size_t)r0 * k, k, W, K, 0.0f, s, K);
        for (int i = 0; i < rows; i++) {
            float *si = s + (size_t)i * K;
            int best = 0;
            for (int c = 0; c < K; c++) {
                si[c] += bias[c];
                if (si[c] > si[best]) best = c;
            }
            hit += best == ytest[r0 + i];
        }
    }
    return hit;
}

/* Nearest centroid: argmin_c ||x - m_c||^2 = argmax_c (<x, m_c> - ||m_c||^2 / 2),
 * a linear score, so it shares score_argmax with the logistic probe. */
static int centroid_fit_score(const float *train, const int *ytrain, int ntrain,
                              const float *test, const int *ytest, int ntest, int k,
                              int K, double *acc) {
    float *W = cwb_alloc((size_t)k * K), *bias = cwb_alloc((size_t)K);
    float *s = cwb_alloc((size_t)PROBE_BLOCK * K);
    int *count = calloc((size_t)K, sizeof(int));
    if (!W || !bias || !s || !count) {
        cwb_free(W); cwb_free(bias); cwb_free(s); free(count);
        return cwb_fail(CWB_ENOMEM, "nearest-centroid probe: out of memory (k = %d, K = %d)", k, K);
    }
    for (int i = 0; i < ntrain; i++) {
        const float *xi = train + (size_t)i * k;
        int c = ytrain[i];
        count[c]++;
        for (int j = 0; j < k; j++) W[(size_t)j * K + c] += xi[j];
    }
    for (int c = 0; c < K; c++) {
        double nn = 0;
        for (int j = 0; j < k; j++) {
            /* A class absent from the training rows can never be predicted. */
            float m = count[c] ? W[(size_t)j * K + c] / count[c] : 0.0f;
            W[(size_t)j * K + c] = m;
            nn += (double)m * m;
        }
        bias[c] = count[c] ? (float)(-0.5 * nn) : -FLT_MAX;
    }
    long hit = score_argmax(test, ytest, ntest, k, K, W, bias, s);
    *acc = (double)hit / ntest;
    cwb_free(W); cwb_free(bias); cwb_free(s); free(count);
    return CWB_OK;
}

/* ---- logistic regression ------------------------------------------------- */

static int logreg_fit_score(const float *train, const int *ytrain, int ntrain,
                            const float *test, const int *ytest, int ntest, int k,
                            int K, int steps, float l2, double *acc) {
    if (steps <= 0) steps = LOGREG_STEPS;
    if (l2 < 0) l2 = LOGREG_L2;
    size_t nW = (size_t)k * K;
    float *mean = cwb_alloc((size_t)k), *istd = cwb_alloc((size_t)k);
    float *xs = cwb_alloc((size_t)ntrain * k);
    float *W = cwb_alloc(nW), *bias = cwb_alloc((size_t)K);
    float *gW = cwb_alloc(nW), *gb = cwb_alloc((size_t)K);
    float *m1 = cwb_alloc(nW + K), *m2 = cwb_alloc(nW + K);
    float *P = cwb_alloc((size_t)ntrain * K);
    float *s = cwb_alloc((size_t)PROBE_BLOCK * K);
    int rc = CWB_OK;
    if (!mean || !istd || !xs || !W || !bias || !gW || !gb || !m1 || !m2 || !P || !s) {
        rc = cwb_fail(CWB_ENOMEM, "logistic probe: out of memory (%d x %d, K = %d)", ntrain, k, K);
        goto out;
    }
    /* Standardising with training statistics makes one learning rate fit
     * unit-norm embeddings and raw observations alike. */
    cwb_standardisation(train, ntrain, k, mean, istd);
    for (int i = 0; i < ntrain; i++)
        for (int j = 0; j < k; j++)
            xs[(size_t)i * k + j] = (train[(size_t)i * k + j] - mean[j]) * istd[j];

    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double b1t = 1, b2t = 1;
    for (int t = 0; t < steps; t++) {
        /* P = softmax(X W + b); dL/dlogits = (P - onehot) / n */
        cwb_gemm(0, 0, ntrain, K, k, 1.0f, xs, k, W, K, 0.0f, P, K);
        for (int i = 0; i < ntrain; i++) {
            float *p = P + (size_t)i * K;
            float mx = -FLT_MAX;
            for (int c = 0; c < K; c++) {
                p[c] += bias[c];
                if (p[c] > mx) mx = p[c];
            }
            double z = 0;
            for (int c = 0; c < K; c++) z += exp((double)p[c] - mx);
            for (int c = 0; c < K; c++) p[c] = (float)(exp((double)p[c] - mx) / z);
            p[ytrain[i]] -= 1.0f;
            for (int c = 0; c < K; c++) p[c] /= (float)ntrain;
        }
        cwb_gemm(1, 0, k, K, ntrain, 1.0f, xs, k, P, K, 0.0f, gW, K);
        for (size_t q = 0; q < nW; q++) gW[q] += l2 * W[q];
        for (int c = 0; c < K; c++) {
            double g = 0;
            for (int i = 0; i < ntrain; i++) g += P[(size_t)i * K + c];
            gb[c] = (float)g;
        }
        b1t *= b1;
        b2t *= b2;
        for (size_t q = 0; q < nW + (size_t)K; q++) {
            float g = q < nW ? gW[q] : gb[q - nW];
            m1[q] = (float)(b1 * m1[q] + (1 - b1) * g);
            m2[q] = (float)(b2 * m2[q] + (1 - b2) * (double)g * g);
            double upd = LOGREG_LR * (m1[q] / (1 - b1t)) / (sqrt(m2[q] / (1 - b2t)) + eps);
            if (q < nW) W[q] -= (float)upd;
            else bias[q - nW] -= (float)upd;
        }
    }
    /* Fold the standardisation into the weights: w'_jc = w_jc istd_j,
     * b'_c = b_c - sum_j mean_j w'_jc, so test rows are scored raw. */
    for (int c = 0; c < K; c++) {
        double sh = 0;
        for (int j = 0; j < k; j++) {
            W[(size_t)j * K + c] *= istd[j];
            sh += (double)mean[j] * W[(size_t)j * K + c];
        }
        bias[c] -= (float)sh;
    }
    *acc = (double)score_argmax(test, ytest, ntest, k, K, W, bias, s) / ntest;
out:
    cwb_free(mean); cwb_free(istd); cwb_free(xs); cwb_free(W); cwb_free(bias);
    cwb_free(gW); cwb_free(gb); cwb_free(m1); cwb_free(m2); cwb_free(P); cwb_free(s);
    return rc;
}

int cwb_logreg_probe(const float *train, const int *ytrain, int ntrain,
                     const float *test, const int *ytest, int ntest, int k,
                     int K, int steps, float l2, double *acc) {
    int rc = check_split("cwb_logreg_probe", train, ytrain, ntrain, test, ytest, ntest, k, K);
    if (rc) return rc;
    if (!acc) return cwb_fail(CWB_EINVAL, "cwb_logreg_probe: NULL result pointer");
    if (!isfinite(l2)) return cwb_fail(CWB_EINVAL, "cwb_logreg_probe: l2 = %g is not finite", (double)l2);
    return logreg_fit_score(train, ytrain, ntrain, test, ytest, ntest, k, K, steps, l2, acc);
}

int cwb_fewshot(cwb_probe_kind kind, const float *train, const int *ytrain,
                int ntrain, const float *test, const int *ytest, int ntest,
                int k, int K, int shots, int episodes, uint64_t seed,
                double *mean, double *std) {
    int rc = check_split("cwb_fewshot", train, ytrain, ntrain, test, ytest, ntest, k, K);
    if (rc) return rc;
    if (kind != CWB_PROBE_CENTROID && kind != CWB_PROBE_LOGREG)
        return cwb_fail(CWB_EINVAL, "cwb_fewshot: unknown probe kind %d", (int)kind);
    if (shots < 1 || episodes < 1)
        return cwb_fail(CWB_EINVAL, "cwb_fewshot: shots = %d, episodes = %d must be >= 1", shots, episodes);
    if (!mean) return cwb_fail(CWB_EINVAL, "cwb_fewshot: NULL result pointer");

    int *start = calloc((size_t)K + 1, sizeof(int));
    int *byc = malloc((size_t)ntrain * sizeof(int));
    int *fill = malloc((size_t)K * sizeof(int));
    int *pick = malloc((size_t)K * shots * sizeof(int));
    int *ysub = malloc((size_t)K * shots * sizeof(int));
    float *xsub = cwb_alloc((size_t)K * shots * k);
    if (!start || !byc || !fill || !pick || !ysub || !xsub) {
        rc = cwb_fail(CWB_ENOMEM, "cwb_fewshot: out of memory");
        goto out;
    }
    for (int i = 0; i < ntrain; i++) start[ytrain[i] + 1]++;
    for (int c = 0; c < K; c++) {
        if (start[c + 1] < shots) {
            rc = cwb_fail(CWB_EINVAL, "cwb_fewshot: class %d has %d training rows < shots = %d", c,
                          start[c + 1], shots);
            goto out;
        }
        start[c + 1] += start[c];
    }
    memcpy(fill, start, (size_t)K * sizeof(int));
    for (int i = 0; i < ntrain; i++) byc[fill[ytrain[i]]++] = i;

    cwb_rng r;
    cwb_rng_seed(&r, seed, CWB_STREAM_EVAL);
    double s1 = 0, s2 = 0;
    for (int e = 0; e < episodes; e++) {
        int m = 0;
        for (int c = 0; c < K; c++) {
            /* Partial Fisher-Yates inside the class's range: `shots` distinct rows. */
            int *g = byc + start[c], nc = start[c + 1] - start[c];
            for (int t = 0; t < shots; t++) {
                int j = t + (int)cwb_rng_below(&r, (uint64_t)(nc - t));
                int tmp = g[t]; g[t] = g[j]; g[j] = tmp;
                pick[m] = g[t];
                ysub[m++] = c;
            }
        }
        for (int q = 0; q < m; q++)
            memcpy(xsub + (size_t)q * k, train + (size_t)pick[q] * k, (size_t)k * sizeof(float));
        double acc;
        rc = kind == CWB_PROBE_CENTROID
                 ? centroid_fit_score(xsub, ysub, m, test, ytest, ntest, k, K, &acc)
                 : logreg_fit_score(xsub, ysub, m, test, ytest, ntest, k, K, 0, -1, &acc);
        if (rc) goto out;
        s1 += acc;
        s2 += acc * acc;
    }
    *mean = s1 / episodes;
    if (std) {
        double v = episodes > 1 ? (s2 - s1 * s1 / episodes) / (episodes - 1) : 0;
        *std = v > 0 ? sqrt(v) : 0;
    }
out:
    free(start); free(byc); free(fill); free(pick); free(ysub); cwb_free(xsub);
    return rc;
}

int cwb_knn_accuracy(const float *train, const int *ytrain, int ntrain,
                     const float *test, const int *ytest, int ntest, int k,
                     int K, int knn, double *acc) {
    int rc = check_split("cwb_knn_accuracy", train, ytrain, ntrain, test, ytest, ntest, k, K);
    if (rc) return rc;
    if (knn < 1 || knn > ntrain)
        return cwb_fail(CWB_EINVAL, "cwb_knn_accuracy: knn = %d outside 1..ntrain = %d", knn, ntrain);
    if (!acc) return cwb_fail(CWB_EINVAL, "cwb_knn_accuracy: NULL result pointer");
    float *s = cwb_alloc((size_t)PROBE_BLOCK * ntrain), *tn = cwb_alloc((size_t)ntrain);
    float *bd = malloc((size_t)knn * sizeof(float));
    int *bi = malloc((size_t)knn * sizeof(int)), *votes = malloc((size_t)K * sizeof(int));
    if (!s || !tn || !bd || !bi || !votes) {
        cwb_free(s); cwb_free(tn); free(bd); free(bi); free(votes);
        return cwb_fail(CWB_ENOMEM, "cwb_knn_accuracy: out of memory (%d training rows)", ntrain);
    }
    for (int j = 0; j < ntrain; j++) tn[j] = (float)cwb_sumsq(train + (size_t)j * k, (size_t)k);
    long hit = 0;
    for (int r0 = 0; r0 < ntest; r0 += PROBE_BLOCK) {
        int rows = ntest - r0 < PROBE_BLOCK ? ntest - r0 : PROBE_BLOCK;
        cwb_gemm(0, 1, rows, ntrain, k, 1.0f, test + (size_t)r0 * k, k, train, k, 0.0f, s, ntrain);
        for (int i = 0; i < rows; i++) {
            /* -(||x - t_j||^2 - ||x||^2): the largest is the nearest. */
            const float *si = s + (size_t)i * ntrain;
            int m = 0;
            for (int j = 0; j < ntrain; j++) m = cwb_topk_offer(bd, bi, m, knn, 2.0f * si[j] - tn[j], j);
            memset(votes, 0, (size_t)K * sizeof(int));
            int best = ytrain[bi[0]];
            for (int q = 0; q < m; q++) votes[ytrain[bi[q]]]++;
            /* Walk neighbours nearest first: the first class to reach the top
             * count wins, which breaks ties towards the nearer neighbour. */
            int top = 0;
            for (int c = 0; c < K; c++)
                if (votes[c] > top) top = votes[c];
            for (int q = 0; q < m; q++)
                if (votes[ytrain[bi[q]]] == top) {
                    best = ytrain[bi[q]];
                    break;
                }
            hit += best == ytest[r0 + i];
        }
    }
    *acc = (double)hit / ntest;
    cwb_free(s); cwb_free(tn); free(bd); free(bi); free(votes);
    return CWB_OK;
}

int cwb_retrieval(const float *a, const float *b, int n, int k, int chunk,
                  double r_ab[3], double r_ba[3]) {
    if (!a || !b || !r_ab || !r_ba)
        return cwb_fail(CWB_EINVAL, "cwb_retrieval: NULL %s", !a ? "a" : !b ? "b" : "result");
    if (n < 1 || k < 1)
        return cwb_fail(CWB_EINVAL, "cwb_retrieval: n = %d, k = %d must be >= 1", n, k);
    static const int ks[3] = {1, 5, 10};
    int rc = cwb_recall_at(a, b, n, k, chunk, ks, 3, r_ab);
    if (!rc) rc = cwb_recall_at(b, a, n, k, chunk, ks, 3, r_ba);
    return rc;
}

int cwb_mm_knn_baseline(const cwb_mm_data *d, int knn, double *knn_v, double *knn_t) {
    if (!d || !knn_v || !knn_t)
        return cwb_fail(CWB_EINVAL, "cwb_mm_knn_baseline: NULL %s", !d ? "data" : "output");
    const cwb_mm_cfg *c = &d->cfg;
    const int nt = c->n_train;
    if (knn < 1 || knn > nt)
        return cwb_fail(CWB_EINVAL, "knn_k = %d outside 1..n_train = %d", knn, nt);
    int rc = cwb_knn_accuracy(d->xv->data, d->labels, nt, d->xv->data + (size_t)nt * c->v_dim,
                              d->labels + nt, c->n_test, c->v_dim, c->classes, knn, knn_v);
    if (!rc)
        rc = cwb_knn_accuracy(d->xt->data, d->labels, nt, d->xt->data + (size_t)nt * c->t_dim,
                              d->labels + nt, c->n_test, c->t_dim, c->classes, knn, knn_t);
    return rc;
}
