/* Activation kernels, forward and backward, of every ISA this CPU supports,
 * against double-precision references written here (PyTorch's definitions:
 * sigmoid, tanh, relu, leaky_relu 0.01, elu alpha 1, exact gelu, silu,
 * softplus with threshold 20), over dense sweeps, the awkward sizes with
 * unaligned pointers, and special values.
 *
 * Accuracy bound: an element passes when its error is at most 4 ulp of the
 * exact value, or at most 1e-6 relative to the magnitude of the terms that
 * make it up (the "absolute near zero crossings" case: gelu', silu' change
 * sign where two terms cancel). NERVE_ACT_REPORT=1 prints the measured
 * maxima (docs/math.md). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define ULP_BOUND 4.0
#define REL_BOUND 1e-6

/* ---- double-precision references ------------------------------------------ */

static double sig(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
static double ncdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }
static double npdf(double x) { return exp(-0.5 * x * x) / sqrt(2 * 3.14159265358979323846); }
static const double slope = (double)0.01f; /* the float slope the kernel multiplies by */

/* y = f(x); *mag = the magnitude scale for the relative bound */
static double ref_fwd(int act, double x, double *mag) {
    double y;
    switch (act) {
    case ACT_IDENTITY:
        y = x;
        break;
    case ACT_SIGMOID:
        y = sig(x);
        break;
    case ACT_TANH:
        y = tanh(x);
        break;
    case ACT_RELU:
        y = isnan(x) ? x : x < 0 ? 0 : x;
        break;
    case ACT_LEAKY_RELU:
        y = x > 0 ? x : slope * x;
        break;
    case ACT_ELU:
        y = x > 0 ? x : expm1(x);
        break;
    case ACT_GELU:
        y = x * ncdf(x);
        break;
    case ACT_SILU:
        y = x * sig(x);
        break;
    case ACT_SOFTPLUS:
        y = x > 20 ? x : (x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)));
        break;
    default:
        y = NAN;
    }
    *mag = fabs(y);
    return y;
}

/* dx = dy * f'(x) (sigmoid and tanh from the given y, as the kernels and
 * PyTorch compute them); *mag = |dy| * (sum of the magnitudes of f's terms) */
static double ref_bwd(int act, double x, double y, double dy, double *mag) {
    double d, m;
    switch (act) {
    case ACT_IDENTITY:
        d = m = 1;
        break;
    case ACT_SIGMOID:
        d = (1 - y) * y;
        m = fabs(d);
        break;
    case ACT_TANH:
        d = 1 - y * y;
        m = fabs(d);
        break;
    case ACT_RELU:
        d = x <= 0 ? 0 : 1;
        m = d;
        break; /* NaN x: dy (PyTorch) */
    case ACT_LEAKY_RELU:
        d = x > 0 ? 1 : slope;
        m = d;
        break;
    case ACT_ELU:
        d = x > 0 ? 1 : exp(x);
        m = d;
        break;
    case ACT_GELU:
        d = ncdf(x) + x * npdf(x);
        m = ncdf(x) + fabs(x * npdf(x));
        break;
    case ACT_SILU: {
        double s = sig(x), sc = x >= 0 ? sig(-x) : 1 - s;
        d = s * (1 + x * sc);
        m = s * (1 + fabs(x * sc));
        break;
    }
    case ACT_SOFTPLUS:
        d = x > 20 ? 1 : sig(x);
        m = d;
        break;
    default:
        d = m = NAN;
    }
    if (isnan(x) && act != ACT_RELU && act != ACT_IDENTITY && act != ACT_SIGMOID && act != ACT_TANH)
        d = NAN;
    *mag = fabs(dy) * m;
    return dy * d;
}

/* ---- error measure ----------------------------------------------------------- */

static double ulp_of(double r) {
    double a = fabs(r);
    if (a < FLT_MIN) return ldexp(1.0, -149);
    int e;
    frexp(a, &e);
    return ldexp(1.0, e - 24);
}

typedef struct stats {
    double max_ulp, max_rel;
    float worst_x;
} stats;

