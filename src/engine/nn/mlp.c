/* mlp.c - an MLP encoder tower over flat parameter/gradient blocks (see mlp.h). */
#include "engine/nn/mlp.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows x columns of any one buffer must stay addressable by int-strided
 * BLAS calls and by size_t arithmetic without overflow. */
#define MLP_MAX_ELEMS ((size_t)1 << 31)

static int check_cfg(const cwb_mlp_cfg *cfg, int max_batch) {
    if (!cfg) return cwb_fail(CWB_EINVAL, "mlp: config is NULL");
    int L = cfg->n_layers;
    if (L < 1 || L > CWB_MLP_MAX_LAYERS)
        return cwb_fail(CWB_EINVAL, "mlp: n_layers=%d must be in 1..%d", L,
                        CWB_MLP_MAX_LAYERS);
    for (int l = 0; l <= L; l++)
        if (cfg->dims[l] < 1)
            return cwb_fail(CWB_EINVAL, "mlp: dims[%d]=%d must be positive", l,
                            cfg->dims[l]);
    if ((int)cfg->act < 0 || (int)cfg->act > CWB_ACT_TANH)
        return cwb_fail(CWB_EINVAL, "mlp: unknown activation %d", (int)cfg->act);
    if (max_batch < 1)
        return cwb_fail(CWB_EINVAL, "mlp: max_batch=%d must be >= 1", max_batch);
    size_t total = 0;
    for (int l = 0; l < L; l++) {
        size_t w = (size_t)cfg->dims[l] * (size_t)cfg->dims[l + 1];
        size_t acts = (size_t)max_batch * (size_t)cfg->dims[l + 1];
        if (w > MLP_MAX_ELEMS || acts > MLP_MAX_ELEMS)
            return cwb_fail(CWB_EINVAL, "mlp: layer %d (%d x %d, max_batch %d) is too large",
                            l, cfg->dims[l], cfg->dims[l + 1], max_batch);
        total += w + (size_t)cfg->dims[l + 1];
        if (total > MLP_MAX_ELEMS)
            return cwb_fail(CWB_EINVAL, "mlp: more than %zu parameters", MLP_MAX_ELEMS);
    }
    if ((size_t)max_batch * (size_t)cfg->dims[0] > MLP_MAX_ELEMS)
        return cwb_fail(CWB_EINVAL, "mlp: input %d x %d is too large", max_batch,
                        cfg->dims[0]);
    return CWB_OK;
}

void cwb_mlp_free(cwb_mlp *m) {
    if (!m) return;
    cwb_mem_free(&m->mem);   /* each buffer once, whatever aliases pre[] */
    free(m);
}

cwb_mlp *cwb_mlp_new(const cwb_mlp_cfg *cfg, int max_batch, cwb_rng *init) {
    if (check_cfg(cfg, max_batch) != CWB_OK) return NULL;
    if (!init) {
        cwb_fail(CWB_EINVAL, "mlp: initialisation rng is NULL");
        return NULL;
    }
    cwb_mlp *m = cwb_zalloc(sizeof *m, "mlp");
    if (!m) return NULL;
    m->cfg = *cfg;
    m->max_batch = max_batch;
    int L = cfg->n_layers;
    /* Unused tail of dims is zeroed so that a copied cfg compares equal. */
    for (int l = L + 1; l <= CWB_MLP_MAX_LAYERS; l++) m->cfg.dims[l] = 0;
    const int *d = m->cfg.dims;

    size_t np = 0;
    int widest = d[0];
    for (int l = 0; l < L; l++) {
        np += (size_t)d[l] * d[l + 1] + (size_t)d[l + 1];
        if (d[l + 1] > widest) widest = d[l + 1];
    }
    m->n_params = np;
    m->params = cwb_mem_floats(&m->mem, np);
    m->grads = cwb_mem_floats(&m->mem, np);
    for (int l = 0; l < L; l++) {
        size_t n = (size_t)max_batch * d[l + 1];
        m->pre[l] = cwb_mem_floats(&m->mem, n);
        /* The last linear layer has no activation after it. */
        m->post[l] = l == L - 1 ? m->pre[l] : cwb_mem_floats(&m->mem, n);
    }
    m->out = cfg->l2norm ? cwb_mem_floats(&m->mem, (size_t)max_batch * d[L]) : m->pre[L - 1];
    m->norms = cwb_mem_floats(&m->mem, (size_t)max_batch);
    m->scratch_a = cwb_mem_floats(&m->mem, (size_t)max_batch * widest);
    m->scratch_b = cwb_mem_floats(&m->mem, (size_t)max_batch * widest);
    if (cwb_mem_check(&m->mem, "mlp: out of memory for %zu parameters, max_batch %d", np, max_batch)) {
        cwb_mlp_free(m);
        return NULL;
    }

    /* Layout per layer: W[l] (d[l] x d[l+1], row-major) then b[l]. */
    size_t off = 0;
    for (int l = 0; l < L; l++) {
        m->W[l] = m->params + off;
        m->dW[l] = m->grads + off;
        off += (size_t)d[l] * d[l + 1];
        m->b[l] = m->params + off;
        m->db[l] = m->grads + off;
        off += (size_t)d[l + 1];
    }

    /* PyTorch's nn.Linear default: kaiming_uniform(a = sqrt 5) for W, which
     * is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for b. */
    for (int l = 0; l < L; l++) {
        float bound = (float)(1.0 / sqrt((double)d[l]));
        size_t nw = (size_t)d[l] * d[l + 1];
        for (size_t i = 0; i < nw; i++)
            m->W[l][i] = (float)((2.0 * cwb_rng_uniform(init) - 1.0) * bound);
        for (int j = 0; j < d[l + 1]; j++)
            m->b[l][j] = (float)((2.0 * cwb_rng_uniform(init) - 1.0) * bound);
    }
    m->last_in = NULL;
    m->last_B = 0;
    return m;
}

