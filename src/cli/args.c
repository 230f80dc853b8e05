/* Option parsing, strict number conversion and one-line error messages. */
#define _POSIX_C_SOURCE 200809L
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *cli_command = NULL;
void (*cli_message_sink)(const char *msg) = NULL;

/* Writes "nerve[ cmd]: message\n" with control characters replaced, so that
 * every diagnostic is exactly one line whatever the message holds. */
static void vmessage(const char *fmt, va_list ap) CLI_PRINTF(1, 0);
static void vmessage(const char *fmt, va_list ap) {
    char buf[12288]; /* a library message (10 KiB) with the option name in front */
    vsnprintf(buf, sizeof buf, fmt, ap);
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    if (cli_message_sink)
        cli_message_sink(buf);
    else if (cli_command)
        fprintf(stderr, "nerve %s: %s\n", cli_command, buf);
    else
        fprintf(stderr, "nerve: %s\n", buf);
}

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    return CLI_USAGE;
}

int cli_failure(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

void cli_note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
}

int cli_lib_error(nerve_status st, const char *what) {
    const char *msg = nerve_last_error();
    if (!msg || !*msg) msg = nerve_strerror(st);
    cli_error("%s: %s", what, msg);
    return (st == NERVE_ENOMEM || st == NERVE_ENUMERIC) ? CLI_FAIL : CLI_USAGE;
}

static void print_usage(const char *synopsis, const cli_option *opts, size_t n) {
    printf("%s\n\nOptions:\n", synopsis);
    for (size_t i = 0; i < n; i++) {
        char head[64];
        if (opts[i].metavar)
            snprintf(head, sizeof head, "--%s %s", opts[i].name, opts[i].metavar);
        else
            snprintf(head, sizeof head, "--%s", opts[i].name);
        /* help lines after the first are indented under the first */
        const char *h = opts[i].help;
        int first = 1;
        while (*h) {
            const char *nl = strchr(h, '\n');
            int len = nl ? (int)(nl - h) : (int)strlen(h);
            printf("  %-26s %.*s\n", first ? head : "", len, h);
            first = 0;
            h += len + (nl ? 1 : 0);
        }
    }
    printf("  %-26s %s\n", "-h, --help", "show this help");
}

static long find_option(const cli_option *opts, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) return (long)i;
    return -1;
}

int cli_parse(const char *synopsis, const cli_option *opts, size_t n, int argc, char **argv,
              const char **values) {
    for (size_t i = 0; i < n; i++) values[i] = NULL;
    for (int a = 0; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_usage(synopsis, opts, n);
            return CLI_HELP;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return cli_error("unexpected argument '%s' (see --help)", arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        long k = find_option(opts, n, name, len);
        if (k < 0) return cli_error("unknown option '--%.*s' (see --help)", (int)len, name);
        if (!opts[k].metavar) {
            if (eq) return cli_error("option --%s takes no value", opts[k].name);
            values[k] = "";
        } else if (eq) {
            values[k] = eq + 1;
        } else {
            if (a + 1 >= argc) return cli_error("option --%s needs a value", opts[k].name);
            values[k] = argv[++a];
        }
    }
    return CLI_OK;
}

const char *cli_value(const cli_option *opts, size_t n, const char **values, const char *name) {
    long k = find_option(opts, n, name, strlen(name));
    return k < 0 ? NULL : values[k];
}

int arg_double(const char *opt, const char *s, double lo, double hi, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return cli_error("--%s: '%s' is not a number", opt, s);
    if (v < lo || v > hi) return cli_error("--%s: %s is outside [%g, %g]", opt, s, lo, hi);
    *out = v;
    return CLI_OK;
}

int arg_float(const char *opt, const char *s, double lo, double hi, float *out) {
    double v = 0;
    int rc = arg_double(opt, s, lo, hi, &v);
    if (rc == CLI_OK) *out = (float)v;
    return rc;
}

/* Digits only: no sign, no spaces, no hexadecimal. */
static int parse_u64(const char *s, const char *end_chars, uint64_t *out, const char **stop) {
    uint64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return -2;
        v = v * 10 + d;
    }
    if (*p != '\0' && !strchr(end_chars, *p)) return -1;
    *out = v;
    *stop = p;
    return 0;
}

int arg_size(const char *opt, const char *s, size_t lo, size_t hi, size_t *out) {
    uint64_t v;
    const char *stop;
    int rc = parse_u64(s, "", &v, &stop);
    if (rc == -1) return cli_error("--%s: '%s' is not a whole number", opt, s);
    if (rc == -2 || v < lo || v > hi)
        return cli_error("--%s: %s is outside [%zu, %zu]", opt, s, lo, hi);
    *out = (size_t)v;
    return CLI_OK;
}

int arg_u64(const char *opt, const char *s, uint64_t *out) {
    const char *stop;
    int rc = parse_u64(s, "", out, &stop);
    if (rc == -1) return cli_error("--%s: '%s' is not a whole number", opt, s);
    if (rc == -2) return cli_error("--%s: %s is too large", opt, s);
    return CLI_OK;
}

int arg_size_list(const char *opt, const char *s, size_t *out, size_t cap, size_t *count) {
    size_t n = 0;
    const char *p = s;
    for (;;) {
        uint64_t v;
        const char *stop;
        if (parse_u64(p, ",", &v, &stop) != 0 || v == 0 || v > (1u << 24))
            return cli_error("--%s: '%s' is not a list of widths like 256,128", opt, s);
        if (n == cap) return cli_error("--%s: more than %zu widths", opt, cap);
        out[n++] = (size_t)v;
        if (*stop == '\0') break;
        p = stop + 1;
    }
    *count = n;
    return CLI_OK;
}

int arg_name_list(const char *opt, const char *s, char (*buf)[32], size_t cap, size_t *count) {
    size_t n = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= 32) return cli_error("--%s: '%s' is not a list of names", opt, s);
        if (n == cap) return cli_error("--%s: more than %zu names", opt, cap);
        memcpy(buf[n], p, len);
        buf[n][len] = '\0';
        n++;
        if (!comma) break;
        p = comma + 1;
    }
    *count = n;
    return CLI_OK;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
