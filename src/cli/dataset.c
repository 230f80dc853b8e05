/* --data: load through nerve/data.h, then hold out a validation part. */
#include "dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

int cli_data_open(const char *opt, const char *spec, size_t targets, double val_split,
                  uint64_t seed, cli_data *d) {
    nerve_csv_opts csv;
    memset(&csv, 0, sizeof csv);
    csv.targets = targets;
    return cli_data_open_opts(opt, spec, &csv, val_split, seed, d);
}

int cli_label_col(const char *value, nerve_csv_opts *csv) {
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (!*value) return cli_error("--label-col: empty value");
    if (*end == '\0' && errno == 0) {
        if (v == 0) return cli_error("--label-col: columns count from 1 (or -1 for the last)");
        csv->label_column = v;
        csv->label_name = NULL;
    } else {
        csv->label_name = value;
        csv->label_column = 0;
    }
    return CLI_OK;
}

int cli_data_open_opts(const char *opt, const char *spec, const nerve_csv_opts *csv_in,
                       double val_split, uint64_t seed, cli_data *d) {
    memset(d, 0, sizeof *d);
    if (!spec) spec = "digits";
    nerve_csv_opts csv = *csv_in;
    const size_t targets = csv.targets;
    nerve_data *train = NULL, *test = NULL;
    nerve_status st = nerve_data_load(&train, &test, spec, &csv);
    if (st != NERVE_OK) {
        char what[64];
        snprintf(what, sizeof what, "--%s", opt);
        return cli_lib_error(st, what);
    }
    if (targets && !train->y) {
        nerve_data_free(train);
        nerve_data_free(test);
        return cli_error("--targets: '%s' is not a CSV file (only CSV data can be regression data)",
                         spec);
    }
    if (test && test->in != train->in) {
        nerve_data_free(train);
        nerve_data_free(test);
        return cli_error("--%s: the test set has %zu features, the training set %zu", opt, test->in,
                         train->in);
    }
    d->test_label = "test";
    if (csv.raw_pixels && (strcmp(spec, "digits") == 0 || test)) /* as nerve_data_load */
        d->pixel_max = strcmp(spec, "digits") == 0 ? 16.0f : 255.0f;
    snprintf(d->name, sizeof d->name, "%s", test ? spec : train->name);
    double frac = val_split;
    if (frac < 0) frac = test ? 0.0 : DEFAULT_VAL_SPLIT;
    if (frac > 0) {
        nerve_data *rest = NULL, *held = NULL;
        st = nerve_data_split(train, frac, seed, &rest, &held);
        if (st != NERVE_OK) {
            nerve_data_free(train);
            nerve_data_free(test);
            return cli_lib_error(st, "--val-split");
        }
        if (test)
            cli_note("--val-split: validating on %zu held-out samples instead of the %zu of the "
                     "test set",
                     held->n, test->n);
        nerve_data_free(train);
        nerve_data_free(test);
        train = rest;
        test = held;
        d->test_label = "val";
    }
    d->train = train;
    d->test = test;
    return CLI_OK;
}

void cli_data_close(cli_data *d) {
    nerve_data_free(d->train);
    nerve_data_free(d->test);
    memset(d, 0, sizeof *d);
}

int cli_data_one_hot(const nerve_data *src, size_t classes, nerve_data **out) {
    nerve_data *d = NULL;
    nerve_status st = nerve_data_create(&d, src->n, src->in, classes, 0, src->name);
    if (st != NERVE_OK) return cli_lib_error(st, "one-hot targets");
    if (src->n) memcpy(d->x, src->x, src->n * src->in * sizeof *d->x);
    for (size_t i = 0; i < src->n; i++) d->y[i * classes + (size_t)src->labels[i]] = 1.0f;
    *out = d;
    return CLI_OK;
}
