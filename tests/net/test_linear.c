/* One linear layer (src/net/linear.h): the three functions that nerve_net's
 * forward pass and training step and the public nerve_linear_* call, on
 * every ISA this CPU supports, against naive references written here:
 *   forward   every path (GEMM packing W, GEMM reading W^T in place,
 *             gemv_t on W^T, gemv_n for LINEAR_ONE_DOT) against the
 *             contract's chain (fmaf over k from 0, then + b) or, for
 *             gemv_n, the 16-lane dot with its fixed tree, bit for bit; Y
 *             the table's activation of that Z, bit for bit, and close to
 *             the activation in double. Every LINEAR_CHAIN row thus has the
 *             same bits alone and in any batch (net.h's batch invariance),
 *             checked directly as well;
 *   backward-data  dX = the fmaf chain over the out columns, times the
 *             previous layer's derivative (the table's act_bwd of the
 *             reference chain, bit for bit; close to the double derivative);
 *   gradients dW = the fmaf chain over the rows from 0 or from dW
 *             (accumulate), or the single product for one row, db = the
 *             chain of additions, bit for bit; and the per-block hook: every
 *             element of dW and db in exactly one block, each block within
 *             the share linear_grad_block gives the calling thread, and
 *             already final when the hook sees it;
 *   each from 1, 2, 3 (and 4) threads of a parallel region. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "linear.h"
#include "testutil.h"

/* ---- references ----------------------------------------------------------- */

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }
static double phi_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* the activations in double (PyTorch's definitions) */
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
static int close_to(double got, double want) {
    return fabs(got - want) <= 4e-6 * fabs(want) + 1e-7;
}

/* The GEMM contract's chain: fma over p = 0 .. k-1 in order, from 0
 * (a[p * as] * b[p * bs]). */
static float chain(size_t k, const float *a, size_t as, const float *b, size_t bs) {
    float acc = 0.0f;
    for (size_t p = 0; p < k; p++) acc = fmaf(a[p * as], b[p * bs], acc);
    return acc;
}

/* gemv_n's dot (simd/table.h, simd/generic/gemv.c): lane l of 16 runs the
 * fma chain over elements l, l + 16, ... (lanes past n add 0 * 0), then
 * one fixed tree: lanes l + l+8, then + 4, + 2, + 1 (vf_reduce_add). */
static float dot16(size_t n, const float *a, const float *x) {
    float acc[16] = {0};
    for (size_t j0 = 0; j0 < n; j0 += 16)
        for (size_t l = 0; l < 16; l++) {
            const float av = j0 + l < n ? a[j0 + l] : 0.0f, xv = j0 + l < n ? x[j0 + l] : 0.0f;
            acc[l] = fmaf(av, xv, acc[l]);
        }
    for (size_t w = 8; w >= 1; w /= 2)
        for (size_t l = 0; l < w; l++) acc[l] = acc[l] + acc[l + w];
    return acc[0];
}

static float *ws_for(const kernel_table *kt, int nt) {
    return aligned_alloc(64, (gemm_workspace_floats(kt, nt) * sizeof(float) + 63) / 64 * 64);
}

static float *floats(size_t n) { return malloc((n + 1) * sizeof(float)); }

typedef struct {
    size_t n, in, out;
} lshape;

#define ISA_PARAMS(suite, name)                                                                    \
    ParameterizedTestParameters(suite, name) {                                                     \
        static nerve_isa isas[NERVE_ISA_COUNT];                                                    \
        return cr_make_param_array(nerve_isa, isas, test_supported_isas(isas));                    \
    }

/* ---- forward --------------------------------------------------------------- */

/* n == 1 (the GEMV path and the one-row GEMM) and larger batches; in > KC (the chain crosses K blocks before the epilogue); in
 * == 0 (Z = b). */
static const lshape fwd_shapes[] = {
    {1, 1, 1},     {1, 33, 31},   {1, 70, 129},  {1, 600, 40},  {2, 3, 5}, {13, 33, 31},
    {32, 100, 40}, {33, 70, 129}, {64, 100, 10}, {25, 600, 40}, {5, 0, 7}, {1, 0, 7},
};

typedef struct fwd_variant {
    const char *name;
    int keep_z, nt;
    linear_path path;
} fwd_variant;

static const fwd_variant fwd_variants[] = {
    {"chain", 1, 1, LINEAR_CHAIN},
    {"chain, Z not kept", 0, 1, LINEAR_CHAIN},
    {"chain, 3 threads", 1, 3, LINEAR_CHAIN},
    {"chain, Z not kept, 2 threads", 0, 2, LINEAR_CHAIN},
    {"one dot", 1, 1, LINEAR_ONE_DOT},
    {"one dot, 3 threads", 0, 3, LINEAR_ONE_DOT},
    {"one dot, 2 threads", 1, 2, LINEAR_ONE_DOT},
};

/* linear_forward_part from every thread of a team of nt (inline for 1). */
static void run_forward(const kernel_table *kt, size_t n, size_t in, size_t out, const float *x,
                        const float *w, const float *b, int act, linear_path path,
                        float *z, float *y, float *ws, int nt) {
    if (nt <= 1) {
        linear_forward_part(kt, n, in, out, x, w, b, act, path, z, y, ws, 0, 1, NULL);
        return;
    }
#pragma omp parallel num_threads(nt)
    linear_forward_part(kt, n, in, out, x, w, b, act, path, z, y, ws, omp_get_thread_num(),
                        omp_get_num_threads(), NULL);
}

ISA_PARAMS(linear, forward)
ParameterizedTest(nerve_isa *isa, linear, forward) {
    const kernel_table *kt = kernels_for(*isa);
    cr_assert_not_null(kt);
    float *ws = ws_for(kt, 3);
    for (size_t si = 0; si < sizeof fwd_shapes / sizeof *fwd_shapes; si++) {
        const size_t n = fwd_shapes[si].n, in = fwd_shapes[si].in, out = fwd_shapes[si].out;
        const size_t nx = n * in, nw = out * in, ny = n * out;
        float *x = test_alloc(nx, 1), *w = test_alloc(nw, 2), *b = test_alloc(out, 3);
        float *zc = floats(ny), *zd = floats(ny), *yref = floats(ny), *z = floats(ny),
              *y = floats(ny);
        test_fill(x, nx, 100 + si, -1, 1);
        test_fill(w, nw, 200 + si, -1, 1);
        test_fill(b, out, 300 + si, -1, 1);
        /* Z by the chain (every path but gemv_n) and by the dot (gemv_n) */
        for (size_t i = 0; i < n; i++)
            for (size_t o = 0; o < out; o++) {
                zc[i * out + o] = chain(in, x + i * in, 1, w + o * in, 1) + b[o];
                zd[i * out + o] = dot16(in, w + o * in, x + i * in) + b[o];
            }
        for (int act = 0; act < ACT_COUNT; act++) {
            for (size_t q = 0; q < sizeof fwd_variants / sizeof *fwd_variants; q++) {
                const fwd_variant *v = &fwd_variants[q];
                const int dot = n == 1 && v->path == LINEAR_ONE_DOT;
                const float *zref = dot ? zd : zc;
                kt->act_fwd[act](ny, zref, yref);
                memset(z, 0xff, (ny + 1) * sizeof(float));
                memset(y, 0xff, (ny + 1) * sizeof(float));
                run_forward(kt, n, in, out, x, w, b, act, v->path,
                            v->keep_z ? z : NULL, y, ws, v->nt);
                const size_t e = test_first_bit_mismatch(y, yref, ny);
                cr_assert_eq(e, SIZE_MAX, "%s %zux%zux%zu act %d %s: Y[%zu] = %a, want %a",
                             kt->name, n, in, out, act, v->name, e, y[e], yref[e]);
                if (v->keep_z) {
                    const size_t ez = test_first_bit_mismatch(z, zref, ny);
                    cr_assert_eq(ez, SIZE_MAX, "%s %zux%zux%zu act %d %s: Z[%zu] = %a, want %a",
                                 kt->name, n, in, out, act, v->name, ez, z[ez], zref[ez]);
                }
            }
            /* the references themselves against the layer in double */
            for (size_t i = 0; i < n; i++)
                for (size_t o = 0; o < out; o++) {
                    double d = b[o], mag = fabs(b[o]);
                    for (size_t k = 0; k < in; k++) {
                        d += (double)x[i * in + k] * w[o * in + k];
                        mag += fabs((double)x[i * in + k] * w[o * in + k]);
                    }
                    const float zv = zc[i * out + o];
                    cr_assert(fabs(zv - d) <= (double)(in + 2) * 1.2e-7 * mag + 1e-30,
                              "Z(%zu,%zu) = %g, double %g", i, o, zv, d);
                    kt->act_fwd[act](1, &zv, yref);
                    cr_assert(close_to(yref[0], act_d(act, zv)), "%s act %d: Y = %.9g, want %.9g",
                              kt->name, act, yref[0], act_d(act, zv));
                }
        }
        /* batch invariance, directly: each row alone = its row in the batch */
        if (n > 1) {
            run_forward(kt, n, in, out, x, w, b, ACT_GELU, LINEAR_CHAIN, NULL, y, ws, 2);
            for (size_t i = 0; i < n; i++) {
                run_forward(kt, 1, in, out, x + i * in, w, b, ACT_GELU, LINEAR_CHAIN, NULL, z, ws,
                            1);
                cr_assert_eq(test_first_bit_mismatch(z, y + i * out, out), SIZE_MAX,
                             "%s %zux%zux%zu: row %zu alone differs from the batch", kt->name, n,
                             in, out, i);
            }
        }
        /* no bias: Y = the chain */
        run_forward(kt, n, in, out, x, w, NULL, ACT_IDENTITY, LINEAR_CHAIN, NULL, y, ws, 1);
        for (size_t i = 0; i < n; i++)
            for (size_t o = 0; o < out; o++) {
                const float want = chain(in, x + i * in, 1, w + o * in, 1);
                cr_assert_eq(memcmp(&y[i * out + o], &want, sizeof want), 0,
                             "b == NULL: Y(%zu,%zu)", i, o);
            }
        test_free(x), test_free(w), test_free(b);
        free(zc), free(zd), free(yref), free(z), free(y);
    }
    free(ws);
}

/* ---- backward-data ---------------------------------------------------------- */

static const lshape bwd_shapes[] = {
    {1, 1, 1},    {1, 33, 31},   {1, 129, 70},  {2, 3, 5},     {13, 33, 31},
    {12, 32, 32}, {64, 100, 10}, {37, 70, 129}, {25, 40, 600}, /* out > KC */
};

ISA_PARAMS(linear, backward_data)
ParameterizedTest(nerve_isa *isa, linear, backward_data) {
    const kernel_table *kt = kernels_for(*isa);
    cr_assert_not_null(kt);
    float *ws = ws_for(kt, 3);
    for (size_t si = 0; si < sizeof bwd_shapes / sizeof *bwd_shapes; si++) {
        const size_t n = bwd_shapes[si].n, in = bwd_shapes[si].in, out = bwd_shapes[si].out;
        const size_t nx = n * in, nw = out * in, nz = n * out;
        float *w = test_alloc(nw, 2), *dz = test_alloc(nz, 3), *zp = floats(nx), *yp = floats(nx);
        float *chains = floats(nx), *want = floats(nx), *dx = floats(nx);
        test_fill(w, nw, 400 + si, -1, 1);
        test_fill(dz, nz, 500 + si, -1, 1);
        test_fill(zp, nx, 600 + si, -3, 3);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < in; j++)
                chains[i * in + j] = chain(out, dz + i * out, 1, w + j, in);
        for (int pact = 0; pact < ACT_COUNT; pact++) {
            kt->act_fwd[pact](nx, zp, yp); /* the previous layer's Y = act(Zp) */
            memcpy(want, chains, nx * sizeof(float));
            if (pact != ACT_IDENTITY) kt->act_bwd[pact](nx, zp, yp, want, want);
            for (int nt = 1; nt <= 3; nt++) {
                memset(dx, 0xff, (nx + 1) * sizeof(float));
                if (nt == 1) {
                    linear_backward_data_part(kt, n, in, out, w, dz, pact, zp, yp, dx, ws, 0, 1);
                } else {
#pragma omp parallel num_threads(nt)
                    linear_backward_data_part(kt, n, in, out, w, dz, pact, zp, yp, dx, ws,
                                              omp_get_thread_num(), omp_get_num_threads());
                }
                const size_t e = test_first_bit_mismatch(dx, want, nx);
                cr_assert_eq(e, SIZE_MAX,
                             "%s %zux%zux%zu pact %d, %d threads: dX[%zu] = %a, want %a", kt->name,
                             n, in, out, pact, nt, e, dx[e], want[e]);
            }
            /* the reference against the math in double */
            for (size_t e = 0; e < nx; e++) {
                double d = 0, dm = 0;
                const size_t i = e / in, j = e % in;
                for (size_t o = 0; o < out; o++) {
                    d += (double)dz[i * out + o] * w[o * in + j];
                    dm += fabs((double)dz[i * out + o] * w[o * in + j]);
                }
                const double f = act_deriv(pact, zp[e], yp[e]), r = d * f;
                cr_assert(fabs(want[e] - r) <=
                              (double)(out + 2) * 1.2e-7 * dm * fabs(f) + 4e-6 * fabs(r) + 1e-7,
                          "%s pact %d dX(%zu,%zu) = %.9g, double %.9g", kt->name, pact, i, j,
                          want[e], r);
            }
        }
        test_free(w), test_free(dz);
        free(zp), free(yp), free(chains), free(want), free(dx);
    }
    free(ws);
}

