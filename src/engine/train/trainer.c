/*
 * trainer.c - one contrastive training step at a time (see trainer.h).
 *
 * The step is the pipeline of docs/methods.md in order: sample a batch,
 * augment it twice, encode both views, evaluate the loss (any kind of
 * "Conventional contrastive loss", "Decomposable loss by Bayesian
 * augmentation" or the baselines), back-propagate and update.  Every buffer
 * a step touches is allocated by cwb_trainer_new, so a step never allocates;
 * the evaluation buffers (N rows) are allocated once, on the first eval.
 *
 * Tower layout.  A shared tower is one cwb_mlp sized for 2B rows, run once
 * on [view1; view2] stacked, so both views go through the same weights in
 * one pair of gemms per layer and its gradient is the sum over both views.
 * Two towers ("image" and "text" encoders) are two cwb_mlp of B rows, each
 * with its own optimiser.
 *
 * Learnable temperature (methods.md, "Temperature"): the parameter is
 * log_scale = log(1/tau), as CLIP learns it, so its gradient is
 * dL/dlog_scale = dL/dscale * scale; after each update it is clamped so that
 * 1/tau <= 100.  Its optimiser uses the run's optimiser settings without
 * weight decay: decaying log(1/tau) towards 0 would pull tau towards 1 for
 * no reason (CLIP exempts it too).
 *
 * Images.  A data set with height > 0 is augmented by image_augment.h's
 * transforms (cfg.imaug, the shape taken from the data), a vector data set
 * by cwb_augment; with shuffle, batches are consecutive slices of a
 * permutation of 0..N-1 drawn afresh each epoch (as DataLoader(shuffle=True,
 * drop_last=True) serves them), so every image is an anchor once an epoch.
 *
 * Projection head (SimCLR): the shared tower's output h (2B x r) is the
 * representation; the loss sees z = head(act(h)), the head an MLP whose
 * output is L2-normalised when enc.l2norm is set.  Backward runs the chain
 * the other way: head -> act' -> tower.  The probes evaluate h.
 *
 * Evaluation with a test split (methods.md, "Real data"): the frozen
 * representation of the un-augmented training and test rows, through a copy
 * of the tower sized for 512 rows (the training tower holds 2B rows, 32 for
 * B = 16), then the weighted kNN (knn.h) and the linear probe (linprobe.h,
 * its validation split carved from the training rows with the run's seed).
 *
 * Failure: if the loss, an embedding or a gradient is not finite the step
 * returns CWB_ENAN before any parameter is touched.
 */
#include "engine/train/trainer.h"
#include "engine/core/error.h"
#include "engine/core/mem.h"
#include "engine/eval/metrics.h"
#include "engine/core/tensor.h"
#include "engine/eval/knn.h"
#include "util/clock.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define CWB_MAX_SCALE 100.0     /* 1/tau <= 100, CLIP's clamp */
#define REP_BLOCK 512           /* rows per block of the evaluation tower */

struct cwb_trainer {
    cwb_trainer_cfg cfg;        /* effective config (loss.n_total filled in) as constructed */
    cwb_trainer_cfg live;       /* the same with the knobs as they are now (tau, lr, batch;
                                 * the loss's knobs live in the loss object) */
    const cwb_dataset *data;
    cwb_dataset *owned;         /* data built by the trainer, or NULL */
    int N, d, k, B;             /* B: the batch size now (the knob), <= Bmax */
    int Bmax;                   /* what the batch buffers hold */

    const cwb_dataset *test;    /* the evaluation's test split, or NULL */
    cwb_sampler *sampler;       /* NULL with shuffle */
    int *perm, cursor;          /* shuffle: this epoch's order, next slice */
    cwb_rng order_rng;
    cwb_imaug *imaug;           /* image data, else NULL (vector augmentations) */
    cwb_rng aug_rng;
    int n_towers;
    cwb_mlp *tower[2];
    cwb_optim *opt[2];
    int r;                      /* representation width (the tower's output) */
    cwb_mlp *head;              /* projection head, or NULL */
    cwb_optim *opt_head;
    float *hact, *dh, *dhact;   /* 2B x r: act(h), dL/dh, dL/dact(h) */
    cwb_mlp *etower;            /* evaluation copy of tower 0 (REP_BLOCK rows), lazily */
    float *etmp;                /* REP_BLOCK x r: act(h) of the head's evaluation */
    cwb_mlp *ehead;             /* evaluation copy of the head */
    cwb_optim *opt_scale;       /* learn_tau only */
    cwb_loss *loss;

    float log_scale;            /* log(1/tau) */
    float log_scale_grad;
    long step;                  /* steps done */

    /* batch buffers */
    int *idx, *pos;
    float *w;                   /* importance weights, B */
    float *raw;                 /* 2B x d: x[idx] then x[pos] */
    float *views;               /* 2B x d: augmented view 1 then view 2 */
    float *dout;                /* 2B x k: dL/da then dL/db */

    /* evaluation buffers, allocated on the first eval */
    float *ea, *eb;             /* ecap x k */
    float *ev;                  /* max tower rows x d */
    cwb_mem mem;                /* owns the batch buffers */
    int ecap, ne;               /* rows ea, eb hold / hold now */
};

