/* The 16-lane vector API (see vec.h) in portable C: the reference that every
 * other vector header must match bit for bit. Lanes are plain arrays; fmaf is
 * the correctly rounded fused multiply-add of C99. */
#ifndef NERVE_VEC_SCALAR_H
#define NERVE_VEC_SCALAR_H

#ifndef NERVE_ISA_BUILD_SCALAR
#error "vec_scalar.h belongs to the scalar object library"
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    float v[16];
} vf;
typedef struct {
    uint32_t v[16];
} vm;
typedef struct {
    int32_t v[16];
} vi;

#define VEC_MAP1(out, expr)                                                                        \
    do {                                                                                           \
        for (int i_ = 0; i_ < 16; i_++) {                                                          \
            (out).v[i_] = (expr);                                                                  \
        }                                                                                          \
    } while (0)

static inline vf vf_zero(void) {
    vf r;
    VEC_MAP1(r, 0.0f);
    return r;
}
static inline vf vf_set1(float s) {
    vf r;
    VEC_MAP1(r, s);
    return r;
}
static inline vf vf_loadu(const float *p) {
    vf r;
    memcpy(r.v, p, sizeof r.v);
    return r;
}
static inline void vf_storeu(float *p, vf a) { memcpy(p, a.v, sizeof a.v); }
/* Only a hint for the vector headers: nothing to do here. */
static inline vf vf_keep(vf a) { return a; }
static inline vf vf_load_tail(const float *p, size_t n) {
    vf r = vf_zero();
    for (size_t i = 0; i < n; i++) r.v[i] = p[i];
    return r;
}
static inline void vf_store_tail(float *p, vf a, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = a.v[i];
}

static inline vf vf_add(vf a, vf b) {
    vf r;
    VEC_MAP1(r, a.v[i_] + b.v[i_]);
    return r;
}
static inline vf vf_sub(vf a, vf b) {
    vf r;
    VEC_MAP1(r, a.v[i_] - b.v[i_]);
    return r;
}
static inline vf vf_mul(vf a, vf b) {
    vf r;
    VEC_MAP1(r, a.v[i_] * b.v[i_]);
    return r;
}
static inline vf vf_div(vf a, vf b) {
    vf r;
    VEC_MAP1(r, a.v[i_] / b.v[i_]);
    return r;
}
static inline vf vf_sqrt(vf a) {
    vf r;
    VEC_MAP1(r, sqrtf(a.v[i_]));
    return r;
}
static inline vf vf_abs(vf a) {
    vf r;
    VEC_MAP1(r, fabsf(a.v[i_]));
    return r;
}
static inline vf vf_neg(vf a) {
    vf r;
    VEC_MAP1(r, -a.v[i_]);
    return r;
}
static inline vf vf_fma(vf a, vf b, vf c) {
    vf r;
    VEC_MAP1(r, fmaf(a.v[i_], b.v[i_], c.v[i_]));
    return r;
}
static inline vf vf_fnma(vf a, vf b, vf c) {
    vf r;
    VEC_MAP1(r, fmaf(-a.v[i_], b.v[i_], c.v[i_]));
    return r;
}
static inline vf vf_max(vf a, vf b) {
    vf r;
    VEC_MAP1(r, a.v[i_] > b.v[i_] ? a.v[i_] : b.v[i_]);
    return r;
}
static inline vf vf_min(vf a, vf b) {
    vf r;
    VEC_MAP1(r, a.v[i_] < b.v[i_] ? a.v[i_] : b.v[i_]);
    return r;
}

