// Elementwise kernels: every activation forward and backward, softmax, the
// losses, the SGD/Adam updates and the sum/dot reductions, for each kernel
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
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "table.h"
}

#ifdef NERVE_BENCH_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

constexpr size_t kN = 65536;  // floats per array: 256 KiB, fits L2 with its peers

const char *const kActNames[ACT_COUNT] = {"identity", "sigmoid", "tanh",  "relu",    "leaky_relu",
                                          "elu",      "gelu",    "silu", "softplus"};

// 64-byte aligned float array.
struct Buf {
    float *p;
    size_t n;
    explicit Buf(size_t count) : p(static_cast<float *>(std::aligned_alloc(64, (count * 4 + 63) / 64 * 64))), n(count) {
        if (!p) std::abort();
    }
    ~Buf() { std::free(p); }
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
    Buf x{kN}, dy{kN}, t{kN};
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
void bm_act_fwd(benchmark::State &st, const kernels *k, int act) {
    Buf y(kN);
    for (auto _ : st) k->act_fwd[act](kN, inputs().x.p, y.p);
    set_counters(st, kN, 8);
}

void bm_act_bwd(benchmark::State &st, const kernels *k, int act) {
    Buf y(kN), dx(kN);
    kernels_scalar.act_fwd[act](kN, inputs().x.p, y.p);
    for (auto _ : st) k->act_bwd[act](kN, inputs().x.p, y.p, inputs().dy.p, dx.p);
    set_counters(st, kN, 16);
}

void bm_softmax(benchmark::State &st, const kernels *k) {
    const size_t rows = static_cast<size_t>(st.range(0)), cols = static_cast<size_t>(st.range(1));
    Buf y(rows * cols);
    for (auto _ : st) k->softmax(rows, cols, inputs().x.p, y.p);
    set_counters(st, rows * cols, 8);
}

void bm_loss_mse(benchmark::State &st, const kernels *k) {
    const size_t rows = static_cast<size_t>(st.range(0)), cols = static_cast<size_t>(st.range(1));
    Buf grad(rows * cols), loss(rows);
    for (auto _ : st)
        k->loss_mse(rows, cols, inputs().x.p, inputs().t.p, 2.0f / static_cast<float>(rows * cols),
                    grad.p, loss.p);
    set_counters(st, rows * cols, 12);
}

void bm_loss_xent(benchmark::State &st, const kernels *k) {
    const size_t rows = static_cast<size_t>(st.range(0)), cols = static_cast<size_t>(st.range(1));
    Buf grad(rows * cols), loss(rows);
    std::vector<int32_t> labels(rows);
    for (size_t i = 0; i < rows; i++) labels[i] = static_cast<int32_t>((i * 7919u) % cols);
    for (auto _ : st)
        k->loss_xent(rows, cols, inputs().x.p, labels.data(), 1.0f / static_cast<float>(rows),
                     grad.p, loss.p);
    set_counters(st, rows * cols, 8);
}

// SGD with momentum 0.9 (reads w, g, v; writes w, v: 20 B per element), or
// plain SGD (momentum 0: reads w, g, writes w: 12 B).
void bm_sgd(benchmark::State &st, const kernels *k, float momentum, int nesterov) {
    Buf w(kN), v(kN);
    std::memcpy(w.p, inputs().x.p, kN * 4);
    std::memset(v.p, 0, kN * 4);
    opt_step s{};
    s.lr = 1e-3f;
    s.momentum = momentum;
    s.nesterov = nesterov;
    for (auto _ : st) k->sgd(kN, w.p, inputs().dy.p, v.p, &s);
    set_counters(st, kN, momentum != 0.0f ? 20 : 12);
}

// Adam / AdamW at step 10 with PyTorch's default betas (reads w, g, m, v;
// writes w, m, v: 28 B per element).
void bm_adam(benchmark::State &st, const kernels *k, int decoupled) {
    Buf w(kN), m(kN), v(kN);
    std::memcpy(w.p, inputs().x.p, kN * 4);
    std::memset(m.p, 0, kN * 4);
    std::memset(v.p, 0, kN * 4);
    opt_step s{};
    s.lr = 1e-3f;
    s.beta1 = 0.9f;
    s.beta2 = 0.999f;
    s.eps = 1e-8f;
    s.step_size = s.lr / (1.0f - std::pow(0.9f, 10.0f));
    s.inv_sqrt_bc2 = 1.0f / std::sqrt(1.0f - std::pow(0.999f, 10.0f));
    s.decoupled = decoupled;
    s.weight_decay = decoupled ? 0.01f : 0.0f;
    for (auto _ : st) k->adam(kN, w.p, inputs().dy.p, m.p, v.p, &s);
    set_counters(st, kN, 28);
}

void bm_sum(benchmark::State &st, const kernels *k) {
    for (auto _ : st) benchmark::DoNotOptimize(k->sum(kN, inputs().x.p));
    set_counters(st, kN, 4);
}

void bm_dot(benchmark::State &st, const kernels *k) {
    for (auto _ : st) benchmark::DoNotOptimize(k->dot(kN, inputs().x.p, inputs().dy.p));
    set_counters(st, kN, 8);
}

void bm_memcpy(benchmark::State &st) {
    Buf y(kN);
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
    Buf y(kN);
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
    Buf y(kN), dx(kN);
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
            if (const kernels *k = kernels_for(isa))
                reg(std::string("act_fwd/") + kActNames[act] + "/" + k->name,
                    [k, act](benchmark::State &st) { bm_act_fwd(st, k, act); });
#ifdef NERVE_BENCH_HAVE_ONEDNN
        for (const DnnlAct &a : kDnnlActs)
            if (a.act == act)
                reg(std::string("act_fwd/") + kActNames[act] + "/onednn",
                    [a](benchmark::State &st) { bm_dnnl_fwd(st, a); });
#endif
        for (nerve_isa isa : isas)
            if (const kernels *k = kernels_for(isa))
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
        const kernels *k = kernels_for(isa);
        if (!k) continue;
        const std::string s = std::string("/") + k->name;
        benchmark::RegisterBenchmark(("softmax" + s).c_str(), bm_softmax, k)->Args(shapes[0])->Args(shapes[1]);
        benchmark::RegisterBenchmark(("loss_mse" + s).c_str(), bm_loss_mse, k)->Args(shapes[0])->Args(shapes[1]);
        benchmark::RegisterBenchmark(("loss_xent" + s).c_str(), bm_loss_xent, k)->Args(shapes[0])->Args(shapes[1]);
        benchmark::RegisterBenchmark(("sgd/plain" + s).c_str(), bm_sgd, k, 0.0f, 0);
        benchmark::RegisterBenchmark(("sgd/momentum" + s).c_str(), bm_sgd, k, 0.9f, 0);
        benchmark::RegisterBenchmark(("sgd/nesterov" + s).c_str(), bm_sgd, k, 0.9f, 1);
        benchmark::RegisterBenchmark(("adam/adam" + s).c_str(), bm_adam, k, 0);
        benchmark::RegisterBenchmark(("adam/adamw" + s).c_str(), bm_adam, k, 1);
        benchmark::RegisterBenchmark(("sum" + s).c_str(), bm_sum, k);
        benchmark::RegisterBenchmark(("dot" + s).c_str(), bm_dot, k);
    }
    benchmark::RegisterBenchmark("memcpy", bm_memcpy);
    return 0;
}

const int registered = register_all();

}  // namespace
