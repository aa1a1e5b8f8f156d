// Differential tests of the ByteQRNN with word projection (model.encoder "qrnn_proj": the byte
// path of ByteQRNN, whose GBST input adds to each byte the word vector of its word): the libtorch
// QAT forward (eval mode) against the exported int8 model run by libbytelite, on real OLID data,
// with the bounds of the ByteQRNN and pQRNN tests (test_runtime_diff.cc,
// test_runtime_diff_pqrnn.cc):
//  - the training inputs equal the runtime's: for every OLID test tweet, the byte -> word map
//    of a padded training batch (byte_word_batch) equals rt::byte_token_map, and the projection
//    (project_id_batch) equals the runtime's (tap "projection"), value for value;
//  - the exported weights are what the fake quantizers compute;
//  - per op, run by the runtime on the training graph's own input (the word vectors, their sum
//    with the bottleneck output, GBST, QRNN layers, pooling, head), the int8 tensors agree with
//    the fake-quantized tensors of libtorch (mismatch rates printed and bounded);
//  - on the whole OLID test set (860 tweets), |probability difference| <= 0.01 per example and
//    the ROC AUC difference <= 0.002.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "bytelite/classifier.h"
#include "core/metrics.h"
#include "runtime/models/classifier_net.h"
#include "runtime_diff_util.h"
#include "runtime_test_util.h"
#include "train/layers.h"
#include "train/projection_input.h"

namespace bytelite {
namespace {

using testutil::Agreement;
using testutil::find_op;
using testutil::print_agreement;
using testutil::small_config;
using testutil::tally;
using testutil::tally_isolated_qrnn_to_logits;
using testutil::to_int8;
using testutil::to_q;
using testutil::TorchOp;

// The pQRNN test's recipe (2 QRNN layers, [attention; max] pooling, QAT after a short warm-up, a
// few hundred steps on an OLID subset) with the byte path of ByteQRNN.
ExperimentConfig qrnn_proj_config() {
  ExperimentConfig c = small_config(32, 2, 280);
  c.model.encoder = "qrnn_proj";
  c.model.projection_feature_size = 64;
  c.model.projection_max_tokens = 64;
  c.model.pooling = "attention_max";
  c.quantization.warmup_steps = 40;
  c.train.batch_size = 32;
  c.train.max_steps = 240;
  c.train.eval_every_steps = 120;
  c.train.lr_warmup_steps = 20;
  return c;
}

class QrnnProjDiff : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(
        testutil::trained_qat_model("diff_qrnn_proj", qrnn_proj_config(), 3000, 300));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string* dir_;
};
std::string* QrnnProjDiff::dir_ = nullptr;

// The eval-mode QAT forward of one sequence: the training encoder's own taps (TraceScope), then
// pooling and head.
std::vector<TorchOp> torch_trace(ByteClassifier& m, const std::vector<int32_t>& ids) {
  torch::NoGradGuard ng;
  m->eval();
  const int64_t L = static_cast<int64_t>(ids.size());
  auto idt = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).view({1, L});
  TorchTrace trace;
  {
    TraceScope scope(&trace);
    m->forward(idt, torch::ones({1, L}));
  }
  std::vector<TorchOp> out;
  for (const auto& e : trace.entries) out.push_back({e.name, e.value, e.params});
  return out;
}

TEST_F(QrnnProjDiff, TheModelFileCarriesItsSettings) {
  auto model = Model::load(*dir_ + "/model.blt");
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "byteqrnn_proj");
  EXPECT_EQ(info.encoder, "qrnn_proj");
  EXPECT_EQ(info.projection_feature_size, 64);
  EXPECT_EQ(info.projection_max_tokens, 64);
  EXPECT_TRUE(info.projection_split_on_space);
  EXPECT_TRUE(info.projection_lowercase);
  EXPECT_FALSE(info.projection_add_bos);
  EXPECT_FALSE(info.projection_add_eos);
  EXPECT_EQ(info.embedding_size, 32);  // the byte path of ByteQRNN
  EXPECT_EQ(info.bottleneck_size, 32);
  EXPECT_EQ(info.gbst_downsample_rate, 2);
  EXPECT_EQ(info.qrnn_layers, 2);
  EXPECT_EQ(info.pooling, "attention_max");
  const auto& net = model->impl().net;
  EXPECT_TRUE(net.word_projection);
  EXPECT_FALSE(net.projection);
  EXPECT_EQ(net.word.w.k, 64);
  EXPECT_EQ(net.word.w.n, 32);
  EXPECT_EQ(net.word.in.scale, 1.0f);
  EXPECT_EQ(net.word.in.zero_point, 0);
  auto lc = load_checkpoint(*dir_);
  const QuantParams sq = lc.model->word_sum_quant->params();
  EXPECT_EQ(net.word_sum_q.scale, static_cast<float>(sq.scale));
  EXPECT_EQ(net.word_sum_q.zero_point, sq.zero_point);
}