/* Returns 1 if got is within bounds of ref; updates stats. NaN must match
 * NaN; an infinite reference (after rounding to float) must be matched
 * exactly. */
static int within(float got, double ref, double mag, float x, stats *st) {
    if (isnan(ref) || isnan(got)) return isnan(ref) && isnan(got);
    float rf = (float)ref;
    if (isinf(rf) || isinf(got)) return got == rf;
    double e = fabs((double)got - ref);
    double u = e / ulp_of(ref);
    double rel = mag > 0 ? e / mag : (e == 0 ? 0 : INFINITY);
    if (u > st->max_ulp) {
        st->max_ulp = u;
        st->worst_x = x;
    }
    if (rel > st->max_rel && fabs(ref) >= FLT_MIN) st->max_rel = rel;
    return u <= ULP_BOUND || rel <= REL_BOUND;
}

#define ACT_NAME_(E, name) #name,
static const char *const act_name[ACT_COUNT] = {NERVE_ACT_LIST(ACT_NAME_)};
#undef ACT_NAME_

ParameterizedTestParameters(act, sweep_matches_reference) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

/* Dense sweep: 2^17 points each in [-L, L] for L = 1, 8, 30, 120, in one
 * call per range (long arrays), forward and backward against the
 * references. */
#define SWEEP_N (1u << 17)
ParameterizedTest(nerve_isa *isa, act, sweep_matches_reference) {
    const kernel_table *kt = kernels_for(*isa);
    cr_assert_not_null(kt);
    float *x = malloc(SWEEP_N * sizeof(float)), *y = malloc(SWEEP_N * sizeof(float));
    float *yx = malloc(SWEEP_N * sizeof(float));
    float *dy = malloc(SWEEP_N * sizeof(float)), *dx = malloc(SWEEP_N * sizeof(float));
    cr_assert(x && y && yx && dy && dx);
    const float ranges[] = {1, 8, 30, 120};
    for (int act = 0; act < ACT_COUNT; act++) {
        stats fs = {0}, bs = {0};
        for (size_t r = 0; r < 4; r++) {
            test_fill(x, SWEEP_N, 100 + r + (uint64_t)act * 7, -ranges[r], ranges[r]);
            test_fill(dy, SWEEP_N, 200 + r, -2, 2);
            kt->act_fwd[act](SWEEP_N, x, y);
            for (size_t i = 0; i < SWEEP_N; i++) {
                double mag, want = ref_fwd(act, x[i], &mag);
                cr_assert(within(y[i], want, mag, x[i], &fs), "%s %s fwd(%a) = %a, want %.9g",
                          kt->name, act_name[act], (double)x[i], (double)y[i], want);
            }
            /* backward with y = the correctly rounded forward value */
            for (size_t i = 0; i < SWEEP_N; i++) {
                double mag;
                yx[i] = (float)ref_fwd(act, x[i], &mag);
            }
            kt->act_bwd[act](SWEEP_N, x, yx, dy, dx);
            for (size_t i = 0; i < SWEEP_N; i++) {
                double mag, want = ref_bwd(act, x[i], yx[i], dy[i], &mag);
                cr_assert(within(dx[i], want, mag, x[i], &bs),
                          "%s %s bwd(x=%a, y=%a, dy=%a) = %a, want %.9g", kt->name, act_name[act],
                          (double)x[i], (double)yx[i], (double)dy[i], (double)dx[i], want);
            }
        }
        if (getenv("NERVE_ACT_REPORT"))
            fprintf(
                stderr,
                "%-7s %-10s fwd max %.2f ulp (x=%a) rel %.2g | bwd max %.2f ulp (x=%a) rel %.2g\n",
                kt->name, act_name[act], fs.max_ulp, (double)fs.worst_x, fs.max_rel, bs.max_ulp,
                (double)bs.worst_x, bs.max_rel);
    }
    free(x);
    free(y);
    free(yx);
    free(dy);
    free(dx);
}

/* Special values, every ISA: exact expectations. */
typedef struct sv {
    float x, y;
} sv;

