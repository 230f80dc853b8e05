/* Batch invariance of inference (net.h): a sample's outputs are the same bits
 * whether it is predicted alone (n == 1), at any row of any batch, with any
 * thread count and on any ISA, through nerve_net_forward,
 * nerve_net_forward_const (prepared or not) and nerve_net_evaluate; also
 * right after the weights changed (a training step, a write through
 * nerve_net_weights), so the one-sample path never runs on stale weights.
 *
 * The reference is each row computed inside one batch of all rows with the
 * scalar table on one thread; everything else must match it bit for bit. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nerve.h"
#include "net_plan.h"
#include "testutil.h"

typedef struct config {
    size_t layers, sizes[5];
    nerve_act acts[4];
    nerve_loss loss;
} config;

/* The network of the issue (64-256-128-10), odd widths around every tile and
 * vector width, an input wider than every table's KC (the chains continue
 * across K blocks) and every activation. */
static const config configs[] = {
    {3, {64, 256, 128, 10}, {NERVE_ACT_RELU, NERVE_ACT_RELU, NERVE_ACT_IDENTITY}, NERVE_LOSS_XENT},
    {3, {37, 70, 33, 17}, {NERVE_ACT_TANH, NERVE_ACT_GELU, NERVE_ACT_SIGMOID}, NERVE_LOSS_MSE},
    {4,
     {300, 47, 16, 31, 1},
     {NERVE_ACT_SILU, NERVE_ACT_ELU, NERVE_ACT_SOFTPLUS, NERVE_ACT_LEAKY_RELU},
     NERVE_LOSS_MSE},
    {1, {1, 1}, {NERVE_ACT_IDENTITY}, NERVE_LOSS_MSE},
};
#define NCONFIGS (sizeof configs / sizeof configs[0])
#define NROWS    41

static nerve_net *make(const config *c, uint64_t seed) {
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, c->layers, c->sizes, c->acts, c->loss, seed), NERVE_OK,
                 "%s", nerve_last_error());
    /* nonzero biases, so the bias step is checked too */
    for (size_t l = 0; l < c->layers; l++)
        test_fill(nerve_net_bias(net, l), c->sizes[l + 1], seed + l, -0.5f, 0.5f);
    return net;
}

static void expect_rows(const float *ref, const float *got, size_t rows, size_t C,
                        const char *what) {
    const size_t bad = test_first_bit_mismatch(ref, got, rows * C);
    cr_assert_eq(bad, SIZE_MAX, "%s: row %zu output %zu differs: %a (in the batch) vs %a", what,
                 bad == SIZE_MAX ? 0 : bad / C, bad == SIZE_MAX ? 0 : bad % C,
                 bad == SIZE_MAX ? 0.0 : (double)ref[bad],
                 bad == SIZE_MAX ? 0.0 : (double)got[bad]);
}

/* Every row alone and every split of the rows into batches of b gives the
 * reference bits, for every ISA and thread count. */
Test(batch_invariance, alone_and_in_batches) {
    net_set_flops_per_thread(0); /* use every thread even on these small nets */
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = test_supported_isas(isas);
    const int threads[] = {1, 2, 3};
    const size_t splits[] = {1, 2, 3, 8, 17, NROWS};
    for (size_t c = 0; c < NCONFIGS; c++) {
        const config *cf = &configs[c];
        const size_t in = cf->sizes[0], C = cf->sizes[cf->layers];
        nerve_net *net = make(cf, 11 + c);
        float *x = malloc(NROWS * in * sizeof(float));
        float *ref = malloc(NROWS * C * sizeof(float)), *got = malloc(NROWS * C * sizeof(float));
        test_fill(x, NROWS * in, 100 + c, -2.0f, 2.0f);
        nerve_set_max_isa(NERVE_ISA_SCALAR);
        omp_set_num_threads(1);
        cr_assert_eq(nerve_net_forward(net, x, NROWS, ref), NERVE_OK, "%s", nerve_last_error());
        for (size_t i = 0; i < ni; i++)
            for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
                cr_assert_eq(nerve_set_max_isa(isas[i]), NERVE_OK);
                omp_set_num_threads(threads[t]);
                for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
                    const size_t b = splits[s];
                    memset(got, 0xff, NROWS * C * sizeof(float));
                    for (size_t r = 0; r < NROWS; r += b) {
                        const size_t rows = NROWS - r < b ? NROWS - r : b;
                        cr_assert_eq(nerve_net_forward(net, x + r * in, rows, got + r * C),
                                     NERVE_OK, "%s", nerve_last_error());
                    }
                    char what[128];
                    snprintf(what, sizeof what, "config %zu, %s, %d threads, batches of %zu", c,
                             nerve_isa_name(isas[i]), threads[t], b);
                    expect_rows(ref, got, NROWS, C, what);
                }
            }
        free(x), free(ref), free(got);
        nerve_net_free(net);
    }
}

