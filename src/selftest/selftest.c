/* Bit-exact checks of one kernel table against another (selftest.h).
 *
 * Every check builds deterministic inputs (splitmix64), runs the entry of
 * both tables on identical copies of every output buffer, and compares the
 * whole buffers, guard elements on both sides included, so a write out of
 * bounds or a read of an output that must not be read (NaN-filled) shows up
 * as a difference. Pointers are deliberately unaligned (offsets of 1..3
 * floats past a 64-byte boundary), leading dimensions odd. */
#include "selftest.h"

#include "nerve/selftest.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_msg.h"
#include "error.h"
#include "gemm.h"
#include "loss.h"
#include "rng.h"
#include "selftest_bf16.h"

#define GUARD       8        /* guard floats on each side of every buffer */
#define GUARD_VALUE -1234.5f /* what guards hold: any write there is a difference */

static const size_t sizes[] = {0, 1, 2, 15, 16, 17, 31, 33, 64, 100, 257};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---- helpers --------------------------------------------------------------- */


/* Uniform in [lo, hi). */
static float uniform(uint64_t *s, float lo, float hi) {
    double u = (double)(rng_splitmix64(s) >> 40) / (double)(1ull << 24);
    return (float)(lo + (hi - lo) * u);
}

/* Values every elementwise kernel must handle. */
static const float specials[] = {
    0.0f,   -0.0f,   INFINITY, -INFINITY, NAN,     1e-40f, -1e-40f, FLT_MIN, -FLT_MIN, 1e30f,
    -1e30f, FLT_MAX, -FLT_MAX, 88.75f,    -88.75f, 104.0f, -104.0f, 20.0f,   20.5f,    -15.5f,
    0.5f,   -0.5f,   1e-8f,    -1e-8f,    1.0f,    -1.0f,  9.5f,    -9.5f,   1e-3f,    -1e-3f};
#define NSPECIALS (sizeof specials / sizeof specials[0])

/* Mostly uniform in [-scale, scale); with `special`, a quarter of the values
 * in [-20*scale, 20*scale) and every 5th one from the list above. */
static void fill(float *x, size_t n, uint64_t seed, float scale, int special) {
    uint64_t s = seed * 0x2545F4914F6CDD1Dull + 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_splitmix64(&s);
        if (special && r % 5 == 0)
            x[i] = specials[(r >> 8) % NSPECIALS];
        else if (special && r % 4 == 1)
            x[i] = uniform(&s, -20 * scale, 20 * scale);
        else
            x[i] = uniform(&s, -scale, scale);
    }
}

static void fill_value(float *x, size_t n, float v) {
    for (size_t i = 0; i < n; i++) x[i] = v;
}

/* A buffer of n floats at p, `off` floats past a 64-byte boundary, with
 * GUARD guard floats on both sides. */
typedef struct fbuf {
    float *mem; /* 64-byte aligned block */
    float *p;
    size_t n, len; /* usable, total floats */
} fbuf;

/* Buffers start zeroed (fbuf b = {0}), so fb_free is safe on any of them
 * whether or not fb_alloc ran or succeeded. */
static int fb_alloc(fbuf *b, size_t n, size_t off) {
    size_t head = GUARD + off;
    b->n = n;
    b->len = head + n + GUARD;
    size_t bytes = (b->len * sizeof(float) + 63) / 64 * 64;
    b->mem = aligned_alloc(64, bytes);
    if (!b->mem) return 0;
    fill_value(b->mem, b->len, GUARD_VALUE);
    b->p = b->mem + head;
    return 1;
}

static void fb_free(fbuf *b) {
    free(b->mem);
    b->mem = b->p = NULL;
}

/* dst := src (same shape) */
static void fb_copy(fbuf *dst, const fbuf *src) {
    memcpy(dst->mem, src->mem, src->len * sizeof(float));
}

static int same_float(float a, float b) {
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* Compares two buffers of one shape; on a difference writes
 * "<what>: <buffer> element i: got X, reference Y". */
static int cmp_fb(const fbuf *ref, const fbuf *got, const char *buf, const char *what, char *msg,
                  size_t cap) {
    for (size_t i = 0; i < ref->len; i++)
        if (!same_float(ref->mem[i], got->mem[i])) {
            long idx = (long)i - (long)(ref->p - ref->mem);
            return not_passed(msg, cap, "%s: %s[%ld]%s: got %a, reference %a", what, buf, idx,
                        idx < 0 || (size_t)idx >= ref->n ? " (guard)" : "", (double)got->mem[i],
                        (double)ref->mem[i]);
        }
    return 1;
}

static int cmp_float(float ref, float got, const char *what, char *msg, size_t cap) {
    if (same_float(ref, got)) return 1;
    return not_passed(msg, cap, "%s: got %a, reference %a", what, (double)got, (double)ref);
}

/* ---- GEMM micro-kernels: the fma chain of table.h ------------------------- */

/* want[i*nr + j] = chain over p of a(i,p) b(p,j), from c0 when accumulating. */
static void ukr_reference(size_t k, size_t mr, size_t nr, const float *a, size_t a_rs, size_t a_cs,
                          const float *b, size_t ldb, const float *c0, size_t ldc, int acc,
                          float *want) {
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nr; j++) {
            float s = acc ? c0[i * ldc + j] : 0.0f;
            for (size_t p = 0; p < k; p++) s = fmaf(a[i * a_rs + p * a_cs], b[p * ldb + j], s);
            want[i * nr + j] = s;
        }
}

/* Runs the micro-kernel (strided form when `strided`) for every m <= MR,
 * n <= NR and both accumulate modes, and checks the tile against `want`,
 * everything else against the initial C. */
static int ukr_edges(const kernel_table *kt, int strided, size_t k, const float *a, size_t a_rs,
                     size_t a_cs, const float *b, size_t ldb, const char *layout, char *msg,
                     size_t cap) {
    const size_t mr = kt->mr, nr = kt->nr, ldc = nr + 3;
    fbuf c = {0}, c0 = {0};
    float *want = malloc(mr * nr * sizeof(float));
    if (!want || !fb_alloc(&c, mr * ldc, 1) || !fb_alloc(&c0, mr * ldc, 1)) {
        free(want);
        fb_free(&c);
        fb_free(&c0);
        return oom(msg, cap);
    }
    int ok = 1;
    for (int acc = 0; acc < 2 && ok; acc++) {
        /* accumulate == 0 must not read C: NaN there must not leak */
        if (acc)
            fill(c0.p, c0.n, 77 + k, 2.0f, 0);
        else
            fill_value(c0.p, c0.n, NAN);
        ukr_reference(k, mr, nr, a, a_rs, a_cs, b, ldb, c0.p, ldc, acc, want);
        for (size_t m = 0; m <= mr && ok; m++)
            for (size_t n = 0; n <= nr && ok; n++) {
                fb_copy(&c, &c0);
                if (strided)
                    kt->gemm_ukr_strided(k, a, a_rs, a_cs, b, ldb, c.p, ldc, m, n, acc);
                else
                    kt->gemm_ukr(k, a, b, c.p, ldc, m, n, acc);
                for (size_t i = 0; i < c.len && ok; i++) {
                    long e = (long)i - (long)(c.p - c.mem);
                    size_t r = e >= 0 ? (size_t)e / ldc : 0, col = e >= 0 ? (size_t)e % ldc : 0;
                    int inside = e >= 0 && (size_t)e < c.n && r < m && col < n;
                    float w = inside ? want[r * nr + col] : c0.mem[i];
                    if (!same_float(w, c.mem[i]))
                        ok = not_passed(msg, cap,
                                  "%s%s k=%zu m=%zu n=%zu accumulate=%d: C[%ld] = %a, want %a%s",
                                  strided ? "strided " : "", layout, k, m, n, acc, e,
                                  (double)c.mem[i], (double)w, inside ? "" : " (outside the tile)");
                }
            }
    }
    free(want);
    fb_free(&c);
    fb_free(&c0);
    return ok;
}

