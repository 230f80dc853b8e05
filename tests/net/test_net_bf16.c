/* bf16 mixed precision training (nerve_net_set_precision, net.h):
 *   - the step's gradients equal a naive re-implementation written here from
 *     the definitions (every operand rounded by bf16_round, every product
 *     element the chain of bf16_dp_ref over its pairs), bit for bit, on odd
 *     widths and an odd batch (the padding halves), and on a 1024-wide
 *     input (the weight gradient's chunks sharing one packed input), and
 *     again after each way the weights change (the update's bf16 copies);
 *   - the weight gradient of a large batch (its input packed in slices);
 *   - bit-identical weights and losses for 1, 2, 3 and 8 threads and every
 *     kernel table this CPU supports (vdpbf16ps and the emulations);
 *   - close to fp32, learns digits as well, and the API's bad arguments. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "gemm_bf16.h"
#include "linear_bf16.h"
#include "nerve/nerve.h"
#include "net_plan.h"
#include "testutil.h"

/* ---- the naive reference ---------------------------------------------------- */

static uint32_t rb(float x) { return bf16_round(bf16_bits(x)); }
/* the pair word of two floats (the second may be absent: +0) */
static uint32_t pair(float lo, const float *hi) { return rb(lo) | (hi ? rb(*hi) : 0u) << 16; }

/* C[i][j] = chain over q < ceil(k/2) of bf16_dp_ref(acc, B word (q, j), A word (i, q)),
 * with A(i, p) = a[i*ars + p*acs], B(p, j) = b[p*brs + j*bcs] in fp32. */
static void bf16_product(size_t m, size_t n, size_t k, const float *a, size_t ars, size_t acs,
                         const float *b, size_t brs, size_t bcs, float *c) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            uint32_t acc = 0;
            for (size_t q = 0; q < (k + 1) / 2; q++) {
                const size_t p0 = 2 * q, p1 = 2 * q + 1;
                const uint32_t aw =
                    pair(a[i * ars + p0 * acs], p1 < k ? &a[i * ars + p1 * acs] : NULL);
                const uint32_t bw =
                    pair(b[p0 * brs + j * bcs], p1 < k ? &b[p1 * brs + j * bcs] : NULL);
                acc = bf16_dp_ref(acc, bw, aw);
            }
            c[i * n + j] = bf16_f32(acc);
        }
}

#define L_ 2
static const nerve_act acts[L_] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
#define N_ 5

/* dW, db of both layers of a net of widths sz for one xent batch of N_, as
 * the definitions say. The elementwise parts (activations, the loss
 * gradient) are the scalar table's kernels, which fp32 training uses the
 * same way. */
static void reference_grads(const nerve_net *net, const size_t sz[L_ + 1], const float *x,
                            const int32_t *labels, float *dw[L_], float *db[L_]) {
    const kernel_table *kt = kernels_for(NERVE_ISA_SCALAR);
    float *z[L_], *a[L_], *dz[L_], loss[N_];
    for (size_t l = 0; l < L_; l++) {
        const size_t w = sz[l + 1] > sz[l] ? sz[l + 1] : sz[l];
        z[l] = malloc(N_ * w * 4);
        a[l] = malloc(N_ * w * 4);
        dz[l] = malloc(N_ * w * 4);
        cr_assert(z[l] && a[l] && dz[l]);
    }
    for (size_t l = 0; l < L_; l++) {
        const size_t in = sz[l], out = sz[l + 1];
        const float *w = nerve_net_weights((nerve_net *)net, l);
        const float *b = nerve_net_bias((nerve_net *)net, l), *xin = l ? a[l - 1] : x;
        /* Z = X W^T: A = X (row-major), B(p, o) = W[o][p] */
        bf16_product(N_, out, in, xin, in, 1, w, 1, in, z[l]);
        for (size_t i = 0; i < N_; i++)
            for (size_t o = 0; o < out; o++) z[l][i * out + o] = z[l][i * out + o] + b[o];
        kt->act_fwd[acts[l]](N_ * out, z[l], a[l]);
    }
    const size_t C = sz[L_];
    kt->loss_xent(N_, C, a[L_ - 1], labels, (float)(1.0 / N_), dz[L_ - 1], loss);
    for (size_t l = L_; l-- > 0;) {
        const size_t in = sz[l], out = sz[l + 1];
        const float *xin = l ? a[l - 1] : x;
        /* dW = dZ^T X: A(o, i) = dZ[i][o], B(i, j) = X[i][j] */
        bf16_product(out, in, N_, dz[l], 1, out, xin, in, 1, dw[l]);
        for (size_t o = 0; o < out; o++) {
            float s = 0.0f;
            for (size_t i = 0; i < N_; i++) s = s + dz[l][i * out + o];
            db[l][o] = s;
        }
        if (l == 0) break;
        /* dX = dZ W, times the previous activation's derivative */
        const float *w = nerve_net_weights((nerve_net *)net, l);
        bf16_product(N_, in, out, dz[l], out, 1, w, in, 1, dz[l - 1]);
        kt->act_bwd[acts[l - 1]](N_ * in, z[l - 1], a[l - 1], dz[l - 1], dz[l - 1]);
    }
    for (size_t l = 0; l < L_; l++) {
        free(z[l]);
        free(a[l]);
        free(dz[l]);
    }
}

