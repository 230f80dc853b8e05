/* The forward pass (shared by training and inference) and the public
 * inference entry points.
 *
 * Work is split among threads by blocks of the output of each layer's
 * product; every output element is one fma chain over the layer's inputs in
 * increasing order (gemm.h), so the split never changes a bit. n == 1 uses
 * the table's GEMV instead (its own fixed summation order, the same for every
 * ISA and thread count). */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "linear.h"
#include "net_plan.h"
#include "omp_sync.h"

void part1d(size_t n, size_t unit, int t, int nt, size_t *b, size_t *e) {
    const size_t units = (n + unit - 1) / unit;
    const size_t u0 = units * (size_t)t / (size_t)nt, u1 = units * (size_t)(t + 1) / (size_t)nt;
    *b = u0 * unit < n ? u0 * unit : n;
    *e = u1 * unit < n ? u1 * unit : n;
}

/* bias + activation of one GEMV result (1 x cols at z) into a. */
static void gemv_epilogue(const kernels *kt, nerve_act act, size_t cols, float *z, float *a,
                          const float *b) {
    kt->bias_add(1, cols, z, cols, b);
    if (act != NERVE_ACT_IDENTITY || a != z) kt->act_fwd[act](cols, z, a);
}

void fwd_run(const fwd_pass *f, int t, int nt) {
    const kernels *kt = f->kt;
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
        const nerve_act act = net->acts[l];
        if (f->gemv) {
            /* outputs split in 16-float units; each one dot product */
            size_t o0, o1;
            part1d(out, 16, t, nt, &o0, &o1);
            if (o1 > o0) {
                kt->gemv_n(o1 - o0, in, 1.0f, w + o0 * in, in, x, 0.0f, z + o0);
                gemv_epilogue(kt, act, o1 - o0, z + o0, a + o0, b + o0);
            }
        } else {
            /* Z kept separately only when the activation is not the identity
             * (backward needs both); otherwise the product lands in a. */
            linear_forward_part(kt, f->n, in, out, x, w, b, act, z == a ? NULL : z, a, f->ws, t,
                                nt);
        }
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

/* Balanced chunks of at most FWD_CHUNK rows; never a 1-row chunk when n > 1
 * (that would take the GEMV path and round differently). */
static size_t chunk_rows(size_t n) {
    /* ceil(n / FWD_CHUNK) and ceil(n / chunks) without n + ... (n may be
     * anything up to SIZE_MAX here: nerve_net_forward_scratch_floats) */
    const size_t chunks = n / FWD_CHUNK + (n % FWD_CHUNK != 0);
    return n / chunks + (n % chunks != 0);
}

nerve_status nerve_net_forward(nerve_net *net, const float *x, size_t n, float *out) {
    static const char fn[] = "nerve_net_forward";
    nerve_status st = check_forward(fn, net, x, n, out);
    if (st != NERVE_OK) return st;
    const kernels *kt = kernels_active();
    const size_t chunk = chunk_rows(n);
    const int nthreads = net_threads(net, chunk, 0);
    if ((st = plan_ensure(net, kt, chunk, nthreads)) != NERVE_OK) {
        error_prefix("%s", fn);
        return st;
    }
    const struct net_plan *pl = net->plan;
    const size_t in = net->sizes[0], outw = net->sizes[net->n_layers];
    for (size_t r = 0; r < n; r += chunk) {
        const size_t rows = n - r < chunk ? n - r : chunk;
        const fwd_pass f = {.kt = kt,
                            .net = net,
                            .x = x + r * in,
                            .n = rows,
                            .gemv = n == 1,
                            .pp = {pl->d[0], pl->d[1]},
                            .out = out + r * outw,
                            .ws = pl->ws};
        const int nt = net_threads(net, rows, 0);
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
        const kernels *t = kernels_for((nerve_isa)i);
        if (t) {
            const size_t w = gemm_workspace_floats(t, 1);
            if (w > m) m = w;
        }
    }
    return m;
}

size_t nerve_net_forward_scratch_floats(const nerve_net *net, size_t n) {
    if (!net || n == 0) return 0;
    const size_t chunk = chunk_rows(n), w = net_max_out_width(net);
    if (chunk > SIZE_MAX / 2 / w) return SIZE_MAX;
    return 2 * ((chunk * w + 15) / 16 * 16) + const_ws_floats() + 16;
}

nerve_status nerve_net_forward_const(const nerve_net *net, const float *x, size_t n, float *out,
                                     float *scratch) {
    static const char fn[] = "nerve_net_forward_const";
    nerve_status st = check_forward(fn, net, x, n, out);
    if (st != NERVE_OK) return st;
    const size_t need = nerve_net_forward_scratch_floats(net, n);
    CHECK_ARG(need != SIZE_MAX, "%s: n = %zu is too large", fn, n);
    float *own = NULL;
    if (!scratch) {
        own = malloc(need * sizeof(float));
        if (!own)
            return error_set(NERVE_ENOMEM, "%s: out of memory for %zu rows of scratch", fn, n);
        scratch = own;
    }
    const kernels *kt = kernels_active();
    const size_t in = net->sizes[0], outw = net->sizes[net->n_layers];
    const size_t chunk = chunk_rows(n), bw = (chunk * net_max_out_width(net) + 15) / 16 * 16;
    float *base = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    const size_t wsf = const_ws_floats();
    for (size_t r = 0; r < n; r += chunk) {
        const size_t rows = n - r < chunk ? n - r : chunk;
        const fwd_pass f = {.kt = kt,
                            .net = net,
                            .x = x + r * in,
                            .n = rows,
                            .gemv = n == 1,
                            .pp = {base + wsf, base + wsf + bw},
                            .out = out + r * outw,
                            .ws = base};
        fwd_run(&f, 0, 1);
    }
    free(own);
    return NERVE_OK;
}
