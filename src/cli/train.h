/* nerve train: settings shared by the option handling (train.c), the
 * network set-up (train_setup.c) and the epoch loop with its reports
 * (train_run.c). */
#ifndef NERVE_CLI_TRAIN_H
#define NERVE_CLI_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "nerve/nerve.h"

/* The default recipe (README "Default recipe"; measured in the report of
 * issue 6): 2 hidden ReLU layers 256 and 128 wide, identity output with
 * softmax cross-entropy, SGD with momentum 0.9, lr 0.05, batch 64,
 * 20 epochs, He-uniform initialisation (the library's for ReLU). */
#define RECIPE_HIDDEN       "256,128"
#define RECIPE_ACT          NERVE_ACT_RELU
#define RECIPE_SGD_LR       0.05f
#define RECIPE_SGD_MOMENTUM 0.9f
#define RECIPE_BATCH        64
#define RECIPE_EPOCHS       20
#define RECIPE_SEED         1
#define RECIPE_SCHEDULE     "cosine"
/* Regression (--targets), with standardized features and targets: Adam lr
 * 0.01, batch 16. On a 13-feature, 500-row regression CSV (docs/cli.md) it
 * reaches a validation loss of 0.029 in 20 epochs where SGD momentum 0.9 lr
 * 0.05 stays at 0.88; without standardization that SGD recipe diverges
 * (issue 14). */
#define RECIPE_REG_OPT   NERVE_OPT_ADAM
#define RECIPE_REG_LR    0.01f
#define RECIPE_REG_BATCH 16 /* small tabular sets: enough steps in 20 epochs */

#define MAX_LAYERS 64 /* far beyond any useful MLP depth; bounds the arrays */

typedef struct train_cfg {
    /* data */
    const char *data;
    double val_split; /* < 0: not given */
    /* network (fresh) */
    size_t sizes[MAX_LAYERS + 1];
    size_t n_sizes; /* 0: not given (--layers) */
    size_t hidden[MAX_LAYERS];
    size_t n_hidden; /* with hidden_given */
    int hidden_given;
    char acts[MAX_LAYERS][32];
    size_t n_acts; /* 0: not given */
    int loss_given;
    nerve_loss loss;
    uint64_t seed;
    /* model files */
    const char *resume, *init, *out, *plot;
    /* optimizer: *_given say which fields the user set */
    nerve_opt opt;
    int opt_given, lr_given, momentum_given, nesterov_given, wd_given, betas_given;
    /* preprocessing (prep.h): targets and the label column go in csv */
    nerve_csv_opts csv;
    int standardize;   /* CSV features and regression targets (default on) */
    size_t early_stop; /* patience in epochs; 0: off */
    /* loop: with --resume, train_setup fills in what the model file
     * recorded for the options not given (*_given 0) */
    size_t batch, epochs;
    size_t stop_after; /* --stop-after: last epoch of this run; 0: --epochs */
    int shuffle;
    int cosine; /* learning-rate schedule over `epochs`: 1 cosine, 0 constant */
    int batch_given, epochs_given, schedule_given, shuffle_given;
    /* arithmetic of the products (nerve_net_set_precision); without
     * precision_given a fresh network is fp32, a resumed one keeps its own */
    nerve_precision precision;
    int precision_given;
    int json, quiet;
} train_cfg;

/* The network and data for a run. */
typedef struct train_state {
    nerve_net *net;
    cli_data data;
    /* --loss mse on classification data: one-hot copies used for training
     * and the test loss; accuracy is then computed from data.* labels. */
    nerve_data *train_1h, *test_1h;
    char prep[192]; /* what preprocessing a fresh network got (banner) */
} train_state;

/* train_setup.c: loads the data, creates/loads the network, sets the
 * optimizer and the learning-rate schedule (the library applies it:
 * nerve_net_set_schedule), and for --resume completes cfg from the file:
 * the schedule and --epochs it recorded, the batch size and shuffling of
 * an epoch it was cut inside. CLI_OK or the exit status with the message
 * printed. */
int train_setup(train_cfg *cfg, train_state *st);
void train_teardown(train_state *st);

/* train_run.c: the epoch loop with progress, reports, plot, saving. */
int train_run(const train_cfg *cfg, train_state *st);

#endif