/* Two shapes: odd widths, and a 1024-wide input under 100 outputs, whose
 * weight gradient runs in chunks of rows that share their packed input
 * (linear_bf16_grad_part's prepacked B, on one thread) */
static const size_t def_sizes[2][L_ + 1] = {{7, 5, 3}, {1024, 100, 3}};
static const int32_t def_labels[N_] = {0, 2, 1, 1, 2};

/* The gradients of net (nerve_net_gradients on x, def_labels) equal the
 * definition on its current weights, bit for bit; dw0: NULL, or where the
 * definition's dW of layer 0 is kept. */
static void check_definition(nerve_net *net, const size_t sz[L_ + 1], const float *x,
                             const char *when, float *dw0) {
    float *dw[L_], *db[L_];
    for (size_t l = 0; l < L_; l++) {
        dw[l] = malloc(sz[l] * sz[l + 1] * 4);
        db[l] = malloc(sz[l + 1] * 4);
        cr_assert(dw[l] && db[l]);
    }
    const nerve_batch bt = {.x = x, .labels = def_labels, .n = N_};
    float lossv;
    cr_assert_eq(nerve_net_gradients(net, &bt, &lossv), NERVE_OK, "%s", nerve_last_error());
    reference_grads(net, sz, x, def_labels, dw, db);
    const char *isa = nerve_isa_name(nerve_isa_active());
    for (size_t l = 0; l < L_; l++) {
        size_t bad =
            test_first_bit_mismatch(dw[l], nerve_net_weight_grad(net, l), sz[l] * sz[l + 1]);
        cr_assert_eq(bad, SIZE_MAX,
                     "%zu-%zu-%zu, %s, %d threads, %s: dW%zu[%zu] = %a, definition %a", sz[0],
                     sz[1], sz[2], isa, omp_get_max_threads(), when, l, bad,
                     (double)nerve_net_weight_grad(net, l)[bad], (double)dw[l][bad]);
        bad = test_first_bit_mismatch(db[l], nerve_net_bias_grad(net, l), sz[l + 1]);
        cr_assert_eq(bad, SIZE_MAX, "%zu-%zu-%zu, %s, %s: db%zu[%zu]", sz[0], sz[1], sz[2], isa,
                     when, l, bad);
    }
    if (dw0) memcpy(dw0, dw[0], sz[0] * sz[1] * 4);
    for (size_t l = 0; l < L_; l++) {
        free(dw[l]);
        free(db[l]);
    }
}

/* For the tests on def_sizes: every thread gets work however small the
 * step (net_set_flops_per_thread(0)); returns the tables to run. */
static size_t def_setup(nerve_isa isas[NERVE_ISA_COUNT]) {
    net_set_flops_per_thread(0);
    return test_supported_isas(isas);
}

/* A batch of N_ inputs for widths sz, in [-2, 2] from seed. */
static float *def_input(const size_t sz[L_ + 1], uint64_t seed) {
    float *x = malloc(N_ * sz[0] * 4);
    cr_assert_not_null(x);
    test_fill(x, N_ * sz[0], seed, -2.0f, 2.0f);
    return x;
}

