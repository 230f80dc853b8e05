/* Activation functions, forward y = f(x) and backward dx = dy * f'(x)
 * (PyTorch's definitions, table.h), written once against vec.h. Full
 * 16-lane blocks, then one masked tail block through the same operations.
 * NaN inputs come out as the same NaN. Transcendentals: simd/vmath.h;
 * accuracy: docs/math.md. */
#include "generic.h"
#include "vmath.h"

/* Loop skeletons: f(x) or b(x, y, dy) over n elements. In-place use (y == x,
 * dx == dy) is fine: each block is read before it is written. */
#define DEFINE_FWD(act, F)                                                                         \
    void KNAME(f32_##act##_fwd)(size_t n, const float *x, float *y) {                              \
        size_t i = 0;                                                                              \
        for (; i + VL <= n; i += VL) vf_storeu(y + i, F(vf_loadu(x + i)));                         \
        if (i < n) vf_store_tail(y + i, F(vf_load_tail(x + i, n - i)), n - i);                     \
    }
#define DEFINE_BWD(act, B)                                                                         \
    void KNAME(f32_##act##_bwd)(size_t n, const float *x, const float *y, const float *dy,         \
                                float *dx) {                                                       \
        size_t i = 0;                                                                              \
        for (; i + VL <= n; i += VL)                                                               \
            vf_storeu(dx + i, B(vf_loadu(x + i), vf_loadu(y + i), vf_loadu(dy + i)));              \
        if (i < n) {                                                                               \
            size_t r = n - i;                                                                      \
            vf_store_tail(                                                                         \
                dx + i,                                                                            \
                B(vf_load_tail(x + i, r), vf_load_tail(y + i, r), vf_load_tail(dy + i, r)), r);    \
        }                                                                                          \
    }

/* f(y + b) over a strided tile, in place: per row the blocks of DEFINE_FWD
 * with the bias added first (one rounding, as bias_add), so the same bits as
 * bias_add then f32_<act>_fwd. */
