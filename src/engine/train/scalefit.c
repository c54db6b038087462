/*
 * scalefit.c - the gradient-bias experiment with a known optimum
 * (docs/methods.md, "The experiments the product must reproduce", 1).
 *
 * The embeddings are fixed and the only parameter is the logit scale theta,
 * so the population InfoNCE (all n-1 negatives) is a convex function of one
 * variable: L(theta) = mean_i [ -theta s_ii + log sum_j exp(theta s_ij) ] is
 * a mean of log-sum-exps of functions linear in theta, with
 * L'' = mean_i Var_{p_i}(s_i.) >= 0.  Its minimiser theta* is found by
 * Newton's method, and plain SGD on a minibatch loss shows where that loss
 * settles.  An unbiased gradient estimate settles at theta* (up to SGD
 * noise); the conventional minibatch estimate of the population loss
 * (methods.md, "Why batches must be large [P1]") does not, because
 * E[log Zbatch_i] != log Z_i.
 *
 * Batches come from the data set sampler (data.h) over a data set whose
 * "observations" are the a rows and whose clusters are the pairs' labels,
 * so skewed batches and importance weights mean exactly what they mean in
 * the trainer.
 */
#include "engine/train/scalefit.h"
#include "engine/data/data.h"
#include "engine/core/error.h"
#include "engine/core/mem.h"
#include "engine/eval/metrics.h"
#include "engine/core/rng.h"
#include "engine/core/tensor.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define THETA_MIN 1e-3          /* SGD keeps theta >= this */
#define NEWTON_TOL 1e-10        /* |L'(theta)| at convergence */
#define NEWTON_MAX_IT 200
#define NEWTON_MAX_HALVINGS 60
#define THETA_HUGE 1e6          /* beyond this the loss has no finite minimiser */

/* ---- fixed embeddings --------------------------------------------------- */

int cwb_scalefit_pairs(int n, int k, int clusters, float spread,
                       float pair_noise, uint64_t seed, float *a, float *b,
                       int *labels) {
    if (!a || !b) return cwb_fail(CWB_EINVAL, "cwb_scalefit_pairs: NULL %s", !a ? "a" : "b");
    if (n < 2 || k < 2)
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_pairs: n = %d, k = %d, need n >= 2 and k >= 2", n, k);
    if (clusters < 1 || clusters > n)
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_pairs: clusters = %d, must be in [1, n = %d]", clusters, n);
    if (!(spread >= 0) || !isfinite(spread) || !(pair_noise >= 0) || !isfinite(pair_noise))
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_pairs: spread = %g, pair_noise = %g, must be >= 0 and finite",
                        (double)spread, (double)pair_noise);
    float *centres = cwb_alloc((size_t)clusters * k);
    if (!centres) return CWB_ENOMEM;

    cwb_rng r;
    cwb_rng_seed(&r, seed, CWB_STREAM_DATA);
    for (int c = 0; c < clusters; c++) cwb_rng_sphere(&r, centres + (size_t)c * k, k);
    for (int i = 0; i < n; i++) {
        const int y = (int)cwb_rng_below(&r, (uint64_t)clusters);
        const float *ce = centres + (size_t)y * k;
        float *ai = a + (size_t)i * k, *bi = b + (size_t)i * k;
        do
            for (int j = 0; j < k; j++) ai[j] = ce[j] + spread * (float)cwb_rng_normal(&r);
        while (!cwb_normalise(ai, k));
        do
            for (int j = 0; j < k; j++) bi[j] = ai[j] + pair_noise * (float)cwb_rng_normal(&r);
        while (!cwb_normalise(bi, k));
        if (labels) labels[i] = y;
    }
    cwb_free(centres);
    return CWB_OK;
}

/* ---- theta* by safeguarded Newton --------------------------------------- */

