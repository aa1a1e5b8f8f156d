// Speed of the int8 runtime on a set of texts (runtime only: no libtorch). Used by
// `bytelite bench` (which adds the libtorch float32 comparison in bytelite-train) and meant for
// bindings.
//
// Definitions:
//  - latency: one text at a time on one thread, tokenization to probabilities; p50 / p99 over
//    every text, `repeat` passes, after a warm-up of 32 texts;
//  - examples_per_s: every text, one text per forward pass, spread over `threads` threads,
//    `repeat` passes (Classifier::classify_batch with batch size 1);
//  - batched_examples_per_s: the same with `batch_size` texts per forward pass (batched
//    inference, docs/runtime.md), passes interleaved with the one-text passes;
//  - compare: other classifiers timed in the same run on the same texts, passes interleaved
//    round-robin with the main one (so that machine noise hits all alike);
//  - op_share: the fraction of the forward time spent in each op (rt::Op names), from one more
//    pass with per-op timers, one text per forward pass; batched_op_share: the same with
//    `batch_size` texts per forward pass.
// Timing is reported, never asserted by tests.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bytelite/classifier.h"

namespace bytelite {

struct RuntimeBenchOptions {
  int threads = 1;     // >= 1
  int repeat = 1;      // >= 1
  int batch_size = 8;  // >= 1: texts per forward pass of the batched measurement
  bool quiet = false;  // no progress line (core/progress.h)
};

struct RuntimeBenchCompare {
  std::string model_path;
  std::string architecture;
  double examples_per_s = 0;
  double ratio_to_model = 0;  // examples_per_s / the main model's
};

struct RuntimeBenchResult {
  std::string model_path;  // set by the caller (the CLI: --model)
  std::string data_path;   // set by the caller
  int64_t examples = 0;
  double mean_bytes = 0;  // mean text length after truncation to max_length
  int32_t max_length = 0;
  int threads = 1;
  std::string isa;
  double examples_per_s = 0;
  int batch_size = 1;
  double batched_examples_per_s = 0;
  double p50_ms = 0, p99_ms = 0;
  int64_t model_bytes = 0, float_bytes = 0;
  std::vector<std::pair<std::string, double>> op_share;  // ops that ran, rt::Op order
  std::vector<std::pair<std::string, double>> batched_op_share;
  std::vector<RuntimeBenchCompare> compare;

  /// One JSON object: model, examples, mean_bytes, threads, isa, examples_per_s, batch_size,
  /// batched_examples_per_s, batch_speedup, p50_ms, p99_ms, model_bytes, float_bytes,
  /// size_ratio, op_time_share {op: share}, batched_op_time_share, compare (if any).
  std::string to_json() const;
  /// The table of `bytelite bench --no-float`: texts line, the int8 row, compare rows, sizes,
  /// time per op.
  std::string to_text() const;
  /// model_bytes / float_bytes (0 if unknown).
  double size_ratio() const;
};

/// Measures `clf` (and `others`, interleaved) on `texts` (at least one; InputError otherwise).
/// compare_paths names `others` in the result (same length, may be empty).
RuntimeBenchResult bench_runtime(const Classifier& clf, const std::vector<std::string>& texts,
                                 const RuntimeBenchOptions& options,
                                 const std::vector<const Classifier*>& others = {},
                                 const std::vector<std::string>& compare_paths = {});

/// p-quantile (nearest rank, q in [0, 1]) of v; 0 for an empty v.
double percentile(std::vector<double> v, double q);

}  // namespace bytelite
