// The libtorch parts of predict, eval and bench (bytelite-train only; see torch_parts.h).
#include "cli/torch_parts.h"

#include <sys/stat.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "bytelite/classifier.h"
#include "cli/handoff.h"
#include "cli/lines.h"
#include "cli/predict_format.h"
#include "core/byte_tokenizer.h"
#include "core/dataset.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "core/progress.h"
#include "train/batcher.h"
#include "train/checkpoint.h"
#include "train/checkpoint_eval.h"

namespace bytelite::cli {

namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

int64_t file_size(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

}  // namespace

bool have_libtorch() { return true; }

void predict_checkpoint(const PredictArgs& a) {
  torch::set_num_threads(a.threads);
  LoadedCheckpoint lc = load_checkpoint(a.checkpoint);  // before reading stdin: fail fast
  const std::vector<std::string> lines = split_lines(read_input(a.input));
  ByteTokenizer tok(lc.meta.config.tokenizer.max_length, lc.meta.config.tokenizer.lowercase_ascii);
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(lines.size());
  for (const auto& l : lines) seqs.push_back(encode_text(tok, l));
  const std::vector<float> probs =
      predict_probabilities(lc.model, lc.meta.multilabel, seqs, a.batch_size);
  const std::vector<float> thresholds = override_thresholds(
      lc.meta.thresholds, a.threshold, lc.meta.multilabel, lc.meta.label_names.size());
  write_output(a.output, format_predictions(probs.data(), lines.size(), lc.meta.label_names,
                                            lc.meta.multilabel, thresholds, a.top_k));
}

void eval_checkpoint(const EvalArgs& a, std::shared_ptr<const Model> model) {
  CheckpointEvalOptions o;
  o.checkpoint = a.checkpoint;
  o.model = std::move(model);
  o.model_path = a.model;
  o.data_path = a.data;
  o.threads = a.threads;
  o.batch_size = a.batch_size;
  o.skip_bad_rows = a.skip_bad_rows;
  o.quiet = a.quiet;
  const CheckpointEvalResult r = evaluate_checkpoint(o);
  std::printf("%s", a.json ? (r.to_json() + "\n").c_str() : r.to_text().c_str());
}

nlohmann::json qat_agreement(const std::string& checkpoint, const std::string& model_path,
                             const std::string& data_path, int threads, bool quiet) {
  CheckpointEvalOptions o;
  o.checkpoint = checkpoint;
  o.model = Model::load(model_path);
  o.model_path = model_path;
  o.data_path = data_path;
  o.threads = threads;
  o.quiet = quiet;
  return evaluate_checkpoint(o).compare;
}

FloatBench float_bench(const BenchArgs& a, const ModelInfo& info,
                       const std::vector<std::string>& texts) {
  FloatBench fb;
  // --checkpoint, else the path recorded at export, else best.ckpt beside the model file.
  if (!a.checkpoint.empty()) {
    fb.checkpoint = a.checkpoint;
  } else if (!info.source_checkpoint.empty() && is_file(info.source_checkpoint)) {
    fb.checkpoint = info.source_checkpoint;
  } else {
    const size_t slash = a.model.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : a.model.substr(0, slash);
    if (!is_file(dir + "/best.ckpt")) {
      throw ConfigError(a.model +
                        ": expected the float checkpoint for the comparison (recorded: '" +
                        info.source_checkpoint + "', or best.ckpt beside the model), found none; " +
                        "pass --checkpoint DIR or --no-float");
    }
    fb.checkpoint = dir + "/best.ckpt";
  }
  LoadedCheckpoint lc = load_checkpoint(fb.checkpoint);
  fb.checkpoint_bytes = file_size(fb.checkpoint);
  lc.qat->enabled = false;  // the plain float32 forward
  lc.model->eval();
  torch::NoGradGuard ng;
  ByteTokenizer tok(lc.meta.config.tokenizer.max_length, lc.meta.config.tokenizer.lowercase_ascii);
  std::vector<std::vector<int32_t>> seqs;
  for (const auto& t : texts) seqs.push_back(encode_text(tok, t));
  const int64_t N = static_cast<int64_t>(seqs.size());
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
    fb.latency_s.push_back(seconds_since(f0));
  }
  torch::set_num_threads(a.threads);
  auto f0 = Clock::now();
  for (const auto& s : seqs) run_one(s);
  fb.examples_per_s = N / seconds_since(f0);
  f0 = Clock::now();
  predict_probabilities(lc.model, lc.meta.multilabel, seqs, 64);
  fb.batched_examples_per_s = N / seconds_since(f0);
  return fb;
}

}  // namespace bytelite::cli
