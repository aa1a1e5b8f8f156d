// predict: one JSONL line per input line, {"labels": [...], "scores": {label: probability}}.
// The input is split on '\n' only (a trailing '\r' is removed, so CRLF files work); every other
// byte, including NUL and invalid UTF-8, is part of the text. An empty line is a valid (empty)
// text and still gets an output line (C1, C2). A text cannot contain '\n' in this framing: use
// the library (Classifier::classify) for texts with newlines.
//
// With --model the int8 runtime classifies the input as a stream: chunks of kChunkLines lines
// are read, classified by --threads threads (blocks of kBlockLines lines each; every line is
// processed by one thread, so the output is identical for every thread count) and written, so
// memory does not grow with the input. With --checkpoint (bytelite-train: torch_parts.h) the
// libtorch model runs in length-sorted batches.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bytelite/classifier.h"
#include "cli/commands.h"
#include "cli/line_reader.h"
#include "cli/predict_format.h"
#include "cli/torch_parts.h"
#include "core/atomic_file.h"
#include "core/errors.h"

namespace bytelite::cli {

namespace {
constexpr size_t kChunkLines = 4096;
constexpr size_t kBlockLines = 32;

void predict_model(const PredictArgs& a) {
  // Load the model before reading stdin, so a bad model fails fast.
  const Classifier clf(Model::load(a.model));
  const ModelInfo& info = clf.info();
  const std::vector<float> thresholds =
      override_thresholds(info.thresholds, a.threshold, info.multilabel, info.labels.size());
  const size_t C = info.labels.size();
  LineReader reader(a.input);
  std::unique_ptr<AtomicFileWriter> file;
  if (!a.output.empty() && a.output != "-") file = std::make_unique<AtomicFileWriter>(a.output);

  std::vector<std::string> lines;
  std::vector<float> probs;
  std::vector<std::string> blocks;
  while (reader.next(lines, kChunkLines)) {
    const size_t n = lines.size();
    const size_t nblocks = (n + kBlockLines - 1) / kBlockLines;
    probs.resize(n * C);
    blocks.assign(nblocks, std::string());
    std::atomic<size_t> next{0};
    auto work = [&]() {
      for (;;) {
        const size_t b = next.fetch_add(1);
        if (b >= nblocks) return;
        const size_t lo = b * kBlockLines, hi = std::min(n, lo + kBlockLines);
        for (size_t i = lo; i < hi; ++i) {
          const Prediction p = clf.classify(lines[i]);
          std::copy(p.probabilities.begin(), p.probabilities.end(), probs.begin() + i * C);
        }
        blocks[b] = format_predictions(probs.data() + lo * C, hi - lo, info.labels, info.multilabel,
                                       thresholds, a.top_k);
      }
    };
    const size_t workers = std::min<size_t>(static_cast<size_t>(a.threads), nblocks);
    std::vector<std::thread> pool;
    for (size_t w = 1; w < workers; ++w) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    for (const auto& s : blocks) {
      if (file) {
        file->write(s);
      } else {
        std::fwrite(s.data(), 1, s.size(), stdout);
      }
    }
  }
  if (file) file->commit();
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
    if (!a->model.empty()) {
      predict_model(*a);
    } else {
      predict_checkpoint(*a);
    }
  });
  return cmd;
}

}  // namespace bytelite::cli
