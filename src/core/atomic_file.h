// Crash-safe file writes: data goes to a temporary file in the same directory, is flushed with
// fsync, then renamed over the destination, so a reader sees either the old or the new file.
#pragma once

#include <cstddef>
#include <string>

namespace bytelite {

/// Writes bytes to path atomically. Throws Error naming the path and errno text on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// Streaming variant of write_file_atomic: bytes appended with write() go to a temporary file
/// next to `path` (mkstemp); commit() flushes it (fsync) and renames it over `path`. If the
/// writer is destroyed without commit() (an exception), the temporary file is removed and `path`
/// is untouched. Throws Error naming the path and the errno text on failure.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  void write(const char* data, size_t size);
  void write(const std::string& bytes) { write(bytes.data(), bytes.size()); }
  void commit();

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

/// Reads a whole file. Throws InputError("'PATH': expected a readable file, found ...") if it is
/// a directory or cannot be opened.
std::string read_file(const std::string& path);

/// Throws the InputError read_file would if `path` is a directory or cannot be opened for
/// reading; reads nothing.
void check_readable_file(const std::string& path);

/// Creates `dir` and its missing parents (mkdir -p), mode 0755. Throws Error naming the first
/// directory that cannot be created.
void make_dirs(const std::string& dir);

}  // namespace bytelite
