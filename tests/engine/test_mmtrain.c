/*
 * test_mmtrain.c - the two-tower trainer, the unimodal baseline and the
 * evaluation (mmtrain.h): a tiny run learns (zero-shot above chance and
 * better than before training), every regulariser and option trains without
 * error, runs are reproducible, and bad configurations are rejected.
 */
#include "engine/core/error.h"
#include "engine/train/mmtrain.h"
#include "../tap.h"
#include "testutil.h"

#include <math.h>
#include <string.h>

/* A small problem that trains in well under a second. */
static cwb_mm_train_cfg small_cfg(void) {
    cwb_mm_train_cfg c = cwb_mm_train_defaults();
    c.data.n_train = 400;
    c.data.n_test = 200;
    c.data.classes = 5;
    c.batch = 32;
    c.hidden = 32;
    c.dim = 16;
    c.fewshot_episodes = 3;
    c.probe_steps = 100;
    c.eval_fusion_steps = 0;
    return c;
}

static int train(cwb_mm_trainer *t, int steps, cwb_mm_step_info *last) {
    for (int s = 0; s < steps; s++) {
        int rc = cwb_mm_trainer_step(t, last);
        if (rc) return rc;
    }
    return CWB_OK;
}

static void test_learns(void) {
    cwb_mm_train_cfg c = small_cfg();
    cwb_mm_trainer *t = cwb_mm_trainer_new(&c, NULL);
    ok(t != NULL, "two-tower trainer builds (%s)", t ? "" : cwb_errmsg());
    if (!t) return;
    cwb_mm_eval_info e0, e1;
    int rc = cwb_mm_trainer_eval(t, 0, &e0);
    ok(rc == CWB_OK, "evaluation before training (%s)", rc ? cwb_errmsg() : "");
    cwb_mm_step_info si, first;
    rc = cwb_mm_trainer_step(t, &first);
    ok(rc == CWB_OK && first.step == 1 && isfinite(first.loss) && first.loss == first.con && first.sep == 0,
       "one step: loss %.4f = the contrastive term (no regularisers)", first.loss);
    rc = train(t, 149, &si);
    ok(rc == CWB_OK && si.step == 150, "150 steps run (%s)", rc ? cwb_errmsg() : "");
    ok(si.loss < first.loss - 0.5, "the contrastive loss falls: %.3f -> %.3f", first.loss, si.loss);
    rc = cwb_mm_trainer_eval(t, 1, &e1);
    ok(rc == CWB_OK, "evaluation after training (%s)", rc ? cwb_errmsg() : "");
    const double chance = 1.0 / c.data.classes;
    diag("zero-shot %.3f -> %.3f, 5-shot %.3f -> %.3f, probe %.3f, R@1 %.3f/%.3f, gaps %.3f/%.3f",
         e0.zero_shot, e1.zero_shot, e0.fewshot[1], e1.fewshot[1], e1.linear_probe, e1.r_v2t[0], e1.r_t2v[0],
         e1.gap_centroid, e1.gap_paired);
    ok(e1.zero_shot > chance + 0.3, "zero-shot accuracy %.3f is well above chance %.2f", e1.zero_shot, chance);
    ok(e1.zero_shot > e0.zero_shot + 0.2, "and above the untrained model's %.3f", e0.zero_shot);
    ok(e1.r_v2t[0] > e0.r_v2t[0] && e1.r_v2t[0] > 10.0 / c.data.n_test, "retrieval R@1 V->T improves: %.3f -> %.3f",
       e0.r_v2t[0], e1.r_v2t[0]);
    ok(e1.r_v2t[0] <= e1.r_v2t[1] && e1.r_v2t[1] <= e1.r_v2t[2] && e1.r_t2v[0] <= e1.r_t2v[2],
       "R@1 <= R@5 <= R@10");
    ok(e1.fewshot[0] <= e1.fewshot[2] + 0.05 && e1.fewshot[2] > chance + 0.2, "few-shot: 1-shot %.3f, 10-shot %.3f",
       e1.fewshot[0], e1.fewshot[2]);
    ok(!isnan(e1.fewshot_lr[1]) && isnan(e0.fewshot_lr[1]), "logistic few-shot only when asked");
    ok(e1.alignment < e0.alignment, "alignment (mean squared paired distance) falls: %.3f -> %.3f", e0.alignment,
       e1.alignment);
    ok(e1.feat_dim == c.dim && isnan(e1.head_acc) && isnan(e1.fusion_acc), "no heads: features are z (%d)", e1.feat_dim);

    const float *zv, *zt, *ziv, *caps;
    rc = cwb_mm_trainer_embed(t, &zv, &zt, &ziv, NULL, &caps);
    double n2 = 0;
    for (int q = 0; q < c.dim; q++) n2 += (double)zv[q] * zv[q];
    ok(rc == CWB_OK && zv && zt && caps && !ziv && fabs(n2 - 1) < 1e-5, "embed: unit rows, captions, no z^i");
    cwb_mm_trainer_free(t);
}

