/* Model files on disk: the atomic save and the load (format in
 * docs/model-format.md, serialization in model_write.c / model_read.c).
 *
 * Saving never touches the old file until the new one is complete and on
 * disk: write a temporary file next to it (same directory, hence the same
 * file system, so rename() is atomic), flush and fsync it, rename it over
 * the target, then fsync the directory so the rename itself is durable.
 * A crash or a full disk at any point leaves either the old file or the new
 * one, never a mix; on failure the temporary file is removed.
 *
 * Only a regular file is ever replaced: a FIFO, a device node, a socket or a
 * directory at the path is refused before anything is written. A symbolic
 * link is followed: its final target is replaced atomically, in the
 * target's own directory, and the link stays (what users expect of a save).
 * Once the rename has succeeded the save is reported as successful: the
 * directory sync after it is best effort (a directory the process may write
 * but not read, or a file system without directory sync, cannot be synced,
 * and failing then would report a failure with the new file in place).
 * After a save, temporary files of the same target left by killed saves
 * (processes that no longer exist) are removed. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
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

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

/* Creates "<path>.<pid>-<n>.tmp" exclusively; mode 0666 lets the umask
 * decide the permissions, as for any new file. When that name would exceed
 * NAME_MAX (a file name near the limit), ".nerve-<pid>-<n>.tmp" in the same
 * directory instead. */
static nerve_status open_temp(const char *path, char **tmp_out, int *fd_out) {
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp) return error_set(NERVE_ENOMEM, "%s: out of memory", path);
    const char *slash = strrchr(path, '/');
    const size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const int short_name = strlen(path + dir_len) + 40 > NAME_MAX;
    for (int attempt = 0; attempt < TMP_ATTEMPTS; attempt++) {
        unsigned n = atomic_fetch_add(&tmp_counter, 1u);
        if (short_name)
            snprintf(tmp, cap, "%.*s.nerve-%ld-%u.tmp", (int)dir_len, path, (long)getpid(), n);
        else
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

/* The directory holding `path`, opened for the fsync that makes a rename
 * in it durable; -1 when it cannot be opened (the sync is then skipped). */
static int open_dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/x" -> "/" */
    char *dir = malloc(n + 1);
    if (!dir) return -1;
    memcpy(dir, path, n);
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    return fd;
}

/* Where a save to `path` writes: `path` itself, or for a symbolic link the
 * file it finally points to. Refuses anything that exists and is not a
 * regular file, and a link whose target is missing. *target is malloc'd. */
static nerve_status save_target(const char *path, char **target) {
    struct stat sb;
    *target = NULL;
    if (lstat(path, &sb) != 0) {
        if (errno != ENOENT)
            return error_set(NERVE_EIO, "%s: cannot stat: %s", path, strerror(errno));
        *target = strdup(path);
        return *target ? NERVE_OK : error_set(NERVE_ENOMEM, "%s: out of memory", path);
    }
    if (S_ISLNK(sb.st_mode)) {
        char *real = realpath(path, NULL);
        if (!real)
            return error_set(NERVE_EIO, "%s: a symbolic link whose target cannot be resolved: %s",
                             path, strerror(errno));
        if (stat(real, &sb) != 0) {
            nerve_status st = error_set(NERVE_EIO, "%s: cannot stat the link's target %s: %s",
                                        path, real, strerror(errno));
            free(real);
            return st;
        }
        *target = real;
    }
    if (!S_ISREG(sb.st_mode)) {
        const char *what = S_ISDIR(sb.st_mode)    ? "a directory"
                           : S_ISFIFO(sb.st_mode) ? "a FIFO"
                           : S_ISSOCK(sb.st_mode) ? "a socket"
                           : S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode) ? "a device"
                                                                        : "not a regular file";
        free(*target);
        *target = NULL;
        return error_set(NERVE_EIO, "%s: is %s; only a regular file is replaced by a save", path,
                         what);
    }
    if (!*target && !(*target = strdup(path)))
        return error_set(NERVE_ENOMEM, "%s: out of memory", path);
    return NERVE_OK;
}

/* Removes "<base>.<pid>-<n>.tmp" files next to `target` left by saves that
 * were killed (kill -9, power loss): only those of processes that no longer
 * exist (kill(pid, 0) fails with ESRCH), never this process's own. Best
 * effort: a directory that cannot be listed is left alone. */
static void remove_stale_temps(const char *target) {
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    const size_t blen = strlen(base);
    char *dir = slash ? strndup(target, slash == target ? 1 : (size_t)(slash - target)) : NULL;
    DIR *d = opendir(slash ? dir : ".");
    if (!d) {
        free(dir);
        return;
    }
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strncmp(nm, base, blen) != 0 || nm[blen] != '.') continue;
        char *end;
        errno = 0;
        long pid = strtol(nm + blen + 1, &end, 10);
        if (errno || pid <= 0 || *end != '-' || pid == (long)getpid()) continue;
        unsigned long n = strtoul(end + 1, &end, 10);
        (void)n;
        if (strcmp(end, ".tmp") != 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to know */
        if (slash) {
            size_t len = strlen(dir) + 1 + strlen(nm) + 1;
            char *full = malloc(len);
            if (!full) break;
            snprintf(full, len, "%s/%s", dir, nm);
            unlink(full);
            free(full);
        } else {
            unlink(nm);
        }
    }
    closedir(d);
    free(dir);
}

nerve_status nerve_net_save(const nerve_net *net, const char *path, int with_training_state) {
    CHECK_ARG(net != NULL, "nerve_net_save: net is NULL");
    CHECK_ARG(path != NULL && *path, "nerve_net_save: no path");
    char *target = NULL, *tmp = NULL;
    int fd = -1;
    nerve_status st = save_target(path, &target);
    if (st != NERVE_OK) return st;
    if ((st = model_check_finite(net, with_training_state, path)) != NERVE_OK) {
        free(target);
        return st;
    }
    if ((st = open_temp(target, &tmp, &fd)) != NERVE_OK) {
        free(target);
        return st;
    }
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
    /* opened before the rename: after it, nothing may fail any more */
    const int dir_fd = open_dir_of(target);
    if (rename(tmp, target) != 0) {
        st =
            error_set(NERVE_EIO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        if (dir_fd >= 0) close(dir_fd);
        goto fail;
    }
    if (dir_fd >= 0) {
        (void)fsync(dir_fd); /* best effort, see the top of this file */
        close(dir_fd);
    }
    remove_stale_temps(target);
    free(tmp);
    free(target);
    return NERVE_OK;
fail:
    unlink(tmp);
    free(tmp);
    free(target);
    return st;
}

nerve_status nerve_net_load(nerve_net **out, const char *path) {
    CHECK_ARG(out != NULL, "nerve_net_load: out is NULL");
    *out = NULL;
    CHECK_ARG(path != NULL, "nerve_net_load: path is NULL");
    /* O_NONBLOCK: a FIFO must not block the open; fstat refuses it */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return error_set(NERVE_EIO, "%s: cannot open: %s", path, strerror(errno));
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return error_set(NERVE_EIO, "%s: cannot open: %s", path, strerror(e));
    }
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
