// End-to-end training throughput (samples/s): a 784-256-128-10 ReLU network
// (train/nerve; train/nerve_wide: 784-1024-1024-10; the *_bf16 rows the same
// in bf16 mixed precision, nerve_net_set_precision), softmax cross-entropy,
// SGD with momentum 0.9, at batch 1, 32 and 256 (train/paired_wide also 2048), on 1
// and 2 threads (the "threads" argument is the OpenMP thread limit; the
// library may use fewer for tiny steps). Synthetic data (uniform pixels,
// random labels); the speed of a step does not depend on the values.
//
// Peer (same process, same shapes, same thread limit): a loop of oneDNN
// primitives doing the same step -- inner product forward with a fused ReLU
// post-op, softmax cross-entropy gradient in plain C++, eltwise ReLU
// backward, inner product backward data / weights (with bias), and the
// same momentum SGD update as oneDNN sum primitives. Two registrations:
// train/onednn keeps every tensor in plain layouts (nc / oi); train/onednn_any
// lets oneDNN choose the weight layout (format_tag::any, usually a blocked
// one for its brgemm kernels) and keeps weights, weight gradients and
// momentum in that layout for the whole run (one reorder at setup). The
// label names the implementations oneDNN picked (fwd / bwd data / bwd
// weights of the first layer). train/onednn_wide and train/onednn_deep: the
// plain-layout loop on the wide and the deep-narrow network (784-128x7-10,
// train/nerve_deep), the peers of train/nerve_wide and train/nerve_deep.
// train/paired, train/paired_wide and train/paired_deep run nerve and the
// plain-layout loop alternately, step by step, and report nerve's speed-up
// (run_pairs, below): the comparison these benchmarks exist for, with the
// machine's drift taken out. train/paired_bf16 and train/paired_wide_bf16 do
// the same for nerve in bf16 against nerve in fp32 (no oneDNN needed).
//
//   build/<dir>/bench/nerve_bench --benchmark_filter='^train/'
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "nerve/nerve.h"

#ifdef NERVE_BENCH_HAVE_ONEDNN
#include "dnnl_common.h"
#endif

namespace {

constexpr size_t kLayers = 3;
constexpr size_t kSizes[kLayers + 1] = {784, 256, 128, 10};
constexpr size_t kData = 8192;  // samples cycled through

struct Data {
    std::vector<float> x;
    std::vector<int32_t> labels;
    Data() : x(kData * kSizes[0]), labels(kData) {
        uint64_t s = 0x1234567;
        for (float &v : x) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;  // Knuth's LCG
            v = (float)(s >> 40) / (float)(1 << 24);
        }
        for (size_t i = 0; i < kData; i++) labels[i] = (int32_t)((i * 7919) % kSizes[kLayers]);
    }
};

const Data &data() {
    static const Data d;
    return d;
}

void set_rate(benchmark::State &st, size_t batch) {
    st.SetItemsProcessed((int64_t)st.iterations() * (int64_t)batch);
    st.counters["threads"] = (double)omp_get_max_threads();
}

// The wide network of train/nerve_wide: the same inputs and classes, two
// hidden layers of 1024 (bench/partition_sim.c's "wide" network).
constexpr size_t kWide[kLayers + 1] = {784, 1024, 1024, 10};
// The deep-narrow network of train/nerve_deep: seven hidden layers of 128.
constexpr size_t kDeepLayers = 8;
constexpr size_t kDeep[kDeepLayers + 1] = {784, 128, 128, 128, 128, 128, 128, 128, 10};

// A network shape: its layer count and widths (ReLU hidden layers, identity
// output).
struct Shape {
    size_t layers;
    const size_t *sizes;
};
constexpr Shape kSmallNet = {kLayers, kSizes}, kWideNet = {kLayers, kWide},
                kDeepNet = {kDeepLayers, kDeep};

