// golden_model_dump MODEL.blt: prints what the runtime computes on a golden model file
// (tests/data/models/README.md) for a fixed set of inputs, in the line format that
// tests/test_golden_models.cc reads back. scripts/make_golden_models.sh stores the output as
// NAME.expected beside each golden file (tests/data/models/v1/, v2/) when it makes them; the test
// then checks that every later runtime gives the same values, bit for bit. Links only
// libbytelite.
//
// Format (one record per line, fields separated by one space; '#' starts a comment):
//   info KEY VALUE...                 ModelInfo fields (strings: the rest of the line; lists:
//                                     one field per element; floats: their IEEE-754 bits in hex)
//   logit_params SCALE_BITS ZERO      classifiers: Classifier::logit_params()
//   input HEX                         the input's bytes in hex ("-" for the empty text); the
//                                     lines below, up to the next "input", belong to it
//   ids ID...                         Classifier / Seq2SeqGenerator::encode
//   logits Q...                       classifiers: int8 logits of those ids
//   probabilities BITS...             classifiers: Prediction::probabilities (float bits)
//   labels L...                       classifiers: Prediction::labels
//   hypothesis SCORE LOGP FIN ID...   seq2seq: one per n-best hypothesis, best first; SCORE and
//                                     LOGP are the doubles' bits in hex, FIN 1 if finished
// Seq2seq models are decoded with their stored beam size (4 here) and n_best = beam size.
// Exit 1 with a one-line message if the file does not load.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "bytelite/classifier.h"
#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "bytelite/seq2seq.h"
#include "golden_info_fields.h"

namespace {

using bytelite::ModelInfo;

std::string hex(const std::string& s) {
  if (s.empty()) return "-";
  std::string out;
  char buf[3];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

std::string float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08" PRIx32, u);
  return buf;
}

std::string double_bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, u);
  return buf;
}

// Printable ASCII as is, every other byte as \xNN (for the readable comments).
std::string escaped(const std::string& s) {
  std::string out;
  char buf[8];
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return "\"" + out + "\"";
}

template <class T>
std::string join(const std::vector<T>& v) {
  std::string out;
  for (const auto& x : v) out += " " + std::to_string(x);
  return out;
}

// The fixed inputs. Classifiers (max_length 64 bytes): an empty text, ordinary tweets, invalid
// UTF-8 with NUL bytes, multi-byte UTF-8 (2-, 3- and 4-byte sequences), a newline, and a text of
// 211 bytes (longer than max_length; upper case, which the tokenizer lowercases).
std::vector<std::string> classifier_inputs() {
  using namespace std::string_literals;
  return {""s,
          "@user you are a disgrace and a liar"s,
          "@user thank you so much, have a wonderful day!"s,
          "\xff\xfe\x00 bad \x00utf8 \xc3\x28 \xed\xa0\x80 \x80\x80"s,
          "\xc3\x87"
          "a va? \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x99\x82\xf0\x9f\x91\x8d"
          " na\xc3\xafve"s,
          "line one\nline two\r\n"s,
          "THIS IS A VERY LONG TWEET THAT GOES ON AND ON, MUCH LONGER THAN THE SIXTY-FOUR BYTES "
          "THE GOLDEN MODELS READ, SO THE TOKENIZER MUST CUT IT AT MAX_LENGTH AND NEVER LOOK AT "
          "THE REST OF THIS TEXT AT ALL: @USER #MAGA"s};
}

// Seq2seq (max_source 12 bytes): words, an empty source, invalid UTF-8 with a NUL byte,
// multi-byte UTF-8, and a word of 20 bytes (longer than max_source).
std::vector<std::string> seq2seq_inputs() {
  using namespace std::string_literals;
  return {"HELLO"s,
          "BYTELITE"s,
          ""s,
          "\xff\x00"
          "A\xfe"s,
          "\xc3\x89"
          "COLE\xe6\x97\xa5"s,
          "SUPERCALIFRAGILIS"s,
          "A"s,
          "QUANTIZATION"s};
}

