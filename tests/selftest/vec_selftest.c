/* See vec_selftest.h. A NaN result of an arithmetic op matches any NaN (as
 * in src/selftest/selftest.c): which NaN comes out depends on the compiler's operand
 * order even in the scalar header. For example gcc 12 -O3 for aarch64
 * computes the reference fmaf(-a, b, c) of vf_fnma as c - a*(-b) or similar,
 * so with a = -NaN it returns -NaN where FMLS (negating a, as written)
 * returns +NaN. Everything else (masks, integers, bit moves such as
 * max/min/select/abs/neg, and where NaNs appear) must match exactly. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "vec_selftest.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vec_check.h"

static const vec_check_api *api_for(nerve_isa isa) {
    switch (isa) {
    case NERVE_ISA_SCALAR:
        return &vec_check__scalar;
#if defined(NERVE_HAVE_AVX2)
    case NERVE_ISA_AVX2:
        return &vec_check__avx2;
#endif
#if defined(NERVE_HAVE_AVX512)
    case NERVE_ISA_AVX512:
        return &vec_check__avx512;
#endif
#if defined(NERVE_HAVE_NEON)
    case NERVE_ISA_NEON:
        return &vec_check__neon;
#endif
    default:
        return NULL;
    }
}

static const uint32_t specials[] = {
    0x00000000u, 0x80000000u,              /* +0, -0 */
    0x3f800000u, 0xbf800000u,              /* +-1 */
    0x3f000000u, 0xbf000000u,              /* +-0.5: ties of vf_to_vi */
    0x3fc00000u, 0x40200000u, 0xc0200000u, /* 1.5, 2.5, -2.5 */
    0x3effffffu, 0x3f800001u,              /* 0.49999997, 1 + 2^-23 */
    0x4b000000u, 0x4b000001u,              /* 2^23, 2^23 + 1 */
    0x4effffffu, 0xcf000000u,              /* 2147483520, -2^31 (vf_to_vi ends) */
    0x00000001u, 0x80000001u,              /* +-smallest subnormal */
    0x007fffffu, 0x807fffffu,              /* +-largest subnormal */
    0x00800000u, 0x80800000u,              /* +-FLT_MIN */
    0x7f7fffffu, 0xff7fffffu,              /* +-FLT_MAX */
    0x1f800000u, 0x5f800000u,              /* 2^-64, 2^64: products under/overflow */
    0x7f800000u, 0xff800000u,              /* +-Inf */
    0x7fc00000u, 0xffc00000u, 0x7fc12345u, /* quiet NaNs */
};
#define NSPECIAL (sizeof specials / sizeof specials[0])

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int is_nan(uint32_t u) { return (u & 0x7fffffffu) > 0x7f800000u; }

/* vf_to_vi is only defined for |x| < 2^31 (and not NaN). */
static int to_vi_domain(uint32_t u) { return (u & 0x7fffffffu) < 0x4f000000u; }

static int arith(int op) {
    return op == VOP_ADD || op == VOP_SUB || op == VOP_MUL || op == VOP_DIV || op == VOP_SQRT ||
           op == VOP_FMA || op == VOP_FNMA;
}

typedef struct ctx {
    const vec_check_api *api;
    size_t bad;
    char *msg;
    size_t cap;
    const char *isa;
} ctx;

static void fail(ctx *c, const char *what, size_t lane, uint32_t got, uint32_t want,
                 const uint32_t *a, const uint32_t *b, const uint32_t *cc) {
    if (c->bad++ == 0)
        snprintf(c->msg, c->cap, "%s %s lane %zu: got %08x, scalar %08x (a %08x b %08x c %08x)",
                 c->isa, what, lane, (unsigned)got, (unsigned)want, (unsigned)a[lane],
                 (unsigned)b[lane], (unsigned)cc[lane]);
}

