// bytelite._runtime: the int8 runtime (libbytelite) for Python: Classifier and Seq2Seq. Links no
// libtorch. The documented API is python/bytelite/_runtime.pyi (and docs/python.md).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bytelite/classifier.h"
#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "bytelite/seq2seq.h"
#include "core/atomic_file.h"
#include "core/model_eval.h"
#include "core/model_info_json.h"
#include "core/report.h"
#include "core/seq2seq_eval.h"
#include "py_common.h"

namespace pyb = pybind11;

namespace bytelite::py {
namespace {

KernelIsa parse_isa(const std::string& s) {
  if (s == "auto") return KernelIsa::kAuto;
  if (s == "reference") return KernelIsa::kReference;
  if (s == "avx2") return KernelIsa::kAvx2;
  if (s == "avx512vnni") return KernelIsa::kAvx512Vnni;
  throw ConfigError("isa: expected one of auto, reference, avx2, avx512vnni, found '" + s + "'");
}

void check_threads(const std::string& fn, int threads) {
  if (threads < 1) {
    throw InvalidArgument(fn + ": threads: expected an integer >= 1, found " +
                          std::to_string(threads));
  }
}

class PyClassifier {
 public:
  PyClassifier(pyb::handle path, const std::string& isa)
      : clf_(Model::load(path_arg(path, "Classifier: path")), ClassifierOptions{parse_isa(isa)}) {}

  pyb::tuple predict(pyb::handle texts_obj, int threads) const {
    const std::vector<std::string> texts = texts_from(texts_obj, "Classifier.predict");
    check_threads("Classifier.predict", threads);
    std::vector<Prediction> preds;
    {
      pyb::gil_scoped_release nogil;
      preds = clf_.classify_batch(texts, threads);
    }
    const ModelInfo& mi = clf_.info();
    const pyb::ssize_t n = static_cast<pyb::ssize_t>(preds.size());
    const pyb::ssize_t C = static_cast<pyb::ssize_t>(mi.labels.size());
    pyb::array_t<float> probs({n, C});
    auto w = probs.mutable_unchecked<2>();
    pyb::list labels;
    std::vector<pyb::str> names;
    for (const auto& l : mi.labels) names.emplace_back(l);
    for (pyb::ssize_t i = 0; i < n; ++i) {
      const Prediction& p = preds[static_cast<size_t>(i)];
      for (pyb::ssize_t c = 0; c < C; ++c) w(i, c) = p.probabilities[static_cast<size_t>(c)];
      pyb::list li;
      for (int32_t l : p.labels) li.append(names[static_cast<size_t>(l)]);
      labels.append(li);
    }
    return pyb::make_tuple(labels, probs);
  }

  std::vector<std::string> labels() const { return clf_.info().labels; }
  pyb::object info() const { return to_python(model_info_json(clf_.info())); }
  std::string isa() const { return Classifier::isa_name(clf_.isa()); }

 private:
  Classifier clf_;
};

pyb::str decode_replace(const std::string& s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (o == nullptr) throw pyb::error_already_set();
  return pyb::reinterpret_steal<pyb::str>(o);
}

class PySeq2Seq {
 public:
  PySeq2Seq(pyb::handle path, const std::string& isa)
      : model_(Model::load(path_arg(path, "Seq2Seq: path"))) {
    GenerateOptions o;
    o.isa = parse_isa(isa);
    // Rejects a model that is not byteseq2seq, and a kernel path this CPU lacks, now.
    isa_ = Seq2SeqGenerator(model_, o).options().isa;
  }

  std::vector<std::vector<Generation>> generate(pyb::handle texts_obj, std::optional<int> beam_size,
                                                int n_best, std::optional<int> max_len,
                                                std::optional<double> length_penalty,
                                                int threads) const {
    const std::string fn = "Seq2Seq.generate";
    const std::vector<std::string> texts = texts_from(texts_obj, fn);
    check_threads(fn, threads);
    GenerateOptions o;
    o.isa = isa_;
    o.n_best = n_best;
    if (beam_size) {
      if (*beam_size < 1) {
        throw InvalidArgument(fn + ": beam_size: expected an integer in [1, 1024] or None (the " +
                              "model's default), found " + std::to_string(*beam_size));
      }
      o.beam_size = *beam_size;
    }
    if (max_len) {
      if (*max_len < 1) {
        throw InvalidArgument(fn + ": max_len: expected an integer >= 1 or None (the model's " +
                              "max_target), found " + std::to_string(*max_len));
      }
      o.max_len = *max_len;
    }
    if (length_penalty) {
      if (!(*length_penalty >= 0)) {
        throw InvalidArgument(fn + ": length_penalty: expected a finite number >= 0 or None " +
                              "(the model's default), found " + std::to_string(*length_penalty));
      }
      o.length_penalty = *length_penalty;
    }
    const int t = static_cast<int>(
        std::min<size_t>(static_cast<size_t>(threads), std::max<size_t>(texts.size(), 1)));
    pyb::gil_scoped_release nogil;
    return generate_batch(model_, texts, o, t);
  }

