/* nerve: the public kernel library (row-major, float32).
 *
 * Everything a training loop needs, callable from another framework: GEMM
 * and GEMV, activations and their derivatives, softmax, the MSE and softmax
 * cross-entropy losses, PyTorch's SGD / Adam / AdamW updates over caller-owned
 * arrays, the fused linear layer that nerve_net itself runs, and the BLAS-1
 * helpers (column sums, sum, dot, axpby). docs/api.md has examples.
 *
 * Common rules (each function states its exceptions):
 *   - Every call runs on the active kernel table (cpu.h: nerve_isa_active,
 *     nerve_set_max_isa, NERVE_MAX_ISA) and validates its arguments: NULL
 *     pointers, unknown enum values, sizes whose byte count overflows size_t,
 *     leading dimensions smaller than the row width, labels out of range and
 *     bad hyper-parameters return NERVE_EINVAL with a message in
 *     nerve_last_error(); outputs are then left untouched. Nothing aborts.
 *   - A pointer may be NULL when the array it points to has no elements
 *     (e.g. n == 0), unless the function says otherwise.
 *   - Results are bit-identical for every ISA and for every thread count
 *     (docs/architecture.md, "Reproducibility"); the summation order of each
 *     function is stated below and depends on the sizes alone.
 *   - No alignment is required anywhere (aligned data is faster).
 *   - Aliasing: outputs must not overlap inputs or each other, except where
 *     a function allows an exact alias (the same pointer and leading
 *     dimension), e.g. in-place activations.
 *
 * Threads: a large call is split across OpenMP threads (by elements, rows or
 * columns, never inside a sum, so the split does not change a bit). The
 * number of threads is nerve_get_num_threads(): the value given to
 * nerve_set_num_threads(), or OpenMP's default (omp_get_max_threads(),
 * OMP_NUM_THREADS) when it was never set or set to 0. The setting applies to
 * the whole library, nerve_net training and inference included. A call made
 * from inside the caller's own OpenMP parallel region runs entirely on the
 * calling thread (no nested teams, no oversubscription), so a framework can
 * call the kernels from its own worker threads. Small calls stay on one
 * thread. The kernels keep no state between calls except per-thread caches
 * (one reusable GEMM packing buffer, Adam's last beta^step) that never change
 * a result; concurrent calls on different data are safe. */
