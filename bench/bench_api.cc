// The public kernel library (kernels.h) through its public entry points, as
// a framework embedding nerve would call it (dispatch, validation and the
// thread policy included; bench_eltwise.cc times the table kernel_table directly).
//
// Names: api/<kernel>/<variant>/<isa>[/<threads>t]. Counters:
//   items_per_second  elements per second (elementwise) or rows x cols;
//   memcpy_share      this call's bytes per second (every array its interface
//                     reads or writes, once) over memcpy's, where memcpy is
//                     timed in the same benchmark right after the call's own
//                     loop, on arrays of the same size: a ratio taken side by
//                     side, so it holds on a loaded machine;
//   GFLOPS            the fused layer: 2 n in out flops per product
//                     (forward one product, backward two: dW and dX);
// oneDNN (NERVE_BENCH_HAVE_ONEDNN): api/linear_fwd/<shape>/onednn[_blocked]
// is its inner product with a ReLU post-op on the same shapes, plain or
// blocked weights; compare GFLOPS with the nerve rows of the same run.
// The ISA is selected with nerve_set_max_isa, the threads with
// nerve_set_num_threads; run with OMP_NUM_THREADS unset or 2.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <omp.h>

#include "nerve/nerve.h"

#ifdef NERVE_BENCH_HAVE_ONEDNN
#include "dnnl_common.h"
#endif

