/* Fused linear layer (src/net/linear.h), every ISA this CPU supports:
 *   forward  Z = X W^T + b, Y = act(Z): Z bit-exact against nerve_sgemm's
 *            chain plus the bias (one float addition, done here), Y against
 *            the activation computed in double, and against a double
 *            reference of the whole layer;
 *   backward db, dW (accumulating) and dX with the previous layer's
 *            activation derivative fused in, against double references;
 *   and every output bit-identical across ISAs, thread counts, and the
 *   plain vs. in-parallel-region (*_part) entry points. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "linear.h"
#include "nerve/kernels.h"
#include "testutil.h"

/* ---- activations and derivatives in double (PyTorch's definitions) ---- */

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }
static double phi_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

static double act_d(int act, double x) {
    switch (act) {
    case ACT_IDENTITY:
        return x;
    case ACT_SIGMOID:
        return sigm(x);
    case ACT_TANH:
        return tanh(x);
    case ACT_RELU:
        return x < 0 ? 0 : x;
    case ACT_LEAKY_RELU:
        return x > 0 ? x : 0.01 * x;
    case ACT_ELU:
        return x > 0 ? x : expm1(x);
    case ACT_GELU:
        return x * phi_cdf(x);
    case ACT_SILU:
        return x * sigm(x);
    case ACT_SOFTPLUS:
        return x > 20 ? x : log1p(exp(x));
    }
    return NAN;
}

/* f'(x) (sigmoid and tanh from y = f(x) as PyTorch does) */
static double act_deriv(int act, double x, double y) {
    switch (act) {
    case ACT_IDENTITY:
        return 1;
    case ACT_SIGMOID:
        return (1 - y) * y;
    case ACT_TANH:
        return 1 - y * y;
    case ACT_RELU:
        return x <= 0 ? 0 : 1;
    case ACT_LEAKY_RELU:
        return x > 0 ? 1 : 0.01;
    case ACT_ELU:
        return x > 0 ? 1 : exp(x);
    case ACT_GELU:
        return phi_cdf(x) + x * exp(-0.5 * x * x) * 0.3989422804014327 /* 1/sqrt(2 pi) */;
    case ACT_SILU:
        return sigm(x) * (1 + x * (1 - sigm(x)));
    case ACT_SOFTPLUS:
        return x > 20 ? 1 : sigm(x);
    }
    return NAN;
}

/* The activation kernels are approximations (docs/math.md): a few ulp. */
static int close_act(float got, double want) {
    return fabs((double)got - want) <= 4e-6 * fabs(want) + 1e-7;
}

typedef struct {
    size_t n, in, out;
} lshape;

