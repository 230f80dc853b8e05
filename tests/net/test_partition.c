/* The work partition of the training phases (src/gemm/gemm.c gemm_thread_rect,
 * src/net/linear.c linear_grad_block, src/net/train.c train_loss_rows), at thread
 * counts up to 70, for every ISA table (their tiles differ), on the products of MLP
 * layers (forward X W^T, backward-data dZ W, weight gradient dZ^T X):
 *  - every element of C (every row) belongs to exactly one thread, and each
 *    share starts on a tile (unit) boundary (GEMM: at 1-18 threads and
 *    around multiples of 16, to keep the test short);
 *  - the loss rows are balanced: no thread gets more than
 *    ceil(rows / threads) rows;
 *  - the weight-gradient blocks cover dW exactly once (and the bias rows
 *    once, with the first column block), and at least half of
 *    min(threads, MR x NR units of dW) threads get work (rows alone left
 *    63 of 64 threads idle on a 10-row output layer);
 *  - one more thread never makes the GEMM's busiest thread slower in the
 *    grid's own cost model (before the grid could use fewer threads than it
 *    was given, a prime count such as 17 had only 1 x 17 and 17 x 1 grids,
 *    and 17 threads were slower than 16). bench/partition_sim.c prints the
 *    same partitions for 16 and 64 threads (docs/performance.md). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "linear.h"
#include "net_plan.h"
#include "testutil.h"

#define MAX_NT 70

static const size_t batches[] = {1, 13, 32, 256};
static const size_t widths[] = {10, 31, 128, 784, 1024};

/* The three products of a layer in -> out at batch n, as the driver cuts
 * them into rectangles (a forward of few rows is computed transposed). */
static void layer_products(const kernel_table *kt, size_t n, size_t in, size_t out,
                           gemm_args g[3]) {
    const gemm_args fwd = linear_fwd_args(n, in, out, NULL, NULL, NULL);
    g[0] = gemm_driver_args(kt, &fwd);
    g[1] = linear_bwd_data_args(n, in, out, NULL, NULL, NULL);
    /* the weight gradient's product dZ^T X (linear_grad_part computes it by
     * linear_grad_block's blocks; nerve_sgemm splits the same shape by
     * gemm_thread_rect) */
    const gemm_args w = {.m = out, .n = in, .k = n, .a_rs = 1, .a_cs = out, .b_rs = in,
                         .b_cs = 1, .ldc = in};
    g[2] = w;
}

static void check_cover(const kernel_table *kt, const gemm_args *g, int nt, unsigned char *seen) {
    for (size_t e = 0; e < g->m * g->n; e++) seen[e] = 0;
    for (int t = 0; t < nt; t++) {
        const gemm_rect r = gemm_thread_rect(kt, g, t, nt);
        if (r.i0 >= r.i1 || r.j0 >= r.j1) continue;
        cr_assert(r.i1 <= g->m && r.j1 <= g->n, "%s m %zu n %zu nt %d: thread %d outside C",
                  kt->name, g->m, g->n, nt, t);
        cr_assert(r.i0 % kt->mr == 0 && r.j0 % kt->nr == 0,
                  "%s m %zu n %zu nt %d: thread %d starts off a tile (%zu, %zu)", kt->name, g->m,
                  g->n, nt, t, r.i0, r.j0);
        for (size_t i = r.i0; i < r.i1; i++)
            for (size_t j = r.j0; j < r.j1; j++) seen[i * g->n + j]++;
    }
    for (size_t e = 0; e < g->m * g->n; e++)
        cr_assert_eq(seen[e], 1, "%s m %zu n %zu k %zu nt %d: element (%zu, %zu) computed %d times",
                     kt->name, g->m, g->n, g->k, nt, e / g->n, e % g->n, seen[e]);
}

static double busiest(const kernel_table *kt, const gemm_args *g, int nt) {
    double m = 0;
    for (int t = 0; t < nt; t++) {
        const gemm_rect r = gemm_thread_rect(kt, g, t, nt);
        const double c = gemm_rect_cost(kt, g, &r);
        if (c > m) m = c;
    }
    return m;
}

ParameterizedTestParameters(partition, gemm_grid) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    return cr_make_param_array(nerve_isa, isas, test_supported_isas(isas));
}

