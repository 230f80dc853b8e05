/* NEON GEMM micro-kernel, 8 x 12, packed and strided forms (gemm_neon.h
 * explains the shape; contracts in table.h). Bit-identical to gemm_scalar.c:
 * every C(i,j) is one accumulator lane that receives, for p = 0, 1, ..., k-1
 * in order, one fused multiply-add acc + A(i,p) * B(p,j) (FMLA by element
 * rounds once, like fmaf; the operand order of the product does not change
 * an IEEE product). */
#include <arm_neon.h>
#include <string.h>

#include "gemm_neon.h"

#if !defined(NERVE_ISA_BUILD_NEON) || !defined(__aarch64__)
#error "gemm_neon.c belongs to the neon object library (AArch64 only)"
#endif

/* Row r of the accumulator tile: c<r>0, c<r>1, c<r>2 hold C(r, 0..3),
 * C(r, 4..7), C(r, 8..11). The lane argument of vfmaq_laneq_f32 must be a
 * constant, hence macros rather than loops. */
#define DECL_ROW(r) float32x4_t c##r##0, c##r##1, c##r##2
#define ZERO_ROW(r) c##r##0 = c##r##1 = c##r##2 = vdupq_n_f32(0.0f)
#define LOAD_ROW(r)                                                                                \
    c##r##0 = vld1q_f32(c + (r)*ldc);                                                              \
    c##r##1 = vld1q_f32(c + (r)*ldc + 4);                                                          \
    c##r##2 = vld1q_f32(c + (r)*ldc + 8)
#define STORE_ROW(r)                                                                               \
    vst1q_f32(c + (r)*ldc, c##r##0);                                                               \
    vst1q_f32(c + (r)*ldc + 4, c##r##1);                                                           \
    vst1q_f32(c + (r)*ldc + 8, c##r##2)
/* acc(r, :) = fma(A(r, p), B(p, :), acc(r, :)); A(r, p) is lane `lane` of av. */
#define FMA_ROW(r, av, lane)                                                                       \
    c##r##0 = vfmaq_laneq_f32(c##r##0, b0, av, lane);                                              \
    c##r##1 = vfmaq_laneq_f32(c##r##1, b1, av, lane);                                              \
    c##r##2 = vfmaq_laneq_f32(c##r##2, b2, av, lane)
#define ALL_ROWS(X)                                                                                \
    X(0);                                                                                          \
    X(1);                                                                                          \
    X(2);                                                                                          \
    X(3);                                                                                          \
    X(4);                                                                                          \
    X(5);                                                                                          \
    X(6);                                                                                          \
    X(7)

/* One k step: rows 0-3 take their A value from lanes of a0, rows 4-7 from a1;
 * B(p, 0..11) is loaded as b0, b1, b2 (the names FMA_ROW uses). */
#define FMA_STEP(a0, a1)                                                                           \
    do {                                                                                           \
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);         \
        FMA_ROW(0, a0, 0);                                                                         \
        FMA_ROW(1, a0, 1);                                                                         \
        FMA_ROW(2, a0, 2);                                                                         \
        FMA_ROW(3, a0, 3);                                                                         \
        FMA_ROW(4, a1, 0);                                                                         \
        FMA_ROW(5, a1, 1);                                                                         \
        FMA_ROW(6, a1, 2);                                                                         \
        FMA_ROW(7, a1, 3);                                                                         \
    } while (0)

/* The full 8 x 12 tile at c (leading dimension ldc) from
 * A(i, p) = a[i*a_rs + p*a_cs] and B(p, j) = b[p*ldb + j]. Columns of A with
 * unit row stride (a_rs == 1: the packed panel, or A read transposed) are
 * two vector loads per k step; other layouts gather the 8 floats. */
static inline __attribute__((always_inline)) void
tile_8x12(size_t k, const float *restrict a, size_t a_rs, size_t a_cs, const float *restrict b,
          size_t ldb, float *restrict c, size_t ldc, int accumulate) {
    ALL_ROWS(DECL_ROW);
    if (accumulate) {
        ALL_ROWS(LOAD_ROW);
    } else {
        ALL_ROWS(ZERO_ROW);
    }
    if (a_rs == 1) {
        for (size_t p = 0; p < k; p++) {
            const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
            FMA_STEP(a0, a1);
            a += a_cs;
            b += ldb;
        }
    } else {
        /* Gather the column A(0..7, p) into two registers lane by lane (LD1
         * single-lane loads), rows 0-3 and 4-7 from two base pointers plus 1x,
         * 2x, 3x the row stride, then the same by-element FMAs as above. Eight
         * scalar registers instead would not fit beside the 24 accumulators. */
        const float *a4 = a + 4 * a_rs;
        const size_t s1 = a_rs, s2 = 2 * a_rs, s3 = 3 * a_rs;
        for (size_t p = 0; p < k; p++) {
            float32x4_t a0 = vld1q_dup_f32(a), a1 = vld1q_dup_f32(a4);
            a0 = vld1q_lane_f32(a + s1, a0, 1);
            a1 = vld1q_lane_f32(a4 + s1, a1, 1);
            a0 = vld1q_lane_f32(a + s2, a0, 2);
            a1 = vld1q_lane_f32(a4 + s2, a1, 2);
            a0 = vld1q_lane_f32(a + s3, a0, 3);
            a1 = vld1q_lane_f32(a4 + s3, a1, 3);
            /* Empty asm: keeps a0 and a1 whole vectors. Without it GCC 12
             * turns each lane back into a scalar load, needs 8 registers for
             * them and spills accumulators inside the loop. */
            __asm__("" : "+w"(a0), "+w"(a1));
            FMA_STEP(a0, a1);
            a += a_cs;
            a4 += a_cs;
            b += ldb;
        }
    }
    ALL_ROWS(STORE_ROW);
}

/* Full tiles in place; edge tiles (m < MR or n < NR) on a local copy: the
 * whole tile is computed (the extra rows and columns come from the zero
 * padding of packed panels, or from the readable rows/columns the strided
 * contract guarantees) and only m x n is copied back. Only the m x n part of
 * C is read, and only when accumulating. */
static inline __attribute__((always_inline)) void ukr(size_t k, const float *a, size_t a_rs,
                                                      size_t a_cs, const float *b, size_t ldb,
                                                      float *c, size_t ldc, size_t m, size_t n,
                                                      int accumulate) {
    if (m == GEMM_MR && n == GEMM_NR) {
        tile_8x12(k, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
        return;
    }
    float tmp[GEMM_MR * GEMM_NR];
    if (accumulate) {
        memset(tmp, 0, sizeof tmp);
        for (size_t i = 0; i < m; i++) memcpy(tmp + i * GEMM_NR, c + i * ldc, n * sizeof(float));
    }
    tile_8x12(k, a, a_rs, a_cs, b, ldb, tmp, GEMM_NR, accumulate);
    for (size_t i = 0; i < m; i++) memcpy(c + i * ldc, tmp + i * GEMM_NR, n * sizeof(float));
}

void f32_gemm_8x12__neon(size_t k, const float *a, const float *b, float *c, size_t ldc, size_t m,
                         size_t n, int accumulate) {
    ukr(k, a, 1, GEMM_MR, b, GEMM_NR, c, ldc, m, n, accumulate);
}

void f32_gemm_8x12_strided__neon(size_t k, const float *a, size_t a_rs, size_t a_cs, const float *b,
                                 size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                                 int accumulate) {
    ukr(k, a, a_rs, a_cs, b, ldb, c, ldc, m, n, accumulate);
}
