// Generation flags shared by `generate` and `eval` on seq2seq models (bytelite/seq2seq.h
// GenerateOptions; 0 / negative values mean the model's defaults).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "bytelite/errors.h"
#include "bytelite/seq2seq.h"
#include "cli/commands.h"

namespace bytelite::cli {

inline void add_generation_flags(CLI::App* cmd, GenerateOptions* o, bool n_best) {
  cmd->add_option("--beam-size", o->beam_size,
                  "Beam size K (0 = the model's default, see `bytelite info`)")
      ->check(kNonNegative);
  if (n_best) {
    cmd->add_option("--n-best", o->n_best, "Hypotheses per source, best first (<= beam size)")
        ->check(kPositive);
  }
  cmd->add_option("--max-len", o->max_len,
                  "Output bytes per hypothesis at most, EOS included (0 = the model's max_target)")
      ->check(kNonNegative);
  cmd->add_option("--length-penalty", o->length_penalty,
                  "GNMT length penalty alpha (negative = the model's default; 0 = none)");
}

/// Model::load, then a one-line error unless the model is a seq2seq model.
inline std::shared_ptr<const Model> load_seq2seq_model(const std::string& path,
                                                       const std::string& command) {
  auto model = Model::load(path);
  if (!model->info().is_seq2seq()) {
    throw ConfigError(command + ": " + path +
                      ": expected a seq2seq model (architecture byteseq2seq), found " +
                      model->info().architecture);
  }
  return model;
}

}  // namespace bytelite::cli
