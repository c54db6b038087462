/* test_mlp.c - the MLP tower: whole-network gradients, initialisation,
 * configuration checks and call-order errors.
 *
 * The gradient check differentiates L = sum(w . mlp(x)) by central
 * differences of an independent double-precision forward pass (written here
 * from the definition, reading only the parameter values), w.r.t. every
 * parameter and every input. */
#include "engine/core/error.h"
#include "engine/nn/mlp.h"
#include "../tap.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* Double forward of m's architecture with parameters p (same flat layout as
 * m->params) on x; writes the output rows to y if non-NULL; returns
 * sum(w . output). */
static double ref_forward(const cwb_mlp *m, const double *p, const double *x, int B,
                          const float *w, double *y) {
    const int *d = m->cfg.dims;
    int L = m->cfg.n_layers;
    double h[64 * 16], t[64 * 16];
    for (int i = 0; i < B * d[0]; i++) h[i] = x[i];
    for (int l = 0; l < L; l++) {
        const double *W = p + (m->W[l] - m->params), *b = p + (m->b[l] - m->params);
        for (int i = 0; i < B; i++)
            for (int j = 0; j < d[l + 1]; j++) {
                double s = b[j];
                for (int k = 0; k < d[l]; k++) s += h[i * d[l] + k] * W[k * d[l + 1] + j];
                t[i * d[l + 1] + j] = l < L - 1 ? tu_act(m->cfg.act, s) : s;
            }
        memcpy(h, t, sizeof(double) * B * d[l + 1]);
    }
    int k = d[L];
    double loss = 0;
    for (int i = 0; i < B; i++) {
        double nrm = 1;
        if (m->cfg.l2norm) {
            double ss = 0;
            for (int j = 0; j < k; j++) ss += h[i * k + j] * h[i * k + j];
            nrm = sqrt(ss);
        }
        for (int j = 0; j < k; j++) {
            double v = h[i * k + j] / nrm;
            if (y) y[i * k + j] = v;
            loss += w[i * k + j] * v;
        }
    }
    return loss;
}

/* ref_forward's loss as a function of the parameters and inputs it points to. */
typedef struct {
    const cwb_mlp *m;
    const double *p, *x;
    int B;
    const float *w;
} ref_at;

static double ref_loss(const void *ctx) {
    const ref_at *a = ctx;
    return ref_forward(a->m, a->p, a->x, a->B, a->w, NULL);
}

/* Per element within rtol or 1e-4 of the largest reference value. */
static int match(const float *got, const double *want, long n, double rtol, const char *what) {
    double scale = 0;
    for (long i = 0; i < n; i++)
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    int good = scale > 0;
    for (long i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= rtol * fabs(want[i]) + 1e-4 * scale)) {
            if (good) diag("%s: element %ld got %.8g want %.8g", what, i, (double)got[i], want[i]);
            good = 0;
        }
    return good;
}

static void gradcheck(cwb_mlp_cfg cfg, const char *name) {
    enum { B = 4, MAXB = 6 };
    int L = cfg.n_layers, din = cfg.dims[0], dout = cfg.dims[L];
    cwb_rng r;
    cwb_rng_seed(&r, 21 + cfg.act + 10 * L, CWB_STREAM_INIT);
    cwb_mlp *m = cwb_mlp_new(&cfg, MAXB, &r);
    if (!ok(m != NULL, "%s: created", name)) {
        diag("%s", cwb_errmsg());
        return;
    }
    size_t np = m->n_params;
    float *x = malloc(sizeof(float) * MAXB * din), *w = malloc(sizeof(float) * B * dout);
    float *dx = malloc(sizeof(float) * B * din);
    double *p = malloc(np * sizeof *p), *gp = malloc(np * sizeof *gp);
    double *xd = calloc((size_t)B * din, sizeof(double));
    double *gx = calloc((size_t)B * din, sizeof(double));
    double *y = malloc(sizeof(double) * B * dout);
    for (int i = 0; i < MAXB * din; i++) x[i] = (float)cwb_rng_normal(&r);
    for (int i = 0; i < B * dout; i++) w[i] = (float)cwb_rng_normal(&r);

    /* A first forward on other rows: backward must use the LAST forward. */
    const float *out;
    cwb_mlp_forward(m, x, MAXB, &out);
    float *x2 = x + 2 * din;            /* rows 2..5 of x as a fresh batch */
    int rc = cwb_mlp_forward(m, x2, B, &out);
    ok(rc == CWB_OK && out == m->out, "%s: forward B=%d of max %d returns m->out", name, B,
       MAXB);

    for (size_t i = 0; i < np; i++) p[i] = m->params[i];
    for (int i = 0; i < B * din; i++) xd[i] = x2[i];
    ref_forward(m, p, xd, B, w, y);
    ok(match(out, y, B * dout, 1e-5, "forward"), "%s: forward matches double reference", name);

    for (size_t i = 0; i < np; i++) m->grads[i] = 1e30f;   /* zero_grad must clear */
    cwb_mlp_zero_grad(m);
    int zeroed = 1;
    for (size_t i = 0; i < np; i++) zeroed &= m->grads[i] == 0;
    ok(zeroed, "%s: zero_grad clears all %zu gradients", name, np);

    for (int i = 0; i < B * din; i++) dx[i] = 1e30f;
    rc = cwb_mlp_backward(m, w, dx);
    ok(rc == CWB_OK, "%s: backward succeeds", name);

    const double h = 1e-5;
    const ref_at at = {m, p, xd, B, w};
    for (size_t i = 0; i < np; i++) gp[i] = tu_central_diff(&p[i], h, ref_loss, &at);
    for (int i = 0; i < B * din; i++) gx[i] = tu_central_diff(&xd[i], h, ref_loss, &at);
    /* Layer by layer, so a failure says where. */
    int good = 1;
    for (int l = 0; l < L; l++) {
        size_t ow = m->W[l] - m->params, ob = m->b[l] - m->params;
        char what[32];
        snprintf(what, sizeof what, "dW[%d]", l);
        good &= match(m->dW[l], gp + ow, (long)cfg.dims[l] * cfg.dims[l + 1], 1e-3, what);
        snprintf(what, sizeof what, "db[%d]", l);
        good &= match(m->db[l], gp + ob, cfg.dims[l + 1], 1e-3, what);
    }
    ok(good, "%s: parameter gradients match central differences", name);
    ok(match(dx, gx, B * din, 1e-3, "dx"), "%s: input gradient matches central differences",
       name);

    /* Backward accumulates: a second call doubles the gradients; dx NULL is fine. */
    rc = cwb_mlp_backward(m, w, NULL);
    for (size_t i = 0; i < np; i++) gp[i] *= 2;
    ok(rc == CWB_OK && match(m->grads, gp, (long)np, 1e-3, "grads x2"),
       "%s: a second backward accumulates", name);
    free(x); free(w); free(dx); free(p); free(gp); free(xd); free(gx); free(y);
    cwb_mlp_free(m);
}

