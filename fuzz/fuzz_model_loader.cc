// libFuzzer target: arbitrary bytes as a model file. Loading must either succeed or throw
// bytelite::ModelFileError (robustness case C5); a loaded classifier must classify, and a loaded
// seq2seq model must generate (beam 2, at most 8 output ids), without crashing. Seeds: the
// golden model files tests/data/models/v*/*.blt (scripts/fuzz.sh). Each input is loaded twice:
// as it is (the header and checksum checks), and, if it starts with the magic, with the payload
// size and both CRC-32s of the header rewritten to match its bytes, so that mutations of the
// payload get past the checksums into the FlatBuffers verifier and the tensor checks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bytelite/classifier.h"
#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "bytelite/seq2seq.h"

namespace {

// CRC-32 (IEEE, as zlib), written here rather than taken from the code under test.
uint32_t crc32(const char* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= static_cast<uint8_t>(p[i]);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

void put_le(std::string& s, size_t offset, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s[offset + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

void load_and_run(std::string_view bytes) {
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
      return;
    }
    bytelite::Classifier c(model);
    auto p = c.classify(bytes.substr(0, 64));
    if (p.probabilities.size() != model->info().labels.size()) __builtin_trap();
  } catch (const bytelite::ModelFileError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  load_and_run(bytes);
  if (size >= 32 && bytes.substr(0, 8) == "BYTELITE") {
    std::string fixed(bytes);  // header: payload size at 16, CRC-32s at 24 and 28
    put_le(fixed, 16, size - 32, 8);
    put_le(fixed, 24, crc32(fixed.data() + 32, size - 32), 4);
    put_le(fixed, 28, crc32(fixed.data(), 28), 4);
    load_and_run(fixed);
  }
  return 0;
}
