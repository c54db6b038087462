/*
 * loss.c - the contrastive-loss object: configuration, workspace, per-sample
 * state, validation, and the blocked similarity / back-propagation loop
 * shared by every kind (see loss.h; the kinds live in loss_<kind>.c).
 *
 * One direction (anchors p, candidates q; a->b is p = a, q = b) works in
 * blocks of `chunk` anchor rows:
 *   D   = P_blk Q^T                      dot products, chunk x B
 *   x_ij = scale * D_ij                  (j == i, the positive)
 *   x_ij = scale * D_ij + log c + log w_j + log n_ij   (j != i, negatives)
 *   G   = dL/dx, one row at a time by the kind
 *   dP_blk += scale * G Q,  dQ += scale * G^T P_blk,  dscale += sum G .* D
 * so memory is O(B x chunk) and every product goes through cwb_gemm.
 * c = (N-1)/(B-1) turns the B-1 in-batch negatives into an estimate of the
 * N-1 population negatives ("Why batches must be large [P1]"), w_j are the
 * caller's importance weights and n_ij the optional mean-one lognormal noise
 * exp(sigma e - sigma^2/2), treated as data.
 *
 * The symmetric (CLIP) form averages the a->b and b->a directions; stateful
 * kinds keep separate zhat for the two (slots [0, N) and [N, 2N)).
 *
 * With both views (NTXENT, DCL both_views) each direction's candidates are
 * the other view then the anchors' own view, 2B columns: D = P_blk [Q; P]^T
 * (two sgemms into one block of stride 2B), the positive at column i and
 * the anchor itself, column B + i, left out like the positive is from the
 * max and the sum of the negatives.  The two directions with weight 1/(2B)
 * make the mean over the 2B anchors (methods.md, "SimCLR NT-Xent").  The
 * same-view block sends gradient to the anchors' own view from the
 * candidate side too, so the outputs are zeroed once and accumulated.
 *
 * Random numbers come from two streams of the loss's own seed: the E-step
 * gamma draws (CWB_STREAM_LOSS, one per anchor row in direction, then row
 * order) and the noise (CWB_STREAM_NOISE, one normal per negative term in
 * direction, row, column order).  Splitting them keeps the E-step draws the
 * same whether or not noise is switched on; the fixed order makes results
 * independent of `chunk` and reproducible bit for bit from the seed.
 */
#include "engine/loss/loss_internal.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"
#include "engine/core/vexp.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const loss_names[CWB_LOSS_NKINDS] = {
    "infonce", "dcl", "sogclr", "decomposable", "ntxent",
};

/* NT-Xent's row is InfoNCE's (the positive in the denominator); what makes
 * it NT-Xent is the 2B-column candidate set. */
static const cwb_loss_row_fn loss_rows[CWB_LOSS_NKINDS] = {
    cwb_loss_row_infonce, cwb_loss_row_dcl,
    cwb_loss_row_sogclr, cwb_loss_row_decomposable, cwb_loss_row_infonce,
};

int cwb_loss_is_stateful(cwb_loss_kind kind) {
    return kind == CWB_LOSS_SOGCLR || kind == CWB_LOSS_DECOMPOSABLE;
}

static int uses_both_views(const cwb_loss_cfg *c) {
    return c->kind == CWB_LOSS_NTXENT || (c->kind == CWB_LOSS_DCL && c->both_views);
}

cwb_loss_cfg cwb_loss_defaults(cwb_loss_kind kind) {
    cwb_loss_cfg c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.symmetric = 0;
    c.both_views = 0;
    c.chunk = 0;
    c.n_total = 0;
    c.alpha = 10.0;
    /* SogCLR's paper uses 0.9; the decomposable loss wants a slowly moving
     * estimate (methods.md, the prototype study: 0.01-0.02). */
    c.gamma = kind == CWB_LOSS_SOGCLR ? 0.9 : 0.02;
    c.noise_sigma = 0.0;
    c.estep_first = 0;
    c.jensen = 0;
    return c;
}

const char *cwb_loss_name(cwb_loss_kind kind) {
    if ((int)kind < 0 || kind >= CWB_LOSS_NKINDS) return "unknown";
    return loss_names[kind];
}