/* A bf16 network of widths sz on `isa` and nt threads. */
static nerve_net *bf16_net(const size_t sz[L_ + 1], nerve_isa isa, int nt, uint64_t seed) {
    cr_assert_eq(nerve_set_max_isa(isa), NERVE_OK);
    omp_set_num_threads(nt);
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, L_, sz, acts, NERVE_LOSS_XENT, seed), NERVE_OK);
    cr_assert_eq(nerve_net_set_precision(net, NERVE_PRECISION_BF16), NERVE_OK);
    return net;
}

Test(net_bf16, gradients_match_the_definition, .timeout = 300) {
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = def_setup(isas);
    for (size_t si = 0; si < 2; si++) {
        const size_t *sz = def_sizes[si];
        float *x = def_input(sz, 99), *dw0 = malloc(sz[0] * sz[1] * 4);
        cr_assert_not_null(dw0);
        for (size_t ii = 0; ii < ni; ii++)
            for (int nt = 1; nt <= 3; nt += 2) {
                nerve_net *net = bf16_net(sz, isas[ii], nt, 5);
                check_definition(net, sz, x, "a new network", dw0);
                /* and not the fp32 gradients: the precision did something */
                cr_assert_eq(nerve_net_set_precision(net, NERVE_PRECISION_FP32), NERVE_OK);
                const nerve_batch bt = {.x = x, .labels = def_labels, .n = N_};
                float lossv;
                cr_assert_eq(nerve_net_gradients(net, &bt, &lossv), NERVE_OK);
                cr_assert_neq(
                    test_first_bit_mismatch(dw0, nerve_net_weight_grad(net, 0), sz[0] * sz[1]),
                    SIZE_MAX);
                nerve_net_free(net);
            }
        free(x);
        free(dw0);
    }
    nerve_set_max_isa(nerve_isa_best());
}

/* What the hook of weight_gradient_of_a_large_batch saw: every element of
 * dW in one block, each block final (equal to the reference) when seen. */
typedef struct grad_seen {
    size_t in;
    const float *dw, *want;
    unsigned char *seen;
    int not_final;
} grad_seen;

static void see_block(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1) {
    grad_seen *g = ctx;
    for (size_t i = r0; i < r1; i++)
        for (size_t j = c0; j < c1; j++) {
            __atomic_fetch_add(&g->seen[i * g->in + j], 1, __ATOMIC_RELAXED);
            if (memcmp(&g->dw[i * g->in + j], &g->want[i * g->in + j], sizeof(float)))
                __atomic_store_n(&g->not_final, 1, __ATOMIC_RELAXED);
        }
}

/* The weight gradient of a batch whose input is too large for one
 * prepacked B (799 rows of 2000 inputs: 400 pair rows, the last half
 * empty, of 2000 words, past the B block of every table, while one slice
 * fits): linear_bf16_grad_part cuts k into slices of the driver's KC
 * pairs, each packed once for the chunks of rows (37 rows: two or more on
 * every table). dW against the naive chain, db against the rows' sum,
 * written and accumulated, on every table, the emulations too; the hook
 * sees every element once, final. */
