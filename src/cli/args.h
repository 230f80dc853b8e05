/* Command-line option parsing and error reporting shared by every command.
 *
 * Conventions of the tool (docs in `nerve --help`):
 *   exit 0   success
 *   exit 1   a run-time failure (training diverged, a file could not be written)
 *   exit 2   bad usage or bad input: unknown option or command, bad number,
 *            missing/unreadable/malformed file, shapes that do not fit
 *   exit 130 interrupted by Ctrl-C (SIGINT)
 * Every error is ONE line on stderr: "nerve <command>: <what went wrong>". */
#ifndef NERVE_CLI_ARGS_H
#define NERVE_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/errors.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_INTERRUPTED = 130 };

/* Internal result of cli_parse() when --help was printed: the command exits 0. */
#define CLI_HELP (-1)

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* The command being run ("train", ...), used as the prefix of messages. */
extern const char *cli_command;
/* When set, messages go here (without the "nerve <command>: " prefix)
 * instead of stderr: ranks other than 0 under mpirun (mpi_cli.h). */
extern void (*cli_message_sink)(const char *msg);

/* Prints "nerve <command>: <message>" as one line on stderr (control
 * characters in the message become spaces) and returns CLI_USAGE. */
int cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* The same with exit status CLI_FAIL. */
int cli_failure(const char *fmt, ...) CLI_PRINTF(1, 2);
/* A library failure: "<what>: <nerve_last_error()>"; returns CLI_USAGE for
 * statuses caused by the input (EINVAL, EIO, EFORMAT, EUNSUPPORTED) and
 * CLI_FAIL for the others (ENOMEM, ENUMERIC). */
int cli_lib_error(nerve_status st, const char *what);
/* A note on stderr ("nerve <command>: ..."), e.g. a warning; not an error. */
void cli_note(const char *fmt, ...) CLI_PRINTF(1, 2);

/* One option of a command: --name VALUE, --name=VALUE, or a flag --name. */
typedef struct cli_option {
    const char *name;    /* without the leading "--" */
    const char *metavar; /* NULL for a flag that takes no value */
    const char *help;    /* one or more lines, '\n' separated */
} cli_option;

/* Parses argv[0..argc) against opts[0..n). values[i] gets the value of
 * opts[i] (the last one given wins), "" for a flag given, NULL when absent.
 * "-h"/"--help" prints the usage (synopsis, then every option) on stdout and
 * returns CLI_HELP. Any other argument that is not a known option is an
 * error: returns CLI_USAGE with the message printed. */
int cli_parse(const char *synopsis, const cli_option *opts, size_t n, int argc, char **argv,
              const char **values);
/* values[] entry of the option called `name` (which must be in opts). */
const char *cli_value(const cli_option *opts, size_t n, const char **values, const char *name);

/* Strict conversions of an option's text; on failure they print one line
 * naming the option and return CLI_USAGE, else CLI_OK. */
int arg_double(const char *opt, const char *s, double lo, double hi, double *out);
int arg_float(const char *opt, const char *s, double lo, double hi, float *out);
int arg_size(const char *opt, const char *s, size_t lo, size_t hi, size_t *out);
int arg_u64(const char *opt, const char *s, uint64_t *out);
/* Comma-separated positive integers (widths), at most cap of them. */
int arg_size_list(const char *opt, const char *s, size_t *out, size_t cap, size_t *count);
/* Splits a comma-separated list of names into buf (copied, at most cap items). */
int arg_name_list(const char *opt, const char *s, char (*buf)[32], size_t cap, size_t *count);

/* Monotonic clock in seconds. */
double cli_now(void);

#endif
