/* nerve: the network (multi-layer perceptron), training and inference.
 *
 * A network is n_layers fully connected layers: a_l = act_l(W_l a_{l-1} + b_l),
 * W_l stored [out x in] row-major (PyTorch nn.Linear.weight layout). Training
 * runs forward, loss, backward and one optimizer step per minibatch, spread
 * over OpenMP threads; results are bit-identical for any thread count and ISA.
 *
 * Thread safety: a nerve_net is not internally locked. Calls that train or
 * change a network need exclusive use of it. nerve_net_forward_const() and the
 * read-only accessors may be called from several threads at once on one
 * network (each call uses caller-provided or per-call scratch); two different
 * networks never interfere. */
#ifndef NERVE_NET_H
#define NERVE_NET_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/errors.h"
#include "nerve/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* nerve_act (the activations), nerve_loss (NERVE_LOSS_MSE: mean over batch
 * and outputs of (out - y)^2; NERVE_LOSS_XENT: softmax cross-entropy on
 * logits, mean over the batch) and nerve_opt_kind (NERVE_OPT_SGD, _ADAM,
 * _ADAMW) are defined in kernels.h, from NERVE_ACT_LIST, NERVE_LOSS_LIST and
 * NERVE_OPT_LIST. */

/* Optimizer settings. nerve_opt_default() gives PyTorch's defaults for a kind:
 * SGD lr 0.01 (momentum 0, no Nesterov, no weight decay); Adam lr 0.001,
 * betas 0.9 / 0.999, eps 1e-8, weight decay 0; AdamW the same with weight
 * decay 0.01. */
typedef struct nerve_opt {
    nerve_opt_kind kind;
    float lr;
    float momentum;     /* SGD */
    int nesterov;       /* SGD, needs momentum > 0 */
    float weight_decay; /* SGD/Adam: added to the gradient; AdamW: decoupled */
    float beta1, beta2, eps;
} nerve_opt;

NERVE_API nerve_opt nerve_opt_default(nerve_opt_kind kind);

typedef struct nerve_net nerve_net;

/* One minibatch: x [n x in]; y [n x out] targets for MSE or labels [n] class
 * indices for cross-entropy (exactly one of them non-NULL). */
typedef struct nerve_batch {
    const float *x;
    const float *y;
    const int32_t *labels;
    size_t n;
} nerve_batch;

NERVE_API const char *nerve_act_name(nerve_act act); /* "relu", ... */
NERVE_API nerve_status nerve_act_from_name(const char *name, nerve_act *out);
NERVE_API const char *nerve_loss_name(nerve_loss loss); /* "mse", "xent" */
NERVE_API nerve_status nerve_loss_from_name(const char *name, nerve_loss *out);
NERVE_API const char *nerve_opt_name(nerve_opt_kind kind); /* "sgd", "adam", "adamw" */
NERVE_API nerve_status nerve_opt_from_name(const char *name, nerve_opt_kind *out);

/* n_layers weight layers; sizes has n_layers + 1 widths (input first); one
 * activation per layer. Weights from `seed` (documented generator, see
 * docs/architecture.md): Glorot-uniform before sigmoid/tanh/identity, He
 * (Kaiming) uniform before the ReLU family; biases zero. */
NERVE_API nerve_status nerve_net_create(nerve_net **out, size_t n_layers, const size_t *sizes,
                                        const nerve_act *acts, nerve_loss loss, uint64_t seed);
NERVE_API void nerve_net_free(nerve_net *net);

NERVE_API size_t nerve_net_layers(const nerve_net *net);
/* Width i (0 = input, n_layers = output). 0 if out of range. */
NERVE_API size_t nerve_net_width(const nerve_net *net, size_t i);
NERVE_API nerve_act nerve_net_activation(const nerve_net *net, size_t layer);
NERVE_API nerve_loss nerve_net_loss(const nerve_net *net);
NERVE_API size_t nerve_net_param_count(const nerve_net *net);

/* The network's own parameters, writable; NULL for a bad layer. A write
 * takes effect at the next call. Ask for the pointer again before writing
 * after any other call on the network: the network keeps data derived from
 * its parameters (the packed inference weights; the magnitude bounds that
 * let nerve_net_train_batch prove its update finite instead of copying the
 * parameters aside), and this call is what marks them stale. */
