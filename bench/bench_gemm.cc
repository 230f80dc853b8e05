// GEMM / GEMV benchmarks: nerve on every kernel table this CPU supports,
// side by side with OpenBLAS (cblas_sgemm / cblas_sgemv) and oneDNN
// (dnnl_sgemm) in the same process, plus a register-only FMA "peak" loop per
// ISA so every GEMM figure can be read as a fraction of the measured peak.
//
// Names: <group>/<shape>/<impl>/threads:<t>
//   group  sgemm (square), mlp_fwd (Y = X W^T), mlp_bwd_data (dX = dY W),
//          mlp_bwd_weights (dW += dY^T X), linear_fwd (nerve's fused
//          Y = relu(X W^T + b)), sgemv_n / sgemv_t, peak, pack (the
//          driver's operand packing, gemm_pack_block; counter GB/s: bytes
//          read plus bytes written)
//   shape  MxNxK for sgemm, b<batch>_<in>x<out> for the MLP layers
//   impl   nerve_<isa> | openblas | onednn
// Counter GFLOPS: 2*M*N*K per iteration, per second (i.e. GFLOP/s).
// Threads: the benchmark sets omp_set_num_threads / openblas_set_num_threads
// to t for every implementation (oneDNN runs on OpenMP).
// Time base: 1-thread rows (and peak) are timed in CPU time of the process,
// which excludes time the core spent on other processes, so they stay
// meaningful on a shared, busy machine; 2-thread rows use wall time
// (".../real_time" in the name), since CPU time would add up both threads.
// The OpenBLAS rows carry the core type OpenBLAS chose as their label
// (openblas_get_corename(); OPENBLAS_CORETYPE in the environment overrides it).
//
// Typical use (medians of 5 repetitions, the machine is shared and noisy):
//   nerve_bench --benchmark_filter='^(peak|sgemm|mlp)'
//               --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <omp.h>
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "nerve/cpu.h"
#include "nerve/kernels.h"

extern "C" {
#include "gemm_pack.h"
#include "table.h"
}

#ifdef NERVE_BENCH_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef NERVE_BENCH_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace {

// 64-byte aligned float array filled with deterministic values in [-1, 1).
struct Mat {
    float *p;
    explicit Mat(size_t n) : p(static_cast<float *>(std::aligned_alloc(64, (n * 4 + 63) / 64 * 64 + 64))) {
        if (!p) std::abort();
        uint64_t s = n * 0x9E3779B97F4A7C15ull + 1;
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            p[i] = static_cast<float>(s >> 40) / 8388608.0f - 1.0f;
        }
    }
    ~Mat() { std::free(p); }
    Mat(const Mat &) = delete;
    Mat &operator=(const Mat &) = delete;
};

void set_threads(int t) {
    omp_set_num_threads(t);
#ifdef NERVE_BENCH_HAVE_OPENBLAS
    openblas_set_num_threads(t);
#endif
}

void set_flops(benchmark::State &st, double flops) {
    st.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- peak: register-only FMA loop ----------------------------------------
// Independent accumulator chains (24 zmm / 12 ymm / 24 NEON q registers: well
// above the 2 pipes x 4 cycles latency = 8 needed), nothing but FMAs in the
// loop. Each architecture compiles only its own loops.
constexpr long kPeakIters = 1 << 16;

struct Peak {
    nerve_isa isa;
    float (*run)();
    double flops_per_call;
};

#if defined(__x86_64__)
__attribute__((target("avx512f,fma"))) float peak_avx512() {
    __m512 acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
    __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < kPeakIters; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
        __asm__ volatile("" : "+v"(x));
    }
    for (int i = 1; i < 24; i++) acc[0] = _mm512_add_ps(acc[0], acc[i]);
    float out[16];
    _mm512_storeu_ps(out, acc[0]);
    return out[0];
}

__attribute__((target("avx2,fma"))) float peak_avx2() {
    __m256 acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
    __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < kPeakIters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
        __asm__ volatile("" : "+x"(x));
    }
    for (int i = 1; i < 12; i++) acc[0] = _mm256_add_ps(acc[0], acc[i]);
    float out[8];
    _mm256_storeu_ps(out, acc[0]);
    return out[0];
}

const std::vector<Peak> kPeaks = {{NERVE_ISA_AVX2, peak_avx2, 12.0 * 8 * 2},
                                  {NERVE_ISA_AVX512, peak_avx512, 24.0 * 16 * 2}};
