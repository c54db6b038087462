/*
 * loss_infonce.c - the conventional contrastive loss ("InfoNCE" in
 * methods.md), one anchor row at a time:
 *   l_i = -s_ii + log Zb_i,   Zb_i = exp(s_ii) + c sum_{j!=i} w_j exp(s_ij)
 * With c = 1 and w = 1 this is standard in-batch InfoNCE; with
 * c = (N-1)/(B-1) it is the minibatch estimate of the population loss whose
 * gradient is biased ("Why batches must be large [P1]").
 */
#include "loss_internal.h"
#include "error.h"

#include <math.h>

int cwb_loss_row_infonce(cwb_loss *L, const cwb_loss_row *r, float *g, cwb_loss_terms *t) {
    (void)L;
    const double *x = r->x;
    double lse = cwb_loss_logsumexp(x, r->B, -1);
    /* dl/dx_j = softmax_j - [j == i]; the positive's entry is written as
     * minus the negatives' mass, which keeps its precision when p_ii -> 1. */
    double neg = 0;
    for (int j = 0; j < r->B; j++) {
        if (j == r->i) continue;
        double p = exp(x[j] - lse);
        neg += p;
        g[j] = (float)(r->weight * p);
    }
    g[r->i] = (float)(-r->weight * neg);
    t->value = t->surrogate = lse - x[r->i];
    return CWB_OK;
}
