/*
 * data_augment.c - vector analogues of image/text augmentations (data.h,
 * docs/data.md "Augmentations").
 *
 * Per row, in this order:
 *   1. scale:  x <- (1 + scale * U(-1,1)) x          (colour jitter)
 *   2. flip:   with probability `flip`, negate a cyclic block of
 *              max(1, floor(d/2)) consecutive coordinates starting at a
 *              uniform position                      (horizontal flip)
 *   3. jitter: x_j <- x_j + jitter * N(0,1)          (pixel noise)
 *   4. mask:   each coordinate is zeroed with probability `mask`
 *                                                    (crop / word dropout)
 * Masking comes last so that a masked coordinate is exactly zero, as a
 * cropped-away pixel or a dropped word carries no signal at all.
 *
 * Why a sign flip of a block and not a reversal: the observed coordinates
 * are a random mixing of the latent point, so their order means nothing and
 * a reversal would be an arbitrary fixed permutation, the same for every
 * row; negating a random half keeps the row's norm (like a flip keeps the
 * image's pixel histogram) while changing its direction, and varies per row.
 * A strength of 0 draws no random numbers for that transform.
 */
#include "engine/data/data.h"
#include "engine/core/error.h"

#include <math.h>
#include <stddef.h>

cwb_aug_cfg cwb_aug_defaults(void) {
    cwb_aug_cfg c;
    c.jitter = 0.1f;
    c.mask = 0.1f;
    c.flip = 0.0f;
    c.scale = 0.2f;
    return c;
}

int cwb_aug_check(const cwb_aug_cfg *c, const char *who) {
    if (!c) return cwb_fail(CWB_EINVAL, "%s%sNULL augmentation config", CWB_WHO(who));
    if (!(c->jitter >= 0) || !isfinite(c->jitter))
        return cwb_fail(CWB_EINVAL, "%s%sjitter = %g, must be finite and >= 0", CWB_WHO(who), (double)c->jitter);
    if (!(c->scale >= 0) || !isfinite(c->scale))
        return cwb_fail(CWB_EINVAL, "%s%sscale = %g, must be finite and >= 0", CWB_WHO(who), (double)c->scale);
    if (!(c->mask >= 0 && c->mask <= 1))
        return cwb_fail(CWB_EINVAL, "%s%smask = %g, must be in [0, 1]", CWB_WHO(who), (double)c->mask);
    if (!(c->flip >= 0 && c->flip <= 1))
        return cwb_fail(CWB_EINVAL, "%s%sflip = %g, must be in [0, 1]", CWB_WHO(who), (double)c->flip);
    return CWB_OK;
}

static const cwb_json_field aug_fields[] = {
    CWB_JSON_FIELD(cwb_aug_cfg, jitter, CWB_JSON_FLOAT), CWB_JSON_FIELD(cwb_aug_cfg, mask, CWB_JSON_FLOAT),
    CWB_JSON_FIELD(cwb_aug_cfg, flip, CWB_JSON_FLOAT), CWB_JSON_FIELD(cwb_aug_cfg, scale, CWB_JSON_FLOAT),
};

void cwb_aug_describe(const cwb_aug_cfg *c, const char *key, cwb_json *j) {
    cwb_json_record(j, key, NULL, c, aug_fields, CWB_JSON_NFIELDS(aug_fields));
}

int cwb_augment(const cwb_aug_cfg *cfg, const float *x, float *out, int B, int d, cwb_rng *r) {
    if (!cfg || !x || !out || !r)
        return cwb_fail(CWB_EINVAL, "cwb_augment: NULL %s",
                        !cfg ? "config" : !x ? "input" : !out ? "output" : "rng");
    if (B < 1 || d < 1) return cwb_fail(CWB_EINVAL, "cwb_augment: shape %d x %d, both must be >= 1", B, d);
    size_t nx = (size_t)B * (size_t)d;
    if (x < out + nx && out < x + nx)
        return cwb_fail(CWB_EINVAL, "cwb_augment: output overlaps the input");
    int rc = cwb_aug_check(cfg, "cwb_augment");
    if (rc) return rc;

    const int block = d / 2 > 0 ? d / 2 : 1;
    for (int i = 0; i < B; i++) {
        const float *xi = x + (size_t)i * d;
        float *oi = out + (size_t)i * d;
        float f = 1.0f;
        if (cfg->scale > 0) f = 1.0f + cfg->scale * (float)(2.0 * cwb_rng_uniform(r) - 1.0);
        for (int j = 0; j < d; j++) oi[j] = f * xi[j];
        if (cfg->flip > 0 && cwb_rng_uniform(r) < cfg->flip) {
            int s = (int)cwb_rng_below(r, (uint64_t)d);
            for (int t = 0; t < block; t++) {
                int j = s + t < d ? s + t : s + t - d;
                oi[j] = -oi[j];
            }
        }
        if (cfg->jitter > 0)
            for (int j0 = 0; j0 < d; j0 += 256) {
                float z[256];
                int nj = d - j0 < 256 ? d - j0 : 256;
                cwb_rng_fill_normal(r, z, nj, 0.0f, cfg->jitter);
                for (int j = 0; j < nj; j++) oi[j0 + j] += z[j];
            }
        if (cfg->mask > 0) {
            /* Two 32-bit uniforms per draw: coordinate j is masked when its
             * uniform is below mask (P = mask up to 2^-32). */
            const uint64_t thr = (uint64_t)((double)cfg->mask * 4294967296.0);
            for (int j = 0; j < d; j += 2) {
                uint64_t w = cwb_rng_u64(r);
                if ((w & 0xffffffffu) < thr) oi[j] = 0.0f;
                if (j + 1 < d && (w >> 32) < thr) oi[j + 1] = 0.0f;
            }
        }
    }
    return CWB_OK;
}
