#include "train/teacher_scores.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/quote.h"

namespace bytelite {
namespace {

// A value for a one-line message: quoted, control bytes and backslashes escaped, at most
// `max` bytes of it shown.
std::string show(std::string_view s, size_t max = 60) { return quote_text(s, max); }

std::string show_list(const std::vector<std::string>& v) {
  std::string out = "(";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + show(v[i], 40);
  return out + ")";
}

[[noreturn]] void fail(const std::string& path, int64_t line, const std::string& expected,
                       const std::string& found) {
  throw InputError(path + ":" + std::to_string(line) + ": expected " + expected + ", found " +
                   found);
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> f;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      f.push_back(line.substr(start));
      return f;
    }
    f.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

std::string unescape(std::string_view s, const std::string& path, int64_t line) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    const char e = i + 1 < s.size() ? s[i + 1] : '\0';
    switch (e) {
      case '\\':
        out.push_back('\\');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      default:
        fail(path, line, "one of the escapes \\\\ \\t \\n \\r in the text",
             i + 1 < s.size() ? show(s.substr(i, 2)) : "a backslash at the end of the text");
    }
    ++i;
  }
  return out;
}

// The file's bytes; a name ending in ".gz" must be gzip data and is decompressed whole (a
// truncated stream, corrupt data or a file that is not gzip is an InputError, as in the
// pretraining corpus reader, src/core/corpus.cc).
std::string load(const std::string& path) {
  if (path.size() < 3 || path.compare(path.size() - 3, 3, ".gz") != 0) return read_file(path);
  errno = 0;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    throw InputError(
        path + ": expected a readable gzip file, found one that cannot be opened (" +
        (errno != 0 ? std::string(std::strerror(errno)) : std::string("no reason given")) + ")");
  }
  std::string out;
  std::vector<char> buf(size_t{1} << 16);
  for (bool first = true;; first = false) {
    const int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    int err = Z_OK;
    const char* msg = gzerror(f, &err);
    std::string problem;
    if (n < 0 || err != Z_OK) {
      std::string detail = msg != nullptr ? msg : "unknown error";
      if (detail.rfind(path + ": ", 0) == 0) detail.erase(0, path.size() + 2);  // zlib's prefix
      problem = err == Z_BUF_ERROR
                    ? "expected the rest of the gzip stream, found the end of the file "
                      "(truncated gzip file)"
                    : "expected valid gzip data, found corrupt data (zlib: " + detail + ")";
    } else if (first && gzdirect(f) != 0) {
      problem =
          std::string("expected gzip data (the file name ends in .gz), found ") +
          (n == 0 ? "an empty file" : "data that does not start with the gzip magic bytes 1f 8b");
    }
    if (!problem.empty()) {
      gzclose(f);
      throw InputError(path + ": " + problem);
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  gzclose(f);
  return out;
}

}  // namespace

