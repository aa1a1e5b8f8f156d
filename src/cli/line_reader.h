// Streaming line reader for the CLI's text input, with the framing of lines.h (split on '\n'
// only, a trailing '\r' removed, an empty line is a line, a final '\n' does not start another
// line): reads the input in blocks, so memory stays bounded by the chunk size and the longest
// line, whatever the input's size.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"

namespace bytelite::cli {

/// Consecutive lines of the input: lines[i] views bytes (the lines back to back, so a block
/// takes a few allocations, not one per line), valid until the block is passed to
/// LineReader::next again, changed or moved (a short `bytes` moves by copy).
struct LineBlock {
  std::string bytes;
  std::vector<std::string_view> lines;
};

class LineReader {
 public:
  /// stdin for "" or "-"; else opens the file (InputError if it cannot be read or is a
  /// directory, with the messages of read_file).
  explicit LineReader(const std::string& path) : path_(path) {
    if (path.empty() || path == "-") {
      f_ = stdin;
      return;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      throw InputError("'" + path + "': expected a file, found a directory");
    }
    f_ = std::fopen(path.c_str(), "rb");
    if (!f_) {
      throw InputError("'" + path +
                       "': expected a readable file, found one that cannot be opened (" +
                       std::strerror(errno) + ")");
    }
    own_ = true;
  }
  ~LineReader() {
    if (own_) std::fclose(f_);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// Replaces `block` with the next at most max_lines lines; false (and no lines) at the end of
  /// the input. Throws InputError on a read error.
  bool next(LineBlock& block, size_t max_lines) {
    block.bytes.clear();
    block.lines.clear();
    ends_.clear();
    while (ends_.size() < max_lines) {
      const size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        add(block, nl);
        pos_ = nl + 1;
        continue;
      }
      if (eof_) {
        if (pos_ < buf_.size()) {  // last line without '\n'
          add(block, buf_.size());
          pos_ = buf_.size();
        }
        break;
      }
      fill();
    }
    size_t begin = 0;
    for (size_t end : ends_) {
      block.lines.emplace_back(block.bytes.data() + begin, end - begin);
      begin = end;
    }
    return !block.lines.empty();
  }

 private:
  // Appends the line from pos_ to `end` (a trailing '\r' removed) to block.bytes.
  void add(LineBlock& block, size_t end) {
    size_t e = end;
    if (e > pos_ && buf_[e - 1] == '\r') --e;
    block.bytes.append(buf_, pos_, e - pos_);
    ends_.push_back(block.bytes.size());
  }
  void fill() {
    buf_.erase(0, pos_);
    pos_ = 0;
    constexpr size_t kBlock = 1 << 16;
    const size_t old = buf_.size();
    buf_.resize(old + kBlock);
    const size_t n = std::fread(&buf_[old], 1, kBlock, f_);
    buf_.resize(old + n);
    if (n < kBlock) {
      if (std::ferror(f_)) {
        throw InputError("cannot read '" + (own_ ? path_ : std::string("standard input")) +
                         "': " + std::strerror(errno));
      }
      eof_ = true;
    }
  }

  std::string path_;
  std::FILE* f_ = nullptr;
  bool own_ = false, eof_ = false;
  std::string buf_;
  size_t pos_ = 0;
  std::vector<size_t> ends_;  // next(): the end of each line in block.bytes
};

}  // namespace bytelite::cli
