/* bf16 arithmetic: the reference of simd/bf16.h against values worked out
 * by hand, the AVX512_BF16 hardware against the reference (the experiment
 * that established the reference, kept as a test: it runs wherever the CPU
 * has the instructions), and every table's conversions on every one of the
 * 2^32 float inputs. The tile-by-tile checks of every table's micro-kernel
 * and of the driver are the self-test's ("bf16_cvt", "gemm_bf16_ukr",
 * "gemm_bf16_chain", tests/selftest/test_bitexact.c). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "cpu_internal.h"
#include "rng.h"
#include "table.h"
#include "testutil.h"

/* ---- conversion: values worked out by hand --------------------------------- */

Test(bf16, round_known_values) {
    static const struct {
        uint32_t x;
        uint16_t want;
        const char *why;
    } cases[] = {
        {0x3f800000u, 0x3f80, "1 is exact"},
        {0x3f808000u, 0x3f80, "1 + 2^-8: a tie, kept half even: down"},
        {0x3f818000u, 0x3f82, "1 + 3 2^-8: a tie, kept half odd: up"},
        {0x3f808001u, 0x3f81, "just above a tie: up"},
        {0x3f807fffu, 0x3f80, "just below a tie: down"},
        {0xbf808001u, 0xbf81, "negative: the same on the magnitude"},
        {0x7f7fffffu, 0x7f80, "FLT_MAX rounds up to infinity"},
        {0x7f7f7fffu, 0x7f7f, "below the last tie: the largest bf16"},
        {0x7f800000u, 0x7f80, "+inf"},
        {0xff800000u, 0xff80, "-inf"},
        {0x7f800001u, 0x7fc0, "signalling NaN: quieted, payload truncated"},
        {0xffa12345u, 0xffe1, "negative signalling NaN: quiet bit set, top payload kept"},
        {0x7fffffffu, 0x7fff, "quiet NaN: top half kept (not rounded into the sign)"},
        {0x00000001u, 0x0000, "the smallest denormal: flushed"},
        {0x007fffffu, 0x0000, "the largest denormal: flushed (not rounded up to 2^-126)"},
        {0x80400000u, 0x8000, "a negative denormal: -0"},
        {0x00800000u, 0x0080, "2^-126 is exact"},
        {0x0080ffffu, 0x0081, "above 2^-126: rounds normally"},
        {0x80000000u, 0x8000, "-0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(bf16_round(cases[i].x), cases[i].want, "%08x (%s): got %04x, want %04x",
                     (unsigned)cases[i].x, cases[i].why, (unsigned)bf16_round(cases[i].x),
                     (unsigned)cases[i].want);
}

/* ---- the dot-product step: values worked out by hand ----------------------- */

#define BF(h) ((uint32_t)(h) << 16) /* a bf16 as fp32 bits */

Test(bf16, fma_ref_known_cases) {
    static const struct {
        uint32_t c, x, y, want;
        const char *why;
    } cases[] = {
        {0x3f800000u, BF(0x3f80), BF(0x3380), 0x3f800000u, "1 + 2^-24: tie, to even (1)"},
        {0x3f800000u, BF(0x3fc0), BF(0x3400), 0x3f800002u, "1 + 1.5 2^-23: tie, to even (up)"},
        {0x00800000u, BF(0x0080), BF(0xb380), 0x00000000u,
         "2^-126 - 2^-150: 24-bit rounding leaves it below 2^-126: flushed (IEEE: 2^-126)"},
        {0x00800000u, BF(0x0080), BF(0xb300), 0x00800000u,
         "2^-126 - 2^-151: a 24-bit tie, rounds up to 2^-126 (flushing before rounding: 0)"},
        {0x00800000u, BF(0x0080), BF(0xb400), 0x00000000u,
         "2^-126 - 2^-149: IEEE gives a denormal; flushed"},
        {0x80800000u, BF(0x0080), BF(0x3380), 0x80000000u, "the negative case keeps its sign: -0"},
        {0x00c00000u, BF(0x0080), BF(0xbf80), 0x00000000u, "1.5 2^-126 - 2^-126 = 2^-127: flushed"},
        {0x00800000u, BF(0x0080), BF(0xbf80), 0x00000000u, "2^-126 - 2^-126: exact +0"},
        {0x00400000u, BF(0x3f80), BF(0x0000), 0x00000000u, "a denormal accumulator reads as 0"},
        {0x80400000u, BF(0x3f80), BF(0x0000), 0x00000000u, "-denormal -> -0, + (+0) = +0"},
        {0x3f800000u, BF(0x0040), BF(0x7f00), 0x3f800000u,
         "a denormal bf16 operand reads as 0 (IEEE: 1 + 2^0 = 2)"},
        {0x80000000u, BF(0x8000), BF(0x0000), 0x80000000u, "-0 + (-0 * 0) = -0"},
        {0x80000000u, BF(0x0000), BF(0x0000), 0x00000000u, "-0 + (+0 * 0) = +0"},
        {0x7f000000u, BF(0x7f00), BF(0x4000), 0x7f800000u, "2^127 + 2^128: overflow to +inf"},
        {0x3f800000u, BF(0x7f80), BF(0x0000), BF16_DEFAULT_NAN, "inf * 0: default NaN"},
        {0xff800000u, BF(0x7f80), BF(0x3f80), BF16_DEFAULT_NAN, "inf - inf: default NaN"},
        {0x7f800000u, BF(0x3f80), BF(0x3f80), 0x7f800000u, "inf + 1: inf"},
        {0x7fa00001u, BF(0x7f81), BF(0x7f82), 0x7fc10000u, "NaNs: the first source's, quieted"},
        {0x7fa00001u, BF(0x3f80), BF(0x7f82), 0x7fc20000u, "then the second source's"},
        {0x7fa00001u, BF(0x3f80), BF(0x3f80), 0x7fe00001u, "then the accumulator's"},
        {0x3f800000u, BF(0xffc1), BF(0x7f80), 0xffc10000u, "a NaN beats inf * x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint32_t got = bf16_fma_ref(cases[i].c, cases[i].x, cases[i].y);
        cr_expect_eq(got, cases[i].want, "%s: got %08x, want %08x", cases[i].why, (unsigned)got,
                     (unsigned)cases[i].want);
    }
}

/* The pair: the odd (high) products first. acc = 1, high -1 * 1, low 2^-30 * 1:
 * high first gives (1 - 1) + 2^-30 = 2^-30; low first would give
 * (1 + 2^-30) - 1 = 0 (1 + 2^-30 rounds to 1). */
Test(bf16, dp_ref_takes_the_odd_product_first) {
    const uint32_t x = 0xbf80u << 16 | 0x3080u, y = 0x3f80u << 16 | 0x3f80u;
    cr_assert_eq(bf16_dp_ref(0x3f800000u, x, y), 0x30800000u, "got %08x",
                 (unsigned)bf16_dp_ref(0x3f800000u, x, y));
    /* NaN priority over a pair: first source low beats everything */
    cr_assert_eq(bf16_dp_ref(0x7fa00001u, 0x7f837f84u, 0x7f857f86u), 0x7fc40000u);
}

/* ---- the hardware against the reference ------------------------------------ */

static const kernel_table *native_table(void) {
    const kernel_table *kt = kernels_for(NERVE_ISA_AVX512);
    return kt && !strcmp(kt->bf16_impl, "vdpbf16ps") ? kt : NULL;
}

/* The dispatcher's verdict agrees with the CPU, and the emulated table
 * stays reachable. */
Test(bf16, dispatch_uses_the_instruction_exactly_when_the_cpu_has_it) {
    const nerve_cpu_features *f = nerve_cpu_features_get();
    const kernel_table *avx512 = kernels_for(NERVE_ISA_AVX512);
    cr_assert_str_eq(kernels_for(NERVE_ISA_SCALAR)->bf16_impl, "emulated");
    cr_assert_str_eq(nerve_isa_bf16(NERVE_ISA_SCALAR), "emulated");
    cr_assert_null(nerve_isa_bf16((nerve_isa)NERVE_ISA_COUNT));
    cr_assert_not_null(nerve_bf16_reason());
    if (!avx512) return;
    cr_assert_str_eq(kernels_emulated(NERVE_ISA_AVX512)->bf16_impl, "emulated");
    const char *env = getenv("NERVE_BF16_KERNEL");
    if (f->avx512_bf16 && !(env && !strcmp(env, "emulated"))) {
        cr_assert_not_null(native_table(), "%s", nerve_bf16_reason());
        cr_assert(strstr(nerve_bf16_reason(), "avx512 vdpbf16ps") != NULL, "%s",
                  nerve_bf16_reason());
        cr_assert_eq(native_table()->gemm_ukr, kernels_emulated(NERVE_ISA_AVX512)->gemm_ukr);
    } else {
        cr_assert_null(native_table());
        cr_assert(strstr(nerve_bf16_reason(), "emulated") != NULL, "%s", nerve_bf16_reason());
    }
    /* the x86 tables without vdpbf16ps: the DAZ/FTZ emulation where it passed
     * the start-up check (it does on every CPU seen so far), else the portable one */
    for (nerve_isa isa = NERVE_ISA_AVX2; isa <= NERVE_ISA_AVX512; isa++) {
        const kernel_table *kt = kernels_for(isa);
        if (!kt || !strcmp(kt->bf16_impl, "vdpbf16ps")) continue;
        cr_assert(!strcmp(kt->bf16_impl, "emulated-ftz") || !strcmp(kt->bf16_impl, "emulated"),
                  "%s", kt->bf16_impl);
        if (!strcmp(kt->bf16_impl, "emulated"))
            cr_assert(strstr(nerve_bf16_reason(), "differs") != NULL, "%s", nerve_bf16_reason());
    }
}

/* Random bf16 with every class: mix 0 ordinary, 1 near the bottom of the
 * exponent range, 2 anywhere in it. */
static uint32_t rnd_bf16(uint64_t *s, int mix) {
    const uint64_t r = rng_splitmix64(s);
    const uint32_t sign = (uint32_t)(r & 1) << 15, man = (uint32_t)(r >> 8) & 0x7f;
    switch ((r >> 20) % 16) {
    case 0:
        return sign;
    case 1:
        return sign | 0x7f80;
    case 2:
        return sign | 0x7f80 | (man ? man : 1); /* NaN, quiet or not */
    case 3:
        return sign | man; /* denormal or zero */
    default:
        break;
    }
    const uint32_t e = mix == 0   ? 107 + (uint32_t)((r >> 32) % 40)
                       : mix == 1 ? 1 + (uint32_t)((r >> 32) % 8)
                                  : 1 + (uint32_t)((r >> 32) % 254);
    return sign | e << 7 | man;
}
static uint32_t rnd_f32(uint64_t *s, int mix) {
    const uint64_t r = rng_splitmix64(s);
    const uint32_t sign = (uint32_t)(r & 1) << 31, man = (uint32_t)(r >> 8) & 0x7fffff;
    switch ((r >> 40) % 16) {
    case 0:
        return sign;
    case 1:
        return sign | 0x7f800000u;
    case 2:
        return sign | 0x7f800000u | (man ? man : 1);
    case 3:
        return sign | man;
    default:
        break;
    }
    const uint32_t e = mix == 0   ? 107 + (uint32_t)((r >> 32) % 40)
                       : mix == 1 ? 1 + (uint32_t)((r >> 32) % 24)
                                  : 1 + (uint32_t)((r >> 32) % 254);
    return sign | e << 23 | man;
}

/* Runs one full tile of the native kernel and compares every lane. */
static void native_tile(const kernel_table *kt, size_t kq, const uint32_t *a, const uint32_t *b,
                        const uint32_t *c0, const char *what) {
    const size_t mr = kt->bf16_mr, nr = kt->bf16_nr;
    float c[16 * 32];
    memcpy(c, c0, mr * nr * sizeof *c);
    kt->gemm_bf16_ukr(kq, a, 1, mr, b, nr, c, nr, mr, nr, 1);
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nr; j++) {
            uint32_t s = c0[i * nr + j];
            for (size_t q = 0; q < kq; q++) s = bf16_dp_ref(s, b[q * nr + j], a[q * mr + i]);
            uint32_t got;
            memcpy(&got, &c[i * nr + j], 4);
            if (got != s)
                cr_assert_fail("%s, kq=%zu, element (%zu, %zu): vdpbf16ps %08x, reference %08x "
                               "(acc %08x, B %08x, A %08x)",
                               what, kq, i, j, (unsigned)got, (unsigned)s, (unsigned)c0[i * nr + j],
                               (unsigned)b[j], (unsigned)a[i]);
        }
}

Test(bf16, native_matches_reference_on_random_operands, .timeout = 300) {
    const kernel_table *kt = native_table();
    if (!kt) cr_skip_test("no AVX512_BF16 kernels on this CPU: %s", nerve_bf16_reason());
    cr_assert(kt->bf16_mr <= 16 && kt->bf16_nr <= 32);
    const size_t mr = kt->bf16_mr, nr = kt->bf16_nr;
    uint32_t a[16 * 4], b[4 * 32], c0[16 * 32];
    uint64_t s = 0x0b5e55edu;
    const int rounds = getenv("NERVE_TEST_QUICK") ? 2000 : 20000;
    for (int mix = 0; mix < 3; mix++)
        for (int r = 0; r < rounds; r++) {
            const size_t kq = 1 + (size_t)r % 4;
            for (size_t i = 0; i < mr * kq; i++) a[i] = rnd_bf16(&s, mix) | rnd_bf16(&s, mix) << 16;
            for (size_t i = 0; i < nr * kq; i++) b[i] = rnd_bf16(&s, mix) | rnd_bf16(&s, mix) << 16;
            for (size_t i = 0; i < mr * nr; i++) c0[i] = rnd_f32(&s, mix);
            native_tile(kt, kq, a, b, c0, mix == 0 ? "ordinary" : mix == 1 ? "tiny" : "any");
        }
}

/* Cancellations that land next to 2^-126 from either side, where IEEE's
 * gradual underflow and the instruction's flush part: the accumulator is a
 * small normal, the product of one tiny and one moderate bf16. */
Test(bf16, native_matches_reference_at_the_flush_boundary, .timeout = 300) {
    const kernel_table *kt = native_table();
    if (!kt) cr_skip_test("no AVX512_BF16 kernels on this CPU: %s", nerve_bf16_reason());
    const size_t mr = kt->bf16_mr, nr = kt->bf16_nr;
    uint32_t a[16], b[32], c0[16 * 32];
    uint64_t s = 0xb0a4d4e5u;
    const int rounds = getenv("NERVE_TEST_QUICK") ? 3000 : 30000;
    for (int r = 0; r < rounds; r++) {
        const int hi = r & 1; /* the product in the odd or the even half */
        for (size_t i = 0; i < mr; i++) {
            const uint64_t x = rng_splitmix64(&s);
            const uint32_t v =
                (uint32_t)(((1 + x % 40) << 7) | ((x >> 8) & 0x7f) | ((x >> 16) & 1) << 15);
            a[i] = hi ? v << 16 : v;
        }
        for (size_t j = 0; j < nr; j++) {
            const uint64_t x = rng_splitmix64(&s);
            const uint32_t v =
                (uint32_t)(((107 + x % 40) << 7) | ((x >> 8) & 0x7f) | ((x >> 16) & 1) << 15);
            b[j] = hi ? v << 16 : v;
        }
        for (size_t i = 0; i < mr * nr; i++) {
            const uint64_t x = rng_splitmix64(&s);
            c0[i] = (uint32_t)((1 + x % 3) << 23 | ((x >> 8) & 0x7fffff) | ((x >> 40) & 1) << 31);
        }
        native_tile(kt, 1, a, b, c0, "flush boundary");
    }
}

/* ---- conversions: every float ----------------------------------------------- */

ParameterizedTestParameters(bf16, conversion_of_every_float) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

/* bf16_cvt_rows on all 2^32 bit patterns (every 97th under
 * NERVE_TEST_QUICK and ASan), 64 Ki at a time; on the avx512 table of an
 * AVX512_BF16 CPU this is vcvtne2ps2bf16 itself, and the emulated table too. */
ParameterizedTest(nerve_isa *isa, bf16, conversion_of_every_float, .timeout = 600) {
    enum { CHUNK = 1 << 16 };
    const kernel_table *tabs[2] = {kernels_for(*isa), kernels_emulated(*isa)};
    const int ntab = tabs[1] != tabs[0] ? 2 : 1;
    /* every pattern in the release build; every 97th under NERVE_TEST_QUICK
     * and under AddressSanitizer, which looks for memory errors, not another
     * rounding (the exhaustive run took 4.5-7 minutes there, near ctest's
     * limit) */
#if defined(__SANITIZE_ADDRESS__)
    const uint64_t step = 97;
#else
    const uint64_t step = getenv("NERVE_TEST_QUICK") ? 97 : 1;
#endif
    uint32_t *x = malloc(CHUNK * 4), *y = malloc(CHUNK / 2 * 4);
    cr_assert(x && y);
    for (int t = 0; t < ntab; t++)
        for (uint64_t base = 0; base < (1ull << 32); base += (uint64_t)CHUNK * step) {
            for (uint32_t i = 0; i < CHUNK; i++) x[i] = (uint32_t)(base + (uint64_t)i * step);
            tabs[t]->bf16_cvt_rows(1, CHUNK, (const float *)(const void *)x, CHUNK, y, CHUNK / 2);
            for (uint32_t i = 0; i < CHUNK; i++) {
                const uint16_t got = (uint16_t)(y[i / 2] >> (16 * (i & 1)));
                if (got != bf16_round(x[i]))
                    cr_assert_fail("%s (%s): %08x -> %04x, want %04x", tabs[t]->name,
                                   tabs[t]->bf16_impl, (unsigned)x[i], (unsigned)got,
                                   (unsigned)bf16_round(x[i]));
            }
        }
    free(x);
    free(y);
}

/* ---- the emulation's exact path, directed ------------------------------------ */

ParameterizedTestParameters(bf16, emulation_flush_boundary_in_a_tile) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

/* One element of an otherwise ordinary tile is 2^-126 - 2^-150 (IEEE:
 * exactly 2^-126, the case only the reference decides), another a NaN of
 * the second source: every element must still be the reference's. */
ParameterizedTest(nerve_isa *isa, bf16, emulation_flush_boundary_in_a_tile) {
    const kernel_table *kt = kernels_emulated(*isa);
    const size_t mr = kt->bf16_mr, nr = kt->bf16_nr, kq = 2;
    uint32_t *a = calloc(mr * kq, 4), *b = calloc(nr * kq, 4), *c0 = malloc(mr * nr * 4);
    float *c = malloc(mr * nr * 4);
    cr_assert(a && b && c0 && c);
    for (size_t i = 0; i < mr * kq; i++) a[i] = 0x3f803f80u + (uint32_t)i;       /* ~1 */
    for (size_t i = 0; i < nr * kq; i++) b[i] = 0x3e803e80u + (uint32_t)(3 * i); /* ~1/4 */
    for (size_t i = 0; i < mr * nr; i++) c0[i] = 0x3f000000u + (uint32_t)i;
    /* element (0, 0): pair 0 = (2^-126 * -2^-24) in the odd half, acc 2^-126; pair 1 zero */
    a[0] = 0xb3800000u;
    b[0] = 0x00800000u;
    a[mr] = 0;
    b[nr] = 0;
    c0[0] = 0x00800000u;
    /* element (1, 1): a NaN in A's even half */
    a[1] = 0x3f807f91u;
    memcpy(c, c0, mr * nr * 4);
    kt->gemm_bf16_ukr(kq, a, 1, mr, b, nr, c, nr, mr, nr, 1);
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nr; j++) {
            uint32_t s = c0[i * nr + j], got;
            for (size_t q = 0; q < kq; q++) s = bf16_dp_ref(s, b[q * nr + j], a[q * mr + i]);
            memcpy(&got, &c[i * nr + j], 4);
            cr_expect_eq(got, s, "%s (%zu, %zu): %08x, want %08x", kt->name, i, j, (unsigned)got,
                         (unsigned)s);
        }
    uint32_t e00;
    memcpy(&e00, &c[0], 4);
    cr_assert_eq(e00, 0u, "flushed: got %08x", (unsigned)e00);
    free(a);
    free(b);
    free(c0);
    free(c);
}