NERVE_API float *nerve_net_weights(nerve_net *net, size_t layer);
NERVE_API float *nerve_net_bias(nerve_net *net, size_t layer);
/* Gradients of the last batch, before the optimizer used them. */
NERVE_API const float *nerve_net_weight_grad(const nerve_net *net, size_t layer);
NERVE_API const float *nerve_net_bias_grad(const nerve_net *net, size_t layer);

/* Sets the optimizer and resets its state (momentum, moments, step count).
 * NERVE_EINVAL for negative lr/momentum/weight decay, Nesterov without
 * momentum, betas outside [0, 1), eps < 0. */
NERVE_API nerve_status nerve_net_set_optimizer(nerve_net *net, const nerve_opt *opt);
NERVE_API nerve_opt nerve_net_optimizer(const nerve_net *net);
/* Changes only the learning rate, keeping the optimizer state (momentum,
 * moments, step count): for learning-rate schedules. NERVE_EINVAL for a
 * negative or non-finite rate. */
NERVE_API nerve_status nerve_net_set_lr(nerve_net *net, float lr);
NERVE_API uint64_t nerve_net_step_count(const nerve_net *net);

/* Learning-rate schedule of nerve_net_train_epoch (and the MPI epoch), kept
 * with the training state in model files: epoch e (0-based, the
 * nerve_net_epoch_count() before it) trains at nerve_net_epoch_lr(net, e),
 * the optimizer's lr scaled by the schedule and held for the whole epoch;
 * nerve_net_optimizer() still reports the unscaled base rate, which is what
 * a model file keeps. nerve_net_train_batch ignores the schedule. */
typedef enum nerve_schedule_kind {
    NERVE_SCHEDULE_CONSTANT = 0, /* every epoch at lr (the default) */
    /* cosine annealing, lr * (1 + cos(pi * e / epochs)) / 2, computed in
     * double and rounded to float once (SGDR, Loshchilov & Hutter 2017,
     * without restarts); epochs at or past the horizon train at rate 0 */
    NERVE_SCHEDULE_COSINE = 1,
    NERVE_SCHEDULE_COUNT
} nerve_schedule_kind;

typedef struct nerve_schedule {
    nerve_schedule_kind kind;
    /* the run's length in epochs: the cosine's horizon (>= 1); with
     * constant 0 (unknown) or the planned length, only recorded */
    uint64_t epochs;
} nerve_schedule;

/* NERVE_EINVAL for an unknown kind or a cosine horizon of 0. A new network
 * has {NERVE_SCHEDULE_CONSTANT, 0}. */
NERVE_API nerve_status nerve_net_set_schedule(nerve_net *net, const nerve_schedule *schedule);
NERVE_API nerve_schedule nerve_net_schedule(const nerve_net *net);
/* The rate epoch `epoch` (0-based) trains at under the current schedule. */
NERVE_API float nerve_net_epoch_lr(const nerve_net *net, uint64_t epoch);
/* Arithmetic of the training step's products. FP32 (the default): every
 * product in fp32. BF16 (mixed precision): the master weights, biases,
 * gradients and optimizer state stay fp32, but the operands of the three
 * products of every layer (forward X W^T, backward-data dZ W, weight
 * gradient dZ^T X) are rounded to bfloat16 (weights once per step,
 * activations and gradients as they are produced: round to nearest even,
 * vcvtne2ps2bf16's rules) and multiplied with fp32 accumulation exactly as
 * AVX512_BF16's vdpbf16ps does (simd/bf16.h), on that instruction where the
 * CPU has it and by an exact, slower emulation elsewhere: bit-identical
 * across thread counts and kernel tables, like FP32. Bias gradients, the
 * loss and the optimizer stay fp32. Inference (nerve_net_forward*,
 * evaluation) is always fp32. A model file records a BF16 setting (an
 * optional section: any reader loads the model) so that training resumes
 * as it ran. NERVE_EINVAL for a value outside the enum. */
typedef enum nerve_precision {
    NERVE_PRECISION_FP32 = 0,
    NERVE_PRECISION_BF16 = 1,
    NERVE_PRECISION_COUNT
} nerve_precision;
NERVE_API nerve_status nerve_net_set_precision(nerve_net *net, nerve_precision precision);
NERVE_API nerve_precision nerve_net_precision(const nerve_net *net);
NERVE_API const char *nerve_precision_name(nerve_precision precision); /* "fp32", "bf16" */
NERVE_API nerve_status nerve_precision_from_name(const char *name, nerve_precision *out);

