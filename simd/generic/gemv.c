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

/* gemv_packed: B in the micro-kernel's packed B panels (table.h). The columns
 * are taken as vectors of up to VL lanes that never straddle two panels (a
 * 32-wide AVX-512 panel gives two full vectors, NEON's 12-wide ones one
 * 12-lane vector each). A strip of vectors advances over p together: one
 * independent chain per vector and row hides the fma latency, and each
 * vector is a sequential stream through its panel (the prefetchers' best
 * case); the second row reuses every B load (vf_keep: GCC would otherwise
 * fold the load into both fmas, and the doubled L1 reads cost a third of
 * the speed). Strip widths: AVX-512 8 vectors (16 of its 32 zmm for two
 * rows; 7.8 us against 8.2 with 4 for 784-256-128-10 at two rows, 1 % at
 * one); elsewhere 4 for one row (8 ymm on AVX2, where a vector is two, as
 * gemv_t's strips) and 2 for two rows (8 of AVX2's 16 ymm, 16 of NEON's 32
 * q registers). A vector is loaded whole while it lies inside its panel
 * (the panel's padding columns are zeros), and stored only over its columns
 * below n. */
#if defined(NERVE_ISA_BUILD_AVX512)
#define GEMV_P_BLOCKS  8
#define GEMV_P2_BLOCKS 8
#else
#define GEMV_P_BLOCKS  4
#define GEMV_P2_BLOCKS 2
#endif
_Static_assert(GEMV_P2_BLOCKS <= GEMV_P_BLOCKS, "the strip arrays hold GEMV_P_BLOCKS");

/* The column vectors of a strip starting at column j: at most `max` of them,
 * their first column j0[], lanes loaded lanes[] and source col[]; returns
 * how many, and the column after the strip in *next. *full: all max of them
 * have VL lanes. */
static inline size_t strip_p(size_t j, size_t n, const float *b, size_t nr, size_t ldp, size_t max,
                             const float **col, size_t *lanes, size_t *j0, int *full,
                             size_t *next) {
    size_t cnt = 0;
    *full = 1;
    for (; cnt < max && j < n; cnt++) {
        const size_t q = j / nr, off = j - q * nr;
        const size_t v = nr - off < VL ? nr - off : VL;
        col[cnt] = b + q * ldp + off;
        lanes[cnt] = v;
        j0[cnt] = j;
        *full &= v == VL;
        j += v;
    }
    *full &= cnt == max;
    *next = j;
    return cnt;
}

static inline vf load_p(const float *p, size_t lanes) {
    return lanes == VL ? vf_loadu(p) : vf_load_tail(p, lanes);
}

static inline void store_p(float *y, size_t n, size_t j0, size_t lanes, vf v) {
    const size_t w = n - j0 < lanes ? n - j0 : lanes;
    if (w == VL)
        vf_storeu(y + j0, v);
    else
        vf_store_tail(y + j0, v, w);
}

void KNAME(f32_gemv_packed)(size_t k, size_t n, const float *b, size_t nr, size_t ldp, size_t m,
                            const float *x, size_t ldx, float *y, size_t ldy) {
    const float *col[GEMV_P_BLOCKS];
    size_t lanes[GEMV_P_BLOCKS], j0[GEMV_P_BLOCKS];
    int full;
    if (m == 1) {
        for (size_t j = 0; j < n;) {
            const size_t cnt = strip_p(j, n, b, nr, ldp, GEMV_P_BLOCKS, col, lanes, j0, &full, &j);
            vf acc[GEMV_P_BLOCKS];
            for (int c = 0; c < GEMV_P_BLOCKS; c++) acc[c] = vf_zero();
            if (full) {
                for (size_t p = 0; p < k; p++) {
                    const vf xp = vf_set1(x[p]);
                    for (int c = 0; c < GEMV_P_BLOCKS; c++)
                        acc[c] = vf_fma(vf_loadu(col[c] + p * nr), xp, acc[c]);
                }
            } else {
                for (size_t p = 0; p < k; p++) {
                    const vf xp = vf_set1(x[p]);
                    for (size_t c = 0; c < cnt; c++)
                        acc[c] = vf_fma(load_p(col[c] + p * nr, lanes[c]), xp, acc[c]);
                }
            }
            for (size_t c = 0; c < cnt; c++) store_p(y, n, j0[c], lanes[c], acc[c]);
        }
        return;
    }
    const float *x1 = x + ldx;
    float *y1 = y + ldy;
    for (size_t j = 0; j < n;) {
        const size_t cnt = strip_p(j, n, b, nr, ldp, GEMV_P2_BLOCKS, col, lanes, j0, &full, &j);
        vf a0[GEMV_P2_BLOCKS], a1[GEMV_P2_BLOCKS];
        for (int c = 0; c < GEMV_P2_BLOCKS; c++) a0[c] = a1[c] = vf_zero();
        if (full) {
            for (size_t p = 0; p < k; p++) {
                const vf x0p = vf_set1(x[p]), x1p = vf_set1(x1[p]);
                for (int c = 0; c < GEMV_P2_BLOCKS; c++) {
                    /* one load for both rows (GCC would fold it into each fma) */
                    const vf bv = vf_keep(vf_loadu(col[c] + p * nr));
                    a0[c] = vf_fma(bv, x0p, a0[c]);
                    a1[c] = vf_fma(bv, x1p, a1[c]);
                }
            }
        } else {
            for (size_t p = 0; p < k; p++) {
                const vf x0p = vf_set1(x[p]), x1p = vf_set1(x1[p]);
                for (size_t c = 0; c < cnt; c++) {
                    const vf bv = vf_keep(load_p(col[c] + p * nr, lanes[c]));
                    a0[c] = vf_fma(bv, x0p, a0[c]);
                    a1[c] = vf_fma(bv, x1p, a1[c]);
                }
            }
        }
        for (size_t c = 0; c < cnt; c++) {
            store_p(y, n, j0[c], lanes[c], a0[c]);
            store_p(y1, n, j0[c], lanes[c], a1[c]);
        }
    }
}
