#include <torch/torch.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "core/byte_tokenizer.h"
#include "core/dataset.h"
#include "core/metrics.h"
#include "core/progress.h"
#include "train/batcher.h"
#include "train/checkpoint.h"

namespace bytelite::cli {

namespace {
struct EvalArgs {
  std::string checkpoint, data;
  bool json = false, skip_bad_rows = false;
  int threads = 2, batch_size = 64;
};
}  // namespace

CLI::App* add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained checkpoint on labelled data");
  cmd->add_option("--checkpoint", a->checkpoint, "Checkpoint file or training output directory")
      ->required();
  cmd->add_option("--data", a->data, "Labelled data file (same columns as training)")->required();
  cmd->add_flag("--json", a->json, "Print one JSON object instead of a table");
  cmd->add_option("--threads", a->threads, "Intra-op threads")->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", a->batch_size, "Examples per forward pass")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--skip-bad-rows", a->skip_bad_rows, "Skip and count malformed data rows");
  cmd->callback([a]() {
    torch::set_num_threads(a->threads);
    auto lc = load_checkpoint(a->checkpoint);
    DataSpec spec = lc.meta.config.data;
    spec.skip_bad_rows = spec.skip_bad_rows || a->skip_bad_rows;
    Dataset data = read_dataset(
        a->data, spec, lc.meta.multilabel ? std::vector<std::string>{} : lc.meta.label_names);
    ByteTokenizer tok(lc.meta.config.max_length);
    EncodedDataset enc = encode_dataset(data, tok);
    Progress prog("eval", static_cast<int64_t>(enc.size()), "ex");
    auto probs = predict_probabilities(lc.model, lc.meta.multilabel, enc.ids, a->batch_size);
    prog.finish(static_cast<int64_t>(enc.size()));
    MetricInput in;
    in.multilabel = lc.meta.multilabel;
    in.num_labels = static_cast<int32_t>(lc.meta.label_names.size());
    in.scores = std::move(probs);
    in.labels = enc.labels;
    in.targets = enc.targets;
    EvalReport r = evaluate(in, lc.meta.thresholds, lc.meta.label_names);
    if (a->json) {
      std::printf("%s\n", nlohmann::ordered_json::parse(report_to_json(r)).dump().c_str());
    } else {
      if (enc.truncated > 0)
        std::printf("note: %lld examples truncated to %d bytes\n",
                    static_cast<long long>(enc.truncated), lc.meta.config.max_length);
      if (data.skipped_rows > 0)
        std::printf("note: %lld bad rows skipped\n", static_cast<long long>(data.skipped_rows));
      std::printf("%s", report_to_text(r).c_str());
    }
  });
  return cmd;
}

}  // namespace bytelite::cli
