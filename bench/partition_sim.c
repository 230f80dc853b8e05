/* Many cores, on paper: the work partition of every phase of a training
 * step at a given thread count, computed by the library's own partition
 * code (gemm_thread_rect, linear_grad_block, train_loss_rows, net_threads),
 * without running a step. Prints markdown tables (docs/performance.md,
 * "Many cores, on paper").
 *
 *   build/release/bench/nerve_partition_sim [threads ...]   (default 16 64)
 *
 * Phases of one step (src/net/train.c), barrier-separated segments:
 *   fwd l      forward product of layer l (gemm grid, bias/act fused)
 *   loss       per-row loss and output gradient (rows)
 *   bd l       backward-data of layer l (gemm grid) -- in the same segment
 *   wg l+1     as the weight gradient + optimizer rows of the layer above
 * "tiles" are MR x NR micro-tiles of the kernel table; work is in flops
 * (2 per multiply-add; the update 16 flop-equivalents per parameter, as
 * net_threads counts it). Efficiency of a phase or segment: its work over
 * (threads x the busiest thread's work); 1.0 means nobody waits at the
 * barrier. Idle: threads that get nothing in that phase. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "gemm.h"
#include "linear.h"
#include "net_internal.h"
#include "net_plan.h"
#include "plan.h"
#include "table.h"

#define MAXT 1024
#define UPDATE_FLOPS 16.0

typedef struct phase {
    double work[MAXT]; /* per thread */
    size_t units_max, units_min, busy;
} phase;

static size_t cdiv(size_t a, size_t b) { return (a + b - 1) / b; }

static void gemm_phase(const kernel_table *kt, const gemm_args *asked, int nt, phase *p,
                       size_t *tm_tn) {
    const gemm_args d = gemm_driver_args(kt, asked), *g = &d; /* as the driver cuts it */
    p->units_max = 0;
    p->units_min = (size_t)-1;
    p->busy = 0;
    size_t rows_seen = 0, cols_seen = 0;
    for (int t = 0; t < nt; t++) {
        const gemm_rect r = gemm_thread_rect(kt, g, t, nt);
        size_t tiles = 0;
        double w = 0;
        if (r.i1 > r.i0 && r.j1 > r.j0) {
            tiles = cdiv(r.i1 - r.i0, kt->mr) * cdiv(r.j1 - r.j0, kt->nr);
            w = 2.0 * (double)(r.i1 - r.i0) * (double)(r.j1 - r.j0) * (double)g->k;
            p->busy++;
            if (r.j0 == 0) rows_seen++;
            if (r.i0 == 0) cols_seen++;
        }
        p->work[t] += w;
        if (tiles > p->units_max) p->units_max = tiles;
        if (tiles < p->units_min) p->units_min = tiles;
    }
    tm_tn[0] = rows_seen;
    tm_tn[1] = cols_seen;
}

static double sum_of(const double *w, int nt) {
    double s = 0;
    for (int t = 0; t < nt; t++) s += w[t];
    return s;
}
static double max_of(const double *w, int nt) {
    double m = 0;
    for (int t = 0; t < nt; t++)
        if (w[t] > m) m = w[t];
    return m;
}
static double eff(const double *w, int nt) {
    const double m = max_of(w, nt);
    return m > 0 ? sum_of(w, nt) / ((double)nt * m) : 1.0;
}

static void row(const char *net, size_t batch, int nt, const char *name, const phase *p,
                const char *unit, const char *grid) {
    printf("| %s | %zu | %d | %s | %s | %zu / %zu | %zu | %.2f |\n", net, batch, nt, name, grid,
           p->units_max, p->units_min, (size_t)nt - p->busy, eff(p->work, nt));
    (void)unit;
}

