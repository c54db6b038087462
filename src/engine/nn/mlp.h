/*
 * mlp.h - an MLP encoder tower: Linear -> act -> ... -> Linear [-> L2 norm].
 *
 * One cwb_mlp holds its parameters and gradients as single flat arrays (so an
 * optimiser updates it in one call) and caches the activations of its last
 * forward pass for backward.  All buffers are sized for max_batch rows at
 * creation: forward/backward never allocate.  A shared tower for two views is
 * one cwb_mlp run on the 2B stacked rows.
 */
#ifndef CWB_MLP_H
#define CWB_MLP_H

#include <stddef.h>
#include "engine/nn/layers.h"
#include "engine/core/mem.h"
#include "engine/core/rng.h"

#define CWB_MLP_MAX_LAYERS 8

typedef struct {
    int n_layers;                       /* linear layers, 1..CWB_MLP_MAX_LAYERS */
    int dims[CWB_MLP_MAX_LAYERS + 1];   /* dims[0] = input, dims[n_layers] = output */
    cwb_act act;                        /* between linear layers, not after the last */
    int l2norm;                         /* L2-normalise output rows */
} cwb_mlp_cfg;

typedef struct cwb_mlp {
    cwb_mlp_cfg cfg;
    int max_batch;
    size_t n_params;
    float *params, *grads;              /* flat; W[l], b[l] point into them */
    float *W[CWB_MLP_MAX_LAYERS], *b[CWB_MLP_MAX_LAYERS];
    float *dW[CWB_MLP_MAX_LAYERS], *db[CWB_MLP_MAX_LAYERS];
    /* caches for backward, each max_batch x dims[l+1] */
    float *pre[CWB_MLP_MAX_LAYERS];     /* linear outputs */
    float *post[CWB_MLP_MAX_LAYERS];    /* activation outputs (== pre for last layer) */
    float *out;                         /* final output (normalised if l2norm) */
    float *norms;                       /* max_batch */
    float *scratch_a, *scratch_b;       /* max_batch x max(dims), backward temporaries */
    const float *last_in;               /* input of the last forward (borrowed) */
    int last_B;                         /* rows of the last forward, 0 = none */
    cwb_mem mem;                        /* owns every buffer above */
} cwb_mlp;

/* Validates cfg; initialises weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * (PyTorch's nn.Linear default) from `init`.  NULL + message on error. */
cwb_mlp *cwb_mlp_new(const cwb_mlp_cfg *cfg, int max_batch, cwb_rng *init);
void cwb_mlp_free(cwb_mlp *m);

/* Forward B rows of x (B x dims[0]); *out points at B x out_dim owned by m.
 * x must stay valid until backward.  Errors: B < 1 or B > max_batch. */
int cwb_mlp_forward(cwb_mlp *m, const float *x, int B, const float **out);
/* Backward of the last forward: accumulates parameter grads; dx (B x dims[0])
 * receives the input gradient if non-NULL.  CWB_ESTATE if no forward. */
int cwb_mlp_backward(cwb_mlp *m, const float *dout, float *dx);
void cwb_mlp_zero_grad(cwb_mlp *m);
static inline int cwb_mlp_in_dim(const cwb_mlp *m) { return m->cfg.dims[0]; }
static inline int cwb_mlp_out_dim(const cwb_mlp *m) { return m->cfg.dims[m->cfg.n_layers]; }

#endif
