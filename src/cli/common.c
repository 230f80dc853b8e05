/* Shared helpers of the commands. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"

/* Rows per forward call: bounds the output buffer while keeping GEMM
 * efficient (a few hundred rows fill the micro-kernel tiles many times). */
#define FORWARD_CHUNK 1024

int cli_apply_isa(const char *name) {
    if (!name) return CLI_OK;
    nerve_isa isa;
    if (nerve_isa_from_name(name, &isa) != NERVE_OK)
        return cli_error("--isa: '%s' is not one of scalar, avx2, avx512, neon", name);
    nerve_status st = nerve_set_max_isa(isa);
    if (st != NERVE_OK) return cli_lib_error(st, "--isa");
    return CLI_OK;
}

int cli_apply_threads(const char *value) {
    if (!value) return CLI_OK;
    size_t t;
    /* 1024: far above any core count these machines have; catches typos */
    int rc = arg_size("threads", value, 1, 1024, &t);
    if (rc != CLI_OK) return rc;
    nerve_set_num_threads((int)t);
    return CLI_OK;
}

int cli_threads(void) { return nerve_get_num_threads(); }

int cli_load_model(const char *opt, const char *path, nerve_net **out) {
    struct stat sb;
    if (stat(path, &sb) != 0)
        return cli_error("--%s: cannot open '%s': %s", opt, path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return cli_error("--%s: '%s' is a directory", opt, path);
    nerve_status st = nerve_net_load(out, path);
    if (st != NERVE_OK) {
        char what[64];
        snprintf(what, sizeof what, "--%s", opt);
        return cli_lib_error(st, what);
    }
    return CLI_OK;
}

/* What a non-regular file is, for messages. */
static const char *file_kind(mode_t m) {
    return S_ISDIR(m)                   ? "a directory"
           : S_ISFIFO(m)                ? "a FIFO"
           : S_ISSOCK(m)                ? "a socket"
           : S_ISCHR(m) || S_ISBLK(m)   ? "a device"
                                        : "not a regular file";
}

int cli_check_writable(const char *opt, const char *path) {
    struct stat sb;
    if (!*path) return cli_error("--%s: empty file name", opt);
    int is_link = lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode);
    if (is_link && stat(path, &sb) != 0)
        return cli_error("--%s: '%s' is a symbolic link to a missing file", opt, path);
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return cli_error("--%s: '%s' is %s; only a regular file is replaced", opt, path,
                         file_kind(sb.st_mode));
    /* a link is followed: its target is replaced, in the target's directory */
    char *real = is_link ? realpath(path, NULL) : NULL;
    const char *p = real ? real : path;
    char dir[4096];
    const char *slash = strrchr(p, '/');
    int rc = CLI_OK;
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == p) {
        strcpy(dir, "/");
    } else {
        size_t len = (size_t)(slash - p);
        if (len >= sizeof dir) {
            free(real);
            return cli_error("--%s: path too long", opt);
        }
        memcpy(dir, p, len);
        dir[len] = '\0';
    }
    free(real);
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        rc = cli_error("--%s: directory '%s' does not exist", opt, dir);
    else if (access(dir, W_OK) != 0)
        rc = cli_error("--%s: cannot write in '%s': %s", opt, dir, strerror(errno));
    return rc;
}

int cli_stdin_to_file(const char *opt, char *path, size_t cap) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    int n = snprintf(path, cap, "%s/nerve-stdin-XXXXXX", dir);
    if (n < 0 || (size_t)n >= cap) return cli_error("--%s -: TMPDIR is too long", opt);
    int fd = mkstemp(path);
    if (fd < 0)
        return cli_failure("--%s -: cannot create a temporary file in %s: %s", opt, dir,
                           strerror(errno));
    char buf[65536];
    int rc = CLI_OK;
    for (;;) {
        ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = cli_failure("--%s -: cannot read standard input: %s", opt, strerror(errno));
            break;
        }
        if (r == 0) break;
        for (ssize_t done = 0; done < r;) {
            ssize_t w = write(fd, buf + done, (size_t)(r - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                rc = cli_failure("--%s -: cannot write %s: %s", opt, path, strerror(errno));
                break;
            }
            done += w;
        }
        if (rc != CLI_OK) break;
    }
    if (close(fd) != 0 && rc == CLI_OK)
        rc = cli_failure("--%s -: cannot write %s: %s", opt, path, strerror(errno));
    if (rc != CLI_OK) unlink(path);
    return rc;
}

int cli_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

size_t cli_argmax(const float *out, size_t k) {
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
        if (out[j] > out[best]) best = j;
    return best;
}

void cli_softmax(const float *logits, size_t k, double *p) {
    double m = -INFINITY, sum = 0;
    for (size_t j = 0; j < k; j++)
        if ((double)logits[j] > m) m = logits[j];
    for (size_t j = 0; j < k; j++) {
        p[j] = exp((double)logits[j] - m);
        sum += p[j];
    }
    for (size_t j = 0; j < k; j++) p[j] /= sum;
}

int cli_forward_rows(nerve_net *net, const float *x, size_t n, cli_row_fn fn, void *user) {
    size_t in = nerve_net_width(net, 0);
    size_t k = nerve_net_width(net, nerve_net_layers(net));
    size_t chunk = n < FORWARD_CHUNK ? n : FORWARD_CHUNK;
    if (n == 0) return CLI_OK;
    float *out = malloc(chunk * k * sizeof *out);
    if (!out) return cli_failure("out of memory");
    for (size_t r = 0; r < n; r += chunk) {
        size_t m = n - r < chunk ? n - r : chunk;
        nerve_status st = nerve_net_forward(net, x + r * in, m, out);
        if (st != NERVE_OK) {
            free(out);
            return cli_lib_error(st, "forward");
        }
        for (size_t i = 0; i < m; i++) fn(user, r + i, out + i * k, k);
    }
    free(out);
    return CLI_OK;
}

void cli_describe_net(const nerve_net *net, char *buf, size_t cap) {
    size_t L = nerve_net_layers(net), len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i <= L && len < cap; i++)
        len +=
            (size_t)snprintf(buf + len, cap - len, "%s%zu", i ? "-" : "", nerve_net_width(net, i));
    for (size_t l = 0; l < L && len < cap; l++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", l ? "," : " ",
                                nerve_act_name(nerve_net_activation(net, l)));
    if (len < cap) snprintf(buf + len, cap - len, " %s", nerve_loss_name(nerve_net_loss(net)));
}