static const size_t ukr_ks[] = {0, 1, 2, 3, 8, 17, 64};
#define NUKR_KS (sizeof ukr_ks / sizeof ukr_ks[0])

static int check_gemm_ukr(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    (void)ref;
    int ok = 1;
    for (size_t ki = 0; ki < NUKR_KS && ok; ki++) {
        const size_t k = ukr_ks[ki], mr = kt->mr, nr = kt->nr;
        size_t abytes = ((mr * k + 16) * sizeof(float) + 63) / 64 * 64;
        size_t bbytes = ((nr * k + 16) * sizeof(float) + 63) / 64 * 64;
        float *a = aligned_alloc(64, abytes), *b = aligned_alloc(64, bbytes);
        if (!a || !b) {
            free(a);
            free(b);
            return oom(msg, cap);
        }
        fill(a, mr * k + 16, 5 + k, 2.0f, 0);
        fill(b, nr * k + 16, 9 + k, 2.0f, 0);
        ok = ukr_edges(kt, 0, k, a, 1, mr, b, nr, "packed", msg, cap);
        free(a);
        free(b);
    }
    return ok;
}

static int check_gemm_ukr_strided(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    (void)ref;
    if (!kt->gemm_ukr_strided) return 1; /* optional entry, absent in this table */
    int ok = 1;
    for (size_t ki = 0; ki < NUKR_KS && ok; ki++)
        for (int layout = 0; layout < 2 && ok; layout++) {
            const size_t k = ukr_ks[ki], mr = kt->mr, nr = kt->nr, ldb = nr + 5;
            /* A row-major (a_rs = k + 3, a_cs = 1) or column-major (a_rs = 1, a_cs = mr + 2) */
            const size_t a_rs = layout ? 1 : k + 3, a_cs = layout ? mr + 2 : 1;
            const size_t alen = layout ? (mr + 2) * (k + 1) : mr * (k + 3);
            fbuf a = {0}, b = {0};
            if (!fb_alloc(&a, alen, 1)) return oom(msg, cap);
            if (!fb_alloc(&b, ldb * k + 1, 3)) {
                fb_free(&a);
                return oom(msg, cap);
            }
            fill(a.p, a.n, 15 + k, 2.0f, 0);
            fill(b.p, b.n, 19 + k, 2.0f, 0);
            ok = ukr_edges(kt, 1, k, a.p, a_rs, a_cs, b.p, ldb,
                           layout ? "column-major A" : "row-major A", msg, cap);
            fb_free(&a);
            fb_free(&b);
        }
    return ok;
}

/* The strided form with the bias and activation fused (optional entry,
 * gemm_ukr_bias_act_fn): the reference chain, then the reference table's
 * bias_act (identity, relu) on the tile, for every m <= MR, n <= NR and
 * both accumulate modes, the bias and C with NaN, infinities and -0 among
 * their values; nothing outside the tile written. */
static int check_gemm_ukr_bias_act(const kernel_table *ref, const kernel_table *kt, char *msg,
                                   size_t cap) {
    if (!kt->gemm_ukr_bias_act) return 1;
    const size_t mr = kt->mr, nr = kt->nr, ldc = nr + 3;
    int ok = 1;
    for (size_t ki = 0; ki < NUKR_KS && ok; ki++) {
        const size_t k = ukr_ks[ki], a_rs = k + 3, ldb = nr + 5;
        fbuf a = {0}, b = {0}, bias = {0}, c = {0}, c0 = {0};
        float *want = malloc(mr * nr * sizeof(float)), *tile = malloc(mr * nr * sizeof(float));
        if (!want || !tile || !fb_alloc(&a, mr * a_rs, 1) || !fb_alloc(&b, ldb * k + 1, 3) ||
            !fb_alloc(&bias, nr, 2) || !fb_alloc(&c, mr * ldc, 1) || !fb_alloc(&c0, mr * ldc, 1)) {
            ok = oom(msg, cap);
        } else {
            fill(a.p, a.n, 25 + k, 2.0f, 0);
            fill(b.p, b.n, 27 + k, 2.0f, 0);
            fill(bias.p, nr, 29 + k, 2.0f, 1);
            /* -0 + -0 (k = 0, accumulating) is relu's one signed-zero case */
            for (size_t j = 3; j < nr; j += 7) bias.p[j] = -0.0f;
            for (int acc = 0; acc < 2 && ok; acc++) {
                if (acc) {
                    fill(c0.p, c0.n, 31 + k, 2.0f, 1);
                    for (size_t i = 0; i < mr; i += 3)
                        for (size_t j = 3; j < nr; j += 7) c0.p[i * ldc + j] = -0.0f;
                } else {
                    fill_value(c0.p, c0.n, NAN); /* not read */
                }
                ukr_reference(k, mr, nr, a.p, a_rs, 1, b.p, ldb, c0.p, ldc, acc, want);
                for (int relu = 0; relu < 2 && ok; relu++)
                    for (size_t m = 0; m <= mr && ok; m++)
                        for (size_t n = 0; n <= nr && ok; n++) {
                            memcpy(tile, want, mr * nr * sizeof(float));
                            if (m && n)
                                ref->bias_act[relu ? ACT_RELU : ACT_IDENTITY](m, n, tile, nr,
                                                                              bias.p);
                            fb_copy(&c, &c0);
                            kt->gemm_ukr_bias_act(k, a.p, a_rs, 1, b.p, ldb, c.p, ldc, m, n, acc,
                                                  bias.p, relu);
                            for (size_t i = 0; i < c.len && ok; i++) {
                                long e = (long)i - (long)(c.p - c.mem);
                                size_t r = e >= 0 ? (size_t)e / ldc : 0,
                                       col = e >= 0 ? (size_t)e % ldc : 0;
                                int inside = e >= 0 && (size_t)e < c.n && r < m && col < n;
                                float w = inside ? tile[r * nr + col] : c0.mem[i];
                                if (!same_float(w, c.mem[i]))
                                    ok = not_passed(msg, cap,
                                                    "k=%zu m=%zu n=%zu accumulate=%d relu=%d: "
                                                    "C[%ld] = %a, want %a%s",
                                                    k, m, n, acc, relu, e, (double)c.mem[i],
                                                    (double)w, inside ? "" : " (outside the tile)");
                            }
                        }
            }
        }
        free(want);
        free(tile);
        fb_free(&a);
        fb_free(&b);
        fb_free(&bias);
        fb_free(&c);
        fb_free(&c0);
    }
    return ok;
}

