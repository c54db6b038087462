/*
 * tensor.h - row-major float32 matrices with 64-byte aligned storage.
 *
 * Layers and losses work on flat float arrays (llm.c style); cwb_tensor is
 * the owning container used by the trainer, the data sets and the Lua
 * binding.  Every matrix product goes through cblas_sgemm (cwb_gemm).
 */
#ifndef CWB_TENSOR_H
#define CWB_TENSOR_H

#include <stddef.h>

typedef struct {
    int rows, cols;     /* shape; a vector is rows x 1 or 1 x cols */
    float *data;        /* rows*cols floats, row-major, 64-byte aligned */
} cwb_tensor;

/* Aligned allocation of n floats, zero-filled; NULL (with message) on failure. */
float *cwb_alloc(size_t n);
void cwb_free(void *p);

/* New zero-filled rows x cols tensor; NULL on bad shape or no memory. */
cwb_tensor *cwb_tensor_new(int rows, int cols);
/* Deep copy. */
cwb_tensor *cwb_tensor_clone(const cwb_tensor *t);
void cwb_tensor_free(cwb_tensor *t);
static inline size_t cwb_tensor_size(const cwb_tensor *t) {
    return (size_t)t->rows * (size_t)t->cols;
}

/*
 * C = alpha * op(A) * op(B) + beta * C over row-major flat arrays, where
 * op(X) is X or X^T (ta/tb non-zero), op(A) is M x K, op(B) is K x N and C is
 * M x N.  lda/ldb/ldc are the row strides of the arrays as stored.
 */
void cwb_gemm(int ta, int tb, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc);

/* Set the number of OpenBLAS threads (n >= 1); returns the number in use.
 * cwb's matrices are small (B x 256 at most in a step), where one thread is
 * fastest on a loaded machine: spinning threads cost more than they add. */
int cwb_blas_set_threads(int n);
int cwb_blas_threads(void);
/* The OpenBLAS kernel in use ("Cooperlake", "Haswell", ...).  Results are
 * bit-identical for a seed only on the same kernel: kernels sum in different
 * orders (OPENBLAS_CORETYPE selects one), so runs record it. */
const char *cwb_blas_corename(void);

/* Returns non-zero if any of the n values is NaN or infinite. */
int cwb_has_nonfinite(const float *x, size_t n);

/* Sum of squares of n floats, accumulated in double. */
double cwb_sumsq(const float *x, size_t n);

/* Scale v[0..m) to unit L2 norm (the sum of squares in double, in order);
 * 0 and v unchanged when the norm is ~0 (sum of squares <= 1e-24). */
int cwb_normalise(float *v, int m);

#endif
