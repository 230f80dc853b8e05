/* The GEMM driver and the public nerve_sgemm / nerve_sgemv entry points.
 *
 * Threads: C is cut into a grid of tm x tn rectangles (tm * tn = threads),
 * aligned to MR rows and NR columns; each thread computes one rectangle on
 * its own, packing what it needs into its own workspace slice. There is no
 * barrier, which is what lets gemm_part run inside a caller's parallel
 * region; the grid is chosen to minimise (compute + packing) per thread, so
 * the operand packed redundantly is the cheaper one. k is never split: each
 * element's chain is computed by one thread, in order, so any thread count
 * gives the same bits.
 *
 * Per thread (BLIS loop nest): for each NC-wide column block, for each
 * KC-deep slice of k, pack B (kc x nc, NR-wide panels); for each MC-high row
 * block pack A (MR-high panels) and run the micro-kernel over the tiles, B
 * panel outer (it stays in L1) and A panels inner (streamed from L2). The
 * chain over k continues across KC slices by starting the micro-kernel from
 * C (accumulate) after the first.
 *
 * Small and medium products (the MLP layers) mostly skip packing: when the
 * table has a strided micro-kernel, A is broadcast straight from its rows or
 * columns and B read straight from its rows (when they are contiguous);
 * only partial edge panels are packed (direct_a / direct_b below). The
 * micro-kernel computes the same chains either way, so packing decisions
 * never change a bit. */
#include "gemm.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "api.h"
#include "error.h"
#include "gemm_pack.h"
#include "nerve/kernels.h"
#include "omp_sync.h"

#define ALIGN_FLOATS 16 /* 64 bytes */

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }
static size_t ceil_div(size_t x, size_t d) { return (x + d - 1) / d; }
static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

static size_t pack_a_floats(const kernel_table *kt) {
    return round_up(round_up(kt->mc, kt->mr) * kt->kc, ALIGN_FLOATS);
}
static size_t pack_b_floats(const kernel_table *kt) {
    return round_up(round_up(kt->nc, kt->nr) * kt->kc, ALIGN_FLOATS);
}

size_t gemm_thread_workspace_floats(const kernel_table *kt) {
    return pack_a_floats(kt) + pack_b_floats(kt);
}

size_t gemm_workspace_floats(const kernel_table *kt, int nthreads) {
    size_t nt = nthreads < 1 ? 1 : (size_t)nthreads;
    return nt * gemm_thread_workspace_floats(kt);
}

int gemm_threads(size_t m, size_t n, size_t k) {
    if (omp_in_parallel()) return 1;
    /* Below ~2 MFLOP (about 10 us on one core) waking a second thread costs
     * more than it saves. */
    double flops = 2.0 * (double)m * (double)n * (double)k;
    if (flops < 2.0e6) return 1;
    return lib_max_threads(); /* nerve_set_num_threads, else OpenMP's default */
}

/* ---- partition --------------------------------------------------------- */

typedef gemm_rect rect;

/* Relative cost of packing one element: a transposing pack (each lane is a
 * run over k) costs about twice a row copy. In units of one cycle of the
 * micro-kernel, which does NR fmas per cycle on the x86 tables (two FMA pipes
 * x NR/2 lanes). Only the choice of grid depends on these. */
double gemm_pack_cost(size_t xs, size_t ps) { return xs == 1 ? 0.25 : (ps == 1 ? 0.5 : 1.0); }

/* Whether to read an operand in place (strided micro-kernel) instead of
 * packing it. Packing costs ~0.3-0.5 cycle per element (src/gemm/gemm_pack.c);
 * it pays back only when the packed panel is reused by many tiles, each use
 * then reading a contiguous, L1-friendly panel instead of scattered rows.
 *   A (one float per row and k step, broadcast) is reused by every NR-wide
 *     tile of the thread's columns. Transposed (a_rs == 1) the MR floats of
 *     a k step are adjacent, as in a packed panel: read in place unless the
 *     k steps' stride a_cs aliases (below) and more than one B panel would
 *     reuse the A panel. Aliased, the kc lines of one A micro-panel all fall
 *     in one or two L1 sets, evict the B panel's lines there on every pass,
 *     and come back from L2 for every B panel: the weight gradient of a
 *     1024-wide layer (a_cs = 1024) ran at 0.65-0.78x oneDNN's that way, and
 *     packed 1.15-1.43x faster (docs/performance.md, "Aliased A, the input
 *     packed once, chunked packs").
 *     Otherwise the tile reads MR separate rows (MR streams, which share L1
 *     sets when the row stride is a multiple of 4 KiB): packed when there
 *     are more than DIRECT_A_MAX_COLS columns to amortise it.
 *   B (NR floats loaded per k step) can be read in place only when its rows
 *     are contiguous (b_cs == 1); it is reused by every MR-high tile of the
 *     thread's rows: packed when there are more than DIRECT_B_MAX_ROWS, or
 *     when its row stride aliases in L1 (below).
 * Thresholds measured on Zen 5 (docs/performance.md): below them the
 * packing pass costs more than the strided reads lose. */
