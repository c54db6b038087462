/* test_scalefit.c - the gradient-bias experiment with a known optimum
 * (methods.md, experiment 1): theta* by Newton, SGD on theta with the full
 * batch (unbiased: reaches theta*) and with small batches (the conventional
 * minibatch estimate of the population loss settles above theta*). */
#include "engine/core/error.h"
#include "engine/eval/metrics.h"
#include "engine/train/scalefit.h"
#include "../tap.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 256, K = 16, CLUSTERS = 8 };
#define SPREAD 0.6f
#define PAIR_NOISE 0.5f

static int quick;
static float a[N * K], b[N * K];
static int labels[N];
static double theta_star;

static void test_pairs(void) {
    static float a2[N * K], b2[N * K], a3[N * K];
    static int l2[N];
    int rc = cwb_scalefit_pairs(N, K, CLUSTERS, SPREAD, PAIR_NOISE, 1, a, b, labels);
    int rc2 = cwb_scalefit_pairs(N, K, CLUSTERS, SPREAD, PAIR_NOISE, 1, a2, b2, l2);
    ok(rc == 0 && rc2 == 0 && !memcmp(a, a2, sizeof a) && !memcmp(b, b2, sizeof b) &&
           !memcmp(labels, l2, sizeof labels),
       "pairs: same seed, same embeddings and labels");
    rc2 = cwb_scalefit_pairs(N, K, CLUSTERS, SPREAD, PAIR_NOISE, 2, a3, b2, NULL);
    ok(rc2 == 0 && memcmp(a, a3, sizeof a) != 0, "pairs: another seed differs (labels may be NULL)");
    double maxdev = 0, cos_pair = 0;
    int lab_ok = 1, used[CLUSTERS] = {0};
    for (int i = 0; i < N; i++) {
        double na = 0, nb = 0, ab = 0;
        for (int j = 0; j < K; j++) {
            na += (double)a[i * K + j] * a[i * K + j];
            nb += (double)b[i * K + j] * b[i * K + j];
            ab += (double)a[i * K + j] * b[i * K + j];
        }
        maxdev = fmax(maxdev, fmax(fabs(sqrt(na) - 1), fabs(sqrt(nb) - 1)));
        cos_pair += ab / N;
        if (labels[i] < 0 || labels[i] >= CLUSTERS) lab_ok = 0;
        else used[labels[i]] = 1;
    }
    int n_used = 0;
    for (int c = 0; c < CLUSTERS; c++) n_used += used[c];
    ok(maxdev < 1e-6, "pairs: rows are unit vectors (max |norm-1| %.2g)", maxdev);
    ok(lab_ok && n_used == CLUSTERS, "pairs: labels in [0, %d), all clusters used", CLUSTERS);
    /* b_i = normalise(a_i + pn e), |pn e|^2 ~ k pn^2 = 4 and nearly orthogonal
     * to a_i: <a_i, b_i> ~ 1/sqrt(1 + k pn^2) = 0.447 */
    const double want = 1.0 / sqrt(1.0 + K * PAIR_NOISE * PAIR_NOISE);
    ok(tap_close(cos_pair, want, 0.05, 0), "pairs: mean <a_i, b_i> = %.3f, about %.3f", cos_pair, want);
}

