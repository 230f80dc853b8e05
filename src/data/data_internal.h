/* Internal pieces of the data loaders, shared by src/data_*.c, the tests and
 * the fuzzers (which call the parsers on memory buffers). */
#ifndef NERVE_SRC_DATA_INTERNAL_H
#define NERVE_SRC_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/data.h"

/* ---- data_file.c: whole files into memory, gzip undone ----------------- */

/* True when buf starts with the gzip magic bytes 1f 8b (RFC 1952). */
int data_is_gzip(const uint8_t *buf, size_t len);

/* Decompresses one or more concatenated gzip members into a new buffer
 * (malloc, at least 1 byte so it is never NULL on success). More than `cap`
 * bytes of output, a truncated or corrupt stream, or trailing bytes that are
 * not another member give NERVE_EFORMAT naming `name`. */
nerve_status data_gunzip(const uint8_t *in, size_t in_len, size_t cap, const char *name,
                         uint8_t **out, size_t *out_len);

/* Reads the file at `path` (at most `cap` bytes; more is NERVE_EFORMAT) and,
 * when it is gzip, decompresses it (again at most `cap` bytes). NERVE_EIO
 * with strerror and the path when it cannot be opened or read. */
nerve_status data_read_file(const char *path, size_t cap, uint8_t **out, size_t *out_len);

/* ---- data_idx.c --------------------------------------------------------- */

/* One parsed IDX array of unsigned bytes: count x item bytes at data
 * (pointing into the parsed buffer). */
typedef struct idx_array {
    const uint8_t *data;
    size_t count; /* first dimension */
    size_t item;  /* product of the other dimensions (1 for a vector) */
    unsigned ndims;
} idx_array;

/* Parses and validates an IDX buffer: magic, type (0x08 only), dimension
 * count (>= min_dims), no zero dimension, and a payload exactly as long as
 * the dimensions say. */
nerve_status idx_parse(const uint8_t *buf, size_t len, unsigned min_dims, unsigned max_dims,
                       const char *name, idx_array *out);

/* Builds a classification data set from parsed images and labels buffers
 * (pixels / 255). The counts must match. */
nerve_status idx_build(const uint8_t *images, size_t images_len, const uint8_t *labels,
                       size_t labels_len, const char *images_name, const char *labels_name,
                       const char *set_name, nerve_data **out);

/* ---- data_csv.c --------------------------------------------------------- */

/* Parses CSV text (buf need not be NUL-terminated); `name` is used in the
 * error messages and as the data set name. */
nerve_status csv_parse(const char *buf, size_t len, const char *name, const nerve_csv_opts *opts,
                       nerve_data **out);

/* ---- data_set.c --------------------------------------------------------- */

/* Copies `name` into data->name (truncated to fit). */
void data_set_name(nerve_data *data, const char *name);
/* Frees data->class_names (data->out entries); copies src's names to dst. */
void data_free_names(nerve_data *data);
nerve_status data_copy_names(nerve_data *dst, const nerve_data *src);

/* ---- generated at build time from data/digits.csv.gz -------------------- */
extern const unsigned char nerve_digits_csv_gz[];
extern const size_t nerve_digits_csv_gz_len;

#endif