#define DIRECT_A_MAX_COLS 512
#define DIRECT_B_MAX_ROWS 256

/* Rows of an operand read in place share L1 sets when their stride is a
 * multiple of 2 KiB (L1D: 64 sets of 64 B = 4 KiB per way, 12 ways): at 4
 * KiB all MR rows of an A tile, or all kc rows of a B panel, land in the
 * same set or two and evict each other. Such operands are packed. */
static int stride_aliases(size_t floats) { return floats % (2048 / sizeof(float)) == 0; }

int gemm_a_in_place(size_t a_rs, size_t a_cs, size_t cols, size_t nr) {
    if (a_rs == 1) return !stride_aliases(a_cs) || cols <= nr;
    return cols <= DIRECT_A_MAX_COLS && !stride_aliases(a_rs);
}
int gemm_b_in_place(size_t b_rs, size_t b_cs, size_t rows) {
    return b_cs == 1 && rows <= DIRECT_B_MAX_ROWS && !stride_aliases(b_rs);
}

static int direct_a(const kernel_table *kt, const gemm_args *g, const rect *r) {
    return kt->gemm_ukr_strided != NULL && gemm_a_in_place(g->a_rs, g->a_cs, r->j1 - r->j0, kt->nr);
}
static int direct_b(const kernel_table *kt, const gemm_args *g, const rect *r) {
    return kt->gemm_ukr_strided != NULL && gemm_b_in_place(g->b_rs, g->b_cs, r->i1 - r->i0);
}

/* Modelled time of one thread's rect of `rows` x `cols` (whole tiles):
 * micro-kernel cycles plus the packing it does. Only the choice of grid
 * depends on it. */
static double rect_cost(const kernel_table *kt, const gemm_args *g, size_t rows, size_t cols) {
    const double wa = gemm_pack_cost(g->a_rs, g->a_cs), wb = gemm_pack_cost(g->b_cs, g->b_rs);
    const rect cand = {0, rows, 0, cols};
    const double pa = direct_a(kt, g, &cand) ? 0.0 : (double)rows * wa;
    const double pb = g->b_packed || direct_b(kt, g, &cand) ? 0.0 : (double)cols * wb;
    return (double)g->k * ((double)rows * (double)cols / (double)kt->nr + pa + pb);
}

double gemm_rect_cost(const kernel_table *kt, const gemm_args *g, const gemm_rect *r) {
    if (r->i0 >= r->i1 || r->j0 >= r->j1) return 0.0;
    return rect_cost(kt, g, round_up(r->i1 - r->i0, kt->mr), round_up(r->j1 - r->j0, kt->nr));
}

/* The rectangle of C that thread tid of nt computes (may be empty): a grid
 * of tm x tn rectangles, tm * tn <= nt (threads tid >= tm * tn get none),
 * the grid of least modelled cost of its largest rectangle. Grids that use
 * fewer than nt threads are candidates too: with a prime nt (17 threads for
 * a batch-32 step, net_threads) the only exact grids are 1 x nt and nt x 1,
 * which on a product of 3 x 8 tiles leave 9 of 17 threads idle where a
 * 2 x 8 grid keeps 16 busy (docs/performance.md, "Many cores, on paper"). */
gemm_rect gemm_thread_rect(const kernel_table *kt, const gemm_args *g, int tid, int nt) {
    const size_t mr = kt->mr, nr = kt->nr;
    const size_t mp = ceil_div(g->m, mr), np = ceil_div(g->n, nr);
    size_t best_tm = 1, best_tn = (size_t)nt;
    double best = INFINITY;
    for (size_t tm = 1; tm <= (size_t)nt; tm++) {
        const size_t tn = (size_t)nt / tm;
        const double cost = rect_cost(kt, g, ceil_div(mp, tm) * mr, ceil_div(np, tn) * nr);
        if (cost < best) {
            best = cost;
            best_tm = tm;
            best_tn = tn;
        }
    }
    const size_t tm = best_tm, tn = best_tn;
    rect r = {0, 0, 0, 0};
    if ((size_t)tid >= tm * tn) return r;
    const size_t ti = (size_t)tid / tn, tj = (size_t)tid % tn;
    r.i0 = min_sz(g->m, ti * mp / tm * mr);
    r.i1 = min_sz(g->m, (ti + 1) * mp / tm * mr);
    r.j0 = min_sz(g->n, tj * np / tn * nr);
    r.j1 = min_sz(g->n, (tj + 1) * np / tn * nr);
    return r;
}