int cwb_scale_optimum(const float *a, const float *b, int n, int k, int chunk,
                      double theta0, double *theta_star) {
    if (!a || !b || !theta_star)
        return cwb_fail(CWB_EINVAL, "cwb_scale_optimum: NULL %s", !a ? "a" : !b ? "b" : "theta_star");
    if (n < 2 || k < 1)
        return cwb_fail(CWB_EINVAL, "cwb_scale_optimum: n = %d, k = %d, need n >= 2 and k >= 1", n, k);
    if (!(theta0 > 0) || !isfinite(theta0))
        return cwb_fail(CWB_EINVAL, "cwb_scale_optimum: theta0 = %g, must be positive and finite", theta0);

    double th = theta0, L, g, h;
    int rc = cwb_population_loss(a, b, n, k, th, chunk, &L, &g, &h);
    if (rc) return rc;
    if (!isfinite(L) || !isfinite(g))
        return cwb_fail(CWB_ENAN, "cwb_scale_optimum: population loss not finite at theta0 = %g", theta0);

    for (int it = 0; it < NEWTON_MAX_IT; it++) {
        if (fabs(g) < NEWTON_TOL) {
            /* |L'| also vanishes as theta -> inf when every positive is its
             * anchor's strict nearest neighbour (L -> 0 from above).  L is
             * convex in theta, so a real minimiser has L(2 theta) > L(theta);
             * compare losses, not L'(2 theta), whose sign is rounding noise
             * once the loss has underflowed to ~1e-13. */
            double L2;
            if ((rc = cwb_population_loss(a, b, n, k, 2 * th, chunk, &L2, NULL, NULL))) return rc;
            if (!(L2 > L))
                return cwb_fail(CWB_EINVAL,
                                "cwb_scale_optimum: no finite optimum, the loss only flattens out (L = %.3g, "
                                "L' = %.3g at theta = %g): every positive is its anchor's nearest neighbour?",
                                L, g, th);
            *theta_star = th;
            return CWB_OK;
        }
        /* Newton step where the curvature is usable; otherwise move by a
         * factor of 2 downhill.  Never step to theta <= 0: halve instead. */
        double step = (h > 0 && isfinite(h)) ? -g / h : (g > 0 ? -0.5 * th : th);
        if (th + step <= 0) step = -0.5 * th;

        /* Halve steps that increase the loss.  Near theta* the loss changes
         * by ~g^2/h, below double resolution, so a step that keeps the loss
         * within rounding and shrinks |L'| is accepted too (L is convex:
         * |L'| is then a valid measure of progress). */
        double tn = th, Ln = L, gn = g, hn = h;
        int halvings = 0;
        for (; halvings < NEWTON_MAX_HALVINGS; halvings++, step *= 0.5) {
            tn = th + step;
            if ((rc = cwb_population_loss(a, b, n, k, tn, chunk, &Ln, &gn, &hn))) return rc;
            if (!isfinite(Ln) || !isfinite(gn)) continue;
            if (Ln < L) break;
            if (Ln <= L + 1e-13 * (1.0 + fabs(L)) && fabs(gn) < fabs(g)) break;
        }
        if (halvings == NEWTON_MAX_HALVINGS)
            return cwb_fail(CWB_ENAN,
                            "cwb_scale_optimum: Newton stalled at theta = %.17g with |L'| = %.3g > %g",
                            th, fabs(g), NEWTON_TOL);
        th = tn;
        L = Ln;
        g = gn;
        h = hn;
        if (th > THETA_HUGE)
            return cwb_fail(CWB_EINVAL,
                            "cwb_scale_optimum: no finite optimum, the loss still decreases at theta = %g "
                            "(every positive is its anchor's nearest neighbour?)", th);
    }
    return cwb_fail(CWB_EINVAL, "cwb_scale_optimum: no convergence in %d Newton steps: theta = %.17g, |L'| = %.3g",
                    NEWTON_MAX_IT, th, fabs(g));
}

/* ---- SGD on theta --------------------------------------------------------- */

struct cwb_scalefit {
    cwb_scalefit_cfg cfg;       /* effective: loss.n_total filled in, as constructed */
    cwb_scalefit_cfg live;      /* the same with the knobs now (lr, batch; the loss's are
                                 * in the loss object) */
    int n, k, B, Bmax;          /* B: the batch size now, <= Bmax (what the buffers hold) */
    cwb_dataset *ds;            /* x = a; labels and clusters for the sampler */
    cwb_tensor *bt;             /* b */
    cwb_sampler *sampler;
    cwb_loss *loss;
    int *idx, *pos;
    float *w, *ab, *bb;         /* batch buffers */
    cwb_mem mem;                /* owns idx, pos, w, ab, bb */
    double theta;
    long step;
};

void cwb_scalefit_free(cwb_scalefit *s) {
    if (!s) return;
    cwb_sampler_free(s->sampler);
    cwb_loss_free(s->loss);
    cwb_dataset_free(s->ds);
    cwb_tensor_free(s->bt);
    cwb_mem_free(&s->mem);
    free(s);
}