namespace {

constexpr size_t kN = 65536; // floats per array, as bench_eltwise.cc: in L2

#define API_ACT_NAME_(E, name) #name,
const char *const kActs[NERVE_ACT_COUNT] = {NERVE_ACT_LIST(API_ACT_NAME_)};
#undef API_ACT_NAME_

// Page-aligned arrays at staggered offsets (no 4 KiB aliasing between them,
// see bench_eltwise.cc).
struct Arr {
    void *base;
    float *p;
    Arr(size_t n, int slot, uint64_t seed, float lo, float hi)
        : base(std::aligned_alloc(4096, (n * 4 + 576 * 8 + 4095) / 4096 * 4096)),
          p(reinterpret_cast<float *>(static_cast<char *>(base) + 576 * slot)) {
        if (!base) std::abort();
        uint64_t s = seed;
        for (size_t i = 0; i < n; i++) {
            uint64_t z = (s += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            p[i] = lo + (hi - lo) * static_cast<float>(z >> 40) / 16777216.0f;
        }
    }
    ~Arr() { std::free(base); }
    Arr(const Arr &) = delete;
    Arr &operator=(const Arr &) = delete;
};

void ok(benchmark::State &st, nerve_status s) {
    if (s != NERVE_OK) st.SkipWithError(nerve_last_error());
}

// Selects the ISA and thread count for one benchmark and restores the best
// ISA and OpenMP's default thread count afterwards (other benchmark files
// rely on the defaults).
struct Setup {
    bool ok;
    Setup(benchmark::State &st, nerve_isa isa, int threads) : ok(true) {
        if (nerve_set_max_isa(isa) != NERVE_OK || nerve_isa_active() != isa) {
            st.SkipWithError("ISA not supported");
            ok = false;
        }
        nerve_set_num_threads(threads);
    }
    ~Setup() {
        nerve_set_max_isa(nerve_isa_best());
        nerve_set_num_threads(0);
    }
    Setup(const Setup &) = delete;
    Setup &operator=(const Setup &) = delete;
};

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Counters for an elementwise call (items elements, bytes_per_item bytes of
// its interface each): items/bytes per second from the benchmark loop, and,
// from kReps alternations of one call and one memcpy of memcpy_floats floats
// timed side by side right after it, the best time of each:
//   best_Gitems   items / best call time, in 1e9 per second
//   memcpy_share  (call bytes / best call time) / (memcpy bytes / best memcpy time)
// Best-of times and the alternation keep the ratio meaningful on a loaded
// machine (a preempted repetition only loses).
constexpr int kReps = 48;
template <class F>
void finish(benchmark::State &st, size_t items, double bytes_per_item, F op, size_t memcpy_floats) {
    const double n = static_cast<double>(st.iterations()) * static_cast<double>(items);
    st.SetItemsProcessed(static_cast<int64_t>(n));
    st.SetBytesProcessed(static_cast<int64_t>(n * bytes_per_item));
    Arr a(memcpy_floats, 6, 1, 0, 1), b(memcpy_floats, 7, 2, 0, 1);
    double best_op = 1e30, best_mc = 1e30;
    for (int r = 0; r < kReps; r++) {
        const double t0 = now();
        op();
        const double t1 = now();
        std::memcpy(b.p, a.p, memcpy_floats * 4);
        benchmark::ClobberMemory();
        const double t2 = now();
        best_op = std::min(best_op, t1 - t0);
        best_mc = std::min(best_mc, t2 - t1);
    }
    st.counters["best_Gitems"] = static_cast<double>(items) / best_op * 1e-9;
    st.counters["memcpy_share"] = (bytes_per_item * static_cast<double>(items) / best_op) /
                                  (8.0 * static_cast<double>(memcpy_floats) / best_mc);
}

// ---- elementwise ------------------------------------------------------------------
void bm_act_fwd(benchmark::State &st, nerve_isa isa, nerve_act act) {
    const Setup su(st, isa, 1);
    if (!su.ok) return;
    Arr x(kN, 0, 1, -4, 4), y(kN, 3, 2, 0, 1);
    auto op = [&] { ok(st, nerve_act_forward(act, kN, x.p, y.p)); };
    for (auto _ : st) op();
    finish(st, kN, 8, op, kN);
}

void bm_act_bwd(benchmark::State &st, nerve_isa isa, nerve_act act) {
    const Setup su(st, isa, 1);
    if (!su.ok) return;
    Arr x(kN, 0, 1, -4, 4), y(kN, 1, 2, 0, 1), dy(kN, 2, 3, -1, 1), dx(kN, 3, 4, 0, 1);
    nerve_act_forward(act, kN, x.p, y.p);
    auto op = [&] { ok(st, nerve_act_backward(act, kN, x.p, y.p, dy.p, dx.p)); };
    for (auto _ : st) op();
    finish(st, kN, 16, op, kN);
}

void bm_softmax(benchmark::State &st, nerve_isa isa) {
    const Setup su(st, isa, 1);
    if (!su.ok) return;
    const size_t rows = 256, cols = 256;
    Arr x(kN, 0, 1, -4, 4), y(kN, 3, 2, 0, 1);
    auto op = [&] { ok(st, nerve_softmax(rows, cols, x.p, cols, y.p, cols)); };
    for (auto _ : st) op();
    finish(st, kN, 8, op, kN);
}

void bm_loss(benchmark::State &st, nerve_isa isa, bool xent) {
    const Setup su(st, isa, 1);
    if (!su.ok) return;
    const size_t rows = 6553, cols = 10, n = rows * cols;
    Arr o(n, 0, 1, -4, 4), t(n, 1, 2, 0, 1), g(n, 3, 3, 0, 1), rl(rows, 4, 4, 0, 1);
    std::vector<int32_t> lab(rows);
    for (size_t i = 0; i < rows; i++) lab[i] = static_cast<int32_t>(i % cols);
    float mean;
    auto op = [&] {
        if (xent)
            ok(st, nerve_loss_xent(rows, cols, o.p, cols, lab.data(), 1.0f / rows, g.p, cols, rl.p,
                                   &mean));
        else
            ok(st,
               nerve_loss_mse(rows, cols, o.p, cols, t.p, cols, 2.0f / n, g.p, cols, rl.p, &mean));
        benchmark::DoNotOptimize(mean);
    };
    for (auto _ : st) op();
    // out (and targets) read, grad written, one row loss per 10 elements
    finish(st, n, xent ? 8.4 : 12.4, op, n);
}

void bm_optim(benchmark::State &st, nerve_isa isa, int kind) {
    const Setup su(st, isa, 1);
    if (!su.ok) return;
    Arr w(kN, 0, 1, -1, 1), g(kN, 1, 2, -1, 1), m(kN, 2, 3, 0, 0), v(kN, 3, 4, 0, 0);
    const nerve_sgd_params sp = {0.01f, 0.9f, 0.0f, 0.0f, kind == 1};
    const nerve_adam_params ap = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f};
    uint64_t step = 1;
    auto op = [&] {
        if (kind <= 1) ok(st, nerve_sgd_update(kN, w.p, g.p, m.p, &sp, step));
        if (kind == 2) ok(st, nerve_adam_update(kN, w.p, g.p, m.p, v.p, &ap, step));
        if (kind == 3) ok(st, nerve_adamw_update(kN, w.p, g.p, m.p, v.p, &ap, step));
        step++;
    };
    for (auto _ : st) op();
    // sgd: read w, g, m, write w, m = 20 B; adam: + v read and written = 28 B
    finish(st, kN, kind <= 1 ? 20 : 28, op, kN);
}

void bm_blas1(benchmark::State &st, nerve_isa isa, int kind) {
    const Setup su(st, isa, 1);
    if (!su.ok) return;
    Arr x(kN, 0, 1, -1, 1), y(kN, 1, 2, -1, 1);
    float r = 0;
    auto op = [&] {
        if (kind == 0) ok(st, nerve_sum(kN, x.p, &r));
        if (kind == 1) ok(st, nerve_dot(kN, x.p, y.p, &r));
        if (kind == 2) ok(st, nerve_axpby(kN, 0.5f, x.p, 0.5f, y.p));
        if (kind == 3) ok(st, nerve_colsum(256, 256, x.p, 256, y.p, 0));
        benchmark::DoNotOptimize(r);
    };
    for (auto _ : st) op();
    const double bytes[] = {4, 8, 12, 4};
    finish(st, kN, bytes[kind], op, kN);
}

// ---- the fused linear layer ------------------------------------------------------------
struct Shape {
    size_t n, in, out;
};

// GFLOPS from the benchmark loop, and best_GFLOPS from the best of 48 to 192
// more calls (robust on a loaded machine).
template <class F> void set_flops(benchmark::State &st, double flops, F op) {
    st.counters["GFLOPS"] =
        benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    double best = 1e30;
    const double start = now();
    for (int r = 0; r < 4 * kReps && (r < kReps || now() - start < 0.3); r++) {
        const double t0 = now();
        op();
        best = std::min(best, now() - t0);
    }
    st.counters["best_GFLOPS"] = flops / best * 1e-9;
}

void bm_linear_fwd(benchmark::State &st, nerve_isa isa, Shape s, int threads) {
    const Setup su(st, isa, threads);
    if (!su.ok) return;
    Arr x(s.n * s.in, 0, 1, 0, 1), w(s.out * s.in, 1, 2, -0.1f, 0.1f), b(s.out, 2, 3, -0.1f, 0.1f),
        z(s.n * s.out, 3, 4, 0, 1), y(s.n * s.out, 4, 5, 0, 1);
    auto op = [&] {
        ok(st, nerve_linear_forward(s.n, s.in, s.out, x.p, w.p, b.p, NERVE_ACT_RELU, z.p, y.p));
        benchmark::ClobberMemory();
    };
    for (auto _ : st) op();
    set_flops(
        st, 2.0 * static_cast<double>(s.n) * static_cast<double>(s.in) * static_cast<double>(s.out),
        op);
}

// dW, db and dX with the previous layer's ReLU derivative fused
void bm_linear_bwd(benchmark::State &st, nerve_isa isa, Shape s, int threads) {
    const Setup su(st, isa, threads);
    if (!su.ok) return;
    Arr x(s.n * s.in, 0, 1, 0, 1), w(s.out * s.in, 1, 2, -0.1f, 0.1f), dz(s.n * s.out, 2, 3, -1, 1),
        dw(s.out * s.in, 3, 4, 0, 1), db(s.out, 4, 5, 0, 1), dx(s.n * s.in, 5, 6, 0, 1),
        pz(s.n * s.in, 6, 7, -1, 1);
    auto op = [&] {
        ok(st, nerve_linear_backward(s.n, s.in, s.out, x.p, w.p, dz.p, dw.p, db.p, 0,
                                     NERVE_ACT_RELU, pz.p, x.p, dx.p));
        benchmark::ClobberMemory();
    };
    for (auto _ : st) op();
    set_flops(
        st, 4.0 * static_cast<double>(s.n) * static_cast<double>(s.in) * static_cast<double>(s.out),
        op);
}

#ifdef NERVE_BENCH_HAVE_ONEDNN
// oneDNN's inner product with a ReLU post-op, plain layouts (nc, oi), the
// same shapes; `any_weights` lets it pick its blocked weight layout (the
// reorder is done once, outside the loop).
void bm_dnnl_linear_fwd(benchmark::State &st, Shape s, int threads, bool any_weights) {
    using namespace dnnl;
    using tag = memory::format_tag;
    struct Restore {
        int t;
        ~Restore() { omp_set_num_threads(t); }
    } restore{omp_get_max_threads()};
    omp_set_num_threads(threads); // oneDNN's OpenMP team
    bench_dnnl::Cpu cpu;
    const engine &eng = cpu.eng;
    stream &strm = cpu.strm;
    const memory::dim N = static_cast<memory::dim>(s.n), I = static_cast<memory::dim>(s.in),
                      O = static_cast<memory::dim>(s.out);
    const memory::desc src_md = bench_dnnl::mat(N, I, tag::nc),
                       w_plain = bench_dnnl::mat(O, I, tag::oi), b_md = bench_dnnl::vec(O),
                       dst_md = bench_dnnl::mat(N, O, tag::nc);
    const memory::desc w_req = any_weights ? bench_dnnl::mat(O, I, tag::any) : w_plain;
    auto pd = bench_dnnl::ip_forward(eng, prop_kind::forward_inference, src_md, w_req, b_md,
                                     dst_md, true);
    Arr x(s.n * s.in, 0, 1, 0, 1), w(s.out * s.in, 1, 2, -0.1f, 0.1f), b(s.out, 2, 3, -0.1f, 0.1f),
        y(s.n * s.out, 4, 5, 0, 1);
    memory src(src_md, eng, x.p), wp(w_plain, eng, w.p), bm(b_md, eng, b.p), dst(dst_md, eng, y.p);
    memory wk = bench_dnnl::in_layout(cpu, wp, pd.weights_desc());
    inner_product_forward fwd(pd);
    auto op = [&] {
        fwd.execute(strm, {{DNNL_ARG_SRC, src},
                           {DNNL_ARG_WEIGHTS, wk},
                           {DNNL_ARG_BIAS, bm},
                           {DNNL_ARG_DST, dst}});
        strm.wait();
    };
    for (auto _ : st) op();
    set_flops(
        st, 2.0 * static_cast<double>(s.n) * static_cast<double>(s.in) * static_cast<double>(s.out),
        op);
    st.SetLabel(pd.impl_info_str());
}
#endif

#ifdef NERVE_BENCH_HAVE_ONEDNN
// oneDNN's eltwise forward and backward (from x) on the same arrays, with
// the same best-of counters, for the activations it has.
struct DnnlEltwise {
    nerve_act act;
    dnnl::algorithm alg;
    float alpha; // relu's negative slope, elu's alpha, swish's beta
};
const DnnlEltwise kDnnl[] = {
    {NERVE_ACT_SIGMOID, dnnl::algorithm::eltwise_logistic, 0.0f},
    {NERVE_ACT_TANH, dnnl::algorithm::eltwise_tanh, 0.0f},
    {NERVE_ACT_RELU, dnnl::algorithm::eltwise_relu, 0.0f},
    {NERVE_ACT_LEAKY_RELU, dnnl::algorithm::eltwise_relu, 0.01f},
    {NERVE_ACT_ELU, dnnl::algorithm::eltwise_elu, 1.0f},
    {NERVE_ACT_GELU, dnnl::algorithm::eltwise_gelu_erf, 0.0f},
    {NERVE_ACT_SILU, dnnl::algorithm::eltwise_swish, 1.0f},
    {NERVE_ACT_SOFTPLUS, dnnl::algorithm::eltwise_soft_relu, 0.0f},
};

void bm_dnnl_eltwise(benchmark::State &st, DnnlEltwise a, bool backward) {
    using namespace dnnl;
    bench_dnnl::Cpu cpu;
    const engine &eng = cpu.eng;
    stream &strm = cpu.strm;
    const memory::desc md({static_cast<memory::dim>(kN)}, memory::data_type::f32,
                          memory::format_tag::a);
    Arr x(kN, 0, 1, -4, 4), y(kN, 1, 2, 0, 1), dy(kN, 2, 3, -1, 1), dx(kN, 3, 4, 0, 1);
    eltwise_forward::primitive_desc fpd(
        eltwise_forward::desc(prop_kind::forward_training, a.alg, md, a.alpha, 0.0f), eng);
    eltwise_forward fwd(fpd);
    memory src(md, eng, x.p), dst(md, eng, y.p), ddst(md, eng, dy.p), dsrc(md, eng, dx.p);
    fwd.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    strm.wait();
    eltwise_backward::primitive_desc bpd(eltwise_backward::desc(a.alg, md, md, a.alpha, 0.0f), eng,
                                         fpd);
    eltwise_backward bwd(bpd);
    auto op = [&] {
        if (backward)
            bwd.execute(
                strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_SRC, dsrc}});
        else
            fwd.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
        strm.wait();
    };
    for (auto _ : st) op();
    finish(st, kN, backward ? 12 : 8, op, kN);
    st.SetLabel(backward ? bpd.impl_info_str() : fpd.impl_info_str());
}
#endif