/* Block length for splitting `len` into pieces of at most `cap` (a multiple
 * of `unit`) of nearly equal size, each a multiple of `unit`. */
static size_t block_len(size_t len, size_t cap, size_t unit) {
    const size_t blocks = ceil_div(len, cap);
    return round_up(ceil_div(len, blocks), unit);
}

/* ---- the per-thread loop nest ------------------------------------------ */

static void run_epilogue_zero(const kernel_table *kt, const gemm_args *g, const gemm_epilogue *ep,
                              const rect *r) {
    if (!g->accumulate)
        for (size_t i = r->i0; i < r->i1; i++)
            memset(g->c + i * g->ldc + r->j0, 0, (r->j1 - r->j0) * sizeof(float));
    if (!ep) return;
    for (size_t i = r->i0; i < r->i1; i += kt->mr)
        ep->fn(ep, i, r->j0, min_sz(kt->mr, r->i1 - i), r->j1 - r->j0, g->c + i * g->ldc + r->j0,
               g->ldc);
}

/* What the tiles of one (ic, jc, pc) block share. */
typedef struct tile_ctx {
    const kernel_table *kt;
    const gemm_args *g;
    const float *pa, *pb; /* packed A block / B block (or only their edge panels) */
    size_t pc, kc, ic, mcur, jc, ncur;
    int a_in_place, b_in_place, acc; /* A / B read in place (not packed); accumulate into C */
} tile_ctx;

/* One MR x NR tile at (i, j) of the block. With prefetch_next, the next
 * tile's C rows (the one below, in the panel-outer order) are prefetched so
 * they arrive while this one computes. */
static inline void run_tile(const tile_ctx *t, size_t i, size_t j, int prefetch_next) {
    const kernel_table *kt = t->kt;
    const gemm_args *g = t->g;
    const size_t mr = kt->mr, nr = kt->nr, ldc = g->ldc, kc = t->kc;
    const size_t rows = min_sz(mr, t->mcur - i), cols = min_sz(nr, t->ncur - j);
    const int bin = t->b_in_place && cols == nr; /* this B panel read in place */
    const float *bp = bin ? g->b + t->pc * g->b_rs + t->jc + j : t->pb + j * kc;
    const size_t ldb = bin ? g->b_rs : nr;
    float *c = g->c + (t->ic + i) * ldc + t->jc + j;
    if (prefetch_next && i + mr < t->mcur)
        for (size_t q = mr; q < mr + min_sz(mr, t->mcur - i - mr); q++) {
            __builtin_prefetch(c + q * ldc, 1);
            __builtin_prefetch(c + q * ldc + cols - 1, 1);
        }
    if (t->a_in_place && rows == mr)
        kt->gemm_ukr_strided(kc, g->a + (t->ic + i) * g->a_rs + t->pc * g->a_cs, g->a_rs, g->a_cs,
                             bp, ldb, c, ldc, rows, cols, t->acc);
    else if (bin)
        kt->gemm_ukr_strided(kc, t->pa + i * kc, 1, mr, bp, ldb, c, ldc, rows, cols, t->acc);
    else
        kt->gemm_ukr(kc, t->pa + i * kc, bp, c, ldc, rows, cols, t->acc);
}

/* ---- a few rows times a transposed B: C^T = B^T A^T ----------------------
 *
 * The forward of a linear layer at a small batch, C = X W^T (m = batch rows,
 * B = W^T stored transposed), packs all of W^T (k x n floats, a transpose)
 * for a product of only m rows: at batch 32 on a 784 x 256 layer the pack
 * costs about as much as the micro-kernel. The same product transposed,
 * C^T = W X^T, reads W's rows in place as the strided micro-kernel's A and
 * packs only X^T (k x m floats); each finished strip of C^T is transposed
 * into C, and once a row block of C^T is done the caller's epilogue runs on
 * its image in C (the thread's rows of C by the block's columns). Every element is the
 * same chain: C^T(j, i) takes fma(W(j, p), X(i, p), acc) for p in
 * increasing order, and the product of two floats does not depend on their
 * order, so the bits are those of the untransposed product (a NaN's payload
 * aside: with NaNs in both operands the other one's may propagate; NaNs are
 * compared by position only, src/selftest/selftest.h: the x86 and Arm
 * tables already differ in their payloads).
 *
 * Measured (Intel Xeon, AVX-512, one thread, best of 80 alternated calls;
 * docs/performance.md, "A small batch's forward computed transposed, and
 * the AVX-512 transposing pack"): m = 32 ran 1.19-1.45x faster (784x256,
 * 256x128, 128x128, 784x1024 layers), m = 64 0.96-1.03x, m >= 128 slower
 * (0.43-0.79x: X^T's pack then costs as much as W^T's, and C^T's transpose
 * is extra). Hence SWAP_MAX_M. As built, m = 16-32: 1.11-1.68x on AVX-512,
 * 1.16-1.82x on AVX2 (where 32 rows are two NR = 16 panels). */
