/*
 * driver.h - the interface every trainer implements, and the one loop that
 * drives any of them (docs/architecture.md, "The run driver").
 *
 * Layer: engine/train.  Included by the trainers (trainer.h, mmtrain.h,
 * scalefit.h), which implement cwb_train_ops, and by whoever drives a run:
 * the Lua binding's run function (lua/lrun.c), the engine tests.
 *
 * A trainer is an object plus a table of operations: take one step, evaluate
 * (optional), reset to the state right after construction, describe its
 * parameters as JSON, embed the data for the geometry pane (optional), and
 * report its step count and seed.  What a step or an evaluation measures
 * comes back as a metrics list of {name, value} pairs: fixed capacity, so a
 * step fills it without allocating.  A metric that does not apply to this
 * trainer or configuration is absent from the list, never NaN.
 *
 * cwb_drive() owns the loop: the number of steps, when metrics are logged
 * (log_every), when the model is evaluated (eval_every, and once at the
 * end), and the caller's hooks (a tick every few steps, an optional per-step
 * call).  It holds no resources, so a hook that never returns (a Lua error
 * longjmps out of it) leaves nothing behind.
 *
 * Where a new trainer goes: its own file in engine/train/ with its config,
 * step and evaluation, and a `const cwb_train_ops` whose functions cast the
 * void * back to the trainer; nothing in the loop or the binding's run
 * function changes.
 */
#ifndef CWB_DRIVER_H
#define CWB_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/core/knob.h"
#include "util/json.h"

/* ---- metrics lists --------------------------------------------------------- */

#define CWB_METRICS_MAX 32

typedef struct {
    const char *name;   /* not copied: a string literal (or as long-lived) */
    double value;
} cwb_metric;

typedef struct {
    int n;
    cwb_metric m[CWB_METRICS_MAX];
} cwb_metrics;

static inline void cwb_metrics_clear(cwb_metrics *l) { l->n = 0; }
int cwb_metrics_full(const char *name);   /* the error of cwb_metrics_add */
/* Append {name, value}; CWB_EINVAL when the list is full (a trainer that
 * reports more than CWB_METRICS_MAX values is a programming error).  Inline:
 * the scale fit adds two values a microsecond. */
static inline int cwb_metrics_add(cwb_metrics *l, const char *name, double value) {
    if (l->n >= CWB_METRICS_MAX) return cwb_metrics_full(name);
    l->m[l->n].name = name;
    l->m[l->n].value = value;
    l->n++;
    return 0;
}
/* The value of `name`, or NULL when the list does not have it. */
const double *cwb_metrics_get(const cwb_metrics *l, const char *name);
/* A trainer's info struct as a metrics list (cleared first): each {name,
 * offset} names a double member of *base.  skip_nan: leave out the members
 * that are NaN (a struct's "does not apply"), so the list never holds NaN. */
typedef struct {
    const char *name;
    size_t offset;
} cwb_metric_field;
int cwb_metrics_from_fields(cwb_metrics *l, const void *base, const cwb_metric_field *f, int n, int skip_nan);
/* The same names in the same order with bit-identical values: what a run
 * after reset() gives again. */
int cwb_metrics_same(const cwb_metrics *a, const cwb_metrics *b);

/* ---- the trainer interface ------------------------------------------------- */

