/*
 * test_mmreg.c - the modality-structure regularisers (reg.h) and the fusion
 * ITM head (fusion.h) against double-precision references written here from
 * methods.md with plain loops (no Gram matrices), by central differences on
 * every coordinate of every input; plus the accumulate-with-weight contract,
 * the hard-negative sampler's distribution, and the error cases.
 */
#include "engine/core/error.h"
#include "engine/nn/fusion.h"
#include "engine/loss/reg.h"
#include "engine/core/rng.h"
#include "../tap.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B0 6
#define K0 5
#define NIN 6
#define H 1e-5

/* ---- inputs --------------------------------------------------------------- */

/* y = normalise(x + eps noise): a nearby "augmented view". */
static void near(cwb_rng *r, const float *x, float *y, int B, int k, double eps) {
    for (int i = 0; i < B; i++) {
        double n2 = 0;
        for (int d = 0; d < k; d++) {
            y[i * k + d] = x[i * k + d] + (float)(eps * cwb_rng_normal(r));
            n2 += (double)y[i * k + d] * y[i * k + d];
        }
        for (int d = 0; d < k; d++) y[i * k + d] = (float)(y[i * k + d] / sqrt(n2));
    }
}

static double ddot(const double *x, const double *y, int k) {
    double s = 0;
    for (int d = 0; d < k; d++) s += x[d] * y[d];
    return s;
}

static double dsq(const double *x, const double *y, int k) {
    double s = 0;
    for (int d = 0; d < k; d++) s += (x[d] - y[d]) * (x[d] - y[d]);
    return s;
}

/* ---- references, from methods.md ------------------------------------------ */

typedef double (*ref_fn)(double *const *in, int B, int k, const void *ctx);

/* InfoNCE one direction (methods.md "Conventional contrastive loss"). */
static double ref_nce(const double *p, const double *q, int B, int k, double scale) {
    double L = 0;
    for (int i = 0; i < B; i++) {
        double mx = -INFINITY, s[64];
        for (int j = 0; j < B; j++) {
            s[j] = scale * ddot(p + i * k, q + j * k, k);
            if (s[j] > mx) mx = s[j];
        }
        double z = 0;
        for (int j = 0; j < B; j++) z += exp(s[j] - mx);
        L += -s[i] + mx + log(z);
    }
    return L / B;
}

typedef struct { double scale; int part; } sep_ctx;   /* part: 0 all, 1 ortho, 2 con, 3 uni */

static double ref_sep(double *const *in, int B, int k, const void *vc) {
    const sep_ctx *c = vc;
    const double *zv = in[0], *ziv = in[1], *ziva = in[2], *zt = in[3], *zit = in[4], *zita = in[5];
    double ortho = 0;
    for (int j = 0; j < B; j++) {
        double a = ddot(zv + j * k, ziv + j * k, k), b = ddot(zt + j * k, zit + j * k, k);
        ortho += a * a + b * b;
    }
    ortho /= B;
    double con = ref_nce(ziv, ziva, B, k, c->scale) + ref_nce(zit, zita, B, k, c->scale);
    double S = 0;
    for (int j = 0; j < B; j++)
        for (int q = 0; q < B; q++)
            S += exp(-2 * dsq(ziv + j * k, ziv + q * k, k)) + exp(-2 * dsq(zit + j * k, zit + q * k, k));
    double uni = log(S / B);
    return c->part == 1 ? ortho : c->part == 2 ? con : c->part == 3 ? uni : ortho + con + uni;
}

typedef struct { const float *t; double t0; } br_ctx;

static double ref_bridge(double *const *in, int B, int k, const void *vc) {
    const br_ctx *c = vc;
    const double *zv = in[0], *zva = in[1], *zt = in[2];
    double L = 0;
    for (int j = 0; j < B; j++) {
        double t = c->t ? c->t[j] : c->t0, m[64], n2 = 0;
        for (int d = 0; d < k; d++) {
            m[d] = t * zv[j * k + d] + (1 - t) * zt[j * k + d];
            n2 += m[d] * m[d];
        }
        for (int d = 0; d < k; d++) {
            double e = zva[j * k + d] - m[d] / sqrt(n2);
            L += e * e;
        }
    }
    return L / B;
}