static void test_optimum(void) {
    int rc = cwb_scale_optimum(a, b, N, K, 0, 1.0, &theta_star);
    double L, d1, d2, Lm, Lp;
    int rc2 = rc ? rc : cwb_population_loss(a, b, N, K, theta_star, 0, &L, &d1, &d2);
    ok(rc == 0 && rc2 == 0 && fabs(d1) < 1e-10 && d2 > 0,
       "theta* = %.6f: L' = %.2g, L'' = %.4g > 0", theta_star, rc2 ? NAN : d1, rc2 ? NAN : d2);
    cwb_population_loss(a, b, N, K, theta_star * 0.99, 0, &Lm, NULL, NULL);
    cwb_population_loss(a, b, N, K, theta_star * 1.01, 0, &Lp, NULL, NULL);
    ok(rc == 0 && Lm > L && Lp > L, "theta* is a minimum: L(0.99 theta*) %.9f, L(theta*) %.9f, L(1.01 theta*) %.9f",
       Lm, L, Lp);
    const double starts[] = {0.01, 0.5, 3.0, 40.0, 500.0};
    for (int s = 0; s < 5; s++) {
        double t;
        rc = cwb_scale_optimum(a, b, N, K, 0, starts[s], &t);
        ok(rc == 0 && tap_close(t, theta_star, 1e-9, 0), "theta* from theta0 = %g: %.9f (%s)", starts[s], t,
           rc ? cwb_errmsg() : "ok");
    }
    /* Row blocks of another size: the float similarities may round
     * differently in another gemm blocking, theta* only within float noise. */
    double tc;
    rc = cwb_scale_optimum(a, b, N, K, 37, 2.0, &tc);
    ok(rc == 0 && tap_close(tc, theta_star, 1e-6, 0), "theta* with 37-row blocks: %.9f", tc);
    /* Positives that are every anchor's nearest neighbour: L decreases to 0
     * forever and there is no optimum to find. */
    static float a0[N * K], b0[N * K];
    cwb_scalefit_pairs(N, K, CLUSTERS, SPREAD, 0.0f, 1, a0, b0, NULL);
    double t = -1;
    cwb_clear_error();
    rc = cwb_scale_optimum(a0, b0, N, K, 0, 1.0, &t);
    ok(rc != 0 && strstr(cwb_errmsg(), "no finite optimum"), "a == b: no finite optimum reported (\"%s\")",
       cwb_errmsg());
}

static cwb_scalefit_cfg base_cfg(cwb_loss_kind kind, int B, double lr, double theta0, uint64_t seed) {
    cwb_scalefit_cfg c;
    memset(&c, 0, sizeof c);
    c.loss = cwb_loss_defaults(kind);
    c.batch = B;
    c.lr = lr;
    c.theta0 = theta0;
    c.seed = seed;
    return c;
}

/* Runs `steps` SGD steps; returns the mean of theta over the last quarter
 * divided by theta* (NaN on error); *last receives the final ratio. */
static double run_ratio(const cwb_scalefit_cfg *c, long steps, double *last) {
    cwb_scalefit *s = cwb_scalefit_new(c, a, b, labels, N, K);
    if (!s) {
        diag("scalefit_new: %s", cwb_errmsg());
        return NAN;
    }
    double th = NAN, loss, acc = 0;
    for (long t = 0; t < steps; t++) {
        if (cwb_scalefit_step(s, &th, &loss)) {
            diag("step %ld: %s", t + 1, cwb_errmsg());
            cwb_scalefit_free(s);
            return NAN;
        }
        if (t >= steps - steps / 4) acc += th;
    }
    cwb_scalefit_free(s);
    if (last) *last = th / theta_star;
    return acc / (double)(steps / 4) / theta_star;
}

static void test_full_batch(void) {
    double d2;
    cwb_population_loss(a, b, N, K, theta_star, 0, NULL, NULL, &d2);
    /* With B = N every step is exact gradient descent on a convex function;
     * lr = 0.5 / L'' contracts the error by about half per step near theta*. */
    const double lr = 0.5 / d2;
    const double starts[] = {0.3, 3.0};
    const int steps = 60;   /* ~20 steps reach theta* to 1e-3 from 3 theta* */
    for (int s = quick ? 1 : 0; s < 2; s++) {
        double last;
        cwb_scalefit_cfg c = base_cfg(CWB_LOSS_INFONCE, N, lr, starts[s] * theta_star, 1);
        run_ratio(&c, steps, &last);
        ok(fabs(last - 1) < 0.01, "full batch InfoNCE (n_total = n) from %.1f theta*: theta/theta* = %.6f",
           starts[s], last);
        c = base_cfg(CWB_LOSS_DECOMPOSABLE, N, lr, starts[s] * theta_star, 1);
        c.loss.alpha = INFINITY;
        c.loss.gamma = 1.0;
        run_ratio(&c, steps, &last);
        ok(fabs(last - 1) < 0.01, "full batch decomposable (alpha inf, gamma 1) from %.1f theta*: %.6f",
           starts[s], last);
        c = base_cfg(CWB_LOSS_SOGCLR, N, lr, starts[s] * theta_star, 1);
        c.loss.gamma = 1.0;
        run_ratio(&c, steps, &last);
        ok(fabs(last - 1) < 0.01, "full batch SogCLR (gamma 1) from %.1f theta*: %.6f", starts[s], last);
    }
}

