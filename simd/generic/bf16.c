/* bf16 kernels written once, compiled once per ISA (contracts: table.h,
 * arithmetic: simd/bf16.h).
 *
 * Conversions are integer operations on the float bits (bf16_round), so any
 * vectorisation the compiler does computes the same bits.
 *
 * The GEMM micro-kernel is the exact emulation of vdpbf16ps for every table
 * without AVX512_BF16 (and the reference the native kernel is checked
 * against). Tile: BF16E_MR x BF16E_NR (generic.h). Per pair q and row i,
 * two steps on 16 lanes:
 *   acc = ftz(fma(B_hi(q), A_hi(i,q), acc)),  acc = ftz(fma(B_lo(q), A_lo(i,q), acc))
 * with operands widened to fp32 and denormals read as zero (DAZ), fma the
 * IEEE fused multiply-add (the bf16 product is exact in fp32, so this is
 * the instruction's single rounding), and ftz() the flush to zero of
 * results below 2^-126. Two ways to get DAZ and ftz (tile_body):
 *   - portable (bf16_gemm_ukr, every ISA): explicit selects. IEEE rounds a
 *     result below 2^-126 onto the denormal grid, the instruction to 24
 *     bits with an unbounded exponent; the two flush the same results
 *     except where IEEE gives exactly +-2^-126 (exact results in
 *     [2^-126 - 2^-150, 2^-126 - 2^-151) flush on the instruction, and
 *     IEEE alone cannot tell them from those that do not): such a tile goes
 *     to the scalar reference;
 *   - x86 (bf16_gemm_ukr_ftz): the FPU's DAZ and FTZ modes, under which an
 *     x86 fma detects tininess after rounding as the instruction does: one
 *     fma per step, no edge case (src/core/dispatch.c checks this at start).
 * A NaN anywhere in the tile (whose bits follow the instruction's NaN
 * priority, which fma does not on every ISA) also sends the tile to the
 * scalar reference bf16_dp_ref, which decides everything exactly. Both are
 * rare; everything else is the vector path. */
#include "generic.h"

#include "bf16.h"

#if BF16E_HAVE_FTZ
#include <xmmintrin.h> /* _mm_getcsr, _mm_setcsr (SSE: baseline on x86-64) */
#endif

/* ---- conversions ----------------------------------------------------------- */

/* bf16_round without branches (the same function), for the compiler to vectorise. */
static inline uint32_t round_bits(uint32_t x) {
    const uint32_t rne = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    const uint32_t nan = ((x >> 16) | 0x40u) & 0xffffu;
    const uint32_t zero = (x >> 16) & 0x8000u;
    const uint32_t r = (x & 0x7f800000u) == 0 ? zero : rne;
    return (x & 0x7fffffffu) > 0x7f800000u ? nan : r;
}

static inline uint32_t fbits(const float *p) {
    uint32_t u;
    memcpy(&u, p, sizeof u);
    return u;
}

void KNAME(bf16_cvt_rows)(size_t rows, size_t cols, const float *x, size_t ldx, uint32_t *y,
                          size_t ldy) {
    const size_t full = cols / 2;
    for (size_t i = 0; i < rows; i++) {
        const float *xr = x + i * ldx;
        uint32_t *yr = y + i * ldy;
        for (size_t q = 0; q < full; q++)
            yr[q] = round_bits(fbits(xr + 2 * q)) | round_bits(fbits(xr + 2 * q + 1)) << 16;
        if (cols & 1) yr[full] = round_bits(fbits(xr + cols - 1));
    }
}

void KNAME(bf16_cvt_cols)(size_t rows, size_t cols, const float *x, size_t ldx, uint32_t *y,
                          size_t ldy) {
    const size_t full = rows / 2;
    for (size_t q = 0; q < full; q++) {
        const float *x0 = x + 2 * q * ldx, *x1 = x0 + ldx;
        uint32_t *yr = y + q * ldy;
        for (size_t j = 0; j < cols; j++)
            yr[j] = round_bits(fbits(x0 + j)) | round_bits(fbits(x1 + j)) << 16;
    }
    if (rows & 1) {
        const float *x0 = x + (rows - 1) * ldx;
        uint32_t *yr = y + full * ldy;
        for (size_t j = 0; j < cols; j++) yr[j] = round_bits(fbits(x0 + j));
    }
}

/* ---- the micro-kernel ------------------------------------------------------ */

static inline vf sign_zero(vf x) { return vi_as_vf(vi_and(vf_as_vi(x), vi_set1(INT32_MIN))); }

/* Denormal lanes -> zero of their sign. */
static inline vf daz(vf x) {
    return vf_select(vf_lt(vf_abs(x), vf_set1(0x1p-126f)), sign_zero(x), x);
}

/* One step on 16 lanes: ftz(fma(x, y, acc)); lanes whose IEEE result is
 * exactly +-2^-126 are marked in *edge (the one case IEEE cannot decide). */
static inline vf step(vf x, vf y, vf acc, vm *edge) {
    const vf r = vf_fma(x, y, acc), a = vf_abs(r), lo = vf_set1(0x1p-126f);
    *edge = vm_or(*edge, vf_eq(a, lo));
    return vf_select(vf_lt(a, lo), sign_zero(r), r);
}

static inline int any(vm m) {
    return vf_reduce_add(vf_select(m, vf_set1(1.0f), vf_zero())) != 0.0f;
}

/* Lanes [0, n) of 16 floats at p (n >= 16: all). */
static inline vf load_n(const float *p, size_t n) {
    return n >= VL ? vf_loadu(p) : vf_load_tail(p, n);
}
static inline void store_n(float *p, vf v, size_t n) {
    if (n >= VL)
        vf_storeu(p, v);
    else
        vf_store_tail(p, v, n);
}

