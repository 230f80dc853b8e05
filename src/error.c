/* Status descriptions and the thread-local last-error message. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_CAP 512

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

nerve_status error_set(nerve_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    return status;
}

void error_prefix(const char *fmt, ...) {
    char prefix[MSG_CAP], old[MSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_msg, sizeof old);
    /* prefix first, then as much of the old message as fits */
    size_t n = strlen(prefix);
    if (n > MSG_CAP - 3) n = MSG_CAP - 3;
    memcpy(last_msg, prefix, n);
    memcpy(last_msg + n, ": ", 2);
    size_t rest = MSG_CAP - 1 - (n + 2), len = strlen(old);
    if (len > rest) len = rest;
    memcpy(last_msg + n + 2, old, len);
    last_msg[n + 2 + len] = '\0';
}
