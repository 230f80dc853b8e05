/* --data for train and eval: the library's loaders (nerve/data.h) plus the
 * tool's policy for a held-out split.
 *
 * Sources: "digits" (embedded), "fashion-mnist" (Debian dataset-fashion-mnist),
 * a directory of IDX files, a CSV file (.csv or .csv.gz: features, then the
 * class label in the last column; --targets K: regression on the last K).
 * When the source has no test set, a fraction of the samples (--val-split,
 * default DEFAULT_VAL_SPLIT) is held out with a seeded shuffle and reported
 * as "val"; --val-split 0 keeps all samples for training. --val-split given
 * for a source with a test set holds the fraction out of the training set
 * and uses it instead of the test set. */
#ifndef NERVE_CLI_DATASET_H
#define NERVE_CLI_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/nerve.h"

/* One fifth held out: the usual 80/20 split (also scikit-learn's
 * train_test_split default of 0.25 is close; 0.2 keeps more for training). */
#define DEFAULT_VAL_SPLIT 0.2

typedef struct cli_data {
    char name[128]; /* the source's name before any split */
    nerve_data *train;
    nerve_data *test;       /* NULL: nothing to evaluate on */
    const char *test_label; /* "test" or "val" (held out) */
    /* digits and IDX loaded with raw pixels: the largest pixel value (16,
     * 255) that the model's input transform divides by; 0 for CSV, or when
     * the loader scaled the pixels itself (raw_pixels not asked for) */
    float pixel_max;
} cli_data;

/* Loads `spec` (NULL: "digits"). targets > 0: CSV regression on the last
 * `targets` columns. val_split < 0 means "not given". Returns CLI_OK or the
 * exit status with a one-line message printed; `opt` names the option in
 * messages. */
int cli_data_open(const char *opt, const char *spec, size_t targets, double val_split,
                  uint64_t seed, cli_data *d);
/* The same with every loader option (targets, label column, class names,
 * raw pixels: nerve_csv_opts). */
int cli_data_open_opts(const char *opt, const char *spec, const nerve_csv_opts *csv,
                       double val_split, uint64_t seed, cli_data *d);
/* --label-col: a column number (1-based; negative from the end) or a
 * header name, into csv. CLI_OK or CLI_USAGE with the message printed. */
int cli_label_col(const char *value, nerve_csv_opts *csv);
void cli_data_close(cli_data *d);

/* Classification data trained with --loss mse: a regression copy of src
 * whose targets are the one-hot codes of the labels (width `classes`). */
int cli_data_one_hot(const nerve_data *src, size_t classes, nerve_data **out);

#endif
