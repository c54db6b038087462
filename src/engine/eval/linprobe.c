/*
 * linprobe.c - multinomial logistic regression by L-BFGS, and the linear
 * probe that chooses its L2 strength on a validation split (linprobe.h).
 *
 * Why libLBFGS: the probe is a smooth, strongly convex problem (for l2 > 0)
 * of k*K + K variables, where a quasi-Newton method with a Wolfe line search
 * converges in tens to hundreds of iterations to a tolerance one can state,
 * instead of the fixed 300 Adam steps of cwb_logreg_probe (probe.h).
 * Debian's liblbfgs-dev (libLBFGS 1.10, MIT) is a mature C implementation
 * with the More-Thuente line search and both stopping tests built in, found
 * through pkg-config; writing and testing another line search here would be
 * the larger risk.
 *
 * The training rows are standardised once, in the order of the validation
 * split's permutation, with the mean and std of all training rows (feature
 * moments only; no validation label is used in a fit): the validation part
 * is rows [0, n_val), the fit part [n_val, n), so both phases use one copy.
 * Test rows are standardised block by block as they are scored.  Every
 * product is an sgemm; the objective is summed in double.
 */
#include "engine/eval/linprobe.h"
#include "engine/eval/metrics.h"
#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "engine/core/tensor.h"
#include "util/clock.h"

#include <float.h>
#include <lbfgs.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SCORE_BLOCK 256

cwb_linprobe_cfg cwb_linprobe_defaults(void) {
    cwb_linprobe_cfg c;
    memset(&c, 0, sizeof c);
    c.max_iter = 500;
    c.grad_tol = 1e-4;
    c.rel_tol = 1e-6;
    c.n_l2 = 6;
    for (int i = 0; i < 6; i++) c.l2[i] = pow(10.0, -1 - i);
    c.val_frac = 0.1;
    c.seed = 1;
    return c;
}

static int check_cfg(const cwb_linprobe_cfg *c, int need_grid) {
    if (!c) return cwb_fail(CWB_EINVAL, "linear probe: NULL configuration");
    if (c->max_iter < 1) return cwb_fail(CWB_EINVAL, "linear probe: max_iter = %d < 1", c->max_iter);
    if (!(c->grad_tol > 0) || !isfinite(c->grad_tol))
        return cwb_fail(CWB_EINVAL, "linear probe: grad_tol = %g must be positive", c->grad_tol);
    if (!(c->rel_tol >= 0) || !isfinite(c->rel_tol))
        return cwb_fail(CWB_EINVAL, "linear probe: rel_tol = %g must be >= 0", c->rel_tol);
    if (!need_grid) return CWB_OK;
    if (c->n_l2 < 1 || c->n_l2 > CWB_LINPROBE_MAX_L2)
        return cwb_fail(CWB_EINVAL, "linear probe: %d l2 candidates, need 1..%d", c->n_l2,
                        CWB_LINPROBE_MAX_L2);
    for (int i = 0; i < c->n_l2; i++)
        if (!(c->l2[i] >= 0) || !isfinite(c->l2[i]))
            return cwb_fail(CWB_EINVAL, "linear probe: l2[%d] = %g must be finite and >= 0", i, c->l2[i]);
    if (!(c->val_frac > 0 && c->val_frac < 1))
        return cwb_fail(CWB_EINVAL, "linear probe: val_frac = %g outside (0, 1)", c->val_frac);
    return CWB_OK;
}

int cwb_linprobe_check(const cwb_linprobe_cfg *cfg) { return check_cfg(cfg, 1); }

static int check_data(const char *what, const float *x, const int *y, int n, int k, int K) {
    if (!x || !y) return cwb_fail(CWB_EINVAL, "linear probe: NULL %s %s", what, !x ? "rows" : "labels");
    if (n < 1) return cwb_fail(CWB_EINVAL, "linear probe: %d %s rows", n, what);
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K)
            return cwb_fail(CWB_EINVAL, "linear probe: %s label[%d] = %d outside 0..%d", what, i, y[i], K - 1);
    if (cwb_has_nonfinite(x, (size_t)n * k))
        return cwb_fail(CWB_ENAN, "linear probe: non-finite value in the %s rows", what);
    return CWB_OK;
}

