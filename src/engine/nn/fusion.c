/*
 * fusion.c - fusion MLP with an image-text matching head (fusion.h).
 *
 * Both tasks reduce to one routine, fused_bce: gather the rows [a_ia, b_ib]
 * of a list of pairs, run the MLP to a logit, take the binary cross-entropy
 * softplus(l) - y l (gradient sigmoid(l) - y), and scatter-add the input
 * gradient back to the a and b rows each pair came from.  ITM is that
 * routine over the positive pairs and the two kinds of hard negatives.
 */
#include "engine/nn/fusion.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

cwb_fusion_cfg cwb_fusion_defaults(void) {
    cwb_fusion_cfg c;
    c.dim_a = 0;
    c.dim_b = 0;
    c.hidden = 64;
    c.layers = 2;
    c.act = CWB_ACT_RELU;
    return c;
}

void cwb_fusion_free(cwb_fusion *f) {
    if (!f) return;
    cwb_mlp_free(f->mlp);
    cwb_mem_free(&f->mem);
    free(f);
}

cwb_fusion *cwb_fusion_new(const cwb_fusion_cfg *cfg, int max_batch, cwb_rng *init) {
    const char *fn = "cwb_fusion_new";
    if (!cfg || !init) {
        cwb_fail(CWB_EINVAL, "%s: NULL %s", fn, !cfg ? "config" : "rng");
        return NULL;
    }
    if (cfg->dim_a < 1 || cfg->dim_b < 1 || cfg->hidden < 1) {
        cwb_fail(CWB_EINVAL, "%s: dim_a = %d, dim_b = %d, hidden = %d must be >= 1", fn,
                 cfg->dim_a, cfg->dim_b, cfg->hidden);
        return NULL;
    }
    if (cfg->layers < 1 || cfg->layers > CWB_MLP_MAX_LAYERS) {
        cwb_fail(CWB_EINVAL, "%s: layers = %d outside 1..%d", fn, cfg->layers, CWB_MLP_MAX_LAYERS);
        return NULL;
    }
    if (max_batch < 1 || max_batch > 0x7fffffff / 3 ||
        (long long)max_batch * max_batch > 0x7fffffffLL) {
        cwb_fail(CWB_EINVAL, "%s: max_batch = %d out of range", fn, max_batch);
        return NULL;
    }
    cwb_mlp_cfg mc;
    memset(&mc, 0, sizeof mc);
    mc.n_layers = cfg->layers;
    mc.dims[0] = cfg->dim_a + cfg->dim_b;
    for (int l = 1; l < cfg->layers; l++) mc.dims[l] = cfg->hidden;
    mc.dims[cfg->layers] = 1;
    mc.act = cfg->act;
    mc.l2norm = 0;

    cwb_fusion *f = cwb_zalloc(sizeof *f, "%s", fn);
    if (!f) return NULL;
    f->cfg = *cfg;
    f->max_batch = max_batch;
    const int rows = 3 * max_batch, w = cfg->dim_a + cfg->dim_b;
    if (!(f->mlp = cwb_mlp_new(&mc, rows, init))) {
        cwb_fusion_free(f);
        return NULL; /* the mlp said why */
    }
    f->x = cwb_mem_floats(&f->mem, (size_t)rows * w);
    f->dx = cwb_mem_floats(&f->mem, (size_t)rows * w);
    f->dlogit = cwb_mem_floats(&f->mem, (size_t)rows);
    f->sim = cwb_mem_floats(&f->mem, (size_t)max_batch * max_batch);
    f->ia = cwb_mem_zeroed(&f->mem, (size_t)rows, sizeof(int));
    f->ib = cwb_mem_zeroed(&f->mem, (size_t)rows, sizeof(int));
    f->lab = cwb_mem_zeroed(&f->mem, (size_t)rows, sizeof(int));
    f->p = cwb_mem_zeroed(&f->mem, (size_t)max_batch, sizeof(double));
    if (cwb_mem_check(&f->mem, "%s: out of memory (max_batch = %d)", fn, max_batch)) {
        cwb_fusion_free(f);
        return NULL;
    }
    return f;
}

