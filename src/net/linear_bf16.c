/* One linear layer in bf16 mixed precision (contract: linear_bf16.h). The
 * epilogues are linear.c's (bias, activation, activation derivative) plus
 * the conversion of the finished fp32 strip into its bf16 copies. A strip
 * starts on an even row and an even column (gemm_bf16.h's tiles have an
 * even height and width, tests/gemm/test_gemm_bf16.c), so its pairs are
 * whole and no two strips write the same word. */
#include "linear_bf16.h"
#include "linear.h"

#include "gemm_bf16.h"
#include "split.h"

static size_t half_up(size_t x) { return (x + 1) / 2; }

/* The rows and cols copies of the strip [i0, i0+rows) x [j0, j0+cols) of an
 * fp32 matrix of `cols_all` columns whose strip starts at s (leading
 * dimension lds). */
static void convert_strip(const kernel_table *kt, size_t i0, size_t j0, size_t rows, size_t cols,
                          const float *s, size_t lds, size_t cols_all, uint32_t *r, uint32_t *c) {
    if (r)
        kt->bf16_cvt_rows(rows, cols, s, lds, r + i0 * half_up(cols_all) + j0 / 2,
                          half_up(cols_all));
    if (c) kt->bf16_cvt_cols(rows, cols, s, lds, c + i0 / 2 * cols_all + j0, cols_all);
}

void linear_bf16_convert_part(const kernel_table *kt, size_t rows, size_t cols, const float *x,
                              size_t ldx, uint32_t *r, uint32_t *c, int tid, int nt) {
    size_t r0, r1;
    split_range(rows, 2, (size_t)tid, (size_t)(nt < 1 ? 1 : nt), &r0, &r1);
    if (r1 > r0 && cols) convert_strip(kt, r0, 0, r1 - r0, cols, x + r0 * ldx, ldx, cols, r, c);
}

void linear_bf16_convert_block(const kernel_table *kt, size_t i0, size_t j0, size_t rows,
                               size_t cols, const float *x, size_t cols_all, uint32_t *r,
                               uint32_t *c) {
    if (rows && cols)
        convert_strip(kt, i0, j0, rows, cols, x + i0 * cols_all + j0, cols_all, cols_all, r, c);
}

/* ---- forward ------------------------------------------------------------------ */

typedef struct fwd_ctx {
    const kernel_table *kt;
    const float *b;
    int act;
    float *y; /* Y when Z is kept separately, else NULL (Y is C itself) */
    size_t out;
    uint32_t *yr, *yc;
    float *amax; /* this thread's max |Y| so far, or NULL */
} fwd_ctx;

static void fwd_strip(const gemm_epilogue *ep, size_t i0, size_t j0, size_t rows, size_t cols,
                      float *c, size_t ldc) {
    const fwd_ctx *f = ep->ctx;
    float *y = f->y ? f->y + i0 * f->out + j0 : c;
    linear_bias_act_strip(f->kt, f->b ? f->b + j0 : NULL, f->act, rows, cols, c, ldc,
                          f->y ? y : NULL, f->out);
    convert_strip(f->kt, i0, j0, rows, cols, y, f->out, f->out, f->yr, f->yc);
    if (f->amax) linear_strip_maxabs(f->kt, rows, cols, y, f->out, f->amax);
}

void linear_bf16_forward_part(const kernel_table *kt, size_t n, size_t in, size_t out,
                              const uint32_t *xr, const uint32_t *wr, const float *b, int act,
                              float *z, float *y, uint32_t *yr, uint32_t *yc, uint32_t *ws, int tid,
                              int nt, float *amax) {
    if (z == y) z = NULL;
    const fwd_ctx f = {kt, b, act, z ? y : NULL, out, yr, yc, amax};
    const gemm_epilogue ep = {fwd_strip, &f};
    const size_t kq = half_up(in);
    const gemm_bf16_args g = {
        .m = n,
        .n = out,
        .kq = kq,
        .a = xr,
        .a_rs = kq,
        .a_cs = 1,
        .b = wr, /* B(q, o) = W rows[o][q] */
        .b_rs = 1,
        .b_cs = kq,
        .c = z ? z : y,
        .ldc = out,
        .accumulate = 0,
    };
    gemm_bf16_part(kt, &g, &ep, ws, tid, nt < 1 ? 1 : nt);
}

/* ---- backward-data ---------------------------------------------------------------- */

typedef struct bwd_ctx {
    const kernel_table *kt;
    int act;
    const float *z, *y;
    size_t in;
    uint32_t *dxr, *dxc;
} bwd_ctx;

