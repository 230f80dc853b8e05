/* Internal: raw CPU detection (src/core/cpu.c) used by the dispatcher. */
#ifndef NERVE_SRC_CPU_INTERNAL_H
#define NERVE_SRC_CPU_INTERNAL_H

#include "nerve/cpu.h"

/* Fill *f from cpuid/xgetbv (x86-64) or getauxval (AArch64). */
void cpu_detect(nerve_cpu_features *f);
/* Whether the CPU and OS can execute the instructions of `isa`. */
bool cpu_can_run(const nerve_cpu_features *f, nerve_isa isa);

#endif
