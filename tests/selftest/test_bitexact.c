/* The reproducibility rule, kernel by kernel: every check of the public
 * self-test (nerve/selftest.h, src/selftest/selftest.c)
 * (every entry of the kernel table over awkward sizes, strides, unaligned
 * pointers and special values) for every table this CPU supports, against
 * the scalar table, bit for bit. The same checks run in `nerve selftest` and
 * in the static tests/selftest program (NEON under qemu). The scalar table
 * is included: against itself it still checks the GEMM micro-kernels against
 * the fma chain of their contract, and that nothing writes out of bounds
 * differently from run to run. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "nerve/selftest.h"
#include "selftest.h"
#include "testutil.h"

typedef struct bitexact_case {
    nerve_isa isa;
    size_t check;
} bitexact_case;

ParameterizedTestParameters(bitexact, kernel_vs_scalar) {
    static bitexact_case cases[NERVE_ISA_COUNT * 64];
    nerve_isa isas[NERVE_ISA_COUNT];
    size_t n_isas = test_supported_isas(isas), n = 0;
    for (size_t i = 0; i < n_isas; i++)
        for (size_t c = 0; c < nerve_selftest_count() && n < sizeof cases / sizeof cases[0]; c++)
            cases[n++] = (bitexact_case){isas[i], c};
    return cr_make_param_array(bitexact_case, cases, n);
}

/* Through the public API, as `nerve selftest` and the qemu program run it. */
ParameterizedTest(bitexact_case *tc, bitexact, kernel_vs_scalar) {
    char msg[512];
    bool passed = false;
    nerve_status st = nerve_selftest_run(tc->check, tc->isa, &passed, msg, sizeof msg);
    cr_assert_eq(st, NERVE_OK, "%s", nerve_last_error());
    cr_assert(passed, "%s %s: %s", nerve_isa_name(tc->isa), nerve_selftest_name(tc->check), msg);
}

/* The case table above must hold every check; the public and internal lists
 * are one. */
Test(bitexact, case_table_holds_every_check) {
    cr_assert_leq(nerve_selftest_count(), 64);
    cr_assert_gt(nerve_selftest_count(), 30);
    cr_assert_eq(nerve_selftest_count(), selftest_count());
    for (size_t c = 0; c < nerve_selftest_count(); c++) {
        cr_assert_not_null(nerve_selftest_name(c));
        cr_assert_str_eq(nerve_selftest_name(c), selftest_name(c));
    }
    cr_assert_null(nerve_selftest_name(nerve_selftest_count()));
    char msg[64];
    cr_assert(!selftest_run(selftest_count(), kernels_for(NERVE_ISA_SCALAR),
                            kernels_for(NERVE_ISA_SCALAR), msg, sizeof msg));
}

/* Bad arguments are errors, never verdicts. */
Test(bitexact, public_api_rejects_bad_arguments) {
    bool passed = true;
    char msg[64];
    cr_assert_eq(nerve_selftest_run(nerve_selftest_count(), NERVE_ISA_SCALAR, &passed, msg,
                                    sizeof msg),
                 NERVE_EINVAL);
    cr_assert(!passed);
    cr_assert_eq(nerve_selftest_run(0, NERVE_ISA_SCALAR, NULL, msg, sizeof msg), NERVE_EINVAL);
    cr_assert_eq(nerve_selftest_run(0, NERVE_ISA_SCALAR, &passed, NULL, 8), NERVE_EINVAL);
    cr_assert_eq(nerve_selftest_run(0, (nerve_isa)NERVE_ISA_COUNT, &passed, msg, sizeof msg),
                 NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "nerve_selftest_run") != NULL, "%s", nerve_last_error());
    /* another architecture's table is never built in */
#if defined(__x86_64__)
    const nerve_isa foreign = NERVE_ISA_NEON;
#else
    const nerve_isa foreign = NERVE_ISA_AVX2;
#endif
    cr_assert(!nerve_isa_built(foreign));
    cr_assert_eq(nerve_selftest_run(0, foreign, &passed, msg, sizeof msg), NERVE_EUNSUPPORTED);
    cr_assert(strstr(nerve_last_error(), "not built") != NULL, "%s", nerve_last_error());
    /* NULL msg with cap 0 is allowed */
    cr_assert_eq(nerve_selftest_run(0, NERVE_ISA_SCALAR, &passed, NULL, 0), NERVE_OK);
    cr_assert(passed);
}

