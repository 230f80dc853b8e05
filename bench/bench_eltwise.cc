// Elementwise kernels: every activation forward and backward, softmax, the
// losses, the optimizer updates (each from its list in kernels.h) and the
// sum/dot reductions, for each kernel
// table this CPU supports (called directly through kernels_for(isa), so one
// thread, no dispatch), at 65,536 floats (256 KiB per array: in L2).
// Side by side: oneDNN's eltwise primitive for the same activations (when
// built with NERVE_BENCH_HAVE_ONEDNN) and memcpy of the same array.
//
// Names: <kernel>/<variant>/<isa | onednn | onednn_dst>, e.g.
// act_fwd/sigmoid/avx512 next to act_fwd/sigmoid/onednn. items_per_second is
// elements per second; bytes_per_second counts every array the call's
// interface reads or writes once (activation backward: x, y, dy, dx = 16 B
// per element for nerve; src or dst, diff_dst, diff_src = 12 B for oneDNN).
// Run one-threaded: OMP_NUM_THREADS=1 (oneDNN uses OpenMP).
//
// accuracy/<act> (with oneDNN) is not a timing: it reports the maximum error
// in ulp of oneDNN's and nerve's forward results on the same inputs.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "net_plan.h"  // optim_family: the optimizers' scalars, as nerve_net computes them
#include "table.h"
}

#ifdef NERVE_BENCH_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

constexpr size_t kN = 65536;  // floats per array: 256 KiB, fits L2 with its peers

// Names from the activation list (kernels.h), in ACT_* order.
#define ACT_NAME_(E, name) #name,
const char *const kActNames[ACT_COUNT] = {NERVE_ACT_LIST(ACT_NAME_)};
#undef ACT_NAME_

// A float array at a fixed offset from a 4 KiB boundary: slot s starts
// s * 576 bytes (9 cache lines) past it. Every array of one benchmark gets its
// own slot, so no two of them share an address modulo 4 KiB: such 4K aliasing
// (a load that looks like it may depend on an earlier store to another array)
// otherwise slows some kernels down by a factor that depends on where malloc
// happened to place the arrays, which made runs disagree with each other.
struct Buf {
    void *base;
    float *p;
    Buf(size_t count, int slot)
        : base(std::aligned_alloc(4096, (count * 4 + 576 * 8 + 4095) / 4096 * 4096)),
          p(reinterpret_cast<float *>(static_cast<char *>(base) + 576 * slot)) {
        if (!base || slot < 0 || slot >= 8) std::abort();
    }
    ~Buf() { std::free(base); }
    Buf(const Buf &) = delete;
    Buf &operator=(const Buf &) = delete;
};

// Deterministic uniform floats in [lo, hi) (splitmix64).
void fill(float *x, size_t n, uint64_t seed, float lo, float hi) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        x[i] = lo + (hi - lo) * static_cast<float>(z >> 40) / 16777216.0f;
    }
}

// The inputs every benchmark shares: x in [-4, 4) (about half negative, the
// range where the transcendental activations do real work), dy in [-1, 1).
struct Inputs {
    Buf x{kN, 0}, dy{kN, 1}, t{kN, 2};  // slots 0-2; outputs use 3-7
    Inputs() {
        fill(x.p, kN, 1, -4.0f, 4.0f);
        fill(dy.p, kN, 2, -1.0f, 1.0f);
        fill(t.p, kN, 3, -1.0f, 1.0f);
    }
};
const Inputs &inputs() {
    static const Inputs in;
    return in;
}

void set_counters(benchmark::State &st, size_t items, double bytes_per_item) {
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(items));
    st.SetBytesProcessed(static_cast<int64_t>(static_cast<double>(st.iterations()) *
                                              static_cast<double>(items) * bytes_per_item));
}

// ---- nerve kernels ----------------------------------------------------------
void bm_act_fwd(benchmark::State &st, const kernel_table *k, int act) {
    Buf y(kN, 3);
    for (auto _ : st) k->act_fwd[act](kN, inputs().x.p, y.p);
    set_counters(st, kN, 8);
}

void bm_act_bwd(benchmark::State &st, const kernel_table *k, int act) {
    Buf y(kN, 3), dx(kN, 4);
    kernels_scalar.act_fwd[act](kN, inputs().x.p, y.p);
    for (auto _ : st) k->act_bwd[act](kN, inputs().x.p, y.p, inputs().dy.p, dx.p);
    set_counters(st, kN, 16);
}

