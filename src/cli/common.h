/* Pieces several commands share: --isa/--threads, loading a model, checking
 * that an output path can be written, class predictions. */
#ifndef NERVE_CLI_COMMON_H
#define NERVE_CLI_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/nerve.h"

/* The help lines of the shared options. */
#define HELP_ISA                                                                                   \
    "cap the kernel table: scalar, avx2, avx512 or neon\n(like NERVE_MAX_ISA; never above what "   \
    "the CPU has)"
#define HELP_THREADS "OpenMP threads (default: OMP_NUM_THREADS or all cores)"

/* Applies --isa (may be NULL): CLI_OK or CLI_USAGE with the message printed. */
int cli_apply_isa(const char *name);
/* Applies --threads (may be NULL). */
int cli_apply_threads(const char *value);
/* The number of OpenMP threads that parallel regions will use. */
int cli_threads(void);

/* Loads a model file for option `opt` ("model", "resume", "init"). */
int cli_load_model(const char *opt, const char *path, nerve_net **out);

/* Checks before a long run that `path` can be created or replaced: its
 * directory exists and is writable, and it is not a directory. */
int cli_check_writable(const char *opt, const char *path);

/* Copies standard input (a pipe, a terminal, a file) into a new temporary
 * file under $TMPDIR (default /tmp) and puts its name in path: for
 * `--input -`. The caller unlinks it. CLI_OK or the exit status, printed. */
int cli_stdin_to_file(const char *opt, char *path, size_t cap);

/* Whether a and b name the same existing file (device and inode). */
int cli_same_file(const char *a, const char *b);

/* Index of the largest of out[0..k) (the first one on ties). */
size_t cli_argmax(const float *out, size_t k);
/* Softmax of logits[0..k) into p, in double (for printing probabilities). */
void cli_softmax(const float *logits, size_t k, double *p);

/* Runs the network over x [n x in] in chunks of at most `chunk` rows and
 * calls fn(user, row, outputs) for each row in order. CLI_OK, or the exit
 * status with the message printed. */
typedef void (*cli_row_fn)(void *user, size_t row, const float *out, size_t k);
int cli_forward_rows(nerve_net *net, const float *x, size_t n, cli_row_fn fn, void *user);

/* "784-256-128-10 relu,relu,identity" style description of a network. */
void cli_describe_net(const nerve_net *net, char *buf, size_t cap);

#endif
