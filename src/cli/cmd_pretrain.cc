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
struct PretrainArgs {
  std::string config, out, heldout, init_from;
  std::vector<std::string> corpus;
  bool resume = false, quiet = false;
  long max_steps = 0, steps = 0, stop_after = 0;
  int threads = 0, nproc = 1;
  long seed = -1;
  std::vector<std::string> set;
};
}  // namespace

CLI::App* add_pretrain_command(CLI::App& app) {
  auto args = std::make_shared<PretrainArgs>();
  auto* cmd = app.add_subcommand(
      "pretrain",
      "Pretrain a byte encoder on unlabelled text (masked byte spans), for train --init-from");
  cmd->add_option("--config", args->config,
                  "Experiment config (JSON) with a \"pretrain\" section, e.g. "
                  "configs/pretrain_byteqrnn.json")
      ->required();
  cmd->add_option("--corpus", args->corpus,
                  "Corpus files (.txt, .jsonl, optionally .gz), one or more")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--out", args->out, "Output directory (last.ckpt, config.json, log)")->required();
  cmd->add_option("--heldout", args->heldout,
                  "Held-out corpus file for the periodic held-out loss (overrides "
                  "pretrain.heldout; \"none\" turns it off)");
  cmd->add_flag("--resume", args->resume, "Continue from OUT/last.ckpt");
  cmd->add_option("--init-from", args->init_from,
                  "Start from the weights of a pretraining checkpoint (its OUT directory or a "
                  ".ckpt file) as a fresh run: step 0, new optimizer and schedule");
  cmd->add_option("--steps", args->steps,
                  "Planned steps, the schedule's length (overrides pretrain.steps; 0 = config)")
      ->check(kNonNegative);
  cmd->add_option("--max-steps", args->max_steps,
                  "Stop after this step without changing the schedule (0 = run all steps)")
      ->check(kNonNegative);
  cmd->add_option("--stop-after", args->stop_after,
                  "Stop at the first evaluation after this many steps, resumable with --resume "
                  "(0 = run to the end)")
      ->check(kNonNegative);
  cmd->add_option("--threads", args->threads,
                  "Intra-op threads (overrides pretrain.threads; 0 = from config)")
      ->check(kNonNegative);
  cmd->add_option("--seed", args->seed, "Random seed (overrides pretrain.seed; -1 = from config)");
  cmd->add_option("--set", args->set,
                  "Override a config key, section.key=value (repeatable; applied before the "
                  "dedicated flags; keys: docs/config.md)");
  cmd->add_flag("--quiet", args->quiet, "No progress output");
  cmd->add_option("--nproc", args->nproc,
                  "Data-parallel ranks to start on this machine (docs/distributed.md); "
                  "batch_size and --threads are per rank")
      ->check(kPositive);
  cmd->callback([args]() {
    // Validated before --nproc starts ranks (one error, not one per rank), as in `train`.
    ExperimentConfig cfg = load_config(args->config, args->set);
    PretrainOverrides ov;
    ov.steps = args->steps;
    ov.threads = args->threads;
    ov.seed = args->seed;
    ov.heldout = args->heldout;
    apply_pretrain_overrides(cfg, ov);
    if (args->nproc > 1) {
      for (const std::string& f : args->corpus) check_readable_file(f);
      (void)distributed_env_from_environment();  // the BYTELITE_DIST_* knobs, MASTER_PORT
      std::exit(launch_local_ranks(args->nproc));
    }
    PretrainOptions o;
    o.corpus = args->corpus;
    o.out_dir = args->out;
    o.resume = args->resume;
    o.init_from = args->init_from;
    o.max_steps = args->max_steps;
    o.stop_after = args->stop_after;
    o.verbose = !args->quiet;
    for (const std::string& line : run_pretrain(cfg, o).lines) std::printf("%s\n", line.c_str());
  });
  return cmd;
}

}  // namespace bytelite::cli
