/* Reductions and BLAS-1 kernels (sum, dot, colsum, axpby, bias_add) of every
 * ISA this CPU supports: against double precision with the forward error
 * bound of the summation, and bit for bit against the summation order that
 * table.h / simd/generic/reduce.c document, re-implemented here in plain C. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define EPS 0x1p-24 /* unit roundoff of float */

/* The documented order of sum/dot: four 16-lane accumulators take the
 * consecutive 16-blocks of every 64-element group; leftover full blocks go to
 * accumulators 0, 1, 2 in turn, the zero-padded tail block to accumulator 3;
 * then (a0 + a1) + (a2 + a3) lane-wise and the fixed tree over 16 lanes
 * (t_i = v_i + v_{i+8}; t_i += t_{i+4}; t_i += t_{i+2}; t_0 + t_1). */
static float tree16(const float *v) {
    float t[8];
    for (int i = 0; i < 8; i++) t[i] = v[i] + v[i + 8];
    for (int i = 0; i < 4; i++) t[i] = t[i] + t[i + 4];
    for (int i = 0; i < 2; i++) t[i] = t[i] + t[i + 2];
    return t[0] + t[1];
}

static float ordered(size_t n, const float *x, const float *y) {
    float a[4][16] = {{0}};
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int b = 0; b < 4; b++)
            for (int l = 0; l < 16; l++) {
                size_t k = i + (size_t)b * 16 + (size_t)l;
                a[b][l] = y ? fmaf(x[k], y[k], a[b][l]) : a[b][l] + x[k];
            }
    for (int b = 0; i + 16 <= n; i += 16, b++)
        for (int l = 0; l < 16; l++)
            a[b][l] = y ? fmaf(x[i + l], y[i + l], a[b][l]) : a[b][l] + x[i + l];
    if (i < n)
        for (int l = 0; l < 16; l++) {
            float xv = i + l < n ? x[i + l] : 0.0f, yv = y && i + l < n ? y[i + l] : 0.0f;
            a[3][l] = y ? fmaf(xv, yv, a[3][l]) : a[3][l] + xv;
        }
    float v[16];
    for (int l = 0; l < 16; l++) v[l] = (a[0][l] + a[1][l]) + (a[2][l] + a[3][l]);
    return tree16(v);
}

static const size_t lens[] = {0,  1,  2,   15,  16,  17,  31,  33,   47,   48,    63,
                              64, 65, 100, 127, 128, 129, 257, 1000, 4099, 100003};

ParameterizedTestParameters(reduce, sum_dot) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, reduce, sum_dot) {
    const kernel_table *kt = kernels_for(*isa);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const size_t n = lens[li];
        float *x = test_alloc(n, 1), *y = test_alloc(n, 3);
        test_fill(x, n, 3 + n, -1, 1);
        test_fill(y, n, 5 + n, -2, 2);
        double s = 0, sa = 0, d = 0, da = 0;
        for (size_t i = 0; i < n; i++) {
            s += x[i];
            sa += fabs(x[i]);
            d += (double)x[i] * y[i];
            da += fabs((double)x[i] * y[i]);
        }
        float gs = kt->sum(n, x), gd = kt->dot(n, x, y);
        /* error bound of a summation tree of depth <= n/64 + 8 */
        double depth = (double)n / 64 + 10;
        cr_assert(fabs(gs - s) <= depth * EPS * sa, "%s sum n=%zu: %.9g vs %.9g", kt->name, n,
                  (double)gs, s);
        cr_assert(fabs(gd - d) <= depth * EPS * da, "%s dot n=%zu: %.9g vs %.9g", kt->name, n,
                  (double)gd, d);
        float os = ordered(n, x, NULL), od = ordered(n, x, y);
        cr_assert_eq(memcmp(&gs, &os, 4), 0, "%s sum n=%zu: %a, documented order gives %a",
                     kt->name, n, (double)gs, (double)os);
        cr_assert_eq(memcmp(&gd, &od, 4), 0, "%s dot n=%zu: %a, documented order gives %a",
                     kt->name, n, (double)gd, (double)od);
        test_free(x);
        test_free(y);
    }
    /* special values propagate */
    float v[40] = {0};
    v[37] = INFINITY;
    cr_assert(isinf(kt->sum(40, v)));
    v[3] = NAN;
    cr_assert(isnan(kt->sum(40, v)) && isnan(kt->dot(40, v, v)));
    cr_assert_eq(kt->sum(0, NULL), 0.0f);
}

