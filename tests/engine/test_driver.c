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

static const cwb_train_ops fake_ops = {"fake", "loss", 1, f_step, f_eval, f_reset, f_describe,
                                       NULL, f_steps, f_seed, f_set};

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

static cwb_drive_hooks hooks_for(rec *r, int with_each) {
    cwb_drive_hooks h = {r, r_log, r_eval, r_tick, with_each ? r_each : NULL};
    return h;
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
    int rc = CWB_OK;
    for (int i = m.n; i < CWB_METRICS_MAX; i++) rc |= cwb_metrics_add(&m, "x", i);
    ok(rc == CWB_OK && m.n == CWB_METRICS_MAX, "metrics: %d fit", CWB_METRICS_MAX);
    rc = cwb_metrics_add(&m, "one_too_many", 1);
    ok(rc == CWB_EINVAL && strstr(cwb_errmsg(), "one_too_many") && m.n == CWB_METRICS_MAX,
       "metrics: a full list refuses with a message (%s)", cwb_errmsg());
}

static void test_log_every(void) {
    fake f = {0, 0, 1, 0};
    rec r;
    memset(&r, 0, sizeof r);
    cwb_drive_hooks h = hooks_for(&r, 0);
    cwb_drive_opts o = {10, 3, 0, 0, 0};
    cwb_drive_result res;
    int rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    static const long want[] = {3, 6, 9, 10};
    ok(rc == CWB_OK && same(r.log_steps, r.nlog, want, 4), "log_every 3 over 10 steps: logged at 3, 6, 9 and the last, 10");
    ok(res.done == 10 && res.step == 10 && !res.stopped && f.step == 10, "10 steps done, not stopped");
    ok(res.last.n == 2 && res.last.m[0].value == 0.1, "result.last: the last step's metrics (loss 1/10)");
    ok(!res.evaluated && f.evals == 0, "no evaluation asked for, none done");

    /* the default: max(1, steps / 1000) */
    ok(cwb_drive_log_every(0) == 1 && cwb_drive_log_every(999) == 1 && cwb_drive_log_every(2500) == 2 &&
       cwb_drive_log_every(200000) == 200, "default log_every = max(1, steps/1000)");
    memset(&r, 0, sizeof r);
    f_reset(&f);
    o = (cwb_drive_opts){5000, 0, 0, 0, 0};
    rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    ok(rc == CWB_OK && r.nlog == 1000 && r.log_steps[0] == 5 && r.log_steps[999] == 5000,
       "5000 steps log every 5th by default: %d points", r.nlog);

    /* steps count from where the trainer is */
    memset(&r, 0, sizeof r);
    o = (cwb_drive_opts){7, 4, 0, 0, 0};
    rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    static const long want2[] = {5004, 5007};
    ok(rc == CWB_OK && res.step == 5007 && res.done == 7 && same(r.log_steps, r.nlog, want2, 2),
       "a trainer at step 5000: log_every 4 logs at trainer steps 5004 and the last, 5007");
}

static void test_eval(void) {
    fake f = {0, 0, 1, 0};
    rec r;
    memset(&r, 0, sizeof r);
    cwb_drive_hooks h = hooks_for(&r, 1);
    cwb_drive_opts o = {10, 1, 4, 1, 0};
    cwb_drive_result res;
    int rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    static const long want[] = {4, 8, 10};
    ok(rc == CWB_OK && same(r.eval_steps, r.neval, want, 3), "eval_every 4 over 10 steps: at 4, 8 and the final one");
    ok(res.evaluated && res.eval.n == 1 && res.eval.m[0].value == 10, "result.eval: the final evaluation");
    ok(r.neach == 10 && r.each_with_eval == 2, "the per-step hook runs every step, with the evaluation at 4 and 8");

    memset(&r, 0, sizeof r);
    f_reset(&f);
    o = (cwb_drive_opts){8, 1, 4, 1, 0};
    rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    static const long want2[] = {4, 8};
    ok(rc == CWB_OK && same(r.eval_steps, r.neval, want2, 2) && f.evals == 2,
       "the final evaluation is skipped when the last step just evaluated");

    memset(&r, 0, sizeof r);
    f_reset(&f);
    o = (cwb_drive_opts){8, 1, 4, 0, 0};
    rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    ok(rc == CWB_OK && r.neval == 2, "final_eval off: only the eval_every ones");

    memset(&r, 0, sizeof r);
    f_reset(&f);
    o = (cwb_drive_opts){5, 1, 0, 1, 0};
    rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    ok(rc == CWB_OK && r.neval == 1 && r.eval_steps[0] == 5, "eval_every 0: the final evaluation only");

    memset(&r, 0, sizeof r);
    f_reset(&f);
    o = (cwb_drive_opts){0, 0, 0, 1, 0};
    rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    ok(rc == CWB_OK && res.done == 0 && r.nlog == 0 && r.ntick == 0 && r.neval == 1 && res.last.n == 0,
       "0 steps: nothing logged or ticked, the model evaluated as it is");

    /* a trainer without an evaluation */
    cwb_train_ops noeval = fake_ops;
    noeval.evaluate = NULL;
    memset(&r, 0, sizeof r);
    f_reset(&f);
    o = (cwb_drive_opts){6, 1, 2, 1, 0};
    rc = cwb_drive(&noeval, &f, &o, &h, &res);
    ok(rc == CWB_OK && r.neval == 0 && !res.evaluated && r.each_with_eval == 0,
       "no evaluate(): eval_every and the final evaluation do nothing");
}

