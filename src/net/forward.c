/* The forward pass (shared by training and inference) and the public
 * inference entry points.
 *
 * Batch invariance (net.h): output j of a layer, for any sample, is one fma
 * chain over k = 0 .. in-1 of W[j][k] * x[k] starting from 0 (the GEMM
 * contract, gemm.h), then + b[j] (bias_add), then the activation. A sample
 * thus gets the same bits alone, in any batch, with any thread count and on
 * any ISA. Inference keeps the weights packed for the micro-kernel (the
 * prepared weights, src/net/infer.h: built by nerve_net_prepare_inference or
 * the first nerve_net_forward after each change of the weights) and runs
 * infer_run on them: gemv_packed for one or two samples, the micro-kernel
 * on MR-row tiles against the panels for more. Without them (nerve_net_forward_const on a
 * network not prepared for the active table, or no memory for them) the
 * pass is fwd_run, the training forward, with the GEMM packing W per call,
 * one sample included: the same chains again.
 * A training step of one sample (online training) uses gemv_n on W instead
 * (16 lane-wise partial sums, one fixed tree): as reproducible across threads
 * and ISAs, and faster than packing W after every step, but another
 * rounding; training promises no batch invariance (a batch of one is another
 * gradient anyway). */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "infer.h"
#include "linear.h"
#include "net_plan.h"
#include "omp_sync.h"
#include "plan.h"

void fwd_run(const fwd_pass *f, int t, int nt, float *amax) {
    const kernel_table *kt = f->kt;
    const nerve_net *net = f->net;
    for (size_t l = 0; l < net->n_layers; l++) {
        const int last = l + 1 == net->n_layers;
        const size_t in = net->sizes[l], out = net->sizes[l + 1];
        const float *x = l == 0 ? f->x : f->z ? f->a[l - 1] : f->pp[(l - 1) & 1];
        const float *w = net->params + net->w_off[l], *b = net->params + net->b_off[l];
        float *z, *a;
        if (f->z) {
            z = f->z[l];
            a = f->a[l];
        } else {
            z = a = l + 1 == net->n_layers ? f->out : f->pp[l & 1];
        }
        /* Z kept separately only when the activation's derivative needs
         * it (the plan makes z[l] == a[l] otherwise: act_bwd_from_y);
         * then the product lands in a. The path (GEMV or GEMM) is
         * linear.c's choice. */
        linear_forward_part(kt, f->n, in, out, x, w, b, (int)net->acts[l],
                            f->gemv ? LINEAR_ONE_DOT : LINEAR_CHAIN, z, a, f->ws, t, nt,
                            last ? NULL : amax);
        if (nt > 1 && !last) OMP_BARRIER(f);
    }
}

/* ---- public inference ---------------------------------------------------- */

/* Rows per pass of nerve_net_forward / nerve_net_forward_const: bounds the
 * scratch memory for large n while keeping every pass a real GEMM. */
#define FWD_CHUNK 1024

static nerve_status check_forward(const char *fn, const nerve_net *net, const float *x, size_t n,
                                  const float *out) {
    CHECK_ARG(net != NULL, "%s: net is NULL", fn);
    CHECK_ARG(n >= 1, "%s: n is 0 (no samples)", fn);
    CHECK_ARG(x != NULL, "%s: x is NULL", fn);
    CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    const size_t in = net->sizes[0], w = net_max_out_width(net);
    CHECK_ARG(n <= SIZE_MAX / sizeof(float) / (in > w ? in : w), "%s: n = %zu is too large", fn, n);
    return NERVE_OK;
}

/* Chunks of nerve_net_forward / _const: as few as FWD_CHUNK allows, their
 * sizes differing by at most one row; *rows gets the largest. */
static size_t chunk_count(size_t n, size_t *rows) {
    const size_t chunks = n / FWD_CHUNK + (n % FWD_CHUNK != 0);
    *rows = n / chunks + (n % chunks != 0);
    return chunks;
}

nerve_status nerve_net_prepare_inference(nerve_net *net) {
    CHECK_ARG(net != NULL, "nerve_net_prepare_inference: net is NULL");
    const nerve_status st = infer_prepare(net, kernels_active());
    if (st != NERVE_OK) error_prefix("nerve_net_prepare_inference");
    return st;
}

/* What the threads of one chunk's parallel region run: fwd_run (W packed
 * per call) or, with prepared weights, infer_run. */
typedef struct fwd_call {
    const fwd_pass *f;
    const infer_pass *p; /* NULL: fwd_run */
} fwd_call;

