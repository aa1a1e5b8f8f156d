#include "core/dataset.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/errors.h"
#include "core/quote.h"

namespace bytelite {
namespace {

using nlohmann::json;

// A row-level problem. Caught by the row loop: skipped and counted with skip_bad_rows, otherwise
// rethrown as InputError. File-level problems throw InputError directly.
struct BadRow {
  std::string message;
};

std::string location(const std::string& path, int64_t line) {
  return path + ":" + std::to_string(line) + ": ";
}

std::string message(const std::string& path, int64_t line, const std::string& expected,
                    const std::string& found) {
  return location(path, line) + "expected " + expected + ", found " + found;
}

[[noreturn]] void bad_row(const std::string& path, int64_t line, const std::string& expected,
                          const std::string& found) {
  throw BadRow{message(path, line, expected, found)};
}

[[noreturn]] void bad_file(const std::string& path, int64_t line, const std::string& expected,
                           const std::string& found) {
  throw InputError(message(path, line, expected, found));
}

// Quotes a value for an error message: control bytes escaped (the message stays on one line),
// long values cut to max_bytes (at a UTF-8 character boundary).
std::string show(std::string_view s, size_t max_bytes = 60) { return quote_text(s, max_bytes); }

std::string join_quoted(const std::vector<std::string>& names, size_t max_names = 20) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max_names; ++i) {
    if (i > 0) out += ", ";
    out += show(names[i], 40);
  }
  if (names.size() > max_names) {
    out += ", ... (" + std::to_string(names.size()) + " in all)";
  }
  return out;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
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
      return "the string " + show(v.get_ref<const std::string&>());
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    default:
      return "the number " + v.dump();
  }
}

std::string load_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int e = errno;
    throw InputError(path + ": expected an existing, readable data file, found " +
                     (e == ENOENT ? std::string("no such file") : std::string(std::strerror(e))));
  }
  if (S_ISDIR(st.st_mode)) {
    throw InputError(path + ": expected a data file, found a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int e = errno;
    throw InputError(path + ": expected a readable data file, found " + std::strerror(e));
  }
  std::string buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    throw InputError(path + ": expected a readable data file, found a read error");
  }
  if (buf.size() >= 3 && buf.compare(0, 3, "\xEF\xBB\xBF") == 0) buf.erase(0, 3);
  return buf;
}

// One TSV/CSV record (row). error is set for a row that could not be split into fields.
struct Record {
  int64_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
  std::string error;
};

// Splits a TSV or CSV buffer into records. Blank lines are skipped.
class RecordReader {
 public:
  RecordReader(const std::string& path, const std::string& buf, bool csv)
      : path_(path), buf_(buf), csv_(csv) {}

  bool next(Record* rec) {
    skip_blank_lines();
    if (pos_ >= buf_.size()) return false;
    rec->line = line_;
    rec->fields.clear();
    rec->error.clear();
    if (csv_) {
      read_csv(rec);
    } else {
      read_tsv(rec);
    }
    return true;
  }

 private:
  bool at_line_end(size_t p) const {
    return buf_[p] == '\n' || (buf_[p] == '\r' && p + 1 < buf_.size() && buf_[p + 1] == '\n');
  }
  // pos_ is at a line end: steps over it.
  void consume_line_end() {
    pos_ += buf_[pos_] == '\r' ? 2 : 1;
    ++line_;
  }

  void skip_blank_lines() {
    while (pos_ < buf_.size() && at_line_end(pos_)) consume_line_end();
  }

  void read_tsv(Record* rec) {
    size_t end = buf_.find('\n', pos_);
    if (end == std::string::npos) end = buf_.size();
    size_t stop = end;
    if (stop > pos_ && buf_[stop - 1] == '\r') --stop;
    std::string_view l(buf_.data() + pos_, stop - pos_);
    size_t start = 0;
    while (true) {
      const size_t tab = l.find('\t', start);
      if (tab == std::string_view::npos) {
        rec->fields.emplace_back(l.substr(start));
        break;
      }
      rec->fields.emplace_back(l.substr(start, tab - start));
      start = tab + 1;
    }
    pos_ = end < buf_.size() ? end + 1 : end;
    ++line_;
  }