TEST_F(QrnnProjDiff, ExportedWeightsAreWhatTheFakeQuantizersCompute) {
  auto lc = load_checkpoint(*dir_);
  auto model = Model::load(*dir_ + "/model.blt");
  const auto& net = model->impl().net;
  torch::NoGradGuard ng;
  auto check_dense = [](const rt::DenseLayer& d, const QDense& q, const std::string& name) {
    auto [w, b] = q->folded();
    auto want = fake_quant_weight(w).contiguous();
    const float* wp = want.data_ptr<float>();
    auto scales = weight_scales(w).contiguous();
    int64_t bad = 0;
    for (int64_t j = 0; j < d.w.n; ++j) {
      const float s = scales[j].item<float>();
      for (int64_t i = 0; i < d.w.k; ++i) {
        const float got = static_cast<float>(static_cast<double>(d.w.w[j * d.w.k + i]) * s);
        bad += got != wp[j * d.w.k + i] ? 1 : 0;
      }
    }
    EXPECT_EQ(bad, 0) << name << ": weights differ from fake_quant_weight(folded())";
  };
  check_dense(net.bottleneck, lc.model->bottleneck, "bottleneck");
  check_dense(net.word, lc.model->word, "word");
  check_dense(net.gbst.conv, lc.model->gbst->conv, "gbst.conv");
  check_dense(net.gbst.score, lc.model->gbst->score, "gbst.score");
  for (size_t i = 0; i < net.qrnn.size(); ++i) {
    auto l = lc.model->qrnn[i]->as<QrnnLayer>();
    check_dense(net.qrnn[i].fwd.gates, l->gates_fwd, "qrnn.fwd");
    check_dense(net.qrnn[i].bwd.gates, l->gates_bwd, "qrnn.bwd");
  }
  check_dense(net.pool.score, lc.model->pool->score, "pool.score");
  check_dense(net.head, lc.model->head, "head");
  const QuantParams ep = lc.model->embedding_quant->params();
  auto q = to_q(fake_quant(lc.model->embedding, ep), ep);
  int64_t bad = 0;
  for (size_t i = 0; i < q.size(); ++i) bad += q[i] != net.embedding[i] ? 1 : 0;
  EXPECT_EQ(bad, 0);
}

