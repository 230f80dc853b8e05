/* Matrix-vector products (table.h), written once against vec.h.
 *
 * gemv_n: y_i = alpha * d_i (+ beta * y_i), d_i = row_i . x as 16 lane-wise
 *   partial sums (one fma chain per lane over the 16-blocks of the row, the
 *   tail block masked) combined by vf_reduce_add's fixed tree. Four rows are
 *   processed together (independent chains, x loaded once), which does not
 *   change any row's order. The dots of 16 rows are gathered and finished
 *   with one vector epilogue.
 * gemv_t: y_j = alpha * c_j (+ beta * y_j), c_j = one sequential fma chain
 *   over i starting from 0, vectorized across j; blocked over rows and
 *   columns with the partial chains kept in a stack buffer (see below).
 * Epilogue (both, like nerve_sgemm): beta == 0: alpha * d (y never read),
 *   else fma(beta, y, alpha * d). */
#include "generic.h"

static inline vf finish(vf d, float alpha, float beta, vf y) {
    vf ad = vf_mul(vf_set1(alpha), d);
    return beta == 0.0f ? ad : vf_fma(vf_set1(beta), y, ad);
}

/* d[r] = row r of a (rows r0 .. r0+cnt-1, cnt <= 4) dotted with x. */
static void dots4(size_t n, const float *a, size_t lda, const float *x, size_t cnt, float *d) {
    vf acc[4] = {vf_zero(), vf_zero(), vf_zero(), vf_zero()};
    size_t j = 0;
    for (; j + VL <= n; j += VL) {
        vf xv = vf_loadu(x + j);
        for (size_t r = 0; r < cnt; r++) acc[r] = vf_fma(vf_loadu(a + r * lda + j), xv, acc[r]);
    }
    if (j < n) {
        vf xv = vf_load_tail(x + j, n - j);
        for (size_t r = 0; r < cnt; r++)
            acc[r] = vf_fma(vf_load_tail(a + r * lda + j, n - j), xv, acc[r]);
    }
    for (size_t r = 0; r < cnt; r++) d[r] = vf_reduce_add(acc[r]);
}

void KNAME(f32_gemv_n)(size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
                       float beta, float *y) {
    float d[VL];
    for (size_t i0 = 0; i0 < m; i0 += VL) {
        const size_t rows = m - i0 < VL ? m - i0 : VL;
        for (size_t r = 0; r < rows; r += 4)
            dots4(n, a + (i0 + r) * lda, lda, x, rows - r < 4 ? rows - r : 4, d + r);
        if (rows == VL) {
            vf yv = beta == 0.0f ? vf_zero() : vf_loadu(y + i0);
            vf_storeu(y + i0, finish(vf_loadu(d), alpha, beta, yv));
        } else {
            vf yv = beta == 0.0f ? vf_zero() : vf_load_tail(y + i0, rows);
            vf_store_tail(y + i0, finish(vf_load_tail(d, rows), alpha, beta, yv), rows);
        }
    }
}

/* gemv_t blocking. Walking a 64-column strip down all m rows reads only 256 B
 * of each row before jumping lda floats ahead, a pattern the hardware
 * prefetchers serve poorly. Instead the columns are cut into panels of
 * GEMV_T_PANEL whose partial chains c_j live in a stack buffer (4 KiB, stays
 * in L1), and the rows into blocks of GEMV_T_ROWS: for each row block every
 * strip of the panel reloads its chains, continues them over the block's rows
 * in increasing i, and stores them back. A block thus streams GEMV_T_ROWS
 * rows left to right (sequential, prefetch-friendly), and each c_j is still
 * the one fma chain over i = 0..m-1 (a float store/reload is exact).
 * GEMV_T_PANEL = 1024 columns: 4 KiB of chains, well inside a 32-48 KiB L1D.
 * GEMV_T_ROWS = 8: the chain store/reload costs 1/8 of the fmas; in a
 * quick sweep on Zen 5 (1024x1024, one thread) 4 and 16 rows were slower.
 * GEMV_T_BLOCKS = 4 vectors (64 columns) per strip: 4 independent fma chains
 * hide the fma latency; 8 zmm (AVX-512) / 8 ymm + broadcasts (AVX2). */
#define GEMV_T_PANEL  1024
#define GEMV_T_ROWS   8
#define GEMV_T_BLOCKS 4

/* Continue the chains c[0 .. w) (w <= GEMV_T_BLOCKS * VL; start from zero when
 * first) over rows [i0, i1) of the columns at a (row i at a + i * lda). */
static inline void strip_t(size_t w, int first, size_t i0, size_t i1, const float *a, size_t lda,
                           const float *x, float *c) {
    if (w == GEMV_T_BLOCKS * VL) {
        vf acc[GEMV_T_BLOCKS];
        for (int b = 0; b < GEMV_T_BLOCKS; b++)
            acc[b] = first ? vf_zero() : vf_loadu(c + (size_t)b * VL);
        for (size_t i = i0; i < i1; i++) {
            const vf xi = vf_set1(x[i]);
            const float *ar = a + i * lda;
            for (int b = 0; b < GEMV_T_BLOCKS; b++)
                acc[b] = vf_fma(vf_loadu(ar + (size_t)b * VL), xi, acc[b]);
        }
        for (int b = 0; b < GEMV_T_BLOCKS; b++) vf_storeu(c + (size_t)b * VL, acc[b]);
        return;
    }
    for (size_t j = 0; j < w; j += VL) {
        const size_t v = w - j < VL ? w - j : VL;
        vf acc = first ? vf_zero() : vf_load_tail(c + j, v);
        for (size_t i = i0; i < i1; i++) {
            const float *ar = a + i * lda + j;
            vf av = v == VL ? vf_loadu(ar) : vf_load_tail(ar, v);
            acc = vf_fma(av, vf_set1(x[i]), acc);
        }
        vf_store_tail(c + j, acc, v);
    }
}

void KNAME(f32_gemv_t)(size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
                       float beta, float *y) {
    float c[GEMV_T_PANEL];
    for (size_t j0 = 0; j0 < n; j0 += GEMV_T_PANEL) {
        const size_t pw = n - j0 < GEMV_T_PANEL ? n - j0 : GEMV_T_PANEL;
        if (m == 0)
            for (size_t j = 0; j < pw; j++) c[j] = 0.0f;
        for (size_t i0 = 0; i0 < m; i0 += GEMV_T_ROWS) {
            const size_t i1 = m - i0 < GEMV_T_ROWS ? m : i0 + GEMV_T_ROWS;
            for (size_t j = 0; j < pw; j += GEMV_T_BLOCKS * VL) {
                const size_t w = pw - j < GEMV_T_BLOCKS * VL ? pw - j : GEMV_T_BLOCKS * VL;
                strip_t(w, i0 == 0, i0, i1, a + j0 + j, lda, x, c + j);
            }
        }
        for (size_t j = 0; j < pw; j += VL) {
            const size_t v = pw - j < VL ? pw - j : VL;
            float *yj = y + j0 + j;
            if (v == VL) {
                vf yv = beta == 0.0f ? vf_zero() : vf_loadu(yj);
                vf_storeu(yj, finish(vf_loadu(c + j), alpha, beta, yv));
            } else {
                vf yv = beta == 0.0f ? vf_zero() : vf_load_tail(yj, v);
                vf_store_tail(yj, finish(vf_load_tail(c + j, v), alpha, beta, yv), v);
            }
        }
    }
}
