/* The bf16 GEMM driver (gemm_bf16.h) on every table this CPU supports:
 * every element equals the reference chain of simd/bf16.h computed here
 * element by element, for several thread counts and layouts, K, M and N
 * blocks crossed, B read in place, packed per slice or prepacked once
 * (gemm_bf16_prepack_b); the epilogue sees each finished strip once, in strips
 * that start on even rows and columns (what the network's conversions of
 * the strips into pairs rely on). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "gemm_bf16.h"
#include "rng.h"
#include "testutil.h"

typedef struct {
    size_t m, n, kq;
} shape;

/* kq 300 and 700 cross the K blocks of every table (kc 128 or 256 pairs) */
static const shape shapes[] = {{1, 1, 1},     {3, 5, 2},     {12, 32, 7},   {13, 33, 64},
                               {25, 70, 300}, {100, 17, 31}, {7, 129, 700}, {530, 9, 5}};

/* Ordinary bf16 pairs and fp32 values, with a sprinkling of zeros and small
 * values so that the flush matters now and then. */
static uint32_t word(uint64_t *s) {
    const uint64_t r = rng_splitmix64(s);
    uint32_t w = 0;
    for (int h = 0; h < 2; h++) {
        const uint64_t x = r >> (h * 24);
        const uint32_t e = x % 16 == 0   ? 0
                           : x % 16 == 1 ? 1 + (uint32_t)((x >> 4) % 20)
                                         : 120 + (uint32_t)((x >> 4) % 14);
        w |= ((uint32_t)(x >> 16 & 1) << 15 | e << 7 | (uint32_t)(x >> 8 & 0x7f)) << (16 * h);
    }
    return w;
}

static uint32_t ref_elem(const gemm_bf16_args *g, const uint32_t *c0, size_t i, size_t j) {
    uint32_t s = g->accumulate ? c0[i * g->ldc + j] : 0u;
    for (size_t q = 0; q < g->kq; q++)
        s = bf16_dp_ref(s, g->b[q * g->b_rs + j * g->b_cs], g->a[i * g->a_rs + q * g->a_cs]);
    return s;
}

ParameterizedTestParameters(gemm_bf16, matches_the_reference_chain) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, gemm_bf16, matches_the_reference_chain, .timeout = 300) {
    const kernel_table *tabs[2] = {kernels_for(*isa), kernels_emulated(*isa)};
    for (int t = 0; t < (tabs[1] != tabs[0] ? 2 : 1); t++) {
        const kernel_table *kt = tabs[t];
        uint32_t *ws = aligned_alloc(64, gemm_bf16_workspace_words(kt, 5) * 4);
        cr_assert_not_null(ws);
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++) {
                    const size_t m = shapes[si].m, n = shapes[si].n, kq = shapes[si].kq;
                    /* every other shape with leading dimensions a multiple of 512
                     * words: the L1-aliasing strides, where the driver packs A
                     * even when transposed */
                    const int alias = si % 2 == 0;
                    const size_t lda =
                        alias ? ((ta ? m : kq) + 511) / 512 * 512 : (ta ? m : kq) + 1;
                    const size_t ldb =
                        alias ? ((tb ? kq : n) + 511) / 512 * 512 : (tb ? kq : n) + 2;
                    const size_t ldc = n + 3;
                    uint32_t *a = malloc((ta ? kq : m) * lda * 4),
                             *b = malloc((tb ? n : kq) * ldb * 4);
                    uint32_t *c0 = malloc(m * ldc * 4), *want = malloc(m * ldc * 4);
                    float *c = malloc(m * ldc * 4);
                    cr_assert(a && b && c0 && want && c);
                    uint64_t s = 77 + si * 4 + (uint64_t)(2 * ta + tb);
                    for (size_t i = 0; i < (ta ? kq : m) * lda; i++) a[i] = word(&s);
                    for (size_t i = 0; i < (tb ? n : kq) * ldb; i++) b[i] = word(&s);
                    for (int acc = 0; acc < 2; acc++) {
                        for (size_t i = 0; i < m * ldc; i++)
                            c0[i] = acc ? (word(&s) & 0xffff0000u) | 0x1234u : 0x7fc00bad;
                        const gemm_bf16_args g = {.m = m,
                                                  .n = n,
                                                  .kq = kq,
                                                  .a = a,
                                                  .a_rs = ta ? 1 : lda,
                                                  .a_cs = ta ? lda : 1,
                                                  .b = b,
                                                  .b_rs = tb ? 1 : ldb,
                                                  .b_cs = tb ? ldb : 1,
                                                  .c = c,
                                                  .ldc = ldc,
                                                  .accumulate = acc};
                        memcpy(want, c0, m * ldc * 4);
                        for (size_t i = 0; i < m; i++)
                            for (size_t j = 0; j < n; j++)
                                want[i * ldc + j] = ref_elem(&g, c0, i, j);
                        static const int threads[] = {1, 2, 3, 5};
                        for (size_t ti = 0; ti < 4; ti++) {
                            memcpy(c, c0, m * ldc * 4);
                            gemm_bf16_chain(kt, &g, NULL, ws, threads[ti]);
                            cr_assert(!memcmp(c, want, m * ldc * 4),
                                      "%s (%s) m=%zu n=%zu kq=%zu ta=%d tb=%d acc=%d threads=%d",
                                      kt->name, kt->bf16_impl, m, n, kq, ta, tb, acc, threads[ti]);
                        }
                        /* B prepacked once (gemm_bf16_prepack_b, into thread 0's
                         * slice), then the product as linear_bf16_grad_part runs
                         * its chunks (two row blocks on one thread), and split
                         * over 2 and 3 threads; B itself must not be read */
                        gemm_bf16_args gp = g;
                        gp.b_packed = gemm_bf16_prepack_b(kt, &g, ws);
                        cr_assert_not_null(gp.b_packed, "%s m=%zu n=%zu kq=%zu: B does not fit",
                                           kt->name, m, n, kq);
                        gp.b = NULL;
                        const size_t half = m / 2 / kt->bf16_mr * kt->bf16_mr;
                        memcpy(c, c0, m * ldc * 4);
                        gemm_bf16_args g1 = gp;
                        g1.m = half;
                        gemm_bf16_part(kt, &g1, NULL, ws, 0, 1);
                        g1.m = m - half;
                        g1.a = a + half * g.a_rs;
                        g1.c = c + half * ldc;
                        gemm_bf16_part(kt, &g1, NULL, ws, 0, 1);
                        cr_assert(!memcmp(c, want, m * ldc * 4),
                                  "%s (%s) m=%zu n=%zu kq=%zu ta=%d tb=%d acc=%d prepacked B, "
                                  "two row blocks",
                                  kt->name, kt->bf16_impl, m, n, kq, ta, tb, acc);
                        for (int nt = 2; nt <= 3; nt++) {
                            memcpy(c, c0, m * ldc * 4);
                            for (int p = 0; p < nt; p++) gemm_bf16_part(kt, &gp, NULL, ws, p, nt);
                            cr_assert(!memcmp(c, want, m * ldc * 4),
                                      "%s (%s) m=%zu n=%zu kq=%zu ta=%d tb=%d acc=%d prepacked B, "
                                      "%d threads",
                                      kt->name, kt->bf16_impl, m, n, kq, ta, tb, acc, nt);
                        }
                    }
                    free(a);
                    free(b);
                    free(c0);
                    free(want);
                    free(c);
                }
        free(ws);
    }
}

