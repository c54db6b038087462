/* project.h - 2-D projections of embeddings for plots (PCA through LAPACK). */
#ifndef CWB_PROJECT_H
#define CWB_PROJECT_H

/* Project x (n x d) onto its top two principal axes (centred): out[n x 2].
 * explained[2] (nullable) receives the fraction of variance of each axis.
 * Uses LAPACKE_ssyevd on the d x d covariance (computed with sgemm). */
int cwb_pca2(const float *x, int n, int d, float *out, float *explained);

#endif