static void test_small_batch(void) {
    /* B = 8: the conventional loss (log of the minibatch estimate of Z_i)
     * has a biased gradient and settles clearly above theta*. */
    const double starts[] = {0.3, 1.0, 3.0};
    const int r0 = quick ? 1 : 0, r1 = quick ? 2 : 3;   /* quick: from theta* only */
    const long conv_steps = quick ? 3000 : 6000, diag_steps = quick ? 1000 : 6000;
    for (int r = r0; r < r1; r++) {
        cwb_scalefit_cfg c = base_cfg(CWB_LOSS_INFONCE, 8, 1.0, starts[r] * theta_star, 10 + r);
        double m = run_ratio(&c, conv_steps, NULL);
        ok(m > 1.2, "conventional InfoNCE, B = 8, from %.1f theta*: settles at %.3f theta* (> 1.2)", starts[r], m);
    }
    {
        cwb_scalefit_cfg c = base_cfg(CWB_LOSS_INFONCE, 8, 1.0, theta_star, 20);
        c.unscaled = 1;
        double m = run_ratio(&c, diag_steps, NULL);
        diag("standard (unscaled) InfoNCE, B = 8: settles at %.3f theta*", m);
        ok(isfinite(m), "unscaled InfoNCE runs");
        c = base_cfg(CWB_LOSS_INFONCE, 32, 1.0, theta_star, 21);
        m = run_ratio(&c, diag_steps, NULL);
        diag("conventional InfoNCE, B = 32: settles at %.3f theta*", m);
        c.batch = 8;
        c.batch_noise = 1.0f;
        m = run_ratio(&c, diag_steps, NULL);
        c.importance = 1;
        double mi = run_ratio(&c, diag_steps, NULL);
        diag("conventional InfoNCE, B = 8, one-cluster batches: %.3f theta*, importance-weighted %.3f", m, mi);
        ok(isfinite(m) && isfinite(mi), "skewed batches with and without importance weights run");
    }
    /* The decomposable loss at the same B = 8 (alpha 10, gamma 0.02): its
     * gradient is unbiased for fixed u, so it settles near theta*; what is
     * left is E[1/zhat] != 1/Z (methods.md). */
    const long dec_steps = quick ? 20000 : 80000;
    for (int r = r0; r < r1; r++) {
        cwb_scalefit_cfg c = base_cfg(CWB_LOSS_DECOMPOSABLE, 8, 1.0, starts[r] * theta_star, 30 + r);
        c.loss.alpha = 10;
        c.loss.gamma = 0.02;
        double m = run_ratio(&c, dec_steps, NULL);
        ok(fabs(m - 1) < 0.15, "decomposable, B = 8, from %.1f theta*: settles at %.3f theta* (within 15%%)",
           starts[r], m);
    }
}

/* estep_first (loss.h): drawing u_i from zhat_i before this batch folds
 * Zb_i in makes u independent of the Zb it multiplies.  In methods.md's
 * order, a large gamma correlates them (a large Zb_i lowers u_i), which at
 * B = 8 pushes theta upward until it runs away; the E-step-first order
 * stays near theta* (slightly below: E[1/zhat] > 1/Z, Jensen). */
static double run_max(const cwb_scalefit_cfg *c, long steps, double *mean) {
    cwb_scalefit *s = cwb_scalefit_new(c, a, b, labels, N, K);
    double th = NAN, loss, mx = 0, acc = 0;
    long t;
    for (t = 0; s && t < steps; t++) {
        /* A run-away ends in an overflow error: count it as unbounded. */
        if (cwb_scalefit_step(s, &th, &loss) || !isfinite(th)) {
            mx = INFINITY;
            break;
        }
        mx = fmax(mx, th / theta_star);
        if (t >= steps - steps / 4) acc += th;
    }
    *mean = t == steps ? acc / (double)(steps / 4) / theta_star : INFINITY;
    cwb_scalefit_free(s);
    return s ? mx : NAN;
}