/* The transposing panel pack against its definition (table.h): widths
 * 0..w of the table's MR and NR panels, depths around its 4- and 16-step
 * blocks; dst floats outside the panel's lanes keep their marker. */
static int check_gemm_pack_t(const kernel_table *ref, const kernel_table *kt, char *msg,
                             size_t cap) {
    (void)ref;
    static const size_t kcs[] = {0, 1, 3, 4, 15, 16, 17, 33, 257};
    const size_t ws[] = {kt->mr, kt->nr};
    const float marker = -1e30f;
    int ok = 1;
    for (size_t wi = 0; wi < 2 && ok; wi++)
        for (size_t ki = 0; ki < sizeof kcs / sizeof kcs[0] && ok; ki++) {
            const size_t w = ws[wi], kc = kcs[ki], xs = kc + 3;
            float *src = malloc((w * xs + 1) * sizeof(float));
            float *dst = malloc((w * kc + 1) * sizeof(float));
            if (!src || !dst) {
                free(src);
                free(dst);
                return oom(msg, cap);
            }
            for (size_t i = 0; i < w * xs; i++) src[i] = (float)(i + 1);
            for (size_t width = 0; width <= w && ok; width++) {
                fill_value(dst, w * kc, marker);
                kt->gemm_pack_t(src, xs, width, kc, w, dst);
                for (size_t i = 0; i < w * kc && ok; i++) {
                    const size_t p = i / w, x = i % w;
                    const float want = x < width ? src[x * xs + p] : marker;
                    if (!same_float(want, dst[i]))
                        ok = not_passed(msg, cap,
                                        "w=%zu width=%zu kc=%zu: dst[%zu][%zu] = %a, want %a", w,
                                        width, kc, p, x, (double)dst[i], (double)want);
                }
            }
            free(src);
            free(dst);
        }
    return ok;
}

/* ---- GEMM driver ----------------------------------------------------------- */

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

static float *alloc_ws(const kernel_table *kt, int nthreads) {
    size_t bytes = (gemm_workspace_floats(kt, nthreads) * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes);
}

static int check_gemm_chain(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    const size_t kc = max_sz(ref->kc, kt->kc), mc = max_sz(ref->mc, kt->mc),
                 nc = max_sz(ref->nc, kt->nc);
    const size_t shapes[][3] = {
        {1, 1, 1},
        {2, 3, 4},
        {15, 17, 16},
        {17, 33, 31},
        {33, 64, 100},
        {kt->mr + 1, kt->nr + 1, kc + 17}, /* k crosses a K block */
        {100, 37, 257},
        {mc + 5, 20, 9},              /* more than one M block */
        {3, nc + 7, 5},               /* more than one N block */
        {32, 4 * kt->nr + 5, kc + 9}, /* few rows: with B transposed, computed as C^T */
    };
    float *ws_ref = alloc_ws(ref, 1), *ws_kt = alloc_ws(kt, 2);
    if (!ws_ref || !ws_kt) {
        free(ws_ref);
        free(ws_kt);
        return oom(msg, cap);
    }
    int ok = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0] && ok; s++)
        for (int ta = 0; ta < 2 && ok; ta++)
            for (int tb = 0; tb < 2 && ok; tb++) {
                const size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                const size_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 3;
                fbuf a = {0}, b = {0}, c0 = {0}, cr = {0}, ck = {0};
                int have = fb_alloc(&a, (ta ? k : m) * lda, 1);
                have = have && fb_alloc(&b, (tb ? n : k) * ldb, 2);
                have = have && fb_alloc(&c0, m * ldc, 3);
                have = have && fb_alloc(&cr, m * ldc, 3);
                have = have && fb_alloc(&ck, m * ldc, 3);
                if (!have) {
                    ok = oom(msg, cap);
                } else {
                    fill(a.p, a.n, 101 + s, 1.0f, 0);
                    fill(b.p, b.n, 202 + s, 1.0f, 0);
                    for (int acc = 0; acc < 2 && ok; acc++) {
                        if (acc)
                            fill(c0.p, c0.n, 303 + s, 1.0f, 0);
                        else
                            fill_value(c0.p, c0.n, NAN);
                        gemm_args g = {
                            .m = m,
                            .n = n,
                            .k = k,
                            .a = a.p,
                            .a_rs = ta ? 1 : lda,
                            .a_cs = ta ? lda : 1,
                            .b = b.p,
                            .b_rs = tb ? 1 : ldb,
                            .b_cs = tb ? ldb : 1,
                            .ldc = ldc,
                            .accumulate = acc,
                        };
                        fb_copy(&cr, &c0);
                        g.c = cr.p;
                        gemm_chain(ref, &g, ws_ref, 1);
                        for (int nt = 1; nt <= 2 && ok; nt++) {
                            char what[128];
                            snprintf(what, sizeof what,
                                     "m=%zu n=%zu k=%zu ta=%d tb=%d accumulate=%d threads=%d", m, n,
                                     k, ta, tb, acc, nt);
                            fb_copy(&ck, &c0);
                            g.c = ck.p;
                            gemm_chain(kt, &g, ws_kt, nt);
                            ok = cmp_fb(&cr, &ck, "C", what, msg, cap);
                        }
                    }
                }
                fb_free(&a);
                fb_free(&b);
                fb_free(&c0);
                fb_free(&cr);
                fb_free(&ck);
            }
    free(ws_ref);
    free(ws_kt);
    return ok;
}

/* ---- GEMV ------------------------------------------------------------------ */