#define SWAP_MAX_M      32
#define SWAP_MIN_PANELS 4 /* C at least 4 NR-wide panels wide: 128 columns on AVX-512 */

/* Floats of the C^T scratch of one row block (the table's MC rows of C^T by
 * the padded m columns). */
static size_t swap_ct_floats(const kernel_table *kt, size_t m) {
    return round_up(round_up(kt->mc, kt->mr) * round_up(m, kt->nr), ALIGN_FLOATS);
}

/* Whether the driver computes g as C^T = B^T A^T (above): few rows, C at
 * least SWAP_MIN_PANELS panels wide, C written (not accumulated), B stored
 * transposed and not prepacked, B^T's rows readable in place by the strided
 * micro-kernel, and all of A^T packed plus one row block of C^T fitting the
 * thread's B workspace (one block packs A^T slice by slice, in less). */
static int swap_pays(const kernel_table *kt, const gemm_args *g) {
    if (g->m > SWAP_MAX_M || g->accumulate || g->b_packed || !kt->gemm_ukr_strided) return 0;
    /* a narrow C (the 10 outputs of a classifier): W^T's pack is small, and
     * C^T's few rows fill fewer tiles than C's (32 x 10 x 128: 0.86-0.98x) */
    if (g->n < SWAP_MIN_PANELS * kt->nr) return 0;
    if (g->b_rs != 1 || g->b_cs == 1) return 0;
    if (!gemm_a_in_place(g->b_cs, 1, g->m, kt->nr)) return 0;
    const size_t ap = round_up(round_up(g->m, kt->nr) * g->k, ALIGN_FLOATS);
    return ap + swap_ct_floats(kt, g->m) <= pack_b_floats(kt);
}

/* The transposed product's arguments: A' = B^T, B' = A^T, C' = C^T. */
static gemm_args swapped_args(const gemm_args *g) {
    gemm_args s = {
        .m = g->n,
        .n = g->m,
        .k = g->k,
        .a = g->b,
        .a_rs = g->b_cs,
        .a_cs = g->b_rs,
        .b = g->a,
        .b_rs = g->a_cs,
        .b_cs = g->a_rs,
        .accumulate = 0,
    };
    return s;
}

gemm_args gemm_driver_args(const kernel_table *kt, const gemm_args *g) {
    return g->m > 0 && g->n > 0 && g->k > 0 && swap_pays(kt, g) ? swapped_args(g) : *g;
}

typedef struct swap_ctx {
    const kernel_table *kt;
    const gemm_args *g; /* the product as asked: C = A B */
    size_t j_base;      /* this block's first row of C^T = column of C */
    size_t i_base;      /* the thread's first column of C^T = row of C */
} swap_ctx;

/* A finished strip of C^T (rows = columns of C), transposed into C while it
 * is in L1, by the table's transposing pack: C(ic + q, jc + r) =
 * C^T(r, q) is its dst[q*ldc + r] = src[r*ldt + q] (ldc >= rows). */
static void swap_tile(const gemm_epilogue *tep, size_t i0, size_t j0, size_t rows, size_t cols,
                      float *ct, size_t ldt) {
    const swap_ctx *sc = tep->ctx;
    const size_t ldc = sc->g->ldc, jc = sc->j_base + i0, ic = sc->i_base + j0;
    sc->kt->gemm_pack_t(ct, ldt, rows, cols, ldc, sc->g->c + ic * ldc + jc);
}

static void part(const kernel_table *kt, const gemm_args *g, const gemm_epilogue *ep, float *ws,
                 int tid, int nt, int may_swap);

