/* The plan: a network's scratch memory (contract: plan.h), the thread-count
 * heuristic. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "plan.h"

#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "api.h"
#include "error.h"
#include "gemm.h"
#include "gemm_bf16.h"
#include "private_abi.h"

static size_t align16(size_t n) { return (n + 15) / 16 * 16; }


size_t net_max_out_width(const nerve_net *net) {
    size_t w = 1;
    for (size_t l = 1; l <= net->n_layers; l++)
        if (net->sizes[l] > w) w = net->sizes[l];
    return w;
}

/* Work (in flops) that makes one more thread worth waking: ~30 us of one
 * core. A step has one parallel region and about two barriers per layer,
 * each a microsecond or more (much more on a loaded machine). */
static _Atomic double flops_per_thread = 3.0e6;

void net_set_flops_per_thread(double flops) {
    atomic_store_explicit(&flops_per_thread, flops, memory_order_relaxed);
}

/* CPUs this process may run on (sched_getaffinity: taskset, cgroup cpusets),
 * looked up once; 0 if unknown. More threads than that only queue behind
 * each other at every barrier (omp_set_num_threads or OMP_NUM_THREADS may
 * ask for more). */
static atomic_int affinity_cpus = -1;

static int cpus_allowed(void) {
    int n = atomic_load_explicit(&affinity_cpus, memory_order_relaxed);
    if (n >= 0) return n;
    cpu_set_t set;
    CPU_ZERO(&set);
    n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    atomic_store_explicit(&affinity_cpus, n, memory_order_relaxed);
    return n;
}

/* The optimizer's pass over the parameters (read w, v, g; write w, v: some
 * 20 bytes each) streams from L3 at roughly 100 GB/s, ~0.2 ns a parameter,
 * the time of ~16 flops of GEMM; it splits perfectly across threads. */
#define UPDATE_FLOPS_PER_PARAM 16.0

int net_threads(const nerve_net *net, size_t rows, int training) {
    return net_threads_on(net, rows, training, cpus_allowed());
}

int net_threads_on(const nerve_net *net, size_t rows, int training, int cpus) {
    double fwd = 0;
    for (size_t l = 0; l < net->n_layers; l++)
        fwd += 2.0 * (double)rows * (double)net->sizes[l] * (double)net->sizes[l + 1];
    /* backward is about twice the forward; the update is per parameter */
    const double work = training ? 3.0 * fwd + UPDATE_FLOPS_PER_PARAM * (double)net->n_params : fwd;
    int nt = omp_in_parallel() ? 1 : lib_max_threads(); /* nerve_set_num_threads */
    const double fpt = atomic_load_explicit(&flops_per_thread, memory_order_relaxed);
    if (fpt > 0) { /* 0: every thread asked for (tests of thread-count invariance) */
        if (cpus > 0 && nt > cpus) nt = cpus;
        const double useful = 1.0 + work / fpt;
        if ((double)nt > useful) nt = (int)useful;
    }
    return nt < 1 ? 1 : nt;
}

void plan_free(struct net_plan *plan) {
    if (!plan) return;
    free(plan->ws_block);
    free(plan->infer_block);
    free(plan->train_block);
    free(plan->z); /* z and a share one array */
    free(plan->undo);
    free(plan->bf16_block);
    free(plan->xr); /* the six pointer arrays share one allocation */
    free(plan);
}

/* net->plan itself, and its GEMM workspace for `threads` threads of kt. */
static nerve_status ensure_ws(nerve_net *net, const kernel_table *kt, int threads) {
    if (!net->plan && !(net->plan = calloc(1, sizeof *net->plan)))
        return error_set(NERVE_ENOMEM, "out of memory for the network's scratch plan");
    struct net_plan *p = net->plan;
    const size_t wsf = align16(gemm_workspace_floats(kt, threads < 1 ? 1 : threads));
    if (p->ws_floats >= wsf) return NERVE_OK;
    float *ws = aligned_alloc(64, wsf * sizeof(float));
    if (!ws)
        return error_set(NERVE_ENOMEM, "out of memory for the GEMM workspace of %d threads (%zu MiB)",
                         threads, wsf * sizeof(float) >> 20);
    free(p->ws_block);
    p->ws_block = p->ws = ws;
    p->ws_floats = wsf;
    return NERVE_OK;
}

