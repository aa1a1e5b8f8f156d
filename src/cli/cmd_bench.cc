// bench: speed of the int8 runtime and, in the same run and on the same texts, of the libtorch
// float32 forward of the checkpoint the model was exported from (QAT disabled, eval mode).
//
// Definitions (both engines alike):
//  - latency: one text at a time on one thread, tokenization to probabilities; p50 and p99 over
//    every text of --data;
//  - examples/s: every text of --data, one text per forward pass, with --threads threads (int8:
//    texts spread over threads; float: libtorch intra-op threads);
//  - int8 batched examples/s: --batch-size texts per forward pass (batched inference), passes
//    interleaved with the one-text passes, and the time per op of both;
//  - float batched examples/s: length-sorted batches of 64 (how `eval` runs checkpoints), for
//    reference;
//  - speedup = int8 examples/s / float examples/s; model_bytes = the model file's size;
//    float_bytes = the same network in float32 (4 bytes per parameter);
//  - --compare FILE...: other int8 models timed in the same run on the same texts, passes
//    interleaved round-robin with --model's (so machine noise hits all alike); reported as
//    examples/s and the ratio to --model.
// Timing is reported, never asserted by tests. The int8 measurements are core/runtime_bench.h
// (no libtorch); the float comparison needs libtorch (torch_parts.h: the runtime-only `bytelite`
// hands the command to bytelite-train unless --no-float).
//
// A seq2seq model (architecture byteseq2seq; --data not needed) gets the decoder step time of
// docs/seq2seq.md instead: the time per output byte (one decoder step of the whole beam divided
// by the beam size) at steps 16, 64 and 256 of the model's MAtt decoder (fixed-size running-sum
// cache) and of the growing key/value cache baseline decoder (random int8 weights of the model's
// width, layers, heads and feed-forward size), runs interleaved in one process, over a random
// source memory of --source-positions rows (rt::time_decoder_steps, also used by
// bench/bench_seq2seq.cc). When the model's position table has fewer than 256 rows, the timed
// decoder is a copy whose extra position rows repeat the last one (the step cost does not depend
// on the row); the output says so. Then the int8 time per op of the whole model (ops.h Profile,
// shares of the total): the model's encoder on one source of --source-positions pseudo-random
// bytes (at most the encoder's longest source) and 256 steps of the timed MAtt decoder over it
// (rt::profile_seq2seq_ops).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bytelite/classifier.h"
#include "cli/commands.h"
#include "cli/handoff.h"
#include "cli/torch_parts.h"
#include "core/dataset.h"
#include "core/errors.h"
#include "core/runtime_bench.h"
#include "runtime/kernel_isa.h"
#include "runtime/models/classifier_net.h"
#include "runtime/seq2seq_bench.h"

