/* AVX512_BF16 kernels (simd/gemm_avx512bf16.c): vdpbf16ps GEMM micro-kernel
 * and vcvtne2ps2bf16 conversions, the native form of the bf16 entries of the
 * kernel table (contracts: table.h). Part of the avx512 object library,
 * this one file compiled with -mavx512bf16 as well; src/core/dispatch.c puts
 * them into the avx512 table only when the CPU has AVX512_BF16 and they pass
 * its start-up check against the reference (simd/bf16.h).
 *
 * Tile 12 x 32, as the fp32 kernel (gemm_avx512.h): 24 zmm accumulators,
 * two zmm of B pairs per k pair, one broadcast pair word of A per row.
 * Blocking (kc in pairs): kc = 256, so each 12 x 32 tile of C is loaded and
 * stored once per 256 pairs (512 k) of vdpbf16ps work, as often per flop as
 * the fp32 kernel's once per 256 k. The B micro-panel is then kc x nr words
 * = 256 * 32 * 4 B = 32 KiB, a whole Zen 4 L1D: it streams from L2 rather
 * than staying in L1 while the A panels pass; the A block 480 x 256 words =
 * 480 KiB and a 1024-wide B block 1 MiB are in L2 (Zen 4: 1 MiB per core) or
 * L3 (a B block of NC = 3072 columns, 3 MiB, streams from L3). Measured
 * against kc = 128 (16 KiB panels in L1) in one process, steps alternating
 * (docs/performance.md, "bf16 mixed precision"): 1.02-1.05x on the
 * 784-1024-1024-10 network at batch 256, level or better on the others. */
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
#define BF16N_KC 256
#define BF16N_NC 3072
#endif
