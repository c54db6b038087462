/*
 * mmdata.c - the two-modality generator with an information gap (mmdata.h,
 * docs/multimodal.md).
 *
 * Draw order is fixed and independent of `gap`: class centres (shared, then
 * V-private), the V map, the T map, the question matrix P, labels, latent
 * noise, observation noise.  The gap only rescales the centres (a, b), so a
 * sweep over it compares data sets that differ in nothing else.
 */
#include "engine/data/mmdata.h"
#include "engine/core/error.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Gain of the first layer of the random maps: with the default latent sizes
 * the pre-activations have a std near 1, tanh's bend, so the map is clearly
 * nonlinear without saturating (saturation would destroy information and
 * make the Bayes estimates on the latents loose). */
#define MAP_GAIN 1.5
#define MAP_BIAS_STD 0.25f

cwb_mm_cfg cwb_mm_defaults(void) {
    cwb_mm_cfg c;
    c.n_train = 2000;
    c.n_test = 1000;
    c.classes = 10;
    c.shared_dim = 8;
    c.v_private_dim = 8;
    c.t_private_dim = 4;
    c.v_dim = 48;
    c.t_dim = 32;
    c.hidden = 64;
    c.gap = 0.0f;
    c.signal = 1.6f;
    c.spread = 0.5f;
    c.v_noise = 0.05f;
    c.t_noise = 0.05f;
    return c;
}

static int check_cfg(const cwb_mm_cfg *c) {
    const char *fn = "cwb_mm_data_new";
    if (!c) return cwb_fail(CWB_EINVAL, "%s: config is NULL", fn);
    if (c->n_train < 1 || c->n_test < 1)
        return cwb_fail(CWB_EINVAL, "%s: n_train = %d, n_test = %d, each must be >= 1", fn,
                        c->n_train, c->n_test);
    if (c->classes < 2) return cwb_fail(CWB_EINVAL, "%s: classes = %d, need at least 2", fn, c->classes);
    if (c->shared_dim < 1 || c->v_private_dim < 1 || c->t_private_dim < 1)
        return cwb_fail(CWB_EINVAL, "%s: latent dims shared %d, v_private %d, t_private %d must be >= 1",
                        fn, c->shared_dim, c->v_private_dim, c->t_private_dim);
    if (c->v_dim < 1 || c->t_dim < 1 || c->hidden < 1)
        return cwb_fail(CWB_EINVAL, "%s: v_dim %d, t_dim %d, hidden %d must be >= 1", fn, c->v_dim,
                        c->t_dim, c->hidden);
    if (!(c->gap >= 0 && c->gap <= 1))
        return cwb_fail(CWB_EINVAL, "%s: gap = %g, must be in [0, 1]", fn, (double)c->gap);
    if (!(c->signal > 0) || !isfinite(c->signal))
        return cwb_fail(CWB_EINVAL, "%s: signal = %g, must be finite and > 0", fn, (double)c->signal);
    if (!(c->spread > 0) || !isfinite(c->spread))
        return cwb_fail(CWB_EINVAL, "%s: spread = %g, must be finite and > 0", fn, (double)c->spread);
    if (!(c->v_noise >= 0) || !isfinite(c->v_noise) || !(c->t_noise >= 0) || !isfinite(c->t_noise))
        return cwb_fail(CWB_EINVAL, "%s: v_noise = %g, t_noise = %g, must be finite and >= 0", fn,
                        (double)c->v_noise, (double)c->t_noise);
    long long n = (long long)c->n_train + c->n_test;
    int wide = c->v_dim > c->t_dim ? c->v_dim : c->t_dim;
    if (wide < c->hidden) wide = c->hidden;
    if (n > 0x7fffffffLL || n * wide > 0x7fffffffLL)
        return cwb_fail(CWB_EINVAL, "%s: %lld samples x %d columns is too large", fn, n, wide);
    return CWB_OK;
}

void cwb_mm_data_free(cwb_mm_data *d) {
    if (!d) return;
    cwb_tensor_free(d->xv);
    cwb_tensor_free(d->xt);
    cwb_tensor_free(d->latent);
    cwb_tensor_free(d->captions);
    free(d->labels);
    free(d->question);
    free(d);
}

/* A random two-layer tanh network f(z) = W2 tanh(W1 z + b1). */
typedef struct {
    int in, hid, out;
    float *W1, *b1, *W2;   /* hid x in, hid, out x hid */
} rand_map;

