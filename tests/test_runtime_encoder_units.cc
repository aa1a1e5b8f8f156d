// The runtime half of the encoder registry (src/runtime/encoders/encoder_unit.h): one unit per
// kind of kEncoderKinds, in its order, each with a loader of its own EncoderTables union member
// and a forward, and every committed golden model file (tests/data/models/v1, v2) loaded by the
// unit of its encoder kind. Links only libbytelite (runs in BYTELITE_RUNTIME_ONLY builds).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "bytelite/encoder_kinds.h"
#include "bytelite/model.h"
#include "bytelite_model_generated.h"
#include "runtime/encoders/encoder_unit.h"
#include "runtime/encoders/stored_keys.h"

namespace bytelite {
namespace {

TEST(RuntimeEncoderUnits, OneUnitPerKindInTheOrderOfTheList) {
  for (const EncoderKindInfo& k : kEncoderKinds) {
    SCOPED_TRACE(k.name);
    const rt::RuntimeEncoderUnit& u = rt::runtime_encoder_unit(k.kind);
    EXPECT_EQ(u.kind, k.kind);
    EXPECT_NE(u.load, nullptr);
    EXPECT_NE(u.encode, nullptr);
    EXPECT_NE(u.tables, fb::EncoderTables::NONE);
    // the schema's EncoderKind enum mirrors EncoderKind (the file stores the kind as it)
    EXPECT_EQ(static_cast<int>(k.kind), static_cast<int>(static_cast<fb::EncoderKind>(k.kind)));
  }
  // the table layouts that exist: the attention kinds share TransformerEncoder
  EXPECT_EQ(rt::runtime_encoder_unit(EncoderKind::kQrnn).tables, fb::EncoderTables::QrnnEncoder);
  EXPECT_EQ(rt::runtime_encoder_unit(EncoderKind::kTransformer).tables,
            fb::EncoderTables::TransformerEncoder);
  EXPECT_EQ(rt::runtime_encoder_unit(EncoderKind::kFunnel).tables,
            fb::EncoderTables::TransformerEncoder);
  EXPECT_EQ(rt::runtime_encoder_unit(EncoderKind::kPqrnn).tables, fb::EncoderTables::PqrnnEncoder);
  EXPECT_EQ(rt::runtime_encoder_unit(EncoderKind::kQrnnProj).tables,
            fb::EncoderTables::QrnnProjEncoder);
}

TEST(RuntimeEncoderUnits, FormatV1KnowsTheByteEncodersOnly) {
  for (const EncoderKindInfo& k : kEncoderKinds) {
    SCOPED_TRACE(k.name);
    const rt::RuntimeEncoderUnit& u = rt::runtime_encoder_unit(k.kind);
    EXPECT_EQ(u.load_v1 != nullptr, !k.projection && !k.word_projection);
    EXPECT_EQ(u.load_v1_seq2seq != nullptr, !k.projection && !k.word_projection);
  }
}

struct DeclaredKey {
  const char* section;
  const char* name;
  const char* doc;
};
// Every declared config key (generated from src/train/config.cc).
constexpr DeclaredKey kDeclaredKeys[] = {
#include "core/config_keys.inc"
};

// Each unit's stored keys are declared model-section keys, each once, and its own: the shared
// ones (encoder, bottleneck_size, pooling) are not in a unit's list.
TEST(RuntimeEncoderUnits, StoredKeysAreDeclaredModelKeys) {
  for (const EncoderKindInfo& k : kEncoderKinds) {
    SCOPED_TRACE(k.name);
    const rt::StoredModelKeys keys = rt::encoder_stored_keys(k.kind);
    EXPECT_GT(keys.count, 0u);
    std::set<std::string> seen;
    for (size_t i = 0; i < keys.count; ++i) {
      const std::string name = keys.keys[i].name;
      EXPECT_TRUE(seen.insert(name).second) << name << " twice";
      bool declared = false;
      for (const DeclaredKey& d : kDeclaredKeys)
        declared = declared || (std::string(d.section) == "model" && name == d.name);
      EXPECT_TRUE(declared) << "model." << name << " is no declared key";
      EXPECT_TRUE(name != "encoder" && name != "bottleneck_size" && name != "pooling") << name;
    }
    // the trait that says it: funnel alone stores its pool windows
    EXPECT_EQ(seen.count("pool_windows") == 1, k.pool_windows);
    EXPECT_EQ(seen.count("projection_feature_size") == 1, k.projection || k.word_projection);
    EXPECT_EQ(seen.count("num_heads") == 1, k.attention);
  }
}

// Every golden file: the net its loader prepared is of the file's encoder kind (the unit that
// loaded it runs it), and the v2 files cover every kind.
TEST(RuntimeEncoderUnits, GoldenFilesAreLoadedByTheUnitOfTheirKind) {
  const std::string dir = std::string(BYTELITE_SOURCE_DIR) + "/tests/data/models/";
  const char* classifiers[] = {"byteqrnn", "bytetransformer", "bytefunnel", "pqrnn",
                               "byteqrnn_proj"};
  const char* seq2seq[] = {"seq2seq_qrnn", "seq2seq_transformer", "seq2seq_funnel"};
  std::set<EncoderKind> v2_kinds;
  for (const std::string version : {"v1", "v2"}) {
    for (const char* name : classifiers) {
      if (version == "v1" && (std::string(name) == "pqrnn" || std::string(name) == "byteqrnn_proj"))
        continue;  // format v2 only
      SCOPED_TRACE(version + "/" + name);
      auto m = Model::load(dir + version + "/" + name + ".blt");
      const EncoderKindInfo* k = find_encoder_kind(m->info().encoder);
      ASSERT_NE(k, nullptr);
      EXPECT_EQ(m->impl().net.kind, k->kind);
      EXPECT_EQ(m->info().architecture, k->architecture);
      if (version == "v2") v2_kinds.insert(k->kind);
    }
    for (const char* name : seq2seq) {
      SCOPED_TRACE(version + "/" + name);
      auto m = Model::load(dir + version + "/" + name + ".blt");
      const EncoderKindInfo* k = find_encoder_kind(m->info().encoder);
      ASSERT_NE(k, nullptr);
      ASSERT_NE(m->impl().seq2seq, nullptr);
      ASSERT_NE(m->impl().seq2seq->encoder.classifier, nullptr);
      EXPECT_EQ(m->impl().seq2seq->encoder.classifier->kind, k->kind);
      EXPECT_EQ(std::string(name), std::string("seq2seq_") + k->name);
    }
  }
  EXPECT_EQ(v2_kinds.size(), kNumEncoderKinds);
}

}  // namespace
}  // namespace bytelite
