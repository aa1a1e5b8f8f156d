#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/launch.h"
#include "core/atomic_file.h"
#include "train/config.h"
#include "train/distributed.h"
#include "train/run.h"

namespace bytelite::cli {

namespace {
struct TrainArgs {
  std::string config, train, valid, out;
  bool resume = false, quiet = false, skip_bad_rows = false;
  long max_steps = 0, stop_after = 0;
  int epochs = 0, threads = 0, nproc = 1;
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
                  "Stop at the first evaluation after this many steps, resumable with --resume "
                  "(0 = run to the end)")
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
                  "'bytelite pretrain', or a .ckpt file); pooling and head (seq2seq: the "
                  "decoder) start fresh");
  cmd->add_flag("--skip-bad-rows", args->skip_bad_rows, "Skip and count malformed data rows");
  cmd->add_option("--set", args->set,
                  "Override a config key, section.key=value (repeatable; applied before the "
                  "dedicated flags; keys: docs/config.md)");
  cmd->add_flag("--quiet", args->quiet, "No progress output");
  cmd->add_option("--nproc", args->nproc,
                  "Data-parallel ranks to start on this machine (docs/distributed.md); "
                  "batch_size and --threads are per rank")
      ->check(kPositive);
  cmd->callback([args]() {
    // Validated before --nproc starts ranks, so that a bad config, flag or unreadable input
    // file is one error from the launcher, not one per rank.
    ExperimentConfig cfg = load_config(args->config, args->set);
    TrainOverrides ov;
    ov.max_steps = args->max_steps;
    ov.epochs = args->epochs;
    ov.threads = args->threads;
    ov.seed = args->seed;
    ov.qat = args->qat;
    ov.skip_bad_rows = args->skip_bad_rows;
    apply_train_overrides(cfg, ov);
    if (args->nproc > 1) {
      for (const std::string& f :
           {args->train, args->valid, cfg.train.distill_scores, cfg.train.distill_unlabelled})
        if (!f.empty()) check_readable_file(f);
      (void)distributed_env_from_environment();  // the BYTELITE_DIST_* knobs, MASTER_PORT
      std::exit(launch_local_ranks(args->nproc));
    }
    TrainOptions o;
    o.train_path = args->train;
    o.valid_path = args->valid;
    o.out_dir = args->out;
    o.resume = args->resume;
    o.stop_after = args->stop_after;
    o.verbose = !args->quiet;
    for (const std::string& line : run_train(cfg, o, args->init_from).lines)
      std::printf("%s\n", line.c_str());
  });
  return cmd;
}

}  // namespace bytelite::cli
