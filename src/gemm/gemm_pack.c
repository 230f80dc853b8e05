/* GEMM panel packing (layout: gemm_pack.h). Three cases by stride:
 *   xs == 1: the W lanes of one k step are contiguous in the source (A
 *            transposed, B not transposed): one short copy per k step;
 *   ps == 1: each lane is a contiguous run over k (A not transposed, B
 *            transposed): a transpose, the table's gemm_pack_t kernel
 *            (simd/generic/pack.c, or the ISA's own in simd/gemm_<isa>.c);
 *   other strides: element by element. */
#include "gemm_pack.h"

#include <string.h>

/* The copy (xs == 1) walks k in chunks of PACK_CHUNK steps across all
 * panels (docs/performance.md, "Aliased A, the input packed once, chunked
 * packs"): each chunk reads PACK_CHUNK source rows (a few KiB, kept in L1)
 * and writes a PACK_CHUNK x w run of every panel. Row by row (one w-float
 * piece into every panel per row: 40 write streams for an A block of 480
 * rows) was 1.58x slower for w = 12 (pack/copy_w12_480); chunks of 8-64 rows
 * measured equal. */
#define PACK_CHUNK 16

static void zero_tail(pack_word *dst, size_t width, size_t kc, size_t w) {
    if (width == w) return;
    for (size_t p = 0; p < kc; p++) memset(dst + p * w + width, 0, (w - width) * sizeof *dst);
}

void gemm_pack_panel(const kernel_table *kt, const pack_word *src, size_t xs, size_t ps,
                     size_t width, size_t kc, size_t w, pack_word *dst) {
    if (xs == 1) {
        /* a plain loop: width is at most NR, too short for a memcpy call */
        for (size_t p = 0; p < kc; p++)
            for (size_t x = 0; x < width; x++) dst[p * w + x] = src[p * ps + x];
    } else if (ps == 1) {
        kt->gemm_pack_t(src, xs, width, kc, w, dst);
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
static inline void copy_panels(const pack_word *src, size_t ps, size_t full, size_t kc, size_t w,
                               pack_word *dst) {
    for (size_t p0 = 0; p0 < kc; p0 += PACK_CHUNK) {
        const size_t p1 = p0 + PACK_CHUNK < kc ? p0 + PACK_CHUNK : kc;
        for (size_t x = 0; x < full; x += w)
            for (size_t p = p0; p < p1; p++) {
                const pack_word *s = src + p * ps + x;
                pack_word *d = dst + x * kc + p * w;
                for (size_t q = 0; q < w; q++) d[q] = s[q];
            }
    }
}

/* The transposing case (ps == 1) of gemm_pack_block: each panel's lanes
 * are rows of the source, read over kc steps (1 KiB of each of w rows at
 * KC 256), too short a run for the hardware prefetchers to follow. So each
 * panel is packed PACK_T_CHUNK steps at a time and after each piece the
 * same steps of the next panel's rows are prefetched (into L2: prefetcht2,
 * as into L1 the next panel would evict the one being packed), a panel
 * ahead. Measured on the AMD Zen 4 (one thread, A/B in one process):
 * packing the KC slices of a 1024 x 784 W^T (w = 32) from DRAM 1.5x
 * faster, of 348 of its rows as A panels (w = 12) 1.18x; from L3 0.93x and
 * 0.86x (the calls in pieces); training steps of 784-1024-1024-10 at batch
 * 256 1.017-1.023x (three runs), where the forward's W^T pack had been 5 %
 * of a step. Pieces of 64 and 256 steps: no better than 128. */
#define PACK_T_CHUNK 128

static void pack_t_block(const kernel_table *kt, const pack_word *src, size_t xs, size_t width,
                         size_t kc, size_t w, pack_word *dst) {
    for (size_t x = 0; x < width; x += w) {
        const size_t cur = width - x < w ? width - x : w;
        const size_t next = width - x - cur < w ? width - x - cur : w; /* the next panel's rows */
        for (size_t p0 = 0; p0 < kc; p0 += PACK_T_CHUNK) {
            const size_t len = kc - p0 < PACK_T_CHUNK ? kc - p0 : PACK_T_CHUNK;
            kt->gemm_pack_t(src + x * xs + p0, xs, cur, len, w, dst + x * kc + p0 * w);
            for (size_t r = 0; r < next; r++) /* (addresses formed only inside the source) */
                for (size_t q = 0; q < len; q += 64 / sizeof *src) /* a line at a time */
                    __builtin_prefetch(src + (x + cur + r) * xs + p0 + q, 0, 1);
        }
        zero_tail(dst + x * kc, cur, kc, w);
    }
}

void gemm_pack_block(const kernel_table *kt, const pack_word *src, size_t xs, size_t ps,
                     size_t width, size_t kc, size_t w, pack_word *dst) {
    if (xs != 1 && ps == 1) {
        pack_t_block(kt, src, xs, width, kc, w, dst);
        return;
    }
    if (xs != 1) {
        for (size_t x = 0; x < width; x += w)
            gemm_pack_panel(kt, src + x * xs, xs, ps, width - x < w ? width - x : w, kc, w,
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
    if (full < width) gemm_pack_panel(kt, src + full, 1, ps, width - full, kc, w, dst + full * kc);
}

void gemm_pack_slices(const kernel_table *kt, const pack_word *src, size_t xs, size_t ps, size_t n,
                      size_t k, size_t kc_max, size_t w, pack_word *dst) {
    const size_t npad = (n + w - 1) / w * w;
    for (size_t pc = 0; pc < k; pc += kc_max) {
        const size_t kc = k - pc < kc_max ? k - pc : kc_max;
        gemm_pack_block(kt, src + pc * ps, xs, ps, n, kc, w, dst + pc * npad);
    }
}
