/*
 * reg.h - the modality-structure regularisers of [P2] (methods.md
 * "Modality-structure regularisers"): deep feature separation
 * (reg_separation.c), Brownian bridge (reg_bridge.c) and geometric
 * consistency (reg_geometric.c).
 *
 * Inputs are B x k row-major embeddings, normally the L2-normalised outputs
 * of the towers, but every formula is differentiated for arbitrary rows, so
 * the gradients are exact w.r.t. the arrays passed in (the tower's L2-norm
 * backward then projects them).  N in methods.md is the batch size B here.
 *
 * Conventions: each function returns the UNWEIGHTED value(s) and ADDS
 * `weight` times the gradient to every non-NULL gradient array (so a trainer
 * can sum several terms into one buffer; zero the buffers first for a plain
 * gradient).  One workspace serves all three; it is sized in cwb_reg_new and
 * no call allocates.  Errors (with a one-line message): NULL inputs, B < 2
 * (B < 1 for the bridge), B > max_batch, k != dim, non-finite inputs or
 * weight, parameters out of range.
 */
#ifndef CWB_REG_H
#define CWB_REG_H

#include "engine/core/mem.h"
#include "engine/loss/loss.h"

/* The workspace (its fields are for reg_*.c only). */
typedef struct cwb_reg {
    int max_batch, dim;
    float *m[6];         /* max_batch x max_batch: Gram matrices and their gradients */
    float *da, *db;      /* max_batch x dim: contrastive-loss gradients before weighting */
    double *rowd;        /* max_batch: per-row scalars (dots, residuals, norms) */
    cwb_loss *nce;       /* InfoNCE for the independent features' L^i_Con */
    cwb_mem mem;         /* owns m, da, db, rowd */
} cwb_reg;

/* NULL + message if max_batch < 2, dim < 1 or no memory. */
cwb_reg *cwb_reg_new(int max_batch, int dim);
void cwb_reg_free(cwb_reg *w);

/* For reg_*.c: the checks every regulariser makes on its workspace, shape,
 * weight and the n inputs (names[] for the message).  Returns a cwb_status. */
int cwb_reg_validate(const char *fn, const cwb_reg *w, int B, int k, int min_batch,
                     float weight, const float *const *in, const char *const *names, int n);

/*
 * Deep feature separation: z (shared) and zi (independent head) for V and T,
 * and the independent features of an augmented view (ziva, zita).
 *   L_Ortho  = (1/B) sum_j (<zv_j, ziv_j>^2 + <zt_j, zit_j>^2)
 *   L^i_Con  = InfoNCE(ziv -> ziva) + InfoNCE(zit -> zita), one direction
 *              each, logits scale * <., .>, in-batch negatives
 *   L^i_Uni  = log( (1/B) sum_j sum_k [G(ziv_j, ziv_k) + G(zit_j, zit_k)] ),
 *              G(u, v) = exp(-2 ||u - v||^2), j = k included, as written
 *   L_Sep    = L_Ortho + L^i_Con + L^i_Uni
 */
typedef struct {
    double ortho, con, uni;  /* the three terms */
    double total;            /* L_Sep */
} cwb_sep_out;

int cwb_reg_separation(cwb_reg *w, const float *zv, const float *ziv, const float *ziva,
                       const float *zt, const float *zit, const float *zita, int B, int k,
                       float scale, float weight, cwb_sep_out *out,
                       float *gzv, float *gziv, float *gziva,
                       float *gzt, float *gzit, float *gzita);

/*
 * Brownian bridge: mu_j = (t_j zv_j + (1 - t_j) zt_j) / ||t_j zv_j + (1 - t_j) zt_j||,
 *   L_Br = (1/B) sum_j ||zva_j - mu_j||^2,
 * with t_j = t[j] when t is non-NULL (per-pair times), else t0 (the paper's
 * 0.25).  Times must lie in [0, 1]; a pair whose interpolant is the zero
 * vector is CWB_ENAN.
 */
int cwb_reg_bridge(cwb_reg *w, const float *zv, const float *zva, const float *zt,
                   const float *t, float t0, int B, int k, float weight, double *value,
                   float *gzv, float *gzva, float *gzt);

/*
 * Geometric consistency, with V, T and their augmented views Va, Ta:
 *   L_GC   = (1/B) sum_jk [(<V_j,T_k> - <V_k,T_j>)^2 + (<V_j,V_k> - <T_j,T_k>)^2]
 *   L^a_GC = (1/B) sum_jk [(<V_j,V_k> - <Va_j,Va_k>)^2 + (<T_j,T_k> - <Ta_j,Ta_k>)^2]
 *          + (1/B) sum_j (<V_j,T_j> - <Va_j,Ta_j>)^2
 * All B x B terms are Gram matrices through cwb_gemm.  total = L_GC + L^a_GC.
 */
typedef struct {
    double gc, gc_aug, total;
} cwb_gc_out;

int cwb_reg_geometric(cwb_reg *w, const float *zv, const float *zt, const float *zva,
                      const float *zta, int B, int k, float weight, cwb_gc_out *out,
                      float *gzv, float *gzt, float *gzva, float *gzta);

#endif