  pyb::object info() const { return to_python(model_info_json(model_->info())); }
  std::string isa() const { return Classifier::isa_name(isa_); }

 private:
  std::shared_ptr<const Model> model_;
  KernelIsa isa_ = KernelIsa::kAuto;
};

// bytelite.evaluate for an int8 model file (no libtorch): the object `bytelite eval --model
// FILE --json` prints, for classifiers and seq2seq models.
pyb::object evaluate_model_path(pyb::handle path_obj, pyb::handle data_obj, int threads,
                                bool skip_bad_rows, std::optional<int> beam_size,
                                std::optional<int> max_len, std::optional<double> length_penalty) {
  const std::string path = path_arg(path_obj, "evaluate: model");
  const std::string data = path_arg(data_obj, "evaluate: data");
  check_threads("evaluate", threads);
  std::string json;
  {
    pyb::gil_scoped_release nogil;
    auto model = Model::load(path);
    if (model->info().is_seq2seq()) {
      GenerateOptions o;
      if (beam_size && *beam_size < 1) {
        throw InvalidArgument(
            "evaluate: beam_size: expected an integer in [1, 1024] or None, "
            "found " +
            std::to_string(*beam_size));
      }
      if (max_len && *max_len < 1) {
        throw InvalidArgument("evaluate: max_len: expected an integer >= 1 or None, found " +
                              std::to_string(*max_len));
      }
      if (length_penalty && !(*length_penalty >= 0)) {
        throw InvalidArgument(
            "evaluate: length_penalty: expected a finite number >= 0 or "
            "None, found " +
            std::to_string(*length_penalty));
      }
      if (beam_size) o.beam_size = *beam_size;
      if (max_len) o.max_len = *max_len;
      if (length_penalty) o.length_penalty = *length_penalty;
      json = evaluate_seq2seq(model, path, data, o, threads, skip_bad_rows).to_json();
    } else {
      for (auto [name, given] : {std::pair<const char*, bool>{"beam_size", beam_size.has_value()},
                                 {"max_len", max_len.has_value()},
                                 {"length_penalty", length_penalty.has_value()}}) {
        if (given) {
          throw ConfigError(std::string("evaluate: ") + name +
                            " applies to seq2seq models only, found a classifier model");
        }
      }
      const Classifier clf(model);
      ModelEvalResult r = evaluate_model_file(clf, data, threads, skip_bad_rows);
      r.model_path = path;
      json = r.to_json();
    }
  }
  return pyb::module_::import("json").attr("loads")(pyb::str(json));
}

// bytelite.report: the HTML page of core/report.h, written atomically to `out`; returns the text
// summary. agreement_json: the "compare" object of a checkpoint evaluation ("" = not measured).
std::string write_report(const std::string& run_dir, const std::string& data,
                         const std::string& out, const std::string& model, const std::string& peers,
                         int threads, const std::string& agreement_json) {
  pyb::gil_scoped_release nogil;
  ReportOptions o;
  o.run_dir = run_dir;
  o.data_path = data;
  o.model_path = model;
  o.peers_path = peers;
  o.threads = threads;
  o.quiet = true;
  RunReport r = build_report(o);
  if (!agreement_json.empty()) r.agreement = nlohmann::json::parse(agreement_json);
  write_file_atomic(out, r.to_html());
  return r.to_text();
}

}  // namespace
}  // namespace bytelite::py

