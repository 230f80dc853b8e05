/* Matrix-vector products (table.h), written once against vec.h.
 *
 * gemv_n: y_i = alpha * d_i (+ beta * y_i), d_i = row_i . x as 16 lane-wise
 *   partial sums (one fma chain per lane over the 16-blocks of the row, the
 *   tail block masked) combined by vf_reduce_add's fixed tree. Four rows are
 *   processed together (independent chains, x loaded once), which does not
 *   change any row's order. The dots of 16 rows are gathered and finished
 *   with one vector epilogue.
 * gemv_t: y_j = alpha * c_j (+ beta * y_j), c_j = one sequential fma chain
 *   over i starting from 0, vectorized across j (64 columns at a time).
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

#define GEMV_T_BLOCKS 4 /* 64 columns per pass: 4 independent accumulators */

void KNAME(f32_gemv_t)(size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
                       float beta, float *y) {
    size_t j = 0;
    for (; j + GEMV_T_BLOCKS * VL <= n; j += GEMV_T_BLOCKS * VL) {
        vf acc[GEMV_T_BLOCKS];
        for (int b = 0; b < GEMV_T_BLOCKS; b++) acc[b] = vf_zero();
        for (size_t i = 0; i < m; i++) {
            const vf xi = vf_set1(x[i]);
            const float *ar = a + i * lda + j;
            for (int b = 0; b < GEMV_T_BLOCKS; b++)
                acc[b] = vf_fma(vf_loadu(ar + (size_t)b * VL), xi, acc[b]);
        }
        for (int b = 0; b < GEMV_T_BLOCKS; b++) {
            float *yb = y + j + (size_t)b * VL;
            vf_storeu(yb, finish(acc[b], alpha, beta, beta == 0.0f ? vf_zero() : vf_loadu(yb)));
        }
    }
    for (; j < n; j += VL) {
        const size_t w = n - j < VL ? n - j : VL;
        vf acc = vf_zero();
        for (size_t i = 0; i < m; i++) {
            const float *ar = a + i * lda + j;
            vf av = w == VL ? vf_loadu(ar) : vf_load_tail(ar, w);
            acc = vf_fma(av, vf_set1(x[i]), acc);
        }
        if (w == VL) {
            vf_storeu(y + j, finish(acc, alpha, beta, beta == 0.0f ? vf_zero() : vf_loadu(y + j)));
        } else {
            vf yv = beta == 0.0f ? vf_zero() : vf_load_tail(y + j, w);
            vf_store_tail(y + j, finish(acc, alpha, beta, yv), w);
        }
    }
}