ParameterizedTestParameters(reduce, maxabs) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

/* max |x|, exactly; +Inf when a NaN or an infinity sits at any position
 * (first, inside a full vector, in the tail, last), whatever the other
 * elements; -0 and denormals count by magnitude. */
ParameterizedTest(nerve_isa *isa, reduce, maxabs) {
    const kernel_table *kt = kernels_for(*isa);
    cr_assert_eq(kt->maxabs(0, NULL), 0.0f);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const size_t n = lens[li];
        if (n == 0) continue;
        float *x = test_alloc(n, 1);
        test_fill(x, n, 11 + n, -1, 1);
        float want = 0.0f;
        for (size_t i = 0; i < n; i++) want = fabsf(x[i]) > want ? fabsf(x[i]) : want;
        float got = kt->maxabs(n, x);
        cr_assert_eq(memcmp(&got, &want, 4), 0, "%s maxabs n=%zu: %a, want %a", kt->name, n,
                     (double)got, (double)want);
        /* the largest magnitude negative, at each position class */
        const size_t pos[] = {0, n / 2, n - 1};
        for (size_t pi = 0; pi < 3; pi++) {
            const float keep = x[pos[pi]];
            x[pos[pi]] = -3.5f;
            cr_assert_eq(kt->maxabs(n, x), 3.5f, "%s n=%zu at %zu", kt->name, n, pos[pi]);
            const float specials[] = {NAN, -NAN, INFINITY, -INFINITY};
            for (int si = 0; si < 4; si++) {
                x[pos[pi]] = specials[si];
                cr_assert(isinf(kt->maxabs(n, x)) && kt->maxabs(n, x) > 0,
                          "%s maxabs n=%zu: special %d at %zu gave %a", kt->name, n, si, pos[pi],
                          (double)kt->maxabs(n, x));
            }
            x[pos[pi]] = keep;
        }
        test_free(x);
    }
    float tiny[3] = {-0.0f, 0x1p-140f, -0x1p-146f};
    cr_assert_eq(kt->maxabs(3, tiny), 0x1p-140f);
    cr_assert_eq(kt->maxabs(1, tiny), 0.0f);
}

ParameterizedTestParameters(reduce, colsum) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

/* y[j] = (accumulate ? y[j] : 0) + x[0][j] + x[1][j] + ..., in that order:
 * bit for bit the sequential float chain; accumulate == 0 never reads y. */
ParameterizedTest(nerve_isa *isa, reduce, colsum) {
    const kernel_table *kt = kernels_for(*isa);
    const size_t rows_list[] = {0, 1, 2, 5, 33, 130};
    for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++)
        for (size_t ci = 0; ci < test_sizes_count; ci++)
            for (int acc = 0; acc < 2; acc++) {
                const size_t rows = rows_list[ri], cols = test_sizes[ci], ldx = cols + 3;
                float *x = test_alloc(rows * ldx, 1), *y = test_alloc(cols + 2, 2);
                float *y0 = malloc((cols + 2) * sizeof(float));
                test_fill(x, rows * ldx, 7 + rows + cols, -1, 1);
                test_fill(y0, cols + 2, 9, -1, 1);
                if (!acc)
                    for (size_t j = 0; j < cols; j++) y0[j] = NAN; /* must not be read */
                memcpy(y, y0, (cols + 2) * sizeof(float));
                kt->colsum(rows, cols, x, ldx, y, acc);
                for (size_t j = 0; j < cols; j++) {
                    float want = acc ? y0[j] : 0.0f;
                    for (size_t i = 0; i < rows; i++) want = want + x[i * ldx + j];
                    cr_assert_eq(memcmp(&want, &y[j], 4), 0,
                                 "%s colsum rows=%zu cols=%zu acc=%d: y[%zu] = %a, want %a",
                                 kt->name, rows, cols, acc, j, (double)y[j], (double)want);
                }
                cr_assert(y[cols] == y0[cols] && y[cols + 1] == y0[cols + 1], "wrote past the end");
                test_free(x);
                test_free(y);
                free(y0);
            }
    /* wide: more columns than one strip of the kernel */
    const size_t rows = 3, cols = 1500;
    float *x = malloc(rows * cols * sizeof(float)), *y = malloc(cols * sizeof(float));
    test_fill(x, rows * cols, 1, -1, 1);
    kt->colsum(rows, cols, x, cols, y, 0);
    for (size_t j = 0; j < cols; j++)
        cr_assert_eq(y[j], (0.0f + x[j]) + x[cols + j] + x[2 * cols + j]);
    free(x);
    free(y);
}

