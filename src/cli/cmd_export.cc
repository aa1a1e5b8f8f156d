// export: converts a QAT checkpoint to the int8 model file of the runtime (src/train/export.h).
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "train/run.h"

namespace bytelite::cli {

namespace {
struct ExportArgs {
  std::string checkpoint, out;
  bool quiet = false;
};
}  // namespace

CLI::App* add_export_command(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand(
      "export", "Convert a QAT checkpoint to an int8 model file for the runtime (libbytelite)");
  cmd->add_option(
         "--checkpoint", a->checkpoint,
         "Checkpoint file or training output directory (seq2seq: the directory with model.pt)")
      ->required();
  cmd->add_option("--out", a->out, "Output model file, e.g. model.blt (written atomically)")
      ->required();
  cmd->add_flag("--quiet", a->quiet, "Print nothing on success");
  cmd->callback([a]() {
    const nlohmann::json s = export_any(a->checkpoint, a->out);
    if (a->quiet) return;
    if (s["task"] == "seq2seq") {
      std::printf("exported %s/model.pt -> %s: %lld bytes (seq2seq)\n", a->checkpoint.c_str(),
                  a->out.c_str(), static_cast<long long>(s["model_bytes"].get<int64_t>()));
      return;
    }
    const auto model_bytes = s["model_bytes"].get<int64_t>();
    const auto float_bytes = s["float_bytes"].get<int64_t>();
    std::printf("exported %s -> %s: %lld bytes, %lld parameters (float32: %lld bytes, %.3fx)\n",
                a->checkpoint.c_str(), s["path"].get<std::string>().c_str(),
                static_cast<long long>(model_bytes),
                static_cast<long long>(s["parameter_count"].get<int64_t>()),
                static_cast<long long>(float_bytes),
                float_bytes > 0 ? static_cast<double>(model_bytes) / float_bytes : 0.0);
  });
  return cmd;
}

}  // namespace bytelite::cli