/* ---- the epilogue --------------------------------------------------------- */

typedef struct {
    unsigned char *seen; /* m x n: times each element was handed to the epilogue */
    size_t n, mr;
    int odd_start, too_tall;
} strip_log;

static void log_strip(const gemm_epilogue *ep, size_t i0, size_t j0, size_t rows, size_t cols,
                      float *c, size_t ldc) {
    (void)c;
    (void)ldc;
    strip_log *l = (strip_log *)(uintptr_t)ep->ctx;
    if (i0 % 2 || j0 % 2) l->odd_start = 1;
    if (rows > l->mr) l->too_tall = 1;
#pragma omp critical
    for (size_t i = i0; i < i0 + rows; i++)
        for (size_t j = j0; j < j0 + cols; j++) l->seen[i * l->n + j]++;
}

ParameterizedTestParameters(gemm_bf16, epilogue_sees_every_strip_once) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTest(nerve_isa *isa, gemm_bf16, epilogue_sees_every_strip_once) {
    const kernel_table *kt = kernels_for(*isa);
    uint32_t *ws = aligned_alloc(64, gemm_bf16_workspace_words(kt, 4) * 4);
    static const shape eshapes[] = {{1, 1, 0}, {37, 71, 3}, {200, 50, 300}, {5, 300, 2}};
    for (size_t si = 0; si < 4; si++)
        for (int nt = 1; nt <= 4; nt++) {
            const size_t m = eshapes[si].m, n = eshapes[si].n, kq = eshapes[si].kq;
            uint32_t *a = calloc(m * (kq + 1), 4), *b = calloc((kq + 1) * n, 4);
            float *c = calloc(m * n, 4);
            strip_log l = {calloc(m * n, 1), n, kt->bf16_mr, 0, 0};
            cr_assert(a && b && c && l.seen);
            const gemm_bf16_args g = {.m = m,
                                      .n = n,
                                      .kq = kq,
                                      .a = a,
                                      .a_rs = kq + 1,
                                      .a_cs = 1,
                                      .b = b,
                                      .b_rs = n,
                                      .b_cs = 1,
                                      .c = c,
                                      .ldc = n,
                                      .accumulate = 0};
            const gemm_epilogue ep = {log_strip, &l};
            gemm_bf16_chain(kt, &g, &ep, ws, nt);
            for (size_t e = 0; e < m * n; e++)
                cr_assert_eq(l.seen[e], 1, "%s m=%zu n=%zu threads=%d: element %zu seen %d times",
                             kt->name, m, n, nt, e, l.seen[e]);
            cr_assert(!l.odd_start, "a strip starts on an odd row or column");
            cr_assert(!l.too_tall, "a strip is taller than bf16_mr");
            free(a);
            free(b);
            free(c);
            free(l.seen);
        }
    free(ws);
}