// The inputs computed identically on both sides: for every OLID test tweet, in padded training
// batches of 8, the training byte -> word map equals rt::byte_token_map on the tokenizer's ids
// (padding -1), and the training projection equals the runtime's int8 projection.
TEST_F(QrnnProjDiff, TrainingAndRuntimeMapAndProjectEveryTweetIdentically) {
  auto lc = load_checkpoint(*dir_);
  Classifier clf(Model::load(*dir_ + "/model.blt"));
  const auto& net = clf.model().impl().net;
  const rt::ProjectionConfig pc = projection_config(lc.meta.config.model);
  auto texts = testutil::olid_texts("data/olid/test.tsv", 860);
  ASSERT_EQ(texts.size(), 860u);
  texts.push_back("");     // an empty text: one PAD id, no word
  texts.push_back("   ");  // only whitespace: no word
  rt::Workspace ws;
  int64_t bytes = 0, in_words = 0, map_differ = 0, values = 0, proj_differ = 0;
  for (size_t start = 0; start < texts.size(); start += 8) {
    const size_t n = std::min<size_t>(8, texts.size() - start);
    std::vector<std::vector<int32_t>> ids(n);
    int64_t L = 1;
    for (size_t i = 0; i < n; ++i) {
      ids[i] = clf.encode(texts[start + i]);
      L = std::max(L, static_cast<int64_t>(ids[i].size()));
    }
    auto idt = torch::zeros({static_cast<int64_t>(n), L}, torch::kInt64);
    auto mask = torch::zeros({static_cast<int64_t>(n), L});
    auto ia = idt.accessor<int64_t, 2>();
    auto ma = mask.accessor<float, 2>();
    for (size_t i = 0; i < n; ++i) {
      for (size_t t = 0; t < ids[i].size(); ++t) {
        ia[i][t] = ids[i][t];
        ma[i][t] = 1.0f;
      }
    }
    const torch::Tensor map = byte_word_batch(idt, mask, pc).contiguous();
    auto mpa = map.accessor<int64_t, 2>();
    const ProjectionBatch p = project_id_batch(idt, mask, pc);
    for (size_t i = 0; i < n; ++i) {
      const int64_t T = static_cast<int64_t>(ids[i].size());
      std::vector<int32_t> want(ids[i].size());
      rt::byte_token_map(ids[i].data(), T, pc, want.data());
      for (int64_t t = 0; t < L; ++t) {
        const int64_t got = mpa[i][t];
        const int64_t w = t < T ? want[t] : -1;
        bytes += t < T ? 1 : 0;
        in_words += w >= 0 ? 1 : 0;
        map_differ += got != w ? 1 : 0;
      }
      rt::Trace trace;
      std::vector<int8_t> logits(net.head.w.n);
      rt::classifier_forward(rt::OpContext{rt::best_isa(), ws.ops, &trace}, net, ids[i].data(), T,
                             ws, logits.data());
      const rt::Trace::Entry* e = trace.find("projection");
      ASSERT_NE(e, nullptr);
      const int64_t W = e->rows;
      ASSERT_LE(W, p.values.size(1));
      auto v = p.values[i].contiguous();
      const float* vp = v.data_ptr<float>();
      for (int64_t k = 0; k < W * pc.feature_size; ++k) {
        values += 1;
        proj_differ += static_cast<float>(e->data[k]) != vp[k] ? 1 : 0;
      }
      // the training rows past this text's words are padding
      EXPECT_EQ(p.mask[i].sum().item<float>(), static_cast<float>(W));
    }
  }
  std::printf(
      "byte -> word map: %lld bytes over %zu texts, %.1f%% inside words, %lld differ; projection: "
      "%lld values, %lld differ\n",
      static_cast<long long>(bytes), texts.size(), 100.0 * in_words / bytes,
      static_cast<long long>(map_differ), static_cast<long long>(values),
      static_cast<long long>(proj_differ));
  EXPECT_EQ(map_differ, 0);
  EXPECT_EQ(proj_differ, 0);
  // tweets are mostly words: most bytes belong to one
  EXPECT_GT(in_words, bytes * 7 / 10);
  EXPECT_LT(in_words, bytes);
}

