/* The GEMM driver and the public nerve_sgemm / nerve_sgemv entry points.
 *
 * Loop nest (BLIS): for each NC-wide column block of C, for each KC-deep
 * slice of k, pack B(kc x nc) into NR-wide panels shared by all threads;
 * then the (MC-row block, NR-panel group) tiles of that column block are
 * split across threads, each packing its A block (MR-high panels) and
 * running the micro-kernel over the tiles. The chain over k continues across
 * KC slices by starting the micro-kernel from C (accumulate) after the first. */
#include "gemm.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "error.h"
#include "nerve/kernels.h"

#define ALIGN_FLOATS 16 /* 64 bytes */

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

static size_t pack_a_floats(const kernels *kt) { return round_up(kt->mc, kt->mr) * kt->kc; }
static size_t pack_b_floats(const kernels *kt) { return round_up(kt->nc, kt->nr) * kt->kc; }

size_t gemm_workspace_floats(const kernels *kt, int nthreads) {
    size_t nt = nthreads < 1 ? 1 : (size_t)nthreads;
    return round_up(pack_b_floats(kt), ALIGN_FLOATS) + nt * round_up(pack_a_floats(kt), ALIGN_FLOATS);
}

/* Pack rows [i0, i0+mc) x cols [p0, p0+kc) of A into MR-high panels, each
 * kc columns of MR floats; rows past the edge are zero. */
static void pack_a(const kernels *kt, const gemm_args *g, size_t i0, size_t mc, size_t p0,
                   size_t kc, float *dst) {
    const size_t mr = kt->mr;
    for (size_t ir = 0; ir < mc; ir += mr) {
        size_t rows = mc - ir < mr ? mc - ir : mr;
        const float *src = g->a + (i0 + ir) * g->a_rs + p0 * g->a_cs;
        for (size_t p = 0; p < kc; p++) {
            size_t i = 0;
            for (; i < rows; i++) dst[p * mr + i] = src[i * g->a_rs + p * g->a_cs];
            for (; i < mr; i++) dst[p * mr + i] = 0.0f;
        }
        dst += mr * kc;
    }
}

/* Pack rows [p0, p0+kc) x cols [j0, j0+nc) of B into NR-wide panels, each kc
 * rows of NR floats; columns past the edge are zero. */
static void pack_b_panel(const kernels *kt, const gemm_args *g, size_t p0, size_t kc, size_t j,
                         size_t cols, float *dst) {
    const size_t nr = kt->nr;
    const float *src = g->b + p0 * g->b_rs + j * g->b_cs;
    for (size_t p = 0; p < kc; p++) {
        size_t jj = 0;
        if (g->b_cs == 1) {
            memcpy(dst + p * nr, src + p * g->b_rs, cols * sizeof(float));
            jj = cols;
        } else {
            for (; jj < cols; jj++) dst[p * nr + jj] = src[p * g->b_rs + jj * g->b_cs];
        }
        for (; jj < nr; jj++) dst[p * nr + jj] = 0.0f;
    }
}

int gemm_threads(size_t m, size_t n, size_t k) {
    if (omp_in_parallel()) return 1;
    /* Below ~2 MFLOP a second thread costs more to wake than it saves. */
    double flops = 2.0 * (double)m * (double)n * (double)k;
    if (flops < 2.0e6) return 1;
    int nt = omp_get_max_threads();
    return nt < 1 ? 1 : nt;
}