static double ref_gc(double *const *in, int B, int k, const void *vc) {
    const int *part = vc;   /* 0 total, 1 L_GC, 2 L^a_GC */
    const double *V = in[0], *T = in[1], *Va = in[2], *Ta = in[3];
    double gc = 0, ga = 0;
    for (int j = 0; j < B; j++)
        for (int q = 0; q < B; q++) {
            double x = ddot(V + j * k, T + q * k, k) - ddot(V + q * k, T + j * k, k);
            double y = ddot(V + j * k, V + q * k, k) - ddot(T + j * k, T + q * k, k);
            double u = ddot(V + j * k, V + q * k, k) - ddot(Va + j * k, Va + q * k, k);
            double w = ddot(T + j * k, T + q * k, k) - ddot(Ta + j * k, Ta + q * k, k);
            gc += x * x + y * y;
            ga += u * u + w * w;
        }
    for (int j = 0; j < B; j++) {
        double r = ddot(V + j * k, T + j * k, k) - ddot(Va + j * k, Ta + j * k, k);
        ga += r * r;
    }
    gc /= B;
    ga /= B;
    return *part == 1 ? gc : *part == 2 ? ga : gc + ga;
}

/* ---- the check driver ----------------------------------------------------- */

/*
 * For every coordinate of every input: the float analytic gradient g[i]
 * (computed with the buffers pre-filled with `pre` and weight w) must equal
 * pre + w * (central difference of the double reference).
 */
static void grad_check(const char *what, ref_fn f, const void *ctx, double *const *in,
                       float *const *g, const char *const *names, int nin, int B, int k,
                       double pre, double w, double rtol, double atol) {
    for (int i = 0; i < nin; i++) {
        if (!g[i]) continue;
        int bad = 0;
        double worst = 0;
        for (int q = 0; q < B * k; q++) {
            double x = in[i][q];
            in[i][q] = x + H;
            double fp = f(in, B, k, ctx);
            in[i][q] = x - H;
            double fm = f(in, B, k, ctx);
            in[i][q] = x;
            double want = pre + w * (fp - fm) / (2 * H);
            double err = fabs(g[i][q] - want);
            if (err > worst) worst = err;
            if (!tap_close(g[i][q], want, rtol, atol)) bad++;
        }
        ok(bad == 0, "%s: d/d %s matches central differences (%d of %d off, max err %.2g)", what,
           names[i], bad, B * k, worst);
    }
}

/* ---- separation ------------------------------------------------------------ */

