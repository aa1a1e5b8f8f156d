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

MetricInput metric_input(bool multilabel, int32_t C, std::vector<float> probs,
                         const Dataset& data) {
  MetricInput in;
  in.multilabel = multilabel;
  in.num_labels = C;
  in.scores = std::move(probs);
  for (const auto& ex : data.examples) {
    if (multilabel) {
      in.targets.insert(in.targets.end(), ex.targets.begin(), ex.targets.end());
    } else {
      in.labels.push_back(ex.label);
    }
  }
  return in;
}

struct Scored {
  EvalReport report;
  std::vector<float> probs;
};
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
  torch::set_num_threads(a.threads);
  // Labels, thresholds and data columns come from the model file if given, else from the
  // checkpoint.
  std::shared_ptr<Classifier> clf;
  LoadedCheckpoint lc = load_checkpoint(a.checkpoint);
  std::vector<std::string> labels = lc.meta.label_names;
  std::vector<float> thresholds = lc.meta.thresholds;
  bool multilabel = lc.meta.multilabel;
  DataSpec spec = lc.meta.config.data;
  int max_length = lc.meta.config.tokenizer.max_length;
  if (model) {
    clf = std::make_shared<Classifier>(model);
    const ModelInfo& mi = clf->info();
    if (mi.labels != labels || mi.multilabel != multilabel) {
      throw ConfigError(a.model + ": expected the labels of checkpoint " + a.checkpoint +
                        ", found different labels");
    }
    thresholds = mi.thresholds;
    if (!mi.text_column.empty()) spec.text_column = mi.text_column;
    if (!mi.label_columns.empty()) spec.label_columns = mi.label_columns;
    max_length = mi.max_length;
  }
  spec.skip_bad_rows = spec.skip_bad_rows || a.skip_bad_rows;
  Dataset data = read_dataset(a.data, spec, multilabel ? std::vector<std::string>{} : labels);
  const int32_t C = static_cast<int32_t>(labels.size());
  const int64_t N = static_cast<int64_t>(data.examples.size());
  int64_t truncated = 0;
  for (const auto& ex : data.examples)
    truncated += static_cast<int64_t>(ex.text.size()) > max_length ? 1 : 0;

  auto score = [&](std::vector<float> probs) {
    Scored s;
    s.probs = probs;
    s.report = evaluate(metric_input(multilabel, C, std::move(probs), data), thresholds, labels);
    return s;
  };
  Scored ck, md;
  {
    ByteTokenizer tok(lc.meta.config.tokenizer.max_length, lc.meta.config.tokenizer.lowercase_ascii);
    EncodedDataset enc = encode_dataset(data, tok);
    Progress prog("eval", N, "ex");
    ck = score(predict_probabilities(lc.model, multilabel, enc.ids, a.batch_size));
    prog.finish(N);
  }
  if (clf) {
    std::vector<std::string> texts;
    texts.reserve(N);
    for (const auto& ex : data.examples) texts.push_back(ex.text);
    Progress prog("eval int8", N, "ex");
    auto preds = clf->classify_batch(texts, a.threads);
    prog.finish(N);
    std::vector<float> probs;
    probs.reserve(N * C);
    for (const auto& p : preds)
      probs.insert(probs.end(), p.probabilities.begin(), p.probabilities.end());
    md = score(std::move(probs));
  }
  const EvalReport& r = clf ? md.report : ck.report;

  nlohmann::ordered_json cmp;
  if (clf) {
    double max_d = 0, sum_d = 0;
    int64_t changed = 0;
    auto pred_ck = predict_labels(metric_input(multilabel, C, ck.probs, data), thresholds);
    auto pred_md = predict_labels(metric_input(multilabel, C, md.probs, data), thresholds);
    for (size_t i = 0; i < ck.probs.size(); ++i) {
      const double d = std::fabs(static_cast<double>(ck.probs[i]) - md.probs[i]);
      max_d = std::max(max_d, d);
      sum_d += d;
    }
    for (size_t i = 0; i < pred_ck.size(); ++i) changed += pred_ck[i] != pred_md[i] ? 1 : 0;
    cmp = {{"checkpoint", a.checkpoint},
           {"max_abs_prob_diff", max_d},
           {"mean_abs_prob_diff", ck.probs.empty() ? 0.0 : sum_d / ck.probs.size()},
           {"changed_predictions", changed},
           {"checkpoint_roc_auc", ck.report.roc_auc},
           {"roc_auc_diff", md.report.roc_auc - ck.report.roc_auc},
           {"checkpoint_macro_f1", ck.report.macro_f1},
           {"macro_f1_diff", md.report.macro_f1 - ck.report.macro_f1},
           {"checkpoint_accuracy", ck.report.accuracy},
           {"accuracy_diff", md.report.accuracy - ck.report.accuracy}};
  }
  if (a.json) {
    auto j = nlohmann::ordered_json::parse(report_to_json(r));
    if (!cmp.is_null()) j["compare"] = cmp;
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  if (truncated > 0)
    std::printf("note: %lld examples truncated to %d bytes\n", static_cast<long long>(truncated),
                max_length);
  if (data.skipped_rows > 0)
    std::printf("note: %lld bad rows skipped\n", static_cast<long long>(data.skipped_rows));
  if (clf)
    std::printf("int8 model %s (kernels: %s)\n", a.model.c_str(), Classifier::isa_name(clf->isa()));
  std::printf("%s", report_to_text(r).c_str());
  if (!cmp.is_null()) {
    std::printf(
        "int8 vs checkpoint: max |dp| %.5f, mean |dp| %.6f, %lld changed predictions; "
        "roc_auc %+.5f, macro_f1 %+.5f, accuracy %+.5f\n",
        cmp["max_abs_prob_diff"].get<double>(), cmp["mean_abs_prob_diff"].get<double>(),
        static_cast<long long>(cmp["changed_predictions"].get<int64_t>()),
        cmp["roc_auc_diff"].get<double>(), cmp["macro_f1_diff"].get<double>(),
        cmp["accuracy_diff"].get<double>());
  }
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
