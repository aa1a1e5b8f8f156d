// bytelite._train: training, pretraining and export for Python (links bytelite_train and so
// libtorch). The package (python/bytelite/__init__.py) imports it only when one of its functions
// is called; the documented API is python/bytelite/__init__.pyi and docs/python.md.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bytelite/errors.h"
#include "py_common.h"
#include "train/checkpoint_eval.h"
#include "train/config.h"
#include "train/run.h"

namespace pyb = pybind11;

namespace bytelite::py {
namespace {

// A config given as a dict (validated as a config file would be; errors name "<config dict>")
// or as the path of a JSON file.
ExperimentConfig config_from(pyb::handle config) {
  if (PyDict_Check(config.ptr())) {
    const std::string text = pyb::str(pyb::module_::import("json").attr("dumps")(config));
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw ConfigError(std::string("<config dict>: expected a JSON object, found: ") + e.what());
    }
    return config_from_json(j, "<config dict>");
  }
  if (PyUnicode_Check(config.ptr())) return load_config(config.cast<std::string>());
  throw pyb::type_error("config: expected a dict or the path of a JSON config file (str), found " +
                        std::string(pyb::str(pyb::type::handle_of(config).attr("__name__"))));
}

// The Python callback `progress(record: dict)`, called on the training thread with the GIL
// taken for the call only.
std::function<void(const nlohmann::json&)> progress_fn(pyb::object progress) {
  if (progress.is_none()) return {};
  if (!PyCallable_Check(progress.ptr())) {
    throw pyb::type_error("progress: expected a callable taking one dict, or None, found " +
                          std::string(pyb::str(pyb::type::handle_of(progress).attr("__name__"))));
  }
  // The shared_ptr is copied without the GIL; the object itself is released by the caller's
  // TrainOptions, destroyed with the GIL held.
  auto holder = std::make_shared<pyb::object>(std::move(progress));
  return [holder](const nlohmann::json& record) {
    pyb::gil_scoped_acquire gil;
    (*holder)(to_python(record));
  };
}

pyb::object train(pyb::handle config, const std::string& train_path, const std::string& valid_path,
                  const std::string& out, bool resume, const std::string& init_from,
                  int64_t stop_after, bool verbose, pyb::object progress, long max_steps,
                  int epochs, int threads, long seed, const std::string& qat, bool skip_bad_rows) {
  ExperimentConfig cfg = config_from(config);
  TrainOverrides ov;
  ov.max_steps = max_steps;
  ov.epochs = epochs;
  ov.threads = threads;
  ov.seed = seed;
  ov.qat = qat;
  ov.skip_bad_rows = skip_bad_rows;
  apply_train_overrides(cfg, ov);
  if (stop_after < 0) {
    throw ConfigError("stop_after: expected an integer >= 0, found " + std::to_string(stop_after));
  }
  TrainOptions o;
  o.train_path = train_path;
  o.valid_path = valid_path;
  o.out_dir = out;
  o.resume = resume;
  o.stop_after = stop_after;
  o.verbose = verbose;
  o.on_eval = progress_fn(std::move(progress));
  RunSummary r;
  {
    pyb::gil_scoped_release nogil;
    r = run_train(cfg, o, init_from);
  }
  return to_python(r.summary);
}

pyb::object pretrain(pyb::handle config, const std::vector<std::string>& corpus,
                     const std::string& out, bool resume, long max_steps, bool verbose,
                     pyb::object progress, long steps, int threads, long seed,
                     const std::string& heldout, const std::string& init_from) {
  ExperimentConfig cfg = config_from(config);
  PretrainOverrides ov;
  ov.steps = steps;
  ov.threads = threads;
  ov.seed = seed;
  ov.heldout = heldout;
  apply_pretrain_overrides(cfg, ov);
  if (max_steps < 0) {
    throw ConfigError("max_steps: expected an integer >= 0, found " + std::to_string(max_steps));
  }
  if (corpus.empty()) throw ConfigError("corpus: expected at least one file, found none");
  PretrainOptions o;
  o.corpus = corpus;
  o.out_dir = out;
  o.resume = resume;
  o.init_from = init_from;
  o.max_steps = max_steps;
  o.verbose = verbose;
  o.on_eval = progress_fn(std::move(progress));
  RunSummary r;
  {
    pyb::gil_scoped_release nogil;
    r = run_pretrain(cfg, o);
  }
  return to_python(r.summary);
}

pyb::object export_model(const std::string& checkpoint, const std::string& out) {
  nlohmann::json s;
  {
    pyb::gil_scoped_release nogil;
    s = export_any(checkpoint, out);
  }
  return to_python(s);
}

// bytelite.evaluate for a checkpoint, optionally with its int8 model: the object `bytelite eval
// --checkpoint C [--model M] --json` prints.
pyb::object evaluate(const std::string& checkpoint, const std::string& model,
                     const std::string& data, int threads, int batch_size, bool skip_bad_rows) {
  if (threads < 1 || batch_size < 1) {
    throw InvalidArgument(std::string("evaluate: ") + (threads < 1 ? "threads" : "batch_size") +
                          ": expected an integer >= 1, found " +
                          std::to_string(threads < 1 ? threads : batch_size));
  }
  std::string json;
  {
    pyb::gil_scoped_release nogil;
    CheckpointEvalOptions o;
    o.checkpoint = checkpoint;
    if (!model.empty()) o.model = Model::load(model);
    o.model_path = model;
    o.data_path = data;
    o.threads = threads;
    o.batch_size = batch_size;
    o.skip_bad_rows = skip_bad_rows;
    json = evaluate_checkpoint(o).to_json();
  }
  return pyb::module_::import("json").attr("loads")(pyb::str(json));
}

}  // namespace
}  // namespace bytelite::py

PYBIND11_MODULE(_train, m) {
  using namespace bytelite::py;
  m.doc() =
      "bytelite's training side (libtorch): train, pretrain, export, evaluate. Use the package "
      "functions bytelite.train / pretrain / export / evaluate, which check their arguments.";
  register_error_translator();
  m.def("train", &train, pyb::arg("config"), pyb::arg("train"), pyb::arg("valid"), pyb::arg("out"),
        pyb::arg("resume"), pyb::arg("init_from"), pyb::arg("stop_after"), pyb::arg("verbose"),
        pyb::arg("progress"), pyb::arg("max_steps"), pyb::arg("epochs"), pyb::arg("threads"),
        pyb::arg("seed"), pyb::arg("qat"), pyb::arg("skip_bad_rows"), "See bytelite.train.");
  m.def("pretrain", &pretrain, pyb::arg("config"), pyb::arg("corpus"), pyb::arg("out"),
        pyb::arg("resume"), pyb::arg("max_steps"), pyb::arg("verbose"), pyb::arg("progress"),
        pyb::arg("steps"), pyb::arg("threads"), pyb::arg("seed"), pyb::arg("heldout"),
        pyb::arg("init_from"), "See bytelite.pretrain.");
  m.def("evaluate", &evaluate, pyb::arg("checkpoint"), pyb::arg("model"), pyb::arg("data"),
        pyb::arg("threads"), pyb::arg("batch_size"), pyb::arg("skip_bad_rows"),
        "See bytelite.evaluate (a checkpoint, libtorch).");
  m.def("export", &export_model, pyb::arg("checkpoint"), pyb::arg("out"), "See bytelite.export.");
}