int register_all() {
    const nerve_isa isas[] = {NERVE_ISA_SCALAR, NERVE_ISA_AVX2, NERVE_ISA_AVX512, NERVE_ISA_NEON};
    for (nerve_isa isa : isas) {
        if (!nerve_isa_supported(isa)) continue;
        const std::string is = std::string("/") + nerve_isa_name(isa);
        for (int a = 0; a < NERVE_ACT_COUNT; a++) {
            const nerve_act act = static_cast<nerve_act>(a);
            benchmark::RegisterBenchmark((std::string("api/act_fwd/") + kActs[a] + is).c_str(),
                                         bm_act_fwd, isa, act);
            benchmark::RegisterBenchmark((std::string("api/act_bwd/") + kActs[a] + is).c_str(),
                                         bm_act_bwd, isa, act);
        }
        benchmark::RegisterBenchmark(("api/softmax/256x256" + is).c_str(), bm_softmax, isa);
#ifdef NERVE_BENCH_HAVE_ONEDNN
        if (isa == nerve_isa_best())
            for (const DnnlEltwise &a : kDnnl) {
                benchmark::RegisterBenchmark(
                    (std::string("api/act_fwd/") + kActs[a.act] + "/onednn").c_str(),
                    bm_dnnl_eltwise, a, false);
                benchmark::RegisterBenchmark(
                    (std::string("api/act_bwd/") + kActs[a.act] + "/onednn").c_str(),
                    bm_dnnl_eltwise, a, true);
            }
#endif
        benchmark::RegisterBenchmark(("api/loss_mse/6553x10" + is).c_str(), bm_loss, isa, false);
        benchmark::RegisterBenchmark(("api/loss_xent/6553x10" + is).c_str(), bm_loss, isa, true);
        const char *const opt[] = {"sgd_momentum", "sgd_nesterov", "adam", "adamw"};
        for (int k = 0; k < 4; k++)
            benchmark::RegisterBenchmark((std::string("api/") + opt[k] + is).c_str(), bm_optim, isa,
                                         k);
        const char *const b1[] = {"sum", "dot", "axpby", "colsum"};
        for (int k = 0; k < 4; k++)
            benchmark::RegisterBenchmark((std::string("api/") + b1[k] + is).c_str(), bm_blas1, isa,
                                         k);
    }
    // The layers of the 784-256-128-10 network at batch 256, 32 and 1.
    const Shape shapes[] = {
        {256, 784, 256}, {256, 256, 128}, {256, 128, 10}, {32, 784, 256}, {1, 784, 256}};
    const nerve_isa best = nerve_isa_best();
    for (const Shape &s : shapes)
        for (int t = 1; t <= 2; t++) {
            const std::string name = std::to_string(s.n) + "x" + std::to_string(s.in) + "x" +
                                     std::to_string(s.out) + "/" + nerve_isa_name(best) + "/" +
                                     std::to_string(t) + "t";
            benchmark::RegisterBenchmark(("api/linear_fwd/" + name).c_str(), bm_linear_fwd, best, s,
                                         t)
                ->UseRealTime();
            benchmark::RegisterBenchmark(("api/linear_bwd/" + name).c_str(), bm_linear_bwd, best, s,
                                         t)
                ->UseRealTime();
#ifdef NERVE_BENCH_HAVE_ONEDNN
            const std::string dn = std::to_string(s.n) + "x" + std::to_string(s.in) + "x" +
                                   std::to_string(s.out) + "/onednn";
            benchmark::RegisterBenchmark(
                ("api/linear_fwd/" + dn + "/" + std::to_string(t) + "t").c_str(),
                bm_dnnl_linear_fwd, s, t, false)
                ->UseRealTime();
            benchmark::RegisterBenchmark(
                ("api/linear_fwd/" + dn + "_blocked/" + std::to_string(t) + "t").c_str(),
                bm_dnnl_linear_fwd, s, t, true)
                ->UseRealTime();
#endif
        }
    return 0;
}

const int registered = register_all();

} // namespace
