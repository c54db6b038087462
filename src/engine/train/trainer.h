/*
 * trainer.h - one training step at a time, so the headless runner and the
 * interactive UI drive the same code and compute the same numbers.
 *
 * Layer: engine/train.  Included by the Lua binding (src/lua/ltrainer.c)
 * and tests.
 *
 * A step: sample a batch (sampler, or an epoch's permutation with
 * shuffle), augment it twice (two views: the vector augmentations on
 * vector data, the image augmentations of image_augment.h on a data set of
 * images), encode both views (one shared tower on the 2B stacked rows, or
 * one tower each; optionally a projection head after the shared tower),
 * evaluate the loss, back-propagate, update with the optimiser.  Everything
 * is allocated in cwb_trainer_new; a step does not allocate.
 *
 * Evaluation: without a test split, the retrieval and geometry metrics of
 * cwb_eval_info on two fixed augmented views of the training data; with
 * one (cwb_trainer_new_split), the SimCLR protocol of methods.md ("Real
 * data"): the frozen representation (the tower's output, before the head)
 * of the un-augmented training and test rows, scored by the weighted kNN
 * and the linear probe (cwb_probe_info).
 */
#ifndef CWB_TRAINER_H
#define CWB_TRAINER_H

#include <stdint.h>
#include "engine/data/data.h"
#include "engine/data/image_augment.h"
#include "engine/eval/linprobe.h"
#include "engine/loss/loss.h"
#include "engine/nn/mlp.h"
#include "engine/nn/optim.h"
#include "engine/train/driver.h"

/* The probes of an evaluation with a test split (methods.md, "Real data"). */
typedef struct {
    int knn;                 /* neighbours of the weighted kNN; 0 = no kNN (default 20) */
    double knn_temperature;  /* exp(s / temperature) votes (default 0.07) */
    int linear;              /* run the linear probe (default 1) */
    cwb_linprobe_cfg probe;  /* its settings; the validation split's seed is the run's */
} cwb_probe_cfg;

typedef struct {
    uint64_t seed;
    cwb_synth_cfg data;      /* used when no data set is passed in */
    cwb_aug_cfg aug;         /* vector data */
    cwb_imaug_cfg imaug;     /* a data set of images (height > 0): its shape is the data's */
    int shuffle;             /* batches are consecutive slices of a permutation of the
                              * data reshuffled every epoch (an incomplete last slice
                              * is dropped), instead of the sampler's draws; needs
                              * batch_noise = pair_noise = 0 and no importance */
    int batch;               /* B >= 2 */
    int batch_max;           /* the largest B the batch-size knob may reach: the batch
                              * buffers are sized for it (0 = batch, the default) */
    float batch_noise;       /* sampler noise in [0,1] */
    float pair_noise;        /* sampler pair noise in [0,1] */
    int importance;          /* pass the sampler's importance weights to the loss */
    cwb_mlp_cfg enc;         /* dims[0] must equal the data dimension */
    int shared_tower;        /* one tower for both views (default) or two */
    cwb_mlp_cfg head;        /* projection head (n_layers 0 = none; shared tower only):
                              * the tower's output h is the representation, the loss
                              * sees head(act(h)) with head.dims[0] = the tower's
                              * output width; enc.l2norm then applies to the head's
                              * output, not to h (head.act and head.l2norm are
                              * taken from enc) */
    cwb_optim_cfg opt;
    cwb_schedule sched;
    cwb_loss_cfg loss;       /* n_total is filled in with N by the trainer if 0 and stateful */
    float tau;               /* initial temperature */
    int learn_tau;           /* learn log(1/tau), clamped to 1/tau <= 100; updated by
                              * an optimiser of kind cfg.opt without weight decay */
    int eval_chunk;          /* rows per block in evaluation (0 = 256) */
    cwb_probe_cfg eval;      /* used with a test split */
} cwb_trainer_cfg;

/* Defaults: seed 1, synth defaults, aug defaults, image augmentation
 * defaults (cwb_imaug_defaults; the shape is the data's), no shuffle, B
 * 256, encoder 64-256-64 ReLU with L2 norm, shared tower, no head, SGD lr
 * 0.1 momentum 0.9, constant lr, InfoNCE, tau 0.1 fixed; probes kNN 20 at
 * 0.07 and the linear probe with cwb_linprobe_defaults. */
cwb_trainer_cfg cwb_trainer_defaults(void);

typedef struct {
    long step;               /* steps done, after this one */
    double loss;             /* reported loss value */
    double surrogate;        /* value whose gradient was used */
    double lr;               /* learning rate applied */
    double tau;              /* temperature after the step */
    double grad_norm;        /* L2 norm of all parameter gradients */
} cwb_step_info;

typedef struct {
    double top1;             /* full-data-set top-1 retrieval of the positive view */
    double pop_loss;         /* population InfoNCE with all N-1 negatives, at 1/tau */
    double alignment, uniformity, collapse_std;   /* uniformity, collapse_std: view a */
    double gap_centroid, gap_paired;
} cwb_eval_info;

/* An evaluation with a test split; a probe that was not run is NaN (and
 * absent from the trainer interface's metrics list). */
