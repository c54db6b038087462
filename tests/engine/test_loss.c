/*
 * test_loss.c - the contrastive losses (loss.h) against a plain
 * double-precision reference written here from methods.md, by central
 * differences; plus the identities between the kinds, the E-step and noise
 * moments, determinism and the error cases.
 */
#include "engine/core/error.h"
#include "engine/loss/loss.h"
#include "engine/core/rng.h"
#include "../tap.h"
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define BMAX 8
#define KMAX 6
#define NMAX 32

/* ------------------------------------------------------------------------ */
/* Inputs                                                                   */

/* x <- normalise(x + eps * noise): a second batch close to the first. */
static void nudge(cwb_rng *r, float *x, int B, int k, double eps) {
    for (int i = 0; i < B; i++) {
        double n2 = 0;
        for (int d = 0; d < k; d++) {
            x[i * k + d] += (float)(eps * cwb_rng_normal(r));
            n2 += (double)x[i * k + d] * x[i * k + d];
        }
        for (int d = 0; d < k; d++) x[i * k + d] = (float)(x[i * k + d] / sqrt(n2));
    }
}

static void to_double(const float *x, double *y, int n) {
    for (int i = 0; i < n; i++) y[i] = x[i];
}

static double dot(const double *x, const double *y, int k) {
    double s = 0;
    for (int d = 0; d < k; d++) s += x[d] * y[d];
    return s;
}

/* ------------------------------------------------------------------------ */
/* Double-precision reference, written from methods.md, not from loss.c.    */

typedef struct {
    cwb_loss_kind kind;
    int sym, chunk;
    long n_total;
    double alpha, gamma, sigma;
    int use_w;
    uint64_t seed;
    int estep;   /* cfg.estep_first */
    int both;    /* both views' negatives (NTXENT; DCL both_views) */
} tcase;

/* What the reference needs to mirror one cwb_loss object. */
typedef struct {
    tcase c;
    int B, k;
    double logzhat[2 * NMAX];       /* NaN = not yet visited */
    cwb_rng rg, rn;                 /* the documented streams: E-step, noise */
    double logc, logw[BMAX];
    double lnoise[2][BMAX * 2 * BMAX];  /* log noise factor per negative, per direction */
    double logu[2][BMAX];           /* detached E-step draws, per direction */
} refmodel;

static int stateful(cwb_loss_kind k) {
    return k == CWB_LOSS_SOGCLR || k == CWB_LOSS_DECOMPOSABLE;
}

static void ref_init(refmodel *M, const tcase *c, int B, int k) {
    memset(M, 0, sizeof *M);
    M->c = *c;
    M->B = B;
    M->k = k;
    for (int n = 0; n < 2 * NMAX; n++) M->logzhat[n] = NAN;
    cwb_rng_seed(&M->rg, c->seed, CWB_STREAM_LOSS);
    cwb_rng_seed(&M->rn, c->seed, CWB_STREAM_NOISE);
}

/* Columns of a row: B, or 2B with both views (the other view, then the own). */
static int ncols(const refmodel *M) { return M->c.both ? 2 * M->B : M->B; }

/* Row i's terms: x[j] = s_ij, and for negatives log(c w_j n_ij) added.  With
 * both views column B + j is the anchor's own view's row j, and the anchor
 * itself (B + i) is no candidate: -inf. */
static void ref_row(const refmodel *M, int dir, const double *P, const double *Q,
                    double scale, int i, double *x) {
    int B = M->B, k = M->k, nc = ncols(M);
    for (int j = 0; j < nc; j++) {
        const double *cand = j < B ? Q + j * k : P + (j - B) * k;
        x[j] = scale * dot(P + i * k, cand, k);
        if (j != i) x[j] += M->logc + M->logw[j % B] + M->lnoise[dir][i * nc + j];
    }
    if (M->c.both) x[B + i] = -INFINITY;
}

static double lse(const double *x, int n, int skip) {
    double m = -INFINITY, s = 0;
    for (int j = 0; j < n; j++)
        if (j != skip && x[j] > m) m = x[j];
    for (int j = 0; j < n; j++)
        if (j != skip) s += exp(x[j] - m);
    return m + log(s);
}

/* Surrogate of one direction, mean over anchors:
 *   InfoNCE  -s_ii + log(exp(s_ii) + sum_{j!=i} c w_j n_ij exp(s_ij))
 *   DCL      -s_ii + log(sum_{j!=i} c w_j n_ij exp(s_ij))
 *   stateful -s_ii + u_i Zb_i with u_i = exp(logu) fixed. */
static double ref_dir(const refmodel *M, int dir, const double *P, const double *Q, double scale) {
    double x[2 * BMAX], sum = 0;
    for (int i = 0; i < M->B; i++) {
        ref_row(M, dir, P, Q, scale, i, x);
        double sii = x[i];
        switch (M->c.kind) {
        case CWB_LOSS_INFONCE:
        case CWB_LOSS_NTXENT: sum += -sii + lse(x, ncols(M), -1); break;
        case CWB_LOSS_DCL: sum += -sii + lse(x, ncols(M), i); break;
        default: {
            double Z = 0;
            for (int j = 0; j < M->B; j++) Z += exp(x[j]);
            sum += -sii + exp(M->logu[dir][i]) * Z;
        }
        }
    }
    return sum / M->B;
}

static double ref_surrogate(const refmodel *M, const double *A, const double *Bm, double scale) {
    double l = ref_dir(M, 0, A, Bm, scale);
    if (M->c.sym || M->c.both) l = 0.5 * (l + ref_dir(M, 1, Bm, A, scale));
    return l;
}

/* One evaluation: draws noise and u in the documented order, updates the
 * running zhat ("Decomposable loss" step 1, first visit zhat = Zbatch) and
 * returns the reported value and the surrogate at (A, Bm). */
static void ref_call(refmodel *M, const double *A, const double *Bm, const int *idx,
                     const float *w, double scale, double *value, double *surr) {
    int B = M->B;
    long N = M->c.n_total;
    M->logc = N > 0 ? log((double)(N - 1) / (B - 1)) : 0;
    for (int j = 0; j < B; j++) M->logw[j] = w ? log((double)w[j]) : 0;
    int ndir = M->c.sym || M->c.both ? 2 : 1, nc = ncols(M);
    double s2 = M->c.sigma;
    for (int d = 0; d < ndir; d++)
        for (int i = 0; i < B; i++)
            for (int j = 0; j < nc; j++)
                M->lnoise[d][i * nc + j] = (j != i && j != B + i && s2 > 0)
                                               ? s2 * cwb_rng_normal(&M->rn) - 0.5 * s2 * s2 : 0;
    double val = 0;
    for (int d = 0; d < ndir; d++) {
        const double *P = d ? Bm : A, *Q = d ? A : Bm;
        for (int i = 0; i < B; i++) {
            double x[2 * BMAX];
            ref_row(M, d, P, Q, scale, i, x);
            if (!stateful(M->c.kind)) continue;
            double logzb = lse(x, B, -1);
            double *z = &M->logzhat[d * N + idx[i]], prev = *z;
            if (isnan(*z)) *z = logzb;
            else *z = log((1 - M->c.gamma) * exp(*z) + M->c.gamma * exp(logzb));
            /* estep_first: u from the estimate before this batch (first visit: Zbatch). */
            M->logu[d][i] = (M->c.estep && !isnan(prev)) ? -prev : -*z;
            if (M->c.kind == CWB_LOSS_DECOMPOSABLE && M->c.alpha > 0 && isfinite(M->c.alpha))
                M->logu[d][i] += log(cwb_rng_gamma(&M->rg, M->c.alpha, M->c.alpha));
            val += -x[i] + *z;
        }
    }
    *surr = ref_surrogate(M, A, Bm, scale);
    *value = stateful(M->c.kind) ? val / (B * ndir) : *surr;
}

