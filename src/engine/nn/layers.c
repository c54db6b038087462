/* layers.c - linear, activations and row-wise L2 normalisation (see layers.h). */
#include "engine/nn/layers.h"
#include "engine/core/tensor.h"
#include "engine/core/vexp.h"

#include <math.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* ---- linear ------------------------------------------------------------- */

void cwb_linear_forward(float *out, const float *in, const float *W,
                        const float *b, int B, int in_dim, int out_dim) {
    /* Seed every row with the bias so that one sgemm with beta = 1 adds the
     * product on top of it. */
    for (int i = 0; i < B; i++) {
        float *row = out + (size_t)i * out_dim;
        if (b) memcpy(row, b, (size_t)out_dim * sizeof *row);
        else memset(row, 0, (size_t)out_dim * sizeof *row);
    }
    cwb_gemm(0, 0, B, out_dim, in_dim, 1.0f, in, in_dim, W, out_dim, 1.0f, out,
             out_dim);
}

void cwb_linear_backward(float *din, float *dW, float *db, const float *dout,
                         const float *in, const float *W, int B, int in_dim,
                         int out_dim) {
    if (dW) /* dW += in^T dout */
        cwb_gemm(1, 0, in_dim, out_dim, B, 1.0f, in, in_dim, dout, out_dim,
                 1.0f, dW, out_dim);
    if (db)
        for (int i = 0; i < B; i++) {
            const float *row = dout + (size_t)i * out_dim;
            int j = 0;
            for (; j + 4 <= out_dim; j += 4)
                cwb_v4f_store(db + j, cwb_v4f_load(db + j) + cwb_v4f_load(row + j));
            for (; j < out_dim; j++) db[j] += row[j];
        }
    if (din) /* din = dout W^T */
        cwb_gemm(0, 1, B, in_dim, out_dim, 1.0f, dout, out_dim, W, out_dim,
                 0.0f, din, in_dim);
}

/* ---- activations -------------------------------------------------------- */

static const char *const act_names[] = {"identity", "relu", "gelu", "tanh"};

int cwb_act_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < (int)(sizeof act_names / sizeof act_names[0]); i++)
        if (strcasecmp(name, act_names[i]) == 0) return i;
    if (strcasecmp(name, "none") == 0 || strcasecmp(name, "linear") == 0)
        return CWB_ACT_IDENTITY;
    return -1;
}

const char *cwb_act_name(cwb_act act) {
    if ((int)act < 0 || (int)act >= (int)(sizeof act_names / sizeof act_names[0]))
        return "unknown";
    return act_names[act];
}

/* GELU, tanh approximation: 0.5 x (1 + tanh(c (x + 0.044715 x^3))),
 * c = sqrt(2/pi) (Hendrycks & Gimpel; PyTorch approximate="tanh"). */
#define GELU_C 0.7978845608028654f
#define GELU_A 0.044715f

void cwb_act_forward(cwb_act act, float *out, const float *in, long n) {
    switch (act) {
    case CWB_ACT_RELU: {
        /* Branch-free: a data-dependent branch here mispredicts half the time.
         * A NaN passes through (v != v), as in PyTorch, so that a corrupted
         * weight shows up in the loss instead of being silently zeroed. */
        const cwb_v4f z = cwb_v4f_set1(0.0f);
        long i = 0;
        for (; i + 4 <= n; i += 4) {
            cwb_v4f v = cwb_v4f_load(in + i);
            cwb_v4f_store(out + i, (cwb_v4f)(((v > z) | (v != v)) & (cwb_v4i)v));
        }
        for (; i < n; i++) out[i] = (in[i] > 0.0f || in[i] != in[i]) ? in[i] : 0.0f;
        break;
    }
    case CWB_ACT_GELU:
        for (long i = 0; i < n; i++) {
            float x = in[i];
            out[i] = 0.5f * x * (1.0f + tanhf(GELU_C * (x + GELU_A * x * x * x)));
        }
        break;
    case CWB_ACT_TANH:
        for (long i = 0; i < n; i++) out[i] = tanhf(in[i]);
        break;
    case CWB_ACT_IDENTITY:
    default:
        if (out != in)
            for (long i = 0; i < n; i++) out[i] = in[i];
        break;
    }
}

