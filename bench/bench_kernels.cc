// Microbenchmarks of the int8 kernels on every kernel path this CPU has, at the shapes of the
// ByteQRNN OLID config (configs/byteqrnn_olid.json: 64 channels, GBST conv window 5, QRNN state
// 64, window 3) and a 148-byte text (74 positions after downsampling). Run:
//   build/bench_kernels [--benchmark_filter=gemm]
// Reports time per call and MAC/s (GEMMs; gemm_requant: the dense layer's GEMM + requantization,
// fused on avx512vnni) or elements/s; compare paths side by side.
// peak/avx512vnni: the core's int8 multiply-accumulate peak, measured as a loop of the GEMM's
// own instruction (vpdpbusd zmm, 64 MACs each) on 16 independent accumulators; gemm MAC/s
// divided by it, measured in the same run, is the fraction of the peak a GEMM shape reaches
// (docs/runtime.md).
#include <benchmark/benchmark.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <random>
#include <string>
#include <vector>

#include "runtime/kernels/kernels.h"
#include "runtime/quant.h"

namespace bytelite::rt {
namespace {

std::vector<int8_t> random_int8(size_t n, int lo, int hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

struct GemmShape {
  const char* name;
  int64_t rows, ldx, k, n;
};

// rows = positions, ldx = channels of a row, k = window * channels, n = outputs.
const GemmShape kShapes[] = {
    {"bottleneck", 148, 64, 64, 64},
    {"gbst_conv", 148, 64, 320, 64},
    {"qrnn0_gates", 74, 64, 192, 192},
    {"qrnn1_gates", 74, 128, 384, 192},
    // a batch of 32 such texts packed back to back (classifier_forward_batch): 32 x (74 + 2)
    // window starts of the QRNN layer-1 gates, 32 x (148 + 4) of the GBST conv
    {"qrnn1_gates_batch32", 2432, 128, 384, 192},
    {"gbst_conv_batch32", 4864, 64, 320, 64},
};

void bm_gemm(benchmark::State& st, Isa isa, GemmShape s) {
  auto x = random_int8((s.rows + 4) * s.ldx + s.k, -128, 127, 1);
  auto w = random_int8(s.n * s.k, -127, 127, 2);
  PackedMatrix pm = pack_matrix(w.data(), s.n, s.k);
  std::vector<int32_t> acc(s.rows * s.n);
  KernelScratch scratch;
  for (auto _ : st) {
    gemm_s8(isa, x.data(), s.rows, s.ldx, pm, acc.data(), scratch);
    benchmark::DoNotOptimize(acc.data());
  }
  st.counters["MAC/s"] = benchmark::Counter(
      static_cast<double>(s.rows * s.n * s.k) * st.iterations(), benchmark::Counter::kIsRate);
}

// The dense layer's kernel: GEMM and requantization (fused in the epilogue on avx512vnni).
void bm_gemm_requant(benchmark::State& st, Isa isa, GemmShape s) {
  auto x = random_int8((s.rows + 4) * s.ldx + s.k, -128, 127, 1);
  auto w = random_int8(s.n * s.k, -127, 127, 2);
  PackedMatrix pm = pack_matrix(w.data(), s.n, s.k);
  RequantParams p;
  p.n = s.n;
  for (int64_t j = 0; j < s.n; ++j) {
    Multiplier m;
    make_multiplier(0.0003 + 1e-6 * j, &m);
    p.m0.push_back(m.m0);
    p.shift.push_back(m.shift);
    p.bias.push_back(static_cast<int64_t>(j) * m.m0);
  }
  prepare_requant(p);
  std::vector<int32_t> acc;
  std::vector<int8_t> y(s.rows * s.n);
  KernelScratch scratch;
  for (auto _ : st) {
    gemm_requant_s8(isa, x.data(), s.rows, s.ldx, pm, p, y.data(), acc, scratch);
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["MAC/s"] = benchmark::Counter(
      static_cast<double>(s.rows * s.n * s.k) * st.iterations(), benchmark::Counter::kIsRate);
}

void bm_requant(benchmark::State& st, Isa isa) {
  const int64_t rows = 74, n = 192;
  std::vector<int32_t> acc(rows * n);
  std::mt19937 rng(3);
  for (auto& a : acc) a = static_cast<int32_t>(rng() % 200000) - 100000;
  RequantParams p;
  p.n = n;
  for (int64_t j = 0; j < n; ++j) {
    Multiplier m;
    make_multiplier(0.0003 + 1e-5 * j, &m);
    p.m0.push_back(m.m0);
    p.shift.push_back(m.shift);
    p.bias.push_back(static_cast<int64_t>(j) * m.m0);
  }
  prepare_requant(p);
  std::vector<int8_t> y(rows * n);
  for (auto _ : st) {
    requantize(isa, acc.data(), rows, p, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["values/s"] = benchmark::Counter(static_cast<double>(rows * n) * st.iterations(),
                                               benchmark::Counter::kIsRate);
}

void bm_qrnn_pool(benchmark::State& st, Isa isa) {
  const int64_t T = 74, S = 64;
  auto g = random_int8(T * 3 * S, -128, 127, 4);
  QrnnTables tab;
  for (int i = 0; i < 256; ++i) {
    tab.tanh[i] = tab.sigmoid[i] = static_cast<int8_t>(i - 128);
    tab.tanh32[i] = tab.sigmoid32[i] = i - 128;
  }
  std::vector<int8_t> y(T * S);
  std::vector<float> state(S);
  for (auto _ : st) {
    qrnn_pool(isa, g.data(), T, S, false, tab, y.data(), S, state.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["steps/s"] =
      benchmark::Counter(static_cast<double>(T * S) * st.iterations(), benchmark::Counter::kIsRate);
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512vnni"))) void bm_peak_vnni(benchmark::State& st) {
  constexpr int kAcc = 16, kInner = 256;
  __m512i c[kAcc];
  for (int i = 0; i < kAcc; ++i) c[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
  for (auto _ : st) {
    for (int it = 0; it < kInner; ++it)
      for (int i = 0; i < kAcc; ++i) c[i] = _mm512_dpbusd_epi32(c[i], a, b);
    for (int i = 0; i < kAcc; ++i) benchmark::DoNotOptimize(c[i]);
  }
  st.counters["MAC/s"] =
      benchmark::Counter(64.0 * kAcc * kInner * st.iterations(), benchmark::Counter::kIsRate);
}

#endif

int register_all() {
#if defined(__x86_64__)
  if (isa_supported(Isa::kAvx512Vnni))
    benchmark::RegisterBenchmark("peak/avx512vnni", bm_peak_vnni);
#endif
  for (Isa isa : {Isa::kReference, Isa::kAvx2, Isa::kAvx512Vnni}) {
    if (!isa_supported(isa)) continue;
    const std::string n = isa_name(isa);
    for (const GemmShape& s : kShapes) {
      benchmark::RegisterBenchmark(("gemm/" + std::string(s.name) + "/" + n).c_str(), bm_gemm, isa,
                                   s);
      benchmark::RegisterBenchmark(("gemm_requant/" + std::string(s.name) + "/" + n).c_str(),
                                   bm_gemm_requant, isa, s);
    }
    benchmark::RegisterBenchmark(("requant/" + n).c_str(), bm_requant, isa);
    benchmark::RegisterBenchmark(("qrnn_pool/" + n).c_str(), bm_qrnn_pool, isa);
  }
  return 0;
}
const int registered = register_all();

}  // namespace
}  // namespace bytelite::rt

BENCHMARK_MAIN();
