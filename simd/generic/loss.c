/* Row-wise softmax and the losses of NERVE_LOSS_LIST (kernels.h), one
 * f32_loss_<name> each (table.h), written once against vec.h.
 *
 * Every row is processed in 16-lane blocks plus one masked tail block; sums
 * keep 16 lane-wise partial sums combined by vf_reduce_add's fixed tree, and
 * the row maximum uses the same fixed tree (gu_reduce_max), so every ISA
 * computes identical bits. */
#include "generic.h"
#include "util.h"
#include "vmath.h"

#define NEG_INF_BITS (-0x7fffff - 1) /* 0xff800000 as int32: the bits of -inf */

static inline vf neg_inf(void) { return vi_as_vf(vi_set1(NEG_INF_BITS)); }

/* Maximum of row[0..n). Lanes past the end count as -inf. */
static float row_max(size_t n, const float *row) {
    vf mx = neg_inf();
    size_t j = 0;
    for (; j + VL <= n; j += VL) mx = vf_max(vf_loadu(row + j), mx);
    if (j < n)
        mx = vf_max(vf_select(gu_tail_mask(n - j), vf_load_tail(row + j, n - j), neg_inf()), mx);
    return gu_reduce_max(mx);
}

/* Writes e_j = exp(row_j - max) to out (if not NULL) and returns sum_j e_j
 * (16 partial sums, fixed tree). */
static float row_exp_sum(size_t n, const float *row, float max, float *out) {
    const vf vmax = vf_set1(max);
    vf acc = vf_zero();
    size_t j = 0;
    for (; j + VL <= n; j += VL) {
        vf e = vx_exp(vf_sub(vf_loadu(row + j), vmax));
        if (out) vf_storeu(out + j, e);
        acc = vf_add(acc, e);
    }
    if (j < n) {
        const size_t r = n - j;
        vf e =
            vf_select(gu_tail_mask(r), vx_exp(vf_sub(vf_load_tail(row + j, r), vmax)), vf_zero());
        if (out) vf_store_tail(out + j, e, r);
        acc = vf_add(acc, e);
    }
    return vf_reduce_add(acc);
}

void KNAME(f32_softmax)(size_t rows, size_t cols, const float *x, float *y) {
    for (size_t i = 0; i < rows; i++) {
        const float *xr = x + i * cols;
        float *yr = y + i * cols;
        const float mx = row_max(cols, xr);
        const vf s = vf_set1(row_exp_sum(cols, xr, mx, yr));
        size_t j = 0;
        for (; j + VL <= cols; j += VL) vf_storeu(yr + j, vf_div(vf_loadu(yr + j), s));
        if (j < cols) vf_store_tail(yr + j, vf_div(vf_load_tail(yr + j, cols - j), s), cols - j);
    }
}

void KNAME(f32_loss_mse)(size_t rows, size_t cols, const float *out, const float *target,
                         float scale, float *grad, float *row_loss) {
    const vf vs = vf_set1(scale);
    for (size_t i = 0; i < rows; i++) {
        const float *o = out + i * cols, *t = target + i * cols;
        float *g = grad ? grad + i * cols : NULL;
        vf acc = vf_zero();
        size_t j = 0;
        for (; j + VL <= cols; j += VL) {
            vf d = vf_sub(vf_loadu(o + j), vf_loadu(t + j));
            acc = vf_fma(d, d, acc);
            if (g) vf_storeu(g + j, vf_mul(vs, d));
        }
        if (j < cols) {
            const size_t r = cols - j;
            vf d = vf_sub(vf_load_tail(o + j, r), vf_load_tail(t + j, r));
            acc = vf_fma(d, d, acc);
            if (g) vf_store_tail(g + j, vf_mul(vs, d), r);
        }
        row_loss[i] = vf_reduce_add(acc);
    }
}

/* grad_j = scale * (e_j / s - [j == label]) over a block starting at column j0
 * (column indices as floats: exact below 2^24 columns). */
static inline vf xent_grad(vf e, vf s, vf scale, size_t j0, float label) {
    vf idx = vf_add(gu_iota(), vf_set1((float)j0));
    vf onehot = vf_select(vf_eq(idx, vf_set1(label)), vf_set1(1.0f), vf_zero());
    return vf_mul(vf_sub(vf_div(e, s), onehot), scale);
}

/* A label outside [0, cols) (callers validate; this only keeps the kernel
 * memory-safe) gives a NaN row loss and grad = scale * softmax. */
void KNAME(f32_loss_xent)(size_t rows, size_t cols, const float *logits, const int32_t *labels,
                          float scale, float *grad, float *row_loss) {
    const vf vs = vf_set1(scale);
    for (size_t i = 0; i < rows; i++) {
        const float *o = logits + i * cols;
        float *g = grad ? grad + i * cols : NULL;
        const int32_t lab = labels[i];
        const int valid = lab >= 0 && (size_t)lab < cols;
        const float mx = row_max(cols, o);
        const float sum = row_exp_sum(cols, o, mx, g);
        /* log of the sum through the vector log (lane 0), so every ISA agrees */
        const float lse = gu_first(vx_log(vf_set1(sum)));
        row_loss[i] = valid ? lse - (o[lab] - mx) : gu_first(vi_as_vf(vi_set1(0x7fc00000)));
        if (!g) continue;
        const vf s = vf_set1(sum);
        const float flab = valid ? (float)lab : -1.0f;
        size_t j = 0;
        for (; j + VL <= cols; j += VL)
            vf_storeu(g + j, xent_grad(vf_loadu(g + j), s, vs, j, flab));
        if (j < cols)
            vf_store_tail(g + j, xent_grad(vf_load_tail(g + j, cols - j), s, vs, j, flab),
                          cols - j);
    }
}
