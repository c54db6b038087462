/* test_trainer_images.c - the trainer on a data set of images (trainer.h):
 * the projection head's gradient, image augmentations in the step, the
 * epoch order, the probes on a test split as evaluation metrics, reset, the
 * pane's labels and class names, and bad configurations refused with one
 * message.  The images are small (8 x 8) and made here, so the test needs
 * no data set installed. */
#include "engine/core/error.h"
#include "engine/core/tensor.h"
#include "engine/eval/knn.h"
#include "../tap.h"
#include "engine/train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 8
#define PIX (SIDE * SIDE)
#define CLASSES 4

static const char *const names[CLASSES] = {"bar", "column", "corner", "centre"};

/* n images of CLASSES kinds: a bright horizontal bar, a vertical bar, a top
 * left block or a centre block, at a random offset of up to one pixel, on
 * a dim noisy background; labels i % CLASSES.  seed picks the noise. */
static cwb_dataset *make_images(int n, uint64_t seed) {
    cwb_dataset *d = calloc(1, sizeof *d);
    d->x = cwb_tensor_new(n, PIX);
    d->labels = malloc((size_t)n * sizeof *d->labels);
    d->n = n;
    d->dim = PIX;
    d->clusters = CLASSES;
    d->height = d->width = SIDE;
    d->class_names = names;
    cwb_rng r;
    cwb_rng_seed(&r, seed, CWB_STREAM_DATA);
    for (int i = 0; i < n; i++) {
        int y = i % CLASSES;
        d->labels[i] = y;
        float *p = d->x->data + (size_t)i * PIX;
        int oy = (int)cwb_rng_below(&r, 3) - 1, ox = (int)cwb_rng_below(&r, 3) - 1;
        for (int a = 0; a < SIDE; a++)
            for (int b = 0; b < SIDE; b++) {
                int u = a - oy, v = b - ox, on;
                switch (y) {
                case 0: on = u >= 3 && u <= 4; break;
                case 1: on = v >= 3 && v <= 4; break;
                case 2: on = u >= 1 && u <= 3 && v >= 1 && v <= 3; break;
                default: on = u >= 3 && u <= 5 && v >= 3 && v <= 5 && !(u == 4 && v == 4);
                }
                double val = (on ? 0.85 : 0.1) + 0.08 * cwb_rng_normal(&r);
                p[a * SIDE + b] = (float)(val < 0 ? 0 : val > 1 ? 1 : val);
            }
    }
    if (cwb_dataset_index(d)) {
        cwb_dataset_free(d);
        return NULL;
    }
    return d;
}

/* An image trainer: tower 64-32-16, head 16-12-8, ntxent, Adam. */
static cwb_trainer_cfg image_cfg(uint64_t seed, int B) {
    cwb_trainer_cfg c = cwb_trainer_defaults();
    c.seed = seed;
    c.batch = B;
    c.shuffle = 1;
    c.enc.n_layers = 2;
    c.enc.dims[0] = PIX;
    c.enc.dims[1] = 32;
    c.enc.dims[2] = 16;
    c.head.n_layers = 2;
    c.head.dims[0] = 16;
    c.head.dims[1] = 12;
    c.head.dims[2] = 8;
    c.imaug = cwb_imaug_none(SIDE, SIDE);
    c.imaug.crop_pad = 1;
    c.imaug.flip = 0.5f;
    c.imaug.brightness = 0.2f;
    c.opt = cwb_optim_defaults(CWB_OPT_ADAMW);
    c.opt.lr = 3e-3f;
    c.loss = cwb_loss_defaults(CWB_LOSS_NTXENT);
    c.tau = 0.3f;
    c.eval.probe.n_l2 = 2;
    c.eval.probe.l2[0] = 1e-2;
    c.eval.probe.l2[1] = 1e-4;
    return c;
}