  // RFC 4180. A '"' inside an unquoted field is kept as a literal character (lenient, as
  // Python's csv module does).
  void read_csv(Record* rec) {
    const size_t record_start = pos_;
    const int64_t record_line = line_;
    std::string field;
    while (true) {
      if (pos_ < buf_.size() && buf_[pos_] == '"') {
        const int64_t quote_line = line_;
        ++pos_;
        bool closed = false;
        while (pos_ < buf_.size()) {
          const char c = buf_[pos_];
          if (c == '"') {
            if (pos_ + 1 < buf_.size() && buf_[pos_ + 1] == '"') {
              field += '"';
              pos_ += 2;
              continue;
            }
            ++pos_;
            closed = true;
            break;
          }
          if (c == '\n') ++line_;
          field += c;
          ++pos_;
        }
        if (!closed) {
          rec->error = message(path_, quote_line,
                               "a closing '\"' for the quoted field that starts on this line",
                               "end of file (unterminated quoted field)");
          // Resynchronize on the line after the one where the record started.
          const size_t nl = buf_.find('\n', record_start);
          pos_ = nl == std::string::npos ? buf_.size() : nl + 1;
          line_ = record_line + 1;
          return;
        }
        if (pos_ >= buf_.size()) {
          rec->fields.push_back(std::move(field));
          return;
        }
        if (buf_[pos_] == ',') {
          rec->fields.push_back(std::move(field));
          field.clear();
          ++pos_;
          continue;
        }
        if (at_line_end(pos_)) {
          rec->fields.push_back(std::move(field));
          consume_line_end();
          return;
        }
        rec->error = message(path_, line_,
                             "',' or the end of the line after the closing '\"' of a quoted field",
                             show(std::string_view(&buf_[pos_], 1)));
        const size_t nl = buf_.find('\n', pos_);
        pos_ = nl == std::string::npos ? buf_.size() : nl + 1;
        ++line_;
        return;
      }
      while (pos_ < buf_.size() && buf_[pos_] != ',' && !at_line_end(pos_)) {
        field += buf_[pos_];
        ++pos_;
      }
      rec->fields.push_back(std::move(field));
      field.clear();
      if (pos_ >= buf_.size()) return;
      if (buf_[pos_] == ',') {
        ++pos_;
        continue;
      }
      consume_line_end();
      return;
    }
  }

