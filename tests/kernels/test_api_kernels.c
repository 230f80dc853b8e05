/* The public kernel library (kernels.h), through its public entry points
 * only, on every ISA this CPU supports (switched with nerve_set_max_isa):
 *   - each function against a double-precision reference written here, at
 *     the awkward sizes (tests/common: 0, 1, 2, 15, 16, 17, 31, 32, 33, ...),
 *     with unaligned pointers and leading dimensions larger than the rows;
 *   - in-place calls where the header allows them give the same bits;
 *   - every function's outputs bit-identical across ISAs and across 1..4
 *     threads (the thread grain is lowered so that even small calls split);
 *   - a call from inside the caller's own parallel region gives the same
 *     bits as one from outside.
 * Bad arguments: tests/kernels/test_api_errors.c. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "nerve/nerve.h"
#include "testutil.h"

/* ---- double references ---------------------------------------------------------- */

static double sig(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
static double ncdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }
static double npdf(double x) { return exp(-0.5 * x * x) / sqrt(2 * 3.14159265358979323846); }

static double ref_f(int act, double x) {
    switch (act) {
    case NERVE_ACT_IDENTITY:
        return x;
    case NERVE_ACT_SIGMOID:
        return sig(x);
    case NERVE_ACT_TANH:
        return tanh(x);
    case NERVE_ACT_RELU:
        return x < 0 ? 0 : x;
    case NERVE_ACT_LEAKY_RELU:
        return x > 0 ? x : (double)0.01f * x;
    case NERVE_ACT_ELU:
        return x > 0 ? x : expm1(x);
    case NERVE_ACT_GELU:
        return x * ncdf(x);
    case NERVE_ACT_SILU:
        return x * sig(x);
    case NERVE_ACT_SOFTPLUS:
        return x > 20 ? x : (x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)));
    }
    return NAN;
}

/* f'(x), sigmoid and tanh from the forward output y (as the kernels) */
static double ref_d(int act, double x, double y) {
    switch (act) {
    case NERVE_ACT_IDENTITY:
        return 1;
    case NERVE_ACT_SIGMOID:
        return (1 - y) * y;
    case NERVE_ACT_TANH:
        return 1 - y * y;
    case NERVE_ACT_RELU:
        return x > 0;
    case NERVE_ACT_LEAKY_RELU:
        return x > 0 ? 1 : (double)0.01f;
    case NERVE_ACT_ELU:
        return x > 0 ? 1 : exp(x);
    case NERVE_ACT_GELU:
        return ncdf(x) + x * npdf(x);
    case NERVE_ACT_SILU:
        return sig(x) * (1 + x * (1 - sig(x)));
    case NERVE_ACT_SOFTPLUS:
        return x > 20 ? 1 : sig(x);
    }
    return NAN;
}

/* |got - ref| <= rel * scale + 4 ulp-ish of ref; scale: magnitude of the terms */
static int close_to(float got, double ref, double scale, double rel) {
    const double tol = rel * scale + 1e-6 * fabs(ref) + 1e-30;
    return fabs((double)got - ref) <= tol;
}

#define ACT_ENTRY_(E, name) {NERVE_ACT_##E, #name},
static const struct {
    nerve_act act;
    const char *name;
} acts[] = {NERVE_ACT_LIST(ACT_ENTRY_)};
#undef ACT_ENTRY_
#define N_ACTS (sizeof acts / sizeof acts[0])

static void use_isa(nerve_isa isa) {
    cr_assert_eq(nerve_set_max_isa(isa), NERVE_OK);
    cr_assert_eq(nerve_isa_active(), isa, "could not select %s", nerve_isa_name(isa));
}

#define OK(call) cr_assert_eq((call), NERVE_OK, "%s: %s", #call, nerve_last_error())

ParameterizedTestParameters(api, reference) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    return cr_make_param_array(nerve_isa, isas, test_supported_isas(isas));
}

/* ---- activations ---------------------------------------------------------------- */