// The benchmarked network: ReLU hidden layers, identity output, softmax
// cross-entropy, SGD with momentum 0.9 (lr 0.01); NULL (the benchmark
// skipped with the error) if it cannot be made.
nerve_net *make_net(benchmark::State &st, const Shape &shape) {
    std::vector<nerve_act> acts(shape.layers, NERVE_ACT_RELU);
    acts.back() = NERVE_ACT_IDENTITY;
    nerve_net *net = nullptr;
    if (nerve_net_create(&net, shape.layers, shape.sizes, acts.data(), NERVE_LOSS_XENT, 1) !=
        NERVE_OK) {
        st.SkipWithError(nerve_last_error());
        return nullptr;
    }
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.01f;
    o.momentum = 0.9f;
    nerve_net_set_optimizer(net, &o);
    return net;
}

void run_nerve(benchmark::State &st, const Shape &shape, nerve_precision precision) {
    const size_t batch = (size_t)st.range(0);
    omp_set_num_threads((int)st.range(1));
    nerve_net *net = make_net(st, shape);
    if (!net) return;
    nerve_net_set_precision(net, precision);
    const Data &d = data();
    size_t pos = 0;
    for (auto _ : st) {
        if (pos + batch > kData) pos = 0;
        nerve_batch b = {d.x.data() + pos * kSizes[0], nullptr, d.labels.data() + pos, batch};
        float loss;
        if (nerve_net_train_batch(net, &b, &loss) != NERVE_OK) {
            st.SkipWithError(nerve_last_error());
            break;
        }
        pos += batch;
    }
    set_rate(st, batch);
    st.SetLabel(std::string(nerve_isa_name(nerve_isa_active())) +
                (precision == NERVE_PRECISION_BF16
                     ? std::string(" bf16 ") + nerve_isa_bf16(nerve_isa_active())
                     : std::string()));
    nerve_net_free(net);
}

