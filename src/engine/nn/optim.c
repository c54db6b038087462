/* optim.c - SGD (heavy-ball) and AdamW over a flat block, and lr schedules
 * (see optim.h).  The updates follow torch.optim.SGD (dampening 0, no
 * Nesterov) and torch.optim.AdamW term for term, so a run can be checked
 * against PyTorch step by step. */
#include "engine/nn/optim.h"
#include "engine/core/error.h"
#include "engine/core/mem.h"
#include "engine/core/tensor.h"
#include "engine/core/vexp.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <strings.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

/* Subnormal floats flushed to zero (FTZ) and read as zero (DAZ) inside the
 * update loops, the caller's mode restored after.  Why: the state of
 * parameters whose gradient is (nearly) always zero -- the weights of the
 * border pixels that augmented images almost never light -- decays into
 * the subnormal range, and x86 takes a microcode assist for every operation
 * on a subnormal: a Fashion-MNIST run at B = 16 spent 92% of its time in
 * AdamW's loop, 24 ms a step instead of 4.5.  A subnormal moment moves its
 * parameter by less than lr * 1.2e-38 / eps, so flushing it changes nothing
 * that a float parameter can show.  The stored state is also flushed in
 * software (flush_small), for machines without SSE and for valgrind, which
 * does not emulate the FTZ/DAZ bits. */
#if defined(__SSE2__)
#define FLUSH_BITS 0x8040u /* FTZ (bit 15) | DAZ (bit 6) of MXCSR */
static unsigned flush_begin(void) {
    unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | FLUSH_BITS);
    return csr;
}
static void flush_end(unsigned csr) { _mm_setcsr(csr); }
#else
static unsigned flush_begin(void) { return 0; }
static void flush_end(unsigned csr) { (void)csr; }
#endif
static inline float flush_small(float x) { return fabsf(x) < FLT_MIN ? 0.0f : x; }
static inline cwb_v4f flush_small4(cwb_v4f x) {
    const cwb_v4f lo = cwb_v4f_set1(FLT_MIN), zero = cwb_v4f_set1(0.0f);
    return cwb_v4f_select((x < lo) & (x > -lo), zero, x);
}

struct cwb_optim {
    cwb_optim_cfg cfg;
    size_t n;
    long t;          /* completed steps (AdamW bias correction) */
    float *m;        /* SGD momentum buffer / AdamW first moment */
    float *v;        /* AdamW second moment */
    cwb_mem mem;     /* owns m and v */
};

cwb_optim_cfg cwb_optim_defaults(cwb_opt_kind kind) {
    cwb_optim_cfg c;
    c.kind = kind;
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.eps = 1e-8f;
    if (kind == CWB_OPT_ADAMW) {
        c.lr = 1e-3f;
        c.momentum = 0.0f;
        c.weight_decay = 0.01f;
    } else {
        c.kind = CWB_OPT_SGD;
        c.lr = 0.1f;
        c.momentum = 0.9f;
        c.weight_decay = 0.0f;
    }
    return c;
}

int cwb_opt_from_name(const char *name) {
    if (!name) return -1;
    if (strcasecmp(name, "sgd") == 0) return CWB_OPT_SGD;
    if (strcasecmp(name, "adamw") == 0) return CWB_OPT_ADAMW;
    return -1;
}

