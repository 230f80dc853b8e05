/* Internal pieces shared by the network's source files (net.c, init.c,
 * optim.c, train.c, forward.c, epoch.c): what each provides to the others.
 * The scratch plan and the thread heuristic are in plan.h. */
#ifndef NERVE_SRC_NET_PLAN_H
#define NERVE_SRC_NET_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "net_internal.h"
#include "plan.h"
#include "table.h"

/* ---- init.c ---- */
/* Half-width a of the uniform initialisation U(-a, a) of a layer. */
float net_init_bound(nerve_act act, size_t fan_in, size_t fan_out);
/* Fills every weight from net->seed, zeroes the biases. */
void net_init_weights(nerve_net *net);

/* ---- optim.c ---- */
/* The scalars of the next optimizer step, and the beta powers it commits. */
typedef struct optim_pending {
    opt_step s;
    double beta1_pow, beta2_pow;
    float *undo; /* optim_undo_floats(net) floats: the values before the step,
                  * or NULL (no undo copy: the caller restores, epoch.c) */
} optim_pending;
void optim_prepare(const nerve_net *net, optim_pending *p);
/* Floats of the undo copy a step needs: the parameters and each state
 * buffer the optimizer has, n_alloc each. */
size_t optim_undo_floats(const nerve_net *net);
/* Applies the step to the n parameters at offset off (params/grads/opt_m/
 * opt_v share offsets). Elementwise, so any split gives the same bits.
 * The old values go to p->undo first (the block is read there anyway and
 * then found in cache). Nonzero when the kernel stored a NaN or Inf. */
int optim_update(const kernels *kt, nerve_net *net, const optim_pending *p, size_t off, size_t n);
/* After a step whose update stored a non-finite value: every parameter and
 * state value back as before the step, from p->undo. */
void optim_rollback(nerve_net *net, const optim_pending *p);
/* After a successful step: step count + 1, beta powers advanced. */
void optim_commit(nerve_net *net, const optim_pending *p);

/* ---- train.c ---- */
/* Validates n samples for `net` (`what` names them in messages: "batch",
 * "data"): n >= 1, x given, exactly the targets the loss takes (y for mse,
 * labels in [0, outputs) for xent), n rows of the widest side addressable.
 * Shared by nerve_net_train_batch/gradients and the epoch helpers. */
nerve_status net_check_samples(const char *fn, const nerve_net *net, const char *what,
                               const float *x, const float *y, const int32_t *labels, size_t n);
/* One training step on an already validated batch (net_check_samples):
 * forward, loss, backward and, if `update`, the optimizer. If the update
 * stores a NaN or Inf: with update_failed NULL, every block's old values
 * were copied aside just before its update (optim_update) and are put back,
 * NERVE_ENUMERIC with the message; with update_failed given, no copy is
 * made (the hot path of nerve_net_train_epoch, which restores the state
 * from its own per-epoch snapshot), *update_failed is set and
 * NERVE_ENUMERIC returned with the state left as the update made it and no
 * message. */
nerve_status net_step(const char *fn, nerve_net *net, const nerve_batch *batch, float *loss,
                      int update, int *update_failed);
/* The same, calling hook->ready(user, l) once per layer l, from the top
 * down, as soon as every thread has written layer l's weight and bias
 * gradients (net->grads), on the calling thread (OpenMP thread 0, inside the
 * step's parallel region for all but layers 1 and 0): data-parallel
 * training (src/mpi/) starts sending them while backward goes on. Not
 * called when the loss is not finite. With update != 0 the optimizer may
 * already have used a layer's gradients. */
typedef struct net_grad_hook {
    void (*ready)(void *user, size_t layer);
    void *user;
} net_grad_hook;
nerve_status net_step_hooked(const char *fn, nerve_net *net, const nerve_batch *batch, float *loss,
                             int update, int *update_failed, const net_grad_hook *hook);

/* The partition of the step's row phases (exposed for bench/partition_sim.c
 * and tests/test_partition.c). Weight gradient + optimizer of a layer of
 * `out` x `in` weights: thread t of nt computes and updates the block rows
 * [*r0, *r1) x columns [*c0, *c1) of dW (whole MR-row and NR-column units),
 * and the bias rows [*r0, *r1) when *c0 == 0; the rows are split over
 * min(nt, row units) threads and the threads left over split the columns,
 * so a 10-row output layer or a 256-row layer does not leave most of 64
 * threads idle (an empty block when *r0 == *r1). Every element is still one
 * chain over the batch and the update elementwise: no split changes a bit.
 * Loss: per-row losses of rows [*r0, *r1) of n. */
void train_wgrad_block(const kernels *kt, size_t out, size_t in, int t, int nt, size_t *r0,
                       size_t *r1, size_t *c0, size_t *c1);
void train_loss_rows(size_t n, int t, int nt, size_t *r0, size_t *r1);

/* ---- forward.c ---- */
/* Where one forward pass reads and writes. Every matrix is n rows of its
 * layer's width, contiguous. Layer l reads a[l-1] (x for l = 0), writes the
 * product + bias into z[l] and the activation into a[l] (may equal z[l]).
 * With z == NULL (inference) the layers alternate between pp[0] and pp[1]
 * in place, and the last one writes `out`. */
typedef struct fwd_pass {
    const kernels *kt;
    const nerve_net *net;
    const float *x;
    size_t n;        /* rows */
    int gemv;        /* training step of one sample: gemv_n on W (its own
                      * summation order; training promises no batch invariance) */
    const float *wt; /* W^T of every layer (at w_off[l]), for gemv_t (n == 1)
                      * or as the GEMM's in-place B; NULL: W. The entry
                      * points pass NULL since inference runs on the packed
                      * weights (src/infer.h) */
    float *const *z; /* n_layers pointers, or NULL */
    float *const *a; /* n_layers pointers, or NULL */
    float *pp[2];    /* inference ping-pong buffers (n x max width each) */
    float *out;      /* inference output */
    float *ws;       /* GEMM workspace for the team (gemm_workspace_floats) */
} fwd_pass;

/* Runs the forward pass as thread `t` of `nt` (call from every thread of a
 * parallel region, or with t = 0, nt = 1). Barriers between layers when
 * nt > 1; none after the last layer. */
void fwd_run(const fwd_pass *f, int t, int nt);

#endif
