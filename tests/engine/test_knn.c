/* test_knn.c - the weighted cosine kNN (knn.h): the InstDisc weighting by
 * hand on a tiny case where it overrules the majority, cosine invariance,
 * leave-one-out, ties, agreement with a brute-force double reference, and
 * the error cases. */
#include "engine/eval/knn.h"
#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "../tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

static void at_angle(float *row, double deg, double r) {
    row[0] = (float)(r * cos(deg * PI / 180));
    row[1] = (float)(r * sin(deg * PI / 180));
}

static void test_hand(void) {
    /* query at 0 degrees; class 0 at 10 degrees, class 1 at 40 and 45, class 2
     * at 120 (not among k = 3).  Majority: class 1.  Weighted (T = 0.07):
     *   class 0: exp(cos 10 / 0.07) = exp(14.0685) = 1.2877e6
     *   class 1: exp(cos 40 / 0.07) + exp(cos 45 / 0.07)
     *          = exp(10.9433) + exp(10.1015) = 5.6552e4 + 2.4373e4 = 8.0925e4
     * so class 0 wins; with T = 1 the weights are nearly equal and class 1 wins
     * (e^0.985 = 2.677 < e^0.766 + e^0.707 = 4.179). */
    float train[8], q[2];
    int y[4] = {0, 1, 1, 2}, pred = -1;
    at_angle(train, 10, 1);
    at_angle(train + 2, 40, 3);    /* lengths do not matter: cosine */
    at_angle(train + 4, 45, 0.5);
    at_angle(train + 6, 120, 1);
    at_angle(q, 0, 2);
    int yq = 0;
    double acc = -1;
    int st = cwb_knn_weighted(train, y, 4, q, &yq, 1, 2, 3, 3, 0.07, 0, &acc, &pred);
    ok(st == CWB_OK && pred == 0 && acc == 1, "hand: weights exp(s/0.07) let the nearest class 0 "
       "beat two farther class-1 neighbours (pred %d)", pred);
    st = cwb_knn_weighted(train, y, 4, q, NULL, 1, 2, 3, 3, 1.0, 0, NULL, &pred);
    ok(st == CWB_OK && pred == 1, "hand: at temperature 1 the weights are flat and the majority "
       "(class 1) wins (pred %d)", pred);
    st = cwb_knn_weighted(train, y, 4, q, NULL, 1, 2, 3, 1, 0.07, 0, NULL, &pred);
    ok(st == CWB_OK && pred == 0, "hand: k = 1 is the nearest neighbour's class");

    /* equal similarities: the lower training index ranks first; k = 1 */
    float two[4] = {1, 0, 2, 0}, one[2] = {1, 0};
    int y2[2] = {1, 0};
    st = cwb_knn_weighted(two, y2, 2, one, NULL, 1, 2, 2, 1, 0.07, 0, NULL, &pred);
    ok(st == CWB_OK && pred == 1, "ties in similarity: the lower training index is the neighbour");
    /* equal scores: the lower class */
    y2[0] = 1;
    y2[1] = 0;
    st = cwb_knn_weighted(two, y2, 2, one, NULL, 1, 2, 2, 2, 0.07, 0, NULL, &pred);
    ok(st == CWB_OK && pred == 0, "ties in the vote: the lower class");
    /* a zero row has similarity 0: the query's neighbour is the positive one */
    float z[4] = {0, 0, 1, 0.1f};
    int yz[2] = {0, 1};
    st = cwb_knn_weighted(z, yz, 2, one, NULL, 1, 2, 2, 1, 0.07, 0, NULL, &pred);
    ok(st == CWB_OK && pred == 1, "a zero training row has similarity 0, not NaN");
}

/* Brute force in double: the same rule written plainly. */
static int ref_predict(const float *tr, const int *y, int n, const float *q, int k, int K, int knn,
                       double T, int skip) {
    double *s = malloc((size_t)n * sizeof *s), *score = calloc((size_t)K, sizeof *score);
    int *used = calloc((size_t)n, sizeof *used);
    double qn = 0;
    for (int j = 0; j < k; j++) qn += (double)q[j] * q[j];
    for (int i = 0; i < n; i++) {
        double d = 0, tn = 0;
        for (int j = 0; j < k; j++) {
            d += (double)q[j] * tr[i * k + j];
            tn += (double)tr[i * k + j] * tr[i * k + j];
        }
        s[i] = d / sqrt(qn * tn);
    }
    if (skip >= 0) used[skip] = 1;
    for (int t = 0; t < knn; t++) {
        int b = -1;
        for (int i = 0; i < n; i++)
            if (!used[i] && (b < 0 || s[i] > s[b])) b = i;
        used[b] = 1;
        score[y[b]] += exp(s[b] / T);
    }
    int c = 0;
    for (int l = 1; l < K; l++)
        if (score[l] > score[c]) c = l;
    free(s);
    free(score);
    free(used);
    return c;
}

