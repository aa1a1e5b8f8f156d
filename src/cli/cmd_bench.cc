// bench: speed of the int8 runtime and, in the same run and on the same texts, of the libtorch
// float32 forward of the checkpoint the model was exported from (QAT disabled, eval mode).
//
// Definitions (both engines alike):
//  - latency: one text at a time on one thread, tokenization to probabilities; p50 and p99 over
//    every text of --data;
//  - examples/s: every text of --data, one text per forward pass, with --threads threads (int8:
//    texts spread over threads; float: libtorch intra-op threads);
//  - float batched examples/s: length-sorted batches of 64 (how `eval` runs checkpoints), for
//    reference;
//  - speedup = int8 examples/s / float examples/s; model_bytes = the model file's size;
//    float_bytes = the same network in float32 (4 bytes per parameter);
//  - --compare FILE...: other int8 models timed in the same run on the same texts, passes
//    interleaved round-robin with --model's (so machine noise hits all alike); reported as
//    examples/s and the ratio to --model.
// Timing is reported, never asserted by tests.
//
// A seq2seq model (architecture byteseq2seq; --data not needed) gets the decoder step time of
// docs/seq2seq.md instead: the time per output byte (one decoder step of the whole beam divided
// by the beam size) at steps 16, 64 and 256 of the model's MAtt decoder (fixed-size running-sum
// cache) and of the growing key/value cache baseline decoder (random int8 weights of the model's
// width, layers, heads and feed-forward size), runs interleaved in one process, over a random
// source memory of --source-positions rows (rt::time_decoder_steps, also used by
// bench/bench_seq2seq.cc). When the model's position table has fewer than 256 rows, the timed
// decoder is a copy whose extra position rows repeat the last one (the step cost does not depend
// on the row); the output says so.
#include <sys/stat.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "bytelite/classifier.h"
#include "cli/commands.h"
#include "core/dataset.h"
#include "core/errors.h"
#include "runtime/kernel_isa.h"
#include "runtime/models/classifier_net.h"
#include "runtime/seq2seq_bench.h"
#include "train/batcher.h"
#include "train/checkpoint.h"

namespace bytelite::cli {

namespace {
struct BenchArgs {
  std::string model, data, checkpoint, isa = "auto";
  std::vector<std::string> compare;
  int threads = 1, max_examples = 0, repeat = 1;
  bool json = false, no_float = false;
  // seq2seq models
  int beam_size = 0, runs = 10;
  int64_t source_positions = 32;
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  return v[i];
}

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

int64_t file_size(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// --checkpoint, else the path recorded at export, else best.ckpt beside the model file.
std::string find_checkpoint(const BenchArgs& a, const ModelInfo& info) {
  if (!a.checkpoint.empty()) return a.checkpoint;
  if (!info.source_checkpoint.empty() && is_file(info.source_checkpoint))
    return info.source_checkpoint;
  const size_t slash = a.model.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : a.model.substr(0, slash);
  if (is_file(dir + "/best.ckpt")) return dir + "/best.ckpt";
  throw ConfigError(a.model + ": expected the float checkpoint for the comparison (recorded: '" +
                    info.source_checkpoint + "', or best.ckpt beside the model), found none; " +
                    "pass --checkpoint DIR or --no-float");
}
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
  cmd->add_option("--isa", a->isa, "Int8 kernel path")
      ->check(CLI::IsMember({"auto", "reference", "avx2", "avx512vnni"}));
  cmd->add_flag("--no-float", a->no_float, "Skip the float comparison");
  cmd->add_option("--compare", a->compare,
                  "Other int8 models to time against --model, interleaved in the same run");
  cmd->add_flag("--json", a->json, "Print one JSON object");
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
      bench_seq2seq_model(*a, model);
      return;
    }
    if (a->data.empty()) {
      throw ConfigError("bench: expected --data FILE (texts to time the classifier " + a->model +
                        " on), found none");
    }
    Classifier clf(model, opt);
    const ModelInfo& info = clf.info();
    DataSpec spec;
    if (!info.text_column.empty()) spec.text_column = info.text_column;
    spec.label_columns = info.label_columns.empty() ? spec.label_columns : info.label_columns;
    std::vector<std::string> texts = read_texts(a->data, spec);
    if (a->max_examples > 0 && static_cast<int>(texts.size()) > a->max_examples)
      texts.resize(a->max_examples);
    if (texts.empty()) throw InputError(a->data + ": expected at least one text, found none");
    const int64_t N = static_cast<int64_t>(texts.size());
    double bytes_in = 0;
    for (const auto& t : texts) bytes_in += std::min<double>(t.size(), info.max_length);

