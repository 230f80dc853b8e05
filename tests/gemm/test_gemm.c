/* GEMM and GEMV: every ISA this CPU supports against a double-precision
 * reference (all transpositions, alpha/beta cases, awkward sizes, strides),
 * bit-exact against the scalar table, BLAS edge semantics, and argument
 * validation. The micro-kernels are also tested directly at every edge. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "nerve/kernels.h"
#include "testutil.h"

static double ref_at(const float *p, size_t ld, int trans, size_t r, size_t c) {
    return trans ? p[c * ld + r] : p[r * ld + c];
}

/* C = alpha op(A) op(B) + beta C in double (beta == 0: C not read). */
static void ref_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a,
                     size_t lda, const float *b, size_t ldb, float beta, const float *c0,
                     size_t ldc, double *out) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t p = 0; p < k; p++) s += ref_at(a, lda, ta, i, p) * ref_at(b, ldb, tb, p, j);
            out[i * n + j] = alpha * s + (beta == 0.0f ? 0.0 : beta * (double)c0[i * ldc + j]);
        }
}

/* |got - want| <= tol * (sum of |terms| + |beta C|): the forward error bound
 * of a length-k dot product, so cancellation cannot fail a correct kernel. */
static void check_close(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a,
                        size_t lda, const float *b, size_t ldb, float beta, const float *c0,
                        const float *got, size_t ldc, const char *what) {
    double *want = malloc((m * n + 1) * sizeof(double));
    ref_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc, want);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double mag = 0;
            for (size_t p = 0; p < k; p++)
                mag += fabs(ref_at(a, lda, ta, i, p) * ref_at(b, ldb, tb, p, j));
            mag = fabs(alpha) * mag + (beta == 0.0f ? 0.0 : fabs(beta * (double)c0[i * ldc + j]));
            double tol = (double)(k + 2) * 1.2e-7 * mag + 1e-30;
            double g = got[i * ldc + j];
            cr_assert(fabs(g - want[i * n + j]) <= tol,
                      "%s: C(%zu,%zu) = %.9g, want %.9g (m=%zu n=%zu k=%zu ta=%d tb=%d)", what, i,
                      j, g, want[i * n + j], m, n, k, ta, tb);
        }
    free(want);
}

typedef struct {
    size_t m, n, k;
} shape;

static const shape shapes[] = {
    {1, 1, 1},     {1, 17, 3},    {2, 2, 2},     {3, 5, 7},      {15, 16, 17},
    {16, 16, 16},  {17, 15, 33},  {31, 33, 1},   {33, 31, 64},   {64, 10, 100},
    {100, 64, 31}, {7, 129, 257}, {65, 47, 300}, {130, 70, 600}, /* k > KC: the chain continues
                                                                    across K blocks */
};

/* The parameters of every per-ISA test below: the tables this CPU runs. */
static struct criterion_test_params supported_isa_params(void) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTestParameters(gemm, matches_reference) { return supported_isa_params(); }

