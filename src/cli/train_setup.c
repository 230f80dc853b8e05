/* nerve train: data, network (fresh, --init or --resume) and optimizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "common.h"
#include "prep.h"
#include "train.h"

/* One activation per layer from --act (see its help text). */
static int layer_acts(const train_cfg *c, size_t n_layers, nerve_act *acts) {
    for (size_t l = 0; l < n_layers; l++)
        acts[l] = l + 1 < n_layers ? RECIPE_ACT : NERVE_ACT_IDENTITY;
    if (c->n_acts == 0) return CLI_OK;
    nerve_act a[MAX_LAYERS];
    for (size_t i = 0; i < c->n_acts; i++)
        nerve_act_from_name(c->acts[i], &a[i]); /* checked in train.c */
    if (c->n_acts == n_layers) {
        for (size_t l = 0; l < n_layers; l++) acts[l] = a[l];
    } else if (c->n_acts == 1 || c->n_acts + 1 == n_layers) {
        for (size_t l = 0; l + 1 < n_layers; l++) acts[l] = a[c->n_acts == 1 ? 0 : l];
    } else {
        return cli_error("--act: %zu names for %zu layers (give 1, %zu or %zu)", c->n_acts,
                         n_layers, n_layers - 1, n_layers);
    }
    return CLI_OK;
}

static int build_fresh(const train_cfg *c, size_t in, size_t out, nerve_loss loss,
                       nerve_net **net) {
    size_t sizes[MAX_LAYERS + 1], n = 0;
    if (c->n_sizes) {
        memcpy(sizes, c->sizes, c->n_sizes * sizeof sizes[0]);
        n = c->n_sizes;
    } else {
        size_t hidden[MAX_LAYERS], nh = 0;
        if (c->hidden_given) {
            memcpy(hidden, c->hidden, c->n_hidden * sizeof hidden[0]);
            nh = c->n_hidden;
        } else {
            arg_size_list("hidden", RECIPE_HIDDEN, hidden, MAX_LAYERS, &nh);
        }
        sizes[n++] = in;
        for (size_t i = 0; i < nh; i++) sizes[n++] = hidden[i];
        sizes[n++] = out;
    }
    nerve_act acts[MAX_LAYERS];
    int rc = layer_acts(c, n - 1, acts);
    if (rc != CLI_OK) return rc;
    nerve_status st = nerve_net_create(net, n - 1, sizes, acts, loss, c->seed);
    if (st != NERVE_OK) return cli_lib_error(st, c->n_sizes ? "--layers" : "network");
    return CLI_OK;
}

/* Class names --init copies (more classes than this: the copy keeps none). */
#define MAX_INIT_NAMES 4096

/* A fresh network shaped like the model in `path`, with its weights and
 * preprocessing. */
static int build_from_init(const train_cfg *c, nerve_net **net) {
    nerve_net *src;
    int rc = cli_load_model("init", c->init, &src);
    if (rc != CLI_OK) return rc;
    size_t L = nerve_net_layers(src), sizes[MAX_LAYERS + 1];
    nerve_act acts[MAX_LAYERS];
    if (L > MAX_LAYERS) {
        nerve_net_free(src);
        return cli_error("--init: %zu layers exceed this tool's limit %d", L, MAX_LAYERS);
    }
    for (size_t i = 0; i <= L; i++) sizes[i] = nerve_net_width(src, i);
    for (size_t l = 0; l < L; l++) acts[l] = nerve_net_activation(src, l);
    nerve_status st = nerve_net_create(net, L, sizes, acts, nerve_net_loss(src), c->seed);
    if (st != NERVE_OK) {
        nerve_net_free(src);
        return cli_lib_error(st, "--init");
    }
    for (size_t l = 0; l < L; l++) {
        memcpy(nerve_net_weights(*net, l), nerve_net_weights(src, l),
               sizes[l] * sizes[l + 1] * sizeof(float));
        memcpy(nerve_net_bias(*net, l), nerve_net_bias(src, l), sizes[l + 1] * sizeof(float));
    }
    /* the weights belong with the preprocessing they were trained on */
    st =
        nerve_net_set_input_transform(*net, nerve_net_input_shift(src), nerve_net_input_scale(src));
    if (st == NERVE_OK)
        st = nerve_net_set_output_transform(*net, nerve_net_output_shift(src),
                                            nerve_net_output_scale(src));
    if (st == NERVE_OK && nerve_net_class_name(src, 0)) {
        const char *names[MAX_INIT_NAMES];
        size_t k = sizes[L];
        if (k <= MAX_INIT_NAMES) {
            for (size_t i = 0; i < k; i++) names[i] = nerve_net_class_name(src, i);
            st = nerve_net_set_class_names(*net, names);
        }
    }
    nerve_net_free(src);
    if (st != NERVE_OK) {
        nerve_net_free(*net);
        *net = NULL;
        return cli_lib_error(st, "--init");
    }
    return CLI_OK;
}

