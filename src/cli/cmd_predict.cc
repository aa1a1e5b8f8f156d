// predict: one JSONL line per input line, {"labels": [...], "scores": {label: probability}}.
// The input is split on '\n' only (a trailing '\r' is removed, so CRLF files work); every other
// byte, including NUL and invalid UTF-8, is part of the text. An empty line is a valid (empty)
// text and still gets an output line (C1, C2). A text cannot contain '\n' in this framing: use
// the library (Classifier::classify) for texts with newlines.
//
// With --model the int8 runtime classifies the lines, --threads of them at a time; each line is
// processed by one thread, so the output is identical for every thread count. With --checkpoint
// the libtorch model runs in length-sorted batches.
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>

#include "bytelite/classifier.h"
#include "cli/commands.h"
#include "cli/lines.h"
#include "core/atomic_file.h"
#include "core/byte_tokenizer.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "train/batcher.h"
#include "train/checkpoint.h"

namespace bytelite::cli {

namespace {
struct PredictArgs {
  std::string checkpoint, model, input, output;
  int threads = 2, batch_size = 64, top_k = 0;
  double threshold = -1;
};

// JSONL output for probabilities [N * C]; labels by the decision rule of metrics.h.
std::string format_output(const std::vector<float>& probs, size_t n,
                          const std::vector<std::string>& names, bool multilabel,
                          const std::vector<float>& thresholds, int top_k) {
  const int32_t C = static_cast<int32_t>(names.size());
  MetricInput in;
  in.multilabel = multilabel;
  in.num_labels = C;
  in.scores = probs;
  in.labels.assign(n, 0);
  in.targets.assign(probs.size(), 0.0f);
  auto pred = predict_labels(in, thresholds);
  std::string out;
  std::vector<int32_t> order(C);
  for (size_t i = 0; i < n; ++i) {
    nlohmann::ordered_json j;
    std::vector<std::string> labels;
    if (multilabel) {
      for (int32_t c = 0; c < C; ++c)
        if (pred[i * C + c]) labels.push_back(names[c]);
    } else {
      labels.push_back(names[pred[i]]);
    }
    std::iota(order.begin(), order.end(), 0);
    int32_t shown = C;
    if (top_k > 0) {
      std::stable_sort(order.begin(), order.end(),
                       [&](int32_t a, int32_t b) { return probs[i * C + a] > probs[i * C + b]; });
      shown = std::min(C, top_k);
    }
    nlohmann::ordered_json scores = nlohmann::ordered_json::object();
    for (int32_t r = 0; r < shown; ++r) scores[names[order[r]]] = probs[i * C + order[r]];
    j["labels"] = labels;
    j["scores"] = scores;
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return out;
}
}  // namespace

CLI::App* add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Classify lines of text (one JSONL result per line)");
  cmd->add_option("--checkpoint", a->checkpoint, "Checkpoint file or training output directory");
  cmd->add_option("--model", a->model, "Int8 model file (runtime; instead of --checkpoint)");
  cmd->add_option("--input", a->input, "Input text file, one example per line (default: stdin)");
  cmd->add_option("--output", a->output, "Output JSONL file (default: stdout)");
  cmd->add_option("--top-k", a->top_k,
                  "Scores of the K most probable labels only, most probable first (0 = every "
                  "label, in label order)")
      ->check(kNonNegative);
  cmd->add_option("--threshold", a->threshold,
                  "Decision threshold instead of the model's: two labels: the second label iff "
                  "its probability >= T; multi-label: each label with probability >= T; "
                  "otherwise argmax (-1 = the model's thresholds)");
  cmd->add_option("--threads", a->threads, "Threads (intra-op for checkpoints, lines for models)")
      ->check(kPositive);
  cmd->add_option("--batch-size", a->batch_size, "Examples per forward pass (checkpoints)")
      ->check(kPositive);
  cmd->callback([a]() {
    if (a->checkpoint.empty() == a->model.empty()) {
      throw ConfigError(
          "predict: expected exactly one of --checkpoint DIR and --model FILE, found " +
          std::string(a->checkpoint.empty() ? "neither" : "both"));
    }
    if (a->threshold != -1 && !(a->threshold >= 0 && a->threshold <= 1)) {
      throw ConfigError("--threshold: expected a probability in [0, 1], found " +
                        std::to_string(a->threshold));
    }
    // Load the model before reading stdin, so a bad model fails fast.
    std::unique_ptr<Classifier> clf;
    LoadedCheckpoint lc;
    if (!a->model.empty()) {
      clf = std::make_unique<Classifier>(Model::load(a->model));
    } else {
      torch::set_num_threads(a->threads);
      lc = load_checkpoint(a->checkpoint);
    }
    const std::vector<std::string> lines = split_lines(read_input(a->input));
    std::vector<std::string> names;
    bool multilabel = false;
    std::vector<float> thresholds, probs;
    if (clf) {
      names = clf->info().labels;
      multilabel = clf->info().multilabel;
      thresholds = clf->info().thresholds;
      for (const auto& p : clf->classify_batch(lines, a->threads))
        probs.insert(probs.end(), p.probabilities.begin(), p.probabilities.end());
    } else {
      names = lc.meta.label_names;
      multilabel = lc.meta.multilabel;
      thresholds = lc.meta.thresholds;
      ByteTokenizer tok(lc.meta.config.tokenizer.max_length,
                        lc.meta.config.tokenizer.lowercase_ascii);
      std::vector<std::vector<int32_t>> seqs;
      seqs.reserve(lines.size());
      for (const auto& l : lines) seqs.push_back(encode_text(tok, l));
      probs = predict_probabilities(lc.model, multilabel, seqs, a->batch_size);
    }
    if (a->threshold != -1) {
      const float t = static_cast<float>(a->threshold);
      if (multilabel) {
        thresholds.assign(names.size(), t);
      } else if (names.size() == 2) {
        thresholds = {t};
      } else {
        thresholds.clear();
      }
    }
    const std::string out =
        format_output(probs, lines.size(), names, multilabel, thresholds, a->top_k);
    write_output(a->output, out);
  });
  return cmd;
}

}  // namespace bytelite::cli
