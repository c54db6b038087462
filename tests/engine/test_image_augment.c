/* test_image_augment.c - image augmentations (image_augment.h): identities,
 * the flip's involution, the moments of each transform, the geometry of the
 * crops and of erasing, determinism per seed, and bad configurations. */
#include "engine/data/image_augment.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"
#include "../tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define H 28
#define W 28
#define NP (H * W)

/* Pixels in [lo, hi), a different pattern per image. */
static void fill(float *x, int B, float lo, float hi, unsigned seed) {
    cwb_rng r;
    cwb_rng_seed(&r, seed, CWB_STREAM_USER);
    for (int t = 0; t < B * NP; t++) x[t] = lo + (hi - lo) * (float)cwb_rng_uniform(&r);
}

static double mean_of(const float *x, int n) {
    double s = 0;
    for (int t = 0; t < n; t++) s += x[t];
    return s / n;
}

static void apply(const cwb_imaug_cfg *c, const float *x, float *out, int B, uint64_t seed) {
    cwb_imaug *a = cwb_imaug_new(c);
    cwb_rng r;
    cwb_rng_seed(&r, seed, CWB_STREAM_AUG);
    if (!a || cwb_imaug_apply(a, x, out, B, &r) != CWB_OK) {
        printf("# apply failed: %s\n", cwb_errmsg());
        memset(out, 0, (size_t)B * NP * sizeof *out);
    }
    cwb_imaug_free(a);
}

static void test_identity_and_flip(void) {
    enum { B = 16 };
    float *x = cwb_alloc(B * NP), *y = cwb_alloc(B * NP), *z = cwb_alloc(B * NP);
    fill(x, B, 0, 1, 1);
    cwb_imaug_cfg c = cwb_imaug_none(H, W);
    apply(&c, x, y, B, 1);
    ok(!memcmp(x, y, sizeof(float) * B * NP), "every strength 0: the identity, bit for bit");
    c.crop_pad = 0;
    c.brightness = 0;
    apply(&c, x, y, B, 2);
    ok(!memcmp(x, y, sizeof(float) * B * NP), "crop with padding 0: the identity");

    c.flip = 1;
    apply(&c, x, y, B, 3);
    int mirrored = 1;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                mirrored &= y[b * NP + i * W + j] == x[b * NP + i * W + (W - 1 - j)];
    ok(mirrored, "flip = 1 mirrors every row");
    apply(&c, y, z, B, 4);
    ok(!memcmp(x, z, sizeof(float) * B * NP), "the flip is an involution: flip(flip(x)) = x");

    /* flip = 0.3: the fraction of mirrored images is binomial(n, 0.3) */
    enum { N = 2000 };
    float *xs = cwb_alloc((size_t)N * NP), *ys = cwb_alloc((size_t)N * NP);
    fill(xs, N, 0, 1, 5);
    c.flip = 0.3f;
    apply(&c, xs, ys, N, 6);
    int flipped = 0, neither = 0;
    for (int b = 0; b < N; b++) {
        int same = !memcmp(xs + (size_t)b * NP, ys + (size_t)b * NP, NP * sizeof(float));
        flipped += !same;
        if (!same && ys[(size_t)b * NP] != xs[(size_t)b * NP + W - 1]) neither++;
    }
    double p = (double)flipped / N, se = sqrt(0.3 * 0.7 / N);
    ok(fabs(p - 0.3) < 4 * se && neither == 0, "flip = 0.3: %.3f of images mirrored (0.3 +- %.3f), "
       "the others untouched", p, 4 * se);
    cwb_free(xs);
    cwb_free(ys);
    cwb_free(x);
    cwb_free(y);
    cwb_free(z);
}

/* The shift (dy, dx) such that y is x shifted with zeros; 0 if none fits. */
static int find_shift(const float *x, const float *y, int p, int *dy, int *dx) {
    for (int a = -p; a <= p; a++)
        for (int b = -p; b <= p; b++) {
            int fits = 1;
            for (int i = 0; fits && i < H; i++)
                for (int j = 0; fits && j < W; j++) {
                    int si = i + a, sj = j + b;
                    float want = si >= 0 && si < H && sj >= 0 && sj < W ? x[si * W + sj] : 0.0f;
                    fits = y[i * W + j] == want;
                }
            if (fits) {
                *dy = a;
                *dx = b;
                return 1;
            }
        }
    return 0;
}

