/* One training step: forward, loss, backward and (optionally) the optimizer,
 * in a single OpenMP parallel region, on memory planned once per network and
 * batch size (no allocation inside a step once the plan fits).
 *
 * Phases of thread t of nt (barriers marked |):
 *   forward, layer by layer (fwd_run: linear_forward_part, GEMM + bias +
 *   activation per tile) | per-row losses and output gradient for a share of
 *   the rows (and the guard's measurements, below) | every thread sums the row losses in row order and checks
 *   them | then per layer from the top: the previous layer's gradient (a) |
 *   this layer's weight/bias gradients and their optimizer update (c), see
 *   below.
 * The layer's products are linear.h's; this file holds the phases, the
 * barriers between them, the loss and the optimizer hook.
 *
 * Determinism: every product is split among threads by blocks of its output
 * (gemm.h: each element is one fma chain in increasing k, whatever the
 * block); bias gradients are split by output unit (colsum: one chain over
 * the rows per unit); the loss is summed in row order; the optimizer is
 * elementwise. So no bit depends on the thread count or the split. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "linear.h"
#include "linear_bf16.h"
#include "loss.h"
#include "net_plan.h"
#include "omp_sync.h"
#include "plan.h"
#include "private_abi.h"

/* ---- backward ------------------------------------------------------------- */

typedef struct step_ctx {
    const kernel_table *kt;
    nerve_net *net;
    const nerve_batch *batch;
    const fwd_pass *fwd;
    int update;
    /* the update must be undone if it fails (nerve_net_train_batch), so
     * it is proven finite first, or else copied aside (the guard, below) */
    int guarded;
    const optim_pending *opt;
    float loss;             /* mean loss, written by thread 0 */
    int bad;                /* loss not finite */
    atomic_int update_bad;  /* an update stored a NaN or Inf (any thread) */
    /* maxima over all threads, as float bits (>= 0, so they order as the
     * values): guarded, max |dZ| of the top layer and max |input| of every
     * layer; always, the largest |w|, |m|, |v| the updates stored */
    atomic_uint dz_bits, x_bits, amax_bits[3];
    int proven;             /* guarded: the update was proven finite */
    float gbound;           /* guarded: the bound on every |gradient| (thread 0) */
    /* per-layer "gradients ready" callback (net_plan.h), may be NULL */
    const net_grad_hook *hook;
    /* bf16: convert every W at the start (its copies are stale) */
    int convert_w;
} step_ctx;

/* Loss rows [r0, r1): per-row losses and the gradient of the mean loss with
 * respect to the output, then through the last activation; into d. */
static void loss_rows(const step_ctx *c, size_t r0, size_t r1, float *d) {
    const kernel_table *kt = c->kt;
    const nerve_net *net = c->net;
    const size_t L = net->n_layers, C = net->sizes[L], n = c->batch->n, rows = r1 - r0;
    if (rows == 0) return;
    const struct net_plan *pl = net->plan;
    const float *o = pl->a[L - 1] + r0 * C;
    float *g = d + r0 * C;
    const nerve_batch *b = c->batch;
    loss_run(kt, net->loss, rows, C, o, b->y ? b->y + r0 * C : NULL,
             b->labels ? b->labels + r0 : NULL, loss_grad_scale(net->loss, n, C), g,
             pl->row_loss + r0);
    if (net->acts[L - 1] != NERVE_ACT_IDENTITY)
        kt->act_bwd[net->acts[L - 1]](rows * C, pl->z[L - 1] + r0 * C, o, g, g);
}

/* ---- backward, with the optimizer fused ----------------------------------
 *
 * Per layer l, from the top, thread t of nt:
 *   (a) l > 0: dZ_{l-1} = act'_{l-1} * (dZ_l W_l) (linear_backward_data_part:
 *       output tiles, or columns for one row), the derivative applied to
 *       each tile while in L1;
 *   barrier: dZ_{l-1} complete, and nobody reads W_l any more;
 *   (c) a fixed block of layer l's dW (linear_grad_part, linear_grad_block):
 *       db = column sums of dZ_l, dW = dZ_l^T X in chunks of rows, and right
 *       after each chunk its hook (update_block) has the optimizer update
 *       those rows of W (and of b), while the fresh gradient is in cache.
 * (c) of layer l overlaps (a) of layer l-1 on other threads: they touch
 * different arrays, and the three rotating dZ buffers keep dZ_l intact
 * until the barrier after (a) of layer l-1. Every product is an fma chain
 * per element and the optimizer is elementwise, so no split changes a bit. */

