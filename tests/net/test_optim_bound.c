/* The proof that lets nerve_net_train_batch skip its undo copy
 * (src/net/optim.c, optim_bound): whenever it says an update is finite, the
 * kernel of every ISA this CPU has, fed the worst values the bounds allow
 * (every magnitude at its bound, every sign pattern), stores only finite
 * values within the bounds it reported; it refuses what it cannot prove
 * (infinite or huge inputs, eps 0 or denormal); the magnitudes a training
 * step tracks are exactly those stored; and a training step that takes the
 * proven path gives the same bits as one that does not. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "net_plan.h"
#include "testutil.h"

#define N 37 /* two full vectors and a tail */

static nerve_net *make_net(const nerve_opt *o) {
    size_t sizes[3] = {5, 7, 3};
    nerve_act acts[2] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *net;
    cr_assert_eq(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_XENT, 9), NERVE_OK);
    cr_assert_eq(nerve_net_set_optimizer(net, o), NERVE_OK, "%s", nerve_last_error());
    return net;
}

/* Asks optim_bound about bounds W, M, V and gradient bound G at optimizer
 * step t (1 = first). */
static int ask(nerve_net *net, int t, const float b[3], float G, optim_pending *p) {
    net->step = (uint64_t)(t - 1);
    net->beta1_pow = pow((double)net->opt.beta1, t - 1);
    net->beta2_pow = pow((double)net->opt.beta2, t - 1);
    memcpy(net->bound, b, sizeof net->bound);
    net->bound_valid = 1;
    memset(p, 0, sizeof *p);
    optim_prepare(net, p);
    return optim_bound(net, p, G);
}

/* Element i at magnitude B times one of {1, 1, 0.5, 0}, its sign from bit
 * `bit` of i, so that over N elements the four inputs meet in every sign
 * combination at full magnitude. */
static float worst(float B, size_t i, int bit, int nonneg) {
    static const float scale[4] = {1.0f, 1.0f, 0.5f, 0.0f};
    const float x = B * scale[(i / 16) % 4];
    return (!nonneg && ((i >> bit) & 1)) ? -x : x;
}

/* Runs the proven update on every ISA at the worst inputs: only finite
 * values stored, v still >= 0. */
static void check_proven(const nerve_net *net, const optim_pending *p, const float b[3], float G,
                         const char *what) {
    const optim_family *f = optim_family_of(net->opt.kind);
    const unsigned states = f->states(&net->opt);
    nerve_isa isas[NERVE_ISA_COUNT];
    const size_t n_isa = test_supported_isas(isas);
    for (size_t k = 0; k < n_isa; k++) {
        const kernel_table *kt = kernels_for(isas[k]);
        float w[N], g[N], m[N], v[N], amax[3] = {0, 0, 0};
        for (size_t i = 0; i < N; i++) {
            w[i] = worst(b[0], i, 0, 0);
            g[i] = worst(G, i, 1, 0);
            m[i] = worst(b[1], i, 2, 0);
            v[i] = worst(b[2], i, 3, 1);
        }
        const int bad = f->update(kt, N, w, g, states >= 1 ? m : NULL, states >= 2 ? v : NULL,
                                  &p->s, amax);
        cr_assert_eq(bad, 0, "%s %s: proven, but the kernel stored NaN/Inf", kt->name, what);
        for (size_t i = 0; i < N; i++) {
            cr_assert(isfinite(w[i]), "%s %s: w[%zu] = %g", kt->name, what, i, (double)w[i]);
            if (states >= 1)
                cr_assert(isfinite(m[i]), "%s %s: m[%zu] = %g", kt->name, what, i, (double)m[i]);
            if (states >= 2)
                cr_assert(isfinite(v[i]) && v[i] >= 0.0f, "%s %s: v[%zu] = %g", kt->name, what, i,
                          (double)v[i]);
        }
    }
}

typedef struct config {
    const char *name;
    nerve_opt o;
} config;

static size_t configs(config *c) {
    size_t n = 0;
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    c[n++] = (config){"sgd", o};
    o.momentum = 0.9f, o.weight_decay = 5e-4f;
    c[n++] = (config){"sgd momentum wd", o};
    o.nesterov = 1, o.lr = 3.0f, o.weight_decay = 0.5f;
    c[n++] = (config){"sgd nesterov", o};
    o.nesterov = 0, o.momentum = 1.5f; /* allowed, and grows the buffer */
    c[n++] = (config){"sgd momentum 1.5", o};
    o = nerve_opt_default(NERVE_OPT_ADAM);
    c[n++] = (config){"adam", o};
    o.weight_decay = 0.1f, o.beta1 = 0.0f;
    c[n++] = (config){"adam wd beta1 0", o};
    o.eps = 1e-30f, o.beta2 = 0.5f;
    c[n++] = (config){"adam eps 1e-30", o};
    o = nerve_opt_default(NERVE_OPT_ADAMW);
    c[n++] = (config){"adamw", o};
    o.lr = 1.0f, o.weight_decay = 1.0f; /* 1 - lr wd = 0, rounding decides */
    c[n++] = (config){"adamw lr wd 1", o};
    o.lr = 0.75f, o.weight_decay = 3.0f; /* a factor of -1.25 */
    c[n++] = (config){"adamw factor -1.25", o};
    return n;
}