static void check_acts(void) {
    for (size_t a = 0; a < N_ACTS; a++) {
        const nerve_act act = acts[a].act;
        for (size_t s = 0; s < test_sizes_count; s++) {
            const size_t n = test_sizes[s], off = s % 7;
            float *x = test_alloc(n, off), *y = test_alloc(n, (off + 3) % 16),
                  *dy = test_alloc(n, off), *dx = test_alloc(n, (off + 5) % 16),
                  *t = test_alloc(n, 1);
            test_fill(x, n, 11 + s, -6.0f, 6.0f);
            test_fill(dy, n, 12 + s, -1.0f, 1.0f);
            OK(nerve_act_forward(act, n, x, y));
            for (size_t i = 0; i < n; i++)
                cr_assert(close_to(y[i], ref_f(act, x[i]), 0, 4e-6),
                          "%s fwd n=%zu x=%.9g: %.9g vs %.9g", acts[a].name, n, (double)x[i],
                          (double)y[i], ref_f(act, x[i]));
            OK(nerve_act_backward(act, n, x, y, dy, dx));
            for (size_t i = 0; i < n; i++) {
                const double r = (double)dy[i] * ref_d(act, x[i], y[i]);
                cr_assert(close_to(dx[i], r, fabs(dy[i]) * 2.0, 4e-6),
                          "%s bwd n=%zu x=%.9g: %.9g vs %.9g", acts[a].name, n, (double)x[i],
                          (double)dx[i], r);
            }
            /* in place: the same bits */
            if (n) memcpy(t, x, n * sizeof(float));
            OK(nerve_act_forward(act, n, t, t));
            cr_assert_eq(test_first_bit_mismatch(t, y, n), SIZE_MAX, "%s fwd in place",
                         acts[a].name);
            if (n) memcpy(t, dy, n * sizeof(float));
            OK(nerve_act_backward(act, n, x, y, t, t));
            cr_assert_eq(test_first_bit_mismatch(t, dx, n), SIZE_MAX, "%s bwd in place",
                         acts[a].name);
            test_free(x), test_free(y), test_free(dy), test_free(dx), test_free(t);
        }
    }
}

/* ---- softmax and losses ------------------------------------------------------------ */

static const size_t row_sizes[] = {1, 2, 3, 17, 33};

