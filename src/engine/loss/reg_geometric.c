/*
 * reg_geometric.c - geometric consistency [P2] (methods.md
 * "Modality-structure regularisers", 3).
 *
 * Instead of pulling paired points together, ask the two modalities (and
 * each modality and its augmented view) to have the same geometry: the same
 * within-modality Gram matrices, a symmetric cross-modal similarity matrix,
 * and the same paired similarity under augmentation.  Every B x B term is a
 * Gram matrix from cwb_gemm, and every gradient is a Gram-shaped matrix
 * times an embedding matrix, accumulated with beta = 1:
 *   C = V T^T, A = C - C^T:    d/dC  sum_jk A_jk^2 = 4 A
 *                              -> dV += (4/B) A T,  dT += (4/B) A^T V
 *   D = V V^T - T T^T:         d/dV ||D||^2 = 4 D V,  d/dT = -4 D T
 *   E = V V^T - Va Va^T:       d/dV ||E||^2 = 4 E V,  d/dVa = -4 E Va (same for T)
 *   r_j = <V_j,T_j> - <Va_j,Ta_j>: d/dV_j r_j^2 = 2 r_j T_j, d/dVa_j = -2 r_j Ta_j, ...
 */
#include "engine/loss/reg.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"

int cwb_reg_geometric(cwb_reg *w, const float *zv, const float *zt, const float *zva,
                      const float *zta, int B, int k, float weight, cwb_gc_out *out,
                      float *gzv, float *gzt, float *gzva, float *gzta) {
    static const char *const names[4] = {"zv", "zt", "zva", "zta"};
    const float *in[4] = {zv, zt, zva, zta};
    int rc = cwb_reg_validate("cwb_reg_geometric", w, B, k, 2, weight, in, names, 4);
    if (rc) return rc;
    const size_t BB = (size_t)B * B;
    float *GV = w->m[0], *GT = w->m[1], *GVa = w->m[2], *GTa = w->m[3], *C = w->m[4], *M = w->m[5];
    cwb_gemm(0, 1, B, B, k, 1.0f, zv, k, zv, k, 0.0f, GV, B);
    cwb_gemm(0, 1, B, B, k, 1.0f, zt, k, zt, k, 0.0f, GT, B);
    cwb_gemm(0, 1, B, B, k, 1.0f, zva, k, zva, k, 0.0f, GVa, B);
    cwb_gemm(0, 1, B, B, k, 1.0f, zta, k, zta, k, 0.0f, GTa, B);
    cwb_gemm(0, 1, B, B, k, 1.0f, zv, k, zt, k, 0.0f, C, B);

    /* The paired residuals need C's diagonal, read before C becomes A. */
    double lr = 0;
    for (int j = 0; j < B; j++) {
        const float *a = zva + (size_t)j * k, *b = zta + (size_t)j * k;
        double d = 0;
        for (int q = 0; q < k; q++) d += (double)a[q] * b[q];
        w->rowd[j] = C[(size_t)j * B + j] - d;
        lr += w->rowd[j] * w->rowd[j];
    }
    double lanti = 0, lvt = 0, lvv = 0, ltt = 0;
    for (size_t q = 0; q < BB; q++) {
        double d1 = (double)GV[q] - GT[q], d2 = (double)GV[q] - GVa[q], d3 = (double)GT[q] - GTa[q];
        lvt += d1 * d1;
        lvv += d2 * d2;
        ltt += d3 * d3;
    }
    for (int j = 0; j < B; j++) {
        C[(size_t)j * B + j] = 0.0f;
        for (int q = j + 1; q < B; q++) {
            float a = C[(size_t)j * B + q] - C[(size_t)q * B + j];
            C[(size_t)j * B + q] = a;
            C[(size_t)q * B + j] = -a;
            lanti += 2.0 * (double)a * a;
        }
    }
    if (out) {
        out->gc = (lanti + lvt) / B;
        out->gc_aug = (lvv + ltt + lr) / B;
        out->total = out->gc + out->gc_aug;
    }

    const float c4 = (float)(4.0 * weight / B);
    if (gzv) cwb_gemm(0, 0, B, k, B, c4, C, B, zt, k, 1.0f, gzv, k);
    if (gzt) cwb_gemm(1, 0, B, k, B, c4, C, B, zv, k, 1.0f, gzt, k);
    if (gzv) { /* (V V^T - T T^T) + (V V^T - Va Va^T) */
        for (size_t q = 0; q < BB; q++) M[q] = 2.0f * GV[q] - GT[q] - GVa[q];
        cwb_gemm(0, 0, B, k, B, c4, M, B, zv, k, 1.0f, gzv, k);
    }
    if (gzt) { /* -(V V^T - T T^T) + (T T^T - Ta Ta^T) */
        for (size_t q = 0; q < BB; q++) M[q] = 2.0f * GT[q] - GV[q] - GTa[q];
        cwb_gemm(0, 0, B, k, B, c4, M, B, zt, k, 1.0f, gzt, k);
    }
    if (gzva) {
        for (size_t q = 0; q < BB; q++) M[q] = GVa[q] - GV[q];
        cwb_gemm(0, 0, B, k, B, c4, M, B, zva, k, 1.0f, gzva, k);
    }
    if (gzta) {
        for (size_t q = 0; q < BB; q++) M[q] = GTa[q] - GT[q];
        cwb_gemm(0, 0, B, k, B, c4, M, B, zta, k, 1.0f, gzta, k);
    }
    const double c2 = 2.0 * weight / B;
    for (int j = 0; j < B; j++) {
        double r = c2 * w->rowd[j];
        size_t o = (size_t)j * k;
        for (int q = 0; q < k; q++) {
            if (gzv) gzv[o + q] += (float)(r * zt[o + q]);
            if (gzt) gzt[o + q] += (float)(r * zv[o + q]);
            if (gzva) gzva[o + q] -= (float)(r * zta[o + q]);
            if (gzta) gzta[o + q] -= (float)(r * zva[o + q]);
        }
    }
    return CWB_OK;
}
