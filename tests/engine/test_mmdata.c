/*
 * test_mmdata.c - the two-modality generator (mmdata.h) and the downstream
 * probes (probe.h), with the metrics of methods.md on hand-made embeddings
 * whose answers are known without running the code under test.
 */
#include "engine/core/error.h"
#include "engine/eval/metrics.h"
#include "engine/data/mmdata.h"
#include "engine/eval/probe.h"
#include "engine/core/rng.h"
#include "../tap.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the generator ---------------------------------------------------------- */

static void test_generator(void) {
    /* Smaller than the defaults, so the test stays quick under valgrind. */
    cwb_mm_cfg c = cwb_mm_defaults();
    c.n_train = 1000;
    c.n_test = 500;
    const float gaps[3] = {0.0f, 0.5f, 1.0f};
    cwb_mm_data *d[3];
    double knn_v[3], knn_t[3];
    for (int g = 0; g < 3; g++) {
        c.gap = gaps[g];
        d[g] = cwb_mm_data_new(&c, 11);
        ok(d[g] != NULL, "generator builds at gap %.1f (%s)", gaps[g], d[g] ? "" : cwb_errmsg());
        if (!d[g]) return;
        ok(cwb_mm_knn_baseline(d[g], 10, &knn_v[g], &knn_t[g]) == CWB_OK, "kNN baseline at gap %.1f (%s)",
           gaps[g], cwb_errmsg());
        diag("gap %.1f: Bayes V %.3f T %.3f, I(V;Y) %.3f I(T;Y) %.3f nats, kNN V %.3f T %.3f", gaps[g],
             d[g]->bayes_v, d[g]->bayes_t, d[g]->mi_v, d[g]->mi_t, knn_v[g], knn_t[g]);
    }
    const int n = d[0]->n, K = c.classes;
    ok(d[0]->cfg.gap == 0.0f && d[2]->cfg.gap == 1.0f, "the data reports the gap it was built with");
    ok(d[0]->xv->rows == n && d[0]->xv->cols == c.v_dim && d[0]->xt->cols == c.t_dim &&
           d[0]->captions->rows == K && d[0]->captions->cols == c.t_dim,
       "shapes: %d x %d (V), %d x %d (T), captions %d x %d", n, c.v_dim, n, c.t_dim, K, c.t_dim);

    /* gap 0: all class information is shared, so the two oracles coincide. */
    ok(d[0]->bayes_v == d[0]->bayes_t && fabs(d[0]->mi_v - d[0]->mi_t) < 1e-12 && fabs(d[0]->info_gap) < 1e-12,
       "gap 0: V and T have the same Bayes accuracy %.3f and information (gap %.2g)", d[0]->bayes_v,
       d[0]->info_gap);
    ok(d[0]->bayes_v > 0.6, "gap 0: the classes are learnable (Bayes %.3f, chance %.2f)", d[0]->bayes_v, 1.0 / K);
    /* The gap grows: T loses information, V keeps it. */
    ok(d[0]->bayes_t > d[1]->bayes_t + 0.1 && d[1]->bayes_t > d[2]->bayes_t + 0.1,
       "T's Bayes accuracy falls with the gap: %.3f > %.3f > %.3f", d[0]->bayes_t, d[1]->bayes_t, d[2]->bayes_t);
    ok(d[0]->info_gap < d[1]->info_gap && d[1]->info_gap < d[2]->info_gap && d[2]->info_gap > 1.0,
       "the information gap estimate grows: %.3f < %.3f < %.3f nats", d[0]->info_gap, d[1]->info_gap,
       d[2]->info_gap);
    for (int g = 0; g < 3; g++)
        ok(fabs(d[g]->bayes_v - d[0]->bayes_v) < 0.12,
           "gap %.1f: V's Bayes accuracy %.3f stays near the gap-0 value %.3f", gaps[g], d[g]->bayes_v,
           d[0]->bayes_v);
    double se = sqrt(0.1 * 0.9 / n);
    ok(fabs(d[2]->bayes_t - 1.0 / K) < 4 * se, "gap 1: T is at chance (%.3f vs %.3f, 4 se %.3f)", d[2]->bayes_t,
       1.0 / K, 4 * se);
    ok(fabs(d[2]->mi_t) < 1e-9, "gap 1: I(T;Y) = 0 (%.2g)", d[2]->mi_t);
    /* The same on the raw observations, by kNN (no oracle). */
    ok(knn_t[0] > knn_t[1] + 0.1 && knn_t[1] > knn_t[2] + 0.1,
       "kNN on raw T falls with the gap: %.3f > %.3f > %.3f", knn_t[0], knn_t[1], knn_t[2]);
    ok(knn_v[2] > knn_t[2] + 0.3, "gap 1: kNN on raw V %.3f beats raw T %.3f", knn_v[2], knn_t[2]);
    ok(fabs(knn_v[0] - knn_t[0]) < 0.1, "gap 0: raw V and T are about as informative (%.3f, %.3f)",
       knn_v[0], knn_t[0]);
    ok(cwb_mm_knn_baseline(d[0], c.n_train + 1, &knn_v[0], &knn_t[0]) != CWB_OK && tu_msg_has("knn_k"),
       "rejects knn_k > n_train (%s)", cwb_errmsg());

    /* Only the class centres change with the gap. */
    ok(memcmp(d[0]->labels, d[2]->labels, n * sizeof(int)) == 0, "labels do not depend on the gap");
    const int m = c.shared_dim + c.v_private_dim + c.t_private_dim;
    int tsame = 1;
    for (int i = 0; i < n; i++)
        for (int j = c.shared_dim + c.v_private_dim; j < m; j++)
            tsame &= d[0]->latent->data[i * m + j] == d[2]->latent->data[i * m + j];
    ok(tsame, "T's private factors do not depend on the gap");

    /* Questions: balanced (u^T is symmetric), and not predictable from the label. */
    long q1 = 0;
    for (int i = 0; i < n; i++) q1 += d[1]->question[i];
    ok(fabs((double)q1 / n - 0.5) < 4 * sqrt(0.25 / n), "questions are balanced: %.3f answer yes", (double)q1 / n);

    /* Determinism. */
    c.gap = 0.5f;
    cwb_mm_data *e = cwb_mm_data_new(&c, 11);
    ok(e && memcmp(e->xv->data, d[1]->xv->data, cwb_tensor_size(e->xv) * sizeof(float)) == 0 &&
           memcmp(e->xt->data, d[1]->xt->data, cwb_tensor_size(e->xt) * sizeof(float)) == 0,
       "same config and seed, same data bit for bit");
    cwb_mm_data_free(e);
    e = cwb_mm_data_new(&c, 12);
    ok(e && memcmp(e->xv->data, d[1]->xv->data, cwb_tensor_size(e->xv) * sizeof(float)) != 0,
       "another seed, other data");
    cwb_mm_data_free(e);

    /* Gather and augment. */
    int idx[3] = {5, 0, n - 1};
    float out[3 * 64], tmp[3 * 64];
    int rc = cwb_mm_gather(d[1], CWB_MOD_T, idx, 3, NULL, NULL, NULL, out);
    ok(rc == CWB_OK && memcmp(out + c.t_dim, d[1]->xt->data, c.t_dim * sizeof(float)) == 0 &&
           memcmp(out + 2 * c.t_dim, d[1]->xt->data + (size_t)(n - 1) * c.t_dim, c.t_dim * sizeof(float)) == 0,
       "gather without augmentation copies the rows");
    cwb_aug_cfg aug = cwb_aug_defaults();
    cwb_rng r;
    cwb_rng_seed(&r, 3, CWB_STREAM_AUG);
    rc = cwb_mm_gather(d[1], CWB_MOD_V, idx, 3, &aug, &r, tmp, out);
    ok(rc == CWB_OK && memcmp(out, d[1]->xv->data + 5 * c.v_dim, c.v_dim * sizeof(float)) != 0,
       "gather with augmentation changes the rows");
    idx[1] = n;
    rc = cwb_mm_gather(d[1], CWB_MOD_V, idx, 3, NULL, NULL, NULL, out);
    ok(rc == CWB_EINVAL && tu_msg_has("idx[1]"), "gather rejects an index past the end (%s)", cwb_errmsg());
    idx[1] = 0;
    rc = cwb_mm_gather(d[1], (cwb_modality)2, idx, 3, NULL, NULL, NULL, out);
    ok(rc == CWB_EINVAL && tu_msg_has("modality"), "gather rejects modality 2 (%s)", cwb_errmsg());
    aug.mask = 2.0f;
    rc = cwb_mm_gather(d[1], CWB_MOD_V, idx, 3, &aug, &r, tmp, out);
    ok(rc == CWB_EINVAL && tu_msg_has("mask"), "gather passes on the augmentation's error (%s)", cwb_errmsg());
    for (int g = 0; g < 3; g++) cwb_mm_data_free(d[g]);

    /* Bad configurations. */
#define CASE(desc, word, stmt) \
    TU_REJECTS(cwb_mm_cfg, cwb_mm_defaults(), cwb_mm_data_new(c, 1), cwb_mm_data_free, desc, word, stmt)
    CASE("gap = 1.5", "gap", c->gap = 1.5f);
    CASE("1 class", "classes", c->classes = 1);
    CASE("spread = 0", "spread", c->spread = 0);
    CASE("v_private_dim = 0", "v_private", c->v_private_dim = 0);
#undef CASE
    ok(!cwb_mm_data_new(NULL, 1) && tu_msg_has("NULL"), "rejects a NULL config (%s)", cwb_errmsg());
}