static void gemm_part_swapped(const kernel_table *kt, const gemm_args *g, const gemm_epilogue *ep,
                              float *ws, int tid, int nt) {
    gemm_args s = swapped_args(g);
    const rect r = gemm_thread_rect(kt, &s, tid, nt);
    if (r.i0 >= r.i1 || r.j0 >= r.j1) return;
    float *tws = ws + (size_t)tid * gemm_thread_workspace_floats(kt);
    /* this thread's columns of C^T (rows of C; all of them unless NR < m) */
    s.n = r.j1 - r.j0;
    s.b += r.j0 * s.b_cs;
    const size_t block = round_up(kt->mc, kt->mr);
    /* Several row blocks: their A^T packed once for all (at the start of the
     * B workspace). One block: packed slice by slice by gemm_part, so each
     * slice's panel is fresh in L1 (all of A^T packed up front measured 3-8 %
     * slower at 16-32 x 256 x 784). The block's C^T at the end of the B
     * workspace, clear of both (swap_pays). */
    if (r.i1 - r.i0 > block) s.b_packed = gemm_prepack_b(kt, &s, tws);
    float *ct = tws + pack_a_floats(kt) + pack_b_floats(kt) - swap_ct_floats(kt, g->m);
    for (size_t j = r.i0; j < r.i1; j += block) {
        gemm_args sb = s;
        sb.m = min_sz(block, r.i1 - j);
        sb.a = s.a + j * s.a_rs;
        sb.c = ct;
        sb.ldc = round_up(s.n, kt->nr);
        const swap_ctx sc = {kt, g, j, r.j0};
        const gemm_epilogue tep = {swap_tile, &sc};
        part(kt, &sb, &tep, tws, 0, 1, 0);
        /* The caller's epilogue once per block, on the thread's rows of C
         * by the block's columns (just written). Run per strip, it took
         * MR-column pieces of each of up to 32 rows, a masked tail per
         * call: with the scalar transpose it replaced, that was 9 % of a
         * deep-narrow step at batch 32 (perf). The two changes together
         * (this and swap_tile's pack) made whole steps at batch 32
         * 1.07-1.13x faster (784-128x7-10 and 784-256-128-10, AVX-512 and
         * AVX2), level on 784-1024-1024-10 (docs/performance.md, "The
         * transposed forward's epilogue"). */
        if (ep) ep->fn(ep, r.j0, j, s.n, sb.m, g->c + r.j0 * g->ldc + j, g->ldc);
    }
}

/* gemm_part; may_swap == 0 for the transposed product's own blocks, which
 * must not be transposed back. */
static void part(const kernel_table *kt, const gemm_args *g, const gemm_epilogue *ep, float *ws,
                 int tid, int nt, int may_swap) {
    if (nt < 1) nt = 1;
    if (g->m == 0 || g->n == 0) return;
    if (may_swap && g->k > 0 && swap_pays(kt, g)) {
        gemm_part_swapped(kt, g, ep, ws, tid, nt);
        return;
    }
    const rect r = gemm_thread_rect(kt, g, tid, nt);
    if (r.i0 >= r.i1 || r.j0 >= r.j1) return;
    if (g->k == 0) {
        run_epilogue_zero(kt, g, ep, &r);
        return;
    }
    const size_t mr = kt->mr, nr = kt->nr, k = g->k, ldc = g->ldc;
    float *pa = ws + (size_t)tid * gemm_thread_workspace_floats(kt);
    float *pb = pa + pack_a_floats(kt);
    const size_t mc = block_len(r.i1 - r.i0, kt->mc, mr);
    const size_t nc = block_len(r.j1 - r.j0, kt->nc, nr);
    const size_t kc_max = block_len(k, kt->kc, 1);
    const int a_in_place = direct_a(kt, g, &r);
    const int b_in_place = !g->b_packed && direct_b(kt, g, &r);
    const size_t npad = round_up(g->n, nr); /* columns of one slice of a prepacked B */

    for (size_t jc = r.j0; jc < r.j1; jc += nc) {
        const size_t ncur = min_sz(nc, r.j1 - jc);
        for (size_t pc = 0; pc < k; pc += kc_max) {
            const size_t kc = min_sz(kc_max, k - pc);
            const int acc = g->accumulate || pc > 0;
            const int last = pc + kc == k;
            /* B panels: prepacked, packed (all, or only a partial last one
             * when read in place) */
            const float *pbc = pb;
            if (g->b_packed) {
                pbc = g->b_packed + pc * npad + jc * kc;
            } else if (!b_in_place) {
                gemm_pack_block(kt, g->b + pc * g->b_rs + jc * g->b_cs, g->b_cs, g->b_rs, ncur, kc,
                                nr, pb);
            } else if (ncur % nr) {
                const size_t j = ncur / nr * nr;
                gemm_pack_panel(kt, g->b + pc * g->b_rs + (jc + j) * g->b_cs, g->b_cs, g->b_rs,
                                ncur - j, kc, nr, pb + j * kc);
            }
            for (size_t ic = r.i0; ic < r.i1; ic += mc) {
                const size_t mcur = min_sz(mc, r.i1 - ic);
                if (!a_in_place) {
                    gemm_pack_block(kt, g->a + ic * g->a_rs + pc * g->a_cs, g->a_rs, g->a_cs, mcur,
                                    kc, mr, pa);
                } else if (mcur % mr) {
                    const size_t i = mcur / mr * mr;
                    gemm_pack_panel(kt, g->a + (ic + i) * g->a_rs + pc * g->a_cs, g->a_rs, g->a_cs,
                                    mcur - i, kc, mr, pa + i * kc);
                }
                const tile_ctx t = {kt,   g,  pa,   pbc,        pc,         kc, ic,
                                    mcur, jc, ncur, a_in_place, b_in_place, acc};
                if (last && ep) {
                    /* Last k slice with an epilogue: row strips outer, so each
                     * MR x ncur strip is final (and in L1) when the epilogue
                     * runs on it; B panels then stream from L2. */
                    for (size_t i = 0; i < mcur; i += mr) {
                        for (size_t j = 0; j < ncur; j += nr) run_tile(&t, i, j, 0);
                        ep->fn(ep, ic + i, jc, min_sz(mr, mcur - i), ncur,
                               g->c + (ic + i) * ldc + jc, ldc);
                    }
                } else {
                    /* B panel outer: it stays in L1 while the A panels pass */
                    for (size_t j = 0; j < ncur; j += nr)
                        for (size_t i = 0; i < mcur; i += mr) run_tile(&t, i, j, 1);
                }
            }
        }
    }
}