namespace bytelite::cli {

namespace {
KernelIsa parse_isa(const std::string& isa) {
  return isa == "reference"    ? KernelIsa::kReference
         : isa == "avx2"       ? KernelIsa::kAvx2
         : isa == "avx512vnni" ? KernelIsa::kAvx512Vnni
                               : KernelIsa::kAuto;
}

// Decoder step time of a seq2seq model against the growing-cache baseline (see the top comment).
void bench_seq2seq_model(const BenchArgs& a, const std::shared_ptr<const Model>& model) {
  const ModelInfo& mi = model->info();
  const rt::MattDecoderRt& dec = model->impl().seq2seq->decoder;
  constexpr int64_t kMaxStep = 256;
  rt::StepBenchOptions o;
  o.beam = a.beam_size > 0 ? a.beam_size : mi.beam_size;
  o.source_positions = a.source_positions;
  o.runs = a.runs;
  o.steps = {16, 64, kMaxStep};
  o.isa = rt::supported_rt_isa(parse_isa(a.isa));
  std::vector<int8_t> table;
  const rt::MattDecoderRt timed = rt::extend_positions(dec, kMaxStep, table);
  const bool extended = dec.position.rows < kMaxStep;
  const rt::BaselineDecoderRt base =
      rt::random_baseline_decoder(mi.decoder_dimension, mi.decoder_layers, mi.decoder_num_heads,
                                  mi.decoder_intermediate_size, kMaxStep, 2);
  const rt::StepBenchResult r = rt::time_decoder_steps(timed, base, o);
  const size_t last = r.steps.size() - 1;
  const double matt_ratio = r.matt_s[last] / r.matt_s[0];
  const double base_ratio = r.baseline_s[last] / r.baseline_s[0];
  auto per_byte_us = [&](const std::vector<double>& v) {
    std::vector<double> out;
    for (double s : v) out.push_back(1e6 * s / o.beam);
    return out;
  };
  const std::vector<double> mb = per_byte_us(r.matt_s), bb = per_byte_us(r.baseline_s);
  const rt::Profile prof =
      rt::profile_seq2seq_ops(model->impl().seq2seq->encoder, timed, o, kMaxStep);
  double total = 0;
  for (double s : prof.seconds) total += s;
  std::vector<std::pair<std::string, double>> shares;
  for (int i = 0; i < rt::kOpCount; ++i) {
    if (prof.calls[i] == 0) continue;
    shares.emplace_back(rt::op_name(static_cast<rt::Op>(i)),
                        total > 0 ? prof.seconds[i] / total : 0.0);
  }
  if (a.json) {
    nlohmann::ordered_json j = {{"model", a.model},
                                {"architecture", mi.architecture},
                                {"isa", rt::isa_name(o.isa)},
                                {"model_dimension", mi.decoder_dimension},
                                {"decoder_layers", mi.decoder_layers},
                                {"num_heads", mi.decoder_num_heads},
                                {"intermediate_size", mi.decoder_intermediate_size},
                                {"beam_size", o.beam},
                                {"source_positions", o.source_positions},
                                {"runs", o.runs},
                                {"position_rows", dec.position.rows},
                                {"positions_extended", extended},
                                {"steps", r.steps},
                                {"matt_us_per_byte", mb},
                                {"baseline_us_per_byte", bb},
                                {"matt_ratio_256_16", matt_ratio},
                                {"baseline_ratio_256_16", base_ratio}};
    nlohmann::ordered_json ops = nlohmann::ordered_json::object();
    for (const auto& [name, share] : shares) ops[name] = share;
    j["op_time_share"] = ops;
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf(
      "seq2seq decoder step time: %s (isa %s; D %d, %d decoder layers, %d heads, ffn %d; "
      "beam %d; source memory %lld positions; median of %d runs)\n",
      a.model.c_str(), rt::isa_name(o.isa), mi.decoder_dimension, mi.decoder_layers,
      mi.decoder_num_heads, mi.decoder_intermediate_size, o.beam,
      static_cast<long long>(o.source_positions), o.runs);
  std::printf(
      "baseline: standard decoder layers with a growing key/value cache, random int8 "
      "weights of the same shape\n");
  if (extended) {
    std::printf(
        "note: the model has %lld decoder positions (max_target); for timing, positions "
        "%lld..%lld reuse its last position row (the step cost does not depend on the "
        "row)\n",
        static_cast<long long>(dec.position.rows), static_cast<long long>(dec.position.rows + 1),
        static_cast<long long>(kMaxStep));
  }
  std::printf("%-6s %16s %20s\n", "step", "MAtt us/byte", "baseline us/byte");
  for (size_t i = 0; i < r.steps.size(); ++i) {
    std::printf("%-6lld %16.2f %20.2f\n", static_cast<long long>(r.steps[i]), mb[i], bb[i]);
  }
  std::printf("step 256 / step 16: MAtt %.3f (target <= 1.15), baseline %.3f\n", matt_ratio,
              base_ratio);
  std::printf("int8 time per op (encoder, one source; %lld MAtt decoder steps):",
              static_cast<long long>(kMaxStep));
  for (const auto& [name, share] : shares) std::printf(" %s %.1f%%", name.c_str(), 100.0 * share);
  std::printf("\n");
}
}  // namespace

CLI::App* add_bench_command(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench",
                                 "Measure int8 runtime speed against the libtorch float32 forward");
  cmd->add_option("--model", a->model, "Int8 model file")->required();
  cmd->add_option("--data", a->data,
                  "Data file with a text column (labels not needed; classifiers only)");
  cmd->add_option("--checkpoint", a->checkpoint,
                  "Float checkpoint (default: the one recorded in the model, or best.ckpt "
                  "beside it)");
  cmd->add_option("--threads", a->threads, "Threads for the throughput runs")->check(kPositive);
  cmd->add_option("--max-examples", a->max_examples, "Use the first N texts (0 = all)")
      ->check(kNonNegative);
  cmd->add_option("--repeat", a->repeat, "Passes over the texts for the int8 measurements")
      ->check(kPositive);
  cmd->add_option("--batch-size", a->batch_size,
                  "Texts per forward pass of the int8 batched measurement")
      ->check(kPositive);
  cmd->add_option("--isa", a->isa, "Int8 kernel path")
      ->check(CLI::IsMember({"auto", "reference", "avx2", "avx512vnni"}));
  cmd->add_flag("--no-float", a->no_float, "Skip the float comparison");
  cmd->add_option("--compare", a->compare,
                  "Other int8 models to time against --model, interleaved in the same run");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->add_flag("--quiet", a->quiet, "No progress line");
  const std::string s2s = "Seq2seq models (byteseq2seq)";
  cmd->add_option("--beam-size", a->beam_size, "Beam size (0 = the model's default)")
      ->check(CLI::Range(0, 1024))
      ->group(s2s);
  cmd->add_option("--runs", a->runs, "Measured runs of 256 decoder steps each")
      ->check(kPositive)
      ->group(s2s);
  cmd->add_option("--source-positions", a->source_positions,
                  "Rows of the (random) encoder output the decoders attend to (1..65536)")
      ->check(CLI::Range(1, 65536))
      ->group(s2s);
  cmd->callback([a]() {
    ClassifierOptions opt;
    opt.isa = parse_isa(a->isa);
    auto model = Model::load(a->model);
    if (model->impl().seq2seq) {
      if (!a->compare.empty() || !a->data.empty()) {
        throw ConfigError("bench: expected no --data or --compare for the seq2seq model " +
                          a->model + " (it is timed on random encoder outputs), found " +
                          (a->compare.empty() ? "--data" : "--compare"));
      }
      bench_seq2seq_model(*a, model);
      return;
    }
    if (a->data.empty()) {
      throw ConfigError("bench: expected --data FILE (texts to time the classifier " + a->model +
                        " on), found none");
    }
    // Without libtorch, hand the whole command to bytelite-train before timing anything.
    if (!a->no_float && !have_libtorch()) hand_off("bench (the libtorch float32 comparison)");
    Classifier clf(model, opt);
    const ModelInfo& info = clf.info();
    DataSpec spec;
    if (!info.text_column.empty()) spec.text_column = info.text_column;
    spec.label_columns = info.label_columns.empty() ? spec.label_columns : info.label_columns;
    std::vector<std::string> texts = read_texts(a->data, spec);
    if (a->max_examples > 0 && static_cast<int>(texts.size()) > a->max_examples)
      texts.resize(a->max_examples);
    if (texts.empty()) throw InputError(a->data + ": expected at least one text, found none");

    std::vector<Classifier> others;
    for (const auto& path : a->compare) {
      auto other = Model::load(path);
      if (other->info().is_seq2seq()) {
        throw ConfigError("bench --compare: expected classifier models, found the seq2seq model " +
                          path + " (time it alone: bytelite bench --model " + path + ")");
      }
      others.emplace_back(other, opt);
    }
    std::vector<const Classifier*> other_ptrs;
    for (const auto& c : others) other_ptrs.push_back(&c);
    RuntimeBenchOptions bo;
    bo.threads = a->threads;
    bo.repeat = a->repeat;
    bo.batch_size = a->batch_size;
    bo.quiet = a->quiet;
    RuntimeBenchResult r = bench_runtime(clf, texts, bo, other_ptrs, a->compare);
    r.model_path = a->model;
    r.data_path = a->data;
    if (a->no_float) {
      std::printf("%s", a->json ? (r.to_json() + "\n").c_str() : r.to_text().c_str());
      return;
    }
    const FloatBench fb = float_bench(*a, info, texts);
    const double speedup = fb.examples_per_s > 0 ? r.examples_per_s / fb.examples_per_s : 0;
    const double speedup_b =
        fb.batched_examples_per_s > 0 ? r.examples_per_s / fb.batched_examples_per_s : 0;
    if (a->json) {
      auto j = nlohmann::ordered_json::parse(r.to_json());
      j["float_examples_per_s"] = fb.examples_per_s;
      j["float_p50_ms"] = 1e3 * percentile(fb.latency_s, 0.5);
      j["float_p99_ms"] = 1e3 * percentile(fb.latency_s, 0.99);
      j["float_batched_examples_per_s"] = fb.batched_examples_per_s;
      j["speedup"] = speedup;
      j["speedup_vs_batched_float"] = speedup_b;
      j["checkpoint"] = fb.checkpoint;
      j["checkpoint_bytes"] = fb.checkpoint_bytes;
      std::printf("%s\n", j.dump().c_str());
      return;
    }
    std::printf("%s", r.to_text().c_str());
    std::printf("%-28s %12s %10s %10s\n", "", "examples/s", "p50 ms", "p99 ms");
    std::printf("%-28s %12.1f %10.3f %10.3f\n",
                ("libtorch float32 (" + std::to_string(a->threads) + " thr)").c_str(),
                fb.examples_per_s, 1e3 * percentile(fb.latency_s, 0.5),
                1e3 * percentile(fb.latency_s, 0.99));
    std::printf("%-28s %12.1f\n", "libtorch float32, batch 64", fb.batched_examples_per_s);
    std::printf("speedup: %.2fx (vs batched float: %.2fx)\n", speedup, speedup_b);
  });
  return cmd;
}

}  // namespace bytelite::cli
