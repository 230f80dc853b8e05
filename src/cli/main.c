/* nerve: command dispatch. `nerve <command> [options]`; every command has --help. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "mpi_cli.h"
#include "nerve/nerve.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, "train a network on a data set, optionally save it and plot the curves"},
    {"eval", cmd_eval, "loss, accuracy and confusion matrix of a saved model on a data set"},
    {"predict", cmd_predict, "one prediction per input row of a CSV file"},
    {"info", cmd_info, "version, CPU features, kernel tables and the one in use, threads"},
    {"selftest", cmd_selftest,
     "check every kernel table against scalar, then a short training run"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f,
            "nerve %s: train and run multi-layer perceptrons on CPUs\n\n"
            "Usage: nerve <command> [options]   (nerve <command> --help for its options)\n\n"
            "Commands:\n",
            NERVE_VERSION_STRING);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nExit status: 0 success, 1 run-time failure, 2 bad usage or input, "
               "130 interrupted (Ctrl-C).\n"
               "Environment: NERVE_MAX_ISA caps the kernel table, NERVE_VERBOSE=1 reports it, "
               "OMP_NUM_THREADS sets threads.\n");
}

/* Bounded spinning for OpenMP waits (docs/performance.md, "A busy machine").
 * libgomp spins up to GOMP_SPINCOUNT iterations (300000, milliseconds, when
 * nothing is set) before a waiting thread sleeps. On a machine whose cores
 * are busy with other work, a spinning waiter holds its core while the
 * thread it waits for is queued behind another program: two threads ran
 * 20x slower than one. Spinning ~100 iterations (microseconds) and then
 * sleeping measured faster than the default on a loaded machine, and 2
 * threads no slower than 1 with a busy loop pinned to a core. libgomp reads
 * its environment once, in a constructor that runs before main() (and the
 * environment set from an ELF preinit function is reset by libc's own
 * initialisation), so when neither variable is set the tool sets
 * GOMP_SPINCOUNT and re-executes itself once, before anything else. Either
 * variable set by the user wins; if the exec fails, the run goes on as is. */
#define NERVE_GOMP_SPINCOUNT "100"

static void bound_omp_spin(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || (size_t)n >= sizeof self - 1) return;
    self[n] = '\0';
    if (setenv("GOMP_SPINCOUNT", NERVE_GOMP_SPINCOUNT, 0) != 0) return;
    execv(self, argv); /* returns only on failure: then run as we are */
}

/* What a command printed must have reached stdout: `nerve eval > /dev/full`
 * is a failure (exit 1), not a success with the report lost. */
static int finish(int rc) {
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_failure("cannot write to standard output: %s", errno ? strerror(errno) : "I/O error");
        return rc == CLI_OK ? CLI_FAIL : rc;
    }
    return rc;
}

int main(int argc, char **argv) {
    bound_omp_spin(argv);
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        usage(stdout);
        return finish(CLI_OK);
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("nerve %s\n", NERVE_VERSION_STRING);
        return finish(CLI_OK);
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return CLI_OK;
        }
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (strcmp(argv[2], commands[i].name) == 0) {
                char help[] = "--help";
                char *args[] = {help, NULL};
                cli_command = commands[i].name;
                return finish(commands[i].run(1, args));
            }
        return cli_error("unknown command '%s' (try: nerve --help)", argv[2]);
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0) {
            cli_command = commands[i].name;
            /* under mpirun: MPI for train (data parallelism) and info */
            const int use_mpi = strcmp(name, "train") == 0 || strcmp(name, "info") == 0;
            if (use_mpi) cli_mpi_init(&argc, &argv);
            const int rc = commands[i].run(argc - 2, argv + 2);
            return finish(use_mpi ? cli_mpi_finish(rc) : rc);
        }
    return cli_error("unknown command '%s' (try: nerve --help)", name);
}
