/* test_trainer.c - the training step end to end: determinism, learning,
 * every loss kind on both tower layouts, the learnable temperature, config
 * validation and non-finite values stopping the run. */
#include "engine/core/error.h"
#include "engine/eval/metrics.h"
#include "../tap.h"
#include "testutil.h"
#include "engine/train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int quick;   /* CWB_TEST_QUICK: smaller runs for valgrind */

/* Small, easy problem: 8 well separated clusters, 16-d observations. */
static cwb_trainer_cfg small_cfg(uint64_t seed) {
    cwb_trainer_cfg c = cwb_trainer_defaults();
    c.seed = seed;
    c.data.n = 512;
    c.data.clusters = 8;
    c.data.latent_dim = 8;
    c.data.dim = 16;
    c.data.spread = 0.3f;
    c.data.obs_noise = 0.05f;
    c.batch = 64;
    c.enc.n_layers = 2;
    c.enc.dims[0] = 16;
    c.enc.dims[1] = 32;
    c.enc.dims[2] = 16;
    c.tau = 0.2f;
    return c;
}

static int contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static void test_defaults(void) {
    cwb_trainer_cfg c = cwb_trainer_defaults();
    ok(c.seed == 1 && c.batch == 256 && c.shared_tower && !c.learn_tau && fabsf(c.tau - 0.1f) < 1e-7f,
       "defaults: seed 1, B 256, shared tower, tau 0.1 fixed");
    ok(c.enc.n_layers == 2 && c.enc.dims[0] == 64 && c.enc.dims[1] == 256 && c.enc.dims[2] == 64 &&
           c.enc.act == CWB_ACT_RELU && c.enc.l2norm,
       "defaults: encoder 64-256-64 ReLU with L2 norm");
    ok(c.opt.kind == CWB_OPT_SGD && fabsf(c.opt.lr - 0.1f) < 1e-7f && fabsf(c.opt.momentum - 0.9f) < 1e-7f &&
           c.sched.kind == CWB_SCHED_CONSTANT && c.loss.kind == CWB_LOSS_INFONCE,
       "defaults: SGD lr 0.1 momentum 0.9, constant lr, InfoNCE");
    if (quick) return;
    /* The defaults must make a working trainer on their own synthetic data. */
    cwb_trainer *t = cwb_trainer_new(&c, NULL);
    ok(t != NULL, "default trainer builds (%s)", t ? "ok" : cwb_errmsg());
    cwb_step_info si;
    int rc = t ? cwb_trainer_step(t, &si) : -1;
    ok(rc == 0 && si.step == 1 && isfinite(si.loss) && si.grad_norm > 0 && fabs(si.tau - 0.1) < 1e-6 &&
           fabs(si.lr - 0.1) < 1e-7,
       "default trainer: one step, finite loss %g, grad norm %g", rc == 0 ? si.loss : NAN,
       rc == 0 ? si.grad_norm : NAN);
    ok(t && cwb_trainer_data(t)->n == 2048 && cwb_trainer_data(t)->dim == 64,
       "default trainer built the default synthetic data set (N 2048, d 64)");
    cwb_trainer_free(t);
}

/* Losses of `steps` steps; 0 on success. */
static int run_losses(const cwb_trainer_cfg *c, int steps, double *loss) {
    cwb_trainer *t = cwb_trainer_new(c, NULL);
    if (!t) return -1;
    cwb_step_info si;
    for (int s = 0; s < steps; s++) {
        if (cwb_trainer_step(t, &si)) {
            cwb_trainer_free(t);
            return -1;
        }
        loss[s] = si.loss;
    }
    cwb_trainer_free(t);
    return 0;
}

