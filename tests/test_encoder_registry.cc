// The encoder registry: one list of kinds (include/bytelite/encoder_kinds.h) with one training
// unit per kind (src/train/encoder_registry.h), found by name and architecture, and each unit's
// module, width and stride as the classifier, pretraining and seq2seq models use them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <string>
#include <vector>

#include "bytelite/encoder_kinds.h"
#include "bytelite/errors.h"
#include "train/classifier_model.h"
#include "train/config.h"
#include "train/encoder_registry.h"
#include "train/projection_input.h"

namespace bytelite {
namespace {

TEST(EncoderRegistry, OneUnitPerKind) {
  ASSERT_EQ(kNumEncoderKinds, 5u);
  std::set<std::string> names, archs;
  int seq2seq_section = 0, projection = 0, word_projection = 0;
  for (size_t i = 0; i < kNumEncoderKinds; ++i) {
    const EncoderKindInfo& k = kEncoderKinds[i];
    EXPECT_EQ(static_cast<size_t>(k.kind), i) << k.name;
    EXPECT_EQ(&encoder_kind_info(k.kind), &k);
    EXPECT_EQ(find_encoder_kind(k.name), &k);
    EXPECT_EQ(find_encoder_architecture(k.architecture), &k);
    EXPECT_EQ(std::string(encoder_display(k.name)), k.display);
    EXPECT_EQ(train_encoder_unit(k.kind).kind, &k);
    ModelConfig mc;
    mc.encoder = k.name;
    EXPECT_EQ(&encoder_kind(mc), &k);
    names.insert(k.name);
    archs.insert(k.architecture);
    seq2seq_section += k.seq2seq_section;
    projection += k.projection;
    word_projection += k.word_projection;
  }
  EXPECT_EQ(names, (std::set<std::string>{"qrnn", "transformer", "funnel", "pqrnn", "qrnn_proj"}));
  EXPECT_EQ(archs, (std::set<std::string>{"byteqrnn", "bytetransformer", "bytefunnel", "pqrnn",
                                          "byteqrnn_proj"}));
  EXPECT_EQ(seq2seq_section, 1);
  EXPECT_EQ(projection, 1);
  EXPECT_TRUE(encoder_kind_info(EncoderKind::kPqrnn).projection);
  EXPECT_EQ(word_projection, 1);
  EXPECT_TRUE(encoder_kind_info(EncoderKind::kQrnnProj).word_projection);
  EXPECT_STREQ(seq2seq_section_encoder().name, "transformer");
  EXPECT_EQ(encoder_kind_names_quoted(),
            "\"qrnn\", \"transformer\", \"funnel\", \"pqrnn\" or \"qrnn_proj\"");
  // unknown names
  EXPECT_EQ(find_encoder_kind("lstm"), nullptr);
  EXPECT_EQ(find_encoder_kind("byteqrnn"), nullptr);  // an architecture is not a kind name
  EXPECT_EQ(find_encoder_architecture("qrnn"), nullptr);
  EXPECT_EQ(find_encoder_architecture("byteseq2seq"), nullptr);
  EXPECT_STREQ(encoder_display("lstm"), "unknown");
  ModelConfig bad;
  bad.encoder = "lstm";
  try {
    train_encoder_unit(bad);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "model.encoder: expected \"qrnn\", \"transformer\", \"funnel\", \"pqrnn\" or "
              "\"qrnn_proj\", found \"lstm\"");
  }
  EXPECT_THROW(ByteClassifier(bad, 2, std::make_shared<QatState>(), 32), ConfigError);
}

ModelConfig small_config(const std::string& encoder) {
  ModelConfig m;
  m.encoder = encoder;
  m.embedding_size = 16;
  m.bottleneck_size = 24;
  m.gbst_max_block_width = 2;
  m.gbst_conv_kernel_size = 3;
  m.gbst_downsample_rate = 2;
  m.qrnn_state_size = 10;
  m.qrnn_layers = 2;
  m.transformer_layers = 2;
  m.num_heads = 4;
  m.intermediate_size = 32;
  if (encoder == "funnel") m.pool_windows = {1, 2};
  m.dropout = 0.0;
  return m;
}

// Each unit's module: output width and stride as the unit says, the tensor names checkpoints
// store, and encoder-only models (num_labels 0) with no pooling or head.
TEST(EncoderRegistry, ModulePerKind) {
  auto qat = std::make_shared<QatState>();
  qat->enabled = false;
  const int64_t B = 3, L = 16;
  struct Want {
    const char* name;
    int64_t width, stride;
    const char* tensor;      // a tensor only this kind has
    const char* not_tensor;  // one it must not have
  };
  for (const Want& w :
       {Want{"qrnn", 20, 2, "qrnn.1.gates_fwd.weight", "position"},
        Want{"transformer", 24, 2, "layers.1.ffn_in.weight", "qrnn.0.gates_fwd.weight"},
        Want{"funnel", 24, 4, "position", "qrnn.0.gates_fwd.weight"}}) {
    SCOPED_TRACE(w.name);
    torch::manual_seed(3);
    const ModelConfig mc = small_config(w.name);
    const TrainEncoderUnit& unit = train_encoder_unit(mc);
    EXPECT_EQ(unit.width(mc), w.width);
    EXPECT_EQ(unit.bytes_per_position(mc), w.stride);
    ByteClassifier enc(mc, 0, qat, L);
    EXPECT_EQ(enc->unit, &unit);
    EXPECT_EQ(enc->encoder_width(), w.width);
    EXPECT_EQ(enc->bytes_per_position(), w.stride);
    auto named = enc->named_parameters();
    EXPECT_TRUE(named.contains(w.tensor));
    EXPECT_FALSE(named.contains(w.not_tensor));
    EXPECT_FALSE(named.contains("head.weight"));
    enc->eval();
    torch::NoGradGuard ng;
    auto ids = torch::randint(3, 259, {B, L}, torch::kLong);
    auto mask = torch::ones({B, L});
    auto [h, hm] = enc->encode(ids, mask);
    EXPECT_EQ(h.sizes(), (std::vector<int64_t>{B, L / w.stride, w.width}));
    EXPECT_EQ(hm.sizes(), (std::vector<int64_t>{B, L / w.stride}));
    EXPECT_TRUE(torch::isfinite(h).all().item<bool>());
    // the classifier with pooling and head on the same encoder: same encoder tensors first
    torch::manual_seed(3);
    ByteClassifier cls(mc, 2, qat, L);
    cls->eval();
    for (const auto& p : enc->named_parameters()) {
      ASSERT_TRUE(cls->named_parameters().contains(p.key())) << p.key();
      EXPECT_TRUE(torch::equal(p.value(), cls->named_parameters()[p.key()])) << p.key();
    }
    EXPECT_TRUE(torch::equal(cls->encode(ids, mask).first, h));
    EXPECT_EQ(cls->forward(ids, mask).sizes(), (std::vector<int64_t>{B, 2}));
  }
}

// The pqrnn unit: its input is the projection of the text its byte ids encode (one position per
// word), the same values the runtime computes (rt::ternary_projection_of_ids).
TEST(EncoderRegistry, PqrnnModuleReadsTheProjectionOfItsIds) {
  auto qat = std::make_shared<QatState>();
  qat->enabled = false;
  ModelConfig mc = small_config("pqrnn");
  mc.projection_feature_size = 32;
  mc.projection_max_tokens = 8;
  const TrainEncoderUnit& unit = train_encoder_unit(mc);
  EXPECT_EQ(unit.width(mc), 20);
  EXPECT_EQ(unit.bytes_per_position(mc), 0);  // token positions, no byte stride
  torch::manual_seed(3);
  ByteClassifier enc(mc, 0, qat, 64);
  auto named = enc->named_parameters();
  EXPECT_TRUE(named.contains("bottleneck.weight"));
  EXPECT_TRUE(named.contains("qrnn.1.gates_fwd.weight"));
  EXPECT_FALSE(named.contains("embedding"));
  EXPECT_FALSE(named.contains("gbst.conv.weight"));
  EXPECT_EQ(enc->named_parameters()["bottleneck.weight"].sizes(), (std::vector<int64_t>{24, 32}));
  enc->eval();
  torch::NoGradGuard ng;
  // three texts as byte ids (byte + 3), padded with PAD 0: 3 words, 1 word, none
  auto ids_of = [](const std::string& t, int64_t L) {
    std::vector<int64_t> v(L, 0);
    for (size_t i = 0; i < t.size(); ++i) v[i] = static_cast<unsigned char>(t[i]) + 3;
    return v;
  };
  const int64_t L = 12;
  std::vector<int64_t> flat;
  std::vector<float> mflat;
  const std::vector<std::string> texts = {"Hi you all", "one", ""};
  for (const auto& t : texts) {
    auto v = ids_of(t, L);
    flat.insert(flat.end(), v.begin(), v.end());
    for (int64_t i = 0; i < L; ++i)
      mflat.push_back(i < std::max<int64_t>(1, static_cast<int64_t>(t.size())) ? 1.0f : 0.0f);
  }
  auto ids = torch::tensor(flat).reshape({3, L});
  auto mask = torch::tensor(mflat).reshape({3, L});
  const ProjectionBatch p = project_id_batch(ids, mask, projection_config(mc));
  ASSERT_EQ(p.values.sizes(), (std::vector<int64_t>{3, 3, 32}));
  EXPECT_TRUE(torch::equal(
      p.mask, torch::tensor({1.f, 1.f, 1.f, 1.f, 0.f, 0.f, 1.f, 0.f, 0.f}).reshape({3, 3})));
  // row 0 token 1 is "you", lower-cased "hi" is token 0; the empty text is one zero position
  std::vector<int8_t> want(32);
  rt::project_token("hi", 32, want.data());
  for (int k = 0; k < 32; ++k) EXPECT_EQ(p.values[0][0][k].item<float>(), want[k]) << k;
  rt::project_token("you", 32, want.data());
  for (int k = 0; k < 32; ++k) EXPECT_EQ(p.values[0][1][k].item<float>(), want[k]) << k;
  EXPECT_EQ(p.values[2].abs().sum().item<float>(), 0.0f);
  auto [h, hm] = enc->encode(ids, mask);
  EXPECT_EQ(h.sizes(), (std::vector<int64_t>{3, 3, 20}));
  EXPECT_TRUE(torch::equal(hm, p.mask));
  EXPECT_TRUE(torch::isfinite(h).all().item<bool>());
  // padded positions stay zero, and a row's output does not depend on the batch
  EXPECT_EQ(h[1].narrow(0, 1, 2).abs().sum().item<float>(), 0.0f);
  auto [h1, hm1] =
      enc->encode(ids.narrow(0, 1, 1).narrow(1, 0, 3), mask.narrow(0, 1, 1).narrow(1, 0, 3));
  ASSERT_EQ(h1.sizes(), (std::vector<int64_t>{1, 1, 20}));
  EXPECT_TRUE(torch::allclose(h1[0][0], h[1][0], 1e-6, 1e-6));
}

// ByteQRNN with word projection: the ByteQRNN tensors plus the word dense; byte_word_batch maps
// each valid byte to its word's row of project_id_batch (-1 elsewhere); the word vectors change
// the output of exactly the positions whose bytes belong to a word; a row's output does not
// depend on the batch.
TEST(EncoderRegistry, QrnnProjModuleAddsTheWordOfEachByte) {
  auto qat = std::make_shared<QatState>();
  qat->enabled = false;
  ModelConfig mc = small_config("qrnn_proj");
  mc.projection_feature_size = 32;
  mc.projection_max_tokens = 8;
  mc.qrnn_layers = 1;
  const TrainEncoderUnit& unit = train_encoder_unit(mc);
  EXPECT_EQ(unit.width(mc), 20);
  EXPECT_EQ(unit.bytes_per_position(mc), 2);  // GBST blocks, as ByteQRNN
  torch::manual_seed(3);
  ByteClassifier enc(mc, 0, qat, 64);
  auto named = enc->named_parameters();
  EXPECT_TRUE(named.contains("embedding"));
  EXPECT_TRUE(named.contains("gbst.conv.weight"));
  EXPECT_EQ(named["word.weight"].sizes(), (std::vector<int64_t>{24, 32}));
  EXPECT_EQ(named["bottleneck.weight"].sizes(), (std::vector<int64_t>{24, 16}));
  enc->eval();
  torch::NoGradGuard ng;
  // "ab cd" and "x" padded to 6 ids (PAD 0)
  const std::vector<int64_t> flat = {'a' + 3, 'b' + 3, ' ' + 3, 'c' + 3, 'd' + 3, 0,
                                     'x' + 3, 0,       0,       0,       0,       0};
  auto ids = torch::tensor(flat).reshape({2, 6});
  auto mask =
      torch::tensor({1.f, 1.f, 1.f, 1.f, 1.f, 0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.f}).reshape({2, 6});
  const torch::Tensor map = byte_word_batch(ids, mask, projection_config(mc));
  const std::vector<int64_t> want = {0, 0, -1, 1, 1, -1, 0, -1, -1, -1, -1, -1};
  EXPECT_TRUE(torch::equal(map, torch::tensor(want).reshape({2, 6})));
  auto [h, hm] = enc->encode(ids, mask);
  EXPECT_EQ(h.sizes(), (std::vector<int64_t>{2, 3, 20}));
  EXPECT_TRUE(torch::isfinite(h).all().item<bool>());
  EXPECT_EQ(h[1].narrow(0, 1, 2).abs().sum().item<float>(), 0.0f);  // padding stays zero
  auto [h1, hm1] =
      enc->encode(ids.narrow(0, 1, 1).narrow(1, 0, 1), mask.narrow(0, 1, 1).narrow(1, 0, 1));
  EXPECT_TRUE(torch::allclose(h1[0][0], h[1][0], 1e-6, 1e-6));
  // the word vectors matter: zeroing the word dense changes the output
  enc->word->weight.zero_();
  enc->word->bn_beta.zero_();
  auto [h0, hm0] = enc->encode(ids, mask);
  EXPECT_FALSE(torch::allclose(h0, h, 1e-4, 1e-4));
}

// The kinds' own config checks run from the config parser (config.cc calls the unit's check).
TEST(EncoderRegistry, ConfigChecksPerKind) {
  auto error = [](const nlohmann::json& model) {
    try {
      config_from_json({{"model", model}}, "c.json");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error({{"encoder", "qrnn"}, {"pool_windows", {1, 2}}}),
            "c.json: model.pool_windows: expected no pool_windows unless encoder is \"funnel\", "
            "found an array");
  EXPECT_EQ(error({{"encoder", "transformer"}, {"pool_windows", {1, 2}}}),
            "c.json: model.pool_windows: expected no pool_windows unless encoder is \"funnel\", "
            "found an array");
  EXPECT_EQ(error({{"encoder", "funnel"}, {"transformer_layers", 2}, {"pool_windows", {2}}}),
            "c.json: model.pool_windows: expected one window per layer (2 values), found an array");
  EXPECT_EQ(error({{"encoder", "transformer"}, {"bottleneck_size", 30}, {"num_heads", 4}}),
            "c.json: model.num_heads: expected a divisor of bottleneck_size (the model width, 30), "
            "found integer 4");
  EXPECT_EQ(error({{"encoder", "qrnn"}, {"bottleneck_size", 30}, {"num_heads", 4}}), "");
  EXPECT_EQ(error({{"encoder", "funnel"},
                   {"transformer_layers", 2},
                   {"pool_windows", {1, 2}},
                   {"norm_position", "pre"}}),
            "c.json: model.norm_position: expected \"post\" for the funnel encoder, found string "
            "\"pre\"");
  EXPECT_EQ(error({{"encoder", "lstm"}}),
            "c.json: model.encoder: expected one of \"qrnn\" \"transformer\" \"funnel\" "
            "\"pqrnn\" \"qrnn_proj\", found string \"lstm\"");
  EXPECT_EQ(error({{"encoder", "pqrnn"}, {"pool_windows", {1, 2}}}),
            "c.json: model.pool_windows: expected no pool_windows unless encoder is \"funnel\", "
            "found an array");
  EXPECT_EQ(error({{"encoder", "pqrnn"},
                   {"projection_max_tokens", 2},
                   {"projection_add_bos", true},
                   {"projection_add_eos", true}}),
            "c.json: model.projection_max_tokens: expected at least 3 (one text token besides the "
            "tags), found integer 2");
  EXPECT_EQ(error({{"encoder", "pqrnn"}, {"projection_feature_size", 0}}),
            "c.json: model.projection_feature_size: expected an integer in [1, 4096], found "
            "integer 0");
  // a projection encoder has token positions: no masked-byte pretraining, no seq2seq encoder
  try {
    config_from_json({{"model", {{"encoder", "pqrnn"}}}, {"pretrain", {{"seq_len", 64}}}},
                     "c.json");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.encoder: expected an encoder whose positions are "
                                         "bytes for masked-byte pretraining"),
              std::string::npos)
        << e.what();
  }
  try {
    config_from_json({{"task", "seq2seq"},
                      {"model", {{"encoder", "pqrnn"}}},
                      {"seq2seq", {{"encoder", "pqrnn"}}}},
                     "c.json");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("seq2seq.encoder: expected a byte encoder"),
              std::string::npos)
        << e.what();
  }
  // ByteQRNN with word projection: the projection keys' checks of pqrnn, no seq2seq encoder
  EXPECT_EQ(
      error({{"encoder", "qrnn_proj"}, {"projection_max_tokens", 1}, {"projection_add_eos", true}}),
      "c.json: model.projection_max_tokens: expected at least 2 (one text token besides the "
      "tags), found integer 1");
  EXPECT_EQ(error({{"encoder", "qrnn_proj"}, {"pool_windows", {1, 2}}}),
            "c.json: model.pool_windows: expected no pool_windows unless encoder is \"funnel\", "
            "found an array");
  try {
    config_from_json({{"task", "seq2seq"},
                      {"model", {{"encoder", "qrnn_proj"}}},
                      {"seq2seq", {{"encoder", "qrnn_proj"}}}},
                     "c.json");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(
        std::string(e.what()).find("seq2seq.encoder: expected an encoder without word projection"),
        std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace bytelite
