/* The self-test's bf16 checks (selftest_bf16.h): every table's bf16
 * kernels against the exact reference of simd/bf16.h, bit for bit, NaN
 * payloads included (the reference fixes them, and the emulation and
 * vdpbf16ps both follow it).
 *
 * Inputs are deterministic (splitmix64) pair words drawn from three
 * mixtures: ordinary magnitudes; tiny ones near 2^-126, where the flush to
 * zero and its boundary (simd/bf16.h) decide the result; and specials
 * (signed zeros, bf16 denormals, infinities, quiet and signalling NaNs with
 * distinct payloads). Buffers carry guard words on both sides and are
 * offset from 64-byte alignment; outputs that must not be read hold NaN. */
#include "selftest_bf16.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "check_msg.h"
#include "error.h"
#include "gemm_bf16.h"
#include "rng.h"

#define GUARD      8
#define GUARD_WORD 0xdeadbeefu


/* ---- inputs ---------------------------------------------------------------- */

/* One bf16 (16 bits). mix 0: mostly |x| in [2^-8, 2^8), 1 in 8 special;
 * mix 1: exponents near the bottom of the range (products and sums around
 * 2^-126), 1 in 8 special; mix 2: plain values only. */
static uint32_t rand_bf16(uint64_t *s, int mix) {
    const uint64_t r = rng_splitmix64(s);
    const uint32_t sign = (uint32_t)(r & 1) << 15, man = (uint32_t)(r >> 8) & 0x7f;
    if (mix != 2 && (r >> 20) % 8 == 0) {
        switch ((r >> 24) % 8) {
        case 0:
            return sign; /* +-0 */
        case 1:
            return sign | (man ? man : 1); /* denormal */
        case 2:
            return sign | 0x7f80; /* +-inf */
        case 3:
            return sign | 0x7fc0 | (man & 0x3f); /* quiet NaN */
        case 4:
            return sign | 0x7f80 | ((man & 0x3f) | 1); /* signalling NaN */
        case 5:
            return sign | 0x0080; /* 2^-126 */
        case 6:
            return sign | 0x3f80; /* 1 */
        default:
            return sign | (0x7f << 7) | man; /* huge */
        }
    }
    const uint32_t e = mix == 1 ? 1 + (uint32_t)((r >> 32) % 70) : 119 + (uint32_t)((r >> 32) % 17);
    return sign | e << 7 | man;
}
static uint32_t rand_word(uint64_t *s, int mix) {
    const uint32_t lo = rand_bf16(s, mix);
    return lo | rand_bf16(s, mix) << 16;
}
/* An fp32 accumulator: mix 1 near 2^-126 (including denormals), else ordinary. */
static uint32_t rand_f32(uint64_t *s, int mix) {
    const uint64_t r = rng_splitmix64(s);
    const uint32_t sign = (uint32_t)(r & 1) << 31, man = (uint32_t)(r >> 8) & 0x7fffff;
    if (mix != 2 && (r >> 40) % 8 == 0) {
        switch ((r >> 44) % 6) {
        case 0:
            return sign;
        case 1:
            return sign | (man ? man : 1);
        case 2:
            return sign | 0x7f800000u;
        case 3:
            return sign | 0x7fc00000u | (man & 0x3fffff);
        case 4:
            return sign | 0x00800000u;
        default:
            return sign | 0x7f000000u | man;
        }
    }
    const uint32_t e = mix == 1 ? 1 + (uint32_t)((r >> 32) % 24) : 119 + (uint32_t)((r >> 32) % 17);
    return sign | e << 23 | man;
}

/* n words at p, `off` words past a 64-byte boundary, GUARD guard words on both sides. */
typedef struct wbuf {
    uint32_t *mem, *p;
    size_t n, len;
} wbuf;

static int wb_alloc(wbuf *b, size_t n, size_t off) {
    b->n = n;
    b->len = GUARD + off + n + GUARD;
    b->mem = aligned_alloc(64, (b->len * 4 + 63) / 64 * 64);
    if (!b->mem) return 0;
    for (size_t i = 0; i < b->len; i++) b->mem[i] = GUARD_WORD;
    b->p = b->mem + GUARD + off;
    return 1;
}
static void wb_free(wbuf *b) {
    free(b->mem);
    b->mem = b->p = NULL;
}

/* ---- conversions ------------------------------------------------------------ */

static const size_t cvt_sizes[] = {0, 1, 2, 3, 15, 16, 17, 31, 32, 33, 64, 100};
#define NCVT (sizeof cvt_sizes / sizeof cvt_sizes[0])

