/* The losses of NERVE_LOSS_LIST (kernels.h) as the library runs them: the
 * targets each one takes, how its mean and the gradient of that mean are
 * scaled, and the call of its kernel (table.h, loss_<name>). Shared by the
 * training step and the sample checks (train.c), evaluation (epoch.c), the
 * network's constructor and model reader, and the public losses
 * (api_loss.c), so that a new loss is its list entry and its kernel. */
#ifndef NERVE_SRC_LOSS_H
#define NERVE_SRC_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

/* The list's columns as values (kernels.h explains them). */
#define LOSS_LABELS_values     0
#define LOSS_LABELS_labels     1
#define LOSS_ELEMENTS_elements 1
#define LOSS_ELEMENTS_rows     0

typedef struct loss_info {
    const char *name; /* nerve_loss_name(), the CLI's --loss, model messages */
    int labels;       /* 1: class labels (nerve_batch.labels); 0: target values (y) */
    int elements;     /* 1: the mean is over rows * cols elements; 0: over rows */
    double gscale;    /* gradient of the mean = kernel gradient * gscale / count */
} loss_info;

/* The entry of `loss`, which must be valid (< NERVE_LOSS_COUNT). */
static inline const loss_info *loss_of(nerve_loss loss) {
#define LOSS_INFO_(E, name_, targets, mean, gscale_)                                               \
    [NERVE_LOSS_##E] = {.name = #name_,                                                            \
                        .labels = LOSS_LABELS_##targets,                                           \
                        .elements = LOSS_ELEMENTS_##mean,                                          \
                        .gscale = gscale_},
    static const loss_info info[NERVE_LOSS_COUNT] = {NERVE_LOSS_LIST(LOSS_INFO_)};
#undef LOSS_INFO_
    return &info[loss];
}

/* The count the mean loss divides by, in double (exact: rows and cols are
 * far below 2^26 each): rows * cols or rows. */
static inline double loss_count(nerve_loss loss, size_t rows, size_t cols) {
    return loss_of(loss)->elements ? (double)rows * (double)cols : (double)rows;
}

/* The kernel's `scale` that makes its gradient the gradient of the mean
 * over `rows` rows: gscale / count in double, rounded once to float (what
 * kernels.h tells callers of nerve_loss_<name> to pass). */
static inline float loss_grad_scale(nerve_loss loss, size_t rows, size_t cols) {
    return (float)(loss_of(loss)->gscale / loss_count(loss, rows, cols));
}

/* Runs the kernel of `loss` over rows x cols contiguous outputs `out`, with
 * the targets it takes: y (rows x cols, contiguous) for a values loss,
 * labels (rows) for a labels loss; the other one is not read (may be NULL).
 * grad and row_loss as the kernel's (table.h). */
#define LOSS_TARGET_ARG_values(y, labels) (y)
#define LOSS_TARGET_ARG_labels(y, labels) (labels)
static inline void loss_run(const kernel_table *kt, nerve_loss loss, size_t rows, size_t cols,
                            const float *out, const float *y, const int32_t *labels, float scale,
                            float *grad, float *row_loss) {
    switch (loss) {
#define LOSS_CASE_(E, name, targets, mean, gscale)                                                 \
    case NERVE_LOSS_##E:                                                                           \
        kt->loss_##name(rows, cols, out, LOSS_TARGET_ARG_##targets(y, labels), scale, grad,        \
                        row_loss);                                                                 \
        return;
        NERVE_LOSS_LIST(LOSS_CASE_)
#undef LOSS_CASE_
    default:
        return;
    }
}

#endif
