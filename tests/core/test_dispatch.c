#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */
/* CPU detection and dispatch: names, capping by NERVE_MAX_ISA and by the API,
 * unknown values. Criterion runs each test in a fresh process, so the
 * one-time initialisation sees the environment each test sets. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/cpu.h"
#include "table.h"

Test(dispatch, names_round_trip) {
    for (int i = 0; i < NERVE_ISA_COUNT; i++) {
        nerve_isa back;
        const char *name = nerve_isa_name((nerve_isa)i);
        cr_assert_eq(nerve_isa_from_name(name, &back), NERVE_OK, "%s", name);
        cr_assert_eq(back, (nerve_isa)i);
    }
    nerve_isa out;
    cr_assert_eq(nerve_isa_from_name("AVX512", &out), NERVE_OK);
    cr_assert_eq(out, NERVE_ISA_AVX512);
    cr_assert_eq(nerve_isa_from_name("sse9", &out), NERVE_EINVAL);
    cr_assert_str_eq(nerve_isa_name((nerve_isa)42), "unknown");
}

Test(dispatch, this_cpu_is_reported_correctly) {
    const nerve_cpu_features *f = nerve_cpu_features_get();
    cr_assert(nerve_isa_supported(NERVE_ISA_SCALAR));
#if defined(__x86_64__)
    cr_assert_not(nerve_isa_supported(NERVE_ISA_NEON));
    /* The compiler's own view of this CPU must agree with cpuid. */
    __builtin_cpu_init();
    cr_assert_eq(f->avx2, !!__builtin_cpu_supports("avx2"));
    cr_assert_eq(f->fma, !!__builtin_cpu_supports("fma"));
    cr_assert_eq(f->avx512f, !!__builtin_cpu_supports("avx512f"));
    cr_assert_eq(f->avx512bw, !!__builtin_cpu_supports("avx512bw"));
    cr_assert_eq(f->avx512vl, !!__builtin_cpu_supports("avx512vl"));
    cr_assert_eq(f->avx512dq, !!__builtin_cpu_supports("avx512dq"));
    /* Every table the library builds for x86 must be usable when cpuid says so. */
    if (f->avx2 && f->fma && f->os_ymm && kernels_for(NERVE_ISA_AVX2) == NULL)
        cr_log_warn("avx2 table not built into this library");
#elif defined(__aarch64__)
    /* NEON (Advanced SIMD) is baseline on AArch64: always there, never an x86 table. */
    cr_assert(f->neon);
    cr_assert(nerve_isa_supported(NERVE_ISA_NEON));
    cr_assert_not(nerve_isa_supported(NERVE_ISA_AVX2));
    cr_assert_not(nerve_isa_supported(NERVE_ISA_AVX512));
    cr_assert_not(f->avx2 || f->avx512f);
#else
    (void)f;
#endif
    /* The active table is the best supported one when nothing caps it. */
    if (!getenv("NERVE_MAX_ISA")) cr_assert_eq(nerve_isa_active(), nerve_isa_best());
    cr_assert(nerve_isa_supported(nerve_isa_best()));
    cr_assert_eq(kernels_active()->isa, nerve_isa_active());
}

Test(dispatch, env_cap_scalar) {
    setenv("NERVE_MAX_ISA", "scalar", 1);
    cr_assert_eq(nerve_isa_active(), NERVE_ISA_SCALAR);
    cr_assert(strstr(nerve_isa_reason(), "NERVE_MAX_ISA=scalar") != NULL, "%s", nerve_isa_reason());
    /* the cap does not hide the other tables from tests and benchmarks */
    cr_assert(nerve_isa_supported(nerve_isa_best()));
}

Test(dispatch, env_cap_never_raises) {
    setenv("NERVE_MAX_ISA", "avx2", 1);
    nerve_isa active = nerve_isa_active();
    nerve_isa best = nerve_isa_best();
#if defined(__x86_64__)
    cr_assert_eq(active, best == NERVE_ISA_SCALAR ? NERVE_ISA_SCALAR : NERVE_ISA_AVX2);
#else
    (void)best;
    cr_assert_eq(active, NERVE_ISA_SCALAR); /* avx2 is not an ISA of this architecture */
#endif
}

Test(dispatch, env_cap_other_architecture) {
#if defined(__x86_64__)
    setenv("NERVE_MAX_ISA", "neon", 1);
#else
    setenv("NERVE_MAX_ISA", "avx512", 1);
#endif
    cr_assert_eq(nerve_isa_active(), NERVE_ISA_SCALAR);
    cr_assert(strstr(nerve_isa_reason(), "not an ISA of this CPU architecture") != NULL, "%s",
              nerve_isa_reason());
}

Test(dispatch, env_unknown_value_is_reported, .init = cr_redirect_stderr) {
    setenv("NERVE_MAX_ISA", "avx1024", 1);
    nerve_isa active = nerve_isa_active();
    cr_assert_eq(active, nerve_isa_best(), "an unknown cap is ignored, not applied");
    cr_assert(strstr(nerve_isa_reason(), "not recognised") != NULL, "%s", nerve_isa_reason());
    fflush(stderr);
    cr_assert_stderr_eq_str("nerve: NERVE_MAX_ISA='avx1024' is not one of scalar, avx2, avx512, "
                            "neon; ignoring it\n");
}

Test(dispatch, verbose_prints_decision_once, .init = cr_redirect_stderr) {
    setenv("NERVE_VERBOSE", "1", 1);
    unsetenv("NERVE_MAX_ISA");
    (void)nerve_isa_active();
    (void)nerve_isa_active();
    fflush(stderr);
    FILE *f = cr_get_redirected_stderr();
    char buf[1024] = {0};
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    cr_assert_gt(got, 0);
    cr_assert(strstr(buf, "using ") != NULL, "%s", buf);
    cr_assert(strstr(buf, nerve_isa_name(nerve_isa_active())) != NULL, "%s", buf);
    cr_assert_null(strstr(strstr(buf, "using ") + 1, "using "), "printed more than once: %s", buf);
}

Test(dispatch, api_cap) {
    unsetenv("NERVE_MAX_ISA");
    nerve_isa best = nerve_isa_best();
    cr_assert_eq(nerve_set_max_isa(NERVE_ISA_SCALAR), NERVE_OK);
    cr_assert_eq(nerve_isa_active(), NERVE_ISA_SCALAR);
    cr_assert_eq(kernels_active(), &kernels_scalar);
    cr_assert_eq(nerve_set_max_isa(best), NERVE_OK);
    cr_assert_eq(nerve_isa_active(), best);
    cr_assert_eq(nerve_set_max_isa((nerve_isa)17), NERVE_EINVAL);
    cr_assert_eq(nerve_isa_active(), best, "a failed call changes nothing");
}
