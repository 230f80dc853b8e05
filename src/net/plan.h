/* A network's scratch memory (the plan) and the thread-count heuristic,
 * shared by the forward pass and the training step.
 *
 * The plan is never part of the model. It has three parts, each allocated on
 * first need and grown (never shrunk) when a larger pass needs more, so a
 * pass of a size seen before allocates nothing:
 *   - the GEMM packing workspace of the thread team (every pass that packs
 *     per call: training, and inference without prepared weights);
 *   - inference: two ping-pong buffers of rows x the widest layer output,
 *     which the layers alternate between (nerve_net_forward), and on
 *     prepared weights the threads' work areas (src/net/infer.h);
 *   - training: every layer's pre-activation Z and activation A (backward
 *     needs both), a ring of three gradient buffers and the per-row losses
 *     (a training step only).
 * So inference on a fresh network allocates nothing for training. On
 * failure (NERVE_ENOMEM) a part is left as it was. */
#ifndef NERVE_SRC_PLAN_H
#define NERVE_SRC_PLAN_H

#include <stddef.h>

#include "net_internal.h"
#include "split.h"
#include "table.h"

struct net_plan {
    size_t ws_floats; /* floats in ws: the largest gemm_workspace_floats(kt, threads) seen */
    float *ws;        /* GEMM packing workspace of the team, 64-byte aligned */

    size_t pp_floats;   /* floats each of pp[] holds (0: not allocated) */
    float *pp[2];       /* inference ping-pong buffers */
    size_t work_floats; /* floats at work */
    float *work;        /* the threads' work areas of a pass on prepared weights (src/net/infer.h) */

    size_t train_cap;   /* rows the training buffers hold (0: not allocated) */
    float **z;          /* z[l]: train_cap x sizes[l+1], pre-activation of layer l
                         * (its output where a[l] == z[l]) */
    float **a;          /* a[l]: ... after the activation (== z[l] where the
                         * derivative reads Y only, act_bwd_from_y) */
    float *dz_ring[3];  /* train_cap x max width: gradients w.r.t. pre-activations,
                         * rotating (layer l's dZ stays readable while the next
                         * layer down is computed; see train.c) */
    float *row_loss;    /* train_cap per-row losses */
    float *undo;        /* undo_floats floats (optim_undo_floats): the values an
                         * update overwrites, restored if it stores a NaN or Inf;
                         * allocated by the first nerve_net_train_batch step
                         * (train.c), independent of the batch size */
    size_t undo_floats;

    void *ws_block, *infer_block, *train_block; /* the allocations behind the above */

    /* bf16 mixed precision (NERVE_PRECISION_BF16; plan_ensure_bf16): the
     * bf16 pair copies of the step's operands (simd/table.h's two layouts,
     * leading dimensions as stated), per layer l of in x out weights:
     *   xr[l]  n x ceil(in/2)    the layer's input, pairs along a row
     *   xc[l]  ceil(n/2) x in    the same, pairs down a column
     *   dzr[l] n x ceil(out/2)   the layer's dZ, pairs along a row
     *   dzc[l] ceil(n/2) x out   the same, pairs down a column
     *   wr[l]  out x ceil(in/2)  W, pairs along a row
     *   wc[l]  ceil(out/2) x in  W, pairs down a column (backward-data's;
     *          NULL for l = 0, which has none)
     * and the bf16 GEMM workspace of the team. */
    size_t bf16_cap;     /* rows xr .. dzc hold (0: not allocated) */
    size_t bf16_ws_words; /* words in bf16_ws (gemm_bf16_workspace_words) */
    uint32_t **xr, **xc, **dzr, **dzc, **wr, **wc;
    uint32_t *bf16_ws;
    void *bf16_block;
};

/* Makes net->plan hold the GEMM workspace for `threads` threads of kt and
 * the inference buffers for `rows` rows. */
nerve_status plan_ensure_inference(nerve_net *net, const kernel_table *kt, size_t rows, int threads);
/* Makes net->plan hold, for a pass on prepared weights (src/net/infer.h), two
 * ping-pong buffers of buf_floats each and work_floats of work areas, all
 * 64-byte aligned; no GEMM workspace. */
nerve_status plan_ensure_infer_packed(nerve_net *net, size_t buf_floats, size_t work_floats);
/* The same for a training step of `rows` rows (no inference buffers). */
nerve_status plan_ensure_training(nerve_net *net, const kernel_table *kt, size_t rows, int threads);
/* The bf16 part of the plan for `rows` rows and `threads` threads of kt
 * (after plan_ensure_training; every buffer above), grown when needed. */
nerve_status plan_ensure_bf16(nerve_net *net, const kernel_table *kt, size_t rows, int threads);
/* Makes net->plan->undo hold `floats` floats (optim_undo_floats). */
nerve_status plan_ensure_undo(nerve_net *net, size_t floats);
void plan_free(struct net_plan *plan);

/* Threads worth using for a pass of `rows` rows through the network (a
 * training step when `training`, else a forward pass): at most the library
 * thread count (nerve_set_num_threads; 1 inside a parallel region) and the
 * CPUs the process may run on (sched_getaffinity), one per
 * `flops_per_thread` flops of estimated work. */
int net_threads(const nerve_net *net, size_t rows, int training);
/* The same choice on a machine whose process may run on `cpus` CPUs (0: no
 * such cap), for the partition's simulation of bigger machines
 * (bench/partition_sim.c). */
int net_threads_on(const nerve_net *net, size_t rows, int training, int cpus);
/* Changes that threshold (tests set 0 to use every thread asked for, even
 * on tiny networks and beyond the CPU count; the results never depend on
 * it). An atomic store: safe at any time, read by the next call. */
void net_set_flops_per_thread(double flops);
/* Largest width of layers 1 .. n_layers (outputs of weight layers). */
size_t net_max_out_width(const nerve_net *net);

#endif