/* Every buffer below is at most 2^62 bytes, or the request is refused:
 * rows x width products of `count` buffers of the widest layer. */
static int too_large(size_t rows, size_t maxw, size_t count) {
    const size_t lim = ((size_t)1 << 62) / sizeof(float);
    return rows > lim / maxw / count;
}

/* The inference part: pp[] of at least `one` floats each and `work` floats
 * of work areas (both multiples of 16), in one block. */
static nerve_status ensure_infer(nerve_net *net, size_t one, size_t work) {
    if (!net->plan && !(net->plan = calloc(1, sizeof *net->plan)))
        return error_set(NERVE_ENOMEM, "out of memory for the network's scratch plan");
    struct net_plan *p = net->plan;
    if (p->pp_floats >= one && p->work_floats >= work) return NERVE_OK;
    if (p->pp_floats > one) one = p->pp_floats;
    if (p->work_floats > work) work = p->work_floats;
    float *block = aligned_alloc(64, (2 * one + work) * sizeof(float));
    if (!block)
        return error_set(NERVE_ENOMEM, "out of memory for the inference buffers (%zu MiB)",
                         (2 * one + work) * sizeof(float) >> 20);
    free(p->infer_block);
    p->infer_block = block;
    p->pp[0] = block;
    p->pp[1] = block + one;
    p->pp_floats = one;
    p->work = work ? block + 2 * one : NULL;
    p->work_floats = work;
    return NERVE_OK;
}

nerve_status plan_ensure_inference(nerve_net *net, const kernel_table *kt, size_t rows, int threads) {
    nerve_status st = ensure_ws(net, kt, threads);
    if (st != NERVE_OK) return st;
    const size_t maxw = net_max_out_width(net);
    if (too_large(rows, maxw, 2))
        return error_set(NERVE_ENOMEM, "%zu rows are too many for one pass of this network", rows);
    return ensure_infer(net, align16(rows * maxw), 0);
}

nerve_status plan_ensure_infer_packed(nerve_net *net, size_t buf_floats, size_t work_floats) {
    const size_t lim = ((size_t)1 << 62) / sizeof(float) / 3;
    if (buf_floats > lim || work_floats > lim)
        return error_set(NERVE_ENOMEM, "this pass is too large for one allocation");
    return ensure_infer(net, align16(buf_floats), align16(work_floats));
}

nerve_status plan_ensure_training(nerve_net *net, const kernel_table *kt, size_t rows, int threads) {
    nerve_status st = ensure_ws(net, kt, threads);
    if (st != NERVE_OK) return st;
    struct net_plan *p = net->plan;
    if (p->train_cap >= rows) return NERVE_OK;
    const size_t L = net->n_layers, maxw = net_max_out_width(net);
    if (too_large(rows, maxw, 2 * L + 4))
        return error_set(NERVE_ENOMEM, "a batch of %zu rows is too large for this network", rows);
    size_t total = 3 * align16(rows * maxw) + align16(rows);
    for (size_t l = 0; l < L; l++) {
        const size_t one = align16(rows * net->sizes[l + 1]);
        total += act_bwd_from_y((int)net->acts[l]) ? one : 2 * one; /* Y in place of Z: below */
    }
    float **ptrs = malloc(2 * L * sizeof *ptrs);
    float *block = ptrs ? aligned_alloc(64, total * sizeof(float)) : NULL;
    if (!block) {
        free(ptrs);
        return error_set(NERVE_ENOMEM, "out of memory for the scratch of %zu-row batches (%zu MiB)",
                         rows, total * sizeof(float) >> 20);
    }
    free(p->train_block);
    free(p->z);
    p->train_block = block;
    p->z = ptrs;
    p->a = ptrs + L;
    float *q = block;
    for (size_t l = 0; l < L; l++) {
        const size_t one = align16(rows * net->sizes[l + 1]);
        p->z[l] = q;
        q += one;
        /* Y in place of Z where the derivative reads Y only (table.h): one
         * fused bias + activation pass in the forward's epilogue, and one
         * buffer less to write and read */
        if (act_bwd_from_y((int)net->acts[l])) {
            p->a[l] = p->z[l];
        } else {
            p->a[l] = q;
            q += one;
        }
    }
    for (int i = 0; i < 3; i++) {
        p->dz_ring[i] = q;
        q += align16(rows * maxw);
    }
    p->row_loss = q;
    p->train_cap = rows;
    return NERVE_OK;
}