/* nerve_net_forward_const, one row at a time: the same bits before and after
 * nerve_net_prepare_inference (the two one-sample paths), on every ISA. */
Test(batch_invariance, forward_const_prepared_or_not) {
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = test_supported_isas(isas);
    for (size_t c = 0; c < NCONFIGS; c++) {
        const config *cf = &configs[c];
        const size_t in = cf->sizes[0], C = cf->sizes[cf->layers];
        nerve_net *net = make(cf, 21 + c);
        float *x = malloc(NROWS * in * sizeof(float));
        float *ref = malloc(NROWS * C * sizeof(float)), *got = malloc(NROWS * C * sizeof(float));
        float *scratch = malloc(nerve_net_forward_scratch_floats(net, 1) * sizeof(float));
        test_fill(x, NROWS * in, 200 + c, -2.0f, 2.0f);
        nerve_set_max_isa(NERVE_ISA_SCALAR);
        cr_assert_eq(nerve_net_forward_const(net, x, NROWS, ref, NULL), NERVE_OK);
        for (size_t i = 0; i < ni; i++) {
            cr_assert_eq(nerve_set_max_isa(isas[i]), NERVE_OK);
            for (int prepared = 0; prepared < 2; prepared++) {
                if (prepared) cr_assert_eq(nerve_net_prepare_inference(net), NERVE_OK);
                for (size_t r = 0; r < NROWS; r++)
                    cr_assert_eq(nerve_net_forward_const(net, x + r * in, 1, got + r * C, scratch),
                                 NERVE_OK);
                char what[96];
                snprintf(what, sizeof what, "config %zu, %s, forward_const alone, %s", c,
                         nerve_isa_name(isas[i]), prepared ? "prepared" : "not prepared");
                expect_rows(ref, got, NROWS, C, what);
            }
            /* nerve_net_weights() undoes the preparation (the caller may write) */
            (void)nerve_net_weights(net, 0);
            cr_assert_eq(net->packed_valid, 0,
                         "nerve_net_weights must invalidate the packed weights");
        }
        free(x), free(ref), free(got), free(scratch);
        nerve_net_free(net);
    }
}

/* Alternating one-sample inference with changes of the weights: the cached
 * W^T must follow every training step and every write through
 * nerve_net_weights (a stale copy would give the old weights' outputs). */
Test(batch_invariance, follows_weight_changes) {
    const config *cf = &configs[0];
    const size_t in = cf->sizes[0], C = cf->sizes[cf->layers];
    nerve_net *net = make(cf, 5);
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.1f;
    cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
    float x[2 * 64], alone[10], batch[2 * 10];
    test_fill(x, 2 * in, 9, -1.0f, 1.0f);
    int32_t labels[2] = {3, 7};
    const nerve_batch b = {.x = x, .labels = labels, .n = 2};
    for (int step = 0; step < 6; step++) {
        cr_assert_eq(nerve_net_forward(net, x, 1, alone), NERVE_OK);
        cr_assert_eq(nerve_net_forward(net, x, 2, batch), NERVE_OK);
        char what[64];
        snprintf(what, sizeof what, "after %d changes of the weights", step);
        expect_rows(batch, alone, 1, C, what);
        if (step % 2 == 0) {
            cr_assert_eq(nerve_net_train_batch(net, &b, NULL), NERVE_OK, "%s", nerve_last_error());
        } else {
            float *w = nerve_net_weights(net, 1);
            for (size_t k = 0; k < 256 * 128; k += 97) w[k] = -w[k] * 1.5f;
        }
    }
    nerve_net_free(net);
}

/* ---- the prepared (packed) path against the chain itself ------------------
 *
 * The reference here is computed by the test from the network's parameters
 * (read in place, so reading them does not undo a preparation): for every
 * row and output one fmaf chain over the inputs in increasing order from 0,
 * then + bias (one float addition), then the scalar table's activation:
 * the rule of net.h written out, independent of the library's GEMM, GEMV
 * and packing code. */