static int check_gemv(const kernel_table *ref, const kernel_table *kt, int trans, char *msg, size_t cap) {
    static const float ab[][2] = {{1, 0}, {1, 1}, {-2, 0.5f}, {0.5f, 0}};
    int ok = 1;
    for (size_t si = 0; si < NSIZES && ok; si++)
        for (size_t sj = 0; sj < NSIZES && ok; sj += (si % 2) + 1) {
            const size_t m = sizes[si], n = sizes[sj], lda = n + 3;
            const size_t xl = trans ? m : n, yl = trans ? n : m;
            fbuf a = {0}, x = {0}, y0 = {0}, yr = {0}, yk = {0};
            int have = fb_alloc(&a, m * lda, 1);
            have = have && fb_alloc(&x, xl, 2);
            have = have && fb_alloc(&y0, yl, 3);
            have = have && fb_alloc(&yr, yl, 3);
            have = have && fb_alloc(&yk, yl, 3);
            if (!have) {
                ok = oom(msg, cap);
            } else {
                fill(a.p, a.n, 11 + si * 31 + sj, 1.0f, 0);
                fill(x.p, x.n, 7 + si, 1.0f, 0);
                for (size_t q = 0; q < sizeof ab / sizeof ab[0] && ok; q++) {
                    const float alpha = ab[q][0], beta = ab[q][1];
                    if (beta == 0.0f)
                        fill_value(y0.p, yl, NAN); /* must not be read */
                    else
                        fill(y0.p, yl, 9 + sj, 1.0f, 0);
                    fb_copy(&yr, &y0);
                    fb_copy(&yk, &y0);
                    void (*fr)(size_t, size_t, float, const float *, size_t, const float *, float,
                               float *) = trans ? ref->gemv_t : ref->gemv_n;
                    void (*fk)(size_t, size_t, float, const float *, size_t, const float *, float,
                               float *) = trans ? kt->gemv_t : kt->gemv_n;
                    fr(m, n, alpha, a.p, lda, x.p, beta, yr.p);
                    fk(m, n, alpha, a.p, lda, x.p, beta, yk.p);
                    char what[96];
                    snprintf(what, sizeof what, "m=%zu n=%zu alpha=%g beta=%g", m, n, (double)alpha,
                             (double)beta);
                    ok = cmp_fb(&yr, &yk, "y", what, msg, cap);
                }
            }
            fb_free(&a);
            fb_free(&x);
            fb_free(&y0);
            fb_free(&yr);
            fb_free(&yk);
        }
    return ok;
}

static int check_gemv_n(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    return check_gemv(ref, kt, 0, msg, cap);
}
static int check_gemv_t(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    return check_gemv(ref, kt, 1, msg, cap);
}

/* gemv_packed against the reference table and against its contract's fma
 * chain (the chain gemm_ukr runs on the same panels), one and two rows, over
 * panel widths of both tables and odd ones, a panel stride with a gap, odd
 * row strides and n ending inside the last panel. The panels' padding
 * columns hold NaN: the contract lets the kernel read them but they must not
 * reach y. */
static int check_gemv_packed(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    const size_t nrs[] = {kt->nr, ref->nr, 12, 5};
    int ok = 1;
    for (size_t w = 0; w < sizeof nrs / sizeof nrs[0] && ok; w++)
        for (size_t m = 1; m <= 2 && ok; m++)
            for (size_t si = 0; si < NSIZES && ok; si++)
                for (size_t sj = 0; sj < NSIZES && ok; sj += (si % 2) + 1) {
                    const size_t nr = nrs[w], k = sizes[si], n = sizes[sj];
                    const size_t panels = (n + nr - 1) / nr, ldp = k * nr + 3;
                    const size_t ldx = k + 5, ldy = n + 3;
                    fbuf b = {0}, x = {0}, yr = {0}, yk = {0};
                    int have = fb_alloc(&b, panels * ldp + 1, 1);
                    have = have && fb_alloc(&x, m * ldx, 2);
                    have = have && fb_alloc(&yr, m * ldy, 3);
                    have = have && fb_alloc(&yk, m * ldy, 3);
                    if (!have) {
                        ok = oom(msg, cap);
                    } else {
                        fill(b.p, b.n, 5 + si * 13 + sj, 1.0f, 0);
                        for (size_t q = 0; q < panels; q++)
                            for (size_t p = 0; p < k; p++)
                                for (size_t j = q * nr; j < (q + 1) * nr; j++)
                                    if (j >= n) b.p[q * ldp + p * nr + j % nr] = NAN;
                        fill(x.p, x.n, 17 + si, 1.0f, 0);
                        ref->gemv_packed(k, n, b.p, nr, ldp, m, x.p, ldx, yr.p, ldy);
                        kt->gemv_packed(k, n, b.p, nr, ldp, m, x.p, ldx, yk.p, ldy);
                        char what[96];
                        snprintf(what, sizeof what, "m=%zu k=%zu n=%zu nr=%zu", m, k, n, nr);
                        ok = cmp_fb(&yr, &yk, "y", what, msg, cap);
                        for (size_t i = 0; i < m && ok; i++)
                            for (size_t j = 0; j < n && ok; j++) {
                                float acc = 0.0f;
                                for (size_t p = 0; p < k; p++)
                                    acc = fmaf(x.p[i * ldx + p],
                                               b.p[(j / nr) * ldp + p * nr + j % nr], acc);
                                if (!same_float(acc, yk.p[i * ldy + j]))
                                    ok = not_passed(msg, cap,
                                              "%s: y[%zu][%zu] = %a, the fma chain gives %a", what,
                                              i, j, (double)yk.p[i * ldy + j], (double)acc);
                            }
                    }
                    fb_free(&b);
                    fb_free(&x);
                    fb_free(&yr);
                    fb_free(&yk);
                }
    return ok;
}

/* ---- activations ------------------------------------------------------------ */

/* n elements of x with special values; out of place and in place. */
static int check_act_fwd(int act, const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    int ok = 1;
    for (size_t si = 0; si < NSIZES && ok; si++) {
        const size_t n = sizes[si];
        fbuf x = {0}, yr = {0}, yk = {0};
        int have = fb_alloc(&x, n, 1);
        have = have && fb_alloc(&yr, n, 2);
        have = have && fb_alloc(&yk, n, 2);
        if (!have) {
            ok = oom(msg, cap);
        } else {
            /* scale 4: the interesting range of every activation, and
             * a quarter of the values up to +-80, plus the specials */
            fill(x.p, n, 1000 + (uint64_t)act * 37 + n, 4.0f, 1);
            char what[64];
            snprintf(what, sizeof what, "n=%zu", n);
            ref->act_fwd[act](n, x.p, yr.p);
            kt->act_fwd[act](n, x.p, yk.p);
            ok = cmp_fb(&yr, &yk, "y", what, msg, cap);
            if (ok) { /* in place: y == x */
                snprintf(what, sizeof what, "n=%zu in place", n);
                fb_copy(&yr, &x);
                fb_copy(&yk, &x);
                ref->act_fwd[act](n, yr.p, yr.p);
                kt->act_fwd[act](n, yk.p, yk.p);
                ok = cmp_fb(&yr, &yk, "y", what, msg, cap);
            }
        }
        fb_free(&x);
        fb_free(&yr);
        fb_free(&yk);
    }
    return ok;
}

/* x with special values, y = ref's forward of x, dy random with specials;
 * out of place and in place (dx == dy). */
