#include "core/seq2seq_eval.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bytelite/classifier.h"
#include "core/dataset.h"
#include "core/progress.h"

namespace bytelite {

Seq2SeqEvalResult evaluate_seq2seq(const std::shared_ptr<const Model>& model,
                                   const std::string& model_path, const std::string& data_path,
                                   const GenerateOptions& gen, int threads, bool skip_bad_rows,
                                   bool quiet) {
  Seq2SeqEvalResult r;
  r.model_path = model_path;
  r.data_path = data_path;
  r.used = Seq2SeqGenerator(model, gen).options();  // validated, resolved
  const ModelInfo& mi = model->info();
  r.max_length = mi.max_length;
  r.source_column = mi.text_column.empty() ? "source" : mi.text_column;
  r.target_column = mi.label_columns.empty() ? "target" : mi.label_columns[0];
  const TextPairs data = read_text_pairs(data_path, r.source_column, r.target_column,
                                         DataFormat::kAuto, skip_bad_rows);
  r.rows = static_cast<int64_t>(data.pairs.size());
  r.skipped_rows = data.skipped_rows;
  GroupedPairs grouped = group_by_source(data.pairs);
  const std::vector<std::string>& sources = grouped.sources;
  std::vector<std::vector<std::string>>& refs = grouped.references;
  const int64_t N = static_cast<int64_t>(sources.size());
  for (const auto& s : sources)
    r.truncated_sources += static_cast<int64_t>(s.size()) > mi.max_length;
  r.threads = static_cast<int>(std::min<int64_t>(threads, std::max<int64_t>(N, 1)));

  Progress prog("eval seq2seq", N, "src", 2.0, quiet);
  const auto t0 = std::chrono::steady_clock::now();
  const auto results =
      generate_batch(model, sources, gen, r.threads, [&prog](int64_t done) { prog.update(done); });
  r.decode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  prog.finish(N);
  std::vector<Seq2SeqItem> items(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    items[i].hypothesis = results[i].front().text;
    items[i].references = std::move(refs[i]);
  }
  r.scores = score_seq2seq(items);
  r.sources = sources;
  r.items = std::move(items);
  r.words_per_second = r.decode_seconds > 0 ? static_cast<double>(N) / r.decode_seconds : 0.0;
  return r;
}

nlohmann::ordered_json Seq2SeqEvalResult::json() const {
  const Seq2SeqScores& sc = scores;
  return {{"model", model_path},
          {"data", data_path},
          {"rows", rows},
          {"sources", sc.sources},
          {"wer", sc.wer},
          {"per", sc.per},
          {"exact_match", sc.exact_match},
          {"chrf", sc.chrf},
          {"token_errors", sc.token_errors},
          {"reference_tokens", sc.reference_tokens},
          {"decode_seconds", decode_seconds},
          {"words_per_second", words_per_second},
          {"beam_size", used.beam_size},
          {"length_penalty", used.length_penalty},
          {"max_len", used.max_len},
          {"threads", threads},
          {"isa", Classifier::isa_name(used.isa)},
          {"truncated_sources", truncated_sources},
          {"skipped_rows", skipped_rows}};
}

std::string Seq2SeqEvalResult::to_json() const {
  return json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Seq2SeqEvalResult::to_text() const {
  const Seq2SeqScores& sc = scores;
  std::string out;
  char buf[1024];
  auto add = [&](int n) {
    out.append(buf, static_cast<size_t>(std::max(0, std::min<int>(n, sizeof buf - 1))));
  };
  add(std::snprintf(buf, sizeof buf,
                    "int8 seq2seq model %s (kernels: %s; beam %d, length penalty %.3g, max_len "
                    "%d, threads %d)\n",
                    model_path.c_str(), Classifier::isa_name(used.isa), used.beam_size,
                    used.length_penalty, used.max_len, threads));
  add(std::snprintf(
      buf, sizeof buf, "data: %s: %lld rows, %lld distinct sources (columns '%s' -> '%s')\n",
      data_path.c_str(), static_cast<long long>(rows), static_cast<long long>(sc.sources),
      source_column.c_str(), target_column.c_str()));
  if (truncated_sources > 0)
    add(std::snprintf(buf, sizeof buf, "note: %lld sources truncated to %d bytes\n",
                      static_cast<long long>(truncated_sources), max_length));
  if (skipped_rows > 0)
    add(std::snprintf(buf, sizeof buf, "note: %lld bad rows skipped\n",
                      static_cast<long long>(skipped_rows)));
  add(std::snprintf(buf, sizeof buf, "sources      %lld\n", static_cast<long long>(sc.sources)));
  add(std::snprintf(buf, sizeof buf,
                    "wer          %.4f  (sources whose output matches no reference)\n", sc.wer));
  add(std::snprintf(
      buf, sizeof buf, "per          %.4f  (%lld token edits / %lld reference tokens)\n", sc.per,
      static_cast<long long>(sc.token_errors), static_cast<long long>(sc.reference_tokens)));
  add(std::snprintf(buf, sizeof buf, "exact_match  %.4f\n", sc.exact_match));
  add(std::snprintf(buf, sizeof buf, "chrf         %.2f\n", sc.chrf));
  add(std::snprintf(buf, sizeof buf,
                    "decode       %.3f s, %.1f words/s (distinct sources per second)\n",
                    decode_seconds, words_per_second));
  return out;
}

}  // namespace bytelite
