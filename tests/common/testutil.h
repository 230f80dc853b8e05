/* Helpers shared by the Criterion tests. */
#ifndef NERVE_TESTUTIL_H
#define NERVE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/cpu.h"
#include "table.h"

/* The ISAs this CPU supports, for ParameterizedTestParameters: fills `out`
 * (capacity NERVE_ISA_COUNT) and returns the count. Unsupported ISAs are not
 * listed (so no test is silently skipped); the NEON table is checked under
 * qemu by the self-test program instead. */
size_t test_supported_isas(nerve_isa *out);

/* The sizes every kernel is checked at: 0, 1, 2, 15, 16, 17, 31, 33, 64, 100,
 * and around common tile widths. */
extern const size_t test_sizes[];
extern const size_t test_sizes_count;

/* Deterministic pseudo-random floats in [lo, hi) (splitmix64). */
void test_fill(float *x, size_t n, uint64_t seed, float lo, float hi);

/* Bit-exact comparison; returns the first mismatching index or SIZE_MAX. */
size_t test_first_bit_mismatch(const float *a, const float *b, size_t n);

/* Distance in units in the last place between two floats (same sign
 * assumed for finite values; NaN vs NaN is 0, NaN vs number is huge). */
uint32_t test_ulp_diff(float a, float b);

/* Allocate n floats (n may be 0) at `offset` (< 16) floats past a 64-byte boundary, so
 * tests can exercise unaligned pointers; free with test_free. */
float *test_alloc(size_t n, size_t offset);
void test_free(float *p);

/* Temporary directories for tests that write files: test_tmpdir_make
 * creates /tmp/nerve-test-<tag>-XXXXXX into dir (capacity cap) and returns 1;
 * test_tmpdir_remove makes it writable again and removes it with all its
 * contents, returning 1 on success; test_tmp_path gives "dir/name" in one of
 * four rotating static buffers (so up to four paths can be in use at once). */
int test_tmpdir_make(char *dir, size_t cap, const char *tag);
int test_tmpdir_remove(const char *dir);
const char *test_tmp_path(const char *dir, const char *name);

#endif
