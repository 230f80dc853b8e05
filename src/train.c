/* One training step: forward, loss, backward and (optionally) the optimizer,
 * in a single OpenMP parallel region, on memory planned once per network and
 * batch size (no allocation inside a step once the plan fits).
 *
 * Phases of thread t of nt (barriers marked |):
 *   forward, layer by layer (linear_forward_part: GEMM + bias + activation
 *   per tile) | per-row losses and output gradient for a share of the rows |
 *   every thread sums the row losses in row order and checks them | then per
 *   layer from the top: the previous layer's gradient (a) | this layer's
 *   weight/bias gradients and their optimizer update (c), see below.
 *
 * Determinism: every product is split among threads by blocks of its output
 * (gemm.h: each element is one fma chain in increasing k, whatever the
 * block); bias gradients are split by output unit (colsum: one chain over
 * the rows per unit); the loss is summed in row order; the optimizer is
 * elementwise. So no bit depends on the thread count or the split. */
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "linear.h"
#include "net_plan.h"
#include "omp_sync.h"
#include "plan.h"

/* ---- backward ------------------------------------------------------------- */

typedef struct step_ctx {
    const kernels *kt;
    nerve_net *net;
    const nerve_batch *batch;
    const fwd_pass *fwd;
    int update;
    const optim_pending *opt;
    float loss;             /* mean loss, written by thread 0 */
    int bad;                /* loss not finite */
    atomic_int update_bad;  /* an update stored a NaN or Inf (any thread) */
    /* per-layer "gradients ready" callback (net_plan.h), may be NULL */
    const net_grad_hook *hook;
} step_ctx;

/* Loss rows [r0, r1): per-row losses and the gradient of the mean loss with
 * respect to the output, then through the last activation; into d. */
static void loss_rows(const step_ctx *c, size_t r0, size_t r1, float *d) {
    const kernels *kt = c->kt;
    const nerve_net *net = c->net;
    const size_t L = net->n_layers, C = net->sizes[L], n = c->batch->n, rows = r1 - r0;
    if (rows == 0) return;
    const struct net_plan *pl = net->plan;
    const float *o = pl->a[L - 1] + r0 * C;
    float *g = d + r0 * C;
    if (net->loss == NERVE_LOSS_MSE) {
        const float scale = (float)(2.0 / ((double)n * (double)C));
        kt->loss_mse(rows, C, o, c->batch->y + r0 * C, scale, g, pl->row_loss + r0);
    } else {
        const float scale = (float)(1.0 / (double)n);
        kt->loss_xent(rows, C, o, c->batch->labels + r0, scale, g, pl->row_loss + r0);
    }
    if (net->acts[L - 1] != NERVE_ACT_IDENTITY)
        kt->act_bwd[net->acts[L - 1]](rows * C, pl->z[L - 1] + r0 * C, o, g, g);
}

/* ---- backward, with the optimizer fused ----------------------------------
 *
 * Per layer l, from the top, thread t of nt:
 *   (a) l > 0: dZ_{l-1} = act'_{l-1} * (dZ_l W_l), split by gemm_part (GEMV
 *       path: columns), the derivative applied to each tile while in L1;
 *   barrier: dZ_{l-1} complete, and nobody reads W_l any more;
 *   (c) a fixed block of rows [r0, r1) of layer l (MR units): db = column
 *       sums of dZ_l, dW = dZ_l^T X in chunks of rows, and right after each
 *       chunk the optimizer updates those rows of W (and of b), while the
 *       fresh gradient is still in cache.
 * (c) of layer l overlaps (a) of layer l-1 on other threads: they touch
 * different arrays, and the three rotating dZ buffers keep dZ_l intact
 * until the barrier after (a) of layer l-1. Every product is an fma chain
 * per element and the optimizer is elementwise, so no split changes a bit. */

/* (a): the previous layer's dZ from this layer's. */
static void backward_data(const step_ctx *c, size_t l, const float *dz, float *dprev, int t,
                          int nt) {
    const kernels *kt = c->kt;
    const nerve_net *net = c->net;
    const struct net_plan *pl = net->plan;
    const size_t n = c->batch->n, in = net->sizes[l], out = net->sizes[l + 1];
    const float *w = net->params + net->w_off[l];
    const nerve_act pact = net->acts[l - 1];
    if (n == 1) {
        size_t j0, j1;
        split_range(in, 16, t, nt, &j0, &j1);
        if (j1 > j0) {
            kt->gemv_t(out, j1 - j0, 1.0f, w + j0, in, dz, 0.0f, dprev + j0);
            if (pact != NERVE_ACT_IDENTITY)
                kt->act_bwd[pact](j1 - j0, pl->z[l - 1] + j0, pl->a[l - 1] + j0, dprev + j0,
                                  dprev + j0);
        }
        return;
    }
    linear_backward_data_part(kt, n, in, out, w, dz, (int)pact, pl->z[l - 1], pl->a[l - 1], dprev,
                              pl->ws, t, nt);
}

