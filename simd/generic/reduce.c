/* Reductions and simple BLAS-1 style kernels (table.h), written once against
 * vec.h. Summation orders are fixed functions of n alone, never of the ISA:
 *   sum, dot: four 16-lane accumulators a0..a3 take consecutive blocks of
 *     64 elements; leftover full blocks of 16 go to a0, a1, a2 in turn and the
 *     masked tail block to a3; the result is vf_reduce_add((a0+a1)+(a2+a3)).
 *     (Four independent chains keep the FMA/add pipelines busy.)
 *   colsum: one sequential chain of additions down each column. */
#include <math.h>

#include "generic.h"

/* Adds x (and y for dot) into the accumulators in the fixed order above.
 * `DOT` selects a*b (fma) instead of a (add). */
#define REDUCE_BODY(LOAD, LOADT, STEP)                                                             \
    vf a[4] = {vf_zero(), vf_zero(), vf_zero(), vf_zero()};                                        \
    size_t i = 0;                                                                                  \
    for (; i + 4 * VL <= n; i += 4 * VL)                                                           \
        for (int b = 0; b < 4; b++) a[b] = STEP(a[b], LOAD(i + (size_t)b * VL));                   \
    for (int b = 0; i + VL <= n; i += VL, b++) a[b] = STEP(a[b], LOAD(i));                         \
    if (i < n) a[3] = STEP(a[3], LOADT(i, n - i));                                                 \
    return vf_reduce_add(vf_add(vf_add(a[0], a[1]), vf_add(a[2], a[3])));

#define SUM_LOAD(k)      vf_loadu(x + (k))
#define SUM_LOADT(k, r)  vf_load_tail(x + (k), (r))
#define SUM_STEP(acc, v) vf_add((acc), (v))
float KNAME(f32_sum)(size_t n, const float *x) { REDUCE_BODY(SUM_LOAD, SUM_LOADT, SUM_STEP) }

typedef struct vpair {
    vf x, y;
} vpair;
static inline vpair pair_load(const float *x, const float *y, size_t k) {
    vpair p = {vf_loadu(x + k), vf_loadu(y + k)};
    return p;
}
static inline vpair pair_load_tail(const float *x, const float *y, size_t k, size_t r) {
    vpair p = {vf_load_tail(x + k, r), vf_load_tail(y + k, r)};
    return p;
}
static inline vf pair_fma(vf acc, vpair p) { return vf_fma(p.x, p.y, acc); }
#define DOT_LOAD(k)     pair_load(x, y, (k))
#define DOT_LOADT(k, r) pair_load_tail(x, y, (k), (r))
float KNAME(f32_dot)(size_t n, const float *x, const float *y) {
    REDUCE_BODY(DOT_LOAD, DOT_LOADT, pair_fma)
}

/* max |x| lane-wise (vf_max is exact, so any order gives the same value),
 * and beside it whether any lane was NaN or infinite (x - x is NaN exactly
 * then), which makes the result +Inf: a max alone would keep or drop a NaN
 * depending on its operand order. The padded lanes of the tail are 0. */
float KNAME(f32_maxabs)(size_t n, const float *x) {
    vf a = vf_zero();
    vm bad = vf_isnan(vf_zero());
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        const vf v = vf_loadu(x + i);
        a = vf_max(a, vf_abs(v));
        bad = vm_or(bad, vf_isnan(vf_sub(v, v)));
    }
    if (i < n) {
        const vf v = vf_load_tail(x + i, n - i);
        a = vf_max(a, vf_abs(v));
        bad = vm_or(bad, vf_isnan(vf_sub(v, v)));
    }
    if (vf_reduce_add(vf_select(bad, vf_set1(1.0f), vf_zero())) > 0.0f) return INFINITY;
    float lanes[VL], m = 0.0f;
    vf_storeu(lanes, a);
    for (int l = 0; l < VL; l++) m = lanes[l] > m ? lanes[l] : m;
    return m;
}

/* Columns are processed in strips of COLSUM_STRIP (2 KiB of y, stays in L1)
 * while the rows stream through, so x is read in order. */
#define COLSUM_STRIP 512
void KNAME(f32_colsum)(size_t rows, size_t cols, const float *x, size_t ldx, float *y,
                       int accumulate) {
    for (size_t j0 = 0; j0 < cols; j0 += COLSUM_STRIP) {
        const size_t w = cols - j0 < COLSUM_STRIP ? cols - j0 : COLSUM_STRIP;
        float *ys = y + j0;
        if (!accumulate) {
            size_t j = 0;
            for (; j + VL <= w; j += VL) vf_storeu(ys + j, vf_zero());
            if (j < w) vf_store_tail(ys + j, vf_zero(), w - j);
        }
        for (size_t i = 0; i < rows; i++) {
            const float *xr = x + i * ldx + j0;
            size_t j = 0;
            for (; j + VL <= w; j += VL)
                vf_storeu(ys + j, vf_add(vf_loadu(ys + j), vf_loadu(xr + j)));
            if (j < w)
                vf_store_tail(ys + j,
                              vf_add(vf_load_tail(ys + j, w - j), vf_load_tail(xr + j, w - j)),
                              w - j);
        }
    }
}

void KNAME(f32_axpby)(size_t n, float alpha, const float *x, float beta, float *y) {
    const vf va = vf_set1(alpha), vb = vf_set1(beta);
    size_t i = 0;
    if (beta == 0.0f) {
        for (; i + VL <= n; i += VL) vf_storeu(y + i, vf_mul(va, vf_loadu(x + i)));
        if (i < n) vf_store_tail(y + i, vf_mul(va, vf_load_tail(x + i, n - i)), n - i);
        return;
    }
    for (; i + VL <= n; i += VL)
        vf_storeu(y + i, vf_fma(vb, vf_loadu(y + i), vf_mul(va, vf_loadu(x + i))));
    if (i < n) {
        const size_t r = n - i;
        vf_store_tail(y + i, vf_fma(vb, vf_load_tail(y + i, r), vf_mul(va, vf_load_tail(x + i, r))),
                      r);
    }
}
