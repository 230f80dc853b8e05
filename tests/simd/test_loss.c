/* Softmax and the losses of NERVE_LOSS_LIST (mse, softmax cross-entropy) of
 * every ISA this CPU supports, against double-precision references over
 * awkward row/column counts, large logits (overflow without the max shift),
 * special values, grad == NULL, and in-place softmax.
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

#include "loss.h"
#include "nerve/net.h"
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
    const kernel_table *kt = kernels_for(*isa);
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

/* ---- the losses of NERVE_LOSS_LIST ---------------------------------------
 * One test over every (ISA, loss) pair, generated from the list: the kernel
 * (through loss_run, as nerve_net calls it) against a double-precision
 * reference of its row loss and gradient, ref_<name> below. A loss added to
 * the list does not compile here until it has its reference. */

/* Reference of one row: returns the row loss and sets *tol, its error bound;
 * grad[j] = scale * d(row loss)/d o_j and gtol[j] its bound. t: the row's
 * target values (values losses), label: its class (labels losses). */
typedef double (*loss_ref_fn)(size_t cols, const float *o, const float *t, int32_t label,
                              double scale, double *tol, double *grad, double *gtol);

/* row loss = sum (o - t)^2 (16 partial sums, error <= (cols/16 + 6) eps
 * sum); grad = scale * fl(o - t) rounded once (the product of two floats
 * is exact in double). */
static double ref_mse(size_t cols, const float *o, const float *t, int32_t label, double scale,
                      double *tol, double *grad, double *gtol) {
    (void)label;
    double s = 0;
    for (size_t j = 0; j < cols; j++) {
        const double d = (double)o[j] - t[j];
        s += d * d;
        grad[j] = scale * (double)(o[j] - t[j]);
        gtol[j] = fabs(grad[j]) * EPS;
    }
    *tol = ((double)cols / 16 + 8) * 2 * EPS * s;
    return s;
}

/* row loss = log sum_j e^(o_j - max) - (o_label - max) = -log softmax_label;
 * grad = scale * (softmax - onehot(label)). */
static double ref_xent(size_t cols, const float *o, const float *t, int32_t label, double scale,
                       double *tol, double *grad, double *gtol) {
    (void)t;
    const double mx = max_of(o, cols);
    double sum = 0;
    for (size_t j = 0; j < cols; j++) sum += exp(o[j] - mx);
    const double lse = log(sum), d = o[label] - mx;
    for (size_t j = 0; j < cols; j++) {
        const double p = exp(o[j] - mx) / sum, hot = j == (size_t)label;
        grad[j] = scale * (p - hot);
        gtol[j] = (8 + fabs(o[j] - mx) + (double)cols) * EPS * scale * (p + hot) + 0x1p-149;
    }
    *tol = (8 + (double)cols) * EPS * (lse + fabs(d)) + 1e-7;
    return lse - d;
}

static const struct {
    const char *name;
    loss_ref_fn ref;
} losses[NERVE_LOSS_COUNT] = {
#define LOSS_ENTRY_(E, name, targets, mean, gscale) [NERVE_LOSS_##E] = {#name, ref_##name},
    NERVE_LOSS_LIST(LOSS_ENTRY_)
#undef LOSS_ENTRY_
};

typedef struct isa_loss {
    nerve_isa isa;
    nerve_loss loss;
} isa_loss;

ParameterizedTestParameters(loss, matches_reference) {
    static isa_loss p[NERVE_ISA_COUNT * NERVE_LOSS_COUNT];
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = test_supported_isas(isas);
    size_t n = 0;
    for (size_t i = 0; i < ni; i++)
        for (int l = 0; l < NERVE_LOSS_COUNT; l++) p[n++] = (isa_loss){isas[i], (nerve_loss)l};
    return cr_make_param_array(isa_loss, p, n);
}

