/*
 * optim.h - optimisers over one flat parameter block, and learning-rate
 * schedules.  State is allocated at creation; a step never allocates.
 */
#ifndef CWB_OPTIM_H
#define CWB_OPTIM_H

#include <stddef.h>

#include "util/json.h"

typedef enum { CWB_OPT_SGD = 0, CWB_OPT_ADAMW } cwb_opt_kind;

typedef struct {
    cwb_opt_kind kind;
    float lr;            /* base learning rate */
    float momentum;      /* SGD: heavy-ball momentum (PyTorch convention), 0 = none */
    float weight_decay;  /* SGD: L2 added to the gradient; AdamW: decoupled */
    float beta1, beta2, eps;   /* AdamW */
} cwb_optim_cfg;

/* Defaults: SGD lr 0.1 momentum 0.9 wd 0; AdamW lr 1e-3 betas (0.9, 0.999) eps 1e-8 wd 0.01. */
cwb_optim_cfg cwb_optim_defaults(cwb_opt_kind kind);
int cwb_opt_from_name(const char *name);   /* "sgd", "adamw"; -1 if unknown */

/* The one check of an optimiser config, used by cwb_optim_new and by every
 * trainer when it is built: a known kind, lr and weight_decay finite and
 * >= 0, SGD momentum in [0, 1), AdamW betas in [0, 1) and eps > 0.
 * CWB_EINVAL with "who: lr=-1 must be finite and >= 0" (who may be NULL). */
int cwb_optim_check(const cwb_optim_cfg *c, const char *who);

/* The config as the member `key` of the JSON object j is writing (betas and
 * eps for AdamW only). */
void cwb_optim_describe(const cwb_optim_cfg *c, const char *key, cwb_json *j);

typedef struct cwb_optim cwb_optim;
cwb_optim *cwb_optim_new(const cwb_optim_cfg *cfg, size_t n_params);
void cwb_optim_free(cwb_optim *o);
/* One update of params[n] from grads[n] at learning rate lr (the schedule's
 * lr, not cfg->lr).  CWB_ENAN if a gradient is not finite (params untouched). */
int cwb_optim_step(cwb_optim *o, float *params, const float *grads, float lr);
/* The optimiser's state, n_params values: which 0 = the first moment (SGD's
 * momentum buffer, AdamW's m), 1 = AdamW's second moment v; NULL when the
 * kind keeps none.  Subnormal values never stay in it (they are flushed to
 * zero in the update: optim.c). */
const float *cwb_optim_moment(const cwb_optim *o, int which);

typedef enum { CWB_SCHED_CONSTANT = 0, CWB_SCHED_WARMUP, CWB_SCHED_COSINE } cwb_sched_kind;
typedef struct {
    cwb_sched_kind kind;
    long warmup;         /* steps of linear warm-up from 0 (WARMUP, COSINE): step/warmup */
    long total;          /* COSINE: the decay ends at step `total`, counted from 0
                            with the warm-up included (pass the run's step count) */
    float min_frac;      /* COSINE: final lr as a fraction of the base lr */
} cwb_schedule;
int cwb_sched_from_name(const char *name); /* "constant", "warmup", "cosine"; -1 if unknown */
const char *cwb_sched_name(cwb_sched_kind kind);   /* "constant", ...; "unknown" */
/* The one check of a schedule, used by every trainer when it is built: a
 * known kind, warmup and total >= 0, min_frac in [0, 1], and for COSINE
 * total > warmup (without an end it would sit at min_frac, often 0, right
 * after the warm-up: a silent learning rate of zero).  CWB_EINVAL with
 * "who: ..." (who may be NULL). */
int cwb_schedule_check(const cwb_schedule *s, const char *who);
void cwb_schedule_describe(const cwb_schedule *s, const char *key, cwb_json *j);
/* The lr multiplier at `step` (0-based): in [0, 1]. */
float cwb_schedule_factor(const cwb_schedule *s, long step);

#endif
