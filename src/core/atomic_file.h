// Crash-safe file writes: data goes to a temporary file in the same directory, is flushed with
// fsync, then renamed over the destination, so a reader sees either the old or the new file.
#pragma once

#include <string>

namespace bytelite {

/// Writes bytes to path atomically. Throws Error naming the path and errno text on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// Reads a whole file. Throws InputError("cannot open ...") if it cannot be read.
std::string read_file(const std::string& path);

/// Creates `dir` and its missing parents (mkdir -p), mode 0755. Throws Error naming the first
/// directory that cannot be created.
void make_dirs(const std::string& dir);

}  // namespace bytelite
