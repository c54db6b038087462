/*
 * mmtrain.c - two-tower training with the modality-structure regularisers,
 * the unimodal baseline, and experiment 3's evaluation (mmtrain.h).
 *
 * Gradient plumbing.  Each tower keeps one 2B x k gradient buffer for its
 * shared head ([V1; V2] stacked like the forward rows) and one for its
 * independent head.  Every term of the objective ADDS its weighted gradient
 * into those buffers: the contrastive losses through a scratch pair (they
 * overwrite), the regularisers and the ITM head directly (reg.h, fusion.h
 * accumulate).  Then one backward per tower: both heads into the body's
 * activation gradient, the activation, the body.
 *
 * Learnable temperature: as trainer.c, log(1/tau) with 1/tau <= 100 and no
 * weight decay; its gradient collects dscale from every contrastive term
 * (the separation term's L^i_Con has its own fixed temperature, sep_tau).
 */
#include "engine/train/mmtrain.h"
#include "engine/core/error.h"
#include "engine/nn/fusion.h"
#include "engine/eval/metrics.h"
#include "engine/nn/mlp.h"
#include "engine/eval/probe.h"
#include "engine/loss/reg.h"
#include "engine/core/mem.h"
#include "engine/core/tensor.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MM_MAX_SCALE 100.0
#define FUSION_EVAL_BATCH 256
#define FUSION_EVAL_LR 2e-3f

typedef struct {
    int d;                    /* input width */
    cwb_mlp *body, *head, *ihead;
    cwb_optim *ob, *oh, *oi;
    float *act, *dact, *dtmp; /* rows x hidden */
    float *x, *tmp;           /* rows x d: stacked views; gather scratch */
    float *gz, *gzi;          /* rows x k: gradients w.r.t. z and z^i */
    const float *z, *zi;      /* outputs of the last forward */
} tower;

struct cwb_mm_trainer {
    cwb_mm_train_cfg cfg;     /* as constructed */
    cwb_mm_train_cfg live;    /* the same with the knobs now (tau, lr, w_*; the loss's
                                 knobs live in the loss objects) */
    const cwb_mm_data *data;
    cwb_mm_data *owned;
    int B, k, K, ntr, nte, rows, heads;
    int has[2];               /* which modality has a tower */
    tower tw[2];              /* indexed by cwb_modality */

    cwb_loss *lvt, *lvv, *ltt;
    float *sa, *sb;           /* B x k scratch for the losses' gradients */
    cwb_reg *reg;
    float *tbr;               /* B bridge times */
    cwb_fusion *fus;          /* ITM head (w_itm > 0) */
    cwb_optim *ofus;
    int *negb, *nega;
    cwb_mlp *cls;             /* unimodal classifier */
    cwb_optim *ocls;
    float *dlogit;            /* B x K */

    float log_scale, log_scale_grad;
    cwb_optim *oscale;
    int *perm, *idx, *lab;
    int cursor;
    cwb_rng batch_rng, aug_rng, br_rng, itm_rng;
    long step;

    /* evaluation buffers, allocated on first use */
    float *ez[2], *ezi[2];    /* n x k */
    float *caps;              /* K x k */
    float *feat;              /* n x 2k */
    cwb_mem mem;              /* owns every buffer above, the towers' too */
};

cwb_mm_train_cfg cwb_mm_train_defaults(void) {
    cwb_mm_train_cfg c;
    memset(&c, 0, sizeof c);
    c.seed = 1;
    c.data = cwb_mm_defaults();
    c.mode = CWB_MM_TWO_TOWER;
    c.uni_modality = CWB_MOD_V;
    c.aug_v = cwb_aug_defaults();
    c.aug_t = cwb_aug_defaults();
    c.batch = 128;
    c.hidden = 128;
    c.body_layers = 1;
    c.dim = 32;
    c.act = CWB_ACT_RELU;
    c.opt = cwb_optim_defaults(CWB_OPT_ADAMW);
    c.opt.lr = 2e-3f;
    c.opt.weight_decay = 1e-4f;
    c.sched.kind = CWB_SCHED_CONSTANT;
    c.loss = cwb_loss_defaults(CWB_LOSS_INFONCE);
    c.tau = 0.1f;
    c.learn_tau = 0;
    c.four_term = 0;
    c.sep_tau = 0.0f;
    c.bridge_t = 0.25f;
    c.bridge_sample_t = 0;
    c.fusion_hidden = 64;
    c.eval_fusion_steps = 300;
    c.fewshot_episodes = 20;
    c.probe_steps = 0;
    c.eval_chunk = 0;
    return c;
}

static int check_cfg(const cwb_mm_train_cfg *c) {
    const char *fn = "cwb_mm_trainer_new";
    if (c->mode != CWB_MM_TWO_TOWER && c->mode != CWB_MM_UNIMODAL)
        return cwb_fail(CWB_EINVAL, "%s: unknown mode %d", fn, (int)c->mode);
    if (c->uni_modality != CWB_MOD_V && c->uni_modality != CWB_MOD_T)
        return cwb_fail(CWB_EINVAL, "%s: uni_modality %d is not V (0) or T (1)", fn, (int)c->uni_modality);
    if (c->batch < 2) return cwb_fail(CWB_EINVAL, "%s: batch = %d, must be >= 2", fn, c->batch);
    if (c->hidden < 1 || c->dim < 1)
        return cwb_fail(CWB_EINVAL, "%s: hidden = %d, dim = %d must be >= 1", fn, c->hidden, c->dim);
    if (c->body_layers < 1 || c->body_layers > CWB_MLP_MAX_LAYERS)
        return cwb_fail(CWB_EINVAL, "%s: body_layers = %d outside 1..%d", fn, c->body_layers, CWB_MLP_MAX_LAYERS);
    if ((int)c->act < 0 || (int)c->act > CWB_ACT_TANH)
        return cwb_fail(CWB_EINVAL, "%s: unknown activation %d", fn, (int)c->act);
    if (!(c->tau > 0) || !isfinite(c->tau))
        return cwb_fail(CWB_EINVAL, "%s: tau = %g, must be positive and finite", fn, (double)c->tau);
    if (c->learn_tau && 1.0 / c->tau > MM_MAX_SCALE * (1 + 1e-6))
        return cwb_fail(CWB_EINVAL, "%s: tau = %g with learn_tau: 1/tau must be <= %g", fn, (double)c->tau,
                        MM_MAX_SCALE);
    if (!(c->sep_tau >= 0) || !isfinite(c->sep_tau))
        return cwb_fail(CWB_EINVAL, "%s: sep_tau = %g, must be >= 0 (0 = tau)", fn, (double)c->sep_tau);
    const float w[4] = {c->w_sep, c->w_bridge, c->w_gc, c->w_itm};
    static const char *const wn[4] = {"w_sep", "w_bridge", "w_gc", "w_itm"};
    for (int i = 0; i < 4; i++)
        if (!(w[i] >= 0) || !isfinite(w[i]))
            return cwb_fail(CWB_EINVAL, "%s: %s = %g, must be finite and >= 0", fn, wn[i], (double)w[i]);
    if (!(c->bridge_t >= 0 && c->bridge_t <= 1))
        return cwb_fail(CWB_EINVAL, "%s: bridge_t = %g, must be in [0, 1]", fn, (double)c->bridge_t);
    if (c->fusion_hidden < 1) return cwb_fail(CWB_EINVAL, "%s: fusion_hidden = %d < 1", fn, c->fusion_hidden);
    if (c->fewshot_episodes < 1)
        return cwb_fail(CWB_EINVAL, "%s: fewshot_episodes = %d, must be >= 1", fn, c->fewshot_episodes);
    if (c->eval_fusion_steps < 0 || c->probe_steps < 0 || c->eval_chunk < 0)
        return cwb_fail(CWB_EINVAL, "%s: eval_fusion_steps = %d, probe_steps = %d, eval_chunk = %d must be >= 0",
                        fn, c->eval_fusion_steps, c->probe_steps, c->eval_chunk);
    /* one check each for the parts shared with cwb_trainer (data.h, loss.h, optim.h) */
    int rc;
    if ((rc = cwb_aug_check(&c->aug_v, "cwb_mm_trainer_new: V augmentation")) ||
        (rc = cwb_aug_check(&c->aug_t, "cwb_mm_trainer_new: T augmentation")) ||
        (rc = cwb_loss_check(&c->loss, fn)) || (rc = cwb_optim_check(&c->opt, "cwb_mm_trainer_new: optim")) ||
        (rc = cwb_schedule_check(&c->sched, "cwb_mm_trainer_new: schedule")))
        return rc;
    return CWB_OK;
}

