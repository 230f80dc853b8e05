/* Vector transcendental functions over the 16-lane API of vec.h.
 *
 * Built only from IEEE add/sub/mul/div/fma and exact integer manipulation of
 * the exponent field, so every ISA computes identical bits
 * (docs/architecture.md, "Reproducibility"). Every lane runs the same operations; special
 * cases (NaN, infinities, overflow, underflow) are handled by clamping and
 * vf_select, never by branches. Accuracy, the origin of every coefficient and
 * the measured maximum errors: docs/math.md. Coefficients are printed by
 * scripts/vmath_coeffs.py.
 *
 *   vx_exp(x)         e^x                     NaN -> same NaN, -inf -> 0, +inf -> +inf
 *   vx_exp_mul(x, m)  m * e^x, rounded once at the end (results that are
 *                     subnormal are not rounded twice); |m| in [2^-60, 2^60]
 *   vx_expm1(x)       e^x - 1 for x <= 88 (larger x give expm1(88))
 *   vx_log(x)         natural log: 0 -> -inf, < 0 -> NaN, +inf -> +inf
 *   vx_log1p(x)       log(1 + x), accurate for tiny x; -1 -> -inf, < -1 -> NaN
 *   vx_tanh(x)        hyperbolic tangent (sign of zero kept)
 *   vx_sigmoid(x)     1 / (1 + e^-x)
 *   vx_ncdf(x)        standard normal CDF Phi(x) = (1 + erf(x / sqrt 2)) / 2
 *   vx_erf(x)         error function (Taylor near 0, else 1 - 2 Phi(-|x| sqrt 2))
 *
 * Internal helpers (vx__*) are shared by the activation kernels (simd/generic/act.c). */
#ifndef NERVE_SIMD_VMATH_H
#define NERVE_SIMD_VMATH_H

#include <stdint.h>

#include "vec.h"

/* ---- constants (scripts/vmath_coeffs.py prints them) -------------------- */
#define VX_LOG2E          0x1.715476p+0f  /* float(1 / ln 2) */
#define VX_LN2_HI         0x1.62e43p-1f   /* float(ln 2) */
#define VX_LN2_LO         -0x1.05c61p-29f /* float(ln 2 - VX_LN2_HI) */
#define VX_LN2_HI12       0x1.62ep-1f     /* ln 2 to 12 bits: k * HI12 exact for |k| < 2^12 */
#define VX_LN2_LO12       0x1.0bfbe8p-15f /* float(ln 2 - VX_LN2_HI12) */
#define VX_MAGIC          0x1.8p23f /* 1.5 * 2^23: x + MAGIC - MAGIC rounds |x| < 2^22 to an integer */
#define VX_MAGIC_BITS     0x4b400000     /* bits of VX_MAGIC */
#define VX_SQRT_HALF_BITS 0x3f3504f3     /* bits of float(sqrt(1/2)) */
#define VX_INV_SQRT_2PI   0x1.988454p-2f /* float(1 / sqrt(2 pi)), the normal density at 0 */
#define VX_SQRT2          0x1.6a09e6p+0f /* float(sqrt 2) */

/* 2^k from t = k + VX_MAGIC (k integer in [-126, 127]). t lies in [2^23, 2^24),
 * where consecutive floats are 1 apart, so bits(t) - bits(VX_MAGIC) is k
 * exactly: the exponent field k + 127 comes from one integer subtraction. */
static inline vf vx__pow2i_t(vf t) {
    return vi_as_vf(vi_shl23(vi_sub(vf_as_vi(t), vi_set1(VX_MAGIC_BITS - 127))));
}

static inline vf vx__nan(void) { return vi_as_vf(vi_set1(0x7fc00000)); } /* canonical quiet NaN */