static void test_determinism(void) {
    enum { S = 50 };
    double l1[S], l2[S], l3[S];
    cwb_trainer_cfg c = small_cfg(7);
    c.aug.flip = 0.2f;   /* every augmentation draws random numbers */
    int r1 = run_losses(&c, S, l1), r2 = run_losses(&c, S, l2);
    ok(r1 == 0 && r2 == 0 && memcmp(l1, l2, sizeof l1) == 0, "same seed: 50 losses bit-identical");
    c.seed = 8;
    int r3 = run_losses(&c, S, l3);
    ok(r3 == 0 && memcmp(l1, l3, sizeof l1) != 0, "different seed: losses differ");

    /* Stateful loss, two towers, noisy batches with importance weights. */
    c = small_cfg(11);
    c.shared_tower = 0;
    c.loss = cwb_loss_defaults(CWB_LOSS_DECOMPOSABLE);
    c.batch_noise = 0.5f;
    c.pair_noise = 0.1f;
    c.importance = 1;
    r1 = run_losses(&c, S, l1);
    r2 = run_losses(&c, S, l2);
    ok(r1 == 0 && r2 == 0 && memcmp(l1, l2, sizeof l1) == 0,
       "same seed, decomposable, two towers, skewed batches: bit-identical");
}

static double mean(const double *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return s / n;
}

static void test_learning(void) {
    const int S = quick ? 100 : 300;
    double *loss = malloc((size_t)S * sizeof *loss);
    cwb_trainer_cfg c = small_cfg(3);
    cwb_trainer *t = cwb_trainer_new(&c, NULL);
    ok(t != NULL, "small trainer builds (%s)", t ? "ok" : cwb_errmsg());
    if (!t) {
        free(loss);
        return;
    }
    cwb_eval_info e0, e0b, e1;
    int rc = cwb_trainer_eval(t, &e0);
    ok(rc == 0 && e0.top1 >= 0 && e0.top1 <= 1 && isfinite(e0.pop_loss) && e0.alignment >= 0 &&
           e0.collapse_std > 0 && isfinite(e0.uniformity) && e0.gap_paired >= 0 && e0.gap_centroid >= 0,
       "eval before training: top1 %.3f, pop loss %.3f, align %.3f, unif %.3f, std %.3f",
       e0.top1, e0.pop_loss, e0.alignment, e0.uniformity, e0.collapse_std);
    rc = cwb_trainer_eval(t, &e0b);
    ok(rc == 0 && memcmp(&e0, &e0b, sizeof e0) == 0, "eval is the same on every call");

    /* eval's population loss is at the trainer's scale */
    const float *a, *b;
    rc = cwb_trainer_embed(t, &a, &b);
    const int N = cwb_trainer_data(t)->n, k = c.enc.dims[2];
    double pl = NAN;
    if (rc == 0) cwb_population_loss(a, b, N, k, 1.0 / c.tau, 0, &pl, NULL, NULL);
    ok(rc == 0 && tap_close(pl, e0.pop_loss, 1e-5, 0), "eval pop loss = population loss at 1/tau (%.6f vs %.6f)", e0.pop_loss, pl);
    double maxdev = 0;
    for (int i = 0; rc == 0 && i < N; i++) {
        double s = 0;
        for (int j = 0; j < k; j++) s += (double)a[(size_t)i * k + j] * a[(size_t)i * k + j];
        if (fabs(sqrt(s) - 1) > maxdev) maxdev = fabs(sqrt(s) - 1);
    }
    ok(rc == 0 && maxdev < 1e-5, "embedded rows are unit vectors (max |norm-1| %.2g)", maxdev);

    cwb_step_info si;
    int fails = 0;
    for (int s = 0; s < S; s++) {
        if (cwb_trainer_step(t, &si)) fails++;
        loss[s] = si.loss;
    }
    ok(fails == 0 && si.step == S, "%d steps without error", S);
    rc = cwb_trainer_eval(t, &e1);
    double first = mean(loss, 20), last = mean(loss + S - 20, 20);
    diag("InfoNCE B=64: loss %.4f -> %.4f, top1 %.3f -> %.3f, pop loss %.3f -> %.3f, align %.3f -> %.3f",
         first, last, e0.top1, e1.top1, e0.pop_loss, e1.pop_loss, e0.alignment, e1.alignment);
    ok(last < first - 0.1, "training loss decreases (%.4f -> %.4f)", first, last);
    ok(rc == 0 && e1.top1 > e0.top1 + 0.1, "top1 improves (%.3f -> %.3f)", e0.top1, e1.top1);
    ok(rc == 0 && e1.pop_loss < e0.pop_loss, "population loss decreases (%.3f -> %.3f)", e0.pop_loss,
       e1.pop_loss);
    cwb_trainer_free(t);
    free(loss);
}

