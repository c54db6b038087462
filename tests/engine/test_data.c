/* test_data.c - synthetic data, augmentations and the batch sampler (data.h). */
#include "engine/data/data.h"
#include "engine/core/error.h"
#include "../tap.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Mean and standard error of the mean of v[n] (double). */
static void mean_se(const double *v, int n, double *mean, double *se) {
    double m = 0, s = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m /= n;
    for (int i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
    *mean = m;
    *se = sqrt(s / (n - 1) / n);
}

static cwb_synth_cfg small_cfg(void) {
    cwb_synth_cfg c = cwb_synth_defaults();
    c.n = 1024;
    c.clusters = 8;
    c.latent_dim = 6;
    c.dim = 20;
    return c;
}

static void test_defaults(void) {
    cwb_synth_cfg c = cwb_synth_defaults();
    ok(c.n == 2048 && c.clusters == 16 && c.latent_dim == 16 && c.dim == 64 && c.spread == 0.5f &&
           c.obs_noise == 0.1f && c.nonlinear == 1,
       "synth defaults are the documented ones");
    cwb_aug_cfg a = cwb_aug_defaults();
    ok(a.jitter == 0.1f && a.mask == 0.1f && a.flip == 0.0f && a.scale == 0.2f,
       "augmentation defaults are the documented ones");
}

static void test_determinism(void) {
    cwb_synth_cfg c = small_cfg();
    cwb_dataset *a = cwb_synth_new(&c, 42), *b = cwb_synth_new(&c, 42), *o = cwb_synth_new(&c, 43);
    ok(a && b && o, "data sets created");
    if (!a || !b || !o) goto out;
    size_t nx = (size_t)c.n * c.dim;
    ok(!memcmp(a->x->data, b->x->data, nx * sizeof(float)) &&
           !memcmp(a->z->data, b->z->data, (size_t)c.n * c.latent_dim * sizeof(float)) &&
           !memcmp(a->labels, b->labels, (size_t)c.n * sizeof(int)),
       "same seed gives bit-identical x, z and labels");
    ok(memcmp(a->x->data, o->x->data, nx * sizeof(float)) != 0, "another seed gives other data");
    ok(a->n == c.n && a->dim == c.dim && a->clusters == c.clusters && a->x->rows == c.n &&
           a->x->cols == c.dim && a->z->cols == c.latent_dim,
       "shapes recorded");
out:
    cwb_dataset_free(a);
    cwb_dataset_free(b);
    cwb_dataset_free(o);
}

static void test_labels_and_grouping(void) {
    cwb_synth_cfg c = small_cfg();
    c.n = 8000;
    c.clusters = 16;
    cwb_dataset *d = cwb_synth_new(&c, 7);
    if (!ok(d != NULL, "data set for label checks")) return;
    int K = c.clusters;
    double expect = (double)c.n / K, chi2 = 0;
    int sorted = 1, inrange = 1;
    for (int k = 0; k < K; k++) {
        int cnt = d->cluster_start[k + 1] - d->cluster_start[k];
        chi2 += (cnt - expect) * (cnt - expect) / expect;
        for (int t = d->cluster_start[k]; t < d->cluster_start[k + 1]; t++) {
            if (d->labels[d->by_cluster[t]] != k) inrange = 0;
            if (t > d->cluster_start[k] && d->by_cluster[t] <= d->by_cluster[t - 1]) sorted = 0;
        }
    }
    /* chi-square with K-1 degrees of freedom: mean K-1, sd sqrt(2(K-1)) */
    ok(chi2 < (K - 1) + 4 * sqrt(2.0 * (K - 1)), "label counts uniform over clusters (chi2 %.1f, df %d)", chi2,
       K - 1);
    ok(d->cluster_start[0] == 0 && d->cluster_start[K] == c.n, "cluster offsets span all samples");
    ok(inrange && sorted, "by_cluster groups indices by label, ascending within a cluster");
    int *seen = calloc((size_t)c.n, sizeof(int)), perm = 1;
    for (int t = 0; t < c.n; t++) seen[d->by_cluster[t]]++;
    for (int i = 0; i < c.n; i++) perm &= seen[i] == 1;
    ok(perm, "by_cluster is a permutation of 0..N-1");
    free(seen);

    double worst = 0;
    for (int i = 0; i < c.n; i++) {
        double s = 0;
        for (int j = 0; j < c.latent_dim; j++) s += (double)d->z->data[(size_t)i * c.latent_dim + j] * d->z->data[(size_t)i * c.latent_dim + j];
        if (fabs(sqrt(s) - 1) > worst) worst = fabs(sqrt(s) - 1);
    }
    ok(worst < 1e-5, "latent points have unit norm (worst deviation %.2g)", worst);
    cwb_dataset_free(d);
}

/* Solve A x = b (n x n, double, Gaussian elimination with partial pivoting); b overwritten. */
static void solve(double *A, double *b, int n, int nrhs) {
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(A[r * n + c]) > fabs(A[p * n + c])) p = r;
        for (int j = 0; j < n; j++) { double t = A[c * n + j]; A[c * n + j] = A[p * n + j]; A[p * n + j] = t; }
        for (int j = 0; j < nrhs; j++) { double t = b[c * nrhs + j]; b[c * nrhs + j] = b[p * nrhs + j]; b[p * nrhs + j] = t; }
        for (int r = c + 1; r < n; r++) {
            double f = A[r * n + c] / A[c * n + c];
            for (int j = c; j < n; j++) A[r * n + j] -= f * A[c * n + j];
            for (int j = 0; j < nrhs; j++) b[r * nrhs + j] -= f * b[c * nrhs + j];
        }
    }
    for (int c = n - 1; c >= 0; c--)
        for (int j = 0; j < nrhs; j++) {
            double s = b[c * nrhs + j];
            for (int k = c + 1; k < n; k++) s -= A[c * n + k] * b[k * nrhs + j];
            b[c * nrhs + j] = s / A[c * n + c];
        }
}