static void chain_forward(const nerve_net *net, const float *x, size_t n, float *out) {
    const kernel_table *sc = kernels_for(NERVE_ISA_SCALAR);
    const size_t L = net->n_layers;
    size_t maxw = 1;
    for (size_t l = 0; l <= L; l++) maxw = net->sizes[l] > maxw ? net->sizes[l] : maxw;
    float *a = malloc(maxw * sizeof(float)), *z = malloc(maxw * sizeof(float));
    cr_assert(a && z);
    for (size_t r = 0; r < n; r++) {
        memcpy(a, x + r * net->sizes[0], net->sizes[0] * sizeof(float));
        for (size_t l = 0; l < L; l++) {
            const size_t in = net->sizes[l], o = net->sizes[l + 1];
            const float *w = net->params + net->w_off[l], *b = net->params + net->b_off[l];
            for (size_t j = 0; j < o; j++) {
                float acc = 0.0f;
                for (size_t k = 0; k < in; k++) acc = fmaf(w[j * in + k], a[k], acc);
                z[j] = acc + b[j];
            }
            sc->act_fwd[net->acts[l]](o, z, a);
        }
        memcpy(out + r * net->sizes[L], a, net->sizes[L] * sizeof(float));
    }
    free(a), free(z);
}

/* The packed pass runs on configs[] (widths around every table's MR 4, 6, 8,
 * 12 and NR 12, 16, 32; a 10-wide output, a partial panel; an input past
 * every KC) and on widths of 512 and 1024 (row strides of 2 and 4 KiB,
 * which the pass pads). */
static const config wide_stride_config = {
    3, {512, 13, 1024, 12}, {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_IDENTITY}, NERVE_LOSS_MSE};
#define NPACKED (NCONFIGS + 1)
static const config *packed_config(size_t c) {
    return c < NCONFIGS ? &configs[c] : &wide_stride_config;
}

/* Batch sizes 1 .. 70 (up to 6 row tiles of 12: on 2 or 3 threads the pass
 * splits outputs), then 96 (8 tiles of 12, 16 of 6, 24 of 4: rows split
 * evenly on 2 threads), 131 and 150 (uneven: rows for some tables and
 * thread counts, outputs for others) and 1025 (one past nerve_net_forward's
 * chunk size: rows). src/net/infer.c, split_rows. */
static size_t packed_batch(size_t i) {
    static const size_t extra[] = {96, 131, 150, 1025};
    return i < 70 ? i + 1 : extra[i - 70];
}
#define NBATCHES (70 + 4)
#define MAXROWS  1025

/* nerve_net_forward (prepared by its first call) and nerve_net_forward_const
 * after nerve_net_prepare_inference, with scratch of exactly the size
 * nerve_net_forward_scratch_floats gives, against the chain: every batch
 * size, every ISA, 1 to 3 threads. */