static void test_unimodal(void) {
    cwb_mm_train_cfg c = small_cfg();
    c.mode = CWB_MM_UNIMODAL;
    cwb_mm_trainer *t = cwb_mm_trainer_new(&c, NULL);
    ok(t != NULL, "unimodal trainer builds (%s)", t ? "" : cwb_errmsg());
    if (!t) return;
    cwb_mm_step_info si;
    int rc = train(t, 120, &si);
    cwb_mm_eval_info e;
    if (!rc) rc = cwb_mm_trainer_eval(t, 0, &e);
    ok(rc == CWB_OK, "unimodal trains and evaluates (%s)", rc ? cwb_errmsg() : "");
    if (rc) return;
    const double bayes = cwb_mm_trainer_data(t)->bayes_v;
    diag("unimodal: head %.3f, probe %.3f, 5-shot %.3f (Bayes V %.3f)", e.head_acc, e.linear_probe, e.fewshot[1], bayes);
    ok(e.head_acc > 0.5 && e.head_acc <= bayes + 0.05, "its classifier learns: %.3f (chance 0.2, Bayes %.3f)",
       e.head_acc, bayes);
    ok(isnan(e.zero_shot) && isnan(e.r_v2t[0]) && isnan(e.gap_centroid), "no zero-shot, retrieval or gap without T");
    ok(isfinite(si.ce) && si.con == 0, "step info: cross-entropy %.3f", si.ce);
    const float *zv, *zt;
    rc = cwb_mm_trainer_embed(t, &zv, &zt, NULL, NULL, NULL);
    ok(rc == CWB_OK && zv && !zt, "embed: V only");
    cwb_mm_trainer_free(t);
}

/* Every option trains a few steps with finite terms. */
static void test_options(void) {
    struct { const char *name; float sep, br, gc, itm; int four, learn, sample_t; cwb_loss_kind kind; } v[] = {
        {"separation", 1, 0, 0, 0, 0, 0, 0, CWB_LOSS_INFONCE},
        {"bridge t = 0.25", 0, 1, 0, 0, 0, 0, 0, CWB_LOSS_INFONCE},
        {"bridge sampled t", 0, 1, 0, 0, 0, 0, 1, CWB_LOSS_INFONCE},
        {"geometric", 0, 0, 0.01f, 0, 0, 0, 0, CWB_LOSS_INFONCE},
        {"ITM", 0, 0, 0, 1, 0, 0, 0, CWB_LOSS_INFONCE},
        {"all + four-term + learnable tau", 1, 1, 0.01f, 1, 1, 1, 0, CWB_LOSS_INFONCE},
        {"decomposable loss, four-term", 0, 0, 0, 0, 1, 0, 0, CWB_LOSS_DECOMPOSABLE},
        {"DCL", 0, 0, 0, 0, 0, 0, 0, CWB_LOSS_DCL},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cwb_mm_train_cfg c = small_cfg();
        c.w_sep = v[i].sep;
        c.w_bridge = v[i].br;
        c.w_gc = v[i].gc;
        c.w_itm = v[i].itm;
        c.four_term = v[i].four;
        c.learn_tau = v[i].learn;
        c.bridge_sample_t = v[i].sample_t;
        c.loss = cwb_loss_defaults(v[i].kind);
        c.eval_fusion_steps = v[i].sep > 0 ? 20 : 0;
        cwb_mm_trainer *t = cwb_mm_trainer_new(&c, NULL);
        cwb_mm_step_info si;
        int rc = t ? train(t, 10, &si) : -1;
        cwb_mm_eval_info e;
        if (!rc) rc = cwb_mm_trainer_eval(t, 0, &e);
        int fine = rc == CWB_OK && isfinite(si.loss) && (v[i].sep == 0 || si.sep != 0) &&
                   (v[i].br == 0 || si.bridge > 0) && (v[i].gc == 0 || si.gc > 0) && (v[i].itm == 0 || si.itm > 0);
        double want = si.con + c.w_sep * si.sep + c.w_bridge * si.bridge + c.w_gc * si.gc + c.w_itm * si.itm;
        ok(fine && fabs(si.loss - want) < 1e-9 * (1 + fabs(want)),
           "%s: 10 steps, loss %.4f = con %.4f + weighted terms (sep %.3f br %.3f gc %.3f itm %.3f)%s%s", v[i].name,
           si.loss, si.con, si.sep, si.bridge, si.gc, si.itm, rc ? ": " : "", rc ? cwb_errmsg() : "");
        if (!rc && v[i].sep > 0)
            ok(e.feat_dim == 2 * c.dim && e.fusion_acc >= 0 && e.fusion_acc <= 1,
               "separation: probes use [z, z^i] (%d wide); fusion task %.3f", e.feat_dim, e.fusion_acc);
        if (!rc && v[i].learn) ok(si.tau != c.tau, "learnable temperature moves: %.4f", si.tau);
        cwb_mm_trainer_free(t);
    }
}

