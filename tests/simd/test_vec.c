/* The vector headers (simd/vec_<isa>.h), op by op, for every ISA this CPU can
 * run: each op over special values (signed zeros, subnormals, infinities,
 * quiet and signalling NaNs, rounding ties) and random inputs is compared bit
 * for bit with a reference written here in plain C, and with the scalar
 * header (the library's reference). Tails must not touch memory past p + n
 * (checked against a PROT_NONE guard page) and the horizontal sum must follow
 * the documented tree exactly.
 *
 * NaN payloads: where two or more inputs of an arithmetic op are NaN, which
 * one propagates depends on operand order (which compilers may swap for
 * commutative ops), so any NaN is accepted there; everywhere else the bits
 * must match exactly. */
#define _DEFAULT_SOURCE /* mmap's MAP_ANONYMOUS */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu_internal.h"
#include "vec_check.h"

static const vec_check_api *api_for(nerve_isa isa) {
    switch (isa) {
    case NERVE_ISA_SCALAR:
        return &vec_check__scalar;
#ifdef VEC_CHECK_HAVE_AVX2
    case NERVE_ISA_AVX2:
        return &vec_check__avx2;
#endif
#ifdef VEC_CHECK_HAVE_AVX512
    case NERVE_ISA_AVX512:
        return &vec_check__avx512;
#endif
#ifdef VEC_CHECK_HAVE_NEON
    case NERVE_ISA_NEON:
        return &vec_check__neon;
#endif
    default:
        return NULL;
    }
}

/* Every vector header built into this test whose ISA the CPU can run. */
static size_t vec_isas(nerve_isa *out) {
    size_t n = 0;
    for (int i = 0; i < NERVE_ISA_COUNT; i++)
        if (api_for((nerve_isa)i) && cpu_can_run(nerve_cpu_features_get(), (nerve_isa)i))
            out[n++] = (nerve_isa)i;
    return n;
}

#define VEC_PARAMS(name)                                                                           \
    ParameterizedTestParameters(vec, name) {                                                       \
        static nerve_isa isas[NERVE_ISA_COUNT];                                                    \
        size_t n = vec_isas(isas);                                                                 \
        return cr_make_param_array(nerve_isa, isas, n);                                            \
    }