static int check_scalefit(const cwb_scalefit_cfg *c, const float *a, const float *b,
                          const int *labels, int n, int k) {
    if (!c || !a || !b)
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_new: NULL %s", !c ? "config" : !a ? "a" : "b");
    if (n < 2 || k < 1)
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_new: n = %d, k = %d, need n >= 2 and k >= 1", n, k);
    if (c->batch < 2 || c->batch > n)
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_new: batch = %d, must be in [2, n = %d]", c->batch, n);
    if (c->batch_max != 0 && (c->batch_max < c->batch || c->batch_max > n))
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_new: batch_max = %d, must be in [batch = %d, n = %d] (or 0)",
                        c->batch_max, c->batch, n);
    if (!(c->lr > 0) || !isfinite(c->lr))
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_new: lr = %g, must be positive and finite", c->lr);
    if (!(c->theta0 > 0) || !isfinite(c->theta0))
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_new: theta0 = %g, must be positive and finite", c->theta0);
    if (!(c->batch_noise >= 0 && c->batch_noise <= 1))
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_new: batch_noise = %g, must be in [0, 1]", (double)c->batch_noise);
    if (c->batch_noise > 0 && !labels)
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_new: batch_noise = %g needs the pairs' labels",
                        (double)c->batch_noise);
    int rc = cwb_loss_check(&c->loss, "cwb_scalefit_new");
    if (rc) return rc;
    if (c->unscaled && c->loss.kind != CWB_LOSS_INFONCE && c->loss.kind != CWB_LOSS_DCL)
        return cwb_fail(CWB_EINVAL, "cwb_scalefit_new: unscaled applies to infonce and dcl, not %s",
                        cwb_loss_name(c->loss.kind));
    if (cwb_has_nonfinite(a, (size_t)n * k) || cwb_has_nonfinite(b, (size_t)n * k))
        return cwb_fail(CWB_ENAN, "cwb_scalefit_new: the embeddings contain NaN or Inf");
    if (labels)
        for (int i = 0; i < n; i++)
            if (labels[i] < 0)
                return cwb_fail(CWB_EINVAL, "cwb_scalefit_new: labels[%d] = %d is negative", i, labels[i]);
    return CWB_OK;
}

/* A data set the sampler can draw from: x = a, one cluster per label value
 * (all in cluster 0 without labels), z unused. */
static cwb_dataset *pairs_dataset(const float *a, const int *labels, int n, int k) {
    cwb_dataset *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    int K = 1;
    if (labels)
        for (int i = 0; i < n; i++)
            if (labels[i] + 1 > K) K = labels[i] + 1;
    d->n = n;
    d->dim = k;
    d->clusters = K;
    d->x = cwb_tensor_new(n, k);
    d->labels = malloc((size_t)n * sizeof *d->labels);
    if (!d->x || !d->labels) {
        cwb_dataset_free(d);
        return NULL;
    }
    memcpy(d->x->data, a, (size_t)n * k * sizeof(float));
    for (int i = 0; i < n; i++) d->labels[i] = labels ? labels[i] : 0;
    if (cwb_dataset_index(d)) {   /* labels are >= 0 and K is their maximum + 1 */
        cwb_dataset_free(d);
        return NULL;
    }
    return d;
}

