/* One linear layer (contract: linear.h): the GEMM driver with a per-strip
 * epilogue for the bias, the activation and the activation derivative, the
 * GEMV paths of a single row, and the blocked weight/bias gradients with
 * their per-block hook. */
#include "linear.h"

#include <math.h>

#include "gemm.h"
#include "split.h"

/* ---- forward ------------------------------------------------------------ */

typedef struct fwd_ctx {
    const kernel_table *kt;
    const float *b;
    int act;
    float *y; /* Y when Z is kept separately, else NULL (Y is C itself) */
    size_t ldy;
    float *amax; /* this thread's max |Y| so far, or NULL */
} fwd_ctx;

void linear_bias_act_strip(const kernel_table *kt, const float *b, int act, size_t rows,
                           size_t cols, float *c, size_t ldc, float *y, size_t ldy) {
    if (b && !y) {
        kt->bias_act[act](rows, cols, c, ldc, b); /* Y in place: one pass */
        return;
    }
    if (b) kt->bias_add(rows, cols, c, ldc, b);
    if (!y && act == ACT_IDENTITY) return;
    if (!y) y = c, ldy = ldc;
    if (ldc == cols && ldy == cols)
        kt->act_fwd[act](rows * cols, c, y);
    else
        for (size_t i = 0; i < rows; i++) kt->act_fwd[act](cols, c + i * ldc, y + i * ldy);
}

void linear_strip_maxabs(const kernel_table *kt, size_t rows, size_t cols, const float *y,
                         size_t ldy, float *amax) {
    float m = *amax;
    if (ldy == cols)
        m = fmaxf(m, kt->maxabs(rows * cols, y));
    else
        for (size_t i = 0; i < rows; i++) m = fmaxf(m, kt->maxabs(cols, y + i * ldy));
    *amax = m;
}

/* Strip of C = Z (or Y when Z is not kept): bias and activation
 * (linear_bias_act_strip), then, when asked, the strip's max |Y| while it
 * is in L1. */
static void fwd_tile(const gemm_epilogue *ep, size_t i0, size_t j0, size_t rows, size_t cols,
                     float *c, size_t ldc) {
    const fwd_ctx *f = ep->ctx;
    const kernel_table *kt = f->kt;
    float *y = f->y ? f->y + i0 * f->ldy + j0 : c;
    const size_t ldy = f->y ? f->ldy : ldc;
    linear_bias_act_strip(kt, f->b ? f->b + j0 : NULL, f->act, rows, cols, c, ldc, f->y ? y : NULL,
                          ldy);
    if (f->amax) linear_strip_maxabs(kt, rows, cols, y, ldy, f->amax);
}

/* B = W^T for the product X W^T, read from W: B(p, o) = W[o*in + p],
 * packed by the driver. */
gemm_args linear_fwd_args(size_t n, size_t in, size_t out, const float *x, const float *w,
                          float *c) {
    gemm_args g = {
        .m = n,
        .n = out,
        .k = in,
        .a = x,
        .a_rs = in,
        .a_cs = 1, /* X [n x in] */
        .b = w,
        .b_rs = 1,
        .b_cs = in,
        .c = c,
        .ldc = out,
        .accumulate = 0,
    };
    return g;
}

void linear_forward_part(const kernel_table *kt, size_t n, size_t in, size_t out, const float *x,
                         const float *w, const float *b, int act, linear_path path, float *z,
                         float *y, float *ws, int tid, int nt, float *amax) {
    if (nt < 1) nt = 1;
    if (z == y) z = NULL;
    if (n == 1 && path == LINEAR_ONE_DOT) {
        /* one row: outputs [o0, o1) of the thread, into Z (or Y in place),
         * then + b (one rounding) and the activation into Y */
        size_t o0, o1;
        split_range(out, 16, (size_t)tid, (size_t)nt, &o0, &o1);
        if (o1 <= o0) return;
        const size_t cols = o1 - o0;
        float *zz = z ? z : y;
        kt->gemv_n(cols, in, 1.0f, w + o0 * in, in, x, 0.0f, zz + o0); /* the 16-lane dot */
        if (b) kt->bias_add(1, cols, zz + o0, cols, b + o0);
        if (act != ACT_IDENTITY || z) kt->act_fwd[act](cols, zz + o0, y + o0);
        if (amax) *amax = fmaxf(*amax, kt->maxabs(cols, y + o0));
        return;
    }
    const fwd_ctx f = {kt, b, act, z ? y : NULL, out, amax};
    const gemm_epilogue ep = {fwd_tile, &f};
    const gemm_args g = linear_fwd_args(n, in, out, x, w, z ? z : y);
    gemm_part(kt, &g, &ep, ws, tid, nt);
}

