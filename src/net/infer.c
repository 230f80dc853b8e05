/* Inference on prepared weights (contract and layout: infer.h).
 *
 * Why packed panels: a pass of a few rows is one stream through all the
 * weights. Read from W^T in place (the GEMM's B at a row stride of `out`
 * floats, the path this replaced) each k step touches two lines a kilobyte
 * or more apart, and a partial last panel (10 outputs) was packed on every
 * call; packed once, each panel is one sequential stream read as it is.
 * Profile of the old path at batch 8 (784-256-128-10, perf, one thread):
 * 85 % in the micro-kernel at ~60 % of its peak, 12 % packing panels (the
 * partial last panels of B, and of A, every call).
 *
 * The pass, for n rows:
 *   - n <= 2: per layer, gemv_packed over the panels (outputs split between
 *     threads in whole panels; the two rows of n == 2 share every load of
 *     the weights, where the 12 x 32 micro-kernel would compute 4 rows and
 *     be bound by its fmas, not by L2), then bias and activation;
 *   - n >= 3: row blocks of up to MC rows (the table's L2 row blocking,
 *     gemm_<isa>.h; fewer when the widest input would not take its whole
 *     depth in one slice, block_rows), each taken through every layer: per
 *     layer, the whole depth in one slice (or K slices of at most KC where
 *     the input is staged: block_layer),
 *     then panels, then the block's MR-row tiles, the micro-kernel reading
 *     A (the layer's input rows) in place and the panel's KC x NR slice
 *     from L1 for every tile (src/gemm/gemm.c's loop nest, B packed once
 *     instead of per call); in the last K slice each tile's bias and
 *     activation: in the micro-kernel before its stores for identity and
 *     ReLU where the table has that form (gemm_ukr_bias_act), else
 *     bias_act right after the micro-kernel call, while the tile is in L1.
 *     The 12 x 32 AVX-512 tile needs B at ~11 bytes a cycle (2 loads per 24
 *     fmas), so small blocks run at the fma peak with the weights in L2.
 * Threads: with enough row tiles (split_rows) each thread takes its rows
 * (a share cut at the table's mr_step rows) through all the layers, never
 * waiting for the others (the ping-pong buffers hold every layer at one row
 * stride, so a thread's rows are its own memory in every layer); otherwise
 * the threads split each layer's panels, every thread doing every tile over
 * its share of the outputs, with a barrier after each layer.
 *
 * The strided micro-kernel may read all MR rows of a tile (table.h), so a
 * partial tile (the last of the pass, or of a thread's share: shares are
 * cut at the table's mr_step rows, below) is never read in place: it is
 * copied, one K slice at a time (or at its whole depth), into the thread's
 * staging area with zero rows after it, and nothing past a block's rows is
 * read or written; their results are discarded. A table without a strided
 * micro-kernel (scalar) packs every A tile into the staging area.
 * Row strides that are multiples of 2 KiB put the MR rows of a tile in the
 * same L1 sets (src/gemm/gemm.c, stride_aliases): the buffers are then padded by
 * 16 floats a row, and such an x is staged.
 *
 * Every output is one chain: fma over k = 0 .. in-1 from 0 (continued
 * across K slices through C), then + b[j], then the activation (bias_act:
 * the bits of bias_add then act_fwd): the bits of
 * fwd_run on W, for any n, tile position, thread count and ISA. */
#include "infer.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm_pack.h"
#include "omp_sync.h"
#include "split.h"

static size_t align16(size_t n) { return (n + 15) / 16 * 16; }
static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* A row stride that is a multiple of 2 KiB (512 floats) maps the rows of a
 * tile to the same L1 sets (L1D: 64 sets of 64 bytes per 4 KiB way). */
static int aliases(size_t floats) { return floats % 512 == 0; }
/* Leading dimension of a layer output of width w in the ping-pong buffers. */
static size_t buf_ld(size_t w) { return aliases(w) ? w + 16 : w; }

size_t infer_panel_stride(size_t in, size_t nr) { return align16(in * nr); }