/* ---- the start-up check can say no ------------------------------------------- */

/* IEEE arithmetic (gradual underflow, fma's NaN rules) in the instruction's
 * order: right on ordinary values, wrong on the awkward ones. */
static void ieee_ukr(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs, const uint32_t *b,
                     size_t ldb, float *c, size_t ldc, size_t m, size_t n, int accumulate) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float s = accumulate ? c[i * ldc + j] : 0.0f;
            for (size_t q = 0; q < kq; q++) {
                const uint32_t x = b[q * ldb + j], y = a[i * a_rs + q * a_cs];
                s = fmaf(bf16_f32(x & 0xffff0000u), bf16_f32(y & 0xffff0000u), s);
                s = fmaf(bf16_f32(x << 16), bf16_f32(y << 16), s);
            }
            c[i * ldc + j] = s;
        }
}

Test(bf16, startup_check_rejects_ieee_arithmetic) {
    char why[256];
    cr_assert(bf16_ukr_differs(ieee_ukr, 12, 32, why, sizeof why));
    cr_assert(strstr(why, "reference") != NULL, "%s", why);
    /* and accepts the emulation of every table, whatever its tile */
    nerve_isa isas[NERVE_ISA_COUNT];
    for (size_t i = 0, n = test_supported_isas(isas); i < n; i++) {
        const kernel_table *kt = kernels_emulated(isas[i]);
        cr_assert(!bf16_ukr_differs(kt->gemm_bf16_ukr, kt->bf16_mr, kt->bf16_nr, why, sizeof why),
                  "%s: %s", kt->name, why);
    }
}