/* Every op on one group of 16 lanes. */
static void check_group(ctx *c, const uint32_t *a, const uint32_t *b, const uint32_t *cc) {
    uint32_t got[16], want[16];
    for (int op = 0; op < VOP_COUNT; op++) {
        const uint32_t *x = a;
        uint32_t safe[16];
        if (op == VOP_VF_TO_VI) { /* out-of-domain lanes become 0.5 */
            for (int i = 0; i < 16; i++) safe[i] = to_vi_domain(a[i]) ? a[i] : 0x3f000000u;
            x = safe;
        }
        c->api->apply(op, x, b, cc, got);
        vec_check__scalar.apply(op, x, b, cc, want);
        for (size_t i = 0; i < 16; i++) {
            if (got[i] == want[i]) continue;
            if (arith(op) && is_nan(got[i]) && is_nan(want[i])) continue;
            fail(c, vec_check_op_name((int)op), i, got[i], want[i], x, b, cc);
        }
    }
    float v[16];
    memcpy(v, a, sizeof v);
    float g = c->api->reduce_add(v), w = vec_check__scalar.reduce_add(v);
    uint32_t gb, wb;
    memcpy(&gb, &g, 4);
    memcpy(&wb, &w, 4);
    if (gb != wb && !(is_nan(gb) && is_nan(wb))) fail(c, "vf_reduce_add", 0, gb, wb, a, b, cc);
}

/* p + n ends where a PROT_NONE page begins: a lane >= n read or written
 * faults (the self-test dies, which fails the run). */
static void check_tails(ctx *c) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED || mprotect(mem + page, page, PROT_NONE) != 0) {
        if (c->bad++ == 0) snprintf(c->msg, c->cap, "tails: cannot map a guard page");
        if (mem != MAP_FAILED) munmap(mem, 2 * page);
        return;
    }
    float *end = (float *)(mem + page), v[16], out[16];
    for (int i = 0; i < 16; i++) v[i] = (float)i - 3.5f;
    for (size_t n = 0; n < 16; n++) {
        float *p = end - n;
        for (size_t i = 0; i < n; i++) p[i] = (float)(100 + i);
        c->api->load_tail(p, n, out);
        for (size_t i = 0; i < 16; i++) {
            float want = i < n ? (float)(100 + i) : 0.0f; /* +0 */
            if (memcmp(&out[i], &want, 4) != 0 && c->bad++ == 0)
                snprintf(c->msg, c->cap, "%s vf_load_tail n=%zu lane %zu: got %g want %g", c->isa,
                         n, i, (double)out[i], (double)want);
        }
        c->api->store_tail(p, v, n);
        for (size_t i = 0; i < n; i++)
            if (memcmp(&p[i], &v[i], 4) != 0 && c->bad++ == 0)
                snprintf(c->msg, c->cap, "%s vf_store_tail n=%zu lane %zu", c->isa, n, i);
    }
    munmap(mem, 2 * page);
}

size_t vec_selftest_run(nerve_isa isa, char *msg, size_t cap) {
    ctx c = {api_for(isa), 0, msg, cap, nerve_isa_name(isa)};
    if (cap) msg[0] = '\0';
    if (!c.api) {
        snprintf(msg, cap, "the vector header of %s is not built in", c.isa);
        return 1;
    }
    uint32_t a[16], b[16], cc[16];
    /* every ordered pair (a, b) of specials, c cycling through them */
    const size_t pairs = NSPECIAL * NSPECIAL;
    for (size_t q0 = 0; q0 < pairs; q0 += 16) {
        for (size_t l = 0; l < 16; l++) {
            size_t q = (q0 + l) % pairs;
            a[l] = specials[q % NSPECIAL];
            b[l] = specials[q / NSPECIAL];
            cc[l] = specials[(q * 7 + 3) % NSPECIAL];
        }
        check_group(&c, a, b, cc);
    }
    /* random bits (all exponents, NaNs included), then ordinary magnitudes
     * (exponents 2^-8 .. 2^8) where fma and the tree round non-trivially */
    uint64_t s = 0x5eedu;
    for (int r = 0; r < 256; r++) {
        for (size_t l = 0; l < 16; l++) {
            uint32_t *dst[3] = {a, b, cc};
            for (int v = 0; v < 3; v++) {
                uint32_t u = (uint32_t)(splitmix64(&s) >> 32);
                if (r & 1) u = (u & 0x807fffffu) | ((119u + (u >> 23) % 17u) << 23);
                dst[v][l] = u;
            }
        }
        check_group(&c, a, b, cc);
    }
    check_tails(&c);
    return c.bad;
}