void gemm_part(const kernel_table *kt, const gemm_args *g, const gemm_epilogue *ep, float *ws,
               int tid, int nt) {
    part(kt, g, ep, ws, tid, nt, 1);
}

const float *gemm_prepack_b(const kernel_table *kt, const gemm_args *g, float *thread_ws) {
    const size_t nr = kt->nr, npad = round_up(g->n, nr);
    if (g->k == 0 || g->n == 0 || npad * g->k > pack_b_floats(kt)) return NULL;
    float *dst = thread_ws + pack_a_floats(kt);
    /* gemm_part's slices */
    gemm_pack_slices(kt, g->b, g->b_cs, g->b_rs, g->n, g->k, block_len(g->k, kt->kc, 1), nr, dst);
    return dst;
}

size_t gemm_prepack_rows(const kernel_table *kt, size_t n, size_t k) {
    if (n == 0 || k == 0) return 0;
    const size_t npad = round_up(n, kt->nr), slice = block_len(k, kt->kc, 1);
    if (npad * k <= pack_b_floats(kt)) return k;
    return npad * slice <= pack_b_floats(kt) ? slice : 0;
}

void gemm_chain_ep(const kernel_table *kt, const gemm_args *g, const gemm_epilogue *ep, float *ws,
                   int nthreads) {
    if (g->m == 0 || g->n == 0) return;
    if (nthreads <= 1) {
        gemm_part(kt, g, ep, ws, 0, 1);
        return;
    }
    OMP_FORK(g);
#pragma omp parallel num_threads(nthreads)
    {
        OMP_READ_SHARED_BEGIN();
        const kernel_table *kt_ = kt;
        const gemm_args *g_ = g;
        const gemm_epilogue *ep_ = ep;
        float *ws_ = ws;
        OMP_READ_SHARED_END();
        OMP_ENTER(g_);
        gemm_part(kt_, g_, ep_, ws_, omp_get_thread_num(), omp_get_num_threads());
        OMP_LEAVE(g_);
    }
    OMP_JOIN(g);
}

void gemm_chain(const kernel_table *kt, const gemm_args *g, float *ws, int nthreads) {
    gemm_chain_ep(kt, g, NULL, ws, nthreads);
}

/* ---- per-thread cached workspace for the public entry points ----------- */

/* nerve_sgemm keeps its packing buffer per calling thread and reuses it, so
 * a call allocates only when it needs more than any earlier call on that
 * thread. The buffer is freed when the thread exits (pthread key destructor;
 * the main thread's is kept until process exit). */
static pthread_key_t ws_key;
static pthread_once_t ws_once = PTHREAD_ONCE_INIT;
static int ws_key_ok;
static _Thread_local float *tl_ws;
static _Thread_local size_t tl_cap;

