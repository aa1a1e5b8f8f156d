// Time per output byte of the int8 MAtt decoder (fixed-size running-sum cache) and of the
// baseline decoder (causal self-attention, growing key/value cache) at decode steps 16, 64 and
// 256, measured side by side in one run (docs/seq2seq.md). Random int8 weights of a realistic
// size: D = 128, 2 layers, 4 heads, feed-forward 512, beam 4, a source of 32 encoder positions;
// parents are a random permutation at every step (the beam reorder). The timing loop is
// rt::time_decoder_steps (src/runtime/seq2seq_bench.h), which `bytelite bench` also uses.
//
//   bench_seq2seq [runs=30] [isa: reference|avx2|avx512vnni] [source positions=32]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "runtime/ops/decoder.h"
#include "runtime/seq2seq_bench.h"

using bytelite::rt::Isa;

int main(int argc, char** argv) {
  constexpr int64_t kDim = 128, kLayers = 2, kHeads = 4, kInter = 512, kSteps = 256;
  bytelite::rt::StepBenchOptions o;
  o.beam = 4;
  o.runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 30;
  o.isa = bytelite::rt::best_isa();
  if (argc > 2) {
    const std::string a = argv[2];
    o.isa = a == "reference" ? Isa::kReference : a == "avx2" ? Isa::kAvx2 : Isa::kAvx512Vnni;
  }
  if (argc > 3) o.source_positions = std::max(1, std::atoi(argv[3]));
  o.steps = {16, 64, kSteps};
  bytelite::rt::Int8Storage storage;
  auto matt = bytelite::rt::random_matt_decoder(kDim, kLayers, kHeads, kInter, kSteps, 1, storage);
  auto base = bytelite::rt::random_baseline_decoder(kDim, kLayers, kHeads, kInter, kSteps, 2);
  const auto r = bytelite::rt::time_decoder_steps(matt, base, o);
  std::printf("isa %s, D %lld, %lld layers, %lld heads, ffn %lld, beam %d, source %lld, %d runs\n",
              bytelite::rt::isa_name(o.isa), static_cast<long long>(kDim),
              static_cast<long long>(kLayers), static_cast<long long>(kHeads),
              static_cast<long long>(kInter), o.beam, static_cast<long long>(o.source_positions),
              o.runs);
  std::printf("%-6s %14s %14s\n", "step", "MAtt us/step", "baseline us/step");
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const double m = r.matt_s[i] * 1e6, b = r.baseline_s[i] * 1e6;
    std::printf("%-6lld %14.1f %14.1f   (ratio to step 16: MAtt %.3f, baseline %.3f)\n",
                static_cast<long long>(r.steps[i]), m, b, r.matt_s[i] / r.matt_s[0],
                r.baseline_s[i] / r.baseline_s[0]);
  }
  return 0;
}
