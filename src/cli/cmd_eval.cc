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
// --model alone runs on the runtime (core/model_eval.h); --checkpoint needs libtorch
// (torch_parts.h: bytelite-train).

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
#include "cli/torch_parts.h"
#include "core/byte_tokenizer.h"
#include "core/dataset.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "core/model_eval.h"
#include "core/progress.h"
#include "core/seq2seq_metrics.h"

namespace bytelite::cli {

namespace {
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
    if (!a->checkpoint.empty()) {
      eval_checkpoint(*a, model);
      return;
    }
    const Classifier clf(model);
    ModelEvalResult r = evaluate_model_file(clf, a->data, a->threads, a->skip_bad_rows);
    r.model_path = a->model;
    std::printf("%s", a->json ? (r.to_json() + "\n").c_str() : r.to_text().c_str());
  });
  return cmd;
}

}  // namespace bytelite::cli