/* Every proof holds at the worst inputs, over a grid of magnitudes. */
Test(optim_bound, proofs_hold_at_the_worst_inputs) {
    static const float mags[] = {0.0f, 1e-30f, 1e-3f, 1.0f, 7.5f, 1e4f, 1e10f, 0x1p40f, 0x1p62f,
                                 0x1p95f, 0x1p99f};
    const size_t nm = sizeof mags / sizeof mags[0];
    config c[16];
    const size_t nc = configs(c);
    size_t proven = 0, asked = 0;
    for (size_t ci = 0; ci < nc; ci++) {
        nerve_net *net = make_net(&c[ci].o);
        for (int t = 1; t <= 3; t += 2)
            for (size_t a = 0; a < nm; a++)
                for (size_t bm = 0; bm < nm; bm += 2)
                    for (size_t cm = 0; cm < nm; cm += 3)
                        for (size_t d = 0; d < nm; d++) {
                            const float b[3] = {mags[a], mags[bm], mags[cm]};
                            optim_pending p;
                            asked++;
                            if (!ask(net, t, b, mags[d], &p)) continue;
                            proven++;
                            char what[128];
                            snprintf(what, sizeof what, "%s t=%d W=%g M=%g V=%g G=%g", c[ci].name,
                                     t, (double)b[0], (double)b[1], (double)b[2], (double)mags[d]);
                            check_proven(net, &p, b, mags[d], what);
                        }
        nerve_net_free(net);
    }
    /* the grid reaches both verdicts in earnest */
    cr_assert(proven > asked / 3 && proven < asked, "%zu of %zu proven", proven, asked);
}

/* What must be proven (ordinary training) and what must not. */
Test(optim_bound, verdicts) {
    const float one[3] = {1, 1, 1};
    config c[16];
    const size_t nc = configs(c);
    for (size_t ci = 0; ci < nc; ci++) {
        nerve_net *net = make_net(&c[ci].o);
        optim_pending p;
        cr_assert(ask(net, 1, one, 1.0f, &p), "%s: ordinary values not proven", c[ci].name);
        cr_assert(ask(net, 5, one, 10.0f, &p), "%s: ordinary values not proven", c[ci].name);
        cr_assert(!ask(net, 5, one, INFINITY, &p), "%s: infinite gradient proven", c[ci].name);
        const float inf_w[3] = {INFINITY, 1, 1}, nan_w[3] = {NAN, 1, 1};
        cr_assert(!ask(net, 5, inf_w, 1.0f, &p), "%s: infinite weight proven", c[ci].name);
        cr_assert(!ask(net, 5, nan_w, 1.0f, &p), "%s: NaN weight bound proven", c[ci].name);
        const float huge[3] = {3e38f, 1, 1};
        cr_assert(!ask(net, 5, huge, 1.0f, &p), "%s: 3e38 weights proven", c[ci].name);
        nerve_net_free(net);
    }
    /* Adam: eps 0 (0/0) and a denormal eps (0 under flush modes) are never
     * proven; a gradient whose square passes the limit is not either */
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    const float small[3] = {0, 0, 0};
    optim_pending p;
    o.eps = 0.0f;
    nerve_net *net = make_net(&o);
    cr_assert(!ask(net, 1, small, 0.0f, &p), "eps 0 proven");
    nerve_net_free(net);
    o.eps = 1e-40f;
    net = make_net(&o);
    cr_assert(!ask(net, 1, small, 0.0f, &p), "denormal eps proven");
    nerve_net_free(net);
    o.eps = 1e-8f;
    net = make_net(&o);
    cr_assert(!ask(net, 1, small, 0x1p60f, &p), "g^2 = 2^120 proven");
    nerve_net_free(net);
}

/* ---- through nerve_net_train_batch ---------------------------------------- */

/* Parameters and optimizer state, as one copy. */
static float *snapshot(const nerve_net *net) {
    const size_t na = net->n_alloc;
    float *c = malloc(3 * na * sizeof *c);
    cr_assert(c != NULL);
    memcpy(c, net->params, na * sizeof *c);
    memset(c + na, 0, 2 * na * sizeof *c);
    if (net->opt_m) memcpy(c + na, net->opt_m, na * sizeof *c);
    if (net->opt_v) memcpy(c + 2 * na, net->opt_v, na * sizeof *c);
    return c;
}