/* nerve info's view of the tables: built in, and the GEMM tile of each. */
Test(bitexact, isa_built_and_gemm_tile) {
    cr_assert(nerve_isa_built(NERVE_ISA_SCALAR));
    cr_assert(!nerve_isa_built((nerve_isa)-1));
    cr_assert(!nerve_isa_built((nerve_isa)NERVE_ISA_COUNT));
    for (int i = 0; i < NERVE_ISA_COUNT; i++) {
        size_t mr = 0, nr = 0;
        const kernel_table *kt = kernels_for((nerve_isa)i);
        nerve_status st = nerve_isa_gemm_tile((nerve_isa)i, &mr, &nr);
        if (kt) {
            cr_assert_eq(st, NERVE_OK);
            cr_assert(nerve_isa_supported((nerve_isa)i));
            cr_assert_eq(mr, kt->mr);
            cr_assert_eq(nr, kt->nr);
        } else {
            cr_assert_eq(st, NERVE_EUNSUPPORTED);
        }
    }
    size_t mr;
    cr_assert_eq(nerve_isa_gemm_tile(NERVE_ISA_SCALAR, &mr, NULL), NERVE_EINVAL);
}

/* A check must be able to fail: a table with one entry swapped reports it. */
static void wrong_relu(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f; /* NaN -> 0: differs */
}
static float wrong_sum(size_t n, const float *x) {
    float s = 0;
    for (size_t i = 0; i < n; i++) s += x[i]; /* sequential: another order */
    return s;
}

Test(bitexact, detects_a_different_kernel) {
    const kernel_table *ref = kernels_for(NERVE_ISA_SCALAR);
    kernel_table bad = *ref;
    bad.act_fwd[ACT_RELU] = wrong_relu;
    bad.sum = wrong_sum;
    char msg[512];
    size_t relu = SIZE_MAX, sum = SIZE_MAX;
    for (size_t c = 0; c < selftest_count(); c++) {
        if (!strcmp(selftest_name(c), "act_fwd.relu")) relu = c;
        if (!strcmp(selftest_name(c), "sum")) sum = c;
    }
    cr_assert_neq(relu, SIZE_MAX);
    cr_assert_neq(sum, SIZE_MAX);
    cr_assert(!selftest_run(relu, ref, &bad, msg, sizeof msg));
    cr_assert(strstr(msg, "y[") != NULL, "%s", msg);
    cr_assert(!selftest_run(sum, ref, &bad, msg, sizeof msg));
    cr_assert(selftest_run(relu, ref, ref, msg, sizeof msg), "%s", msg);
}

/* The bf16 checks fail too: a micro-kernel that takes the pair's even
 * product first, with IEEE's gradual underflow instead of the flush, and a
 * conversion that truncates instead of rounding. */
static void wrong_bf16_ukr(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs,
                           const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                           int accumulate) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float s = accumulate ? c[i * ldc + j] : 0.0f;
            for (size_t q = 0; q < kq; q++) {
                const uint32_t x = b[q * ldb + j], y = a[i * a_rs + q * a_cs];
                s = fmaf(bf16_f32(x << 16), bf16_f32(y << 16), s);
                s = fmaf(bf16_f32(x & 0xffff0000u), bf16_f32(y & 0xffff0000u), s);
            }
            c[i * ldc + j] = s;
        }
}
static void wrong_bf16_cvt(size_t rows, size_t cols, const float *x, size_t ldx, uint32_t *y,
                           size_t ldy) {
    for (size_t i = 0; i < rows; i++)
        for (size_t q = 0; q < (cols + 1) / 2; q++) {
            const uint32_t lo = bf16_bits(x[i * ldx + 2 * q]) >> 16;
            const uint32_t hi = 2 * q + 1 < cols ? bf16_bits(x[i * ldx + 2 * q + 1]) >> 16 : 0;
            y[i * ldy + q] = lo | hi << 16;
        }
}

Test(bitexact, detects_a_different_bf16_kernel) {
    const kernel_table *ref = kernels_for(NERVE_ISA_SCALAR);
    kernel_table bad = *ref;
    bad.gemm_bf16_ukr = wrong_bf16_ukr;
    bad.bf16_cvt_rows = wrong_bf16_cvt;
    size_t ukr = SIZE_MAX, cvt = SIZE_MAX, chain = SIZE_MAX;
    for (size_t c = 0; c < selftest_count(); c++) {
        if (!strcmp(selftest_name(c), "gemm_bf16_ukr")) ukr = c;
        if (!strcmp(selftest_name(c), "bf16_cvt")) cvt = c;
        if (!strcmp(selftest_name(c), "gemm_bf16_chain")) chain = c;
    }
    cr_assert(ukr != SIZE_MAX && cvt != SIZE_MAX && chain != SIZE_MAX);
    char msg[512];
    cr_assert(!selftest_run(ukr, ref, &bad, msg, sizeof msg));
    cr_assert(strstr(msg, "want") != NULL, "%s", msg);
    cr_assert(!selftest_run(cvt, ref, &bad, msg, sizeof msg));
    cr_assert(strstr(msg, "bf16_cvt_rows") != NULL, "%s", msg);
    cr_assert(!selftest_run(chain, ref, &bad, msg, sizeof msg));
    cr_assert(selftest_run(ukr, ref, ref, msg, sizeof msg), "%s", msg);
}