static size_t layer_floats(size_t in, size_t out, size_t nr) {
    return (out + nr - 1) / nr * infer_panel_stride(in, nr);
}

size_t infer_packed_floats(const nerve_net *net, size_t nr) {
    size_t s = 0;
    for (size_t l = 0; l < net->n_layers; l++)
        s += layer_floats(net->sizes[l], net->sizes[l + 1], nr);
    return s;
}

static int usable(const kernel_table *kt) { return kt->mr <= INFER_MAX_MR; }

nerve_status infer_prepare(nerve_net *net, const kernel_table *kt) {
    if (!usable(kt)) return error_set(NERVE_EINVAL, "the %s table's MR is too large", kt->name);
    if (net->packed_valid && net->packed_nr == kt->nr) return NERVE_OK;
    const size_t nr = kt->nr, need = infer_packed_floats(net, nr);
    net->packed_valid = 0;
    if (need > net->packed_cap) {
        free(net->packed);
        net->packed_cap = 0;
        if (!(net->packed = aligned_alloc(64, need * sizeof(float))))
            return error_set(NERVE_ENOMEM, "out of memory for the packed weights (%zu floats)",
                             need);
        net->packed_cap = need;
    }
    float *dst = net->packed;
    for (size_t l = 0; l < net->n_layers; l++) {
        const size_t in = net->sizes[l], out = net->sizes[l + 1], ps = infer_panel_stride(in, nr);
        const float *w = net->params + net->w_off[l];
        for (size_t j = 0; j < out; j += nr, dst += ps) {
            /* panel row p = column p of W's rows j .. j+nr-1: a transposing pack */
            gemm_pack_panel(kt, w + j * in, in, 1, min_sz(nr, out - j), in, nr, dst);
            memset(dst + in * nr, 0, (ps - in * nr) * sizeof(float));
        }
    }
    net->packed_nr = nr;
    net->packed_valid = 1;
    return NERVE_OK;
}

const float *infer_weights(const nerve_net *net, const kernel_table *kt) {
    return net->packed_valid && net->packed_nr == kt->nr && usable(kt) ? net->packed : NULL;
}

/* Leading dimension of the ping-pong buffers: the widest hidden layer
 * (every layer's rows at the same stride, so the rows a thread owns are
 * the same memory in every layer), padded when it aliases. */
static size_t max_ld(const nerve_net *net) {
    size_t w = 1;
    for (size_t l = 1; l < net->n_layers; l++)
        if (net->sizes[l] > w) w = net->sizes[l];
    return buf_ld(w);
}

static size_t tiles_of(size_t rows, size_t mr) { return (rows + mr - 1) / mr; }

static size_t max_in(const nerve_net *net) {
    size_t m = 1;
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->sizes[l] > m) m = net->sizes[l];
    return m;
}

/* Floats of a block's A that one slice of the whole depth may read: the
 * table's packed A block, MC x KC (half of L2). */
static size_t whole_depth_budget(const kernel_table *kt) { return kt->mc * kt->kc; }

/* The widest input of the layers that can take their whole depth in one
 * slice (block_layer): all of them read in place, but the first when the
 * caller's x is staged (its stride aliases). */
static size_t widest_unstaged_in(const nerve_net *net) {
    size_t m = 1;
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->sizes[l] > m && (l > 0 || !aliases(net->sizes[0]))) m = net->sizes[l];
    return m;
}

/* Rows of a block: at most MC, the table's L2 row blocking (a multiple of
 * MR), and, where A is read in place (a strided micro-kernel), few enough
 * that the block's A fits the budget of the table's packed A block (MC x
 * KC floats, half of L2) at the widest input read in place, so that those
 * layers take their whole depth in one slice (block_layer); where A is
 * packed, or staged, the layer is sliced anyway and smaller blocks would
 * only stream the weights more often. Measured on the AMD Zen 4
 * (784-256-128-10, one thread, in one process, blocks alternating, 60
 * pairs): 1024 rows in blocks of 156 (MC x KC / 784) instead of 480 ran
 * 1.078x faster, 256 rows 1.029x, 32-64 rows level (one block already);
 * blocks of 120-240 rows 1.05-1.07x, 480 rows in one slice (an A block of
 * 1.5 MB, past L2) 1.04x; two threads 1.008-1.016x (docs/performance.md,
 * Inference, "Zen 4, whole-depth blocks"). */