static void check_softmax_losses(void) {
    for (size_t r = 0; r < sizeof row_sizes / sizeof row_sizes[0]; r++)
        for (size_t s = 1; s < test_sizes_count; s++) {
            const size_t rows = row_sizes[r], cols = test_sizes[s], ld = cols + (s % 3) * 5;
            float *x = test_alloc(rows * ld, 1), *y = test_alloc(rows * ld, 2),
                  *t = test_alloc(rows * ld, 3), *g = test_alloc(rows * ld, 4),
                  *rl = test_alloc(rows, 5);
            int32_t *lab = malloc(rows * sizeof *lab);
            test_fill(x, rows * ld, 21 + s, -8.0f, 8.0f);
            test_fill(t, rows * ld, 22 + s, -1.0f, 1.0f);
            for (size_t i = 0; i < rows; i++) lab[i] = (int32_t)((i * 7 + s) % cols);
            OK(nerve_softmax(rows, cols, x, ld, y, ld));
            double total_x = 0, total_m = 0;
            for (size_t i = 0; i < rows; i++) {
                const float *xr = x + i * ld;
                double mx = -INFINITY, sum = 0;
                for (size_t j = 0; j < cols; j++) mx = xr[j] > mx ? xr[j] : mx;
                for (size_t j = 0; j < cols; j++) sum += exp(xr[j] - mx);
                for (size_t j = 0; j < cols; j++)
                    cr_assert(close_to(y[i * ld + j], exp(xr[j] - mx) / sum, 0, 8e-6),
                              "softmax %zux%zu (%zu,%zu)", rows, cols, i, j);
                const double xent = log(sum) - (xr[lab[i]] - mx);
                total_x += xent;
                double mse = 0;
                for (size_t j = 0; j < cols; j++) {
                    const double d = (double)xr[j] - t[i * ld + j];
                    mse += d * d;
                }
                total_m += mse;
            }
            /* in place (ldy == ldx) gives the same bits */
            float *c = test_alloc(rows * ld, 0);
            memcpy(c, x, rows * ld * sizeof(float));
            OK(nerve_softmax(rows, cols, c, ld, c, ld));
            for (size_t i = 0; i < rows; i++)
                cr_assert_eq(test_first_bit_mismatch(c + i * ld, y + i * ld, cols), SIZE_MAX,
                             "softmax in place");

            /* cross-entropy: mean, per-row losses, gradient with the caller's scale */
            float mean;
            const float scale = 0.75f;
            OK(nerve_loss_xent(rows, cols, x, ld, lab, scale, g, ld, rl, &mean));
            cr_assert(close_to(mean, total_x / (double)rows, 16.0 / (double)rows, 1e-6),
                      "xent mean %zux%zu: %.9g vs %.9g", rows, cols, (double)mean,
                      total_x / (double)rows);
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < cols; j++) {
                    const double p = y[i * ld + j], want = scale * (p - (j == (size_t)lab[i]));
                    cr_assert(close_to(g[i * ld + j], want, 1.0, 2e-6), "xent grad (%zu,%zu)", i,
                              j);
                }
            float mean2;
            OK(nerve_loss_xent(rows, cols, x, ld, lab, scale, NULL, 0, NULL, &mean2));
            cr_assert_eq(memcmp(&mean, &mean2, sizeof mean), 0, "xent mean without outputs");
            double sum_rl = 0;
            for (size_t i = 0; i < rows; i++) sum_rl += rl[i];
            cr_assert_eq(mean, (float)(sum_rl / (double)rows), "xent mean = row sum / rows");

            /* MSE, and in place (grad == out) */
            OK(nerve_loss_mse(rows, cols, x, ld, t, ld, scale, g, ld, rl, &mean));
            const double n_el = (double)rows * (double)cols;
            cr_assert(close_to(mean, total_m / n_el, 100.0, 1e-6), "mse mean %.9g vs %.9g",
                      (double)mean, total_m / n_el);
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < cols; j++)
                    cr_assert(close_to(g[i * ld + j],
                                       scale * ((double)x[i * ld + j] - t[i * ld + j]), 0, 1e-6),
                              "mse grad");
            memcpy(c, x, rows * ld * sizeof(float));
            OK(nerve_loss_mse(rows, cols, c, ld, t, ld, scale, c, ld, NULL, &mean2));
            cr_assert_eq(memcmp(&mean, &mean2, sizeof mean), 0, "mse in place mean");
            for (size_t i = 0; i < rows; i++)
                cr_assert_eq(test_first_bit_mismatch(c + i * ld, g + i * ld, cols), SIZE_MAX,
                             "mse in place grad");
            test_free(x), test_free(y), test_free(t), test_free(g), test_free(rl), test_free(c);
            free(lab);
        }
}

/* ---- optimizers: three steps against PyTorch's formulas in double ------------------- */

