/* One vector header's operations behind the vec_check_api interface; compiled
 * once per ISA with its flags (tests/vec.cmake), so KNAME(vec_check) becomes
 * vec_check__<isa>. See vec_check.h for what each op computes. */
#include <string.h>

#include "vec.h"
#include "vec_check.h"

static vf ld(const uint32_t *bits) {
    float f[16];
    memcpy(f, bits, sizeof f);
    return vf_loadu(f);
}

static void st(uint32_t *bits, vf v) {
    float f[16];
    vf_storeu(f, v);
    memcpy(bits, f, sizeof f);
}

static void st_mask(uint32_t *bits, vm m) {
    st(bits, vf_select(m, vi_as_vf(vi_set1(-1)), vf_zero()));
}

static vm pos(vf x) { return vf_gt(x, vf_zero()); }

static void apply(int op, const uint32_t *pa, const uint32_t *pb, const uint32_t *pc,
                  uint32_t *out) {
    const vf a = ld(pa), b = ld(pb), c = ld(pc);
    const vi ia = vf_as_vi(a), ib = vf_as_vi(b);
    float a0;
    int32_t i0;
    memcpy(&a0, pa, sizeof a0);
    memcpy(&i0, pa, sizeof i0);
    switch ((vop)op) {
    case VOP_ZERO:
        st(out, vf_zero());
        break;
    case VOP_SET1:
        st(out, vf_set1(a0));
        break;
    case VOP_COPY:
        st(out, a);
        break;
    case VOP_KEEP:
        st(out, vf_keep(a));
        break;
    case VOP_ADD:
        st(out, vf_add(a, b));
        break;
    case VOP_SUB:
        st(out, vf_sub(a, b));
        break;
    case VOP_MUL:
        st(out, vf_mul(a, b));
        break;
    case VOP_DIV:
        st(out, vf_div(a, b));
        break;
    case VOP_SQRT:
        st(out, vf_sqrt(a));
        break;
    case VOP_ABS:
        st(out, vf_abs(a));
        break;
    case VOP_NEG:
        st(out, vf_neg(a));
        break;
    case VOP_FMA:
        st(out, vf_fma(a, b, c));
        break;
    case VOP_FNMA:
        st(out, vf_fnma(a, b, c));
        break;
    case VOP_MAX:
        st(out, vf_max(a, b));
        break;
    case VOP_MIN:
        st(out, vf_min(a, b));
        break;
    case VOP_LT:
        st_mask(out, vf_lt(a, b));
        break;
    case VOP_LE:
        st_mask(out, vf_le(a, b));
        break;
    case VOP_GT:
        st_mask(out, vf_gt(a, b));
        break;
    case VOP_GE:
        st_mask(out, vf_ge(a, b));
        break;
    case VOP_EQ:
        st_mask(out, vf_eq(a, b));
        break;
    case VOP_ISNAN:
        st_mask(out, vf_isnan(a));
        break;
    case VOP_AND:
        st_mask(out, vm_and(pos(a), pos(b)));
        break;
    case VOP_OR:
        st_mask(out, vm_or(pos(a), pos(b)));
        break;
    case VOP_ANDNOT:
        st_mask(out, vm_andnot(pos(a), pos(b)));
        break;
    case VOP_SELECT:
        st(out, vf_select(pos(c), a, b));
        break;
    case VOP_VI_SET1:
        st(out, vi_as_vf(vi_set1(i0)));
        break;
    case VOP_VI_ADD:
        st(out, vi_as_vf(vi_add(ia, ib)));
        break;
    case VOP_VI_SUB:
        st(out, vi_as_vf(vi_sub(ia, ib)));
        break;
    case VOP_VI_AND:
        st(out, vi_as_vf(vi_and(ia, ib)));
        break;
    case VOP_VI_OR:
        st(out, vi_as_vf(vi_or(ia, ib)));
        break;
    case VOP_VI_SHL23:
        st(out, vi_as_vf(vi_shl23(ia)));
        break;
    case VOP_VI_SRA23:
        st(out, vi_as_vf(vi_sra23(ia)));
        break;
    case VOP_VI_TO_VF:
        st(out, vi_to_vf(ia));
        break;
    case VOP_VF_TO_VI:
        st(out, vi_as_vf(vf_to_vi(a)));
        break;
    case VOP_VI_SHL16:
        st(out, vi_as_vf(vi_shl16(ia)));
        break;
    case VOP_COUNT:
        break;
    }
}

static void load_tail(const float *p, size_t n, float *out) { vf_storeu(out, vf_load_tail(p, n)); }
static void store_tail(float *p, const float *v, size_t n) { vf_store_tail(p, vf_loadu(v), n); }
static void copy(const float *src, float *dst) { vf_storeu(dst, vf_loadu(src)); }
static float reduce_add(const float *v) { return vf_reduce_add(vf_loadu(v)); }

const vec_check_api KNAME(vec_check) = {apply, load_tail, store_tail, copy, reduce_add};