static size_t block_rows(const nerve_net *net, const kernel_table *kt) {
    const size_t mr = kt->mr;
    size_t b = kt->mc / mr * mr;
    if (kt->gemm_ukr_strided) {
        const size_t cap = whole_depth_budget(kt) / widest_unstaged_in(net) / mr * mr;
        if (cap < b) b = cap;
    }
    return b ? b : mr;
}

/* Whether a pass of n > 2 rows on nt threads splits the rows (no barrier)
 * rather than each layer's outputs (a barrier per layer): from
 * ROW_SPLIT_TILES tiles per thread. Measured with 784-256-128-10 on 2
 * threads (infer/side_by_side, loaded 2-core machine), when a thread's
 * share was whole tiles (64 rows: 36 and 28), 64 rows split by rows ran at
 * 0.95 of oneDNN's speed, split by outputs at 0.87. With fewer tiles the
 * rows split too unevenly in whole tiles (3 tiles: 24 and 8 rows of 32;
 * at mr_step rows that is 16 and 16 on AVX-512, not re-measured). */
#define ROW_SPLIT_TILES 2
static int split_rows(size_t n, size_t mr, int nt) {
    return nt <= 1 || tiles_of(n, mr) >= (size_t)ROW_SPLIT_TILES * (size_t)nt;
}

size_t infer_buf_floats(const nerve_net *net, size_t n) {
    if (net->n_layers == 1) return 0; /* the one layer writes out */
    /* n rows on every table: a partial tile is staged, never read in place */
    return align16(n * max_ld(net));
}

/* Staging of a block of `rows` rows: one K slice of its A tiles, copied
 * (rows at a padded stride of at most KC + 16) or packed; or one tile of
 * the whole depth (a block of one tile, or a block taken in one slice with
 * only its last tile staged: block_layer). */
static size_t stage_floats(const nerve_net *net, const kernel_table *kt, size_t rows) {
    const size_t mr = kt->mr,
                 t = tiles_of(rows < block_rows(net, kt) ? rows : block_rows(net, kt), mr);
    const size_t k1 = max_in(net);
    size_t copied = t * mr * (kt->kc + 16), packed = t * align16(mr * kt->kc);
    if (copied < mr * (k1 + 16)) copied = mr * (k1 + 16);
    if (packed < align16(mr * k1)) packed = align16(mr * k1);
    return align16(copied > packed ? copied : packed);
}

size_t infer_work_floats(const nerve_net *net, const kernel_table *kt, size_t n) {
    if (kt) return stage_floats(net, kt, n);
    size_t m = 0;
    for (int i = 0; i < NERVE_ISA_COUNT; i++) {
        const kernel_table *t = kernels_for((nerve_isa)i);
        if (t && usable(t) && stage_floats(net, t, n) > m) m = stage_floats(net, t, n);
    }
    return m;
}

/* Where one layer of a row block reads and writes. */
typedef struct layer_io {
    size_t in, out;
    const float *a; /* the block's first input row */
    size_t lda;
    float *c; /* the block's first output row */
    size_t ldc;
    const float *b, *w; /* bias, packed panels */
    nerve_act act;
    int first, last;
} layer_io;

/* One layer of a row block (at most block_rows rows, whole tiles but the
 * last of the pass or of a thread's share) over the panels [q0, q1):
 * C = act(A W^T + b) in those columns. Loops: K slices of at most KC, or
 * one slice of the whole depth for a small block (nearly equal slices: the
 * chains continue across them through C, accumulate, the same bits as one
 * call), panels, tiles, so each panel's slice is read by every tile of the
 * block (from L1 when it is at most KC deep); each tile's bias and
 * activation after its last slice. */
