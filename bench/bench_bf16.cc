// bf16 mixed precision: the bf16 GEMM of every table (vdpbf16ps where the
// CPU has AVX512_BF16, the exact emulation of each table) beside the fp32
// GEMM of the same table, on the same shapes, in the same process, so that
// a ratio can be read off one run (the machine is shared and noisy).
//
// Names: <group>/<shape>/<impl>/threads:<t>
//   group  peak_bf16 (vdpbf16ps alone, beside bench_gemm.cc's peak/avx512),
//          bf16_ukr (one micro-tile, packed panels, k = 512: the kernel
//          alone), bf16_mlp_fwd / bf16_mlp_bwd_data / bf16_mlp_bwd_weights
//          (the three products of a 784-256-128-10 layer at batch 256, as
//          the training step runs them: gemm_bf16_chain on pair words)
//   impl   <isa>_<bf16 impl>: avx512_vdpbf16ps, avx512_emulated, avx2_emulated,
//          ...; the fp32 rows of bench_gemm.cc (mlp_*) are the fp32 side
// Counter GFLOPS: 2*M*N*K per iteration, per second. The conversions the
// training step does are not in these rows (train/nerve_bf16 has all of it).
//
//   nerve_bench --benchmark_filter='^(bf16_|mlp_|peak)' --benchmark_repetitions=5
//               --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <omp.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "nerve/cpu.h"

extern "C" {
#include "gemm_bf16.h"
#include "table.h"
}

namespace {

// 64-byte aligned words: bf16 pairs of values in [-1, 1).
struct Words {
    uint32_t *p;
    explicit Words(size_t n)
        : p(static_cast<uint32_t *>(std::aligned_alloc(64, (n * 4 + 63) / 64 * 64 + 64))) {
        if (!p) std::abort();
        uint64_t s = n * 0x9E3779B97F4A7C15ull + 1;
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            // two bf16 in [0.5, 1) with random signs and mantissas
            const uint32_t lo =
                0x3f00u | (uint32_t)((s >> 33) & 0x7f) | (uint32_t)((s >> 40) & 1) << 15;
            const uint32_t hi =
                0x3f00u | (uint32_t)((s >> 45) & 0x7f) | (uint32_t)((s >> 52) & 1) << 15;
            p[i] = lo | hi << 16;
        }
    }
    ~Words() { std::free(p); }
    Words(const Words &) = delete;
    Words &operator=(const Words &) = delete;
};

struct Table {
    const kernel_table *kt;
    std::string name;
};

// Every bf16 micro-kernel this CPU can run: the tables in use, the compiled
// (portable emulation) tables they replaced, and on x86 the DAZ/FTZ
// emulation of each x86 table also where the dispatcher preferred another.
std::vector<Table> tables() {
    std::vector<Table> v;
    for (nerve_isa isa : {NERVE_ISA_SCALAR, NERVE_ISA_AVX2, NERVE_ISA_AVX512, NERVE_ISA_NEON}) {
        const kernel_table *a = kernels_for(isa), *e = kernels_emulated(isa);
        if (!a) continue;
        v.push_back({a, std::string(a->name) + "_" + a->bf16_impl});
        if (e && e != a) v.push_back({e, std::string(e->name) + "_" + e->bf16_impl});
#if defined(__x86_64__)
        if (isa == NERVE_ISA_AVX512 && std::string(a->bf16_impl) != "emulated-ftz") {
            static kernel_table ftz;
            ftz = *e;
            ftz.gemm_bf16_ukr = bf16_gemm_ukr_ftz__avx512;
            ftz.bf16_impl = "emulated-ftz";
            v.push_back({&ftz, std::string(ftz.name) + "_" + ftz.bf16_impl});
        }
#endif
    }
    return v;
}