void cwb_standardisation(const float *x, int n, int k, float *mean, float *istd) {
    for (int j = 0; j < k; j++) {
        double m, v;
        cwb_column_moments(x, n, k, j, &m, &v);
        mean[j] = (float)m;
        istd[j] = v > 1e-12 ? (float)(1.0 / sqrt(v)) : 1.0f;
    }
}

static void standardise(const float *src, float *dst, int k, const float *mean, const float *istd) {
    for (int j = 0; j < k; j++) dst[j] = (src[j] - mean[j]) * istd[j];
}

/* ---- one fit on standardised rows ------------------------------------------ */

typedef struct {
    const float *x;      /* n x k standardised */
    const int *y;
    int n, k, K;
    double l2;
    float *W, *b;        /* float copies of the variables */
    float *P;            /* n x K: probabilities, then dL/dlogits */
    float *gW;           /* k x K */
    int iters;
} fitctx;

/* f = mean cross-entropy + (l2/2)||W||^2 and its gradient (W then b). */
static lbfgsfloatval_t evaluate(void *inst, const lbfgsfloatval_t *v, lbfgsfloatval_t *g,
                                const int nv, const lbfgsfloatval_t step) {
    (void)nv;
    (void)step;
    fitctx *c = inst;
    const int n = c->n, k = c->k, K = c->K, nW = k * K;
    double pen = 0;
    for (int q = 0; q < nW; q++) {
        c->W[q] = (float)v[q];
        pen += v[q] * v[q];
    }
    for (int l = 0; l < K; l++) c->b[l] = (float)v[nW + l];
    cwb_gemm(0, 0, n, K, k, 1.0f, c->x, k, c->W, K, 0.0f, c->P, K);
    double loss = 0;
    const float inv_n = 1.0f / (float)n;
    for (int i = 0; i < n; i++) {
        float *p = c->P + (size_t)i * K;
        double m = -DBL_MAX;
        for (int l = 0; l < K; l++) {
            p[l] += c->b[l];
            if (p[l] > m) m = p[l];
        }
        double z = 0;
        for (int l = 0; l < K; l++) z += exp((double)p[l] - m);
        double lse = m + log(z);
        loss += lse - p[c->y[i]];
        for (int l = 0; l < K; l++) p[l] = (float)exp((double)p[l] - lse) * inv_n;
        p[c->y[i]] -= inv_n;
    }
    cwb_gemm(1, 0, k, K, n, 1.0f, c->x, k, c->P, K, 0.0f, c->gW, K);
    for (int q = 0; q < nW; q++) g[q] = c->gW[q] + c->l2 * v[q];
    for (int l = 0; l < K; l++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += c->P[(size_t)i * K + l];
        g[nW + l] = s;
    }
    return loss / n + 0.5 * c->l2 * pen;
}

static int progress(void *inst, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
                    const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm,
                    const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step, int n, int k, int ls) {
    (void)x; (void)g; (void)fx; (void)xnorm; (void)gnorm; (void)step; (void)n; (void)ls;
    ((fitctx *)inst)->iters = k;
    return 0;
}

/* Fit on n standardised rows from the start (W k x K, b K, standardised
 * units) in v (k*K + K doubles, caller's), leaving the solution there. */
