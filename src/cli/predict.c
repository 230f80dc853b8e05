/* nerve predict: one prediction per row of a CSV file. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "common.h"
#include "dataset.h"

static const cli_option options[] = {
    {"model", "FILE", "the model (required)"},
    {"input", "FILE.csv",
     "rows of features (one column for a 1-input model), optionally\n"
     "followed by one more column (a label, ignored); .csv.gz\n"
     "accepted; a header line is skipped; - reads standard input (a\n"
     "pipe too; /dev/stdin only when it is a regular file)"},
    {"label-col", "N|NAME",
     "the column to ignore (label), by number or header name\n"
     "(default: the last one, when there is one more than features)"},
    {"scale", "S",
     "only for models without a stored input transform (nerve 0.1\n"
     "files): multiply every feature by S first (digits: 0.0625,\n"
     "IDX images: 1/255; default 1)"},
    {"threads", "N", HELP_THREADS},
    {"isa", "ISA", HELP_ISA},
};
#define N_OPTIONS (sizeof options / sizeof options[0])
#define GET(name) cli_value(options, N_OPTIONS, v, name)

/* A class name as a CSV field: quoted when it holds a comma or a quote. */
static void print_name(const char *name) {
    if (!strpbrk(name, ",\"")) {
        fputs(name, stdout);
        return;
    }
    putchar('"');
    for (const char *p = name; *p; p++) {
        if (*p == '"') putchar('"');
        putchar(*p);
    }
    putchar('"');
}

/* The first row whose outputs are not all finite (a feature far outside
 * the training range overflows the network): reported, exit 1, instead of
 * printing NaN. */
typedef struct pred_state {
    const nerve_net *net;
    double *p;
    size_t bad_row; /* SIZE_MAX: none */
} pred_state;

static int outputs_finite(pred_state *s, size_t row, const float *out, size_t k) {
    for (size_t j = 0; j < k; j++)
        if (!isfinite(out[j])) {
            if (s->bad_row == SIZE_MAX) s->bad_row = row;
            return 0;
        }
    return s->bad_row == SIZE_MAX;
}

/* Probabilities with 6 significant digits: enough to rank and to read. */
static void print_class(void *user, size_t row, const float *out, size_t k) {
    pred_state *s = user;
    if (!outputs_finite(s, row, out, k)) return;
    double *p = s->p;
    cli_softmax(out, k, p);
    size_t best = cli_argmax(out, k);
    const char *name = nerve_net_class_name(s->net, best);
    if (name)
        print_name(name);
    else
        printf("%zu", best);
    for (size_t j = 0; j < k; j++) printf(",%.6g", p[j]);
    putchar('\n');
}

/* Regression outputs with 9 significant digits (a float round-trips). */
static void print_outputs(void *user, size_t row, const float *out, size_t k) {
    if (!outputs_finite(user, row, out, k)) return;
    for (size_t j = 0; j < k; j++) printf(j ? ",%.9g" : "%.9g", (double)out[j]);
    putchar('\n');
}

/* Reads the CSV through the library's loader. Without --label-col, first as
 * features only (nerve_csv_opts.features_only: a one-column file for a
 * 1-input model too): exactly the model's features are used as they are,
 * one column more is a label and left out. When that read fails (a label
 * that is not a number) the file is read again with its last column as the
 * label, whatever it holds (NERVE_CSV_LABELS_NAMES), and ignored; when that
 * fails too, or leaves one feature too few (every column should have been
 * a number), the first read's error is the one reported. With --label-col
 * only the second way, with that column. */
static int load_input(const char *path, size_t in, float scale, const nerve_csv_opts *base,
                      float **x, size_t *n) {
    nerve_data *d = NULL;
    nerve_status st = NERVE_EFORMAT;
    char first_error[1024] = "";
    if (!base->label_name && !base->label_column) {
        nerve_csv_opts f;
        memset(&f, 0, sizeof f);
        f.features_only = 1;
        f.feature_scale = scale;
        st = nerve_data_load_csv(&d, path, &f);
        if (st != NERVE_OK && st != NERVE_EFORMAT) return cli_lib_error(st, "--input");
        if (st != NERVE_OK) snprintf(first_error, sizeof first_error, "%s", nerve_last_error());
    }
    if (st != NERVE_OK) { /* a label column, ignored */
        nerve_csv_opts o = *base;
        o.labels = NERVE_CSV_LABELS_NAMES;
        o.feature_scale = scale;
        st = nerve_data_load_csv(&d, path, &o);
        /* no fit with a label either: a feature that is not a number when
         * the file could not be read, or when its columns are just the
         * model's features */
        if (*first_error && (st != NERVE_OK || d->in + 1 == in)) {
            nerve_data_free(d);
            return cli_error("--input: %s", first_error);
        }
        if (st != NERVE_OK) return cli_lib_error(st, "--input");
    }
    const size_t cols = d->labels ? d->in + 1 : d->in;
    if (d->in != in && !(!d->labels && d->in == in + 1)) {
        cli_error("--input: %s has %zu columns; the model takes %zu features (optionally followed "
                  "by a label column)",
                  path, cols, in);
        nerve_data_free(d);
        return CLI_USAGE;
    }
    float *buf = malloc((d->n ? d->n : 1) * in * sizeof *buf);
    if (!buf) {
        nerve_data_free(d);
        return cli_failure("out of memory");
    }
    for (size_t i = 0; i < d->n; i++) memcpy(buf + i * in, d->x + i * d->in, in * sizeof *buf);
    *n = d->n;
    *x = buf;
    nerve_data_free(d);
    return CLI_OK;
}

