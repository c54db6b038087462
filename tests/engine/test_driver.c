/*
 * test_driver.c - the one training loop (driver.h) on a tiny fake trainer
 * whose step and evaluation only count: when metrics are logged (log_every,
 * its default, the last step, a stop), when the model is evaluated
 * (eval_every, the final evaluation and when it is skipped), ticks and the
 * per-step hook, stops and errors from the trainer or a hook, steps counted
 * from where the trainer is, the metrics list, live knobs.
 */
#include "engine/core/error.h"
#include "engine/train/driver.h"
#include "../tap.h"

#include <math.h>
#include <string.h>

/* ---- the fake trainer: loss = 1/step scaled by a knob ------------------------ */

typedef struct {
    long step;
    long fail_at;        /* the step that fails with CWB_ENAN, 0 = none */
    double gain;         /* a live knob */
    int evals;
} fake;

static int f_step(void *self, cwb_metrics *m) {
    fake *f = self;
    if (f->fail_at && f->step + 1 == f->fail_at)
        return cwb_fail(CWB_ENAN, "step %ld: loss is not finite", f->step + 1);
    f->step++;
    cwb_metrics_clear(m);
    cwb_metrics_add(m, "loss", f->gain / (double)f->step);
    cwb_metrics_add(m, "step_again", (double)f->step);
    return CWB_OK;
}

static int f_eval(void *self, cwb_metrics *m) {
    fake *f = self;
    f->evals++;
    cwb_metrics_clear(m);
    return cwb_metrics_add(m, "score", (double)f->step);
}

static int f_reset(void *self) {
    fake *f = self;
    f->step = 0;
    f->evals = 0;
    f->gain = 1;
    return CWB_OK;
}

static int f_describe(const void *self, cwb_json *j) {
    (void)self;
    cwb_json_open(j, NULL);
    cwb_json_str(j, "trainer", "fake");
    cwb_json_close(j);
    return CWB_OK;
}

static long f_steps(const void *self) { return ((const fake *)self)->step; }
static uint64_t f_seed(const void *self) { (void)self; return 7; }

static int f_set(void *self, const char *name, double value) {
    fake *f = self;
    if (strcmp(name, "gain") != 0) return cwb_fail(CWB_EINVAL, "fake: no live knob '%s'", name);
    f->gain = value;
    return CWB_OK;
}

static int f_knobs(const void *self, cwb_knob *out, int max) {
    int n = 0;
    cwb_knob_add(out, &n, max, "gain", "gain", ((const fake *)self)->gain, 0, 100);
    return n;
}

static const cwb_train_ops fake_ops = {
    .kind = "fake", .headline = "loss", .tick_every = 1, .step = f_step, .evaluate = f_eval, .reset = f_reset,
    .describe = f_describe, .embed = NULL, .steps = f_steps, .seed = f_seed, .destroy = NULL, .set = f_set,
    .knobs = f_knobs,
};

/* ---- a recording front end ----------------------------------------------------- */

#define MAXREC 4096

typedef struct {
    long log_steps[MAXREC], eval_steps[MAXREC], tick_done[MAXREC], each_steps[MAXREC];
    int nlog, neval, ntick, neach, each_with_eval;
    double last_logged_loss;
    long stop_at_tick, stop_at_each;   /* done / step at which to ask to stop (0 = never) */
    long fail_tick_at;                 /* done at which the tick fails */
    void *knob_self;                   /* set gain = 10 at the tick after step 2 */
} rec;

static int r_log(void *ud, long step, const cwb_metrics *m) {
    rec *r = ud;
    if (r->nlog < MAXREC) r->log_steps[r->nlog++] = step;
    const double *l = cwb_metrics_get(m, "loss");
    r->last_logged_loss = l ? *l : -1;
    return CWB_DRIVE_GO;
}

static int r_eval(void *ud, long step, const cwb_metrics *m) {
    rec *r = ud;
    (void)m;
    if (r->neval < MAXREC) r->eval_steps[r->neval++] = step;
    return CWB_DRIVE_GO;
}