static void tower_free(tower *w) {
    cwb_mlp_free(w->body);
    cwb_mlp_free(w->head);
    cwb_mlp_free(w->ihead);
    cwb_optim_free(w->ob);
    cwb_optim_free(w->oh);
    cwb_optim_free(w->oi);
}

/* The tower's buffers are the trainer's (mem). */
static int tower_new(tower *w, const cwb_mm_train_cfg *c, int d, int rows, int heads, cwb_rng *init,
                     cwb_mem *mem) {
    cwb_mlp_cfg bc, hc;
    memset(&bc, 0, sizeof bc);
    memset(&hc, 0, sizeof hc);
    bc.n_layers = c->body_layers;
    bc.dims[0] = d;
    for (int l = 1; l <= c->body_layers; l++) bc.dims[l] = c->hidden;
    bc.act = c->act;
    bc.l2norm = 0;
    hc.n_layers = 1;
    hc.dims[0] = c->hidden;
    hc.dims[1] = c->dim;
    hc.act = c->act;
    hc.l2norm = 1;
    w->d = d;
    if (!(w->body = cwb_mlp_new(&bc, rows, init)) || !(w->head = cwb_mlp_new(&hc, rows, init)))
        return CWB_ENOMEM;
    if (heads && !(w->ihead = cwb_mlp_new(&hc, rows, init))) return CWB_ENOMEM;
    if (!(w->ob = cwb_optim_new(&c->opt, w->body->n_params)) ||
        !(w->oh = cwb_optim_new(&c->opt, w->head->n_params)))
        return CWB_ENOMEM;
    if (heads && !(w->oi = cwb_optim_new(&c->opt, w->ihead->n_params))) return CWB_ENOMEM;
    size_t rh = (size_t)rows * c->hidden, rk = (size_t)rows * c->dim;
    w->act = cwb_mem_floats(mem, rh);
    w->dact = cwb_mem_floats(mem, rh);
    w->dtmp = cwb_mem_floats(mem, rh);
    w->x = cwb_mem_floats(mem, (size_t)rows * d);
    w->tmp = cwb_mem_floats(mem, (size_t)rows * d);
    w->gz = cwb_mem_floats(mem, rk);
    w->gzi = cwb_mem_floats(mem, rk);
    return cwb_mem_check(mem, "cwb_mm_trainer_new: out of memory for tower buffers (%d rows)", rows);
}

/* body -> act -> head (and the independent head), on `rows` rows of x. */
static int tower_forward(tower *w, const float *x, int rows) {
    const float *h;
    int rc = cwb_mlp_forward(w->body, x, rows, &h);
    if (rc) return rc;
    cwb_act_forward(w->body->cfg.act, w->act, h, (long)rows * cwb_mlp_out_dim(w->body));
    if ((rc = cwb_mlp_forward(w->head, w->act, rows, &w->z))) return rc;
    if (w->ihead && (rc = cwb_mlp_forward(w->ihead, w->act, rows, &w->zi))) return rc;
    return CWB_OK;
}

/* Backward of the last forward from gz (and gzi): parameter gradients are
 * zeroed first, so they hold this step's gradient only. */
static int tower_backward(tower *w) {
    cwb_mlp_zero_grad(w->body);
    cwb_mlp_zero_grad(w->head);
    int rc = cwb_mlp_backward(w->head, w->gz, w->dact);
    if (rc) return rc;
    const int rows = w->head->last_B, hid = cwb_mlp_out_dim(w->body);
    const size_t n = (size_t)rows * hid;
    if (w->ihead) {
        cwb_mlp_zero_grad(w->ihead);
        if ((rc = cwb_mlp_backward(w->ihead, w->gzi, w->dtmp))) return rc;
        for (size_t q = 0; q < n; q++) w->dact[q] += w->dtmp[q];
    }
    const int L = w->body->cfg.n_layers;
    /* The body's last linear output is its pre[L-1]; act' is taken there. */
    cwb_act_backward(w->body->cfg.act, w->dact, w->dact, w->body->pre[L - 1], w->act, (long)n);
    return cwb_mlp_backward(w->body, w->dact, NULL);
}

static double tower_gsq(const tower *w) {
    double s = cwb_sumsq(w->body->grads, w->body->n_params) + cwb_sumsq(w->head->grads, w->head->n_params);
    if (w->ihead) s += cwb_sumsq(w->ihead->grads, w->ihead->n_params);
    return s;
}

static int tower_update(tower *w, float lr) {
    int rc = cwb_optim_step(w->ob, w->body->params, w->body->grads, lr);
    if (!rc) rc = cwb_optim_step(w->oh, w->head->params, w->head->grads, lr);
    if (!rc && w->ihead) rc = cwb_optim_step(w->oi, w->ihead->params, w->ihead->grads, lr);
    return rc;
}

void cwb_mm_trainer_free(cwb_mm_trainer *t) {
    if (!t) return;
    for (int m = 0; m < 2; m++) tower_free(&t->tw[m]);
    cwb_loss_free(t->lvt);
    cwb_loss_free(t->lvv);
    cwb_loss_free(t->ltt);
    cwb_reg_free(t->reg);
    cwb_fusion_free(t->fus);
    cwb_optim_free(t->ofus);
    cwb_mlp_free(t->cls);
    cwb_optim_free(t->ocls);
    cwb_optim_free(t->oscale);
    cwb_mem_free(&t->mem);
    cwb_mm_data_free(t->owned);
    free(t);
}