static void test_estep_first(void) {
    const long steps = 8000;
    for (int es = 0; es < 2; es++) {
        cwb_scalefit_cfg c = base_cfg(CWB_LOSS_DECOMPOSABLE, 8, 1.0, theta_star, 50);
        c.loss.alpha = 10;
        c.loss.gamma = 0.2;
        c.loss.estep_first = es;
        double mean, mx = run_max(&c, steps, &mean);
        if (es)
            ok(mx < 1.2 && mean > 0.6, "decomposable estep_first, B = 8, gamma 0.2: max %.3f theta*, "
               "last-quarter mean %.3f theta* (< 1.2, no run-away)", mx, mean);
        else
            ok(mx > 2, "decomposable default order, B = 8, gamma 0.2: max %.3f theta* (runs away "
               "above 2 theta*)", mx);
    }
}

/* jensen (loss.h): with the E-step first, what is left is E[1/zhat] > 1/Z,
 * which makes u too large and theta too small, more so at a larger gamma
 * (a noisier zhat).  Dividing u's mean by 1 + gamma/(2-gamma) v, v the
 * running relative variance of Zbatch, removes it to second order: at
 * gamma 0.1 the corrected runs settle within a few percent of theta*,
 * clearly closer than the uncorrected ones. */
static void test_jensen(void) {
    const long steps = quick ? 20000 : 40000;
    double m[2];
    for (int j = 0; j < 2; j++) {
        cwb_scalefit_cfg c = base_cfg(CWB_LOSS_DECOMPOSABLE, 8, 1.0, theta_star, 60);
        c.loss.alpha = 10;
        c.loss.gamma = 0.1;
        c.loss.estep_first = 1;
        c.loss.jensen = j;
        m[j] = run_ratio(&c, steps, NULL);
    }
    diag("decomposable estep_first, B = 8, gamma 0.1: %.3f theta*, with jensen %.3f theta*", m[0], m[1]);
    ok(fabs(m[1] - 1) < 0.04, "estep_first + jensen, B = 8, gamma 0.1: settles at %.3f theta* (within 4%%)",
       m[1]);
    ok(fabs(m[1] - 1) < 0.5 * fabs(m[0] - 1), "the correction at least halves the distance to theta* "
       "(%.3f -> %.3f)", fabs(m[0] - 1), fabs(m[1] - 1));
}

static void test_determinism(void) {
    enum { S = 500 };
    double t1[S], t2[S], t3[S], l1[S], l2[S], l;
    for (int run = 0; run < 3; run++) {
        cwb_scalefit_cfg c = base_cfg(CWB_LOSS_DECOMPOSABLE, 8, 1.0, theta_star, run == 2 ? 6 : 5);
        c.batch_noise = 0.5f;
        c.importance = 1;
        cwb_scalefit *s = cwb_scalefit_new(&c, a, b, labels, N, K);
        double *t = run == 0 ? t1 : run == 1 ? t2 : t3;
        for (int i = 0; s && i < S; i++) {
            cwb_scalefit_step(s, &t[i], run == 0 ? &l1[i] : run == 1 ? &l2[i] : &l);
        }
        cwb_scalefit_free(s);
    }
    ok(!memcmp(t1, t2, sizeof t1) && !memcmp(l1, l2, sizeof l1), "same seed: theta and loss bit-identical");
    ok(memcmp(t1, t3, sizeof t1) != 0, "different seed: another trajectory");
}

/* The driver's log hook: the thetas it is given. */
typedef struct {
    int n;
    long step[64];
    double theta[64];
} trace;

static int log_theta(void *ud, long step, const cwb_metrics *m) {
    trace *tr = ud;
    const double *th = cwb_metrics_get(m, "theta");
    if (tr->n < 64 && th) {
        tr->step[tr->n] = step;
        tr->theta[tr->n++] = *th;
    }
    return CWB_DRIVE_GO;
}