/* Central differences of the reference surrogate (u, noise, zhat frozen). */
typedef struct {
    const refmodel *M;
    const double *A, *Bm;
    double scale;
} surr_at;

static double surr_of(const void *p) {
    const surr_at *s = p;
    return ref_surrogate(s->M, s->A, s->Bm, s->scale);
}

static void ref_fd(const refmodel *M, double *A, double *Bm, double scale, double *gA,
                   double *gB, double *gs) {
    const double h = 1e-5;
    surr_at at = {M, A, Bm, scale};
    for (int e = 0; e < M->B * M->k; e++) {
        gA[e] = tu_central_diff(&A[e], h, surr_of, &at);
        gB[e] = tu_central_diff(&Bm[e], h, surr_of, &at);
    }
    *gs = tu_central_diff(&at.scale, h, surr_of, &at);
}

/* max |g - ref| / max |ref|: scale-free, so a factor 2 or a sign shows as >= 1. */
static double grad_err(const float *g, const double *ref, int n) {
    double e = 0, m = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs(g[i] - ref[i]);
        if (d > e) e = d;
        if (fabs(ref[i]) > m) m = fabs(ref[i]);
    }
    return m > 0 ? e / m : e;
}

static const char *kname(cwb_loss_kind k) { return cwb_loss_name(k); }

static cwb_loss_cfg cfg_of(const tcase *c) {
    cwb_loss_cfg g = cwb_loss_defaults(c->kind);
    g.symmetric = c->sym;
    g.chunk = c->chunk;
    g.n_total = c->n_total;
    g.alpha = c->alpha;
    g.gamma = c->gamma;
    g.noise_sigma = c->sigma;
    g.estep_first = c->estep;
    g.both_views = c->both && c->kind == CWB_LOSS_DCL;   /* NTXENT: always */
    return g;
}

/* ------------------------------------------------------------------------ */
/* Gradient checks: the library's value, surrogate and analytic gradients   */
/* against the double reference over two consecutive calls (the second one  */
/* revisits some indices, so zhat has a history).                            */

static void check_case(const tcase *c, const char *label) {
    enum { B = 7, K = 5 };
    const float scale = 5.0f;
    cwb_rng r;
    float a[B * K], b[B * K], da[B * K], db[B * K], w[B];
    tu_unit_pair(&r, 1234 + c->kind, a, b, B, K);
    for (int j = 0; j < B; j++) w[j] = (float)(0.5 + 1.5 * cwb_rng_uniform(&r));
    const int idx1[B] = { 3, 17, 0, 9, 12, 5, 19 };
    const int idx2[B] = { 9, 2, 17, 11, 3, 0, 14 }; /* 9, 17, 3, 0 revisited */

    cwb_loss_cfg cfg = cfg_of(c);
    cwb_loss *L = cwb_loss_new(&cfg, B + 1, K, c->seed);
    if (!ok(L != NULL, "%s: new%s%s", label, L ? "" : ": ", L ? "" : cwb_errmsg())) return;
    refmodel M;
    ref_init(&M, c, B, K);

    for (int call = 0; call < 2; call++) {
        if (call) {
            nudge(&r, a, B, K, 0.3);
            nudge(&r, b, B, K, 0.3);
        }
        const int *idx = call ? idx2 : idx1;
        const float *cw = c->use_w ? w : NULL;
        cwb_loss_out out;
        int st = cwb_loss_eval(L, a, b, B, K, idx, cw, scale, &out, da, db);
        if (!ok(st == CWB_OK, "%s call %d: eval ok%s%s", label, call, st ? ": " : "",
                st ? cwb_errmsg() : ""))
            break;

        double A[B * K], Bd[B * K], gA[B * K], gB[B * K], gs, rv, rs;
        to_double(a, A, B * K);
        to_double(b, Bd, B * K);
        ref_call(&M, A, Bd, idx, cw, scale, &rv, &rs);
        ref_fd(&M, A, Bd, scale, gA, gB, &gs);
        ok(tap_close(out.value, rv, 1e-5, 1e-6), "%s call %d: value %.8f vs reference %.8f",
           label, call, out.value, rv);
        ok(tap_close(out.surrogate, rs, 1e-5, 1e-6),
           "%s call %d: surrogate %.8f vs reference %.8f", label, call, out.surrogate, rs);
        double ea = grad_err(da, gA, B * K), eb = grad_err(db, gB, B * K);
        ok(ea < 1e-4, "%s call %d: dL/da vs central differences (rel err %.2g)", label, call, ea);
        ok(eb < 1e-4, "%s call %d: dL/db vs central differences (rel err %.2g)", label, call, eb);
        ok(tap_close(out.dscale, gs, 1e-4, 1e-6), "%s call %d: dL/dscale %.8f vs %.8f", label,
           call, out.dscale, gs);
    }
    cwb_loss_free(L);
}

static void test_gradients(void) {
    const double inf = INFINITY;
    for (int kind = 0; kind < CWB_LOSS_NKINDS; kind++)
        for (int sym = 0; sym < 2; sym++)
        for (int both = 0; both < 2; both++) {
            /* both views: NTXENT always, DCL as an option, never with sym */
            if (both != (kind == CWB_LOSS_NTXENT) && !(both && kind == CWB_LOSS_DCL)) continue;
            if (both && sym) continue;
            char label[96];
            const char *tag = sym ? " sym" : both && kind == CWB_LOSS_DCL ? " both_views" : "";
            /* Plain: in-batch (stateful kinds need N), deterministic u. */
            tcase c1 = { kind, sym, 0, stateful(kind) ? 20 : 0, inf, 0.5, 0, 0, 7, 0, both };
            snprintf(label, sizeof label, "%s%s plain", kname(kind), tag);
            check_case(&c1, label);
            /* Everything on: chunk 3 < B, population scaling c = 19/6,
             * column weights, noise, and for DECOMPOSABLE the gamma E-step
             * (alpha = 3) reproduced from the documented stream. */
            tcase c2 = { kind, sym, 3, 20, 3.0, 0.3, 0.7, 1, 99, 0, both };
            snprintf(label, sizeof label, "%s%s chunk3 N=20 col_w noise", kname(kind), tag);
            check_case(&c2, label);
            if (!stateful(kind)) continue;
            /* The E-step-first order, with and without the gamma draw. */
            tcase c3 = { kind, sym, 0, 20, inf, 0.5, 0, 0, 7, 1, 0 };
            snprintf(label, sizeof label, "%s%s estep_first", kname(kind), sym ? " sym" : "");
            check_case(&c3, label);
            tcase c4 = { kind, sym, 3, 20, 3.0, 0.3, 0.7, 1, 99, 1, 0 };
            snprintf(label, sizeof label, "%s%s estep_first chunk3 N=20 col_w noise",
                     kname(kind), sym ? " sym" : "");
            check_case(&c4, label);
        }
}

