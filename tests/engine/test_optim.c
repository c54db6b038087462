/* test_optim.c - SGD and AdamW against the torch.optim update rules written
 * out in double, learning-rate schedules, NaN rejection and convergence. */
#include "engine/core/error.h"
#include "engine/nn/optim.h"
#include "../tap.h"

#include <math.h>
#include <string.h>

enum { N = 6, STEPS = 5 };

static const float lrs[STEPS] = {0.05f, 0.1f, 0.02f, 0.07f, 0.03f};

/* Gradients that change sign and size from step to step. */
static float grad_at(int t, int i) {
    return (float)(0.3 * sin(1.3 * i + 0.7 * t) + 0.05 * (i - 2));
}

static void init_params(float *p) {
    for (int i = 0; i < N; i++) p[i] = (float)(1.0 - 0.35 * i);
}

/* torch.optim.SGD(momentum=mu, dampening=0, weight_decay=wd, nesterov=False). */
static void sgd_reference(double *p, double mu, double wd) {
    double buf[N];
    for (int t = 0; t < STEPS; t++)
        for (int i = 0; i < N; i++) {
            double g = grad_at(t, i) + wd * p[i];
            buf[i] = t == 0 ? g : mu * buf[i] + g;
            p[i] -= lrs[t] * (mu != 0 ? buf[i] : g);
        }
}

/* torch.optim.AdamW(betas=(b1, b2), eps, weight_decay=wd, amsgrad=False). */
static void adamw_reference(double *p, double b1, double b2, double eps, double wd) {
    double m[N] = {0}, v[N] = {0};
    for (int t = 0; t < STEPS; t++) {
        double bc1 = 1 - pow(b1, t + 1), bc2 = 1 - pow(b2, t + 1);
        for (int i = 0; i < N; i++) {
            double g = grad_at(t, i);
            p[i] *= 1 - lrs[t] * wd;
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            double mhat = m[i] / bc1, vhat = v[i] / bc2;
            p[i] -= lrs[t] * mhat / (sqrt(vhat) + eps);
        }
    }
}

static int run_and_compare(const cwb_optim_cfg *cfg, const double *want, const char *what) {
    cwb_optim *o = cwb_optim_new(cfg, N);
    if (!o) {
        diag("%s: %s", what, cwb_errmsg());
        return 0;
    }
    float p[N], g[N];
    init_params(p);
    int rc = 0;
    for (int t = 0; t < STEPS; t++) {
        for (int i = 0; i < N; i++) g[i] = grad_at(t, i);
        rc |= cwb_optim_step(o, p, g, lrs[t]);
    }
    cwb_optim_free(o);
    int good = rc == CWB_OK;
    for (int i = 0; i < N; i++)
        if (!tap_close(p[i], want[i], 1e-5, 1e-6)) {
            diag("%s: p[%d] = %.8f, want %.8f", what, i, p[i], want[i]);
            good = 0;
        }
    return good;
}

static void test_updates(void) {
    double want[N];
    /* cfg.lr is a deliberately absurd value: the step must use its lr argument. */
    cwb_optim_cfg c = cwb_optim_defaults(CWB_OPT_SGD);
    c.lr = 123.0f;
    c.momentum = 0.9f;
    c.weight_decay = 0.1f;
    for (int i = 0; i < N; i++) want[i] = 1.0 - 0.35 * i;
    sgd_reference(want, 0.9f, 0.1f);
    ok(run_and_compare(&c, want, "sgd"), "SGD momentum 0.9 wd 0.1: 5 steps match torch's rule");

    c.momentum = 0.0f;
    c.weight_decay = 0.0f;
    for (int i = 0; i < N; i++) want[i] = 1.0 - 0.35 * i;
    sgd_reference(want, 0, 0);
    ok(run_and_compare(&c, want, "plain sgd"), "plain SGD: 5 steps match p -= lr g");

    cwb_optim_cfg a = cwb_optim_defaults(CWB_OPT_ADAMW);
    a.lr = 123.0f;
    a.beta1 = 0.8f;
    a.beta2 = 0.99f;
    a.eps = 1e-6f;
    a.weight_decay = 0.1f;
    for (int i = 0; i < N; i++) want[i] = 1.0 - 0.35 * i;
    adamw_reference(want, 0.8f, 0.99f, 1e-6f, 0.1f);
    ok(run_and_compare(&a, want, "adamw"),
       "AdamW (0.8, 0.99) eps 1e-6 wd 0.1: 5 steps match torch's rule");

    a = cwb_optim_defaults(CWB_OPT_ADAMW);
    for (int i = 0; i < N; i++) want[i] = 1.0 - 0.35 * i;
    adamw_reference(want, 0.9f, 0.999f, 1e-8f, 0.01f);
    ok(run_and_compare(&a, want, "adamw defaults"), "AdamW defaults: 5 steps match torch's rule");

    /* The first AdamW step, by hand: m = 0.1 g, v = 0.001 g^2, both bias
     * corrected to g and g^2, so p moves by lr * sign(g) (eps aside), after
     * the decoupled decay p *= 1 - lr wd. */
    cwb_optim *o = cwb_optim_new(&a, 2);
    float p[2] = {1.0f, -2.0f}, g[2] = {0.25f, -4.0f};
    cwb_optim_step(o, p, g, 0.01f);
    ok(tap_close(p[0], 1.0 * (1 - 0.01 * 0.01) - 0.01, 1e-6, 1e-7) &&
           tap_close(p[1], -2.0 * (1 - 0.01 * 0.01) + 0.01, 1e-6, 1e-7),
       "AdamW first step is -lr sign(g) after decay: (%.7f, %.7f)", p[0], p[1]);
    cwb_optim_free(o);
}