static void ws_destroy(void *p) { free(p); }
static void ws_key_init(void) { ws_key_ok = pthread_key_create(&ws_key, ws_destroy) == 0; }

float *gemm_tls_workspace(size_t floats) {
    if (floats <= tl_cap && tl_ws) return tl_ws;
    pthread_once(&ws_once, ws_key_init);
    if (floats > SIZE_MAX / sizeof(float) - 64) return NULL;
    float *p = aligned_alloc(64, round_up(floats * sizeof(float), 64));
    if (!p) return NULL;
    /* Registered for the thread-exit destructor before it replaces the old
     * one; if that fails (no key, ENOMEM) it would leak at thread exit, so
     * the call fails (out of memory) and the old buffer stays registered. */
    if (!ws_key_ok || pthread_setspecific(ws_key, p) != 0) {
        free(p);
        return NULL;
    }
    free(tl_ws);
    tl_ws = p;
    tl_cap = floats;
    return p;
}

/* ---- public entry points ------------------------------------------------ */

static int mul_overflows(size_t a, size_t b) { return b != 0 && a > SIZE_MAX / b; }

/* A rows x cols matrix with leading dimension ld: ld >= cols and the last
 * element's index representable. */
static nerve_status check_matrix(const char *fn, const char *name, const float *p, size_t rows,
                                 size_t cols, size_t ld) {
    if (rows == 0 || cols == 0) return NERVE_OK;
    CHECK_ARG(p != NULL, "%s: %s is NULL", fn, name);
    CHECK_ARG(ld >= cols, "%s: leading dimension of %s is %zu, less than its %zu columns", fn, name,
              ld, cols);
    CHECK_ARG(!mul_overflows(rows - 1, ld) && (rows - 1) * ld <= SIZE_MAX / sizeof(float) - cols,
              "%s: %s of %zu x %zu (ld %zu) overflows the address space", fn, name, rows, cols, ld);
    return NERVE_OK;
}

/* C = beta * C for the k == 0 / alpha == 0 cases (beta == 0 writes zeros). */
static void scale_c(size_t m, size_t n, float beta, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        float *row = c + i * ldc;
        if (beta == 0.0f)
            memset(row, 0, n * sizeof(float));
        else if (beta != 1.0f)
            for (size_t j = 0; j < n; j++) row[j] = beta * row[j];
    }
}

/* Epilogue of nerve_sgemm with beta == 0, alpha != 1: C = alpha * acc, per
 * finished strip while it is in L1 (plain multiplies: the same bits on
 * every ISA). */
static void scale_tile(const gemm_epilogue *ep, size_t i0, size_t j0, size_t rows, size_t cols,
                       float *c, size_t ldc) {
    (void)i0;
    (void)j0;
    const float alpha = *(const float *)ep->ctx;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) c[i * ldc + j] = alpha * c[i * ldc + j];
}

nerve_status nerve_sgemm(nerve_transpose ta, nerve_transpose tb, size_t m, size_t n, size_t k,
                         float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                         float beta, float *c, size_t ldc) {
    static const char fn[] = "nerve_sgemm";
    CHECK_ARG(ta == NERVE_NO_TRANS || ta == NERVE_TRANS, "%s: invalid transpose value %d for A", fn,
              (int)ta);
    CHECK_ARG(tb == NERVE_NO_TRANS || tb == NERVE_TRANS, "%s: invalid transpose value %d for B", fn,
              (int)tb);
    nerve_status st;
    if ((st = check_matrix(fn, "C", c, m, n, ldc)) != NERVE_OK) return st;
    if (m == 0 || n == 0) return NERVE_OK;
    if (k == 0 || alpha == 0.0f) {
        scale_c(m, n, beta, c, ldc);
        return NERVE_OK;
    }
    if ((st = check_matrix(fn, "A", a, ta ? k : m, ta ? m : k, lda)) != NERVE_OK) return st;
    if ((st = check_matrix(fn, "B", b, tb ? n : k, tb ? k : n, ldb)) != NERVE_OK) return st;
    CHECK_ARG(!mul_overflows(m, n), "%s: m*n overflows", fn);

    const kernel_table *kt = kernels_active();
    const int nt = gemm_threads(m, n, k);
    const int accumulate = alpha == 1.0f && beta == 1.0f;
    /* general beta: the chain goes to a temporary, then C = fma(beta, C, alpha*acc) */
    const int general = !accumulate && beta != 0.0f;
    const size_t ws_floats = gemm_workspace_floats(kt, nt);
    size_t tmp_floats = 0;
    if (general) {
        CHECK_ARG(!mul_overflows(m * n, sizeof(float)) && m * n <= SIZE_MAX / 4 - ws_floats,
                  "%s: m*n overflows", fn);
        tmp_floats = round_up(m * n, ALIGN_FLOATS);
    }
    float *ws = gemm_tls_workspace(ws_floats + tmp_floats);
    if (!ws)
        return error_set(NERVE_ENOMEM, "%s: cannot allocate workspace for %zu x %zu x %zu", fn, m,
                         n, k);
    float *tmp = ws + ws_floats;
    gemm_args g = {
        .m = m,
        .n = n,
        .k = k,
        .a = a,
        .a_rs = ta ? 1 : lda,
        .a_cs = ta ? lda : 1,
        .b = b,
        .b_rs = tb ? 1 : ldb,
        .b_cs = tb ? ldb : 1,
        .c = general ? tmp : c,
        .ldc = general ? n : ldc,
        .accumulate = accumulate,
    };
    const gemm_epilogue scale = {scale_tile, &alpha};
    gemm_chain_ep(kt, &g, (!general && !accumulate && alpha != 1.0f) ? &scale : NULL, ws, nt);
    /* Epilogue, plain C (bit-identical whatever the ISA): C = fma(beta, C, alpha*acc). */
    if (general)
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                c[i * ldc + j] = fmaf(beta, c[i * ldc + j], alpha * tmp[i * n + j]);
    return NERVE_OK;
}

