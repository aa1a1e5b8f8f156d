// Exception types of bytelite (runtime and training). Every error bytelite throws on purpose is
// a bytelite::Error whose one-line message says what was expected and what was found, e.g.
//   "model.blt: checksum mismatch: expected crc32 0x1234abcd (stored in the header), found
//    0x9f00e1c2 (computed over the 81234-byte payload); the file is corrupt".
// The classes have out-of-line destructors (src/runtime/errors.cc), so their type information
// lives in libbytelite and catching them works across shared-library boundaries.
#pragma once

#include <stdexcept>
#include <string>

namespace bytelite {

/// Base class of every error bytelite throws on purpose.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  ~Error() override;
};

/// A data file that cannot be read or parsed (message names file, line, expected, found).
class InputError : public Error {
 public:
  using Error::Error;
  ~InputError() override;
};

/// An invalid configuration value or command-line flag.
class ConfigError : public Error {
 public:
  using Error::Error;
  ~ConfigError() override;
};

/// A checkpoint or model file that is missing, corrupt or incompatible (message names the file
/// and what was expected and found: magic, format version, checksum, size, tensor shape).
class ModelFileError : public Error {
 public:
  using Error::Error;
  ~ModelFileError() override;
};

/// An invalid argument passed to a library function, or a value returned by a user callback that
/// breaks its contract (message names the argument, the expected range and the value found, e.g.
/// "beam search: n_best must be in [1, beam_size = 4], found 5").
class InvalidArgument : public Error {
 public:
  using Error::Error;
  ~InvalidArgument() override;
};

/// Training diverged (non-finite loss); message names step, loss and learning rate.
class TrainingError : public Error {
 public:
  using Error::Error;
  ~TrainingError() override;
};

}  // namespace bytelite