/* With gamma = 1 and alpha = inf, u_i is exactly 1/Zbatch_i of this batch in
 * methods.md's order and 1/Zbatch_i of the previous visit with estep_first:
 * evaluate the same embeddings at scale 2 then 6 and compare the second
 * surrogate with the hand-computed mean_i(-s_ii + u_i Zb_i). */
static double hand_logzb(const float *a, const float *b, int B, int k, int i, double scale,
                         double *sii) {
    double z = 0;
    for (int j = 0; j < B; j++) {
        double s = 0;
        for (int e = 0; e < k; e++) s += (double)a[i * k + e] * b[j * k + e];
        s *= scale;
        if (j == i) *sii = s;
        z += exp(s);
    }
    return log(z);
}

static void test_estep_order(void) {
    enum { B = 5, K = 3 };
    cwb_rng r;
    float a[B * K], b[B * K];
    tu_unit_pair(&r, 77, a, b, B, K);
    const int idx[B] = { 0, 1, 2, 3, 4 };
    for (int kind = CWB_LOSS_SOGCLR; kind <= CWB_LOSS_DECOMPOSABLE; kind++)
        for (int es = 0; es < 2; es++) {
            cwb_loss_cfg c = cwb_loss_defaults((cwb_loss_kind)kind);
            c.n_total = B; /* c = (N-1)/(B-1) = 1 */
            c.gamma = 1.0;
            c.alpha = INFINITY;
            c.estep_first = es;
            cwb_loss *L = cwb_loss_new(&c, B, K, 5);
            cwb_loss_out o1, o2;
            int st = L ? cwb_loss_eval(L, a, b, B, K, idx, NULL, 2.0f, &o1, NULL, NULL) : -1;
            if (st == CWB_OK) st = cwb_loss_eval(L, a, b, B, K, idx, NULL, 6.0f, &o2, NULL, NULL);
            double want1 = 0, want2 = 0;
            for (int i = 0; i < B; i++) {
                double s1, s2;
                double l1 = hand_logzb(a, b, B, K, i, 2.0, &s1);
                double l2 = hand_logzb(a, b, B, K, i, 6.0, &s2);
                want1 += -s1 + 1.0; /* first visit: u = 1/Zb in both orders */
                want2 += -s2 + (es ? exp(l2 - l1) : 1.0);
            }
            want1 /= B;
            want2 /= B;
            ok(st == CWB_OK && tap_close(o1.surrogate, want1, 1e-6, 1e-9) &&
                   tap_close(o2.surrogate, want2, 1e-6, 1e-9),
               "%s estep_first=%d gamma=1: surrogates %.8f %.8f = hand %.8f %.8f",
               cwb_loss_name((cwb_loss_kind)kind), es, st == CWB_OK ? o1.surrogate : NAN,
               st == CWB_OK ? o2.surrogate : NAN, want1, want2);
            cwb_loss_free(L);
        }
}

/* jensen (loss.h) by hand, gamma = 1 so that zhat is the last Zbatch: the
 * first two visits have no relative variance yet (u = 1/zhat_prev); the
 * second sets v = (Zb2/Zb1 - 1)^2, and the third divides u's mean by
 * 1 + gamma/(2-gamma) v = 1 + v.  After reset the state is as new. */
static void test_jensen_hand(void) {
    enum { B = 5, K = 3 };
    cwb_rng r;
    float a[B * K], b[B * K];
    tu_unit_pair(&r, 78, a, b, B, K);
    const int idx[B] = { 0, 1, 2, 3, 4 };
    const float sc[3] = { 2.0f, 6.0f, 4.0f };
    for (int kind = CWB_LOSS_SOGCLR; kind <= CWB_LOSS_DECOMPOSABLE; kind++) {
        cwb_loss_cfg c = cwb_loss_defaults((cwb_loss_kind)kind);
        c.n_total = B;
        c.gamma = 1.0;
        c.alpha = INFINITY;
        c.estep_first = 1;
        c.jensen = 1;
        cwb_loss *L = cwb_loss_new(&c, B, K, 5);
        double got[2][3];
        int st = L ? CWB_OK : -1;
        for (int pass = 0; pass < 2 && st == CWB_OK; pass++) {
            for (int k = 0; k < 3 && st == CWB_OK; k++) {
                cwb_loss_out o;
                st = cwb_loss_eval(L, a, b, B, K, idx, NULL, sc[k], &o, NULL, NULL);
                got[pass][k] = o.surrogate;
            }
            cwb_loss_reset(L);
        }
        double want[3] = { 0, 0, 0 };
        for (int i = 0; i < B; i++) {
            double s1, s2, s3;
            double l1 = hand_logzb(a, b, B, K, i, sc[0], &s1);
            double l2 = hand_logzb(a, b, B, K, i, sc[1], &s2);
            double l3 = hand_logzb(a, b, B, K, i, sc[2], &s3);
            double v = expm1(l2 - l1) * expm1(l2 - l1);
            want[0] += -s1 + 1.0;
            want[1] += -s2 + exp(l2 - l1);
            want[2] += -s3 + exp(l3 - l2) / (1.0 + v);
        }
        int good = st == CWB_OK;
        for (int k = 0; k < 3; k++) good &= tap_close(got[0][k], want[k] / B, 1e-6, 1e-9);
        ok(good, "%s jensen gamma=1: surrogates %.8f %.8f %.8f = hand %.8f %.8f %.8f",
           cwb_loss_name((cwb_loss_kind)kind), got[0][0], got[0][1], got[0][2], want[0] / B,
           want[1] / B, want[2] / B);
        ok(st == CWB_OK && memcmp(got[0], got[1], sizeof got[0]) == 0,
           "%s jensen: after reset the same three calls give the same numbers",
           cwb_loss_name((cwb_loss_kind)kind));
        cwb_loss_free(L);
    }
}

/* ------------------------------------------------------------------------ */
/* InfoNCE by hand.                                                          */