static int r_tick(void *ud, long done, const cwb_metrics *m) {
    rec *r = ud;
    (void)m;
    if (r->ntick < MAXREC) r->tick_done[r->ntick++] = done;
    if (r->fail_tick_at && done == r->fail_tick_at) return cwb_fail(CWB_EINVAL, "tick refused at %ld", done);
    if (r->knob_self && done == 2) cwb_train_set(&fake_ops, r->knob_self, "gain", 10);
    return r->stop_at_tick && done >= r->stop_at_tick ? CWB_DRIVE_STOP : CWB_DRIVE_GO;
}

static int r_each(void *ud, long step, const cwb_metrics *m, const cwb_metrics *ev) {
    rec *r = ud;
    (void)m;
    if (r->neach < MAXREC) r->each_steps[r->neach++] = step;
    if (ev) r->each_with_eval++;
    return r->stop_at_each && step >= r->stop_at_each ? CWB_DRIVE_STOP : CWB_DRIVE_GO;
}

static int same(const long *got, int n, const long *want, int nw) {
    if (n != nw) return 0;
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) return 0;
    return 1;
}

/* A fake and its recorder. */
typedef struct {
    fake f;
    rec r;
    cwb_drive_result res;
} fixture;

/* A fresh fake at step 0 and an empty recorder (a static one: the recorder
 * is large). */
static fixture *fresh(void) {
    static fixture x;
    memset(&x, 0, sizeof x);
    x.f.gain = 1;
    return &x;
}

/* One drive of x->f (counts of the recorder cleared, its settings kept),
 * with or without the per-step hook. */
static int drive(const cwb_train_ops *ops, fixture *x, int each, cwb_drive_opts o) {
    rec *r = &x->r;
    r->nlog = r->neval = r->ntick = r->neach = r->each_with_eval = 0;
    cwb_drive_hooks h = {r, r_log, r_eval, r_tick, each ? r_each : NULL};
    return cwb_drive(ops, &x->f, &o, &h, &x->res);
}

/* ---- tests --------------------------------------------------------------------- */

static void test_metrics(void) {
    cwb_metrics m;
    cwb_metrics_clear(&m);
    ok(cwb_metrics_add(&m, "loss", 2.5) == CWB_OK && cwb_metrics_add(&m, "tau", 0.1) == CWB_OK && m.n == 2,
       "metrics: add two");
    const double *v = cwb_metrics_get(&m, "tau");
    ok(v && *v == 0.1 && strcmp(m.m[0].name, "loss") == 0, "metrics: get by name, kept in order");
    ok(cwb_metrics_get(&m, "top1") == NULL, "metrics: an absent metric is NULL, not NaN");
    cwb_metrics c = m;
    ok(cwb_metrics_same(&m, &c), "metrics: a copy is the same");
    c.m[1].value = 0.1 + 1e-17 + 1e-16;
    ok(!cwb_metrics_same(&m, &c), "... and one changed in the last bit is not");
    c = m;
    c.n = 1;
    ok(!cwb_metrics_same(&m, &c), "... nor a shorter one");
    int rc = CWB_OK;
    for (int i = m.n; i < CWB_METRICS_MAX; i++) rc |= cwb_metrics_add(&m, "x", i);
    ok(rc == CWB_OK && m.n == CWB_METRICS_MAX, "metrics: %d fit", CWB_METRICS_MAX);
    rc = cwb_metrics_add(&m, "one_too_many", 1);
    ok(rc == CWB_EINVAL && strstr(cwb_errmsg(), "one_too_many") && m.n == CWB_METRICS_MAX,
       "metrics: a full list refuses with a message (%s)", cwb_errmsg());
}

