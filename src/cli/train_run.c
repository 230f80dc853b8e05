/* nerve train: the epoch loop, its reports (text, JSON, SVG), Ctrl-C and
 * saving the model. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "common.h"
#include "json.h"
#include "mpi_cli.h"
#include "progress.h"
#include "svg.h"
#include "train.h"

/* Set by SIGINT; the library polls it between minibatches
 * (nerve_epoch_opts.stop). A lock-free atomic_int may be stored from a
 * signal handler. */
static nerve_stop_flag stop_requested;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag is set from a signal handler");

static void on_sigint(int sig) {
    (void)sig;
    stop_requested = 1;
    static const char msg[] = "\nnerve train: interrupted, stopping after this minibatch "
                              "(Ctrl-C again to abort at once)\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
}

static void install_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C gets the default action */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

/* The history of this run, for the plot. */
typedef struct history {
    size_t n, first_epoch;
    double *train_loss, *train_acc, *test_loss, *test_acc;
} history;

static int history_alloc(history *h, size_t cap, size_t first_epoch) {
    h->n = 0;
    h->first_epoch = first_epoch;
    h->train_loss = malloc(4 * cap * sizeof(double));
    if (!h->train_loss) return -1;
    h->train_acc = h->train_loss + cap;
    h->test_loss = h->train_acc + cap;
    h->test_acc = h->test_loss + cap;
    return 0;
}

/* Colours: the first two of the widely used "tab10" palette (blue, orange). */
#define COLOR_TRAIN "#1f77b4"
#define COLOR_TEST  "#ff7f0e"

static int write_plot(const train_cfg *c, const train_state *st, const history *h) {
    char title[512], label_loss[32], label_acc[32], net[160];
    cli_describe_net(st->net, net, sizeof net);
    snprintf(title, sizeof title, "nerve train: %s, %s", st->data.name, net);
    snprintf(label_loss, sizeof label_loss, "%s loss", st->data.test_label);
    snprintf(label_acc, sizeof label_acc, "%s accuracy", st->data.test_label);
    int have_test = st->data.test != NULL, cls = st->data.train->labels != NULL;
    svg_series loss[2] = {
        {"train loss", h->train_loss, h->n, COLOR_TRAIN, 0},
        {label_loss, h->test_loss, h->n, COLOR_TEST, 1},
    };
    svg_series acc[2] = {
        {"train accuracy", h->train_acc, h->n, COLOR_TRAIN, 0},
        {label_acc, h->test_acc, h->n, COLOR_TEST, 1},
    };
    svg_panel panels[2] = {
        {"Loss",
         nerve_net_loss(st->net) == NERVE_LOSS_XENT ? "cross-entropy" : "mean squared error", loss,
         have_test ? 2u : 1u, 0, h->first_epoch},
        {"Accuracy", "accuracy", acc, have_test ? 2u : 1u, 1, h->first_epoch},
    };
    if (svg_write(c->plot, title, panels, cls ? 2u : 1u) != 0) {
        cli_note("--plot: cannot write '%s': %s", c->plot, strerror(errno));
        return -1;
    }
    return 0;
}

/* Fraction of rows of `d` whose largest output is the label. */
typedef struct acc_count {
    const int32_t *labels;
    size_t correct;
} acc_count;

static void count_row(void *user, size_t row, const float *out, size_t k) {
    acc_count *a = user;
    if (cli_argmax(out, k) == (size_t)a->labels[row]) a->correct++;
}

static int accuracy_of(nerve_net *net, const nerve_data *d, double *acc) {
    acc_count a = {d->labels, 0};
    int rc = cli_forward_rows(net, d->x, d->n, count_row, &a);
    *acc = d->n ? (double)a.correct / (double)d->n : NAN;
    return rc;
}

/* Loss and accuracy on the held-out set (NaN where not applicable). */
static int measure_test(train_state *st, double *loss, double *acc) {
    *loss = *acc = NAN;
    const nerve_data *te = st->data.test;
    if (!te) return CLI_OK;
    nerve_dataset view = nerve_data_view(st->test_1h ? st->test_1h : te);
    nerve_eval ev;
    nerve_status s = nerve_net_evaluate(st->net, &view, &ev);
    if (s != NERVE_OK) return cli_lib_error(s, "evaluate");
    *loss = ev.loss;
    if (st->test_1h) return accuracy_of(st->net, te, acc);
    if (te->labels) *acc = ev.accuracy;
    return CLI_OK;
}

