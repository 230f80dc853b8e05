#!/usr/bin/env python3
"""Computes the constants and polynomial coefficients of simd/vmath.h.

Run:  python3 scripts/vmath_coeffs.py
Prints every constant as a C float literal (hex, exact) with the error of the
fitted approximations, evaluated in double precision with the coefficients
rounded to float. Only the Python standard library is used (math.erfc is the
double-precision reference for the normal CDF).

The fitted polynomials (Q of the normal CDF tail, G of log1p on [0, 1]) are a weighted
least-squares fit of the relative error on 1500 Chebyshev-distributed points,
with its coefficients rounded to float one at a time and the rest refitted
(fit_rounded); Q is written in the variable y = t*ALPHA + BETA that maps its
interval onto [-1, 1], where the monomial basis is well conditioned.
"""
import math
import struct


def f32(x):
    """Round a double to the nearest float32."""
    return struct.unpack('<f', struct.pack('<f', x))[0]


def hexf(x):
    """C hex literal of a float32 value (mantissa trailing zeros dropped)."""
    if f32(x) == 0:
        return '0.0f'
    mant, exp = float.hex(f32(x)).split('p')
    mant = mant.rstrip('0').rstrip('.')
    return mant + 'p' + exp + 'f'


def lstsq(A, b):
    """Least-squares solution of A x = b by Householder QR (no numpy here)."""
    m, n = len(A), len(A[0])
    A = [row[:] for row in A]
    b = b[:]
    for j in range(n):
        norm = math.sqrt(sum(A[i][j] ** 2 for i in range(j, m)))
        if A[j][j] > 0:
            norm = -norm
        v = [0.0] * m
        v[j] = A[j][j] - norm
        for i in range(j + 1, m):
            v[i] = A[i][j]
        vv = sum(x * x for x in v[j:])
        if vv == 0:
            continue
        for k in range(j, n):
            d = sum(v[i] * A[i][k] for i in range(j, m)) * 2 / vv
            for i in range(j, m):
                A[i][k] -= d * v[i]
        d = sum(v[i] * b[i] for i in range(j, m)) * 2 / vv
        for i in range(j, m):
            b[i] -= d * v[i]
    x = [0.0] * n
    for j in reversed(range(n)):
        x[j] = (b[j] - sum(A[j][k] * x[k] for k in range(j + 1, n))) / A[j][j]
    return x


def fit_rounded(f, ya, yb, deg, points=1500):
    """Monomial coefficients c_0..c_deg (float32) of a polynomial in y
    approximating f on [ya, yb] with small relative error: a least-squares
    fit of the relative error on Chebyshev-distributed points, rounding one
    coefficient to float at a time (lowest degree first) and refitting the
    remaining ones, so later coefficients absorb the earlier roundings."""
    ys = [(ya + yb) / 2 + (yb - ya) / 2 * math.cos(math.pi * (k + 0.5) / points)
          for k in range(points)]
    fs = [f(y) for y in ys]
    fixed = []
    for k in range(deg + 1):
        A = [[y ** i / fy for i in range(k, deg + 1)] for y, fy in zip(ys, fs)]
        b = [(fy - sum(c * y ** i for i, c in enumerate(fixed))) / fy for y, fy in zip(ys, fs)]
        fixed.append(f32(lstsq(A, b)[0]))
    return fixed


def horner(coef, y):
    r = 0.0
    for c in reversed(coef):
        r = r * y + c
    return r