static int check_act_bwd(int act, const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    int ok = 1;
    for (size_t si = 0; si < NSIZES && ok; si++) {
        const size_t n = sizes[si];
        fbuf x = {0}, y = {0}, dy = {0}, dr = {0}, dk = {0};
        int have = fb_alloc(&x, n, 1);
        have = have && fb_alloc(&y, n, 2);
        have = have && fb_alloc(&dy, n, 3);
        have = have && fb_alloc(&dr, n, 3);
        have = have && fb_alloc(&dk, n, 3);
        if (!have) {
            ok = oom(msg, cap);
        } else {
            fill(x.p, n, 2000 + (uint64_t)act * 41 + n, 4.0f, 1);
            ref->act_fwd[act](n, x.p, y.p);
            fill(dy.p, n, 3000 + n, 2.0f, 1);
            char what[64];
            snprintf(what, sizeof what, "n=%zu", n);
            ref->act_bwd[act](n, x.p, y.p, dy.p, dr.p);
            kt->act_bwd[act](n, x.p, y.p, dy.p, dk.p);
            ok = cmp_fb(&dr, &dk, "dx", what, msg, cap);
            if (ok) {
                snprintf(what, sizeof what, "n=%zu in place", n);
                fb_copy(&dr, &dy);
                fb_copy(&dk, &dy);
                ref->act_bwd[act](n, x.p, y.p, dr.p, dr.p);
                kt->act_bwd[act](n, x.p, y.p, dk.p, dk.p);
                ok = cmp_fb(&dr, &dk, "dx", what, msg, cap);
            }
        }
        fb_free(&x);
        fb_free(&y);
        fb_free(&dy);
        fb_free(&dr);
        fb_free(&dk);
    }
    return ok;
}

/* Bias + activation on a strided tile (rows x cols at a row stride of
 * cols + 3, in place), values with specials; the gaps between rows must be
 * left as they are (the whole buffer is compared). */
static int check_act_bias(int act, const kernel_table *ref, const kernel_table *kt, char *msg,
                          size_t cap) {
    int ok = 1;
    for (size_t ri = 0; ri < 3 && ok; ri++)
        for (size_t si = 0; si < NSIZES && ok; si++) {
            const size_t rows = ri == 2 ? 13 : ri, cols = sizes[si], ldy = cols + 3;
            fbuf b = {0}, yr = {0}, yk = {0};
            int have = fb_alloc(&b, cols, 1);
            have = have && fb_alloc(&yr, rows * ldy, 2);
            have = have && fb_alloc(&yk, rows * ldy, 2);
            if (!have) {
                ok = oom(msg, cap);
            } else {
                fill(b.p, cols, 4000 + cols, 2.0f, 1);
                fill(yr.p, rows * ldy, 5000 + (uint64_t)act * 43 + cols, 4.0f, 1);
                fb_copy(&yk, &yr);
                char what[64];
                snprintf(what, sizeof what, "rows=%zu cols=%zu", rows, cols);
                ref->bias_act[act](rows, cols, yr.p, ldy, b.p);
                kt->bias_act[act](rows, cols, yk.p, ldy, b.p);
                ok = cmp_fb(&yr, &yk, "y", what, msg, cap);
            }
            fb_free(&b);
            fb_free(&yr);
            fb_free(&yk);
        }
    return ok;
}

/* check_fwd_<name> and check_bwd_<name> for every entry of the activation
 * list (kernels.h, NERVE_ACT_LIST). */
