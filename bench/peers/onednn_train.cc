// The oneDNN 2.6 primitives training loop of bench/bench_train.cc (train/onednn: inner
// product forward with a fused ReLU post-op, eltwise ReLU backward, inner product backward
// data / weights with bias, momentum SGD as two sum primitives, the softmax cross-entropy
// gradient in plain C++), as a standalone program over the peer recipe (peer_common.h):
// any widths, lr 0.05, momentum 0.9, He-uniform weights, zero biases.
//
//   onednn_train DATA_DIR SIZES BATCH EPOCHS THREADS MAX_SECONDS [bf16]
//
// fp32: plain layouts (nc, oi), as train/onednn. bf16 (mixed precision, as oneDNN's own
// training examples): fp32 master weights, momentum and weight gradients; each step the
// weights are reordered to a bf16 copy in the layout the forward primitive picks
// (format_tag::any), activations and their gradients are bf16, the inner products take
// bf16 sources and produce fp32 weight and bias gradients. If oneDNN cannot create a bf16
// primitive on this CPU the program says so (JSON "error") and exits 3.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../dnnl_common.h"
#include "peer_common.h"

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

struct Layer {
    size_t in, out;
    bool relu;
    memory w, b, dw, db, vw, vb;  // fp32 master weights, bias, gradients, momentum (plain)
    memory wq;                    // weights as the primitives read them (== w in fp32)
    reorder w_to_q;               // bf16 only: master -> wq, every step
    memory y, dy, dx;             // activation dt (f32 or bf16)
    inner_product_forward fwd;
    eltwise_backward relu_bwd;
    inner_product_backward_data bwd_data;
    inner_product_backward_weights bwd_w;
};

struct Net : bench_dnnl::Cpu {  // eng, strm
    std::vector<Layer> layers;
    memory x32, x;        // input: fp32, and as the first layer reads it
    memory out32, dout32; // top output and its gradient in fp32 (bf16: reordered)
    reorder x_to_q, out_to_32, dout_to_q;
    size_t batch;
    bool bf16;
    std::string impl;
    struct Sgd {
        sum upd_v, upd_w;
    };
    std::vector<Sgd> sgd_w, sgd_b;

    Sgd make_sgd(const memory::desc &md) {
        const std::vector<memory::desc> mds = {md, md};
        Sgd s;
        s.upd_v = sum(sum::primitive_desc(md, {0.9f, 1.0f}, mds, eng));
        s.upd_w = sum(sum::primitive_desc(md, {1.0f, -0.05f}, mds, eng));
        return s;
    }

