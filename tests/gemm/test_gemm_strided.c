/* The strided micro-kernels (gemm_ukr_strided, simd/table.h) and the
 * driver's in-place / packed operand choices (src/gemm/gemm.c).
 *  - every m <= MR, n <= NR (the narrow n <= NR/2 loops included), several
 *    k, both accumulate modes, A read through row/column strides in both
 *    layouts and B through a row stride: equal bits to a plain fmaf chain,
 *    nothing outside the m x n corner touched;
 *  - the form with bias and activation fused (gemm_ukr_bias_act): the bits
 *    of the strided kernel then bias_act, special values included;
 *  - gemm_chain on shapes on both sides of the pack/in-place thresholds and
 *    with 1-3 threads (gemm_part's grid): equal bits to the scalar table;
 *  - nerve_sgemv on 1 and 2 threads. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "nerve/kernels.h"
#include "testutil.h"

/* The kernel is optional in the contract; the x86 tables have one. */
Test(gemm_strided, x86_tables_have_it) {
    const nerve_isa x86[] = {NERVE_ISA_AVX2, NERVE_ISA_AVX512};
    for (size_t i = 0; i < 2; i++) {
        const kernel_table *kt = kernels_for(x86[i]);
        if (nerve_isa_supported(x86[i])) {
            cr_assert_not_null(kt);
            cr_assert_not_null(kt->gemm_ukr_strided, "%s has no strided micro-kernel", kt->name);
        }
    }
}

/* The supported ISAs whose table has a strided micro-kernel. */
ParameterizedTestParameters(gemm_strided, ukr_edges) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas), w = 0;
    for (size_t i = 0; i < n; i++)
        if (kernels_for(isas[i])->gemm_ukr_strided) isas[w++] = isas[i];
    return cr_make_param_array(nerve_isa, isas, w);
}

ParameterizedTest(nerve_isa *isa, gemm_strided, ukr_edges) {
    const kernel_table *kt = kernels_for(*isa);
    cr_assert_not_null(kt);
    const size_t mr = kt->mr, nr = kt->nr, ldc = nr + 5;
    const size_t ks[] = {0, 1, 3, 16, 37};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
        for (int trans = 0; trans < 2; trans++) {
            const size_t k = ks[ki];
            /* A: mr x k read as a[i*a_rs + p*a_cs], padded leading dimension */
            const size_t a_rs = trans ? 1 : k + 3, a_cs = trans ? mr + 2 : 1, ldb = nr + 9;
            const size_t asz = mr * (k + 3) + (k + 1) * (mr + 2), bsz = (k + 1) * ldb;
            float *a = test_alloc(asz, 1), *b = test_alloc(bsz, 3);
            float *c = malloc(mr * ldc * 4), *init = malloc(mr * ldc * 4);
            test_fill(a, asz, 17 + k, -2, 2);
            test_fill(b, bsz, 29 + k, -2, 2);
            test_fill(init, mr * ldc, 31 + k, -2, 2);
            for (size_t m = 0; m <= mr; m++)
                for (size_t n = 0; n <= nr; n++)
                    for (int acc = 0; acc < 2; acc++) {
                        memcpy(c, init, mr * ldc * 4);
                        if (!acc) /* accumulate == 0 must not read C */
                            for (size_t i = 0; i < m; i++)
                                for (size_t j = 0; j < n; j++) c[i * ldc + j] = NAN;
                        kt->gemm_ukr_strided(k, a, a_rs, a_cs, b, ldb, c, ldc, m, n, acc);
                        for (size_t i = 0; i < mr; i++)
                            for (size_t j = 0; j < ldc; j++) {
                                float want = init[i * ldc + j];
                                if (i < m && j < n) {
                                    want = acc ? init[i * ldc + j] : 0.0f;
                                    for (size_t p = 0; p < k; p++)
                                        want = fmaf(a[i * a_rs + p * a_cs], b[p * ldb + j], want);
                                }
                                cr_assert_eq(memcmp(&want, &c[i * ldc + j], 4), 0,
                                             "%s strided m=%zu n=%zu k=%zu acc=%d trans=%d: "
                                             "C(%zu,%zu)=%a want %a",
                                             kt->name, m, n, k, acc, trans, i, j, c[i * ldc + j],
                                             want);
                            }
                    }
            test_free(a);
            test_free(b);
            free(c);
            free(init);
        }
}

