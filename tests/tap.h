/*
 * tap.h - a tiny TAP producer for cwb's C tests (read by automake's
 * tap-driver.sh, so `make check` prints pass/fail counts per assertion).
 */
#ifndef CWB_TAP_H
#define CWB_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

static void tap_vok(int pass, const char *fmt, va_list ap) {
    tap_n++;
    if (!pass) tap_failed++;
    printf("%sok %d - ", pass ? "" : "not ", tap_n);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

/* ok(cond, "description %d", ...) */
static int ok(int pass, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3), unused))
#endif
    ;
static int ok(int pass, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tap_vok(pass, fmt, ap);
    va_end(ap);
    return pass;
}

/* diag("...") writes a TAP comment line. */
static void diag(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), unused))
#endif
    ;
static void diag(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* skip("why") counts one test as skipped (TAP "ok N # SKIP why"). */
static void skip(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), unused))
#endif
    ;
static void skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tap_n++;
    printf("ok %d # SKIP ", tap_n);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

/* Relative-or-absolute closeness: |x - y| <= atol + rtol * max(|x|, |y|). */
static int __attribute__((unused)) tap_close(double x, double y, double rtol, double atol) {
    if (!isfinite(x) || !isfinite(y)) return 0;
    double m = fabs(x) > fabs(y) ? fabs(x) : fabs(y);
    return fabs(x - y) <= atol + rtol * m;
}

/* Print the plan and return the exit status. */
static int __attribute__((unused)) done_testing(void) {
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
