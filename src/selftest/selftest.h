/* Bit-exact self-checks of a kernel table against a reference table (the
 * scalar one): the reproducibility rule (docs/architecture.md) as a list of
 * named checks, behind the public nerve_selftest_* API (include/nerve/selftest.h) that
 * `nerve selftest`, tests/selftest/test_bitexact.c and the static tests/selftest
 * program (NEON under qemu) use.
 *
 * Each check runs one table entry (or a group of closely related ones) of
 * `kt` and of `ref` over awkward sizes (0, 1, 2, 15, 16, 17, 31, 33, 64, 100,
 * a larger prime), odd leading dimensions, unaligned pointers, special values
 * (NaN, infinities, signed zeros, huge and tiny numbers), NaN in outputs that
 * must not be read (beta == 0, accumulate == 0) and in-place operation where
 * table.h allows it, on deterministic inputs, and compares every output
 * element, plus guard elements around each output, bit for bit. Two NaNs
 * match whatever their payload and sign (x86 and Arm generate different
 * default NaNs; the position of every NaN must match). The GEMM micro-kernel_table
 * are compared with the fma chain of their contract in table.h (their tile
 * shapes differ between tables), every m <= MR, n <= NR, several k, both
 * accumulate modes; the driver through gemm_chain with 1 and 2 threads.
 *
 * Checks allocate their buffers; an allocation failure is reported as a
 * failed check. Nothing here aborts. */
#ifndef NERVE_SRC_SELFTEST_H
#define NERVE_SRC_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>

#include "table.h"

/* Number of checks. */
size_t selftest_count(void);

/* Name of check i ("gemm_ukr", "act_fwd.gelu", ...); NULL when i is out of
 * range. */
const char *selftest_name(size_t i);

/* Runs check i of `kt` against `ref`. Returns true when it passed; otherwise
 * false, with a one-line description of the first difference in msg
 * (capacity cap, always NUL-terminated when cap > 0; "out of memory" when a
 * buffer could not be allocated). An out-of-range i does not pass.
 * nerve_selftest_run (include/nerve/selftest.h) is this with ref = the
 * scalar table and kt = the table of an ISA; tests/selftest/test_bitexact.c also runs
 * it on doctored tables, to see that a check can fail. */
bool selftest_run(size_t i, const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap);

#endif