int cwb_loss_from_name(const char *name) {
    if (!name) return -1;
    for (int k = 0; k < CWB_LOSS_NKINDS; k++)
        if (strcasecmp(name, loss_names[k]) == 0) return k;
    return -1;
}

int cwb_loss_check(const cwb_loss_cfg *c, const char *who) {
    if (!c) return cwb_fail(CWB_EINVAL, "%s%sloss: NULL configuration", CWB_WHO(who));
    if ((int)c->kind < 0 || c->kind >= CWB_LOSS_NKINDS)
        return cwb_fail(CWB_EINVAL, "%s%sloss: kind=%d is not a loss kind", CWB_WHO(who), (int)c->kind);
    const char *nm = loss_names[c->kind];
    if (c->chunk < 0) return cwb_fail(CWB_EINVAL, "%s%sloss %s: chunk=%d < 0", CWB_WHO(who), nm, c->chunk);
    if (c->n_total < 0)
        return cwb_fail(CWB_EINVAL, "%s%sloss %s: n_total=%ld < 0", CWB_WHO(who), nm, c->n_total);
    if (!(c->noise_sigma >= 0) || !isfinite(c->noise_sigma))
        return cwb_fail(CWB_EINVAL, "%s%sloss %s: noise_sigma=%g must be finite and >= 0", CWB_WHO(who), nm,
                        c->noise_sigma);
    if (c->both_views && c->kind != CWB_LOSS_DCL)
        return cwb_fail(CWB_EINVAL, "%s%sloss %s: both_views is an option of dcl (ntxent is infonce "
                                    "over both views)", CWB_WHO(who), nm);
    if (uses_both_views(c) && c->symmetric)
        return cwb_fail(CWB_EINVAL, "%s%sloss %s: symmetric=1 with both views: every row of both "
                                    "views is already an anchor", CWB_WHO(who), nm);
    if (cwb_loss_is_stateful(c->kind)) {
        if (!(c->gamma > 0 && c->gamma <= 1))
            return cwb_fail(CWB_EINVAL, "%s%sloss %s: gamma=%g outside (0, 1]", CWB_WHO(who), nm, c->gamma);
        if (isnan(c->alpha)) return cwb_fail(CWB_EINVAL, "%s%sloss %s: alpha is NaN", CWB_WHO(who), nm);
    }
    return CWB_OK;
}

int cwb_loss_fit_dataset(cwb_loss_cfg *c, long n, const char *who) {
    if (!cwb_loss_is_stateful(c->kind)) return CWB_OK;
    if (c->n_total == 0) c->n_total = n;
    if (c->n_total < n)
        return cwb_fail(CWB_EINVAL, "%s%sloss n_total = %ld < N = %ld: the %s loss keeps one state per sample",
                        CWB_WHO(who), c->n_total, n, cwb_loss_name(c->kind));
    return CWB_OK;
}

/* The running-estimate knobs first: they are also cwb_loss_knob_fields, for
 * the records that keep them at their top level (the scale fit's). */
static const cwb_json_field loss_fields[] = {
    CWB_JSON_FIELD(cwb_loss_cfg, alpha, CWB_JSON_DOUBLE), CWB_JSON_FIELD(cwb_loss_cfg, gamma, CWB_JSON_DOUBLE),
    {"noise", CWB_JSON_DOUBLE, offsetof(cwb_loss_cfg, noise_sigma)},
    CWB_JSON_FIELD(cwb_loss_cfg, estep_first, CWB_JSON_BOOL), CWB_JSON_FIELD(cwb_loss_cfg, jensen, CWB_JSON_BOOL),
    CWB_JSON_FIELD(cwb_loss_cfg, symmetric, CWB_JSON_BOOL), CWB_JSON_FIELD(cwb_loss_cfg, chunk, CWB_JSON_INT),
    CWB_JSON_FIELD(cwb_loss_cfg, n_total, CWB_JSON_LONG),
    CWB_JSON_FIELD(cwb_loss_cfg, both_views, CWB_JSON_BOOL),
};
const cwb_json_field *const cwb_loss_knob_fields = loss_fields;
const cwb_json_field *const cwb_loss_fields = loss_fields;
_Static_assert(CWB_JSON_NFIELDS(loss_fields) == CWB_LOSS_NFIELDS, "CWB_LOSS_NFIELDS");