cwb_mm_trainer *cwb_mm_trainer_new(const cwb_mm_train_cfg *cfg, const cwb_mm_data *data) {
    if (!cfg) {
        cwb_fail(CWB_EINVAL, "cwb_mm_trainer_new: NULL config");
        return NULL;
    }
    if (check_cfg(cfg)) return NULL;
    cwb_mm_trainer *t = cwb_zalloc(sizeof *t, "cwb_mm_trainer_new");
    if (!t) return NULL;
    t->cfg = *cfg;
    cwb_mm_train_cfg *c = &t->cfg;
    if (data) {
        t->data = data;
    } else {
        if (!(t->owned = cwb_mm_data_new(&c->data, c->seed))) goto fail;
        t->data = t->owned;
    }
    const cwb_mm_data *d = t->data;
    t->ntr = d->cfg.n_train;
    t->nte = d->cfg.n_test;
    t->K = d->cfg.classes;
    t->B = c->batch;
    t->k = c->dim;
    t->rows = 2 * t->B;
    if (t->B > t->ntr) {
        cwb_fail(CWB_EINVAL, "cwb_mm_trainer_new: batch = %d exceeds n_train = %d", t->B, t->ntr);
        goto fail;
    }
    const int two = c->mode == CWB_MM_TWO_TOWER;
    t->heads = two && c->w_sep > 0;
    t->has[CWB_MOD_V] = two || c->uni_modality == CWB_MOD_V;
    t->has[CWB_MOD_T] = two || c->uni_modality == CWB_MOD_T;

    cwb_rng init;
    cwb_rng_seed(&init, c->seed, CWB_STREAM_INIT);
    for (int m = 0; m < 2; m++)
        if (t->has[m]) {
            int dm = m == CWB_MOD_V ? d->cfg.v_dim : d->cfg.t_dim;
            if (tower_new(&t->tw[m], c, dm, t->rows, t->heads, &init, &t->mem)) goto fail;
        }
    cwb_rng_seed(&t->batch_rng, c->seed, CWB_STREAM_BATCH);
    cwb_rng_seed(&t->aug_rng, c->seed, CWB_STREAM_AUG);
    cwb_rng_seed(&t->br_rng, c->seed, CWB_STREAM_USER + 1);
    cwb_rng_seed(&t->itm_rng, c->seed, CWB_STREAM_USER + 2);
    t->log_scale = (float)log(1.0 / c->tau);
    if (c->learn_tau) {
        cwb_optim_cfg oc = c->opt;
        oc.weight_decay = 0.0f;
        if (!(t->oscale = cwb_optim_new(&oc, 1))) goto fail;
    }

    const size_t B = (size_t)t->B, k = (size_t)t->k;
    t->perm = cwb_mem_zeroed(&t->mem, (size_t)t->ntr, sizeof(int));
    t->idx = cwb_mem_zeroed(&t->mem, B, sizeof(int));
    t->lab = cwb_mem_zeroed(&t->mem, B, sizeof(int));
    t->cursor = t->ntr; /* shuffle on the first batch (perm is filled below) */

    if (two) {
        cwb_loss_cfg lc = c->loss;
        if (cwb_loss_fit_dataset(&lc, t->ntr, "cwb_mm_trainer_new")) goto fail;
        cwb_rng lr;
        cwb_rng_seed(&lr, c->seed, CWB_STREAM_LOSS);
        lc.symmetric = 1;
        if (!(t->lvt = cwb_loss_new(&lc, t->B, t->k, cwb_rng_u64(&lr)))) goto fail;
        if (c->four_term) {
            lc.symmetric = 0;
            if (!(t->lvv = cwb_loss_new(&lc, t->B, t->k, cwb_rng_u64(&lr))) ||
                !(t->ltt = cwb_loss_new(&lc, t->B, t->k, cwb_rng_u64(&lr))))
                goto fail;
        }
        t->sa = cwb_mem_floats(&t->mem, B * k);
        t->sb = cwb_mem_floats(&t->mem, B * k);
        t->tbr = cwb_mem_floats(&t->mem, B);
        /* always: w_bridge and w_gc are live knobs that may be turned on */
        if (!(t->reg = cwb_reg_new(t->B, t->k))) goto fail;
        if (c->w_itm > 0) {
            cwb_fusion_cfg fc = cwb_fusion_defaults();
            fc.dim_a = fc.dim_b = t->k;
            fc.hidden = c->fusion_hidden;
            if (!(t->fus = cwb_fusion_new(&fc, t->B, &init))) goto fail;
            if (!(t->ofus = cwb_optim_new(&c->opt, t->fus->mlp->n_params))) goto fail;
            t->negb = cwb_mem_zeroed(&t->mem, B, sizeof(int));
            t->nega = cwb_mem_zeroed(&t->mem, B, sizeof(int));
        }
    } else {
        cwb_mlp_cfg cc;
        memset(&cc, 0, sizeof cc);
        cc.n_layers = 1;
        cc.dims[0] = t->k;
        cc.dims[1] = t->K;
        cc.act = CWB_ACT_IDENTITY;
        if (!(t->cls = cwb_mlp_new(&cc, t->B, &init))) goto fail;
        if (!(t->ocls = cwb_optim_new(&c->opt, t->cls->n_params))) goto fail;
        t->dlogit = cwb_mem_floats(&t->mem, B * (size_t)t->K);
    }
    if (cwb_mem_check(&t->mem, "cwb_mm_trainer_new: out of memory (B = %d)", t->B)) goto fail;
    for (int i = 0; i < t->ntr; i++) t->perm[i] = i;
    t->live = *c;
    return t;
fail:
    cwb_mm_trainer_free(t);
    return NULL;
}

const cwb_mm_train_cfg *cwb_mm_trainer_config(const cwb_mm_trainer *t) { return t ? &t->cfg : NULL; }
const cwb_mm_data *cwb_mm_trainer_data(const cwb_mm_trainer *t) { return t ? t->data : NULL; }
int cwb_mm_trainer_dim(const cwb_mm_trainer *t) { return t ? t->k : 0; }

static int step_fail(const cwb_mm_trainer *t, int code, const char *what) {
    char inner[256];
    strncpy(inner, cwb_errmsg(), sizeof inner - 1);
    inner[sizeof inner - 1] = '\0';
    return cwb_fail(code, "step %ld: %s: %s", t->step + 1, what, inner);
}

/* The next B training indices: epochs of a fresh permutation, the tail that
 * does not fill a batch dropped. */
static void next_batch(cwb_mm_trainer *t) {
    if (t->cursor + t->B > t->ntr) {
        cwb_rng_permutation(&t->batch_rng, t->perm, t->ntr);
        t->cursor = 0;
    }
    memcpy(t->idx, t->perm + t->cursor, (size_t)t->B * sizeof(int));
    t->cursor += t->B;
}

