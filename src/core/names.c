/* find_name (names.h). */
#include "names.h"

#include <stdio.h>
#include <strings.h>

#include "error.h"

nerve_status find_name(const char *what, const char *name, const char *const *names, int count,
                       int *out) {
    for (int i = 0; i < count; i++)
        if (strcasecmp(name, names[i]) == 0) {
            *out = i;
            return NERVE_OK;
        }
    /* "a, b or c": every name is a short identifier, 256 bytes hold them all */
    char expected[256];
    size_t len = 0;
    for (int i = 0; i < count && len < sizeof expected; i++) {
        const char *sep = i == 0 ? "" : i + 1 < count ? ", " : " or ";
        int k = snprintf(expected + len, sizeof expected - len, "%s%s", sep, names[i]);
        if (k < 0) break;
        len += (size_t)k;
    }
    return error_set(NERVE_EINVAL, "unknown %s '%.64s' (expected %s)", what, name, expected);
}
