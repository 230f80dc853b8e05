/* Internal GEMM driver (BLIS-style): packs panels of A and B, loops over
 * cache blocks and calls the table's micro-kernel on MR x NR tiles.
 *
 * Computes the raw fma chain  C(i,j) = (accumulate ? C(i,j) : 0)
 *   + sum_p A(i,p) B(p,j)  (sequential over p)
 * with A(i,p) = a[i*a_rs + p*a_cs] and B(p,j) = b[p*b_rs + j*b_cs], so the
 * same code serves every transposition. Threads split output tiles only, so
 * the result is bit-identical for any thread count. */
#ifndef NERVE_SRC_GEMM_H
#define NERVE_SRC_GEMM_H

#include <stddef.h>

#include "table.h"

typedef struct gemm_args {
    size_t m, n, k;
    const float *a;
    size_t a_rs, a_cs;
    const float *b;
    size_t b_rs, b_cs;
    float *c;
    size_t ldc;
    int accumulate;
} gemm_args;

/* Floats of packing workspace gemm_chain needs for `nthreads` threads
 * (64-byte aligned blocks). */
size_t gemm_workspace_floats(const kernels *kt, int nthreads);

/* The raw chain above. `ws` must hold gemm_workspace_floats(kt, nthreads)
 * floats, 64-byte aligned. nthreads <= 1 runs on the calling thread (use this
 * inside an existing parallel region). */
void gemm_chain(const kernels *kt, const gemm_args *g, float *ws, int nthreads);

/* Threads worth using for an m x n x k product on this machine (1 when
 * called inside a parallel region or when the product is small). */
int gemm_threads(size_t m, size_t n, size_t k);

#endif