void set_flops(benchmark::State &st, double flops) {
    st.counters["GFLOPS"] =
        benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

#if defined(__x86_64__)
// peak_bf16: register-only vdpbf16ps loop, 24 independent accumulators (as
// bench_gemm.cc's peak/avx512 does with vfmadd231ps): 64 flops (32 bf16
// multiply-adds) per instruction. Read beside peak/avx512: the ratio of the
// two is what bf16 can gain over fp32 on this CPU at most.
constexpr long kPeakIters = 1 << 16;
__attribute__((target("avx512f,avx512bf16"))) float peak_vdpbf16ps() {
    __m512 acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
    __m512i xi = _mm512_set1_epi32(0x3f7f3f7f), yi = _mm512_set1_epi32(0x33803380);
    __m512bh x, y;
    std::memcpy(&x, &xi, sizeof x);
    std::memcpy(&y, &yi, sizeof y);
    for (long it = 0; it < kPeakIters; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
        __asm__ volatile("" : "+v"(x));
    }
    for (int i = 1; i < 24; i++) acc[0] = _mm512_add_ps(acc[0], acc[i]);
    float out[16];
    _mm512_storeu_ps(out, acc[0]);
    return out[0];
}

void bm_peak_bf16(benchmark::State &st) {
    for (auto _ : st) benchmark::DoNotOptimize(peak_vdpbf16ps());
    set_flops(st, 64.0 * 24.0 * (double)kPeakIters);
}
#endif

// One full micro-tile over kq pairs of packed panels (L1-resident).
void bm_ukr(benchmark::State &st, const kernel_table *kt) {
    const size_t kq = 256, mr = kt->bf16_mr, nr = kt->bf16_nr;
    Words a(mr * kq), b(nr * kq);
    std::vector<float> c(mr * nr);
    for (auto _ : st) {
        kt->gemm_bf16_ukr(kq, a.p, 1, mr, b.p, nr, c.data(), nr, mr, nr, 0);
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    set_flops(st, 2.0 * (double)mr * (double)nr * 2.0 * (double)kq);
}

// One product of the training step: m x n outputs from kq pairs.
struct Prod {
    size_t m, n, kq;
    size_t a_rs, a_cs, b_rs, b_cs; // in words, as linear_bf16.c sets them
};

void bm_mlp(benchmark::State &st, const kernel_table *kt, Prod p, int threads) {
    omp_set_num_threads(threads);
    const size_t alen = p.a_rs == 1 ? p.kq * p.a_cs : p.m * p.a_rs;
    const size_t blen = p.b_cs == 1 ? p.kq * p.b_rs : p.n * p.b_cs;
    Words a(alen), b(blen);
    std::vector<float> c(p.m * p.n);
    Words ws(gemm_bf16_workspace_words(kt, threads));
    const gemm_bf16_args g = {p.m,    p.n,    p.kq,     a.p, p.a_rs, p.a_cs, b.p,
                              p.b_rs, p.b_cs, c.data(), p.n, 0,      nullptr};
    for (auto _ : st) {
        gemm_bf16_chain(kt, &g, nullptr, ws.p, threads);
        benchmark::ClobberMemory();
    }
    set_flops(st, 2.0 * (double)p.m * (double)p.n * 2.0 * (double)p.kq);
}

int register_all() {
    const std::vector<Table> ts = tables();
#if defined(__x86_64__)
    if (nerve_cpu_features_get()->avx512_bf16 && nerve_isa_supported(NERVE_ISA_AVX512))
        benchmark::RegisterBenchmark("peak_bf16/vdpbf16ps/threads:1", bm_peak_bf16);
#endif
    for (const Table &t : ts)
        benchmark::RegisterBenchmark(("bf16_ukr/k512/" + t.name + "/threads:1").c_str(), bm_ukr,
                                     t.kt);
    const size_t layers[][2] = {{784, 256}, {256, 128}, {128, 10}};
    const size_t batch = 256;
    for (int threads : {1, 2})
        for (const auto &l : layers) {
            const size_t in = l[0], out = l[1], kin = (in + 1) / 2, kout = (out + 1) / 2,
                         kb = (batch + 1) / 2;
            const std::string shape = "b256_" + std::to_string(in) + "x" + std::to_string(out);
            const struct {
                const char *name;
                Prod p;
            } probs[] = {
                {"bf16_mlp_fwd/", {batch, out, kin, kin, 1, 1, kin}},      // X rows . (W rows)^T
                {"bf16_mlp_bwd_data/", {batch, in, kout, kout, 1, in, 1}}, // dZ rows . W cols
                {"bf16_mlp_bwd_weights/", {out, in, kb, 1, out, in, 1}},   // (dZ cols)^T . X cols
            };
            for (const auto &pr : probs)
                for (const Table &t : ts) {
                    if (!std::string(t.kt->name).compare("scalar")) continue; // minutes per row
                    auto *b = benchmark::RegisterBenchmark(
                        (pr.name + shape + "/" + t.name + "/threads:" + std::to_string(threads))
                            .c_str(),
                        bm_mlp, t.kt, pr.p, threads);
                    if (threads > 1) b->UseRealTime();
                }
        }
    return 0;
}

const int registered = register_all();

} // namespace
