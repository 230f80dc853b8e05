/* The kernel table: one function pointer per kernel, one const instance per
 * ISA (kernels_scalar, kernels_avx2, kernels_avx512, kernels_neon).
 *
 * Contract for every kernel here: pure function over caller-owned memory; no
 * allocation, no threads, no failure, no argument checks (callers in src/
 * validate). Every table computes bit-identical results to kernels_scalar
 * (the reproducibility rule, docs/architecture.md), except where a comment
 * says otherwise. In-place operation is allowed where a comment says so. */
#ifndef NERVE_SIMD_TABLE_H
#define NERVE_SIMD_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "nerve/cpu.h"
#include "nerve/kernels.h"

/* Activation ids ACT_<ENUM>, generated from the public list
 * (NERVE_ACT_LIST, kernels.h) and tied to NERVE_ACT_<ENUM> below. */
enum {
#define ACT_ENUM_(E, name) ACT_##E,
    NERVE_ACT_LIST(ACT_ENUM_)
#undef ACT_ENUM_
        ACT_COUNT
};
#ifdef __cplusplus /* the benchmarks include this header from C++ */
#define TABLE_STATIC_ASSERT static_assert
#else
#define TABLE_STATIC_ASSERT _Static_assert
#endif
#define ACT_TIE_(E, name) TABLE_STATIC_ASSERT((int)ACT_##E == (int)NERVE_ACT_##E, "ACT_" #E);
NERVE_ACT_LIST(ACT_TIE_)
#undef ACT_TIE_
TABLE_STATIC_ASSERT((int)ACT_COUNT == (int)NERVE_ACT_COUNT, "ACT_COUNT");

/* The parameter list of a loss kernel (the fields loss_<name> below), from
 * the targets column of NERVE_LOSS_LIST: rows x cols contiguous target
 * values, or rows class labels. */
#define LOSS_TARGET_values const float *
#define LOSS_TARGET_labels const int32_t *
#define LOSS_KERNEL(targets)                                                                       \
    (size_t rows, size_t cols, const float *out, LOSS_TARGET_##targets target, float scale,        \
     float *grad, float *row_loss)

/* ---- GEMM micro-kernel (BLIS-style) -----------------------------------
 * Computes one MR x NR tile of C from packed panels:
 *   a: packed A panel, k columns of MR floats: a[p*MR + i] = A(i, p)
 *   b: packed B panel, k rows of NR floats:    b[p*NR + j] = B(p, j)
 * For i < m, j < n (m <= MR, n <= NR; the panels are zero-padded to MR/NR):
 *   acc = accumulate ? C(i,j) : 0
 *   for p = 0 .. k-1: acc = fma(a[p*MR+i], b[p*NR+j], acc)   (in this order)
 *   C(i,j) = acc
 * Elements outside m x n are neither read nor written. With accumulate == 0
 * C is never read. k may be 0 (then C = 0 or C unchanged).
 * Pointers a and b are aligned to 64 bytes; c has no alignment. */
typedef void (*gemm_ukr_fn)(size_t k, const float *a, const float *b, float *c, size_t ldc,
                            size_t m, size_t n, int accumulate);
/* Strided form of the micro-kernel (optional, NULL where an ISA has none:
 * src/gemm/gemm.c then packs every operand). The same chains and the same
 * handling of C as gemm_ukr_fn, but the operands are read in place:
 *   A(i,p) = a[i*a_rs + p*a_cs]  for every i < MR (all MR rows are read)
 *   B(p,j) = b[p*ldb + j]        for every j < NR (all NR columns are read)
 * so gemm_ukr(k, a, b, ...) == gemm_ukr_strided(k, a, 1, MR, b, NR, ...).
 * No alignment required. */
typedef void (*gemm_ukr_strided_fn)(size_t k, const float *a, size_t a_rs, size_t a_cs,
                                    const float *b, size_t ldb, float *c, size_t ldc, size_t m,
                                    size_t n, int accumulate);

