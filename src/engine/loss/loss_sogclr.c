/* loss_sogclr.c - experimental O(1)-per-row form (bench helper). */
#include "engine/loss/loss_internal.h"

int cwb_loss_row_sogclr(cwb_loss *L, const cwb_loss_row *r, cwb_loss_terms *t) {
    double logzb = cwb_loss_row_logz(r);
    return cwb_loss_row_augmented(L, r, logzb, -cwb_loss_fold_zhat(L, r, logzb), t);
}