/* nerve_net_predict (raw features in, the model's transforms applied) over
 * chunks of rows, like cli_forward_rows: the same chunks, so a format 1
 * model prints what nerve 0.1 printed. Every row is checked before anything
 * is printed: a bad value writes nothing.
 * The network is not prepared (nerve_net_prepare_inference): that pays for
 * many small calls, and here there is one call per 1024 rows. Measured on
 * 784-256-128-10, one row, one thread: prepare + predict took 1.9-2.5x the
 * time of predict alone; a whole `nerve predict` of one row, 0.98-1.05x
 * (process start and model load dominate). */
static int predict_rows(const nerve_net *net, const float *x, size_t n, cli_row_fn fn, void *user) {
    const size_t in = nerve_net_width(net, 0), k = nerve_net_width(net, nerve_net_layers(net));
    const size_t chunk = 1024;
    if (n == 0) return CLI_OK;
    float *out = malloc(n * k * sizeof *out);
    if (!out) return cli_failure("out of memory");
    for (size_t r = 0; r < n; r += chunk) {
        size_t m = n - r < chunk ? n - r : chunk;
        nerve_status st = nerve_net_predict(net, x + r * in, m, out + r * k);
        if (st != NERVE_OK) {
            free(out);
            return cli_lib_error(st, "--input");
        }
    }
    for (size_t i = 0; i < n; i++) fn(user, i, out + i * k, k);
    free(out);
    return CLI_OK;
}

int cmd_predict(int argc, char **argv) {
    const char *v[N_OPTIONS];
    int rc =
        cli_parse("Usage: nerve predict --model FILE --input FILE.csv [options]\n\n"
                  "Prints one line per input row on stdout. Classifiers (loss xent): the class\n"
                  "with the largest logit, then the softmax probability of every class,\n"
                  "comma-separated. Other models: the network's outputs, comma-separated.",
                  options, N_OPTIONS, argc, argv, v);
    if (rc == CLI_HELP) return CLI_OK;
    if (rc != CLI_OK) return rc;
    const char *model = GET("model"), *input = GET("input"), *s;
    if (!model) return cli_error("--model FILE is required");
    if (!input) return cli_error("--input FILE.csv is required");
    float scale = 1.0f;
    /* 1e6: far beyond any sensible rescaling; catches typos */
    if ((s = GET("scale")) && (rc = arg_float("scale", s, -1e6, 1e6, &scale)) != CLI_OK) return rc;
    if (scale == 0.0f) return cli_error("--scale: 0 would erase every feature");
    nerve_csv_opts csv;
    memset(&csv, 0, sizeof csv);
    if ((s = GET("label-col")) && (rc = cli_label_col(s, &csv)) != CLI_OK) return rc;
    if ((rc = cli_apply_isa(GET("isa"))) != CLI_OK) return rc;
    if ((rc = cli_apply_threads(GET("threads"))) != CLI_OK) return rc;

    nerve_net *net = NULL;
    if ((rc = cli_load_model("model", model, &net)) != CLI_OK) return rc;
    float *x = NULL;
    size_t n = 0, in = nerve_net_width(net, 0), k = nerve_net_width(net, nerve_net_layers(net));
    if (GET("scale") && nerve_net_has_input_transform(net)) {
        nerve_net_free(net);
        return cli_error("--scale: %s carries its own input transform; give raw features", model);
    }
    char stdin_copy[4096];
    const int from_stdin = strcmp(input, "-") == 0;
    if (from_stdin && (rc = cli_stdin_to_file("input", stdin_copy, sizeof stdin_copy)) != CLI_OK) {
        nerve_net_free(net);
        return rc;
    }
    rc = load_input(from_stdin ? stdin_copy : input, in, scale, &csv, &x, &n);
    if (from_stdin) unlink(stdin_copy);
    if (rc == CLI_OK) {
        pred_state ps = {net, NULL, SIZE_MAX};
        if (nerve_net_loss(net) == NERVE_LOSS_XENT) {
            ps.p = malloc(k * sizeof *ps.p);
            if (!ps.p)
                rc = cli_failure("out of memory");
            else
                rc = predict_rows(net, x, n, print_class, &ps);
            free(ps.p);
        } else {
            rc = predict_rows(net, x, n, print_outputs, &ps);
        }
        if (rc == CLI_OK && ps.bad_row != SIZE_MAX)
            rc = cli_failure("--input: row %zu: the model's outputs are not finite (a feature far "
                             "outside the range it was trained on?); %zu rows printed",
                             ps.bad_row + 1, ps.bad_row);
        if (fflush(stdout) != 0 && rc == CLI_OK) rc = cli_failure("cannot write the predictions");
    }
    free(x);
    nerve_net_free(net);
    return rc;
}
