/*
 * bench_step.c - times cwb's training step (issue 2, "Benchmark").
 *
 * The step measured is the trainer's defaults: encoder 64 -> 256 -> 64,
 * ReLU, L2-normalised output, one shared tower run on the 2B stacked views,
 * one-way InfoNCE at tau = 0.1 (or the decomposable loss), SGD lr 0.1
 * momentum 0.9, on the default synthetic data set (N = 2048, d = 64) with the
 * default augmentations (scale 0.2, jitter 0.1, mask 0.1).
 *
 * Three measurements per (loss, B):
 *   trainer  one call of cwb_trainer_step: sample the batch, gather, augment
 *            both views, forward, loss, backward, finiteness checks, gradient
 *            norm, SGD update.  This is the figure the benchmark reports.
 *   phases   the same work done through the public pieces (sampler, gather,
 *            augment, mlp, loss, optimiser) with a clock reading between the
 *            pieces, so the step can be split into data / forward / loss /
 *            backward / update.  "core" = forward + loss + backward + update,
 *            the part a framework's step has in common with ours whatever its
 *            data path.
 *   gemm     only the step's eight sgemm calls with the step's shapes: the
 *            floor that OpenBLAS sets for this step.
 * plus the square-sgemm peak of this machine, measured on the spot.
 *
 * Output: one record per line, "kind key=value ...", for scripts/bench to
 * parse.  Times are medians over the timed steps (after warm-up), from
 * clock_gettime(CLOCK_MONOTONIC), in milliseconds.
 *
 * Threads: OpenBLAS reads OPENBLAS_NUM_THREADS; --threads N overrides it
 * through openblas_set_num_threads.  The engine itself is single-threaded.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/data/data.h"
#include "engine/core/error.h"
#include "engine/loss/loss.h"
#include "engine/nn/mlp.h"
#include "engine/nn/optim.h"
#include "engine/core/rng.h"
#include "engine/core/tensor.h"
#include "engine/train/trainer.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts t in place; returns the q-quantile (q = 0.5: the median). */
static double quantile(double *t, int n, double q) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    double pos = q * (n - 1);
    int lo = (int)pos;
    if (lo >= n - 1) return t[n - 1];
    return t[lo] + (pos - lo) * (t[lo + 1] - t[lo]);
}

static int print_samples;   /* --samples: also print every timed step */

static void die(const char *what) {
    fprintf(stderr, "bench_step: %s: %s\n", what, cwb_errmsg());
    exit(1);
}

/*
 * Analytic flop count of one step, gemms only (a multiply-add counts 2):
 * with R = 2B rows through the shared tower of widths d_0..d_L and k = d_L,
 *   forward   F = sum_l 2 R d_l d_{l+1}                (x W_l)
 *   backward  F (dW_l = in_l^T g_l, every layer)
 *             + F - 2 R d_0 d_1  (din_l = g_l W_l^T, all but the input layer)
 *   loss      3 * 2 B^2 k   (S = A B^T, dA = G B, dB = G^T A; one-way)
 * so step = 3F - 2R d_0 d_1 + 6 B^2 k; for 64-256-64 that is
 * 327680 B + 384 B^2 (109.1 MFLOP at B = 256, 738.2 MFLOP at B = 1024).
 * The elementwise work (bias, ReLU, normalisation, exp, optimiser) is
 * O(B^2 + R * width) and is not counted: the achieved GFLOP/s is the rate at
 * which the step gets its necessary gemm work done.
 */
static double step_flops(const cwb_mlp_cfg *enc, int B) {
    double R = 2.0 * B, F = 0;
    for (int l = 0; l < enc->n_layers; l++) F += 2 * R * enc->dims[l] * enc->dims[l + 1];
    double k = enc->dims[enc->n_layers];
    return 3 * F - 2 * R * enc->dims[0] * enc->dims[1] + 6.0 * B * (double)B * k;
}

static cwb_trainer_cfg bench_cfg(cwb_loss_kind kind, int B) {
    cwb_trainer_cfg c = cwb_trainer_defaults();
    c.batch = B;
    c.loss = cwb_loss_defaults(kind);
    return c;
}

/* --- trainer: the reported figure ------------------------------------------ */