int cwb_optim_check(const cwb_optim_cfg *c, const char *who) {
    if (!c) return cwb_fail(CWB_EINVAL, "%s%sconfig is NULL", CWB_WHO(who));
    if (c->kind != CWB_OPT_SGD && c->kind != CWB_OPT_ADAMW)
        return cwb_fail(CWB_EINVAL, "%s%sunknown kind %d", CWB_WHO(who), (int)c->kind);
    if (!(c->lr >= 0.0f) || !isfinite(c->lr))
        return cwb_fail(CWB_EINVAL, "%s%slr=%g must be finite and >= 0", CWB_WHO(who), (double)c->lr);
    if (!(c->weight_decay >= 0.0f) || !isfinite(c->weight_decay))
        return cwb_fail(CWB_EINVAL, "%s%sweight_decay=%g must be finite and >= 0", CWB_WHO(who),
                        (double)c->weight_decay);
    if (c->kind == CWB_OPT_SGD) {
        if (!(c->momentum >= 0.0f && c->momentum < 1.0f))
            return cwb_fail(CWB_EINVAL, "%s%ssgd momentum=%g must be in [0, 1)", CWB_WHO(who),
                            (double)c->momentum);
    } else {
        if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f))
            return cwb_fail(CWB_EINVAL, "%s%sadamw beta1=%g must be in [0, 1)", CWB_WHO(who),
                            (double)c->beta1);
        if (!(c->beta2 >= 0.0f && c->beta2 < 1.0f))
            return cwb_fail(CWB_EINVAL, "%s%sadamw beta2=%g must be in [0, 1)", CWB_WHO(who),
                            (double)c->beta2);
        if (!(c->eps > 0.0f) || !isfinite(c->eps))
            return cwb_fail(CWB_EINVAL, "%s%sadamw eps=%g must be finite and > 0", CWB_WHO(who),
                            (double)c->eps);
    }
    return CWB_OK;
}

/* lr, momentum, weight_decay; then AdamW's own */
static const cwb_json_field optim_fields[] = {
    CWB_JSON_FIELD(cwb_optim_cfg, lr, CWB_JSON_FLOAT),    CWB_JSON_FIELD(cwb_optim_cfg, momentum, CWB_JSON_FLOAT),
    CWB_JSON_FIELD(cwb_optim_cfg, weight_decay, CWB_JSON_FLOAT),
    CWB_JSON_FIELD(cwb_optim_cfg, beta1, CWB_JSON_FLOAT), CWB_JSON_FIELD(cwb_optim_cfg, beta2, CWB_JSON_FLOAT),
    CWB_JSON_FIELD(cwb_optim_cfg, eps, CWB_JSON_FLOAT),
};

void cwb_optim_describe(const cwb_optim_cfg *c, const char *key, cwb_json *j) {
    cwb_json_record(j, key, c->kind == CWB_OPT_SGD ? "sgd" : "adamw", c, optim_fields,
                    c->kind == CWB_OPT_ADAMW ? CWB_JSON_NFIELDS(optim_fields) : 3);
}

cwb_optim *cwb_optim_new(const cwb_optim_cfg *cfg, size_t n_params) {
    if (cwb_optim_check(cfg, "optim") != CWB_OK) return NULL;
    if (n_params == 0) {
        cwb_fail(CWB_EINVAL, "optim: no parameters (n_params = 0)");
        return NULL;
    }
    cwb_optim *o = cwb_zalloc(sizeof *o, "optim");
    if (!o) return NULL;
    o->cfg = *cfg;
    o->n = n_params;
    if (cfg->kind == CWB_OPT_ADAMW || cfg->momentum != 0.0f) o->m = cwb_mem_floats(&o->mem, n_params);
    if (cfg->kind == CWB_OPT_ADAMW) o->v = cwb_mem_floats(&o->mem, n_params);
    if (cwb_mem_check(&o->mem, "optim: out of memory for state of %zu parameters", n_params)) {
        cwb_optim_free(o);
        return NULL;
    }
    return o;
}

const float *cwb_optim_moment(const cwb_optim *o, int which) {
    if (!o) return NULL;
    return which == 0 ? o->m : which == 1 ? o->v : NULL;
}

void cwb_optim_free(cwb_optim *o) {
    if (!o) return;
    cwb_mem_free(&o->mem);
    free(o);
}

/* torch.optim.SGD, dampening 0, nesterov off:
 *   g = grad + wd p;  buf = mu buf + g (buf = g on the first step, the same
 *   thing with buf starting at 0);  p -= lr buf. */
