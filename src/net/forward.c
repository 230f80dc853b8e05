/* The forward pass (shared by training and inference) and the public
 * inference entry points.
 *
 * Batch invariance (net.h): output j of a layer, for any sample, is one fma
 * chain over k = 0 .. in-1 of W[j][k] * x[k] starting from 0 (the GEMM
 * contract, gemm.h), then + b[j] (bias_add), then the activation. A sample
 * thus gets the same bits alone, in any batch, with any thread count and on
 * any ISA. Inference keeps W^T of every layer (net->wt, rebuilt once after
 * each change of the weights) and computes those chains from it:
 *   - one sample: gemv_t on W^T, the same chain for every column, vectorised
 *     across the outputs;
 *   - small batches: the GEMM with B = W^T read in place (rows contiguous),
 *     which saves packing W on every call;
 *   - larger batches: the GEMM packing W, as training.
 * linear_forward_part (linear.h) makes that choice for each layer.
 * Threads split outputs (n == 1) or output tiles.
 * Without the copy (nerve_net_forward_const on a network not prepared, or no
 * memory for it) the GEMM packs W per call (path LINEAR_CHAIN, the
 * training forward), one sample included: the same chains again.
 * A training step of one sample (online training) uses gemv_n on W instead
 * (16 lane-wise partial sums, one fixed tree): as reproducible across threads
 * and ISAs, and faster than transposing W after every step, but another
 * rounding; training promises no batch invariance (a batch of one is another
 * gradient anyway). */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "linear.h"
#include "net_plan.h"
#include "omp_sync.h"
#include "plan.h"

