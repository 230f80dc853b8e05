/* Small helpers shared by the generic kernels (vec.h API only). */
#ifndef NERVE_SIMD_GENERIC_UTIL_H
#define NERVE_SIMD_GENERIC_UTIL_H

#include <stddef.h>

#include "vec.h"

/* Lanes [0, n) set, n <= 16: compares a masked load of ones with zero. */
static inline vm gu_tail_mask(size_t n) {
    static const float ones[VL] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    return vf_gt(vf_load_tail(ones, n), vf_zero());
}

/* Lane indices 0..15 as floats (exact). */
static inline vf gu_iota(void) {
    static const float idx[VL] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    return vf_loadu(idx);
}

/* Maximum of the 16 lanes, by the same fixed tree as vf_reduce_add with
 * max(a, b) = a > b ? a : b. Exact, so only the NaN/signed-zero choice
 * depends on the order, and the order is fixed. */
static inline float gu_reduce_max(vf v) {
    float t[VL];
    vf_storeu(t, v);
    for (int i = 0; i < 8; i++) t[i] = t[i] > t[i + 8] ? t[i] : t[i + 8];
    for (int i = 0; i < 4; i++) t[i] = t[i] > t[i + 4] ? t[i] : t[i + 4];
    for (int i = 0; i < 2; i++) t[i] = t[i] > t[i + 2] ? t[i] : t[i + 2];
    return t[0] > t[1] ? t[0] : t[1];
}

/* Lane 0 of v. */
static inline float gu_first(vf v) {
    float t[VL];
    vf_storeu(t, v);
    return t[0];
}

#endif
