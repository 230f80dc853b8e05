/* AVX-512 GEMM micro-kernel, tile MR x NR = 12 x 32 (contract: table.h),
 * in its packed and strided forms and the strided form with inference's
 * bias + activation fused before the store (one body, below).
 *
 * Why 12 x 32 (Zen 5: 32 zmm registers, two 512-bit FMA pipes, FMA latency
 * 4 cycles, two 512-bit loads per cycle):
 *   - keeping both FMA pipes busy needs >= 2 * 4 = 8 independent
 *     accumulator chains; 12 x 32 has 24 (12 rows x 2 zmm);
 *   - registers: 24 accumulators + 2 for the B row + 1 broadcast = 27 of 32,
 *     so the compiler never spills (14 x 32 = 28 + 3 = 31 did spill with
 *     gcc 12);
 *   - per k step: 2 B loads + 12 broadcasts (loads) feed 24 FMAs, i.e. 14
 *     load-pipe operations per 12 cycles of FMA work: loads never limit;
 *   - MR = 12 wastes little on the batch sizes the MLP uses (256 -> 22
 *     tiles, 3 % padding), NR = 32 divides the usual layer widths.
 * Measured in isolation (kc 256, B panel in L1): 97-99 % of the register-only
 * FMA peak on this machine.
 *
 * Strided A: rows are addressed from three base pointers (rows 0-3, 4-7,
 * 8-11) plus 1x, 2x, 3x the row stride, so the loop needs 4 pointer
 * increments per k step (with B's) and no spills.
 *
 * The k loop is unrolled 4 times: the pointer increments and the loop test
 * then come once per 96 fmas of a full tile instead of once per 24. On the Intel Xeon
 * (Golden Cove cores) the integer ALU ports include the two that issue the
 * 512-bit fmas, so every scalar op there can take an fma slot: unrolled,
 * the strided form ran 1.00-1.04x and the packed form 1.01-1.02x faster
 * (five runs, best of 300 interleaved calls each, a layer of 256 rows x 784
 * x 256 read in place and a packed 264 x 256 x 256 block).
 *
 * Edge tiles skip work that would be thrown away: with n <= 16 only one zmm
 * column is computed, with m <= 4 or m <= 8 only that many rows (4 rows x 2
 * zmm is still 8 chains, the latency minimum).
 *
 * Reproducibility: each lane of each accumulator is one C element; it starts
 * at 0 (or at C when accumulating) and takes one vfmadd per k, in increasing
 * k: exactly the scalar reference's fmaf chain, so the results are
 * bit-identical. Edge tiles (m < 12 or n < 32) run the same chains and
 * load/store only the m x n corner through lane masks (masked-off lanes are
 * neither read nor written and cannot fault). */
#include <immintrin.h>

#include "gemm_avx512.h"

#ifndef NERVE_ISA_BUILD_AVX512
#error "gemm_avx512.c belongs to the avx512 object library (needs -mavx512f -mfma)"
#endif

#define MR GEMM_MR
#define NR GEMM_NR

/* Lanes [0, n) of one zmm (n clamped to 16). */
static inline __mmask16 lane_mask(size_t n) {
    const unsigned bits = n >= 16 ? 0xFFFFu : (1u << n) - 1u;
    return (__mmask16)bits;
}