/* ---- bits <-> values ---------------------------------------------------- */
static float fl(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static int32_t as_int(uint32_t u) {
    int32_t i;
    memcpy(&i, &u, sizeof i);
    return i;
}
static uint32_t ibits(int32_t i) {
    uint32_t u;
    memcpy(&u, &i, sizeof u);
    return u;
}
static int is_nan_bits(uint32_t u) { return (u & 0x7fffffffu) > 0x7f800000u; }
static uint32_t mask(int c) { return c ? 0xffffffffu : 0u; }

/* ---- the reference: one lane of each op, in plain C -------------------- */
static uint32_t ref_lane(int op, uint32_t a, uint32_t b, uint32_t c, uint32_t a0) {
    const float x = fl(a), y = fl(b), z = fl(c);
    switch ((vop)op) {
    case VOP_ZERO:
        return 0;
    case VOP_SET1:
        return a0;
    case VOP_COPY:
    case VOP_KEEP:
        return a;
    case VOP_ADD:
        return bits(x + y);
    case VOP_SUB:
        return bits(x - y);
    case VOP_MUL:
        return bits(x * y);
    case VOP_DIV:
        return bits(x / y);
    case VOP_SQRT:
        return bits(sqrtf(x));
    case VOP_ABS:
        return a & 0x7fffffffu;
    case VOP_NEG:
        return a ^ 0x80000000u;
    case VOP_FMA:
        return bits(fmaf(x, y, z));
    case VOP_FNMA:
        return bits(fmaf(-x, y, z));
    case VOP_MAX:
        return x > y ? a : b;
    case VOP_MIN:
        return x < y ? a : b;
    case VOP_LT:
        return mask(x < y);
    case VOP_LE:
        return mask(x <= y);
    case VOP_GT:
        return mask(x > y);
    case VOP_GE:
        return mask(x >= y);
    case VOP_EQ:
        return mask(x == y);
    case VOP_ISNAN:
        return mask(is_nan_bits(a));
    case VOP_AND:
        return mask(x > 0 && y > 0);
    case VOP_OR:
        return mask(x > 0 || y > 0);
    case VOP_ANDNOT:
        return mask(x > 0 && !(y > 0));
    case VOP_SELECT:
        return z > 0 ? a : b;
    case VOP_VI_SET1:
        return a0;
    case VOP_VI_ADD:
        return a + b;
    case VOP_VI_SUB:
        return a - b;
    case VOP_VI_AND:
        return a & b;
    case VOP_VI_OR:
        return a | b;
    case VOP_VI_SHL23:
        return a << 23;
    /* floor(a / 2^23): the quotient is exact in double */
    case VOP_VI_SRA23:
        return ibits((int32_t)floor((double)as_int(a) / 8388608.0));
    case VOP_VI_TO_VF:
        return bits((float)as_int(a));
    /* rint of the exact double value rounds to nearest even (default mode) */
    case VOP_VF_TO_VI:
        return ibits((int32_t)rint((double)x));
    case VOP_VI_SHL16:
        return a << 16;
    case VOP_COUNT:
        break;
    }
    return 0;
}

static int nan_inputs(int op, uint32_t a, uint32_t b, uint32_t c) {
    int n = is_nan_bits(a);
    if (op != VOP_SQRT) n += is_nan_bits(b);
    if (op == VOP_FMA || op == VOP_FNMA) n += is_nan_bits(c);
    return n;
}

static int same(int op, uint32_t got, uint32_t want, uint32_t a, uint32_t b, uint32_t c) {
    if (got == want) return 1;
    int arith = op >= VOP_ADD && op <= VOP_FNMA && op != VOP_ABS && op != VOP_NEG;
    return arith && nan_inputs(op, a, b, c) >= 2 && is_nan_bits(got) && is_nan_bits(want);
}

/* ---- inputs --------------------------------------------------------------- */
static const uint32_t specials[] = {
    0x00000000, 0x80000000,             /* +0, -0 */
    0x3f800000, 0xbf800000,             /* 1, -1 */
    0x3f000000, 0xbf000000,             /* 0.5, -0.5: ties of vf_to_vi */
    0x3fc00000, 0x40200000, 0xc0200000, /* 1.5, 2.5, -2.5 */
    0x40600000, 0xc0600000,             /* 3.5, -3.5 */
    0x3f800001, 0x3f7fffff,             /* 1 + 2^-23, 1 - 2^-24 */
    0x34000000,                         /* 2^-23 */
    0x4b000000, 0x4b000001, 0xcb000001, /* 2^23, 2^23 + 1, -(2^23 + 1) */
    0x00800000, 0x80800000,             /* +-FLT_MIN */
    0x00000001, 0x80000001,             /* +-smallest subnormal */
    0x007fffff, 0x807fffff,             /* +-largest subnormal */
    0x00400000,                         /* 2^-127 */
    0x7f7fffff, 0xff7fffff,             /* +-FLT_MAX */
    0x7f800000, 0xff800000,             /* +-Inf */
    0x7fc00000, 0xffc00000,             /* +-quiet NaN */
    0x7fc12345, 0xffd0beef,             /* quiet NaNs with payloads */
    0x7f812345,                         /* signalling NaN */
};
#define NSPECIAL (sizeof specials / sizeof specials[0])

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A float of random sign, mantissa and exponent in [2^lo, 2^hi). */
static float rnd_float(uint64_t *s, int lo, int hi) {
    uint64_t r = rng_next(s);
    int e = lo + (int)(r % (uint64_t)(hi - lo));
    float m = 1.0f + (float)((r >> 20) & 0x7fffff) / 8388608.0f;
    return ((r >> 60) & 1 ? -1.0f : 1.0f) * ldexpf(m, e);
}

typedef struct lanes {
    uint32_t *a, *b, *c;
    size_t n, cap;
} lanes;

static void push(lanes *l, uint32_t a, uint32_t b, uint32_t c) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->a = realloc(l->a, l->cap * sizeof(uint32_t));
        l->b = realloc(l->b, l->cap * sizeof(uint32_t));
        l->c = realloc(l->c, l->cap * sizeof(uint32_t));
        cr_assert(l->a && l->b && l->c);
    }
    l->a[l->n] = a;
    l->b[l->n] = b;
    l->c[l->n] = c;
    l->n++;
}

