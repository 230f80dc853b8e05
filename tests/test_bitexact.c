/* The reproducibility rule, kernel by kernel: every check of src/selftest.c
 * (every entry of the kernel table over awkward sizes, strides, unaligned
 * pointers and special values) for every table this CPU supports, against
 * the scalar table, bit for bit. The same checks run in `nerve selftest` and
 * in the static tests/selftest program (NEON under qemu). The scalar table
 * is included: against itself it still checks the GEMM micro-kernels against
 * the fma chain of their contract, and that nothing writes out of bounds
 * differently from run to run. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

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
        for (size_t c = 0; c < selftest_count() && n < sizeof cases / sizeof cases[0]; c++)
            cases[n++] = (bitexact_case){isas[i], c};
    return cr_make_param_array(bitexact_case, cases, n);
}

ParameterizedTest(bitexact_case *tc, bitexact, kernel_vs_scalar) {
    const kernels *ref = kernels_for(NERVE_ISA_SCALAR), *kt = kernels_for(tc->isa);
    cr_assert_not_null(ref);
    cr_assert_not_null(kt);
    char msg[512];
    int rc = selftest_run(tc->check, ref, kt, msg, sizeof msg);
    cr_assert_eq(rc, 0, "%s %s: %s", kt->name, selftest_name(tc->check), msg);
}

/* The case table above must hold every check. */
Test(bitexact, case_table_holds_every_check) {
    cr_assert_leq(selftest_count(), 64);
    cr_assert_gt(selftest_count(), 30);
    for (size_t c = 0; c < selftest_count(); c++) cr_assert_not_null(selftest_name(c));
    cr_assert_null(selftest_name(selftest_count()));
    char msg[64];
    cr_assert_neq(selftest_run(selftest_count(), kernels_for(NERVE_ISA_SCALAR),
                               kernels_for(NERVE_ISA_SCALAR), msg, sizeof msg),
                  0);
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
    const kernels *ref = kernels_for(NERVE_ISA_SCALAR);
    kernels bad = *ref;
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
    cr_assert_neq(selftest_run(relu, ref, &bad, msg, sizeof msg), 0);
    cr_assert(strstr(msg, "y[") != NULL, "%s", msg);
    cr_assert_neq(selftest_run(sum, ref, &bad, msg, sizeof msg), 0);
    cr_assert_eq(selftest_run(relu, ref, ref, msg, sizeof msg), 0, "%s", msg);
}