static void test_defaults_names(void) {
    cwb_optim_cfg s = cwb_optim_defaults(CWB_OPT_SGD), a = cwb_optim_defaults(CWB_OPT_ADAMW);
    ok(s.kind == CWB_OPT_SGD && s.lr == 0.1f && s.momentum == 0.9f && s.weight_decay == 0.0f,
       "SGD defaults: lr 0.1, momentum 0.9, wd 0");
    ok(a.kind == CWB_OPT_ADAMW && a.lr == 1e-3f && a.beta1 == 0.9f && a.beta2 == 0.999f &&
           a.eps == 1e-8f && a.weight_decay == 0.01f,
       "AdamW defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 0.01");
    ok(cwb_opt_from_name("sgd") == CWB_OPT_SGD && cwb_opt_from_name("adamw") == CWB_OPT_ADAMW,
       "optimiser names");
    ok(cwb_opt_from_name("adam") == -1 && cwb_opt_from_name("") == -1 &&
           cwb_opt_from_name(NULL) == -1,
       "unknown optimiser names give -1");
    ok(cwb_sched_from_name("constant") == CWB_SCHED_CONSTANT &&
           cwb_sched_from_name("warmup") == CWB_SCHED_WARMUP &&
           cwb_sched_from_name("cosine") == CWB_SCHED_COSINE,
       "schedule names");
    ok(cwb_sched_from_name("linear") == -1 && cwb_sched_from_name(NULL) == -1,
       "unknown schedule names give -1");
}

static void test_schedules(void) {
    cwb_schedule c = {.kind = CWB_SCHED_CONSTANT, .warmup = 10, .total = 100, .min_frac = 0.1f};
    ok(cwb_schedule_factor(&c, 0) == 1.0f && cwb_schedule_factor(&c, 5) == 1.0f &&
           cwb_schedule_factor(&c, 10000) == 1.0f,
       "constant is 1 at every step (warm-up ignored)");

    cwb_schedule w = {.kind = CWB_SCHED_WARMUP, .warmup = 10};
    ok(cwb_schedule_factor(&w, 0) == 0.0f, "warmup: 0 at step 0");
    ok(tap_close(cwb_schedule_factor(&w, 5), 0.5, 1e-6, 0), "warmup: 0.5 at step 5 of 10");
    ok(tap_close(cwb_schedule_factor(&w, 9), 0.9, 1e-6, 0), "warmup: 0.9 at step 9");
    ok(cwb_schedule_factor(&w, 10) == 1.0f && cwb_schedule_factor(&w, 5000) == 1.0f,
       "warmup: 1 from step 10 on");

    cwb_schedule k = {.kind = CWB_SCHED_COSINE, .warmup = 10, .total = 110, .min_frac = 0.1f};
    ok(tap_close(cwb_schedule_factor(&k, 5), 0.5, 1e-6, 0), "cosine: warm-up 0.5 at step 5");
    ok(tap_close(cwb_schedule_factor(&k, 10), 1.0, 1e-6, 0), "cosine: 1 at the end of warm-up");
    double q = 0.1 + 0.9 * 0.5 * (1 + cos(M_PI * 0.25));
    ok(tap_close(cwb_schedule_factor(&k, 35), q, 1e-6, 0),
       "cosine: quarter way %.6f ~ %.6f", cwb_schedule_factor(&k, 35), q);
    ok(tap_close(cwb_schedule_factor(&k, 60), 0.55, 1e-6, 0), "cosine: half way (1 + 0.1)/2");
    q = 0.1 + 0.9 * 0.5 * (1 + cos(M_PI * 0.99));
    ok(tap_close(cwb_schedule_factor(&k, 109), q, 1e-5, 0), "cosine: last step %.6f", q);
    ok(tap_close(cwb_schedule_factor(&k, 110), 0.1, 1e-6, 0) &&
           tap_close(cwb_schedule_factor(&k, 100000), 0.1, 1e-6, 0),
       "cosine: min_frac from `total` on");
    int mono = 1;
    for (long s = 10; s < 120; s++)
        if (cwb_schedule_factor(&k, s + 1) > cwb_schedule_factor(&k, s)) mono = 0;
    ok(mono, "cosine: non-increasing after warm-up");
    cwb_schedule k0 = {.kind = CWB_SCHED_COSINE, .warmup = 0, .total = 100, .min_frac = 0};
    ok(cwb_schedule_factor(&k0, 0) == 1.0f &&
           tap_close(cwb_schedule_factor(&k0, 50), 0.5, 1e-6, 0) &&
           cwb_schedule_factor(&k0, 100) == 0.0f,
       "cosine without warm-up: 1, 0.5, 0 at steps 0, 50, 100");
}