static int fit_std(const cwb_linprobe_cfg *cfg, const float *xs, const int *y, int n, int k,
                   int K, double l2, lbfgsfloatval_t *v, float *W, float *b, float *P, float *gW,
                   cwb_logreg_fit *info) {
    const int nv = k * K + K;
    fitctx c = {xs, y, n, k, K, l2, W, b, P, gW, 0};
    lbfgs_parameter_t p;
    lbfgs_parameter_init(&p);
    p.epsilon = cfg->grad_tol;
    p.past = 10;
    p.delta = cfg->rel_tol;
    p.max_iterations = cfg->max_iter;
    p.m = 20;   /* corrections kept: 20 instead of 6 saves a quarter of the iterations on pixels */
    lbfgsfloatval_t fx = 0;
    int ret = lbfgs(nv, v, &fx, evaluate, progress, &c, &p);
    if (ret == LBFGSERR_OUTOFMEMORY)
        return cwb_fail(CWB_ENOMEM, "linear probe: out of memory in L-BFGS (%d variables)", nv);
    if (ret == LBFGSERR_LOGICERROR || ret == LBFGSERR_UNKNOWNERROR || ret == LBFGSERR_INVALID_N ||
        (ret >= LBFGSERR_INVALID_EPSILON && ret <= LBFGSERR_INVALID_ORTHANTWISE_END))
        return cwb_fail(CWB_EINVAL, "linear probe: L-BFGS refused its parameters (code %d)", ret);
    /* the objective and gradient where L-BFGS left the variables */
    lbfgsfloatval_t *g = lbfgs_malloc(nv);
    if (!g) return cwb_fail(CWB_ENOMEM, "linear probe: out of memory");
    double f = evaluate(&c, v, g, nv, 0), gn = 0, xn = 0;
    for (int q = 0; q < nv; q++) {
        gn += g[q] * g[q];
        xn += v[q] * v[q];
    }
    lbfgs_free(g);
    gn = sqrt(gn);
    xn = sqrt(xn);
    if (!isfinite(f) || !isfinite(gn))
        return cwb_fail(CWB_ENAN, "linear probe: the objective is not finite (l2 = %g)", l2);
    cwb_logreg_fit r = {c.iters, 1, "gradient", f, gn, xn};
    if (ret == LBFGS_STOP) r.stop = "loss change";
    else if (ret == LBFGSERR_MAXIMUMITERATION) {
        r.stop = "max_iter";
        r.converged = 0;
    } else if (ret < 0) {
        r.stop = "line search";
        r.converged = gn <= 10 * cfg->grad_tol * (xn > 1 ? xn : 1);
    }
    if (info) *info = r;
    return CWB_OK;
}

/* ---- scoring ----------------------------------------------------------------- */

/* Predictions argmax (x W + b) of n rows, standardised on the fly when mean
 * is given (x raw) or used as they are; returns the number correct. */
static long score(const float *x, const int *y, int n, int k, int K, const float *W,
                  const float *b, const float *mean, const float *istd, float *blk, float *s) {
    long hit = 0;
    for (int r0 = 0; r0 < n; r0 += SCORE_BLOCK) {
        int rows = n - r0 < SCORE_BLOCK ? n - r0 : SCORE_BLOCK;
        const float *xb = x + (size_t)r0 * k;
        if (mean) {
            for (int r = 0; r < rows; r++)
                standardise(xb + (size_t)r * k, blk + (size_t)r * k, k, mean, istd);
            xb = blk;
        }
        cwb_gemm(0, 0, rows, K, k, 1.0f, xb, k, W, K, 0.0f, s, K);
        for (int r = 0; r < rows; r++) {
            const float *sr = s + (size_t)r * K;
            int best = 0;
            for (int l = 1; l < K; l++)
                if (sr[l] + b[l] > sr[best] + b[best]) best = l;
            hit += best == y[r0 + r];
        }
    }
    return hit;
}

/* ---- the public functions ------------------------------------------------------ */

typedef struct {
    float *mean, *istd, *xs, *W, *b, *P, *gW, *blk, *s;
    int *ys, *perm;
    lbfgsfloatval_t *v, *vbest;
} work;

static void work_free(work *w) {
    cwb_free(w->mean); cwb_free(w->istd); cwb_free(w->xs); cwb_free(w->W); cwb_free(w->b);
    cwb_free(w->P); cwb_free(w->gW); cwb_free(w->blk); cwb_free(w->s);
    free(w->ys); free(w->perm);
    lbfgs_free(w->v); lbfgs_free(w->vbest);
}