/* Forward, loss, backward and one optimizer step. *loss (may be NULL) gets
 * the batch's mean loss. NERVE_ENUMERIC if the loss is NaN or Inf, or if
 * the update would store a NaN or Inf in a parameter or in the optimizer
 * state (e.g. Adam with eps 0 where a gradient is 0); the message names the
 * step, and parameters, optimizer state and step count are then left as
 * before the step (the gradients are those of the batch). To make that
 * possible the step first proves the update finite from the largest
 * magnitudes of the gradient, parameters and state; only when it cannot
 * (non-finite or huge values, Adam with eps 0) are the old values copied
 * aside before the update (docs/performance.md, "Non-finite updates").
 * nerve_net_train_epoch restores a snapshot per epoch instead. */
NERVE_API nerve_status nerve_net_train_batch(nerve_net *net, const nerve_batch *batch, float *loss);
/* Forward, loss and backward only: fills the gradients, no step. */
NERVE_API nerve_status nerve_net_gradients(nerve_net *net, const nerve_batch *batch, float *loss);

/* Inference of n samples x [n x in] into out [n x out] (after the last
 * activation; for cross-entropy networks the raw logits).
 * Uses the network's scratch: not concurrent with other calls on `net`.
 *
 * Batch invariance: a sample's outputs are the same bits whatever batch it
 * arrives in (alone, n == 1, or at any row of any n), whatever the thread
 * count and whatever the ISA, in nerve_net_forward, nerve_net_forward_const
 * and nerve_net_evaluate alike: every output of every layer is one fused
 * multiply-add chain over that layer's inputs in increasing order, then the
 * bias, then the activation (docs/architecture.md, "Reproducibility").
 * nerve_net_forward keeps a copy of the weights packed for the active
 * kernel table (about as much memory as the weights: each layer's output
 * count rounded up to the table's panel width, 32 with AVX-512, 16 with
 * AVX2; docs/performance.md, "Inference"), built on its first call after
 * the weights changed and kept until the network is freed. (Training
 * steps make no such promise: a training step of one sample sums in
 * another order than a batch.) */
NERVE_API nerve_status nerve_net_forward(nerve_net *net, const float *x, size_t n, float *out);
/* Builds that packed copy now, for the active kernel table, so that calls
 * of nerve_net_forward_const (which never modifies the network) take the
 * fast path; without it, or after nerve_set_max_isa() picked a table of
 * another panel width, they compute the same bits more slowly. Undone by
 * every change of the weights: a training step, or nerve_net_weights()
 * (which assumes the caller writes through the pointer: take it again after
 * writing, or call this again, before sharing the network). Writes through
 * nerve_net_bias() keep it (biases are read in place). NERVE_ENOMEM when
 * the copy cannot be allocated (the network then stays unprepared). */
NERVE_API nerve_status nerve_net_prepare_inference(nerve_net *net);
/* The same as nerve_net_forward without touching the network: safe from
 * several threads at once. It runs on the calling thread only (no OpenMP
 * team), and gives the same bits as nerve_net_forward. scratch: NULL
 * (allocated per call) or nerve_net_forward_scratch_floats(net, n) floats
 * (any alignment). */
NERVE_API size_t nerve_net_forward_scratch_floats(const nerve_net *net, size_t n);
NERVE_API nerve_status nerve_net_forward_const(const nerve_net *net, const float *x, size_t n,
                                               float *out, float *scratch);

/* ---- preprocessing carried by the model (model format 2) ----------------
 *
 * A model can carry the transform that turns raw features into the
 * network's inputs and, for regression, the one that turns the network's
 * outputs back into the targets' units, so that a saved model is a complete
 * artifact: raw features in, right answer out. Per feature j and output k:
 *     input:   x_net[j] = (x[j] - in_shift[j]) / in_scale[j]
 *     output:  y[k]     = y_net[k] * out_scale[k] + out_shift[k]
 * each one IEEE float operation in this order (never fused), so the result
 * is the same bits on every machine. Standardization stores the mean and
 * the standard deviation; a fixed pixel scale stores shift 0 and the
 * largest pixel value (16 for digits, 255 for IDX).
 *
 * Why a separate entry point rather than inside nerve_net_forward*: forward,
 * training and nerve_net_evaluate work in the network's own units, the ones
 * the optimizer sees (and that programs written for 0.1 and the PyTorch
 * test vectors use); nerve_net_predict() is the one call for raw data.
 * Training data go through nerve_net_transform_inputs(), the very code that
 * nerve_net_predict() applies, so a prediction made during training and
 * one made by the reloaded model are bit-identical. */