static double bench_trainer(cwb_loss_kind kind, int B, int warmup, int steps) {
    cwb_trainer_cfg c = bench_cfg(kind, B);
    cwb_trainer *t = cwb_trainer_new(&c, NULL);
    if (!t) die("trainer_new");
    double *ts = malloc((size_t)steps * sizeof *ts);
    cwb_step_info info;
    for (int s = 0; s < warmup + steps; s++) {
        double t0 = now_ms();
        if (cwb_trainer_step(t, &info)) die("trainer_step");
        double t1 = now_ms();
        if (s >= warmup) ts[s - warmup] = t1 - t0;
    }
    if (print_samples) {
        printf("samples what=trainer loss=%s B=%d ms=", cwb_loss_name(kind), B);
        for (int s = 0; s < steps; s++) printf("%s%.4f", s ? "," : "", ts[s]);
        printf("\n");
    }
    double med = quantile(ts, steps, 0.5);
    printf("trainer loss=%s B=%d steps=%d median_ms=%.4f p10_ms=%.4f p90_ms=%.4f final_loss=%.4f\n",
           cwb_loss_name(kind), B, steps, med, quantile(ts, steps, 0.1),
           quantile(ts, steps, 0.9), info.loss);
    free(ts);
    cwb_trainer_free(t);
    return med;
}

/* --- phases: the same step through the public pieces ----------------------- */

enum { PH_SAMPLE, PH_AUGMENT, PH_FORWARD, PH_LOSS, PH_BACKWARD, PH_UPDATE, PH_CORE, PH_N };
static const char *const ph_name[PH_N] = {
    "sample", "augment", "forward", "loss", "backward", "update", "core",
};

static void bench_phases(cwb_loss_kind kind, int B, int warmup, int steps) {
    cwb_trainer_cfg c = bench_cfg(kind, B);
    cwb_dataset *data = cwb_synth_new(&c.data, c.seed);
    if (!data) die("synth_new");
    const int d = data->dim, k = c.enc.dims[c.enc.n_layers];
    if (kind == CWB_LOSS_SOGCLR || kind == CWB_LOSS_DECOMPOSABLE) c.loss.n_total = data->n;
    cwb_sampler *smp = cwb_sampler_new(data, B, 0.0f, 0.0f, c.seed);
    cwb_rng init, aug;
    cwb_rng_seed(&init, c.seed, CWB_STREAM_INIT);
    cwb_rng_seed(&aug, c.seed, CWB_STREAM_AUG);
    cwb_mlp *m = cwb_mlp_new(&c.enc, 2 * B, &init);
    cwb_optim *opt = m ? cwb_optim_new(&c.opt, m->n_params) : NULL;
    cwb_loss *L = cwb_loss_new(&c.loss, B, k, 12345);
    if (!smp || !m || !opt || !L) die("phases setup");
    int *idx = malloc((size_t)B * sizeof *idx), *pos = malloc((size_t)B * sizeof *pos);
    float *raw = cwb_alloc((size_t)2 * B * d), *views = cwb_alloc((size_t)2 * B * d);
    float *dout = cwb_alloc((size_t)2 * B * k);
    double *ts[PH_N];
    for (int p = 0; p < PH_N; p++) ts[p] = malloc((size_t)steps * sizeof(double));
    const float scale = 1.0f / c.tau;

    for (int s = 0; s < warmup + steps; s++) {
        double t[PH_N + 1];
        const float *z;
        cwb_loss_out out;
        t[0] = now_ms();
        if (cwb_sampler_next(smp, idx, pos, NULL)) die("sampler");
        cwb_gather_rows(data->x, idx, B, raw);
        cwb_gather_rows(data->x, pos, B, raw + (size_t)B * d);
        t[1] = now_ms();
        if (cwb_augment(&c.aug, raw, views, B, d, &aug) ||
            cwb_augment(&c.aug, raw + (size_t)B * d, views + (size_t)B * d, B, d, &aug))
            die("augment");
        t[2] = now_ms();
        if (cwb_mlp_forward(m, views, 2 * B, &z)) die("forward");
        t[3] = now_ms();
        if (cwb_loss_eval(L, z, z + (size_t)B * k, B, k, idx, NULL, scale, &out, dout,
                          dout + (size_t)B * k))
            die("loss");
        t[4] = now_ms();
        cwb_mlp_zero_grad(m);
        if (cwb_mlp_backward(m, dout, NULL)) die("backward");
        t[5] = now_ms();
        if (cwb_optim_step(opt, m->params, m->grads, c.opt.lr)) die("update");
        t[6] = now_ms();
        if (s < warmup) continue;
        for (int p = 0; p < PH_CORE; p++) ts[p][s - warmup] = t[p + 1] - t[p];
        ts[PH_CORE][s - warmup] = t[6] - t[2];
    }
    printf("phases loss=%s B=%d steps=%d", cwb_loss_name(kind), B, steps);
    for (int p = 0; p < PH_N; p++) printf(" %s_ms=%.4f", ph_name[p], quantile(ts[p], steps, 0.5));
    printf("\n");

    for (int p = 0; p < PH_N; p++) free(ts[p]);
    free(idx);
    free(pos);
    cwb_free(raw);
    cwb_free(views);
    cwb_free(dout);
    cwb_loss_free(L);
    cwb_optim_free(opt);
    cwb_mlp_free(m);
    cwb_sampler_free(smp);
    cwb_dataset_free(data);
}