cwb_trainer_cfg cwb_trainer_defaults(void) {
    cwb_trainer_cfg c;
    memset(&c, 0, sizeof c);
    c.seed = 1;
    c.data = cwb_synth_defaults();
    c.aug = cwb_aug_defaults();
    c.batch = 256;
    c.batch_noise = 0.0f;
    c.pair_noise = 0.0f;
    c.importance = 0;
    c.enc.n_layers = 2;
    c.enc.dims[0] = 64;
    c.enc.dims[1] = 256;
    c.enc.dims[2] = 64;
    c.enc.act = CWB_ACT_RELU;
    c.enc.l2norm = 1;
    c.shared_tower = 1;
    c.opt = cwb_optim_defaults(CWB_OPT_SGD);
    c.sched.kind = CWB_SCHED_CONSTANT;
    c.sched.warmup = 0;
    c.sched.total = 0;
    c.sched.min_frac = 0.0f;
    c.loss = cwb_loss_defaults(CWB_LOSS_INFONCE);
    c.tau = 0.1f;
    c.learn_tau = 0;
    c.eval_chunk = 0;
    c.imaug = cwb_imaug_defaults(0, 0);
    c.shuffle = 0;
    c.head.n_layers = 0;
    c.eval.knn = CWB_KNN_K;
    c.eval.knn_temperature = CWB_KNN_TEMPERATURE;
    c.eval.linear = 1;
    c.eval.probe = cwb_linprobe_defaults();
    return c;
}

/* Checks that do not need the data set; messages name the field.  The
 * augmentation, loss, optimiser and schedule have one check each, next to
 * their types, shared with the two-tower trainer. */
static int check_cfg(const cwb_trainer_cfg *c) {
    int rc;
    if (c->batch < 2)
        return cwb_fail(CWB_EINVAL, "trainer: batch = %d, must be >= 2 (a batch needs negatives)", c->batch);
    if (c->batch_max != 0 && c->batch_max < c->batch)
        return cwb_fail(CWB_EINVAL, "trainer: batch_max = %d, must be >= batch = %d (or 0: batch)",
                        c->batch_max, c->batch);
    if (!(c->tau > 0) || !isfinite(c->tau))
        return cwb_fail(CWB_EINVAL, "trainer: tau = %g, must be positive and finite", (double)c->tau);
    if (c->learn_tau && 1.0 / c->tau > CWB_MAX_SCALE * (1 + 1e-6))
        return cwb_fail(CWB_EINVAL, "trainer: tau = %g with learn_tau: 1/tau must be <= %g",
                        (double)c->tau, CWB_MAX_SCALE);
    if (!(c->batch_noise >= 0 && c->batch_noise <= 1))
        return cwb_fail(CWB_EINVAL, "trainer: batch_noise = %g, must be in [0, 1]", (double)c->batch_noise);
    if (!(c->pair_noise >= 0 && c->pair_noise <= 1))
        return cwb_fail(CWB_EINVAL, "trainer: pair_noise = %g, must be in [0, 1]", (double)c->pair_noise);
    if ((rc = cwb_aug_check(&c->aug, "trainer: aug")) || (rc = cwb_loss_check(&c->loss, "trainer")) ||
        (rc = cwb_optim_check(&c->opt, "trainer: optim")) || (rc = cwb_schedule_check(&c->sched, "trainer: schedule")))
        return rc;
    if (c->enc.n_layers < 1 || c->enc.n_layers > CWB_MLP_MAX_LAYERS)
        return cwb_fail(CWB_EINVAL, "trainer: encoder has %d layers, must be in [1, %d]",
                        c->enc.n_layers, CWB_MLP_MAX_LAYERS);
    if (c->eval_chunk < 0)
        return cwb_fail(CWB_EINVAL, "trainer: eval_chunk = %d, must be >= 0 (0 = 256)", c->eval_chunk);
    if (c->head.n_layers < 0 || c->head.n_layers > CWB_MLP_MAX_LAYERS)
        return cwb_fail(CWB_EINVAL, "trainer: encoder head has %d layers, must be in [0, %d]",
                        c->head.n_layers, CWB_MLP_MAX_LAYERS);
    if (c->head.n_layers > 0 && !c->shared_tower)
        return cwb_fail(CWB_EINVAL, "trainer: encoder head needs the shared tower (shared = true)");
    if (c->head.n_layers > 0 && c->head.dims[0] != c->enc.dims[c->enc.n_layers])
        return cwb_fail(CWB_EINVAL, "trainer: encoder head input %d, but the tower's output width is %d",
                        c->head.dims[0], c->enc.dims[c->enc.n_layers]);
    if (c->shuffle && (c->batch_noise > 0 || c->pair_noise > 0 || c->importance))
        return cwb_fail(CWB_EINVAL, "trainer: shuffle takes every image once an epoch: batch_noise, "
                                    "pair_noise and importance must be off");
    if (c->eval.knn < 0)
        return cwb_fail(CWB_EINVAL, "trainer: eval knn = %d, must be >= 0 (0 = no kNN)", c->eval.knn);
    if (!(c->eval.knn_temperature > 0) || !isfinite(c->eval.knn_temperature))
        return cwb_fail(CWB_EINVAL, "trainer: eval temperature = %g, must be positive and finite",
                        c->eval.knn_temperature);
    if (c->eval.linear && (rc = cwb_linprobe_check(&c->eval.probe))) return rc;
    return CWB_OK;
}

void cwb_trainer_free(cwb_trainer *t) {
    if (!t) return;
    cwb_sampler_free(t->sampler);
    for (int i = 0; i < 2; i++) {
        cwb_mlp_free(t->tower[i]);
        cwb_optim_free(t->opt[i]);
    }
    cwb_optim_free(t->opt_scale);
    cwb_mlp_free(t->head);
    cwb_optim_free(t->opt_head);
    cwb_mlp_free(t->etower);
    cwb_mlp_free(t->ehead);
    cwb_free(t->hact);
    cwb_free(t->dh);
    cwb_free(t->dhact);
    cwb_free(t->etmp);
    cwb_imaug_free(t->imaug);
    free(t->perm);
    cwb_loss_free(t->loss);
    cwb_free(t->ea); /* the evaluation buffers grow with the set evaluated */
    cwb_free(t->eb);
    cwb_free(t->ev);
    cwb_mem_free(&t->mem);
    cwb_dataset_free(t->owned);
    free(t);
}

cwb_trainer *cwb_trainer_new(const cwb_trainer_cfg *cfg, const cwb_dataset *data) {
    return cwb_trainer_new_split(cfg, data, NULL);
}

