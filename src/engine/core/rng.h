/*
 * rng.h - seedable random streams.
 *
 * xoshiro256** seeded through splitmix64 from a (seed, stream) pair, so that
 * one run seed yields independent streams for data, initialisation, batches,
 * augmentations and the gamma E-step.  Same (seed, stream), same numbers, bit
 * for bit, on every machine: no floating-point state besides the cached
 * Box-Muller spare, which is part of the struct.
 */
#ifndef CWB_RNG_H
#define CWB_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
    double spare;       /* second Box-Muller normal */
    int has_spare;
} cwb_rng;

/* Well-known stream ids, so every component draws from its own stream. */
enum {
    CWB_STREAM_DATA = 1,
    CWB_STREAM_INIT = 2,
    CWB_STREAM_BATCH = 3,
    CWB_STREAM_AUG = 4,
    CWB_STREAM_LOSS = 5,
    CWB_STREAM_NOISE = 6,
    CWB_STREAM_EVAL = 7,
    CWB_STREAM_USER = 100,
};

void cwb_rng_seed(cwb_rng *r, uint64_t seed, uint64_t stream);
uint64_t cwb_rng_u64(cwb_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double cwb_rng_uniform(cwb_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's method); n > 0. */
uint64_t cwb_rng_below(cwb_rng *r, uint64_t n);
/* Standard normal (Box-Muller, both values used). */
double cwb_rng_normal(cwb_rng *r);
/*
 * Gamma(shape, rate): mean shape/rate, variance shape/rate^2.
 * Marsaglia & Tsang (2000); for shape < 1 draws Gamma(shape+1) and multiplies
 * by U^(1/shape).  Returns NaN if shape or rate is not positive and finite.
 */
double cwb_rng_gamma(cwb_rng *r, double shape, double rate);
/* Fisher-Yates permutation of 0..n-1 into p. */
void cwb_rng_permutation(cwb_rng *r, int *p, int n);
/* Fill x[0..n) with mean + std * N(0,1). */
void cwb_rng_fill_normal(cwb_rng *r, float *x, long n, float mean, float std);
/* A point uniform on the unit sphere S^{m-1} into x[0..m): a normalised
 * isotropic Gaussian, drawn again in the (measure-zero) case of norm ~0. */
void cwb_rng_sphere(cwb_rng *r, float *x, int m);

#endif
