/* rng.c - xoshiro256** streams and the samplers built on them (see rng.h). */
#include "engine/core/rng.h"
#include "engine/core/tensor.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void cwb_rng_seed(cwb_rng *r, uint64_t seed, uint64_t stream) {
    /* Mix the stream id in through a second splitmix pass so that nearby
     * (seed, stream) pairs give unrelated states. */
    uint64_t x = seed;
    uint64_t y = splitmix64(&x) ^ (stream * 0xd1b54a32d192ed03ULL + 0x632be59bd9b4e019ULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&y);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
    r->has_spare = 0;
    r->spare = 0;
}

uint64_t cwb_rng_u64(cwb_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double cwb_rng_uniform(cwb_rng *r) {
    return (double)(cwb_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t cwb_rng_below(cwb_rng *r, uint64_t n) {
    /* Lemire's multiply-shift with rejection: unbiased for every n. */
    unsigned __int128 m = (unsigned __int128)cwb_rng_u64(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t t = -n % n;
        while (lo < t) {
            m = (unsigned __int128)cwb_rng_u64(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double cwb_rng_normal(cwb_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1, u2;
    do u1 = cwb_rng_uniform(r); while (u1 <= 0.0);
    u2 = cwb_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    double th = 6.283185307179586 * u2; /* 2 pi */
    r->spare = rad * sin(th);
    r->has_spare = 1;
    return rad * cos(th);
}

double cwb_rng_gamma(cwb_rng *r, double shape, double rate) {
    if (!(shape > 0) || !(rate > 0) || !isfinite(shape) || !isfinite(rate)) return NAN;
    double boost = 1.0;
    if (shape < 1.0) {
        /* Gamma(a) = Gamma(a+1) * U^(1/a): Marsaglia & Tsang's boost. */
        double u;
        do u = cwb_rng_uniform(r); while (u <= 0.0);
        boost = pow(u, 1.0 / shape);
        shape += 1.0;
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = cwb_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = cwb_rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x) return boost * d * v / rate;
        if (u > 0.0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return boost * d * v / rate;
    }
}

void cwb_rng_permutation(cwb_rng *r, int *p, int n) {
    for (int i = 0; i < n; i++) p[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)cwb_rng_below(r, (uint64_t)i + 1);
        int t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

/*
 * Block Box-Muller in float, four pairs at a time (bench helper experiment).
 * One 64-bit draw per pair: 24 bits give u in (0, 1], 24 bits an angle phi
 * uniform in [0, pi/2), 2 bits the signs of the two outputs (a uniform angle
 * in [0, 2 pi) is a uniform angle in the first quadrant with random signs).
 * log, sin and cos are polynomials written here, so the numbers depend on
 * IEEE float arithmetic only, not on the libm in use.
 *   z1 = +-sqrt(-2 ln u) cos phi,  z2 = +-sqrt(-2 ln u) sin phi
 */
#include "engine/core/vexp.h"

/* ln x for x in (0, 1]: x = 2^e m, m in [sqrt(1/2), sqrt(2)),
 * ln m = 2 atanh(s), s = (m - 1)/(m + 1), |s| <= 0.172, series to s^9. */
static inline cwb_v4f v4_log01(cwb_v4f x) {
    cwb_v4i bits = (cwb_v4i)x;
    cwb_v4i e = ((bits >> 23) & 0xff) - 127;
    cwb_v4f m = (cwb_v4f)((bits & 0x007fffff) | 0x3f800000);   /* [1, 2) */
    cwb_v4i big = m > cwb_v4f_set1(1.41421356f);
    m = cwb_v4f_select(big, m * cwb_v4f_set1(0.5f), m);
    e = e - big;   /* big is -1 where true */
    cwb_v4f s = (m - cwb_v4f_set1(1.0f)) / (m + cwb_v4f_set1(1.0f));
    cwb_v4f s2 = s * s;
    cwb_v4f p = cwb_v4f_set1(1.0f / 9);
    p = p * s2 + cwb_v4f_set1(1.0f / 7);
    p = p * s2 + cwb_v4f_set1(1.0f / 5);
    p = p * s2 + cwb_v4f_set1(1.0f / 3);
    p = p * s2 + cwb_v4f_set1(1.0f);
    cwb_v4f ef = __builtin_convertvector(e, cwb_v4f);
    return ef * cwb_v4f_set1(0.693147180559945f) + cwb_v4f_set1(2.0f) * s * p;
}

/* sin and cos of phi = psi + pi/4, |psi| <= pi/4, Taylor to psi^9 / psi^10. */
static inline void v4_sincos_q1(cwb_v4f psi, cwb_v4f *sn, cwb_v4f *cs) {
    cwb_v4f x2 = psi * psi;
    cwb_v4f s = cwb_v4f_set1(1.0f / 362880);
    s = s * x2 - cwb_v4f_set1(1.0f / 5040);
    s = s * x2 + cwb_v4f_set1(1.0f / 120);
    s = s * x2 - cwb_v4f_set1(1.0f / 6);
    s = s * x2 + cwb_v4f_set1(1.0f);
    s = s * psi;
    cwb_v4f c = cwb_v4f_set1(-1.0f / 3628800);
    c = c * x2 + cwb_v4f_set1(1.0f / 40320);
    c = c * x2 - cwb_v4f_set1(1.0f / 720);
    c = c * x2 + cwb_v4f_set1(1.0f / 24);
    c = c * x2 - cwb_v4f_set1(0.5f);
    c = c * x2 + cwb_v4f_set1(1.0f);
    const cwb_v4f h = cwb_v4f_set1(0.70710678118654752f);
    *sn = (s + c) * h;
    *cs = (c - s) * h;
}

/* Sixteen standard normals from eight draws (two independent 4-lane chains,
 * so that the latency of one overlaps the other). */
static inline void normal_pairs4(const uint64_t *w, float *out) {
    cwb_v4i ub, ab, sg;
    for (int l = 0; l < 4; l++) {
        ub[l] = (int32_t)(w[l] >> 40);                 /* 24 bits */
        ab[l] = (int32_t)((w[l] >> 16) & 0xffffff);    /* 24 bits */
        sg[l] = (int32_t)(w[l] & 3);
    }
    const cwb_v4f ulp = cwb_v4f_set1(0x1.0p-24f);
    cwb_v4f u = (__builtin_convertvector(ub, cwb_v4f) + cwb_v4f_set1(1.0f)) * ulp;  /* (0, 1] */
    cwb_v4f psi = __builtin_convertvector(ab, cwb_v4f) * (ulp * cwb_v4f_set1(1.57079632679489662f))
                  - cwb_v4f_set1(0.78539816339744831f);
    cwb_v4f rad2 = cwb_v4f_set1(-2.0f) * v4_log01(u), rad;
    for (int l = 0; l < 4; l++) rad[l] = __builtin_sqrtf(rad2[l] > 0.0f ? rad2[l] : 0.0f);
    cwb_v4f sn, cs;
    v4_sincos_q1(psi, &sn, &cs);
    cwb_v4i sbit = (sg & 1) << 31, cbit = (sg & 2) << 30;
    cwb_v4f z1 = (cwb_v4f)((cwb_v4i)(rad * cs) ^ cbit);
    cwb_v4f z2 = (cwb_v4f)((cwb_v4i)(rad * sn) ^ sbit);
    cwb_v4f_store(out, z1);
    cwb_v4f_store(out + 4, z2);
}

static void normal16(cwb_rng *r, float *out) {
    uint64_t w[8];
    for (int l = 0; l < 8; l++) w[l] = cwb_rng_u64(r);
    normal_pairs4(w, out);
    normal_pairs4(w + 4, out + 8);
}

void cwb_rng_fill_normal(cwb_rng *r, float *x, long n, float mean, float std) {
    long i = 0;
    float z[16];
    for (; i + 16 <= n; i += 16) {
        normal16(r, z);
        for (int l = 0; l < 16; l++) x[i + l] = mean + std * z[l];
    }
    if (i < n) {
        normal16(r, z);
        for (int l = 0; i + l < n; l++) x[i + l] = mean + std * z[l];
    }
}

void cwb_rng_sphere(cwb_rng *r, float *x, int m) {
    do cwb_rng_fill_normal(r, x, m, 0.0f, 1.0f);
    while (!cwb_normalise(x, m));
}
