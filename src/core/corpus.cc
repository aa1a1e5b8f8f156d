#include "core/corpus.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/byte_tokenizer.h"
#include "core/errors.h"
#include "core/progress.h"

namespace bytelite {
namespace {

using nlohmann::json;

constexpr size_t kChunkBytes = size_t{64} << 10;  // bytes asked of zlib per read
constexpr size_t kMinDocBytes = 16;

// splitmix64 (Steele, Lea and Flood 2014): a tiny generator whose output is the same on every
// platform, unlike the distributions of <random>.
uint64_t next_random(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Uniform in [0, n), n >= 1, without modulo bias (rejection).
uint64_t random_below(uint64_t* state, uint64_t n) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = max - (max % n + 1) % n;  // largest multiple of n, minus 1
  uint64_t x;
  do {
    x = next_random(state);
  } while (x > limit);
  return x % n;
}

// A seed for stream `which` derived from the user's seed.
uint64_t derive_seed(uint64_t seed, uint64_t which) {
  uint64_t s = seed ^ (which * 0xD1B54A32D192ED03ULL);
  return next_random(&s);
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Appends s to out with control bytes and bytes that are not valid UTF-8 escaped as \xNN, so an
// error message stays one readable line whatever the input holds.
void append_printable(std::string_view s, std::string* out) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;  // length of a valid UTF-8 sequence starting at i, 0 if none
    if (c >= 0x20 && c < 0x7F) {
      n = 1;
    } else if (c >= 0xC2 && c <= 0xF4) {
      const size_t need = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      n = need;
      for (size_t k = 1; k < need; ++k) {
        if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) n = 0;
      }
    }
    if (n == 0) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      *out += buf;
      ++i;
    } else {
      out->append(s.data() + i, n);
      i += n;
    }
  }
}

// Quotes a value for an error message (escaped as above, '"' and '\\' too), long values cut at a
// character boundary.
std::string quote(std::string_view s, size_t max_bytes = 60) {
  size_t n = s.size();
  bool cut = false;
  if (n > max_bytes) {
    n = max_bytes;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    cut = true;
  }
  std::string out = "\"";
  size_t start = 0;
  for (size_t i = 0; i <= n; ++i) {
    if (i == n || s[i] == '"' || s[i] == '\\') {
      append_printable(s.substr(start, i - start), &out);
      if (i < n) {
        out += '\\';
        out += s[i];
      }
      start = i + 1;
    }
  }
  out += cut ? "\"..." : "\"";
  return out;
}

std::string describe(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "the string " + quote(v.get_ref<const std::string&>());
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    default:
      return "the number " + v.dump();
  }
}

std::string keys_of(const json& obj) {
  if (obj.empty()) return "an empty object";
  std::string out = "keys ";
  size_t i = 0;
  for (auto it = obj.begin(); it != obj.end(); ++it, ++i) {
    if (i == 20) {
      out += ", ... (" + std::to_string(obj.size()) + " in all)";
      break;
    }
    if (i > 0) out += ", ";
    out += quote(it.key(), 40);
  }
  return out;
}

