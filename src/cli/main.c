/* nerve: command dispatch. `nerve <command> [options]`; every command has --help. */
#include <stdio.h>
#include <string.h>

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

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("nerve %s\n", NERVE_VERSION_STRING);
        return CLI_OK;
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
                return commands[i].run(1, args);
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
            return use_mpi ? cli_mpi_finish(rc) : rc;
        }
    return cli_error("unknown command '%s' (try: nerve --help)", name);
}
