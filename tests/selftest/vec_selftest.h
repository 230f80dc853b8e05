/* The vector API (simd/vec.h) of one ISA against the scalar header, bit for
 * bit, without Criterion: the per-ISA operations are tests/vec/vec_check.c
 * (the same objects tests/simd/test_vec.c drives, compiled once per ISA); this
 * driver feeds them special values (NaN, +-0, +-Inf, subnormals, FLT_MAX,
 * rounding ties) and random bits, and checks the tails against a guard page.
 * It is how vec_neon.h is checked under qemu, where Criterion cannot run. */
#ifndef NERVE_SELFTEST_VEC_SELFTEST_H
#define NERVE_SELFTEST_VEC_SELFTEST_H

#include <stddef.h>

#include "nerve/cpu.h"

/* Number of mismatching results (0: all equal); the first one is described
 * in msg (cap bytes). 1 with a message when the ISA's header is not built in. */
size_t vec_selftest_run(nerve_isa isa, char *msg, size_t cap);

#endif
