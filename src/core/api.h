/* Shared helpers of the public kernel entry points (src/api_*.c): argument
 * checks and the thread policy.
 *
 * Thread policy: a call of `work` elements (or rows, columns: the caller
 * says what one unit costs through `grain`, the units one thread should have
 * at least) uses api_threads(work, grain) threads: 1 inside a parallel
 * region, else min(lib_max_threads(), work / grain), at least 1. The split
 * itself (split_range) never changes a result: public kernels split only
 * elementwise work, independent rows or independent columns. */
#ifndef NERVE_SRC_API_H
#define NERVE_SRC_API_H

#include <stddef.h>

#include "nerve/kernels.h"
#include "split.h"
#include "table.h"

/* Threads for one call from outside a parallel region (>= 1):
 * nerve_get_num_threads(). Also used by the GEMM driver and the network. */
int lib_max_threads(void);

/* Threads for `work` units when each thread should get >= `grain` units
 * (grain scaled by api_grain_scale, see below); 1 inside a parallel region. */
int api_threads(size_t work, size_t grain);

/* Tests: multiplies every grain by `scale` / 1024 (0 restores 1024), so
 * small calls can be made to split across threads. Returns the old scale. */
size_t api_set_grain_scale(size_t scale);


/* NERVE_EINVAL (message naming fn and name) unless the rows x cols array at
 * p with leading dimension ld is valid: ld >= cols, p != NULL when it has
 * elements, and its extent (rows - 1) * ld + cols floats fits in size_t
 * bytes. */
nerve_status api_check_matrix(const char *fn, const char *name, const void *p, size_t rows,
                              size_t cols, size_t ld);
/* The same for a vector of n floats. */
nerve_status api_check_vector(const char *fn, const char *name, const void *p, size_t n);
/* NERVE_EINVAL unless act is one of nerve_act. */
nerve_status api_check_act(const char *fn, nerve_act act);

#endif