/* Does the network fit the data? `opt` names where the network came from. */
static int check_fit(const char *opt, const nerve_net *net, const nerve_data *tr, size_t classes) {
    size_t in = nerve_net_width(net, 0), out = nerve_net_width(net, nerve_net_layers(net));
    if (in != tr->in)
        return cli_error("--%s: the network takes %zu inputs but %s has %zu features", opt, in,
                         tr->name, tr->in);
    if (tr->labels && out < classes)
        return cli_error("--%s: the network has %zu outputs but %s has %zu classes", opt, out,
                         tr->name, classes);
    if (!tr->labels && out != tr->out)
        return cli_error("--%s: the network has %zu outputs but %s has %zu targets", opt, out,
                         tr->name, tr->out);
    if (!tr->labels && nerve_net_loss(net) == NERVE_LOSS_XENT)
        return cli_error("--loss: xent needs class labels; %s has regression targets", tr->name);
    return CLI_OK;
}

/* The optimizer: cfg's for a new network; for --resume the file's, with the
 * fields the user gave replaced (which resets the optimizer state). */
static int setup_optimizer(const train_cfg *c, nerve_net *net) {
    nerve_opt o = c->opt;
    if (c->resume) {
        if (!(c->opt_given || c->lr_given || c->momentum_given || c->nesterov_given ||
              c->wd_given || c->betas_given))
            return CLI_OK; /* keep the saved optimizer and its state */
        nerve_opt saved = nerve_net_optimizer(net);
        if (!c->opt_given || saved.kind == o.kind) {
            o = saved;
            if (c->lr_given) o.lr = c->opt.lr;
            if (c->wd_given) o.weight_decay = c->opt.weight_decay;
            if (c->momentum_given) o.momentum = c->opt.momentum;
            if (c->nesterov_given) o.nesterov = 1;
            if (c->betas_given) {
                o.beta1 = c->opt.beta1;
                o.beta2 = c->opt.beta2;
                o.eps = c->opt.eps;
            }
        }
        cli_note("optimizer options with --resume: the optimizer state (momentum, moments) starts "
                 "afresh");
    }
    nerve_status st = nerve_net_set_optimizer(net, &o);
    if (st != NERVE_OK) return cli_lib_error(st, "optimizer");
    return CLI_OK;
}

/* The learning-rate schedule, and with --resume what the file recorded for
 * the options left out: the schedule and its --epochs (files written before
 * the schedule was recorded have none: then the defaults, as before), and
 * for an epoch that Ctrl-C cut, its batch size and order, which the rest of
 * that epoch must keep. */
static int setup_schedule(train_cfg *c, nerve_net *net, size_t rows) {
    const nerve_schedule saved = nerve_net_schedule(net);
    const nerve_epoch_progress cut = nerve_net_epoch_progress(net);
    const uint64_t done = nerve_net_epoch_count(net);
    if (c->resume && saved.epochs) {
        if (!c->schedule_given) c->cosine = saved.kind == NERVE_SCHEDULE_COSINE;
        if (!c->epochs_given) c->epochs = (size_t)saved.epochs;
    }
    if (c->resume && cut.rows) {
        const unsigned long long e = (unsigned long long)done + 1, r = cut.rows, n = cut.n;
        const size_t bs = c->batch < rows ? c->batch : rows; /* the library's cap */
        if (cut.n != rows)
            return cli_error("--resume: %s stopped inside epoch %llu after %llu of %llu rows, but "
                             "--data gives %zu training rows: give the --data, --val-split and "
                             "--seed of that run",
                             c->resume, e, r, n, rows);
        if (!c->batch_given)
            c->batch = (size_t)cut.batch;
        else if (bs != cut.batch)
            return cli_error("--batch: %s stopped inside epoch %llu after %llu of %llu rows in "
                             "batches of %llu; that epoch continues only with --batch %llu",
                             c->resume, e, r, n, (unsigned long long)cut.batch,
                             (unsigned long long)cut.batch);
        if (!c->shuffle_given && !cut.shuffle)
            c->shuffle = 0;
        else if (c->shuffle != cut.shuffle)
            return cli_error("--no-shuffle: %s stopped inside epoch %llu after %llu of %llu rows "
                             "of a shuffled epoch; that epoch continues only shuffled",
                             c->resume, e, r, n);
    }
    const nerve_schedule want = {c->cosine ? NERVE_SCHEDULE_COSINE : NERVE_SCHEDULE_CONSTANT,
                                 c->epochs};
    /* a change of curve after the first epoch: the rates already used
     * belonged to the old one, so no straight run matches (docs/cli.md) */
    if (c->resume && (done || cut.rows) && saved.epochs &&
        (want.kind != saved.kind ||
         (want.kind == NERVE_SCHEDULE_COSINE && want.epochs != saved.epochs)))
        cli_note("%s was trained on a %s schedule over %llu epochs; from epoch %llu on the "
                 "rate follows a %s one over %zu, so the result differs from a straight "
                 "%zu-epoch run (to split a run, start it with its final --epochs and "
                 "--stop-after)",
                 c->resume, saved.kind == NERVE_SCHEDULE_COSINE ? "cosine" : "constant",
                 (unsigned long long)saved.epochs, (unsigned long long)done + 1,
                 c->cosine ? "cosine" : "constant", c->epochs, c->epochs);
    nerve_status s = nerve_net_set_schedule(net, &want);
    if (s != NERVE_OK) return cli_lib_error(s, "--schedule");
    return CLI_OK;
}