/* The supported ISAs whose table fuses bias and activation into the
 * strided micro-kernel (gemm_ukr_bias_act, simd/table.h). */
ParameterizedTestParameters(gemm_strided, ukr_bias_act_edges) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas), w = 0;
    for (size_t i = 0; i < n; i++)
        if (kernels_for(isas[i])->gemm_ukr_bias_act) isas[w++] = isas[i];
    return cr_make_param_array(nerve_isa, isas, w);
}

/* Against the same table's strided micro-kernel followed by its bias_act
 * (identity and relu), bit for bit: every m <= MR, n <= NR, several k, both
 * accumulate modes; the bias holds -0, NaN and infinities, and with k = 0
 * and accumulate C's own -0, NaN, negative and infinite values reach the
 * sum (relu keeps -0 and NaN); nothing outside the m x n corner is
 * written. */
ParameterizedTest(nerve_isa *isa, gemm_strided, ukr_bias_act_edges) {
    const kernel_table *kt = kernels_for(*isa);
    cr_assert_not_null(kt);
    cr_assert_not_null(kt->gemm_ukr_strided, "%s fuses into a strided kernel it lacks", kt->name);
    const size_t mr = kt->mr, nr = kt->nr, ldc = nr + 5;
    const size_t ks[] = {0, 1, 3, 16, 37};
    const float special[] = {-0.0f, NAN, INFINITY, -INFINITY, -1.5f, 0.0f};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        const size_t k = ks[ki], a_rs = k + 3, ldb = nr + 9;
        float *a = test_alloc(mr * a_rs + 1, 1), *b = test_alloc((k + 1) * ldb, 3);
        float *init = malloc(mr * ldc * 4), *c = malloc(mr * ldc * 4), *want = malloc(mr * ldc * 4);
        float *bias_all = malloc(nr * 4);
        cr_assert(init && c && want && bias_all);
        test_fill(a, mr * a_rs + 1, 41 + k, -2, 2);
        test_fill(b, (k + 1) * ldb, 43 + k, -2, 2);
        test_fill(init, mr * ldc, 47 + k, -2, 2);
        test_fill(bias_all, nr, 53 + k, -2, 2);
        for (size_t e = 0; e < mr * ldc; e += 7) init[e] = special[(e / 7) % 6];
        for (size_t j = 0; j < nr; j += 5) bias_all[j] = special[(j / 5) % 6];
        for (size_t n = 0; n <= nr; n++) {
            float *bias = malloc((n ? n : 1) * 4); /* exactly n floats: none read past them */
            cr_assert_not_null(bias);
            memcpy(bias, bias_all, n * 4);
            for (size_t m = 0; m <= mr; m++)
                for (int acc = 0; acc < 2; acc++)
                    for (int relu = 0; relu < 2; relu++) {
                        memcpy(want, init, mr * ldc * 4);
                        kt->gemm_ukr_strided(k, a, a_rs, 1, b, ldb, want, ldc, m, n, acc);
                        if (m && n)
                            kt->bias_act[relu ? ACT_RELU : ACT_IDENTITY](m, n, want, ldc, bias);
                        memcpy(c, init, mr * ldc * 4);
                        kt->gemm_ukr_bias_act(k, a, a_rs, 1, b, ldb, c, ldc, m, n, acc, bias, relu);
                        for (size_t e = 0; e < mr * ldc; e++)
                            cr_assert_eq(memcmp(&want[e], &c[e], 4), 0,
                                         "%s bias_act m=%zu n=%zu k=%zu acc=%d relu=%d: C(%zu,%zu) "
                                         "= %a, want %a",
                                         kt->name, m, n, k, acc, relu, e / ldc, e % ldc, c[e],
                                         want[e]);
                    }
            free(bias);
        }
        test_free(a), test_free(b);
        free(init), free(c), free(want), free(bias_all);
    }
}