/* ---- exp family ---------------------------------------------------------
 * Reduction: x = k ln 2 + r with k = round(x / ln 2) and |r| <= ln2/2 (plus
 * a rounding's worth). k comes from one fma with the 1.5*2^23 magic constant
 * (round to nearest integer); r = (x - k*LN2_HI) - k*LN2_LO, where the first
 * step is exact (both terms are multiples of 2^-25 or coarser and the result
 * is below 0.35 in magnitude, so it fits in 24 bits) and the second rounds
 * once. expm1(r) = r + r^2 (1/2! + r/3! + ... + r^6/8!): Taylor, truncation
 * error r^9/9! < 5.8e-10 relative at |r| = ln2/2. x must already be clamped
 * to |x| < 2^21 and not NaN. */
typedef struct vx__exp_red {
    vf t;    /* k + VX_MAGIC (see vx__pow2i_t) */
    vf kf;   /* k as a float */
    vf em1r; /* expm1(r) */
} vx__exp_red;

static inline vx__exp_red vx__exp_reduce(vf x) {
    const vf magic = vf_set1(VX_MAGIC);
    vx__exp_red o;
    o.t = vf_fma(x, vf_set1(VX_LOG2E), magic);
    o.kf = vf_sub(o.t, magic);
    vf r = vf_fnma(o.kf, vf_set1(VX_LN2_HI), x);
    r = vf_fnma(o.kf, vf_set1(VX_LN2_LO), r);
    /* 1/k! for k = 8 .. 2, rounded to float */
    vf q = vf_set1(0x1.a01a02p-16f);
    q = vf_fma(q, r, vf_set1(0x1.a01a02p-13f));
    q = vf_fma(q, r, vf_set1(0x1.6c16c2p-10f));
    q = vf_fma(q, r, vf_set1(0x1.111112p-7f));
    q = vf_fma(q, r, vf_set1(0x1.555556p-5f));
    q = vf_fma(q, r, vf_set1(0x1.555556p-3f));
    q = vf_fma(q, r, vf_set1(0x1p-1f));
    o.em1r = vf_fma(vf_mul(r, r), q, r);
    return o;
}

/* m * e^x. The scale 2^k is applied as two factors 2^k1 * 2^k2 (k1 = k/2
 * rounded, k2 = k - k1, both normal), after the product p*m, so a subnormal
 * or overflowing result is rounded exactly once. x is clamped to [-150, 89]:
 * below, e^x * m underflows to 0 for |m| < 2^60; above, it overflows. */
static inline vf vx_exp_mul(vf x, vf m) {
    const vf magic = vf_set1(VX_MAGIC);
    vf xc = vf_min(vf_max(x, vf_set1(-150.0f)), vf_set1(89.0f)); /* NaN becomes -150 */
    vx__exp_red rd = vx__exp_reduce(xc);
    vf p = vf_add(rd.em1r, vf_set1(1.0f));
    /* t1 = k1 + MAGIC with k1 = round(k / 2) (k/2 is exact, so the fma rounds
     * once, to the integer); k2 = k - k1 = bits(t) - bits(t1). */
    vf t1 = vf_fma(rd.kf, vf_set1(0.5f), magic);
    vf s2 = vi_as_vf(vi_shl23(vi_add(vi_sub(vf_as_vi(rd.t), vf_as_vi(t1)), vi_set1(127))));
    vf res = vf_mul(vf_mul(vf_mul(p, m), vx__pow2i_t(t1)), s2);
    return vf_select(vf_isnan(x), x, res);
}

static inline vf vx_exp(vf x) { return vx_exp_mul(x, vf_set1(1.0f)); }

/* e^x - 1 = 2^k expm1(r) + (2^k - 1), one fma; for k = 0 it is expm1(r)
 * itself, so small x keep full relative accuracy. x is clamped to [-30, 88]
 * (expm1(-30) rounds to -1; k <= 127 keeps 2^k a normal float). */