static void bwd_strip(const gemm_epilogue *ep, size_t i0, size_t j0, size_t rows, size_t cols,
                      float *c, size_t ldc) {
    const bwd_ctx *b = ep->ctx;
    if (b->act != ACT_IDENTITY) {
        const size_t o = i0 * b->in + j0;
        for (size_t i = 0; i < rows; i++)
            b->kt->act_bwd[b->act](cols, b->z + o + i * b->in, b->y + o + i * b->in, c + i * ldc,
                                   c + i * ldc);
    }
    convert_strip(b->kt, i0, j0, rows, cols, c, ldc, b->in, b->dxr, b->dxc);
}

void linear_bf16_backward_data_part(const kernel_table *kt, size_t n, size_t in, size_t out,
                                    const uint32_t *dzr, const uint32_t *wc, int prev_act,
                                    const float *zp, const float *yp, float *dx, uint32_t *dxr,
                                    uint32_t *dxc, uint32_t *ws, int tid, int nt) {
    const bwd_ctx bc = {kt, prev_act, zp, yp, in, dxr, dxc};
    const gemm_epilogue ep = {bwd_strip, &bc};
    const size_t kq = half_up(out);
    const gemm_bf16_args g = {
        .m = n,
        .n = in,
        .kq = kq,
        .a = dzr,
        .a_rs = kq,
        .a_cs = 1,
        .b = wc,
        .b_rs = in,
        .b_cs = 1,
        .c = dx,
        .ldc = in,
        .accumulate = 0,
    };
    gemm_bf16_part(kt, &g, &ep, ws, tid, nt < 1 ? 1 : nt);
}

/* ---- weight and bias gradients ------------------------------------------------------ */

void linear_bf16_grad_part(const kernel_table *kt, size_t n, size_t in, size_t out, const uint32_t *xc,
                           const uint32_t *dzc, const float *dz, float *dw, float *db,
                           int accumulate, const linear_grad_hook *hook, uint32_t *ws, int tid,
                           int nt) {
    if (nt < 1) nt = 1;
    size_t r0, r1, c0, c1;
    linear_grad_block(kt, out, in, tid, nt, &r0, &r1, &c0, &c1);
    if (r1 <= r0) return;
    const size_t mr = kt->mr, cols = c1 - c0;
    uint32_t *tws = ws + (size_t)tid * gemm_bf16_thread_workspace_words(kt);
    size_t chunk = cols ? LINEAR_GRAD_CHUNK_FLOATS / cols / mr * mr : r1 - r0;
    if (chunk < mr) chunk = mr;
    /* the input columns, every chunk's B, packed once when several chunks
     * share them (linear_grad_part's reasoning: a 1024-wide input aliases
     * and was packed again for each of 18 chunks; once: 1.008x on the wide
     * network's batch-256 step, docs/performance.md); too large for that
     * (a large batch), in slices of the driver's KC pairs, each packed once
     * and taken through every chunk (linear_grad_part's slices) */
    const size_t kq = half_up(n);
    const size_t fit = dw && cols && r1 - r0 > chunk ? gemm_bf16_prepack_rows(kt, cols, kq) : 0;
    const size_t ks = fit ? fit : kq; /* pairs of k rows per pass over the chunks */
    /* the bias gradient in one pass over the block's rows (linear_grad_part) */
    if (db && c0 == 0) kt->colsum(n, r1 - r0, dz + r0, out, db + r0, accumulate);
    for (size_t q0 = 0;; q0 += ks) { /* one pass at least, as linear_grad_part */
        const size_t kc = kq - q0 < ks ? kq - q0 : ks;
        const int last = q0 + kc == kq;
        const uint32_t *xc_packed = NULL;
        if (fit) {
            const gemm_bf16_args gb = {
                .n = cols, .kq = kc, .b = xc + q0 * in + c0, .b_rs = in, .b_cs = 1};
            xc_packed = gemm_bf16_prepack_b(kt, &gb, tws);
        }
        for (size_t r = r0; r < r1; r += chunk) {
            const size_t rows = r1 - r < chunk ? r1 - r : chunk;
            if (dw && cols) {
                const gemm_bf16_args g = {
                    .m = rows,
                    .n = cols,
                    .kq = kc,
                    .a = dzc + q0 * out + r, /* A(o, q) = dZ cols[q][o] */
                    .a_rs = 1,
                    .a_cs = out,
                    .b = xc + q0 * in + c0,
                    .b_rs = in,
                    .b_cs = 1,
                    .c = dw + r * in + c0,
                    .ldc = in,
                    .accumulate = accumulate || q0 > 0,
                    .b_packed = xc_packed,
                };
                gemm_bf16_part(kt, &g, NULL, tws, 0, 1);
            }
            if (last && hook) hook->block(hook->ctx, r, r + rows, c0, c1);
        }
        if (last) break;
    }
}
