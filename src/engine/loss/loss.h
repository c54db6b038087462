/*
 * loss.h - contrastive losses over a batch of paired embeddings.
 *
 * Inputs a, b are B x k row-major (normally L2-normalised by the encoder);
 * logits s_ij = scale * <a_i, b_j>, scale = 1/tau.  Every loss returns its
 * value and, when the pointers are non-NULL, dL/da, dL/db (overwritten) and
 * dL/dscale (so a learnable temperature gets its gradient).  Similarities are
 * computed in row blocks of `chunk` rows, so memory is O(B x chunk).
 * Equations are named as in docs/methods.md.
 *
 * Kinds:
 *   INFONCE       -s_ii + log Zb_i, Zb_i = exp(s_ii) + c sum_{j!=i} exp(s_ij),
 *                 c = (N-1)/(B-1) when n_total = N > 0 (the minibatch estimate
 *                 of the population loss, "conventional"), c = 1 when
 *                 n_total = 0 (standard in-batch InfoNCE).
 *   DCL           -s_ii + log( c sum_{j!=i} exp(s_ij) )   (no positive in Z);
 *                 with both_views, over both views' negatives as NTXENT does
 *                 (2B anchors, 2B-2 negatives each, no positive): the DCL
 *                 authors' convention (methods.md "Baselines beyond the seeds").
 *   SOGCLR        running zhat_i; surrogate -s_ii + (1/zhat_i) Zb_i(theta) with
 *                 1/zhat_i detached: the alpha -> inf limit of DECOMPOSABLE.
 *   DECOMPOSABLE  running zhat_i; u_i ~ Gamma(alpha, rate alpha*zhat_i);
 *                 surrogate -s_ii + u_i Zb_i(theta) (u detached).  Reported
 *                 value: mean_i(-s_ii + log zhat_i), the population-loss
 *                 estimate, not the surrogate.
 *   NTXENT        SimCLR's NT-Xent: both views are anchors (2B rows r), each
 *                 against the other 2B-1 embeddings of the batch, the other
 *                 view's row r+ the positive and the 2B-2 others (same view
 *                 included) negatives: (1/2B) sum_r [-s_{r,r+} + log sum_{q!=r}
 *                 exp(s_rq)] (lightly's NTXentLoss, PML's SelfSupervisedLoss).
 *                 Not the same loss as INFONCE with `symmetric`, whose
 *                 negatives come from the other view only.
 * With both views (NTXENT, DCL both_views) `symmetric` must be 0: every row of
 * both views is already an anchor.  n_total = N scales every negative by
 * (N-1)/(B-1), the 2B-2 in-batch negatives standing for 2N-2.
 * Stateful kinds need the batch's dataset indices (idx) and n_total = N.
 */
#ifndef CWB_LOSS_H
#define CWB_LOSS_H

#include <stdint.h>

#include "engine/core/knob.h"
#include "util/json.h"

typedef enum {
    CWB_LOSS_INFONCE = 0,
    CWB_LOSS_DCL,
    CWB_LOSS_SOGCLR,
    CWB_LOSS_DECOMPOSABLE,
    CWB_LOSS_NTXENT,
    CWB_LOSS_NKINDS
} cwb_loss_kind;

typedef struct {
    cwb_loss_kind kind;
    int symmetric;       /* average of a->b and b->a (CLIP form) */
    int both_views;      /* DCL: negatives from both views, 2B anchors (NTXENT's
                          * layout without the positive); 0 = the other view's */
    int chunk;           /* rows per similarity block; 0 = whole batch */
    long n_total;        /* N for population scaling / state; 0 = in-batch only */
    double alpha;        /* DECOMPOSABLE gamma shape; <= 0 or inf: u = 1/zhat */
    double gamma;        /* zhat running-estimate rate in (0, 1] (SOGCLR, DECOMPOSABLE) */
    double noise_sigma;  /* mean-one lognormal noise on each negative term, 0 = none */
    int estep_first;     /* SOGCLR, DECOMPOSABLE: draw u_i from the running estimate
                          * zhat_i *before* this batch's Zb_i is folded in, so u is
                          * independent of the Zb it multiplies.  0 (default) =
                          * methods.md's order (fold, then draw).  First visit (no
                          * previous zhat): u is drawn from zhat_i = Zb_i, as in
                          * the default order. */
    int jensen;          /* SOGCLR, DECOMPOSABLE: second-order correction of the
                          * E-step mean for E[1/zhat] > 1/Z (Jensen): u_i's mean
                          * becomes 1/(zhat_i (1 + c_i)), c_i = gamma/(2-gamma) v_i,
                          * v_i a running mean of (Zbatch_i/zhat_i - 1)^2 (the
                          * relative variance of an exponential moving average of
                          * independent draws).  Meant with estep_first, where u
                          * is independent of Zbatch; 0 (default) = off. */
} cwb_loss_cfg;

