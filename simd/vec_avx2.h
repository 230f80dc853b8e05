/* The 16-lane vector API (see vec.h) on AVX2 + FMA: each vf, vm and vi is a
 * pair of ymm registers, lo = lanes 0..7 and hi = lanes 8..15. A vm lane is
 * all ones (true) or all zeros (false), kept as float bits so that it feeds
 * blendv and the bitwise float operations directly. Every operation matches
 * vec_scalar.h bit for bit; the comments say why where it is not obvious. */
#ifndef NERVE_VEC_AVX2_H
#define NERVE_VEC_AVX2_H

#if !defined(NERVE_ISA_BUILD_AVX2)
#error "vec_avx2.h belongs to the avx2 object library"
#endif
#if !defined(__AVX2__) || !defined(__FMA__)
#error "vec_avx2.h needs -mavx2 -mfma (see cmake/NerveIsa.cmake)"
#endif

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    __m256 lo, hi;
} vf;
typedef struct {
    __m256 lo, hi;
} vm;
typedef struct {
    __m256i lo, hi;
} vi;

/* Apply a two-operand ymm intrinsic to both halves. */
#define VEC_AVX2_2(T, f, a, b) ((T){f((a).lo, (b).lo), f((a).hi, (b).hi)})
#define VEC_AVX2_1(T, f, a)    ((T){f((a).lo), f((a).hi)})

/* Per-half load/store masks for a tail of n lanes (n <= 16): lane i of the
 * pair is enabled (sign bit set) when i < n. */
static inline void vec_tail_masks_(size_t n, __m256i *lo, __m256i *hi) {
    const __m256i nn = _mm256_set1_epi32((int32_t)n);
    *lo = _mm256_cmpgt_epi32(nn, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    *hi = _mm256_cmpgt_epi32(nn, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15));
}

static inline vf vf_zero(void) { return (vf){_mm256_setzero_ps(), _mm256_setzero_ps()}; }
static inline vf vf_set1(float s) { return (vf){_mm256_set1_ps(s), _mm256_set1_ps(s)}; }
static inline vf vf_loadu(const float *p) {
    return (vf){_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)};
}
static inline void vf_storeu(float *p, vf a) {
    _mm256_storeu_ps(p, a.lo);
    _mm256_storeu_ps(p + 8, a.hi);
}
/* The empty asm makes the compiler hold a in registers: without it GCC folds
 * a load into every fma that uses it (each a memory operand). */
static inline vf vf_keep(vf a) {
    __asm__("" : "+x"(a.lo), "+x"(a.hi));
    return a;
}
/* vmaskmovps neither reads masked-off lanes (no fault past p + n) nor keeps
 * them: they are zeroed. */
static inline vf vf_load_tail(const float *p, size_t n) {
    __m256i mlo, mhi;
    vec_tail_masks_(n, &mlo, &mhi);
    return (vf){_mm256_maskload_ps(p, mlo), _mm256_maskload_ps(p + 8, mhi)};
}
static inline void vf_store_tail(float *p, vf a, size_t n) {
    __m256i mlo, mhi;
    vec_tail_masks_(n, &mlo, &mhi);
    _mm256_maskstore_ps(p, mlo, a.lo);
    _mm256_maskstore_ps(p + 8, mhi, a.hi);
}