static void lanes_free(lanes *l) {
    free(l->a);
    free(l->b);
    free(l->c);
}

/* Inputs for float ops: all triples of specials (so every pair too), random
 * bit patterns, random values over a wide and a narrow exponent range, and
 * fma cases c = -round(a*b) whose exact result is the rounding error of a*b
 * (zero for an unfused implementation). */
static lanes float_inputs(void) {
    lanes l = {0};
    for (size_t i = 0; i < NSPECIAL; i++)
        for (size_t j = 0; j < NSPECIAL; j++)
            for (size_t k = 0; k < NSPECIAL; k++) push(&l, specials[i], specials[j], specials[k]);
    uint64_t s = 1;
    for (int i = 0; i < 4096; i++)
        push(&l, (uint32_t)rng_next(&s), (uint32_t)rng_next(&s), (uint32_t)rng_next(&s));
    for (int i = 0; i < 4096; i++) {
        float x = rnd_float(&s, -140, 120), y = rnd_float(&s, -140, 120),
              z = rnd_float(&s, -140, 120);
        push(&l, bits(x), bits(y), bits(z));
    }
    for (int i = 0; i < 4096; i++) {
        float x = rnd_float(&s, -4, 4), y = rnd_float(&s, -4, 4);
        push(&l, bits(x), bits(y), bits(-(x * y)));
        push(&l, bits(x), bits(y), bits(rnd_float(&s, -4, 4)));
    }
    return l;
}

/* Inputs of vf_to_vi inside its contract (|x| < 2^31, no NaN): ties k + 0.5,
 * the finite specials, values around 2^23 and just below 2^31, and random
 * values at every magnitude up to 2^31. */
static lanes to_vi_inputs(void) {
    lanes l = {0};
    for (int k = -300; k <= 300; k++) push(&l, bits((float)k + 0.5f), 0, 0);
    for (size_t i = 0; i < NSPECIAL; i++) {
        float x = fl(specials[i]);
        if (fabsf(x) < 2147483648.0f) push(&l, specials[i], 0, 0);
    }
    for (int k = -40; k <= 40; k++) {
        push(&l, bits(8388608.0f + (float)k * 0.5f), 0, 0);
        push(&l, bits(-8388608.0f - (float)k * 0.5f), 0, 0);
    }
    push(&l, bits(2147483520.0f), 0, 0); /* largest float below 2^31 */
    push(&l, bits(-2147483648.0f), 0, 0);
    uint64_t s = 2;
    for (int i = 0; i < 8192; i++) push(&l, bits(rnd_float(&s, -30, 31)), 0, 0);
    return l;
}

/* Inputs of the integer ops: edge integers pairwise, then random bits. */
static lanes int_inputs(void) {
    static const int32_t edge[] = {0,
                                   1,
                                   -1,
                                   2,
                                   -2,
                                   0x7fffffff,
                                   INT32_MIN,
                                   1 << 23,
                                   -(1 << 23),
                                   (1 << 23) - 1,
                                   -(1 << 23) - 1,
                                   (1 << 24) + 1,
                                   255,
                                   -255,
                                   0x12345678,
                                   -0x12345678,
                                   16777217,
                                   0x00ffffff};
    const size_t ne = sizeof edge / sizeof edge[0];
    lanes l = {0};
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j < ne; j++) push(&l, ibits(edge[i]), ibits(edge[j]), 0);
    uint64_t s = 3;
    for (int i = 0; i < 8192; i++) push(&l, (uint32_t)rng_next(&s), (uint32_t)rng_next(&s), 0);
    return l;
}

/* Run `op` over all lanes of `in` in groups of 16 and compare every lane with
 * the reference and, for a non-scalar header, with the scalar header. */
