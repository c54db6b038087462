/*
 * mmtrain.h - two-tower (CLIP-like) training on two-modality data with the
 * modality-structure regularisers, the unimodal baseline, and the
 * downstream evaluation of experiment 3 (methods.md; docs/multimodal.md).
 *
 * A tower is body -> act -> head: body a cwb_mlp (input -> hidden ... ->
 * hidden), head one linear layer to the embedding with L2 normalisation.
 * With deep feature separation each tower has a second, independent head on
 * the same body (z^i beside z).  One step at a time, like trainer.h; a step
 * never allocates.
 *
 * Two-tower step: a batch of training pairs, two augmented views of each
 * modality (V1, V2, T1, T2), both through their tower (2B rows), then
 *   L = L_con + w_sep L_Sep + w_bridge L_Br + w_gc (L_GC + L^a_GC) + w_itm L_ITM
 *   L_con = sym(V1, T1)                          (CLIP form, any loss kind)
 *         or (L_V2T + L_T2V + L_V2V + L_T2T) / 4  with four_term, V2V on (V1, V2)
 * L_Sep on (z_V1, z^i_V1, z^i_V2, z_T1, z^i_T1, z^i_T2), L_Br on (V1, V2, T1),
 * L_GC on (V1, T1, V2, T2), L_ITM on (V1, T1) with hard negatives.
 *
 * Unimodal step: the same tower on one augmented view of one modality, a
 * linear classifier on z with logits scaled by 1/tau, cross-entropy on the
 * labels.
 */
#ifndef CWB_MMTRAIN_H
#define CWB_MMTRAIN_H

#include <stdint.h>
#include "engine/data/data.h"
#include "engine/nn/layers.h"
#include "engine/loss/loss.h"
#include "engine/data/mmdata.h"
#include "engine/nn/optim.h"
#include "engine/train/driver.h"

typedef enum { CWB_MM_TWO_TOWER = 0, CWB_MM_UNIMODAL } cwb_mm_mode;

typedef struct {
    uint64_t seed;
    cwb_mm_cfg data;         /* used when no data set is passed in */
    cwb_mm_mode mode;
    cwb_modality uni_modality; /* UNIMODAL: the modality trained on labels */
    cwb_aug_cfg aug_v, aug_t;
    int batch;               /* B, 2..n_train */
    int hidden;              /* width of the tower body */
    int body_layers;         /* linear layers in the body, >= 1 */
    int dim;                 /* embedding dimension k */
    cwb_act act;
    cwb_optim_cfg opt;
    cwb_schedule sched;
    cwb_loss_cfg loss;       /* kind and knobs; symmetric is set by the trainer,
                                n_total filled in with n_train for stateful kinds */
    float tau;               /* initial temperature */
    int learn_tau;           /* learn log(1/tau), 1/tau <= 100 */
    int four_term;           /* L_Con with the within-modality terms */
    float w_sep, w_bridge, w_gc, w_itm;   /* regulariser weights (0 = off) */
    float sep_tau;           /* temperature of L^i_Con (0 = tau) */
    float bridge_t;          /* fixed bridge time t (paper: 0.25) */
    int bridge_sample_t;     /* draw t ~ U(0,1) per pair instead */
    int fusion_hidden;       /* width of the fusion MLP (ITM and the question task) */
    int eval_fusion_steps;   /* steps training the question head at eval, 0 = skip */
    int fewshot_episodes;    /* episodes per few-shot k */
    int probe_steps;         /* logistic-probe steps (0 = probe default) */
    int lr_fewshot;          /* the evaluation also fits the logistic few-shot probes */
    int eval_chunk;          /* rows per block in retrieval (0 = 256) */
} cwb_mm_train_cfg;

/* Defaults: seed 1, mm defaults, two-tower, uni V, aug (jitter 0.1, mask 0.1,
 * scale 0.2, flip 0) for both, B 128, hidden 128, 1 body layer, dim 32,
 * ReLU, AdamW lr 2e-3 wd 1e-4, constant lr, InfoNCE, tau 0.1 fixed, two-term
 * L_con, no regularisers, sep_tau 0 (= tau), bridge_t 0.25 fixed,
 * fusion_hidden 64, eval_fusion_steps 300, 20 episodes, probe_steps 0,
 * lr_fewshot 0. */
cwb_mm_train_cfg cwb_mm_train_defaults(void);

typedef struct {
    long step;
    double loss;             /* total objective (reported value of the contrastive part) */
    double con, sep, bridge, gc, itm;   /* unweighted terms (two-tower; 0 when off) */
    double ce, train_acc;    /* unimodal: cross-entropy and batch accuracy */
    double lr, tau, grad_norm;
} cwb_mm_step_info;

