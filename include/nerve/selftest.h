/* nerve/selftest.h: the self-test, a product feature.
 *
 * The reproducibility rule says every kernel table computes the same bits
 * as the scalar table. The self-test is that rule as a list of named checks,
 * each running one kernel-table entry (or a few related ones: "gemm_ukr",
 * "act_fwd.gelu", "adam", ...) of one ISA's table and of the scalar table on
 * the same deterministic inputs: awkward sizes (0, 1, around every vector
 * and tile width, a larger prime), odd strides, unaligned pointers, special
 * values (NaN, infinities, signed zeros, huge and tiny numbers), and
 * comparing every output element and guard elements around it bit for bit
 * (two NaNs match whatever their payload). `nerve selftest` runs every check
 * on every table this CPU supports; an embedder can do the same at start-up,
 * e.g. before trusting a new CPU model or a new build.
 *
 * A check allocates its own buffers (a few MiB at most), changes no setting
 * of the library (ISA cap, threads) and runs on the calling thread; the GEMM
 * driver check ("gemm_chain") also runs the driver with 2 OpenMP threads. */
#ifndef NERVE_SELFTEST_H
#define NERVE_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>

#include "nerve/cpu.h"
#include "nerve/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The number of checks (more than 30; the list grows with the kernels). */
NERVE_API size_t nerve_selftest_count(void);

/* The name of check `check` (< nerve_selftest_count()), e.g. "gemm_ukr";
 * NULL when out of range. A static string. */
NERVE_API const char *nerve_selftest_name(size_t check);

/* Runs check `check` on the table of `isa` against the scalar table.
 * NERVE_OK: the check ran, and *passed says whether every output matched;
 * when it did not, msg (capacity cap, always NUL-terminated when cap > 0;
 * may be NULL when cap == 0) describes the first difference, e.g.
 * "rows=17 cols=33: y[5]: got 0x1p-3, reference 0x1.000002p-3".
 * NERVE_EINVAL: passed is NULL, msg is NULL with cap > 0, check is out of
 * range or isa is not a nerve_isa. NERVE_EUNSUPPORTED: the table of isa is
 * not built into this library or this CPU cannot run it (nerve_isa_built,
 * nerve_isa_supported). NERVE_ENOMEM: a buffer could not be allocated.
 * *passed is false unless NERVE_OK and the check passed. */
NERVE_API nerve_status nerve_selftest_run(size_t check, nerve_isa isa, bool *passed, char *msg,
                                          size_t cap);

#ifdef __cplusplus
}
#endif

#endif