/* Shapes chosen around the driver's decisions: few columns (A read in
 * place) vs many (A packed), few rows (B read in place) vs many (B packed),
 * B transposed (always packed), k across KC blocks, narrow n; each with
 * padded leading dimensions and with ones that are multiples of 512 floats
 * (the L1-aliasing strides that make the driver pack an operand it would
 * otherwise read in place, transposed A included). */
/* Every ISA this CPU supports (the parameters of the driver tests). */
static struct criterion_test_params supported_isas(void) {
    static nerve_isa isas[NERVE_ISA_COUNT];
    size_t n = test_supported_isas(isas);
    return cr_make_param_array(nerve_isa, isas, n);
}

ParameterizedTestParameters(gemm_strided, driver_paths) { return supported_isas(); }

ParameterizedTest(nerve_isa *isa, gemm_strided, driver_paths) {
    const kernel_table *kt = kernels_for(*isa), *ks = kernels_for(NERVE_ISA_SCALAR);
    const size_t shapes[][3] = {{40, 600, 70}, {300, 40, 70}, {270, 530, 40},
                                {25, 10, 600}, {13, 70, 9},   {64, 256, 300}};
    float *ws = aligned_alloc(64, (gemm_workspace_floats(kt, 3) * 4 + 63) / 64 * 64);
    float *wss = aligned_alloc(64, (gemm_workspace_floats(ks, 1) * 4 + 63) / 64 * 64);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int acc_alias = 0; acc_alias < 4; acc_alias++) {
                    const size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                    const int acc = acc_alias % 2;
                    const int alias = acc_alias / 2; /* leading dimensions a multiple of 512 */
                    const size_t lda = alias ? ((ta ? m : k) + 511) / 512 * 512 : (ta ? m : k) + 1;
                    const size_t ldb = alias ? ((tb ? k : n) + 511) / 512 * 512 : (tb ? k : n) + 2;
                    const size_t ldc = n + 3;
                    float *a = malloc((ta ? k : m) * lda * 4), *b = malloc((tb ? n : k) * ldb * 4);
                    float *c0 = malloc(m * ldc * 4), *want = malloc(m * ldc * 4),
                          *c = malloc(m * ldc * 4);
                    test_fill(a, (ta ? k : m) * lda, 3 + s, -1, 1);
                    test_fill(b, (tb ? n : k) * ldb, 5 + s, -1, 1);
                    test_fill(c0, m * ldc, 7 + s, -1, 1);
                    gemm_args g = {m,
                                   n,
                                   k,
                                   a,
                                   ta ? 1 : lda,
                                   ta ? lda : 1,
                                   b,
                                   tb ? 1 : ldb,
                                   tb ? ldb : 1,
                                   want,
                                   ldc,
                                   acc,
                                   NULL};
                    memcpy(want, c0, m * ldc * 4);
                    gemm_chain(ks, &g, wss, 1);
                    for (int nt = 1; nt <= 3; nt++) {
                        memcpy(c, c0, m * ldc * 4);
                        g.c = c;
                        gemm_chain(kt, &g, ws, nt);
                        g.c = want;
                        size_t bad = test_first_bit_mismatch(c, want, m * ldc);
                        cr_assert_eq(bad, SIZE_MAX,
                                     "%s %zux%zux%zu ta=%d tb=%d acc=%d lda=%zu ldb=%zu "
                                     "threads=%d: differs from scalar at %zu",
                                     kt->name, m, n, k, ta, tb, acc, lda, ldb, nt, bad);
                    }
                    /* B prepacked once (gemm_prepack_b), then the product in
                     * two row halves on one thread, as linear_grad_part runs
                     * its chunks; every shape here fits the B block */
                    memcpy(c, c0, m * ldc * 4);
                    gemm_args gp = g;
                    gp.b_packed = gemm_prepack_b(kt, &g, ws);
                    cr_assert_not_null(gp.b_packed, "%s %zux%zux%zu: B does not fit", kt->name, m,
                                       n, k);
                    const size_t half = m / 2 / kt->mr * kt->mr;
                    gp.b = NULL; /* must not be read */
                    gp.m = half;
                    gp.c = c;
                    gemm_part(kt, &gp, NULL, ws, 0, 1);
                    gp.m = m - half;
                    gp.a = g.a + half * g.a_rs;
                    gp.c = c + half * ldc;
                    gemm_part(kt, &gp, NULL, ws, 0, 1);
                    size_t bad = test_first_bit_mismatch(c, want, m * ldc);
                    cr_assert_eq(bad, SIZE_MAX,
                                 "%s %zux%zux%zu ta=%d tb=%d acc=%d lda=%zu ldb=%zu prepacked B: "
                                 "differs from scalar at %zu",
                                 kt->name, m, n, k, ta, tb, acc, lda, ldb, bad);
                    free(a);
                    free(b);
                    free(c0);
                    free(want);
                    free(c);
                }
    free(ws);
    free(wss);
}