void cwb_loss_describe(const cwb_loss_cfg *c, const char *key, cwb_json *j) {
    cwb_json_record(j, key, cwb_loss_name(c->kind), c, loss_fields, CWB_JSON_NFIELDS(loss_fields));
}

/* ---- live knobs (knob.h) ---------------------------------------------------------- */

void cwb_loss_knobs(const cwb_loss *L, int nested, cwb_knob *out, int *n, int max) {
    const cwb_loss_cfg *c = &L->cfg;
    cwb_knob *k = cwb_knob_add(out, n, max, "noise", nested ? "loss.noise" : "noise", c->noise_sigma, 0, 5);
    if (k) k->unit = 0.1;
    if (c->kind == CWB_LOSS_DECOMPOSABLE)
        cwb_knob_add(out, n, max, "alpha", nested ? "loss.alpha" : "alpha", c->alpha, 0.1, 1e4);
    if (cwb_loss_is_stateful(c->kind))
        cwb_knob_add(out, n, max, "gamma", nested ? "loss.gamma" : "gamma", c->gamma, 0.001, 1);
}

int cwb_loss_set_knob(cwb_loss *L, const char *name, double value, const char *who) {
    double *slot = strcmp(name, "noise") == 0   ? &L->cfg.noise_sigma
                   : strcmp(name, "alpha") == 0 ? &L->cfg.alpha
                   : strcmp(name, "gamma") == 0 ? &L->cfg.gamma
                                                : NULL;
    if (!slot) return -1;
    cwb_knob k[3];
    int n = 0;
    cwb_loss_knobs(L, 0, k, &n, 3);
    const cwb_knob *kn = cwb_knob_find(k, n, name);
    if (!kn)
        return cwb_fail(CWB_EINVAL, "%s%sthe %s loss has no knob '%s' (%s)", CWB_WHO(who),
                        loss_names[L->cfg.kind], name,
                        strcmp(name, "alpha") == 0 ? "alpha is the decomposable loss's"
                                                   : "gamma is sogclr's and the decomposable loss's");
    int rc = cwb_knob_check(kn, value, who);
    if (rc) return rc;
    *slot = value;
    return CWB_OK;
}

static int check_cfg(const cwb_loss_cfg *cfg, int max_batch, int dim) {
    int rc = cwb_loss_check(cfg, NULL);
    if (rc) return rc;
    const char *nm = loss_names[cfg->kind];
    if (max_batch < 2)
        return cwb_fail(CWB_EINVAL, "loss %s: max_batch=%d < 2", nm, max_batch);
    if (dim < 1) return cwb_fail(CWB_EINVAL, "loss %s: dim=%d < 1", nm, dim);
    if (cwb_loss_is_stateful(cfg->kind)) {
        if (cfg->n_total < 2)
            return cwb_fail(CWB_EINVAL, "loss %s: n_total=%ld, a stateful loss needs the dataset size",
                            nm, cfg->n_total);
        if ((size_t)cfg->n_total > ((size_t)-1 / 2) / sizeof(double) / 2)
            return cwb_fail(CWB_ENOMEM, "loss %s: n_total=%ld is too large", nm, cfg->n_total);
    }
    return CWB_OK;
}

cwb_loss *cwb_loss_new(const cwb_loss_cfg *cfg, int max_batch, int dim, uint64_t seed) {
    if (check_cfg(cfg, max_batch, dim) != CWB_OK) return NULL;
    cwb_loss *L = cwb_zalloc(sizeof *L, "loss %s", loss_names[cfg->kind]);
    if (!L) return NULL;
    L->cfg = *cfg;
    L->max_batch = max_batch;
    L->dim = dim;
    L->chunk = (cfg->chunk == 0 || cfg->chunk > max_batch) ? max_batch : cfg->chunk;
    L->both = uses_both_views(cfg);
    size_t cols = (size_t)(1 + L->both) * (size_t)max_batch;
    size_t blk = (size_t)L->chunk * cols;
    L->dots = cwb_mem_floats(&L->mem, blk);
    L->grad = cwb_mem_floats(&L->mem, blk);
    L->bias = cwb_mem_floats(&L->mem, cols);
    /* 2 n_total log zhat, then 2 n_total relative variances (jensen) */
    if (cwb_loss_is_stateful(cfg->kind))
        L->logzhat = cwb_mem_zeroed(&L->mem, 4 * (size_t)cfg->n_total, sizeof(double));
    if (cwb_mem_check(&L->mem, "loss %s: out of memory for max_batch=%d, n_total=%ld",
                      loss_names[cfg->kind], max_batch, cfg->n_total)) {
        cwb_loss_free(L);
        return NULL;
    }
    cwb_rng_seed(&L->rng_gamma, seed, CWB_STREAM_LOSS);
    cwb_rng_seed(&L->rng_noise, seed, CWB_STREAM_NOISE);
    cwb_loss_reset(L);
    return L;
}

