/* One fuzzing input through each loader. Shared by the libFuzzer harnesses
 * (fuzz_*.c) and the Criterion test that replays tests/fuzz/regressions/
 * (tests/io/test_fuzz_regressions.c), so a saved crash is replayed exactly as
 * the fuzzer ran it. Each function returns the loader's status; the only
 * failure that matters is a crash, hang, leak or sanitizer report. */
#ifndef NERVE_FUZZ_TARGETS_H
#define NERVE_FUZZ_TARGETS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "model_format.h"
#include "nerve/data.h"
#include "nerve/net.h"

/* Decompressed inputs stop here: keeps every run fast and small. */
#define FUZZ_GZIP_CAP ((size_t)1 << 18)

/* Model files: the whole input is the file. A network that loads is also
 * run forward and trained one step, so a hostile training state that got
 * through validation would show up here. */
static inline nerve_status fuzz_model_one(const uint8_t *data, size_t size) {
    nerve_net *net = NULL;
    nerve_status st = model_read_mem(data, size, "fuzz.nrv", &net);
    if (st != NERVE_OK) return st;
    size_t in = nerve_net_width(net, 0), out = nerve_net_width(net, nerve_net_layers(net));
    /* the fuzzer's inputs are small (-max_len), so are these networks */
    float *x = calloc(in, sizeof(float)), *y = calloc(out, sizeof(float));
    int32_t label = 0;
    if (x && y) {
        for (size_t i = 0; i < in; i++) x[i] = (float)(i % 3) - 1.0f;
        nerve_net_forward(net, x, 1, y);
        nerve_batch b = {x, NULL, NULL, 1};
        if (nerve_net_loss(net) == NERVE_LOSS_XENT)
            b.labels = &label;
        else
            b.y = y;
        nerve_net_train_batch(net, &b, NULL);
    }
    free(x);
    free(y);
    nerve_net_free(net);
    return st;
}

/* Inflates gzip input (capped); otherwise hands the bytes back as they are. */
static inline nerve_status fuzz_maybe_gunzip(const uint8_t **data, size_t *size, uint8_t **owned) {
    *owned = NULL;
    if (!data_is_gzip(*data, *size)) return NERVE_OK;
    size_t n;
    nerve_status st = data_gunzip(*data, *size, FUZZ_GZIP_CAP, "fuzz.gz", owned, &n);
    if (st != NERVE_OK) return st;
    *data = *owned;
    *size = n;
    return NERVE_OK;
}

/* IDX: byte 0 bit 0 = the rest is one IDX file (parsed alone), else bytes
 * 1-2 (big-endian) are the length of an images file followed by a labels
 * file. Each part may be gzip. */
static inline nerve_status fuzz_idx_one(const uint8_t *data, size_t size) {
    if (size < 3) return NERVE_EFORMAT;
    int single = data[0] & 1;
    size_t split = (size_t)data[1] << 8 | data[2];
    data += 3;
    size -= 3;
    if (single) {
        uint8_t *owned;
        nerve_status st = fuzz_maybe_gunzip(&data, &size, &owned);
        idx_array a;
        if (st == NERVE_OK) st = idx_parse(data, size, 1, 255, "fuzz.idx", &a);
        free(owned);
        return st;
    }
    if (split > size) split = size;
    const uint8_t *img = data, *lab = data + split;
    size_t ni = split, nl = size - split;
    uint8_t *oi = NULL, *ol = NULL;
    nerve_status st = fuzz_maybe_gunzip(&img, &ni, &oi);
    if (st == NERVE_OK) st = fuzz_maybe_gunzip(&lab, &nl, &ol);
    nerve_data *d = NULL;
    if (st == NERVE_OK) st = idx_build(img, ni, lab, nl, "img", "lab", "fuzz", &d);
    nerve_data_free(d);
    free(oi);
    free(ol);
    return st;
}

/* CSV: bytes 0-2 choose the options, the rest (maybe gzip) is the text.
 * byte 0: bits 0-1 header mode, bits 2-3 delimiter, bit 4 feature scale 0.5,
 * bits 5-6 label mode (3: mapped to the names "a", "b", "3"), bit 7 the
 * label column by the header name "label"; byte 1: label column
 * (byte % 9) - 4; byte 2: bits 0-1 targets, bits 2-3 the class count, bit 4
 * features only (the label options of bytes 0-2 then dropped). */
static inline nerve_status fuzz_csv_one(const uint8_t *data, size_t size) {
    if (size < 3) return NERVE_EFORMAT;
    static const char delims[4] = {',', ';', '\t', '|'};
    static const size_t classes[4] = {0, 2, 10, (size_t)1 << 20};
    nerve_csv_opts o;
    memset(&o, 0, sizeof o);
    o.header = (nerve_csv_header)(data[0] & 3); /* 3: an invalid mode */
    o.delimiter = delims[(data[0] >> 2) & 3];
    o.feature_scale = (data[0] & 0x10) ? 0.5f : 0.0f;
    o.label_column = (long)(data[1] % 9) - 4;
    o.targets = data[2] & 3;
    o.classes = classes[(data[2] >> 2) & 3];
    static const char *const names[3] = {"a", "b", "3"};
    const unsigned mode = (data[0] >> 5) & 3;
    o.labels = mode == 3 ? NERVE_CSV_LABELS_AUTO : (nerve_csv_labels)mode;
    if (mode == 3) {
        o.class_names = names;
        o.n_class_names = 3;
    }
    if (data[0] & 0x80) o.label_name = "label";
    if (data[2] & 0x10) { /* features only: no label option may be set with it */
        nerve_csv_opts f;
        memset(&f, 0, sizeof f);
        f.header = o.header, f.delimiter = o.delimiter, f.feature_scale = o.feature_scale;
        f.features_only = 1;
        o = f;
    }
    data += 3;
    size -= 3;
    uint8_t *owned;
    nerve_status st = fuzz_maybe_gunzip(&data, &size, &owned);
    nerve_data *d = NULL;
    if (st == NERVE_OK) st = csv_parse((const char *)data, size, "fuzz.csv", &o, &d);
    if (st == NERVE_OK) {
        /* what the loader promises: finite values, labels within the classes */
        for (size_t i = 0; i < d->n * d->in; i++)
            if (!isfinite(d->x[i])) abort();
        for (size_t i = 0; d->y && i < d->n * d->out; i++)
            if (!isfinite(d->y[i])) abort();
        for (size_t i = 0; d->labels && i < d->n; i++)
            if (d->labels[i] < 0 || (size_t)d->labels[i] >= d->out) abort();
        for (size_t k = 0; d->class_names && k < d->out; k++)
            if (!d->class_names[k] || !*d->class_names[k]) abort();
        if (o.features_only && (d->labels || d->y || d->out || d->class_names)) abort();
    }
    nerve_data_free(d);
    free(owned);
    return st;
}

#endif
