// predict: one JSONL line per input line. The input is split on '\n' only (a trailing '\r' is
// removed, so CRLF files work); every other byte, including NUL and invalid UTF-8, is part of the
// text. An empty line is a valid (empty) text and still gets an output line (C1, C2).
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/byte_tokenizer.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "train/batcher.h"
#include "train/checkpoint.h"

namespace bytelite::cli {

namespace {
struct PredictArgs {
  std::string checkpoint, input, output;
  int threads = 2, batch_size = 64;
};
}  // namespace

CLI::App* add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Classify lines of text (one JSONL result per line)");
  cmd->add_option("--checkpoint", a->checkpoint, "Checkpoint file or training output directory")
      ->required();
  cmd->add_option("--input", a->input, "Input text file, one example per line (default: stdin)");
  cmd->add_option("--output", a->output, "Output JSONL file (default: stdout)");
  cmd->add_option("--threads", a->threads, "Intra-op threads")->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", a->batch_size, "Examples per forward pass")
      ->check(CLI::PositiveNumber);
  cmd->callback([a]() {
    torch::set_num_threads(a->threads);
    auto lc = load_checkpoint(a->checkpoint);
    std::string raw;
    if (a->input.empty() || a->input == "-") {
      std::ostringstream ss;
      ss << std::cin.rdbuf();
      raw = ss.str();
    } else {
      raw = read_file(a->input);
    }
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < raw.size()) {
      size_t nl = raw.find('\n', start);
      size_t end = nl == std::string::npos ? raw.size() : nl;
      std::string line = raw.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(std::move(line));
      start = end + 1;
    }
    ByteTokenizer tok(lc.meta.config.max_length);
    std::vector<std::vector<int32_t>> seqs;
    seqs.reserve(lines.size());
    for (const auto& l : lines) seqs.push_back(encode_text(tok, l));
    auto probs = predict_probabilities(lc.model, lc.meta.multilabel, seqs, a->batch_size);
    const auto& names = lc.meta.label_names;
    const int32_t C = static_cast<int32_t>(names.size());
    MetricInput in;
    in.multilabel = lc.meta.multilabel;
    in.num_labels = C;
    in.scores = probs;
    in.labels.assign(lines.size(), 0);
    in.targets.assign(probs.size(), 0.0f);
    auto pred = predict_labels(in, lc.meta.thresholds);
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
      nlohmann::json j;
      nlohmann::json scores = nlohmann::json::object();
      for (int32_t c = 0; c < C; ++c) scores[names[c]] = probs[i * C + c];
      std::vector<std::string> labels;
      if (lc.meta.multilabel) {
        for (int32_t c = 0; c < C; ++c)
          if (pred[i * C + c]) labels.push_back(names[c]);
      } else {
        labels.push_back(names[pred[i]]);
      }
      j["labels"] = labels;
      j["scores"] = scores;
      out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    if (a->output.empty() || a->output == "-") {
      std::fwrite(out.data(), 1, out.size(), stdout);
    } else {
      write_file_atomic(a->output, out);
    }
  });
  return cmd;
}

}  // namespace bytelite::cli
