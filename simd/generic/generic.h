/* Declarations of the generic kernels, written once against vec.h and
 * compiled once per ISA (KNAME adds the __<isa> suffix). Semantics: see the
 * matching fields of struct kernels in table.h. */
#ifndef NERVE_SIMD_GENERIC_H
#define NERVE_SIMD_GENERIC_H

#include "table.h"
#include "vec.h"

#define DECLARE_ACT(E, act)                                                                        \
    void KNAME(f32_##act##_fwd)(size_t n, const float *x, float *y);                               \
    void KNAME(f32_##act##_bwd)(size_t n, const float *x, const float *y, const float *dy,         \
                                float *dx);
NERVE_ACT_LIST(DECLARE_ACT)
#undef DECLARE_ACT

void KNAME(f32_gemv_n)(size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
                       float beta, float *y);
void KNAME(f32_gemv_t)(size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
                       float beta, float *y);
void KNAME(f32_gemv_packed)(size_t k, size_t n, const float *b, size_t nr, size_t ldp, size_t m,
                            const float *x, size_t ldx, float *y, size_t ldy);
void KNAME(f32_softmax)(size_t rows, size_t cols, const float *x, float *y);
void KNAME(f32_loss_mse)(size_t rows, size_t cols, const float *out, const float *target,
                         float scale, float *grad, float *row_loss);
void KNAME(f32_loss_xent)(size_t rows, size_t cols, const float *logits, const int32_t *labels,
                          float scale, float *grad, float *row_loss);
int KNAME(f32_sgd)(size_t n, float *w, const float *g, float *v, const opt_step *s);
int KNAME(f32_adam)(size_t n, float *w, const float *g, float *m, float *v, const opt_step *s);
float KNAME(f32_sum)(size_t n, const float *x);
float KNAME(f32_dot)(size_t n, const float *x, const float *y);
void KNAME(f32_colsum)(size_t rows, size_t cols, const float *x, size_t ldx, float *y,
                       int accumulate);
void KNAME(f32_axpby)(size_t n, float alpha, const float *x, float beta, float *y);
void KNAME(f32_bias_add)(size_t rows, size_t cols, float *y, size_t ldy, const float *b);

#endif
