/* test_metrics.c - embedding metrics (metrics.h) against hand-made cases and double references. */
#include "engine/eval/metrics.h"
#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "../tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int msg_has(const char *word) {
    const char *m = cwb_errmsg();
    return m && m[0] && strstr(m, word) != NULL;
}

static void normalise_rows(float *x, int n, int k) {
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < k; j++) s += (double)x[i * k + j] * x[i * k + j];
        for (int j = 0; j < k; j++) x[i * k + j] = (float)(x[i * k + j] / sqrt(s));
    }
}

static float *random_rows(cwb_rng *r, int n, int k) {
    float *x = malloc((size_t)n * k * sizeof(float));
    cwb_rng_fill_normal(r, x, (long)n * k, 0, 1);
    normalise_rows(x, n, k);
    return x;
}

/* b_i = normalise(a_i + noise * e): noisy pairs for retrieval. */
static float *noisy_copy(cwb_rng *r, const float *a, int n, int k, float noise) {
    float *b = malloc((size_t)n * k * sizeof(float));
    for (int t = 0; t < n * k; t++) b[t] = a[t] + noise * (float)cwb_rng_normal(r);
    normalise_rows(b, n, k);
    return b;
}

static double dotd(const float *a, const float *b, int k) {
    double s = 0;
    for (int j = 0; j < k; j++) s += (double)a[j] * b[j];
    return s;
}

static void test_simple_metrics(cwb_rng *r) {
    /* Orthonormal rows by Gram-Schmidt on Gaussian vectors. */
    const int n = 10, k = 10;
    float *a = malloc(n * k * sizeof(float));
    cwb_rng_fill_normal(r, a, n * k, 0, 1);
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < i; p++) {
            double d = dotd(a + i * k, a + p * k, k);
            for (int j = 0; j < k; j++) a[i * k + j] -= (float)(d * a[p * k + j]);
        }
        normalise_rows(a + i * k, 1, k);
    }
    float *b = malloc(n * k * sizeof(float));
    memcpy(b, a, n * k * sizeof(float));
    double top1 = -1, rec[1] = {-1};
    int one = 1;
    ok(cwb_top1(a, b, n, k, 3, &top1) == CWB_OK && top1 == 1.0, "perfect retrieval: top1 = 1");
    ok(cwb_recall_at(a, b, n, k, 0, &one, 1, rec) == CWB_OK && rec[0] == 1.0, "perfect retrieval: recall@1 = 1");
    ok(cwb_alignment(a, b, n, k) == 0.0, "identical modalities: alignment 0");
    ok(cwb_gap_centroid(a, b, n, k) == 0.0 && cwb_gap_paired(a, b, n, k) == 0.0, "identical modalities: both gaps 0");

    /* Two constant modalities on orthogonal axes: every distance is sqrt(2). */
    float e1[8] = {1, 0, 1, 0, 1, 0, 1, 0}, e2[8] = {0, 1, 0, 1, 0, 1, 0, 1};
    ok(tap_close(cwb_alignment(e1, e2, 4, 2), 2.0, 1e-12, 0), "alignment of e1 vs e2 pairs is 2");
    ok(tap_close(cwb_gap_centroid(e1, e2, 4, 2), sqrt(2.0), 1e-7, 0) &&
           tap_close(cwb_gap_paired(e1, e2, 4, 2), sqrt(2.0), 1e-7, 0),
       "centroid and paired gap of e1 vs e2 are sqrt(2)");
    /* Centroid gap is not the paired gap: shuffled pairs keep the centroids. */
    float s1[4] = {1, 0, 0, 1}, s2[4] = {0, 1, 1, 0};
    ok(cwb_gap_centroid(s1, s2, 2, 2) == 0.0 && tap_close(cwb_gap_paired(s1, s2, 2, 2), sqrt(2.0), 1e-7, 0),
       "swapped pairs: centroid gap 0, paired gap sqrt(2)");

    /* Collapse: +-e1 in 2-D gives per-dimension std (1, 0), mean 0.5. */
    float c[8] = {1, 0, -1, 0, 1, 0, -1, 0};
    ok(tap_close(cwb_collapse_std(c, 4, 2), 0.5, 1e-12, 0), "collapse std of +-e1 is 0.5");
    /* Uniform on the sphere: each coordinate has variance 1/k. */
    const int nu = 20000, ku = 16;
    float *u = random_rows(r, nu, ku);
    double cs = cwb_collapse_std(u, nu, ku);
    ok(fabs(cs - 1 / sqrt((double)ku)) < 0.005, "collapse std of uniform sphere points %.4f ~ 1/sqrt(k) = %.4f", cs,
       1 / sqrt((double)ku));
    free(u);
    free(a);
    free(b);
}

