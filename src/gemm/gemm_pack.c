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

/* Software prefetch distance in the transposing pack: the rows it reads are
 * far apart (large stride), so each is its own short stream that the
 * hardware prefetcher picks up late; 4 cache lines ahead hides most of the
 * L3/DRAM latency. Prefetches past the end of a row are harmless hints. */
#define PREFETCH_AHEAD 64

static void zero_tail(float *dst, size_t width, size_t kc, size_t w) {
    if (width == w) return;
    for (size_t p = 0; p < kc; p++) memset(dst + p * w + width, 0, (w - width) * sizeof(float));
}

/* dst[p*w + x] = src[x*xs + p] for x < width, p < kc. */
static void pack_transpose(const float *src, size_t xs, size_t width, size_t kc, size_t w,
                           float *dst) {
    size_t x = 0;
#if defined(__SSE2__)
    for (; x + 4 <= width; x += 4) {
        const float *s0 = src + x * xs, *s1 = s0 + xs, *s2 = s1 + xs, *s3 = s2 + xs;
        size_t p = 0;
        for (; p + 4 <= kc; p += 4) {
            if (p % 16 == 0) { /* one line per row, PREFETCH_AHEAD floats ahead */
                __builtin_prefetch(s0 + p + PREFETCH_AHEAD);
                __builtin_prefetch(s1 + p + PREFETCH_AHEAD);
                __builtin_prefetch(s2 + p + PREFETCH_AHEAD);
                __builtin_prefetch(s3 + p + PREFETCH_AHEAD);
            }
            __m128 r0 = _mm_loadu_ps(s0 + p), r1 = _mm_loadu_ps(s1 + p);
            __m128 r2 = _mm_loadu_ps(s2 + p), r3 = _mm_loadu_ps(s3 + p);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(dst + (p + 0) * w + x, r0);
            _mm_storeu_ps(dst + (p + 1) * w + x, r1);
            _mm_storeu_ps(dst + (p + 2) * w + x, r2);
            _mm_storeu_ps(dst + (p + 3) * w + x, r3);
        }
        for (; p < kc; p++) {
            dst[p * w + x + 0] = s0[p];
            dst[p * w + x + 1] = s1[p];
            dst[p * w + x + 2] = s2[p];
            dst[p * w + x + 3] = s3[p];
        }
    }
#endif
    for (; x < width; x++) {
        const float *s = src + x * xs;
        for (size_t p = 0; p < kc; p++) dst[p * w + x] = s[p];
    }
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

void gemm_pack_block(const float *src, size_t xs, size_t ps, size_t width, size_t kc, size_t w,
                     float *dst) {
    if (xs != 1) {
        for (size_t x = 0; x < width; x += w)
            gemm_pack_panel(src + x * xs, xs, ps, width - x < w ? width - x : w, kc, w,
                            dst + x * kc);
        return;
    }
    const size_t full = width / w * w;
    for (size_t p = 0; p < kc; p++) {
        const float *s = src + p * ps;
        for (size_t x = 0; x < full; x += w) {
            float *d = dst + x * kc + p * w;
            for (size_t q = 0; q < w; q++) d[q] = s[x + q];
        }
    }
    if (full < width) gemm_pack_panel(src + full, 1, ps, width - full, kc, w, dst + full * kc);
}
