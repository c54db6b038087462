/*
 * probe.h - downstream evaluation of frozen embeddings (methods.md "Metrics"):
 * zero-shot classification by nearest prototype, few-shot probes, a linear
 * probe, kNN accuracy and two-way retrieval.
 *
 * Embeddings are row-major n x k floats.  Like metrics.h, these functions
 * allocate their temporaries per call: they are evaluation, not a training
 * step.  Every function validates its arguments and returns a cwb_status.
 */
#ifndef CWB_PROBE_H
#define CWB_PROBE_H

#include "engine/data/mmdata.h"

#include <stdint.h>

/* Fraction of i with pred[i] == labels[i]; NaN if n < 1. */
double cwb_accuracy(const int *pred, const int *labels, int n);

/*
 * Zero-shot: pred_i = argmax_c <x_i, proto_c> over K prototypes (K x k), the
 * prototypes being class "captions" embedded by the other modality's tower.
 * acc and pred (n) are nullable; labels may be NULL when acc is NULL.
 */
int cwb_zero_shot(const float *x, const int *labels, int n, int k,
                  const float *protos, int K, double *acc, int *pred);

typedef enum {
    CWB_PROBE_CENTROID = 0,  /* nearest class mean in Euclidean distance */
    CWB_PROBE_LOGREG,        /* multinomial logistic regression (see below) */
} cwb_probe_kind;

/*
 * Multinomial logistic regression on train rows, accuracy on test rows.
 * Features are standardised with the training rows' per-column mean and std;
 * weights start at zero and take `steps` full-batch Adam steps (lr 0.05,
 * betas 0.9/0.999) on the mean cross-entropy + (l2/2)||W||^2.  Deterministic.
 * steps <= 0 means 300; l2 < 0 means 1e-4.  Labels in 0..K-1.
 */
int cwb_logreg_probe(const float *train, const int *ytrain, int ntrain,
                     const float *test, const int *ytest, int ntest, int k,
                     int K, int steps, float l2, double *acc);

/*
 * Few-shot: `episodes` times, draw `shots` distinct training rows per class
 * (seeded by `seed`; CWB_EINVAL if a class has fewer), fit the probe on those
 * K*shots rows only, and score every test row.  mean/std (std nullable) over
 * episodes.  The logistic probe uses cwb_logreg_probe's defaults.
 */
int cwb_fewshot(cwb_probe_kind kind, const float *train, const int *ytrain,
                int ntrain, const float *test, const int *ytest, int ntest,
                int k, int K, int shots, int episodes, uint64_t seed,
                double *mean, double *std);

/* kNN accuracy: majority vote of the `knn` training rows nearest in
 * Euclidean distance (ties between classes go to the nearer neighbour). */
int cwb_knn_accuracy(const float *train, const int *ytrain, int ntrain,
                     const float *test, const int *ytest, int ntest, int k,
                     int K, int knn, double *acc);

/* The kNN accuracy of each modality's raw observations on two-modality
 * data, training split -> test split: how much class information V and T
 * carry before any encoder (docs/multimodal.md, "Information gap").
 * 1 <= knn <= n_train. */
int cwb_mm_knn_baseline(const cwb_mm_data *d, int knn, double *knn_v, double *knn_t);

/*
 * Retrieval R@1/5/10 over the whole set in both directions (a_i's positive
 * is b_i), through cwb_recall_at: r_ab[3] queries a among b, r_ba[3] b
 * among a.  chunk as in metrics.h.
 */
int cwb_retrieval(const float *a, const float *b, int n, int k, int chunk,
                  double r_ab[3], double r_ba[3]);

#endif