/* (a): the previous layer's dZ from this layer's (linear.h; in bf16 also
 * its bf16 copies, linear_bf16.h: layer 0's dZ only feeds dW, in cols). */
static void backward_data(const step_ctx *c, size_t l, const float *dz, float *dprev, int t,
                          int nt) {
    const nerve_net *net = c->net;
    const struct net_plan *pl = net->plan;
    if (net->precision == NERVE_PRECISION_BF16) {
        linear_bf16_backward_data_part(c->kt, c->batch->n, net->sizes[l], net->sizes[l + 1],
                                       pl->dzr[l], pl->wc[l], (int)net->acts[l - 1], pl->z[l - 1],
                                       pl->a[l - 1], dprev, l > 1 ? pl->dzr[l - 1] : NULL,
                                       pl->dzc[l - 1], pl->bf16_ws, t, nt);
        return;
    }
    linear_backward_data_part(c->kt, c->batch->n, net->sizes[l], net->sizes[l + 1],
                              net->params + net->w_off[l], dz, (int)net->acts[l - 1], pl->z[l - 1],
                              pl->a[l - 1], dprev, pl->ws, t, nt);
}

void train_loss_rows(size_t n, int t, int nt, size_t *r0, size_t *r1) {
    split_range(n, 1, (size_t)t, (size_t)nt, r0, r1);
}

/* The optimizer on one finished gradient block of layer `layer`
 * (linear_grad_hook): the bias rows with the first column block, then the
 * block of W, one call when its rows are whole (contiguous). */
typedef struct update_ctx {
    const kernel_table *kt;
    nerve_net *net;
    const optim_pending *opt;
    size_t layer;
    int bad;      /* an update stored a NaN or Inf */
    float *amax;  /* this thread's largest stored magnitudes (optim_update) */
    uint32_t *wr, *wc; /* bf16 copies of W to write from the updated block, or NULL */
} update_ctx;

static void update_block(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1) {
    update_ctx *u = ctx;
    nerve_net *net = u->net;
    const size_t in = net->sizes[u->layer], w_off = net->w_off[u->layer];
    if (c0 == 0) u->bad |= optim_update(u->kt, net, u->opt, net->b_off[u->layer] + r0, r1 - r0, u->amax);
    if (c1 - c0 == in)
        u->bad |= optim_update(u->kt, net, u->opt, w_off + r0 * in, (r1 - r0) * in, u->amax);
    else
        for (size_t i = r0; i < r1; i++)
            u->bad |= optim_update(u->kt, net, u->opt, w_off + i * in + c0, c1 - c0, u->amax);
    /* the next bf16 step's copies of the block, from L1 (r0 and c0 are
     * multiples of the fp32 tile, even on every table as
     * simd/generic/table.c asserts, so no two blocks share a word) */
    if (u->wr)
        linear_bf16_convert_block(u->kt, r0, c0, r1 - r0, c1 - c0, net->params + w_off, in, u->wr,
                                  u->wc);
}

/* (c): this thread's block of layer l's weight and bias gradients
 * (linear_grad_block), each chunk updated by the optimizer right after it
 * is computed (update_block), while it is in cache. */
static void backward_weights(step_ctx *c, size_t l, const float *dz, const optim_pending *opt,
                             float *amax, int t, int nt) {
    nerve_net *net = c->net;
    const struct net_plan *pl = net->plan;
    update_ctx u = {c->kt, net, opt, l, 0, amax, NULL, NULL};
    if (net->precision == NERVE_PRECISION_BF16) { /* the update writes the copies */
        u.wr = pl->wr[l];
        u.wc = pl->wc[l];
    }
    const linear_grad_hook hook = {update_block, &u};
    if (net->precision == NERVE_PRECISION_BF16)
        linear_bf16_grad_part(c->kt, c->batch->n, net->sizes[l], net->sizes[l + 1], pl->xc[l],
                              pl->dzc[l], dz, net->grads + net->w_off[l],
                              net->grads + net->b_off[l], 0, c->update ? &hook : NULL,
                              pl->bf16_ws, t, nt);
    else
        linear_grad_part(c->kt, c->batch->n, net->sizes[l], net->sizes[l + 1],
                     l ? pl->a[l - 1] : c->batch->x, dz, net->grads + net->w_off[l],
                     net->grads + net->b_off[l], 0, c->update ? &hook : NULL, pl->ws, t, nt);
    if (u.bad) atomic_store_explicit(&c->update_bad, 1, memory_order_relaxed);
}

