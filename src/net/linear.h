/* Fused linear (fully connected) layer products, for the network code.
 *
 * Layout as PyTorch: X [n x in], W [out x in], b [out], Z and Y [n x out],
 * all row-major and contiguous.
 *
 * Forward:  Z = X W^T + b,  Y = act(Z).
 *   Rounding, exactly: Z(i,o) = fl(chain + b[o]) where chain is the fma
 *   chain over k = 0..in-1 starting from 0 (gemm.h), i.e. the bias is added
 *   after the chain with one rounding; Y = the table's act_fwd[act] applied
 *   to Z. The bias add and activation run in the GEMM epilogue on each
 *   finished strip of C (MR rows x the thread's columns) while it is in L1,
 *   so Z/Y are written once.
 *   Results are bit-identical to the unfused sequence (GEMM, bias_add,
 *   act_fwd), for every ISA and thread count.
 *
 * Backward, given dZ (the gradient w.r.t. this layer's pre-activation):
 *   db  (+)= colsum(dZ)                    (skipped when db == NULL)
 *   dW  (+)= dZ^T X                        (accumulate selects +=)
 *   dX   = dZ W, and, when prev_act is not ACT_IDENTITY, in the same
 *          epilogue dX = act_bwd[prev_act](Zp, Yp, dX): the previous
 *          layer's dZ, so the derivative of the activation costs no extra
 *          pass over memory (skipped entirely when dx == NULL).
 *   Each element: one fma chain in increasing k (dW over the n rows, dX over
 *   the out columns); db one chain of additions over the rows.
 *
 * Threads: the plain functions open their own parallel region when
 * nthreads > 1 (and run inline when called inside one). The *_part
 * functions are for callers that run one parallel region per training step:
 * every thread of the team calls them with its (tid, nt) and the same
 * arguments; they contain no barrier, and the caller synchronises before
 * reading the outputs. Workspace: ws holds gemm_workspace_floats(kt, nt)
 * floats, 64-byte aligned (nt = nthreads for the plain functions). */
#ifndef NERVE_SRC_LINEAR_H
#define NERVE_SRC_LINEAR_H

#include <stddef.h>

#include "gemm.h"
#include "table.h"

void linear_forward(const kernels *kt, size_t n, size_t in, size_t out, const float *x,
                    const float *w, const float *b, int act, float *z, float *y, float *ws,
                    int nthreads);
/* b may be NULL (no bias); z may be NULL (Z not kept: Y computed in place). */
void linear_forward_part(const kernels *kt, size_t n, size_t in, size_t out, const float *x,
                         const float *w, const float *b, int act, float *z, float *y, float *ws,
                         int tid, int nt);
/* Inference with the weights stored transposed: wt is W^T (in x out,
 * row-major), which the GEMM reads in place instead of packing W; the same
 * chains, so the same bits as linear_forward_part. Y computed in place. */
void linear_forward_wt_part(const kernels *kt, size_t n, size_t in, size_t out, const float *x,
                            const float *wt, const float *b, int act, float *y, float *ws, int tid,
                            int nt);

/* dZ = act_bwd[act](Z, Y, dY) over n x out, rows split between threads
 * (for the top layer; dz may equal dy). */
void linear_act_backward_part(const kernels *kt, size_t n, size_t out, int act, const float *z,
                              const float *y, const float *dy, float *dz, int tid, int nt);

void linear_backward(const kernels *kt, size_t n, size_t in, size_t out, const float *x,
                     const float *w, const float *dz, float *dw, float *db, int accumulate,
                     int prev_act, const float *zp, const float *yp, float *dx, float *ws,
                     int nthreads);
void linear_backward_part(const kernels *kt, size_t n, size_t in, size_t out, const float *x,
                          const float *w, const float *dz, float *dw, float *db, int accumulate,
                          int prev_act, const float *zp, const float *yp, float *dx, float *ws,
                          int tid, int nt);
/* Only the backward-data product of linear_backward_part: dX = (dZ W) times
 * act'(Zp, Yp) of the previous layer (applied per finished strip; none for
 * ACT_IDENTITY), the thread's share of dX. */
void linear_backward_data_part(const kernels *kt, size_t n, size_t in, size_t out, const float *w,
                               const float *dz, int prev_act, const float *zp, const float *yp,
                               float *dx, float *ws, int tid, int nt);

/* The GEMM arguments of the forward product X W^T (w_is_t: B is a stored
 * W^T) into c, and of the backward-data product dZ W into dx: what the
 * functions above hand to gemm_part, exposed for the partition simulation
 * (bench/partition_sim.c) and tests/net/test_partition.c. */
gemm_args linear_fwd_args(size_t n, size_t in, size_t out, const float *x, const float *w,
                          int w_is_t, float *c);
gemm_args linear_bwd_data_args(size_t n, size_t in, size_t out, const float *w, const float *dz,
                               float *dx);

#endif
