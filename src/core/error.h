/* Internal error reporting: set the thread-local message, return the status. */
#ifndef NERVE_SRC_ERROR_H
#define NERVE_SRC_ERROR_H

#include "nerve/errors.h"

#if defined(__GNUC__)
#define NERVE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NERVE_PRINTF(f, a)
#endif

/* Records "msg" (printf-style) as the calling thread's last error and
 * returns `status`, so callers can write `return error_set(NERVE_EINVAL, ...)`. */
nerve_status error_set(nerve_status status, const char *fmt, ...) NERVE_PRINTF(2, 3);
/* Prefixes the current message with "prefix: " (adds context on the way up). */
void error_prefix(const char *fmt, ...) NERVE_PRINTF(1, 2);

/* Check helpers for argument validation in public entry points. */
#define CHECK_ARG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) return error_set(NERVE_EINVAL, __VA_ARGS__);                                  \
    } while (0)

#endif
