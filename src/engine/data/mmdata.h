/*
 * mmdata.h - two-modality synthetic data with a controllable information gap
 * (docs/multimodal.md; methods.md "Modality-structure regularisers" and
 * experiment 3).
 *
 * Generative model, per sample i (K classes, uniform labels):
 *   y_i ~ U{0..K-1}
 *   s_i   = a mu^s_{y_i} + spread e      shared factors, seen by both modalities
 *   u^V_i = b mu^V_{y_i} + spread e      factors only the "image" V sees
 *   u^T_i =                spread e      factors only the "text" T sees
 *   a = signal sqrt(1 - gap), b = signal sqrt(gap), mu^s_c, mu^V_c unit vectors
 *   x^V_i = f_V([s_i, u^V_i]) + v_noise n,   x^T_i = f_T([s_i, u^T_i]) + t_noise n
 * with f_M(z) = W2 tanh(W1 z + b1) a random two-layer tanh network per modality.
 * So gap = 0 puts all the class information in the shared factors (both
 * modalities see it equally), gap = 1 puts it all in V's private factors (T
 * is at chance): I(X_V;Y) stays about constant while I(X_T;Y) falls, and the
 * information gap Delta = I(X_V;Y) - I(X_T;Y) grows with `gap`.
 *
 * Class "captions" (zero-shot prototypes) are text observations of the class
 * centre, f_T([a mu^s_c, 0]) without noise: a caption describes only what
 * text can describe.  The fusion "question about an image": the text's
 * private factors pose a question, the answer is q_i = [<u^T_i, P u^V_i> > 0]
 * for a random matrix P, which neither modality determines alone.
 *
 * Samples 0..n_train-1 are the training split, the rest the test split.
 */
#ifndef CWB_MMDATA_H
#define CWB_MMDATA_H

#include <stdint.h>
#include "engine/data/data.h"
#include "engine/core/rng.h"
#include "engine/core/tensor.h"

typedef enum { CWB_MOD_V = 0, CWB_MOD_T = 1 } cwb_modality;

typedef struct {
    int n_train, n_test;     /* split sizes, each >= 1 */
    int classes;             /* K >= 2 */
    int shared_dim;          /* dim of s */
    int v_private_dim;       /* dim of u^V (>= 1) */
    int t_private_dim;       /* dim of u^T (>= 1) */
    int v_dim, t_dim;        /* observed dimensions */
    int hidden;              /* width of the random tanh maps f_V, f_T */
    float gap;               /* in [0, 1]: share of the class signal that only V sees */
    float signal;            /* class-centre radius in latent space (> 0) */
    float spread;            /* within-class latent std (> 0) */
    float v_noise, t_noise;  /* observation noise std (>= 0) */
} cwb_mm_cfg;

/* Defaults: n_train 2000, n_test 1000, K 10, shared 8, v_private 8,
 * t_private 4, v_dim 48, t_dim 32, hidden 64, gap 0, signal 1.6,
 * spread 0.5, v_noise 0.05, t_noise 0.05.  (The kNN accuracy on the raw
 * observations is an evaluation: cwb_mm_knn_baseline in eval/probe.h.) */
cwb_mm_cfg cwb_mm_defaults(void);

typedef struct {
    cwb_mm_cfg cfg;
    int n;                   /* n_train + n_test */
    cwb_tensor *xv;          /* n x v_dim observations of V */
    cwb_tensor *xt;          /* n x t_dim observations of T */
    cwb_tensor *latent;      /* n x (shared + v_private + t_private): [s, u^V, u^T] */
    int *labels;             /* n class labels */
    int *question;           /* n fusion-task answers in {0, 1} */
    cwb_tensor *captions;    /* K x t_dim class captions (text prototypes) */
    /* Estimates over all n samples (docs/multimodal.md "Information gap"): */
    double bayes_v, bayes_t; /* accuracy of the Bayes classifier on V's / T's latent factors */
    double mi_v, mi_t;       /* I(latent_V; Y), I(latent_T; Y) in nats: log K + E log p(y | latent) */
    double info_gap;         /* mi_v - mi_t: an upper-bound-based estimate of Delta */
} cwb_mm_data;

/* NULL + message on a bad config or no memory.  Same (cfg, seed), same data;
 * two configs differing only in `gap` share every random draw (centres,
 * maps, noise), so a sweep over the gap changes nothing else. */
cwb_mm_data *cwb_mm_data_new(const cwb_mm_cfg *cfg, uint64_t seed);
/* The data set's config and its information gap (info_gap_nats) as the
 * member `key` of the JSON object j is writing. */
void cwb_mm_data_describe(const cwb_mm_data *d, const char *key, cwb_json *j);
void cwb_mm_data_free(cwb_mm_data *d);

static inline const cwb_tensor *cwb_mm_x(const cwb_mm_data *d, cwb_modality m) {
    return m == CWB_MOD_V ? d->xv : d->xt;
}

/* out[B x dim] = augment(x_m[idx[i]]) (aug may be NULL: plain gather).
 * Errors on a bad modality, index out of range, or cwb_augment's errors. */
int cwb_mm_gather(const cwb_mm_data *d, cwb_modality m, const int *idx, int B,
                  const cwb_aug_cfg *aug, cwb_rng *r, float *tmp, float *out);

#endif
