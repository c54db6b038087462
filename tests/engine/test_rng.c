/* test_rng.c - reproducibility of the streams and the moments of every sampler.
 *
 * Moment checks allow 4 standard errors of the estimator (the standard error
 * of a sample variance comes from the fourth central moment), so a correct
 * sampler fails about once in 16,000 runs per check while a wrong shape, rate
 * or scale is off by hundreds of standard errors. */
#include "engine/core/rng.h"
#include "../tap.h"

#include <stdint.h>
#include <string.h>

#define N_MOM 200000

/* Sample mean and (unbiased) variance of n draws, accumulated in double. */
typedef struct { double mean, var; } moments;

static moments sample_moments(const double *x, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += x[i];
    double mu = s / n, ss = 0;
    for (long i = 0; i < n; i++) ss += (x[i] - mu) * (x[i] - mu);
    moments m = {mu, ss / (n - 1)};
    return m;
}

/* |est - want| within k standard errors. */
static int within(double est, double want, double se, double k) {
    return isfinite(est) && fabs(est - want) <= k * se;
}

static void test_reproducible(void) {
    cwb_rng a, b;
    cwb_rng_seed(&a, 42, CWB_STREAM_DATA);
    cwb_rng_seed(&b, 42, CWB_STREAM_DATA);
    int same = 1;
    for (int i = 0; i < 1000; i++)
        if (cwb_rng_u64(&a) != cwb_rng_u64(&b)) same = 0;
    /* Mixed samplers, including the cached Box-Muller spare and gamma's
     * rejection loop: the whole state must follow the seed. */
    for (int i = 0; i < 1000; i++) {
        double x = cwb_rng_normal(&a), y = cwb_rng_normal(&b);
        double g = cwb_rng_gamma(&a, 0.7, 2.0), h = cwb_rng_gamma(&b, 0.7, 2.0);
        if (memcmp(&x, &y, sizeof x) || memcmp(&g, &h, sizeof g)) same = 0;
    }
    ok(same, "same (seed, stream) gives bit-identical u64, normal and gamma sequences");

    /* Re-seeding resets the state, including a pending normal spare. */
    cwb_rng_seed(&a, 7, 3);
    (void)cwb_rng_normal(&a);          /* leaves a spare behind */
    cwb_rng_seed(&a, 7, 3);
    cwb_rng_seed(&b, 7, 3);
    double x = cwb_rng_normal(&a), y = cwb_rng_normal(&b);
    ok(x == y, "re-seeding discards the cached Box-Muller spare");

    /* Both Box-Muller values are used: a pair of normals costs two uniforms
     * (u1 = 0 is rejected, probability 2^-53). */
    cwb_rng_seed(&a, 9, 9);
    cwb_rng_seed(&b, 9, 9);
    (void)cwb_rng_normal(&a);
    (void)cwb_rng_normal(&a);
    (void)cwb_rng_u64(&b);
    (void)cwb_rng_u64(&b);
    ok(cwb_rng_u64(&a) == cwb_rng_u64(&b), "two normals consume exactly two u64 draws");

    cwb_rng c, d, e;
    cwb_rng_seed(&c, 42, 1);
    cwb_rng_seed(&d, 43, 1);
    cwb_rng_seed(&e, 42, 2);
    int eq_seed = 0, eq_stream = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t u = cwb_rng_u64(&c), v = cwb_rng_u64(&d), w = cwb_rng_u64(&e);
        eq_seed += u == v;
        eq_stream += u == w;
    }
    ok(eq_seed == 0, "different seeds give different sequences (%d equal of 1000)", eq_seed);
    ok(eq_stream == 0, "different streams give different sequences (%d equal of 1000)", eq_stream);

    /* Streams of one seed must not be shifted copies of each other. */
    cwb_rng_seed(&c, 42, 1);
    cwb_rng_seed(&e, 42, 2);
    uint64_t first_e = cwb_rng_u64(&e);
    int found = 0;
    for (int i = 0; i < 100000; i++)
        if (cwb_rng_u64(&c) == first_e) found = 1;
    ok(!found, "stream 2's first value does not appear in stream 1's first 100k values");

    cwb_rng z;
    cwb_rng_seed(&z, 0, 0);
    ok(z.s[0] | z.s[1] | z.s[2] | z.s[3], "seed (0, 0) gives a non-zero xoshiro state");
}

