/* Reference GEMM micro-kernel (contract in table.h): one sequential fmaf
 * chain per output element, in increasing k. */
#include <math.h>

#include "gemm_scalar.h"

#ifndef NERVE_ISA_BUILD_SCALAR
#error "gemm_scalar.c belongs to the scalar object library"
#endif

void f32_gemm_4x16__scalar(size_t k, const float *a, const float *b, float *c, size_t ldc, size_t m,
                           size_t n, int accumulate) {
    float acc[GEMM_MR][GEMM_NR];
    for (size_t i = 0; i < GEMM_MR; i++)
        for (size_t j = 0; j < GEMM_NR; j++)
            acc[i][j] = (accumulate && i < m && j < n) ? c[i * ldc + j] : 0.0f;
    for (size_t p = 0; p < k; p++) {
        const float *ap = a + p * GEMM_MR, *bp = b + p * GEMM_NR;
        for (size_t i = 0; i < GEMM_MR; i++)
            for (size_t j = 0; j < GEMM_NR; j++) acc[i][j] = fmaf(ap[i], bp[j], acc[i][j]);
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) c[i * ldc + j] = acc[i][j];
}