static void test_init(void) {
    cwb_mlp_cfg cfg = {.n_layers = 2, .dims = {64, 256, 16}, .act = CWB_ACT_RELU};
    cwb_rng r1, r2, r3;
    cwb_rng_seed(&r1, 5, CWB_STREAM_INIT);
    cwb_rng_seed(&r2, 5, CWB_STREAM_INIT);
    cwb_rng_seed(&r3, 6, CWB_STREAM_INIT);
    cwb_mlp *a = cwb_mlp_new(&cfg, 4, &r1), *b = cwb_mlp_new(&cfg, 4, &r2),
            *c = cwb_mlp_new(&cfg, 4, &r3);
    if (!ok(a && b && c, "three 64-256-16 towers created")) return;
    size_t want = 64 * 256 + 256 + 256 * 16 + 16;
    ok(a->n_params == want, "n_params = %zu (want %zu)", a->n_params, want);
    ok(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0,
       "equal seeds give bit-identical initial parameters");
    ok(memcmp(a->params, c->params, a->n_params * sizeof(float)) != 0,
       "different seeds give different initial parameters");
    /* Layout: W[l], b[l] tile params exactly, grads mirror it. */
    ok(a->W[0] == a->params && a->b[0] == a->W[0] + 64 * 256 && a->W[1] == a->b[0] + 256 &&
           a->b[1] == a->W[1] + 256 * 16 && a->dW[1] - a->grads == a->W[1] - a->params,
       "W/b/dW/db point into the flat blocks in order");

    /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)): bounded, mean 0, variance bound^2/3
     * (4 SE; the variance of u^2 for u ~ U(-c, c) is 4c^4/45). */
    for (int l = 0; l < 2; l++) {
        double bound = 1 / sqrt((double)cfg.dims[l]);
        long n = (long)cfg.dims[l] * cfg.dims[l + 1];
        double s = 0, ss = 0;
        int inside = 1;
        for (long i = 0; i < n; i++) {
            double v = a->W[l][i];
            if (fabs(v) > bound) inside = 0;
            s += v;
            ss += v * v;
        }
        double c2 = bound * bound;
        ok(inside, "layer %d weights within +-1/sqrt(%d)", l, cfg.dims[l]);
        ok(fabs(s / n) <= 4 * sqrt(c2 / 3 / n), "layer %d weight mean %.2g ~ 0", l, s / n);
        ok(fabs(ss / n - c2 / 3) <= 4 * sqrt(4 * c2 * c2 / 45 / n),
           "layer %d weight variance %.4g ~ bound^2/3 = %.4g", l, ss / n, c2 / 3);
        int binside = 1, bnonzero = 0;
        for (int j = 0; j < cfg.dims[l + 1]; j++) {
            if (fabs(a->b[l][j]) > bound) binside = 0;
            if (a->b[l][j] != 0) bnonzero = 1;
        }
        ok(binside && bnonzero, "layer %d biases non-zero and within the same bound", l);
    }
    int gz = 1;
    for (size_t i = 0; i < a->n_params; i++) gz &= a->grads[i] == 0;
    ok(gz, "gradients start at zero");
    cwb_mlp_free(a);
    cwb_mlp_free(b);
    cwb_mlp_free(c);
}