static void test_uniform(double *buf) {
    cwb_rng r;
    cwb_rng_seed(&r, 1, CWB_STREAM_USER);
    int in_range = 1;
    for (long i = 0; i < N_MOM; i++) {
        buf[i] = cwb_rng_uniform(&r);
        if (!(buf[i] >= 0.0 && buf[i] < 1.0)) in_range = 0;
    }
    ok(in_range, "uniform draws lie in [0, 1)");
    moments m = sample_moments(buf, N_MOM);
    /* Var U = 1/12; Var of (U - 1/2)^2 = 1/80 - 1/144 = 1/180. */
    ok(within(m.mean, 0.5, sqrt(1.0 / 12 / N_MOM), 4),
       "uniform mean %.5f ~ 0.5", m.mean);
    ok(within(m.var, 1.0 / 12, sqrt(1.0 / 180 / N_MOM), 4),
       "uniform variance %.5f ~ 1/12", m.var);
}

static void test_normal(double *buf) {
    cwb_rng r;
    cwb_rng_seed(&r, 2, CWB_STREAM_USER);
    for (long i = 0; i < N_MOM; i++) buf[i] = cwb_rng_normal(&r);
    moments m = sample_moments(buf, N_MOM);
    ok(within(m.mean, 0.0, 1.0 / sqrt(N_MOM), 4), "normal mean %.5f ~ 0", m.mean);
    /* Var(s^2) = (mu4 - sigma^4)/n = 2/n for a standard normal. */
    ok(within(m.var, 1.0, sqrt(2.0 / N_MOM), 4), "normal variance %.5f ~ 1", m.var);
    /* E x^4 = 3, Var x^4 = 105 - 9 = 96: catches a wrong-shaped distribution
     * with the right first two moments. */
    double k4 = 0;
    for (long i = 0; i < N_MOM; i++) k4 += buf[i] * buf[i] * buf[i] * buf[i];
    k4 /= N_MOM;
    ok(within(k4, 3.0, sqrt(96.0 / N_MOM), 4), "normal fourth moment %.4f ~ 3", k4);
    /* Both Box-Muller values are used: consecutive pairs are uncorrelated. */
    double c = 0;
    for (long i = 0; i + 1 < N_MOM; i += 2) c += buf[i] * buf[i + 1];
    c /= N_MOM / 2;
    ok(within(c, 0.0, sqrt(2.0 / N_MOM), 4), "consecutive normals uncorrelated (%.5f)", c);

    float f[N_MOM / 4];
    cwb_rng_fill_normal(&r, f, N_MOM / 4, 3.0f, 0.5f);
    for (long i = 0; i < N_MOM / 4; i++) buf[i] = f[i];
    m = sample_moments(buf, N_MOM / 4);
    ok(within(m.mean, 3.0, 0.5 / sqrt(N_MOM / 4), 4), "fill_normal mean %.4f ~ 3", m.mean);
    ok(within(m.var, 0.25, 0.25 * sqrt(2.0 / (N_MOM / 4)), 4),
       "fill_normal variance %.5f ~ 0.25", m.var);
}

static void test_gamma(double *buf) {
    static const double shapes[] = {0.3, 1.0, 5.0, 0.3, 5.0};
    static const double rates[] = {1.0, 1.0, 1.0, 2.5, 0.4};
    cwb_rng r;
    cwb_rng_seed(&r, 3, CWB_STREAM_LOSS);
    for (int t = 0; t < 5; t++) {
        double k = shapes[t], rate = rates[t];
        int positive = 1;
        for (long i = 0; i < N_MOM; i++) {
            buf[i] = cwb_rng_gamma(&r, k, rate);
            if (!(buf[i] >= 0.0) || !isfinite(buf[i])) positive = 0;
        }
        ok(positive, "gamma(%.1f, %.1f) draws are finite and non-negative", k, rate);
        moments m = sample_moments(buf, N_MOM);
        double mean = k / rate, var = k / (rate * rate);
        /* Central fourth moment of a gamma: sigma^4 (3 + 6/k), so
         * Var(s^2) ~ (mu4 - sigma^4)/n = (2k^2 + 6k) / (rate^4 n). */
        double se_var = sqrt((2 * k * k + 6 * k) / pow(rate, 4) / N_MOM);
        ok(within(m.mean, mean, sqrt(var / N_MOM), 4),
           "gamma(%.1f, rate %.1f) mean %.5f ~ %.5f", k, rate, m.mean, mean);
        ok(within(m.var, var, se_var, 4),
           "gamma(%.1f, rate %.1f) variance %.5f ~ %.5f", k, rate, m.var, var);
    }
    ok(isnan(cwb_rng_gamma(&r, 0.0, 1.0)), "gamma shape 0 -> NaN");
    ok(isnan(cwb_rng_gamma(&r, -1.0, 1.0)), "gamma shape -1 -> NaN");
    ok(isnan(cwb_rng_gamma(&r, 1.0, 0.0)), "gamma rate 0 -> NaN");
    ok(isnan(cwb_rng_gamma(&r, 1.0, -2.0)), "gamma rate -2 -> NaN");
    ok(isnan(cwb_rng_gamma(&r, NAN, 1.0)), "gamma shape NaN -> NaN");
    ok(isnan(cwb_rng_gamma(&r, 1.0, INFINITY)), "gamma rate inf -> NaN");
    ok(isnan(cwb_rng_gamma(&r, INFINITY, 1.0)), "gamma shape inf -> NaN");
}

