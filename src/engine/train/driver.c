/*
 * driver.c - metrics lists and the one training loop (driver.h).
 *
 * The loop is deliberately thin: a trainer's step is where the time goes,
 * and the scale fit's step costs about a microsecond, so per step the loop
 * adds one indirect call, a few integer tests and, when a hook is due, the
 * hook's call; the step count is kept here (start + done) rather than asked
 * of the trainer each step.  It allocates nothing and keeps nothing outside
 * the caller's result, which is what lets a hook leave by longjmp.
 */
#include "engine/train/driver.h"
#include "engine/core/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int cwb_metrics_full(const char *name) {
    return cwb_fail(CWB_EINVAL, "metrics list full (%d values): cannot add '%s'", CWB_METRICS_MAX, name);
}

const double *cwb_metrics_get(const cwb_metrics *l, const char *name) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->m[i].name, name) == 0) return &l->m[i].value;
    return NULL;
}

int cwb_metrics_from_fields(cwb_metrics *l, const void *base, const cwb_metric_field *f, int n, int skip_nan) {
    cwb_metrics_clear(l);
    for (int i = 0; i < n; i++) {
        double v;
        memcpy(&v, (const char *)base + f[i].offset, sizeof v);
        if (skip_nan && isnan(v)) continue;
        int rc = cwb_metrics_add(l, f[i].name, v);
        if (rc) return rc;
    }
    return CWB_OK;
}

int cwb_metrics_same(const cwb_metrics *a, const cwb_metrics *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->m[i].name, b->m[i].name) || memcmp(&a->m[i].value, &b->m[i].value, sizeof(double)))
            return 0;
    return 1;
}

int cwb_train_knobs(const cwb_train_ops *ops, const void *self, cwb_knob *out, int max) {
    if (!ops || !self || !ops->knobs || !out || max < 1) return 0;
    return ops->knobs(self, out, max);
}

int cwb_train_set(const cwb_train_ops *ops, void *self, const char *name, double value) {
    if (!ops || !self || !name) return cwb_fail(CWB_EINVAL, "cwb_train_set: NULL argument");
    cwb_knob k[CWB_KNOBS_MAX];
    int n = cwb_train_knobs(ops, self, k, CWB_KNOBS_MAX);
    if (!ops->set || !cwb_knob_find(k, n, name)) {
        char list[256] = "";
        size_t len = 0;
        for (int i = 0; i < n && len + 2 < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", k[i].name);
        if (len >= sizeof list) len = sizeof list - 1;
        return cwb_fail(CWB_EINVAL, "%s: no live knob '%s' (%s%s)", ops->kind, name,
                        n ? "it has: " : "it has none", list);
    }
    return ops->set(self, name, value);
}

long cwb_drive_log_every(long steps) { return steps > 1000 ? steps / 1000 : 1; }

static int evaluate(const cwb_train_ops *ops, void *self, const cwb_drive_hooks *h, long step,
                    cwb_drive_result *r) {
    int rc = ops->evaluate(self, &r->eval);
    if (rc) return rc;
    r->evaluated = 1;
    if (h->eval && (rc = h->eval(h->ud, step, &r->eval)) > 0) return rc;
    return CWB_OK;
}

int cwb_drive(const cwb_train_ops *ops, void *self, const cwb_drive_opts *o, const cwb_drive_hooks *hooks,
              cwb_drive_result *r) {
    static const cwb_drive_hooks none;
    if (!ops || !self || !o || !r)
        return cwb_fail(CWB_EINVAL, "cwb_drive: NULL %s", !ops ? "ops" : !self ? "trainer" : !o ? "options" : "result");
    if (o->steps < 0 || o->log_every < 0 || o->eval_every < 0 || o->tick_every < 0)
        return cwb_fail(CWB_EINVAL, "cwb_drive: steps %ld, log_every %ld, eval_every %ld, tick_every %ld: "
                        "none may be negative", o->steps, o->log_every, o->eval_every, o->tick_every);
    const cwb_drive_hooks *h = hooks ? hooks : &none;
    const long steps = o->steps;
    const long log_every = o->log_every > 0 ? o->log_every : cwb_drive_log_every(steps);
    const long eval_every = ops->evaluate ? o->eval_every : 0;
    const long tick_every = o->tick_every > 0 ? o->tick_every : ops->tick_every > 0 ? ops->tick_every : 1;
    const long start = ops->steps(self);
    int rc;
    r->done = 0;
    r->step = start;
    r->stopped = r->evaluated = 0;
    cwb_metrics_clear(&r->last);
    cwb_metrics_clear(&r->eval);

    int evaluated_last = 0;
    while (r->done < steps && !r->stopped) {
        if ((rc = ops->step(self, &r->last))) return rc;
        const long done = ++r->done, step = ++r->step;
        const int last = done == steps;
        int logged = 0, stop = 0;
        if (h->log && (step % log_every == 0 || last)) {
            if ((rc = h->log(h->ud, step, &r->last)) > 0) return rc;
            logged = 1;
        }
        evaluated_last = eval_every > 0 && step % eval_every == 0;
        if (evaluated_last && (rc = evaluate(ops, self, h, step, r))) return rc;
        if (h->tick && (done % tick_every == 0 || last)) {
            if ((rc = h->tick(h->ud, done, &r->last)) > 0) return rc;
            stop |= rc < 0;
        }
        if (h->each) {
            if ((rc = h->each(h->ud, step, &r->last, evaluated_last ? &r->eval : NULL)) > 0) return rc;
            stop |= rc < 0;
        }
        /* a stop asked at the last step changes nothing: the run is complete */
        if (stop && !last) {
            r->stopped = 1;
            if (h->log && !logged && (rc = h->log(h->ud, step, &r->last)) > 0) return rc;
        }
    }
    if (o->final_eval && ops->evaluate && !evaluated_last && (rc = evaluate(ops, self, h, r->step, r)))
        return rc;
    return CWB_OK;
}