static void test_hand_3x3(void) {
    /* a = [1 0; 0 1; 1 1], b = [1 0; 1 1; 0 1], scale 1, so
     * S = a b^T = [1 1 0; 0 1 1; 1 2 1].  With e = 2.718281828459045,
     * Z = 2e + 1 = 6.436563656918090 (rows 0, 1), row 2: e(2 + e).
     *   l_0 = l_1 = -1 + log(2e+1) = 0.861994804058251
     *   l_2 = -1 + log(e(2+e)) = log(2+e) = 1.551444713932051
     *   L = (2 * 0.861994804058251 + 1.551444713932051) / 3 = 1.091811440682851
     * G = (softmax - I)/3:
     *   G_0 = ([e, e, 1]/Z - [1,0,0]) / 3, G_1 = ([1, e, e]/Z - [0,1,0]) / 3,
     *   G_2 = ([1, e, 1]/(2+e) - [0,0,1]) / 3.
     * da_i = sum_j G_ij b_j:
     *   da_0 = (G00+G01, G01+G02) = (-1/(3Z), (e+1)/(3Z)) = (-0.051787467832321, 0.192560400582827)
     *   da_1 = (G10+G11, G11+G12) = (-e/(3Z), -1/(3Z)) = (-0.140772932750506, -0.051787467832321)
     *   da_2 = (G20+G21, G21+G22) = ((1+e)/(3(2+e)), -1/(3(2+e))) = (0.262686147460972, -0.070647185872362)
     * db_j = sum_i G_ij a_i:
     *   db_0 = (G00+G20, G10+G20) = (-0.121913214710465, 0.122434653704683)
     *   db_1 = (G01+G21, G11+G21) = ( 0.332811894339116, -0.000521438994218)
     *   db_2 = (G02+G22, G12+G22) = (-0.210898679628650, -0.121913214710465)
     * dscale = sum G .* S = -2/(3Z) + e/(3(2+e)) = 0.088464025923967 */
    const float a[6] = { 1, 0, 0, 1, 1, 1 }, b[6] = { 1, 0, 1, 1, 0, 1 };
    const double want_da[6] = { -0.051787467832321, 0.192560400582827, -0.140772932750506,
                                -0.051787467832321, 0.262686147460972, -0.070647185872362 };
    const double want_db[6] = { -0.121913214710465, 0.122434653704683, 0.332811894339116,
                                -0.000521438994218, -0.210898679628650, -0.121913214710465 };
    cwb_loss_cfg cfg = cwb_loss_defaults(CWB_LOSS_INFONCE);
    cwb_loss *L = cwb_loss_new(&cfg, 3, 2, 1);
    float da[6], db[6];
    cwb_loss_out out;
    int st = cwb_loss_eval(L, a, b, 3, 2, NULL, NULL, 1.0f, &out, da, db);
    ok(st == CWB_OK, "hand 3x3: eval ok");
    ok(tap_close(out.value, 1.091811440682851, 1e-6, 1e-7), "hand 3x3: value %.9f", out.value);
    ok(out.surrogate == out.value, "hand 3x3: InfoNCE surrogate is its value");
    ok(grad_err(da, want_da, 6) < 1e-6, "hand 3x3: dL/da (err %.2g)", grad_err(da, want_da, 6));
    ok(grad_err(db, want_db, 6) < 1e-6, "hand 3x3: dL/db (err %.2g)", grad_err(db, want_db, 6));
    ok(tap_close(out.dscale, 0.088464025923967, 1e-6, 1e-7), "hand 3x3: dscale %.9f",
       out.dscale);
    cwb_loss_free(L);
}

/* Both views by hand: a = [1 0; 0 1], b = [1 0; 1 1], scale 1.  The four
 * anchors a1, a2, b1, b2 against the other three rows:
 *   NT-Xent  a1: -1 + log(e + 1 + e), a2: -1 + log(e + 1 + 1),
 *            b1: -1 + log(e + e + 1), b2: -1 + log(e + e + e) = log 3
 *            mean 0.8435116526791657
 *   DCL both views (no positive): a1: -1 + log(1 + e), a2: -1 + log 2,
 *            b1: -1 + log(e + 1), b2: -1 + log(2e) = log 2
 *            mean 0.25320443403908405
 * and lightly's NTXentLoss as the mean of its 2B cross-entropies, which is
 * the same number; symmetric InfoNCE (cross-view negatives only) is not. */
/* The value of kind (with both_views / symmetric) on the 2 x 2 case; NaN on failure. */
static double hand2_value(cwb_loss_kind kind, int both_views, int symmetric) {
    const float a[4] = { 1, 0, 0, 1 }, b[4] = { 1, 0, 1, 1 };
    cwb_loss_cfg c = cwb_loss_defaults(kind);
    c.both_views = both_views;
    c.symmetric = symmetric;
    cwb_loss *L = cwb_loss_new(&c, 2, 2, 1);
    cwb_loss_out o;
    int st = L ? cwb_loss_eval(L, a, b, 2, 2, NULL, NULL, 1.0f, &o, NULL, NULL) : -1;
    cwb_loss_free(L);
    return st == CWB_OK ? o.value : NAN;
}

static void test_hand_both_views(void) {
    double v = hand2_value(CWB_LOSS_NTXENT, 0, 0);
    ok(tap_close(v, 0.8435116526791657, 1e-6, 1e-7), "hand 2x2 NT-Xent: %.9f (0.843511653)", v);
    v = hand2_value(CWB_LOSS_DCL, 1, 0);
    ok(tap_close(v, 0.25320443403908405, 1e-6, 1e-7), "hand 2x2 DCL both_views: %.9f (0.253204434)", v);
    v = hand2_value(CWB_LOSS_INFONCE, 0, 1);
    ok(isfinite(v) && fabs(v - 0.8435116526791657) > 0.1,
       "symmetric InfoNCE on the same rows is another loss (%.6f)", v);
}

/* ------------------------------------------------------------------------ */
/* chunk < B computes the same thing as one block.                          */

static void test_chunk_equivalence(void) {
    enum { B = 7, K = 5 };
    cwb_rng r;
    float a[B * K], b[B * K], w[B];
    tu_unit_pair(&r, 77, a, b, B, K);
    for (int j = 0; j < B; j++) w[j] = (float)(0.5 + cwb_rng_uniform(&r));
    const int idx[B] = { 4, 1, 8, 0, 6, 3, 9 };
    for (int kind = 0; kind < CWB_LOSS_NKINDS; kind++)
        for (int mode = 0; mode < 3; mode++) {   /* one direction, symmetric, both views */
            int sym = mode == 1, both = mode == 2;
            if ((kind == CWB_LOSS_NTXENT) != both && !(both && kind == CWB_LOSS_DCL)) continue;
            cwb_loss_cfg cfg = cwb_loss_defaults(kind);
            cfg.symmetric = sym;
            cfg.both_views = both && kind == CWB_LOSS_DCL;
            cfg.n_total = 10;
            cfg.noise_sigma = 0.5;
            cfg.alpha = 4.0;
            cwb_loss *L0 = cwb_loss_new(&cfg, B, K, 5);
            cfg.chunk = 3;
            cwb_loss *L3 = cwb_loss_new(&cfg, B, K, 5);
            double worst = 0;
            int allok = L0 && L3;
            for (int call = 0; call < 3 && allok; call++) {
                float da0[B * K], db0[B * K], da3[B * K], db3[B * K];
                cwb_loss_out o0, o3;
                allok &= cwb_loss_eval(L0, a, b, B, K, idx, w, 4.0f, &o0, da0, db0) == CWB_OK;
                allok &= cwb_loss_eval(L3, a, b, B, K, idx, w, 4.0f, &o3, da3, db3) == CWB_OK;
                double e[5] = { fabs(o0.value - o3.value), fabs(o0.surrogate - o3.surrogate),
                                fabs(o0.dscale - o3.dscale), 0, 0 };
                for (int t = 0; t < B * K; t++) {
                    e[3] = fmax(e[3], fabs(da0[t] - da3[t]));
                    e[4] = fmax(e[4], fabs(db0[t] - db3[t]));
                }
                for (int t = 0; t < 5; t++) worst = fmax(worst, e[t]);
            }
            ok(allok && worst < 1e-6, "%s%s: chunk 3 equals chunk 0 with B=7 (max diff %.2g)",
               kname(kind), sym ? " sym" : cfg.both_views ? " both_views" : "", worst);
            cwb_loss_free(L0);
            cwb_loss_free(L3);
        }
}

