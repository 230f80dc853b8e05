/* NEON GEMM micro-kernel (AArch64 Advanced SIMD), contract in table.h.
 *
 * Tile 8 x 12 (MR x NR), chosen for the 32 128-bit registers v0-v31:
 *   C tile     8 rows x 12 columns = 8 x 3 q registers     24
 *   B row      12 floats of one k step                      3
 *   A column   8 floats of one k step                       2
 *                                                   total  29
 * leaving 3 spare for the compiler. Each k step loads 5 registers (80 bytes)
 * and issues 24 FMLA (by element: a lane of the A register is the broadcast
 * operand). 24 independent accumulator chains cover FMA latency x FMA pipes
 * (4 cycles x 2 pipes on Neoverse N1 = 8 chains, 4 x 4 on V1 = 16). A wider
 * NR (8 x 16 = 32 accumulators) does not fit; 12 x 8 has the same count but
 * needs three A registers for 12 broadcast values and only two B loads.
 * BLIS's armv8a SGEMM kernel (bli_sgemm_armv8a_asm_8x12) uses the same shape.
 * The strided form (GEMM_UKR_STRIDED, table.h) reads A and B in place: a
 * column of A with unit row stride is the same two loads, any other layout
 * is gathered with 8 single-lane loads into the same two registers.
 * Untimed here: no ARM hardware, and qemu timings mean nothing
 * (docs/performance.md).
 *
 * Blocking, for the L1/L2 of current ARM server cores (Neoverse N1/N2/V1:
 * 64 KiB L1D, 0.5-2 MiB private L2; Graviton2/3, Ampere Altra):
 *   KC 384: one B micro-panel 384 x 12 floats = 18 KiB plus one A micro-panel
 *           8 x 384 = 12 KiB streamed per tile: 30 KiB, half of L1D.
 *   MC 128: the packed A block 128 x 384 = 192 KiB, a fraction of L2 (room
 *           for the B panels and C lines); a multiple of MR.
 *   NC 1536: the packed B block 384 x 1536 = 2.25 MiB, for L2 + L3 / system
 *           cache; a multiple of NR (128 panels). */
#ifndef NERVE_GEMM_NEON_H
#define NERVE_GEMM_NEON_H
#include <stddef.h>

void f32_gemm_8x12__neon(size_t k, const float *a, const float *b, float *c, size_t ldc, size_t m,
                         size_t n, int accumulate);
void f32_gemm_8x12_strided__neon(size_t k, const float *a, size_t a_rs, size_t a_cs, const float *b,
                                 size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                                 int accumulate);

#define GEMM_UKR         f32_gemm_8x12__neon
#define GEMM_UKR_STRIDED f32_gemm_8x12_strided__neon
#define GEMM_MR          8
#define GEMM_NR          12
#define GEMM_MC          128
#define GEMM_KC          384
#define GEMM_NC          1536
#endif