static void test_all_kinds(void) {
    for (int kind = 0; kind < CWB_LOSS_NKINDS; kind++)
        for (int shared = 0; shared <= 1; shared++) {
            cwb_trainer_cfg c = small_cfg(5);
            c.loss = cwb_loss_defaults((cwb_loss_kind)kind);
            c.shared_tower = shared;
            c.loss.symmetric = kind % 2;     /* exercise the CLIP form too */
            c.batch_noise = 0.3f;
            c.importance = kind >= 2;
            c.opt = cwb_optim_defaults(kind == 1 ? CWB_OPT_ADAMW : CWB_OPT_SGD);
            c.sched.kind = CWB_SCHED_COSINE;
            c.sched.warmup = 5;
            c.sched.total = 20;
            cwb_trainer *t = cwb_trainer_new(&c, NULL);
            int rc = t ? 0 : -1, finite = 1;
            cwb_step_info si = {0};
            double lr5 = 0;
            for (int s = 0; rc == 0 && s < 20; s++) {
                rc = cwb_trainer_step(t, &si);
                finite &= isfinite(si.loss) && isfinite(si.surrogate) && isfinite(si.grad_norm);
                if (s == 5) lr5 = si.lr;
            }
            ok(rc == 0 && finite && si.step == 20, "%s, %s: 20 steps (%s)", cwb_loss_name((cwb_loss_kind)kind),
               shared ? "shared tower" : "two towers", rc == 0 ? "ok" : cwb_errmsg());
            /* cosine schedule: peak after warm-up, decays towards the end */
            ok(rc == 0 && tap_close(lr5, c.opt.lr, 1e-6, 0) && si.lr < 0.1 * c.opt.lr,
               "%s, %s: schedule applied (lr at step 6 %g, at step 20 %g)",
               cwb_loss_name((cwb_loss_kind)kind), shared ? "shared" : "two towers", lr5, si.lr);
            if (t)
                ok(cwb_trainer_config(t)->loss.n_total ==
                       (kind == CWB_LOSS_SOGCLR || kind == CWB_LOSS_DECOMPOSABLE ? 512 : 0),
                   "%s: n_total %ld (N for stateful kinds, 0 otherwise)", cwb_loss_name((cwb_loss_kind)kind),
                   cwb_trainer_config(t)->loss.n_total);
            cwb_trainer_free(t);
        }
}

static void test_learn_tau(void) {
    cwb_trainer_cfg c = small_cfg(9);
    c.learn_tau = 1;
    c.tau = 0.1f;
    cwb_trainer *t = cwb_trainer_new(&c, NULL);
    cwb_step_info si = {0};
    int rc = t ? 0 : -1;
    for (int s = 0; rc == 0 && s < 50; s++) rc = cwb_trainer_step(t, &si);
    /* Early on the two views of a sample are each other's nearest neighbours,
     * so the loss falls as the scale grows: a correct gradient lowers tau. */
    ok(rc == 0 && si.tau < 0.1 - 1e-3, "learn_tau: tau moved down from 0.1 to %.4f", si.tau);
    cwb_eval_info e;
    const float *a, *b;
    double pl = NAN;
    if (rc == 0 && cwb_trainer_eval(t, &e) == 0 && cwb_trainer_embed(t, &a, &b) == 0)
        cwb_population_loss(a, b, 512, 16, 1.0 / si.tau, 0, &pl, NULL, NULL);
    ok(tap_close(pl, e.pop_loss, 1e-5, 0), "eval uses the learnt scale (%.5f vs %.5f)", e.pop_loss, pl);
    cwb_trainer_free(t);

    /* A fixed tau does not move. */
    c.learn_tau = 0;
    t = cwb_trainer_new(&c, NULL);
    rc = t ? 0 : -1;
    for (int s = 0; rc == 0 && s < 10; s++) rc = cwb_trainer_step(t, &si);
    ok(rc == 0 && fabs(si.tau - 0.1) < 1e-7, "fixed tau stays at 0.1 (%.7f)", si.tau);
    cwb_trainer_free(t);

    /* The clamp: start near 1/tau = 100 with a large lr on the scale; on easy
     * data the loss wants a larger scale, so the clamp must bind. */
    c.learn_tau = 1;
    c.tau = 0.0105f;
    c.opt.lr = 1.0f;
    c.opt.momentum = 0.0f;
    t = cwb_trainer_new(&c, NULL);
    rc = t ? 0 : -1;
    double min_tau = 1;
    int hits = 0;
    for (int s = 0; rc == 0 && s < 30; s++) {
        rc = cwb_trainer_step(t, &si);
        if (si.tau < min_tau) min_tau = si.tau;
        if (fabs(si.tau - 0.01) < 1e-6) hits++;
    }
    ok(rc == 0 && min_tau >= 0.01 * (1 - 1e-6), "learn_tau: tau never below 0.01 (min %.7f)", min_tau);
    ok(rc == 0 && hits > 0, "learn_tau: the clamp 1/tau <= 100 was reached (%d of 30 steps)", hits);
    cwb_trainer_free(t);
}

