/* Public losses (kernels.h): MSE and softmax cross-entropy over rows with
 * leading dimensions, mean loss, optional gradient and per-row losses. The
 * rows, threads and mean are shared by every loss of NERVE_LOSS_LIST
 * (src/core/loss.h); each public function validates its own arguments.
 *
 * Rows are processed in rounds of ROUND_ROWS: the threads split a round's
 * rows (every row is one independent kernel call), then the calling thread
 * adds the round's row losses, in double, in row order, to the running sum.
 * So the mean is the same sum nerve_net computes (train.c), whatever the
 * thread count, and no memory is allocated when row_loss is NULL. */
#include <omp.h>

#include "api.h"
#include "error.h"
#include "loss.h"

#define ROUND_ROWS 1024
#define LOSS_GRAIN 8192 /* elements per thread at least */

typedef struct loss_job {
    const kernel_table *kt;
    nerve_loss loss;
    size_t cols;
    const float *o, *t; /* outputs (logits) and target values (NULL for labels) */
    size_t ldo, ldt, ldg;
    const int32_t *labels; /* NULL for target values */
    float scale;
    float *grad;
} loss_job;

/* Rows [r0, r1) into rl[0 .. r1 - r0): one kernel call when contiguous. */
static void loss_rows(const loss_job *j, size_t r0, size_t r1, float *rl) {
    const size_t c = j->cols;
    const int contiguous = j->ldo == c && (!j->t || j->ldt == c) && (!j->grad || j->ldg == c);
    const size_t step = contiguous ? r1 - r0 : 1;
    for (size_t i = r0; i < r1; i += step) {
        float *g = j->grad ? j->grad + i * j->ldg : NULL;
        loss_run(j->kt, j->loss, step, c, j->o + i * j->ldo, j->t ? j->t + i * j->ldt : NULL,
                 j->labels ? j->labels + i : NULL, j->scale, g, rl + (i - r0));
    }
}

static void run_loss(const loss_job *j, size_t rows, float *row_loss, float *mean) {
    int nt = api_threads(rows * j->cols, LOSS_GRAIN);
    float local[ROUND_ROWS];
    double sum = 0;
    for (size_t r = 0; r < rows; r += ROUND_ROWS) {
        const size_t cnt = rows - r < ROUND_ROWS ? rows - r : ROUND_ROWS;
        float *rl = row_loss ? row_loss + r : local;
        const int t = (size_t)nt > cnt ? (int)cnt : nt;
        if (t <= 1) {
            loss_rows(j, r, r + cnt, rl);
        } else {
#pragma omp parallel num_threads(t)
            {
                size_t a, b;
                split_range(cnt, 1, omp_get_thread_num(), omp_get_num_threads(), &a, &b);
                if (b > a) loss_rows(j, r + a, r + b, rl + a);
            }
        }
        for (size_t i = 0; i < cnt; i++) sum += (double)rl[i];
    }
    if (mean) *mean = (float)(sum / loss_count(j->loss, rows, j->cols));
}

nerve_status nerve_loss_mse(size_t rows, size_t cols, const float *out, size_t ldo,
                            const float *target, size_t ldt, float grad_scale, float *grad,
                            size_t ldg, float *row_loss, float *mean) {
    static const char fn[] = "nerve_loss_mse";
    nerve_status st;
    CHECK_ARG(rows >= 1 && cols >= 1, "%s: empty batch (%zu rows x %zu columns)", fn, rows, cols);
    if ((st = api_check_matrix(fn, "out", out, rows, cols, ldo)) ||
        (st = api_check_matrix(fn, "target", target, rows, cols, ldt)) ||
        (grad && (st = api_check_matrix(fn, "grad", grad, rows, cols, ldg))))
        return st;
    CHECK_ARG(!grad || (const float *)grad != out || ldg == ldo,
              "%s: grad in place of out needs ldg == ldo", fn);
    const loss_job j = {.kt = kernels_active(),
                        .loss = NERVE_LOSS_MSE,
                        .cols = cols,
                        .o = out,
                        .t = target,
                        .ldo = ldo,
                        .ldt = ldt,
                        .ldg = ldg,
                        .scale = grad_scale,
                        .grad = grad};
    run_loss(&j, rows, row_loss, mean);
    return NERVE_OK;
}

nerve_status nerve_loss_xent(size_t rows, size_t cols, const float *logits, size_t ldl,
                             const int32_t *labels, float grad_scale, float *grad, size_t ldg,
                             float *row_loss, float *mean) {
    static const char fn[] = "nerve_loss_xent";
    nerve_status st;
    CHECK_ARG(rows >= 1 && cols >= 1, "%s: empty batch (%zu rows x %zu columns)", fn, rows, cols);
    if ((st = api_check_matrix(fn, "logits", logits, rows, cols, ldl)) ||
        (grad && (st = api_check_matrix(fn, "grad", grad, rows, cols, ldg))))
        return st;
    CHECK_ARG(labels != NULL, "%s: labels is NULL", fn);
    CHECK_ARG((const float *)grad != logits, "%s: grad must not be logits (not in place)", fn);
    for (size_t i = 0; i < rows; i++)
        CHECK_ARG(labels[i] >= 0 && (size_t)labels[i] < cols,
                  "%s: label %ld of row %zu is outside [0, %zu)", fn, (long)labels[i], i, cols);
    const loss_job j = {.kt = kernels_active(),
                        .loss = NERVE_LOSS_XENT,
                        .cols = cols,
                        .o = logits,
                        .ldo = ldl,
                        .ldg = ldg,
                        .labels = labels,
                        .scale = grad_scale,
                        .grad = grad};
    run_loss(&j, rows, row_loss, mean);
    return NERVE_OK;
}
