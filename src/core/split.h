/* Splitting a range into balanced contiguous parts (threads, chunks). */
#ifndef NERVE_SRC_SPLIT_H
#define NERVE_SRC_SPLIT_H

#include <stddef.h>

/* Contiguous share [*b, *e) of part i of `parts` over [0, n), cut at
 * multiples of `unit` (only the last share can end off a multiple); share
 * sizes differ by at most one unit, and no intermediate product can
 * overflow. The one split of every phase: thread shares of outputs, rows
 * and columns, and the row chunks of the inference calls. Partitions never
 * change a bit (docs/architecture.md, "Reproducibility"). */
void split_range(size_t n, size_t unit, size_t i, size_t parts, size_t *b, size_t *e);

#endif