std::string where(const std::string& path, int64_t line) {
  return path + ":" + std::to_string(line) + ": ";
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r") == std::string_view::npos; }

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Where to cut s (s.size() >= limit) into a first piece of at most `limit` bytes: `limit`,
// or the start of a UTF-8 character that would otherwise be cut in two.
size_t utf8_cut(std::string_view s, size_t limit) {
  for (size_t back = 1; back <= 4 && back < limit; ++back) {
    const unsigned char c = static_cast<unsigned char>(s[limit - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    size_t need = 1;
    if ((c & 0xE0) == 0xC0) {
      need = 2;
    } else if ((c & 0xF0) == 0xE0) {
      need = 3;
    } else if ((c & 0xF8) == 0xF0) {
      need = 4;
    }
    return back < need ? limit - back : limit;
  }
  return limit;  // not UTF-8 here: cut anywhere
}

std::string extension(const std::string& name) {
  const size_t slash = name.find_last_of('/');
  const size_t dot = name.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = name.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

bool is_gzip_name(const std::string& path) { return extension(path) == ".gz"; }

CorpusFormat format_of(const std::string& path) {
  std::string name = path;
  if (is_gzip_name(name)) name.resize(name.size() - 3);
  const std::string ext = extension(name);
  if (ext == ".txt" || ext == ".text") return CorpusFormat::kText;
  if (ext == ".jsonl" || ext == ".ndjson" || ext == ".json") return CorpusFormat::kJsonl;
  throw InputError(path +
                   ": expected a corpus file name ending in .txt, .text, .jsonl, .ndjson or .json "
                   "(optionally followed by .gz), found " +
                   (ext.empty() ? std::string("no extension") : quote(ext)) +
                   " (or set the corpus format)");
}

std::string megabytes(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", bytes / 1e6);
  return buf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// One open file: bytes through zlib (gzip or, transparently, plain), split into lines.

class CorpusReader::Source {
 public:
  enum Result { kEnd, kLine, kFull };

  Source(const std::string& path, bool require_gzip, const int64_t* line)
      : path_(path), require_gzip_(require_gzip), line_(line), buf_(kChunkBytes) {
    errno = 0;
    gz_ = gzopen(path.c_str(), "rb");
    if (gz_ == nullptr) {
      const int e = errno;
      throw InputError(path + ": expected a readable corpus file, found " +
                       (e != 0 ? std::string(std::strerror(e)) : std::string("out of memory")));
    }
    gzbuffer(gz_, static_cast<unsigned>(kChunkBytes * 2));
  }
  ~Source() { gzclose_r(gz_); }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Appends the bytes of the current line to *line, up to the LF (consumed, not appended) or
  // until line->size() == limit. kLine: the line ended (LF or end of file); kFull: the limit
  // was reached and at least one more byte of the line follows; kEnd: end of file, no bytes.
  Result read_line(std::string* line, size_t limit) {
    bool any = false;
    while (true) {
      if (pos_ == len_ && !fill()) return any || !line->empty() ? kLine : kEnd;
      any = true;
      if (line->size() >= limit) {
        if (buf_[pos_] == '\n') {
          ++pos_;
          return kLine;
        }
        return kFull;
      }
      const size_t room = limit - line->size();
      const size_t avail = std::min(room, len_ - pos_);
      const char* start = buf_.data() + pos_;
      const void* lf = std::memchr(start, '\n', avail);
      if (lf != nullptr) {
        const size_t n = static_cast<const char*>(lf) - start;
        line->append(start, n);
        pos_ += n + 1;
        return kLine;
      }
      line->append(start, avail);
      pos_ += avail;
    }
  }

  // Discards the rest of the current line (through its LF).
  void skip_line() {
    while (pos_ < len_ || fill()) {
      const char* start = buf_.data() + pos_;
      const void* lf = std::memchr(start, '\n', len_ - pos_);
      if (lf != nullptr) {
        pos_ += static_cast<const char*>(lf) - start + 1;
        return;
      }
      pos_ = len_;
    }
  }

  // Bytes of the file as stored consumed so far (zlib's read position, minus its look-ahead).
  int64_t offset() const {
    const z_off_t off = gzoffset(gz_);
    return off < 0 ? 0 : static_cast<int64_t>(off);
  }

 private:
  bool fill() {
    if (eof_) return false;
    const int n = gzread(gz_, buf_.data(), static_cast<unsigned>(buf_.size()));
    int err = Z_OK;
    const char* msg = gzerror(gz_, &err);
    if (n < 0 || err != Z_OK) {
      const std::string at = where(path_, *line_ + 1);
      if (err == Z_ERRNO) {
        throw InputError(at + "expected a readable corpus file, found a read error (" +
                         std::strerror(errno) + ")");
      }
      if (err == Z_BUF_ERROR) {
        throw InputError(at + "expected the rest of the gzip stream, found the end of the file " +
                         "(truncated gzip file, " + std::to_string(offset()) + " bytes)");
      }
      // zlib prefixes its message with the path.
      std::string detail = msg != nullptr ? msg : "unknown error";
      if (detail.rfind(path_ + ": ", 0) == 0) detail.erase(0, path_.size() + 2);
      throw InputError(at + "expected valid gzip data, found corrupt data (zlib: " + detail +
                       ") near compressed byte " + std::to_string(offset()));
    }
    if (first_) {
      first_ = false;
      if (require_gzip_ && gzdirect(gz_) != 0) {
        std::string found = "data that does not start with the gzip magic bytes 1f 8b";
        if (n == 0) found = "an empty file";
        throw InputError(path_ + ": expected gzip data (the file name ends in .gz), found " +
                         found);
      }
      pos_ = 0;
      len_ = static_cast<size_t>(n);
      if (len_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
    } else {
      pos_ = 0;
      len_ = static_cast<size_t>(n);
    }
    if (n == 0) eof_ = true;
    return pos_ < len_;
  }

  std::string path_;
  bool require_gzip_;
  const int64_t* line_;  // the reader's line number, for error messages
  gzFile gz_ = nullptr;
  std::vector<char> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  bool first_ = true;
  bool eof_ = false;
};

// ---------------------------------------------------------------------------------------------

CorpusReader::CorpusReader(std::vector<std::string> paths, CorpusOptions options)
    : paths_(std::move(paths)), options_(std::move(options)) {
  if (paths_.empty()) {
    throw ConfigError("corpus files: expected at least one file, found none");
  }
  if (options_.max_doc_bytes < kMinDocBytes) {
    throw ConfigError("corpus max_doc_bytes: expected at least " + std::to_string(kMinDocBytes) +
                      ", found " + std::to_string(options_.max_doc_bytes));
  }
  if (options_.max_line_bytes < kMinDocBytes) {
    throw ConfigError("corpus max_line_bytes: expected at least " + std::to_string(kMinDocBytes) +
                      ", found " + std::to_string(options_.max_line_bytes));
  }
  if (options_.shard_count < 1 || options_.shard_index < 0 ||
      options_.shard_index >= options_.shard_count) {
    throw ConfigError("corpus shard: expected 0 <= shard_index < shard_count, found " +
                      std::to_string(options_.shard_index) + " of " +
                      std::to_string(options_.shard_count));
  }
  if (options_.epochs < 0) {
    throw ConfigError("corpus epochs: expected >= 1, or 0 to cycle forever, found " +
                      std::to_string(options_.epochs));
  }
  if (options_.text_field.empty()) {
    throw ConfigError("corpus text_field: expected a JSON key, found an empty string");
  }
  for (const std::string& path : paths_) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      const int e = errno;
      throw InputError(path + ": expected an existing, readable corpus file, found " +
                       (e == ENOENT ? std::string("no such file") : std::string(std::strerror(e))));
    }
    if (!S_ISREG(st.st_mode)) {
      throw InputError(path + ": expected a corpus file, found " +
                       (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file"));
    }
    if (options_.format == CorpusFormat::kAuto) format_of(path);  // throws early on a bad name
    sizes_.push_back(static_cast<int64_t>(st.st_size));
    epoch_bytes_ += static_cast<int64_t>(st.st_size);
  }
  order_ = order_indices(0);
  start_s_ = now_s();
}

CorpusReader::~CorpusReader() = default;

std::vector<size_t> CorpusReader::order_indices(int64_t epoch) const {
  std::vector<size_t> idx(paths_.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  if (options_.shuffle_files) {
    // Fisher-Yates with a generator seeded by (seed, epoch).
    uint64_t state = derive_seed(options_.seed, 1000 + static_cast<uint64_t>(epoch));
    for (size_t i = idx.size(); i > 1; --i) {
      std::swap(idx[i - 1], idx[random_below(&state, i)]);
    }
  }
  return idx;
}

std::vector<std::string> CorpusReader::file_order(int64_t epoch) const {
  std::vector<std::string> out;
  for (size_t i : order_indices(epoch)) out.push_back(paths_[i]);
  return out;
}

bool CorpusReader::open_next_file() {
  if (done_) return false;
  if (order_pos_ == order_.size()) {
    ++epoch_;
    if (options_.epochs > 0 && epoch_ >= options_.epochs) {
      done_ = true;
      return false;
    }
    order_ = order_indices(epoch_);
    order_pos_ = 0;
  }
  const std::string& path = paths_[order_[order_pos_]];
  file_format_ = options_.format == CorpusFormat::kAuto ? format_of(path) : options_.format;
  line_no_ = 0;
  file_documents_ = 0;
  file_bad_lines_ = 0;
  in_long_line_ = false;
  source_ = std::make_unique<Source>(path, is_gzip_name(path), &line_no_);
  return true;
}

void CorpusReader::close_file() {
  const std::string& path = paths_[order_[order_pos_]];
  source_.reset();
  bytes_closed_ += sizes_[order_[order_pos_]];
  ++order_pos_;
  if (file_documents_ == 0) {
    std::string found = "none";
    if (file_bad_lines_ > 0) {
      found += " (" + std::to_string(file_bad_lines_) + " bad lines skipped)";
    } else if (line_no_ == 0) {
      found += " (an empty file)";
    } else {
      found += " in " + std::to_string(line_no_) + " lines";
    }
    throw InputError(path + ": expected at least one document, found " + found);
  }
}

void CorpusReader::bad_line(const std::string& message) {
  if (!options_.skip_bad_lines) throw InputError(message);
  ++bad_lines_;
  ++file_bad_lines_;
}

bool CorpusReader::emit_piece(std::string* doc) {
  const std::string_view rest(pending_.data() + pending_pos_, pending_.size() - pending_pos_);
  size_t n = rest.size();
  if (n > options_.max_doc_bytes) n = utf8_cut(rest, options_.max_doc_bytes);
  doc->assign(rest.data(), n);
  pending_pos_ += n;
  if (pending_pos_ >= pending_.size()) {
    pending_.clear();
    pending_.shrink_to_fit();
    pending_pos_ = 0;
  }
  ++documents_;
  ++file_documents_;
  document_bytes_ += static_cast<int64_t>(n);
  return true;
}

bool CorpusReader::next_from_text(std::string* doc) {
  const size_t limit = options_.max_doc_bytes;
  while (true) {
    const bool continuing = in_long_line_;
    if (!continuing) line_.clear();
    const Source::Result r = source_->read_line(&line_, limit);
    if (r == Source::kEnd) return false;
    if (!continuing) ++line_no_;
    peak_line_bytes_ = std::max(peak_line_bytes_, line_.size());
    if (r == Source::kLine) {
      in_long_line_ = false;
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      if (continuing ? line_.empty() : blank(line_)) continue;
      doc->assign(line_);  // a copy: line_ keeps its buffer, the document gets a tight one
    } else {               // kFull: a line longer than max_doc_bytes
      const size_t n = utf8_cut(line_, limit);
      doc->assign(line_, 0, n);
      if (options_.split_long_docs) {
        if (!continuing) ++split_documents_;
        line_.erase(0, n);  // the (at most 3) bytes of a cut character start the next piece
        in_long_line_ = true;
      } else {
        ++truncated_documents_;
        source_->skip_line();
        in_long_line_ = false;
      }
    }
    ++documents_;
    ++file_documents_;
    document_bytes_ += static_cast<int64_t>(doc->size());
    return true;
  }
}

bool CorpusReader::next_from_jsonl(std::string* doc) {
  const std::string& path = paths_[order_[order_pos_]];
  const std::string& field = options_.text_field;
  while (true) {
    line_.clear();
    const Source::Result r = source_->read_line(&line_, options_.max_line_bytes);
    if (r == Source::kEnd) return false;
    ++line_no_;
    peak_line_bytes_ = std::max(peak_line_bytes_, line_.size());
    if (r == Source::kFull) {
      source_->skip_line();
      bad_line(where(path, line_no_) + "expected a JSON line of at most " +
               std::to_string(options_.max_line_bytes) +
               " bytes (max_line_bytes), found a longer line");
      continue;
    }
    const std::string_view l = trim(line_);
    if (l.empty()) continue;
    json obj;
    try {
      obj = json::parse(l);
    } catch (const json::parse_error& e) {
      // Drop nlohmann's "[json.exception...] parse error at line 1, column N: " prefix.
      std::string detail = e.what();
      const size_t p = detail.find(": ", detail.find("column "));
      if (p != std::string::npos) detail = detail.substr(p + 2);
      std::string shown;
      append_printable(detail, &shown);
      bad_line(where(path, line_no_) + "expected a JSON object, found invalid JSON at byte " +
               std::to_string(e.byte) + " (" + shown + ")");
      continue;
    }
    if (!obj.is_object()) {
      bad_line(where(path, line_no_) + "expected a JSON object, found " + describe(obj));
      continue;
    }
    const auto it = obj.find(field);
    if (it == obj.end()) {
      bad_line(where(path, line_no_) + "expected the key " + quote(field) +
               " in the JSON object, found " + keys_of(obj));
      continue;
    }
    if (!it->is_string()) {
      bad_line(where(path, line_no_) + "expected a string value for " + quote(field) + ", found " +
               describe(*it));
      continue;
    }
    std::string& text = it->get_ref<std::string&>();
    if (text.empty()) continue;
    if (text.size() > options_.max_doc_bytes) {
      if (options_.split_long_docs) {
        ++split_documents_;
        pending_ = std::move(text);
        pending_pos_ = 0;
        return emit_piece(doc);
      }
      ++truncated_documents_;
      text.resize(utf8_cut(text, options_.max_doc_bytes));
    }
    doc->swap(text);
    ++documents_;
    ++file_documents_;
    document_bytes_ += static_cast<int64_t>(doc->size());
    return true;
  }
}

bool CorpusReader::next(std::string* doc) {
  while (true) {
    if (!next_document(doc)) return false;
    const int64_t k = stream_documents_++;
    if (k % options_.shard_count == options_.shard_index) return true;
  }
}

bool CorpusReader::next_document(std::string* doc) {
  while (true) {
    if (pending_pos_ < pending_.size()) return emit_piece(doc);
    if (source_ == nullptr && !open_next_file()) return false;
    const bool got =
        file_format_ == CorpusFormat::kText ? next_from_text(doc) : next_from_jsonl(doc);
    if (got) return true;
    close_file();
  }
}

int64_t CorpusReader::bytes_read() const {
  int64_t b = bytes_closed_;
  if (source_ != nullptr) {
    b += std::min(source_->offset(), sizes_[order_[order_pos_]]);
  }
  return b;
}

int64_t CorpusReader::total_bytes() const {
  return options_.epochs > 0 ? options_.epochs * epoch_bytes_ : 0;
}

double CorpusReader::elapsed_s() const { return now_s() - start_s_; }

double CorpusReader::bytes_per_s() const {
  const double el = elapsed_s();
  return el > 0 ? static_cast<double>(bytes_read()) / el : 0.0;
}

double CorpusReader::eta_s() const {
  const double rate = bytes_per_s();
  const int64_t total = total_bytes();
  if (total <= 0 || rate <= 0) return -1.0;
  return static_cast<double>(std::max<int64_t>(0, total - bytes_read())) / rate;
}

std::string CorpusReader::progress_line() const {
  const int64_t read = bytes_read();
  const int64_t total = total_bytes();
  const double el = elapsed_s();
  const int64_t shown = options_.epochs > 0 ? std::min(epoch_ + 1, options_.epochs) : epoch_ + 1;
  std::string s = "epoch " + std::to_string(shown);
  if (options_.epochs > 0) s += "/" + std::to_string(options_.epochs);
  s += " | " + megabytes(static_cast<double>(read));
  if (total > 0) {
    char pct[16];
    std::snprintf(pct, sizeof pct, " %.1f%%", 100.0 * static_cast<double>(read) / total);
    s += "/" + megabytes(static_cast<double>(total)) + " MB" + pct;
  } else {
    s += " MB read";
  }
  if (el > 0) {
    s += " | " + megabytes(static_cast<double>(read) / el) + " MB/s (" +
         megabytes(static_cast<double>(document_bytes_) / el) + " MB/s of text)";
  }
  const double eta = eta_s();
  if (eta >= 0 && read < total) s += " | ETA " + Progress::format_duration(eta);
  s += " | " + std::to_string(documents_) + " docs";
  if (bad_lines_ > 0) s += ", " + std::to_string(bad_lines_) + " bad lines skipped";
  return s;
}

const std::string& CorpusReader::current_file() const {
  static const std::string kNone;
  return source_ != nullptr ? paths_[order_[order_pos_]] : kNone;
}

int64_t CorpusReader::current_line() const { return source_ != nullptr ? line_no_ : 0; }

// ---------------------------------------------------------------------------------------------

ShuffleBuffer::ShuffleBuffer(size_t capacity, uint64_t seed)
    : capacity_(capacity), state_(derive_seed(seed, 7)) {
  if (capacity < 1) {
    throw ConfigError("shuffle buffer capacity: expected at least 1 document, found 0");
  }
}

uint64_t ShuffleBuffer::below(uint64_t n) { return random_below(&state_, n); }

bool ShuffleBuffer::push(std::string doc, std::string* out) {
  if (docs_.size() < capacity_) {
    bytes_ += doc.size();
    docs_.push_back(std::move(doc));
    return false;
  }
  const size_t i = static_cast<size_t>(below(docs_.size()));
  bytes_ += doc.size();
  bytes_ -= docs_[i].size();
  *out = std::move(docs_[i]);
  docs_[i] = std::move(doc);
  return true;
}

bool ShuffleBuffer::pop(std::string* out) {
  if (docs_.empty()) return false;
  const size_t i = static_cast<size_t>(below(docs_.size()));
  bytes_ -= docs_[i].size();
  *out = std::move(docs_[i]);
  if (i + 1 != docs_.size()) docs_[i] = std::move(docs_.back());
  docs_.pop_back();
  return true;
}

// ---------------------------------------------------------------------------------------------

SequencePacker::SequencePacker(PackerOptions options) : options_(options) {
  if (options_.seq_len < 2) {
    throw ConfigError("packer seq_len: expected at least 2, found " +
                      std::to_string(options_.seq_len));
  }
  if (options_.separator_id < 0 || options_.separator_id >= kByteOffset) {
    throw ConfigError("packer separator_id: expected a special id in [0, " +
                      std::to_string(kByteOffset) + ") (PAD 0, EOS 1, UNK 2), found " +
                      std::to_string(options_.separator_id));
  }
}

void SequencePacker::add(std::string_view doc) {
  // Drop the ids already returned before growing the buffer.
  if (pos_ > 0 && (pos_ >= pending_.size() / 2 || pos_ >= size_t{1} << 16)) {
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  pending_.reserve(pending_.size() + doc.size() + 1);
  for (const char ch : doc) {
    unsigned char b = static_cast<unsigned char>(ch);
    if (options_.lowercase_ascii && b >= 'A' && b <= 'Z') b = static_cast<unsigned char>(b + 32);
    pending_.push_back(static_cast<int32_t>(b) + kByteOffset);
  }
  pending_.push_back(options_.separator_id);
  ++documents_;
}

bool SequencePacker::ready() const { return pending() >= static_cast<size_t>(options_.seq_len); }

void SequencePacker::take(size_t n, std::vector<int32_t>* ids, std::vector<uint8_t>* mask) {
  const size_t len = static_cast<size_t>(options_.seq_len);
  ids->assign(pending_.begin() + static_cast<std::ptrdiff_t>(pos_),
              pending_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
  ids->resize(len, kPadId);
  mask->assign(len, 0);
  std::fill(mask->begin(), mask->begin() + static_cast<std::ptrdiff_t>(n), uint8_t{1});
  pos_ += n;
  if (pos_ == pending_.size()) {
    pending_.clear();
    pos_ = 0;
  }
  ++sequences_;
}

bool SequencePacker::next(std::vector<int32_t>* ids, std::vector<uint8_t>* mask) {
  if (!ready()) return false;
  take(static_cast<size_t>(options_.seq_len), ids, mask);
  return true;
}

bool SequencePacker::flush(std::vector<int32_t>* ids, std::vector<uint8_t>* mask) {
  if (ready()) return next(ids, mask);
  if (pending() == 0) return false;
  take(pending(), ids, mask);
  return true;
}

// ---------------------------------------------------------------------------------------------

PackedBatchStream::PackedBatchStream(std::vector<std::string> paths, PackedBatchOptions options)
    : options_(std::move(options)),
      reader_(std::move(paths), options_.corpus),
      shuffle_(options_.shuffle_capacity, derive_seed(options_.corpus.seed, 2)),
      packer_(options_.packer) {
  if (options_.batch_size < 1) {
    throw ConfigError("batch size: expected at least 1, found " +
                      std::to_string(options_.batch_size));
  }
}

bool PackedBatchStream::next_sequence(std::vector<int32_t>* ids, std::vector<uint8_t>* mask) {
  while (!packer_.ready()) {
    if (drained_) return options_.keep_last && packer_.flush(ids, mask);
    if (reader_.next(&doc_)) {
      if (shuffle_.push(std::move(doc_), &out_)) packer_.add(out_);
    } else if (shuffle_.pop(&out_)) {
      packer_.add(out_);
    } else {
      drained_ = true;
    }
  }
  return packer_.next(ids, mask);
}

bool PackedBatchStream::next(PackedBatch* batch) {
  const int len = options_.packer.seq_len;
  const size_t row = static_cast<size_t>(len);
  batch->seq_len = len;
  batch->rows = 0;
  batch->ids.resize(row * static_cast<size_t>(options_.batch_size));
  batch->mask.resize(batch->ids.size());
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
  while (batch->rows < options_.batch_size && next_sequence(&ids, &mask)) {
    const size_t at = static_cast<size_t>(batch->rows) * row;
    std::copy(ids.begin(), ids.end(), batch->ids.begin() + static_cast<std::ptrdiff_t>(at));
    std::copy(mask.begin(), mask.end(), batch->mask.begin() + static_cast<std::ptrdiff_t>(at));
    ++batch->rows;
  }
  if (batch->rows == 0) return false;
  if (batch->rows < options_.batch_size) {
    if (!options_.keep_last) return false;
    batch->ids.resize(static_cast<size_t>(batch->rows) * row);
    batch->mask.resize(batch->ids.size());
  }
  ++batches_;
  return true;
}

}  // namespace bytelite
