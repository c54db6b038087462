/*
 * metrics.h - evaluation of embeddings (docs/methods.md, "Metrics").
 * a, b: n x k row-major, normally L2-normalised.  Functions that need an
 * n x n similarity matrix work in row blocks of `chunk` rows (0 = 256) and
 * allocate their block buffer per call: metrics are not in the training step.
 */
#ifndef CWB_METRICS_H
#define CWB_METRICS_H

/* mean_i ||a_i - b_i||^2 */
double cwb_alignment(const float *a, const float *b, int n, int k);
/* log mean_{i<j} exp(-2 ||x_i - x_j||^2); NaN if n < 2 */
double cwb_uniformity(const float *x, int n, int k, int chunk);
/* Mean and population variance of column j of the n x k rows x (double sums). */
void cwb_column_moments(const float *x, int n, int k, int j, double *mean, double *var);
/* mean over dimensions of the per-dimension std of x (about 1/sqrt(k) when healthy) */
double cwb_collapse_std(const float *x, int n, int k);
/* ||mean_i a_i - mean_i b_i|| */
double cwb_gap_centroid(const float *a, const float *b, int n, int k);
/* mean_i ||a_i - b_i|| */
double cwb_gap_paired(const float *a, const float *b, int n, int k);

/* recall@K for each K in ks[nk], querying a_i among all b_j (the positive is
 * b_i); ties count against the query.  out[nk]. */
int cwb_recall_at(const float *a, const float *b, int n, int k, int chunk,
                  const int *ks, int nk, double *out);
/* Fraction of i whose nearest b_j (by dot product) is b_i: recall@1. */
int cwb_top1(const float *a, const float *b, int n, int k, int chunk, double *acc);

/*
 * Population InfoNCE with all n-1 negatives at logit scale `scale`:
 *   L(scale) = mean_i [ -scale s_ii + log sum_j exp(scale s_ij) ],
 * plus its first and second derivatives in scale (nullable), as used by the
 * Newton search for the optimal scale.
 */
int cwb_population_loss(const float *a, const float *b, int n, int k,
                        double scale, int chunk, double *loss, double *d1,
                        double *d2);

#endif