static void test_observation_model(void) {
    cwb_synth_cfg c = small_cfg();
    c.nonlinear = 0;
    c.obs_noise = 0;
    const int n = c.n, m = c.latent_dim, dd = c.dim;
    cwb_dataset *lin = cwb_synth_new(&c, 11);
    c.nonlinear = 1;
    cwb_dataset *nl = cwb_synth_new(&c, 11);
    if (!ok(lin && nl, "linear and tanh data sets")) goto out;

    /* x = M z exactly: least squares recovers M and leaves no residual. */
    double *A = calloc((size_t)m * m, sizeof(double)), *Bm = calloc((size_t)m * dd, sizeof(double));
    const float *z = lin->z->data, *x = lin->x->data;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < m; a++) {
            for (int b = 0; b < m; b++) A[a * m + b] += (double)z[i * m + a] * z[i * m + b];
            for (int r = 0; r < dd; r++) Bm[a * dd + r] += (double)z[i * m + a] * x[i * dd + r];
        }
    solve(A, Bm, m, dd); /* Bm = M^T */
    double res = 0, msq = 0;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < dd; r++) {
            double p = 0;
            for (int a = 0; a < m; a++) p += Bm[a * dd + r] * z[i * m + a];
            if (fabs(p - x[i * dd + r]) > res) res = fabs(p - x[i * dd + r]);
        }
    for (int t = 0; t < m * dd; t++) msq += Bm[t] * Bm[t];
    msq /= m * dd;
    ok(res < 1e-4, "nonlinear=0, noise=0: x = M z exactly (max residual %.2g)", res);
    /* M_rc ~ N(0, 1/m): mean square 1/m with SE sqrt(2/(m d))/m */
    double se = sqrt(2.0 / (m * dd)) / m;
    ok(fabs(msq - 1.0 / m) < 4 * se, "mixing entries have variance 1/m (%.4f vs %.4f, SE %.4f)", msq, 1.0 / m, se);
    free(A);
    free(Bm);

    double worst = 0;
    for (size_t t = 0; t < (size_t)n * dd; t++)
        if (fabs(nl->x->data[t] - tanhf(x[t])) > worst) worst = fabs(nl->x->data[t] - tanhf(x[t]));
    ok(worst < 1e-6, "nonlinear=1 applies tanh to the same M z (worst %.2g)", worst);
out:
    cwb_dataset_free(lin);
    cwb_dataset_free(nl);
}