/* gemm_ukr_strided_fn, then the tile's bias and activation while it is in
 * registers: C(i, j) = f(acc(i, j) + bias[j]) over the stored m x n
 * corner, f the identity (relu == 0) or relu (relu != 0): the bits of
 * gemm_ukr_strided followed by bias_act[ACT_IDENTITY] or bias_act[ACT_RELU]
 * on the tile (the sum rounded once, then x < 0 ? 0 : x, -0 and NaN
 * passing). bias must not be NULL; bias[j] is read for j < n only. The
 * last K slice of inference on prepared weights (src/net/infer.c), where
 * the separate pass over each just-stored tile cost 2.7 % of a 1024-row
 * forward. */
typedef void (*gemm_ukr_bias_act_fn)(size_t k, const float *a, size_t a_rs, size_t a_cs,
                                     const float *b, size_t ldb, float *c, size_t ldc, size_t m,
                                     size_t n, int accumulate, const float *bias, int relu);

/* A 32-bit element of a packed panel: a float of an fp32 product, or a word
 * of two bf16 (below) of a bf16 product. Packing moves words without
 * looking at them, so one code packs both (src/gemm/gemm_pack.c serves
 * gemm.c and gemm_bf16.c); may_alias makes reading a pair word through it
 * defined C. */
typedef float pack_word __attribute__((may_alias));

/* Transposing pack of one GEMM panel (src/gemm/gemm_pack.c's ps == 1 case:
 * A not transposed, B transposed, where each lane of the panel is a run over
 * k in the source): dst[p*w + x] = src[x*xs + p] for x < width, p < kc,
 * width <= w. Writes nothing else (the caller zero-fills lanes width..w-1).
 * Pure data movement: it cannot change a bit of a product, and it moves
 * bf16 pair words as well as floats. */
typedef void (*gemm_pack_t_fn)(const pack_word *src, size_t xs, size_t width, size_t kc, size_t w,
                               pack_word *dst);

/* ---- bf16 mixed precision (arithmetic: simd/bf16.h) --------------------
 * Operands are bf16 PAIRS in 32-bit words: low half the even element
 * (k = 2q), high half the odd one (k = 2q + 1).
 *
 * Conversion of a rows x cols row-major fp32 matrix x (leading dimension
 * ldx floats) into pair words y (leading dimension ldy words), every
 * element rounded by bf16_round (vcvtne2ps2bf16's rounding, exactly):
 *   bf16_cvt_rows: pairs along each row,
 *       y[i*ldy + q] = r(x[i][2q]) | r(x[i][2q+1]) << 16, q < ceil(cols/2)
 *   bf16_cvt_cols: pairs down each column,
 *       y[q*ldy + j] = r(x[2q][j]) | r(x[2q+1][j]) << 16, q < ceil(rows/2)
 * An element past the last column (rows) is +0 in its pair. Writes nothing
 * else; rows == 0 or cols == 0 writes nothing. */
typedef void (*bf16_cvt_fn)(size_t rows, size_t cols, const float *x, size_t ldx, uint32_t *y,
                            size_t ldy);
/* The bf16 GEMM micro-kernel, in strided form: a tile of C of m <= bf16_mr
 * rows and n <= bf16_nr columns from kq pairs of k,
 *   A(i,q) = a[i*a_rs + q*a_cs]  for every i < bf16_mr (all rows are read)
 *   B(q,j) = b[q*ldb + j]        for every j < bf16_nr (all columns are read)
 * For i < m, j < n, in this order, exactly (NaN bits included):
 *   acc = accumulate ? C(i,j) : +0
 *   for q = 0 .. kq-1: acc = bf16_dp_ref(acc, B(q,j), A(i,q))
 *   C(i,j) = acc
 * i.e. vdpbf16ps with B as its first source: per pair the odd product, then
 * the even one, each one fp32 fma with denormal inputs flushed, round to
 * nearest even and tiny results flushed (simd/bf16.h). A chain split over
 * calls (accumulate) is the same chain, since every result it stores is
 * already flushed. kq == 0 leaves C as it was (or +0). Packed panels are
 * the case a_rs = 1, a_cs = bf16_mr, ldb = bf16_nr, zero-padded. Elements
 * outside m x n are neither read nor written; with accumulate == 0 C is
 * never read. No alignment required. */