ParameterizedTest(nerve_isa *isa, gemm, matches_reference) {
    cr_assert_eq(nerve_set_max_isa(*isa), NERVE_OK);
    cr_assert_eq(nerve_isa_active(), *isa);
    const float ab[][2] = {{1, 0}, {1, 1}, {-0.5f, 0}, {2, 0.25f}, {1, -1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (size_t q = 0; q < sizeof ab / sizeof ab[0]; q++) {
                    const size_t m = shapes[s].m, n = shapes[s].n, k = shapes[s].k;
                    const size_t pad = 3; /* odd leading dimensions */
                    const size_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + 5;
                    const size_t arows = ta ? k : m, brows = tb ? n : k;
                    float *a = test_alloc(arows * lda, 1), *b = test_alloc(brows * ldb, 3);
                    float *c = test_alloc(m * ldc, 2), *c0 = malloc(m * ldc * sizeof(float));
                    float *cs = malloc(m * ldc * sizeof(float));
                    test_fill(a, arows * lda, 11 + s, -1, 1);
                    test_fill(b, brows * ldb, 23 + s, -1, 1);
                    test_fill(c0, m * ldc, 37 + s, -1, 1);
                    const float alpha = ab[q][0], beta = ab[q][1];
                    if (beta == 0.0f)
                        for (size_t i = 0; i < m * ldc; i++) c0[i] = NAN; /* must not leak */
                    memcpy(c, c0, m * ldc * sizeof(float));
                    cr_assert_eq(nerve_sgemm((nerve_transpose)ta, (nerve_transpose)tb, m, n, k,
                                             alpha, a, lda, b, ldb, beta, c, ldc),
                                 NERVE_OK);
                    check_close(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, c, ldc,
                                nerve_isa_name(*isa));
                    /* padding columns of C are untouched */
                    for (size_t i = 0; i < m; i++)
                        for (size_t j = n; j < ldc; j++)
                            cr_assert_eq(memcmp(&c[i * ldc + j], &c0[i * ldc + j], 4), 0);
                    /* bit-exact against the scalar table */
                    memcpy(cs, c0, m * ldc * sizeof(float));
                    nerve_set_max_isa(NERVE_ISA_SCALAR);
                    nerve_sgemm((nerve_transpose)ta, (nerve_transpose)tb, m, n, k, alpha, a, lda, b,
                                ldb, beta, cs, ldc);
                    nerve_set_max_isa(*isa);
                    size_t bad = test_first_bit_mismatch(c, cs, m * ldc);
                    cr_assert_eq(bad, SIZE_MAX, "%s differs from scalar at %zu: %a vs %a",
                                 nerve_isa_name(*isa), bad, c[bad], cs[bad]);
                    test_free(a);
                    test_free(b);
                    test_free(c);
                    free(c0);
                    free(cs);
                }
    }
}

/* Direct micro-kernel test: every m <= MR, n <= NR, a few k, both accumulate
 * modes; equal bits to a plain fmaf chain; nothing outside m x n touched. */
ParameterizedTestParameters(gemm, ukr_edges) { return supported_isa_params(); }

ParameterizedTest(nerve_isa *isa, gemm, ukr_edges) {
    const kernel_table *kt = kernels_for(*isa);
    cr_assert_not_null(kt);
    const size_t mr = kt->mr, nr = kt->nr, ldc = nr + 7;
    const size_t ks[] = {0, 1, 2, 3, 8, 17, 64};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        const size_t k = ks[ki];
        float *a = aligned_alloc(64, ((mr * k + 16) * 4 + 63) / 64 * 64);
        float *b = aligned_alloc(64, ((nr * k + 16) * 4 + 63) / 64 * 64);
        float *c = malloc(mr * ldc * 4), *init = malloc(mr * ldc * 4);
        test_fill(a, mr * k, 5 + k, -2, 2);
        test_fill(b, nr * k, 9 + k, -2, 2);
        test_fill(init, mr * ldc, 13 + k, -2, 2);
        for (size_t m = 0; m <= mr; m++)
            for (size_t n = 0; n <= nr; n++)
                for (int acc = 0; acc < 2; acc++) {
                    memcpy(c, init, mr * ldc * 4);
                    kt->gemm_ukr(k, a, b, c, ldc, m, n, acc);
                    for (size_t i = 0; i < mr; i++)
                        for (size_t j = 0; j < ldc; j++) {
                            float want = init[i * ldc + j];
                            if (i < m && j < n) {
                                want = acc ? init[i * ldc + j] : 0.0f;
                                for (size_t p = 0; p < k; p++)
                                    want = fmaf(a[p * mr + i], b[p * nr + j], want);
                            }
                            cr_assert_eq(memcmp(&want, &c[i * ldc + j], 4), 0,
                                         "%s ukr m=%zu n=%zu k=%zu acc=%d: C(%zu,%zu)=%a want %a",
                                         kt->name, m, n, k, acc, i, j, c[i * ldc + j], want);
                        }
                }
        free(a);
        free(b);
        free(c);
        free(init);
    }
}

/* The transposing panel pack (gemm_pack_t) of every table, directly:
 * dst[p*w + x] = src[x*xs + p] for x < width, p < kc, and not one other
 * float of dst written. Widths 0..w for the panel widths the driver uses
 * (MR, NR) and 16 (a full AVX-512 lane group); depths around the 4- and
 * 16-step blocks of the kernels and the driver's KC; source strides just past
 * kc and an aliasing one (4 KiB). Every source value is distinct, so a lane
 * or a step out of place cannot go unseen; rows width..w-1 of the source
 * hold values that must not be copied, the floats past kc in each row are
 * NaN, and a marker just past the panel in dst must stay. */
