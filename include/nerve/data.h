/* nerve: data sets in memory and their loaders (docs/data.md).
 *
 * A nerve_data owns its memory: features x [n x in] (row-major float32) and
 * either class labels [n] (int32, 0 <= label < out) or regression targets
 * y [n x out] (float32), or, read from a CSV file of features alone,
 * neither. nerve_data_view() gives the nerve_dataset view that the training
 * functions of net.h take; the view borrows the memory.
 *
 * Sources:
 *   - "digits": 1,797 8x8 handwritten digits compiled into the library
 *     (pixels 0..16 scaled to [0, 1], 10 classes); no file needed.
 *   - "fashion-mnist": the directory /usr/share/datasets/fashion-mnist
 *     (Debian package dataset-fashion-mnist).
 *   - IDX files (the MNIST layout), raw or gzip-compressed; a directory
 *     holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
 *     t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each optionally
 *     with ".gz") loads as train + test. Pixels are scaled to [0, 1].
 *   - CSV files, raw or gzip-compressed (see nerve_csv_opts).
 *
 * Every file is untrusted: sizes in headers are checked against the length
 * of the (decompressed) data before anything is allocated, decompression
 * stops at NERVE_DATA_MAX_BYTES, and a bad file gives NERVE_EFORMAT with a
 * message naming the file, and for CSV the line and column. */
#ifndef NERVE_DATA_H
#define NERVE_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/errors.h"
#include "nerve/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest file content (after decompression) a loader accepts: 2^31 bytes. */
#define NERVE_DATA_MAX_BYTES ((size_t)1 << 31)

typedef struct nerve_data {
    char name[128];    /* "digits", "fashion-mnist (train)", a file name, ... */
    float *x;          /* n x in features */
    int32_t *labels;   /* n class indices in [0, out), or NULL (regression) */
    float *y;          /* n x out targets, or NULL (classification) */
    size_t n, in, out; /* out: number of classes or target width; 0 for a
                        * features-only CSV (nerve_csv_opts.features_only:
                        * labels and y both NULL) */
    /* Classification from a CSV with text labels ("setosa"): the name of
     * each class index, out NUL-terminated strings in byte order; NULL when
     * the labels were numbers (and for regression). */
    char **class_names;
} nerve_data;

/* Allocates a zero-filled data set of n samples: classification (labels)
 * when classification != 0, else regression (y [n x out]). n may be 0;
 * in and out must be >= 1. */
NERVE_API nerve_status nerve_data_create(nerve_data **out, size_t n, size_t in, size_t outs,
                                         int classification, const char *name);
/* Frees the data set and everything it owns; NULL is allowed. */
NERVE_API void nerve_data_free(nerve_data *data);
/* The borrowed view for nerve_net_train_epoch() / nerve_net_evaluate(). */
NERVE_API nerve_dataset nerve_data_view(const nerve_data *data);

/* Header line handling for CSV. */
typedef enum nerve_csv_header {
    NERVE_CSV_HEADER_AUTO = 0, /* the first line is a header when a field of it is not a
                                * number but the same field of the next line is (with one
                                * line: when any field is not a number) */
    NERVE_CSV_HEADER_NONE = 1,
    NERVE_CSV_HEADER_PRESENT = 2
} nerve_csv_header;

/* How CSV class labels are read. */
typedef enum nerve_csv_labels {
    NERVE_CSV_LABELS_AUTO = 0, /* numbers (0, 1, ...) unless some label is not a number: then
                                * every label is a name */
    NERVE_CSV_LABELS_NUMERIC = 1,
    NERVE_CSV_LABELS_NAMES = 2 /* every label is a name, "3" included */
} nerve_csv_labels;

/* CSV options; all-zero gives the defaults (header detected, ',' separated,
 * classification with the label in the last column, classes inferred). */