static double uniformity_ref(const float *x, int n, int k) {
    double s = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double d2 = 0;
            for (int t = 0; t < k; t++) d2 += ((double)x[i * k + t] - x[j * k + t]) * ((double)x[i * k + t] - x[j * k + t]);
            s += exp(-2 * d2);
        }
    return log(s / (0.5 * n * (n - 1)));
}

static void test_uniformity(cwb_rng *r) {
    float two[4] = {1, 0, 0, 1};
    ok(tap_close(cwb_uniformity(two, 2, 2, 0), -4.0, 1e-6, 0), "two orthogonal unit points: uniformity -4");
    /* Three points at 120 degrees: all squared distances 3 -> -6. */
    float tri[6] = {1, 0, -0.5f, (float)(sqrt(3) / 2), -0.5f, (float)(-sqrt(3) / 2)};
    ok(tap_close(cwb_uniformity(tri, 3, 2, 0), -6.0, 1e-6, 0), "equilateral triangle: uniformity -6");
    /* Far apart: exp(-1800) underflows a naive sum, not the log-sum-exp. */
    float far[2] = {0, 30};
    ok(tap_close(cwb_uniformity(far, 2, 1, 0), -1800.0, 1e-9, 0), "points 30 apart: uniformity -1800 (no underflow)");
    float far3[3] = {0, 30, 60}; /* pairs: 900, 900, 3600 -> log((2 e^-1800 + e^-7200)/3) */
    ok(tap_close(cwb_uniformity(far3, 3, 1, 1), -1800 + log(2.0 / 3.0), 1e-9, 0), "far points across blocks stay finite");

    const int n = 157, k = 9;
    float *x = random_rows(r, n, k);
    double ref = uniformity_ref(x, n, k);
    double u0 = cwb_uniformity(x, n, k, 0), u1 = cwb_uniformity(x, n, k, 1), u7 = cwb_uniformity(x, n, k, 7),
           un = cwb_uniformity(x, n, k, n);
    ok(tap_close(u0, ref, 1e-5, 1e-6), "uniformity equals a direct double computation (%.6f vs %.6f)", u0, ref);
    ok(tap_close(u1, un, 1e-6, 1e-7) && tap_close(u7, un, 1e-6, 1e-7) && tap_close(u0, un, 1e-6, 1e-7),
       "uniformity: chunks 1, 7, 256 equal unchunked");
    cwb_clear_error();
    ok(isnan(cwb_uniformity(x, 1, k, 0)) && msg_has("2 points"), "uniformity of one point is NaN with a message");
    cwb_clear_error();
    ok(isnan(cwb_uniformity(x, n, k, -1)) && msg_has("chunk"), "uniformity rejects a negative chunk");
    x[5] = NAN;
    cwb_clear_error();
    ok(isnan(cwb_uniformity(x, n, k, 0)) && msg_has("NaN"), "uniformity rejects NaN input");
    free(x);
}

/* Rank of query i with ties against it, by double dot products. */
static void recall_ref(const float *a, const float *b, int n, int k, const int *ks, int nk, double *out) {
    for (int t = 0; t < nk; t++) out[t] = 0;
    for (int i = 0; i < n; i++) {
        double pos = dotd(a + i * k, b + i * k, k);
        int rank = 0;
        for (int j = 0; j < n; j++)
            if (j != i && dotd(a + i * k, b + j * k, k) >= pos) rank++;
        for (int t = 0; t < nk; t++)
            if (rank < ks[t]) out[t] += 1.0 / n;
    }
}