static int map_draw(rand_map *f, int in, int hid, int out, cwb_rng *r) {
    f->in = in, f->hid = hid, f->out = out;
    f->W1 = cwb_alloc((size_t)hid * in);
    f->b1 = cwb_alloc((size_t)hid);
    f->W2 = cwb_alloc((size_t)out * hid);
    if (!f->W1 || !f->b1 || !f->W2) return CWB_ENOMEM;
    cwb_rng_fill_normal(r, f->W1, (long)hid * in, 0.0f, (float)(MAP_GAIN / sqrt((double)in)));
    cwb_rng_fill_normal(r, f->b1, hid, 0.0f, MAP_BIAS_STD);
    cwb_rng_fill_normal(r, f->W2, (long)out * hid, 0.0f, (float)(1.0 / sqrt((double)hid)));
    return CWB_OK;
}

static void map_release(rand_map *f) {
    cwb_free(f->W1);
    cwb_free(f->b1);
    cwb_free(f->W2);
}

/* out[n x out] = f(z[n x in]); h is n x hid scratch. */
static void map_apply(const rand_map *f, const float *z, int n, float *h, float *out) {
    for (int i = 0; i < n; i++) memcpy(h + (size_t)i * f->hid, f->b1, (size_t)f->hid * sizeof(float));
    cwb_gemm(0, 1, n, f->hid, f->in, 1.0f, z, f->in, f->W1, f->in, 1.0f, h, f->hid);
    for (size_t t = 0; t < (size_t)n * f->hid; t++) h[t] = tanhf(h[t]);
    cwb_gemm(0, 1, n, f->out, f->hid, 1.0f, h, f->hid, f->W2, f->hid, 0.0f, out, f->out);
}

static void unit_normal(cwb_rng *r, float *v, int m) {
    double s;
    do {
        cwb_rng_fill_normal(r, v, m, 0.0f, 1.0f);
        s = cwb_sumsq(v, (size_t)m);
    } while (!(s > 1e-12));
    float inv = (float)(1.0 / sqrt(s));
    for (int j = 0; j < m; j++) v[j] *= inv;
}

/*
 * The latent oracle (docs/multimodal.md "Information gap").  Given a
 * modality's latent factors the class posterior is exact under the model:
 * isotropic Gaussians with equal covariance spread^2 I and uniform priors, so
 * log p(c | z) = -||z - m_c||^2 / (2 spread^2) - logsumexp(...).  Its argmax
 * is the Bayes classifier; log K + mean_i log p(y_i | z_i) is a Monte Carlo
 * estimate of I(z; Y).  The observation is a noisy function of the latent,
 * so (data processing) these bound I(X_M; Y) and the Bayes accuracy on X_M
 * from above; with small noise and an injective map they are close.
 */
static void oracle(const cwb_mm_data *d, const float *cs, const float *cv, int use_v,
                   double a, double b, double *lpk, double *acc, double *mi) {
    const cwb_mm_cfg *c = &d->cfg;
    const int ds = c->shared_dim, dv = c->v_private_dim, K = c->classes;
    const int m = ds + dv + c->t_private_dim;
    const double inv2v = 1.0 / (2.0 * (double)c->spread * c->spread);
    long hit = 0;
    double sum_lp = 0;
    for (int i = 0; i < d->n; i++) {
        const float *z = d->latent->data + (size_t)i * m;
        double mx = -INFINITY;
        int best = 0;
        for (int k = 0; k < K; k++) {
            double dd = 0;
            for (int j = 0; j < ds; j++) {
                double e = z[j] - a * cs[(size_t)k * ds + j];
                dd += e * e;
            }
            if (use_v)
                for (int j = 0; j < dv; j++) {
                    double e = z[ds + j] - b * cv[(size_t)k * dv + j];
                    dd += e * e;
                }
            lpk[k] = -dd * inv2v;
            if (lpk[k] > mx) mx = lpk[k], best = k;
        }
        double z0 = 0;
        for (int k = 0; k < K; k++) z0 += exp(lpk[k] - mx);
        sum_lp += lpk[d->labels[i]] - mx - log(z0);
        hit += best == d->labels[i];
    }
    *acc = (double)hit / d->n;
    *mi = log((double)K) + sum_lp / d->n;
}