/* The tile, in two variants of one body:
 *   hw == 0: portable (every ISA): operands widened with an explicit DAZ,
 *            every step flushed by step();
 *   hw == 1: x86 only, with the FPU's own DAZ and flush to zero (MXCSR
 *            bits DAZ and FTZ, set by the caller): fma then computes the
 *            instruction's step exactly (inputs flushed, tininess detected
 *            after rounding), so a step is one fma. No edge case is left;
 *            NaN tiles still go to the reference.
 * B is loaded as pair words, 16 columns per vector, widened into its odd
 * (hi) and even (lo) halves once per pair; each row's A pair word is
 * broadcast and widened the same way. nrv: the vectors of columns computed
 * (1 when n <= 16, as the fp32 kernels skip the second zmm of a narrow
 * tile; columns past n are never stored). */
static inline __attribute__((always_inline)) int
tile_body(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs, const uint32_t *b, size_t ldb,
          float *c, size_t ldc, size_t m, size_t n, int accumulate, const int hw,
          const size_t nrv) {
    vf acc[BF16E_MR][BF16E_NRV];
    for (size_t i = 0; i < BF16E_MR; i++)
        for (size_t v = 0; v < nrv; v++) {
            const size_t j0 = v * VL, nv = n > j0 ? n - j0 : 0;
            acc[i][v] = accumulate && i < m && nv ? load_n(c + i * ldc + j0, nv) : vf_zero();
            /* the instruction flushes a denormal accumulator when it first reads it */
            if (!hw && kq > 0) acc[i][v] = daz(acc[i][v]);
        }
    const vi hi_mask = vi_set1((int32_t)0xffff0000u);
    vm edge = vf_lt(vf_zero(), vf_zero()); /* all false */
    for (size_t q = 0; q < kq; q++) {
        vf bh[BF16E_NRV], bl[BF16E_NRV];
        for (size_t v = 0; v < nrv; v++) {
            const vi w = vf_as_vi(vf_loadu((const float *)(const void *)(b + q * ldb + v * VL)));
            bh[v] = vi_as_vf(vi_and(w, hi_mask));
            bl[v] = vi_as_vf(vi_shl16(w));
            if (!hw) {
                bh[v] = daz(bh[v]);
                bl[v] = daz(bl[v]);
            }
        }
        for (size_t i = 0; i < BF16E_MR; i++) {
            const vi aw = vi_set1((int32_t)a[i * a_rs + q * a_cs]);
            vf ah = vi_as_vf(vi_and(aw, hi_mask)), al = vi_as_vf(vi_shl16(aw));
            if (!hw) {
                ah = daz(ah);
                al = daz(al);
            }
            for (size_t v = 0; v < nrv; v++) {
                if (hw) {
                    acc[i][v] = vf_fma(bh[v], ah, acc[i][v]);
                    acc[i][v] = vf_fma(bl[v], al, acc[i][v]);
                } else {
                    acc[i][v] = step(bh[v], ah, acc[i][v], &edge);
                    acc[i][v] = step(bl[v], al, acc[i][v], &edge);
                }
            }
        }
    }
    vm bad = edge;
    for (size_t i = 0; i < BF16E_MR; i++)
        for (size_t v = 0; v < nrv; v++) bad = vm_or(bad, vf_isnan(acc[i][v]));
    if (any(bad)) return 1; /* C untouched: the caller runs the reference */
    for (size_t i = 0; i < m; i++)
        for (size_t v = 0; v < nrv; v++)
            if (n > v * VL) store_n(c + i * ldc + v * VL, acc[i][v], n - v * VL);
    return 0;
}

/* The exact reference for the tile (C still as on entry). */
static void tile_reference(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs,
                           const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                           int accumulate) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            uint32_t s = accumulate ? bf16_bits(c[i * ldc + j]) : 0u;
            for (size_t q = 0; q < kq; q++)
                s = bf16_dp_ref(s, b[q * ldb + j], a[i * a_rs + q * a_cs]);
            c[i * ldc + j] = bf16_f32(s);
        }
}

void KNAME(bf16_gemm_ukr)(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs, const uint32_t *b,
                          size_t ldb, float *c, size_t ldc, size_t m, size_t n, int accumulate) {
    const int bad =
        n > VL ? tile_body(kq, a, a_rs, a_cs, b, ldb, c, ldc, m, n, accumulate, 0, BF16E_NRV)
               : tile_body(kq, a, a_rs, a_cs, b, ldb, c, ldc, m, n, accumulate, 0, 1);
    if (bad) tile_reference(kq, a, a_rs, a_cs, b, ldb, c, ldc, m, n, accumulate);
}

#if BF16E_HAVE_FTZ
/* MXCSR: FTZ bit 15, DAZ bit 6, rounding control bits 13-14 (00: nearest
 * even). The caller's exception masks are kept, and its MXCSR restored
 * before anything else runs (the reference included). */
void KNAME(bf16_gemm_ukr_ftz)(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs,
                              const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t m,
                              size_t n, int accumulate) {
    const unsigned saved = _mm_getcsr();
    _mm_setcsr((saved & ~0x6000u) | 0x8040u);
    const int bad =
        n > VL ? tile_body(kq, a, a_rs, a_cs, b, ldb, c, ldc, m, n, accumulate, 1, BF16E_NRV)
               : tile_body(kq, a, a_rs, a_cs, b, ldb, c, ldc, m, n, accumulate, 1, 1);
    _mm_setcsr(saved);
    if (bad) tile_reference(kq, a, a_rs, a_cs, b, ldb, c, ldc, m, n, accumulate);
}
#endif
