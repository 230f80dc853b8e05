/* Internal pieces shared by the network's source files (net.c, init.c,
 * optim.c, train.c, forward.c, epoch.c, and mpi/mpi.c): what each provides
 * to the others.
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
/* What the kernel column of NERVE_OPT_LIST (kernels.h) stands for: the
 * settings, state and call of one update kernel, shared by the kinds that
 * run it (adam and adamw). A new kernel brings one of these. */
typedef struct optim_family {
    /* checks the settings only this family reads (the kind, lr and weight
     * decay are checked for every kind); fn names the caller */
    nerve_status (*validate)(const char *fn, const nerve_opt *o);
    /* state arrays the settings need: 0, 1 (opt_m) or 2 (opt_m, opt_v) */
    unsigned (*states)(const nerve_opt *o);
    /* 1: the step advances beta1^t and beta2^t (Adam's bias corrections) */
    int betas;
    /* the kernel's scalars for step t: first = (t == 1); b1t, b2t =
     * beta1^t, beta2^t in double (read only when betas) */
    void (*scalars)(const nerve_opt *o, int first, double b1t, double b2t, opt_step *s);
    /* the kernel over n elements; m, v the state arrays (NULL beyond
     * states()); nonzero when it stored a NaN or Inf */
    int (*update)(const kernel_table *kt, size_t n, float *w, const float *g, float *m, float *v,
                  const opt_step *s, float *amax);
    /* Proves the update finite (optim_bound): from in[] >= max |w|, |m|,
     * |v| before the step and g >= max |gradient|, 1 when every value the
     * kernel computes is certain to be finite; 0 when that cannot be shown. */
    int (*bound)(const opt_step *s, const float in[3], float g);
} optim_family;
/* The family of a valid kind. */
const optim_family *optim_family_of(nerve_opt_kind kind);
/* optim_family_of(o->kind)->states(o): the buffers nerve_net_set_optimizer
 * allocates and a model file stores. */
unsigned optim_state_count(const nerve_opt *o);

/* The scalars of the next optimizer step, and the beta powers it commits. */
typedef struct optim_pending {
    opt_step s;
    double beta1_pow, beta2_pow;
    float *undo; /* optim_undo_floats(net) floats: the values before the step,
                  * or NULL (no undo copy: the caller restores, epoch.c, or
                  * the update is proven finite, optim_bound) */
} optim_pending;
void optim_prepare(const nerve_net *net, optim_pending *p);
/* Makes the tracked bounds (net->bound) valid, measuring the arrays when
 * they are not; before optim_bound, outside parallel regions. */
void optim_bound_prepare(nerve_net *net, const kernel_table *kt);
/* 1 when the pending update, with every |gradient| <= g, is certain to
 * store only finite values, from the tracked bounds (valid). Reads only:
 * every thread of a step may ask. */
int optim_bound(const nerve_net *net, const optim_pending *p, float g);
/* The message (fn, step + 1) of a proven update that stored a NaN or Inf,
 * which only stale bounds make possible: a parameter written through a
 * pointer kept across calls (net.h). Nothing can be put back then. */
#define OPTIM_STALE_BOUNDS                                                                         \
    "%s: the optimizer update produced NaN or Inf at optimizer step %llu although its inputs "    \
    "were bounded: were parameters written through a pointer kept from before an earlier call? " \
    "The step is not undone"
/* After a successful update of every parameter: the tracked bounds become
 * amax[], the largest magnitudes the kernels stored (optim_update). */
void optim_bound_commit(nerve_net *net, const float amax[3]);
/* Floats of the undo copy a step needs: the parameters and each state
 * buffer the optimizer has, n_alloc each. */
size_t optim_undo_floats(const nerve_net *net);
/* Applies the step to the n parameters at offset off (params/grads/opt_m/
 * opt_v share offsets). Elementwise, so any split gives the same bits.
 * The old values go to p->undo first (the block is read there anyway and
 * then found in cache). Nonzero when the kernel stored a NaN or Inf.
 * amax (may be NULL) is raised to the largest magnitudes stored (w, the
 * first and the second state array: simd/table.h). */
int optim_update(const kernel_table *kt, nerve_net *net, const optim_pending *p, size_t off, size_t n,
                 float *amax);
