/* nerve: CPU feature detection and the choice of kernel table (ISA).
 *
 * At first use the library detects the CPU (cpuid + xgetbv on x86-64,
 * getauxval(AT_HWCAP) on AArch64) and selects the best kernel table the CPU
 * and the operating system support. NERVE_MAX_ISA=scalar|avx2|avx512|neon in
 * the environment caps that choice (never raising it above what the CPU has);
 * NERVE_VERBOSE=1 prints the decision once to stderr. nerve_set_max_isa()
 * does the same at run time. All functions here are thread-safe. */
#ifndef NERVE_CPU_H
#define NERVE_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include "nerve/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction-set levels. On x86-64 they are ordered scalar < avx2 < avx512;
 * on AArch64 scalar < neon. */
typedef enum nerve_isa {
    NERVE_ISA_SCALAR = 0,
    NERVE_ISA_AVX2 = 1,   /* AVX2 + FMA */
    NERVE_ISA_AVX512 = 2, /* AVX-512 F, BW, DQ, VL */
    NERVE_ISA_NEON = 3,   /* AArch64 Advanced SIMD */
    NERVE_ISA_COUNT = 4
} nerve_isa;

/* What the CPU (and the OS, for register state) provides. */
typedef struct nerve_cpu_features {
    char vendor[16];
    char model[64]; /* brand string, "" if unknown */
    bool sse42, avx, fma, avx2;
    bool avx512f, avx512bw, avx512dq, avx512vl, avx512_bf16, avx512_vnni, avx_vnni;
    bool os_ymm, os_zmm; /* OS saves YMM / ZMM state (xgetbv) */
    bool neon, asimd_fp16;
} nerve_cpu_features;

NERVE_API const nerve_cpu_features *nerve_cpu_features_get(void);

/* "scalar", "avx2", "avx512", "neon"; "unknown" for other values. */
NERVE_API const char *nerve_isa_name(nerve_isa isa);
/* Parse a name as above (case-insensitive). NERVE_EINVAL if unknown. */
NERVE_API nerve_status nerve_isa_from_name(const char *name, nerve_isa *out);
/* True when this build contains the table and this CPU and OS can run it. */
NERVE_API bool nerve_isa_supported(nerve_isa isa);
/* True when this build of the library contains the table of `isa`, whether
 * or not this CPU can run it (false for another architecture's ISAs and for
 * values outside the enum). */
NERVE_API bool nerve_isa_built(nerve_isa isa);
/* The register tile of the table's GEMM micro-kernel: rows *mr of A by
 * columns *nr of B (e.g. 6 x 16 on AVX2). NERVE_EUNSUPPORTED when the table
 * is not built in or this CPU cannot run it; NERVE_EINVAL for a NULL pointer
 * or a value outside the enum. */
NERVE_API nerve_status nerve_isa_gemm_tile(nerve_isa isa, size_t *mr, size_t *nr);
/* How the table of `isa` computes bf16 products (nerve_net_set_precision),
 * always the same bits: "vdpbf16ps" (AVX512_BF16 hardware), "emulated-ftz"
 * (x86: an exact emulation in fp32 fmas with the FPU's denormals-are-zero
 * and flush-to-zero modes, one fma per step) or "emulated" (the portable
 * exact emulation, several operations per step); NULL when the table is not
 * supported. The environment variable NERVE_BF16_KERNEL=emulated, read at
 * the first use of the library, keeps vdpbf16ps out (it is used whenever the
 * CPU has it and it passes the start-up check otherwise). */
NERVE_API const char *nerve_isa_bf16(nerve_isa isa);
/* Why, table by table: e.g. "avx2 emulated with the FPU's DAZ/FTZ; avx512
 * vdpbf16ps (...); scalar emulated". A static string, fixed after the first
 * call. */
NERVE_API const char *nerve_bf16_reason(void);
/* The best ISA this CPU supports, ignoring any cap. */
NERVE_API nerve_isa nerve_isa_best(void);
/* The table in use now. */
NERVE_API nerve_isa nerve_isa_active(void);
/* Cap the choice: the active ISA becomes the best supported one not above
 * `cap` (an ISA of another architecture caps to scalar). NERVE_EINVAL for a
 * value outside the enum. Not to be called while other threads are running
 * nerve kernels. */
NERVE_API nerve_status nerve_set_max_isa(nerve_isa cap);
/* Why the active ISA was chosen, e.g. "avx2 (capped by NERVE_MAX_ISA=avx2;
 * best supported avx512)". The calling thread's own copy, valid until its
 * next call: safe while another thread calls nerve_set_max_isa. */
NERVE_API const char *nerve_isa_reason(void);

#ifdef __cplusplus
}
#endif
#endif
