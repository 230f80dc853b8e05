/* The bf16 GEMM driver (contract: gemm_bf16.h): gemm.c's loop nest and
 * thread partition over pair words and the table's bf16 micro-kernel.
 *
 * Per thread: for each NC-wide column block, for each KC-deep slice of
 * pairs, pack B (or read it in place), then for each MC-high row block pack
 * A (or read it in place) and run the micro-kernel over the tiles. The chain
 * of every element continues across KC slices through C (accumulate), which
 * the micro-kernel's contract makes the same chain. Operands are read in
 * place by the same rules as gemm.c (A when transposed, unless its k stride
 * aliases in L1, or when few columns reuse it; B when its rows are
 * contiguous and few rows reuse it), only
 * full tiles in place, partial edge panels always packed (the micro-kernel
 * reads all bf16_mr rows and bf16_nr columns). Packing is gemm_pack.c's copy
 * of 32-bit words (its transposing case the table's gemm_pack_t): no
 * arithmetic, so no decision here changes a bit. */
#include "gemm_bf16.h"
#include "gemm_pack.h"

#include <math.h>
#include <string.h>

#include <omp.h>

#include "omp_sync.h"

#define ALIGN_WORDS 16 /* 64 bytes */

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }
static size_t ceil_div(size_t x, size_t d) { return (x + d - 1) / d; }
static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

static size_t pack_a_words(const kernel_table *kt) {
    return round_up(round_up(kt->bf16_mc, kt->bf16_mr) * kt->bf16_kc, ALIGN_WORDS);
}
static size_t pack_b_words(const kernel_table *kt) {
    return round_up(round_up(kt->bf16_nc, kt->bf16_nr) * kt->bf16_kc, ALIGN_WORDS);
}

size_t gemm_bf16_thread_workspace_words(const kernel_table *kt) {
    return pack_a_words(kt) + pack_b_words(kt);
}

size_t gemm_bf16_workspace_words(const kernel_table *kt, int nthreads) {
    return (nthreads < 1 ? 1 : (size_t)nthreads) * gemm_bf16_thread_workspace_words(kt);
}

/* ---- packing: gemm_pack.c's, on pair words ------------------------------ */

static void pack_panel(const kernel_table *kt, const uint32_t *src, size_t xs, size_t ps,
                       size_t width, size_t kq, size_t w, uint32_t *dst) {
    gemm_pack_panel(kt, (const pack_word *)src, xs, ps, width, kq, w, (pack_word *)dst);
}
static void pack_block(const kernel_table *kt, const uint32_t *src, size_t xs, size_t ps,
                       size_t width, size_t kq, size_t w, uint32_t *dst) {
    gemm_pack_block(kt, (const pack_word *)src, xs, ps, width, kq, w, (pack_word *)dst);
}

/* ---- partition (gemm.c's rule, on the bf16 tile) --------------------------- */

/* gemm.c's in-place rules and packing costs, in words of two bf16 (4 bytes,
 * as a float) */
static int direct_a(const gemm_bf16_args *g, size_t cols, size_t nr) {
    return gemm_a_in_place(g->a_rs, g->a_cs, cols, nr);
}
static int direct_b(const gemm_bf16_args *g, size_t rows) {
    return gemm_b_in_place(g->b_rs, g->b_cs, rows);
}

static double rect_cost(const kernel_table *kt, const gemm_bf16_args *g, size_t rows, size_t cols) {
    const double pa =
        direct_a(g, cols, kt->bf16_nr) ? 0.0 : (double)rows * gemm_pack_cost(g->a_rs, g->a_cs);
    const double pb =
        g->b_packed || direct_b(g, rows) ? 0.0 : (double)cols * gemm_pack_cost(g->b_cs, g->b_rs);
    return (double)g->kq * ((double)rows * (double)cols / (double)kt->bf16_nr + pa + pb);
}