/* Rows of dW computed (and updated) together: about 256 KiB of gradient, a
 * quarter of a 1 MiB L2, so the update finds it in L2, while each B panel
 * (the layer's input) is reused by several micro-tiles; in whole micro-tiles.
 * Measured on Zen 5 at batch 256 (a shared, noisy machine): 48 KiB chunks
 * (L1-sized), which re-read the input once per 12 rows, were ~8% slower. */
#define CHUNK_FLOATS 65536

void train_wgrad_block(const kernels *kt, size_t out, size_t in, int t, int nt, size_t *r0,
                       size_t *r1, size_t *c0, size_t *c1) {
    const size_t units_r = (out + kt->mr - 1) / kt->mr, units_c = (in + kt->nr - 1) / kt->nr;
    size_t tr = (size_t)nt < units_r ? (size_t)nt : units_r;
    if (tr < 1) tr = 1;
    size_t tc = (size_t)nt / tr;
    if (tc > units_c) tc = units_c;
    if (tc < 1) tc = 1;
    if ((size_t)t >= tr * tc) {
        *r0 = *r1 = out;
        *c0 = *c1 = in;
        return;
    }
    split_range(out, kt->mr, (size_t)t / tc, tr, r0, r1);
    split_range(in, kt->nr, (size_t)t % tc, tc, c0, c1);
}

void train_loss_rows(size_t n, int t, int nt, size_t *r0, size_t *r1) {
    split_range(n, 1, (size_t)t, (size_t)nt, r0, r1);
}

/* (c): gradients of the block rows [r0, r1) x columns [c0, c1) of layer l
 * (train_wgrad_block), and their update; the bias gradient of rows
 * [r0, r1) with the first column block. */
static void backward_weights(step_ctx *c, size_t l, const float *dz, int t, int nt) {
    const kernels *kt = c->kt;
    nerve_net *net = c->net;
    const struct net_plan *pl = net->plan;
    const size_t n = c->batch->n, in = net->sizes[l], out = net->sizes[l + 1];
    const float *x = l ? pl->a[l - 1] : c->batch->x;
    float *dw = net->grads + net->w_off[l], *db = net->grads + net->b_off[l];
    const size_t mr = kt->mr;
    size_t r0, r1, c0, c1;
    train_wgrad_block(kt, out, in, t, nt, &r0, &r1, &c0, &c1);
    if (r1 <= r0 || c1 <= c0) return;
    const size_t cols = c1 - c0;
    int bad = 0;
    if (c0 == 0) { /* the bias rows go with the first column block */
        kt->colsum(n, r1 - r0, dz + r0, out, db + r0, 0);
        if (c->update) bad |= optim_update(kt, net, c->opt, net->b_off[l] + r0, r1 - r0);
    }
    /* this thread's own GEMM workspace: its slice of the team's */
    float *ws = pl->ws + (size_t)t * gemm_thread_workspace_floats(kt);
    size_t chunk = CHUNK_FLOATS / cols / mr * mr;
    if (chunk < mr) chunk = mr;
    for (size_t r = r0; r < r1; r += chunk) {
        const size_t rows = r1 - r < chunk ? r1 - r : chunk;
        if (n == 1) {
            /* k = 1: one product per element */
            for (size_t i = r; i < r + rows; i++)
                kt->axpby(cols, dz[i], x + c0, 0.0f, dw + i * in + c0);
        } else {
            const gemm_args g = {
                .m = rows,
                .n = cols,
                .k = n,
                .a = dz + r,
                .a_rs = 1,
                .a_cs = out,
                .b = x + c0,
                .b_rs = in,
                .b_cs = 1,
                .c = dw + r * in + c0,
                .ldc = in,
                .accumulate = 0,
            };
            gemm_part(kt, &g, NULL, ws, 0, 1);
        }
        if (!c->update) continue;
        if (cols == in)
            bad |= optim_update(kt, net, c->opt, net->w_off[l] + r * in, rows * in);
        else
            for (size_t i = r; i < r + rows; i++)
                bad |= optim_update(kt, net, c->opt, net->w_off[l] + i * in + c0, cols);
    }
    if (bad) atomic_store_explicit(&c->update_bad, 1, memory_order_relaxed);
}