/* After a step whose update stored a non-finite value: every parameter and
 * state value back as before the step, from p->undo. */
void optim_rollback(nerve_net *net, const optim_pending *p);
/* After a successful step: step count + 1, beta powers advanced. */
void optim_commit(nerve_net *net, const optim_pending *p);

/* ---- train.c ---- */
/* Validates n samples for `net` (`what` names them in messages: "batch",
 * "data"): n >= 1, x given, exactly the targets the loss takes (y for a
 * values loss, labels in [0, outputs) for a labels loss: src/core/loss.h), n rows of the widest side
 * addressable. Shared by nerve_net_train_batch/gradients and the epoch helpers. */
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

/* The partition of the step's loss phase (exposed for bench/partition_sim.c
 * and tests/net/test_partition.c): per-row losses of rows [*r0, *r1) of n. The
 * weight-gradient blocks are linear_grad_block's (linear.h). */
void train_loss_rows(size_t n, int t, int nt, size_t *r0, size_t *r1);

/* ---- epoch.c: what nerve_net_train_epoch and the MPI epoch share ---- */
/* One pass of training over n rows in batches of bs (capped to n). */
typedef struct epoch_pass {
    size_t r0;       /* first row of this pass: > 0 when it continues a cut epoch */
    double loss_sum; /* the cut part's running sums (0 for a new epoch) */
    size_t correct;
    float base_lr;    /* net->opt.lr outside the pass; the schedule's rate inside */
    uint64_t rng0[4]; /* shuffled: the generator before the epoch's shuffle */
} epoch_pass;
/* Whether the pass may start: a cut epoch continues only with the same row
 * count, batch size and shuffling. NERVE_EINVAL naming fn and what differs
 * (net->cut tells how to continue), else NERVE_OK. */
nerve_status epoch_check(const char *fn, const nerve_net *net, size_t n, size_t bs, int shuffle);
/* Begins the pass (after epoch_check): the permutation into perm when it is
 * not NULL (a new epoch draws it from net->rng, advancing it; a cut epoch
 * draws the same one again from its saved state), the cut part's sums, and
 * the schedule's rate of this epoch as net->opt.lr. */
void epoch_begin(nerve_net *net, size_t n, size_t *perm, epoch_pass *p);
/* Ends it, whatever happened (every epoch_begin has one): the base rate
 * back; `seen` rows of n trained (r0 included). With st == NERVE_OK: all n
 * count the epoch; a pass the stop flag cut (cut != 0) records where it
 * stopped, with the running sums. A failure after this pass trained a row
 * gives the epoch up (net->cut cleared); one before leaves net->cut as it
 * was (the network is as before the pass). */
void epoch_end(nerve_net *net, const epoch_pass *p, size_t n, size_t bs, int shuffle, size_t seen,
               double loss_sum, size_t correct, nerve_status st, int cut);

/* ---- forward.c ---- */
/* Where one forward pass reads and writes. Every matrix is n rows of its
 * layer's width, contiguous. Layer l reads a[l-1] (x for l = 0), writes the
 * product + bias into z[l] and the activation into a[l] (may equal z[l]).
 * With z == NULL (inference) the layers alternate between pp[0] and pp[1]
 * in place, and the last one writes `out`. */
typedef struct fwd_pass {
    const kernel_table *kt;
    const nerve_net *net;
    const float *x;
    size_t n;        /* rows */
    int gemv;        /* training step of one sample: gemv_n on W (its own
                      * summation order; training promises no batch invariance) */
    float *const *z; /* n_layers pointers, or NULL */
    float *const *a; /* n_layers pointers, or NULL */
    float *pp[2];    /* inference ping-pong buffers (n x max width each) */
    float *out;      /* inference output */
    float *ws;       /* GEMM workspace for the team (gemm_workspace_floats) */
} fwd_pass;

/* Runs the forward pass as thread `t` of `nt` (call from every thread of a
 * parallel region, or with t = 0, nt = 1). Barriers between layers when
 * nt > 1; none after the last layer. amax may be NULL; else *amax is raised
 * to the largest |A| this thread stored in the activations that are a
 * layer's input (all but the last layer's; linear_forward_part). */
void fwd_run(const fwd_pass *f, int t, int nt, float *amax);

#endif
