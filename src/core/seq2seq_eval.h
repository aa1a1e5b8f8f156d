// Evaluation of an int8 seq2seq model file (architecture byteseq2seq) on (source, target) pairs
// (runtime only: no libtorch): `bytelite eval --model` and the Python binding's
// bytelite.evaluate. Rows with the same source are one source with several references; each
// distinct source is decoded once with beam search and scored with core/seq2seq_metrics.h.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bytelite/model.h"
#include "bytelite/seq2seq.h"
#include "core/seq2seq_metrics.h"

namespace bytelite {

struct Seq2SeqEvalResult {
  std::string model_path, data_path;
  std::string source_column, target_column;
  int64_t rows = 0, truncated_sources = 0, skipped_rows = 0;
  int32_t max_length = 0;
  Seq2SeqScores scores;
  GenerateOptions used;  // the generation options, defaults resolved
  int threads = 1;
  double decode_seconds = 0, words_per_second = 0;
  /// Every distinct source (data order of first appearance) and its best hypothesis with its
  /// references: items[i] belongs to sources[i].
  std::vector<std::string> sources;
  std::vector<Seq2SeqItem> items;

  /// The object `eval --json` prints: model, data, rows, sources, wer, per, exact_match, chrf,
  /// token_errors, reference_tokens, decode_seconds, words_per_second, beam_size,
  /// length_penalty, max_len, threads, isa, truncated_sources, skipped_rows.
  nlohmann::ordered_json json() const;
  std::string to_json() const;
  std::string to_text() const;
};

/// Reads data_path with the model's source / target columns, decodes every distinct source with
/// `gen` on `threads` (>= 1) threads (identical results for every count) and scores. Throws
/// InvalidArgument (options, not a seq2seq model), InputError (data).
Seq2SeqEvalResult evaluate_seq2seq(const std::shared_ptr<const Model>& model,
                                   const std::string& model_path, const std::string& data_path,
                                   const GenerateOptions& gen, int threads, bool skip_bad_rows,
                                   bool quiet = false);

}  // namespace bytelite