static void test_cluster_means(void) {
    cwb_synth_cfg c = small_cfg();
    c.nonlinear = 0;
    c.spread = 0;
    c.obs_noise = 0;
    const float sigma = 0.3f;
    cwb_dataset *clean = cwb_synth_new(&c, 5);
    c.obs_noise = sigma;
    cwb_dataset *noisy = cwb_synth_new(&c, 5);
    if (!ok(clean && noisy, "spread=0 data sets")) goto out;
    const int dd = c.dim, m = c.latent_dim;

    /* spread = 0: every member of a cluster sits on its centre, so x = M c. */
    int same = 1;
    for (int k = 0; k < c.clusters; k++) {
        int first = clean->by_cluster[clean->cluster_start[k]];
        for (int t = clean->cluster_start[k]; t < clean->cluster_start[k + 1]; t++) {
            int i = clean->by_cluster[t];
            same &= !memcmp(clean->z->data + (size_t)i * m, clean->z->data + (size_t)first * m, m * sizeof(float));
            same &= !memcmp(clean->x->data + (size_t)i * dd, clean->x->data + (size_t)first * dd, dd * sizeof(float));
        }
    }
    ok(same, "spread=0, noise=0: all members of a cluster share z = c and x = M c");

    /* With noise, the cluster mean of x estimates M c: the standardised
     * errors over K*d coordinates form a chi-square with K*d df. */
    double chi2 = 0;
    int df = 0;
    for (int k = 0; k < c.clusters; k++) {
        int nk = noisy->cluster_start[k + 1] - noisy->cluster_start[k];
        if (nk == 0) continue;
        const float *mc = clean->x->data + (size_t)clean->by_cluster[clean->cluster_start[k]] * dd;
        for (int r = 0; r < dd; r++) {
            double s = 0;
            for (int t = noisy->cluster_start[k]; t < noisy->cluster_start[k + 1]; t++)
                s += noisy->x->data[(size_t)noisy->by_cluster[t] * dd + r];
            double zs = (s / nk - mc[r]) / (sigma / sqrt((double)nk));
            chi2 += zs * zs;
            df++;
        }
    }
    ok(fabs(chi2 - df) < 4 * sqrt(2.0 * df), "cluster means of x equal M c within noise (chi2 %.1f, df %d)", chi2, df);

    /* The noise itself: difference noisy - clean has mean 0 and std sigma. */
    size_t nx = (size_t)c.n * dd;
    double s1 = 0, s2 = 0;
    for (size_t t = 0; t < nx; t++) {
        double e = noisy->x->data[t] - clean->x->data[t];
        s1 += e;
        s2 += e * e;
    }
    double mean = s1 / nx, sd = sqrt(s2 / nx - mean * mean);
    ok(fabs(mean) < 4 * sigma / sqrt((double)nx), "observation noise has mean 0 (%.4f)", mean);
    ok(fabs(sd - sigma) < 4 * sigma / sqrt(2.0 * nx), "observation noise has std obs_noise (%.4f vs %.2f)", sd, sigma);
out:
    cwb_dataset_free(clean);
    cwb_dataset_free(noisy);
}

static void test_synth_errors(void) {
    struct { const char *word; cwb_synth_cfg c; } cases[8];
    int nc = 0;
    cwb_synth_cfg c;
    c = small_cfg(); c.n = 0; cases[nc].word = "n ="; cases[nc++].c = c;
    c = small_cfg(); c.clusters = 0; cases[nc].word = "clusters"; cases[nc++].c = c;
    c = small_cfg(); c.latent_dim = -1; cases[nc].word = "latent_dim"; cases[nc++].c = c;
    c = small_cfg(); c.dim = 0; cases[nc].word = "dim"; cases[nc++].c = c;
    c = small_cfg(); c.spread = -0.5f; cases[nc].word = "spread"; cases[nc++].c = c;
    c = small_cfg(); c.obs_noise = NAN; cases[nc].word = "obs_noise"; cases[nc++].c = c;
    c = small_cfg(); c.nonlinear = 2; cases[nc].word = "nonlinear"; cases[nc++].c = c;
    c = small_cfg(); c.n = 1 << 28; c.dim = 64; cases[nc].word = "too large"; cases[nc++].c = c;
    for (int t = 0; t < nc; t++) {
        cwb_clear_error();
        cwb_dataset *d = cwb_synth_new(&cases[t].c, 1);
        ok(d == NULL && tu_msg_has(cases[t].word), "bad synth config rejected naming '%s': %s", cases[t].word,
           cwb_errmsg());
        cwb_dataset_free(d);
    }
    cwb_clear_error();
    ok(cwb_synth_new(NULL, 1) == NULL && tu_msg_has("NULL"), "NULL config rejected");
    cwb_dataset_free(NULL); /* must be a no-op */
}

