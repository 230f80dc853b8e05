/* AVX2 GEMM micro-kernel, tile MR x NR = 6 x 16 (contract: table.h), in its
 * packed and strided forms and the strided form with inference's bias +
 * activation fused before the store (one body, below).
 *
 * Why 6 x 16 (16 ymm registers, two FMA pipes with 4-cycle latency):
 *   - >= 2 * 4 = 8 independent accumulator chains keep both pipes busy;
 *     6 x 16 has 12 (6 rows x 2 ymm);
 *   - registers: 12 accumulators + 2 for the B row + 1 broadcast = 15 of 16;
 *   - per k step: 2 B loads + 6 broadcasts feed 12 FMAs (8 loads per 6
 *     cycles of FMA work), within two loads per cycle.
 * Measured in isolation (kc 256, B panel in L1): ~99 % of the AVX2
 * register-only FMA peak on this machine.
 *
 * Strided A: rows 0-2 and 3-5 are addressed from two base pointers plus 1x
 * and 2x the row stride (3 pointer increments per k step, with B's). The k
 * loop is unrolled 4 times, so those and the loop test come once per 48
 * fmas of a full tile (gemm_avx512.c says why; here 1.00-1.02x on the
 * Intel Xeon).
 *
 * Edge tiles skip work that would be thrown away: with n <= 8 only one ymm
 * column is computed, with m <= 4 only 4 rows (8 chains, still the latency
 * minimum: 4 of the full tile's 6 cycles per k step). The rows cut made
 * nerve_net_forward of 784-256-128-10 on the AMD Zen 3, one thread (A/B in
 * one process), 1.36x faster at batch 4, 1.18x at 8, 1.12x at 16, 1.05x at
 * 32 (a 6 + 2 row split for 8, 5 x 6 + 2 for 32); full tiles as before.
 *
 * Reproducibility: each lane is one C element's fma chain in increasing k
 * from 0 (or from C), the same as the scalar reference, so results are
 * bit-identical. Edge tiles (m < 6 or n < 16) run the same chains and
 * load/store the m x n corner with vmaskmov (masked-off lanes are neither
 * read nor written and cannot fault). */
#include <immintrin.h>

#include "gemm_avx2.h"

#ifndef NERVE_ISA_BUILD_AVX2
#error "gemm_avx2.c belongs to the avx2 object library (needs -mavx2 -mfma)"
#endif

#define MR GEMM_MR
#define NR GEMM_NR

/* All-ones in lanes [0, n) of a ymm (n clamped to 8): compare the lane
 * index 0..7 with n. */
static inline __m256i lane_mask(size_t n) {
    const int nn = n >= 8 ? 8 : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(nn), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __attribute__((always_inline)) void
ukr_body(size_t k, const float *a, size_t a_rs, size_t a_cs, const float *b, size_t ldb, float *c,
         size_t ldc, size_t m, size_t n, int accumulate, const float *bias, int relu) {
    __m256 acc[MR][2];
    const int full = m == MR && n == NR;

#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
    }
    if (accumulate) {
        if (full) {
#pragma GCC unroll 6
            for (int i = 0; i < MR; i++) {
                acc[i][0] = _mm256_loadu_ps(c + (size_t)i * ldc);
                acc[i][1] = _mm256_loadu_ps(c + (size_t)i * ldc + 8);
            }
        } else {
            const __m256i k0 = lane_mask(n), k1 = lane_mask(n > 8 ? n - 8 : 0);
#pragma GCC unroll 6
            for (int i = 0; i < MR; i++)
                if ((size_t)i < m) {
                    acc[i][0] = _mm256_maskload_ps(c + (size_t)i * ldc, k0);
                    acc[i][1] = _mm256_maskload_ps(c + (size_t)i * ldc + 8, k1);
                }
        }
    }

    /* An edge tile of m <= 4 rows computes only 4 (above); rows 4 and 5 are
     * then never read. */
    const int four = m <= 4;
    const float *a0 = a, *a3 = a + 3 * a_rs;
#define ROWS4(ROW)                                                                                 \
    ROW(0, a0, 0);                                                                                 \
    ROW(1, a0, 1);                                                                                 \
    ROW(2, a0, 2);                                                                                 \
    ROW(3, a3, 0)
#define ROWS(ROW)                                                                                  \
    ROWS4(ROW);                                                                                    \
    ROW(4, a3, 1);                                                                                 \
    ROW(5, a3, 2)
#define ROW2(i, base, r)                                                                           \
    do {                                                                                           \
        const __m256 ai = _mm256_broadcast_ss(base + (r)*a_rs);                                    \
        acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);                                            \
        acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);                                            \
    } while (0)
