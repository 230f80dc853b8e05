/* The kernel table of the ISA this object library is built for: the generic
 * kernels of simd/generic/ plus the ISA's hand-written GEMM micro-kernel
 * (simd/gemm_<isa>.h names it and its tile/blocking sizes). */
#include "generic.h"

#if defined(NERVE_ISA_BUILD_SCALAR)
#include "gemm_scalar.h"
#define TABLE     kernels_scalar
#define TABLE_ISA NERVE_ISA_SCALAR
#elif defined(NERVE_ISA_BUILD_AVX2)
#include "gemm_avx2.h"
#define TABLE     kernels_avx2
#define TABLE_ISA NERVE_ISA_AVX2
#elif defined(NERVE_ISA_BUILD_AVX512)
#include "gemm_avx512.h"
#define TABLE     kernels_avx512
#define TABLE_ISA NERVE_ISA_AVX512
#elif defined(NERVE_ISA_BUILD_NEON)
#include "gemm_neon.h"
#define TABLE     kernels_neon
#define TABLE_ISA NERVE_ISA_NEON
#endif

/* Even tiles: the network's weight-gradient blocks start on multiples of
 * MR rows and NR columns (linear_grad_block), and bf16 training writes W's
 * pair copies block by block (src/net/train.c, update_block), which is race
 * free only if no pair straddles two blocks. */
TABLE_STATIC_ASSERT(GEMM_MR % 2 == 0 && GEMM_NR % 2 == 0, "even fp32 tile");
#ifndef GEMM_MR_STEP
#define GEMM_MR_STEP GEMM_MR /* every tile computes all MR rows */
#endif
TABLE_STATIC_ASSERT(GEMM_MR % GEMM_MR_STEP == 0, "row steps divide MR");

/* the generic transposing pack unless the ISA's header names its own */
#ifndef GEMM_PACK_T
#define GEMM_PACK_T KNAME(f32_pack_t)
#endif

#define STR2(x) #x
#define STR(x)  STR2(x)
/* act_fwd / act_bwd / bias_act from the activation list, indexed by
 * ACT_<ENUM>; the loss_<name> fields from the loss list */
#define ACT_FWD_(E, act) [ACT_##E] = KNAME(f32_##act##_fwd),
#define ACT_BWD_(E, act) [ACT_##E] = KNAME(f32_##act##_bwd),
#define BIAS_ACT_(E, act) [ACT_##E] = KNAME(f32_bias_##act),
#define LOSS_(E, name, targets, mean, gscale) .loss_##name = KNAME(f32_loss_##name),

const kernel_table TABLE = {
    .isa = TABLE_ISA,
    .name = STR(NERVE_ISA_BUILD),
    .gemm_ukr = GEMM_UKR,
#ifdef GEMM_UKR_STRIDED
    .gemm_ukr_strided = GEMM_UKR_STRIDED,
#endif
#ifdef GEMM_UKR_BIAS_ACT
    .gemm_ukr_bias_act = GEMM_UKR_BIAS_ACT,
#endif
    .mr = GEMM_MR,
    .mr_step = GEMM_MR_STEP,
    .nr = GEMM_NR,
    .mc = GEMM_MC,
    .kc = GEMM_KC,
    .nc = GEMM_NC,
    .gemm_pack_t = GEMM_PACK_T,
    .gemv_n = KNAME(f32_gemv_n),
    .gemv_t = KNAME(f32_gemv_t),
    .gemv_packed = KNAME(f32_gemv_packed),
    .act_fwd = {NERVE_ACT_LIST(ACT_FWD_)},
    .act_bwd = {NERVE_ACT_LIST(ACT_BWD_)},
    .bias_act = {NERVE_ACT_LIST(BIAS_ACT_)},
    .softmax = KNAME(f32_softmax),
    .sgd = KNAME(f32_sgd),
    .adam = KNAME(f32_adam),
    .sum = KNAME(f32_sum),
    .dot = KNAME(f32_dot),
    .maxabs = KNAME(f32_maxabs),
    .colsum = KNAME(f32_colsum),
    .axpby = KNAME(f32_axpby),
    .bias_add = KNAME(f32_bias_identity), /* f(y + b) with f the identity */
    /* clang-format off: the list expands to designators and commas */
    NERVE_LOSS_LIST(LOSS_)
    /* clang-format on */
    .bf16_cvt_rows = KNAME(bf16_cvt_rows),
    .bf16_cvt_cols = KNAME(bf16_cvt_cols),
    .gemm_bf16_ukr = KNAME(bf16_gemm_ukr),
    .bf16_mr = BF16E_MR,
    .bf16_nr = BF16E_NR,
    /* B panel kc x nr words: 128 * 16 * 4 B = 8 KiB, in L1 with the C tile;
     * A block 256 rows x 128 pairs = 128 KiB in L2 */
    .bf16_mc = 256,
    .bf16_kc = 128,
    .bf16_nc = 2048,
    .bf16_impl = "emulated",
};
