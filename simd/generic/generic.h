/* Declarations of the generic kernels, written once against vec.h and
 * compiled once per ISA (KNAME adds the __<isa> suffix). Semantics: see the
 * matching fields of struct kernel_table in table.h. */
#ifndef NERVE_SIMD_GENERIC_H
#define NERVE_SIMD_GENERIC_H

#include "table.h"
#include "vec.h"

#define DECLARE_ACT(E, act)                                                                        \
    void KNAME(f32_##act##_fwd)(size_t n, const float *x, float *y);                               \
    void KNAME(f32_##act##_bwd)(size_t n, const float *x, const float *y, const float *dy,         \
                                float *dx);                                                        \
    void KNAME(f32_bias_##act)(size_t rows, size_t cols, float *y, size_t ldy, const float *b);
NERVE_ACT_LIST(DECLARE_ACT)
#undef DECLARE_ACT

void KNAME(f32_gemv_n)(size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
                       float beta, float *y);
void KNAME(f32_gemv_t)(size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
                       float beta, float *y);
void KNAME(f32_gemv_packed)(size_t k, size_t n, const float *b, size_t nr, size_t ldp, size_t m,
                            const float *x, size_t ldx, float *y, size_t ldy);
void KNAME(f32_pack_t)(const pack_word *src, size_t xs, size_t width, size_t kc, size_t w,
                       pack_word *dst);
void KNAME(f32_softmax)(size_t rows, size_t cols, const float *x, float *y);
#define DECLARE_LOSS(E, name, targets, mean, gscale)                                               \
    void KNAME(f32_loss_##name) LOSS_KERNEL(targets);
NERVE_LOSS_LIST(DECLARE_LOSS)
#undef DECLARE_LOSS
int KNAME(f32_sgd)(size_t n, float *w, const float *g, float *v, const opt_step *s,
                   float *amax);
int KNAME(f32_adam)(size_t n, float *w, const float *g, float *m, float *v, const opt_step *s,
                    float *amax);
float KNAME(f32_sum)(size_t n, const float *x);
float KNAME(f32_dot)(size_t n, const float *x, const float *y);
float KNAME(f32_maxabs)(size_t n, const float *x);
void KNAME(f32_colsum)(size_t rows, size_t cols, const float *x, size_t ldx, float *y,
                       int accumulate);
void KNAME(f32_axpby)(size_t n, float alpha, const float *x, float beta, float *y);

/* bf16 (simd/generic/bf16.c): the conversions and the exact emulation of the
 * vdpbf16ps micro-kernel, tile BF16E_MR x BF16E_NR (NR: BF16E_NRV logical
 * vectors; MR x NRV accumulators, what the ISA's registers hold without
 * spilling). On x86 also the variant using the FPU's DAZ/FTZ modes
 * (bf16_gemm_ukr_ftz), which src/core/dispatch.c uses after checking it. */
#if defined(NERVE_ISA_BUILD_AVX512)
#define BF16E_MR  6 /* 6 x 2 zmm accumulators, 4 zmm of B halves */
#define BF16E_NRV 2
#else
#define BF16E_MR  4 /* AVX2: 4 x 2 ymm; NEON: 4 x 4 q registers; scalar: 64 floats */
#define BF16E_NRV 1
#endif
#define BF16E_NR (BF16E_NRV * VL)
#if defined(NERVE_ISA_BUILD_AVX2) || defined(NERVE_ISA_BUILD_AVX512)
#define BF16E_HAVE_FTZ 1
#else
#define BF16E_HAVE_FTZ 0
#endif
void KNAME(bf16_cvt_rows)(size_t rows, size_t cols, const float *x, size_t ldx, uint32_t *y,
                          size_t ldy);
void KNAME(bf16_cvt_cols)(size_t rows, size_t cols, const float *x, size_t ldx, uint32_t *y,
                          size_t ldy);
void KNAME(bf16_gemm_ukr)(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs,
                          const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t m, size_t n,
                          int accumulate);
#if BF16E_HAVE_FTZ
void KNAME(bf16_gemm_ukr_ftz)(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs,
                              const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t m,
                              size_t n, int accumulate);
#endif

#endif
