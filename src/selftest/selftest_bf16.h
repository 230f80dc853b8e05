/* The self-test's bf16 checks (src/selftest/selftest_bf16.c), entries of
 * the list in selftest.c: "bf16_cvt" (both conversions), "gemm_bf16_ukr"
 * (the micro-kernel, every tile edge, packed and strided) and
 * "gemm_bf16_chain" (the driver, 1 and 2 threads, against `ref`'s). The
 * first two compare with the exact reference of simd/bf16.h; for a table
 * with native bf16 kernels they also check the emulated table of the same
 * ISA. Same calling convention as every check: 1 passed, 0 not (msg says
 * why, or "out of memory"). */
#ifndef NERVE_SRC_SELFTEST_BF16_H
#define NERVE_SRC_SELFTEST_BF16_H

#include <stddef.h>

#include "table.h"

int selftest_check_bf16_cvt(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap);
int selftest_check_gemm_bf16_ukr(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap);
int selftest_check_gemm_bf16_chain(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap);

#endif