static inline vf vx_expm1(vf x) {
    vf xc = vf_min(vf_max(x, vf_set1(-30.0f)), vf_set1(88.0f));
    vx__exp_red rd = vx__exp_reduce(xc);
    vf s = vx__pow2i_t(rd.t);
    vf res = vf_fma(s, rd.em1r, vf_sub(s, vf_set1(1.0f)));
    /* |x| < 2^-25: expm1 x rounds to x (this also keeps the sign of -0) */
    res = vf_select(vf_lt(vf_abs(x), vf_set1(0x1p-25f)), x, res);
    return vf_select(vf_isnan(x), x, res);
}

/* ---- log family ---------------------------------------------------------
 * x = 2^k m with m in [sqrt(1/2), sqrt 2) (integer arithmetic on the bits),
 * f = m - 1 (exact), s = f / (2 + f), log m = 2 atanh s = f - f^2/2 + s (f^2/2 + R),
 * R = z (2/3 + z (2/5 + z (2/7 + z 2/9))), z = s^2: the atanh series, whose
 * truncation error is below 2.1e-9 relative for |s| <= 0.1716. `c` is a
 * correction added to the result (log1p passes the rounding error of 1 + x);
 * `kadj` is added to k (subnormal inputs are prescaled by 2^23). x positive
 * and finite. */
static inline vf vx__log_core(vf x, vf c, vf kadj) {
    vi ix = vi_sub(vf_as_vi(x), vi_set1(VX_SQRT_HALF_BITS));
    vf kf = vf_add(vi_to_vf(vi_sra23(ix)), kadj);
    vf m = vi_as_vf(vi_add(vi_and(ix, vi_set1(0x007fffff)), vi_set1(VX_SQRT_HALF_BITS)));
    vf f = vf_sub(m, vf_set1(1.0f));
    vf s = vf_div(f, vf_add(f, vf_set1(2.0f)));
    vf z = vf_mul(s, s);
    vf r = vf_set1(0x1.c71c72p-3f);            /* 2/9 */
    r = vf_fma(r, z, vf_set1(0x1.24924ap-2f)); /* 2/7 */
    r = vf_fma(r, z, vf_set1(0x1.99999ap-2f)); /* 2/5 */
    r = vf_fma(r, z, vf_set1(0x1.555556p-1f)); /* 2/3 */
    r = vf_mul(r, z);
    vf hfsq = vf_mul(vf_mul(vf_set1(0.5f), f), f);
    /* log = k*HI - ((hfsq - (s*(hfsq + R) + (k*LO + c))) - f), the small
     * terms summed first; k*HI is exact. */
    vf t = vf_fma(kf, vf_set1(VX_LN2_LO12), c);
    t = vf_fma(s, vf_add(hfsq, r), t);
    vf lo = vf_sub(vf_sub(hfsq, t), f);
    return vf_sub(vf_mul(kf, vf_set1(VX_LN2_HI12)), lo);
}

/* Special values of log applied to `res`: arg == 0 -> -inf, arg < 0 -> NaN,
 * +inf -> +inf, NaN -> itself. */
static inline vf vx__log_special(vf arg, vf res, vf nan_src) {
    const vf inf = vi_as_vf(vi_set1(0x7f800000)); /* +inf */
    res = vf_select(vf_eq(arg, vf_zero()), vf_neg(inf), res);
    res = vf_select(vf_lt(arg, vf_zero()), vx__nan(), res);
    res = vf_select(vf_eq(arg, inf), inf, res);
    return vf_select(vf_isnan(nan_src), nan_src, res);
}

static inline vf vx_log(vf x) {
    vm sub = vf_lt(x, vf_set1(0x1p-126f));
    vf xs = vf_select(sub, vf_mul(x, vf_set1(0x1p23f)), x);
    vf kadj = vf_select(sub, vf_set1(-23.0f), vf_zero());
    return vx__log_special(x, vx__log_core(xs, vf_zero(), kadj), x);
}

