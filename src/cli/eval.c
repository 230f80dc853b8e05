/* nerve eval: loss, accuracy and confusion matrix of a saved model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "common.h"
#include "dataset.h"
#include "json.h"

static const cli_option options[] = {
    {"model", "FILE", "the model to evaluate (required)"},
    {"data", "SOURCE",
     "as for train (default digits); the test set when the data has\n"
     "one, else the part train held out (same --val-split, --seed)"},
    {"targets", "K", "CSV regression: the last K columns are targets"},
    {"val-split", "FRACTION", "as for train (default 0.2); 0 evaluates every sample"},
    {"seed", "S", "seed of the held-out split, as for train (default 1)"},
    {"threads", "N", HELP_THREADS},
    {"isa", "ISA", HELP_ISA},
    {"json", NULL, "print one JSON object (loss, accuracy, n, confusion) instead"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])
#define GET(name) cli_value(options, N_OPTIONS, v, name)

/* Widest confusion matrix printed as a table; larger ones are summarised by
 * the accuracy (a terminal line holds about this many 6-wide columns). */
#define MAX_TABLE_CLASSES 20
/* Widest confusion matrix given in --json (8 MiB of counts); wider ones are
 * "confusion": null. The matrix is allocated only when it is printed. */
#define MAX_JSON_CLASSES 1024

typedef struct confusion {
    const int32_t *labels;
    size_t k;
    size_t *m; /* k x k: m[true * k + predicted], or NULL when not printed */
    size_t correct;
} confusion;

static void count(void *user, size_t row, const float *out, size_t k) {
    confusion *c = user;
    const size_t label = (size_t)c->labels[row], pred = cli_argmax(out, k);
    if (c->m) c->m[label * c->k + pred]++;
    c->correct += label == pred;
}

static void print_matrix(const confusion *c) {
    printf("confusion matrix (rows: true class, columns: predicted class)\n      ");
    for (size_t j = 0; j < c->k; j++) printf("%6zu", j);
    printf("  recall\n");
    for (size_t i = 0; i < c->k; i++) {
        size_t row = 0;
        printf("%6zu", i);
        for (size_t j = 0; j < c->k; j++) {
            printf("%6zu", c->m[i * c->k + j]);
            row += c->m[i * c->k + j];
        }
        if (row)
            printf("  %5.1f%%\n", 100.0 * (double)c->m[i * c->k + i] / (double)row);
        else
            printf("      -\n");
    }
}

static void print_json(const nerve_eval *ev, const confusion *c, int cls) {
    json_obj o;
    json_begin(&o, stdout);
    json_num(&o, "loss", ev->loss);
    json_num(&o, "accuracy", cls ? ev->accuracy : NAN);
    json_uint(&o, "n", ev->n);
    if (cls && !c->m) {
        fputs(",\"confusion\":null", stdout);
    } else if (cls) {
        fputs(",\"confusion\":[", stdout);
        for (size_t i = 0; i < c->k; i++) {
            fputs(i ? ",[" : "[", stdout);
            for (size_t j = 0; j < c->k; j++) printf(j ? ",%zu" : "%zu", c->m[i * c->k + j]);
            fputc(']', stdout);
        }
        fputc(']', stdout);
    }
    json_end(&o);
}