cwb_trainer *cwb_trainer_new_split(const cwb_trainer_cfg *cfg, const cwb_dataset *data,
                                   const cwb_dataset *test) {
    if (!cfg) {
        cwb_fail(CWB_EINVAL, "trainer: NULL config");
        return NULL;
    }
    if (check_cfg(cfg)) return NULL;

    cwb_trainer *t = cwb_zalloc(sizeof *t, "trainer");
    if (!t) return NULL;
    t->cfg = *cfg;
    cwb_trainer_cfg *c = &t->cfg;

    if (data) {
        t->data = data;
    } else {
        t->owned = cwb_synth_new(&c->data, c->seed);
        if (!t->owned) goto fail;   /* cwb_synth_new left the message */
        t->data = t->owned;
    }
    if (!t->data->x || t->data->n < 1 || t->data->dim < 1) {
        cwb_fail(CWB_EINVAL, "trainer: data set has no observations");
        goto fail;
    }
    t->N = t->data->n;
    t->d = t->data->dim;
    t->B = c->batch;
    if (c->batch_max == 0) c->batch_max = c->batch;
    t->Bmax = c->batch_max;
    if (t->Bmax > t->N) {
        cwb_fail(CWB_EINVAL, "trainer: %s = %d exceeds the data set size N = %d",
                 t->Bmax > c->batch ? "batch_max" : "batch", t->Bmax, t->N);
        goto fail;
    }
    if (c->enc.dims[0] != t->d) {
        cwb_fail(CWB_EINVAL, "trainer: encoder input enc.dims[0] = %d, but the data dimension is %d",
                 c->enc.dims[0], t->d);
        goto fail;
    }
    t->r = c->enc.dims[c->enc.n_layers];
    t->k = c->head.n_layers > 0 ? c->head.dims[c->head.n_layers] : t->r;
    if (cwb_loss_fit_dataset(&c->loss, t->N, "trainer")) goto fail;
    if (test) {
        if (!test->x || test->n < 1 || test->dim != t->d || !test->labels) {
            cwb_fail(CWB_EINVAL, "trainer: the test split has %d rows of width %d; it needs labelled "
                                 "rows of the data's width %d", test->n, test->dim, t->d);
            goto fail;
        }
        for (int i = 0; i < test->n; i++)
            if (test->labels[i] < 0 || test->labels[i] >= t->data->clusters) {
                cwb_fail(CWB_EINVAL, "trainer: test label %d (row %d) outside the data's classes 0..%d",
                         test->labels[i], i, t->data->clusters - 1);
                goto fail;
            }
        t->test = test;
    }

    if (c->shuffle) {
        t->perm = malloc((size_t)t->N * sizeof *t->perm);
        if (!t->perm) {
            cwb_fail(CWB_ENOMEM, "trainer: out of memory for the epoch order (N = %d)", t->N);
            goto fail;
        }
        cwb_rng_seed(&t->order_rng, c->seed, CWB_STREAM_BATCH);
        t->cursor = t->N; /* the first step draws the first epoch's order */
    } else {
        t->sampler = cwb_sampler_new(t->data, t->B, c->batch_noise, c->pair_noise, c->seed);
        if (!t->sampler) goto fail;
    }
    if (t->data->height > 0) {
        c->imaug.height = t->data->height;
        c->imaug.width = t->data->width;
        t->imaug = cwb_imaug_new(&c->imaug);
        if (!t->imaug) goto fail;
    }
    cwb_rng_seed(&t->aug_rng, c->seed, CWB_STREAM_AUG);

    cwb_rng init;
    cwb_rng_seed(&init, c->seed, CWB_STREAM_INIT);
    t->n_towers = c->shared_tower ? 1 : 2;
    const int rows = c->shared_tower ? 2 * t->Bmax : t->Bmax;
    /* with a head the representation is not normalised: the loss's space is the head's */
    cwb_mlp_cfg tower_cfg = c->enc;
    if (c->head.n_layers > 0) tower_cfg.l2norm = 0;
    for (int i = 0; i < t->n_towers; i++) {
        t->tower[i] = cwb_mlp_new(&tower_cfg, rows, &init);
        if (!t->tower[i]) goto fail;
        t->opt[i] = cwb_optim_new(&c->opt, t->tower[i]->n_params);
        if (!t->opt[i]) goto fail;
    }
    if (c->head.n_layers > 0) {
        c->head.act = c->enc.act;
        c->head.l2norm = c->enc.l2norm;
        t->head = cwb_mlp_new(&c->head, rows, &init);
        if (!t->head) goto fail;
        t->opt_head = cwb_optim_new(&c->opt, t->head->n_params);
        const size_t hr = (size_t)rows * t->r;
        t->hact = cwb_alloc(hr);
        t->dh = cwb_alloc(hr);
        t->dhact = cwb_alloc(hr);
        if (!t->opt_head || !t->hact || !t->dh || !t->dhact) {
            if (t->opt_head) cwb_fail(CWB_ENOMEM, "trainer: out of memory for the head's buffers");
            goto fail;
        }
    }
    if (c->learn_tau) {
        cwb_optim_cfg oc = c->opt;
        oc.weight_decay = 0.0f;
        t->opt_scale = cwb_optim_new(&oc, 1);
        if (!t->opt_scale) goto fail;
    }
    t->log_scale = (float)log(1.0 / c->tau);

    /* The loss's own stream (gamma E-step, negative noise) is derived from
     * the run seed's LOSS stream, independent of every other component. */
    cwb_rng lr;
    cwb_rng_seed(&lr, c->seed, CWB_STREAM_LOSS);
    t->loss = cwb_loss_new(&c->loss, t->Bmax, t->k, cwb_rng_u64(&lr));
    if (!t->loss) goto fail;

    const size_t B = (size_t)t->Bmax;
    t->idx = cwb_mem_zeroed(&t->mem, B, sizeof *t->idx);
    t->pos = cwb_mem_zeroed(&t->mem, B, sizeof *t->pos);
    t->w = cwb_mem_floats(&t->mem, B);
    t->raw = cwb_mem_floats(&t->mem, 2 * B * (size_t)t->d);
    t->views = cwb_mem_floats(&t->mem, 2 * B * (size_t)t->d);
    t->dout = cwb_mem_floats(&t->mem, 2 * B * (size_t)t->k);
    if (cwb_mem_check(&t->mem, "trainer: out of memory for batch buffers (B = %d)", t->Bmax)) goto fail;
    t->live = *c;
    return t;

fail:
    cwb_trainer_free(t);
    return NULL;
}

