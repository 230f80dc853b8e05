/* The 16-lane vector API (see vec.h) on AVX-512: one zmm register per vf and
 * vi, one 16-bit mask register per vm. Every operation matches vec_scalar.h
 * bit for bit; the comments say why where it is not obvious.
 *
 * Only AVX-512F instructions are used (the table additionally requires BW, DQ
 * and VL, which the GEMM micro-kernel may use). */
#ifndef NERVE_VEC_AVX512_H
#define NERVE_VEC_AVX512_H

#if !defined(NERVE_ISA_BUILD_AVX512)
#error "vec_avx512.h belongs to the avx512 object library"
#endif
#if !defined(__AVX512F__) || !defined(__AVX2__) || !defined(__FMA__)
#error "vec_avx512.h needs -mavx512f -mavx2 -mfma (see cmake/NerveIsa.cmake)"
#endif

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

typedef __m512 vf;
typedef __mmask16 vm;
typedef __m512i vi;

/* Lanes 0 .. n-1 set, n <= 16 (computed in 32 bits, so n == 16 is fine). */
static inline __mmask16 vec_tail_mask_(size_t n) { return (__mmask16)((1u << (unsigned)n) - 1u); }

static inline vf vf_zero(void) { return _mm512_setzero_ps(); }
static inline vf vf_set1(float s) { return _mm512_set1_ps(s); }
static inline vf vf_loadu(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_storeu(float *p, vf a) { _mm512_storeu_ps(p, a); }
/* The empty asm makes the compiler hold a in a register: without it GCC
 * folds a load into every fma that uses it (each a memory operand). */
static inline vf vf_keep(vf a) {
    __asm__("" : "+v"(a));
    return a;
}
/* Masked-off lanes are neither read (no fault past p + n) nor kept: zeroed. */
static inline vf vf_load_tail(const float *p, size_t n) {
    return _mm512_maskz_loadu_ps(vec_tail_mask_(n), p);
}
static inline void vf_store_tail(float *p, vf a, size_t n) {
    _mm512_mask_storeu_ps(p, vec_tail_mask_(n), a);
}

static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vf_sqrt(vf a) { return _mm512_sqrt_ps(a); }
/* Sign-bit manipulation, like fabsf / unary minus (NaNs included). */
static inline vf vf_abs(vf a) {
    return _mm512_castsi512_ps(
        _mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
}
static inline vf vf_neg(vf a) {
    return _mm512_castsi512_ps(
        _mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32((int32_t)0x80000000u)));
}
static inline vf vf_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
/* fmaf(-a, b, c): negate a first, then fuse. vfnmadd would give the same
 * number but not the same NaN: it propagates a NaN a without the sign flip.
 * The empty asm hides the negation from the optimizer, which would otherwise
 * fold it into vfnmadd (Clang does). */
static inline vf vf_fnma(vf a, vf b, vf c) {
    vf na = vf_neg(a);
    __asm__("" : "+v"(na));
    return _mm512_fmadd_ps(na, b, c);
}
/* vmaxps(a, b) returns its second operand unless a > b: exactly a > b ? a : b
 * (so b when either is NaN, and b for +0 vs -0). GCC and Clang keep the
 * operand order of this intrinsic unless -ffast-math style flags allow them
 * to treat it as commutative; nerve never uses those. vminps likewise. */
static inline vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm512_min_ps(a, b); }

/* Ordered predicates: false when either operand is NaN, like C's <, <=, ... */
static inline vm vf_lt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline vm vf_le(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
static inline vm vf_gt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline vm vf_ge(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
static inline vm vf_eq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
static inline vm vf_isnan(vf a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
static inline vm vm_and(vm a, vm b) { return _mm512_kand(a, b); }
static inline vm vm_or(vm a, vm b) { return _mm512_kor(a, b); }
/* kandn(x, y) = ~x & y, hence the swapped operands. */
static inline vm vm_andnot(vm a, vm b) { return _mm512_kandn(b, a); }
/* The blend takes its third operand where the mask is set. */
static inline vf vf_select(vm m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); }

static inline vi vf_as_vi(vf a) { return _mm512_castps_si512(a); }
static inline vf vi_as_vf(vi a) { return _mm512_castsi512_ps(a); }
static inline vi vi_set1(int32_t s) { return _mm512_set1_epi32(s); }
static inline vi vi_add(vi a, vi b) { return _mm512_add_epi32(a, b); }
static inline vi vi_sub(vi a, vi b) { return _mm512_sub_epi32(a, b); }
static inline vi vi_and(vi a, vi b) { return _mm512_and_si512(a, b); }
static inline vi vi_or(vi a, vi b) { return _mm512_or_si512(a, b); }
static inline vi vi_shl23(vi a) { return _mm512_slli_epi32(a, 23); }
static inline vi vi_sra23(vi a) { return _mm512_srai_epi32(a, 23); }
static inline vi vi_shl16(vi a) { return _mm512_slli_epi32(a, 16); }
/* Both conversions round by MXCSR, which is round-to-nearest-even unless a
 * program changes it (scalar (float)i and lrintf follow the same mode). */
static inline vf vi_to_vf(vi a) { return _mm512_cvtepi32_ps(a); }
static inline vi vf_to_vi(vf a) { return _mm512_cvtps_epi32(a); }

/* The fixed tree of vec.h: t_i = v_i + v_{i+8} (i < 8); t_i + t_{i+4};
 * t_i + t_{i+2}; t_0 + t_1. */
static inline float vf_reduce_add(vf a) {
    __m256 t8 = _mm256_add_ps(_mm512_castps512_ps256(a),
                              _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    __m128 t4 = _mm_add_ps(_mm256_castps256_ps128(t8), _mm256_extractf128_ps(t8, 1));
    __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
    __m128 t1 = _mm_add_ss(t2, _mm_shuffle_ps(t2, t2, 1));
    return _mm_cvtss_f32(t1);
}

#endif