/* Sets (copies) or, with both NULL, removes the input transform:
 * nerve_net_width(net, 0) values each; shifts finite, scales finite and
 * > 0. NERVE_EINVAL otherwise. */
NERVE_API nerve_status nerve_net_set_input_transform(nerve_net *net, const float *shift,
                                                     const float *scale);
/* The same for the output transform (output-width values each); only for
 * regression: networks whose loss takes target values (mse), not labels. */
NERVE_API nerve_status nerve_net_set_output_transform(nerve_net *net, const float *shift,
                                                      const float *scale);
NERVE_API int nerve_net_has_input_transform(const nerve_net *net);
NERVE_API int nerve_net_has_output_transform(const nerve_net *net);
/* The stored arrays (read-only), NULL when there is no such transform. */
NERVE_API const float *nerve_net_input_shift(const nerve_net *net);
NERVE_API const float *nerve_net_input_scale(const nerve_net *net);
NERVE_API const float *nerve_net_output_shift(const nerve_net *net);
NERVE_API const float *nerve_net_output_scale(const nerve_net *net);

/* Raw features x [n x in] to network inputs x_net [n x in] (x_net may be
 * x); a copy when there is no input transform. NERVE_EINVAL when a value
 * comes out non-finite (naming the row and feature). */
NERVE_API nerve_status nerve_net_transform_inputs(const nerve_net *net, const float *x, size_t n,
                                                  float *x_net);
/* Targets y [n x out] in their units to the network's: (y - out_shift) /
 * out_scale (y_net may be y); a copy without an output transform. */
NERVE_API nerve_status nerve_net_transform_targets(const nerve_net *net, const float *y, size_t n,
                                                   float *y_net);
/* Prediction from raw features: input transform, forward pass, output
 * transform. out [n x out]: logits for cross-entropy networks, outputs in
 * the targets' units for regression. Read-only on `net`, safe from several
 * threads at once; allocates per call. It runs nerve_net_forward_const, so
 * a network that serves many small calls should be prepared once with
 * nerve_net_prepare_inference: then one-sample and small-batch calls take
 * the faster transposed-weights paths (the same bits). Preparing copies
 * the weights, which a single call does not win back. With no transforms
 * it equals nerve_net_forward bit for bit. */
NERVE_API nerve_status nerve_net_predict(const nerve_net *net, const float *x, size_t n,
                                         float *out);

/* Class names, one per output (e.g. "setosa"), stored in the model; NULL
 * removes them. Each 1 .. 255 bytes without control characters, all
 * distinct; NERVE_EINVAL otherwise. */
NERVE_API nerve_status nerve_net_set_class_names(nerve_net *net, const char *const *names);
/* Name of output k, or NULL when the model has no names (or k is out of range). */
NERVE_API const char *nerve_net_class_name(const nerve_net *net, size_t k);

/* ---- epoch-level helpers over an in-memory dataset ----------------------- */

/* A dataset in memory: x [n x in], and y [n x out] or labels [n]. */
typedef struct nerve_dataset {
    const float *x;
    const float *y;
    const int32_t *labels;
    size_t n, in, out; /* out: target width (mse) or number of classes (xent) */
} nerve_dataset;

typedef struct nerve_eval {
    double loss;     /* mean loss */
    double accuracy; /* classification: fraction correct; regression: 0 */
    size_t n;
} nerve_eval;

typedef void (*nerve_progress_fn)(void *user, size_t done, size_t total, float running_loss);

/* The stop flag's type: C11's atomic_int, so that another thread (or a
 * signal handler: atomic_int is lock-free wherever nerve builds) may set it
 * while an epoch runs without a data race; the library reads it with an
 * atomic load between minibatches. Same size, alignment and representation
 * as int on every supported ABI. C++ has no _Atomic before C++23: there it
 * is int, to be set with std::atomic_ref<int> or __atomic_store_n. */