const cwb_trainer_cfg *cwb_trainer_config(const cwb_trainer *t) { return t ? &t->cfg : NULL; }
const cwb_dataset *cwb_trainer_data(const cwb_trainer *t) { return t ? t->data : NULL; }
const cwb_dataset *cwb_trainer_test(const cwb_trainer *t) { return t ? t->test : NULL; }

static const char *block_name(const cwb_trainer *t, int i) {
    if (t->n_towers == 1) return "the shared tower";
    return i == 0 ? "tower 1" : "tower 2";
}

/* Re-issue a callee's error as "step N: ..." without passing the message
 * buffer to itself. */
static int step_fail(const cwb_trainer *t, int code, const char *what) {
    char inner[256];
    strncpy(inner, cwb_errmsg(), sizeof inner - 1);
    inner[sizeof inner - 1] = '\0';
    return cwb_fail(code, "step %ld: %s: %s", t->step + 1, what, inner);
}

/* The two views of `rows` rows: image or vector augmentations. */
static int augment(cwb_trainer *t, const float *x, float *out, int rows, cwb_rng *r) {
    if (t->imaug) return cwb_imaug_apply(t->imaug, x, out, rows, r);
    return cwb_augment(&t->cfg.aug, x, out, rows, t->d, r);
}

/* The next batch: the sampler's, or the next slice of this epoch's order
 * (a new permutation when fewer than B indices are left).  idx == pos: the
 * two views are of the same image. */
static int next_batch(cwb_trainer *t) {
    const cwb_trainer_cfg *c = &t->cfg;
    if (t->sampler) return cwb_sampler_next(t->sampler, t->idx, t->pos, c->importance ? t->w : NULL);
    if (t->cursor + t->B > t->N) {
        cwb_rng_permutation(&t->order_rng, t->perm, t->N);
        t->cursor = 0;
    }
    memcpy(t->idx, t->perm + t->cursor, (size_t)t->B * sizeof *t->idx);
    memcpy(t->pos, t->idx, (size_t)t->B * sizeof *t->pos);
    t->cursor += t->B;
    return CWB_OK;
}

/* The loss on the 2B rows of t->views (anchors t->idx) and the gradients
 * of every block, left in the towers, the head and log_scale_grad; *gsq
 * gets the squared norm of all of them.  Parameters are not touched. */
static int value_grad(cwb_trainer *t, cwb_loss_out *outp, double *gsqp) {
    const int B = t->B, d = t->d, k = t->k;
    const long stepno = t->step + 1;
    const cwb_trainer_cfg *c = &t->cfg;
    float *v1 = t->views, *v2 = t->views + (size_t)B * d;
    int rc;

    const float *za, *zb;
    if (t->n_towers == 1) {
        const float *z;
        if ((rc = cwb_mlp_forward(t->tower[0], t->views, 2 * B, &z))) return step_fail(t, rc, "forward");
        if (t->head) { /* z = head(act(h)) */
            cwb_act_forward(c->enc.act, t->hact, z, (long)2 * B * t->r);
            if ((rc = cwb_mlp_forward(t->head, t->hact, 2 * B, &z))) return step_fail(t, rc, "head forward");
        }
        za = z;
        zb = z + (size_t)B * k;
    } else {
        if ((rc = cwb_mlp_forward(t->tower[0], v1, B, &za)) ||
            (rc = cwb_mlp_forward(t->tower[1], v2, B, &zb)))
            return step_fail(t, rc, "forward");
    }
    if (cwb_has_nonfinite(za, (size_t)B * k))
        return cwb_fail(CWB_ENAN, "step %ld: embedding of view 1 is not finite", stepno);
    if (cwb_has_nonfinite(zb, (size_t)B * k))
        return cwb_fail(CWB_ENAN, "step %ld: embedding of view 2 is not finite", stepno);

    const float scale = expf(t->log_scale);
    float *da = t->dout, *db = t->dout + (size_t)B * k;
    cwb_loss_out out;
    rc = cwb_loss_eval(t->loss, za, zb, B, k, t->idx, c->importance ? t->w : NULL, scale, &out, da, db);
    if (rc == CWB_ENAN) return step_fail(t, rc, "loss is not finite");
    if (rc) return step_fail(t, rc, "loss");
    if (!isfinite(out.value) || !isfinite(out.surrogate))
        return cwb_fail(CWB_ENAN, "step %ld: loss is not finite (value %g, surrogate %g)", stepno,
                        out.value, out.surrogate);

    double gsq = 0;
    const float *dtower = t->dout; /* the gradient at tower 0's output */
    if (t->head) {
        cwb_mlp_zero_grad(t->head);
        if ((rc = cwb_mlp_backward(t->head, t->dout, t->dhact))) return step_fail(t, rc, "head backward");
        const double hsq = cwb_sumsq(t->head->grads, t->head->n_params);
        if (!isfinite(hsq)) return cwb_fail(CWB_ENAN, "step %ld: gradient of the head is not finite", stepno);
        gsq += hsq;
        cwb_act_backward(c->enc.act, t->dh, t->dhact, t->tower[0]->out, t->hact, (long)2 * B * t->r);
        dtower = t->dh;
    }
    for (int i = 0; i < t->n_towers; i++) {
        cwb_mlp *m = t->tower[i];
        cwb_mlp_zero_grad(m);
        if ((rc = cwb_mlp_backward(m, i == 0 ? dtower : db, NULL))) return step_fail(t, rc, "backward");
        /* One pass serves both the gradient norm and the finiteness check:
         * squares of finite floats summed in double cannot overflow, so the
         * block's sum is finite exactly when all its gradients are. */
        const double bsq = cwb_sumsq(m->grads, m->n_params);
        if (!isfinite(bsq))
            return cwb_fail(CWB_ENAN, "step %ld: gradient of %s is not finite", stepno, block_name(t, i));
        gsq += bsq;
    }
    if (c->learn_tau) {
        /* d/dlog_scale = d/dscale * dscale/dlog_scale = dscale * scale */
        t->log_scale_grad = (float)(out.dscale * scale);
        if (!isfinite(t->log_scale_grad))
            return cwb_fail(CWB_ENAN, "step %ld: gradient of the temperature is not finite", stepno);
        gsq += (double)t->log_scale_grad * t->log_scale_grad;
    }
    *outp = out;
    *gsqp = gsq;
    return CWB_OK;
}