void bm_softmax(benchmark::State &st, const kernel_table *k) {
    const size_t rows = static_cast<size_t>(st.range(0)), cols = static_cast<size_t>(st.range(1));
    Buf y(rows * cols, 3);
    for (auto _ : st) k->softmax(rows, cols, inputs().x.p, y.p);
    set_counters(st, rows * cols, 8);
}

// The losses of NERVE_LOSS_LIST (kernels.h), one bm_loss_<name> each, with
// the targets of its targets column: target values t (the kernel reads the
// outputs, the targets and writes the gradient: 12 B per element) or one
// label per row (outputs and gradient: 8 B per element), and the gradient
// scale of the mean (gscale / rows * cols or / rows, its mean column).
struct LossTargets {
    const float *values;
    std::vector<int32_t> labels;
    LossTargets(size_t rows, size_t cols) : values(inputs().t.p), labels(rows) {
        for (size_t i = 0; i < rows; i++) labels[i] = static_cast<int32_t>((i * 7919u) % cols);
    }
};
#define BENCH_TARGET_values(t) ((t).values)
#define BENCH_TARGET_labels(t) ((t).labels.data())
#define BENCH_BYTES_values 12
#define BENCH_BYTES_labels 8
#define BENCH_COUNT_elements(rows, cols) (static_cast<double>(rows) * static_cast<double>(cols))
#define BENCH_COUNT_rows(rows, cols) static_cast<double>(rows)
#define BM_LOSS_(E, name, targets, mean, gscale)                                                   \
    void bm_loss_##name(benchmark::State &st, const kernel_table *k) {                                  \
        const size_t rows = static_cast<size_t>(st.range(0));                                      \
        const size_t cols = static_cast<size_t>(st.range(1));                                      \
        Buf grad(rows * cols, 3), loss(rows, 4);                                                   \
        const LossTargets t(rows, cols);                                                           \
        const float scale = static_cast<float>(gscale / BENCH_COUNT_##mean(rows, cols));           \
        for (auto _ : st)                                                                          \
            k->loss_##name(rows, cols, inputs().x.p, BENCH_TARGET_##targets(t), scale, grad.p,     \
                           loss.p);                                                                \
        set_counters(st, rows * cols, BENCH_BYTES_##targets);                                      \
    }
NERVE_LOSS_LIST(BM_LOSS_)
#undef BM_LOSS_

// One optimizer step of a kind of NERVE_OPT_LIST at step 10, settings o, with
// the scalars nerve_net would hand the kernel (the kind's family,
// src/net/optim.c). Reads w, g and each state array, writes w and each state
// array: 12 B per element plus 8 per state array (SGD with momentum: 20 B,
// Adam: 28 B).
void bm_opt(benchmark::State &st, const kernel_table *k, nerve_opt o) {
    const optim_family *f = optim_family_of(o.kind);
    const unsigned states = f->states(&o);
    Buf w(kN, 3), m(kN, 4), v(kN, 5);
    std::memcpy(w.p, inputs().x.p, kN * 4);
    std::memset(m.p, 0, kN * 4);
    std::memset(v.p, 0, kN * 4);
    double b1t = 1, b2t = 1;
    for (int t = 0; t < 10; t++) b1t *= o.beta1, b2t *= o.beta2;
    opt_step s;
    f->scalars(&o, 0, b1t, b2t, &s);
    float *mp = states >= 1 ? m.p : nullptr, *vp = states >= 2 ? v.p : nullptr;
    for (auto _ : st) f->update(k, kN, w.p, inputs().dy.p, mp, vp, &s, nullptr);
    set_counters(st, kN, 12 + 8 * states);
}

void bm_sum(benchmark::State &st, const kernel_table *k) {
    for (auto _ : st) benchmark::DoNotOptimize(k->sum(kN, inputs().x.p));
    set_counters(st, kN, 4);
}

void bm_maxabs(benchmark::State &st, const kernel_table *k) {
    for (auto _ : st) benchmark::DoNotOptimize(k->maxabs(kN, inputs().x.p));
    set_counters(st, kN, 4);
}