#elif defined(__aarch64__)
float peak_neon() {  // NEON is baseline on AArch64: no target attribute
    float32x4_t acc[24];
    for (int i = 0; i < 24; i++) acc[i] = vdupq_n_f32(static_cast<float>(i) * 1e-3f);
    float32x4_t x = vdupq_n_f32(0.999f), y = vdupq_n_f32(1e-7f);
    for (long it = 0; it < kPeakIters; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++) acc[i] = vfmaq_f32(y, acc[i], x);
        __asm__ volatile("" : "+w"(x));
    }
    for (int i = 1; i < 24; i++) acc[0] = vaddq_f32(acc[0], acc[i]);
    return vgetq_lane_f32(acc[0], 0);
}

const std::vector<Peak> kPeaks = {{NERVE_ISA_NEON, peak_neon, 24.0 * 4 * 2}};
#else
const std::vector<Peak> kPeaks = {};  // no vector peak loop for this architecture
#endif

void bm_peak(benchmark::State &st, Peak p) {
    for (auto _ : st) {
        float r = p.run();
        benchmark::DoNotOptimize(r);
    }
    set_flops(st, p.flops_per_call * kPeakIters);
}

// Back to the best table this CPU supports, whatever the architecture.
void restore_best_isa() {
    for (nerve_isa isa : {NERVE_ISA_AVX512, NERVE_ISA_AVX2, NERVE_ISA_NEON})
        if (kernels_for(isa)) {
            nerve_set_max_isa(isa);
            return;
        }
    nerve_set_max_isa(NERVE_ISA_SCALAR);
}

// ---- one GEMM problem -----------------------------------------------------
struct Gemm {
    bool ta, tb;
    size_t m, n, k;
    float beta;  // 0: C = A B, 1: C += A B
};

enum class Impl { Nerve, OpenBlas, OneDnn };

void bm_gemm(benchmark::State &st, Gemm g, Impl impl, nerve_isa isa, int threads) {
    const size_t lda = g.ta ? g.m : g.k, ldb = g.tb ? g.k : g.n, ldc = g.n;
    Mat a(g.m * g.k), b(g.k * g.n), c(g.m * g.n);
    set_threads(threads);
    if (impl == Impl::Nerve && nerve_set_max_isa(isa) != NERVE_OK) {
        st.SkipWithError("ISA not available");
        return;
    }
    for (auto _ : st) {
        switch (impl) {
        case Impl::Nerve:
            nerve_sgemm(g.ta ? NERVE_TRANS : NERVE_NO_TRANS, g.tb ? NERVE_TRANS : NERVE_NO_TRANS, g.m,
                        g.n, g.k, 1.0f, a.p, lda, b.p, ldb, g.beta, c.p, ldc);
            break;
        case Impl::OpenBlas:
#ifdef NERVE_BENCH_HAVE_OPENBLAS
            cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans,
                        static_cast<int>(g.m), static_cast<int>(g.n), static_cast<int>(g.k), 1.0f, a.p,
                        static_cast<int>(lda), b.p, static_cast<int>(ldb), g.beta, c.p,
                        static_cast<int>(ldc));
#endif
            break;
        case Impl::OneDnn:
#ifdef NERVE_BENCH_HAVE_ONEDNN
            dnnl_sgemm(g.ta ? 'T' : 'N', g.tb ? 'T' : 'N', static_cast<dnnl_dim_t>(g.m),
                       static_cast<dnnl_dim_t>(g.n), static_cast<dnnl_dim_t>(g.k), 1.0f, a.p,
                       static_cast<dnnl_dim_t>(lda), b.p, static_cast<dnnl_dim_t>(ldb), g.beta, c.p,
                       static_cast<dnnl_dim_t>(ldc));
#endif
            break;
        }
        benchmark::ClobberMemory();
    }
#ifdef NERVE_BENCH_HAVE_OPENBLAS
    if (impl == Impl::OpenBlas) st.SetLabel(std::string("core=") + openblas_get_corename());
#endif
    set_flops(st, 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k));
    restore_best_isa();
}

// nerve's fused forward layer, Y = relu(X W^T + b), X [batch x in], W [out x
// in], through nerve_linear_forward: linear_forward_part (src/net/linear.c), the
// code nerve_net's forward runs, on the table of `isa`.
void bm_linear(benchmark::State &st, size_t batch, size_t in, size_t out, nerve_isa isa, int threads) {
    Mat x(batch * in), w(out * in), bias(out), y(batch * out);
    set_threads(threads);
    if (nerve_set_max_isa(isa) != NERVE_OK) {
        st.SkipWithError("ISA not available");
        return;
    }
    for (auto _ : st) {
        if (nerve_linear_forward(batch, in, out, x.p, w.p, bias.p, NERVE_ACT_RELU, nullptr, y.p) != NERVE_OK) {
            st.SkipWithError(nerve_last_error());
            break;
        }
        benchmark::ClobberMemory();
    }
    set_flops(st, 2.0 * static_cast<double>(batch) * static_cast<double>(in) * static_cast<double>(out));
    restore_best_isa();
}

