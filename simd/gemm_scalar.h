/* Scalar GEMM micro-kernel: the reference implementation of the contract in
 * table.h. Tile 4 x 16: small enough to stay readable, and NR = 16 matches the
 * logical vector width. Blocking: A block 64 x 256 (64 KiB, L2), B panel
 * 256 x 16 (16 KiB, L1), NC 1024. Speed is not the point of this table. */
#ifndef NERVE_GEMM_SCALAR_H
#define NERVE_GEMM_SCALAR_H
#include <stddef.h>

void f32_gemm_4x16__scalar(size_t k, const float *a, const float *b, float *c, size_t ldc, size_t m,
                           size_t n, int accumulate);

#define GEMM_UKR f32_gemm_4x16__scalar
#define GEMM_MR  4
#define GEMM_NR  16
#define GEMM_MC  64
#define GEMM_KC  256
#define GEMM_NC  1024
#endif
