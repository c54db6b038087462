/*
 * scalefit.h - the gradient-bias experiment with a known optimum
 * (docs/methods.md, "The experiments", 1).
 *
 * Fixed L2-normalised embeddings a, b (n x k) of clustered pairs; the only
 * parameter is the logit scale theta (inverse temperature).  theta* minimises
 * the population InfoNCE (all n-1 negatives) and is found by Newton's method;
 * SGD on the minibatch loss of a given kind then shows where each loss
 * settles: theta / theta* = 1 is the optimum.
 */
#ifndef CWB_SCALEFIT_H
#define CWB_SCALEFIT_H

#include <stdint.h>
#include "engine/loss/loss.h"
#include "engine/train/driver.h"

/* Newton on the population loss from theta0 (> 0); converges to |L'| < 1e-10. */
int cwb_scale_optimum(const float *a, const float *b, int n, int k, int chunk,
                      double theta0, double *theta_star);

typedef struct {
    cwb_loss_cfg loss;       /* kind, alpha, gamma, noise_sigma; n_total is set to n */
    int unscaled;            /* INFONCE/DCL only: n_total = 0, the standard in-batch
                              * loss (negatives not scaled by (n-1)/(B-1)) instead of
                              * the minibatch estimate of the population loss */
    int batch;               /* B >= 2 */
    int batch_max;           /* the largest B the batch-size knob may reach (0 = batch) */
    float batch_noise;       /* skew of the batches (sampler noise) */
    int importance;          /* importance-weight skewed negatives */
    double lr;               /* plain SGD on theta */
    double theta0;           /* initial theta */
    uint64_t seed;
} cwb_scalefit_cfg;

typedef struct cwb_scalefit cwb_scalefit;
/* labels[n] (cluster of each pair) is used by the skewed sampler; may be NULL
 * when batch_noise = 0.  a, b are copied. */
cwb_scalefit *cwb_scalefit_new(const cwb_scalefit_cfg *cfg, const float *a,
                               const float *b, const int *labels, int n, int k);
void cwb_scalefit_free(cwb_scalefit *s);
/* One SGD step on theta; *theta receives the new value, *loss the reported loss. */
int cwb_scalefit_step(cwb_scalefit *s, double *theta, double *loss);
double cwb_scalefit_theta(const cwb_scalefit *s);   /* the current theta */
long cwb_scalefit_steps(const cwb_scalefit *s);     /* steps taken */
const cwb_scalefit_cfg *cwb_scalefit_config(const cwb_scalefit *s);  /* effective */
/* Back to the state right after cwb_scalefit_new: theta0, the same batches. */
int cwb_scalefit_reset(cwb_scalefit *s);
/* The experiment's parameters as one JSON object. */
int cwb_scalefit_describe(const cwb_scalefit *s, cwb_json *j);

/* Live knobs (core/knob.h), from the next step on: "lr", "batch"
 * (2..batch_max, the buffers sized for it at construction) and the loss's
 * "noise", "alpha", "gamma" (loss.h, flat option names as the scale fit's
 * options are).  reset() returns them to the constructed values; describe()
 * writes them as they are now. */
int cwb_scalefit_set(cwb_scalefit *s, const char *name, double value);
int cwb_scalefit_knobs(const cwb_scalefit *s, cwb_knob *out, int max);

/* The trainer interface (driver.h): steps report loss and theta (the
 * headline); no evaluation, nothing to embed; a tick every 256 steps; the
 * knobs above. */
extern const cwb_train_ops cwb_scalefit_ops;

/* Fixed embeddings for the experiment: n pairs from `clusters` clusters on
 * S^{k-1}; a_i = normalise(c + spread e), b_i = normalise(a_i + pair_noise e'). */
int cwb_scalefit_pairs(int n, int k, int clusters, float spread,
                       float pair_noise, uint64_t seed, float *a, float *b,
                       int *labels);

#endif