static void check_optim(void) {
    for (size_t s = 0; s < test_sizes_count; s++) {
        const size_t n = test_sizes[s];
        for (int kind = 0; kind < 5; kind++) {
            float *w = test_alloc(n, 1), *g = test_alloc(n, 2), *m = test_alloc(n, 3),
                  *v = test_alloc(n, 4);
            double *rw = malloc((n + 1) * sizeof(double)), *rm = malloc((n + 1) * sizeof(double)),
                   *rv = malloc((n + 1) * sizeof(double));
            test_fill(w, n, 31 + s, -1.0f, 1.0f);
            for (size_t i = 0; i < n; i++) rw[i] = w[i], rm[i] = rv[i] = 0, m[i] = v[i] = 0;
            const nerve_sgd_params sp[3] = {{0.1f, 0.9f, 0.0f, 0.01f, 1},
                                            {0.05f, 0.5f, 0.25f, 0.0f, 0},
                                            {0.2f, 0.0f, 0.0f, 0.001f, 0}};
            const nerve_adam_params ap = {0.01f, 0.9f, 0.99f, 1e-6f, 0.02f};
            for (uint64_t t = 1; t <= 3; t++) {
                test_fill(g, n, 100 * t + s, -1.0f, 1.0f);
                if (kind < 3) {
                    const nerve_sgd_params *p = &sp[kind];
                    OK(nerve_sgd_update(n, w, g, p->momentum != 0 ? m : NULL, p, t));
                    for (size_t i = 0; i < n; i++) {
                        double gi = g[i] + (double)p->weight_decay * rw[i], u = gi;
                        if (p->momentum != 0) {
                            rm[i] =
                                t == 1 ? gi : p->momentum * rm[i] + (1 - (double)p->dampening) * gi;
                            u = p->nesterov ? gi + p->momentum * rm[i] : rm[i];
                        }
                        rw[i] -= p->lr * u;
                    }
                } else {
                    const int decoupled = kind == 4;
                    if (decoupled)
                        OK(nerve_adamw_update(n, w, g, m, v, &ap, t));
                    else
                        OK(nerve_adam_update(n, w, g, m, v, &ap, t));
                    const double b1 = ap.beta1, b2 = ap.beta2;
                    for (size_t i = 0; i < n; i++) {
                        double gi = g[i];
                        if (decoupled)
                            rw[i] *= 1 - (double)ap.lr * ap.weight_decay;
                        else
                            gi += (double)ap.weight_decay * rw[i];
                        rm[i] = b1 * rm[i] + (1 - b1) * gi;
                        rv[i] = b2 * rv[i] + (1 - b2) * gi * gi;
                        const double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
                        rw[i] -= ap.lr / bc1 * rm[i] / (sqrt(rv[i]) / sqrt(bc2) + ap.eps);
                    }
                }
            }
            for (size_t i = 0; i < n; i++)
                cr_assert(close_to(w[i], rw[i], 1.0, 2e-5),
                          "optimizer %d n=%zu [%zu]: %.9g vs %.9g", kind, n, i, (double)w[i],
                          rw[i]);
            test_free(w), test_free(g), test_free(m), test_free(v);
            free(rw), free(rm), free(rv);
        }
    }
}

/* ---- linear layer ---------------------------------------------------------------------- */

static const size_t lin_n[] = {0, 1, 2, 15, 17, 33, 100};
static const size_t lin_w[] = {0, 1, 15, 16, 17, 33, 65};

