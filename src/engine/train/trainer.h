/*
 * trainer.h - one training step at a time, so the headless runner and the
 * interactive UI drive the same code and compute the same numbers.
 *
 * A step: sample a batch (sampler), augment it twice (two views), encode
 * both views (one shared tower on the 2B stacked rows, or one tower each),
 * evaluate the loss, back-propagate, update with the optimiser.  Everything
 * is allocated in cwb_trainer_new; a step does not allocate.
 */
#ifndef CWB_TRAINER_H
#define CWB_TRAINER_H

#include <stdint.h>
#include "engine/data/data.h"
#include "engine/loss/loss.h"
#include "engine/nn/mlp.h"
#include "engine/nn/optim.h"
#include "engine/train/driver.h"

typedef struct {
    uint64_t seed;
    cwb_synth_cfg data;      /* used when no data set is passed in */
    cwb_aug_cfg aug;
    int batch;               /* B >= 2 */
    int batch_max;           /* the largest B the batch-size knob may reach: the batch
                              * buffers are sized for it (0 = batch, the default) */
    float batch_noise;       /* sampler noise in [0,1] */
    float pair_noise;        /* sampler pair noise in [0,1] */
    int importance;          /* pass the sampler's importance weights to the loss */
    cwb_mlp_cfg enc;         /* dims[0] must equal the data dimension */
    int shared_tower;        /* one tower for both views (default) or two */
    cwb_optim_cfg opt;
    cwb_schedule sched;
    cwb_loss_cfg loss;       /* n_total is filled in with N by the trainer if 0 and stateful */
    float tau;               /* initial temperature */
    int learn_tau;           /* learn log(1/tau), clamped to 1/tau <= 100; updated by
                              * an optimiser of kind cfg.opt without weight decay */
    int eval_chunk;          /* rows per block in evaluation (0 = 256) */
} cwb_trainer_cfg;

/* Defaults: seed 1, synth defaults, aug defaults, B 256, encoder 64-256-64
 * ReLU with L2 norm, shared tower, SGD lr 0.1 momentum 0.9, constant lr,
 * InfoNCE, tau 0.1 fixed. */
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

typedef struct cwb_trainer cwb_trainer;

/* data may be NULL (the trainer builds one from cfg->data with its seed) or
 * borrowed (must outlive the trainer). */
cwb_trainer *cwb_trainer_new(const cwb_trainer_cfg *cfg, const cwb_dataset *data);
void cwb_trainer_free(cwb_trainer *t);
const cwb_trainer_cfg *cwb_trainer_config(const cwb_trainer *t);
const cwb_dataset *cwb_trainer_data(const cwb_trainer *t);

/* One step.  CWB_ENAN with "step N: <quantity> is not finite" stops the run:
 * parameters are left as they were before the failing update. */
int cwb_trainer_step(cwb_trainer *t, cwb_step_info *info);
/* Embed two fixed augmented views of the whole data set (eval stream, same
 * every call) and compute the metrics. */
int cwb_trainer_eval(cwb_trainer *t, cwb_eval_info *info);
/* Embed the full data set's two evaluation views: a, b are N x out_dim
 * buffers owned by the trainer, valid until the next eval/embed call. */
int cwb_trainer_embed(cwb_trainer *t, const float **a, const float **b);
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
 * grad_norm; evaluations the fields of cwb_eval_info; the knobs above. */
extern const cwb_train_ops cwb_trainer_ops;

#endif