static void test_separation(cwb_reg *w, cwb_rng *r) {
    const int B = B0, k = K0;
    float x[NIN][B0 * K0], g[NIN][B0 * K0];
    double xd[NIN][B0 * K0];
    tu_unit_rows(r, x[0], B, k);                 /* zv   */
    tu_unit_rows(r, x[1], B, k);                 /* ziv  */
    near(r, x[1], x[2], B, k, 0.3);          /* ziva */
    tu_unit_rows(r, x[3], B, k);                 /* zt   */
    tu_unit_rows(r, x[4], B, k);                 /* zit  */
    near(r, x[4], x[5], B, k, 0.3);          /* zita */
    for (int i = 0; i < NIN; i++)
        for (int q = 0; q < B * k; q++) xd[i][q] = x[i][q];
    double *in[NIN];
    float *gp[NIN];
    for (int i = 0; i < NIN; i++) in[i] = xd[i], gp[i] = g[i];
    static const char *const names[NIN] = {"zv", "ziv", "ziva", "zt", "zit", "zita"};

    const float scale = 5.0f;
    const double pre = 0.3, wt = 0.7;
    for (int i = 0; i < NIN; i++)
        for (int q = 0; q < B * k; q++) g[i][q] = (float)pre;
    cwb_sep_out o;
    int rc = cwb_reg_separation(w, x[0], x[1], x[2], x[3], x[4], x[5], B, k, scale, (float)wt, &o,
                                g[0], g[1], g[2], g[3], g[4], g[5]);
    ok(rc == CWB_OK, "separation evaluates (rc %d: %s)", rc, cwb_errmsg());
    sep_ctx c = {scale, 0};
    double want = ref_sep(in, B, k, &c);
    ok(tap_close(o.total, want, 1e-5, 1e-6), "L_Sep = %.8f matches the reference %.8f", o.total, want);
    c.part = 1;
    ok(tap_close(o.ortho, ref_sep(in, B, k, &c), 1e-5, 1e-7), "L_Ortho = %.6f matches", o.ortho);
    c.part = 2;
    ok(tap_close(o.con, ref_sep(in, B, k, &c), 1e-5, 1e-7), "L^i_Con = %.6f matches", o.con);
    c.part = 3;
    ok(tap_close(o.uni, ref_sep(in, B, k, &c), 1e-5, 1e-7), "L^i_Uni = %.6f matches", o.uni);
    ok(fabs(o.total - (o.ortho + o.con + o.uni)) < 1e-9, "L_Sep is the sum of its three terms");
    c.part = 0;
    grad_check("L_Sep", ref_sep, &c, in, gp, names, NIN, B, k, pre, wt, 1e-3, 2e-5);

    /* Only requested gradients are touched. */
    float keep[B0 * K0];
    for (int q = 0; q < B * k; q++) keep[q] = g[3][q] = 1.25f;
    rc = cwb_reg_separation(w, x[0], x[1], x[2], x[3], x[4], x[5], B, k, scale, 1.0f, &o, NULL, g[1],
                            NULL, NULL, NULL, NULL);
    ok(rc == CWB_OK && memcmp(keep, g[3], sizeof keep) == 0, "NULL gradient pointers are skipped");

    /* Orthogonal heads: L_Ortho = 0 exactly when zi is orthogonal to z. */
    float zv[2 * 3] = {1, 0, 0, 0, 1, 0}, zi[2 * 3] = {0, 1, 0, 0, 0, 1};
    cwb_reg *w3 = cwb_reg_new(2, 3);
    rc = cwb_reg_separation(w3, zv, zi, zi, zv, zi, zi, 2, 3, 1.0f, 1.0f, &o, NULL, NULL, NULL, NULL, NULL, NULL);
    ok(rc == CWB_OK && o.ortho == 0.0, "orthogonal shared/independent features give L_Ortho = 0 (%g)", o.ortho);
    /* Two identical rows per modality: every G = 1, S = 2 B^2, L^i_Uni = log(2B). */
    float same[2 * 3] = {0, 0, 1, 0, 0, 1};
    rc = cwb_reg_separation(w3, zv, same, same, zv, same, same, 2, 3, 1.0f, 1.0f, &o, NULL, NULL, NULL, NULL, NULL, NULL);
    ok(rc == CWB_OK && tap_close(o.uni, log(4.0), 1e-7, 1e-7), "collapsed independent features: L^i_Uni = log(2B) (%g)", o.uni);
    cwb_reg_free(w3);

    /* Errors. */
    cwb_clear_error();
    rc = cwb_reg_separation(w, x[0], x[1], x[2], x[3], x[4], x[5], 1, k, scale, 1, &o, NULL, NULL, NULL, NULL, NULL, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("B = 1"), "separation rejects B = 1 (%s)", cwb_errmsg());
    rc = cwb_reg_separation(w, x[0], x[1], x[2], x[3], x[4], x[5], B, k + 1, scale, 1, &o, NULL, NULL, NULL, NULL, NULL, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("dim"), "separation rejects k != dim (%s)", cwb_errmsg());
    rc = cwb_reg_separation(w, x[0], NULL, x[2], x[3], x[4], x[5], B, k, scale, 1, &o, NULL, NULL, NULL, NULL, NULL, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("ziv"), "separation rejects a NULL input and names it (%s)", cwb_errmsg());
    rc = cwb_reg_separation(w, x[0], x[1], x[2], x[3], x[4], x[5], B, k, 0.0f, 1, &o, NULL, NULL, NULL, NULL, NULL, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("scale"), "separation rejects scale = 0 (%s)", cwb_errmsg());
    float nanw = NAN;
    rc = cwb_reg_separation(w, x[0], x[1], x[2], x[3], x[4], x[5], B, k, scale, nanw, &o, NULL, NULL, NULL, NULL, NULL, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("weight"), "separation rejects a NaN weight (%s)", cwb_errmsg());
    float saved = x[5][7];
    x[5][7] = NAN;
    rc = cwb_reg_separation(w, x[0], x[1], x[2], x[3], x[4], x[5], B, k, scale, 1, &o, NULL, NULL, NULL, NULL, NULL, NULL);
    ok(rc == CWB_ENAN && tu_msg_has("zita"), "separation rejects NaN in zita (%s)", cwb_errmsg());
    x[5][7] = saved;
}

