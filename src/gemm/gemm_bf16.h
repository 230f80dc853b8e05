/* The bf16 GEMM driver: the loop nest of gemm.c over bf16 pair operands and
 * the table's bf16 micro-kernel (contract: simd/table.h, arithmetic:
 * simd/bf16.h).
 *
 * Operands are matrices of pair words (low half the element at even k,
 * high half the odd one): A(i, q) = a[i*a_rs + q*a_cs] holds A(i, 2q) and
 * A(i, 2q+1), B(q, j) = b[q*b_rs + j*b_cs] holds B(2q, j) and B(2q+1, j),
 * kq pairs (an odd k has its last pair's high halves +0). The result is
 *   C(i,j) = chain over q = 0 .. kq-1 of bf16_dp_ref(acc, B(q,j), A(i,q)),
 *   acc starting at C(i,j) (accumulate) or +0,
 * every element one chain in increasing q, computed whole by one thread:
 * the same bits for any thread count, any partition and every kernel table
 * (vdpbf16ps or its emulation). Threads split C as gemm.c does; K blocks
 * continue the chain through C, which the contract allows. */
#ifndef NERVE_SRC_GEMM_BF16_H
#define NERVE_SRC_GEMM_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "gemm.h"
#include "table.h"

typedef struct gemm_bf16_args {
    size_t m, n, kq;
    const uint32_t *a;
    size_t a_rs, a_cs;
    const uint32_t *b;
    size_t b_rs, b_cs;
    float *c;
    size_t ldc;
    int accumulate;
    /* NULL, or all of B already packed by gemm_bf16_prepack_b (b, b_rs and
     * b_cs are then not read), as gemm_args.b_packed */
    const uint32_t *b_packed;
} gemm_bf16_args;

/* Words of packing workspace one thread needs, and `nthreads` threads
 * (64-byte multiples; the base must be 64-byte aligned). */
size_t gemm_bf16_thread_workspace_words(const kernel_table *kt);
size_t gemm_bf16_workspace_words(const kernel_table *kt, int nthreads);

/* Thread tid of nt's rectangle of C (gemm_thread_rect's rule on the bf16
 * tile and costs). */
gemm_rect gemm_bf16_thread_rect(const kernel_table *kt, const gemm_bf16_args *g, int tid, int nt);

/* Thread tid's share, from every thread of a parallel region (no barrier
 * inside; ws as gemm_bf16_workspace_words(kt, nt)); the epilogue as in
 * gemm.h, once per finished strip of at most bf16_mr rows. */
void gemm_bf16_part(const kernel_table *kt, const gemm_bf16_args *g, const gemm_epilogue *ep,
                    uint32_t *ws, int tid, int nt);

/* gemm_prepack_b (gemm.h) for the bf16 driver: all of B packed once into
 * the B block of one thread's workspace (gemm_bf16_thread_workspace_words
 * words), for products that share kt, n, kq and B; NULL when it does not
 * fit. */
const uint32_t *gemm_bf16_prepack_b(const kernel_table *kt, const gemm_bf16_args *g,
                                    uint32_t *thread_ws);

/* gemm_prepack_rows for the bf16 driver: k and its slices in pairs (kq). */
size_t gemm_bf16_prepack_rows(const kernel_table *kt, size_t n, size_t kq);

/* The whole product with nthreads threads (<= 1: the calling thread). */
void gemm_bf16_chain(const kernel_table *kt, const gemm_bf16_args *g, const gemm_epilogue *ep,
                     uint32_t *ws, int nthreads);

#endif