static void test_permutation(void) {
    enum { N = 10, REPS = 20000 };
    cwb_rng r;
    cwb_rng_seed(&r, 4, CWB_STREAM_BATCH);
    int p[N];
    double sum[N] = {0};
    long count0[N] = {0};            /* value counts at position 0 */
    int all_perm = 1;
    for (int rep = 0; rep < REPS; rep++) {
        cwb_rng_permutation(&r, p, N);
        int seen[N] = {0};
        for (int i = 0; i < N; i++) {
            if (p[i] < 0 || p[i] >= N || seen[p[i]]++) all_perm = 0;
            else sum[i] += p[i];
        }
        if (p[0] >= 0 && p[0] < N) count0[p[0]]++;
    }
    ok(all_perm, "every output is a permutation of 0..%d", N - 1);
    /* A uniform position holds each value with prob 1/N: variance (N^2-1)/12. */
    double se = sqrt((N * N - 1) / 12.0 / REPS);
    int bad = 0;
    for (int i = 0; i < N; i++)
        if (!within(sum[i] / REPS, (N - 1) / 2.0, se, 4)) {
            bad++;
            diag("position %d mean %.4f", i, sum[i] / REPS);
        }
    ok(bad == 0, "each position's mean is (n-1)/2 within 4 SE");
    /* Chi-square of the first position's values, 9 df: P(chi2 > 27.88) = 0.001. */
    double chi = 0, e = (double)REPS / N;
    for (int v = 0; v < N; v++) chi += (count0[v] - e) * (count0[v] - e) / e;
    ok(chi < 27.88, "position 0 uniform over values (chi2 = %.2f, 9 df)", chi);

    int one = -5;
    cwb_rng_permutation(&r, &one, 1);
    ok(one == 0, "permutation of 1 element is {0}");
    cwb_rng_permutation(&r, NULL, 0);   /* n = 0 must not touch p (sanitizers) */
}

static void test_below(void) {
    cwb_rng r;
    cwb_rng_seed(&r, 5, CWB_STREAM_USER + 1);
    /* Small n: chi-square over the 7 cells, 6 df: P(chi2 > 22.46) = 0.001. */
    enum { NB = 7, DRAWS = 140000 };
    long cnt[NB] = {0};
    int in_range = 1;
    for (long i = 0; i < DRAWS; i++) {
        uint64_t v = cwb_rng_below(&r, NB);
        if (v >= NB) in_range = 0;
        else cnt[v]++;
    }
    ok(in_range, "below(7) stays in [0, 7)");
    double chi = 0, e = (double)DRAWS / NB;
    for (int v = 0; v < NB; v++) chi += (cnt[v] - e) * (cnt[v] - e) / e;
    ok(chi < 22.46, "below(7) uniform (chi2 = %.2f, 6 df)", chi);

    int ones = 1;
    for (int i = 0; i < 100; i++) ones &= cwb_rng_below(&r, 1) == 0;
    ok(ones, "below(1) is always 0");

    /* n = 3/4 of 2^64: any map of 64 random bits onto [0, n) without
     * rejection gives a third of the values two pre-images.  `u64 % n` makes
     * P(v < n/3) = 1/2, Lemire's multiply-shift without its rejection step
     * makes P(v = 0 mod 3) = 1/2; both must be 1/3. */
    const uint64_t n = (uint64_t)3 << 62;
    long lo = 0, mod3 = 0, big_ok = 1;
    for (long i = 0; i < DRAWS; i++) {
        uint64_t v = cwb_rng_below(&r, n);
        if (v >= n) big_ok = 0;
        lo += v < n / 3;
        mod3 += v % 3 == 0;
    }
    double se = sqrt(2.0 / 9 / DRAWS);
    ok(big_ok, "below(3/4 * 2^64) stays below n");
    ok(within((double)lo / DRAWS, 1.0 / 3, se, 4),
       "below(3/4 * 2^64) unbiased: P(v < n/3) = %.4f ~ 1/3", (double)lo / DRAWS);
    ok(within((double)mod3 / DRAWS, 1.0 / 3, se, 4),
       "below(3/4 * 2^64) unbiased: P(v = 0 mod 3) = %.4f ~ 1/3", (double)mod3 / DRAWS);
}

int main(void) {
    static double buf[N_MOM];
    test_reproducible();
    test_uniform(buf);
    test_normal(buf);
    test_gamma(buf);
    test_permutation();
    test_below();
    return done_testing();
}