cwb_scalefit *cwb_scalefit_new(const cwb_scalefit_cfg *cfg, const float *a,
                               const float *b, const int *labels, int n, int k) {
    if (check_scalefit(cfg, a, b, labels, n, k)) return NULL;
    cwb_scalefit *s = cwb_zalloc(sizeof *s, "cwb_scalefit_new");
    if (!s) return NULL;
    s->cfg = *cfg;
    s->n = n;
    s->k = k;
    s->B = cfg->batch;
    if (s->cfg.batch_max == 0) s->cfg.batch_max = cfg->batch;
    s->Bmax = s->cfg.batch_max;
    s->theta = cfg->theta0;
    /* n_total = n makes INFONCE the minibatch estimate of the population
     * loss (negatives scaled by (n-1)/(B-1)); unscaled keeps it in-batch. */
    s->cfg.loss.n_total = cfg->unscaled ? 0 : n;

    s->ds = pairs_dataset(a, labels, n, k);
    s->bt = cwb_tensor_new(n, k);
    if (!s->ds || !s->bt) goto nomem;
    memcpy(s->bt->data, b, (size_t)n * k * sizeof(float));

    s->sampler = cwb_sampler_new(s->ds, s->B, cfg->batch_noise, 0.0f, cfg->seed);
    if (!s->sampler) goto fail;
    cwb_rng lr;
    cwb_rng_seed(&lr, cfg->seed, CWB_STREAM_LOSS);
    s->loss = cwb_loss_new(&s->cfg.loss, s->Bmax, k, cwb_rng_u64(&lr));
    if (!s->loss) goto fail;

    s->idx = cwb_mem_zeroed(&s->mem, (size_t)s->Bmax, sizeof *s->idx);
    s->pos = cwb_mem_zeroed(&s->mem, (size_t)s->Bmax, sizeof *s->pos);
    s->w = cwb_mem_floats(&s->mem, (size_t)s->Bmax);
    s->ab = cwb_mem_floats(&s->mem, (size_t)s->Bmax * k);
    s->bb = cwb_mem_floats(&s->mem, (size_t)s->Bmax * k);
    if (cwb_mem_check(&s->mem, "cwb_scalefit_new: out of memory for n = %d, k = %d", n, k)) goto fail;
    s->live = s->cfg;
    return s;

nomem:
    cwb_fail(CWB_ENOMEM, "cwb_scalefit_new: out of memory for n = %d, k = %d", n, k);
fail:
    cwb_scalefit_free(s);
    return NULL;
}

int cwb_scalefit_step(cwb_scalefit *s, double *theta, double *loss) {
    if (!s) return cwb_fail(CWB_EINVAL, "cwb_scalefit_step: NULL scalefit");
    const int B = s->B, k = s->k;
    float *w = s->cfg.importance ? s->w : NULL;
    int rc = cwb_sampler_next(s->sampler, s->idx, s->pos, w);
    if (rc) return rc;
    /* pair noise is 0: pos == idx, the pairs are the fixed (a_i, b_i) */
    cwb_gather_rows(s->ds->x, s->idx, B, s->ab);
    cwb_gather_rows(s->bt, s->idx, B, s->bb);

    cwb_loss_out out;
    rc = cwb_loss_eval(s->loss, s->ab, s->bb, B, k, s->idx, w, (float)s->theta, &out, NULL, NULL);
    if (rc) return rc;
    if (!isfinite(out.dscale) || !isfinite(out.value))
        return cwb_fail(CWB_ENAN, "scalefit step %ld: %s is not finite at theta = %g", s->step + 1,
                        isfinite(out.value) ? "gradient" : "loss", s->theta);

    /* plain SGD; theta stays positive so the logits keep their meaning */
    double th = s->theta - s->live.lr * out.dscale;
    s->theta = th < THETA_MIN ? THETA_MIN : th;
    s->step++;
    if (theta) *theta = s->theta;
    if (loss) *loss = out.value;
    return CWB_OK;
}

double cwb_scalefit_theta(const cwb_scalefit *s) { return s ? s->theta : NAN; }
long cwb_scalefit_steps(const cwb_scalefit *s) { return s ? s->step : 0; }
const cwb_scalefit_cfg *cwb_scalefit_config(const cwb_scalefit *s) { return s ? &s->cfg : NULL; }

/* As cwb_trainer_reset: built anew from the same pairs and labels (the
 * copies this object holds), moved in. */
int cwb_scalefit_reset(cwb_scalefit *s) {
    if (!s) return cwb_fail(CWB_EINVAL, "cwb_scalefit_reset: NULL scalefit");
    cwb_scalefit *fresh = cwb_scalefit_new(&s->cfg, s->ds->x->data, s->bt->data, s->ds->labels, s->n, s->k);
    if (!fresh) return CWB_ENOMEM; /* the inputs were valid at construction: only memory can fail */
    cwb_scalefit old = *s;
    *s = *fresh;
    *fresh = old;
    cwb_scalefit_free(fresh);
    return CWB_OK;
}

#define SF(member, type) CWB_JSON_FIELD(cwb_scalefit_cfg, member, type)
static const cwb_json_field cfg_fields[] = {
    SF(unscaled, CWB_JSON_BOOL),   SF(batch, CWB_JSON_INT),   SF(batch_noise, CWB_JSON_FLOAT),
    SF(importance, CWB_JSON_BOOL), SF(lr, CWB_JSON_DOUBLE),   SF(theta0, CWB_JSON_DOUBLE), SF(seed, CWB_JSON_U64),
};
#undef SF

