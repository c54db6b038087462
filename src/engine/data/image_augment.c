/*
 * image_augment.c - crops, flips, brightness/contrast, noise and erasing of
 * grey images stored as rows (image_augment.h; docs/data.md).
 *
 * Every transform works on whole rows of pixels: the crops as one copy (or
 * one bilinear pass through index and weight tables of `width` entries) per
 * output row, the flip as a reversal, the colour jitter as one a x + b pass
 * with a clamp, the noise as one add of a block of normals.  The tables and
 * the noise block are allocated by cwb_imaug_new; cwb_imaug_apply allocates
 * nothing.  The random geometry follows torchvision's get_params (10 tries,
 * then a fall-back), with Python's round-half-to-even (nearbyint).
 */
#include "engine/data/image_augment.h"
#include "engine/core/error.h"
#include "engine/core/mem.h"
#include "engine/core/tensor.h"

#include <limits.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct cwb_imaug {
    cwb_imaug_cfg cfg;
    int npix;
    float *noise;        /* npix normals of the current image */
    int *x0, *x1;        /* bilinear column indices, width each */
    float *wx;           /* and weights */
    cwb_mem mem;         /* owns noise, x0, x1, wx */
};

cwb_imaug_cfg cwb_imaug_none(int height, int width) {
    cwb_imaug_cfg c;
    memset(&c, 0, sizeof c);
    c.height = height;
    c.width = width;
    c.erase_min = 0.02f;
    c.erase_max = 0.33f;
    c.erase_ratio = 3.3f;
    return c;
}

cwb_imaug_cfg cwb_imaug_defaults(int height, int width) {
    cwb_imaug_cfg c = cwb_imaug_none(height, width);
    c.crop_scale = 0.25f;
    c.flip = 0.5f;
    c.brightness = 0.4f;
    c.contrast = 0.4f;
    return c;
}

static const cwb_json_field imaug_fields[] = {
    CWB_JSON_FIELD(cwb_imaug_cfg, height, CWB_JSON_INT),       CWB_JSON_FIELD(cwb_imaug_cfg, width, CWB_JSON_INT),
    CWB_JSON_FIELD(cwb_imaug_cfg, crop_pad, CWB_JSON_INT),     CWB_JSON_FIELD(cwb_imaug_cfg, crop_scale, CWB_JSON_FLOAT),
    CWB_JSON_FIELD(cwb_imaug_cfg, flip, CWB_JSON_FLOAT),       CWB_JSON_FIELD(cwb_imaug_cfg, brightness, CWB_JSON_FLOAT),
    CWB_JSON_FIELD(cwb_imaug_cfg, contrast, CWB_JSON_FLOAT),   CWB_JSON_FIELD(cwb_imaug_cfg, noise, CWB_JSON_FLOAT),
    CWB_JSON_FIELD(cwb_imaug_cfg, erase, CWB_JSON_FLOAT),      CWB_JSON_FIELD(cwb_imaug_cfg, erase_min, CWB_JSON_FLOAT),
    CWB_JSON_FIELD(cwb_imaug_cfg, erase_max, CWB_JSON_FLOAT),  CWB_JSON_FIELD(cwb_imaug_cfg, erase_ratio, CWB_JSON_FLOAT),
};

void cwb_imaug_describe(const cwb_imaug_cfg *c, const char *key, cwb_json *j) {
    cwb_json_record(j, key, NULL, c, imaug_fields, CWB_JSON_NFIELDS(imaug_fields));
}

static int in01(float v) { return v >= 0 && v <= 1; }