static void check_op(nerve_isa isa, int op, const lanes *in) {
    const vec_check_api *api = api_for(isa);
    for (size_t base = 0; base < in->n; base += 16) {
        uint32_t a[16] = {0}, b[16] = {0}, c[16] = {0}, got[16], sc[16];
        size_t cnt = in->n - base < 16 ? in->n - base : 16;
        memcpy(a, in->a + base, cnt * sizeof(uint32_t));
        memcpy(b, in->b + base, cnt * sizeof(uint32_t));
        memcpy(c, in->c + base, cnt * sizeof(uint32_t));
        api->apply(op, a, b, c, got);
        vec_check__scalar.apply(op, a, b, c, sc);
        for (size_t i = 0; i < 16; i++) {
            uint32_t want = ref_lane(op, a[i], b[i], c[i], a[0]);
            cr_assert(same(op, got[i], want, a[i], b[i], c[i]),
                      "%s %s lane %zu: a=%08x b=%08x c=%08x: got %08x, want %08x",
                      nerve_isa_name(isa), vec_check_op_name((int)op), i, a[i], b[i], c[i], got[i],
                      want);
            cr_assert(same(op, got[i], sc[i], a[i], b[i], c[i]),
                      "%s %s lane %zu: a=%08x b=%08x c=%08x: got %08x, scalar header %08x",
                      nerve_isa_name(isa), vec_check_op_name((int)op), i, a[i], b[i], c[i], got[i],
                      sc[i]);
        }
    }
}

VEC_PARAMS(float_ops)
ParameterizedTest(nerve_isa *isa, vec, float_ops) {
    lanes in = float_inputs();
    for (int op = VOP_ZERO; op <= VOP_SELECT; op++) check_op(*isa, op, &in);
    check_op(*isa, VOP_VI_TO_VF, &in); /* the float bits read as int32 */
    lanes_free(&in);
}

VEC_PARAMS(int_ops)
ParameterizedTest(nerve_isa *isa, vec, int_ops) {
    lanes in = int_inputs();
    for (int op = VOP_VI_SET1; op <= VOP_VI_TO_VF; op++) check_op(*isa, op, &in);
    lanes_free(&in);
}

VEC_PARAMS(to_vi_rounds_to_nearest_even)
ParameterizedTest(nerve_isa *isa, vec, to_vi_rounds_to_nearest_even) {
    /* the reference itself: ties go to the even neighbour */
    cr_assert_eq(as_int(ref_lane(VOP_VF_TO_VI, bits(2.5f), 0, 0, 0)), 2);
    cr_assert_eq(as_int(ref_lane(VOP_VF_TO_VI, bits(-3.5f), 0, 0, 0)), -4);
    lanes in = to_vi_inputs();
    check_op(*isa, VOP_VF_TO_VI, &in);
    lanes_free(&in);
}

/* The reference tree of vec.h, written out. */
static float ref_tree(const float *v) {
    float t[8];
    for (int i = 0; i < 8; i++) t[i] = v[i] + v[i + 8];
    for (int i = 0; i < 4; i++) t[i] = t[i] + t[i + 4];
    for (int i = 0; i < 2; i++) t[i] = t[i] + t[i + 2];
    return t[0] + t[1];
}

VEC_PARAMS(reduce_add_follows_the_tree)
ParameterizedTest(nerve_isa *isa, vec, reduce_add_follows_the_tree) {
    const vec_check_api *api = api_for(*isa);
    uint64_t s = 4;
    int order_matters = 0;
    for (int r = 0; r < 4000; r++) {
        float v[16];
        for (int i = 0; i < 16; i++)
            v[i] = r < 3000 ? rnd_float(&s, -12, 12) : fl(specials[rng_next(&s) % NSPECIAL]);
        float want = ref_tree(v), got = api->reduce_add(v), seq = 0;
        for (int i = 0; i < 16; i++) seq += v[i];
        order_matters += bits(seq) != bits(want);
        cr_assert(bits(got) == bits(want) || (isnan(got) && isnan(want)),
                  "%s vector %d: got %a, tree %a", nerve_isa_name(*isa), r, (double)got,
                  (double)want);
    }
    /* the data can tell a different summation order from the tree */
    cr_assert_gt(order_matters, 1000);
}

