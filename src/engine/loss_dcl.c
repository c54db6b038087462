/*
 * loss_dcl.c - decoupled contrastive loss ([DCL], "Baselines beyond the
 * seeds"): InfoNCE without the positive in the denominator,
 *   l_i = -s_ii + log( c sum_{j!=i} w_j exp(s_ij) ).
 * The positive's logit then enters only linearly, so its gradient is a
 * constant -1 (per row) however well the pair is already aligned.
 */
#include "loss_internal.h"
#include "error.h"

#include <math.h>

int cwb_loss_row_dcl(cwb_loss *L, const cwb_loss_row *r, float *g, cwb_loss_terms *t) {
    const double *x = r->x;
    double lse = cwb_loss_logsumexp(x, r->B, r->i);
    if (lse == -INFINITY)
        return cwb_fail(CWB_ENAN, "loss %s: row %d has no negative with non-zero weight (col_w)",
                        cwb_loss_name(L->cfg.kind), r->i);
    for (int j = 0; j < r->B; j++)
        if (j != r->i) g[j] = (float)(r->weight * exp(x[j] - lse));
    g[r->i] = (float)(-r->weight);
    t->value = t->surrogate = lse - x[r->i];
    return CWB_OK;
}