/* log1p(x) = log(v) + c with v = fl(1 + x) and c = (x - (v - 1)) / v the
 * first-order correction for the rounding of 1 + x (for v >= 2, where v - 1
 * may round, c = (1 - (v - x)) / v instead). */
static inline vf vx_log1p(vf x) {
    const vf one = vf_set1(1.0f);
    vf v = vf_add(one, x);
    vf c = vf_select(vf_ge(v, vf_set1(2.0f)), vf_sub(one, vf_sub(v, x)), vf_sub(x, vf_sub(v, one)));
    c = vf_div(c, v);
    /* v is at least 2^-24 here unless x <= -1, which the special cases replace */
    vf vs = vf_max(v, vf_set1(0x1p-126f));
    vf res = vx__log_core(vs, c, vf_zero());
    /* |x| < 2^-25: log1p x rounds to x (this also keeps the sign of -0) */
    res = vf_select(vf_lt(vf_abs(x), vf_set1(0x1p-25f)), x, res);
    return vx__log_special(v, res, x);
}

/* log1p(t) for t in [0, 1] (softplus: t = e^-|x|), without the range
 * reduction of vx_log1p: 2 + t is already in [2, 3], so
 *   log1p t = 2 atanh s,  s = t / (2 + t) in [0, 1/3],  z = s^2 <= 1/9,
 *   2 atanh s = 2s + s z G(z),  G(z) ~ 2/3 + 2/5 z + 2/7 z^2 + ...,
 * G a degree-4 fit on z in [0, 1/9] (scripts/vmath_coeffs.py; fit error
 * 3.1e-10 relative). It is summed as log1p t = t - (h - s (h + z G)) with
 * h = t^2/2 (2s = t - t s = t - t^2/2 + s t^2/2), so the leading term t is
 * exact and the rounding of s only touches the smaller correction; tiny and
 * subnormal t come back unchanged (h = z = 0). One division. */
static inline vf vx__log1p_unit(vf t) {
    vf s = vf_div(t, vf_add(t, vf_set1(2.0f)));
    vf z = vf_mul(s, s);
    vf g = vf_set1(0x1.e0d7c4p-3f);
    g = vf_fma(g, z, vf_set1(0x1.bb4068p-3f));
    g = vf_fma(g, z, vf_set1(0x1.24d6f6p-2f));
    g = vf_fma(g, z, vf_set1(0x1.999868p-2f));
    g = vf_fma(g, z, vf_set1(0x1.555556p-1f));
    vf h = vf_mul(vf_mul(vf_set1(0.5f), t), t);
    vf c = vf_fnma(s, vf_fma(z, g, h), h); /* h - s (h + z G) */
    return vf_sub(t, c);
}

/* ---- tanh, sigmoid --------------------------------------------------------- */

/* Copies the sign bit of s onto a (a >= 0). */
static inline vf vx__copysign(vf a, vf s) {
    return vi_as_vf(vi_or(vf_as_vi(a), vi_and(vf_as_vi(s), vi_set1(INT32_MIN))));
}

/* tanh |x| = e / (e + 2) with e = expm1(2|x|); |x| is clamped to 10, where
 * tanh already rounds to 1. */
static inline vf vx_tanh(vf x) {
    vf a = vf_min(vf_abs(x), vf_set1(10.0f));
    vf e = vx_expm1(vf_add(a, a));
    vf t = vf_div(e, vf_add(e, vf_set1(2.0f)));
    return vf_select(vf_isnan(x), x, vx__copysign(t, x));
}

/* sigmoid x = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, with
 * e = e^-|x| <= 1: never overflows, and tiny results keep full precision. */
static inline vf vx_sigmoid(vf x) {
    vf e = vx_exp(vf_neg(vf_abs(x)));
    vf d = vf_add(vf_set1(1.0f), e);
    vf s = vf_div(vf_select(vf_lt(x, vf_zero()), e, vf_set1(1.0f)), d);
    return vf_select(vf_isnan(x), x, s);
}