Test(net_bf16, weight_gradient_of_a_large_batch, .timeout = 300) {
    enum { N = 799, IN = 2000, OUT = 37 };
    const size_t kq = (N + 1) / 2;
    float *x = malloc(N * IN * 4), *dz = malloc(N * OUT * 4), *dw0 = malloc(OUT * IN * 4);
    float *db0 = malloc(OUT * 4), *dw = malloc(OUT * IN * 4), *db = malloc(OUT * 4);
    float *want[2] = {malloc(OUT * IN * 4), malloc(OUT * IN * 4)};
    float *want_b[2] = {malloc(OUT * 4), malloc(OUT * 4)};
    uint32_t *xc = malloc(kq * IN * 4), *dzc = malloc(kq * OUT * 4);
    unsigned char *seen = malloc(OUT * IN);
    cr_assert(x && dz && dw0 && db0 && dw && db && want[0] && want[1] && want_b[0] && want_b[1]);
    cr_assert(xc && dzc && seen);
    test_fill(x, N * IN, 41, -2.0f, 2.0f);
    test_fill(dz, N * OUT, 42, -1.0f, 1.0f);
    test_fill(dw0, OUT * IN, 43, -4.0f, 4.0f);
    test_fill(db0, OUT, 44, -4.0f, 4.0f);
    /* dZ^T X, as bf16_product computes it, with each pair word formed once;
     * accumulating, each chain starts from the old dW (and db's sum from
     * the old db) */
    uint32_t *xw = malloc(kq * IN * 4), *zw = malloc(kq * OUT * 4);
    cr_assert(xw && zw);
    for (size_t q = 0; q < kq; q++) {
        const int odd = 2 * q + 1 < N;
        for (size_t j = 0; j < IN; j++)
            xw[q * IN + j] = pair(x[2 * q * IN + j], odd ? &x[(2 * q + 1) * IN + j] : NULL);
        for (size_t o = 0; o < OUT; o++)
            zw[q * OUT + o] = pair(dz[2 * q * OUT + o], odd ? &dz[(2 * q + 1) * OUT + o] : NULL);
    }
    for (int acc = 0; acc < 2; acc++)
        for (size_t o = 0; o < OUT; o++) {
            for (size_t j = 0; j < IN; j++) {
                uint32_t s = acc ? bf16_bits(dw0[o * IN + j]) : 0u;
                for (size_t q = 0; q < kq; q++) s = bf16_dp_ref(s, xw[q * IN + j], zw[q * OUT + o]);
                want[acc][o * IN + j] = bf16_f32(s);
            }
            float sum = acc ? db0[o] : 0.0f;
            for (size_t i = 0; i < N; i++) sum += dz[i * OUT + o];
            want_b[acc][o] = sum;
        }
    free(xw), free(zw);
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = test_supported_isas(isas);
    for (size_t ii = 0; ii < 2 * ni; ii++) {
        const kernel_table *kt = ii < ni ? kernels_for(isas[ii]) : kernels_emulated(isas[ii - ni]);
        if (ii >= ni && kt == kernels_for(isas[ii - ni])) continue; /* no other table */
        kt->bf16_cvt_cols(N, IN, x, IN, xc, IN);
        kt->bf16_cvt_cols(N, OUT, dz, OUT, dzc, OUT);
        uint32_t *ws = aligned_alloc(64, gemm_bf16_workspace_words(kt, 1) * 4);
        cr_assert_not_null(ws);
        for (int acc = 0; acc < 2; acc++) {
            if (acc) {
                memcpy(dw, dw0, OUT * IN * 4);
                memcpy(db, db0, OUT * 4);
            } else { /* not read */
                memset(dw, 0xff, OUT * IN * 4);
                memset(db, 0xff, OUT * 4);
            }
            memset(seen, 0, OUT * IN);
            grad_seen g = {IN, dw, want[acc], seen, 0};
            const linear_grad_hook hook = {see_block, &g};
            linear_bf16_grad_part(kt, N, IN, OUT, xc, dzc, dz, dw, db, acc, &hook, ws, 0, 1);
            size_t bad = test_first_bit_mismatch(dw, want[acc], OUT * IN);
            cr_assert_eq(bad, SIZE_MAX, "%s (%s), accumulate %d: dW[%zu] = %a, the chain %a",
                         kt->name, kt->bf16_impl, acc, bad, (double)dw[bad],
                         (double)want[acc][bad]);
            bad = test_first_bit_mismatch(db, want_b[acc], OUT);
            cr_assert_eq(bad, SIZE_MAX, "%s, accumulate %d: db[%zu]", kt->name, acc, bad);
            cr_assert(!g.not_final, "%s, accumulate %d: the hook saw a block not final", kt->name,
                      acc);
            for (size_t e = 0; e < OUT * IN; e++)
                cr_assert_eq(seen[e], 1, "%s: dW[%zu] in %d blocks", kt->name, e, seen[e]);
        }
        free(ws);
    }
    free(x), free(dz), free(dw0), free(db0), free(dw), free(db), free(xc), free(dzc), free(seen);
    for (int acc = 0; acc < 2; acc++) free(want[acc]), free(want_b[acc]);
}

/* A bf16 step's update writes the next step's bf16 copies of the weights
 * as it updates them (train.c, update_block), and the next step skips converting
 * them. Every other way the weights change must make that step convert
 * again: after each of them the gradients equal the definition on the
 * weights as they now are. */
