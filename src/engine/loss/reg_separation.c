/*
 * reg_separation.c - deep feature separation [P2] (methods.md
 * "Modality-structure regularisers", 1), and the workspace that the three
 * regularisers share (reg.h).
 *
 * The independent head's feature zi is pushed to be orthogonal to the shared
 * feature z (L_Ortho), to keep what an augmentation does not change inside
 * one modality (L^i_Con), and to spread over the sphere (L^i_Uni), so that
 * modality-specific information the contrastive alignment throws away can
 * survive in zi.
 */
#include "engine/loss/reg.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cwb_reg_free(cwb_reg *w) {
    if (!w) return;
    cwb_mem_free(&w->mem);
    cwb_loss_free(w->nce);
    free(w);
}

cwb_reg *cwb_reg_new(int max_batch, int dim) {
    if (max_batch < 2 || dim < 1) {
        cwb_fail(CWB_EINVAL, "cwb_reg_new: max_batch = %d (need >= 2), dim = %d (need >= 1)",
                 max_batch, dim);
        return NULL;
    }
    if ((long long)max_batch * max_batch > 0x7fffffffLL || (long long)max_batch * dim > 0x7fffffffLL) {
        cwb_fail(CWB_EINVAL, "cwb_reg_new: max_batch = %d, dim = %d is too large", max_batch, dim);
        return NULL;
    }
    cwb_reg *w = cwb_zalloc(sizeof *w, "cwb_reg_new");
    if (!w) return NULL;
    w->max_batch = max_batch;
    w->dim = dim;
    for (int i = 0; i < 6; i++) w->m[i] = cwb_mem_floats(&w->mem, (size_t)max_batch * max_batch);
    w->da = cwb_mem_floats(&w->mem, (size_t)max_batch * dim);
    w->db = cwb_mem_floats(&w->mem, (size_t)max_batch * dim);
    w->rowd = cwb_mem_zeroed(&w->mem, (size_t)max_batch, sizeof(double));
    if (cwb_mem_check(&w->mem, "cwb_reg_new: out of memory for max_batch = %d, dim = %d", max_batch, dim)) {
        cwb_reg_free(w);
        return NULL;
    }
    cwb_loss_cfg lc = cwb_loss_defaults(CWB_LOSS_INFONCE);
    w->nce = cwb_loss_new(&lc, max_batch, dim, 0);
    if (!w->nce) {
        cwb_reg_free(w);
        return NULL; /* the loss said why */
    }
    return w;
}

int cwb_reg_validate(const char *fn, const cwb_reg *w, int B, int k, int min_batch,
                     float weight, const float *const *in, const char *const *names, int n) {
    if (!w) return cwb_fail(CWB_EINVAL, "%s: workspace is NULL", fn);
    for (int i = 0; i < n; i++)
        if (!in[i]) return cwb_fail(CWB_EINVAL, "%s: input %s is NULL", fn, names[i]);
    if (B < min_batch || B > w->max_batch)
        return cwb_fail(CWB_EINVAL, "%s: B = %d outside %d..max_batch = %d", fn, B, min_batch,
                        w->max_batch);
    if (k != w->dim) return cwb_fail(CWB_EINVAL, "%s: k = %d but the workspace has dim %d", fn, k, w->dim);
    if (!isfinite(weight)) return cwb_fail(CWB_EINVAL, "%s: weight = %g is not finite", fn, (double)weight);
    for (int i = 0; i < n; i++)
        if (cwb_has_nonfinite(in[i], (size_t)B * k))
            return cwb_fail(CWB_ENAN, "%s: input %s has a NaN or Inf", fn, names[i]);
    return CWB_OK;
}

static double dot(const float *x, const float *y, int k) {
    double s = 0;
    for (int j = 0; j < k; j++) s += (double)x[j] * y[j];
    return s;
}

static void axpy(float *y, double a, const float *x, int k) {
    if (!y) return;
    for (int j = 0; j < k; j++) y[j] += (float)(a * x[j]);
}

/* G = exp(-2 ||u_j - u_k||^2) of the rows of u into g (B x B), from the Gram
 * matrix (||u_j - u_k||^2 = n_j + n_k - 2 <u_j, u_k>); returns sum_jk G. */
static double gauss_kernel(cwb_reg *w, const float *u, int B, int k, float *g) {
    cwb_gemm(0, 1, B, B, k, 1.0f, u, k, u, k, 0.0f, g, B);
    double *nrm = w->rowd;
    for (int j = 0; j < B; j++) nrm[j] = g[(size_t)j * B + j];
    double s = 0;
    for (int j = 0; j < B; j++)
        for (int q = 0; q < B; q++) {
            double d2 = nrm[j] + nrm[q] - 2.0 * g[(size_t)j * B + q];
            if (d2 < 0) d2 = 0; /* rounding; the true value is >= 0 */
            float e = (float)exp(-2.0 * d2);
            g[(size_t)j * B + q] = e;
            s += e;
        }
    return s;
}

