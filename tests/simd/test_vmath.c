/* simd/vmath.h: every vector transcendental against double-precision libm
 * over a dense sweep of float inputs (every STEP-th float of the range, by
 * bit pattern, so all binades are covered evenly), plus special values.
 *
 * vmath.h is instantiated here with the scalar vector header: the per-ISA
 * builds compute the same bits (checked through the kernels in
 * test_bitexact.c), so the accuracy measured here holds for every ISA.
 *
 * NERVE_VMATH_STEP=k sweeps every k-th float (default 127, or 2039 in
 * unoptimized / sanitizer builds, where the scalar vectors are slow);
 * NERVE_VMATH_STEP=1 is the exhaustive run recorded in docs/math.md. NERVE_VMATH_REPORT=1
 * prints the measured maxima. */
#define NERVE_ISA_BUILD        scalar
#define NERVE_ISA_BUILD_SCALAR 1
#include "vmath.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- error measure --------------------------------------------------------- */

/* The float ulp at the magnitude of the exact value r (subnormal spacing below
 * FLT_MIN). */
static double ulp_of(double r) {
    double a = fabs(r);
    if (a < FLT_MIN) return ldexp(1.0, -149);
    int e;
    frexp(a, &e); /* a = f * 2^e, f in [0.5, 1) */
    return ldexp(1.0, e - 24);
}

typedef struct err_stats {
    double max_ulp, max_rel;
    float worst_x; /* input of max_ulp */
    uint64_t points;
    uint64_t bad; /* special-case mismatches (NaN/inf disagreement) */
    float bad_x;
} err_stats;

/* Records the error of `got` against the exact value `ref`. Infinite or NaN
 * references (and results) must match exactly; a float result that overflows
 * where the correctly rounded one does not counts as a mismatch. */
static void record(err_stats *st, float x, float got, double ref) {
    st->points++;
    float rf = (float)ref;
    if (isnan(ref) || isinf(rf) || isnan(got) || isinf(got)) {
        int ok = (isnan(ref) && isnan(got)) || (isinf(rf) && got == rf);
        if (!ok) {
            if (!st->bad) st->bad_x = x;
            st->bad++;
        }
        return;
    }
    double e = fabs((double)got - ref);
    double u = e / ulp_of(ref);
    double rel = ref != 0 ? e / fabs(ref) : (got == 0 ? 0 : INFINITY);
    if (u > st->max_ulp) {
        st->max_ulp = u;
        st->worst_x = x;
    }
    if (rel > st->max_rel && fabs(ref) >= FLT_MIN) st->max_rel = rel;
}

/* ---- sweeps --------------------------------------------------------------- */

typedef vf (*vfn)(vf);
typedef double (*dfn)(double);

static uint64_t sweep_step(void) {
    const char *s = getenv("NERVE_VMATH_STEP");
    long v = s ? strtol(s, NULL, 10) : 0;
    /* primes, so that all low mantissa bit patterns occur */
#if !defined(__OPTIMIZE__) || defined(__SANITIZE_ADDRESS__)
    return v >= 1 ? (uint64_t)v : 2039;
#else
    return v >= 1 ? (uint64_t)v : 127;
#endif
}

/* Monotone map float <-> integer (negative floats below positive ones). */
static int64_t f2ord(float f) {
    int32_t i;
    memcpy(&i, &f, 4);
    return i < 0 ? -(int64_t)(i & 0x7fffffff) : (int64_t)i;
}
static float ord2f(int64_t o) {
    int32_t i = o < 0 ? (int32_t)((uint32_t)(-o) | 0x80000000u) : (int32_t)o;
    float f;
    memcpy(&f, &i, 4);
    return f;
}

static void eval16(vfn f, dfn ref, const float *xs, size_t cnt, err_stats *st) {
    vf y = f(vf_load_tail(xs, cnt));
    float out[16];
    vf_storeu(out, y);
    for (size_t i = 0; i < cnt; i++) record(st, xs[i], out[i], ref((double)xs[i]));
}