static void test_reproducible(void) {
    cwb_mm_train_cfg c = small_cfg();
    c.w_bridge = 1;
    c.bridge_sample_t = 1;
    cwb_mm_step_info a, b;
    cwb_mm_trainer *t1 = cwb_mm_trainer_new(&c, NULL), *t2 = cwb_mm_trainer_new(&c, NULL);
    int rc = train(t1, 15, &a) | train(t2, 15, &b);
    ok(rc == CWB_OK && a.loss == b.loss && a.grad_norm == b.grad_norm, "same seed, same run (loss %.6f)", a.loss);
    cwb_mm_trainer_free(t2);
    c.seed = 2;
    t2 = cwb_mm_trainer_new(&c, NULL);
    rc = train(t2, 15, &b);
    ok(rc == CWB_OK && a.loss != b.loss, "another seed, another run");
    cwb_mm_trainer_free(t1);
    cwb_mm_trainer_free(t2);
}

/* A training split too small for 10 shots of every class: NaN, not an error. */
static void test_small_split(void) {
    cwb_mm_train_cfg c = small_cfg();
    c.data.n_train = 30;
    c.data.n_test = 20;
    c.batch = 8;
    cwb_mm_trainer *t = cwb_mm_trainer_new(&c, NULL);
    cwb_mm_eval_info e;
    int rc = t ? cwb_mm_trainer_eval(t, 0, &e) : -1;
    ok(rc == CWB_OK && !isnan(e.fewshot[0]) && isnan(e.fewshot[2]),
       "30 training rows, 5 classes: 1-shot %.3f, 10-shot NaN (%s)", rc ? NAN : e.fewshot[0], rc ? cwb_errmsg() : "");
    cwb_mm_trainer_free(t);
}

static void test_bad(void) {
    const cwb_mm_train_cfg base = small_cfg();
#define CASE(desc, word, stmt) \
    TU_REJECTS(cwb_mm_train_cfg, base, cwb_mm_trainer_new(c, NULL), cwb_mm_trainer_free, desc, word, stmt)
    CASE("batch > n_train", "n_train", c->batch = c->data.n_train + 1);
    CASE("w_sep < 0", "w_sep", c->w_sep = -1);
    CASE("bridge_t = 2", "bridge_t", c->bridge_t = 2);
    CASE("tau = NaN", "tau", c->tau = NAN);
    CASE("learnable 1/tau > 100", "1/tau", (c->tau = 0.005f, c->learn_tau = 1));
    CASE("batch = 1", "batch", c->batch = 1);
    CASE("T mask = 1.5", "T augmentation", c->aug_t.mask = 1.5f);
    CASE("gap = -0.5: the generator's error is passed on", "gap", c->data.gap = -0.5f);
    CASE("an unknown mode", "mode", c->mode = (cwb_mm_mode)5);
    CASE("a cosine schedule that ends with its warm-up, as cwb_trainer_new does", "cosine",
         (c->sched.kind = CWB_SCHED_COSINE, c->sched.warmup = 10, c->sched.total = 10));
    CASE("min_frac = 2", "min_frac", c->sched.min_frac = 2);
    CASE("0 few-shot episodes", "fewshot_episodes", c->fewshot_episodes = 0);
#undef CASE
    ok(cwb_mm_trainer_step(NULL, NULL) == CWB_EINVAL && tu_msg_has("NULL"), "step rejects NULL (%s)", cwb_errmsg());
    cwb_mm_eval_info e;
    ok(cwb_mm_trainer_eval(NULL, 0, &e) == CWB_EINVAL, "eval rejects NULL");
}

