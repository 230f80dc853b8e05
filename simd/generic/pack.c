/* The generic transposing panel pack (contract: gemm_pack_t_fn, table.h):
 * the reference every table starts from; an ISA whose header defines
 * GEMM_PACK_T (simd/gemm_<isa>.h) replaces it with its own.
 *
 * Each lane of the panel is a run over k in the source (rows far apart, one
 * stream each). k is walked in chunks of PACK_CHUNK steps, and within a
 * chunk over all lanes (docs/performance.md, "Aliased A, the input packed
 * once, chunked packs"): each chunk reads one 64-byte line of every source
 * row and writes a contiguous PACK_CHUNK x w block of the panel. Lane by
 * lane over the whole depth (the order before) wrote every panel row in
 * 16-byte pieces, revisiting the whole 32 KiB panel once per 4 lanes; the
 * chunked order packed a 1024-wide W^T 1.39x faster (pack/transpose_w32_1024).
 * 16 floats = one cache line; chunks of 8 and 64 measured slower, 32 the
 * same. A software prefetch of the next lines only slowed it down.
 *
 * On x86-64 the lanes go 4 at a time through a 4 x 4 transpose of SSE
 * registers (SSE2 is baseline there, so every x86 table can use it), the 2
 * of a 6-lane panel (AVX2's MR) that are left as a pair (two rows
 * interleaved); elsewhere (NEON, an odd last lane, and the kc % 4 steps
 * left) element by element. The pair made packing the A panels of a
 * 2048 x 784 or 2048 x 1024 row-major A (w = 6, KC slices, MC blocks, as the
 * driver does) 1.20-1.29x faster on the AMD Zen 3, from L2/L3 or after a
 * cache flush; whole training steps level (0.99-1.006x), where the pack
 * waits on memory (docs/performance.md, "Zen 3: the bias gradient in one
 * pass"). */
#include "generic.h"

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#define PACK_CHUNK 16 /* k steps per chunk: one cache line of a source row */

#if defined(__SSE2__)
/* Lanes x .. x+3 (source rows s, s + xs, ...), k steps [p0, p0 + len), len a
 * multiple of 4: one 4 x 4 transpose per 4 steps. */
static inline void transpose_4_lanes(const pack_word *s, size_t xs, size_t p0, size_t len,
                                     pack_word *d, size_t w) {
    for (size_t p = p0; p < p0 + len; p += 4) {
        __m128 r0 = _mm_loadu_ps(s + p), r1 = _mm_loadu_ps(s + xs + p);
        __m128 r2 = _mm_loadu_ps(s + 2 * xs + p), r3 = _mm_loadu_ps(s + 3 * xs + p);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        pack_word *o = d + p * w;
        _mm_storeu_ps(o, r0);
        _mm_storeu_ps(o + w, r1);
        _mm_storeu_ps(o + 2 * w, r2);
        _mm_storeu_ps(o + 3 * w, r3);
    }
}

/* Lanes x, x+1 (source rows s, s + xs), k steps [p0, p0 + len), len a
 * multiple of 4: the two rows interleaved (unpacklo / unpackhi), each
 * register then the lane pair of two k steps, stored 8 bytes a step. */
static inline void transpose_2_lanes(const pack_word *s, size_t xs, size_t p0, size_t len,
                                     pack_word *d, size_t w) {
    for (size_t p = p0; p < p0 + len; p += 4) {
        const __m128 r0 = _mm_loadu_ps(s + p), r1 = _mm_loadu_ps(s + xs + p);
        const __m128 lo = _mm_unpacklo_ps(r0, r1), hi = _mm_unpackhi_ps(r0, r1);
        pack_word *o = d + p * w;
        _mm_storel_pi((__m64 *)o, lo);
        _mm_storeh_pi((__m64 *)(o + w), lo);
        _mm_storel_pi((__m64 *)(o + 2 * w), hi);
        _mm_storeh_pi((__m64 *)(o + 3 * w), hi);
    }
}

/* Lanes [0, w2) over k steps [p0, p0 + len): [0, w4) in 4 x 4 blocks, then
 * the pair [w4, w2) when there is one (w2 - w4 is 0 or 2). */
static inline __attribute__((always_inline)) void transpose_lanes(const pack_word *src, size_t xs,
                                                                  size_t w4, size_t w2, size_t p0,
                                                                  size_t len, pack_word *dst,
                                                                  size_t w) {
    for (size_t x = 0; x < w4; x += 4) transpose_4_lanes(src + x * xs, xs, p0, len, dst + x, w);
    if (w2 > w4) transpose_2_lanes(src + w4 * xs, xs, p0, len, dst + w4, w);
}
#endif

void KNAME(f32_pack_t)(const pack_word *src, size_t xs, size_t width, size_t kc, size_t w,
                       pack_word *dst) {
    size_t w2 = 0, k4 = 0; /* lanes done in 4 x 4 blocks and then in pairs; their k steps */
#if defined(__SSE2__)
    const size_t w4 = width / 4 * 4;
    w2 = w4 + (width - w4) / 2 * 2;
    k4 = kc / 4 * 4;
    size_t p0 = 0;
    for (; p0 + PACK_CHUNK <= k4; p0 += PACK_CHUNK) /* constant length: unrolled */
        transpose_lanes(src, xs, w4, w2, p0, PACK_CHUNK, dst, w);
    if (p0 < k4) transpose_lanes(src, xs, w4, w2, p0, k4 - p0, dst, w);
#endif
    for (size_t x = 0; x < w2; x++) /* the last kc % 4 steps of the blocked lanes */
        for (size_t p = k4; p < kc; p++) dst[p * w + x] = src[x * xs + p];
    for (size_t x = w2; x < width; x++)
        for (size_t p = 0; p < kc; p++) dst[p * w + x] = src[x * xs + p];
}