Test(net_bf16, weight_copies_follow_the_weights, .timeout = 300) {
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = def_setup(isas);
    for (size_t si = 0; si < 2; si++) {
        const size_t *sz = def_sizes[si];
        float *x = def_input(sz, 98);
        const nerve_batch bt = {.x = x, .labels = def_labels, .n = N_};
        for (size_t ii = 0; ii < ni; ii++)
            for (int nt = 1; nt <= 3; nt += 2) {
                nerve_net *net = bf16_net(sz, isas[ii], nt, 6);
                nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
                o.lr = 0.05f;
                o.momentum = 0.9f;
                cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
                float lossv;
                for (int s = 0; s < 2; s++) {
                    cr_assert_eq(nerve_net_train_batch(net, &bt, &lossv), NERVE_OK);
                    check_definition(net, sz, x, "after a bf16 step", NULL);
                }
                float *w0 = nerve_net_weights(net, 0), *w1 = nerve_net_weights(net, 1);
                w0[0] += 0.5f;
                w1[sz[1] * sz[2] - 1] *= -1.0f;
                check_definition(net, sz, x, "after writes through nerve_net_weights", NULL);
                cr_assert_eq(nerve_net_train_batch(net, &bt, &lossv), NERVE_OK);
                cr_assert_eq(nerve_net_set_precision(net, NERVE_PRECISION_FP32), NERVE_OK);
                cr_assert_eq(nerve_net_train_batch(net, &bt, &lossv), NERVE_OK);
                cr_assert_eq(nerve_net_set_precision(net, NERVE_PRECISION_BF16), NERVE_OK);
                check_definition(net, sz, x, "after an fp32 step", NULL);
                /* an update that overflows is undone: the weights are as before
                 * it, the copies it wrote are not */
                cr_assert_eq(nerve_net_train_batch(net, &bt, &lossv), NERVE_OK);
                o.lr = 1e30f;
                o.weight_decay = 1e30f; /* lr * wd * w overflows for every w != 0 */
                cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
                cr_assert_eq(nerve_net_train_batch(net, &bt, &lossv), NERVE_ENUMERIC,
                             "the update did not overflow");
                check_definition(net, sz, x, "after an update undone", NULL);
                nerve_net_free(net);
            }
        free(x);
    }
    nerve_set_max_isa(nerve_isa_best());
}

/* ---- reproducibility ----------------------------------------------------------- */

typedef struct config {
    size_t layers, sizes[5];
    nerve_act acts[4];
    nerve_loss loss;
    nerve_opt_kind opt;
} config;

/* odd widths, one input wider than every table's K block (bf16_kc pairs: at
 * most 256, 601 inputs are 301 pairs) */
static const config configs[] = {
    {3,
     {37, 70, 33, 10},
     {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_IDENTITY},
     NERVE_LOSS_XENT,
     NERVE_OPT_ADAM},
    {2, {601, 47, 3}, {NERVE_ACT_GELU, NERVE_ACT_SIGMOID}, NERVE_LOSS_MSE, NERVE_OPT_SGD},
};
static const size_t batches[] = {29, 1, 64, 7, 30};
#define NSTEPS (sizeof batches / sizeof batches[0])

static void train(const config *c, float *params, float *losses) {
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, c->layers, c->sizes, c->acts, c->loss, 11), NERVE_OK);
    cr_assert_eq(nerve_net_set_precision(net, NERVE_PRECISION_BF16), NERVE_OK);
    nerve_opt o = nerve_opt_default(c->opt);
    o.lr = 0.01f;
    cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
    const size_t in = c->sizes[0], C = c->sizes[c->layers];
    float *x = malloc(64 * in * sizeof(float)), *y = malloc(64 * C * sizeof(float));
    int32_t labels[64];
    for (size_t s = 0; s < NSTEPS; s++) {
        const size_t n = batches[s];
        test_fill(x, n * in, 1000 + s, -1.5f, 1.5f);
        test_fill(y, n * C, 1500 + s, 0.0f, 1.0f);
        for (size_t i = 0; i < n; i++) labels[i] = (int32_t)((i * 7 + s) % C);
        nerve_batch b = {.x = x, .n = n};
        if (c->loss == NERVE_LOSS_XENT)
            b.labels = labels;
        else
            b.y = y;
        cr_assert_eq(nerve_net_train_batch(net, &b, &losses[s]), NERVE_OK, "%s",
                     nerve_last_error());
    }
    size_t k = 0;
    for (size_t l = 0; l < c->layers; l++) {
        const size_t nw = c->sizes[l] * c->sizes[l + 1], nb = c->sizes[l + 1];
        memcpy(params + k, nerve_net_weights(net, l), nw * sizeof(float));
        memcpy(params + k + nw, nerve_net_bias(net, l), nb * sizeof(float));
        k += nw + nb;
    }
    free(x);
    free(y);
    nerve_net_free(net);
}

