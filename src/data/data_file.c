/* Reading whole data files into memory, and undoing gzip with zlib.
 *
 * Nothing read here is trusted: the file size and the decompressed size are
 * both capped, and the decompressed output grows only as inflate actually
 * produces bytes, so a header claiming a huge size cannot make us allocate
 * more than the data really holds (plus the growth factor). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data_internal.h"
#include "error.h"

/* DEFLATE cannot expand better than about 1032:1 (a 258-byte match per
 * 2-bit code, RFC 1951), so the gzip trailer's size hint is believed only
 * up to that ratio of the compressed length. */
#define DEFLATE_MAX_RATIO 1032u
/* zlib's avail_in / avail_out are 32-bit: feed and drain at most 1 GiB a call. */
#define ZCHUNK ((size_t)1 << 30)

int data_is_gzip(const uint8_t *buf, size_t len) {
    return len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
}

/* Size hint from the gzip trailer (ISIZE: uncompressed length mod 2^32 of the
 * last member, little-endian), clamped to what is plausible and to cap. */
static size_t gunzip_hint(const uint8_t *in, size_t in_len, size_t cap) {
    size_t hint = 65536;
    if (in_len >= 18) { /* 10-byte header + empty deflate + 8-byte trailer */
        const uint8_t *t = in + in_len - 4;
        size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
        hint = isize + 1; /* +1: room to see the end without another grow */
    }
    size_t plausible =
        in_len <= SIZE_MAX / DEFLATE_MAX_RATIO ? in_len * DEFLATE_MAX_RATIO : SIZE_MAX;
    if (hint > plausible) hint = plausible;
    const size_t limit = cap < SIZE_MAX ? cap + 1 : SIZE_MAX; /* cap + 1 must not wrap */
    if (hint > limit) hint = limit;
    return hint ? hint : 1;
}

nerve_status data_gunzip(const uint8_t *in, size_t in_len, size_t cap, const char *name,
                         uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    size_t capacity = gunzip_hint(in, in_len, cap);
    uint8_t *buf = malloc(capacity);
    if (!buf)
        return error_set(NERVE_ENOMEM, "%s: cannot allocate %zu bytes to decompress", name,
                         capacity);

    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* 15 + 16: a 32 KiB window and gzip (not zlib) framing (zlib manual). */
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        free(buf);
        return error_set(NERVE_ENOMEM, "%s: cannot initialise zlib", name);
    }
    size_t used_in = 0, produced = 0;
    nerve_status st = NERVE_OK;
    for (;;) {
        if (produced == capacity) {
            if (capacity > cap || capacity == SIZE_MAX) {
                st = error_set(NERVE_EFORMAT,
                               "%s: decompressed data exceeds the limit of %zu bytes", name, cap);
                break;
            }
            /* up to cap + 1 bytes (one past the limit shows it exceeded),
             * SIZE_MAX when cap + 1 would wrap */
            const size_t limit = cap < SIZE_MAX ? cap + 1 : SIZE_MAX;
            size_t grow = capacity <= limit / 2 ? capacity * 2 : limit;
            uint8_t *bigger = realloc(buf, grow);
            if (!bigger) {
                st = error_set(NERVE_ENOMEM, "%s: cannot allocate %zu bytes to decompress", name,
                               grow);
                break;
            }
            buf = bigger;
            capacity = grow;
        }
        size_t avail_in = in_len - used_in, avail_out = capacity - produced;
        zs.next_in = (Bytef *)(uintptr_t)(in + used_in); /* zlib does not write through it */
        zs.avail_in = (uInt)(avail_in < ZCHUNK ? avail_in : ZCHUNK);
        zs.next_out = buf + produced;
        zs.avail_out = (uInt)(avail_out < ZCHUNK ? avail_out : ZCHUNK);
        uInt in_before = zs.avail_in, out_before = zs.avail_out;
        int rc = inflate(&zs, Z_NO_FLUSH);
        used_in += in_before - zs.avail_in;
        produced += out_before - zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (used_in == in_len) break;
            /* another member follows (gzip allows concatenation), or garbage */
            if (!data_is_gzip(in + used_in, in_len - used_in)) {
                st =
                    error_set(NERVE_EFORMAT, "%s: %zu bytes of trailing data after the gzip stream",
                              name, in_len - used_in);
                break;
            }
            inflateReset(&zs);
            continue;
        }
        if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
            st = error_set(NERVE_EFORMAT, "%s: corrupt gzip data (%s)", name,
                           zs.msg ? zs.msg : "invalid deflate stream");
            break;
        }
        if (rc == Z_MEM_ERROR) {
            st = error_set(NERVE_ENOMEM, "%s: zlib out of memory", name);
            break;
        }
        /* Z_OK or Z_BUF_ERROR: no progress possible means the input ran out */
        if (used_in == in_len && produced < capacity) {
            st =
                error_set(NERVE_EFORMAT, "%s: gzip stream truncated after %zu bytes", name, in_len);
            break;
        }
    }
    inflateEnd(&zs);
    if (st == NERVE_OK && produced > cap)
        st = error_set(NERVE_EFORMAT, "%s: decompressed data exceeds the limit of %zu bytes", name,
                       cap);
    if (st != NERVE_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_len = produced;
    return NERVE_OK;
}

nerve_status data_read_file(const char *path, size_t cap, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then
     * refuses it. On a regular file the flag changes nothing. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return error_set(NERVE_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return error_set(NERVE_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return error_set(NERVE_EIO, "%s: not a regular file", path);
    }
    if (sb.st_size < 0 || (uintmax_t)sb.st_size > cap) {
        close(fd);
        return error_set(NERVE_EFORMAT, "%s: file of %jd bytes exceeds the limit of %zu bytes",
                         path, (intmax_t)sb.st_size, cap);
    }
    size_t size = (size_t)sb.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return error_set(NERVE_ENOMEM, "%s: cannot allocate %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        size_t want = size - got < ZCHUNK ? size - got : ZCHUNK;
        ssize_t r = read(fd, buf + got, want);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return error_set(NERVE_EIO, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0) break; /* the file shrank while we read it */
        got += (size_t)r;
    }
    close(fd);
    if (!data_is_gzip(buf, got)) {
        *out = buf;
        *out_len = got;
        return NERVE_OK;
    }
    nerve_status st = data_gunzip(buf, got, cap, path, out, out_len);
    free(buf);
    return st;
}
