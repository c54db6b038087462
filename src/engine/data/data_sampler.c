/*
 * data_sampler.c - batches with controllable skew and broken pairs (data.h,
 * docs/data.md "Batch sampler").
 *
 * Each batch picks a focus cluster f uniformly among the non-empty clusters.
 * Slot t (t = 0..B-1) then draws, among the samples not yet in the batch:
 *   with probability `noise`, a member of f      (while f has unused members)
 *   otherwise, any sample uniformly.
 * The skewed negatives are what makes a minibatch estimate of Z_i biased
 * (methods.md, "Why batches must be large [P1]").
 *
 * Importance weights.  Given the batch so far (t samples drawn, u of them
 * from f, n_f members of f), slot t draws sample j with probability
 *   q_j = noise * [y_j = f] / (n_f - u) + (1 - noise) / (N - t),
 * and w_j = (1/(N-t)) / q_j, the ratio to a uniform draw among the N - t
 * unused samples.  With an empty batch (t = 0) this is data.h's
 * w_j = (1/N) / q_j; conditioning on the slots already filled makes
 * E[w | earlier slots] = 1 exactly, so the weights average to 1 in
 * expectation and are NOT renormalised per batch (a self-normalised
 * estimator would reintroduce a ratio bias).  Once f is used up, slots are
 * uniform and w = 1.  With noise = 1 samples outside f have q_j = 0 and
 * no weight can bring them back: the weights then average (n_f - u)/(N - t),
 * a reminder that such batches have no population negatives at all.
 */
#include "engine/data/data.h"
#include "engine/core/error.h"
#include "engine/core/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct cwb_sampler {
    const cwb_dataset *d;
    int batch;
    float noise, pair_noise;
    cwb_rng r;
    unsigned *stamp;     /* stamp[j] == epoch: j is already in this batch */
    unsigned epoch;
    int *nonempty;       /* clusters with at least one member */
    int n_nonempty;
    cwb_mem mem;         /* owns stamp and nonempty */
};

cwb_sampler *cwb_sampler_new(const cwb_dataset *d, int batch, float noise,
                             float pair_noise, uint64_t seed) {
    if (!d || !d->labels || !d->cluster_start || !d->by_cluster) {
        cwb_fail(CWB_EINVAL, "cwb_sampler_new: data set is NULL or incomplete");
        return NULL;
    }
    if (d->n < 1 || d->clusters < 1) {
        cwb_fail(CWB_EINVAL, "cwb_sampler_new: data set has n = %d, clusters = %d", d->n, d->clusters);
        return NULL;
    }
    if (batch < 1 || batch > d->n) {
        cwb_fail(CWB_EINVAL, "cwb_sampler_new: batch = %d, must be in [1, N = %d] (no repeats in a batch)",
                 batch, d->n);
        return NULL;
    }
    if (!(noise >= 0 && noise <= 1)) {
        cwb_fail(CWB_EINVAL, "cwb_sampler_new: noise = %g, must be in [0, 1]", (double)noise);
        return NULL;
    }
    if (!(pair_noise >= 0 && pair_noise <= 1)) {
        cwb_fail(CWB_EINVAL, "cwb_sampler_new: pair_noise = %g, must be in [0, 1]", (double)pair_noise);
        return NULL;
    }
    if (pair_noise > 0 && d->n < 2) {
        cwb_fail(CWB_EINVAL, "cwb_sampler_new: pair_noise > 0 needs N >= 2 samples, N = %d", d->n);
        return NULL;
    }

    cwb_sampler *s = cwb_zalloc(sizeof *s, "cwb_sampler_new");
    if (!s) return NULL;
    s->d = d;
    s->batch = batch;
    s->noise = noise;
    s->pair_noise = pair_noise;
    s->stamp = cwb_mem_zeroed(&s->mem, (size_t)d->n, sizeof *s->stamp);
    s->nonempty = cwb_mem_zeroed(&s->mem, (size_t)d->clusters, sizeof *s->nonempty);
    if (cwb_mem_check(&s->mem, "cwb_sampler_new: out of memory for N = %d", d->n)) {
        cwb_sampler_free(s);
        return NULL;
    }
    for (int k = 0; k < d->clusters; k++)
        if (d->cluster_start[k + 1] > d->cluster_start[k]) s->nonempty[s->n_nonempty++] = k;
    if (s->n_nonempty == 0) {
        cwb_sampler_free(s);
        cwb_fail(CWB_EINVAL, "cwb_sampler_new: every cluster is empty (bad cluster_start)");
        return NULL;
    }
    cwb_rng_seed(&s->r, seed, CWB_STREAM_BATCH);
    return s;
}

void cwb_sampler_free(cwb_sampler *s) {
    if (!s) return;
    cwb_mem_free(&s->mem);
    free(s);
}

int cwb_sampler_set_batch(cwb_sampler *s, int batch) {
    if (!s) return cwb_fail(CWB_EINVAL, "cwb_sampler_set_batch: NULL sampler");
    if (batch < 1 || batch > s->d->n)
        return cwb_fail(CWB_EINVAL, "sampler: batch = %d, must be in [1, N = %d]", batch, s->d->n);
    s->batch = batch;
    return CWB_OK;
}

int cwb_sampler_next(cwb_sampler *s, int *idx, int *pos, float *weights) {
    if (!s || !idx || !pos)
        return cwb_fail(CWB_EINVAL, "cwb_sampler_next: NULL %s", !s ? "sampler" : !idx ? "idx" : "pos");
    const cwb_dataset *d = s->d;
    const int N = d->n, B = s->batch;
    if (++s->epoch == 0) {
        memset(s->stamp, 0, (size_t)N * sizeof *s->stamp);
        s->epoch = 1;
    }
    const unsigned ep = s->epoch;

    const int f = s->nonempty[cwb_rng_below(&s->r, (uint64_t)s->n_nonempty)];
    const int *members = d->by_cluster + d->cluster_start[f];
    const int nf = d->cluster_start[f + 1] - d->cluster_start[f];
    int uf = 0; /* members of f already in the batch */

    /* Rejection from the unused samples: B <= N guarantees termination, and
     * while B << N almost every draw is accepted. */
    for (int t = 0; t < B; t++) {
        const int focus_left = nf - uf;
        const int from_focus = focus_left > 0 && s->noise > 0 &&
                               (s->noise >= 1 || cwb_rng_uniform(&s->r) < s->noise);
        int j;
        if (from_focus) {
            do j = members[cwb_rng_below(&s->r, (uint64_t)nf)];
            while (s->stamp[j] == ep);
        } else {
            do j = (int)cwb_rng_below(&s->r, (uint64_t)N);
            while (s->stamp[j] == ep);
        }
        s->stamp[j] = ep;
        const int in_f = d->labels[j] == f;
        if (weights) {
            double w = 1.0;
            if (focus_left > 0) {
                double unif = 1.0 / (N - t);
                double q = (1.0 - s->noise) * unif + (in_f ? s->noise / focus_left : 0.0);
                w = unif / q;
            }
            weights[t] = (float)w;
        }
        if (in_f) uf++;
        idx[t] = j;

        pos[t] = j;
        if (s->pair_noise > 0 && cwb_rng_uniform(&s->r) < s->pair_noise) {
            /* Any sample but the anchor itself, uniformly. */
            int p = (int)cwb_rng_below(&s->r, (uint64_t)N - 1);
            pos[t] = p >= j ? p + 1 : p;
        }
    }
    return CWB_OK;
}
