/*
 * loss_decomposable.c - the decomposable loss by Bayesian augmentation [P1]
 * ("Decomposable loss by Bayesian augmentation", steps 1-4 in methods.md).
 *
 * Per anchor row i (dataset index n):
 *   1. log zhat_n <- log((1-gamma) zhat_n + gamma Zb_i), Zb_i the minibatch
 *      estimate of the population denominator (first visit: zhat_n = Zb_i);
 *   2. E-step: u_i ~ Gamma(alpha, rate alpha zhat_n), mean 1/zhat_n;
 *      alpha <= 0 or infinite gives u_i = 1/zhat_n (SogCLR, loss_sogclr.c);
 *   3. M-step surrogate -s_ii + u_i Zb_i(theta), u detached: linear in the
 *      negatives' exp(s_ij), so its minibatch gradient is unbiased for fixed u;
 *   4. reported value -s_ii + log zhat_n, not the surrogate.
 * With cfg.estep_first the E-step (2) uses zhat_n as it was before step 1,
 * so u_i is independent of the Zb_i it multiplies (methods.md's order makes
 * them correlated: a large Zb_i raises zhat_n and lowers u_i, which biases
 * the surrogate's gradient upward; see docs/gradient-bias.md).  First visit:
 * no earlier estimate exists, so u_i is drawn from zhat_n = Zb_i as usual.
 * Rows are processed in order, so a dataset index repeated within one batch
 * sees the update made by its earlier occurrence.
 */
#include "engine/loss/loss_internal.h"
#include "engine/core/error.h"

#include <float.h>
#include <math.h>

void cwb_loss_update_zhat(double *logzhat, double logzb, double gamma) {
    if (isnan(*logzhat) || gamma >= 1.0) {
        *logzhat = logzb;
        return;
    }
    /* log-add-exp of log(1-gamma) + log zhat and log gamma + log Zb: zhat
     * itself can overflow a double when scale is large. */
    double p = log1p(-gamma) + *logzhat, q = log(gamma) + logzb;
    double m = p > q ? p : q;
    *logzhat = m + log1p(exp(-fabs(p - q)));
}

double cwb_loss_fold_zhat(cwb_loss *L, const cwb_loss_row *r, double logzb) {
    const double g = L->cfg.gamma;
    double prev = *r->logzhat;
    /* Jensen: E[1/zhat] ~ (1/Z)(1 + Var zhat / Z^2) to second order, and an
     * exponential moving average of rate g over independent Zbatch draws has
     * Var zhat = g/(2-g) Var Zbatch.  The relative variance is read before
     * this batch updates it, so the correction, like estep_first's draw, does
     * not depend on the Zbatch it will multiply. */
    double corr = 0.0;
    if (L->cfg.jensen && !isnan(prev)) {
        double v = *r->relvar;
        if (!isnan(v)) corr = log1p(g / (2.0 - g) * v);
        double d2 = expm1(logzb - prev);
        d2 *= d2;
        if (isfinite(d2)) *r->relvar = isnan(v) ? d2 : (1.0 - g) * v + g * d2;
    }
    cwb_loss_update_zhat(r->logzhat, logzb, g);
    return ((L->cfg.estep_first && !isnan(prev)) ? prev : *r->logzhat) + corr;
}

int cwb_loss_row_augmented(cwb_loss *L, const cwb_loss_row *r, double logzb,
                           double logu, cwb_loss_terms *t) {
    double s_ii = r->s_ii;
    /* u_i Zb_i overflows where its logarithm does not: every gradient term
     * u_i exp(x_j) = exp(logu + m) e_j is formed from logarithms. */
    double uz = exp(logu + logzb);
    if (!(uz * r->weight < FLT_MAX))
        return cwb_fail(CWB_ENAN, "loss %s: u*Zbatch overflows at row %d (log u=%g, log Zbatch=%g)",
                        cwb_loss_name(L->cfg.kind), r->i, logu, logzb);
    t->coef = r->sneg == 0 ? 0.0 : r->weight * exp(logu + r->m);
    t->g_ii = r->weight * (exp(logu + s_ii) - 1.0);
    t->surrogate = -s_ii + uz;
    t->value = -s_ii + *r->logzhat;
    return CWB_OK;
}

int cwb_loss_row_decomposable(cwb_loss *L, const cwb_loss_row *r, cwb_loss_terms *t) {
    double logzb = cwb_loss_row_logz(r);
    double logu = -cwb_loss_fold_zhat(L, r, logzb);
    double alpha = L->cfg.alpha;
    if (alpha > 0 && isfinite(alpha))
        logu += log(cwb_rng_gamma(&L->rng_gamma, alpha, alpha));
    return cwb_loss_row_augmented(L, r, logzb, logu, t);
}
