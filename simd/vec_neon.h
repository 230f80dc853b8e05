/* The 16-lane vector API (see vec.h) on AArch64 Advanced SIMD: four q
 * registers per vf (lanes 0-3 in q[0], 4-7 in q[1], ...), four uint32x4_t per
 * vm, four int32x4_t per vi. Every operation matches vec_scalar.h bit for bit;
 * the comments say why where it is not obvious.
 *
 * Rounding and subnormals: Linux starts AArch64 processes with FPCR in
 * round-to-nearest-even, no flush-to-zero, no default-NaN, the same IEEE
 * behaviour as the scalar reference and x86 SSE/AVX with the default MXCSR.
 * FMLA/FMLS, FDIV and FSQRT round once, like fmaf, / and sqrtf. */
#ifndef NERVE_VEC_NEON_H
#define NERVE_VEC_NEON_H

#if !defined(NERVE_ISA_BUILD_NEON)
#error "vec_neon.h belongs to the neon object library"
#endif
#if !defined(__aarch64__)
#error "vec_neon.h needs AArch64 (Advanced SIMD with FMA and FDIV is baseline there)"
#endif

#include <arm_neon.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    float32x4_t q[4];
} vf;
typedef struct {
    uint32x4_t q[4];
} vm;
typedef struct {
    int32x4_t q[4];
} vi;

/* r.q[k] = expr for k = 0..3 (expr uses k_). */
#define VNEON_MAP(r, expr)                                                                         \
    do {                                                                                           \
        for (int k_ = 0; k_ < 4; k_++) {                                                           \
            (r).q[k_] = (expr);                                                                    \
        }                                                                                          \
    } while (0)

static inline vf vf_zero(void) {
    vf r;
    VNEON_MAP(r, vdupq_n_f32(0.0f));
    return r;
}
static inline vf vf_set1(float s) {
    vf r;
    VNEON_MAP(r, vdupq_n_f32(s));
    return r;
}
static inline vf vf_loadu(const float *p) {
    vf r;
    VNEON_MAP(r, vld1q_f32(p + 4 * k_));
    return r;
}
static inline void vf_storeu(float *p, vf a) {
    for (int k = 0; k < 4; k++) vst1q_f32(p + 4 * k, a.q[k]);
}
/* The empty asm makes the compiler hold a in registers. */
static inline vf vf_keep(vf a) {
    __asm__("" : "+w"(a.q[0]), "+w"(a.q[1]), "+w"(a.q[2]), "+w"(a.q[3]));
    return a;
}
/* NEON has no masked load: copy the n valid floats into a zeroed buffer so
 * nothing at or past p + n is read (it may be unmapped). */
static inline vf vf_load_tail(const float *p, size_t n) {
    float buf[16] = {0};
    if (n) memcpy(buf, p, n * sizeof(float));
    return vf_loadu(buf);
}
/* ... and the mirror image: only p[0 .. n-1] are written. */
static inline void vf_store_tail(float *p, vf a, size_t n) {
    float buf[16];
    vf_storeu(buf, a);
    if (n) memcpy(p, buf, n * sizeof(float));
}

static inline vf vf_add(vf a, vf b) {
    vf r;
    VNEON_MAP(r, vaddq_f32(a.q[k_], b.q[k_]));
    return r;
}
static inline vf vf_sub(vf a, vf b) {
    vf r;
    VNEON_MAP(r, vsubq_f32(a.q[k_], b.q[k_]));
    return r;
}
static inline vf vf_mul(vf a, vf b) {
    vf r;
    VNEON_MAP(r, vmulq_f32(a.q[k_], b.q[k_]));
    return r;
}
static inline vf vf_div(vf a, vf b) {
    vf r;
    VNEON_MAP(r, vdivq_f32(a.q[k_], b.q[k_]));
    return r;
}
static inline vf vf_sqrt(vf a) {
    vf r;
    VNEON_MAP(r, vsqrtq_f32(a.q[k_]));
    return r;
}
/* FABS / FNEG only clear / flip the sign bit, like fabsf and unary minus. */
static inline vf vf_abs(vf a) {
    vf r;
    VNEON_MAP(r, vabsq_f32(a.q[k_]));
    return r;
}
static inline vf vf_neg(vf a) {
    vf r;
    VNEON_MAP(r, vnegq_f32(a.q[k_]));
    return r;
}
/* vfmaq_f32(c, a, b) = c + a*b and vfmsq_f32(c, a, b) = c - a*b, one rounding
 * (FMLA / FMLS; FMLS negates the product, i.e. fmaf(-a, b, c)). */
static inline vf vf_fma(vf a, vf b, vf c) {
    vf r;
    VNEON_MAP(r, vfmaq_f32(c.q[k_], a.q[k_], b.q[k_]));
    return r;
}
static inline vf vf_fnma(vf a, vf b, vf c) {
    vf r;
    VNEON_MAP(r, vfmsq_f32(c.q[k_], a.q[k_], b.q[k_]));
    return r;
}
/* Not vmaxq/vminq (FMAX/FMIN return NaN if either input is NaN, and order
 * -0/+0): the definition a > b ? a : b is a compare and a bit select. */
static inline vf vf_max(vf a, vf b) {
    vf r;
    VNEON_MAP(r, vbslq_f32(vcgtq_f32(a.q[k_], b.q[k_]), a.q[k_], b.q[k_]));
    return r;
}
static inline vf vf_min(vf a, vf b) {
    vf r;
    VNEON_MAP(r, vbslq_f32(vcltq_f32(a.q[k_], b.q[k_]), a.q[k_], b.q[k_]));
    return r;
}