#ifdef __cplusplus
typedef int nerve_stop_flag;
#else
typedef _Atomic int nerve_stop_flag;
#endif

typedef struct nerve_epoch_opts {
    size_t batch_size;          /* default 32 when 0 */
    int shuffle;                /* shuffle with the network's generator (seeded) */
    nerve_progress_fn progress; /* called after each batch, may be NULL */
    void *progress_user;
    const nerve_stop_flag *stop; /* if non-NULL and nonzero, stop after the current batch
                                  * (until 0.1: volatile int *, a data race when set
                                  * from another thread) */
} nerve_epoch_opts;

/* One pass over `data` in minibatches, at the schedule's rate for this epoch
 * (nerve_net_epoch_lr). *result gets the mean training loss and accuracy over
 * the epoch's batches so far (the outputs of each step's forward pass).
 * opts may be NULL: batches of 32 in order.
 *
 * An epoch cut short by `stop` is not counted by nerve_net_epoch_count(); the
 * network remembers where it stopped (nerve_net_epoch_progress, and model
 * files saved with training state), and the next call continues that epoch:
 * the same order (a shuffled epoch's permutation drawn again from the
 * generator state it started from), the remaining batches, the same rate and
 * the running loss and accuracy, so a cut and continued epoch gives the same
 * bits as one never cut. The continuing call must pass the same data, batch
 * size and shuffle flag: NERVE_EINVAL naming what differs (the row count
 * stands for the data), and nothing changes; nerve_net_discard_epoch() gives
 * up the cut epoch instead. A failure after steps were taken (NERVE_ENUMERIC)
 * gives up the epoch in progress too: the next call starts a new one. */
NERVE_API nerve_status nerve_net_train_epoch(nerve_net *net, const nerve_dataset *data,
                                             const nerve_epoch_opts *opts, nerve_eval *result);

/* Where the network stands inside an epoch. */
typedef struct nerve_epoch_progress {
    uint64_t rows;  /* rows of the epoch in progress already trained; 0 at an epoch boundary */
    uint64_t n;     /* the rows of its data set (0 when rows is 0) */
    uint64_t batch; /* its minibatch size (after capping to n) */
    int shuffle;    /* whether it is shuffled */
} nerve_epoch_progress;
NERVE_API nerve_epoch_progress nerve_net_epoch_progress(const nerve_net *net);
/* Gives up an epoch cut short: the next nerve_net_train_epoch starts a new
 * one (with a new shuffle); the steps the cut epoch took stay applied. */
NERVE_API void nerve_net_discard_epoch(nerve_net *net);
/* Mean loss and accuracy over `data` (forward only, in batches).
 * For both: classification data may have fewer classes than the network
 * has outputs (data->out <= outputs; every label < outputs); regression
 * targets must match the outputs. */
NERVE_API nerve_status nerve_net_evaluate(nerve_net *net, const nerve_dataset *data,
                                          nerve_eval *result);
NERVE_API uint64_t nerve_net_epoch_count(const nerve_net *net);

/* ---- model files (docs/model-format.md) -------------------------------- */

/* Atomically writes the model (and, if with_training_state, the optimizer
 * state, step/epoch counters, the shuffling generator, the learning-rate
 * schedule and the position inside a cut epoch) to `path`: a
 * temporary file in the same directory, fsync, rename, then a best-effort
 * fsync of the directory (a failure there, e.g. a directory that may be
 * written but not read, is not reported: the new file is in place). Only a
 * regular file is replaced: NERVE_EIO, before anything is written, for a
 * FIFO, device, socket or directory at `path`; a symbolic link is followed
 * and its target replaced in the target's directory. NERVE_ENUMERIC if a
 * value is NaN or infinite (the reader refuses such files). On any failure
 * the old file is intact. */
NERVE_API nerve_status nerve_net_save(const nerve_net *net, const char *path,
                                      int with_training_state);
/* Reads and validates a model file. NERVE_EFORMAT with a precise message for
 * a damaged, truncated or hostile file; NERVE_EIO if it cannot be read. */
NERVE_API nerve_status nerve_net_load(nerve_net **out, const char *path);

#ifdef __cplusplus
}
#endif
#endif