/* Contrastive term on (p, q) with coefficient c: gradients added to gp, gq. */
static int con_term(cwb_mm_trainer *t, cwb_loss *L, const float *p, const float *q, float scale,
                    double c, double *value, double *dscale, float *gp, float *gq) {
    cwb_loss_out o;
    const size_t n = (size_t)t->B * t->k;
    int rc = cwb_loss_eval(L, p, q, t->B, t->k, t->idx, NULL, scale, &o, t->sa, t->sb);
    if (rc) return rc;
    if (!isfinite(o.value) || !isfinite(o.surrogate))
        return cwb_fail(CWB_ENAN, "contrastive loss is not finite (value %g)", o.value);
    for (size_t i = 0; i < n; i++) {
        gp[i] += (float)(c * t->sa[i]);
        gq[i] += (float)(c * t->sb[i]);
    }
    *value += c * o.value;
    *dscale += c * o.dscale;
    return CWB_OK;
}

static int step_two_tower(cwb_mm_trainer *t, cwb_mm_step_info *info, double *gsq_out, double *dscale_out) {
    const cwb_mm_train_cfg *c = &t->live;
    const int B = t->B, k = t->k;
    const size_t Bk = (size_t)B * k;
    tower *V = &t->tw[CWB_MOD_V], *T = &t->tw[CWB_MOD_T];
    int rc;
    const cwb_aug_cfg *aug[2] = {&c->aug_v, &c->aug_t};
    for (int m = 0; m < 2; m++) {
        tower *w = &t->tw[m];
        for (int view = 0; view < 2; view++)
            if ((rc = cwb_mm_gather(t->data, (cwb_modality)m, t->idx, B, aug[m], &t->aug_rng, w->tmp,
                                    w->x + (size_t)view * B * w->d)))
                return step_fail(t, rc, "augmentation");
        if ((rc = tower_forward(w, w->x, 2 * B))) return step_fail(t, rc, "forward");
        if (cwb_has_nonfinite(w->z, 2 * Bk) || (w->zi && cwb_has_nonfinite(w->zi, 2 * Bk)))
            return cwb_fail(CWB_ENAN, "step %ld: %s embedding is not finite", t->step + 1, m ? "T" : "V");
        memset(w->gz, 0, 2 * Bk * sizeof(float));
        if (w->zi) memset(w->gzi, 0, 2 * Bk * sizeof(float));
    }
    const float *V1 = V->z, *V2 = V->z + Bk, *T1 = T->z, *T2 = T->z + Bk;
    float *gV1 = V->gz, *gV2 = V->gz + Bk, *gT1 = T->gz, *gT2 = T->gz + Bk;
    const float scale = expf(t->log_scale);

    /* L_con: (L_V2T + L_T2V)/2, or the four-term mean. */
    double con = 0, dscale = 0;
    const double cvt = c->four_term ? 0.5 : 1.0;
    if ((rc = con_term(t, t->lvt, V1, T1, scale, cvt, &con, &dscale, gV1, gT1)))
        return step_fail(t, rc, "contrastive V-T");
    if (c->four_term) {
        if ((rc = con_term(t, t->lvv, V1, V2, scale, 0.25, &con, &dscale, gV1, gV2)))
            return step_fail(t, rc, "contrastive V-V");
        if ((rc = con_term(t, t->ltt, T1, T2, scale, 0.25, &con, &dscale, gT1, gT2)))
            return step_fail(t, rc, "contrastive T-T");
    }
    double sep = 0, br = 0, gc = 0, itm = 0;
    if (c->w_sep > 0) {
        cwb_sep_out so;
        float ss = c->sep_tau > 0 ? 1.0f / c->sep_tau : scale;
        if ((rc = cwb_reg_separation(t->reg, V1, V->zi, V->zi + Bk, T1, T->zi, T->zi + Bk, B, k, ss,
                                     c->w_sep, &so, gV1, V->gzi, V->gzi + Bk, gT1, T->gzi, T->gzi + Bk)))
            return step_fail(t, rc, "separation");
        sep = so.total;
    }
    if (c->w_bridge > 0) {
        if (c->bridge_sample_t)
            for (int i = 0; i < B; i++) t->tbr[i] = (float)cwb_rng_uniform(&t->br_rng);
        if ((rc = cwb_reg_bridge(t->reg, V1, V2, T1, c->bridge_sample_t ? t->tbr : NULL, c->bridge_t, B, k,
                                 c->w_bridge, &br, gV1, gV2, gT1)))
            return step_fail(t, rc, "bridge");
    }
    if (c->w_gc > 0) {
        cwb_gc_out go;
        if ((rc = cwb_reg_geometric(t->reg, V1, T1, V2, T2, B, k, c->w_gc, &go, gV1, gT1, gV2, gT2)))
            return step_fail(t, rc, "geometric consistency");
        gc = go.total;
    }
    if (c->w_itm > 0) {
        cwb_fusion_out fo;
        cwb_mlp_zero_grad(t->fus->mlp);
        if ((rc = cwb_fusion_hard_negatives(t->fus, V1, T1, B, scale, &t->itm_rng, t->negb, t->nega)) ||
            (rc = cwb_fusion_itm(t->fus, V1, T1, B, t->negb, t->nega, c->w_itm, &fo, gV1, gT1)))
            return step_fail(t, rc, "ITM");
        itm = fo.loss;
    }
    double total = con + c->w_sep * sep + c->w_bridge * br + c->w_gc * gc + c->w_itm * itm;
    if (!isfinite(total)) return cwb_fail(CWB_ENAN, "step %ld: objective is not finite", t->step + 1);

    double gsq = 0;
    for (int m = 0; m < 2; m++) {
        if ((rc = tower_backward(&t->tw[m]))) return step_fail(t, rc, "backward");
        double g = tower_gsq(&t->tw[m]);
        if (!isfinite(g)) return cwb_fail(CWB_ENAN, "step %ld: gradient of the %s tower is not finite", t->step + 1, m ? "T" : "V");
        gsq += g;
    }
    if (t->fus) {
        double g = cwb_sumsq(t->fus->mlp->grads, t->fus->mlp->n_params);
        if (!isfinite(g)) return cwb_fail(CWB_ENAN, "step %ld: gradient of the ITM head is not finite", t->step + 1);
        gsq += g;
    }
    if (info) {
        info->loss = total;
        info->con = con;
        info->sep = sep;
        info->bridge = br;
        info->gc = gc;
        info->itm = itm;
        info->ce = info->train_acc = NAN;
    }
    *gsq_out = gsq;
    *dscale_out = dscale;
    return CWB_OK;
}