static inline __attribute__((always_inline)) void
ukr_body(size_t k, const float *a, size_t a_rs, size_t a_cs, const float *b, size_t ldb, float *c,
         size_t ldc, size_t m, size_t n, int accumulate, const float *bias, int relu) {
    __m512 acc[MR][2];
    const int full = m == MR && n == NR;
    const __mmask16 k0 = lane_mask(n), k1 = lane_mask(n > 16 ? n - 16 : 0);

#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
    if (accumulate) {
        if (full) {
#pragma GCC unroll 12
            for (int i = 0; i < MR; i++) {
                acc[i][0] = _mm512_loadu_ps(c + (size_t)i * ldc);
                acc[i][1] = _mm512_loadu_ps(c + (size_t)i * ldc + 16);
            }
        } else {
#pragma GCC unroll 12
            for (int i = 0; i < MR; i++)
                if ((size_t)i < m) {
                    acc[i][0] = _mm512_maskz_loadu_ps(k0, c + (size_t)i * ldc);
                    acc[i][1] = _mm512_maskz_loadu_ps(k1, c + (size_t)i * ldc + 16);
                }
        }
    }

    /* Row groups actually computed: 4, 8 or 12 rows (an edge tile of m <= 4
     * rows costs a third of a full one); rows past the group are never read. */
    const int ng = m <= 4 ? 1 : m <= 8 ? 2 : 3;
    const float *a0 = a, *a4 = ng > 1 ? a + 4 * a_rs : a, *a8 = ng > 2 ? a + 8 * a_rs : a;
#define ROW2(i, base, r)                                                                           \
    do {                                                                                           \
        const __m512 ai = _mm512_set1_ps(base[(r)*a_rs]);                                          \
        acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);                                            \
        acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);                                            \
    } while (0)
#define ROW1(i, base, r) acc[i][0] = _mm512_fmadd_ps(_mm512_set1_ps(base[(r)*a_rs]), b0, acc[i][0])
#define GROUP(ROW, base, i0)                                                                       \
    do {                                                                                           \
        ROW(i0 + 0, base, 0);                                                                      \
        ROW(i0 + 1, base, 1);                                                                      \
        ROW(i0 + 2, base, 2);                                                                      \
        ROW(i0 + 3, base, 3);                                                                      \
    } while (0)
#define LOAD2 const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16)
#define LOAD1 const __m512 b0 = _mm512_loadu_ps(b)
#define KLOOP(NG, ROW, LOADB)                                                                      \
    _Pragma("GCC unroll 4") for (size_t p = 0; p < k; p++) {                                       \
        LOADB;                                                                                     \
        GROUP(ROW, a0, 0);                                                                         \
        if (NG > 1) GROUP(ROW, a4, 4);                                                             \
        if (NG > 2) GROUP(ROW, a8, 8);                                                             \
        a0 += a_cs;                                                                                \
        a4 += a_cs;                                                                                \
        a8 += a_cs;                                                                                \
        b += ldb;                                                                                  \
    }
    /* n <= 16 (narrow layers, e.g. 10 outputs): the second zmm column would
     * be all waste, so it is skipped. */
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

    /* the fused epilogue (gemm_ukr_bias_act_fn): + b, one rounding as
     * bias_add's, then relu's select; columns past n add a masked-off 0 */
    if (bias) {
        const __m512 b0 = _mm512_maskz_loadu_ps(k0, bias),
                     b1 = _mm512_maskz_loadu_ps(k1, bias + 16);
        const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            acc[i][0] = _mm512_add_ps(acc[i][0], b0);
            acc[i][1] = _mm512_add_ps(acc[i][1], b1);
            if (relu) {
                acc[i][0] = _mm512_mask_mov_ps(
                    acc[i][0], _mm512_cmp_ps_mask(acc[i][0], zero, _CMP_LT_OQ), zero);
                acc[i][1] = _mm512_mask_mov_ps(
                    acc[i][1], _mm512_cmp_ps_mask(acc[i][1], zero, _CMP_LT_OQ), zero);
            }
        }
    }

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

void f32_gemm_12x32__avx512(size_t k, const float *a, const float *b, float *c, size_t ldc,
                            size_t m, size_t n, int accumulate) {
    ukr_body(k, a, 1, MR, b, NR, c, ldc, m, n, accumulate, NULL, 0);
}

void f32_gemm_12x32_strided__avx512(size_t k, const float *a, size_t a_rs, size_t a_cs,
                                    const float *b, size_t ldb, float *c, size_t ldc, size_t m,
                                    size_t n, int accumulate) {
    ukr_body(k, a, a_rs, a_cs, b, ldb, c, ldc, m, n, accumulate, NULL, 0);
}

void f32_gemm_12x32_bias_act__avx512(size_t k, const float *a, size_t a_rs, size_t a_cs,
                                     const float *b, size_t ldb, float *c, size_t ldc, size_t m,
                                     size_t n, int accumulate, const float *bias, int relu) {
    ukr_body(k, a, a_rs, a_cs, b, ldb, c, ldc, m, n, accumulate, bias, relu);
}