    // ---- int8 ----
    for (int64_t i = 0; i < std::min<int64_t>(N, 32); ++i) clf.classify(texts[i]);  // warm-up
    std::vector<double> lat;
    lat.reserve(N * a->repeat);
    for (int r = 0; r < a->repeat; ++r) {
      for (const auto& t : texts) {
        auto t0 = Clock::now();
        clf.classify(t);
        lat.push_back(seconds_since(t0));
      }
    }
    // Throughput; with --compare every model runs one pass in turn, --repeat times.
    std::vector<Classifier> others;
    for (const auto& path : a->compare) {
      others.emplace_back(Model::load(path), opt);
      for (int64_t i = 0; i < std::min<int64_t>(N, 32); ++i) others.back().classify(texts[i]);
    }
    double secs = 0;
    std::vector<double> other_secs(others.size(), 0.0);
    for (int r = 0; r < a->repeat; ++r) {
      auto t0 = Clock::now();
      clf.classify_batch(texts, a->threads);
      secs += seconds_since(t0);
      for (size_t k = 0; k < others.size(); ++k) {
        auto t1 = Clock::now();
        others[k].classify_batch(texts, a->threads);
        other_secs[k] += seconds_since(t1);
      }
    }
    const double eps = N * a->repeat / secs;
    std::vector<double> other_eps;
    for (double t : other_secs) other_eps.push_back(N * a->repeat / t);
    // per-op profile (one more pass)
    rt::Profile prof;
    {
      rt::Workspace ws;
      std::vector<int8_t> logits(info.labels.size());
      const rt::Isa isa = clf.isa() == KernelIsa::kAvx512Vnni ? rt::Isa::kAvx512Vnni
                          : clf.isa() == KernelIsa::kAvx2     ? rt::Isa::kAvx2
                                                              : rt::Isa::kReference;
      for (const auto& t : texts) {
        auto ids = clf.encode(t);
        rt::classifier_forward(model->impl().net, ids.data(), static_cast<int64_t>(ids.size()), isa,
                               ws, logits.data(), nullptr, &prof);
      }
    }
    double prof_total = 0;
    for (double s : prof.seconds) prof_total += s;

    // ---- float ----
    std::vector<double> flat;
    double feps = 0, fbeps = 0;
    int64_t ckpt_bytes = 0;
    std::string ckpt;
    if (!a->no_float) {
      ckpt = find_checkpoint(*a, info);
      LoadedCheckpoint lc = load_checkpoint(ckpt);
      ckpt_bytes = file_size(ckpt);
      lc.qat->enabled = false;  // the plain float32 forward
      lc.model->eval();
      torch::NoGradGuard ng;
      ByteTokenizer tok(lc.meta.config.tokenizer.max_length,
                        lc.meta.config.tokenizer.lowercase_ascii);
      std::vector<std::vector<int32_t>> seqs;
      for (const auto& t : texts) seqs.push_back(encode_text(tok, t));
      auto run_one = [&](const std::vector<int32_t>& s) {
        Batch b = make_batch(std::vector<std::vector<int32_t>>{s}, std::vector<int64_t>{0});
        auto logits = lc.model->forward(b.ids, b.mask);
        auto p = lc.meta.multilabel ? torch::sigmoid(logits) : torch::softmax(logits, -1);
        (void)p.data_ptr<float>();
      };
      torch::set_num_threads(1);
      for (int64_t i = 0; i < std::min<int64_t>(N, 16); ++i) run_one(seqs[i]);
      for (const auto& s : seqs) {
        auto f0 = Clock::now();
        run_one(s);
        flat.push_back(seconds_since(f0));
      }
      torch::set_num_threads(a->threads);
      auto f0 = Clock::now();
      for (const auto& s : seqs) run_one(s);
      feps = N / seconds_since(f0);
      f0 = Clock::now();
      predict_probabilities(lc.model, lc.meta.multilabel, seqs, 64);
      fbeps = N / seconds_since(f0);
    }