/* ---- backward-data -------------------------------------------------------- */

typedef struct bwd_ctx {
    const kernel_table *kt;
    int act;
    const float *z, *y;
    size_t ld;
} bwd_ctx;

/* Strip of dX: times the previous layer's activation derivative, in place
 * (one call when the strip's rows are contiguous). */
static void bwd_tile(const gemm_epilogue *ep, size_t i0, size_t j0, size_t rows, size_t cols,
                     float *c, size_t ldc) {
    const bwd_ctx *b = ep->ctx;
    const size_t o = i0 * b->ld + j0;
    if (ldc == cols && b->ld == cols) {
        b->kt->act_bwd[b->act](rows * cols, b->z + o, b->y + o, c, c);
        return;
    }
    for (size_t i = 0; i < rows; i++)
        b->kt->act_bwd[b->act](cols, b->z + o + i * b->ld, b->y + o + i * b->ld, c + i * ldc,
                               c + i * ldc);
}

gemm_args linear_bwd_data_args(size_t n, size_t in, size_t out, const float *w, const float *dz,
                               float *dx) {
    const gemm_args gx = {
        .m = n,
        .n = in,
        .k = out,
        .a = dz,
        .a_rs = out,
        .a_cs = 1,
        .b = w,
        .b_rs = in,
        .b_cs = 1,
        .c = dx,
        .ldc = in,
        .accumulate = 0,
    };
    return gx;
}

void linear_backward_data_part(const kernel_table *kt, size_t n, size_t in, size_t out, const float *w,
                               const float *dz, int prev_act, const float *zp, const float *yp,
                               float *dx, float *ws, int tid, int nt) {
    if (nt < 1) nt = 1;
    if (n == 1) {
        /* dX(j) = chain over o of dz[o] * W[o][j]: gemv_t, columns [j0, j1) */
        size_t j0, j1;
        split_range(in, 16, (size_t)tid, (size_t)nt, &j0, &j1);
        if (j1 <= j0) return;
        kt->gemv_t(out, j1 - j0, 1.0f, w + j0, in, dz, 0.0f, dx + j0);
        if (prev_act != ACT_IDENTITY)
            kt->act_bwd[prev_act](j1 - j0, zp + j0, yp + j0, dx + j0, dx + j0);
        return;
    }
    const gemm_args gx = linear_bwd_data_args(n, in, out, w, dz, dx);
    const bwd_ctx bc = {kt, prev_act, zp, yp, in};
    const gemm_epilogue ep = {bwd_tile, &bc};
    gemm_part(kt, &gx, prev_act != ACT_IDENTITY ? &ep : NULL, ws, tid, nt);
}

/* ---- weight and bias gradients --------------------------------------------- */