ParameterizedTestParameters(gemm, pack_transpose) { return supported_isa_params(); }

ParameterizedTest(nerve_isa *isa, gemm, pack_transpose) {
    const kernel_table *kt = kernels_for(*isa);
    cr_assert_not_null(kt);
    cr_assert_not_null(kt->gemm_pack_t, "%s has no gemm_pack_t", kt->name);
    const size_t ws[] = {kt->mr, kt->nr, 16};
    const size_t ks[] = {0, 1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 47, 255, 256, 257};
    const float marker = -1e30f;
    for (size_t wi = 0; wi < sizeof ws / sizeof ws[0]; wi++)
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
            const size_t w = ws[wi], kc = ks[ki];
            const size_t xss[] = {kc + 1, kc + 19, 1024};
            for (size_t si = 0; si < 3; si++) {
                const size_t xs = xss[si];
                float *src = malloc((w * xs + 1) * sizeof(float));
                float *dst = malloc((kc * w + 1) * sizeof(float));
                for (size_t i = 0; i < w * xs; i++) src[i] = nanf("");
                for (size_t x = 0; x < w; x++)
                    for (size_t p = 0; p < kc; p++) src[x * xs + p] = (float)(x * 4096 + p + 1);
                for (size_t width = 0; width <= w; width++) {
                    for (size_t i = 0; i <= kc * w; i++) dst[i] = marker;
                    kt->gemm_pack_t(src, xs, width, kc, w, dst);
                    cr_assert_eq(memcmp(&marker, &dst[kc * w], sizeof marker), 0,
                                 "%s pack_t w=%zu width=%zu kc=%zu: wrote past the panel", kt->name,
                                 w, width, kc);
                    for (size_t p = 0; p < kc; p++)
                        for (size_t x = 0; x < w; x++) {
                            const float want = x < width ? src[x * xs + p] : marker;
                            cr_assert_eq(memcmp(&want, &dst[p * w + x], sizeof want), 0,
                                         "%s pack_t w=%zu width=%zu kc=%zu xs=%zu: dst[%zu][%zu] "
                                         "= %g, want %g",
                                         kt->name, w, width, kc, xs, p, x, dst[p * w + x], want);
                        }
                }
                free(src);
                free(dst);
            }
        }
}

Test(gemm, thread_count_does_not_change_bits) {
    const size_t m = 300, n = 200, k = 700;
    float *a = malloc(m * k * 4), *b = malloc(k * n * 4), *c1 = malloc(m * n * 4),
          *c2 = malloc(m * n * 4);
    test_fill(a, m * k, 1, -1, 1);
    test_fill(b, k * n, 2, -1, 1);
    const kernel_table *kt = kernels_active();
    gemm_args g = {m, n, k, a, k, 1, b, n, 1, c1, n, 0, NULL};
    float *ws = aligned_alloc(64, (gemm_workspace_floats(kt, 8) * 4 + 63) / 64 * 64);
    gemm_chain(kt, &g, ws, 1);
    for (int nt = 2; nt <= 8; nt++) {
        g.c = c2;
        gemm_chain(kt, &g, ws, nt);
        cr_assert_eq(test_first_bit_mismatch(c1, c2, m * n), SIZE_MAX, "threads=%d", nt);
    }
    free(ws);
    free(a);
    free(b);
    free(c1);
    free(c2);
}

