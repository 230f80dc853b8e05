// Inference throughput (samples/s) of a 784-256-128-10 ReLU network at the
// batch sizes embedders serve (1 to 1024), on 1 and 2 threads:
//   infer/nerve        nerve_net_forward (prepared weights: the packed panels of
//                      src/net/infer.c, built by its first call)
//   infer/nerve_const  nerve_net_forward_const after nerve_net_prepare_inference
//                      (one thread by design; the threads argument is ignored)
//   infer/onednn       oneDNN inner product forward_inference per layer, ReLU
//                      fused as a post-op, weights in the layout it prefers
//                      (format_tag::any, reordered once at setup)
//   infer/side_by_side the three alternating call by call in one loop, each
//                      call timed: counters forward_us, const_us (threads:1),
//                      onednn_us are the best call of each, ratio / const_ratio
//                      oneDNN's best time over nerve's (above 1: nerve faster),
//                      median_ratio / const_median_ratio the same of the
//                      median calls. A preempted call only loses and the
//                      calls interleave, so on a loaded machine these are the
//                      figures to compare.
// Synthetic inputs (uniform [0, 1)); the speed does not depend on the values.
//
//   build/<dir>/bench/nerve_bench --benchmark_filter='^infer/'
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "nerve/nerve.h"

#ifdef NERVE_BENCH_HAVE_ONEDNN
#include "dnnl_common.h"
#endif

namespace {

constexpr size_t kLayers = 3;
constexpr size_t kSizes[kLayers + 1] = {784, 256, 128, 10};
constexpr size_t kMaxBatch = 1024;

const std::vector<float> &inputs() {
    static const std::vector<float> x = [] {
        std::vector<float> v(kMaxBatch * kSizes[0]);
        uint64_t s = 0x9E3779B9;
        for (float &f : v) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;  // Knuth's LCG
            f = (float)(s >> 40) / (float)(1 << 24);
        }
        return v;
    }();
    return x;
}

nerve_net *make_net() {
    const nerve_act acts[kLayers] = {NERVE_ACT_RELU, NERVE_ACT_RELU, NERVE_ACT_IDENTITY};
    nerve_net *net = nullptr;
    if (nerve_net_create(&net, kLayers, kSizes, acts, NERVE_LOSS_XENT, 1) != NERVE_OK) return nullptr;
    return net;
}

void bm_nerve(benchmark::State &st) {
    const size_t batch = (size_t)st.range(0);
    omp_set_num_threads((int)st.range(1));
    nerve_net *net = make_net();
    if (!net) {
        st.SkipWithError(nerve_last_error());
        return;
    }
    std::vector<float> out(batch * kSizes[kLayers]);
    for (auto _ : st) {
        nerve_net_forward(net, inputs().data(), batch, out.data());
        benchmark::DoNotOptimize(out.data());
    }
    st.SetItemsProcessed((int64_t)st.iterations() * (int64_t)batch);
    nerve_net_free(net);
}

void bm_nerve_const(benchmark::State &st) {
    const size_t batch = (size_t)st.range(0);
    nerve_net *net = make_net();
    if (!net || nerve_net_prepare_inference(net) != NERVE_OK) {
        st.SkipWithError(nerve_last_error());
        return;
    }
    std::vector<float> out(batch * kSizes[kLayers]);
    std::vector<float> scratch(nerve_net_forward_scratch_floats(net, batch));
    for (auto _ : st) {
        nerve_net_forward_const(net, inputs().data(), batch, out.data(), scratch.data());
        benchmark::DoNotOptimize(out.data());
    }
    st.SetItemsProcessed((int64_t)st.iterations() * (int64_t)batch);
    nerve_net_free(net);
}

#ifdef NERVE_BENCH_HAVE_ONEDNN
using namespace dnnl;
using bench_dnnl::mat;
using bench_dnnl::tag;
using bench_dnnl::vec;

struct DnnlInfer {
    bench_dnnl::Cpu cpu;
    std::vector<inner_product_forward> ip;
    std::vector<memory> w, b, y;
    memory x;