// y = A x or A^T x with A 1024 x 1024.
void bm_gemv(benchmark::State &st, bool trans, Impl impl, nerve_isa isa, int threads) {
    const size_t m = 1024, n = 1024;
    Mat a(m * n), x(trans ? m : n), y(trans ? n : m);
    set_threads(threads);
    if (impl == Impl::Nerve && nerve_set_max_isa(isa) != NERVE_OK) {
        st.SkipWithError("ISA not available");
        return;
    }
    for (auto _ : st) {
        switch (impl) {
        case Impl::Nerve:
            nerve_sgemv(trans ? NERVE_TRANS : NERVE_NO_TRANS, m, n, 1.0f, a.p, n, x.p, 0.0f, y.p);
            break;
        case Impl::OpenBlas:
#ifdef NERVE_BENCH_HAVE_OPENBLAS
            cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                        static_cast<int>(n), 1.0f, a.p, static_cast<int>(n), x.p, 1, 0.0f, y.p, 1);
#endif
            break;
        case Impl::OneDnn:
#ifdef NERVE_BENCH_HAVE_ONEDNN
            // oneDNN has no GEMV entry point: dnnl_sgemm with one column.
            // y (m x 1) = A (m x n) x (n x 1), or y (n x 1) = A^T x.
            if (!trans)
                dnnl_sgemm('N', 'N', static_cast<dnnl_dim_t>(m), 1, static_cast<dnnl_dim_t>(n), 1.0f, a.p,
                           static_cast<dnnl_dim_t>(n), x.p, 1, 0.0f, y.p, 1);
            else
                dnnl_sgemm('T', 'N', static_cast<dnnl_dim_t>(n), 1, static_cast<dnnl_dim_t>(m), 1.0f, a.p,
                           static_cast<dnnl_dim_t>(n), x.p, 1, 0.0f, y.p, 1);
#endif
            break;
        }
        benchmark::ClobberMemory();
    }
#ifdef NERVE_BENCH_HAVE_OPENBLAS
    if (impl == Impl::OpenBlas) st.SetLabel(std::string("core=") + openblas_get_corename());
#endif
    set_flops(st, 2.0 * static_cast<double>(m) * static_cast<double>(n));
    restore_best_isa();
}

// The packing cases of the wide layer's products (src/gemm/gemm_pack.c), on a
// 1024 x 1024 row-major source (4 MiB: from L3, as W is in a training step),
// in the driver's KC = 256 slices; w is the panel width (MR or NR of the
// AVX-512 table). copy: xs == 1 (B = W for backward-data, A = dZ^T for the
// weight gradient); transpose: ps == 1 (B = W^T and A = X for the forward),
// the table's gemm_pack_t kernel, so one row per table (the copy is the same
// code in every row).
struct PackCase {
    const char *name;
    bool transpose;
    size_t width, w;
};
const PackCase kPacks[] = {
    {"copy_w32_1024", false, 1024, 32},
    {"copy_w12_480", false, 480, 12},
    {"transpose_w32_1024", true, 1024, 32},
    {"transpose_w12_480", true, 480, 12},
};