int cwb_trainer_step(cwb_trainer *t, cwb_step_info *info) {
    if (!t) return cwb_fail(CWB_EINVAL, "cwb_trainer_step: NULL trainer");
    const int B = t->B, d = t->d;
    const cwb_trainer_cfg *c = &t->cfg;
    int rc;

    rc = next_batch(t);
    if (rc) return step_fail(t, rc, "sampler");
    float *raw1 = t->raw, *raw2 = t->raw + (size_t)B * d;
    float *v1 = t->views, *v2 = t->views + (size_t)B * d;
    cwb_gather_rows(t->data->x, t->idx, B, raw1);
    cwb_gather_rows(t->data->x, t->pos, B, raw2);
    if ((rc = augment(t, raw1, v1, B, &t->aug_rng)) || (rc = augment(t, raw2, v2, B, &t->aug_rng)))
        return step_fail(t, rc, "augmentation");

    cwb_loss_out out;
    double gsq;
    if ((rc = value_grad(t, &out, &gsq))) return rc;

    const float lr = t->live.opt.lr * cwb_schedule_factor(&c->sched, t->step);
    for (int i = 0; i < t->n_towers; i++) {
        cwb_mlp *m = t->tower[i];
        if ((rc = cwb_optim_step(t->opt[i], m->params, m->grads, lr))) return step_fail(t, rc, "update");
    }
    if (t->head && (rc = cwb_optim_step(t->opt_head, t->head->params, t->head->grads, lr)))
        return step_fail(t, rc, "head update");
    if (c->learn_tau) {
        if ((rc = cwb_optim_step(t->opt_scale, &t->log_scale, &t->log_scale_grad, lr)))
            return step_fail(t, rc, "temperature update");
        const float cap = (float)log(CWB_MAX_SCALE);
        if (t->log_scale > cap) t->log_scale = cap;
    }
    t->step++;

    if (info) {
        info->step = t->step;
        info->loss = out.value;
        info->surrogate = out.surrogate;
        info->lr = lr;
        info->tau = 1.0 / exp((double)t->log_scale);
        info->grad_norm = sqrt(gsq);
    }
    return CWB_OK;
}

int cwb_trainer_value_grad(cwb_trainer *t, const float *views, const int *idx, double *surrogate) {
    if (!t || !views) return cwb_fail(CWB_EINVAL, "cwb_trainer_value_grad: NULL %s", !t ? "trainer" : "views");
    memcpy(t->views, views, (size_t)2 * t->B * t->d * sizeof *t->views);
    for (int i = 0; i < t->B; i++) t->idx[i] = t->pos[i] = idx ? idx[i] : i;
    cwb_loss_out out;
    double gsq;
    int rc = value_grad(t, &out, &gsq);
    if (!rc && surrogate) *surrogate = out.surrogate;
    return rc;
}

const int *cwb_trainer_batch(const cwb_trainer *t) { return t ? t->idx : NULL; }

int cwb_trainer_block(cwb_trainer *t, int block, float **params, const float **grads, size_t *n) {
    if (!t) return cwb_fail(CWB_EINVAL, "cwb_trainer_block: NULL trainer");
    cwb_mlp *m = block >= 0 && block < t->n_towers ? t->tower[block] : block == t->n_towers ? t->head : NULL;
    if (!m) return cwb_fail(CWB_EINVAL, "cwb_trainer_block: no block %d", block);
    *params = m->params;
    *grads = m->grads;
    *n = m->n_params;
    return CWB_OK;
}

/* Both evaluation views of n rows of x: view a through tower 1, view b
 * through tower 2 (or both through the shared tower and the head), in
 * blocks of the tower's row capacity, into ea, eb (n x k).  The view RNG
 * restarts from the EVAL stream every call, so the same parameters always
 * give the same embeddings. */