#define ROW1(i, base, r)                                                                           \
    acc[i][0] = _mm256_fmadd_ps(_mm256_broadcast_ss(base + (r)*a_rs), b0, acc[i][0])
#define LOAD2 const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8)
#define LOAD1 const __m256 b0 = _mm256_loadu_ps(b)
#define KLOOP(RS, ROW, LOADB)                                                                      \
    _Pragma("GCC unroll 4") for (size_t p = 0; p < k; p++) {                                       \
        LOADB;                                                                                     \
        RS(ROW);                                                                                   \
        a0 += a_cs;                                                                                \
        a3 += a_cs;                                                                                \
        b += ldb;                                                                                  \
    }
    /* n <= 8: the all-waste second ymm column skipped (6 chains, 4 with
     * m <= 4: latency bound, still 1.5x the full loop's speed on such
     * tiles) */
    if (n > 8) {
        if (four)
            KLOOP(ROWS4, ROW2, LOAD2)
        else
            KLOOP(ROWS, ROW2, LOAD2)
    } else {
        if (four)
            KLOOP(ROWS4, ROW1, LOAD1)
        else
            KLOOP(ROWS, ROW1, LOAD1)
    }
#undef KLOOP
#undef LOAD1
#undef LOAD2
#undef ROWS
#undef ROWS4
#undef ROW1
#undef ROW2

    /* the fused epilogue (gemm_ukr_bias_act_fn): + b, one rounding as
     * bias_add's, then relu's select; columns past n add a masked-off 0 */
    if (bias) {
        const __m256 b0 = _mm256_maskload_ps(bias, lane_mask(n)),
                     b1 = _mm256_maskload_ps(bias + 8, lane_mask(n > 8 ? n - 8 : 0));
        const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            acc[i][0] = _mm256_add_ps(acc[i][0], b0);
            acc[i][1] = _mm256_add_ps(acc[i][1], b1);
            if (relu) {
                acc[i][0] =
                    _mm256_blendv_ps(acc[i][0], zero, _mm256_cmp_ps(acc[i][0], zero, _CMP_LT_OQ));
                acc[i][1] =
                    _mm256_blendv_ps(acc[i][1], zero, _mm256_cmp_ps(acc[i][1], zero, _CMP_LT_OQ));
            }
        }
    }

    if (full) {
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            _mm256_storeu_ps(c + (size_t)i * ldc, acc[i][0]);
            _mm256_storeu_ps(c + (size_t)i * ldc + 8, acc[i][1]);
        }
    } else {
        const __m256i k0 = lane_mask(n), k1 = lane_mask(n > 8 ? n - 8 : 0);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++)
            if ((size_t)i < m) {
                _mm256_maskstore_ps(c + (size_t)i * ldc, k0, acc[i][0]);
                _mm256_maskstore_ps(c + (size_t)i * ldc + 8, k1, acc[i][1]);
            }
    }
}

void f32_gemm_6x16__avx2(size_t k, const float *a, const float *b, float *c, size_t ldc, size_t m,
                         size_t n, int accumulate) {
    ukr_body(k, a, 1, MR, b, NR, c, ldc, m, n, accumulate, NULL, 0);
}

void f32_gemm_6x16_strided__avx2(size_t k, const float *a, size_t a_rs, size_t a_cs, const float *b,
                                 size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                                 int accumulate) {
    ukr_body(k, a, a_rs, a_cs, b, ldb, c, ldc, m, n, accumulate, NULL, 0);
}

void f32_gemm_6x16_bias_act__avx2(size_t k, const float *a, size_t a_rs, size_t a_cs,
                                  const float *b, size_t ldb, float *c, size_t ldc, size_t m,
                                  size_t n, int accumulate, const float *bias, int relu) {
    ukr_body(k, a, a_rs, a_cs, b, ldb, c, ldc, m, n, accumulate, bias, relu);
}