static void sgd_step(cwb_optim *o, float *p, const float *grad, float lr) {
    const float wd = o->cfg.weight_decay, mu = o->cfg.momentum;
    float *buf = o->m;
    size_t i = 0;
    if (buf) {
        /* The common case, four at a time with no per-element branch. */
        const cwb_v4f vwd = cwb_v4f_set1(wd), vmu = cwb_v4f_set1(mu), vlr = cwb_v4f_set1(lr);
        for (; i + 4 <= o->n; i += 4) {
            cwb_v4f g = cwb_v4f_load(grad + i), w = cwb_v4f_load(p + i);
            cwb_v4f m = flush_small4(vmu * cwb_v4f_load(buf + i) + (g + vwd * w));
            cwb_v4f_store(buf + i, m);
            cwb_v4f_store(p + i, w - vlr * m);
        }
    }
    for (; i < o->n; i++) {
        float g = grad[i];
        if (wd != 0.0f) g += wd * p[i];
        if (buf) {
            buf[i] = flush_small(mu * buf[i] + g);
            g = buf[i];
        }
        p[i] -= lr * g;
    }
}

/* torch.optim.AdamW (amsgrad off):
 *   p *= 1 - lr wd                         (decoupled decay, before the moments)
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
static void adamw_step(cwb_optim *o, float *p, const float *grad, float lr) {
    const float b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    const float decay = 1.0f - lr * o->cfg.weight_decay;
    long t = ++o->t;
    /* Bias corrections in double: b^t for t in the tens of thousands. */
    double bc1 = 1.0 - pow((double)b1, (double)t);
    double bc2 = 1.0 - pow((double)b2, (double)t);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    float *m = o->m, *v = o->v;
    size_t i = 0;
#if defined(__SSE2__)
    /* Four at a time, the same operations in the same order as the loop
     * below (so the same bits): the scalar loop's sqrtf and division were
     * 9% of a B = 256 step on Fashion-MNIST. */
    {
        const cwb_v4f vb1 = cwb_v4f_set1(b1), vb2 = cwb_v4f_set1(b2), v1b1 = cwb_v4f_set1(1.0f - b1);
        const cwb_v4f v1b2 = cwb_v4f_set1(1.0f - b2), vdecay = cwb_v4f_set1(decay);
        const cwb_v4f vbc2 = cwb_v4f_set1(bc2_sqrt), veps = cwb_v4f_set1(eps), vstep = cwb_v4f_set1(step_size);
        for (; i + 4 <= o->n; i += 4) {
            cwb_v4f g = cwb_v4f_load(grad + i), w = cwb_v4f_load(p + i) * vdecay;
            cwb_v4f mm = flush_small4(vb1 * cwb_v4f_load(m + i) + v1b1 * g);
            cwb_v4f vv = flush_small4(vb2 * cwb_v4f_load(v + i) + v1b2 * g * g);
            cwb_v4f denom = (cwb_v4f)_mm_sqrt_ps((__m128)vv) / vbc2 + veps;
            cwb_v4f_store(m + i, mm);
            cwb_v4f_store(v + i, vv);
            cwb_v4f_store(p + i, w - vstep * (mm / denom));
        }
    }