VEC_PARAMS(unaligned_load_store)
ParameterizedTest(nerve_isa *isa, vec, unaligned_load_store) {
    const vec_check_api *api = api_for(*isa);
    float src[48], dst[48];
    for (int i = 0; i < 48; i++) src[i] = (float)i - 7.25f;
    for (size_t off = 0; off < 16; off++) {
        for (int i = 0; i < 48; i++) dst[i] = -1.0f;
        api->copy(src + off, dst + 15 - off);
        for (size_t i = 0; i < 48; i++) {
            int inside = i >= 15 - off && i < 31 - off;
            float want = inside ? src[i - (15 - off) + off] : -1.0f;
            cr_assert_eq(bits(dst[i]), bits(want), "%s off %zu index %zu", nerve_isa_name(*isa),
                         off, i);
        }
    }
}

VEC_PARAMS(tails)
ParameterizedTest(nerve_isa *isa, vec, tails) {
    const vec_check_api *api = api_for(*isa);
    const uint32_t sentinel = 0x7fa5a5a5u; /* a signalling NaN nobody writes */
    float src[40], buf[48], out[16];
    for (int i = 0; i < 40; i++) src[i] = i % 5 == 3 ? fl(0x80000000u) : (float)i * -1.5f + 2.0f;
    src[6] = fl(0x7fc12345u);
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n < 16; n++) {
            api->load_tail(src + off, n, out);
            for (size_t i = 0; i < 16; i++) {
                uint32_t want = i < n ? bits(src[off + i]) : 0u; /* +0, not -0 */
                cr_assert_eq(bits(out[i]), want, "%s load_tail off %zu n %zu lane %zu",
                             nerve_isa_name(*isa), off, n, i);
            }
            for (int i = 0; i < 48; i++) buf[i] = fl(sentinel);
            api->store_tail(buf + 8 + off, src, n);
            for (size_t i = 0; i < 48; i++) {
                int inside = i >= 8 + off && i < 8 + off + n;
                uint32_t want = inside ? bits(src[i - 8 - off]) : sentinel;
                cr_assert_eq(bits(buf[i]), want, "%s store_tail off %zu n %zu index %zu",
                             nerve_isa_name(*isa), off, n, i);
            }
        }
}

/* p + n ends exactly at a PROT_NONE page: touching any lane >= n faults
 * (Criterion reports the crash as a failure). */
VEC_PARAMS(tails_never_touch_memory_past_n)
ParameterizedTest(nerve_isa *isa, vec, tails_never_touch_memory_past_n) {
    const vec_check_api *api = api_for(*isa);
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(mem != MAP_FAILED);
    cr_assert_eq(mprotect(mem + page, page, PROT_NONE), 0);
    float *end = (float *)(mem + page), v[16], out[16];
    for (int i = 0; i < 16; i++) v[i] = (float)i + 0.5f;
    for (size_t n = 0; n < 16; n++) {
        float *p = end - n;
        for (size_t i = 0; i < n; i++) p[i] = (float)(100 + i);
        api->load_tail(p, n, out);
        for (size_t i = 0; i < 16; i++)
            cr_assert_eq(bits(out[i]), i < n ? bits((float)(100 + i)) : 0u, "%s n %zu lane %zu",
                         nerve_isa_name(*isa), n, i);
        api->store_tail(p, v, n);
        for (size_t i = 0; i < n; i++) cr_assert_eq(bits(p[i]), bits(v[i]));
    }
    munmap(mem, 2 * page);
}

/* The x86 headers are built into this test on every x86-64 machine; this CPU
 * must run (and so this test check) at least the ones its table needs. */
Test(vec, every_header_this_cpu_runs_is_checked) {
    nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = vec_isas(isas);
    cr_assert_geq(n, 1);
    cr_assert_eq(isas[0], NERVE_ISA_SCALAR);
#if defined(__x86_64__)
    cr_assert(api_for(NERVE_ISA_AVX2) && api_for(NERVE_ISA_AVX512));
    for (int i = 0; i < NERVE_ISA_COUNT; i++)
        if (nerve_isa_supported((nerve_isa)i)) {
            int listed = 0;
            for (size_t j = 0; j < n; j++) listed |= isas[j] == (nerve_isa)i;
            cr_assert(listed, "%s table in use but its header is not checked",
                      nerve_isa_name((nerve_isa)i));
        }
#endif
}
