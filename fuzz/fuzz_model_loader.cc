// libFuzzer target: arbitrary bytes as a model file. Loading must either succeed or throw
// bytelite::ModelFileError (robustness case C5); a loaded classifier must classify, and a loaded
// seq2seq model must generate (beam 2, at most 8 output ids), without crashing. Seeds: the
// golden model files tests/data/models/v1/*.blt (scripts/fuzz.sh), so that mutations get past
// the header and its checksums into the FlatBuffers payload.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bytelite/classifier.h"
#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "bytelite/seq2seq.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto model = bytelite::Model::from_bytes(bytes, "<fuzz>");
    if (model->info().architecture == "byteseq2seq") {
      bytelite::GenerateOptions o;
      o.beam_size = 2;
      o.n_best = 2;
      o.max_len = model->info().max_target < 8 ? model->info().max_target : 8;
      bytelite::Seq2SeqGenerator gen(model, o);
      auto hyps = gen.generate(bytes.substr(0, 16));
      if (hyps.empty() || hyps.size() > 2) __builtin_trap();
      for (const auto& h : hyps) {
        if (h.ids.size() > static_cast<size_t>(o.max_len)) __builtin_trap();
      }
      return 0;
    }
    bytelite::Classifier c(model);
    auto p = c.classify(bytes.substr(0, 64));
    if (p.probabilities.size() != model->info().labels.size()) __builtin_trap();
  } catch (const bytelite::ModelFileError&) {
  }
  return 0;
}
