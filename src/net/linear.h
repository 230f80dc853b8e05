/* One fully connected (linear) layer: everything the network (forward.c,
 * train.c) and the public nerve_linear_* (api_linear.c) compute for a
 * layer goes through the functions below, so a public call and a training
 * step run the same code.
 *
 * Layout as PyTorch: X [n x in], W [out x in], b [out], Z and Y [n x out],
 * all row-major and contiguous; W^T, when given, is [in x out] row-major.
 *
 * Forward:  Z = X W^T + b,  Y = act(Z).
 *   The chain: Z(i,o) = fl(chain + b[o]) where chain is the fma chain over
 *   k = 0..in-1 starting from 0 (gemm.h), i.e. the bias is added after the
 *   chain with one rounding; Y = the table's act_fwd[act] applied to Z.
 *   Every path below computes exactly this, except the one marked:
 *     - n == 1, path LINEAR_ONE_DOT: gemv_n on W, a 16-lane
 *       dot with one fixed tree (table.h): reproducible across threads and
 *       ISAs, but ANOTHER ROUNDING than the chain (training's batch of one
 *       and nerve_linear_forward, which promise no batch invariance);
 *     - otherwise the GEMM packing W (training, and inference without
 *       prepared weights: src/net/infer.c runs the same chains on W packed
 *       once).
 *   So on LINEAR_CHAIN one output row computed alone equals the same row in
 *   any batch, bit for bit (net.h's batch invariance). In the GEMM paths the
 *   bias add and activation run in the GEMM epilogue on each finished strip
 *   of C (MR rows x the thread's columns) while it is in L1; at a batch of
 *   <= 32 rows, where the driver computes Z^T, on the thread's rows x one
 *   row block of Z^T (at most MC columns), just written (L1 or L2). So Z/Y
 *   are written once; bit-identical to the unfused GEMM, bias_add,
 *   act_fwd.
 *
 * Backward-data, given dZ (the gradient w.r.t. this layer's pre-activation):
 *   dX = dZ W, each element one fma chain over the out columns in order
 *   (n == 1: gemv_t on W, the same chain), then, when prev_act is not
 *   ACT_IDENTITY, dX = act_bwd[prev_act](Zp, Yp, dX) while dX is in cache
 *   (the GEMM epilogue, or right after the GEMV): the previous layer's dZ.
 *
 * Weight and bias gradients:
 *   db (+)= colsum(dZ): one chain of additions over the n rows per output;
 *   dW (+)= dZ^T X: one fma chain over the n rows in order per element
 *   (n == 1 and not accumulating: one product dz[o] * x[j] each, which is
 *   the chain's value except that a -0 product stays -0; the GEMM's chain
 *   starts from +0). Computed by blocks of rows of dW (linear_grad_block,
 *   then chunks of about LINEAR_GRAD_CHUNK_FLOATS), and after each block
 *   an optional hook runs on the same thread while the block is in cache:
 *   the training step's optimizer update.
 *
 * Threads: every thread of a team calls a *_part function with its
 * (tid, nt) and the same arguments; together the calls compute the whole
 * result. They contain no barrier; the caller synchronises before reading
 * the outputs (nt = 1, tid = 0 outside a parallel region). No split changes
 * a bit: products are split by blocks of their output, never along k.
 * Workspace: ws holds gemm_workspace_floats(kt, nt) floats, 64-byte aligned;
 * thread tid uses only its slice. The GEMV paths of linear_forward_part
 * and linear_backward_data_part (n == 1, except a LINEAR_CHAIN forward)
 * never touch ws, which may then be NULL.
 * Nothing here allocates or fails; callers validate the arguments. */
#ifndef NERVE_SRC_LINEAR_H
#define NERVE_SRC_LINEAR_H

#include <stddef.h>

#include "gemm.h"
#include "table.h"

/* Which rounding a forward pass of one row may use (see above). */
typedef enum linear_path {
    LINEAR_CHAIN = 0,   /* every output the chain: batch-invariant (inference) */
    LINEAR_ONE_DOT = 1, /* n == 1: gemv_n's dot (training, public API) */
} linear_path;

/* A finished strip of C = Z (rows x cols, row stride ldc): + b (NULL: no
 * bias; one rounding), then the activation, into Y (row stride ldy) or in
 * place when y is NULL. With a bias and Y in place both in one pass
 * (bias_act); otherwise the activation is one call for the whole strip when
 * its rows are contiguous (the kernels are elementwise, so splitting the
 * calls differently gives the same bits). The fp32 and bf16 forward
 * epilogues (linear.c, linear_bf16.c). */
void linear_bias_act_strip(const kernel_table *kt, const float *b, int act, size_t rows,
                           size_t cols, float *c, size_t ldc, float *y, size_t ldy);