static void test_log_every(void) {
    fixture *x = fresh();
    int rc = drive(&fake_ops, x, 0, (cwb_drive_opts){10, 3, 0, 0, 0});
    static const long want[] = {3, 6, 9, 10};
    ok(rc == CWB_OK && same(x->r.log_steps, x->r.nlog, want, 4),
       "log_every 3 over 10 steps: logged at 3, 6, 9 and the last, 10");
    ok(x->res.done == 10 && x->res.step == 10 && !x->res.stopped && x->f.step == 10, "10 steps done, not stopped");
    ok(x->res.last.n == 2 && x->res.last.m[0].value == 0.1, "result.last: the last step's metrics (loss 1/10)");
    ok(!x->res.evaluated && x->f.evals == 0, "no evaluation asked for, none done");

    /* the default: max(1, steps / 1000) */
    ok(cwb_drive_log_every(0) == 1 && cwb_drive_log_every(999) == 1 && cwb_drive_log_every(2500) == 2 &&
       cwb_drive_log_every(200000) == 200, "default log_every = max(1, steps/1000)");
    x = fresh();
    rc = drive(&fake_ops, x, 0, (cwb_drive_opts){5000, 0, 0, 0, 0});
    ok(rc == CWB_OK && x->r.nlog == 1000 && x->r.log_steps[0] == 5 && x->r.log_steps[999] == 5000,
       "5000 steps log every 5th by default: %d points", x->r.nlog);

    /* steps count from where the trainer is */
    rc = drive(&fake_ops, x, 0, (cwb_drive_opts){7, 4, 0, 0, 0});
    static const long want2[] = {5004, 5007};
    ok(rc == CWB_OK && x->res.step == 5007 && x->res.done == 7 && same(x->r.log_steps, x->r.nlog, want2, 2),
       "a trainer at step 5000: log_every 4 logs at trainer steps 5004 and the last, 5007");
}

/* Evaluations of one fresh drive with the per-step hook. */
static int evals(const cwb_train_ops *ops, fixture **xp, cwb_drive_opts o) {
    *xp = fresh();
    return drive(ops, *xp, 1, o);
}

static void test_eval(void) {
    fixture *x;
    int rc = evals(&fake_ops, &x, (cwb_drive_opts){10, 1, 4, 1, 0});
    static const long want[] = {4, 8, 10};
    ok(rc == CWB_OK && same(x->r.eval_steps, x->r.neval, want, 3), "eval_every 4 over 10 steps: at 4, 8 and the final one");
    ok(x->res.evaluated && x->res.eval.n == 1 && x->res.eval.m[0].value == 10, "result.eval: the final evaluation");
    ok(x->r.neach == 10 && x->r.each_with_eval == 2, "the per-step hook runs every step, with the evaluation at 4 and 8");

    rc = evals(&fake_ops, &x, (cwb_drive_opts){8, 1, 4, 1, 0});
    static const long want2[] = {4, 8};
    ok(rc == CWB_OK && same(x->r.eval_steps, x->r.neval, want2, 2) && x->f.evals == 2,
       "the final evaluation is skipped when the last step just evaluated");
    rc = evals(&fake_ops, &x, (cwb_drive_opts){8, 1, 4, 0, 0});
    ok(rc == CWB_OK && x->r.neval == 2, "final_eval off: only the eval_every ones");
    rc = evals(&fake_ops, &x, (cwb_drive_opts){5, 1, 0, 1, 0});
    ok(rc == CWB_OK && x->r.neval == 1 && x->r.eval_steps[0] == 5, "eval_every 0: the final evaluation only");
    rc = evals(&fake_ops, &x, (cwb_drive_opts){0, 0, 0, 1, 0});
    ok(rc == CWB_OK && x->res.done == 0 && x->r.nlog == 0 && x->r.ntick == 0 && x->r.neval == 1 && x->res.last.n == 0,
       "0 steps: nothing logged or ticked, the model evaluated as it is");

    /* a trainer without an evaluation */
    cwb_train_ops noeval = fake_ops;
    noeval.evaluate = NULL;
    rc = evals(&noeval, &x, (cwb_drive_opts){6, 1, 2, 1, 0});
    ok(rc == CWB_OK && x->r.neval == 0 && !x->res.evaluated && x->r.each_with_eval == 0,
       "no evaluate(): eval_every and the final evaluation do nothing");
}