/* ---- weight and bias gradients, and the hook ---------------------------------- */

/* What the hook saw: how often each element of dW and db was in a block,
 * and any block that was not final yet or not the calling thread's. */
typedef struct hook_log {
    size_t n, in, out;
    const kernel_table *kt;
    int nt, tid; /* the team, and the caller (-1: omp_get_thread_num()) */
    const float *dw, *db, *want_dw, *want_db; /* db / dw may be NULL */
    unsigned char *seen_w, *seen_b;
    int bad_thread, bad_value, calls;
} hook_log;

static void log_block(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1) {
    hook_log *h = ctx;
    size_t t0, t1, u0, u1;
    const int tid = h->tid >= 0 ? h->tid : omp_get_thread_num();
    linear_grad_block(h->kt, h->out, h->in, tid, h->nt, &t0, &t1, &u0, &u1);
    if (r0 < t0 || r1 > t1 || c0 != u0 || c1 != u1 || r0 >= r1)
        __atomic_store_n(&h->bad_thread, 1, __ATOMIC_RELAXED);
    for (size_t i = r0; i < r1 && i < h->out; i++) {
        if (c0 == 0) {
            __atomic_fetch_add(&h->seen_b[i], 1, __ATOMIC_RELAXED);
            if (h->db && memcmp(&h->db[i], &h->want_db[i], sizeof(float)))
                __atomic_store_n(&h->bad_value, 1, __ATOMIC_RELAXED);
        }
        for (size_t j = c0; j < c1 && j < h->in; j++) {
            __atomic_fetch_add(&h->seen_w[i * h->in + j], 1, __ATOMIC_RELAXED);
            const size_t e = i * h->in + j;
            if (h->dw && memcmp(&h->dw[e], &h->want_dw[e], sizeof(float)))
                __atomic_store_n(&h->bad_value, 1, __ATOMIC_RELAXED);
        }
    }
    __atomic_fetch_add(&h->calls, 1, __ATOMIC_RELAXED);
}

