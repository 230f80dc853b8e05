/* Reproducibility: the same seed, data and hyper-parameters give
 * bit-identical weights (and losses, gradients, optimizer state) for 1, 2, 3
 * and 8 threads and for every ISA this CPU supports; two networks trained at
 * the same time from two threads do not interfere. The reference is the
 * scalar table on one thread. */
#include <criterion/criterion.h>
#include <omp.h>
#include <pthread.h>
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
    nerve_opt_kind opt;
    float momentum;
    int nesterov;
} config;

/* Widths around the micro-tile sizes, one input wider than every table's KC
 * (the fma chains continue across K blocks), batches that leave ragged tiles
 * and threads with empty shares. */
static const config configs[] = {
    {3,
     {37, 70, 33, 10},
     {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_IDENTITY},
     NERVE_LOSS_XENT,
     NERVE_OPT_ADAM,
     0,
     0},
    {2, {300, 47, 3}, {NERVE_ACT_GELU, NERVE_ACT_SIGMOID}, NERVE_LOSS_MSE, NERVE_OPT_SGD, 0.9f, 1},
    {4,
     {19, 17, 64, 16, 5},
     {NERVE_ACT_SILU, NERVE_ACT_ELU, NERVE_ACT_SOFTPLUS, NERVE_ACT_LEAKY_RELU},
     NERVE_LOSS_MSE,
     NERVE_OPT_ADAMW,
     0,
     0},
};
#define NCONFIGS (sizeof configs / sizeof configs[0])

/* Batch sizes of the steps: GEMM batches, a 1-row (GEMV) step, a larger batch
 * that grows the plan, then smaller ones again. */
static const size_t batches[] = {29, 29, 1, 64, 7, 29};
#define NSTEPS (sizeof batches / sizeof batches[0])

typedef struct result {
    float *params; /* all weights and biases, layer by layer */
    size_t count;
    float losses[NSTEPS];
} result;

static void train(const config *c, uint64_t seed, result *r) {
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, c->layers, c->sizes, c->acts, c->loss, seed), NERVE_OK,
                 "%s", nerve_last_error());
    nerve_opt o = nerve_opt_default(c->opt);
    o.lr = c->opt == NERVE_OPT_SGD ? 0.05f : 0.01f;
    o.momentum = c->momentum;
    o.nesterov = c->nesterov;
    cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
    const size_t in = c->sizes[0], C = c->sizes[c->layers];
    float *x = malloc(64 * in * sizeof(float)), *y = malloc(64 * C * sizeof(float));
    int32_t labels[64];
    for (size_t s = 0; s < NSTEPS; s++) {
        const size_t n = batches[s];
        test_fill(x, n * in, seed * 1000 + s, -1.5f, 1.5f);
        test_fill(y, n * C, seed * 1000 + s + 500, 0.0f, 1.0f);
        for (size_t i = 0; i < n; i++) labels[i] = (int32_t)((i * 7 + s) % C);
        nerve_batch b = {.x = x, .n = n};
        if (c->loss == NERVE_LOSS_XENT)
            b.labels = labels;
        else
            b.y = y;
        cr_assert_eq(nerve_net_train_batch(net, &b, &r->losses[s]), NERVE_OK, "%s",
                     nerve_last_error());
    }
    r->count = nerve_net_param_count(net);
    r->params = malloc(r->count * sizeof(float));
    size_t k = 0;
    for (size_t l = 0; l < c->layers; l++) {
        const size_t nw = c->sizes[l] * c->sizes[l + 1], nb = c->sizes[l + 1];
        memcpy(r->params + k, nerve_net_weights(net, l), nw * sizeof(float));
        k += nw;
        memcpy(r->params + k, nerve_net_bias(net, l), nb * sizeof(float));
        k += nb;
    }
    free(x);
    free(y);
    nerve_net_free(net);
}

static void expect_same(const result *a, const result *b, const char *what) {
    cr_assert_eq(a->count, b->count);
    size_t bad = test_first_bit_mismatch(a->params, b->params, a->count);
    cr_assert_eq(bad, SIZE_MAX, "%s: parameter %zu differs: %a vs %a", what, bad,
                 (double)a->params[bad], (double)b->params[bad]);
    bad = test_first_bit_mismatch(a->losses, b->losses, NSTEPS);
    cr_assert_eq(bad, SIZE_MAX, "%s: loss of step %zu differs", what, bad);
}

Test(net_determinism, threads_and_isas) {
    net_set_flops_per_thread(0); /* use every thread even on these small nets */
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t ni = test_supported_isas(isas);
    const int threads[] = {1, 2, 3, 8};
    for (size_t c = 0; c < NCONFIGS; c++) {
        result ref;
        nerve_set_max_isa(NERVE_ISA_SCALAR);
        omp_set_num_threads(1);
        train(&configs[c], 17 + c, &ref);
        /* training did something */
        cr_assert(ref.losses[0] != ref.losses[NSTEPS - 1]);
        for (size_t i = 0; i < ni; i++)
            for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
                cr_assert_eq(nerve_set_max_isa(isas[i]), NERVE_OK);
                omp_set_num_threads(threads[t]);
                result r;
                train(&configs[c], 17 + c, &r);
                char what[96];
                snprintf(what, sizeof what, "config %zu, %s, %d threads vs scalar/1", c,
                         nerve_isa_name(isas[i]), threads[t]);
                expect_same(&ref, &r, what);
                free(r.params);
            }
        free(ref.params);
    }
}

/* The default thread heuristic gives the same bits as forcing every thread. */
Test(net_determinism, default_heuristic) {
    result a, b;
    omp_set_num_threads(2);
    train(&configs[0], 5, &a);
    net_set_flops_per_thread(0);
    train(&configs[0], 5, &b);
    expect_same(&a, &b, "heuristic vs all threads");
    free(a.params);
    free(b.params);
}

typedef struct job {
    const config *c;
    uint64_t seed;
    result r;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    train(j->c, j->seed, &j->r);
    return NULL;
}

Test(net_determinism, concurrent_networks) {
    omp_set_num_threads(2);
    net_set_flops_per_thread(0);
    job jobs[2] = {{&configs[0], 3, {0}}, {&configs[2], 4, {0}}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        result seq;
        train(jobs[i].c, jobs[i].seed, &seq);
        expect_same(&seq, &jobs[i].r, i ? "second concurrent network" : "first concurrent network");
        free(seq.params);
        free(jobs[i].r.params);
    }
}
