/*
 * vexp.h - exp over float arrays with GCC/Clang vector extensions, for the
 * loss rows (the step's hottest loop after sgemm).  Plain C vector types,
 * no intrinsics: the compiler lowers a 4-lane vector to whatever the target has (SSE2 on baseline
 * x86-64, NEON on arm64).
 *
 * exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2]
 * (ln 2 split in two for an exact product), exp(r) by its Taylor series to
 * r^7 (truncation error < 2e-9, below float's 6e-8), 2^n built in the
 * exponent bits.  x below -87.3 gives exactly 0 (so exp(-inf) = 0), x above
 * 88.0 is clamped (callers pass x <= 0).
 */
#ifndef CWB_VEXP_H
#define CWB_VEXP_H

#include <stdint.h>
#include <string.h>

typedef float cwb_v4f __attribute__((vector_size(16)));
typedef int32_t cwb_v4i __attribute__((vector_size(16)));

static inline cwb_v4f cwb_v4f_load(const float *p) {
    cwb_v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void cwb_v4f_store(float *p, cwb_v4f v) { memcpy(p, &v, sizeof v); }
static inline cwb_v4f cwb_v4f_set1(float x) { return (cwb_v4f){ x, x, x, x }; }
/* mask ? a : b, mask lanes all-ones or zero */
static inline cwb_v4f cwb_v4f_select(cwb_v4i mask, cwb_v4f a, cwb_v4f b) {
    return (cwb_v4f)((mask & (cwb_v4i)a) | (~mask & (cwb_v4i)b));
}
static inline cwb_v4f cwb_v4f_max(cwb_v4f a, cwb_v4f b) { return cwb_v4f_select(a > b, a, b); }

static inline cwb_v4f cwb_v4f_exp(cwb_v4f x) {
    const cwb_v4f lo = cwb_v4f_set1(-87.3f), hi = cwb_v4f_set1(88.0f);
    cwb_v4i under = x < lo;
    x = cwb_v4f_select(x > hi, hi, x);
    x = cwb_v4f_select(under, lo, x);
    /* round to nearest by the 1.5 * 2^23 shifter */
    const cwb_v4f shifter = cwb_v4f_set1(12582912.0f);
    cwb_v4f t = x * cwb_v4f_set1(1.44269504088896341f) + shifter;
    cwb_v4f n = t - shifter;
    cwb_v4i ni = (cwb_v4i)t - (cwb_v4i)shifter;
    cwb_v4f r = x - n * cwb_v4f_set1(0.693145751953125f);
    r = r - n * cwb_v4f_set1(1.428606765330187e-06f);
    cwb_v4f p = cwb_v4f_set1(1.0f / 5040);
    p = p * r + cwb_v4f_set1(1.0f / 720);
    p = p * r + cwb_v4f_set1(1.0f / 120);
    p = p * r + cwb_v4f_set1(1.0f / 24);
    p = p * r + cwb_v4f_set1(1.0f / 6);
    p = p * r + cwb_v4f_set1(0.5f);
    p = p * r + cwb_v4f_set1(1.0f);
    p = p * r + cwb_v4f_set1(1.0f);
    cwb_v4i scale = (ni + 127) << 23;
    cwb_v4f y = p * (cwb_v4f)scale;
    return (cwb_v4f)(~under & (cwb_v4i)y);
}

#endif