static void expect(const kernel_table *kt, int act, const sv *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float in[17], out[17];
        /* put the value in a full block and in a tail lane: both paths */
        for (int j = 0; j < 17; j++) in[j] = v[i].x;
        kt->act_fwd[act](17, in, out);
        for (int j = 0; j < 17; j++) {
            int ok = isnan(v[i].y) ? isnan(out[j]) : memcmp(&out[j], &v[i].y, 4) == 0;
            cr_assert(ok, "%s %s(%a) = %a, want %a", kt->name, act_name[act], (double)v[i].x,
                      (double)out[j], (double)v[i].y);
        }
    }
}
#define EXPECT(kt, act, ...)                                                                       \
    do {                                                                                           \
        static const sv v_[] = {__VA_ARGS__};                                                      \
        expect(kt, act, v_, sizeof v_ / sizeof v_[0]);                                             \
    } while (0)

ParameterizedTestParameters(act, special_values) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, act, special_values) {
    const kernel_table *kt = kernels_for(*isa);
    const float inf = INFINITY, nan = NAN, tiny = 0x1p-149f;
    EXPECT(kt, ACT_IDENTITY, {-0.0f, -0.0f}, {inf, inf}, {nan, nan});
    EXPECT(kt, ACT_SIGMOID, {0, 0.5f}, {-0.0f, 0.5f}, {inf, 1}, {-inf, 0}, {nan, nan}, {100, 1},
           {-200, 0});
    EXPECT(kt, ACT_TANH, {0, 0}, {-0.0f, -0.0f}, {inf, 1}, {-inf, -1}, {nan, nan}, {tiny, tiny},
           {-tiny, -tiny}, {30, 1});
    EXPECT(kt, ACT_RELU, {0, 0}, {-0.0f, -0.0f}, {-1, 0}, {inf, inf}, {-inf, 0}, {nan, nan});
    EXPECT(kt, ACT_LEAKY_RELU, {2, 2}, {-100, -100 * 0.01f}, {inf, inf}, {-inf, -inf}, {nan, nan});
    EXPECT(kt, ACT_ELU, {0, 0}, {-0.0f, -0.0f}, {3, 3}, {inf, inf}, {-inf, -1}, {-100, -1},
           {nan, nan}, {-tiny, -tiny});
    /* gelu(-inf): the limit -0 (the formula x * Phi(x) would give NaN) */
    EXPECT(kt, ACT_GELU, {0, 0}, {-0.0f, -0.0f}, {inf, inf}, {-inf, -0.0f}, {nan, nan}, {20, 20},
           {-20, -0.0f});
    EXPECT(kt, ACT_SILU, {0, 0}, {-0.0f, -0.0f}, {inf, inf}, {nan, nan}, {-300, -0.0f});
    /* softplus: x above the threshold 20 is returned as is */
    EXPECT(kt, ACT_SOFTPLUS, {20.5f, 20.5f}, {inf, inf}, {-inf, 0}, {nan, nan}, {1e30f, 1e30f},
           {-200, 0});
}

/* Every size (full blocks + tail), unaligned pointers, in place: the
 * elements agree with the same values computed in one long call (lanes are
 * independent), and nothing past n is written. */