    Net(const size_t *sizes, size_t L, size_t n, bool bf) : batch(n), bf16(bf) {
        const memory::dim N = (memory::dim)n;
        const dt adt = bf ? dt::bf16 : dt::f32;
        x32 = memory({{N, (memory::dim)sizes[0]}, dt::f32, tag::nc}, eng);
        x = bf ? memory({{N, (memory::dim)sizes[0]}, adt, tag::nc}, eng) : x32;
        if (bf) x_to_q = reorder(x32, x);
        uint64_t s = 1;
        for (size_t l = 0; l < L; l++) {
            Layer Ly;
            Ly.in = sizes[l], Ly.out = sizes[l + 1];
            Ly.relu = l + 1 < L;
            const memory::dim I = (memory::dim)Ly.in, O = (memory::dim)Ly.out;
            const memory::desc src_md({N, I}, adt, tag::nc), dst_md({N, O}, adt, tag::nc),
                w32_md({O, I}, dt::f32, tag::oi), b_md({O}, dt::f32, tag::x);
            const memory::desc wq_any = bf ? memory::desc({O, I}, dt::bf16, tag::any) : w32_md;
            auto fwd_pd = bench_dnnl::ip_forward(eng, prop_kind::forward_training, src_md, wq_any, b_md, dst_md,
                                                 Ly.relu);
            Ly.fwd = inner_product_forward(fwd_pd);
            const memory::desc wq_md = fwd_pd.weights_desc();
            Ly.w = memory(w32_md, eng), Ly.dw = memory(w32_md, eng), Ly.vw = memory(w32_md, eng);
            Ly.b = memory(b_md, eng), Ly.db = memory(b_md, eng), Ly.vb = memory(b_md, eng);
            Ly.wq = bf ? memory(wq_md, eng) : Ly.w;
            if (bf) Ly.w_to_q = reorder(Ly.w, Ly.wq);
            Ly.y = memory(dst_md, eng), Ly.dy = memory(dst_md, eng), Ly.dx = memory(src_md, eng);
            float *w = (float *)Ly.w.get_data_handle();
            const float a = std::sqrt(6.0f / (float)Ly.in);
            for (size_t i = 0; i < Ly.in * Ly.out; i++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                w[i] = a * ((float)(s >> 40) / (float)(1 << 23) - 1.0f);
            }
            std::memset(Ly.b.get_data_handle(), 0, Ly.out * 4);
            std::memset(Ly.vw.get_data_handle(), 0, Ly.in * Ly.out * 4);
            std::memset(Ly.vb.get_data_handle(), 0, Ly.out * 4);
            if (Ly.relu) {
                auto efwd_pd = eltwise_forward::primitive_desc(
                    eltwise_forward::desc(prop_kind::forward_training, algorithm::eltwise_relu_use_dst_for_bwd,
                                          dst_md, 0.0f), eng);
                Ly.relu_bwd = eltwise_backward(eltwise_backward::primitive_desc(
                    eltwise_backward::desc(algorithm::eltwise_relu_use_dst_for_bwd, dst_md, dst_md, 0.0f), eng,
                    efwd_pd));
            }
            auto bd_pd = inner_product_backward_data::primitive_desc(
                inner_product_backward_data::desc(src_md, wq_md, dst_md), eng, fwd_pd);
            Ly.bwd_data = inner_product_backward_data(bd_pd);
            auto bw_pd = inner_product_backward_weights::primitive_desc(
                inner_product_backward_weights::desc(src_md, w32_md, b_md, dst_md), eng, fwd_pd);
            if (bw_pd.diff_weights_desc() != w32_md) throw std::runtime_error("diff weights not plain f32");
            Ly.bwd_w = inner_product_backward_weights(bw_pd);
            if (l == 0)
                impl = std::string("oneDNN ") + std::to_string(dnnl_version()->major) + "." +
                       std::to_string(dnnl_version()->minor) + "." + std::to_string(dnnl_version()->patch) +
                       ", first layer fwd / bwd_d / bwd_w: " + fwd_pd.impl_info_str() + " / " +
                       bd_pd.impl_info_str() + " / " + bw_pd.impl_info_str();
            sgd_w.push_back(make_sgd(w32_md));
            sgd_b.push_back(make_sgd(b_md));
            layers.push_back(std::move(Ly));
        }
        const Layer &top = layers.back();
        out32 = bf ? memory({{N, (memory::dim)top.out}, dt::f32, tag::nc}, eng) : top.y;
        dout32 = bf ? memory({{N, (memory::dim)top.out}, dt::f32, tag::nc}, eng) : top.dy;
        if (bf) out_to_32 = reorder(top.y, out32), dout_to_q = reorder(dout32, top.dy);
    }

    void forward(const float *xin) {
        std::memcpy(x32.get_data_handle(), xin, batch * layers[0].in * 4);
        if (bf16) x_to_q.execute(strm, x32, x);
        for (size_t l = 0; l < layers.size(); l++) {
            Layer &Ly = layers[l];
            Ly.fwd.execute(strm, {{DNNL_ARG_SRC, l ? layers[l - 1].y : x},
                                  {DNNL_ARG_WEIGHTS, Ly.wq},
                                  {DNNL_ARG_BIAS, Ly.b},
                                  {DNNL_ARG_DST, Ly.y}});
        }
        if (bf16) out_to_32.execute(strm, layers.back().y, out32);
        strm.wait();
    }

