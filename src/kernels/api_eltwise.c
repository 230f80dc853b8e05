/* Public elementwise and BLAS-1 kernels: activations, softmax, column sums,
 * sum, dot, axpby (kernels.h). Each validates, then runs the active table's
 * kernel, split across threads by whole 16-float blocks (elementwise), rows
 * (softmax) or 16-column strips (colsum); none of these splits changes a
 * bit because every element (row, column) is computed by one kernel call
 * with the same operations whatever its position (table.h). */
#include <omp.h>

#include "api.h"
#include "error.h"

/* Elements one thread should get at least: ~10 us of a streaming kernel. */
#define ELT_GRAIN 16384

/* Runs body(b, e) for [0, n) split across nt threads in 16-float units. */
#define SPLIT_ELEMENTS(n, nt, body)                                                                \
    do {                                                                                           \
        if ((nt) <= 1) {                                                                           \
            const size_t b_ = 0, e_ = (n);                                                         \
            body;                                                                                  \
        } else {                                                                                   \
            _Pragma("omp parallel num_threads(nt)") {                                              \
                size_t b_, e_;                                                                     \
                split_range((n), 16, omp_get_thread_num(), omp_get_num_threads(), &b_, &e_);         \
                if (e_ > b_) body;                                                                 \
            }                                                                                      \
        }                                                                                          \
    } while (0)

nerve_status nerve_act_forward(nerve_act act, size_t n, const float *x, float *y) {
    static const char fn[] = "nerve_act_forward";
    nerve_status st;
    if ((st = api_check_act(fn, act)) || (st = api_check_vector(fn, "x", x, n)) ||
        (st = api_check_vector(fn, "y", y, n)))
        return st;
    if (n == 0) return NERVE_OK;
    const act_fwd_fn f = kernels_active()->act_fwd[act];
    const int nt = api_threads(n, ELT_GRAIN);
    SPLIT_ELEMENTS(n, nt, f(e_ - b_, x + b_, y + b_));
    return NERVE_OK;
}

nerve_status nerve_act_backward(nerve_act act, size_t n, const float *x, const float *y,
                                const float *dy, float *dx) {
    static const char fn[] = "nerve_act_backward";
    nerve_status st;
    if ((st = api_check_act(fn, act)) || (st = api_check_vector(fn, "x", x, n)) ||
        (st = api_check_vector(fn, "y", y, n)) || (st = api_check_vector(fn, "dy", dy, n)) ||
        (st = api_check_vector(fn, "dx", dx, n)))
        return st;
    if (n == 0) return NERVE_OK;
    const act_bwd_fn f = kernels_active()->act_bwd[act];
    const int nt = api_threads(n, ELT_GRAIN);
    SPLIT_ELEMENTS(n, nt, f(e_ - b_, x + b_, y + b_, dy + b_, dx + b_));
    return NERVE_OK;
}

nerve_status nerve_axpby(size_t n, float alpha, const float *x, float beta, float *y) {
    static const char fn[] = "nerve_axpby";
    nerve_status st;
    if ((st = api_check_vector(fn, "x", x, n)) || (st = api_check_vector(fn, "y", y, n))) return st;
    if (n == 0) return NERVE_OK;
    const kernel_table *kt = kernels_active();
    const int nt = api_threads(n, ELT_GRAIN);
    SPLIT_ELEMENTS(n, nt, kt->axpby(e_ - b_, alpha, x + b_, beta, y + b_));
    return NERVE_OK;
}

/* Rows [r0, r1) of softmax: one kernel call when rows are contiguous. */
static void softmax_rows(const kernel_table *kt, size_t r0, size_t r1, size_t cols, const float *x,
                         size_t ldx, float *y, size_t ldy) {
    if (ldx == cols && ldy == cols) {
        kt->softmax(r1 - r0, cols, x + r0 * ldx, y + r0 * ldy);
        return;
    }
    for (size_t i = r0; i < r1; i++) kt->softmax(1, cols, x + i * ldx, y + i * ldy);
}

nerve_status nerve_softmax(size_t rows, size_t cols, const float *x, size_t ldx, float *y,
                           size_t ldy) {
    static const char fn[] = "nerve_softmax";
    nerve_status st;
    if ((st = api_check_matrix(fn, "x", x, rows, cols, ldx)) ||
        (st = api_check_matrix(fn, "y", y, rows, cols, ldy)))
        return st;
    CHECK_ARG(x != y || ldx == ldy, "%s: in place needs ldy == ldx (%zu != %zu)", fn, ldy, ldx);
    if (rows == 0 || cols == 0) return NERVE_OK;
    const kernel_table *kt = kernels_active();
    int nt = api_threads(rows * cols, ELT_GRAIN / 4); /* exp per element */
    if ((size_t)nt > rows) nt = (int)rows;
    if (nt <= 1) {
        softmax_rows(kt, 0, rows, cols, x, ldx, y, ldy);
        return NERVE_OK;
    }
#pragma omp parallel num_threads(nt)
    {
        size_t r0, r1;
        split_range(rows, 1, omp_get_thread_num(), omp_get_num_threads(), &r0, &r1);
        if (r1 > r0) softmax_rows(kt, r0, r1, cols, x, ldx, y, ldy);
    }
    return NERVE_OK;
}