/* ---- the guard ------------------------------------------------------------
 * nerve_net_train_batch leaves everything as before the step when the
 * update would store a NaN or Inf. Copying each block aside before its
 * update costs a quarter of a small network's step, so the step first tries
 * to prove, before the first update, that no update can fail
 * (optim_bound, src/net/optim.c). That needs a bound on every gradient
 * before it exists, and the backward pass gives one:
 *   dW_l = dZ_l^T X_l, db_l = column sums of dZ_l: each element a sum of n
 *     products, so |dW_l|, |db_l| <= n D_l max(X, 1), where D_l >= |dZ_l|
 *     and X >= |X_l| (the layer inputs: the batch and the activations);
 *   dZ_{l-1} = act'(Z_{l-1}) (dZ_l W_l): |dZ_{l-1}| <= ACT_DERIV_MAX
 *     out_l D_l W, with W >= |w| the tracked bound (net->bound) of the
 *     weights before the step, which backward reads.
 * D_{L-1} and X are measured (kt->maxabs): the activations in the forward
 * pass's epilogue, strip by strip while in L1 (fp32 and bf16 alike), the
 * batch and D_{L-1} right after the loss, while the rows are in cache;
 * every thread then computes the same chain and reaches
 * the same verdict. Proven: the updates run fused with the gradient blocks,
 * in place. Not proven (non-finite or huge values, a deep chain of wide
 * layers, Adam with eps 0): each block is copied aside before its update
 * and the caller puts them back if one failed. */

/* Every activation's derivative is at most about 1.13 (GELU; SiLU 1.10,
 * the others 1 or less: tanh, relu, leaky relu and elu 1, sigmoid 0.25);
 * 2 leaves room for the kernels' few-ulp approximations. */
#define ACT_DERIV_MAX 2.0

/* Batches beyond this many rows are never proven: the slack below bounds
 * the rounding of a sum of n terms only while n 2^-23 is small. */
#define GUARD_MAX_ROWS ((size_t)1 << 20)

