// Inference throughput (samples/s) of a 784-256-128-10 ReLU network at the
// batch sizes embedders serve (1 to 1024), on 1 and 2 threads:
//   infer/nerve        nerve_net_forward (batch 1: gemv_t on the cached W^T)
//   infer/nerve_const  nerve_net_forward_const after nerve_net_prepare_inference
//                      (one thread by design; the threads argument is ignored)
//   infer/onednn       oneDNN inner product forward_inference per layer, ReLU
//                      fused as a post-op, weights in the layout it prefers
//                      (format_tag::any, reordered once at setup)
// Synthetic inputs (uniform [0, 1)); the speed does not depend on the values.
//
//   build/<dir>/bench/nerve_bench --benchmark_filter='^infer/'
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "nerve/nerve.h"

#ifdef NERVE_BENCH_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
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
using tag = memory::format_tag;
using dt = memory::data_type;

struct DnnlInfer {
    engine eng{engine::kind::cpu, 0};
    stream strm{eng};
    std::vector<inner_product_forward> ip;
    std::vector<memory> w, b, y;
    memory x;

    explicit DnnlInfer(size_t n) {
        const memory::dim N = (memory::dim)n;
        x = memory({{N, (memory::dim)kSizes[0]}, dt::f32, tag::nc}, eng);
        for (size_t l = 0; l < kLayers; l++) {
            const memory::dim I = (memory::dim)kSizes[l], O = (memory::dim)kSizes[l + 1];
            const memory::desc src_md({N, I}, dt::f32, tag::nc), plain_w_md({O, I}, dt::f32, tag::oi),
                any_w_md({O, I}, dt::f32, tag::any), b_md({O}, dt::f32, tag::x),
                dst_md({N, O}, dt::f32, tag::nc);
            primitive_attr attr;
            if (l + 1 < kLayers) {
                post_ops po;
                po.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
                attr.set_post_ops(po);
            }
            auto d = inner_product_forward::desc(prop_kind::forward_inference, src_md, any_w_md, b_md, dst_md);
            auto pd = inner_product_forward::primitive_desc(d, attr, eng);
            ip.emplace_back(pd);
            memory plain_w(plain_w_md, eng);
            float *pw = (float *)plain_w.get_data_handle();
            const float a = std::sqrt(6.0f / (float)I);
            for (size_t i = 0; i < (size_t)(I * O); i++)
                pw[i] = a * ((float)((i * 2654435761u) % 1000) / 500.0f - 1.0f);
            w.emplace_back(pd.weights_desc(), eng);
            reorder(plain_w, w.back()).execute(strm, plain_w, w.back());  // once, at setup
            b.emplace_back(b_md, eng);
            std::memset(b.back().get_data_handle(), 0, (size_t)O * 4);
            y.emplace_back(dst_md, eng);
        }
        strm.wait();
        std::memcpy(x.get_data_handle(), inputs().data(), n * kSizes[0] * sizeof(float));
    }
    void run() {
        for (size_t l = 0; l < kLayers; l++)
            ip[l].execute(strm, {{DNNL_ARG_SRC, l ? y[l - 1] : x},
                                 {DNNL_ARG_WEIGHTS, w[l]},
                                 {DNNL_ARG_BIAS, b[l]},
                                 {DNNL_ARG_DST, y[l]}});
        strm.wait();
    }
};

void bm_onednn(benchmark::State &st) {
    const size_t batch = (size_t)st.range(0);
    omp_set_num_threads((int)st.range(1));
    DnnlInfer net(batch);
    for (auto _ : st) net.run();
    st.SetItemsProcessed((int64_t)st.iterations() * (int64_t)batch);
}
#endif

int register_all() {
    auto args = [](benchmark::internal::Benchmark *b, bool threads) {
        for (int64_t batch : {1, 8, 32, 256, 1024})
            for (int64_t t : {1, 2})
                if (threads || t == 1) b->Args({batch, t});
        b->ArgNames({"batch", "threads"})->UseRealTime()->MinTime(0.3);
    };
    args(benchmark::RegisterBenchmark("infer/nerve", bm_nerve), true);
    args(benchmark::RegisterBenchmark("infer/nerve_const", bm_nerve_const), false);
#ifdef NERVE_BENCH_HAVE_ONEDNN
    args(benchmark::RegisterBenchmark("infer/onednn", bm_onednn), true);
#endif
    return 0;
}

const int registered = register_all();

}  // namespace