/* *amax raised to the largest |Y| of a finished strip of Y (rows x cols,
 * row stride ldy; kt->maxabs: +Inf when one is NaN or Inf), one call when
 * its rows are contiguous: the update guard's measurement in the fp32 and
 * bf16 forward epilogues. */
void linear_strip_maxabs(const kernel_table *kt, size_t rows, size_t cols, const float *y,
                         size_t ldy, float *amax);

/* Thread tid's share of Y = act(X W^T + b). b may be NULL. z may
 * be NULL or equal y: then Y is computed in place and Z is not kept
 * separately (Z is needed by backward only for non-identity activations).
 * n == 1 splits the outputs in 16-float units, the GEMM its output tiles.
 * amax may be NULL; else *amax is raised to the largest |Y| of this
 * thread's share (kt->maxabs: +Inf when one is NaN or Inf), measured while
 * each strip is in L1; over all threads' calls, max |Y| (the training
 * step's update guard, src/net/train.c). */

void linear_forward_part(const kernel_table *kt, size_t n, size_t in, size_t out, const float *x,
                         const float *w, const float *b, int act, linear_path path, float *z,
                         float *y, float *ws, int tid, int nt, float *amax);

/* Thread tid's share of dX = (dZ W) * act'_{prev}(Zp, Yp) (no factor for
 * ACT_IDENTITY, then zp and yp are not read). n == 1 splits the columns of
 * dX in 16-float units, the GEMM its output tiles. */
void linear_backward_data_part(const kernel_table *kt, size_t n, size_t in, size_t out, const float *w,
                               const float *dz, int prev_act, const float *zp, const float *yp,
                               float *dx, float *ws, int tid, int nt);

/* Called by linear_grad_part once per finished block, on the thread that
 * computed it: rows [r0, r1) x columns [c0, c1) of dW are final, and, when
 * c0 == 0, so are db[r0 .. r1). Across the calls of all threads every
 * element of dW and of db is in exactly one block. The hook may read and
 * write anything indexed by those rows and columns (the block of W, of the
 * optimizer state) and nothing another block owns. */
typedef struct linear_grad_hook {
    void (*block)(void *ctx, size_t r0, size_t r1, size_t c0, size_t c1);
    void *ctx;
} linear_grad_hook;

/* Thread tid's share of the weight and bias gradients: the block
 * linear_grad_block gives it, in chunks of whole MR-row units of about
 * LINEAR_GRAD_CHUNK_FLOATS floats of dW, each followed by hook->block
 * (hook may be NULL). dw or db may be NULL (not computed; the hook still
 * sees the blocks). accumulate: 1 adds into dw and db (the chains continue
 * from them), 0 overwrites them without reading. n >= 1; in may be 0 (then
 * only db, the blocks have c0 == c1 == 0). */
void linear_grad_part(const kernel_table *kt, size_t n, size_t in, size_t out, const float *x,
                      const float *dz, float *dw, float *db, int accumulate,
                      const linear_grad_hook *hook, float *ws, int tid, int nt);

/* Rows of dW computed (and handed to the hook) together: about 256 KiB of
 * gradient, a quarter of a 1 MiB L2, so the training step's update finds it
 * in L2, while each B panel (the layer's input) is reused by several
 * micro-tiles; in whole micro-tiles. Measured on Zen 5 at batch 256 (a
 * shared, noisy machine): 48 KiB chunks (L1-sized), which re-read the input
 * once per 12 rows, were ~8% slower. */
#define LINEAR_GRAD_CHUNK_FLOATS 65536

/* The partition of linear_grad_part (exposed for bench/partition_sim.c and
 * tests/net/test_partition.c): thread t of nt computes the block rows
 * [*r0, *r1) x columns [*c0, *c1) of the out x in dW (whole MR-row and
 * NR-column units), and the bias rows [*r0, *r1) when *c0 == 0; the rows are
 * split over min(nt, row units) threads and the threads left over split the
 * columns, so a 10-row output layer or a 256-row layer does not leave most
 * of 64 threads idle (an empty block when *r0 == *r1). */
void linear_grad_block(const kernel_table *kt, size_t out, size_t in, int t, int nt, size_t *r0,
                       size_t *r1, size_t *c0, size_t *c1);

/* The GEMM arguments of the forward product X W^T into c, and of the backward-data product dZ W into dx: what the
 * functions above hand to gemm_part, exposed for the partition simulation
 * (bench/partition_sim.c) and tests/net/test_partition.c. */
gemm_args linear_fwd_args(size_t n, size_t in, size_t out, const float *x, const float *w,
                          float *c);
gemm_args linear_bwd_data_args(size_t n, size_t in, size_t out, const float *w, const float *dz,
                               float *dx);

#endif
