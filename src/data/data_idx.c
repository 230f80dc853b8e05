/* IDX files, the layout of MNIST and Fashion-MNIST
 * (http://yann.lecun.com/exdb/mnist/):
 *   bytes 0-1  zero
 *   byte  2    element type (0x08 unsigned byte; the only one accepted here)
 *   byte  3    number of dimensions d
 *   4 * d      dimension sizes, unsigned 32-bit big-endian
 *   then the elements, row-major, exactly the product of the sizes.
 * Every size is checked against the buffer length before anything is
 * allocated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_internal.h"
#include "error.h"

/* The IDX element type code for unsigned bytes. */
#define IDX_UBYTE 0x08

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

nerve_status idx_parse(const uint8_t *buf, size_t len, unsigned min_dims, unsigned max_dims,
                       const char *name, idx_array *out) {
    memset(out, 0, sizeof *out);
    if (len < 4)
        return error_set(NERVE_EFORMAT, "%s: file truncated at byte %zu (expected at least 4)",
                         name, len);
    if (buf[0] != 0 || buf[1] != 0)
        return error_set(NERVE_EFORMAT,
                         "%s: not an IDX file (first bytes %02x %02x, expected 00 00)", name,
                         buf[0], buf[1]);
    if (buf[2] != IDX_UBYTE)
        return error_set(NERVE_EFORMAT,
                         "%s: unsupported IDX element type 0x%02x (only 0x08, unsigned byte)", name,
                         buf[2]);
    unsigned nd = buf[3];
    if (nd < min_dims || nd > max_dims)
        return error_set(NERVE_EFORMAT, "%s: %u dimensions, expected %u to %u", name, nd, min_dims,
                         max_dims);
    size_t header = 4 + 4 * (size_t)nd;
    if (len < header)
        return error_set(NERVE_EFORMAT, "%s: file truncated at byte %zu (expected at least %zu)",
                         name, len, header);
    size_t payload = len - header, item = 1;
    size_t count = be32(buf + 4);
    for (unsigned d = 0; d < nd; d++) {
        size_t dim = be32(buf + 4 + 4 * d);
        if (dim == 0) return error_set(NERVE_EFORMAT, "%s: dimension %u is 0", name, d);
        if (d == 0) continue;
        /* item * dim > payload already means truncation: stop before overflow */
        if (dim > payload / item)
            return error_set(NERVE_EFORMAT,
                             "%s: dimensions need more than the %zu data bytes the file holds",
                             name, payload);
        item *= dim;
    }
    if (count > payload / item)
        return error_set(NERVE_EFORMAT,
                         "%s: file truncated at byte %zu (expected %zu x %zu data bytes after a "
                         "%zu-byte header)",
                         name, len, count, item, header);
    if (count * item != payload)
        return error_set(NERVE_EFORMAT, "%s: %zu bytes of trailing data after %zu x %zu elements",
                         name, payload - count * item, count, item);
    out->data = buf + header;
    out->count = count;
    out->item = item;
    out->ndims = nd;
    return NERVE_OK;
}

nerve_status idx_build(const uint8_t *images, size_t images_len, const uint8_t *labels,
                       size_t labels_len, const char *images_name, const char *labels_name,
                       const char *set_name, nerve_data **out) {
    *out = NULL;
    idx_array img, lab;
    /* 255 dimensions: the most the one-byte field can say */
    nerve_status st = idx_parse(images, images_len, 2, 255, images_name, &img);
    if (st != NERVE_OK) return st;
    st = idx_parse(labels, labels_len, 1, 1, labels_name, &lab);
    if (st != NERVE_OK) return st;
    if (img.count != lab.count)
        return error_set(NERVE_EFORMAT, "%s has %zu images but %s has %zu labels", images_name,
                         img.count, labels_name, lab.count);
    unsigned max_label = 0;
    for (size_t i = 0; i < lab.count; i++)
        if (lab.data[i] > max_label) max_label = lab.data[i];
    nerve_data *d;
    st = nerve_data_create(&d, img.count, img.item, (size_t)max_label + 1, 1, set_name);
    if (st != NERVE_OK) return st;
    size_t total = img.count * img.item;
    for (size_t i = 0; i < total; i++) d->x[i] = (float)img.data[i] / 255.0f;
    for (size_t i = 0; i < lab.count; i++) d->labels[i] = lab.data[i];
    *out = d;
    return NERVE_OK;
}

