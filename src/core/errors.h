// Exception types used across bytelite. User-caused problems (bad files, flags, data) are
// reported as one-line messages that say what was expected and what was found.
#pragma once

#include <stdexcept>
#include <string>

namespace bytelite {

/// Base class of every error bytelite throws on purpose.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// A data file that cannot be read or parsed (message names file, line, expected, found).
class InputError : public Error {
 public:
  using Error::Error;
};

/// An invalid configuration value or command-line flag.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// A checkpoint or model file that is missing, corrupt or incompatible.
class ModelFileError : public Error {
 public:
  using Error::Error;
};

/// Training diverged (non-finite loss); message names step, loss and learning rate.
class TrainingError : public Error {
 public:
  using Error::Error;
};

}  // namespace bytelite