#endif
    for (; i < o->n; i++) {
        float g = grad[i];
        p[i] *= decay;
        m[i] = flush_small(b1 * m[i] + (1.0f - b1) * g);
        v[i] = flush_small(b2 * v[i] + (1.0f - b2) * g * g);
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

int cwb_optim_step(cwb_optim *o, float *params, const float *grads, float lr) {
    if (!o || !params || !grads)
        return cwb_fail(CWB_EINVAL, "optim_step: NULL %s",
                        !o ? "optimiser" : !params ? "params" : "grads");
    if (!(lr >= 0.0f) || !isfinite(lr))
        return cwb_fail(CWB_EINVAL, "optim_step: lr=%g must be finite and >= 0", (double)lr);
    /* Check everything before touching anything: one bad gradient must leave
     * the parameters and the optimiser state exactly as they were. */
    if (cwb_has_nonfinite(grads, o->n))
        for (size_t i = 0; i < o->n; i++)
            if (!isfinite(grads[i]))
                return cwb_fail(CWB_ENAN, "optim_step: gradient %zu of %zu is %g", i, o->n,
                                (double)grads[i]);
    unsigned csr = flush_begin();
    if (o->cfg.kind == CWB_OPT_ADAMW) adamw_step(o, params, grads, lr);
    else sgd_step(o, params, grads, lr);
    flush_end(csr);
    return CWB_OK;
}

/* ---- schedules ----------------------------------------------------------- */

static const char *const sched_names[] = {"constant", "warmup", "cosine"};
#define N_SCHED ((int)(sizeof sched_names / sizeof sched_names[0]))

int cwb_sched_from_name(const char *name) {
    if (!name) return -1;
    for (int k = 0; k < N_SCHED; k++)
        if (strcasecmp(name, sched_names[k]) == 0) return k;
    return -1;
}

const char *cwb_sched_name(cwb_sched_kind kind) {
    return (int)kind >= 0 && (int)kind < N_SCHED ? sched_names[kind] : "unknown";
}

int cwb_schedule_check(const cwb_schedule *s, const char *who) {
    if (!s) return cwb_fail(CWB_EINVAL, "%s%sschedule is NULL", CWB_WHO(who));
    if ((int)s->kind < 0 || (int)s->kind >= N_SCHED)
        return cwb_fail(CWB_EINVAL, "%s%sunknown schedule kind %d", CWB_WHO(who), (int)s->kind);
    if (s->warmup < 0 || s->total < 0)
        return cwb_fail(CWB_EINVAL, "%s%swarmup = %ld, total = %ld, must be >= 0", CWB_WHO(who),
                        s->warmup, s->total);
    if (!(s->min_frac >= 0 && s->min_frac <= 1))
        return cwb_fail(CWB_EINVAL, "%s%smin_frac = %g, must be in [0, 1]", CWB_WHO(who), (double)s->min_frac);
    if (s->kind == CWB_SCHED_COSINE && s->total <= s->warmup)
        return cwb_fail(CWB_EINVAL,
                        "%s%sa cosine schedule needs total > warmup (the run's step count), got total = %ld, "
                        "warmup = %ld", CWB_WHO(who), s->total, s->warmup);
    return CWB_OK;
}

static const cwb_json_field sched_fields[] = {
    CWB_JSON_FIELD(cwb_schedule, warmup, CWB_JSON_LONG), CWB_JSON_FIELD(cwb_schedule, total, CWB_JSON_LONG),
    CWB_JSON_FIELD(cwb_schedule, min_frac, CWB_JSON_FLOAT),
};

void cwb_schedule_describe(const cwb_schedule *s, const char *key, cwb_json *j) {
    cwb_json_record(j, key, cwb_sched_name(s->kind), s, sched_fields, CWB_JSON_NFIELDS(sched_fields));
}

float cwb_schedule_factor(const cwb_schedule *s, long step) {
    if (!s || s->kind == CWB_SCHED_CONSTANT) return 1.0f;
    if (step < 0) step = 0;
    long w = s->warmup > 0 ? s->warmup : 0;
    /* Linear warm-up from 0: step / warmup, so step 0 has factor 0 and step
     * `warmup` is the first at the full rate. */
    if (step < w) return (float)((double)step / (double)w);
    if (s->kind != CWB_SCHED_COSINE) return 1.0f;
    double lo = s->min_frac;
    if (!(lo >= 0.0)) lo = 0.0;
    if (lo > 1.0) lo = 1.0;
    /* `total` counts from step 0, warm-up included, so a trainer passes its
     * step count and ends at min_frac. */
    long span = s->total - w;
    if (span <= 0 || step >= s->total) return (float)lo;
    double prog = (double)(step - w) / (double)span;
    return (float)(lo + (1.0 - lo) * 0.5 * (1.0 + cos(3.14159265358979323846 * prog)));
}
