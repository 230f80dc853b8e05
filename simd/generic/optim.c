/* Optimizer updates (PyTorch's SGD and Adam/AdamW, table.h), written once
 * against vec.h. The hyper-parameters are uniform, so the variant is chosen
 * once per call; every element goes through the same operations, rounded as
 * PyTorch's single-tensor implementation does where that is practical (the
 * fused forms below use one fma where PyTorch computes a*b + c).
 *
 * Each kernel also reports whether it stored a NaN or an infinity: x - x is
 * +0 for every finite x and NaN for NaN and +-Inf, so one unordered compare
 * per stored vector, OR-ed into a mask (a one-cycle dependency), finds them
 * exactly on every ISA without another pass. The tail is checked from what
 * was stored (the padded lanes of the registers may hold 0/0).
 *
 * Beside that each keeps the largest magnitude it stored per array, lane-wise
 * (vf_max of |x| is exact, so the order never matters), and, given amax,
 * raises amax[0] (w), amax[1] (the first state array: SGD's momentum buffer,
 * Adam's m) and amax[2] (Adam's v) to them: the bounds the next step's proof
 * starts from (src/net/optim.c, optim_bound). After a NaN they are not
 * meaningful (the return value says so). */
#include "generic.h"

#include <stdint.h>

/* Lanes of a whose value is NaN or infinite. */
static inline vm nonfinite(vf a) { return vf_isnan(vf_sub(a, a)); }

/* 1 if any lane of m is set. */
static inline int any(vm m) { return vf_reduce_add(vf_select(m, vf_set1(1.0f), vf_zero())) > 0.0f; }

/* acc = max(acc, |x|) lane-wise. */
static inline vf keep_max(vf acc, vf x) { return vf_max(acc, vf_abs(x)); }

/* amax[i] = max(amax[i], the lanes of acc[i]) for i < k. */
static void raise_amax(float *amax, const vf *acc, int k) {
    if (!amax) return;
    for (int i = 0; i < k; i++) {
        float lanes[VL];
        vf_storeu(lanes, acc[i]);
        for (int l = 0; l < VL; l++) amax[i] = lanes[l] > amax[i] ? lanes[l] : amax[i];
    }
}

/* SGD's prefetch for the arrays it writes: the line PREFETCH_FLOATS past
 * element i of w (and of v), once per vector step (VL = 16 floats, vec.h:
 * 64 bytes, so each cache line once whatever the alignment). The update
 * runs on each
 * finished gradient block (src/net/train.c, update_block): the gradient is
 * in cache, but w and v come from L3 or memory, the next block's right
 * behind this one's, and the hardware prefetcher starts over at every
 * block. The address is formed as an integer: a prefetch past an array
 * cannot fault, but a pointer past its end would be undefined. Measured
 * (Intel Xeon, AVX-512 and AVX2, whole steps, the two variants alternated
 * in one process, SGD with momentum): 1.03-1.10x at batch 32, 1.01-1.02x
 * at 256; distances of 256 to 4096 floats alike. Adam's loop (a division
 * and a square root per element) measured 0.98-1.00x with the same, so it
 * has none (docs/performance.md, "The optimizer's streams prefetched").
 * With several threads the last 4 KiB may be the start of the next
 * thread's block (x86 makes these prefetches for write): the 2-thread
 * steps measured 1.00-1.05x, so it costs less than it gains. */
#define PREFETCH_FLOATS 1024 /* 4 KiB ahead */
_Static_assert(VL * sizeof(float) == 64, "prefetch_ahead: one prefetch per cache line");
static inline void prefetch_ahead(size_t i, const float *w, const float *v) {
    const uintptr_t ahead = PREFETCH_FLOATS * sizeof(float);
    __builtin_prefetch((const void *)((uintptr_t)(w + i) + ahead), 1);
    if (v) __builtin_prefetch((const void *)((uintptr_t)(v + i) + ahead), 1);
}

/* SGD, per element:
 *   g  = g + wd * w                          (wd != 0)
 *   v  = first ? g : momentum * v + (1 - dampening) * g   (momentum != 0)
 *   u  = nesterov ? g + momentum * v : v     (momentum != 0; else u = g)
 *   w  = w - lr * u                                                       */
static inline vf sgd_one(vf w, vf g, vf *v, const opt_step *s, int use_wd, int use_mom) {
    if (use_wd) g = vf_fma(vf_set1(s->weight_decay), w, g);
    vf u = g;
    if (use_mom) {
        vf nv = s->first
                    ? g
                    : vf_fma(vf_set1(1.0f - s->dampening), g, vf_mul(vf_set1(s->momentum), *v));
        *v = nv;
        u = s->nesterov ? vf_fma(vf_set1(s->momentum), nv, g) : nv;
    }
    return vf_fma(vf_set1(-s->lr), u, w);
}