void cwb_loss_free(cwb_loss *L) {
    if (!L) return;
    cwb_mem_free(&L->mem);
    free(L);
}

const cwb_loss_cfg *cwb_loss_config(const cwb_loss *L) { return L ? &L->cfg : NULL; }

void cwb_loss_reset(cwb_loss *L) {
    if (!L || !L->logzhat) return;
    /* NaN marks "never visited": the first visit sets zhat = Zbatch. */
    for (long n = 0; n < 4 * L->cfg.n_total; n++) L->logzhat[n] = NAN;
}

typedef struct {
    double value, surrogate, dscale;
} loss_sums;

/* Row kernels over n floats, 8 lanes at a time plus a scalar tail. */

/* x_j = scale * d_j + bias_j; returns max_j x_j (NaN-free inputs). */
static float row_logits(float *x, const float *d, const float *bias, float scale, int n) {
    cwb_v4f vmax = cwb_v4f_set1(-INFINITY), vs = cwb_v4f_set1(scale);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        cwb_v4f v = vs * cwb_v4f_load(d + j) + cwb_v4f_load(bias + j);
        cwb_v4f_store(x + j, v);
        vmax = cwb_v4f_max(v, vmax);
    }
    float m = -INFINITY;
    for (int l = 0; l < 4; l++) m = vmax[l] > m ? vmax[l] : m;
    for (; j < n; j++) {
        x[j] = scale * d[j] + bias[j];
        m = x[j] > m ? x[j] : m;
    }
    return m;
}

/* e_j = exp(x_j - m) in place; returns sum_j e_j. */
static double row_exp(float *x, float m, int n) {
    cwb_v4f vm = cwb_v4f_set1(m), acc = cwb_v4f_set1(0.0f);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        cwb_v4f e = cwb_v4f_exp(cwb_v4f_load(x + j) - vm);
        cwb_v4f_store(x + j, e);
        acc += e;
    }
    double s = 0;
    for (int l = 0; l < 4; l++) s += acc[l];
    for (; j < n; j++) {
        x[j] = expf(x[j] - m);
        s += x[j];
    }
    return s;
}

/* g_j = coef * e_j in place; returns sum_j g_j d_j (for dL/dscale). */
static double row_scale(float *g, const float *d, float coef, int n) {
    cwb_v4f vc = cwb_v4f_set1(coef), acc = cwb_v4f_set1(0.0f);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        cwb_v4f v = vc * cwb_v4f_load(g + j);
        cwb_v4f_store(g + j, v);
        acc += v * cwb_v4f_load(d + j);
    }
    double s = 0;
    for (int l = 0; l < 4; l++) s += acc[l];
    for (; j < n; j++) {
        g[j] *= coef;
        s += (double)g[j] * d[j];
    }
    return s;
}

/* One direction: anchors p (their gradient into dp), candidates q (into dq)
 * and, with both views, p itself as the same-view candidates (also into dp);
 * `dir` selects the state slots and `weight` is 1/B or 1/(2B).
 * Per anchor row, three vector passes over the nc columns: logits and their
 * max over the negatives, exp once (e_j = exp(x_j - m)) and its sum, then
 * the gradient as one scaling of e chosen by the kind. */