static void test_crop_pad(void) {
    enum { N = 900, P = 3 };
    float *x = cwb_alloc((size_t)N * NP), *y = cwb_alloc((size_t)N * NP);
    fill(x, N, 0.1f, 1, 7);   /* no zero pixels: a zero means "padding" */
    cwb_imaug_cfg c = cwb_imaug_none(H, W);
    c.crop_pad = P;
    apply(&c, x, y, N, 8);
    int count[2 * P + 1][2 * P + 1];
    memset(count, 0, sizeof count);
    int all = 1;
    for (int b = 0; b < N; b++) {
        int dy, dx;
        if (!find_shift(x + (size_t)b * NP, y + (size_t)b * NP, P, &dy, &dx)) all = 0;
        else count[dy + P][dx + P]++;
    }
    ok(all, "crop_pad = %d: every view is the image shifted by |dy|, |dx| <= %d, zeros filled", P, P);
    /* uniform over the 49 shifts: chi-square with 48 degrees of freedom */
    double chi = 0, e = (double)N / ((2 * P + 1) * (2 * P + 1));
    for (int a = 0; a <= 2 * P; a++)
        for (int b = 0; b <= 2 * P; b++) chi += (count[a][b] - e) * (count[a][b] - e) / e;
    ok(chi < 90, "the shifts are uniform over the 7 x 7 grid (chi-square %.1f, 48 d.o.f., < 90)", chi);
    cwb_free(x);
    cwb_free(y);
}

static void test_resized_crop(void) {
    enum { N = 400 };
    /* I(i, j) = j + 100 i: a bilinear resize of a crop keeps it affine, so
     * the view's slopes are the crop's size over the output's. */
    float *x = cwb_alloc((size_t)N * NP), *y = cwb_alloc((size_t)N * NP);
    for (int b = 0; b < N; b++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) x[(size_t)b * NP + i * W + j] = (float)(j + 100 * i);
    cwb_imaug_cfg c = cwb_imaug_none(H, W);
    c.crop_scale = 0.3f;
    apply(&c, x, y, N, 9);
    int affine = 1, inside = 1, in_range = 1;
    double amin = 1, amax = 0, asum = 0;
    for (int b = 0; b < N; b++) {
        const float *v = y + (size_t)b * NP;
        /* interior slopes (the first and last pixel may be clamped) */
        double sx = v[W * 5 + 10] - v[W * 5 + 9], sy = (v[W * 10 + 5] - v[W * 9 + 5]) / 100.0;
        for (int i = 1; i < H - 1; i++)
            for (int j = 2; j < W - 1; j++)
                if (fabs((v[i * W + j] - v[i * W + j - 1]) - sx) > 1e-3) affine = 0;
        for (int t = 0; t < NP; t++)
            if (v[t] < 0 || v[t] > (W - 1) + 100 * (H - 1)) inside = 0;
        double area = sx * sy, ratio = sx / sy;   /* crop w/W times h/H, and w/h */
        if (area < 0.3 - 0.05 || area > 1 + 1e-6 || ratio < 0.75 - 0.06 || ratio > 4.0 / 3 + 0.06)
            in_range = 0;
        amin = area < amin ? area : amin;
        amax = area > amax ? area : amax;
        asum += area;
    }
    ok(affine, "resized crop: each view of a linear ramp is a linear ramp (bilinear resize)");
    ok(inside, "resized crop: every pixel comes from inside the image");
    ok(in_range, "resized crop: crop area fraction in [0.3, 1] and aspect in [3/4, 4/3] "
       "(seen %.3f..%.3f, mean %.3f)", amin, amax, asum / N);
    float one[NP];
    for (int t = 0; t < NP; t++) one[t] = 0.625f;
    float out[NP];
    apply(&c, one, out, 1, 10);
    int flat = 1;
    for (int t = 0; t < NP; t++) flat &= fabsf(out[t] - 0.625f) < 1e-6f;
    ok(flat, "resized crop of a constant image is the constant");
    cwb_free(x);
    cwb_free(y);
}