TeacherScores read_teacher_scores(const std::string& path, bool single_label) {
  const std::string buf = load(path);
  TeacherScores t;
  t.path = path;
  size_t pos = 0;
  int64_t line = 0;
  size_t C = 0;
  while (pos < buf.size()) {
    size_t end = buf.find('\n', pos);
    if (end == std::string::npos) end = buf.size();
    std::string_view l(buf.data() + pos, end - pos);
    pos = end + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (line == 1 && l.substr(0, 3) == "\xEF\xBB\xBF") l.remove_prefix(3);  // UTF-8 BOM
    const std::vector<std::string_view> f = split_tabs(l);
    if (line == 1) {
      if (f[0] != "text" || f.size() < 2) {
        fail(path, 1, "a header \"text<TAB>label<TAB>label...\" naming the labels", show(l, 80));
      }
      std::set<std::string> seen;
      for (size_t i = 1; i < f.size(); ++i) {
        if (f[i].empty() || !seen.insert(std::string(f[i])).second) {
          fail(path, 1, "distinct non-empty label names in the header",
               f[i].empty() ? "an empty column name" : show(f[i]) + " twice");
        }
        t.labels.emplace_back(f[i]);
      }
      C = t.labels.size();
      continue;
    }
    if (l.empty()) continue;
    if (f.size() != C + 1) {
      fail(path, line,
           std::to_string(C + 1) + " tab-separated fields (the text and one probability per label)",
           std::to_string(f.size()));
    }
    double sum = 0;
    std::vector<double> row(C);
    for (size_t c = 0; c < C; ++c) {
      const std::string_view v = f[c + 1];
      double d = 0;
      const auto r = std::from_chars(v.data(), v.data() + v.size(), d);
      const std::string what = "a probability for label " + show(t.labels[c]);
      if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) {
        fail(path, line, what, v.empty() ? "an empty field" : show(v));
      }
      if (!std::isfinite(d)) fail(path, line, what + " that is a finite number", show(v));
      if (d < 0.0 || d > 1.0) fail(path, line, what + " in [0, 1]", show(v));
      sum += d;
      row[c] = d;
    }
    if (single_label) {
      if (std::fabs(sum - 1.0) > 1e-3) {
        char buf2[64];
        std::snprintf(buf2, sizeof buf2, "%.6g", sum);
        fail(path, line,
             "probabilities summing to 1 (within 1e-3; the labels are exclusive), as the data is "
             "single-label",
             std::string("a sum of ") + buf2);
      }
      for (double& d : row) d /= sum;
    }
    for (double d : row) t.probs.push_back(static_cast<float>(d));
    std::string text = unescape(f[0], path, line);
    const auto [it, fresh] = t.row.emplace(std::move(text), static_cast<int64_t>(t.lines.size()));
    if (!fresh) {
      fail(path, line, "each text once",
           "a repeat of the text of line " + std::to_string(t.lines[it->second]));
    }
    t.lines.push_back(line);
  }
  if (line == 0) fail(path, 1, "a header \"text<TAB>label<TAB>label...\"", "an empty file");
  if (t.lines.empty()) fail(path, line + 1, "at least one row of scores", "none");
  return t;
}

namespace {

// data label c -> teacher column; throws naming the teacher's header if the label sets differ.
std::vector<size_t> teacher_columns(const TeacherScores& teacher, const Dataset& data) {
  const size_t C = data.label_names.size();
  std::vector<size_t> column(C);
  std::vector<std::string> a = teacher.labels, b = data.label_names;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  if (a != b) {
    fail(teacher.path, 1,
         "the labels of " + data.path + " " + show_list(data.label_names) + " in any order",
         show_list(teacher.labels));
  }
  for (size_t c = 0; c < C; ++c) {
    column[c] = static_cast<size_t>(
        std::find(teacher.labels.begin(), teacher.labels.end(), data.label_names[c]) -
        teacher.labels.begin());
  }
  return column;
}

}  // namespace

std::vector<float> teacher_targets(const TeacherScores& teacher, const Dataset& data) {
  const size_t C = data.label_names.size();
  const std::vector<size_t> column = teacher_columns(teacher, data);
  std::vector<float> out;
  out.reserve(data.examples.size() * C);
  for (const Example& ex : data.examples) {
    const auto it = teacher.row.find(ex.text);
    if (it == teacher.row.end()) {
      fail(data.path, ex.line, "a teacher score in " + teacher.path + " for this text",
           "none (text " + show(ex.text) + ")");
    }
    const float* p = teacher.probs.data() + it->second * static_cast<int64_t>(C);
    for (size_t c = 0; c < C; ++c) out.push_back(p[column[c]]);
  }
  return out;
}