Test(batch_invariance, packed_every_batch_size, .timeout = 600) {
    net_set_flops_per_thread(0);
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = test_supported_isas(isas);
    for (size_t c = 0; c < NPACKED; c++) {
        const config *cf = packed_config(c);
        const size_t in = cf->sizes[0], C = cf->sizes[cf->layers];
        nerve_net *net = make(cf, 31 + c);
        float *x = malloc(MAXROWS * in * sizeof(float));
        float *ref = malloc(MAXROWS * C * sizeof(float)),
              *got = malloc(MAXROWS * C * sizeof(float));
        cr_assert(x && ref && got);
        test_fill(x, MAXROWS * in, 300 + c, -2.0f, 2.0f);
        chain_forward(net, x, MAXROWS, ref);
        for (size_t i = 0; i < ni; i++) {
            cr_assert_eq(nerve_set_max_isa(isas[i]), NERVE_OK);
            for (int t = 1; t <= 3; t++) {
                omp_set_num_threads(t);
                for (size_t bi = 0; bi < NBATCHES; bi++) {
                    const size_t b = packed_batch(bi);
                    if (t > 1 && b > 200 && in > 100) continue; /* time */
                    /* inputs and outputs of exactly b rows: a read or write
                     * past them shows up under the sanitizers and valgrind */
                    float *xb = malloc(b * in * sizeof(float)), *ob = malloc(b * C * sizeof(float));
                    cr_assert(xb && ob);
                    memcpy(xb, x, b * in * sizeof(float));
                    memset(ob, 0xff, b * C * sizeof(float));
                    cr_assert_eq(nerve_net_forward(net, xb, b, ob), NERVE_OK, "%s",
                                 nerve_last_error());
                    cr_assert(net->packed_valid, "nerve_net_forward prepares the weights");
                    char what[128];
                    snprintf(what, sizeof what, "config %zu, %s, %d threads, forward of %zu rows",
                             c, nerve_isa_name(isas[i]), t, b);
                    expect_rows(ref, ob, b, C, what);
                    free(xb), free(ob);
                }
            }
            cr_assert_eq(nerve_net_prepare_inference(net), NERVE_OK);
            for (size_t bi = 0; bi < NBATCHES; bi++) {
                const size_t b = packed_batch(bi);
                float *scratch = malloc(nerve_net_forward_scratch_floats(net, b) * sizeof(float));
                float *xb = malloc(b * in * sizeof(float));
                cr_assert(scratch && xb);
                memcpy(xb, x, b * in * sizeof(float));
                memset(got, 0xff, b * C * sizeof(float));
                cr_assert_eq(nerve_net_forward_const(net, xb, b, got, scratch), NERVE_OK);
                free(scratch), free(xb);
                char what[128];
                snprintf(what, sizeof what, "config %zu, %s, forward_const of %zu rows", c,
                         nerve_isa_name(isas[i]), b);
                expect_rows(ref, got, b, C, what);
            }
        }
        free(x), free(ref), free(got);
        nerve_net_free(net);
    }
    net_set_flops_per_thread(3.0e6);
}

/* The prepared weights follow every change of the weights: a write through
 * nerve_net_weights, a training step, an epoch, a bias write (the bias is
 * read in place, not packed: the preparation stays), and a change of the
 * kernel table to one of another panel width (nerve_net_forward repacks;
 * nerve_net_forward_const, which may not, computes from W). After each, the
 * outputs of 1, 8 and 30 rows through both entry points equal the chain of
 * the current parameters; stale packed weights would give the old ones. */
static void expect_current(nerve_net *net, const float *x, const char *what) {
    const size_t C = net->sizes[net->n_layers], rows[] = {1, 8, 30};
    float ref[30 * 10], got[30 * 10];
    chain_forward(net, x, 30, ref);
    for (size_t i = 0; i < 3; i++) {
        char w[128];
        cr_assert_eq(nerve_net_forward_const(net, x, rows[i], got, NULL), NERVE_OK);
        snprintf(w, sizeof w, "%s: forward_const of %zu rows", what, rows[i]);
        expect_rows(ref, got, rows[i], C, w);
    }
    for (size_t i = 0; i < 3; i++) {
        char w[128];
        cr_assert_eq(nerve_net_forward(net, x, rows[i], got), NERVE_OK);
        snprintf(w, sizeof w, "%s: forward of %zu rows", what, rows[i]);
        expect_rows(ref, got, rows[i], C, w);
    }
}

Test(batch_invariance, packed_weights_follow_changes) {
    const config *cf = &configs[0]; /* 64-256-128-10 */
    const size_t in = cf->sizes[0];
    nerve_net *net = make(cf, 7);
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.1f;
    cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
    float x[30 * 64];
    int32_t labels[30];
    test_fill(x, 30 * in, 19, -1.0f, 1.0f);
    for (int i = 0; i < 30; i++) labels[i] = i % 10;
    const nerve_batch b = {.x = x, .labels = labels, .n = 30};

    cr_assert_eq(nerve_net_prepare_inference(net), NERVE_OK);
    expect_current(net, x, "fresh");

    float *w = nerve_net_weights(net, 1);
    cr_assert_eq(net->packed_valid, 0, "nerve_net_weights must undo the preparation");
    for (size_t k = 0; k < 256 * 128; k += 97) w[k] = -w[k] * 1.5f;
    expect_current(net, x, "after a write through nerve_net_weights");

    cr_assert(net->packed_valid);
    cr_assert_eq(nerve_net_train_batch(net, &b, NULL), NERVE_OK, "%s", nerve_last_error());
    cr_assert_eq(net->packed_valid, 0, "a training step must undo the preparation");
    expect_current(net, x, "after a training step");

    const nerve_dataset d = {.x = x, .labels = labels, .n = 30, .in = in, .out = 10};
    const nerve_epoch_opts eo = {.batch_size = 8, .shuffle = 1};
    cr_assert(net->packed_valid);
    cr_assert_eq(nerve_net_train_epoch(net, &d, &eo, NULL), NERVE_OK, "%s", nerve_last_error());
    cr_assert_eq(net->packed_valid, 0, "an epoch must undo the preparation");
    expect_current(net, x, "after an epoch");

    float *bias = nerve_net_bias(net, 0);
    for (size_t j = 0; j < 256; j += 3) bias[j] += 0.25f;
    cr_assert(net->packed_valid, "a bias write keeps the packed weights");
    expect_current(net, x, "after a bias write");

    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = test_supported_isas(isas);
    for (size_t i = 0; i < ni; i++) {
        cr_assert_eq(nerve_set_max_isa(isas[i]), NERVE_OK);
        char what[64];
        snprintf(what, sizeof what, "on %s, prepared for another table", nerve_isa_name(isas[i]));
        expect_current(net, x, what); /* forward_const first: still the old table's panels */
        cr_assert_eq(net->packed_nr, kernels_active()->nr, "nerve_net_forward repacks");
    }
    nerve_net_free(net);
}