static void print_banner(FILE *f, const train_cfg *c, const train_state *st, size_t start) {
    const nerve_data *tr = st->data.train, *te = st->data.test;
    char net[160];
    cli_describe_net(st->net, net, sizeof net);
    fprintf(f, "data      %s: %zu train", st->data.name, tr->n);
    if (te) fprintf(f, ", %zu %s", te->n, st->data.test_label);
    if (tr->labels)
        fprintf(f, " (%zu features, %zu classes)\n", tr->in, tr->out);
    else
        fprintf(f, " (%zu features, %zu targets)\n", tr->in, tr->out);
    fprintf(f, "inputs    %s\n", st->prep);
    fprintf(f, "network   %s, %zu parameters", net, nerve_net_param_count(st->net));
    const nerve_epoch_progress cut = nerve_net_epoch_progress(st->net);
    if (c->resume && cut.rows)
        fprintf(f, ", resumed from %s after %zu epochs and %llu of %llu rows of epoch %zu\n",
                c->resume, start, (unsigned long long)cut.rows, (unsigned long long)cut.n,
                start + 1);
    else if (c->resume)
        fprintf(f, ", resumed from %s after %zu epochs\n", c->resume, start);
    else if (c->init)
        fprintf(f, ", weights from %s\n", c->init);
    else
        fprintf(f, ", seed %llu\n", (unsigned long long)c->seed);
    nerve_opt o = nerve_net_optimizer(st->net);
    fprintf(f, "optimizer %s lr %g%s", nerve_opt_name(o.kind), (double)o.lr,
            c->cosine ? " (cosine schedule)" : "");
    if (o.kind == NERVE_OPT_SGD) {
        if (o.momentum > 0)
            fprintf(f, " momentum %g%s", (double)o.momentum, o.nesterov ? " nesterov" : "");
    } else {
        fprintf(f, " betas %g,%g eps %g", (double)o.beta1, (double)o.beta2, (double)o.eps);
    }
    if (o.weight_decay > 0) fprintf(f, " weight decay %g", (double)o.weight_decay);
    fprintf(f, ", batch %zu, %zu epochs%s", c->batch, c->epochs, c->shuffle ? ", shuffled" : "");
    if (c->stop_after && c->stop_after < c->epochs)
        fprintf(f, ", stopping after epoch %zu", c->stop_after);
    if (c->early_stop) fprintf(f, ", early stop after %zu without progress", c->early_stop);
    fputc('\n', f);
    fprintf(f, "cpu       %s kernels, %d threads", nerve_isa_name(nerve_isa_active()),
            cli_threads());
    if (nerve_net_precision(st->net) == NERVE_PRECISION_BF16)
        fprintf(f, ", bf16 products (%s)", nerve_isa_bf16(nerve_isa_active()));
    fputc('\n', f);
    fprintf(f, "model     %s\n", c->out ? c->out : "not saved (no --out)");
    cli_mpi_banner(f, c->batch);
    fflush(f);
}

static void print_epoch(FILE *f, const train_cfg *c, const train_state *st, size_t epoch, float lr,
                        const nerve_eval *tr, double tr_acc, double te_loss, double te_acc,
                        double rate, double secs) {
    if (c->json) {
        json_obj o;
        json_begin(&o, stdout);
        json_uint(&o, "epoch", epoch);
        json_uint(&o, "epochs", c->epochs);
        json_num(&o, "lr", (double)lr);
        json_num(&o, "train_loss", tr->loss);
        json_num(&o, "train_acc", tr_acc);
        json_str(&o, "test_split", st->data.test ? st->data.test_label : "none");
        json_num(&o, "test_loss", te_loss);
        json_num(&o, "test_acc", te_acc);
        json_uint(&o, "samples", tr->n);
        json_num(&o, "samples_per_s", rate);
        json_num(&o, "seconds", secs);
        json_end(&o);
        return;
    }
    if (c->quiet) return;
    int w = snprintf(NULL, 0, "%zu", c->epochs);
    fprintf(f, "epoch %*zu/%zu  lr %-8.3g train loss %.4f", w, epoch, c->epochs, (double)lr,
            tr->loss);
    if (isfinite(tr_acc)) fprintf(f, " acc %6.2f%%", 100 * tr_acc);
    if (st->data.test) {
        fprintf(f, "  %s loss %.4f", st->data.test_label, te_loss);
        if (isfinite(te_acc)) fprintf(f, " acc %6.2f%%", 100 * te_acc);
    }
    fprintf(f, "  %8.0f samples/s  %7.3f s\n", rate, secs);
    fflush(f);
}

/* --early-stop: the parameters of the best epoch so far, layer by layer
 * (weights, then bias), copied out and back through the public accessors. */
static void params_copy(nerve_net *net, float *buf, int restore) {
    size_t L = nerve_net_layers(net), at = 0;
    for (size_t l = 0; l < L; l++) {
        size_t nw = nerve_net_width(net, l) * nerve_net_width(net, l + 1);
        size_t nb = nerve_net_width(net, l + 1);
        float *w = nerve_net_weights(net, l), *b = nerve_net_bias(net, l);
        if (restore) {
            memcpy(w, buf + at, nw * sizeof *w);
            memcpy(b, buf + at + nw, nb * sizeof *b);
        } else {
            memcpy(buf + at, w, nw * sizeof *w);
            memcpy(buf + at + nw, b, nb * sizeof *b);
        }
        at += nw + nb;
    }
}