/* The proven path (train_batch, bounds tracked) and the fused path
 * (train_epoch, no proof) give the same bits, at 1 to 3 threads, for SGD
 * with momentum and for Adam. */
Test(optim_bound, proven_steps_match_the_fused_path) {
    enum { ROWS = 96, IN = 40, BATCH = 32 };
    float *x = malloc(ROWS * IN * sizeof *x);
    int32_t lab[ROWS];
    test_fill(x, ROWS * IN, 17, -1, 1);
    for (int i = 0; i < ROWS; i++) lab[i] = i % 6;
    size_t sizes[4] = {IN, 33, 17, 6};
    nerve_act acts[3] = {NERVE_ACT_RELU, NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    const nerve_opt_kind kinds[2] = {NERVE_OPT_SGD, NERVE_OPT_ADAM};
    for (int k = 0; k < 2; k++)
        for (int threads = 1; threads <= 3; threads++) {
            omp_set_num_threads(threads);
            nerve_opt o = nerve_opt_default(kinds[k]);
            o.momentum = kinds[k] == NERVE_OPT_SGD ? 0.9f : 0.0f;
            nerve_net *a, *b;
            cr_assert_eq(nerve_net_create(&a, 3, sizes, acts, NERVE_LOSS_XENT, 4), NERVE_OK);
            cr_assert_eq(nerve_net_create(&b, 3, sizes, acts, NERVE_LOSS_XENT, 4), NERVE_OK);
            cr_assert_eq(nerve_net_set_optimizer(a, &o), NERVE_OK);
            cr_assert_eq(nerve_net_set_optimizer(b, &o), NERVE_OK);
            for (int e = 0; e < 2; e++)
                for (int r = 0; r < ROWS; r += BATCH) {
                    const nerve_batch bt = {.x = x + r * IN, .labels = lab + r, .n = BATCH};
                    cr_assert_eq(nerve_net_train_batch(a, &bt, NULL), NERVE_OK, "%s",
                                 nerve_last_error());
                    /* proven, and the tracked bounds are the exact maxima */
                    cr_assert_eq(a->guard_copies, 0, "step %d: the update was not proven",
                                 r / BATCH);
                    cr_assert(a->bound_valid, "step %d: no bounds", r / BATCH);
                    float tracked[3];
                    memcpy(tracked, a->bound, sizeof tracked);
                    a->bound_valid = 0;
                    optim_bound_prepare(a, kernels_active());
                    cr_assert_eq(memcmp(tracked, a->bound, sizeof tracked), 0,
                                 "step %d, %d threads: tracked %g %g %g, measured %g %g %g",
                                 r / BATCH, threads, (double)tracked[0], (double)tracked[1],
                                 (double)tracked[2], (double)a->bound[0], (double)a->bound[1],
                                 (double)a->bound[2]);
                    optim_pending pp;
                    memset(&pp, 0, sizeof pp);
                    optim_prepare(a, &pp);
                    cr_assert(optim_bound(a, &pp, 1.0f), "step %d: ordinary values not proven",
                              r / BATCH);
                }
            const nerve_dataset d = {.x = x, .labels = lab, .n = ROWS, .in = IN, .out = 6};
            const nerve_epoch_opts eo = {.batch_size = BATCH};
            for (int e = 0; e < 2; e++)
                cr_assert_eq(nerve_net_train_epoch(b, &d, &eo, NULL), NERVE_OK, "%s",
                             nerve_last_error());
            /* same parameters and optimizer state (the epoch count differs) */
            cr_assert_eq(nerve_net_step_count(a), nerve_net_step_count(b));
            for (size_t l = 0; l < 3; l++) {
                const size_t nw = sizes[l] * sizes[l + 1];
                cr_assert_eq(memcmp(nerve_net_weights(a, l), nerve_net_weights(b, l), nw * 4), 0,
                             "kind %d, %d threads: layer %zu weights differ", k, threads, l);
                cr_assert_eq(memcmp(nerve_net_bias(a, l), nerve_net_bias(b, l), sizes[l + 1] * 4),
                             0, "kind %d, %d threads: layer %zu biases differ", k, threads, l);
            }
            cr_assert_eq(memcmp(a->opt_m, b->opt_m, a->n_alloc * 4), 0, "first state differs");
            if (a->opt_v) cr_assert_eq(memcmp(a->opt_v, b->opt_v, a->n_alloc * 4), 0);
            nerve_net_free(a);
            nerve_net_free(b);
        }
    free(x);
}

/* The gradient bound the guard derives before backward (train.c) holds:
 * after every proven step, each weight and bias gradient is within it, for
 * every activation, deep and wide layers, both precisions, 1-3 threads. And
 * the measurement it starts from is exact: max |x| over the batch and every
 * hidden activation (both precisions measure those in the forward
 * epilogue). */
Test(optim_bound, gradient_bound_holds) {
    enum { ROWS = 64, IN = 45 };
    float *x = malloc(ROWS * IN * sizeof *x);
    int32_t lab[ROWS];
    test_fill(x, ROWS * IN, 23, -3, 3);
    for (int i = 0; i < ROWS; i++) lab[i] = i % 7;
    size_t sizes[6] = {IN, 70, 33, 129, 20, 7};
    size_t checked = 0;
    for (int a = 0; a < NERVE_ACT_COUNT; a++)
        for (int prec = 0; prec < 2; prec++) {
            omp_set_num_threads(1 + (a + prec) % 3);
            nerve_act acts[5] = {(nerve_act)a, (nerve_act)((a + 3) % NERVE_ACT_COUNT), (nerve_act)a,
                                 (nerve_act)((a + 5) % NERVE_ACT_COUNT), NERVE_ACT_IDENTITY};
            nerve_net *net;
            cr_assert_eq(nerve_net_create(&net, 5, sizes, acts, NERVE_LOSS_XENT, 11), NERVE_OK);
            nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
            o.lr = 0.2f, o.momentum = 0.9f;
            cr_assert_eq(nerve_net_set_optimizer(net, &o), NERVE_OK);
            if (prec)
                cr_assert_eq(nerve_net_set_precision(net, NERVE_PRECISION_BF16), NERVE_OK, "%s",
                             nerve_last_error());
            for (int step = 0; step < 6; step++) {
                const size_t n = step % 2 ? ROWS : 17;
                const nerve_batch b = {.x = x, .labels = lab, .n = n};
                cr_assert_eq(nerve_net_train_batch(net, &b, NULL), NERVE_OK, "%s",
                             nerve_last_error());
                if (net->guard_copies) break; /* that step copied: no bound to check */
                float want_x = kernels_active()->maxabs(n * IN, x);
                for (size_t l = 0; l + 1 < 5; l++)
                    want_x =
                        fmaxf(want_x, kernels_active()->maxabs(n * sizes[l + 1], net->plan->a[l]));
                cr_assert_eq(net->guard_x, want_x, "acts %d prec %d step %d: measured %g, max %g",
                             a, prec, step, (double)net->guard_x, (double)want_x);
                const float got = kernels_active()->maxabs(net->n_alloc, net->grads);
                cr_assert(got <= net->guard_g, "acts %d prec %d step %d: |gradient| %g above %g",
                          a, prec, step, (double)got, (double)net->guard_g);
                checked++;
            }
            nerve_net_free(net);
        }
    /* nearly every step was proven and checked */
    cr_assert(checked >= (size_t)NERVE_ACT_COUNT * 2 * 5, "only %zu steps proven", checked);
    free(x);
}

/* The documented limit (net.h): a parameter written through a pointer kept
 * from before an earlier call is not seen by the tracked bounds. The step
 * that overflows then says so rather than claim it restored anything; and
 * asking for the pointer again makes the next failure a clean rollback. */
Test(optim_bound, stale_pointer_is_reported) {
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 10.0f;
    o.weight_decay = 0.5f;
    nerve_net *net = make_net(&o);
    const float x[10] = {1, 0, 2, 1, 0.5f, -1, 0, 1, 2, 0};
    const int32_t lab[2] = {0, 2};
    const nerve_batch b = {.x = x, .labels = lab, .n = 2};
    float *w = nerve_net_weights(net, 0);
    cr_assert_eq(nerve_net_train_batch(net, &b, NULL), NERVE_OK, "%s", nerve_last_error());
    w[1] = 3e38f; /* input 1 is always 0: the loss stays finite */
    cr_assert_eq(nerve_net_train_batch(net, &b, NULL), NERVE_ENUMERIC);
    cr_assert(strstr(nerve_last_error(), "not undone"), "%s", nerve_last_error());
    cr_assert_eq(net->guard_copies, 0, "both steps were proven");
    /* asked for again: the bounds are measured, the copy is made */
    w = nerve_net_weights(net, 0);
    w[1] = 3e38f;
    float *s0 = snapshot(net);
    const uint64_t step = nerve_net_step_count(net);
    cr_assert_eq(nerve_net_train_batch(net, &b, NULL), NERVE_ENUMERIC);
    cr_assert(strstr(nerve_last_error(), "as before"), "%s", nerve_last_error());
    float *s1 = snapshot(net);
    cr_assert(memcmp(s0, s1, 3 * net->n_alloc * sizeof *s0) == 0 &&
                  nerve_net_step_count(net) == step,
              "the failed step changed the network");
    cr_assert_eq(net->guard_copies, 1, "the unprovable step copied");
    free(s0);
    free(s1);
    nerve_net_free(net);
}
