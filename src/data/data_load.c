/* Data sets by name: the embedded digits, installed data sets, directories of
 * IDX files and CSV files. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_internal.h"
#include "error.h"

/* Where Debian's dataset-fashion-mnist package installs the four files. */
#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* The digits CSV: 64 pixel values 0..16 then the label; no header. */
#define DIGITS_CLASSES   10
#define DIGITS_PIXEL_MAX 16.0f

nerve_status nerve_data_load_digits(nerve_data **out) {
    CHECK_ARG(out != NULL, "nerve_data_load_digits: out is NULL");
    *out = NULL;
    uint8_t *text;
    size_t len;
    nerve_status st = data_gunzip(nerve_digits_csv_gz, nerve_digits_csv_gz_len,
                                  NERVE_DATA_MAX_BYTES, "digits", &text, &len);
    if (st != NERVE_OK) return st;
    nerve_csv_opts o;
    memset(&o, 0, sizeof o);
    o.header = NERVE_CSV_HEADER_NONE;
    o.classes = DIGITS_CLASSES;
    o.feature_scale = 1.0f / DIGITS_PIXEL_MAX; /* exact: a power of two */
    st = csv_parse((const char *)text, len, "digits", &o, out);
    free(text);
    return st;
}

nerve_status nerve_data_load(nerve_data **train, nerve_data **test, const char *what,
                             const nerve_csv_opts *csv_opts) {
    CHECK_ARG(train != NULL, "nerve_data_load: train is NULL");
    *train = NULL;
    if (test) *test = NULL;
    CHECK_ARG(what != NULL && *what, "nerve_data_load: no data set named");
    nerve_data *tr = NULL, *te = NULL;
    nerve_status st;
    struct stat sb;
    if (strcmp(what, "digits") == 0) {
        st = nerve_data_load_digits(&tr);
    } else if (strcmp(what, "fashion-mnist") == 0) {
        st = nerve_data_load_idx_dir(&tr, &te, FASHION_MNIST_DIR);
        if (st == NERVE_OK) {
            data_set_name(tr, "fashion-mnist (train)");
            data_set_name(te, "fashion-mnist (test)");
        } else {
            error_prefix("fashion-mnist (Debian package dataset-fashion-mnist)");
        }
    } else if (stat(what, &sb) != 0) {
        st = error_set(NERVE_EIO, "%s: %s (data sets by name: digits, fashion-mnist)", what,
                       strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        st = nerve_data_load_idx_dir(&tr, &te, what);
    } else {
        st = nerve_data_load_csv(&tr, what, csv_opts);
    }
    if (st == NERVE_OK && csv_opts && csv_opts->raw_pixels &&
        (strcmp(what, "digits") == 0 || te != NULL)) {
        /* back to the stored pixel values: x = p / max is within an ulp of
         * p / max, so rounding x * max recovers the integer p exactly */
        const float max = strcmp(what, "digits") == 0 ? DIGITS_PIXEL_MAX : 255.0f;
        nerve_data *sets[2] = {tr, te};
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; sets[k] && i < sets[k]->n * sets[k]->in; i++)
                sets[k]->x[i] = rintf(sets[k]->x[i] * max);
    }
    if (st != NERVE_OK) return st;
    *train = tr;
    if (test)
        *test = te;
    else
        nerve_data_free(te);
    return NERVE_OK;
}
