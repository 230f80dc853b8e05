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
    /* NULL, or all of B already packed by gemm_prepack_b (b, b_rs and b_cs
     * are then not read): for a B that several products share. */
    const float *b_packed;
} gemm_args;

/* Optional epilogue: called once for every finished strip of C (after the
 * last k block, while the strip is still in L1), with its position (rows
 * [i0, i0+rows), columns [j0, j0+cols)) and its address c = &C(i0, j0).
 * A strip is at most MR rows by at most NC columns (one row block of one
 * thread's column block), or, when the driver computes a product of a few
 * rows transposed (gemm.c, "C^T = B^T A^T"), the thread's rows of C (at
 * most 32) by the columns of one row block of C^T (at most MC, rounded up to
 * MR; called when the whole block is final, just written, mostly in L1 or
 * L2); strips never overlap or straddle threads. It may
 * rewrite that strip (and data indexed by the same rows/columns) and nothing
 * else. Used for the bias + activation of linear layers (src/net/linear.c). */
typedef struct gemm_epilogue {
    void (*fn)(const struct gemm_epilogue *ep, size_t i0, size_t j0, size_t rows, size_t cols,
               float *c, size_t ldc);
    const void *ctx;
} gemm_epilogue;

/* Floats of packing workspace one thread needs (A block + B block, each a
 * multiple of 64 bytes). */
size_t gemm_thread_workspace_floats(const kernel_table *kt);

/* Floats of packing workspace gemm_chain needs for `nthreads` threads:
 * nthreads * gemm_thread_workspace_floats (64-byte aligned base required). */
size_t gemm_workspace_floats(const kernel_table *kt, int nthreads);

/* The raw chain above. `ws` must hold gemm_workspace_floats(kt, nthreads)
 * floats, 64-byte aligned. nthreads <= 1 runs on the calling thread (use this
 * inside an existing parallel region, or gemm_part). */
void gemm_chain(const kernel_table *kt, const gemm_args *g, float *ws, int nthreads);

/* gemm_chain with an epilogue (ep may be NULL). */
void gemm_chain_ep(const kernel_table *kt, const gemm_args *g, const gemm_epilogue *ep, float *ws,
                   int nthreads);

/* Thread `tid`'s share of the product when `nt` threads split it: call it
 * from every thread of an existing parallel region (tid = 0 .. nt-1, the
 * same g and ep everywhere); together the calls compute the whole C. No
 * barrier inside: each thread packs what its block of C needs into its own
 * slice of ws (ws as for gemm_chain with nt threads). The caller must
 * synchronise before reading C. */
void gemm_part(const kernel_table *kt, const gemm_args *g, const gemm_epilogue *ep, float *ws,
               int tid, int nt);

/* Packs all of B (k x n, through g's b, b_rs and b_cs) into the B block of
 * one thread's workspace `thread_ws` (gemm_thread_workspace_floats floats),
 * in the layout gemm_part reads: its KC slices one after another, each
 * ceil(n / NR) panels. Returns the pointer for g->b_packed, or NULL (nothing
 * written) when B does not fit the block. For products that share their B
 * and differ in A and C: the rows of a weight gradient computed in chunks
 * (src/net/linear.c) pack their input once instead of once per chunk.
 * The products that read it must have the same kt, n, k and B as g (their
 * m, A and C are free); they may run on several threads (gemm_part with
 * nt > 1, after a barrier that follows the packing), each thread using its
 * own slice's A block only. Anything else run on the same slice of
 * workspace (another product without b_packed) overwrites it. */
const float *gemm_prepack_b(const kernel_table *kt, const gemm_args *g, float *thread_ws);

/* The rows of a B of n columns and k rows that one gemm_prepack_b can
 * take: k when all of B fits, else the driver's KC slice length for k when
 * one slice does (B prepacked slice by slice, each slice's products
 * accumulating onto the last's: the weight gradient of a large batch,
 * src/net/linear.c), else 0. */
size_t gemm_prepack_rows(const kernel_table *kt, size_t n, size_t k);

/* The driver's in-place rules (reasoning in gemm.c), shared with the bf16
 * driver (gemm_bf16.c); strides and counts in 4-byte elements (floats, or
 * pairs of bf16). Whether A, with `cols` columns of C reusing it, is read in
 * place by a strided micro-kernel of tile width nr; whether B, with `rows`
 * rows of C reusing it, is. And the relative cost of packing one element
 * (xs, ps: gemm_pack.h's strides), by which the thread grid is chosen. */
int gemm_a_in_place(size_t a_rs, size_t a_cs, size_t cols, size_t nr);
int gemm_b_in_place(size_t b_rs, size_t b_cs, size_t rows);
double gemm_pack_cost(size_t xs, size_t ps);

/* The partition of gemm_part, exposed for the partition simulation
 * (bench/partition_sim.c) and tests/net/test_partition.c: the rectangle
 * [i0, i1) x [j0, j1) of C that thread tid of nt computes (empty when
 * i0 >= i1 or j0 >= j1), and the modelled cost (micro-kernel cycles plus
 * packing) by which the grid is chosen. */
typedef struct gemm_rect {
    size_t i0, i1, j0, j1;
} gemm_rect;
gemm_rect gemm_thread_rect(const kernel_table *kt, const gemm_args *g, int tid, int nt);
/* The product whose C gemm_part cuts into threads' rectangles: g itself, or,
 * when the driver computes it transposed (a few rows times a transposed B,
 * gemm.c), C^T = B^T A^T with A and B swapped (c and ldc unset). For the
 * partition's simulation and tests. */
gemm_args gemm_driver_args(const kernel_table *kt, const gemm_args *g);
double gemm_rect_cost(const kernel_table *kt, const gemm_args *g, const gemm_rect *r);

/* Threads worth using for an m x n x k product on this machine (1 when
 * called inside a parallel region or when the product is small). */
int gemm_threads(size_t m, size_t n, size_t k);

/* The calling thread's cached workspace of at least `floats` floats,
 * 64-byte aligned, reused by later calls on that thread (freed at thread
 * exit); NULL when out of memory. For the public entry points. */
float *gemm_tls_workspace(size_t floats);

#endif