static void test_bad_configs(void) {
    cwb_trainer_cfg base = small_cfg(1);
#define CASE(desc, word, stmt)                                                                     \
    TU_REJECTS(cwb_trainer_cfg, base, cwb_trainer_new(c, NULL), cwb_trainer_free, desc, word, stmt)
    CASE("batch 1", "batch", c->batch = 1);
    CASE("batch > N", "batch", c->batch = 513);
    CASE("tau 0", "tau", c->tau = 0);
    CASE("tau NaN", "tau", c->tau = NAN);
    CASE("tau < 0.01 with learn_tau", "tau", (c->learn_tau = 1, c->tau = 0.001f));
    CASE("enc.dims[0] != data dim", "dims[0]", c->enc.dims[0] = 15);
    CASE("batch_noise 1.5", "batch_noise", c->batch_noise = 1.5f);
    CASE("pair_noise -0.1", "pair_noise", c->pair_noise = -0.1f);
    CASE("loss kind 99", "loss", c->loss.kind = (cwb_loss_kind)99);
    CASE("negative lr", "lr=", c->opt.lr = -1);
    CASE("momentum 1", "momentum", c->opt.momentum = 1);
    CASE("min_frac 2", "min_frac", c->sched.min_frac = 2);
    CASE("gamma 0 for the decomposable loss", "gamma",
         (c->loss = cwb_loss_defaults(CWB_LOSS_DECOMPOSABLE), c->loss.gamma = 0));
    CASE("mask 2", "mask", c->aug.mask = 2);
    CASE("jitter inf (it failed at step 1)", "jitter", c->aug.jitter = INFINITY);
    CASE("scale inf", "scale", c->aug.scale = INFINITY);
    CASE("eval_chunk -1", "eval_chunk", c->eval_chunk = -1);
    CASE("0 encoder layers", "layers", c->enc.n_layers = 0);
    CASE("cosine without a length", "cosine", (c->sched.kind = CWB_SCHED_COSINE, c->sched.total = 0));
    CASE("stateful n_total < N", "n_total",
         (c->loss = cwb_loss_defaults(CWB_LOSS_SOGCLR), c->loss.n_total = 100));
#undef CASE
    cwb_clear_error();
    ok(cwb_trainer_new(NULL, NULL) == NULL && cwb_errmsg()[0], "NULL config rejected (\"%s\")", cwb_errmsg());
}