static const lshape shapes[] = {
    {1, 1, 1},     {2, 3, 5},     {13, 33, 31},  {12, 32, 32},
    {64, 100, 10}, {37, 70, 129}, {25, 600, 40}, /* in > KC: the chain crosses K blocks before the
                                                    epilogue */
    {5, 0, 7},                                   /* in == 0: Z = b */
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

static float *ws_for(const kernels *kt, int nt) {
    return aligned_alloc(64, (gemm_workspace_floats(kt, nt) * sizeof(float) + 63) / 64 * 64);
}

/* Forward of one layer with `kt` on nt threads; part != 0 runs the *_part
 * entry point inside a parallel region of nt threads. keep_z selects
 * whether Z is stored separately. */
static void run_forward(const kernels *kt, const lshape *s, const float *x, const float *w,
                        const float *b, int act, float *z, float *y, int nt, int part) {
    float *ws = ws_for(kt, nt);
    if (part) {
#pragma omp parallel num_threads(nt)
        linear_forward_part(kt, s->n, s->in, s->out, x, w, b, act, z, y, ws, omp_get_thread_num(),
                            omp_get_num_threads());
    } else {
        linear_forward(kt, s->n, s->in, s->out, x, w, b, act, z, y, ws, nt);
    }
    free(ws);
}

ParameterizedTestParameters(linear, forward) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, linear, forward) {
    const kernels *kt = kernels_for(*isa), *ks = kernels_for(NERVE_ISA_SCALAR);
    cr_assert_not_null(kt);
    for (size_t si = 0; si < NSHAPES; si++) {
        const lshape *s = &shapes[si];
        const size_t nx = s->n * s->in, nw = s->out * s->in, ny = s->n * s->out;
        float *x = test_alloc(nx, 1), *w = test_alloc(nw, 2), *b = test_alloc(s->out, 3);
        float *chain = malloc((ny + 1) * 4), *z = malloc((ny + 1) * 4), *y = malloc((ny + 1) * 4);
        float *z2 = malloc((ny + 1) * 4), *y2 = malloc((ny + 1) * 4);
        test_fill(x, nx, 100 + si, -1, 1);
        test_fill(w, nw, 200 + si, -1, 1);
        test_fill(b, s->out, 300 + si, -1, 1);
        /* the chain: C = X W^T through the public GEMM */
        cr_assert_eq(nerve_sgemm(NERVE_NO_TRANS, NERVE_TRANS, s->n, s->out, s->in, 1.0f, x,
                                 s->in ? s->in : 1, w, s->in ? s->in : 1, 0.0f, chain, s->out),
                     NERVE_OK);
        for (int act = 0; act < ACT_COUNT; act++) {
            run_forward(kt, s, x, w, b, act, z, y, 1, 0);
            for (size_t i = 0; i < s->n; i++)
                for (size_t o = 0; o < s->out; o++) {
                    const size_t e = i * s->out + o;
                    const float want_z = chain[e] + b[o]; /* bias after the chain, one rounding */
                    cr_assert_eq(memcmp(&z[e], &want_z, 4), 0,
                                 "%s act %d shape %zu: Z(%zu,%zu) = %a, want %a", kt->name, act, si,
                                 i, o, z[e], want_z);
                    /* the whole layer in double */
                    double dot = b[o], mag = fabs(b[o]);
                    for (size_t p = 0; p < s->in; p++) {
                        dot += (double)x[i * s->in + p] * w[o * s->in + p];
                        mag += fabs((double)x[i * s->in + p] * w[o * s->in + p]);
                    }
                    cr_assert(fabs(z[e] - dot) <= (double)(s->in + 2) * 1.2e-7 * mag + 1e-30,
                              "Z(%zu,%zu) = %g, double reference %g", i, o, z[e], dot);
                    cr_assert(close_act(y[e], act_d(act, z[e])),
                              "%s act %d: Y(%zu,%zu) = %.9g, want %.9g (z %.9g)", kt->name, act, i,
                              o, y[e], act_d(act, z[e]), z[e]);
                }
            /* same bits: scalar table; Z not kept (in place); 2 and 3 threads; *_part */
            struct {
                const kernels *t;
                int keep_z, nt, part;
            } v[] = {{ks, 1, 1, 0}, {kt, 0, 1, 0}, {kt, 1, 2, 0}, {kt, 1, 3, 1}, {kt, 0, 2, 1}};
            for (size_t q = 0; q < sizeof v / sizeof v[0]; q++) {
                memset(z2, 0xff, (ny + 1) * 4);
                run_forward(v[q].t, s, x, w, b, act, v[q].keep_z ? z2 : NULL, y2, v[q].nt,
                            v[q].part);
                cr_assert_eq(test_first_bit_mismatch(y, y2, ny), SIZE_MAX,
                             "%s act %d shape %zu variant %zu: Y bits differ", kt->name, act, si,
                             q);
                if (v[q].keep_z)
                    cr_assert_eq(test_first_bit_mismatch(z, z2, ny), SIZE_MAX,
                                 "%s act %d shape %zu variant %zu: Z bits differ", kt->name, act,
                                 si, q);
            }
        }
        /* no bias */
        run_forward(kt, s, x, w, NULL, ACT_IDENTITY, NULL, y, 1, 0);
        cr_assert_eq(test_first_bit_mismatch(y, chain, ny), SIZE_MAX, "b == NULL: Y != X W^T");
        test_free(x);
        test_free(w);
        test_free(b);
        free(chain);
        free(z);
        free(y);
        free(z2);
        free(y2);
    }
}

