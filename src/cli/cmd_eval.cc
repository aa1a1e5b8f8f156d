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
#include "core/seq2seq_eval.h"
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
  const Seq2SeqEvalResult r =
      evaluate_seq2seq(model, a.model, a.data, a.gen, a.threads, a.skip_bad_rows, a.quiet);
  std::printf("%s", a.json ? (r.to_json() + "\n").c_str() : r.to_text().c_str());
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
  cmd->add_option("--batch-size", a->batch_size,
                  "Examples per forward pass (checkpoints: default 64; models: default 1; results "
                  "do not depend on it)")
      ->check(kPositive);
  cmd->add_flag("--skip-bad-rows", a->skip_bad_rows, "Skip and count malformed data rows");
  cmd->add_flag("--quiet", a->quiet, "No progress line");
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
      if (model->info().is_seq2seq()) {
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
    const int batch =
        cmd->count("--batch-size") > 0 ? a->batch_size : Classifier::kDefaultBatchSize;
    ModelEvalResult r =
        evaluate_model_file(clf, a->data, a->threads, a->skip_bad_rows, a->quiet, batch);
    r.model_path = a->model;
    std::printf("%s", a->json ? (r.to_json() + "\n").c_str() : r.to_text().c_str());
  });
  return cmd;
}

}  // namespace bytelite::cli
