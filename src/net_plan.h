/* Internal pieces shared by the network's source files (net.c, init.c,
 * optim.c, train.c, forward.c, epoch.c): the scratch plan of a network and
 * the helpers each file provides to the others. */
#ifndef NERVE_SRC_NET_PLAN_H
#define NERVE_SRC_NET_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "net_internal.h"
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

/* ---- train.c: the scratch plan ----
 * Sized for `cap` rows and `threads` GEMM workspaces of the table `kt`;
 * grown (never shrunk) by plan_ensure, so a training step never allocates
 * once the plan fits its batch. */
struct net_plan {
    size_t cap;       /* rows the buffers hold */
    size_t ws_floats; /* floats in ws: gemm_workspace_floats(kt, threads) for the
                       * tables and thread counts seen so far */
    float *ws;        /* GEMM packing workspace of the team, 64-byte aligned */
    float **z;        /* z[l]: cap x sizes[l+1], pre-activation of layer l */
    float **a;        /* a[l]: cap x sizes[l+1], after the activation (== z[l] for identity) */
    float *d[3];      /* cap x max width: backward gradients w.r.t. pre-activations,
                       * rotating (layer l's dZ stays readable while the
                       * next layer down is computed; see train.c) */
    float *row_loss;  /* cap per-row losses */
    void *block;      /* the single allocation holding all of the above */
    float *undo;      /* undo_floats floats (optim_undo_floats), separately
                       * allocated by the first training step, kept when the
                       * plan grows */
    size_t undo_floats;
};

/* Makes net->plan hold at least `rows` rows and `threads` workspaces of kt.
 * NERVE_ENOMEM (plan unchanged) on failure. */
nerve_status plan_ensure(nerve_net *net, const kernels *kt, size_t rows, int threads);
void plan_free(struct net_plan *plan);

/* Threads worth using for a pass of `rows` rows through the network (a
 * training step when `training`, else a forward pass): at most
 * omp_get_max_threads() and the CPUs the process may run on
 * (sched_getaffinity), one per `flops_per_thread` flops of estimated work. */
int net_threads(const nerve_net *net, size_t rows, int training);
/* Changes that threshold (tests set 0 to use every thread asked for, even
 * on tiny networks and beyond the CPU count; the results never depend on
 * it). An atomic store: safe at any time, read by the next call. */
void net_set_flops_per_thread(double flops);
/* Largest width of layers 1 .. n_layers (outputs of weight layers). */
size_t net_max_out_width(const nerve_net *net);

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
    int gemv;        /* n == 1 in the public call: GEMV instead of GEMM */
    float *const *z; /* n_layers pointers, or NULL */
    float *const *a; /* n_layers pointers, or NULL */
    float *pp[2];    /* inference ping-pong buffers (n x max width each) */
    float *out;      /* inference output */
    float *ws;       /* GEMM workspace for the team (gemm_workspace_floats) */
} fwd_pass;

/* Runs the forward pass as thread `t` of `nt` (call from every thread of a
 * parallel region, or with t = 0, nt = 1). Barriers between layers when
 * nt > 1; none after the last layer. n == 1 uses GEMV. */
void fwd_run(const fwd_pass *f, int t, int nt);

/* Contiguous share [*b, *e) of thread t among nt over [0, n), cut at
 * multiples of `unit` (the last share takes the remainder). */
void part1d(size_t n, size_t unit, int t, int nt, size_t *b, size_t *e);

#endif