Test(gemm, blas_edge_semantics) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1};
    float c[4] = {NAN, NAN, NAN, NAN};
    /* k == 0, beta == 0: C = 0 even over NaN */
    cr_assert_eq(nerve_sgemm(NERVE_NO_TRANS, NERVE_NO_TRANS, 2, 2, 0, 1, a, 1, b, 2, 0, c, 2),
                 NERVE_OK);
    for (int i = 0; i < 4; i++) cr_assert_eq(c[i], 0.0f);
    /* k == 0: C = beta C */
    float d[4] = {1, 2, 3, 4};
    cr_assert_eq(nerve_sgemm(NERVE_NO_TRANS, NERVE_NO_TRANS, 2, 2, 0, 1, NULL, 1, NULL, 2, 2, d, 2),
                 NERVE_OK);
    cr_assert(d[0] == 2 && d[1] == 4 && d[2] == 6 && d[3] == 8);
    /* m == 0 / n == 0: no-op, pointers may be NULL */
    cr_assert_eq(
        nerve_sgemm(NERVE_NO_TRANS, NERVE_NO_TRANS, 0, 5, 5, 1, NULL, 5, NULL, 5, 0, NULL, 5),
        NERVE_OK);
    cr_assert_eq(nerve_sgemm(NERVE_TRANS, NERVE_TRANS, 5, 0, 5, 1, NULL, 5, NULL, 5, 0, NULL, 5),
                 NERVE_OK);
    /* alpha == 1, beta == 1: the chain starts from C */
    float e[4] = {1, 1, 1, 1};
    cr_assert_eq(nerve_sgemm(NERVE_NO_TRANS, NERVE_NO_TRANS, 2, 2, 3, 1, a, 3, b, 2, 1, e, 2),
                 NERVE_OK);
    cr_assert(e[0] == 1 + 1 + 0 + 3 && e[1] == 1 + 0 + 2 + 3 && e[2] == 1 + 4 + 0 + 6 &&
              e[3] == 1 + 0 + 5 + 6);
}

Test(gemm, invalid_arguments) {
    float a[16] = {0}, b[16] = {0}, c[16] = {0};
    cr_assert_eq(nerve_sgemm(NERVE_NO_TRANS, NERVE_NO_TRANS, 2, 2, 2, 1, NULL, 2, b, 2, 0, c, 2),
                 NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "A is NULL") != NULL, "%s", nerve_last_error());
    cr_assert_eq(nerve_sgemm(NERVE_NO_TRANS, NERVE_NO_TRANS, 2, 2, 2, 1, a, 2, NULL, 2, 0, c, 2),
                 NERVE_EINVAL);
    cr_assert_eq(nerve_sgemm(NERVE_NO_TRANS, NERVE_NO_TRANS, 2, 2, 2, 1, a, 2, b, 2, 0, NULL, 2),
                 NERVE_EINVAL);
    cr_assert_eq(nerve_sgemm(NERVE_NO_TRANS, NERVE_NO_TRANS, 2, 3, 2, 1, a, 2, b, 3, 0, c, 2),
                 NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "leading dimension of C") != NULL, "%s",
              nerve_last_error());
    cr_assert_eq(nerve_sgemm(NERVE_NO_TRANS, NERVE_NO_TRANS, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2),
                 NERVE_EINVAL);
    cr_assert_eq(nerve_sgemm(NERVE_TRANS, NERVE_NO_TRANS, 3, 2, 2, 1, a, 2, b, 2, 0, c, 2),
                 NERVE_EINVAL);
    cr_assert_eq(nerve_sgemm(NERVE_NO_TRANS, NERVE_TRANS, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2),
                 NERVE_EINVAL);
    cr_assert_eq(nerve_sgemm((nerve_transpose)7, NERVE_NO_TRANS, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2),
                 NERVE_EINVAL);
    cr_assert_eq(nerve_sgemm(NERVE_NO_TRANS, NERVE_NO_TRANS, SIZE_MAX / 2, 2, 2, 1, a, 2, b, 2, 0,
                             c, SIZE_MAX / 4),
                 NERVE_EINVAL);
    cr_assert(strstr(nerve_last_error(), "overflow") != NULL, "%s", nerve_last_error());
    cr_assert_eq(nerve_sgemv(NERVE_NO_TRANS, 2, 2, 1, NULL, 2, b, 0, c), NERVE_EINVAL);
    cr_assert_eq(nerve_sgemv(NERVE_NO_TRANS, 2, 2, 1, a, 2, NULL, 0, c), NERVE_EINVAL);
    cr_assert_eq(nerve_sgemv(NERVE_NO_TRANS, 2, 2, 1, a, 2, b, 0, NULL), NERVE_EINVAL);
    cr_assert_eq(nerve_sgemv(NERVE_TRANS, 2, 3, 1, a, 2, b, 0, c), NERVE_EINVAL);
    cr_assert_eq(nerve_sgemv((nerve_transpose)3, 2, 2, 1, a, 2, b, 0, c), NERVE_EINVAL);
}

/* GEMV y = alpha op(A) x + beta y, both transpositions, vs double reference
 * and bit-exact vs scalar. */
ParameterizedTestParameters(gemv, matches_reference) { return supported_isa_params(); }