static int loss_direction(cwb_loss *L, int dir, const float *p, const float *q, int B,
                          int k, const int *idx, float scale, float *dp,
                          float *dq, double weight, loss_sums *acc) {
    const char *nm = loss_names[L->cfg.kind];
    const cwb_loss_row_fn row_fn = loss_rows[L->cfg.kind];
    const double sigma = L->cfg.noise_sigma, half_var = 0.5 * sigma * sigma;
    const int both = L->both, nc = both ? 2 * B : B;

    for (int r0 = 0; r0 < B; r0 += L->chunk) {
        int nb = B - r0 < L->chunk ? B - r0 : L->chunk;
        const float *pb = p + (size_t)r0 * k;
        cwb_gemm(0, 1, nb, B, k, 1.0f, pb, k, q, k, 0.0f, L->dots, nc);
        if (both) cwb_gemm(0, 1, nb, B, k, 1.0f, pb, k, p, k, 0.0f, L->dots + B, nc);

        for (int rr = 0; rr < nb; rr++) {
            int i = r0 + rr, self = both ? B + i : -1;
            const float *drow = L->dots + (size_t)rr * nc;
            float *g = L->grad + (size_t)rr * nc;
            double s_ii = (double)scale * drow[i];
            if (!isfinite(s_ii))
                return cwb_fail(CWB_ENAN, "loss %s: similarity s[%d][%d] overflows (scale=%g)",
                                nm, i, i, (double)scale);
            float m;
            if (sigma > 0) {
                /* Noise order: direction, row, column (negatives only). */
                row_logits(g, drow, L->bias, scale, nc);
                m = -INFINITY;
                for (int j = 0; j < nc; j++) {
                    if (j == i || j == self) continue;
                    g[j] += (float)(sigma * cwb_rng_normal(&L->rng_noise) - half_var);
                    m = g[j] > m ? g[j] : m;
                }
                g[i] = -INFINITY;
                if (both) g[self] = -INFINITY;
            } else {
                /* The positive (and the anchor itself) are left out of the max and the sum. */
                float keep = L->bias[i], keep_self = both ? L->bias[self] : 0.0f;
                L->bias[i] = -INFINITY;
                if (both) L->bias[self] = -INFINITY;
                m = row_logits(g, drow, L->bias, scale, nc);
                L->bias[i] = keep;
                if (both) L->bias[self] = keep_self;
            }
            if (!(m < INFINITY))
                return cwb_fail(CWB_ENAN, "loss %s: a similarity in row %d overflows (scale=%g)",
                                nm, i, (double)scale);
            double sneg = 0;
            if (m > -INFINITY) {
                sneg = row_exp(g, m, nc);
                if (!isfinite(sneg))
                    return cwb_fail(CWB_ENAN, "loss %s: row %d has a non-finite similarity (scale=%g)",
                                    nm, i, (double)scale);
            } else {
                for (int j = 0; j < nc; j++) g[j] = 0.0f;
            }
            cwb_loss_row row = { .B = nc, .i = i, .s_ii = s_ii, .m = m, .sneg = sneg,
                                 .weight = weight, .logzhat = NULL, .relvar = NULL };
            if (L->logzhat) {
                long n = idx ? idx[i] : i;
                row.logzhat = L->logzhat + (long)dir * L->cfg.n_total + n;
                row.relvar = row.logzhat + 2 * L->cfg.n_total;
            }
            cwb_loss_terms t;
            int st = row_fn(L, &row, &t);
            if (st != CWB_OK) return st;
            acc->value += weight * t.value;
            acc->surrogate += weight * t.surrogate;
            g[i] = 0.0f;
            double ds = row_scale(g, drow, (float)t.coef, nc);
            g[i] = (float)t.g_ii;
            acc->dscale += ds + t.g_ii * drow[i];
        }

        /* Without both views the first write of each output overwrites it
         * (beta 0): no memset.  With both, cwb_loss_eval zeroed them. */
        if (dp) {
            cwb_gemm(0, 0, nb, k, B, scale, L->grad, nc, q, k, dir == 0 && !both ? 0.0f : 1.0f,
                     dp + (size_t)r0 * k, k);
            if (both) {
                cwb_gemm(0, 0, nb, k, B, scale, L->grad + B, nc, p, k, 1.0f, dp + (size_t)r0 * k, k);
                cwb_gemm(1, 0, B, k, nb, scale, L->grad + B, nc, pb, k, 1.0f, dp, k);
            }
        }
        if (dq)
            cwb_gemm(1, 0, B, k, nb, scale, L->grad, nc, pb, k,
                     dir == 0 && r0 == 0 && !both ? 0.0f : 1.0f, dq, k);
    }
    return CWB_OK;
}