ParameterizedTestParameters(act, sizes_and_in_place) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, act, sizes_and_in_place) {
    const kernel_table *kt = kernels_for(*isa);
    for (int act = 0; act < ACT_COUNT; act++)
        for (size_t si = 0; si < test_sizes_count; si++) {
            const size_t n = test_sizes[si];
            float *x = test_alloc(n + 4, 1), *y = test_alloc(n + 4, 3), *dy = test_alloc(n + 4, 2);
            float *dx = test_alloc(n + 4, 5);
            test_fill(x, n, 17 + n, -6, 6);
            test_fill(dy, n, 19 + n, -1, 1);
            for (size_t i = n; i < n + 4; i++) x[i] = y[i] = dy[i] = dx[i] = 1234.5f;
            kt->act_fwd[act](n, x, y);
            kt->act_bwd[act](n, x, y, dy, dx);
            for (size_t i = n; i < n + 4; i++)
                cr_assert(y[i] == 1234.5f && dx[i] == 1234.5f, "%s %s n=%zu wrote past the end",
                          kt->name, act_name[act], n);
            for (size_t i = 0; i < n; i++) {
                float one, d1;
                kt->act_fwd[act](1, &x[i], &one);
                kt->act_bwd[act](1, &x[i], &y[i], &dy[i], &d1);
                cr_assert(memcmp(&one, &y[i], 4) == 0 && memcmp(&d1, &dx[i], 4) == 0,
                          "%s %s n=%zu element %zu depends on its position", kt->name,
                          act_name[act], n, i);
            }
            /* in place */
            float *xi = test_alloc(n + 1, 2), *di = test_alloc(n + 1, 1);
            memcpy(xi, x, n * sizeof(float));
            memcpy(di, dy, n * sizeof(float));
            kt->act_fwd[act](n, xi, xi);
            kt->act_bwd[act](n, x, y, di, di);
            cr_assert_eq(test_first_bit_mismatch(xi, y, n), SIZE_MAX, "%s %s in-place fwd",
                         kt->name, act_name[act]);
            cr_assert_eq(test_first_bit_mismatch(di, dx, n), SIZE_MAX, "%s %s in-place bwd",
                         kt->name, act_name[act]);
            test_free(x);
            test_free(y);
            test_free(dy);
            test_free(dx);
            test_free(xi);
            test_free(di);
        }
}

/* bias + activation on a strided tile (the inference and training
 * epilogues): bit for bit bias_add then act_fwd of the same table, row by
 * row, at every size and a few row counts, with special values among the
 * inputs and the bias; nothing between rows (columns cols .. ldy-1) is read
 * into a result or written. */
ParameterizedTestParameters(act, bias_act_tile) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, act, bias_act_tile) {
    const kernel_table *kt = kernels_for(*isa);
    const size_t rows_list[] = {0, 1, 3, 12, 13};
    const float special[] = {NAN, INFINITY, -INFINITY, -0.0f, 0x1p-149f, -25.0f, 30.0f};
    for (int act = 0; act < ACT_COUNT; act++)
        for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++)
            for (size_t si = 0; si < test_sizes_count; si++) {
                const size_t rows = rows_list[ri], cols = test_sizes[si], ldy = cols + 3;
                const size_t len = rows * ldy + 1;
                float *y = test_alloc(len, 1), *want = malloc(len * sizeof(float));
                float *b = test_alloc(cols + 1, 2);
                test_fill(y, len, 41 + cols + rows, -8, 8);
                test_fill(b, cols, 43 + cols, -2, 2);
                for (size_t i = 0; i < len; i += 7) y[i] = special[i / 7 % 7];
                if (cols > 2) b[cols / 2] = -INFINITY;
                for (size_t r = 0; r < rows; r++) /* gaps between rows: a marker */
                    for (size_t j = cols; j < ldy; j++) y[r * ldy + j] = 1234.5f;
                memcpy(want, y, len * sizeof(float));
                kt->bias_add(rows, cols, want, ldy, b);
                for (size_t r = 0; r < rows; r++)
                    kt->act_fwd[act](cols, want + r * ldy, want + r * ldy);
                kt->bias_act[act](rows, cols, y, ldy, b);
                const size_t at = test_first_bit_mismatch(y, want, len);
                cr_assert_eq(at, SIZE_MAX,
                             "%s bias_%s rows=%zu cols=%zu: element %zu is %a, want %a", kt->name,
                             act_name[act], rows, cols, at, (double)y[at == SIZE_MAX ? 0 : at],
                             (double)want[at == SIZE_MAX ? 0 : at]);
                test_free(y);
                test_free(b);
                free(want);
            }
}