#define VEC_MASK(c) ((c) ? UINT32_MAX : 0u)
static inline vm vf_lt(vf a, vf b) {
    vm r;
    VEC_MAP1(r, VEC_MASK(a.v[i_] < b.v[i_]));
    return r;
}
static inline vm vf_le(vf a, vf b) {
    vm r;
    VEC_MAP1(r, VEC_MASK(a.v[i_] <= b.v[i_]));
    return r;
}
static inline vm vf_gt(vf a, vf b) {
    vm r;
    VEC_MAP1(r, VEC_MASK(a.v[i_] > b.v[i_]));
    return r;
}
static inline vm vf_ge(vf a, vf b) {
    vm r;
    VEC_MAP1(r, VEC_MASK(a.v[i_] >= b.v[i_]));
    return r;
}
static inline vm vf_eq(vf a, vf b) {
    vm r;
    VEC_MAP1(r, VEC_MASK(a.v[i_] == b.v[i_]));
    return r;
}
static inline vm vf_isnan(vf a) {
    vm r;
    VEC_MAP1(r, VEC_MASK(a.v[i_] != a.v[i_]));
    return r;
}
static inline vm vm_and(vm a, vm b) {
    vm r;
    VEC_MAP1(r, a.v[i_] & b.v[i_]);
    return r;
}
static inline vm vm_or(vm a, vm b) {
    vm r;
    VEC_MAP1(r, a.v[i_] | b.v[i_]);
    return r;
}
static inline vm vm_andnot(vm a, vm b) {
    vm r;
    VEC_MAP1(r, a.v[i_] & ~b.v[i_]);
    return r;
}
static inline vf vf_select(vm m, vf a, vf b) {
    vf r;
    VEC_MAP1(r, m.v[i_] ? a.v[i_] : b.v[i_]);
    return r;
}

static inline vi vf_as_vi(vf a) {
    vi r;
    memcpy(r.v, a.v, sizeof r.v);
    return r;
}
static inline vf vi_as_vf(vi a) {
    vf r;
    memcpy(r.v, a.v, sizeof r.v);
    return r;
}
static inline vi vi_set1(int32_t s) {
    vi r;
    VEC_MAP1(r, s);
    return r;
}
/* Two's-complement wrap-around like the SIMD integer units (no UB). */
static inline vi vi_add(vi a, vi b) {
    vi r;
    VEC_MAP1(r, (int32_t)((uint32_t)a.v[i_] + (uint32_t)b.v[i_]));
    return r;
}
static inline vi vi_sub(vi a, vi b) {
    vi r;
    VEC_MAP1(r, (int32_t)((uint32_t)a.v[i_] - (uint32_t)b.v[i_]));
    return r;
}
static inline vi vi_and(vi a, vi b) {
    vi r;
    VEC_MAP1(r, a.v[i_] & b.v[i_]);
    return r;
}
static inline vi vi_or(vi a, vi b) {
    vi r;
    VEC_MAP1(r, a.v[i_] | b.v[i_]);
    return r;
}
static inline vi vi_shl23(vi a) {
    vi r;
    VEC_MAP1(r, (int32_t)((uint32_t)a.v[i_] << 23));
    return r;
}
static inline vi vi_shl16(vi a) {
    vi r;
    VEC_MAP1(r, (int32_t)((uint32_t)a.v[i_] << 16));
    return r;
}
/* Arithmetic shift right, written without relying on implementation-defined >> of negatives. */
static inline vi vi_sra23(vi a) {
    vi r;
    VEC_MAP1(r, a.v[i_] >= 0 ? (a.v[i_] >> 23) : -(int32_t)((~(uint32_t)a.v[i_] >> 23) + 1u));
    return r;
}
static inline vf vi_to_vf(vi a) {
    vf r;
    VEC_MAP1(r, (float)a.v[i_]);
    return r;
}
/* Round to nearest even like cvtps2dq; callers keep |x| < 2^31. */
static inline vi vf_to_vi(vf a) {
    vi r;
    VEC_MAP1(r, (int32_t)lrintf(a.v[i_]));
    return r;
}

static inline float vf_reduce_add(vf a) {
    float t[8];
    for (int i = 0; i < 8; i++) t[i] = a.v[i] + a.v[i + 8];
    for (int i = 0; i < 4; i++) t[i] = t[i] + t[i + 4];
    for (int i = 0; i < 2; i++) t[i] = t[i] + t[i + 2];
    return t[0] + t[1];
}

#undef VEC_MASK
#endif