static void test_nonfinite(void) {
    /* NaN in one sample: steps succeed until a batch contains it, then the
     * step fails naming its number and leaves the parameters as they were. */
    cwb_trainer_cfg c = small_cfg(4);
    c.data.n = 128;
    c.batch = 16;
    cwb_dataset *d = cwb_synth_new(&c.data, 4);
    const int bad = 5, N = d->n, k = c.enc.dims[2];
    d->x->data[(size_t)bad * d->dim + 3] = NAN;
    cwb_trainer *t = cwb_trainer_new(&c, d);
    ok(t != NULL, "trainer on data with a NaN builds");
    float *before = malloc((size_t)N * k * sizeof *before);
    const float *a, *b;
    cwb_step_info si;
    int rc = 0, done = 0;
    for (int s = 0; t && s < 200; s++) {
        if (cwb_trainer_embed(t, &a, &b)) break;
        memcpy(before, a, (size_t)N * k * sizeof *before);
        rc = cwb_trainer_step(t, &si);
        if (rc) break;
        done = s + 1;
    }
    char want[32];
    snprintf(want, sizeof want, "step %d:", done + 1);
    const char *msg = cwb_errmsg();
    ok(rc == CWB_ENAN && contains(msg, want) && contains(msg, "not finite"),
       "NaN in the data: CWB_ENAN at step %d (\"%s\")", done + 1, msg);
    int same = t && cwb_trainer_embed(t, &a, &b) == 0;
    for (int i = 0; same && i < N; i++)
        if (i != bad && memcmp(a + (size_t)i * k, before + (size_t)i * k, (size_t)k * sizeof *a)) same = 0;
    ok(same, "parameters untouched by the failing step (clean rows embed bit-identically)");
    cwb_trainer_free(t);
    cwb_dataset_free(d);
    free(before);

    /* An absurd learning rate blows the weights up; the run stops cleanly. */
    c = small_cfg(4);
    c.opt.lr = 1e30f;
    c.opt.momentum = 0.0f;
    t = cwb_trainer_new(&c, NULL);
    rc = t ? 0 : -1;
    int s = 0;
    for (; rc == 0 && s < 50; s++) rc = cwb_trainer_step(t, &si);
    msg = cwb_errmsg();
    snprintf(want, sizeof want, "step %d:", s);
    ok(rc == CWB_ENAN && contains(msg, want) && contains(msg, "not finite"),
       "lr 1e30: CWB_ENAN at step %d (\"%s\")", s, msg);
    cwb_trainer_free(t);
}

/* Steps through the trainer interface (driver.h), recording the losses and
 * the last evaluation. */
static int drive(cwb_trainer *t, int steps, double *loss, cwb_metrics *ev) {
    cwb_metrics m;
    for (int s = 0; s < steps; s++) {
        int rc = cwb_trainer_ops.step(t, &m);
        if (rc) return rc;
        const double *l = cwb_metrics_get(&m, "loss");
        loss[s] = l ? *l : NAN;
    }
    return cwb_trainer_ops.evaluate(t, ev);
}

static void test_reset(void) {
    /* Every piece of state a run changes: parameters and momentum, the
     * decomposable loss's running estimates and E-step stream, the learnable
     * temperature and its optimiser, the sampler (skewed batches), the
     * augmentation stream. */
    enum { S = 30 };
    double l1[S], l2[S], l3[S];
    cwb_metrics e1, e2, e3;
    cwb_trainer_cfg c = small_cfg(12);
    c.loss = cwb_loss_defaults(CWB_LOSS_DECOMPOSABLE);
    c.learn_tau = 1;
    c.batch_noise = 0.3f;
    c.aug.flip = 0.2f;
    cwb_trainer *t = cwb_trainer_new(&c, NULL);
    const cwb_dataset *data = t ? cwb_trainer_data(t) : NULL;
    int rc = t ? drive(t, S, l1, &e1) : -1;
    ok(rc == CWB_OK && cwb_trainer_ops.steps(t) == S, "%d steps through the interface (%s)", S, rc ? cwb_errmsg() : "ok");
    rc = cwb_trainer_reset(t);
    ok(rc == CWB_OK && cwb_trainer_ops.steps(t) == 0 && cwb_trainer_data(t) == data,
       "reset: step 0 again, on the same data set (not regenerated)");
    rc = drive(t, S, l2, &e2);
    ok(rc == CWB_OK && memcmp(l1, l2, sizeof l1) == 0, "after reset: the same %d losses, bit for bit", S);
    ok(cwb_metrics_same(&e1, &e2) && e1.n == 7, "and the same evaluation (%d metrics)", e1.n);
    cwb_trainer *fresh = cwb_trainer_new(&c, NULL);
    rc = fresh ? drive(fresh, S, l3, &e3) : -1;
    ok(rc == CWB_OK && memcmp(l1, l3, sizeof l1) == 0 && cwb_metrics_same(&e1, &e3),
       "the same as a trainer just built with that config");
    cwb_trainer_free(fresh);
    cwb_trainer_free(t);
    ok(cwb_trainer_reset(NULL) == CWB_EINVAL, "reset(NULL) is refused");
}