static void check_linear(nerve_act act, nerve_act pact) {
    for (size_t a = 0; a < sizeof lin_n / sizeof lin_n[0]; a++)
        for (size_t b = 0; b < sizeof lin_w / sizeof lin_w[0]; b++)
            for (size_t c = 0; c < sizeof lin_w / sizeof lin_w[0]; c += 2) {
                const size_t n = lin_n[a], in = lin_w[b], out = lin_w[c];
                float *x = test_alloc(n * in, 1), *w = test_alloc(out * in, 2),
                      *bias = test_alloc(out, 3), *z = test_alloc(n * out, 4),
                      *y = test_alloc(n * out, 5), *y2 = test_alloc(n * out, 6),
                      *dz = test_alloc(n * out, 7), *dw = test_alloc(out * in, 8),
                      *db = test_alloc(out, 9), *dx = test_alloc(n * in, 10),
                      *pz = test_alloc(n * in, 11), *py = test_alloc(n * in, 12);
                test_fill(pz, n * in, 41, -3.0f, 3.0f);
                OK(nerve_act_forward(pact, n * in, pz, py));
                memcpy(x, py, n * in * sizeof(float));
                test_fill(w, out * in, 42, -0.5f, 0.5f);
                test_fill(bias, out, 43, -0.5f, 0.5f);
                test_fill(dz, n * out, 44, -1.0f, 1.0f);
                OK(nerve_linear_forward(n, in, out, x, w, bias, act, z, y));
                for (size_t i = 0; i < n; i++)
                    for (size_t o = 0; o < out; o++) {
                        double acc = bias[o], mag = fabs(bias[o]);
                        for (size_t k = 0; k < in; k++) {
                            acc += (double)x[i * in + k] * w[o * in + k];
                            mag += fabs((double)x[i * in + k] * w[o * in + k]);
                        }
                        cr_assert(close_to(z[i * out + o], acc, mag, 1e-6),
                                  "linear fwd z %zux%zux%zu (%zu,%zu): %.9g vs %.9g", n, in, out, i,
                                  o, (double)z[i * out + o], acc);
                        cr_assert(close_to(y[i * out + o], ref_f(act, z[i * out + o]), 0, 4e-6),
                                  "linear fwd y");
                    }
                /* Z not kept: Y in place, the same bits */
                OK(nerve_linear_forward(n, in, out, x, w, bias, act, NULL, y2));
                cr_assert_eq(test_first_bit_mismatch(y, y2, n * out), SIZE_MAX, "y without z");

                for (int accumulate = 0; accumulate <= 1; accumulate++) {
                    test_fill(dw, out * in, 45, -1.0f, 1.0f);
                    test_fill(db, out, 46, -1.0f, 1.0f);
                    float *dw0 = malloc((out * in + 1) * sizeof(float)),
                          *db0 = malloc((out + 1) * sizeof(float));
                    memcpy(dw0, dw, out * in * sizeof(float));
                    memcpy(db0, db, out * sizeof(float));
                    OK(nerve_linear_backward(n, in, out, x, w, dz, dw, db, accumulate, pact, pz, py,
                                             dx));
                    for (size_t o = 0; o < out; o++) {
                        double s = accumulate ? db0[o] : 0, mag = fabs(s);
                        for (size_t i = 0; i < n; i++)
                            s += dz[i * out + o], mag += fabs(dz[i * out + o]);
                        cr_assert(close_to(db[o], s, mag, 1e-6), "db");
                        for (size_t k = 0; k < in; k++) {
                            double d = accumulate ? dw0[o * in + k] : 0, dm = fabs(d);
                            for (size_t i = 0; i < n; i++) {
                                d += (double)dz[i * out + o] * x[i * in + k];
                                dm += fabs((double)dz[i * out + o] * x[i * in + k]);
                            }
                            cr_assert(close_to(dw[o * in + k], d, dm, 1e-6),
                                      "dw %zux%zux%zu acc %d", n, in, out, accumulate);
                        }
                    }
                    for (size_t i = 0; i < n; i++)
                        for (size_t k = 0; k < in; k++) {
                            double d = 0, dm = 0;
                            for (size_t o = 0; o < out; o++) {
                                d += (double)dz[i * out + o] * w[o * in + k];
                                dm += fabs((double)dz[i * out + o] * w[o * in + k]);
                            }
                            const double der = ref_d(pact, pz[i * in + k], py[i * in + k]);
                            cr_assert(
                                close_to(dx[i * in + k], d * der, dm * (fabs(der) + 0.5), 4e-6),
                                "dx %zux%zux%zu %s/%s (%zu,%zu): %.9g vs %.9g", n, in, out,
                                acts[act].name, acts[pact].name, i, k, (double)dx[i * in + k],
                                d * der);
                        }
                    free(dw0), free(db0);
                }
                test_free(x), test_free(w), test_free(bias), test_free(z), test_free(y),
                    test_free(y2), test_free(dz), test_free(dw), test_free(db), test_free(dx),
                    test_free(pz), test_free(py);
            }
}

/* ---- BLAS-1 ------------------------------------------------------------------------------ */

static const size_t long_sizes[] = {
    0, 1, 15, 16, 17, 63, 64, 65, 257, 65535, 65536, 65537, 3 * 65536 + 17};

