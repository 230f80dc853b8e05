/* `nerve` under mpirun: data-parallel `nerve train` when the tool is built
 * with MPI (NERVE_HAVE_MPI) and started by an MPI launcher; without either,
 * every function here is the single-process answer (rank 0 of 1).
 *
 * Agreement: the ranks must pass the same sequence of collective calls. The
 * tool agrees on the outcome (exit status, with the first failing rank's
 * message) after the set-up of `nerve train`, after every epoch and at the
 * end (cli_mpi_finish); the library agrees after every minibatch. A rank
 * that fails before an agreement point goes straight to cli_mpi_finish,
 * whose collective matches the others' next agreement, so they all stop
 * there with its status. Only rank 0 prints: messages of other ranks are
 * kept (args.h cli_message_sink) and shown by rank 0 as "rank k of P: ...". */
#ifndef NERVE_CLI_MPI_CLI_H
#define NERVE_CLI_MPI_CLI_H

#include <stdio.h>

#include "nerve/nerve.h"

/* In main(), before the command: initialises MPI when started by a launcher
 * (Open MPI's OMPI_COMM_WORLD_SIZE, PMI_SIZE of MPICH's hydra, PMIX_RANK). */
void cli_mpi_init(int *argc, char ***argv);
/* After the command: agrees on the exit status, finalises MPI; returns the
 * status every rank exits with. */
int cli_mpi_finish(int rc);
int cli_mpi_active(void); /* started by a launcher and MPI initialised */
int cli_mpi_rank(void);   /* 0 when not active */
int cli_mpi_size(void);   /* 1 when not active */
/* Collective when active: every rank gets the first failing rank's status
 * (CLI_OK when none failed); rank 0 prints another rank's message. */
int cli_mpi_agree(int rc);
/* Collective when active: whether `flag` is set on any rank. */
int cli_mpi_any(int flag);
/* One epoch: nerve_net_train_epoch_mpi over MPI_COMM_WORLD when active,
 * else nerve_net_train_epoch. */
nerve_status cli_mpi_train_epoch(nerve_net *net, const nerve_dataset *data,
                                 const nerve_epoch_opts *opts, nerve_eval *result);
/* Collective when active: compares the weights' checksums of every rank
 * (nerve_net_check_replicas_mpi); rank 0 prints the result on f (may be
 * NULL). CLI_OK, or CLI_FAIL with the message printed. */
int cli_mpi_replicas(FILE *f, const nerve_net *net);
/* `nerve info` lines: the MPI library and the rank count (or "not built"). */
void cli_mpi_info(FILE *f);
/* The banner line of `nerve train` when active. */
void cli_mpi_banner(FILE *f, size_t batch);

#endif