/* fp32 inputs for the conversions: every class of bf16_round, ties included. */
static uint32_t rand_cvt_input(uint64_t *s) {
    const uint64_t r = rng_splitmix64(s);
    const uint32_t x = (uint32_t)(r >> 16);
    switch (r % 8) {
    case 0:
        return (x & 0x807fffffu); /* zero or denormal */
    case 1:
        return (x & 0x80000000u) | 0x7f800000u | (x & 0x7fffffu); /* inf or NaN */
    case 2:
        return (x & 0xffff0000u) | 0x8000u; /* an exact tie */
    case 3:
        return (x & 0xffff0000u) | 0x7fffu; /* just below a tie */
    case 4:
        return (x & 0x80000000u) | 0x7f7f8000u | (x & 0x7fffu); /* rounds to infinity? */
    default:
        return x;
    }
}

static int check_cvt_table(const kernel_table *kt, char *msg, size_t cap) {
    uint64_t s = 0x5eed0000u;
    for (size_t ri = 0; ri < NCVT; ri++)
        for (size_t ci = 0; ci < NCVT; ci++) {
            const size_t rows = cvt_sizes[ri], cols = cvt_sizes[ci], ldx = cols + 3;
            const size_t wr = (cols + 1) / 2, wc = (rows + 1) / 2;
            const size_t ldr = wr + 1, ldc = cols + 2;
            wbuf x = {0}, yr = {0}, yc = {0};
            if (!wb_alloc(&x, rows * ldx, 1) || !wb_alloc(&yr, rows * ldr, 2) ||
                !wb_alloc(&yc, wc * ldc, 3)) {
                wb_free(&x);
                wb_free(&yr);
                wb_free(&yc);
                return oom(msg, cap);
            }
            for (size_t i = 0; i < x.n; i++) x.p[i] = rand_cvt_input(&s);
            float *xf = (float *)(void *)x.p;
            kt->bf16_cvt_rows(rows, cols, xf, ldx, yr.p, ldr);
            kt->bf16_cvt_cols(rows, cols, xf, ldx, yc.p, ldc);
            int ok = 1;
/* element (i, j) of x, +0 past the matrix */
#define XR(i, j) ((i) < rows && (j) < cols ? bf16_round(x.p[(i)*ldx + (j)]) : 0u)
            for (size_t e = 0; e < yr.len && ok; e++) {
                const long off = (long)e - (long)(yr.p - yr.mem);
                uint32_t want = GUARD_WORD;
                if (off >= 0 && (size_t)off < yr.n && (size_t)off % ldr < wr) {
                    const size_t i = (size_t)off / ldr, q = (size_t)off % ldr;
                    want = XR(i, 2 * q) | (uint32_t)XR(i, 2 * q + 1) << 16;
                }
                if (yr.mem[e] != want)
                    ok = not_passed(msg, cap,
                              "%s bf16_cvt_rows rows=%zu cols=%zu: word %ld is %08x, "
                              "want %08x",
                              kt->name, rows, cols, off, (unsigned)yr.mem[e], (unsigned)want);
            }
            for (size_t e = 0; e < yc.len && ok; e++) {
                const long off = (long)e - (long)(yc.p - yc.mem);
                uint32_t want = GUARD_WORD;
                if (off >= 0 && (size_t)off < yc.n && (size_t)off % ldc < cols) {
                    const size_t q = (size_t)off / ldc, j = (size_t)off % ldc;
                    want = XR(2 * q, j) | (uint32_t)XR(2 * q + 1, j) << 16;
                }
                if (yc.mem[e] != want)
                    ok = not_passed(msg, cap,
                              "%s bf16_cvt_cols rows=%zu cols=%zu: word %ld is %08x, "
                              "want %08x",
                              kt->name, rows, cols, off, (unsigned)yc.mem[e], (unsigned)want);
            }
#undef XR
            wb_free(&x);
            wb_free(&yr);
            wb_free(&yc);
            if (!ok) return 0;
        }
    return 1;
}

/* ---- the micro-kernel ------------------------------------------------------- */

static const size_t ukr_kqs[] = {0, 1, 2, 3, 8, 17, 64};
#define NKQ (sizeof ukr_kqs / sizeof ukr_kqs[0])

/* The reference chain of every element of the full mr x nr tile. */
static void ukr_want(size_t kq, size_t mr, size_t nr, const uint32_t *a, size_t a_rs, size_t a_cs,
                     const uint32_t *b, size_t ldb, const uint32_t *c0, size_t ldc, int acc,
                     uint32_t *want) {
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nr; j++) {
            uint32_t s = acc ? c0[i * ldc + j] : 0u;
            for (size_t q = 0; q < kq; q++)
                s = bf16_dp_ref(s, b[q * ldb + j], a[i * a_rs + q * a_cs]);
            want[i * nr + j] = s;
        }
}

