// The command line is two executables built from src/cli:
//  - `bytelite` (runtime-only: libbytelite, bytelite_core, CLI11; no libtorch) runs info,
//    generate, predict / eval with --model, and bench --no-float itself;
//  - `bytelite-train` (links libtorch) runs everything, including train, pretrain, export, the
//    --checkpoint paths of predict / eval and bench's libtorch float32 comparison.
// The runtime executable hands each command that needs libtorch to `bytelite-train` in the same
// directory as itself (/proc/self/exe) by execv with the unchanged arguments, so the command line
// is the same whichever executable is called.
#pragma once

#include <string>
#include <vector>

namespace bytelite::cli {

/// True in bytelite-train (defined in torch_parts.cc), false in the runtime executable
/// (torch_handoff.cc).
bool have_libtorch();

/// Records main's arguments for hand_off (called first thing in main).
void remember_arguments(int argc, char** argv);

/// The remembered arguments, argv[0] included.
std::vector<std::string> remembered_arguments();

/// Replaces this process by <directory of this executable>/bytelite-train with the remembered
/// arguments (stdin, stdout and stderr are inherited, nothing has been read from stdin yet).
/// Throws ConfigError("<what> needs libtorch: expected the executable ..., found none ...") when
/// that executable is absent (a runtime-only build) or cannot be started. `what` names the
/// command, e.g. "predict --checkpoint".
[[noreturn]] void hand_off(const std::string& what);

/// True when <directory of this executable>/bytelite-train exists and is executable (so that
/// hand_off can start it); false in bytelite-train itself.
bool training_executable_available();

/// The subcommand (first argument not starting with '-') if it is one that only bytelite-train
/// runs (train, pretrain, export), else "".
std::string training_only_subcommand(int argc, char** argv);

}  // namespace bytelite::cli