// The same steps through nerve_net_train_epoch, as the tool trains: one
// iteration is an epoch over the kData samples in order, in batches of
// `batch`. nerve_net_train_batch copies each block's old values aside before
// its update (so a step that stores a NaN can be undone, issue 11); an epoch
// takes one snapshot per pass instead and replays on failure, so this is the
// training loop without that per-step copy (the oneDNN loop checks nothing).
void bm_nerve_epoch(benchmark::State &st) {
    const size_t batch = (size_t)st.range(0);
    omp_set_num_threads((int)st.range(1));
    const nerve_act acts[kLayers] = {NERVE_ACT_RELU, NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *net = nullptr;
    if (nerve_net_create(&net, kLayers, kSizes, acts, NERVE_LOSS_XENT, 1) != NERVE_OK) {
        st.SkipWithError(nerve_last_error());
        return;
    }
    nerve_opt o = nerve_opt_default(NERVE_OPT_SGD);
    o.lr = 0.01f;
    o.momentum = 0.9f;
    nerve_net_set_optimizer(net, &o);
    const Data &d = data();
    const nerve_dataset ds = {d.x.data(), nullptr, d.labels.data(), kData, kSizes[0],
                              kSizes[kLayers]};
    nerve_epoch_opts eo = {};
    eo.batch_size = batch;
    for (auto _ : st) {
        if (nerve_net_train_epoch(net, &ds, &eo, nullptr) != NERVE_OK) {
            st.SkipWithError(nerve_last_error());
            break;
        }
    }
    st.SetItemsProcessed((int64_t)st.iterations() * (int64_t)kData);
    st.counters["threads"] = (double)omp_get_max_threads();
    st.SetLabel(nerve_isa_name(nerve_isa_active()));
    nerve_net_free(net);
}

// Two training loops side by side, step by step: one iteration runs
// kPairSteps steps of one, then as many of the other (which goes first
// alternates), on their own networks, with batches from the same data. The
// first step of each block is not timed: it finds the other loop's data in
// cache, and a training loop's steps find their own. The counter <name>_x
// is the median over iterations of (base's timed steps' time / subject's),
// so a machine whose speed drifts affects both sides of every ratio alike;
// <name>_lo / _hi are the quartiles of the same ratios. samples_per_s is
// the subject's, over its timed steps, and gflops its flop rate (step_flops:
// read beside peak/avx512's GFLOPS, the share of the FMA bound; for the bf16
// subject the same count, so beside peak_bf16). Users: train/paired* (base the oneDNN
// loop, subject nerve: nerve_x) and train/paired_bf16* (base nerve in fp32,
// subject nerve in bf16: bf16_x).
//
// Why blocks of 2 (one warm step, one timed): on the 2-core Intel Xeon of
// 2026-12-02 one network's step time alone drifted 0.4-1.4 ms over a second
// (5th to 95th percentile, deep-narrow at batch 32), so the longer a block
// the less its two sides saw the same machine. The deep-narrow network at
// batch 32 on 1 thread, nerve against oneDNN, on the build before the
// transposed forward's epilogue was batched: blocks of 2 gave medians of
// 1.00-1.09 (four runs), blocks of 6, 20 and 60 steps 0.76-1.15 (six runs).
//   nerve_bench --benchmark_filter='^train/paired'
constexpr int kPairSteps = 2;

// One side of a pair: one training step on the batch at sample `at` of
// data(); false when the step failed (nerve_last_error says why).
using StepFn = std::function<bool(size_t at)>;

StepFn nerve_step(nerve_net *net, size_t batch) {
    return [net, batch](size_t at) {
        const Data &d = data();
        nerve_batch b = {d.x.data() + at * kSizes[0], nullptr, d.labels.data() + at, batch};
        float loss;
        return nerve_net_train_batch(net, &b, &loss) == NERVE_OK;
    };
}

// Floating-point operations of one sample's training step on `shape`: per
// layer 2 in out for the forward and for the weight gradient, and for the
// backward-data product of every layer but the first (whose input gradient
// nobody needs). The bias and elementwise work are left out, so
// gflops / peak/avx512's GFLOPS is the step's share of the FMA bound.
double step_flops(const Shape &shape) {
    double f = 0;
    for (size_t l = 0; l < shape.layers; l++)
        f += 2.0 * (double)shape.sizes[l] * (double)shape.sizes[l + 1] * (l ? 3.0 : 2.0);
    return f;
}

void run_pairs(benchmark::State &st, size_t batch, const StepFn &base, const StepFn &subject,
               const std::string &name, double flops_per_sample) {
    size_t pos = 0;
    auto next = [&]() {
        if (pos + batch > kData) pos = 0;
        const size_t at = pos;
        pos += batch;
        return at;
    };
    bool ok = true;
    // one block of one side: seconds of its timed steps
    auto block = [&](const StepFn &step) {
        double t = 0;
        for (int s = 0; s < kPairSteps; s++) {
            const size_t at = next();
            const auto t0 = std::chrono::steady_clock::now();
            ok = ok && step(at);
            const double dt =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (s > 0) t += dt;
        }
        return t;
    };
    std::vector<double> ratios;
    double subject_time = 0;
    bool subject_first = true;
    for (auto _ : st) {
        double ts, tb;
        if (subject_first) {
            ts = block(subject);
            tb = block(base);
        } else {
            tb = block(base);
            ts = block(subject);
        }
        if (!ok) {
            st.SkipWithError(nerve_last_error());
            return;
        }
        subject_first = !subject_first;
        subject_time += ts;
        ratios.push_back(tb / ts);
    }
    if (ratios.empty()) return;
    std::sort(ratios.begin(), ratios.end());
    const size_t n = ratios.size();
    st.counters[name + "_x"] = ratios[n / 2];
    st.counters[name + "_lo"] = ratios[n / 4];
    st.counters[name + "_hi"] = ratios[(3 * n) / 4];
    st.counters["pairs"] = (double)n;
    st.counters["threads"] = (double)omp_get_max_threads();
    st.counters["samples_per_s"] =
        (double)n * (double)(kPairSteps - 1) * (double)batch / subject_time;
    st.counters["gflops"] = st.counters["samples_per_s"] * flops_per_sample * 1e-9;
}

// nerve in bf16 mixed precision against nerve in fp32, step by step
// (run_pairs; issue 16 item 3: bf16_x >= 1.6 at batch 256 on all cores).
void run_paired_bf16(benchmark::State &st, const Shape &shape) {
    const size_t batch = (size_t)st.range(0);
    omp_set_num_threads((int)st.range(1));
    nerve_net *fp32 = make_net(st, shape);
    if (!fp32) return;
    nerve_net *bf16 = make_net(st, shape);
    if (!bf16) {
        nerve_net_free(fp32);
        return;
    }
    if (nerve_net_set_precision(bf16, NERVE_PRECISION_BF16) != NERVE_OK)
        st.SkipWithError(nerve_last_error());
    else
        run_pairs(st, batch, nerve_step(fp32, batch), nerve_step(bf16, batch), "bf16",
                  step_flops(shape));
    st.SetLabel(std::string(nerve_isa_name(nerve_isa_active())) + " bf16 " +
                nerve_isa_bf16(nerve_isa_active()));
    nerve_net_free(bf16);
    nerve_net_free(fp32);
}
void bm_paired_bf16(benchmark::State &st) { run_paired_bf16(st, kSmallNet); }
void bm_paired_wide_bf16(benchmark::State &st) { run_paired_bf16(st, kWideNet); }

void bm_nerve(benchmark::State &st) { run_nerve(st, kSmallNet, NERVE_PRECISION_FP32); }
void bm_nerve_wide(benchmark::State &st) { run_nerve(st, kWideNet, NERVE_PRECISION_FP32); }
void bm_nerve_deep(benchmark::State &st) { run_nerve(st, kDeepNet, NERVE_PRECISION_FP32); }
void bm_nerve_bf16(benchmark::State &st) { run_nerve(st, kSmallNet, NERVE_PRECISION_BF16); }
void bm_nerve_wide_bf16(benchmark::State &st) { run_nerve(st, kWideNet, NERVE_PRECISION_BF16); }

#ifdef NERVE_BENCH_HAVE_ONEDNN
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

// One fully connected layer as oneDNN primitives. Activations are plain (nc);
// weights are plain (oi) or in the layout the forward primitive prefers.
struct DnnlLayer {
    size_t in, out;
    bool relu;
    memory w, b, dw, db, vw, vb;   // weights, bias, gradients, momentum buffers
    memory y;                      // output (after ReLU when relu)
    memory dy;                     // gradient w.r.t. the pre-activation / output
    memory dx;                     // gradient w.r.t. the input (layers > 0)
    inner_product_forward fwd;
    eltwise_backward relu_bwd;
    inner_product_backward_data bwd_data;
    inner_product_backward_weights bwd_w;
};

struct DnnlNet : bench_dnnl::Cpu {  // eng, strm
    std::vector<DnnlLayer> layers;
    memory x;
    size_t batch;
    size_t nl;            // layers
    const size_t *sizes;  // nl + 1 widths (a Shape)
    std::string impl;  // implementations chosen for the first layer

    DnnlNet(size_t n, bool any_weights, const Shape &shape)
        : batch(n), nl(shape.layers), sizes(shape.sizes) {
        const memory::dim N = (memory::dim)n;
        x = memory({{N, (memory::dim)sizes[0]}, dt::f32, tag::nc}, eng);
        for (size_t l = 0; l < nl; l++) {
            DnnlLayer L;
            L.in = sizes[l], L.out = sizes[l + 1];
            L.relu = l + 1 < nl;
            const memory::dim I = (memory::dim)L.in, O = (memory::dim)L.out;
            const memory::desc src_md({N, I}, dt::f32, tag::nc), plain_w_md({O, I}, dt::f32, tag::oi),
                b_md({O}, dt::f32, tag::x), dst_md({N, O}, dt::f32, tag::nc);

            const memory::desc fwd_w_md = any_weights ? memory::desc({O, I}, dt::f32, tag::any) : plain_w_md;
            auto fwd_pd = bench_dnnl::ip_forward(eng, prop_kind::forward_training, src_md, fwd_w_md, b_md, dst_md,
                                                 L.relu);
            L.fwd = inner_product_forward(fwd_pd);
            // The layout every weight-shaped tensor (w, dw, vw) keeps for the
            // whole run; the backward primitives are asked for exactly it.
            const memory::desc w_md = fwd_pd.weights_desc();

            L.dw = memory(w_md, eng), L.vw = memory(w_md, eng);
            L.b = memory(b_md, eng), L.db = memory(b_md, eng), L.vb = memory(b_md, eng);
            L.y = memory(dst_md, eng), L.dy = memory(dst_md, eng), L.dx = memory(src_md, eng);
            memory plain_w(plain_w_md, eng);
            float *w = (float *)plain_w.get_data_handle();
            const float a = std::sqrt(6.0f / (float)L.in);
            for (size_t i = 0; i < L.in * L.out; i++) w[i] = a * ((float)((i * 2654435761u) % 1000) / 500.0f - 1.0f);
            L.w = bench_dnnl::in_layout(*this, plain_w, w_md);  // once, at setup
            std::memset(L.b.get_data_handle(), 0, L.out * 4);
            std::memset(L.vw.get_data_handle(), 0, w_md.get_size());  // zero in any layout
            std::memset(L.vb.get_data_handle(), 0, L.out * 4);
            if (L.relu) {
                auto efwd_d = eltwise_forward::desc(prop_kind::forward_training,
                                                    algorithm::eltwise_relu_use_dst_for_bwd, dst_md, 0.0f);
                auto efwd_pd = eltwise_forward::primitive_desc(efwd_d, eng);
                auto ebwd_d = eltwise_backward::desc(algorithm::eltwise_relu_use_dst_for_bwd, dst_md,
                                                     dst_md, 0.0f);
                L.relu_bwd = eltwise_backward(eltwise_backward::primitive_desc(ebwd_d, eng, efwd_pd));
            }
            auto bd_d = inner_product_backward_data::desc(src_md, w_md, dst_md);
            auto bd_pd = inner_product_backward_data::primitive_desc(bd_d, eng, fwd_pd);
            L.bwd_data = inner_product_backward_data(bd_pd);
            auto bw_d = inner_product_backward_weights::desc(src_md, w_md, b_md, dst_md);
            auto bw_pd = inner_product_backward_weights::primitive_desc(bw_d, eng, fwd_pd);
            L.bwd_w = inner_product_backward_weights(bw_pd);
            if (l == 0)
                impl = std::string(fwd_pd.impl_info_str()) + " / " + bd_pd.impl_info_str() + " / " +
                       bw_pd.impl_info_str() + (w_md == plain_w_md ? " (w oi)" : " (w blocked)");
            sgd_w.push_back(make_sgd(w_md));
            sgd_b.push_back(make_sgd(b_md));
            layers.push_back(std::move(L));
        }
    }

    // Momentum SGD with oneDNN sum primitives (threaded by oneDNN, in place):
    //   v = 0.9 v + g;  w = w - 0.01 v
    struct Sgd {
        sum upd_v, upd_w;
    };
    std::vector<Sgd> sgd_w, sgd_b;

    Sgd make_sgd(const memory::desc &md) {
        const std::vector<memory::desc> mds = {md, md};
        Sgd s;
        s.upd_v = sum(sum::primitive_desc(md, {0.9f, 1.0f}, mds, eng));
        s.upd_w = sum(sum::primitive_desc(md, {1.0f, -0.01f}, mds, eng));
        return s;
    }

    void sgd(const Sgd &s, memory &w, memory &g, memory &v) {
        s.upd_v.execute(strm, {{DNNL_ARG_MULTIPLE_SRC, v}, {DNNL_ARG_MULTIPLE_SRC + 1, g}, {DNNL_ARG_DST, v}});
        s.upd_w.execute(strm, {{DNNL_ARG_MULTIPLE_SRC, w}, {DNNL_ARG_MULTIPLE_SRC + 1, v}, {DNNL_ARG_DST, w}});
    }

    void step(const float *xin, const int32_t *labels) {
        std::memcpy(x.get_data_handle(), xin, batch * sizes[0] * 4);
        for (size_t l = 0; l < nl; l++) {
            DnnlLayer &L = layers[l];
            L.fwd.execute(strm, {{DNNL_ARG_SRC, l ? layers[l - 1].y : x},
                                 {DNNL_ARG_WEIGHTS, L.w},
                                 {DNNL_ARG_BIAS, L.b},
                                 {DNNL_ARG_DST, L.y}});
        }
        // softmax cross-entropy gradient (mean over the batch) into dy
        DnnlLayer &top = layers[nl - 1];
        const size_t C = top.out;
        const float *o = (const float *)top.y.get_data_handle();
        float *g = (float *)top.dy.get_data_handle();
        for (size_t i = 0; i < batch; i++) {
            float m = o[i * C];
            for (size_t j = 1; j < C; j++) m = std::max(m, o[i * C + j]);
            float s = 0;
            for (size_t j = 0; j < C; j++) s += g[i * C + j] = std::exp(o[i * C + j] - m);
            const float inv = 1.0f / (s * (float)batch);
            for (size_t j = 0; j < C; j++) g[i * C + j] *= inv;
            g[i * C + labels[i]] -= 1.0f / (float)batch;
        }
        for (size_t l = nl; l-- > 0;) {
            DnnlLayer &L = layers[l];
            const memory &src = l ? layers[l - 1].y : x;
            L.bwd_w.execute(strm, {{DNNL_ARG_SRC, src},
                                   {DNNL_ARG_DIFF_DST, L.dy},
                                   {DNNL_ARG_DIFF_WEIGHTS, L.dw},
                                   {DNNL_ARG_DIFF_BIAS, L.db}});
            if (l > 0) {
                DnnlLayer &P = layers[l - 1];
                L.bwd_data.execute(strm, {{DNNL_ARG_DIFF_DST, L.dy},
                                          {DNNL_ARG_WEIGHTS, L.w},
                                          {DNNL_ARG_DIFF_SRC, L.dx}});
                P.relu_bwd.execute(strm, {{DNNL_ARG_DST, P.y},
                                          {DNNL_ARG_DIFF_DST, L.dx},
                                          {DNNL_ARG_DIFF_SRC, P.dy}});
            }
        }
        for (size_t l = 0; l < nl; l++) {
            DnnlLayer &L = layers[l];
            sgd(sgd_w[l], L.w, L.dw, L.vw);
            sgd(sgd_b[l], L.b, L.db, L.vb);
        }
        strm.wait();
    }
};

void run_onednn(benchmark::State &st, bool any_weights, const Shape &shape) {
    const size_t batch = (size_t)st.range(0);
    omp_set_num_threads((int)st.range(1));
    DnnlNet net(batch, any_weights, shape);
    const Data &d = data();
    size_t pos = 0;
    for (auto _ : st) {
        if (pos + batch > kData) pos = 0;
        net.step(d.x.data() + pos * kSizes[0], d.labels.data() + pos);
        pos += batch;
    }
    set_rate(st, batch);
    st.SetLabel(net.impl);
}

// nerve and the oneDNN loop side by side, step by step (run_pairs).
void run_paired(benchmark::State &st, const Shape &shape) {
    const size_t batch = (size_t)st.range(0);
    omp_set_num_threads((int)st.range(1));
    nerve_net *net = make_net(st, shape);
    if (!net) return;
    DnnlNet peer(batch, false, shape);
    const Data &d = data();
    const StepFn peer_step = [&](size_t at) {
        peer.step(d.x.data() + at * kSizes[0], d.labels.data() + at);
        return true;
    };
    run_pairs(st, batch, peer_step, nerve_step(net, batch), "nerve", step_flops(shape));
    st.SetLabel(std::string(nerve_isa_name(nerve_isa_active())) + " vs " + peer.impl);
    nerve_net_free(net);
}

void bm_paired(benchmark::State &st) { run_paired(st, kSmallNet); }
void bm_paired_wide(benchmark::State &st) { run_paired(st, kWideNet); }
void bm_paired_deep(benchmark::State &st) { run_paired(st, kDeepNet); }

void bm_onednn(benchmark::State &st) { run_onednn(st, false, kSmallNet); }
void bm_onednn_any(benchmark::State &st) { run_onednn(st, true, kSmallNet); }
void bm_onednn_wide(benchmark::State &st) { run_onednn(st, false, kWideNet); }
void bm_onednn_deep(benchmark::State &st) { run_onednn(st, false, kDeepNet); }
#endif

int register_all() {
    auto args = [](benchmark::internal::Benchmark *b) {
        for (int64_t batch : {1, 32, 256})
            for (int64_t t : {1, 2}) b->Args({batch, t});
        b->ArgNames({"batch", "threads"})->UseRealTime()->MinTime(0.5);
    };
    args(benchmark::RegisterBenchmark("train/nerve", bm_nerve));
    args(benchmark::RegisterBenchmark("train/nerve_wide", bm_nerve_wide));
    args(benchmark::RegisterBenchmark("train/nerve_deep", bm_nerve_deep));
    args(benchmark::RegisterBenchmark("train/nerve_bf16", bm_nerve_bf16));
    args(benchmark::RegisterBenchmark("train/nerve_wide_bf16", bm_nerve_wide_bf16));
    for (auto [name, fn] : {std::pair{"train/paired_bf16", bm_paired_bf16},
                            std::pair{"train/paired_wide_bf16", bm_paired_wide_bf16}}) {
        auto *b = benchmark::RegisterBenchmark(name, fn);
        for (int64_t batch : {32, 256})
            for (int64_t t : {1, 2}) b->Args({batch, t});
        b->ArgNames({"batch", "threads"})->UseRealTime()->MinTime(3.0);
    }
    benchmark::RegisterBenchmark("train/nerve_epoch", bm_nerve_epoch)
        ->Args({32, 1})->Args({32, 2})->Args({256, 1})->Args({256, 2})
        ->ArgNames({"batch", "threads"})->UseRealTime()->MinTime(0.5);
#ifdef NERVE_BENCH_HAVE_ONEDNN
    args(benchmark::RegisterBenchmark("train/onednn", bm_onednn));
    args(benchmark::RegisterBenchmark("train/onednn_any", bm_onednn_any));
    args(benchmark::RegisterBenchmark("train/onednn_wide", bm_onednn_wide));
    args(benchmark::RegisterBenchmark("train/onednn_deep", bm_onednn_deep));
    for (auto [name, fn] :
         {std::pair{"train/paired", bm_paired}, std::pair{"train/paired_wide", bm_paired_wide},
          std::pair{"train/paired_deep", bm_paired_deep}}) {
        auto *b = benchmark::RegisterBenchmark(name, fn);
        for (int64_t batch : {32, 256})
            for (int64_t t : {1, 2}) b->Args({batch, t});
        // the wide network also at a large batch (issue 16: 256 to 2048)
        if (fn == bm_paired_wide)
            for (int64_t t : {1, 2}) b->Args({2048, t});
        b->ArgNames({"batch", "threads"})->UseRealTime()->MinTime(3.0);
    }
#endif
    return 0;
}

const int registered = register_all();

}  // namespace
