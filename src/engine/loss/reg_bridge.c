/*
 * reg_bridge.c - the Brownian-bridge regulariser [P2] (methods.md
 * "Modality-structure regularisers", 2).
 *
 * A bridge pinned at the text z_T (time 0) and the image z_V (time 1) passes
 * at time t through mu = normalise(t z_V + (1 - t) z_T) with variance
 * t(1 - t); asking the augmented image z^a_V to be likely under it, at fixed
 * t, is maximum likelihood of a Gaussian with fixed variance, i.e.
 * L_Br = (1/B) sum_j ||z^a_Vj - mu_j||^2.  It pulls the augmented image
 * towards the text side of the path instead of onto the text, which aligns
 * the modalities without collapsing V onto T.
 */
#include "engine/loss/reg.h"
#include "engine/core/error.h"

#include <math.h>
#include <stddef.h>

int cwb_reg_bridge(cwb_reg *w, const float *zv, const float *zva, const float *zt,
                   const float *t, float t0, int B, int k, float weight, double *value,
                   float *gzv, float *gzva, float *gzt) {
    static const char *const names[3] = {"zv", "zva", "zt"};
    const float *in[3] = {zv, zva, zt};
    const char *fn = "cwb_reg_bridge";
    int rc = cwb_reg_validate(fn, w, B, k, 1, weight, in, names, 3);
    if (rc) return rc;
    if (!t && !(t0 >= 0 && t0 <= 1))
        return cwb_fail(CWB_EINVAL, "%s: t0 = %g, must be in [0, 1]", fn, (double)t0);

    /* First pass: mu_j into the workspace and ||m_j|| into rowd, so a bad
     * time or a degenerate pair fails before any gradient is touched. */
    float *mu = w->da;
    for (int j = 0; j < B; j++) {
        double tj = t ? t[j] : t0;
        if (!(tj >= 0 && tj <= 1))
            return cwb_fail(CWB_EINVAL, "%s: t[%d] = %g, must be in [0, 1]", fn, j, tj);
        const float *v = zv + (size_t)j * k, *x = zt + (size_t)j * k;
        float *m = mu + (size_t)j * k;
        double nn = 0;
        for (int q = 0; q < k; q++) {
            double mq = tj * v[q] + (1 - tj) * x[q];
            m[q] = (float)mq;
            nn += mq * mq;
        }
        double nrm = sqrt(nn);
        if (!(nrm > 1e-12))
            return cwb_fail(CWB_ENAN, "%s: pair %d has t z_V + (1-t) z_T = 0 (t = %g): no bridge mean",
                            fn, j, tj);
        w->rowd[j] = nrm;
        for (int q = 0; q < k; q++) m[q] = (float)(m[q] / nrm);
    }

    double L = 0;
    for (int j = 0; j < B; j++) {
        double tj = t ? t[j] : t0, nrm = w->rowd[j];
        const float *a = zva + (size_t)j * k, *m = mu + (size_t)j * k;
        /* e = z^a - mu; dL/dz^a = (2/B) e; dL/dmu = -(2/B) e, and through the
         * normalisation dL/dm = (dL/dmu - mu <mu, dL/dmu>) / ||m||. */
        double ee = 0, me = 0;
        for (int q = 0; q < k; q++) {
            double e = (double)a[q] - m[q];
            ee += e * e;
            me += m[q] * e;
        }
        L += ee;
        double c = 2.0 * weight / B;
        for (int q = 0; q < k; q++) {
            double e = (double)a[q] - m[q];
            double gm = -c * (e - m[q] * me) / nrm;
            if (gzva) gzva[(size_t)j * k + q] += (float)(c * e);
            if (gzv) gzv[(size_t)j * k + q] += (float)(tj * gm);
            if (gzt) gzt[(size_t)j * k + q] += (float)((1 - tj) * gm);
        }
    }
    if (value) *value = L / B;
    return CWB_OK;
}