#ifndef NERVE_KERNELS_H
#define NERVE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- activations ---------------------------------------------------------
 * One list, X(ENUM, name), generates the public enum below, the names of
 * nerve_act_name(), the kernel-table fields and the generic kernel_table
 * (simd/generic/act.c), the self-test checks and the benchmark
 * registrations. Definitions (PyTorch's):
 *   identity   y = x
 *   sigmoid    y = 1 / (1 + e^-x)
 *   tanh       y = tanh x
 *   relu       y = max(x, 0)
 *   leaky_relu y = x > 0 ? x : 0.01 x
 *   elu        y = x > 0 ? x : e^x - 1                 (alpha 1)
 *   gelu       y = x Phi(x)                            (exact erf form)
 *   silu       y = x sigmoid(x)
 *   softplus   y = x > 20 ? x : log(1 + e^x)           (beta 1, threshold 20)
 * Accuracy: docs/math.md. Appending to the list is ABI-compatible; the order
 * is part of the model file format (docs/model-format.md). */
#define NERVE_ACT_LIST(X)                                                                          \
    X(IDENTITY, identity)                                                                          \
    X(SIGMOID, sigmoid)                                                                            \
    X(TANH, tanh)                                                                                  \
    X(RELU, relu)                                                                                  \
    X(LEAKY_RELU, leaky_relu)                                                                      \
    X(ELU, elu)                                                                                    \
    X(GELU, gelu)                                                                                  \
    X(SILU, silu)                                                                                  \
    X(SOFTPLUS, softplus)

typedef enum nerve_act {
#define NERVE_ACT_ENUM_(E, name) NERVE_ACT_##E,
    NERVE_ACT_LIST(NERVE_ACT_ENUM_)
#undef NERVE_ACT_ENUM_
        NERVE_ACT_COUNT
} nerve_act;

/** y = f(x) over n elements.
 *  @param act  the activation (NERVE_EINVAL when not one of nerve_act)
 *  @param x    n inputs
 *  @param y    n outputs; y == x (in place) is allowed, other overlap is not */
NERVE_API nerve_status nerve_act_forward(nerve_act act, size_t n, const float *x, float *y);

/** dx = dy * f'(x) over n elements, where y = f(x) is the forward output.
 *  sigmoid and tanh compute the derivative from y (PyTorch's
 *  (dy * (1 - y)) * y and dy * (1 - y^2)); the others from x. Both x and y
 *  must be given (the pair that nerve_act_forward produced).
 *  @param dx  n outputs; dx == dy (in place) is allowed, other overlap not */
NERVE_API nerve_status nerve_act_backward(nerve_act act, size_t n, const float *x, const float *y,
                                          const float *dy, float *dx);

/** Row-wise softmax: y[i*ldy + j] = e^(x_ij - m_i) / s_i over rows x cols,
 *  m_i the row maximum, s_i = sum_j e^(x_ij - m_i) (16 lane-wise partial sums
 *  combined by a fixed tree). ldx, ldy >= cols. y == x with ldy == ldx (in
 *  place) is allowed. Threads split rows. */
NERVE_API nerve_status nerve_softmax(size_t rows, size_t cols, const float *x, size_t ldx, float *y,
                                     size_t ldy);

/* ---- losses ----------------------------------------------------------------
 * One list, X(ENUM, name, targets, mean, gscale), generates the public enum
 * below, the names of nerve_loss_name(), the kernel-table fields and the
 * generic kernels (simd/generic/loss.c: f32_loss_<name>), how nerve_net
 * checks, averages and differentiates a loss, and the test and benchmark
 * registrations. Columns:
 *   targets  values: rows x cols target floats (nerve_batch.y);
 *            labels: one class index in [0, cols) per row (nerve_batch.labels),
 *            and then at least 2 outputs
 *   mean     the mean loss divides the sum of the per-row losses by the
 *            number of elements (rows * cols) or of rows
 *   gscale   the gradient of the mean is the kernel's gradient times
 *            grad_scale = gscale / that count (in double, rounded once)
 * Appending to the list is ABI-compatible; the order is part of the model
 * file format (docs/model-format.md). */
#define NERVE_LOSS_LIST(X)                                                                         \
    X(MSE, mse, values, elements, 2)                                                               \
    X(XENT, xent, labels, rows, 1)

typedef enum nerve_loss {
#define NERVE_LOSS_ENUM_(E, name, targets, mean, gscale) NERVE_LOSS_##E,
    NERVE_LOSS_LIST(NERVE_LOSS_ENUM_)
#undef NERVE_LOSS_ENUM_
        NERVE_LOSS_COUNT
} nerve_loss;

/* Both losses work on rows x cols outputs (one sample per row, leading
 * dimensions ld* >= cols), rows >= 1, cols >= 1. Per-row losses are computed
 * independently and the mean is their sum, in double, in row order, divided
 * in double and rounded once to float, exactly as nerve_net reports it, so
 * it does not depend on the thread count. Optional outputs may be NULL:
 *   grad      rows x cols gradient times grad_scale (see each loss); MSE
 *             allows grad == out with ldg == ldo (in place), cross-entropy
 *             does not (grad must not overlap logits)
 *   row_loss  rows per-sample losses
 *   mean      the mean loss (as defined by each loss) */

/** Mean squared error, mean over all rows*cols elements of (out - target)^2.
 *  row_loss[i] = sum_j (o_ij - t_ij)^2 (fma chain in 16 lanes, fixed tree);
 *  grad = grad_scale * (o - t): pass grad_scale = 2 / (rows * cols) (computed
 *  in double, rounded to float, as nerve_net does) for the gradient of the
 *  mean. */
NERVE_API nerve_status nerve_loss_mse(size_t rows, size_t cols, const float *out, size_t ldo,
                                      const float *target, size_t ldt, float grad_scale,
                                      float *grad, size_t ldg, float *row_loss, float *mean);

/** Softmax cross-entropy on logits, mean over rows.
 *  row_loss[i] = log(sum_j e^(o_ij - m_i)) - (o_i,label_i - m_i);
 *  grad = grad_scale * (softmax(o) - onehot(label)): pass
 *  grad_scale = 1 / rows (in double, rounded to float) for the gradient of
 *  the mean. labels: rows class indices in [0, cols) (NERVE_EINVAL naming the
 *  first bad row otherwise). */
NERVE_API nerve_status nerve_loss_xent(size_t rows, size_t cols, const float *logits, size_t ldl,
                                       const int32_t *labels, float grad_scale, float *grad,
                                       size_t ldg, float *row_loss, float *mean);

/* ---- optimizer updates -------------------------------------------------------
 * One list, X(ENUM, name, kernel, lr, weight_decay), generates the optimizer
 * kinds below (nerve_net's optimizers, net.h), the names of nerve_opt_name(),
 * the defaults of nerve_opt_default(), the update kernel each kind runs and
 * the test and benchmark registrations. Columns:
 *   kernel  the update kernel (and the family of settings: src/net/optim.c)
 *           that performs the step: sgd, or adam (AdamW is Adam with
 *           decoupled weight decay); nerve_<name>_update below runs it
 *   lr, weight_decay  PyTorch's defaults (torch.optim.SGD / Adam / AdamW)
 * Appending to the list is ABI-compatible; the order is part of the model
 * file format (docs/model-format.md). */
#define NERVE_OPT_LIST(X)                                                                          \
    X(SGD, sgd, sgd, 0.01f, 0.0f)                                                                  \
    X(ADAM, adam, adam, 0.001f, 0.0f)                                                              \
    X(ADAMW, adamw, adam, 0.001f, 0.01f)

typedef enum nerve_opt_kind {
#define NERVE_OPT_ENUM_(E, name, kernel, lr, weight_decay) NERVE_OPT_##E,
    NERVE_OPT_LIST(NERVE_OPT_ENUM_)
#undef NERVE_OPT_ENUM_
        NERVE_OPT_COUNT
} nerve_opt_kind;

/* One step over n parameters w with gradient g and the state arrays the
 * caller keeps (zero-initialised by the caller before step 1, never touched
 * otherwise), exactly torch.optim's single-tensor definitions. `step` is the
 * 1-based number of this step (PyTorch's state['step'] after its increment):
 * step 1 initialises SGD's momentum buffer, Adam's bias corrections are
 * 1 - beta^step with beta^step the product of `step` factors beta in double,
 * as nerve_net computes it (cached per thread, so consecutive steps cost
 * O(1)). The arrays must not overlap. Elementwise: threads split elements.
 * Hyper-parameters: lr, weight_decay, momentum, eps finite and >= 0;
 * dampening finite; betas in [0, 1); step >= 1; else NERVE_EINVAL.
 * An update that stores a NaN or Inf anywhere (in w or the state) returns
 * NERVE_ENUMERIC; the arrays then hold the update as computed (keep a copy
 * if the caller wants to roll back; nerve_net does). */

/** SGD (torch.optim.SGD), per element:
 *    g = g + weight_decay * w                        (weight_decay != 0)
 *    b = step == 1 ? g : momentum * b + (1 - dampening) * g  (momentum != 0)
 *    u = nesterov ? g + momentum * b : b             (momentum != 0; else u = g)
 *    w = w - lr * u
 *  (a*b + c written as one fma). momentum_buf: n floats, may be NULL when
 *  momentum == 0. Nesterov needs momentum > 0 and dampening == 0. */
typedef struct nerve_sgd_params {
    float lr, momentum, dampening, weight_decay;
    int nesterov; /* 0 or 1 */
} nerve_sgd_params;
NERVE_API nerve_status nerve_sgd_update(size_t n, float *w, const float *g, float *momentum_buf,
                                        const nerve_sgd_params *p, uint64_t step);

/** Adam and AdamW (torch.optim.Adam / AdamW, amsgrad off), per element:
 *    AdamW: w = w * (1 - lr * weight_decay)   Adam: g = g + weight_decay * w
 *    m = m + (1 - beta1) (g - m)
 *    v = beta2 v + (1 - beta2) g g
 *    w = w - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *  with t = step; m and v n floats each (first and second moments). */
typedef struct nerve_adam_params {
    float lr, beta1, beta2, eps, weight_decay;
} nerve_adam_params;
NERVE_API nerve_status nerve_adam_update(size_t n, float *w, const float *g, float *m, float *v,
                                         const nerve_adam_params *p, uint64_t step);
NERVE_API nerve_status nerve_adamw_update(size_t n, float *w, const float *g, float *m, float *v,
                                          const nerve_adam_params *p, uint64_t step);

/* ---- the fused linear layer ---------------------------------------------------
 * The code nerve_net runs, layer by layer. Layout as PyTorch's nn.Linear:
 * X [n x in], W [out x in], b [out], Z and Y [n x out], all row-major and
 * contiguous. n, in, out may be 0. */

/** Forward: Z = X W^T + b, Y = act(Z).
 *  Rounding: Z(i,o) = fl(chain + b[o]), chain the fma chain over k = 0..in-1
 *  from 0 (n == 1: the 16-lane dot with a fixed tree instead, as nerve_net
 *  computes a batch of one); then Y = nerve_act_forward(act, Z).
 *  @param b  out biases, or NULL for none
 *  @param z  n x out pre-activations to keep for backward, or NULL: then Y is
 *            computed in place and Z is not kept (fine for identity, whose
 *            backward needs neither)
 *  @param y  n x out outputs; must not overlap x, w, b or z */
NERVE_API nerve_status nerve_linear_forward(size_t n, size_t in, size_t out, const float *x,
                                            const float *w, const float *b, nerve_act act, float *z,
                                            float *y);

/** Backward, given dZ = dL/dZ of this layer (n x out; for the top layer
 *  nerve_act_backward of the loss gradient):
 *    db (+)= column sums of dZ        (one chain of additions down each column)
 *    dW (+)= dZ^T X                   (one fma chain over the n rows)
 *    dX   = dZ W                      (one fma chain over the out columns)
 *  and, when prev_act is not NERVE_ACT_IDENTITY, dX is multiplied in the same
 *  pass by the previous layer's activation derivative,
 *  dX = nerve_act_backward(prev_act, prev_z, prev_y, dZ W): the previous
 *  layer's dZ, ready for its own backward call.
 *  @param accumulate  1: add into dw and db (the chain continues from them);
 *                     0: overwrite (they are never read)
 *  @param dw, db, dx  each may be NULL (not computed)
 *  @param prev_z, prev_y  n x in, the previous layer's Z and Y (needed only
 *                     when dx != NULL and prev_act != identity)
 *  dw, db, dx must not overlap each other or any input. */
NERVE_API nerve_status nerve_linear_backward(size_t n, size_t in, size_t out, const float *x,
                                             const float *w, const float *dz, float *dw, float *db,
                                             int accumulate, nerve_act prev_act,
                                             const float *prev_z, const float *prev_y, float *dx);

/* ---- BLAS-1 helpers -------------------------------------------------------------- */

/** y[j] = (accumulate ? y[j] : 0) + sum_i x[i*ldx + j] over rows x cols
 *  (ldx >= cols): one sequential chain of additions down each column, from
 *  +0 when not accumulating (then y is never read). Bias gradients. Threads
 *  split columns. */
NERVE_API nerve_status nerve_colsum(size_t rows, size_t cols, const float *x, size_t ldx, float *y,
                                    int accumulate);

/** *result = sum of x[0..n) and sum of x[i] * y[i]. Order: the array is cut
 *  into fixed blocks of NERVE_REDUCE_BLOCK elements (the last one shorter);
 *  each block is summed with four 16-lane accumulators and a fixed tree
 *  (simd/table.h), and the block sums are added in block order, in float.
 *  Threads take whole blocks, so any thread count gives the same bits. */
#define NERVE_REDUCE_BLOCK 65536
NERVE_API nerve_status nerve_sum(size_t n, const float *x, float *result);
NERVE_API nerve_status nerve_dot(size_t n, const float *x, const float *y, float *result);

/** y = alpha * x + beta * y, elementwise: beta == 0 gives alpha * x and never
 *  reads y; otherwise fma(beta, y, alpha * x). y == x is allowed. */
NERVE_API nerve_status nerve_axpby(size_t n, float alpha, const float *x, float beta, float *y);

/* ---- GEMM ------------------------------------------------------------------------ */

typedef enum nerve_transpose { NERVE_NO_TRANS = 0, NERVE_TRANS = 1 } nerve_transpose;

/* C = alpha * op(A) op(B) + beta * C, with op(A) m x k, op(B) k x n, C m x n.
 * A is m x k (lda >= k) when ta == NERVE_NO_TRANS, else k x m (lda >= m);
 * likewise B. BLAS semantics: beta == 0 never reads C (NaN there does not
 * leak), k == 0 gives C = beta * C, m == 0 or n == 0 does nothing.
 *
 * Rounding, exactly: acc = fma chain over k starting from 0; then
 *   alpha == 1, beta == 1 : the chain starts from C instead ("accumulate")
 *   beta == 0             : C = alpha * acc
 *   otherwise             : C = fma(beta, C, alpha * acc)                    */
NERVE_API nerve_status nerve_sgemm(nerve_transpose ta, nerve_transpose tb, size_t m, size_t n,
                                   size_t k, float alpha, const float *a, size_t lda,
                                   const float *b, size_t ldb, float beta, float *c, size_t ldc);

/* y = alpha * op(A) x + beta * y. A is m x n (lda >= n). With NERVE_NO_TRANS,
 * x has n elements and y has m; with NERVE_TRANS, x has m and y has n.
 * beta == 0 never reads y. */
NERVE_API nerve_status nerve_sgemv(nerve_transpose ta, size_t m, size_t n, float alpha,
                                   const float *a, size_t lda, const float *x, float beta,
                                   float *y);

/* ---- threads ------------------------------------------------------------------------ */

/** Threads the library uses for one call from outside a parallel region:
 *  nthreads >= 1, or 0 to follow OpenMP's default again. NERVE_EINVAL for a
 *  negative value. Not to be called while other threads run nerve calls. */
NERVE_API nerve_status nerve_set_num_threads(int nthreads);
/** The current thread count (>= 1): the set value, or omp_get_max_threads(). */
NERVE_API int nerve_get_num_threads(void);

#ifdef __cplusplus
}
#endif
#endif