  const std::string& path_;
  const std::string& buf_;
  bool csv_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

// A label cell: either raw text (TSV/CSV) or a JSON value (JSONL).
struct Cell {
  std::string_view text;
  const json* value = nullptr;
};

using RowFn = std::function<void(int64_t line, std::string text, const std::vector<Cell>& cells)>;

std::string header_list(const std::vector<std::string>& header) {
  return "columns " + join_quoted(header, 50);
}

// Calls fn for each data row. Returns the number of skipped rows; throws InputError.
int64_t for_each_row(const std::string& path, const DataSpec& spec,
                     const std::vector<std::string>& label_columns, const RowFn& fn) {
  const DataFormat format = spec.format == DataFormat::kAuto ? detect_format(path) : spec.format;
  const std::string buf = load_file(path);
  int64_t rows = 0;
  int64_t skipped = 0;
  int64_t last_line = 1;
  auto handle_bad = [&](const BadRow& e) {
    if (!spec.skip_bad_rows) throw InputError(e.message);
    ++skipped;
  };

  if (format == DataFormat::kJsonl) {
    size_t pos = 0;
    int64_t line = 0;
    bool any = false;
    while (pos < buf.size()) {
      size_t end = buf.find('\n', pos);
      if (end == std::string::npos) end = buf.size();
      const std::string_view l = trim(std::string_view(buf.data() + pos, end - pos));
      pos = end + 1;
      ++line;
      if (l.empty()) continue;
      any = true;
      last_line = line;
      try {
        json obj;
        try {
          obj = json::parse(l);
        } catch (const json::parse_error& e) {
          // Drop nlohmann's "[json.exception...] parse error at line 1, column N: " prefix.
          std::string detail = escape_text(e.what());
          const size_t p = detail.find(": ", detail.find("column "));
          if (p != std::string::npos) detail = detail.substr(p + 2);
          bad_row(path, line, "a JSON object",
                  "invalid JSON at byte " + std::to_string(e.byte) + " (" + detail + ")");
        }
        if (!obj.is_object()) bad_row(path, line, "a JSON object", describe(obj));
        auto keys = [&obj]() {
          std::vector<std::string> k;
          for (auto it = obj.begin(); it != obj.end(); ++it) k.push_back(it.key());
          return "keys " + join_quoted(k, 50);
        };
        const auto text_it = obj.find(spec.text_column);
        if (text_it == obj.end()) {
          bad_row(path, line, "the key " + show(spec.text_column) + " in the JSON object", keys());
        }
        if (!text_it->is_string()) {
          bad_row(path, line, "a string value for " + show(spec.text_column), describe(*text_it));
        }
        std::vector<Cell> cells;
        for (const std::string& col : label_columns) {
          const auto it = obj.find(col);
          if (it == obj.end()) {
            bad_row(path, line, "the key " + show(col) + " in the JSON object", keys());
          }
          cells.push_back(Cell{{}, &*it});
        }
        fn(line, text_it->get<std::string>(), cells);
        ++rows;
      } catch (const BadRow& e) {
        handle_bad(e);
      }
    }
    if (!any) bad_file(path, 1, "one JSON object per line", "an empty file");
  } else {
    const bool csv = format == DataFormat::kCsv;
    RecordReader reader(path, buf, csv);
    Record rec;
    if (!reader.next(&rec)) {
      bad_file(path, 1, "a header row naming the columns",
               buf.empty() ? "an empty file" : "only blank lines");
    }
    if (!rec.error.empty()) throw InputError(rec.error);
    std::vector<std::string> header;
    for (const std::string& h : rec.fields) header.emplace_back(trim(h));
    const int64_t header_line = rec.line;
    last_line = header_line;
    auto column = [&](const std::string& name) {
      const auto it = std::find(header.begin(), header.end(), name);
      if (it == header.end()) {
        bad_file(path, header_line, "a column named " + show(name) + " in the header",
                 header_list(header));
      }
      return static_cast<size_t>(it - header.begin());
    };
    const size_t text_index = column(spec.text_column);
    std::vector<size_t> label_index;
    for (const std::string& col : label_columns) label_index.push_back(column(col));
    const char* sep = csv ? "comma" : "tab";
    while (reader.next(&rec)) {
      last_line = rec.line;
      try {
        if (!rec.error.empty()) throw BadRow{rec.error};
        if (rec.fields.size() != header.size()) {
          bad_row(
              path, rec.line,
              std::to_string(header.size()) + " " + sep + "-separated fields (as in the header)",
              std::to_string(rec.fields.size()));
        }
        std::vector<Cell> cells;
        for (size_t i : label_index) cells.push_back(Cell{rec.fields[i], nullptr});
        fn(rec.line, std::move(rec.fields[text_index]), cells);
        ++rows;
      } catch (const BadRow& e) {
        handle_bad(e);
      }
    }
  }
  if (rows == 0) {
    if (skipped > 0) {
      throw InputError(path + ": expected at least one valid data row, found none (" +
                       std::to_string(skipped) + " malformed rows skipped)");
    }
    bad_file(path, last_line + 1, "at least one data row", "none");
  }
  return skipped;
}

// Single-label value as a string: JSON integers become their decimal string, booleans "1"/"0".
std::string label_string(const Cell& cell, const std::string& path, int64_t line,
                         const std::string& column) {
  std::string s;
  if (cell.value != nullptr) {
    const json& v = *cell.value;
    const std::string expected = "a string, integer or boolean label for " + show(column);
    if (v.is_string()) {
      s = v.get<std::string>();
    } else if (v.is_boolean()) {
      s = v.get<bool>() ? "1" : "0";
    } else if (v.is_number_unsigned()) {
      s = std::to_string(v.get<uint64_t>());
    } else if (v.is_number_integer()) {
      s = std::to_string(v.get<int64_t>());
    } else if (v.is_number_float()) {
      const double d = v.get<double>();
      if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15) {
        bad_row(path, line, expected, describe(v));
      }
      s = std::to_string(static_cast<int64_t>(d));
    } else {
      bad_row(path, line, expected, describe(v));
    }
  } else {
    s = std::string(cell.text);
  }
  s = std::string(trim(s));
  if (s.empty()) {
    bad_row(path, line, "a non-empty label in column " + show(column), "an empty field");
  }
  return s;
}

