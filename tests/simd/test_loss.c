/* Softmax and the losses (mse, softmax cross-entropy) of every ISA this CPU
 * supports, against double-precision references over awkward row/column
 * counts, large logits (overflow without the max shift), special values,
 * grad == NULL, and in-place softmax.
 *
 * Error bounds: softmax and xent round x - max once (an error of
 * |x - max| * 2^-24 in the exponent) and sum cols terms, so an element is
 * allowed (8 + |x - max| + cols) * 2^-24 relative error. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define EPS 0x1p-24

/* The largest of n floats (exact in float). Not written as a double
 * `mx = fmax(mx, x[j])` loop over the floats: Debian 12's aarch64 gcc 12.2
 * (-O3) crashes vectorizing that fmax reduction of float values widened to
 * double (internal compiler error in vect_transform_reduction, at
 * tree-vect-loop.cc:7457); an fmaxf reduction in float compiles. */
static double max_of(const float *x, size_t n) {
    float mx = -INFINITY;
    for (size_t j = 0; j < n; j++) mx = fmaxf(mx, x[j]);
    return mx;
}

static const size_t rows_list[] = {1, 2, 5};
static const float scales[] = {1, 10, 300}; /* 300: e^x overflows without the max shift */

ParameterizedTestParameters(loss, softmax) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, loss, softmax) {
    const kernels *kt = kernels_for(*isa);
    for (size_t ri = 0; ri < 3; ri++)
        for (size_t ci = 0; ci < test_sizes_count; ci++)
            for (size_t s = 0; s < 3; s++) {
                const size_t rows = rows_list[ri], cols = test_sizes[ci];
                float *x = test_alloc(rows * cols + 1, 1), *y = test_alloc(rows * cols + 1, 2);
                test_fill(x, rows * cols, 100 + cols + s, -scales[s], scales[s]);
                y[rows * cols] = 77.0f;
                kt->softmax(rows, cols, x, y);
                cr_assert_eq(y[rows * cols], 77.0f, "wrote past the end");
                for (size_t r = 0; r < rows; r++) {
                    const float *xr = x + r * cols;
                    double mx = max_of(xr, cols), sum = 0;
                    for (size_t j = 0; j < cols; j++) sum += exp(xr[j] - mx);
                    for (size_t j = 0; j < cols; j++) {
                        double want = exp(xr[j] - mx) / sum, got = y[r * cols + j];
                        double tol = (8 + fabs(xr[j] - mx) + (double)cols) * EPS * want + 0x1p-149;
                        cr_assert(fabs(got - want) <= tol,
                                  "%s softmax rows=%zu cols=%zu (%zu,%zu): %.9g vs %.9g", kt->name,
                                  rows, cols, r, j, got, want);
                    }
                }
                /* in place gives the same bits */
                float *z = test_alloc(rows * cols + 1, 3);
                memcpy(z, x, rows * cols * sizeof(float));
                kt->softmax(rows, cols, z, z);
                cr_assert_eq(test_first_bit_mismatch(z, y, rows * cols), SIZE_MAX, "in place");
                test_free(x);
                test_free(y);
                test_free(z);
            }
    /* -inf logits get probability 0; a row of equal logits is uniform;
     * +inf (or NaN) makes the row NaN, as the definition does */
    float a[5] = {-INFINITY, 1, -INFINITY, 1, 1}, b[5];
    kt->softmax(1, 5, a, b);
    cr_assert(b[0] == 0 && b[2] == 0 && fabsf(b[1] - 1.0f / 3) <= 1e-7f && b[1] == b[3] &&
              b[3] == b[4]);
    float c[3] = {1, NAN, 2}, d[3];
    kt->softmax(1, 3, c, d);
    cr_assert(isnan(d[0]) && isnan(d[1]) && isnan(d[2]));
    kt->softmax(0, 5, NULL, NULL);
    kt->softmax(3, 0, NULL, NULL);
}

ParameterizedTestParameters(loss, mse) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

/* row_loss = sum (o - t)^2 (16 partial sums, error <= (cols/16 + 6) eps
 * sum); grad = scale * fl(o - t) exactly. */
