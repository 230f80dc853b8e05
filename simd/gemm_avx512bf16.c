/* AVX512_BF16 kernels (contracts: table.h; arithmetic: simd/bf16.h).
 *
 * The micro-kernel has the shape of the fp32 one (gemm_avx512.c): 12 rows
 * x 32 columns, 24 zmm accumulators, each lane one C element. Per k pair it
 * loads two zmm of B pair words (16 columns each) and, per row, broadcasts
 * the row's A pair word; vdpbf16ps(acc, B, A) adds both products of the pair
 * to every lane, B being the instruction's first source as table.h says
 * (that fixes the NaN priority). The chain of each element is therefore
 * exactly bf16_dp_ref over q in increasing order, the same bits as the
 * emulation on every other table.
 *
 * Measured on the Xeon (Emerald Rapids, in a VM) this was written on:
 * vdpbf16ps zmm issues about once per two cycles where vfmadd231ps issues
 * twice per cycle, so per multiply-add it runs at half the fp32 kernel's
 * rate (docs/performance.md, "bf16 mixed precision"); a CPU that issued it
 * as fast as an fma would double the fp32 rate. */
#include <immintrin.h>
#include <string.h>

#include "gemm_avx512bf16.h"

#ifndef NERVE_ISA_BUILD_AVX512
#error "gemm_avx512bf16.c belongs to the avx512 object library (needs -mavx512bf16 as well)"
#endif
#ifndef __AVX512BF16__
#error "gemm_avx512bf16.c needs -mavx512bf16"
#endif

#define MR BF16N_MR
#define NR BF16N_NR

static inline __mmask16 lane_mask(size_t n) {
    const unsigned bits = n >= 16 ? 0xFFFFu : (1u << n) - 1u;
    return (__mmask16)bits;
}

/* 16 words of a pair vector as the instruction's operand type. */
static inline __m512bh as_bh(__m512i v) {
    __m512bh r;
    memcpy(&r, &v, sizeof r);
    return r;
}

void bf16_gemm_12x32__avx512bf16(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs,
                                 const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t m,
                                 size_t n, int accumulate) {
    __m512 acc[MR][2];
    const int full = m == MR && n == NR;
    const __mmask16 k0 = lane_mask(n), k1 = lane_mask(n > 16 ? n - 16 : 0);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
    if (accumulate) {
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++)
            if ((size_t)i < m) {
                acc[i][0] = _mm512_maskz_loadu_ps(k0, c + (size_t)i * ldc);
                acc[i][1] = _mm512_maskz_loadu_ps(k1, c + (size_t)i * ldc + 16);
            }
    }
    const int ng = m <= 4 ? 1 : m <= 8 ? 2 : 3;
    const uint32_t *a0 = a, *a4 = ng > 1 ? a + 4 * a_rs : a, *a8 = ng > 2 ? a + 8 * a_rs : a;
#define ROW2(i, base, r)                                                                           \
    do {                                                                                           \
        const __m512bh ai = as_bh(_mm512_set1_epi32((int)base[(r)*a_rs]));                         \
        acc[i][0] = _mm512_dpbf16_ps(acc[i][0], b0, ai);                                           \
        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], b1, ai);                                           \
    } while (0)
#define ROW1(i, base, r)                                                                           \
    acc[i][0] = _mm512_dpbf16_ps(acc[i][0], b0, as_bh(_mm512_set1_epi32((int)base[(r)*a_rs])))
#define GROUP(ROW, base, i0)                                                                       \
    do {                                                                                           \
        ROW(i0 + 0, base, 0);                                                                      \
        ROW(i0 + 1, base, 1);                                                                      \
        ROW(i0 + 2, base, 2);                                                                      \
        ROW(i0 + 3, base, 3);                                                                      \
    } while (0)
#define LOAD2                                                                                      \
    const __m512bh b0 = as_bh(_mm512_loadu_si512(b)), b1 = as_bh(_mm512_loadu_si512(b + 16))