static void test_recall(cwb_rng *r) {
    /* k = 1, a_i = 1, b_j = j: the rank of query i is n-1-i, so recall@K = K/n. */
    const int n1 = 20;
    float a1[20], b1[20];
    for (int i = 0; i < n1; i++) {
        a1[i] = 1;
        b1[i] = (float)i;
    }
    int ks1[4] = {1, 3, 10, 20};
    double o1[4];
    ok(cwb_recall_at(a1, b1, n1, 1, 6, ks1, 4, o1) == CWB_OK && o1[0] == 1.0 / 20 && o1[1] == 3.0 / 20 &&
           o1[2] == 10.0 / 20 && o1[3] == 1.0,
       "hand-made ranks: recall@{1,3,10,20} = {1,3,10,20}/20");
    /* All b identical: every query ties with n-1 others, and ties count against. */
    for (int i = 0; i < n1; i++) b1[i] = 2;
    int ks2[3] = {1, 19, 20};
    double o2[3];
    cwb_recall_at(a1, b1, n1, 1, 0, ks2, 3, o2);
    ok(o2[0] == 0 && o2[1] == 0 && o2[2] == 1, "ties count against the query (recall@1 = recall@19 = 0, @20 = 1)");

    const int n = 300, k = 8;
    float *a = random_rows(r, n, k);
    float *b = noisy_copy(r, a, n, k, 0.6f);
    int ks[7] = {1, 2, 5, 10, 50, 299, 300};
    double o[7], ref[7], oc[7], on[7], t1;
    ok(cwb_recall_at(a, b, n, k, 0, ks, 7, o) == CWB_OK, "recall on noisy pairs");
    recall_ref(a, b, n, k, ks, 7, ref);
    int mono = 1, same = 1;
    for (int t = 0; t < 7; t++) {
        if (t) mono &= o[t] >= o[t - 1];
        same &= fabs(o[t] - ref[t]) < 1e-12;
    }
    diag("recall@1,2,5,10,50 = %.3f %.3f %.3f %.3f %.3f", o[0], o[1], o[2], o[3], o[4]);
    ok(mono && o[0] < 1 && o[6] == 1.0, "recall@K is monotone in K and reaches 1 at K = n");
    ok(same, "recall equals a direct double computation");
    cwb_recall_at(a, b, n, k, 1, ks, 7, oc);
    cwb_recall_at(a, b, n, k, n, ks, 7, on);
    ok(!memcmp(oc, on, sizeof o) && !memcmp(o, on, sizeof o), "recall: chunks 1, 256 equal unchunked");
    ok(cwb_top1(a, b, n, k, 17, &t1) == CWB_OK && t1 == o[0], "top1 equals recall@1");

    int bad0[2] = {1, 0};
    cwb_clear_error();
    ok(cwb_recall_at(a, b, n, k, 0, bad0, 2, o) == CWB_EINVAL && msg_has("ks[1]"), "recall rejects K = 0");
    cwb_clear_error();
    ok(cwb_recall_at(a, b, n, k, 0, ks, 0, o) == CWB_EINVAL && msg_has("nk"), "recall rejects nk = 0");
    cwb_clear_error();
    ok(cwb_recall_at(a, b, n, k, -3, ks, 1, o) == CWB_EINVAL && msg_has("chunk"), "recall rejects chunk < 0");
    cwb_clear_error();
    ok(cwb_recall_at(NULL, b, n, k, 0, ks, 1, o) == CWB_EINVAL && msg_has("NULL"), "recall rejects NULL input");
    cwb_clear_error();
    ok(cwb_top1(a, b, 0, k, 0, &t1) == CWB_EINVAL && msg_has("shape"), "top1 rejects n = 0");
    cwb_clear_error();
    ok(cwb_top1(a, b, n, k, 0, NULL) == CWB_EINVAL && msg_has("NULL"), "top1 rejects a NULL output");
    free(a);
    free(b);
}

/* Direct double reference, log-sum-exp so that it holds at any scale. */
static double poploss_ref(const float *a, const float *b, int n, int k, double scale) {
    double L = 0;
    for (int i = 0; i < n; i++) {
        double mx = -INFINITY, z = 0;
        for (int j = 0; j < n; j++) mx = fmax(mx, scale * dotd(a + i * k, b + j * k, k));
        for (int j = 0; j < n; j++) z += exp(scale * dotd(a + i * k, b + j * k, k) - mx);
        L += -scale * dotd(a + i * k, b + i * k, k) + mx + log(z);
    }
    return L / n;
}

