/* The network's internal representation, shared by src/net/net.c (create, free,
 * accessors), src/net/init.c (initial weights), src/net/forward.c (inference),
 * src/net/train.c (the training step), src/net/epoch.c (epochs, evaluation),
 * src/net/optim.c (optimizers), src/net/plan.c (scratch memory) and
 * src/io/model_read.c / src/io/model_write.c (what a model file saves and restores).
 *
 * Everything a model file needs is in struct nerve_net itself; the scratch
 * memory of inference and training hangs off `plan` (and `packed`) and is
 * never saved.
 *
 * Restoring a saved network (src/io/model_read.c):
 *   1. nerve_net_create(&net, n_layers, sizes, acts, loss, seed): allocates
 *      everything with the layout below (its random weights get overwritten);
 *   2. copy each layer's weights/bias to params + w_off[l] / params + b_off[l];
 *   3. with training state: nerve_net_set_optimizer(net, &opt) (allocates and
 *      zeroes opt_m / opt_v as that optimizer needs), then copy opt_m / opt_v
 *      (same offsets as params), and set step, beta1_pow, beta2_pow, epoch,
 *      rng[], sched and cut. Nothing else is needed to continue training
 *      bit-identically. */
#ifndef NERVE_SRC_NET_INTERNAL_H
#define NERVE_SRC_NET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/net.h"

/* Limits of nerve_net_create, also enforced by the model-file reader
 * (src/io/model_format.h) so every network the library can build can be saved
 * and nothing larger is ever allocated from a file. The width limit keeps
 * every product of two widths (and a weight matrix's size in bytes) far from
 * overflowing; 2^31 parameters are 8 GiB per array. */
#define NET_MAX_LAYERS 4096u
#define NET_MAX_WIDTH  ((uint64_t)1 << 24)
#define NET_MAX_PARAMS ((uint64_t)1 << 31)

struct net_plan; /* training/inference scratch (src/net/train.c); not part of the model */

/* An epoch that the stop flag cut short, so that the next pass continues
 * it bit for bit (src/net/epoch.c). rows == 0: none (every other field 0). */
typedef struct net_cut_epoch {
    uint64_t rows;    /* rows trained: whole batches, 0 < rows < n */
    uint64_t n;       /* the data set's rows */
    uint64_t batch;   /* its minibatch size, capped to n */
    uint64_t rng[4];  /* shuffled: the generator as the epoch began, before
                       * its shuffle (the permutation is drawn again from
                       * it); 0 when not shuffled */
    double loss_sum;  /* sum over its batches of the batch's mean loss * rows */
    uint64_t correct; /* rows its steps classified correctly */
    int shuffle;      /* 0 or 1 */
} net_cut_epoch;

struct nerve_net {
    /* ---- architecture (fixed at creation) ---- */
    size_t n_layers; /* weight layers, >= 1 */
    size_t *sizes;   /* n_layers + 1 widths: sizes[0] input, sizes[n_layers] output */
    nerve_act *acts; /* n_layers activations: layer l computes acts[l](W_l a + b_l) */
    nerve_loss loss;
    uint64_t seed; /* the seed given to nerve_net_create (weights and shuffling) */

    /* ---- parameters ----
     * One 64-byte aligned block `params` of n_alloc floats. Layer l (out =
     * sizes[l+1], in = sizes[l]):
     *   weights  params + w_off[l]: out x in, row-major, contiguous, unpadded
     *            (PyTorch nn.Linear.weight layout), what nerve_net_weights returns;
     *   bias     params + b_off[l]: out floats.
     * Every array starts on a 64-byte boundary; the gaps between arrays are
     * alignment padding that always holds 0 (in params, grads, opt_m, opt_v).
     * grads, opt_m and opt_v have exactly the same layout and offsets. */
    size_t n_params; /* sum over layers of out*in + out (nerve_net_param_count) */
    size_t n_alloc;  /* floats in params / grads / opt_m / opt_v, padding included */
    size_t *w_off;   /* n_layers offsets (in floats) into params */
    size_t *b_off;   /* n_layers offsets (in floats) into params */
    float *params;
    float *grads; /* gradients of the last batch (before the optimizer used them) */

