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

/* printf-style checking for the functions below, which a test may not use. */
#define TAP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args), unused))

/* One output line: lead, then the formatted message. */
static void tap_vline(const char *lead, const char *fmt, va_list ap) {
    fputs(lead, stdout);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

static void tap_vok(int pass, const char *fmt, va_list ap) {
    char lead[48];
    tap_n++;
    if (!pass) tap_failed++;
    snprintf(lead, sizeof lead, "%sok %d - ", pass ? "" : "not ", tap_n);
    tap_vline(lead, fmt, ap);
}

/* ok(cond, "description %d", ...) */
static int ok(int pass, const char *fmt, ...) TAP_PRINTF(2, 3);
static int ok(int pass, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tap_vok(pass, fmt, ap);
    va_end(ap);
    return pass;
}

/* diag("...") writes a TAP comment line. */
static void diag(const char *fmt, ...) TAP_PRINTF(1, 2);
static void diag(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tap_vline("# ", fmt, ap);
    va_end(ap);
}

/* skip("why") counts one test as skipped (TAP "ok N # SKIP why"). */
static void skip(const char *fmt, ...) TAP_PRINTF(1, 2);
static void skip(const char *fmt, ...) {
    char lead[48];
    snprintf(lead, sizeof lead, "ok %d # SKIP ", ++tap_n);
    va_list ap;
    va_start(ap, fmt);
    tap_vline(lead, fmt, ap);
    va_end(ap);
}

/* A new directory $TMPDIR/cwb-test-<name>-XXXXXX (TMPDIR unset: /tmp) in
 * dir[n] for a test's files; 0, or -1 after saying why on stderr. */
static int __attribute__((unused)) tap_tmpdir(char *dir, size_t n, const char *name) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, n, "%s/cwb-test-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (mkdtemp(dir)) return 0;
    perror("mkdtemp");
    return -1;
}

/* Remove dir and everything in it (a diag line if that fails). */
static void __attribute__((unused)) tap_rmtree(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) diag("could not remove %s", dir);
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