static void test_ticks(void) {
    fixture *x = fresh();
    int rc = drive(&fake_ops, x, 0, (cwb_drive_opts){1000, 0, 0, 0, 256});
    static const long want[] = {256, 512, 768, 1000};
    ok(rc == CWB_OK && same(x->r.tick_done, x->r.ntick, want, 4),
       "tick_every 256 over 1000 steps: 256, 512, 768 and the last");
    ok(x->r.neach == 0, "no per-step hook unless one is given");

    cwb_train_ops every3 = fake_ops;
    every3.tick_every = 3;
    x = fresh();
    rc = drive(&every3, x, 0, (cwb_drive_opts){7, 0, 0, 0, 0});
    static const long want2[] = {3, 6, 7};
    ok(rc == CWB_OK && same(x->r.tick_done, x->r.ntick, want2, 3), "tick_every 0 takes the trainer's hint (3): 3, 6, 7");
}

static void test_stop(void) {
    fixture *x = fresh();
    x->r.stop_at_tick = 5;
    int rc = drive(&fake_ops, x, 0, (cwb_drive_opts){100, 3, 0, 1, 0});
    static const long want[] = {3, 5};
    ok(rc == CWB_OK && x->res.stopped && x->res.done == 5 && x->f.step == 5,
       "a tick asking to stop ends the run after that step");
    ok(same(x->r.log_steps, x->r.nlog, want, 2), "the stopping step is logged (3, then 5)");
    ok(x->r.neval == 1 && x->r.eval_steps[0] == 5, "and the final evaluation is of the stopped model");

    x = fresh();
    x->r.stop_at_each = 6;
    rc = drive(&fake_ops, x, 1, (cwb_drive_opts){100, 3, 0, 0, 0});
    static const long want2[] = {3, 6};
    ok(rc == CWB_OK && x->res.stopped && x->res.done == 6 && same(x->r.log_steps, x->r.nlog, want2, 2),
       "the per-step hook can stop too; step 6 is logged once");

    x = fresh();
    x->r.stop_at_each = 4;
    rc = drive(&fake_ops, x, 1, (cwb_drive_opts){4, 1, 0, 0, 0});
    ok(rc == CWB_OK && !x->res.stopped && x->res.done == 4 && x->r.nlog == 4,
       "a stop asked at the last step: the run is complete");
}

static void test_errors(void) {
    fixture *x = fresh();
    x->f.fail_at = 7;
    cwb_drive_opts o = {20, 1, 0, 1, 0};
    cwb_clear_error();
    int rc = drive(&fake_ops, x, 0, o);
    ok(rc == CWB_ENAN && strstr(cwb_errmsg(), "step 7: loss is not finite"),
       "a failing step stops the loop with its code and message (%s)", cwb_errmsg());
    ok(x->res.done == 6 && x->res.step == 6 && x->r.nlog == 6 && x->r.neval == 0,
       "6 steps done and logged; no evaluation after a failure");

    x = fresh();
    x->r.fail_tick_at = 4;
    rc = drive(&fake_ops, x, 0, o);
    ok(rc == CWB_EINVAL && strstr(cwb_errmsg(), "tick refused at 4") && x->res.done == 4,
       "a hook's error is returned as it is (%s)", cwb_errmsg());

    o.steps = -1;
    ok(drive(&fake_ops, x, 0, o) == CWB_EINVAL && strstr(cwb_errmsg(), "negative"),
       "negative steps are refused (%s)", cwb_errmsg());
    o.steps = 1;
    ok(cwb_drive(NULL, &x->f, &o, NULL, &x->res) == CWB_EINVAL, "NULL ops refused");
    ok(cwb_drive(&fake_ops, &x->f, &o, NULL, &x->res) == CWB_OK && x->res.done == 1, "no hooks at all is fine");
}

