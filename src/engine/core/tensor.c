/* tensor.c - aligned float32 storage and the single sgemm entry point. */
#include "engine/core/tensor.h"
#include "engine/core/error.h"

#include "engine/core/vexp.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CWB_ALIGN 64

float *cwb_alloc(size_t n) {
    /* aligned_alloc wants a size that is a multiple of the alignment. */
    size_t bytes = n * sizeof(float);
    bytes = (bytes + CWB_ALIGN - 1) / CWB_ALIGN * CWB_ALIGN;
    if (bytes == 0) bytes = CWB_ALIGN;
    if (n > (size_t)-1 / sizeof(float) / 2) {
        cwb_fail(CWB_ENOMEM, "allocation of %zu floats is too large", n);
        return NULL;
    }
    float *p = aligned_alloc(CWB_ALIGN, bytes);
    if (!p) {
        cwb_fail(CWB_ENOMEM, "out of memory allocating %zu floats", n);
        return NULL;
    }
    memset(p, 0, bytes);
    return p;
}

void cwb_free(void *p) { free(p); }

cwb_tensor *cwb_tensor_new(int rows, int cols) {
    if (rows <= 0 || cols <= 0) {
        cwb_fail(CWB_EINVAL, "tensor shape %dx%d: both sizes must be positive", rows, cols);
        return NULL;
    }
    cwb_tensor *t = malloc(sizeof *t);
    if (!t) {
        cwb_fail(CWB_ENOMEM, "out of memory allocating a tensor");
        return NULL;
    }
    t->rows = rows;
    t->cols = cols;
    t->data = cwb_alloc((size_t)rows * (size_t)cols);
    if (!t->data) {
        free(t);
        return NULL;
    }
    return t;
}

cwb_tensor *cwb_tensor_clone(const cwb_tensor *t) {
    cwb_tensor *c = cwb_tensor_new(t->rows, t->cols);
    if (c) memcpy(c->data, t->data, cwb_tensor_size(t) * sizeof(float));
    return c;
}

void cwb_tensor_free(cwb_tensor *t) {
    if (!t) return;
    cwb_free(t->data);
    free(t);
}

void cwb_gemm(int ta, int tb, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
                ldb, beta, C, ldc);
}

int cwb_blas_set_threads(int n) {
    if (n >= 1) openblas_set_num_threads(n);
    return openblas_get_num_threads();
}

int cwb_blas_threads(void) { return openblas_get_num_threads(); }

const char *cwb_blas_corename(void) {
    const char *c = openblas_get_corename();
    return c && *c ? c : "unknown";
}

int cwb_has_nonfinite(const float *x, size_t n) {
    /* x * 0 is 0 for a finite x and NaN for NaN or +-Inf: one multiply-add
     * per value and a single test at the end, no branch per element. */
    const cwb_v4f zero = cwb_v4f_set1(0.0f);
    cwb_v4f acc = zero;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) acc += cwb_v4f_load(x + i) * zero;
    float s = acc[0] + acc[1] + acc[2] + acc[3];
    for (; i < n; i++) s += x[i] * 0.0f;
    return s != s;
}

int cwb_normalise(float *v, int m) {
    double s = 0;
    for (int j = 0; j < m; j++) s += (double)v[j] * v[j];
    if (!(s > 1e-24)) return 0;
    double inv = 1.0 / sqrt(s);
    for (int j = 0; j < m; j++) v[j] = (float)(v[j] * inv);
    return 1;
}

double cwb_sumsq(const float *x, size_t n) {
    /* Four independent double accumulators so the adds do not wait on
     * each other. */
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += (double)x[i] * x[i];
        s1 += (double)x[i + 1] * x[i + 1];
        s2 += (double)x[i + 2] * x[i + 2];
        s3 += (double)x[i + 3] * x[i + 3];
    }
    for (; i < n; i++) s0 += (double)x[i] * x[i];
    return (s0 + s1) + (s2 + s3);
}
