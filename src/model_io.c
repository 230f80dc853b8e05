/* Model files on disk: the atomic save and the load (format in
 * docs/model-format.md, serialization in model_write.c / model_read.c).
 *
 * Saving never touches the old file until the new one is complete and on
 * disk: write a temporary file next to it (same directory, hence the same
 * file system, so rename() is atomic), flush and fsync it, rename it over
 * the target, then fsync the directory so the rename itself is durable.
 * A crash or a full disk at any point leaves either the old file or the new
 * one, never a mix; on failure the temporary file is removed. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "model_format.h"
#include "net_internal.h"

/* Attempts at a fresh temporary name before giving up (names collide only
 * with leftovers of a crashed process that had our pid). */
#define TMP_ATTEMPTS 100

/* Distinguishes temporary names of concurrent saves within one process. */
static atomic_uint tmp_counter;

/* Creates "<path>.<pid>-<n>.tmp" exclusively; mode 0666 lets the umask
 * decide the permissions, as for any new file. */
static nerve_status open_temp(const char *path, char **tmp_out, int *fd_out) {
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp) return error_set(NERVE_ENOMEM, "%s: out of memory", path);
    for (int attempt = 0; attempt < TMP_ATTEMPTS; attempt++) {
        unsigned n = atomic_fetch_add(&tmp_counter, 1u);
        snprintf(tmp, cap, "%s.%ld-%u.tmp", path, (long)getpid(), n);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            *tmp_out = tmp;
            *fd_out = fd;
            return NERVE_OK;
        }
        if (errno != EEXIST) {
            nerve_status st = error_set(NERVE_EIO, "%s: cannot create temporary file %s: %s", path,
                                        tmp, strerror(errno));
            free(tmp);
            return st;
        }
    }
    free(tmp);
    return error_set(NERVE_EIO, "%s: cannot find a free temporary file name", path);
}

/* fsync of the directory holding `path`, making a rename in it durable.
 * File systems that cannot sync directories (EINVAL) are accepted. */
static nerve_status sync_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) {
        dir = strdup(".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/x" -> "/" */
        dir = malloc(n + 1);
        if (dir) {
            memcpy(dir, path, n);
            dir[n] = '\0';
        }
    }
    if (!dir) return error_set(NERVE_ENOMEM, "%s: out of memory", path);
    nerve_status st = NERVE_OK;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = error_set(NERVE_EIO, "%s: cannot open directory %s to sync it: %s", path, dir,
                       strerror(errno));
    } else {
        if (fsync(fd) != 0 && errno != EINVAL)
            st = error_set(NERVE_EIO, "%s: cannot sync directory %s: %s", path, dir,
                           strerror(errno));
        close(fd);
    }
    free(dir);
    return st;
}

nerve_status nerve_net_save(const nerve_net *net, const char *path, int with_training_state) {
    CHECK_ARG(net != NULL, "nerve_net_save: net is NULL");
    CHECK_ARG(path != NULL && *path, "nerve_net_save: no path");
    char *tmp = NULL;
    int fd = -1;
    nerve_status st = open_temp(path, &tmp, &fd);
    if (st != NERVE_OK) return st;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        st = error_set(NERVE_EIO, "%s: fdopen: %s", path, strerror(errno));
        close(fd);
        goto fail;
    }
    st = model_write(net, with_training_state, f, path);
    if (st == NERVE_OK && fflush(f) != 0)
        st = error_set(NERVE_EIO, "%s: write failed: %s", path, strerror(errno));
    if (st == NERVE_OK && fsync(fileno(f)) != 0)
        st = error_set(NERVE_EIO, "%s: fsync failed: %s", path, strerror(errno));
    if (fclose(f) != 0 && st == NERVE_OK)
        st = error_set(NERVE_EIO, "%s: close failed: %s", path, strerror(errno));
    if (st != NERVE_OK) goto fail;
    if (rename(tmp, path) != 0) {
        st =
            error_set(NERVE_EIO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        goto fail;
    }
    free(tmp);
    return sync_dir(path);
fail:
    unlink(tmp);
    free(tmp);
    return st;
}

nerve_status nerve_net_load(nerve_net **out, const char *path) {
    CHECK_ARG(out != NULL, "nerve_net_load: out is NULL");
    *out = NULL;
    CHECK_ARG(path != NULL, "nerve_net_load: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return error_set(NERVE_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    nerve_status st = NERVE_OK;
    if (fstat(fileno(f), &sb) != 0)
        st = error_set(NERVE_EIO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = error_set(NERVE_EIO, "%s: not a regular file", path);
    else
        st = model_read_file(f, (uint64_t)sb.st_size, path, out);
    fclose(f);
    return st;
}