typedef void (*gemm_bf16_ukr_fn)(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs,
                                 const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t m,
                                 size_t n, int accumulate);

/* ---- elementwise kernels, n elements, any n including 0 --------------- */
/* y = f(x); y may equal x. */
typedef void (*act_fwd_fn)(size_t n, const float *x, float *y);
/* dx = dy * f'(x), where y = f(x) is the forward output (kernels use
 * whichever of x, y the math needs; both must be given). dx may equal dy.
 * sigmoid and tanh use y (PyTorch's (dy * (1 - y)) * y and dy * (1 - y^2));
 * the others use x. Definitions and accuracy: docs/math.md. */
typedef void (*act_bwd_fn)(size_t n, const float *x, const float *y, const float *dy, float *dx);
/* Whether act_bwd[act] gives the same bits when handed y for x, so that
 * training need not keep the pre-activation (src/net/plan.c): identity,
 * sigmoid and tanh read no x; relu tests x <= 0 and leaky relu x > 0,
 * which y = f(x) answers the same way for every x (relu: y = +0 for x < 0,
 * y = x otherwise, -0 and NaN included; leaky relu: 0.01 x has x's sign,
 * NaN stays NaN). The others (elu, gelu, silu, softplus) need x. Checked
 * on every table at the awkward values (tests/simd/test_act.c). */
static inline int act_bwd_from_y(int act) {
    return act == ACT_IDENTITY || act == ACT_SIGMOID || act == ACT_TANH || act == ACT_RELU ||
           act == ACT_LEAKY_RELU;
}
/* y[i*ldy + j] = f(y[i*ldy + j] + b[j]) over rows x cols, in place: the bits
 * of bias_add followed by act_fwd on each row, in one pass (the epilogue of
 * a finished tile, just written: src/net/infer.c, src/net/linear.c,
 * src/net/linear_bf16.c).
 * y beyond cols in each row is neither read nor written. */
typedef void (*bias_act_fn)(size_t rows, size_t cols, float *y, size_t ldy, const float *b);

/* Parameters of one optimizer step, computed by the caller (src/net/optim.c). */
typedef struct opt_step {
    float lr, momentum, dampening, weight_decay;
    int nesterov;
    int first; /* SGD: first step (buffer v starts as g) */
    float beta1, beta2, eps;
    float step_size;    /* Adam: lr / (1 - beta1^t) */
    float inv_sqrt_bc2; /* Adam: 1 / sqrt(1 - beta2^t) */
    int decoupled;      /* AdamW: w *= 1 - lr*wd before the update (PyTorch: param.mul_) */
} opt_step;