ParameterizedTest(isa_loss *c, loss, matches_reference) {
    const kernel_table *kt = kernels_for(c->isa);
    const nerve_loss L = c->loss;
    const int labels = loss_of(L)->labels;
    const char *name = losses[L].name;
    for (size_t ri = 0; ri < 3; ri++)
        for (size_t ci = 0; ci < test_sizes_count; ci++)
            for (size_t s = 0; s < 3; s++) {
                const size_t rows = rows_list[ri], cols = test_sizes[ci];
                if (labels && cols == 0) continue; /* no class to label */
                float *o = test_alloc(rows * cols, 1), *t = test_alloc(rows * cols, 2);
                float *g = test_alloc(rows * cols + 1, 3), *l = test_alloc(rows, 1);
                float *l2 = test_alloc(rows, 2);
                int32_t *lab = malloc(rows * sizeof(int32_t));
                double *gw = malloc((cols + 1) * sizeof(double));
                double *gt = malloc((cols + 1) * sizeof(double));
                cr_assert(lab && gw && gt);
                test_fill(o, rows * cols, 40 + cols + s, -scales[s], scales[s]);
                test_fill(t, rows * cols, 2 + cols, -1, 1);
                for (size_t r = 0; r < rows; r++)
                    lab[r] = labels ? (int32_t)((r * 7 + cols / 2 + s) % cols) : -1;
                const float scale = loss_grad_scale(L, rows, cols ? cols : 1);
                g[rows * cols] = 5.0f;
                loss_run(kt, L, rows, cols, o, labels ? NULL : t, labels ? lab : NULL, scale, g, l);
                cr_assert_eq(g[rows * cols], 5.0f, "%s %s wrote past the gradient", kt->name, name);
                for (size_t r = 0; r < rows; r++) {
                    double tol;
                    const double want = losses[L].ref(cols, o + r * cols, t + r * cols, lab[r],
                                                      scale, &tol, gw, gt);
                    cr_assert(fabs(l[r] - want) <= tol,
                              "%s %s rows=%zu cols=%zu row %zu: %.9g vs %.9g", kt->name, name, rows,
                              cols, r, (double)l[r], want);
                    for (size_t j = 0; j < cols; j++)
                        cr_assert(fabs(g[r * cols + j] - gw[j]) <= gt[j],
                                  "%s %s grad rows=%zu cols=%zu (%zu,%zu): %.9g vs %.9g", kt->name,
                                  name, rows, cols, r, j, (double)g[r * cols + j], gw[j]);
                }
                /* no gradient: the same row losses, bit for bit */
                loss_run(kt, L, rows, cols, o, labels ? NULL : t, labels ? lab : NULL, scale, NULL,
                         l2);
                cr_assert_eq(test_first_bit_mismatch(l, l2, rows), SIZE_MAX,
                             "%s %s: grad == NULL changes the loss", kt->name, name);
                test_free(o);
                test_free(t);
                test_free(g);
                test_free(l);
                test_free(l2);
                free(lab);
                free(gw);
                free(gt);
            }
}

/* The list's columns, as kernels.h documents them for nerve_loss_mse and
 * nerve_loss_xent: the count the mean divides by and the gradient scale. */
Test(loss, list_columns) {
    cr_assert_eq(loss_of(NERVE_LOSS_MSE)->labels, 0);
    cr_assert_eq(loss_of(NERVE_LOSS_XENT)->labels, 1);
    cr_assert_eq(loss_count(NERVE_LOSS_MSE, 3, 5), 15.0);
    cr_assert_eq(loss_count(NERVE_LOSS_XENT, 3, 5), 3.0);
    cr_assert_eq(loss_grad_scale(NERVE_LOSS_MSE, 3, 5), (float)(2.0 / 15.0));
    cr_assert_eq(loss_grad_scale(NERVE_LOSS_XENT, 3, 5), (float)(1.0 / 3.0));
    for (int l = 0; l < NERVE_LOSS_COUNT; l++)
        cr_assert_str_eq(nerve_loss_name((nerve_loss)l), losses[l].name);
}

ParameterizedTestParameters(loss, mse_exact) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

/* MSE's gradient is one rounding of scale * fl(o - t): the same bits as
 * computing it in float here. */
ParameterizedTest(nerve_isa *isa, loss, mse_exact) {
    const kernel_table *kt = kernels_for(*isa);
    for (size_t ci = 0; ci < test_sizes_count; ci++) {
        const size_t rows = 3, cols = test_sizes[ci];
        float *o = test_alloc(rows * cols, 1), *t = test_alloc(rows * cols, 2);
        float *g = test_alloc(rows * cols, 3), *l = test_alloc(rows, 1);
        test_fill(o, rows * cols, 1 + cols, -3, 3);
        test_fill(t, rows * cols, 2 + cols, -1, 1);
        const float scale = 2.0f / (float)(rows * cols + 1);
        kt->loss_mse(rows, cols, o, t, scale, g, l);
        for (size_t i = 0; i < rows * cols; i++) {
            float want = scale * (o[i] - t[i]);
            cr_assert_eq(memcmp(&want, &g[i], 4), 0, "%s mse grad %zu", kt->name, i);
        }
        test_free(o);
        test_free(t);
        test_free(g);
        test_free(l);
    }
}

ParameterizedTestParameters(loss, xent_special) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, loss, xent_special) {
    const kernel_table *kt = kernels_for(*isa);
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