/* --out: the model with its training state (with --early-stop: the weights
 * kept, none). CLI_OK, or CLI_FAIL with the message printed. */
static int save_model(const train_cfg *c, const train_state *st) {
    nerve_status s = nerve_net_save(st->net, c->out, c->early_stop ? 0 : 1);
    if (s != NERVE_OK) {
        cli_lib_error(s, "--out");
        return CLI_FAIL;
    }
    return CLI_OK;
}

int train_run(const train_cfg *c, train_state *st) {
    FILE *txt = c->json ? stderr : stdout; /* human-readable lines */
    size_t start = (size_t)nerve_net_epoch_count(st->net);
    /* --stop-after: this run's last epoch, the schedule still over --epochs */
    const size_t end = c->stop_after && c->stop_after < c->epochs ? c->stop_after : c->epochs;
    if (c->early_stop && !st->data.test)
        return cli_error(
            "--early-stop needs a validation part (--val-split above 0) or a test set");
    /* under mpirun rank 0 alone prints, evaluates, plots and saves */
    const int rank0 = cli_mpi_rank() == 0;
    if (!c->quiet && rank0) print_banner(txt, c, st, start);
    if (start >= end) {
        cli_note("the model has already been trained for %zu epochs (--%s %zu): nothing to do",
                 start, end < c->epochs ? "stop-after" : "epochs", end);
        return CLI_OK;
    }
    history h;
    if (history_alloc(&h, end - start, start + 1) != 0) return cli_failure("out of memory");
    float *best = NULL;
    size_t best_epoch = 0, since_best = 0;
    double best_loss = INFINITY;
    int stopped_early = 0;
    if (c->early_stop && !(best = malloc(nerve_net_param_count(st->net) * sizeof *best))) {
        free(h.train_loss);
        return cli_failure("out of memory");
    }

    progress bar;
    progress_init(&bar, !c->quiet && rank0);
    nerve_dataset view = nerve_data_view(st->train_1h ? st->train_1h : st->data.train);
    nerve_epoch_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.batch_size = c->batch;
    eo.shuffle = c->shuffle;
    eo.progress = progress_update;
    eo.progress_user = &bar;
    eo.stop = &stop_requested;
    stop_requested = 0;
    install_sigint();

    int rc = CLI_OK, plot_failed = 0, interrupted = 0, measure_failed = 0, saved = 0;
    double total_secs = 0, total_samples = 0, last_acc = NAN, last_loss = NAN;
    /* the library applies the schedule (train_setup.c); the file keeps the
     * base rate */
    for (size_t e = start; e < end; e++) {
        const float lr = nerve_net_epoch_lr(st->net, e);
        /* rows of this epoch trained before (an epoch Ctrl-C cut, resumed):
         * the library continues it and reports the whole epoch */
        const size_t before = (size_t)nerve_net_epoch_progress(st->net).rows;
        progress_begin(&bar, e + 1, c->epochs);
        nerve_eval tr;
        double t0 = cli_now();
        nerve_status s = cli_mpi_train_epoch(st->net, &view, &eo, &tr);
        double secs = cli_now() - t0;
        progress_end(&bar);
        if (s != NERVE_OK) {
            rc = cli_lib_error(s, s == NERVE_ENUMERIC ? "training diverged (try a lower --lr)"
                                                      : "training");
            if (s == NERVE_ENUMERIC) rc = CLI_FAIL;
            break;
        }
        /* cut short: not counted, not reported; the model records where it
         * stopped (under mpirun the library stops every rank after the same
         * batch) */
        if ((stop_requested || cli_mpi_active()) && tr.n < view.n) {
            interrupted = 1;
            break;
        }
        /* the last epoch is trained: save before measuring it, so that a
         * failing (out of memory) or killed evaluation never loses it. Under
         * mpirun the replicas are compared first (after the loop); with
         * --early-stop the measurement decides what is saved. */
        if (e + 1 == end && rank0 && c->out && !c->early_stop && !cli_mpi_active()) {
            if ((rc = save_model(c, st)) != CLI_OK) break;
            saved = 1;
        }
        double tr_acc = st->data.train->labels ? tr.accuracy : NAN;
        /* the epoch is trained and counted: if measuring it fails (out of
         * memory), the model is still saved below; under mpirun rank 0
         * measures and every rank goes on, or none */
        double te_loss = NAN, te_acc = NAN;
        if (rank0 && st->train_1h) rc = accuracy_of(st->net, st->data.train, &tr_acc);
        if (rank0 && rc == CLI_OK) rc = measure_test(st, &te_loss, &te_acc);
        if ((rc = cli_mpi_agree(rc)) != CLI_OK) {
            measure_failed = 1;
            break;
        }
        const double rows = (double)(tr.n - before);
        double rate = secs > 0 ? rows / secs : 0;
        total_secs += secs;
        total_samples += rows;
        h.train_loss[h.n] = tr.loss;
        h.train_acc[h.n] = tr_acc;
        h.test_loss[h.n] = te_loss;
        h.test_acc[h.n] = te_acc;
        h.n++;
        last_acc = st->data.test ? te_acc : tr_acc;
        last_loss = st->data.test ? te_loss : tr.loss;
        if (rank0) print_epoch(txt, c, st, e + 1, lr, &tr, tr_acc, te_loss, te_acc, rate, secs);
        if (rank0 && c->plot && !plot_failed && write_plot(c, st, &h) != 0) plot_failed = 1;
        if (best) { /* rank 0 decides (it alone has the validation loss); all follow */
            int stop_now = 0;
            if (rank0 && te_loss < best_loss) { /* strictly better: the earliest of equals wins */
                best_loss = te_loss;
                best_epoch = e + 1;
                since_best = 0;
                params_copy(st->net, best, 0);
            } else if (rank0 && ++since_best >= c->early_stop) {
                stop_now = 1;
            }
            if (cli_mpi_any(stop_now)) {
                stopped_early = 1;
                break;
            }
        }
        if (cli_mpi_any(stop_requested)) {
            interrupted = 1;
            break;
        }
    }
    signal(SIGINT, SIG_DFL);
    if (interrupted) rc = CLI_INTERRUPTED;

    if ((rc == CLI_OK || rc == CLI_INTERRUPTED) && cli_mpi_active()) {
        const int r = cli_mpi_replicas(c->quiet ? NULL : txt, st->net); /* every rank */
        if (r != CLI_OK) rc = r;
    }
    /* --early-stop: the best epoch's weights, saved without training state
     * (its optimizer state was not kept; docs/cli.md) */
    if (best && best_epoch) {
        params_copy(st->net, best, 1);
        last_loss = h.test_loss[best_epoch - h.first_epoch];
        last_acc = h.test_acc[best_epoch - h.first_epoch];
    }
    free(best);
    if (rank0 && c->out && !saved && (rc == CLI_OK || rc == CLI_INTERRUPTED || measure_failed)) {
        const int r = save_model(c, st);
        if (r != CLI_OK) rc = r;
        saved = r == CLI_OK;
    }
    if (saved && measure_failed) cli_note("--out: the trained model was saved to %s", c->out);
    if (rank0 && (rc == CLI_OK || rc == CLI_INTERRUPTED) && (!c->json || !c->quiet)) {
        FILE *f = c->json ? stderr : stdout;
        const char *what = st->data.test ? st->data.test_label : "train";
        const nerve_epoch_progress cut = nerve_net_epoch_progress(st->net);
        if (interrupted && cut.rows)
            fprintf(f, "interrupted after %llu epochs and %llu of %llu rows of epoch %llu",
                    (unsigned long long)nerve_net_epoch_count(st->net),
                    (unsigned long long)cut.rows, (unsigned long long)cut.n,
                    (unsigned long long)nerve_net_epoch_count(st->net) + 1);
        else if (interrupted)
            fprintf(f, "interrupted after %llu epochs",
                    (unsigned long long)nerve_net_epoch_count(st->net));
        else if (stopped_early)
            fprintf(f, "early stop after %zu epochs (no better %s loss for %zu)",
                    h.first_epoch - 1 + h.n, st->data.test_label, c->early_stop);
        else if (end < c->epochs)
            fprintf(f, "stopped after %zu of %zu epochs (--stop-after)", end, c->epochs);
        else
            fprintf(f, "done: %zu epochs", c->epochs);
        if (best_epoch)
            fprintf(f, ", best %s loss %.4f at epoch %zu (weights kept)", st->data.test_label,
                    best_loss, best_epoch);
        if (h.n) {
            if (isfinite(last_acc)) fprintf(f, ", %s accuracy %.2f%%", what, 100 * last_acc);
            fprintf(f, ", %s loss %.4f", what, last_loss);
            if (total_secs > 0)
                fprintf(f, ", %.0f samples/s over %.2f s of training", total_samples / total_secs,
                        total_secs);
        }
        if (saved) fprintf(f, "; model saved to %s", c->out);
        if (saved && !c->early_stop && (interrupted || end < c->epochs))
            fprintf(f, " (--resume %s continues it)", c->out);
        if (c->plot && h.n && !plot_failed) fprintf(f, "; curves in %s", c->plot);
        fputc('\n', f);
        fflush(f);
    }
    if (plot_failed && rc == CLI_OK) rc = CLI_FAIL;
    free(h.train_loss);
    return rc;
}
