#include "train/checkpoint_eval.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bytelite/classifier.h"
#include "core/byte_tokenizer.h"
#include "core/dataset.h"
#include "core/errors.h"
#include "core/model_eval.h"
#include "core/progress.h"
#include "train/batcher.h"
#include "train/checkpoint.h"

namespace bytelite {

namespace {
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

CheckpointEvalResult evaluate_checkpoint(const CheckpointEvalOptions& a) {
  CheckpointEvalResult res;
  const std::shared_ptr<const Model>& model = a.model;
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
      throw ConfigError(a.model_path + ": expected the labels of checkpoint " + a.checkpoint +
                        ", found different labels");
    }
    thresholds = mi.thresholds;
    if (!mi.text_column.empty()) spec.text_column = mi.text_column;
    if (!mi.label_columns.empty()) spec.label_columns = mi.label_columns;
    max_length = mi.max_length;
  }
  spec.skip_bad_rows = spec.skip_bad_rows || a.skip_bad_rows;
  Dataset data = read_dataset(a.data_path, spec, multilabel ? std::vector<std::string>{} : labels);
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
    ByteTokenizer tok(lc.meta.config.tokenizer.max_length,
                      lc.meta.config.tokenizer.lowercase_ascii);
    EncodedDataset enc = encode_dataset(data, tok);
    Progress prog("eval", N, "ex", 2.0, a.quiet);
    ck = score(predict_probabilities(lc.model, multilabel, enc.ids, a.batch_size));
    prog.finish(N);
  }
  if (clf) {
    std::vector<std::string> texts;
    texts.reserve(N);
    for (const auto& ex : data.examples) texts.push_back(ex.text);
    Progress prog("eval int8", N, "ex", 2.0, a.quiet);
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
  res.report = r;
  res.compare = cmp;
  res.max_length = max_length;
  res.truncated = truncated;
  res.skipped_rows = data.skipped_rows;
  if (clf) {
    res.model_path = a.model_path;
    res.isa = Classifier::isa_name(clf->isa());
  }
  return res;
}

std::string CheckpointEvalResult::to_json() const {
  auto j = nlohmann::ordered_json::parse(report_to_json(report));
  if (!compare.is_null()) j["compare"] = compare;
  return j.dump();
}

std::string CheckpointEvalResult::to_text() const {
  std::string out = eval_notes(truncated, max_length, skipped_rows);
  if (!isa.empty()) out += "int8 model " + model_path + " (kernels: " + isa + ")\n";
  out += report_to_text(report);
  if (!compare.is_null()) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "int8 vs checkpoint: max |dp| %.5f, mean |dp| %.6f, %lld changed predictions; "
                  "roc_auc %+.5f, macro_f1 %+.5f, accuracy %+.5f\n",
                  compare["max_abs_prob_diff"].get<double>(),
                  compare["mean_abs_prob_diff"].get<double>(),
                  static_cast<long long>(compare["changed_predictions"].get<int64_t>()),
                  compare["roc_auc_diff"].get<double>(), compare["macro_f1_diff"].get<double>(),
                  compare["accuracy_diff"].get<double>());
    out += buf;
  }
  return out;
}

}  // namespace bytelite
