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

#define STR2(x) #x
#define STR(x)  STR2(x)
/* act_fwd / act_bwd from the activation list, indexed by ACT_<ENUM> */
#define ACT_FWD_(E, act) [ACT_##E] = KNAME(f32_##act##_fwd),
#define ACT_BWD_(E, act) [ACT_##E] = KNAME(f32_##act##_bwd),

const kernels TABLE = {
    .isa = TABLE_ISA,
    .name = STR(NERVE_ISA_BUILD),
    .gemm_ukr = GEMM_UKR,
#ifdef GEMM_UKR_STRIDED
    .gemm_ukr_strided = GEMM_UKR_STRIDED,
#endif
    .mr = GEMM_MR,
    .nr = GEMM_NR,
    .mc = GEMM_MC,
    .kc = GEMM_KC,
    .nc = GEMM_NC,
    .gemv_n = KNAME(f32_gemv_n),
    .gemv_t = KNAME(f32_gemv_t),
    .gemv_packed = KNAME(f32_gemv_packed),
    .act_fwd = {NERVE_ACT_LIST(ACT_FWD_)},
    .act_bwd = {NERVE_ACT_LIST(ACT_BWD_)},
    .softmax = KNAME(f32_softmax),
    .loss_mse = KNAME(f32_loss_mse),
    .loss_xent = KNAME(f32_loss_xent),
    .sgd = KNAME(f32_sgd),
    .adam = KNAME(f32_adam),
    .sum = KNAME(f32_sum),
    .dot = KNAME(f32_dot),
    .colsum = KNAME(f32_colsum),
    .axpby = KNAME(f32_axpby),
    .bias_add = KNAME(f32_bias_add),
};