/* ---- normal CDF -------------------------------------------------------------
 * For u = |x| (clamped to 15; Phi(-15) < 2^-150 already underflows):
 *   Phi(-u) = e^(-u^2/2) * t * Q(y),  t = 4 / (4 + u),  y = t*ALPHA + BETA,
 * Q a degree-10 polynomial fitted to Phi(-u) e^(u^2/2) / t over u in [0, 15]
 * (scripts/vmath_coeffs.py; fit error 2.9e-8 relative). e^(-u^2/2) is
 * evaluated from the exact split u*u = h + l (l by fma):
 *   e^(-u^2/2) = e^(-h/2) (1 - l/2)   (the dropped term l^2/8 is < 2^-48 relative)
 * and Phi(x) = Phi(-u) for x < 0, 1 - Phi(-u) for x >= 0. */
static inline vf vx__ncdf_tq(vf u) {
    const vf four = vf_set1(4.0f), alpha = vf_set1(0x1.444444p+1f);
    /* t = 4 / (4 + u) rounds twice, and an error eps in t moves the result
     * like an error (4 + u) eps in u, i.e. by (4 + u) (u + phi/Phi) eps
     * relative: up to 1e-5 at u = 15. So eps is computed (d = fl(4 + u) with
     * its exact rounding error u - (d - 4); t d - 4 exactly by fma) and
     * removed to first order: t_exact = t (1 - eps). */
    vf d = vf_add(four, u);
    vf d_err = vf_sub(u, vf_sub(d, four));
    vf t = vf_div(four, d);
    vf eps = vf_mul(vf_fma(t, d_err, vf_fma(t, d, vf_neg(four))), vf_set1(0.25f));
    vf y = vf_fma(t, alpha, vf_set1(-0x1.888888p+0f)); /* ALPHA, BETA */
    y = vf_fnma(vf_mul(alpha, t), eps, y);
    vf q = vf_set1(-0x1.25cea4p-21f);
    q = vf_fma(q, y, vf_set1(0x1.f3d0eep-19f));
    q = vf_fma(q, y, vf_set1(0x1.22ddeep-16f));
    q = vf_fma(q, y, vf_set1(-0x1.a3f91ep-15f));
    q = vf_fma(q, y, vf_set1(-0x1.5dd4b4p-12f));
    q = vf_fma(q, y, vf_set1(0x1.194088p-13f));
    q = vf_fma(q, y, vf_set1(0x1.a0f13cp-8f));
    q = vf_fma(q, y, vf_set1(0x1.e3a4bep-6f));
    q = vf_fma(q, y, vf_set1(0x1.4ce496p-4f));
    q = vf_fma(q, y, vf_set1(0x1.42918ep-3f));
    q = vf_fma(q, y, vf_set1(0x1.cdf81ep-3f));
    vf tq = vf_mul(t, q);
    return vf_fnma(tq, eps, tq);
}

/* m * e^(-u^2/2), u >= 0 finite, rounded once at the end. */
static inline vf vx__gauss_mul(vf u, vf m) {
    vf h = vf_mul(u, u);
    vf l = vf_fma(u, u, vf_neg(h)); /* u*u - h, exact */
    vf mm = vf_fnma(vf_mul(vf_set1(0.5f), l), m, m);
    return vx_exp_mul(vf_mul(vf_set1(-0.5f), h), mm);
}

/* u = min(|x|, 15) (NaN becomes 15; callers restore NaN). */
static inline vf vx__ncdf_u(vf x) { return vf_min(vf_abs(x), vf_set1(15.0f)); }

/* Near 0 (|x| < VX_NCDF_CENTRAL) the tail form above loses a few ulp next
 * to 1/2, so there Phi(x) = 1/2 + x P(x^2) with the Taylor coefficients
 * P_n = (-1)^n / (sqrt(2 pi) 2^n n! (2n+1)), n = 0..5 (the series of
 * erf(x / sqrt 2) / 2; truncation error below 5e-10 relative at 0.5). */