bool parse_target(std::string_view s, double* out) {
  s = trim(s);
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true") {
    *out = 1.0;
    return true;
  }
  if (lower == "false") {
    *out = 0.0;
    return true;
  }
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Multi-label target in [0, 1].
float target_value(const Cell& cell, const std::string& path, int64_t line,
                   const std::string& column) {
  const std::string expected =
      "a target in [0, 1] (0/1, true/false or a fraction) in column " + show(column);
  double d = 0;
  std::string found;
  bool ok = false;
  if (cell.value != nullptr) {
    const json& v = *cell.value;
    found = describe(v);
    if (v.is_boolean()) {
      d = v.get<bool>() ? 1.0 : 0.0;
      ok = true;
    } else if (v.is_number()) {
      d = v.get<double>();
      ok = true;
    } else if (v.is_string()) {
      if (trim(v.get_ref<const std::string&>()).empty()) found = "an empty field";
      ok = parse_target(v.get_ref<const std::string&>(), &d);
    }
  } else {
    found = trim(cell.text).empty() ? "an empty field" : show(cell.text);
    ok = parse_target(cell.text, &d);
  }
  if (!ok || !std::isfinite(d) || d < 0.0 || d > 1.0) bad_row(path, line, expected, found);
  return static_cast<float>(d);
}

bool is_integer(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// Numeric order of two integer strings of any length; ties broken lexicographically.
bool integer_less(const std::string& a, const std::string& b) {
  auto split = [](const std::string& s) {
    const bool neg = s[0] == '-';
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    while (i + 1 < s.size() && s[i] == '0') ++i;
    std::string digits = s.substr(i);
    return std::make_pair(neg && digits != "0", digits);
  };
  const auto [na, da] = split(a);
  const auto [nb, db] = split(b);
  if (na != nb) return na;
  if (da != db) {
    const bool abs_less = da.size() != db.size() ? da.size() < db.size() : da < db;
    return na ? !abs_less : abs_less;
  }
  return a < b;
}

}  // namespace

DataFormat detect_format(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == "tsv") return DataFormat::kTsv;
  if (ext == "csv") return DataFormat::kCsv;
  if (ext == "jsonl" || ext == "json") return DataFormat::kJsonl;
  throw InputError(path +
                   ": expected a data file name ending in .tsv, .csv, .jsonl or .json, found " +
                   (dot == std::string::npos ? std::string("no extension") : show("." + ext)));
}