/* ------------------------------------------------------------------------ */
/* SOGCLR is DECOMPOSABLE's alpha -> infinity limit.                        */

static int same_floats(const float *x, const float *y, int n) {
    return memcmp(x, y, (size_t)n * sizeof *x) == 0;
}

static void test_sogclr_limit(void) {
    enum { B = 6, K = 4 };
    cwb_rng r;
    float a[B * K], b[B * K];
    tu_unit_pair(&r, 31, a, b, B, K);
    const int idx1[B] = { 0, 1, 2, 3, 4, 5 }, idx2[B] = { 6, 2, 7, 0, 8, 4 };
    const double alphas[4] = { 1e9, 0.0, -1.0, INFINITY };
    for (int mode = 0; mode < 4; mode++) /* bit 0: estep_first, bit 1: jensen */
    for (int sym = 0; sym < 2; sym++)
        for (int t = 0; t < 4; t++) {
            const int es = mode & 1, jn = mode >> 1;
            cwb_loss_cfg cs = cwb_loss_defaults(CWB_LOSS_SOGCLR);
            cwb_loss_cfg cd = cwb_loss_defaults(CWB_LOSS_DECOMPOSABLE);
            cs.n_total = cd.n_total = 12;
            cs.gamma = cd.gamma = 0.25;
            cs.symmetric = cd.symmetric = sym;
            cs.estep_first = cd.estep_first = es;
            cs.jensen = cd.jensen = jn;
            cd.alpha = alphas[t];
            cwb_loss *S = cwb_loss_new(&cs, B, K, 3), *D = cwb_loss_new(&cd, B, K, 3);
            float a2[B * K], b2[B * K];
            memcpy(a2, a, sizeof a);
            memcpy(b2, b, sizeof b);
            int exact = 1, allok = S && D;
            double err = 0;
            for (int call = 0; call < 3 && allok; call++) {
                if (call) {
                    nudge(&r, a2, B, K, 0.2);
                    nudge(&r, b2, B, K, 0.2);
                }
                float das[B * K], dbs[B * K], dad[B * K], dbd[B * K];
                cwb_loss_out os, od;
                const int *idx = call == 1 ? idx2 : idx1;
                allok &= cwb_loss_eval(S, a2, b2, B, K, idx, NULL, 8.0f, &os, das, dbs) == CWB_OK;
                allok &= cwb_loss_eval(D, a2, b2, B, K, idx, NULL, 8.0f, &od, dad, dbd) == CWB_OK;
                exact &= same_floats(das, dad, B * K) && same_floats(dbs, dbd, B * K) &&
                         os.dscale == od.dscale && os.value == od.value &&
                         os.surrogate == od.surrogate;
                double gm = 0;
                for (int e = 0; e < B * K; e++) gm = fmax(gm, fmax(fabs(das[e]), fabs(dbs[e])));
                for (int e = 0; e < B * K; e++) {
                    err = fmax(err, fabs(das[e] - dad[e]) / gm);
                    err = fmax(err, fabs(dbs[e] - dbd[e]) / gm);
                }
                err = fmax(err, fabs(os.dscale - od.dscale) / fmax(fabs(os.dscale), 1e-3));
                err = fmax(err, fabs(os.value - od.value));
            }
            if (isfinite(alphas[t]) && alphas[t] > 0)
                ok(allok && err < 1e-3 && !exact,
                   "%s%s%s: SOGCLR gradient = DECOMPOSABLE alpha=1e9 within draw noise (%.2g)",
                   sym ? "sym" : "one-way", es ? " estep_first" : "", jn ? " jensen" : "", err);
            else
                ok(allok && exact, "%s%s%s: SOGCLR = DECOMPOSABLE alpha=%g bit for bit",
                   sym ? "sym" : "one-way", es ? " estep_first" : "", jn ? " jensen" : "", alphas[t]);
            cwb_loss_free(S);
            cwb_loss_free(D);
        }
}

/* ------------------------------------------------------------------------ */
/* InfoNCE - DCL = mean_i log(1 + exp(s_ii) / (c sum_{j!=i} w_j exp(s_ij))). */

static void test_dcl_vs_infonce(void) {
    enum { B = 7, K = 5 };
    cwb_rng r;
    cwb_rng_seed(&r, 55, CWB_STREAM_USER);
    float a[B * K], b[B * K], w[B];
    tu_unit_rows(&r, a, B, K);
    memcpy(b, a, sizeof a); /* aligned pairs, so the positive term matters */
    nudge(&r, b, B, K, 0.5);
    for (int j = 0; j < B; j++) w[j] = (float)(0.3 + cwb_rng_uniform(&r));
    const float scale = 6.0f;
    for (int t = 0; t < 4; t++) {
        long N = t & 1 ? 40 : 0;
        const float *cw = t & 2 ? w : NULL;
        cwb_loss_cfg ci = cwb_loss_defaults(CWB_LOSS_INFONCE), cd = cwb_loss_defaults(CWB_LOSS_DCL);
        ci.n_total = cd.n_total = N;
        cwb_loss *Li = cwb_loss_new(&ci, B, K, 1), *Ld = cwb_loss_new(&cd, B, K, 1);
        cwb_loss_out oi, od;
        int st = cwb_loss_eval(Li, a, b, B, K, NULL, cw, scale, &oi, NULL, NULL) |
                 cwb_loss_eval(Ld, a, b, B, K, NULL, cw, scale, &od, NULL, NULL);
        double c = N ? (double)(N - 1) / (B - 1) : 1.0, want = 0;
        for (int i = 0; i < B; i++) {
            double sii = 0, neg = 0;
            for (int j = 0; j < B; j++) {
                double s = 0;
                for (int d = 0; d < K; d++) s += (double)a[i * K + d] * b[j * K + d];
                s *= scale;
                if (j == i) sii = s;
                else neg += (cw ? cw[j] : 1.0) * exp(s);
            }
            want += log1p(exp(sii) / (c * neg)) / B;
        }
        ok(st == CWB_OK && tap_close(oi.value - od.value, want, 1e-5, 1e-7) && want > 0.05,
           "InfoNCE - DCL = positive term (N=%ld, %s): %.8f vs %.8f", N,
           cw ? "col_w" : "no weights", oi.value - od.value, want);
        cwb_loss_free(Li);
        cwb_loss_free(Ld);
    }
}

/* ------------------------------------------------------------------------ */
/* Decomposable: gamma = 1 makes zhat the batch estimate; E-step moments.   */