gemm_rect gemm_bf16_thread_rect(const kernel_table *kt, const gemm_bf16_args *g, int tid, int nt) {
    const size_t mr = kt->bf16_mr, nr = kt->bf16_nr;
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
    gemm_rect r = {0, 0, 0, 0};
    if ((size_t)tid >= best_tm * best_tn) return r;
    const size_t ti = (size_t)tid / best_tn, tj = (size_t)tid % best_tn;
    r.i0 = min_sz(g->m, ti * mp / best_tm * mr);
    r.i1 = min_sz(g->m, (ti + 1) * mp / best_tm * mr);
    r.j0 = min_sz(g->n, tj * np / best_tn * nr);
    r.j1 = min_sz(g->n, (tj + 1) * np / best_tn * nr);
    return r;
}

static size_t block_len(size_t len, size_t cap, size_t unit) {
    const size_t blocks = ceil_div(len, cap);
    return round_up(ceil_div(len, blocks), unit);
}

/* ---- the per-thread loop nest ---------------------------------------------- */

void gemm_bf16_part(const kernel_table *kt, const gemm_bf16_args *g, const gemm_epilogue *ep,
                    uint32_t *ws, int tid, int nt) {
    if (nt < 1) nt = 1;
    if (g->m == 0 || g->n == 0) return;
    const gemm_rect r = gemm_bf16_thread_rect(kt, g, tid, nt);
    if (r.i0 >= r.i1 || r.j0 >= r.j1) return;
    const size_t mr = kt->bf16_mr, nr = kt->bf16_nr, kq = g->kq, ldc = g->ldc;
    if (kq == 0) { /* the chain is empty: C stays (accumulate) or becomes +0 */
        for (size_t i = r.i0; i < r.i1; i += mr) {
            const size_t rows = min_sz(mr, r.i1 - i);
            if (!g->accumulate)
                for (size_t q = i; q < i + rows; q++)
                    memset(g->c + q * ldc + r.j0, 0, (r.j1 - r.j0) * sizeof(float));
            if (ep) ep->fn(ep, i, r.j0, rows, r.j1 - r.j0, g->c + i * ldc + r.j0, ldc);
        }
        return;
    }
    uint32_t *pa = ws + (size_t)tid * gemm_bf16_thread_workspace_words(kt);
    uint32_t *pb = pa + pack_a_words(kt);
    const size_t mc = block_len(r.i1 - r.i0, kt->bf16_mc, mr);
    const size_t nc = block_len(r.j1 - r.j0, kt->bf16_nc, nr);
    const size_t kc_max = block_len(kq, kt->bf16_kc, 1);
    const int a_in_place = direct_a(g, r.j1 - r.j0, kt->bf16_nr),
              b_in_place = !g->b_packed && direct_b(g, r.i1 - r.i0);
    const size_t npad = round_up(g->n, nr); /* columns of one slice of a prepacked B */
    const gemm_bf16_ukr_fn ukr = kt->gemm_bf16_ukr;

    for (size_t jc = r.j0; jc < r.j1; jc += nc) {
        const size_t ncur = min_sz(nc, r.j1 - jc);
        for (size_t pc = 0; pc < kq; pc += kc_max) {
            const size_t kc = min_sz(kc_max, kq - pc);
            const int acc = g->accumulate || pc > 0, last = pc + kc == kq;
            const uint32_t *bsrc = g->b + pc * g->b_rs + jc * g->b_cs;
            const uint32_t *pbc = pb; /* the packed panels of this slice */
            if (g->b_packed)
                pbc = g->b_packed + pc * npad + jc * kc;
            else if (!b_in_place)
                pack_block(kt, bsrc, g->b_cs, g->b_rs, ncur, kc, nr, pb);
            else if (ncur % nr) {
                const size_t j = ncur / nr * nr;
                pack_panel(kt, bsrc + j * g->b_cs, g->b_cs, g->b_rs, ncur - j, kc, nr, pb + j * kc);
            }
            for (size_t ic = r.i0; ic < r.i1; ic += mc) {
                const size_t mcur = min_sz(mc, r.i1 - ic);
                const uint32_t *asrc = g->a + ic * g->a_rs + pc * g->a_cs;
                if (!a_in_place)
                    pack_block(kt, asrc, g->a_rs, g->a_cs, mcur, kc, mr, pa);
                else if (mcur % mr) {
                    const size_t i = mcur / mr * mr;
                    pack_panel(kt, asrc + i * g->a_rs, g->a_rs, g->a_cs, mcur - i, kc, mr,
                               pa + i * kc);
                }
                /* one tile; row strips outer on the last slice when an
                 * epilogue waits for them, else B panel outer (L1) */
#define TILE(i, j)                                                                                 \
    do {                                                                                           \
        const size_t rows_ = min_sz(mr, mcur - (i)), cols_ = min_sz(nr, ncur - (j));               \
        const int bin_ = b_in_place && cols_ == nr, ain_ = a_in_place && rows_ == mr;              \
        const uint32_t *bp_ = bin_ ? bsrc + (j) : pbc + (j)*kc;                                    \
        const uint32_t *ap_ = ain_ ? asrc + (i)*g->a_rs : pa + (i)*kc;                             \
        ukr(kc, ap_, ain_ ? g->a_rs : 1, ain_ ? g->a_cs : mr, bp_, bin_ ? g->b_rs : nr,            \
            g->c + (ic + (i)) * ldc + jc + (j), ldc, rows_, cols_, acc);                           \
    } while (0)
                if (last && ep) {
                    for (size_t i = 0; i < mcur; i += mr) {
                        for (size_t j = 0; j < ncur; j += nr) TILE(i, j);
                        ep->fn(ep, ic + i, jc, min_sz(mr, mcur - i), ncur,
                               g->c + (ic + i) * ldc + jc, ldc);
                    }
                } else {
                    for (size_t j = 0; j < ncur; j += nr)
                        for (size_t i = 0; i < mcur; i += mr) TILE(i, j);
                }
#undef TILE
            }
        }
    }
}