static int embed_views(cwb_trainer *t, const float *x, int n) {
    const int d = t->d, k = t->k;
    const int cap = t->tower[0]->max_batch;
    if (!t->ev) t->ev = cwb_alloc((size_t)cap * d);
    if (n > t->ecap) {
        cwb_free(t->ea);
        cwb_free(t->eb);
        t->ea = cwb_alloc((size_t)n * k);
        t->eb = cwb_alloc((size_t)n * k);
        t->ecap = t->ea && t->eb ? n : 0;
    }
    if (!t->ea || !t->eb || !t->ev) {
        cwb_free(t->ea);
        cwb_free(t->eb);
        cwb_free(t->ev);
        t->ea = t->eb = t->ev = NULL;
        t->ecap = 0;
        return cwb_fail(CWB_ENOMEM, "trainer eval: out of memory for %d embeddings", n);
    }
    cwb_rng r;
    cwb_rng_seed(&r, t->cfg.seed, CWB_STREAM_EVAL);
    for (int view = 0; view < 2; view++) {
        cwb_mlp *m = t->tower[t->n_towers == 1 ? 0 : view];
        float *dst = view == 0 ? t->ea : t->eb;
        for (int r0 = 0; r0 < n; r0 += cap) {
            const int rows = n - r0 < cap ? n - r0 : cap;
            const float *z;
            int rc = augment(t, x + (size_t)r0 * d, t->ev, rows, &r);
            if (!rc) rc = cwb_mlp_forward(m, t->ev, rows, &z);
            if (!rc && t->head) {
                cwb_act_forward(t->cfg.enc.act, t->hact, z, (long)rows * t->r);
                rc = cwb_mlp_forward(t->head, t->hact, rows, &z);
            }
            if (rc) return rc;
            memcpy(dst + (size_t)r0 * k, z, (size_t)rows * k * sizeof *dst);
        }
    }
    t->ne = n;
    return CWB_OK;
}

static int embed_all(cwb_trainer *t) { return embed_views(t, t->data->x->data, t->N); }

int cwb_trainer_embed_rows(const cwb_trainer *t) {
    if (!t) return 0;
    if (!t->test) return t->N;
    return t->test->n < CWB_TRAINER_EMBED_MAX ? t->test->n : CWB_TRAINER_EMBED_MAX;
}

int cwb_trainer_embed(cwb_trainer *t, const float **a, const float **b) {
    if (!t) return cwb_fail(CWB_EINVAL, "cwb_trainer_embed: NULL trainer");
    int rc = t->test ? embed_views(t, t->test->x->data, cwb_trainer_embed_rows(t)) : embed_all(t);
    if (rc) return rc;
    if (a) *a = t->ea;
    if (b) *b = t->eb;
    return CWB_OK;
}

/* An evaluation copy of m sized for REP_BLOCK rows: the copy's parameters
 * are m's, copied in at every call (the flat array is all of them). */
static int eval_copy(cwb_mlp **copy, const cwb_mlp *m) {
    if (!*copy) {
        cwb_rng unused;
        cwb_rng_seed(&unused, 0, CWB_STREAM_INIT);
        *copy = cwb_mlp_new(&m->cfg, REP_BLOCK, &unused);
        if (!*copy) return CWB_ENOMEM;
    }
    memcpy((*copy)->params, m->params, m->n_params * sizeof *m->params);
    return CWB_OK;
}

int cwb_trainer_represent(cwb_trainer *t, const float *x, int n, float *out, int *width) {
    if (!t || (!x && n > 0) || (!out && n > 0))
        return cwb_fail(CWB_EINVAL, "cwb_trainer_represent: NULL %s", !t ? "trainer" : "rows");
    if (width) *width = t->r;
    int rc = eval_copy(&t->etower, t->tower[0]);
    if (rc) return rc;
    for (int r0 = 0; r0 < n; r0 += REP_BLOCK) {
        const int rows = n - r0 < REP_BLOCK ? n - r0 : REP_BLOCK;
        const float *h;
        if ((rc = cwb_mlp_forward(t->etower, x + (size_t)r0 * t->d, rows, &h))) return rc;
        memcpy(out + (size_t)r0 * t->r, h, (size_t)rows * t->r * sizeof *out);
    }
    return CWB_OK;
}

int cwb_trainer_probe(cwb_trainer *t, cwb_probe_info *info) {
    if (!t || !info) return cwb_fail(CWB_EINVAL, "cwb_trainer_probe: NULL %s", !t ? "trainer" : "info");
    if (!t->test) return cwb_fail(CWB_ESTATE, "trainer: no test split to evaluate the probes on");
    const cwb_probe_cfg *pc = &t->cfg.eval;
    const cwb_dataset *tr = t->data, *te = t->test;
    const int N = t->N, M = te->n, r = t->r, K = tr->clusters;
    info->knn_acc = info->knn_seconds = info->linear_acc = info->linear_l2 = NAN;
    info->linear_converged = info->linear_seconds = NAN;
    double t0 = cwb_clock_seconds();
    float *rtr = cwb_alloc((size_t)N * r), *rte = cwb_alloc((size_t)M * r);
    int rc = CWB_OK;
    if (!rtr || !rte) {
        rc = cwb_fail(CWB_ENOMEM, "trainer eval: out of memory for %d + %d representations", N, M);
        goto done;
    }
    if ((rc = cwb_trainer_represent(t, tr->x->data, N, rtr, NULL)) ||
        (rc = cwb_trainer_represent(t, te->x->data, M, rte, NULL)))
        goto done;
    if (cwb_has_nonfinite(rtr, (size_t)N * r) || cwb_has_nonfinite(rte, (size_t)M * r)) {
        rc = cwb_fail(CWB_ENAN, "trainer eval after step %ld: representations are not finite", t->step);
        goto done;
    }
    double t1 = cwb_clock_seconds();
    info->embed_seconds = t1 - t0;
    if (pc->knn > 0) {
        double acc;
        const int knn = pc->knn < N ? pc->knn : N;
        if ((rc = cwb_knn_weighted(rtr, tr->labels, N, rte, te->labels, M, r, K, knn, pc->knn_temperature,
                                   0, &acc, NULL)))
            goto done;
        info->knn_acc = acc;
        info->knn_seconds = cwb_clock_seconds() - t1;
    }
    if (pc->linear) {
        cwb_linprobe_cfg lc = pc->probe;
        lc.seed = t->cfg.seed;
        cwb_linprobe_result res;
        if ((rc = cwb_linprobe(&lc, rtr, tr->labels, N, rte, te->labels, M, r, K, &res))) goto done;
        info->linear_acc = res.test_acc;
        info->linear_l2 = res.l2;
        info->linear_converged = res.fit.converged ? 1 : 0;
        info->linear_seconds = res.seconds;
    }
done:
    cwb_free(rtr);
    cwb_free(rte);
    return rc;
}

