// eval: metrics of a checkpoint (libtorch) or of an int8 model file (runtime) on labelled data.
// Given both, it evaluates the int8 model and reports how far it is from the checkpoint
// (robustness case C7): the largest and mean |probability difference| per example and the
// difference of every metric.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "bytelite/classifier.h"
#include "cli/commands.h"
#include "core/byte_tokenizer.h"
#include "core/dataset.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "core/progress.h"
#include "train/batcher.h"
#include "train/checkpoint.h"

namespace bytelite::cli {

namespace {
struct EvalArgs {
  std::string checkpoint, model, data;
  bool json = false, skip_bad_rows = false;
  int threads = 2, batch_size = 64;
};

struct Scored {
  EvalReport report;
  std::vector<float> probs;
};

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
}  // namespace

CLI::App* add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd =
      app.add_subcommand("eval", "Evaluate a checkpoint or an int8 model file on labelled data");
  cmd->add_option("--checkpoint", a->checkpoint,
                  "Checkpoint file or training output directory (libtorch)");
  cmd->add_option("--model", a->model,
                  "Int8 model file (runtime); with --checkpoint too, also reports the "
                  "difference between the two");
  cmd->add_option("--data", a->data, "Labelled data file (same columns as training)")->required();
  cmd->add_flag("--json", a->json, "Print one JSON object instead of a table");
  cmd->add_option("--threads", a->threads,
                  "Threads (intra-op for checkpoints, examples for models)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", a->batch_size, "Examples per forward pass (checkpoints)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--skip-bad-rows", a->skip_bad_rows, "Skip and count malformed data rows");
  cmd->callback([a]() {
    if (a->checkpoint.empty() && a->model.empty()) {
      throw ConfigError("eval: expected --checkpoint DIR or --model FILE, found neither");
    }
    torch::set_num_threads(a->threads);
    // Labels, thresholds and data columns come from the model file if given, else from the
    // checkpoint.
    std::shared_ptr<Classifier> clf;
    LoadedCheckpoint lc;
    std::vector<std::string> labels;
    std::vector<float> thresholds;
    bool multilabel = false;
    DataSpec spec;
    int max_length = 0;
    if (!a->checkpoint.empty()) {
      lc = load_checkpoint(a->checkpoint);
      labels = lc.meta.label_names;
      thresholds = lc.meta.thresholds;
      multilabel = lc.meta.multilabel;
      spec = lc.meta.config.data;
      max_length = lc.meta.config.max_length;
    }
    if (!a->model.empty()) {
      clf = std::make_shared<Classifier>(Model::load(a->model));
      const ModelInfo& mi = clf->info();
      if (!a->checkpoint.empty() && (mi.labels != labels || mi.multilabel != multilabel)) {
        throw ConfigError(a->model + ": expected the labels of checkpoint " + a->checkpoint +
                          ", found different labels");
      }
      labels = mi.labels;
      thresholds = mi.thresholds;
      multilabel = mi.multilabel;
      if (!mi.text_column.empty()) spec.text_column = mi.text_column;
      if (!mi.label_columns.empty()) spec.label_columns = mi.label_columns;
      max_length = mi.max_length;
    }
    spec.skip_bad_rows = spec.skip_bad_rows || a->skip_bad_rows;
    Dataset data = read_dataset(a->data, spec, multilabel ? std::vector<std::string>{} : labels);
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
    if (!a->checkpoint.empty()) {
      ByteTokenizer tok(lc.meta.config.max_length, lc.meta.config.lowercase_ascii);
      EncodedDataset enc = encode_dataset(data, tok);
      Progress prog("eval", N, "ex");
      ck = score(predict_probabilities(lc.model, multilabel, enc.ids, a->batch_size));
      prog.finish(N);
    }
    if (clf) {
      std::vector<std::string> texts;
      texts.reserve(N);
      for (const auto& ex : data.examples) texts.push_back(ex.text);
      Progress prog("eval int8", N, "ex");
      auto preds = clf->classify_batch(texts, a->threads);
      prog.finish(N);
      std::vector<float> probs;
      probs.reserve(N * C);
      for (const auto& p : preds)
        probs.insert(probs.end(), p.probabilities.begin(), p.probabilities.end());
      md = score(std::move(probs));
    }
    const EvalReport& r = clf ? md.report : ck.report;

    nlohmann::ordered_json cmp;
    if (clf && !a->checkpoint.empty()) {
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
      cmp = {{"checkpoint", a->checkpoint},
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
    if (a->json) {
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
      std::printf("int8 model %s (kernels: %s)\n", a->model.c_str(),
                  Classifier::isa_name(clf->isa()));
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
  });
  return cmd;
}

}  // namespace bytelite::cli