nerve_status nerve_net_forward(nerve_net *net, const float *x, size_t n, float *out) {
    static const char fn[] = "nerve_net_forward";
    nerve_status st = check_forward(fn, net, x, n, out);
    if (st != NERVE_OK) return st;
    const kernel_table *kt = kernels_active();
    size_t chunk;
    const size_t chunks = chunk_count(n, &chunk);
    const int nthreads = net_threads(net, chunk, 0);
    /* the weights packed for the micro-kernel (built here after each change
     * of the weights) when they can be had; else W, packed per call: the
     * same bits */
    const float *pk = infer_prepare(net, kt) == NERVE_OK ? net->packed : NULL;
    if (pk)
        st = plan_ensure_infer_packed(net, infer_buf_floats(net, chunk),
                                      (size_t)nthreads * infer_work_floats(net, kt, chunk));
    else
        st = plan_ensure_inference(net, kt, chunk, nthreads);
    if (st != NERVE_OK) {
        error_prefix("%s", fn);
        return st;
    }
    const struct net_plan *pl = net->plan;
    const size_t in = net->sizes[0], outw = net->sizes[net->n_layers];
    for (size_t i = 0; i < chunks; i++) {
        size_t r, r1;
        split_range(n, 1, i, chunks, &r, &r1);
        const fwd_pass f = {.kt = kt,
                            .net = net,
                            .x = x + r * in,
                            .n = r1 - r,
                            .pp = {pl->pp[0], pl->pp[1]},
                            .out = out + r * outw,
                            .ws = pl->ws};
        const infer_pass p = {.kt = kt,
                              .net = net,
                              .pk = pk,
                              .x = x + r * in,
                              .n = r1 - r,
                              .buf = {pl->pp[0], pl->pp[1]},
                              .work = pl->work,
                              .out = out + r * outw};
        const fwd_call c = {&f, pk ? &p : NULL};
        int nt = net_threads(net, r1 - r, 0);
        if (nt > nthreads) nt = nthreads; /* the thread count changed since */
        /* no team for one thread: even a team of one costs a microsecond */
        if (nt <= 1) {
            if (c.p)
                infer_run(c.p, 0, 1);
            else
                fwd_run(c.f, 0, 1, NULL);
            continue;
        }
        OMP_FORK(&c);
#pragma omp parallel num_threads(nt)
        {
            OMP_READ_SHARED_BEGIN();
            const fwd_call *cp = &c;
            OMP_READ_SHARED_END();
            OMP_ENTER(cp);
            if (cp->p)
                infer_run(cp->p, omp_get_thread_num(), omp_get_num_threads());
            else
                fwd_run(cp->f, omp_get_thread_num(), omp_get_num_threads(), NULL);
            OMP_LEAVE(cp);
        }
        OMP_JOIN(&c);
    }
    return NERVE_OK;
}

/* forward_const scratch, the larger of what its two paths need (the active
 * table, and whether the network is prepared for it, are known only at the
 * call): W packed per call, two ping-pong buffers of chunk x max width and
 * one GEMM workspace (the largest any supported table needs); or prepared
 * weights, two buffers and one work area (infer_buf_floats /
 * infer_work_floats, bounds over every table); plus 64 bytes of slack to
 * align them. */
static size_t const_ws_floats(void) {
    size_t m = 0;
    for (int i = 0; i < NERVE_ISA_COUNT; i++) {
        const kernel_table *t = kernels_for((nerve_isa)i);
        if (t) {
            const size_t w = gemm_workspace_floats(t, 1);
            if (w > m) m = w;
        }
    }
    return m;
}

size_t nerve_net_forward_scratch_floats(const nerve_net *net, size_t n) {
    if (!net || n == 0) return 0;
    size_t chunk;
    chunk_count(n, &chunk);
    const size_t w = net_max_out_width(net); /* chunk * w <= 2^10 * 2^24: no overflow */
    const size_t packed_w = 2 * ((chunk * w + 15) / 16 * 16) + const_ws_floats();
    const size_t prepared = 2 * infer_buf_floats(net, chunk) + infer_work_floats(net, NULL, chunk);
    return (packed_w > prepared ? packed_w : prepared) + 16;
}

nerve_status nerve_net_forward_const(const nerve_net *net, const float *x, size_t n, float *out,
                                     float *scratch) {
    static const char fn[] = "nerve_net_forward_const";
    nerve_status st = check_forward(fn, net, x, n, out);
    if (st != NERVE_OK) return st;
    const kernel_table *kt = kernels_active();
    const size_t in = net->sizes[0], outw = net->sizes[net->n_layers];
    size_t chunk;
    const size_t chunks = chunk_count(n, &chunk);
    /* the packed weights only if nerve_net_prepare_inference (or
     * nerve_net_forward) built them for these weights and this table's NR;
     * else W, packed per call: the same bits */
    const float *pk = infer_weights(net, kt);
    const size_t bw =
        pk ? infer_buf_floats(net, chunk) : (chunk * net_max_out_width(net) + 15) / 16 * 16;
    const size_t wsf = pk ? infer_work_floats(net, kt, chunk) : const_ws_floats();
    float *own = NULL;
    if (!scratch) { /* only what this call's path needs */
        own = malloc((2 * bw + wsf + 16) * sizeof(float));
        if (!own)
            return error_set(NERVE_ENOMEM, "%s: out of memory for %zu rows of scratch", fn, n);
        scratch = own;
    }
    float *base = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    for (size_t i = 0; i < chunks; i++) {
        size_t r, r1;
        split_range(n, 1, i, chunks, &r, &r1);
        if (pk) {
            const infer_pass p = {.kt = kt,
                                  .net = net,
                                  .pk = pk,
                                  .x = x + r * in,
                                  .n = r1 - r,
                                  .buf = {base + wsf, base + wsf + bw},
                                  .work = base,
                                  .out = out + r * outw};
            infer_run(&p, 0, 1);
        } else {
            const fwd_pass f = {.kt = kt,
                                .net = net,
                                .x = x + r * in,
                                .n = r1 - r,
                                .pp = {base + wsf, base + wsf + bw},
                                .out = out + r * outw,
                                .ws = base};
            fwd_run(&f, 0, 1, NULL);
        }
    }
    free(own);
    return NERVE_OK;
}