/* ---- bridge ---------------------------------------------------------------- */

static void test_bridge(cwb_reg *w, cwb_rng *r) {
    const int B = B0, k = K0;
    float x[3][B0 * K0], g[3][B0 * K0];
    double xd[3][B0 * K0];
    tu_unit_rows(r, x[0], B, k);                 /* zv  */
    near(r, x[0], x[1], B, k, 0.4);          /* zva */
    tu_unit_rows(r, x[2], B, k);                 /* zt  */
    for (int i = 0; i < 3; i++)
        for (int q = 0; q < B * k; q++) xd[i][q] = x[i][q];
    double *in[3] = {xd[0], xd[1], xd[2]};
    float *gp[3] = {g[0], g[1], g[2]};
    static const char *const names[3] = {"zv", "zva", "zt"};

    float tt[B0];
    for (int j = 0; j < B; j++) tt[j] = (float)cwb_rng_uniform(r);
    for (int mode = 0; mode < 2; mode++) {
        const double pre = -0.2, wt = 1.3;
        for (int i = 0; i < 3; i++)
            for (int q = 0; q < B * k; q++) g[i][q] = (float)pre;
        double v;
        const float *tp = mode ? tt : NULL;
        int rc = cwb_reg_bridge(w, x[0], x[1], x[2], tp, 0.25f, B, k, (float)wt, &v, g[0], g[1], g[2]);
        ok(rc == CWB_OK, "bridge (%s) evaluates (%s)", mode ? "per-pair t" : "t = 0.25", cwb_errmsg());
        br_ctx c = {tp, 0.25};
        double want = ref_bridge(in, B, k, &c);
        ok(tap_close(v, want, 1e-5, 1e-7), "L_Br = %.8f matches the reference %.8f", v, want);
        grad_check(mode ? "L_Br (per-pair t)" : "L_Br (t = 0.25)", ref_bridge, &c, in, gp, names, 3, B, k,
                   pre, wt, 1e-3, 2e-5);
    }
    /* z^a_V on the bridge mean gives 0; t = 1 makes the mean z_V itself. */
    double v;
    int rc = cwb_reg_bridge(w, x[0], x[0], x[2], NULL, 1.0f, B, k, 1, &v, NULL, NULL, NULL);
    ok(rc == CWB_OK && v < 1e-12, "t = 1 and z^a_V = z_V: L_Br = 0 (%g)", v);

    /* Errors: bad times fail before any gradient is touched. */
    float before[B0 * K0];
    memcpy(before, g[0], sizeof before);
    tt[B - 1] = 1.5f;
    rc = cwb_reg_bridge(w, x[0], x[1], x[2], tt, 0.25f, B, k, 1, &v, g[0], g[1], g[2]);
    ok(rc == CWB_EINVAL && tu_msg_has("t[5]") && memcmp(before, g[0], sizeof before) == 0,
       "bridge rejects t[5] = 1.5 and leaves the gradients alone (%s)", cwb_errmsg());
    rc = cwb_reg_bridge(w, x[0], x[1], x[2], NULL, -0.1f, B, k, 1, &v, NULL, NULL, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("t0"), "bridge rejects t0 = -0.1 (%s)", cwb_errmsg());
    float neg[B0 * K0];
    for (int q = 0; q < B * k; q++) neg[q] = -x[0][q];
    rc = cwb_reg_bridge(w, x[0], x[1], neg, NULL, 0.5f, B, k, 1, &v, NULL, NULL, NULL);
    ok(rc == CWB_ENAN && tu_msg_has("pair 0"), "bridge rejects z_T = -z_V at t = 0.5 (%s)", cwb_errmsg());
    rc = cwb_reg_bridge(w, x[0], x[1], x[2], NULL, 0.25f, B0 + 1, k, 1, &v, NULL, NULL, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("max_batch"), "bridge rejects B > max_batch (%s)", cwb_errmsg());
}