int cwb_mlp_forward(cwb_mlp *m, const float *x, int B, const float **out) {
    if (!m || !x) return cwb_fail(CWB_EINVAL, "mlp_forward: NULL %s", m ? "input" : "model");
    if (B < 1 || B > m->max_batch)
        return cwb_fail(CWB_EINVAL, "mlp_forward: B=%d rows outside 1..max_batch=%d", B,
                        m->max_batch);
    const int *d = m->cfg.dims;
    int L = m->cfg.n_layers;
    const float *h = x;
    for (int l = 0; l < L; l++) {
        cwb_linear_forward(m->pre[l], h, m->W[l], m->b[l], B, d[l], d[l + 1]);
        if (l < L - 1)
            cwb_act_forward(m->cfg.act, m->post[l], m->pre[l], (long)B * d[l + 1]);
        h = m->post[l];
    }
    if (m->cfg.l2norm) cwb_l2norm_forward(m->out, m->norms, h, B, d[L]);
    m->last_in = x;
    m->last_B = B;
    if (out) *out = m->out;
    return CWB_OK;
}

int cwb_mlp_backward(cwb_mlp *m, const float *dout, float *dx) {
    if (!m || !dout)
        return cwb_fail(CWB_EINVAL, "mlp_backward: NULL %s", m ? "output gradient" : "model");
    if (m->last_B < 1 || !m->last_in)
        return cwb_fail(CWB_ESTATE, "mlp_backward: no forward pass to differentiate");
    const int *d = m->cfg.dims;
    int L = m->cfg.n_layers, B = m->last_B;
    /* g is the gradient w.r.t. the current layer's output; it ping-pongs
     * between the two scratch buffers so no step allocates. */
    const float *g = dout;
    float *cur = m->scratch_a, *next = m->scratch_b;
    if (m->cfg.l2norm) {
        cwb_l2norm_backward(cur, dout, m->out, m->norms, B, d[L]);
        g = cur;
    }
    for (int l = L - 1; l >= 0; l--) {
        if (l < L - 1) {
            /* g lives in `cur` here (it came from the layer above), so the
             * activation's backward may overwrite it in place. */
            cwb_act_backward(m->cfg.act, cur, g, m->pre[l], m->post[l],
                             (long)B * d[l + 1]);
            g = cur;
        }
        const float *in = l ? m->post[l - 1] : m->last_in;
        float *din = l ? next : dx;
        cwb_linear_backward(din, m->dW[l], m->db[l], g, in, m->W[l], B, d[l],
                            d[l + 1]);
        if (l) {
            g = next;
            float *t = cur;
            cur = next;
            next = t;
        }
    }
    return CWB_OK;
}

void cwb_mlp_zero_grad(cwb_mlp *m) {
    if (m) memset(m->grads, 0, m->n_params * sizeof(float));
}