void linear_grad_block(const kernel_table *kt, size_t out, size_t in, int t, int nt, size_t *r0,
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

void linear_grad_part(const kernel_table *kt, size_t n, size_t in, size_t out, const float *x,
                      const float *dz, float *dw, float *db, int accumulate,
                      const linear_grad_hook *hook, float *ws, int tid, int nt) {
    if (nt < 1) nt = 1;
    size_t r0, r1, c0, c1;
    linear_grad_block(kt, out, in, tid, nt, &r0, &r1, &c0, &c1);
    if (r1 <= r0) return;
    const size_t mr = kt->mr, cols = c1 - c0;
    /* this thread's own GEMM workspace: its slice of the team's (the
     * product of a chunk runs on this thread alone) */
    float *tws = ws ? ws + (size_t)tid * gemm_thread_workspace_floats(kt) : NULL;
    size_t chunk = cols ? LINEAR_GRAD_CHUNK_FLOATS / cols / mr * mr : r1 - r0;
    if (chunk < mr) chunk = mr;
    /* Every chunk's product has the same B (the input columns [c0, c1)):
     * packed once for all of them when there are several and it fits the
     * workspace. Where B cannot be read in place (a 1024-wide input's row
     * stride aliases in L1) each chunk packed it again before: 18 chunks of
     * 60 rows for a 1024 x 1024 layer at batch 256. Where it can, the packed
     * panels still measured faster than the strided reads (784-256-128-10 at
     * batch 256, docs/performance.md, "Aliased A, the input packed once,
     * chunked packs").
     * A larger B (a large batch: 2048 x 1024 is 8 MiB) does not fit; then k
     * is cut into slices of the driver's KC, each packed once and taken
     * through every chunk before the next (each chunk's chain continues
     * from its C, exactly), the hook with the last slice. Per
     * chunk, B was packed again, or read in place from L3, for every 60
     * rows: 784-1024-1024-10 at batch 2048 ran at 0.81x oneDNN's loop on 1
     * thread, the weight gradient 45 % of the step against the forward's
     * 32 % for the same flops (perf). */
    const size_t fit =
        dw && cols && n > 1 && r1 - r0 > chunk && tws ? gemm_prepack_rows(kt, cols, n) : 0;
    const size_t ks = fit ? fit : n; /* k rows per pass over the chunks */
    /* The bias gradient of the block's rows, before the chunks (whose hook
     * needs it final): with the first column block, each column of db one
     * chain over the batch whatever the split. Taken chunk by chunk it read
     * a strip of ~60 columns from each batch row, every row in another 4 KiB
     * page (a 1024-wide dZ), out of the prefetchers' reach: 1.9-2.9 % of a
     * 784-1024-1024-10 step at batch 2048 on Zen 3 (1.4-1.5 % at 256), 0.6-0.9 %
     * (0.5-0.6 %) now that each row is read whole (perf; docs/performance.md,
     * "Zen 3: the bias gradient in one pass"). */
    if (db && c0 == 0) kt->colsum(n, r1 - r0, dz + r0, out, db + r0, accumulate);
    /* one pass at least: n == 0 still writes dW = 0 (db = 0 above) and runs the hook */
    for (size_t p0 = 0;; p0 += ks) {
        const size_t kc = n - p0 < ks ? n - p0 : ks;
        const int last = p0 + kc == n;
        const float *x_packed = NULL;
        if (fit) {
            const gemm_args gb = {.k = kc, .n = cols, .b = x + p0 * in + c0, .b_rs = in, .b_cs = 1};
            x_packed = gemm_prepack_b(kt, &gb, tws);
        }
        for (size_t r = r0; r < r1; r += chunk) {
            const size_t rows = r1 - r < chunk ? r1 - r : chunk;
            if (dw && cols) {
                if (n == 1 && !accumulate) {
                    /* k = 1: one product per element */
                    for (size_t i = r; i < r + rows; i++)
                        kt->axpby(cols, dz[i], x + c0, 0.0f, dw + i * in + c0);
                } else {
                    const gemm_args g = {
                        .m = rows,
                        .n = cols,
                        .k = kc,
                        .a = dz + p0 * out + r,
                        .a_rs = 1,
                        .a_cs = out, /* dZ^T */
                        .b = x + p0 * in + c0,
                        .b_rs = in,
                        .b_cs = 1,
                        .c = dw + r * in + c0,
                        .ldc = in,
                        .accumulate = accumulate || p0 > 0,
                        .b_packed = x_packed,
                    };
                    gemm_part(kt, &g, NULL, tws, 0, 1);
                }
            }
            if (last && hook) hook->block(hook->ctx, r, r + rows, c0, c1);
        }
        if (last) break;
    }
}
