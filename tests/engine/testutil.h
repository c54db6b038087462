/*
 * testutil.h - inputs and references shared by the engine tests
 * (tests/engine/test_*.c; include after ../tap.h).
 *
 * What several tests need and must agree on: unit-norm random rows as an
 * encoder gives them, the activations in double precision (the reference the
 * layer and MLP gradients are checked against), one central difference, and
 * "does the last engine message say X".  Written from methods.md and the
 * definitions, never from the engine code they check.
 */
#ifndef CWB_TESTUTIL_H
#define CWB_TESTUTIL_H

#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "engine/nn/layers.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define TU_UNUSED __attribute__((unused))

/* n rows of width k, Gaussian then L2-normalised (each row uniform on the
 * sphere), from r. */
static TU_UNUSED void tu_unit_rows(cwb_rng *r, float *x, int n, int k) {
    for (int i = 0; i < n; i++) {
        double n2 = 0;
        for (int d = 0; d < k; d++) {
            x[i * k + d] = (float)cwb_rng_normal(r);
            n2 += (double)x[i * k + d] * x[i * k + d];
        }
        for (int d = 0; d < k; d++) x[i * k + d] = (float)(x[i * k + d] / sqrt(n2));
    }
}

/* Seed r with (seed, CWB_STREAM_USER) and draw two batches a, b of n unit
 * rows of width k: the inputs of most loss and regulariser checks. */
static TU_UNUSED void tu_unit_pair(cwb_rng *r, uint64_t seed, float *a, float *b, int n, int k) {
    cwb_rng_seed(r, seed, CWB_STREAM_USER);
    tu_unit_rows(r, a, n, k);
    tu_unit_rows(r, b, n, k);
}

/* The activations (layers.h) in double: GELU in its tanh form. */
static TU_UNUSED double tu_act(cwb_act a, double x) {
    switch (a) {
    case CWB_ACT_RELU: return x > 0 ? x : 0;
    case CWB_ACT_GELU:
        return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case CWB_ACT_TANH: return tanh(x);
    default: return x;
    }
}

/* The central difference (f(x + h) - f(x - h)) / 2h of f(ctx) with respect to
 * the one coordinate *x, which f reads through ctx; *x is restored. */
typedef double (*tu_fn)(const void *ctx);
static TU_UNUSED double tu_central_diff(double *x, double h, tu_fn f, const void *ctx) {
    const double x0 = *x;
    *x = x0 + h;
    const double p = f(ctx);
    *x = x0 - h;
    const double m = f(ctx);
    *x = x0;
    return (p - m) / (2 * h);
}

/* The last engine message contains s. */
static TU_UNUSED int tu_msg_has(const char *s) { return strstr(cwb_errmsg(), s) != NULL; }

/* One bad configuration: a copy of base (a T), changed by stmt through the
 * pointer `c`, must be refused by make (an expression of c giving an object
 * or NULL; drop frees one made by mistake) with a message containing word:
 * TU_REJECTS(cwb_x_cfg, base, cwb_x_new(c), cwb_x_free, "batch 1", "batch", c->batch = 1). */
#define TU_REJECTS(T, base, make, drop, desc, word, stmt)                                          \
    do {                                                                                           \
        T tu_cfg_ = (base), *c = &tu_cfg_;                                                         \
        stmt;                                                                                      \
        cwb_clear_error();                                                                         \
        void *tu_obj_ = (make);                                                                    \
        ok(tu_obj_ == NULL && tu_msg_has(word), "rejected: %s (\"%s\")", desc, cwb_errmsg());      \
        drop(tu_obj_);                                                                             \
    } while (0)

#endif