static void test_describe(void) {
    cwb_trainer_cfg c = small_cfg(2);
    c.tau = 0.2f;
    c.aug.jitter = 0.3f;
    c.opt = cwb_optim_defaults(CWB_OPT_ADAMW);
    cwb_trainer *t = cwb_trainer_new(&c, NULL);
    cwb_json j;
    cwb_json_init(&j);
    int rc = t ? cwb_trainer_ops.describe(t, &j) : -1;
    const char *s = cwb_json_text(&j);
    ok(rc == CWB_OK && s && s[0] == '{' && s[strlen(s) - 1] == '}', "describe: one JSON object");
    ok(s && contains(s, "\"tau\":0.2,") && contains(s, "\"jitter\":0.3,") && contains(s, "\"lr\":0.001,"),
       "floats are recorded as given (tau 0.2, jitter 0.3, lr 0.001), not 0.200000003: %s", s ? s : "");
    ok(s && contains(s, "\"data\":{\"n\":512,") && contains(s, "\"beta2\":0.999") &&
           contains(s, "\"loss\":{\"kind\":\"infonce\""),
       "it has the data, the optimiser and the loss");
    cwb_json_free(&j);
    cwb_dataset *d = cwb_synth_new(&c.data, 2);
    cwb_trainer *tb = cwb_trainer_new(&c, d);
    cwb_json_init(&j);
    rc = tb ? cwb_trainer_ops.describe(tb, &j) : -1;
    ok(rc == CWB_OK && contains(cwb_json_text(&j), "\"data\":\"dataset object\""), "borrowed data: \"dataset object\"");
    cwb_json_free(&j);
    ok(cwb_trainer_ops.seed(tb) == 2 && strcmp(cwb_trainer_ops.kind, "trainer") == 0 &&
           strcmp(cwb_trainer_ops.headline, "loss") == 0 && cwb_trainer_ops.tick_every == 1 && cwb_trainer_ops.set &&
           cwb_trainer_ops.knobs,
       "seed, kind, headline, tick hint, live knobs");
    const float *a, *b;
    int n = 0, k = 0;
    ok(cwb_trainer_ops.embed(tb, &a, &b, &n, &k) == CWB_OK && n == 512 && k == 16 && a && b,
       "embed: N x k views for the geometry pane");
    cwb_trainer_free(tb);
    cwb_dataset_free(d);
    cwb_trainer_free(t);
}

/* Live knobs (trainer.h): a change takes effect at the next step and only
 * from there; batch_max alone changes nothing; reset undoes the knobs. */