static void test_gather(void) {
    cwb_tensor *x = cwb_tensor_new(5, 3);
    for (int t = 0; t < 15; t++) x->data[t] = (float)t;
    int idx[4] = {4, 0, 4, 2};
    float out[12];
    cwb_gather_rows(x, idx, 4, out);
    int good = 1;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) good &= out[i * 3 + j] == (float)(idx[i] * 3 + j);
    ok(good, "gather_rows copies the indexed rows");
    cwb_tensor_free(x);
}

/* ---- augmentations ---- */

static void test_augment(void) {
    const int B = 400, d = 50;
    const size_t nx = (size_t)B * d;
    float *x = malloc(nx * sizeof(float)), *o = malloc(nx * sizeof(float));
    cwb_rng r;
    cwb_rng_seed(&r, 3, CWB_STREAM_USER);
    for (size_t t = 0; t < nx; t++) {
        do x[t] = (float)cwb_rng_normal(&r); while (x[t] == 0.0f);
    }

    cwb_aug_cfg off = {0, 0, 0, 0};
    ok(cwb_augment(&off, x, o, B, d, &r) == CWB_OK && !memcmp(x, o, nx * sizeof(float)),
       "all strengths 0 copies the input");

    /* jitter: differences are N(0, jitter^2) */
    cwb_aug_cfg cj = {0.25f, 0, 0, 0};
    cwb_augment(&cj, x, o, B, d, &r);
    double s1 = 0, s2 = 0;
    for (size_t t = 0; t < nx; t++) {
        double e = o[t] - x[t];
        s1 += e;
        s2 += e * e;
    }
    double sd = sqrt(s2 / nx - (s1 / nx) * (s1 / nx));
    ok(fabs(s1 / nx) < 4 * 0.25 / sqrt((double)nx), "jitter has mean 0 (%.4f)", s1 / nx);
    ok(fabs(sd - 0.25) < 4 * 0.25 / sqrt(2.0 * nx), "jitter std %.4f within 4 SE of 0.25", sd);

    /* mask: Bernoulli(mask) zeros, the rest untouched */
    const double p = 0.3;
    cwb_aug_cfg cm = {0, (float)p, 0, 0};
    cwb_augment(&cm, x, o, B, d, &r);
    long zeros = 0;
    int kept = 1;
    for (size_t t = 0; t < nx; t++) {
        if (o[t] == 0.0f) zeros++;
        else kept &= o[t] == x[t];
    }
    double frac = (double)zeros / nx;
    ok(fabs(frac - p) < 4 * sqrt(p * (1 - p) / nx), "mask zero fraction %.4f within 4 SE of %.2f", frac, p);
    ok(kept, "mask leaves unmasked coordinates unchanged");

    /* scale: one factor 1 + s U(-1,1) per row: mean 1, variance s^2/3 */
    const double sc = 0.5;
    const int Bs = 4000;
    float *xs = malloc((size_t)Bs * 2 * sizeof(float)), *os = malloc((size_t)Bs * 2 * sizeof(float));
    for (int t = 0; t < Bs * 2; t++) xs[t] = t % 2 ? -2.0f : 1.0f;
    cwb_aug_cfg cs = {0, 0, 0, (float)sc};
    cwb_augment(&cs, xs, os, Bs, 2, &r);
    double f1 = 0, f2 = 0;
    int rowconst = 1, inrange = 1;
    for (int i = 0; i < Bs; i++) {
        double f = os[2 * i];
        rowconst &= fabs(os[2 * i + 1] - (-2.0 * f)) < 1e-6;
        inrange &= f >= 1 - sc && f <= 1 + sc;
        f1 += f;
        f2 += (f - 1) * (f - 1);
    }
    f1 /= Bs;
    f2 /= Bs;
    ok(rowconst && inrange, "scale multiplies a whole row by one factor in [1-s, 1+s]");
    ok(fabs(f1 - 1) < 4 * sc / sqrt(3.0 * Bs), "scale factor mean %.4f within 4 SE of 1", f1);
    /* Var[(s U)^2] = s^4 (1/5 - 1/9) */
    ok(fabs(f2 - sc * sc / 3) < 4 * sqrt(sc * sc * sc * sc * (1.0 / 5 - 1.0 / 9) / Bs),
       "scale factor variance %.4f within 4 SE of s^2/3 = %.4f", f2, sc * sc / 3);
    free(xs);
    free(os);

    /* flip: with probability flip a row gets a cyclic block of floor(d/2) signs negated */
    const double pf = 0.4;
    cwb_aug_cfg cf = {0, 0, (float)pf, 0};
    cwb_augment(&cf, x, o, B, d, &r);
    int flipped = 0, shape_ok = 1;
    for (int i = 0; i < B; i++) {
        int neg = 0, starts = 0;
        for (int j = 0; j < d; j++) {
            float a = o[i * d + j], b = x[i * d + j];
            int isneg = a == -b;
            shape_ok &= a == b || isneg;
            neg += isneg;
            int prev = o[i * d + (j + d - 1) % d] == -x[i * d + (j + d - 1) % d];
            starts += isneg && !prev;
        }
        if (neg) {
            flipped++;
            shape_ok &= neg == d / 2 && starts == 1;
        }
    }
    ok(shape_ok, "flip negates one contiguous (cyclic) block of d/2 coordinates");
    ok(fabs((double)flipped / B - pf) < 4 * sqrt(pf * (1 - pf) / B), "flipped row fraction %.3f within 4 SE of %.2f",
       (double)flipped / B, pf);

    /* bad arguments */
    struct { cwb_aug_cfg c; const char *word; } bad[] = {
        {{-0.1f, 0, 0, 0}, "jitter"}, {{INFINITY, 0, 0, 0}, "jitter"}, {{0, 1.5f, 0, 0}, "mask"},
        {{0, -0.1f, 0, 0}, "mask"}, {{0, 0, NAN, 0}, "flip"}, {{0, 0, 2, 0}, "flip"},
        {{0, 0, 0, -1}, "scale"},
    };
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        cwb_clear_error();
        int rc = cwb_augment(&bad[t].c, x, o, B, d, &r);
        ok(rc == CWB_EINVAL && tu_msg_has(bad[t].word), "augment rejects bad %s: %s", bad[t].word, cwb_errmsg());
    }
    cwb_clear_error();
    ok(cwb_augment(&off, x, x + d, B, d, &r) == CWB_EINVAL && tu_msg_has("overlap"), "augment rejects aliased output");
    cwb_clear_error();
    ok(cwb_augment(&off, x, o, 0, d, &r) == CWB_EINVAL && tu_msg_has("shape"), "augment rejects B = 0");
    cwb_clear_error();
    ok(cwb_augment(&off, x, o, B, d, NULL) == CWB_EINVAL && tu_msg_has("rng"), "augment rejects a NULL rng");
    free(x);
    free(o);
}

