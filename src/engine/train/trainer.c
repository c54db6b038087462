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
 * Failure: if the loss, an embedding or a gradient is not finite the step
 * returns CWB_ENAN before any parameter is touched.
 */
#include "engine/train/trainer.h"
#include "engine/core/error.h"
#include "engine/core/mem.h"
#include "engine/eval/metrics.h"
#include "engine/core/tensor.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define CWB_MAX_SCALE 100.0     /* 1/tau <= 100, CLIP's clamp */

struct cwb_trainer {
    cwb_trainer_cfg cfg;        /* effective config (loss.n_total filled in) as constructed */
    cwb_trainer_cfg live;       /* the same with the knobs as they are now (tau, lr, batch;
                                 * the loss's knobs live in the loss object) */
    const cwb_dataset *data;
    cwb_dataset *owned;         /* data built by the trainer, or NULL */
    int N, d, k, B;             /* B: the batch size now (the knob), <= Bmax */
    int Bmax;                   /* what the batch buffers hold */

    cwb_sampler *sampler;
    cwb_rng aug_rng;
    int n_towers;
    cwb_mlp *tower[2];
    cwb_optim *opt[2];
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
    float *ea, *eb;             /* N x k */
    float *ev;                  /* max tower rows x d */
    cwb_mem mem;                /* owns the batch and evaluation buffers */
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
    cwb_loss_free(t->loss);
    cwb_mem_free(&t->mem);
    cwb_dataset_free(t->owned);
    free(t);
}