void gemm_chain(const kernels *kt, const gemm_args *g, float *ws, int nthreads) {
    const size_t mr = kt->mr, nr = kt->nr, mc = kt->mc, kc_max = kt->kc, nc = kt->nc;
    const size_t m = g->m, n = g->n, k = g->k;
    if (m == 0 || n == 0) return;
    if (k == 0) {
        if (!g->accumulate)
            for (size_t i = 0; i < m; i++) memset(g->c + i * g->ldc, 0, n * sizeof(float));
        return;
    }
    float *pb = ws;
    float *pa_base = ws + round_up(pack_b_floats(kt), ALIGN_FLOATS);
    const size_t pa_stride = round_up(pack_a_floats(kt), ALIGN_FLOATS);
    if (nthreads < 1) nthreads = 1;

    /* Work units of one column block: (MC-row block) x (group of NR panels).
     * Groups are sized so there are enough units for every thread. */
    const size_t m_blocks = (m + mc - 1) / mc;

#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
    {
        const int tid = omp_get_thread_num();
        float *pa = pa_base + (size_t)tid * pa_stride;
        for (size_t jc = 0; jc < n; jc += nc) {
            const size_t ncur = n - jc < nc ? n - jc : nc;
            const size_t panels = (ncur + nr - 1) / nr;
            size_t groups = 1;
            while (m_blocks * groups < (size_t)omp_get_num_threads() * 2 && groups < panels) groups++;
            const size_t per_group = (panels + groups - 1) / groups;
            for (size_t pc = 0; pc < k; pc += kc_max) {
                const size_t kc = k - pc < kc_max ? k - pc : kc_max;
                const int acc = g->accumulate || pc > 0;
#pragma omp for schedule(static)
                for (size_t jp = 0; jp < panels; jp++) {
                    size_t j = jp * nr;
                    size_t cols = ncur - j < nr ? ncur - j : nr;
                    pack_b_panel(kt, g, pc, kc, jc + j, cols, pb + jp * nr * kc);
                }
                const size_t units = m_blocks * groups;
#pragma omp for schedule(static)
                for (size_t u = 0; u < units; u++) {
                    const size_t ib = u / groups, grp = u % groups;
                    const size_t ic = ib * mc;
                    const size_t mcur = m - ic < mc ? m - ic : mc;
                    const size_t jp0 = grp * per_group;
                    const size_t jp1 = jp0 + per_group < panels ? jp0 + per_group : panels;
                    if (jp0 >= jp1) continue;
                    pack_a(kt, g, ic, mcur, pc, kc, pa);
                    for (size_t jp = jp0; jp < jp1; jp++) {
                        const size_t j = jp * nr;
                        const size_t cols = ncur - j < nr ? ncur - j : nr;
                        for (size_t ir = 0; ir < mcur; ir += mr) {
                            const size_t rows = mcur - ir < mr ? mcur - ir : mr;
                            kt->gemm_ukr(kc, pa + ir * kc, pb + jp * nr * kc,
                                         g->c + (ic + ir) * g->ldc + jc + j, g->ldc, rows, cols, acc);
                        }
                    }
                }
            }
        }
    }
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

nerve_status nerve_sgemm(nerve_transpose ta, nerve_transpose tb, size_t m, size_t n, size_t k,
                         float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                         float beta, float *c, size_t ldc) {
    static const char fn[] = "nerve_sgemm";
    CHECK_ARG(ta == NERVE_NO_TRANS || ta == NERVE_TRANS, "%s: invalid transpose value %d for A", fn, (int)ta);
    CHECK_ARG(tb == NERVE_NO_TRANS || tb == NERVE_TRANS, "%s: invalid transpose value %d for B", fn, (int)tb);
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

    const kernels *kt = kernels_active();
    const int nt = gemm_threads(m, n, k);
    const int accumulate = alpha == 1.0f && beta == 1.0f;
    const int general = !accumulate && beta != 0.0f;
    float *tmp = NULL;
    float *ws = NULL;
    size_t ws_bytes = gemm_workspace_floats(kt, nt) * sizeof(float);
    ws = aligned_alloc(64, round_up(ws_bytes, 64));
    if (general) {
        CHECK_ARG(!mul_overflows(m * n, sizeof(float)), "%s: m*n overflows", fn);
        tmp = malloc(m * n * sizeof(float));
    }
    if (!ws || (general && !tmp)) {
        free(ws);
        free(tmp);
        return error_set(NERVE_ENOMEM, "%s: cannot allocate workspace for %zu x %zu x %zu", fn, m, n, k);
    }
    gemm_args g = {
        .m = m, .n = n, .k = k,
        .a = a, .a_rs = ta ? 1 : lda, .a_cs = ta ? lda : 1,
        .b = b, .b_rs = tb ? 1 : ldb, .b_cs = tb ? ldb : 1,
        .c = general ? tmp : c, .ldc = general ? n : ldc,
        .accumulate = accumulate,
    };
    gemm_chain(kt, &g, ws, nt);
    /* Epilogue, plain C (bit-identical whatever the ISA):
     * beta == 0: C = alpha*acc; general: C = fma(beta, C, alpha*acc). */
    if (general) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                c[i * ldc + j] = fmaf(beta, c[i * ldc + j], alpha * tmp[i * n + j]);
    } else if (!accumulate && alpha != 1.0f) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) c[i * ldc + j] = alpha * c[i * ldc + j];
    }
    free(tmp);
    free(ws);
    return NERVE_OK;
}

nerve_status nerve_sgemv(nerve_transpose ta, size_t m, size_t n, float alpha, const float *a,
                         size_t lda, const float *x, float beta, float *y) {
    static const char fn[] = "nerve_sgemv";
    CHECK_ARG(ta == NERVE_NO_TRANS || ta == NERVE_TRANS, "%s: invalid transpose value %d", fn, (int)ta);
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
    const kernels *kt = kernels_active();
    if (ta == NERVE_NO_TRANS)
        kt->gemv_n(m, n, alpha, a, lda, x, beta, y);
    else
        kt->gemv_t(m, n, alpha, a, lda, x, beta, y);
    return NERVE_OK;
}