static void test_decomposable_state(void) {
    enum { B = 7, K = 5 };
    cwb_rng r;
    float a[B * K], b[B * K];
    tu_unit_pair(&r, 91, a, b, B, K);
    const float scale = 4.0f;

    /* With gamma = 1, log zhat_i = log Zb_i after every call, so the reported
     * value -s_ii + log zhat_i is the population-scaled InfoNCE of the batch,
     * on every call, not only the first. */
    for (int kind = CWB_LOSS_SOGCLR; kind <= CWB_LOSS_DECOMPOSABLE; kind++) {
        cwb_loss_cfg cd = cwb_loss_defaults(kind), ci = cwb_loss_defaults(CWB_LOSS_INFONCE);
        cd.gamma = 1.0;
        cd.n_total = ci.n_total = 30;
        cwb_loss *D = cwb_loss_new(&cd, B, K, 2), *I = cwb_loss_new(&ci, B, K, 2);
        double err = 0;
        int st = 0;
        for (int call = 0; call < 3; call++) {
            cwb_loss_out od, oi;
            const int idx[B] = { 1, 5, 7, 9, 11, 13, 29 };
            st |= cwb_loss_eval(D, a, b, B, K, idx, NULL, scale, &od, NULL, NULL);
            st |= cwb_loss_eval(I, a, b, B, K, NULL, NULL, scale, &oi, NULL, NULL);
            err = fmax(err, fabs(od.value - oi.value));
            nudge(&r, a, B, K, 0.4);
        }
        ok(st == CWB_OK && err < 1e-9, "%s gamma=1: value equals InfoNCE with N (diff %.2g)",
           kname(kind), err);
        cwb_loss_free(D);
        cwb_loss_free(I);
    }

    /* E-step: with gamma = 1 zhat_i = Zb_i, so u_i Zb_i = u_i zhat_i and
     * surrogate + mean(s_ii) = mean_i u_i zhat_i.  u_i ~ Gamma(alpha, rate
     * alpha zhat_i) gives E = 1 (E[u] = 1/zhat) and Var = 1/(alpha B). */
    double sii = 0;
    for (int i = 0; i < B; i++) {
        double s = 0;
        for (int d = 0; d < K; d++) s += (double)a[i * K + d] * b[i * K + d];
        sii += scale * s / B;
    }
    const double alphas[2] = { 10.0, 0.5 };
    for (int t = 0; t < 2; t++) {
        cwb_loss_cfg cd = cwb_loss_defaults(CWB_LOSS_DECOMPOSABLE);
        cd.gamma = 1.0;
        cd.n_total = B;
        cd.alpha = alphas[t];
        cwb_loss *D = cwb_loss_new(&cd, B, K, 100 + t);
        const int M = 3000;
        double m = 0, m2 = 0;
        int st = 0;
        for (int it = 0; it < M; it++) {
            cwb_loss_out o;
            st |= cwb_loss_eval(D, a, b, B, K, NULL, NULL, scale, &o, NULL, NULL);
            double y = o.surrogate + sii;
            m += y;
            m2 += y * y;
        }
        m /= M;
        double var = m2 / M - m * m, want_var = 1.0 / (alphas[t] * B);
        double se = sqrt(want_var / M);
        /* Var of the sample variance ~ var^2 (2 + excess kurtosis 6/(alpha B)) / M. */
        double se_var = want_var * sqrt((2 + 6 / (alphas[t] * B)) / M);
        ok(st == CWB_OK && fabs(m - 1) < 4 * se,
           "E-step alpha=%g: mean of u*zhat %.5f = 1 within 4 SE (%.5f)", alphas[t], m, 4 * se);
        ok(fabs(var - want_var) < 4 * se_var, "E-step alpha=%g: variance %.5f vs 1/(alpha B) %.5f",
           alphas[t], var, want_var);
        cwb_loss_free(D);
    }

    /* reset forgets zhat: after it, a call behaves like a fresh object's. */
    cwb_loss_cfg cs = cwb_loss_defaults(CWB_LOSS_SOGCLR);
    cs.n_total = 10;
    cs.gamma = 0.5;
    cwb_loss *X = cwb_loss_new(&cs, B, K, 4), *Y = cwb_loss_new(&cs, B, K, 4);
    float a2[B * K];
    memcpy(a2, a, sizeof a);
    nudge(&r, a2, B, K, 0.5);
    cwb_loss_out ox, ox2, oy;
    cwb_loss_eval(X, a, b, B, K, NULL, NULL, scale, &ox, NULL, NULL);
    cwb_loss_eval(X, a2, b, B, K, NULL, NULL, scale, &ox2, NULL, NULL);
    cwb_loss_eval(Y, a2, b, B, K, NULL, NULL, scale, &oy, NULL, NULL);
    ok(fabs(ox2.value - oy.value) > 1e-3, "sogclr: zhat carries over between calls");
    cwb_loss_reset(X);
    cwb_loss_eval(X, a2, b, B, K, NULL, NULL, scale, &ox, NULL, NULL);
    ok(ox.value == oy.value && ox.surrogate == oy.surrogate, "sogclr: reset forgets zhat");
    cwb_loss_free(X);
    cwb_loss_free(Y);
}

/* ------------------------------------------------------------------------ */
/* Noise: each negative term times exp(sigma e - sigma^2/2), e ~ N(0,1).     */

static void test_noise_moments(void) {
    /* DCL with B = 2 has one negative per row, so the noise enters its value
     * additively: value - value(sigma = 0) = mean of the 2 log factors,
     * distributed N(-sigma^2/2, sigma^2/2). */
    enum { B = 2, K = 3 };
    const float a[B * K] = { 1, 0, 0, 0.6f, 0.8f, 0 }, b[B * K] = { 0.8f, 0.6f, 0, 0, 1, 0 };
    const double sigma = 0.8;
    cwb_loss_cfg c0 = cwb_loss_defaults(CWB_LOSS_DCL), c1 = c0;
    c1.noise_sigma = sigma;
    cwb_loss *L0 = cwb_loss_new(&c0, B, K, 9), *L1 = cwb_loss_new(&c1, B, K, 9);
    cwb_loss_out o0, o1;
    int st = cwb_loss_eval(L0, a, b, B, K, NULL, NULL, 3.0f, &o0, NULL, NULL);
    const int M = 4000;
    double m = 0, m2 = 0;
    for (int it = 0; it < M; it++) {
        st |= cwb_loss_eval(L1, a, b, B, K, NULL, NULL, 3.0f, &o1, NULL, NULL);
        double y = o1.value - o0.value;
        m += y;
        m2 += y * y;
    }
    m /= M;
    double var = m2 / M - m * m, want_m = -0.5 * sigma * sigma, want_v = 0.5 * sigma * sigma;
    ok(st == CWB_OK && fabs(m - want_m) < 4 * sqrt(want_v / M),
       "noise: mean log factor %.5f = -sigma^2/2 = %.5f (mean-one lognormal)", m, want_m);
    ok(fabs(var - want_v) < 4 * want_v * sqrt(2.0 / M), "noise: variance %.5f = sigma^2/2 = %.5f",
       var, want_v);
    cwb_loss_free(L0);
    cwb_loss_free(L1);
}