static void test_reference(void) {
    enum { N = 300, M = 200, D = 6, K = 4 };
    float *tr = malloc(sizeof(float) * N * D), *te = malloc(sizeof(float) * M * D);
    int ytr[N], yte[M], pred[M], pl[N];
    cwb_rng r;
    cwb_rng_seed(&r, 5, CWB_STREAM_USER);
    float centres[K][D];
    for (int c = 0; c < K; c++)
        for (int j = 0; j < D; j++) centres[c][j] = (float)cwb_rng_normal(&r);
    for (int i = 0; i < N + M; i++) {
        int c = (int)cwb_rng_below(&r, K);
        float *row = i < N ? tr + i * D : te + (i - N) * D;
        for (int j = 0; j < D; j++) row[j] = centres[c][j] + 0.8f * (float)cwb_rng_normal(&r);
        if (i < N) ytr[i] = c;
        else yte[i - N] = c;
    }
    double acc;
    int st = cwb_knn_weighted(tr, ytr, N, te, yte, M, D, K, 20, 0.07, 0, &acc, pred);
    int agree = st == CWB_OK;
    long hit = 0;
    for (int i = 0; agree && i < M; i++) {
        agree &= pred[i] == ref_predict(tr, ytr, N, te + i * D, D, K, 20, 0.07, -1);
        hit += pred[i] == yte[i];
    }
    ok(agree && acc == (double)hit / M, "300 x 200 blobs: every prediction equals a double brute "
       "force (accuracy %.3f)", acc);
    st = cwb_knn_weighted(tr, ytr, N, tr, ytr, N, D, K, 20, 0.07, 1, &acc, pl);
    agree = st == CWB_OK;
    for (int i = 0; agree && i < N; i++) agree &= pl[i] == ref_predict(tr, ytr, N, tr + i * D, D, K, 20, 0.07, i);
    ok(agree, "leave-one-out: each row's own copy is not its neighbour (accuracy %.3f)", acc);
    double acc_self;
    cwb_knn_weighted(tr, ytr, N, tr, ytr, N, D, K, 1, 0.07, 0, &acc_self, NULL);
    ok(acc_self == 1.0, "without leave-one-out a training row is its own nearest neighbour (k = 1: %.3f)",
       acc_self);
    /* scaling rows changes nothing (cosine) */
    float *tr2 = malloc(sizeof(float) * N * D);
    for (int i = 0; i < N * D; i++) tr2[i] = tr[i] * (float)(1 + i / D % 7);
    int pred2[M];
    cwb_knn_weighted(tr2, ytr, N, te, NULL, M, D, K, 20, 0.07, 0, NULL, pred2);
    ok(!memcmp(pred, pred2, sizeof pred), "scaling the training rows leaves the predictions unchanged");
    free(tr2);
    free(tr);
    free(te);
}

static void test_bad(void) {
    float x[4] = {1, 0, 0, 1};
    int y[2] = {0, 1}, bad[2] = {0, 2};
    double acc;
#define BAD(call, word)                                                                     \
    cwb_clear_error();                                                                      \
    ok((call) != CWB_OK && strstr(cwb_errmsg(), word) && !strchr(cwb_errmsg(), '\n'),       \
       "%s: \"%s\"", word, cwb_errmsg())
    BAD(cwb_knn_weighted(x, y, 2, x, y, 2, 2, 2, 3, 0.07, 0, &acc, NULL), "k = 3 neighbours outside 1..2");
    BAD(cwb_knn_weighted(x, y, 2, x, y, 2, 2, 2, 2, 0.07, 1, &acc, NULL), "outside 1..1");
    BAD(cwb_knn_weighted(x, y, 2, x, y, 1, 2, 2, 1, 0.07, 1, &acc, NULL), "leave-one-out needs");
    BAD(cwb_knn_weighted(x, bad, 2, x, y, 2, 2, 2, 1, 0.07, 0, &acc, NULL), "training label[1] = 2 outside 0..1");
    BAD(cwb_knn_weighted(x, y, 2, x, bad, 2, 2, 2, 1, 0.07, 0, &acc, NULL), "test label[1] = 2");
    BAD(cwb_knn_weighted(x, y, 2, x, y, 2, 2, 2, 1, 0, 0, &acc, NULL), "temperature = 0");
    BAD(cwb_knn_weighted(x, y, 2, x, NULL, 2, 2, 2, 1, 0.07, 0, &acc, NULL), "test labels");
    float n[4] = {1, NAN, 0, 1};
    BAD(cwb_knn_weighted(x, y, 2, n, y, 2, 2, 2, 1, 0.07, 0, &acc, NULL), "non-finite value in the test rows");
}

int main(void) {
    test_hand();
    test_reference();
    test_bad();
    return done_testing();
}
