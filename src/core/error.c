/* Status descriptions and the thread-local last-error message. */
#include "error.h"
#include "private_abi.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Room for two paths of PATH_MAX and the OS's reason: a message is never
 * cut before the part that says what went wrong. */
#define MSG_CAP 10240

static _Thread_local char last_msg[MSG_CAP];

const char *nerve_strerror(nerve_status status) {
    switch (status) {
    case NERVE_OK:
        return "success";
    case NERVE_EINVAL:
        return "invalid argument";
    case NERVE_ENOMEM:
        return "out of memory";
    case NERVE_EIO:
        return "input/output error";
    case NERVE_EFORMAT:
        return "malformed data";
    case NERVE_ENUMERIC:
        return "numeric error (NaN or Inf)";
    case NERVE_EUNSUPPORTED:
        return "not supported";
    }
    return "unknown status";
}

const char *nerve_last_error(void) { return last_msg; }

NERVE_PRIVATE nerve_status error_set(nerve_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    return status;
}

void error_prefix(const char *fmt, ...) {
    /* the prefix is formatted at the front of a moved-up copy of the old
     * message, in place (no MSG_CAP-sized stack buffers) */
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    size_t n = k < 0 ? 0 : (size_t)k;
    if (n > MSG_CAP - 3) n = MSG_CAP - 3;
    size_t rest = MSG_CAP - 1 - (n + 2), len = strlen(last_msg);
    if (len > rest) len = rest;
    memmove(last_msg + n + 2, last_msg, len);
    last_msg[n + 2 + len] = '\0';
    va_start(ap, fmt);
    vsnprintf(last_msg, n + 1, fmt, ap); /* its NUL at n is replaced next */
    va_end(ap);
    memcpy(last_msg + n, ": ", 2);
}