int cwb_loss_eval(cwb_loss *L, const float *a, const float *b, int B, int k,
                  const int *idx, const float *col_w, float scale,
                  cwb_loss_out *out, float *da, float *db) {
    if (!L) return cwb_fail(CWB_EINVAL, "loss: NULL loss object");
    const char *nm = loss_names[L->cfg.kind];
    if (!a || !b) return cwb_fail(CWB_EINVAL, "loss %s: embeddings %s is NULL", nm, a ? "b" : "a");
    if (!out) return cwb_fail(CWB_EINVAL, "loss %s: out is NULL", nm);
    if (B < 2) return cwb_fail(CWB_EINVAL, "loss %s: batch B=%d < 2", nm, B);
    if (B > L->max_batch)
        return cwb_fail(CWB_EINVAL, "loss %s: batch B=%d > max_batch=%d", nm, B, L->max_batch);
    if (k != L->dim)
        return cwb_fail(CWB_EINVAL, "loss %s: width k=%d != dim=%d", nm, k, L->dim);
    if (!(scale > 0) || !isfinite(scale))
        return cwb_fail(CWB_EINVAL, "loss %s: scale=%g must be positive and finite", nm,
                        (double)scale);
    size_t n = (size_t)B * (size_t)k;
    if (cwb_has_nonfinite(a, n)) return cwb_fail(CWB_ENAN, "loss %s: a contains NaN or Inf", nm);
    if (cwb_has_nonfinite(b, n)) return cwb_fail(CWB_ENAN, "loss %s: b contains NaN or Inf", nm);
    if (col_w)
        for (int j = 0; j < B; j++)
            if (!(col_w[j] >= 0) || !isfinite(col_w[j]))
                return cwb_fail(CWB_EINVAL, "loss %s: col_w[%d]=%g must be finite and >= 0", nm,
                                j, (double)col_w[j]);
    long N = L->cfg.n_total;
    if (cwb_loss_is_stateful(L->cfg.kind)) {
        if (N < B)
            return cwb_fail(CWB_EINVAL, "loss %s: n_total=%ld < batch B=%d", nm, N, B);
        if (idx)
            for (int i = 0; i < B; i++)
                if (idx[i] < 0 || idx[i] >= N)
                    return cwb_fail(CWB_EINVAL, "loss %s: idx[%d]=%d outside [0, n_total=%ld)",
                                    nm, i, idx[i], N);
    }

    double logc = N > 0 ? log((double)(N - 1) / (double)(B - 1)) : 0.0;
    for (int j = 0; j < B; j++) L->bias[j] = (float)(logc + (col_w ? log((double)col_w[j]) : 0.0));
    if (L->both) {
        /* the same-view columns are the same samples: the same c and w_j */
        memcpy(L->bias + B, L->bias, (size_t)B * sizeof *L->bias);
        if (da) memset(da, 0, n * sizeof *da);
        if (db) memset(db, 0, n * sizeof *db);
    }

    loss_sums acc = { 0, 0, 0 };
    const int two = L->cfg.symmetric || L->both;
    double weight = two ? 0.5 / B : 1.0 / B;
    int st = loss_direction(L, 0, a, b, B, k, idx, scale, da, db, weight, &acc);
    if (st == CWB_OK && two)
        st = loss_direction(L, 1, b, a, B, k, idx, scale, db, da, weight, &acc);
    if (st != CWB_OK) return st;
    if (!isfinite(acc.value) || !isfinite(acc.surrogate) || !isfinite(acc.dscale))
        return cwb_fail(CWB_ENAN, "loss %s: result is not finite (value=%g, surrogate=%g)", nm,
                        acc.value, acc.surrogate);
    out->value = acc.value;
    out->surrogate = acc.surrogate;
    out->dscale = acc.dscale;
    return CWB_OK;
}