static void test_nan(cwb_opt_kind kind) {
    const char *name = kind == CWB_OPT_SGD ? "SGD" : "AdamW";
    cwb_optim_cfg c = cwb_optim_defaults(kind);
    c.weight_decay = 0.05f;
    cwb_optim *o1 = cwb_optim_new(&c, N), *o2 = cwb_optim_new(&c, N);
    float p1[N], p2[N], keep[N], g[N];
    init_params(p1);
    init_params(p2);
    for (int i = 0; i < N; i++) g[i] = grad_at(0, i);
    cwb_optim_step(o1, p1, g, 0.01f);
    cwb_optim_step(o2, p2, g, 0.01f);
    memcpy(keep, p1, sizeof p1);

    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int b = 0; b < 3; b++) {
        for (int i = 0; i < N; i++) g[i] = grad_at(1, i);
        g[N - 2] = bad[b];
        cwb_clear_error();
        int rc = cwb_optim_step(o1, p1, g, 0.01f);
        ok(rc == CWB_ENAN && memcmp(p1, keep, sizeof p1) == 0 && cwb_errmsg()[0],
           "%s: gradient %g rejected with CWB_ENAN, params untouched (\"%s\")", name,
           (double)bad[b], cwb_errmsg());
    }
    /* The state (momentum buffer, moments, step count) is untouched too: the
     * next good step matches an optimiser that never saw the bad ones. */
    for (int i = 0; i < N; i++) g[i] = grad_at(1, i);
    cwb_optim_step(o1, p1, g, 0.01f);
    cwb_optim_step(o2, p2, g, 0.01f);
    ok(memcmp(p1, p2, sizeof p1) == 0, "%s: state unchanged by rejected steps", name);

    cwb_clear_error();
    ok(cwb_optim_step(o1, p1, g, -0.1f) == CWB_EINVAL && strstr(cwb_errmsg(), "lr"),
       "%s: negative lr rejected (\"%s\")", name, cwb_errmsg());
    ok(cwb_optim_step(o1, p1, g, NAN) == CWB_EINVAL, "%s: NaN lr rejected", name);
    cwb_optim_free(o1);
    cwb_optim_free(o2);
}

static void bad_cfg(cwb_optim_cfg c, size_t n, const char *word, const char *what) {
    cwb_clear_error();
    cwb_optim *o = cwb_optim_new(&c, n);
    ok(o == NULL && strstr(cwb_errmsg(), word), "rejects %s (\"%s\")", what, cwb_errmsg());
    cwb_optim_free(o);
}

static void test_bad_cfg(void) {
    cwb_optim_cfg s = cwb_optim_defaults(CWB_OPT_SGD), a = cwb_optim_defaults(CWB_OPT_ADAMW), c;
    bad_cfg(s, 0, "n_params", "zero parameters");
    c = s; c.lr = -1;
    bad_cfg(c, 4, "lr", "a negative lr");
    c = s; c.momentum = 1.0f;
    bad_cfg(c, 4, "momentum", "momentum 1");
    c = s; c.weight_decay = -0.1f;
    bad_cfg(c, 4, "weight_decay", "negative weight decay");
    c = a; c.beta1 = 1.0f;
    bad_cfg(c, 4, "beta1", "beta1 = 1");
    c = a; c.beta2 = -0.5f;
    bad_cfg(c, 4, "beta2", "beta2 < 0");
    c = a; c.eps = 0;
    bad_cfg(c, 4, "eps", "eps = 0");
    c = a; c.kind = (cwb_opt_kind)9;
    bad_cfg(c, 4, "kind", "an unknown kind");
    cwb_clear_error();
    ok(cwb_optim_new(NULL, 4) == NULL && cwb_errmsg()[0], "rejects a NULL config");
    cwb_optim_free(NULL);
}

