#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/export.h"
#include "train/seq2seq_trainer.h"
#include "train/trainer.h"

namespace bytelite::cli {

namespace {
struct TrainArgs {
  std::string config, train, valid, out;
  bool resume = false, quiet = false, skip_bad_rows = false;
  long max_steps = 0, stop_after = 0;
  int epochs = 0, threads = 0;
  long seed = -1;
  std::string qat, init_from;
  std::vector<std::string> set;
};
}  // namespace

CLI::App* add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand(
      "train",
      "Train a classifier (or, with task \"seq2seq\", a byte-to-byte model) from TSV/CSV/JSONL");
  cmd->add_option("--config", args->config,
                  "Experiment config (JSON), e.g. configs/byteqrnn_olid.json")
      ->required();
  cmd->add_option("--train", args->train, "Training data file (.tsv, .csv, .jsonl)")->required();
  cmd->add_option("--valid", args->valid,
                  "Validation data file: early stopping, decision thresholds, best checkpoint")
      ->required();
  cmd->add_option("--out", args->out, "Output directory (best.ckpt, last.ckpt, config.json)")
      ->required();
  cmd->add_flag("--resume", args->resume,
                "Continue from OUT/last.ckpt (seq2seq: from OUT/model.pt, bit for bit)");
  cmd->add_option("--stop-after", args->stop_after,
                  "Seq2seq: stop at the first evaluation after this many steps, resumable with "
                  "--resume (0 = run to the end)")
      ->check(kNonNegative);
  cmd->add_option("--max-steps", args->max_steps,
                  "Optimizer steps (overrides train.max_steps and epochs; 0 = from config)")
      ->check(kNonNegative);
  cmd->add_option("--epochs", args->epochs, "Epochs (overrides train.epochs; 0 = from config)")
      ->check(kNonNegative);
  cmd->add_option("--threads", args->threads,
                  "Intra-op threads (overrides train.threads; 0 = from config)")
      ->check(kNonNegative);
  cmd->add_option("--seed", args->seed, "Random seed (overrides train.seed; -1 = from config)");
  cmd->add_option("--qat", args->qat, "Quantization-aware training on|off (overrides config)")
      ->check(CLI::IsMember({"", "on", "off"}));
  cmd->add_option("--init-from", args->init_from,
                  "Start the encoder from a pretraining checkpoint (the OUT directory of "
                  "'bytelite pretrain', or a .ckpt file); pooling and head start fresh");
  cmd->add_option("--set", args->set,
                  "Override a config key, section.key=value (repeatable; applied before the "
                  "dedicated flags; keys: docs/config.md)");
  cmd->add_flag("--skip-bad-rows", args->skip_bad_rows, "Skip and count malformed data rows");
  cmd->add_flag("--quiet", args->quiet, "No progress output");
  cmd->callback([args]() {
    ExperimentConfig cfg = load_config(args->config, args->set);
    if (args->max_steps > 0) cfg.train.max_steps = args->max_steps;
    if (args->epochs > 0) {
      cfg.train.epochs = args->epochs;
      if (args->max_steps == 0) cfg.train.max_steps = 0;
    }
    if (args->threads > 0) cfg.train.threads = args->threads;
    if (args->seed >= 0) cfg.train.seed = static_cast<unsigned long>(args->seed);
    if (!args->qat.empty()) cfg.quantization.enabled = args->qat == "on";
    if (args->skip_bad_rows) cfg.data.skip_bad_rows = true;
    TrainOptions o;
    o.train_path = args->train;
    o.valid_path = args->valid;
    o.out_dir = args->out;
    o.resume = args->resume;
    o.stop_after = args->stop_after;
    o.verbose = !args->quiet;
    if (cfg.task == "seq2seq") {
      if (!args->init_from.empty()) {
        throw InvalidArgument("--init-from: expected a classifier config, found task \"seq2seq\"");
      }
      Seq2SeqTrainResult r = train_seq2seq(cfg, o);
      nlohmann::json summary = {{"task", "seq2seq"},
                                {"parameters", r.parameter_count},
                                {"steps", r.steps},
                                {"train_seconds", r.seconds},
                                {"valid", r.valid},
                                {"qat", cfg.quantization.enabled},
                                {"model", r.model_path},
                                {"model_bytes", r.model_bytes},
                                {"threads", cfg.train.threads}};
      write_file_atomic(args->out + "/summary.json", summary.dump(2) + "\n");
      std::printf("trained %lld steps in %.1fs; valid %s\n", static_cast<long long>(r.steps),
                  r.seconds, r.valid.dump().c_str());
      if (r.model_path.empty()) {
        std::printf("no int8 model: trained without QAT (--qat on to get OUT/model.blt)\n");
      } else {
        std::printf("int8 model: %s (%lld bytes)\n", r.model_path.c_str(),
                    static_cast<long long>(r.model_bytes));
      }
      return;
    }
    TrainResult r = train_classifier(cfg, o, args->init_from);
    // The int8 model for the runtime, from the best checkpoint (QAT models only: a float model
    // has no activation ranges to quantize with).
    ExportSummary ex;
    std::string model_note;
    if (!cfg.quantization.enabled) {
      model_note = "no int8 model: trained without QAT (--qat on to get OUT/model.blt)";
    } else if (r.best_step == 0) {
      model_note = "no int8 model: no evaluation finished, so there is no best checkpoint";
    } else {
      ex = export_checkpoint(r.best_checkpoint, args->out + "/model.blt");
    }
    nlohmann::json summary = {{"parameters", r.parameter_count},
                              {"int8_bytes", r.int8_bytes},
                              {"steps", r.steps},
                              {"best_step", r.best_step},
                              {"best_valid_metric", r.best_metric},
                              {"metric", cfg.train.metric},
                              {"train_seconds", r.seconds},
                              {"stopped_early", r.stopped_early},
                              {"qat", cfg.quantization.enabled},
                              {"model", ex.path},
                              {"model_bytes", ex.model_bytes},
                              {"float_bytes", ex.float_bytes},
                              {"threads", cfg.train.threads},
                              {"init_from", args->init_from}};
    write_file_atomic(args->out + "/summary.json", summary.dump(2) + "\n");
    std::printf("trained %lld steps in %.1fs; best step %lld: valid %s %.4f, roc_auc %.4f\n",
                static_cast<long long>(r.steps), r.seconds, static_cast<long long>(r.best_step),
                cfg.train.metric.c_str(), r.best_metric, r.best_valid.roc_auc);
    std::printf("best checkpoint: %s\n", r.best_checkpoint.c_str());
    if (ex.path.empty()) {
      std::printf("%s\n", model_note.c_str());
    } else {
      std::printf("int8 model: %s (%lld bytes; float32 %lld bytes)\n", ex.path.c_str(),
                  static_cast<long long>(ex.model_bytes), static_cast<long long>(ex.float_bytes));
    }
  });
  return cmd;
}

}  // namespace bytelite::cli