static int step_unimodal(cwb_mm_trainer *t, cwb_mm_step_info *info, double *gsq_out, double *dscale_out) {
    const cwb_mm_train_cfg *c = &t->cfg;
    const int B = t->B, K = t->K, m = c->uni_modality;
    tower *w = &t->tw[m];
    int rc;
    if ((rc = cwb_mm_gather(t->data, (cwb_modality)m, t->idx, B, m ? &c->aug_t : &c->aug_v, &t->aug_rng,
                            w->tmp, w->x)))
        return step_fail(t, rc, "augmentation");
    if ((rc = tower_forward(w, w->x, B))) return step_fail(t, rc, "forward");
    const float *logit;
    if ((rc = cwb_mlp_forward(t->cls, w->z, B, &logit))) return step_fail(t, rc, "classifier");
    /* Cross-entropy of softmax(scale * logit): dL/dlogit = scale (p - onehot) / B,
     * dL/dscale = sum (p - onehot) logit / B. */
    const double scale = exp((double)t->log_scale);
    double ce = 0, dscale = 0;
    long hit = 0;
    for (int i = 0; i < B; i++) {
        const float *l = logit + (size_t)i * K;
        float *g = t->dlogit + (size_t)i * K;
        const int y = t->data->labels[t->idx[i]];
        double mx = -INFINITY;
        int best = 0;
        for (int q = 0; q < K; q++)
            if (scale * l[q] > mx) mx = scale * l[q], best = q;
        double z = 0;
        for (int q = 0; q < K; q++) z += exp(scale * l[q] - mx);
        ce += -(scale * l[y] - mx - log(z));
        hit += best == y;
        for (int q = 0; q < K; q++) {
            double p = exp(scale * l[q] - mx) / z - (q == y);
            g[q] = (float)(scale * p / B);
            dscale += p * l[q] / B;
        }
    }
    ce /= B;
    if (!isfinite(ce)) return cwb_fail(CWB_ENAN, "step %ld: cross-entropy is not finite", t->step + 1);
    cwb_mlp_zero_grad(t->cls);
    if ((rc = cwb_mlp_backward(t->cls, t->dlogit, w->gz))) return step_fail(t, rc, "classifier backward");
    if ((rc = tower_backward(w))) return step_fail(t, rc, "backward");
    double gsq = tower_gsq(w) + cwb_sumsq(t->cls->grads, t->cls->n_params);
    if (!isfinite(gsq)) return cwb_fail(CWB_ENAN, "step %ld: gradient is not finite", t->step + 1);
    if (info) {
        info->loss = info->ce = ce;
        info->train_acc = (double)hit / B;
        info->con = info->sep = info->bridge = info->gc = info->itm = 0;
    }
    *gsq_out = gsq;
    *dscale_out = dscale;
    return CWB_OK;
}

int cwb_mm_trainer_step(cwb_mm_trainer *t, cwb_mm_step_info *info) {
    if (!t) return cwb_fail(CWB_EINVAL, "cwb_mm_trainer_step: NULL trainer");
    const cwb_mm_train_cfg *c = &t->cfg;
    next_batch(t);
    double gsq = 0, dscale = 0;
    int rc = c->mode == CWB_MM_TWO_TOWER ? step_two_tower(t, info, &gsq, &dscale)
                                         : step_unimodal(t, info, &gsq, &dscale);
    if (rc) return rc;
    const float scale = expf(t->log_scale);
    if (c->learn_tau) {
        t->log_scale_grad = (float)(dscale * scale);
        if (!isfinite(t->log_scale_grad))
            return cwb_fail(CWB_ENAN, "step %ld: gradient of the temperature is not finite", t->step + 1);
        gsq += (double)t->log_scale_grad * t->log_scale_grad;
    }
    const float lr = t->live.opt.lr * cwb_schedule_factor(&c->sched, t->step);
    for (int m = 0; m < 2; m++)
        if (t->has[m] && (rc = tower_update(&t->tw[m], lr))) return step_fail(t, rc, "update");
    if (t->fus && (rc = cwb_optim_step(t->ofus, t->fus->mlp->params, t->fus->mlp->grads, lr)))
        return step_fail(t, rc, "ITM update");
    if (t->cls && (rc = cwb_optim_step(t->ocls, t->cls->params, t->cls->grads, lr)))
        return step_fail(t, rc, "classifier update");
    if (c->learn_tau) {
        if ((rc = cwb_optim_step(t->oscale, &t->log_scale, &t->log_scale_grad, lr)))
            return step_fail(t, rc, "temperature update");
        const float cap = (float)log(MM_MAX_SCALE);
        if (t->log_scale > cap) t->log_scale = cap;
    }
    t->step++;
    if (info) {
        info->step = t->step;
        info->lr = lr;
        info->tau = 1.0 / exp((double)t->log_scale);
        info->grad_norm = sqrt(gsq);
    }
    return CWB_OK;
}

/* ---- evaluation ------------------------------------------------------------ */

/* Clean embeddings of all n samples (and the captions through T). */
static int embed_all(cwb_mm_trainer *t) {
    const cwb_mm_data *d = t->data;
    const int n = d->n, k = t->k, cap = t->rows;
    for (int m = 0; m < 2; m++) {
        if (!t->has[m]) continue;
        if (!cwb_mem_lazy_floats(&t->mem, &t->ez[m], (size_t)n * k)) return CWB_ENOMEM;
        if (t->heads && !cwb_mem_lazy_floats(&t->mem, &t->ezi[m], (size_t)n * k)) return CWB_ENOMEM;
        tower *w = &t->tw[m];
        const float *x = cwb_mm_x(d, (cwb_modality)m)->data;
        for (int r0 = 0; r0 < n; r0 += cap) {
            int rows = n - r0 < cap ? n - r0 : cap;
            int rc = tower_forward(w, x + (size_t)r0 * w->d, rows);
            if (rc) return rc;
            memcpy(t->ez[m] + (size_t)r0 * k, w->z, (size_t)rows * k * sizeof(float));
            if (t->heads) memcpy(t->ezi[m] + (size_t)r0 * k, w->zi, (size_t)rows * k * sizeof(float));
        }
        if (cwb_has_nonfinite(t->ez[m], (size_t)n * k))
            return cwb_fail(CWB_ENAN, "cwb_mm_trainer_eval: after step %ld: %s embeddings are not finite", t->step, m ? "T" : "V");
    }
    if (t->has[CWB_MOD_T]) {
        const int K = t->K;
        if (!cwb_mem_lazy_floats(&t->mem, &t->caps, (size_t)K * k)) return CWB_ENOMEM;
        tower *w = &t->tw[CWB_MOD_T];
        for (int r0 = 0; r0 < K; r0 += cap) {
            int rows = K - r0 < cap ? K - r0 : cap;
            int rc = tower_forward(w, d->captions->data + (size_t)r0 * w->d, rows);
            if (rc) return rc;
            memcpy(t->caps + (size_t)r0 * k, w->z, (size_t)rows * k * sizeof(float));
        }
    }
    return CWB_OK;
}

int cwb_mm_trainer_embed(cwb_mm_trainer *t, const float **zv, const float **zt,
                         const float **ziv, const float **zit, const float **caps) {
    if (!t) return cwb_fail(CWB_EINVAL, "cwb_mm_trainer_embed: NULL trainer");
    int rc = embed_all(t);
    if (rc) return rc == CWB_ENOMEM ? cwb_fail(rc, "cwb_mm_trainer_embed: out of memory") : rc;
    if (zv) *zv = t->ez[CWB_MOD_V];
    if (zt) *zt = t->ez[CWB_MOD_T];
    if (ziv) *ziv = t->ezi[CWB_MOD_V];
    if (zit) *zit = t->ezi[CWB_MOD_T];
    if (caps) *caps = t->has[CWB_MOD_T] && t->cfg.mode == CWB_MM_TWO_TOWER ? t->caps : NULL;
    return CWB_OK;
}

