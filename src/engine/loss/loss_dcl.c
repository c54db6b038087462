/* loss_dcl.c - experimental O(1)-per-row form (bench helper). */
#include "engine/loss/loss_internal.h"
#include "engine/core/error.h"

#include <math.h>

int cwb_loss_row_dcl(cwb_loss *L, const cwb_loss_row *r, cwb_loss_terms *t) {
    if (!(r->sneg > 0))
        return cwb_fail(CWB_ENAN, "loss %s: row %d has no negative with non-zero weight (col_w)",
                        cwb_loss_name(L->cfg.kind), r->i);
    double lse = r->m + log(r->sneg);
    t->coef = r->weight / r->sneg;
    t->g_ii = -r->weight;
    t->value = t->surrogate = lse - r->s_ii;
    return CWB_OK;
}