static void test_ticks(void) {
    fake f = {0, 0, 1, 0};
    rec r;
    memset(&r, 0, sizeof r);
    cwb_drive_hooks h = hooks_for(&r, 0);
    cwb_drive_opts o = {1000, 0, 0, 0, 256};
    cwb_drive_result res;
    int rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    static const long want[] = {256, 512, 768, 1000};
    ok(rc == CWB_OK && same(r.tick_done, r.ntick, want, 4), "tick_every 256 over 1000 steps: 256, 512, 768 and the last");
    ok(r.neach == 0, "no per-step hook unless one is given");

    cwb_train_ops every3 = fake_ops;
    every3.tick_every = 3;
    memset(&r, 0, sizeof r);
    f_reset(&f);
    o = (cwb_drive_opts){7, 0, 0, 0, 0};
    rc = cwb_drive(&every3, &f, &o, &h, &res);
    static const long want2[] = {3, 6, 7};
    ok(rc == CWB_OK && same(r.tick_done, r.ntick, want2, 3), "tick_every 0 takes the trainer's hint (3): 3, 6, 7");
}

static void test_stop(void) {
    fake f = {0, 0, 1, 0};
    rec r;
    memset(&r, 0, sizeof r);
    r.stop_at_tick = 5;
    cwb_drive_hooks h = hooks_for(&r, 0);
    cwb_drive_opts o = {100, 3, 0, 1, 0};
    cwb_drive_result res;
    int rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    static const long want[] = {3, 5};
    ok(rc == CWB_OK && res.stopped && res.done == 5 && f.step == 5, "a tick asking to stop ends the run after that step");
    ok(same(r.log_steps, r.nlog, want, 2), "the stopping step is logged (3, then 5)");
    ok(r.neval == 1 && r.eval_steps[0] == 5, "and the final evaluation is of the stopped model");

    memset(&r, 0, sizeof r);
    f_reset(&f);
    r.stop_at_each = 6;
    h = hooks_for(&r, 1);
    o = (cwb_drive_opts){100, 3, 0, 0, 0};
    rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    static const long want2[] = {3, 6};
    ok(rc == CWB_OK && res.stopped && res.done == 6 && same(r.log_steps, r.nlog, want2, 2),
       "the per-step hook can stop too; step 6 is logged once");

    memset(&r, 0, sizeof r);
    f_reset(&f);
    r.stop_at_each = 4;
    o = (cwb_drive_opts){4, 1, 0, 0, 0};
    rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    ok(rc == CWB_OK && !res.stopped && res.done == 4 && r.nlog == 4, "a stop asked at the last step: the run is complete");
}

static void test_errors(void) {
    fake f = {0, 7, 1, 0};
    rec r;
    memset(&r, 0, sizeof r);
    cwb_drive_hooks h = hooks_for(&r, 0);
    cwb_drive_opts o = {20, 1, 0, 1, 0};
    cwb_drive_result res;
    cwb_clear_error();
    int rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    ok(rc == CWB_ENAN && strstr(cwb_errmsg(), "step 7: loss is not finite"),
       "a failing step stops the loop with its code and message (%s)", cwb_errmsg());
    ok(res.done == 6 && res.step == 6 && r.nlog == 6 && r.neval == 0,
       "6 steps done and logged; no evaluation after a failure");

    fake g = {0, 0, 1, 0};
    memset(&r, 0, sizeof r);
    r.fail_tick_at = 4;
    rc = cwb_drive(&fake_ops, &g, &o, &h, &res);
    ok(rc == CWB_EINVAL && strstr(cwb_errmsg(), "tick refused at 4") && res.done == 4,
       "a hook's error is returned as it is (%s)", cwb_errmsg());

    o.steps = -1;
    ok(cwb_drive(&fake_ops, &g, &o, &h, &res) == CWB_EINVAL && strstr(cwb_errmsg(), "negative"),
       "negative steps are refused (%s)", cwb_errmsg());
    o.steps = 1;
    ok(cwb_drive(NULL, &g, &o, &h, &res) == CWB_EINVAL, "NULL ops refused");
    ok(cwb_drive(&fake_ops, &g, &o, NULL, &res) == CWB_OK && res.done == 1, "no hooks at all is fine");
}

static void test_knob_and_reset(void) {
    fake f = {0, 0, 1, 0};
    rec r;
    memset(&r, 0, sizeof r);
    r.knob_self = &f;
    cwb_drive_hooks h = hooks_for(&r, 0);
    cwb_drive_opts o = {4, 1, 0, 0, 0};
    cwb_drive_result res;
    int rc = cwb_drive(&fake_ops, &f, &o, &h, &res);
    ok(rc == CWB_OK && res.last.m[0].value == 10.0 / 4, "a knob turned in a tick takes effect from the next step (loss 10/4)");
    ok(cwb_train_set(&fake_ops, &f, "nope", 1) == CWB_EINVAL && strstr(cwb_errmsg(), "nope"),
       "an unknown knob is refused by the trainer (%s)", cwb_errmsg());
    cwb_train_ops fixed = fake_ops;
    fixed.set = NULL;
    ok(cwb_train_set(&fixed, &f, "gain", 2) == CWB_EINVAL && strstr(cwb_errmsg(), "fake: no live knob 'gain'"),
       "a trainer without knobs says so (%s)", cwb_errmsg());

    ok(fake_ops.reset(&f) == CWB_OK && fake_ops.steps(&f) == 0, "reset: back to step 0");
    o.steps = 4;
    rc = cwb_drive(&fake_ops, &f, &o, NULL, &res);
    ok(rc == CWB_OK && res.step == 4 && res.last.m[0].value == 0.25, "and the same numbers again");
}

int main(void) {
    test_metrics();
    test_log_every();
    test_eval();
    test_ticks();
    test_stop();
    test_errors();
    test_knob_and_reset();
    return done_testing();
}