/* Features of modality m for the probes: z, or [z, z^i] with separate heads
 * ("Downstream tasks may use [z, z^i]").  Writes n x fd into out. */
static int features(const cwb_mm_trainer *t, int m, float *out) {
    const int n = t->data->n, k = t->k, fd = t->heads ? 2 * k : k;
    for (int i = 0; i < n; i++) {
        memcpy(out + (size_t)i * fd, t->ez[m] + (size_t)i * k, (size_t)k * sizeof(float));
        if (t->heads) memcpy(out + (size_t)i * fd + k, t->ezi[m] + (size_t)i * k, (size_t)k * sizeof(float));
    }
    return fd;
}

/* The question task on frozen features: a fresh fusion MLP trained with
 * binary cross-entropy on the training split, accuracy on the test split. */
static int fusion_eval(cwb_mm_trainer *t, double *acc) {
    const cwb_mm_data *d = t->data;
    const int n = d->n, ntr = t->ntr, nte = t->nte, fd = t->heads ? 2 * t->k : t->k;
    const int Bf = FUSION_EVAL_BATCH < ntr ? FUSION_EVAL_BATCH : ntr;
    cwb_mem tmp = CWB_MEM_INIT;   /* this evaluation's buffers */
    float *fa = cwb_mem_floats(&tmp, (size_t)n * fd), *fb = cwb_mem_floats(&tmp, (size_t)n * fd);
    float *ba = cwb_mem_floats(&tmp, (size_t)3 * Bf * fd), *bb = cwb_mem_floats(&tmp, (size_t)3 * Bf * fd);
    float *lg = cwb_mem_floats(&tmp, (size_t)3 * Bf);
    int *by = cwb_mem_zeroed(&tmp, (size_t)Bf, sizeof(int));
    cwb_fusion *f = NULL;
    cwb_optim *o = NULL;
    int rc = cwb_mem_check(&tmp, "cwb_mm_trainer_eval: out of memory for the fusion task");
    if (rc) goto out;
    features(t, CWB_MOD_V, fa);
    features(t, CWB_MOD_T, fb);
    cwb_fusion_cfg fc = cwb_fusion_defaults();
    fc.dim_a = fc.dim_b = fd;
    fc.hidden = t->cfg.fusion_hidden;
    cwb_rng r;
    cwb_rng_seed(&r, t->cfg.seed, CWB_STREAM_EVAL);
    if (!(f = cwb_fusion_new(&fc, Bf, &r))) { rc = CWB_ENOMEM; goto out; }
    cwb_optim_cfg oc = cwb_optim_defaults(CWB_OPT_ADAMW);
    oc.lr = FUSION_EVAL_LR;
    if (!(o = cwb_optim_new(&oc, f->mlp->n_params))) { rc = CWB_ENOMEM; goto out; }
    for (int s = 0; s < t->cfg.eval_fusion_steps; s++) {
        for (int i = 0; i < Bf; i++) {
            int j = (int)cwb_rng_below(&r, (uint64_t)ntr);
            memcpy(ba + (size_t)i * fd, fa + (size_t)j * fd, (size_t)fd * sizeof(float));
            memcpy(bb + (size_t)i * fd, fb + (size_t)j * fd, (size_t)fd * sizeof(float));
            by[i] = d->question[j];
        }
        cwb_mlp_zero_grad(f->mlp);
        if ((rc = cwb_fusion_bce(f, ba, bb, by, Bf, 1.0f, NULL, NULL, NULL))) goto out;
        if ((rc = cwb_optim_step(o, f->mlp->params, f->mlp->grads, oc.lr))) goto out;
    }
    long hit = 0;
    const int cap = 3 * Bf;
    for (int r0 = 0; r0 < nte; r0 += cap) {
        int rows = nte - r0 < cap ? nte - r0 : cap;
        if ((rc = cwb_fusion_logits(f, fa + (size_t)(ntr + r0) * fd, fb + (size_t)(ntr + r0) * fd, rows, lg)))
            goto out;
        for (int i = 0; i < rows; i++) hit += (lg[i] > 0) == (d->question[ntr + r0 + i] == 1);
    }
    *acc = (double)hit / nte;
out:
    cwb_mem_free(&tmp);
    cwb_fusion_free(f);
    cwb_optim_free(o);
    return rc;
}

