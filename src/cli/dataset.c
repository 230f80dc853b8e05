/* --data: load through nerve/data.h, then hold out a validation part. */
#include "dataset.h"

#include <stdio.h>
#include <string.h>

#include "args.h"

int cli_data_open(const char *opt, const char *spec, size_t targets, double val_split,
                  uint64_t seed, cli_data *d) {
    memset(d, 0, sizeof *d);
    if (!spec) spec = "digits";
    nerve_csv_opts csv;
    memset(&csv, 0, sizeof csv);
    csv.targets = targets;
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