#define ACT_CHECKS(E, name)                                                                        \
    static int check_fwd_##name(const kernel_table *ref, const kernel_table *kt, char *msg,        \
                                size_t cap) {                                                      \
        return check_act_fwd(ACT_##E, ref, kt, msg, cap);                                          \
    }                                                                                              \
    static int check_bwd_##name(const kernel_table *ref, const kernel_table *kt, char *msg,        \
                                size_t cap) {                                                      \
        return check_act_bwd(ACT_##E, ref, kt, msg, cap);                                          \
    }                                                                                              \
    static int check_bias_##name(const kernel_table *ref, const kernel_table *kt, char *msg,       \
                                 size_t cap) {                                                     \
        return check_act_bias(ACT_##E, ref, kt, msg, cap);                                         \
    }
NERVE_ACT_LIST(ACT_CHECKS)

/* ---- softmax and losses ------------------------------------------------------ */

static const size_t row_counts[] = {0, 1, 3};

/* Logits: row 0 ordinary (scale 8), row 1 large (scale 200: most exp terms
 * underflow), row 2 with special values (infinities, NaN). */
static void fill_logits(float *x, size_t rows, size_t cols, uint64_t seed) {
    for (size_t r = 0; r < rows; r++)
        fill(x + r * cols, cols, seed + r, r == 1 ? 200.0f : 8.0f, r == 2);
}

static int check_softmax(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    int ok = 1;
    for (size_t ri = 0; ri < sizeof row_counts / sizeof row_counts[0] && ok; ri++)
        for (size_t si = 0; si < NSIZES && ok; si++) {
            const size_t rows = row_counts[ri], cols = sizes[si];
            fbuf x = {0}, yr = {0}, yk = {0};
            int have = fb_alloc(&x, rows * cols, 1);
            have = have && fb_alloc(&yr, rows * cols, 2);
            have = have && fb_alloc(&yk, rows * cols, 2);
            if (!have) {
                ok = oom(msg, cap);
            } else {
                fill_logits(x.p, rows, cols, 40 + cols);
                char what[64];
                snprintf(what, sizeof what, "rows=%zu cols=%zu", rows, cols);
                ref->softmax(rows, cols, x.p, yr.p);
                kt->softmax(rows, cols, x.p, yk.p);
                ok = cmp_fb(&yr, &yk, "y", what, msg, cap);
                if (ok) {
                    snprintf(what, sizeof what, "rows=%zu cols=%zu in place", rows, cols);
                    fb_copy(&yr, &x);
                    fb_copy(&yk, &x);
                    ref->softmax(rows, cols, yr.p, yr.p);
                    kt->softmax(rows, cols, yk.p, yk.p);
                    ok = cmp_fb(&yr, &yk, "y", what, msg, cap);
                }
            }
            fb_free(&x);
            fb_free(&yr);
            fb_free(&yk);
        }
    return ok;
}

/* Runs a loss of NERVE_LOSS_LIST with and without grad on the targets it
 * takes (labels, with one out of range; or values); compares grad and
 * row_loss. */
static int check_loss(nerve_loss loss, const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    static const size_t loss_rows[] = {0, 1, 3, 5};
    int ok = 1;
    for (size_t ri = 0; ri < sizeof loss_rows / sizeof loss_rows[0] && ok; ri++)
        for (size_t si = 0; si < NSIZES && ok; si++) {
            const size_t rows = loss_rows[ri], cols = sizes[si];
            fbuf o = {0}, t = {0}, gr = {0}, gk = {0}, lr = {0}, lk = {0};
            int32_t *labels = malloc((rows + 1) * sizeof(int32_t));
            int have = labels != NULL && fb_alloc(&o, rows * cols, 1);
            have = have && fb_alloc(&t, rows * cols, 2);
            have = have && fb_alloc(&gr, rows * cols, 3);
            have = have && fb_alloc(&gk, rows * cols, 3);
            have = have && fb_alloc(&lr, rows, 1);
            have = have && fb_alloc(&lk, rows, 1);
            if (!have) {
                ok = oom(msg, cap);
            } else {
                uint64_t s = 55 + cols * 7 + rows;
                const int xent = loss_of(loss)->labels;
                if (xent) {
                    fill_logits(o.p, rows, cols, 60 + cols);
                    for (size_t r = 0; r < rows; r++)
                        labels[r] = cols ? (int32_t)(rng_splitmix64(&s) % cols) : 0;
                    if (rows > 4) labels[4] = -1; /* out of range: NaN loss, same everywhere */
                } else {
                    fill(o.p, o.n, 70 + cols, 3.0f, rows > 3);
                    fill(t.p, t.n, 80 + cols, 1.0f, 0);
                }
                const float scale = rows ? 1.0f / (float)rows : 1.0f;
                for (int with_grad = 0; with_grad < 2 && ok; with_grad++) {
                    char what[96];
                    snprintf(what, sizeof what, "rows=%zu cols=%zu%s", rows, cols,
                             with_grad ? "" : " grad=NULL");
                    loss_run(ref, loss, rows, cols, o.p, t.p, labels, scale,
                             with_grad ? gr.p : NULL, lr.p);
                    loss_run(kt, loss, rows, cols, o.p, t.p, labels, scale,
                             with_grad ? gk.p : NULL, lk.p);
                    ok = cmp_fb(&lr, &lk, "row_loss", what, msg, cap) &&
                         cmp_fb(&gr, &gk, "grad", what, msg, cap);
                }
            }
            free(labels);
            fb_free(&o);
            fb_free(&t);
            fb_free(&gr);
            fb_free(&gk);
            fb_free(&lr);
            fb_free(&lk);
        }
    return ok;
}

#define LOSS_CHECK_(E, name, targets, mean, gscale)                                                \
    static int check_loss_##name(const kernel_table *ref, const kernel_table *kt, char *msg,      \
                                 size_t cap) {                                                     \
        return check_loss(NERVE_LOSS_##E, ref, kt, msg, cap);                                      \
    }
NERVE_LOSS_LIST(LOSS_CHECK_)
#undef LOSS_CHECK_

/* ---- optimizers -------------------------------------------------------------- */

static int check_sgd(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    static const opt_step cfg[] = {
        {.lr = 0.1f},                               /* plain */
        {.lr = 0.05f, .weight_decay = 0.01f},       /* plain + decay */
        {.lr = 0.1f, .momentum = 0.9f, .first = 1}, /* first step: v = g */
        {.lr = 0.1f, .momentum = 0.9f, .dampening = 0.1f},
        {.lr = 0.01f, .momentum = 0.8f, .weight_decay = 1e-3f, .nesterov = 1},
        {.lr = 0.01f, .momentum = 0.8f, .nesterov = 1, .first = 1},
    };
    int ok = 1;
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0] && ok; c++)
        for (size_t si = 0; si < NSIZES && ok; si++) {
            const size_t n = sizes[si];
            fbuf g = {0}, w0 = {0}, v0 = {0}, wr = {0}, wk = {0}, vr = {0}, vk = {0};
            int have = fb_alloc(&g, n, 1);
            have = have && fb_alloc(&w0, n, 2) && fb_alloc(&v0, n, 3);
            have = have && fb_alloc(&wr, n, 2) && fb_alloc(&wk, n, 2);
            have = have && fb_alloc(&vr, n, 3) && fb_alloc(&vk, n, 3);
            if (!have) {
                ok = oom(msg, cap);
            } else {
                fill(g.p, n, 500 + n, 1.0f, 1);
                fill(w0.p, n, 600 + n, 1.0f, 0);
                fill(v0.p, n, 700 + n, 0.5f, 0);
                fb_copy(&wr, &w0);
                fb_copy(&wk, &w0);
                fb_copy(&vr, &v0);
                fb_copy(&vk, &v0);
                float ar[3] = {0}, ak[3] = {0};
                ref->sgd(n, wr.p, g.p, vr.p, &cfg[c], ar);
                kt->sgd(n, wk.p, g.p, vk.p, &cfg[c], ak);
                char what[64];
                snprintf(what, sizeof what, "config %zu n=%zu", c, n);
                ok = cmp_fb(&wr, &wk, "w", what, msg, cap) && cmp_fb(&vr, &vk, "v", what, msg, cap);
                if (ok && memcmp(ar, ak, sizeof ar) != 0)
                    ok = not_passed(msg, cap, "%s: stored magnitudes %a %a, the reference %a %a",
                                    what, (double)ak[0], (double)ak[1], (double)ar[0],
                                    (double)ar[1]);
            }
            fb_free(&g);
            fb_free(&w0);
            fb_free(&v0);
            fb_free(&wr);
            fb_free(&wk);
            fb_free(&vr);
            fb_free(&vk);
        }
    return ok;
}