/* Every step-th float in [lo, hi] plus both end points. */
static err_stats sweep(vfn f, dfn ref, float lo, float hi) {
    err_stats st = {0};
    const uint64_t step = sweep_step();
    float buf[16];
    size_t cnt = 0;
    const int64_t a = f2ord(lo), b = f2ord(hi);
    for (int64_t o = a; o <= b; o += (int64_t)step) {
        buf[cnt++] = ord2f(o);
        if (cnt == 16) {
            eval16(f, ref, buf, cnt, &st);
            cnt = 0;
        }
    }
    buf[cnt++] = hi;
    eval16(f, ref, buf, cnt, &st);
    return st;
}

static void report(const char *name, const char *range, err_stats st) {
    if (getenv("NERVE_VMATH_REPORT"))
        fprintf(stderr, "%-8s %-22s points %10llu  max %.3f ulp (at %a)  max rel %.3g\n", name,
                range, (unsigned long long)st.points, st.max_ulp, (double)st.worst_x, st.max_rel);
}

#define CHECK_SWEEP(name, f, ref, lo, hi, bound)                                                   \
    do {                                                                                           \
        err_stats st_ = sweep(f, ref, lo, hi);                                                     \
        report(name, #lo " .. " #hi, st_);                                                         \
        cr_assert_eq(st_.bad, 0, "%s: %llu special-value mismatches, first at x = %a", name,       \
                     (unsigned long long)st_.bad, (double)st_.bad_x);                              \
        cr_assert(st_.max_ulp <= (bound), "%s: max error %.3f ulp at x = %a (bound %g)", name,     \
                  st_.max_ulp, (double)st_.worst_x, (double)(bound));                              \
    } while (0)

/* Exact values in double (libm's double functions are accurate to < 1 ulp
 * of double, i.e. far below a float ulp). */
static double ref_sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
static double ref_ncdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* ---- tests ----------------------------------------------------------------- */

Test(vmath, exp) {
    /* results from 0 (below -103.97) through subnormals to overflow (above 88.72) */
    CHECK_SWEEP("exp", vx_exp, exp, -110.0f, 100.0f, 2.0);
}

Test(vmath, exp_mul_tiny_results_round_once) {
    /* m * e^x with results deep in the subnormal range: one rounding */
    err_stats st = {0};
    for (int i = 0; i < 4000; i++) {
        float x = -90.0f - 0.005f * (float)i, m = 1.0f + 0.37f * (float)(i % 40);
        float out[16];
        vf_storeu(out, vx_exp_mul(vf_set1(x), vf_set1(m)));
        record(&st, x, out[0], (double)m * exp((double)x));
    }
    report("exp_mul", "[-110, -90] x [1, 15]", st);
    cr_assert_eq(st.bad, 0);
    cr_assert(st.max_ulp <= 2.0, "max %.3f ulp at %a", st.max_ulp, (double)st.worst_x);
}

Test(vmath, expm1) { CHECK_SWEEP("expm1", vx_expm1, expm1, -40.0f, 88.0f, 2.0); }

Test(vmath, log) { CHECK_SWEEP("log", vx_log, log, 0x1p-149f, FLT_MAX, 2.0); }

Test(vmath, log1p) { CHECK_SWEEP("log1p", vx_log1p, log1p, -0x1.fffffep-1f, FLT_MAX, 2.0); }

Test(vmath, tanh) { CHECK_SWEEP("tanh", vx_tanh, tanh, -20.0f, 20.0f, 3.0); }

Test(vmath, sigmoid) { CHECK_SWEEP("sigmoid", vx_sigmoid, ref_sigmoid, -110.0f, 110.0f, 3.0); }

Test(vmath, ncdf) { CHECK_SWEEP("ncdf", vx_ncdf, ref_ncdf, -16.0f, 16.0f, 5.0); }

Test(vmath, erf) { CHECK_SWEEP("erf", vx_erf, erf, -12.0f, 12.0f, 4.0); }

/* Special values: NaN passes through unchanged (same bits), infinities and
 * signed zeros as the C functions define them. */
typedef struct special {
    float x, want;
} special;

static void check_specials(const char *name, vfn f, const special *sp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float out[16];
        vf_storeu(out, f(vf_set1(sp[i].x)));
        int ok = isnan(sp[i].want) ? isnan(out[0]) : memcmp(&out[0], &sp[i].want, 4) == 0;
        cr_assert(ok, "%s(%a) = %a, want %a", name, (double)sp[i].x, (double)out[0],
                  (double)sp[i].want);
    }
    /* a NaN input comes back bit for bit (payload and sign) */
    const uint32_t nans[] = {0x7fc00000u, 0xffc00000u, 0x7fc12345u};
    for (size_t i = 0; i < 3; i++) {
        float x, out[16];
        memcpy(&x, &nans[i], 4);
        vf_storeu(out, f(vf_set1(x)));
        cr_assert_eq(memcmp(&out[0], &x, 4), 0, "%s(NaN %08x) changed the NaN", name, nans[i]);
    }
}

