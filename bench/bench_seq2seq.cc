// Time per output byte of the int8 MAtt decoder (fixed-size running-sum cache) and of the
// baseline decoder (causal self-attention, growing key/value cache) at decode steps 16, 64 and
// 256, measured side by side in one run (docs/seq2seq.md). Random int8 weights of a realistic
// size: D = 128, 2 layers, 4 heads, feed-forward 512, beam 4, a source of 32 encoder positions;
// parents are a random permutation at every step (the beam reorder).
//
//   bench_seq2seq [runs=30] [isa: reference|avx2|avx512vnni] [source positions=32]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "runtime/ops/decoder.h"

using bytelite::rt::Isa;

namespace {

constexpr int64_t kDim = 128, kLayers = 2, kHeads = 4, kInter = 512, kSteps = 256;
int64_t kSource = 32;
constexpr int32_t kBeam = 4;

template <typename Session>
void run_once(Session& s, const std::vector<int8_t>& mem, bytelite::rt::QParams mq,
              std::mt19937& rng, std::vector<double>& seconds) {
  s.set_memory(mem.data(), kSource, mq);
  std::vector<int32_t> ids(kBeam, 0), parents(kBeam, 0);
  for (int64_t t = 0; t < kSteps; ++t) {
    const auto t0 = std::chrono::steady_clock::now();
    const int8_t* logits = s.step(ids.data(), parents.data());
    const auto t1 = std::chrono::steady_clock::now();
    seconds[t] = std::chrono::duration<double>(t1 - t0).count();
    std::iota(parents.begin(), parents.end(), 0);
    std::shuffle(parents.begin(), parents.end(), rng);
    for (int32_t i = 0; i < kBeam; ++i) {
      ids[i] =
          3 + (static_cast<uint8_t>(logits[i * 259]) + static_cast<int32_t>(rng() % 200)) % 256;
    }
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 30;
  Isa isa = bytelite::rt::best_isa();
  if (argc > 2) {
    const std::string a = argv[2];
    isa = a == "reference" ? Isa::kReference : a == "avx2" ? Isa::kAvx2 : Isa::kAvx512Vnni;
  }
  if (argc > 3) kSource = std::max(1, std::atoi(argv[3]));
  bytelite::rt::Int8Storage storage;
  auto matt = bytelite::rt::random_matt_decoder(kDim, kLayers, kHeads, kInter, kSteps, 1, storage);
  auto base = bytelite::rt::random_baseline_decoder(kDim, kLayers, kHeads, kInter, kSteps, 2);
  std::mt19937 rng(3);
  std::vector<int8_t> mem(kSource * kDim);
  for (auto& x : mem) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  const auto mq = matt.layers[0].key_value.in;
  bytelite::rt::MattDecoderSession ms(matt, kBeam, isa);
  bytelite::rt::BaselineDecoderSession bs(base, kBeam, isa);
  // per step, the time of every run
  std::vector<std::vector<double>> tm(kSteps), tb(kSteps);
  std::vector<double> sec(kSteps);
  for (int r = 0; r < runs + 2; ++r) {  // two warm-up runs
    run_once(ms, mem, mq, rng, sec);
    if (r >= 2)
      for (int64_t t = 0; t < kSteps; ++t) tm[t].push_back(sec[t]);
    run_once(bs, mem, base.layers[0].cross_kv.in, rng, sec);
    if (r >= 2)
      for (int64_t t = 0; t < kSteps; ++t) tb[t].push_back(sec[t]);
  }
  // time at step t: the median over runs of the mean of steps t-3..t (one step = one output byte
  // for each of the beam's hypotheses; the time is per step of the whole beam)
  auto at = [&](const std::vector<std::vector<double>>& v, int64_t t) {
    std::vector<double> per_run(v[0].size(), 0.0);
    for (int64_t s = t - 4; s < t; ++s)
      for (size_t r = 0; r < per_run.size(); ++r) per_run[r] += v[s][r] / 4.0;
    return median(per_run);
  };
  std::printf("isa %s, D %lld, %lld layers, %lld heads, ffn %lld, beam %d, source %lld, %d runs\n",
              bytelite::rt::isa_name(isa), static_cast<long long>(kDim),
              static_cast<long long>(kLayers), static_cast<long long>(kHeads),
              static_cast<long long>(kInter), kBeam, static_cast<long long>(kSource), runs);
  std::printf("%-6s %14s %14s\n", "step", "MAtt us/step", "baseline us/step");
  const int64_t steps[3] = {16, 64, 256};
  double m16 = 0, b16 = 0;
  for (int64_t t : steps) {
    const double m = at(tm, t) * 1e6, b = at(tb, t) * 1e6;
    if (t == 16) {
      m16 = m;
      b16 = b;
    }
    std::printf("%-6lld %14.1f %14.1f   (ratio to step 16: MAtt %.3f, baseline %.3f)\n",
                static_cast<long long>(t), m, b, m / m16, b / b16);
  }
  return 0;
}
