/* rng.c - xoshiro256** streams and the samplers built on them (see rng.h). */
#include "rng.h"

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

void cwb_rng_fill_normal(cwb_rng *r, float *x, long n, float mean, float std) {
    for (long i = 0; i < n; i++) x[i] = mean + std * (float)cwb_rng_normal(r);
}