UnlabelledPool read_unlabelled_pool(const std::string& path, const TeacherScores& teacher,
                                    const Dataset& train, const Dataset& valid) {
  const size_t C = train.label_names.size();
  const std::vector<size_t> column = teacher_columns(teacher, train);
  std::unordered_set<std::string_view> valid_texts, train_texts;
  for (const Example& ex : valid.examples) valid_texts.insert(ex.text);
  for (const Example& ex : train.examples) train_texts.insert(ex.text);
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
  } else {
    throw InputError(path +
                     ": expected a readable pool file (one text per line), found one that "
                     "cannot be opened (" +
                     std::string(std::strerror(errno)) + ")");
  }
  const std::string buf = load(path);
  UnlabelledPool pool;
  pool.path = path;
  std::unordered_set<std::string_view> kept;
  size_t pos = 0;
  int64_t line = 0;
  while (pos < buf.size()) {
    size_t end = buf.find('\n', pos);
    if (end == std::string::npos) end = buf.size();
    const std::string_view text(buf.data() + pos, end - pos);
    pos = end + 1;
    ++line;
    if (text.find_first_not_of(" \t\r\f\v") == std::string_view::npos) {
      ++pool.skipped_empty;  // empty or only blanks: no text to distil on
    } else if (valid_texts.count(text)) {
      ++pool.skipped_valid;
    } else if (train_texts.count(text)) {
      ++pool.skipped_train;
    } else if (!kept.insert(text).second) {
      ++pool.skipped_repeat;
    } else {
      const auto it = teacher.row.find(std::string(text));
      if (it == teacher.row.end()) {
        fail(path, line, "a teacher score in " + teacher.path + " for this text",
             "none (text " + show(text) + ")");
      }
      const float* p = teacher.probs.data() + it->second * static_cast<int64_t>(C);
      for (size_t c = 0; c < C; ++c) pool.teacher.push_back(p[column[c]]);
      pool.texts.emplace_back(text);
      pool.lines.push_back(line);
    }
  }
  pool.read = line;
  if (pool.texts.empty()) {
    throw InputError(path + ": expected at least one pool text (one per line; " +
                     std::to_string(line) + " lines read, " + std::to_string(pool.skipped_empty) +
                     " empty, " + std::to_string(pool.skipped_valid) + " validation texts, " +
                     std::to_string(pool.skipped_train) + " training texts left out), found none");
  }
  return pool;
}

DistillationTerms distillation_terms(const torch::Tensor& logits, const torch::Tensor& hard_targets,
                                     const torch::Tensor& teacher, int64_t n_labelled,
                                     bool multilabel, double temperature,
                                     const torch::Tensor& class_weights) {
  if (!(temperature > 0.0 && std::isfinite(temperature))) {
    throw InvalidArgument("distillation temperature: expected a number > 0, found " +
                          std::to_string(temperature));
  }
  const int64_t B = logits.size(0);
  if (n_labelled < 0 || n_labelled > B) {
    throw InvalidArgument("distillation: expected 0 to " + std::to_string(B) +
                          " labelled rows, found " + std::to_string(n_labelled));
  }
  namespace F = torch::nn::functional;
  const double T = temperature;
  DistillationTerms t;
  const torch::Tensor p = teacher.to(logits.dtype()).detach();
  // the labelled rows' logits (the whole batch when every row is labelled)
  const torch::Tensor lab = n_labelled == B ? logits : logits.narrow(0, 0, n_labelled);
  if (multilabel) {
    t.hard = n_labelled > 0 ? F::binary_cross_entropy_with_logits(lab, hard_targets)
                            : torch::zeros({}, logits.options());
    // p_T = sigmoid(logit(p) / T); p = 0 or 1 give logit -inf / +inf and p_T = 0 / 1.
    const torch::Tensor pt = torch::sigmoid((torch::log(p) - torch::log1p(-p)) / T);
    const torch::Tensor z = logits / T;
    t.soft = (torch::xlogy(pt, pt) + torch::xlogy(1 - pt, 1 - pt) - pt * F::logsigmoid(z) -
              (1 - pt) * F::logsigmoid(-z))
                 .mean();
  } else {
    auto opts = F::CrossEntropyFuncOptions();
    if (class_weights.defined()) opts.weight(class_weights);
    t.hard = n_labelled > 0 ? F::cross_entropy(lab, hard_targets, opts)
                            : torch::zeros({}, logits.options());
    const torch::Tensor pt = torch::softmax(torch::log(p) / T, 1);
    const torch::Tensor log_q = torch::log_softmax(logits / T, 1);
    t.soft = (torch::xlogy(pt, pt) - pt * log_q).sum(1).mean();
  }
  return t;
}

torch::Tensor distillation_loss(const torch::Tensor& logits, const torch::Tensor& hard_targets,
                                const torch::Tensor& teacher, bool multilabel, double alpha,
                                double temperature, const torch::Tensor& class_weights) {
  if (!(alpha >= 0.0 && alpha <= 1.0)) {
    throw InvalidArgument("distillation alpha: expected a number in [0, 1], found " +
                          std::to_string(alpha));
  }
  const DistillationTerms t = distillation_terms(logits, hard_targets, teacher, logits.size(0),
                                                 multilabel, temperature, class_weights);
  const double T = temperature;
  return alpha * t.hard + (1.0 - alpha) * T * T * t.soft;
}

}  // namespace bytelite