Dataset read_dataset(const std::string& path, const DataSpec& spec,
                     const std::vector<std::string>& label_names) {
  if (spec.label_columns.empty()) {
    throw ConfigError("label columns: expected at least one label column, found none");
  }
  for (const std::string& col : spec.label_columns) {
    if (col == spec.text_column) {
      throw ConfigError("label columns: expected columns other than the text column, found " +
                        show(col));
    }
  }
  Dataset ds;
  ds.path = path;
  ds.multilabel = spec.multilabel();
  std::vector<std::string> raw_labels;  // single-label values, when classes are inferred
  std::unordered_map<std::string, int32_t> known;
  for (size_t i = 0; i < label_names.size(); ++i) {
    known.emplace(label_names[i], static_cast<int32_t>(i));
  }
  const bool infer = !ds.multilabel && label_names.empty();

  RowFn fn = [&](int64_t line, std::string text, const std::vector<Cell>& cells) {
    Example ex;
    if (ds.multilabel) {
      ex.targets.reserve(cells.size());
      for (size_t i = 0; i < cells.size(); ++i) {
        ex.targets.push_back(target_value(cells[i], path, line, spec.label_columns[i]));
      }
    } else {
      std::string label = label_string(cells[0], path, line, spec.label_columns[0]);
      if (infer) {
        raw_labels.push_back(std::move(label));
      } else {
        const auto it = known.find(label);
        if (it == known.end()) {
          bad_row(path, line,
                  "a label in column " + show(spec.label_columns[0]) + " that is one of [" +
                      join_quoted(label_names) + "]",
                  show(label));
        }
        ex.label = it->second;
      }
    }
    ex.text = std::move(text);
    ex.line = line;
    ds.examples.push_back(std::move(ex));
  };
  ds.skipped_rows = for_each_row(path, spec, spec.label_columns, fn);

  if (ds.multilabel) {
    ds.label_names = spec.label_columns;
  } else if (infer) {
    std::vector<std::string> names = raw_labels;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (std::all_of(names.begin(), names.end(), is_integer)) {
      std::sort(names.begin(), names.end(), integer_less);
    }
    std::unordered_map<std::string, int32_t> index;
    for (size_t i = 0; i < names.size(); ++i) index.emplace(names[i], static_cast<int32_t>(i));
    for (size_t i = 0; i < ds.examples.size(); ++i) {
      ds.examples[i].label = index.at(raw_labels[i]);
    }
    ds.label_names = std::move(names);
  } else {
    ds.label_names = label_names;
  }
  return ds;
}

std::vector<std::string> read_texts(const std::string& path, const DataSpec& spec) {
  std::vector<std::string> texts;
  RowFn fn = [&](int64_t, std::string text, const std::vector<Cell>&) {
    texts.push_back(std::move(text));
  };
  for_each_row(path, spec, {}, fn);
  return texts;
}

TextPairs read_text_pairs(const std::string& path, const std::string& source_column,
                          const std::string& target_column, DataFormat format, bool skip_bad_rows) {
  if (source_column == target_column) {
    throw ConfigError("seq2seq columns: expected different source and target columns, found " +
                      show(source_column) + " for both");
  }
  DataSpec spec;
  spec.text_column = source_column;
  spec.label_columns = {target_column};
  spec.format = format;
  spec.skip_bad_rows = skip_bad_rows;
  TextPairs out;
  out.path = path;
  RowFn fn = [&](int64_t line, std::string text, const std::vector<Cell>& cells) {
    TextPair p;
    p.line = line;
    if (cells[0].value != nullptr) {
      if (!cells[0].value->is_string()) {
        bad_row(path, line, "a string value for " + show(target_column), describe(*cells[0].value));
      }
      p.target = cells[0].value->get<std::string>();
    } else {
      p.target = std::string(cells[0].text);
    }
    p.source = std::move(text);
    out.pairs.push_back(std::move(p));
  };
  out.skipped_rows = for_each_row(path, spec, spec.label_columns, fn);
  return out;
}

GroupedPairs group_by_source(const std::vector<TextPair>& pairs) {
  GroupedPairs g;
  std::unordered_map<std::string, size_t> index;
  for (const TextPair& p : pairs) {
    const auto [it, fresh] = index.emplace(p.source, g.sources.size());
    if (fresh) {
      g.sources.push_back(p.source);
      g.references.emplace_back();
    }
    g.references[it->second].push_back(p.target);
  }
  return g;
}

}  // namespace bytelite