/* ---- sampler ---- */

static int has_dup(const int *v, int B, int N, unsigned char *seen) {
    int dup = 0;
    for (int i = 0; i < B; i++) {
        if (v[i] < 0 || v[i] >= N || seen[v[i]]) dup = 1;
        else seen[v[i]] = 1;
    }
    for (int i = 0; i < B; i++)
        if (v[i] >= 0 && v[i] < N) seen[v[i]] = 0;
    return dup;
}

static int mode_count(const cwb_dataset *d, const int *idx, int B, int *counts) {
    memset(counts, 0, (size_t)d->clusters * sizeof(int));
    int best = 0;
    for (int i = 0; i < B; i++)
        if (++counts[d->labels[idx[i]]] > best) best = counts[d->labels[idx[i]]];
    return best;
}

static void test_sampler(void) {
    cwb_synth_cfg c = cwb_synth_defaults();
    c.n = 2048;
    c.clusters = 16;
    cwb_dataset *d = cwb_synth_new(&c, 99);
    if (!ok(d != NULL, "data set for the sampler")) return;
    const int N = d->n, B = 32, T = 3000;
    int idx[2048], pos[2048], counts[64];
    float w[2048];
    unsigned char *seen = calloc((size_t)N, 1);
    double *per = malloc((size_t)T * sizeof(double)), *perw = malloc((size_t)T * sizeof(double));

    /* noise = 0: uniform inclusion, weights 1, no repeats */
    cwb_sampler *s = cwb_sampler_new(d, B, 0, 0, 1);
    long *inc = calloc((size_t)N, sizeof(long));
    int dup = 0, wone = 1, same = 1;
    for (int t = 0; t < T; t++) {
        cwb_sampler_next(s, idx, pos, w);
        dup |= has_dup(idx, B, N, seen);
        for (int i = 0; i < B; i++) {
            inc[idx[i]]++;
            wone &= w[i] == 1.0f;
            same &= pos[i] == idx[i];
        }
    }
    double E = (double)T * B / N, chi2 = 0;
    for (int j = 0; j < N; j++) chi2 += (inc[j] - E) * (inc[j] - E) / E;
    ok(!dup, "noise=0: no repeated or out-of-range index inside a batch");
    ok(fabs(chi2 - (N - 1)) < 4 * sqrt(2.0 * (N - 1)), "noise=0: per-index inclusion uniform (chi2 %.0f, df %d)",
       chi2, N - 1);
    ok(wone, "noise=0: importance weights are all 1");
    ok(same, "pair_noise=0: positives equal anchors");
    cwb_sampler_free(s);

    /* determinism */
    cwb_sampler *s1 = cwb_sampler_new(d, B, 0.5f, 0.2f, 77), *s2 = cwb_sampler_new(d, B, 0.5f, 0.2f, 77);
    int idx2[64], pos2[64];
    float w2[64];
    same = 1;
    for (int t = 0; t < 50; t++) {
        cwb_sampler_next(s1, idx, pos, w);
        cwb_sampler_next(s2, idx2, pos2, w2);
        same &= !memcmp(idx, idx2, B * sizeof(int)) && !memcmp(pos, pos2, B * sizeof(int)) &&
                !memcmp(w, w2, B * sizeof(float));
    }
    ok(same, "same seed gives the same batches");
    cwb_sampler_free(s1);
    cwb_sampler_free(s2);

    /* noise = 1: every batch from one cluster (B below every cluster's size) */
    int minsize = N;
    for (int k = 0; k < d->clusters; k++)
        if (d->cluster_start[k + 1] - d->cluster_start[k] < minsize) minsize = d->cluster_start[k + 1] - d->cluster_start[k];
    int B1 = minsize < 16 ? minsize : 16;
    s = cwb_sampler_new(d, B1, 1, 0, 2);
    int onecl = 1;
    dup = 0;
    for (int t = 0; t < 500; t++) {
        cwb_sampler_next(s, idx, pos, NULL);
        onecl &= mode_count(d, idx, B1, counts) == B1;
        dup |= has_dup(idx, B1, N, seen);
    }
    ok(onecl && !dup, "noise=1: all-one-cluster batches (B = %d), no repeats", B1);
    cwb_sampler_free(s);

    /* noise = 0.5: focus-cluster fraction 0.5 + 0.5 / K (uniform focus) */
    s = cwb_sampler_new(d, B, 0.5f, 0, 3);
    dup = 0;
    for (int t = 0; t < T; t++) {
        cwb_sampler_next(s, idx, pos, w);
        dup |= has_dup(idx, B, N, seen);
        per[t] = (double)mode_count(d, idx, B, counts) / B;
        double sw = 0;
        for (int i = 0; i < B; i++) sw += w[i];
        perw[t] = sw / B;
    }
    double m, se;
    mean_se(per, T, &m, &se);
    /* 0.5 + 0.5/K to first order; exactly, the uniform half draws only
     * unused samples, P(focus) = (n_f - u)/(N - t), and that is linear in u,
     * so E[u] follows a recursion (averaged over the uniform focus). */
    double want = 0;
    for (int k = 0; k < d->clusters; k++) {
        double nf = d->cluster_start[k + 1] - d->cluster_start[k], u = 0;
        for (int t = 0; t < B; t++) u += 0.5 + 0.5 * (nf - u) / (N - t);
        want += u / B / d->clusters;
    }
    ok(fabs(want - (0.5 + 0.5 / d->clusters)) < 0.01, "exact focus fraction %.4f is close to 0.5 + 0.5/K", want);
    ok(fabs(m - want) < 4 * se, "noise=0.5: focus fraction %.4f within 4 SE (%.4f) of %.4f", m, se, want);
    ok(!dup, "noise=0.5: no repeats");
    mean_se(perw, T, &m, &se);
    ok(fabs(m - 1) < 4 * se, "noise=0.5: importance weights average %.4f within 4 SE (%.4f) of 1", m, se);
    cwb_sampler_free(s);

    /* strong skew, small N: weights still average 1 (the slot-conditional q) */
    s = cwb_sampler_new(d, 256, 0.9f, 0, 4);
    for (int t = 0; t < 400; t++) {
        cwb_sampler_next(s, idx, pos, w);
        double sw = 0;
        for (int i = 0; i < 256; i++) sw += w[i];
        perw[t] = sw / 256;
    }
    mean_se(perw, 400, &m, &se);
    ok(fabs(m - 1) < 4 * se, "noise=0.9, B=256: weights average %.4f within 4 SE (%.4f) of 1", m, se);
    cwb_sampler_free(s);

    /* B = N with skew: the focus cluster runs out and the batch is a permutation */
    cwb_synth_cfg cs = small_cfg();
    cs.n = 64;
    cwb_dataset *ds = cwb_synth_new(&cs, 8);
    s = cwb_sampler_new(ds, 64, 0.7f, 0, 5);
    dup = 0;
    for (int t = 0; t < 20; t++) {
        cwb_sampler_next(s, idx, pos, w);
        dup |= has_dup(idx, 64, 64, seen);
    }
    ok(!dup, "batch = N with noise 0.7: every batch is a permutation");
    cwb_sampler_free(s);

    /* pair noise */
    const double pn = 0.3;
    s = cwb_sampler_new(d, B, 0.2f, (float)pn, 6);
    long broken = 0, total = 0;
    int inr = 1;
    for (int t = 0; t < 1000; t++) {
        cwb_sampler_next(s, idx, pos, NULL);
        for (int i = 0; i < B; i++) {
            broken += pos[i] != idx[i];
            inr &= pos[i] >= 0 && pos[i] < N;
        }
        total += B;
    }
    double bf = (double)broken / total;
    ok(fabs(bf - pn) < 4 * sqrt(pn * (1 - pn) / total), "pair_noise: broken fraction %.4f within 4 SE of %.2f", bf, pn);
    ok(inr, "pair_noise: replaced positives are valid indices");
    cwb_sampler_free(s);

    /* bad arguments */
    struct { int batch; float noise, pn; const char *word; } bad[] = {
        {N + 1, 0, 0, "batch"}, {0, 0, 0, "batch"}, {B, -0.1f, 0, "noise"}, {B, 1.5f, 0, "noise"},
        {B, NAN, 0, "noise"}, {B, 0, NAN, "pair_noise"}, {B, 0, 1.01f, "pair_noise"},
    };
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        cwb_clear_error();
        cwb_sampler *b = cwb_sampler_new(d, bad[t].batch, bad[t].noise, bad[t].pn, 1);
        ok(b == NULL && tu_msg_has(bad[t].word), "sampler rejects bad %s: %s", bad[t].word, cwb_errmsg());
        cwb_sampler_free(b);
    }
    cwb_clear_error();
    ok(cwb_sampler_new(NULL, 4, 0, 0, 1) == NULL && tu_msg_has("data set"), "sampler rejects a NULL data set");
    cwb_synth_cfg c1 = small_cfg();
    c1.n = 1;
    cwb_dataset *d1 = cwb_synth_new(&c1, 1);
    cwb_clear_error();
    ok(d1 && cwb_sampler_new(d1, 1, 0, 0.5f, 1) == NULL && tu_msg_has("pair_noise"), "pair noise needs N >= 2");
    s = cwb_sampler_new(d, B, 0, 0, 1);
    cwb_clear_error();
    ok(cwb_sampler_next(s, NULL, pos, NULL) == CWB_EINVAL && tu_msg_has("idx"), "next rejects a NULL idx");
    cwb_sampler_free(s);
    cwb_sampler_free(NULL);

    cwb_dataset_free(d1);
    cwb_dataset_free(ds);
    free(inc);
    free(seen);
    free(per);
    free(perw);
    cwb_dataset_free(d);
}

int main(void) {
    test_defaults();
    test_determinism();
    test_labels_and_grouping();
    test_observation_model();
    test_cluster_means();
    test_synth_errors();
    test_gather();
    test_augment();
    test_sampler();
    return done_testing();
}
