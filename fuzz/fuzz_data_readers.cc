// libFuzzer target: arbitrary bytes as a TSV, CSV or JSONL data file (the first byte picks the
// format and whether bad rows are skipped). Reading must succeed or throw bytelite::InputError
// (robustness case C9), never crash or hang.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/dataset.h"
#include "core/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* kExt[] = {".tsv", ".csv", ".jsonl"};
  const char* ext = kExt[data[0] % 3];
  const bool multilabel = (data[0] >> 2) & 1;
  std::string path = "/tmp/bytelite_fuzz_" + std::to_string(::getpid()) + ext;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  bytelite::DataSpec spec;
  spec.skip_bad_rows = (data[0] >> 3) & 1;
  if (multilabel) spec.label_columns = {"a", "b"};
  try {
    auto d = bytelite::read_dataset(path, spec);
    for (const auto& e : d.examples) {
      if (!multilabel && (e.label < 0 || e.label >= static_cast<int>(d.label_names.size())))
        __builtin_trap();
    }
    bytelite::read_texts(path, spec);
  } catch (const bytelite::InputError&) {
  } catch (const bytelite::ConfigError&) {
  }
  std::remove(path.c_str());
  return 0;
}