typedef struct kernel_table {
    nerve_isa isa;
    const char *name;

    /* GEMM: micro-kernel tile and cache blocking used by src/gemm/gemm.c. */
    gemm_ukr_fn gemm_ukr;
    gemm_ukr_strided_fn gemm_ukr_strided; /* optional, may be NULL */
    gemm_ukr_bias_act_fn gemm_ukr_bias_act; /* optional, may be NULL */
    size_t mr, nr;                        /* micro-tile */
    /* Rows an edge tile is computed in steps of (divides mr): a tile of m
     * rows costs ceil(m / mr_step) / (mr / mr_step) of a full one. mr where
     * every tile computes all MR rows; 4 on AVX-512 (gemm_avx512.c). AVX2
     * computes 4 of its 6 rows when m <= 4 but keeps 6 here: 4 does not
     * divide 6, and thread shares cut at 4 rows would leave 2-row tiles. */
    size_t mr_step;
    size_t mc, kc, nc; /* blocking: A block mc x kc in L2, B panel kc x nr in L1 */
    gemm_pack_t_fn gemm_pack_t; /* transposing panel pack */

    /* y = alpha * A x + beta * y; A m x n row-major (lda), x n, y m.
     * beta == 0 never reads y. Each y_i: 16-lane dot + fixed tree.
     * Both gemv: beta == 0: y = alpha * d; else y = fma(beta, y, alpha * d)
     * for the dot/chain d (as nerve_sgemm's epilogue). */
    void (*gemv_n)(size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
                   float beta, float *y);
    /* y = alpha * A^T x + beta * y; A m x n, x m, y n. Each y_j: one
     * sequential fma chain over i. beta == 0 never reads y. */
    void (*gemv_t)(size_t m, size_t n, float alpha, const float *a, size_t lda, const float *x,
                   float beta, float *y);
    /* Y = X B for m = 1 or 2 rows: x row i at x + i * ldx (k floats), y row
     * i at y + i * ldy (n floats); B (k x n) stored as the micro-kernel's
     * packed B panels of width nr (gemm_ukr_fn's b), one panel of full depth
     * k every ldp floats: B(p, j) = b[(j / nr) * ldp + p * nr + j % nr].
     * Each y_ij: one sequential fma chain over p = 0 .. k-1 of x_i[p] *
     * B(p, j), starting from 0: the chain gemm_ukr computes for a row of C
     * on the same panels, so the same bits (inference of one or two rows on
     * prepared weights, src/net/infer.c; two rows share every load of B).
     * Columns of the last panel beyond n, up to nr, may be read (its zero
     * padding); y beyond n is not written. No alignment required. */
    void (*gemv_packed)(size_t k, size_t n, const float *b, size_t nr, size_t ldp, size_t m,
                        const float *x, size_t ldx, float *y, size_t ldy);

    act_fwd_fn act_fwd[ACT_COUNT];
    act_bwd_fn act_bwd[ACT_COUNT];
    bias_act_fn bias_act[ACT_COUNT];

    /* Row-wise softmax, rows x cols contiguous; y may equal x. */
    void (*softmax)(size_t rows, size_t cols, const float *x, float *y);

    /* Losses over rows x cols contiguous outputs, one field loss_<name> per
     * entry of NERVE_LOSS_LIST (kernels.h), of type LOSS_KERNEL(targets).
     * Per-row loss goes to row_loss[i] (callers sum rows in order, so the
     * total does not depend on how rows were split across threads); grad
     * (may be NULL) gets the gradient times `scale`.
     * mse:  row_loss[i] = sum_j (o - t)^2;   grad = scale * (o - t)
     *       (for the mean over N*C pass scale = 2/(N*C))
     * xent: row_loss[i] = log(sum_j e^(o_j - max)) - (o_label - max)
     *       grad = scale * (softmax(o) - onehot(label))  (scale = 1/N)
     *       A label outside [0, cols) (callers validate) gives a NaN row
     *       loss and grad = scale * softmax(o); it is never used as an index. */
#define LOSS_FIELD_(E, name, targets, mean, gscale) void(*loss_##name) LOSS_KERNEL(targets);
    NERVE_LOSS_LIST(LOSS_FIELD_)
#undef LOSS_FIELD_

    /* Optimizer updates over n parameters, PyTorch's definitions.
     * sgd: v is the momentum buffer (unused when momentum == 0).
     * adam: m, v first and second moments; decoupled selects AdamW.
     * Both return nonzero when any value they stored (w, and the state they
     * update) is NaN or infinite, checked in the same pass, else 0. amax
     * (may be NULL) is raised to the largest magnitudes stored: amax[0] of
     * w, amax[1] of the first state array (sgd's v, adam's m; untouched
     * without momentum), amax[2] of adam's v. */
    int (*sgd)(size_t n, float *w, const float *g, float *v, const opt_step *s, float *amax);
    int (*adam)(size_t n, float *w, const float *g, float *m, float *v, const opt_step *s,
                float *amax);

    /* Reductions: 16 lane-wise partial sums combined by one fixed tree.
     * sum, dot: four 16-lane accumulators take the 16-blocks of each
     * 64-element group, leftover full blocks go to accumulators 0, 1, 2, the
     * masked tail to 3; then vf_reduce_add((a0 + a1) + (a2 + a3)). */
    float (*sum)(size_t n, const float *x);
    float (*dot)(size_t n, const float *x, const float *y);
    /* max_i |x[i]| (0 for n == 0), or +Inf when any x[i] is NaN or
     * infinite: the gradient bound that lets a training step skip its undo
     * copy (src/net/optim.c, optim_bound). Exact, so the same on every ISA. */
    float (*maxabs)(size_t n, const float *x);
    /* y[j] = (accumulate ? y[j] : 0) + sum_i x[i*ldx + j], one sequential
     * chain of additions over i per column, starting from +0 when not
     * accumulating (bias gradients). accumulate == 0 never reads y. */
    void (*colsum)(size_t rows, size_t cols, const float *x, size_t ldx, float *y, int accumulate);
    /* y = beta == 0 ? alpha * x : fma(beta, y, alpha * x); beta == 0 never
     * reads y. */
    void (*axpby)(size_t n, float alpha, const float *x, float beta, float *y);
    /* y[i*ldy + j] += b[j] over rows x cols (bias add, forward pass). */
    void (*bias_add)(size_t rows, size_t cols, float *y, size_t ldy, const float *b);

    /* ---- bf16 mixed precision (contracts above; every table the same bits)
     * The compiled tables carry the portable exact emulation
     * (simd/generic/bf16.c); src/core/dispatch.c gives the avx512 table the
     * vdpbf16ps kernels (simd/gemm_avx512bf16.c) when the CPU has
     * AVX512_BF16, and the other x86 tables the DAZ/FTZ emulation
     * (bf16_gemm_ukr_ftz__<isa>), each only when it passes its start-up
     * check against the reference. */
    bf16_cvt_fn bf16_cvt_rows, bf16_cvt_cols;
    gemm_bf16_ukr_fn gemm_bf16_ukr;
    size_t bf16_mr, bf16_nr;                /* micro-tile */
    size_t bf16_mc, bf16_kc, bf16_nc;       /* blocking; bf16_kc counts pairs */
    const char *bf16_impl; /* "emulated", "emulated-ftz" or "vdpbf16ps" */
} kernel_table;

