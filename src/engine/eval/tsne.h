/*
 * tsne.h - exact t-SNE to two dimensions for plots (docs/methods.md
 * "2-D projections"; van der Maaten & Hinton, "Visualizing Data using
 * t-SNE", JMLR 2008, cited below as [vdMH]).
 *
 * Exact means every pair is visited: O(n^2) time and an n x n matrix of
 * doubles, meant for n up to a few thousand points (CWB_TSNE_MAX_N).  The
 * steps are exposed one by one so that each can be tested on its own:
 *
 *   cwb_tsne_affinities   conditional p_j|i at the requested perplexity
 *   cwb_tsne_symmetrize   p_ij = (p_j|i + p_i|j) / 2n
 *   cwb_tsne_gradient     KL(P || Q) and its gradient for a layout Y
 *   cwb_tsne              all of it, with the reference optimiser
 */
#ifndef CWB_TSNE_H
#define CWB_TSNE_H

#include <stddef.h>

/* Larger inputs are refused: P alone would need n^2 doubles (2 GiB here). */
#define CWB_TSNE_MAX_N 16384

typedef struct {
    /* Effective number of neighbours, 2^H(P_i) [vdMH, eq. 3].  Default 30.
     * cwb_tsne uses min(perplexity, (n - 1) / 3): a row cannot be spread
     * over more than n - 1 neighbours, and keeping three times the
     * perplexity below n - 1 leaves each point distinguishable neighbours
     * (the same bound as the reference Barnes-Hut code).  > 0. */
    double perplexity;
    /* Gradient-descent iterations.  Default 1000; >= 1. */
    int iterations;
    /* Step size eta; 0 (the default) means max(n / exaggeration / 4, 50):
     * Belkina et al. 2019's eta = n / alpha (large data sets need larger
     * steps, and the exaggerated early phase is where they matter), over 4
     * because this gradient keeps [vdMH]'s factor 4, which their code
     * leaves out; 50 keeps small sets moving.  >= 0. */
    double learning_rate;
    /* Early exaggeration alpha: p_ij is multiplied by alpha for the first
     * exaggeration_iters iterations [vdMH, section 3.4].  Default 12; >= 1. */
    double exaggeration;
    /* -1 (the default): min(250, iterations / 4).  0..iterations otherwise;
     * a warm start (init != NULL) usually wants 0. */
    int exaggeration_iters;
    /* Starting layout, n x 2 row-major, or NULL (the default): the PCA
     * projection (cwb_pca2) scaled so that its first coordinate has std 1e-4,
     * which makes the result deterministic without a seed.  A previous
     * result lets successive calls on slowly changing data move smoothly. */
    const float *init;
    /* Called after every iteration (it = 1..iterations) when not NULL; a
     * non-zero return stops the descent early (cwb_tsne still returns
     * CWB_OK, with the layout reached and info->iterations = it). */
    int (*stop)(void *ctx, int it);
    void *stop_ctx;
} cwb_tsne_cfg;

/* What a call did, for captions and tests. */
typedef struct {
    double kl_initial;      /* KL(P || Q) of the starting layout */
    double kl;              /* KL(P || Q) of the result */
    double perplexity;      /* after the (n - 1) / 3 clamp */
    double learning_rate;   /* after resolving 0 = automatic */
    int exaggeration_iters; /* after resolving -1 = automatic */
    int iterations;         /* done (fewer than asked if stop() said so) */
} cwb_tsne_info;

/* Fill c with the defaults documented above. */
void cwb_tsne_defaults(cwb_tsne_cfg *c);

/* Bytes of workspace cwb_tsne needs for n points of d dimensions (0 if the
 * shape is out of range).  About 8 n^2 + 4 n d + 1024 n bytes. */
size_t cwb_tsne_work_bytes(int n, int d);

/*
 * Embed x (n x d, row-major) in two dimensions: y (n x 2) receives the
 * layout, info (nullable) what was done.  cfg NULL means the defaults.
 * work is either NULL (one allocation for the whole call) or at least
 * cwb_tsne_work_bytes(n, d) bytes aligned for doubles (malloc's alignment),
 * given as work_bytes; nothing is allocated per iteration.  y may equal
 * cfg->init.  Needs 4 <= n <= CWB_TSNE_MAX_N, d >= 1 and finite inputs.
 * The same inputs on the same BLAS kernel give bit-identical output.
 */
int cwb_tsne(const float *x, int n, int d, const cwb_tsne_cfg *cfg, float *y, cwb_tsne_info *info,
             void *work, size_t work_bytes);

/*
 * The conditional affinities p_j|i = exp(-beta_i d_ij^2) / sum_k exp(-beta_i
 * d_ik^2) [vdMH, eq. 1], with each row's precision beta_i = 1 / (2 sigma_i^2)
 * found by bisection so that the row's entropy sum_j -p_j|i ln p_j|i is
 * ln(perplexity) within 1e-5 nats.  P is n x n row-major: rows sum to 1 and
 * p_i|i = 0.  beta (nullable) receives the n precisions.  Needs 0 <
 * perplexity <= n - 1 (no clamp here).  Squared distances come from one
 * sgemm per block of rows of the centred data.  Allocates its scratch once.
 */
int cwb_tsne_affinities(const float *x, int n, int d, double perplexity, double *P, double *beta);

/* In place: P (conditional, n x n) becomes the joint p_ij = (p_j|i +
 * p_i|j) / 2n [vdMH, section 3.1], symmetric, summing to 1. */
int cwb_tsne_symmetrize(double *P, int n);

/*
 * For the layout Y (n x 2, double) and joint P: the Student-t kernel
 * q_ij = (1 + |y_i - y_j|^2)^-1 / Z, Z = sum_{k != l} (1 + |y_k - y_l|^2)^-1
 * [vdMH, eq. 4], and
 *
 *   grad_i = 4 sum_j (alpha p_ij - q_ij) (y_i - y_j) / (1 + |y_i - y_j|^2)
 *
 * [vdMH, eq. 5], where alpha = exaggeration (1 gives the exact gradient of
 * the KL below; other values give the early-exaggeration step of the
 * reference algorithm).  kl (nullable) receives KL(P || Q) = sum_{i != j}
 * p_ij ln(p_ij / q_ij), computed from P itself whatever alpha is.  grad is
 * n x 2; work holds 2n doubles.  One pass over the pairs i < j.
 */
int cwb_tsne_gradient(const double *P, const double *Y, int n, double exaggeration, double *grad,
                      double *kl, double *work);

#endif