/* Weight gradient + fused optimizer of layer w: rows per thread. */
static void wg_phase(const kernel_table *kt, const nerve_net *net, size_t w, size_t batch, int nt,
                     phase *p) {
    const size_t in = net->sizes[w], out = net->sizes[w + 1];
    p->units_max = 0;
    p->units_min = (size_t)-1;
    p->busy = 0;
    for (int t = 0; t < nt; t++) {
        size_t r0, r1, c0, c1;
        linear_grad_block(kt, out, in, t, nt, &r0, &r1, &c0, &c1);
        const double rows = (double)(r1 - r0), cols = (double)(c1 - c0);
        p->work[t] = rows * cols * (2.0 * (double)batch + UPDATE_FLOPS) +
                     (c0 == 0 ? rows * UPDATE_FLOPS : 0.0);
        const size_t u = cdiv(r1 - r0, kt->mr) * cdiv(c1 - c0, kt->nr);
        if (u) p->busy++;
        if (u > p->units_max) p->units_max = u;
        if (u < p->units_min) p->units_min = u;
    }
}

/* One step of `net` at `batch` rows on nt threads. Returns the step's
 * efficiency (work / (nt x sum of segment makespans)). */
static double simulate(const kernel_table *kt, const char *name, nerve_net *net, size_t batch, int nt,
                       int print) {
    const size_t L = net->n_layers;
    double seg[MAXT] = {0}, total = 0, span = 0;
    char grid[64];
    /* forward, one segment per layer */
    for (size_t l = 0; l < L; l++) {
        const size_t in = net->sizes[l], out = net->sizes[l + 1];
        const gemm_args g = linear_fwd_args(batch, in, out, NULL, NULL, NULL);
        const gemm_args d = gemm_driver_args(kt, &g); /* C^T at a small batch */
        phase p = {{0}, 0, 0, 0};
        size_t tt[2];
        gemm_phase(kt, &g, nt, &p, tt);
        snprintf(grid, sizeof grid, "%zux%zu of %zux%zu tiles%s", tt[0], tt[1], cdiv(d.m, kt->mr),
                 cdiv(d.n, kt->nr), d.m == g.m ? "" : " of C^T");
        char nm[32];
        snprintf(nm, sizeof nm, "fwd %zu (%zux%zu)", l, in, out);
        if (print) row(name, batch, nt, nm, &p, "tiles", grid);
        total += sum_of(p.work, nt);
        span += max_of(p.work, nt);
    }
    /* loss rows: ~C * 10 flops a row (softmax + xent), negligible */
    {
        phase p = {{0}, 0, (size_t)-1, 0};
        for (int t = 0; t < nt; t++) {
            size_t r0, r1;
            train_loss_rows(batch, t, nt, &r0, &r1);
            p.work[t] = 10.0 * (double)net->sizes[L] * (double)(r1 - r0);
            if (r1 > r0) p.busy++;
            if (r1 - r0 > p.units_max) p.units_max = r1 - r0;
            if (r1 - r0 < p.units_min) p.units_min = r1 - r0;
        }
        if (print) row(name, batch, nt, "loss (rows)", &p, "rows", "rows");
        total += sum_of(p.work, nt);
        span += max_of(p.work, nt);
    }
    /* backward (train.c): for l = L-1 .. 1, the segment [wg(l+1) +] bd(l),
     * then the last one, wg(1) + wg(0) */
    for (size_t l = L - 1;; l--) {
        for (int t = 0; t < nt; t++) seg[t] = 0;
        const size_t wgs[2] = {l + 1, 0};
        for (int q = 0; q < 2; q++) {
            const size_t w = wgs[q];
            if (q == 0 && w >= L) continue;
            if (q == 1 && l != 0) continue;
            phase p;
            wg_phase(kt, net, w, batch, nt, &p);
            char nm[40];
            snprintf(nm, sizeof nm, "wgrad+opt %zu (%zux%zu)", w, net->sizes[w + 1], net->sizes[w]);
            snprintf(grid, sizeof grid, "%zux%zu tiles", cdiv(net->sizes[w + 1], kt->mr),
                     cdiv(net->sizes[w], kt->nr));
            if (print) row(name, batch, nt, nm, &p, "tiles", grid);
            for (int t = 0; t < nt; t++) seg[t] += p.work[t];
        }
        if (l > 0) {
            const size_t in = net->sizes[l], out = net->sizes[l + 1];
            const gemm_args g = linear_bwd_data_args(batch, in, out, NULL, NULL, NULL);
            phase p = {{0}, 0, 0, 0};
            size_t tt[2];
            gemm_phase(kt, &g, nt, &p, tt);
            snprintf(grid, sizeof grid, "%zux%zu of %zux%zu tiles", tt[0], tt[1],
                     cdiv(batch, kt->mr), cdiv(in, kt->nr));
            char nm[40];
            snprintf(nm, sizeof nm, "bdata %zu (%zux%zu)", l, out, in);
            if (print) row(name, batch, nt, nm, &p, "tiles", grid);
            for (int t = 0; t < nt; t++) seg[t] += p.work[t];
        }
        total += sum_of(seg, nt);
        span += max_of(seg, nt);
        if (l == 0) break;
    }
    return span > 0 ? total / ((double)nt * span) : 1.0;
}