int cwb_mm_trainer_eval(cwb_mm_trainer *t, int with_lr_fewshot, cwb_mm_eval_info *info) {
    if (!t || !info) return cwb_fail(CWB_EINVAL, "cwb_mm_trainer_eval: NULL %s", !t ? "trainer" : "info");
    int rc = embed_all(t);
    if (rc) return rc == CWB_ENOMEM ? cwb_fail(rc, "cwb_mm_trainer_eval: out of memory for embeddings") : rc;
    const cwb_mm_data *d = t->data;
    const cwb_mm_train_cfg *c = &t->cfg;
    const int n = d->n, ntr = t->ntr, nte = t->nte, k = t->k, K = t->K;
    const int chunk = c->eval_chunk > 0 ? c->eval_chunk : 256;
    const int two = c->mode == CWB_MM_TWO_TOWER;
    const int img = two ? CWB_MOD_V : (int)c->uni_modality;
    const int *ytr = d->labels, *yte = d->labels + ntr;

    info->zero_shot = info->linear_probe = info->head_acc = NAN;
    for (int q = 0; q < 3; q++)
        info->fewshot[q] = info->fewshot_std[q] = info->fewshot_lr[q] = info->r_v2t[q] = info->r_t2v[q] = NAN;
    info->gap_centroid = info->gap_paired = info->alignment = NAN;
    info->uniformity_v = info->uniformity_t = info->collapse_std = info->fusion_acc = NAN;

    if (!cwb_mem_lazy_floats(&t->mem, &t->feat, (size_t)n * 2 * k))
        return cwb_fail(CWB_ENOMEM, "cwb_mm_trainer_eval: out of memory for features");
    const int fd = features(t, img, t->feat);
    info->feat_dim = fd;
    const float *ftr = t->feat, *fte = t->feat + (size_t)ntr * fd;
    static const int shots[3] = {1, 5, 10};
    /* A k-shot probe needs k training rows of every class; on a small
     * training split the larger k are reported as NaN rather than failing. */
    int min_class = ntr;
    for (int c0 = 0; c0 < K; c0++) {
        int cnt = 0;
        for (int i = 0; i < ntr; i++) cnt += ytr[i] == c0;
        if (cnt < min_class) min_class = cnt;
    }
    for (int q = 0; q < 3; q++) {
        if (shots[q] > min_class) continue;
        rc = cwb_fewshot(CWB_PROBE_CENTROID, ftr, ytr, ntr, fte, yte, nte, fd, K, shots[q],
                         c->fewshot_episodes, c->seed + 1000u * (q + 1), &info->fewshot[q], &info->fewshot_std[q]);
        if (rc) return rc;
        if (with_lr_fewshot &&
            (rc = cwb_fewshot(CWB_PROBE_LOGREG, ftr, ytr, ntr, fte, yte, nte, fd, K, shots[q],
                              c->fewshot_episodes, c->seed + 1000u * (q + 1), &info->fewshot_lr[q], NULL)))
            return rc;
    }
    if ((rc = cwb_logreg_probe(ftr, ytr, ntr, fte, yte, nte, fd, K, c->probe_steps, -1, &info->linear_probe)))
        return rc;
    const float *zimg = t->ez[img] + (size_t)ntr * k;
    info->uniformity_v = cwb_uniformity(zimg, nte, k, chunk);
    info->collapse_std = cwb_collapse_std(zimg, nte, k);

    if (two) {
        const float *zv = t->ez[CWB_MOD_V] + (size_t)ntr * k, *zt = t->ez[CWB_MOD_T] + (size_t)ntr * k;
        if ((rc = cwb_zero_shot(zv, yte, nte, k, t->caps, K, &info->zero_shot, NULL))) return rc;
        if ((rc = cwb_retrieval(zv, zt, nte, k, chunk, info->r_v2t, info->r_t2v))) return rc;
        info->gap_centroid = cwb_gap_centroid(zv, zt, nte, k);
        info->gap_paired = cwb_gap_paired(zv, zt, nte, k);
        info->alignment = cwb_alignment(zv, zt, nte, k);
        info->uniformity_t = cwb_uniformity(zt, nte, k, chunk);
        if (c->eval_fusion_steps > 0 && (rc = fusion_eval(t, &info->fusion_acc))) return rc;
    } else {
        /* The unimodal model's own classifier on the test split. */
        long hit = 0;
        for (int r0 = 0; r0 < nte; r0 += t->B) {
            int rows = nte - r0 < t->B ? nte - r0 : t->B;
            const float *lg;
            if ((rc = cwb_mlp_forward(t->cls, zimg + (size_t)r0 * k, rows, &lg))) return rc;
            for (int i = 0; i < rows; i++) {
                const float *l = lg + (size_t)i * K;
                int best = 0;
                for (int q = 1; q < K; q++)
                    if (l[q] > l[best]) best = q;
                hit += best == yte[r0 + i];
            }
        }
        info->head_acc = (double)hit / nte;
    }
    return CWB_OK;
}

/* ---- the trainer interface (driver.h) ------------------------------------------ */

static int ops_step(void *self, cwb_metrics *m) {
    cwb_mm_trainer *t = self;
    const cwb_mm_train_cfg *c = &t->live;
    cwb_mm_step_info s;
    int rc = cwb_mm_trainer_step(t, &s);
    if (rc) return rc;
    cwb_metrics_clear(m);
    cwb_metrics_add(m, "loss", s.loss);
    if (c->mode == CWB_MM_TWO_TOWER) {
        cwb_metrics_add(m, "con", s.con);
        if (c->w_sep > 0) cwb_metrics_add(m, "sep", s.sep);
        if (c->w_bridge > 0) cwb_metrics_add(m, "bridge", s.bridge);
        if (c->w_gc > 0) cwb_metrics_add(m, "gc", s.gc);
        if (c->w_itm > 0) cwb_metrics_add(m, "itm", s.itm);
    } else {
        cwb_metrics_add(m, "train_acc", s.train_acc);
    }
    cwb_metrics_add(m, "lr", s.lr);
    cwb_metrics_add(m, "tau", s.tau);
    cwb_metrics_add(m, "grad_norm", s.grad_norm);
    return CWB_OK;
}

/* The evaluation's fields by name; NaN is cwb_mm_eval_info's "does not
 * apply" (mmtrain.h), left out of the list. */
#define F(name, member) {name, offsetof(cwb_mm_eval_info, member)}
static const cwb_metric_field eval_fields[] = {
    F("zero_shot", zero_shot),
    F("fewshot1", fewshot[0]),         F("fewshot5", fewshot[1]),         F("fewshot10", fewshot[2]),
    F("fewshot1_std", fewshot_std[0]), F("fewshot5_std", fewshot_std[1]), F("fewshot10_std", fewshot_std[2]),
    F("fewshot_lr1", fewshot_lr[0]),   F("fewshot_lr5", fewshot_lr[1]),   F("fewshot_lr10", fewshot_lr[2]),
    F("r1_v2t", r_v2t[0]),             F("r5_v2t", r_v2t[1]),             F("r10_v2t", r_v2t[2]),
    F("r1_t2v", r_t2v[0]),             F("r5_t2v", r_t2v[1]),             F("r10_t2v", r_t2v[2]),
    F("linear_probe", linear_probe),   F("head_acc", head_acc),           F("gap_centroid", gap_centroid),
    F("gap_paired", gap_paired),       F("alignment", alignment),         F("uniformity_v", uniformity_v),
    F("uniformity_t", uniformity_t),   F("collapse_std", collapse_std),   F("fusion_acc", fusion_acc),
};
#undef F

int cwb_mm_trainer_eval_metrics(cwb_mm_trainer *t, int with_lr_fewshot, cwb_metrics *m) {
    cwb_mm_eval_info e;
    int rc = cwb_mm_trainer_eval(t, with_lr_fewshot, &e);
    if (rc) return rc;
    rc = cwb_metrics_from_fields(m, &e, eval_fields, (int)(sizeof eval_fields / sizeof eval_fields[0]), 1);
    if (!rc) rc = cwb_metrics_add(m, "feat_dim", e.feat_dim);
    return rc;
}

static int ops_evaluate(void *self, cwb_metrics *m) {
    cwb_mm_trainer *t = self;
    return cwb_mm_trainer_eval_metrics(t, t->cfg.lr_fewshot, m);
}

/* As cwb_trainer_reset: a trainer built anew on the same data, moved in. */
int cwb_mm_trainer_reset(cwb_mm_trainer *t) {
    if (!t) return cwb_fail(CWB_EINVAL, "cwb_mm_trainer_reset: NULL trainer");
    cwb_mm_trainer *fresh = cwb_mm_trainer_new(&t->cfg, t->data);
    if (!fresh) return CWB_ENOMEM; /* the config was valid at construction: only memory can fail */
    fresh->owned = t->owned;
    t->owned = NULL;
    cwb_mm_trainer old = *t;
    *t = *fresh;
    *fresh = old;
    cwb_mm_trainer_free(fresh);
    return CWB_OK;
}

static int ops_reset(void *self) { return cwb_mm_trainer_reset(self); }