static inline vf vf_add(vf a, vf b) { return VEC_AVX2_2(vf, _mm256_add_ps, a, b); }
static inline vf vf_sub(vf a, vf b) { return VEC_AVX2_2(vf, _mm256_sub_ps, a, b); }
static inline vf vf_mul(vf a, vf b) { return VEC_AVX2_2(vf, _mm256_mul_ps, a, b); }
static inline vf vf_div(vf a, vf b) { return VEC_AVX2_2(vf, _mm256_div_ps, a, b); }
static inline vf vf_sqrt(vf a) { return VEC_AVX2_1(vf, _mm256_sqrt_ps, a); }
/* Sign-bit manipulation, like fabsf / unary minus (NaNs included). */
static inline vf vf_abs(vf a) {
    const __m256 m = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    return (vf){_mm256_and_ps(a.lo, m), _mm256_and_ps(a.hi, m)};
}
static inline vf vf_neg(vf a) {
    const __m256 s = _mm256_castsi256_ps(_mm256_set1_epi32((int32_t)0x80000000u));
    return (vf){_mm256_xor_ps(a.lo, s), _mm256_xor_ps(a.hi, s)};
}
static inline vf vf_fma(vf a, vf b, vf c) {
    return (vf){_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
}
/* fmaf(-a, b, c): negate a first, then fuse. vfnmadd would give the same
 * number but not the same NaN: it propagates a NaN a without the sign flip.
 * The empty asm hides the negation from the optimizer, which would otherwise
 * fold it into vfnmadd (Clang does). */
static inline vf vf_fnma(vf a, vf b, vf c) {
    vf na = vf_neg(a);
    __asm__("" : "+x"(na.lo), "+x"(na.hi));
    return (vf){_mm256_fmadd_ps(na.lo, b.lo, c.lo), _mm256_fmadd_ps(na.hi, b.hi, c.hi)};
}
/* vmaxps(a, b) returns its second operand unless a > b: exactly a > b ? a : b
 * (so b when either is NaN, and b for +0 vs -0). GCC and Clang keep the
 * operand order of this intrinsic unless -ffast-math style flags allow them
 * to treat it as commutative; nerve never uses those. vminps likewise. */
static inline vf vf_max(vf a, vf b) { return VEC_AVX2_2(vf, _mm256_max_ps, a, b); }
static inline vf vf_min(vf a, vf b) { return VEC_AVX2_2(vf, _mm256_min_ps, a, b); }

/* Ordered predicates: false when either operand is NaN, like C's <, <=, ... */
#define VEC_AVX2_CMP(a, b, pred)                                                                   \
    ((vm){_mm256_cmp_ps((a).lo, (b).lo, pred), _mm256_cmp_ps((a).hi, (b).hi, pred)})
static inline vm vf_lt(vf a, vf b) { return VEC_AVX2_CMP(a, b, _CMP_LT_OQ); }
static inline vm vf_le(vf a, vf b) { return VEC_AVX2_CMP(a, b, _CMP_LE_OQ); }
static inline vm vf_gt(vf a, vf b) { return VEC_AVX2_CMP(a, b, _CMP_GT_OQ); }
static inline vm vf_ge(vf a, vf b) { return VEC_AVX2_CMP(a, b, _CMP_GE_OQ); }
static inline vm vf_eq(vf a, vf b) { return VEC_AVX2_CMP(a, b, _CMP_EQ_OQ); }
static inline vm vf_isnan(vf a) { return VEC_AVX2_CMP(a, a, _CMP_UNORD_Q); }
#undef VEC_AVX2_CMP
static inline vm vm_and(vm a, vm b) { return VEC_AVX2_2(vm, _mm256_and_ps, a, b); }
static inline vm vm_or(vm a, vm b) { return VEC_AVX2_2(vm, _mm256_or_ps, a, b); }
/* andnot_ps(x, y) = ~x & y, hence the swapped operands. */
static inline vm vm_andnot(vm a, vm b) {
    return (vm){_mm256_andnot_ps(b.lo, a.lo), _mm256_andnot_ps(b.hi, a.hi)};
}
/* blendv takes its second operand where the mask's sign bit is set. */
static inline vf vf_select(vm m, vf a, vf b) {
    return (vf){_mm256_blendv_ps(b.lo, a.lo, m.lo), _mm256_blendv_ps(b.hi, a.hi, m.hi)};
}

static inline vi vf_as_vi(vf a) { return VEC_AVX2_1(vi, _mm256_castps_si256, a); }
static inline vf vi_as_vf(vi a) { return VEC_AVX2_1(vf, _mm256_castsi256_ps, a); }
static inline vi vi_set1(int32_t s) { return (vi){_mm256_set1_epi32(s), _mm256_set1_epi32(s)}; }
static inline vi vi_add(vi a, vi b) { return VEC_AVX2_2(vi, _mm256_add_epi32, a, b); }
static inline vi vi_sub(vi a, vi b) { return VEC_AVX2_2(vi, _mm256_sub_epi32, a, b); }
static inline vi vi_and(vi a, vi b) { return VEC_AVX2_2(vi, _mm256_and_si256, a, b); }
static inline vi vi_or(vi a, vi b) { return VEC_AVX2_2(vi, _mm256_or_si256, a, b); }
static inline vi vi_shl23(vi a) {
    return (vi){_mm256_slli_epi32(a.lo, 23), _mm256_slli_epi32(a.hi, 23)};
}
static inline vi vi_shl16(vi a) {
    return (vi){_mm256_slli_epi32(a.lo, 16), _mm256_slli_epi32(a.hi, 16)};
}
static inline vi vi_sra23(vi a) {
    return (vi){_mm256_srai_epi32(a.lo, 23), _mm256_srai_epi32(a.hi, 23)};
}
/* Both conversions round by MXCSR, which is round-to-nearest-even unless a
 * program changes it (scalar (float)i and lrintf follow the same mode). */
static inline vf vi_to_vf(vi a) { return VEC_AVX2_1(vf, _mm256_cvtepi32_ps, a); }
static inline vi vf_to_vi(vf a) { return VEC_AVX2_1(vi, _mm256_cvtps_epi32, a); }

/* The fixed tree of vec.h: t_i = v_i + v_{i+8} (i < 8) is lo + hi; then
 * t_i + t_{i+4}; t_i + t_{i+2}; t_0 + t_1. */
static inline float vf_reduce_add(vf a) {
    __m256 t8 = _mm256_add_ps(a.lo, a.hi);
    __m128 t4 = _mm_add_ps(_mm256_castps256_ps128(t8), _mm256_extractf128_ps(t8, 1));
    __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
    __m128 t1 = _mm_add_ss(t2, _mm_shuffle_ps(t2, t2, 1));
    return _mm_cvtss_f32(t1);
}

#undef VEC_AVX2_1
#undef VEC_AVX2_2
#endif