/* FCMGT & co. are ordered comparisons: false when either input is NaN. */
static inline vm vf_lt(vf a, vf b) {
    vm r;
    VNEON_MAP(r, vcltq_f32(a.q[k_], b.q[k_]));
    return r;
}
static inline vm vf_le(vf a, vf b) {
    vm r;
    VNEON_MAP(r, vcleq_f32(a.q[k_], b.q[k_]));
    return r;
}
static inline vm vf_gt(vf a, vf b) {
    vm r;
    VNEON_MAP(r, vcgtq_f32(a.q[k_], b.q[k_]));
    return r;
}
static inline vm vf_ge(vf a, vf b) {
    vm r;
    VNEON_MAP(r, vcgeq_f32(a.q[k_], b.q[k_]));
    return r;
}
static inline vm vf_eq(vf a, vf b) {
    vm r;
    VNEON_MAP(r, vceqq_f32(a.q[k_], b.q[k_]));
    return r;
}
/* x != x, i.e. not (x == x). */
static inline vm vf_isnan(vf a) {
    vm r;
    VNEON_MAP(r, vmvnq_u32(vceqq_f32(a.q[k_], a.q[k_])));
    return r;
}
static inline vm vm_and(vm a, vm b) {
    vm r;
    VNEON_MAP(r, vandq_u32(a.q[k_], b.q[k_]));
    return r;
}
static inline vm vm_or(vm a, vm b) {
    vm r;
    VNEON_MAP(r, vorrq_u32(a.q[k_], b.q[k_]));
    return r;
}
/* BIC: a & ~b. */
static inline vm vm_andnot(vm a, vm b) {
    vm r;
    VNEON_MAP(r, vbicq_u32(a.q[k_], b.q[k_]));
    return r;
}
/* Masks are all-ones or all-zeros per lane, so a bitwise select is a lane select. */
static inline vf vf_select(vm m, vf a, vf b) {
    vf r;
    VNEON_MAP(r, vbslq_f32(m.q[k_], a.q[k_], b.q[k_]));
    return r;
}

static inline vi vf_as_vi(vf a) {
    vi r;
    VNEON_MAP(r, vreinterpretq_s32_f32(a.q[k_]));
    return r;
}
static inline vf vi_as_vf(vi a) {
    vf r;
    VNEON_MAP(r, vreinterpretq_f32_s32(a.q[k_]));
    return r;
}
static inline vi vi_set1(int32_t s) {
    vi r;
    VNEON_MAP(r, vdupq_n_s32(s));
    return r;
}
/* Vector integer add/sub wrap around (two's complement), like the scalar
 * reference's unsigned arithmetic. */
static inline vi vi_add(vi a, vi b) {
    vi r;
    VNEON_MAP(r, vaddq_s32(a.q[k_], b.q[k_]));
    return r;
}
static inline vi vi_sub(vi a, vi b) {
    vi r;
    VNEON_MAP(r, vsubq_s32(a.q[k_], b.q[k_]));
    return r;
}
static inline vi vi_and(vi a, vi b) {
    vi r;
    VNEON_MAP(r, vandq_s32(a.q[k_], b.q[k_]));
    return r;
}
static inline vi vi_or(vi a, vi b) {
    vi r;
    VNEON_MAP(r, vorrq_s32(a.q[k_], b.q[k_]));
    return r;
}
/* SHL / SSHR by the immediate 23 (float mantissa width); SSHR is arithmetic.
 * SHL by 16: the low bf16 of a 32-bit pair into float position. */
static inline vi vi_shl23(vi a) {
    vi r;
    VNEON_MAP(r, vshlq_n_s32(a.q[k_], 23));
    return r;
}
static inline vi vi_shl16(vi a) {
    vi r;
    VNEON_MAP(r, vshlq_n_s32(a.q[k_], 16));
    return r;
}
static inline vi vi_sra23(vi a) {
    vi r;
    VNEON_MAP(r, vshrq_n_s32(a.q[k_], 23));
    return r;
}
/* SCVTF rounds to nearest even (FPCR), like the C conversion. */
static inline vf vi_to_vf(vi a) {
    vf r;
    VNEON_MAP(r, vcvtq_f32_s32(a.q[k_]));
    return r;
}
/* FCVTNS: round to nearest, ties to even, like lrintf in the default mode
 * (vcvtq_s32_f32 would truncate). Callers keep |x| < 2^31. */
static inline vi vf_to_vi(vf a) {
    vi r;
    VNEON_MAP(r, vcvtnq_s32_f32(a.q[k_]));
    return r;
}

/* The fixed tree of vec.h: q[0] + q[2] and q[1] + q[3] are t_i = v_i + v_{i+8}
 * for i = 0..3 and 4..7; adding those gives t_i + t_{i+4}; the low and high
 * halves give t_i + t_{i+2}; the last add t_0 + t_1. */
static inline float vf_reduce_add(vf a) {
    float32x4_t t03 = vaddq_f32(a.q[0], a.q[2]);
    float32x4_t t47 = vaddq_f32(a.q[1], a.q[3]);
    float32x4_t t4 = vaddq_f32(t03, t47);
    float32x2_t t2 = vadd_f32(vget_low_f32(t4), vget_high_f32(t4));
    return vget_lane_f32(t2, 0) + vget_lane_f32(t2, 1);
}

#undef VNEON_MAP
#endif