/* Every m <= mr, n <= nr and both accumulate modes of one operand set. */
static int ukr_edges(const kernel_table *kt, size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs,
                     const uint32_t *b, size_t ldb, int mix, const char *layout, char *msg,
                     size_t cap) {
    const size_t mr = kt->bf16_mr, nr = kt->bf16_nr, ldc = nr + 3;
    wbuf c = {0}, c0 = {0};
    uint32_t *want = malloc(mr * nr * sizeof *want);
    if (!want || !wb_alloc(&c, mr * ldc, 1) || !wb_alloc(&c0, mr * ldc, 1)) {
        free(want);
        wb_free(&c);
        wb_free(&c0);
        return oom(msg, cap);
    }
    uint64_t s = 0xc0ffee00u + kq * 7 + (uint64_t)mix;
    int ok = 1;
    for (int acc = 0; acc < 2 && ok; acc++) {
        for (size_t i = 0; i < c0.n; i++) c0.p[i] = acc ? rand_f32(&s, mix) : 0x7fc00bad;
        ukr_want(kq, mr, nr, a, a_rs, a_cs, b, ldb, c0.p, ldc, acc, want);
        for (size_t m = 0; m <= mr && ok; m++)
            for (size_t n = 0; n <= nr && ok; n++) {
                memcpy(c.mem, c0.mem, c.len * sizeof *c.mem);
                kt->gemm_bf16_ukr(kq, a, a_rs, a_cs, b, ldb, (float *)(void *)c.p, ldc, m, n, acc);
                for (size_t e = 0; e < c.len && ok; e++) {
                    const long off = (long)e - (long)(c.p - c.mem);
                    const size_t r = off >= 0 ? (size_t)off / ldc : 0,
                                 col = off >= 0 ? (size_t)off % ldc : 0;
                    const int inside = off >= 0 && (size_t)off < c.n && r < m && col < n;
                    const uint32_t w = inside ? want[r * nr + col] : c0.mem[e];
                    if (c.mem[e] != w)
                        ok = not_passed(msg, cap,
                                  "%s (%s) %s kq=%zu m=%zu n=%zu accumulate=%d: C[%ld] = %08x, "
                                  "want %08x%s",
                                  kt->name, kt->bf16_impl, layout, kq, m, n, acc, off,
                                  (unsigned)c.mem[e], (unsigned)w,
                                  inside ? "" : " (outside the tile)");
                }
            }
    }
    free(want);
    wb_free(&c);
    wb_free(&c0);
    return ok;
}

static int check_ukr_table(const kernel_table *kt, char *msg, size_t cap) {
    int ok = 1;
    for (size_t ki = 0; ki < NKQ && ok; ki++)
        for (int mix = 0; mix < 2 && ok; mix++)
            for (int layout = 0; layout < 3 && ok; layout++) {
                /* 0: packed panels; 1: row-major A and B with odd strides;
                 * 2: column-major A (a_rs = 1) */
                const size_t kq = ukr_kqs[ki], mr = kt->bf16_mr, nr = kt->bf16_nr;
                const size_t a_rs = layout == 0 ? 1 : layout == 1 ? kq + 3 : 1;
                const size_t a_cs = layout == 0 ? mr : layout == 1 ? 1 : mr + 2;
                const size_t ldb = layout == 0 ? nr : nr + 5;
                const size_t alen = layout == 1 ? mr * (kq + 3) : (mr + 2) * (kq + 1);
                wbuf a = {0}, b = {0};
                if (!wb_alloc(&a, alen, layout == 0 ? 0 : 1) ||
                    !wb_alloc(&b, ldb * kq + nr, layout == 0 ? 0 : 3)) {
                    wb_free(&a);
                    wb_free(&b);
                    return oom(msg, cap);
                }
                uint64_t s = 0xab5eed00u + kq * 131 + (uint64_t)(mix * 3 + layout);
                for (size_t i = 0; i < a.n; i++) a.p[i] = rand_word(&s, mix);
                for (size_t i = 0; i < b.n; i++) b.p[i] = rand_word(&s, mix);
                static const char *const names[] = {"packed", "row-major A", "column-major A"};
                ok = ukr_edges(kt, kq, a.p, a_rs, a_cs, b.p, ldb, mix, names[layout], msg, cap);
                wb_free(&a);
                wb_free(&b);
            }
    return ok;
}

/* kt's kernels, and when kt carries native ones also the emulated table of
 * its ISA, which the native table replaced in kernels_for. */
