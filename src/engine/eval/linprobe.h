/*
 * linprobe.h - the linear probe of the SimCLR evaluation protocol
 * (methods.md, "Real data"): multinomial logistic regression on frozen,
 * standardised features, trained by L-BFGS to a stated convergence
 * criterion, its L2 strength chosen on a validation split carved from the
 * training rows (never from the test rows).
 *
 * Layer: engine/eval.  Included by the trainers' evaluation, the Lua
 * binding (src/lua/lmetrics.c) and tests.
 *
 * Objective on n rows (features standardised with the fitted rows' mean
 * and std per column; a constant column is only centred):
 *     f(W, b) = (1/n) sum_i -log softmax(x_i W + b)_{y_i} + (l2/2) ||W||^2
 * (the bias is not penalised), minimised by libLBFGS (Nocedal's L-BFGS,
 * More-Thuente line search, 20 corrections) from W = 0, b = 0 or a warm
 * start.  A fit stops at the first of:
 *   "gradient"    ||grad f|| <= grad_tol * max(1, ||(W, b)||)
 *   "loss change" (f_{t-10} - f_t) / f_t < rel_tol over the last 10 iterations
 *   "max_iter"    max_iter iterations: not converged
 *   "line search" the line search could not make progress (float round-off
 *                 near the optimum): reported as converged when the gradient
 *                 is within 10 x grad_tol, else not
 * Choice of l2: the training rows are split by a seeded permutation
 * (CWB_STREAM_EVAL of seed) into a validation part (val_frac of the rows)
 * and a fit part; each candidate is fitted on the fit part, strongest
 * first, each warm-started from the previous, and scored on the validation
 * part; the best validation accuracy wins (ties: the stronger l2).  Then
 * the model is refitted on all training rows with that l2 (warm start) and
 * scored on the test rows.  Allocates per call (evaluation).
 */
#ifndef CWB_LINPROBE_H
#define CWB_LINPROBE_H

#include <stdint.h>

#define CWB_LINPROBE_MAX_L2 16

typedef struct {
    int max_iter;        /* L-BFGS iterations per fit (default 500) */
    double grad_tol;     /* gradient criterion (default 1e-4) */
    double rel_tol;      /* relative loss change over 10 iterations (default 1e-6) */
    int n_l2;            /* candidates in l2[] (1..CWB_LINPROBE_MAX_L2) */
    double l2[CWB_LINPROBE_MAX_L2];   /* default 1e-1, 1e-2, ..., 1e-6 */
    double val_frac;     /* share of the training rows held out, in (0, 1) (default 0.1) */
    uint64_t seed;       /* the validation split (default 1) */
} cwb_linprobe_cfg;

cwb_linprobe_cfg cwb_linprobe_defaults(void);
/* The one check of a configuration (what cwb_linprobe checks first), for a
 * trainer to refuse bad probe options when it is built: CWB_EINVAL with
 * "linear probe: val_frac = 2 outside (0, 1)". */
int cwb_linprobe_check(const cwb_linprobe_cfg *cfg);

/* One fit's outcome. */
typedef struct {
    int iterations;
    int converged;       /* a tolerance was met */
    const char *stop;    /* "gradient", "loss change", "max_iter", "line search" */
    double loss;         /* f at the end (cross-entropy + penalty) */
    double grad_norm;    /* ||grad f|| at the end */
    double xnorm;        /* ||(W, b)|| in standardised units */
} cwb_logreg_fit;

typedef struct {
    double test_acc, train_acc;   /* the final model on the test rows / all training rows */
    double l2;                    /* the chosen strength */
    int n_l2;
    double val_acc[CWB_LINPROBE_MAX_L2];   /* per candidate, in cfg order */
    cwb_logreg_fit val_fit[CWB_LINPROBE_MAX_L2];
    int n_fit, n_val;             /* rows in the fit and validation parts */
    cwb_logreg_fit fit;           /* the final fit on all training rows */
    double seconds;               /* wall time of the whole probe */
} cwb_linprobe_result;

/*
 * Fit on n rows x (n x k) with labels y (0..K-1) at strength l2 >= 0: W
 * (k x K, row-major) and bias (K) are the start on entry (zeros: a cold
 * start) and the model on return, in raw-feature units (scores x W + b),
 * the standardisation folded in.  info (nullable) gets the outcome.
 */
int cwb_logreg_fit_lbfgs(const cwb_linprobe_cfg *cfg, const float *x, const int *y, int n,
                         int k, int K, double l2, float *W, float *bias, cwb_logreg_fit *info);

/* Per-column mean and 1/std (population) of n rows of width k, the
 * standardisation of both logistic probes (this one and probe.h's); a
 * constant column (variance <= 1e-12) gets 1/std = 1: only centred. */
void cwb_standardisation(const float *x, int n, int k, float *mean, float *istd);

/* The whole probe: choose l2 on the validation split, refit, score.
 * Errors (one message): shapes, labels, non-finite features, a bad
 * configuration, fewer than 2 rows in either part of the split. */
int cwb_linprobe(const cwb_linprobe_cfg *cfg, const float *train, const int *ytrain,
                 int ntrain, const float *test, const int *ytest, int ntest, int k, int K,
                 cwb_linprobe_result *res);

#endif