static int check_cfg(const cwb_imaug_cfg *c) {
    if (!c) return cwb_fail(CWB_EINVAL, "image_augment: NULL configuration");
    if (c->height < 1 || c->width < 1 || c->height > INT_MAX / c->width)
        return cwb_fail(CWB_EINVAL, "image_augment: image shape %d x %d is not positive", c->height,
                        c->width);
    if (c->crop_pad < 0 || c->crop_pad > c->height || c->crop_pad > c->width)
        return cwb_fail(CWB_EINVAL, "image_augment: crop_pad = %d outside 0..%d (the image side)",
                        c->crop_pad, c->height < c->width ? c->height : c->width);
    if (!(c->crop_scale >= 0 && c->crop_scale <= 1))
        return cwb_fail(CWB_EINVAL, "image_augment: crop_scale = %g outside [0, 1]", (double)c->crop_scale);
    if (c->crop_pad > 0 && c->crop_scale > 0)
        return cwb_fail(CWB_EINVAL, "image_augment: crop_pad = %d and crop_scale = %g: choose one "
                                    "crop (padding or resized)", c->crop_pad, (double)c->crop_scale);
    if (!in01(c->flip)) return cwb_fail(CWB_EINVAL, "image_augment: flip = %g outside [0, 1]", (double)c->flip);
    if (!in01(c->brightness))
        return cwb_fail(CWB_EINVAL, "image_augment: brightness = %g outside [0, 1]", (double)c->brightness);
    if (!in01(c->contrast))
        return cwb_fail(CWB_EINVAL, "image_augment: contrast = %g outside [0, 1]", (double)c->contrast);
    if (!(c->noise >= 0) || !isfinite(c->noise))
        return cwb_fail(CWB_EINVAL, "image_augment: noise = %g must be finite and >= 0", (double)c->noise);
    if (!in01(c->erase)) return cwb_fail(CWB_EINVAL, "image_augment: erase = %g outside [0, 1]", (double)c->erase);
    if (!(c->erase_min > 0 && c->erase_min <= c->erase_max && c->erase_max < 1))
        return cwb_fail(CWB_EINVAL, "image_augment: erase area %g..%g must satisfy 0 < min <= max < 1",
                        (double)c->erase_min, (double)c->erase_max);
    if (!(c->erase_ratio >= 1) || !isfinite(c->erase_ratio))
        return cwb_fail(CWB_EINVAL, "image_augment: erase_ratio = %g must be finite and >= 1",
                        (double)c->erase_ratio);
    return CWB_OK;
}

cwb_imaug *cwb_imaug_new(const cwb_imaug_cfg *cfg) {
    if (check_cfg(cfg) != CWB_OK) return NULL;
    cwb_imaug *a = cwb_zalloc(sizeof *a, "image_augment");
    if (!a) return NULL;
    a->cfg = *cfg;
    a->npix = cfg->height * cfg->width;
    a->noise = cwb_mem_floats(&a->mem, (size_t)a->npix);
    a->x0 = cwb_mem_zeroed(&a->mem, (size_t)cfg->width, sizeof *a->x0);
    a->x1 = cwb_mem_zeroed(&a->mem, (size_t)cfg->width, sizeof *a->x1);
    a->wx = cwb_mem_floats(&a->mem, (size_t)cfg->width);
    if (cwb_mem_check(&a->mem, "image_augment: out of memory for %d x %d images", cfg->height, cfg->width)) {
        cwb_imaug_free(a);
        return NULL;
    }
    return a;
}

void cwb_imaug_free(cwb_imaug *a) {
    if (!a) return;
    cwb_mem_free(&a->mem);
    free(a);
}

const cwb_imaug_cfg *cwb_imaug_config(const cwb_imaug *a) { return a ? &a->cfg : NULL; }

static double uniform(cwb_rng *r, double lo, double hi) { return lo + (hi - lo) * cwb_rng_uniform(r); }