cwb_mm_data *cwb_mm_data_new(const cwb_mm_cfg *cfg, uint64_t seed) {
    if (check_cfg(cfg) != CWB_OK) return NULL;
    const cwb_mm_cfg *c = cfg;
    const int n = c->n_train + c->n_test, K = c->classes;
    const int ds = c->shared_dim, dv = c->v_private_dim, dt = c->t_private_dim;
    const int m = ds + dv + dt;
    const double a = c->signal * sqrt(1.0 - c->gap), b = c->signal * sqrt((double)c->gap);

    cwb_mm_data *d = calloc(1, sizeof *d);
    rand_map fv = {0}, ft = {0};
    float *cs = NULL, *cv = NULL, *P = NULL, *zin = NULL, *h = NULL;
    double *lp = NULL;
    if (!d) goto nomem;
    d->cfg = *c;
    d->n = n;
    d->xv = cwb_tensor_new(n, c->v_dim);
    d->xt = cwb_tensor_new(n, c->t_dim);
    d->latent = cwb_tensor_new(n, m);
    d->captions = cwb_tensor_new(K, c->t_dim);
    d->labels = malloc((size_t)n * sizeof(int));
    d->question = malloc((size_t)n * sizeof(int));
    cs = cwb_alloc((size_t)K * ds);
    cv = cwb_alloc((size_t)K * dv);
    P = cwb_alloc((size_t)dt * dv);
    int zw = ds + (dv > dt ? dv : dt);
    zin = cwb_alloc((size_t)n * zw);
    h = cwb_alloc((size_t)n * c->hidden);
    lp = malloc((size_t)K * sizeof(double));
    if (!lp || !d->xv || !d->xt || !d->latent || !d->captions || !d->labels || !d->question || !cs ||
        !cv || !P || !zin || !h)
        goto nomem;

    cwb_rng r;
    cwb_rng_seed(&r, seed, CWB_STREAM_DATA);
    for (int k = 0; k < K; k++) unit_normal(&r, cs + (size_t)k * ds, ds);
    for (int k = 0; k < K; k++) unit_normal(&r, cv + (size_t)k * dv, dv);
    if (map_draw(&fv, ds + dv, c->hidden, c->v_dim, &r) ||
        map_draw(&ft, ds + dt, c->hidden, c->t_dim, &r))
        goto nomem;
    cwb_rng_fill_normal(&r, P, (long)dt * dv, 0.0f, 1.0f);
    for (int i = 0; i < n; i++) d->labels[i] = (int)cwb_rng_below(&r, (uint64_t)K);

    /* Latents [s, u^V, u^T]; the noise is drawn whatever the gap, then the
     * class centres are added with the gap's weights a and b. */
    float *L = d->latent->data;
    cwb_rng_fill_normal(&r, L, (long)n * m, 0.0f, c->spread);
    for (int i = 0; i < n; i++) {
        float *z = L + (size_t)i * m;
        const int y = d->labels[i];
        for (int j = 0; j < ds; j++) z[j] += (float)(a * cs[(size_t)y * ds + j]);
        for (int j = 0; j < dv; j++) z[ds + j] += (float)(b * cv[(size_t)y * dv + j]);
        /* The question's answer: the sign of a bilinear form of the two
         * private parts, unknowable from either modality alone. */
        double q = 0;
        for (int p = 0; p < dt; p++) {
            double row = 0;
            for (int j = 0; j < dv; j++) row += (double)P[(size_t)p * dv + j] * z[ds + j];
            q += row * z[ds + dv + p];
        }
        d->question[i] = q > 0;
    }

    /* x^V = f_V([s, u^V]) + noise, x^T = f_T([s, u^T]) + noise. */
    for (int i = 0; i < n; i++) {
        const float *z = L + (size_t)i * m;
        memcpy(zin + (size_t)i * (ds + dv), z, (size_t)(ds + dv) * sizeof(float));
    }
    map_apply(&fv, zin, n, h, d->xv->data);
    for (int i = 0; i < n; i++) {
        const float *z = L + (size_t)i * m;
        memcpy(zin + (size_t)i * (ds + dt), z, (size_t)ds * sizeof(float));
        memcpy(zin + (size_t)i * (ds + dt) + ds, z + ds + dv, (size_t)dt * sizeof(float));
    }
    map_apply(&ft, zin, n, h, d->xt->data);
    if (c->v_noise > 0)
        for (size_t t = 0; t < (size_t)n * c->v_dim; t++) d->xv->data[t] += c->v_noise * (float)cwb_rng_normal(&r);
    if (c->t_noise > 0)
        for (size_t t = 0; t < (size_t)n * c->t_dim; t++) d->xt->data[t] += c->t_noise * (float)cwb_rng_normal(&r);

    /* Captions: the text of the class centre, with the private part at its
     * mean (zero) and no noise. */
    for (int k = 0; k < K; k++) {
        float *z = zin + (size_t)k * (ds + dt);
        for (int j = 0; j < ds; j++) z[j] = (float)(a * cs[(size_t)k * ds + j]);
        for (int j = 0; j < dt; j++) z[ds + j] = 0.0f;
    }
    map_apply(&ft, zin, K, h, d->captions->data);

    oracle(d, cs, cv, 1, a, b, lp, &d->bayes_v, &d->mi_v);
    oracle(d, cs, cv, 0, a, b, lp, &d->bayes_t, &d->mi_t);
    d->info_gap = d->mi_v - d->mi_t;
    map_release(&fv);
    map_release(&ft);
    cwb_free(cs); cwb_free(cv); cwb_free(P); cwb_free(zin); cwb_free(h); free(lp);
    return d;

nomem:
    cwb_fail(CWB_ENOMEM, "cwb_mm_data_new: out of memory for %d samples", n);
    map_release(&fv);
    map_release(&ft);
    cwb_free(cs); cwb_free(cv); cwb_free(P); cwb_free(zin); cwb_free(h); free(lp);
    cwb_mm_data_free(d);
    return NULL;
}