    const double speedup = feps > 0 ? eps / feps : 0;
    const double ratio = info.float_bytes > 0 ? static_cast<double>(info.file_bytes) /
                                                    static_cast<double>(info.float_bytes)
                                              : 0;
    if (a->json) {
      nlohmann::ordered_json j = {{"model", a->model},
                                  {"examples", N},
                                  {"mean_bytes", bytes_in / N},
                                  {"threads", a->threads},
                                  {"isa", Classifier::isa_name(clf.isa())},
                                  {"examples_per_s", eps},
                                  {"p50_ms", 1e3 * percentile(lat, 0.5)},
                                  {"p99_ms", 1e3 * percentile(lat, 0.99)},
                                  {"float_examples_per_s", feps},
                                  {"float_p50_ms", 1e3 * percentile(flat, 0.5)},
                                  {"float_p99_ms", 1e3 * percentile(flat, 0.99)},
                                  {"float_batched_examples_per_s", fbeps},
                                  {"speedup", speedup},
                                  {"speedup_vs_batched_float", fbeps > 0 ? eps / fbeps : 0},
                                  {"model_bytes", info.file_bytes},
                                  {"float_bytes", info.float_bytes},
                                  {"size_ratio", ratio},
                                  {"checkpoint", ckpt},
                                  {"checkpoint_bytes", ckpt_bytes}};
      nlohmann::ordered_json ops = nlohmann::ordered_json::object();
      for (int i = 0; i < rt::kOpCount; ++i) {
        if (prof.calls[i] == 0) continue;
        ops[rt::op_name(static_cast<rt::Op>(i))] =
            prof_total > 0 ? prof.seconds[i] / prof_total : 0;
      }
      j["op_time_share"] = ops;
      nlohmann::ordered_json cmp = nlohmann::ordered_json::array();
      for (size_t k = 0; k < others.size(); ++k) {
        cmp.push_back({{"model", a->compare[k]},
                       {"architecture", others[k].info().architecture},
                       {"examples_per_s", other_eps[k]},
                       {"ratio_to_model", other_eps[k] / eps}});
      }
      if (!others.empty()) j["compare"] = cmp;
      std::printf("%s\n", j.dump().c_str());
      return;
    }
    std::printf("texts: %lld from %s (mean %.0f bytes after truncation to %d)\n",
                static_cast<long long>(N), a->data.c_str(), bytes_in / N, info.max_length);
    std::printf("%-28s %12s %10s %10s\n", "", "examples/s", "p50 ms", "p99 ms");
    std::printf("%-28s %12.1f %10.3f %10.3f\n",
                ("int8 runtime (" + std::string(Classifier::isa_name(clf.isa())) + ", " +
                 std::to_string(a->threads) + " thr)")
                    .c_str(),
                eps, 1e3 * percentile(lat, 0.5), 1e3 * percentile(lat, 0.99));
    if (!a->no_float) {
      std::printf("%-28s %12.1f %10.3f %10.3f\n",
                  ("libtorch float32 (" + std::to_string(a->threads) + " thr)").c_str(), feps,
                  1e3 * percentile(flat, 0.5), 1e3 * percentile(flat, 0.99));
      std::printf("%-28s %12.1f\n", "libtorch float32, batch 64", fbeps);
      std::printf("speedup: %.2fx (vs batched float: %.2fx)\n", speedup,
                  fbeps > 0 ? eps / fbeps : 0);
    }
    for (size_t k = 0; k < others.size(); ++k) {
      std::printf("%-28s %12.1f  (%.2fx --model; %s, %s)\n", "int8, --compare", other_eps[k],
                  other_eps[k] / eps, others[k].info().architecture.c_str(), a->compare[k].c_str());
    }
    std::printf("size: model %lld bytes, float32 %lld bytes (ratio %.3f)\n",
                static_cast<long long>(info.file_bytes), static_cast<long long>(info.float_bytes),
                ratio);
    std::printf("int8 time per op:");
    for (int i = 0; i < rt::kOpCount; ++i) {
      if (prof.calls[i] == 0) continue;
      std::printf(" %s %.1f%%", rt::op_name(static_cast<rt::Op>(i)),
                  prof_total > 0 ? 100.0 * prof.seconds[i] / prof_total : 0.0);
    }
    std::printf("\n");
  });
  return cmd;
}

}  // namespace bytelite::cli