// Every runtime op on the libtorch graph's own input ("isolated") and the end-to-end forward.
TEST_F(QrnnProjDiff, EveryOpAgreesWithTheFakeQuantizedTrainingGraph) {
  auto lc = load_checkpoint(*dir_);
  Classifier clf(Model::load(*dir_ + "/model.blt"));
  const auto& net = clf.model().impl().net;
  auto texts = testutil::olid_texts("data/olid/test.tsv", 120);
  std::map<std::string, Agreement> iso, e2e;
  std::vector<std::string> order;
  rt::Workspace ws;
  rt::OpScratch s;
  const rt::Isa isa = rt::best_isa();
  const int64_t D = net.bottleneck.w.n, Fp = net.projection_cfg.feature_size;
  for (const auto& text : texts) {
    auto ids = clf.encode(text);
    const int64_t T = static_cast<int64_t>(ids.size());
    auto ops = torch_trace(lc.model, ids);
    rt::Trace trace;
    std::vector<int8_t> logits(net.head.w.n);
    rt::classifier_forward(rt::OpContext{isa, ws.ops, &trace}, net, ids.data(), T, ws,
                           logits.data());
    for (const auto& op : ops) {
      const rt::Trace::Entry* e = trace.find(op.name);
      ASSERT_NE(e, nullptr) << op.name;
      auto want = to_q(op.value, op.params);
      ASSERT_EQ(want.size(), e->data.size()) << op.name;
      if (!e2e.count(op.name)) order.push_back(op.name);
      tally(e2e[op.name], want, e->data.data());
    }
    // isolated: each op on the torch input
    auto emb = to_int8(find_op(ops, "embedding"));
    std::vector<int8_t> y(T * 256);
    rt::dense(rt::OpContext{isa, s}, net.bottleneck, emb.data(), T, net.embedding_size, y.data());
    tally(iso["bottleneck"],
          to_q(find_op(ops, "bottleneck").value, find_op(ops, "bottleneck").params), y.data());
    const TorchOp& proj = find_op(ops, "projection");
    const int64_t W = proj.value.size(0);
    auto p8 = to_int8(proj);
    std::vector<int8_t> wv(W * D);
    rt::dense(rt::OpContext{isa, s}, net.word, p8.data(), W, Fp, wv.data());
    tally(iso["word"], to_q(find_op(ops, "word").value, find_op(ops, "word").params), wv.data());
    // the sum: the runtime's add on the torch bottleneck output and the torch word vectors
    // placed by the map (zero point outside words)
    auto bott = to_int8(find_op(ops, "bottleneck"));
    auto words = to_int8(find_op(ops, "word"));
    std::vector<int32_t> map(ids.size());
    rt::byte_token_map(ids.data(), T, net.projection_cfg, map.data());
    std::vector<int8_t> per_byte(T * D);
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t k = 0; k < D; ++k) {
        per_byte[t * D + k] =
            map[t] >= 0 ? words[map[t] * D + k] : static_cast<int8_t>(net.word.out.zero_point);
      }
    }
    std::vector<int8_t> sum(T * D);
    rt::add(isa, bott.data(), net.bottleneck.out, per_byte.data(), net.word.out, T * D,
            net.word_sum_q, sum.data());
    tally(iso["word_sum"], to_q(find_op(ops, "word_sum").value, find_op(ops, "word_sum").params),
          sum.data());
    auto gin = to_int8(find_op(ops, "word_sum"));
    rt::Trace gt;
    rt::gbst(rt::OpContext{isa, s, &gt}, net.gbst, gin.data(), T, y.data());
    for (const char* n : {"gbst.conv", "gbst.scores", "gbst.probs", "gbst.mix", "gbst.out"}) {
      const TorchOp& op = find_op(ops, n);
      tally(iso[n], to_q(op.value, op.params), gt.find(n)->data.data());
    }
    std::vector<int8_t> in = to_int8(find_op(ops, "gbst.out"));
    const int64_t L = (T + net.gbst.downsample_rate - 1) / net.gbst.downsample_rate;
    tally_isolated_qrnn_to_logits(ops, net, isa, s, std::move(in), L, D, iso);
  }
  print_agreement(order, iso, e2e);
  EXPECT_EQ(e2e["embedding"].mismatched, 0);
  EXPECT_EQ(e2e["projection"].mismatched, 0);
  for (const char* n : {"word", "word_sum", "gbst.out", "qrnn1", "logits"})
    EXPECT_GT(iso[n].values, 0) << n;
  for (const auto& [name, a] : iso) {
    // as ByteQRNN: at most 0.1% of values per op (float rounding near halfway cases)
    EXPECT_LE(a.mismatched, a.values / 1000) << name << ": more than 0.1% of values differ";
  }
}

TEST_F(QrnnProjDiff, OlidTestSetProbabilitiesAndAucAgree) {
  auto lc = load_checkpoint(*dir_);
  Classifier clf(Model::load(*dir_ + "/model.blt"));
  DataSpec spec;
  Dataset test =
      read_dataset(testutil::source_path("data/olid/test.tsv"), spec, lc.meta.label_names);
  ASSERT_EQ(test.examples.size(), 860u);
  ByteTokenizer tok(lc.meta.config.tokenizer.max_length, lc.meta.config.tokenizer.lowercase_ascii);
  EncodedDataset enc = encode_dataset(test, tok);
  auto p_torch = predict_probabilities(lc.model, false, enc.ids);
  std::vector<std::string> texts;
  for (const auto& ex : test.examples) texts.push_back(ex.text);
  auto preds = clf.classify_batch(texts, 2);
  double max_d = 0, sum_d = 0;
  std::vector<float> s_torch, s_rt;
  std::vector<int32_t> y;
  for (size_t i = 0; i < texts.size(); ++i) {
    const double d = std::fabs(p_torch[2 * i + 1] - preds[i].probabilities[1]);
    max_d = std::max(max_d, d);
    sum_d += d;
    s_torch.push_back(p_torch[2 * i + 1]);
    s_rt.push_back(preds[i].probabilities[1]);
    y.push_back(test.examples[i].label);
  }
  const double auc_t = roc_auc(s_torch, y), auc_r = roc_auc(s_rt, y);
  std::printf(
      "qrnn_proj, OLID test (%zu tweets): max |dp| %.5f, mean |dp| %.6f; ROC AUC libtorch %.5f, "
      "int8 %.5f, difference %+.5f\n",
      texts.size(), max_d, sum_d / texts.size(), auc_t, auc_r, auc_r - auc_t);
  EXPECT_GT(auc_t, 0.55);  // the model learned something, so the comparison means something
  EXPECT_LE(max_d, 0.01);
  EXPECT_LE(std::fabs(auc_r - auc_t), 0.002);
}

}  // namespace
}  // namespace bytelite
