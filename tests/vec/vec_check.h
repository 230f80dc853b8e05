/* Direct access to one vector header (simd/vec_<isa>.h) for tests/simd/test_vec.c.
 *
 * tests/vec/vec_check.c is compiled once per vector header, with that ISA's
 * compiler flags (tests/vec.cmake), into vec_check__<isa>. The test program
 * itself is compiled without ISA flags and calls these only when the CPU can
 * run the ISA. All data crosses as 16-lane arrays of raw 32-bit patterns. */
#ifndef NERVE_TESTS_VEC_CHECK_H
#define NERVE_TESTS_VEC_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* Lane-wise operations run by vec_check_api.apply. Inputs a, b, c are 16
 * lanes of float bits (int bits for the VOP_VI_* ops and VOP_VI_TO_VF; for
 * VOP_VI_SHL23/SRA23/SHL16 only a is used). Outputs are 16 lanes of bits: a float,
 * an int32, or a mask as 0xffffffff (true) / 0 (false). Mask operands of the
 * mask ops and of select are made with vf_gt(x, 0) from a, b or c. */
typedef enum vop {
    VOP_ZERO, /* vf_zero() */
    VOP_SET1, /* vf_set1(a[0]) */
    VOP_COPY, /* vf_storeu(vf_loadu(a)) */
    VOP_KEEP, /* vf_keep(a) */
    VOP_ADD,
    VOP_SUB,
    VOP_MUL,
    VOP_DIV, /* a op b */
    VOP_SQRT,
    VOP_ABS,
    VOP_NEG,  /* op(a) */
    VOP_FMA,  /* vf_fma(a, b, c) */
    VOP_FNMA, /* vf_fnma(a, b, c) */
    VOP_MAX,
    VOP_MIN,
    VOP_LT,
    VOP_LE,
    VOP_GT,
    VOP_GE,
    VOP_EQ,    /* mask of a op b */
    VOP_ISNAN, /* mask of isnan(a) */
    VOP_AND,
    VOP_OR,
    VOP_ANDNOT,  /* a>0 op b>0 (andnot: (a>0) & ~(b>0)) */
    VOP_SELECT,  /* c>0 ? a : b */
    VOP_VI_SET1, /* vi_set1(a[0]) */
    VOP_VI_ADD,
    VOP_VI_SUB,
    VOP_VI_AND,
    VOP_VI_OR,
    VOP_VI_SHL23,
    VOP_VI_SRA23,
    VOP_VI_TO_VF, /* int32 a -> float */
    VOP_VF_TO_VI, /* float a -> int32, nearest even */
    VOP_VI_SHL16, /* int a << 16 */
    VOP_COUNT
} vop;

/* The vec.h name of an op, for messages (test_vec.c and the self-test's
 * vec_selftest.c); "?" outside [0, VOP_COUNT). Inline, so that the per-ISA
 * vec_check objects, which do not name ops, carry no copy. */
static inline const char *vec_check_op_name(int op) {
    static const char *const names[VOP_COUNT] = {
        "vf_zero", "vf_set1", "copy",      "vf_keep",   "vf_add",   "vf_sub",   "vf_mul",
        "vf_div",  "vf_sqrt", "vf_abs",    "vf_neg",    "vf_fma",   "vf_fnma",  "vf_max",
        "vf_min",  "vf_lt",   "vf_le",     "vf_gt",     "vf_ge",    "vf_eq",    "vf_isnan",
        "vm_and",  "vm_or",   "vm_andnot", "vf_select", "vi_set1",  "vi_add",   "vi_sub",
        "vi_and",  "vi_or",   "vi_shl23",  "vi_sra23",  "vi_to_vf", "vf_to_vi", "vi_shl16",
    };
    _Static_assert(sizeof names / sizeof names[0] == VOP_COUNT, "one name per op");
    return op >= 0 && op < VOP_COUNT ? names[op] : "?";
}

typedef struct vec_check_api {
    void (*apply)(int op, const uint32_t *a, const uint32_t *b, const uint32_t *c, uint32_t *out);
    /* out[0..15] = vf_load_tail(p, n) */
    void (*load_tail)(const float *p, size_t n, float *out);
    /* vf_store_tail(p, vf_loadu(v), n) */
    void (*store_tail)(float *p, const float *v, size_t n);
    /* vf_storeu(dst, vf_loadu(src)) at any alignment */
    void (*copy)(const float *src, float *dst);
    float (*reduce_add)(const float *v);
} vec_check_api;

extern const vec_check_api vec_check__scalar;
extern const vec_check_api vec_check__avx2;
extern const vec_check_api vec_check__avx512;
extern const vec_check_api vec_check__neon;

#endif