void fwd_run(const fwd_pass *f, int t, int nt) {
    const kernel_table *kt = f->kt;
    const nerve_net *net = f->net;
    for (size_t l = 0; l < net->n_layers; l++) {
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
        /* Z kept separately only when the activation is not the identity
         * (backward needs both); otherwise the product lands in a. The
         * path (GEMV, GEMM on W^T or on W) is linear.c's choice. */
        linear_forward_part(kt, f->n, in, out, x, w, f->wt ? f->wt + net->w_off[l] : NULL, b,
                            (int)net->acts[l], f->gemv ? LINEAR_ONE_DOT : LINEAR_CHAIN, z, a,
                            f->ws, t, nt);
        if (nt > 1 && l + 1 < net->n_layers) OMP_BARRIER(f);
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

/* dst (cols x rows) = src (rows x cols)^T, in 32 x 32 blocks so both sides
 * stay in cache (32 rows of 32 floats: 4 KiB). */
static void transpose(size_t rows, size_t cols, const float *src, float *dst) {
    enum { TB = 32 };
    for (size_t r0 = 0; r0 < rows; r0 += TB) {
        const size_t r1 = rows - r0 < TB ? rows : r0 + TB;
        for (size_t c0 = 0; c0 < cols; c0 += TB) {
            const size_t c1 = cols - c0 < TB ? cols : c0 + TB;
            for (size_t r = r0; r < r1; r++)
                for (size_t c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
        }
    }
}

/* net->wt: W^T of every layer, rebuilt when the weights changed since. */
static nerve_status wt_ensure(nerve_net *net) {
    if (net->wt_valid) return NERVE_OK;
    if (!net->wt && !(net->wt = malloc(net->n_alloc * sizeof(float))))
        return error_set(NERVE_ENOMEM, "out of memory for the transposed weights (%zu floats)",
                         net->n_alloc);
    for (size_t l = 0; l < net->n_layers; l++)
        transpose(net->sizes[l + 1], net->sizes[l], net->params + net->w_off[l],
                  net->wt + net->w_off[l]);
    net->wt_valid = 1;
    return NERVE_OK;
}

nerve_status nerve_net_prepare_inference(nerve_net *net) {
    CHECK_ARG(net != NULL, "nerve_net_prepare_inference: net is NULL");
    const nerve_status st = wt_ensure(net);
    if (st != NERVE_OK) error_prefix("nerve_net_prepare_inference");
    return st;
}

nerve_status nerve_net_forward(nerve_net *net, const float *x, size_t n, float *out) {
    static const char fn[] = "nerve_net_forward";
    nerve_status st = check_forward(fn, net, x, n, out);
    if (st != NERVE_OK) return st;
    const kernel_table *kt = kernels_active();
    size_t chunk;
    const size_t chunks = chunk_count(n, &chunk);
    const int nthreads = net_threads(net, chunk, 0);
    if ((st = plan_ensure_inference(net, kt, chunk, nthreads)) != NERVE_OK) {
        error_prefix("%s", fn);
        return st;
    }
    /* W^T when it can be had (else W, packed per call: the same bits) */
    const float *wt = wt_ensure(net) == NERVE_OK ? net->wt : NULL;
    const struct net_plan *pl = net->plan;
    const size_t in = net->sizes[0], outw = net->sizes[net->n_layers];
    for (size_t i = 0; i < chunks; i++) {
        size_t r, r1;
        split_range(n, 1, i, chunks, &r, &r1);
        const fwd_pass f = {.kt = kt,
                            .net = net,
                            .x = x + r * in,
                            .n = r1 - r,
                            .wt = wt,
                            .pp = {pl->pp[0], pl->pp[1]},
                            .out = out + r * outw,
                            .ws = pl->ws};
        const int nt = net_threads(net, r1 - r, 0);
        OMP_FORK(&f);
#pragma omp parallel num_threads(nt) if (nt > 1)
        {
            OMP_READ_SHARED_BEGIN();
            const fwd_pass *fp = &f;
            OMP_READ_SHARED_END();
            OMP_ENTER(fp);
            fwd_run(fp, omp_get_thread_num(), omp_get_num_threads());
            OMP_LEAVE(fp);
        }
        OMP_JOIN(&f);
    }
    return NERVE_OK;
}

/* forward_const scratch: two ping-pong buffers of chunk x max width, one
 * GEMM workspace (the largest any supported table needs) and 64 bytes of
 * slack to align it. */
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
    return 2 * ((chunk * w + 15) / 16 * 16) + const_ws_floats() + 16;
}

nerve_status nerve_net_forward_const(const nerve_net *net, const float *x, size_t n, float *out,
                                     float *scratch) {
    static const char fn[] = "nerve_net_forward_const";
    nerve_status st = check_forward(fn, net, x, n, out);
    if (st != NERVE_OK) return st;
    const size_t need = nerve_net_forward_scratch_floats(net, n);
    float *own = NULL;
    if (!scratch) {
        own = malloc(need * sizeof(float));
        if (!own)
            return error_set(NERVE_ENOMEM, "%s: out of memory for %zu rows of scratch", fn, n);
        scratch = own;
    }
    const kernel_table *kt = kernels_active();
    const size_t in = net->sizes[0], outw = net->sizes[net->n_layers];
    size_t chunk;
    const size_t chunks = chunk_count(n, &chunk);
    const size_t bw = (chunk * net_max_out_width(net) + 15) / 16 * 16;
    float *base = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    const size_t wsf = const_ws_floats();
    /* W^T only if nerve_net_prepare_inference (or nerve_net_forward) built
     * it for these weights; else W, packed per call: the same bits */
    const float *wt = net->wt_valid ? net->wt : NULL;
    for (size_t i = 0; i < chunks; i++) {
        size_t r, r1;
        split_range(n, 1, i, chunks, &r, &r1);
        const fwd_pass f = {.kt = kt,
                            .net = net,
                            .x = x + r * in,
                            .n = r1 - r,
                            .wt = wt,
                            .pp = {base + wsf, base + wsf + bw},
                            .out = out + r * outw,
                            .ws = base};
        fwd_run(&f, 0, 1);
    }
    free(own);
    return NERVE_OK;
}