/* one row (the product), several chunks of rows (out x in > the chunk),
 * a thin output layer (threads split its columns), in == 0 (db only), and
 * a batch whose input is too large for one prepacked B on the x86 tables
 * (600 x 3000 floats: k in slices, each packed once for every chunk, on
 * one thread and, 60 rows being several chunks for up to 2-3 threads,
 * within each thread's block; on the scalar table, NC 1024, not even a
 * slice fits: each chunk packs its own) */
static const lshape grad_shapes[] = {
    {1, 33, 31},   {1, 600, 300}, {2, 3, 5},    {13, 33, 31}, {7, 600, 300},
    {64, 100, 10}, {25, 600, 40}, {300, 20, 3}, {5, 0, 7},    {600, 3000, 60},
};

typedef struct grad_variant {
    int nt, with_dw, with_db;
} grad_variant;

static const grad_variant grad_variants[] = {{1, 1, 1}, {2, 1, 1}, {3, 1, 1},
                                             {4, 1, 1}, {3, 0, 1}, {2, 1, 0}};

ISA_PARAMS(linear, gradients)
ParameterizedTest(nerve_isa *isa, linear, gradients) {
    const kernel_table *kt = kernels_for(*isa);
    cr_assert_not_null(kt);
    float *ws = ws_for(kt, 4);
    for (size_t si = 0; si < sizeof grad_shapes / sizeof *grad_shapes; si++) {
        const size_t n = grad_shapes[si].n, in = grad_shapes[si].in, out = grad_shapes[si].out;
        const size_t nx = n * in, nw = out * in, nz = n * out;
        float *x = test_alloc(nx, 1), *dz = test_alloc(nz, 3), *dw0 = floats(nw),
              *db0 = floats(out);
        float *want_dw = floats(nw), *want_db = floats(out), *dw = floats(nw), *db = floats(out);
        unsigned char *seen_w = malloc(nw + 1), *seen_b = malloc(out + 1);
        test_fill(x, nx, 700 + si, -1, 1);
        test_fill(dz, nz, 800 + si, -1, 1);
        test_fill(dw0, nw, 900 + si, -1, 1);
        test_fill(db0, out, 1000 + si, -1, 1);
        for (int acc = 0; acc <= 1; acc++) {
            for (size_t o = 0; o < out; o++) {
                float s = acc ? db0[o] : 0.0f;
                for (size_t i = 0; i < n; i++) s = s + dz[i * out + o];
                want_db[o] = s;
                for (size_t j = 0; j < in; j++) {
                    float d = acc ? dw0[o * in + j] : 0.0f;
                    if (n == 1 && !acc) /* the product alone (a -0 stays -0) */
                        d = dz[o] * x[j];
                    else
                        for (size_t i = 0; i < n; i++) d = fmaf(dz[i * out + o], x[i * in + j], d);
                    want_dw[o * in + j] = d;
                }
            }
            for (size_t q = 0; q < sizeof grad_variants / sizeof *grad_variants; q++) {
                const grad_variant *v = &grad_variants[q];
                memcpy(dw, dw0, nw * sizeof(float));
                memcpy(db, db0, out * sizeof(float));
                memset(seen_w, 0, nw + 1);
                memset(seen_b, 0, out + 1);
                hook_log h = {n,
                              in,
                              out,
                              kt,
                              v->nt,
                              -1,
                              v->with_dw ? dw : NULL,
                              v->with_db ? db : NULL,
                              want_dw,
                              want_db,
                              seen_w,
                              seen_b,
                              0,
                              0,
                              0};
                const linear_grad_hook hook = {log_block, &h};
                float *pdw = v->with_dw ? dw : NULL, *pdb = v->with_db ? db : NULL;
                if (v->nt == 1) {
                    linear_grad_part(kt, n, in, out, x, dz, pdw, pdb, acc, &hook, ws, 0, 1);
                } else {
#pragma omp parallel num_threads(v->nt)
                    {
#pragma omp single
                        h.nt = omp_get_num_threads(); /* the team libgomp gave */
                        linear_grad_part(kt, n, in, out, x, dz, pdw, pdb, acc, &hook, ws,
                                         omp_get_thread_num(), omp_get_num_threads());
                    }
                }
                const char *what = v->with_dw ? (v->with_db ? "dW and db" : "dW") : "db";
                cr_assert(!h.bad_thread,
                          "%s %zux%zux%zu acc %d %d threads (%s): a block outside the calling "
                          "thread's share",
                          kt->name, n, in, out, acc, v->nt, what);
                cr_assert(!h.bad_value,
                          "%s %zux%zux%zu acc %d %d threads (%s): the hook saw a block not final",
                          kt->name, n, in, out, acc, v->nt, what);
                for (size_t e = 0; e < nw; e++)
                    cr_assert_eq(seen_w[e], 1,
                                 "%s %zux%zux%zu %d threads: dW(%zu,%zu) in %d blocks", kt->name, n,
                                 in, out, v->nt, e / in, e % in, seen_w[e]);
                for (size_t o = 0; o < out; o++)
                    cr_assert_eq(seen_b[o], 1, "%s %zux%zux%zu %d threads: db(%zu) in %d blocks",
                                 kt->name, n, in, out, v->nt, o, seen_b[o]);
                /* the computed arrays, and the ones left out untouched */
                const float *ew = v->with_dw ? want_dw : dw0, *eb = v->with_db ? want_db : db0;
                size_t e = test_first_bit_mismatch(dw, ew, nw);
                cr_assert_eq(e, SIZE_MAX,
                             "%s %zux%zux%zu acc %d %d threads (%s): dW[%zu] = %a, want %a",
                             kt->name, n, in, out, acc, v->nt, what, e, dw[e], ew[e]);
                e = test_first_bit_mismatch(db, eb, out);
                cr_assert_eq(e, SIZE_MAX,
                             "%s %zux%zux%zu acc %d %d threads (%s): db[%zu] = %a, want %a",
                             kt->name, n, in, out, acc, v->nt, what, e, db[e], eb[e]);
                /* several chunks where dW exceeds one */
                if (v->nt == 1 && nw > 2 * LINEAR_GRAD_CHUNK_FLOATS)
                    cr_assert(h.calls > 1, "%zux%zu: one block for %zu floats", out, in, nw);
            }
            /* no hook: the same bits */
            memcpy(dw, dw0, nw * sizeof(float));
            memcpy(db, db0, out * sizeof(float));
            linear_grad_part(kt, n, in, out, x, dz, dw, db, acc, NULL, ws, 0, 1);
            cr_assert_eq(test_first_bit_mismatch(dw, want_dw, nw), SIZE_MAX, "no hook: dW");
            cr_assert_eq(test_first_bit_mismatch(db, want_db, out), SIZE_MAX, "no hook: db");
        }
        test_free(x), test_free(dz);
        free(dw0), free(db0), free(want_dw), free(want_db), free(dw), free(db);
        free(seen_w), free(seen_b);
    }
    free(ws);
}