static void test_jitter(void) {
    enum { N = 3000 };
    float *x = cwb_alloc((size_t)N * NP), *y = cwb_alloc((size_t)N * NP);
    fill(x, N, 0.2f, 0.6f, 11);   /* with b, c <= 0.3 nothing reaches the clamp */
    cwb_imaug_cfg c = cwb_imaug_none(H, W);
    c.brightness = 0.3f;
    apply(&c, x, y, N, 12);
    double s = 0, s2 = 0, shift = 0;
    int proportional = 1;
    for (int b = 0; b < N; b++) {
        const float *u = x + (size_t)b * NP, *v = y + (size_t)b * NP;
        double f = v[0] / u[0];
        for (int t = 1; t < NP; t++) proportional &= fabs(v[t] - f * u[t]) < 1e-5;
        proportional &= f >= 0.7 - 1e-6 && f <= 1.3 + 1e-6;
        s += f;
        s2 += f * f;
        shift += mean_of(v, NP) - mean_of(u, NP);
    }
    double mf = s / N, vf = s2 / N - mf * mf, want_v = 0.09 / 3;
    ok(proportional, "brightness 0.3: each view is f x with f in [0.7, 1.3]");
    ok(fabs(mf - 1) < 4 * sqrt(want_v / N) && fabs(vf - want_v) < 0.1 * want_v,
       "brightness factor: mean %.4f (1), variance %.5f (b^2/3 = %.5f)", mf, vf, want_v);
    ok(fabs(shift / N) < 4 * sqrt(want_v / N) * 0.4,
       "mean brightness shift over the views %.5f is 0 within noise", shift / N);

    c = cwb_imaug_none(H, W);
    c.contrast = 0.3f;
    apply(&c, x, y, N, 13);
    int mean_kept = 1, scaled = 1;
    s = s2 = 0;
    for (int b = 0; b < N; b++) {
        const float *u = x + (size_t)b * NP, *v = y + (size_t)b * NP;
        double mu = mean_of(u, NP), mv = mean_of(v, NP);
        mean_kept &= fabs(mu - mv) < 1e-5;
        double suv = 0, suu = 0;   /* least-squares factor on the deviations */
        for (int t = 0; t < NP; t++) {
            suv += (v[t] - mv) * (u[t] - mu);
            suu += (u[t] - mu) * (u[t] - mu);
        }
        double f = suv / suu;
        for (int t = 0; t < NP; t++) scaled &= fabs((v[t] - mv) - f * (u[t] - mu)) < 1e-5;
        s += f;
        s2 += f * f;
    }
    mf = s / N;
    vf = s2 / N - mf * mf;
    ok(mean_kept, "contrast 0.3: each view keeps the image's mean");
    ok(scaled && fabs(mf - 1) < 4 * sqrt(want_v / N) && fabs(vf - want_v) < 0.1 * want_v,
       "contrast factor on the deviations: mean %.4f (1), variance %.5f (%.5f)", mf, vf, want_v);

    c.brightness = 1;
    c.contrast = 1;
    apply(&c, x, y, N, 14);
    int clamped = 1;
    for (int t = 0; t < N * NP; t++) clamped &= y[t] >= 0 && y[t] <= 1;
    ok(clamped, "brightness and contrast 1: pixels clamped to [0, 1]");
    cwb_free(x);
    cwb_free(y);
}

static void test_noise(void) {
    enum { N = 200 };
    float *x = cwb_alloc((size_t)N * NP), *y = cwb_alloc((size_t)N * NP);
    fill(x, N, 0, 1, 15);
    cwb_imaug_cfg c = cwb_imaug_none(H, W);
    c.noise = 0.2f;
    apply(&c, x, y, N, 16);
    double s = 0, s2 = 0;
    const double n = (double)N * NP;
    for (long t = 0; t < (long)(N * NP); t++) {
        double d = y[t] - x[t];
        s += d;
        s2 += d * d;
    }
    double m = s / n, v = s2 / n - m * m;
    ok(fabs(m) < 4 * 0.2 / sqrt(n) && fabs(v - 0.04) < 4 * 0.04 * sqrt(2 / n),
       "noise 0.2: the added noise has mean %.5f (0) and variance %.5f (0.04)", m, v);
    cwb_free(x);
    cwb_free(y);
}

static void test_erase(void) {
    enum { N = 3000 };
    float *x = cwb_alloc((size_t)N * NP), *y = cwb_alloc((size_t)N * NP);
    for (int t = 0; t < N * NP; t++) x[t] = 1;
    cwb_imaug_cfg c = cwb_imaug_none(H, W);
    c.erase = 0.4f;
    c.erase_min = 0.1f;
    c.erase_max = 0.3f;
    c.erase_ratio = 1;   /* squares: side round(sqrt(a H W)) */
    apply(&c, x, y, N, 17);
    int erased = 0, rect = 1;
    double frac = 0;
    for (int b = 0; b < N; b++) {
        const float *v = y + (size_t)b * NP;
        int i0 = H, i1 = -1, j0 = W, j1 = -1, zeros = 0;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                if (v[i * W + j] == 0) {
                    zeros++;
                    i0 = i < i0 ? i : i0;
                    i1 = i > i1 ? i : i1;
                    j0 = j < j0 ? j : j0;
                    j1 = j > j1 ? j : j1;
                }
        if (!zeros) continue;
        erased++;
        rect &= zeros == (i1 - i0 + 1) * (j1 - j0 + 1) && i1 - i0 == j1 - j0;
        frac += (double)zeros / NP;
    }
    /* expected erased fraction: E[round(sqrt(U(0.1, 0.3) 784))^2] / 784 */
    double want = 0;
    for (int q = 0; q < 100000; q++) {
        double side = nearbyint(sqrt((0.1 + 0.2 * (q + 0.5) / 100000) * NP));
        want += side * side / NP;
    }
    want /= 100000;
    double p = (double)erased / N;
    ok(fabs(p - 0.4) < 4 * sqrt(0.24 / N), "erase = 0.4: %.3f of the views have an erased patch", p);
    ok(rect, "each erased patch is one square of zeros");
    ok(fabs(frac / erased - want) < 0.01, "erased area fraction %.4f (expected %.4f)", frac / erased, want);
    cwb_free(x);
    cwb_free(y);
}

