/* AVX512_BF16 kernels (simd/gemm_avx512bf16.c): vdpbf16ps GEMM micro-kernel
 * and vcvtne2ps2bf16 conversions, the native form of the bf16 entries of the
 * kernel table (contracts: table.h). Part of the avx512 object library,
 * this one file compiled with -mavx512bf16 as well; src/core/dispatch.c puts
 * them into the avx512 table only when the CPU has AVX512_BF16 and they pass
 * its start-up check against the reference (simd/bf16.h).
 *
 * Tile 12 x 32, as the fp32 kernel (gemm_avx512.h): 24 zmm accumulators,
 * two zmm of B pairs per k pair, one broadcast pair word of A per row.
 * Blocking (kc in pairs): the B micro-panel kc x nr words = 128 * 32 * 4 B =
 * 16 KiB in L1; the A block 480 x 128 words = 240 KiB in L2. */
#ifndef NERVE_GEMM_AVX512BF16_H
#define NERVE_GEMM_AVX512BF16_H
#include <stddef.h>
#include <stdint.h>

void bf16_gemm_12x32__avx512bf16(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs,
                                 const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t m,
                                 size_t n, int accumulate);
void bf16_cvt_rows__avx512bf16(size_t rows, size_t cols, const float *x, size_t ldx, uint32_t *y,
                               size_t ldy);
void bf16_cvt_cols__avx512bf16(size_t rows, size_t cols, const float *x, size_t ldx, uint32_t *y,
                               size_t ldy);

#define BF16N_MR 12
#define BF16N_NR 32
#define BF16N_MC 480
#define BF16N_KC 128
#define BF16N_NC 3072
#endif