static void check_blas1(void) {
    for (size_t s = 0; s < sizeof long_sizes / sizeof long_sizes[0]; s++) {
        const size_t n = long_sizes[s];
        float *x = test_alloc(n, 3), *y = test_alloc(n, 5), *z = test_alloc(n, 0);
        test_fill(x, n, 51 + s, -1.0f, 1.0f);
        test_fill(y, n, 52 + s, -1.0f, 1.0f);
        double rs = 0, rd = 0, ms = 0, md = 0;
        for (size_t i = 0; i < n; i++) {
            rs += x[i], ms += fabs(x[i]);
            rd += (double)x[i] * y[i], md += fabs((double)x[i] * y[i]);
        }
        float sum, dot;
        OK(nerve_sum(n, x, &sum));
        OK(nerve_dot(n, x, y, &dot));
        cr_assert(close_to(sum, rs, ms, 1e-6), "sum n=%zu: %.9g vs %.9g", n, (double)sum, rs);
        cr_assert(close_to(dot, rd, md, 1e-6), "dot n=%zu: %.9g vs %.9g", n, (double)dot, rd);
        if (n) memcpy(z, y, n * sizeof(float));
        OK(nerve_axpby(n, 0.5f, x, -2.0f, z));
        for (size_t i = 0; i < n; i++)
            cr_assert(close_to(z[i], 0.5 * x[i] - 2.0 * y[i], 3.0, 1e-7), "axpby");
        if (n) memcpy(z, x, n * sizeof(float));
        OK(nerve_axpby(n, 3.0f, z, 1.0f, z)); /* y == x */
        for (size_t i = 0; i < n; i++)
            cr_assert(close_to(z[i], 4.0 * x[i], 4.0, 1e-7), "axpby y == x");
        test_free(x), test_free(y), test_free(z);
    }
    for (size_t r = 0; r < 4; r++)
        for (size_t s = 0; s < test_sizes_count; s++) {
            const size_t rows = (size_t[]){0, 1, 7, 100}[r], cols = test_sizes[s], ld = cols + 3;
            float *x = test_alloc(rows * ld, 1), *y = test_alloc(cols, 2);
            test_fill(x, rows * ld, 61 + s, -1.0f, 1.0f);
            for (int acc = 0; acc <= 1; acc++) {
                test_fill(y, cols, 62, -1.0f, 1.0f);
                float *y0 = malloc((cols + 1) * sizeof(float));
                memcpy(y0, y, cols * sizeof(float));
                OK(nerve_colsum(rows, cols, x, ld, y, acc));
                for (size_t j = 0; j < cols; j++) {
                    double t = acc ? y0[j] : 0, m = fabs(t);
                    for (size_t i = 0; i < rows; i++) t += x[i * ld + j], m += fabs(x[i * ld + j]);
                    cr_assert(close_to(y[j], t, m, 1e-6), "colsum %zux%zu", rows, cols);
                }
                free(y0);
            }
            test_free(x), test_free(y);
        }
}

ParameterizedTest(nerve_isa *isa, api, reference) {
    use_isa(*isa);
    check_acts();
    check_softmax_losses();
    check_optim();
    check_blas1();
    for (size_t a = 0; a < N_ACTS; a++) check_linear(acts[a].act, acts[(a + 4) % N_ACTS].act);
}

/* ---- bit-identical across ISAs and thread counts ------------------------------------------- */

/* Appends every output of every public kernel on fixed inputs to a buffer. */
typedef struct outbuf {
    float *v;
    size_t len, cap;
} outbuf;

static void put(outbuf *s, const float *p, size_t n) {
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2 + 1024;
        s->v = realloc(s->v, s->cap * sizeof(float));
        cr_assert_not_null(s->v);
    }
    if (n) memcpy(s->v + s->len, p, n * sizeof(float));
    s->len += n;
}