/* A B prepacked once (gemm_prepack_b) and read by a product split over 1-3
 * threads (gemm_part's rectangles, run one after another): column blocks
 * past NC (n = 3200), several KC slices whose last one is shorter (k = 257
 * and 601), n not a multiple of NR (each fits the B block of every table).
 * Equal bits to the scalar table. */
ParameterizedTestParameters(gemm_strided, prepacked_b_threads) { return supported_isas(); }

ParameterizedTest(nerve_isa *isa, gemm_strided, prepacked_b_threads) {
    const kernel_table *kt = kernels_for(*isa), *ks = kernels_for(NERVE_ISA_SCALAR);
    const size_t shapes[][3] = {{30, 3200, 64}, {30, 1000, 257}, {50, 400, 601}};
    float *ws = aligned_alloc(64, (gemm_workspace_floats(kt, 3) * 4 + 63) / 64 * 64);
    float *wss = aligned_alloc(64, (gemm_workspace_floats(ks, 1) * 4 + 63) / 64 * 64);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        const size_t lda = k + 1, ldb = n + 2, ldc = n + 3;
        float *a = malloc(m * lda * 4), *b = malloc(k * ldb * 4);
        float *want = malloc(m * ldc * 4), *c = malloc(m * ldc * 4);
        test_fill(a, m * lda, 11 + s, -1, 1);
        test_fill(b, k * ldb, 13 + s, -1, 1);
        test_fill(want, m * ldc, 17 + s, -1, 1);
        memcpy(c, want, m * ldc * 4);
        gemm_args g = {m, n, k, a, lda, 1, b, ldb, 1, want, ldc, 0, NULL};
        gemm_chain(ks, &g, wss, 1);
        g.b_packed = gemm_prepack_b(kt, &g, ws);
        cr_assert_not_null(g.b_packed, "%s %zux%zux%zu: B does not fit", kt->name, m, n, k);
        g.b = NULL; /* must not be read */
        g.c = c;
        for (int nt = 1; nt <= 3; nt++) {
            for (size_t i = 0; i < m; i++) memset(c + i * ldc, 0xff, n * 4); /* NaN */
            for (int t = 0; t < nt; t++) gemm_part(kt, &g, NULL, ws, t, nt);
            const size_t bad = test_first_bit_mismatch(c, want, m * ldc);
            cr_assert_eq(bad, SIZE_MAX,
                         "%s %zux%zux%zu prepacked B, %d threads: differs from scalar at %zu",
                         kt->name, m, n, k, nt, bad);
        }
        free(a);
        free(b);
        free(want);
        free(c);
    }
    free(ws);
    free(wss);
}