ParameterizedTestParameters(reduce, axpby_bias_add) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

/* axpby: y = alpha x (beta == 0, y not read) or fma(beta, y, alpha x);
 * bias_add: y[i][j] += b[j]. Each element is one or two correctly rounded
 * operations, so the references are exact. */
ParameterizedTest(nerve_isa *isa, reduce, axpby_bias_add) {
    const kernel_table *kt = kernels_for(*isa);
    const float ab[][2] = {{1, 0}, {-3, 0}, {1, 1}, {0.5f, -0.25f}, {0, 2}};
    for (size_t si = 0; si < test_sizes_count; si++)
        for (size_t q = 0; q < sizeof ab / sizeof ab[0]; q++) {
            const size_t n = test_sizes[si];
            const float alpha = ab[q][0], beta = ab[q][1];
            float *x = test_alloc(n, 1), *y = test_alloc(n + 1, 2), *y0 = malloc((n + 1) * 4);
            test_fill(x, n, 21 + n, -4, 4);
            test_fill(y0, n + 1, 23 + n, -4, 4);
            if (beta == 0.0f)
                for (size_t i = 0; i < n; i++) y0[i] = NAN;
            memcpy(y, y0, (n + 1) * 4);
            kt->axpby(n, alpha, x, beta, y);
            for (size_t i = 0; i < n; i++) {
                float want = beta == 0.0f ? alpha * x[i] : fmaf(beta, y0[i], alpha * x[i]);
                cr_assert_eq(memcmp(&want, &y[i], 4), 0,
                             "%s axpby n=%zu a=%g b=%g: y[%zu]=%a want %a", kt->name, n,
                             (double)alpha, (double)beta, i, (double)y[i], (double)want);
            }
            cr_assert(y[n] == y0[n]);
            test_free(x);
            test_free(y);
            free(y0);
        }
    const size_t rows_list[] = {0, 1, 4, 19};
    for (size_t ri = 0; ri < 4; ri++)
        for (size_t si = 0; si < test_sizes_count; si++) {
            const size_t rows = rows_list[ri], cols = test_sizes[si], ldy = cols + 5;
            float *b = test_alloc(cols, 3), *y = test_alloc(rows * ldy, 1),
                  *y0 = malloc((rows * ldy + 1) * 4);
            test_fill(b, cols, 31 + cols, -1, 1);
            test_fill(y0, rows * ldy, 37 + rows, -1, 1);
            memcpy(y, y0, rows * ldy * 4);
            kt->bias_add(rows, cols, y, ldy, b);
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < ldy; j++) {
                    float want = j < cols ? y0[i * ldy + j] + b[j] : y0[i * ldy + j];
                    cr_assert_eq(memcmp(&want, &y[i * ldy + j], 4), 0,
                                 "%s bias_add rows=%zu cols=%zu (%zu,%zu)", kt->name, rows, cols, i,
                                 j);
                }
            test_free(b);
            test_free(y);
            free(y0);
        }
}