/* grad_j += c (rowsum_j(G) u_j - (G u)_j): dS/du_j = -8 sum_k G_jk (u_j - u_k)
 * for S = sum_jk G_jk (each pair counted as (j,k) and (k,j)), so c = -8 a. */
static void gauss_grad(cwb_reg *w, const float *u, const float *g, int B, int k, double c,
                       float *grad) {
    if (!grad) return;
    cwb_gemm(0, 0, B, k, B, 1.0f, g, B, u, k, 0.0f, w->da, k);
    for (int j = 0; j < B; j++) {
        double rs = 0;
        for (int q = 0; q < B; q++) rs += g[(size_t)j * B + q];
        const float *uj = u + (size_t)j * k, *gu = w->da + (size_t)j * k;
        float *gj = grad + (size_t)j * k;
        for (int t = 0; t < k; t++) gj[t] += (float)(c * (rs * uj[t] - gu[t]));
    }
}

/* One direction InfoNCE(p -> q) at `scale`, its gradients added to gp, gq. */
static int nce_term(cwb_reg *w, const float *p, const float *q, int B, int k, float scale,
                    float weight, double *value, float *gp, float *gq) {
    cwb_loss_out lo;
    int rc = cwb_loss_eval(w->nce, p, q, B, k, NULL, NULL, scale, &lo, w->da, w->db);
    if (rc) return rc;
    *value = lo.value;
    size_t n = (size_t)B * k;
    if (gp)
        for (size_t t = 0; t < n; t++) gp[t] += weight * w->da[t];
    if (gq)
        for (size_t t = 0; t < n; t++) gq[t] += weight * w->db[t];
    return CWB_OK;
}

int cwb_reg_separation(cwb_reg *w, const float *zv, const float *ziv, const float *ziva,
                       const float *zt, const float *zit, const float *zita, int B, int k,
                       float scale, float weight, cwb_sep_out *out,
                       float *gzv, float *gziv, float *gziva,
                       float *gzt, float *gzit, float *gzita) {
    static const char *const names[6] = {"zv", "ziv", "ziva", "zt", "zit", "zita"};
    const float *in[6] = {zv, ziv, ziva, zt, zit, zita};
    const char *fn = "cwb_reg_separation";
    int rc = cwb_reg_validate(fn, w, B, k, 2, weight, in, names, 6);
    if (rc) return rc;
    if (!(scale > 0) || !isfinite(scale))
        return cwb_fail(CWB_EINVAL, "%s: scale = %g, must be finite and > 0", fn, (double)scale);

    /* L^i_Con first: it is the only part that can fail after validation, and
     * nothing must have been added to the gradients if it does. */
    double cv, ct;
    if ((rc = nce_term(w, ziv, ziva, B, k, scale, weight, &cv, gziv, gziva))) return rc;
    if ((rc = nce_term(w, zit, zita, B, k, scale, weight, &ct, gzit, gzita))) return rc;

    /* L_Ortho: d/dz_j (1/B) <z_j, zi_j>^2 = (2/B) <z_j, zi_j> zi_j, and symmetrically. */
    double ortho = 0;
    for (int j = 0; j < B; j++) {
        size_t o = (size_t)j * k;
        double pv = dot(zv + o, ziv + o, k), pt = dot(zt + o, zit + o, k);
        ortho += pv * pv + pt * pt;
        double cvj = weight * 2.0 * pv / B, ctj = weight * 2.0 * pt / B;
        axpy(gzv ? gzv + o : NULL, cvj, ziv + o, k);
        axpy(gziv ? gziv + o : NULL, cvj, zv + o, k);
        axpy(gzt ? gzt + o : NULL, ctj, zit + o, k);
        axpy(gzit ? gzit + o : NULL, ctj, zt + o, k);
    }
    ortho /= B;

    /* L^i_Uni = log(S / B), S = S_V + S_T: both modalities share one log, so
     * each gets the factor 1/S of the sum. */
    double sv = gauss_kernel(w, ziv, B, k, w->m[0]);
    double st = gauss_kernel(w, zit, B, k, w->m[1]);
    double S = sv + st;
    double uni = log(S / B);
    gauss_grad(w, ziv, w->m[0], B, k, -8.0 * weight / S, gziv);
    gauss_grad(w, zit, w->m[1], B, k, -8.0 * weight / S, gzit);

    if (out) {
        out->ortho = ortho;
        out->con = cv + ct;
        out->uni = uni;
        out->total = ortho + cv + ct + uni;
    }
    return CWB_OK;
}