Test(net_bf16, threads_and_isas, .timeout = 300) {
    net_set_flops_per_thread(0);
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = test_supported_isas(isas);
    const int threads[] = {1, 2, 3, 8};
    static float ref[40000], got[40000]; /* configs[1]: 601 x 47 + 47 x 3 + 50 */
    float lref[NSTEPS], lgot[NSTEPS];
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        size_t count = 0;
        for (size_t l = 0; l < configs[c].layers; l++)
            count += configs[c].sizes[l] * configs[c].sizes[l + 1] + configs[c].sizes[l + 1];
        cr_assert_leq(count, sizeof ref / sizeof ref[0]);
        nerve_set_max_isa(NERVE_ISA_SCALAR);
        omp_set_num_threads(1);
        train(&configs[c], ref, lref);
        cr_assert(lref[0] != lref[NSTEPS - 1]);
        for (size_t i = 0; i < ni; i++)
            for (size_t t = 0; t < 4; t++) {
                cr_assert_eq(nerve_set_max_isa(isas[i]), NERVE_OK);
                omp_set_num_threads(threads[t]);
                train(&configs[c], got, lgot);
                size_t bad = test_first_bit_mismatch(ref, got, count);
                cr_assert_eq(bad, SIZE_MAX,
                             "config %zu, %s (%s), %d threads: parameter %zu: %a "
                             "vs scalar/1 %a",
                             c, nerve_isa_name(isas[i]), nerve_isa_bf16(isas[i]), threads[t], bad,
                             (double)got[bad], (double)ref[bad]);
                cr_assert_eq(test_first_bit_mismatch(lref, lgot, NSTEPS), SIZE_MAX);
            }
    }
    nerve_set_max_isa(nerve_isa_best());
}

/* ---- close to fp32 ----------------------------------------------------------------- */

/* bf16 keeps 8 significant bits (a relative rounding error up to 2^-9 per
 * operand), and the first layer's gradient of random inputs and labels is a
 * small sum of larger terms of both signs (32 samples with no common
 * signal), which amplifies it: the relative difference measured here is
 * about 0.11 (0.005 for the last layer). A layout or ordering mistake gives
 * gradients unrelated to fp32's (a relative difference near 1 or more). */
Test(net_bf16, gradients_close_to_fp32) {
    const size_t sz[4] = {64, 48, 32, 10};
    const nerve_act ac[3] = {NERVE_ACT_RELU, NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, 3, sz, ac, NERVE_LOSS_XENT, 3), NERVE_OK);
    float x[32 * 64];
    int32_t labels[32];
    test_fill(x, 32 * 64, 4, -1, 1);
    for (int i = 0; i < 32; i++) labels[i] = i % 10;
    const nerve_batch b = {.x = x, .labels = labels, .n = 32};
    static float g32[64 * 48];
    cr_assert_eq(nerve_net_gradients(net, &b, NULL), NERVE_OK);
    memcpy(g32, nerve_net_weight_grad(net, 0), sizeof g32);
    nerve_net_set_precision(net, NERVE_PRECISION_BF16);
    cr_assert_eq(nerve_net_precision(net), NERVE_PRECISION_BF16);
    cr_assert_eq(nerve_net_gradients(net, &b, NULL), NERVE_OK);
    const float *g16 = nerve_net_weight_grad(net, 0);
    double num = 0, den = 0;
    for (size_t i = 0; i < 64 * 48; i++) {
        num += (double)(g16[i] - g32[i]) * (g16[i] - g32[i]);
        den += (double)g32[i] * g32[i];
    }
    cr_assert(den > 0);
    cr_assert(sqrt(num / den) < 0.25, "relative difference %g", sqrt(num / den));
    cr_assert(sqrt(num / den) > 0, "bf16 gave the fp32 gradients");
    nerve_net_free(net);
}