/* Crop with zero padding: out(y, x) = in(y + dy, x + dx), 0 outside. */
static void crop_pad(const cwb_imaug *a, const float *in, float *out, cwb_rng *r) {
    const int H = a->cfg.height, W = a->cfg.width, p = a->cfg.crop_pad;
    int dy = (int)cwb_rng_below(r, (uint64_t)(2 * p + 1)) - p;
    int dx = (int)cwb_rng_below(r, (uint64_t)(2 * p + 1)) - p;
    int lo = dx < 0 ? -dx : 0, hi = dx > 0 ? W - dx : W;   /* output columns with a source */
    for (int y = 0; y < H; y++) {
        float *o = out + (size_t)y * W;
        int sy = y + dy;
        if (sy < 0 || sy >= H) {
            memset(o, 0, (size_t)W * sizeof *o);
            continue;
        }
        memset(o, 0, (size_t)lo * sizeof *o);
        memcpy(o + lo, in + (size_t)sy * W + lo + dx, (size_t)(hi - lo) * sizeof *o);
        memset(o + hi, 0, (size_t)(W - hi) * sizeof *o);
    }
}

/* torchvision RandomResizedCrop.get_params with ratio (3/4, 4/3). */
static void resized_crop_params(const cwb_imaug *a, cwb_rng *r, int *i, int *j, int *h, int *w) {
    const int H = a->cfg.height, W = a->cfg.width;
    const double area = (double)H * W, lr0 = log(3.0 / 4.0), lr1 = log(4.0 / 3.0);
    for (int t = 0; t < 10; t++) {
        double target = area * uniform(r, a->cfg.crop_scale, 1.0);
        double aspect = exp(uniform(r, lr0, lr1));
        int cw = (int)nearbyint(sqrt(target * aspect)), ch = (int)nearbyint(sqrt(target / aspect));
        if (cw > 0 && cw <= W && ch > 0 && ch <= H) {
            *i = (int)cwb_rng_below(r, (uint64_t)(H - ch + 1));
            *j = (int)cwb_rng_below(r, (uint64_t)(W - cw + 1));
            *h = ch;
            *w = cw;
            return;
        }
    }
    /* the fall-back: the whole image, its aspect ratio clamped to the range */
    double in_ratio = (double)W / H;
    *w = W;
    *h = H;
    if (in_ratio < 3.0 / 4.0) *h = (int)nearbyint(W / (3.0 / 4.0));
    else if (in_ratio > 4.0 / 3.0) *w = (int)nearbyint(H * (4.0 / 3.0));
    *i = (H - *h) / 2;
    *j = (W - *w) / 2;
}

/* Bilinear source coordinate of output pixel d for a span of n pixels
 * resized to m (align_corners = false, as torch.nn.functional.interpolate):
 * (d + 0.5) n / m - 0.5, negative values clamped to 0. */
static void source(int d, int n, int m, int *s0, int *s1, float *wt) {
    double s = (d + 0.5) * n / m - 0.5;
    if (s < 0) s = 0;
    int k = (int)s;
    if (k > n - 1) k = n - 1;
    *s0 = k;
    *s1 = k + 1 < n ? k + 1 : n - 1;
    *wt = (float)(s - k);
}

static void resized_crop(cwb_imaug *a, const float *in, float *out, cwb_rng *r) {
    const int H = a->cfg.height, W = a->cfg.width;
    int ci, cj, ch, cw;
    resized_crop_params(a, r, &ci, &cj, &ch, &cw);
    for (int x = 0; x < W; x++) {
        source(x, cw, W, &a->x0[x], &a->x1[x], &a->wx[x]);
        a->x0[x] += cj;
        a->x1[x] += cj;
    }
    for (int y = 0; y < H; y++) {
        int y0, y1;
        float wy;
        source(y, ch, H, &y0, &y1, &wy);
        const float *r0 = in + (size_t)(ci + y0) * W, *r1 = in + (size_t)(ci + y1) * W;
        float *o = out + (size_t)y * W;
        for (int x = 0; x < W; x++) {
            float t0 = r0[a->x0[x]] + a->wx[x] * (r0[a->x1[x]] - r0[a->x0[x]]);
            float t1 = r1[a->x0[x]] + a->wx[x] * (r1[a->x1[x]] - r1[a->x0[x]]);
            o[x] = t0 + wy * (t1 - t0);
        }
    }
}

