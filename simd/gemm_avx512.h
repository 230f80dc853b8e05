/* AVX-512 GEMM micro-kernel (simd/gemm_avx512.c) and its cache blocking.
 *
 * Tile 12 x 32: 12 rows of A broadcast, two zmm of B loaded per k step, 24
 * zmm accumulators (reasoning in gemm_avx512.c).
 *
 * Blocking for Zen 5 (per core: L1d 48 KiB, L2 1 MiB):
 *   KC 256: the packed B micro-panel KC x NR = 256 * 32 * 4 B = 32 KiB stays
 *           in L1 while the macro-kernel runs the A micro-panels (12 KiB
 *           each, streamed from L2) against it.
 *   MC 480 (a multiple of MR): the packed A block MC x KC = 480 KiB, about
 *           half of L2, leaving room for the B panel and C traffic.
 *   NC 3072: the packed B block KC x NC = 3 MiB (from L3); large enough that
 *           the A block packing is amortised over many B panels. */
#ifndef NERVE_GEMM_AVX512_H
#define NERVE_GEMM_AVX512_H
#include <stddef.h>

#include "table.h" /* pack_word */

void f32_gemm_12x32__avx512(size_t k, const float *a, const float *b, float *c, size_t ldc,
                            size_t m, size_t n, int accumulate);
void f32_gemm_12x32_strided__avx512(size_t k, const float *a, size_t a_rs, size_t a_cs,
                                    const float *b, size_t ldb, float *c, size_t ldc, size_t m,
                                    size_t n, int accumulate);

void f32_gemm_12x32_bias_act__avx512(size_t k, const float *a, size_t a_rs, size_t a_cs,
                                     const float *b, size_t ldb, float *c, size_t ldc, size_t m,
                                     size_t n, int accumulate, const float *bias, int relu);

void f32_pack_t_16x16__avx512(const pack_word *src, size_t xs, size_t width, size_t kc, size_t w,
                              pack_word *dst);

#define GEMM_UKR         f32_gemm_12x32__avx512
#define GEMM_UKR_STRIDED f32_gemm_12x32_strided__avx512
#define GEMM_UKR_BIAS_ACT f32_gemm_12x32_bias_act__avx512
#define GEMM_MR          12
#define GEMM_MR_STEP      4 /* edge tiles of <= 4 or <= 8 rows compute only those */
#define GEMM_NR          32
#define GEMM_MC          480
#define GEMM_KC          256
#define GEMM_NC          3072
#define GEMM_PACK_T      f32_pack_t_16x16__avx512
#endif