/* ---- backward ------------------------------------------------------------ */

typedef struct bwd_out {
    float *dw, *db, *dx;
} bwd_out;

static void run_backward(const kernels *kt, const lshape *s, const float *x, const float *w,
                         const float *dz, int pact, const float *zp, const float *yp,
                         const float *dw0, const float *db0, bwd_out *o, int nt, int part) {
    memcpy(o->dw, dw0, s->out * s->in * 4);
    memcpy(o->db, db0, s->out * 4);
    float *ws = ws_for(kt, nt);
    if (part) {
#pragma omp parallel num_threads(nt)
        linear_backward_part(kt, s->n, s->in, s->out, x, w, dz, o->dw, o->db, 1, pact, zp, yp,
                             o->dx, ws, omp_get_thread_num(), omp_get_num_threads());
    } else {
        linear_backward(kt, s->n, s->in, s->out, x, w, dz, o->dw, o->db, 1, pact, zp, yp, o->dx, ws,
                        nt);
    }
    free(ws);
}

ParameterizedTestParameters(linear, backward) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, linear, backward) {
    const kernels *kt = kernels_for(*isa), *ks = kernels_for(NERVE_ISA_SCALAR);
    cr_assert_not_null(kt);
    for (size_t si = 0; si < NSHAPES; si++) {
        const lshape *s = &shapes[si];
        const size_t nx = s->n * s->in, nw = s->out * s->in, nz = s->n * s->out;
        float *x = test_alloc(nx, 1), *w = test_alloc(nw, 2), *dz = test_alloc(nz, 3);
        float *zp = malloc((nx + 1) * 4), *yp = malloc((nx + 1) * 4);
        float *dw0 = malloc((nw + 1) * 4), *db0 = malloc((s->out + 1) * 4);
        bwd_out r = {malloc((nw + 1) * 4), malloc((s->out + 1) * 4), malloc((nx + 1) * 4)};
        bwd_out r2 = {malloc((nw + 1) * 4), malloc((s->out + 1) * 4), malloc((nx + 1) * 4)};
        test_fill(w, nw, 400 + si, -1, 1);
        test_fill(dz, nz, 500 + si, -1, 1);
        test_fill(zp, nx, 600 + si, -3, 3);
        test_fill(dw0, nw, 700 + si, -1, 1);
        test_fill(db0, s->out, 800 + si, -1, 1);
        for (int pact = 0; pact < ACT_COUNT; pact++) {
            /* the previous layer's output: X = Yp = act(Zp), rounded to float */
            for (size_t e = 0; e < nx; e++) yp[e] = x[e] = (float)act_d(pact, zp[e]);
            run_backward(kt, s, x, w, dz, pact, zp, yp, dw0, db0, &r, 1, 0);
            for (size_t o = 0; o < s->out; o++) {
                double sum = db0[o], mag = fabs(db0[o]);
                for (size_t i = 0; i < s->n; i++) {
                    sum += dz[i * s->out + o];
                    mag += fabs(dz[i * s->out + o]);
                }
                cr_assert(fabs(r.db[o] - sum) <= (double)(s->n + 2) * 1.2e-7 * mag + 1e-30,
                          "db[%zu] = %g, want %g", o, r.db[o], sum);
                for (size_t j = 0; j < s->in; j++) {
                    double d = dw0[o * s->in + j], dm = fabs(d);
                    for (size_t i = 0; i < s->n; i++) {
                        d += (double)dz[i * s->out + o] * x[i * s->in + j];
                        dm += fabs((double)dz[i * s->out + o] * x[i * s->in + j]);
                    }
                    cr_assert(
                        fabs(r.dw[o * s->in + j] - d) <= (double)(s->n + 2) * 1.2e-7 * dm + 1e-30,
                        "%s dW(%zu,%zu) = %g, want %g", kt->name, o, j, r.dw[o * s->in + j], d);
                }
            }
            for (size_t i = 0; i < s->n; i++)
                for (size_t j = 0; j < s->in; j++) {
                    double d = 0, dm = 0;
                    for (size_t o = 0; o < s->out; o++) {
                        d += (double)dz[i * s->out + o] * w[o * s->in + j];
                        dm += fabs((double)dz[i * s->out + o] * w[o * s->in + j]);
                    }
                    const size_t e = i * s->in + j;
                    const double f = act_deriv(pact, zp[e], yp[e]);
                    const double want = d * f;
                    const double tol =
                        (double)(s->out + 2) * 1.2e-7 * dm * fabs(f) + 4e-6 * fabs(want) + 1e-7;
                    cr_assert(fabs(r.dx[e] - want) <= tol,
                              "%s pact %d dX(%zu,%zu) = %.9g, want %.9g", kt->name, pact, i, j,
                              r.dx[e], want);
                }
            /* same bits: scalar table, 2 and 3 threads, *_part in a region */
            struct {
                const kernels *t;
                int nt, part;
            } v[] = {{ks, 1, 0}, {kt, 2, 0}, {kt, 3, 1}};
            for (size_t q = 0; q < sizeof v / sizeof v[0]; q++) {
                memset(r2.dx, 0xff, (nx + 1) * 4);
                run_backward(v[q].t, s, x, w, dz, pact, zp, yp, dw0, db0, &r2, v[q].nt, v[q].part);
                cr_assert_eq(test_first_bit_mismatch(r.dw, r2.dw, nw), SIZE_MAX,
                             "dW bits, variant %zu", q);
                cr_assert_eq(test_first_bit_mismatch(r.db, r2.db, s->out), SIZE_MAX,
                             "db bits, variant %zu", q);
                cr_assert_eq(test_first_bit_mismatch(r.dx, r2.dx, nx), SIZE_MAX,
                             "%s pact %d shape %zu: dX bits, variant %zu", kt->name, pact, si, q);
            }
        }
        /* first layer: dx == NULL, no db, overwrite dW */
        memcpy(r.dw, dw0, nw * 4);
        float *ws = ws_for(kt, 1);
        linear_backward(kt, s->n, s->in, s->out, x, w, dz, r.dw, NULL, 0, ACT_IDENTITY, NULL, NULL,
                        NULL, ws, 1);
        free(ws);
        for (size_t o = 0; o < s->out; o++)
            for (size_t j = 0; j < s->in; j++) {
                float acc = 0.0f;
                for (size_t i = 0; i < s->n; i++)
                    acc = fmaf(dz[i * s->out + o], x[i * s->in + j], acc);
                cr_assert_eq(memcmp(&acc, &r.dw[o * s->in + j], 4), 0, "dW overwrite (%zu,%zu)", o,
                             j);
            }
        test_free(x);
        test_free(w);
        test_free(dz);
        free(zp);
        free(yp);
        free(dw0);
        free(db0);
        free(r.dw);
        free(r.db);
        free(r.dx);
        free(r2.dw);
        free(r2.db);
        free(r2.dx);
    }
}

/* The top layer's dZ = act'(Z) dY, rows split between threads. */
Test(linear, act_backward_part) {
    const kernels *kt = kernels_active();
    const size_t n = 37, out = 19;
    float *z = malloc(n * out * 4), *y = malloc(n * out * 4), *dy = malloc(n * out * 4);
    float *dz = malloc(n * out * 4);
    test_fill(z, n * out, 1, -3, 3);
    test_fill(dy, n * out, 2, -1, 1);
    for (int act = 0; act < ACT_COUNT; act++) {
        for (size_t e = 0; e < n * out; e++) y[e] = (float)act_d(act, z[e]);
#pragma omp parallel num_threads(3)
        linear_act_backward_part(kt, n, out, act, z, y, dy, dz, omp_get_thread_num(),
                                 omp_get_num_threads());
        for (size_t e = 0; e < n * out; e++) {
            const double want = dy[e] * act_deriv(act, z[e], y[e]);
            cr_assert(fabs(dz[e] - want) <= 4e-6 * fabs(want) + 1e-7,
                      "act %d: dz[%zu] = %g, want %g", act, e, dz[e], want);
        }
    }
    free(z);
    free(y);
    free(dy);
    free(dz);
}