int cwb_mm_gather(const cwb_mm_data *d, cwb_modality m, const int *idx, int B,
                  const cwb_aug_cfg *aug, cwb_rng *r, float *tmp, float *out) {
    if (!d || !idx || !out) return cwb_fail(CWB_EINVAL, "cwb_mm_gather: NULL %s", !d ? "data" : !idx ? "indices" : "output");
    if (m != CWB_MOD_V && m != CWB_MOD_T) return cwb_fail(CWB_EINVAL, "cwb_mm_gather: modality %d is not V (0) or T (1)", (int)m);
    if (B < 1) return cwb_fail(CWB_EINVAL, "cwb_mm_gather: B = %d < 1", B);
    for (int i = 0; i < B; i++)
        if (idx[i] < 0 || idx[i] >= d->n)
            return cwb_fail(CWB_EINVAL, "cwb_mm_gather: idx[%d] = %d outside 0..%d", i, idx[i], d->n - 1);
    const cwb_tensor *x = cwb_mm_x(d, m);
    if (!aug) {
        cwb_gather_rows(x, idx, B, out);
        return CWB_OK;
    }
    if (!tmp || !r) return cwb_fail(CWB_EINVAL, "cwb_mm_gather: augmenting needs a scratch buffer and an rng");
    cwb_gather_rows(x, idx, B, tmp);
    return cwb_augment(aug, tmp, out, B, x->cols, r);
}

#define DF(member, type) CWB_JSON_FIELD(cwb_mm_cfg, member, type)
static const cwb_json_field cfg_fields[] = {
    DF(n_train, CWB_JSON_INT),     DF(n_test, CWB_JSON_INT),       DF(classes, CWB_JSON_INT),
    DF(shared_dim, CWB_JSON_INT),  DF(v_private_dim, CWB_JSON_INT), DF(t_private_dim, CWB_JSON_INT),
    DF(v_dim, CWB_JSON_INT),       DF(t_dim, CWB_JSON_INT),        DF(hidden, CWB_JSON_INT),
    DF(gap, CWB_JSON_FLOAT),       DF(signal, CWB_JSON_FLOAT),     DF(spread, CWB_JSON_FLOAT),
    DF(v_noise, CWB_JSON_FLOAT),   DF(t_noise, CWB_JSON_FLOAT),
};
#undef DF

void cwb_mm_data_describe(const cwb_mm_data *d, const char *key, cwb_json *j) {
    cwb_json_open(j, key);
    cwb_json_fields(j, &d->cfg, cfg_fields, CWB_JSON_NFIELDS(cfg_fields));   /* then a measured value */
    cwb_json_num(j, "info_gap_nats", d->info_gap);
    cwb_json_close(j);
}