cwb_trainer *cwb_trainer_new(const cwb_trainer_cfg *cfg, const cwb_dataset *data) {
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
    t->k = c->enc.dims[c->enc.n_layers];
    if (cwb_loss_fit_dataset(&c->loss, t->N, "trainer")) goto fail;

    t->sampler = cwb_sampler_new(t->data, t->B, c->batch_noise, c->pair_noise, c->seed);
    if (!t->sampler) goto fail;
    cwb_rng_seed(&t->aug_rng, c->seed, CWB_STREAM_AUG);

    cwb_rng init;
    cwb_rng_seed(&init, c->seed, CWB_STREAM_INIT);
    t->n_towers = c->shared_tower ? 1 : 2;
    const int rows = c->shared_tower ? 2 * t->Bmax : t->Bmax;
    for (int i = 0; i < t->n_towers; i++) {
        t->tower[i] = cwb_mlp_new(&c->enc, rows, &init);
        if (!t->tower[i]) goto fail;
        t->opt[i] = cwb_optim_new(&c->opt, t->tower[i]->n_params);
        if (!t->opt[i]) goto fail;
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

int cwb_trainer_step(cwb_trainer *t, cwb_step_info *info) {
    if (!t) return cwb_fail(CWB_EINVAL, "cwb_trainer_step: NULL trainer");
    const int B = t->B, d = t->d, k = t->k;
    const long stepno = t->step + 1;
    const cwb_trainer_cfg *c = &t->cfg;
    int rc;

    rc = cwb_sampler_next(t->sampler, t->idx, t->pos, c->importance ? t->w : NULL);
    if (rc) return step_fail(t, rc, "sampler");
    float *raw1 = t->raw, *raw2 = t->raw + (size_t)B * d;
    float *v1 = t->views, *v2 = t->views + (size_t)B * d;
    cwb_gather_rows(t->data->x, t->idx, B, raw1);
    cwb_gather_rows(t->data->x, t->pos, B, raw2);
    if ((rc = cwb_augment(&c->aug, raw1, v1, B, d, &t->aug_rng)) ||
        (rc = cwb_augment(&c->aug, raw2, v2, B, d, &t->aug_rng)))
        return step_fail(t, rc, "augmentation");

    const float *za, *zb;
    if (t->n_towers == 1) {
        const float *z;
        if ((rc = cwb_mlp_forward(t->tower[0], t->views, 2 * B, &z))) return step_fail(t, rc, "forward");
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
    for (int i = 0; i < t->n_towers; i++) {
        cwb_mlp *m = t->tower[i];
        cwb_mlp_zero_grad(m);
        if ((rc = cwb_mlp_backward(m, i == 0 ? t->dout : db, NULL))) return step_fail(t, rc, "backward");
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

    const float lr = t->live.opt.lr * cwb_schedule_factor(&c->sched, t->step);
    for (int i = 0; i < t->n_towers; i++) {
        cwb_mlp *m = t->tower[i];
        if ((rc = cwb_optim_step(t->opt[i], m->params, m->grads, lr))) return step_fail(t, rc, "update");
    }
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

/* Both evaluation views of all N samples: view a through tower 1, view b
 * through tower 2 (or both through the shared tower), in blocks of the
 * tower's row capacity.  The view RNG restarts from the EVAL stream every
 * call, so the same parameters always give the same embeddings. */
static int embed_all(cwb_trainer *t) {
    const int N = t->N, d = t->d, k = t->k;
    const int cap = t->tower[0]->max_batch;
    if (!cwb_mem_lazy_floats(&t->mem, &t->ea, (size_t)N * k) ||
        !cwb_mem_lazy_floats(&t->mem, &t->eb, (size_t)N * k) ||
        !cwb_mem_lazy_floats(&t->mem, &t->ev, (size_t)cap * d))
        return cwb_fail(CWB_ENOMEM, "trainer eval: out of memory for N = %d embeddings", N);
    cwb_rng r;
    cwb_rng_seed(&r, t->cfg.seed, CWB_STREAM_EVAL);
    const float *x = t->data->x->data;
    for (int view = 0; view < 2; view++) {
        cwb_mlp *m = t->tower[t->n_towers == 1 ? 0 : view];
        float *dst = view == 0 ? t->ea : t->eb;
        for (int r0 = 0; r0 < N; r0 += cap) {
            const int rows = N - r0 < cap ? N - r0 : cap;
            const float *z;
            int rc = cwb_augment(&t->cfg.aug, x + (size_t)r0 * d, t->ev, rows, d, &r);
            if (!rc) rc = cwb_mlp_forward(m, t->ev, rows, &z);
            if (rc) return rc;
            memcpy(dst + (size_t)r0 * k, z, (size_t)rows * k * sizeof *dst);
        }
    }
    return CWB_OK;
}

int cwb_trainer_embed(cwb_trainer *t, const float **a, const float **b) {
    if (!t) return cwb_fail(CWB_EINVAL, "cwb_trainer_embed: NULL trainer");
    int rc = embed_all(t);
    if (rc) return rc;
    if (a) *a = t->ea;
    if (b) *b = t->eb;
    return CWB_OK;
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
#undef FIELD
#define NFIELDS(a) ((int)(sizeof a / sizeof a[0]))

static int ops_step(void *self, cwb_metrics *m) {
    cwb_step_info in;
    int rc = cwb_trainer_step(self, &in);
    return rc ? rc : cwb_metrics_from_fields(m, &in, step_fields, NFIELDS(step_fields), 0);
}

static int ops_evaluate(void *self, cwb_metrics *m) {
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
    cwb_trainer *fresh = cwb_trainer_new(&t->cfg, t->data);
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
    CWB_JSON_FIELD(cwb_trainer_cfg, learn_tau, CWB_JSON_BOOL),
};

int cwb_trainer_describe(const cwb_trainer *t, cwb_json *j) {
    if (!t || !j) return cwb_fail(CWB_EINVAL, "cwb_trainer_describe: NULL %s", !t ? "trainer" : "writer");
    const cwb_trainer_cfg *c = &t->live;
    cwb_json_open(j, NULL);
    cwb_json_fields(j, c, cfg_fields, CWB_JSON_NFIELDS(cfg_fields));
    if (c->batch_max > c->batch) cwb_json_int(j, "batch_max", c->batch_max);
    if (t->owned) cwb_synth_describe(&c->data, "data", j);
    else cwb_json_str(j, "data", "dataset object");
    cwb_aug_describe(&c->aug, "aug", j);
    cwb_json_open(j, "encoder");
    cwb_json_ints(j, "dims", c->enc.dims, c->enc.n_layers + 1);
    cwb_json_str(j, "act", cwb_act_name(c->enc.act));
    cwb_json_bool(j, "l2norm", c->enc.l2norm);
    cwb_json_bool(j, "shared", c->shared_tower);
    cwb_json_close(j);
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
    } else { /* batch: the buffers hold Bmax rows */
        if ((rc = cwb_sampler_set_batch(t->sampler, (int)value))) return rc;
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
    *n = t->N;
    *k = t->k;
    return CWB_OK;
}

static const int *ops_labels(const void *self) { return ((const cwb_trainer *)self)->data->labels; }

static long ops_steps(const void *self) { return ((const cwb_trainer *)self)->step; }
static uint64_t ops_seed(const void *self) { return ((const cwb_trainer *)self)->cfg.seed; }

static void ops_destroy(void *self) { cwb_trainer_free(self); }

const cwb_train_ops cwb_trainer_ops = {
    .kind = "trainer", .headline = "loss", .tick_every = 1,
    .step = ops_step, .evaluate = ops_evaluate, .reset = ops_reset, .describe = ops_describe,
    .embed = ops_embed, .labels = ops_labels, .steps = ops_steps, .seed = ops_seed, .destroy = ops_destroy,
    .set = ops_set, .knobs = ops_knobs,
};
