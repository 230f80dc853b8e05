/* How a self-test check reports (selftest.c, selftest_bf16.c): every check
 * returns 1 when it passed and 0 when it did not. not_passed() writes the
 * description of the first difference into msg (capacity cap, when cap > 0)
 * and returns 0, so `return not_passed(...)` ends a failed check; oom() is
 * the failure of a buffer that could not be allocated ("out of memory",
 * which nerve_selftest_run reports as NERVE_ENOMEM, not as a verdict). */
#ifndef NERVE_SRC_CHECK_MSG_H
#define NERVE_SRC_CHECK_MSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"

static inline int not_passed(char *msg, size_t cap, const char *fmt, ...) NERVE_PRINTF(3, 4);
static inline int not_passed(char *msg, size_t cap, const char *fmt, ...) {
    if (cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static inline int oom(char *msg, size_t cap) { return not_passed(msg, cap, "out of memory"); }

#endif