static int work_alloc(work *w, int n, int k, int K, int need_best) {
    memset(w, 0, sizeof *w);
    const int nv = k * K + K;
    w->mean = cwb_alloc((size_t)k);
    w->istd = cwb_alloc((size_t)k);
    w->xs = cwb_alloc((size_t)n * k);
    w->W = cwb_alloc((size_t)k * K);
    w->b = cwb_alloc((size_t)K);
    w->P = cwb_alloc((size_t)n * K);
    w->gW = cwb_alloc((size_t)k * K);
    w->blk = cwb_alloc((size_t)SCORE_BLOCK * k);
    w->s = cwb_alloc((size_t)SCORE_BLOCK * K);
    w->ys = malloc((size_t)n * sizeof *w->ys);
    w->perm = malloc((size_t)n * sizeof *w->perm);
    w->v = lbfgs_malloc(nv);
    w->vbest = need_best ? lbfgs_malloc(nv) : NULL;
    if (!w->mean || !w->istd || !w->xs || !w->W || !w->b || !w->P || !w->gW || !w->blk || !w->s ||
        !w->ys || !w->perm || !w->v || (need_best && !w->vbest)) {
        work_free(w);
        return cwb_fail(CWB_ENOMEM, "linear probe: out of memory for %d x %d rows", n, k);
    }
    return CWB_OK;
}

/* Standardised W, b (in v) to raw-feature units: W_raw = istd W, b_raw = b - mean . W_raw. */
static void to_raw(const lbfgsfloatval_t *v, int k, int K, const float *mean, const float *istd,
                   float *W, float *bias) {
    for (int l = 0; l < K; l++) {
        double sh = 0;
        for (int j = 0; j < k; j++) {
            W[(size_t)j * K + l] = (float)(v[(size_t)j * K + l] * istd[j]);
            sh += (double)mean[j] * W[(size_t)j * K + l];
        }
        bias[l] = (float)(v[(size_t)k * K + l] - sh);
    }
}

int cwb_logreg_fit_lbfgs(const cwb_linprobe_cfg *cfg, const float *x, const int *y, int n,
                         int k, int K, double l2, float *W, float *bias, cwb_logreg_fit *info) {
    int rc = check_cfg(cfg, 0);
    if (rc) return rc;
    if (k < 1 || K < 2) return cwb_fail(CWB_EINVAL, "linear probe: k = %d, K = %d (need k >= 1, K >= 2)", k, K);
    if ((rc = check_data("training", x, y, n, k, K))) return rc;
    if (!W || !bias) return cwb_fail(CWB_EINVAL, "linear probe: NULL weights");
    if (!(l2 >= 0) || !isfinite(l2)) return cwb_fail(CWB_EINVAL, "linear probe: l2 = %g must be finite and >= 0", l2);
    work w;
    if ((rc = work_alloc(&w, n, k, K, 0))) return rc;
    cwb_standardisation(x, n, k, w.mean, w.istd);
    for (int i = 0; i < n; i++) standardise(x + (size_t)i * k, w.xs + (size_t)i * k, k, w.mean, w.istd);
    /* the start, raw to standardised units: W_std = W / istd, b_std = b + mean . W */
    for (int l = 0; l < K; l++) {
        double sh = 0;
        for (int j = 0; j < k; j++) {
            w.v[(size_t)j * K + l] = W[(size_t)j * K + l] / w.istd[j];
            sh += (double)w.mean[j] * W[(size_t)j * K + l];
        }
        w.v[(size_t)k * K + l] = bias[l] + sh;
    }
    rc = fit_std(cfg, w.xs, y, n, k, K, l2, w.v, w.W, w.b, w.P, w.gW, info);
    if (!rc) to_raw(w.v, k, K, w.mean, w.istd, W, bias);
    work_free(&w);
    return rc;
}