void print_info(const ModelInfo& m) {
  std::printf("info format_version %u\n", m.format_version);
  std::printf("info checksum %08" PRIx32 "\n", m.checksum);
  std::printf("info file_bytes %" PRId64 "\n", m.file_bytes);
  std::printf("info producer %s\n", m.producer.c_str());
  std::printf("info architecture %s\n", m.architecture.c_str());
  std::printf("info encoder %s\n", m.encoder.c_str());
  std::printf("info labels");
  for (const auto& l : m.labels) std::printf(" %s", l.c_str());
  std::printf("\ninfo multilabel %d\n", m.multilabel ? 1 : 0);
  std::printf("info thresholds");
  for (float t : m.thresholds) std::printf(" %s", float_bits(t).c_str());
  std::printf("\ninfo pooling %s\n", m.pooling.c_str());
  std::printf("info lowercase_ascii %d\n", m.lowercase_ascii ? 1 : 0);
  std::printf("info max_length %d\n", m.max_length);
  std::printf("info text_column %s\n", m.text_column.c_str());
  std::printf("info label_columns");
  for (const auto& l : m.label_columns) std::printf(" %s", l.c_str());
  std::printf("\n");
  const auto ints = bytelite::golden::info_int_fields(m);
  for (const auto& [k, v] : ints) std::printf("info %s %" PRId64 "\n", k, v);
  if (m.projection_feature_size > 0) {
    for (const auto& [k, v] : bytelite::golden::info_projection_fields(m))
      std::printf("info %s %" PRId64 "\n", k, v);
  }
  std::printf("info pool_windows%s\n", join(m.pool_windows).c_str());
  std::printf("info attention_scale %s\n", m.attention_scale.c_str());
  std::printf("info layer_norm %s\n", m.layer_norm.c_str());
  std::printf("info length_penalty %s\n", float_bits(m.length_penalty).c_str());
  std::printf("info source_checkpoint %s\n", m.source_checkpoint.c_str());
}

int run(const std::string& path) {
  auto model = bytelite::Model::load(path);
  const ModelInfo& m = model->info();
  std::printf("# golden outputs of %s (tests/golden_model_dump.cc; format in its header)\n",
              path.c_str());
  print_info(m);
  if (m.architecture == "byteseq2seq") {
    bytelite::GenerateOptions o;
    o.n_best = m.beam_size;
    bytelite::Seq2SeqGenerator gen(model, o);
    for (const std::string& s : seq2seq_inputs()) {
      std::printf("# text %s\ninput %s\n", escaped(s).c_str(), hex(s).c_str());
      std::printf("ids%s\n", join(gen.encode(s)).c_str());
      for (const auto& h : gen.generate(s)) {
        std::printf("hypothesis %s %s %d%s\n", double_bits(h.score).c_str(),
                    double_bits(h.log_prob).c_str(), h.finished ? 1 : 0, join(h.ids).c_str());
        std::printf("# text %s score %.6f log_prob %.6f\n", escaped(h.text).c_str(), h.score,
                    h.log_prob);
      }
    }
    return 0;
  }
  bytelite::Classifier clf(model);
  const auto [scale, zero] = clf.logit_params();
  std::printf("logit_params %s %d\n", float_bits(scale).c_str(), zero);
  for (const std::string& s : classifier_inputs()) {
    std::printf("# text %s\ninput %s\n", escaped(s).c_str(), hex(s).c_str());
    const auto ids = clf.encode(s);
    std::printf("ids%s\n", join(ids).c_str());
    const auto q = clf.logits(ids);
    std::printf("logits%s\n", join(std::vector<int>(q.begin(), q.end())).c_str());
    const bytelite::Prediction p = clf.classify(s);
    std::printf("probabilities");
    for (float f : p.probabilities) std::printf(" %s", float_bits(f).c_str());
    std::printf("\n# probabilities");
    for (float f : p.probabilities) std::printf(" %.9g", f);
    std::printf("\nlabels%s\n", join(p.labels).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: golden_model_dump MODEL.blt (expected 1 argument, found %d)\n",
                 argc - 1);
    return 1;
  }
  try {
    return run(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "golden_model_dump: %s\n", e.what());
    return 1;
  }
}
