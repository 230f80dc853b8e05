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
#include "prep.h"

static const cli_option options[] = {
    {"model", "FILE", "the model to evaluate (required)"},
    {"data", "SOURCE",
     "as for train (default digits); the test set when the data has\n"
     "one, else the part train held out (same --val-split, --seed)"},
    {"targets", "K",
     "CSV regression: the last K columns are targets (default: the\n"
     "model's outputs when it is a regression model)"},
    {"label-col", "N|NAME", "CSV: the label (or first target) column, as for train"},
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

static void print_matrix(const confusion *c, const nerve_net *net) {
    if (nerve_net_class_name(net, 0)) {
        printf("classes  ");
        for (size_t j = 0; j < c->k; j++)
            printf(" %zu %s%s", j, nerve_net_class_name(net, j), j + 1 < c->k ? "," : "\n");
    }
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

/* Regression metrics in the targets' own units (predictions mapped back by
 * the model's output transform): RMSE and MAE over every output value, R^2
 * = 1 - SS_res / SS_tot per output, averaged over the outputs. */
typedef struct reg_metrics {
    double rmse, mae, r2;
} reg_metrics;

static void regression_metrics(const float *pred, const float *y, size_t n, size_t k,
                               reg_metrics *m) {
    double se = 0, ae = 0, r2 = 0;
    for (size_t j = 0; j < k; j++) {
        double mean = 0, res = 0, tot = 0;
        for (size_t i = 0; i < n; i++) mean += y[i * k + j];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double e = (double)pred[i * k + j] - y[i * k + j], t = y[i * k + j] - mean;
            res += e * e;
            tot += t * t;
            ae += fabs(e);
        }
        se += res;
        r2 += tot > 0 ? 1.0 - res / tot : NAN;
    }
    m->rmse = sqrt(se / (double)(n * k));
    m->mae = ae / (double)(n * k);
    m->r2 = r2 / (double)k;
}

static void print_json(const nerve_eval *ev, const confusion *c, int cls, const reg_metrics *rm) {
    json_obj o;
    json_begin(&o, stdout);
    json_num(&o, "loss", ev->loss);
    json_num(&o, "accuracy", cls ? ev->accuracy : NAN);
    json_uint(&o, "n", ev->n);
    json_num(&o, "rmse", rm ? rm->rmse : NAN);
    json_num(&o, "mae", rm ? rm->mae : NAN);
    json_num(&o, "r2", rm ? rm->r2 : NAN);
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

static int evaluate(nerve_net *net, nerve_data *d, const char *model, int json) {
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
    /* regression: the raw features and targets, for predictions in the
     * targets' units; then everything through the model's transforms */
    float *raw_x = NULL, *raw_y = NULL, *pred = NULL;
    reg_metrics rm = {NAN, NAN, NAN};
    if (!cls && d->n) {
        raw_x = malloc(d->n * in * sizeof *raw_x);
        raw_y = malloc(d->n * k * sizeof *raw_y);
        pred = malloc(d->n * k * sizeof *pred);
        if (!raw_x || !raw_y || !pred) rc = cli_failure("out of memory");
        if (rc == CLI_OK) {
            memcpy(raw_x, d->x, d->n * in * sizeof *raw_x);
            memcpy(raw_y, d->y, d->n * k * sizeof *raw_y);
            nerve_status ps = nerve_net_predict(net, raw_x, d->n, pred);
            if (ps != NERVE_OK) rc = cli_lib_error(ps, "--data");
        }
        if (rc == CLI_OK) regression_metrics(pred, raw_y, d->n, k, &rm);
        free(raw_x);
        free(raw_y);
        free(pred);
        if (rc != CLI_OK) return rc;
    }
    if ((rc = prep_apply(net, d, "--data")) != CLI_OK) return rc;
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
            print_json(&ev, &c, cls, cls ? NULL : &rm);
        } else {
            char desc[160];
            cli_describe_net(net, desc, sizeof desc);
            printf("model     %s: %s\n", model, desc);
            printf("data      %s: %zu samples\n", d->name, d->n);
            printf("loss      %.6f (%s%s)\n", ev.loss, nerve_loss_name(nerve_net_loss(net)),
                   !cls && nerve_net_has_output_transform(net) ? ", in the network's units" : "");
            if (!cls)
                printf("rmse      %.6g\nmae       %.6g\nr2        %.6f\n", rm.rmse, rm.mae, rm.r2);
            if (cls) {
                printf("accuracy  %.2f%% (%zu of %zu)\n", 100 * ev.accuracy, c.correct, d->n);
                if (c.m)
                    print_matrix(&c, net);
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
    double split = -1;
    uint64_t seed = 1;
    nerve_csv_opts csv;
    memset(&csv, 0, sizeof csv);
    if ((s = GET("targets")) && (rc = arg_size("targets", s, 1, 4096, &csv.targets)) != CLI_OK)
        return rc;
    if ((s = GET("label-col")) && (rc = cli_label_col(s, &csv)) != CLI_OK) return rc;
    if ((s = GET("val-split")) && (rc = arg_double("val-split", s, 0.0, 0.9, &split)) != CLI_OK)
        return rc;
    if ((s = GET("seed")) && (rc = arg_u64("seed", s, &seed)) != CLI_OK) return rc;
    if ((rc = cli_apply_isa(GET("isa"))) != CLI_OK) return rc;
    if ((rc = cli_apply_threads(GET("threads"))) != CLI_OK) return rc;

    nerve_net *net = NULL;
    if ((rc = cli_load_model("model", model, &net)) != CLI_OK) return rc;
    cli_data d;
    const char **names = prep_csv_for_model(net, &csv);
    rc = prep_precheck_csv(net, GET("data"), &csv);
    if (rc == CLI_OK) rc = cli_data_open_opts("data", GET("data"), &csv, split, seed, &d);
    free(names);
    if (rc == CLI_OK) {
        rc = evaluate(net, d.test ? d.test : d.train, model, GET("json") != NULL);
        cli_data_close(&d);
    }
    nerve_net_free(net);
    return rc;
}