int cwb_trainer_eval(cwb_trainer *t, cwb_eval_info *info) {
    if (!t || !info) return cwb_fail(CWB_EINVAL, "cwb_trainer_eval: NULL %s", !t ? "trainer" : "info");
    int rc = embed_all(t);
    if (rc) return rc;
    const int N = t->N, k = t->k;
    const int chunk = t->cfg.eval_chunk > 0 ? t->cfg.eval_chunk : 256;
    if (cwb_has_nonfinite(t->ea, (size_t)N * k) || cwb_has_nonfinite(t->eb, (size_t)N * k))
        return cwb_fail(CWB_ENAN, "trainer eval after step %ld: embeddings are not finite", t->step);
    if ((rc = cwb_top1(t->ea, t->eb, N, k, chunk, &info->top1))) return rc;
    if ((rc = cwb_population_loss(t->ea, t->eb, N, k, exp((double)t->log_scale), chunk,
                                  &info->pop_loss, NULL, NULL)))
        return rc;
    info->alignment = cwb_alignment(t->ea, t->eb, N, k);
    info->uniformity = cwb_uniformity(t->ea, N, k, chunk);
    info->collapse_std = cwb_collapse_std(t->ea, N, k);
    info->gap_centroid = cwb_gap_centroid(t->ea, t->eb, N, k);
    info->gap_paired = cwb_gap_paired(t->ea, t->eb, N, k);
    return CWB_OK;
}

/* ---- the trainer interface (driver.h) ------------------------------------------ */

#define FIELD(type, name) {#name, offsetof(type, name)}
static const cwb_metric_field step_fields[] = {
    FIELD(cwb_step_info, loss), FIELD(cwb_step_info, surrogate), FIELD(cwb_step_info, lr),
    FIELD(cwb_step_info, tau),  FIELD(cwb_step_info, grad_norm),
};
static const cwb_metric_field eval_fields[] = {
    FIELD(cwb_eval_info, top1),         FIELD(cwb_eval_info, pop_loss),     FIELD(cwb_eval_info, alignment),
    FIELD(cwb_eval_info, uniformity),   FIELD(cwb_eval_info, collapse_std), FIELD(cwb_eval_info, gap_centroid),
    FIELD(cwb_eval_info, gap_paired),
};
#define NFIELDS(a) ((int)(sizeof a / sizeof a[0]))

static int ops_step(void *self, cwb_metrics *m) {
    cwb_step_info in;
    int rc = cwb_trainer_step(self, &in);
    return rc ? rc : cwb_metrics_from_fields(m, &in, step_fields, NFIELDS(step_fields), 0);
}

static const cwb_metric_field probe_fields[] = {
    FIELD(cwb_probe_info, knn_acc),          FIELD(cwb_probe_info, knn_seconds),
    FIELD(cwb_probe_info, linear_acc),       FIELD(cwb_probe_info, linear_l2),
    FIELD(cwb_probe_info, linear_converged), FIELD(cwb_probe_info, linear_seconds),
    FIELD(cwb_probe_info, embed_seconds),
};

static int ops_evaluate(void *self, cwb_metrics *m) {
    cwb_trainer *t = self;
    if (t->test) {
        cwb_probe_info p;
        int rc = cwb_trainer_probe(t, &p);
        return rc ? rc : cwb_metrics_from_fields(m, &p, probe_fields, NFIELDS(probe_fields), 1);
    }
    cwb_eval_info e;
    int rc = cwb_trainer_eval(self, &e);
    return rc ? rc : cwb_metrics_from_fields(m, &e, eval_fields, NFIELDS(eval_fields), 0);
}

/* A trainer built anew from the effective config on the same data, moved
 * into t: every stream re-seeded, parameters, optimiser and loss state as
 * construction left them.  The data set stays (an owned one changes hands),
 * so nothing is regenerated. */
int cwb_trainer_reset(cwb_trainer *t) {
    if (!t) return cwb_fail(CWB_EINVAL, "cwb_trainer_reset: NULL trainer");
    cwb_trainer *fresh = cwb_trainer_new_split(&t->cfg, t->data, t->test);
    if (!fresh) return CWB_ENOMEM; /* the config was valid at construction: only memory can fail */
    fresh->owned = t->owned;
    t->owned = NULL;
    cwb_trainer old = *t;
    *t = *fresh;
    *fresh = old;
    cwb_trainer_free(fresh);
    return CWB_OK;
}

static int ops_reset(void *self) { return cwb_trainer_reset(self); }

static const cwb_json_field cfg_fields[] = {
    CWB_JSON_FIELD(cwb_trainer_cfg, seed, CWB_JSON_U64),          CWB_JSON_FIELD(cwb_trainer_cfg, batch, CWB_JSON_INT),
    CWB_JSON_FIELD(cwb_trainer_cfg, batch_noise, CWB_JSON_FLOAT), CWB_JSON_FIELD(cwb_trainer_cfg, pair_noise, CWB_JSON_FLOAT),
    CWB_JSON_FIELD(cwb_trainer_cfg, importance, CWB_JSON_BOOL),   CWB_JSON_FIELD(cwb_trainer_cfg, tau, CWB_JSON_FLOAT),
    CWB_JSON_FIELD(cwb_trainer_cfg, learn_tau, CWB_JSON_BOOL),   CWB_JSON_FIELD(cwb_trainer_cfg, shuffle, CWB_JSON_BOOL),
};
static const cwb_json_field probe_cfg_fields[] = {
    CWB_JSON_FIELD(cwb_probe_cfg, knn, CWB_JSON_INT), {"temperature", CWB_JSON_DOUBLE, offsetof(cwb_probe_cfg, knn_temperature)},
    CWB_JSON_FIELD(cwb_probe_cfg, linear, CWB_JSON_BOOL),
};