    explicit DnnlInfer(size_t n) {
        const memory::dim N = (memory::dim)n;
        x = memory(mat(N, (memory::dim)kSizes[0], tag::nc), cpu.eng);
        for (size_t l = 0; l < kLayers; l++) {
            const memory::dim I = (memory::dim)kSizes[l], O = (memory::dim)kSizes[l + 1];
            auto pd = bench_dnnl::ip_forward(cpu.eng, prop_kind::forward_inference, mat(N, I, tag::nc),
                                             mat(O, I, tag::any), vec(O), mat(N, O, tag::nc), l + 1 < kLayers);
            ip.emplace_back(pd);
            memory plain_w(mat(O, I, tag::oi), cpu.eng);
            float *pw = (float *)plain_w.get_data_handle();
            const float a = std::sqrt(6.0f / (float)I);
            for (size_t i = 0; i < (size_t)(I * O); i++)
                pw[i] = a * ((float)((i * 2654435761u) % 1000) / 500.0f - 1.0f);
            w.push_back(bench_dnnl::in_layout(cpu, plain_w, pd.weights_desc()));  // once, at setup
            b.emplace_back(vec(O), cpu.eng);
            std::memset(b.back().get_data_handle(), 0, (size_t)O * 4);
            y.emplace_back(mat(N, O, tag::nc), cpu.eng);
        }
        std::memcpy(x.get_data_handle(), inputs().data(), n * kSizes[0] * sizeof(float));
    }
    void run() {
        for (size_t l = 0; l < kLayers; l++)
            ip[l].execute(cpu.strm, {{DNNL_ARG_SRC, l ? y[l - 1] : x},
                                     {DNNL_ARG_WEIGHTS, w[l]},
                                     {DNNL_ARG_BIAS, b[l]},
                                     {DNNL_ARG_DST, y[l]}});
        cpu.strm.wait();
    }
};

void bm_onednn(benchmark::State &st) {
    const size_t batch = (size_t)st.range(0);
    omp_set_num_threads((int)st.range(1));
    DnnlInfer net(batch);
    for (auto _ : st) net.run();
    st.SetItemsProcessed((int64_t)st.iterations() * (int64_t)batch);
}

void bm_side_by_side(benchmark::State &st) {
    const size_t batch = (size_t)st.range(0);
    const int threads = (int)st.range(1);
    omp_set_num_threads(threads);
    nerve_net *net = make_net();
    if (!net || nerve_net_prepare_inference(net) != NERVE_OK) {
        st.SkipWithError(nerve_last_error());
        return;
    }
    DnnlInfer dn(batch);
    std::vector<float> out(batch * kSizes[kLayers]);
    std::vector<float> scratch(nerve_net_forward_scratch_floats(net, batch));
    auto now = [] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    };
    // Each timed call follows two untimed ones of the same kind, so every one
    // finds its own weights in cache (two copies of 0.9 MiB do not fit the
    // 2 MiB L2 together, and one call after the other's is not quite enough
    // to evict them all), as in the loops of the benchmarks above.
    std::vector<double> tf, tc, td;
    for (auto _ : st) {
        for (int i = 0; i < 2; i++) nerve_net_forward(net, inputs().data(), batch, out.data());
        const double t0 = now();
        nerve_net_forward(net, inputs().data(), batch, out.data());
        tf.push_back(now() - t0);
        benchmark::DoNotOptimize(out.data());
        if (threads == 1) {
            for (int i = 0; i < 2; i++)
                nerve_net_forward_const(net, inputs().data(), batch, out.data(), scratch.data());
            const double t1 = now();
            nerve_net_forward_const(net, inputs().data(), batch, out.data(), scratch.data());
            tc.push_back(now() - t1);
            benchmark::DoNotOptimize(out.data());
        }
        for (int i = 0; i < 2; i++) dn.run();
        const double t2 = now();
        dn.run();
        td.push_back(now() - t2);
    }
    // best and median call of each: the best is what a call costs when
    // nothing else interferes, the median what the interleaved calls met
    // alike; ratios are oneDNN's time over nerve's (above 1: nerve faster)
    auto best = [](std::vector<double> &v) { return *std::min_element(v.begin(), v.end()); };
    auto median = [](std::vector<double> &v) {
        std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
        return v[v.size() / 2];
    };
    st.counters["forward_us"] = best(tf) * 1e6;
    st.counters["onednn_us"] = best(td) * 1e6;
    st.counters["ratio"] = best(td) / best(tf);
    st.counters["median_ratio"] = median(td) / median(tf);
    if (threads == 1) {
        st.counters["const_us"] = best(tc) * 1e6;
        st.counters["const_ratio"] = best(td) / best(tc);
        st.counters["const_median_ratio"] = median(td) / median(tc);
    }
    nerve_net_free(net);
}
#endif

int register_all() {
    auto args = [](benchmark::internal::Benchmark *b, bool threads) {
        for (int64_t batch : {1, 2, 4, 8, 16, 32, 64, 256, 1024})
            for (int64_t t : {1, 2})
                if (threads || t == 1) b->Args({batch, t});
        b->ArgNames({"batch", "threads"})->UseRealTime()->MinTime(0.3);
    };
    args(benchmark::RegisterBenchmark("infer/nerve", bm_nerve), true);
    args(benchmark::RegisterBenchmark("infer/nerve_const", bm_nerve_const), false);
#ifdef NERVE_BENCH_HAVE_ONEDNN
    args(benchmark::RegisterBenchmark("infer/onednn", bm_onednn), true);
    auto *sbs = benchmark::RegisterBenchmark("infer/side_by_side", bm_side_by_side);
    args(sbs, true);
    sbs->MinTime(1.0);
#endif
    return 0;
}

const int registered = register_all();

}  // namespace