/* ------------------------------------------------------------------------ */
/* Same seed, same numbers; another seed, other numbers.                     */

static int run_sequence(cwb_loss_kind kind, uint64_t seed, double *vals, float *grads) {
    enum { B = 6, K = 4 };
    cwb_rng r;
    float a[B * K], b[B * K];
    tu_unit_pair(&r, 8, a, b, B, K);
    cwb_loss_cfg c = cwb_loss_defaults(kind);
    c.symmetric = 1;
    c.n_total = 9;
    c.alpha = 2.0;
    c.noise_sigma = kind == CWB_LOSS_DECOMPOSABLE ? 0 : 0.5;
    c.chunk = 4;
    cwb_loss *L = cwb_loss_new(&c, B, K, seed);
    int st = L ? 0 : 1;
    for (int it = 0; it < 5 && !st; it++) {
        int idx[B];
        for (int i = 0; i < B; i++) idx[i] = (i * 2 + it) % 9;
        cwb_loss_out o;
        st |= cwb_loss_eval(L, a, b, B, K, idx, NULL, 5.0f, &o, grads + it * 2 * B * K,
                            grads + (it * 2 + 1) * B * K);
        vals[it * 3] = o.value;
        vals[it * 3 + 1] = o.surrogate;
        vals[it * 3 + 2] = o.dscale;
    }
    cwb_loss_free(L);
    return st;
}

static void test_determinism(void) {
    const cwb_loss_kind kinds[2] = { CWB_LOSS_DECOMPOSABLE, CWB_LOSS_INFONCE };
    for (int t = 0; t < 2; t++) {
        double v1[15], v2[15], v3[15];
        float g1[5 * 2 * 24], g2[5 * 2 * 24], g3[5 * 2 * 24];
        int st = run_sequence(kinds[t], 42, v1, g1) | run_sequence(kinds[t], 42, v2, g2) |
                 run_sequence(kinds[t], 43, v3, g3);
        ok(st == CWB_OK && memcmp(v1, v2, sizeof v1) == 0 && memcmp(g1, g2, sizeof g1) == 0,
           "%s (%s): same seed, same values and gradients bit for bit over 5 calls",
           kname(kinds[t]), t ? "noise 0.5" : "alpha 2");
        ok(memcmp(v1, v3, sizeof v1) != 0 && memcmp(g1, g3, sizeof g1) != 0,
           "%s: another seed gives other values", kname(kinds[t]));
    }
}

/* ------------------------------------------------------------------------ */
/* Names, defaults, optional outputs.                                        */

static void test_names_defaults(void) {
    int rt = 1;
    for (int k = 0; k < CWB_LOSS_NKINDS; k++) rt &= cwb_loss_from_name(cwb_loss_name(k)) == k;
    ok(rt, "names round-trip");
    ok(strcmp(cwb_loss_name(CWB_LOSS_DECOMPOSABLE), "decomposable") == 0 &&
           strcmp(cwb_loss_name(CWB_LOSS_INFONCE), "infonce") == 0 &&
           strcmp(cwb_loss_name(CWB_LOSS_DCL), "dcl") == 0 &&
           strcmp(cwb_loss_name(CWB_LOSS_SOGCLR), "sogclr") == 0 &&
           strcmp(cwb_loss_name(CWB_LOSS_NTXENT), "ntxent") == 0 &&
           cwb_loss_from_name("NTXent") == CWB_LOSS_NTXENT,
       "names as documented");
    ok(cwb_loss_from_name("simclr") == -1 && cwb_loss_from_name(NULL) == -1, "unknown name -> -1");
    cwb_loss_cfg s = cwb_loss_defaults(CWB_LOSS_SOGCLR), d = cwb_loss_defaults(CWB_LOSS_DECOMPOSABLE);
    ok(s.gamma == 0.9 && d.gamma == 0.02 && d.alpha == 10 && d.symmetric == 0 && d.chunk == 0 &&
           d.n_total == 0 && d.noise_sigma == 0 && s.kind == CWB_LOSS_SOGCLR,
       "documented defaults");

    /* NULL gradient pointers: same value and dscale, the other gradient unchanged. */
    enum { B = 5, K = 3 };
    cwb_rng r;
    float a[B * K], b[B * K], da[B * K], db[B * K], da2[B * K];
    tu_unit_pair(&r, 3, a, b, B, K);
    cwb_loss_cfg c = cwb_loss_defaults(CWB_LOSS_INFONCE);
    c.symmetric = 1;
    cwb_loss *L = cwb_loss_new(&c, B, K, 1);
    ok(cwb_loss_config(L)->symmetric == 1 && cwb_loss_config(L)->kind == CWB_LOSS_INFONCE,
       "config is returned");
    cwb_loss_out o1, o2, o3;
    int st = cwb_loss_eval(L, a, b, B, K, NULL, NULL, 2.0f, &o1, da, db);
    st |= cwb_loss_eval(L, a, b, B, K, NULL, NULL, 2.0f, &o2, NULL, NULL);
    st |= cwb_loss_eval(L, a, b, B, K, NULL, NULL, 2.0f, &o3, da2, NULL);
    ok(st == CWB_OK && o1.value == o2.value && o1.dscale == o2.dscale && o1.value == o3.value &&
           memcmp(da, da2, sizeof da) == 0,
       "optional gradients: NULL da/db give the same value, dscale and da");
    cwb_loss_free(L);
}

/* ------------------------------------------------------------------------ */
/* Bad inputs.                                                               */

static void expect(int got, int want, const char *w1, const char *w2, const char *what) {
    const char *msg = cwb_errmsg();
    int named = (!w1 || strstr(msg, w1)) && (!w2 || strstr(msg, w2));
    ok(got == want && msg[0] && named && !strchr(msg, '\n'), "%s -> %s: \"%s\"", what,
       cwb_status_name(want), msg);
    cwb_clear_error();
}

static void expect_null(cwb_loss *L, const char *w1, const char *w2, const char *what) {
    expect(L == NULL ? CWB_EINVAL : CWB_OK, CWB_EINVAL, w1, w2, what);
    cwb_loss_free(L);
}

