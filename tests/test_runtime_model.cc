// The runtime's model files and library API on exported models (random QAT weights with observed
// activation ranges: fast, no training):
//  - C5: truncated, random, empty, newer-version and bit-flipped files give a one-line
//    ModelFileError naming what was expected and found; CRC-valid corruptions never crash;
//  - C6: reference and optimized kernel paths give bit-identical outputs on whole models;
//  - C1-C3 at the library level: any bytes are one example with valid probabilities;
//  - classify_batch is identical for every thread count; model info round-trips;
//  - single-label (2 and 3 labels) and multi-label models agree with the libtorch QAT forward.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <set>

#include "bytelite/classifier.h"
#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "bytelite_model_generated.h"
#include "runtime/crc32.h"
#include "runtime/kernel_isa.h"
#include "runtime/model_file.h"
#include "runtime/models/classifier_net.h"
#include "runtime_test_util.h"

namespace bytelite {
namespace {

using testutil::random_qat_checkpoint;
using testutil::small_config;

const std::string& model_bytes() {
  static const std::string bytes = [] {
    auto lc = random_qat_checkpoint(small_config(16, 2, 96), 7);
    return export_model_bytes(lc, "random.ckpt");
  }();
  return bytes;
}

std::string load_error(const std::string& bytes) {
  try {
    Model::from_bytes(bytes, "m.blt");
  } catch (const ModelFileError& e) {
    return e.what();
  }
  return "";
}

void put_u32(std::string& s, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[off + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Recomputes both checksums, as a crafted (not merely corrupted) file would have them.
std::string fix_checksums(std::string s) {
  put_u32(s, 24, rt::crc32(s.data() + 32, s.size() - 32));
  put_u32(s, 28, rt::crc32(s.data(), 28));
  return s;
}

void expect_one_line_error(const std::string& msg, const std::string& what) {
  ASSERT_FALSE(msg.empty()) << what << ": loaded without error";
  EXPECT_EQ(msg.rfind("m.blt: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("expected"), std::string::npos) << msg;
  EXPECT_NE(msg.find("found"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(ModelFile, ValidFileLoadsFromBytesAndFromDisk) {
  const std::string& bytes = model_bytes();
  auto m = Model::from_bytes(bytes, "m.blt");
  EXPECT_EQ(m->info().format_version, kModelFormatVersion);
  EXPECT_EQ(m->info().file_bytes, static_cast<int64_t>(bytes.size()));
  auto dir = testutil::fresh_dir("disk");
  testutil::write_file(dir + "/m.blt", bytes);
  auto d = Model::load(dir + "/m.blt");
  EXPECT_EQ(d->info().checksum, m->info().checksum);
  Classifier a(m), b(d);
  EXPECT_EQ(a.classify("same model").probabilities, b.classify("same model").probabilities);
}

TEST(ModelFile, EmptyFile) {
  const std::string msg = load_error("");
  expect_one_line_error(msg, "empty");
  EXPECT_NE(msg.find("empty file (0 bytes)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
}

TEST(ModelFile, RandomFiles) {
  std::mt19937 rng(11);
  for (size_t n : {1u, 7u, 8u, 31u, 32u, 33u, 1000u, 100000u}) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    const std::string msg = load_error(s);
    expect_one_line_error(msg, "random " + std::to_string(n));
    EXPECT_NE(msg.find("magic: expected \"BYTELITE\""), std::string::npos) << msg;
  }
  // A training checkpoint (zip archive) gets a hint.
  EXPECT_NE(load_error(std::string("PK\x03\x04", 4) + std::string(100, 'x')).find("--checkpoint"),
            std::string::npos);
}

TEST(ModelFile, TruncatedAtEveryKindOfLength) {
  const std::string& bytes = model_bytes();
  for (size_t n : {size_t{1}, size_t{7}, size_t{8}, size_t{11}, size_t{12}, size_t{20}, size_t{31},
                   size_t{32}, size_t{33}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string msg = load_error(bytes.substr(0, n));
    expect_one_line_error(msg, "truncated to " + std::to_string(n));
    if (n >= 8) {
      EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
      EXPECT_NE(msg.find("found " + std::to_string(n) + " bytes"), std::string::npos) << msg;
    }
  }
  // Trailing bytes are an error too.
  const std::string msg = load_error(bytes + "xyz");
  expect_one_line_error(msg, "trailing");
  EXPECT_NE(msg.find("trailing bytes"), std::string::npos) << msg;
}

TEST(ModelFile, NewerFormatVersion) {
  std::string s = model_bytes();
  put_u32(s, 8, kModelFormatVersion + 1);
  s = fix_checksums(s);
  const std::string msg = load_error(s);
  expect_one_line_error(msg, "newer version");
  EXPECT_EQ(kModelFormatVersion, 2u);
  EXPECT_NE(msg.find("format version: expected 1..2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("found 3 (written by a newer bytelite"), std::string::npos) << msg;
}

// Format v2 (docs/model_file.md): the export names the architecture with the two enums and
// stores the encoder as its EncoderTables member, with none of the v1 encoder fields; the same
// payload under a version-1 header is refused (v1 needs the architecture string).
TEST(ModelFile, FormatV2StoresTheEncoderAsAUnion) {
  const std::string& bytes = model_bytes();
  ASSERT_GT(bytes.size(), 32u);
  const std::string payload = bytes.substr(32);
  const fb::Model* m = fb::GetModel(payload.data());
  EXPECT_EQ(m->model_type(), fb::ModelType::Classifier);
  EXPECT_EQ(m->encoder_kind(), fb::EncoderKind::Qrnn);
  ASSERT_EQ(m->encoder_type(), fb::EncoderTables::QrnnEncoder);
  const fb::QrnnEncoder* e = m->encoder_as_QrnnEncoder();
  ASSERT_NE(e, nullptr);
  ASSERT_NE(e->config(), nullptr);
  ASSERT_NE(e->tensors(), nullptr);
  EXPECT_NE(e->tensors()->head(), nullptr);  // a classifier's pool and head are in `tensors`
  EXPECT_EQ(e->config()->qrnn_layers(), 2);
  EXPECT_EQ(m->architecture(), nullptr);
  EXPECT_EQ(m->config(), nullptr);
  EXPECT_EQ(m->byteqrnn(), nullptr);
  EXPECT_EQ(m->transformer(), nullptr);
  EXPECT_EQ(m->transformer_config(), nullptr);
  EXPECT_EQ(Model::from_bytes(bytes, "m.blt")->info().architecture, "byteqrnn");
  std::string v1 = bytes;
  put_u32(v1, 8, 1);
  const std::string msg = load_error(fix_checksums(v1));
  expect_one_line_error(msg, "v2 payload in a v1 file");
  EXPECT_NE(msg.find("architecture: expected"), std::string::npos) << msg;
}

TEST(ModelFile, HugePayloadSizeInHeaderIsASizeErrorWithoutAllocation) {
  std::string s = model_bytes();
  put_u32(s, 16, 0xFFFFFFF0u);
  put_u32(s, 20, 0x7FFFFFFFu);
  s = fix_checksums(s);
  const std::string msg = load_error(s);
  expect_one_line_error(msg, "huge size");
  EXPECT_NE(msg.find("size: expected"), std::string::npos) << msg;
}

TEST(ModelFile, EveryFlippedHeaderByteAndSampledPayloadBytesAreDetected) {
  const std::string& bytes = model_bytes();
  std::vector<size_t> positions;
  for (size_t i = 0; i < 32; ++i) positions.push_back(i);
  for (size_t i = 32; i < bytes.size(); i += 61) positions.push_back(i);
  positions.push_back(bytes.size() - 1);
  for (size_t pos : positions) {
    for (int bit : {0, 7}) {
      std::string s = bytes;
      s[pos] = static_cast<char>(s[pos] ^ (1 << bit));
      const std::string msg = load_error(s);
      expect_one_line_error(msg, "flip at " + std::to_string(pos));
      const bool named =
          msg.find("checksum") != std::string::npos || msg.find("magic") != std::string::npos ||
          msg.find("version") != std::string::npos || msg.find("size") != std::string::npos;
      EXPECT_TRUE(named) << msg;
      if (pos >= 32) {
        EXPECT_NE(msg.find("payload checksum"), std::string::npos) << msg;
      }
    }
  }
}

// A crafted file (valid checksums, corrupted payload) must be rejected by the verifier and the
// shape/range checks, or load and classify without crashing.
TEST(ModelFile, CorruptedPayloadWithValidChecksumsNeverCrashes) {
  const std::string& bytes = model_bytes();
  std::mt19937 rng(12);
  std::uniform_int_distribution<size_t> pos(32, bytes.size() - 1);
  int rejected = 0, loaded = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    std::string s = bytes;
    const int flips = 1 + trial % 4;
    for (int f = 0; f < flips; ++f) s[pos(rng)] = static_cast<char>(rng());
    s = fix_checksums(s);
    try {
      auto m = Model::from_bytes(s, "m.blt");
      Classifier c(m);
      for (const char* text : {"", "x", "a longer text with some words in it"}) {
        auto p = c.classify(text);
        ASSERT_EQ(p.probabilities.size(), m->info().labels.size());
        for (float v : p.probabilities) ASSERT_TRUE(std::isfinite(v) && v >= 0 && v <= 1);
      }
      ++loaded;
    } catch (const ModelFileError& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      ++rejected;
    }
  }
  std::printf("crafted corruptions: %d rejected, %d loaded and ran\n", rejected, loaded);
  EXPECT_GT(rejected, 0);
}

// The same for the projection-input encoder (golden tests/data/models/v2/pqrnn.blt): its
// projection settings and bottleneck input params are read from the file, so corrupted values
// must be rejected or run without a crash.
TEST(ModelFile, CorruptedPqrnnPayloadWithValidChecksumsNeverCrashes) {
  const std::string bytes =
      testutil::read_all(testutil::source_path("tests/data/models/v2/pqrnn.blt"));
  ASSERT_GT(bytes.size(), 1000u);
  ASSERT_EQ(Model::from_bytes(bytes, "pqrnn.blt")->info().encoder, "pqrnn");
  std::mt19937 rng(13);
  std::uniform_int_distribution<size_t> pos(32, bytes.size() - 1);
  int rejected = 0, loaded = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    std::string s = bytes;
    const int flips = 1 + trial % 4;
    for (int f = 0; f < flips; ++f) s[pos(rng)] = static_cast<char>(rng());
    s = fix_checksums(s);
    try {
      auto m = Model::from_bytes(s, "m.blt");
      Classifier c(m);
      for (const char* text : {"", "x", "a longer text with some words in it and more words"}) {
        auto p = c.classify(text);
        ASSERT_EQ(p.probabilities.size(), m->info().labels.size());
        for (float v : p.probabilities) ASSERT_TRUE(std::isfinite(v) && v >= 0 && v <= 1);
      }
      ++loaded;
    } catch (const ModelFileError& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      ++rejected;
    }
  }
  std::printf("crafted pqrnn corruptions: %d rejected, %d loaded and ran\n", rejected, loaded);
  EXPECT_GT(rejected, 0);
  EXPECT_GT(loaded, 0);
}

TEST(ModelFile, MissingFileAndDirectory) {
  auto dir = testutil::fresh_dir("missing");
  for (const std::string& p : {dir + "/nope.blt", dir}) {
    std::string msg;
    try {
      Model::load(p);
    } catch (const ModelFileError& e) {
      msg = e.what();
    }
    EXPECT_NE(msg.find(p + ": "), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected"), std::string::npos) << msg;
  }
}

TEST(ModelInfo, DescribesTheExportedCheckpoint) {
  auto cfg = small_config(16, 2, 96);
  auto lc = random_qat_checkpoint(cfg, 7);
  auto m = Model::from_bytes(export_model_bytes(lc, "/x/best.ckpt"));
  const ModelInfo& i = m->info();
  EXPECT_EQ(i.architecture, "byteqrnn");
  EXPECT_EQ(i.producer, std::string("bytelite ") + kVersionString);
  EXPECT_EQ(i.labels, (std::vector<std::string>{"neg", "pos"}));
  EXPECT_FALSE(i.multilabel);
  EXPECT_EQ(i.thresholds, std::vector<float>{0.4f});
  EXPECT_EQ(i.max_length, 96);
  EXPECT_EQ(i.embedding_size, 16);
  EXPECT_EQ(i.qrnn_layers, 2);
  EXPECT_EQ(i.gbst_max_block_width, cfg.model.gbst_max_block_width);
  EXPECT_EQ(i.source_checkpoint, "/x/best.ckpt");
  EXPECT_EQ(i.trained_parameters, lc.model->parameter_count());
  EXPECT_EQ(i.float_bytes, 4 * i.parameter_count);
  EXPECT_EQ(i.text_column, "text");
  EXPECT_EQ(i.label_columns, std::vector<std::string>{"label"});
  // int8 weights + embedding + int32 biases, counted from the training model's shapes.
  int64_t expect = 0;
  for (const auto& p : lc.model->named_parameters()) {
    const auto& n = p.key();
    if (n.find("bn_") != std::string::npos) continue;  // folded into weight and bias
    expect += p.value().numel();
    if (n.size() > 7 && n.substr(n.size() - 7) == ".weight" &&
        !lc.model->named_parameters().contains(n.substr(0, n.size() - 7) + ".bias")) {
      expect += p.value().size(0);  // folded batch norm becomes a bias
    }
  }
  EXPECT_EQ(i.parameter_count, expect);
}

TEST(ModelExport, RefusesACheckpointTrainedWithoutQat) {
  auto cfg = small_config(16, 1, 64);
  auto lc = random_qat_checkpoint(cfg, 7);
  lc.meta.config.quantization.enabled = false;
  try {
    export_model_bytes(lc, "float.ckpt");
    FAIL() << "exported a float checkpoint";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("quantization-aware"), std::string::npos) << e.what();
  }
}

std::vector<std::string> awkward_texts() {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  return {"",
          " ",
          "   \t ",
          "\xff\xfe\xc3\x28",
          std::string("nul\0byte", 8),
          "\xed\xa0\x80",
          "line one\nline two",
          all,
          std::string(5000, 'a'),
          "you are great",
          "@user this is a normal tweet with #hashtags and emoji \xf0\x9f\x98\x82"};
}

// C6 on whole models: every kernel path gives bit-identical logits and probabilities.
TEST(RuntimeModel, KernelPathsAreBitIdentical) {
  auto isas = Classifier::available_isas();
  if (isas.size() < 2) GTEST_SKIP() << "only the reference kernels on this CPU";
  auto m = Model::from_bytes(model_bytes());
  auto texts = testutil::olid_texts("data/olid/test.tsv", 150);
  for (const auto& t : awkward_texts()) texts.push_back(t);
  Classifier ref(m, {KernelIsa::kReference});
  for (KernelIsa isa : isas) {
    Classifier c(m, {isa});
    EXPECT_EQ(c.isa(), isa);
    for (const auto& t : texts) {
      ASSERT_EQ(ref.logits(ref.encode(t)), c.logits(c.encode(t))) << Classifier::isa_name(isa);
      ASSERT_EQ(ref.classify(t).probabilities, c.classify(t).probabilities);
    }
  }
}

TEST(RuntimeModel, AnyBytesAreOneExampleWithValidProbabilities) {
  Classifier c(Model::from_bytes(model_bytes()));
  for (const auto& t : awkward_texts()) {
    auto p = c.classify(t);
    ASSERT_EQ(p.probabilities.size(), 2u);
    double sum = 0;
    for (float v : p.probabilities) {
      EXPECT_GE(v, 0.0f);
      EXPECT_LE(v, 1.0f);
      sum += v;
    }
    EXPECT_NEAR(sum, 1.0, 1e-6);
    ASSERT_EQ(p.labels.size(), 1u);
    EXPECT_EQ(p.labels, c.decide(p.probabilities, c.info().thresholds));
    EXPECT_EQ(c.classify(t).probabilities, p.probabilities) << "not deterministic";
  }
  EXPECT_EQ(c.encode(""), std::vector<int32_t>{kPadId});
  EXPECT_EQ(c.encode("line one\nline two").size(), 17u);
  EXPECT_EQ(c.encode(std::string(5000, 'a')).size(), 96u);  // max_length
}

TEST(RuntimeModel, BatchResultsDoNotDependOnTheThreadCount) {
  Classifier c(Model::from_bytes(model_bytes()));
  auto texts = testutil::olid_texts("data/olid/test.tsv", 200);
  for (const auto& t : awkward_texts()) texts.push_back(t);
  std::vector<std::vector<float>> want;
  for (const auto& t : texts) want.push_back(c.classify(t).probabilities);
  for (int threads : {1, 2, 3, 8}) {
    auto got = c.classify_batch(texts, threads);
    ASSERT_EQ(got.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      ASSERT_EQ(got[i].probabilities, want[i]) << "threads " << threads << " text " << i;
    }
  }
  EXPECT_TRUE(c.classify_batch({}, 4).empty());
}

// Batched inference on the main job's shapes (configs/byteqrnn_olid.json: 64 channels, GBST conv
// 5 and widths 1-4, 2 QRNN layers, [attention; max] pooling, max_length 280; random QAT weights
// with observed ranges): rt::classifier_forward_batch gives every text exactly the int8 logits
// of rt::classifier_forward on that text alone, for batches of 2 to all texts, on every kernel
// path; classify_batch equals classify for every thread count and batch size.
TEST(RuntimeModel, BatchedForwardIsBitIdenticalOnTheMainJobShapes) {
  const ExperimentConfig cfg = load_config(testutil::source_path("configs/byteqrnn_olid.json"));
  ASSERT_EQ(cfg.model.qrnn_layers, 2);
  auto lc = random_qat_checkpoint(cfg, 11);
  auto m = Model::from_bytes(export_model_bytes(lc, "mainjob.ckpt"));
  const rt::ClassifierNet& net = m->impl().net;
  auto texts = testutil::olid_texts("data/olid/test.tsv", 120);
  for (const auto& t : awkward_texts()) texts.push_back(t);
  const int64_t C = net.head.w.n;
  for (KernelIsa isa : Classifier::available_isas()) {
    SCOPED_TRACE(Classifier::isa_name(isa));
    Classifier clf(m, {isa});
    const rt::Isa risa = rt::to_rt_isa(isa);
    std::vector<int32_t> all_ids;
    std::vector<int64_t> lens;
    std::vector<int8_t> want;
    rt::Workspace ws;
    for (const auto& t : texts) {
      const auto ids = clf.encode(t);
      all_ids.insert(all_ids.end(), ids.begin(), ids.end());
      lens.push_back(static_cast<int64_t>(ids.size()));
      want.resize(want.size() + C);
      rt::classifier_forward(rt::OpContext{risa, ws.ops}, net, ids.data(),
                             static_cast<int64_t>(ids.size()), ws, want.data() + want.size() - C);
    }
    std::set<int> distinct(want.begin(), want.end());
    EXPECT_GT(distinct.size(), 5u) << "the logits hardly vary";
    const int64_t N = static_cast<int64_t>(texts.size());
    for (int64_t batch : {int64_t{2}, int64_t{13}, N}) {
      std::vector<int8_t> got(want.size(), 77);
      rt::Workspace wb;
      int64_t id0 = 0;
      for (int64_t lo = 0; lo < N; lo += batch) {
        const int64_t n = std::min(batch, N - lo);
        rt::classifier_forward_batch(rt::OpContext{risa, wb.ops}, net, all_ids.data() + id0,
                                     lens.data() + lo, n, wb, got.data() + lo * C);
        for (int64_t i = lo; i < lo + n; ++i) id0 += lens[i];
      }
      ASSERT_EQ(got, want) << "batch " << batch;
    }
    std::vector<Prediction> one;
    for (const auto& t : texts) one.push_back(clf.classify(t));
    for (const auto& [batch, threads] : {std::pair{1, 2}, std::pair{9, 2}, std::pair{32, 1}}) {
      {
        auto got = clf.classify_batch(texts, threads, batch);
        for (size_t i = 0; i < texts.size(); ++i) {
          ASSERT_EQ(got[i].probabilities, one[i].probabilities) << batch << " " << threads;
          ASSERT_EQ(got[i].labels, one[i].labels);
        }
      }
    }
  }
}

TEST(RuntimeModel, RejectsBadTokenIds) {
  Classifier c(Model::from_bytes(model_bytes()));
  EXPECT_THROW(c.logits({}), InputError);
  EXPECT_THROW(c.logits({3, 259}), InputError);
  EXPECT_THROW(c.logits({-1}), InputError);
  EXPECT_EQ(c.logits({0, 1, 2, 258}).size(), 2u);
}

// The runtime against the libtorch QAT forward for label layouts other than the binary case.
void expect_agrees_with_libtorch(std::vector<std::string> labels, bool multilabel) {
  auto lc = random_qat_checkpoint(small_config(16, 2, 96), 21, labels, multilabel);
  Classifier c(Model::from_bytes(export_model_bytes(lc, "x.ckpt")));
  auto texts = testutil::olid_texts("data/olid/test.tsv", 200);
  ByteTokenizer tok(96);
  std::vector<std::vector<int32_t>> seqs;
  for (const auto& t : texts) seqs.push_back(encode_text(tok, t));
  auto want = predict_probabilities(lc.model, multilabel, seqs);
  const size_t C = labels.size();
  double max_d = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto p = c.classify(texts[i]);
    ASSERT_EQ(p.probabilities.size(), C);
    for (size_t k = 0; k < C; ++k)
      max_d = std::max(max_d, std::fabs(static_cast<double>(p.probabilities[k]) - want[i * C + k]));
  }
  std::printf("%zu labels%s: max |dp| %.5f\n", C, multilabel ? " (multi-label)" : "", max_d);
  EXPECT_LE(max_d, 0.01);
}

TEST(RuntimeModel, ThreeClassSoftmaxAgreesWithLibtorch) {
  expect_agrees_with_libtorch({"a", "b", "c"}, false);
}

TEST(RuntimeModel, MultiLabelSigmoidAgreesWithLibtorch) {
  expect_agrees_with_libtorch({"x", "y", "z", "w"}, true);
}

}  // namespace
}  // namespace bytelite