void cwb_act_backward(cwb_act act, float *din, const float *dout,
                      const float *in, const float *out, long n) {
    /* Each element reads dout[i] before writing din[i], so din may alias dout. */
    switch (act) {
    case CWB_ACT_RELU: {
        /* The subgradient at 0 is taken as 0, as PyTorch does. */
        const cwb_v4f z = cwb_v4f_set1(0.0f);
        long i = 0;
        for (; i + 4 <= n; i += 4) {
            cwb_v4f v = cwb_v4f_load(in + i), g = cwb_v4f_load(dout + i);
            cwb_v4f_store(din + i, (cwb_v4f)((v > z) & (cwb_v4i)g));
        }
        for (; i < n; i++) din[i] = in[i] > 0.0f ? dout[i] : 0.0f;
        break;
    }
    case CWB_ACT_GELU:
        for (long i = 0; i < n; i++) {
            float x = in[i], x2 = x * x;
            float t = tanhf(GELU_C * (x + GELU_A * x2 * x));
            float dt = GELU_C * (1.0f + 3.0f * GELU_A * x2) * (1.0f - t * t);
            din[i] = dout[i] * (0.5f * (1.0f + t) + 0.5f * x * dt);
        }
        break;
    case CWB_ACT_TANH:
        /* tanh' = 1 - tanh^2, from the cached output: no second tanh. */
        for (long i = 0; i < n; i++) {
            float y = out ? out[i] : tanhf(in[i]);
            din[i] = dout[i] * (1.0f - y * y);
        }
        break;
    case CWB_ACT_IDENTITY:
    default:
        if (din != dout)
            for (long i = 0; i < n; i++) din[i] = dout[i];
        break;
    }
}

/* ---- row-wise L2 normalisation ------------------------------------------ */

/* sum_j x_j y_j over k floats: eight float partial sums (two vectors), then
 * combined in double; each partial sum has k/8 terms, so float is ample. */
static double dot_k(const float *x, const float *y, int k) {
    cwb_v4f a0 = cwb_v4f_set1(0.0f), a1 = a0;
    int j = 0;
    for (; j + 8 <= k; j += 8) {
        a0 += cwb_v4f_load(x + j) * cwb_v4f_load(y + j);
        a1 += cwb_v4f_load(x + j + 4) * cwb_v4f_load(y + j + 4);
    }
    double s = 0;
    for (int l = 0; l < 4; l++) s += (double)a0[l] + (double)a1[l];
    for (; j < k; j++) s += (double)x[j] * y[j];
    return s;
}

void cwb_l2norm_forward(float *out, float *norms, const float *in, int B, int k) {
    for (int i = 0; i < B; i++) {
        const float *x = in + (size_t)i * k;
        float *y = out + (size_t)i * k;
        float nrm = (float)sqrt(dot_k(x, x, k));
        /* Clamp the divisor, not the stored norm: the backward pass needs to
         * know the row fell below eps (F.normalize's convention). */
        float inv = 1.0f / (nrm > CWB_L2_EPS ? nrm : CWB_L2_EPS);
        for (int j = 0; j < k; j++) y[j] = x[j] * inv;
        if (norms) norms[i] = nrm;
    }
}

void cwb_l2norm_backward(float *din, const float *dout, const float *out,
                         const float *norms, int B, int k) {
    for (int i = 0; i < B; i++) {
        const float *g = dout + (size_t)i * k;
        const float *y = out + (size_t)i * k;
        float *d = din + (size_t)i * k;
        float nrm = norms[i];
        if (!(nrm > CWB_L2_EPS)) {
            /* Below eps the map is in / eps, a plain scaling. */
            for (int j = 0; j < k; j++) d[j] = g[j] / CWB_L2_EPS;
            continue;
        }
        /* Jacobian of x/||x||: (I - y y^T) / ||x||; the dot product is taken
         * before any write, so din may alias dout. */
        float fdot = (float)dot_k(y, g, k), inv = 1.0f / nrm;
        for (int j = 0; j < k; j++) d[j] = (g[j] - y[j] * fdot) * inv;
    }
}