static int contains(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

/* Central differences of the trainer's surrogate against the gradient it
 * leaves in each block, on fixed views: the largest gradients of the block
 * and a few more, each within 3% or 1% of the block's largest.  tanh: a
 * smooth activation, so no difference straddles a ReLU's kink (the
 * activations' own derivatives are checked in test_layers, test_mlp). */
static void gradcheck(cwb_loss_cfg loss, cwb_act act, const char *what) {
    enum { B = 6 };
    cwb_dataset *d = make_images(48, 5);
    cwb_trainer_cfg c = image_cfg(3, B);
    c.enc.act = act;
    c.loss = loss;
    cwb_trainer *t = cwb_trainer_new(&c, d);
    if (!ok(t != NULL, "%s: trainer builds (%s)", what, t ? "ok" : cwb_errmsg())) {
        cwb_dataset_free(d);
        return;
    }
    float views[2 * B * PIX];
    cwb_rng r;
    cwb_rng_seed(&r, 8, CWB_STREAM_USER);
    for (int i = 0; i < 2 * B * PIX; i++) views[i] = (float)cwb_rng_uniform(&r);
    double f0;
    int rc = cwb_trainer_value_grad(t, views, NULL, &f0);
    ok(rc == CWB_OK && isfinite(f0), "%s: value and gradient on fixed views (%g)", what, f0);
    for (int block = 0; block < 2; block++) {
        float *p;
        const float *g;
        size_t n;
        if (cwb_trainer_block(t, block, &p, &g, &n)) break;
        float *gcopy = malloc(n * sizeof *gcopy);
        memcpy(gcopy, g, n * sizeof *gcopy);
        double gmax = 0;
        size_t imax = 0;
        for (size_t i = 0; i < n; i++)
            if (fabs(gcopy[i]) > gmax) gmax = fabs(gcopy[i]), imax = i;
        int good = gmax > 0, checked = 0;
        for (int j = 0; j < 24; j++) {
            size_t i = j == 0 ? imax : (size_t)cwb_rng_below(&r, n);
            const float h = 2e-3f, s = p[i];
            double fp, fm;
            p[i] = s + h;
            cwb_trainer_value_grad(t, views, NULL, &fp);
            p[i] = s - h;
            cwb_trainer_value_grad(t, views, NULL, &fm);
            p[i] = s;
            double fd = (fp - fm) / (2.0 * h);
            if (!(fabs(fd - gcopy[i]) <= 0.03 * fabs(gcopy[i]) + 0.01 * gmax)) {
                if (good) diag("%s block %d param %zu: analytic %.6g, central difference %.6g", what, block, i,
                               (double)gcopy[i], fd);
                good = 0;
            }
            checked++;
        }
        ok(good, "%s: %s gradient matches central differences (%d parameters, largest %.3g)", what,
           block == 0 ? "tower" : "head", checked, gmax);
        free(gcopy);
    }
    float *p;
    const float *g;
    size_t n;
    ok(cwb_trainer_block(t, 2, &p, &g, &n) == CWB_EINVAL, "%s: there is no block 2", what);
    cwb_trainer_free(t);
    cwb_dataset_free(d);
}

static void test_head_gradients(void) {
    cwb_loss_cfg l = cwb_loss_defaults(CWB_LOSS_NTXENT);
    gradcheck(l, CWB_ACT_TANH, "ntxent, tanh");
    l = cwb_loss_defaults(CWB_LOSS_INFONCE);
    l.symmetric = 1;
    gradcheck(l, CWB_ACT_TANH, "infonce symmetric, tanh");
    l = cwb_loss_defaults(CWB_LOSS_DCL);
    l.both_views = 1;
    gradcheck(l, CWB_ACT_TANH, "dcl both_views, tanh");
}

typedef struct {
    double loss[64];
    cwb_metrics ev;
} run_out;

static int drive(cwb_trainer *t, int steps, run_out *o) {
    cwb_metrics m;
    for (int s = 0; s < steps; s++) {
        int rc = cwb_trainer_ops.step(t, &m);
        if (rc) return rc;
        o->loss[s] = *cwb_metrics_get(&m, "loss");
    }
    return cwb_trainer_ops.evaluate(t, &o->ev);
}

static double metric(const cwb_metrics *m, const char *name) {
    const double *v = cwb_metrics_get(m, name);
    return v ? *v : NAN;
}

static void test_probes_and_reset(void) {
    enum { S = 40 };
    cwb_dataset *train = make_images(256, 1), *test = make_images(120, 2);
    cwb_trainer_cfg c = image_cfg(11, 32);
    cwb_trainer *t = cwb_trainer_new_split(&c, train, test);
    if (!ok(t != NULL, "image trainer with a test split builds (%s)", t ? "ok" : cwb_errmsg())) return;
    static run_out a, b, f;
    int rc = drive(t, S, &a);
    ok(rc == CWB_OK, "%d steps and an evaluation (%s)", S, rc ? cwb_errmsg() : "ok");
    static const char *const want[] = {"knn_acc",          "knn_seconds",    "linear_acc", "linear_l2",
                                       "linear_converged", "linear_seconds", "embed_seconds"};
    int present = a.ev.n == 7;
    for (int i = 0; i < 7; i++) present &= isfinite(metric(&a.ev, want[i]));
    ok(present, "the evaluation has knn_acc, knn_seconds, linear_acc, linear_l2, linear_converged, "
                "linear_seconds, embed_seconds (%d metrics)", a.ev.n);
    ok(!cwb_metrics_get(&a.ev, "top1") && !cwb_metrics_get(&a.ev, "pop_loss"),
       "and not the training-set retrieval metrics");
    double knn = metric(&a.ev, "knn_acc"), lin = metric(&a.ev, "linear_acc");
    ok(knn > 0.6 && knn <= 1 && lin > 0.6 && lin <= 1,
       "after %d steps the representation separates the %d classes (kNN %.3f, linear %.3f; chance 0.25)", S,
       CLASSES, knn, lin);
    double l2 = metric(&a.ev, "linear_l2");
    ok(l2 == 1e-2 || l2 == 1e-4, "the linear probe chose l2 = %g among the candidates", l2);

    /* the kNN accuracy is the weighted kNN of the representations */
    int r = 0;
    float *rtr = malloc(sizeof(float) * 256 * 16), *rte = malloc(sizeof(float) * 120 * 16);
    rc = cwb_trainer_represent(t, train->x->data, 256, rtr, &r) ||
         cwb_trainer_represent(t, test->x->data, 120, rte, NULL);
    double acc = NAN;
    if (!rc) rc = cwb_knn_weighted(rtr, train->labels, 256, rte, test->labels, 120, r, CLASSES, 20, 0.07, 0, &acc, NULL);
    ok(rc == 0 && r == 16 && acc == knn,
       "knn_acc is cwb_knn_weighted (k 20, 0.07) on the tower's output, before the head (%d wide): %.4f", r, acc);
    free(rtr);
    free(rte);

    rc = cwb_trainer_reset(t);
    rc = rc ? rc : drive(t, S, &b);
    ok(memcmp(a.loss, b.loss, S * sizeof(double)) == 0, "reset: the same %d losses, bit for bit", S);
    /* the seconds differ from run to run: compare the accuracies */
    ok(metric(&a.ev, "knn_acc") == metric(&b.ev, "knn_acc") &&
           metric(&a.ev, "linear_acc") == metric(&b.ev, "linear_acc") &&
           metric(&a.ev, "linear_l2") == metric(&b.ev, "linear_l2"),
       "reset: the same kNN and linear-probe accuracies and l2");
    cwb_trainer *fresh = cwb_trainer_new_split(&c, train, test);
    rc = fresh ? drive(fresh, S, &f) : -1;
    ok(rc == CWB_OK && memcmp(a.loss, f.loss, S * sizeof(double)) == 0 &&
           metric(&a.ev, "linear_acc") == metric(&f.ev, "linear_acc"),
       "the same as a trainer just built with that config");
    cwb_trainer_free(fresh);

    /* the pane: test embeddings after the head, test labels, class names */
    const float *ea, *eb;
    int n = 0, k = 0, nn = 0;
    rc = cwb_trainer_ops.embed(t, &ea, &eb, &n, &k);
    ok(rc == CWB_OK && n == 120 && k == 8, "embed: the test split's %d rows in the loss's space (%d wide)", n, k);
    double norm = 0;
    for (int j = 0; j < k; j++) norm += (double)ea[j] * ea[j];
    ok(fabs(norm - 1) < 1e-5, "the head's output is L2-normalised (|z| = %.6f)", sqrt(norm));
    ok(cwb_trainer_ops.labels(t) == test->labels, "labels: the test split's");
    const char *const *cn = cwb_trainer_ops.class_names(t, &nn);
    ok(cn == names && nn == CLASSES && strcmp(cn[1], "column") == 0, "class names: the data set's %d", nn);

    cwb_json j;
    cwb_json_init(&j);
    cwb_trainer_ops.describe(t, &j);
    const char *s = cwb_json_text(&j);
    ok(contains(s, "\"aug\":{\"height\":8,\"width\":8,\"crop_pad\":1,") && contains(s, "\"head\":[16,12,8]") &&
           contains(s, "\"shuffle\":true") && contains(s, "\"eval\":{\"test_rows\":120,\"knn\":20,"),
       "describe: the image augmentations, the head, shuffle and the probes: %s", s ? s : "");
    cwb_json_free(&j);
    cwb_trainer_free(t);

    /* probes off: their metrics are absent, never NaN */
    c.eval.linear = 0;
    t = cwb_trainer_new_split(&c, train, test);
    cwb_metrics m;
    rc = t ? cwb_trainer_ops.evaluate(t, &m) : -1;
    ok(rc == CWB_OK && cwb_metrics_get(&m, "knn_acc") && !cwb_metrics_get(&m, "linear_acc") &&
           !cwb_metrics_get(&m, "linear_seconds"),
       "eval.linear = 0: kNN only, no linear_* metrics (%d metrics)", m.n);
    cwb_trainer_free(t);
    c.eval.knn = 0;
    t = cwb_trainer_new_split(&c, train, test);
    rc = t ? cwb_trainer_ops.evaluate(t, &m) : -1;
    ok(rc == CWB_OK && m.n == 1 && cwb_metrics_get(&m, "embed_seconds"), "no probe at all: only embed_seconds");
    cwb_trainer_free(t);
    cwb_dataset_free(train);
    cwb_dataset_free(test);
}

/* The step uses the image augmentations on images, not the vector ones. */
static void test_image_augment_in_step(void) {
    enum { S = 5 };
    cwb_dataset *d = make_images(64, 3);
    cwb_trainer_cfg c = image_cfg(4, 16);
    static run_out a, b, n;
    cwb_trainer *t = cwb_trainer_new(&c, d);
    int rc = t ? drive(t, S, &a) : -1;
    cwb_trainer_free(t);
    c.aug.jitter = 50; /* ignored on images */
    c.aug.mask = 0.9f;
    t = cwb_trainer_new(&c, d);
    rc = rc ? rc : t ? drive(t, S, &b) : -1;
    cwb_trainer_free(t);
    ok(rc == CWB_OK && memcmp(a.loss, b.loss, S * sizeof(double)) == 0,
       "the vector augmentations do not touch images (same losses with jitter 50)");
    c.imaug = cwb_imaug_none(SIDE, SIDE);
    t = cwb_trainer_new(&c, d);
    rc = t ? drive(t, S, &n) : -1;
    cwb_trainer_free(t);
    ok(rc == CWB_OK && memcmp(a.loss, n.loss, S * sizeof(double)) != 0,
       "the image augmentations do (other losses without them: %.5f vs %.5f)", a.loss[0], n.loss[0]);
    /* identity views: both views equal, so the positive pair's similarity is 1 */
    const float *ea, *eb;
    t = cwb_trainer_new(&c, d);
    rc = t ? cwb_trainer_embed(t, &ea, &eb) : -1;
    ok(rc == CWB_OK && memcmp(ea, eb, 64 * 8 * sizeof(float)) == 0,
       "no image augmentation: the two evaluation views are the same images");
    cwb_trainer_free(t);
    cwb_dataset_free(d);
}

/* With shuffle a run of N/B steps is one epoch: every image an anchor
 * once; the next epoch is another permutation; the same seed gives the same
 * order after reset. */
static void test_epoch_order(void) {
    enum { N = 64, B = 16, EPOCHS = 3 };
    cwb_dataset *d = make_images(N, 6);
    cwb_trainer_cfg c = image_cfg(9, B);
    c.batch_noise = 0.2f;
    cwb_trainer *t = cwb_trainer_new(&c, d);
    ok(t == NULL && contains(cwb_errmsg(), "shuffle") && contains(cwb_errmsg(), "batch_noise"),
       "shuffle with batch_noise is refused: %s", cwb_errmsg());
    c.batch_noise = 0;
    t = cwb_trainer_new(&c, d);
    int order[2][EPOCHS * N];
    for (int pass = 0; pass < 2 && t; pass++) {
        for (int s = 0; s < EPOCHS * N / B; s++) {
            if (cwb_trainer_step(t, NULL)) break;
            memcpy(order[pass] + s * B, cwb_trainer_batch(t), B * sizeof(int));
        }
        cwb_trainer_reset(t);
    }
    int each_once = t != NULL;
    for (int e = 0; e < EPOCHS; e++) {
        int seen[N] = {0};
        for (int i = 0; i < N; i++) {
            int j = order[0][e * N + i];
            if (j < 0 || j >= N || seen[j]++) each_once = 0;
        }
    }
    ok(each_once, "shuffle: each of %d epochs (%d steps of %d) has every image as an anchor once", EPOCHS,
       N / B, B);
    ok(memcmp(order[0], order[0] + N, N * sizeof(int)) != 0, "the second epoch is another permutation");
    ok(memcmp(order[0], order[1], sizeof order[0]) == 0, "reset: the same order again");
    cwb_trainer_free(t);
    c.batch = 48; /* 64 images: one batch of 48 an epoch, 16 dropped */
    t = cwb_trainer_new(&c, d);
    int first[48], ok2 = t != NULL;
    for (int s = 0; s < 3 && t; s++) {
        if (cwb_trainer_step(t, NULL)) ok2 = 0;
        if (s == 0) memcpy(first, cwb_trainer_batch(t), sizeof first);
        else ok2 &= memcmp(first, cwb_trainer_batch(t), sizeof first) != 0;
    }
    ok(ok2, "batch 48 of 64 images: each step a new epoch (the incomplete rest dropped)");
    cwb_trainer_free(t);
    cwb_dataset_free(d);
}

static void test_bad_configs(void) {
    cwb_dataset *d = make_images(32, 7), *bad = make_images(8, 8);
    struct {
        const char *what, *msg;
        int which;
    } cases[] = {
        {"head with two towers", "head needs the shared tower", 0},
        {"head input width", "head input 10, but the tower's output width is 16", 1},
        {"eval knn < 0", "eval knn = -1", 2},
        {"eval temperature 0", "eval temperature = 0", 3},
        {"linear probe val_frac", "val_frac = 2 outside (0, 1)", 4},
        {"test split of another width", "test split has 8 rows of width 63", 5},
        {"test label outside the classes", "test label 7 (row 2) outside the data's classes 0..3", 6},
        {"head layers", "head has 9 layers", 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cwb_trainer_cfg c = image_cfg(1, 8);
        const cwb_dataset *test = NULL;
        int saved_dim = bad->dim, saved_label = bad->labels[2];
        switch (cases[i].which) {
        case 0: c.shared_tower = 0; break;
        case 1: c.head.dims[0] = 10; break;
        case 2: c.eval.knn = -1; break;
        case 3: c.eval.knn_temperature = 0; break;
        case 4: c.eval.probe.val_frac = 2; break;
        case 5: bad->dim = 63; test = bad; break;
        case 6: bad->labels[2] = 7; test = bad; break;
        case 7: c.head.n_layers = 9; break;
        }
        cwb_trainer *t = cwb_trainer_new_split(&c, d, test);
        const char *msg = cwb_errmsg();
        ok(t == NULL && contains(msg, cases[i].msg) && !strchr(msg, '\n'), "%s refused in one line: %s",
           cases[i].what, msg);
        cwb_trainer_free(t);
        bad->dim = saved_dim;
        bad->labels[2] = saved_label;
    }
    cwb_trainer_cfg c = image_cfg(1, 8);
    cwb_trainer *t = cwb_trainer_new(&c, d);
    cwb_probe_info p;
    ok(t && cwb_trainer_probe(t, &p) == CWB_ESTATE && contains(cwb_errmsg(), "no test split"),
       "probes without a test split: %s", cwb_errmsg());
    cwb_trainer_free(t);
    cwb_dataset_free(d);
    cwb_dataset_free(bad);
}

int main(void) {
    test_head_gradients();
    test_probes_and_reset();
    test_image_augment_in_step();
    test_epoch_order();
    test_bad_configs();
    return done_testing();
}