static int check_adam(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    /* step 3 of betas (0.9, 0.999): step_size = lr / (1 - 0.9^3),
     * inv_sqrt_bc2 = 1 / sqrt(1 - 0.999^3) */
    const float ss = 1e-3f / (1.0f - 0.729f), ib = 1.0f / sqrtf(1.0f - 0.997003f);
    const opt_step cfg[] = {
        {.lr = 1e-3f,
         .beta1 = 0.9f,
         .beta2 = 0.999f,
         .eps = 1e-8f,
         .step_size = ss,
         .inv_sqrt_bc2 = ib},
        {.lr = 1e-3f,
         .beta1 = 0.9f,
         .beta2 = 0.999f,
         .eps = 1e-8f,
         .step_size = ss,
         .inv_sqrt_bc2 = ib,
         .weight_decay = 0.01f},
        {.lr = 1e-3f,
         .beta1 = 0.9f,
         .beta2 = 0.999f,
         .eps = 1e-8f,
         .step_size = ss,
         .inv_sqrt_bc2 = ib,
         .weight_decay = 0.01f,
         .decoupled = 1},
    };
    int ok = 1;
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0] && ok; c++)
        for (size_t si = 0; si < NSIZES && ok; si++) {
            const size_t n = sizes[si];
            fbuf g = {0}, w0 = {0}, m0 = {0}, v0 = {0}, wr = {0}, wk = {0}, mr = {0}, mk = {0},
                 vr = {0}, vk = {0};
            int have = fb_alloc(&g, n, 1) && fb_alloc(&w0, n, 2) && fb_alloc(&m0, n, 3) &&
                       fb_alloc(&v0, n, 1);
            have = have && fb_alloc(&wr, n, 2) && fb_alloc(&wk, n, 2) && fb_alloc(&mr, n, 3) &&
                   fb_alloc(&mk, n, 3) && fb_alloc(&vr, n, 1) && fb_alloc(&vk, n, 1);
            if (!have) {
                ok = oom(msg, cap);
            } else {
                fill(g.p, n, 800 + n, 1.0f, 1);
                fill(w0.p, n, 900 + n, 1.0f, 0);
                fill(m0.p, n, 1000 + n, 0.1f, 0);
                fill(v0.p, n, 1100 + n, 0.01f, 0);
                for (size_t i = 0; i < n; i++) v0.p[i] = fabsf(v0.p[i]); /* second moment >= 0 */
                fb_copy(&wr, &w0);
                fb_copy(&wk, &w0);
                fb_copy(&mr, &m0);
                fb_copy(&mk, &m0);
                fb_copy(&vr, &v0);
                fb_copy(&vk, &v0);
                float ar[3] = {0}, ak[3] = {0};
                ref->adam(n, wr.p, g.p, mr.p, vr.p, &cfg[c], ar);
                kt->adam(n, wk.p, g.p, mk.p, vk.p, &cfg[c], ak);
                char what[64];
                snprintf(what, sizeof what, "config %zu n=%zu", c, n);
                ok = cmp_fb(&wr, &wk, "w", what, msg, cap) &&
                     cmp_fb(&mr, &mk, "m", what, msg, cap) && cmp_fb(&vr, &vk, "v", what, msg, cap);
                if (ok && memcmp(ar, ak, sizeof ar) != 0)
                    ok = not_passed(msg, cap, "%s: stored magnitudes %a %a %a, the reference %a %a %a",
                                    what, (double)ak[0], (double)ak[1], (double)ak[2],
                                    (double)ar[0], (double)ar[1], (double)ar[2]);
            }
            fb_free(&g);
            fb_free(&w0);
            fb_free(&m0);
            fb_free(&v0);
            fb_free(&wr);
            fb_free(&wk);
            fb_free(&mr);
            fb_free(&mk);
            fb_free(&vr);
            fb_free(&vk);
        }
    return ok;
}

/* ---- reductions and BLAS-1 ------------------------------------------------------ */

static const size_t long_sizes[] = {0,  1,  2,  15,  16,  17,  31,   33,  47,
                                    63, 64, 65, 100, 127, 257, 1000, 4099};

static int check_sum_dot(int dot, const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    int ok = 1;
    for (size_t si = 0; si < sizeof long_sizes / sizeof long_sizes[0] && ok; si++)
        for (int special = 0; special < 2 && ok; special++) {
            const size_t n = long_sizes[si];
            fbuf x = {0}, y = {0};
            if (!fb_alloc(&x, n, 1)) return oom(msg, cap);
            if (!fb_alloc(&y, n, 2)) {
                fb_free(&x);
                return oom(msg, cap);
            }
            fill(x.p, n, 1200 + n, 1.0f, special);
            fill(y.p, n, 1300 + n, 1.0f, 0);
            float r = dot ? ref->dot(n, x.p, y.p) : ref->sum(n, x.p);
            float k = dot ? kt->dot(n, x.p, y.p) : kt->sum(n, x.p);
            char what[64];
            snprintf(what, sizeof what, "n=%zu%s", n, special ? " with special values" : "");
            ok = cmp_float(r, k, what, msg, cap);
            fb_free(&x);
            fb_free(&y);
        }
    return ok;
}

static int check_sum(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    return check_sum_dot(0, ref, kt, msg, cap);
}
static int check_dot(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    return check_sum_dot(1, ref, kt, msg, cap);
}

/* maxabs: with special values (NaN, Inf) in about a fifth of the elements,
 * and without; exact, so compared bit for bit like everything here. */
static int check_maxabs(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    int ok = 1;
    for (size_t si = 0; si < sizeof long_sizes / sizeof long_sizes[0] && ok; si++)
        for (int special = 0; special < 2 && ok; special++) {
            const size_t n = long_sizes[si];
            fbuf x = {0};
            if (!fb_alloc(&x, n, 3)) return oom(msg, cap);
            fill(x.p, n, 1400 + n, 3.0f, special);
            char what[64];
            snprintf(what, sizeof what, "n=%zu%s", n, special ? " with special values" : "");
            ok = cmp_float(ref->maxabs(n, x.p), kt->maxabs(n, x.p), what, msg, cap);
            fb_free(&x);
        }
    return ok;
}

static int check_colsum(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    static const size_t rows_list[] = {0, 1, 2, 17, 33};
    int ok = 1;
    for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0] && ok; ri++)
        for (size_t si = 0; si < NSIZES && ok; si++)
            for (int acc = 0; acc < 2 && ok; acc++) {
                const size_t rows = rows_list[ri], cols = sizes[si], ldx = cols + 5;
                fbuf x = {0}, y0 = {0}, yr = {0}, yk = {0};
                int have = fb_alloc(&x, rows * ldx, 1) && fb_alloc(&y0, cols, 2) &&
                           fb_alloc(&yr, cols, 2) && fb_alloc(&yk, cols, 2);
                if (!have) {
                    ok = oom(msg, cap);
                } else {
                    fill(x.p, x.n, 1400 + cols + rows, 1.0f, rows == 2);
                    if (acc)
                        fill(y0.p, cols, 1500 + cols, 1.0f, 0);
                    else
                        fill_value(y0.p, cols, NAN); /* not read */
                    fb_copy(&yr, &y0);
                    fb_copy(&yk, &y0);
                    ref->colsum(rows, cols, x.p, ldx, yr.p, acc);
                    kt->colsum(rows, cols, x.p, ldx, yk.p, acc);
                    char what[80];
                    snprintf(what, sizeof what, "rows=%zu cols=%zu accumulate=%d", rows, cols, acc);
                    ok = cmp_fb(&yr, &yk, "y", what, msg, cap);
                }
                fb_free(&x);
                fb_free(&y0);
                fb_free(&yr);
                fb_free(&yk);
            }
    return ok;
}