static void test_knobs(void) {
    cwb_trainer_cfg c = small_cfg(3);
    c.batch = 32;
    cwb_trainer *a = cwb_trainer_new(&c, NULL);
    c.batch_max = 64;
    cwb_trainer *b = cwb_trainer_new(&c, NULL);
    ok(a && b, "trainers with and without batch_max build");
    if (!a || !b) return;
    cwb_step_info sa, sb;
    int same = 1;
    for (int i = 0; i < 10; i++) {
        cwb_trainer_step(a, &sa);
        cwb_trainer_step(b, &sb);
        same &= sa.loss == sb.loss && sa.grad_norm == sb.grad_norm;
    }
    ok(same, "buffers sized for batch_max = 64 give the same steps as batch 32 alone");
    cwb_knob k[CWB_KNOBS_MAX];
    int n = cwb_trainer_knobs(b, k, CWB_KNOBS_MAX);
    const cwb_knob *kb = cwb_knob_find(k, n, "batch"), *kt = cwb_knob_find(k, n, "tau");
    ok(n == 4 && kb && kb->value == 32 && kb->max == 64 && kb->integer && kt && fabs(kt->value - 0.2) < 1e-6 &&
           cwb_knob_find(k, n, "lr") && cwb_knob_find(k, n, "noise") && !cwb_knob_find(k, n, "alpha"),
       "an InfoNCE trainer lists tau, lr, batch (up to batch_max) and noise (%d knobs)", n);

    ok(cwb_trainer_set(b, "tau", 0.5) == CWB_OK, "tau set to 0.5 between steps 10 and 11");
    cwb_trainer_step(a, &sa);
    cwb_trainer_step(b, &sb);
    ok(fabs(sb.tau - 0.5) < 1e-6 && fabs(sa.tau - 0.2) < 1e-6 && sa.loss != sb.loss,
       "step 11 trains at tau 0.5 (loss %.4f, %.4f at 0.2)", sb.loss, sa.loss);
    cwb_json j;
    cwb_json_init(&j);
    cwb_trainer_describe(b, &j);
    ok(contains(cwb_json_text(&j), "\"tau\":0.5,") && contains(cwb_json_text(&j), "\"batch_max\":64"),
       "describe writes the knob as it is now: %.60s", cwb_json_text(&j));
    cwb_json_free(&j);

    ok(cwb_trainer_set(b, "batch", 64) == CWB_OK && cwb_trainer_step(b, &sb) == CWB_OK &&
           cwb_trainer_set(b, "batch", 8) == CWB_OK && cwb_trainer_step(b, &sb) == CWB_OK && isfinite(sb.loss),
       "the batch size goes up to batch_max and down to 8 between steps");
    ok(cwb_trainer_set(b, "batch", 65) == CWB_EINVAL && contains(cwb_errmsg(), "knob 'batch' = 65 outside [2, 64]"),
       "and no further (%s)", cwb_errmsg());
    ok(cwb_trainer_set(a, "batch", 33) == CWB_EINVAL, "without batch_max the batch can only go down");
    ok(cwb_trainer_set(b, "alpha", 5) == CWB_EINVAL && contains(cwb_errmsg(), "infonce loss has no knob 'alpha'"),
       "alpha is refused on InfoNCE (%s)", cwb_errmsg());
    ok(cwb_trainer_set(b, "noise", 0.5) == CWB_OK && cwb_trainer_step(b, &sb) == CWB_OK &&
           cwb_trainer_set(b, "noise", -1) == CWB_EINVAL,
       "the loss's noise turns on live; a negative one is refused");
    ok(cwb_trainer_set(b, "lr", 0.01) == CWB_OK && cwb_trainer_step(b, &sb) == CWB_OK && fabs(sb.lr - 0.01) < 1e-9,
       "lr 0.01 is the next step's learning rate (%g)", sb.lr);
    ok(cwb_trainer_set(b, "tau", 0) == CWB_EINVAL && cwb_trainer_set(b, "tau", NAN) == CWB_EINVAL &&
           cwb_trainer_set(b, "momentum", 0.5) == CWB_EINVAL,
       "tau 0, NaN and a knob that does not exist are refused");

    cwb_trainer_reset(b);
    n = cwb_trainer_knobs(b, k, CWB_KNOBS_MAX);
    kt = cwb_knob_find(k, n, "tau");
    kb = cwb_knob_find(k, n, "batch");
    ok(kt && fabs(kt->value - 0.2) < 1e-6 && kb && kb->value == 32 && fabs(cwb_knob_find(k, n, "lr")->value - 0.1) < 1e-7 &&
           cwb_knob_find(k, n, "noise")->value == 0,
       "reset returns every knob to its constructed value");
    cwb_trainer_free(a);
    cwb_trainer_free(b);

    c = small_cfg(3);
    c.loss = cwb_loss_defaults(CWB_LOSS_DECOMPOSABLE);
    cwb_trainer *d = cwb_trainer_new(&c, NULL);
    n = d ? cwb_trainer_knobs(d, k, CWB_KNOBS_MAX) : 0;
    ok(cwb_knob_find(k, n, "alpha") && cwb_knob_find(k, n, "gamma") && cwb_trainer_set(d, "gamma", 0.5) == CWB_OK &&
           cwb_trainer_set(d, "gamma", 2) == CWB_EINVAL && cwb_trainer_set(d, "alpha", 1) == CWB_OK,
       "the decomposable loss adds alpha and gamma, in range");
    cwb_trainer_free(d);
    c = small_cfg(3);
    c.batch_max = 16;
    ok(cwb_trainer_new(&c, NULL) == NULL && contains(cwb_errmsg(), "batch_max = 16, must be >= batch = 64"),
       "batch_max below batch is refused (%s)", cwb_errmsg());
    c.batch_max = 1024;
    ok(cwb_trainer_new(&c, NULL) == NULL && contains(cwb_errmsg(), "batch_max = 1024 exceeds the data set size"),
       "batch_max above N is refused (%s)", cwb_errmsg());
}

int main(void) {
    quick = getenv("CWB_TEST_QUICK") != NULL;
    test_defaults();
    test_determinism();
    test_learning();
    test_all_kinds();
    test_learn_tau();
    test_bad_configs();
    test_nonfinite();
    test_reset();
    test_describe();
    test_knobs();
    return done_testing();
}
