// The parts of predict, eval and bench that need libtorch. bytelite-train defines them
// (torch_parts.cc); the runtime-only `bytelite` defines them as hand_off to bytelite-train
// (torch_handoff.cc), together with pass-through train / pretrain / export subcommands.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bytelite/model.h"
#include "bytelite/seq2seq.h"

namespace bytelite::cli {

struct PredictArgs {
  std::string checkpoint, model, input, output;
  int threads = 2, batch_size = 64, top_k = 0;
  double threshold = -1;
};

struct EvalArgs {
  std::string checkpoint, model, data;
  bool json = false, skip_bad_rows = false, quiet = false;
  int threads = 2, batch_size = 64;
  GenerateOptions gen;  // seq2seq models only
};

struct BenchArgs {
  std::string model, data, checkpoint, isa = "auto";
  std::vector<std::string> compare;
  int threads = 1, max_examples = 0, repeat = 1, batch_size = 8;
  bool json = false, no_float = false, quiet = false;
  // seq2seq models
  int beam_size = 0, runs = 10;
  int64_t source_positions = 32;
};

/// The libtorch float32 side of bench (QAT off, eval mode), on the same texts.
struct FloatBench {
  std::vector<double> latency_s;      // one text at a time, one thread
  double examples_per_s = 0;          // one text per forward, --threads intra-op threads
  double batched_examples_per_s = 0;  // length-sorted batches of 64
  std::string checkpoint;
  int64_t checkpoint_bytes = 0;
};

/// predict --checkpoint (the libtorch model in length-sorted batches).
void predict_checkpoint(const PredictArgs& a);
/// eval --checkpoint [--model]: the checkpoint's metrics, or with --model the int8 model's and
/// the difference between the two (robustness case C7). `model` is null without --model.
void eval_checkpoint(const EvalArgs& a, std::shared_ptr<const Model> model);
/// report: how the QAT checkpoint and the int8 model agree on labelled data (eval --checkpoint
/// --model's "compare" object: changed_predictions, max_abs_prob_diff, mean_abs_prob_diff, ...).
/// The runtime executable never calls it (it hands report to bytelite-train first).
nlohmann::json qat_agreement(const std::string& checkpoint, const std::string& model_path,
                             const std::string& data_path, int threads, bool quiet);

/// bench's float comparison (--checkpoint, else the one recorded in the model, else best.ckpt
/// beside it).
FloatBench float_bench(const BenchArgs& a, const ModelInfo& info,
                       const std::vector<std::string>& texts);

}  // namespace bytelite::cli