/* A few rows times a transposed B (the forward X W^T at a small batch),
 * which the driver computes as C^T = B^T A^T (src/gemm/gemm.c) when C has at
 * least 4 NR-wide panels: m = 1..33 around MR, 16 and 32 (at most 32 rows
 * are transposed, and AVX2's NR = 16 and NEON's 12 split them into panels
 * that threads may share out), n below 4 panels (not transposed), at 4-5
 * panels and past MC (row blocks of C^T), k in one KC slice and over
 * several with a shorter last one, 1-3 threads. Each shape first checks that
 * the driver transposes exactly the products the rule says it does
 * (gemm_driver_args). Equal bits to the scalar table (which has no strided
 * micro-kernel and never transposes), nothing outside C written, and the
 * epilogue called exactly once on every element of C, with the element's
 * final value, on strips of the sizes gemm.h promises; transposed, once per
 * row block of C^T (the thread's rows of C by the block's columns, not
 * MR-column pieces of them). */
typedef struct visit_ctx {
    const gemm_args *g;
    unsigned char *seen;
    int bad; /* an element visited twice, outside C, not yet final, or a strip too big */
    const float *want;
    size_t max_rows, max_cols; /* the largest strip gemm.h allows */
    size_t block; /* transposed on one thread: each strip all m rows by min(block, n - j0)
                     columns from j0 = 0, 1 block, ...; else 0 */
    size_t calls;
} visit_ctx;

static void visit_tile(const gemm_epilogue *ep, size_t i0, size_t j0, size_t rows, size_t cols,
                       float *c, size_t ldc) {
    visit_ctx *v = (visit_ctx *)ep->ctx;
    v->calls++;
    if (i0 + rows > v->g->m || j0 + cols > v->g->n || c != v->g->c + i0 * ldc + j0 ||
        rows > v->max_rows || cols > v->max_cols ||
        (v->block && (i0 != 0 || rows != v->g->m || j0 % v->block ||
                      cols != (v->g->n - j0 < v->block ? v->g->n - j0 : v->block)))) {
        v->bad = 1;
        return;
    }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            const size_t e = (i0 + i) * v->g->n + j0 + j;
            if (v->seen[e]++ || memcmp(&c[i * ldc + j], &v->want[(i0 + i) * ldc + j0 + j], 4))
                v->bad = 1;
        }
}

ParameterizedTestParameters(gemm_strided, few_rows_transposed_b) { return supported_isas(); }