    void step(const float *xin, const int32_t *labels) {
        if (bf16)
            for (Layer &Ly : layers) Ly.w_to_q.execute(strm, Ly.w, Ly.wq);
        forward(xin);
        const size_t C = layers.back().out;
        const float *o = (const float *)out32.get_data_handle();
        float *g = (float *)dout32.get_data_handle();
        for (size_t i = 0; i < batch; i++) {
            float m = o[i * C];
            for (size_t j = 1; j < C; j++) m = std::max(m, o[i * C + j]);
            float s = 0;
            for (size_t j = 0; j < C; j++) s += g[i * C + j] = std::exp(o[i * C + j] - m);
            const float inv = 1.0f / (s * (float)batch);
            for (size_t j = 0; j < C; j++) g[i * C + j] *= inv;
            g[i * C + labels[i]] -= 1.0f / (float)batch;
        }
        if (bf16) dout_to_q.execute(strm, dout32, layers.back().dy);
        for (size_t l = layers.size(); l-- > 0;) {
            Layer &Ly = layers[l];
            Ly.bwd_w.execute(strm, {{DNNL_ARG_SRC, l ? layers[l - 1].y : x},
                                    {DNNL_ARG_DIFF_DST, Ly.dy},
                                    {DNNL_ARG_DIFF_WEIGHTS, Ly.dw},
                                    {DNNL_ARG_DIFF_BIAS, Ly.db}});
            if (l > 0) {
                Layer &P = layers[l - 1];
                Ly.bwd_data.execute(strm, {{DNNL_ARG_DIFF_DST, Ly.dy}, {DNNL_ARG_WEIGHTS, Ly.wq}, {DNNL_ARG_DIFF_SRC, Ly.dx}});
                P.relu_bwd.execute(strm, {{DNNL_ARG_DST, P.y}, {DNNL_ARG_DIFF_DST, Ly.dx}, {DNNL_ARG_DIFF_SRC, P.dy}});
            }
        }
        for (size_t l = 0; l < layers.size(); l++) {
            Layer &Ly = layers[l];
            for (int wb = 0; wb < 2; wb++) {
                const Sgd &s = wb ? sgd_b[l] : sgd_w[l];
                memory &w = wb ? Ly.b : Ly.w, &gr = wb ? Ly.db : Ly.dw, &v = wb ? Ly.vb : Ly.vw;
                s.upd_v.execute(strm, {{DNNL_ARG_MULTIPLE_SRC, v}, {DNNL_ARG_MULTIPLE_SRC + 1, gr}, {DNNL_ARG_DST, v}});
                s.upd_w.execute(strm, {{DNNL_ARG_MULTIPLE_SRC, w}, {DNNL_ARG_MULTIPLE_SRC + 1, v}, {DNNL_ARG_DST, w}});
            }
        }
        strm.wait();
    }
};

}  // namespace

int main(int argc, char **argv) {
    const bool bf = argc == 8 && std::string(argv[7]) == "bf16";
    peer_args a;
    peer_data d;
    peer_parse(bf ? 7 : argc, argv, &a);
    peer_load(a.dir, &d);
    if (a.threads > 0) omp_set_num_threads(a.threads);
    const size_t C = a.sizes[a.n_layers];
    try {
        Net train(a.sizes, a.n_layers, a.batch, bf);
        size_t samples = 0;
        int complete = 1;
        const double t0 = peer_now();
        for (size_t e = 0; e < a.epochs && complete; e++)
            for (size_t pos = 0; pos + a.batch <= d.n_train; pos += a.batch) {
                train.step(d.xtr + pos * d.d, d.ytr + pos);
                samples += a.batch;
                if (peer_now() - t0 > a.max_seconds) {
                    complete = 0;
                    break;
                }
            }
        const double secs = peer_now() - t0;
        // test accuracy: the trained weights in a net of the test batch size
        std::vector<float> logits(d.n_test * C);
        const size_t tb = 1000 < d.n_test ? 1000 : d.n_test;
        Net ev(a.sizes, a.n_layers, tb, bf);
        for (size_t l = 0; l < a.n_layers; l++) {
            std::memcpy(ev.layers[l].w.get_data_handle(), train.layers[l].w.get_data_handle(), a.sizes[l] * a.sizes[l + 1] * 4);
            std::memcpy(ev.layers[l].b.get_data_handle(), train.layers[l].b.get_data_handle(), a.sizes[l + 1] * 4);
            if (bf) ev.layers[l].w_to_q.execute(ev.strm, ev.layers[l].w, ev.layers[l].wq);
        }
        size_t evaluated = 0;
        for (size_t pos = 0; pos + tb <= d.n_test; pos += tb) {
            ev.forward(d.xte + pos * d.d);
            std::memcpy(logits.data() + pos * C, ev.out32.get_data_handle(), tb * C * 4);
            evaluated += tb;
        }
        peer_report("onednn", bf ? "bf16" : "fp32", &a, &d, samples, secs,
                    peer_accuracy(logits.data(), d.yte, evaluated, C), complete, train.impl.c_str());
    } catch (const std::exception &e) {
        printf("{\"system\": \"onednn\", \"precision\": \"%s\", \"batch\": %zu, \"error\": \"%s\"}\n",
               bf ? "bf16" : "fp32", a.batch, e.what());
        return 3;
    }
    return 0;
}