/* ---- probes and metrics on hand-made embeddings ------------------------------ */

#define N 60
#define KD 8

static void test_probes(void) {
    cwb_rng r;
    cwb_rng_seed(&r, 5, CWB_STREAM_USER);
    float a[N * KD], b[N * KD];
    tu_unit_rows(&r, a, N, KD);
    memcpy(b, a, sizeof a);
    static const int ks[3] = {1, 5, 10};
    double rab[3], rba[3];
    int rc = cwb_retrieval(a, b, N, KD, 16, rab, rba);
    ok(rc == CWB_OK && rab[0] == 1.0 && rba[0] == 1.0 && rab[2] == 1.0,
       "identical distinct rows: perfect retrieval, R@1 = 1 both ways (%g, %g)", rab[0], rba[0]);
    ok(cwb_gap_centroid(a, b, N, KD) == 0.0 && cwb_gap_paired(a, b, N, KD) == 0.0 &&
           cwb_alignment(a, b, N, KD) == 0.0,
       "identical modalities: centroid gap, paired gap and alignment are 0");
    /* A constant shift c of every b row: centroid gap and paired distance are ||c||. */
    float sh[N * KD];
    for (int i = 0; i < N; i++)
        for (int q = 0; q < KD; q++) sh[i * KD + q] = a[i * KD + q] + (q == 0 ? 0.3f : q == 1 ? 0.4f : 0.0f);
    ok(tap_close(cwb_gap_centroid(a, sh, N, KD), 0.5, 1e-5, 0) && tap_close(cwb_gap_paired(a, sh, N, KD), 0.5, 1e-5, 0),
       "a shift by (0.3, 0.4, 0...) gives both gaps 0.5");
    /* Reversed pairing: b_i = a_{N-1-i}; a_i's true partner is then nowhere near. */
    for (int i = 0; i < N; i++) memcpy(b + i * KD, a + (N - 1 - i) * KD, KD * sizeof(float));
    rc = cwb_retrieval(a, b, N, KD, 0, rab, rba);
    ok(rc == CWB_OK && rab[0] <= 1.0 / N + 1e-12, "reversed pairs: R@1 = %g (only a self-paired middle row, if any)", rab[0]);
    (void)ks;

    /* Zero-shot: rows = prototype of their class + small noise. */
    const int K = 4;
    float protos[4 * KD], x[N * KD];
    int y[N], pred[N];
    tu_unit_rows(&r, protos, K, KD);
    for (int i = 0; i < N; i++) {
        y[i] = i % K;
        for (int q = 0; q < KD; q++) x[i * KD + q] = protos[y[i] * KD + q] + 0.05f * (float)cwb_rng_normal(&r);
    }
    double acc;
    rc = cwb_zero_shot(x, y, N, KD, protos, K, &acc, pred);
    ok(rc == CWB_OK && acc == 1.0 && memcmp(pred, y, sizeof y) == 0, "zero-shot: rows near their prototype, accuracy 1");
    /* Prototypes in the wrong order: accuracy 0. */
    float rot[4 * KD];
    for (int c = 0; c < K; c++) memcpy(rot + c * KD, protos + ((c + 1) % K) * KD, KD * sizeof(float));
    rc = cwb_zero_shot(x, y, N, KD, rot, K, &acc, NULL);
    ok(rc == CWB_OK && acc == 0.0, "zero-shot with permuted prototypes: accuracy 0");
    ok(cwb_accuracy(pred, y, N) == 1.0 && isnan(cwb_accuracy(pred, y, 0)), "cwb_accuracy: 1 on equal, NaN on empty");

    /* Few-shot and probes on well-separated clusters: train rows 0..39, test 40..59. */
    double m, s;
    rc = cwb_fewshot(CWB_PROBE_CENTROID, x, y, 40, x + 40 * KD, y + 40, 20, KD, K, 5, 10, 1, &m, &s);
    ok(rc == CWB_OK && m == 1.0 && s == 0.0, "nearest-centroid 5-shot on separated clusters: 1 (sd 0)");
    rc = cwb_fewshot(CWB_PROBE_LOGREG, x, y, 40, x + 40 * KD, y + 40, 20, KD, K, 1, 3, 1, &m, &s);
    ok(rc == CWB_OK && m == 1.0, "logistic 1-shot on separated clusters: %g", m);
    rc = cwb_logreg_probe(x, y, 40, x + 40 * KD, y + 40, 20, KD, K, 0, -1, &acc);
    ok(rc == CWB_OK && acc == 1.0, "logistic probe on separated clusters: %g", acc);
    rc = cwb_knn_accuracy(x, y, 40, x + 40 * KD, y + 40, 20, KD, K, 3, &acc);
    ok(rc == CWB_OK && acc == 1.0, "3-NN on separated clusters: %g", acc);
    /* A 1-D case by hand: train at 0, 1, 10 (classes 0, 0, 1); 2-NN of 9 is {10, 1}:
     * a tie, broken towards the nearer neighbour, class 1; 2-NN of 2 is {1, 0}: class 0. */
    float tr[3] = {0, 1, 10}, te[2] = {9, 2};
    int ytr[3] = {0, 0, 1}, yte[2] = {1, 0};
    rc = cwb_knn_accuracy(tr, ytr, 3, te, yte, 2, 1, 2, 2, &acc);
    ok(rc == CWB_OK && acc == 1.0, "kNN on a hand-made 1-D set, ties to the nearer neighbour: %g", acc);
    /* Majority over nearest: 3-NN of 8 among {0, 1, 2 (class 0), 10 (class 1)} is
     * {10, 2, 1}: two votes for class 0 against the nearest neighbour's class 1. */
    float tr4[4] = {0, 1, 2, 10}, te1[1] = {8};
    int ytr4[4] = {0, 0, 0, 1}, yte1[1] = {0};
    rc = cwb_knn_accuracy(tr4, ytr4, 4, te1, yte1, 1, 1, 2, 3, &acc);
    ok(rc == CWB_OK && acc == 1.0, "kNN: the majority of 3 beats the single nearest neighbour: %g", acc);
    /* Random labels carry no signal: the probes stay near chance on fresh test rows. */
    enum { NR = 400 };
    float *xr = malloc(sizeof(float) * NR * KD);
    int *yr = malloc(sizeof(int) * NR);
    tu_unit_rows(&r, xr, NR, KD);
    for (int i = 0; i < NR; i++) yr[i] = (int)cwb_rng_below(&r, 2);
    rc = cwb_logreg_probe(xr, yr, 200, xr + 200 * KD, yr + 200, 200, KD, 2, 0, -1, &acc);
    ok(rc == CWB_OK && fabs(acc - 0.5) < 4 * sqrt(0.25 / 200), "logistic probe on random labels: %.3f (chance 0.5)", acc);
    free(xr);
    free(yr);

    /* Errors. */
    rc = cwb_fewshot(CWB_PROBE_CENTROID, x, y, 40, x + 40 * KD, y + 40, 20, KD, K, 11, 1, 1, &m, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("shots = 11"), "few-shot rejects more shots than a class has (%s)", cwb_errmsg());
    y[3] = K;
    rc = cwb_zero_shot(x, y, N, KD, protos, K, &acc, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("label[3]"), "zero-shot rejects a label outside 0..K-1 (%s)", cwb_errmsg());
    y[3] = 3;
    rc = cwb_knn_accuracy(x, y, 40, x, y, 20, KD, K, 41, &acc);
    ok(rc == CWB_EINVAL && tu_msg_has("knn"), "kNN rejects knn > ntrain (%s)", cwb_errmsg());
    x[7] = NAN;
    rc = cwb_logreg_probe(x, y, 40, x + 40 * KD, y + 40, 20, KD, K, 0, -1, &acc);
    ok(rc == CWB_ENAN && tu_msg_has("non-finite"), "logistic probe rejects NaN rows (%s)", cwb_errmsg());
    rc = cwb_retrieval(NULL, b, N, KD, 0, rab, rba);
    ok(rc == CWB_EINVAL && tu_msg_has("NULL"), "retrieval rejects NULL (%s)", cwb_errmsg());
    rc = cwb_fewshot((cwb_probe_kind)9, a, y, 40, a, y, 20, KD, K, 1, 1, 1, &m, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("kind"), "few-shot rejects an unknown probe kind (%s)", cwb_errmsg());
}

int main(void) {
    test_generator();
    test_probes();
    return done_testing();
}