/* y[y0, y1) of y = alpha op(A) x + beta y. */
static void gemv_range(const kernel_table *kt, nerve_transpose ta, size_t m, size_t n, float alpha,
                       const float *a, size_t lda, const float *x, float beta, float *y, size_t y0,
                       size_t y1) {
    if (ta == NERVE_NO_TRANS)
        kt->gemv_n(y1 - y0, n, alpha, a + y0 * lda, lda, x, beta, y + y0);
    else
        kt->gemv_t(m, y1 - y0, alpha, a + y0, lda, x, beta, y + y0);
}

nerve_status nerve_sgemv(nerve_transpose ta, size_t m, size_t n, float alpha, const float *a,
                         size_t lda, const float *x, float beta, float *y) {
    static const char fn[] = "nerve_sgemv";
    CHECK_ARG(ta == NERVE_NO_TRANS || ta == NERVE_TRANS, "%s: invalid transpose value %d", fn,
              (int)ta);
    const size_t ylen = ta ? n : m, xlen = ta ? m : n;
    if (ylen == 0) return NERVE_OK;
    CHECK_ARG(y != NULL, "%s: y is NULL", fn);
    if (xlen == 0 || alpha == 0.0f) {
        scale_c(1, ylen, beta, y, ylen);
        return NERVE_OK;
    }
    nerve_status st;
    if ((st = check_matrix(fn, "A", a, m, n, lda)) != NERVE_OK) return st;
    CHECK_ARG(x != NULL, "%s: x is NULL", fn);
    const kernel_table *kt = kernels_active();
    /* Threads split y (rows of A, or columns for A^T) in 64-float units;
     * every y element is computed whole by one thread in the kernel's fixed
     * order, so the split does not change a bit. */
    const int nt = gemm_threads(m, 1, n);
    if (nt <= 1) {
        gemv_range(kt, ta, m, n, alpha, a, lda, x, beta, y, 0, ylen);
        return NERVE_OK;
    }
    OMP_FORK(y);
#pragma omp parallel num_threads(nt)
    {
        OMP_READ_SHARED_BEGIN();
        const kernel_table *kt_ = kt;
        const nerve_transpose ta_ = ta;
        const size_t m_ = m, n_ = n, lda_ = lda, ylen_ = ylen;
        const float alpha_ = alpha, beta_ = beta, *a_ = a, *x_ = x;
        float *y_ = y;
        OMP_READ_SHARED_END();
        OMP_ENTER(y_);
        const size_t units = (ylen_ + 63) / 64, t = (size_t)omp_get_thread_num();
        const size_t cnt = (size_t)omp_get_num_threads();
        const size_t y0 = min_sz(ylen_, units * t / cnt * 64),
                     y1 = min_sz(ylen_, units * (t + 1) / cnt * 64);
        if (y1 > y0) gemv_range(kt_, ta_, m_, n_, alpha_, a_, lda_, x_, beta_, y_, y0, y1);
        OMP_LEAVE(y_);
    }
    OMP_JOIN(y);
    return NERVE_OK;
}
