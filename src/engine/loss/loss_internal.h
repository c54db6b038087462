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

#include "engine/loss/loss.h"
#include "engine/core/mem.h"
#include "engine/core/rng.h"

struct cwb_loss {
    cwb_loss_cfg cfg;
    int max_batch, dim;
    int chunk;           /* effective rows per block, 1..max_batch */
    int both;            /* anchors against both views (NTXENT, DCL both_views):
                          * the candidates are [other view | same view], 2B columns */
    float *dots;         /* chunk x (1 + both) max_batch: <p_i, q_j> of the current block */
    float *grad;         /* the same shape: dL/ds_ij of the current block */
    float *bias;         /* (1 + both) max_batch: log c + log w_j of this call (float) */
    double *logzhat;     /* 2 * n_total running log zhat (stateful kinds), NaN = unseen,
                          * then 2 * n_total relative variances of Zbatch (jensen) */
    cwb_rng rng_gamma;   /* E-step draws (stream CWB_STREAM_LOSS) */
    cwb_rng rng_noise;   /* negative-term noise (stream CWB_STREAM_NOISE) */
    cwb_mem mem;         /* owns dots, grad, bias, logzhat */
};

/*
 * One anchor row as a kind sees it, reduced to O(1) numbers by loss.c.  The
 * j-th negative term is exp(x_j), x_j = s_ij + log c + log w_j (+ log noise);
 * loss.c forms e_j = exp(x_j - m) once, m = max over the negatives, so the
 * minibatch estimate of the population denominator ("Why batches must be
 * large [P1]") is Zb_i = exp(s_ii) + exp(m) sneg.
 */
typedef struct {
    int B;               /* columns (2B with both views) */
    int i;               /* the positive's column (the anchor's own, i + B, is left out) */
    double s_ii;         /* the positive logit */
    double m;            /* max_{j != i} x_j; -inf if every negative is -inf */
    double sneg;         /* sum_{j != i} exp(x_j - m) (0 if m = -inf) */
    double weight;       /* the row's weight in the mean: 1/B, or 1/(2B) when symmetric */
    double *logzhat;     /* this row's state slot (stateful kinds), else NULL */
    double *relvar;      /* its running (Zbatch/zhat - 1)^2, NaN = none yet */
} cwb_loss_row;

/* Per-row results: the reported loss term and the surrogate term (before
 * weighting), and the row's gradient in the form loss.c applies with one
 * vector pass: dL/dx_j = coef * exp(x_j - m) for j != i, dL/dx_i = g_ii
 * (both already multiplied by the row's weight). */
typedef struct {
    double value, surrogate;
    double coef, g_ii;
} cwb_loss_terms;

typedef int (*cwb_loss_row_fn)(cwb_loss *L, const cwb_loss_row *r, cwb_loss_terms *t);

int cwb_loss_row_infonce(cwb_loss *L, const cwb_loss_row *r, cwb_loss_terms *t);
int cwb_loss_row_dcl(cwb_loss *L, const cwb_loss_row *r, cwb_loss_terms *t);
int cwb_loss_row_sogclr(cwb_loss *L, const cwb_loss_row *r, cwb_loss_terms *t);
int cwb_loss_row_decomposable(cwb_loss *L, const cwb_loss_row *r, cwb_loss_terms *t);

/* log Zb_i = log(exp(s_ii) + exp(m) sneg), without overflow. */
double cwb_loss_row_logz(const cwb_loss_row *r);

/* "Decomposable loss" step 1: fold log Zbatch into the row's log zhat
 * (first visit: zhat = Zbatch). */
void cwb_loss_update_zhat(double *logzhat, double logzb, double gamma);

/* Steps 1-2 order: folds log Zbatch into the row's zhat and returns
 * -log E[u_i], the log zhat the E-step draws u_i from: the updated one
 * (methods.md's order), or with cfg.estep_first the one before this batch
 * (first visit: Zbatch); with cfg.jensen plus log(1 + c_i) (loss.h).
 * Shared by SOGCLR and DECOMPOSABLE so one stays the other's alpha -> inf limit. */
double cwb_loss_fold_zhat(cwb_loss *L, const cwb_loss_row *r, double logzb);

/* "Decomposable loss" step 3 for one row, given log u_i (detached). */
int cwb_loss_row_augmented(cwb_loss *L, const cwb_loss_row *r, double logzb,
                           double logu, cwb_loss_terms *t);

#endif