static void block_layer(const kernel_table *kt, const layer_io *io, size_t rows, size_t q0, size_t q1,
                        float *stage) {
    const size_t mr = kt->mr, nr = kt->nr, in = io->in, ps = infer_panel_stride(in, nr);
    const size_t tiles = tiles_of(rows, mr);
    const int packed_a = kt->gemm_ukr_strided == NULL;
    /* tiles [s0, tiles) are read from the stage: all of them when A is
     * packed or is the caller's x at an aliasing stride; the last one when
     * it is partial (the rows after it are not the block's: past n, or
     * another thread's); else none */
    size_t s0 = tiles;
    if (packed_a || (io->first && aliases(io->lda)))
        s0 = 0;
    else if (rows % mr)
        s0 = tiles - 1;
    /* The whole depth in one slice when the block's A fits the budget of
     * the table's packed A block (MC x KC floats, half of L2) and at most
     * one tile is staged (the stage holds one tile of any depth): the B
     * panel then streams from L2 once per tile instead of sitting in L1,
     * which the prefetchers sustain (2 loads of B per 24 fmas), and C is
     * written once. Measured on the Intel Xeon (784-256-128-10, one
     * thread, best of 150 passes against the micro-kernel's in-L1 speed in
     * the same process, five runs): one slice instead of slices of KC took
     * 64 rows from 0.944 to 0.958 of it; 256 rows 0.950 -> 0.956 and 1024
     * rows level; on the AMD Zen 4 1024 rows 1.078x (with block_rows, which
     * sizes the blocks to the budget for this). One tile reuses nothing
     * from L1: one slice too. */
    const int whole = tiles == 1 || (rows * in <= whole_depth_budget(kt) && s0 + 1 >= tiles);
    const size_t slices = whole ? 1 : (in + kt->kc - 1) / kt->kc;
    const size_t kc_max = (in + slices - 1) / slices;
    for (size_t pc = 0; pc < in; pc += kc_max) {
        const size_t kc = min_sz(kc_max, in - pc), sld = buf_ld(kc), pst = align16(mr * kc);
        const int last = pc + kc == in;
        for (size_t i = s0; i < tiles; i++) {
            const size_t m = min_sz(mr, rows - i * mr);
            const float *src = io->a + i * mr * io->lda + pc;
            if (packed_a) {
                gemm_pack_panel(kt, src, io->lda, 1, m, kc, mr, stage + i * pst); /* zero-padded */
            } else {
                float *dst = stage + (i - s0) * mr * sld;
                for (size_t r = 0; r < m; r++)
                    memcpy(dst + r * sld, src + r * io->lda, kc * sizeof(float));
                if (m < mr) memset(dst + m * sld, 0, (mr - m) * sld * sizeof(float));
            }
        }
        /* the last slice's bias and activation in the micro-kernel, before
         * its stores, where the table has that form and the activation is
         * one it fuses (gemm_ukr_bias_act_fn: 2.7 % of a 1024-row pass) */
        const int fuse = last && !packed_a && kt->gemm_ukr_bias_act &&
                         (io->act == NERVE_ACT_IDENTITY || io->act == NERVE_ACT_RELU);
        for (size_t q = q0; q < q1; q++) {
            const size_t j = q * nr, cols = min_sz(nr, io->out - j);
            const float *bq = io->w + q * ps + pc * nr;
            for (size_t i = 0; i < tiles; i++) {
                const size_t m = min_sz(mr, rows - i * mr);
                float *c = io->c + i * mr * io->ldc + j;
                if (packed_a) {
                    kt->gemm_ukr(kc, stage + i * pst, bq, c, io->ldc, m, cols, pc > 0);
                } else {
                    const int staged = i >= s0;
                    const float *a =
                        staged ? stage + (i - s0) * mr * sld : io->a + i * mr * io->lda + pc;
                    const size_t lda = staged ? sld : io->lda;
                    if (fuse)
                        kt->gemm_ukr_bias_act(kc, a, lda, 1, bq, nr, c, io->ldc, m, cols, pc > 0,
                                              io->b + j, io->act == NERVE_ACT_RELU);
                    else
                        kt->gemm_ukr_strided(kc, a, lda, 1, bq, nr, c, io->ldc, m, cols, pc > 0);
                }
                /* the tile is final: its bias and activation while it is in L1 */
                if (last && !fuse) kt->bias_act[io->act](m, cols, c, io->ldc, io->b + j);
            }
        }
    }
}

