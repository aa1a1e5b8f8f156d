// Shared by the two extension modules: bytelite errors as Python exceptions, text conversion,
// JSON to Python objects.
#pragma once

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bytelite/errors.h"

namespace bytelite::py {

namespace pyb = pybind11;

/// Raises the exception class `name` of bytelite._errors (pure Python, so both extension
/// modules raise the same classes) with `what` as its message.
inline void set_python_error(const char* name, const char* what) {
  pyb::object cls = pyb::module_::import("bytelite._errors").attr(name);
  PyErr_SetString(cls.ptr(), what);
}

/// Translates every bytelite::Error into its Python class (bytelite._errors), keeping the
/// one-line message.
inline void register_error_translator() {
  pyb::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const InputError& e) {
      set_python_error("InputError", e.what());
    } catch (const ConfigError& e) {
      set_python_error("ConfigError", e.what());
    } catch (const ModelFileError& e) {
      set_python_error("ModelFileError", e.what());
    } catch (const InvalidArgument& e) {
      set_python_error("InvalidArgument", e.what());
    } catch (const TrainingError& e) {
      set_python_error("TrainingError", e.what());
    } catch (const Error& e) {
      set_python_error("Error", e.what());
    }
  });
}

/// A str (encoded as UTF-8) or bytes (as is) as the bytes bytelite reads. `what` names the
/// argument in the TypeError.
inline std::string text_bytes(pyb::handle h, const std::string& what) {
  if (PyBytes_Check(h.ptr())) {
    char* data = nullptr;
    Py_ssize_t n = 0;
    PyBytes_AsStringAndSize(h.ptr(), &data, &n);
    return std::string(data, static_cast<size_t>(n));
  }
  if (PyUnicode_Check(h.ptr())) {
    Py_ssize_t n = 0;
    const char* data = PyUnicode_AsUTF8AndSize(h.ptr(), &n);
    if (data == nullptr) throw pyb::error_already_set();  // e.g. lone surrogates
    return std::string(data, static_cast<size_t>(n));
  }
  throw pyb::type_error(what + ": expected str or bytes, found " +
                        std::string(pyb::str(pyb::type::handle_of(h).attr("__name__"))));
}

/// A path given as str, bytes or os.PathLike (os.fspath), as the bytes of the file name.
inline std::string path_arg(pyb::handle h, const std::string& what) {
  pyb::object p;
  try {
    p = pyb::module_::import("os").attr("fspath")(h);
  } catch (const pyb::error_already_set&) {
    throw pyb::type_error(what + ": expected a path (str or os.PathLike), found " +
                          std::string(pyb::str(pyb::type::handle_of(h).attr("__name__"))));
  }
  return text_bytes(p, what);
}

/// A sequence of str / bytes (not a single str or bytes) as texts.
inline std::vector<std::string> texts_from(pyb::handle seq, const std::string& fn) {
  if (PyUnicode_Check(seq.ptr()) || PyBytes_Check(seq.ptr())) {
    throw pyb::type_error(fn + ": expected a sequence of str or bytes, found a single " +
                          std::string(PyUnicode_Check(seq.ptr()) ? "str" : "bytes") +
                          " (wrap one text in a list)");
  }
  if (!PySequence_Check(seq.ptr())) {
    throw pyb::type_error(fn + ": expected a sequence of str or bytes, found " +
                          std::string(pyb::str(pyb::type::handle_of(seq).attr("__name__"))));
  }
  pyb::sequence s = pyb::reinterpret_borrow<pyb::sequence>(seq);
  std::vector<std::string> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    out.push_back(text_bytes(s[i], fn + ": texts[" + std::to_string(i) + "]"));
  }
  return out;
}

/// A JSON value as Python objects (through the json module: dict, list, str, int, float, bool,
/// None). Invalid UTF-8 in strings is replaced by U+FFFD.
template <typename Json>
pyb::object to_python(const Json& j) {
  const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return pyb::module_::import("json").attr("loads")(pyb::str(s));
}

}  // namespace bytelite::py