PYBIND11_MODULE(_runtime, m) {
  using namespace bytelite;
  using namespace bytelite::py;
  m.doc() =
      "bytelite's int8 runtime (libbytelite, no libtorch): Classifier and Seq2Seq. Use the "
      "package: `import bytelite`.";
  register_error_translator();
  m.attr("__version__") = kVersionString;
  m.def(
      "available_isas",
      []() {
        std::vector<std::string> out;
        for (KernelIsa i : Classifier::available_isas()) out.emplace_back(Classifier::isa_name(i));
        return out;
      },
      "Kernel paths this CPU supports, slowest ('reference') first. Every path gives "
      "bit-identical results.");

  m.def("evaluate_model", &evaluate_model_path, pyb::arg("model"), pyb::arg("data"),
        pyb::arg("threads"), pyb::arg("skip_bad_rows"), pyb::arg("beam_size"), pyb::arg("max_len"),
        pyb::arg("length_penalty"),
        "See bytelite.evaluate (an int8 model file, without libtorch).");

  m.def("write_report", &write_report, pyb::arg("run_dir"), pyb::arg("data"), pyb::arg("out"),
        pyb::arg("model"), pyb::arg("peers"), pyb::arg("threads"), pyb::arg("agreement_json"),
        "See bytelite.report.");

  pyb::class_<PyClassifier>(m, "Classifier",
                            "An int8 text classifier loaded from a model file (.blt).")
      .def(pyb::init<pyb::handle, const std::string&>(), pyb::arg("path"), pyb::arg("isa") = "auto",
           "Loads and validates the model file. Raises ModelFileError (missing, corrupt or "
           "incompatible file), InvalidArgument (not a classifier model, e.g. a seq2seq one), "
           "ConfigError (an isa this CPU lacks).")
      .def("predict", &PyClassifier::predict, pyb::arg("texts"), pyb::arg("threads") = 1,
           "Classifies texts (a sequence of str, encoded as UTF-8, or bytes). Returns (labels, "
           "probabilities): labels[i] is the list of predicted label names of texts[i] (one "
           "for single-label models); probabilities is a float32 numpy array [len(texts), "
           "len(self.labels)] with values in [0, 1]. Runs without the GIL on `threads` (>= 1) "
           "threads; results do not depend on the thread count.")
      .def_property_readonly("labels", &PyClassifier::labels, "Label names, in column order.")
      .def_property_readonly("info", &PyClassifier::info,
                             "What the model file says about itself: the object of `bytelite "
                             "info --json` as a dict.")
      .def_property_readonly("isa", &PyClassifier::isa, "Kernel path in use.");

  pyb::class_<Generation>(m, "Hypothesis", "One beam-search hypothesis (read-only).")
      .def_property_readonly(
          "text", [](const Generation& g) { return decode_replace(g.text); },
          "The generated bytes decoded as UTF-8 (invalid bytes become U+FFFD).")
      .def_property_readonly(
          "bytes", [](const Generation& g) { return pyb::bytes(g.text); },
          "The generated bytes (EOS and other special ids dropped).")
      .def_readonly("ids", &Generation::ids,
                    "Generated ids (byte + 3; the last is EOS = 1 if finished).")
      .def_readonly("score", &Generation::score,
                    "Ranking score: log_prob times the GNMT length normalization; higher is "
                    "better.")
      .def_readonly("log_prob", &Generation::log_prob,
                    "Natural-log probability of ids under the int8 model (<= 0).")
      .def_readonly("finished", &Generation::finished, "Whether the hypothesis ended with EOS.")
      .def("__repr__", [](const Generation& g) {
        return "Hypothesis(text=" + std::string(pyb::repr(decode_replace(g.text))) +
               ", score=" + std::to_string(g.score) + ", log_prob=" + std::to_string(g.log_prob) +
               ", finished=" + (g.finished ? "True" : "False") + ")";
      });

  pyb::class_<PySeq2Seq>(m, "Seq2Seq", "An int8 byte-to-byte model loaded from a model file.")
      .def(pyb::init<pyb::handle, const std::string&>(), pyb::arg("path"), pyb::arg("isa") = "auto",
           "Loads and validates the model file. Raises ModelFileError (missing, corrupt or "
           "incompatible file), InvalidArgument (not a byteseq2seq model), ConfigError (an isa "
           "this CPU lacks).")
      .def("generate", &PySeq2Seq::generate, pyb::arg("texts"), pyb::kw_only(),
           pyb::arg("beam_size") = pyb::none(), pyb::arg("n_best") = 1,
           pyb::arg("max_len") = pyb::none(), pyb::arg("length_penalty") = pyb::none(),
           pyb::arg("threads") = 1,
           "Beam search for each source text. Returns, per text, a list of min(n_best, found) "
           ">= 1 Hypothesis, best first. beam_size in [1, 1024] (None: the model's), n_best in "
           "[1, beam_size], max_len >= 1 output ids (None: the model's max_target), "
           "length_penalty >= 0 (GNMT alpha; None: the model's). Raises InvalidArgument for "
           "values out of range. Runs without the GIL on `threads` threads; results do not "
           "depend on the thread count.")
      .def_property_readonly("info", &PySeq2Seq::info,
                             "The object of `bytelite info --json` as a dict.")
      .def_property_readonly("isa", &PySeq2Seq::isa, "Kernel path in use.");
}
