#include "core/model_eval.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/progress.h"

namespace bytelite {

ModelEvalResult evaluate_model(const Classifier& clf, const Dataset& data, int threads, bool quiet,
                               int batch_size) {
  if (threads < 1) {
    throw ConfigError("evaluate_model: expected threads >= 1, found " + std::to_string(threads));
  }
  const ModelInfo& mi = clf.info();
  const int32_t C = static_cast<int32_t>(mi.labels.size());
  if (data.multilabel != mi.multilabel || (!mi.multilabel && data.label_names != mi.labels) ||
      (mi.multilabel && static_cast<int32_t>(data.label_names.size()) != C)) {
    throw ConfigError(data.path + ": expected the labels of the model (" + std::to_string(C) +
                      (mi.multilabel ? " multi-label" : " single-label") +
                      "), found different labels");
  }
  ModelEvalResult r;
  r.data_path = data.path;
  r.isa = Classifier::isa_name(clf.isa());
  r.max_length = mi.max_length;
  r.skipped_rows = data.skipped_rows;
  std::vector<std::string> texts;
  texts.reserve(data.examples.size());
  for (const auto& ex : data.examples) {
    texts.push_back(ex.text);
    r.truncated += static_cast<int64_t>(ex.text.size()) > mi.max_length ? 1 : 0;
  }
  // In chunks, for the progress line; a text's result does not depend on its chunk or batch.
  constexpr size_t kChunk = 2048;
  std::vector<Prediction> preds;
  preds.reserve(texts.size());
  Progress prog("eval", static_cast<int64_t>(texts.size()), "ex", 2.0, quiet);
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t b = 0; b < texts.size(); b += kChunk) {
    const std::vector<std::string> chunk(
        texts.begin() + static_cast<std::ptrdiff_t>(b),
        texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), b + kChunk)));
    std::vector<Prediction> p = clf.classify_batch(chunk, threads, batch_size);
    for (auto& x : p) preds.push_back(std::move(x));
    prog.update(static_cast<int64_t>(preds.size()));
  }
  r.classify_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  prog.finish(static_cast<int64_t>(preds.size()));
  r.threads = threads;
  MetricInput in;
  in.multilabel = mi.multilabel;
  in.num_labels = C;
  in.scores.reserve(preds.size() * C);
  for (const auto& p : preds)
    in.scores.insert(in.scores.end(), p.probabilities.begin(), p.probabilities.end());
  for (const auto& ex : data.examples) {
    if (mi.multilabel) {
      in.targets.insert(in.targets.end(), ex.targets.begin(), ex.targets.end());
    } else {
      in.labels.push_back(ex.label);
    }
  }
  r.probabilities = in.scores;
  r.labels = in.labels;
  r.targets = in.targets;
  r.report = evaluate(in, mi.thresholds, mi.labels);
  return r;
}

ModelEvalResult evaluate_model_file(const Classifier& clf, const std::string& data_path,
                                    int threads, bool skip_bad_rows, bool quiet, int batch_size) {
  const ModelInfo& mi = clf.info();
  DataSpec spec;
  if (!mi.text_column.empty()) spec.text_column = mi.text_column;
  if (!mi.label_columns.empty()) spec.label_columns = mi.label_columns;
  spec.skip_bad_rows = skip_bad_rows;
  const Dataset data =
      read_dataset(data_path, spec, mi.multilabel ? std::vector<std::string>{} : mi.labels);
  return evaluate_model(clf, data, threads, quiet, batch_size);
}

std::string ModelEvalResult::to_json() const {
  return nlohmann::ordered_json::parse(report_to_json(report)).dump();
}

std::string eval_notes(int64_t truncated, int32_t max_length, int64_t skipped_rows) {
  std::string s;
  char buf[128];
  if (truncated > 0) {
    std::snprintf(buf, sizeof buf, "note: %lld examples truncated to %d bytes\n",
                  static_cast<long long>(truncated), static_cast<int>(max_length));
    s += buf;
  }
  if (skipped_rows > 0) {
    std::snprintf(buf, sizeof buf, "note: %lld bad rows skipped\n",
                  static_cast<long long>(skipped_rows));
    s += buf;
  }
  return s;
}

std::string ModelEvalResult::to_text() const {
  std::string s = eval_notes(truncated, max_length, skipped_rows);
  s += "int8 model " + model_path + " (kernels: " + isa + ")\n";
  return s + report_to_text(report);
}

}  // namespace bytelite
