/*
 * knob.c - stepping and checking live knobs (knob.h).
 *
 * The ladder: 1, 1.5, 2, 3, 5, 7 times a power of ten.  Six rungs a decade
 * make a temperature go 0.1 -> 0.15 -> 0.2 -> 0.3 -> 0.5 in four presses,
 * each step about x1.5, large enough for a curve to bend visibly and small
 * enough not to overshoot; the values are the round numbers papers use.
 */
#include "engine/core/knob.h"
#include "engine/core/error.h"

#include <math.h>
#include <string.h>

static const double rungs[] = {1, 1.5, 2, 3, 5, 7};
#define NRUNGS ((int)(sizeof rungs / sizeof rungs[0]))

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The next rung strictly above (dir > 0) or below v > 0.  A value within
 * float precision of a rung counts as on it (a temperature kept as a float
 * reads 0.19999999 for 0.2). */
static double ladder(double v, int dir) {
    double e = floor(log10(v));
    const double tol = 1e-6;
    for (int d = -1; d <= 1; d++) {
        double p = pow(10, e + (dir > 0 ? d : -d));
        if (dir > 0) {
            for (int i = 0; i < NRUNGS; i++)
                if (rungs[i] * p > v * (1 + tol)) return rungs[i] * p;
        } else {
            for (int i = NRUNGS - 1; i >= 0; i--)
                if (rungs[i] * p < v * (1 - tol)) return rungs[i] * p;
        }
    }
    return dir > 0 ? v * 1.5 : v / 1.5; /* not reached */
}

double cwb_knob_step(const cwb_knob *k, int dir) {
    double v = k->value, next;
    if (dir == 0) return v;
    if (k->integer) {
        double p = v >= 1 ? pow(2, floor(log2(v))) : 1;
        if (dir > 0) next = p > v ? p : 2 * p;
        else next = p < v ? p : p / 2;
        next = floor(next);
    } else if (v <= 0) {
        next = dir > 0 ? (k->unit > 0 ? k->unit : ladder(k->min > 0 ? k->min : 1e-3, 1)) : v;
    } else {
        next = ladder(v, dir);
        if (dir < 0 && k->min <= 0 && k->unit > 0 && next < k->unit * (1 - 1e-9)) next = 0;
    }
    return clamp(next, k->min, k->max);
}

int cwb_knob_check(const cwb_knob *k, double v, const char *who) {
    if (isnan(v) || (isinf(v) && !(isinf(k->max) && v > 0)) || v < k->min || v > k->max)
        return cwb_fail(CWB_EINVAL, "%s%sknob '%s' = %g outside [%g, %g]", CWB_WHO(who), k->name, v,
                        k->min, k->max);
    if (k->integer && v != floor(v))
        return cwb_fail(CWB_EINVAL, "%s%sknob '%s' = %g must be a whole number", CWB_WHO(who), k->name, v);
    return CWB_OK;
}

const cwb_knob *cwb_knob_find(const cwb_knob *k, int n, const char *name) {
    for (int i = 0; name && i < n; i++)
        if (strcmp(k[i].name, name) == 0) return &k[i];
    return NULL;
}

const cwb_knob *cwb_knob_checked(const cwb_knob *k, int n, const char *name, double v, const char *who) {
    const cwb_knob *kn = cwb_knob_find(k, n, name);
    if (!kn) {
        cwb_fail(CWB_EINVAL, "%s%sno live knob '%s'", CWB_WHO(who), name ? name : "(null)");
        return NULL;
    }
    return cwb_knob_check(kn, v, who) == CWB_OK ? kn : NULL;
}

cwb_knob *cwb_knob_add(cwb_knob *out, int *n, int max, const char *name, const char *option,
                       double value, double min, double max_value) {
    if (*n >= max) return NULL;
    cwb_knob *k = &out[(*n)++];
    memset(k, 0, sizeof *k);
    k->name = name;
    k->option = option;
    k->value = value;
    k->min = min;
    k->max = max_value;
    return k;
}