#define VX_NCDF_CENTRAL 0.5f
static inline vf vx__ncdf_p(vf x2) {
    vf p = vf_set1(-0x1.3ce8fap-17f);
    p = vf_fma(p, x2, vf_set1(0x1.e42b0ep-14f));
    p = vf_fma(p, x2, vf_set1(-0x1.37404p-10f));
    p = vf_fma(p, x2, vf_set1(0x1.46d042p-7f));
    p = vf_fma(p, x2, vf_set1(-0x1.105838p-4f));
    return vf_fma(p, x2, vf_set1(0x1.988454p-2f));
}

/* (x Phi(x))' = Phi(x) + x phi(x) = 1/2 + x P2(x^2) near 0, Taylor
 * P2_n = (-1)^n (2n + 2) / (sqrt(2 pi) 2^n n! (2n+1)), n = 0..5 (truncation
 * error below 6e-9 relative at 0.5). */
static inline vf vx__dgelu_p(vf x2) {
    vf p = vf_set1(-0x1.db5d78p-14f);
    p = vf_fma(p, x2, vf_set1(0x1.2e9ae8p-10f));
    p = vf_fma(p, x2, vf_set1(-0x1.37404p-7f));
    p = vf_fma(p, x2, vf_set1(0x1.ea3864p-5f));
    p = vf_fma(p, x2, vf_set1(-0x1.105838p-2f));
    return vf_fma(p, x2, vf_set1(0x1.988454p-1f));
}

static inline vm vx__central(vf x) { return vf_lt(vf_abs(x), vf_set1(VX_NCDF_CENTRAL)); }

static inline vf vx_ncdf(vf x) {
    vf u = vx__ncdf_u(x);
    vf tail = vx__gauss_mul(u, vx__ncdf_tq(u)); /* Phi(-u) */
    vf r = vf_select(vf_lt(x, vf_zero()), tail, vf_sub(vf_set1(1.0f), tail));
    vf central = vf_fma(x, vx__ncdf_p(vf_mul(x, x)), vf_set1(0.5f));
    r = vf_select(vx__central(x), central, r);
    return vf_select(vf_isnan(x), x, r);
}

/* erf z: for |z| < 0.5 the Taylor series z (c0 + c1 z^2 + ... + c6 z^12),
 * c_n = 2/sqrt(pi) (-1)^n / (n! (2n+1)) (truncation error below 1e-9
 * relative); above, erf z = sign(z) (1 - 2 Phi(-|z| sqrt 2)), where the
 * scaling by sqrt 2 rounds once (docs/math.md). nerve's GELU uses vx_ncdf
 * directly, without that scaling. */
static inline vf vx_erf(vf x) {
    vf a = vf_abs(x);
    vf u = vf_min(vf_mul(a, vf_set1(VX_SQRT2)), vf_set1(15.0f));
    vf tail = vx__gauss_mul(u, vx__ncdf_tq(u));
    vf big = vf_fnma(vf_set1(2.0f), tail, vf_set1(1.0f));
    vf z2 = vf_mul(x, x);
    vf p = vf_set1(0x1.f9a326p-14f);
    p = vf_fma(p, z2, vf_set1(-0x1.c02db4p-11f));
    p = vf_fma(p, z2, vf_set1(0x1.565bcep-8f));
    p = vf_fma(p, z2, vf_set1(-0x1.b82ce4p-6f));
    p = vf_fma(p, z2, vf_set1(0x1.ce2f22p-4f));
    p = vf_fma(p, z2, vf_set1(-0x1.812746p-2f));
    p = vf_fma(p, z2, vf_set1(0x1.20dd76p+0f));
    vf r = vf_select(vf_lt(a, vf_set1(0.5f)), vf_mul(a, p), big);
    return vf_select(vf_isnan(x), x, vx__copysign(r, x));
}

#endif
