// eval: metrics of a checkpoint (libtorch) or of an int8 model file (runtime) on labelled data.
// Given both, it evaluates the int8 model and reports how far it is from the checkpoint
// (robustness case C7): the largest and mean |probability difference| per example and the
// difference of every metric.
// A seq2seq model file (architecture byteseq2seq) is evaluated on (source, target) pairs read
// from the model's source / target columns: rows with the same source are one source with
// several references; each distinct source is decoded once with beam search (--beam-size,
// --length-penalty, --max-len; --threads sources in parallel, identical results for every
// thread count) and scored with core/seq2seq_metrics.h (G2P WER with the any-reference rule,
// PER, exact match, chrF), plus the decode time and sources ("words") per second.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "bytelite/classifier.h"
#include "bytelite/seq2seq.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/byte_tokenizer.h"
#include "core/dataset.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "core/progress.h"
#include "core/seq2seq_metrics.h"
#include "train/batcher.h"
#include "train/checkpoint.h"

namespace bytelite::cli {

namespace {
struct EvalArgs {
  std::string checkpoint, model, data;
  bool json = false, skip_bad_rows = false;
  int threads = 2, batch_size = 64;
  GenerateOptions gen;  // seq2seq models only
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

// Seq2seq model: WER / PER / exact match / chrF of beam-search outputs (see the top comment).
void eval_seq2seq(const EvalArgs& a, const std::shared_ptr<const Model>& model) {
  if (!a.checkpoint.empty()) {
    throw ConfigError("eval: expected --model alone for a seq2seq model (" + a.model +
                      " is byteseq2seq; checkpoints of seq2seq models are not evaluated by the "
                      "CLI), found --checkpoint " +
                      a.checkpoint);
  }
  const ModelInfo& mi = model->info();
  const std::string source_col = mi.text_column.empty() ? "source" : mi.text_column;
  const std::string target_col = mi.label_columns.empty() ? "target" : mi.label_columns[0];
  const TextPairs data =
      read_text_pairs(a.data, source_col, target_col, DataFormat::kAuto, a.skip_bad_rows);
  GroupedPairs grouped = group_by_source(data.pairs);
  const std::vector<std::string>& sources = grouped.sources;
  std::vector<std::vector<std::string>>& refs = grouped.references;
  const int64_t N = static_cast<int64_t>(sources.size());
  int64_t truncated = 0;
  for (const auto& s : sources) truncated += static_cast<int64_t>(s.size()) > mi.max_length;
  const GenerateOptions used = Seq2SeqGenerator(model, a.gen).options();  // validated, resolved
  const int threads = static_cast<int>(std::min<int64_t>(a.threads, std::max<int64_t>(N, 1)));

  Progress prog("eval seq2seq", N, "src");
  const auto t0 = std::chrono::steady_clock::now();
  const auto results =
      generate_batch(model, sources, a.gen, threads, [&prog](int64_t done) { prog.update(done); });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  prog.finish(N);
  std::vector<Seq2SeqItem> items(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    items[i].hypothesis = results[i].front().text;
    items[i].references = std::move(refs[i]);
  }
  const Seq2SeqScores sc = score_seq2seq(items);
  const double per_s = secs > 0 ? static_cast<double>(N) / secs : 0.0;
  if (a.json) {
    nlohmann::ordered_json j = {{"model", a.model},
                                {"data", a.data},
                                {"rows", static_cast<int64_t>(data.pairs.size())},
                                {"sources", sc.sources},
                                {"wer", sc.wer},
                                {"per", sc.per},
                                {"exact_match", sc.exact_match},
                                {"chrf", sc.chrf},
                                {"token_errors", sc.token_errors},
                                {"reference_tokens", sc.reference_tokens},
                                {"decode_seconds", secs},
                                {"words_per_second", per_s},
                                {"beam_size", used.beam_size},
                                {"length_penalty", used.length_penalty},
                                {"max_len", used.max_len},
                                {"threads", threads},
                                {"isa", Classifier::isa_name(used.isa)},
                                {"truncated_sources", truncated},
                                {"skipped_rows", data.skipped_rows}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf(
      "int8 seq2seq model %s (kernels: %s; beam %d, length penalty %.3g, max_len %d, "
      "threads %d)\n",
      a.model.c_str(), Classifier::isa_name(used.isa), used.beam_size, used.length_penalty,
      used.max_len, threads);
  std::printf("data: %s: %lld rows, %lld distinct sources (columns '%s' -> '%s')\n", a.data.c_str(),
              static_cast<long long>(data.pairs.size()), static_cast<long long>(N),
              source_col.c_str(), target_col.c_str());
  if (truncated > 0)
    std::printf("note: %lld sources truncated to %d bytes\n", static_cast<long long>(truncated),
                mi.max_length);
  if (data.skipped_rows > 0)
    std::printf("note: %lld bad rows skipped\n", static_cast<long long>(data.skipped_rows));
  std::printf("sources      %lld\n", static_cast<long long>(sc.sources));
  std::printf("wer          %.4f  (sources whose output matches no reference)\n", sc.wer);
  std::printf("per          %.4f  (%lld token edits / %lld reference tokens)\n", sc.per,
              static_cast<long long>(sc.token_errors), static_cast<long long>(sc.reference_tokens));
  std::printf("exact_match  %.4f\n", sc.exact_match);
  std::printf("chrf         %.2f\n", sc.chrf);
  std::printf("decode       %.3f s, %.1f words/s (distinct sources per second)\n", secs, per_s);
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
      ->check(kPositive);
  cmd->add_option("--batch-size", a->batch_size, "Examples per forward pass (checkpoints)")
      ->check(kPositive);
  cmd->add_flag("--skip-bad-rows", a->skip_bad_rows, "Skip and count malformed data rows");
  add_generation_flags(cmd, &a->gen, /*n_best=*/false);
  for (const char* f : {"--beam-size", "--max-len", "--length-penalty"})
    cmd->get_option(f)->group("Seq2seq models (byteseq2seq)");
  cmd->callback([a, cmd]() {
    if (a->checkpoint.empty() && a->model.empty()) {
      throw ConfigError("eval: expected --checkpoint DIR or --model FILE, found neither");
    }
    std::shared_ptr<const Model> model;
    if (!a->model.empty()) {
      model = Model::load(a->model);
      if (model->info().architecture == "byteseq2seq") {
        eval_seq2seq(*a, model);
        return;
      }
    }
    for (const char* f : {"--beam-size", "--max-len", "--length-penalty"}) {
      if (cmd->count(f) > 0) {
        throw ConfigError(std::string("eval: ") + f +
                          " applies to seq2seq models only, found a classifier " +
                          (model ? "model" : "checkpoint"));
      }
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
      max_length = lc.meta.config.tokenizer.max_length;
    }
    if (!a->model.empty()) {
      clf = std::make_shared<Classifier>(model);
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
      ByteTokenizer tok(lc.meta.config.tokenizer.max_length,
                        lc.meta.config.tokenizer.lowercase_ascii);
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
