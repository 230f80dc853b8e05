/* bf16 mixed precision: the exact reference of what the AVX512_BF16
 * instructions compute, in portable C (static inline; used by every table's
 * bf16 kernels for their rare exact paths, by the tests, the self-test and
 * the start-up probe of src/core/dispatch.c).
 *
 * bf16 is the top half of an IEEE binary32: sign, 8 exponent bits, 7
 * mantissa bits. Operands travel as PAIRS in one 32-bit word, the low half
 * holding the even element (k = 2q), the high half the odd one (k = 2q+1):
 * the layout vdpbf16ps reads. Nothing here depends on byte order.
 *
 * Conversion, fp32 -> bf16 (vcvtne2ps2bf16 / vcvtneps2bf16), bf16_round:
 *   NaN          -> its top half with the quiet bit (bit 6) set;
 *   zero, denormal -> zero of the same sign (denormal inputs are flushed);
 *   otherwise    -> round to nearest, ties to even, on the 7-bit mantissa
 *                   (overflow rounds to infinity). Results are never bf16
 *                   denormals. Checked against the instruction on all 2^32
 *                   inputs (tests/simd/test_bf16.c).
 *
 * Dot product step (vdpbf16ps, per fp32 lane; established by experiment on
 * an Intel Xeon with AVX512_BF16, tests/simd/test_bf16.c, and consistent with
 * the SDM's pseudo-code): with x the element of the instruction's first
 * source (the B operand in our micro-kernels) and y the second (A):
 *   acc = step(acc, x_hi, y_hi)      the odd element first,
 *   acc = step(acc, x_lo, y_lo)      then the even one,
 * where step(c, x, y) is ONE fp32 fused multiply-add c + x*y (the product of
 * two bf16 numbers is exact in fp32, so it is also a plain add of the exact
 * product) with:
 *   - denormal inputs (x, y, c) treated as zero of their sign (DAZ);
 *   - round to nearest even;
 *   - flush to zero of a tiny result, tininess detected AFTER rounding: the
 *     exact result is rounded to 24 significant bits with an unbounded
 *     exponent, and if that is below 2^-126 in magnitude the result is a
 *     zero of the exact result's sign. (So c + x*y = 2^-126 - 2^-151 gives
 *     2^-126, while 2^-126 - 2^-150 gives 0, where IEEE gradual underflow
 *     gives 2^-126 for both.)
 *   - NaN: the first NaN among x, y, c (in that order), quieted; an invalid
 *     operation (inf * 0, inf - inf) gives the default NaN 0xffc00000.
 *   MXCSR is neither read nor written by the instruction.
 * Over a whole pair this gives the documented NaN priority: first source
 * low, second source low, first high, second high, accumulator. */
#ifndef NERVE_SIMD_BF16_H
#define NERVE_SIMD_BF16_H

#include <stdint.h>
#include <string.h>

#define BF16_DEFAULT_NAN  0xffc00000u /* x86 "QNaN floating-point indefinite" */
#define BF16_F32_MIN_BITS 0x00800000u /* 2^-126, the smallest normal float */

static inline float bf16_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint32_t bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* fp32 bits -> bf16 bits, the instruction's rounding (above). The rounding
 * is an integer add: adding 0x7fff plus the lowest kept bit carries into the
 * kept half exactly when the dropped half is above one half ulp, or equal to
 * it with an odd kept half (ties to even); a carry out of the mantissa bumps
 * the exponent, up to infinity. */
