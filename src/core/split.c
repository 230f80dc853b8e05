/* Balanced range splits (contract: split.h). */
#include "split.h"
#include "private_abi.h"

NERVE_PRIVATE void split_range(size_t n, size_t unit, size_t i, size_t parts, size_t *b, size_t *e) {
    const size_t units = n / unit + (n % unit != 0), q = units / parts, r = units % parts;
    const size_t u0 = i * q + (i < r ? i : r), u1 = u0 + q + (i < r);
    /* unit u starts at u * unit, which is <= n (no overflow) for u <= n / unit;
     * only the unit after a partial last one would start past n */
    *b = u0 <= n / unit ? u0 * unit : n;
    *e = u1 <= n / unit ? u1 * unit : n;
}
