// export: converts a QAT checkpoint to the int8 model file of the runtime (src/train/export.h).
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "train/export.h"
#include "train/seq2seq_trainer.h"

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
    struct stat st {};
    const std::string pt = a->checkpoint + "/model.pt";
    if (::stat(pt.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {  // a seq2seq training directory
      const int64_t bytes = export_seq2seq_checkpoint(a->checkpoint, a->out);
      if (!a->quiet) {
        std::printf("exported %s -> %s: %lld bytes (seq2seq)\n", pt.c_str(), a->out.c_str(),
                    static_cast<long long>(bytes));
      }
      return;
    }
    ExportSummary s = export_checkpoint(a->checkpoint, a->out);
    if (!a->quiet) {
      std::printf("exported %s -> %s: %lld bytes, %lld parameters (float32: %lld bytes, %.3fx)\n",
                  a->checkpoint.c_str(), s.path.c_str(), static_cast<long long>(s.model_bytes),
                  static_cast<long long>(s.parameter_count), static_cast<long long>(s.float_bytes),
                  s.float_bytes > 0 ? static_cast<double>(s.model_bytes) / s.float_bytes : 0.0);
    }
  });
  return cmd;
}

}  // namespace bytelite::cli
