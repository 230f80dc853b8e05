/* nerve train: the options, checked and turned into a train_cfg. */
#include <string.h>

#include "args.h"
#include "commands.h"
#include "common.h"
#include "mpi_cli.h"
#include "train.h"

static const cli_option options[] = {
    {"data", "SOURCE",
     "digits (default, embedded), fashion-mnist, a directory of IDX\n"
     "files, or FILE.csv[.gz] (features then the class label)"},
    {"targets", "K",
     "CSV regression: the last K columns (or K from --label-col) are\n"
     "targets (loss mse; defaults: adam, lr 0.01, batch 16)"},
    {"label-col", "N|NAME",
     "CSV: the label (or first target) column, by number (1 is the\n"
     "first, -1 the last; default the last) or by header name"},
    {"no-standardize", NULL,
     "CSV: keep features (and regression targets) as they are\n"
     "(default: standardized with the training part's mean and\n"
     "deviation, stored in the model)"},
    {"early-stop", "PATIENCE",
     "stop when the validation loss has not improved for PATIENCE\n"
     "epochs; --out then saves the best epoch's weights"},
    {"val-split", "FRACTION",
     "hold out this fraction for validation when the data has no\n"
     "test set (default 0.2; 0 trains on everything)"},
    {"layers", "W0,W1,...",
     "all layer widths, input first (must fit the data),\n"
     "e.g. 784,256,128,10"},
    {"hidden", "W1,...",
     "hidden widths only, input and output from the data\n"
     "(default " RECIPE_HIDDEN "; 'none' for no hidden layer)"},
    {"act", "NAME[,...]",
     "activation: one for every hidden layer, or one per hidden\n"
     "layer, or one per layer with the output's last (default\n"
     "relu, output identity). identity sigmoid tanh relu\n"
     "leaky_relu elu gelu silu softplus"},
    {"loss", "xent|mse",
     "softmax cross-entropy (default for classes) or mean squared\n"
     "error (default for regression; on classes: one-hot targets)"},
    {"opt", "sgd|adam|adamw", "optimizer (default sgd)"},
    {"lr", "RATE",
     "learning rate (default 0.05 for sgd, 0.001 for adam/adamw,\n"
     "0.01 for adam on regression)"},
    {"momentum", "M", "sgd momentum (default 0.9)"},
    {"nesterov", NULL, "sgd: Nesterov momentum"},
    {"weight-decay", "WD", "L2 penalty (sgd, adam) or decoupled decay (adamw, default 0.01)"},
    {"beta1", "B1", "adam/adamw first-moment decay (default 0.9)"},
    {"beta2", "B2", "adam/adamw second-moment decay (default 0.999)"},
    {"eps", "EPS", "adam/adamw denominator term (default 1e-8)"},
    {"batch", "N",
     "minibatch size (default 64; 16 for regression; with --resume\n"
     "inside an epoch, that epoch's)"},
    {"epochs", "N",
     "train until the model has seen N epochs in total (default 20;\n"
     "with --resume the count continues from the file, and the\n"
     "default is the N the file's run was started with)"},
    {"stop-after", "N",
     "stop (and save) after epoch N of the --epochs run, to continue\n"
     "it later with --resume: the schedule still spans --epochs"},
    {"seed", "S", "seed of the initial weights, shuffling and split (default 1)"},
    {"schedule", "cosine|constant",
     "learning rate per epoch: cosine annealing from --lr towards 0\n"
     "over --epochs (default; with --resume the file's), or constant"},
    {"no-shuffle", NULL, "keep the sample order (default: reshuffle every epoch)"},
    {"precision", "fp32|bf16",
     "arithmetic of the products: fp32 (default), or bf16 mixed\n"
     "precision (fp32 weights and optimizer, bf16 operands, fp32\n"
     "sums: vdpbf16ps with AVX512_BF16, an exact emulation\n"
     "elsewhere); --resume keeps the model's unless given"},
    {"threads", "N", HELP_THREADS},
    {"isa", "ISA", HELP_ISA},
    {"out", "FILE", "save the model with its training state (for --resume) here"},
    {"resume", "FILE",
     "continue training a saved model (weights, optimizer state,\n"
     "epoch count, shuffling generator, schedule, the position\n"
     "inside an epoch cut by Ctrl-C)"},
    {"init", "FILE", "start from the weights of a saved model (fresh optimizer)"},
    {"json", NULL, "one JSON object per epoch on stdout, nothing else there"},
    {"plot", "FILE.svg", "write an SVG chart of loss and accuracy per epoch"},
    {"quiet", NULL, "no progress bar and no per-epoch lines, only the final line"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

#define GET(name) cli_value(options, N_OPTIONS, v, name)

static const char synopsis[] =
    "Usage: nerve train [options]\n\n"
    "Trains a multi-layer perceptron and reports one line per epoch: training loss\n"
    "and accuracy, test (or validation) loss and accuracy, samples/s and seconds.\n"
    "A progress bar is drawn on stderr when it is a terminal. Ctrl-C stops after\n"
    "the current minibatch, saves the model when --out is given and exits 130;\n"
    "--resume continues from that minibatch.\n\n"
    "Default recipe: --hidden " RECIPE_HIDDEN " --act relu --loss xent --opt sgd --lr 0.05\n"
    "--momentum 0.9 --schedule cosine --batch 64 --epochs 20 --seed 1; regression\n"
    "(--targets): --loss mse --opt adam --lr 0.01 --batch 16. CSV features (and\n"
    "targets) are standardized with the training part's statistics, pixels divided\n"
    "by their maximum; the model stores this, so predict takes raw features.";

/* Reads the optimizer options into cfg->opt (defaults: the recipe for sgd,
 * PyTorch's for adam/adamw). */
static int read_optimizer(const char **v, train_cfg *c) {
    int rc;
    /* regression (--targets) defaults to Adam, classes to SGD (train.h) */
    nerve_opt_kind kind = c->csv.targets ? RECIPE_REG_OPT : NERVE_OPT_SGD;
    const char *s = GET("opt");
    if (s) {
        if (nerve_opt_from_name(s, &kind) != NERVE_OK)
            return cli_error("--opt: '%s' is not one of sgd, adam, adamw", s);
        c->opt_given = 1;
    }
    c->opt = nerve_opt_default(kind);
    if (!c->opt_given && c->csv.targets) c->opt.lr = RECIPE_REG_LR;
    if (kind == NERVE_OPT_SGD) {
        c->opt.lr = RECIPE_SGD_LR;
        c->opt.momentum = RECIPE_SGD_MOMENTUM;
    }
    /* 10: a learning rate above this diverges for any sensible network;
     * rejecting it catches a misplaced decimal point */
    if ((s = GET("lr")) && (rc = arg_float("lr", s, 0.0, 10.0, &c->opt.lr)) != CLI_OK) return rc;
    c->lr_given = s != NULL;
    if ((s = GET("weight-decay")) &&
        (rc = arg_float("weight-decay", s, 0.0, 1.0, &c->opt.weight_decay)) != CLI_OK)
        return rc;
    c->wd_given = s != NULL;
    const char *mom = GET("momentum"), *nest = GET("nesterov");
    const char *b1 = GET("beta1"), *b2 = GET("beta2"), *eps = GET("eps");
    if (kind == NERVE_OPT_SGD) {
        if (b1 || b2 || eps)
            return cli_error("--%s applies to --opt adam or adamw, not sgd", b1   ? "beta1"
                                                                             : b2 ? "beta2"
                                                                                  : "eps");
        if (mom && (rc = arg_float("momentum", mom, 0.0, 0.999999, &c->opt.momentum)) != CLI_OK)
            return rc;
        c->opt.nesterov = nest != NULL;
        if (c->opt.nesterov && c->opt.momentum <= 0)
            return cli_error("--nesterov needs a momentum above 0");
    } else {
        if (mom || nest)
            return cli_error("--%s applies to --opt sgd", mom ? "momentum" : "nesterov");
        if (b1 && (rc = arg_float("beta1", b1, 0.0, 0.999999, &c->opt.beta1)) != CLI_OK) return rc;
        if (b2 && (rc = arg_float("beta2", b2, 0.0, 0.999999, &c->opt.beta2)) != CLI_OK) return rc;
        if (eps && (rc = arg_float("eps", eps, 0.0, 1.0, &c->opt.eps)) != CLI_OK) return rc;
        /* eps 0 divides 0 by 0 for every parameter whose gradient is 0 */
        if (eps && !(c->opt.eps > 0.0f))
            return cli_error("--eps: must be above 0 (%s gives 0/0 where a gradient is 0)", eps);
    }
    c->momentum_given = mom != NULL;
    c->nesterov_given = nest != NULL;
    c->betas_given = b1 || b2 || eps;
    return CLI_OK;
}

static int read_network(const char **v, train_cfg *c) {
    int rc;
    const char *s;
    if ((s = GET("layers"))) {
        if ((rc = arg_size_list("layers", s, c->sizes, MAX_LAYERS + 1, &c->n_sizes)) != CLI_OK)
            return rc;
        if (c->n_sizes < 2) return cli_error("--layers: give at least the input and output widths");
    }
    if ((s = GET("hidden"))) {
        if (c->n_sizes) return cli_error("--hidden: give either --layers or --hidden, not both");
        c->hidden_given = 1;
        if (strcmp(s, "none") == 0)
            c->n_hidden = 0;
        else if ((rc = arg_size_list("hidden", s, c->hidden, MAX_LAYERS - 1, &c->n_hidden)) !=
                 CLI_OK)
            return rc;
    }
    if ((s = GET("act"))) {
        if ((rc = arg_name_list("act", s, c->acts, MAX_LAYERS, &c->n_acts)) != CLI_OK) return rc;
        for (size_t i = 0; i < c->n_acts; i++) {
            nerve_act a;
            if (nerve_act_from_name(c->acts[i], &a) != NERVE_OK)
                return cli_error("--act: unknown activation '%s' (identity sigmoid tanh relu "
                                 "leaky_relu elu gelu silu softplus)",
                                 c->acts[i]);
        }
    }
    if ((s = GET("loss"))) {
        if (nerve_loss_from_name(s, &c->loss) != NERVE_OK)
            return cli_error("--loss: '%s' is not one of xent, mse", s);
        c->loss_given = 1;
    }
    return CLI_OK;
}

/* Options that make no sense together. */
static int check_conflicts(const char **v, const train_cfg *c) {
    static const char *const arch[] = {"layers", "hidden", "act", "loss"};
    const char *from = c->resume ? "resume" : c->init ? "init" : NULL;
    if (c->resume && c->init) return cli_error("--init: give either --resume or --init, not both");
    if (c->stop_after && c->early_stop)
        return cli_error("--stop-after: with --early-stop the model is saved without the training "
                         "state that --resume continues from");
    if (from)
        for (size_t i = 0; i < sizeof arch / sizeof arch[0]; i++)
            if (GET(arch[i]))
                return cli_error("--%s: the network comes from --%s; leave --%s out", arch[i], from,
                                 arch[i]);
    return CLI_OK;
}

int cmd_train(int argc, char **argv) {
    const char *v[N_OPTIONS];
    int rc = cli_parse(synopsis, options, N_OPTIONS, argc, argv, v);
    if (rc == CLI_HELP) return CLI_OK;
    if (rc != CLI_OK) return rc;

    train_cfg c;
    memset(&c, 0, sizeof c);
    const char *s;
    c.data = GET("data");
    c.val_split = -1;
    c.seed = RECIPE_SEED;
    c.batch = RECIPE_BATCH;
    c.epochs = RECIPE_EPOCHS;
    c.shuffle = GET("no-shuffle") == NULL;
    c.shuffle_given = !c.shuffle;
    c.cosine = 1;
    if ((s = GET("schedule"))) {
        if (strcmp(s, "cosine") != 0 && strcmp(s, "constant") != 0)
            return cli_error("--schedule: '%s' is not one of cosine, constant", s);
        c.cosine = strcmp(s, "cosine") == 0;
        c.schedule_given = 1;
    }
    c.json = GET("json") != NULL;
    c.quiet = GET("quiet") != NULL;
    c.resume = GET("resume");
    c.init = GET("init");
    c.out = GET("out");
    c.plot = GET("plot");
    /* 4096 targets: far more than any regression output this tool will see */
    if ((s = GET("targets")) && (rc = arg_size("targets", s, 1, 4096, &c.csv.targets)) != CLI_OK)
        return rc;
    if ((s = GET("label-col")) && (rc = cli_label_col(s, &c.csv)) != CLI_OK) return rc;
    c.standardize = GET("no-standardize") == NULL;
    /* 10^6: as many epochs as --epochs allows */
    if ((s = GET("early-stop")) &&
        (rc = arg_size("early-stop", s, 1, 1000000, &c.early_stop)) != CLI_OK)
        return rc;
    /* at most 0.9 held out: training on under a tenth is a mistake */
    if ((s = GET("val-split")) &&
        (rc = arg_double("val-split", s, 0.0, 0.9, &c.val_split)) != CLI_OK)
        return rc;
    /* 2^20: a minibatch larger than any data set these commands load */
    if (c.csv.targets) c.batch = RECIPE_REG_BATCH;
    if ((s = GET("batch")) && (rc = arg_size("batch", s, 1, (size_t)1 << 20, &c.batch)) != CLI_OK)
        return rc;
    c.batch_given = s != NULL;
    if ((s = GET("epochs")) && (rc = arg_size("epochs", s, 1, 1000000, &c.epochs)) != CLI_OK)
        return rc;
    c.epochs_given = s != NULL;
    if ((s = GET("stop-after")) &&
        (rc = arg_size("stop-after", s, 1, 1000000, &c.stop_after)) != CLI_OK)
        return rc;
    if ((s = GET("seed")) && (rc = arg_u64("seed", s, &c.seed)) != CLI_OK) return rc;
    if ((s = GET("precision"))) {
        if (nerve_precision_from_name(s, &c.precision) != NERVE_OK)
            return cli_error("--precision: '%s' is not one of fp32, bf16", s);
        c.precision_given = 1;
    }
    if ((rc = read_network(v, &c)) != CLI_OK) return rc;
    if ((rc = read_optimizer(v, &c)) != CLI_OK) return rc;
    if ((rc = check_conflicts(v, &c)) != CLI_OK) return rc;
    if ((rc = cli_apply_isa(GET("isa"))) != CLI_OK) return rc;
    if ((rc = cli_apply_threads(GET("threads"))) != CLI_OK) return rc;
    if (c.out && (rc = cli_check_writable("out", c.out)) != CLI_OK) return rc;
    if (c.plot && (rc = cli_check_writable("plot", c.plot)) != CLI_OK) return rc;
    if (c.out && c.data && cli_same_file(c.out, c.data))
        return cli_error("--out: '%s' is the --data file; it would be overwritten", c.out);
    if (c.plot && c.data && cli_same_file(c.plot, c.data))
        return cli_error("--plot: '%s' is the --data file; it would be overwritten", c.plot);
    if (c.out && c.plot && (strcmp(c.out, c.plot) == 0 || cli_same_file(c.out, c.plot)))
        return cli_error("--plot: '%s' is also the --out file", c.plot);

    train_state st;
    /* under mpirun every rank sets up; all go on only if all succeeded */
    if ((rc = cli_mpi_agree(train_setup(&c, &st))) != CLI_OK) {
        if (st.net) train_teardown(&st);
        return rc;
    }
    rc = train_run(&c, &st);
    train_teardown(&st);
    return rc;
}