void bm_dot(benchmark::State &st, const kernel_table *k) {
    for (auto _ : st) benchmark::DoNotOptimize(k->dot(kN, inputs().x.p, inputs().dy.p));
    set_counters(st, kN, 8);
}

void bm_memcpy(benchmark::State &st) {
    Buf y(kN, 3);
    for (auto _ : st) {
        std::memcpy(y.p, inputs().x.p, kN * sizeof(float));
        benchmark::ClobberMemory();
    }
    set_counters(st, kN, 8);
}

// ---- oneDNN eltwise ---------------------------------------------------------
#ifdef NERVE_BENCH_HAVE_ONEDNN
struct DnnlAct {
    int act;                      // nerve activation it corresponds to
    dnnl::algorithm alg, alg_dst; // alg_dst: the use_dst_for_bwd variant, if any
    float alpha;
};
// alpha: relu's negative slope (0.01 for leaky ReLU, as nerve), elu's alpha,
// swish's beta in x*sigmoid(beta*x) (1: SiLU).
const DnnlAct kDnnlActs[] = {
    {ACT_SIGMOID, dnnl::algorithm::eltwise_logistic, dnnl::algorithm::eltwise_logistic_use_dst_for_bwd, 0.0f},
    {ACT_TANH, dnnl::algorithm::eltwise_tanh, dnnl::algorithm::eltwise_tanh_use_dst_for_bwd, 0.0f},
    {ACT_RELU, dnnl::algorithm::eltwise_relu, dnnl::algorithm::eltwise_relu_use_dst_for_bwd, 0.0f},
    {ACT_LEAKY_RELU, dnnl::algorithm::eltwise_relu, dnnl::algorithm::eltwise_relu_use_dst_for_bwd, 0.01f},
    {ACT_ELU, dnnl::algorithm::eltwise_elu, dnnl::algorithm::eltwise_elu_use_dst_for_bwd, 1.0f},
    {ACT_GELU, dnnl::algorithm::eltwise_gelu_erf, dnnl::algorithm::undef, 0.0f},
    {ACT_SILU, dnnl::algorithm::eltwise_swish, dnnl::algorithm::undef, 1.0f},
    {ACT_SOFTPLUS, dnnl::algorithm::eltwise_soft_relu, dnnl::algorithm::undef, 0.0f},
};

struct Dnnl {
    dnnl::engine eng{dnnl::engine::kind::cpu, 0};
    dnnl::stream strm{eng};
    dnnl::memory::desc md{{static_cast<dnnl::memory::dim>(kN)}, dnnl::memory::data_type::f32,
                          dnnl::memory::format_tag::a};
};
Dnnl &dnnl_ctx() {
    static Dnnl d;
    return d;
}

void bm_dnnl_fwd(benchmark::State &st, DnnlAct a) {
    Dnnl &d = dnnl_ctx();
    Buf y(kN, 3);
    dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_training, a.alg, d.md, a.alpha, 0.0f);
    dnnl::eltwise_forward::primitive_desc pd(desc, d.eng);
    dnnl::eltwise_forward prim(pd);
    dnnl::memory src(d.md, d.eng, inputs().x.p), dst(d.md, d.eng, y.p);
    for (auto _ : st) {
        prim.execute(d.strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
        d.strm.wait();
    }
    st.SetLabel(pd.impl_info_str());
    set_counters(st, kN, 8);
}