static void signature(outbuf *s) {
    s->len = 0;
    const size_t big = 3 * 65536 + 33;
    float *x = test_alloc(big, 1), *y = test_alloc(big, 2), *dy = test_alloc(big, 3),
          *o = test_alloc(big, 4), *m = test_alloc(big, 5), *v = test_alloc(big, 6);
    static int32_t lab[2000];
    test_fill(x, big, 71, -5.0f, 5.0f);
    test_fill(dy, big, 72, -1.0f, 1.0f);
    for (size_t s2 = 0; s2 < 2000; s2++) lab[s2] = (int32_t)(s2 * 13 % 17);
    static const size_t ns[] = {0, 1, 15, 16, 17, 31, 32, 33, 100, 1000, 40000};
    for (size_t a = 0; a < N_ACTS; a++)
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
            OK(nerve_act_forward(acts[a].act, ns[k], x, y));
            put(s, y, ns[k]);
            OK(nerve_act_backward(acts[a].act, ns[k], x, y, dy, o));
            put(s, o, ns[k]);
        }
    /* softmax and losses: 300 rows of 33 with ld 40 */
    OK(nerve_softmax(300, 33, x, 40, o, 40));
    put(s, o, 300 * 40 - 7);
    float mean, rl[300];
    OK(nerve_loss_xent(300, 33, x, 40, lab, 0.5f, o, 40, rl, &mean));
    put(s, o, 300 * 40 - 7), put(s, rl, 300), put(s, &mean, 1);
    OK(nerve_loss_mse(300, 33, x, 40, dy, 40, 0.5f, o, 40, rl, &mean));
    put(s, o, 300 * 40 - 7), put(s, rl, 300), put(s, &mean, 1);
    OK(nerve_loss_xent(2000, 17, x, 17, (const int32_t *)lab, 0.25f, NULL, 0, NULL, &mean));
    put(s, &mean, 1);
    /* optimizers, 3 steps each, over 40,000 parameters */
    const size_t np = 40000;
    const nerve_sgd_params sp = {0.1f, 0.9f, 0.1f, 0.01f, 0};
    const nerve_adam_params ap = {0.01f, 0.9f, 0.999f, 1e-8f, 0.01f};
    for (int kind = 0; kind < 3; kind++) {
        memcpy(o, x, np * sizeof(float));
        memset(m, 0, np * sizeof(float));
        memset(v, 0, np * sizeof(float));
        for (uint64_t t = 1; t <= 3; t++) {
            const float *g = dy + t * 7;
            if (kind == 0) OK(nerve_sgd_update(np, o, g, m, &sp, t));
            if (kind == 1) OK(nerve_adam_update(np, o, g, m, v, &ap, t));
            if (kind == 2) OK(nerve_adamw_update(np, o, g, m, v, &ap, t));
        }
        put(s, o, np), put(s, m, np);
    }
    /* BLAS-1 */
    static const size_t rn[] = {0, 1, 17, 65536, 65537, 3 * 65536 + 33};
    for (size_t k = 0; k < sizeof rn / sizeof rn[0]; k++) {
        float r[2];
        OK(nerve_sum(rn[k], x, &r[0]));
        OK(nerve_dot(rn[k], x, dy, &r[1]));
        put(s, r, 2);
    }
    memcpy(o, dy, 40000 * sizeof(float));
    OK(nerve_axpby(40000, 0.3f, x, 0.7f, o));
    put(s, o, 40000);
    OK(nerve_colsum(500, 77, x, 80, o, 0));
    OK(nerve_colsum(500, 77, dy, 80, o, 1));
    put(s, o, 77);
    /* linear layers: small (one thread by size) and large enough to split */
    static const size_t ln[][3] = {{1, 33, 17},   {2, 17, 33},     {33, 31, 65},
                                   {1, 300, 200}, {128, 200, 100}, {257, 64, 96}};
    for (size_t k = 0; k < sizeof ln / sizeof ln[0]; k++) {
        const size_t n = ln[k][0], in = ln[k][1], out = ln[k][2];
        const nerve_act act = acts[k % N_ACTS].act, pact = acts[(k + 2) % N_ACTS].act;
        float *z = test_alloc(n * out, 7), *yy = test_alloc(n * out, 8),
              *dw = test_alloc(out * in, 9), *db = test_alloc(out, 10),
              *dx = test_alloc(n * in, 11), *py = test_alloc(n * in, 12);
        OK(nerve_act_forward(pact, n * in, x, py));
        OK(nerve_linear_forward(n, in, out, py, dy, dy + 5, act, z, yy));
        put(s, z, n * out), put(s, yy, n * out);
        for (int acc = 0; acc <= 1; acc++) {
            OK(nerve_linear_backward(n, in, out, py, dy, yy, dw, db, acc, pact, x, py, dx));
            put(s, dw, out * in), put(s, db, out), put(s, dx, n * in);
        }
        test_free(z), test_free(yy), test_free(dw), test_free(db), test_free(dx), test_free(py);
    }
    test_free(x), test_free(y), test_free(dy), test_free(o), test_free(m), test_free(v);
}