static int with_emulated(const kernel_table *kt, int (*fn)(const kernel_table *, char *, size_t), char *msg,
                         size_t cap) {
    if (!fn(kt, msg, cap)) return 0;
    const kernel_table *em = kernels_emulated(kt->isa);
    if (em && em != kt && em->gemm_bf16_ukr != kt->gemm_bf16_ukr) return fn(em, msg, cap);
    return 1;
}

int selftest_check_bf16_cvt(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    (void)ref;
    return with_emulated(kt, check_cvt_table, msg, cap);
}

int selftest_check_gemm_bf16_ukr(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    (void)ref;
    return with_emulated(kt, check_ukr_table, msg, cap);
}

/* ---- the driver --------------------------------------------------------------- */

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

int selftest_check_gemm_bf16_chain(const kernel_table *ref, const kernel_table *kt, char *msg, size_t cap) {
    const size_t kc = max_sz(ref->bf16_kc, kt->bf16_kc), mc = max_sz(ref->bf16_mc, kt->bf16_mc),
                 nc = max_sz(ref->bf16_nc, kt->bf16_nc);
    const size_t shapes[][3] = {
        {1, 1, 1},       {2, 3, 4},
        {15, 17, 16},    {17, 33, 31},
        {33, 64, 100},   {kt->bf16_mr + 1, kt->bf16_nr + 1, kc + 17}, /* crosses a K block */
        {mc + 5, 20, 9}, {3, nc + 7, 5},                              /* M and N blocks */
    };
    const size_t wsw = max_sz(gemm_bf16_workspace_words(ref, 1), gemm_bf16_workspace_words(kt, 2));
    uint32_t *ws = aligned_alloc(64, (wsw * 4 + 63) / 64 * 64);
    if (!ws) return oom(msg, cap);
    int ok = 1;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0] && ok; si++)
        for (int ta = 0; ta < 2 && ok; ta++)
            for (int tb = 0; tb < 2 && ok; tb++) {
                const size_t m = shapes[si][0], n = shapes[si][1], kq = shapes[si][2];
                const size_t lda = (ta ? m : kq) + 3, ldb = (tb ? kq : n) + 1, ldc = n + 3;
                wbuf a = {0}, b = {0}, c0 = {0}, cr = {0}, ck = {0};
                int have = wb_alloc(&a, (ta ? kq : m) * lda, 1) &&
                           wb_alloc(&b, (tb ? n : kq) * ldb, 2) && wb_alloc(&c0, m * ldc, 3) &&
                           wb_alloc(&cr, m * ldc, 3) && wb_alloc(&ck, m * ldc, 3);
                if (!have) {
                    ok = oom(msg, cap);
                } else {
                    uint64_t s = 0xd21e0000u + si * 4 + (uint64_t)(ta * 2 + tb);
                    for (size_t i = 0; i < a.n; i++) a.p[i] = rand_word(&s, 2);
                    for (size_t i = 0; i < b.n; i++) b.p[i] = rand_word(&s, 2);
                    for (int acc = 0; acc < 2 && ok; acc++) {
                        for (size_t i = 0; i < c0.n; i++)
                            c0.p[i] = acc ? rand_f32(&s, 2) : 0x7fc00bad;
                        gemm_bf16_args g = {
                            .m = m,
                            .n = n,
                            .kq = kq,
                            .a = a.p,
                            .a_rs = ta ? 1 : lda,
                            .a_cs = ta ? lda : 1,
                            .b = b.p,
                            .b_rs = tb ? 1 : ldb,
                            .b_cs = tb ? ldb : 1,
                            .ldc = ldc,
                            .accumulate = acc,
                        };
                        memcpy(cr.mem, c0.mem, cr.len * 4);
                        g.c = (float *)(void *)cr.p;
                        gemm_bf16_chain(ref, &g, NULL, ws, 1);
                        for (int nt = 1; nt <= 2 && ok; nt++) {
                            memcpy(ck.mem, c0.mem, ck.len * 4);
                            g.c = (float *)(void *)ck.p;
                            gemm_bf16_chain(kt, &g, NULL, ws, nt);
                            for (size_t e = 0; e < ck.len && ok; e++)
                                if (ck.mem[e] != cr.mem[e])
                                    ok = not_passed(msg, cap,
                                              "m=%zu n=%zu kq=%zu ta=%d tb=%d accumulate=%d "
                                              "threads=%d: C word %ld is %08x, reference %08x",
                                              m, n, kq, ta, tb, acc, nt,
                                              (long)e - (long)(ck.p - ck.mem), (unsigned)ck.mem[e],
                                              (unsigned)cr.mem[e]);
                        }
                    }
                }
                wb_free(&a);
                wb_free(&b);
                wb_free(&c0);
                wb_free(&cr);
                wb_free(&ck);
            }
    free(ws);
    return ok;
}