int train_setup(train_cfg *c, train_state *st) {
    memset(st, 0, sizeof *st);
    int rc = CLI_OK;
    /* A network from a file comes first: its preprocessing says how to
     * load the data (a format 1 model has none: the data load as in 0.1). */
    const char *from = "layers";
    if (c->resume) {
        from = "resume";
        rc = cli_load_model("resume", c->resume, &st->net);
    } else if (c->init) {
        from = "init";
        rc = build_from_init(c, &st->net);
    }
    if (rc != CLI_OK) return rc;
    nerve_csv_opts csv = c->csv;
    const char **names = NULL;
    if (st->net) {
        names = prep_csv_for_model(st->net, &csv);
        rc = prep_precheck_csv(st->net, c->data, &csv);
    } else {
        csv.raw_pixels = 1; /* a fresh model divides the pixels itself */
    }
    if (rc == CLI_OK)
        rc = cli_data_open_opts("data", c->data, &csv, c->val_split, c->seed, &st->data);
    free(names);
    if (rc != CLI_OK) {
        nerve_net_free(st->net);
        st->net = NULL;
        return rc;
    }
    const nerve_data *tr = st->data.train, *te = st->data.test;
    size_t classes = tr->out;
    if (tr->labels && te && te->out > classes) classes = te->out;

    nerve_loss loss = tr->labels ? NERVE_LOSS_XENT : NERVE_LOSS_MSE;
    if (c->loss_given) loss = c->loss;
    snprintf(st->prep, sizeof st->prep, "%s", st->net ? "as stored in the model" : "none");
    if (!st->net) {
        if (!tr->labels && loss == NERVE_LOSS_XENT)
            rc = cli_error("--loss: xent needs class labels; %s has regression targets", tr->name);
        else
            rc = build_fresh(c, tr->in, classes, loss, &st->net);
        if (rc == CLI_OK) rc = check_fit(from, st->net, tr, classes);
        if (rc == CLI_OK)
            rc = prep_fit(st->net, &st->data, c->standardize, st->prep, sizeof st->prep);
    } else {
        rc = check_fit(from, st->net, tr, classes);
    }
    /* the training and held-out parts through the model's own transform */
    if (rc == CLI_OK) rc = prep_apply(st->net, st->data.train, "--data");
    if (rc == CLI_OK) rc = prep_apply(st->net, st->data.test, "--data");
    if (rc == CLI_OK) rc = setup_optimizer(c, st->net);
    if (rc == CLI_OK) rc = setup_schedule(c, st->net, tr->n);
    if (rc == CLI_OK && c->precision_given) {
        const nerve_status ps = nerve_net_set_precision(st->net, c->precision);
        if (ps != NERVE_OK) rc = cli_lib_error(ps, "--precision");
    }
    if (rc == CLI_OK && tr->labels && nerve_net_loss(st->net) == NERVE_LOSS_MSE) {
        size_t k = nerve_net_width(st->net, nerve_net_layers(st->net));
        rc = cli_data_one_hot(tr, k, &st->train_1h);
        if (rc == CLI_OK && te) rc = cli_data_one_hot(te, k, &st->test_1h);
    }
    if (rc != CLI_OK) train_teardown(st);
    return rc;
}

void train_teardown(train_state *st) {
    nerve_net_free(st->net);
    nerve_data_free(st->train_1h);
    nerve_data_free(st->test_1h);
    cli_data_close(&st->data);
    memset(st, 0, sizeof *st);
}