static int evaluate(nerve_net *net, const nerve_data *d, const char *model, int json) {
    size_t in = nerve_net_width(net, 0), k = nerve_net_width(net, nerve_net_layers(net));
    int cls = d->labels != NULL, mse = nerve_net_loss(net) == NERVE_LOSS_MSE;
    if (in != d->in)
        return cli_error("--data: the model takes %zu inputs but %s has %zu features", in, d->name,
                         d->in);
    if (cls && k < d->out)
        return cli_error("--data: the model has %zu outputs but %s has %zu classes", k, d->name,
                         d->out);
    if (!cls && (k != d->out || !mse))
        return cli_error("--data: %s has %zu regression targets; the model has %zu %s outputs",
                         d->name, d->out, k, nerve_loss_name(nerve_net_loss(net)));

    int rc = CLI_OK;
    nerve_data *onehot = NULL;
    confusion c = {d->labels, k, NULL, 0};
    if (cls && mse) { /* a classifier trained on one-hot targets */
        nerve_status s = nerve_data_create(&onehot, d->n, d->in, k, 0, d->name);
        if (s != NERVE_OK) return cli_lib_error(s, "one-hot targets");
        if (d->n) memcpy(onehot->x, d->x, d->n * d->in * sizeof(float));
        for (size_t i = 0; i < d->n; i++) onehot->y[i * k + (size_t)d->labels[i]] = 1.0f;
    }
    nerve_dataset view = nerve_data_view(onehot ? onehot : d);
    nerve_eval ev;
    nerve_status s = nerve_net_evaluate(net, &view, &ev);
    if (s != NERVE_OK) rc = cli_lib_error(s, "evaluate");
    if (rc == CLI_OK && cls) {
        if (k <= (json ? MAX_JSON_CLASSES : MAX_TABLE_CLASSES)) {
            c.m = calloc(k * k, sizeof *c.m);
            if (!c.m) rc = cli_failure("out of memory for the %zu x %zu confusion matrix", k, k);
        }
        if (rc == CLI_OK) rc = cli_forward_rows(net, d->x, d->n, count, &c);
        if (rc == CLI_OK && mse) /* the library reports no accuracy for mse */
            ev.accuracy = d->n ? (double)c.correct / (double)d->n : NAN;
    }
    if (rc == CLI_OK) {
        if (json) {
            print_json(&ev, &c, cls);
        } else {
            char desc[160];
            cli_describe_net(net, desc, sizeof desc);
            printf("model     %s: %s\n", model, desc);
            printf("data      %s: %zu samples\n", d->name, d->n);
            printf("loss      %.6f (%s)\n", ev.loss, nerve_loss_name(nerve_net_loss(net)));
            if (cls) {
                printf("accuracy  %.2f%% (%zu of %zu)\n", 100 * ev.accuracy, c.correct, d->n);
                if (c.m)
                    print_matrix(&c);
                else
                    printf("(confusion matrix of %zu classes not printed%s)\n", k,
                           k <= MAX_JSON_CLASSES ? "; --json gives it" : "");
            }
        }
    }
    free(c.m);
    nerve_data_free(onehot);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    const char *v[N_OPTIONS];
    int rc = cli_parse("Usage: nerve eval --model FILE [--data SOURCE] [options]\n\n"
                       "Prints the model's mean loss on the data, and for classes the accuracy\n"
                       "and the confusion matrix with each class's recall.",
                       options, N_OPTIONS, argc, argv, v);
    if (rc == CLI_HELP) return CLI_OK;
    if (rc != CLI_OK) return rc;
    const char *model = GET("model"), *s;
    if (!model) return cli_error("--model FILE is required");
    size_t targets = 0;
    double split = -1;
    uint64_t seed = 1;
    if ((s = GET("targets")) && (rc = arg_size("targets", s, 1, 4096, &targets)) != CLI_OK)
        return rc;
    if ((s = GET("val-split")) && (rc = arg_double("val-split", s, 0.0, 0.9, &split)) != CLI_OK)
        return rc;
    if ((s = GET("seed")) && (rc = arg_u64("seed", s, &seed)) != CLI_OK) return rc;
    if ((rc = cli_apply_isa(GET("isa"))) != CLI_OK) return rc;
    if ((rc = cli_apply_threads(GET("threads"))) != CLI_OK) return rc;

    nerve_net *net = NULL;
    if ((rc = cli_load_model("model", model, &net)) != CLI_OK) return rc;
    cli_data d;
    rc = cli_data_open("data", GET("data"), targets, split, seed, &d);
    if (rc == CLI_OK) {
        rc = evaluate(net, d.test ? d.test : d.train, model, GET("json") != NULL);
        cli_data_close(&d);
    }
    nerve_net_free(net);
    return rc;
}