/* ---- transposing panel pack (contract: gemm_pack_t_fn, table.h) --------
 *
 * 16 lanes x 16 k steps at a time: 16 loads (one 64-byte line of each of 16
 * source rows), a 16 x 16 transpose in registers, 16 stores (16 k steps of
 * the panel, 16 lanes each). The transpose is the usual four stages of
 * shuffles: 32-bit and 64-bit interleaves of row pairs inside each 128-bit
 * lane, then two 128-bit lane shuffles. 64 shuffles per 256 floats, against
 * 128 for the generic 4 x 4 SSE blocks, and a quarter of their loads and
 * stores. A group of fewer than 16 lanes (the last of a panel, or a panel of
 * width 12 = MR) loads zeros for the missing rows and stores only its lanes;
 * the last kc % 16 steps load and store through masks; nothing outside the
 * panel's [0, width) x [0, kc) is read or written. The chunk order is the
 * generic kernel's (simd/generic/pack.c): k outer, lanes inner. */
static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);     /* r_i[4L], r_i+1[4L], r_i[4L+1], .. */
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]); /* .. [4L+2], [4L+3] */
    }
    for (int i = 0; i < 16; i += 4) { /* rows i..i+3, element 4L + q in u[i + q] */
        const __m512d a0 = _mm512_castps_pd(t[i]), a1 = _mm512_castps_pd(t[i + 1]);
        const __m512d a2 = _mm512_castps_pd(t[i + 2]), a3 = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
    }
    /* r[4j + q], 128-bit lane L, holds rows 4j..4j+3 of step 4L + q; the
     * output of step 4L + q takes lane L of r[q], r[4 + q], r[8 + q],
     * r[12 + q]: a 4 x 4 transpose of 128-bit lanes per q */
    for (int q = 0; q < 4; q++) {
        const __m512 c0 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x44); /* L0 L1 | L0 L1 */
        const __m512 c1 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xEE); /* L2 L3 | L2 L3 */
        const __m512 c2 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x44);
        const __m512 c3 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xEE);
        t[q] = _mm512_shuffle_f32x4(c0, c2, 0x88);      /* lanes 0, 2 of each: L = 0 */
        t[4 + q] = _mm512_shuffle_f32x4(c0, c2, 0xDD);  /* lanes 1, 3: L = 1 */
        t[8 + q] = _mm512_shuffle_f32x4(c1, c3, 0x88);  /* L = 2 */
        t[12 + q] = _mm512_shuffle_f32x4(c1, c3, 0xDD); /* L = 3 */
    }
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

/* Lanes [x, x + g) (g <= 16) of k steps [p, p + len) (len <= 16). */
static inline __attribute__((always_inline)) void pack_t_block(const pack_word *src, size_t xs,
                                                               size_t g, size_t p, size_t len,
                                                               size_t w, pack_word *dst) {
    __m512 r[16];
    const __mmask16 km = lane_mask(len), lm = lane_mask(g);
    for (size_t i = 0; i < 16; i++)
        r[i] = i < g ? _mm512_maskz_loadu_ps(km, src + i * xs + p) : _mm512_setzero_ps();
    transpose16(r);
    for (size_t j = 0; j < len; j++) _mm512_mask_storeu_ps(dst + (p + j) * w, lm, r[j]);
}

void f32_pack_t_16x16__avx512(const pack_word *src, size_t xs, size_t width, size_t kc, size_t w,
                              pack_word *dst) {
    const size_t k16 = kc / 16 * 16;
    for (size_t p = 0; p < k16; p += 16)
        for (size_t x = 0; x < width; x += 16)
            pack_t_block(src + x * xs, xs, width - x < 16 ? width - x : 16, p, 16, w, dst + x);
    if (k16 < kc)
        for (size_t x = 0; x < width; x += 16)
            pack_t_block(src + x * xs, xs, width - x < 16 ? width - x : 16, k16, kc - k16, w,
                         dst + x);
}