typedef struct {
    double knn_acc;          /* weighted kNN accuracy on the test rows */
    double knn_seconds;      /* its wall time */
    double linear_acc;       /* linear probe accuracy on the test rows */
    double linear_l2;        /* the L2 strength it chose on the validation split */
    double linear_converged; /* 1 if the final fit met a tolerance, else 0 */
    double linear_seconds;   /* its wall time (choice of l2 and refit) */
    double embed_seconds;    /* wall time of embedding both splits */
} cwb_probe_info;

typedef struct cwb_trainer cwb_trainer;

/* data may be NULL (the trainer builds one from cfg->data with its seed) or
 * borrowed (must outlive the trainer). */
cwb_trainer *cwb_trainer_new(const cwb_trainer_cfg *cfg, const cwb_dataset *data);
/* The same with a test split (borrowed, nullable) that the evaluation
 * scores: rows of the data's width, labels in the data's classes. */
cwb_trainer *cwb_trainer_new_split(const cwb_trainer_cfg *cfg, const cwb_dataset *data,
                                   const cwb_dataset *test);
const cwb_dataset *cwb_trainer_test(const cwb_trainer *t);
void cwb_trainer_free(cwb_trainer *t);
const cwb_trainer_cfg *cwb_trainer_config(const cwb_trainer *t);
const cwb_dataset *cwb_trainer_data(const cwb_trainer *t);

/* One step.  CWB_ENAN with "step N: <quantity> is not finite" stops the run:
 * parameters are left as they were before the failing update. */
int cwb_trainer_step(cwb_trainer *t, cwb_step_info *info);
/* For gradient checks: the loss's surrogate on the given 2B x d views
 * (view 1 then view 2, already augmented; idx[B] the anchors' data set
 * indices, NULL = 0..B-1) and its gradient, left in the blocks; no
 * parameter moves, but a stateful loss updates its estimates as in a step. */
int cwb_trainer_value_grad(cwb_trainer *t, const float *views, const int *idx, double *surrogate);
/* The data set indices of the last step's anchors (B of them), valid until
 * the next step. */
const int *cwb_trainer_batch(const cwb_trainer *t);
/* A parameter block: 0 = tower 1 (the shared tower), 1 = tower 2 when there
 * are two, then the head.  params may be perturbed between calls of
 * cwb_trainer_value_grad. */
int cwb_trainer_block(cwb_trainer *t, int block, float **params, const float **grads, size_t *n);
/* Embed two fixed augmented views of the whole data set (eval stream, same
 * every call) and compute the metrics. */
int cwb_trainer_eval(cwb_trainer *t, cwb_eval_info *info);
/* With a test split: the probes of cfg.eval on the representation (before
 * the head) of the un-augmented rows.  CWB_ESTATE without a test split. */
int cwb_trainer_probe(cwb_trainer *t, cwb_probe_info *info);
/* The representation (the tower's output, before any head) of n rows of
 * x (n x data dim), un-augmented, into out (n x width); *width (nullable)
 * gets its width.  Blocks of at most 512 rows; allocates a copy of the
 * tower once. */
int cwb_trainer_represent(cwb_trainer *t, const float *x, int n, float *out, int *width);
/* The geometry pane's embeddings: the two evaluation views in the loss's
 * space (after the head), of the whole data set, or with a test split of
 * its first min(rows, CWB_TRAINER_EMBED_MAX) rows.  a, b are n x out_dim
 * buffers owned by the trainer, valid until the next eval/embed call; *n
 * (nullable) gets the row count. */
#define CWB_TRAINER_EMBED_MAX 2048
int cwb_trainer_embed(cwb_trainer *t, const float **a, const float **b);
int cwb_trainer_embed_rows(const cwb_trainer *t);
/* Back to the state right after cwb_trainer_new: same seed, same numbers. */
int cwb_trainer_reset(cwb_trainer *t);
/* The effective configuration as one JSON object (the run's parameters). */
int cwb_trainer_describe(const cwb_trainer *t, cwb_json *j);

/*
 * Live knobs (core/knob.h), applied from the next step on: "tau" (the
 * temperature; with learn_tau the value it learns on from), "lr" (the base
 * learning rate the schedule multiplies), "batch" (2..batch_max: the
 * buffers were sized for batch_max at construction, so a step still does
 * not allocate), and the loss's "noise", "alpha", "gamma" (loss.h).  What
 * cannot change live: the data, the encoder, the optimiser kind, the loss
 * kind, a batch above batch_max.  cwb_trainer_reset returns them to the
 * constructed values; cwb_trainer_describe writes them as they are now.
 */
int cwb_trainer_set(cwb_trainer *t, const char *name, double value);
int cwb_trainer_knobs(const cwb_trainer *t, cwb_knob *out, int max);

/* The trainer interface (driver.h): steps report loss, surrogate, lr, tau,
 * grad_norm; evaluations the fields of cwb_eval_info, or with a test split
 * those of cwb_probe_info that were measured; labels and class names are
 * the test split's when there is one; the knobs above. */
extern const cwb_train_ops cwb_trainer_ops;

#endif
