/*
 * clock.h - the monotonic clock in seconds, for wall times that are
 * measured and reported (a probe's seconds, a progress line's rate).
 *
 * Layer: util.  Included by any layer.
 */
#ifndef CWB_CLOCK_H
#define CWB_CLOCK_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC): only
 * differences mean anything. */
double cwb_clock_seconds(void);

#endif