typedef struct {
    double zero_shot;        /* V test rows vs T-tower captions (NaN for unimodal) */
    double fewshot[3];       /* k = 1, 5, 10: nearest-centroid probe on the image features
                                (NaN if a class has fewer than k training rows) */
    double fewshot_std[3];   /* spread over episodes */
    double fewshot_lr[3];    /* same with the logistic probe (NaN unless asked, see eval) */
    double linear_probe;     /* logistic probe on all training labels */
    double head_acc;         /* unimodal: its own classifier on the test split (else NaN) */
    double r_v2t[3], r_t2v[3];  /* R@1/5/10 on the test split (NaN for unimodal) */
    double gap_centroid, gap_paired, alignment;
    double uniformity_v, uniformity_t, collapse_std;
    double fusion_acc;       /* question task on frozen features (NaN if skipped) */
    int feat_dim;            /* width of the image features probed: k, or 2k with z^i */
} cwb_mm_eval_info;

typedef struct cwb_mm_trainer cwb_mm_trainer;

/* data: NULL (built from cfg->data with cfg->seed) or borrowed. */
cwb_mm_trainer *cwb_mm_trainer_new(const cwb_mm_train_cfg *cfg, const cwb_mm_data *data);
void cwb_mm_trainer_free(cwb_mm_trainer *t);
const cwb_mm_train_cfg *cwb_mm_trainer_config(const cwb_mm_trainer *t);
const cwb_mm_data *cwb_mm_trainer_data(const cwb_mm_trainer *t);

int cwb_mm_trainer_step(cwb_mm_trainer *t, cwb_mm_step_info *info);

/* Downstream evaluation (allocates its buffers on first use).  with_lr_fewshot
 * also fits the logistic few-shot probes (slower). */
int cwb_mm_trainer_eval(cwb_mm_trainer *t, int with_lr_fewshot, cwb_mm_eval_info *info);

/*
 * Clean (unaugmented) embeddings of every sample, n = n_train + n_test rows
 * in data order: zv, zt (n x k, NULL for a modality the unimodal model lacks),
 * ziv, zit (independent heads, NULL without them), caps (K x k captions
 * through the T tower, or NULL).  Owned by the trainer, valid until the next
 * embed/eval.  Any out pointer may be NULL.
 */
int cwb_mm_trainer_embed(cwb_mm_trainer *t, const float **zv, const float **zt,
                         const float **ziv, const float **zit, const float **caps);
int cwb_mm_trainer_dim(const cwb_mm_trainer *t);   /* k */

/* Back to the state right after cwb_mm_trainer_new: same seed, same numbers. */
int cwb_mm_trainer_reset(cwb_mm_trainer *t);
/* The effective configuration and the data set's as one JSON object. */
int cwb_mm_trainer_describe(const cwb_mm_trainer *t, cwb_json *j);
/* cwb_mm_trainer_eval as a metrics list (driver.h): the quantities that do
 * not apply (zero-shot of a unimodal model, a k-shot probe with fewer than k
 * rows of a class, the skipped fusion task) are absent, not NaN. */
int cwb_mm_trainer_eval_metrics(cwb_mm_trainer *t, int with_lr_fewshot, cwb_metrics *m);

/*
 * Live knobs (core/knob.h), from the next step on: "tau" and "lr" (both
 * modes); two-tower also the weights of the regularisers that can be
 * turned on and off without a new parameter: "w_bridge" and "w_gc" (always),
 * "w_sep" only when it was on at construction (its second heads exist only
 * then) and "w_itm" likewise (its fusion head); and the contrastive loss's
 * "noise", "alpha", "gamma" (loss.h, applied to every contrastive term).
 * Not live: the batch size, the towers, the data.  reset() returns them to
 * the constructed values; describe() writes them as they are now.
 */
int cwb_mm_trainer_set(cwb_mm_trainer *t, const char *name, double value);
int cwb_mm_trainer_knobs(const cwb_mm_trainer *t, cwb_knob *out, int max);

/* The trainer interface (driver.h) for t's mode: steps report loss and,
 * two-tower, con and each regulariser that is on (sep, bridge, gc, itm),
 * unimodal train_acc, then lr, tau, grad_norm; evaluations use
 * cfg.lr_fewshot; only the two-tower model embeds (V and T). */
const cwb_train_ops *cwb_mm_trainer_ops(const cwb_mm_trainer *t);

#endif
