/* nerve over MPI: synchronous data-parallel training (optional; built when
 * CMake finds MPI, NERVE_WITH_MPI). Link libnerve_mpi (CMake target
 * nerve::mpi), which brings libnerve (shared) and MPI; libnerve itself never
 * depends on MPI. A program that already uses MPI hands nerve its
 * communicator; nerve never calls MPI_Init or MPI_Finalize.
 *
 * Every rank holds the same network (same seed, or the same file) and the
 * same data set. Each global minibatch of `opts->batch_size` rows (drawn
 * from the network's own seeded shuffle, the same on every rank) is split
 * into contiguous row shards, rank r taking rows split_range(rows, 1, r, P)
 * (sizes differ by at most one). Each rank computes its shard's gradient
 * with its OpenMP threads; the gradients are combined without floating-point
 * arithmetic inside MPI (see below) and every rank applies the same
 * optimizer step, so weights stay bit-identical on every rank.
 *
 * Reproducibility, exactly (docs/architecture.md, "Data parallelism"):
 *   - for a fixed number of ranks P the result is bit-identical run to run,
 *     for any thread count per rank and any kernel table;
 *   - P = 1 is bit-identical to nerve_net_train_epoch;
 *   - different P give different last bits (as different batch sizes do):
 *     the global gradient is g = sum over ranks r in rank order of
 *     w_r * g_r, w_r = n_r / n rounded to float, g_r the mean-loss gradient
 *     of rank r's n_r rows; the sum is left to right (acc = w_0 g_0;
 *     acc = acc + w_r g_r), each slice summed by one owner rank.
 *
 * Communication per step, bucketed by layer, started as soon as backward
 * has produced a layer (MPI_Ialltoallv: rank s owns slice s of the whole
 * gradient and receives every rank's part of it in this layer), then the
 * owner sums its slice in rank order and one MPI_Allgatherv returns the sums
 * to everyone: the bandwidth of a ring
 * allreduce (2 (P-1)/P of the gradient bytes per rank), with no reduction
 * order left to the MPI library. Plus one MPI_Allgather of a small status
 * record per step, so a failure on any rank (NaN loss, out of memory, bad
 * arguments) or a stop request stops every rank after the same step with
 * the same status and message ("rank k of P: ..."). A rank that dies is
 * the MPI runtime's business: Open MPI's mpirun then ends the job.
 *
 * MPI calls are made from the calling thread only (also from inside the
 * step's OpenMP region, where that thread is OpenMP thread 0): MPI must
 * be initialised with at least MPI_THREAD_FUNNELED when called from the
 * main thread, MPI_THREAD_SERIALIZED otherwise. */
#ifndef NERVE_MPI_H
#define NERVE_MPI_H

#include <mpi.h>
#include <stdint.h>

#include "nerve/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One data-parallel pass over `data` (collective over comm: every rank calls
 * it with the same data, options and network). *result (may be NULL) gets
 * the global mean loss and accuracy over the batches seen, the same on every
 * rank; opts->progress is called on every rank after each global batch
 * (done counts global rows); opts->stop on any rank stops all ranks after
 * the same batch. Before the first batch and after the last one the ranks
 * compare checksums of their weights and optimizer state
 * (nerve_net_check_replicas_mpi); in builds without NDEBUG also every
 * NERVE_MPI_CHECK_EVERY steps. NERVE_EINVAL when the ranks disagree on the
 * data size, batch size, shuffling, network or the rows done of a cut
 * epoch. Like nerve_net_train_epoch it trains at the schedule's rate
 * (nerve_net_set_schedule), and an epoch the stop cuts is recorded and
 * continued by the next call, with the same rules. */
#define NERVE_MPI_CHECK_EVERY 64
NERVE_API nerve_status nerve_net_train_epoch_mpi(nerve_net *net, const nerve_dataset *data,
                                                 const nerve_epoch_opts *opts, nerve_eval *result,
                                                 MPI_Comm comm);

/* CRC-32 of the network's parameters and optimizer state (bytes of params,
 * then momentum / moments when present, then step count). */
NERVE_API uint32_t nerve_net_checksum(const nerve_net *net);

/* Collective: compares nerve_net_checksum on every rank of comm. NERVE_OK
 * when all are equal (*checksum, may be NULL, gets it), else NERVE_ENUMERIC
 * naming the first rank that differs from rank 0. */
NERVE_API nerve_status nerve_net_check_replicas_mpi(const nerve_net *net, MPI_Comm comm,
                                                    uint32_t *checksum);

#ifdef __cplusplus
}
#endif
#endif