/* Fill the fused input rows from the (ia, ib) lists. */
static void gather(cwb_fusion *f, const float *a, const float *b, int n) {
    const int ka = f->cfg.dim_a, kb = f->cfg.dim_b, w = ka + kb;
    for (int r = 0; r < n; r++) {
        float *x = f->x + (size_t)r * w;
        memcpy(x, a + (size_t)f->ia[r] * ka, (size_t)ka * sizeof(float));
        memcpy(x + ka, b + (size_t)f->ib[r] * kb, (size_t)kb * sizeof(float));
    }
}

static int fused_bce(cwb_fusion *f, const float *a, const float *b, int n, float weight,
                     cwb_fusion_out *out, float *da, float *db) {
    gather(f, a, b, n);
    const float *logit;
    int rc = cwb_mlp_forward(f->mlp, f->x, n, &logit);
    if (rc) return rc;
    double L = 0;
    long hit = 0;
    for (int r = 0; r < n; r++) {
        double l = logit[r], y = f->lab[r];
        /* softplus(l) = max(l, 0) + log1p(exp(-|l|)), stable for any l. */
        L += (l > 0 ? l : 0) + log1p(exp(-fabs(l))) - y * l;
        double sg = l >= 0 ? 1.0 / (1.0 + exp(-l)) : exp(l) / (1.0 + exp(l));
        f->dlogit[r] = (float)(weight * (sg - y) / n);
        hit += (l > 0) == (f->lab[r] == 1);
    }
    if (!isfinite(L)) return cwb_fail(CWB_ENAN, "fusion: the cross-entropy is not finite");
    if (out) {
        out->loss = L / n;
        out->acc = (double)hit / n;
    }
    if ((rc = cwb_mlp_backward(f->mlp, f->dlogit, (da || db) ? f->dx : NULL))) return rc;
    const int ka = f->cfg.dim_a, kb = f->cfg.dim_b, w = ka + kb;
    for (int r = 0; r < n && (da || db); r++) {
        const float *g = f->dx + (size_t)r * w;
        if (da) {
            float *d = da + (size_t)f->ia[r] * ka;
            for (int q = 0; q < ka; q++) d[q] += g[q];
        }
        if (db) {
            float *d = db + (size_t)f->ib[r] * kb;
            for (int q = 0; q < kb; q++) d[q] += g[ka + q];
        }
    }
    return CWB_OK;
}

static int check_pairs(const char *fn, const cwb_fusion *f, const float *a, const float *b,
                       int n, int max_rows) {
    if (!f || !a || !b) return cwb_fail(CWB_EINVAL, "%s: NULL %s", fn, !f ? "model" : !a ? "a" : "b");
    if (n < 1 || n > max_rows)
        return cwb_fail(CWB_EINVAL, "%s: %d pairs outside 1..%d", fn, n, max_rows);
    if (cwb_has_nonfinite(a, (size_t)n * f->cfg.dim_a) || cwb_has_nonfinite(b, (size_t)n * f->cfg.dim_b))
        return cwb_fail(CWB_ENAN, "%s: NaN or Inf in the embeddings", fn);
    return CWB_OK;
}

int cwb_fusion_logits(cwb_fusion *f, const float *a, const float *b, int n, float *out) {
    int rc = check_pairs("cwb_fusion_logits", f, a, b, n, f ? 3 * f->max_batch : 0);
    if (rc) return rc;
    if (!out) return cwb_fail(CWB_EINVAL, "cwb_fusion_logits: NULL output");
    for (int r = 0; r < n; r++) f->ia[r] = f->ib[r] = r;
    gather(f, a, b, n);
    const float *logit;
    if ((rc = cwb_mlp_forward(f->mlp, f->x, n, &logit))) return rc;
    memcpy(out, logit, (size_t)n * sizeof(float));
    return CWB_OK;
}

int cwb_fusion_bce(cwb_fusion *f, const float *a, const float *b, const int *y, int n,
                   float weight, cwb_fusion_out *out, float *da, float *db) {
    const char *fn = "cwb_fusion_bce";
    int rc = check_pairs(fn, f, a, b, n, f ? 3 * f->max_batch : 0);
    if (rc) return rc;
    if (!y) return cwb_fail(CWB_EINVAL, "%s: NULL targets", fn);
    if (!isfinite(weight)) return cwb_fail(CWB_EINVAL, "%s: weight = %g is not finite", fn, (double)weight);
    for (int r = 0; r < n; r++) {
        if (y[r] != 0 && y[r] != 1) return cwb_fail(CWB_EINVAL, "%s: y[%d] = %d is not 0 or 1", fn, r, y[r]);
        f->ia[r] = f->ib[r] = r;
        f->lab[r] = y[r];
    }
    return fused_bce(f, a, b, n, weight, out, da, db);
}

