/*
 * fusion.h - an ALBEF-like fusion model over the two towers' embeddings:
 * an MLP on the concatenation [a, b] (a from V, b from T) ending in one
 * logit, trained either as an image-text matching (ITM) head on in-batch
 * hard negatives or as a binary classifier for a task that needs both
 * modalities (mmdata.h's "question about an image").  docs/multimodal.md.
 *
 * Gradients follow reg.h: values are unweighted, and `weight` times every
 * gradient is ADDED, to the MLP's parameter gradients (f->mlp->grads) and to
 * the non-NULL input gradients da, db.  Buffers are sized in cwb_fusion_new
 * for up to max_batch pairs (3 max_batch fused rows for ITM); no call
 * allocates.
 */
#ifndef CWB_FUSION_H
#define CWB_FUSION_H

#include "engine/nn/layers.h"
#include "engine/nn/mlp.h"
#include "engine/core/mem.h"
#include "engine/core/rng.h"

typedef struct {
    int dim_a, dim_b;   /* widths of the V and T embeddings */
    int hidden;         /* width of the hidden layers */
    int layers;         /* linear layers, 1..CWB_MLP_MAX_LAYERS; the last outputs the logit */
    cwb_act act;        /* between layers */
} cwb_fusion_cfg;

/* Defaults: dims 0 (set them), hidden 64, 2 layers, ReLU. */
cwb_fusion_cfg cwb_fusion_defaults(void);

typedef struct cwb_fusion {
    cwb_fusion_cfg cfg;
    int max_batch;      /* pairs per ITM call; fused rows up to 3 max_batch */
    cwb_mlp *mlp;       /* (dim_a + dim_b) -> ... -> 1, no normalisation */
    float *x, *dx;      /* 3 max_batch x (dim_a + dim_b): fused inputs and their gradients */
    float *dlogit;      /* 3 max_batch */
    int *ia, *ib;       /* 3 max_batch: the a and b rows of each fused row */
    int *lab;           /* 3 max_batch: 0/1 targets */
    float *sim;         /* max_batch x max_batch similarities (hard-negative sampling) */
    double *p;          /* max_batch sampling weights */
    cwb_mem mem;        /* owns the buffers above (not the mlp) */
} cwb_fusion;

typedef struct {
    double loss;        /* mean binary cross-entropy over the fused rows */
    double acc;         /* fraction of rows with (logit > 0) == target */
} cwb_fusion_out;

cwb_fusion *cwb_fusion_new(const cwb_fusion_cfg *cfg, int max_batch, cwb_rng *init);
void cwb_fusion_free(cwb_fusion *f);

/* Logits of n <= 3 max_batch pairs (a_i, b_i): out[n]. */
int cwb_fusion_logits(cwb_fusion *f, const float *a, const float *b, int n, float *out);

/* Binary cross-entropy of n <= 3 max_batch pairs (a_i, b_i) with targets
 * y[i] in {0, 1}, forward and backward. */
int cwb_fusion_bce(cwb_fusion *f, const float *a, const float *b, const int *y, int n,
                   float weight, cwb_fusion_out *out, float *da, float *db);

/*
 * ALBEF's hard negatives: for each a_i draw neg_b[i] = j != i with
 * probability proportional to exp(scale <a_i, b_j>), and for each b_i draw
 * neg_a[i] = j != i with probability proportional to exp(scale <b_i, a_j>).
 * Needs dim_a == dim_b (one embedding space).  B in 2..max_batch.
 */
int cwb_fusion_hard_negatives(cwb_fusion *f, const float *a, const float *b, int B,
                              float scale, cwb_rng *r, int *neg_b, int *neg_a);

/*
 * ITM loss on 3B fused rows: (a_i, b_i) -> 1, (a_i, b_{neg_b[i]}) -> 0,
 * (a_{neg_a[i]}, b_i) -> 0; mean binary cross-entropy, forward and backward
 * (the negative choice itself is not differentiated, as in ALBEF).
 */
int cwb_fusion_itm(cwb_fusion *f, const float *a, const float *b, int B, const int *neg_b,
                   const int *neg_a, float weight, cwb_fusion_out *out, float *da, float *db);

#endif