ParameterizedTest(nerve_isa *isa, gemv, matches_reference) {
    const float ab[][2] = {{1, 0}, {1, 1}, {-2, 0.5f}};
    for (size_t si = 0; si < test_sizes_count; si++)
        for (size_t sj = 0; sj < test_sizes_count; sj += 3)
            for (int t = 0; t < 2; t++)
                for (size_t q = 0; q < 3; q++) {
                    const size_t m = test_sizes[si], n = test_sizes[sj], lda = n + 3;
                    const size_t xl = t ? m : n, yl = t ? n : m;
                    float *a = test_alloc(m * lda, 1), *x = test_alloc(xl, 2),
                          *y = test_alloc(yl, 3);
                    float *y0 = malloc((yl + 1) * 4), *ys = malloc((yl + 1) * 4);
                    test_fill(a, m * lda, si * 31 + sj, -1, 1);
                    test_fill(x, xl, 7, -1, 1);
                    test_fill(y0, yl, 9, -1, 1);
                    const float alpha = ab[q][0], beta = ab[q][1];
                    if (beta == 0.0f)
                        for (size_t i = 0; i < yl; i++) y0[i] = NAN;
                    memcpy(y, y0, yl * 4);
                    nerve_set_max_isa(*isa);
                    cr_assert_eq(nerve_sgemv((nerve_transpose)t, m, n, alpha, a, lda, x, beta, y),
                                 NERVE_OK);
                    /* reference: gemv is a gemm with one column */
                    if (t == 0)
                        check_close(0, 0, m, 1, n, alpha, a, lda, x, 1, beta, y0, y, 1, "gemv_n");
                    else
                        check_close(1, 0, n, 1, m, alpha, a, lda, x, 1, beta, y0, y, 1, "gemv_t");
                    memcpy(ys, y0, yl * 4);
                    nerve_set_max_isa(NERVE_ISA_SCALAR);
                    nerve_sgemv((nerve_transpose)t, m, n, alpha, a, lda, x, beta, ys);
                    size_t bad = test_first_bit_mismatch(y, ys, yl);
                    cr_assert_eq(bad, SIZE_MAX,
                                 "%s gemv t=%d m=%zu n=%zu differs from scalar at %zu",
                                 nerve_isa_name(*isa), t, m, n, bad);
                    test_free(a);
                    test_free(x);
                    test_free(y);
                    free(y0);
                    free(ys);
                }
}

/* gemv_t blocks columns into panels of 1024 and rows into blocks of 8
 * (simd/generic/gemv.c): cross both boundaries, against the double reference
 * and bit-exact against scalar. */
ParameterizedTestParameters(gemv, wide_panels) { return supported_isa_params(); }

ParameterizedTest(nerve_isa *isa, gemv, wide_panels) {
    const size_t ms[] = {1, 9, 17}, ns[] = {1023, 1025, 2049};
    for (size_t mi = 0; mi < 3; mi++)
        for (size_t ni = 0; ni < 3; ni++) {
            const size_t m = ms[mi], n = ns[ni], lda = n + 1;
            float *a = malloc(m * lda * 4), *x = malloc(m * 4), *y = malloc(n * 4),
                  *y0 = malloc(n * 4), *ys = malloc(n * 4);
            test_fill(a, m * lda, 3 + m, -1, 1);
            test_fill(x, m, 5 + n, -1, 1);
            test_fill(y0, n, 7, -1, 1);
            memcpy(y, y0, n * 4);
            memcpy(ys, y0, n * 4);
            nerve_set_max_isa(*isa);
            cr_assert_eq(nerve_sgemv(NERVE_TRANS, m, n, -2.0f, a, lda, x, 0.5f, y), NERVE_OK);
            check_close(1, 0, n, 1, m, -2.0f, a, lda, x, 1, 0.5f, y0, y, 1, "gemv_t wide");
            nerve_set_max_isa(NERVE_ISA_SCALAR);
            nerve_sgemv(NERVE_TRANS, m, n, -2.0f, a, lda, x, 0.5f, ys);
            size_t bad = test_first_bit_mismatch(y, ys, n);
            cr_assert_eq(bad, SIZE_MAX, "%s gemv_t m=%zu n=%zu differs from scalar at %zu",
                         nerve_isa_name(*isa), m, n, bad);
            free(a);
            free(x);
            free(y);
            free(y0);
            free(ys);
        }
}