static void step_thread(step_ctx *c, int t, int nt) {
    nerve_net *net = c->net;
    const struct net_plan *pl = net->plan;
    const size_t L = net->n_layers, n = c->batch->n;

    fwd_run(c->fwd, t, nt);
    OMP_BARRIER(c);
    size_t r0, r1;
    train_loss_rows(n, t, nt, &r0, &r1);
    loss_rows(c, r0, r1, pl->dz_ring[0]);
    OMP_BARRIER(c);
    /* every thread sums the rows in the same order: same value everywhere */
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += (double)pl->row_loss[i];
    const double denom =
        net->loss == NERVE_LOSS_MSE ? (double)n * (double)net->sizes[L] : (double)n;
    const float loss = (float)(sum / denom);
    const int bad = !isfinite(loss);
    if (t == 0) {
        c->loss = loss;
        c->bad = bad;
    }
    if (bad) return;

    for (size_t l = L - 1; l > 0; l--) {
        const size_t k = (L - 1 - l) % 3;
        backward_data(c, l, pl->dz_ring[k], pl->dz_ring[(k + 1) % 3], t, nt);
        OMP_BARRIER(c);
        /* every thread has finished layer l + 1's gradients (the caller's thread) */
        if (t == 0 && c->hook && l + 1 < L) c->hook->ready(c->hook->user, l + 1);
        backward_weights(c, l, pl->dz_ring[k], t, nt);
    }
    backward_weights(c, 0, pl->dz_ring[(L - 1) % 3], t, nt);
}

nerve_status net_check_samples(const char *fn, const nerve_net *net, const char *what,
                               const float *x, const float *y, const int32_t *labels, size_t n) {
    CHECK_ARG(n >= 1, "%s: the %s is empty (n = 0)", fn, what);
    CHECK_ARG(x != NULL, "%s: %s x is NULL", fn, what);
    const size_t C = net->sizes[net->n_layers], in = net->sizes[0];
    CHECK_ARG(n <= SIZE_MAX / sizeof(float) / (in > C ? in : C), "%s: n = %zu is too large", fn, n);
    if (net->loss == NERVE_LOSS_MSE) {
        CHECK_ARG(labels == NULL, "%s: an mse network takes targets y, but the %s has labels", fn,
                  what);
        CHECK_ARG(y != NULL, "%s: an mse network needs targets y (%zu per sample); the %s has none",
                  fn, C, what);
    } else {
        CHECK_ARG(y == NULL, "%s: a cross-entropy network takes class labels, but the %s has y", fn,
                  what);
        CHECK_ARG(labels != NULL, "%s: a cross-entropy network needs labels; the %s has none", fn,
                  what);
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

nerve_status net_step_hooked(const char *fn, nerve_net *net, const nerve_batch *batch, float *loss,
                             int update, int *update_failed, const net_grad_hook *hook) {
    nerve_status st;
    const kernels *kt = kernels_active();
    const size_t n = batch->n;
    const int nthreads = net_threads(net, n, 1);
    if ((st = plan_ensure_training(net, kt, n, nthreads)) != NERVE_OK) {
        error_prefix("%s", fn);
        return st;
    }
    optim_pending p = {0};
    if (update) {
        optim_prepare(net, &p);
        net->packed_valid = 0; /* the step writes the weights */
    }
    if (update && !update_failed) {
        /* the undo copy: the values before this step, restored if the
         * update stores a NaN or Inf */
        if ((st = plan_ensure_undo(net, optim_undo_floats(net))) != NERVE_OK) {
            error_prefix("%s", fn);
            return st;
        }
        const struct net_plan *wp = net->plan;
        p.undo = wp->undo;
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
    step_ctx c = {.kt = kt, .net = net, .batch = batch, .fwd = &f, .update = update, .opt = &p,
                  .hook = hook};
    atomic_init(&c.update_bad, 0);
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
    if (hook && !c.bad) /* layers 1 and 0 finish together, at the region's end */
        for (size_t l = net->n_layers < 2 ? 1 : 2; l-- > 0;) hook->ready(hook->user, l);
    if (loss) *loss = c.loss;
    if (c.bad)
        return error_set(NERVE_ENUMERIC,
                         "%s: the loss is %s at optimizer step %llu (epoch %llu, batch of %zu); "
                         "weights left as before this step",
                         fn, isnan(c.loss) ? "NaN" : "infinite", (unsigned long long)net->step + 1,
                         (unsigned long long)net->epoch + 1, n);
    if (update && atomic_load_explicit(&c.update_bad, memory_order_relaxed)) {
        if (update_failed) { /* the caller restores the state (epoch.c) */
            *update_failed = 1;
            return NERVE_ENUMERIC;
        }
        optim_rollback(net, &p);
        return error_set(NERVE_ENUMERIC,
                         "%s: the optimizer update produced NaN or Inf at optimizer step %llu "
                         "(epoch %llu, batch of %zu; loss %g); parameters and optimizer state "
                         "left as before this step",
                         fn, (unsigned long long)net->step + 1, (unsigned long long)net->epoch + 1,
                         n, (double)c.loss);
    }
    if (update) optim_commit(net, &p);
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