ParameterizedTest(nerve_isa *isa, partition, gemm_grid) {
    const kernel_table *kt = kernels_for(*isa);
    unsigned char *seen = malloc(1024 * 1024);
    cr_assert_not_null(seen);
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++)
        for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
            for (size_t o = 0; o < sizeof widths / sizeof *widths; o++) {
                gemm_args g[3];
                layer_products(kt, batches[b], widths[i], widths[o], g);
                for (int p = 0; p < 3; p++) {
                    double prev = 0;
                    for (int nt = 1; nt <= MAX_NT; nt++) {
                        if (nt <= 18 || nt % 16 <= 1 || nt % 16 == 15)
                            check_cover(kt, &g[p], nt, seen);
                        const double c = busiest(kt, &g[p], nt);
                        if (nt > 1)
                            cr_assert(c <= prev,
                                      "%s product %d of %zu -> %zu at batch %zu: busiest thread "
                                      "costs %g at %d threads, more than %g at %d",
                                      kt->name, p, widths[i], widths[o], batches[b], c, nt, prev,
                                      nt - 1);
                        prev = c;
                    }
                }
            }
    free(seen);
}

/* A split of n into units of `unit` over nt parts: exact cover, in order,
 * unit-aligned, at most ceil(units / nt) units each. */
static void check_rows(const char *what, size_t n, size_t unit, int nt, const size_t *b,
                       const size_t *e) {
    const size_t units = (n + unit - 1) / unit, cap = (units + (size_t)nt - 1) / (size_t)nt;
    size_t next = 0;
    for (int t = 0; t < nt; t++) {
        cr_assert_eq(b[t], next, "%s n %zu nt %d: thread %d starts at %zu, not %zu", what, n, nt, t,
                     b[t], next);
        cr_assert(e[t] >= b[t] && e[t] <= n, "%s n %zu nt %d: thread %d bad range", what, n, nt, t);
        cr_assert(b[t] % unit == 0 || b[t] == n, "%s: thread %d starts off a unit", what, t);
        cr_assert((e[t] - b[t] + unit - 1) / unit <= cap,
                  "%s n %zu nt %d: thread %d has %zu rows, more than %zu units of %zu", what, n, nt,
                  t, e[t] - b[t], cap, unit);
        next = e[t];
    }
    cr_assert_eq(next, n, "%s n %zu nt %d: rows %zu.. not covered", what, n, nt, next);
}

/* The weight-gradient blocks of an out x in layer on nt threads. */
static void check_wgrad(const kernel_table *kt, size_t out, size_t in, int nt, unsigned char *seen,
                        unsigned char *bias) {
    memset(seen, 0, out * in);
    memset(bias, 0, out);
    size_t busy = 0;
    for (int t = 0; t < nt; t++) {
        size_t r0, r1, c0, c1;
        linear_grad_block(kt, out, in, t, nt, &r0, &r1, &c0, &c1);
        if (r1 <= r0 || c1 <= c0) continue;
        busy++;
        cr_assert(r1 <= out && c1 <= in, "%s %zu x %zu nt %d: thread %d outside dW", kt->name, out,
                  in, nt, t);
        cr_assert(r0 % kt->mr == 0 && c0 % kt->nr == 0,
                  "%s %zu x %zu nt %d: thread %d starts off a unit", kt->name, out, in, nt, t);
        for (size_t i = r0; i < r1; i++) {
            if (c0 == 0) bias[i]++;
            for (size_t j = c0; j < c1; j++) seen[i * in + j]++;
        }
    }
    for (size_t e = 0; e < out * in; e++)
        cr_assert_eq(seen[e], 1, "%s %zu x %zu nt %d: dW(%zu, %zu) computed %d times", kt->name,
                     out, in, nt, e / in, e % in, seen[e]);
    for (size_t i = 0; i < out; i++)
        cr_assert_eq(bias[i], 1, "%s %zu x %zu nt %d: db(%zu) computed %d times", kt->name, out, in,
                     nt, i, bias[i]);
    const size_t units = ((out + kt->mr - 1) / kt->mr) * ((in + kt->nr - 1) / kt->nr);
    const size_t want = (units < (size_t)nt ? units : (size_t)nt);
    cr_assert(2 * busy >= want, "%s %zu x %zu: %zu of %d threads get work (%zu units)", kt->name,
              out, in, busy, nt, units);
}

ParameterizedTestParameters(partition, row_phases) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    return cr_make_param_array(nerve_isa, isas, test_supported_isas(isas));
}

ParameterizedTest(nerve_isa *isa, partition, row_phases) {
    const kernel_table *kt = kernels_for(*isa);
    size_t b[MAX_NT], e[MAX_NT];
    unsigned char *seen = malloc(1024 * 1024), bias[1024];
    cr_assert_not_null(seen);
    for (int nt = 1; nt <= MAX_NT; nt++) {
        for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
            for (size_t j = 0; j < sizeof widths / sizeof *widths; j++)
                check_wgrad(kt, widths[i], widths[j], nt, seen, bias);
        for (size_t i = 0; i < sizeof batches / sizeof *batches; i++) {
            for (int t = 0; t < nt; t++) train_loss_rows(batches[i], t, nt, &b[t], &e[t]);
            check_rows("loss rows", batches[i], 1, nt, b, e);
        }
    }
    free(seen);
}