#define LOAD1 const __m512bh b0 = as_bh(_mm512_loadu_si512(b))
#define KLOOP(NG, ROW, LOADB)                                                                      \
    for (size_t q = 0; q < kq; q++) {                                                              \
        LOADB;                                                                                     \
        GROUP(ROW, a0, 0);                                                                         \
        if (NG > 1) GROUP(ROW, a4, 4);                                                             \
        if (NG > 2) GROUP(ROW, a8, 8);                                                             \
        a0 += a_cs;                                                                                \
        a4 += a_cs;                                                                                \
        a8 += a_cs;                                                                                \
        b += ldb;                                                                                  \
    }
    if (n > 16) {
        if (ng == 3)
            KLOOP(3, ROW2, LOAD2)
        else if (ng == 2)
            KLOOP(2, ROW2, LOAD2)
        else
            KLOOP(1, ROW2, LOAD2)
    } else {
        if (ng == 3)
            KLOOP(3, ROW1, LOAD1)
        else if (ng == 2)
            KLOOP(2, ROW1, LOAD1)
        else
            KLOOP(1, ROW1, LOAD1)
    }
#undef KLOOP
#undef LOAD1
#undef LOAD2
#undef GROUP
#undef ROW1
#undef ROW2
    if (full) {
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            _mm512_storeu_ps(c + (size_t)i * ldc, acc[i][0]);
            _mm512_storeu_ps(c + (size_t)i * ldc + 16, acc[i][1]);
        }
    } else {
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++)
            if ((size_t)i < m) {
                _mm512_mask_storeu_ps(c + (size_t)i * ldc, k0, acc[i][0]);
                _mm512_mask_storeu_ps(c + (size_t)i * ldc + 16, k1, acc[i][1]);
            }
    }
}

/* 32 floats (masked: lanes past n read as +0) -> 32 bf16 in order, which
 * are 16 pair words. */
static inline __m512i cvt32(const float *x, size_t n) {
    const __mmask16 m0 = lane_mask(n), m1 = lane_mask(n > 16 ? n - 16 : 0);
    const __m512 lo = _mm512_maskz_loadu_ps(m0, x), hi = _mm512_maskz_loadu_ps(m1, x + 16);
    const __m512bh r = _mm512_cvtne2ps_pbh(hi, lo);
    __m512i v;
    memcpy(&v, &r, sizeof v);
    return v;
}

void bf16_cvt_rows__avx512bf16(size_t rows, size_t cols, const float *x, size_t ldx, uint32_t *y,
                               size_t ldy) {
    const size_t words = (cols + 1) / 2;
    for (size_t i = 0; i < rows; i++) {
        const float *xr = x + i * ldx;
        uint32_t *yr = y + i * ldy;
        size_t j = 0;
        for (; j + 32 <= cols; j += 32) _mm512_storeu_si512(yr + j / 2, cvt32(xr + j, 32));
        if (j < cols)
            _mm512_mask_storeu_epi32(yr + j / 2, lane_mask(words - j / 2), cvt32(xr + j, cols - j));
    }
}

void bf16_cvt_cols__avx512bf16(size_t rows, size_t cols, const float *x, size_t ldx, uint32_t *y,
                               size_t ldy) {
    /* interleave the bf16 of two rows: word j = row0[j] | row1[j] << 16 */
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24,
                                         8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (size_t q = 0; q < (rows + 1) / 2; q++) {
        const float *x0 = x + 2 * q * ldx, *x1 = x0 + ldx;
        const int two = 2 * q + 1 < rows;
        uint32_t *yr = y + q * ldy;
        for (size_t j = 0; j < cols; j += 16) {
            const size_t w = cols - j < 16 ? cols - j : 16;
            const __mmask16 mk = lane_mask(w);
            const __m512 r0 = _mm512_maskz_loadu_ps(mk, x0 + j);
            const __m512 r1 = two ? _mm512_maskz_loadu_ps(mk, x1 + j) : _mm512_setzero_ps();
            const __m512bh h = _mm512_cvtne2ps_pbh(r1, r0); /* [r0 x16 | r1 x16] */
            __m512i v;
            memcpy(&v, &h, sizeof v);
            _mm512_mask_storeu_epi32(yr + j, mk, _mm512_permutexvar_epi16(idx, v));
        }
    }
}