/* ---- geometric consistency ------------------------------------------------- */

static void test_geometric(cwb_reg *w, cwb_rng *r) {
    const int B = B0, k = K0;
    float x[4][B0 * K0], g[4][B0 * K0];
    double xd[4][B0 * K0];
    tu_unit_rows(r, x[0], B, k);                 /* V  */
    tu_unit_rows(r, x[1], B, k);                 /* T  */
    near(r, x[0], x[2], B, k, 0.3);          /* Va */
    near(r, x[1], x[3], B, k, 0.3);          /* Ta */
    for (int i = 0; i < 4; i++)
        for (int q = 0; q < B * k; q++) xd[i][q] = x[i][q];
    double *in[4] = {xd[0], xd[1], xd[2], xd[3]};
    float *gp[4] = {g[0], g[1], g[2], g[3]};
    static const char *const names[4] = {"zv", "zt", "zva", "zta"};
    const double pre = 0.1, wt = 0.6;
    for (int i = 0; i < 4; i++)
        for (int q = 0; q < B * k; q++) g[i][q] = (float)pre;
    cwb_gc_out o;
    int rc = cwb_reg_geometric(w, x[0], x[1], x[2], x[3], B, k, (float)wt, &o, g[0], g[1], g[2], g[3]);
    ok(rc == CWB_OK, "geometric consistency evaluates (%s)", cwb_errmsg());
    int part = 1;
    ok(tap_close(o.gc, ref_gc(in, B, k, &part), 1e-5, 1e-6), "L_GC = %.6f matches the reference", o.gc);
    part = 2;
    ok(tap_close(o.gc_aug, ref_gc(in, B, k, &part), 1e-5, 1e-6), "L^a_GC = %.6f matches the reference", o.gc_aug);
    part = 0;
    ok(tap_close(o.total, ref_gc(in, B, k, &part), 1e-5, 1e-6), "total = %.6f matches", o.total);
    grad_check("L_GC + L^a_GC", ref_gc, &part, in, gp, names, 4, B, k, pre, wt, 1e-3, 2e-5);

    /* Identical modalities and views: every term vanishes. */
    rc = cwb_reg_geometric(w, x[0], x[0], x[0], x[0], B, k, 1, &o, NULL, NULL, NULL, NULL);
    ok(rc == CWB_OK && o.total < 1e-10, "V = T = Va = Ta gives 0 (%g)", o.total);

    x[3][0] = INFINITY;
    rc = cwb_reg_geometric(w, x[0], x[1], x[2], x[3], B, k, 1, &o, NULL, NULL, NULL, NULL);
    ok(rc == CWB_ENAN && tu_msg_has("zta"), "geometric rejects Inf in zta (%s)", cwb_errmsg());
    rc = cwb_reg_geometric(NULL, x[0], x[1], x[2], x[2], B, k, 1, &o, NULL, NULL, NULL, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("workspace"), "geometric rejects a NULL workspace (%s)", cwb_errmsg());
}

/* ---- fusion ITM head ------------------------------------------------------- */

#define FB 5
#define FK 4

typedef struct {
    const cwb_fusion *f;
    double *params;        /* double copy of f->mlp->params */
    const int *negb, *nega;
} fu_ctx;

/* Logit of the fused row [a, b] through the double copy of the MLP. */
static double ref_logit(const fu_ctx *c, const double *a, const double *b) {
    const cwb_mlp *m = c->f->mlp;
    double h[64], o[64];
    int w = c->f->cfg.dim_a + c->f->cfg.dim_b;
    for (int q = 0; q < c->f->cfg.dim_a; q++) h[q] = a[q];
    for (int q = 0; q < c->f->cfg.dim_b; q++) h[c->f->cfg.dim_a + q] = b[q];
    size_t off = 0;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        int di = m->cfg.dims[l], dout = m->cfg.dims[l + 1];
        const double *W = c->params + off, *bb = c->params + off + (size_t)di * dout;
        for (int j = 0; j < dout; j++) {
            double s = bb[j];
            for (int i = 0; i < di; i++) s += h[i] * W[(size_t)i * dout + j];
            o[j] = l < m->cfg.n_layers - 1 ? tanh(s) : s;
        }
        off += (size_t)di * dout + dout;
        memcpy(h, o, sizeof(double) * dout);
        w = dout;
    }
    (void)w;
    return h[0];
}

