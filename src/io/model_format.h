/* The model file format (.nrv), versions 1 and 2: constants and the internal entry
 * points of src/io/model_read.c and src/io/model_write.c. The byte-level
 * specification is docs/model-format.md; keep the two in step. */
#ifndef NERVE_SRC_MODEL_FORMAT_H
#define NERVE_SRC_MODEL_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "net_internal.h"
#include "nerve/net.h"

/* 8-byte signature, PNG style: a non-ASCII first byte (catches 7-bit
 * transfers), "NRV", CR LF and LF (catch line-ending conversion), and
 * Ctrl-Z (stops a DOS `type`). */
#define MODEL_MAGIC     "\x89NRV\r\n\x1a\n"
#define MODEL_MAGIC_LEN 8
#define MODEL_VERSION   2u /* the newest version this library reads and writes */
/* A writer uses the lowest version that holds the model: 1 (nerve 0.1's
 * format) when the model has no sections, 2 when it has any. */
#define MODEL_VERSION_1 1u
/* flags: bit 0 set when the training state section is present; other bits 0 */
#define MODEL_FLAG_TRAINING 1u

/* Format 2: a section table after the header (docs/model-format.md,
 * "Sections"). Each section: u32 id, u32 flags, u64 payload length, payload.
 * A reader skips a section whose id it does not know unless its REQUIRED
 * flag is set; then it refuses the file, naming the id and its own version. */
#define MODEL_SECTION_HEADER_BYTES 16u
#define MODEL_MAX_SECTIONS         64u
#define MODEL_SECTION_REQUIRED     1u /* flags bit 0: predictions are wrong without it */
enum {
    MODEL_SEC_INPUT_TRANSFORM = 1,  /* required: in shifts, then in scales (f32) */
    MODEL_SEC_OUTPUT_TRANSFORM = 2, /* required: out shifts, then out scales (f32) */
    MODEL_SEC_CLASS_NAMES = 3,      /* optional: u32 count, then count x (u32 len, bytes) */
    /* optional, training state only: the learning-rate schedule and the
     * position inside an epoch cut short (MODEL_PROGRESS_BYTES) */
    MODEL_SEC_PROGRESS = 4,
    MODEL_SEC_PRECISION = 5, /* optional: u32 nerve_precision of the training step */
    MODEL_SEC_COUNT          /* one more than the largest known id */
};
/* The progress section's payload (docs/model-format.md, "Progress"). */
#define MODEL_PROGRESS_BYTES 88u

/* The ids a file stores (docs/model-format.md, "Layout") are the positions
 * in the lists of kernels.h: a list may grow at its end, but an entry that
 * moved would silently change what every saved model means. */
_Static_assert(NERVE_ACT_IDENTITY == 0 && NERVE_ACT_SIGMOID == 1 && NERVE_ACT_TANH == 2 &&
                   NERVE_ACT_RELU == 3 && NERVE_ACT_LEAKY_RELU == 4 && NERVE_ACT_ELU == 5 &&
                   NERVE_ACT_GELU == 6 && NERVE_ACT_SILU == 7 && NERVE_ACT_SOFTPLUS == 8,
               "model file activation ids");
_Static_assert(NERVE_LOSS_MSE == 0 && NERVE_LOSS_XENT == 1, "model file loss ids");
_Static_assert(NERVE_OPT_SGD == 0 && NERVE_OPT_ADAM == 1 && NERVE_OPT_ADAMW == 2,
               "model file optimizer ids");

/* Limits a reader enforces before it allocates anything. They equal the
 * limits of nerve_net_create (src/net/net.c), so every network the library can
 * build can be saved. */
#define MODEL_MAX_LAYERS NET_MAX_LAYERS
#define MODEL_MAX_WIDTH  NET_MAX_WIDTH
#define MODEL_MAX_PARAMS NET_MAX_PARAMS

/* Section sizes in bytes (docs/model-format.md, "Layout"). */
#define MODEL_FIXED_BYTES    32u  /* magic .. seed */
#define MODEL_TRAINING_BYTES 100u /* optimizer kind .. moment buffer count */
#define MODEL_CRC_BYTES      4u

/* Writes the model to f (buffered stdio; the caller flushes and syncs).
 * NERVE_EIO with strerror and `name` on a write error; NERVE_EINVAL when
 * the network exceeds the format's limits. */
nerve_status model_write(const nerve_net *net, int with_training_state, FILE *f, const char *name);
/* NERVE_ENUMERIC (naming `name` and the value) unless every value that
 * would be written is one model_read accepts (src/io/model_finite.c). */
nerve_status model_check_finite(const nerve_net *net, int with_training_state, const char *name);

/* Parses a whole model file held in memory. NERVE_EFORMAT for anything
 * wrong (message names `name`), NERVE_ENOMEM if the network cannot be
 * allocated. */
nerve_status model_read_mem(const uint8_t *buf, size_t len, const char *name, nerve_net **out);

/* The same from an open file of `len` bytes, positioned at its start. The
 * file is read twice: once to check structure, length and checksum, once
 * to fill the network. NERVE_EIO for read errors. */
nerve_status model_read_file(FILE *f, uint64_t len, const char *name, nerve_net **out);

#endif
