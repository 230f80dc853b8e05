/* The MPI API (include/nerve/mpi.h) as an embedder uses it: the program owns
 * MPI and hands nerve MPI_COMM_WORLD. Run by tests/mpi/test_mpi.py under
 * mpirun; every rank prints one result line and exits 0 when its checks hold.
 *
 *   mpi_api replicas   3 epochs of digits (batch 50: uneven shards for 3
 *                      ranks, Adam): prints "rank R checksum C loss L";
 *                      with 1 rank also trains the same network with
 *                      nerve_net_train_epoch and requires the same bits
 *   mpi_api nan        the last rank's data is all NaN: every rank must get
 *                      NERVE_ENUMERIC naming that rank, weights unchanged
 *   mpi_api mismatch   the last rank uses another batch size: every rank
 *                      must get NERVE_EINVAL naming the batch size */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nerve/mpi.h>
#include <nerve/nerve.h>

static int rank, size;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "mpi_api rank %d: ", rank);                                                \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        MPI_Finalize();                                                                            \
        exit(1);                                                                                   \
    } while (0)
#define CHECK(call)                                                                                \
    do {                                                                                           \
        nerve_status st_ = (call);                                                                 \
        if (st_ != NERVE_OK) FAIL("%s failed: %s", #call, nerve_last_error());                     \
    } while (0)

static nerve_net *make_net(void) {
    size_t sizes[] = {64, 96, 10};
    nerve_act acts[] = {NERVE_ACT_TANH, NERVE_ACT_IDENTITY};
    nerve_net *net;
    CHECK(nerve_net_create(&net, 2, sizes, acts, NERVE_LOSS_XENT, 7));
    nerve_opt o = nerve_opt_default(NERVE_OPT_ADAM);
    CHECK(nerve_net_set_optimizer(net, &o));
    return net;
}

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *mode = argc > 1 ? argv[1] : "replicas";

    nerve_data *all, *train, *test;
    CHECK(nerve_data_load_digits(&all));
    CHECK(nerve_data_split(all, 0.2, 42, &train, &test));
    nerve_net *net = make_net();
    nerve_dataset tr = nerve_data_view(train);
    nerve_epoch_opts eo = {.batch_size = 50, .shuffle = 1};

    if (strcmp(mode, "replicas") == 0) {
        nerve_eval r = {0};
        for (int e = 0; e < 3; e++)
            CHECK(nerve_net_train_epoch_mpi(net, &tr, &eo, &r, MPI_COMM_WORLD));
        uint32_t sum = 0;
        CHECK(nerve_net_check_replicas_mpi(net, MPI_COMM_WORLD, &sum));
        if (sum != nerve_net_checksum(net)) FAIL("checksum %08x is not mine", (unsigned)sum);
        if (nerve_net_epoch_count(net) != 3)
            FAIL("epoch count %llu", (unsigned long long)nerve_net_epoch_count(net));
        if (size == 1) {
            nerve_net *ref = make_net();
            nerve_eval rr;
            for (int e = 0; e < 3; e++) CHECK(nerve_net_train_epoch(ref, &tr, &eo, &rr));
            if (nerve_net_checksum(ref) != sum) FAIL("1 rank differs from nerve_net_train_epoch");
            if (rr.loss != r.loss) FAIL("1 rank: loss %.9g vs %.9g", r.loss, rr.loss);
            nerve_net_free(ref);
        }
        printf("rank %d checksum %08x loss %.9g acc %.6f\n", rank, (unsigned)sum, r.loss,
               r.accuracy);
    } else if (strcmp(mode, "nan") == 0) {
        if (rank == size - 1) {
            for (size_t i = 0; i < train->n * train->in; i++) train->x[i] = NAN;
        }
        const uint32_t before = nerve_net_checksum(net);
        nerve_eval r;
        nerve_status st = nerve_net_train_epoch_mpi(net, &tr, &eo, &r, MPI_COMM_WORLD);
        char want[64];
        snprintf(want, sizeof want, "rank %d of %d", size - 1, size);
        if (st != NERVE_ENUMERIC)
            FAIL("status %d, not NERVE_ENUMERIC: %s", (int)st, nerve_last_error());
        if (!strstr(nerve_last_error(), want))
            FAIL("message lacks '%s': %s", want, nerve_last_error());
        if (nerve_net_checksum(net) != before) FAIL("the weights changed");
        printf("rank %d nan ok: %s\n", rank, nerve_last_error());
    } else if (strcmp(mode, "mismatch") == 0) {
        if (rank == size - 1) eo.batch_size = 51;
        nerve_eval r;
        nerve_status st = nerve_net_train_epoch_mpi(net, &tr, &eo, &r, MPI_COMM_WORLD);
        if (st != NERVE_EINVAL)
            FAIL("status %d, not NERVE_EINVAL: %s", (int)st, nerve_last_error());
        if (!strstr(nerve_last_error(), "batch size")) FAIL("message: %s", nerve_last_error());
        printf("rank %d mismatch ok: %s\n", rank, nerve_last_error());
    } else {
        FAIL("unknown mode %s", mode);
    }
    nerve_net_free(net);
    nerve_data_free(all), nerve_data_free(train), nerve_data_free(test);
    MPI_Finalize();
    return 0;
}
