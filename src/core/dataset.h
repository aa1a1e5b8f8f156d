// Readers for labelled text: TSV, CSV (RFC 4180) and JSONL.
//
// Formats (chosen by file extension .tsv/.csv/.jsonl/.json, or forced with DataSpec::format):
//  - TSV: first line is a header naming the columns; fields are split on '\t'; no quoting and no
//    escapes (a field cannot contain a tab or newline: use CSV or JSONL for such text). CRLF line
//    ends and a UTF-8 BOM are accepted.
//  - CSV: RFC 4180: header row, ',' separator, '"'-quoted fields with "" escapes, embedded
//    newlines inside quotes, CRLF or LF line ends, optional UTF-8 BOM.
//  - JSONL: one JSON object per non-empty line; the text column must be a string; label
//    columns may be strings, integers, booleans or numbers (multi-label targets).
//
// Errors (InputError) name the file, the 1-based line number and what was expected and found,
// e.g. "my_data.csv:17: unterminated quoted field (expected closing '\"' before end of file)".
// With skip_bad_rows, malformed rows are skipped and counted in Dataset::skipped_rows instead
// (file-level problems such as a missing header column still throw).
// Blank lines are skipped in every format. Label values are trimmed of surrounding whitespace;
// a JSON boolean single-label value becomes "1"/"0", an integral JSON number its decimal string.
// A file without any data row (or whose every row was skipped) is an InputError. A file that
// cannot be opened is reported as "<file>: expected ..., found ..." (no line number).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bytelite {

enum class DataFormat { kAuto, kTsv, kCsv, kJsonl };

/// Single-label: exactly one label column; classes are strings (integers are read as their
/// decimal string). Multi-label: two or more label columns, each holding a target in [0, 1]
/// (0/1, true/false or a fraction such as the share of annotators).
struct DataSpec {
  std::string text_column = "text";
  std::vector<std::string> label_columns = {"label"};
  DataFormat format = DataFormat::kAuto;
  bool skip_bad_rows = false;

  bool multilabel() const { return label_columns.size() > 1; }
};

struct Example {
  std::string text;            // raw bytes, exactly as in the file (after CSV/JSON unquoting)
  int32_t label = -1;          // single-label: class index into Dataset::label_names
  std::vector<float> targets;  // multi-label: one target in [0, 1] per label column
  int64_t line = 0;            // 1-based line where the row starts (for messages)
};

struct Dataset {
  std::string path;
  std::vector<std::string> label_names;  // single-label: class names; multi-label: column names
  bool multilabel = false;
  std::vector<Example> examples;
  int64_t skipped_rows = 0;  // rows skipped because of skip_bad_rows
};

/// Reads a labelled file. label_names: for single-label, the known class names in index order
/// (e.g. from the training set or a checkpoint); a label not in the list is an InputError
/// naming the allowed values. If label_names is empty the classes are inferred from the file:
/// sorted numerically if every label is an integer, else lexicographically.
/// Throws InputError (file missing/unreadable, missing column, malformed row, bad label).
Dataset read_dataset(const std::string& path, const DataSpec& spec,
                     const std::vector<std::string>& label_names = {});

/// Reads only the text column of a file (labels not required), for prediction.
std::vector<std::string> read_texts(const std::string& path, const DataSpec& spec);

/// One (source, target) row of a sequence-to-sequence data file.
struct TextPair {
  std::string source;  // raw bytes, exactly as in the file (after CSV/JSON unquoting)
  std::string target;  // likewise (may be empty)
  int64_t line = 0;    // 1-based line where the row starts
};

struct TextPairs {
  std::string path;
  std::vector<TextPair> pairs;  // file order
  int64_t skipped_rows = 0;     // rows skipped because of skip_bad_rows
};

/// Reads two string columns of a TSV/CSV/JSONL file (same rules as read_dataset: header, blank
/// lines, BOM, CRLF, errors naming file and line; rows are not grouped or deduplicated). In
/// JSONL both values must be strings. Throws ConfigError if the two column names are equal,
/// InputError for a missing file or column, a malformed row (unless skip_bad_rows) or a file
/// without data rows.
TextPairs read_text_pairs(const std::string& path, const std::string& source_column,
                          const std::string& target_column, DataFormat format = DataFormat::kAuto,
                          bool skip_bad_rows = false);

/// The distinct sources of a pairs file in order of first appearance, each with the targets of
/// all its rows (the references of a source, e.g. every pronunciation of a word).
struct GroupedPairs {
  std::vector<std::string> sources;
  std::vector<std::vector<std::string>> references;  // [sources.size()], each non-empty
};
GroupedPairs group_by_source(const std::vector<TextPair>& pairs);

/// Format from extension (.tsv, .csv, .jsonl, .json); throws InputError for anything else.
DataFormat detect_format(const std::string& path);

}  // namespace bytelite
