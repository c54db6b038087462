/*
 * data.h - the data set type, synthetic noisy data, vector augmentations and
 * the batch sampler.  Real data sets (fmnist.h) and image augmentations
 * (image_augment.h) are built on the same cwb_dataset type.
 *
 * Generative model (documented in docs/data.md):
 *   K cluster centres c_k uniform on the unit sphere S^{m-1} (m = latent_dim);
 *   sample i: label y_i uniform in 0..K-1, z_i = normalise(c_{y_i} + spread * e),
 *   e ~ N(0, I_m); observation x_i = tanh?(M z_i) + obs_noise * n, with M a
 *   d x m Gaussian mixing matrix scaled by 1/sqrt(m), n ~ N(0, I_d).
 */
#ifndef CWB_DATA_H
#define CWB_DATA_H

#include <stdint.h>
#include "engine/core/rng.h"
#include "engine/core/tensor.h"
#include "util/json.h"

typedef struct {
    int n;               /* samples N */
    int clusters;        /* K */
    int latent_dim;      /* m */
    int dim;             /* observed d */
    float spread;        /* within-cluster latent std */
    float obs_noise;     /* observation noise std */
    int nonlinear;       /* apply tanh after the mixing */
} cwb_synth_cfg;

/* Defaults: N 2048, K 16, m 16, d 64, spread 0.5, noise 0.1, nonlinear 1. */
cwb_synth_cfg cwb_synth_defaults(void);

/* A data set: synthetic (cwb_synth_new) or real (fmnist.h).  The trainer
 * and the sampler read x, labels and the cluster index. */
typedef struct {
    cwb_tensor *x;       /* N x d observations */
    cwb_tensor *z;       /* N x m latent points (synthetic data; NULL otherwise) */
    int *labels;         /* N cluster (class) labels in 0..K-1 */
    int *cluster_start;  /* K+1 offsets into by_cluster */
    int *by_cluster;     /* sample indices grouped by cluster */
    int n, dim, clusters;
    int height, width;   /* images: each row is height x width pixels, row-major
                          * (height * width = dim); 0 for vector data */
    const char *const *class_names;  /* `clusters` static names, or NULL */
} cwb_dataset;

cwb_dataset *cwb_synth_new(const cwb_synth_cfg *cfg, uint64_t seed);
/* The config as the member `key` of the JSON object j is writing. */
void cwb_synth_describe(const cwb_synth_cfg *c, const char *key, cwb_json *j);
void cwb_dataset_free(cwb_dataset *d);
/* Fill cluster_start and by_cluster from labels[0..n) (n, clusters and
 * labels set, the two index arrays NULL): indices ascending within a
 * cluster.  CWB_EINVAL for a label outside 0..clusters-1, CWB_ENOMEM. */
int cwb_dataset_index(cwb_dataset *d);

/* Augmentations: vector analogues of image/text transforms; each strength 0 = off. */
typedef struct {
    float jitter;        /* Gaussian jitter std (pixel noise) */
    float mask;          /* fraction of coordinates zeroed (random crop / word dropout) */
    float flip;          /* per-row probability of negating a cyclic block of d/2 coordinates (flip) */
    float scale;         /* multiply the row by 1 + scale * U(-1,1) (colour jitter) */
} cwb_aug_cfg;
/* Defaults: jitter 0.1, mask 0.1, flip 0, scale 0.2. */
cwb_aug_cfg cwb_aug_defaults(void);
/* The one check of an augmentation config, used by cwb_augment and by every
 * trainer when it is built: jitter and scale finite and >= 0, mask and flip
 * in [0, 1].  CWB_EINVAL with "who: jitter = inf, must be finite and >= 0"
 * (who names the caller and the config, e.g. "trainer: aug"; may be NULL). */
int cwb_aug_check(const cwb_aug_cfg *c, const char *who);
/* The config as the member `key` of the JSON object j is writing. */
void cwb_aug_describe(const cwb_aug_cfg *c, const char *key, cwb_json *j);
/* out[B x d] = augment(x[B x d]); out may not alias x.  Errors on strengths
 * outside their range (cwb_aug_check). */
int cwb_augment(const cwb_aug_cfg *cfg, const float *x, float *out, int B, int d, cwb_rng *r);

/*
 * Batch sampler.  noise in [0,1]: each batch picks one "focus" cluster; each
 * slot is drawn from that cluster with probability `noise`, otherwise from the
 * whole data set, without repeats inside a batch.  noise = 0 gives uniform
 * batches; noise = 1 fills batches from one cluster (negatives unlike the
 * population's).  pair_noise in [0,1]: probability that a row's positive is
 * replaced by a random other sample (a broken pair).  Importance weights
 * w_j = (1/N) / q_j undo the skew of the negatives when requested (q_j taken
 * per slot given the slots already filled, so E[w] = 1: docs/data.md).
 */
typedef struct cwb_sampler cwb_sampler;
cwb_sampler *cwb_sampler_new(const cwb_dataset *d, int batch, float noise,
                             float pair_noise, uint64_t seed);
void cwb_sampler_free(cwb_sampler *s);
/* idx[B]: anchors; pos[B]: positives' indices (== idx unless pair noise);
 * weights[B] (nullable): importance weights, mean about 1. */
int cwb_sampler_next(cwb_sampler *s, int *idx, int *pos, float *weights);
/* The batch size from the next batch on, 1..N (a live knob: the sampler
 * keeps no per-batch buffers, so only the caller's must have room).
 * CWB_EINVAL outside that range. */
int cwb_sampler_set_batch(cwb_sampler *s, int batch);

/* Gather rows: out[i] = x[idx[i]] for i < B. */
void cwb_gather_rows(const cwb_tensor *x, const int *idx, int B, float *out);

#endif