/* Backward special cases that carry PyTorch semantics. */
ParameterizedTestParameters(act, backward_specials) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, act, backward_specials) {
    const kernel_table *kt = kernels_for(*isa);
    const float nan = NAN;
    float x[4], y[4], dy[4] = {3, 3, 3, 3}, dx[4];
    /* relu: x <= 0 gives 0 (also at 0), NaN x passes dy (threshold_backward) */
    x[0] = 0.0f, x[1] = -0.0f, x[2] = nan, x[3] = 2.0f;
    kt->act_fwd[ACT_RELU](4, x, y);
    kt->act_bwd[ACT_RELU](4, x, y, dy, dx);
    cr_assert(dx[0] == 0 && dx[1] == 0 && dx[2] == 3 && dx[3] == 3, "relu bwd %g %g %g %g",
              (double)dx[0], (double)dx[1], (double)dx[2], (double)dx[3]);
    /* softplus: above the threshold the derivative is exactly 1 */
    x[0] = 20.5f, x[1] = 1000.0f, x[2] = -1000.0f, x[3] = nan;
    kt->act_fwd[ACT_SOFTPLUS](4, x, y);
    kt->act_bwd[ACT_SOFTPLUS](4, x, y, dy, dx);
    cr_assert(dx[0] == 3 && dx[1] == 3 && dx[2] == 0 && isnan(dx[3]));
    /* elu: far left the derivative e^x underflows to 0, not (y + 1) rounding */
    x[0] = -20.0f, x[1] = -200.0f, x[2] = 0.0f, x[3] = 1.0f;
    kt->act_fwd[ACT_ELU](4, x, y);
    kt->act_bwd[ACT_ELU](4, x, y, dy, dx);
    cr_assert(fabs((double)dx[0] - 3 * exp(-20.0)) <= 1e-6 * 3 * exp(-20.0) && dx[1] == 0 &&
              dx[2] == 3 && dx[3] == 3);
    /* gelu, silu: NaN x gives NaN */
    x[0] = nan;
    kt->act_bwd[ACT_GELU](1, x, y, dy, dx);
    cr_assert(isnan(dx[0]));
    kt->act_bwd[ACT_SILU](1, x, y, dy, dx);
    cr_assert(isnan(dx[0]));
}

/* act_bwd_from_y (table.h): where it holds, the derivative handed Y for X
 * gives the same bits, at the awkward values (signed zeros, denormals,
 * infinities, NaN) and over a sweep, on every table; training then keeps
 * no Z (src/net/plan.c). Where it does not hold, some value tells them
 * apart (the list is not merely cautious). */
ParameterizedTestParameters(act, backward_from_y) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, act, backward_from_y) {
    const kernel_table *kt = kernels_for(*isa);
    enum { NS = 16, NX = NS + 2000 };
    static const float special[NS] = {0.0f,    -0.0f,    1e-40f,   -1e-40f, FLT_MIN, -FLT_MIN,
                                      1e-30f,  -1e-30f,  1.0f,     -1.0f,   88.0f,   -88.0f,
                                      FLT_MAX, -FLT_MAX, INFINITY, NAN};
    float *x = malloc(NX * 4), *y = malloc(NX * 4), *dy = malloc(NX * 4), *d1 = malloc(NX * 4),
          *d2 = malloc(NX * 4);
    cr_assert(x && y && dy && d1 && d2);
    memcpy(x, special, sizeof special);
    test_fill(x + NS, NX - NS, 41, -12.0f, 12.0f);
    test_fill(dy, NX, 43, -3.0f, 3.0f);
    for (int a = 0; a < ACT_COUNT; a++) {
        kt->act_fwd[a](NX, x, y);
        kt->act_bwd[a](NX, x, y, dy, d1);
        kt->act_bwd[a](NX, y, y, dy, d2);
        const size_t bad = test_first_bit_mismatch(d1, d2, NX);
        if (act_bwd_from_y(a))
            cr_assert_eq(bad, SIZE_MAX, "%s %s: from y differs at x = %a (%a against %a)", kt->name,
                         act_name[a], (double)x[bad], (double)d2[bad], (double)d1[bad]);
        else
            cr_assert_neq(bad, SIZE_MAX, "%s %s: needs x, yet y gave the same bits", kt->name,
                          act_name[a]);
    }
    free(x);
    free(y);
    free(dy);
    free(d1);
    free(d2);
}