/* --- gemm floor: the step's sgemm calls alone ------------------------------ */

static void bench_gemm_floor(int B, int warmup, int steps) {
    cwb_trainer_cfg c = bench_cfg(CWB_LOSS_INFONCE, B);
    const int R = 2 * B, d0 = c.enc.dims[0], d1 = c.enc.dims[1], k = c.enc.dims[2];
    float *x = cwb_alloc((size_t)R * d0), *h = cwb_alloc((size_t)R * d1);
    float *z = cwb_alloc((size_t)R * k), *g = cwb_alloc((size_t)R * k);
    float *gh = cwb_alloc((size_t)R * d1);
    float *W1 = cwb_alloc((size_t)d0 * d1), *W2 = cwb_alloc((size_t)d1 * k);
    float *dW1 = cwb_alloc((size_t)d0 * d1), *dW2 = cwb_alloc((size_t)d1 * k);
    float *S = cwb_alloc((size_t)B * B);
    cwb_rng r;
    cwb_rng_seed(&r, 7, CWB_STREAM_USER);
    cwb_rng_fill_normal(&r, x, (long)R * d0, 0, 1);
    cwb_rng_fill_normal(&r, W1, (long)d0 * d1, 0, 0.1f);
    cwb_rng_fill_normal(&r, W2, (long)d1 * k, 0, 0.1f);
    cwb_rng_fill_normal(&r, S, (long)B * B, 0, 0.01f);
    cwb_rng_fill_normal(&r, g, (long)R * k, 0, 0.01f);
    double *ts = malloc((size_t)steps * sizeof *ts);
    for (int s = 0; s < warmup + steps; s++) {
        double t0 = now_ms();
        cwb_gemm(0, 0, R, d1, d0, 1, x, d0, W1, d1, 1, h, d1);         /* forward 1 */
        cwb_gemm(0, 0, R, k, d1, 1, h, d1, W2, k, 1, z, k);            /* forward 2 */
        cwb_gemm(0, 1, B, B, k, 1, z, k, z + (size_t)B * k, k, 0, S, B); /* S = A B^T */
        cwb_gemm(0, 0, B, k, B, 10, S, B, z + (size_t)B * k, k, 1, g, k); /* dA = G B */
        cwb_gemm(1, 0, B, k, B, 10, S, B, z, k, 1, g + (size_t)B * k, k); /* dB = G^T A */
        cwb_gemm(1, 0, d1, k, R, 1, h, d1, g, k, 1, dW2, k);           /* dW2 */
        cwb_gemm(0, 1, R, d1, k, 1, g, k, W2, k, 0, gh, d1);           /* dh */
        cwb_gemm(1, 0, d0, d1, R, 1, x, d0, gh, d1, 1, dW1, d1);       /* dW1 */
        double t1 = now_ms();
        if (s >= warmup) ts[s - warmup] = t1 - t0;
    }
    double med = quantile(ts, steps, 0.5);
    printf("gemm B=%d steps=%d median_ms=%.4f mflop=%.2f gflops=%.2f\n", B, steps, med,
           step_flops(&c.enc, B) * 1e-6, step_flops(&c.enc, B) / (med * 1e6));
    free(ts);
    cwb_free(x); cwb_free(h); cwb_free(z); cwb_free(g); cwb_free(gh);
    cwb_free(W1); cwb_free(W2); cwb_free(dW1); cwb_free(dW2); cwb_free(S);
}

/* --- sgemm peak ------------------------------------------------------------- */