Test(net_bf16, learns_digits_as_well_as_fp32, .timeout = 300) {
    nerve_data *d;
    cr_assert_eq(nerve_data_load_digits(&d), NERVE_OK);
    nerve_data *tr, *te;
    cr_assert_eq(nerve_data_split(d, 0.25, 1, &tr, &te), NERVE_OK);
    cr_assert_eq(nerve_data_standardize(tr, te), NERVE_OK);
    const size_t sz[3] = {64, 64, 10};
    const nerve_act ac[2] = {NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    double acc[2];
    for (int p = 0; p < 2; p++) {
        nerve_net *net;
        cr_assert_eq(nerve_net_create(&net, 2, sz, ac, NERVE_LOSS_XENT, 7), NERVE_OK);
        nerve_net_set_precision(net, (nerve_precision)p);
        nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
        nerve_net_set_optimizer(net, &o);
        const nerve_dataset dtr = nerve_data_view(tr), dte = nerve_data_view(te);
        const nerve_epoch_opts eo = {.batch_size = 32, .shuffle = 1};
        nerve_eval r;
        for (int e = 0; e < 10; e++)
            cr_assert_eq(nerve_net_train_epoch(net, &dtr, &eo, &r), NERVE_OK);
        cr_assert_eq(nerve_net_evaluate(net, &dte, &r), NERVE_OK);
        acc[p] = r.accuracy;
        nerve_net_free(net);
    }
    cr_assert(acc[0] > 0.9 && acc[1] > 0.9, "fp32 %.4f, bf16 %.4f", acc[0], acc[1]);
    cr_assert(fabs(acc[0] - acc[1]) < 0.02, "fp32 %.4f, bf16 %.4f", acc[0], acc[1]);
    nerve_data_free(d);
    nerve_data_free(tr);
    nerve_data_free(te);
}

/* ---- the API -------------------------------------------------------------------------- */

Test(net_bf16, api) {
    nerve_net *net;
    const size_t sz[2] = {3, 2};
    const nerve_act ac[1] = {NERVE_ACT_IDENTITY};
    cr_assert_eq(nerve_net_create(&net, 1, sz, ac, NERVE_LOSS_MSE, 1), NERVE_OK);
    cr_assert_eq(nerve_net_precision(net), NERVE_PRECISION_FP32, "fp32 by default");
    cr_assert_eq(nerve_net_set_precision(net, (nerve_precision)2), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "nerve_net_set_precision") != NULL);
    cr_assert_eq(nerve_net_precision(net), NERVE_PRECISION_FP32);
    cr_assert_eq(nerve_net_set_precision(NULL, NERVE_PRECISION_BF16), NERVE_EINVAL);
    cr_assert_eq(nerve_net_precision(NULL), NERVE_PRECISION_FP32);
    cr_assert_str_eq(nerve_precision_name(NERVE_PRECISION_BF16), "bf16");
    cr_assert_str_eq(nerve_precision_name(NERVE_PRECISION_FP32), "fp32");
    cr_assert_str_eq(nerve_precision_name((nerve_precision)7), "unknown");
    nerve_precision p;
    cr_assert_eq(nerve_precision_from_name("BF16", &p), NERVE_OK);
    cr_assert_eq(p, NERVE_PRECISION_BF16);
    cr_assert_eq(nerve_precision_from_name("fp16", &p), NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "fp32 or bf16") != NULL);
    cr_assert_eq(nerve_precision_from_name(NULL, &p), NERVE_EINVAL);
    /* a one-layer bf16 network trains (no backward-data at all) */
    cr_assert_eq(nerve_net_set_precision(net, NERVE_PRECISION_BF16), NERVE_OK);
    const float x[3] = {1, 2, 3}, y[2] = {0.5f, -1};
    const nerve_batch b = {.x = x, .y = y, .n = 1};
    float l0, l1;
    cr_assert_eq(nerve_net_train_batch(net, &b, &l0), NERVE_OK, "%s", nerve_last_error());
    cr_assert_eq(nerve_net_train_batch(net, &b, &l1), NERVE_OK);
    cr_assert(l1 < l0, "%g then %g", (double)l0, (double)l1);
    nerve_net_free(net);
}