/* cwb_mlp_new must fail with NULL and a message mentioning `word`. */
static void bad_cfg(const cwb_mlp_cfg *cfg, int max_batch, cwb_rng *r, const char *word,
                    const char *what) {
    cwb_clear_error();
    cwb_mlp *m = cwb_mlp_new(cfg, max_batch, r);
    const char *msg = cwb_errmsg();
    ok(m == NULL && msg[0] && strstr(msg, word), "rejects %s (\"%s\")", what, msg);
    cwb_mlp_free(m);
}

static void test_errors(void) {
    cwb_rng r;
    cwb_rng_seed(&r, 1, CWB_STREAM_INIT);
    cwb_mlp_cfg good = {.n_layers = 2, .dims = {3, 4, 2}, .act = CWB_ACT_TANH, .l2norm = 1};
    cwb_mlp_cfg c;
    c = good; c.n_layers = 0;
    bad_cfg(&c, 8, &r, "n_layers", "n_layers = 0");
    c = good; c.n_layers = CWB_MLP_MAX_LAYERS + 1;
    bad_cfg(&c, 8, &r, "n_layers", "n_layers = 9");
    c = good; c.dims[1] = 0;
    bad_cfg(&c, 8, &r, "dims[1]", "a zero hidden width");
    c = good; c.dims[2] = -3;
    bad_cfg(&c, 8, &r, "dims[2]", "a negative output width");
    c = good; c.dims[0] = 0;
    bad_cfg(&c, 8, &r, "dims[0]", "a zero input width");
    c = good; c.act = (cwb_act)17;
    bad_cfg(&c, 8, &r, "activation", "an unknown activation");
    bad_cfg(&good, 0, &r, "max_batch", "max_batch = 0");
    bad_cfg(&good, -2, &r, "max_batch", "max_batch = -2");
    bad_cfg(&good, 8, NULL, "rng", "a NULL rng");
    bad_cfg(NULL, 8, &r, "NULL", "a NULL config");

    /* A shared two-view tower runs 2B stacked rows: max_batch counts rows. */
    cwb_mlp *m = cwb_mlp_new(&good, 8, &r);
    if (!ok(m != NULL, "valid 3-4-2 tower created")) return;
    float x[9 * 3] = {0}, g[9 * 2] = {0}, dx[9 * 3];
    const float *out = NULL;
    cwb_clear_error();
    ok(cwb_mlp_backward(m, g, dx) == CWB_ESTATE && cwb_errmsg()[0],
       "backward before any forward -> CWB_ESTATE (\"%s\")", cwb_errmsg());
    for (int i = 0; i < 9 * 3; i++) x[i] = (float)(i % 5) - 2;
    ok(cwb_mlp_forward(m, x, 8, &out) == CWB_OK && out, "forward of 8 = max_batch rows");
    cwb_clear_error();
    ok(cwb_mlp_forward(m, x, 9, &out) == CWB_EINVAL && strstr(cwb_errmsg(), "B=9"),
       "forward of 9 > max_batch rows rejected (\"%s\")", cwb_errmsg());
    cwb_clear_error();
    ok(cwb_mlp_forward(m, x, 0, &out) == CWB_EINVAL && strstr(cwb_errmsg(), "B=0"),
       "forward of 0 rows rejected (\"%s\")", cwb_errmsg());
    ok(cwb_mlp_forward(m, NULL, 2, &out) == CWB_EINVAL, "forward of a NULL input rejected");
    ok(cwb_mlp_backward(m, g, dx) == CWB_OK, "a rejected forward keeps the previous valid one");
    ok(cwb_mlp_in_dim(m) == 3 && cwb_mlp_out_dim(m) == 2, "in_dim 3, out_dim 2");
    cwb_mlp_free(m);
    cwb_mlp_free(NULL);
}

int main(void) {
    char name[64];
    for (int a = CWB_ACT_IDENTITY; a <= CWB_ACT_TANH; a++)
        for (int l2 = 0; l2 <= 1; l2++) {
            cwb_mlp_cfg cfg = {.n_layers = 3, .dims = {5, 8, 6, 4}, .act = (cwb_act)a,
                               .l2norm = l2};
            snprintf(name, sizeof name, "5-8-6-4 %s%s", cwb_act_name((cwb_act)a),
                     l2 ? " +l2" : "");
            gradcheck(cfg, name);
        }
    /* One layer (no activation at all) and a deep narrow tower. */
    gradcheck((cwb_mlp_cfg){.n_layers = 1, .dims = {7, 3}, .act = CWB_ACT_GELU, .l2norm = 1},
              "7-3 single layer +l2");
    gradcheck((cwb_mlp_cfg){.n_layers = 8, .dims = {3, 5, 4, 6, 5, 4, 6, 5, 2},
                            .act = CWB_ACT_TANH},
              "8-layer tanh");
    test_init();
    test_errors();
    return done_testing();
}