static void flip_rows(const cwb_imaug *a, float *img) {
    const int H = a->cfg.height, W = a->cfg.width;
    for (int y = 0; y < H; y++) {
        float *o = img + (size_t)y * W;
        for (int x = 0, z = W - 1; x < z; x++, z--) {
            float t = o[x];
            o[x] = o[z];
            o[z] = t;
        }
    }
}

/* x <- m + f_c (f_b x - f_b m) = f_b f_c x + f_b (1 - f_c) m, clamped to [0, 1]. */
static void jitter(const cwb_imaug *a, float *img, cwb_rng *r) {
    const int n = a->npix;
    double fb = 1, fc = 1;
    if (a->cfg.brightness > 0) fb = uniform(r, 1.0 - a->cfg.brightness, 1.0 + a->cfg.brightness);
    if (a->cfg.contrast > 0) fc = uniform(r, 1.0 - a->cfg.contrast, 1.0 + a->cfg.contrast);
    double m = 0;
    if (a->cfg.contrast > 0) {
        for (int t = 0; t < n; t++) m += img[t];
        m /= n;
    }
    const float s = (float)(fb * fc), b = (float)(fb * (1.0 - fc) * m);
    for (int t = 0; t < n; t++) {
        float v = s * img[t] + b;
        img[t] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
}

/* torchvision RandomErasing.get_params with value 0; no rectangle fits in 10 tries: no erasing. */
static void erase(const cwb_imaug *a, float *img, cwb_rng *r) {
    const int H = a->cfg.height, W = a->cfg.width;
    const double area = (double)H * W, lr = log(a->cfg.erase_ratio);
    for (int t = 0; t < 10; t++) {
        double target = area * uniform(r, a->cfg.erase_min, a->cfg.erase_max);
        double aspect = exp(uniform(r, -lr, lr));
        int eh = (int)nearbyint(sqrt(target * aspect)), ew = (int)nearbyint(sqrt(target / aspect));
        if (!(eh < H && ew < W)) continue;
        int i = (int)cwb_rng_below(r, (uint64_t)(H - eh + 1));
        int j = (int)cwb_rng_below(r, (uint64_t)(W - ew + 1));
        for (int y = i; y < i + eh; y++) memset(img + (size_t)y * W + j, 0, (size_t)ew * sizeof *img);
        return;
    }
}

int cwb_imaug_apply(cwb_imaug *a, const float *x, float *out, int B, cwb_rng *r) {
    if (!a || !x || !out || !r)
        return cwb_fail(CWB_EINVAL, "image_augment: NULL %s",
                        !a ? "augmenter" : !x ? "input" : !out ? "output" : "rng");
    if (B < 1) return cwb_fail(CWB_EINVAL, "image_augment: %d images, need >= 1", B);
    const size_t np = (size_t)a->npix, nx = (size_t)B * np;
    if (x < out + nx && out < x + nx) return cwb_fail(CWB_EINVAL, "image_augment: output overlaps the input");
    const cwb_imaug_cfg *c = &a->cfg;
    for (int b = 0; b < B; b++) {
        const float *in = x + (size_t)b * np;
        float *o = out + (size_t)b * np;
        if (c->crop_pad > 0) crop_pad(a, in, o, r);
        else if (c->crop_scale > 0) resized_crop(a, in, o, r);
        else memcpy(o, in, np * sizeof *o);
        if (c->flip > 0 && cwb_rng_uniform(r) < c->flip) flip_rows(a, o);
        if (c->brightness > 0 || c->contrast > 0) jitter(a, o, r);
        if (c->noise > 0) {
            cwb_rng_fill_normal(r, a->noise, (long)np, 0.0f, c->noise);
            for (size_t t = 0; t < np; t++) o[t] += a->noise[t];
        }
        if (c->erase > 0 && cwb_rng_uniform(r) < c->erase) erase(a, o, r);
    }
    return CWB_OK;
}