ParameterizedTest(nerve_isa *isa, gemm_strided, few_rows_transposed_b) {
    const kernel_table *kt = kernels_for(*isa), *ks = kernels_for(NERVE_ISA_SCALAR);
    const size_t ms[] = {1, 2, 11, 12, 13, 16, 17, 31, 32, 33};
    const size_t nks[][2] = {
        {1, 1}, {13, 7}, {4 * kt->nr, 200}, {5 * kt->nr + 3, 257}, {1000, 601}};
    float *ws = aligned_alloc(64, (gemm_workspace_floats(kt, 3) * 4 + 63) / 64 * 64);
    float *wss = aligned_alloc(64, (gemm_workspace_floats(ks, 1) * 4 + 63) / 64 * 64);
    for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
        for (size_t s = 0; s < sizeof nks / sizeof nks[0]; s++) {
            const size_t m = ms[mi], n = nks[s][0], k = nks[s][1];
            const size_t lda = k + 3, ldw = k + 1, ldc = n + 2;
            float *a = malloc(m * lda * 4), *w = malloc(n * ldw * 4);
            float *want = malloc(m * ldc * 4), *c = malloc(m * ldc * 4);
            unsigned char *seen = malloc(m * n);
            test_fill(a, m * lda, 5 + s, -1, 1);
            test_fill(w, n * ldw, 7 + mi, -1, 1);
            test_fill(want, m * ldc, 9, -1, 1); /* the gaps past n: must stay */
            memcpy(c, want, m * ldc * 4);
            /* C = A W^T: B(p, j) = W[j*ldw + p] */
            gemm_args g = {m, n, k, a, lda, 1, w, 1, ldw, want, ldc, 0, NULL};
            /* ldw = k + 1 never aliases, so the rule is rows, width, kernel */
            const int transposed = kt->gemm_ukr_strided && m <= 32 && n >= 4 * kt->nr;
            cr_assert_eq(gemm_driver_args(kt, &g).m == n && n != m, transposed,
                         "%s %zux%zux%zu: transposed is %d, want %d", kt->name, m, n, k,
                         !transposed, transposed);
            gemm_chain(ks, &g, wss, 1);
            g.c = c;
            for (int nt = 1; nt <= 3; nt++) {
                for (size_t i = 0; i < m; i++) memset(c + i * ldc, 0xff, n * 4); /* NaN */
                memset(seen, 0, m * n);
                /* gemm.h: MR x NC strips, or transposed the thread's rows
                 * (at most 32) by one row block of C^T (MC rounded to MR) */
                const size_t block = (kt->mc + kt->mr - 1) / kt->mr * kt->mr;
                visit_ctx v = {&g,
                               seen,
                               0,
                               want,
                               transposed ? 32 : kt->mr,
                               transposed ? block : kt->nc,
                               transposed && nt == 1 ? block : 0,
                               0};
                const gemm_epilogue ep = {visit_tile, &v};
                for (int t = 0; t < nt; t++) gemm_part(kt, &g, &ep, ws, t, nt);
                if (transposed && nt == 1)
                    cr_assert_eq(v.calls, (n + block - 1) / block,
                                 "%s %zux%zux%zu: %zu epilogue calls, want one per block of %zu",
                                 kt->name, m, n, k, v.calls, block);
                const size_t bad = test_first_bit_mismatch(c, want, m * ldc);
                cr_assert_eq(bad, SIZE_MAX,
                             "%s %zux%zux%zu, %d threads: differs from scalar at %zu", kt->name, m,
                             n, k, nt, bad);
                cr_assert_not(v.bad, "%s %zux%zux%zu, %d threads: epilogue misplaced or repeated",
                              kt->name, m, n, k, nt);
                for (size_t e = 0; e < m * n; e++)
                    cr_assert_eq(seen[e], 1,
                                 "%s %zux%zux%zu, %d threads: epilogue missed (%zu, %zu)", kt->name,
                                 m, n, k, nt, e / n, e % n);
            }
            free(a);
            free(w);
            free(want);
            free(c);
            free(seen);
        }
    free(ws);
    free(wss);
}

/* nerve_sgemv splits y between threads for large products: the same bits
 * for 1 and 2 threads, and as the scalar table, both transpositions. */
Test(gemm_strided, gemv_threads_same_bits) {
    const size_t m = 1030, n = 1100, lda = n + 2;
    float *a = malloc(m * lda * 4), *x = malloc((m > n ? m : n) * 4);
    float *y1 = malloc(n * 4 + m * 4), *y2 = malloc(n * 4 + m * 4), *ys = malloc(n * 4 + m * 4);
    test_fill(a, m * lda, 1, -1, 1);
    test_fill(x, m > n ? m : n, 2, -1, 1);
    for (int t = 0; t < 2; t++) {
        const size_t yl = t ? n : m;
        test_fill(y1, yl, 3, -1, 1);
        memcpy(y2, y1, yl * 4);
        memcpy(ys, y1, yl * 4);
        omp_set_num_threads(1);
        cr_assert_eq(nerve_sgemv((nerve_transpose)t, m, n, 0.5f, a, lda, x, 2.0f, y1), NERVE_OK);
        omp_set_num_threads(2);
        cr_assert_eq(nerve_sgemv((nerve_transpose)t, m, n, 0.5f, a, lda, x, 2.0f, y2), NERVE_OK);
        cr_assert_eq(test_first_bit_mismatch(y1, y2, yl), SIZE_MAX, "gemv t=%d: 1 vs 2 threads", t);
        nerve_set_max_isa(NERVE_ISA_SCALAR);
        cr_assert_eq(nerve_sgemv((nerve_transpose)t, m, n, 0.5f, a, lda, x, 2.0f, ys), NERVE_OK);
        nerve_set_max_isa(NERVE_ISA_AVX512);
        cr_assert_eq(test_first_bit_mismatch(y1, ys, yl), SIZE_MAX,
                     "gemv t=%d: differs from scalar", t);
    }
    free(a);
    free(x);
    free(y1);
    free(y2);
    free(ys);
}
