/* The minibatches of one training pass over an in-memory data set: the one
 * loop that nerve_net_train_epoch, its replay after a failed update
 * (src/net/epoch.c) and nerve_net_train_epoch_mpi (src/mpi/mpi.c) all walk, so
 * that they cut, order and gather the same rows (the replay and the MPI
 * tests depend on that, bit for bit).
 *
 * Batch k of a pass is rows [k bs, min((k + 1) bs, n)) of the pass's order:
 * the data's own, or one shuffle drawn with the network's generator
 * (rng_shuffle). Of each batch the iterator hands out one part, rows
 * split_range(rows, 1, part, parts) of it: the MPI rank's shard, or the
 * whole batch (part 0 of 1). A shuffled pass gathers the part's rows into
 * buffers of its own; an ordered one points into the data. */
#ifndef NERVE_SRC_BATCHES_H
#define NERVE_SRC_BATCHES_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/net.h"

/* nerve_epoch_opts.batch_size 0 */
#define BATCHES_DEFAULT_SIZE 32

typedef struct epoch_batches {
    const nerve_dataset *data;
    size_t n, bs;       /* rows of the data; rows per batch, 1 <= bs <= n */
    size_t part, parts; /* this part of each batch */
    size_t *perm;       /* the shuffled order, or NULL (the data's order) */
    float *bx, *by;     /* shuffled: the part's gathered inputs and targets */
    int32_t *bl;        /* ... or labels */
    size_t next;        /* first row of the next batch */
} epoch_batches;

/* A pass over data (validated by the caller: n >= 1, x, and y or labels)
 * in batches of batch_size rows (0: BATCHES_DEFAULT_SIZE; more than n: n),
 * handing out part `part` of `parts` (>= 1) of each. With shuffle, the
 * permutation and gather buffers are allocated here (NERVE_ENOMEM, message
 * naming fn, and nothing to free) and perm holds the identity; the
 * shuffle itself is drawn into perm by epoch_begin (net_plan.h), which
 * knows whether a cut epoch continues. After batches_init, whatever it returned, or when
 * zero-initialised, *it may be given to batches_free. */
nerve_status batches_init(epoch_batches *it, const char *fn, const nerve_dataset *data,
                          size_t batch_size, int shuffle, size_t part, size_t parts);
/* The next batch: 0 when the pass is over; else 1, *first and *rows its
 * first row and size in the pass, *b this part of it (b->n may be 0 when
 * a batch has fewer rows than parts). b points into the data or into the
 * iterator's buffers, valid until the next call. */
int batches_next(epoch_batches *it, nerve_batch *b, size_t *first, size_t *rows);
/* The next batch starts at `row` (a multiple of the batch size: 0, or where a
 * cut epoch stopped), in the same order: the start of a continued epoch and
 * the replay. */
void batches_seek(epoch_batches *it, size_t row);
void batches_free(epoch_batches *it);

#endif
