/*
 * loss_sogclr.c - SogCLR's global contrastive loss ([SogCLR], "Baselines
 * beyond the seeds").  A running estimate zhat_i of the population
 * denominator Z_i is kept per dataset index ("Decomposable loss" step 1,
 * SogCLR's default gamma 0.9) and the surrogate
 *   l_i = -s_ii + Zb_i(theta) / zhat_i,     1/zhat_i detached,
 * has gradient sum_j (exp(x_ij)/zhat_i) dx_ij - ds_ii: SogCLR's weights
 * p_ij = exp(s_ij)/zhat_i.  This is exactly the decomposable loss with its
 * gamma draw replaced by the mean u_i = 1/zhat_i, i.e. its alpha -> infinity
 * limit: both go through cwb_loss_row_augmented with the same state update,
 * so given the same state they return the same gradient bit for bit (the
 * decomposable loss with alpha <= 0 or alpha = inf takes this path).
 * The reported value is the population-loss estimate mean_i(-s_ii + log zhat_i).
 */
#include "loss_internal.h"

int cwb_loss_row_sogclr(cwb_loss *L, const cwb_loss_row *r, float *g, cwb_loss_terms *t) {
    double logzb = cwb_loss_logsumexp(r->x, r->B, -1);
    cwb_loss_update_zhat(r->logzhat, logzb, L->cfg.gamma);
    return cwb_loss_row_augmented(L, r, logzb, -*r->logzhat, g, t);
}