typedef struct cwb_train_ops {
    const char *kind;        /* "trainer", "mm", "scalefit": for messages */
    const char *headline;    /* the step metric a progress line shows ("loss") */
    long tick_every;         /* steps between ticks: how cheap a step is (1 for
                                the trainers; 256 for scalefit, ~1 us a step) */

    /* One step.  m is cleared and filled with the step's metrics, "loss"
     * first.  A failure (CWB_ENAN "step N: ... is not finite") leaves the
     * parameters as they were before the step. */
    int (*step)(void *self, cwb_metrics *m);
    /* The evaluation metrics of the current model; NULL: nothing to evaluate. */
    int (*evaluate)(void *self, cwb_metrics *m);
    /* Back to the state right after construction: the same seed, the same
     * numbers again from the next step on. */
    int (*reset)(void *self);
    /* The parameters as one JSON object (floats with cwb_json_float, so a
     * value given as 0.2 is recorded as 0.2). */
    int (*describe)(const void *self, cwb_json *j);
    /* n x k embeddings a, b for the geometry pane, owned by the trainer and
     * valid until its next call; NULL: nothing to show.  0 on success. */
    int (*embed)(void *self, const float **a, const float **b, int *n, int *k);
    /* The class (or cluster) label of each embedded row, 0-based, for
     * colouring the pane by class; NULL (or returning NULL): none. */
    const int *(*labels)(const void *self);
    /* The names of the label values 0..*n-1 (static strings), for the
     * pane's legend; NULL (or returning NULL): none. */
    const char *const *(*class_names)(const void *self, int *n);
    long (*steps)(const void *self);         /* steps done since construction/reset */
    uint64_t (*seed)(const void *self);
    void (*destroy)(void *self);             /* free the trainer (NULL is a no-op) */
    /* A live knob (core/knob.h): set `name` to `value` from the next step on
     * (between two steps, e.g. from a tick; nothing is allocated).  NULL: the
     * trainer has none (see cwb_train_set).  A value outside the knob's
     * range, or a name the trainer does not have, is CWB_EINVAL and changes
     * nothing.  reset() returns every knob to its constructed value;
     * describe() writes the values as they are now, so a run started after a
     * change records what it starts from. */
    int (*set)(void *self, const char *name, double value);
    /* The knobs and their values now into out[0..max-1]; returns how many.
     * NULL: none. */
    int (*knobs)(const void *self, cwb_knob *out, int max);
} cwb_train_ops;

/* ops->set(self, name, value), or CWB_EINVAL "<kind>: no live knob 'name'
 * (it has: tau, lr, ...)" when the trainer has no such knob. */
int cwb_train_set(const cwb_train_ops *ops, void *self, const char *name, double value);
/* ops->knobs(self, out, max), or 0 when the trainer has none. */
int cwb_train_knobs(const cwb_train_ops *ops, const void *self, cwb_knob *out, int max);

/* ---- the loop ----------------------------------------------------------------- */

typedef struct {
    long steps;              /* steps to take, >= 0 */
    long log_every;          /* log step metrics at step % log_every == 0; 0 = the
                                default cwb_drive_log_every(steps) */
    long eval_every;         /* evaluate at step % eval_every == 0; 0 = never */
    int final_eval;          /* evaluate after the last step, unless it just did */
    long tick_every;         /* 0 = ops->tick_every */
} cwb_drive_opts;

/* max(1, steps / 1000): about a thousand points per curve, what a figure
 * needs (logging every step made the main recipe's store 86 MB). */
long cwb_drive_log_every(long steps);

/* What a hook returns: go on, stop after this step (any negative value), or
 * (> 0) a cwb_status error that cwb_drive returns as it is (the hook leaves
 * the message). */
#define CWB_DRIVE_GO 0
#define CWB_DRIVE_STOP (-1)

typedef struct {
    void *ud;
    /* Step metrics to record: at step % log_every == 0, at the last step, and
     * at the step after which the run stops.  `step` is the trainer's count. */
    int (*log)(void *ud, long step, const cwb_metrics *m);
    /* Evaluation metrics, after each evaluation. */
    int (*eval)(void *ud, long step, const cwb_metrics *m);
    /* Every tick_every steps done and after the last: `done` of opts.steps;
     * where a front end reads the keyboard, draws progress and checks Ctrl-C. */
    int (*tick)(void *ud, long done, const cwb_metrics *m);
    /* After every step, only when non-NULL (it costs the caller a call a
     * step): the step metrics, and the evaluation if this step had one
     * (else NULL). */
    int (*each)(void *ud, long step, const cwb_metrics *m, const cwb_metrics *ev);
} cwb_drive_hooks;

typedef struct {
    long done;               /* steps taken by this call */
    long step;               /* the trainer's step count at the end */
    int stopped;             /* a hook asked to stop before the last step */
    int evaluated;           /* `eval` holds an evaluation from this call */
    cwb_metrics last;        /* the last step's metrics (n = 0 if no step) */
    cwb_metrics eval;        /* the last evaluation */
} cwb_drive_result;

/* Drive `self` through ops for opts->steps steps.  Per step, in this order:
 * the step; log (if due); evaluate (if due) and the eval hook; tick (if
 * due); each; then log if a hook asked to stop and the step was not logged.
 * After the loop the final evaluation (opts->final_eval, skipped when the
 * last step evaluated; also for 0 steps: the model as it is).  Returns
 * CWB_OK, or the first error of a step, an evaluation or a hook; r holds
 * what was done up to there.  Any hook may be NULL. */
int cwb_drive(const cwb_train_ops *ops, void *self, const cwb_drive_opts *opts,
              const cwb_drive_hooks *hooks, cwb_drive_result *r);

#endif