void bm_pack(benchmark::State &st, PackCase pc, nerve_isa isa) {
    const kernel_table *kt = kernels_for(isa);
    const size_t ld = 1024, kc = 256;
    Mat src(ld * ld), dst(((pc.width + pc.w - 1) / pc.w * pc.w) * kc);
    for (auto _ : st) {
        for (size_t p0 = 0; p0 < ld; p0 += kc) {
            if (pc.transpose)
                gemm_pack_block(kt, src.p + p0, ld, 1, pc.width, kc, pc.w, dst.p);
            else
                gemm_pack_block(kt, src.p + p0 * ld, 1, ld, pc.width, kc, pc.w, dst.p);
        }
        benchmark::ClobberMemory();
    }
    const double bytes = 2.0 * 4.0 * static_cast<double>(pc.width) * static_cast<double>(ld);
    st.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- registration -----------------------------------------------------------
struct ImplName {
    Impl impl;
    nerve_isa isa;
    std::string name;
};

std::vector<ImplName> impls() {
    std::vector<ImplName> v;
    for (nerve_isa isa : {NERVE_ISA_AVX2, NERVE_ISA_AVX512, NERVE_ISA_NEON})
        if (kernels_for(isa)) v.push_back({Impl::Nerve, isa, std::string("nerve_") + nerve_isa_name(isa)});
#ifdef NERVE_BENCH_HAVE_OPENBLAS
    v.push_back({Impl::OpenBlas, NERVE_ISA_SCALAR, "openblas"});
#endif
#ifdef NERVE_BENCH_HAVE_ONEDNN
    v.push_back({Impl::OneDnn, NERVE_ISA_SCALAR, "onednn"});
#endif
    return v;
}

// Wall time for multi-threaded rows, CPU time (the default) for one thread.
void timebase(benchmark::internal::Benchmark *b, int threads) {
    if (threads > 1) b->UseRealTime();
}

std::string dims(size_t m, size_t n, size_t k) {
    return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
}

int register_all() {
    const std::vector<ImplName> im = impls();
    const int threads[] = {1, 2};
    for (const Peak &p : kPeaks)
        if (kernels_for(p.isa))
            benchmark::RegisterBenchmark((std::string("peak/") + nerve_isa_name(p.isa) + "/threads:1").c_str(),
                                         bm_peak, p);
    for (int t : threads)
        for (size_t s : {256, 512, 1024})
            for (const ImplName &i : im)
                timebase(benchmark::RegisterBenchmark(
                    ("sgemm/" + dims(s, s, s) + "/" + i.name + "/threads:" + std::to_string(t)).c_str(),
                    bm_gemm, Gemm{false, false, s, s, s, 0.0f}, i.impl, i.isa, t), t);
    // MLP 784 -> 256 -> 128 -> 10 at batch 64 and 256: the three products of
    // each layer (in -> out).
    // The wide network 784 -> 1024 -> 1024 -> 10 (train/nerve_wide) at batch
    // 32 and 256: its two wide layers. The small network at batch 32 too: the
    // driver computes a forward of <= 32 rows transposed (src/gemm/gemm.c).
    struct Layer { size_t batch, in, out; };
    const Layer layers[] = {
        {64, 784, 256},  {64, 256, 128},   {64, 128, 10},    {256, 784, 256},
        {256, 256, 128}, {256, 128, 10},   {32, 784, 256},   {32, 256, 128},
        {32, 784, 1024}, {32, 1024, 1024}, {256, 784, 1024}, {256, 1024, 1024},
    };
    for (int t : threads)
            for (const Layer &l : layers) {
                const size_t batch = l.batch, in = l.in, out = l.out;
                const std::string shape = "b" + std::to_string(batch) + "_" + std::to_string(in) + "x" + std::to_string(out);
                const std::string suffix = "/threads:" + std::to_string(t);
                const struct { const char *name; Gemm g; } probs[] = {
                    {"mlp_fwd/", Gemm{false, true, batch, out, in, 0.0f}},
                    {"mlp_bwd_data/", Gemm{false, false, batch, in, out, 0.0f}},
                    {"mlp_bwd_weights/", Gemm{true, false, out, in, batch, 1.0f}},
                };
                for (const auto &p : probs)
                    for (const ImplName &i : im)
                        timebase(benchmark::RegisterBenchmark((p.name + shape + "/" + i.name + suffix).c_str(), bm_gemm,
                                                     p.g, i.impl, i.isa, t), t);
                for (nerve_isa isa : {NERVE_ISA_AVX2, NERVE_ISA_AVX512, NERVE_ISA_NEON})
                    if (kernels_for(isa))
                        timebase(benchmark::RegisterBenchmark(
                            ("linear_fwd/" + shape + "/nerve_" + nerve_isa_name(isa) + suffix).c_str(),
                            bm_linear, batch, in, out, isa, t), t);
            }
    for (const PackCase &pc : kPacks)
        for (nerve_isa isa : {NERVE_ISA_SCALAR, NERVE_ISA_AVX2, NERVE_ISA_AVX512, NERVE_ISA_NEON})
            if (kernels_for(isa))
                benchmark::RegisterBenchmark(
                    (std::string("pack/") + pc.name + "/nerve_" + nerve_isa_name(isa)).c_str(),
                    bm_pack, pc, isa);
    for (int t : threads)
        for (bool trans : {false, true})
            for (const ImplName &i : im)
                timebase(benchmark::RegisterBenchmark((std::string(trans ? "sgemv_t" : "sgemv_n") + "/1024x1024/" + i.name +
                                              "/threads:" + std::to_string(t))
                                                 .c_str(),
                                             bm_gemv, trans, i.impl, i.isa, t), t);
    return 0;
}

const int registered = register_all();

}  // namespace

// The one main() of nerve_bench (the other bench/*.cc files only register).
BENCHMARK_MAIN();