static inline uint16_t bf16_round(uint32_t x) {
    const uint32_t e = (x >> 23) & 0xffu, m = x & 0x7fffffu;
    if (e == 0xffu && m != 0) return (uint16_t)((x >> 16) | 0x40u);
    if (e == 0) return (uint16_t)((x >> 16) & 0x8000u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* Denormal -> zero of its sign; anything else unchanged. */
static inline uint32_t bf16_daz(uint32_t u) { return (u & 0x7f800000u) ? u : (u & 0x80000000u); }

static inline int bf16_isnan(uint32_t u) { return (u & 0x7fffffffu) > 0x7f800000u; }
static inline int bf16_isinf(uint32_t u) { return (u & 0x7fffffffu) == 0x7f800000u; }

/* The neighbour of the float t (finite or infinite) one step in the
 * direction `up` (+1 towards +inf, -1 towards -inf), by its bits. */
static inline float bf16_next(float t, int up) {
    uint32_t u = bf16_bits(t);
    if ((u & 0x7fffffffu) == 0) return bf16_f32(up > 0 ? 1u : 0x80000001u);
    const int neg = (u >> 31) != 0;
    u = (up > 0) != neg ? u + 1 : u - 1;
    return bf16_f32(u);
}

/* step(c, x, y) of the header comment, exactly: fp32 bits in, fp32 bits out.
 * x and y are bf16 values widened to fp32 bits (low 16 bits zero), c any fp32.
 *
 * The finite case in double: p = x*y is exact (8-bit significands, exponents
 * within double's range), s = fl(p + c) and the rounding error e of that sum
 * (Knuth's TwoSum, exact in double, which cannot overflow here) give the
 * exact v = s + e. Rounding v to 24 bits equals rounding s, except when s
 * lies exactly halfway between two floats and e != 0: then v lies on e's
 * side of the midpoint. Values below 2^-100 are scaled by 2^100 first so the
 * float conversion rounds to 24 bits (not to the denormal grid); the
 * tininess test is then made on the rounded, scaled value. */
static inline uint32_t bf16_fma_ref(uint32_t c, uint32_t x, uint32_t y) {
    x = bf16_daz(x);
    y = bf16_daz(y);
    c = bf16_daz(c);
    if (bf16_isnan(x)) return x | 0x00400000u;
    if (bf16_isnan(y)) return y | 0x00400000u;
    if (bf16_isnan(c)) return c | 0x00400000u;
    const float fx = bf16_f32(x), fy = bf16_f32(y), fc = bf16_f32(c);
    const int xinf = bf16_isinf(x), yinf = bf16_isinf(y), cinf = bf16_isinf(c);
    if ((xinf && fy == 0.0f) || (yinf && fx == 0.0f)) return BF16_DEFAULT_NAN;
    const double p = (double)fx * (double)fy, dc = (double)fc;
    if (xinf || yinf || cinf) {
        if ((xinf || yinf) && cinf && (p > 0) != (dc > 0)) return BF16_DEFAULT_NAN;
        return bf16_bits((float)(p + dc)); /* an infinity of the right sign */
    }
    const double s = p + dc, bp = s - dc, e = (p - bp) + (dc - (s - bp));
    if (s == 0.0) return bf16_bits((float)s); /* exact zero: IEEE's sign rule */
    const double as = s < 0 ? -s : s;
    if (as < 0x1p-200) return bf16_bits(s < 0 ? -0.0f : 0.0f); /* far below 2^-126 */
    const int scaled = as < 0x1p-100;
    const double ss = scaled ? s * 0x1p100 : s, ee = scaled ? e * 0x1p100 : e;
    float t = (float)ss; /* round to nearest even (or to an infinity) */
    if (ee != 0.0 && (double)t != ss) {
        /* ss lies between t and its neighbour fb on ss's side; an infinite t
         * counts as 2^128 (the next step of the grid), its neighbour FLT_MAX */
        const int tinf = bf16_isinf(bf16_bits(t));
        const double tv = tinf ? (t > 0 ? 0x1p128 : -0x1p128) : (double)t;
        const float fb = tinf ? bf16_f32((bf16_bits(t) & 0x80000000u) | 0x7f7fffffu)
                              : bf16_next(t, tv > ss ? -1 : 1);
        if (ss - (double)fb == tv - ss && (ee > 0) != (tv > ss)) t = fb; /* midpoint */
    }
    if (scaled) {
        const float at = t < 0 ? -t : t;
        if (at < 0x1p-26f) return bf16_bits(s < 0 ? -0.0f : 0.0f); /* flush: below 2^-126 */
        return bf16_bits((float)((double)t * 0x1p-100));           /* exact: stays normal */
    }
    return bf16_bits(t);
}

/* One lane of vdpbf16ps: acc + x_hi*y_hi, then + x_lo*y_lo. x is the word
 * of the instruction's first source (B), y of the second (A). */
static inline uint32_t bf16_dp_ref(uint32_t acc, uint32_t xw, uint32_t yw) {
    acc = bf16_fma_ref(acc, xw & 0xffff0000u, yw & 0xffff0000u);
    return bf16_fma_ref(acc, xw << 16, yw << 16);
}

#endif