typedef struct nerve_csv_opts {
    nerve_csv_header header;
    char delimiter; /* 0: ',' */
    /* The label column (classification) or the first of the target columns
     * (regression), counted from 1 like the columns in error messages;
     * negative counts from the end (-1: the last column). 0, the default,
     * means the last column, or the last `targets` columns for regression. */
    long label_column;
    size_t targets;      /* 0: classification; k > 0: regression on k target columns */
    size_t classes;      /* classification: 0 infers max label + 1; else labels must be < classes */
    float feature_scale; /* features are multiplied by this; 0 means 1 */
    /* The label column by its header name (needs a header; overrides
     * label_column). NULL: by label_column. */
    const char *label_name;
    nerve_csv_labels labels;
    /* Text labels must be one of these n_class_names names (a model's
     * classes; their order gives the indices); a label not among them is
     * NERVE_EFORMAT naming it. NULL: the names are the labels found,
     * sorted by bytes. Implies NERVE_CSV_LABELS_NAMES. */
    const char *const *class_names;
    size_t n_class_names;
    /* nerve_data_load: digits and IDX pixels as stored (0..16, 0..255)
     * instead of scaled to [0, 1], for a model whose input transform does the
     * scaling (the CLI's way). */
    int raw_pixels;
    /* Rows of features only, no label or target column (appended in 0.2;
     * 0, the default, keeps the label column): every column is a feature,
     * so a one-column file is one feature per row, for predicting with a
     * 1-input model (nerve_net_predict and the forward calls take x alone).
     * The data set has labels and y NULL and out 0; training, evaluation
     * and nerve_data_split refuse it (NERVE_EINVAL). targets, classes,
     * label_column, label_name, labels and class_names must stay 0/NULL
     * with it (NERVE_EINVAL otherwise). CSV files only: nerve_data_load's
     * other sources come with their labels. */
    int features_only;
} nerve_csv_opts;

/* Reads a CSV file (gzip detected from its first bytes). Every non-empty
 * line is one sample; all rows need the same number of fields; fields are
 * decimal numbers (surrounding blanks allowed, no NaN/Inf); labels are
 * non-negative integers or names (nerve_csv_labels), or absent with
 * features_only. `opts` NULL means the defaults. */
NERVE_API nerve_status nerve_data_load_csv(nerve_data **out, const char *path,
                                           const nerve_csv_opts *opts);

/* Reads an IDX images file (unsigned bytes, >= 2 dimensions: n x d1 x ...,
 * features = d1 * d2 * ..., scaled by 1/255) and an IDX labels file
 * (unsigned bytes, 1 dimension, n entries). Classes = max label + 1. */
NERVE_API nerve_status nerve_data_load_idx(nerve_data **out, const char *images_path,
                                           const char *labels_path);
/* Reads the four standard IDX files of a directory as train and test; both
 * get the same number of classes (max label of both + 1). */
NERVE_API nerve_status nerve_data_load_idx_dir(nerve_data **train, nerve_data **test,
                                               const char *dir);

/* The embedded digits data set (1,797 samples, 64 features, 10 classes). */
NERVE_API nerve_status nerve_data_load_digits(nerve_data **out);

/* Loads by name or path: "digits", "fashion-mnist", a directory of IDX
 * files, or a CSV file (csv_opts apply; NULL for defaults). *test is set to
 * NULL when the source has no separate test set. test may be NULL when not
 * wanted (it is then freed). */
NERVE_API nerve_status nerve_data_load(nerve_data **train, nerve_data **test, const char *what,
                                       const nerve_csv_opts *csv_opts);

/* Splits src into *rest and *held: a seeded shuffle of the sample order
 * (docs/data.md names the generator), the first floor(fraction * n) samples
 * of it held out. 0 < fraction < 1; both parts must be non-empty. src is
 * not changed. */
NERVE_API nerve_status nerve_data_split(const nerve_data *src, double fraction, uint64_t seed,
                                        nerve_data **rest, nerve_data **held);

/* Per-feature mean and population standard deviation over the samples of
 * `fit`, computed in double and rounded to float, for an input transform
 * (nerve_net_set_input_transform: shift = mean, scale = sd). A feature whose
 * deviation is 0 (constant) or too small to divide by (below 1e-30) gets
 * scale 1, so it is only centred. mean and sd hold fit->in floats.
 * NERVE_EINVAL when fit has no samples. */
NERVE_API nerve_status nerve_data_feature_stats(const nerve_data *fit, float *mean, float *sd);
/* The same over the regression targets (fit->out floats each), for an
 * output transform; NERVE_EINVAL for classification data. */
NERVE_API nerve_status nerve_data_target_stats(const nerve_data *fit, float *mean, float *sd);

/* Standardizes every feature to mean 0, standard deviation 1 using the
 * statistics of `fit` (computed in double), applied to `fit` and, if not
 * NULL, to `other` (e.g. the test set with the training statistics).
 * Constant features are only centred. NERVE_EINVAL if the widths differ or
 * fit has no samples. */
NERVE_API nerve_status nerve_data_standardize(nerve_data *fit, nerve_data *other);

#ifdef __cplusplus
}
#endif
#endif