static int drive(cwb_mm_trainer *t, int steps, double *loss, cwb_metrics *ev) {
    const cwb_train_ops *ops = cwb_mm_trainer_ops(t);
    cwb_metrics m;
    for (int s = 0; s < steps; s++) {
        int rc = ops->step(t, &m);
        if (rc) return rc;
        loss[s] = m.m[0].value;
    }
    return ops->evaluate(t, ev);
}

static void test_interface(void) {
    /* reset with every stream in play: regularisers, sampled bridge times,
     * ITM hard negatives, the four-term loss with running estimates, a
     * learnable temperature */
    enum { S = 12 };
    double l1[S], l2[S];
    cwb_metrics e1, e2, m;
    cwb_mm_train_cfg c = small_cfg();
    c.w_sep = 0.5f;
    c.w_bridge = 0.5f;
    c.bridge_sample_t = 1;
    c.w_itm = 0.2f;
    c.four_term = 1;
    c.learn_tau = 1;
    c.loss = cwb_loss_defaults(CWB_LOSS_DECOMPOSABLE);
    c.loss.estep_first = 1;
    cwb_mm_trainer *t = cwb_mm_trainer_new(&c, NULL);
    const cwb_train_ops *ops = cwb_mm_trainer_ops(t);
    int rc = t ? drive(t, S, l1, &e1) : -1;
    ok(rc == CWB_OK && ops->steps(t) == S && ops->embed, "two-tower: %d steps through the interface (%s)", S,
       rc ? cwb_errmsg() : "ok");
    ok(cwb_mm_trainer_reset(t) == CWB_OK && ops->steps(t) == 0, "reset: step 0 again");
    rc = drive(t, S, l2, &e2);
    ok(rc == CWB_OK && memcmp(l1, l2, sizeof l1) == 0 && cwb_metrics_same(&e1, &e2),
       "after reset: the same losses and evaluation, bit for bit");
    ok(ops->step(t, &m) == CWB_OK && strcmp(m.m[0].name, "loss") == 0 && cwb_metrics_get(&m, "sep") &&
           cwb_metrics_get(&m, "bridge") && cwb_metrics_get(&m, "itm") && !cwb_metrics_get(&m, "gc") &&
           !cwb_metrics_get(&m, "train_acc") && cwb_metrics_get(&m, "grad_norm"),
       "step metrics: loss first, the regularisers that are on, no gc (off) or train_acc (unimodal)");
    ok(cwb_metrics_get(&e1, "zero_shot") && cwb_metrics_get(&e1, "r1_v2t") && !cwb_metrics_get(&e1, "head_acc") &&
           !cwb_metrics_get(&e1, "fewshot_lr5") && !cwb_metrics_get(&e1, "fusion_acc"),
       "two-tower evaluation: no head_acc, logistic few-shot or skipped fusion task (absent, not NaN)");
    cwb_json j;
    cwb_json_init(&j);
    rc = ops->describe(t, &j);
    const char *s = cwb_json_text(&j);
    ok(rc == CWB_OK && s && strstr(s, "\"w_sep\":0.5,") && strstr(s, "\"w_itm\":0.2,") &&
           strstr(s, "\"symmetric\":true") && strstr(s, "\"n_total\":400") && strstr(s, "\"lr\":0.002,"),
       "describe: weights as given, the loss as used (symmetric, n_total = n_train): %s", s ? s : "");
    cwb_json_free(&j);
    cwb_mm_trainer_free(t);

    c = small_cfg();
    c.mode = CWB_MM_UNIMODAL;
    c.lr_fewshot = 1;
    t = cwb_mm_trainer_new(&c, NULL);
    ops = cwb_mm_trainer_ops(t);
    rc = t ? drive(t, 3, l1, &e1) : -1;
    ok(rc == CWB_OK && !ops->embed && ops->step(t, &m) == CWB_OK && cwb_metrics_get(&m, "train_acc") &&
           !cwb_metrics_get(&m, "con"),
       "unimodal: train_acc among the step metrics, no con; nothing to embed");
    ok(!cwb_metrics_get(&e1, "zero_shot") && !cwb_metrics_get(&e1, "r1_v2t") && cwb_metrics_get(&e1, "head_acc") &&
           cwb_metrics_get(&e1, "fewshot_lr1") && cwb_metrics_get(&e1, "linear_probe"),
       "unimodal evaluation: no zero-shot or retrieval; head_acc; lr_fewshot = 1 adds the logistic probes");
    int nan = 0;
    for (int i = 0; i < e1.n; i++) nan += isnan(e1.m[i].value);
    ok(nan == 0, "no NaN in an evaluation list (%d metrics)", e1.n);
    cwb_mm_trainer_free(t);
    ok(cwb_mm_trainer_reset(NULL) == CWB_EINVAL, "reset(NULL) is refused");
}