static void test_interface(void) {
    /* The loop adds nothing to the numbers: cwb_drive's logged thetas are
     * those of step() one at a time; reset gives them again. */
    enum { S = 600, EVERY = 100 };
    double t1[S], l;
    cwb_scalefit_cfg c = base_cfg(CWB_LOSS_DECOMPOSABLE, 8, 1.0, theta_star, 9);
    c.loss.estep_first = 1;
    c.loss.jensen = 1;
    c.batch_noise = 0.3f;
    cwb_scalefit *s = cwb_scalefit_new(&c, a, b, labels, N, K);
    for (int i = 0; s && i < S; i++) cwb_scalefit_step(s, &t1[i], &l);
    ok(s && cwb_scalefit_steps(s) == S && cwb_scalefit_theta(s) == t1[S - 1], "theta() and steps() after %d steps", S);
    int rc = cwb_scalefit_reset(s);
    ok(rc == CWB_OK && cwb_scalefit_steps(s) == 0 && cwb_scalefit_theta(s) == theta_star,
       "reset: step 0, theta back at theta0");
    trace tr = {0, {0}, {0}};
    cwb_drive_hooks h = {&tr, log_theta, NULL, NULL, NULL};
    cwb_drive_opts o = {S, EVERY, 0, 1, 0};
    cwb_drive_result res;
    rc = cwb_drive(&cwb_scalefit_ops, s, &o, &h, &res);
    int same = rc == CWB_OK && tr.n == S / EVERY;
    for (int i = 0; same && i < tr.n; i++)
        same = tr.step[i] == (i + 1) * EVERY && tr.theta[i] == t1[(i + 1) * EVERY - 1];
    ok(same, "driven after reset: the thetas logged every %d steps are the step-by-step ones, bit for bit", EVERY);
    ok(res.last.n == 2 && strcmp(res.last.m[0].name, "loss") == 0 && strcmp(res.last.m[1].name, "theta") == 0 &&
           !res.evaluated,
       "step metrics: loss, theta; nothing to evaluate");
    ok(cwb_scalefit_ops.tick_every == 256 && strcmp(cwb_scalefit_ops.headline, "theta") == 0 &&
           !cwb_scalefit_ops.evaluate && !cwb_scalefit_ops.embed && cwb_scalefit_ops.seed(s) == 9,
       "a tick every 256 steps, theta on the progress line, the seed");
    cwb_json j;
    cwb_json_init(&j);
    rc = cwb_scalefit_describe(s, &j);
    const char *txt = cwb_json_text(&j);
    ok(rc == CWB_OK && txt && strstr(txt, "\"batch_noise\":0.3,") && strstr(txt, "\"jensen\":true") &&
           strstr(txt, "\"n\":256}"),
       "describe: %s", txt ? txt : "");
    cwb_json_free(&j);
    cwb_scalefit_free(s);
}

static void test_bad_inputs(void) {
    cwb_scalefit_cfg base = base_cfg(CWB_LOSS_INFONCE, 8, 1.0, 1.0, 1);
#define CASE(desc, word, lab, stmt)                                                                \
    TU_REJECTS(cwb_scalefit_cfg, base, cwb_scalefit_new(c, a, b, lab, N, K), cwb_scalefit_free,    \
               desc, word, stmt)
    CASE("batch 1", "batch", labels, c->batch = 1);
    CASE("batch > n", "batch", labels, c->batch = N + 1);
    CASE("lr 0", "lr", labels, c->lr = 0);
    CASE("theta0 -1", "theta0", labels, c->theta0 = -1);
    CASE("theta0 inf", "theta0", labels, c->theta0 = INFINITY);
    CASE("batch_noise without labels", "labels", NULL, c->batch_noise = 0.5f);
    CASE("batch_noise 2", "batch_noise", labels, c->batch_noise = 2);
    CASE("unscaled decomposable", "unscaled", labels,
         (c->loss = cwb_loss_defaults(CWB_LOSS_DECOMPOSABLE), c->unscaled = 1));
    CASE("unknown loss kind", "loss kind", labels, c->loss.kind = CWB_LOSS_NKINDS);
#undef CASE
    static float an[N * K];
    memcpy(an, a, sizeof an);
    an[17] = NAN;
    cwb_clear_error();
    cwb_scalefit *s = cwb_scalefit_new(&base, an, b, labels, N, K);
    ok(s == NULL && strstr(cwb_errmsg(), "NaN"), "rejected: NaN in a (\"%s\")", cwb_errmsg());
    cwb_clear_error();
    s = cwb_scalefit_new(&base, a, b, labels, 1, K);
    ok(s == NULL && cwb_errmsg()[0], "rejected: n = 1 (\"%s\")", cwb_errmsg());

    double t;
    cwb_clear_error();
    int rc = cwb_scale_optimum(a, b, N, K, 0, 0.0, &t);
    ok(rc == CWB_EINVAL && strstr(cwb_errmsg(), "theta0"), "optimum: theta0 = 0 rejected (\"%s\")", cwb_errmsg());
    cwb_clear_error();
    rc = cwb_scale_optimum(a, NULL, N, K, 0, 1.0, &t);
    ok(rc == CWB_EINVAL && cwb_errmsg()[0], "optimum: NULL b rejected (\"%s\")", cwb_errmsg());
    cwb_clear_error();
    rc = cwb_scalefit_pairs(N, K, 0, SPREAD, PAIR_NOISE, 1, an, an, NULL);
    ok(rc == CWB_EINVAL && strstr(cwb_errmsg(), "clusters"), "pairs: 0 clusters rejected (\"%s\")", cwb_errmsg());
    cwb_clear_error();
    rc = cwb_scalefit_pairs(N, K, CLUSTERS, -1.0f, PAIR_NOISE, 1, an, an, NULL);
    ok(rc == CWB_EINVAL && strstr(cwb_errmsg(), "spread"), "pairs: negative spread rejected (\"%s\")",
       cwb_errmsg());
}

