/* loss_infonce.c - experimental O(1)-per-row form (bench helper). */
#include "engine/loss/loss_internal.h"
#include "engine/core/error.h"

#include <math.h>

double cwb_loss_row_logz(const cwb_loss_row *r) {
    if (r->sneg == 0) return r->s_ii;
    double ln = r->m + log(r->sneg);
    double hi = ln > r->s_ii ? ln : r->s_ii, lo = ln > r->s_ii ? r->s_ii : ln;
    return hi + log1p(exp(lo - hi));
}

int cwb_loss_row_infonce(cwb_loss *L, const cwb_loss_row *r, cwb_loss_terms *t) {
    (void)L;
    double lse = cwb_loss_row_logz(r);
    /* p_j = exp(x_j - lse) = exp(m - lse) e_j; the positive's entry is minus
     * the negatives' mass, exp(m - lse) sneg, which keeps its precision when
     * p_ii -> 1. */
    double f = r->sneg == 0 ? 0.0 : exp(r->m - lse);
    t->coef = r->weight * f;
    t->g_ii = -r->weight * f * r->sneg;
    t->value = t->surrogate = lse - r->s_ii;
    return CWB_OK;
}