int cwb_trainer_describe(const cwb_trainer *t, cwb_json *j) {
    if (!t || !j) return cwb_fail(CWB_EINVAL, "cwb_trainer_describe: NULL %s", !t ? "trainer" : "writer");
    const cwb_trainer_cfg *c = &t->live;
    cwb_json_open(j, NULL);
    cwb_json_fields(j, c, cfg_fields, CWB_JSON_NFIELDS(cfg_fields));
    if (c->batch_max > c->batch) cwb_json_int(j, "batch_max", c->batch_max);
    if (t->owned) cwb_synth_describe(&c->data, "data", j);
    else cwb_json_str(j, "data", "dataset object");
    if (t->imaug) cwb_imaug_describe(&c->imaug, "aug", j);
    else cwb_aug_describe(&c->aug, "aug", j);
    cwb_json_open(j, "encoder");
    cwb_json_ints(j, "dims", c->enc.dims, c->enc.n_layers + 1);
    cwb_json_str(j, "act", cwb_act_name(c->enc.act));
    cwb_json_bool(j, "l2norm", c->enc.l2norm);
    cwb_json_bool(j, "shared", c->shared_tower);
    if (t->head) cwb_json_ints(j, "head", c->head.dims, c->head.n_layers + 1);
    cwb_json_close(j);
    if (t->test) {
        cwb_json_open(j, "eval");
        cwb_json_int(j, "test_rows", t->test->n);
        cwb_json_fields(j, &c->eval, probe_cfg_fields, CWB_JSON_NFIELDS(probe_cfg_fields));
        if (c->eval.linear) {
            cwb_json_open(j, "probe");
            cwb_json_int(j, "max_iter", c->eval.probe.max_iter);
            cwb_json_double(j, "grad_tol", c->eval.probe.grad_tol);
            cwb_json_double(j, "rel_tol", c->eval.probe.rel_tol);
            cwb_json_double(j, "val_frac", c->eval.probe.val_frac);
            cwb_json_close(j);
        }
        cwb_json_close(j);
    }
    cwb_optim_describe(&c->opt, "optim", j);
    cwb_schedule_describe(&c->sched, "schedule", j);
    cwb_loss_describe(cwb_loss_config(t->loss), "loss", j);
    cwb_json_close(j);
    return CWB_OK;
}

/* ---- live knobs ------------------------------------------------------------------ */

int cwb_trainer_knobs(const cwb_trainer *t, cwb_knob *out, int max) {
    int n = 0;
    if (!t || !out) return 0;
    /* 1/tau <= 100 as with a learned temperature (CLIP's clamp) */
    cwb_knob_add(out, &n, max, "tau", "tau", 1.0 / exp((double)t->log_scale), 1.0 / CWB_MAX_SCALE, 10);
    cwb_knob_add(out, &n, max, "lr", "optim.lr", t->live.opt.lr, 1e-5, 10);
    cwb_knob *b = cwb_knob_add(out, &n, max, "batch", "batch", t->B, 2, t->Bmax);
    if (b) b->integer = 1;
    cwb_loss_knobs(t->loss, 1, out, &n, max);
    return n;
}

int cwb_trainer_set(cwb_trainer *t, const char *name, double value) {
    if (!t || !name) return cwb_fail(CWB_EINVAL, "cwb_trainer_set: NULL %s", !t ? "trainer" : "name");
    int rc = cwb_loss_set_knob(t->loss, name, value, "trainer");
    if (rc != -1) return rc;
    cwb_knob k[CWB_KNOBS_MAX];
    if (!cwb_knob_checked(k, cwb_trainer_knobs(t, k, CWB_KNOBS_MAX), name, value, "trainer")) return CWB_EINVAL;
    if (strcmp(name, "tau") == 0) {
        t->live.tau = (float)value;
        t->log_scale = (float)log(1.0 / value);
    } else if (strcmp(name, "lr") == 0) {
        t->live.opt.lr = (float)value;
    } else { /* batch: the buffers hold Bmax rows; with shuffle the next slice is B long */
        if (t->sampler && (rc = cwb_sampler_set_batch(t->sampler, (int)value))) return rc;
        t->B = t->live.batch = (int)value;
    }
    return CWB_OK;
}

static int ops_set(void *self, const char *name, double value) { return cwb_trainer_set(self, name, value); }
static int ops_knobs(const void *self, cwb_knob *out, int max) { return cwb_trainer_knobs(self, out, max); }

static int ops_describe(const void *self, cwb_json *j) { return cwb_trainer_describe(self, j); }

static int ops_embed(void *self, const float **a, const float **b, int *n, int *k) {
    cwb_trainer *t = self;
    int rc = cwb_trainer_embed(t, a, b);
    if (rc) return rc;
    *n = t->ne;
    *k = t->k;
    return CWB_OK;
}

/* The pane shows the test split when there is one. */
static const cwb_dataset *shown(const cwb_trainer *t) { return t->test ? t->test : t->data; }
static const int *ops_labels(const void *self) { return shown(self)->labels; }
static const char *const *ops_class_names(const void *self, int *n) {
    const cwb_trainer *t = self;
    if (n) *n = t->data->clusters;
    return shown(t)->class_names ? shown(t)->class_names : t->data->class_names;
}

static long ops_steps(const void *self) { return ((const cwb_trainer *)self)->step; }
static uint64_t ops_seed(const void *self) { return ((const cwb_trainer *)self)->cfg.seed; }

static void ops_destroy(void *self) { cwb_trainer_free(self); }

const cwb_train_ops cwb_trainer_ops = {
    .kind = "trainer", .headline = "loss", .tick_every = 1,
    .step = ops_step, .evaluate = ops_evaluate, .reset = ops_reset, .describe = ops_describe,
    .embed = ops_embed, .labels = ops_labels, .class_names = ops_class_names, .steps = ops_steps,
    .seed = ops_seed, .destroy = ops_destroy, .set = ops_set, .knobs = ops_knobs,
};