/* Live knobs (scalefit.h): the batch size turned from 8 to 128 mid-run moves
 * theta towards theta* (the whole point of lesson 3), and reset undoes it. */
static void test_knobs(void) {
    cwb_scalefit_cfg c = base_cfg(CWB_LOSS_INFONCE, 8, 0.5, theta_star, 3);
    c.batch_max = 128;
    cwb_scalefit *s = cwb_scalefit_new(&c, a, b, labels, N, K);
    ok(s != NULL, "a scale fit with batch_max 128 builds (%s)", s ? "" : cwb_errmsg());
    if (!s) return;
    double th = 0, loss;
    for (int i = 0; i < 3000; i++) cwb_scalefit_step(s, &th, &loss);
    const double small = th / theta_star;
    cwb_knob k[CWB_KNOBS_MAX];
    int n = cwb_scalefit_knobs(s, k, CWB_KNOBS_MAX);
    ok(n == 3 && cwb_knob_find(k, n, "lr") && cwb_knob_find(k, n, "batch")->max == 128 && cwb_knob_find(k, n, "noise"),
       "scale fit knobs: lr, batch (up to 128), noise");
    ok(cwb_scalefit_set(s, "batch", 128) == CWB_OK, "batch 8 -> 128 at step 3000");
    for (int i = 0; i < 3000; i++) cwb_scalefit_step(s, &th, &loss);
    const double large = th / theta_star;
    ok(fabs(large - 1) < fabs(small - 1) / 2, "theta/theta* moves from %.3f (B = 8) towards 1: %.3f (B = 128)", small,
       large);
    cwb_json j;
    cwb_json_init(&j);
    cwb_scalefit_describe(s, &j);
    ok(strstr(cwb_json_text(&j), "\"batch\":128,") != NULL, "describe: the batch as it is now");
    cwb_json_free(&j);
    ok(cwb_scalefit_set(s, "batch", 129) == CWB_EINVAL && cwb_scalefit_set(s, "tau", 1) == CWB_EINVAL &&
           cwb_scalefit_set(s, "lr", -1) == CWB_EINVAL,
       "batch above batch_max, a tau (theta is learned) and lr < 0 are refused");
    cwb_scalefit_reset(s);
    n = cwb_scalefit_knobs(s, k, CWB_KNOBS_MAX);
    ok(cwb_knob_find(k, n, "batch")->value == 8, "reset: batch 8 again");
    cwb_scalefit_free(s);
}

int main(void) {
    quick = getenv("CWB_TEST_QUICK") != NULL;
    test_pairs();
    test_optimum();
    if (!(theta_star > 0)) {
        ok(0, "no theta*: the remaining tests need it");
        return done_testing();
    }
    test_full_batch();
    test_small_batch();
    test_estep_first();
    test_jensen();
    test_determinism();
    test_interface();
    test_bad_inputs();
    test_knobs();
    return done_testing();
}