    /* ---- optimizer (nerve_net_set_optimizer resets all of this) ---- */
    nerve_opt opt;    /* validated settings; SGD lr 0.01 until one is set */
    float *opt_m;     /* SGD: momentum buffer (only when momentum != 0, else NULL);
                       * Adam/AdamW: first moment m. Zeroed when set. */
    float *opt_v;     /* Adam/AdamW: second moment v; NULL for SGD. Zeroed when set. */
    uint64_t step;    /* optimizer steps taken since the optimizer was set
                       * (nerve_net_step_count). Adam's t of the next step is
                       * step + 1; SGD's momentum buffer is initialised to the
                       * gradient (PyTorch) when step == 0. */
    double beta1_pow; /* beta1^step and beta2^step, each kept by one multiplication
                       * per step in double (never pow()), 1.0 when step == 0;
                       * Adam's bias corrections are 1 - beta^t. Save them
                       * as they are (recomputing needs the same repeated product). */
    double beta2_pow;

    /* ---- arithmetic of the training step's products (nerve_net_set_precision):
     * saved in model files (an optional section when not fp32) ---- */
    nerve_precision precision;

    /* ---- epochs and shuffling ---- */
    uint64_t epoch;       /* completed nerve_net_train_epoch passes (nerve_net_epoch_count) */
    uint64_t rng[4];      /* xoshiro256** state of the shuffling generator (src/core/rng.h),
                           * seeded from `seed` at creation; advanced by each
                           * shuffled epoch. Save and restore all four words. */
    nerve_schedule sched; /* learning-rate schedule of the epochs (src/net/optim.c) */
    net_cut_epoch cut;    /* an epoch cut short by the stop flag (src/net/epoch.c) */

    /* ---- preprocessing carried by the model (src/net/preprocess.c; model format
     * 2, docs/model-format.md). NULL when absent. ---- */
    float *in_shift, *in_scale;   /* sizes[0] each: x_net = (x - shift) / scale */
    float *out_shift, *out_scale; /* sizes[n_layers] each: y = y_net * scale + shift */
    char **class_names;           /* sizes[n_layers] NUL-terminated names */

    /* ---- scratch, not part of the model ---- */
    struct net_plan *plan; /* NULL until the first forward/training call */
    /* The prepared inference weights (src/net/infer.c, layout in src/net/infer.h):
     * every layer's W^T packed into the micro-kernel's B panels of width
     * packed_nr, packed_cap floats allocated. Valid only while
     * packed_valid != 0; everything that writes the weights clears it (a
     * training step with an update, nerve_net_weights, an epoch rolled
     * back, an MPI update). NULL until nerve_net_prepare_inference or the
     * first nerve_net_forward. */
    float *packed;
    size_t packed_cap, packed_nr;
    int packed_valid;
    /* bf16 training (src/net/train.c): the plan's bf16 copies of every W
     * (wr, wc) equal the current weights, so the next bf16 step need not
     * convert them first: a bf16 step's update writes them block by block
     * as it updates W. Cleared by everything else that writes the weights
     * (as packed_valid: an fp32 update, nerve_net_weights, an epoch rolled
     * back, an MPI update, an update that stored a NaN or Inf) and when the
     * plan's bf16 buffers are allocated. */
    int bf16_w_valid;
    /* Upper bounds on |parameter|, |opt_m| and |opt_v| (src/net/optim.c,
     * optim_bound), valid while bound_valid != 0: what lets
     * nerve_net_train_batch prove its update finite and skip the undo copy.
     * Every successful update replaces them with the magnitudes its kernels
     * stored (amax); everything else that writes parameters or state clears
     * bound_valid (the same places as packed_valid, plus nerve_net_bias,
     * nerve_net_set_optimizer and an update that stored a NaN or Inf), and
     * the next guarded step measures them (optim_bound_prepare). */
    float bound[3];
    int bound_valid;
    /* guarded steps (nerve_net_train_batch, MPI) whose update could not be
     * proven finite and so copied the parameters aside: for tests and
     * diagnosis of the fast path */
    uint64_t guard_copies;
    float guard_g; /* the last guarded step's bound on every |gradient| (train.c) */
    float guard_x; /* ... and its measured max |x| over every layer's input */
};


/* src/net/preprocess.c: frees the preprocessing of a network (nerve_net_free). */
void net_free_preprocessing(nerve_net *net);
/* Checks one class name (1 .. NET_MAX_NAME bytes, no control characters);
 * returns NULL when fine, else what is wrong. */
const char *net_bad_class_name(const char *name, size_t len);
#define NET_MAX_NAME 255u

#endif
