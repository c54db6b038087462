/*
 * knob.h - a live knob: one setting of a trainer that may change between two
 * steps while a run trains (temperature, learning rate, batch size, the
 * loss's noise, alpha, gamma, a regulariser's weight; docs/lessons.md,
 * "Live knobs").
 *
 * Layer: engine/core.  Included by the parts that own a knob (loss/loss.h
 * for the loss's, train/ for the trainers') and by whoever shows or turns
 * them (train/driver.h's interface, the binding, the workbench's knob line).
 *
 * A knob describes itself: its name, the constructor option it starts from
 * (so that a run can be rebuilt with another starting value), its value now
 * and the range it may take.  cwb_knob_step gives the value one key press
 * away, on a ladder of round numbers, so that turning a knob lands on values
 * a student can read (0.1, 0.15, 0.2, 0.3, 0.5, ...; batch sizes 8, 16, 32).
 */
#ifndef CWB_KNOB_H
#define CWB_KNOB_H

/* Knobs a trainer lists at most. */
#define CWB_KNOBS_MAX 16

typedef struct {
    const char *name;    /* "tau", "lr", "batch", "noise", "alpha", "gamma", "w_sep", ...
                            (a string literal) */
    const char *option;  /* the constructor option it starts from: "tau", "optim.lr",
                            "loss.alpha" (a string literal) */
    double value;        /* the value now */
    double min, max;     /* the range (inclusive); max may be HUGE_VAL */
    double unit;         /* a knob whose min is 0: the first value above 0 a key press
                            reaches (0 for the others) */
    int integer;         /* whole numbers only (the batch size): steps by powers of 2 */
} cwb_knob;

/* The value one step up (dir > 0) or down (dir < 0) from k->value: the
 * next power of two for an integer knob, else the next of 1, 1.5, 2, 3, 5, 7
 * times a power of ten; below k->unit a knob with min 0 goes to 0, and up
 * from 0 to k->unit.  Clamped to [min, max] (the value itself when already
 * at the end). */
double cwb_knob_step(const cwb_knob *k, int dir);

/* Whether v is a value k may take (in range, finite unless max is, whole
 * for an integer knob); otherwise CWB_EINVAL with "who: knob 'name' = v
 * outside [min, max]". */
int cwb_knob_check(const cwb_knob *k, double v, const char *who);

/* The knob called name among k[0..n-1], or NULL. */
const cwb_knob *cwb_knob_find(const cwb_knob *k, int n, const char *name);
/* Where a trainer's set() starts: the knob called name with v checked
 * against it (cwb_knob_check), or NULL with CWB_EINVAL "who: no live knob
 * 'name'" or the range message left for cwb_errmsg(). */
const cwb_knob *cwb_knob_checked(const cwb_knob *k, int n, const char *name, double v, const char *who);

/* Append a knob to out[*n] (when *n < max): a helper for the lists trainers
 * build.  Returns the new entry or NULL when the list is full. */
cwb_knob *cwb_knob_add(cwb_knob *out, int *n, int max, const char *name, const char *option,
                       double value, double min, double max_value);

#endif