static void test_bad_inputs(void) {
    enum { B = 4, K = 3 };
    float a[B * K], b[B * K], da[B * K], db[B * K];
    cwb_rng r;
    cwb_rng_seed(&r, 1, CWB_STREAM_USER);
    tu_unit_rows(&r, a, B, K);
    tu_unit_rows(&r, b, B, K);
    cwb_loss_out o;

    cwb_loss_cfg c = cwb_loss_defaults(CWB_LOSS_DECOMPOSABLE);
    c.n_total = 10;
    cwb_loss *D = cwb_loss_new(&c, B, K, 1);
    cwb_loss_cfg ci = cwb_loss_defaults(CWB_LOSS_DCL);
    cwb_loss *I = cwb_loss_new(&ci, B, K, 1);
    if (!ok(D && I, "constructors for the error tests")) return;

    expect(cwb_loss_eval(D, a, b, 1, K, NULL, NULL, 1, &o, da, db), CWB_EINVAL, "decomposable",
           "B=1", "B < 2");
    expect(cwb_loss_eval(I, a, b, B + 1, K, NULL, NULL, 1, &o, da, db), CWB_EINVAL, "dcl",
           "max_batch", "B > max_batch");
    expect(cwb_loss_eval(I, a, b, B, K + 1, NULL, NULL, 1, &o, da, db), CWB_EINVAL, "dcl", "dim",
           "k != dim");
    expect(cwb_loss_eval(I, a, b, B, K, NULL, NULL, 0, &o, da, db), CWB_EINVAL, "dcl", "scale",
           "scale = 0");
    expect(cwb_loss_eval(I, a, b, B, K, NULL, NULL, -2, &o, da, db), CWB_EINVAL, "dcl", "scale",
           "scale < 0");
    expect(cwb_loss_eval(I, a, b, B, K, NULL, NULL, NAN, &o, da, db), CWB_EINVAL, "dcl", "scale",
           "scale NaN");
    expect(cwb_loss_eval(I, a, b, B, K, NULL, NULL, INFINITY, &o, da, db), CWB_EINVAL, "dcl",
           "scale", "scale inf");
    float bad = a[5];
    a[5] = NAN;
    expect(cwb_loss_eval(I, a, b, B, K, NULL, NULL, 1, &o, da, db), CWB_ENAN, "dcl", "a ",
           "NaN in a");
    a[5] = bad;
    bad = b[2];
    b[2] = -INFINITY;
    expect(cwb_loss_eval(D, a, b, B, K, NULL, NULL, 1, &o, da, db), CWB_ENAN, "decomposable",
           "b ", "Inf in b");
    b[2] = bad;
    int idx[B] = { 0, 1, 10, 3 };
    expect(cwb_loss_eval(D, a, b, B, K, idx, NULL, 1, &o, da, db), CWB_EINVAL, "decomposable",
           "idx[2]=10", "idx = n_total");
    idx[2] = -1;
    expect(cwb_loss_eval(D, a, b, B, K, idx, NULL, 1, &o, da, db), CWB_EINVAL, "decomposable",
           "idx[2]=-1", "idx < 0");
    float w[B] = { 1, 1, -0.5f, 1 };
    expect(cwb_loss_eval(I, a, b, B, K, NULL, w, 1, &o, da, db), CWB_EINVAL, "dcl", "col_w[2]",
           "negative col_w");
    w[2] = NAN;
    expect(cwb_loss_eval(I, a, b, B, K, NULL, w, 1, &o, da, db), CWB_EINVAL, "dcl", "col_w[2]",
           "NaN col_w");
    expect(cwb_loss_eval(I, NULL, b, B, K, NULL, NULL, 1, &o, da, db), CWB_EINVAL, "dcl", "a",
           "NULL a");
    expect(cwb_loss_eval(I, a, b, B, K, NULL, NULL, 1, NULL, da, db), CWB_EINVAL, "dcl", "out",
           "NULL out");
    expect(cwb_loss_eval(NULL, a, b, B, K, NULL, NULL, 1, &o, da, db), CWB_EINVAL, "loss", NULL,
           "NULL loss");
    /* DCL with every negative weighted 0 has log 0 in it. */
    float w0[B] = { 0, 0, 0, 0 };
    expect(cwb_loss_eval(I, a, b, B, K, NULL, w0, 1, &o, da, db), CWB_ENAN, "dcl", "col_w",
           "DCL with all-zero weights");
    /* A state smaller than the batch. */
    cwb_loss_cfg c3 = c;
    c3.n_total = 3;
    cwb_loss *D3 = cwb_loss_new(&c3, B, K, 1);
    expect(cwb_loss_eval(D3, a, b, B, K, NULL, NULL, 1, &o, da, db), CWB_EINVAL, "decomposable",
           "n_total=3", "n_total < B");
    cwb_loss_free(D3);
    /* The object still works after all that. */
    ok(cwb_loss_eval(D, a, b, B, K, NULL, NULL, 1, &o, da, db) == CWB_OK && isfinite(o.value),
       "good call after the bad ones");

    cwb_loss_cfg x = cwb_loss_defaults(CWB_LOSS_SOGCLR);
    expect_null(cwb_loss_new(&x, 8, 4, 0), "sogclr", "n_total", "new: stateful with n_total 0");
    x.n_total = 10;
    x.gamma = 0;
    expect_null(cwb_loss_new(&x, 8, 4, 0), "sogclr", "gamma", "new: gamma 0");
    x.gamma = 1.5;
    expect_null(cwb_loss_new(&x, 8, 4, 0), "sogclr", "gamma", "new: gamma > 1");
    x.gamma = 0.5;
    expect_null(cwb_loss_new(&x, 1, 4, 0), "sogclr", "max_batch", "new: max_batch 1");
    expect_null(cwb_loss_new(&x, 8, 0, 0), "sogclr", "dim", "new: dim 0");
    x.chunk = -1;
    expect_null(cwb_loss_new(&x, 8, 4, 0), "sogclr", "chunk", "new: chunk < 0");
    x.chunk = 0;
    x.noise_sigma = -1;
    expect_null(cwb_loss_new(&x, 8, 4, 0), "sogclr", "noise_sigma", "new: noise < 0");
    x.noise_sigma = 0;
    x.kind = CWB_LOSS_NKINDS;
    expect_null(cwb_loss_new(&x, 8, 4, 0), "kind", NULL, "new: bad kind");
    expect_null(cwb_loss_new(NULL, 8, 4, 0), "loss", NULL, "new: NULL config");
    cwb_loss_cfg y = cwb_loss_defaults(CWB_LOSS_INFONCE);
    y.n_total = -5;
    expect_null(cwb_loss_new(&y, 8, 4, 0), "infonce", "n_total", "new: n_total < 0");
    y.n_total = 0;
    y.both_views = 1;
    expect_null(cwb_loss_new(&y, 8, 4, 0), "infonce", "both_views is an option of dcl",
                "new: both_views on infonce");
    cwb_loss_cfg z = cwb_loss_defaults(CWB_LOSS_NTXENT);
    z.symmetric = 1;
    expect_null(cwb_loss_new(&z, 8, 4, 0), "ntxent", "already an anchor", "new: symmetric ntxent");
    z = cwb_loss_defaults(CWB_LOSS_DCL);
    z.both_views = 1;
    z.symmetric = 1;
    expect_null(cwb_loss_new(&z, 8, 4, 0), "dcl", "symmetric=1 with both views",
                "new: symmetric dcl both_views");
    cwb_loss_free(NULL);
    cwb_loss_reset(NULL);
    ok(1, "free/reset of NULL do nothing");
    cwb_loss_free(D);
    cwb_loss_free(I);
}

int main(void) {
    test_names_defaults();
    test_hand_3x3();
    test_hand_both_views();
    test_gradients();
    test_chunk_equivalence();
    test_sogclr_limit();
    test_estep_order();
    test_jensen_hand();
    test_dcl_vs_infonce();
    test_decomposable_state();
    test_noise_moments();
    test_determinism();
    test_bad_inputs();
    return done_testing();
}