int cwb_linprobe(const cwb_linprobe_cfg *cfg, const float *train, const int *ytrain,
                 int ntrain, const float *test, const int *ytest, int ntest, int k, int K,
                 cwb_linprobe_result *res) {
    const double t0 = cwb_clock_seconds();
    int rc = check_cfg(cfg, 1);
    if (rc) return rc;
    if (!res) return cwb_fail(CWB_EINVAL, "linear probe: NULL result");
    if (k < 1 || K < 2) return cwb_fail(CWB_EINVAL, "linear probe: k = %d, K = %d (need k >= 1, K >= 2)", k, K);
    if ((rc = check_data("training", train, ytrain, ntrain, k, K)) ||
        (rc = check_data("test", test, ytest, ntest, k, K)))
        return rc;
    const int nval = (int)floor(cfg->val_frac * ntrain + 0.5), nfit = ntrain - nval;
    if (nval < 1 || nfit < 2)
        return cwb_fail(CWB_EINVAL, "linear probe: %d training rows split into %d to fit and %d to "
                                    "validate (need >= 2 and >= 1; val_frac = %g)", ntrain, nfit, nval,
                        cfg->val_frac);
    work w;
    if ((rc = work_alloc(&w, ntrain, k, K, 1))) return rc;
    memset(res, 0, sizeof *res);
    const int nv = k * K + K;

    cwb_standardisation(train, ntrain, k, w.mean, w.istd);
    cwb_rng r;
    cwb_rng_seed(&r, cfg->seed, CWB_STREAM_EVAL);
    cwb_rng_permutation(&r, w.perm, ntrain);
    for (int t = 0; t < ntrain; t++) {
        standardise(train + (size_t)w.perm[t] * k, w.xs + (size_t)t * k, k, w.mean, w.istd);
        w.ys[t] = ytrain[w.perm[t]];
    }
    res->n_l2 = cfg->n_l2;
    res->n_val = nval;
    res->n_fit = nfit;

    /* candidates strongest first, each warm-started from the previous */
    int order[CWB_LINPROBE_MAX_L2];
    for (int i = 0; i < cfg->n_l2; i++) order[i] = i;
    for (int i = 1; i < cfg->n_l2; i++)
        for (int j = i; j > 0 && cfg->l2[order[j]] > cfg->l2[order[j - 1]]; j--) {
            int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    for (int q = 0; q < nv; q++) w.v[q] = 0;
    int best = -1;
    for (int t = 0; t < cfg->n_l2; t++) {
        int i = order[t];
        rc = fit_std(cfg, w.xs + (size_t)nval * k, w.ys + nval, nfit, k, K, cfg->l2[i], w.v, w.W,
                     w.b, w.P, w.gW, &res->val_fit[i]);
        if (rc) goto out;
        /* fit_std left W, b (floats) at the solution */
        res->val_acc[i] = (double)score(w.xs, w.ys, nval, k, K, w.W, w.b, NULL, NULL, w.blk, w.s) / nval;
        if (best < 0 || res->val_acc[i] > res->val_acc[best]) {
            best = i;
            memcpy(w.vbest, w.v, (size_t)nv * sizeof *w.v);
        }
    }
    res->l2 = cfg->l2[best];
    memcpy(w.v, w.vbest, (size_t)nv * sizeof *w.v);
    rc = fit_std(cfg, w.xs, w.ys, ntrain, k, K, res->l2, w.v, w.W, w.b, w.P, w.gW, &res->fit);
    if (rc) goto out;
    res->train_acc = (double)score(w.xs, w.ys, ntrain, k, K, w.W, w.b, NULL, NULL, w.blk, w.s) / ntrain;
    res->test_acc = (double)score(test, ytest, ntest, k, K, w.W, w.b, w.mean, w.istd, w.blk, w.s) / ntest;
    res->seconds = cwb_clock_seconds() - t0;
out:
    work_free(&w);
    return rc;
}