/* Loads and builds from two files. */
static nerve_status idx_load_pair(const char *images_path, const char *labels_path,
                                  const char *set_name, nerve_data **out) {
    uint8_t *ib = NULL, *lb = NULL;
    size_t il = 0, ll = 0;
    nerve_status st = data_read_file(images_path, NERVE_DATA_MAX_BYTES, &ib, &il);
    if (st == NERVE_OK) st = data_read_file(labels_path, NERVE_DATA_MAX_BYTES, &lb, &ll);
    if (st == NERVE_OK) st = idx_build(ib, il, lb, ll, images_path, labels_path, set_name, out);
    free(ib);
    free(lb);
    return st;
}

nerve_status nerve_data_load_idx(nerve_data **out, const char *images_path,
                                 const char *labels_path) {
    CHECK_ARG(out != NULL, "nerve_data_load_idx: out is NULL");
    *out = NULL;
    CHECK_ARG(images_path && labels_path, "nerve_data_load_idx: path is NULL");
    return idx_load_pair(images_path, labels_path, images_path, out);
}

/* dir/base, or dir/base.gz when only that exists; "" when neither. */
static nerve_status find_member(const char *dir, const char *base, char *path, size_t cap) {
    static const char *const suffixes[] = {"", ".gz"};
    for (int i = 0; i < 2; i++) {
        int n = snprintf(path, cap, "%s/%s%s", dir, base, suffixes[i]);
        if (n < 0 || (size_t)n >= cap) return error_set(NERVE_EINVAL, "%s: path too long", dir);
        /* stat, not open: opening a FIFO would block; what is not a
         * regular file is refused by data_read_file without opening it */
        struct stat sb;
        if (stat(path, &sb) == 0) return NERVE_OK;
    }
    return error_set(NERVE_EIO, "%s: neither %s nor %s.gz found", dir, base, base);
}

nerve_status nerve_data_load_idx_dir(nerve_data **train, nerve_data **test, const char *dir) {
    CHECK_ARG(train != NULL && test != NULL, "nerve_data_load_idx_dir: output pointer is NULL");
    *train = *test = NULL;
    CHECK_ARG(dir != NULL, "nerve_data_load_idx_dir: dir is NULL");
    /* the standard MNIST file names */
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    enum { PATH_CAP = 4096 };
    char paths[4][PATH_CAP];
    for (int i = 0; i < 4; i++) {
        nerve_status st = find_member(dir, names[i], paths[i], PATH_CAP);
        if (st != NERVE_OK) return st;
    }
    /* the set name: the directory's last component */
    const char *base = dir + strlen(dir);
    while (base > dir && base[-1] == '/') base--;
    const char *end = base;
    while (base > dir && base[-1] != '/') base--;
    char tr_name[128], te_name[128];
    snprintf(tr_name, sizeof tr_name, "%.*s (train)", (int)(end - base > 100 ? 100 : end - base),
             base);
    snprintf(te_name, sizeof te_name, "%.*s (test)", (int)(end - base > 100 ? 100 : end - base),
             base);

    nerve_data *a = NULL, *b = NULL;
    nerve_status st = idx_load_pair(paths[0], paths[1], tr_name, &a);
    if (st == NERVE_OK) st = idx_load_pair(paths[2], paths[3], te_name, &b);
    if (st == NERVE_OK && a->in != b->in)
        st = error_set(NERVE_EFORMAT, "%s: train images have %zu values, test images %zu", dir,
                       a->in, b->in);
    if (st != NERVE_OK) {
        nerve_data_free(a);
        nerve_data_free(b);
        return st;
    }
    /* one class count for both: the larger */
    size_t classes = a->out > b->out ? a->out : b->out;
    a->out = b->out = classes;
    *train = a;
    *test = b;
    return NERVE_OK;
}