static int check_axpby(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    static const float ab[][2] = {{1, 0}, {2, 0}, {1, 1}, {-0.5f, 0.25f}};
    int ok = 1;
    for (size_t si = 0; si < NSIZES && ok; si++)
        for (size_t q = 0; q < sizeof ab / sizeof ab[0] && ok; q++) {
            const size_t n = sizes[si];
            const float alpha = ab[q][0], beta = ab[q][1];
            fbuf x = {0}, y0 = {0}, yr = {0}, yk = {0};
            int have = fb_alloc(&x, n, 1) && fb_alloc(&y0, n, 2) && fb_alloc(&yr, n, 2) &&
                       fb_alloc(&yk, n, 2);
            if (!have) {
                ok = oom(msg, cap);
            } else {
                fill(x.p, n, 1600 + n, 1.0f, 1);
                if (beta == 0.0f)
                    fill_value(y0.p, n, NAN); /* not read */
                else
                    fill(y0.p, n, 1700 + n, 1.0f, 0);
                fb_copy(&yr, &y0);
                fb_copy(&yk, &y0);
                ref->axpby(n, alpha, x.p, beta, yr.p);
                kt->axpby(n, alpha, x.p, beta, yk.p);
                char what[80];
                snprintf(what, sizeof what, "n=%zu alpha=%g beta=%g", n, (double)alpha,
                         (double)beta);
                ok = cmp_fb(&yr, &yk, "y", what, msg, cap);
            }
            fb_free(&x);
            fb_free(&y0);
            fb_free(&yr);
            fb_free(&yk);
        }
    return ok;
}

static int check_bias_add(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    static const size_t rows_list[] = {0, 1, 3, 17};
    int ok = 1;
    for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0] && ok; ri++)
        for (size_t si = 0; si < NSIZES && ok; si++) {
            const size_t rows = rows_list[ri], cols = sizes[si], ldy = cols + 3;
            fbuf b = {0}, y0 = {0}, yr = {0}, yk = {0};
            int have = fb_alloc(&b, cols, 1) && fb_alloc(&y0, rows * ldy, 2) &&
                       fb_alloc(&yr, rows * ldy, 2) && fb_alloc(&yk, rows * ldy, 2);
            if (!have) {
                ok = oom(msg, cap);
            } else {
                fill(b.p, cols, 1800 + cols, 1.0f, 1);
                fill(y0.p, y0.n, 1900 + cols + rows, 1.0f, 0);
                fb_copy(&yr, &y0);
                fb_copy(&yk, &y0);
                ref->bias_add(rows, cols, yr.p, ldy, b.p);
                kt->bias_add(rows, cols, yk.p, ldy, b.p);
                char what[64];
                snprintf(what, sizeof what, "rows=%zu cols=%zu", rows, cols);
                ok = cmp_fb(&yr, &yk, "y", what, msg, cap);
            }
            fb_free(&b);
            fb_free(&y0);
            fb_free(&yr);
            fb_free(&yk);
        }
    return ok;
}

/* ---- the list ------------------------------------------------------------------ */

typedef int (*check_fn)(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap);

static const struct {
    const char *name;
    check_fn fn;
} checks[] = {
    {"gemm_ukr", check_gemm_ukr},
    {"gemm_ukr_strided", check_gemm_ukr_strided},
    {"gemm_ukr_bias_act", check_gemm_ukr_bias_act},
    {"gemm_pack_t", check_gemm_pack_t},
    {"gemm_chain", check_gemm_chain},
    {"gemv_n", check_gemv_n},
    {"gemv_t", check_gemv_t},
    {"gemv_packed", check_gemv_packed},
#define ACT_FWD_ENTRY(E, name) {"act_fwd." #name, check_fwd_##name},
#define ACT_BWD_ENTRY(E, name) {"act_bwd." #name, check_bwd_##name},
#define BIAS_ACT_ENTRY(E, name) {"bias_act." #name, check_bias_##name},
    NERVE_ACT_LIST(ACT_FWD_ENTRY) NERVE_ACT_LIST(ACT_BWD_ENTRY) NERVE_ACT_LIST(BIAS_ACT_ENTRY)
#undef ACT_FWD_ENTRY
#undef ACT_BWD_ENTRY
#undef BIAS_ACT_ENTRY
    {"softmax", check_softmax},
#define LOSS_ENTRY(E, name, targets, mean, gscale) {"loss_" #name, check_loss_##name},
    NERVE_LOSS_LIST(LOSS_ENTRY)
#undef LOSS_ENTRY
    {"sgd", check_sgd},
    {"adam", check_adam},
    {"sum", check_sum},
    {"dot", check_dot},
    {"maxabs", check_maxabs},
    {"colsum", check_colsum},
    {"axpby", check_axpby},
    {"bias_add", check_bias_add},
    {"bf16_cvt", selftest_check_bf16_cvt},
    {"gemm_bf16_ukr", selftest_check_gemm_bf16_ukr},
    {"gemm_bf16_chain", selftest_check_gemm_bf16_chain},
};

size_t selftest_count(void) { return sizeof checks / sizeof checks[0]; }

const char *selftest_name(size_t i) { return i < selftest_count() ? checks[i].name : NULL; }

bool selftest_run(size_t i, const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    if (cap > 0) msg[0] = '\0';
    if (i >= selftest_count())
        return not_passed(msg, cap, "no self-test %zu (there are %zu)", i, selftest_count());
    if (!ref || !kt) return not_passed(msg, cap, "%s: missing kernel table", checks[i].name);
    return checks[i].fn(ref, kt, msg, cap) != 0;
}

/* ---- the public API (include/nerve/selftest.h) ------------------------------- */

size_t nerve_selftest_count(void) { return selftest_count(); }

const char *nerve_selftest_name(size_t check) { return selftest_name(check); }

nerve_status nerve_selftest_run(size_t check, nerve_isa isa, bool *passed, char *msg, size_t cap) {
    static const char fn[] = "nerve_selftest_run";
    if (cap > 0 && msg) msg[0] = '\0';
    if (!passed) return error_set(NERVE_EINVAL, "%s: passed must not be NULL", fn);
    *passed = false;
    if (cap > 0 && !msg) return error_set(NERVE_EINVAL, "%s: msg is NULL but cap is %zu", fn, cap);
    if (check >= selftest_count())
        return error_set(NERVE_EINVAL, "%s: no check %zu (there are %zu)", fn, check,
                         selftest_count());
    if ((unsigned)isa >= NERVE_ISA_COUNT)
        return error_set(NERVE_EINVAL, "%s: %d is not a nerve_isa", fn, (int)isa);
    const kernel_table *ref = kernels_for(NERVE_ISA_SCALAR), *kt = kernels_for(isa);
    if (!kt)
        return error_set(NERVE_EUNSUPPORTED, "%s: the %s table is %s", fn, nerve_isa_name(isa),
                         nerve_isa_built(isa) ? "not supported by this CPU/OS"
                                              : "not built into this library");
    char why[512];
    const bool ok = selftest_run(check, ref, kt, why, sizeof why);
    if (!ok && !strcmp(why, "out of memory")) /* not a verdict on the table */
        return error_set(NERVE_ENOMEM, "%s: %s: out of memory", fn, checks[check].name);
    if (cap > 0) snprintf(msg, cap, "%s", why);
    if (!ok) return NERVE_OK;
    *passed = true;
    return NERVE_OK;
}
