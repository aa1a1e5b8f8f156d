// report: one self-contained HTML page about a training run (core/report.h): model card, training
// curves, and on --data the evaluation figures (ROC / precision-recall curves, confusion matrix,
// per-class table; seq2seq: error rates by source length, sample hypotheses), with --peers a
// peer benchmark chart. Runs on the runtime; when the run directory holds the QAT checkpoint
// (best.ckpt) and --data is given, the runtime executable hands the command to bytelite-train
// (if it is there), which also measures how often the checkpoint and the int8 model agree.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "cli/handoff.h"
#include "cli/torch_parts.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/report.h"

namespace bytelite::cli {

namespace {
struct ReportArgs {
  ReportOptions o;
  std::string out;
  bool no_agreement = false;
};
}  // namespace

CLI::App* add_report_command(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report",
      "Write one self-contained HTML report (curves, ROC, confusion matrix, model card) "
      "of a training run");
  cmd->add_option("run_dir", a->o.run_dir, "Training output directory (bytelite train --out)")
      ->required();
  cmd->add_option("--data", a->o.data_path,
                  "Labelled data to evaluate the run's int8 model on (TSV / CSV / JSONL)");
  cmd->add_option("--out", a->out, "HTML file to write (default RUN_DIR/report.html)");
  cmd->add_option("--model", a->o.model_path, "Int8 model file (default RUN_DIR/model.blt)");
  cmd->add_option("--peers", a->o.peers_path,
                  "Peer benchmark result to chart (bench/peers/results/peers.json)");
  cmd->add_option("--threads", a->o.threads, "Evaluation threads (results do not depend on it)")
      ->check(kPositive);
  cmd->add_option("--samples", a->o.samples, "Seq2seq: sample hypotheses shown (default 12)")
      ->check(kNonNegative);
  cmd->add_flag("--no-agreement", a->no_agreement,
                "Do not measure the QAT checkpoint against the int8 model (no libtorch needed)");
  cmd->add_flag("--quiet", a->o.quiet, "No progress line");
  add_generation_flags(cmd, &a->o.gen, false);
  cmd->callback([a]() {
    const std::string ckpt = a->o.run_dir + "/best.ckpt";
    std::error_code ec;
    const bool want_agreement =
        !a->no_agreement && !a->o.data_path.empty() && std::filesystem::is_regular_file(ckpt, ec);
    if (want_agreement && !have_libtorch() && training_executable_available()) {
      hand_off("report");
    }
    RunReport r = build_report(a->o);
    if (want_agreement && r.eval && have_libtorch()) {
      r.agreement = qat_agreement(
          ckpt, a->o.model_path.empty() ? a->o.run_dir + "/model.blt" : a->o.model_path,
          a->o.data_path, a->o.threads, a->o.quiet);
    }
    const std::string out = a->out.empty() ? a->o.run_dir + "/report.html" : a->out;
    write_file_atomic(out, r.to_html());
    std::printf("%swrote %s\n", r.to_text().c_str(), out.c_str());
  });
  return cmd;
}

}  // namespace bytelite::cli
