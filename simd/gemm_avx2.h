/* AVX2 GEMM micro-kernel (simd/gemm_avx2.c) and its cache blocking.
 *
 * Tile 6 x 16: 6 rows of A broadcast, two ymm of B per k step, 12 ymm
 * accumulators (reasoning in gemm_avx2.c).
 *
 * Blocking for Zen 5 (per core: L1d 48 KiB, L2 1 MiB):
 *   KC 512: the packed B micro-panel KC x NR = 512 * 16 * 4 B = 32 KiB stays
 *           in L1; the A micro-panels (12 KiB) stream from L2.
 *   MC 240 (a multiple of MR): A block MC x KC = 480 KiB, about half of L2.
 *   NC 3072: B block KC x NC = 6 MiB, shared by the threads, from L3. */
#ifndef NERVE_GEMM_AVX2_H
#define NERVE_GEMM_AVX2_H
#include <stddef.h>

void f32_gemm_6x16__avx2(size_t k, const float *a, const float *b, float *c, size_t ldc, size_t m,
                         size_t n, int accumulate);
void f32_gemm_6x16_strided__avx2(size_t k, const float *a, size_t a_rs, size_t a_cs, const float *b,
                                 size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                                 int accumulate);

void f32_gemm_6x16_bias_act__avx2(size_t k, const float *a, size_t a_rs, size_t a_cs,
                                  const float *b, size_t ldb, float *c, size_t ldc, size_t m,
                                  size_t n, int accumulate, const float *bias, int relu);

#define GEMM_UKR         f32_gemm_6x16__avx2
#define GEMM_UKR_STRIDED f32_gemm_6x16_strided__avx2
#define GEMM_UKR_BIAS_ACT f32_gemm_6x16_bias_act__avx2
#define GEMM_MR          6
#define GEMM_NR          16
#define GEMM_MC          240
#define GEMM_KC          512
#define GEMM_NC          3072
#endif