#define SPECIALS(name, f, ...)                                                                     \
    do {                                                                                           \
        static const special sp_[] = {__VA_ARGS__};                                                \
        check_specials(name, f, sp_, sizeof sp_ / sizeof sp_[0]);                                  \
    } while (0)

Test(vmath, special_values) {
    SPECIALS("exp", vx_exp, {0.0f, 1.0f}, {-0.0f, 1.0f}, {INFINITY, INFINITY}, {-INFINITY, 0.0f},
             {89.0f, INFINITY}, {-104.0f, 0.0f}, {1e30f, INFINITY}, {-1e30f, 0.0f});
    SPECIALS("expm1", vx_expm1, {0.0f, 0.0f}, {-0.0f, -0.0f}, {-INFINITY, -1.0f},
             {0x1p-149f, 0x1p-149f}, {-0x1p-140f, -0x1p-140f});
    SPECIALS("log", vx_log, {1.0f, 0.0f}, {0.0f, -INFINITY}, {-0.0f, -INFINITY}, {-1.0f, NAN},
             {-INFINITY, NAN}, {INFINITY, INFINITY});
    SPECIALS("log1p", vx_log1p, {0.0f, 0.0f}, {-0.0f, -0.0f}, {-1.0f, -INFINITY}, {-2.0f, NAN},
             {INFINITY, INFINITY}, {0x1p-149f, 0x1p-149f});
    SPECIALS("tanh", vx_tanh, {0.0f, 0.0f}, {-0.0f, -0.0f}, {INFINITY, 1.0f}, {-INFINITY, -1.0f},
             {0x1p-149f, 0x1p-149f}, {-0x1p-130f, -0x1p-130f});
    SPECIALS("sigmoid", vx_sigmoid, {0.0f, 0.5f}, {-0.0f, 0.5f}, {INFINITY, 1.0f},
             {-INFINITY, 0.0f});
    SPECIALS("ncdf", vx_ncdf, {0.0f, 0.5f}, {INFINITY, 1.0f}, {-INFINITY, 0.0f});
    SPECIALS("erf", vx_erf, {0.0f, 0.0f}, {-0.0f, -0.0f}, {INFINITY, 1.0f}, {-INFINITY, -1.0f});
}

/* Lanes are independent: a vector mixing special and ordinary values gives
 * each lane what it gives alone. */
Test(vmath, lanes_independent) {
    const vfn fs[] = {vx_exp, vx_expm1, vx_log, vx_log1p, vx_tanh, vx_sigmoid, vx_ncdf, vx_erf};
    float xs[16] = {0.5f,   NAN,     INFINITY, -INFINITY, 0.0f,     -0.0f, 1e-40f, -3.0f,
                    100.0f, -100.0f, 2.0f,     FLT_MAX,   -FLT_MAX, 0.1f,  -0.7f,  7.0f};
    for (size_t k = 0; k < sizeof fs / sizeof fs[0]; k++) {
        float all[16];
        vf_storeu(all, fs[k](vf_loadu(xs)));
        for (int i = 0; i < 16; i++) {
            float one[16];
            vf_storeu(one, fs[k](vf_set1(xs[i])));
            cr_assert_eq(memcmp(&one[0], &all[i], 4), 0, "function %zu lane %d", k, i);
        }
    }
}
