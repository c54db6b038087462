/*
 * data_synth.c - the synthetic clustered data set (data.h, docs/data.md).
 *
 * Draw order is fixed: centres, mixing matrix, labels, latent points, then
 * observation noise.  Two configurations that differ only in obs_noise or
 * nonlinear therefore share their centres, M, labels and latents for one
 * seed, which lets experiments (and tests) vary the noise alone.
 */
#include "engine/data/data.h"
#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "engine/core/tensor.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

cwb_synth_cfg cwb_synth_defaults(void) {
    cwb_synth_cfg c;
    c.n = 2048;
    c.clusters = 16;
    c.latent_dim = 16;
    c.dim = 64;
    c.spread = 0.5f;
    c.obs_noise = 0.1f;
    c.nonlinear = 1;
    return c;
}

static int check_cfg(const cwb_synth_cfg *c) {
    if (!c) return cwb_fail(CWB_EINVAL, "cwb_synth_new: config is NULL");
    if (c->n < 1) return cwb_fail(CWB_EINVAL, "cwb_synth_new: n = %d, need at least 1 sample", c->n);
    if (c->clusters < 1)
        return cwb_fail(CWB_EINVAL, "cwb_synth_new: clusters = %d, need at least 1", c->clusters);
    if (c->latent_dim < 1)
        return cwb_fail(CWB_EINVAL, "cwb_synth_new: latent_dim = %d, need at least 1", c->latent_dim);
    if (c->dim < 1) return cwb_fail(CWB_EINVAL, "cwb_synth_new: dim = %d, need at least 1", c->dim);
    if (!(c->spread >= 0) || !isfinite(c->spread))
        return cwb_fail(CWB_EINVAL, "cwb_synth_new: spread = %g, must be finite and >= 0",
                        (double)c->spread);
    if (!(c->obs_noise >= 0) || !isfinite(c->obs_noise))
        return cwb_fail(CWB_EINVAL, "cwb_synth_new: obs_noise = %g, must be finite and >= 0",
                        (double)c->obs_noise);
    if (c->nonlinear != 0 && c->nonlinear != 1)
        return cwb_fail(CWB_EINVAL, "cwb_synth_new: nonlinear = %d, must be 0 or 1", c->nonlinear);
    /* Tensors index with size_t but their shapes are ints; keep every
     * buffer's element count representable as an int as well. */
    int wide = c->dim > c->latent_dim ? c->dim : c->latent_dim;
    if ((long long)c->n * wide > 0x7fffffffLL ||
        (long long)c->clusters * c->latent_dim > 0x7fffffffLL)
        return cwb_fail(CWB_EINVAL, "cwb_synth_new: %d x %d is too large", c->n, wide);
    return CWB_OK;
}

cwb_dataset *cwb_synth_new(const cwb_synth_cfg *cfg, uint64_t seed) {
    if (check_cfg(cfg) != CWB_OK) return NULL;
    const int n = cfg->n, K = cfg->clusters, m = cfg->latent_dim, dim = cfg->dim;

    cwb_dataset *d = calloc(1, sizeof *d);
    float *centres = NULL, *mix = NULL;
    if (!d) goto nomem;
    d->n = n;
    d->dim = dim;
    d->clusters = K;
    d->x = cwb_tensor_new(n, dim);
    d->z = cwb_tensor_new(n, m);
    d->labels = malloc((size_t)n * sizeof(int));
    centres = cwb_alloc((size_t)K * m);
    mix = cwb_alloc((size_t)dim * m);
    if (!d->x || !d->z || !d->labels || !centres || !mix) goto nomem;

    cwb_rng r;
    cwb_rng_seed(&r, seed, CWB_STREAM_DATA);

    for (int k = 0; k < K; k++) cwb_rng_sphere(&r, centres + (size_t)k * m, m);

    /* Entries N(0, 1/m): each coordinate of M z then has variance |z|^2/m = 1/m
     * whatever m is, so tanh works in the same regime for every latent size. */
    cwb_rng_fill_normal(&r, mix, (long)dim * m, 0.0f, (float)(1.0 / sqrt((double)m)));

    for (int i = 0; i < n; i++) d->labels[i] = (int)cwb_rng_below(&r, (uint64_t)K);

    float *z = d->z->data;
    for (int i = 0; i < n; i++) {
        const float *c = centres + (size_t)d->labels[i] * m;
        float *zi = z + (size_t)i * m;
        do {
            for (int j = 0; j < m; j++)
                zi[j] = c[j] + (cfg->spread > 0 ? cfg->spread * (float)cwb_rng_normal(&r) : 0.0f);
        } while (!cwb_normalise(zi, m));
    }

    /* X = Z M^T: row i is M z_i. */
    float *x = d->x->data;
    cwb_gemm(0, 1, n, dim, m, 1.0f, z, m, mix, m, 0.0f, x, dim);
    size_t nx = (size_t)n * dim;
    if (cfg->nonlinear)
        for (size_t t = 0; t < nx; t++) x[t] = tanhf(x[t]);
    if (cfg->obs_noise > 0)
        for (size_t t = 0; t < nx; t++) x[t] += cfg->obs_noise * (float)cwb_rng_normal(&r);

    if (cwb_dataset_index(d) != CWB_OK) goto nomem;

    cwb_free(centres);
    cwb_free(mix);
    return d;

nomem:
    cwb_free(centres);
    cwb_free(mix);
    cwb_dataset_free(d);
    cwb_fail(CWB_ENOMEM, "cwb_synth_new: out of memory for %d x %d samples", n, dim);
    return NULL;
}

void cwb_gather_rows(const cwb_tensor *x, const int *idx, int B, float *out) {
    const size_t d = (size_t)x->cols;
    for (int i = 0; i < B; i++)
        memcpy(out + (size_t)i * d, x->data + (size_t)idx[i] * d, d * sizeof(float));
}

static const cwb_json_field synth_fields[] = {
    CWB_JSON_FIELD(cwb_synth_cfg, n, CWB_JSON_INT),          CWB_JSON_FIELD(cwb_synth_cfg, clusters, CWB_JSON_INT),
    CWB_JSON_FIELD(cwb_synth_cfg, latent_dim, CWB_JSON_INT), CWB_JSON_FIELD(cwb_synth_cfg, dim, CWB_JSON_INT),
    CWB_JSON_FIELD(cwb_synth_cfg, spread, CWB_JSON_FLOAT),   CWB_JSON_FIELD(cwb_synth_cfg, obs_noise, CWB_JSON_FLOAT),
    CWB_JSON_FIELD(cwb_synth_cfg, nonlinear, CWB_JSON_BOOL),
};

void cwb_synth_describe(const cwb_synth_cfg *c, const char *key, cwb_json *j) {
    cwb_json_record(j, key, NULL, c, synth_fields, CWB_JSON_NFIELDS(synth_fields));
}
