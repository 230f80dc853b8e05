/* nerve: public BLAS-like kernel entry points (row-major).
 *
 * They run on the active kernel table (see cpu.h) and validate their
 * arguments: a bad argument returns NERVE_EINVAL with a message in
 * nerve_last_error(); nothing aborts.
 *
 * Results are bit-identical for every ISA and thread count: every element of C
 * is one sequential fused-multiply-add chain over k in increasing order
 * (docs/architecture.md, "Reproducibility"). */
#ifndef NERVE_KERNELS_H
#define NERVE_KERNELS_H

#include <stddef.h>
#include "nerve/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nerve_transpose { NERVE_NO_TRANS = 0, NERVE_TRANS = 1 } nerve_transpose;

/* C = alpha * op(A) op(B) + beta * C, with op(A) m x k, op(B) k x n, C m x n.
 * A is m x k (lda >= k) when ta == NERVE_NO_TRANS, else k x m (lda >= m);
 * likewise B. BLAS semantics: beta == 0 never reads C (NaN there does not
 * leak), k == 0 gives C = beta * C, m == 0 or n == 0 does nothing.
 *
 * Rounding, exactly: acc = fma chain over k starting from 0; then
 *   alpha == 1, beta == 1 : the chain starts from C instead ("accumulate")
 *   beta == 0             : C = alpha * acc
 *   otherwise             : C = fma(beta, C, alpha * acc)                    */
NERVE_API nerve_status nerve_sgemm(nerve_transpose ta, nerve_transpose tb, size_t m, size_t n,
                                   size_t k, float alpha, const float *a, size_t lda,
                                   const float *b, size_t ldb, float beta, float *c, size_t ldc);

/* y = alpha * op(A) x + beta * y. A is m x n (lda >= n). With NERVE_NO_TRANS,
 * x has n elements and y has m; with NERVE_TRANS, x has m and y has n.
 * beta == 0 never reads y. */
NERVE_API nerve_status nerve_sgemv(nerve_transpose ta, size_t m, size_t n, float alpha,
                                   const float *a, size_t lda, const float *x, float beta,
                                   float *y);

#ifdef __cplusplus
}
#endif
#endif
