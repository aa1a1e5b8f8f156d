// The runtime-only `bytelite`: the libtorch parts of predict / eval / bench and the train,
// pretrain and export subcommands hand the whole command line to bytelite-train (handoff.h).
// The subcommands are registered here only so that `bytelite --help` lists them; main hands them
// off before parsing, so their flags are parsed (and their --help printed) by bytelite-train.
#include "cli/commands.h"
#include "cli/handoff.h"
#include "cli/torch_parts.h"

namespace bytelite::cli {

namespace {
CLI::App* pass_through(CLI::App& app, const std::string& name, const std::string& what) {
  auto* cmd = app.add_subcommand(name, what + " (runs bytelite-train)");
  cmd->allow_extras();
  cmd->callback([name]() { hand_off(name); });
  return cmd;
}
}  // namespace

CLI::App* add_train_command(CLI::App& app) {
  return pass_through(
      app, "train",
      "Train a classifier (or, with task \"seq2seq\", a byte-to-byte model) from TSV/CSV/JSONL");
}
CLI::App* add_pretrain_command(CLI::App& app) {
  return pass_through(
      app, "pretrain",
      "Pretrain a byte encoder on unlabelled text (masked byte spans), for train --init-from");
}
CLI::App* add_export_command(CLI::App& app) {
  return pass_through(
      app, "export",
      "Convert a QAT checkpoint to an int8 model file for the runtime (libbytelite)");
}

bool have_libtorch() { return false; }

void predict_checkpoint(const PredictArgs&) { hand_off("predict --checkpoint"); }
void eval_checkpoint(const EvalArgs&, std::shared_ptr<const Model>) {
  hand_off("eval --checkpoint");
}
nlohmann::json qat_agreement(const std::string&, const std::string&, const std::string&, int,
                             bool) {
  hand_off("report (the QAT checkpoint comparison; --no-agreement skips it)");
}
FloatBench float_bench(const BenchArgs&, const ModelInfo&, const std::vector<std::string>&) {
  hand_off("bench (the libtorch float32 comparison; --no-float skips it)");
}

}  // namespace bytelite::cli