/* f(p) = 1/2 sum a_i (p_i - c_i)^2 from p = 0. */
static double quad_run(cwb_optim_cfg cfg, const cwb_schedule *s, long steps) {
    enum { Q = 8 };
    float p[Q] = {0}, g[Q];
    double a[Q], c[Q];
    for (int i = 0; i < Q; i++) {
        a[i] = 0.5 + 4.5 * i / (Q - 1);
        c[i] = 2.0 * sin(i + 1.0);
    }
    cwb_optim *o = cwb_optim_new(&cfg, Q);
    if (!o) return INFINITY;
    for (long t = 0; t < steps; t++) {
        for (int i = 0; i < Q; i++) g[i] = (float)(a[i] * (p[i] - c[i]));
        cwb_optim_step(o, p, g, cfg.lr * cwb_schedule_factor(s, t));
    }
    cwb_optim_free(o);
    double err = 0;
    for (int i = 0; i < Q; i++) err = fmax(err, fabs(p[i] - c[i]));
    return err;
}

static void test_convergence(void) {
    cwb_schedule constant = {.kind = CWB_SCHED_CONSTANT};
    cwb_optim_cfg s = cwb_optim_defaults(CWB_OPT_SGD);
    s.lr = 0.05f;
    double e = quad_run(s, &constant, 500);
    ok(e < 1e-4, "SGD+momentum reaches the minimum of a quadratic (max error %.2g)", e);
    cwb_optim_cfg a = cwb_optim_defaults(CWB_OPT_ADAMW);
    a.lr = 0.05f;
    a.weight_decay = 0;
    cwb_schedule cos = {.kind = CWB_SCHED_COSINE, .warmup = 50, .total = 3000, .min_frac = 0};
    e = quad_run(a, &cos, 3000);
    ok(e < 1e-3, "AdamW with warm-up + cosine reaches the minimum (max error %.2g)", e);
}

/* Subnormal state never stays: a gradient of 1e-20 squares to a subnormal
 * (1e-40), and a momentum fed zeros after one real gradient decays through
 * the subnormal range; x86 takes a microcode assist per operation on one
 * (a Fashion-MNIST run at B = 16 spent 92% of its time in AdamW's loop). */
static int n_subnormal(const float *x, int n) {
    int k = 0;
    for (int i = 0; i < n; i++) k += fpclassify(x[i]) == FP_SUBNORMAL;
    return k;
}

static void test_subnormal_state(void) {
    enum { M = 64 };
    for (int kind = 0; kind < 2; kind++) {
        cwb_optim_cfg c = cwb_optim_defaults(kind == 0 ? CWB_OPT_SGD : CWB_OPT_ADAMW);
        c.weight_decay = 0;
        cwb_optim *o = cwb_optim_new(&c, M);
        float p[M], g[M];
        for (int i = 0; i < M; i++) p[i] = 0.5f;
        int worst_m = 0, worst_v = 0;
        for (int t = 0; t < 2000; t++) {
            /* half the gradients tiny, half one real value then zeros */
            for (int i = 0; i < M; i++) g[i] = i < M / 2 ? 1e-20f : (t == 0 ? 1e-3f : 0.0f);
            cwb_optim_step(o, p, g, c.lr);
            int sm = n_subnormal(cwb_optim_moment(o, 0), M);
            int sv = kind == 1 ? n_subnormal(cwb_optim_moment(o, 1), M) : 0;
            if (sm > worst_m) worst_m = sm;
            if (sv > worst_v) worst_v = sv;
        }
        ok(worst_m == 0 && worst_v == 0, "%s: no subnormal value in its state over 2000 steps of tiny and zero "
           "gradients (at most %d in the first moment, %d in the second)", kind == 0 ? "SGD" : "AdamW", worst_m,
           worst_v);
        ok(cwb_optim_moment(o, kind == 0 ? 1 : 2) == NULL, "%s: no state %d", kind == 0 ? "SGD" : "AdamW",
           kind == 0 ? 1 : 2);
        cwb_optim_free(o);
    }
}

int main(void) {
    test_updates();
    test_subnormal_state();
    test_defaults_names();
    test_schedules();
    test_nan(CWB_OPT_SGD);
    test_nan(CWB_OPT_ADAMW);
    test_bad_cfg();
    test_convergence();
    return done_testing();
}
