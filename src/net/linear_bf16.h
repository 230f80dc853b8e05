/* One linear layer in bf16 mixed precision (NERVE_PRECISION_BF16, net.h):
 * the products of linear.h with bf16 pair operands (simd/table.h's layouts,
 * src/gemm/gemm_bf16.h's driver) and fp32 results, and the conversions of
 * each result into the pairs the next product reads while it is in cache.
 *
 * Layout (rows x cols, leading dimensions in words): for a matrix M of n
 * rows and c columns, M's "rows" copy is n x ceil(c/2) words (pairs along a
 * row, leading dimension ceil(c/2)) and its "cols" copy ceil(n/2) x c words
 * (pairs down a column, leading dimension c). Per layer of W [out x in]:
 *   forward       Z = X W^T:   A = X rows,  B(q, o) = W rows[o][q] (packed)
 *   backward-data dX = dZ W:   A = dZ rows, B = W cols (in place or packed)
 *   weights       dW = dZ^T X: A(o, q) = dZ cols[q][o], B = X cols
 * Each element of each product is the chain of bf16_dp_ref over its pairs
 * in increasing order, then (forward) + b in fp32 and the activation, or
 * (backward-data) times act'_{prev}: every step as in linear.h with the
 * fp32 chain replaced by the bf16 one. db stays an fp32 column sum of the
 * fp32 dZ. Threads and the absence of barriers as in linear.h; ws holds
 * gemm_bf16_workspace_words(kt, nt) words. */
#ifndef NERVE_SRC_LINEAR_BF16_H
#define NERVE_SRC_LINEAR_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "linear.h"
#include "table.h"

/* Thread tid's share of converting rows x cols fp32 x (leading dimension
 * ldx) into its rows copy r and cols copy c (either may be NULL), split in
 * pairs of rows. */
void linear_bf16_convert_part(const kernel_table *kt, size_t rows, size_t cols, const float *x,
                              size_t ldx, uint32_t *r, uint32_t *c, int tid, int nt);

/* The rows copy r and cols copy c (either may be NULL) of the block [i0,
 * i0+rows) x [j0, j0+cols) of a matrix x of cols_all columns (leading
 * dimension cols_all), i0 and j0 even (whole pairs: blocks that share no
 * element share no word): for a block of W just updated, while in cache. */
void linear_bf16_convert_block(const kernel_table *kt, size_t i0, size_t j0, size_t rows,
                               size_t cols, const float *x, size_t cols_all, uint32_t *r,
                               uint32_t *c);

/* Thread tid's share of Y = act(X W^T + b) from xr (X rows) and wr (W
 * rows), as linear_forward_part (z NULL or equal to y: Y in place), and of
 * Y's rows and cols copies yr, yc (either may be NULL: not needed). amax
 * as linear_forward_part's: NULL, or raised to the largest |Y| (fp32) of
 * this thread's strips, measured in the epilogue while each is in L1. */
void linear_bf16_forward_part(const kernel_table *kt, size_t n, size_t in, size_t out,
                              const uint32_t *xr, const uint32_t *wr, const float *b, int act,
                              float *z, float *y, uint32_t *yr, uint32_t *yc, uint32_t *ws, int tid,
                              int nt, float *amax);

/* Thread tid's share of dX = (dZ W) * act'_{prev}(Zp, Yp) from dzr (dZ
 * rows) and wc (W cols), into fp32 dx and its copies dxr, dxc (either may
 * be NULL). */
void linear_bf16_backward_data_part(const kernel_table *kt, size_t n, size_t in, size_t out,
                                    const uint32_t *dzr, const uint32_t *wc, int prev_act,
                                    const float *zp, const float *yp, float *dx, uint32_t *dxr,
                                    uint32_t *dxc, uint32_t *ws, int tid, int nt);

/* Thread tid's share of dW = dZ^T X from dzc (dZ cols) and xc (X cols), and
 * db = colsum(dz) from the fp32 dz, in the blocks of linear_grad_part (db of
 * a block's rows first, then dW in chunks), each chunk followed by
 * hook->block (hook may be NULL). */
void linear_bf16_grad_part(const kernel_table *kt, size_t n, size_t in, size_t out, const uint32_t *xc,
                           const uint32_t *dzc, const float *dz, float *dw, float *db,
                           int accumulate, const linear_grad_hook *hook, uint32_t *ws, int tid,
                           int nt);

#endif
