// The seq2seq model with the classifier's encoders (seq2seq.encoder "qrnn" | "funnel";
// docs/seq2seq.md "Encoder choice"): config errors, a short QAT training run per encoder, the QAT
// model against the int8 runtime decoding step by step with teacher forcing, and the model file
// round trip through Model::from_bytes and Seq2SeqGenerator.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "bytelite/encoder_kinds.h"
#include "bytelite/errors.h"
#include "bytelite/model.h"
#include "bytelite/seq2seq.h"
#include "runtime/models/classifier_net.h"
#include "runtime/ops/decoder.h"
#include "seq2seq_test_util.h"
#include "train/config.h"
#include "train/seq2seq.h"
#include "train/seq2seq_export.h"
#include "train_test_util.h"

namespace bytelite {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using nlohmann::json;

using testutil::read_g2p;

using testutil::ids_of;

// ---- config ----

json seq2seq_json(const std::string& seq2seq_encoder, const std::string& model_encoder) {
  json j = {{"task", "seq2seq"},
            {"model", {{"encoder", model_encoder}}},
            {"seq2seq", {{"encoder", seq2seq_encoder}, {"dim", 32}, {"num_heads", 4}}}};
  if (model_encoder == "funnel") j["model"]["pool_windows"] = {1, 2};
  return j;
}

std::string config_error(const json& j) {
  try {
    config_from_json(j, "cfg.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Seq2SeqEncoderConfig, ClassifierEncoderFromModelSection) {
  ExperimentConfig c = config_from_json(seq2seq_json("qrnn", "qrnn"), "cfg.json");
  EXPECT_EQ(c.seq2seq.encoder, "qrnn");
  EXPECT_EQ(c.seq2seq.encoder_model.encoder, "qrnn");
  c = config_from_json(seq2seq_json("funnel", "funnel"), "cfg.json");
  EXPECT_EQ(c.seq2seq.encoder, "funnel");
  EXPECT_EQ(c.seq2seq.encoder_model.pool_windows, (std::vector<int>{1, 2}));
  // written back (only when not the default) and read again
  const json back = config_to_json(c);
  EXPECT_EQ(back["seq2seq"]["encoder"], "funnel");
  EXPECT_EQ(config_from_json(back, "back.json").seq2seq.encoder, "funnel");
  // the default: the built-in encoder, nothing new written
  json d = seq2seq_json("transformer", "qrnn");
  d["seq2seq"].erase("encoder");
  EXPECT_NE(config_error(d).find("cfg.json: model: expected no \"model\" section"),
            std::string::npos)
      << config_error(d);  // it would configure nothing
  d.erase("model");
  c = config_from_json(d, "cfg.json");
  EXPECT_EQ(c.seq2seq.encoder, "transformer");
  EXPECT_FALSE(config_to_json(c)["seq2seq"].contains("encoder"));
  EXPECT_FALSE(config_to_json(c).contains("model"));
  EXPECT_FALSE(config_to_json(c).contains("tokenizer"));
  d["tokenizer"] = {{"max_length", 5}};
  EXPECT_NE(config_error(d).find("tokenizer: expected no \"tokenizer\" section"),
            std::string::npos);
}

TEST(Seq2SeqEncoderConfig, Errors) {
  // a mismatch names both keys
  std::string e = config_error(seq2seq_json("qrnn", "funnel"));
  EXPECT_NE(e.find("seq2seq.encoder"), std::string::npos) << e;
  EXPECT_NE(e.find("model.encoder"), std::string::npos) << e;
  EXPECT_NE(e.find("cfg.json"), std::string::npos) << e;
  e = config_error(seq2seq_json("funnel", "transformer"));
  EXPECT_NE(e.find("seq2seq.encoder"), std::string::npos) << e;
  EXPECT_NE(e.find("model.encoder"), std::string::npos) << e;
  // "transformer" is the built-in encoder; unknown names are rejected
  e = config_error(seq2seq_json("lstm", "qrnn"));
  EXPECT_NE(e.find("seq2seq.encoder"), std::string::npos) << e;
  // the runtime runs post-norm layers
  json j = seq2seq_json("funnel", "funnel");
  j["model"]["norm_position"] = "post";
  EXPECT_EQ(config_error(j), "");
  j = seq2seq_json("qrnn", "qrnn");
  j["model"]["norm_position"] = "pre";
  e = config_error(j);
  EXPECT_NE(e.find("model.norm_position"), std::string::npos) << e;
  // built directly: the same checks
  Seq2SeqConfig q;
  q.encoder = "qrnn";
  q.encoder_model.encoder = "funnel";
  q.encoder_model.pool_windows = {1, 2};
  EXPECT_THROW(ByteSeq2Seq(q, std::make_shared<QatState>()), ConfigError);
}

// ---- models ----

Seq2SeqConfig encoder_config(const std::string& encoder) {
  Seq2SeqConfig c;
  c.encoder = encoder;
  c.dim = 64;
  c.num_heads = 4;
  c.intermediate_size = 128;
  c.decoder_layers = 2;
  c.max_source = 16;
  c.max_target = 48;
  c.label_smoothing = 0.1;
  ModelConfig& m = c.encoder_model;
  m.encoder = encoder;
  m.embedding_size = 32;
  // GBST block width 1 as the seq2seq default (with width 2 the int8 GBST's block mixture
  // differs from the training graph more often: see docs/seq2seq.md "not done")
  m.gbst_max_block_width = 1;
  m.gbst_conv_kernel_size = 3;
  m.gbst_downsample_rate = 1;
  m.dropout = 0.0;
  if (encoder == "qrnn") {
    m.bottleneck_size = 48;
    m.qrnn_state_size = 40;  // E = 80
    m.qrnn_layers = 2;
    m.qrnn_zoneout = 0.0;
  } else {
    m.bottleneck_size = 48;  // E = 48 (a bottleneck dense 32 -> 48)
    m.transformer_layers = 2;
    m.num_heads = 4;
    m.intermediate_size = 96;
    m.pool_windows = {1, 2};  // the second layer halves the length
  }
  return c;
}

TEST(Seq2SeqEncoderModel, ShapesAndParameters) {
  auto qat = std::make_shared<QatState>();
  qat->enabled = false;
  for (const char* name : {"qrnn", "funnel"}) {
    const std::string enc = name;
    ByteSeq2Seq m(encoder_config(enc), qat);
    const int64_t E = enc == "qrnn" ? 80 : 48;
    EXPECT_EQ(m->encoder_width(), E);
    EXPECT_EQ(std::string(m->classifier->kind().name), enc);  // the registry's unit of enc
    auto named = m->named_parameters();
    ASSERT_TRUE(named.contains("classifier.embedding"));
    EXPECT_FALSE(named.contains("src_embedding"));
    EXPECT_EQ(named["decoder.0.key_value.weight"].sizes(), (std::vector<int64_t>{128, E}));
    m->eval();
    torch::NoGradGuard ng;
    auto b = make_seq2seq_batch(read_g2p(97, 1, 4), 16, 48);
    auto [h, hm] = m->encode(b.src, b.src_mask);
    EXPECT_EQ(h.size(2), E);
    EXPECT_EQ(h.size(1), enc == "qrnn" ? b.src.size(1) : (b.src.size(1) + 1) / 2);
    auto logits = m->forward(b.src, b.src_mask, b.dec_in);
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{4, b.dec_in.size(1), kVocabSize}));
  }
  // The default encoder (configured by the seq2seq section) is the registry's "transformer"
  // encoder composed as every other: module "classifier", built from seq2seq_encoder_model(),
  // with the initial tensors a ByteClassifier encoder of that config draws.
  const Seq2SeqConfig sc;
  torch::manual_seed(5);
  ByteSeq2Seq t(sc, qat);
  ASSERT_TRUE(t->classifier);
  EXPECT_EQ(t->classifier->kind().kind, EncoderKind::kTransformer);
  EXPECT_TRUE(t->encoder_from_seq2seq_section());
  EXPECT_EQ(t->encoder_width(), sc.dim);
  auto tn = t->named_parameters();
  EXPECT_FALSE(tn.contains("src_embedding"));
  EXPECT_FALSE(tn.contains("classifier.bottleneck.weight"));  // width dim: no bottleneck
  EXPECT_EQ(tn["classifier.position"].sizes(), (std::vector<int64_t>{sc.max_source, sc.dim}));
  const ModelConfig mc = seq2seq_encoder_model(sc);
  EXPECT_EQ(mc.encoder, "transformer");
  EXPECT_EQ(mc.transformer_layers, sc.encoder_layers);
  torch::manual_seed(5);
  ByteClassifier alone(mc, 0, qat, sc.max_source);
  size_t compared = 0;
  for (const auto& p : alone->named_parameters()) {
    ASSERT_TRUE(tn.contains("classifier." + p.key())) << p.key();
    EXPECT_TRUE(torch::equal(p.value(), tn["classifier." + p.key()])) << p.key();
    ++compared;
  }
  EXPECT_GT(compared, 10u);
  EXPECT_EQ(t->classifier->named_parameters().size(), compared);
}

// A checkpoint of the pre-registry built-in encoder (tensor src_embedding, ...) is refused with
// a one-line message; a checkpoint of the current model round-trips.
TEST(Seq2SeqEncoderModel, FormerBuiltinCheckpointRefusedCurrentOneLoads) {
  auto qat = std::make_shared<QatState>();
  qat->enabled = false;
  auto archive_of = [](const std::function<void(torch::serialize::OutputArchive&)>& fill) {
    torch::serialize::OutputArchive out;
    fill(out);
    std::ostringstream os;
    out.save_to(os);
    auto in = std::make_shared<torch::serialize::InputArchive>();
    std::istringstream is(os.str());
    in->load_from(is);
    return in;
  };
  torch::manual_seed(1);
  ByteSeq2Seq m(Seq2SeqConfig{}, qat);
  auto former = archive_of([](torch::serialize::OutputArchive& o) {
    o.write("src_embedding", torch::zeros({kVocabSize, 64}));
  });
  try {
    m->load(*former);
    FAIL() << "expected ModelFileError";
  } catch (const ModelFileError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("classifier.*"), std::string::npos) << msg;
    EXPECT_NE(msg.find("src_embedding"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  auto current = archive_of([&](torch::serialize::OutputArchive& o) { m->save(o); });
  torch::manual_seed(2);
  ByteSeq2Seq m2(Seq2SeqConfig{}, qat);
  EXPECT_FALSE(torch::equal(m->classifier->embedding, m2->classifier->embedding));
  m2->load(*current);
  auto a = m->named_parameters(), b = m2->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
}

// ---- a short QAT training run per encoder ----

struct Trained {
  ByteSeq2Seq model{nullptr};
  QatStatePtr qat;
  std::vector<double> losses;
  std::string file;  // the exported model file
  std::shared_ptr<const Model> loaded;
  Pairs eval_pairs;
};

Trained& trained(const std::string& encoder) {
  static std::map<std::string, Trained*> cache;
  auto it = cache.find(encoder);
  if (it != cache.end()) return *it->second;
  torch::set_num_threads(1);
  torch::manual_seed(11);
  auto* r = new Trained;
  r->qat = std::make_shared<QatState>();
  r->qat->enabled = true;
  r->qat->active = false;
  r->model = ByteSeq2Seq(encoder_config(encoder), r->qat);
  const Pairs train = read_g2p(40, 0, 2000);
  r->eval_pairs = read_g2p(40, 20, 100);
  r->losses = testutil::train_short_qat(*r->model, *r->qat, train, 220, 24, 80);
  Seq2SeqExportInfo info;
  info.beam_size = 3;
  r->file = export_seq2seq_bytes(*r->model, info);
  r->loaded = Model::from_bytes(r->file, "<" + encoder + " seq2seq>");
  cache[encoder] = r;
  return *r;
}

double mean_of(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

class Seq2SeqEncoders : public ::testing::TestWithParam<std::string> {};

TEST_P(Seq2SeqEncoders, ShortG2pTrainingReducesLoss) {
  Trained& tr = trained(GetParam());
  const auto& l = tr.losses;
  const double first = mean_of(l, 0, 20), last = mean_of(l, l.size() - 20, l.size());
  std::printf("%s encoder, G2P training: mean loss of steps 1-20 %.3f, of the last 20 %.3f\n",
              GetParam().c_str(), first, last);
  EXPECT_LT(last, 0.6 * first);
}

// QAT model (eval, fake-quantized) vs the int8 runtime decoding step by step with teacher
// forcing, on held-out G2P pairs (as Seq2SeqRuntime.QatMatchesInt8StepDecode).
TEST_P(Seq2SeqEncoders, QatMatchesInt8StepDecode) {
  Trained& tr = trained(GetParam());
  const rt::Seq2SeqNet& net = *tr.loaded->impl().seq2seq;
  ASSERT_TRUE(net.encoder.classifier != nullptr);
  EXPECT_EQ(net.encoder.dim, tr.model->encoder_width());
  const auto r = testutil::qat_vs_int8(*tr.model, net, tr.eval_pairs, GetParam() + " encoder, ");
  EXPECT_GT(r.positions, 500);
  EXPECT_GE(r.argmax, 0.99);
  EXPECT_GE(r.within1, 0.99);
  EXPECT_LE(r.mean_diff, 0.1);
}

// The model file: info, a second load gives the same bytes' model, the generator generates.
TEST_P(Seq2SeqEncoders, ModelFileRoundTripAndGenerate) {
  Trained& tr = trained(GetParam());
  const ModelInfo& mi = tr.loaded->info();
  EXPECT_EQ(mi.architecture, "byteseq2seq");
  EXPECT_EQ(mi.encoder, GetParam());
  EXPECT_EQ(mi.decoder_dimension, 64);
  EXPECT_EQ(mi.decoder_num_heads, 4);
  EXPECT_EQ(mi.decoder_intermediate_size, 128);
  EXPECT_EQ(mi.decoder_layers, 2);
  EXPECT_EQ(mi.max_length, 16);
  EXPECT_EQ(mi.beam_size, 3);
  if (GetParam() == "qrnn") {
    EXPECT_EQ(mi.qrnn_state_size, 40);
    EXPECT_EQ(mi.qrnn_layers, 2);
  } else {
    EXPECT_EQ(mi.bottleneck_size, 48);
    EXPECT_EQ(mi.pool_windows, (std::vector<int32_t>{1, 2}));
  }
  // exporting again gives the same file
  EXPECT_EQ(export_seq2seq_bytes(*tr.model,
                                 [] {
                                   Seq2SeqExportInfo i;
                                   i.beam_size = 3;
                                   return i;
                                 }()),
            tr.file);
  auto again = Model::from_bytes(tr.file, "again");
  Seq2SeqGenerator g1(tr.loaded), g2(again);
  GenerateOptions o;
  o.n_best = 2;
  Seq2SeqGenerator g3(again, o);
  int nonempty = 0;
  for (size_t i = 0; i < 10; ++i) {
    const std::string& w = tr.eval_pairs[i].first;
    auto a = g1.generate(w), b = g2.generate(w);
    ASSERT_FALSE(a.empty());
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].ids, b[k].ids);
      EXPECT_EQ(a[k].score, b[k].score);
    }
    nonempty += !a[0].text.empty();
    auto nb = g3.generate(w);
    ASSERT_GE(nb.size(), 1u);
    ASSERT_LE(nb.size(), 2u);
    if (nb.size() == 2) {
      EXPECT_GE(nb[0].score, nb[1].score);
    }
    if (i == 0) {
      std::printf("%s encoder: %s -> %s (reference %s)\n", GetParam().c_str(), w.c_str(),
                  a[0].text.c_str(), tr.eval_pairs[i].second.c_str());
    }
  }
  EXPECT_GT(nonempty, 0);
  // sources longer than max_source are truncated by the generator's tokenizer
  EXPECT_FALSE(g1.generate(std::string(40, 'A')).empty());
}

INSTANTIATE_TEST_SUITE_P(Encoders, Seq2SeqEncoders, ::testing::Values("qrnn", "funnel"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace bytelite
