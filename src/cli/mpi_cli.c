/* `nerve` under mpirun (mpi_cli.h). */
#define _POSIX_C_SOURCE 200809L
#include "mpi_cli.h"

#include <stdlib.h>
#include <string.h>

#include "args.h"

#if defined(NERVE_HAVE_MPI)
#include "nerve/mpi.h"

static int active, rank, size = 1, agreed_failure;
static char kept[252]; /* the last message of a rank other than 0 */

static void keep_message(const char *line) { snprintf(kept, sizeof kept, "%s", line); }

static int launched(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

void cli_mpi_init(int *argc, char ***argv) {
    if (!launched()) return;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    active = 1;
    if (rank != 0) cli_message_sink = keep_message;
}

int cli_mpi_active(void) { return active; }
int cli_mpi_rank(void) { return rank; }
int cli_mpi_size(void) { return size; }

typedef struct agree_rec {
    int32_t rc;
    char msg[252];
} agree_rec;

int cli_mpi_agree(int rc) {
    if (!active || agreed_failure) return rc;
    agree_rec mine = {.rc = rc}, *all = calloc((size_t)size, sizeof *all);
    if (rc != CLI_OK) snprintf(mine.msg, sizeof mine.msg, "%s", kept);
    if (!all || MPI_Allgather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE,
                              MPI_COMM_WORLD) != MPI_SUCCESS) {
        free(all);
        cli_message_sink = NULL;
        cli_failure("rank %d of %d: cannot agree with the other ranks (MPI failed)", rank, size);
        MPI_Abort(MPI_COMM_WORLD, CLI_FAIL); /* the tool, not the library: end the job */
        return CLI_FAIL;
    }
    int out = CLI_OK;
    for (int r = 0; r < size; r++)
        if (all[r].rc != CLI_OK) {
            out = all[r].rc;
            if (rank == 0 && r != 0 && rc == CLI_OK) {
                all[r].msg[sizeof all[r].msg - 1] = '\0';
                cli_note("rank %d of %d: %s", r, size, all[r].msg[0] ? all[r].msg : "failed");
            }
            break;
        }
    free(all);
    if (out != CLI_OK) agreed_failure = 1;
    return out;
}

int cli_mpi_any(int flag) {
    if (!active) return flag != 0;
    int in = flag != 0, out = in;
    if (MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) return 1;
    return out;
}

int cli_mpi_finish(int rc) {
    if (!active) return rc;
    rc = cli_mpi_agree(rc);
    MPI_Finalize();
    active = 0;
    return rc;
}

nerve_status cli_mpi_train_epoch(nerve_net *net, const nerve_dataset *data,
                                 const nerve_epoch_opts *opts, nerve_eval *result) {
    if (!active) return nerve_net_train_epoch(net, data, opts, result);
    return nerve_net_train_epoch_mpi(net, data, opts, result, MPI_COMM_WORLD);
}

int cli_mpi_replicas(FILE *f, const nerve_net *net) {
    if (!active) return CLI_OK;
    uint32_t sum = 0;
    nerve_status st = nerve_net_check_replicas_mpi(net, MPI_COMM_WORLD, &sum);
    if (st != NERVE_OK) return cli_lib_error(st, "replicas");
    if (f && rank == 0) {
        fprintf(f, "mpi       weights identical on all %d ranks (checksum %08x)\n", size,
                (unsigned)sum);
        fflush(f);
    }
    return CLI_OK;
}

void cli_mpi_info(FILE *f) {
    char lib[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0, major = 0, minor = 0;
    MPI_Get_library_version(lib, &len); /* allowed before MPI_Init */
    MPI_Get_version(&major, &minor);
    char *nl = strchr(lib, '\n');
    if (nl) *nl = '\0';
    for (int i = (int)strlen(lib); i > 0 && (lib[i - 1] == ',' || lib[i - 1] == ' '); i--)
        lib[i - 1] = '\0';
    fprintf(f, "mpi       %s (MPI %d.%d)\n", lib, major, minor);
    if (active)
        fprintf(f, "ranks     %d (started by mpirun); nerve train is data-parallel over them\n",
                size);
    else
        fprintf(f, "ranks     1 (not started by mpirun)\n");
}

void cli_mpi_banner(FILE *f, size_t batch) {
    if (!active) return;
    const size_t lo = batch / (size_t)size, hi = lo + (batch % (size_t)size != 0);
    fprintf(f, "mpi       %d ranks, data-parallel: global batch %zu, %zu", size, batch, lo);
    if (hi != lo) fprintf(f, "-%zu", hi);
    fprintf(f, " rows per rank\n");
}

#else /* built without MPI */

void cli_mpi_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
}
int cli_mpi_finish(int rc) { return rc; }
int cli_mpi_active(void) { return 0; }
int cli_mpi_rank(void) { return 0; }
int cli_mpi_size(void) { return 1; }
int cli_mpi_agree(int rc) { return rc; }
int cli_mpi_any(int flag) { return flag != 0; }
int cli_mpi_replicas(FILE *f, const nerve_net *net) {
    (void)f;
    (void)net;
    return CLI_OK;
}
nerve_status cli_mpi_train_epoch(nerve_net *net, const nerve_dataset *data,
                                 const nerve_epoch_opts *opts, nerve_eval *result) {
    return nerve_net_train_epoch(net, data, opts, result);
}
void cli_mpi_info(FILE *f) {
    fprintf(f, "mpi       not built in (configure with NERVE_WITH_MPI)\n");
}
void cli_mpi_banner(FILE *f, size_t batch) {
    (void)f;
    (void)batch;
}

#endif