/* Loss and accuracy of rows [0, n) of out as nerve_net_evaluate defines them:
 * per-row losses of the table's kernel summed in row order in double, the
 * first maximal output as the prediction. */
static void score(const float *out, const int32_t *labels, size_t n, size_t C, double *loss,
                  double *acc) {
    const kernel_table *kt = kernels_active();
    float *row_loss = malloc(n * sizeof(float));
    cr_assert(row_loss);
    kt->loss_xent(n, C, out, labels, 1.0f, NULL, row_loss);
    double sum = 0;
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        sum += (double)row_loss[i];
        const float *o = out + i * C;
        size_t arg = 0;
        for (size_t j = 1; j < C; j++)
            if (o[j] > o[arg]) arg = j;
        correct += arg == (size_t)labels[i];
    }
    free(row_loss);
    *loss = sum / (double)n;
    *acc = (double)correct / (double)n;
}

/* nerve_net_evaluate cuts big sets into chunks; n = 1023 * 1024 + 1 used to
 * leave a last chunk of one row (computed then by another summation order).
 * Its loss and accuracy must equal, exactly, those of the outputs of batched
 * forward passes (batches of 4096, the last row inside a batch of two);
 * likewise with the first 5 rows dropped (every chunk boundary moves). */
Test(batch_invariance, evaluate_chunks) {
    const size_t n = 1023 * 1024 + 1, in = 8, C = 3;
    const size_t sizes[] = {in, 16, C};
    const nerve_act acts[] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_XENT, 3), NERVE_OK);
    for (size_t l = 0; l < 2; l++) test_fill(nerve_net_bias(net, l), sizes[l + 1], l, -1.f, 1.f);
    float *x = malloc(n * in * sizeof(float)), *out = malloc(n * C * sizeof(float));
    int32_t *labels = malloc(n * sizeof(int32_t));
    cr_assert(x && out && labels);
    test_fill(x, n * in, 77, -3.0f, 3.0f);
    for (size_t i = 0; i < n; i++) labels[i] = (int32_t)((i * 7) % C);
    for (size_t r = 0; r < n; r += 4096) {
        const size_t rows = n - r < 4096 ? n - r : 4096, r0 = rows == 1 ? r - 1 : r;
        cr_assert_eq(nerve_net_forward(net, x + r0 * in, r + rows - r0, out + r0 * C), NERVE_OK);
    }
    for (size_t skip = 0; skip <= 5; skip += 5) {
        const nerve_dataset d = {
            .x = x + skip * in, .labels = labels + skip, .n = n - skip, .in = in, .out = C};
        nerve_eval e;
        cr_assert_eq(nerve_net_evaluate(net, &d, &e), NERVE_OK, "%s", nerve_last_error());
        double loss, acc;
        score(out + skip * C, labels + skip, n - skip, C, &loss, &acc);
        cr_assert_eq(e.n, n - skip);
        cr_assert_eq(e.loss, loss, "skip %zu: loss %.17g vs %.17g", skip, e.loss, loss);
        cr_assert_eq(e.accuracy, acc, "skip %zu: accuracy %.17g vs %.17g", skip, e.accuracy, acc);
    }
    free(x), free(out), free(labels);
    nerve_net_free(net);
}