static double bce(double l, int y) { return log1p(exp(-fabs(l))) + (l > 0 ? l : 0) - y * l; }

static double ref_itm(double *const *in, int B, int k, const void *vc) {
    const fu_ctx *c = vc;
    const double *a = in[0], *b = in[1];
    double L = 0;
    for (int i = 0; i < B; i++) {
        L += bce(ref_logit(c, a + i * k, b + i * k), 1);
        L += bce(ref_logit(c, a + i * k, b + c->negb[i] * k), 0);
        L += bce(ref_logit(c, a + c->nega[i] * k, b + i * k), 0);
    }
    return L / (3 * B);
}

/* The same loss as a function of the parameters (in[0] = the params). */
typedef struct { fu_ctx *fc; const double *a, *b; } fp_ctx;
static double ref_itm_params(double *const *in, int B, int k, const void *vc) {
    const fp_ctx *c = vc;
    double *saved = c->fc->params;
    c->fc->params = in[0];
    double *ab[2] = {(double *)c->a, (double *)c->b};
    double L = ref_itm(ab, FB, FK, c->fc);
    c->fc->params = saved;
    (void)B; (void)k;
    return L;
}

static void test_fusion(cwb_rng *r) {
    cwb_fusion_cfg fc = cwb_fusion_defaults();
    fc.dim_a = fc.dim_b = FK;
    fc.hidden = 6;
    fc.layers = 2;
    fc.act = CWB_ACT_TANH;   /* smooth, so central differences are exact to O(h^2) */
    cwb_rng init;
    cwb_rng_seed(&init, 7, CWB_STREAM_INIT);
    cwb_fusion *f = cwb_fusion_new(&fc, FB, &init);
    ok(f != NULL, "fusion model builds (%s)", cwb_errmsg());
    if (!f) return;
    /* Larger weights than the default init, so the logits are not all near 0. */
    for (size_t q = 0; q < f->mlp->n_params; q++) f->mlp->params[q] *= 3.0f;

    float a[FB * FK], b[FB * FK], ga[FB * FK], gb[FB * FK];
    tu_unit_rows(r, a, FB, FK);
    tu_unit_rows(r, b, FB, FK);
    int negb[FB], nega[FB];
    int rc = cwb_fusion_hard_negatives(f, a, b, FB, 5.0f, r, negb, nega);
    ok(rc == CWB_OK, "hard negatives are drawn (%s)", cwb_errmsg());
    int self = 0;
    for (int i = 0; i < FB; i++) self += negb[i] == i || nega[i] == i;
    ok(self == 0, "no hard negative is the positive itself");

    const double pre = 0.05, wt = 0.8;
    for (int q = 0; q < FB * FK; q++) ga[q] = gb[q] = (float)pre;
    cwb_mlp_zero_grad(f->mlp);
    cwb_fusion_out o;
    rc = cwb_fusion_itm(f, a, b, FB, negb, nega, (float)wt, &o, ga, gb);
    ok(rc == CWB_OK, "ITM evaluates (%s)", cwb_errmsg());

    size_t np = f->mlp->n_params;
    double *pd = malloc(np * sizeof(double));
    for (size_t q = 0; q < np; q++) pd[q] = f->mlp->params[q];
    fu_ctx c = {f, pd, negb, nega};
    double ad[FB * FK], bd[FB * FK];
    for (int q = 0; q < FB * FK; q++) ad[q] = a[q], bd[q] = b[q];
    double *in[2] = {ad, bd};
    double want = ref_itm(in, FB, FK, &c);
    ok(tap_close(o.loss, want, 1e-5, 1e-7), "ITM loss %.8f matches the reference %.8f", o.loss, want);
    float *gp[2] = {ga, gb};
    static const char *const names[2] = {"a (image)", "b (text)"};
    grad_check("L_ITM", ref_itm, &c, in, gp, names, 2, FB, FK, pre, wt, 2e-3, 2e-5);

    /* Parameter gradients: the mlp's grads hold weight * dL/dparams. */
    fp_ctx pc = {&c, ad, bd};
    double *pin[1] = {pd};
    float *pg[1] = {f->mlp->grads};
    static const char *const pn[1] = {"fusion parameters"};
    grad_check("L_ITM", ref_itm_params, &pc, pin, pg, pn, 1, 1, (int)np, 0.0, wt, 2e-3, 2e-5);

    /* The binary task: labels given, gradient w.r.t. both inputs. */
    int y[FB] = {1, 0, 0, 1, 1};
    double L = 0;
    for (int i = 0; i < FB; i++) L += bce(ref_logit(&c, ad + i * FK, bd + i * FK), y[i]);
    rc = cwb_fusion_bce(f, a, b, y, FB, 1.0f, &o, NULL, NULL);
    ok(rc == CWB_OK && tap_close(o.loss, L / FB, 1e-5, 1e-7), "question-task BCE %.6f matches %.6f", o.loss, L / FB);

    /* Hard negatives follow softmax(scale <a_i, b_j>) over j != i: counts for
     * row 0 within 4 standard errors of the probabilities. */
    enum { DRAWS = 20000 };
    long cnt[FB] = {0};
    const double sc = 3.0;
    for (int t = 0; t < DRAWS; t++) {
        cwb_fusion_hard_negatives(f, a, b, FB, (float)sc, r, negb, nega);
        cnt[negb[0]]++;
    }
    double z = 0, p[FB];
    for (int j = 1; j < FB; j++) {
        double s = 0;
        for (int q = 0; q < FK; q++) s += (double)a[q] * b[j * FK + q];
        p[j] = exp(sc * s);
        z += p[j];
    }
    int within = cnt[0] == 0;
    for (int j = 1; j < FB; j++) {
        p[j] /= z;
        double se = sqrt(p[j] * (1 - p[j]) / DRAWS);
        if (fabs((double)cnt[j] / DRAWS - p[j]) > 4 * se) within = 0;
    }
    ok(within, "hard-negative frequencies match softmax(scale s_0j), j != 0 (p1 %.3f vs %.3f)", p[1],
       (double)cnt[1] / DRAWS);

    /* Errors. */
    int bady[FB] = {1, 0, 2, 0, 1};
    rc = cwb_fusion_bce(f, a, b, bady, FB, 1.0f, &o, NULL, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("y[2]"), "BCE rejects a target of 2 (%s)", cwb_errmsg());
    int badn[FB] = {1, 0, 7, 0, 1};
    rc = cwb_fusion_itm(f, a, b, FB, badn, nega, 1.0f, &o, NULL, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("row 2"), "ITM rejects a negative index out of range (%s)", cwb_errmsg());
    rc = cwb_fusion_hard_negatives(f, a, b, 1, 1.0f, r, negb, nega);
    ok(rc == CWB_EINVAL && tu_msg_has("B = 1"), "hard negatives reject B = 1 (%s)", cwb_errmsg());
    rc = cwb_fusion_itm(f, a, b, FB + 1, negb, nega, 1.0f, &o, NULL, NULL);
    ok(rc == CWB_EINVAL && tu_msg_has("pairs"), "ITM rejects B > max_batch (%s)", cwb_errmsg());
    fc.layers = 0;
    ok(cwb_fusion_new(&fc, FB, &init) == NULL && tu_msg_has("layers"), "fusion_new rejects 0 layers (%s)", cwb_errmsg());
    free(pd);
    cwb_fusion_free(f);
}

int main(void) {
    cwb_rng r;
    cwb_rng_seed(&r, 42, CWB_STREAM_USER);
    cwb_reg *w = cwb_reg_new(B0, K0);
    ok(w != NULL, "regulariser workspace builds (%s)", cwb_errmsg());
    if (!w) return done_testing();
    test_separation(w, &r);
    test_bridge(w, &r);
    test_geometric(w, &r);
    test_fusion(&r);
    ok(cwb_reg_new(1, 4) == NULL && tu_msg_has("max_batch"), "cwb_reg_new rejects max_batch = 1 (%s)", cwb_errmsg());
    cwb_reg_free(w);
    return done_testing();
}
