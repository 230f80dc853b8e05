/* GEMM panel packing (layout: gemm_pack.h). Three cases by stride:
 *   xs == 1: the W lanes of one k step are contiguous in the source (A
 *            transposed, B not transposed): one short copy per k step;
 *   ps == 1: each lane is a contiguous run over k (A not transposed, B
 *            transposed): a transpose, done in 4 x 4 blocks with SSE
 *            shuffles on x86-64 (SSE2 is baseline there, so no ISA flag is
 *            needed) and element by element elsewhere;
 *   other strides: element by element. */
#include "gemm_pack.h"

#include <string.h>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

/* Both packs walk k in chunks of PACK_CHUNK steps, and within a chunk over all
 * lanes (docs/performance.md, "Aliased A, the input packed once, chunked packs"):
 *   transposing: each chunk reads one 64-byte line of every source row (the
 *     rows are far apart, one stream each) and writes a contiguous
 *     PACK_CHUNK x w block of the panel. Lane by lane over the whole depth
 *     (the previous order) wrote every panel row in 16-byte pieces,
 *     revisiting the whole 32 KiB panel once per 4 lanes; chunked packs a
 *     1024-wide W^T 1.39x faster (pack/transpose_w32_1024). 16 floats = one
 *     cache line; chunks of 8 and 64 measured slower, 32 the same. A
 *     software prefetch of the next lines (the old order had one) only
 *     slowed the chunked order down.
 *   copy (xs == 1): each chunk reads PACK_CHUNK source rows (a few KiB, kept
 *     in L1) and writes a PACK_CHUNK x w run of every panel. Row by row (one
 *     w-float piece into every panel per row: 40 write streams for an A
 *     block of 480 rows) was 1.58x slower for w = 12 (pack/copy_w12_480);
 *     chunks of 8-64 rows measured equal. */
#define PACK_CHUNK 16

static void zero_tail(float *dst, size_t width, size_t kc, size_t w) {
    if (width == w) return;
    for (size_t p = 0; p < kc; p++) memset(dst + p * w + width, 0, (w - width) * sizeof(float));
}

#if defined(__SSE2__)
/* Lanes x .. x+3 (source rows s, s + xs, ...), k steps [p0, p0 + len), len a
 * multiple of 4: one 4 x 4 transpose per 4 steps. */
static inline void transpose_4_lanes(const float *s, size_t xs, size_t p0, size_t len, float *d,
                                     size_t w) {
    for (size_t p = p0; p < p0 + len; p += 4) {
        __m128 r0 = _mm_loadu_ps(s + p), r1 = _mm_loadu_ps(s + xs + p);
        __m128 r2 = _mm_loadu_ps(s + 2 * xs + p), r3 = _mm_loadu_ps(s + 3 * xs + p);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        float *o = d + p * w;
        _mm_storeu_ps(o, r0);
        _mm_storeu_ps(o + w, r1);
        _mm_storeu_ps(o + 2 * w, r2);
        _mm_storeu_ps(o + 3 * w, r3);
    }
}
#endif

/* dst[p*w + x] = src[x*xs + p] for x < width, p < kc. */
static void pack_transpose(const float *src, size_t xs, size_t width, size_t kc, size_t w,
                           float *dst) {
    size_t w4 = 0, k4 = 0; /* lanes and k steps done in 4 x 4 blocks */
#if defined(__SSE2__)
    w4 = width / 4 * 4;
    k4 = kc / 4 * 4;
    size_t p0 = 0;
    for (; p0 + PACK_CHUNK <= k4; p0 += PACK_CHUNK) /* constant length: unrolled */
        for (size_t x = 0; x < w4; x += 4)
            transpose_4_lanes(src + x * xs, xs, p0, PACK_CHUNK, dst + x, w);
    if (p0 < k4)
        for (size_t x = 0; x < w4; x += 4)
            transpose_4_lanes(src + x * xs, xs, p0, k4 - p0, dst + x, w);
#endif
    for (size_t x = 0; x < w4; x++) /* the last kc % 4 steps of the blocked lanes */
        for (size_t p = k4; p < kc; p++) dst[p * w + x] = src[x * xs + p];
    for (size_t x = w4; x < width; x++)
        for (size_t p = 0; p < kc; p++) dst[p * w + x] = src[x * xs + p];
}

void gemm_pack_panel(const float *src, size_t xs, size_t ps, size_t width, size_t kc, size_t w,
                     float *dst) {
    if (xs == 1) {
        /* a plain loop: width is at most NR, too short for a memcpy call */
        for (size_t p = 0; p < kc; p++)
            for (size_t x = 0; x < width; x++) dst[p * w + x] = src[p * ps + x];
    } else if (ps == 1) {
        pack_transpose(src, xs, width, kc, w, dst);
    } else {
        for (size_t p = 0; p < kc; p++)
            for (size_t x = 0; x < width; x++) dst[p * w + x] = src[x * xs + p * ps];
    }
    zero_tail(dst, width, kc, w);
}

/* The xs == 1 case of gemm_pack_block for the full panels, lanes [0, full):
 * row p of the source goes to row p of every panel, PACK_CHUNK rows at a
 * time. Inlined with w a constant (the tables' MR and NR) the w-float copies
 * compile to a few vector moves; with w only known at run time the w = 32
 * copy measured 1.4x slower. */
static inline void copy_panels(const float *src, size_t ps, size_t full, size_t kc, size_t w,
                               float *dst) {
    for (size_t p0 = 0; p0 < kc; p0 += PACK_CHUNK) {
        const size_t p1 = p0 + PACK_CHUNK < kc ? p0 + PACK_CHUNK : kc;
        for (size_t x = 0; x < full; x += w)
            for (size_t p = p0; p < p1; p++) {
                const float *s = src + p * ps + x;
                float *d = dst + x * kc + p * w;
                for (size_t q = 0; q < w; q++) d[q] = s[q];
            }
    }
}

void gemm_pack_block(const float *src, size_t xs, size_t ps, size_t width, size_t kc, size_t w,
                     float *dst) {
    if (xs != 1) {
        for (size_t x = 0; x < width; x += w)
            gemm_pack_panel(src + x * xs, xs, ps, width - x < w ? width - x : w, kc, w,
                            dst + x * kc);
        return;
    }
    const size_t full = width / w * w;
    /* w as a constant for every MR and NR of simd/gemm_*.h */
    /* clang-format off */
#define COPY_CASE(W) case W: copy_panels(src, ps, full, kc, W, dst); break;
    switch (w) {
        COPY_CASE(4) COPY_CASE(6) COPY_CASE(8) COPY_CASE(12) COPY_CASE(16) COPY_CASE(32)
        default: copy_panels(src, ps, full, kc, w, dst); break;
    }
#undef COPY_CASE
    /* clang-format on */
    if (full < width) gemm_pack_panel(src + full, 1, ps, width - full, kc, w, dst + full * kc);
}
