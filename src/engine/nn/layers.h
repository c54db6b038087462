/*
 * layers.h - the encoder's building blocks as plain forward/backward pairs
 * over flat row-major float arrays (llm.c style).  B = rows in the batch.
 *
 * Backward functions ACCUMULATE (+=) into parameter gradients (dW, db) and
 * OVERWRITE the input gradient (din); din may be NULL when not needed.
 */
#ifndef CWB_LAYERS_H
#define CWB_LAYERS_H

typedef enum {
    CWB_ACT_IDENTITY = 0,
    CWB_ACT_RELU,
    CWB_ACT_GELU,   /* tanh approximation, as GPT-2 / PyTorch approximate="tanh" */
    CWB_ACT_TANH,
} cwb_act;

/* "relu" -> CWB_ACT_RELU etc.; -1 for an unknown name. */
int cwb_act_from_name(const char *name);
const char *cwb_act_name(cwb_act act);

/* out[B x out_dim] = in[B x in_dim] @ W[in_dim x out_dim] + b[out_dim] */
void cwb_linear_forward(float *out, const float *in, const float *W,
                        const float *b, int B, int in_dim, int out_dim);
/* dW += in^T dout; db += colsum(dout); din = dout W^T */
void cwb_linear_backward(float *din, float *dW, float *db, const float *dout,
                         const float *in, const float *W, int B, int in_dim,
                         int out_dim);

/* Elementwise activation over n values; out may alias in. */
void cwb_act_forward(cwb_act act, float *out, const float *in, long n);
/* din = dout * act'(in); `out` is the forward output (used by tanh). */
void cwb_act_backward(cwb_act act, float *din, const float *dout,
                      const float *in, const float *out, long n);

/* Row-wise L2 normalisation: out_i = in_i / max(||in_i||, eps); norms[B]
 * keeps ||in_i|| for the backward pass. */
#define CWB_L2_EPS 1e-12f
void cwb_l2norm_forward(float *out, float *norms, const float *in, int B, int k);
/* din_i = (dout_i - out_i <out_i, dout_i>) / ||in_i|| */
void cwb_l2norm_backward(float *din, const float *dout, const float *out,
                         const float *norms, int B, int k);

#endif