static void test_knob_and_reset(void) {
    fixture *x = fresh();
    x->r.knob_self = &x->f;
    cwb_drive_opts o = {4, 1, 0, 0, 0};
    int rc = drive(&fake_ops, x, 0, o);
    ok(rc == CWB_OK && x->res.last.m[0].value == 10.0 / 4,
       "a knob turned in a tick takes effect from the next step (loss 10/4)");
    ok(cwb_train_set(&fake_ops, &x->f, "nope", 1) == CWB_EINVAL && strstr(cwb_errmsg(), "nope") &&
           strstr(cwb_errmsg(), "it has: gain"),
       "an unknown knob is refused, naming those there are (%s)", cwb_errmsg());
    cwb_knob k[4];
    ok(cwb_train_knobs(&fake_ops, &x->f, k, 4) == 1 && strcmp(k[0].name, "gain") == 0 && k[0].value == 10,
       "the knobs list their values now");
    cwb_train_ops fixed = fake_ops;
    fixed.set = NULL;
    fixed.knobs = NULL;
    ok(cwb_train_set(&fixed, &x->f, "gain", 2) == CWB_EINVAL &&
           strstr(cwb_errmsg(), "fake: no live knob 'gain' (it has none)") && cwb_train_knobs(&fixed, &x->f, k, 4) == 0,
       "a trainer without knobs says so (%s)", cwb_errmsg());

    ok(fake_ops.reset(&x->f) == CWB_OK && fake_ops.steps(&x->f) == 0, "reset: back to step 0");
    rc = cwb_drive(&fake_ops, &x->f, &o, NULL, &x->res);
    ok(rc == CWB_OK && x->res.step == 4 && x->res.last.m[0].value == 0.25, "and the same numbers again");
}

/* The ladder the knob keys step along (core/knob.h). */
static double stepped(double v, double lo, double hi, double unit, int integer, int dir) {
    cwb_knob k = {"k", "k", v, lo, hi, unit, integer};
    return cwb_knob_step(&k, dir);
}

static void test_knob_ladder(void) {
    ok(fabs(stepped(0.1, 0.01, 10, 0, 0, 1) - 0.15) < 1e-12 && fabs(stepped(0.15, 0.01, 10, 0, 0, 1) - 0.2) < 1e-12 &&
           fabs(stepped(0.2, 0.01, 10, 0, 0, 1) - 0.3) < 1e-12 && fabs(stepped(0.7, 0.01, 10, 0, 0, 1) - 1) < 1e-12,
       "tau steps up 0.1 -> 0.15 -> 0.2 -> 0.3, 0.7 -> 1");
    ok(fabs(stepped(0.1, 0.01, 10, 0, 0, -1) - 0.07) < 1e-12 && fabs(stepped(0.12, 0.01, 10, 0, 0, -1) - 0.1) < 1e-12,
       "and down 0.1 -> 0.07; a value off the ladder goes to the next rung (0.12 -> 0.1)");
    ok(stepped(10, 0.01, 10, 0, 0, 1) == 10 && stepped(0.01, 0.01, 10, 0, 0, -1) == 0.01,
       "the ends of the range hold");
    ok(stepped(32, 2, 256, 0, 1, 1) == 64 && stepped(32, 2, 256, 0, 1, -1) == 16 && stepped(48, 2, 256, 0, 1, 1) == 64 &&
           stepped(48, 2, 256, 0, 1, -1) == 32 && stepped(256, 2, 256, 0, 1, 1) == 256 && stepped(2, 2, 256, 0, 1, -1) == 2,
       "a batch size steps by powers of two within its range");
    ok(stepped(0, 0, 5, 0.1, 0, 1) == 0.1 && stepped(0.1, 0, 5, 0.1, 0, -1) == 0 && stepped(0, 0, 5, 0.1, 0, -1) == 0 &&
           fabs(stepped(0.5, 0, 5, 0.1, 0, -1) - 0.3) < 1e-12,
       "a knob from 0 (noise) steps 0 -> 0.1 and back to 0");
    cwb_knob k = {"batch", "batch", 32, 2, 64, 0, 1};
    ok(cwb_knob_check(&k, 65, "t") == CWB_EINVAL && strstr(cwb_errmsg(), "t: knob 'batch' = 65 outside [2, 64]") &&
           cwb_knob_check(&k, 3.5, NULL) == CWB_EINVAL && cwb_knob_check(&k, NAN, NULL) == CWB_EINVAL &&
           cwb_knob_check(&k, 64, NULL) == CWB_OK,
       "values outside the range, fractions of a batch and NaN are refused (%s)", cwb_errmsg());
}

int main(void) {
    test_knob_ladder();
    test_metrics();
    test_log_every();
    test_eval();
    test_ticks();
    test_stop();
    test_errors();
    test_knob_and_reset();
    return done_testing();
}