extern const kernel_table kernels_scalar;
extern const kernel_table kernels_avx2;
extern const kernel_table kernels_avx512;
extern const kernel_table kernels_neon;
/* The x86 tables' emulation with the FPU's DAZ and flush-to-zero modes
 * (simd/generic/bf16.c: one fma per step, same tile as the table's
 * gemm_bf16_ukr); src/core/dispatch.c puts it into the table after
 * checking it against the reference on this CPU. */
void bf16_gemm_ukr_ftz__avx2(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs,
                             const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t m,
                             size_t n, int accumulate);
void bf16_gemm_ukr_ftz__avx512(size_t kq, const uint32_t *a, size_t a_rs, size_t a_cs,
                               const uint32_t *b, size_t ldb, float *c, size_t ldc, size_t m,
                               size_t n, int accumulate);

/* The table of `isa`, or NULL when it is not built in or not supported by
 * this CPU (src/core/dispatch.c). */
const kernel_table *kernels_for(nerve_isa isa);
/* The active table (never NULL). */
const kernel_table *kernels_active(void);
/* The table of `isa` as compiled, with the emulated bf16 kernels, or NULL as
 * kernels_for: differs from kernels_for(isa) only where the dispatcher gave
 * the table native bf16 kernels (avx512 on an AVX512_BF16 CPU). */
const kernel_table *kernels_emulated(nerve_isa isa);
/* The dispatcher's start-up check of a bf16 micro-kernel of tile mr x nr
 * (mr <= 16, nr <= 32) against bf16_dp_ref on the awkward cases: 0 when it
 * matches on every one, else nonzero with the first difference in why. */
int bf16_ukr_differs(gemm_bf16_ukr_fn ukr, size_t mr, size_t nr, char *why, size_t cap);

#endif