#define DEFINE_BIAS_ACT(act, F)                                                                    \
    void KNAME(f32_bias_##act)(size_t rows, size_t cols, float *y, size_t ldy, const float *b) {   \
        for (size_t r = 0; r < rows; r++) {                                                        \
            float *yr = y + r * ldy;                                                               \
            size_t j = 0;                                                                          \
            for (; j + VL <= cols; j += VL)                                                        \
                vf_storeu(yr + j, F(vf_add(vf_loadu(yr + j), vf_loadu(b + j))));                   \
            if (j < cols) {                                                                        \
                const size_t t = cols - j;                                                         \
                vf_store_tail(yr + j, F(vf_add(vf_load_tail(yr + j, t), vf_load_tail(b + j, t))),  \
                              t);                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

static inline vm is_neg(vf x) { return vf_lt(x, vf_zero()); }
static inline vf keep_nan(vf x, vf r) { return vf_select(vf_isnan(x), x, r); }

/* identity: y = x, dx = dy */
static inline vf identity_f(vf x) { return x; }
static inline vf identity_b(vf x, vf y, vf dy) {
    (void)x;
    (void)y;
    return dy;
}

/* sigmoid: backward from y as PyTorch does: dx = (dy * (1 - y)) * y */
static inline vf sigmoid_b(vf x, vf y, vf dy) {
    (void)x;
    return vf_mul(vf_mul(dy, vf_sub(vf_set1(1.0f), y)), y);
}

/* tanh: dx = dy * (1 - y^2), with 1 - y^2 as one fma */
static inline vf tanh_b(vf x, vf y, vf dy) {
    (void)x;
    return vf_mul(dy, vf_fnma(y, y, vf_set1(1.0f)));
}

/* relu: y = x < 0 ? 0 : x (NaN passes); dx = x <= 0 ? 0 : dy (PyTorch's
 * threshold_backward: NaN x passes dy). */
static inline vf relu_f(vf x) { return vf_select(is_neg(x), vf_zero(), x); }
static inline vf relu_b(vf x, vf y, vf dy) {
    (void)y;
    return vf_select(vf_le(x, vf_zero()), vf_zero(), dy);
}

/* leaky_relu, slope 0.01: y = x > 0 ? x : 0.01 x; dx = x > 0 ? dy : 0.01 dy */
#define LEAKY_SLOPE 0.01f
static inline vf leaky_relu_f(vf x) {
    return vf_select(vf_gt(x, vf_zero()), x, vf_mul(x, vf_set1(LEAKY_SLOPE)));
}
static inline vf leaky_relu_b(vf x, vf y, vf dy) {
    (void)y;
    return vf_select(vf_gt(x, vf_zero()), dy, vf_mul(dy, vf_set1(LEAKY_SLOPE)));
}

/* elu, alpha 1: y = x > 0 ? x : expm1(x); dx = x > 0 ? dy : dy * e^x (e^x
 * from x rather than y + 1, which loses everything once y rounds to -1). */
static inline vf elu_f(vf x) { return vf_select(vf_gt(x, vf_zero()), x, vx_expm1(x)); }
static inline vf elu_b(vf x, vf y, vf dy) {
    (void)y;
    return vf_select(vf_gt(x, vf_zero()), dy, vf_mul(dy, vx_exp(vf_min(x, vf_zero()))));
}

/* gelu (exact): y = x Phi(x). With u = min(|x|, 15), T = Phi(-u) = e^(-u^2/2) tq
 * (vmath.h): x < 0: y = x T, computed as e^(-u^2/2) * (-u tq) so tiny results
 * round once; x >= 0: y = x (1 - T); |x| < 0.5: x Phi(x) from the series
 * of vmath.h. For x < -15, y is -0 (also for -inf:
 * the limit, where the formula would give NaN). */
static inline vf gelu_f(vf x) {
    vf u = vx__ncdf_u(x);
    vf tq = vx__ncdf_tq(u);
    vm neg = is_neg(x);
    vf v = vx__gauss_mul(u, vf_select(neg, vf_mul(vf_neg(u), tq), tq));
    vf r = vf_select(neg, v, vf_mul(x, vf_sub(vf_set1(1.0f), v)));
    /* |x| < 0.5: x (1/2 + x P(x^2)) = x/2 + x (x P), one final rounding */
    vf central = vf_fma(x, vf_mul(x, vx__ncdf_p(vf_mul(x, x))), vf_mul(vf_set1(0.5f), x));
    central = vf_select(vf_eq(x, vf_zero()), x, central); /* gelu(-0) = -0 */
    return keep_nan(x, vf_select(vx__central(x), central, r));
}

/* gelu' = Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi):
 * |x| < 0.5: the Taylor series 1/2 + x P2(x^2) (vmath.h)
 * x < 0:  e^(-u^2/2) (tq - u / sqrt(2 pi))      (one product, tiny results exact)
 * x >= 0: (1 - T) + u G / sqrt(2 pi) with G = e^(-u^2/2), T = G tq. */
static inline vf gelu_b(vf x, vf y, vf dy) {
    (void)y;
    const vf c = vf_set1(VX_INV_SQRT_2PI);
    vf u = vx__ncdf_u(x);
    vf tq = vx__ncdf_tq(u);
    vm neg = is_neg(x);
    vf v = vx__gauss_mul(u, vf_select(neg, vf_fnma(u, c, tq), vf_set1(1.0f)));
    vf pos = vf_fma(u, vf_mul(v, c), vf_fnma(v, tq, vf_set1(1.0f)));
    vf central = vf_fma(x, vx__dgelu_p(vf_mul(x, x)), vf_set1(0.5f)); /* |x| < 0.5 */
    vf d = vf_select(vx__central(x), central, vf_select(neg, v, pos));
    return vf_mul(dy, keep_nan(x, d));
}

/* silu: y = x sigmoid(x). With a = -|x|, e = e^a, d = 1 + e: x >= 0: x / d;
 * x < 0: (x e^x) / d with the numerator one rounded vx_exp_mul, so tiny
 * results round once. x is clamped to -200 inside the product (silu(-200)
 * already underflows to -0). */
static inline vf silu_f(vf x) {
    vf a = vf_neg(vf_abs(x));
    vf d = vf_add(vf_set1(1.0f), vx_exp(a));
    vf num = vx_exp_mul(a, vf_max(x, vf_set1(-200.0f)));
    return keep_nan(x, vf_div(vf_select(is_neg(x), num, x), d));
}
/* silu' = s (1 + x (1 - s)) (PyTorch's form), s = sigmoid(x). With a, e, d
 * as above: x >= 0: s = 1/d, 1 - s = e/d, and the product is direct;
 * x < 0: s = e/d, 1 - s = 1/d, computed as e^a (1 + x/d) / d with e^a times
 * the factor one rounded vx_exp_mul (derivatives far below FLT_MIN keep
 * their precision; x clamped to -200 inside the factor as above). */
static inline vf silu_b(vf x, vf y, vf dy) {
    (void)y;
    const vf one = vf_set1(1.0f);
    vf a = vf_neg(vf_abs(x));
    vf e = vx_exp(a);
    vf d = vf_add(one, e);
    vf big = vf_div(one, d), small = vf_div(e, d);
    vf neg = vf_div(vx_exp_mul(a, vf_fma(vf_max(x, vf_set1(-200.0f)), big, one)), d);
    vf pos = vf_mul(big, vf_fma(x, small, one));
    return vf_mul(dy, keep_nan(x, vf_select(is_neg(x), neg, pos)));
}

/* softplus (beta 1, threshold 20, as PyTorch): y = x > 20 ? x : log(1 + e^x),
 * the latter as max(x, 0) + log1p(e^-|x|) (no overflow, tiny results exact;
 * e^-|x| is in [0, 1], so log1p needs no range reduction: vx__log1p_unit);
 * dx = x > 20 ? dy : dy * sigmoid(x). */
#define SOFTPLUS_THRESHOLD 20.0f
static inline vf softplus_f(vf x) {
    vf sp = vf_add(vf_max(x, vf_zero()), vx__log1p_unit(vx_exp(vf_neg(vf_abs(x)))));
    return keep_nan(x, vf_select(vf_gt(x, vf_set1(SOFTPLUS_THRESHOLD)), x, sp));
}
static inline vf softplus_b(vf x, vf y, vf dy) {
    (void)y;
    vf d = vf_select(vf_gt(x, vf_set1(SOFTPLUS_THRESHOLD)), vf_set1(1.0f), vx_sigmoid(x));
    return vf_mul(dy, keep_nan(x, d));
}

/* sigmoid and tanh forward: the vmath.h functions */
static inline vf sigmoid_f(vf x) { return vx_sigmoid(x); }
static inline vf tanh_f(vf x) { return vx_tanh(x); }

/* Per entry of the activation list: forward, backward and bias + forward
 * kernels, f32_<name>_fwd and f32_bias_<name> from <name>_f, f32_<name>_bwd
 * from <name>_b. */
#define DEFINE_ACT(E, act)                                                                         \
    DEFINE_FWD(act, act##_f) DEFINE_BWD(act, act##_b) DEFINE_BIAS_ACT(act, act##_f)
NERVE_ACT_LIST(DEFINE_ACT)