#define MF(member, type) CWB_JSON_FIELD(cwb_mm_train_cfg, member, type)
static const cwb_json_field cfg_fields[] = {
    MF(seed, CWB_JSON_U64),  MF(batch, CWB_JSON_INT),   MF(hidden, CWB_JSON_INT), MF(body_layers, CWB_JSON_INT),
    MF(dim, CWB_JSON_INT),   MF(tau, CWB_JSON_FLOAT),   MF(learn_tau, CWB_JSON_BOOL), MF(four_term, CWB_JSON_BOOL),
    MF(w_sep, CWB_JSON_FLOAT), MF(w_bridge, CWB_JSON_FLOAT), MF(w_gc, CWB_JSON_FLOAT), MF(w_itm, CWB_JSON_FLOAT),
    MF(sep_tau, CWB_JSON_FLOAT), MF(bridge_t, CWB_JSON_FLOAT),
    {"bridge_t_sampled", CWB_JSON_BOOL, offsetof(cwb_mm_train_cfg, bridge_sample_t)},
};
#undef MF

int cwb_mm_trainer_describe(const cwb_mm_trainer *t, cwb_json *j) {
    if (!t || !j) return cwb_fail(CWB_EINVAL, "cwb_mm_trainer_describe: NULL %s", !t ? "trainer" : "writer");
    const cwb_mm_train_cfg *c = &t->live;
    cwb_json_open(j, NULL);
    cwb_json_str(j, "mode", c->mode == CWB_MM_TWO_TOWER ? "two_tower" : "unimodal");
    if (c->mode == CWB_MM_UNIMODAL) cwb_json_str(j, "modality", c->uni_modality == CWB_MOD_V ? "v" : "t");
    cwb_json_fields(j, c, cfg_fields, CWB_JSON_NFIELDS(cfg_fields));
    cwb_json_str(j, "act", cwb_act_name(c->act));
    cwb_mm_data_describe(t->data, "data", j);
    cwb_aug_describe(&c->aug_v, "aug_v", j);
    cwb_aug_describe(&c->aug_t, "aug_t", j);
    cwb_optim_describe(&c->opt, "optim", j);
    cwb_schedule_describe(&c->sched, "schedule", j);
    /* the loss as the contrastive term uses it: symmetric, n_total filled in */
    cwb_loss_describe(t->lvt ? cwb_loss_config(t->lvt) : &c->loss, "loss", j);
    cwb_json_close(j);
    return CWB_OK;
}

static int ops_describe(const void *self, cwb_json *j) { return cwb_mm_trainer_describe(self, j); }

/* ---- live knobs ---------------------------------------------------------------------- */

int cwb_mm_trainer_knobs(const cwb_mm_trainer *t, cwb_knob *out, int max) {
    int n = 0;
    if (!t || !out) return 0;
    const cwb_mm_train_cfg *c = &t->live;
    cwb_knob_add(out, &n, max, "tau", "tau", 1.0 / exp((double)t->log_scale), 1.0 / MM_MAX_SCALE, 10);
    cwb_knob_add(out, &n, max, "lr", "optim.lr", c->opt.lr, 1e-5, 10);
    if (c->mode != CWB_MM_TWO_TOWER) return n;
    struct { const char *name; float w; int on; } w[4] = {
        {"w_sep", c->w_sep, t->heads}, {"w_bridge", c->w_bridge, t->reg != NULL},
        {"w_gc", c->w_gc, t->reg != NULL}, {"w_itm", c->w_itm, t->fus != NULL}};
    for (int i = 0; i < 4; i++) {
        cwb_knob *k = w[i].on ? cwb_knob_add(out, &n, max, w[i].name, w[i].name, w[i].w, 0, 10) : NULL;
        if (k) k->unit = 0.1;
    }
    cwb_loss_knobs(t->lvt, 1, out, &n, max);
    return n;
}

int cwb_mm_trainer_set(cwb_mm_trainer *t, const char *name, double value) {
    if (!t || !name) return cwb_fail(CWB_EINVAL, "cwb_mm_trainer_set: NULL %s", !t ? "trainer" : "name");
    cwb_knob k[CWB_KNOBS_MAX];
    if (!cwb_knob_checked(k, cwb_mm_trainer_knobs(t, k, CWB_KNOBS_MAX), name, value, "mm trainer"))
        return CWB_EINVAL;
    int rc;
    cwb_mm_train_cfg *c = &t->live;
    cwb_loss *losses[3] = {t->lvt, t->lvv, t->ltt};
    if (strcmp(name, "tau") == 0) {
        c->tau = (float)value;
        t->log_scale = (float)log(1.0 / value);
    } else if (strcmp(name, "lr") == 0) {
        c->opt.lr = (float)value;
    } else if (strcmp(name, "w_sep") == 0) {
        c->w_sep = (float)value;
    } else if (strcmp(name, "w_bridge") == 0) {
        c->w_bridge = (float)value;
    } else if (strcmp(name, "w_gc") == 0) {
        c->w_gc = (float)value;
    } else if (strcmp(name, "w_itm") == 0) {
        c->w_itm = (float)value;
    } else {
        for (int i = 0; i < 3; i++)
            if (losses[i] && (rc = cwb_loss_set_knob(losses[i], name, value, "mm trainer"))) return rc;
    }
    return CWB_OK;
}

static int ops_set(void *self, const char *name, double value) { return cwb_mm_trainer_set(self, name, value); }
static int ops_knobs(const void *self, cwb_knob *out, int max) { return cwb_mm_trainer_knobs(self, out, max); }

/* The geometry pane: the image and text embeddings of every sample. */
static int ops_embed(void *self, const float **a, const float **b, int *n, int *k) {
    cwb_mm_trainer *t = self;
    int rc = cwb_mm_trainer_embed(t, a, b, NULL, NULL, NULL);
    if (rc) return rc;
    *n = t->data->n;
    *k = t->k;
    return CWB_OK;
}

static const int *ops_labels(const void *self) { return ((const cwb_mm_trainer *)self)->data->labels; }

static long ops_steps(const void *self) { return ((const cwb_mm_trainer *)self)->step; }
static uint64_t ops_seed(const void *self) { return ((const cwb_mm_trainer *)self)->cfg.seed; }

static void ops_destroy(void *self) { cwb_mm_trainer_free(self); }

#define MM_OPS .headline = "loss", .tick_every = 1, .step = ops_step, .evaluate = ops_evaluate, \
               .reset = ops_reset, .describe = ops_describe, .steps = ops_steps, .seed = ops_seed, \
               .destroy = ops_destroy, .set = ops_set, .knobs = ops_knobs
static const cwb_train_ops two_tower_ops = {.kind = "mm trainer", .embed = ops_embed,
                                            .labels = ops_labels, MM_OPS};
static const cwb_train_ops unimodal_ops = {.kind = "mm unimodal", .embed = NULL, .labels = NULL,
                                           MM_OPS};
#undef MM_OPS

const cwb_train_ops *cwb_mm_trainer_ops(const cwb_mm_trainer *t) {
    return t && t->cfg.mode == CWB_MM_UNIMODAL ? &unimodal_ops : &two_tower_ops;
}