static void bits_max_publish(atomic_uint *a, float g) {
    uint32_t b;
    memcpy(&b, &g, sizeof b);
    unsigned cur = atomic_load_explicit(a, memory_order_relaxed);
    while (b > cur && !atomic_compare_exchange_weak_explicit(a, &cur, b, memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

static float bits_load(atomic_uint *a) {
    const unsigned b = atomic_load_explicit(a, memory_order_relaxed);
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* This thread's part of the measurements: its loss rows of the top dZ and
 * a share of the batch; act_max is the activations' part, which the forward
 * pass measured (this thread's max |A|, the inputs of layers 1 .. L-1). */
static void guard_measure(step_ctx *c, size_t r0, size_t r1, int t, int nt, float act_max) {
    const kernel_table *kt = c->kt;
    const nerve_net *net = c->net;
    const struct net_plan *pl = net->plan;
    const size_t L = net->n_layers, n = c->batch->n, C = net->sizes[L];
    bits_max_publish(&c->dz_bits, kt->maxabs((r1 - r0) * C, pl->dz_ring[0] + r0 * C));
    size_t e0, e1;
    split_range(n * net->sizes[0], 16, (size_t)t, (size_t)nt, &e0, &e1);
    bits_max_publish(&c->x_bits, fmaxf(act_max, kt->maxabs(e1 - e0, c->batch->x + e0)));
}

/* After the measurements: whether every update of the step is proven.
 * Thread 0 keeps the gradient bound (c->gbound, for the tests). */
static int guard_proven(step_ctx *c, int t) {
    const nerve_net *net = c->net;
    const size_t L = net->n_layers, n = c->batch->n;
    if (n > GUARD_MAX_ROWS) return 0;
    size_t widest = 0;
    for (size_t l = 0; l <= L; l++) widest = net->sizes[l] > widest ? net->sizes[l] : widest;
    /* one factor per product: the rounding of a sum of k terms (relative
     * k 2^-23 at most for these k) and, in bf16 precision, of both operands
     * (2^-8 each) */
    const double s = 1.02 + (double)(n + widest) * 0x1p-23;
    const double W = net->bound[0], X = fmax((double)bits_load(&c->x_bits), 1.0);
    double D = bits_load(&c->dz_bits);
    double G = (double)n * D * X * s;
    for (size_t l = L - 1; l > 0; l--) {
        D = ACT_DERIV_MAX * (double)net->sizes[l + 1] * D * W * s;
        G = fmax(G, (double)n * D * X * s);
    }
    /* a bound past the float range is no proof (NaN fails the test too) */
    if (!(G <= (double)FLT_MAX / 2)) return 0;
    const float g = (float)(G * s);
    if (t == 0) c->gbound = g;
    return optim_bound(net, c->opt, g);
}

/* ---- bf16 mixed precision (net.h) ----------------------------------------
 * The step's phases with bf16 operands (linear_bf16.h): the batch is
 * converted first, and the weights of every layer (rows for the forward,
 * cols for backward-data, which layer 0 has none of) when their copies are
 * stale (net->bf16_w_valid == 0; otherwise the last step's update wrote
 * them, block by block in update_block) | then the forward pass layer by
 * layer, each layer's activation converted for the next layer in its
 * epilogue | (loss as above) | the top layer's dZ converted | backward as
 * above, each lower dZ converted in the epilogue of (a). Every conversion
 * is elementwise and every product one chain per element (gemm_bf16.h): no
 * split changes a bit. The fp32 Z, A and dZ are kept as in fp32 training
 * (activation derivatives, loss, bias gradients). */
static void forward_bf16(step_ctx *c, int t, int nt, float *amax) {
    const nerve_net *net = c->net;
    const struct net_plan *pl = net->plan;
    const size_t L = net->n_layers, n = c->batch->n;
    for (size_t l = 0; c->convert_w && l < L; l++)
        linear_bf16_convert_part(c->kt, net->sizes[l + 1], net->sizes[l],
                                 net->params + net->w_off[l], net->sizes[l], pl->wr[l], pl->wc[l],
                                 t, nt);
    linear_bf16_convert_part(c->kt, n, net->sizes[0], c->batch->x, net->sizes[0], pl->xr[0],
                             pl->xc[0], t, nt);
    OMP_BARRIER(c);
    for (size_t l = 0; l < L; l++) {
        const int last = l + 1 == L;
        linear_bf16_forward_part(c->kt, n, net->sizes[l], net->sizes[l + 1], pl->xr[l], pl->wr[l],
                                 net->params + net->b_off[l], (int)net->acts[l], pl->z[l], pl->a[l],
                                 last ? NULL : pl->xr[l + 1], last ? NULL : pl->xc[l + 1],
                                 pl->bf16_ws, t, nt, last ? NULL : amax);
        if (!last) OMP_BARRIER(c);
    }
}

static void step_thread(step_ctx *c, int t, int nt) {
    nerve_net *net = c->net;
    const struct net_plan *pl = net->plan;
    const size_t L = net->n_layers, n = c->batch->n;
    const int bf16 = net->precision == NERVE_PRECISION_BF16;

    float act_max = 0.0f; /* the guard's max |A| of this thread's strips */
    if (bf16)
        forward_bf16(c, t, nt, c->guarded ? &act_max : NULL);
    else
        fwd_run(c->fwd, t, nt, c->guarded ? &act_max : NULL);
    OMP_BARRIER(c);
    size_t r0, r1;
    train_loss_rows(n, t, nt, &r0, &r1);
    loss_rows(c, r0, r1, pl->dz_ring[0]);
    if (c->guarded) guard_measure(c, r0, r1, t, nt, act_max);
    OMP_BARRIER(c);
    /* every thread sums the rows in the same order: same value everywhere */
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += (double)pl->row_loss[i];
    const float loss = (float)(sum / loss_count(net->loss, n, net->sizes[L]));
    const int bad = !isfinite(loss);
    if (t == 0) {
        c->loss = loss;
        c->bad = bad;
    }
    if (bad) return;
    /* the step's updates: proven finite (no undo copy), or copied aside */
    optim_pending opt = *c->opt;
    if (c->guarded && guard_proven(c, t)) {
        opt.undo = NULL;
        if (t == 0) c->proven = 1;
    }
    if (bf16) { /* the top layer's dZ (dz_ring[0]) for its backward-data and dW */
        linear_bf16_convert_part(c->kt, n, net->sizes[L], pl->dz_ring[0], net->sizes[L],
                                 L > 1 ? pl->dzr[L - 1] : NULL, pl->dzc[L - 1], t, nt);
        OMP_BARRIER(c);
    }

    float amax[3] = {0.0f, 0.0f, 0.0f}; /* what this thread's updates stored */
    for (size_t l = L - 1; l > 0; l--) {
        const size_t k = (L - 1 - l) % 3;
        backward_data(c, l, pl->dz_ring[k], pl->dz_ring[(k + 1) % 3], t, nt);
        OMP_BARRIER(c);
        /* every thread has finished layer l + 1's gradients (the caller's thread) */
        if (t == 0 && c->hook && l + 1 < L) c->hook->ready(c->hook->user, l + 1);
        backward_weights(c, l, pl->dz_ring[k], &opt, amax, t, nt);
    }
    backward_weights(c, 0, pl->dz_ring[(L - 1) % 3], &opt, amax, t, nt);
    if (c->update)
        for (int i = 0; i < 3; i++) bits_max_publish(&c->amax_bits[i], amax[i]);
}

NERVE_PRIVATE nerve_status net_check_samples(const char *fn, const nerve_net *net, const char *what,
                               const float *x, const float *y, const int32_t *labels, size_t n) {
    CHECK_ARG(n >= 1, "%s: the %s is empty (n = 0)", fn, what);
    CHECK_ARG(x != NULL, "%s: %s x is NULL", fn, what);
    const size_t C = net->sizes[net->n_layers], in = net->sizes[0];
    CHECK_ARG(n <= SIZE_MAX / sizeof(float) / (in > C ? in : C), "%s: n = %zu is too large", fn, n);
    const char *loss = loss_of(net->loss)->name;
    if (!loss_of(net->loss)->labels) {
        CHECK_ARG(labels == NULL,
                  "%s: the network's loss %s takes targets y, but the %s has labels", fn, loss,
                  what);
        CHECK_ARG(y != NULL,
                  "%s: the network's loss %s needs targets y (%zu per sample); the %s has none", fn,
                  loss, C, what);
    } else {
        CHECK_ARG(y == NULL, "%s: the network's loss %s takes class labels, but the %s has y", fn,
                  loss, what);
        CHECK_ARG(labels != NULL, "%s: the network's loss %s needs labels; the %s has none", fn,
                  loss, what);
        for (size_t i = 0; i < n; i++)
            CHECK_ARG(labels[i] >= 0 && (size_t)labels[i] < C,
                      "%s: label %ld of sample %zu is outside [0, %zu)", fn, (long)labels[i], i, C);
    }
    return NERVE_OK;
}

nerve_status net_step(const char *fn, nerve_net *net, const nerve_batch *batch, float *loss,
                      int update, int *update_failed) {
    return net_step_hooked(fn, net, batch, loss, update, update_failed, NULL);
}

NERVE_PRIVATE nerve_status net_step_hooked(const char *fn, nerve_net *net, const nerve_batch *batch, float *loss,
                             int update, int *update_failed, const net_grad_hook *hook) {
    nerve_status st;
    const kernel_table *kt = kernels_active();
    const size_t n = batch->n;
    const int nthreads = net_threads(net, n, 1);
    if ((st = plan_ensure_training(net, kt, n, nthreads)) != NERVE_OK ||
        (net->precision == NERVE_PRECISION_BF16 &&
         (st = plan_ensure_bf16(net, kt, n, nthreads)) != NERVE_OK)) {
        error_prefix("%s", fn);
        return st;
    }
    optim_pending p = {0};
    if (update) {
        optim_prepare(net, &p);
        net->packed_valid = 0; /* the step writes the weights */
    }
    const int guarded = update && !update_failed;
    if (guarded) {
        /* the undo copy, for when the update cannot be proven finite: the
         * values before this step, restored if the update stores a NaN or
         * Inf (the guard, above) */
        if ((st = plan_ensure_undo(net, optim_undo_floats(net))) != NERVE_OK) {
            error_prefix("%s", fn);
            return st;
        }
        const struct net_plan *wp = net->plan;
        p.undo = wp->undo;
        optim_bound_prepare(net, kt);
    }
    const struct net_plan *pl = net->plan;
    const fwd_pass f = {.kt = kt,
                        .net = net,
                        .x = batch->x,
                        .n = n,
                        .gemv = n == 1,
                        .z = pl->z,
                        .a = pl->a,
                        .ws = pl->ws};
    step_ctx c = {.kt = kt, .net = net, .batch = batch, .fwd = &f, .update = update,
                  .guarded = guarded, .opt = &p, .hook = hook};
    c.convert_w = net->precision == NERVE_PRECISION_BF16 && !net->bf16_w_valid;
    /* until the step has written copies of the weights it leaves */
    if (update) net->bf16_w_valid = 0;
    atomic_init(&c.update_bad, 0);
    atomic_init(&c.dz_bits, 0u);
    atomic_init(&c.x_bits, 0u);
    for (int i = 0; i < 3; i++) atomic_init(&c.amax_bits[i], 0u);
    OMP_FORK(&c);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
    {
        OMP_READ_SHARED_BEGIN();
        step_ctx *cp = &c;
        OMP_READ_SHARED_END();
        OMP_ENTER(cp);
        step_thread(cp, omp_get_thread_num(), omp_get_num_threads());
        OMP_LEAVE(cp);
    }
    OMP_JOIN(&c);
    if (guarded && !c.bad) {
        if (!c.proven) net->guard_copies++;
        net->guard_g = c.gbound;
        net->guard_x = bits_load(&c.x_bits);
    }
    if (hook && !c.bad) /* layers 1 and 0 finish together, at the region's end */
        for (size_t l = net->n_layers < 2 ? 1 : 2; l-- > 0;) hook->ready(hook->user, l);
    /* bf16: the copies now hold the weights: converted at the start (no
     * update, or the loss was not finite and nothing was updated), or by
     * every block of the update (restored below if it failed: stale) */
    if (net->precision == NERVE_PRECISION_BF16) net->bf16_w_valid = 1;
    if (loss) *loss = c.loss;
    if (c.bad)
        return error_set(NERVE_ENUMERIC,
                         "%s: the loss is %s at optimizer step %llu (epoch %llu, batch of %zu); "
                         "weights left as before this step",
                         fn, isnan(c.loss) ? "NaN" : "infinite", (unsigned long long)net->step + 1,
                         (unsigned long long)net->epoch + 1, n);
    if (update && atomic_load_explicit(&c.update_bad, memory_order_relaxed)) {
        net->bf16_w_valid = 0;
        net->bound_valid = 0; /* measured again before the next proof */
        if (update_failed) { /* the caller restores the state (epoch.c) */
            *update_failed = 1;
            return NERVE_ENUMERIC;
        }
        if (c.proven) {
            /* impossible unless the bounds were stale: a parameter written
             * through a pointer kept from before an earlier call (net.h) */
            return error_set(NERVE_ENUMERIC, OPTIM_STALE_BOUNDS, fn,
                             (unsigned long long)net->step + 1);
        }
        optim_rollback(net, &p);
        return error_set(NERVE_ENUMERIC,
                         "%s: the optimizer update produced NaN or Inf at optimizer step %llu "
                         "(epoch %llu, batch of %zu; loss %g); parameters and optimizer state "
                         "left as before this step",
                         fn, (unsigned long long)net->step + 1, (unsigned long long)net->epoch + 1,
                         n, (double)c.loss);
    }
    if (update) {
        /* every parameter was updated: the bounds are what was stored */
        float amax[3];
        for (int i = 0; i < 3; i++) amax[i] = bits_load(&c.amax_bits[i]);
        optim_bound_commit(net, amax);
        optim_commit(net, &p);
    }
    return NERVE_OK;
}

static nerve_status checked_step(const char *fn, nerve_net *net, const nerve_batch *batch,
                                 float *loss, int update) {
    CHECK_ARG(net != NULL, "%s: net is NULL", fn);
    CHECK_ARG(batch != NULL, "%s: batch is NULL", fn);
    nerve_status st =
        net_check_samples(fn, net, "batch", batch->x, batch->y, batch->labels, batch->n);
    return st != NERVE_OK ? st : net_step(fn, net, batch, loss, update, NULL);
}

nerve_status nerve_net_train_batch(nerve_net *net, const nerve_batch *batch, float *loss) {
    return checked_step("nerve_net_train_batch", net, batch, loss, 1);
}

nerve_status nerve_net_gradients(nerve_net *net, const nerve_batch *batch, float *loss) {
    return checked_step("nerve_net_gradients", net, batch, loss, 0);
}