int cwb_fusion_hard_negatives(cwb_fusion *f, const float *a, const float *b, int B,
                              float scale, cwb_rng *r, int *neg_b, int *neg_a) {
    const char *fn = "cwb_fusion_hard_negatives";
    int rc = check_pairs(fn, f, a, b, B, f ? f->max_batch : 0);
    if (rc) return rc;
    if (!r || !neg_b || !neg_a) return cwb_fail(CWB_EINVAL, "%s: NULL rng or output", fn);
    if (B < 2) return cwb_fail(CWB_EINVAL, "%s: B = %d, hard negatives need B >= 2", fn, B);
    if (f->cfg.dim_a != f->cfg.dim_b)
        return cwb_fail(CWB_EINVAL, "%s: dim_a = %d != dim_b = %d, no shared similarity", fn,
                        f->cfg.dim_a, f->cfg.dim_b);
    if (!(scale >= 0) || !isfinite(scale))
        return cwb_fail(CWB_EINVAL, "%s: scale = %g, must be finite and >= 0", fn, (double)scale);
    const int k = f->cfg.dim_a;
    cwb_gemm(0, 1, B, B, k, 1.0f, a, k, b, k, 0.0f, f->sim, B);
    /* Direction 0 reads row i of sim (a_i against every b_j), direction 1
     * column i (b_i against every a_j). */
    for (int dir = 0; dir < 2; dir++) {
        int *neg = dir ? neg_a : neg_b;
        for (int i = 0; i < B; i++) {
            double mx = -INFINITY;
            for (int j = 0; j < B; j++) {
                if (j == i) continue;
                double s = scale * (dir ? f->sim[(size_t)j * B + i] : f->sim[(size_t)i * B + j]);
                f->p[j] = s;
                if (s > mx) mx = s;
            }
            double tot = 0;
            for (int j = 0; j < B; j++) {
                f->p[j] = j == i ? 0.0 : exp(f->p[j] - mx);
                tot += f->p[j];
            }
            double u = cwb_rng_uniform(r) * tot, acc = 0;
            int pick = i ? 0 : 1;   /* falls back to any j != i on rounding */
            for (int j = 0; j < B; j++) {
                if (j == i) continue;
                acc += f->p[j];
                pick = j;
                if (u < acc) break;
            }
            neg[i] = pick;
        }
    }
    return CWB_OK;
}

int cwb_fusion_itm(cwb_fusion *f, const float *a, const float *b, int B, const int *neg_b,
                   const int *neg_a, float weight, cwb_fusion_out *out, float *da, float *db) {
    const char *fn = "cwb_fusion_itm";
    int rc = check_pairs(fn, f, a, b, B, f ? f->max_batch : 0);
    if (rc) return rc;
    if (!neg_b || !neg_a) return cwb_fail(CWB_EINVAL, "%s: NULL negative indices", fn);
    if (!isfinite(weight)) return cwb_fail(CWB_EINVAL, "%s: weight = %g is not finite", fn, (double)weight);
    for (int i = 0; i < B; i++) {
        if (neg_b[i] < 0 || neg_b[i] >= B || neg_a[i] < 0 || neg_a[i] >= B)
            return cwb_fail(CWB_EINVAL, "%s: negative index for row %d (%d, %d) outside 0..%d", fn, i,
                            neg_b[i], neg_a[i], B - 1);
        f->ia[i] = i, f->ib[i] = i, f->lab[i] = 1;
        f->ia[B + i] = i, f->ib[B + i] = neg_b[i], f->lab[B + i] = 0;
        f->ia[2 * B + i] = neg_a[i], f->ib[2 * B + i] = i, f->lab[2 * B + i] = 0;
    }
    return fused_bce(f, a, b, 3 * B, weight, out, da, db);
}