NERVE_PRIVATE nerve_status plan_ensure_undo(nerve_net *net, size_t floats) {
    struct net_plan *p = net->plan;
    if (!p && !(p = net->plan = calloc(1, sizeof *net->plan)))
        return error_set(NERVE_ENOMEM, "out of memory for the network's scratch plan");
    if (p->undo_floats >= floats) return NERVE_OK;
    float *u = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
    if (!u) return error_set(NERVE_ENOMEM, "out of memory for the optimizer's undo copy");
    free(p->undo);
    p->undo = u;
    p->undo_floats = floats;
    return NERVE_OK;
}

nerve_status plan_ensure_bf16(nerve_net *net, const kernel_table *kt, size_t rows, int threads) {
    struct net_plan *p = net->plan; /* plan_ensure_training made it */
    const size_t wsw = align16(gemm_bf16_workspace_words(kt, threads < 1 ? 1 : threads));
    if (p->bf16_cap >= rows && p->bf16_ws_words >= wsw) return NERVE_OK;
    if (p->bf16_cap > rows) rows = p->bf16_cap; /* grow only */
    const size_t L = net->n_layers, maxw = net_max_out_width(net) > net->sizes[0]
                                               ? net_max_out_width(net)
                                               : net->sizes[0];
    if (too_large(rows + 1, maxw, 4 * L + 4))
        return error_set(NERVE_ENOMEM, "a batch of %zu rows is too large for this network", rows);
    const size_t half = (rows + 1) / 2;
    size_t total = wsw;
    for (size_t l = 0; l < L; l++) {
        const size_t in = net->sizes[l], out = net->sizes[l + 1];
        total += align16(rows * ((in + 1) / 2)) + align16(half * in);    /* xr, xc */
        total += align16(rows * ((out + 1) / 2)) + align16(half * out);  /* dzr, dzc */
        total += align16(out * ((in + 1) / 2));                          /* wr */
        if (l) total += align16((out + 1) / 2 * in);                     /* wc */
    }
    uint32_t **ptrs = malloc(6 * L * sizeof *ptrs);
    uint32_t *block = ptrs ? aligned_alloc(64, total * sizeof(uint32_t)) : NULL;
    if (!block) {
        free(ptrs);
        return error_set(NERVE_ENOMEM, "out of memory for the bf16 copies of %zu-row batches "
                         "(%zu MiB)", rows, total * sizeof(uint32_t) >> 20);
    }
    free(p->bf16_block);
    free(p->xr);
    p->bf16_block = block;
    p->xr = ptrs;
    p->xc = ptrs + L;
    p->dzr = ptrs + 2 * L;
    p->dzc = ptrs + 3 * L;
    p->wr = ptrs + 4 * L;
    p->wc = ptrs + 5 * L;
    uint32_t *q = block;
    p->bf16_ws = q;
    q += wsw;
    for (size_t l = 0; l < L; l++) {
        const size_t in = net->sizes[l], out = net->sizes[l + 1];
        p->xr[l] = q, q += align16(rows * ((in + 1) / 2));
        p->xc[l] = q, q += align16(half * in);
        p->dzr[l] = q, q += align16(rows * ((out + 1) / 2));
        p->dzc[l] = q, q += align16(half * out);
        p->wr[l] = q, q += align16(out * ((in + 1) / 2));
        p->wc[l] = NULL;
        if (l) p->wc[l] = q, q += align16((out + 1) / 2 * in);
    }
    p->bf16_cap = rows;
    p->bf16_ws_words = wsw;
    net->bf16_w_valid = 0; /* new copies, not yet written */
    return NERVE_OK;
}