nerve_status nerve_colsum(size_t rows, size_t cols, const float *x, size_t ldx, float *y,
                          int accumulate) {
    static const char fn[] = "nerve_colsum";
    nerve_status st;
    if ((st = api_check_matrix(fn, "x", x, rows, cols, ldx)) ||
        (st = api_check_vector(fn, "y", y, cols)))
        return st;
    CHECK_ARG(accumulate == 0 || accumulate == 1, "%s: accumulate must be 0 or 1 (got %d)", fn,
              accumulate);
    if (cols == 0) return NERVE_OK;
    const kernel_table *kt = kernels_active();
    int nt = rows ? api_threads(rows * cols, ELT_GRAIN) : 1;
    if ((size_t)nt > (cols + 15) / 16) nt = (int)((cols + 15) / 16);
    if (nt <= 1) {
        kt->colsum(rows, cols, x, ldx, y, accumulate);
        return NERVE_OK;
    }
#pragma omp parallel num_threads(nt)
    {
        size_t c0, c1;
        split_range(cols, 16, omp_get_thread_num(), omp_get_num_threads(), &c0, &c1);
        if (c1 > c0) kt->colsum(rows, c1 - c0, x + c0, ldx, y + c0, accumulate);
    }
    return NERVE_OK;
}

/* ---- sum and dot: fixed blocks, block sums added in order ------------------ */

#define ROUND_BLOCKS 64 /* blocks computed in parallel per round */

static float block_sum(const kernel_table *kt, size_t n, const float *x, const float *y, size_t blk) {
    const size_t b = blk * NERVE_REDUCE_BLOCK;
    const size_t len = n - b < NERVE_REDUCE_BLOCK ? n - b : NERVE_REDUCE_BLOCK;
    return y ? kt->dot(len, x + b, y + b) : kt->sum(len, x + b);
}

/* sum (y == NULL) or dot of n elements in the order kernels.h states. */
static float reduce(size_t n, const float *x, const float *y) {
    const kernel_table *kt = kernels_active();
    const size_t blocks = (n + NERVE_REDUCE_BLOCK - 1) / NERVE_REDUCE_BLOCK;
    if (blocks <= 1) return y ? kt->dot(n, x, y) : kt->sum(n, x);
    int nt = api_threads(n, ELT_GRAIN);
    if ((size_t)nt > blocks) nt = (int)blocks;
    float part[ROUND_BLOCKS], acc = 0.0f;
    for (size_t r = 0; r < blocks; r += ROUND_BLOCKS) {
        const size_t cnt = blocks - r < ROUND_BLOCKS ? blocks - r : ROUND_BLOCKS;
        if (nt <= 1) {
            for (size_t i = 0; i < cnt; i++) part[i] = block_sum(kt, n, x, y, r + i);
        } else {
#pragma omp parallel num_threads(nt)
            {
                size_t i0, i1;
                split_range(cnt, 1, omp_get_thread_num(), omp_get_num_threads(), &i0, &i1);
                for (size_t i = i0; i < i1; i++) part[i] = block_sum(kt, n, x, y, r + i);
            }
        }
        for (size_t i = 0; i < cnt; i++) acc = r + i == 0 ? part[0] : acc + part[i];
    }
    return acc;
}

nerve_status nerve_sum(size_t n, const float *x, float *result) {
    static const char fn[] = "nerve_sum";
    nerve_status st;
    if ((st = api_check_vector(fn, "x", x, n))) return st;
    CHECK_ARG(result != NULL, "%s: result is NULL", fn);
    *result = reduce(n, x, NULL);
    return NERVE_OK;
}

nerve_status nerve_dot(size_t n, const float *x, const float *y, float *result) {
    static const char fn[] = "nerve_dot";
    nerve_status st;
    if ((st = api_check_vector(fn, "x", x, n)) || (st = api_check_vector(fn, "y", y, n))) return st;
    CHECK_ARG(result != NULL, "%s: result is NULL", fn);
    *result = reduce(n, x, y);
    return NERVE_OK;
}