/* Documented defaults: symmetric 0, both_views 0, chunk 0, n_total 0, alpha 10,
 * gamma 0.9 for SOGCLR and 0.02 for DECOMPOSABLE, noise 0, estep_first 0,
 * jensen 0. */
cwb_loss_cfg cwb_loss_defaults(cwb_loss_kind kind);
/* "infonce", "dcl", "sogclr", "decomposable", "ntxent" */
const char *cwb_loss_name(cwb_loss_kind kind);
int cwb_loss_from_name(const char *name);        /* -1 if unknown */
/* The kinds that keep a running estimate per sample (SOGCLR, DECOMPOSABLE):
 * they need the batch's dataset indices and n_total = N. */
int cwb_loss_is_stateful(cwb_loss_kind kind);

/* The one check of a loss config, used by cwb_loss_new and by every trainer
 * when it is built: a known kind, chunk and n_total >= 0, noise finite and
 * >= 0, and for the stateful kinds gamma in (0, 1] and alpha not NaN.
 * CWB_EINVAL with "who: gamma=2 outside (0, 1]" (who may be NULL). */
int cwb_loss_check(const cwb_loss_cfg *c, const char *who);
/* A trainer's loss over a data set of n samples: a stateful kind's n_total
 * is set to n when 0 and must be >= n (one state per sample); other kinds
 * are left as they are.  CWB_EINVAL with "who: ..." otherwise. */
int cwb_loss_fit_dataset(cwb_loss_cfg *c, long n, const char *who);
/* The config as the member `key` of the JSON object j is writing. */
void cwb_loss_describe(const cwb_loss_cfg *c, const char *key, cwb_json *j);
/* The running-estimate knobs (alpha, gamma, noise, estep_first, jensen) as
 * JSON fields of a cwb_loss_cfg, for a record that embeds the config. */
#define CWB_LOSS_NKNOBS 5
extern const cwb_json_field *const cwb_loss_knob_fields;
/* ... and all the fields of its record, the knobs first (not the kind). */
#define CWB_LOSS_NFIELDS 9
extern const cwb_json_field *const cwb_loss_fields;

typedef struct {
    double value;      /* reported loss (see above) */
    double surrogate;  /* the value whose gradient was returned */
    double dscale;     /* dL/dscale of the surrogate */
} cwb_loss_out;

typedef struct cwb_loss cwb_loss;

/* Allocates the workspace for batches up to max_batch rows of width dim, and
 * the per-sample state (2 * n_total values) for stateful kinds.  `seed` seeds
 * the loss's own stream (gamma E-step, negative-term noise). */
cwb_loss *cwb_loss_new(const cwb_loss_cfg *cfg, int max_batch, int dim, uint64_t seed);
void cwb_loss_free(cwb_loss *L);
const cwb_loss_cfg *cwb_loss_config(const cwb_loss *L);
/* Forget the running estimates (zhat) of stateful losses. */
void cwb_loss_reset(cwb_loss *L);

/* The loss's live knobs (knob.h), appended to out[*n] (at most max in all):
 * "noise" (sigma of the negatives' noise, every kind, 0..5), "alpha" (the
 * decomposable loss's gamma shape, 0.1..1e4) and "gamma" (the running
 * estimate's rate of sogclr and the decomposable loss, 0.001..1), with the
 * option names "loss.noise", ... when nested (a trainer's loss = {...}
 * table), else "noise", ... (the scale fit's flat options). */
void cwb_loss_knobs(const cwb_loss *L, int nested, cwb_knob *out, int *n, int max);
/* Set one of those knobs from the next evaluation on: the running estimates
 * are kept, only the rule changes.  CWB_EINVAL with "who: ..." for a knob
 * this kind does not have or a value outside its range; -1 when name is not
 * a loss knob at all (so a trainer can try its own). */
int cwb_loss_set_knob(cwb_loss *L, const char *name, double value, const char *who);

/*
 * Evaluate on B rows (B pairs; NTXENT and DCL both_views use the 2B rows of
 * a and b as anchors).  idx[B]: dataset indices of the rows (required for
 * SOGCLR/DECOMPOSABLE, ignored otherwise; NULL means 0..B-1).  col_w[B]:
 * optional importance weights on each column's negative terms (NULL = 1).
 * Errors (with message): B < 2, B > max_batch, k != dim, scale <= 0 or not
 * finite, NaN/Inf in a or b, stateful loss without n_total >= B.
 * Does not allocate.
 */
int cwb_loss_eval(cwb_loss *L, const float *a, const float *b, int B, int k,
                  const int *idx, const float *col_w, float scale,
                  cwb_loss_out *out, float *da, float *db);

#endif