static layer_io layer_at(const infer_pass *f, size_t l, const float *pk, size_t r0) {
    const nerve_net *net = f->net;
    const size_t ld = max_ld(net);
    layer_io io = {0};
    io.in = net->sizes[l];
    io.out = net->sizes[l + 1];
    io.first = l == 0;
    io.last = l + 1 == net->n_layers;
    io.lda = io.first ? io.in : ld;
    io.a = (io.first ? f->x : f->buf[(l - 1) & 1]) + r0 * io.lda;
    io.ldc = io.last ? io.out : ld;
    io.c = (io.last ? f->out : f->buf[l & 1]) + r0 * io.ldc;
    io.b = net->params + net->b_off[l];
    io.w = pk;
    io.act = net->acts[l];
    return io;
}

void infer_run(const infer_pass *f, int t, int nt) {
    const kernel_table *kt = f->kt;
    const nerve_net *net = f->net;
    const size_t mr = kt->mr, nr = kt->nr, L = net->n_layers, n = f->n, brows = block_rows(net, kt);
    float *stage = f->work + (size_t)t * infer_work_floats(net, kt, n);

    if (n > 2 && split_rows(n, mr, nt)) {
        /* this thread's rows, a block at a time through every layer: its
         * rows of the buffers are its own in every layer, no barrier. The
         * shares are cut at mr_step rows, not whole tiles, where the
         * micro-kernel computes an edge tile in steps: 256 rows on 2
         * threads are 128 + 128 (10 tiles and one of 8 rows each) instead
         * of 132 + 124 (11 tiles against 10 and one of 4), 64 rows 32 + 32
         * instead of 36 + 28. */
        size_t begin, end;
        split_range(n, kt->mr_step, (size_t)t, (size_t)nt, &begin, &end);
        for (size_t r0 = begin; r0 < end; r0 += brows) {
            const size_t rows = min_sz(brows, end - r0);
            const float *pk = f->pk;
            for (size_t l = 0; l < L; l++) {
                const layer_io io = layer_at(f, l, pk, r0);
                block_layer(kt, &io, rows, 0, (io.out + nr - 1) / nr, stage);
                pk += layer_floats(io.in, io.out, nr);
            }
        }
        return;
    }

    /* one or two samples, or few rows on several threads: each thread its
     * share of every layer's panels over all rows, a barrier after each
     * layer */
    const float *pk = f->pk;
    for (size_t l = 0; l < L; l++) {
        const layer_io io = layer_at(f, l, pk, 0);
        const size_t ps = infer_panel_stride(io.in, nr);
        size_t q0, q1;
        split_range((io.out + nr - 1) / nr, 1, (size_t)t, (size_t)nt, &q0, &q1);
        if (q1 > q0 && n <= 2) {
            const size_t j0 = q0 * nr, j1 = min_sz(q1 * nr, io.out);
            kt->gemv_packed(io.in, j1 - j0, io.w + q0 * ps, nr, ps, n, io.a, io.lda, io.c + j0,
                            io.ldc);
            kt->bias_act[io.act](n, j1 - j0, io.c + j0, io.ldc, io.b + j0);
        } else if (q1 > q0) {
            for (size_t r0 = 0; r0 < n; r0 += brows) {
                const layer_io blk = layer_at(f, l, pk, r0);
                block_layer(kt, &blk, min_sz(brows, n - r0), q0, q1, stage);
            }
        }
        pk += layer_floats(io.in, io.out, nr);
        if (nt > 1 && l + 1 < L) OMP_BARRIER(f);
    }
}