int main(int argc, char **argv) {
    int threads[16] = {16, 64}, nthr = 2;
    if (argc > 1) {
        nthr = 0;
        for (int i = 1; i < argc && nthr < 16; i++) {
            const int t = atoi(argv[i]);
            if (t < 1 || t > MAXT) {
                fprintf(stderr, "partition_sim: thread count %s outside 1..%d\n", argv[i], MAXT);
                return 2;
            }
            threads[nthr++] = t;
        }
    }
    const kernel_table *kt = kernels_active();
    const size_t small[] = {784, 256, 128, 10}, wide[] = {784, 1024, 1024, 10};
    const nerve_act acts[] = {NERVE_ACT_RELU, NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    struct {
        const char *name;
        const size_t *sizes;
    } nets[] = {{"784-256-128-10", small}, {"784-1024-1024-10", wide}};
    const size_t batches[] = {32, 256};
    printf("kernel table %s, tile %zu x %zu (MR x NR)\n\n", nerve_isa_name(kt->isa), kt->mr,
           kt->nr);

    printf("### What net_threads picks, and the step's efficiency\n\n");
    printf("| network | batch | thread limit | net_threads picks | step efficiency at the limit "
           "| at the pick |\n|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < 2; i++)
        for (size_t b = 0; b < 2; b++)
            for (int ti = 0; ti < nthr; ti++) {
                nerve_net *net;
                if (nerve_net_create(&net, 3, nets[i].sizes, acts, NERVE_LOSS_XENT, 1) != NERVE_OK) {
                    fprintf(stderr, "partition_sim: %s\n", nerve_last_error());
                    return 1;
                }
                omp_set_num_threads(threads[ti]);
                /* as on a machine with that many CPUs, not this one's */
                const int pick = net_threads_on(net, batches[b], 1, threads[ti]);
                printf("| %s | %zu | %d | %d | %.2f | %.2f |\n", nets[i].name, batches[b],
                       threads[ti], pick, simulate(kt, nets[i].name, net, batches[b], threads[ti], 0),
                       simulate(kt, nets[i].name, net, batches[b], pick, 0));
                nerve_net_free(net);
            }

    printf("\n### Per phase, at the thread count net_threads picks\n\n");
    printf("| network | batch | threads | phase | grid / split | units per thread max / min "
           "| idle threads | efficiency |\n|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < 2; i++)
        for (size_t b = 0; b < 2; b++)
            for (int ti = 0; ti < nthr; ti++) {
                nerve_net *net;
                if (nerve_net_create(&net, 3, nets[i].sizes, acts, NERVE_LOSS_XENT, 1) != NERVE_OK)
                    return 1;
                omp_set_num_threads(threads[ti]);
                const int pick = net_threads_on(net, batches[b], 1, threads[ti]);
                simulate(kt, nets[i].name, net, batches[b], pick, 1);
                nerve_net_free(net);
            }
    return 0;
}