Test(api, bit_identical_across_isas_and_threads, .timeout = 300) {
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t count = test_supported_isas(isas);
    api_set_grain_scale(1); /* split even 32-element calls */
    outbuf ref = {0}, got = {0};
    use_isa(NERVE_ISA_SCALAR);
    OK(nerve_set_num_threads(1));
    signature(&ref);
    cr_assert_gt(ref.len, 1000000);
    for (size_t i = 0; i < count; i++)
        for (int t = 1; t <= 4; t++) {
            use_isa(isas[i]);
            OK(nerve_set_num_threads(t));
            cr_assert_eq(nerve_get_num_threads(), t);
            signature(&got);
            cr_assert_eq(got.len, ref.len);
            const size_t at = test_first_bit_mismatch(ref.v, got.v, ref.len);
            cr_assert_eq(at, SIZE_MAX, "%s, %d threads: output %zu differs from scalar/1 thread",
                         nerve_isa_name(isas[i]), t, at);
        }
    /* from inside the caller's own parallel region: each thread alone */
    use_isa(nerve_isa_best());
    OK(nerve_set_num_threads(2));
    int bad = 0;
#pragma omp parallel num_threads(2) reduction(+ : bad)
    {
        outbuf mine = {0};
        signature(&mine);
        bad += mine.len != ref.len || test_first_bit_mismatch(ref.v, mine.v, ref.len) != SIZE_MAX;
        free(mine.v);
    }
    cr_assert_eq(bad, 0, "calls from inside a parallel region differ");
    OK(nerve_set_num_threads(0));
    free(ref.v);
    free(got.v);
}

/* nerve_sum / nerve_dot follow the order kernels.h states: one table call up
 * to NERVE_REDUCE_BLOCK elements, else the block sums added in block order. */
Test(api, reduce_order) {
    const size_t n = 5 * NERVE_REDUCE_BLOCK + 123, B = NERVE_REDUCE_BLOCK;
    float *x = test_alloc(n, 1), *y = test_alloc(n, 2);
    test_fill(x, n, 81, -1.0f, 1.0f);
    test_fill(y, n, 82, -1.0f, 1.0f);
    const kernel_table *kt = kernels_for(nerve_isa_best());
    use_isa(nerve_isa_best());
    api_set_grain_scale(1);
    OK(nerve_set_num_threads(3));
    float got, want;
    OK(nerve_dot(B, x, y, &got));
    want = kt->dot(B, x, y);
    cr_assert_eq(memcmp(&got, &want, 4), 0, "one block: the table's dot");
    want = kt->dot(B, x, y);
    for (size_t b = B; b < n; b += B) want += kt->dot(n - b < B ? n - b : B, x + b, y + b);
    OK(nerve_dot(n, x, y, &got));
    cr_assert_eq(memcmp(&got, &want, 4), 0, "dot: block sums in order (%.9g vs %.9g)", (double)got,
                 (double)want);
    want = kt->sum(B, x);
    for (size_t b = B; b < n; b += B) want += kt->sum(n - b < B ? n - b : B, x + b);
    OK(nerve_sum(n, x, &got));
    cr_assert_eq(memcmp(&got, &want, 4), 0, "sum: block sums in order");
    OK(nerve_set_num_threads(0));
    test_free(x), test_free(y);
}

Test(api, thread_count) {
    OK(nerve_set_num_threads(3));
    cr_assert_eq(nerve_get_num_threads(), 3);
    cr_assert_eq(nerve_set_num_threads(-1), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "nerve_set_num_threads") != NULL);
    cr_assert_eq(nerve_get_num_threads(), 3);
    OK(nerve_set_num_threads(0));
    cr_assert_eq(nerve_get_num_threads(), omp_get_max_threads());
}