/* Many threads on paper: the blocks of teams of up to 64 (more threads
 * than row units: the columns split too), each thread's call made in turn
 * on this one (linear_grad_part has no barrier, so this is the same work);
 * one row without accumulating needs no workspace. */
Test(linear, hook_many_threads) {
    const kernel_table *kt = kernels_active();
    const size_t in = 784, out = 10;
    float *x = floats(in), *dz = floats(out), *dw = floats(out * in), *db = floats(out);
    float *want_dw = floats(out * in), *want_db = floats(out);
    unsigned char *seen_w = malloc(out * in), *seen_b = malloc(out);
    test_fill(x, in, 1, -1, 1);
    test_fill(dz, out, 2, -1, 1);
    for (size_t o = 0; o < out; o++) {
        want_db[o] = 0.0f + dz[o];
        for (size_t j = 0; j < in; j++) want_dw[o * in + j] = dz[o] * x[j];
    }
    for (int nt = 1; nt <= 64; nt++) {
        memset(seen_w, 0, out * in);
        memset(seen_b, 0, out);
        memset(dw, 0xff, out * in * sizeof(float));
        memset(db, 0xff, out * sizeof(float));
        hook_log h = {1, in, out, kt, nt, 0, dw, db, want_dw, want_db, seen_w, seen_b, 0, 0, 0};
        const linear_grad_hook hook = {log_block, &h};
        for (h.tid = 0; h.tid < nt; h.tid++)
            linear_grad_part(kt, 1, in, out, x, dz, dw, db, 0, &hook, NULL, h.tid, nt);
        cr_assert(!h.bad_thread, "%d threads: a block outside its thread's share", nt);
        cr_assert(!h.bad_value, "%d threads: the hook saw a block not final", nt);
        for (size_t e = 0; e < out * in; e++)
            cr_assert_eq(seen_w[e], 1, "%d threads: dW(%zu,%zu) in %d blocks", nt, e / in, e % in,
                         seen_w[e]);
        for (size_t o = 0; o < out; o++)
            cr_assert_eq(seen_b[o], 1, "%d threads: db(%zu) in %d blocks", nt, o, seen_b[o]);
        cr_assert_eq(test_first_bit_mismatch(dw, want_dw, out * in), SIZE_MAX, "%d threads: dW",
                     nt);
        cr_assert_eq(test_first_bit_mismatch(db, want_db, out), SIZE_MAX, "%d threads: db", nt);
    }
    free(x), free(dz), free(dw), free(db), free(want_dw), free(want_db);
    free(seen_w), free(seen_b);
}