const uint32_t *gemm_bf16_prepack_b(const kernel_table *kt, const gemm_bf16_args *g,
                                    uint32_t *thread_ws) {
    const size_t nr = kt->bf16_nr, npad = round_up(g->n, nr);
    if (g->kq == 0 || g->n == 0 || npad * g->kq > pack_b_words(kt)) return NULL;
    uint32_t *dst = thread_ws + pack_a_words(kt);
    /* gemm_bf16_part's slices */
    gemm_pack_slices(kt, (const pack_word *)g->b, g->b_cs, g->b_rs, g->n, g->kq,
                     block_len(g->kq, kt->bf16_kc, 1), nr, (pack_word *)dst);
    return dst;
}

size_t gemm_bf16_prepack_rows(const kernel_table *kt, size_t n, size_t kq) {
    if (n == 0 || kq == 0) return 0;
    const size_t npad = round_up(n, kt->bf16_nr), slice = block_len(kq, kt->bf16_kc, 1);
    if (npad * kq <= pack_b_words(kt)) return kq;
    return npad * slice <= pack_b_words(kt) ? slice : 0;
}

void gemm_bf16_chain(const kernel_table *kt, const gemm_bf16_args *g, const gemm_epilogue *ep,
                     uint32_t *ws, int nthreads) {
    if (g->m == 0 || g->n == 0) return;
    if (nthreads <= 1) {
        gemm_bf16_part(kt, g, ep, ws, 0, 1);
        return;
    }
    OMP_FORK(g);
#pragma omp parallel num_threads(nthreads)
    {
        OMP_READ_SHARED_BEGIN();
        const kernel_table *kt_ = kt;
        const gemm_bf16_args *g_ = g;
        const gemm_epilogue *ep_ = ep;
        uint32_t *ws_ = ws;
        OMP_READ_SHARED_END();
        OMP_ENTER(g_);
        gemm_bf16_part(kt_, g_, ep_, ws_, omp_get_thread_num(), omp_get_num_threads());
        OMP_LEAVE(g_);
    }
    OMP_JOIN(g);
}