/* Flat, as the scale fit's options are: the loss's name and knobs at the top. */
int cwb_scalefit_describe(const cwb_scalefit *s, cwb_json *j) {
    if (!s || !j) return cwb_fail(CWB_EINVAL, "cwb_scalefit_describe: NULL %s", !s ? "scalefit" : "writer");
    const cwb_scalefit_cfg *c = &s->live;
    cwb_json_open(j, NULL);
    cwb_json_str(j, "experiment", "scalefit");
    cwb_json_str(j, "loss", cwb_loss_name(c->loss.kind));
    cwb_json_fields(j, cwb_loss_config(s->loss), cwb_loss_knob_fields, CWB_LOSS_NKNOBS);
    cwb_json_fields(j, c, cfg_fields, CWB_JSON_NFIELDS(cfg_fields));
    if (c->batch_max > c->batch) cwb_json_int(j, "batch_max", c->batch_max);
    cwb_json_int(j, "n", s->n);
    cwb_json_close(j);
    return CWB_OK;
}

/* ---- live knobs ------------------------------------------------------------------ */

int cwb_scalefit_knobs(const cwb_scalefit *s, cwb_knob *out, int max) {
    int n = 0;
    if (!s || !out) return 0;
    cwb_knob_add(out, &n, max, "lr", "lr", s->live.lr, 1e-5, 100);
    cwb_knob *b = cwb_knob_add(out, &n, max, "batch", "batch", s->B, 2, s->Bmax);
    if (b) b->integer = 1;
    cwb_loss_knobs(s->loss, 0, out, &n, max);
    return n;
}

int cwb_scalefit_set(cwb_scalefit *s, const char *name, double value) {
    if (!s || !name) return cwb_fail(CWB_EINVAL, "cwb_scalefit_set: NULL %s", !s ? "scalefit" : "name");
    int rc = cwb_loss_set_knob(s->loss, name, value, "scalefit");
    if (rc != -1) return rc;
    cwb_knob k[CWB_KNOBS_MAX];
    if (!cwb_knob_checked(k, cwb_scalefit_knobs(s, k, CWB_KNOBS_MAX), name, value, "scalefit")) return CWB_EINVAL;
    if (strcmp(name, "lr") == 0) {
        s->live.lr = value;
    } else { /* batch: the buffers hold Bmax rows */
        if ((rc = cwb_sampler_set_batch(s->sampler, (int)value))) return rc;
        s->B = s->live.batch = (int)value;
    }
    return CWB_OK;
}

/* ---- the trainer interface (driver.h) ------------------------------------------ */

static int ops_step(void *self, cwb_metrics *m) {
    double theta, loss;
    int rc = cwb_scalefit_step(self, &theta, &loss);
    if (rc) return rc;
    cwb_metrics_clear(m);
    cwb_metrics_add(m, "loss", loss);
    cwb_metrics_add(m, "theta", theta);
    return CWB_OK;
}

static int ops_reset(void *self) { return cwb_scalefit_reset(self); }
static int ops_set(void *self, const char *name, double value) { return cwb_scalefit_set(self, name, value); }
static int ops_knobs(const void *self, cwb_knob *out, int max) { return cwb_scalefit_knobs(self, out, max); }
static int ops_describe(const void *self, cwb_json *j) { return cwb_scalefit_describe(self, j); }
static long ops_steps(const void *self) { return ((const cwb_scalefit *)self)->step; }
static uint64_t ops_seed(const void *self) { return ((const cwb_scalefit *)self)->cfg.seed; }

/* A step costs about a microsecond: a tick (a clock read in the workbench,
 * a Ctrl-C check) every 256 steps keeps the loop's overhead below 1%. */
static void ops_destroy(void *self) { cwb_scalefit_free(self); }

const cwb_train_ops cwb_scalefit_ops = {
    .kind = "scalefit", .headline = "theta", .tick_every = 256,
    .step = ops_step, .evaluate = NULL, .reset = ops_reset, .describe = ops_describe,
    .embed = NULL, .labels = NULL, .steps = ops_steps, .seed = ops_seed, .destroy = ops_destroy, .set = ops_set,
    .knobs = ops_knobs,
};