// use_dst: the *_use_dst_for_bwd algorithm (backward from the forward output,
// as nerve's y-based kernels); otherwise backward from the input x.
void bm_dnnl_bwd(benchmark::State &st, DnnlAct a, bool use_dst) {
    Dnnl &d = dnnl_ctx();
    const dnnl::algorithm alg = use_dst ? a.alg_dst : a.alg;
    Buf y(kN, 3), dx(kN, 4);
    dnnl::eltwise_forward::desc fdesc(dnnl::prop_kind::forward_training, alg, d.md, a.alpha, 0.0f);
    dnnl::eltwise_forward::primitive_desc fpd(fdesc, d.eng);
    dnnl::memory src(d.md, d.eng, inputs().x.p), dst(d.md, d.eng, y.p);
    dnnl::eltwise_forward(fpd).execute(d.strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    d.strm.wait();
    dnnl::eltwise_backward::desc bdesc(alg, d.md, d.md, a.alpha, 0.0f);
    dnnl::eltwise_backward::primitive_desc bpd(bdesc, d.eng, fpd);
    dnnl::eltwise_backward prim(bpd);
    dnnl::memory ddst(d.md, d.eng, inputs().dy.p), dsrc(d.md, d.eng, dx.p);
    for (auto _ : st) {
        prim.execute(d.strm, {{use_dst ? DNNL_ARG_DST : DNNL_ARG_SRC, use_dst ? dst : src},
                              {DNNL_ARG_DIFF_DST, ddst},
                              {DNNL_ARG_DIFF_SRC, dsrc}});
        d.strm.wait();
    }
    st.SetLabel(bpd.impl_info_str());
    set_counters(st, kN, 12);
}

// Not a timing: the forward accuracy of oneDNN and of nerve (the active table;
// all tables give identical bits) on the same inputs, as maximum error in ulp
// of the float result against a double-precision reference. Inputs: x from
// -110 to 30 in steps of 0.0137 (tails included) and +-1.3 * 2^e, e = -40..0.
// Counters: *_max_ulp over all inputs, *_max_ulp_mid over 1e-3 <= |x| <= 10.
double ref_act(int act, double v) {
    switch (act) {
    case ACT_SIGMOID: return 1.0 / (1.0 + std::exp(-v));
    case ACT_TANH: return std::tanh(v);
    case ACT_ELU: return v > 0 ? v : std::expm1(v);
    case ACT_GELU: return 0.5 * v * std::erfc(-v / std::sqrt(2.0));
    case ACT_SILU: return v / (1.0 + std::exp(-v));
    case ACT_SOFTPLUS: return v > 20 ? v : std::log1p(std::exp(v));
    default: return v > 0 ? v : (act == ACT_LEAKY_RELU ? 0.01 * v : 0.0);
    }
}

double ulp_error(float got, double want) {
    double a = std::fabs(want), ulp = 0x1p-149;  // subnormal spacing below 2^-126
    if (a >= 0x1p-126) {
        int e;
        std::frexp(a, &e);
        ulp = std::ldexp(1.0, e - 24);
    }
    return std::fabs(static_cast<double>(got) - want) / ulp;
}

void bm_dnnl_accuracy(benchmark::State &st, DnnlAct a) {
    std::vector<float> x;
    for (int i = 0; i <= 10218; i++) x.push_back(static_cast<float>(-110.0 + 0.0137 * i));
    for (int e = -40; e <= 0; e++) {
        x.push_back(std::ldexp(1.3f, e));
        x.push_back(-std::ldexp(1.3f, e));
    }
    const size_t n = x.size();
    std::vector<float> yd(n), yn(n);
    Dnnl &d = dnnl_ctx();
    dnnl::memory::desc md({static_cast<dnnl::memory::dim>(n)}, dnnl::memory::data_type::f32,
                          dnnl::memory::format_tag::a);
    dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, a.alg, md, a.alpha, 0.0f);
    dnnl::eltwise_forward::primitive_desc pd(desc, d.eng);
    dnnl::memory src(md, d.eng, x.data()), dst(md, d.eng, yd.data());
    for (auto _ : st) {
        dnnl::eltwise_forward(pd).execute(d.strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
        d.strm.wait();
        kernels_active()->act_fwd[a.act](n, x.data(), yn.data());
    }
    double ed = 0, en = 0, ed_mid = 0, en_mid = 0;
    for (size_t i = 0; i < n; i++) {
        const double want = ref_act(a.act, x[i]);
        const double e1 = ulp_error(yd[i], want), e2 = ulp_error(yn[i], want);
        ed = std::max(ed, e1);
        en = std::max(en, e2);
        if (std::fabs(x[i]) >= 1e-3f && std::fabs(x[i]) <= 10.0f) {
            ed_mid = std::max(ed_mid, e1);
            en_mid = std::max(en_mid, e2);
        }
    }
    st.counters["onednn_max_ulp"] = ed;
    st.counters["nerve_max_ulp"] = en;
    st.counters["onednn_max_ulp_mid"] = ed_mid;
    st.counters["nerve_max_ulp_mid"] = en_mid;
    st.SetLabel(pd.impl_info_str());
}
#endif

// ---- registration -----------------------------------------------------------
template <class F>
void reg(const std::string &name, F &&f) {
    benchmark::RegisterBenchmark(name.c_str(), std::forward<F>(f));
}

int register_all() {
    const nerve_isa isas[] = {NERVE_ISA_SCALAR, NERVE_ISA_AVX2, NERVE_ISA_AVX512, NERVE_ISA_NEON};
    for (int act = 0; act < ACT_COUNT; act++) {
        for (nerve_isa isa : isas)
            if (const kernel_table *k = kernels_for(isa))
                reg(std::string("act_fwd/") + kActNames[act] + "/" + k->name,
                    [k, act](benchmark::State &st) { bm_act_fwd(st, k, act); });
#ifdef NERVE_BENCH_HAVE_ONEDNN
        for (const DnnlAct &a : kDnnlActs)
            if (a.act == act)
                reg(std::string("act_fwd/") + kActNames[act] + "/onednn",
                    [a](benchmark::State &st) { bm_dnnl_fwd(st, a); });
#endif
        for (nerve_isa isa : isas)
            if (const kernel_table *k = kernels_for(isa))
                reg(std::string("act_bwd/") + kActNames[act] + "/" + k->name,
                    [k, act](benchmark::State &st) { bm_act_bwd(st, k, act); });
#ifdef NERVE_BENCH_HAVE_ONEDNN
        for (const DnnlAct &a : kDnnlActs)
            if (a.act == act) {
                reg(std::string("act_bwd/") + kActNames[act] + "/onednn",
                    [a](benchmark::State &st) { bm_dnnl_bwd(st, a, false); });
                if (a.alg_dst != dnnl::algorithm::undef)
                    reg(std::string("act_bwd/") + kActNames[act] + "/onednn_dst",
                        [a](benchmark::State &st) { bm_dnnl_bwd(st, a, true); });
            }
#endif
    }
    // Row shapes of 65,536 floats (and 65,530 for 10 classes).
    const std::vector<std::vector<int64_t>> shapes = {{256, 256}, {6553, 10}};
    for (nerve_isa isa : isas) {
        const kernel_table *k = kernels_for(isa);
        if (!k) continue;
        const std::string s = std::string("/") + k->name;
        benchmark::RegisterBenchmark(("softmax" + s).c_str(), bm_softmax, k)->Args(shapes[0])->Args(shapes[1]);
#define REG_LOSS_(E, name, targets, mean, gscale)                                                  \
    benchmark::RegisterBenchmark((std::string("loss_" #name) + s).c_str(), bm_loss_##name, k)      \
        ->Args(shapes[0])                                                                          \
        ->Args(shapes[1]);
        NERVE_LOSS_LIST(REG_LOSS_)
#undef REG_LOSS_
        // <kernel>/<kind> at the kind's defaults (nerve_opt_default: SGD
        // without momentum, Adam, AdamW with weight decay 0.01), then SGD's
        // momentum variants
#define REG_OPT_(E, name, kernel, lr, weight_decay)                                                \
    benchmark::RegisterBenchmark((std::string(#kernel "/" #name) + s).c_str(), bm_opt, k,          \
                                 nerve_opt_default(NERVE_OPT_##E));
        NERVE_OPT_LIST(REG_OPT_)
#undef REG_OPT_
        nerve_opt mom = nerve_opt_default(NERVE_OPT_SGD);
        mom.momentum = 0.9f;
        benchmark::RegisterBenchmark(("sgd/momentum" + s).c_str(), bm_opt, k, mom);
        mom.nesterov = 1;
        benchmark::RegisterBenchmark(("sgd/nesterov" + s).c_str(), bm_opt, k, mom);
        benchmark::RegisterBenchmark(("sum" + s).c_str(), bm_sum, k);
        benchmark::RegisterBenchmark(("dot" + s).c_str(), bm_dot, k);
        benchmark::RegisterBenchmark(("maxabs" + s).c_str(), bm_maxabs, k);
    }
    benchmark::RegisterBenchmark("memcpy", bm_memcpy);
#ifdef NERVE_BENCH_HAVE_ONEDNN
    for (const DnnlAct &a : kDnnlActs)
        benchmark::RegisterBenchmark((std::string("accuracy/") + kActNames[a.act]).c_str(), bm_dnnl_accuracy, a)
            ->Iterations(1);
#endif
    return 0;
}

const int registered = register_all();

}  // namespace