/* Best GFLOP/s of an n x n x n sgemm over `reps` calls (after one warm-up):
 * the best, not the median, because the peak is what the hardware can do. */
static double bench_sgemm(int n, int reps) {
    size_t nn = (size_t)n * n;
    float *A = cwb_alloc(nn), *B = cwb_alloc(nn), *C = cwb_alloc(nn);
    if (!A || !B || !C) die("sgemm alloc");
    cwb_rng r;
    cwb_rng_seed(&r, 3, CWB_STREAM_USER);
    cwb_rng_fill_normal(&r, A, (long)nn, 0, 1);
    cwb_rng_fill_normal(&r, B, (long)nn, 0, 1);
    double best = 0;
    for (int i = 0; i <= reps; i++) {
        double t0 = now_ms();
        cwb_gemm(0, 0, n, n, n, 1, A, n, B, n, 0, C, n);
        double t1 = now_ms();
        double gf = 2.0 * n * (double)n * n / ((t1 - t0) * 1e6);
        if (i > 0 && gf > best) best = gf;
    }
    printf("sgemm n=%d reps=%d best_gflops=%.2f\n", n, reps, best);
    cwb_free(A);
    cwb_free(B);
    cwb_free(C);
    return best;
}

static void usage(void) {
    fprintf(stderr,
            "usage: bench_step [--threads N] [--steps N] [--warmup N] [--batch B]...\n"
            "                  [--loss infonce|decomposable|...]... [--no-phases] [--no-sgemm]\n"
            "                  [--samples]\n"
            "Defaults: B 256 and 1024, losses infonce and decomposable, 200 timed steps\n"
            "after 20 warm-up steps, phases and sgemm peak on.  --samples prints every\n"
            "timed trainer step (\"samples ... ms=t1,t2,...\") for pooling across runs.\n");
    exit(2);
}

int main(int argc, char **argv) {
    int threads = 0, steps = 200, warmup = 20, phases = 1, sgemm = 1;
    int batches[8], nb = 0, losses[CWB_LOSS_NKINDS], nl = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--threads") && v) threads = atoi(v), i++;
        else if (!strcmp(a, "--steps") && v) steps = atoi(v), i++;
        else if (!strcmp(a, "--warmup") && v) warmup = atoi(v), i++;
        else if (!strcmp(a, "--batch") && v && nb < 8) batches[nb++] = atoi(v), i++;
        else if (!strcmp(a, "--loss") && v && nl < CWB_LOSS_NKINDS) {
            int k = cwb_loss_from_name(v);
            if (k < 0) usage();
            losses[nl++] = k;
            i++;
        } else if (!strcmp(a, "--no-phases")) phases = 0;
        else if (!strcmp(a, "--samples")) print_samples = 1;
        else if (!strcmp(a, "--no-sgemm")) sgemm = 0;
        else usage();
    }
    if (steps < 1 || warmup < 0) usage();
    if (nb == 0) batches[nb++] = 256, batches[nb++] = 1024;
    if (nl == 0) losses[nl++] = CWB_LOSS_INFONCE, losses[nl++] = CWB_LOSS_DECOMPOSABLE;
    if (threads > 0) openblas_set_num_threads(threads);

    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("config threads=%d corename=%s coretype_env=%s openblas_config=\"%s\"\n",
           openblas_get_num_threads(), openblas_get_corename(), ct && *ct ? ct : "unset",
           openblas_get_config());
    fflush(stdout);

    cwb_trainer_cfg def = cwb_trainer_defaults();
    for (int b = 0; b < nb; b++) {
        int B = batches[b];
        printf("flops B=%d mflop=%.3f\n", B, step_flops(&def.enc, B) * 1e-6);
        for (int l = 0; l < nl; l++) {
            double med = bench_trainer(losses[l], B, warmup, steps);
            if (losses[l] == CWB_LOSS_INFONCE)
                printf("achieved B=%d loss=infonce gflops=%.3f\n", B,
                       step_flops(&def.enc, B) / (med * 1e6));
            if (phases) bench_phases(losses[l], B, warmup, steps);
            fflush(stdout);
        }
        if (phases) bench_gemm_floor(B, warmup, steps);
        fflush(stdout);
    }
    if (sgemm) {
        double p1 = bench_sgemm(1024, 20), p2 = bench_sgemm(2048, 4);
        printf("peak gflops=%.2f\n", p1 > p2 ? p1 : p2);
    }
    return 0;
}