int KNAME(f32_sgd)(size_t n, float *w, const float *g, float *v, const opt_step *sp,
                   float *amax) {
    /* A local copy: stores to w and v cannot alias it, so the compiler keeps
     * the hyper-parameters in registers instead of reloading them per block. */
    const opt_step step = *sp, *s = &step;
    const int use_wd = s->weight_decay != 0.0f, use_mom = s->momentum != 0.0f;
    vm bad = vf_isnan(vf_zero());
    vf acc[2] = {vf_zero(), vf_zero()};
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        prefetch_ahead(i, w, use_mom ? v : NULL);
        vf vv = use_mom ? vf_loadu(v + i) : vf_zero();
        vf nw = sgd_one(vf_loadu(w + i), vf_loadu(g + i), &vv, s, use_wd, use_mom);
        vf_storeu(w + i, nw);
        if (use_mom) vf_storeu(v + i, vv);
        bad = vm_or(bad, nonfinite(nw));
        acc[0] = keep_max(acc[0], nw);
        if (use_mom) bad = vm_or(bad, nonfinite(vv)), acc[1] = keep_max(acc[1], vv);
    }
    if (i < n) {
        const size_t r = n - i;
        vf vv = use_mom ? vf_load_tail(v + i, r) : vf_zero();
        vf nw = sgd_one(vf_load_tail(w + i, r), vf_load_tail(g + i, r), &vv, s, use_wd, use_mom);
        vf_store_tail(w + i, nw, r);
        if (use_mom) vf_store_tail(v + i, vv, r);
        const vf sw = vf_load_tail(w + i, r), sv = use_mom ? vf_load_tail(v + i, r) : vf_zero();
        bad = vm_or(bad, vm_or(nonfinite(sw), nonfinite(sv)));
        acc[0] = keep_max(acc[0], sw);
        acc[1] = keep_max(acc[1], sv);
    }
    raise_amax(amax, acc, use_mom ? 2 : 1);
    return any(bad);
}

/* Adam / AdamW, per element (bias corrections folded into s->step_size and
 * s->inv_sqrt_bc2 by the caller):
 *   AdamW: w = w * (1 - lr * wd)            Adam: g = g + wd * w   (wd != 0)
 *   m = m + (1 - beta1) (g - m)             (PyTorch's lerp)
 *   v = beta2 v + (1 - beta2) g g
 *   w = w - step_size * m / (sqrt(v) * inv_sqrt_bc2 + eps)                 */
static inline vf adam_one(vf w, vf g, vf *m, vf *v, const opt_step *s, int use_wd) {
    if (use_wd) {
        if (s->decoupled)
            w = vf_mul(w, vf_set1(1.0f - s->lr * s->weight_decay));
        else
            g = vf_fma(vf_set1(s->weight_decay), w, g);
    }
    *m = vf_fma(vf_set1(1.0f - s->beta1), vf_sub(g, *m), *m);
    *v = vf_fma(vf_mul(vf_set1(1.0f - s->beta2), g), g, vf_mul(*v, vf_set1(s->beta2)));
    vf denom = vf_fma(vf_sqrt(*v), vf_set1(s->inv_sqrt_bc2), vf_set1(s->eps));
    return vf_fma(vf_set1(-s->step_size), vf_div(*m, denom), w);
}

int KNAME(f32_adam)(size_t n, float *w, const float *g, float *m, float *v, const opt_step *sp,
                    float *amax) {
    const opt_step step = *sp, *s = &step; /* see f32_sgd */
    const int use_wd = s->weight_decay != 0.0f;
    vm bad = vf_isnan(vf_zero());
    vf acc[3] = {vf_zero(), vf_zero(), vf_zero()};
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        vf mm = vf_loadu(m + i), vv = vf_loadu(v + i);
        vf nw = adam_one(vf_loadu(w + i), vf_loadu(g + i), &mm, &vv, s, use_wd);
        vf_storeu(w + i, nw);
        vf_storeu(m + i, mm);
        vf_storeu(v + i, vv);
        /* finite + finite may overflow, so each is tested on its own */
        bad = vm_or(bad, vm_or(nonfinite(nw), vm_or(nonfinite(mm), nonfinite(vv))));
        acc[0] = keep_max(acc[0], nw), acc[1] = keep_max(acc[1], mm), acc[2] = keep_max(acc[2], vv);
    }
    if (i < n) {
        const size_t r = n - i;
        vf mm = vf_load_tail(m + i, r), vv = vf_load_tail(v + i, r);
        vf nw = adam_one(vf_load_tail(w + i, r), vf_load_tail(g + i, r), &mm, &vv, s, use_wd);
        vf_store_tail(w + i, nw, r);
        vf_store_tail(m + i, mm, r);
        vf_store_tail(v + i, vv, r);
        const vf sw = vf_load_tail(w + i, r), sm = vf_load_tail(m + i, r);
        const vf sv = vf_load_tail(v + i, r);
        bad = vm_or(bad, vm_or(nonfinite(sw), vm_or(nonfinite(sm), nonfinite(sv))));
        acc[0] = keep_max(acc[0], sw), acc[1] = keep_max(acc[1], sm), acc[2] = keep_max(acc[2], sv);
    }
    raise_amax(amax, acc, 3);
    return any(bad);
}
