/* Fused linear-layer products (contract: linear.h): the GEMM driver with a
 * per-tile epilogue for the bias, the activation and the activation
 * derivative. */
#include "linear.h"

#include <omp.h>

#include "gemm.h"
#include "omp_sync.h"
#include "split.h"

/* ---- forward ------------------------------------------------------------ */

typedef struct fwd_ctx {
    const kernels *kt;
    const float *b;
    int act;
    float *y; /* Y when Z is kept separately, else NULL (Y is C itself) */
    size_t ldy;
} fwd_ctx;

/* Strip of C = Z (or Y when Z is not kept): add the bias (one rounding),
 * then the activation into Y; one call for the whole strip when its rows
 * are contiguous (the kernels are elementwise, so splitting the calls
 * differently gives the same bits). */
static void fwd_tile(const gemm_epilogue *ep, size_t i0, size_t j0, size_t rows, size_t cols,
                     float *c, size_t ldc) {
    const fwd_ctx *f = ep->ctx;
    if (f->b) f->kt->bias_add(rows, cols, c, ldc, f->b + j0);
    float *y = f->y ? f->y + i0 * f->ldy + j0 : c;
    const size_t ldy = f->y ? f->ldy : ldc;
    if (!f->y && f->act == ACT_IDENTITY) return;
    if (ldc == cols && ldy == cols)
        f->kt->act_fwd[f->act](rows * cols, c, y);
    else
        for (size_t i = 0; i < rows; i++) f->kt->act_fwd[f->act](cols, c + i * ldc, y + i * ldy);
}

/* B = W^T for the product X W^T: read from W (w_is_t == 0: B(p, o) =
 * W[o*in + p], packed by the driver) or from a stored W^T (w_is_t: B(p, o) =
 * WT[p*out + o], rows contiguous, read in place). The same chains either way. */
gemm_args linear_fwd_args(size_t n, size_t in, size_t out, const float *x, const float *w,
                          int w_is_t, float *c) {
    gemm_args g = {
        .m = n,
        .n = out,
        .k = in,
        .a = x,
        .a_rs = in,
        .a_cs = 1, /* X [n x in] */
        .b = w,
        .b_rs = w_is_t ? out : 1,
        .b_cs = w_is_t ? 1 : in,
        .c = c,
        .ldc = out,
        .accumulate = 0,
    };
    return g;
}

void linear_forward_part(const kernels *kt, size_t n, size_t in, size_t out, const float *x,
                         const float *w, const float *b, int act, float *z, float *y, float *ws,
                         int tid, int nt) {
    const fwd_ctx f = {kt, b, act, z ? y : NULL, out};
    const gemm_epilogue ep = {fwd_tile, &f};
    const gemm_args g = linear_fwd_args(n, in, out, x, w, 0, z ? z : y);
    gemm_part(kt, &g, &ep, ws, tid, nt);
}

void linear_forward_wt_part(const kernels *kt, size_t n, size_t in, size_t out, const float *x,
                            const float *wt, const float *b, int act, float *y, float *ws, int tid,
                            int nt) {
    const fwd_ctx f = {kt, b, act, NULL, out};
    const gemm_epilogue ep = {fwd_tile, &f};
    const gemm_args g = linear_fwd_args(n, in, out, x, wt, 1, y);
    gemm_part(kt, &g, &ep, ws, tid, nt);
}

void linear_forward(const kernels *kt, size_t n, size_t in, size_t out, const float *x,
                    const float *w, const float *b, int act, float *z, float *y, float *ws,
                    int nthreads) {
    const fwd_ctx f = {kt, b, act, z ? y : NULL, out};
    const gemm_epilogue ep = {fwd_tile, &f};
    const gemm_args g = linear_fwd_args(n, in, out, x, w, 0, z ? z : y);
    gemm_chain_ep(kt, &g, &ep, ws, nthreads);
}

/* ---- backward ----------------------------------------------------------- */


void linear_act_backward_part(const kernels *kt, size_t n, size_t out, int act, const float *z,
                              const float *y, const float *dy, float *dz, int tid, int nt) {
    size_t r0, r1;
    split_range(n, 1, tid, nt < 1 ? 1 : nt, &r0, &r1);
    if (r1 > r0)
        kt->act_bwd[act]((r1 - r0) * out, z + r0 * out, y + r0 * out, dy + r0 * out, dz + r0 * out);
}

typedef struct bwd_ctx {
    const kernels *kt;
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

void linear_backward_part(const kernels *kt, size_t n, size_t in, size_t out, const float *x,
                          const float *w, const float *dz, float *dw, float *db, int accumulate,
                          int prev_act, const float *zp, const float *yp, float *dx, float *ws,
                          int tid, int nt) {
    if (nt < 1) nt = 1;
    if (db) {
        /* columns split in 16-float units: each column one chain over the rows */
        size_t c0, c1;
        split_range(out, 16, tid, nt, &c0, &c1);
        if (c1 > c0) kt->colsum(n, c1 - c0, dz + c0, out, db + c0, accumulate);
    }
    const gemm_args gw = {
        .m = out,
        .n = in,
        .k = n,
        .a = dz,
        .a_rs = 1,
        .a_cs = out, /* dZ^T */
        .b = x,
        .b_rs = in,
        .b_cs = 1,
        .c = dw,
        .ldc = in,
        .accumulate = accumulate,
    };
    gemm_part(kt, &gw, NULL, ws, tid, nt);
    if (dx) linear_backward_data_part(kt, n, in, out, w, dz, prev_act, zp, yp, dx, ws, tid, nt);
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

void linear_backward_data_part(const kernels *kt, size_t n, size_t in, size_t out, const float *w,
                               const float *dz, int prev_act, const float *zp, const float *yp,
                               float *dx, float *ws, int tid, int nt) {
    const gemm_args gx = linear_bwd_data_args(n, in, out, w, dz, dx);
    const bwd_ctx bc = {kt, prev_act, zp, yp, in};
    const gemm_epilogue ep = {bwd_tile, &bc};
    gemm_part(kt, &gx, prev_act != ACT_IDENTITY ? &ep : NULL, ws, tid, nt > 0 ? nt : 1);
}

void linear_backward(const kernels *kt, size_t n, size_t in, size_t out, const float *x,
                     const float *w, const float *dz, float *dw, float *db, int accumulate,
                     int prev_act, const float *zp, const float *yp, float *dx, float *ws,
                     int nthreads) {
    if (nthreads <= 1 || omp_in_parallel()) {
        linear_backward_part(kt, n, in, out, x, w, dz, dw, db, accumulate, prev_act, zp, yp, dx, ws,
                             0, 1);
        return;
    }
    OMP_FORK(dw);
#pragma omp parallel num_threads(nthreads)
    {
        OMP_READ_SHARED_BEGIN();
        const kernels *kt_ = kt;
        const size_t n_ = n, in_ = in, out_ = out;
        const float *x_ = x, *w_ = w, *dz_ = dz, *zp_ = zp, *yp_ = yp;
        float *dw_ = dw, *db_ = db, *dx_ = dx, *ws_ = ws;
        const int acc_ = accumulate, pa_ = prev_act;
        OMP_READ_SHARED_END();
        OMP_ENTER(dw_);
        linear_backward_part(kt_, n_, in_, out_, x_, w_, dz_, dw_, db_, acc_, pa_, zp_, yp_, dx_,
                             ws_, omp_get_thread_num(), omp_get_num_threads());
        OMP_LEAVE(dw_);
    }
    OMP_JOIN(dw);
}
