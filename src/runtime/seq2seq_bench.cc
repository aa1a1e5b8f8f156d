#include "runtime/seq2seq_bench.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>
#include <random>
#include <string>

#include "bytelite/byte_tokenizer.h"
#include "bytelite/errors.h"
#include "runtime/models/classifier_net.h"

namespace bytelite::rt {

namespace {

[[noreturn]] void invalid(const std::string& msg) { throw InvalidArgument(msg); }

template <typename Session>
void run_once(Session& s, const std::vector<int8_t>& mem, int64_t S, QParams mq, int32_t beam,
              int64_t steps, std::mt19937& rng, std::vector<double>& seconds) {
  s.set_memory(mem.data(), S, mq);
  std::vector<int32_t> ids(beam, kPadId), parents(beam, 0);
  for (int64_t t = 0; t < steps; ++t) {
    const auto t0 = std::chrono::steady_clock::now();
    const int8_t* logits = s.step(ids.data(), parents.data());
    const auto t1 = std::chrono::steady_clock::now();
    seconds[t] = std::chrono::duration<double>(t1 - t0).count();
    std::iota(parents.begin(), parents.end(), 0);
    std::shuffle(parents.begin(), parents.end(), rng);
    for (int32_t i = 0; i < beam; ++i) {
      ids[i] =
          kByteOffset +
          (static_cast<uint8_t>(logits[i * kVocabSize]) + static_cast<int32_t>(rng() % 200)) % 256;
    }
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

StepBenchResult time_decoder_steps(const MattDecoderRt& matt, const BaselineDecoderRt& base,
                                   const StepBenchOptions& o) {
  if (o.beam < 1) invalid("decoder bench: beam must be >= 1, found " + std::to_string(o.beam));
  if (o.source_positions < 1) {
    invalid("decoder bench: source positions must be >= 1, found " +
            std::to_string(o.source_positions));
  }
  if (o.runs < 1 || o.warmup_runs < 0) {
    invalid("decoder bench: runs must be >= 1 and warm-up runs >= 0, found " +
            std::to_string(o.runs) + " and " + std::to_string(o.warmup_runs));
  }
  if (o.steps.empty()) invalid("decoder bench: expected at least one step to report, found none");
  if (matt.dim != base.dim || matt.layers.empty() || base.layers.empty()) {
    invalid("decoder bench: expected two decoders of the same width with layers");
  }
  const int64_t max_step = *std::max_element(o.steps.begin(), o.steps.end());
  for (int64_t t : o.steps) {
    if (t < 4) invalid("decoder bench: reported steps must be >= 4, found " + std::to_string(t));
  }
  if (matt.position.rows < max_step || base.position.rows < max_step) {
    invalid("decoder bench: step " + std::to_string(max_step) +
            " beyond the position tables (MAtt " + std::to_string(matt.position.rows) +
            " rows, baseline " + std::to_string(base.position.rows) + ")");
  }
  // the encoder output: as wide as the wider of the two key/value layers' inputs
  const int64_t S = o.source_positions,
                E = std::max(matt.layers[0].key_value.w.k, base.layers[0].cross_kv.w.k);
  std::mt19937 rng(static_cast<uint32_t>(o.seed));
  std::vector<int8_t> mem(static_cast<size_t>(S * E));
  for (auto& x : mem) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  MattDecoderSession ms(matt, o.beam, o.isa);
  BaselineDecoderSession bs(base, o.beam, o.isa);
  // per step, the time of every measured run
  std::vector<std::vector<double>> tm(max_step), tb(max_step);
  std::vector<double> sec(max_step);
  for (int r = 0; r < o.runs + o.warmup_runs; ++r) {
    const bool keep = r >= o.warmup_runs;
    run_once(ms, mem, S, matt.layers[0].key_value.in, o.beam, max_step, rng, sec);
    if (keep)
      for (int64_t t = 0; t < max_step; ++t) tm[t].push_back(sec[t]);
    run_once(bs, mem, S, base.layers[0].cross_kv.in, o.beam, max_step, rng, sec);
    if (keep)
      for (int64_t t = 0; t < max_step; ++t) tb[t].push_back(sec[t]);
  }
  // time at step t (1-based): the median over runs of the mean of steps t-3..t
  auto at = [&](const std::vector<std::vector<double>>& v, int64_t t) {
    std::vector<double> per_run(v[0].size(), 0.0);
    for (int64_t s = t - 4; s < t; ++s)
      for (size_t r = 0; r < per_run.size(); ++r) per_run[r] += v[s][r] / 4.0;
    return median(per_run);
  };
  StepBenchResult res;
  res.steps = o.steps;
  for (int64_t t : o.steps) {
    res.matt_s.push_back(at(tm, t));
    res.baseline_s.push_back(at(tb, t));
  }
  return res;
}

Profile profile_seq2seq_ops(const Seq2SeqEncoderRt& enc, const MattDecoderRt& dec,
                            const StepBenchOptions& o, int64_t steps) {
  if (o.beam < 1 || o.source_positions < 1 || steps < 1) {
    invalid("op profile: expected beam, source positions and steps >= 1");
  }
  if (dec.position.rows < steps) {
    invalid("op profile: " + std::to_string(steps) + " steps beyond the " +
            std::to_string(dec.position.rows) + " decoder positions");
  }
  int64_t limit = enc.classifier ? enc.max_source : enc.position.rows;
  if (enc.classifier && enc.classifier->transformer)
    limit = std::min<int64_t>(limit, enc.classifier->max_positions);
  const int64_t T = std::min(o.source_positions, limit);
  std::mt19937 rng(static_cast<uint32_t>(o.seed));
  std::vector<int32_t> src(static_cast<size_t>(T));
  for (auto& id : src) id = kByteOffset + static_cast<int32_t>(rng() % 256);
  Profile prof;
  EncoderScratch es;
  std::vector<int8_t> mem;
  const int64_t S =
      seq2seq_encode(OpContext{o.isa, es.ops, nullptr, &prof}, enc, src.data(), T, mem, es);
  MattDecoderSession session(dec, o.beam, o.isa);
  session.set_profile(&prof);
  std::vector<double> seconds(static_cast<size_t>(steps));
  run_once(session, mem, S, enc.out, o.beam, steps, rng, seconds);
  return prof;
}

MattDecoderRt extend_positions(const MattDecoderRt& dec, int64_t rows, std::vector<int8_t>& table) {
  MattDecoderRt out = dec;
  const int64_t have = dec.position.rows, D = dec.position.dim;
  if (rows <= have) return out;
  if (have < 1) invalid("extend_positions: the decoder has no position rows");
  table.resize(static_cast<size_t>(rows * D));
  std::memcpy(table.data(), dec.position.table, static_cast<size_t>(have * D));
  for (int64_t r = have; r < rows; ++r)
    std::memcpy(table.data() + r * D, dec.position.table + (have - 1) * D, static_cast<size_t>(D));
  out.position.table = table.data();
  out.position.rows = rows;
  return out;
}

}  // namespace bytelite::rt