static void test_determinism(void) {
    enum { B = 64 };
    float *x = cwb_alloc(B * NP), *a = cwb_alloc(B * NP), *b = cwb_alloc(B * NP), *o = cwb_alloc(B * NP);
    fill(x, B, 0, 1, 18);
    cwb_imaug_cfg c = cwb_imaug_defaults(H, W);
    c.noise = 0.05f;
    c.erase = 0.5f;
    apply(&c, x, a, B, 19);
    apply(&c, x, b, B, 19);
    apply(&c, x, o, B, 20);
    ok(!memcmp(a, b, sizeof(float) * B * NP), "every transform on: the same seed gives the same views");
    ok(memcmp(a, o, sizeof(float) * B * NP) != 0, "another seed gives other views");
    /* two views from one stream differ (the two halves of a pair) */
    cwb_imaug *aug = cwb_imaug_new(&c);
    cwb_rng r;
    cwb_rng_seed(&r, 21, CWB_STREAM_AUG);
    cwb_imaug_apply(aug, x, a, B, &r);
    cwb_imaug_apply(aug, x, b, B, &r);
    ok(memcmp(a, b, sizeof(float) * B * NP) != 0 && !cwb_has_nonfinite(a, B * NP),
       "two views drawn in turn differ, and are finite");
    cwb_imaug_cfg d = cwb_imaug_defaults(H, W);
    ok(d.crop_scale == 0.25f && d.crop_pad == 0 && d.flip == 0.5f && d.brightness == 0.4f &&
           d.contrast == 0.4f && d.noise == 0 && d.erase == 0 && d.erase_min == 0.02f &&
           d.erase_max == 0.33f && d.erase_ratio == 3.3f,
       "the documented defaults");
    ok(cwb_imaug_apply(aug, x, x + 10, 2, &r) == CWB_EINVAL && strstr(cwb_errmsg(), "overlaps"),
       "an output overlapping the input is refused");
    cwb_imaug_free(aug);
    cwb_free(x);
    cwb_free(a);
    cwb_free(b);
    cwb_free(o);
}

static void test_bad(void) {
    cwb_imaug_cfg c;
#define BAD(stmt, word)                                                                   \
    c = cwb_imaug_none(H, W);                                                             \
    stmt;                                                                                 \
    ok(!cwb_imaug_new(&c) && strstr(cwb_errmsg(), word) && !strchr(cwb_errmsg(), '\n'), \
       "%s: \"%s\"", #stmt, cwb_errmsg())
    BAD(c.height = 0, "image shape 0 x 28");
    BAD(c.crop_pad = -1, "crop_pad = -1");
    BAD(c.crop_pad = 29, "crop_pad = 29 outside 0..28");
    BAD(c.crop_scale = 1.5f, "crop_scale = 1.5");
    BAD((c.crop_scale = 0.5f, c.crop_pad = 2), "choose one crop");
    BAD(c.flip = -0.1f, "flip = -0.1");
    BAD(c.brightness = 2, "brightness = 2");
    BAD(c.contrast = NAN, "contrast = nan");
    BAD(c.noise = INFINITY, "noise = inf");
    BAD(c.erase = 1.1f, "erase = 1.1");
    BAD((c.erase_min = 0.4f, c.erase_max = 0.3f), "0 < min <= max < 1");
    BAD(c.erase_ratio = 0.5f, "erase_ratio = 0.5");
}

int main(void) {
    test_identity_and_flip();
    test_crop_pad();
    test_resized_crop();
    test_jitter();
    test_noise();
    test_erase();
    test_determinism();
    test_bad();
    return done_testing();
}