def main():
    ln2 = math.log(2.0)
    print('/* exp: Cody-Waite split of ln 2 for fma (hi = float(ln 2), lo = ln 2 - hi) */')
    hi = f32(ln2)
    print('LN2_HI', hexf(hi), '  LN2_LO', hexf(ln2 - hi))
    print('LOG2E', hexf(1 / ln2))
    print('/* log: split of ln 2 with 12 significant bits in hi, so k*hi is exact for |k| < 2^12 */')
    hi12 = round(ln2 * 4096) / 4096
    print('LN2_HI12', hexf(hi12), '  LN2_LO12', hexf(ln2 - hi12))
    print('/* expm1 Taylor coefficients 1/k!, k = 2..8 */')
    print(' '.join(hexf(1 / math.factorial(k)) for k in range(2, 9)))
    r = ln2 / 2
    print('  truncation error r^9/9! / r at |r| = ln2/2: %.3g' % (r ** 8 / math.factorial(9)))
    print('/* log: atanh series 2/(2j+1), j = 1..4 */')
    print(' '.join(hexf(2 / (2 * j + 1)) for j in range(1, 5)))
    s = (math.sqrt(2) - 1) / (math.sqrt(2) + 1)
    print('  truncation error z^5 * 2/11 / 2 at s = (sqrt2-1)/(sqrt2+1): %.3g' % (s ** 10 / 11))

    # Normal CDF tail: Phi(-u) = exp(-u^2/2) * t * Q(t), t = 4/(4+u), u in [0, 15].
    def Phi_neg(u):
        return 0.5 * math.erfc(u / math.sqrt(2.0))

    def q_of_t(t):
        u = 4.0 / t - 4.0
        return Phi_neg(u) * math.exp(u * u / 2) / t

    ta, tb = 4.0 / 19.0, 1.0
    deg = 10
    # y = t*alpha + beta maps t in [ta, tb] onto about [-1, 1]; alpha and beta
    # are rounded to float first and Q is fitted as a function of that y.
    alpha, beta = f32(2 / (tb - ta)), f32(-(ta + tb) / (tb - ta))
    qf = fit_rounded(lambda y: q_of_t((y - beta) / alpha), ta * alpha + beta, tb * alpha + beta, deg)
    print('/* Phi(-u) = exp(-u^2/2) t Q(y), t = 4/(4+u), y = t*ALPHA + BETA, Q degree %d */' % deg)
    print('ALPHA', hexf(alpha), '  BETA', hexf(beta))
    print('Q (y^0 .. y^%d):' % deg)
    for c in qf:
        print('   ', hexf(c))
    worst = 0.0
    for i in range(200001):
        u = 15.0 * i / 200000
        t = 4.0 / (4.0 + u)
        y = t * alpha + beta
        got = math.exp(-u * u / 2) * t * horner(qf, y)
        want = Phi_neg(u)
        worst = max(worst, abs(got - want) / want)
    print('  max relative error of the fit (float coefficients, double arithmetic), u in [0,15]: %.3g' % worst)
    print('INV_SQRT_2PI', hexf(1 / math.sqrt(2 * math.pi)), '  SQRT2', hexf(math.sqrt(2)))
    print('/* erf near 0: Taylor 2/sqrt(pi) (-1)^n / (n! (2n+1)), n = 0..6 (z^1 .. z^13) */')
    print(' '.join(hexf(2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1)))
                   for n in range(7)))
    phi0 = 1 / math.sqrt(2 * math.pi)
    print('/* Phi near 0: Phi(x) = 1/2 + x P(x^2), Taylor P_n = phi0 (-1)^n / (2^n n! (2n+1)), n = 0..5 */')
    print(' '.join(hexf(phi0 * (-1) ** n / (2 ** n * math.factorial(n) * (2 * n + 1))) for n in range(6)))
    print("/* gelu' near 0: Phi(x) + x phi(x) = 1/2 + x P2(x^2), P2_n = phi0 (-1)^n (2n+2) / (2^n n! (2n+1)) */")
    print(' '.join(hexf(phi0 * (-1) ** n * (2 * n + 2) / (2 ** n * math.factorial(n) * (2 * n + 1)))
                   for n in range(6)))
    x = 0.5
    print('  truncation error (first dropped term / (Phi - 1/2)) at |x| = 0.5: %.3g, gelu\': %.3g'
          % (x ** 12 / (2 ** 6 * math.factorial(6) * 13), x ** 12 * 14 / (2 ** 6 * math.factorial(6) * 13)))
    z = 0.5
    print('  truncation error (next term / erf) at |z| = 0.5: %.3g'
          % (2 / math.sqrt(math.pi) * z ** 15 / (math.factorial(7) * 15) / math.erf(z)))

    # softplus: log1p(t) for t in [0, 1] = 2 atanh(s), s = t / (2 + t) in [0, 1/3],
    # 2 atanh(s) = 2s + s R(z), z = s^2 in [0, 1/9], R(z) = z G(z), G fitted
    # (relative least squares, float coefficients) to the atanh series
    # G(z) = 2/3 + 2/5 z + 2/7 z^2 + ... = (2 atanh(s) / s - 2) / z.
    def g_of_z(zz):
        if zz < 1e-6:  # series: the closed form cancels near 0
            return sum(2 / (2 * j + 3) * zz ** j for j in range(6))
        ss = math.sqrt(zz)
        return (2 * math.atanh(ss) / ss - 2) / zz

    gf = fit_rounded(g_of_z, 0.0, 1.0 / 9.0, 4)
    print('/* log1p(t), t in [0, 1]: 2 atanh(s) = 2s + s z G(z), z = s^2 <= 1/9, G degree 4 fit */')
    print('G (z^0 .. z^4):', ' '.join(hexf(c) for c in gf))
    worst = 0.0
    for i in range(1, 200001):
        t = i / 200000
        ss = t / (2 + t)
        zz = ss * ss
        got = 2 * ss + ss * zz * horner(gf, zz)
        worst = max(worst, abs(got - math.log1p(t)) / math.log1p(t))
    print('  max relative error of the fit (float coefficients, double arithmetic), t in (0, 1]: %.3g'
          % worst)


if __name__ == '__main__':
    main()