ParameterizedTest(nerve_isa *isa, loss, mse) {
    const kernels *kt = kernels_for(*isa);
    for (size_t ri = 0; ri < 3; ri++)
        for (size_t ci = 0; ci < test_sizes_count; ci++) {
            const size_t rows = rows_list[ri], cols = test_sizes[ci];
            float *o = test_alloc(rows * cols, 1), *t = test_alloc(rows * cols, 2);
            float *g = test_alloc(rows * cols + 1, 3), *l = test_alloc(rows, 1),
                  *l2 = test_alloc(rows, 2);
            test_fill(o, rows * cols, 1 + cols, -3, 3);
            test_fill(t, rows * cols, 2 + cols, -1, 1);
            const float scale = 2.0f / (float)(rows * cols + 1);
            g[rows * cols] = 5.0f;
            kt->loss_mse(rows, cols, o, t, scale, g, l);
            cr_assert_eq(g[rows * cols], 5.0f);
            for (size_t r = 0; r < rows; r++) {
                double s = 0;
                for (size_t j = 0; j < cols; j++) {
                    double dd = (double)o[r * cols + j] - t[r * cols + j];
                    s += dd * dd;
                    float want = scale * (o[r * cols + j] - t[r * cols + j]);
                    cr_assert_eq(memcmp(&want, &g[r * cols + j], 4), 0, "%s mse grad (%zu,%zu)",
                                 kt->name, r, j);
                }
                cr_assert(fabs(l[r] - s) <= ((double)cols / 16 + 8) * 2 * EPS * s,
                          "%s mse rows=%zu cols=%zu row %zu: %.9g vs %.9g", kt->name, rows, cols, r,
                          (double)l[r], s);
            }
            kt->loss_mse(rows, cols, o, t, scale, NULL, l2); /* no gradient: same loss */
            cr_assert_eq(test_first_bit_mismatch(l, l2, rows), SIZE_MAX);
            test_free(o);
            test_free(t);
            test_free(g);
            test_free(l);
            test_free(l2);
        }
}

ParameterizedTestParameters(loss, xent) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

/* row_loss = log sum_j e^(o_j - max) - (o_label - max) = -log softmax_label;
 * grad = scale * (softmax - onehot(label)). */
ParameterizedTest(nerve_isa *isa, loss, xent) {
    const kernels *kt = kernels_for(*isa);
    for (size_t ri = 0; ri < 3; ri++)
        for (size_t ci = 1; ci < test_sizes_count; ci++)
            for (size_t s = 0; s < 3; s++) {
                const size_t rows = rows_list[ri], cols = test_sizes[ci];
                float *o = test_alloc(rows * cols, 1), *g = test_alloc(rows * cols, 2);
                float *l = test_alloc(rows, 3), *l2 = test_alloc(rows, 1);
                int32_t *lab = malloc(rows * sizeof(int32_t));
                test_fill(o, rows * cols, 40 + cols + s, -scales[s], scales[s]);
                for (size_t r = 0; r < rows; r++) lab[r] = (int32_t)((r * 7 + cols / 2 + s) % cols);
                const float scale = 1.0f / (float)rows;
                kt->loss_xent(rows, cols, o, lab, scale, g, l);
                for (size_t r = 0; r < rows; r++) {
                    const float *orow = o + r * cols;
                    double mx = max_of(orow, cols), sum = 0;
                    for (size_t j = 0; j < cols; j++) sum += exp(orow[j] - mx);
                    double lse = log(sum), want = lse - (orow[lab[r]] - mx);
                    double tol = (8 + (double)cols) * EPS * (lse + fabs(orow[lab[r]] - mx)) + 1e-7;
                    cr_assert(fabs(l[r] - want) <= tol,
                              "%s xent rows=%zu cols=%zu row %zu: %.9g vs %.9g", kt->name, rows,
                              cols, r, (double)l[r], want);
                    for (size_t j = 0; j < cols; j++) {
                        double p = exp(orow[j] - mx) / sum;
                        double gw = scale * (p - (j == (size_t)lab[r] ? 1.0 : 0.0));
                        double gt = (8 + fabs(orow[j] - mx) + (double)cols) * EPS * scale *
                                        (p + (j == (size_t)lab[r])) +
                                    0x1p-149;
                        cr_assert(fabs(g[r * cols + j] - gw) <= gt,
                                  "%s xent grad rows=%zu cols=%zu (%zu,%zu): %.9g vs %.9g",
                                  kt->name, rows, cols, r, j, (double)g[r * cols + j], gw);
                    }
                }
                kt->loss_xent(rows, cols, o, lab, scale, NULL, l2);
                cr_assert_eq(test_first_bit_mismatch(l, l2, rows), SIZE_MAX,
                             "grad == NULL changes the loss");
                test_free(o);
                test_free(g);
                test_free(l);
                test_free(l2);
                free(lab);
            }
    /* a confident correct prediction: loss ~ e^-30, gradient tiny and exact in sign */
    float o[3] = {30, 0, 0}, g[3], l;
    int32_t lab = 0;
    kt->loss_xent(1, 3, o, &lab, 1.0f, g, &l);
    cr_assert(l >= 0 && l < 1e-12f && g[0] <= 0 && g[1] > 0 && g[2] == g[1]);
    /* a label outside the row gives a NaN loss (callers validate labels) */
    lab = 3;
    kt->loss_xent(1, 3, o, &lab, 1.0f, g, &l);
    cr_assert(isnan(l));
}