/* Live knobs (mmtrain.h): tau and the weights change the next step only;
 * a weight whose parameters were never built is not a knob. */
static void test_knobs(void) {
    cwb_mm_train_cfg c = small_cfg();
    cwb_mm_trainer *a = cwb_mm_trainer_new(&c, NULL), *b = cwb_mm_trainer_new(&c, NULL);
    const cwb_train_ops *ops = cwb_mm_trainer_ops(b);
    cwb_knob k[CWB_KNOBS_MAX];
    int n = a ? cwb_mm_trainer_knobs(a, k, CWB_KNOBS_MAX) : 0;
    ok(cwb_knob_find(k, n, "tau") && cwb_knob_find(k, n, "lr") && cwb_knob_find(k, n, "w_bridge") &&
           cwb_knob_find(k, n, "w_gc") && !cwb_knob_find(k, n, "w_sep") && !cwb_knob_find(k, n, "w_itm") &&
           !cwb_knob_find(k, n, "batch") && cwb_knob_find(k, n, "noise"),
       "two-tower knobs: tau, lr, w_bridge, w_gc, noise; no w_sep or w_itm when off at construction, no batch");
    cwb_mm_step_info sa, sb;
    int rc = train(a, 5, &sa) | train(b, 5, &sb);
    ok(rc == CWB_OK && ops->set(b, "w_gc", 0.5) == CWB_OK && ops->set(b, "tau", 0.3) == CWB_OK,
       "w_gc and tau turned at step 5");
    cwb_metrics m;
    rc = train(a, 1, &sa) | ops->step(b, &m);
    ok(rc == CWB_OK && cwb_metrics_get(&m, "gc") && fabs(*cwb_metrics_get(&m, "tau") - 0.3) < 1e-6 &&
           *cwb_metrics_get(&m, "loss") != sa.loss,
       "step 6 has the gc term and tau 0.3 (loss %.4f, %.4f unchanged)", *cwb_metrics_get(&m, "loss"), sa.loss);
    ok(ops->set(b, "w_sep", 1) == CWB_EINVAL && tu_msg_has("no live knob 'w_sep'"),
       "w_sep cannot be turned on live (%s)", cwb_errmsg());
    ok(cwb_mm_trainer_reset(b) == CWB_OK && (n = cwb_mm_trainer_knobs(b, k, CWB_KNOBS_MAX)) &&
           cwb_knob_find(k, n, "w_gc")->value == 0 && fabs(cwb_knob_find(k, n, "tau")->value - 0.1) < 1e-6,
       "reset: w_gc 0 and tau 0.1 again");
    cwb_mm_trainer_free(a);
    cwb_mm_trainer_free(b);
    c.w_sep = 0.5f;
    c.mode = CWB_MM_UNIMODAL;
    a = cwb_mm_trainer_new(&c, NULL);
    n = a ? cwb_mm_trainer_knobs(a, k, CWB_KNOBS_MAX) : 0;
    ok(n == 2 && cwb_knob_find(k, n, "tau") && cwb_knob_find(k, n, "lr"), "unimodal: tau and lr only");
    cwb_mm_trainer_free(a);
}

int main(void) {
    test_knobs();
    test_learns();
    test_unimodal();
    test_options();
    test_reproducible();
    test_small_split();
    test_bad();
    test_interface();
    return done_testing();
}
