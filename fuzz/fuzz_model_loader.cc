// libFuzzer target: arbitrary bytes as a model file. Loading must either succeed or throw
// bytelite::ModelFileError (robustness case C5); a loaded model must classify without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bytelite/classifier.h"
#include "bytelite/errors.h"
#include "bytelite/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto model = bytelite::Model::from_bytes(bytes, "<fuzz>");
    bytelite::Classifier c(model);
    auto p = c.classify(bytes.substr(0, 64));
    if (p.probabilities.size() != model->info().labels.size()) __builtin_trap();
  } catch (const bytelite::ModelFileError&) {
  }
  return 0;
}