static void test_population(cwb_rng *r) {
    const int n = 23, k = 6;
    float *a = random_rows(r, n, k);
    float *b = noisy_copy(r, a, n, k, 0.5f);
    const double sc = 7.5;
    double L, d1, d2;
    ok(cwb_population_loss(a, b, n, k, sc, 0, &L, &d1, &d2) == CWB_OK, "population loss computed");
    double ref = poploss_ref(a, b, n, k, sc);
    ok(tap_close(L, ref, 1e-6, 1e-7), "population loss equals a direct double computation (%.8f vs %.8f)", L, ref);

    /* Central differences in scale; the loss is a smooth function of scale
     * for the fixed float similarities, so double differences are accurate. */
    const double h = 1e-4;
    double Lp, Lm;
    cwb_population_loss(a, b, n, k, sc + h, 0, &Lp, NULL, NULL);
    cwb_population_loss(a, b, n, k, sc - h, 0, &Lm, NULL, NULL);
    double fd1 = (Lp - Lm) / (2 * h), fd2 = (Lp - 2 * L + Lm) / (h * h);
    ok(tap_close(d1, fd1, 1e-6, 1e-9), "d1 matches central difference (%.8f vs %.8f)", d1, fd1);
    ok(tap_close(d2, fd2, 1e-5, 1e-8), "d2 matches second central difference (%.8f vs %.8f)", d2, fd2);
    ok(d2 > 0, "loss is convex in scale (d2 = %.5f)", d2);

    /* Large scale: exp(2000) overflows a naive sum, not the log-sum-exp. */
    double Lbig = NAN, refbig = poploss_ref(a, b, n, k, 2000);
    int rcbig = cwb_population_loss(a, b, n, k, 2000, 0, &Lbig, NULL, NULL);
    ok(rcbig == CWB_OK && tap_close(Lbig, refbig, 1e-5, 1e-5),
       "scale 2000: finite loss equal to the reference (%.4f vs %.4f)", Lbig, refbig);

    /* Chunks */
    const int n2 = 131, k2 = 5;
    float *a2 = random_rows(r, n2, k2), *b2 = noisy_copy(r, a2, n2, k2, 0.8f);
    double Lc[4], D1[4], D2[4];
    int chunks[4] = {1, 9, 0, n2};
    for (int t = 0; t < 4; t++) cwb_population_loss(a2, b2, n2, k2, 4.0, chunks[t], &Lc[t], &D1[t], &D2[t]);
    int same = 1;
    for (int t = 0; t < 3; t++)
        same &= tap_close(Lc[t], Lc[3], 1e-9, 1e-12) && tap_close(D1[t], D1[3], 1e-7, 1e-9) &&
                tap_close(D2[t], D2[3], 1e-7, 1e-9);
    ok(same, "population loss and derivatives: chunks 1, 9, 256 equal unchunked");
    double refc = poploss_ref(a2, b2, n2, k2, 4.0);
    ok(tap_close(Lc[0], refc, 1e-6, 1e-7), "chunked population loss equals the double reference");

    cwb_clear_error();
    ok(cwb_population_loss(a, b, n, k, NAN, 0, &L, NULL, NULL) == CWB_EINVAL && msg_has("scale"),
       "population loss rejects a NaN scale");
    cwb_clear_error();
    ok(cwb_population_loss(a, b, n, 0, 1, 0, &L, NULL, NULL) == CWB_EINVAL && msg_has("shape"),
       "population loss rejects k = 0");
    cwb_clear_error();
    ok(cwb_population_loss(a, b, n, k, 1, -1, &L, NULL, NULL) == CWB_EINVAL && msg_has("chunk"),
       "population loss rejects chunk < 0");
    a[3] = NAN;
    cwb_clear_error();
    ok(cwb_population_loss(a, b, n, k, 1, 0, &L, NULL, NULL) == CWB_ENAN && msg_has("non-finite"),
       "population loss reports NaN input");
    free(a);
    free(b);
    free(a2);
    free(b2);
}

static void test_bad_simple(void) {
    float x[4] = {1, 0, 0, 1};
    cwb_clear_error();
    ok(isnan(cwb_alignment(NULL, x, 2, 2)) && msg_has("NULL"), "alignment of NULL is NaN with a message");
    cwb_clear_error();
    ok(isnan(cwb_gap_centroid(x, x, 0, 2)) && msg_has("shape"), "gap of n = 0 is NaN with a message");
    cwb_clear_error();
    ok(isnan(cwb_gap_paired(x, x, 2, -1)) && isnan(cwb_collapse_std(x, 0, 2)) && msg_has("shape"),
       "paired gap and collapse reject bad shapes");
}

int main(void) {
    cwb_rng r;
    cwb_rng_seed(&r, 2024, CWB_STREAM_USER);
    test_simple_metrics(&r);
    test_uniformity(&r);
    test_recall(&r);
    test_population(&r);
    test_bad_simple();
    return done_testing();
}
