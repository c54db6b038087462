/*
 * loss_internal.h - what loss.c shares with the per-kind files
 * (loss_infonce.c, loss_dcl.c, loss_sogclr.c, loss_decomposable.c).
 *
 * loss.c owns the object, the validation, the similarity blocks and the
 * back-propagation through s_ij = scale * <a_i, b_j>; a kind only sees one
 * anchor row at a time, as logits, and returns dL/ds for that row.  Not part
 * of the public API.
 */
#ifndef CWB_LOSS_INTERNAL_H
#define CWB_LOSS_INTERNAL_H

#include "loss.h"
#include "rng.h"

struct cwb_loss {
    cwb_loss_cfg cfg;
    int max_batch, dim;
    int chunk;           /* effective rows per block, 1..max_batch */
    float *dots;         /* chunk x max_batch: <a_i, b_j> of the current block */
    float *grad;         /* chunk x max_batch: dL/ds_ij of the current block */
    double *x;           /* max_batch: one row's logits (see cwb_loss_row) */
    double *logw;        /* max_batch: log of the column weights of this call */
    double *logzhat;     /* 2 * n_total running log zhat (stateful kinds), NaN = unseen */
    cwb_rng rng_gamma;   /* E-step draws (stream CWB_STREAM_LOSS) */
    cwb_rng rng_noise;   /* negative-term noise (stream CWB_STREAM_NOISE) */
};

/*
 * One anchor row as a kind sees it.  x[j] for j != i is the log of the j-th
 * negative term, s_ij + log c + log w_j (+ log of the noise factor); x[i] is
 * the positive logit s_ii.  So the minibatch estimate of the population
 * denominator ("Why batches must be large [P1]") is Zb_i = sum_j exp(x[j]).
 */
typedef struct {
    int B;               /* columns */
    int i;               /* the positive's column */
    const double *x;     /* B logits as above */
    double weight;       /* the row's weight in the mean: 1/B, or 1/(2B) when symmetric */
    double *logzhat;     /* this row's state slot (stateful kinds), else NULL */
} cwb_loss_row;

/* Per-row results: the reported loss term and the surrogate term (before weighting). */
typedef struct {
    double value, surrogate;
} cwb_loss_terms;

/*
 * A kind's row function: fills g[0..B) with weight * d(surrogate_i)/d x_j
 * (= weight * d/ds_ij, since x_j - s_ij does not depend on theta) and the
 * row's terms.  Returns CWB_OK or a cwb_fail code.
 */
typedef int (*cwb_loss_row_fn)(cwb_loss *L, const cwb_loss_row *r, float *g,
                               cwb_loss_terms *t);

int cwb_loss_row_infonce(cwb_loss *L, const cwb_loss_row *r, float *g, cwb_loss_terms *t);
int cwb_loss_row_dcl(cwb_loss *L, const cwb_loss_row *r, float *g, cwb_loss_terms *t);
int cwb_loss_row_sogclr(cwb_loss *L, const cwb_loss_row *r, float *g, cwb_loss_terms *t);
int cwb_loss_row_decomposable(cwb_loss *L, const cwb_loss_row *r, float *g, cwb_loss_terms *t);

/* log sum_j exp(x[j]) over j in [0, n) except j == skip (skip < 0: none);
 * -inf if every term is -inf. */
double cwb_loss_logsumexp(const double *x, int n, int skip);

/* "Decomposable loss" step 1: fold log Zbatch into the row's log zhat
 * (first visit: zhat = Zbatch). */
void cwb_loss_update_zhat(double *logzhat, double logzb, double gamma);

/*
 * "Decomposable loss" step 3 for one row, given log u_i (detached): the
 * surrogate -s_ii + u_i Zb_i and its gradient, the reported term
 * -s_ii + log zhat_i.  Shared by SOGCLR (log u = -log zhat) and
 * DECOMPOSABLE (u drawn), which is why the two agree exactly in the limit.
 */
int cwb_loss_row_augmented(cwb_loss *L, const cwb_loss_row *r, double logzb,
                           double logu, float *g, cwb_loss_terms *t);

#endif
